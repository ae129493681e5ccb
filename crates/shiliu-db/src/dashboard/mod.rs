//! The leaders' dashboard (领导驾驶舱): the figures of a place and of each place one level
//! below it, for a period, the period before (环比) and the same months a year before (同比),
//! with the place's months for its trends. Every figure is the one the module's own
//! statistics give (`requests::stats`, `registry::stats`, the request list's counts), read
//! through the caller's scope narrowed to the place; every place below appears, zeros included.
//!
//! Each module's part is asked for with the permission that module's statistics need
//! (`Can<ViewRequests>`, `Can<ViewRegistry>`): a caller without it gets no part, not zeros.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use shiliu_domain::dashboard::{Measure, Period, Source};

use crate::org::{self, Region};
use crate::requests::RequestFilter;
use crate::requests::keys::RequestKeys;
use crate::requests::stats::{self, Dimension, Figures};
use crate::scope::{Can, Scope, grants};
use crate::{DbConnection, DbError};

/// A figure over the period asked for, the one before it and the same months a year before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Windows<T> {
    pub now: T,
    pub previous: T,
    pub year_before: T,
}

/// The periods one board compares.
#[derive(Debug, Clone, Copy)]
pub struct Periods {
    pub now: Period,
    pub previous: Period,
    pub year_before: Period,
    /// Twelve months to the period's end, and the twelve before them: the trends' months.
    pub trend: Period,
}

impl Periods {
    pub fn of(now: Period) -> Self {
        Self {
            now,
            previous: now.previous(),
            year_before: now.year_before(),
            trend: now.trend().year_before().hull(now.trend()),
        }
    }
}

/// A place's requests: the period's figures beside the earlier ones, and how many are open
/// past their deadline or escalated now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestPart {
    pub figures: Windows<Figures>,
    pub overdue: i64,
    pub escalated: i64,
}

/// A place's register: residents now, arrivals and departures in each period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryPart {
    pub residents: i64,
    pub arrivals: Windows<i64>,
    pub departures: Windows<i64>,
}

/// A month `YYYY-MM` with its arrivals and departures.
pub type MonthMoves = (String, i64, i64);

/// One place on the board.
#[derive(Debug, Clone)]
pub struct Place {
    pub region: Region,
    pub requests: Option<RequestPart>,
    pub registry: Option<RegistryPart>,
}

/// The board of a place: its own figures (`whole`) and its parts'.
#[derive(Debug, Clone)]
pub struct Board {
    /// The place, and its parts one level below, in code order, every one of them.
    pub whole: Place,
    pub parts: Vec<Place>,
    /// Requests by month of receipt over the trend's months (every month, zeros included),
    /// as the statistics by month count them.
    pub request_months: Option<Vec<(String, Figures)>>,
    /// Arrivals and departures by month over the trend's months.
    pub registry_months: Option<Vec<MonthMoves>>,
}

/// What a board is drawn with: the caller's permissions for each module's part.
pub struct Parts<'a> {
    pub requests: Option<(&'a Can<grants::ViewRequests>, &'a RequestKeys)>,
    pub registry: Option<&'a Can<grants::ViewRegistry>>,
}

/// The board of `place` (a region the caller's scope covers whole) for these periods.
pub fn board(
    conn: &mut DbConnection,
    scope: &Scope,
    place: &Region,
    parts: &Parts<'_>,
    periods: &Periods,
    now: NaiveDateTime,
) -> Result<Board, DbError> {
    if !scope.covers(&place.path) {
        return Err(DbError::NotFound);
    }
    let below = org::children(conn, scope, place.id, false)?;
    let mut whole = Place {
        region: place.clone(),
        requests: None,
        registry: None,
    };
    let mut places: Vec<Place> = below
        .into_iter()
        .map(|region| Place {
            region,
            requests: None,
            registry: None,
        })
        .collect();
    let mut request_months = None;
    if let Some((can, keys)) = parts.requests {
        let narrowed = can.scope().narrowed_to(&place.path);
        request_parts(
            conn,
            (&narrowed, keys),
            &mut whole,
            &mut places,
            periods,
            now,
        )?;
        request_months = Some(months_of_requests(conn, &narrowed, periods.trend)?);
    }
    let mut registry_months = None;
    if let Some(can) = parts.registry {
        let narrowed = can.scope().narrowed_to(&place.path);
        let (part, months) = registry_part(conn, &narrowed, periods)?;
        whole.registry = Some(part);
        registry_months = Some(months);
        for p in &mut places {
            let s = can.scope().narrowed_to(&p.region.path);
            p.registry = Some(registry_part(conn, &s, periods)?.0);
        }
    }
    Ok(Board {
        whole,
        parts: places,
        request_months,
        registry_months,
    })
}

