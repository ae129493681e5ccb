//! Request statistics per scope and period (whole months), grouped by a dimension.
//!
//! The figures come from running totals, never from a scan of the requests. A request counts
//! in the `request_tallies` row of each region on its path (so a scope reads the rows of its
//! own regions, whatever its level), its local month of receipt, and each dimension (its
//! category, its channel, its site): a city's year is a few thousand rows to sum however many
//! requests it took in.
//!
//! Every write that changes a request calls [`count_change`] in its own transaction with the
//! request as it was and as it is. That appends the difference to `request_tally_journal` (one
//! small row, where updating the totals directly would touch a dozen scattered rows and halve
//! intake); [`fold`] moves the journal into the totals every few seconds, exactly once even with
//! several servers folding. [`figures`] reads the totals and the journal in one snapshot, so a
//! figure is exact whether or not the latest changes have been folded. `raw` gives the rows
//! for the tests that recompute every figure by hand.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use serde::Serialize;

use crate::requests::Request;
use crate::schema::{request_tallies, request_tally_journal, requests};
use crate::scope::{Scope, path_upper};
use crate::{DbConnection, DbError, Engine};

/// What the figures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Category,
    Channel,
    Month,
    /// The regions one level below the scope's (and the scope's own region, for requests
    /// that arose there and not in a region below it).
    Region,
    /// Months of resolution: a month's `received` are the requests received in it, and its
    /// other figures those of the requests resolved in it, whenever they were received.
    ResolvedMonth,
    Site,
}

impl Dimension {
    pub const ALL: [Dimension; 6] = [
        Self::Category,
        Self::Channel,
        Self::Month,
        Self::ResolvedMonth,
        Self::Region,
        Self::Site,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Category => "category",
            Self::Channel => "channel",
            Self::Month => "month",
            Self::Region => "region",
            Self::ResolvedMonth => "resolved_month",
            Self::Site => "site",
        }
    }

    /// The tally rows that hold it. Months and regions are in every dimension's rows; the
    /// totals' (one key) are the fewest. Months of resolution are in their own rows.
    fn rows(self) -> &'static str {
        match self {
            Self::Category => "category",
            Self::Site => "site",
            Self::Channel => "channel",
            Self::Month | Self::Region => TOTAL,
            Self::ResolvedMonth => RESOLVED,
        }
    }
}

/// The figures of one group. Rates are derived from the counts by the reader (`rate`), so a
/// total row can be summed from the groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, QueryableByName)]
pub struct Figures {
    /// The group's key: a category id, a channel code, a month `YYYY-MM`, a region's path, a
    /// site id (empty: none).
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub received: i64,
    /// 办结: resolved, rated or closed.
    #[diesel(sql_type = BigInt)]
    pub resolved: i64,
    /// Resolved with a deadline…
    #[diesel(sql_type = BigInt)]
    pub resolved_with_deadline: i64,
    /// …and on or before it.
    #[diesel(sql_type = BigInt)]
    pub on_time: i64,
    #[diesel(sql_type = BigInt)]
    pub rated: i64,
    /// 满意 or 基本满意.
    #[diesel(sql_type = BigInt)]
    pub satisfied: i64,
    /// Total seconds from receipt to resolution, over the resolved.
    #[diesel(sql_type = BigInt)]
    pub handling_seconds: i64,
}

impl Figures {
    fn counts(&self) -> Counts {
        [
            self.received,
            self.resolved,
            self.resolved_with_deadline,
            self.on_time,
            self.rated,
            self.satisfied,
            self.handling_seconds,
        ]
    }

    fn with_counts(key: String, c: Counts) -> Self {
        Self {
            key,
            received: c[0],
            resolved: c[1],
            resolved_with_deadline: c[2],
            on_time: c[3],
            rated: c[4],
            satisfied: c[5],
            handling_seconds: c[6],
        }
    }

    pub fn add(&mut self, o: &Figures) {
        let (a, b) = (self.counts(), o.counts());
        *self = Self::with_counts(
            std::mem::take(&mut self.key),
            std::array::from_fn(|i| a[i] + b[i]),
        );
    }

    /// A share in per mille (None when nothing to divide by), for display as 94.3%.
    pub fn rate(part: i64, whole: i64) -> Option<i64> {
        (whole > 0).then(|| (part * 1000 + whole / 2) / whole)
    }

    pub fn completion(&self) -> Option<i64> {
        Self::rate(self.resolved, self.received)
    }

    pub fn on_time_rate(&self) -> Option<i64> {
        Self::rate(self.on_time, self.resolved_with_deadline)
    }

    pub fn satisfaction(&self) -> Option<i64> {
        Self::rate(self.satisfied, self.rated)
    }

    /// Average hours from receipt to resolution, in tenths, rounded half up (32.48 h: 325).
    pub fn avg_handling_tenths_of_hours(&self) -> Option<i64> {
        // Tenths of an hour are 360 s each: round the total once, at the end.
        (self.resolved > 0)
            .then(|| (self.handling_seconds + 180 * self.resolved) / (360 * self.resolved))
    }
}

/// The counters of a tally row, in the order of its columns (`received` … `handling_seconds`).
type Counts = [i64; 7];

