//! The request statistics page: figures per scope and period by category, channel, month,
//! region or site, as a table and a chart drawn on the server — bars for the groups, and for
//! months a line beside the same months of the year before.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use shiliu_db::scope::grants;
use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate};
use serde::Deserialize;
use shiliu_db::requests::stats::{self, Dimension, Figures};
use shiliu_domain::{FieldError, FieldErrors};

use crate::web::charts::{MONTHS_HEIGHT, MONTHS_WIDTH, MonthChart, bar_length};
use crate::web::error::AppResult;
use crate::web::page::{Layout, render};
use crate::web::xlsx::Cell;
use crate::web::{AppState, Principal};

/// A group's row of the bar chart: its name, its received and resolved, and their bars'
/// lengths.
pub struct Bar {
    pub label: String,
    pub received: i64,
    pub resolved: i64,
    pub received_length: String,
    pub resolved_length: String,
}

/// One measure's months as a line beside the year before's.
pub struct Trend {
    /// `received` or `resolved`: names the figure, for its caption's id.
    pub measure: &'static str,
    pub title: String,
    pub chart: MonthChart,
}

type Row = (String, i64, i64, String, String, String, String);

#[derive(Template)]
#[template(path = "requests/request_stats.html")]
struct StatsPage {
    l: Layout,
    dimensions: Vec<(&'static str, String)>,
    by: &'static str,
    by_label: String,
    /// What the months are months of.
    basis: &'static str,
    from: String,
    to: String,
    query: String,
    /// Each group's row; by month, with its received and resolved in the same month a year
    /// before (None when there were no requests at all a year before).
    rows: Vec<(Row, Option<(i64, i64)>)>,
    total: (Row, Option<(i64, i64)>),
    /// The chart: bars by a group, or by month a line for received and one for resolved.
    bars: Vec<Bar>,
    trends: Vec<Trend>,
    months_width: i64,
    months_height: i64,
}

#[derive(Deserialize, Default)]
pub struct StatsQuery {
    #[serde(default)]
    by: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// The figures of one scope and period, each group labelled in the reader's language.
pub struct Report {
    pub by: Dimension,
    /// `YYYY-MM`, both included.
    pub from: String,
    pub to: String,
    pub groups: Vec<(String, Figures)>,
    pub total: Figures,
}

/// A share in per mille as the pages show it (94.3%), a dash with nothing to divide.
pub(crate) fn percent(per_mille: Option<i64>) -> String {
    per_mille.map_or_else(|| "—".into(), |v| format!("{}.{}%", v / 10, v % 10))
}

fn hours(f: &Figures) -> String {
    f.avg_handling_tenths_of_hours()
        .map_or_else(|| "—".into(), |v| format!("{}.{}", v / 10, v % 10))
}

/// 办结率, where it means something: by month of resolution a month's resolutions are not
/// a share of its receipts (they may be of any month's), so there is none.
pub(crate) fn completion(by: Dimension, f: &Figures) -> Option<i64> {
    (by != Dimension::ResolvedMonth)
        .then(|| f.completion())
        .flatten()
}

fn row(label: String, by: Dimension, f: &Figures) -> Row {
    (
        label,
        f.received,
        f.resolved,
        percent(completion(by, f)),
        percent(f.on_time_rate()),
        percent(f.satisfaction()),
        hours(f),
    )
}

/// A month `YYYY-MM` (a day `YYYY-MM-DD` stands for its month); empty: `default`.
pub(crate) fn month(field: &str, s: &str, default: NaiveDate) -> Result<NaiveDate, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(default);
    }
    let head = s.get(..7).filter(|_| s.len() == 7 || s.len() == 10);
    head.and_then(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok())
        .ok_or_else(|| FieldError::new(field, "err.month"))
}

