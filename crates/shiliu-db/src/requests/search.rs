//! Chinese full-text search over requests: descriptions, places, names, handlers' notes and
//! replies. Text is segmented with jieba when it is written — in search-engine mode, so a long
//! word is also indexed by its parts (租房纠纷 → 租房, 纠纷, 租房纠纷) — and the words, joined
//! by spaces, go to `SQLite`'s FTS5 or `PostgreSQL`'s tsvector; a query is segmented in precise
//! mode and every word must match. The index is the one engine-specific table (see the
//! migrations), so its statements here are marked `engine-specific`.
//!
//! Beside the words, each entry holds the request's *facets* — its status, channel, category,
//! site and the regions on its path below the city, as tokens such as `sclosed` or `r42` in a
//! column of their own (`SQLite`) or as verbatim lexemes marked `@` (`@sclosed`, which no
//! word parsed by `PostgreSQL` starts with) — so a search with a filter (closed requests
//! about 拖欠工资, or those of one township) is narrowed inside the index instead of by
//! reading every match. The entry is rewritten with every step, in the step's transaction.
//! Matches are read newest first, in windows of time that widen while few are found, so that
//! `PostgreSQL`, whose index returns matches unordered, sorts only a window's; there the index
//! is partitioned by the week of its request ([`ensure_weeks`], docs/adr/0002), so a window
//! reads the posting lists and rows of its weeks only, however long the history grows.

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
    f.join(" ")
}

/// `PostgreSQL`'s form of facet tokens: marked with `@`, taken verbatim as lexemes.
fn pg_facet(token: &str) -> String {
    format!("@{token}")
}

