//! The JSON API of work plans (see `pages` for the pages and `shiliu_db::tasks` for the rules
//! and who may see what): the plans of the caller's scope, one plan with its task tree, the
//! tasks handed to the caller's unit, a task's ledger, reporting on it and deciding on a report;
//! drawing up a plan (its decomposition as the sheet's rows, checked whole), putting it in
//! force, copying it; inspections and their findings with their figures, rectifying a finding
//! and verifying it; instructions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shiliu_db::scope::grants;
use shiliu_db::tasks::ledger::{self, Report};
use shiliu_db::tasks::{self as db, AssignedTask, Node, Plan, inspections};
use shiliu_domain::tasks::inspections::Rectification;
use shiliu_domain::tasks::{
    PhaseFields, PlanInput, PlanStatus, ReportInput, SheetRow, place_sheet,
};
use shiliu_domain::{FieldError, FieldErrors};
use utoipa::{OpenApi, ToSchema};

use super::pages::{seen, seen_task};
use crate::web::error::{AppError, AppResult};
use crate::web::{AppState, Principal};

#[derive(OpenApi)]
#[openapi(
    paths(
        list,
        get,
        assigned,
        ledger_of,
        submit,
        review,
        findings,
        report_finding,
        verify_finding,
        instructions,
        create_instruction,
        create,
        replace_tasks,
        set_status,
        copy,
        inspections_of,
        inspection,
        create_inspection,
        add_finding
    ),
    components(schemas(
        PlanDto,
        PhaseDto,
        PlanDetail,
        TaskDto,
        HandedDto,
        AssignedDto,
        LedgerDto,
        StandingDto,
        ReportDto,
        ReportEventDto,
        ReportBody,
        ReviewBody,
        FindingsDto,
        FindingDto,
        RectificationDto,
        RectifyBody,
        VerifyBody,
        InstructionDto,
        InstructionBody,
        PlanBody,
        PhaseBody,
        TasksBody,
        SheetRowBody,
        StatusBody,
        InspectionDto,
        InspectionDetail,
        UnitRef,
        InspectionBody,
        FindingBody
    ))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
pub struct PhaseDto {
    name: String,
    #[schema(format = Date, value_type = String)]
    starts_on: chrono::NaiveDate,
    #[schema(format = Date, value_type = String)]
    ends_on: chrono::NaiveDate,
    goal: String,
}

#[derive(Serialize, ToSchema)]
pub struct PlanDto {
    id: i64,
    name: String,
    organiser: String,
    region_id: i64,
    #[schema(format = Date, value_type = String)]
    starts_on: chrono::NaiveDate,
    #[schema(format = Date, value_type = String)]
    ends_on: chrono::NaiveDate,
    /// `draft`, `active`, `closed`
    status: String,
    phases: Vec<PhaseDto>,
    version: i32,
}

