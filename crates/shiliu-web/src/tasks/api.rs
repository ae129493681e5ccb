//! The JSON API of work plans (see `pages` for the pages and `shiliu_db::tasks` for the rules
//! and who may see what): the plans of the caller's scope, one plan with its task tree, and
//! the tasks handed to the caller's unit.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use shiliu_db::scope::grants;
use shiliu_db::tasks::{self as db, AssignedTask, Node, Plan};
use utoipa::{OpenApi, ToSchema};

use super::pages::seen;
use crate::web::error::AppResult;
use crate::web::{AppState, Principal};

#[derive(OpenApi)]
#[openapi(
    paths(list, get, assigned),
    components(schemas(PlanDto, PhaseDto, PlanDetail, TaskDto, HandedDto, AssignedDto))
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

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!())
        .route("/api/v1/plans", get(list))
        .route("/api/v1/plans/{id}", get(self::get))
        .route("/api/v1/tasks", get(assigned))
}
