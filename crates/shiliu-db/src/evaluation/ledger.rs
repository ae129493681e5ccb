//! A unit's work-ledger reports (工作台账, `crate::tasks::ledger`) chosen as evidence for its
//! self-assessment's criteria: linked, never copied — the report's text, standing and files
//! stay the ledger's and are read from there, through the evaluation's own access (a reviewer
//! who sees the unit's sheet sees its linked reports, without reaching the plan).
//!
//! Only the unit, while its self-assessment is open, links (its own reports) and unlinks.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::evaluation::Round;

use super::access::Access;
use super::scores::check_open;
use super::tree;
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{eval_ledger_links, task_items, task_plans, task_report_files, task_reports};
use crate::scope::Actor;
use crate::tasks::ledger::{Report, ReportFile};
use crate::{DbConnection, DbError, now};

/// A ledger report linked to a criterion, with what shows it: its task, its plan, its files.
#[derive(Debug, Clone, Serialize)]
pub struct Linked {
    pub id: i64,
    pub indicator_id: i64,
    pub report: Report,
    pub item_title: String,
    pub plan_name: String,
    pub files: Vec<ReportFile>,
    pub linker: String,
    pub linked_at: NaiveDateTime,
}

/// Link one of the unit's own ledger reports to a criterion of its open self-assessment.
/// Audited.
pub fn link(
    conn: &mut DbConnection,
    actor: &Actor,
    access: &Access,
    (unit, criterion): (i64, i64),
    report_id: i64,
) -> Result<i64, DbError> {
    check_open(conn, access, unit, Round::SelfAssessment)?;
    let s = &access.scheme;
    if !tree(conn, s)?.criteria().any(|c| c.id == criterion) {
        return Err(DbError::invalid("criterion", "err.choice"));
    }
    let own: Option<i64> = task_reports::table
        .filter(task_reports::id.eq(report_id))
        .filter(task_reports::unit_id.eq(unit))
        .select(task_reports::id)
        .first(conn)
        .optional()?;
    if own.is_none() {
        return Err(DbError::invalid("report", "err.choice"));
    }
    let twice: i64 = eval_ledger_links::table
        .filter(eval_ledger_links::scheme_id.eq(s.id))
        .filter(eval_ledger_links::unit_id.eq(unit))
        .filter(eval_ledger_links::indicator_id.eq(criterion))
        .filter(eval_ledger_links::report_id.eq(report_id))
        .count()
        .get_result(conn)?;
    if twice > 0 {
        return Err(DbError::invalid("report", "err.eval.already_linked"));
    }
    let id = new_id();
    diesel::insert_into(eval_ledger_links::table)
        .values((
            eval_ledger_links::id.eq(id),
            eval_ledger_links::scheme_id.eq(s.id),
            eval_ledger_links::unit_id.eq(unit),
            eval_ledger_links::indicator_id.eq(criterion),
            eval_ledger_links::report_id.eq(report_id),
            eval_ledger_links::linked_by.eq(actor.user_id),
            eval_ledger_links::linker.eq(&actor.name),
            eval_ledger_links::linked_at.eq(now()),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("evaluation.ledger_link", "evaluation", s.id)
            .region(s.region_id)
            .detail(serde_json::json!({
                "unit_id": unit,
                "criterion": criterion,
                "report_id": report_id,
            })),
    )?;
    Ok(id)
}

/// Remove a linked report from the unit's open self-assessment. Audited.
pub fn unlink(
    conn: &mut DbConnection,
    actor: &Actor,
    access: &Access,
    unit: i64,
    link_id: i64,
) -> Result<(), DbError> {
    check_open(conn, access, unit, Round::SelfAssessment)?;
    let s = &access.scheme;
    let n = diesel::delete(
        eval_ledger_links::table
            .filter(eval_ledger_links::id.eq(link_id))
            .filter(eval_ledger_links::scheme_id.eq(s.id))
            .filter(eval_ledger_links::unit_id.eq(unit)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    audit::record(
        conn,
        actor,
        Event::new("evaluation.ledger_unlink", "evaluation", s.id)
            .region(s.region_id)
            .detail(serde_json::json!({ "unit_id": unit, "link": link_id })),
    )?;
    Ok(())
}

/// The reports linked to the unit's criteria, oldest linked first, to whoever sees the unit's
/// sheet.
pub fn linked(conn: &mut DbConnection, access: &Access, unit: i64) -> Result<Vec<Linked>, DbError> {
    if !access.may_view_unit(unit) {
        return Err(DbError::NotFound);
    }
    let rows: Vec<(i64, i64, String, NaiveDateTime, Report, String, String)> =
        eval_ledger_links::table
            .inner_join(task_reports::table)
            .inner_join(task_items::table.on(task_items::id.eq(task_reports::item_id)))
            .inner_join(task_plans::table.on(task_plans::id.eq(task_reports::plan_id)))
            .filter(eval_ledger_links::scheme_id.eq(access.scheme.id))
            .filter(eval_ledger_links::unit_id.eq(unit))
            .order(eval_ledger_links::linked_at.asc())
            .select((
                eval_ledger_links::id,
                eval_ledger_links::indicator_id,
                eval_ledger_links::linker,
                eval_ledger_links::linked_at,
                Report::as_select(),
                task_items::title,
                task_plans::name,
            ))
            .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.4.id).collect();
    let mut files: HashMap<i64, Vec<ReportFile>> = HashMap::new();
    for f in task_report_files::table
        .filter(task_report_files::report_id.eq_any(&ids))
        .order(task_report_files::id.asc())
        .select(ReportFile::as_select())
        .load::<ReportFile>(conn)?
    {
        files.entry(f.report_id).or_default().push(f);
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, indicator_id, linker, linked_at, report, item_title, plan_name)| Linked {
                id,
                indicator_id,
                files: files.remove(&report.id).unwrap_or_default(),
                report,
                item_title,
                plan_name,
                linker,
                linked_at,
            },
        )
        .collect())
}

