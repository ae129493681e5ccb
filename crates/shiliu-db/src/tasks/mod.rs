//! Work plans and their task decomposition (实施方案 · 任务分解表). The rules — what a plan and a
//! sheet may hold, how deadlines read — are `shiliu_domain::tasks`'; here they are stored.
//!
//! A plan belongs to its organiser's region: staff with `ViewTasks` whose scope covers it read
//! it, those with `ManageTasks` draw it up (every function here takes their scope or asks for
//! the capability by type). Its tasks are handed to units of that region; a unit's reporter
//! (`ReportTasks`) reaches a plan in force only through the tasks handed to their unit
//! ([`assigned`], [`plan_for_unit`]). The tree is replaced whole from a sheet while the plan
//! is a draft; putting it in force needs something to report on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub mod inspections;
pub mod instructions;
pub mod ledger;
pub mod reminders;
pub mod tallies;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::FieldError;
use shiliu_domain::tasks::{Phase, PlacedTask, PlanInput, PlanStatus, Recurrence, TaskLevel};

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{config_stamp, task_assignments, task_items, task_plans, users};
use crate::scope::{Actor, Can, Scope, grants};
use crate::versioned;
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = task_plans)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Plan {
    pub id: i64,
    pub region_id: i64,
    pub region_path: String,
    pub name: String,
    pub organiser: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub phases: String,
    pub status: String,
    pub copied_from: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Plan {
    pub fn status(&self) -> PlanStatus {
        PlanStatus::parse(&self.status).unwrap_or(PlanStatus::Draft)
    }

    pub fn phases(&self) -> Vec<Phase> {
        serde_json::from_str(&self.phases).unwrap_or_default()
    }

    /// The phase a day falls in, if any.
    pub fn phase_on(&self, day: NaiveDate) -> Option<Phase> {
        self.phases()
            .into_iter()
            .find(|p| p.starts_on <= day && day <= p.ends_on)
    }

    /// The plan's header as its form holds it.
    pub fn input(&self) -> PlanInput {
        PlanInput {
            name: self.name.clone(),
            organiser: self.organiser.clone(),
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            phases: self.phases(),
        }
    }

    /// The plan's region as a scope: where the units its tasks are handed to come from.
    pub(crate) fn region(&self) -> Scope {
        Scope::of_paths(vec![self.region_path.clone()])
    }

    fn check_draft(&self) -> Result<(), DbError> {
        if self.status() == PlanStatus::Draft {
            Ok(())
        } else {
            Err(DbError::invalid("status", "err.tasks.not_draft"))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = task_items)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Item {
    pub id: i64,
    pub plan_id: i64,
    pub parent_id: Option<i64>,
    pub level: String,
    pub seq: String,
    pub title: String,
    pub deliverables: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub recurrence: String,
    pub target_value: Option<i64>,
    pub target_unit: Option<String>,
    pub notes: Option<String>,
    pub sort: i32,
}

impl Item {
    pub fn level(&self) -> TaskLevel {
        TaskLevel::parse(&self.level).unwrap_or(TaskLevel::Task)
    }

    pub fn recurrence(&self) -> Recurrence {
        Recurrence::parse(&self.recurrence).unwrap_or(Recurrence::Once)
    }

    pub fn target(&self) -> Option<shiliu_domain::tasks::Target> {
        self.target_value.map(|value| shiliu_domain::tasks::Target {
            value,
            unit: self.target_unit.clone().unwrap_or_default(),
        })
    }

    /// How its deadline reads: the day, or the rhythm.
    pub fn due_text(&self) -> String {
        shiliu_domain::tasks::due_text(self.due_on, self.recurrence())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = task_assignments)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Assignment {
    pub item_id: i64,
    pub unit_id: i64,
    pub plan_id: i64,
    pub lead: bool,
    pub sort: i32,
}

/// A unit a task is handed to, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handed {
    pub unit_id: i64,
    pub name: String,
    pub lead: bool,
}

/// One node of a plan's tree, with how deep it sits (areas 0) and the units it is handed to.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub item: Item,
    pub depth: usize,
    pub units: Vec<Handed>,
}

impl Node {
    pub fn leads(&self) -> impl Iterator<Item = &Handed> {
        self.units.iter().filter(|u| u.lead)
    }

    pub fn others(&self) -> impl Iterator<Item = &Handed> {
        self.units.iter().filter(|u| !u.lead)
    }

    /// Whether units report on it: a leaf that is handed to some.
    pub fn reported(&self) -> bool {
        !self.units.is_empty()
    }
}

/// A plan's tree in reading order: each node before its children, siblings by `sort`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    fn build(mut items: Vec<Item>, mut handed: HashMap<i64, Vec<Handed>>) -> Self {
        items.sort_by_key(|i| (i.sort, i.id));
        let mut nodes = Vec::with_capacity(items.len());
        let mut stack: Vec<(Option<i64>, usize)> = vec![(None, 0)];
        // Depth-first from the roots, without recursion (a sheet's tree is three levels).
        let mut children: HashMap<Option<i64>, Vec<Item>> = HashMap::new();
        for i in items {
            children.entry(i.parent_id).or_default().push(i);
        }
        for list in children.values_mut() {
            list.reverse();
        }
        while let Some((parent, depth)) = stack.pop() {
            let Some(next) = children.get_mut(&parent).and_then(Vec::pop) else {
                continue;
            };
            stack.push((parent, depth));
            let id = next.id;
            nodes.push(Node {
                units: handed.remove(&id).unwrap_or_default(),
                item: next,
                depth,
            });
            stack.push((Some(id), depth + 1));
        }
        Tree { nodes }
    }

    /// The nodes units report on.
    pub fn reported(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.reported())
    }
}