/// The requests' figures of the place and of each place below, from the totals by region.
fn request_parts(
    conn: &mut DbConnection,
    (scope, keys): (&Scope, &RequestKeys),
    whole: &mut Place,
    places: &mut [Place],
    periods: &Periods,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let by_region =
        |c: &mut DbConnection, p: Period| -> Result<BTreeMap<String, Figures>, DbError> {
            let (from, to) = p.bounds();
            Ok(stats::figures(c, scope, &from, &to, Dimension::Region)?
                .into_iter()
                .map(|f| (f.key.clone(), f))
                .collect())
        };
    let (now_f, prev_f, year_f) = stats::snapshot(conn, |c| {
        Ok((
            by_region(c, periods.now)?,
            by_region(c, periods.previous)?,
            by_region(c, periods.year_before)?,
        ))
    })?;
    let sum = |m: &BTreeMap<String, Figures>| {
        m.values().fold(Figures::default(), |mut acc, f| {
            acc.add(f);
            acc
        })
    };
    let counts = |c: &mut DbConnection, s: &Scope| -> Result<(i64, i64), DbError> {
        let overdue = RequestFilter {
            overdue_at: Some(now),
            ..RequestFilter::default()
        };
        let escalated = RequestFilter {
            escalated: true,
            open: Some(true),
            ..RequestFilter::default()
        };
        Ok((
            crate::requests::listing::count(keys, c, s, &overdue)?,
            crate::requests::listing::count(keys, c, s, &escalated)?,
        ))
    };
    let (overdue, escalated) = counts(conn, scope)?;
    whole.requests = Some(RequestPart {
        figures: Windows {
            now: sum(&now_f),
            previous: sum(&prev_f),
            year_before: sum(&year_f),
        },
        overdue,
        escalated,
    });
    let of = |m: &BTreeMap<String, Figures>, path: &str| m.get(path).cloned().unwrap_or_default();
    for p in places {
        let path = p.region.path.as_str();
        let (overdue, escalated) = counts(conn, &scope.narrowed_to(path))?;
        p.requests = Some(RequestPart {
            figures: Windows {
                now: of(&now_f, path),
                previous: of(&prev_f, path),
                year_before: of(&year_f, path),
            },
            overdue,
            escalated,
        });
    }
    Ok(())
}

/// Each month of `p` with the figures of the requests received in it.
fn months_of_requests(
    conn: &mut DbConnection,
    scope: &Scope,
    p: Period,
) -> Result<Vec<(String, Figures)>, DbError> {
    let (from, to) = p.bounds();
    let found: BTreeMap<String, Figures> =
        stats::figures(conn, scope, &from, &to, Dimension::Month)?
            .into_iter()
            .map(|f| (f.key.clone(), f))
            .collect();
    Ok(p.each()
        .into_iter()
        .map(|m| {
            let f = found.get(&m).cloned().unwrap_or_default();
            (m, f)
        })
        .collect())
}

/// The register's part of a place, and its months of arrivals and departures over the trend.
fn registry_part(
    conn: &mut DbConnection,
    scope: &Scope,
    periods: &Periods,
) -> Result<(RegistryPart, Vec<MonthMoves>), DbError> {
    let span = periods
        .trend
        .hull(periods.now)
        .hull(periods.previous)
        .hull(periods.year_before);
    let f = crate::registry::stats::figures(conn, scope, span.from(), span.to())?;
    let within = |m: &BTreeMap<String, i64>, p: Period| -> i64 {
        let (from, to) = p.bounds();
        m.range(from..=to).map(|(_, n)| n).sum()
    };
    let windows = |m: &BTreeMap<String, i64>| Windows {
        now: within(m, periods.now),
        previous: within(m, periods.previous),
        year_before: within(m, periods.year_before),
    };
    let months = periods
        .trend
        .each()
        .into_iter()
        .map(|m| {
            let a = f.arrivals.get(&m).copied().unwrap_or(0);
            let d = f.departures.get(&m).copied().unwrap_or(0);
            (m, a, d)
        })
        .collect();
    Ok((
        RegistryPart {
            residents: f.residents,
            arrivals: windows(&f.arrivals),
            departures: windows(&f.departures),
        },
        months,
    ))
}

/// Which of a figure's periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Now,
    Previous,
    YearBefore,
}

impl<T> Windows<T> {
    fn at(&self, w: When) -> &T {
        match w {
            When::Now => &self.now,
            When::Previous => &self.previous,
            When::YearBefore => &self.year_before,
        }
    }
}

impl Place {
    /// A measure of the place in a period: None when the caller may not see its module, when
    /// a share has nothing to divide (no request rated, say), or for a count of how things
    /// stand now asked of an earlier period.
    pub fn value(&self, m: Measure, w: When) -> Option<i64> {
        if !m.of_period() && w != When::Now {
            return None;
        }
        match m.source() {
            Source::Requests => {
                let r = self.requests.as_ref()?;
                match m {
                    Measure::Overdue => Some(r.overdue),
                    Measure::Escalated => Some(r.escalated),
                    _ => of_figures(m, r.figures.at(w)),
                }
            }
            Source::Registry => {
                let r = self.registry.as_ref()?;
                match m {
                    Measure::Residents => Some(r.residents),
                    Measure::Arrivals => Some(*r.arrivals.at(w)),
                    _ => Some(*r.departures.at(w)),
                }
            }
        }
    }
}

/// A requests' measure of a period's figures (None: a share of nothing, or a measure those
/// figures do not hold).
fn of_figures(m: Measure, f: &Figures) -> Option<i64> {
    match m {
        Measure::Received => Some(f.received),
        Measure::Completion => f.completion(),
        Measure::OnTime => f.on_time_rate(),
        Measure::Satisfaction => f.satisfaction(),
        _ => None,
    }
}

impl Board {
    /// A measure of the place month by month over the trend's months: None for a measure
    /// kept only as it stands now, or whose module the caller may not see.
    pub fn months(&self, m: Measure) -> Option<Vec<(String, Option<i64>)>> {
        if !m.of_period() {
            return None;
        }
        match m.source() {
            Source::Requests => Some(
                self.request_months
                    .as_ref()?
                    .iter()
                    .map(|(k, f)| (k.clone(), of_figures(m, f)))
                    .collect(),
            ),
            Source::Registry => Some(
                self.registry_months
                    .as_ref()?
                    .iter()
                    .map(|(k, a, d)| {
                        (
                            k.clone(),
                            Some(if m == Measure::Arrivals { *a } else { *d }),
                        )
                    })
                    .collect(),
            ),
        }
    }
}
