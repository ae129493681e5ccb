//! Chinese full-text search over requests: descriptions, places, names, handlers' notes and
//! replies. Text is segmented with jieba when it is written — in search-engine mode, so a long
//! word is also indexed by its parts (租房纠纷 → 租房, 纠纷, 租房纠纷) — and the words, joined
//! by spaces, go to `SQLite`'s FTS5 or `PostgreSQL`'s tsvector; a query is segmented in precise
//! mode and every word must match. The index is the one engine-specific table (see the
//! migrations), so its statements here are marked `engine-specific`.

use std::sync::LazyLock;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use jieba_rs::Jieba;

use crate::scope::Predicate;
use crate::{DbConnection, DbError};

static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Load the segmenter's dictionary now (it takes a few hundred milliseconds) rather than on the
/// first request that needs it.
pub fn warm_up() {
    LazyLock::force(&JIEBA);
}

/// Most words a query may have.
const MAX_QUERY_WORDS: usize = 10;

fn words(tokens: Vec<jieba_rs::Token<'_>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tokens {
        let t = t.word.trim().to_lowercase();
        if t.chars().any(char::is_alphanumeric) && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The words a text is found by.
pub fn index_terms(text: &str) -> String {
    words(JIEBA.cut_for_search(text, true)).join(" ")
}

/// The words a query asks for (all must match).
pub fn query_terms(query: &str) -> Vec<String> {
    let mut w = words(JIEBA.cut(query, true));
    w.truncate(MAX_QUERY_WORDS);
    w
}

/// Put a request's text in the index; `fresh`: it has no entry yet.
pub(crate) fn index(
    conn: &mut DbConnection,
    request_id: i64,
    text: &str,
    fresh: bool,
) -> Result<(), DbError> {
    let terms = index_terms(text);
    // engine-specific: the full-text index.
    match conn {
        DbConnection::Sqlite(c) => {
            if !fresh {
                diesel::sql_query("DELETE FROM request_search WHERE rowid = ?")
                    .bind::<BigInt, _>(request_id)
                    .execute(c)?;
            }
            diesel::sql_query("INSERT INTO request_search (rowid, terms) VALUES (?, ?)")
                .bind::<BigInt, _>(request_id)
                .bind::<Text, _>(terms)
                .execute(c)?;
        }
        DbConnection::Postgres(c) => {
            diesel::sql_query(
                "INSERT INTO request_search (request_id, terms) VALUES ($1, to_tsvector('simple', $2)) \
                 ON CONFLICT (request_id) DO UPDATE SET terms = EXCLUDED.terms",
            )
            .bind::<BigInt, _>(request_id)
            .bind::<Text, _>(terms)
            .execute(c)?;
        }
    }
    Ok(())
}

/// Index every request not yet in the index; returns how many.
pub fn backfill(conn: &mut DbConnection) -> Result<usize, DbError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    // engine-specific: the index's key column.
    let missing: Vec<Id> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT id FROM requests WHERE id NOT IN (SELECT rowid FROM request_search)",
        )
        .load(c)?,
        DbConnection::Postgres(c) => diesel::sql_query(
            "SELECT id FROM requests WHERE id NOT IN (SELECT request_id FROM request_search)",
        )
        .load(c)?,
    };
    for Id { id } in &missing {
        let r = super::get(conn, &crate::scope::Scope::everything(), *id)?;
        let text = super::searchable_text(conn, &r)?;
        index(conn, *id, &text, true)?;
    }
    Ok(missing.len())
}

/// Requests whose text has every word of `terms` (no words: none).
pub(crate) fn matching<QS: 'static>(conn: &DbConnection, terms: &[String]) -> Predicate<QS> {
    if terms.is_empty() {
        return Box::new(diesel::dsl::sql::<Bool>("1 = 0"));
    }
    // engine-specific: the full-text match.
    match conn {
        DbConnection::Sqlite(_) => {
            let phrase = terms
                .iter()
                .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(" ");
            Box::new(
                diesel::dsl::sql::<Bool>(
                    "requests.id IN (SELECT rowid FROM request_search WHERE request_search MATCH ",
                )
                .bind::<Text, _>(phrase)
                .sql(")"),
            )
        }
        DbConnection::Postgres(_) => Box::new(
            diesel::dsl::sql::<Bool>(
                "requests.id IN (SELECT request_id FROM request_search WHERE terms @@ plainto_tsquery('simple', ",
            )
            .bind::<Text, _>(terms.join(" "))
            .sql("))"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_words_are_found_by_their_parts() {
        let idx = index_terms("房东不退租房押金，发生租房纠纷！");
        let idx: Vec<&str> = idx.split(' ').collect();
        for w in ["租房", "押金", "房东", "纠纷"] {
            assert!(idx.contains(&w), "{w} in {idx:?}");
        }
        assert!(!idx.contains(&"，"), "no punctuation");
        assert_eq!(query_terms("租房"), ["租房"]);
        assert_eq!(query_terms("  "), Vec::<String>::new());
        assert_eq!(query_terms("Rent 押金"), ["rent", "押金"]);
    }
}
