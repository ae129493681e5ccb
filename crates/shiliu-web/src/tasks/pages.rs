//! Work plans (实施方案) as pages: the list (with, for a unit's reporter, what the unit has
//! been handed), a new plan, and one plan — its header and phases, its status, the task tree
//! with the units each is handed to, copying it to next year; its sheet in `sheets`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use shiliu_db::DbError;
use shiliu_db::scope::grants;
use shiliu_db::tasks::ledger::PairMarks;
use shiliu_db::tasks::{self as db, AssignedTask, Plan, Tree};
use shiliu_domain::FieldErrors;
use shiliu_domain::roles::Permission;
use shiliu_domain::tasks::{
    PhaseFields, PlanInput, PlanStatus, Progress, Recurrence, Reported, Schedules, TaskLevel,
};

use crate::web::error::{AppError, AppResult};
use crate::web::i18n::T;
use crate::web::page::{Layout, Saved, render_form};
use crate::web::{AppState, Principal};

/// Phases a plan's form offers (the seeds' plans have three: 强基础 · 见成效 · 创示范).
const PHASE_ROWS: usize = 5;

/// A plan's form as posted: header fields and up to [`PHASE_ROWS`] phases (`phase1_name` …).
#[derive(Default, Clone)]
pub struct PlanForm {
    pub name: String,
    pub organiser: String,
    pub starts_on: String,
    pub ends_on: String,
    /// (name, start, end, goal) per row.
    pub phases: Vec<[String; 4]>,
    pub version: i32,
}

impl PlanForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let phases = (1..=PHASE_ROWS)
            .map(|i| ["name", "start", "end", "goal"].map(|part| get(&format!("phase{i}_{part}"))))
            .collect();
        Self {
            name: get("name"),
            organiser: get("organiser"),
            starts_on: get("starts_on"),
            ends_on: get("ends_on"),
            phases,
            version: get("version").parse().unwrap_or_default(),
        }
    }

    fn parse(&self) -> Result<PlanInput, FieldErrors> {
        let phases: Vec<PhaseFields> = self
            .phases
            .iter()
            .map(|[n, s, e, g]| (n.as_str(), s.as_str(), e.as_str(), g.as_str()))
            .collect();
        PlanInput::parse(
            &self.name,
            &self.organiser,
            &self.starts_on,
            &self.ends_on,
            &phases,
        )
    }

    fn of(p: &Plan) -> Self {
        let mut phases: Vec<[String; 4]> = p
            .phases()
            .into_iter()
            .map(|x| {
                [
                    x.name,
                    x.starts_on.to_string(),
                    x.ends_on.to_string(),
                    x.goal,
                ]
            })
            .collect();
        phases.resize(PHASE_ROWS.max(phases.len()), Default::default());
        Self {
            name: p.name.clone(),
            organiser: p.organiser.clone(),
            starts_on: p.starts_on.to_string(),
            ends_on: p.ends_on.to_string(),
            phases,
            version: p.version,
        }
    }

    /// A new plan's form: three years from next January, the seeds' three phases named.
    fn fresh(t: T) -> Self {
        use chrono::Datelike;
        let y = shiliu_db::today().year() + 1;
        let mut phases: Vec<[String; 4]> = (0..3)
            .map(|i| {
                [
                    t.s(&format!("plans.phase_{}", i + 1)).to_string(),
                    format!("{}-01-01", y + i),
                    format!("{}-12-31", y + i),
                    String::new(),
                ]
            })
            .collect();
        phases.resize(PHASE_ROWS, Default::default());
        Self {
            starts_on: format!("{y}-01-01"),
            ends_on: format!("{}-12-31", y + 2),
            phases,
            ..Self::default()
        }
    }
}

pub struct PlanRow {
    pub id: i64,
    pub name: String,
    pub organiser: String,
    pub period: String,
    pub status: String,
}

pub struct AssignedRow {
    pub plan_id: i64,
    pub plan: String,
    pub task: String,
    pub title: String,
    pub due: String,
    pub lead: bool,
}

#[derive(Template)]
#[template(path = "tasks/plans.html")]
struct ListPage {
    l: Layout,
    rows: Vec<PlanRow>,
    assigned: Vec<AssignedRow>,
    reporter: bool,
    viewer: bool,
    can_create: bool,
    f: PlanForm,
    errors: Vec<(String, String)>,
}

