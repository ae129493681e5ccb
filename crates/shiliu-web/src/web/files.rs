//! Files in and out of the web layer: forms that may carry files, and serving a file back.
//!
//! A form with a file input is sent as `multipart/form-data`; the same handler also takes the
//! url-encoded form (no file chosen, no JavaScript, API clients), so each form is read one way.
//! Its CSRF token is the form's first field, `_csrf`, which the middleware finds without
//! reading the files (never in the query string, which ends up in logs and `Referer`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use shiliu_domain::FieldErrors;
use shiliu_domain::files::{FileInput, FileLimits};

use crate::web::error::{AppError, AppResult};

/// One file as it came in.
pub struct Upload {
    pub field: String,
    pub name: String,
    pub bytes: Bytes,
}

/// A submitted form: its text fields in order (repeated names kept), and its files.
#[derive(Default)]
pub struct FormData {
    pub pairs: Vec<(String, String)>,
    pub uploads: Vec<Upload>,
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            let body = Bytes::from_request(req, state)
                .await
                .map_err(|_| AppError::PayloadTooLarge)?;
            let pairs =
                serde_urlencoded::from_bytes(&body).map_err(|_| AppError::BadRequest("form"))?;
            return Ok(Self {
                pairs,
                uploads: Vec::new(),
            });
        }
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|_| AppError::BadRequest("form"))?;
        let mut out = Self::default();
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|_| AppError::BadRequest("form"))?
        {
            let name = field.name().unwrap_or_default().to_string();
            if let Some(file_name) = field.file_name().map(str::to_string) {
                let bytes = field.bytes().await.map_err(|_| AppError::PayloadTooLarge)?;
                // A file input left empty still sends a part, with no name and no content.
                if !(file_name.is_empty() && bytes.is_empty()) {
                    out.uploads.push(Upload {
                        field: name,
                        name: file_name,
                        bytes,
                    });
                }
            } else {
                let text = field
                    .text()
                    .await
                    .map_err(|_| AppError::BadRequest("form"))?;
                out.pairs.push((name, text));
            }
        }
        Ok(out)
    }
}

impl FormData {
    /// The text fields as the handler's form type.
    pub fn parse<F: DeserializeOwned>(&self) -> AppResult<F> {
        let encoded =
            serde_urlencoded::to_string(&self.pairs).map_err(|_| AppError::BadRequest("form"))?;
        serde_urlencoded::from_str(&encoded).map_err(|_| AppError::BadRequest("form"))
    }

    /// The files sent in `field`, each checked (kind, size); every refused file is reported.
    pub fn files(&self, field: &str, limits: FileLimits) -> Result<Vec<FileInput>, FieldErrors> {
        let mut errs = FieldErrors::new();
        let files: Vec<FileInput> = self
            .uploads
            .iter()
            .filter(|u| u.field == field)
            .filter_map(|u| errs.check(FileInput::parse(field, &u.name, u.bytes.to_vec(), limits)))
            .collect();
        if let Err(e) = FileInput::check_count(field, 0, files.len(), limits) {
            errs.push(e);
        }
        errs.into_result()?;
        Ok(files)
    }
}

/// A file as a response: its checked type, shown in the page or downloaded, under its name.
/// The content never runs as a page of ours (`nosniff`, and a sandbox for what is shown).
pub fn serve(content_type: &str, name: &str, inline: bool, bytes: Vec<u8>) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        crate::web::urlencode(name)
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
        ),
    );
    r
}
