//! From scores to results: the verified score of each criterion (the scheme's merge rule over
//! the two verification rounds, then the commission's decision on an objection), totals with
//! caps and weights, ranks within each category, grades, and publication — after which a
//! score changes only by a correction that keeps the value it replaced.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::evaluation::{Points, Round, Stage, Total, ranks, total};

use super::access::Access;
use super::{Scheme, Tree, categories, participants, tree, weights};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{
    eval_corrections, eval_decisions, eval_final_scores, eval_results, eval_scores,
};
use crate::scope::Actor;
use crate::{DbConnection, DbError, now};

/// (unit, criterion) → points.
pub type Sheet = BTreeMap<(i64, i64), Points>;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = eval_decisions)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Decision {
    pub scheme_id: i64,
    pub unit_id: i64,
    pub indicator_id: i64,
    pub accepted: bool,
    pub points: Option<i64>,
    pub reason: String,
    pub decided_by: Option<i64>,
    pub decider: String,
    pub decided_at: NaiveDateTime,
}

fn round_points(conn: &mut DbConnection, scheme_id: i64, round: Round) -> Result<Sheet, DbError> {
    let rows: Vec<(i64, i64, Option<i64>)> = eval_scores::table
        .filter(eval_scores::scheme_id.eq(scheme_id))
        .filter(eval_scores::round.eq(round.as_str()))
        .select((
            eval_scores::unit_id,
            eval_scores::indicator_id,
            eval_scores::points,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(u, i, p)| Some(((u, i), Points(p?))))
        .collect())
}

pub fn decisions(conn: &mut DbConnection, scheme_id: i64) -> Result<Vec<Decision>, DbError> {
    Ok(eval_decisions::table
        .filter(eval_decisions::scheme_id.eq(scheme_id))
        .select(Decision::as_select())
        .load(conn)?)
}

/// The two verification rounds' scores, read once for both the merge and the differences
/// (at province scale each round is a couple of hundred thousand rows).
pub struct Rounds {
    first: Sheet,
    field: Sheet,
}

impl Rounds {
    pub fn load(conn: &mut DbConnection, scheme_id: i64) -> Result<Self, DbError> {
        Ok(Self {
            first: round_points(conn, scheme_id, Round::First)?,
            field: round_points(conn, scheme_id, Round::Field)?,
        })
    }

    /// Where both rounds scored a criterion differently: (unit, criterion, first, field), for
    /// the organiser to review.
    pub fn differences(&self) -> Vec<(i64, i64, Points, Points)> {
        self.first
            .iter()
            .filter_map(|(k, a)| {
                self.field
                    .get(k)
                    .filter(|b| *b != a)
                    .map(|b| (k.0, k.1, *a, *b))
            })
            .collect()
    }
}

/// [`Rounds::differences`] of a scheme.
pub fn differences(
    conn: &mut DbConnection,
    scheme_id: i64,
) -> Result<Vec<(i64, i64, Points, Points)>, DbError> {
    Ok(Rounds::load(conn, scheme_id)?.differences())
}

/// Every verified score: the merge rule over both rounds, an accepted objection's points over
/// that; once published, the final scores. A criterion no round scored is absent (it counts 0).
pub fn verified(conn: &mut DbConnection, s: &Scheme) -> Result<Sheet, DbError> {
    if s.stage() != Stage::Published {
        let rounds = Rounds::load(conn, s.id)?;
        return merged(conn, s, &rounds);
    }
    let rows: Vec<(i64, i64, i64)> = eval_final_scores::table
        .filter(eval_final_scores::scheme_id.eq(s.id))
        .select((
            eval_final_scores::unit_id,
            eval_final_scores::indicator_id,
            eval_final_scores::points,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(u, i, p)| ((u, i), Points(p)))
        .collect())
}

/// The verified scores before publication, from rounds already read.
pub fn merged(conn: &mut DbConnection, s: &Scheme, r: &Rounds) -> Result<Sheet, DbError> {
    let rule = s.merge_rule();
    let mut out: Sheet = r
        .first
        .keys()
        .chain(r.field.keys())
        .filter_map(|k| {
            Some((
                *k,
                rule.merge(r.first.get(k).copied(), r.field.get(k).copied())?,
            ))
        })
        .collect();
    for d in decisions(conn, s.id)? {
        if let (true, Some(p)) = (d.accepted, d.points) {
            out.insert((d.unit_id, d.indicator_id), Points(p));
        }
    }
    Ok(out)
}

