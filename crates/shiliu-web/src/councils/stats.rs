//! The councils' statistics as a page and a workbook: meetings held and attendance, items
//! raised, decided, declined, done and done on time, by region and by month, over a range of
//! days (this year's when none is given) in the caller's scope or a region of it.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use shiliu_db::activities::stats::breakdown_regions;
use shiliu_db::councils::stats::{self, Figures, Stats};
use shiliu_db::org as org_db;
use shiliu_db::scope::grants;
use shiliu_domain::{FieldError, FieldErrors};

use crate::web::error::{AppError, AppResult};
use crate::web::i18n::T;
use crate::web::page::{Layout, render};
use crate::web::pickers::Picker;
use crate::web::xlsx::{self, Cell};
use crate::web::{AppState, Principal};

pub(crate) fn routes() -> crate::Routes {
    crate::Routes::new(file!())
        .route("/councils/stats", get(page))
        .route("/councils/stats.xlsx", get(export))
}

/// The statistics' address: a range of days and a region's code.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
pub struct StatsQuery {
    /// YYYY-MM-DD; with `to` empty too, this year.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// A region's code, or empty for the whole scope.
    #[serde(default)]
    pub region: String,
}

impl StatsQuery {
    fn query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    /// The days asked for, this year's when none are.
    fn range(&mut self) -> Result<(NaiveDate, NaiveDate), FieldErrors> {
        if self.from.is_empty() && self.to.is_empty() {
            let y = shiliu_db::today().year();
            self.from = format!("{y}-01-01");
            self.to = format!("{y}-12-31");
        }
        let mut errs = FieldErrors::new();
        let day = |field: &str, v: &str| {
            NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
                .map_err(|_| FieldError::new(field, "err.date"))
        };
        let from = errs.check(day("from", &self.from));
        let to = errs.check(day("to", &self.to));
        if let (Some(f), Some(t)) = (from, to)
            && (t < f || (t - f).num_days() > 3_660)
        {
            errs.push(FieldError::new("to", "err.councils.range"));
        }
        errs.into_result()?;
        match (from, to) {
            (Some(f), Some(t)) => Ok((f, t)),
            _ => Err(FieldError::new("from", "err.date").into()),
        }
    }
}

/// The figures the address asks for (the page's, the workbook's and the API's).
pub(crate) async fn figures(
    state: &AppState,
    p: &Principal,
    mut q: StatsQuery,
) -> AppResult<(StatsQuery, Stats)> {
    let actor = p.require::<grants::ViewCouncils>()?;
    let range = q.range().map_err(AppError::Invalid)?;
    let code = q.region.clone();
    let s = state
        .db
        .read(move |c| {
            let within = org_db::picked_region(c, actor.scope(), &code, "region")?;
            let regions = breakdown_regions(c, actor.scope(), within.as_ref())?;
            stats::stats(c, actor.scope(), within.as_ref(), range, &regions)
        })
        .await?;
    Ok((q, s))
}

/// One line: its name and figures, the on-time share in words.
pub struct Line {
    pub name: String,
    pub f: Figures,
    pub rate: String,
}

fn line(name: String, f: Figures) -> Line {
    Line {
        rate: f
            .on_time_per_mille()
            .map(|r| format!("{}.{} %", r / 10, r % 10))
            .unwrap_or_default(),
        name,
        f,
    }
}

#[derive(Template)]
#[template(path = "councils/stats.html")]
struct StatsPage {
    l: Layout,
    q: StatsQuery,
    query: String,
    total: Line,
    /// By region, then by month: the key of the breakdown's title and its lines.
    sections: Vec<(&'static str, Vec<Line>)>,
    picker: Picker,
}

pub async fn page(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<StatsQuery>,
) -> AppResult<Response> {
    let t = p.t();
    let (q, s) = figures(&state, &p, q).await?;
    let actor = p.require::<grants::ViewCouncils>()?;
    let code = q.region.clone();
    let around = state
        .db
        .read(move |c| org_db::choices_around_code(c, actor.scope(), &code))
        .await?;
    render(&StatsPage {
        l: Layout::new(&p, "nav.councils", t.s("councils.stats")),
        query: q.query_string(),
        total: line(t.s("councils.total").to_string(), s.total),
        sections: vec![
            (
                "activities.by_region",
                s.by_region
                    .into_iter()
                    .map(|(r, f)| line(r.name, f))
                    .collect(),
            ),
            (
                "activities.by_month",
                s.by_month.into_iter().map(|(m, f)| line(m, f)).collect(),
            ),
        ],
        picker: Picker::new("stats-region", "region", t.s("field.region"))
            .selected(q.region.clone())
            .blank(t.s("list.all"))
            .regions(around, t),
        q,
    })
}

/// The figures' column heads, in the page's order.
pub(crate) fn heads(t: T) -> Vec<String> {
    [
        "councils.meetings",
        "councils.attendance",
        "councils.items_raised",
        "councils.items_decided",
        "councils.items_declined",
        "councils.items_done",
        "councils.items_on_time",
        "councils.on_time_rate",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect()
}

pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<StatsQuery>,
) -> AppResult<Response> {
    let t = p.t();
    let (_, s) = figures(&state, &p, q).await?;
    let mut headers = vec![
        t.s("activities.breakdown").to_string(),
        t.s("activities.item").to_string(),
    ];
    headers.extend(heads(t));
    let row = |by: &str, name: &str, f: &Figures| -> Vec<Cell> {
        vec![
            Cell::from(by),
            Cell::from(name),
            Cell::Int(f.meetings),
            Cell::Int(f.attendance),
            Cell::Int(f.items_raised),
            Cell::Int(f.items_decided),
            Cell::Int(f.items_declined),
            Cell::Int(f.items_done),
            Cell::Int(f.items_on_time),
            f.on_time_per_mille().map_or(Cell::Empty, Cell::PerMille),
        ]
    };
    let total = t.s("councils.total");
    let mut rows = vec![row(total, total, &s.total)];
    let by_region = t.s("activities.by_region");
    for (r, f) in &s.by_region {
        rows.push(row(by_region, &r.name, f));
    }
    let by_month = t.s("activities.by_month");
    for (m, f) in &s.by_month {
        rows.push(row(by_month, m, f));
    }
    Ok(xlsx::download(
        "council-stats.xlsx",
        xlsx::sheet(t.s("councils.stats"), &headers, &rows)?,
    ))
}
