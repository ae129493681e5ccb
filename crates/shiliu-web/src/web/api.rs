//! The JSON API's machinery: the error envelope, paging, and the description document
//! (`/api/v1/openapi.json`) assembled from each module's part.
//!
//! The API lives under `/api/v1`, authenticated with `Authorization: Bearer <token>` (tokens are
//! issued on the API-tokens page, limited to the owner's permissions and scope, and expire).
//! Errors use the envelope `{"error":{"code","message","details","request_id"}}`. Each module's
//! `api.rs` holds its handlers, its response types — the API's contract, kept apart from the
//! database rows so a schema change cannot silently change the API — and its `Doc`.

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(title = "Shiliu API", description = "石榴 Shiliu — ethnic-affairs service and governance platform"),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct Base;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = doc.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The description document: the base (title, errors, the bearer scheme) and every module's
/// paths and schemas.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    for part in [
        crate::accounts::api::Doc::openapi(),
        crate::home::api::Doc::openapi(),
        crate::messages::api::Doc::openapi(),
        crate::org::api::Doc::openapi(),
        crate::requests::api::Doc::openapi(),
        crate::requests::files::api::Doc::openapi(),
        crate::casework::api::Doc::openapi(),
        crate::registry::api::Doc::openapi(),
        crate::registry::linkage::api::Doc::openapi(),
        crate::registry::needs::api::Doc::openapi(),
        crate::evaluation::api::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

/// The error envelope of every API error.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `unauthorized`, `forbidden`, `not_found`, `invalid`, `stale`, …
    code: String,
    /// In the language of `Accept-Language` (zh-CN or en).
    message: String,
    /// Field name → reason, for `invalid`.
    details: std::collections::BTreeMap<String, String>,
    /// Also in the `x-request-id` header and the server's logs.
    request_id: String,
}

/// Split one extra row off a `PAGE + 1` query into the next-page cursor.
pub(crate) fn paginate<T>(mut items: Vec<T>, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
    let limit = crate::web::page::PAGE as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(&id)
    } else {
        None
    };
    (items, next)
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!()).route("/api/v1/openapi.json", get(openapi))
}
