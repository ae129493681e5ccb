//! One task of a plan and its ledger (工作台账): how each unit it is handed stands, every report
//! with its history, the caller's unit's report form, and the decision on reports the caller
//! reviews (a lead unit on the others', the organiser on any).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::DbError;
use shiliu_db::scope::{Actor, Can, grants};
use shiliu_db::tasks::ledger::{self as db, Ledger};
use shiliu_db::tasks::{Node, Plan};
use shiliu_domain::FieldErrors;
use shiliu_domain::tasks::{PlanStatus, ReportInput, ReportStatus, period_label};

use super::pages::{due, seen_task};
use crate::web::error::AppResult;
use crate::web::files::FormData;
use crate::web::page::{Layout, Saved, render_form, show_minute};
use crate::web::{AppState, Principal};
use shiliu_domain::files::REQUEST_FILES;

/// Any of the ways into a plan's task: reading the plan, drawing it up, reporting on it.
pub(crate) fn actor(p: &Principal) -> AppResult<Actor> {
    p.require::<grants::ManageTasks>()
        .map(Can::into_actor)
        .or_else(|_| p.require::<grants::ViewTasks>().map(Can::into_actor))
        .or_else(|_| p.require::<grants::ReportTasks>().map(Can::into_actor))
}

pub struct EventLine {
    pub action: String,
    pub body: String,
    pub who: String,
    pub at: String,
}

pub struct ReportLine {
    pub id: i64,
    pub version: i32,
    pub period: String,
    pub status: String,
    pub status_code: &'static str,
    pub progress: String,
    pub figure: String,
    pub opinion: String,
    pub at: String,
    pub events: Vec<EventLine>,
    /// The caller decides on it now.
    pub decide: bool,
    /// Its files: (address, name).
    pub files: Vec<(String, String)>,
}

pub struct UnitBlock {
    pub unit_id: i64,
    /// 催报 and 督办 sent to the unit on this task: (what, period, when, by whom).
    pub pressed: Vec<(String, String, String, String)>,
    /// The periods it still owes, for the organiser to press for: (code, label).
    pub owed: Vec<(String, String)>,
    pub name: String,
    pub lead: bool,
    pub progress: String,
    pub colour: &'static str,
    pub reports: Vec<ReportLine>,
}

#[derive(Template)]
#[template(path = "tasks/task.html")]
struct TaskPage {
    l: Layout,
    plan: Plan,
    item_id: i64,
    parent: String,
    due: String,
    target: String,
    notes: String,
    units: Vec<UnitBlock>,
    /// The caller's unit reports here: the periods it may report for (code, label).
    periods: Vec<(String, String)>,
    may_report: bool,
    f: ReportForm,
    errors: Vec<(String, String)>,
    /// The instructions it carries out (怎么说), linked for the plan's readers.
    instructions: Vec<super::instructions::InstructionRow>,
    instructions_linked: bool,
    /// The caller's unit may use its reports here as evidence in these open self-assessments,
    /// with its reports to choose from (id, period and standing).
    assessments: Vec<shiliu_db::evaluation::ledger::OpenSheet>,
    own_reports: Vec<(i64, String)>,
    own_unit: i64,
    /// What the task counts of its units' activities (empty: a figure typed in), the choices
    /// the organiser binds it to, and whether the caller may.
    tally: String,
    tally_code: String,
    tallies: Vec<(String, String)>,
    can_bind: bool,
    /// For the caller's unit: each open period's count, as its report will carry it.
    counted: Vec<(String, i64)>,
}

#[derive(Deserialize, Default, Clone)]
pub struct ReportForm {
    #[serde(default)]
    period: String,
    #[serde(default)]
    progress: String,
    #[serde(default)]
    figure: String,
}

/// What the page needs beside the plan: the task, its ledger, whose reports the caller
/// decides on, and the caller's own unit.
struct Parts {
    plan: Plan,
    node: Node,
    parent: String,
    ledger: Ledger,
    files: std::collections::HashMap<i64, Vec<db::ReportFile>>,
    decides: Vec<i64>,
    own: Option<i64>,
    instructions: Vec<shiliu_db::tasks::instructions::Instruction>,
    reminders: std::collections::HashMap<i64, Vec<shiliu_db::tasks::reminders::Reminder>>,
    /// The self-assessments open to the caller's unit.
    assessments: Vec<shiliu_db::evaluation::ledger::OpenSheet>,
    /// What the task counts of its units' activities, and the caller's unit's count for each
    /// open period (period code, count).
    tally: Option<shiliu_domain::activities::Tally>,
    counted: Vec<(String, i64)>,
}

