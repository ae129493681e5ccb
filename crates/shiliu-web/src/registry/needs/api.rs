//! The JSON API of needs surveys, needs and services delivered (see `pages::needs` for the
//! pages and `shiliu_db::registry::needs` for the rules).

use shiliu_db::scope::grants;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shiliu_db::registry::needs::{self as db, Need, NeedFilter, Service, Survey};
use shiliu_domain::FieldErrors;
use shiliu_domain::registry::needs::{
    NeedKind, NeedStatus, PlanInput, ServiceInput, SurveyQuestion, need,
};
use shiliu_domain::requests::questions::RawAnswers;
use shiliu_domain::requests::{Channel, RequestInput};
use utoipa::ToSchema;

use crate::web::error::AppResult;
use crate::web::page::PAGE;
use crate::web::{AppState, Principal};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(surveys, answer, needs, to_request, plan, services, record_service),
    components(schemas(
        SurveyQuestionDto,
        SurveyDto,
        NeedBody,
        ResponseBody,
        ResponseDto,
        NeedDto,
        NeedPage,
        NeedRequestBody,
        NeedPlanBody,
        ServiceDto,
        ServiceBody
    ))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
pub struct SurveyQuestionDto {
    code: String,
    label: String,
    /// text, number, date, single, multi
    kind: String,
    required: bool,
    /// For single and multiple choice: the keys to answer with, and their names.
    choices: Vec<(String, String)>,
}

impl From<SurveyQuestion> for SurveyQuestionDto {
    fn from(q: SurveyQuestion) -> Self {
        Self {
            code: q.code,
            label: q.label,
            kind: q.kind,
            required: q.required,
            choices: q.choices.into_iter().map(|c| (c.key, c.name)).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SurveyDto {
    id: i64,
    name: String,
    region_id: i64,
    /// Only households with a member of this tag.
    tag: Option<String>,
    starts_on: chrono::NaiveDate,
    ends_on: chrono::NaiveDate,
    /// open, closed
    status: String,
    questions: Vec<SurveyQuestionDto>,
    /// Households on the list in the caller's scope, and how many are answered.
    households: i64,
    answered: i64,
    version: i32,
}

fn survey_dto(s: Survey, (households, answered): (i64, i64)) -> AppResult<SurveyDto> {
    Ok(SurveyDto {
        questions: s.questions()?.into_iter().map(Into::into).collect(),
        id: s.id,
        name: s.name,
        region_id: s.region_id,
        tag: s.tag,
        starts_on: s.starts_on,
        ends_on: s.ends_on,
        status: s.status,
        households,
        answered,
        version: s.version,
    })
}

/// The needs surveys the caller takes part in, newest first, with their progress in the
/// caller's scope.
#[utoipa::path(get, path = "/api/v1/surveys",
    responses((status = 200, body = Vec<SurveyDto>), (status = 403, body = crate::web::api::ErrorBody)))]
pub async fn surveys(
    State(state): State<AppState>,
    p: Principal,
) -> AppResult<Json<Vec<SurveyDto>>> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let rows = state
        .db
        .read(move |c| {
            let list = db::surveys(c, actor.scope())?;
            let mut out = Vec::with_capacity(list.len());
            for s in list {
                let progress = db::progress_totals(c, actor.scope(), &s)?;
                out.push((s, progress));
            }
            Ok(out)
        })
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(s, p)| survey_dto(s, p))
            .collect::<AppResult<_>>()?,
    ))
}

#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct NeedBody {
    person_id: i64,
    /// job, training, school, housing, legal, relief, health, other
    kind: String,
    note: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ResponseBody {
    household_id: i64,
    /// By question code: a value, or several for a multiple choice.
    #[schema(value_type = Object)]
    answers: BTreeMap<String, serde_json::Value>,
    needs: Vec<NeedBody>,
}

#[derive(Serialize, ToSchema)]
pub struct ResponseDto {
    id: i64,
    survey_id: i64,
    household_id: i64,
    #[schema(value_type = Object)]
    answers: BTreeMap<String, String>,
    #[serde(serialize_with = "crate::web::api::moment")]
    surveyed_at: chrono::NaiveDateTime,
}