/// One unit's result.
#[derive(Debug, Clone, Serialize)]
pub struct UnitResult {
    pub unit_id: i64,
    pub unit_name: String,
    pub category_id: i64,
    pub total: Total,
    pub rank: usize,
    pub grade: String,
    /// In the top grade: on the list of units to commend.
    pub commended: bool,
}

/// Results of every unit, by category (in the scheme's order) and rank, from `sheet`.
pub fn compute(
    conn: &mut DbConnection,
    s: &Scheme,
    t: &Tree,
    sheet: &Sheet,
) -> Result<Vec<UnitResult>, DbError> {
    let criteria = t.scored();
    let all_weights = weights(conn, s)?;
    let grades = s.grades();
    let top = grades.0.first().map(|(n, _)| n.clone()).unwrap_or_default();
    let units = participants(conn, s)?;
    let mut out = Vec::with_capacity(units.len());
    for cat in categories(conn, s)? {
        let w: BTreeMap<i64, Points> = all_weights
            .iter()
            .filter(|(c, _, _)| *c == cat.id)
            .map(|(_, a, p)| (*a, *p))
            .collect();
        let members: Vec<_> = units.iter().filter(|u| u.category_id == cat.id).collect();
        let totals: Vec<Total> = members
            .iter()
            .map(|u| {
                let scores: BTreeMap<i64, Points> = criteria
                    .iter()
                    .filter_map(|c| Some((c.id, *sheet.get(&(u.unit_id, c.id))?)))
                    .collect();
                total(&criteria, &scores, &w, s.bonus_cap(), s.deduction_cap())
            })
            .collect();
        let r = ranks(&totals.iter().map(|x| x.total).collect::<Vec<_>>());
        let mut rows: Vec<UnitResult> = members
            .iter()
            .zip(totals)
            .zip(r)
            .map(|((u, tot), rank)| {
                let grade = grades.grade(tot.total).to_string();
                UnitResult {
                    unit_id: u.unit_id,
                    unit_name: u.unit_name.clone(),
                    category_id: cat.id,
                    commended: grade == top,
                    grade,
                    rank,
                    total: tot,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            a.rank
                .cmp(&b.rank)
                .then_with(|| a.unit_name.cmp(&b.unit_name))
        });
        out.extend(rows);
    }
    Ok(out)
}

/// The results as they stand: published, or a preview from the verified scores.
/// The published results of the scheme this one was copied from, with its year, to compare
/// with (none if it was not copied or that one is not published).
pub fn previous(
    conn: &mut DbConnection,
    s: &Scheme,
) -> Result<Option<(i32, Vec<UnitResult>)>, DbError> {
    let Some(prev) = s.copied_from else {
        return Ok(None);
    };
    let ps = super::get_scheme(conn, &crate::scope::Scope::whole(), prev)?;
    if ps.stage() != Stage::Published {
        return Ok(None);
    }
    Ok(Some((ps.year, results(conn, &ps)?)))
}

pub fn results(conn: &mut DbConnection, s: &Scheme) -> Result<Vec<UnitResult>, DbError> {
    let t = tree(conn, s)?;
    let sheet = verified(conn, s)?;
    compute(conn, s, &t, &sheet)
}

/// Decide a unit's objection to one criterion: accepted with the score that stands (within
/// the criterion's maximum), or rejected; a reason either way. The organiser, in the feedback
/// or final stage.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    conn: &mut DbConnection,
    actor: &Actor,
    access: &Access,
    unit: i64,
    criterion: i64,
    accepted: bool,
    points: Option<Points>,
    reason: &str,
) -> Result<Decision, DbError> {
    let s = &access.scheme;
    if !access.organiser {
        return Err(DbError::NotFound);
    }
    if !matches!(s.stage(), Stage::Feedback | Stage::Final) {
        return Err(DbError::invalid("stage", "err.eval.round_not_open"));
    }
    let reason = shiliu_domain::error::required_text("reason", reason, 500)?;
    let t = tree(conn, s)?;
    let c = t
        .criteria()
        .find(|c| c.id == criterion)
        .ok_or_else(|| DbError::invalid("criterion", "err.choice"))?;
    let objected = super::scores::scores(conn, s.id, unit, Round::Objection)?
        .get(&criterion)
        .is_some_and(|o| o.note.is_some());
    if !objected {
        return Err(DbError::invalid("criterion", "err.eval.no_objection"));
    }
    let points = match (accepted, points) {
        (true, None) => return Err(DbError::invalid("points", "err.required")),
        (true, Some(p)) if p > c.max() => {
            return Err(
                shiliu_domain::FieldError::new("points", "err.eval.above_max")
                    .arg("max", c.max())
                    .into(),
            );
        }
        (true, p) => p,
        (false, _) => None,
    };
    let before: Option<Decision> = eval_decisions::table
        .filter(eval_decisions::scheme_id.eq(s.id))
        .filter(eval_decisions::unit_id.eq(unit))
        .filter(eval_decisions::indicator_id.eq(criterion))
        .select(Decision::as_select())
        .first(conn)
        .optional()?;
    let d = Decision {
        scheme_id: s.id,
        unit_id: unit,
        indicator_id: criterion,
        accepted,
        points: points.map(|p| p.0),
        reason,
        decided_by: actor.user_id,
        decider: actor.name.clone(),
        decided_at: now(),
    };
    diesel::delete(
        eval_decisions::table
            .filter(eval_decisions::scheme_id.eq(s.id))
            .filter(eval_decisions::unit_id.eq(unit))
            .filter(eval_decisions::indicator_id.eq(criterion)),
    )
    .execute(conn)?;
    diesel::insert_into(eval_decisions::table)
        .values(&d)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("evaluation.decide", "evaluation", s.id)
            .region(s.region_id)
            .before(&before)
            .after(&d),
    )?;
    Ok(d)
}

