//! The JSON API of activities and trainings (see `pages` for the pages and
//! `shiliu_db::activities` for the rules and who may see what): the lists' entries, the
//! records of the caller's scope (filtered, a page at a time), one record, recording one (its
//! photos through the page), the statistics and the units' progress against their targets.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shiliu_db::activities::stats::Figures;
use shiliu_db::activities::targets;
use shiliu_db::activities::{self as db, Listed};
use shiliu_db::scope::grants;
use shiliu_domain::FieldError;
use shiliu_domain::activities::TermList;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{FilterQuery, RecordForm};
use crate::web::api::ErrorBody;
use crate::web::error::{AppError, AppResult};
use crate::web::page::PAGE;
use crate::web::{AppState, Principal};

pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!())
        .route("/api/v1/activity-terms", get(terms))
        .route("/api/v1/activities", get(list).post(create))
        .route("/api/v1/activities/stats", get(figures))
        .route("/api/v1/activities/progress", get(progress))
        .route("/api/v1/activities/{id}", get(one))
        .route("/api/v1/activities/{id}/trainees", get(trainees))
}

#[derive(OpenApi)]
#[openapi(
    paths(terms, list, create, one, trainees, figures, progress),
    components(schemas(
        TermDto,
        ActivityDto,
        MaterialDto,
        ActivityPage,
        RecordForm,
        ActivityFiguresDto,
        ActivityStatsDto,
        CutDto,
        MaterialTotalDto,
        UnitProgressDto,
        TraineeDto
    ))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
pub struct TermDto {
    id: i64,
    /// `kind`, `material`, `audience`
    list: String,
    name: String,
    /// What a material is counted in (份, 条).
    unit_word: Option<String>,
    /// Offered for new records.
    active: bool,
}

#[derive(Deserialize, IntoParams)]
pub struct TermsQuery {
    /// `kind`, `material` or `audience`; all three when absent.
    #[serde(default)]
    list: String,
}

/// The lists' entries (kinds, materials, audiences), retired ones included and marked.
#[utoipa::path(get, path = "/api/v1/activity-terms", params(TermsQuery),
    responses((status = 200, body = [TermDto]), (status = 422, body = ErrorBody)))]
