//! A plan's board (进度看板): every task and unit it is handed to, how the unit stands (red,
//! amber, green), the late first; the same by unit (how many of its tasks stand where, and
//! its share done); filters by unit and standing; and the board as an Excel sheet.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use shiliu_db::scope::grants;
use std::collections::HashMap;
use std::rc::Rc;

use shiliu_db::tasks::ledger::{self, PairMarks};
use shiliu_db::tasks::reminders::Reminder;
use shiliu_db::tasks::{Plan, Tree};
use shiliu_domain::tasks::{Progress, ReportStatus, Reported, Schedules, period_label};

use super::pages::due;
use crate::requests::stats::percent;
use crate::web::error::{AppError, AppResult};
use crate::web::i18n::T;
use crate::web::page::{Layout, Pager, render};
use crate::web::xlsx::{self, Cell};
use crate::web::{AppState, Principal};

/// One task as one unit stands on it. Its words are shared with the task's other units and
/// the unit's other tasks (a province's board has thousands of lines).
pub struct Line {
    pub item_id: i64,
    pub task: Rc<str>,
    pub title: Rc<str>,
    pub unit_id: i64,
    pub unit: Rc<str>,
    pub lead: bool,
    pub due: Rc<str>,
    pub progress: Progress,
    /// The latest report: its period and where it stands.
    pub latest: Option<(String, ReportStatus)>,
    pub figure: Option<i64>,
    pub target: Option<i64>,
    /// Pressed for a report still owed: `escalate` (督办) or `remind` (催报).
    pub pressed: Option<&'static str>,
}

/// How hard a unit has been pressed for reports on a task it still owes: escalated (督办) over
/// reminded (催报); reminders for periods since reported do not count.
pub(crate) fn pressed(
    reminders: Option<&Vec<Reminder>>,
    sent: &[Reported],
) -> Option<&'static str> {
    let owed = reminders?.iter().filter(|r| {
        !sent
            .iter()
            .any(|m| m.period == r.period && m.status != ReportStatus::Returned)
    });
    let mut out = None;
    for r in owed {
        if r.escalated() {
            return Some("escalate");
        }
        out = Some("remind");
    }
    out
}

/// One unit's tasks, counted by standing.
pub struct UnitLine {
    pub unit_id: i64,
    pub unit: String,
    /// By [`Progress::ALL`]'s order.
    pub counts: Vec<i64>,
    pub total: i64,
    /// Done, per mille of its tasks.
    pub done: Option<i64>,
}

#[derive(Deserialize, Default)]
pub struct BoardQuery {
    /// A unit's id: only its tasks.
    #[serde(default)]
    unit: String,
    /// A standing (`overdue`, `lagging`, …): only the tasks standing so.
    #[serde(default)]
    progress: String,
    /// How many lines of the (filtered) board come before this page's.
    #[serde(default)]
    from: String,
}

/// Lines a board page shows: a province's plan is thousands of tasks × units; the late come
/// first, and the Excel sheet has them all.
pub(crate) const BOARD_PAGE: usize = 100;

/// Every (task, unit) of the plan with how it stands on `today`, the late first.
fn lines(
    plan: &Plan,
    tree: &Tree,
    reports: &[PairMarks],
    reminders: &HashMap<(i64, i64), Vec<Reminder>>,
    t: T,
) -> Vec<Line> {
    let today = shiliu_db::today();
    // Each (task, unit)'s reports, found once: a plan's board is thousands of pairs.
    let mut by_pair = ledger::by_pair(reports);
    let titles: HashMap<i64, &str> = tree
        .nodes
        .iter()
        .filter(|n| n.item.level() == shiliu_domain::tasks::TaskLevel::Task)
        .map(|n| (n.item.id, n.item.title.as_str()))
        .collect();
    let mut schedules = Schedules::default();
    let mut unit_names: HashMap<i64, Rc<str>> = HashMap::new();
    let mut out = Vec::new();
    for n in tree.reported() {
        let asked = ledger::asked(plan, &n.item);
        let periods = schedules.of(&asked);
        let due: Rc<str> = due(t, &n.item).into();
        let task: Rc<str> = n
            .item
            .parent_id
            .and_then(|p| titles.get(&p).copied())
            .unwrap_or_default()
            .into();
        let title: Rc<str> = n.item.title.as_str().into();
        for u in &n.units {
            // The latest period first.
            let mine = by_pair.remove(&(n.item.id, u.unit_id)).unwrap_or_default();
            let unit = unit_names
                .entry(u.unit_id)
                .or_insert_with(|| u.name.as_str().into());
            out.push(Line {
                item_id: n.item.id,
                task: Rc::clone(&task),
                title: Rc::clone(&title),
                unit_id: u.unit_id,
                unit: Rc::clone(unit),
                lead: u.lead,
                due: Rc::clone(&due),
                progress: asked.progress_over(&periods, &mine, today),
                latest: mine.first().map(|r| (r.period.to_string(), r.status)),
                figure: mine.iter().filter_map(|r| r.figure).max(),
                target: n.item.target_value,
                pressed: pressed(reminders.get(&(n.item.id, u.unit_id)), &mine),
            });
        }
    }
    // Units in order of their names, once, rather than names compared at every step.
    let mut names: Vec<(&str, i64)> = out.iter().map(|l| (&*l.unit, l.unit_id)).collect();
    names.sort_unstable();
    names.dedup();
    let rank: HashMap<i64, usize> = names
        .iter()
        .enumerate()
        .map(|(i, (_, u))| (*u, i))
        .collect();
    out.sort_unstable_by_key(|l| {
        (
            l.progress.urgency(),
            rank.get(&l.unit_id).copied().unwrap_or_default(),
            l.item_id,
        )
    });
    out
}