/// A request's facets for `PostgreSQL`'s index (see [`pg_facet`]).
fn pg_facets(r: &super::Request) -> String {
    facets(r)
        .split(' ')
        .map(pg_facet)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `PostgreSQL`'s entry: the words without positions (no query asks for phrases or ranks, and
/// a smaller tsvector is cheaper to store and read) and the facets as verbatim lexemes.
const PG_ENTRY: &str =
    "strip(to_tsvector('simple', {words})) || array_to_tsvector(string_to_array({facets}, ' '))";

/// How many weeks ahead of now the index's partitions are made (at start and by the server's
/// housekeeping), so intake never waits on one being made.
const WEEKS_AHEAD: i64 = 13;

/// `PostgreSQL`: make the index's partition of every week with requests, and of the next
/// [`WEEKS_AHEAD`]; a week that has one is only looked up. `SQLite`: nothing.
pub fn ensure_stored_weeks(conn: &mut DbConnection) -> Result<(), DbError> {
    use crate::schema::requests;
    if !matches!(conn, DbConnection::Postgres(_)) {
        return Ok(());
    }
    let oldest: Option<i64> = requests::table
        .select(diesel::dsl::min(requests::id))
        .first(conn)?;
    let now = crate::ids::id_at(crate::now(), 0);
    ensure_weeks(conn, oldest.unwrap_or(now).min(now), now)?;
    ensure_coming_weeks(conn)
}

/// `PostgreSQL`: make the partitions of this week and the next [`WEEKS_AHEAD`] that have none
/// (the server's housekeeping: the weeks before were made when their requests were written).
/// `SQLite`: nothing.
pub fn ensure_coming_weeks(conn: &mut DbConnection) -> Result<(), DbError> {
    let ahead = crate::now() + chrono::Duration::weeks(WEEKS_AHEAD);
    ensure_weeks(
        conn,
        crate::ids::id_at(crate::now(), 0),
        crate::ids::id_at(ahead, 0),
    )
}

/// The Monday that starts the week of id `id` (weeks of the stored, UTC, time).
fn monday_of(id: i64) -> chrono::NaiveDate {
    use chrono::Datelike;
    let day = crate::ids::time_of(id).date();
    day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The first id of a day (UTC): a partition's bound when the day is a Monday.
fn first_id_of(day: chrono::NaiveDate) -> i64 {
    crate::ids::id_at(day.and_time(chrono::NaiveTime::MIN), 0)
}

/// The first id of the week of id `id` (the bound of its partition).
fn week_start(id: i64) -> i64 {
    first_id_of(monday_of(id))
}

/// The name of the week's partition that starts on `monday`.
fn partition_name(monday: chrono::NaiveDate) -> String {
    format!("request_search_w{}", monday.format("%Y%m%d"))
}

/// The name of the index's partition that holds id `id`'s entry (`PostgreSQL`).
pub fn partition_of(id: i64) -> String {
    partition_name(monday_of(id))
}

/// `PostgreSQL`: make the index's partition of every week from the one of id `from` to the
/// one of id `to` that has none yet (a load of history writes weeks long past). `SQLite`:
/// nothing.
pub fn ensure_weeks(conn: &mut DbConnection, from: i64, to: i64) -> Result<(), DbError> {
    if !matches!(conn, DbConnection::Postgres(_)) {
        return Ok(());
    }
    let last = crate::ids::time_of(to).date();
    let mut week = monday_of(from);
    while week <= last {
        ensure_week(conn, week)?;
        week += chrono::Duration::weeks(1);
    }
    Ok(())
}

/// One week's partition (see [`ensure_weeks`]).
fn ensure_week(conn: &mut DbConnection, monday: chrono::NaiveDate) -> Result<(), DbError> {
    #[derive(QueryableByName)]
    struct Made {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        made: bool,
    }
    let name = partition_name(monday);
    // engine-specific: PostgreSQL's catalogue and partitions.
    let DbConnection::Postgres(c) = conn else {
        return Ok(());
    };
    let found: Made = diesel::sql_query("SELECT to_regclass($1) IS NOT NULL AS made")
        .bind::<Text, _>(&name)
        .get_result(c)?;
    if found.made {
        return Ok(());
    }
    // The name and bounds are made here from dates, never from input.
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {name} PARTITION OF request_search FOR VALUES FROM ({}) TO ({})",
        first_id_of(monday),
        first_id_of(monday + chrono::Duration::weeks(1))
    );
    match crate::savepoint(conn, |c| Ok(diesel::sql_query(&sql).execute(c)?)) {
        Ok(_) | Err(DbError::Stale) => Ok(()), // Stale: another node made it at the same time.
        // Rows of the week already wait in the default partition (say, the clock jumped):
        // searches read them there, only without the week's own index.
        Err(DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::CheckViolation,
            _,
        ))) => {
            tracing::warn!(partition = %name, "search index: the week's rows stay in the default partition");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The facets a search must have, from the list's filters and the caller's scope: groups that
/// must all hold, each satisfied by any of its tokens. Filters without a facet (dates,
/// deadlines, co-handling, escalation) are left to the rows' own query.
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
    push(
        f.any_status
            .iter()
            .map(|s| status_facet(s.as_str()))
            .collect(),
    );
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
    if let Some((Some(site), None)) = f.handled_by {
        push(vec![format!("t{site}")]);
    }
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
    // engine-specific: the full-text index.
    match conn {
        DbConnection::Sqlite(c) => {
            // Through Diesel's DSL so the connection keeps the statements prepared.
            use fts5::request_search as t;
            if !fresh {
                diesel::delete(t::table.filter(t::rowid.eq(r.id))).execute(c)?;
            }
            diesel::insert_into(t::table)
                .values((
                    t::rowid.eq(r.id),
                    t::terms.eq(&terms),
                    t::facets.eq(facets(r)),
                ))
                .execute(c)?;
        }
        DbConnection::Postgres(c) => {
            diesel::sql_query(format!(
                "INSERT INTO request_search (request_id, terms) VALUES ($1, {}) \
                 ON CONFLICT (request_id) DO UPDATE SET terms = EXCLUDED.terms",
                PG_ENTRY.replace("{words}", "$2").replace("{facets}", "$3")
            ))
            .bind::<BigInt, _>(r.id)
            .bind::<Text, _>(&terms)
            .bind::<Text, _>(pg_facets(r))
            .execute(c)?;
        }
    }
    keep_words(conn, &[(r.id, &terms)])
}

/// Keep requests' words where the list's keys read them (`request_words`), rewriting a row
/// only when its words changed (each rewrite is a change every node reloads).
fn keep_words(conn: &mut DbConnection, words: &[(i64, &str)]) -> Result<(), DbError> {
    const PER_INSERT: usize = 2000;
    for chunk in words.chunks(PER_INSERT) {
        let rows = super::stats::values(conn.engine(), chunk.len(), 2);
        let mut q = diesel::sql_query(format!(
            "INSERT INTO request_words (request_id, words) VALUES {rows} \
             ON CONFLICT (request_id) DO UPDATE SET words = excluded.words \
             WHERE request_words.words <> excluded.words"
        ))
        .into_boxed::<crate::MultiBackend>();
        for (id, w) in chunk {
            q = q.bind::<BigInt, _>(*id).bind::<Text, _>(w.to_string());
        }
        q.execute(conn)?;
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
                        "(${}, {})",
                        3 * i + 1,
                        PG_ENTRY
                            .replace("{words}", &format!("${}", 3 * i + 2))
                            .replace("{facets}", &format!("${}", 3 * i + 3))
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let pg = matches!(conn, DbConnection::Postgres(_));
        let mut q = diesel::sql_query(sql).into_boxed::<crate::MultiBackend>();
        for (r, terms) in chunk {
            q = q
                .bind::<BigInt, _>(r.id)
                .bind::<Text, _>(terms.to_string())
                .bind::<Text, _>(if pg { pg_facets(r) } else { facets(r) });
        }
        q.execute(conn)?;
    }
    let words: Vec<(i64, &str)> = entries.iter().map(|(r, t)| (r.id, *t)).collect();
    keep_words(conn, &words)
}

/// Matches among the requests the list's filters admit, newest first. The index leads: it
/// hands out its matches that have the filters' facets newest first, a window of time at a
/// time (`PostgreSQL`; `SQLite` in one window), and the list's filters keep those that
/// qualify. Within a window, the first chunk is twice the page (an unfiltered search stops
/// there) and chunks grow fourfold while few qualify; a window that runs dry gives way to the
/// older one before it, as long as the matches found so far say the rest of the page needs
/// ([`next_span`]).
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
    // engine-specific: SQLite's FTS5 hands out its matches newest first by itself, so it reads
    // them in one window from the start of time; a window more is a query more that seeks its
    // way back through the index (a filtered search took four, 3.4 ms in all).
    let mut span = match conn {
        DbConnection::Sqlite(_) => i64::MAX,
        DbConnection::Postgres(_) => FIRST_SPAN,
    };
    let mut chunk = (2 * limit).clamp(20, MAX_CHUNK);
    // Where the window being read began (its top: full chunks move `below`, not it), and the
    // rows it has yielded so far.
    let (mut top, mut in_window) = (below, 0_usize);
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
            in_window += rows.len();
            out.extend(rows);
        }
        match last {
            Some(last) if full => {
                below = last;
                chunk = (chunk * 4).min(MAX_CHUNK);
            }
            _ if floor == 0 => break,
            _ => {
                let wanted = usize::try_from(limit)
                    .unwrap_or(0)
                    .saturating_sub(out.len());
                let read = (window_top(top) - floor) >> crate::ids::LOW_BITS;
                span = next_span(span, read, in_window, wanted);
                (below, top, in_window) = (floor, floor, 0);
            }
        }
    }
    Ok(out)
}

