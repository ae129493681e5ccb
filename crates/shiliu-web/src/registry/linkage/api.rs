//! The JSON API of 流出地与流入地联动 (see `pages::linkage` for the pages and
//! `shiliu_db::registry::linkage` for the rules): the home side's out-migrants, and requests
//! for assistance (协查 / 协助) between the two sides.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shiliu_db::registry::linkage::{self as db, Assist, OutMigrant, Side};
use shiliu_db::scope::Can;
use shiliu_db::scope::grants;
use shiliu_domain::FieldErrors;
use shiliu_domain::registry::{AssistInput, AssistStatus};
use utoipa::ToSchema;

use crate::web::error::AppResult;
use crate::web::page::PAGE;
use crate::web::{AppState, Principal};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(out_migrants, list, create, get, reply, close),
    components(schemas(
        OutMigrantDto,
        OutMigrantPage,
        AssistDto,
        AssistPage,
        AssistBody,
        AssistReplyBody,
        AssistCloseBody
    ))
)]
pub struct Doc;

/// What the home side sees of an out-migrant: no ID or mobile number, no address.
#[derive(Serialize, ToSchema)]
pub struct OutMigrantDto {
    id: i64,
    /// Masked, e.g. `韦**`.
    name: String,
    sex: String,
    birth_date: chrono::NaiveDate,
    /// GB 3304 code
    people: String,
    /// 户籍地: a division code
    hukou: String,
    /// The city, county and township they live in (region ids, top down).
    lives_in: Vec<i64>,
    arrived_on: Option<chrono::NaiveDate>,
    occupation: Option<String>,
    employment: Option<String>,
}

