//! Scores of every round, a unit's submission, and evidence files. Every write asks the
//! scheme's [`Access`](super::access::Access) first, then the stage: a round's scores are
//! entered only while its stage is current and before its deadline, a unit's self-assessment
//! only until it is submitted. Every change of a score is audited with its value before and
//! after.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use shiliu_domain::evaluation::{Level, Points, Round, ScoreInput};
use shiliu_domain::files::{EVIDENCE_FILES, FileInput};

use super::access::Access;
use super::tree;
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{eval_evidence, eval_scores, eval_submissions};
use crate::scope::Actor;
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, PartialEq, Eq)]
#[diesel(table_name = eval_scores)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Score {
    pub scheme_id: i64,
    pub unit_id: i64,
    pub indicator_id: i64,
    pub round: String,
    pub points: Option<i64>,
    pub note: Option<String>,
    pub scored_by: Option<i64>,
    pub scorer: String,
    pub scored_at: NaiveDateTime,
}

impl Score {
    pub fn points(&self) -> Option<Points> {
        self.points.map(Points)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = eval_submissions)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Submission {
    pub scheme_id: i64,
    pub unit_id: i64,
    pub round: String,
    pub submitted_by: Option<i64>,
    pub submitter: String,
    pub submitted_at: NaiveDateTime,
}

/// A unit's scores in a round, by criterion.
pub fn scores(
    conn: &mut DbConnection,
    scheme_id: i64,
    unit_id: i64,
    round: Round,
) -> Result<BTreeMap<i64, Score>, DbError> {
    let rows: Vec<Score> = eval_scores::table
        .filter(eval_scores::scheme_id.eq(scheme_id))
        .filter(eval_scores::unit_id.eq(unit_id))
        .filter(eval_scores::round.eq(round.as_str()))
        .select(Score::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|s| (s.indicator_id, s)).collect())
}

/// Every unit's scores in a round (the objections of a whole scheme, for the organiser).
pub fn round_scores(
    conn: &mut DbConnection,
    scheme_id: i64,
    round: Round,
) -> Result<Vec<Score>, DbError> {
    Ok(eval_scores::table
        .filter(eval_scores::scheme_id.eq(scheme_id))
        .filter(eval_scores::round.eq(round.as_str()))
        .order((eval_scores::unit_id.asc(), eval_scores::indicator_id.asc()))
        .select(Score::as_select())
        .load(conn)?)
}

/// How far each unit is: criteria scored per (unit, round), and the units that submitted
/// their self-assessment — one grouped count, for the organiser's progress board, or for the
/// units in `only` (a reporter's unit, a reviewer's assignment).
pub fn progress(
    conn: &mut DbConnection,
    scheme_id: i64,
    only: Option<&[i64]>,
) -> Result<Progress, DbError> {
    let mut counted = eval_scores::table
        .filter(eval_scores::scheme_id.eq(scheme_id))
        .filter(eval_scores::points.is_not_null())
        .group_by((eval_scores::unit_id, eval_scores::round))
        .select((
            eval_scores::unit_id,
            eval_scores::round,
            diesel::dsl::count_star(),
        ))
        .into_boxed();
    let mut submitted = eval_submissions::table
        .filter(eval_submissions::scheme_id.eq(scheme_id))
        .filter(eval_submissions::round.eq(Round::SelfAssessment.as_str()))
        .select(eval_submissions::unit_id)
        .into_boxed();
    if let Some(units) = only {
        counted = counted.filter(eval_scores::unit_id.eq_any(units.to_vec()));
        submitted = submitted.filter(eval_submissions::unit_id.eq_any(units.to_vec()));
    }
    let counts: Vec<(i64, String, i64)> = counted.load(conn)?;
    Ok(Progress {
        scored: counts.into_iter().map(|(u, r, n)| ((u, r), n)).collect(),
        submitted: submitted.load(conn)?,
    })
}

/// Criteria scored per (unit, round code), and the units whose self-assessment is submitted.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub scored: BTreeMap<(i64, String), i64>,
    pub submitted: Vec<i64>,
}

impl Progress {
    /// Criteria of `unit` scored in `round`.
    pub fn scored(&self, unit: i64, round: Round) -> i64 {
        self.scored
            .get(&(unit, round.as_str().to_string()))
            .copied()
            .unwrap_or_default()
    }
}

pub fn submission(
    conn: &mut DbConnection,
    scheme_id: i64,
    unit_id: i64,
    round: Round,
) -> Result<Option<Submission>, DbError> {
    Ok(eval_submissions::table
        .filter(eval_submissions::scheme_id.eq(scheme_id))
        .filter(eval_submissions::unit_id.eq(unit_id))
        .filter(eval_submissions::round.eq(round.as_str()))
        .select(Submission::as_select())
        .first(conn)
        .optional()?)
}