/// Every request id that matches the words and the filters the index knows (status, channel,
/// region, scope), newest first: for a count, or an order other than the newest first.
pub(crate) fn all_matching(
    conn: &mut DbConnection,
    scope: &crate::scope::Scope,
    f: &super::RequestFilter,
    terms: &[String],
) -> Result<Vec<i64>, DbError> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let query = IndexQuery {
        terms,
        facets: wanted_facets(scope, f),
    };
    candidates(conn, &query, 0, i64::MAX, i64::MAX)
}

/// How long the next, older window is, after one of `span` milliseconds that was read for
/// `read` milliseconds (the present cuts the first one short; full chunks stretch one) and
/// yielded `found` rows, with `wanted` more wanted. Nothing found: eight times as long. Some
/// found: as long as their density says the rest needs, and half as long again for luck
/// (older requests are closed more often, so a filter by status finds them denser), from a
/// day to eight times the window. A window of eight days that found 45 of a page of 51 went on
/// for 64 days and read 4,000 matches (9.4 ms) where two days would have done.
fn next_span(span: i64, read: i64, found: usize, wanted: usize) -> i64 {
    const DAY: i64 = 86_400_000;
    let longest = span.saturating_mul(8);
    if found == 0 {
        return longest;
    }
    let needed = i128::from(read.max(1)) * wanted as i128 * 3 / (2 * found as i128);
    i64::try_from(needed)
        .unwrap_or(i64::MAX)
        .clamp(DAY, longest)
}

