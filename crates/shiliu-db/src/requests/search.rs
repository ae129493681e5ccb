//! Chinese full-text search over requests: descriptions, places, names, handlers' notes and
//! replies. Text is segmented with jieba when it is written — in search-engine mode, so a long
//! word is also indexed by its parts (租房纠纷 → 租房, 纠纷, 租房纠纷) — and the words, joined
//! by spaces, go to `SQLite`'s FTS5 or `PostgreSQL`'s tsvector; a query is segmented in precise
//! mode and every word must match. The index is the one engine-specific table (see the
//! migrations), so its statements here are marked `engine-specific`.
//!
//! Beside the words, each entry holds the request's *facets* — its status, channel, category,
//! site and the regions on its path below the city, as tokens such as `sclosed` or `r42` in a column of their
//! own (`SQLite`) or at weight A (`PostgreSQL`) — so a search with a filter (closed requests
//! about 拖欠工资, or those of one township) is narrowed inside the index instead of by
//! reading every match. The entry is rewritten with every step, in the step's transaction.
//! Matches are read newest first, in windows of time that widen while few are found, so that
//! `PostgreSQL`, whose index returns matches unordered, sorts only a window's.

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
            facets -> Text,
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

/// A status as a facet token.
fn status_facet(status: &str) -> String {
    format!("s{}", status.replace('_', ""))
}

/// A channel as a facet token.
fn channel_facet(channel: &str) -> String {
    format!("h{}", channel.replace('_', ""))
}

/// Regions this high (the province, a city) get no facet: nearly every entry of a deployment
/// would carry theirs, so they would narrow nothing and their long lists would be rewritten by
/// every merge of the index.
const UNFACETED_LEVELS: usize = 2;

/// The facet tokens of the regions on a path, top down, below [`UNFACETED_LEVELS`].
fn region_facets(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|p| !p.is_empty())
        .skip(UNFACETED_LEVELS)
        .map(|p| format!("r{p}"))
}

/// The facet tokens a request is filtered by in the index (see the module's comment).
pub(crate) fn facets(r: &super::Request) -> String {
    let mut f = vec![
        status_facet(&r.status),
        channel_facet(&r.channel),
        format!("c{}", r.category_id),
    ];
    f.extend(r.site_id.map(|s| format!("t{s}")));
    f.extend(region_facets(&r.region_path));
    f.push(month_facet(crate::ids::time_of(r.id)));
    f.join(" ")
}

/// The month (UTC) a request's id was made in, as a facet token: `PostgreSQL`'s search reads
/// a window of time as the months it spans (see [`candidates`]).
fn month_facet(at: chrono::NaiveDateTime) -> String {
    at.format("m%Y%m").to_string()
}

/// The month facets of the ids from `floor` up to below `below`; none for a window open
/// towards the past (`floor` 0).
fn month_facets(floor: i64, below: i64) -> Vec<String> {
    use chrono::Datelike;
    if floor <= 0 {
        return Vec::new();
    }
    let newest = crate::ids::time_of(below.min(crate::ids::id_at(crate::now(), u32::MAX)) - 1);
    let mut month = crate::ids::time_of(floor)
        .date()
        .with_day(1)
        .unwrap_or_default();
    let mut out = Vec::new();
    while month <= newest.date() {
        out.push(month_facet(month.and_time(chrono::NaiveTime::MIN)));
        let Some(next) = month.checked_add_months(chrono::Months::new(1)) else {
            break;
        };
        month = next;
    }
    out
}

