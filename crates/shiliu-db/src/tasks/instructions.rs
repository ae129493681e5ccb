//! What was said and what is done about it (“怎么说” · “怎么做”): a plan's instructions, each
//! linked to the tasks that carry it out, and read both ways — an instruction with the ledger
//! reports on its tasks (and on the measures under them), a task with the instructions it
//! carries out (its own and its parents'). The organiser (`ManageTasks`) records and relinks
//! them once the plan's tree is fixed (in force); its readers read them; a unit sees those of
//! its own tasks on the task's page.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::tasks::PlanStatus;
use shiliu_domain::tasks::instructions::{InstructionInput, InstructionSource};

use super::ledger::Report;
use super::{Item, Plan, Tree, get_plan};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{task_instruction_items, task_instructions, task_items, task_reports, units};
use crate::scope::{Can, grants};
use crate::versioned;
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = task_instructions)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Instruction {
    pub id: i64,
    pub plan_id: i64,
    pub source: String,
    pub title: String,
    pub reference: Option<String>,
    pub issuer: Option<String>,
    pub said_on: NaiveDate,
    pub body: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub version: i32,
}

impl Instruction {
    pub fn source(&self) -> InstructionSource {
        InstructionSource::parse(&self.source).unwrap_or(InstructionSource::Speech)
    }
}

/// The plan's items among `ids`, or `items` named as not one of the choices.
fn the_plans_items(conn: &mut DbConnection, plan: &Plan, ids: &[i64]) -> Result<(), DbError> {
    let found: i64 = task_items::table
        .filter(task_items::plan_id.eq(plan.id))
        .filter(task_items::id.eq_any(ids))
        .count()
        .get_result(conn)?;
    if usize::try_from(found).ok() != Some(ids.len()) {
        return Err(DbError::invalid("items", "err.choice"));
    }
    Ok(())
}