fn phases_json(p: &[Phase]) -> String {
    serde_json::to_string(p).unwrap_or_else(|_| "[]".into())
}

/// A new plan (a draft) of a region in the caller's scope; audited.
pub fn create_plan(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    region_id: i64,
    input: &PlanInput,
) -> Result<Plan, DbError> {
    let region = crate::org::get_region(conn, &actor.scope, region_id)
        .map_err(|_| DbError::invalid("region_id", "err.region.unknown"))?;
    insert_plan(conn, actor, &region, input, None)
}

fn insert_plan(
    conn: &mut DbConnection,
    actor: &Actor,
    region: &crate::org::Region,
    input: &PlanInput,
    copied_from: Option<i64>,
) -> Result<Plan, DbError> {
    let at = now();
    let p = Plan {
        id: new_id(),
        region_id: region.id,
        region_path: region.path.clone(),
        name: input.name.clone(),
        organiser: input.organiser.clone(),
        starts_on: input.starts_on,
        ends_on: input.ends_on,
        phases: phases_json(&input.phases),
        status: PlanStatus::Draft.as_str().into(),
        copied_from,
        created_by: actor.user_id,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    diesel::insert_into(task_plans::table)
        .values(&p)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("plan.create", "plan", p.id)
            .region(p.region_id)
            .after(&p),
    )?;
    Ok(p)
}

/// The plans of the caller's scope, newest first.
pub fn plans(conn: &mut DbConnection, scope: &Scope) -> Result<Vec<Plan>, DbError> {
    Ok(task_plans::table
        .filter(scope.path_filter(task_plans::region_path))
        .order((task_plans::starts_on.desc(), task_plans::id.desc()))
        .select(Plan::as_select())
        .load(conn)?)
}

