//! Results of an evaluation as pages: totals, ranks within each category, grades and the units
//! to commend (a preview for the organiser until publication, then for everyone taking part);
//! the differences between the two verifications; objections and their decisions; corrections
//! after publication; the same table as Excel, and the notice (通报) ready to print.

use crate::web::xlsx::Cell;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::DbError;
use shiliu_db::evaluation::access::{Access, access};
use shiliu_db::evaluation::results::{self, UnitResult};
use shiliu_db::evaluation::{self as db, scores};
use shiliu_domain::FieldErrors;
use shiliu_domain::evaluation::{Points, Round, Stage};

use crate::evaluation::scores::actor;
use crate::web::error::AppResult;
use crate::web::i18n::T;
use crate::web::page::{Layout, render, render_form, show_minute};
use crate::web::{AppState, Principal};

pub struct ResultRow {
    pub rank: usize,
    pub unit_id: i64,
    pub unit: String,
    pub areas: Vec<String>,
    pub bonus: String,
    pub deduction: String,
    pub total: String,
    pub grade: String,
    pub commended: bool,
}

pub struct CategoryTable {
    pub name: String,
    pub rows: Vec<ResultRow>,
}

/// An objection as the organiser decides it.
pub struct ObjectionRow {
    pub unit_id: i64,
    pub unit: String,
    pub criterion_id: i64,
    pub criterion: String,
    pub verified: String,
    pub asked: String,
    pub reason: String,
    pub decision: String,
}

/// Everything the results page and its exports show.
struct Board {
    a: Access,
    areas: Vec<String>,
    tables: Vec<CategoryTable>,
    differences: Vec<(String, String, String, String)>,
    objections: Vec<ObjectionRow>,
    corrections: Vec<(String, String, String, String, String, String)>,
    criteria: Vec<(i64, String)>,
    units: Vec<(i64, String)>,
}