/// Objections not yet decided: (unit, criterion).
pub fn pending_objections(
    conn: &mut DbConnection,
    scheme_id: i64,
) -> Result<Vec<(i64, i64)>, DbError> {
    let objected: Vec<(i64, i64)> = eval_scores::table
        .filter(eval_scores::scheme_id.eq(scheme_id))
        .filter(eval_scores::round.eq(Round::Objection.as_str()))
        .filter(eval_scores::note.is_not_null())
        .select((eval_scores::unit_id, eval_scores::indicator_id))
        .load(conn)?;
    let decided: Vec<(i64, i64)> = eval_decisions::table
        .filter(eval_decisions::scheme_id.eq(scheme_id))
        .select((eval_decisions::unit_id, eval_decisions::indicator_id))
        .load(conn)?;
    Ok(objected
        .into_iter()
        .filter(|k| !decided.contains(k))
        .collect())
}

/// Publish: every unit's verified score on every criterion (0 where none) and the results are
/// written, in the transaction that moves the scheme to `published`.
pub(super) fn publish(conn: &mut DbConnection, s: &Scheme) -> Result<(), DbError> {
    if !pending_objections(conn, s.id)?.is_empty() {
        return Err(DbError::invalid("stage", "err.eval.objections_pending"));
    }
    let t = tree(conn, s)?;
    let sheet = verified(conn, s)?;
    let units = participants(conn, s)?;
    let mut finals = Vec::new();
    for u in &units {
        for c in t.criteria() {
            let p = sheet.get(&(u.unit_id, c.id)).copied().unwrap_or_default();
            finals.push((u.unit_id, c.id, p.0));
        }
    }
    for chunk in finals.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(u, i, p)| {
                (
                    eval_final_scores::scheme_id.eq(s.id),
                    eval_final_scores::unit_id.eq(*u),
                    eval_final_scores::indicator_id.eq(*i),
                    eval_final_scores::points.eq(*p),
                )
            })
            .collect();
        crate::on_engine!(conn, |c| diesel::insert_into(eval_final_scores::table)
            .values(&rows)
            .execute(c))?;
    }
    let results = compute(conn, s, &t, &sheet)?;
    store_results(conn, s.id, &results)
}

/// A published result as stored (at publication, and again after each correction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub unit_name: String,
    pub rank: i32,
    pub grade: String,
}

/// The published results of a scheme as stored, by category and rank: what a summary reads
/// where recomputing them from every score (`results`) would cost a page's worth of work.
pub fn published(conn: &mut DbConnection, s: &Scheme) -> Result<Vec<Published>, DbError> {
    use crate::schema::units;
    let rows: Vec<(String, i32, String)> = eval_results::table
        .inner_join(units::table)
        .filter(eval_results::scheme_id.eq(s.id))
        .order((eval_results::category_id, eval_results::rank, units::name))
        .select((units::name, eval_results::rank, eval_results::grade))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(unit_name, rank, grade)| Published {
            unit_name,
            rank,
            grade,
        })
        .collect())
}

