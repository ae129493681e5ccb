//! What is left to do in an evaluation, and reminders (催报) before each deadline.
//!
//! Who owes work is worked out in one place ([`owed`]), from the stage the scheme is in: in
//! the self-assessment, every unit that has not submitted (with the criteria it has not yet
//! claimed); in a verification round, every member of that round's teams with assigned units
//! not fully scored; in the feedback window, every unit, which may still object. The unit's
//! and the reviewer's "what is left" ([`todo`]) and the reminders read the same answer.
//!
//! A reminder is one row per stage and recipient: the server's sweep sends it once when the
//! deadline is [`REMIND_BEFORE`] away; the organiser may send it again at any time. Recipients
//! see it beside their work; every sending is audited.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::evaluation::{Level, Round, Stage};

use super::access::{Access, access, taking_part};
use super::{Scheme, participants};
use crate::audit::{self, Event};
use crate::schema::{
    eval_indicators, eval_reminders, eval_schemes, eval_team_members, eval_team_units, eval_teams,
};
use crate::scope::Actor;
use crate::{DbConnection, DbError, now};

/// How long before a stage's deadline the sweep reminds those who still owe work.
pub const REMIND_BEFORE: chrono::TimeDelta = chrono::TimeDelta::days(3);

/// Who owes the work: a unit (its reporters), or a reviewer (a user on a team).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Owner {
    Unit(i64),
    Reviewer(i64),
}

impl Owner {
    fn kind(self) -> &'static str {
        match self {
            Owner::Unit(_) => "unit",
            Owner::Reviewer(_) => "reviewer",
        }
    }

    fn id(self) -> i64 {
        match self {
            Owner::Unit(id) | Owner::Reviewer(id) => id,
        }
    }

    fn of(kind: &str, id: i64) -> Self {
        if kind == "reviewer" {
            Owner::Reviewer(id)
        } else {
            Owner::Unit(id)
        }
    }
}

/// Whose work to work out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Everyone,
    Unit(i64),
    Reviewer(i64),
}

/// What one owner still owes in the scheme's current stage: per unit, the criteria not yet
/// scored (0 in the feedback window, where an objection is the unit's choice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owed {
    pub owner: Owner,
    pub round: Round,
    pub units: Vec<(i64, i64)>,
}

impl Owed {
    pub fn criteria_left(&self) -> i64 {
        self.units.iter().map(|(_, n)| n).sum()
    }
}

/// The stages with a deadline, as stored: the schemes someone may owe work in.
fn timed() -> Vec<&'static str> {
    Stage::TIMED.iter().map(|s| s.as_str()).collect()
}

fn criteria_count(conn: &mut DbConnection, scheme_id: i64) -> Result<i64, DbError> {
    Ok(eval_indicators::table
        .filter(eval_indicators::scheme_id.eq(scheme_id))
        .filter(eval_indicators::level.eq(Level::Criterion.as_str()))
        .count()
        .get_result(conn)?)
}

/// Everyone (or the one owner `who` names) who still owes work in `s`'s current stage.
pub fn owed(conn: &mut DbConnection, s: &Scheme, who: Who) -> Result<Vec<Owed>, DbError> {
    let Some(round) = s.stage().round() else {
        return Ok(Vec::new());
    };
    let all = criteria_count(conn, s.id)?;
    match round {
        Round::SelfAssessment | Round::Objection => {
            let mut units: Vec<i64> = participants(conn, s)?
                .into_iter()
                .map(|p| p.unit_id)
                .collect();
            match who {
                Who::Everyone => {}
                Who::Unit(u) => units.retain(|x| *x == u),
                Who::Reviewer(_) => return Ok(Vec::new()),
            }
            let only = (who != Who::Everyone).then_some(units.as_slice());
            let p = super::scores::progress(conn, s.id, only)?;
            Ok(units
                .into_iter()
                .filter(|u| round == Round::Objection || !p.submitted.contains(u))
                .map(|u| {
                    let left = if round == Round::Objection {
                        0
                    } else {
                        (all - p.scored(u, round)).max(0)
                    };
                    Owed {
                        owner: Owner::Unit(u),
                        round,
                        units: vec![(u, left)],
                    }
                })
                .collect())
        }
        Round::First | Round::Field => {
            let mut q = eval_teams::table
                .inner_join(eval_team_members::table)
                .inner_join(eval_team_units::table)
                .filter(eval_teams::scheme_id.eq(s.id))
                .filter(eval_teams::round.eq(round.as_str()))
                .into_boxed();
            match who {
                Who::Everyone => {}
                Who::Reviewer(user) => q = q.filter(eval_team_members::user_id.eq(user)),
                Who::Unit(_) => return Ok(Vec::new()),
            }
            let pairs: Vec<(i64, i64)> = q
                .select((eval_team_members::user_id, eval_team_units::unit_id))
                .load(conn)?;
            let mut units: Vec<i64> = pairs.iter().map(|(_, u)| *u).collect();
            units.sort_unstable();
            units.dedup();
            let p = super::scores::progress(conn, s.id, Some(&units))?;
            let mut by_user: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
            for (user, unit) in pairs {
                let left = (all - p.scored(unit, round)).max(0);
                let list = by_user.entry(user).or_default();
                if left > 0 && !list.iter().any(|(u, _)| *u == unit) {
                    list.push((unit, left));
                }
            }
            Ok(by_user
                .into_iter()
                .filter(|(_, units)| !units.is_empty())
                .map(|(user, mut units)| {
                    units.sort_unstable();
                    Owed {
                        owner: Owner::Reviewer(user),
                        round,
                        units,
                    }
                })
                .collect())
        }
    }
}

