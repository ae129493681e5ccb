//! Work ledgers (工作台账): a unit reports on a task it is handed, per period; the lead unit
//! (or, for a lead unit's own report, the organiser) confirms it or sends it back with an
//! opinion. Who may do what is decided here, from the task's units and the caller's:
//! - a unit's reporter (`ReportTasks`) reports for their own unit on the tasks it is handed,
//!   in a plan in force, for a period begun and not yet confirmed;
//! - a lead unit's reporter reviews the other units' reports on that task;
//! - the organiser (`ManageTasks` over the plan's region) reviews any report.
//!
//! Anything else is `NotFound` (a task one cannot see) or `Forbidden` (one can see it).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use shiliu_domain::files::{FileInput, REQUEST_FILES};
use shiliu_domain::roles::Permission;
use shiliu_domain::tasks::{Asked, PlanStatus, Progress, ReportInput, ReportStatus, Reported};

use super::{Item, Node, Plan, unit_of};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{
    task_assignments, task_items, task_pair_marks, task_plans, task_report_events,
    task_report_files, task_reports, users,
};
use crate::scope::{Actor, Can, grants};
use crate::versioned;
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = task_reports)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Report {
    pub id: i64,
    pub plan_id: i64,
    pub item_id: i64,
    pub unit_id: i64,
    pub period: String,
    pub status: String,
    pub progress: String,
    pub figure: Option<i64>,
    pub opinion: Option<String>,
    pub submitted_by: Option<i64>,
    pub submitted_at: NaiveDateTime,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub version: i32,
}

impl Report {
    pub fn status(&self) -> ReportStatus {
        ReportStatus::parse(&self.status).unwrap_or(ReportStatus::Submitted)
    }

    fn reported(&self) -> Reported<'_> {
        Reported {
            period: &self.period,
            status: self.status(),
            figure: self.figure,
        }
    }
}

/// One sending or decision in a report's history.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = task_report_events)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ReportEvent {
    pub id: i64,
    pub report_id: i64,
    pub action: String,
    pub body: String,
    pub figure: Option<i64>,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub at: NaiveDateTime,
}

/// What a task asks of its units, for the progress rule.
pub fn asked(plan: &Plan, item: &Item) -> Asked {
    Asked {
        due_on: item.due_on,
        recurrence: item.recurrence(),
        plan_start: plan.starts_on,
        plan_end: plan.ends_on,
        target: item.target_value,
    }
}

/// A task's reports, by unit, with each report's history, read through the plan as the caller
/// was given it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ledger {
    pub reports: Vec<Report>,
    pub events: HashMap<i64, Vec<ReportEvent>>,
}

impl Ledger {
    /// One unit's reports, latest period first.
    pub fn of_unit(&self, unit: i64) -> Vec<&Report> {
        let mut v: Vec<&Report> = self.reports.iter().filter(|r| r.unit_id == unit).collect();
        v.sort_by(|a, b| b.period.cmp(&a.period));
        v
    }

    /// How a unit stands on the task on `today`.
    pub fn progress(&self, asked: &Asked, unit: i64, today: chrono::NaiveDate) -> Progress {
        let mine: Vec<Reported> = self
            .reports
            .iter()
            .filter(|r| r.unit_id == unit)
            .map(Report::reported)
            .collect();
        asked.progress(&mine, today)
    }
}

/// The reports on one task of a plan (and their history).
pub fn ledger(conn: &mut DbConnection, plan: &Plan, item_id: i64) -> Result<Ledger, DbError> {
    item_of(conn, plan, item_id)?;
    let reports: Vec<Report> = task_reports::table
        .filter(task_reports::item_id.eq(item_id))
        .order(task_reports::period.desc())
        .select(Report::as_select())
        .load(conn)?;
    let ids: Vec<i64> = reports.iter().map(|r| r.id).collect();
    let mut events: HashMap<i64, Vec<ReportEvent>> = HashMap::new();
    for e in task_report_events::table
        .filter(task_report_events::report_id.eq_any(ids))
        .order((task_report_events::at, task_report_events::id))
        .select(ReportEvent::as_select())
        .load::<ReportEvent>(conn)?
    {
        events.entry(e.report_id).or_default().push(e);
    }
    Ok(Ledger { reports, events })
}