fn rows_of(results: &[UnitResult], area_ids: &[i64], category: i64) -> Vec<ResultRow> {
    results
        .iter()
        .filter(|r| r.category_id == category)
        .map(|r| ResultRow {
            rank: r.rank,
            unit_id: r.unit_id,
            unit: r.unit_name.clone(),
            areas: area_ids
                .iter()
                .map(|a| {
                    r.total
                        .areas
                        .get(a)
                        .copied()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect(),
            bonus: r.total.bonus.to_string(),
            deduction: r.total.deduction.to_string(),
            total: r.total.total.to_string(),
            grade: r.grade.clone(),
            commended: r.commended,
        })
        .collect()
}

async fn board(state: &AppState, p: &Principal, id: i64) -> AppResult<Board> {
    let actor = actor(p)?;
    let t = p.t();
    Ok(state
        .db
        .read(move |c| {
            let a = access(c, &actor, id)?;
            // Before publication only the organiser sees results (a preview).
            if !a.organiser && a.scheme.stage() != Stage::Published {
                return Err(DbError::NotFound);
            }
            let s = a.scheme.clone();
            let tree = db::tree(c, &s)?;
            // The organiser's page lists the rounds' differences too: read the rounds once.
            let rounds = if a.organiser {
                Some(results::Rounds::load(c, id)?)
            } else {
                None
            };
            let verified = match &rounds {
                Some(r) if s.stage() != Stage::Published => results::merged(c, &s, r)?,
                _ => results::verified(c, &s)?,
            };
            let results = results::compute(c, &s, &tree, &verified)?;
            let units = db::participants(c, &s)?;
            let name_of = |u: i64| {
                units
                    .iter()
                    .find(|x| x.unit_id == u)
                    .map(|x| x.unit_name.clone())
                    .unwrap_or_default()
            };
            let code_of = |i: i64| {
                tree.nodes
                    .iter()
                    .find(|(x, _)| x.id == i)
                    .map(|(x, _)| format!("{} {}", x.code, x.name))
                    .unwrap_or_default()
            };
            let area_ids: Vec<i64> = tree.areas().map(|(a, _)| a.id).collect();
            let areas = tree
                .areas()
                .map(|(a, _)| format!("{} {}", a.code, a.name))
                .collect();
            let tables = db::categories(c, &s)?
                .into_iter()
                .map(|k| CategoryTable {
                    rows: rows_of(&results, &area_ids, k.id),
                    name: k.name,
                })
                .collect();
            let mut differences = Vec::new();
            let mut objections = Vec::new();
            if let Some(rounds) = &rounds {
                differences = rounds
                    .differences()
                    .into_iter()
                    .map(|(u, i, x, y)| (name_of(u), code_of(i), x.to_string(), y.to_string()))
                    .collect();
                let decisions = results::decisions(c, id)?;
                for o in scores::round_scores(c, id, Round::Objection)? {
                    let Some(reason) = o.note.clone() else {
                        continue;
                    };
                    let (u, i) = (o.unit_id, o.indicator_id);
                    let decision = decisions
                        .iter()
                        .find(|d| d.unit_id == u && d.indicator_id == i)
                        .map(|d| decision_text(d, t))
                        .unwrap_or_default();
                    objections.push(ObjectionRow {
                        unit_id: u,
                        unit: name_of(u),
                        criterion_id: i,
                        criterion: code_of(i),
                        verified: verified
                            .get(&(u, i))
                            .copied()
                            .unwrap_or_default()
                            .to_string(),
                        asked: o.points().map(|p| p.to_string()).unwrap_or_default(),
                        reason,
                        decision,
                    });
                }
            }
            let corrections = results::corrections(c, id)?
                .into_iter()
                .filter(|x| a.organiser || a.reader || a.own_unit == Some(x.unit_id))
                .map(|x| {
                    (
                        name_of(x.unit_id),
                        code_of(x.indicator_id),
                        Points(x.before_points).to_string(),
                        Points(x.after_points).to_string(),
                        x.reason,
                        format!("{} · {}", x.corrector, show_minute(x.corrected_at)),
                    )
                })
                .collect();
            Ok(Board {
                criteria: tree
                    .criteria()
                    .map(|x| (x.id, format!("{} {}", x.code, x.name)))
                    .collect(),
                units: units
                    .iter()
                    .map(|u| (u.unit_id, u.unit_name.clone()))
                    .collect(),
                a,
                areas,
                tables,
                differences,
                objections,
                corrections,
            })
        })
        .await?)
}

pub(crate) fn decision_text(d: &results::Decision, t: T) -> String {
    if d.accepted {
        t.f(
            "eval.accepted",
            &[
                (
                    "points",
                    &d.points.map(Points).unwrap_or_default().to_string(),
                ),
                ("reason", &d.reason),
            ],
        )
    } else {
        t.f("eval.rejected", &[("reason", &d.reason)])
    }
}

#[derive(Template)]
#[template(path = "evaluation/evaluation_results.html")]
struct ResultsPage {
    l: Layout,
    id: i64,
    published: bool,
    organiser: bool,
    deciding: bool,
    areas: Vec<String>,
    tables: Vec<CategoryTable>,
    differences: Vec<(String, String, String, String)>,
    objections: Vec<ObjectionRow>,
    corrections: Vec<(String, String, String, String, String, String)>,
    criteria: Vec<(i64, String)>,
    units: Vec<(i64, String)>,
    errors: Vec<(String, String)>,
}

fn results_page(p: &Principal, b: Board, errs: &FieldErrors, saved: bool) -> AppResult<Response> {
    let t = p.t();
    let s = &b.a.scheme;
    let title = format!("{} · {}", s.name, t.s("eval.results"));
    render_form(
        &ResultsPage {
            l: Layout::new(p, "nav.evaluations", &title).flash(saved),
            id: s.id,
            published: s.stage() == Stage::Published,
            organiser: b.a.organiser,
            deciding: b.a.organiser && matches!(s.stage(), Stage::Feedback | Stage::Final),
            areas: b.areas,
            tables: b.tables,
            differences: b.differences,
            objections: b.objections,
            corrections: b.corrections,
            criteria: b.criteria,
            units: b.units,
            errors: t.field_errors(errs),
        },
        !errs.is_empty(),
    )
}

pub async fn page(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    axum::extract::Query(saved): axum::extract::Query<crate::web::page::Saved>,
) -> AppResult<Response> {
    let b = board(&state, &p, id).await?;
    results_page(&p, b, &FieldErrors::new(), saved.yes())
}

/// The results table as Excel: the page's rows and columns.
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let b = board(&state, &p, id).await?;
    let t = p.t();
    let mut headers = vec![
        t.s("field.category_name").to_string(),
        t.s("eval.rank").to_string(),
        t.s("field.unit").to_string(),
    ];
    headers.extend(b.areas.iter().cloned());
    headers.extend(
        [
            "eval.bonus",
            "eval.deduction",
            "eval.total",
            "eval.grade",
            "eval.commended",
        ]
        .map(|k| t.s(k).to_string()),
    );
    let rows: Vec<Vec<Cell>> = b
        .tables
        .iter()
        .flat_map(|k| {
            k.rows.iter().map(|r| {
                let mut row = vec![
                    Cell::from(&k.name),
                    Cell::Int(i64::try_from(r.rank).unwrap_or(i64::MAX)),
                    Cell::from(&r.unit),
                ];
                row.extend(r.areas.iter().map(|a| Cell::figure(a)));
                row.extend([
                    Cell::figure(&r.bonus),
                    Cell::figure(&r.deduction),
                    Cell::figure(&r.total),
                    Cell::from(&r.grade),
                    Cell::from(if r.commended { t.s("eval.yes") } else { "" }),
                ]);
                row
            })
        })
        .collect();
    let bytes = crate::web::xlsx::sheet(t.s("eval.results"), &headers, &rows)?;
    Ok(crate::web::xlsx::download(
        &format!("{} · {}.xlsx", b.a.scheme.name, t.s("eval.results")),
        bytes,
    ))
}

#[derive(Template)]
#[template(path = "evaluation/evaluation_notice.html")]
struct NoticePage {
    t: T,
    version: &'static str,
    title: String,
    organiser: String,
    published: String,
    areas: Vec<String>,
    tables: Vec<CategoryTable>,
    commended: Vec<String>,
}

/// The notice (通报): published results on paper.
pub async fn notice(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let b = board(&state, &p, id).await?;
    let t = p.t();
    let s = &b.a.scheme;
    let commended = b
        .tables
        .iter()
        .flat_map(|k| {
            k.rows
                .iter()
                .filter(|r| r.commended)
                .map(|r| r.unit.clone())
        })
        .collect();
    render(&NoticePage {
        t,
        version: env!("CARGO_PKG_VERSION"),
        title: t.f("eval.notice_title", &[("name", &s.name)]),
        organiser: s.organiser.clone(),
        published: s
            .published_at
            .map_or_else(|| t.s("eval.preview").to_string(), show_minute),
        areas: b.areas,
        tables: b.tables,
        commended,
    })
}

#[derive(Deserialize)]
pub struct DecideForm {
    unit: i64,
    criterion: i64,
    #[serde(default)]
    accepted: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    reason: String,
}

/// After a decision or a correction: back to the results, or them again with the problem.
async fn after(
    state: &AppState,
    p: &Principal,
    id: i64,
    result: Result<(), DbError>,
) -> AppResult<Response> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/evaluations/{id}/results?saved=1")).into_response()),
        Err(DbError::Invalid(e)) => {
            let b = board(state, p, id).await?;
            results_page(p, b, &e, false)
        }
        Err(e) => Err(e.into()),
    }
}