/// A reminder as sent.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = eval_reminders)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Reminder {
    pub scheme_id: i64,
    pub stage: String,
    pub kind: String,
    pub recipient: i64,
    pub units_left: i32,
    pub criteria_left: i32,
    pub due_at: NaiveDateTime,
    pub sent_at: NaiveDateTime,
    /// Who sent it again; empty for the server's sweep.
    pub sender: String,
    pub times: i32,
}

impl Reminder {
    pub fn owner(&self) -> Owner {
        Owner::of(&self.kind, self.recipient)
    }
}

fn reminder_row(
    s: &Scheme,
    due: NaiveDateTime,
    o: &Owed,
    sender: &str,
    at: NaiveDateTime,
) -> Reminder {
    Reminder {
        scheme_id: s.id,
        stage: s.stage.clone(),
        kind: o.owner.kind().to_string(),
        recipient: o.owner.id(),
        units_left: o.units.len() as i32,
        criteria_left: o.criteria_left() as i32,
        due_at: due,
        sent_at: at,
        sender: sender.to_string(),
        times: 1,
    }
}

/// The reminders sent in the scheme's current stage.
pub fn sent(conn: &mut DbConnection, s: &Scheme) -> Result<Vec<Reminder>, DbError> {
    Ok(eval_reminders::table
        .filter(eval_reminders::scheme_id.eq(s.id))
        .filter(eval_reminders::stage.eq(&s.stage))
        .select(Reminder::as_select())
        .load(conn)?)
}

fn audit_sending(
    conn: &mut DbConnection,
    actor: &Actor,
    s: &Scheme,
    due: NaiveDateTime,
    owed: &[Owed],
) -> Result<(), DbError> {
    let recipients: Vec<serde_json::Value> = owed
        .iter()
        .map(|o| {
            serde_json::json!({"kind": o.owner.kind(), "id": o.owner.id(),
                "units_left": o.units.len(), "criteria_left": o.criteria_left()})
        })
        .collect();
    audit::record(
        conn,
        actor,
        Event::new("evaluation.remind", "evaluation", s.id)
            .region(s.region_id)
            .detail(serde_json::json!({"stage": s.stage, "due_at": due, "recipients": recipients})),
    )?;
    Ok(())
}

