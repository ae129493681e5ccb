//! The councils' figures: meetings held and who came, items raised, decided, declined, done
//! and done by their deadline, by region and by month: from the running totals where they
//! answer (`super::tallies`), from the rows (grouped where the engine can) where they do not.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use diesel::IntoSql as _;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::councils::ItemStatus;

use super::tallies::Entry;
use crate::requests::stats::{Span, TalliedPlaces, month_of_day, tallied_levels};
use crate::schema::{
    council_attendance, council_items, council_meetings, council_tallies, council_tally_journal,
};
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
    pub(crate) fn add(&mut self, o: &Figures) {
        self.meetings += o.meetings;
        self.attendance += o.attendance;
        self.items_raised += o.items_raised;
        self.items_decided += o.items_decided;
        self.items_declined += o.items_declined;
        self.items_done += o.items_done;
        self.items_on_time += o.items_on_time;
    }

    pub(crate) fn from_counters(c: [i64; 7]) -> Figures {
        let [
            meetings,
            attendance,
            items_raised,
            items_decided,
            items_declined,
            items_done,
            items_on_time,
        ] = c;
        Figures {
            meetings,
            attendance,
            items_raised,
            items_decided,
            items_declined,
            items_done,
            items_on_time,
        }
    }

    /// Each figure times `k` (1: as it is, -1: taken away).
    pub(crate) fn times(&self, k: i64) -> Figures {
        Figures {
            meetings: self.meetings * k,
            attendance: self.attendance * k,
            items_raised: self.items_raised * k,
            items_decided: self.items_decided * k,
            items_declined: self.items_declined * k,
            items_done: self.items_done * k,
            items_on_time: self.items_on_time * k,
        }
    }

    /// The figures in the totals' column order.
    pub(crate) fn counters(&self) -> [i64; 7] {
        [
            self.meetings,
            self.attendance,
            self.items_raised,
            self.items_decided,
            self.items_declined,
            self.items_done,
            self.items_on_time,
        ]
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

/// What the rows counted come to, before they are laid out: over everything counted by
/// month, and by the breakdown's regions (in their order).
struct Counted {
    whole: Vec<(String, Figures)>,
    by_region: Vec<Figures>,
}

impl Counted {
    fn new(regions: usize) -> Self {
        Self {
            whole: Vec::new(),
            by_region: vec![Figures::default(); regions],
        }
    }
}

/// The figures from `from` to `to` (both included) in the caller's scope, `within` a region if
/// one is given, broken down by `regions` (see `activities::stats::breakdown_regions`).
///
/// Whole months of a place down to the township are read from the running totals
/// ([`super::tallies`]); the days at either end of the range that do not fill a month, and a
/// place below the township, from the rows.
pub fn stats(
    conn: &mut DbConnection,
    scope: &Scope,
    within: Option<&crate::org::Region>,
    (from, to): (NaiveDate, NaiveDate),
    regions: &[crate::org::Region],
) -> Result<Stats, DbError> {
    let mut counted = Counted::new(regions.len());
    let narrowed = match within {
        Some(r) => scope.narrowed_to(&r.path),
        None => scope.clone(),
    };
    if let Some(places) = TalliedPlaces::of(conn, &narrowed, regions)? {
        let span = Span::of(Some(from), Some(to));
        if let Some(months) = &span.months {
            from_totals(conn, months, &places, &mut counted)?;
        }
        for days in span.edges {
            from_rows(conn, scope, within, days, regions, &mut counted)?;
        }
    } else {
        from_rows(conn, scope, within, (from, to), regions, &mut counted)?;
    }
    Ok(lay_out((from, to), regions, counted))
}

/// The same figures counted from the rows alone, never the totals (what the tests hold the
/// totals to).
pub fn stats_from_rows(
    conn: &mut DbConnection,
    scope: &Scope,
    within: Option<&crate::org::Region>,
    (from, to): (NaiveDate, NaiveDate),
    regions: &[crate::org::Region],
) -> Result<Stats, DbError> {
    let mut counted = Counted::new(regions.len());
    from_rows(conn, scope, within, (from, to), regions, &mut counted)?;
    Ok(lay_out((from, to), regions, counted))
}

/// The totals of the page's places over `months`, with the journal's changes under them not
/// yet folded.
fn from_totals(
    conn: &mut DbConnection,
    (lo, hi): &(Option<String>, Option<String>),
    places: &TalliedPlaces,
    counted: &mut Counted,
) -> Result<(), DbError> {
    let within =
        |m: &str| lo.as_deref().is_none_or(|l| m >= l) && hi.as_deref().is_none_or(|h| m <= h);
    let mut q = council_tallies::table
        .filter(council_tallies::region_path.eq_any(places.paths()))
        .into_boxed();
    if let Some(m) = lo {
        q = q.filter(council_tallies::month.ge(m.clone()));
    }
    if let Some(m) = hi {
        q = q.filter(council_tallies::month.le(m.clone()));
    }
    let rows: Vec<(String, String, [i64; 7])> = q
        .select((
            council_tallies::region_path,
            council_tallies::month,
            (
                council_tallies::meetings,
                council_tallies::attendance,
                council_tallies::items_raised,
                council_tallies::items_decided,
                council_tallies::items_declined,
                council_tallies::items_done,
                council_tallies::items_on_time,
            ),
        ))
        .load::<(String, String, (i64, i64, i64, i64, i64, i64, i64))>(conn)?
        .into_iter()
        .map(|(p, m, (a, b, c, d, e, f, g))| (p, m, [a, b, c, d, e, f, g]))
        .collect();
    let mut put = |path: &str, month: &str, f: Figures| {
        if places.whole(path) {
            counted.whole.push((month.to_string(), f));
        }
        if let Some(i) = places.region(path) {
            counted.by_region[i].add(&f);
        }
    };
    for (path, month, c) in rows {
        put(&path, &month, Figures::from_counters(c));
    }
    let pending: Vec<Entry> = council_tally_journal::table
        .filter(subtree_filter(
            council_tally_journal::region_path,
            &places.tops,
        ))
        .select(Entry::as_select())
        .load(conn)?;
    for e in pending.iter().filter(|e| within(&e.month)) {
        for level in tallied_levels(&e.region_path) {
            put(&level, &e.month, e.figures());
        }
    }
    Ok(())
}

/// The figures from `from` to `to`, counted from the rows.
fn from_rows(
    conn: &mut DbConnection,
    scope: &Scope,
    within: Option<&crate::org::Region>,
    (from, to): (NaiveDate, NaiveDate),
    regions: &[crate::org::Region],
    counted: &mut Counted,
) -> Result<(), DbError> {
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

    for (path, day, f) in cells {
        counted.whole.push((month_of_day(day), f));
        if let Some(i) = regions.iter().position(|r| path.starts_with(&r.path)) {
            counted.by_region[i].add(&f);
        }
    }
    Ok(())
}

/// The figures laid out: in all, by month (every month of the range), by region.
fn lay_out(
    (from, to): (NaiveDate, NaiveDate),
    regions: &[crate::org::Region],
    counted: Counted,
) -> Stats {
    let mut s = Stats {
        by_region: regions.iter().cloned().zip(counted.by_region).collect(),
        ..Stats::default()
    };
    let mut by_month: BTreeMap<String, Figures> = BTreeMap::new();
    let mut m = from.with_day(1).unwrap_or(from);
    while m <= to {
        by_month.insert(month_of_day(m), Figures::default());
        m = m
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX);
    }
    for (month, f) in &counted.whole {
        s.total.add(f);
        by_month.entry(month.clone()).or_default().add(f);
    }
    s.by_month = by_month.into_iter().collect();
    s
}