pub async fn terms(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<TermsQuery>,
) -> AppResult<Json<Vec<TermDto>>> {
    p.require::<grants::ViewActivities>()?;
    let lists: Vec<TermList> = match q.list.trim() {
        "" => TermList::ALL.to_vec(),
        l => vec![
            TermList::parse(l)
                .ok_or_else(|| AppError::Invalid(FieldError::new("list", "err.choice").into()))?,
        ],
    };
    let all = state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for l in lists {
                out.extend(db::terms(c, l, true)?);
            }
            Ok(out)
        })
        .await?;
    Ok(Json(
        all.into_iter()
            .map(|t| TermDto {
                id: t.id,
                list: t.list,
                name: t.name,
                unit_word: t.unit_word,
                active: t.active,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct MaterialDto {
    term_id: i64,
    name: String,
    unit_word: String,
    quantity: i32,
}

#[derive(Serialize, ToSchema)]
pub struct ActivityDto {
    id: i64,
    /// `activity` or `training`
    form: String,
    title: String,
    kind_id: Option<i64>,
    /// A "十进" venue code, if it went into one.
    venue: Option<String>,
    organiser_unit_id: i64,
    organiser_unit: String,
    co_organisers: Option<String>,
    region_id: i64,
    region: String,
    site_id: Option<i64>,
    #[schema(format = Date, value_type = String)]
    held_on: chrono::NaiveDate,
    /// HH:MM, local time.
    starts_at: Option<String>,
    #[schema(format = Date, value_type = Option<String>)]
    ends_on: Option<chrono::NaiveDate>,
    participants: i32,
    audience_id: Option<i64>,
    /// A training's class hours (3.5).
    hours: Option<f64>,
    summary: Option<String>,
    /// How many photos it has (`/activities/{id}` shows them).
    photos: i32,
    /// Present on one record, absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    materials: Option<Vec<MaterialDto>>,
    recorder: String,
    version: i32,
}

impl ActivityDto {
    fn of(l: Listed, materials: Option<Vec<db::Material>>) -> Self {
        let a = l.activity;
        Self {
            id: a.id,
            form: a.form,
            title: a.title,
            kind_id: a.kind_id,
            venue: a.venue,
            organiser_unit_id: a.organiser_unit_id,
            organiser_unit: l.unit_name,
            co_organisers: a.co_organisers,
            region_id: a.region_id,
            region: l.region_name,
            site_id: a.site_id,
            held_on: a.held_on,
            starts_at: a.starts_at,
            ends_on: a.ends_on,
            participants: a.participants,
            audience_id: a.audience_id,
            hours: a.hours_tenths.map(|h| f64::from(h) / 10.0),
            summary: a.summary,
            photos: a.photos,
            materials: materials.map(|ms| {
                ms.into_iter()
                    .map(|m| MaterialDto {
                        term_id: m.term_id,
                        name: m.name,
                        unit_word: m.unit_word,
                        quantity: m.quantity,
                    })
                    .collect()
            }),
            recorder: a.recorder,
            version: a.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ActivityPage {
    items: Vec<ActivityDto>,
    /// How many records the filters keep; over a wide place (a county or above) counted up to
    /// 10,000, and then `total_exact` is false (the statistics give the full figures).
    total: i64,
    total_exact: bool,
    /// The next page's cursor (pass it back as `cursor` with the same filters).
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    f: FilterQuery,
    /// Where the page starts: the previous page's `next`.
    #[serde(default)]
    cursor: String,
}

/// The records of the caller's scope, latest held first, a page at a time.
#[utoipa::path(get, path = "/api/v1/activities",
    params(FilterQuery, ("cursor" = Option<String>, Query, description = "where the page starts: the previous page's `next`, with the same filters")),
    responses((status = 200, body = ActivityPage), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<ActivityPage>> {
    let actor = p.require::<grants::ViewActivities>()?;
    let f = super::pages::resolved(&state, actor.scope(), &q.f).await?;
    let after = super::pages::parse_after(&q.cursor);
    if !q.cursor.is_empty() && after.is_none() {
        return Err(AppError::Invalid(
            FieldError::new("cursor", "err.choice").into(),
        ));
    }
    let (rows, total) = state
        .db
        .read(move |c| {
            Ok((
                db::list(c, actor.scope(), &f, after, PAGE + 1)?,
                db::count_listed(c, actor.scope(), &f)?,
            ))
        })
        .await?;
    let page = usize::try_from(PAGE).unwrap_or(usize::MAX);
    let next = (rows.len() > page)
        .then(|| rows.get(page - 1))
        .flatten()
        .map(|l| format!("{}.{}", l.activity.held_on, l.activity.id));
    Ok(Json(ActivityPage {
        items: rows
            .into_iter()
            .take(page)
            .map(|l| ActivityDto::of(l, None))
            .collect(),
        total: total.n,
        total_exact: total.exact,
        next,
    }))
}

/// One record with its materials.
#[utoipa::path(get, path = "/api/v1/activities/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = ActivityDto), (status = 404, body = ErrorBody)))]
pub async fn one(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<ActivityDto>> {
    let actor = p.require::<grants::ViewActivities>()?;
    let (l, m) = state
        .db
        .read(move |c| {
            let l = db::get_listed(c, actor.scope(), id)?;
            let m = db::materials(c, &l.activity)?;
            Ok((l, m))
        })
        .await?;
    Ok(Json(ActivityDto::of(l, Some(m))))
}

/// One trainee of a training's list; the mobile masked.
#[derive(Serialize, ToSchema)]
pub struct TraineeDto {
    id: i64,
    name: String,
    organisation: Option<String>,
    post: Option<String>,
    /// `138****1234`
    phone: Option<String>,
}

/// A training's trainee list (empty when it keeps none: its count is then the one recorded);
/// a record that is not a training has none (404).
#[utoipa::path(get, path = "/api/v1/activities/{id}/trainees", params(("id" = i64, Path)),
    responses((status = 200, body = [TraineeDto]), (status = 404, body = ErrorBody)))]
pub async fn trainees(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<TraineeDto>>> {
    let actor = p.require::<grants::ViewActivities>()?;
    let list = state
        .db
        .read(move |c| {
            let a = db::get(c, actor.scope(), id)?;
            if a.form() == shiliu_domain::activities::Form::Training {
                db::trainees::of(c, &a)
            } else {
                Err(shiliu_db::DbError::NotFound)
            }
        })
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|t| TraineeDto {
                id: t.id,
                phone: t.masked_phone(),
                name: t.name,
                organisation: t.organisation,
                post: t.post,
            })
            .collect(),
    ))
}

/// Record an activity or training (its photos are added on its page); every field as its
/// form has it, `materials` as (material id, quantity) pairs.
#[utoipa::path(post, path = "/api/v1/activities", request_body = RecordForm,
    responses((status = 201, body = ActivityDto), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(body): Json<RecordForm>,
) -> AppResult<(StatusCode, Json<ActivityDto>)> {
    let actor = p.require::<grants::LogActivities>()?;
    let input = body.parse().map_err(body_errors)?;
    let (l, m) = state
        .db
        .write(move |c| {
            let a = db::record(c, &actor, &input, &[])?;
            let l = db::get_listed(c, actor.scope(), a.id)?;
            let m = db::materials(c, &a)?;
            Ok((l, m))
        })
        .await
        .map_err(|e| match e {
            shiliu_db::DbError::Invalid(e) => body_errors(e),
            e => e.into(),
        })?;
    Ok((StatusCode::CREATED, Json(ActivityDto::of(l, Some(m)))))
}

/// A body's errors named as the body names its fields (`kind_id` where the form has `kind`).
fn body_errors(mut e: shiliu_domain::FieldErrors) -> AppError {
    for f in &mut e.0 {
        let named = match f.field.as_str() {
            "activity_kind" => "kind_id",
            "organiser_unit" => "organiser_unit_id",
            "region" => "region_code",
            "site" => "site_id",
            "audience" => "audience_id",
            _ => continue,
        };
        f.field = named.to_string();
    }
    AppError::Invalid(e)
}

#[derive(Serialize, ToSchema)]
pub struct ActivityFiguresDto {
    activities: i64,
    trainings: i64,
    participants: i64,
    trainees: i64,
}

impl From<&Figures> for ActivityFiguresDto {
    fn from(f: &Figures) -> Self {
        Self {
            activities: f.activities,
            trainings: f.trainings,
            participants: f.participants,
            trainees: f.trainees,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CutDto {
    /// The kind's id, the venue's code, the region's code or the month (`2026-03`); none for
    /// trainings (by kind) or records of no venue.
    key: Option<String>,
    name: String,
    #[serde(flatten)]
    figures: ActivityFiguresDto,
}

#[derive(Serialize, ToSchema)]
pub struct MaterialTotalDto {
    name: String,
    unit_word: String,
    quantity: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ActivityStatsDto {
    total: ActivityFiguresDto,
    by_kind: Vec<CutDto>,
    by_venue: Vec<CutDto>,
    by_region: Vec<CutDto>,
    by_month: Vec<CutDto>,
    materials: Vec<MaterialTotalDto>,
}

/// The statistics of what the filters keep (this year's when no days are given).
#[utoipa::path(get, path = "/api/v1/activities/stats", params(FilterQuery),
    responses((status = 200, body = ActivityStatsDto), (status = 422, body = ErrorBody)))]
pub async fn figures(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<FilterQuery>,
) -> AppResult<Json<ActivityStatsDto>> {
    let (_, s, terms) = super::stats::figures(&state, &p, q).await?;
    let t = p.t();
    let cut = |key: Option<String>, name: String, f: &Figures| CutDto {
        key,
        name,
        figures: f.into(),
    };
    Ok(Json(ActivityStatsDto {
        total: (&s.total).into(),
        by_kind: s
            .by_kind
            .iter()
            .map(|(k, f)| {
                let name = match k {
                    Some(_) => super::term_name(&terms, *k),
                    None => t.s("activities.trainings").to_string(),
                };
                cut(k.map(|k| k.to_string()), name, f)
            })
            .collect(),
        by_venue: s
            .by_venue
            .iter()
            .map(|(v, f)| {
                let name = v.map_or_else(
                    || t.s("activities.no_venue").to_string(),
                    |v| t.label("venue", v.as_str()),
                );
                cut(v.map(|v| v.as_str().to_string()), name, f)
            })
            .collect(),
        by_region: s
            .by_region
            .iter()
            .map(|(r, f)| cut(Some(r.code.clone()), r.name.clone(), f))
            .collect(),
        by_month: s
            .by_month
            .iter()
            .map(|(m, f)| cut(Some(m.clone()), m.clone(), f))
            .collect(),
        materials: s
            .materials
            .into_iter()
            .map(|m| MaterialTotalDto {
                name: m.name,
                unit_word: m.unit_word,
                quantity: m.quantity,
            })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct UnitProgressDto {
    unit_id: i64,
    unit: String,
    region: String,
    activities: i64,
    trainings: i64,
    participants: i64,
    trainees: i64,
    /// The "十进" venues reached (codes).
    venues: Vec<String>,
    /// The year's target, if one is set.
    target_activities: Option<i32>,
    target_trainings: Option<i32>,
    target_every_venue: Option<bool>,
    /// Whether the target is met; none without a target.
    met: Option<bool>,
}

#[derive(Deserialize, IntoParams)]
pub struct ProgressQuery {
    /// The year; this one when absent.
    #[serde(default)]
    year: Option<i32>,
    /// Only the units within this region (its code).
    #[serde(default)]
    region: String,
}

/// The units' progress against their targets for a year.
#[utoipa::path(get, path = "/api/v1/activities/progress", params(ProgressQuery),
    responses((status = 200, body = [UnitProgressDto]), (status = 422, body = ErrorBody)))]
pub async fn progress(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ProgressQuery>,
) -> AppResult<Json<Vec<UnitProgressDto>>> {
    use chrono::Datelike;
    let actor = p.require::<grants::ViewActivities>()?;
    let year = q.year.unwrap_or_else(|| shiliu_db::today().year());
    if !(2000..=2100).contains(&year) {
        return Err(AppError::Invalid(
            FieldError::new("year", "err.activities.year").into(),
        ));
    }
    let code = q.region;
    let units = state
        .db
        .read(move |c| {
            let within = shiliu_db::org::picked_region(c, actor.scope(), &code, "region")?;
            targets::board(c, actor.scope(), year, within.as_ref(), 10_000)
        })
        .await?;
    Ok(Json(
        units
            .into_iter()
            .map(|u| UnitProgressDto {
                met: u.met(),
                unit_id: u.unit_id,
                unit: u.unit_name,
                region: u.region_name,
                activities: u.progress.activities,
                trainings: u.progress.trainings,
                participants: u.progress.participants,
                trainees: u.progress.trainees,
                venues: u
                    .progress
                    .venues
                    .iter()
                    .map(|v| v.as_str().to_string())
                    .collect(),
                target_activities: u.target.map(|t| t.activities),
                target_trainings: u.target.map(|t| t.trainings),
                target_every_venue: u.target.map(|t| t.every_venue),
            })
            .collect(),
    ))
}