impl From<OutMigrant> for OutMigrantDto {
    fn from(m: OutMigrant) -> Self {
        Self {
            lives_in: crate::registry::linkage::pages::place_ids(&m.region_path),
            id: m.id,
            name: m.name,
            sex: m.sex,
            birth_date: m.birth_date,
            people: m.people,
            hukou: m.hukou,
            arrived_on: m.arrived_on,
            occupation: m.occupation,
            employment: m.employment,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OutMigrantPage {
    items: Vec<OutMigrantDto>,
    /// Pass as `before` for the next page.
    next: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OutMigrantQuery {
    hukou: String,
    people: String,
    employment: String,
    before: Option<i64>,
}

/// The caller's out-migrants (流出地): people whose 户籍地 lies in the caller's division,
/// registered elsewhere, who agreed to it. Audited.
#[utoipa::path(get, path = "/api/v1/out-migrants",
    params(
        ("hukou" = Option<String>, Query, description = "a narrower 户籍地 prefix, e.g. 450226"),
        ("people" = Option<String>, Query, description = "GB 3304 code"),
        ("employment" = Option<String>, Query),
        ("before" = Option<i64>, Query, description = "page cursor")),
    responses((status = 200, body = OutMigrantPage), (status = 403, body = crate::web::api::ErrorBody)))]
pub async fn out_migrants(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<OutMigrantQuery>,
) -> AppResult<Json<OutMigrantPage>> {
    let actor = p.require::<grants::ViewOutMigrants>()?;
    let f = super::pages::out_migrant_filter(&q.hukou, &q.people, &q.employment)?;
    let rows = state
        .db
        .write(move |c| db::out_migrants(c, &Can::check(&actor)?, &f, q.before, PAGE + 1))
        .await?;
    let (rows, next) = crate::web::api::paginate(rows, |m| m.id);
    Ok(Json(OutMigrantPage {
        items: rows.into_iter().map(Into::into).collect(),
        next,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct AssistDto {
    id: i64,
    /// verify (协查), assist (协助)
    kind: String,
    person_id: i64,
    from_region_id: i64,
    to_region_id: i64,
    subject: String,
    body: String,
    due_on: chrono::NaiveDate,
    /// open, answered, closed
    status: String,
    overdue: bool,
    reply: Option<String>,
    #[serde(serialize_with = "crate::web::api::moment")]
    created_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    replied_at: Option<chrono::NaiveDateTime>,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    closed_at: Option<chrono::NaiveDateTime>,
    version: i32,
}

impl From<Assist> for AssistDto {
    fn from(a: Assist) -> Self {
        Self {
            overdue: a.is_overdue(shiliu_db::today()),
            id: a.id,
            kind: a.kind,
            person_id: a.person_id,
            from_region_id: a.from_region_id,
            to_region_id: a.to_region_id,
            subject: a.subject,
            body: a.body,
            due_on: a.due_on,
            status: a.status,
            reply: a.reply,
            created_at: a.created_at,
            replied_at: a.replied_at,
            closed_at: a.closed_at,
            version: a.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AssistPage {
    items: Vec<AssistDto>,
    next: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AssistQuery {
    side: String,
    status: String,
    before: Option<i64>,
}

/// Requests for assistance asked of the caller's area (`side=in`, the default) or by it
/// (`side=out`), newest first.
#[utoipa::path(get, path = "/api/v1/assists",
    params(
        ("side" = Option<String>, Query, description = "in (asked of us) or out (asked by us)"),
        ("status" = Option<String>, Query, description = "open, answered, closed"),
        ("before" = Option<i64>, Query, description = "page cursor")),
    responses((status = 200, body = AssistPage), (status = 403, body = crate::web::api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<AssistQuery>,
) -> AppResult<Json<AssistPage>> {
    let actor = p.require::<grants::ExchangeAssists>()?;
    let side = crate::web::api::choice("side", &q.side, |v| match v {
        "in" => Some(Side::Incoming),
        "out" => Some(Side::Outgoing),
        _ => None,
    })?
    .unwrap_or(Side::Incoming);
    let status = crate::web::api::choice("status", &q.status, AssistStatus::parse)?;
    let rows = state
        .db
        .write(move |c| db::list(c, &actor, side, status, q.before, PAGE + 1))
        .await?;
    let (rows, next) = crate::web::api::paginate(rows, |a| a.id);
    Ok(Json(AssistPage {
        items: rows.into_iter().map(Into::into).collect(),
        next,
    }))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct AssistBody {
    person_id: i64,
    /// verify (协查), assist (协助)
    kind: String,
    subject: String,
    body: String,
    /// YYYY-MM-DD, from tomorrow up to 90 days ahead
    due_on: String,
}

/// Ask the other side about a person: the home county about someone living in the caller's
/// area, or the area where one of the caller's out-migrants lives.
#[utoipa::path(post, path = "/api/v1/assists", request_body = AssistBody,
    responses((status = 201, body = AssistDto), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(b): Json<AssistBody>,
) -> AppResult<(StatusCode, Json<AssistDto>)> {
    let actor = p.require::<grants::ExchangeAssists>()?;
    let input = AssistInput::parse(&b.kind, &b.subject, &b.body, &b.due_on, shiliu_db::today())?;
    let a = state
        .db
        .write(move |c| db::ask(c, &actor, b.person_id, &input))
        .await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// One request for assistance, either side of which is the caller's. Audited.
#[utoipa::path(get, path = "/api/v1/assists/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = AssistDto), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<AssistDto>> {
    let actor = p.require::<grants::ExchangeAssists>()?;
    let (a, _) = state.db.write(move |c| db::view(c, &actor, id)).await?;
    Ok(Json(a.into()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct AssistReplyBody {
    version: i32,
    reply: String,
}

/// The asked side replies (once).
#[utoipa::path(post, path = "/api/v1/assists/{id}/reply", params(("id" = i64, Path)), request_body = AssistReplyBody,
    responses((status = 200, body = AssistDto), (status = 409, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn reply(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<AssistReplyBody>,
) -> AppResult<Json<AssistDto>> {
    let actor = p.require::<grants::ExchangeAssists>()?;
    shiliu_domain::registry::assist_reply(&b.reply).map_err(FieldErrors::from)?;
    let a = state
        .db
        .write(move |c| db::reply(c, &actor, id, b.version, &b.reply))
        .await?;
    Ok(Json(a.into()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct AssistCloseBody {
    version: i32,
}

/// The asking side closes the request.
#[utoipa::path(post, path = "/api/v1/assists/{id}/close", params(("id" = i64, Path)), request_body = AssistCloseBody,
    responses((status = 200, body = AssistDto), (status = 409, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<AssistCloseBody>,
) -> AppResult<Json<AssistDto>> {
    let actor = p.require::<grants::ExchangeAssists>()?;
    let a = state
        .db
        .write(move |c| db::close(c, &actor, id, b.version))
        .await?;
    Ok(Json(a.into()))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/api/v1/out-migrants", get(out_migrants))
        .route("/api/v1/assists", get(list).post(create))
        .route("/api/v1/assists/{id}", get(self::get))
        .route("/api/v1/assists/{id}/reply", post(reply))
        .route("/api/v1/assists/{id}/close", post(close))
}