impl StatsQuery {
    /// The dimension and the months, checked: by default this year up to this month.
    fn period(&self) -> Result<(Dimension, NaiveDate, NaiveDate), FieldErrors> {
        let mut errs = FieldErrors::new();
        let by = match self.by.trim() {
            "" => Dimension::Category,
            code => errs
                .check(Dimension::parse(code).ok_or_else(|| FieldError::new("by", "err.choice")))
                .unwrap_or(Dimension::Category),
        };
        let today = shiliu_domain::calendar::local(shiliu_db::now()).date();
        let this_month = today.with_day(1).unwrap_or(today);
        let year_start = this_month.with_month(1).unwrap_or(this_month);
        let from = errs.check(month("from", &self.from, year_start));
        let to = errs.check(month("to", &self.to, this_month));
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            errs.push(FieldError::new("to", "err.month_order"));
        }
        errs.into_result()?;
        Ok((by, from.unwrap_or(year_start), to.unwrap_or(this_month)))
    }
}

/// The report the page, its Excel download and the API show.
pub async fn report(state: &AppState, p: &Principal, q: &StatsQuery) -> AppResult<Report> {
    let actor = p.require::<grants::ViewRequests>()?;
    let t = p.t();
    let (by, from, to) = q.period()?;
    let (from, to) = (
        from.format("%Y-%m").to_string(),
        to.format("%Y-%m").to_string(),
    );
    let (f2, t2) = (from.clone(), to.clone());
    let scope_paths = actor.scope().paths().to_vec();
    let (figures, cats, names) = state
        .db
        .read(move |c| {
            let mut figures = stats::figures(c, actor.scope(), &f2, &t2, by)?;
            if by == Dimension::Region {
                with_every_region(c, actor.scope(), &mut figures)?;
            }
            if by_months(by) {
                figures = with_every_month(figures, every_month(&f2, &t2));
            }
            let cats = shiliu_db::requests::categories(c, true)?;
            let ids: Vec<i64> = figures
                .iter()
                .filter_map(|f| f.key.trim_end_matches('/').rsplit('/').next()?.parse().ok())
                .collect();
            let names = match by {
                Dimension::Site => shiliu_db::org::site_names(c, &ids)?,
                Dimension::Region => shiliu_db::org::region_names(c, &ids)?,
                _ => HashMap::new(),
            };
            Ok((figures, cats, names))
        })
        .await?;
    let name = |key: &str| -> Option<String> {
        let id: i64 = key.trim_end_matches('/').rsplit('/').next()?.parse().ok()?;
        names.get(&id).cloned()
    };
    let label = |key: &str| -> String {
        match by {
            Dimension::Category => cats.iter().find(|c| c.id.to_string() == key).map_or_else(
                || key.to_string(),
                |c| t.pick(&c.name, &c.name_en).to_string(),
            ),
            Dimension::Channel => t.label("channel", key),
            Dimension::Month | Dimension::ResolvedMonth => key.to_string(),
            Dimension::Site => name(key).unwrap_or_else(|| t.s("stats.no_site").to_string()),
            Dimension::Region => {
                let n = name(key).unwrap_or_else(|| key.to_string());
                // The scope's own region: requests that arose there, not below.
                if scope_paths.iter().any(|s| s == key) {
                    t.f("stats.itself", &[("name", &n)])
                } else {
                    n
                }
            }
        }
    };
    let mut total = Figures::default();
    for f in &figures {
        total.add(f);
    }
    Ok(Report {
        by,
        from,
        to,
        groups: figures.into_iter().map(|f| (label(&f.key), f)).collect(),
        total,
    })
}

/// The breakdown by region with every region one level below the scope's own, in code
/// order, those without requests as zeros (a region missing from the table reads as one not
/// reported, not as one with nothing to report); then what arose in the scope's region itself.
fn with_every_region(
    c: &mut shiliu_db::DbConnection,
    scope: &shiliu_db::scope::Scope,
    figures: &mut Vec<Figures>,
) -> Result<(), shiliu_db::DbError> {
    let mut below = Vec::new();
    for root in shiliu_db::org::scope_roots(c, scope)? {
        below.extend(shiliu_db::org::children(c, scope, root.id, false)?);
    }
    below.sort_by(|a, b| a.code.cmp(&b.code));
    let mut found: HashMap<String, Figures> =
        figures.drain(..).map(|f| (f.key.clone(), f)).collect();
    for r in &below {
        let f = found.remove(&r.path).unwrap_or_else(|| Figures {
            key: r.path.clone(),
            ..Figures::default()
        });
        figures.push(f);
    }
    let mut rest: Vec<Figures> = found.into_values().collect();
    rest.sort_by(|a, b| a.key.cmp(&b.key));
    figures.extend(rest);
    Ok(())
}

