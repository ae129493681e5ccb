//! Chinese full-text search over requests: descriptions, places, names, handlers' notes and
//! replies. Text is segmented with jieba when it is written — in search-engine mode, so a long
//! word is also indexed by its parts (租房纠纷 → 租房, 纠纷, 租房纠纷) — and the words, joined
//! by spaces, go to `SQLite`'s FTS5 or `PostgreSQL`'s tsvector; a query is segmented in precise
//! mode and every word must match. The index is the one engine-specific table (see the
//! migrations), so its statements here are marked `engine-specific`.

use std::sync::LazyLock;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use jieba_rs::Jieba;

use crate::{DbConnection, DbError};

static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// The `SQLite` index as Diesel sees it (the FTS5 table's hidden rowid and its one column); the
/// `PostgreSQL` index (a tsvector) is written with SQL text.
mod fts5 {
    diesel::table! {
        request_search (rowid) {
            rowid -> BigInt,
            terms -> Text,
        }
    }
}

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

/// The words a query asks for (all must match): its smallest parts, so 拖欠工资 finds a text
/// whether it was cut as 拖欠工资 or as 拖欠 + 工资 (texts are indexed by their parts too).
pub fn query_terms(query: &str) -> Vec<String> {
    let all = words(JIEBA.cut_for_search(query, true));
    let mut w: Vec<String> = all
        .iter()
        .filter(|t| {
            !all.iter()
                .any(|o| o.len() < t.len() && t.contains(o.as_str()))
        })
        .cloned()
        .collect();
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
            // Through Diesel's DSL so the connection keeps the statements prepared.
            use fts5::request_search as t;
            if !fresh {
                diesel::delete(t::table.filter(t::rowid.eq(request_id))).execute(c)?;
            }
            diesel::insert_into(t::table)
                .values((t::rowid.eq(request_id), t::terms.eq(terms)))
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

/// Index many new requests at once: (id, terms made by [`index_terms`]) each, so a loader
/// that repeats texts segments each only once.
pub(crate) fn index_many(
    conn: &mut DbConnection,
    entries: &[(i64, String)],
) -> Result<(), DbError> {
    const PER_INSERT: usize = 2000;
    for chunk in entries.chunks(PER_INSERT) {
        // engine-specific: the full-text index, and placeholders.
        let sql = match conn {
            DbConnection::Sqlite(_) => format!(
                "INSERT INTO request_search (rowid, terms) VALUES {}",
                vec!["(?, ?)"; chunk.len()].join(", ")
            ),
            DbConnection::Postgres(_) => format!(
                "INSERT INTO request_search (request_id, terms) VALUES {}",
                (0..chunk.len())
                    .map(|i| format!("(${}, to_tsvector('simple', ${}))", 2 * i + 1, 2 * i + 2))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut q = diesel::sql_query(sql).into_boxed::<crate::MultiBackend>();
        for (id, terms) in chunk {
            q = q.bind::<BigInt, _>(*id).bind::<Text, _>(terms.clone());
        }
        q.execute(conn)?;
    }
    Ok(())
}

/// Matches among the requests the list's filters admit, newest first. The index leads: it
/// hands out its matches newest first, a chunk at a time, and the list's filters keep those
/// that qualify. Chunks double while few qualify (a narrow scope, a rare combination), so a
/// page costs at most about twice the matches it has to look through.
pub(crate) fn list_matching(
    conn: &mut DbConnection,
    scope: &crate::scope::Scope,
    f: &super::RequestFilter,
    terms: &[String],
    limit: i64,
) -> Result<Vec<super::Request>, DbError> {
    use crate::schema::requests;
    const FIRST_CHUNK: i64 = 500;
    // Ids per statement stay well under SQLite's 32,766 bound values.
    const MAX_CHUNK: i64 = 16_000;
    let mut out: Vec<super::Request> = Vec::new();
    if terms.is_empty() {
        return Ok(out);
    }
    let all_but_cursor = super::RequestFilter {
        before_id: None,
        ..f.clone()
    };
    let mut below = f.before_id.unwrap_or(i64::MAX);
    let mut chunk = FIRST_CHUNK;
    while (out.len() as i64) < limit {
        let ids = candidates(conn, terms, below, chunk)?;
        let Some(&last) = ids.last() else { break };
        let want = limit - out.len() as i64;
        let rows: Vec<super::Request> = super::filtered(scope, &all_but_cursor)
            .filter(requests::id.eq_any(ids.clone()))
            .order(requests::id.desc())
            .limit(want)
            .select(super::Request::as_select())
            .load(conn)?;
        out.extend(rows);
        if (ids.len() as i64) < chunk {
            break;
        }
        below = last;
        chunk = (chunk * 2).min(MAX_CHUNK);
    }
    Ok(out)
}

/// Ids of requests with every word, below `below`, newest first.
fn candidates(
    conn: &mut DbConnection,
    terms: &[String],
    below: i64,
    n: i64,
) -> Result<Vec<i64>, DbError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    // engine-specific: the full-text match.
    let rows: Vec<Id> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT rowid AS id FROM request_search WHERE request_search MATCH ? AND rowid < ? \
             ORDER BY rowid DESC LIMIT ?",
        )
        .bind::<Text, _>(fts5_query(terms))
        .bind::<BigInt, _>(below)
        .bind::<BigInt, _>(n)
        .load(c)?,
        DbConnection::Postgres(c) => diesel::sql_query(
            "SELECT request_id AS id FROM request_search \
             WHERE terms @@ plainto_tsquery('simple', $1) AND request_id < $2 \
             ORDER BY request_id DESC LIMIT $3",
        )
        .bind::<Text, _>(terms.join(" "))
        .bind::<BigInt, _>(below)
        .bind::<BigInt, _>(n)
        .load(c)?,
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// FTS5's query for all the words: each quoted, so none is read as an operator.
fn fts5_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
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
        assert_eq!(query_terms("租房纠纷"), ["租房", "纠纷"]);
        assert_eq!(query_terms("拖欠工资"), ["拖欠", "工资"]);
    }
}
