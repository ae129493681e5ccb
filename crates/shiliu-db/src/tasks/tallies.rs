//! Tasks whose figure fills in by itself: a task bound to its units' activity records
//! (宣传教育 · "十进") counts them over each report's period — activities held, trainings run,
//! people reached, venues reached — and a report on it carries that count as its figure, not a
//! number typed in. The count is `activities::targets::tally`'s, the one the progress board
//! reads.

use chrono::NaiveDate;
use diesel::prelude::*;
use shiliu_domain::activities::Tally;
use shiliu_domain::tasks::Period;

use super::Plan;
use crate::audit::{self, Event};
use crate::schema::task_item_tallies;
use crate::scope::{Can, grants};
use crate::{DbConnection, DbError};

/// What a task of `plan` counts, if it is bound.
pub fn of_item(
    conn: &mut DbConnection,
    plan: &Plan,
    item_id: i64,
) -> Result<Option<Tally>, DbError> {
    let t: Option<String> = task_item_tallies::table
        .filter(task_item_tallies::plan_id.eq(plan.id))
        .filter(task_item_tallies::item_id.eq(item_id))
        .select(task_item_tallies::tally)
        .first(conn)
        .optional()?;
    Ok(t.as_deref().and_then(Tally::parse))
}

/// Bind a task of a plan the caller organises to a count of its units' activities, or unbind
/// it (`None`); audited. Reports already sent keep their figures.
pub fn set(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    plan_id: i64,
    item_id: i64,
    tally: Option<Tally>,
) -> Result<(), DbError> {
    let plan = super::get_plan(conn, actor.scope(), plan_id)?;
    let (node, _) = super::ledger::task(conn, &plan, item_id)?;
    let before = of_item(conn, &plan, item_id)?;
    diesel::delete(task_item_tallies::table.filter(task_item_tallies::item_id.eq(node.item.id)))
        .execute(conn)?;
    if let Some(t) = tally {
        diesel::insert_into(task_item_tallies::table)
            .values((
                task_item_tallies::item_id.eq(node.item.id),
                task_item_tallies::plan_id.eq(plan.id),
                task_item_tallies::tally.eq(t.as_str()),
            ))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("task.tally", "task_plan", plan.id)
            .region(plan.region_id)
            .detail(serde_json::json!({
                "item_id": node.item.id,
                "before": before.map(Tally::as_str),
                "after": tally.map(Tally::as_str),
            })),
    )?;
    Ok(())
}

/// The count a report of `unit` on a bound task carries for `period`: over the period's days
/// up to `today` (a period still running counts what has been held so far).
pub fn figure(
    conn: &mut DbConnection,
    tally: Tally,
    unit_id: i64,
    period: &Period,
    today: NaiveDate,
) -> Result<i64, DbError> {
    let to = period.ends_on.min(today);
    crate::activities::targets::tally(conn, unit_id, (period.starts_on, to), tally)
}