impl From<&Plan> for PlanDto {
    fn from(p: &Plan) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            organiser: p.organiser.clone(),
            region_id: p.region_id,
            starts_on: p.starts_on,
            ends_on: p.ends_on,
            status: p.status.clone(),
            phases: p
                .phases()
                .into_iter()
                .map(|x| PhaseDto {
                    name: x.name,
                    starts_on: x.starts_on,
                    ends_on: x.ends_on,
                    goal: x.goal,
                })
                .collect(),
            version: p.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct HandedDto {
    unit_id: i64,
    name: String,
    /// A lead unit (牵头单位); else a co-operating one.
    lead: bool,
}

/// One node of the decomposition, in reading order (each before its children).
#[derive(Serialize, ToSchema)]
pub struct TaskDto {
    id: i64,
    parent_id: Option<i64>,
    /// `area`, `task`, `measure`
    level: String,
    seq: String,
    title: String,
    #[schema(format = Date, value_type = Option<String>)]
    due_on: Option<chrono::NaiveDate>,
    /// `once`, `monthly`, `quarterly`, `half_yearly`, `yearly`, `ongoing`
    recurrence: String,
    /// At least this many…
    target_value: Option<i64>,
    /// …of this (`%`, 场, 次…).
    target_unit: Option<String>,
    notes: Option<String>,
    units: Vec<HandedDto>,
}

impl From<&Node> for TaskDto {
    fn from(n: &Node) -> Self {
        let i = &n.item;
        Self {
            id: i.id,
            parent_id: i.parent_id,
            level: i.level.clone(),
            seq: i.seq.clone(),
            title: i.title.clone(),
            due_on: i.due_on,
            recurrence: i.recurrence.clone(),
            target_value: i.target_value,
            target_unit: i.target_unit.clone(),
            notes: i.notes.clone(),
            units: n
                .units
                .iter()
                .map(|u| HandedDto {
                    unit_id: u.unit_id,
                    name: u.name.clone(),
                    lead: u.lead,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PlanDetail {
    plan: PlanDto,
    /// The whole tree; for a unit's reporter, the tasks handed to the unit and those above them.
    tasks: Vec<TaskDto>,
}

#[derive(Serialize, ToSchema)]
pub struct AssignedDto {
    plan_id: i64,
    plan_name: String,
    task: TaskDto,
    /// The task a measure belongs to.
    task_title: Option<String>,
    lead: bool,
}

/// The plans of the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/plans", responses((status = 200, body = [PlanDto])))]
pub async fn list(State(state): State<AppState>, p: Principal) -> AppResult<Json<Vec<PlanDto>>> {
    let actor = p.require::<grants::ViewTasks>()?;
    let plans = state.db.read(move |c| db::plans(c, actor.scope())).await?;
    Ok(Json(plans.iter().map(PlanDto::from).collect()))
}

/// One plan with its task decomposition.
#[utoipa::path(get, path = "/api/v1/plans/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = PlanDetail), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<PlanDetail>> {
    let (plan, tree, _) = seen(&state, &p, id).await?;
    Ok(Json(PlanDetail {
        plan: PlanDto::from(&plan),
        tasks: tree.nodes.iter().map(TaskDto::from).collect(),
    }))
}

/// The tasks handed to the caller's unit in the plans in force, soonest due first.
#[utoipa::path(get, path = "/api/v1/tasks", responses((status = 200, body = [AssignedDto])))]
pub async fn assigned(
    State(state): State<AppState>,
    p: Principal,
) -> AppResult<Json<Vec<AssignedDto>>> {
    let actor = p.require::<grants::ReportTasks>()?;
    let list = state.db.read(move |c| db::assigned(c, &actor)).await?;
    Ok(Json(
        list.into_iter()
            .map(|a: AssignedTask| AssignedDto {
                plan_id: a.plan_id,
                plan_name: a.plan_name,
                task: TaskDto::from(&Node {
                    item: a.item,
                    depth: 0,
                    units: Vec::new(),
                }),
                task_title: a.task_title,
                lead: a.lead,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ReportEventDto {
    /// `submitted`, `returned`, `confirmed`
    action: String,
    /// The progress sent, or the opinion given.
    body: String,
    figure: Option<i64>,
    actor_name: String,
    #[serde(serialize_with = "crate::web::api::moment")]
    #[schema(value_type = String, format = DateTime)]
    at: chrono::NaiveDateTime,
}

#[derive(Serialize, ToSchema)]
pub struct ReportDto {
    id: i64,
    unit_id: i64,
    /// `2027-03`, `2027-Q1`, `2027-H1`, `2027`; empty for a task done once.
    period: String,
    /// `submitted`, `returned`, `confirmed`
    status: String,
    progress: String,
    figure: Option<i64>,
    opinion: Option<String>,
    #[serde(serialize_with = "crate::web::api::moment")]
    #[schema(value_type = String, format = DateTime)]
    submitted_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    reviewed_at: Option<chrono::NaiveDateTime>,
    version: i32,
    events: Vec<ReportEventDto>,
}

impl ReportDto {
    fn new(r: &Report, events: &[shiliu_db::tasks::ledger::ReportEvent]) -> Self {
        Self {
            id: r.id,
            unit_id: r.unit_id,
            period: r.period.clone(),
            status: r.status.clone(),
            progress: r.progress.clone(),
            figure: r.figure,
            opinion: r.opinion.clone(),
            submitted_at: r.submitted_at,
            reviewed_at: r.reviewed_at,
            version: r.version,
            events: events
                .iter()
                .map(|e| ReportEventDto {
                    action: e.action.clone(),
                    body: e.body.clone(),
                    figure: e.figure,
                    actor_name: e.actor_name.clone(),
                    at: e.at,
                })
                .collect(),
        }
    }
}

/// How one unit stands on the task today.
#[derive(Serialize, ToSchema)]
pub struct StandingDto {
    unit_id: i64,
    name: String,
    lead: bool,
    /// `not_started`, `in_progress`, `done`, `overdue`, `lagging`
    progress: String,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerDto {
    task: TaskDto,
    units: Vec<StandingDto>,
    /// Newest period first.
    reports: Vec<ReportDto>,
}

/// A task's ledger: how each unit stands and every report with its history.
#[utoipa::path(get, path = "/api/v1/plans/{id}/tasks/{item}/reports", params(("id" = i64, Path), ("item" = i64, Path)),
    responses((status = 200, body = LedgerDto), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn ledger_of(
    State(state): State<AppState>,
    p: Principal,
    Path((id, item)): Path<(i64, i64)>,
) -> AppResult<Json<LedgerDto>> {
    let (plan, node, _) = seen_task(&state, &p, id, item).await?;
    let plan2 = plan.clone();
    let l = state
        .db
        .read(move |c| ledger::ledger(c, &plan2, item))
        .await?;
    let asked = ledger::asked(&plan, &node.item);
    let today = shiliu_db::today();
    Ok(Json(LedgerDto {
        units: node
            .units
            .iter()
            .map(|u| StandingDto {
                unit_id: u.unit_id,
                name: u.name.clone(),
                lead: u.lead,
                progress: l.progress(&asked, u.unit_id, today).as_str().into(),
            })
            .collect(),
        reports: l
            .reports
            .iter()
            .map(|r| ReportDto::new(r, l.events.get(&r.id).map_or(&[], Vec::as_slice)))
            .collect(),
        task: TaskDto::from(&node),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ReportBody {
    /// A period begun and not yet confirmed (`""` for a task done once).
    period: String,
    progress: String,
    /// How many done, against the task's target.
    #[serde(default)]
    figure: Option<i64>,
}

/// Report the caller's unit's progress on a task it is handed, for a period (again after it
/// was sent back).
#[utoipa::path(post, path = "/api/v1/plans/{id}/tasks/{item}/reports", params(("id" = i64, Path), ("item" = i64, Path)),
    request_body = ReportBody,
    responses((status = 201, body = ReportDto), (status = 404, body = crate::web::api::ErrorBody),
              (status = 422, description = "a period not begun or already confirmed, no progress, a plan not in force", body = crate::web::api::ErrorBody)))]
pub async fn submit(
    State(state): State<AppState>,
    p: Principal,
    Path((id, item)): Path<(i64, i64)>,
    Json(b): Json<ReportBody>,
) -> AppResult<(StatusCode, Json<ReportDto>)> {
    let actor = p.require::<grants::ReportTasks>()?;
    let (plan, node, _) = seen_task(&state, &p, id, item).await?;
    let open = ledger::asked(&plan, &node.item).open_periods(shiliu_db::today());
    let figure = b.figure.map(|f| f.to_string()).unwrap_or_default();
    let input = ReportInput::parse(&b.period, &b.progress, &figure, &open)?;
    let r = state
        .db
        .write(move |c| {
            let r = ledger::submit(c, &actor, id, item, &input, &[])?;
            let l = ledger::ledger(c, &plan, item)?;
            Ok(ReportDto::new(
                &r,
                l.events.get(&r.id).map_or(&[], Vec::as_slice),
            ))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Deserialize, ToSchema)]
pub struct ReviewBody {
    /// `confirm`, or `return` (with an opinion).
    decision: String,
    #[serde(default)]
    opinion: Option<String>,
    /// The report's version the reviewer read.
    version: i32,
}

/// Confirm a report, or send it back with an opinion: a lead unit on the others' reports, the
/// organiser on any.
#[utoipa::path(post, path = "/api/v1/plans/{id}/tasks/{item}/reports/{report}/review",
    params(("id" = i64, Path), ("item" = i64, Path), ("report" = i64, Path)),
    request_body = ReviewBody,
    responses((status = 200, body = ReportDto), (status = 404, body = crate::web::api::ErrorBody),
              (status = 422, description = "no opinion to send it back, a report already decided", body = crate::web::api::ErrorBody)))]
pub async fn review(
    State(state): State<AppState>,
    p: Principal,
    Path((id, item, report)): Path<(i64, i64, i64)>,
    Json(b): Json<ReviewBody>,
) -> AppResult<Json<ReportDto>> {
    let actor = super::ledger::actor(&p)?;
    let confirm = match b.decision.as_str() {
        "confirm" => true,
        "return" => false,
        _ => {
            return Err(AppError::from(shiliu_domain::FieldErrors::from(
                shiliu_domain::FieldError::new("decision", "err.choice"),
            )));
        }
    };
    let r = state
        .db
        .write(move |c| {
            let r = ledger::review(
                c,
                &actor,
                (id, item, report),
                b.version,
                confirm,
                b.opinion.as_deref(),
            )?;
            let plan = ledger::reachable_plan(c, &actor, id)?;
            let l = ledger::ledger(c, &plan, item)?;
            Ok(ReportDto::new(
                &r,
                l.events.get(&r.id).map_or(&[], Vec::as_slice),
            ))
        })
        .await?;
    Ok(Json(r))
}

#[derive(Serialize, ToSchema)]
pub struct FindingDto {
    id: i64,
    inspection_id: i64,
    inspection_title: String,
    /// Its number in the inspection's list.
    seq: i32,
    unit_id: i64,
    unit_name: String,
    problem: String,
    /// What the inspectors require.
    measures: Option<String>,
    #[schema(format = Date, value_type = String)]
    due_on: chrono::NaiveDate,
    /// `open`, `reported`, `returned`, `closed`
    status: String,
    /// Open past its deadline.
    overdue: bool,
    /// The unit's latest report of its rectification.
    rectification: Option<String>,
    /// The inspectors' latest opinion.
    opinion: Option<String>,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    closed_at: Option<chrono::NaiveDateTime>,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    escalated_at: Option<chrono::NaiveDateTime>,
    version: i32,
}

impl FindingDto {
    fn new(l: &inspections::Listed, today: chrono::NaiveDate) -> Self {
        let f = &l.finding;
        Self {
            id: f.id,
            inspection_id: f.inspection_id,
            inspection_title: l.inspection_title.clone(),
            seq: f.seq,
            unit_id: f.unit_id,
            unit_name: l.unit_name.clone(),
            problem: f.problem.clone(),
            measures: f.measures.clone(),
            due_on: f.due_on,
            status: f.status.clone(),
            overdue: f.overdue(today),
            rectification: f.progress.clone(),
            opinion: f.opinion.clone(),
            closed_at: f.closed_at,
            escalated_at: f.escalated_at,
            version: f.version,
        }
    }
}

/// 整改完成率 and its parts.
#[derive(Serialize, ToSchema)]
pub struct RectificationDto {
    total: i64,
    closed: i64,
    closed_on_time: i64,
    overdue: i64,
    /// Reported, waiting to be verified.
    waiting: i64,
    /// Closed over all, in per mille (null with no findings).
    rate_per_mille: Option<i64>,
}

impl From<&Rectification> for RectificationDto {
    fn from(r: &Rectification) -> Self {
        Self {
            total: r.total,
            closed: r.closed,
            closed_on_time: r.closed_on_time,
            overdue: r.overdue,
            waiting: r.waiting,
            rate_per_mille: r.rate(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FindingsDto {
    figures: RectificationDto,
    findings: Vec<FindingDto>,
}

/// A plan's inspection findings (问题清单) with their rectification figures: all of them for
/// the plan's readers, the caller's unit's own for a unit's reporter. Overdue first.
#[utoipa::path(get, path = "/api/v1/plans/{id}/findings", params(("id" = i64, Path)),
    responses((status = 200, body = FindingsDto), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn findings(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<FindingsDto>> {
    let viewer = p.require::<grants::ViewTasks>().ok();
    let reporter = p.require::<grants::ReportTasks>().ok();
    if viewer.is_none() && reporter.is_none() {
        return Err(AppError::Forbidden);
    }
    let today = shiliu_db::today();
    let rows = state
        .db
        .read(move |c| {
            let (plan, unit) = db::reach(c, viewer.as_ref(), reporter.as_ref(), id)?;
            inspections::listed(c, &plan, unit, today)
        })
        .await?;
    let r = Rectification::count(rows.iter().map(|l| l.finding.counted()), today);
    Ok(Json(FindingsDto {
        figures: RectificationDto::from(&r),
        findings: rows.iter().map(|l| FindingDto::new(l, today)).collect(),
    }))
}

/// The finding as the caller now sees it, after a step.
fn finding_now(
    c: &mut shiliu_db::DbConnection,
    plan: &Plan,
    id: i64,
) -> Result<FindingDto, shiliu_db::DbError> {
    let (l, _) = inspections::finding(c, plan, None, id)?;
    Ok(FindingDto::new(&l, shiliu_db::today()))
}

#[derive(Deserialize, ToSchema)]
pub struct RectifyBody {
    /// What was done about it.
    rectification: String,
    /// The finding's version the unit read.
    version: i32,
}

/// The caller's unit reports a finding rectified (again after it was sent back).
#[utoipa::path(post, path = "/api/v1/plans/{id}/findings/{finding}/report",
    params(("id" = i64, Path), ("finding" = i64, Path)), request_body = RectifyBody,
    responses((status = 200, body = FindingDto), (status = 404, body = crate::web::api::ErrorBody),
              (status = 409, body = crate::web::api::ErrorBody),
              (status = 422, description = "no text, a finding closed", body = crate::web::api::ErrorBody)))]
pub async fn report_finding(
    State(state): State<AppState>,
    p: Principal,
    Path((id, finding)): Path<(i64, i64)>,
    Json(b): Json<RectifyBody>,
) -> AppResult<Json<FindingDto>> {
    let actor = p.require::<grants::ReportTasks>()?;
    let dto = state
        .db
        .write(move |c| {
            inspections::report(c, &actor, (id, finding), b.version, &b.rectification)?;
            let (plan, _) = db::plan_for_unit(c, &actor, id)?;
            finding_now(c, &plan, finding)
        })
        .await?;
    Ok(Json(dto))
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyBody {
    /// `close` (销号), or `return` (with an opinion).
    decision: String,
    #[serde(default)]
    opinion: Option<String>,
    /// The finding's version the organiser read.
    version: i32,
}

/// The organiser verifies a reported rectification: closes it, or sends it back.
#[utoipa::path(post, path = "/api/v1/plans/{id}/findings/{finding}/verify",
    params(("id" = i64, Path), ("finding" = i64, Path)), request_body = VerifyBody,
    responses((status = 200, body = FindingDto), (status = 404, body = crate::web::api::ErrorBody),
              (status = 409, body = crate::web::api::ErrorBody),
              (status = 422, description = "no opinion to send it back, nothing reported", body = crate::web::api::ErrorBody)))]
pub async fn verify_finding(
    State(state): State<AppState>,
    p: Principal,
    Path((id, finding)): Path<(i64, i64)>,
    Json(b): Json<VerifyBody>,
) -> AppResult<Json<FindingDto>> {
    let actor = p.require::<grants::ManageTasks>()?;
    let close = match b.decision.as_str() {
        "close" => true,
        "return" => false,
        _ => {
            return Err(AppError::from(shiliu_domain::FieldErrors::from(
                shiliu_domain::FieldError::new("decision", "err.choice"),
            )));
        }
    };
    let dto = state
        .db
        .write(move |c| {
            inspections::verify(
                c,
                &actor,
                (id, finding),
                b.version,
                close,
                b.opinion.as_deref(),
            )?;
            let plan = db::get_plan(c, actor.scope(), id)?;
            finding_now(c, &plan, finding)
        })
        .await?;
    Ok(Json(dto))
}

#[derive(Serialize, ToSchema)]
pub struct InstructionDto {
    id: i64,
    /// `speech`, `document`, `meeting`
    source: String,
    title: String,
    /// 文号, for a document.
    reference: Option<String>,
    issuer: Option<String>,
    #[schema(format = Date, value_type = String)]
    said_on: chrono::NaiveDate,
    body: String,
    /// The tasks carrying it out (ids of the plan's items).
    items: Vec<i64>,
    version: i32,
}

impl InstructionDto {
    fn new(i: shiliu_db::tasks::instructions::Instruction, items: Vec<i64>) -> Self {
        Self {
            id: i.id,
            source: i.source,
            title: i.title,
            reference: i.reference,
            issuer: i.issuer,
            said_on: i.said_on,
            body: i.body,
            items,
            version: i.version,
        }
    }
}

/// A plan's instructions (怎么说) with the tasks carrying each out, latest first.
#[utoipa::path(get, path = "/api/v1/plans/{id}/instructions", params(("id" = i64, Path)),
    responses((status = 200, body = [InstructionDto]), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn instructions(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<InstructionDto>>> {
    let viewer = p.require::<grants::ViewTasks>()?;
    let list = state
        .db
        .read(move |c| {
            let plan = db::get_plan(c, viewer.scope(), id)?;
            db::instructions::list(c, &plan)
        })
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|(i, items)| InstructionDto::new(i, items))
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct InstructionBody {
    /// `speech`, `document` (with its `reference`), `meeting`
    source: String,
    title: String,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    #[schema(format = Date, value_type = String)]
    said_on: String,
    body: String,
    /// The plan's items carrying it out (at least one).
    items: Vec<i64>,
}

/// Record an instruction of a plan in force, linked to the tasks carrying it out.
#[utoipa::path(post, path = "/api/v1/plans/{id}/instructions", params(("id" = i64, Path)),
    request_body = InstructionBody,
    responses((status = 201, body = InstructionDto), (status = 404, body = crate::web::api::ErrorBody),
              (status = 422, description = "a field missing or wrong, a task not the plan's, a plan in draft", body = crate::web::api::ErrorBody)))]
pub async fn create_instruction(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<InstructionBody>,
) -> AppResult<(StatusCode, Json<InstructionDto>)> {
    use shiliu_domain::tasks::instructions::{InstructionFields, InstructionInput};
    let actor = p.require::<grants::ManageTasks>()?;
    let items: Vec<String> = b.items.iter().map(ToString::to_string).collect();
    let input = InstructionInput::parse(
        InstructionFields {
            source: &b.source,
            title: &b.title,
            reference: b.reference.as_deref().unwrap_or_default(),
            issuer: b.issuer.as_deref().unwrap_or_default(),
            said_on: &b.said_on,
            body: &b.body,
        },
        &items,
        shiliu_db::today(),
    )?;
    let dto = state
        .db
        .write(move |c| {
            let i = db::instructions::create(c, &actor, id, &input)?;
            Ok(InstructionDto::new(i, input.items))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(dto)))
}

// ---- Drawing up a plan ----

#[derive(Deserialize, ToSchema)]
pub struct PhaseBody {
    name: String,
    #[schema(format = Date, value_type = String)]
    starts_on: String,
    #[schema(format = Date, value_type = String)]
    ends_on: String,
    #[serde(default)]
    goal: String,
}

#[derive(Deserialize, ToSchema)]
pub struct PlanBody {
    name: String,
    /// Who runs it (e.g. 南宁市创建办).
    organiser: String,
    #[schema(format = Date, value_type = String)]
    starts_on: String,
    #[schema(format = Date, value_type = String)]
    ends_on: String,
    /// In order, within the plan's days (e.g. 强基础 · 见成效 · 创示范).
    #[serde(default)]
    phases: Vec<PhaseBody>,
}

/// Draw up a plan, as a draft, for the caller's region.
#[utoipa::path(post, path = "/api/v1/plans", request_body = PlanBody,
    responses((status = 201, body = PlanDto),
              (status = 422, description = "a field missing or wrong, a phase outside the plan's days", body = crate::web::api::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(b): Json<PlanBody>,
) -> AppResult<(StatusCode, Json<PlanDto>)> {
    let actor = p.require::<grants::ManageTasks>()?;
    let phases: Vec<PhaseFields> = b
        .phases
        .iter()
        .map(|x| {
            (
                x.name.as_str(),
                x.starts_on.as_str(),
                x.ends_on.as_str(),
                x.goal.as_str(),
            )
        })
        .collect();
    let input = PlanInput::parse(&b.name, &b.organiser, &b.starts_on, &b.ends_on, &phases)?;
    let region = p.user().region_id;
    let plan = state
        .db
        .write(move |c| db::create_plan(c, &actor, region, &input))
        .await?;
    Ok((StatusCode::CREATED, Json(PlanDto::from(&plan))))
}

/// One row of the decomposition as the sheet has it (序号 · 工作任务 · 具体措施 · 牵头单位 ·
/// 责任单位 · 完成时限 · 目标 · 备注); cells as text, units by name, several separated by 、.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct SheetRowBody {
    /// `一、` heads an area; a number a task.
    seq: String,
    /// Starts a task (with its first measure if `measure` is given too).
    task: String,
    /// Another measure of the task above when `task` is empty.
    measure: String,
    lead_units: String,
    co_units: String,
    /// A day (`2027-03-31`, `2027年3月底前`) or a recurrence (`每季度`, `每月`).
    due: String,
    /// `≥4场`, `100%`.
    target: String,
    notes: String,
}

#[derive(Deserialize, ToSchema)]
pub struct TasksBody {
    /// The plan's version the caller read.
    version: i32,
    tasks: Vec<SheetRowBody>,
}

/// Where a sheet's problem lies in the request: `tasks[i].field` (the row's index in `tasks`).
fn in_rows(problems: &[(usize, FieldError)]) -> AppError {
    AppError::Invalid(FieldErrors(
        problems
            .iter()
            .map(|(row, e)| {
                let field = if e.field == "remarks" {
                    "notes"
                } else {
                    e.field.as_str()
                };
                let at = match row.checked_sub(1) {
                    Some(i) => format!("tasks[{i}].{field}"),
                    None => field.to_string(),
                };
                e.clone().on(at)
            })
            .collect(),
    ))
}

/// Replace a draft's whole decomposition, checked whole as an imported sheet is: every
/// problem is named against its row (`tasks[i].lead_units`) and nothing changes.
#[utoipa::path(put, path = "/api/v1/plans/{id}/tasks", params(("id" = i64, Path)), request_body = TasksBody,
    responses((status = 200, body = PlanDetail), (status = 404, body = crate::web::api::ErrorBody),
              (status = 409, body = crate::web::api::ErrorBody),
              (status = 422, description = "a row's problem (`tasks[i].field`), a plan no longer a draft", body = crate::web::api::ErrorBody)))]
pub async fn replace_tasks(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<TasksBody>,
) -> AppResult<Json<PlanDetail>> {
    let actor = p.require::<grants::ManageTasks>()?;
    let rows: Vec<(usize, SheetRow)> = b
        .tasks
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let row = SheetRow {
                seq: r.seq,
                task: r.task,
                measure: r.measure,
                lead_units: r.lead_units,
                co_units: r.co_units,
                due: r.due,
                target: r.target,
                notes: r.notes,
            };
            (i + 1, row)
        })
        .collect();
    let placed = place_sheet(&rows).map_err(|problems| in_rows(&problems))?;
    let version = b.version;
    let done = state
        .db
        .write(move |c| {
            Ok(match db::replace_tree(c, &actor, id, version, &placed)? {
                Ok(tree) => Ok((db::get_plan(c, actor.scope(), id)?, tree)),
                Err(problems) => Err(problems),
            })
        })
        .await?;
    let (plan, tree) = done.map_err(|problems| in_rows(&problems))?;
    Ok(Json(PlanDetail {
        plan: PlanDto::from(&plan),
        tasks: tree.nodes.iter().map(TaskDto::from).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct StatusBody {
    /// `active` (put in force, or again after closing) or `closed`.
    status: String,
    /// The plan's version the caller read.
    version: i32,
}

/// Put a plan in force (it must hand out at least one task), close it, or reopen it.
#[utoipa::path(post, path = "/api/v1/plans/{id}/status", params(("id" = i64, Path)), request_body = StatusBody,
    responses((status = 200, body = PlanDto), (status = 404, body = crate::web::api::ErrorBody),
              (status = 409, body = crate::web::api::ErrorBody),
              (status = 422, description = "a step not allowed from where it stands, nothing handed out", body = crate::web::api::ErrorBody)))]
pub async fn set_status(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<StatusBody>,
) -> AppResult<Json<PlanDto>> {
    let actor = p.require::<grants::ManageTasks>()?;
    let to = PlanStatus::parse(b.status.trim())
        .filter(|s| *s != PlanStatus::Draft)
        .ok_or_else(|| AppError::Invalid(FieldError::new("status", "err.choice").into()))?;
    let plan = state
        .db
        .write(move |c| db::set_status(c, &actor, id, b.version, to))
        .await?;
    Ok(Json(PlanDto::from(&plan)))
}

/// Copy a plan to next year: a draft with its phases and tasks, every day a year later.
#[utoipa::path(post, path = "/api/v1/plans/{id}/copy", params(("id" = i64, Path)),
    responses((status = 201, body = PlanDto), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn copy(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<PlanDto>)> {
    let actor = p.require::<grants::ManageTasks>()?;
    let plan = state
        .db
        .write(move |c| db::copy_plan(c, &actor, id))
        .await?;
    Ok((StatusCode::CREATED, Json(PlanDto::from(&plan))))
}

// ---- Inspections ----

#[derive(Serialize, ToSchema)]
pub struct InspectionDto {
    id: i64,
    /// `tour` (巡回督导) or `special` (专项督查).
    kind: String,
    title: String,
    team: String,
    #[schema(format = Date, value_type = String)]
    starts_on: chrono::NaiveDate,
    #[schema(format = Date, value_type = String)]
    ends_on: chrono::NaiveDate,
    notes: Option<String>,
    /// Its findings' rectification.
    figures: RectificationDto,
}

impl InspectionDto {
    fn new(i: inspections::Inspection, r: &Rectification) -> Self {
        Self {
            id: i.id,
            kind: i.kind,
            title: i.title,
            team: i.team,
            starts_on: i.starts_on,
            ends_on: i.ends_on,
            notes: i.notes,
            figures: RectificationDto::from(r),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UnitRef {
    unit_id: i64,
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct InspectionDetail {
    inspection: InspectionDto,
    /// The units it visited: a finding is for one of them.
    visited: Vec<UnitRef>,
    /// In the order they were recorded.
    findings: Vec<FindingDto>,
}

/// A plan's inspections, latest first, each with its findings' figures.
#[utoipa::path(get, path = "/api/v1/plans/{id}/inspections", params(("id" = i64, Path)),
    responses((status = 200, body = [InspectionDto]), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn inspections_of(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<InspectionDto>>> {
    let viewer = p.require::<grants::ViewTasks>()?;
    let list = state
        .db
        .read(move |c| {
            let plan = db::get_plan(c, viewer.scope(), id)?;
            inspections::list(c, &plan, shiliu_db::today())
        })
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|(i, r)| InspectionDto::new(i, &r))
            .collect(),
    ))
}

/// One inspection as the plan's readers see it.
fn inspection_now(
    c: &mut shiliu_db::DbConnection,
    plan: &Plan,
    id: i64,
) -> Result<InspectionDetail, shiliu_db::DbError> {
    let today = shiliu_db::today();
    let (i, visited, findings) = inspections::get(c, plan, id)?;
    let r = Rectification::count(findings.iter().map(|(f, _)| f.counted()), today);
    let findings = findings
        .into_iter()
        .map(|(finding, unit_name)| {
            let l = inspections::Listed {
                finding,
                unit_name,
                inspection_title: i.title.clone(),
                plan_name: plan.name.clone(),
            };
            FindingDto::new(&l, today)
        })
        .collect();
    Ok(InspectionDetail {
        inspection: InspectionDto::new(i, &r),
        visited: visited
            .into_iter()
            .map(|(unit_id, name)| UnitRef { unit_id, name })
            .collect(),
        findings,
    })
}

/// One inspection: the units it visited and its findings.
#[utoipa::path(get, path = "/api/v1/plans/{id}/inspections/{inspection}",
    params(("id" = i64, Path), ("inspection" = i64, Path)),
    responses((status = 200, body = InspectionDetail), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn inspection(
    State(state): State<AppState>,
    p: Principal,
    Path((id, inspection)): Path<(i64, i64)>,
) -> AppResult<Json<InspectionDetail>> {
    let viewer = p.require::<grants::ViewTasks>()?;
    let detail = state
        .db
        .read(move |c| {
            let plan = db::get_plan(c, viewer.scope(), id)?;
            inspection_now(c, &plan, inspection)
        })
        .await?;
    Ok(Json(detail))
}

#[derive(Deserialize, ToSchema)]
pub struct InspectionBody {
    title: String,
    /// `tour` (巡回督导) or `special` (专项督查).
    inspection_kind: String,
    /// 组长、成员 as written.
    team: String,
    #[schema(format = Date, value_type = String)]
    starts_on: String,
    #[schema(format = Date, value_type = String)]
    ends_on: String,
    #[serde(default)]
    remarks: String,
    /// The units visited: units of the plan's region.
    visited: Vec<i64>,
}

/// Record an inspection of a plan in force, with the units it visited.
#[utoipa::path(post, path = "/api/v1/plans/{id}/inspections", params(("id" = i64, Path)),
    request_body = InspectionBody,
    responses((status = 201, body = InspectionDetail), (status = 404, body = crate::web::api::ErrorBody),
              (status = 422, description = "a field missing or wrong, days outside the plan's, a unit not the region's, a plan in draft", body = crate::web::api::ErrorBody)))]
pub async fn create_inspection(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<InspectionBody>,
) -> AppResult<(StatusCode, Json<InspectionDetail>)> {
    use shiliu_domain::tasks::inspections::{InspectionFields, InspectionInput};
    let actor = p.require::<grants::ManageTasks>()?;
    let scope = actor.scope().clone();
    let plan = state.db.read(move |c| db::get_plan(c, &scope, id)).await?;
    let units: Vec<String> = b.visited.iter().map(ToString::to_string).collect();
    let input = InspectionInput::parse(
        InspectionFields {
            title: &b.title,
            kind: &b.inspection_kind,
            team: &b.team,
            starts_on: &b.starts_on,
            ends_on: &b.ends_on,
            notes: &b.remarks,
        },
        &units,
        (plan.starts_on, plan.ends_on),
    )?;
    let detail = state
        .db
        .write(move |c| {
            let i = inspections::create(c, &actor, id, &input)?;
            inspection_now(c, &plan, i.id)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

#[derive(Deserialize, ToSchema)]
pub struct FindingBody {
    /// One of the units the inspection visited.
    unit: i64,
    problem: String,
    /// What the unit must do.
    #[serde(default)]
    measures: String,
    /// The deadline, on or after the inspection's first day.
    #[schema(format = Date, value_type = String)]
    due: String,
}

/// Record a finding (a rectification item) of an inspection for a unit it visited.
#[utoipa::path(post, path = "/api/v1/plans/{id}/inspections/{inspection}/findings",
    params(("id" = i64, Path), ("inspection" = i64, Path)), request_body = FindingBody,
    responses((status = 201, body = FindingDto), (status = 404, body = crate::web::api::ErrorBody),
              (status = 422, description = "a unit not visited, no problem, a deadline before the inspection", body = crate::web::api::ErrorBody)))]
pub async fn add_finding(
    State(state): State<AppState>,
    p: Principal,
    Path((id, inspection)): Path<(i64, i64)>,
    Json(b): Json<FindingBody>,
) -> AppResult<(StatusCode, Json<FindingDto>)> {
    use shiliu_domain::tasks::inspections::FindingInput;
    let actor = p.require::<grants::ManageTasks>()?;
    let dto = state
        .db
        .write(move |c| {
            let plan = db::get_plan(c, actor.scope(), id)?;
            let (i, visited, _) = inspections::get(c, &plan, inspection)?;
            let visited: Vec<i64> = visited.into_iter().map(|(u, _)| u).collect();
            let input = FindingInput::parse(
                &b.unit.to_string(),
                &b.problem,
                &b.measures,
                &b.due,
                &visited,
                i.starts_on,
            )
            .map_err(shiliu_db::DbError::Invalid)?;
            let f = inspections::add_finding(c, &actor, (id, inspection), &input)?;
            finding_now(c, &plan, f.id)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(dto)))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post, put};
    crate::Routes::new(file!())
        .route("/api/v1/plans", get(list).post(create))
        .route("/api/v1/plans/{id}/tasks", put(replace_tasks))
        .route("/api/v1/plans/{id}/status", post(set_status))
        .route("/api/v1/plans/{id}/copy", post(copy))
        .route(
            "/api/v1/plans/{id}/inspections",
            get(inspections_of).post(create_inspection),
        )
        .route(
            "/api/v1/plans/{id}/inspections/{inspection}",
            get(inspection),
        )
        .route(
            "/api/v1/plans/{id}/inspections/{inspection}/findings",
            post(add_finding),
        )
        .route("/api/v1/plans/{id}", get(self::get))
        .route(
            "/api/v1/plans/{id}/tasks/{item}/reports",
            get(ledger_of).post(submit),
        )
        .route(
            "/api/v1/plans/{id}/tasks/{item}/reports/{report}/review",
            post(review),
        )
        .route("/api/v1/tasks", get(assigned))
        .route("/api/v1/plans/{id}/findings", get(findings))
        .route(
            "/api/v1/plans/{id}/instructions",
            get(instructions).post(create_instruction),
        )
        .route(
            "/api/v1/plans/{id}/findings/{finding}/report",
            post(report_finding),
        )
        .route(
            "/api/v1/plans/{id}/findings/{finding}/verify",
            post(verify_finding),
        )
}
