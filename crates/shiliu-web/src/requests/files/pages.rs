//! A request's files and co-handling units (协办) on its page: the lists, and the forms to
//! attach a file, ask a unit for help and answer as that unit.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;
use shiliu_db::audit::{self, Event};
use shiliu_db::requests::{self as db, cohandling, files};
use shiliu_db::scope::grants;
use shiliu_domain::files::{FileKind, REQUEST_FILES};
use shiliu_domain::requests::{CohandlingInput, parse_cohandling_answer};
use shiliu_domain::roles::Permission;

use crate::web::error::AppResult;
use crate::web::files::FormData;
use crate::web::page::show_minute;
use crate::web::{AppState, Principal};

/// One file as the page lists it.
pub struct FileRow {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub kind: String,
    pub by: String,
    pub at: String,
}

/// One co-handler as the page lists it.
pub struct CohandlerRow {
    pub id: i64,
    pub name: String,
    pub asked: String,
    pub asked_by: String,
    pub asked_at: String,
    pub status: String,
    pub answer: String,
    pub answered: String,
    /// The reader may answer for it now.
    pub can_answer: bool,
}

/// What the request page shows of its files and co-handlers.
pub struct RequestExtras {
    pub files: Vec<FileRow>,
    pub can_attach: bool,
    pub cohandlers: Vec<CohandlerRow>,
    pub can_ask: bool,
}

/// Who may add files to a request they see: whoever takes requests in or handles them (the
/// permission to require; one the reader lacks when they have neither).
pub(crate) fn may_attach(p: &Principal) -> Permission {
    [Permission::HandleRequests, Permission::CreateRequests]
        .into_iter()
        .find(|x| p.can(*x))
        .unwrap_or(Permission::CreateRequests)
}

fn size_label(bytes: i64) -> String {
    if bytes < 1024 * 1024 {
        format!("{} KB", (bytes + 1023) / 1024)
    } else {
        #[allow(clippy::cast_precision_loss)] // sizes are at most a few megabytes
        let mb = bytes as f64 / (1024.0 * 1024.0);
        format!("{mb:.1} MB")
    }
}

pub(crate) async fn for_request(
    state: &AppState,
    p: &Principal,
    r: &db::Request,
) -> AppResult<RequestExtras> {
    let t = p.t();
    let request = r.clone();
    let (list, cos) = state
        .db
        .read(move |c| Ok((files::list(c, &request)?, cohandling::list(c, &request)?)))
        .await?;
    let handles = p.can(Permission::HandleRequests);
    let dispatches = p.can(Permission::DispatchRequests);
    let (my_site, my_unit) = (p.user().site_id, p.user().unit_id);
    Ok(RequestExtras {
        files: list
            .into_iter()
            .map(|a| FileRow {
                id: a.id,
                size: size_label(a.size),
                kind: t
                    .s(if a.is_image() {
                        "files.photo"
                    } else {
                        "files.document"
                    })
                    .to_string(),
                name: a.name,
                by: a.uploader,
                at: show_minute(a.created_at),
            })
            .collect(),
        can_attach: p.can(may_attach(p)),
        cohandlers: cos
            .into_iter()
            .map(|n| {
                let c = n.cohandler;
                let own = c.site_id.is_some() && c.site_id == my_site
                    || c.unit_id.is_some() && c.unit_id == my_unit;
                CohandlerRow {
                    id: c.id,
                    name: n.name,
                    can_answer: c.status == cohandling::ASKED && handles && (own || dispatches),
                    status: t.label("cohandle_status", &c.status),
                    asked: c.asked,
                    asked_by: c.asked_by,
                    asked_at: show_minute(c.asked_at),
                    answer: c.answer.unwrap_or_default(),
                    answered: c
                        .answered_by
                        .map(|b| {
                            format!(
                                "{b} · {}",
                                c.answered_at.map(show_minute).unwrap_or_default()
                            )
                        })
                        .unwrap_or_default(),
                }
            })
            .collect(),
        can_ask: handles && r.status().may_ask_cohandlers(),
    })
}

/// Add files to a request (multipart; the form's token is in the query string).
pub async fn attach(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require_permission(may_attach(&p))?;
    let result = match form.files("files", REQUEST_FILES) {
        Ok(list) => {
            state
                .db
                .write(move |c| files::attach(c, &actor, id, &list, "files"))
                .await
        }
        Err(e) => Err(shiliu_db::DbError::Invalid(e)),
    };
    crate::requests::pages::after_form(&state, &p, id, result, |_| {
        format!("/requests/{id}?saved=1")
    })
    .await
}

/// One file, for someone who may see its request. Opening it is audited: a photo may show a
/// person or their papers.
pub async fn open(
    State(state): State<AppState>,
    p: Principal,
    Path((id, file_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    file_response(&state, &p, id, file_id).await
}

/// The file as a response, its opening audited (pages and API alike).
pub(crate) async fn file_response(
    state: &AppState,
    p: &Principal,
    id: i64,
    file_id: i64,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRequests>()?;
    let (a, bytes) = state
        .db
        .write(move |c| {
            let r = db::get(c, actor.scope(), id)?;
            let (a, bytes) = files::open(c, actor.scope(), id, file_id)?;
            audit::record(
                c,
                &actor,
                Event::new("request.file_view", "request", r.id)
                    .region(r.region_id)
                    .detail(serde_json::json!({"file_id": a.id, "name": a.name})),
            )?;
            Ok((a, bytes))
        })
        .await?;
    let inline = FileKind::parse(&a.content_type).is_some_and(FileKind::inline);
    let mut resp = crate::web::files::serve(&a.content_type, &a.name, inline, bytes);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}

#[derive(Deserialize)]
pub struct AskForm {
    version: i32,
    #[serde(default)]
    cohandler: String,
    #[serde(default)]
    asked: String,
}

/// 协办: ask a site or unit to help with the request.
pub async fn ask(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<AskForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::HandleRequests>()?;
    let result = match CohandlingInput::parse(&f.cohandler, &f.asked) {
        Ok(input) => {
            state
                .db
                .write(move |c| cohandling::ask(c, &actor, id, f.version, &input))
                .await
        }
        Err(e) => Err(shiliu_db::DbError::Invalid(e)),
    };
    crate::requests::pages::after_form(&state, &p, id, result, |_| {
        format!("/requests/{id}?saved=1")
    })
    .await
}

#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    answer: String,
}

/// The co-handler's answer.
pub async fn answer(
    State(state): State<AppState>,
    p: Principal,
    Path((id, cohandler_id)): Path<(i64, i64)>,
    Form(f): Form<AnswerForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::HandleRequests>()?;
    let for_others = p.can(Permission::DispatchRequests);
    let result = match parse_cohandling_answer(&f.answer) {
        Ok(text) => {
            state
                .db
                .write(move |c| cohandling::answer(c, &actor, id, cohandler_id, for_others, &text))
                .await
        }
        Err(e) => Err(e.into()),
    };
    crate::requests::pages::after_form(&state, &p, id, result, |_| {
        format!("/requests/{id}?saved=1")
    })
    .await
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/requests/{id}/files", post(attach))
        .route("/requests/{id}/files/{file_id}", get(open))
        .route("/requests/{id}/cohandlers", post(ask))
        .route(
            "/requests/{id}/cohandlers/{cohandler_id}/answer",
            post(answer),
        )
}
