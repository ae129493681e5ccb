//! Running totals behind the councils' statistics, kept as the requests' are
//! (`crate::requests::stats`): what a council's meetings and items count (`super::stats`'s
//! [`Figures`]) is added to the `council_tallies` row of each region on the council's path down
//! to the township, and of the month of the day it counts on — a meeting's day, an item's day
//! of raising, the day of the meeting that settled it. A province's year is a few thousand rows.
//!
//! Every write that changes what a meeting or an item counts (minutes recorded or corrected,
//! an item raised, settled or done, a request closed that a council handed on, a council moved)
//! adds the difference to a [`Tally`] and appends it to `council_tally_journal` in its
//! transaction; [`fold`] moves the journal into the totals every few seconds; the figures read
//! both, so they are the rows' own whether or not the latest change has been folded.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use shiliu_domain::councils::ItemStatus;

use super::items::Item;
use super::meetings::Meeting;
use super::stats::Figures;
use crate::requests::stats::{
    FOLD_BATCH, TALLIED_DEPTH, levels, month_of_day, tallied_path, values,
};
use crate::schema::{council_attendance, council_items, council_meetings, council_tally_journal};
use crate::{DbConnection, DbError};

/// What an item counts on the day of the meeting that settled it (none if not settled).
pub(crate) fn settled(i: &Item) -> Option<(NaiveDate, Figures)> {
    let day = i.decided_on?;
    let mut f = Figures::default();
    match ItemStatus::parse(&i.status)? {
        ItemStatus::Declined => f.items_declined = 1,
        ItemStatus::Decided | ItemStatus::Referred => f.items_decided = 1,
        ItemStatus::Done => {
            f.items_decided = 1;
            f.items_done = 1;
            f.items_on_time = i64::from(i.done_on.zip(i.due_on).is_some_and(|(d, u)| d <= u));
        }
        ItemStatus::Raised => return None,
    }
    Some((day, f))
}

/// Counts to add: (tallied region path, month) → figures.
#[derive(Debug, Default)]
pub(crate) struct Tally(BTreeMap<(String, String), Figures>);

impl Tally {
    fn put(&mut self, path: &str, day: NaiveDate, f: &Figures, sign: i64) {
        self.0
            .entry((tallied_path(path).to_string(), month_of_day(day)))
            .or_default()
            .add(&f.times(sign));
    }

    /// A meeting as it is (`sign` 1) or was (-1), with the members present at it.
    pub(crate) fn meeting(&mut self, m: &Meeting, present: i64, sign: i64) {
        if m.status != "held" {
            return;
        }
        let f = Figures {
            meetings: 1,
            attendance: i64::from(m.guests) + present,
            ..Figures::default()
        };
        self.put(&m.region_path, m.held_on, &f, sign);
    }

    /// An item as it is (`sign` 1) or was (-1).
    pub(crate) fn item(&mut self, i: &Item, sign: i64) {
        let raised = Figures {
            items_raised: 1,
            ..Figures::default()
        };
        self.put(&i.region_path, i.raised_on, &raised, sign);
        if let Some((day, f)) = settled(i) {
            self.put(&i.region_path, day, &f, sign);
        }
    }

    /// Everything council `id`'s meetings and items count as they are now, times `sign`.
    pub(crate) fn council(
        &mut self,
        conn: &mut DbConnection,
        id: i64,
        sign: i64,
    ) -> Result<(), DbError> {
        let held: Vec<Meeting> = council_meetings::table
            .filter(council_meetings::council_id.eq(id))
            .select(Meeting::as_select())
            .load(conn)?;
        let present = present_at(conn, &held.iter().map(|m| m.id).collect::<Vec<_>>())?;
        for m in &held {
            self.meeting(m, present.get(&m.id).copied().unwrap_or(0), sign);
        }
        let raised: Vec<Item> = council_items::table
            .filter(council_items::council_id.eq(id))
            .select(Item::as_select())
            .load(conn)?;
        for i in &raised {
            self.item(i, sign);
        }
        Ok(())
    }

