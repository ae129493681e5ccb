//! The follow-up across councils (议定事项跟踪): every item decided or handed to a request and
//! not yet done, of the councils the caller reads — the overdue ones alone when asked (the
//! to-do's link) — as a page and a workbook.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use shiliu_db::councils::items::{self, Followed};
use shiliu_db::scope::grants;

use crate::web::error::AppResult;
use crate::web::i18n::T;
use crate::web::page::{Layout, render};
use crate::web::xlsx::{self, Cell};
use crate::web::{AppState, Principal};

pub(crate) fn routes() -> crate::Routes {
    crate::Routes::new(file!())
        .route("/councils/follow-up", get(page))
        .route("/councils/follow-up.xlsx", get(export))
}

/// The most lines the page shows (the workbook holds them all).
const MOST: i64 = 1_000;

#[derive(serde::Deserialize, Default)]
pub struct FollowQuery {
    /// `1`: only those past their deadline.
    #[serde(default)]
    overdue: String,
}

/// One open item with its council, in words.
pub struct Line {
    pub f: Followed,
    pub council: String,
    pub overdue: bool,
    pub status: String,
}

async fn lines(
    state: &AppState,
    p: &Principal,
    q: &FollowQuery,
    limit: i64,
) -> AppResult<Vec<Line>> {
    let actor = p.require::<grants::ViewCouncils>()?;
    let t = p.t();
    let today = shiliu_db::today();
    let overdue = (q.overdue == "1").then_some(today);
    let rows = state
        .db
        .read(move |c| items::open_in(c, actor.scope(), overdue, limit))
        .await?;
    Ok(rows
        .into_iter()
        .map(|(f, council)| Line {
            overdue: f.item.overdue(today),
            status: status(t, &f),
            council,
            f,
        })
        .collect())
}

fn status(t: T, f: &Followed) -> String {
    match &f.request_status {
        Some(s) => format!(
            "{}（{}）",
            t.label("item_status", &f.item.status),
            t.label("status", s)
        ),
        None => t.label("item_status", &f.item.status),
    }
}

#[derive(Template)]
#[template(path = "councils/follow_up.html")]
struct FollowPage {
    l: Layout,
    lines: Vec<Line>,
    overdue: bool,
    cut: bool,
}

pub async fn page(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<FollowQuery>,
) -> AppResult<Response> {
    let t = p.t();
    let mut lines = lines(&state, &p, &q, MOST + 1).await?;
    let cut = lines.len() > usize::try_from(MOST).unwrap_or(usize::MAX);
    lines.truncate(usize::try_from(MOST).unwrap_or(usize::MAX));
    render(&FollowPage {
        l: Layout::new(&p, "nav.councils", t.s("councils.follow_up_all")),
        lines,
        overdue: q.overdue == "1",
        cut,
    })
}

pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<FollowQuery>,
) -> AppResult<Response> {
    let t = p.t();
    let lines = lines(&state, &p, &q, 1_000_000).await?;
    let headers: Vec<String> = [
        "field.council",
        "field.item_text",
        "field.council_decision",
        "field.responsible",
        "field.council_due_on",
        "field.status",
        "councils.overdue",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    let rows: Vec<Vec<Cell>> = lines
        .iter()
        .map(|l| {
            let i = &l.f.item;
            let decision = match &l.f.request_code {
                Some(code) => format!("{} {code}", t.s("councils.referred_to")),
                None => i.decision.clone().unwrap_or_default(),
            };
            vec![
                Cell::from(l.council.as_str()),
                Cell::from(i.text.as_str()),
                Cell::from(decision.as_str()),
                Cell::from(i.responsible.clone().unwrap_or_default().as_str()),
                i.due_on.map_or(Cell::Empty, Cell::Date),
                Cell::from(l.status.as_str()),
                Cell::from(if l.overdue {
                    t.s("councils.overdue")
                } else {
                    ""
                }),
            ]
        })
        .collect();
    Ok(xlsx::download(
        "council-follow-up.xlsx",
        xlsx::sheet(t.s("councils.follow_up_all"), &headers, &rows)?,
    ))
}