async fn parts(state: &AppState, p: &Principal, id: i64, item: i64) -> AppResult<Parts> {
    let (plan, node, parent) = seen_task(state, p, id, item).await?;
    let actor = actor(p)?;
    let reporter = p.require::<grants::ReportTasks>().ok();
    let plan2 = plan.clone();
    let item2 = node.item.clone();
    let today = shiliu_db::today();
    let (ledger, files, decides, own, (instructions, reminders), assessments, (tally, counted)) =
        state
            .db
            .read(move |c| {
                let instructions = (
                    shiliu_db::tasks::instructions::of_item(c, &plan2, &item2)?,
                    shiliu_db::tasks::reminders::of_item(c, &plan2, item2.id)?,
                );
                let ledger = db::ledger(c, &plan2, item)?;
                let files = db::files_of(c, &plan2, item)?;
                let decides = db::reviewed_units(c, &actor, &plan2, item)?;
                let own = match &reporter {
                    Some(r) => shiliu_db::tasks::own_unit(c, r)?,
                    None => None,
                };
                let assessments = match &reporter {
                    Some(r) if own.is_some() => shiliu_db::evaluation::ledger::open_for(c, r)?,
                    _ => Vec::new(),
                };
                let tally = shiliu_db::tasks::tallies::of_item(c, &plan2, item2.id)?;
                let mut counted = Vec::new();
                if let (Some(t), Some(unit)) = (tally, own) {
                    for period in db::asked(&plan2, &item2).open_periods(today) {
                        let n = shiliu_db::tasks::tallies::figure(c, t, unit, &period, today)?;
                        counted.push((period.code, n));
                    }
                }
                Ok((
                    ledger,
                    files,
                    decides,
                    own,
                    instructions,
                    assessments,
                    (tally, counted),
                ))
            })
            .await?;
    Ok(Parts {
        plan,
        node,
        parent,
        ledger,
        files,
        decides,
        own,
        instructions,
        reminders,
        assessments,
        tally,
        counted,
    })
}