/// How many of a plan's (task, unit) pairs stand each way today, in [`Progress::ALL`]'s
/// order: the board's own reckoning, for the dashboard.
pub(crate) fn standing(plan: &Plan, tree: &Tree, marks: &[PairMarks], t: T) -> Vec<i64> {
    let mut counts = vec![0; Progress::ALL.len()];
    for l in lines(plan, tree, marks, &HashMap::new(), t) {
        if let Some(k) = Progress::ALL.iter().position(|p| *p == l.progress) {
            counts[k] += 1;
        }
    }
    counts
}

/// The units' summary: each unit's tasks by standing, the most behind first.
fn units(lines: &[Line]) -> Vec<UnitLine> {
    let mut out: Vec<UnitLine> = Vec::new();
    let mut at: HashMap<i64, usize> = HashMap::new();
    for l in lines {
        let i = *at.entry(l.unit_id).or_insert_with(|| {
            out.push(UnitLine {
                unit_id: l.unit_id,
                unit: l.unit.to_string(),
                counts: vec![0; Progress::ALL.len()],
                total: 0,
                done: None,
            });
            out.len() - 1
        });
        let u = &mut out[i];
        if let Some(k) = Progress::ALL.iter().position(|p| *p == l.progress) {
            u.counts[k] += 1;
        }
        u.total += 1;
    }
    let done_at = Progress::ALL
        .iter()
        .position(|p| *p == Progress::Done)
        .unwrap_or_default();
    let overdue_at = Progress::ALL
        .iter()
        .position(|p| *p == Progress::Overdue)
        .unwrap_or_default();
    for u in &mut out {
        u.done = (u.total > 0).then(|| (u.counts[done_at] * 1000 + u.total / 2) / u.total);
    }
    out.sort_by(|a, b| {
        (std::cmp::Reverse(a.counts[overdue_at]), &a.unit)
            .cmp(&(std::cmp::Reverse(b.counts[overdue_at]), &b.unit))
    });
    out
}