/// The facets a search must have, from the list's filters and the caller's scope: groups that
/// must all hold, each satisfied by any of its tokens. Filters without a facet (dates,
/// deadlines, co-handling) are left to the rows' own query.
fn wanted_facets(scope: &crate::scope::Scope, f: &super::RequestFilter) -> Vec<Vec<String>> {
    use shiliu_domain::requests::Status;
    // A subtree's facet is its root's: the last region of its path.
    let region = |path: &str| region_facets(path).last();
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut push = |g: Vec<String>| {
        if !g.is_empty() {
            groups.push(g);
        }
    };
    // A scope with a subtree too high for a facet (the whole tree, a province- or city-wide
    // role) is left to the rows' own query.
    let scope_regions: Vec<String> = scope.paths().iter().filter_map(|p| region(p)).collect();
    if scope_regions.len() == scope.paths().len() {
        push(scope_regions);
    }
    push(
        f.region_path
            .as_deref()
            .and_then(region)
            .into_iter()
            .collect(),
    );
    push(f.status.iter().map(|s| status_facet(s.as_str())).collect());
    if let Some(open) = f.open {
        push(
            Status::ALL
                .iter()
                .filter(|s| s.is_open() == open)
                .map(|s| status_facet(s.as_str()))
                .collect(),
        );
    }
    push(
        f.channel
            .iter()
            .map(|c| channel_facet(c.as_str()))
            .collect(),
    );
    push(f.site_id.iter().map(|s| format!("t{s}")).collect());
    // A long list of categories (a big subtree) narrows little and makes a long query.
    if f.category_ids.len() <= 32 {
        push(f.category_ids.iter().map(|c| format!("c{c}")).collect());
    }
    groups
}

/// Put a request's text and facets in the index; `fresh`: it has no entry yet.
pub(crate) fn index(
    conn: &mut DbConnection,
    r: &super::Request,
    text: &str,
    fresh: bool,
) -> Result<(), DbError> {
    let terms = index_terms(text);
    let facets = facets(r);
    // engine-specific: the full-text index.
    match conn {
        DbConnection::Sqlite(c) => {
            // Through Diesel's DSL so the connection keeps the statements prepared.
            use fts5::request_search as t;
            if !fresh {
                diesel::delete(t::table.filter(t::rowid.eq(r.id))).execute(c)?;
            }
            diesel::insert_into(t::table)
                .values((t::rowid.eq(r.id), t::terms.eq(terms), t::facets.eq(facets)))
                .execute(c)?;
        }
        DbConnection::Postgres(c) => {
            diesel::sql_query(
                "INSERT INTO request_search (request_id, terms) \
                 VALUES ($1, to_tsvector('simple', $2) || setweight(to_tsvector('simple', $3), 'A')) \
                 ON CONFLICT (request_id) DO UPDATE SET terms = EXCLUDED.terms",
            )
            .bind::<BigInt, _>(r.id)
            .bind::<Text, _>(terms)
            .bind::<Text, _>(facets)
            .execute(c)?;
        }
    }
    Ok(())
}

/// Index every request not yet in the index, a few thousand per statement; returns how many.
pub fn backfill(conn: &mut DbConnection) -> Result<usize, DbError> {
    use crate::schema::requests;
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    const CHUNK: i64 = 2_000;
    let (mut after, mut done) = (i64::MIN, 0);
    loop {
        // engine-specific: the index's key column. NOT EXISTS, not NOT IN: PostgreSQL runs
        // NOT IN over a large subquery row by row.
        let missing: Vec<Id> = match conn {
            DbConnection::Sqlite(c) => diesel::sql_query(
                "SELECT id FROM requests r WHERE id > ? AND NOT EXISTS \
                 (SELECT 1 FROM request_search s WHERE s.rowid = r.id) ORDER BY id LIMIT ?",
            )
            .bind::<BigInt, _>(after)
            .bind::<BigInt, _>(CHUNK)
            .load(c)?,
            DbConnection::Postgres(c) => diesel::sql_query(
                "SELECT id FROM requests r WHERE id > $1 AND NOT EXISTS \
                 (SELECT 1 FROM request_search s WHERE s.request_id = r.id) ORDER BY id LIMIT $2",
            )
            .bind::<BigInt, _>(after)
            .bind::<BigInt, _>(CHUNK)
            .load(c)?,
        };
        let Some(last) = missing.last() else {
            return Ok(done);
        };
        after = last.id;
        let ids: Vec<i64> = missing.iter().map(|m| m.id).collect();
        let rows: Vec<super::Request> = requests::table
            .filter(requests::id.eq_any(&ids))
            .select(super::Request::as_select())
            .load(conn)?;
        let terms: Vec<String> = super::searchable_texts(conn, &rows)?
            .iter()
            .map(|t| index_terms(t))
            .collect();
        let entries: Vec<(&super::Request, &str)> = rows
            .iter()
            .zip(&terms)
            .map(|(r, t)| (r, t.as_str()))
            .collect();
        index_many(conn, &entries)?;
        done += rows.len();
    }
}