/// Answer a survey for one household (again: replaces the answers and the needs still open).
#[utoipa::path(post, path = "/api/v1/surveys/{id}/responses", params(("id" = i64, Path)), request_body = ResponseBody,
    responses((status = 200, body = ResponseDto), (status = 404, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn answer(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<ResponseBody>,
) -> AppResult<Json<ResponseDto>> {
    let actor = p.require::<grants::EditRegistry>()?;
    let raw: RawAnswers = b
        .answers
        .into_iter()
        .map(|(k, v)| {
            let values = match v {
                serde_json::Value::Array(xs) => xs.iter().map(json_text).collect(),
                other => vec![json_text(&other)],
            };
            (k, values)
        })
        .collect();
    let mut errs = FieldErrors::new();
    let mut found = Vec::new();
    for n in &b.needs {
        match need(n.person_id, &n.kind, &n.note) {
            Ok(x) => found.push(x),
            Err(e) => errs.0.extend(e.0),
        }
    }
    errs.into_result()?;
    let household = b.household_id;
    let r = state
        .db
        .write(move |c| db::answer(c, &actor, id, household, &raw, &found))
        .await?;
    Ok(Json(ResponseDto {
        answers: r.answers(),
        id: r.id,
        survey_id: r.survey_id,
        household_id: r.household_id,
        surveyed_at: r.surveyed_at,
    }))
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct NeedDto {
    id: i64,
    person_id: i64,
    /// job, training, school, housing, legal, relief, health, other
    kind: String,
    note: Option<String>,
    /// open, planned, requested, met
    status: String,
    request_id: Option<i64>,
    provider: Option<String>,
    planned_on: Option<chrono::NaiveDate>,
    #[serde(serialize_with = "crate::web::api::moment")]
    created_at: chrono::NaiveDateTime,
    version: i32,
}

impl From<Need> for NeedDto {
    fn from(n: Need) -> Self {
        Self {
            id: n.id,
            person_id: n.person_id,
            kind: n.kind,
            note: n.note,
            status: n.status,
            request_id: n.request_id,
            provider: n.provider,
            planned_on: n.planned_on,
            created_at: n.created_at,
            version: n.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NeedPage {
    items: Vec<NeedDto>,
    next: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NeedQuery {
    status: String,
    kind: String,
    survey: Option<i64>,
    before: Option<i64>,
}

/// Needs in the caller's scope, newest first. Audited.
#[utoipa::path(get, path = "/api/v1/needs",
    params(
        ("status" = Option<String>, Query, description = "open, planned, requested, met"),
        ("kind" = Option<String>, Query),
        ("survey" = Option<i64>, Query),
        ("before" = Option<i64>, Query, description = "page cursor")),
    responses((status = 200, body = NeedPage), (status = 403, body = crate::web::api::ErrorBody)))]
pub async fn needs(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<NeedQuery>,
) -> AppResult<Json<NeedPage>> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let f = NeedFilter {
        status: crate::web::api::choice("status", &q.status, NeedStatus::parse)?,
        kind: crate::web::api::choice("kind", &q.kind, NeedKind::parse)?,
        survey_id: q.survey,
    };
    let rows = state
        .db
        .write(move |c| db::needs(c, &actor, &f, q.before, PAGE + 1))
        .await?;
    let (rows, next) = crate::web::api::paginate(rows, |(n, _)| n.id);
    Ok(Json(NeedPage {
        items: rows.into_iter().map(|(n, _)| n.into()).collect(),
        next,
    }))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct NeedRequestBody {
    version: i32,
    description: String,
    contact_phone: String,
    /// The category's extra questions, by code.
    #[schema(value_type = Object)]
    answers: RawAnswers,
}

/// One action: the need becomes a request (诉求) in its category, at the person's grid.
#[utoipa::path(post, path = "/api/v1/needs/{id}/request", params(("id" = i64, Path)), request_body = NeedRequestBody,
    responses((status = 201, body = NeedDto), (status = 409, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn to_request(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<NeedRequestBody>,
) -> AppResult<(StatusCode, Json<NeedDto>)> {
    let actor = p.require::<grants::EditRegistry>()?;
    p.require::<grants::CreateRequests>()?;
    let input = RequestInput::parse(
        Channel::Grid,
        &b.description,
        "",
        "",
        &b.contact_phone,
        true,
    )?
    .with_answers(b.answers);
    let (n, _) = state
        .db
        .write(move |c| db::to_request(c, &actor, id, b.version, &input))
        .await?;
    Ok((StatusCode::CREATED, Json(n.into())))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct NeedPlanBody {
    version: i32,
    provider: String,
    /// YYYY-MM-DD, today or later
    planned_on: String,
}

/// One action: the need goes into a service plan.
#[utoipa::path(post, path = "/api/v1/needs/{id}/plan", params(("id" = i64, Path)), request_body = NeedPlanBody,
    responses((status = 200, body = NeedDto), (status = 409, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn plan(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<NeedPlanBody>,
) -> AppResult<Json<NeedDto>> {
    let actor = p.require::<grants::EditRegistry>()?;
    let input = PlanInput::parse(&b.provider, &b.planned_on, shiliu_db::today())?;
    let n = state
        .db
        .write(move |c| db::plan(c, &actor, id, b.version, &input))
        .await?;
    Ok(Json(n.into()))
}

#[derive(Serialize, ToSchema)]
pub struct ServiceDto {
    id: i64,
    person_id: i64,
    /// `job_placement`, training, subsidy, `school_place`, housing, legal, other
    kind: String,
    delivered_on: chrono::NaiveDate,
    provider: String,
    /// In fen (分).
    amount_fen: Option<i64>,
    note: Option<String>,
    need_id: Option<i64>,
}

impl From<Service> for ServiceDto {
    fn from(s: Service) -> Self {
        Self {
            id: s.id,
            person_id: s.person_id,
            kind: s.kind,
            delivered_on: s.delivered_on,
            provider: s.provider,
            amount_fen: s.amount_fen,
            note: s.note,
            need_id: s.need_id,
        }
    }
}

/// The services delivered to a person, newest first.
#[utoipa::path(get, path = "/api/v1/persons/{id}/services", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ServiceDto>), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn services(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<ServiceDto>>> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let rows = state
        .db
        .write(move |c| {
            shiliu_db::registry::view(c, &actor, id)?;
            db::services_of(c, actor.scope(), id)
        })
        .await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ServiceBody {
    /// `job_placement`, training, subsidy, `school_place`, housing, legal, other
    kind: String,
    /// YYYY-MM-DD, not in the future
    delivered_on: String,
    provider: String,
    /// Yuan, at most two decimals (e.g. "300" or "85.50").
    amount: String,
    note: String,
    /// The need it meets.
    need_id: Option<i64>,
}

/// Record a service delivered to a person; naming a need of theirs meets it.
#[utoipa::path(post, path = "/api/v1/persons/{id}/services", params(("id" = i64, Path)), request_body = ServiceBody,
    responses((status = 201, body = ServiceDto), (status = 404, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn record_service(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<ServiceBody>,
) -> AppResult<(StatusCode, Json<ServiceDto>)> {
    let actor = p.require::<grants::EditRegistry>()?;
    let input = ServiceInput::parse(
        &b.kind,
        &b.delivered_on,
        &b.provider,
        &b.amount,
        &b.note,
        shiliu_db::today(),
    )?;
    let s = state
        .db
        .write(move |c| db::record_service(c, &actor, id, &input, b.need_id))
        .await?;
    Ok((StatusCode::CREATED, Json(s.into())))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/api/v1/surveys", get(surveys))
        .route("/api/v1/surveys/{id}/responses", post(answer))
        .route("/api/v1/needs", get(needs))
        .route("/api/v1/needs/{id}/request", post(to_request))
        .route("/api/v1/needs/{id}/plan", post(plan))
        .route(
            "/api/v1/persons/{id}/services",
            get(services).post(record_service),
        )
}
