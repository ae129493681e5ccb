//! The JSON API of performance evaluation (see `pages::evaluation*` for the pages and
//! `shiliu_db::evaluation` for the rules and who may see what): the schemes a caller has a
//! way into, one scheme with its tree and units, a unit's scores, entering scores (any round
//! the caller may score now, by criterion code), the results, what is left to the caller,
//! and the organiser's reminders.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shiliu_db::DbError;
use shiliu_db::evaluation::access::{access, visible_schemes};
use shiliu_db::evaluation::reminders::{self, Owner};
use shiliu_db::evaluation::{self as db, Scheme, results, scores};
use shiliu_db::scope::grants;
use shiliu_domain::evaluation::{Round, ScoreInput};
use shiliu_domain::{FieldError, FieldErrors};
use utoipa::ToSchema;

use crate::evaluation::scores::actor;
use crate::web::error::{AppError, AppResult};
use crate::web::{AppState, Principal};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(list, get, unit_scores, save_scores, results, todo, remind),
    components(schemas(
        SchemeDto,
        IndicatorDto,
        EvalUnitDto,
        SchemeDetail,
        ScoreDto,
        ScoreEntry,
        ScoresBody,
        ResultDto,
        TodoDto,
        TodoUnitDto,
        RemindedDto
    ))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
pub struct SchemeDto {
    id: i64,
    year: i32,
    name: String,
    organiser: String,
    /// `draft`, `self_assessment`, `first_review`, `field_review`, `feedback`, `final`, `published`
    stage: String,
    /// `field_first`, `mean`, `lower`
    merge_rule: String,
    /// Deadlines of the stages, UTC.
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    self_due: Option<chrono::NaiveDateTime>,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    first_due: Option<chrono::NaiveDateTime>,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    field_due: Option<chrono::NaiveDateTime>,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    feedback_due: Option<chrono::NaiveDateTime>,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    published_at: Option<chrono::NaiveDateTime>,
}