/// Whether the groups are months (drawn as a line, not as bars).
fn by_months(by: Dimension) -> bool {
    matches!(by, Dimension::Month | Dimension::ResolvedMonth)
}

/// Every month from `from` to `to` (`YYYY-MM`, both included), in order.
fn every_month(from: &str, to: &str) -> Vec<String> {
    let day = |m: &str| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok();
    let (Some(from), Some(to)) = (day(from), day(to)) else {
        return Vec::new();
    };
    std::iter::successors(Some(from), |m| {
        m.checked_add_months(Months::new(1)).filter(|n| *n <= to)
    })
    .map(|m| m.format("%Y-%m").to_string())
    .collect()
}

/// The figures by month with every month of the period, those without requests as zeros: a
/// month missing from the table reads as one not reported, and the line needs every month.
fn with_every_month(figures: Vec<Figures>, months: Vec<String>) -> Vec<Figures> {
    let mut found: HashMap<String, Figures> =
        figures.into_iter().map(|f| (f.key.clone(), f)).collect();
    months
        .into_iter()
        .map(|key| {
            found.remove(&key).unwrap_or(Figures {
                key,
                ..Figures::default()
            })
        })
        .collect()
}

/// The same months a year before a report by month, read through the same scoped figures:
/// None when there were no requests in them at all (a line of zeros would say there were
/// none, where there may only have been no platform yet).
async fn year_before(
    state: &AppState,
    p: &Principal,
    r: &Report,
) -> AppResult<Option<Vec<Figures>>> {
    let actor = p.require::<grants::ViewRequests>()?;
    let shift = |m: &str| -> Option<String> {
        let day = NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok()?;
        Some(
            day.checked_sub_months(Months::new(12))?
                .format("%Y-%m")
                .to_string(),
        )
    };
    let (Some(from), Some(to)) = (shift(&r.from), shift(&r.to)) else {
        return Ok(None);
    };
    let (by, months) = (r.by, every_month(&from, &to));
    let figures = state
        .db
        .read(move |c| stats::figures(c, actor.scope(), &from, &to, by))
        .await?;
    Ok((!figures.is_empty()).then(|| with_every_month(figures, months)))
}

/// The note that says what the months are months of.
fn basis(by: Dimension) -> &'static str {
    if by == Dimension::ResolvedMonth {
        "stats.basis_resolved"
    } else {
        "stats.basis"
    }
}

fn query_string(r: &Report) -> String {
    format!("by={}&from={}&to={}", r.by.as_str(), r.from, r.to)
}