/// One plan of the caller's scope; outside it, `NotFound`.
pub fn get_plan(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Plan, DbError> {
    let p: Plan = task_plans::table
        .filter(task_plans::id.eq(id))
        .select(Plan::as_select())
        .first(conn)?;
    scope.admit(&p.region_path.clone(), p)
}

/// Bump a plan's version before a change to it or its tree (two organisers editing at once
/// cannot overwrite each other silently).
fn touch(conn: &mut DbConnection, p: &Plan, version: i32) -> Result<(), DbError> {
    let n = diesel::update(
        task_plans::table
            .filter(task_plans::id.eq(p.id))
            .filter(task_plans::version.eq(version)),
    )
    .set((
        task_plans::updated_at.eq(now()),
        task_plans::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::written(n)
}

/// Change a plan's header and phases; audited with before and after. Tasks already due after
/// the new end are named.
pub fn update_plan(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    id: i64,
    version: i32,
    input: &PlanInput,
) -> Result<Plan, DbError> {
    let before = get_plan(conn, &actor.scope, id)?;
    versioned::expect(version, before.version)?;
    let late = task_items::table
        .filter(task_items::plan_id.eq(id))
        .filter(task_items::due_on.gt(input.ends_on))
        .count()
        .get_result::<i64>(conn)?;
    if late > 0 {
        return Err(DbError::Invalid(
            FieldError::new("ends_on", "err.tasks.tasks_after_end")
                .arg("n", late)
                .into(),
        ));
    }
    let n = diesel::update(
        task_plans::table
            .filter(task_plans::id.eq(id))
            .filter(task_plans::version.eq(version)),
    )
    .set((
        task_plans::name.eq(&input.name),
        task_plans::organiser.eq(&input.organiser),
        task_plans::starts_on.eq(input.starts_on),
        task_plans::ends_on.eq(input.ends_on),
        task_plans::phases.eq(phases_json(&input.phases)),
        task_plans::updated_at.eq(now()),
        task_plans::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    let scope = actor.scope.clone();
    versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| get_plan(c, &scope, id),
        |p| Event::new("plan.update", "plan", id).region(p.region_id),
    )
}

/// Put a plan in force, close it, or open it again: a draft goes in force once some task is
/// handed to a unit; a plan in force closes; a closed plan may be put back in force.
pub fn set_status(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    id: i64,
    version: i32,
    to: PlanStatus,
) -> Result<Plan, DbError> {
    let before = get_plan(conn, &actor.scope, id)?;
    versioned::expect(version, before.version)?;
    let allowed = matches!(
        (before.status(), to),
        (PlanStatus::Draft | PlanStatus::Closed, PlanStatus::Active)
            | (PlanStatus::Active, PlanStatus::Closed)
    );
    if !allowed {
        return Err(DbError::invalid("status", "err.tasks.status_move"));
    }
    if before.status() == PlanStatus::Draft {
        let handed = task_assignments::table
            .filter(task_assignments::plan_id.eq(id))
            .count()
            .get_result::<i64>(conn)?;
        if handed == 0 {
            return Err(DbError::invalid("status", "err.tasks.nothing_handed"));
        }
    }
    let n = diesel::update(
        task_plans::table
            .filter(task_plans::id.eq(id))
            .filter(task_plans::version.eq(version)),
    )
    .set((
        task_plans::status.eq(to.as_str()),
        task_plans::updated_at.eq(now()),
        task_plans::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    let scope = actor.scope.clone();
    versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| get_plan(c, &scope, id),
        |p| Event::new("plan.status", "plan", id).region(p.region_id),
    )
}

/// A plan's tasks and who they are handed to, as their rows hold them: (item, unit, lead,
/// sort) for each assignment, in the order of the sheet.
#[derive(Debug)]
struct Shape {
    items: Vec<Item>,
    handed: Vec<(i64, i64, bool, i32)>,
}

/// The shapes of plans out of draft, which never change again (only a draft's tree is
/// replaced), by database, plan and the plan's version: a province's plan is thousands of
/// rows, read by its board and its page on every request. The version is in the key because a
/// shape may be read in a transaction that puts the plan in force and is then rolled back:
/// the plan is a draft again, and whatever it becomes is in force at a later version. Unit
/// names are read fresh each time (a unit may be renamed).
static FROZEN: Mutex<Frozen> = Mutex::new(Vec::new());
const FROZEN_KEPT: usize = 32;

/// Shapes kept, by (database, plan, version), the oldest first.
type Frozen = Vec<((i64, i64, i32), Arc<Shape>)>;

fn frozen() -> MutexGuard<'static, Frozen> {
    FROZEN.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shape {
    fn load(conn: &mut DbConnection, plan: &Plan) -> Result<Self, DbError> {
        let items: Vec<Item> = task_items::table
            .filter(task_items::plan_id.eq(plan.id))
            .select(Item::as_select())
            .load(conn)?;
        let mut handed: Vec<(i64, i64, bool, i32)> = task_assignments::table
            .filter(task_assignments::plan_id.eq(plan.id))
            .select((
                task_assignments::item_id,
                task_assignments::unit_id,
                task_assignments::lead,
                task_assignments::sort,
            ))
            .load(conn)?;
        handed.sort_unstable_by_key(|&(item, _, _, sort)| (item, sort));
        Ok(Self { items, handed })
    }

    /// The plan's shape: kept once it is out of draft.
    fn of(conn: &mut DbConnection, plan: &Plan) -> Result<Arc<Self>, DbError> {
        if plan.status() == PlanStatus::Draft {
            return Ok(Arc::new(Self::load(conn, plan)?));
        }
        let database: i64 = config_stamp::table
            .select(config_stamp::database_id)
            .first(conn)?;
        let key = (database, plan.id, plan.version);
        if let Some((_, hit)) = frozen().iter().find(|(k, _)| *k == key) {
            return Ok(hit.clone());
        }
        let fresh = Arc::new(Self::load(conn, plan)?);
        let mut kept = frozen();
        kept.retain(|((d, p, _), _)| (*d, *p) != (database, plan.id));
        if kept.len() >= FROZEN_KEPT {
            kept.remove(0);
        }
        kept.push((key, fresh.clone()));
        Ok(fresh)
    }
}

/// A plan's tree with the units of each node, through the plan as the caller was given it.
pub fn tree(conn: &mut DbConnection, plan: &Plan) -> Result<Tree, DbError> {
    let shape = Shape::of(conn, plan)?;
    // Each unit's name once: a province's plan hands 5,000 tasks among a few hundred units.
    let mut ids: Vec<i64> = shape.handed.iter().map(|r| r.1).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = crate::org::unit_names(conn, &ids)?;
    let mut handed: HashMap<i64, Vec<Handed>> = HashMap::new();
    for &(item, unit_id, lead, _) in &shape.handed {
        handed.entry(item).or_default().push(Handed {
            unit_id,
            name: names.get(&unit_id).cloned().unwrap_or_default(),
            lead,
        });
    }
    Ok(Tree::build(shape.items.clone(), handed))
}

/// Problems found in a sheet, by row (row 0: the sheet as a whole).
pub type Problems = Vec<(usize, FieldError)>;

/// Replace a draft's tree with a checked sheet's. Units are found by name among the active
/// units of the plan's region, and deadlines must fall within the plan; any row that fails
/// is named and nothing changes. Audited with the counts.
pub fn replace_tree(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    id: i64,
    version: i32,
    placed: &[PlacedTask],
) -> Result<Result<Tree, Problems>, DbError> {
    let plan = get_plan(conn, &actor.scope, id)?;
    versioned::expect(version, plan.version)?;
    plan.check_draft()?;
    let by_name = unit_names(conn, &plan.region())?;
    let mut problems: Problems = Vec::new();
    let mut resolved: Vec<Vec<(i64, bool)>> = Vec::with_capacity(placed.len());
    for t in placed {
        let mut found: Vec<(i64, bool)> = Vec::new();
        for (field, names, lead) in [
            ("lead_units", &t.lead_units, true),
            ("co_units", &t.co_units, false),
        ] {
            for name in names {
                match by_name.get(name.as_str()).map(Vec::as_slice) {
                    Some([id]) if !found.iter().any(|(u, _)| u == id) => found.push((*id, lead)),
                    // Named twice on one row (lead and co-operating): the first says.
                    Some([_]) => {}
                    Some([]) | None => problems.push((
                        t.row,
                        FieldError::new(field, "err.tasks.unit_unknown").arg("name", name),
                    )),
                    Some(_) => problems.push((
                        t.row,
                        FieldError::new(field, "err.tasks.unit_ambiguous").arg("name", name),
                    )),
                }
            }
        }
        if let Some(d) = t.due_on
            && (d < plan.starts_on || d > plan.ends_on)
        {
            problems.push((
                t.row,
                FieldError::new("due", "err.tasks.due_outside_plan")
                    .arg("from", plan.starts_on)
                    .arg("to", plan.ends_on),
            ));
        }
        resolved.push(found);
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    touch(conn, &plan, version)?;
    clear_tree(conn, id)?;
    let ids: Vec<i64> = placed.iter().map(|_| new_id()).collect();
    let items: Vec<Item> = placed
        .iter()
        .zip(&ids)
        .zip(0..)
        .map(|((t, item_id), sort)| Item {
            id: *item_id,
            plan_id: id,
            parent_id: t.parent.map(|p| ids[p]),
            level: t.level.as_str().into(),
            seq: t.seq.clone(),
            title: t.title.clone(),
            deliverables: None,
            due_on: t.due_on,
            recurrence: t.recurrence.as_str().into(),
            target_value: t.target.as_ref().map(|x| x.value),
            target_unit: t.target.as_ref().map(|x| x.unit.clone()),
            notes: t.notes.clone(),
            sort,
        })
        .collect();
    let assignments: Vec<Assignment> = resolved
        .iter()
        .zip(&ids)
        .flat_map(|(units, item_id)| {
            units
                .iter()
                .zip(0..)
                .map(|((unit_id, lead), sort)| Assignment {
                    item_id: *item_id,
                    unit_id: *unit_id,
                    plan_id: id,
                    lead: *lead,
                    sort,
                })
        })
        .collect();
    insert_tree(conn, &items, &assignments)?;
    audit::record(
        conn,
        actor,
        Event::new("plan.tasks_import", "plan", id)
            .region(plan.region_id)
            .detail(serde_json::json!({
                "items": items.len(),
                "assignments": assignments.len(),
            })),
    )?;
    Ok(Ok(tree(conn, &plan)?))
}

/// The active units of the plan's region (id, name), by name: those its tasks may be handed
/// to and its inspections may visit, by region and then name.
pub fn region_units(conn: &mut DbConnection, plan: &Plan) -> Result<Vec<(i64, String)>, DbError> {
    Ok(crate::org::unit_choices(conn, &plan.region())?
        .into_iter()
        .map(|(_, id, name)| (id, name))
        .collect())
}

/// Active units of a region by name (more than one id: the name is ambiguous there).
fn unit_names(
    conn: &mut DbConnection,
    region: &Scope,
) -> Result<HashMap<String, Vec<i64>>, DbError> {
    let mut by_name: HashMap<String, Vec<i64>> = HashMap::new();
    for (_, id, name) in crate::org::unit_choices(conn, region)? {
        by_name.entry(name).or_default().push(id);
    }
    Ok(by_name)
}

fn clear_tree(conn: &mut DbConnection, plan_id: i64) -> Result<(), DbError> {
    diesel::delete(task_assignments::table.filter(task_assignments::plan_id.eq(plan_id)))
        .execute(conn)?;
    // A new tree's tasks are new: what the old ones counted goes with them.
    diesel::delete(
        crate::schema::task_item_tallies::table
            .filter(crate::schema::task_item_tallies::plan_id.eq(plan_id)),
    )
    .execute(conn)?;
    // Children before parents: the deepest level first.
    for level in [TaskLevel::Measure, TaskLevel::Task, TaskLevel::Area] {
        diesel::delete(
            task_items::table
                .filter(task_items::plan_id.eq(plan_id))
                .filter(task_items::level.eq(level.as_str())),
        )
        .execute(conn)?;
    }
    Ok(())
}

fn insert_tree(
    conn: &mut DbConnection,
    items: &[Item],
    assignments: &[Assignment],
) -> Result<(), DbError> {
    // Thirteen values an item: SQLite takes at most 32,766 in one statement.
    for chunk in items.chunks(1_000) {
        crate::on_engine!(conn, |c| diesel::insert_into(task_items::table)
            .values(chunk)
            .execute(c))?;
    }
    for chunk in assignments.chunks(5_000) {
        crate::on_engine!(conn, |c| diesel::insert_into(task_assignments::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Copy a plan as next year's draft: header and phases a year on, the tree with its units,
/// deadlines a year on. Audited on the new plan.
pub fn copy_plan(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    id: i64,
) -> Result<Plan, DbError> {
    let from = get_plan(conn, &actor.scope, id)?;
    let region = crate::org::get_region(conn, &actor.scope, from.region_id)?;
    let copy = insert_plan(conn, actor, &region, &from.input().next_year(), Some(id))?;
    let tree = tree(conn, &from)?;
    let ids: HashMap<i64, i64> = tree.nodes.iter().map(|n| (n.item.id, new_id())).collect();
    let items: Vec<Item> = tree
        .nodes
        .iter()
        .map(|n| Item {
            id: ids[&n.item.id],
            plan_id: copy.id,
            parent_id: n.item.parent_id.map(|p| ids[&p]),
            due_on: n.item.due_on.map(shiliu_domain::tasks::year_on),
            ..n.item.clone()
        })
        .collect();
    let assignments: Vec<Assignment> = tree
        .nodes
        .iter()
        .flat_map(|n| {
            n.units.iter().zip(0..).map(|(u, sort)| Assignment {
                item_id: ids[&n.item.id],
                unit_id: u.unit_id,
                plan_id: copy.id,
                lead: u.lead,
                sort,
            })
        })
        .collect();
    insert_tree(conn, &items, &assignments)?;
    audit::record(
        conn,
        actor,
        Event::new("plan.copy", "plan", copy.id)
            .region(copy.region_id)
            .detail(serde_json::json!({ "from": id, "items": items.len() })),
    )?;
    Ok(copy)
}

/// The unit a signed-in user reports for.
pub(crate) fn unit_of(conn: &mut DbConnection, actor: &Actor) -> Result<Option<i64>, DbError> {
    let Some(user) = actor.user_id else {
        return Ok(None);
    };
    Ok(users::table
        .filter(users::id.eq(user))
        .select(users::unit_id)
        .first(conn)
        .optional()?
        .flatten())
}

/// The unit the reporter reports for, if their account names one.
pub fn own_unit(
    conn: &mut DbConnection,
    actor: &Can<grants::ReportTasks>,
) -> Result<Option<i64>, DbError> {
    unit_of(conn, actor)
}

/// A task handed to the reporter's unit, in a plan in force.
#[derive(Debug, Clone, Serialize)]
pub struct AssignedTask {
    pub plan_id: i64,
    pub plan_name: String,
    pub item: Item,
    /// The task the measure belongs to (its title), for a measure.
    pub task_title: Option<String>,
    pub lead: bool,
}

/// What the reporter's unit has been handed in the plans in force, soonest due first (those
/// with a rhythm after).
pub fn assigned(
    conn: &mut DbConnection,
    actor: &Can<grants::ReportTasks>,
) -> Result<Vec<AssignedTask>, DbError> {
    let Some(unit) = unit_of(conn, actor)? else {
        return Ok(Vec::new());
    };
    let rows: Vec<(Item, bool, String)> = task_assignments::table
        .inner_join(task_items::table.inner_join(task_plans::table))
        .filter(task_assignments::unit_id.eq(unit))
        .filter(task_plans::status.eq(PlanStatus::Active.as_str()))
        .select((Item::as_select(), task_assignments::lead, task_plans::name))
        .load(conn)?;
    let parents: Vec<i64> = rows.iter().filter_map(|(i, ..)| i.parent_id).collect();
    let titles: HashMap<i64, String> = task_items::table
        .filter(task_items::id.eq_any(parents))
        .filter(task_items::level.eq(TaskLevel::Task.as_str()))
        .select((task_items::id, task_items::title))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let mut out: Vec<AssignedTask> = rows
        .into_iter()
        .map(|(item, lead, plan_name)| AssignedTask {
            plan_id: item.plan_id,
            plan_name,
            task_title: item.parent_id.and_then(|p| titles.get(&p).cloned()),
            item,
            lead,
        })
        .collect();
    out.sort_by_key(|t| (t.item.due_on.is_none(), t.item.due_on, t.item.sort));
    Ok(out)
}

/// How a caller reaches a plan: through a scope that covers its region (`viewer`), or else
/// through the tasks it hands their unit (`reporter`); with the unit when only the latter.
/// Neither: `NotFound`, as for a plan that does not exist.
pub fn reach(
    conn: &mut DbConnection,
    viewer: Option<&Can<grants::ViewTasks>>,
    reporter: Option<&Can<grants::ReportTasks>>,
    id: i64,
) -> Result<(Plan, Option<i64>), DbError> {
    if let Some(v) = viewer {
        match get_plan(conn, &v.scope, id) {
            Ok(plan) => return Ok((plan, None)),
            Err(DbError::NotFound) if reporter.is_some() => {}
            Err(e) => return Err(e),
        }
    }
    let r = reporter.ok_or(DbError::NotFound)?;
    plan_for_unit(conn, r, id).map(|(plan, unit)| (plan, Some(unit)))
}

/// A plan in force as the reporter's unit sees it: `NotFound` unless some task of it is
/// handed to their unit or an inspection found a problem there (a draft is the organiser's own).
pub fn plan_for_unit(
    conn: &mut DbConnection,
    actor: &Can<grants::ReportTasks>,
    id: i64,
) -> Result<(Plan, i64), DbError> {
    let unit = unit_of(conn, actor)?.ok_or(DbError::NotFound)?;
    let plan: Plan = task_plans::table
        .filter(task_plans::id.eq(id))
        .filter(task_plans::status.ne(PlanStatus::Draft.as_str()))
        .select(Plan::as_select())
        .first(conn)?;
    let handed = task_assignments::table
        .filter(task_assignments::plan_id.eq(id))
        .filter(task_assignments::unit_id.eq(unit))
        .count()
        .get_result::<i64>(conn)?;
    if handed == 0 && !inspections::has_findings(conn, id, unit)? {
        return Err(DbError::NotFound);
    }
    Ok((plan, unit))
}

impl Tree {
    /// Only the nodes handed to `unit`, with the areas and tasks above them (what a unit's
    /// reporter sees of a plan).
    #[must_use]
    pub fn of_unit(self, unit: i64) -> Tree {
        let mine: Vec<bool> = self
            .nodes
            .iter()
            .map(|n| n.units.iter().any(|u| u.unit_id == unit))
            .collect();
        let mut keep: std::collections::HashSet<i64> = std::collections::HashSet::new();
        let parent: HashMap<i64, Option<i64>> = self
            .nodes
            .iter()
            .map(|n| (n.item.id, n.item.parent_id))
            .collect();
        for (n, m) in self.nodes.iter().zip(&mine) {
            if *m {
                let mut at = Some(n.item.id);
                while let Some(id) = at {
                    if !keep.insert(id) {
                        break;
                    }
                    at = parent.get(&id).copied().flatten();
                }
            }
        }
        Tree {
            nodes: self
                .nodes
                .into_iter()
                .filter(|n| keep.contains(&n.item.id))
                .collect(),
        }
    }
}