fn optional_points(v: &str) -> Result<Option<Points>, DbError> {
    if v.trim().is_empty() {
        Ok(None)
    } else {
        Ok(Some(Points::parse("points", v)?))
    }
}

pub async fn decide(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<DecideForm>,
) -> AppResult<Response> {
    let actor = actor(&p)?;
    let result = state
        .db
        .write(move |c| {
            let a = access(c, &actor, id)?;
            let points = optional_points(&f.points)?;
            results::decide(
                c,
                &actor,
                &a,
                f.unit,
                f.criterion,
                f.accepted == "yes",
                points,
                &f.reason,
            )
            .map(|_| ())
        })
        .await;
    after(&state, &p, id, result).await
}

#[derive(Deserialize)]
pub struct CorrectForm {
    unit: i64,
    criterion: i64,
    #[serde(default)]
    points: String,
    #[serde(default)]
    reason: String,
}

pub async fn correct(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<CorrectForm>,
) -> AppResult<Response> {
    let actor = actor(&p)?;
    let result = state
        .db
        .write(move |c| {
            let a = access(c, &actor, id)?;
            let points = Points::parse("points", &f.points)?;
            results::correct(c, &actor, &a, f.unit, f.criterion, points, &f.reason).map(|_| ())
        })
        .await;
    after(&state, &p, id, result).await
}

// ---- Analysis ----

/// A horizontal bar of a chart drawn on the server.
pub struct HBar {
    pub label: String,
    pub y: i64,
    pub w: i64,
    pub value: String,
}

/// Bars for `(label, value)` pairs scaled to `width` at `max` (0 for none).
fn hbars(items: &[(String, f64, String)], max: f64, width: i64) -> Vec<HBar> {
    items
        .iter()
        .zip(0i64..)
        .map(|((label, v, text), i)| HBar {
            label: label.clone(),
            y: i * 22 + 4,
            #[allow(clippy::cast_possible_truncation)]
            w: if max > 0.0 {
                (v / max * width as f64).round() as i64
            } else {
                0
            },
            value: text.clone(),
        })
        .collect()
}

pub struct CategoryStats {
    pub name: String,
    pub units: usize,
    pub mean: String,
    pub min: String,
    pub max: String,
    /// Units per grade band.
    pub grades: Vec<HBar>,
}

#[derive(Template)]
#[template(path = "evaluation/evaluation_analysis.html")]
struct AnalysisPage {
    l: Layout,
    id: i64,
    categories: Vec<CategoryStats>,
    /// Criteria from the weakest (mean share of the maximum) up.
    criteria: Vec<(String, String, String, String, String)>,
    weakest: Vec<HBar>,
    /// (unit, last year, this year, change) where last year's scheme is published.
    years: Vec<(String, String, String, String)>,
    last_year: String,
}

