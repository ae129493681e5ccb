//! The activities' statistics as a page and a workbook: records, trainings, people reached and
//! materials handed out by kind, "十进" venue, region and month, over the list's filters (this
//! year's when none is given). Each table's bars are drawn beside it; every figure is in the
//! workbook as a number.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::Datelike;
use shiliu_db::activities::stats::{self, Figures, Stats};
use shiliu_db::activities::{self as db, Filter};
use shiliu_db::scope::grants;

use super::FilterQuery;
use crate::web::charts::bar_length;
use crate::web::error::AppResult;
use crate::web::i18n::T;
use crate::web::page::{Layout, render};
use crate::web::xlsx::{self, Cell};
use crate::web::{AppState, Principal};

pub(crate) fn routes() -> crate::Routes {
    crate::Routes::new(file!())
        .route("/activities/stats", get(page))
        .route("/activities/stats.xlsx", get(export))
}

/// One line of a breakdown: its name, figures and the bar of its records.
pub struct Cut {
    pub name: String,
    pub f: Figures,
    pub records: i64,
    pub length: String,
}

/// One breakdown (by kind, venue, region, month).
pub struct Section {
    pub key: &'static str,
    pub title: String,
    pub cuts: Vec<Cut>,
}

fn section(key: &'static str, t: T, cuts: Vec<(String, Figures)>) -> Section {
    let longest = cuts
        .iter()
        .map(|(_, f)| f.activities + f.trainings)
        .max()
        .unwrap_or(0);
    Section {
        key,
        title: t.s(&format!("activities.by_{key}")).to_string(),
        cuts: cuts
            .into_iter()
            .map(|(name, f)| Cut {
                records: f.activities + f.trainings,
                length: bar_length(f.activities + f.trainings, longest),
                name,
                f,
            })
            .collect(),
    }
}

fn sections(t: T, s: &Stats, terms: &std::collections::HashMap<i64, db::Term>) -> Vec<Section> {
    vec![
        section(
            "kind",
            t,
            s.by_kind
                .iter()
                .map(|(k, f)| {
                    let name = match k {
                        Some(_) => super::term_name(terms, *k),
                        None => t.s("activities.trainings").to_string(),
                    };
                    (name, *f)
                })
                .collect(),
        ),
        section(
            "venue",
            t,
            s.by_venue
                .iter()
                .map(|(v, f)| {
                    let name = v.map_or_else(
                        || t.s("activities.no_venue").to_string(),
                        |v| t.label("venue", v.as_str()),
                    );
                    (name, *f)
                })
                .collect(),
        ),
        section(
            "region",
            t,
            s.by_region
                .iter()
                .map(|(r, f)| (r.name.clone(), *f))
                .collect(),
        ),
        section(
            "month",
            t,
            s.by_month.iter().map(|(m, f)| (m.clone(), *f)).collect(),
        ),
    ]
}

#[derive(Template)]
#[template(path = "activities/stats.html")]
struct StatsPage {
    l: Layout,
    q: FilterQuery,
    query: String,
    total: Figures,
    sections: Vec<Section>,
    materials: Vec<stats::MaterialTotal>,
    kinds: Vec<(String, String)>,
    venues: Vec<(String, String)>,
    regions: crate::web::pickers::Picker,
}

/// The figures the address asks for; this year's when it names no days (the page's, the
/// workbook's and the API's).
pub(crate) async fn figures(
    state: &AppState,
    p: &Principal,
    mut q: FilterQuery,
) -> AppResult<(FilterQuery, Stats, std::collections::HashMap<i64, db::Term>)> {
    let actor = p.require::<grants::ViewActivities>()?;
    if q.from.is_empty() && q.to.is_empty() {
        let y = shiliu_db::today().year();
        q.from = format!("{y}-01-01");
        q.to = format!("{y}-12-31");
    }
    let f: Filter = super::pages::resolved(state, actor.scope(), &q).await?;
    let s = state
        .db
        .read(move |c| {
            let parents = stats::breakdown_regions(c, actor.scope(), f.within.as_ref())?;
            Ok((
                stats::stats(c, actor.scope(), &f, &parents)?,
                db::term_names(c)?,
            ))
        })
        .await?;
    Ok((q, s.0, s.1))
}

pub async fn page(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<FilterQuery>,
) -> AppResult<Response> {
    let t = p.t();
    let (q, s, terms) = figures(&state, &p, q).await?;
    let choices = super::pages::filter_choices(&state, &p, &q).await?;
    render(&StatsPage {
        l: Layout::new(&p, "nav.activities", t.s("activities.stats")),
        query: q.query_string(),
        sections: sections(t, &s, &terms),
        total: s.total,
        materials: s.materials,
        kinds: choices.kinds,
        venues: choices.venues,
        regions: choices.regions,
        q,
    })
}

pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<FilterQuery>,
) -> AppResult<Response> {
    let t = p.t();
    let (_, s, terms) = figures(&state, &p, q).await?;
    let headers: Vec<String> = [
        "activities.breakdown",
        "activities.item",
        "activities.count_activities",
        "field.participants",
        "activities.count_trainings",
        "activities.trainees",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    let mut rows: Vec<Vec<Cell>> = vec![figure_row(
        t.s("activities.total"),
        t.s("activities.total"),
        &s.total,
    )];
    for sec in sections(t, &s, &terms) {
        for c in &sec.cuts {
            rows.push(figure_row(&sec.title, &c.name, &c.f));
        }
    }
    for m in &s.materials {
        rows.push(vec![
            Cell::from(t.s("activities.materials")),
            Cell::from(format!("{}（{}）", m.name, m.unit_word).as_str()),
            Cell::Int(m.quantity),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ]);
    }
    Ok(xlsx::download(
        "activity-stats.xlsx",
        xlsx::sheet(t.s("activities.stats"), &headers, &rows)?,
    ))
}

fn figure_row(breakdown: &str, item: &str, f: &Figures) -> Vec<Cell> {
    vec![
        Cell::from(breakdown),
        Cell::from(item),
        Cell::Int(f.activities),
        Cell::Int(f.participants),
        Cell::Int(f.trainings),
        Cell::Int(f.trainees),
    ]
}
