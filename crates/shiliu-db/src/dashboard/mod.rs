//! The leaders' dashboard (领导驾驶舱): the figures of a place and of each place one level
//! below it, for a period, the period before (环比) and the same months a year before (同比),
//! with the place's months for its trends. Every figure is the one the module's own
//! statistics give (`requests::stats`, `registry::stats`, the needs' rule of
//! `registry::needs`, the request list's counts), read through the caller's scope narrowed to
//! the place; every place below appears, zeros included. Beside them, the evaluations run at
//! or below the place ([`evaluations`]) and the plans in force there ([`plans`]).
//!
//! Each module's part is asked for with the permission that module's own pages need
//! (`Can<ViewRequests>`, `Can<ViewRegistry>`, `Can<ViewTasks>`; for evaluations the actor,
//! through `evaluation::access`): a caller without it gets no part, not zeros.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use shiliu_domain::dashboard::{Measure, Period, Source};

use crate::org::{self, Region};
use crate::requests::RequestFilter;
use crate::requests::keys::RequestKeys;
use crate::requests::stats::{self, Figures};
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

    /// Every month any of them covers.
    pub fn span(&self) -> Period {
        self.trend
            .hull(self.now)
            .hull(self.previous)
            .hull(self.year_before)
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

/// A place's register: residents now, arrivals and departures in each period, and the
/// needs found in each period with how many of them are met now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryPart {
    pub residents: i64,
    pub arrivals: Windows<i64>,
    pub departures: Windows<i64>,
    pub needs: Windows<Needs>,
}

/// Needs found, and of them met now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub found: i64,
    pub met: i64,
}

/// A month `YYYY-MM` with its arrivals and departures.
pub type MonthMoves = (String, i64, i64);

/// A measure month by month: each month `YYYY-MM` with its figure (None: none to give).
pub type MonthValues = Vec<(String, Option<i64>)>;

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
    /// Needs found by month over the trend's months.
    pub need_months: Option<Vec<(String, Needs)>>,
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
        request_months = Some(request_parts(
            conn,
            (&narrowed, keys),
            &mut whole,
            &mut places,
            periods,
            now,
        )?);
    }
    let mut registry_months = None;
    let mut need_months = None;
    if let Some(can) = parts.registry {
        let narrowed = can.scope().narrowed_to(&place.path);
        let span = periods.span();
        let whole_f = crate::registry::stats::figures(conn, &narrowed, span.from(), span.to())?;
        let (part, months) = registry_part(&whole_f, periods);
        whole.registry = Some(part);
        registry_months = Some(months);
        let scopes: Vec<Scope> = places
            .iter()
            .map(|p| can.scope().narrowed_to(&p.region.path))
            .collect();
        let each = crate::registry::stats::figures_each(conn, &scopes, span.from(), span.to())?;
        for (p, f) in places.iter_mut().zip(&each) {
            p.registry = Some(registry_part(f, periods).0);
        }
        need_months = Some(need_parts(
            conn,
            &narrowed,
            &mut whole,
            &mut places,
            periods,
        )?);
    }
    Ok(Board {
        whole,
        parts: places,
        request_months,
        registry_months,
        need_months,
    })
}

/// The needs found in the place over every month the periods cover, with whether each is met
/// now (as the needs' statistics count them), summed per period for the place and each place
/// below; the place's months over the trend. One read.
fn need_parts(
    conn: &mut DbConnection,
    scope: &Scope,
    whole: &mut Place,
    places: &mut [Place],
    periods: &Periods,
) -> Result<Vec<(String, Needs)>, DbError> {
    use crate::schema::{needs, requests};
    use diesel::prelude::*;
    let span = periods.span();
    let start = |d: chrono::NaiveDate| {
        shiliu_domain::calendar::utc(d.and_hms_opt(0, 0, 0).unwrap_or_default())
    };
    let end = span.to() + chrono::Months::new(1);
    let rows: Vec<(String, NaiveDateTime, String, Option<String>)> = needs::table
        .left_join(requests::table.on(needs::request_id.eq(requests::id.nullable())))
        .filter(scope.path_filter(needs::region_path))
        .filter(needs::created_at.ge(start(span.from())))
        .filter(needs::created_at.lt(start(end)))
        .select((
            needs::region_path,
            needs::created_at,
            needs::status,
            requests::status.nullable(),
        ))
        .load(conn)?;
    // Per month: the place's needs, and each place below's.
    let mut months: BTreeMap<String, (Needs, Vec<Needs>)> = BTreeMap::new();
    for (path, at, status, request) in rows {
        let month = stats::month_of(at);
        let met = i64::from(crate::registry::needs::is_met(&status, request.as_deref()));
        let e = months
            .entry(month)
            .or_insert_with(|| (Needs::default(), vec![Needs::default(); places.len()]));
        e.0.found += 1;
        e.0.met += met;
        if let Some(i) = places.iter().position(|p| path.starts_with(&p.region.path)) {
            e.1[i].found += 1;
            e.1[i].met += met;
        }
    }
    let over = |p: Period, at: Option<usize>| -> Needs {
        let (from, to) = p.bounds();
        months
            .range(from..=to)
            .map(|(_, (all, each))| at.map_or(*all, |i| each[i]))
            .fold(Needs::default(), |a, n| Needs {
                found: a.found + n.found,
                met: a.met + n.met,
            })
    };
    let windows = |at: Option<usize>| Windows::of(periods, |p| over(p, at));
    if let Some(r) = whole.registry.as_mut() {
        r.needs = windows(None);
    }
    for (i, p) in places.iter_mut().enumerate() {
        if let Some(r) = p.registry.as_mut() {
            r.needs = windows(Some(i));
        }
    }
    Ok(periods
        .trend
        .each()
        .into_iter()
        .map(|m| {
            let n = months.get(&m).map(|(all, _)| *all).unwrap_or_default();
            (m, n)
        })
        .collect())
}

