//! The request statistics page: figures per scope and period by category, channel, month or
//! site, as a table and an SVG chart drawn on the server.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use shiliu_db::stats::{self, Dimension, Figures};
use shiliu_domain::roles::Permission;
use shiliu_domain::{FieldError, FieldErrors};

use super::{Layout, render};
use crate::error::AppResult;
use crate::web::{AppState, Principal};

pub struct Bar {
    pub label: String,
    pub y: i64,
    pub received: i64,
    pub resolved: i64,
    pub received_w: i64,
    pub resolved_w: i64,
}

type Row = (String, i64, i64, String, String, String, String);

#[derive(Template)]
#[template(path = "request_stats.html")]
struct StatsPage {
    l: Layout,
    dimensions: Vec<(&'static str, String)>,
    by: &'static str,
    by_label: String,
    from: String,
    to: String,
    rows: Vec<Row>,
    total: Row,
    bars: Vec<Bar>,
    chart_width: i64,
    chart_height: i64,
    label_width: i64,
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

fn percent(per_mille: Option<i64>) -> String {
    per_mille.map_or_else(|| "—".into(), |v| format!("{}.{}%", v / 10, v % 10))
}

fn row(label: String, f: &Figures) -> Row {
    let hours = f
        .avg_handling_tenths_of_hours()
        .map_or_else(|| "—".into(), |v| format!("{}.{}", v / 10, v % 10));
    (
        label,
        f.received,
        f.resolved,
        percent(f.completion()),
        percent(f.on_time_rate()),
        percent(f.satisfaction()),
        hours,
    )
}

fn date(field: &str, s: &str, default: NaiveDate) -> Result<NaiveDate, FieldError> {
    if s.trim().is_empty() {
        return Ok(default);
    }
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| FieldError::new(field, "err.date"))
}

pub async fn page(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<StatsQuery>,
) -> AppResult<Response> {
    let actor = p.require(Permission::ViewRequests)?;
    let t = p.t();
    let by = Dimension::parse(&q.by).unwrap_or(Dimension::Category);
    let today = shiliu_domain::calendar::local(shiliu_db::now()).date();
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let mut errs = FieldErrors::new();
    let from = errs
        .check(date("from", &q.from, year_start))
        .unwrap_or(year_start);
    let to = errs.check(date("to", &q.to, today)).unwrap_or(today);
    errs.into_result()?;
    let engine = state.db.engine();
    let (from_t, to_t) = (
        super::local_day_start(from),
        super::local_day_start(to.succ_opt().unwrap_or(to)),
    );
    let (figures, cats, sites) = state
        .db
        .read(move |c| {
            let figures = stats::figures(c, engine, &actor.scope, from_t, to_t, by)?;
            let cats = shiliu_db::requests::categories(c, true)?;
            let mut sites = Vec::new();
            if by == Dimension::Site {
                let all = shiliu_db::scope::Scope::everything();
                for f in &figures {
                    if let Ok(id) = f.key.parse::<i64>() {
                        sites.push((f.key.clone(), shiliu_db::org::get_site(c, &all, id)?.name));
                    }
                }
            }
            Ok((figures, cats, sites))
        })
        .await?;
    let label = |key: &str| -> String {
        match by {
            Dimension::Category => cats.iter().find(|c| c.id.to_string() == key).map_or_else(
                || key.to_string(),
                |c| t.pick(&c.name, &c.name_en).to_string(),
            ),
            Dimension::Channel => t.label("channel", key),
            Dimension::Month => key.to_string(),
            Dimension::Site => sites
                .iter()
                .find(|(k, _)| k == key)
                .map_or_else(|| t.s("stats.no_site").to_string(), |(_, n)| n.clone()),
        }
    };
    let mut total = Figures::default();
    for f in &figures {
        total.add(f);
    }
    let max = figures.iter().map(|f| f.received).max().unwrap_or(1).max(1);
    // Sized for a 360-px phone, where the SVG is drawn at about its own scale.
    let (label_width, bar_space) = (104_i64, 200_i64);
    let bars = figures
        .iter()
        .enumerate()
        .map(|(i, f)| Bar {
            label: label(&f.key).chars().take(7).collect(),
            y: i as i64 * 26 + 4,
            received: f.received,
            resolved: f.resolved,
            received_w: f.received * bar_space / max,
            resolved_w: f.resolved * bar_space / max,
        })
        .collect::<Vec<_>>();
    let dim_label = |d: Dimension| t.s(&format!("stats.by_{}", d.as_str())).to_string();
    let page = StatsPage {
        l: Layout::new(&p, "nav.requests", t.s("stats.title")),
        dimensions: [
            Dimension::Category,
            Dimension::Channel,
            Dimension::Month,
            Dimension::Site,
        ]
        .iter()
        .map(|d| (d.as_str(), dim_label(*d)))
        .collect(),
        by: by.as_str(),
        by_label: dim_label(by),
        from: from.format("%Y-%m-%d").to_string(),
        to: to.format("%Y-%m-%d").to_string(),
        rows: figures.iter().map(|f| row(label(&f.key), f)).collect(),
        total: row(t.s("stats.total").to_string(), &total),
        chart_width: label_width + bar_space + 40,
        chart_height: bars.len() as i64 * 26 + 8,
        bars,
        label_width,
    };
    render(&page)
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentages() {
        assert_eq!(super::percent(Some(943)), "94.3%");
        assert_eq!(super::percent(None), "—");
    }
}
