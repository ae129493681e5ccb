//! Running totals behind the register's statistics, kept as the requests' are
//! (`crate::requests::stats`): a person counts in the `registry_tallies` row of each region on their
//! path down to the township ([`TALLIED_DEPTH`]), one row per dimension and key — by status
//! (down to the community, [`REGION_DEPTH`]); if resident, by 民族, 户籍地, employment status
//! and each tag; by month of arrival and of moving out — and a household by where it lives. A
//! township's, a county's or a city's figures are a few hundred rows however many people it
//! registers.
//!
//! Every write that changes what a person counts as adds the difference to a [`Tally`] and
//! appends it to `registry_tally_journal` in its own transaction (an append: no row that
//! another writer waits on); [`fold`] moves the journal into the totals every few seconds,
//! exactly once even with several servers folding; the figures read both in one snapshot
//! (`super::stats`). A bulk load gathers a whole import in one tally and appends it once, at
//! the township level: a few thousand journal rows for a million people.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use shiliu_domain::registry::PersonStatus;

use super::Person;
use crate::requests::stats::{FOLD_BATCH, TALLIED_DEPTH, levels, placeholders, values};
use crate::schema::{households, person_tags, persons, registry_tallies, registry_tally_journal};
use crate::{DbConnection, DbError};

/// What the figures count of a person.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = persons)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct Facts {
    pub id: i64,
    pub region_path: String,
    pub status: String,
    pub people: String,
    pub hukou: String,
    pub employment: Option<String>,
    pub arrived_on: Option<NaiveDate>,
    pub moved_out_on: Option<NaiveDate>,
}

/// A person's facts with their tags.
pub(crate) type Counted = (Facts, Vec<String>);

/// The facts of a person as read, with their tags.
pub(crate) fn facts(p: &Person, tags: Vec<String>) -> Counted {
    (
        Facts {
            id: p.id,
            region_path: p.region_path.clone(),
            status: p.status.clone(),
            people: p.people.clone(),
            hukou: p.hukou.clone(),
            employment: p.employment.clone(),
            arrived_on: p.arrived_on,
            moved_out_on: p.moved_out_on,
        },
        tags,
    )
}

pub(crate) use crate::requests::stats::month_of_day as month;

/// The (dimension, key) pairs a person counts in.
fn keys((f, tags): &Counted) -> Vec<(&'static str, String)> {
    let mut k = vec![("status", f.status.clone())];
    if f.status == PersonStatus::Resident.as_str() {
        k.push(("people", f.people.clone()));
        k.push(("hukou", f.hukou.clone()));
        k.push(("employment", f.employment.clone().unwrap_or_default()));
        k.extend(tags.iter().map(|t| ("tag", t.clone())));
    }
    k.extend(f.arrived_on.map(|d| ("arrived", month(d))));
    k.extend(f.moved_out_on.map(|d| ("departed", month(d))));
    k
}

/// People by status — what the breakdown by region reads — are kept one level deeper than
/// the rest, down to the community, so a township's page reads totals too.
pub(crate) const REGION_DEPTH: i32 = TALLIED_DEPTH + 1;

/// How deep a dimension's totals go.
fn deepest(dim: &str) -> i32 {
    if dim == "status" {
        REGION_DEPTH
    } else {
        TALLIED_DEPTH
    }
}

/// The regions on a path that have totals of a dimension, with their depth.
fn tallied_levels<'a>(path: &'a str, dim: &str) -> impl Iterator<Item = (String, i32)> + 'a {
    let deepest = deepest(dim);
    levels(path).take_while(move |(_, d)| *d <= deepest)
}

/// The deepest region on a path that has totals of a dimension, or the region itself when it
/// lies higher: `/1/2/3/4/5/6/` → `/1/2/3/4/` (no allocation: a bulk load asks this for every
/// key of every person).
fn tallied_path<'a>(path: &'a str, dim: &str) -> &'a str {
    let keep = usize::try_from(deepest(dim)).unwrap_or(0);
    // The '/' that closes the region at depth `keep` is the (keep + 1)-th.
    match path.match_indices('/').nth(keep) {
        Some((end, _)) => &path[..=end],
        None => path,
    }
}

/// Counts to add: (region path, dimension, key) → how many.
#[derive(Debug, Default)]
pub struct Tally(BTreeMap<(String, String, String), i64>);

