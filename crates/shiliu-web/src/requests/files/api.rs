//! The JSON API for a request's files and co-handling units (see `pages::request_files` for the
//! pages and `shiliu_db::requests::{files, cohandling}` for the rules).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use shiliu_db::requests::{self as db, cohandling, files};
use shiliu_db::scope::grants;
use shiliu_domain::files::REQUEST_FILES;
use shiliu_domain::requests::{CohandlingInput, parse_cohandling_answer};
use shiliu_domain::roles::Permission;
use utoipa::ToSchema;

use crate::web::error::AppResult;
use crate::web::files::FormData;
use crate::web::{AppState, Principal};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(list_files, attach, open_file, cohandlers, ask, answer),
    components(schemas(FileDto, CohandlerDto, AskBody, AnswerBody))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
pub struct FileDto {
    id: i64,
    name: String,
    /// The type read from the content: image/jpeg, image/png, image/webp, application/pdf,
    /// or the Word and Excel types.
    content_type: String,
    size: i64,
    /// Hex SHA-256 of the content.
    sha256: String,
    uploader: String,
    #[serde(serialize_with = "crate::web::api::moment")]
    created_at: chrono::NaiveDateTime,
}

impl From<files::Attachment> for FileDto {
    fn from(a: files::Attachment) -> Self {
        Self {
            id: a.id,
            name: a.name,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            uploader: a.uploader,
            created_at: a.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CohandlerDto {
    id: i64,
    /// The site's or unit's name.
    name: String,
    site_id: Option<i64>,
    unit_id: Option<i64>,
    asked: String,
    /// asked, answered
    status: String,
    answer: Option<String>,
    asked_by: String,
    #[serde(serialize_with = "crate::web::api::moment")]
    asked_at: chrono::NaiveDateTime,
    answered_by: Option<String>,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    answered_at: Option<chrono::NaiveDateTime>,
}

impl From<cohandling::Named> for CohandlerDto {
    fn from(n: cohandling::Named) -> Self {
        let c = n.cohandler;
        Self {
            id: c.id,
            name: n.name,
            site_id: c.site_id,
            unit_id: c.unit_id,
            asked: c.asked,
            status: c.status,
            answer: c.answer,
            asked_by: c.asked_by,
            asked_at: c.asked_at,
            answered_by: c.answered_by,
            answered_at: c.answered_at,
        }
    }
}

/// A request's files (without their content).
#[utoipa::path(get, path = "/api/v1/requests/{id}/files", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<FileDto>), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn list_files(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<FileDto>>> {
    let actor = p.require::<grants::ViewRequests>()?;
    let list = state
        .db
        .read(move |c| {
            let r = db::get(c, actor.scope(), id)?;
            files::list(c, &r)
        })
        .await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Attach files: `multipart/form-data` with one or more parts named `files`. JPEG, PNG, WebP,
/// PDF, .docx and .xlsx (the type is read from the content), 8 MB each, 10 per request.
#[utoipa::path(post, path = "/api/v1/requests/{id}/files", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "parts named `files`"),
    responses((status = 201, body = Vec<FileDto>), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn attach(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<(StatusCode, Json<Vec<FileDto>>)> {
    let actor = p.require_permission(crate::requests::files::pages::may_attach(&p))?;
    let list = form.files("files", REQUEST_FILES)?;
    let saved = state
        .db
        .write(move |c| files::attach(c, &actor, id, &list, "files"))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(saved.into_iter().map(Into::into).collect()),
    ))
}

/// One file's content, with its type. Audited.
#[utoipa::path(get, path = "/api/v1/requests/{id}/files/{file_id}",
    params(("id" = i64, Path), ("file_id" = i64, Path)),
    responses((status = 200, description = "the file's bytes"), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn open_file(
    State(state): State<AppState>,
    p: Principal,
    Path((id, file_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    crate::requests::files::pages::file_response(&state, &p, id, file_id).await
}

/// A request's co-handling units (协办), in the order they were asked.
#[utoipa::path(get, path = "/api/v1/requests/{id}/cohandlers", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<CohandlerDto>), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn cohandlers(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<CohandlerDto>>> {
    let actor = p.require::<grants::ViewRequests>()?;
    let list = state
        .db
        .read(move |c| {
            let r = db::get(c, actor.scope(), id)?;
            cohandling::list(c, &r)
        })
        .await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct AskBody {
    /// The name of a site or unit (a site is looked for first) at the request's region or above.
    cohandler: String,
    asked: String,
    /// The request's version the client saw.
    version: i32,
}

/// Ask a site or unit to help with a request (once accepted, until resolved).
#[utoipa::path(post, path = "/api/v1/requests/{id}/cohandlers", params(("id" = i64, Path)), request_body = AskBody,
    responses((status = 201, body = Vec<CohandlerDto>), (status = 409, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn ask(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<AskBody>,
) -> AppResult<(StatusCode, Json<Vec<CohandlerDto>>)> {
    let actor = p.require::<grants::HandleRequests>()?;
    let input = CohandlingInput::parse(&b.cohandler, &b.asked)?;
    let list = state
        .db
        .write(move |c| {
            cohandling::ask(c, &actor, id, b.version, &input)?;
            let r = db::get(c, actor.scope(), id)?;
            cohandling::list(c, &r)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(list.into_iter().map(Into::into).collect()),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct AnswerBody {
    answer: String,
}

/// The co-handler's answer, by its staff or by a dispatcher for them.
#[utoipa::path(post, path = "/api/v1/requests/{id}/cohandlers/{cohandler_id}/answer",
    params(("id" = i64, Path), ("cohandler_id" = i64, Path)), request_body = AnswerBody,
    responses((status = 200, body = Vec<CohandlerDto>), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn answer(
    State(state): State<AppState>,
    p: Principal,
    Path((id, cohandler_id)): Path<(i64, i64)>,
    Json(b): Json<AnswerBody>,
) -> AppResult<Json<Vec<CohandlerDto>>> {
    let actor = p.require::<grants::HandleRequests>()?;
    let for_others = p.can(Permission::DispatchRequests);
    let text = parse_cohandling_answer(&b.answer).map_err(shiliu_domain::FieldErrors::from)?;
    let list = state
        .db
        .write(move |c| {
            cohandling::answer(c, &actor, id, cohandler_id, for_others, &text)?;
            let r = db::get(c, actor.scope(), id)?;
            cohandling::list(c, &r)
        })
        .await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/api/v1/requests/{id}/files", get(list_files).post(attach))
        .route("/api/v1/requests/{id}/files/{file_id}", get(open_file))
        .route(
            "/api/v1/requests/{id}/cohandlers",
            get(cohandlers).post(ask),
        )
        .route(
            "/api/v1/requests/{id}/cohandlers/{cohandler_id}/answer",
            post(answer),
        )
}