/// The month a moment is counted in: `YYYY-MM` in China's time.
pub fn month_of(t: NaiveDateTime) -> String {
    shiliu_domain::calendar::local(t)
        .format("%Y-%m")
        .to_string()
}

/// What the figures need of a request.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = requests)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct Facts {
    id: i64,
    region_path: String,
    category_id: i64,
    channel: String,
    site_id: Option<i64>,
    received_at: NaiveDateTime,
    due_at: Option<NaiveDateTime>,
    resolved_at: Option<NaiveDateTime>,
    rating: Option<String>,
    status: String,
}

impl From<&Request> for Facts {
    fn from(r: &Request) -> Self {
        Self {
            id: r.id,
            region_path: r.region_path.clone(),
            category_id: r.category_id,
            channel: r.channel.clone(),
            site_id: r.site_id,
            received_at: r.received_at,
            due_at: r.due_at,
            resolved_at: r.resolved_at,
            rating: r.rating.clone(),
            status: r.status.clone(),
        }
    }
}

impl Facts {
    fn counts(&self) -> Counts {
        let resolved = self.resolved_at.is_some();
        let with_deadline = resolved && self.due_at.is_some();
        let on_time = matches!((self.resolved_at, self.due_at), (Some(r), Some(d)) if r <= d);
        let satisfied = matches!(
            self.rating.as_deref(),
            Some("satisfied" | "fairly_satisfied")
        );
        let seconds = self
            .resolved_at
            .map_or(0, |r| (r - self.received_at).num_seconds());
        [
            1,
            i64::from(resolved),
            i64::from(with_deadline),
            i64::from(on_time),
            i64::from(self.rating.is_some()),
            i64::from(satisfied),
            seconds,
        ]
    }
}

/// One request's (or one change's) counts, where they count.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = request_tally_journal)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct Entry {
    id: i64,
    region_path: String,
    month: String,
    category_id: i64,
    channel: String,
    site: String,
    status: String,
    received: i64,
    resolved: i64,
    resolved_with_deadline: i64,
    on_time: i64,
    rated: i64,
    satisfied: i64,
    handling_seconds: i64,
    /// The month the request was resolved in (`YYYY-MM`, China's time); empty: unresolved.
    resolved_month: String,
}

impl Entry {
    fn new(f: &Facts, sign: i64) -> Self {
        let c = f.counts().map(|x| x * sign);
        Self {
            id: crate::ids::new_id(),
            region_path: f.region_path.clone(),
            month: month_of(f.received_at),
            category_id: f.category_id,
            channel: f.channel.clone(),
            site: f.site_id.map(|s| s.to_string()).unwrap_or_default(),
            status: f.status.clone(),
            received: c[0],
            resolved: c[1],
            resolved_with_deadline: c[2],
            on_time: c[3],
            rated: c[4],
            satisfied: c[5],
            handling_seconds: c[6],
            resolved_month: f.resolved_at.map(month_of).unwrap_or_default(),
        }
    }

    fn counts(&self) -> Counts {
        [
            self.received,
            self.resolved,
            self.resolved_with_deadline,
            self.on_time,
            self.rated,
            self.satisfied,
            self.handling_seconds,
        ]
    }

    /// The same place with `o`'s counts added.
    fn plus(self, o: &Entry) -> Self {
        let (a, b) = (self.counts(), o.counts());
        Self {
            received: a[0] + b[0],
            resolved: a[1] + b[1],
            resolved_with_deadline: a[2] + b[2],
            on_time: a[3] + b[3],
            rated: a[4] + b[4],
            satisfied: a[5] + b[5],
            handling_seconds: a[6] + b[6],
            ..self
        }
    }

    fn same_place(&self, o: &Entry) -> bool {
        (
            &self.region_path,
            &self.month,
            self.category_id,
            &self.channel,
            &self.site,
            &self.status,
            &self.resolved_month,
        ) == (
            &o.region_path,
            &o.month,
            o.category_id,
            &o.channel,
            &o.site,
            &o.status,
            &o.resolved_month,
        )
    }

    /// Its key in each dimension's rows.
    fn key(&self, dim: &str) -> String {
        match dim {
            "category" => self.category_id.to_string(),
            "channel" => self.channel.clone(),
            RESOLVED | TOTAL => String::new(),
            _ => self.site.clone(),
        }
    }

    /// The month it counts in in each dimension's rows: the month of resolution in the
    /// resolution's rows (none while unresolved), of receipt in the others.
    fn month(&self, dim: &str) -> Option<&str> {
        if dim == RESOLVED {
            Some(self.resolved_month.as_str()).filter(|m| !m.is_empty())
        } else {
            Some(self.month.as_str())
        }
    }
}

/// The rows by month of receipt, one set per dimension kept and one of the totals, and by
/// month of resolution.
const DIMS: [&str; 5] = ["category", "channel", "site", TOTAL, RESOLVED];
/// The rows of resolved requests by the month they were resolved in (key: empty).
const RESOLVED: &str = "resolved";
/// The rows of every request by the month it was received in (key: empty): what the figures
/// by month and by region read, a fifth of the channels' rows.
const TOTAL: &str = "total";