/// Score distributions per category, every criterion's mean across units (weakest first), and
/// each unit's change from the scheme this one was copied from, once that one is published.
#[allow(clippy::too_many_lines)]
pub async fn analysis(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let actor = actor(&p)?;
    let t = p.t();
    let (s, tree, sheet, res, cats, before) = state
        .db
        .read(move |c| {
            let a = access(c, &actor, id)?;
            if !a.organiser {
                return Err(DbError::NotFound);
            }
            let s = a.scheme;
            let tree = db::tree(c, &s)?;
            let sheet = results::verified(c, &s)?;
            let res = results::compute(c, &s, &tree, &sheet)?;
            let before = results::previous(c, &s)?;
            let cats = db::categories(c, &s)?;
            Ok((s, tree, sheet, res, cats, before))
        })
        .await?;
    let grades = s.grades();
    let categories = cats
        .iter()
        .map(|k| {
            let mine: Vec<&UnitResult> = res.iter().filter(|r| r.category_id == k.id).collect();
            let totals: Vec<Points> = mine.iter().map(|r| r.total.total).collect();
            let sum: i64 = totals.iter().map(|x| x.0).sum();
            let n = i64::try_from(totals.len()).unwrap_or(1).max(1);
            let counts: Vec<(String, f64, String)> = grades
                .0
                .iter()
                .map(|(g, _)| {
                    let c = mine.iter().filter(|r| &r.grade == g).count();
                    #[allow(clippy::cast_precision_loss)]
                    (g.clone(), c as f64, c.to_string())
                })
                .collect();
            #[allow(clippy::cast_precision_loss)]
            let most = counts.iter().map(|x| x.1).fold(0.0, f64::max);
            CategoryStats {
                name: k.name.clone(),
                units: mine.len(),
                mean: Points(sum / n).to_string(),
                min: totals.iter().min().copied().unwrap_or_default().to_string(),
                max: totals.iter().max().copied().unwrap_or_default().to_string(),
                grades: hbars(&counts, most, 240),
            }
        })
        .collect();
    let units = res.len().max(1);
    let mut per: Vec<(f64, String, String, String, String, String)> = tree
        .criteria()
        .filter(|c| c.kind() == shiliu_domain::evaluation::CriterionKind::Standard)
        .map(|c| {
            let got: Vec<Points> = res
                .iter()
                .map(|r| sheet.get(&(r.unit_id, c.id)).copied().unwrap_or_default())
                .collect();
            let sum: i64 = got.iter().map(|x| x.0).sum();
            #[allow(clippy::cast_precision_loss)]
            let share = if c.max().0 > 0 {
                sum as f64 / units as f64 / c.max().0 as f64
            } else {
                0.0
            };
            #[allow(clippy::cast_possible_wrap)]
            let mean = Points(sum / units as i64);
            (
                share,
                format!("{} {}", c.code, c.name),
                mean.to_string(),
                c.max().to_string(),
                got.iter().min().copied().unwrap_or_default().to_string(),
                format!("{:.0}%", share * 100.0),
            )
        })
        .collect();
    per.sort_by(|a, b| a.0.total_cmp(&b.0));
    let weakest_items: Vec<(String, f64, String)> = per
        .iter()
        .take(10)
        .map(|x| (x.1.chars().take(24).collect(), x.0, x.5.clone()))
        .collect();
    let criteria = per.into_iter().map(|x| (x.1, x.2, x.3, x.4, x.5)).collect();
    let (years, last_year) = match before {
        Some((year, prev)) => (
            res.iter()
                .filter_map(|r| {
                    let old = prev.iter().find(|x| x.unit_id == r.unit_id)?.total.total;
                    let change = r.total.total - old;
                    let sign = if change.0 > 0 { "+" } else { "" };
                    Some((
                        r.unit_name.clone(),
                        old.to_string(),
                        r.total.total.to_string(),
                        format!("{sign}{change}"),
                    ))
                })
                .collect(),
            year.to_string(),
        ),
        None => (Vec::new(), String::new()),
    };
    render(&AnalysisPage {
        l: Layout::new(
            &p,
            "nav.evaluations",
            &format!("{} · {}", s.name, t.s("eval.analysis")),
        ),
        id,
        categories,
        weakest: hbars(&weakest_items, 1.0, 240),
        criteria,
        years,
        last_year,
    })
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/evaluations/{id}/results", get(page))
        .route("/evaluations/{id}/results.xlsx", get(export))
        .route("/evaluations/{id}/analysis", get(analysis))
        .route("/evaluations/{id}/notice", get(notice))
        .route("/evaluations/{id}/objections", post(decide))
        .route("/evaluations/{id}/corrections", post(correct))
}