    /// Append the counts to the journal, in the caller's transaction.
    pub(crate) fn journal(self, conn: &mut DbConnection) -> Result<(), DbError> {
        let rows: Vec<_> = self
            .0
            .into_iter()
            .filter(|(_, f)| *f != Figures::default())
            .map(|((path, month), f)| {
                (
                    council_tally_journal::id.eq(crate::ids::new_id()),
                    council_tally_journal::region_path.eq(path),
                    council_tally_journal::month.eq(month),
                    council_tally_journal::meetings.eq(f.meetings),
                    council_tally_journal::attendance.eq(f.attendance),
                    council_tally_journal::items_raised.eq(f.items_raised),
                    council_tally_journal::items_decided.eq(f.items_decided),
                    council_tally_journal::items_declined.eq(f.items_declined),
                    council_tally_journal::items_done.eq(f.items_done),
                    council_tally_journal::items_on_time.eq(f.items_on_time),
                )
            })
            .collect();
        crate::insert_many!(conn, council_tally_journal::table, &rows)
    }

    /// Add the counts to the rows of every region with totals on their paths, creating the
    /// rows that are new, in key order (two folds at once wait on each other, never deadlock).
    fn apply(self, conn: &mut DbConnection) -> Result<(), DbError> {
        // Nine values a row: SQLite takes at most 32,766 in one statement.
        const ROWS_PER_STATEMENT: usize = 3_000;
        let mut rows: BTreeMap<(String, String), Figures> = BTreeMap::new();
        for ((path, month), f) in self.0 {
            for (level, _) in levels(&path).take_while(|(_, d)| *d <= TALLIED_DEPTH) {
                rows.entry((level, month.clone())).or_default().add(&f);
            }
        }
        rows.retain(|_, f| *f != Figures::default());
        let engine = conn.engine();
        let rows: Vec<_> = rows.into_iter().collect();
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO council_tallies (region_path, month, {COUNTERS}) VALUES {} \
                 ON CONFLICT (region_path, month) DO UPDATE SET {}",
                values(engine, chunk.len(), 9),
                COUNTERS
                    .split(", ")
                    .map(|c| format!("{c} = council_tallies.{c} + excluded.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut q = diesel::sql_query(sql).into_boxed::<crate::MultiBackend>();
            for ((path, month), f) in chunk {
                q = q
                    .bind::<Text, _>(path.clone())
                    .bind::<Text, _>(month.clone());
                for n in f.counters() {
                    q = q.bind::<BigInt, _>(n);
                }
            }
            q.execute(conn)?;
        }
        Ok(())
    }
}

/// Journal what an item counts as it was (None: new) and is, in the caller's transaction.
pub(crate) fn item_changed(
    conn: &mut DbConnection,
    before: Option<&Item>,
    after: &Item,
) -> Result<(), DbError> {
    let mut t = Tally::default();
    if let Some(b) = before {
        t.item(b, -1);
    }
    t.item(after, 1);
    t.journal(conn)
}

/// Journal what a meeting counts as it was (None: new) and is, each with the members present.
pub(crate) fn meeting_changed(
    conn: &mut DbConnection,
    before: Option<(&Meeting, i64)>,
    after: (&Meeting, i64),
) -> Result<(), DbError> {
    let mut t = Tally::default();
    if let Some((m, present)) = before {
        t.meeting(m, present, -1);
    }
    t.meeting(after.0, after.1, 1);
    t.journal(conn)
}

const COUNTERS: &str = "meetings, attendance, items_raised, items_decided, items_declined, \
                        items_done, items_on_time";

/// Members present at each of these meetings.
pub(crate) fn present_at(
    conn: &mut DbConnection,
    meetings: &[i64],
) -> Result<std::collections::HashMap<i64, i64>, DbError> {
    let mut out = std::collections::HashMap::new();
    for chunk in meetings.chunks(5_000) {
        let rows: Vec<(i64, i64)> = council_attendance::table
            .filter(council_attendance::meeting_id.eq_any(chunk))
            .group_by(council_attendance::meeting_id)
            .select((council_attendance::meeting_id, diesel::dsl::count_star()))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// A journal row as read.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = council_tally_journal)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct Entry {
    pub id: i64,
    pub region_path: String,
    pub month: String,
    pub meetings: i64,
    pub attendance: i64,
    pub items_raised: i64,
    pub items_decided: i64,
    pub items_declined: i64,
    pub items_done: i64,
    pub items_on_time: i64,
}

impl Entry {
    pub(crate) fn figures(&self) -> Figures {
        Figures {
            meetings: self.meetings,
            attendance: self.attendance,
            items_raised: self.items_raised,
            items_decided: self.items_decided,
            items_declined: self.items_declined,
            items_done: self.items_done,
            items_on_time: self.items_on_time,
        }
    }
}

/// Move up to [`FOLD_BATCH`] journal rows into the totals; returns how many it folded. Each
/// is folded once: the batch is deleted by id, and if another server deleted any of them first
/// the transaction is refused (`Stale`) and nothing of it is kept.
pub fn fold(conn: &mut DbConnection) -> Result<usize, DbError> {
    let rows: Vec<Entry> = council_tally_journal::table
        .order(council_tally_journal::id.asc())
        .limit(FOLD_BATCH as i64)
        .select(Entry::as_select())
        .load(conn)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = rows.iter().map(|e| e.id).collect();
    let deleted =
        diesel::delete(council_tally_journal::table.filter(council_tally_journal::id.eq_any(&ids)))
            .execute(conn)?;
    if deleted != rows.len() {
        return Err(DbError::Stale);
    }
    let mut tally = Tally::default();
    for e in &rows {
        tally
            .0
            .entry((e.region_path.clone(), e.month.clone()))
            .or_default()
            .add(&e.figures());
    }
    tally.apply(conn)?;
    Ok(rows.len())
}

/// Count meetings and items loaded in bulk (without attendance), straight into the totals.
pub(crate) fn count_many(
    conn: &mut DbConnection,
    held: &[Meeting],
    raised: &[Item],
) -> Result<(), DbError> {
    let mut tally = Tally::default();
    for m in held {
        tally.meeting(m, 0, 1);
    }
    for i in raised {
        tally.item(i, 1);
    }
    tally.apply(conn)
}

/// Count every meeting and item again from nothing (when the totals first arrive).
pub fn rebuild(conn: &mut DbConnection) -> Result<(), DbError> {
    const CHUNK: i64 = 20_000;
    diesel::delete(council_tally_journal::table).execute(conn)?;
    diesel::delete(crate::schema::council_tallies::table).execute(conn)?;
    let mut after = i64::MIN;
    loop {
        let held: Vec<Meeting> = council_meetings::table
            .filter(council_meetings::id.gt(after))
            .order(council_meetings::id.asc())
            .limit(CHUNK)
            .select(Meeting::as_select())
            .load(conn)?;
        let Some(last) = held.last() else { break };
        after = last.id;
        let present = present_at(conn, &held.iter().map(|m| m.id).collect::<Vec<_>>())?;
        let mut tally = Tally::default();
        for m in &held {
            tally.meeting(m, present.get(&m.id).copied().unwrap_or(0), 1);
        }
        tally.apply(conn)?;
    }
    let mut after = i64::MIN;
    loop {
        let raised: Vec<Item> = council_items::table
            .filter(council_items::id.gt(after))
            .order(council_items::id.asc())
            .limit(CHUNK)
            .select(Item::as_select())
            .load(conn)?;
        let Some(last) = raised.last() else {
            return Ok(());
        };
        after = last.id;
        count_many(conn, &[], &raised)?;
    }
}