impl Tally {
    fn add(&mut self, path: &str, dim: &str, key: String, n: i64) {
        *self
            .0
            .entry((tallied_path(path, dim).to_string(), dim.to_string(), key))
            .or_insert(0) += n;
    }

    /// A person as they were (`before`, None: new) and are (`after`).
    pub(crate) fn person(&mut self, before: Option<&Counted>, after: Option<&Counted>) {
        for (c, sign) in [(before, -1), (after, 1)] {
            if let Some(c) = c {
                for (dim, key) in keys(c) {
                    self.add(&c.0.region_path, dim, key, sign);
                }
            }
        }
    }

    /// A household that came (`1`) to or left (`-1`) the region at `path`.
    pub(crate) fn household(&mut self, path: &str, sign: i64) {
        self.add(path, "households", String::new(), sign);
    }

    /// Append the counts to the journal, in the caller's transaction.
    pub fn journal(mut self, conn: &mut DbConnection) -> Result<(), DbError> {
        self.0.retain(|_, n| *n != 0);
        let rows: Vec<_> = self
            .0
            .into_iter()
            .map(|((path, dim, key), n)| {
                (
                    registry_tally_journal::id.eq(crate::ids::new_id()),
                    registry_tally_journal::region_path.eq(path),
                    registry_tally_journal::dim.eq(dim),
                    registry_tally_journal::key.eq(key),
                    registry_tally_journal::n.eq(n),
                )
            })
            .collect();
        crate::insert_many!(conn, registry_tally_journal::table, &rows)
    }

    /// The counts added to the rows of every region on their paths that has totals:
    /// (region path, dimension, key) → (depth, count).
    fn expanded(self) -> Changes {
        let mut out = Changes::new();
        for ((path, dim, key), n) in self.0 {
            for (level, depth) in tallied_levels(&path, &dim) {
                out.entry((level, dim.clone(), key.clone()))
                    .or_insert((depth, 0))
                    .1 += n;
            }
        }
        out.retain(|_, (_, n)| *n != 0);
        out
    }
}

type Changes = BTreeMap<(String, String, String), (i32, i64)>;

/// A journal row as read.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = registry_tally_journal)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct Entry {
    pub id: i64,
    pub region_path: String,
    pub dim: String,
    pub key: String,
    pub n: i64,
}

/// Move up to [`FOLD_BATCH`] journal rows into the totals; returns how many it folded. Each
/// is folded once: the batch is deleted by id, and if another server deleted any of them first
/// the transaction is refused (`Stale`) and nothing of it is kept.
pub fn fold(conn: &mut DbConnection) -> Result<usize, DbError> {
    let rows: Vec<Entry> = registry_tally_journal::table
        .order(registry_tally_journal::id.asc())
        .limit(FOLD_BATCH as i64)
        .select(Entry::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|e| e.id).collect();
    let deleted = diesel::delete(
        registry_tally_journal::table.filter(registry_tally_journal::id.eq_any(&ids)),
    )
    .execute(conn)?;
    if deleted != rows.len() {
        return Err(DbError::Stale);
    }
    let mut tally = Tally::default();
    for e in &rows {
        *tally
            .0
            .entry((e.region_path.clone(), e.dim.clone(), e.key.clone()))
            .or_insert(0) += e.n;
    }
    apply(conn, &tally.expanded())?;
    Ok(rows.len())
}

/// Count every person and household again from nothing (when the totals first arrive).
pub fn rebuild(conn: &mut DbConnection) -> Result<(), DbError> {
    const CHUNK: i64 = 20_000;
    diesel::delete(registry_tally_journal::table).execute(conn)?;
    diesel::delete(registry_tallies::table).execute(conn)?;
    let mut after = i64::MIN;
    loop {
        let people: Vec<Facts> = persons::table
            .filter(persons::id.gt(after))
            .order(persons::id.asc())
            .limit(CHUNK)
            .select(Facts::as_select())
            .load(conn)?;
        let (Some(first), Some(last)) = (people.first(), people.last()) else {
            break;
        };
        after = last.id;
        let mut tags: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        let rows: Vec<(i64, String)> = person_tags::table
            .filter(person_tags::person_id.between(first.id, last.id))
            .select((person_tags::person_id, person_tags::tag))
            .load(conn)?;
        for (id, tag) in rows {
            tags.entry(id).or_default().push(tag);
        }
        let mut tally = Tally::default();
        for f in people {
            let t = tags.remove(&f.id).unwrap_or_default();
            tally.person(None, Some(&(f, t)));
        }
        apply(conn, &tally.expanded())?;
    }
    let homes: Vec<(String, i64)> = households::table
        .group_by(households::region_path)
        .select((households::region_path, diesel::dsl::count_star()))
        .load(conn)?;
    let mut tally = Tally::default();
    for (path, n) in homes {
        tally.household(&path, n);
    }
    apply(conn, &tally.expanded())
}

