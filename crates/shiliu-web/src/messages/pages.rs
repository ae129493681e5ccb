//! The inbox: one's own in-app messages, newest first, marked read one by one or all at once.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use shiliu_db::scope::grants;

use crate::web::error::AppResult;
use crate::web::page::{Layout, render};
use crate::web::{AppState, Principal};

/// Messages an inbox shows.
const SHOWN: i64 = 200;

pub struct Line {
    pub id: i64,
    pub text: String,
    pub at: String,
    pub href: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "messages/inbox.html")]
struct Inbox {
    l: Layout,
    lines: Vec<Line>,
}

pub async fn inbox(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRequests>()?;
    let found = state
        .db
        .read(move |c| shiliu_db::messages::inbox(c, &actor, SHOWN))
        .await?;
    let t = p.t();
    let l = Layout::new(&p, "", t.s("messages.title"));
    let lines = found
        .iter()
        .map(|m| Line {
            id: m.id,
            text: super::line(t, m),
            at: l.minute(m.created_at),
            href: m
                .request_id
                .map(|r| format!("/requests/{r}"))
                .unwrap_or_default(),
            unread: m.read_at.is_none(),
        })
        .collect();
    render(&Inbox { l, lines })
}

pub async fn read(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRequests>()?;
    state
        .db
        .write(move |c| shiliu_db::messages::mark_read(c, &actor, id))
        .await?;
    Ok(Redirect::to("/messages").into_response())
}

pub async fn read_all(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRequests>()?;
    state
        .db
        .write(move |c| shiliu_db::messages::mark_all_read(c, &actor))
        .await?;
    Ok(Redirect::to("/messages?saved=1").into_response())
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/messages", get(inbox))
        .route("/messages/read-all", post(read_all))
        .route("/messages/{id}/read", post(read))
}
