//! The dashboard through the API: a place's figures and those of each place below it, for the
//! period, the period before and the same months a year before, with the place's months and
//! what needs attention — the page's figures, for a wall screen or a report built elsewhere.

use axum::Json;
use axum::extract::{Query, State};
use serde::Serialize;
use shiliu_db::dashboard::{MonthValues, Place, When};
use shiliu_domain::dashboard::{Measure, Unit};
use shiliu_domain::tasks::Progress;
use utoipa::{OpenApi, ToSchema};

use super::pages::{BoardQuery, flags, read};
use crate::web::error::AppResult;
use crate::web::{AppState, Principal};

#[derive(OpenApi)]
#[openapi(
    paths(board),
    components(schemas(
        BoardDto,
        PlaceDto,
        FigureDto,
        MonthDto,
        MonthFigureDto,
        FlagDto,
        EvaluationDto,
        GradeDto,
        DashboardPlanDto
    ))
)]
pub struct Doc;

/// One measure of a place: counts as integers, shares as fractions (0.943); absent where
/// there is nothing to divide by, and for a figure of how things stand now (`overdue`,
/// `escalated`, `residents`) in the earlier periods.
#[derive(Serialize, ToSchema)]
pub struct FigureDto {
    measure: &'static str,
    #[schema(value_type = Option<f64>)]
    now: Option<serde_json::Value>,
    #[schema(value_type = Option<f64>)]
    previous: Option<serde_json::Value>,
    #[schema(value_type = Option<f64>)]
    year_before: Option<serde_json::Value>,
}

/// A place (a region) with its figures.
#[derive(Serialize, ToSchema)]
pub struct PlaceDto {
    /// The region's division code.
    code: String,
    name: String,
    figures: Vec<FigureDto>,
}

/// One month of the trend, `YYYY-MM`, with each measure kept by month.
#[derive(Serialize, ToSchema)]
pub struct MonthDto {
    month: String,
    figures: Vec<MonthFigureDto>,
}

/// A measure in one month (as [`FigureDto`]'s `now`).
#[derive(Serialize, ToSchema)]
pub struct MonthFigureDto {
    measure: &'static str,
    #[schema(value_type = Option<f64>)]
    value: Option<serde_json::Value>,
}

/// Something that needs attention: how many, where, and the list of them.
#[derive(Serialize, ToSchema)]
pub struct FlagDto {
    /// `escalated` or `overdue` (requests open now, in a region), `tasks_overdue` (a plan's
    /// reports owed past their deadline) or `findings_overdue` (its rectifications past theirs).
    kind: &'static str,
    /// The region's division code (requests) — absent for a plan's.
    code: Option<String>,
    /// The region's or the plan's name.
    name: String,
    /// The plan's id (a plan's flags).
    plan_id: Option<i64>,
    count: i64,
    /// The page listing them (relative URL).
    href: String,
}

/// An evaluation run at or below the place (for those with a way into evaluations).
#[derive(Serialize, ToSchema)]
pub struct EvaluationDto {
    id: i64,
    year: i32,
    name: String,
    stage: String,
    /// The units taking part, their self-assessments submitted, and the units the first
    /// review has scored in full.
    units: i64,
    submitted: i64,
    first_reviewed: i64,
    /// Once published: units per grade, in the scheme's order of grades.
    grades: Vec<GradeDto>,
}

#[derive(Serialize, ToSchema)]
pub struct GradeDto {
    grade: String,
    units: i64,
}

/// A work plan in force over the place, its (task, unit) pairs by standing today.
#[derive(Serialize, ToSchema)]
pub struct DashboardPlanDto {
    id: i64,
    name: String,
    not_started: i64,
    in_progress: i64,
    done: i64,
    overdue: i64,
    lagging: i64,
    /// Rectifications past their deadline and still open.
    findings_overdue: i64,
}

#[derive(Serialize, ToSchema)]
pub struct BoardDto {
    /// The place (the caller's own region unless `region` asked for one within it).
    place: PlaceDto,
    /// Each place one level below, in code order, every one of them (zeros included).
    places: Vec<PlaceDto>,
    /// The measure chosen (the page's map colours and ranks by it).
    measure: &'static str,
    /// The period (months `YYYY-MM`, both included), the period before (环比) and the same
    /// months a year before (同比).
    from: String,
    to: String,
    previous_from: String,
    previous_to: String,
    year_before_from: String,
    year_before_to: String,
    /// The place's last 24 months to the period's end, the year before first.
    months: Vec<MonthDto>,
    attention: Vec<FlagDto>,
    /// Absent when the caller has no way into evaluations (or may not read plans).
    evaluations: Option<Vec<EvaluationDto>>,
    plans: Option<Vec<DashboardPlanDto>>,
}