fn plan_row(t: T, p: &Plan) -> PlanRow {
    PlanRow {
        id: p.id,
        name: p.name.clone(),
        organiser: p.organiser.clone(),
        period: format!("{} — {}", p.starts_on, p.ends_on),
        status: t.label("plan_status", &p.status),
    }
}

/// When a task is due, in the reader's language: its day, or its rhythm (每季度).
pub(crate) fn due(t: T, item: &db::Item) -> String {
    match (item.recurrence(), item.due_on) {
        (Recurrence::Once, Some(d)) => d.to_string(),
        (Recurrence::Once, None) => String::new(),
        (r, _) => t.label("recurrence", r.as_str()),
    }
}

fn assigned_row(t: T, a: AssignedTask) -> AssignedRow {
    AssignedRow {
        plan_id: a.plan_id,
        plan: a.plan_name,
        task: a.task_title.unwrap_or_default(),
        due: due(t, &a.item),
        title: a.item.title,
        lead: a.lead,
    }
}

/// What the list shows the caller: the plans of their scope (with `ViewTasks`), and what their
/// unit has been handed (with `ReportTasks`).
async fn listed(state: &AppState, p: &Principal) -> AppResult<(Vec<Plan>, Vec<AssignedTask>)> {
    let viewer = p.require::<grants::ViewTasks>().ok();
    let reporter = p.require::<grants::ReportTasks>().ok();
    if viewer.is_none() && reporter.is_none() {
        return Err(AppError::Forbidden);
    }
    Ok(state
        .db
        .read(move |c| {
            let plans = match &viewer {
                Some(v) => db::plans(c, v.scope())?,
                None => Vec::new(),
            };
            let assigned = match &reporter {
                Some(r) => db::assigned(c, r)?,
                None => Vec::new(),
            };
            Ok((plans, assigned))
        })
        .await?)
}

fn list_page(
    p: &Principal,
    (plans, assigned): (Vec<Plan>, Vec<AssignedTask>),
    f: PlanForm,
    errs: &FieldErrors,
) -> AppResult<Response> {
    let t = p.t();
    render_form(
        &ListPage {
            l: Layout::new(p, "nav.plans", t.s("plans.title")),
            rows: plans.iter().map(|x| plan_row(t, x)).collect(),
            assigned: assigned.into_iter().map(|a| assigned_row(t, a)).collect(),
            reporter: p.can(Permission::ReportTasks),
            viewer: p.can(Permission::ViewTasks),
            can_create: p.can(Permission::ManageTasks),
            f,
            errors: t.field_errors(errs),
        },
        !errs.is_empty(),
    )
}

/// Which of the list's views: everything the caller has, or one of the to-do's lists.
#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    /// What the caller's unit owes (the to-do's `todo.tasks_owed`).
    #[serde(default)]
    owed: Option<String>,
    /// Reports waiting for the caller's decision (`todo.reports_to_review`).
    #[serde(default)]
    review: Option<String>,
    /// Findings the caller's unit is to rectify (`todo.findings_owed`).
    #[serde(default)]
    rectify: Option<String>,
    /// Rectifications waiting for the organiser's verification (`todo.findings_to_verify`).
    #[serde(default)]
    verify: Option<String>,
    /// Reports escalated (督办) and still owed (`todo.tasks_escalated`).
    #[serde(default)]
    escalated: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    if q.owed.is_some() {
        return owed_page(&state, &p).await;
    }
    if q.review.is_some() {
        return review_page(&state, &p).await;
    }
    if q.rectify.is_some() {
        return findings_todo(&state, &p, "rectify").await;
    }
    if q.verify.is_some() {
        return findings_todo(&state, &p, "verify").await;
    }
    if q.escalated.is_some() {
        return escalated_page(&state, &p).await;
    }
    let shown = listed(&state, &p).await?;
    list_page(&p, shown, PlanForm::fresh(p.t()), &FieldErrors::new())
}

pub struct OwedRow {
    pub href: String,
    /// 已催报 / 已督办 for a report it still owes.
    pub pressed: String,
    pub task: String,
    pub title: String,
    pub next: String,
    pub progress: String,
    pub colour: &'static str,
    pub plan: String,
}

pub struct ReviewRow {
    pub href: String,
    pub unit: String,
    pub title: String,
    pub period: String,
    pub sent: String,
    pub plan: String,
}

#[derive(Template)]
#[template(path = "tasks/todo.html")]
struct TodoPage {
    l: Layout,
    owed: Vec<OwedRow>,
    review: Vec<ReviewRow>,
    findings: Vec<super::inspections::FindingRow>,
    /// Which list this is: `owed`, `review`, `rectify`, `verify` or `escalated`.
    which: &'static str,
}