fn page(
    p: &Principal,
    parts: Parts,
    f: ReportForm,
    errs: &FieldErrors,
    said: Option<String>,
) -> AppResult<Response> {
    let t = p.t();
    let today = shiliu_db::today();
    let Parts {
        plan,
        node,
        parent,
        ledger,
        files,
        decides,
        own,
        instructions,
        reminders,
        assessments,
        tally,
        counted,
    } = parts;
    let asked = db::asked(&plan, &node.item);
    // The organiser presses units for reports they owe (催报).
    let press = plan.status() == PlanStatus::Active && p.require::<grants::ManageTasks>().is_ok();
    let units = node
        .units
        .iter()
        .map(|u| {
            let progress = ledger.progress(&asked, u.unit_id, today);
            let sent = |code: &str| {
                ledger.reports.iter().any(|r| {
                    r.unit_id == u.unit_id
                        && r.period == code
                        && r.status() != ReportStatus::Returned
                })
            };
            UnitBlock {
                unit_id: u.unit_id,
                pressed: reminders
                    .get(&u.unit_id)
                    .map(|rs| {
                        rs.iter()
                            .map(|r| {
                                (
                                    t.s(&format!("plans.pressed_{}", r.kind)).to_string(),
                                    period_text(t, &r.period),
                                    show_minute(r.sent_at),
                                    if r.times > 1 {
                                        format!("{}（×{}）", r.sender, r.times)
                                    } else {
                                        r.sender.clone()
                                    },
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                owed: if press {
                    asked
                        .open_periods(today)
                        .into_iter()
                        .filter(|x| !sent(&x.code))
                        .map(|x| {
                            let label = period_text(t, &x.code);
                            (x.code, label)
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                name: u.name.clone(),
                lead: u.lead,
                progress: t.label("progress", progress.as_str()),
                colour: progress.colour(),
                reports: ledger
                    .of_unit(u.unit_id)
                    .into_iter()
                    .map(|r| ReportLine {
                        id: r.id,
                        version: r.version,
                        period: period_label(&r.period),
                        status: t.label("report_status", &r.status),
                        status_code: r.status().as_str(),
                        progress: r.progress.clone(),
                        figure: r.figure.map(|f| f.to_string()).unwrap_or_default(),
                        opinion: r.opinion.clone().unwrap_or_default(),
                        at: show_minute(r.submitted_at),
                        events: ledger
                            .events
                            .get(&r.id)
                            .map(|es| {
                                es.iter()
                                    .map(|e| EventLine {
                                        action: t.label("report_action", &e.action),
                                        body: e.body.clone(),
                                        who: e.actor_name.clone(),
                                        at: show_minute(e.at),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        files: files
                            .get(&r.id)
                            .map(|fs| {
                                fs.iter()
                                    .map(|f| {
                                        (
                                            format!(
                                                "/plans/{}/tasks/{}/files/{}",
                                                plan.id, node.item.id, f.id
                                            ),
                                            f.name.clone(),
                                        )
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        decide: r.status() == ReportStatus::Submitted
                            && decides.contains(&u.unit_id)
                            && plan.status() == PlanStatus::Active,
                    })
                    .collect(),
            }
        })
        .collect();
    let mine = own.filter(|u| node.units.iter().any(|x| x.unit_id == *u));
    let confirmed = |code: &str| {
        mine.is_some_and(|u| {
            ledger.reports.iter().any(|r| {
                r.unit_id == u && r.period == code && r.status() == ReportStatus::Confirmed
            })
        })
    };
    let periods: Vec<(String, String)> = asked
        .open_periods(today)
        .into_iter()
        .filter(|x| !confirmed(&x.code))
        .map(|x| {
            let label = period_text(t, &x.code);
            (x.code, label)
        })
        .rev()
        .collect();
    let may_report = mine.is_some() && plan.status() == PlanStatus::Active && !periods.is_empty();
    let page = TaskPage {
        l: Layout::new(p, "nav.plans", &node.item.title).said(said),
        item_id: node.item.id,
        due: due(t, &node.item),
        target: node
            .item
            .target()
            .map(|x| x.to_string())
            .unwrap_or_default(),
        notes: node.item.notes.clone().unwrap_or_default(),
        parent,
        units,
        periods,
        may_report,
        f,
        errors: t.field_errors(errs),
        instructions: instructions
            .iter()
            .map(|i| super::instructions::instruction_row(t, i, 0))
            .collect(),
        instructions_linked: p.require::<grants::ViewTasks>().is_ok(),
        own_reports: mine
            .map(|u| {
                ledger
                    .of_unit(u)
                    .into_iter()
                    .map(|r| {
                        (
                            r.id,
                            format!(
                                "{} · {}",
                                period_text(t, &r.period),
                                t.label("report_status", &r.status)
                            ),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        own_unit: mine.unwrap_or_default(),
        assessments,
        tally: tally
            .map(|x| t.label("tally", x.as_str()))
            .unwrap_or_default(),
        tally_code: tally.map(|x| x.as_str().to_string()).unwrap_or_default(),
        tallies: crate::web::page::options(
            shiliu_domain::activities::Tally::ALL,
            shiliu_domain::activities::Tally::as_str,
            "tally",
            t,
        ),
        can_bind: p.require::<grants::ManageTasks>().is_ok() && plan.status() != PlanStatus::Closed,
        counted: counted
            .into_iter()
            .filter(|(code, _)| mine.is_some() && !confirmed(code))
            .map(|(code, n)| (period_text(t, &code), n))
            .collect(),
        plan,
    };
    render_form(&page, !errs.is_empty())
}

/// A period as a page names it: its label, or 全程 for a task done once.
pub(crate) fn period_text(t: crate::web::i18n::T, code: &str) -> String {
    if code.is_empty() {
        t.s("plans.once_period").to_string()
    } else {
        period_label(code)
    }
}

const DONE: [&str; 5] = ["submitted", "confirmed", "returned", "reminded", "bound"];

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path((id, item)): Path<(i64, i64)>,
    Query(saved): Query<Saved>,
) -> AppResult<Response> {
    let parts = parts(&state, &p, id, item).await?;
    let said = saved
        .done(&DONE)
        .map(|d| p.t().s(&format!("plans.report_{d}")).to_string());
    page(&p, parts, ReportForm::default(), &FieldErrors::new(), said)
}

/// After a write: the task's page saying what was done, or again with the problems.
async fn after(
    state: &AppState,
    p: &Principal,
    (id, item): (i64, i64),
    result: Result<&'static str, DbError>,
    f: ReportForm,
) -> AppResult<Response> {
    match result {
        Ok(done) => {
            Ok(Redirect::to(&format!("/plans/{id}/tasks/{item}?done={done}")).into_response())
        }
        Err(DbError::Invalid(e)) => {
            let parts = parts(state, p, id, item).await?;
            page(p, parts, f, &e, None)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    p: Principal,
    Path((id, item)): Path<(i64, i64)>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::ReportTasks>()?;
    let f: ReportForm = form.parse()?;
    let parts = parts(&state, &p, id, item).await?;
    let open = db::asked(&parts.plan, &parts.node.item).open_periods(shiliu_db::today());
    let input = ReportInput::parse(&f.period, &f.progress, &f.figure, &open);
    let files = form.files("files", REQUEST_FILES);
    let result = match (input, files) {
        (Ok(input), Ok(files)) => {
            state
                .db
                .write(move |c| {
                    shiliu_db::tasks::ledger::submit(c, &actor, id, item, &input, &files)
                        .map(|_| "submitted")
                })
                .await
        }
        (input, files) => {
            let mut errs = input.err().unwrap_or_default();
            errs.0.extend(files.err().unwrap_or_default().0);
            Err(DbError::Invalid(errs))
        }
    };
    after(&state, &p, (id, item), result, f).await
}

/// One file sent with a report on the task: shown in the page if it is a picture, else
/// downloaded.
pub async fn file(
    State(state): State<AppState>,
    p: Principal,
    Path((id, item, upload)): Path<(i64, i64, i64)>,
) -> AppResult<Response> {
    let (plan, ..) = seen_task(&state, &p, id, item).await?;
    let (f, bytes) = state
        .db
        .read(move |c| db::file(c, &plan, item, upload))
        .await?;
    let inline = f.content_type.starts_with("image/");
    Ok(crate::web::files::serve(
        &f.content_type,
        &f.name,
        inline,
        bytes,
    ))
}

#[derive(Deserialize, Default)]
pub struct ReviewForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    opinion: String,
    #[serde(default)]
    version: i32,
}

pub async fn review(
    State(state): State<AppState>,
    p: Principal,
    Path((id, item, report)): Path<(i64, i64, i64)>,
    Form(f): Form<ReviewForm>,
) -> AppResult<Response> {
    let actor = actor(&p)?;
    let confirm = match f.decision.as_str() {
        "confirm" => Some(true),
        "return" => Some(false),
        _ => None,
    };
    let result = match confirm {
        Some(confirm) => {
            state
                .db
                .write(move |c| {
                    db::review(
                        c,
                        &actor,
                        (id, item, report),
                        f.version,
                        confirm,
                        Some(&f.opinion),
                    )
                    .map(|_| if confirm { "confirmed" } else { "returned" })
                })
                .await
        }
        None => Err(DbError::invalid("decision", "err.choice")),
    };
    after(&state, &p, (id, item), result, ReportForm::default()).await
}

#[derive(Deserialize, Default)]
pub struct RemindForm {
    #[serde(default)]
    unit: i64,
    #[serde(default)]
    period: String,
}

/// The organiser presses a unit for a report it owes on the task (催报), by hand.
pub async fn remind(
    State(state): State<AppState>,
    p: Principal,
    Path((id, item)): Path<(i64, i64)>,
    Form(f): Form<RemindForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let result = state
        .db
        .write(move |c| {
            shiliu_db::tasks::reminders::remind_now(c, &actor, (id, item, f.unit), &f.period)
                .map(|()| "reminded")
        })
        .await;
    after(&state, &p, (id, item), result, ReportForm::default()).await
}

#[derive(Deserialize)]
pub struct BindForm {
    /// A `Tally` code, or empty to unbind.
    #[serde(default)]
    tally: String,
}

/// Bind the task to a count of its units' activities (or unbind it).
pub async fn bind(
    State(state): State<AppState>,
    p: Principal,
    Path((id, item)): Path<(i64, i64)>,
    Form(f): Form<BindForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let tally = match f.tally.trim() {
        "" => None,
        code => Some(
            shiliu_domain::activities::Tally::parse(code).ok_or_else(|| {
                crate::web::error::AppError::Invalid(
                    shiliu_domain::FieldError::new("tally", "err.choice").into(),
                )
            })?,
        ),
    };
    let result = state
        .db
        .write(move |c| {
            shiliu_db::tasks::tallies::set(c, &actor, id, item, tally).map(|()| "bound")
        })
        .await;
    after(&state, &p, (id, item), result, ReportForm::default()).await
}

#[derive(Deserialize, Default)]
pub struct PrintQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

#[derive(Template)]
#[template(path = "tasks/ledger_print.html")]
struct PrintPage {
    t: crate::web::i18n::T,
    version: &'static str,
    title: String,
    plan: Plan,
    unit_id: i64,
    unit: String,
    from: String,
    to: String,
    /// (seq, task, period, progress, figure, standing, opinion, files)
    rows: Vec<[String; 8]>,
    printed: String,
}

/// A unit's ledger for a period, on paper (A4): every report it sent whose period falls in
/// `from`..=`to` (a task done once: sent in it), in the plan's order, with the decisions and
/// the evidence named. The plan's readers print any unit's; a unit's reporter its own.
pub async fn print(
    State(state): State<AppState>,
    p: Principal,
    Path((id, unit)): Path<(i64, i64)>,
    Query(q): Query<PrintQuery>,
) -> AppResult<Response> {
    use chrono::Datelike;
    let viewer = p.require::<grants::ViewTasks>().ok();
    let reporter = p.require::<grants::ReportTasks>().ok();
    if viewer.is_none() && reporter.is_none() {
        return Err(crate::web::error::AppError::Forbidden);
    }
    let t = p.t();
    let today = shiliu_db::today();
    let day = |v: &str, field: &str, default: chrono::NaiveDate| {
        if v.trim().is_empty() {
            return Ok(default);
        }
        chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| {
            crate::web::error::AppError::Invalid(
                shiliu_domain::FieldError::new(field, "err.date").into(),
            )
        })
    };
    let from = day(
        &q.from,
        "from",
        chrono::NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
    )?;
    let to = day(&q.to, "to", today)?;
    let (plan, unit_name, entries) = state
        .db
        .read(move |c| {
            let (plan, own) = shiliu_db::tasks::reach(c, viewer.as_ref(), reporter.as_ref(), id)?;
            if own.is_some_and(|u| u != unit) {
                return Err(DbError::NotFound);
            }
            // Only a unit the plan's region holds.
            let name = shiliu_db::tasks::region_units(c, &plan)?
                .into_iter()
                .find(|(u, _)| *u == unit)
                .map(|(_, n)| n)
                .ok_or(DbError::NotFound)?;
            let entries = db::unit_ledger(c, &plan, unit)?;
            Ok((plan, name, entries))
        })
        .await?;
    let within = |e: &db::Entry| {
        if let Some((start, end)) = shiliu_domain::tasks::period_days(&e.report.period) {
            start <= to && end >= from
        } else {
            let sent = shiliu_domain::calendar::local(e.report.submitted_at).date();
            from <= sent && sent <= to
        }
    };
    let rows = entries
        .iter()
        .filter(|e| within(e))
        .map(|e| {
            [
                e.seq.clone(),
                e.title.clone(),
                period_text(t, &e.report.period),
                e.report.progress.clone(),
                e.report.figure.map(|f| f.to_string()).unwrap_or_default(),
                t.label("report_status", &e.report.status),
                e.report.opinion.clone().unwrap_or_default(),
                e.files.join("、"),
            ]
        })
        .collect();
    crate::web::page::render(&PrintPage {
        t,
        version: env!("CARGO_PKG_VERSION"),
        title: format!("{unit_name} · {}", t.s("plans.ledger")),
        unit_id: unit,
        unit: unit_name,
        from: from.to_string(),
        to: to.to_string(),
        rows,
        printed: t.f(
            "requests.printed",
            &[
                ("by", &p.user().display_name),
                ("at", &show_minute(shiliu_db::now())),
            ],
        ),
        plan,
    })
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/plans/{id}/tasks/{item}", get(show))
        .route("/plans/{id}/tasks/{item}/reports", post(submit))
        .route("/plans/{id}/tasks/{item}/remind", post(remind))
        .route("/plans/{id}/tasks/{item}/tally", post(bind))
        .route("/plans/{id}/units/{unit}/ledger", get(print))
        .route("/plans/{id}/tasks/{item}/files/{upload}", get(file))
        .route(
            "/plans/{id}/tasks/{item}/reports/{report}/review",
            post(review),
        )
}