/// A figure as the API writes it.
fn value(m: Measure, v: Option<i64>) -> Option<serde_json::Value> {
    v.map(|v| match m.unit() {
        Unit::Count => serde_json::Value::from(v),
        Unit::PerMille => serde_json::Value::from(v as f64 / 1000.0),
    })
}

fn place(p: &Place, visible: &[Measure]) -> PlaceDto {
    PlaceDto {
        code: p.region.code.clone(),
        name: p.region.name.clone(),
        figures: visible
            .iter()
            .map(|&m| FigureDto {
                measure: m.as_str(),
                now: value(m, p.value(m, When::Now)),
                previous: value(m, p.value(m, When::Previous)),
                year_before: value(m, p.value(m, When::YearBefore)),
            })
            .collect(),
    }
}

/// The dashboard of a place in the caller's scope: the same figures as `/dashboard`, for the
/// modules the caller may read.
#[utoipa::path(get, path = "/api/v1/dashboard",
    params(
        ("region" = Option<String>, Query, description = "a region's division code within the caller's scope (default: the scope's own region)"),
        ("measure" = Option<String>, Query, description = "what the places are compared by (default: the first the caller may see)"),
        ("from" = Option<String>, Query, description = "first month, YYYY-MM (default: January this year)"),
        ("to" = Option<String>, Query, description = "last month, YYYY-MM (default: this month)")),
    responses((status = 200, body = BoardDto), (status = 401, body = crate::web::api::ErrorBody),
        (status = 403, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn board(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<BoardQuery>,
) -> AppResult<Json<BoardDto>> {
    let r = read(&state, &p, &q).await?;
    let period = r.asked.period;
    let ((from, to), (previous_from, previous_to), (year_before_from, year_before_to)) = (
        period.bounds(),
        period.previous().bounds(),
        period.year_before().bounds(),
    );
    let by_month: Vec<(Measure, MonthValues)> = r
        .visible
        .iter()
        .filter_map(|&m| Some((m, r.board.months(m)?)))
        .collect();
    let months = by_month
        .first()
        .map(|(_, ms)| ms.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, month)| MonthDto {
            month,
            figures: by_month
                .iter()
                .map(|(m, ms)| MonthFigureDto {
                    measure: m.as_str(),
                    value: value(*m, ms.get(i).and_then(|(_, v)| *v)),
                })
                .collect(),
        })
        .collect();
    Ok(Json(BoardDto {
        place: place(&r.board.whole, &r.visible),
        places: r.board.parts.iter().map(|x| place(x, &r.visible)).collect(),
        measure: r.asked.measure.as_str(),
        from,
        to,
        previous_from,
        previous_to,
        year_before_from,
        year_before_to,
        months,
        attention: flags(&r)
            .into_iter()
            .map(|f| FlagDto {
                kind: f.kind,
                code: f.region.map(|x| x.code.clone()),
                name: f
                    .region
                    .map(|x| x.name.clone())
                    .or_else(|| f.plan.map(|x| x.name.clone()))
                    .unwrap_or_default(),
                plan_id: f.plan.map(|x| x.id),
                count: f.count,
                href: f.href,
            })
            .collect(),
        evaluations: r.evaluations.as_ref().map(|all| {
            all.iter()
                .map(|e| EvaluationDto {
                    id: e.scheme.id,
                    year: e.scheme.year,
                    name: e.scheme.name.clone(),
                    stage: e.scheme.stage.clone(),
                    units: e.units,
                    submitted: e.submitted,
                    first_reviewed: e.first_reviewed,
                    grades: e
                        .grades
                        .iter()
                        .map(|(g, n)| GradeDto {
                            grade: g.clone(),
                            units: *n,
                        })
                        .collect(),
                })
                .collect()
        }),
        plans: r.plans.as_ref().map(|all| {
            all.iter()
                .map(|x| DashboardPlanDto {
                    id: x.id,
                    name: x.name.clone(),
                    not_started: x.of(Progress::NotStarted),
                    in_progress: x.of(Progress::InProgress),
                    done: x.of(Progress::Done),
                    overdue: x.of(Progress::Overdue),
                    lagging: x.of(Progress::Lagging),
                    findings_overdue: x.findings_overdue,
                })
                .collect()
        }),
    }))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!()).route("/api/v1/dashboard", get(board))
}
