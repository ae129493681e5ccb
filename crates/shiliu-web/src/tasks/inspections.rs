//! Supervision and rectification (督查 · 整改) as pages: a plan's inspections with their
//! figures (整改完成率, overdue), one inspection with the units it visited and its findings
//! (问题清单), the plan's findings as a list and a sheet, and one finding: the unit reports its
//! rectification, the organiser closes it (销号) or sends it back. A unit's reporter sees its
//! own unit's findings only.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::DbError;
use shiliu_db::scope::grants;
use shiliu_db::tasks::inspections::{self as db, Inspection, Listed};
use shiliu_db::tasks::{self as plans, Plan};
use shiliu_domain::FieldErrors;
use shiliu_domain::tasks::PlanStatus;
use shiliu_domain::tasks::inspections::{
    FindingInput, FindingStatus, InspectionFields, InspectionInput, InspectionKind, Rectification,
};

use crate::requests::stats::percent;
use crate::web::error::{AppError, AppResult};
use crate::web::i18n::T;
use crate::web::page::{Layout, Saved, render, render_form, show_minute};
use crate::web::xlsx::{self, Cell};
use crate::web::{AppState, Principal};

/// Rectification figures as tiles: (label, figure, link query).
fn tiles(t: T, r: &Rectification) -> Vec<(String, String, &'static str)> {
    vec![
        (t.s("insp.findings").into(), r.total.to_string(), ""),
        (t.s("insp.closed").into(), r.closed.to_string(), "closed"),
        (t.s("insp.rate").into(), percent(r.rate()), "closed"),
        (t.s("insp.overdue").into(), r.overdue.to_string(), "overdue"),
        (
            t.s("insp.waiting").into(),
            r.waiting.to_string(),
            "reported",
        ),
    ]
}

/// The plan as its readers reach it (inspections are the organiser's record).
async fn read_plan(state: &AppState, p: &Principal, id: i64) -> AppResult<Plan> {
    let viewer = p.require::<grants::ViewTasks>()?;
    Ok(state
        .db
        .read(move |c| plans::get_plan(c, viewer.scope(), id))
        .await?)
}

/// The plan as the caller reaches it for its findings: whole for its readers, or their own
/// unit's part (`Some(unit)`) for a unit's reporter.
async fn findings_plan(state: &AppState, p: &Principal, id: i64) -> AppResult<(Plan, Option<i64>)> {
    let viewer = p.require::<grants::ViewTasks>().ok();
    let reporter = p.require::<grants::ReportTasks>().ok();
    if viewer.is_none() && reporter.is_none() {
        return Err(AppError::Forbidden);
    }
    Ok(state
        .db
        .read(move |c| plans::reach(c, viewer.as_ref(), reporter.as_ref(), id))
        .await?)
}

pub struct InspectionRow {
    pub id: i64,
    pub title: String,
    pub kind: String,
    pub days: String,
    pub total: i64,
    pub closed: i64,
    pub rate: String,
    pub overdue: i64,
}

#[derive(Template)]
#[template(path = "tasks/inspections.html")]
struct InspectionsPage {
    l: Layout,
    plan: Plan,
    tiles: Vec<(String, String, &'static str)>,
    rows: Vec<InspectionRow>,
    /// The organiser may record one now: the kinds and the region's units to pick from.
    may_add: bool,
    kinds: Vec<(&'static str, String)>,
    /// (id, name, ticked)
    units: Vec<(i64, String, bool)>,
    f: InspectionForm,
    errors: Vec<(String, String)>,
}

#[derive(Default, Clone)]
pub struct InspectionForm {
    title: String,
    kind: String,
    team: String,
    starts_on: String,
    ends_on: String,
    notes: String,
    units: Vec<String>,
}

impl InspectionForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "title" => f.title.clone_from(v),
                "inspection_kind" => f.kind.clone_from(v),
                "team" => f.team.clone_from(v),
                "starts_on" => f.starts_on.clone_from(v),
                "ends_on" => f.ends_on.clone_from(v),
                "remarks" => f.notes.clone_from(v),
                "visited" => f.units.push(v.clone()),
                _ => {}
            }
        }
        f
    }

    fn parse(&self, plan: &Plan) -> Result<InspectionInput, FieldErrors> {
        InspectionInput::parse(
            InspectionFields {
                title: &self.title,
                kind: &self.kind,
                team: &self.team,
                starts_on: &self.starts_on,
                ends_on: &self.ends_on,
                notes: &self.notes,
            },
            &self.units,
            (plan.starts_on, plan.ends_on),
        )
    }

    /// Whether the unit was ticked (to keep the ticks when the form comes back).
    fn picked(&self, id: i64) -> bool {
        self.units.iter().any(|u| u.trim() == id.to_string())
    }
}

