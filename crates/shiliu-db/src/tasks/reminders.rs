//! Reminders before a task's report falls due (催报) and escalation after (督办), on the
//! working calendar of the plan's region, swept like the requests' deadlines: the server finds
//! the work on a reader ([`work`]) and writes it in a short write ([`mark`]). A report owed is a
//! (task, unit, period) begun, in a plan in force, with no report sent or confirmed (one sent
//! back is owed again). It is reminded once when [`REMIND_WORKING_DAYS`] working days or fewer
//! are left before the end of its due day, and escalated once when [`ESCALATE_AFTER_WORKING_DAYS`]
//! working day has passed after it. The organiser may press again by hand ([`remind_now`]).

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::calendar::local;
use shiliu_domain::tasks::{PlanStatus, ReportStatus};

use super::ledger::{self, display_name};
use super::{Plan, tree};
use crate::audit::{self, Event};
use crate::schema::{task_items, task_plans, task_reminders, task_reports, units};
use crate::scope::{Actor, Can, grants};
use crate::{DbConnection, DbError, now};

/// How many working days before a report's due day ends the unit is reminded.
pub const REMIND_WORKING_DAYS: i64 = 3;
/// How many working days after a report's due day it is escalated to the organiser.
pub const ESCALATE_AFTER_WORKING_DAYS: i64 = 1;

/// 催报 (before) or 督办 (after).
pub const REMIND: &str = "remind";
pub const ESCALATE: &str = "escalate";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = task_reminders)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Reminder {
    pub item_id: i64,
    pub unit_id: i64,
    pub period: String,
    pub kind: String,
    pub plan_id: i64,
    pub due_on: NaiveDate,
    pub sent_at: NaiveDateTime,
    pub sender: String,
    pub times: i32,
}

impl Reminder {
    pub fn escalated(&self) -> bool {
        self.kind == ESCALATE
    }
}

/// A report owed, as the sweep found it: whose, which period, due when, and the plan's region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    pub plan_id: i64,
    pub region_id: i64,
    pub item_id: i64,
    pub unit_id: i64,
    pub period: String,
    pub due_on: NaiveDate,
}

/// What a sweep at a moment is to write.
#[derive(Debug, Clone, Default)]
pub struct Work {
    pub remind: Vec<Owed>,
    pub escalate: Vec<Owed>,
}

/// How many were reminded and escalated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub reminded: usize,
    pub escalated: usize,
}

/// The end of a due day (the next day's first moment), in China's time.
fn end_of(day: NaiveDate) -> NaiveDateTime {
    day.succ_opt()
        .unwrap_or(day)
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
}