impl From<Scheme> for SchemeDto {
    fn from(s: Scheme) -> Self {
        Self {
            id: s.id,
            year: s.year,
            name: s.name,
            organiser: s.organiser,
            stage: s.stage,
            merge_rule: s.merge_rule,
            self_due: s.self_due,
            first_due: s.first_due,
            field_due: s.field_due,
            feedback_due: s.feedback_due,
            published_at: s.published_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IndicatorDto {
    id: i64,
    parent_id: Option<i64>,
    /// `area`, `item`, `criterion`
    level: String,
    code: String,
    name: String,
    /// Points (a criterion's own; an area's or item's the sum of its criteria).
    max_points: f64,
    /// `standard`, `bonus`, `deduction` (criteria)
    kind: String,
    guidance: Option<String>,
    evidence: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EvalUnitDto {
    unit_id: i64,
    name: String,
    category: String,
    key_unit: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SchemeDetail {
    scheme: SchemeDto,
    indicators: Vec<IndicatorDto>,
    /// The units the caller may open.
    units: Vec<EvalUnitDto>,
}

/// The schemes the caller runs, takes part in or reviews, newest year first.
#[utoipa::path(get, path = "/api/v1/evaluations", responses((status = 200, body = [SchemeDto])))]
pub async fn list(State(state): State<AppState>, p: Principal) -> AppResult<Json<Vec<SchemeDto>>> {
    let actor = actor(&p)?;
    let list = state.db.read(move |c| visible_schemes(c, &actor)).await?;
    Ok(Json(list.into_iter().map(SchemeDto::from).collect()))
}

/// One scheme: its indicator tree and the units the caller may open.
#[utoipa::path(get, path = "/api/v1/evaluations/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = SchemeDetail), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<SchemeDetail>> {
    let actor = actor(&p)?;
    let (a, tree, units, cats) = state
        .db
        .read(move |c| {
            let a = access(c, &actor, id)?;
            let tree = db::tree(c, &a.scheme)?;
            let units = db::participants(c, &a.scheme)?;
            let cats = db::categories(c, &a.scheme)?;
            Ok((a, tree, units, cats))
        })
        .await?;
    let indicators = tree
        .nodes
        .iter()
        .map(|(i, max)| IndicatorDto {
            id: i.id,
            parent_id: i.parent_id,
            level: i.level.clone(),
            code: i.code.clone(),
            name: i.name.clone(),
            max_points: max.as_f64(),
            kind: i.kind.clone(),
            guidance: i.guidance.clone(),
            evidence: i.evidence.clone(),
        })
        .collect();
    let units = a
        .units(&units, |u| u.unit_id)
        .into_iter()
        .map(|u| EvalUnitDto {
            unit_id: u.unit_id,
            name: u.unit_name.clone(),
            category: cats
                .iter()
                .find(|k| k.id == u.category_id)
                .map(|k| k.name.clone())
                .unwrap_or_default(),
            key_unit: u.key_unit,
        })
        .collect();
    Ok(Json(SchemeDetail {
        scheme: a.scheme.into(),
        indicators,
        units,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ScoreDto {
    /// The criterion's code.
    criterion: String,
    /// `self`, `first`, `field`, `objection`
    round: String,
    points: Option<f64>,
    note: Option<String>,
    scorer: String,
    #[serde(serialize_with = "crate::web::api::moment")]
    scored_at: chrono::NaiveDateTime,
}

/// A unit's scores in the rounds the caller may see (its own claims; the verification rounds
/// for reviewers and the organiser, and for the unit from the feedback stage on).
#[utoipa::path(get, path = "/api/v1/evaluations/{id}/units/{unit}/scores", params(("id" = i64, Path), ("unit" = i64, Path)),
    responses((status = 200, body = [ScoreDto]), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn unit_scores(
    State(state): State<AppState>,
    p: Principal,
    Path((id, unit)): Path<(i64, i64)>,
) -> AppResult<Json<Vec<ScoreDto>>> {
    let actor = actor(&p)?;
    let rows = state
        .db
        .read(move |c| {
            let a = access(c, &actor, id)?;
            if !a.may_view_unit(unit) {
                return Err(DbError::NotFound);
            }
            let tree = db::tree(c, &a.scheme)?;
            let mut out = Vec::new();
            for round in Round::ALL {
                if *round != Round::SelfAssessment && !a.sees_verified(unit) {
                    continue;
                }
                for (criterion, s) in scores::scores(c, id, unit, *round)? {
                    let code = tree
                        .nodes
                        .iter()
                        .find(|(i, _)| i.id == criterion)
                        .map(|(i, _)| i.code.clone())
                        .unwrap_or_default();
                    out.push(ScoreDto {
                        criterion: code,
                        round: round.as_str().into(),
                        points: s.points().map(shiliu_domain::evaluation::Points::as_f64),
                        note: s.note,
                        scorer: s.scorer,
                        scored_at: s.scored_at,
                    });
                }
            }
            Ok(out)
        })
        .await?;
    Ok(Json(rows))
}

#[derive(Deserialize, ToSchema)]
pub struct ScoreEntry {
    /// The criterion's code, e.g. `1.1.2`.
    criterion: String,
    /// Points as text or a number, at most two decimals; blank or absent: not yet scored.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    points: Option<serde_json::Value>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ScoresBody {
    /// `self`, `first`, `field` or `objection`: the round the caller scores now.
    round: String,
    scores: Vec<ScoreEntry>,
    /// With `round` self: submit the self-assessment after saving.
    #[serde(default)]
    submit: bool,
}

/// Enter scores for a unit in the round the caller may score now; one transaction.
#[utoipa::path(post, path = "/api/v1/evaluations/{id}/units/{unit}/scores", params(("id" = i64, Path), ("unit" = i64, Path)),
    request_body = ScoresBody,
    responses((status = 200, body = [ScoreDto]), (status = 404, body = crate::web::api::ErrorBody),
              (status = 422, description = "a score above its maximum, a closed or late round, an unknown criterion", body = crate::web::api::ErrorBody)))]
pub async fn save_scores(
    State(state): State<AppState>,
    p: Principal,
    Path((id, unit)): Path<(i64, i64)>,
    Json(b): Json<ScoresBody>,
) -> AppResult<Json<Vec<ScoreDto>>> {
    let writer = actor(&p)?;
    let round = Round::parse(&b.round)
        .ok_or_else(|| AppError::from(FieldErrors::from(FieldError::new("round", "err.choice"))))?;
    state
        .db
        .write(move |c| {
            let a = access(c, &writer, id)?;
            let tree = db::tree(c, &a.scheme)?;
            let mut errs = FieldErrors::new();
            let mut entries = Vec::new();
            for e in &b.scores {
                let Some(x) = tree.criteria().find(|x| x.code == e.criterion) else {
                    errs.push(FieldError::new(
                        format!("score.{}", e.criterion),
                        "err.choice",
                    ));
                    continue;
                };
                let points = match &e.points {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Number(n)) => n.to_string(),
                    _ => String::new(),
                };
                match ScoreInput::parse(
                    &x.code,
                    &points,
                    e.note.as_deref().unwrap_or_default(),
                    x.max(),
                ) {
                    Ok(input) => entries.push((x.id, input)),
                    Err(e) => errs.0.extend(e.0),
                }
            }
            errs.into_result()?;
            scores::save(c, &writer, &a, unit, round, &entries)?;
            if b.submit && round == Round::SelfAssessment {
                scores::submit(c, &writer, &a, unit)?;
            }
            Ok(())
        })
        .await?;
    unit_scores(State(state), p, Path((id, unit))).await
}

#[derive(Serialize, ToSchema)]
pub struct ResultDto {
    unit_id: i64,
    unit: String,
    category: String,
    rank: usize,
    total: f64,
    bonus: f64,
    deduction: f64,
    grade: String,
    commended: bool,
}

/// Totals, ranks within each category and grades: published ones to everyone taking part, a
/// preview to the organiser before.
#[utoipa::path(get, path = "/api/v1/evaluations/{id}/results", params(("id" = i64, Path)),
    responses((status = 200, body = [ResultDto]), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn results(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<ResultDto>>> {
    let actor = actor(&p)?;
    let (list, cats) = state
        .db
        .read(move |c| {
            let a = access(c, &actor, id)?;
            if !a.organiser && a.scheme.stage() != shiliu_domain::evaluation::Stage::Published {
                return Err(DbError::NotFound);
            }
            Ok((
                results::results(c, &a.scheme)?,
                db::categories(c, &a.scheme)?,
            ))
        })
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|r| ResultDto {
                category: cats
                    .iter()
                    .find(|k| k.id == r.category_id)
                    .map(|k| k.name.clone())
                    .unwrap_or_default(),
                unit_id: r.unit_id,
                unit: r.unit_name,
                rank: r.rank,
                total: r.total.total.as_f64(),
                bonus: r.total.bonus.as_f64(),
                deduction: r.total.deduction.as_f64(),
                grade: r.grade,
                commended: r.commended,
            })
            .collect(),
    ))
}

/// A unit of the work left, with the criteria not yet scored (0 in the feedback window).
#[derive(Serialize, ToSchema)]
pub struct TodoUnitDto {
    unit_id: i64,
    name: String,
    criteria_left: i64,
}

/// One piece of work the caller has left in a scheme.
#[derive(Serialize, ToSchema)]
pub struct TodoDto {
    scheme_id: i64,
    scheme: String,
    /// The stage the scheme is in.
    stage: String,
    /// The round the work is for: `self`, `first`, `field`, `objection`.
    round: String,
    /// `unit` (the caller's unit's work) or `reviewer` (their teams' units).
    owner: String,
    /// The stage's deadline, UTC.
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    due: Option<chrono::NaiveDateTime>,
    units: Vec<TodoUnitDto>,
    /// When the caller was last reminded (催报) in this stage.
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    reminded_at: Option<chrono::NaiveDateTime>,
}

/// What the caller has left to do: their unit's self-assessment or objections, their teams'
/// units to score, with the deadlines and any reminder.
#[utoipa::path(get, path = "/api/v1/evaluations/todo", responses((status = 200, body = [TodoDto])))]
pub async fn todo(State(state): State<AppState>, p: Principal) -> AppResult<Json<Vec<TodoDto>>> {
    let actor = actor(&p)?;
    let list = state.db.read(move |c| reminders::todo(c, &actor)).await?;
    Ok(Json(
        list.into_iter()
            .map(|x| TodoDto {
                scheme_id: x.scheme_id,
                scheme: x.scheme,
                stage: x.stage.as_str().to_string(),
                round: x.owed.round.as_str().to_string(),
                owner: match x.owed.owner {
                    Owner::Unit(_) => "unit".into(),
                    Owner::Reviewer(_) => "reviewer".into(),
                },
                due: x.due,
                units: x
                    .owed
                    .units
                    .iter()
                    .zip(x.names)
                    .map(|((unit_id, left), (_, name))| TodoUnitDto {
                        unit_id: *unit_id,
                        name,
                        criteria_left: *left,
                    })
                    .collect(),
                reminded_at: x.reminded,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct RemindedDto {
    /// Units and reviewers reminded.
    sent: usize,
}

/// Remind (催报) everyone who still owes work in the scheme's current stage (the organiser).
#[utoipa::path(post, path = "/api/v1/evaluations/{id}/reminders", params(("id" = i64, Path)),
    responses((status = 200, body = RemindedDto), (status = 404, body = crate::web::api::ErrorBody),
              (status = 422, description = "nothing left to remind of, or the deadline has passed", body = crate::web::api::ErrorBody)))]
pub async fn remind(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<RemindedDto>> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let sent = state
        .db
        .write(move |c| reminders::remind_now(c, &actor, id))
        .await?;
    Ok(Json(RemindedDto { sent }))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/api/v1/evaluations", get(list))
        .route("/api/v1/evaluations/todo", get(todo))
        .route("/api/v1/evaluations/{id}/reminders", post(remind))
        .route("/api/v1/evaluations/{id}", get(self::get))
        .route(
            "/api/v1/evaluations/{id}/units/{unit}/scores",
            get(unit_scores).post(save_scores),
        )
        .route("/api/v1/evaluations/{id}/results", get(results))
}