/// Reports escalated (督办) after their day passed and still owed, in the organiser's plans.
async fn escalated_page(state: &AppState, p: &Principal) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let list = state
        .db
        .read(move |c| shiliu_db::tasks::reminders::escalated(c, &actor))
        .await?;
    let t = p.t();
    let review = list
        .into_iter()
        .map(|e| ReviewRow {
            href: format!("/plans/{}/tasks/{}", e.reminder.plan_id, e.reminder.item_id),
            unit: e.unit_name,
            title: e.item_title,
            period: shiliu_domain::tasks::period_label(&e.reminder.period),
            sent: e.reminder.due_on.to_string(),
            plan: e.plan_name,
        })
        .collect();
    crate::web::page::render(&TodoPage {
        l: Layout::new(p, "nav.plans", t.s("todo.tasks_escalated")),
        owed: Vec::new(),
        review,
        findings: Vec::new(),
        which: "escalated",
    })
}

/// Findings in the to-do: the caller's unit's to rectify (`rectify`), or the rectifications
/// waiting for the organiser's verification (`verify`).
async fn findings_todo(
    state: &AppState,
    p: &Principal,
    which: &'static str,
) -> AppResult<Response> {
    use shiliu_db::tasks::inspections;
    let today = shiliu_db::today();
    let list = if which == "rectify" {
        let actor = p.require::<grants::ReportTasks>()?;
        state
            .db
            .read(move |c| inspections::owed(c, &actor, today))
            .await?
    } else {
        let actor = p.require::<grants::ManageTasks>()?;
        state
            .db
            .read(move |c| inspections::to_verify(c, &actor))
            .await?
    };
    let t = p.t();
    let title = if which == "rectify" {
        "todo.findings_owed"
    } else {
        "todo.findings_to_verify"
    };
    crate::web::page::render(&TodoPage {
        l: Layout::new(p, "nav.plans", t.s(title)),
        owed: Vec::new(),
        review: Vec::new(),
        findings: list
            .iter()
            .map(|l| super::inspections::finding_row(t, l, today))
            .collect(),
        which,
    })
}

/// What the caller's unit owes: the to-do's list of tasks late or due soon.
async fn owed_page(state: &AppState, p: &Principal) -> AppResult<Response> {
    let actor = p.require::<grants::ReportTasks>()?;
    let today = shiliu_db::today();
    let (list, pressed) = state
        .db
        .read(move |c| {
            Ok((
                shiliu_db::tasks::ledger::owed(c, &actor, today)?,
                shiliu_db::tasks::reminders::of_unit(c, &actor)?,
            ))
        })
        .await?;
    let t = p.t();
    let owed = list
        .into_iter()
        .map(|o| OwedRow {
            href: format!("/plans/{}/tasks/{}", o.plan_id, o.item.id),
            pressed: pressed
                .get(&o.item.id)
                .map(|rs| {
                    let k = if rs
                        .iter()
                        .any(shiliu_db::tasks::reminders::Reminder::escalated)
                    {
                        "escalate"
                    } else {
                        "remind"
                    };
                    t.s(&format!("plans.pressed_{k}")).to_string()
                })
                .unwrap_or_default(),
            task: o.task_title.unwrap_or_default(),
            next: o.next.map_or_else(
                || due(t, &o.item),
                |(code, end)| {
                    let label = shiliu_domain::tasks::period_label(&code);
                    if label.is_empty() {
                        end.to_string()
                    } else {
                        format!("{label}（{end}）")
                    }
                },
            ),
            title: o.item.title,
            progress: t.label("progress", o.progress.as_str()),
            colour: o.progress.colour(),
            plan: o.plan_name,
        })
        .collect();
    crate::web::page::render(&TodoPage {
        l: Layout::new(p, "nav.plans", t.s("todo.tasks_owed")),
        owed,
        review: Vec::new(),
        findings: Vec::new(),
        which: "owed",
    })
}

