//! The register's statistics page and its Excel export: residents by region, by 民族, by
//! 户籍地 (province and county), by employment and by tag as bars; arrivals and departures by
//! month as lines beside the same months of the year before. A cell of the breakdowns by 民族
//! or 户籍地 showing fewer people than the configured minimum is withheld, unnamed, and the
//! rest rounded to a multiple of it — on the page and in the export alike — so no one can be
//! singled out from a published table, nor a withheld cell recovered from the pages of the
//! regions above and below (`shiliu_domain::registry::suppress`).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Datelike, Months};
use serde::Deserialize;
use shiliu_db::org::{self as org_db, Region};
use shiliu_db::registry::needs::NeedFigures;
use shiliu_db::registry::stats::{self as db, RegistryFigures};
use shiliu_db::scope::grants;
use shiliu_domain::registry::needs::ServiceKind;
use shiliu_domain::registry::suppress;
use shiliu_domain::{FieldError, FieldErrors, divisions, peoples};

use crate::requests::stats::month;
use crate::web::charts::{MONTHS_HEIGHT, MONTHS_WIDTH, MonthChart, bar_length};
use crate::web::error::AppResult;
use crate::web::i18n::T;
use crate::web::page::{Layout, render};
use crate::web::pickers::Picker;
use crate::web::xlsx::Cell as XlsxCell;
use crate::web::{AppState, Principal};

/// One row of a breakdown: label, the figure (`None`: withheld), and its bar's length.
pub struct Cell {
    pub label: String,
    pub value: Option<i64>,
    pub length: String,
    /// A month's figure a year before, in a section by month that has one.
    pub year_before: Option<i64>,
}

pub struct Section {
    pub title: String,
    pub cells: Vec<Cell>,
    /// A section by month: its months as a line, beside the year before's, instead of bars.
    pub trend: Option<MonthChart>,
    /// Some cells were withheld.
    pub suppressed: bool,
    /// The figures are rounded (a breakdown by 民族 or 户籍地).
    pub rounded: bool,
}