/// The plan, its lines and the units' summary, for one who reads the whole plan.
async fn board_of(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> AppResult<(Plan, Vec<Line>, Vec<UnitLine>)> {
    let actor = p.require::<grants::ViewTasks>()?;
    let (plan, tree, reports, reminders) = state
        .db
        .read(move |c| {
            let plan = shiliu_db::tasks::get_plan(c, actor.scope(), id)?;
            let tree = shiliu_db::tasks::tree(c, &plan)?;
            let reports = ledger::marks(c, &plan)?;
            let reminders = shiliu_db::tasks::reminders::of_plan(c, &plan)?;
            Ok((plan, tree, reports, reminders))
        })
        .await?;
    let lines = lines(&plan, &tree, &reports, &reminders, p.t());
    let units = units(&lines);
    Ok((plan, lines, units))
}

pub struct Row {
    pub href: String,
    pub task: String,
    pub title: String,
    pub unit: String,
    pub lead: bool,
    pub due: String,
    pub progress: String,
    pub colour: &'static str,
    pub latest: String,
    pub figure: String,
    /// 已催报 / 已督办, if the unit was pressed for a report it still owes.
    pub pressed: String,
}

#[derive(Template)]
#[template(path = "tasks/board.html")]
struct BoardPage {
    l: Layout,
    plan: Plan,
    /// (code, label, count) of each standing, over the whole plan.
    totals: Vec<(&'static str, String, usize, &'static str)>,
    units: Vec<(i64, String, Vec<i64>, i64, String)>,
    headings: Vec<String>,
    rows: Vec<Row>,
    pager: Pager,
    unit_choices: Vec<(i64, String)>,
    unit: String,
    progress: String,
    query: String,
}

fn latest_text(t: T, latest: Option<&(String, ReportStatus)>) -> String {
    latest.map_or_else(String::new, |(period, status)| {
        let label = period_label(period);
        let status = t.label("report_status", status.as_str());
        if label.is_empty() {
            status
        } else {
            format!("{label} {status}")
        }
    })
}

fn figure_text(l: &Line) -> String {
    match (l.figure, l.target) {
        (Some(f), Some(t)) => format!("{f} / {t}"),
        (Some(f), None) => f.to_string(),
        _ => String::new(),
    }
}

/// Keep the lines the filters ask for; an unknown filter value is refused, naming it.
fn filtered(lines: Vec<Line>, q: &BoardQuery) -> AppResult<Vec<Line>> {
    let unit = match q.unit.trim() {
        "" => None,
        u => Some(u.parse::<i64>().map_err(|_| {
            AppError::Invalid(shiliu_domain::FieldError::new("unit", "err.choice").into())
        })?),
    };
    let progress = match q.progress.trim() {
        "" => None,
        code => Some(Progress::parse(code).ok_or_else(|| {
            AppError::Invalid(shiliu_domain::FieldError::new("progress", "err.choice").into())
        })?),
    };
    Ok(lines
        .into_iter()
        .filter(|l| unit.is_none_or(|u| u == l.unit_id))
        .filter(|l| progress.is_none_or(|p| p == l.progress))
        .collect())
}

pub async fn page(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(q): Query<BoardQuery>,
) -> AppResult<Response> {
    let (plan, lines, units) = board_of(&state, &p, id).await?;
    let t = p.t();
    let totals = Progress::ALL
        .iter()
        .map(|pr| {
            (
                pr.as_str(),
                t.label("progress", pr.as_str()),
                lines.iter().filter(|l| l.progress == *pr).count(),
                pr.colour(),
            )
        })
        .collect();
    let mut unit_choices: Vec<(i64, String)> =
        units.iter().map(|u| (u.unit_id, u.unit.clone())).collect();
    unit_choices.sort_by(|a, b| a.1.cmp(&b.1));
    let kept = filtered(lines, &q)?;
    let from = Pager::start(&q.from, BOARD_PAGE, kept.len())?;
    let query = format!(
        "unit={}&progress={}",
        crate::web::urlencode(q.unit.trim()),
        crate::web::urlencode(q.progress.trim())
    );
    let pager = Pager::new(
        t,
        (from, BOARD_PAGE, kept.len()),
        &format!("/plans/{}/board?{query}", plan.id),
    );
    let rows = kept
        .into_iter()
        .skip(from)
        .take(BOARD_PAGE)
        .map(|l| Row {
            href: format!("/plans/{}/tasks/{}", plan.id, l.item_id),
            pressed: l
                .pressed
                .map(|k| t.s(&format!("plans.pressed_{k}")).to_string())
                .unwrap_or_default(),
            latest: latest_text(t, l.latest.as_ref()),
            figure: figure_text(&l),
            progress: t.label("progress", l.progress.as_str()),
            colour: l.progress.colour(),
            task: l.task.to_string(),
            title: l.title.to_string(),
            unit: l.unit.to_string(),
            lead: l.lead,
            due: l.due.to_string(),
        })
        .collect();
    render(&BoardPage {
        l: Layout::new(
            &p,
            "nav.plans",
            &format!("{} · {}", plan.name, t.s("plans.board")),
        ),
        totals,
        units: units
            .into_iter()
            .map(|u| (u.unit_id, u.unit, u.counts, u.total, percent(u.done)))
            .collect(),
        headings: Progress::ALL
            .iter()
            .map(|pr| t.label("progress", pr.as_str()))
            .collect(),
        rows,
        pager,
        unit_choices,
        unit: q.unit.trim().to_string(),
        progress: q.progress.trim().to_string(),
        query,
        plan,
    })
}

/// The board as a sheet: one row per task and unit, as filtered; numbers as numbers.
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(q): Query<BoardQuery>,
) -> AppResult<Response> {
    let (plan, lines, _) = board_of(&state, &p, id).await?;
    let t = p.t();
    let headers: Vec<String> = [
        "field.task",
        "field.measure",
        "field.unit",
        "plans.role",
        "field.due",
        "field.status",
        "plans.pressed",
        "plans.latest",
        "field.figure",
        "field.target",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    let rows: Vec<Vec<Cell>> = filtered(lines, &q)?
        .iter()
        .map(|l| {
            vec![
                Cell::from(&*l.task),
                Cell::from(&*l.title),
                Cell::from(&*l.unit),
                Cell::from(t.s(if l.lead { "plans.lead" } else { "plans.co" })),
                Cell::from(&*l.due),
                Cell::from(t.label("progress", l.progress.as_str())),
                Cell::from(
                    l.pressed
                        .map(|k| t.s(&format!("plans.pressed_{k}")).to_string())
                        .unwrap_or_default(),
                ),
                Cell::from(latest_text(t, l.latest.as_ref())),
                l.figure.map_or(Cell::Empty, Cell::Int),
                l.target.map_or(Cell::Empty, Cell::Int),
            ]
        })
        .collect();
    let name = format!("{} · {}", plan.name, t.s("plans.board"));
    Ok(xlsx::download(
        &format!("{name}.xlsx"),
        xlsx::sheet(t.s("plans.board"), &headers, &rows)?,
    ))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!())
        .route("/plans/{id}/board", get(page))
        .route("/plans/{id}/board.xlsx", get(export))
}