/// The plan's task `item_id`, or `NotFound`: a task's rows are then read by the task alone
/// (its own index; the plan's reads every report of the plan).
fn item_of(conn: &mut DbConnection, plan: &Plan, item_id: i64) -> Result<(), DbError> {
    task_items::table
        .filter(task_items::id.eq(item_id))
        .filter(task_items::plan_id.eq(plan.id))
        .select(task_items::id)
        .first::<i64>(conn)?;
    Ok(())
}

/// Every report of a plan (for its board).
pub fn plan_reports(conn: &mut DbConnection, plan: &Plan) -> Result<Vec<Report>, DbError> {
    Ok(task_reports::table
        .filter(task_reports::plan_id.eq(plan.id))
        .select(Report::as_select())
        .load(conn)?)
}

/// A task of a plan with its units (`NotFound` if the plan has no such task).
fn node(conn: &mut DbConnection, plan: &Plan, item_id: i64) -> Result<Node, DbError> {
    let item: Item = task_items::table
        .filter(task_items::id.eq(item_id))
        .filter(task_items::plan_id.eq(plan.id))
        .select(Item::as_select())
        .first(conn)?;
    let units: Vec<super::Handed> = task_assignments::table
        .inner_join(crate::schema::units::table)
        .filter(task_assignments::item_id.eq(item_id))
        .order(task_assignments::sort)
        .select((
            task_assignments::unit_id,
            crate::schema::units::name,
            task_assignments::lead,
        ))
        .load::<(i64, String, bool)>(conn)?
        .into_iter()
        .map(|(unit_id, name, lead)| super::Handed {
            unit_id,
            name,
            lead,
        })
        .collect();
    Ok(Node {
        item,
        depth: 0,
        units,
    })
}

pub(crate) fn display_name(conn: &mut DbConnection, actor: &Actor) -> Result<String, DbError> {
    Ok(match actor.user_id {
        Some(id) => users::table
            .filter(users::id.eq(id))
            .select(users::display_name)
            .first(conn)
            .optional()?
            .unwrap_or_else(|| actor.name.clone()),
        None => actor.name.clone(),
    })
}

fn event(
    conn: &mut DbConnection,
    actor: &Actor,
    report: &Report,
    action: ReportStatus,
    body: &str,
) -> Result<(), DbError> {
    let e = ReportEvent {
        id: new_id(),
        report_id: report.id,
        action: action.as_str().into(),
        body: body.to_string(),
        figure: (action == ReportStatus::Submitted)
            .then_some(report.figure)
            .flatten(),
        actor_id: actor.user_id,
        actor_name: display_name(conn, actor)?,
        at: now(),
    };
    diesel::insert_into(task_report_events::table)
        .values(&e)
        .execute(conn)?;
    Ok(())
}

/// A file sent with a report (its bytes are read only to be served).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = task_report_files)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ReportFile {
    pub id: i64,
    pub report_id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploader: String,
    pub created_at: NaiveDateTime,
}