/// A plan, its inspections with their figures, and the region's units to visit.
type Inspected = (Plan, Vec<(Inspection, Rectification)>, Vec<(i64, String)>);

fn inspections_page(
    state_rows: Inspected,
    p: &Principal,
    f: InspectionForm,
    errs: &FieldErrors,
    said: Option<String>,
) -> AppResult<Response> {
    let t = p.t();
    let (plan, list, units) = state_rows;
    let mut all = Rectification::default();
    for (_, r) in &list {
        all.total += r.total;
        all.closed += r.closed;
        all.closed_on_time += r.closed_on_time;
        all.overdue += r.overdue;
        all.waiting += r.waiting;
    }
    let rows = list
        .into_iter()
        .map(|(i, r)| InspectionRow {
            id: i.id,
            kind: t.label("inspection_kind", i.kind().as_str()),
            days: format!("{} — {}", i.starts_on, i.ends_on),
            title: i.title,
            total: r.total,
            closed: r.closed,
            rate: percent(r.rate()),
            overdue: r.overdue,
        })
        .collect();
    let may_add = p.require::<grants::ManageTasks>().is_ok() && plan.status() != PlanStatus::Draft;
    let page = InspectionsPage {
        l: Layout::new(
            p,
            "nav.plans",
            &format!("{} · {}", plan.name, t.s("insp.title")),
        )
        .said(said),
        tiles: tiles(t, &all),
        rows,
        may_add,
        kinds: InspectionKind::ALL
            .iter()
            .map(|k| (k.as_str(), t.label("inspection_kind", k.as_str())))
            .collect(),
        units: units
            .into_iter()
            .map(|(id, name)| (id, name, f.picked(id)))
            .collect(),
        f,
        errors: t.field_errors(errs),
        plan,
    };
    render_form(&page, !errs.is_empty())
}

async fn inspections_of(state: &AppState, p: &Principal, id: i64) -> AppResult<Inspected> {
    let plan = read_plan(state, p, id).await?;
    let manage = p.require::<grants::ManageTasks>().is_ok();
    Ok(state
        .db
        .read(move |c| {
            let list = db::list(c, &plan, shiliu_db::today())?;
            let units = if manage {
                plans::region_units(c, &plan)?
            } else {
                Vec::new()
            };
            Ok((plan, list, units))
        })
        .await?)
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(saved): Query<Saved>,
) -> AppResult<Response> {
    let parts = inspections_of(&state, &p, id).await?;
    let said = saved
        .done(&["created"])
        .map(|_| p.t().s("insp.done_created").to_string());
    inspections_page(
        parts,
        &p,
        InspectionForm::default(),
        &FieldErrors::new(),
        said,
    )
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let f = InspectionForm::from_pairs(&pairs);
    let plan = read_plan(&state, &p, id).await?;
    let result = match f.parse(&plan) {
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
            Redirect::to(&format!("/plans/{id}/inspections/{}?done=created", i.id)).into_response(),
        ),
        Err(DbError::Invalid(errs)) => {
            let parts = inspections_of(&state, &p, id).await?;
            inspections_page(parts, &p, f, &errs, None)
        }
        Err(e) => Err(e.into()),
    }
}

pub struct FindingRow {
    pub id: i64,
    pub href: String,
    pub plan: String,
    pub seq: i32,
    pub unit: String,
    pub problem: String,
    pub due: String,
    pub status: String,
    pub status_code: &'static str,
    pub overdue: bool,
    pub escalated: bool,
    pub inspection: String,
}

pub(crate) fn finding_row(t: T, l: &Listed, today: chrono::NaiveDate) -> FindingRow {
    let f = &l.finding;
    FindingRow {
        id: f.id,
        href: format!("/plans/{}/findings/{}", f.plan_id, f.id),
        plan: l.plan_name.clone(),
        seq: f.seq,
        unit: l.unit_name.clone(),
        problem: f.problem.clone(),
        due: f.due_on.to_string(),
        status: t.label("finding_status", &f.status),
        status_code: f.status().as_str(),
        overdue: f.overdue(today),
        escalated: f.escalated_at.is_some(),
        inspection: l.inspection_title.clone(),
    }
}

