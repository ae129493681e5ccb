//! Supervision and rectification (督查 · 整改) of a plan's work: inspections, the units they
//! visited, their findings and each finding's rectification. The rules are
//! `shiliu_domain::tasks::inspections`'; who may do what is decided here:
//! - the organiser (`ManageTasks` over the plan's region) records inspections and findings and
//!   verifies rectifications — closes them (销号) or sends them back with an opinion;
//! - readers of the plan (`ViewTasks`) see all of it;
//! - a unit's reporter (`ReportTasks`) sees and reports on its own unit's findings only.
//!
//! Anything else is `NotFound` (a plan or finding one cannot see) or `Forbidden`.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::tasks::PlanStatus;
use shiliu_domain::tasks::inspections::{
    Counted, FindingInput, FindingStatus, InspectionInput, InspectionKind, Rectification,
};

use super::ledger::display_name;
use super::{Plan, get_plan, unit_of};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{
    task_finding_events, task_findings, task_inspection_units, task_inspections, task_plans, units,
};
use crate::scope::{Actor, Can, grants};
use crate::versioned;
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = task_inspections)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Inspection {
    pub id: i64,
    pub plan_id: i64,
    pub kind: String,
    pub title: String,
    pub team: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub notes: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

impl Inspection {
    pub fn kind(&self) -> InspectionKind {
        InspectionKind::parse(&self.kind).unwrap_or(InspectionKind::Tour)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = task_findings)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Finding {
    pub id: i64,
    pub inspection_id: i64,
    pub plan_id: i64,
    pub unit_id: i64,
    pub seq: i32,
    pub problem: String,
    pub measures: Option<String>,
    pub due_on: NaiveDate,
    pub status: String,
    pub progress: Option<String>,
    pub opinion: Option<String>,
    pub reported_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub escalated_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub version: i32,
}

impl Finding {
    pub fn status(&self) -> FindingStatus {
        FindingStatus::parse(&self.status).unwrap_or(FindingStatus::Open)
    }

    /// As the figures count it.
    pub fn counted(&self) -> Counted {
        Counted {
            status: self.status(),
            due_on: self.due_on,
            closed_on: self
                .closed_at
                .map(|t| shiliu_domain::calendar::local(t).date()),
        }
    }

    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.counted().overdue(today)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = task_finding_events)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct FindingEvent {
    pub id: i64,
    pub finding_id: i64,
    pub action: String,
    pub body: String,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub at: NaiveDateTime,
}

/// A finding with the names a list shows beside it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub finding: Finding,
    pub unit_name: String,
    pub inspection_title: String,
    pub plan_name: String,
}

/// Record an inspection of a plan in force (or closed: a last tour may follow the end) with
/// the units it visited, each an active unit of the plan's region. Audited.
pub fn create(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    plan_id: i64,
    input: &InspectionInput,
) -> Result<Inspection, DbError> {
    let plan = get_plan(conn, &actor.scope, plan_id)?;
    if plan.status() == PlanStatus::Draft {
        return Err(DbError::invalid("status", "err.tasks.inspect_draft"));
    }
    let region_units: Vec<i64> = super::region_units(conn, &plan)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    if input.units.iter().any(|u| !region_units.contains(u)) {
        return Err(DbError::invalid("visited", "err.choice"));
    }
    let i = Inspection {
        id: new_id(),
        plan_id,
        kind: input.kind.as_str().into(),
        title: input.title.clone(),
        team: input.team.clone(),
        starts_on: input.starts_on,
        ends_on: input.ends_on,
        notes: input.notes.clone(),
        created_by: actor.user_id,
        created_at: now(),
    };
    diesel::insert_into(task_inspections::table)
        .values(&i)
        .execute(conn)?;
    for (sort, unit) in input.units.iter().enumerate() {
        diesel::insert_into(task_inspection_units::table)
            .values((
                task_inspection_units::inspection_id.eq(i.id),
                task_inspection_units::unit_id.eq(unit),
                task_inspection_units::plan_id.eq(plan_id),
                task_inspection_units::sort.eq(i32::try_from(sort).unwrap_or(i32::MAX)),
            ))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("inspection.create", "inspection", i.id)
            .region(plan.region_id)
            .after(&i)
            .detail(serde_json::json!({ "units": input.units })),
    )?;
    Ok(i)
}

/// A plan's inspections, latest first, each with its findings' figures.
pub fn list(
    conn: &mut DbConnection,
    plan: &Plan,
    today: NaiveDate,
) -> Result<Vec<(Inspection, Rectification)>, DbError> {
    let all: Vec<Inspection> = task_inspections::table
        .filter(task_inspections::plan_id.eq(plan.id))
        .order((
            task_inspections::starts_on.desc(),
            task_inspections::id.desc(),
        ))
        .select(Inspection::as_select())
        .load(conn)?;
    let mut by: HashMap<i64, Vec<Counted>> = HashMap::new();
    for f in of_plan(conn, plan)? {
        by.entry(f.inspection_id).or_default().push(f.counted());
    }
    Ok(all
        .into_iter()
        .map(|i| {
            let r = Rectification::count(by.remove(&i.id).unwrap_or_default(), today);
            (i, r)
        })
        .collect())
}

/// Every finding of a plan (for its figures and its list).
pub fn of_plan(conn: &mut DbConnection, plan: &Plan) -> Result<Vec<Finding>, DbError> {
    Ok(task_findings::table
        .filter(task_findings::plan_id.eq(plan.id))
        .order((task_findings::inspection_id, task_findings::seq))
        .select(Finding::as_select())
        .load(conn)?)
}

/// A plan's findings with their units' and inspections' names, those of `unit` only if given,
/// overdue first, then by deadline.
pub fn listed(
    conn: &mut DbConnection,
    plan: &Plan,
    unit: Option<i64>,
    today: NaiveDate,
) -> Result<Vec<Listed>, DbError> {
    let mut q = task_findings::table
        .inner_join(units::table)
        .inner_join(task_inspections::table)
        .filter(task_findings::plan_id.eq(plan.id))
        .into_boxed();
    if let Some(u) = unit {
        q = q.filter(task_findings::unit_id.eq(u));
    }
    let rows: Vec<(Finding, String, String)> = q
        .select((Finding::as_select(), units::name, task_inspections::title))
        .load(conn)?;
    let mut out: Vec<Listed> = rows
        .into_iter()
        .map(|(finding, unit_name, inspection_title)| Listed {
            finding,
            unit_name,
            inspection_title,
            plan_name: plan.name.clone(),
        })
        .collect();
    sort_listed(&mut out, today);
    Ok(out)
}

/// The overdue first, then those waiting on the unit, then by deadline; the closed last.
fn sort_listed(rows: &mut [Listed], today: NaiveDate) {
    rows.sort_by_key(|l| {
        let f = &l.finding;
        (
            f.status() == FindingStatus::Closed,
            !f.overdue(today),
            !f.status().owed(),
            f.due_on,
            f.inspection_id,
            f.seq,
        )
    });
}

/// An inspection with the units it visited (id, name) and its findings (with their units'
/// names).
pub type Visit = (Inspection, Vec<(i64, String)>, Vec<(Finding, String)>);

/// One inspection of the plan: itself, the units it visited and its findings.
pub fn get(conn: &mut DbConnection, plan: &Plan, id: i64) -> Result<Visit, DbError> {
    let i: Inspection = task_inspections::table
        .filter(task_inspections::id.eq(id))
        .filter(task_inspections::plan_id.eq(plan.id))
        .select(Inspection::as_select())
        .first(conn)?;
    let visited: Vec<(i64, String)> = task_inspection_units::table
        .inner_join(units::table)
        .filter(task_inspection_units::inspection_id.eq(id))
        .order(task_inspection_units::sort)
        .select((units::id, units::name))
        .load(conn)?;
    let findings: Vec<(Finding, String)> = task_findings::table
        .inner_join(units::table)
        .filter(task_findings::inspection_id.eq(id))
        .order(task_findings::seq)
        .select((Finding::as_select(), units::name))
        .load(conn)?;
    Ok((i, visited, findings))
}

fn event(
    conn: &mut DbConnection,
    actor: &Actor,
    finding: i64,
    action: &str,
    body: &str,
) -> Result<(), DbError> {
    let e = FindingEvent {
        id: new_id(),
        finding_id: finding,
        action: action.into(),
        body: body.into(),
        actor_id: actor.user_id,
        actor_name: display_name(conn, actor)?,
        at: now(),
    };
    diesel::insert_into(task_finding_events::table)
        .values(&e)
        .execute(conn)?;
    Ok(())
}

/// Add a finding to an inspection: the next number in its list, for one of the units it
/// visited. Audited.
pub fn add_finding(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    (plan_id, inspection_id): (i64, i64),
    input: &FindingInput,
) -> Result<Finding, DbError> {
    let plan = get_plan(conn, &actor.scope, plan_id)?;
    let (i, visited, findings) = get(conn, &plan, inspection_id)?;
    if !visited.iter().any(|(u, _)| *u == input.unit_id) {
        return Err(DbError::invalid("unit", "err.tasks.finding_unit"));
    }
    if input.due_on < i.starts_on {
        return Err(DbError::invalid("due", "err.tasks.due_before_inspection"));
    }
    let seq = findings.iter().map(|(f, _)| f.seq).max().unwrap_or(0) + 1;
    let f = Finding {
        id: new_id(),
        inspection_id,
        plan_id,
        unit_id: input.unit_id,
        seq,
        problem: input.problem.clone(),
        measures: input.measures.clone(),
        due_on: input.due_on,
        status: FindingStatus::Open.as_str().into(),
        progress: None,
        opinion: None,
        reported_at: None,
        closed_at: None,
        escalated_at: None,
        created_at: now(),
        version: 1,
    };
    diesel::insert_into(task_findings::table)
        .values(&f)
        .execute(conn)?;
    event(conn, actor, f.id, "raised", &f.problem)?;
    audit::record(
        conn,
        actor,
        Event::new("finding.create", "finding", f.id)
            .region(plan.region_id)
            .after(&f),
    )?;
    Ok(f)
}

fn get_finding(conn: &mut DbConnection, id: i64) -> Result<Finding, DbError> {
    Ok(task_findings::table
        .filter(task_findings::id.eq(id))
        .select(Finding::as_select())
        .first(conn)?)
}

/// A finding of the plan as the caller may see it, with its history: any of the plan's for
/// its readers, the unit's own for a unit's reporter (`unit`).
pub fn finding(
    conn: &mut DbConnection,
    plan: &Plan,
    unit: Option<i64>,
    id: i64,
) -> Result<(Listed, Vec<FindingEvent>), DbError> {
    let (finding, unit_name, inspection_title): (Finding, String, String) = task_findings::table
        .inner_join(units::table)
        .inner_join(task_inspections::table)
        .filter(task_findings::id.eq(id))
        .filter(task_findings::plan_id.eq(plan.id))
        .select((Finding::as_select(), units::name, task_inspections::title))
        .first(conn)?;
    if unit.is_some_and(|u| u != finding.unit_id) {
        return Err(DbError::NotFound);
    }
    let events = task_finding_events::table
        .filter(task_finding_events::finding_id.eq(id))
        .order((task_finding_events::at, task_finding_events::id))
        .select(FindingEvent::as_select())
        .load(conn)?;
    Ok((
        Listed {
            finding,
            unit_name,
            inspection_title,
            plan_name: plan.name.clone(),
        },
        events,
    ))
}

/// The unit reports its rectification (what it did, and that it is done): a finding raised or
/// sent back, or one reported and not yet verified (amended). Only its own unit's reporter, in
/// a plan not closed. Audited.
pub fn report(
    conn: &mut DbConnection,
    actor: &Can<grants::ReportTasks>,
    (plan_id, finding_id): (i64, i64),
    version: i32,
    progress: &str,
) -> Result<Finding, DbError> {
    let (plan, unit) = super::plan_for_unit(conn, actor, plan_id)?;
    let before = get_finding(conn, finding_id)?;
    if before.plan_id != plan.id || before.unit_id != unit {
        return Err(DbError::NotFound);
    }
    versioned::expect(version, before.version)?;
    if before.status() == FindingStatus::Closed {
        return Err(DbError::invalid("status", "err.tasks.finding_closed"));
    }
    let progress = shiliu_domain::error::required_text("rectification", progress, 4_000)
        .map_err(|e| DbError::Invalid(e.into()))?;
    let written = diesel::update(
        task_findings::table
            .filter(task_findings::id.eq(finding_id))
            .filter(task_findings::version.eq(version)),
    )
    .set((
        task_findings::status.eq(FindingStatus::Reported.as_str()),
        task_findings::progress.eq(&progress),
        task_findings::reported_at.eq(now()),
        task_findings::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    let after = versioned::finish(
        conn,
        actor,
        written,
        &before,
        |c| get_finding(c, finding_id),
        |_| Event::new("finding.report", "finding", finding_id).region(plan.region_id),
    )?;
    event(conn, actor, finding_id, "reported", &progress)?;
    Ok(after)
}

/// The inspecting body verifies a reported rectification: closes it (销号) or sends it back
/// with an opinion (required then). Audited.
pub fn verify(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    (plan_id, finding_id): (i64, i64),
    version: i32,
    close: bool,
    opinion: Option<&str>,
) -> Result<Finding, DbError> {
    let plan = get_plan(conn, &actor.scope, plan_id)?;
    let before = get_finding(conn, finding_id)?;
    if before.plan_id != plan.id {
        return Err(DbError::NotFound);
    }
    versioned::expect(version, before.version)?;
    if before.status() != FindingStatus::Reported {
        return Err(DbError::invalid("status", "err.tasks.finding_not_reported"));
    }
    let opinion = shiliu_domain::error::optional_text("opinion", opinion.unwrap_or(""), 2_000)
        .map_err(|e| DbError::Invalid(e.into()))?;
    if !close && opinion.is_none() {
        return Err(DbError::invalid("opinion", "err.tasks.opinion_required"));
    }
    let (to, closed_at) = if close {
        (FindingStatus::Closed, Some(now()))
    } else {
        (FindingStatus::Returned, None)
    };
    let written = diesel::update(
        task_findings::table
            .filter(task_findings::id.eq(finding_id))
            .filter(task_findings::version.eq(version)),
    )
    .set((
        task_findings::status.eq(to.as_str()),
        task_findings::opinion.eq(&opinion),
        task_findings::closed_at.eq(closed_at),
        task_findings::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    let action = if close {
        "finding.close"
    } else {
        "finding.return"
    };
    let after = versioned::finish(
        conn,
        actor,
        written,
        &before,
        |c| get_finding(c, finding_id),
        |_| Event::new(action, "finding", finding_id).region(plan.region_id),
    )?;
    event(
        conn,
        actor,
        finding_id,
        to.as_str(),
        opinion.as_deref().unwrap_or_default(),
    )?;
    Ok(after)
}

/// The reporter's unit's findings still to rectify (raised or sent back), in plans not in
/// draft, overdue first (for its to-do).
pub fn owed(
    conn: &mut DbConnection,
    actor: &Can<grants::ReportTasks>,
    today: NaiveDate,
) -> Result<Vec<Listed>, DbError> {
    let Some(unit) = unit_of(conn, actor)? else {
        return Ok(Vec::new());
    };
    let owed: Vec<&str> = FindingStatus::ALL
        .iter()
        .filter(|s| s.owed())
        .map(|s| s.as_str())
        .collect();
    let rows: Vec<(Finding, String, String, String)> = task_findings::table
        .inner_join(units::table)
        .inner_join(task_inspections::table)
        .inner_join(task_plans::table.on(task_plans::id.eq(task_findings::plan_id)))
        .filter(task_findings::unit_id.eq(unit))
        .filter(task_findings::status.eq_any(owed))
        .filter(task_plans::status.eq(PlanStatus::Active.as_str()))
        .select((
            Finding::as_select(),
            units::name,
            task_inspections::title,
            task_plans::name,
        ))
        .load(conn)?;
    Ok(to_listed(rows, today))
}

fn to_listed(rows: Vec<(Finding, String, String, String)>, today: NaiveDate) -> Vec<Listed> {
    let mut out: Vec<Listed> = rows
        .into_iter()
        .map(|(finding, unit_name, inspection_title, plan_name)| Listed {
            finding,
            unit_name,
            inspection_title,
            plan_name,
        })
        .collect();
    sort_listed(&mut out, today);
    out
}

/// Rectifications reported and waiting for the organiser's verification, in plans of their
/// region in force; the oldest reported first.
pub fn to_verify(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
) -> Result<Vec<Listed>, DbError> {
    let rows: Vec<(Finding, String, String, String)> = task_findings::table
        .inner_join(units::table)
        .inner_join(task_inspections::table)
        .inner_join(task_plans::table.on(task_plans::id.eq(task_findings::plan_id)))
        .filter(actor.scope.path_filter(task_plans::region_path))
        .filter(task_findings::status.eq(FindingStatus::Reported.as_str()))
        .filter(task_plans::status.eq(PlanStatus::Active.as_str()))
        .select((
            Finding::as_select(),
            units::name,
            task_inspections::title,
            task_plans::name,
        ))
        .load(conn)?;
    let mut out = to_listed(rows, crate::today());
    out.sort_by_key(|l| (l.finding.reported_at, l.finding.id));
    Ok(out)
}

/// Whether the unit has a finding in the plan (it then reaches the plan, even with no task).
pub(crate) fn has_findings(
    conn: &mut DbConnection,
    plan_id: i64,
    unit: i64,
) -> Result<bool, DbError> {
    Ok(task_findings::table
        .filter(task_findings::plan_id.eq(plan_id))
        .filter(task_findings::unit_id.eq(unit))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Findings open past their deadline and not yet escalated, in plans in force: each is marked
/// escalated once (督办), with an event and an audit row naming `system:deadlines`. Returns how
/// many.
pub fn escalate_overdue(conn: &mut DbConnection, at: NaiveDateTime) -> Result<usize, DbError> {
    let today = shiliu_domain::calendar::local(at).date();
    let rows: Vec<(Finding, i64)> = task_findings::table
        .inner_join(task_plans::table.on(task_plans::id.eq(task_findings::plan_id)))
        .filter(task_findings::status.ne(FindingStatus::Closed.as_str()))
        .filter(task_findings::due_on.lt(today))
        .filter(task_findings::escalated_at.is_null())
        .filter(task_plans::status.eq(PlanStatus::Active.as_str()))
        .select((Finding::as_select(), task_plans::region_id))
        .load(conn)?;
    let actor = &Actor::the_system("system:deadlines");
    let mut done = 0;
    for (f, region) in rows {
        let n = diesel::update(
            task_findings::table
                .filter(task_findings::id.eq(f.id))
                .filter(task_findings::version.eq(f.version)),
        )
        .set((
            task_findings::escalated_at.eq(at),
            task_findings::version.eq(crate::versioned::next(f.version)?),
        ))
        .execute(conn)?;
        if n == 0 {
            continue;
        }
        event(conn, actor, f.id, "escalated", "")?;
        audit::record(
            conn,
            actor,
            Event::new("finding.escalate", "finding", f.id)
                .region(region)
                .detail(serde_json::json!({ "due_on": f.due_on })),
        )?;
        done += 1;
    }
    Ok(done)
}

/// A finding from the past, loaded by the system (the demo's inspections): raised at
/// `raised_at`, then taken through `steps` — each (`reported` | `returned` | `closed` |
/// `escalated`, its text, its moment) — ending where the last leaves it. Audited as one load.
#[cfg(feature = "system")]
pub fn load_past(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageTasks>,
    (plan, inspection): (&Plan, &Inspection),
    input: &FindingInput,
    raised_at: NaiveDateTime,
    steps: &[(&str, &str, NaiveDateTime)],
) -> Result<Finding, DbError> {
    let seq: i32 = task_findings::table
        .filter(task_findings::inspection_id.eq(inspection.id))
        .count()
        .get_result::<i64>(conn)?
        .try_into()
        .unwrap_or(i32::MAX);
    let mut f = Finding {
        id: new_id(),
        inspection_id: inspection.id,
        plan_id: plan.id,
        unit_id: input.unit_id,
        seq: seq + 1,
        problem: input.problem.clone(),
        measures: input.measures.clone(),
        due_on: input.due_on,
        status: FindingStatus::Open.as_str().into(),
        progress: None,
        opinion: None,
        reported_at: None,
        closed_at: None,
        escalated_at: None,
        created_at: raised_at,
        version: 1,
    };
    let mut events = vec![("raised", f.problem.clone(), raised_at)];
    for (action, body, at) in steps {
        match *action {
            "reported" => {
                f.status = FindingStatus::Reported.as_str().into();
                f.progress = Some((*body).to_string());
                f.reported_at = Some(*at);
            }
            "returned" => {
                f.status = FindingStatus::Returned.as_str().into();
                f.opinion = Some((*body).to_string());
            }
            "closed" => {
                f.status = FindingStatus::Closed.as_str().into();
                f.closed_at = Some(*at);
            }
            "escalated" => f.escalated_at = Some(*at),
            _ => return Err(DbError::invalid("status", "err.choice")),
        }
        events.push((*action, (*body).to_string(), *at));
    }
    diesel::insert_into(task_findings::table)
        .values(&f)
        .execute(conn)?;
    for (action, body, at) in events {
        diesel::insert_into(task_finding_events::table)
            .values(&FindingEvent {
                id: new_id(),
                finding_id: f.id,
                action: action.into(),
                body,
                actor_id: None,
                actor_name: actor.name.clone(),
                at,
            })
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("finding.load", "finding", f.id)
            .region(plan.region_id)
            .after(&f),
    )?;
    Ok(f)
}