/// Reports waiting for the caller's decision.
async fn review_page(state: &AppState, p: &Principal) -> AppResult<Response> {
    let actor = p
        .require::<grants::ManageTasks>()
        .map(shiliu_db::scope::Can::into_actor)
        .or_else(|_| {
            p.require::<grants::ReportTasks>()
                .map(shiliu_db::scope::Can::into_actor)
        })?;
    let list = state
        .db
        .read(move |c| shiliu_db::tasks::ledger::to_review(c, &actor))
        .await?;
    let t = p.t();
    let review = list
        .into_iter()
        .map(|r| ReviewRow {
            href: format!("/plans/{}/tasks/{}", r.report.plan_id, r.report.item_id),
            unit: r.unit_name,
            title: r.item_title,
            period: shiliu_domain::tasks::period_label(&r.report.period),
            sent: crate::web::page::show_minute(r.report.submitted_at),
            plan: r.plan_name,
        })
        .collect();
    crate::web::page::render(&TodoPage {
        l: Layout::new(p, "nav.plans", t.s("todo.reports_to_review")),
        owed: Vec::new(),
        review,
        findings: Vec::new(),
        which: "review",
    })
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let f = PlanForm::from_pairs(&pairs);
    let result = match f.parse() {
        Ok(input) => {
            let region = p.user().region_id;
            state
                .db
                .write(move |c| db::create_plan(c, &actor, region, &input))
                .await
        }
        Err(e) => Err(DbError::Invalid(e)),
    };
    match result {
        Ok(plan) => Ok(Redirect::to(&format!("/plans/{}?done=created", plan.id)).into_response()),
        Err(DbError::Invalid(e)) => {
            let shown = listed(&state, &p).await?;
            list_page(&p, shown, f, &e)
        }
        Err(e) => Err(e.into()),
    }
}

// ---- One plan ----

pub struct NodeRow {
    pub id: i64,
    pub level: &'static str,
    /// Units report on it (its page has the ledger).
    pub reported: bool,
    /// How its units stand, the worst of them (a unit's reporter: their unit's).
    pub progress: String,
    pub colour: &'static str,
    pub seq: String,
    pub title: String,
    pub leads: String,
    pub others: String,
    pub due: String,
    pub target: String,
    pub notes: String,
}

pub struct PhaseRow {
    pub name: String,
    pub period: String,
    pub goal: String,
    pub now: bool,
}

