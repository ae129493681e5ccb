//! The caller's to-do through the API: the home's counters, each with the list it counts.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::web::error::AppResult;
use crate::web::{AppState, Principal};

#[derive(OpenApi)]
#[openapi(paths(todo), components(schemas(TodoCounterDto)))]
pub struct Doc;

/// One kind of work owed and how much of it.
#[derive(Serialize, ToSchema)]
pub struct TodoCounterDto {
    /// The kind of work: `queue.on_the_spot` (a grid worker's, to resolve on the spot),
    /// `queue.to_dispatch`, `queue.to_accept`, `queue.due_soon`,
    /// `queue.overdue`, `queue.escalated`, `queue.to_rate`, `queue.cohandling`,
    /// `todo.declarations`, `todo.survey` (one per running campaign), `todo.assists`,
    /// `todo.disputes_open`, `todo.disputes_mediating`, `todo.legal_aid_open`.
    what: String,
    /// What it is, in the caller's language.
    label: String,
    count: i64,
    /// The page listing exactly these rows (relative URL).
    href: String,
}

/// What the caller owes, counted in their scope and by their permissions, as the home page
/// shows it (evaluation work is at `/api/v1/evaluations/todo`).
#[utoipa::path(get, path = "/api/v1/todo", responses((status = 200, body = [TodoCounterDto]), (status = 401, body = crate::web::api::ErrorBody)))]
pub async fn todo(
    State(state): State<AppState>,
    p: Principal,
) -> AppResult<Json<Vec<TodoCounterDto>>> {
    p.require::<shiliu_db::scope::grants::ViewOrg>()?;
    let owed = super::todo::gather(&state, &p).await?;
    Ok(Json(
        owed.counters
            .into_iter()
            .map(|c| TodoCounterDto {
                what: c.what,
                label: c.label,
                count: c.count,
                href: c.href,
            })
            .collect(),
    ))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!()).route("/api/v1/todo", get(todo))
}