/// The oldest id of the window of `span` milliseconds that ends at `below` (0: all before),
/// moved back to the start of its week: `PostgreSQL` fetches the rows of all of a week's
/// matches whatever part of the week a window spans (ADR 0003), so the rest of the week costs
/// next to nothing and may spare a window.
fn window_floor(below: i64, span: i64) -> i64 {
    let floor = window_top(below)
        .saturating_sub(span.saturating_mul(1 << crate::ids::LOW_BITS))
        .max(0);
    if floor == 0 {
        0
    } else {
        week_start(floor).max(0)
    }
}

/// Where a window that ends at `below` really starts: no later than the newest id this
/// millisecond could have (reading the clock, not taking an id).
fn window_top(below: i64) -> i64 {
    below.min(crate::ids::id_at(crate::now(), u32::MAX))
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

    /// `PostgreSQL`: the facets as a tsquery of quoted, verbatim lexemes (the words go through
    /// `plainto_tsquery`, which quotes them); facet tokens are letters and digits only.
    fn tsquery_facets(&self) -> Option<String> {
        (!self.facets.is_empty()).then(|| {
            self.facets
                .iter()
                .map(|g| {
                    let any: Vec<String> = g.iter().map(|t| format!("'{}'", pg_facet(t))).collect();
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
            // GIN hands out its matches unordered: the window's bounds prune the index to the
            // weeks it spans, and all the matches of those weeks are read (GIN knows no ids: each
            // match's row is fetched before the bounds are tested) and sorted. Asked
            // for the newest few directly, the planner may instead walk the window backwards by
            // id testing every entry, which is quick only while matches are dense among the
            // newest: measured 67 ms behind 200,000 newer entries without the word, 2.5 ms
            // through GIN. MATERIALIZED keeps the limit out of the window's plan.
            // An empty tsquery draws a notice from the server, so without facets it is left out.
            let facets = q.tsquery_facets();
            // Not a month past the present (ids from the future are a clock's error, or a
            // test's), so most weeks made ahead and the default partition are pruned too.
            let below = below.min(crate::ids::id_at(
                crate::now() + chrono::Duration::days(31),
                0,
            ));
            let sql = format!(
                "WITH window_matches AS MATERIALIZED (SELECT request_id FROM request_search \
                 WHERE terms @@ (plainto_tsquery('simple', $1){}) \
                 AND request_id >= $2 AND request_id < $3) \
                 SELECT request_id AS id FROM window_matches ORDER BY request_id DESC LIMIT $4",
                if facets.is_some() {
                    " && $5::tsquery"
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

    const DAY: i64 = 86_400_000;

    #[test]
    fn a_window_starts_at_the_start_of_its_week() {
        let at = |d: u32, h: u32| {
            crate::ids::id_at(
                chrono::NaiveDate::from_ymd_opt(2026, 12, d)
                    .unwrap()
                    .and_hms_opt(h, 0, 0)
                    .unwrap(),
                5,
            )
        };
        // Thursday noon, a day back: from Monday (30 November) 00:00.
        let monday = crate::ids::id_at(
            chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            0,
        );
        assert_eq!(window_floor(at(3, 12), DAY), monday);
        // Monday noon, a day back: the week before's Monday.
        assert_eq!(window_floor(at(7, 12), DAY), monday);
        // All of history stays all of it.
        assert_eq!(window_floor(at(3, 12), i64::MAX), 0);
    }

    #[test]
    fn a_dry_window_gives_way_to_one_eight_times_as_long() {
        assert_eq!(next_span(DAY, DAY, 0, 51), 8 * DAY);
    }

    #[test]
    fn a_window_that_found_some_gives_way_to_what_their_density_needs() {
        // 45 in eight days, 6 more wanted: a day and a half's worth (with half again).
        assert_eq!(
            next_span(8 * DAY, 8 * DAY, 45, 6),
            8 * DAY * 6 * 3 / (2 * 45)
        );
        // Sparse: one in a day, fifty wanted: no more than eight times the window.
        assert_eq!(next_span(DAY, DAY, 1, 50), 8 * DAY);
        // Dense: never shorter than a day.
        assert_eq!(next_span(8 * DAY, 8 * DAY, 50, 1), DAY);
        // The first window, cut short by the present (half a day read): judged by what was
        // read, not by its span.
        assert_eq!(next_span(DAY, DAY / 2, 5, 40), 6 * DAY);
    }

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