fn link(conn: &mut DbConnection, plan: &Plan, id: i64, items: &[i64]) -> Result<(), DbError> {
    diesel::delete(
        task_instruction_items::table.filter(task_instruction_items::instruction_id.eq(id)),
    )
    .execute(conn)?;
    for item in items {
        diesel::insert_into(task_instruction_items::table)
            .values((
                task_instruction_items::instruction_id.eq(id),
                task_instruction_items::item_id.eq(item),
                task_instruction_items::plan_id.eq(plan.id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The plan as its organiser reaches it to record instructions: in force or closed (a draft's
/// tree may still be replaced whole).
fn organised(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    plan_id: i64,
) -> Result<Plan, DbError> {
    let plan = get_plan(conn, actor.scope(), plan_id)?;
    if plan.status() == PlanStatus::Draft {
        return Err(DbError::invalid("status", "err.tasks.instruct_draft"));
    }
    Ok(plan)
}

/// Record an instruction of the plan, linked to the tasks that carry it out. Audited.
pub fn create(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    plan_id: i64,
    input: &InstructionInput,
) -> Result<Instruction, DbError> {
    let plan = organised(conn, actor, plan_id)?;
    the_plans_items(conn, &plan, &input.items)?;
    let i = Instruction {
        id: new_id(),
        plan_id,
        source: input.source.as_str().into(),
        title: input.title.clone(),
        reference: input.reference.clone(),
        issuer: input.issuer.clone(),
        said_on: input.said_on,
        body: input.body.clone(),
        created_by: actor.user_id,
        created_at: now(),
        version: 1,
    };
    diesel::insert_into(task_instructions::table)
        .values(&i)
        .execute(conn)?;
    link(conn, &plan, i.id, &input.items)?;
    audit::record(
        conn,
        actor,
        Event::new("instruction.create", "instruction", i.id)
            .region(plan.region_id)
            .after(&i)
            .detail(serde_json::json!({ "items": input.items })),
    )?;
    Ok(i)
}

/// Link an instruction to another set of the plan's tasks, as of the version the organiser
/// saw. Audited with the tasks before and after.
pub fn relink(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    (plan_id, id): (i64, i64),
    version: i32,
    items: &[i64],
) -> Result<Instruction, DbError> {
    let plan = organised(conn, actor, plan_id)?;
    let (before, linked) = get(conn, &plan, id)?;
    versioned::expect(version, before.version)?;
    the_plans_items(conn, &plan, items)?;
    let n = diesel::update(
        task_instructions::table
            .filter(task_instructions::id.eq(id))
            .filter(task_instructions::version.eq(version)),
    )
    .set(task_instructions::version.eq(crate::versioned::next(version)?))
    .execute(conn)?;
    versioned::written(n)?;
    link(conn, &plan, id, items)?;
    audit::record(
        conn,
        actor,
        Event::new("instruction.relink", "instruction", id)
            .region(plan.region_id)
            .detail(serde_json::json!({
                "before": linked.iter().map(|i| i.id).collect::<Vec<_>>(),
                "after": items,
            })),
    )?;
    Ok(get(conn, &plan, id)?.0)
}

/// A plan's instructions, latest first, each with the ids of the tasks linked to it.
pub fn list(conn: &mut DbConnection, plan: &Plan) -> Result<Vec<(Instruction, Vec<i64>)>, DbError> {
    let all: Vec<Instruction> = task_instructions::table
        .filter(task_instructions::plan_id.eq(plan.id))
        .order((
            task_instructions::said_on.desc(),
            task_instructions::id.desc(),
        ))
        .select(Instruction::as_select())
        .load(conn)?;
    let mut links: HashMap<i64, Vec<i64>> = HashMap::new();
    for (i, item) in task_instruction_items::table
        .filter(task_instruction_items::plan_id.eq(plan.id))
        .select((
            task_instruction_items::instruction_id,
            task_instruction_items::item_id,
        ))
        .load::<(i64, i64)>(conn)?
    {
        links.entry(i).or_default().push(item);
    }
    Ok(all
        .into_iter()
        .map(|i| {
            let items = links.remove(&i.id).unwrap_or_default();
            (i, items)
        })
        .collect())
}

/// One instruction of the plan with the tasks linked to it, in the plan's order.
pub fn get(
    conn: &mut DbConnection,
    plan: &Plan,
    id: i64,
) -> Result<(Instruction, Vec<Item>), DbError> {
    let i: Instruction = task_instructions::table
        .filter(task_instructions::id.eq(id))
        .filter(task_instructions::plan_id.eq(plan.id))
        .select(Instruction::as_select())
        .first(conn)?;
    let items: Vec<Item> = task_instruction_items::table
        .inner_join(task_items::table)
        .filter(task_instruction_items::instruction_id.eq(id))
        .order(task_items::sort)
        .select(Item::as_select())
        .load(conn)?;
    Ok((i, items))
}

/// A ledger report that carries an instruction out: the task it reports on and the unit's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CarriedOut {
    pub report: Report,
    pub item_title: String,
    pub unit_name: String,
}

/// What was done about an instruction: the ledger reports on the tasks linked to it and on
/// the measures under them, the latest first — `limit` of them after the first `offset` — and
/// how many there are in all. `tree` is the plan's.
pub fn carried_out(
    conn: &mut DbConnection,
    (plan, tree): (&Plan, &Tree),
    id: i64,
    (offset, limit): (i64, i64),
) -> Result<(Vec<CarriedOut>, i64), DbError> {
    let (_, linked) = get(conn, plan, id)?;
    let linked: HashSet<i64> = linked.iter().map(|i| i.id).collect();
    // A node is covered when it or an item above it is linked.
    let parent: HashMap<i64, Option<i64>> = tree
        .nodes
        .iter()
        .map(|n| (n.item.id, n.item.parent_id))
        .collect();
    let covered = |mut at: Option<i64>| {
        while let Some(i) = at {
            if linked.contains(&i) {
                return true;
            }
            at = parent.get(&i).copied().flatten();
        }
        false
    };
    let leaves: HashMap<i64, &str> = tree
        .reported()
        .filter(|n| covered(Some(n.item.id)))
        .map(|n| (n.item.id, n.item.title.as_str()))
        .collect();
    let ids: Vec<i64> = leaves.keys().copied().collect();
    let total: i64 = task_reports::table
        .filter(task_reports::item_id.eq_any(&ids))
        .count()
        .get_result(conn)?;
    let page = task_reports::table
        .inner_join(units::table)
        .filter(task_reports::item_id.eq_any(&ids))
        .order((task_reports::submitted_at.desc(), task_reports::id))
        .offset(offset)
        .limit(limit)
        .select((Report::as_select(), units::name))
        .load::<(Report, String)>(conn)?
        .into_iter()
        .map(|(report, unit_name)| CarriedOut {
            item_title: leaves
                .get(&report.item_id)
                .map(ToString::to_string)
                .unwrap_or_default(),
            report,
            unit_name,
        })
        .collect();
    Ok((page, total))
}

/// The instructions a task carries out: linked to it or to an item above it, latest first.
pub fn of_item(
    conn: &mut DbConnection,
    plan: &Plan,
    item: &Item,
) -> Result<Vec<Instruction>, DbError> {
    let mut ids = vec![item.id];
    let mut at = item.parent_id;
    while let Some(p) = at {
        ids.push(p);
        at = task_items::table
            .filter(task_items::id.eq(p))
            .filter(task_items::plan_id.eq(plan.id))
            .select(task_items::parent_id)
            .first::<Option<i64>>(conn)
            .optional()?
            .flatten();
    }
    Ok(task_instructions::table
        .inner_join(task_instruction_items::table)
        .filter(task_instruction_items::item_id.eq_any(&ids))
        .filter(task_instructions::plan_id.eq(plan.id))
        .order((
            task_instructions::said_on.desc(),
            task_instructions::id.desc(),
        ))
        .select(Instruction::as_select())
        .distinct()
        .load(conn)?)
}