/// Whether `round` is open for `unit` now: the user may score it, its stage is current, its
/// deadline has not passed, and (the self-assessment) the unit has not submitted.
pub fn check_open(
    conn: &mut DbConnection,
    access: &Access,
    unit: i64,
    round: Round,
) -> Result<(), DbError> {
    if !access.may_score(round, unit) {
        return Err(DbError::NotFound);
    }
    let s = &access.scheme;
    if s.stage() != round.stage() {
        return Err(DbError::invalid("stage", "err.eval.round_not_open"));
    }
    if !access.system && s.due(round.stage()).is_some_and(|due| now() > due) {
        return Err(DbError::invalid("stage", "err.eval.late"));
    }
    if round == Round::SelfAssessment && submission(conn, s.id, unit, round)?.is_some() {
        return Err(DbError::invalid("stage", "err.eval.submitted"));
    }
    Ok(())
}

/// Save scores (a draft for the unit; the reviewer's scores as they stand): each criterion's
/// row is replaced; one audit row lists every change with its value before and after.
pub fn save(
    conn: &mut DbConnection,
    actor: &Actor,
    access: &Access,
    unit: i64,
    round: Round,
    entries: &[(i64, ScoreInput)],
) -> Result<usize, DbError> {
    check_open(conn, access, unit, round)?;
    let s = &access.scheme;
    let t = tree(conn, s)?;
    let before = scores(conn, s.id, unit, round)?;
    let at = now();
    let mut changes = Vec::new();
    for (criterion, input) in entries {
        let Some((c, _)) = t
            .nodes
            .iter()
            .find(|(i, _)| i.id == *criterion && i.level() == Level::Criterion)
        else {
            return Err(DbError::invalid("criterion", "err.choice"));
        };
        if input.points.is_some_and(|p| p > c.max()) {
            return Err(shiliu_domain::FieldError::new(
                format!("score.{}", c.code),
                "err.eval.above_max",
            )
            .arg("max", c.max())
            .into());
        }
        if round == Round::Objection && input.note.is_none() && input.points.is_some() {
            return Err(DbError::invalid(
                &format!("note.{}", c.code),
                "err.eval.reason_required",
            ));
        }
        let old = before.get(criterion);
        let same = old.is_some_and(|o| o.points() == input.points && o.note == input.note);
        if same || (old.is_none() && input.points.is_none() && input.note.is_none()) {
            continue;
        }
        let row = Score {
            scheme_id: s.id,
            unit_id: unit,
            indicator_id: *criterion,
            round: round.as_str().into(),
            points: input.points.map(|p| p.0),
            note: input.note.clone(),
            scored_by: actor.user_id,
            scorer: actor.name.clone(),
            scored_at: at,
        };
        if old.is_some() {
            diesel::delete(
                eval_scores::table
                    .filter(eval_scores::scheme_id.eq(s.id))
                    .filter(eval_scores::unit_id.eq(unit))
                    .filter(eval_scores::round.eq(round.as_str()))
                    .filter(eval_scores::indicator_id.eq(criterion)),
            )
            .execute(conn)?;
        }
        diesel::insert_into(eval_scores::table)
            .values(&row)
            .execute(conn)?;
        changes.push(serde_json::json!({
            "criterion": c.code,
            "before": old.and_then(Score::points),
            "after": input.points,
            "note": input.note,
        }));
    }
    if !changes.is_empty() {
        audit::record(
            conn,
            actor,
            Event::new("evaluation.score", "evaluation", s.id)
                .region(s.region_id)
                .detail(serde_json::json!({"unit_id": unit, "round": round.as_str(), "changes": changes})),
        )?;
    }
    Ok(changes.len())
}

/// Submit a unit's self-assessment as a whole: every criterion claimed; after this it is read
/// only.
pub fn submit(
    conn: &mut DbConnection,
    actor: &Actor,
    access: &Access,
    unit: i64,
) -> Result<Submission, DbError> {
    let round = Round::SelfAssessment;
    check_open(conn, access, unit, round)?;
    let s = &access.scheme;
    let t = tree(conn, s)?;
    let claimed = scores(conn, s.id, unit, round)?;
    let missing: Vec<String> = t
        .criteria()
        .filter(|c| claimed.get(&c.id).and_then(|x| x.points).is_none())
        .map(|c| c.code.clone())
        .collect();
    if !missing.is_empty() {
        return Err(
            shiliu_domain::FieldError::new("submit", "err.eval.unscored")
                .arg("codes", missing.join("、"))
                .into(),
        );
    }
    let sub = Submission {
        scheme_id: s.id,
        unit_id: unit,
        round: round.as_str().into(),
        submitted_by: actor.user_id,
        submitter: actor.name.clone(),
        submitted_at: now(),
    };
    diesel::insert_into(eval_submissions::table)
        .values((
            eval_submissions::scheme_id.eq(sub.scheme_id),
            eval_submissions::unit_id.eq(sub.unit_id),
            eval_submissions::round.eq(&sub.round),
            eval_submissions::submitted_by.eq(sub.submitted_by),
            eval_submissions::submitter.eq(&sub.submitter),
            eval_submissions::submitted_at.eq(sub.submitted_at),
        ))
        .execute(conn)?;
    let total: Points = claimed.values().filter_map(Score::points).sum();
    audit::record(
        conn,
        actor,
        Event::new("evaluation.submit", "evaluation", s.id)
            .region(s.region_id)
            .detail(serde_json::json!({"unit_id": unit, "claimed": total})),
    )?;
    Ok(sub)
}

