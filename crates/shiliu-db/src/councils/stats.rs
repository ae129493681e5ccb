//! The councils' figures: meetings held and who came, items raised, decided, declined, done
//! and done by their deadline, by region and by month. Each is read from the rows themselves
//! (grouped where the engine can), so a figure always equals a recount.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use diesel::IntoSql as _;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::councils::ItemStatus;

use crate::schema::{council_attendance, council_items, council_meetings};
use crate::scope::{Scope, subtree_filter};
use crate::{DbConnection, DbError};

/// What one slice comes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub meetings: i64,
    /// Members present plus other residents, over the meetings.
    pub attendance: i64,
    pub items_raised: i64,
    /// Items a meeting settled by deciding them or handing them to a request.
    pub items_decided: i64,
    pub items_declined: i64,
    /// Of the items decided, those done (a request's: closed).
    pub items_done: i64,
    /// Of those done, done by their deadline.
    pub items_on_time: i64,
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.meetings += o.meetings;
        self.attendance += o.attendance;
        self.items_raised += o.items_raised;
        self.items_decided += o.items_decided;
        self.items_declined += o.items_declined;
        self.items_done += o.items_done;
        self.items_on_time += o.items_on_time;
    }

    /// The share of decided items done by their deadline, in per-mille rounded half up (none
    /// decided: none).
    pub fn on_time_per_mille(&self) -> Option<i64> {
        (self.items_decided > 0)
            .then(|| (self.items_on_time * 2000 + self.items_decided) / (self.items_decided * 2))
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub total: Figures,
    /// By the regions given (each with its subtree), in their order.
    pub by_region: Vec<(crate::org::Region, Figures)>,
    /// By month (`2026-03`), every month of the range.
    pub by_month: Vec<(String, Figures)>,
}

/// Items settled: their region, the meeting's day, their status, how many, and how many were
/// done by their deadline.
type Settled = (String, Option<NaiveDate>, String, i64, Option<i64>);

/// The figures from `from` to `to` (both included) in the caller's scope, `within` a region if
/// one is given, broken down by `regions` (see `activities::stats::breakdown_regions`).
pub fn stats(
    conn: &mut DbConnection,
    scope: &Scope,
    within: Option<&crate::org::Region>,
    (from, to): (NaiveDate, NaiveDate),
    regions: &[crate::org::Region],
) -> Result<Stats, DbError> {
    let mut cells: Vec<(String, NaiveDate, Figures)> = Vec::new();
    let inside = |path: &str| within.is_none_or(|r| path.starts_with(&r.path));
    let within_paths: Vec<String> = within.map(|r| vec![r.path.clone()]).unwrap_or_default();

    let mut q = council_meetings::table
        .filter(scope.path_filter(council_meetings::region_path))
        .filter(council_meetings::status.eq("held"))
        .filter(council_meetings::held_on.between(from, to))
        .group_by((council_meetings::region_path, council_meetings::held_on))
        .select((
            council_meetings::region_path,
            council_meetings::held_on,
            diesel::dsl::count_star(),
            diesel::dsl::sum(council_meetings::guests),
        ))
        .into_boxed();
    if !within_paths.is_empty() {
        q = q.filter(subtree_filter(council_meetings::region_path, &within_paths));
    }
    let held: Vec<(String, NaiveDate, i64, Option<i64>)> = q.load(conn)?;
    for (path, day, n, guests) in held {
        cells.push((
            path,
            day,
            Figures {
                meetings: n,
                attendance: guests.unwrap_or(0),
                ..Figures::default()
            },
        ));
    }

    let present: Vec<(String, NaiveDate, i64)> = council_attendance::table
        .inner_join(council_meetings::table)
        .filter(scope.path_filter(council_meetings::region_path))
        .filter(council_meetings::status.eq("held"))
        .filter(council_meetings::held_on.between(from, to))
        .group_by((council_meetings::region_path, council_meetings::held_on))
        .select((
            council_meetings::region_path,
            council_meetings::held_on,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    for (path, day, n) in present.into_iter().filter(|p| inside(&p.0)) {
        cells.push((
            path,
            day,
            Figures {
                attendance: n,
                ..Figures::default()
            },
        ));
    }

    // Raised: by the day (China's) it came in.
    let raised: Vec<(String, NaiveDate, i64)> = council_items::table
        .filter(scope.path_filter(council_items::region_path))
        .filter(council_items::raised_on.between(from, to))
        .group_by((council_items::region_path, council_items::raised_on))
        .select((
            council_items::region_path,
            council_items::raised_on,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    for (path, day, n) in raised.into_iter().filter(|r| inside(&r.0)) {
        cells.push((
            path,
            day,
            Figures {
                items_raised: n,
                ..Figures::default()
            },
        ));
    }

    // Settled: by the day of the meeting that settled them, counted by the engine (those done
    // by their deadline summed in the same pass).
    let on_time = diesel::dsl::case_when(
        council_items::done_on.le(council_items::due_on),
        1_i32.into_sql::<diesel::sql_types::Integer>(),
    )
    .otherwise(0_i32.into_sql::<diesel::sql_types::Integer>());
    let settled: Vec<Settled> = council_items::table
        .filter(scope.path_filter(council_items::region_path))
        .filter(council_items::decided_on.between(from, to))
        .group_by((
            council_items::region_path,
            council_items::decided_on,
            council_items::status,
        ))
        .select((
            council_items::region_path,
            council_items::decided_on,
            council_items::status,
            diesel::dsl::count_star(),
            diesel::dsl::sum(on_time),
        ))
        .load(conn)?;
    for (path, day, status, n, in_time) in settled.into_iter().filter(|r| inside(&r.0)) {
        let Some(day) = day else { continue };
        let mut f = Figures::default();
        match ItemStatus::parse(&status) {
            Some(ItemStatus::Declined) => f.items_declined = n,
            Some(ItemStatus::Decided | ItemStatus::Referred) => f.items_decided = n,
            Some(ItemStatus::Done) => {
                f.items_decided = n;
                f.items_done = n;
                f.items_on_time = in_time.unwrap_or(0);
            }
            Some(ItemStatus::Raised) | None => continue,
        }
        cells.push((path, day, f));
    }

    let mut s = Stats {
        by_region: regions
            .iter()
            .map(|r| (r.clone(), Figures::default()))
            .collect(),
        ..Stats::default()
    };
    let mut by_month: BTreeMap<String, Figures> = BTreeMap::new();
    let mut m = from.with_day(1).unwrap_or(from);
    while m <= to {
        by_month.insert(m.format("%Y-%m").to_string(), Figures::default());
        m = m
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX);
    }
    for (path, day, f) in &cells {
        s.total.add(f);
        by_month
            .entry(day.format("%Y-%m").to_string())
            .or_default()
            .add(f);
        if let Some((_, fig)) = s
            .by_region
            .iter_mut()
            .find(|(r, _)| path.starts_with(&r.path))
        {
            fig.add(f);
        }
    }
    s.by_month = by_month.into_iter().collect();
    Ok(s)
}
