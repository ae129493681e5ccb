//! What the councils' list shows of each council — its items waiting and open, the day it last
//! met — kept in `council_counts` by the writes that change them (an item raised, settled or
//! done; a meeting held), in their transaction: a page of councils reads one row each. A
//! council without a row has none of either and has not met.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable};
use shiliu_domain::councils::ItemStatus;

use super::items::Item;
use super::meetings::Meeting;
use crate::requests::stats::values;
use crate::schema::council_counts;
use crate::{DbConnection, DbError};

/// One council's figures on the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub waiting: i64,
    pub open: i64,
    pub last_held_on: Option<NaiveDate>,
}

/// Changes to councils' counts: council → (waiting, open, a day met).
#[derive(Debug, Default)]
pub(crate) struct Change(BTreeMap<i64, (i64, i64, Option<NaiveDate>)>);

impl Change {
    /// An item as it was (`sign` -1) or is (1).
    pub(crate) fn item(&mut self, i: &Item, sign: i64) {
        let e = self.0.entry(i.council_id).or_insert((0, 0, None));
        match ItemStatus::parse(&i.status) {
            Some(ItemStatus::Raised) => e.0 += sign,
            Some(ItemStatus::Decided | ItemStatus::Referred) => e.1 += sign,
            _ => {}
        }
    }

    /// A meeting held (a meeting's day never changes once held).
    pub(crate) fn meeting(&mut self, m: &Meeting) {
        if m.status != "held" {
            return;
        }
        let e = self.0.entry(m.council_id).or_insert((0, 0, None));
        e.2 = e.2.max(Some(m.held_on));
    }

    /// Add the changes to the councils' rows, in the caller's transaction, in council order.
    pub(crate) fn apply(mut self, conn: &mut DbConnection) -> Result<(), DbError> {
        // Four values a row: SQLite takes at most 32,766 in one statement.
        const ROWS_PER_STATEMENT: usize = 5_000;
        self.0.retain(|_, c| *c != (0, 0, None));
        let engine = conn.engine();
        let rows: Vec<_> = self.0.into_iter().collect();
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO council_counts (council_id, waiting, open, last_held_on) VALUES {} \
                 ON CONFLICT (council_id) DO UPDATE SET \
                 waiting = council_counts.waiting + excluded.waiting, \
                 open = council_counts.open + excluded.open, \
                 last_held_on = CASE WHEN council_counts.last_held_on IS NULL \
                 OR excluded.last_held_on > council_counts.last_held_on \
                 THEN excluded.last_held_on ELSE council_counts.last_held_on END",
                values(engine, chunk.len(), 4)
            );
            let mut q = diesel::sql_query(sql).into_boxed::<crate::MultiBackend>();
            for (council, (waiting, open, held)) in chunk {
                q = q
                    .bind::<BigInt, _>(*council)
                    .bind::<BigInt, _>(*waiting)
                    .bind::<BigInt, _>(*open)
                    .bind::<Nullable<Date>, _>(*held);
            }
            q.execute(conn)?;
        }
        Ok(())
    }
}

/// Keep the counts in step with one item's change (`before` None: raised now).
pub(crate) fn item_changed(
    conn: &mut DbConnection,
    before: Option<&Item>,
    after: &Item,
) -> Result<(), DbError> {
    let mut c = Change::default();
    if let Some(b) = before {
        c.item(b, -1);
    }
    c.item(after, 1);
    c.apply(conn)
}

/// The counts of these councils (those without a row: none).
pub fn of(conn: &mut DbConnection, ids: &[i64]) -> Result<HashMap<i64, Counts>, DbError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, i64, i64, Option<NaiveDate>)> = council_counts::table
            .filter(council_counts::council_id.eq_any(chunk))
            .select((
                council_counts::council_id,
                council_counts::waiting,
                council_counts::open,
                council_counts::last_held_on,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(id, waiting, open, last_held_on)| {
            (
                id,
                Counts {
                    waiting,
                    open,
                    last_held_on,
                },
            )
        }));
    }
    Ok(out)
}
