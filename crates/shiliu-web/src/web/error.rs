//! The web layer's error: what handlers return.
//!
//! A handler's `AppError` becomes a response carrying an [`ErrorInfo`] extension and no body;
//! the context middleware (`web::context`) then writes the body the client wants — a friendly HTML page
//! in the user's language, or the API envelope `{"error":{"code","message","details"}}` — and
//! logs internal causes with the request id. Internal causes never reach the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use shiliu_db::DbError;
use shiliu_domain::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// No valid session or token. Pages redirect to the login form; the API answers 401.
    #[error("unauthorized")]
    Unauthorized { next: String },
    #[error("csrf token missing or wrong")]
    Csrf,
    #[error("stale version")]
    Stale,
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("too many requests")]
    TooMany,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

/// What the error middleware needs to render the body.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    /// Machine-readable code for API clients: `not_found`, `invalid`, …
    pub code: &'static str,
    /// Catalogue key of the message.
    pub message_key: &'static str,
    pub details: Option<FieldErrors>,
    /// Logged, never shown.
    pub internal: Option<String>,
}

impl AppError {
    pub fn info(&self) -> ErrorInfo {
        let (status, code, message_key) = match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found", "err.not_found"),
            AppError::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "err.forbidden"),
            AppError::Unauthorized { .. } => {
                (StatusCode::UNAUTHORIZED, "unauthorized", "err.unauthorized")
            }
            AppError::Csrf => (StatusCode::FORBIDDEN, "csrf", "err.csrf"),
            AppError::Stale => (StatusCode::CONFLICT, "stale", "err.stale"),
            AppError::Invalid(_) | AppError::BadRequest(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", "err.invalid")
            }
            AppError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "err.method",
            ),
            AppError::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "err.too_many",
            ),
            AppError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "err.payload_too_large",
            ),
            AppError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "err.unavailable",
            ),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "err.internal",
            ),
        };
        ErrorInfo {
            status,
            code,
            message_key,
            details: match self {
                AppError::Invalid(e) => Some(e.clone()),
                AppError::BadRequest(field) => {
                    Some(shiliu_domain::FieldError::new(*field, "err.malformed").into())
                }
                _ => None,
            },
            internal: match self {
                AppError::Internal(s) | AppError::Unavailable(s) => Some(s.clone()),
                _ => None,
            },
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => AppError::NotFound,
            DbError::Forbidden => AppError::Forbidden,
            DbError::Stale => AppError::Stale,
            DbError::Invalid(f) => AppError::Invalid(f),
            DbError::Pool(e) => AppError::Unavailable(e.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
        AppError::Invalid(e)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Unauthorized { next } = &self {
            // Only pages get here with a `next`; the middleware turns API 401s into JSON.
            if !next.is_empty() {
                return Redirect::to(&format!("/login?next={}", crate::web::urlencode(next)))
                    .into_response();
            }
        }
        let info = self.info();
        let mut r = info.status.into_response();
        r.extensions_mut().insert(info);
        r
    }
}

pub type AppResult<T> = Result<T, AppError>;