/// Index many new requests at once: each with its terms made by [`index_terms`], so a loader
/// that repeats texts segments each only once.
pub(crate) fn index_many(
    conn: &mut DbConnection,
    entries: &[(&super::Request, &str)],
) -> Result<(), DbError> {
    const PER_INSERT: usize = 2000;
    for chunk in entries.chunks(PER_INSERT) {
        // engine-specific: the full-text index, and placeholders.
        let sql = match conn {
            DbConnection::Sqlite(_) => format!(
                "INSERT INTO request_search (rowid, terms, facets) VALUES {}",
                vec!["(?, ?, ?)"; chunk.len()].join(", ")
            ),
            DbConnection::Postgres(_) => format!(
                "INSERT INTO request_search (request_id, terms) VALUES {}",
                (0..chunk.len())
                    .map(|i| format!(
                        "(${}, to_tsvector('simple', ${}) || setweight(to_tsvector('simple', ${}), 'A'))",
                        3 * i + 1,
                        3 * i + 2,
                        3 * i + 3
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut q = diesel::sql_query(sql).into_boxed::<crate::MultiBackend>();
        for (r, terms) in chunk {
            q = q
                .bind::<BigInt, _>(r.id)
                .bind::<Text, _>(terms.to_string())
                .bind::<Text, _>(facets(r));
        }
        q.execute(conn)?;
    }
    Ok(())
}

/// Matches among the requests the list's filters admit, newest first. The index leads: it
/// hands out its matches that have the filters' facets newest first, a window of time at a
/// time, and the list's filters keep those that qualify. Within a window, the first chunk is
/// twice the page (an unfiltered search stops there) and chunks grow fourfold while few
/// qualify; a window that runs dry gives way to the older one before it, eight times as long.
pub(crate) fn list_matching(
    conn: &mut DbConnection,
    scope: &crate::scope::Scope,
    f: &super::RequestFilter,
    terms: &[String],
    limit: i64,
) -> Result<Vec<super::Request>, DbError> {
    use crate::schema::requests;
    // Ids per statement stay well under SQLite's 32,766 bound values.
    const MAX_CHUNK: i64 = 16_000;
    // The first window: the newest day (in milliseconds).
    const FIRST_SPAN: i64 = 86_400_000;
    let mut out: Vec<super::Request> = Vec::new();
    if terms.is_empty() {
        return Ok(out);
    }
    let query = IndexQuery {
        terms,
        facets: wanted_facets(scope, f),
    };
    let all_but_cursor = super::RequestFilter {
        before_id: None,
        ..f.clone()
    };
    let mut below = f.before_id.unwrap_or(i64::MAX);
    let mut span = FIRST_SPAN;
    let mut chunk = (2 * limit).clamp(20, MAX_CHUNK);
    while (out.len() as i64) < limit {
        let floor = window_floor(below, span);
        let ids = candidates(conn, &query, floor, below, chunk)?;
        let full = ids.len() as i64 == chunk;
        let last = ids.last().copied();
        if !ids.is_empty() {
            let rows: Vec<super::Request> = super::filtered(scope, &all_but_cursor)
                .filter(requests::id.eq_any(ids))
                .order(requests::id.desc())
                .limit(limit - out.len() as i64)
                .select(super::Request::as_select())
                .load(conn)?;
            out.extend(rows);
        }
        match last {
            Some(last) if full => {
                below = last;
                chunk = (chunk * 4).min(MAX_CHUNK);
            }
            _ if floor == 0 => break,
            _ => {
                below = floor;
                span = span.saturating_mul(8);
            }
        }
    }
    Ok(out)
}

/// The oldest id of the window of `span` milliseconds that ends at `below` (0: all before).
fn window_floor(below: i64, span: i64) -> i64 {
    // The newest id this millisecond could have (reading the clock, not taking an id).
    let top = below.min(crate::ids::id_at(crate::now(), u32::MAX));
    top.saturating_sub(span.saturating_mul(1 << crate::ids::LOW_BITS))
        .max(0)
}

/// What the index is asked: every word, and from each facet group any of its tokens.
struct IndexQuery<'a> {
    terms: &'a [String],
    facets: Vec<Vec<String>>,
}

impl IndexQuery<'_> {
    /// `SQLite`: FTS5's query, each word quoted so none is read as an operator, each group of
    /// facets restricted to their column.
    fn fts5(&self) -> String {
        let quote = |t: &String| format!("\"{}\"", t.replace('"', "\"\""));
        let mut q = format!(
            "terms : ({})",
            self.terms.iter().map(quote).collect::<Vec<_>>().join(" ")
        );
        for g in &self.facets {
            let any: Vec<String> = g.iter().map(quote).collect();
            q = format!("{q} AND facets : ({})", any.join(" OR "));
        }
        q
    }

    /// `PostgreSQL`: the facets as a tsquery at weight A (the words go through
    /// `plainto_tsquery`, which quotes them); facet tokens are letters and digits only.
    fn tsquery_facets(&self) -> Option<String> {
        (!self.facets.is_empty()).then(|| {
            self.facets
                .iter()
                .map(|g| {
                    let any: Vec<String> = g.iter().map(|t| format!("{t}:A")).collect();
                    format!("({})", any.join(" | "))
                })
                .collect::<Vec<_>>()
                .join(" & ")
        })
    }
}

/// Ids of requests that match, from `floor` up to below `below`, newest first.
fn candidates(
    conn: &mut DbConnection,
    q: &IndexQuery<'_>,
    floor: i64,
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
            "SELECT rowid AS id FROM request_search WHERE request_search MATCH ? \
             AND rowid >= ? AND rowid < ? ORDER BY rowid DESC LIMIT ?",
        )
        .bind::<Text, _>(q.fts5())
        .bind::<BigInt, _>(floor)
        .bind::<BigInt, _>(below)
        .bind::<BigInt, _>(n)
        .load(c)?,
        DbConnection::Postgres(c) => {
            // GIN hands out its matches unordered, and past a few weeks the planner stops
            // combining the id range with it: every match's row would be visited to be sorted.
            // When filters make the matches sparse, the window's months as a facet keep them to
            // the window inside the index. Without filters (a word alone) they would only
            // steer the planner off reading the newest rows first, which finds a common word's
            // page at once (measured: 6 ms without, 16 ms with).
            let mut windowed = IndexQuery {
                terms: q.terms,
                facets: q.facets.clone(),
            };
            let months = month_facets(floor, below);
            if !months.is_empty() && !q.facets.is_empty() {
                windowed.facets.push(months);
            }
            // An empty tsquery draws a notice from the server, so without facets it is left out.
            let facets = windowed.tsquery_facets();
            let sql = format!(
                "SELECT request_id AS id FROM request_search \
                 WHERE terms @@ (plainto_tsquery('simple', $1){}) \
                 AND request_id >= $2 AND request_id < $3 ORDER BY request_id DESC LIMIT $4",
                if facets.is_some() {
                    " && to_tsquery('simple', $5)"
                } else {
                    ""
                }
            );
            let query = diesel::sql_query(sql)
                .into_boxed::<diesel::pg::Pg>()
                .bind::<Text, _>(q.terms.join(" "))
                .bind::<BigInt, _>(floor)
                .bind::<BigInt, _>(below)
                .bind::<BigInt, _>(n);
            match facets {
                Some(f) => query.bind::<Text, _>(f).load(c)?,
                None => query.load(c)?,
            }
        }
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
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

    #[test]
    fn a_window_is_the_months_it_spans() {
        let id = |y, m, d| {
            let at = chrono::NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap();
            crate::ids::id_at(at, 0)
        };
        assert_eq!(
            month_facets(id(2025, 11, 20), id(2026, 2, 1)),
            ["m202511", "m202512", "m202601", "m202602"]
        );
        assert_eq!(month_facets(id(2026, 3, 5), id(2026, 3, 6)), ["m202603"]);
        assert!(month_facets(0, id(2026, 3, 6)).is_empty());
    }
}