/// Totals are kept for the regions down to this depth (province 1, city 2, county 3, township
/// 4). A community's or a grid's figures are summed from its requests when asked for (a few
/// hundred a year): keeping totals for them too made every request count in a dozen more rows,
/// nearly all of them different from any other request's, so folding the journal cost
/// several times more (on `SQLite`, a fifth of the writer's time at 2,000 requests a second).
pub const TALLIED_DEPTH: i32 = 4;

/// The regions on a path with their depth: `/1/2/` → `/1/` (1), `/1/2/` (2).
pub(crate) fn levels(path: &str) -> impl Iterator<Item = (String, i32)> + '_ {
    path.match_indices('/')
        .skip(1)
        .zip(1..)
        .map(|((end, _), depth)| (path[..=end].to_string(), depth))
}

/// The deepest region on a path with totals ([`TALLIED_DEPTH`]), or the region itself when it
/// lies higher: `/1/2/3/4/5/6/` → `/1/2/3/4/` (where a change is journalled; the fold adds it
/// to every level above too).
pub(crate) fn tallied_path(path: &str) -> &str {
    let keep = usize::try_from(TALLIED_DEPTH).unwrap_or(0);
    // The '/' that closes the region at depth `keep` is the (keep + 1)-th.
    match path.match_indices('/').nth(keep) {
        Some((end, _)) => &path[..=end],
        None => path,
    }
}

/// The regions with totals on a path, from the top down to [`TALLIED_DEPTH`]: where a journal
/// row written at `path` (see [`tallied_path`]) counts once folded.
pub(crate) fn tallied_levels(path: &str) -> impl Iterator<Item = String> + '_ {
    levels(path)
        .take_while(|(_, d)| *d <= TALLIED_DEPTH)
        .map(|(p, _)| p)
}

/// The places a statistics page reads from running totals: the scope's subtrees (`tops`, for
/// the figures in all) and the breakdown's regions the scope covers (for the figures by
/// region, in the breakdown's order).
pub(crate) struct TalliedPlaces {
    pub tops: Vec<String>,
    breakdown: Vec<Option<String>>,
}

impl TalliedPlaces {
    /// The places of `scope` (already narrowed to the page's region) and `regions`; None when
    /// one of them lies below [`TALLIED_DEPTH`] (its figures are grouped from the rows).
    pub(crate) fn of(
        conn: &mut DbConnection,
        scope: &Scope,
        regions: &[crate::org::Region],
    ) -> Result<Option<Self>, DbError> {
        let tops = crate::org::top_paths(conn, scope)?;
        let shallow = |p: &str| depth(p) <= TALLIED_DEPTH;
        if !tops.iter().all(|p| shallow(p)) || !regions.iter().all(|r| shallow(&r.path)) {
            return Ok(None);
        }
        let breakdown = regions
            .iter()
            .map(|r| scope.covers(&r.path).then(|| r.path.clone()))
            .collect();
        Ok(Some(Self { tops, breakdown }))
    }

    /// Every place whose totals the page reads.
    pub(crate) fn paths(&self) -> Vec<String> {
        self.tops
            .iter()
            .chain(self.breakdown.iter().flatten())
            .cloned()
            .collect()
    }

    /// Whether a place's totals count in the figures in all.
    pub(crate) fn whole(&self, path: &str) -> bool {
        self.tops.iter().any(|t| t == path)
    }

    /// The breakdown's line a place's totals count in.
    pub(crate) fn region(&self, path: &str) -> Option<usize> {
        self.breakdown
            .iter()
            .position(|r| r.as_deref() == Some(path))
    }
}

/// The month a day counts in (`2026-03`).
pub(crate) fn month_of_day(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// The part of the days `from..=to` (either end open) that running totals by month answer:
/// the first and last months whose every day lies within (None: no whole month), and the days
/// at either end that do not fill a month (read from the rows themselves).
pub(crate) struct Span {
    pub months: Option<(Option<String>, Option<String>)>,
    pub edges: Vec<(NaiveDate, NaiveDate)>,
}

impl Span {
    pub(crate) fn of(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Self {
        let first_of = |d: NaiveDate| d.with_day(1).unwrap_or(d);
        let last_of = |d: NaiveDate| {
            first_of(d)
                .checked_add_months(chrono::Months::new(1))
                .and_then(|n| n.pred_opt())
                .unwrap_or(NaiveDate::MAX)
        };
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Self {
                    months: None,
                    edges: Vec::new(),
                };
            }
            if first_of(f) == first_of(t) && (f.day() != 1 || t != last_of(t)) {
                // Part of one month.
                return Self {
                    months: None,
                    edges: vec![(f, t)],
                };
            }
        }
        let mut edges = Vec::new();
        // The first whole month, and the days before it.
        let lower = match from {
            Some(f) if f.day() != 1 => {
                edges.push((f, last_of(f)));
                Some(last_of(f).succ_opt().unwrap_or(NaiveDate::MAX))
            }
            other => other,
        };
        let upper = match to {
            Some(t) if t != last_of(t) => {
                edges.push((first_of(t), t));
                Some(first_of(t).pred_opt().unwrap_or(NaiveDate::MIN))
            }
            other => other,
        };
        let months = match (lower, upper) {
            (Some(l), Some(u)) if l > u => None,
            (l, u) => Some((l.map(month_of_day), u.map(month_of_day))),
        };
        Self { months, edges }
    }
}