#[derive(Template)]
#[template(path = "tasks/inspection.html")]
struct InspectionPage {
    l: Layout,
    plan: Plan,
    i: Inspection,
    kind: String,
    visited: Vec<(i64, String)>,
    findings: Vec<FindingRow>,
    tiles: Vec<(String, String, &'static str)>,
    may_add: bool,
    f: FindingForm,
    errors: Vec<(String, String)>,
}

#[derive(Deserialize, Default, Clone)]
pub struct FindingForm {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    problem: String,
    #[serde(default)]
    measures: String,
    #[serde(default)]
    due: String,
}

async fn inspection_page(
    state: &AppState,
    p: &Principal,
    (id, inspection): (i64, i64),
    f: FindingForm,
    errs: &FieldErrors,
    said: Option<String>,
) -> AppResult<Response> {
    let plan = read_plan(state, p, id).await?;
    let t = p.t();
    let today = shiliu_db::today();
    let plan2 = plan.clone();
    let (i, visited, findings) = state
        .db
        .read(move |c| db::get(c, &plan2, inspection))
        .await?;
    let r = Rectification::count(findings.iter().map(|(f, _)| f.counted()), today);
    let rows = findings
        .into_iter()
        .map(|(finding, unit_name)| {
            finding_row(
                t,
                &Listed {
                    finding,
                    unit_name,
                    inspection_title: i.title.clone(),
                    plan_name: plan.name.clone(),
                },
                today,
            )
        })
        .collect();
    let may_add = p.require::<grants::ManageTasks>().is_ok() && plan.status() == PlanStatus::Active;
    let page = InspectionPage {
        l: Layout::new(p, "nav.plans", &i.title).said(said),
        kind: t.label("inspection_kind", i.kind().as_str()),
        visited,
        findings: rows,
        tiles: tiles(t, &r),
        may_add,
        f,
        errors: t.field_errors(errs),
        plan,
        i,
    };
    render_form(&page, !errs.is_empty())
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path((id, inspection)): Path<(i64, i64)>,
    Query(saved): Query<Saved>,
) -> AppResult<Response> {
    let said = saved
        .done(&["created", "added"])
        .map(|d| p.t().s(&format!("insp.done_{d}")).to_string());
    inspection_page(
        &state,
        &p,
        (id, inspection),
        FindingForm::default(),
        &FieldErrors::new(),
        said,
    )
    .await
}

pub async fn add_finding(
    State(state): State<AppState>,
    p: Principal,
    Path((id, inspection)): Path<(i64, i64)>,
    Form(f): Form<FindingForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let plan = read_plan(&state, &p, id).await?;
    let (i, visited, _) = state
        .db
        .read(move |c| db::get(c, &plan, inspection))
        .await?;
    let visited: Vec<i64> = visited.into_iter().map(|(u, _)| u).collect();
    let input = FindingInput::parse(
        &f.unit,
        &f.problem,
        &f.measures,
        &f.due,
        &visited,
        i.starts_on,
    );
    let result = match input {
        Ok(input) => {
            state
                .db
                .write(move |c| db::add_finding(c, &actor, (id, inspection), &input))
                .await
        }
        Err(e) => Err(DbError::Invalid(e)),
    };
    match result {
        Ok(_) => Ok(
            Redirect::to(&format!("/plans/{id}/inspections/{inspection}?done=added"))
                .into_response(),
        ),
        Err(DbError::Invalid(errs)) => {
            inspection_page(&state, &p, (id, inspection), f, &errs, None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct FindingsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    unit: String,
}

/// Which findings a filter keeps: a status, or `overdue`; unknown values are refused.
fn keep(q: &FindingsQuery, today: chrono::NaiveDate) -> AppResult<impl Fn(&Listed) -> bool> {
    let bad =
        |field: &str| AppError::Invalid(shiliu_domain::FieldError::new(field, "err.choice").into());
    let status = match q.status.trim() {
        "" => None,
        "overdue" => Some(None),
        s => Some(Some(FindingStatus::parse(s).ok_or_else(|| bad("status"))?)),
    };
    let unit = match q.unit.trim() {
        "" => None,
        u => Some(u.parse::<i64>().map_err(|_| bad("unit"))?),
    };
    Ok(move |l: &Listed| {
        let f = &l.finding;
        unit.is_none_or(|u| u == f.unit_id)
            && match status {
                None => true,
                Some(None) => f.overdue(today),
                Some(Some(s)) => f.status() == s,
            }
    })
}

#[derive(Template)]
#[template(path = "tasks/findings.html")]
struct FindingsPage {
    l: Layout,
    plan: Plan,
    own_only: bool,
    tiles: Vec<(String, String, &'static str)>,
    rows: Vec<FindingRow>,
    statuses: Vec<(&'static str, String)>,
    unit_choices: Vec<(i64, String)>,
    status: String,
    unit: String,
    query: String,
}

async fn findings_of(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> AppResult<(Plan, Option<i64>, Vec<Listed>)> {
    let (plan, unit) = findings_plan(state, p, id).await?;
    let plan2 = plan.clone();
    let rows = state
        .db
        .read(move |c| db::listed(c, &plan2, unit, shiliu_db::today()))
        .await?;
    Ok((plan, unit, rows))
}

pub async fn findings(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(q): Query<FindingsQuery>,
) -> AppResult<Response> {
    let (plan, unit, all) = findings_of(&state, &p, id).await?;
    let t = p.t();
    let today = shiliu_db::today();
    let r = Rectification::count(all.iter().map(|l| l.finding.counted()), today);
    let mut unit_choices: Vec<(i64, String)> = all
        .iter()
        .map(|l| (l.finding.unit_id, l.unit_name.clone()))
        .collect();
    unit_choices.sort_by(|a, b| a.1.cmp(&b.1));
    unit_choices.dedup();
    let keep = keep(&q, today)?;
    let rows = all
        .iter()
        .filter(|l| keep(l))
        .map(|l| finding_row(t, l, today))
        .collect();
    let mut statuses: Vec<(&'static str, String)> = FindingStatus::ALL
        .iter()
        .map(|s| (s.as_str(), t.label("finding_status", s.as_str())))
        .collect();
    statuses.push(("overdue", t.s("insp.overdue").into()));
    render(&FindingsPage {
        l: Layout::new(
            &p,
            "nav.plans",
            &format!("{} · {}", plan.name, t.s("insp.findings_title")),
        ),
        own_only: unit.is_some(),
        tiles: tiles(t, &r),
        rows,
        statuses,
        unit_choices,
        status: q.status.trim().to_string(),
        unit: q.unit.trim().to_string(),
        query: format!(
            "status={}&unit={}",
            crate::web::urlencode(q.status.trim()),
            crate::web::urlencode(q.unit.trim())
        ),
        plan,
    })
}

/// The findings as a sheet (问题清单及整改情况), as filtered; numbers and days as such.
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(q): Query<FindingsQuery>,
) -> AppResult<Response> {
    let (plan, _, all) = findings_of(&state, &p, id).await?;
    let t = p.t();
    let today = shiliu_db::today();
    let keep = keep(&q, today)?;
    let headers: Vec<String> = [
        "insp.inspection",
        "field.seq",
        "field.unit",
        "field.problem",
        "field.measures",
        "field.due",
        "field.status",
        "insp.overdue",
        "insp.rectified",
        "field.opinion",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    let rows: Vec<Vec<Cell>> = all
        .iter()
        .filter(|l| keep(l))
        .map(|l| {
            let f = &l.finding;
            vec![
                Cell::from(&l.inspection_title),
                Cell::Int(i64::from(f.seq)),
                Cell::from(&l.unit_name),
                Cell::from(&f.problem),
                Cell::from(f.measures.clone().unwrap_or_default()),
                Cell::Date(f.due_on),
                Cell::from(t.label("finding_status", &f.status)),
                Cell::from(t.s(if f.overdue(today) {
                    "insp.overdue_yes"
                } else {
                    "insp.overdue_no"
                })),
                Cell::from(f.progress.clone().unwrap_or_default()),
                Cell::from(f.opinion.clone().unwrap_or_default()),
            ]
        })
        .collect();
    let name = format!("{} · {}", plan.name, t.s("insp.findings_title"));
    Ok(xlsx::download(
        &format!("{name}.xlsx"),
        xlsx::sheet(t.s("insp.findings_title"), &headers, &rows)?,
    ))
}

pub struct EventLine {
    pub action: String,
    pub body: String,
    pub who: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "tasks/finding.html")]
struct FindingPage {
    l: Layout,
    plan: Plan,
    row: FindingRow,
    f: shiliu_db::tasks::inspections::Finding,
    measures: String,
    events: Vec<EventLine>,
    may_report: bool,
    may_verify: bool,
    errors: Vec<(String, String)>,
    progress: String,
}

async fn finding_page(
    state: &AppState,
    p: &Principal,
    (id, finding): (i64, i64),
    progress: String,
    errs: &FieldErrors,
    said: Option<String>,
) -> AppResult<Response> {
    let (plan, unit) = findings_plan(state, p, id).await?;
    let t = p.t();
    let today = shiliu_db::today();
    let plan2 = plan.clone();
    let reporter = p.require::<grants::ReportTasks>().ok();
    let (listed, events, own) = state
        .db
        .read(move |c| {
            let (l, e) = db::finding(c, &plan2, unit, finding)?;
            let own = match &reporter {
                Some(r) => plans::own_unit(c, r)?,
                None => None,
            };
            Ok((l, e, own))
        })
        .await?;
    let status = listed.finding.status();
    let active = plan.status() == PlanStatus::Active;
    let may_report =
        active && own == Some(listed.finding.unit_id) && status != FindingStatus::Closed;
    let may_verify =
        active && status == FindingStatus::Reported && p.require::<grants::ManageTasks>().is_ok();
    let page = FindingPage {
        l: Layout::new(
            p,
            "nav.plans",
            &format!("{} · {}", t.s("insp.finding"), listed.unit_name),
        )
        .said(said),
        row: finding_row(t, &listed, today),
        measures: listed.finding.measures.clone().unwrap_or_default(),
        events: events
            .into_iter()
            .map(|e| EventLine {
                action: t.label("finding_action", &e.action),
                body: e.body,
                who: e.actor_name,
                at: show_minute(e.at),
            })
            .collect(),
        may_report,
        may_verify,
        errors: t.field_errors(errs),
        progress,
        f: listed.finding,
        plan,
    };
    render_form(&page, !errs.is_empty())
}

const DONE: [&str; 3] = ["reported", "closed", "returned"];

pub async fn finding(
    State(state): State<AppState>,
    p: Principal,
    Path((id, finding)): Path<(i64, i64)>,
    Query(saved): Query<Saved>,
) -> AppResult<Response> {
    let said = saved
        .done(&DONE)
        .map(|d| p.t().s(&format!("insp.done_{d}")).to_string());
    finding_page(
        &state,
        &p,
        (id, finding),
        String::new(),
        &FieldErrors::new(),
        said,
    )
    .await
}

#[derive(Deserialize, Default)]
pub struct StepForm {
    #[serde(default)]
    rectification: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    opinion: String,
    #[serde(default)]
    version: i32,
}

/// After a step on a finding: its page saying what was done, or again with the problems.
async fn after(
    state: &AppState,
    p: &Principal,
    (id, finding): (i64, i64),
    result: Result<&'static str, DbError>,
    progress: String,
) -> AppResult<Response> {
    match result {
        Ok(done) => Ok(
            Redirect::to(&format!("/plans/{id}/findings/{finding}?done={done}")).into_response(),
        ),
        Err(DbError::Invalid(errs)) => {
            finding_page(state, p, (id, finding), progress, &errs, None).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn report(
    State(state): State<AppState>,
    p: Principal,
    Path((id, finding)): Path<(i64, i64)>,
    Form(f): Form<StepForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ReportTasks>()?;
    let progress = f.rectification.clone();
    let result = state
        .db
        .write(move |c| {
            db::report(c, &actor, (id, finding), f.version, &f.rectification).map(|_| "reported")
        })
        .await;
    after(&state, &p, (id, finding), result, progress).await
}

pub async fn verify(
    State(state): State<AppState>,
    p: Principal,
    Path((id, finding)): Path<(i64, i64)>,
    Form(f): Form<StepForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let close = match f.decision.as_str() {
        "close" => Some(true),
        "return" => Some(false),
        _ => None,
    };
    let result = match close {
        Some(close) => {
            state
                .db
                .write(move |c| {
                    db::verify(c, &actor, (id, finding), f.version, close, Some(&f.opinion))
                        .map(|_| if close { "closed" } else { "returned" })
                })
                .await
        }
        None => Err(DbError::invalid("decision", "err.choice")),
    };
    after(&state, &p, (id, finding), result, String::new()).await
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/plans/{id}/inspections", get(list).post(create))
        .route("/plans/{id}/inspections/{inspection}", get(show))
        .route(
            "/plans/{id}/inspections/{inspection}/findings",
            post(add_finding),
        )
        .route("/plans/{id}/findings", get(findings))
        .route("/plans/{id}/findings.xlsx", get(export))
        .route("/plans/{id}/findings/{finding}", get(self::finding))
        .route("/plans/{id}/findings/{finding}/report", post(report))
        .route("/plans/{id}/findings/{finding}/verify", post(verify))
}
