//! Running totals behind the activities' statistics and the units' progress board, kept as the
//! requests' are (`crate::requests::stats`). A record counts in the `activity_tallies` row of
//! each region on its path down to the township ([`TALLIED_DEPTH`]), by month, form, kind,
//! "十进" venue and each material handed out; and in the `activity_unit_tallies` row of its
//! organiser, year, form and venue. A city's year is a few thousand rows however many records
//! it holds.
//!
//! Every write that changes what a record counts as (recording, correcting, removing it, its
//! trainee list) adds the difference to a [`Tally`] and appends it to `activity_tally_journal`
//! in its transaction; [`fold`] moves the journal into the totals every few seconds, exactly
//! once even with several servers folding; the figures read both in one snapshot, so they are
//! the records' own whether or not the latest change has been folded. A bulk load counts its
//! records straight into the totals.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use super::Activity;
use crate::requests::stats::{
    FOLD_BATCH, TALLIED_DEPTH, levels, month_of_day as month, tallied_path, values,
};
use crate::schema::{activities, activity_materials, activity_tally_journal};
use crate::{DbConnection, DbError};

/// What a record counts under in a region's totals: (month, form, kind id or 0, venue or "",
/// material id or 0 for the record itself).
pub(crate) type Key = (String, String, i64, String, i64);

/// What is counted under a key: records (or a material's quantity) and people.
pub(crate) type Sums = (i64, i64);

/// Counts to add: (tallied region path, organiser unit, key) → sums.
#[derive(Debug, Default)]
pub(crate) struct Tally(BTreeMap<(String, i64, Key), Sums>);

impl Tally {
    /// A record as it was (`before`, None: new) and is (`after`, None: removed), each with
    /// the materials handed out as (material id, quantity).
    pub(crate) fn record(
        &mut self,
        before: Option<(&Activity, &[(i64, i32)])>,
        after: Option<(&Activity, &[(i64, i32)])>,
    ) {
        for (side, sign) in [(before, -1), (after, 1)] {
            if let Some((a, materials)) = side {
                self.add(a, materials, sign);
            }
        }
    }

    fn add(&mut self, a: &Activity, materials: &[(i64, i32)], sign: i64) {
        let place = tallied_path(&a.region_path).to_string();
        let key = |material: i64| -> Key {
            (
                month(a.held_on),
                a.form.clone(),
                a.kind_id.unwrap_or(0),
                a.venue.clone().unwrap_or_default(),
                material,
            )
        };
        let mut put = |material: i64, n: i64, people: i64| {
            let s = self
                .0
                .entry((place.clone(), a.organiser_unit_id, key(material)))
                .or_insert((0, 0));
            s.0 += sign * n;
            s.1 += sign * people;
        };
        put(0, 1, i64::from(a.participants));
        for (m, q) in materials {
            put(*m, i64::from(*q), 0);
        }
    }

    /// Append the counts to the journal, in the caller's transaction.
    pub(crate) fn journal(self, conn: &mut DbConnection) -> Result<(), DbError> {
        let rows: Vec<_> = self
            .0
            .into_iter()
            .filter(|(_, (n, people))| *n != 0 || *people != 0)
            .map(
                |((path, unit, (month, form, kind, venue, material)), (n, people))| {
                    (
                        activity_tally_journal::id.eq(crate::ids::new_id()),
                        activity_tally_journal::region_path.eq(path),
                        activity_tally_journal::unit_id.eq(unit),
                        activity_tally_journal::month.eq(month),
                        activity_tally_journal::form.eq(form),
                        activity_tally_journal::kind_id.eq(kind),
                        activity_tally_journal::venue.eq(venue),
                        activity_tally_journal::material_id.eq(material),
                        activity_tally_journal::n.eq(n),
                        activity_tally_journal::people.eq(people),
                    )
                },
            )
            .collect();
        crate::insert_many!(conn, activity_tally_journal::table, &rows)
    }

    /// The counts added to the rows of every region with totals on their paths, and of their
    /// units' years.
    fn expanded(self) -> Changes {
        let mut out = Changes::default();
        for ((path, unit, key), sums) in self.0 {
            out.add(&path, unit, key, sums);
        }
        out
    }
}

/// Changes to the totals' rows, in key order (two folds at once wait on each other, never
/// deadlock).
#[derive(Debug, Default)]
struct Changes {
    places: BTreeMap<(String, Key), Sums>,
    /// (unit, year, form, venue) → sums of the records themselves.
    units: BTreeMap<(i64, i32, String, String), Sums>,
}

impl Changes {
    fn add(&mut self, path: &str, unit: i64, key: Key, (n, people): Sums) {
        for (level, _) in levels(path).take_while(|(_, d)| *d <= TALLIED_DEPTH) {
            let s = self.places.entry((level, key.clone())).or_insert((0, 0));
            s.0 += n;
            s.1 += people;
        }
        let (month, form, _, venue, material) = key;
        if material == 0 {
            let year = year_of(&month);
            let s = self
                .units
                .entry((unit, year, form, venue))
                .or_insert((0, 0));
            s.0 += n;
            s.1 += people;
        }
    }