#[derive(Deserialize, Default)]
pub struct StatsQuery {
    /// A region code inside the reader's scope (default: the scope itself).
    #[serde(default)]
    region: String,
    /// `YYYY-MM`, the window of arrivals and departures.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// A section of figures. With `min` (a breakdown by 民族 or 户籍地) its cells are published
/// as `suppress` says — small cells withheld, the rest rounded — and the withheld ones as one
/// row, `other`, without naming them; sorted again by what is shown.
fn section(title: String, rows: Vec<(String, i64)>, min: Option<(i64, &str)>) -> Section {
    let values: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let (shown, other) = match min {
        Some((m, other)) => (suppress(&values, m), Some(other)),
        None => (values.iter().map(|v| Some(*v)).collect(), None),
    };
    let max = shown.iter().flatten().copied().max().unwrap_or(1).max(1);
    let suppressed = shown.iter().any(Option::is_none);
    let mut cells: Vec<Cell> = rows
        .into_iter()
        .zip(shown)
        .filter_map(|((label, _), value)| {
            value.map(|v| Cell {
                label,
                length: bar_length(v, max),
                value: Some(v),
                year_before: None,
            })
        })
        .collect();
    if other.is_some() {
        cells.sort_by(|a, b| b.value.cmp(&a.value).then(a.label.cmp(&b.label)));
    }
    if let (true, Some(other)) = (suppressed, other) {
        cells.push(Cell {
            label: other.to_string(),
            value: None,
            length: bar_length(0, max),
            year_before: None,
        });
    }
    Section {
        title,
        suppressed,
        rounded: min.is_some_and(|(m, _)| m > 1),
        cells,
        trend: None,
    }
}

/// A section by month: `now` per month of the period, `before` (None: nothing was recorded a
/// year before) per the same months a year earlier, drawn as lines and listed in one table.
fn months_section(title: String, now: Vec<(String, i64)>, before: Option<Vec<i64>>) -> Section {
    let (months, figures): (Vec<String>, Vec<Option<i64>>) =
        now.iter().map(|(m, n)| (m.clone(), Some(*n))).unzip();
    let earlier: Option<Vec<Option<i64>>> = before
        .as_ref()
        .map(|b| b.iter().copied().map(Some).collect());
    let mut section = section(title, now, None);
    for (cell, b) in section.cells.iter_mut().zip(before.iter().flatten()) {
        cell.year_before = Some(*b);
    }
    section.trend = MonthChart::of(&months, &figures, earlier.as_deref());
    section
}

/// The figures the page and the export show: sections in reading order, and the heading.
pub struct Report {
    pub place: String,
    pub from: String,
    pub to: String,
    pub totals: Vec<(String, i64)>,
    pub sections: Vec<Section>,
    pub min_cell: i64,
}

#[allow(clippy::too_many_lines)]
async fn report(state: &AppState, p: &Principal, q: &StatsQuery) -> AppResult<Report> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let t = p.t();
    let today = shiliu_db::today();
    let this_month = today.with_day(1).unwrap_or(today);
    let mut errs = FieldErrors::new();
    let from = errs.check(month("from", &q.from, this_month - Months::new(11)));
    let to = errs.check(month("to", &q.to, this_month));
    errs.into_result()?;
    let (from, to) = (from.unwrap_or(this_month), to.unwrap_or(this_month));
    if to < from {
        return Err(FieldErrors::from(FieldError::new("to", "err.month_order")).into());
    }
    let last_day = to + Months::new(1) - chrono::Duration::days(1);
    // Arrivals and departures are the only figures over a period: read from a year earlier,
    // they give the year before's months too, in the same snapshot.
    let year_earlier = from - Months::new(12);
    let code = q.region.trim().to_string();
    let (root, children, (figures, served)): (
        Option<Region>,
        Vec<Region>,
        (RegistryFigures, NeedFigures),
    ) = state
        .db
        .read(move |c| {
            let root = if code.is_empty() {
                let roots = org_db::scope_roots(c, actor.scope())?;
                (roots.len() == 1)
                    .then(|| roots.into_iter().next())
                    .flatten()
            } else {
                Some(
                    org_db::get_region_by_code(c, actor.scope(), &code)
                        .map_err(|_| shiliu_db::DbError::invalid("region", "err.region.unknown"))?,
                )
            };
            let scope = match &root {
                Some(r) => actor.scope().narrowed_to(&r.path),
                None => actor.scope().clone(),
            };
            let children = match &root {
                Some(r) => org_db::children(c, &scope, r.id, true)?,
                None => org_db::scope_roots(c, actor.scope())?,
            };
            Ok((
                root,
                children,
                (
                    db::figures(c, &scope, year_earlier, last_day)?,
                    shiliu_db::registry::needs::figures(c, &scope, from, last_day)?,
                ),
            ))
        })
        .await?;
    let min = state.config.min_cell;
    let other = t.s("registry.withheld_together");
    // Residents per child region of the root (or per root, for a scope of several), every
    // active one with its zero too: a region missing reads as one not reported. A region
    // since closed appears while people are still registered in it.
    let by_child: Vec<(String, i64)> = children
        .iter()
        .filter_map(|r| {
            let n = figures
                .by_region
                .iter()
                .find(|(p, _)| *p == r.path)
                .map_or(0, |x| x.1);
            (r.active || n > 0).then(|| (r.name.clone(), n))
        })
        .collect();
    let mut by_people: Vec<(String, i64)> = figures
        .by_people
        .iter()
        .map(|(code, n)| {
            (
                peoples::by_code(code).map_or_else(|| code.clone(), |x| x.name.to_string()),
                *n,
            )
        })
        .collect();
    by_people.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut provinces: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for (code, n) in &figures.by_hukou {
        *provinces.entry(code.chars().take(2).collect()).or_insert(0) += n;
    }
    let mut by_province: Vec<(String, i64)> = provinces
        .into_iter()
        .map(|(code, n)| {
            (
                divisions::province_name(&code).map_or(code, str::to_string),
                n,
            )
        })
        .collect();
    by_province.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut by_county: Vec<(String, i64)> = figures
        .by_hukou
        .iter()
        .map(|(code, n)| {
            (
                divisions::full_name(code).unwrap_or_else(|| code.clone()),
                *n,
            )
        })
        .collect();
    by_county.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let employment = figures
        .by_employment
        .iter()
        .map(|(e, n)| {
            let label = e.as_deref().map_or_else(
                || t.s("registry.not_recorded").to_string(),
                |e| t.label("employment", e),
            );
            (label, *n)
        })
        .collect();
    let tags = figures
        .by_tag
        .iter()
        .map(|(k, n)| (t.label("person_tag", k), *n))
        .collect();
    let months_from = |first: chrono::NaiveDate| {
        std::iter::successors(Some(first), |m| Some(*m + Months::new(1)))
            .map(|m| m.format("%Y-%m").to_string())
    };
    let months: Vec<String> = months_from(from)
        .take_while(|m| *m <= to.format("%Y-%m").to_string())
        .collect();
    let earlier_months: Vec<String> = months_from(year_earlier).take(months.len()).collect();
    let per_month = |m: &std::collections::BTreeMap<String, i64>| -> Vec<(String, i64)> {
        months
            .iter()
            .map(|k| (k.clone(), m.get(k).copied().unwrap_or(0)))
            .collect()
    };
    // The year before is drawn only where something was recorded in it: a line of zeros
    // would say nobody came, where the register may simply not have been kept yet.
    let recorded_before = [&figures.arrivals, &figures.departures]
        .iter()
        .any(|m| m.range(..from.format("%Y-%m").to_string()).next().is_some());
    let year_before = |m: &std::collections::BTreeMap<String, i64>| -> Option<Vec<i64>> {
        recorded_before.then(|| {
            earlier_months
                .iter()
                .map(|k| m.get(k).copied().unwrap_or(0))
                .collect()
        })
    };
    let needs_by = |pick: fn(&(String, i64, i64, i64)) -> i64| -> Vec<(String, i64)> {
        served
            .needs
            .iter()
            .map(|n| (t.label("need_kind", &n.0), pick(n)))
            .collect()
    };
    let (found, met) = served
        .needs
        .iter()
        .fold((0, 0), |a, n| (a.0 + n.1, a.1 + n.2));
    let placed = served
        .services
        .iter()
        .find(|x| x.0 == ServiceKind::JobPlacement.as_str())
        .map_or(0, |x| x.2);
    let paid: i64 = served.services.iter().map(|x| x.3).sum();
    Ok(Report {
        place: root.map_or_else(|| s(t, "registry.stats_all"), |r| r.name),
        from: from.format("%Y-%m").to_string(),
        to: to.format("%Y-%m").to_string(),
        totals: vec![
            (s(t, "registry.residents"), figures.residents),
            (s(t, "registry.households"), figures.households),
            (s(t, "registry.moved_out_total"), figures.moved_out),
            (s(t, "registry.needs_found"), found),
            (s(t, "registry.needs_met"), met),
            (s(t, "registry.jobs_placed"), placed),
            (s(t, "registry.subsidies_paid"), paid / 100),
        ],
        sections: vec![
            section(s(t, "registry.by_region"), by_child, None),
            section(s(t, "registry.by_people"), by_people, Some((min, other))),
            section(
                s(t, "registry.by_province"),
                by_province,
                Some((min, other)),
            ),
            section(s(t, "registry.by_county"), by_county, Some((min, other))),
            section(s(t, "registry.by_employment"), employment, None),
            section(s(t, "registry.by_tag"), tags, None),
            months_section(
                s(t, "registry.arrivals"),
                per_month(&figures.arrivals),
                year_before(&figures.arrivals),
            ),
            months_section(
                s(t, "registry.departures"),
                per_month(&figures.departures),
                year_before(&figures.departures),
            ),
            section(s(t, "registry.needs_by_kind"), needs_by(|n| n.1), None),
            section(s(t, "registry.needs_met_by_kind"), needs_by(|n| n.2), None),
            section(
                s(t, "registry.served_by_kind"),
                served
                    .services
                    .iter()
                    .map(|x| (t.label("service_kind", &x.0), x.2))
                    .collect(),
                None,
            ),
        ],
        min_cell: min,
    })
}