/// Find the sweep's work at `at` (reads only).
pub fn work(conn: &mut DbConnection, at: NaiveDateTime) -> Result<Work, DbError> {
    let calendars = crate::requests::settings::Calendars::load(conn)?;
    let today = local(at).date();
    let plans: Vec<Plan> = task_plans::table
        .filter(task_plans::status.eq(PlanStatus::Active.as_str()))
        .select(Plan::as_select())
        .load(conn)?;
    let now_local = local(at);
    let mut out = Work::default();
    for plan in plans {
        let cal = calendars.at(&plan.region_path);
        let day = cal.minutes_per_day();
        let sent: HashSet<(i64, i64, String)> = ledger::marks(conn, &plan)?
            .iter()
            .flat_map(|m| {
                m.reported()
                    .into_iter()
                    .filter(|r| r.status != ReportStatus::Returned)
                    .map(move |r| (m.item_id, m.unit_id, r.period.to_string()))
            })
            .collect();
        let done: HashSet<(i64, i64, String, String)> = task_reminders::table
            .filter(task_reminders::plan_id.eq(plan.id))
            .select((
                task_reminders::item_id,
                task_reminders::unit_id,
                task_reminders::period,
                task_reminders::kind,
            ))
            .load::<(i64, i64, String, String)>(conn)?
            .into_iter()
            .collect();
        let t = tree(conn, &plan)?;
        for node in t.reported() {
            let asked = ledger::asked(&plan, &node.item);
            for period in asked.open_periods(today) {
                let end = end_of(period.ends_on);
                let kind = if now_local < end {
                    let left = cal.working_minutes_between(now_local, end);
                    (left <= REMIND_WORKING_DAYS * day).then_some(REMIND)
                } else {
                    let late = cal.working_minutes_between(end, now_local);
                    (late >= ESCALATE_AFTER_WORKING_DAYS * day).then_some(ESCALATE)
                };
                let Some(kind) = kind else { continue };
                for unit in &node.units {
                    let key = (node.item.id, unit.unit_id, period.code.clone());
                    if sent.contains(&key)
                        || done.contains(&(key.0, key.1, key.2.clone(), kind.to_string()))
                    {
                        continue;
                    }
                    let owed = Owed {
                        plan_id: plan.id,
                        region_id: plan.region_id,
                        item_id: node.item.id,
                        unit_id: unit.unit_id,
                        period: period.code.clone(),
                        due_on: period.ends_on,
                    };
                    if kind == REMIND {
                        out.remind.push(owed);
                    } else {
                        out.escalate.push(owed);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Write what [`work`] found: each reminder or escalation once (one written since is left),
/// audited with the actor `system:deadlines`.
pub fn mark(conn: &mut DbConnection, at: NaiveDateTime, work: &Work) -> Result<Swept, DbError> {
    let actor = &Actor::the_system("system:deadlines");
    let mut swept = Swept::default();
    for (kind, list) in [(REMIND, &work.remind), (ESCALATE, &work.escalate)] {
        for o in list {
            if write(conn, actor, o, kind, at, false)? {
                if kind == REMIND {
                    swept.reminded += 1;
                } else {
                    swept.escalated += 1;
                }
            }
        }
    }
    Ok(swept)
}

/// Remind and escalate what is due at `at`, in one go (tests and the command line).
pub fn sweep(conn: &mut DbConnection, at: NaiveDateTime) -> Result<Swept, DbError> {
    let w = work(conn, at)?;
    mark(conn, at, &w)
}

/// Write one reminder: a new row, or (`again`) one more time on the row there is. Whether it
/// wrote.
fn write(
    conn: &mut DbConnection,
    actor: &Actor,
    o: &Owed,
    kind: &str,
    at: NaiveDateTime,
    again: bool,
) -> Result<bool, DbError> {
    let key = task_reminders::table
        .filter(task_reminders::item_id.eq(o.item_id))
        .filter(task_reminders::unit_id.eq(o.unit_id))
        .filter(task_reminders::period.eq(&o.period))
        .filter(task_reminders::kind.eq(kind));
    let times: Option<i32> = key.select(task_reminders::times).first(conn).optional()?;
    if times.is_some() && !again {
        return Ok(false);
    }
    let sender = display_name(conn, actor)?;
    match times {
        Some(n) => {
            diesel::update(key)
                .set((
                    task_reminders::times.eq(n + 1),
                    task_reminders::sent_at.eq(at),
                    task_reminders::sender.eq(&sender),
                ))
                .execute(conn)?;
        }
        None => {
            diesel::insert_into(task_reminders::table)
                .values(&Reminder {
                    item_id: o.item_id,
                    unit_id: o.unit_id,
                    period: o.period.clone(),
                    kind: kind.into(),
                    plan_id: o.plan_id,
                    due_on: o.due_on,
                    sent_at: at,
                    sender,
                    times: 1,
                })
                .execute(conn)?;
        }
    }
    audit::record(
        conn,
        actor,
        Event::new(
            if kind == REMIND {
                "task.remind"
            } else {
                "task.escalate"
            },
            "task_item",
            o.item_id,
        )
        .region(o.region_id)
        .detail(serde_json::json!({
            "unit_id": o.unit_id,
            "period": o.period,
            "due_on": o.due_on,
        })),
    )?;
    Ok(true)
}

/// The organiser presses a unit for its report on a task for a period (催报) by hand, at any
/// time while it is owed. Audited.
pub fn remind_now(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    (plan_id, item_id, unit_id): (i64, i64, i64),
    period: &str,
) -> Result<(), DbError> {
    let plan = super::get_plan(conn, actor.scope(), plan_id)?;
    if plan.status() != PlanStatus::Active {
        return Err(DbError::invalid("status", "err.tasks.not_in_force"));
    }
    let (node, _) = ledger::task(conn, &plan, item_id)?;
    if !node.units.iter().any(|u| u.unit_id == unit_id) {
        return Err(DbError::NotFound);
    }
    let asked = ledger::asked(&plan, &node.item);
    let Some(p) = asked
        .open_periods(crate::today())
        .into_iter()
        .find(|p| p.code == period)
    else {
        return Err(DbError::invalid("period", "err.tasks.period"));
    };
    let sent = task_reports::table
        .filter(task_reports::item_id.eq(item_id))
        .filter(task_reports::unit_id.eq(unit_id))
        .filter(task_reports::period.eq(period))
        .filter(task_reports::status.ne(ReportStatus::Returned.as_str()))
        .count()
        .get_result::<i64>(conn)?;
    if sent > 0 {
        return Err(DbError::invalid("period", "err.tasks.not_owed"));
    }
    let o = Owed {
        plan_id,
        region_id: plan.region_id,
        item_id,
        unit_id,
        period: period.to_string(),
        due_on: p.ends_on,
    };
    write(conn, actor, &o, REMIND, now(), true)?;
    Ok(())
}

/// The reminders and escalations of a plan, by (task, unit): for its board.
pub fn of_plan(
    conn: &mut DbConnection,
    plan: &Plan,
) -> Result<HashMap<(i64, i64), Vec<Reminder>>, DbError> {
    let mut out: HashMap<(i64, i64), Vec<Reminder>> = HashMap::new();
    for r in task_reminders::table
        .filter(task_reminders::plan_id.eq(plan.id))
        .select(Reminder::as_select())
        .load::<Reminder>(conn)?
    {
        out.entry((r.item_id, r.unit_id)).or_default().push(r);
    }
    Ok(out)
}

/// The reporter's unit's reminders for reports it still owes, by task (for its to-do).
pub fn of_unit(
    conn: &mut DbConnection,
    actor: &Can<grants::ReportTasks>,
) -> Result<HashMap<i64, Vec<Reminder>>, DbError> {
    let Some(unit) = super::unit_of(conn, actor)? else {
        return Ok(HashMap::new());
    };
    let sent: HashSet<(i64, String)> = task_reports::table
        .filter(task_reports::unit_id.eq(unit))
        .filter(task_reports::status.ne(ReportStatus::Returned.as_str()))
        .select((task_reports::item_id, task_reports::period))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let mut out: HashMap<i64, Vec<Reminder>> = HashMap::new();
    for r in task_reminders::table
        .filter(task_reminders::unit_id.eq(unit))
        .select(Reminder::as_select())
        .load::<Reminder>(conn)?
    {
        if !sent.contains(&(r.item_id, r.period.clone())) {
            out.entry(r.item_id).or_default().push(r);
        }
    }
    Ok(out)
}

/// An escalated report still owed, with the names a list shows.
#[derive(Debug, Clone, Serialize)]
pub struct Escalated {
    pub reminder: Reminder,
    pub plan_name: String,
    pub item_title: String,
    pub unit_name: String,
}

/// The escalated reports still owed in plans in force of the organiser's region, the longest
/// overdue first.
pub fn escalated(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
) -> Result<Vec<Escalated>, DbError> {
    let rows: Vec<(Reminder, String, String, String)> = task_reminders::table
        .inner_join(task_plans::table.on(task_plans::id.eq(task_reminders::plan_id)))
        .inner_join(task_items::table.on(task_items::id.eq(task_reminders::item_id)))
        .inner_join(units::table.on(units::id.eq(task_reminders::unit_id)))
        .filter(actor.scope().path_filter(task_plans::region_path))
        .filter(task_plans::status.eq(PlanStatus::Active.as_str()))
        .filter(task_reminders::kind.eq(ESCALATE))
        .select((
            Reminder::as_select(),
            task_plans::name,
            task_items::title,
            units::name,
        ))
        .load(conn)?;
    let items: Vec<i64> = rows.iter().map(|(r, ..)| r.item_id).collect();
    let mut sent: HashSet<(i64, i64, String)> = HashSet::new();
    // Ids per statement stay well under SQLite's bound on values.
    for chunk in items.chunks(10_000) {
        sent.extend(
            task_reports::table
                .filter(task_reports::item_id.eq_any(chunk))
                .filter(task_reports::status.ne(ReportStatus::Returned.as_str()))
                .select((
                    task_reports::item_id,
                    task_reports::unit_id,
                    task_reports::period,
                ))
                .load::<(i64, i64, String)>(conn)?,
        );
    }
    let mut out: Vec<Escalated> = rows
        .into_iter()
        .filter(|(r, ..)| !sent.contains(&(r.item_id, r.unit_id, r.period.clone())))
        .map(|(reminder, plan_name, item_title, unit_name)| Escalated {
            reminder,
            plan_name,
            item_title,
            unit_name,
        })
        .collect();
    out.sort_by_key(|e| (e.reminder.due_on, e.reminder.item_id, e.reminder.unit_id));
    Ok(out)
}

/// The reminders and escalations on one task of the plan, by unit: for the task's page.
pub fn of_item(
    conn: &mut DbConnection,
    plan: &Plan,
    item_id: i64,
) -> Result<HashMap<i64, Vec<Reminder>>, DbError> {
    let mut out: HashMap<i64, Vec<Reminder>> = HashMap::new();
    for r in task_reminders::table
        .filter(task_reminders::plan_id.eq(plan.id))
        .filter(task_reminders::item_id.eq(item_id))
        .order(task_reminders::sent_at)
        .select(Reminder::as_select())
        .load::<Reminder>(conn)?
    {
        out.entry(r.unit_id).or_default().push(r);
    }
    Ok(out)
}