/// How many regions a path names (`/` names none).
pub(crate) fn depth(path: &str) -> i32 {
    i32::try_from(path.matches('/').count().saturating_sub(1)).unwrap_or(i32::MAX)
}

/// Changes to tally rows: (region path, dimension, month, key, status) → (depth, counts to add).
type Changes = BTreeMap<(String, &'static str, String, String, String), (i32, Counts)>;

fn add_to(changes: &mut Changes, e: &Entry) {
    let counts = e.counts();
    for (path, depth) in levels(&e.region_path).filter(|(_, d)| *d <= TALLIED_DEPTH) {
        for dim in DIMS {
            let Some(month) = e.month(dim) else {
                continue;
            };
            let row = changes
                .entry((
                    path.clone(),
                    dim,
                    month.to_string(),
                    e.key(dim),
                    e.status.clone(),
                ))
                .or_insert((depth, [0; 7]));
            for (acc, c) in row.1.iter_mut().zip(counts) {
                *acc += c;
            }
        }
    }
}

/// Keep the tallies in step with one request's change: `before` is the request as it was (None:
/// new), `after` as it is now. Call it in the transaction that makes the change; it appends to
/// the journal.
pub(crate) fn count_change(
    conn: &mut DbConnection,
    before: Option<&Request>,
    after: Option<&Request>,
) -> Result<(), DbError> {
    count_changes(conn, &[(before, after)])
}

/// Journal several changes at once (requests taken in together).
pub(crate) fn count_changes(
    conn: &mut DbConnection,
    changes: &[(Option<&Request>, Option<&Request>)],
) -> Result<(), DbError> {
    let entries: Vec<Entry> = changes
        .iter()
        .flat_map(|(b, a)| journal_entries(*b, *a))
        .collect();
    // Fifteen values a row: SQLite takes at most 32,766 in one statement.
    for chunk in entries.chunks(2_000) {
        crate::on_engine!(conn, |c| diesel::insert_into(request_tally_journal::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// The journal rows for one change: none if nothing counted changed.
fn journal_entries(before: Option<&Request>, after: Option<&Request>) -> Vec<Entry> {
    let (b, a) = (before.map(Facts::from), after.map(Facts::from));
    if b == a {
        return Vec::new();
    }
    let old = b.as_ref().map(|f| Entry::new(f, -1));
    let new = a.as_ref().map(|f| Entry::new(f, 1));
    let mut entries: Vec<Entry> = match (old, new) {
        // A change in place (most steps): one row with the difference.
        (Some(old), Some(new)) if old.same_place(&new) => vec![new.plus(&old)],
        (old, new) => old.into_iter().chain(new).collect(),
    };
    entries.retain(|e| e.counts().iter().any(|x| *x != 0));
    entries
}

/// Count new rows loaded in bulk, straight into the totals.
pub(crate) fn count_many(conn: &mut DbConnection, rows: &[Request]) -> Result<(), DbError> {
    let mut changes = Changes::new();
    for r in rows {
        add_to(&mut changes, &Entry::new(&Facts::from(r), 1));
    }
    apply(conn, &changes)
}

/// Journal rows folded in one transaction: small enough that the `SQLite` writer is held a few
/// tens of milliseconds, not the hundreds a busy two seconds' worth took in one.
pub const FOLD_BATCH: usize = 2_000;

/// Move up to [`FOLD_BATCH`] journal rows into the totals; returns how many it folded. Each
/// row is folded exactly once: the batch is deleted by id, and if another server deleted any
/// of them first the transaction is refused (`Stale`) and nothing of it is kept.
pub fn fold(conn: &mut DbConnection) -> Result<usize, DbError> {
    let rows: Vec<Entry> = request_tally_journal::table
        .order(request_tally_journal::id.asc())
        .limit(FOLD_BATCH as i64)
        .select(Entry::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|e| e.id).collect();
    let mut deleted = 0;
    for chunk in ids.chunks(5_000) {
        deleted += diesel::delete(
            request_tally_journal::table.filter(request_tally_journal::id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    if deleted != rows.len() {
        return Err(DbError::Stale);
    }
    let mut changes = Changes::new();
    for e in &rows {
        add_to(&mut changes, e);
    }
    changes.retain(|_, (_, c)| c.iter().any(|x| *x != 0));
    apply(conn, &changes)?;
    Ok(rows.len())
}

/// `PostgreSQL`: clear the dead rows folding leaves — in the journals (a queue: every row is
/// deleted seconds after it is written) and, with `totals`, in the totals (updated in place).
/// Under heavy intake autovacuum, a minute between rounds by default, left over 100,000 dead
/// journal rows that every statistics page read past (p50 7.6 → 44 ms, measured). Tables
/// another node is vacuuming are skipped. Run it outside a transaction. `SQLite`: nothing (a
/// deleted row leaves no dead version behind).
pub fn clear_dead_rows(conn: &mut DbConnection, totals: bool) -> Result<(), DbError> {
    // engine-specific: VACUUM is PostgreSQL's.
    if let DbConnection::Postgres(c) = conn {
        let tables = if totals {
            "request_tally_journal, registry_tally_journal, activity_tally_journal, \
             council_tally_journal, request_tallies, registry_tallies, activity_tallies, \
             activity_unit_tallies, council_tallies"
        } else {
            "request_tally_journal, registry_tally_journal, activity_tally_journal, \
             council_tally_journal"
        };
        diesel::sql_query(format!("VACUUM (SKIP_LOCKED) {tables}")).execute(c)?;
    }
    Ok(())
}

/// Count every request again from nothing (when the tallies first arrive).
pub fn rebuild(conn: &mut DbConnection) -> Result<(), DbError> {
    const CHUNK: i64 = 20_000;
    diesel::delete(request_tally_journal::table).execute(conn)?;
    diesel::delete(request_tallies::table).execute(conn)?;
    let mut after = i64::MIN;
    loop {
        let facts: Vec<Facts> = requests::table
            .filter(requests::id.gt(after))
            .order(requests::id.asc())
            .limit(CHUNK)
            .select(Facts::as_select())
            .load(conn)?;
        let Some(last) = facts.last() else {
            return Ok(());
        };
        after = last.id;
        let mut changes = Changes::new();
        for f in &facts {
            add_to(&mut changes, &Entry::new(f, 1));
        }
        apply(conn, &changes)?;
    }
}

/// Add the changes to their rows, creating the rows that are new.
fn apply(conn: &mut DbConnection, changes: &Changes) -> Result<(), DbError> {
    // Thirteen values a row: SQLite takes at most 32,766 in one statement.
    const ROWS_PER_STATEMENT: usize = 2_000;
    let engine = conn.engine();
    let entries: Vec<_> = changes.iter().collect();
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO request_tallies (region_path, depth, month, dim, key, status, \
             {COUNTERS}) VALUES {} ON CONFLICT (region_path, dim, month, key, status) \
             DO UPDATE SET {}",
            values(engine, chunk.len(), 13),
            COUNTERS
                .split(", ")
                .map(|c| format!("{c} = request_tallies.{c} + excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut q = diesel::sql_query(sql).into_boxed::<crate::MultiBackend>();
        for ((path, dim, month, key, status), (depth, counts)) in chunk {
            q = q
                .bind::<Text, _>(path.clone())
                .bind::<Integer, _>(*depth)
                .bind::<Text, _>(month.clone())
                .bind::<Text, _>(*dim)
                .bind::<Text, _>(key.clone())
                .bind::<Text, _>(status.clone());
            for c in counts {
                q = q.bind::<BigInt, _>(*c);
            }
        }
        q.execute(conn)?;
    }
    Ok(())
}

const COUNTERS: &str =
    "received, resolved, resolved_with_deadline, on_time, rated, satisfied, handling_seconds";

/// The VALUES list of a multi-row insert: `rows` rows of `columns` placeholders each.
pub(crate) fn values(engine: Engine, rows: usize, columns: usize) -> String {
    let ph = placeholders(engine);
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns).map(|c| ph(r * columns + c)).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The engine's placeholder for the n-th bound value (from 1).
pub(crate) fn placeholders(engine: Engine) -> fn(usize) -> String {
    match engine {
        Engine::Sqlite => |_| "?".to_string(),
        Engine::Postgres => |n| format!("${n}"),
    }
}

/// The figures of a scope for the months `from` to `to` (`YYYY-MM`, both included), one per
/// group of `by`, in the order of the key.
pub fn figures(
    conn: &mut DbConnection,
    scope: &Scope,
    from: &str,
    to: &str,
    by: Dimension,
) -> Result<Vec<Figures>, DbError> {
    let whole = |c: &mut DbConnection, by| figures_of(c, scope, (from, to), by, None, None);
    if by != Dimension::ResolvedMonth {
        return whole(conn, by);
    }
    // Each month's receipts beside its resolutions, read in one snapshot.
    let (receipts, resolutions) =
        snapshot(conn, |c| Ok((whole(c, Dimension::Month)?, whole(c, by)?)))?;
    let mut months: BTreeMap<String, Figures> = resolutions
        .into_iter()
        .map(|f| {
            let month = Figures { received: 0, ..f };
            (month.key.clone(), month)
        })
        .collect();
    for r in receipts {
        months
            .entry(r.key.clone())
            .or_insert_with(|| Figures {
                key: r.key.clone(),
                ..Figures::default()
            })
            .received = r.received;
    }
    Ok(months.into_values().collect())
}

/// How many requests of a scope received in the months `from` to `to` (both included) have
/// one of `keys` in `by` (none: any) and one of `statuses` now (none: any) — the request
/// list's count of such a filter, from the totals.
pub fn received(
    conn: &mut DbConnection,
    scope: &Scope,
    (from, to): (&str, &str),
    (by, keys): (Dimension, Option<&[String]>),
    statuses: Option<&[&str]>,
) -> Result<i64, DbError> {
    Ok(figures_of(conn, scope, (from, to), by, keys, statuses)?
        .iter()
        .map(|g| g.received)
        .sum())
}

/// The figures of a scope by region (as [`figures`] by [`Dimension::Region`] gives them) for
/// each month from `from` to `to` that has any: one read where a board of several periods
/// and their months would take one per period.
pub fn by_region_and_month(
    conn: &mut DbConnection,
    scope: &Scope,
    from: &str,
    to: &str,
) -> Result<BTreeMap<String, Vec<Figures>>, DbError> {
    groups_of(
        conn,
        scope,
        (from, to),
        (Dimension::Region, None),
        (None, true),
    )
}

/// The figures of the groups `keys` of `by` (none: all), of the requests in one of
/// `statuses` (none: all), over the months together.
fn figures_of(
    conn: &mut DbConnection,
    scope: &Scope,
    months: (&str, &str),
    by: Dimension,
    keys: Option<&[String]>,
    statuses: Option<&[&str]>,
) -> Result<Vec<Figures>, DbError> {
    Ok(
        groups_of(conn, scope, months, (by, keys), (statuses, false))?
            .into_values()
            .next()
            .unwrap_or_default(),
    )
}

/// The figures of the groups `keys` of `by` (none: all; one site's are a few hundred of a
/// city's hundreds of thousands of rows), of the requests in one of `statuses` (none: all),
/// by month when `monthly` (else under one key, empty).
fn groups_of(
    conn: &mut DbConnection,
    scope: &Scope,
    (from, to): (&str, &str),
    (by, keys): (Dimension, Option<&[String]>),
    (statuses, monthly): (Option<&[&str]>, bool),
) -> Result<BTreeMap<String, Vec<Figures>>, DbError> {
    // Subtrees inside another of the scope's would be counted twice.
    let tops = scope.tops();
    let paths: Vec<&String> = tops.iter().collect();
    // Scopes whose rows (or, by region, whose children's rows) have no totals are summed
    // from their requests.
    let (tallied, counted): (Vec<&String>, Vec<&String>) = paths
        .iter()
        .partition(|p| depth(p) + i32::from(by == Dimension::Region) <= TALLIED_DEPTH);
    let ph = placeholders(conn.engine());
    let mut n = 0;
    let mut next = || {
        n += 1;
        ph(n)
    };
    let (p_dim, p_from, p_to) = (next(), next(), next());
    // Which rows: the scope's own regions' (the whole tree: the top regions'), and for the
    // breakdown by region, the rows one level down too.
    let mut binds: Vec<String> = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    for p in &tallied {
        if p.as_str() == "/" {
            conds.push("depth = 1".into());
            continue;
        }
        conds.push(format!("region_path = {}", next()));
        binds.push((*p).clone());
        if by == Dimension::Region {
            conds.push(format!(
                "(depth = {} AND region_path >= {} AND region_path < {})",
                depth(p) + 1,
                next(),
                next()
            ));
            binds.push((*p).clone());
            binds.push(path_upper(p));
        }
    }
    if conds.is_empty() {
        // Matches no row, so the query's shape stays the same.
        conds.push("1 = 0".into());
    }
    // Only the rows of these keys of the dimension and these statuses.
    let mut only = |column: &str, values: Option<Vec<String>>| match values {
        None => String::new(),
        Some(v) if v.is_empty() => " AND 1 = 0".into(),
        Some(v) => {
            let list: Vec<String> = v
                .into_iter()
                .map(|x| {
                    binds.push(x);
                    next()
                })
                .collect();
            format!(" AND {column} IN ({})", list.join(", "))
        }
    };
    let key_cond = only("key", keys.map(<[String]>::to_vec));
    let status_cond = only(
        "status",
        statuses.map(|w| w.iter().map(ToString::to_string).collect()),
    );
    let key = match by {
        Dimension::Category | Dimension::Channel | Dimension::Site => "key",
        Dimension::Month | Dimension::ResolvedMonth => "month",
        Dimension::Region => "region_path",
    };
    let sums = COUNTERS
        .split(", ")
        .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (month, by_month) = if monthly {
        ("month", ", month")
    } else {
        ("''", "")
    };
    let sql = format!(
        "SELECT {month} AS month, {key} AS key, {sums} FROM request_tallies \
         WHERE dim = {p_dim} AND month >= {p_from} AND month <= {p_to} AND ({}){key_cond}{status_cond} \
         GROUP BY {key}{by_month}",
        conds.join(" OR ")
    );
    let mut q = diesel::sql_query(sql)
        .into_boxed::<crate::MultiBackend>()
        .bind::<Text, _>(by.rows())
        .bind::<Text, _>(from.to_string())
        .bind::<Text, _>(to.to_string());
    for b in binds {
        q = q.bind::<Text, _>(b);
    }
    let counted_paths: Vec<String> = counted.iter().map(|p| (*p).clone()).collect();
    let (totals, pending, requests) = snapshot(conn, |c| {
        let totals: Vec<Group> = if tallied.is_empty() {
            Vec::new()
        } else {
            q.load(c)?
        };
        let mut pending = request_tally_journal::table
            .filter(scope.path_filter(request_tally_journal::region_path))
            .select(Entry::as_select())
            .into_boxed();
        pending = if by == Dimension::ResolvedMonth {
            pending
                .filter(request_tally_journal::resolved_month.ge(from))
                .filter(request_tally_journal::resolved_month.le(to))
        } else {
            pending
                .filter(request_tally_journal::month.ge(from))
                .filter(request_tally_journal::month.le(to))
        };
        if let Some(wanted) = statuses {
            pending = pending.filter(request_tally_journal::status.eq_any(wanted.to_vec()));
        }
        let mut pending: Vec<Entry> = pending.load(c)?;
        let mut requests = facts_of(c, &counted_paths, from, to, by.rows())?;
        // Rows of other keys than those asked for count for nothing here.
        let keep = |e: &Entry| {
            statuses.is_none_or(|w| w.contains(&e.status.as_str()))
                && keys.is_none_or(|k| k.contains(&e.key(by.rows())))
        };
        pending.retain(keep);
        requests.retain(keep);
        Ok((totals, pending, requests))
    })?;
    // The journal's rows counted as the totals' rows they will be folded into, and the
    // requests of the scopes without totals as the rows they would have.
    let mut groups: BTreeMap<(String, String), Figures> = totals
        .into_iter()
        .map(|g| ((g.month, g.figures.key.clone()), g.figures))
        .collect();
    let entries = pending
        .iter()
        .map(|e| (e, &tallied))
        .chain(requests.iter().map(|e| (e, &counted)));
    for (e, paths) in entries {
        for (level, depth) in levels(&e.region_path) {
            if !selected(paths, by, &level, depth) {
                continue;
            }
            let key = match by {
                Dimension::Month => e.month.clone(),
                Dimension::ResolvedMonth => e.resolved_month.clone(),
                Dimension::Region => level,
                _ => e.key(by.rows()),
            };
            let month = if monthly {
                e.month(by.rows()).unwrap_or_default().to_string()
            } else {
                String::new()
            };
            let g = groups
                .entry((month, key.clone()))
                .or_insert_with(|| Figures {
                    key,
                    ..Figures::default()
                });
            g.add(&Figures::with_counts(String::new(), e.counts()));
        }
    }
    let mut months: BTreeMap<String, Vec<Figures>> = BTreeMap::new();
    for ((month, _), f) in groups {
        if f.received > 0 {
            months.entry(month).or_default().push(f);
        }
    }
    if by == Dimension::Region {
        for rows in months.values_mut() {
            *rows = by_region(&paths, std::mem::take(rows));
        }
    }
    Ok(months)
}

/// A group's figures in one month (empty: the months together).
#[derive(QueryableByName)]
struct Group {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(embed)]
    figures: Figures,
}

/// The requests under `paths` that count in the months `from` to `to` in `dim`'s rows
/// (received in them; for the resolution's rows, resolved in them), as the entries a journal
/// would hold for them.
fn facts_of(
    conn: &mut DbConnection,
    paths: &[String],
    from: &str,
    to: &str,
    dim: &str,
) -> Result<Vec<Entry>, DbError> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let month_start = |m: &str| {
        chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(shiliu_domain::calendar::utc)
    };
    let mut q = requests::table
        .filter(crate::scope::subtree_filter(requests::region_path, paths))
        .select(Facts::as_select())
        .into_boxed();
    // Months are China's: a day either side covers the offset; the month test below decides.
    let start = month_start(from).map(|s| s - chrono::Duration::days(1));
    // No bound for "every month to come" (`9999-12`): a year past 9999 is written with five
    // digits, which SQLite, comparing text, puts before every date.
    let end = month_start(to)
        .filter(|_| to < "9999-01")
        .map(|e| e + chrono::Duration::days(32));
    if dim == RESOLVED {
        if let Some(start) = start {
            q = q.filter(requests::resolved_at.ge(start));
        }
        if let Some(end) = end {
            q = q.filter(requests::resolved_at.lt(end));
        }
    } else {
        if let Some(start) = start {
            q = q.filter(requests::received_at.ge(start));
        }
        if let Some(end) = end {
            q = q.filter(requests::received_at.lt(end));
        }
    }
    Ok(q.load::<Facts>(conn)?
        .iter()
        .map(|f| Entry::new(f, 1))
        .filter(|e| e.month(dim).is_some_and(|m| m >= from && m <= to))
        .collect())
}

/// Whether the totals' row of the region at `level` (`depth` deep) is one `figures` reads:
/// the same choice as its SQL.
fn selected(paths: &[&String], by: Dimension, level: &str, depth: i32) -> bool {
    paths.iter().any(|p| {
        if p.as_str() == "/" {
            depth == 1
        } else {
            level == p.as_str()
                || (by == Dimension::Region
                    && depth == self::depth(p) + 1
                    && level.starts_with(p.as_str()))
        }
    })
}

/// Run reads that must see one moment of the database (the totals and the journal a fold
/// moves between them). `SQLite`'s transactions are snapshots; `PostgreSQL` needs
/// REPEATABLE READ for one (set only when this is the outermost transaction).
pub(crate) fn snapshot<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, DbError>,
) -> Result<T, DbError> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    conn.transaction(|c| {
        if let DbConnection::Postgres(pg) = c {
            let depth = AnsiTransactionManager::transaction_manager_status_mut(pg)
                .transaction_depth()?
                .map_or(0, std::num::NonZeroU32::get);
            if depth == 1 {
                // engine-specific: only PostgreSQL has isolation levels to choose.
                diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(pg)?;
            }
        }
        f(c)
    })
}

/// The breakdown by region from the scope's own rows and the rows one level down: a scope
/// region's own row is replaced by what its children do not account for (requests that arose
/// in the region itself), kept only if there are any.
fn by_region(paths: &[&String], rows: Vec<Figures>) -> Vec<Figures> {
    let (own, mut children): (Vec<Figures>, Vec<Figures>) = rows
        .into_iter()
        .partition(|f| paths.iter().any(|p| **p == f.key));
    for o in own {
        let mut rest = o.counts();
        for c in children
            .iter()
            .filter(|c| c.key.starts_with(o.key.as_str()))
        {
            for (r, x) in rest.iter_mut().zip(c.counts()) {
                *r -= x;
            }
        }
        if rest[0] > 0 {
            children.push(Figures::with_counts(o.key, rest));
        }
    }
    children.sort_by(|a, b| a.key.cmp(&b.key));
    children
}

/// One request as the figures see it: category, channel, site, received, due, resolved, rating.
pub type RawRow = (
    i64,
    String,
    Option<i64>,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
);

/// Rows as they are, with their region's path, for tests that recompute the figures by hand.
pub fn raw(conn: &mut DbConnection, scope: &Scope) -> Result<Vec<(String, RawRow)>, DbError> {
    use crate::schema::requests as r;
    let rows: Vec<(String, RawRow)> = r::table
        .filter(scope.path_filter(r::region_path))
        .select((
            r::region_path,
            (
                r::category_id,
                r::channel,
                r::site_id,
                r::received_at,
                r::due_at,
                r::resolved_at,
                r::rating,
            ),
        ))
        .order(r::id)
        .load(conn)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> chrono::NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_change_is_journalled_at_the_deepest_region_with_totals() {
        assert_eq!(tallied_path("/1/2/3/4/5/6/"), "/1/2/3/4/");
        assert_eq!(tallied_path("/1/2/"), "/1/2/");
        assert_eq!(tallied_path("/1/2/3/4/"), "/1/2/3/4/");
    }

    #[test]
    fn a_span_reads_whole_months_from_the_totals_and_the_rest_from_the_records() {
        let s = Span::of(Some(d("2026-01-01")), Some(d("2026-12-31")));
        assert_eq!(
            s.months,
            Some((Some("2026-01".into()), Some("2026-12".into())))
        );
        assert!(s.edges.is_empty());
        let s = Span::of(Some(d("2026-01-15")), Some(d("2026-03-10")));
        assert_eq!(
            s.months,
            Some((Some("2026-02".into()), Some("2026-02".into())))
        );
        assert_eq!(
            s.edges,
            [
                (d("2026-01-15"), d("2026-01-31")),
                (d("2026-03-01"), d("2026-03-10"))
            ]
        );
        let s = Span::of(Some(d("2026-01-15")), Some(d("2026-02-10")));
        assert_eq!(s.months, None);
        assert_eq!(s.edges.len(), 2);
        let s = Span::of(Some(d("2026-02-03")), Some(d("2026-02-10")));
        assert_eq!(
            (s.months, s.edges),
            (None, vec![(d("2026-02-03"), d("2026-02-10"))])
        );
        let s = Span::of(None, Some(d("2026-02-10")));
        assert_eq!(s.months, Some((None, Some("2026-01".into()))));
        let s = Span::of(Some(d("2026-02-28")), None);
        assert_eq!(s.months, Some((Some("2026-03".into()), None)));
        let s = Span::of(Some(d("2026-03-01")), Some(d("2026-02-01")));
        assert_eq!((s.months, s.edges.len()), (None, 0));
    }

    #[test]
    fn average_hours_are_rounded_not_cut() {
        let f = |resolved: i64, handling_seconds: i64| Figures {
            resolved,
            handling_seconds,
            ..Figures::default()
        };
        // 32.48 h, then 32.44 h and 32.45 h each over two requests.
        assert_eq!(f(1, 116_928).avg_handling_tenths_of_hours(), Some(325));
        assert_eq!(f(2, 2 * 116_784).avg_handling_tenths_of_hours(), Some(324));
        assert_eq!(f(2, 2 * 116_820).avg_handling_tenths_of_hours(), Some(325));
        assert_eq!(f(0, 0).avg_handling_tenths_of_hours(), None);
    }

    #[test]
    fn a_path_counts_at_every_level() {
        let l: Vec<_> = levels("/1/22/333/").collect();
        assert_eq!(
            l,
            vec![
                ("/1/".to_string(), 1),
                ("/1/22/".to_string(), 2),
                ("/1/22/333/".to_string(), 3)
            ]
        );
        assert_eq!(depth("/"), 0);
        assert_eq!(depth("/1/22/"), 2);
    }

    #[test]
    fn a_region_keeps_what_its_children_do_not_account_for() {
        let f = |key: &str, received| Figures {
            key: key.into(),
            received,
            ..Figures::default()
        };
        let scope = "/1/".to_string();
        let out = by_region(&[&scope], vec![f("/1/", 10), f("/1/2/", 6), f("/1/3/", 4)]);
        assert_eq!(out, vec![f("/1/2/", 6), f("/1/3/", 4)]);
        let out = by_region(&[&scope], vec![f("/1/", 10), f("/1/2/", 7)]);
        assert_eq!(out, vec![f("/1/", 3), f("/1/2/", 7)]);
    }
}