#[derive(Template)]
#[template(path = "registry/registry_stats.html")]
struct StatsPage {
    l: Layout,
    r: Report,
    region: String,
    note: String,
    months_width: i64,
    months_height: i64,
    /// The region whose figures are shown: the regions in scope.
    regions: Picker,
}

fn note(t: T, min: i64) -> String {
    t.f("registry.suppressed_note", &[("n", &min.to_string())])
}

pub async fn page(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<StatsQuery>,
) -> AppResult<Response> {
    let r = report(&state, &p, &q).await?;
    let t = p.t();
    let actor = p.require::<grants::ViewRegistry>()?;
    let code = q.region.clone();
    let around = state
        .db
        .read(move |c| {
            let current = org_db::picked_region(c, actor.scope(), &code, "region")?;
            org_db::choices_around(c, actor.scope(), current.as_ref())
        })
        .await?;
    render(&StatsPage {
        l: Layout::new(&p, "nav.registry", t.s("registry.stats")),
        note: note(t, r.min_cell),
        regions: Picker::new("stats-region", "region", t.s("field.region"))
            .selected(q.region.clone())
            .regions(around, t),
        region: q.region,
        months_width: MONTHS_WIDTH,
        months_height: MONTHS_HEIGHT,
        r,
    })
}

/// The same sections in one sheet; withheld cells stay withheld.
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<StatsQuery>,
) -> AppResult<Response> {
    let r = report(&state, &p, &q).await?;
    let t = p.t();
    let headers = vec![
        s(t, "registry.section"),
        s(t, "registry.item"),
        s(t, "registry.people_n"),
    ];
    let mut rows: Vec<Vec<XlsxCell>> = r
        .totals
        .iter()
        .map(|(k, n)| {
            vec![
                XlsxCell::from(&r.place),
                XlsxCell::from(k),
                XlsxCell::Int(*n),
            ]
        })
        .collect();
    for sec in &r.sections {
        for c in &sec.cells {
            rows.push(vec![
                XlsxCell::from(&sec.title),
                XlsxCell::from(&c.label),
                // A withheld cell stays a dash: no number to add up to it.
                c.value.map_or_else(|| XlsxCell::from("—"), XlsxCell::Int),
            ]);
        }
    }
    rows.push(vec![
        XlsxCell::Empty,
        XlsxCell::from(note(t, r.min_cell)),
        XlsxCell::Empty,
    ]);
    let name = format!("{} {} {}–{}", t.s("registry.stats"), r.place, r.from, r.to);
    Ok(crate::web::xlsx::download(
        &format!("{name}.xlsx"),
        crate::web::xlsx::sheet(t.s("registry.stats"), &headers, &rows)?,
    ))
}

fn s(t: T, k: &str) -> String {
    t.s(k).to_string()
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!())
        .route("/registry/stats", get(page))
        .route("/registry/stats.xlsx", get(export))
}
