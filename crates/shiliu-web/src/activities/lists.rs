//! The lists the commission edits (活动类型 · 宣传品 · 培训对象): an entry added at the end of
//! its list, or retired from the choices and brought back (records keep naming it).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use shiliu_db::activities::{self as db, Term};
use shiliu_db::scope::grants;
use shiliu_domain::FieldErrors;
use shiliu_domain::activities::{TermInput, TermList};

use crate::web::error::AppResult;
use crate::web::files::FormData;
use crate::web::page::{Layout, Saved, render_form};
use crate::web::{AppState, Principal};

pub(crate) fn routes() -> crate::Routes {
    crate::Routes::new(file!())
        .route("/settings/activity-lists", get(page).post(add))
        .route("/settings/activity-lists/{id}/active", post(set_active))
}

/// One list with its entries.
pub struct ListOf {
    pub code: &'static str,
    pub title: String,
    pub terms: Vec<Term>,
}

#[derive(Template)]
#[template(path = "activities/lists.html")]
struct ListsPage {
    l: Layout,
    lists: Vec<ListOf>,
    /// The list the form that came back was for, and what it held.
    list: String,
    name: String,
    unit_word: String,
    errors: Vec<(String, String)>,
}

async fn lists_page(
    state: &AppState,
    p: &Principal,
    (list, name, unit_word): (String, String, String),
    errs: &FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    p.require::<grants::ManageActivities>()?;
    let t = p.t();
    let all = state
        .db
        .read(|c| {
            TermList::ALL
                .iter()
                .map(|l| db::terms(c, *l, true).map(|terms| (*l, terms)))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    render_form(
        &ListsPage {
            l: Layout::new(p, "nav.activities", t.s("activities.lists")).flash(saved),
            lists: all
                .into_iter()
                .map(|(l, terms)| ListOf {
                    code: l.as_str(),
                    title: t.label("term_list", l.as_str()),
                    terms,
                })
                .collect(),
            list,
            name,
            unit_word,
            errors: t.field_errors(errs),
        },
        !errs.is_empty(),
    )
}

pub async fn page(
    State(state): State<AppState>,
    p: Principal,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    lists_page(&state, &p, Default::default(), &FieldErrors::new(), s.yes()).await
}

#[derive(serde::Deserialize)]
pub struct AddForm {
    #[serde(default)]
    list: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    unit_word: String,
}

pub async fn add(
    State(state): State<AppState>,
    p: Principal,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageActivities>()?;
    let f: AddForm = form.parse()?;
    let back = (f.list.clone(), f.name.clone(), f.unit_word.clone());
    let Some(list) = TermList::parse(&f.list) else {
        let e = FieldErrors::from(shiliu_domain::FieldError::new("list", "err.choice"));
        return lists_page(&state, &p, back, &e, false).await;
    };
    let input = match TermInput::parse(list, &f.name, &f.unit_word) {
        Ok(i) => i,
        Err(e) => return lists_page(&state, &p, back, &e, false).await,
    };
    match state
        .db
        .write(move |c| db::add_term(c, &actor, list, &input))
        .await
    {
        Ok(_) => Ok(Redirect::to("/settings/activity-lists?saved=1").into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => lists_page(&state, &p, back, &e, false).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct ActiveForm {
    version: i32,
    active: String,
}

pub async fn set_active(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageActivities>()?;
    let f: ActiveForm = form.parse()?;
    let active = f.active == "1";
    state
        .db
        .write(move |c| db::set_term_active(c, &actor, id, f.version, active))
        .await?;
    Ok(Redirect::to("/settings/activity-lists?saved=1").into_response())
}