/// One file of a linked report, with its bytes, to whoever sees the unit's sheet.
pub fn file(
    conn: &mut DbConnection,
    access: &Access,
    link_id: i64,
    file_id: i64,
) -> Result<(ReportFile, Vec<u8>), DbError> {
    let (unit, report): (i64, i64) = eval_ledger_links::table
        .filter(eval_ledger_links::id.eq(link_id))
        .filter(eval_ledger_links::scheme_id.eq(access.scheme.id))
        .select((eval_ledger_links::unit_id, eval_ledger_links::report_id))
        .first(conn)?;
    if !access.may_view_unit(unit) {
        return Err(DbError::NotFound);
    }
    Ok(task_report_files::table
        .filter(task_report_files::id.eq(file_id))
        .filter(task_report_files::report_id.eq(report))
        .select((ReportFile::as_select(), task_report_files::data))
        .first(conn)?)
}

/// A self-assessment open to a unit: (scheme id, name, criteria as (id, code and name)).
pub type OpenSheet = (i64, String, Vec<(i64, String)>);

/// The open self-assessments the actor's unit may link its reports to.
pub fn open_for(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<OpenSheet>, DbError> {
    let mut out = Vec::new();
    for id in super::access::taking_part(conn, actor)? {
        let a = super::access::access(conn, actor, id)?;
        let Some(unit) = a.own_unit else { continue };
        if check_open(conn, &a, unit, Round::SelfAssessment).is_err() {
            continue;
        }
        let criteria = tree(conn, &a.scheme)?
            .criteria()
            .map(|c| (c.id, format!("{} {}", c.code, c.name)))
            .collect();
        out.push((a.scheme.id, a.scheme.name.clone(), criteria));
    }
    Ok(out)
}