/// Keep `files` with a report, within the requests' limits counted over all its files.
fn attach(
    conn: &mut DbConnection,
    actor: &Actor,
    report: &Report,
    files: &[FileInput],
) -> Result<(), DbError> {
    if files.is_empty() {
        return Ok(());
    }
    let existing: i64 = task_report_files::table
        .filter(task_report_files::report_id.eq(report.id))
        .count()
        .get_result(conn)?;
    FileInput::check_count(
        "files",
        usize::try_from(existing).unwrap_or(usize::MAX),
        files.len(),
        REQUEST_FILES,
    )?;
    let at = now();
    for f in files {
        diesel::insert_into(task_report_files::table)
            .values((
                task_report_files::id.eq(new_id()),
                task_report_files::report_id.eq(report.id),
                task_report_files::name.eq(&f.name),
                task_report_files::content_type.eq(f.kind.as_str()),
                task_report_files::size.eq(i64::try_from(f.bytes.len()).unwrap_or(i64::MAX)),
                task_report_files::sha256.eq(hex::encode(Sha256::digest(&f.bytes))),
                task_report_files::data.eq(&f.bytes),
                task_report_files::uploaded_by.eq(actor.user_id),
                task_report_files::uploader.eq(&actor.name),
                task_report_files::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The files of a task's reports, by report, oldest first (read through the plan's task the
/// caller was given).
pub fn files_of(
    conn: &mut DbConnection,
    plan: &Plan,
    item_id: i64,
) -> Result<HashMap<i64, Vec<ReportFile>>, DbError> {
    item_of(conn, plan, item_id)?;
    let rows: Vec<ReportFile> = task_report_files::table
        .inner_join(task_reports::table)
        .filter(task_reports::item_id.eq(item_id))
        .order(task_report_files::id.asc())
        .select(ReportFile::as_select())
        .load(conn)?;
    let mut out: HashMap<i64, Vec<ReportFile>> = HashMap::new();
    for f in rows {
        out.entry(f.report_id).or_default().push(f);
    }
    Ok(out)
}

/// One file of a report on the plan's task, with its bytes; of another task, `NotFound`.
pub fn file(
    conn: &mut DbConnection,
    plan: &Plan,
    item_id: i64,
    id: i64,
) -> Result<(ReportFile, Vec<u8>), DbError> {
    Ok(task_report_files::table
        .inner_join(task_reports::table)
        .filter(task_report_files::id.eq(id))
        .filter(task_reports::plan_id.eq(plan.id))
        .filter(task_reports::item_id.eq(item_id))
        .select((ReportFile::as_select(), task_report_files::data))
        .first(conn)?)
}

/// Send the reporter's unit's report on a task for a period, with its evidence files: a new
/// one, or again after it was sent back (or to amend one not yet decided). Audited.
pub fn submit(
    conn: &mut DbConnection,
    actor: &Can<grants::ReportTasks>,
    plan_id: i64,
    item_id: i64,
    input: &ReportInput,
    files: &[FileInput],
) -> Result<Report, DbError> {
    let (plan, unit) = super::plan_for_unit(conn, actor, plan_id)?;
    if plan.status() != PlanStatus::Active {
        return Err(DbError::invalid("status", "err.tasks.not_in_force"));
    }
    let n = node(conn, &plan, item_id)?;
    if !n.units.iter().any(|u| u.unit_id == unit) {
        return Err(DbError::NotFound);
    }
    let open = asked(&plan, &n.item).open_periods(crate::today());
    let Some(period) = open.iter().find(|p| p.code == input.period) else {
        return Err(DbError::invalid("period", "err.tasks.period"));
    };
    // A task bound to its units' activities reports their count, not a number typed in.
    let mut input = input.clone();
    if let Some(t) = super::tallies::of_item(conn, &plan, item_id)? {
        input.figure = Some(super::tallies::figure(
            conn,
            t,
            unit,
            period,
            crate::today(),
        )?);
    }
    let input = &input;
    let at = now();
    let existing: Option<Report> = task_reports::table
        .filter(task_reports::item_id.eq(item_id))
        .filter(task_reports::unit_id.eq(unit))
        .filter(task_reports::period.eq(&input.period))
        .select(Report::as_select())
        .first(conn)
        .optional()?;
    let report = match existing {
        Some(r) if r.status() == ReportStatus::Confirmed => {
            return Err(DbError::invalid("period", "err.tasks.already_confirmed"));
        }
        Some(before) => {
            let n = diesel::update(
                task_reports::table
                    .filter(task_reports::id.eq(before.id))
                    .filter(task_reports::version.eq(before.version)),
            )
            .set((
                task_reports::status.eq(ReportStatus::Submitted.as_str()),
                task_reports::progress.eq(&input.progress),
                task_reports::figure.eq(input.figure),
                task_reports::submitted_by.eq(actor.user_id),
                task_reports::submitted_at.eq(at),
                task_reports::version.eq(crate::versioned::next(before.version)?),
            ))
            .execute(conn)?;
            versioned::written(n)?;
            get_report(conn, before.id)?
        }
        None => {
            let r = Report {
                id: new_id(),
                plan_id,
                item_id,
                unit_id: unit,
                period: input.period.clone(),
                status: ReportStatus::Submitted.as_str().into(),
                progress: input.progress.clone(),
                figure: input.figure,
                opinion: None,
                submitted_by: actor.user_id,
                submitted_at: at,
                reviewed_by: None,
                reviewed_at: None,
                version: 1,
            };
            diesel::insert_into(task_reports::table)
                .values(&r)
                .execute(conn)?;
            r
        }
    };
    attach(conn, actor, &report, files)?;
    restate(conn, &report)?;
    event(
        conn,
        actor,
        &report,
        ReportStatus::Submitted,
        &report.progress,
    )?;
    audit::record(
        conn,
        actor,
        Event::new("task_report.submit", "task_report", report.id)
            .region(plan.region_id)
            .after(&report)
            .detail(serde_json::json!({
                "files": files.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
            })),
    )?;
    Ok(report)
}

fn get_report(conn: &mut DbConnection, id: i64) -> Result<Report, DbError> {
    Ok(task_reports::table
        .filter(task_reports::id.eq(id))
        .select(Report::as_select())
        .first(conn)?)
}

/// Whether `actor` reviews reports on this task from `unit`: the organiser any; a lead unit's
/// reporter the other units'.
fn reviews(
    conn: &mut DbConnection,
    actor: &Actor,
    plan: &Plan,
    n: &Node,
    unit: i64,
) -> Result<bool, DbError> {
    if actor.allows(Permission::ManageTasks) && actor.scope.covers(&plan.region_path) {
        return Ok(true);
    }
    if !actor.allows(Permission::ReportTasks) {
        return Ok(false);
    }
    let Some(own) = unit_of(conn, actor)? else {
        return Ok(false);
    };
    Ok(own != unit && n.units.iter().any(|u| u.unit_id == own && u.lead))
}

/// Which units' reports on a task `actor` reviews (for a page to offer the decision where the
/// write will take it).
pub fn reviewed_units(
    conn: &mut DbConnection,
    actor: &Actor,
    plan: &Plan,
    item_id: i64,
) -> Result<Vec<i64>, DbError> {
    let n = node(conn, plan, item_id)?;
    let mut out = Vec::new();
    for u in &n.units {
        if reviews(conn, actor, plan, &n, u.unit_id)? {
            out.push(u.unit_id);
        }
    }
    Ok(out)
}

/// Confirm a report of a plan's task, or send it back with an opinion (required then). Only a report waiting
/// for a decision, by one who reviews it (else `NotFound` if the plan is out of their reach,
/// `Forbidden` if not theirs to decide). Audited.
pub fn review(
    conn: &mut DbConnection,
    actor: &Actor,
    (plan_id, item_id, report_id): (i64, i64, i64),
    version: i32,
    confirm: bool,
    opinion: Option<&str>,
) -> Result<Report, DbError> {
    let before = get_report(conn, report_id)?;
    // The report is of the plan's task the caller named.
    if (before.plan_id, before.item_id) != (plan_id, item_id) {
        return Err(DbError::NotFound);
    }
    // The plan must be within the actor's reach: the organiser's scope, or a unit's tasks.
    let plan = reachable_plan(conn, actor, before.plan_id)?;
    let n = node(conn, &plan, before.item_id)?;
    if !reviews(conn, actor, &plan, &n, before.unit_id)? {
        return Err(DbError::Forbidden);
    }
    versioned::expect(version, before.version)?;
    if before.status() != ReportStatus::Submitted {
        return Err(DbError::invalid("status", "err.tasks.not_waiting"));
    }
    let opinion = opinion.map(str::trim).filter(|o| !o.is_empty());
    if !confirm && opinion.is_none() {
        return Err(DbError::invalid("opinion", "err.tasks.opinion_required"));
    }
    if opinion.is_some_and(|o| o.chars().count() > 2_000) {
        return Err(DbError::Invalid(
            shiliu_domain::FieldError::new("opinion", "err.too_long")
                .arg("max", 2_000)
                .into(),
        ));
    }
    let to = if confirm {
        ReportStatus::Confirmed
    } else {
        ReportStatus::Returned
    };
    let written = diesel::update(
        task_reports::table
            .filter(task_reports::id.eq(report_id))
            .filter(task_reports::version.eq(version)),
    )
    .set((
        task_reports::status.eq(to.as_str()),
        task_reports::opinion.eq(opinion),
        task_reports::reviewed_by.eq(actor.user_id),
        task_reports::reviewed_at.eq(now()),
        task_reports::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    let action = if confirm {
        "task_report.confirm"
    } else {
        "task_report.return"
    };
    let after = versioned::finish(
        conn,
        actor,
        written,
        &before,
        |c| get_report(c, report_id),
        |_| Event::new(action, "task_report", report_id).region(plan.region_id),
    )?;
    restate(conn, &after)?;
    event(conn, actor, &after, to, opinion.unwrap_or_default())?;
    Ok(after)
}

/// A plan the actor reaches: in the organiser's (or a reader's) scope, or, for a unit's
/// reporter, one in force that hands their unit a task.
pub fn reachable_plan(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<Plan, DbError> {
    let viewer = Can::<grants::ViewTasks>::check(actor).ok();
    let reporter = Can::<grants::ReportTasks>::check(actor).ok();
    super::reach(conn, viewer.as_ref(), reporter.as_ref(), id).map(|(plan, _)| plan)
}

/// How many of the reporter's unit's reports in plans in force were sent back and wait to be
/// sent again (for its to-do).
pub fn returned_count(
    conn: &mut DbConnection,
    actor: &Can<grants::ReportTasks>,
) -> Result<i64, DbError> {
    let Some(unit) = unit_of(conn, actor)? else {
        return Ok(0);
    };
    Ok(task_reports::table
        .inner_join(task_plans::table.on(task_plans::id.eq(task_reports::plan_id)))
        .filter(task_reports::unit_id.eq(unit))
        .filter(task_reports::status.eq(ReportStatus::Returned.as_str()))
        .filter(task_plans::status.eq(PlanStatus::Active.as_str()))
        .count()
        .get_result(conn)?)
}

/// A report from a unit's past, loaded by the system (the demo's year of ledgers): sent at
/// `sent_at`, and decided at `decided`'s moment if it was (confirmed, or sent back with its
/// opinion). Audited as one load.
#[cfg(feature = "system")]
pub fn load_past(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    (plan, item_id, unit): (&Plan, i64, i64),
    input: &ReportInput,
    sent_at: NaiveDateTime,
    decided: Option<(bool, Option<&str>, NaiveDateTime)>,
) -> Result<Report, DbError> {
    let status = match decided {
        None => ReportStatus::Submitted,
        Some((true, ..)) => ReportStatus::Confirmed,
        Some((false, ..)) => ReportStatus::Returned,
    };
    let r = Report {
        id: new_id(),
        plan_id: plan.id,
        item_id,
        unit_id: unit,
        period: input.period.clone(),
        status: status.as_str().into(),
        progress: input.progress.clone(),
        figure: input.figure,
        opinion: decided.and_then(|(_, o, _)| o.map(ToString::to_string)),
        submitted_by: None,
        submitted_at: sent_at,
        reviewed_by: None,
        reviewed_at: decided.map(|(.., at)| at),
        version: 1,
    };
    diesel::insert_into(task_reports::table)
        .values(&r)
        .execute(conn)?;
    restate(conn, &r)?;
    let mut events = vec![(ReportStatus::Submitted, r.progress.clone(), sent_at)];
    if let Some((_, opinion, at)) = decided {
        events.push((status, opinion.unwrap_or_default().to_string(), at));
    }
    for (action, body, at) in events {
        let e = ReportEvent {
            id: new_id(),
            report_id: r.id,
            action: action.as_str().into(),
            figure: (action == ReportStatus::Submitted)
                .then_some(r.figure)
                .flatten(),
            body,
            actor_id: None,
            actor_name: actor.name.clone(),
            at,
        };
        diesel::insert_into(task_report_events::table)
            .values(&e)
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("task_report.load", "task_report", r.id)
            .region(plan.region_id)
            .after(&r),
    )?;
    Ok(r)
}

/// A task the reporter's unit owes work on: overdue or lagging, or with a period ending within
/// [`DUE_SOON_DAYS`] that it has not reported on.
#[derive(Debug, Clone, Serialize)]
pub struct Owed {
    pub plan_id: i64,
    pub plan_name: String,
    pub item: Item,
    pub task_title: Option<String>,
    pub progress: Progress,
    /// The period to report on next and the day it ends, if one is due soon.
    pub next: Option<(String, chrono::NaiveDate)>,
}

/// How far ahead a period's end makes its report owed.
pub const DUE_SOON_DAYS: i64 = 14;

/// What the reporter's unit owes on `today`, the late first (overdue, then lagging), then by
/// the day the next report is due.
pub fn owed(
    conn: &mut DbConnection,
    actor: &Can<grants::ReportTasks>,
    today: chrono::NaiveDate,
) -> Result<Vec<Owed>, DbError> {
    let Some(unit) = unit_of(conn, actor)? else {
        return Ok(Vec::new());
    };
    let handed = super::assigned(conn, actor)?;
    let mut plan_ids: Vec<i64> = handed.iter().map(|t| t.plan_id).collect();
    plan_ids.sort_unstable();
    plan_ids.dedup();
    let plans: HashMap<i64, Plan> = task_plans::table
        .filter(task_plans::id.eq_any(&plan_ids))
        .select(Plan::as_select())
        .load::<Plan>(conn)?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let reports: Vec<Report> = task_reports::table
        .filter(task_reports::unit_id.eq(unit))
        .filter(task_reports::plan_id.eq_any(&plan_ids))
        .select(Report::as_select())
        .load(conn)?;
    let soon = today + chrono::Duration::days(DUE_SOON_DAYS);
    let mut out: Vec<Owed> = Vec::new();
    for t in handed {
        let Some(plan) = plans.get(&t.plan_id) else {
            continue;
        };
        let a = asked(plan, &t.item);
        let mine: Vec<Reported> = reports
            .iter()
            .filter(|r| r.item_id == t.item.id)
            .map(Report::reported)
            .collect();
        let progress = a.progress(&mine, today);
        let next = a
            .open_periods(today)
            .into_iter()
            .find(|p| {
                p.ends_on >= today && p.ends_on <= soon && !mine.iter().any(|r| r.period == p.code)
            })
            .map(|p| (p.code, p.ends_on));
        if matches!(progress, Progress::Overdue | Progress::Lagging) || next.is_some() {
            out.push(Owed {
                plan_id: t.plan_id,
                plan_name: t.plan_name,
                item: t.item,
                task_title: t.task_title,
                progress,
                next,
            });
        }
    }
    out.sort_by_key(|o| {
        (
            // The late first; the rest by when their next report is due.
            o.progress.urgency().min(2),
            o.next.as_ref().map(|(_, d)| *d),
            o.item.sort,
        )
    });
    Ok(out)
}

/// A report waiting for the caller's decision.
#[derive(Debug, Clone, Serialize)]
pub struct ToReview {
    pub report: Report,
    pub plan_name: String,
    pub item_title: String,
    pub unit_name: String,
}

/// The reports, in plans in force, that wait for the caller's decision: as a lead unit's
/// reporter, the other units' on its tasks; as the organiser, the lead units' own (the others'
/// are the lead units' to decide). Oldest sent first.
pub fn to_review(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<ToReview>, DbError> {
    use crate::schema::units;
    let mut rows: Vec<(Report, String, String, String)> = Vec::new();
    let submitted = ReportStatus::Submitted.as_str();
    let active = PlanStatus::Active.as_str();
    if actor.allows(Permission::ReportTasks)
        && let Some(unit) = unit_of(conn, actor)?
    {
        rows.extend(
            task_reports::table
                .inner_join(
                    task_assignments::table.on(task_assignments::item_id
                        .eq(task_reports::item_id)
                        .and(task_assignments::unit_id.eq(unit))
                        .and(task_assignments::lead.eq(true))),
                )
                .inner_join(task_plans::table.on(task_plans::id.eq(task_reports::plan_id)))
                .inner_join(task_items::table.on(task_items::id.eq(task_reports::item_id)))
                .inner_join(units::table.on(units::id.eq(task_reports::unit_id)))
                .filter(task_reports::unit_id.ne(unit))
                .filter(task_reports::status.eq(submitted))
                .filter(task_plans::status.eq(active))
                .select((
                    Report::as_select(),
                    task_plans::name,
                    task_items::title,
                    units::name,
                ))
                .load::<(Report, String, String, String)>(conn)?,
        );
    }
    if actor.allows(Permission::ManageTasks) {
        rows.extend(
            task_reports::table
                .inner_join(
                    task_assignments::table.on(task_assignments::item_id
                        .eq(task_reports::item_id)
                        .and(task_assignments::unit_id.eq(task_reports::unit_id))
                        .and(task_assignments::lead.eq(true))),
                )
                .inner_join(task_plans::table.on(task_plans::id.eq(task_reports::plan_id)))
                .inner_join(task_items::table.on(task_items::id.eq(task_reports::item_id)))
                .inner_join(units::table.on(units::id.eq(task_reports::unit_id)))
                .filter(actor.scope.path_filter(task_plans::region_path))
                .filter(task_reports::status.eq(submitted))
                .filter(task_plans::status.eq(active))
                .select((
                    Report::as_select(),
                    task_plans::name,
                    task_items::title,
                    units::name,
                ))
                .load::<(Report, String, String, String)>(conn)?,
        );
    }
    rows.sort_by_key(|(r, ..)| (r.submitted_at, r.id));
    rows.dedup_by_key(|(r, ..)| r.id);
    Ok(rows
        .into_iter()
        .map(|(report, plan_name, item_title, unit_name)| ToReview {
            report,
            plan_name,
            item_title,
            unit_name,
        })
        .collect())
}

/// A (task, unit)'s reports as its standing reads them: period, status and figure of each
/// (not their text), kept in one row per pair (`task_pair_marks`) and written again with
/// every report, so a plan's board and tree read one row per task and unit rather than every
/// report (a province's plan has tens of thousands a year).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = task_pair_marks)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct PairMarks {
    pub item_id: i64,
    pub unit_id: i64,
    /// `period,status,figure` of each report, the latest period first, joined by `;`; the
    /// status by its first letter (`s`ubmitted, `r`eturned, `c`onfirmed).
    pub marks: String,
}

/// A report's status as its pair's marks write it.
fn status_letter(status: &str) -> &str {
    status.get(..1).unwrap_or_default()
}

impl PairMarks {
    /// Each report of the pair, the latest period first.
    // Split on a predicate: a one-character pattern compares through the C library for each
    // match, and a board splits tens of thousands (measured: a fifth of the board's time).
    #[allow(clippy::manual_pattern_char_comparison)]
    pub fn reported(&self) -> Vec<Reported<'_>> {
        let mut out: Vec<Reported<'_>> = self
            .marks
            .split(|c: char| c == ';')
            .filter(|m| !m.is_empty())
            .map(|m| {
                let mut parts = m.splitn(3, |c: char| c == ',');
                let period = parts.next().unwrap_or_default();
                let status = match parts.next() {
                    Some("c") => ReportStatus::Confirmed,
                    Some("r") => ReportStatus::Returned,
                    _ => ReportStatus::Submitted,
                };
                let figure = parts.next().and_then(|f| f.parse().ok());
                Reported {
                    period,
                    status,
                    figure,
                }
            })
            .collect();
        // Written in order; only rows from before they were kept in order need sorting.
        if !out.is_sorted_by(|a, b| a.period >= b.period) {
            out.sort_unstable_by(|a, b| b.period.cmp(a.period));
        }
        out
    }
}

/// Write a report's (task, unit) row of marks again from all of the pair's reports, in the
/// transaction that wrote the report.
fn restate(conn: &mut DbConnection, r: &Report) -> Result<(), DbError> {
    let rows: Vec<(String, String, Option<i64>)> = task_reports::table
        .filter(task_reports::item_id.eq(r.item_id))
        .filter(task_reports::unit_id.eq(r.unit_id))
        .order(task_reports::period.desc())
        .select((
            task_reports::period,
            task_reports::status,
            task_reports::figure,
        ))
        .load(conn)?;
    let marks = rows
        .iter()
        .map(|(period, status, figure)| {
            let figure = figure.map(|f| f.to_string()).unwrap_or_default();
            format!("{period},{},{figure}", status_letter(status))
        })
        .collect::<Vec<_>>()
        .join(";");
    let row = (
        task_pair_marks::item_id.eq(r.item_id),
        task_pair_marks::unit_id.eq(r.unit_id),
        task_pair_marks::plan_id.eq(r.plan_id),
        task_pair_marks::marks.eq(&marks),
    );
    crate::on_engine!(conn, |c| diesel::insert_into(task_pair_marks::table)
        .values(row)
        .on_conflict((task_pair_marks::item_id, task_pair_marks::unit_id))
        .do_update()
        .set(task_pair_marks::marks.eq(&marks))
        .execute(c))?;
    Ok(())
}

/// Each (task, unit)'s reports of a plan's kept marks, the latest period first.
pub fn by_pair(marks: &[PairMarks]) -> HashMap<(i64, i64), Vec<Reported<'_>>> {
    marks
        .iter()
        .map(|m| ((m.item_id, m.unit_id), m.reported()))
        .collect()
}

/// Every (task, unit) of a plan with reports, as its standings read them (its board, its tree).
pub fn marks(conn: &mut DbConnection, plan: &Plan) -> Result<Vec<PairMarks>, DbError> {
    Ok(task_pair_marks::table
        .filter(task_pair_marks::plan_id.eq(plan.id))
        .select(PairMarks::as_select())
        .load(conn)?)
}

/// One task of a plan that units report on, with its units and the title of the task it is a
/// measure of (`NotFound` if the plan has no such task, or units do not report on it).
pub fn task(
    conn: &mut DbConnection,
    plan: &Plan,
    item_id: i64,
) -> Result<(Node, Option<String>), DbError> {
    let n = node(conn, plan, item_id)?;
    if !n.reported() {
        return Err(DbError::NotFound);
    }
    let parent = match n.item.parent_id {
        Some(p) => task_items::table
            .filter(task_items::id.eq(p))
            .filter(task_items::plan_id.eq(plan.id))
            .select(task_items::title)
            .first::<String>(conn)
            .optional()?,
        None => None,
    };
    Ok((n, parent))
}

/// A unit's report as its printed ledger lists it: with its task's number and title and the
/// names of its files.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub report: Report,
    pub seq: String,
    pub title: String,
    pub files: Vec<String>,
}

/// A unit's ledger in a plan: every report it sent, in the plan's order, each task's periods
/// in order (a page picks the period to print).
pub fn unit_ledger(conn: &mut DbConnection, plan: &Plan, unit: i64) -> Result<Vec<Entry>, DbError> {
    let rows: Vec<(Report, String, String)> = task_reports::table
        .inner_join(task_items::table.on(task_items::id.eq(task_reports::item_id)))
        .filter(task_reports::plan_id.eq(plan.id))
        .filter(task_reports::unit_id.eq(unit))
        .order((task_items::sort, task_reports::period))
        .select((Report::as_select(), task_items::seq, task_items::title))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|(r, ..)| r.id).collect();
    let mut files: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(10_000) {
        for (report, name) in task_report_files::table
            .filter(task_report_files::report_id.eq_any(chunk))
            .order(task_report_files::id)
            .select((task_report_files::report_id, task_report_files::name))
            .load::<(i64, String)>(conn)?
        {
            files.entry(report).or_default().push(name);
        }
    }
    Ok(rows
        .into_iter()
        .map(|(report, seq, title)| Entry {
            files: files.remove(&report.id).unwrap_or_default(),
            report,
            seq,
            title,
        })
        .collect())
}