/// The server's sweep: in every scheme whose current stage's deadline is less than
/// [`REMIND_BEFORE`] away, remind once each who still owes work. Idempotent; several app
/// nodes may run it (a reminder another node sent first is left alone). Returns how many
/// were sent. The audit log names the actor `system:reminders`.
pub fn sweep(conn: &mut DbConnection, at: NaiveDateTime) -> Result<usize, DbError> {
    let actor = &Actor::the_system("system:reminders");
    let schemes: Vec<Scheme> = eval_schemes::table
        .filter(eval_schemes::stage.eq_any(timed()))
        .select(Scheme::as_select())
        .load(conn)?;
    let mut n = 0;
    for s in schemes {
        let Some(due) = s.due(s.stage()) else {
            continue;
        };
        if due <= at || due > at + REMIND_BEFORE {
            continue;
        }
        let already: Vec<Owner> = sent(conn, &s)?.iter().map(Reminder::owner).collect();
        let fresh: Vec<Owed> = owed(conn, &s, Who::Everyone)?
            .into_iter()
            .filter(|o| !already.contains(&o.owner))
            .collect();
        if fresh.is_empty() {
            continue;
        }
        let rows: Vec<Reminder> = fresh
            .iter()
            .map(|o| reminder_row(&s, due, o, "", at))
            .collect();
        for row in &rows {
            crate::on_engine!(conn, |c| diesel::insert_into(eval_reminders::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(c))?;
        }
        audit_sending(conn, actor, &s, due, &fresh)?;
        n += fresh.len();
    }
    Ok(n)
}

/// The organiser reminds everyone who still owes work in the current stage, now (again, for
/// those reminded before). Refused once the deadline has passed: the stage then waits only
/// for the organiser to close it.
pub fn remind_now(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<usize, DbError> {
    let a = access(conn, actor, id)?;
    if !a.organiser {
        return Err(DbError::NotFound);
    }
    let s = a.scheme;
    let at = now();
    let Some(due) = s.due(s.stage()).filter(|_| s.stage().has_deadline()) else {
        return Err(DbError::invalid("stage", "err.eval.nothing_to_remind"));
    };
    if due <= at {
        return Err(DbError::invalid("stage", "err.eval.remind_late"));
    }
    let owed = owed(conn, &s, Who::Everyone)?;
    if owed.is_empty() {
        return Err(DbError::invalid("stage", "err.eval.nothing_to_remind"));
    }
    for o in &owed {
        let row = reminder_row(&s, due, o, &actor.name, at);
        crate::on_engine!(conn, |c| diesel::insert_into(eval_reminders::table)
            .values(&row)
            .on_conflict((
                eval_reminders::scheme_id,
                eval_reminders::stage,
                eval_reminders::kind,
                eval_reminders::recipient,
            ))
            .do_update()
            .set((
                eval_reminders::units_left.eq(row.units_left),
                eval_reminders::criteria_left.eq(row.criteria_left),
                eval_reminders::due_at.eq(row.due_at),
                eval_reminders::sent_at.eq(row.sent_at),
                eval_reminders::sender.eq(&row.sender),
                eval_reminders::times.eq(eval_reminders::times + 1),
            ))
            .execute(c))?;
    }
    audit_sending(conn, actor, &s, due, &owed)?;
    Ok(owed.len())
}

/// What `user` still owes in the scheme `a` opened: their unit's work, their teams' units.
pub fn owed_by(conn: &mut DbConnection, a: &Access, user: i64) -> Result<Vec<Owed>, DbError> {
    let mut out = Vec::new();
    if let Some(unit) = a.own_unit {
        out.extend(owed(conn, &a.scheme, Who::Unit(unit))?);
    }
    if !a.reviews.is_empty() {
        out.extend(owed(conn, &a.scheme, Who::Reviewer(user))?);
    }
    Ok(out)
}

/// One piece of work the user has left in a scheme, with the reminder they were sent.
#[derive(Debug, Clone, Serialize)]
pub struct Todo {
    pub scheme_id: i64,
    pub scheme: String,
    pub stage: Stage,
    pub due: Option<NaiveDateTime>,
    pub owed: Owed,
    /// (unit id, name) of the units in `owed`.
    pub names: Vec<(i64, String)>,
    pub reminded: Option<NaiveDateTime>,
}

/// What the user has left to do across the schemes they take part in: their unit's
/// self-assessment or objections, their teams' units to score. Schemes they run are not
/// listed (their board shows everyone's).
pub fn todo(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<Todo>, DbError> {
    let Some(user) = actor.user_id else {
        return Ok(Vec::new());
    };
    let ids = taking_part(conn, actor)?;
    let schemes: Vec<Scheme> = eval_schemes::table
        .filter(eval_schemes::id.eq_any(&ids))
        .filter(eval_schemes::stage.eq_any(timed()))
        .order((eval_schemes::year.desc(), eval_schemes::id.desc()))
        .select(Scheme::as_select())
        .load(conn)?;
    let mut out = Vec::new();
    for s in schemes {
        let a = access(conn, actor, s.id)?;
        let owed_here = owed_by(conn, &a, user)?;
        if owed_here.is_empty() {
            continue;
        }
        let sent = sent(conn, &s)?;
        let names: BTreeMap<i64, String> = participants(conn, &s)?
            .into_iter()
            .map(|p| (p.unit_id, p.unit_name))
            .collect();
        for o in owed_here {
            out.push(Todo {
                scheme_id: s.id,
                scheme: s.name.clone(),
                stage: s.stage(),
                due: s.due(s.stage()),
                names: o
                    .units
                    .iter()
                    .map(|(u, _)| (*u, names.get(u).cloned().unwrap_or_default()))
                    .collect(),
                reminded: sent
                    .iter()
                    .find(|r| r.owner() == o.owner)
                    .map(|r| r.sent_at),
                owed: o,
            });
        }
    }
    Ok(out)
}