/// The requests' figures of the place and of each place below, and the place's months over
/// the trend, from one read of the totals by region and month.
fn request_parts(
    conn: &mut DbConnection,
    (scope, keys): (&Scope, &RequestKeys),
    whole: &mut Place,
    places: &mut [Place],
    periods: &Periods,
    now: NaiveDateTime,
) -> Result<Vec<(String, Figures)>, DbError> {
    let (from, to) = periods.span().bounds();
    let by_month = stats::by_region_and_month(conn, scope, &from, &to)?;
    // A region's figures (None: every region's together) over the months of a period.
    let over = |p: Period, path: Option<&str>| -> Figures {
        let (from, to) = p.bounds();
        let mut acc = Figures::default();
        for f in by_month
            .range(from..=to)
            .flat_map(|(_, rows)| rows)
            .filter(|f| path.is_none_or(|p| f.key == p))
        {
            acc.add(f);
        }
        acc
    };
    let windows = |path: Option<&str>| Windows::of(periods, |p| over(p, path));
    // The place's and each place's open requests past their deadline, and escalated.
    let scopes: Vec<Scope> = std::iter::once(scope.clone())
        .chain(places.iter().map(|p| scope.narrowed_to(&p.region.path)))
        .collect();
    let overdue = RequestFilter {
        overdue_at: Some(now),
        ..RequestFilter::default()
    };
    let escalated = RequestFilter {
        escalated: true,
        open: Some(true),
        ..RequestFilter::default()
    };
    let overdue = crate::requests::listing::count_each(keys, conn, &scopes, &overdue)?;
    let escalated = crate::requests::listing::count_each(keys, conn, &scopes, &escalated)?;
    whole.requests = Some(RequestPart {
        figures: windows(None),
        overdue: overdue[0],
        escalated: escalated[0],
    });
    for (i, p) in places.iter_mut().enumerate() {
        p.requests = Some(RequestPart {
            figures: windows(Some(p.region.path.as_str())),
            overdue: overdue[i + 1],
            escalated: escalated[i + 1],
        });
    }
    Ok(periods
        .trend
        .each()
        .into_iter()
        .map(|m| {
            let mut f = Figures {
                key: m.clone(),
                ..Figures::default()
            };
            for r in by_month.get(&m).into_iter().flatten() {
                f.add(r);
            }
            (m, f)
        })
        .collect())
}

/// The register's part of a place (from its figures over every month the periods cover),
/// and its months of arrivals and departures over the trend.
fn registry_part(
    f: &crate::registry::stats::RegistryFigures,
    periods: &Periods,
) -> (RegistryPart, Vec<MonthMoves>) {
    let within = |m: &BTreeMap<String, i64>, p: Period| -> i64 {
        let (from, to) = p.bounds();
        m.range(from..=to).map(|(_, n)| n).sum()
    };
    let windows = |m: &BTreeMap<String, i64>| Windows::of(periods, |p| within(m, p));
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
    (
        RegistryPart {
            residents: f.residents,
            arrivals: windows(&f.arrivals),
            departures: windows(&f.departures),
            needs: Windows::default(),
        },
        months,
    )
}

/// Which of a figure's periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Now,
    Previous,
    YearBefore,
}

