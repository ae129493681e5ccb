//! The home page — each role's to-do (待办) — and the reference tables.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use shiliu_db::org as org_db;
use shiliu_db::scope::grants;
use shiliu_domain::roles::Permission;

use crate::web::error::AppResult;
use crate::web::page::{Layout, render};
use crate::web::{AppState, Principal};

#[derive(Template)]
#[template(path = "home/home.html")]
struct HomePage {
    l: Layout,
    /// Evaluation work left to the user's unit or teams.
    todo: Vec<crate::evaluation::scores::TodoLine>,
    /// What is owed, counted, each linking to its list.
    counters: Vec<super::todo::Counter>,
    /// The first requests of the handler's queue, oldest due first.
    queue_requests: Vec<crate::requests::pages::RequestRow>,
    /// The first declarations of the grid worker's queue.
    queue_declarations: Vec<(i64, String, String, usize, String)>,
    welcome: String,
    scope_line: String,
    counts: Vec<(&'static str, i64, &'static str)>,
}

pub async fn home(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    let actor = p.require::<grants::ViewOrg>()?;
    if p.role().starts_on_dashboard() {
        return Ok(axum::response::Redirect::to("/dashboard").into_response());
    }
    let scope = actor.scope().clone();
    let evaluates = p.can(Permission::ReportEvaluations) || p.can(Permission::ReviewEvaluations);
    let (counts, roots, todo) = state
        .db
        .read(move |c| {
            let todo = if evaluates {
                shiliu_db::evaluation::reminders::todo(c, &actor)?
            } else {
                Vec::new()
            };
            Ok((
                org_db::counts(c, &scope)?,
                org_db::scope_roots(c, &scope)?,
                todo,
            ))
        })
        .await?;
    let owed = super::todo::gather(&state, &p).await?;
    let (queue_requests, queue_declarations) = match owed.queue {
        Some(super::todo::QueueItems::Requests(r)) => (r, Vec::new()),
        Some(super::todo::QueueItems::Declarations(d)) => (Vec::new(), d),
        None => (Vec::new(), Vec::new()),
    };
    let t = p.t();
    let scope_names: Vec<String> = roots.iter().map(|r| r.name.clone()).collect();
    // Tiles link only where the user may go.
    let users_href = if p.can(Permission::ManageUsers) {
        "/users"
    } else {
        ""
    };
    let page = HomePage {
        l: Layout::new(&p, "nav.home", t.s("home.title")),
        todo: crate::evaluation::scores::todo_lines(t, &todo),
        counters: owed.counters,
        queue_requests,
        queue_declarations,
        welcome: t.f("home.welcome", &[("name", &p.user().display_name)]),
        scope_line: t.f("home.scope", &[("scope", &scope_names.join("、"))]),
        counts: vec![
            ("count.cities", counts.cities, "/regions"),
            ("count.counties", counts.counties, "/regions"),
            ("count.townships", counts.townships, "/regions"),
            ("count.communities", counts.communities, "/regions"),
            ("count.grids", counts.grids, "/regions"),
            ("count.sites", counts.sites, "/sites"),
            ("count.units", counts.units, "/units"),
            ("count.users", counts.users, users_href),
            ("count.grid_workers", counts.grid_workers, users_href),
        ],
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "home/reference.html")]
struct ReferencePage {
    l: Layout,
    divisions_line: String,
    peoples: Vec<(String, String, String, String)>,
}

/// The shipped reference data: the peoples, and how many divisions are built in.
pub async fn reference(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    use shiliu_domain::divisions::DivisionLevel as L;
    p.require::<grants::ViewOrg>()?;
    let t = p.t();
    let peoples = state.db.read(org_db::peoples).await?;
    let gx: Vec<_> = shiliu_domain::divisions::guangxi().collect();
    let count = |l| gx.iter().filter(|d| d.level == l).count().to_string();
    let page = ReferencePage {
        l: Layout::new(&p, "nav.reference", t.s("reference.title")),
        divisions_line: t.f(
            "reference.divisions",
            &[
                ("cities", &count(L::City)),
                ("counties", &count(L::County)),
                ("townships", &count(L::Township)),
            ],
        ),
        peoples,
    };
    render(&page)
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!())
        .route("/", get(home))
        .route("/reference", get(reference))
}