/// Add the changes to their rows, creating the rows that are new. The rows are taken in key
/// order, so two folds at once (two servers) wait on each other and never deadlock.
fn apply(conn: &mut DbConnection, changes: &Changes) -> Result<(), DbError> {
    // Five values a row: SQLite takes at most 32,766 in one statement.
    const ROWS_PER_STATEMENT: usize = 5_000;
    let engine = conn.engine();
    let entries: Vec<_> = changes.iter().collect();
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO registry_tallies (region_path, depth, dim, key, n) VALUES {} \
             ON CONFLICT (region_path, dim, key) DO UPDATE SET n = registry_tallies.n + excluded.n",
            values(engine, chunk.len(), 5)
        );
        let mut q = diesel::sql_query(sql).into_boxed::<crate::MultiBackend>();
        for ((path, dim, key), (depth, count)) in chunk {
            q = q
                .bind::<Text, _>(path.clone())
                .bind::<Integer, _>(*depth)
                .bind::<Text, _>(dim.clone())
                .bind::<Text, _>(key.clone())
                .bind::<BigInt, _>(*count);
        }
        q.execute(conn)?;
    }
    Ok(())
}

/// A total as read.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct Total {
    #[diesel(sql_type = Text)]
    pub region_path: String,
    #[diesel(sql_type = Integer)]
    pub depth: i32,
    #[diesel(sql_type = Text)]
    pub dim: String,
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// The totals of the regions at `tops` (subtree roots, none inside another; `/`: the whole
/// tree) and the residents of the regions one level below them, with the journal's rows
/// under them counted as the totals they will be folded into. Read in the caller's snapshot.
pub(crate) fn totals(conn: &mut DbConnection, tops: &[String]) -> Result<Vec<Total>, DbError> {
    if tops.is_empty() {
        return Ok(Vec::new());
    }
    let ph = placeholders(conn.engine());
    let mut n = 0;
    let mut next = || {
        n += 1;
        ph(n)
    };
    let mut conds: Vec<String> = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    for p in tops {
        if p == "/" {
            conds.push("depth = 1".into());
            continue;
        }
        conds.push(format!("region_path = {}", next()));
        conds.push(format!(
            "(depth = {} AND dim = 'status' AND region_path >= {} AND region_path < {})",
            crate::requests::stats::depth(p) + 1,
            next(),
            next()
        ));
        binds.extend([p.clone(), p.clone(), crate::scope::path_upper(p)]);
    }
    let sql = format!(
        "SELECT region_path, depth, dim, key, n FROM registry_tallies WHERE {}",
        conds.join(" OR ")
    );
    let mut q = diesel::sql_query(sql).into_boxed::<crate::MultiBackend>();
    for b in binds {
        q = q.bind::<Text, _>(b);
    }
    let mut rows: Vec<Total> = q.load(conn)?;
    let pending: Vec<Entry> = registry_tally_journal::table
        .filter(crate::scope::subtree_filter(
            registry_tally_journal::region_path,
            tops,
        ))
        .select(Entry::as_select())
        .load(conn)?;
    for e in pending {
        for (level, depth) in tallied_levels(&e.region_path, &e.dim) {
            rows.push(Total {
                region_path: level,
                depth,
                dim: e.dim.clone(),
                key: e.key.clone(),
                n: e.n,
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_kept_at_the_deepest_region_with_totals() {
        let grid = "/1/2/3/4/5/6/";
        assert_eq!(tallied_path(grid, "people"), "/1/2/3/4/");
        assert_eq!(tallied_path(grid, "status"), "/1/2/3/4/5/");
        assert_eq!(tallied_path("/1/2/", "people"), "/1/2/");
        assert_eq!(tallied_path("/1/2/3/4/", "people"), "/1/2/3/4/");
        // The same as the levels the fold expands it to.
        let deepest = tallied_levels(grid, "hukou").last().unwrap();
        assert_eq!(
            (deepest.0.as_str(), deepest.1),
            ("/1/2/3/4/", TALLIED_DEPTH)
        );
    }
}
