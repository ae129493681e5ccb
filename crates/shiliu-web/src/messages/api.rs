//! The messages API: one's own inbox and its unread count (for a client's badge).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use shiliu_db::scope::grants;
use utoipa::{OpenApi, ToSchema};

use crate::web::api::ErrorBody;
use crate::web::error::AppResult;
use crate::web::{AppState, Principal};

#[derive(OpenApi)]
#[openapi(paths(inbox), components(schemas(InboxDto, MessageDto)))]
pub struct Doc;

#[derive(Serialize, ToSchema)]
pub struct MessageDto {
    id: i64,
    /// `request.dispatched`, `request.reminded`, `request.escalated`.
    kind: String,
    /// The message in the caller's language.
    text: String,
    request_id: Option<i64>,
    #[serde(serialize_with = "crate::web::api::moment")]
    created_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    read_at: Option<chrono::NaiveDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct InboxDto {
    unread: i64,
    messages: Vec<MessageDto>,
}

/// The caller's newest in-app messages (at most 100) and how many are unread.
#[utoipa::path(get, path = "/api/v1/messages", responses((status = 200, body = InboxDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn inbox(State(state): State<AppState>, p: Principal) -> AppResult<Json<InboxDto>> {
    let actor = p.require::<grants::ViewRequests>()?;
    let (unread, found) = state
        .db
        .read(move |c| {
            Ok((
                shiliu_db::messages::unread(c, &actor)?,
                shiliu_db::messages::inbox(c, &actor, 100)?,
            ))
        })
        .await?;
    let t = p.t();
    Ok(Json(InboxDto {
        unread,
        messages: found
            .iter()
            .map(|m| MessageDto {
                id: m.id,
                kind: m.kind.clone(),
                text: super::line(t, m),
                request_id: m.request_id,
                created_at: m.created_at,
                read_at: m.read_at,
            })
            .collect(),
    }))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!()).route("/api/v1/messages", get(inbox))
}
