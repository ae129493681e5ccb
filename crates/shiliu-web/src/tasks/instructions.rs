//! What was said and what is done about it (“怎么说” · “怎么做”) as pages: a plan's instructions
//! — speeches, documents with their 文号, meetings — with the tasks that carry each out; one
//! instruction with every ledger report on those tasks (who did what about it), and, for the
//! organiser, the tasks it is linked to. A task's page lists the instructions it carries out.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::DbError;
use shiliu_db::scope::grants;
use shiliu_db::tasks::instructions::{self as db, Instruction};
use shiliu_db::tasks::{self as plans, Plan, Tree};
use shiliu_domain::FieldErrors;
use shiliu_domain::tasks::PlanStatus;
use shiliu_domain::tasks::instructions::{
    InstructionFields, InstructionInput, InstructionSource, picked_items,
};

use crate::web::error::AppResult;
use crate::web::i18n::T;
use crate::web::page::{Layout, Pager, Saved, render_form, show_minute};
use crate::web::{AppState, Principal};

/// An instruction as a list shows it.
pub struct InstructionRow {
    pub id: i64,
    pub source: String,
    pub title: String,
    pub reference: String,
    pub issuer: String,
    pub said_on: String,
    pub body: String,
    pub tasks: usize,
}

pub(crate) fn instruction_row(t: T, i: &Instruction, tasks: usize) -> InstructionRow {
    InstructionRow {
        id: i.id,
        source: t.label("instruction_source", i.source().as_str()),
        title: i.title.clone(),
        reference: i.reference.clone().unwrap_or_default(),
        issuer: i.issuer.clone().unwrap_or_default(),
        said_on: i.said_on.to_string(),
        body: i.body.clone(),
        tasks,
    }
}

/// A task to tick: (id, indent, seq and title, ticked).
pub type Pick = (i64, usize, String, bool);

/// The plan's tasks and measures to tick (areas are headings, not picked).
fn picks(tree: &Tree, ticked: &[i64]) -> Vec<Pick> {
    tree.nodes
        .iter()
        .filter(|n| n.item.level() != shiliu_domain::tasks::TaskLevel::Area)
        .map(|n| {
            (
                n.item.id,
                n.depth,
                format!("{} {}", n.item.seq, n.item.title)
                    .trim()
                    .to_string(),
                ticked.contains(&n.item.id),
            )
        })
        .collect()
}

#[derive(Default, Clone)]
pub struct InstructionForm {
    source: String,
    title: String,
    reference: String,
    issuer: String,
    said_on: String,
    body: String,
    items: Vec<String>,
    version: i32,
}

impl InstructionForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "source" => f.source.clone_from(v),
                "title" => f.title.clone_from(v),
                "reference" => f.reference.clone_from(v),
                "issuer" => f.issuer.clone_from(v),
                "said_on" => f.said_on.clone_from(v),
                "body" => f.body.clone_from(v),
                "items" => f.items.push(v.clone()),
                "version" => f.version = v.trim().parse().unwrap_or_default(),
                _ => {}
            }
        }
        f
    }

    fn ticked(&self) -> Vec<i64> {
        self.items
            .iter()
            .filter_map(|v| v.trim().parse().ok())
            .collect()
    }
}

#[derive(Template)]
#[template(path = "tasks/instructions.html")]
struct ListPage {
    l: Layout,
    plan: Plan,
    rows: Vec<InstructionRow>,
    may_add: bool,
    sources: Vec<(&'static str, String)>,
    picks: Vec<Pick>,
    f: InstructionForm,
    errors: Vec<(String, String)>,
}

/// The plan as its readers reach it, with its tree.
async fn read(state: &AppState, p: &Principal, id: i64) -> AppResult<(Plan, Tree)> {
    let viewer = p.require::<grants::ViewTasks>()?;
    Ok(state
        .db
        .read(move |c| {
            let plan = plans::get_plan(c, viewer.scope(), id)?;
            let tree = plans::tree(c, &plan)?;
            Ok((plan, tree))
        })
        .await?)
}

async fn list_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    f: InstructionForm,
    errs: &FieldErrors,
    said: Option<String>,
) -> AppResult<Response> {
    let (plan, tree) = read(state, p, id).await?;
    let plan2 = plan.clone();
    let list = state.db.read(move |c| db::list(c, &plan2)).await?;
    let t = p.t();
    let may_add = p.require::<grants::ManageTasks>().is_ok() && plan.status() != PlanStatus::Draft;
    let page = ListPage {
        l: Layout::new(
            p,
            "nav.plans",
            &format!("{} · {}", plan.name, t.s("instr.title")),
        )
        .said(said),
        rows: list
            .iter()
            .map(|(i, items)| instruction_row(t, i, items.len()))
            .collect(),
        may_add,
        sources: InstructionSource::ALL
            .iter()
            .map(|s| (s.as_str(), t.label("instruction_source", s.as_str())))
            .collect(),
        picks: if may_add {
            picks(&tree, &f.ticked())
        } else {
            Vec::new()
        },
        f,
        errors: t.field_errors(errs),
        plan,
    };
    render_form(&page, !errs.is_empty())
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    list_page(
        &state,
        &p,
        id,
        InstructionForm::default(),
        &FieldErrors::new(),
        None,
    )
    .await
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let f = InstructionForm::from_pairs(&pairs);
    let input = InstructionInput::parse(
        InstructionFields {
            source: &f.source,
            title: &f.title,
            reference: &f.reference,
            issuer: &f.issuer,
            said_on: &f.said_on,
            body: &f.body,
        },
        &f.items,
        shiliu_db::today(),
    );
    let result = match input {
        Ok(input) => {
            state
                .db
                .write(move |c| db::create(c, &actor, id, &input))
                .await
        }
        Err(e) => Err(DbError::Invalid(e)),
    };
    match result {
        Ok(i) => Ok(
            Redirect::to(&format!("/plans/{id}/instructions/{}?done=created", i.id))
                .into_response(),
        ),
        Err(DbError::Invalid(errs)) => list_page(&state, &p, id, f, &errs, None).await,
        Err(e) => Err(e.into()),
    }
}