pub async fn page(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<StatsQuery>,
) -> AppResult<Response> {
    let r = report(&state, &p, &q).await?;
    let t = p.t();
    let (mut bars, mut trends) = (Vec::new(), Vec::new());
    let mut year_before_rows: Vec<(i64, i64)> = Vec::new();
    if by_months(r.by) {
        let before = year_before(&state, &p, &r).await?;
        let months: Vec<String> = r.groups.iter().map(|(_, f)| f.key.clone()).collect();
        for measure in ["received", "resolved"] {
            let pick = |f: &Figures| {
                if measure == "received" {
                    f.received
                } else {
                    f.resolved
                }
            };
            let now: Vec<Option<i64>> = r.groups.iter().map(|(_, f)| Some(pick(f))).collect();
            let then: Option<Vec<Option<i64>>> = before
                .as_ref()
                .map(|b| b.iter().map(|f| Some(pick(f))).collect());
            if let Some(chart) = MonthChart::of(&months, &now, then.as_deref()) {
                trends.push(Trend {
                    measure,
                    title: t.s(&format!("stats.{measure}")).to_string(),
                    chart,
                });
            }
        }
        if let Some(before) = before {
            year_before_rows = before.iter().map(|f| (f.received, f.resolved)).collect();
        }
    } else {
        // One scale for both bars of every row: the longest bar is the largest figure.
        let longest = r
            .groups
            .iter()
            .map(|(_, f)| f.received.max(f.resolved))
            .max()
            .unwrap_or(0);
        bars = r
            .groups
            .iter()
            .map(|(label, f)| Bar {
                label: label.clone(),
                received: f.received,
                resolved: f.resolved,
                received_length: bar_length(f.received, longest),
                resolved_length: bar_length(f.resolved, longest),
            })
            .collect();
    }
    let dim_label = |d: Dimension| t.s(&format!("stats.by_{}", d.as_str())).to_string();
    let page = StatsPage {
        l: Layout::new(&p, "nav.requests", t.s("stats.title")),
        dimensions: Dimension::ALL
            .iter()
            .map(|d| (d.as_str(), dim_label(*d)))
            .collect(),
        by: r.by.as_str(),
        by_label: dim_label(r.by),
        query: query_string(&r),
        from: r.from.clone(),
        to: r.to.clone(),
        rows: r
            .groups
            .iter()
            .enumerate()
            .map(|(i, (l, f))| (row(l.clone(), r.by, f), year_before_rows.get(i).copied()))
            .collect(),
        total: (
            row(t.s("stats.total").to_string(), r.by, &r.total),
            (!year_before_rows.is_empty()).then(|| {
                year_before_rows
                    .iter()
                    .fold((0, 0), |(a, b), (x, y)| (a + x, b + y))
            }),
        ),
        basis: basis(r.by),
        bars,
        trends,
        months_width: MONTHS_WIDTH,
        months_height: MONTHS_HEIGHT,
    };
    render(&page)
}

/// The same table as an Excel sheet, with the counts behind each rate so an analyst can
/// recompute them.
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<StatsQuery>,
) -> AppResult<Response> {
    let r = report(&state, &p, &q).await?;
    let t = p.t();
    let by_label = t.s(&format!("stats.by_{}", r.by.as_str())).to_string();
    let mut headers = vec![by_label];
    headers.extend(
        [
            "stats.received",
            "stats.resolved",
            "stats.completion",
            "stats.resolved_with_deadline",
            "stats.on_time_count",
            "stats.on_time",
            "stats.rated",
            "stats.satisfied",
            "stats.satisfaction",
            "stats.avg_hours",
        ]
        .iter()
        .map(|k| t.s(k).to_string()),
    );
    let share = |v: Option<i64>| v.map_or(Cell::Empty, Cell::PerMille);
    let line = |label: &str, f: &Figures| -> Vec<Cell> {
        vec![
            Cell::from(label),
            Cell::Int(f.received),
            Cell::Int(f.resolved),
            share(completion(r.by, f)),
            Cell::Int(f.resolved_with_deadline),
            Cell::Int(f.on_time),
            share(f.on_time_rate()),
            Cell::Int(f.rated),
            Cell::Int(f.satisfied),
            share(f.satisfaction()),
            f.avg_handling_tenths_of_hours()
                .map_or(Cell::Empty, Cell::Tenths),
        ]
    };
    let mut rows: Vec<Vec<Cell>> = r.groups.iter().map(|(l, f)| line(l, f)).collect();
    rows.push(line(t.s("stats.total"), &r.total));
    let name = format!("{} {}–{}", t.s("stats.title"), r.from, r.to);
    Ok(crate::web::xlsx::download(
        &format!("{name}.xlsx"),
        crate::web::xlsx::sheet_with_note(
            t.s("stats.title"),
            &headers,
            &rows,
            Some(t.s(basis(r.by))),
        )?,
    ))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!())
        .route("/requests/stats", get(page))
        .route("/requests/stats.xlsx", get(export))
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentages() {
        assert_eq!(super::percent(Some(943)), "94.3%");
        assert_eq!(super::percent(None), "—");
        let d = |s| super::month("from", s, chrono::NaiveDate::MIN);
        assert_eq!(d("2026-03").unwrap().to_string(), "2026-03-01");
        assert_eq!(d("2026-03-31").unwrap().to_string(), "2026-03-01");
        assert_eq!(d("").unwrap(), chrono::NaiveDate::MIN);
        assert!(d("2026-13").is_err() && d("2026-3").is_err() && d("三月").is_err());
    }
}