impl<T> Windows<T> {
    /// A figure of each of the board's periods.
    fn of(periods: &Periods, figure: impl Fn(Period) -> T) -> Self {
        Self {
            now: figure(periods.now),
            previous: figure(periods.previous),
            year_before: figure(periods.year_before),
        }
    }

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
                    Measure::NeedsMet => {
                        let n = r.needs.at(w);
                        Figures::rate(n.met, n.found)
                    }
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
    pub fn months(&self, m: Measure) -> Option<MonthValues> {
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
            Source::Registry if m == Measure::NeedsMet => Some(
                self.need_months
                    .as_ref()?
                    .iter()
                    .map(|(k, n)| (k.clone(), Figures::rate(n.met, n.found)))
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

/// How many of a place's evaluations the board shows: the newest first.
pub const EVALUATIONS_SHOWN: usize = 4;

/// An evaluation run at or below the place, as far as it has got: its units, the
/// self-assessments submitted, the units the first review has scored in full (once
/// published, every unit), and once published its grades and the units at the top.
#[derive(Debug, Clone)]
pub struct EvaluationPart {
    pub scheme: crate::evaluation::Scheme,
    pub units: i64,
    pub submitted: i64,
    pub first_reviewed: i64,
    /// Units per grade, in the scheme's order of grades (published only).
    pub grades: Vec<(String, i64)>,
    /// The first of each category's ranking (published only).
    pub top: Vec<crate::evaluation::results::Published>,
}

/// The evaluations the actor may follow (any way into them: `access::visible_schemes`) that
/// are run at or below `place` and out of draft, newest first.
pub fn evaluations(
    conn: &mut DbConnection,
    actor: &crate::scope::Actor,
    place: &Region,
) -> Result<Vec<EvaluationPart>, DbError> {
    use crate::evaluation::{self as eval, access, results, scores};
    use shiliu_domain::evaluation::{Round, Stage};
    let schemes: Vec<eval::Scheme> = access::visible_schemes(conn, actor)?
        .into_iter()
        .filter(|s| s.region_path.starts_with(&place.path) && s.stage() != Stage::Draft)
        .take(EVALUATIONS_SHOWN)
        .collect();
    let mut out = Vec::with_capacity(schemes.len());
    for scheme in schemes {
        let units = eval::participants(conn, &scheme)?.len() as i64;
        // Published: its stored results say all (how far it got is the whole way).
        if scheme.stage() == Stage::Published {
            let all = results::published(conn, &scheme)?;
            let grades = scheme
                .grades()
                .0
                .iter()
                .map(|(g, _)| {
                    (
                        g.clone(),
                        all.iter().filter(|r| &r.grade == g).count() as i64,
                    )
                })
                .collect();
            out.push(EvaluationPart {
                units,
                submitted: units,
                first_reviewed: units,
                grades,
                top: all.into_iter().filter(|r| r.rank == 1).collect(),
                scheme,
            });
            continue;
        }
        let progress = scores::progress(conn, scheme.id, None)?;
        let criteria = eval::tree(conn, &scheme)?.scored().len() as i64;
        let first_reviewed = progress
            .scored
            .iter()
            .filter(|((_, round), n)| {
                round == Round::First.as_str() && criteria > 0 && **n >= criteria
            })
            .count() as i64;
        out.push(EvaluationPart {
            units,
            submitted: progress.submitted.len() as i64,
            first_reviewed,
            grades: Vec::new(),
            top: Vec::new(),
            scheme,
        });
    }
    Ok(out)
}

/// A work plan in force over the place, with what its board is drawn from and its
/// rectifications (整改) past their deadline and still open.
#[derive(Debug, Clone)]
pub struct PlanPart {
    pub plan: crate::tasks::Plan,
    pub tree: crate::tasks::Tree,
    pub marks: Vec<crate::tasks::ledger::PairMarks>,
    pub findings_overdue: i64,
}

/// The plans in force run at or below `place`, in the caller's scope, newest first.
pub fn plans(
    conn: &mut DbConnection,
    can: &Can<grants::ViewTasks>,
    place: &Region,
) -> Result<Vec<PlanPart>, DbError> {
    use shiliu_domain::tasks::PlanStatus;
    let today = crate::today();
    let mut out = Vec::new();
    for plan in crate::tasks::plans(conn, can.scope())? {
        if plan.status() != PlanStatus::Active || !plan.region_path.starts_with(&place.path) {
            continue;
        }
        let tree = crate::tasks::tree(conn, &plan)?;
        let marks = crate::tasks::ledger::marks(conn, &plan)?;
        let findings_overdue = crate::tasks::inspections::of_plan(conn, &plan)?
            .iter()
            .filter(|f| f.overdue(today))
            .count() as i64;
        out.push(PlanPart {
            plan,
            tree,
            marks,
            findings_overdue,
        });
    }
    Ok(out)
}