/// A report that carries the instruction out, as its page lists it.
pub struct DoneRow {
    pub href: String,
    pub unit: String,
    pub task: String,
    pub period: String,
    pub status: String,
    pub status_code: &'static str,
    pub progress: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "tasks/instruction.html")]
struct ShowPage {
    l: Layout,
    plan: Plan,
    i: InstructionRow,
    version: i32,
    /// The tasks linked: (href, seq and title).
    tasks: Vec<(String, String)>,
    done: Vec<DoneRow>,
    pager: Pager,
    may_relink: bool,
    picks: Vec<Pick>,
    errors: Vec<(String, String)>,
}

/// Reports an instruction's page lists at a time (a province's ten tasks carry out thousands).
const DONE_PAGE: usize = 50;

async fn show_page(
    state: &AppState,
    p: &Principal,
    (id, instruction): (i64, i64),
    (ticked, from): (Option<Vec<i64>>, &str),
    errs: &FieldErrors,
    said: Option<String>,
) -> AppResult<Response> {
    let viewer = p.require::<grants::ViewTasks>()?;
    let asked = Pager::asked(from)?;
    let (plan, tree, (i, linked), (done, total, start)) = state
        .db
        .read(move |c| {
            let plan = plans::get_plan(c, viewer.scope(), id)?;
            let tree = plans::tree(c, &plan)?;
            let i = db::get(c, &plan, instruction)?;
            let page = |c: &mut shiliu_db::DbConnection, n: usize| {
                let at = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
                db::carried_out(c, (&plan, &tree), instruction, (at(n), at(DONE_PAGE)))
                    .map(|(rows, total)| (rows, usize::try_from(total).unwrap_or_default()))
            };
            let (mut done, total) = page(c, asked)?;
            // Past the end: the last page.
            let start = Pager::within(asked, DONE_PAGE, total);
            if start != asked {
                done = page(c, start)?.0;
            }
            Ok((plan, tree, i, (done, total, start)))
        })
        .await?;
    let t = p.t();
    let pager = Pager::new(
        t,
        (start, DONE_PAGE, total),
        &format!("/plans/{id}/instructions/{instruction}"),
    );
    let may_relink =
        p.require::<grants::ManageTasks>().is_ok() && plan.status() != PlanStatus::Draft;
    let ticked = ticked.unwrap_or_else(|| linked.iter().map(|x| x.id).collect());
    let page = ShowPage {
        l: Layout::new(p, "nav.plans", &i.title).said(said),
        tasks: linked
            .iter()
            .map(|x| {
                (
                    format!("/plans/{}/tasks/{}", plan.id, x.id),
                    format!("{} {}", x.seq, x.title).trim().to_string(),
                )
            })
            .collect(),
        done: done
            .into_iter()
            .map(|d| DoneRow {
                href: format!("/plans/{}/tasks/{}", plan.id, d.report.item_id),
                unit: d.unit_name,
                task: d.item_title,
                period: super::ledger::period_text(t, &d.report.period),
                status: t.label("report_status", &d.report.status),
                status_code: d.report.status().as_str(),
                progress: d.report.progress,
                at: show_minute(d.report.submitted_at),
            })
            .collect(),
        pager,
        may_relink,
        picks: if may_relink {
            picks(&tree, &ticked)
        } else {
            Vec::new()
        },
        errors: t.field_errors(errs),
        version: i.version,
        i: instruction_row(t, &i, linked.len()),
        plan,
    };
    render_form(&page, !errs.is_empty())
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    from: String,
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path((id, instruction)): Path<(i64, i64)>,
    Query(saved): Query<Saved>,
    Query(page): Query<PageQuery>,
) -> AppResult<Response> {
    let said = saved
        .done(&["created", "relinked"])
        .map(|d| p.t().s(&format!("instr.done_{d}")).to_string());
    show_page(
        &state,
        &p,
        (id, instruction),
        (None, &page.from),
        &FieldErrors::new(),
        said,
    )
    .await
}

pub async fn relink(
    State(state): State<AppState>,
    p: Principal,
    Path((id, instruction)): Path<(i64, i64)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let f = InstructionForm::from_pairs(&pairs);
    let result = match picked_items(&f.items) {
        Ok(items) => {
            let version = f.version;
            state
                .db
                .write(move |c| db::relink(c, &actor, (id, instruction), version, &items))
                .await
        }
        Err(e) => Err(DbError::Invalid(e.into())),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!(
            "/plans/{id}/instructions/{instruction}?done=relinked"
        ))
        .into_response()),
        Err(DbError::Invalid(errs)) => {
            show_page(
                &state,
                &p,
                (id, instruction),
                (Some(f.ticked()), ""),
                &errs,
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/plans/{id}/instructions", get(list).post(create))
        .route("/plans/{id}/instructions/{instruction}", get(show))
        .route("/plans/{id}/instructions/{instruction}/items", post(relink))
}