    fn apply(mut self, conn: &mut DbConnection) -> Result<(), DbError> {
        // Eight values a row: SQLite takes at most 32,766 in one statement.
        const ROWS_PER_STATEMENT: usize = 4_000;
        self.places.retain(|_, s| *s != (0, 0));
        self.units.retain(|_, s| *s != (0, 0));
        let engine = conn.engine();
        let places: Vec<_> = self.places.into_iter().collect();
        for chunk in places.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO activity_tallies (region_path, month, form, kind_id, venue, \
                 material_id, n, people) VALUES {} ON CONFLICT (region_path, month, form, \
                 kind_id, venue, material_id) DO UPDATE SET n = activity_tallies.n + excluded.n, \
                 people = activity_tallies.people + excluded.people",
                values(engine, chunk.len(), 8)
            );
            let mut q = diesel::sql_query(sql).into_boxed::<crate::MultiBackend>();
            for ((path, (month, form, kind, venue, material)), (n, people)) in chunk {
                q = q
                    .bind::<Text, _>(path.clone())
                    .bind::<Text, _>(month.clone())
                    .bind::<Text, _>(form.clone())
                    .bind::<BigInt, _>(*kind)
                    .bind::<Text, _>(venue.clone())
                    .bind::<BigInt, _>(*material)
                    .bind::<BigInt, _>(*n)
                    .bind::<BigInt, _>(*people);
            }
            q.execute(conn)?;
        }
        let units: Vec<_> = self.units.into_iter().collect();
        for chunk in units.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO activity_unit_tallies (unit_id, year, form, venue, n, people) \
                 VALUES {} ON CONFLICT (unit_id, year, form, venue) DO UPDATE SET \
                 n = activity_unit_tallies.n + excluded.n, \
                 people = activity_unit_tallies.people + excluded.people",
                values(engine, chunk.len(), 6)
            );
            let mut q = diesel::sql_query(sql).into_boxed::<crate::MultiBackend>();
            for ((unit, year, form, venue), (n, people)) in chunk {
                q = q
                    .bind::<BigInt, _>(*unit)
                    .bind::<Integer, _>(*year)
                    .bind::<Text, _>(form.clone())
                    .bind::<Text, _>(venue.clone())
                    .bind::<BigInt, _>(*n)
                    .bind::<BigInt, _>(*people);
            }
            q.execute(conn)?;
        }
        Ok(())
    }
}

/// A journal row as read.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = activity_tally_journal)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct Entry {
    pub id: i64,
    pub region_path: String,
    pub unit_id: i64,
    pub month: String,
    pub form: String,
    pub kind_id: i64,
    pub venue: String,
    pub material_id: i64,
    pub n: i64,
    pub people: i64,
}

impl Entry {
    pub(crate) fn key(&self) -> Key {
        (
            self.month.clone(),
            self.form.clone(),
            self.kind_id,
            self.venue.clone(),
            self.material_id,
        )
    }
}

/// Move up to [`FOLD_BATCH`] journal rows into the totals; returns how many it folded. Each
/// is folded once: the batch is deleted by id, and if another server deleted any of them first
/// the transaction is refused (`Stale`) and nothing of it is kept.
pub fn fold(conn: &mut DbConnection) -> Result<usize, DbError> {
    let rows: Vec<Entry> = activity_tally_journal::table
        .order(activity_tally_journal::id.asc())
        .limit(FOLD_BATCH as i64)
        .select(Entry::as_select())
        .load(conn)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = rows.iter().map(|e| e.id).collect();
    let deleted = diesel::delete(
        activity_tally_journal::table.filter(activity_tally_journal::id.eq_any(&ids)),
    )
    .execute(conn)?;
    if deleted != rows.len() {
        return Err(DbError::Stale);
    }
    let mut changes = Changes::default();
    for e in &rows {
        changes.add(&e.region_path, e.unit_id, e.key(), (e.n, e.people));
    }
    changes.apply(conn)?;
    Ok(rows.len())
}

/// The materials handed out at records, by record: (material id, quantity).
pub(crate) fn handed(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<BTreeMap<i64, Vec<(i64, i32)>>, DbError> {
    let mut out: BTreeMap<i64, Vec<(i64, i32)>> = BTreeMap::new();
    for chunk in ids.chunks(5_000) {
        let rows: Vec<(i64, i64, i32)> = activity_materials::table
            .filter(activity_materials::activity_id.eq_any(chunk))
            .select((
                activity_materials::activity_id,
                activity_materials::term_id,
                activity_materials::quantity,
            ))
            .load(conn)?;
        for (a, m, q) in rows {
            out.entry(a).or_default().push((m, q));
        }
    }
    Ok(out)
}

/// Count records loaded in bulk (with their materials), straight into the totals.
pub(crate) fn count_many(
    conn: &mut DbConnection,
    rows: &[(&Activity, &[(i64, i32)])],
) -> Result<(), DbError> {
    let mut tally = Tally::default();
    for (a, m) in rows {
        tally.add(a, m, 1);
    }
    tally.expanded().apply(conn)
}

/// Count every record again from nothing (when the totals first arrive).
pub fn rebuild(conn: &mut DbConnection) -> Result<(), DbError> {
    const CHUNK: i64 = 20_000;
    diesel::delete(activity_tally_journal::table).execute(conn)?;
    diesel::delete(crate::schema::activity_tallies::table).execute(conn)?;
    diesel::delete(crate::schema::activity_unit_tallies::table).execute(conn)?;
    let mut after = i64::MIN;
    loop {
        let rows: Vec<Activity> = activities::table
            .filter(activities::id.gt(after))
            .order(activities::id.asc())
            .limit(CHUNK)
            .select(Activity::as_select())
            .load(conn)?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.id;
        let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
        let handed = handed(conn, &ids)?;
        let counted: Vec<(&Activity, &[(i64, i32)])> = rows
            .iter()
            .map(|a| (a, handed.get(&a.id).map_or(&[][..], Vec::as_slice)))
            .collect();
        count_many(conn, &counted)?;
    }
}

/// The year of a totals' month.
pub(crate) fn year_of(month: &str) -> i32 {
    month
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or_default()
}