/// An evidence file without its content.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, PartialEq, Eq)]
#[diesel(table_name = eval_evidence)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Evidence {
    pub id: i64,
    pub unit_id: i64,
    pub indicator_id: i64,
    pub round: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub uploader: String,
    pub created_at: NaiveDateTime,
}

/// Attach files to one criterion of a unit in an open round (the unit's ledger, a field
/// team's photos).
pub fn attach(
    conn: &mut DbConnection,
    actor: &Actor,
    access: &Access,
    unit: i64,
    round: Round,
    criterion: i64,
    files: &[FileInput],
) -> Result<usize, DbError> {
    check_open(conn, access, unit, round)?;
    let s = &access.scheme;
    if !tree(conn, s)?.criteria().any(|c| c.id == criterion) {
        return Err(DbError::invalid("criterion", "err.choice"));
    }
    let field = format!("files.{criterion}");
    if files.is_empty() {
        return Err(DbError::invalid(&field, "err.file.none"));
    }
    let existing: i64 = eval_evidence::table
        .filter(eval_evidence::scheme_id.eq(s.id))
        .filter(eval_evidence::unit_id.eq(unit))
        .filter(eval_evidence::indicator_id.eq(criterion))
        .filter(eval_evidence::round.eq(round.as_str()))
        .count()
        .get_result(conn)?;
    FileInput::check_count(
        &field,
        usize::try_from(existing).unwrap_or(usize::MAX),
        files.len(),
        EVIDENCE_FILES,
    )?;
    let at = now();
    for f in files {
        diesel::insert_into(eval_evidence::table)
            .values((
                eval_evidence::id.eq(new_id()),
                eval_evidence::scheme_id.eq(s.id),
                eval_evidence::unit_id.eq(unit),
                eval_evidence::indicator_id.eq(criterion),
                eval_evidence::round.eq(round.as_str()),
                eval_evidence::name.eq(&f.name),
                eval_evidence::content_type.eq(f.kind.as_str()),
                eval_evidence::size.eq(i64::try_from(f.bytes.len()).unwrap_or(i64::MAX)),
                eval_evidence::sha256.eq(hex::encode(Sha256::digest(&f.bytes))),
                eval_evidence::data.eq(&f.bytes),
                eval_evidence::uploaded_by.eq(actor.user_id),
                eval_evidence::uploader.eq(&actor.name),
                eval_evidence::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("evaluation.evidence", "evaluation", s.id)
            .region(s.region_id)
            .detail(serde_json::json!({
                "unit_id": unit,
                "round": round.as_str(),
                "criterion": criterion,
                "files": files.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
            })),
    )?;
    Ok(files.len())
}

/// A unit's evidence, oldest first; the verification rounds' files only to those who see
/// verified scores.
pub fn evidence(
    conn: &mut DbConnection,
    access: &Access,
    unit: i64,
) -> Result<Vec<Evidence>, DbError> {
    if !access.may_view_unit(unit) {
        return Err(DbError::NotFound);
    }
    let rows: Vec<Evidence> = eval_evidence::table
        .filter(eval_evidence::scheme_id.eq(access.scheme.id))
        .filter(eval_evidence::unit_id.eq(unit))
        .order(eval_evidence::id.asc())
        .select(Evidence::as_select())
        .load(conn)?;
    let verified = access.sees_verified(unit);
    Ok(rows
        .into_iter()
        .filter(|e| verified || e.round == Round::SelfAssessment.as_str())
        .collect())
}

/// One evidence file with its content, if the user may see it.
pub fn evidence_file(
    conn: &mut DbConnection,
    access: &Access,
    id: i64,
) -> Result<(Evidence, Vec<u8>), DbError> {
    let (e, data): (Evidence, Vec<u8>) = eval_evidence::table
        .filter(eval_evidence::id.eq(id))
        .filter(eval_evidence::scheme_id.eq(access.scheme.id))
        .select((Evidence::as_select(), eval_evidence::data))
        .first(conn)?;
    let visible = access.may_view_unit(e.unit_id)
        && (access.sees_verified(e.unit_id) || e.round == Round::SelfAssessment.as_str());
    if !visible {
        return Err(DbError::NotFound);
    }
    Ok((e, data))
}