fn store_results(
    conn: &mut DbConnection,
    scheme_id: i64,
    results: &[UnitResult],
) -> Result<(), DbError> {
    diesel::delete(eval_results::table.filter(eval_results::scheme_id.eq(scheme_id)))
        .execute(conn)?;
    for chunk in results.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|r| {
                (
                    eval_results::scheme_id.eq(scheme_id),
                    eval_results::unit_id.eq(r.unit_id),
                    eval_results::category_id.eq(r.category_id),
                    eval_results::total.eq(r.total.total.0),
                    eval_results::bonus.eq(r.total.bonus.0),
                    eval_results::deduction.eq(r.total.deduction.0),
                    eval_results::rank.eq(i32::try_from(r.rank).unwrap_or(i32::MAX)),
                    eval_results::grade.eq(&r.grade),
                    eval_results::commended.eq(r.commended),
                )
            })
            .collect();
        crate::on_engine!(conn, |c| diesel::insert_into(eval_results::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = eval_corrections)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Correction {
    pub id: i64,
    pub scheme_id: i64,
    pub unit_id: i64,
    pub indicator_id: i64,
    pub before_points: i64,
    pub after_points: i64,
    pub reason: String,
    pub corrected_by: Option<i64>,
    pub corrector: String,
    pub corrected_at: NaiveDateTime,
}

/// After publication, the one way a score changes: the old value kept in the corrections,
/// the results recomputed (ranks in the category may move), audited.
pub fn correct(
    conn: &mut DbConnection,
    actor: &Actor,
    access: &Access,
    unit: i64,
    criterion: i64,
    points: Points,
    reason: &str,
) -> Result<Correction, DbError> {
    let s = &access.scheme;
    if !access.organiser {
        return Err(DbError::NotFound);
    }
    if s.stage() != Stage::Published {
        return Err(DbError::invalid("stage", "err.eval.not_published"));
    }
    let reason = shiliu_domain::error::required_text("reason", reason, 500)?;
    let t = tree(conn, s)?;
    let c = t
        .criteria()
        .find(|c| c.id == criterion)
        .ok_or_else(|| DbError::invalid("criterion", "err.choice"))?;
    if points > c.max() {
        return Err(
            shiliu_domain::FieldError::new("points", "err.eval.above_max")
                .arg("max", c.max())
                .into(),
        );
    }
    let before: i64 = eval_final_scores::table
        .filter(eval_final_scores::scheme_id.eq(s.id))
        .filter(eval_final_scores::unit_id.eq(unit))
        .filter(eval_final_scores::indicator_id.eq(criterion))
        .select(eval_final_scores::points)
        .first(conn)?;
    diesel::update(
        eval_final_scores::table
            .filter(eval_final_scores::scheme_id.eq(s.id))
            .filter(eval_final_scores::unit_id.eq(unit))
            .filter(eval_final_scores::indicator_id.eq(criterion)),
    )
    .set(eval_final_scores::points.eq(points.0))
    .execute(conn)?;
    let fix = Correction {
        id: new_id(),
        scheme_id: s.id,
        unit_id: unit,
        indicator_id: criterion,
        before_points: before,
        after_points: points.0,
        reason,
        corrected_by: actor.user_id,
        corrector: actor.name.clone(),
        corrected_at: now(),
    };
    diesel::insert_into(eval_corrections::table)
        .values((
            eval_corrections::id.eq(fix.id),
            eval_corrections::scheme_id.eq(fix.scheme_id),
            eval_corrections::unit_id.eq(fix.unit_id),
            eval_corrections::indicator_id.eq(fix.indicator_id),
            eval_corrections::before_points.eq(fix.before_points),
            eval_corrections::after_points.eq(fix.after_points),
            eval_corrections::reason.eq(&fix.reason),
            eval_corrections::corrected_by.eq(fix.corrected_by),
            eval_corrections::corrector.eq(&fix.corrector),
            eval_corrections::corrected_at.eq(fix.corrected_at),
        ))
        .execute(conn)?;
    let sheet = verified(conn, s)?;
    let results = compute(conn, s, &t, &sheet)?;
    store_results(conn, s.id, &results)?;
    audit::record(
        conn,
        actor,
        Event::new("evaluation.correct", "evaluation", s.id)
            .region(s.region_id)
            .detail(serde_json::json!({"unit_id": unit, "criterion": c.code, "before": before, "after": points.0, "reason": fix.reason})),
    )?;
    Ok(fix)
}

pub fn corrections(conn: &mut DbConnection, scheme_id: i64) -> Result<Vec<Correction>, DbError> {
    Ok(eval_corrections::table
        .filter(eval_corrections::scheme_id.eq(scheme_id))
        .order(eval_corrections::id.asc())
        .select(Correction::as_select())
        .load(conn)?)
}
