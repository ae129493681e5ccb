//! The accounts API: who the caller is.

use axum::Json;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::web::Principal;
use crate::web::api::ErrorBody;
use crate::web::error::AppResult;

#[derive(OpenApi)]
#[openapi(paths(me), components(schemas(MeDto)))]
pub struct Doc;

#[derive(Serialize, ToSchema)]
pub struct MeDto {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    region_id: i64,
    /// What this token may do: the token's permissions that the user's role still has.
    permissions: Vec<&'static str>,
}

/// The caller: user, role and the token's effective permissions.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = MeDto), (status = 401, body = ErrorBody)))]
pub async fn me(p: Principal) -> AppResult<Json<MeDto>> {
    let permissions = p
        .role()
        .permissions()
        .iter()
        .filter(|x| p.can(**x))
        .map(|x| x.as_str())
        .collect();
    Ok(Json(MeDto {
        id: p.user().id,
        username: p.user().username.clone(),
        display_name: p.user().display_name.clone(),
        role: p.user().role.clone(),
        region_id: p.user().region_id,
        permissions,
    }))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!()).route("/api/v1/me", get(me))
}