#[derive(Template)]
#[template(path = "tasks/plan.html")]
struct PlanPage {
    l: Layout,
    p: Plan,
    status: String,
    phases: Vec<PhaseRow>,
    nodes: Vec<NodeRow>,
    counts: String,
    /// Only the caller's unit's tasks are shown (a reporter's view).
    own_only: bool,
    /// The caller's unit, in a reporter's view (its ledger prints from here).
    own_unit: Option<i64>,
    manage: bool,
    draft: bool,
    /// The status the plan can move to next, with its button's words and what it means.
    moves: Vec<(&'static str, String, String)>,
    f: PlanForm,
    errors: Vec<(String, String)>,
    sheet_errors: Vec<(String, String, String)>,
}

/// A plan as the caller may see it: whole (with `ViewTasks` over its region), or the part
/// handed to their unit (with `ReportTasks`); else not found.
pub(crate) async fn seen(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> AppResult<(Plan, Tree, bool)> {
    let viewer = p.require::<grants::ViewTasks>().ok();
    let reporter = p.require::<grants::ReportTasks>().ok();
    if viewer.is_none() && reporter.is_none() {
        return Err(AppError::Forbidden);
    }
    Ok(state
        .db
        .read(move |c| {
            let (plan, unit) = db::reach(c, viewer.as_ref(), reporter.as_ref(), id)?;
            let tree = db::tree(c, &plan)?;
            Ok(match unit {
                Some(unit) => (plan, tree.of_unit(unit), true),
                None => (plan, tree, false),
            })
        })
        .await?)
}

/// One task of a plan as the caller may see it — of a plan they read, or handed to their
/// unit — with the title of the task it is a measure of; else not found. (Its own rows only:
/// a province's plan is thousands of tasks.)
pub(crate) async fn seen_task(
    state: &AppState,
    p: &Principal,
    id: i64,
    item: i64,
) -> AppResult<(Plan, db::Node, String)> {
    let viewer = p.require::<grants::ViewTasks>().ok();
    let reporter = p.require::<grants::ReportTasks>().ok();
    if viewer.is_none() && reporter.is_none() {
        return Err(AppError::Forbidden);
    }
    Ok(state
        .db
        .read(move |c| {
            let (plan, unit) = db::reach(c, viewer.as_ref(), reporter.as_ref(), id)?;
            let (node, parent) = db::ledger::task(c, &plan, item)?;
            // Reached through the unit: only a task handed to it.
            if unit.is_some_and(|u| !node.units.iter().any(|x| x.unit_id == u)) {
                return Err(DbError::NotFound);
            }
            Ok((plan, node, parent.unwrap_or_default()))
        })
        .await?)
}

/// Each (task, unit)'s reports, found once for a whole tree.
type ByPair<'a> = std::collections::HashMap<(i64, i64), Vec<Reported<'a>>>;

/// How the units of a node stand on `today`: the worst of them (or `unit`'s alone).
fn standing(
    plan: &Plan,
    n: &db::Node,
    reports: &ByPair,
    unit: Option<i64>,
    (today, schedules): (chrono::NaiveDate, &mut Schedules),
) -> Option<Progress> {
    let asked = shiliu_db::tasks::ledger::asked(plan, &n.item);
    let periods = schedules.of(&asked);
    n.units
        .iter()
        .filter(|u| unit.is_none_or(|x| x == u.unit_id))
        .map(|u| {
            let mine = reports
                .get(&(n.item.id, u.unit_id))
                .map_or(&[][..], Vec::as_slice);
            asked.progress_over(&periods, mine, today)
        })
        .min_by_key(|p| p.urgency())
}

fn node_rows(
    t: T,
    plan: &Plan,
    tree: &Tree,
    reports: &[PairMarks],
    unit: Option<i64>,
) -> Vec<NodeRow> {
    let today = shiliu_db::today();
    let names = |it: &mut dyn Iterator<Item = &db::Handed>| {
        it.map(|u| u.name.as_str()).collect::<Vec<_>>().join("、")
    };
    let mut schedules = Schedules::default();
    let by_pair = shiliu_db::tasks::ledger::by_pair(reports);
    tree.nodes
        .iter()
        .map(|n| {
            let standing = (plan.status() != PlanStatus::Draft)
                .then(|| standing(plan, n, &by_pair, unit, (today, &mut schedules)))
                .flatten();
            NodeRow {
                id: n.item.id,
                level: n.item.level().as_str(),
                reported: n.reported(),
                progress: standing
                    .map(|p| t.label("progress", p.as_str()))
                    .unwrap_or_default(),
                colour: standing.map_or("", Progress::colour),
                seq: n.item.seq.clone(),
                title: n.item.title.clone(),
                leads: names(&mut n.leads()),
                others: names(&mut n.others()),
                due: if n.reported() {
                    due(t, &n.item)
                } else {
                    String::new()
                },
                target: n.item.target().map(|x| x.to_string()).unwrap_or_default(),
                notes: n.item.notes.clone().unwrap_or_default(),
            }
        })
        .map(|mut r| {
            if r.level == TaskLevel::Area.as_str() && r.seq.is_empty() {
                r.seq = t.s("plans.area").to_string();
            }
            r
        })
        .collect()
}

/// What a plan's page shows beside the plan: what was just done, or a form sent back with its
/// problems, or a sheet's problems by row.
#[derive(Default)]
pub(crate) struct Shown {
    pub said: Option<String>,
    pub f: Option<PlanForm>,
    pub errs: FieldErrors,
    pub sheet_errors: Vec<(String, String, String)>,
}

/// A plan as its page shows it: the plan, its tree as the caller sees it, the caller's unit
/// where they see only its part, and the plan's reports.
pub(crate) struct View {
    plan: Plan,
    tree: Tree,
    own_unit: Option<i64>,
    reports: Vec<PairMarks>,
}

/// The plan's page's view of it for the caller.
pub(crate) async fn view(state: &AppState, p: &Principal, id: i64) -> AppResult<View> {
    let (plan, tree, own_only) = seen(state, p, id).await?;
    let reporter = p.require::<grants::ReportTasks>().ok().filter(|_| own_only);
    let plan2 = plan.clone();
    let (reports, own_unit) = state
        .db
        .read(move |c| {
            let reports = shiliu_db::tasks::ledger::marks(c, &plan2)?;
            let own = match &reporter {
                Some(r) => db::own_unit(c, r)?,
                None => None,
            };
            Ok((reports, own))
        })
        .await?;
    Ok(View {
        plan,
        tree,
        own_unit,
        reports,
    })
}

pub(crate) fn plan_page(p: &Principal, view: View, shown: Shown) -> AppResult<Response> {
    let View {
        plan,
        tree,
        own_unit,
        reports,
    } = view;
    let own_only = own_unit.is_some();
    let Shown {
        said,
        f,
        errs,
        sheet_errors,
    } = shown;
    let t = p.t();
    let today = shiliu_db::today();
    let manage = !own_only && p.can(Permission::ManageTasks);
    let status = plan.status();
    let moves = if manage {
        let next: &[PlanStatus] = match status {
            PlanStatus::Draft | PlanStatus::Closed => &[PlanStatus::Active],
            PlanStatus::Active => &[PlanStatus::Closed],
        };
        next.iter()
            .map(|s| {
                let key = format!("plans.move_{}_{}", status.as_str(), s.as_str());
                (
                    s.as_str(),
                    t.s(&key).to_string(),
                    t.s(&format!("{key}_means")).to_string(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let reported = tree.reported().count();
    let units: std::collections::HashSet<i64> = tree
        .nodes
        .iter()
        .flat_map(|n| n.units.iter().map(|u| u.unit_id))
        .collect();
    let page = PlanPage {
        l: Layout::new(p, "nav.plans", &plan.name).said(said),
        status: t.label("plan_status", &plan.status),
        phases: plan
            .phases()
            .into_iter()
            .map(|x| PhaseRow {
                now: x.starts_on <= today && today <= x.ends_on,
                period: format!("{} — {}", x.starts_on, x.ends_on),
                name: x.name,
                goal: x.goal,
            })
            .collect(),
        nodes: node_rows(t, &plan, &tree, &reports, own_unit),
        counts: t.f(
            "plans.counts",
            &[
                ("tasks", &reported.to_string()),
                ("units", &units.len().to_string()),
            ],
        ),
        own_only,
        own_unit,
        manage,
        draft: status == PlanStatus::Draft,
        moves,
        f: f.unwrap_or_else(|| PlanForm::of(&plan)),
        errors: t.field_errors(&errs),
        sheet_errors,
        p: plan,
    };
    let refused = !page.errors.is_empty() || !page.sheet_errors.is_empty();
    render_form(&page, refused)
}

/// What was just done, said in its own words on the plan's page.
const DONE: [&str; 6] = ["created", "saved", "active", "closed", "copied", "imported"];

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(saved): Query<Saved>,
) -> AppResult<Response> {
    let view = view(&state, &p, id).await?;
    let said = saved
        .done(&DONE)
        .map(|d| p.t().s(&format!("plans.done_{d}")).to_string());
    plan_page(
        &p,
        view,
        Shown {
            said,
            ..Shown::default()
        },
    )
}

/// After a change: the plan's page saying what was done, or its form again with the problems.
async fn after(
    state: &AppState,
    p: &Principal,
    id: i64,
    result: Result<&'static str, DbError>,
    f: Option<PlanForm>,
) -> AppResult<Response> {
    match result {
        Ok(done) => Ok(Redirect::to(&format!("/plans/{id}?done={done}")).into_response()),
        Err(DbError::Invalid(errs)) => {
            let view = view(state, p, id).await?;
            plan_page(
                p,
                view,
                Shown {
                    f,
                    errs,
                    ..Shown::default()
                },
            )
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn sheet_refused(
    state: &AppState,
    p: &Principal,
    id: i64,
    errs: Vec<(String, String, String)>,
) -> AppResult<Response> {
    let view = view(state, p, id).await?;
    plan_page(
        p,
        view,
        Shown {
            sheet_errors: errs,
            ..Shown::default()
        },
    )
}

pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let f = PlanForm::from_pairs(&pairs);
    let result = match f.parse() {
        Ok(input) => {
            let version = f.version;
            state
                .db
                .write(move |c| db::update_plan(c, &actor, id, version, &input).map(|_| "saved"))
                .await
        }
        Err(e) => Err(DbError::Invalid(e)),
    };
    after(&state, &p, id, result, Some(f)).await
}

#[derive(serde::Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    version: i32,
}

pub async fn set_status(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<StatusForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let result = match PlanStatus::parse(&f.to).filter(|s| *s != PlanStatus::Draft) {
        Some(to) => {
            state
                .db
                .write(move |c| db::set_status(c, &actor, id, f.version, to).map(|_| to.as_str()))
                .await
        }
        None => Err(DbError::invalid("status", "err.choice")),
    };
    after(&state, &p, id, result, None).await
}

pub async fn copy(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let copy = state
        .db
        .write(move |c| db::copy_plan(c, &actor, id))
        .await?;
    Ok(Redirect::to(&format!("/plans/{}?done=copied", copy.id)).into_response())
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/plans", get(list).post(create))
        .route("/plans/{id}", get(show).post(update))
        .route("/plans/{id}/status", post(set_status))
        .route("/plans/{id}/copy", post(copy))
}
