//! Scoring an evaluation as pages: a reporter's or reviewer's list of the units they may open,
//! one unit's sheet — every criterion with its maximum, guidance and the evidence it asks for,
//! the unit's claim and the reviewers' scores as far as the reader may see them, and inputs for
//! the round the reader scores now (scores, notes and files in one form that also works on a
//! phone) — evidence downloads, and the organiser's review teams. Who sees what is
//! `shiliu_db::evaluation::access`'s.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::DbError;
use shiliu_db::evaluation::access::{Access, access};
use shiliu_db::evaluation::reminders::{Owed, Owner, Todo};
use shiliu_db::evaluation::scores::{self, Evidence, Score};
use shiliu_db::evaluation::{self as db, teams};
use shiliu_db::scope::{Can, grants};
use shiliu_domain::FieldErrors;
use shiliu_domain::evaluation::{Level, Round, ScoreInput};
use shiliu_domain::files::EVIDENCE_FILES;

use crate::web::error::{AppError, AppResult};
use crate::web::files::FormData;
use crate::web::page::{Layout, Saved, render, render_form, show_minute};
use crate::web::{AppState, Principal};

/// Any of the four ways into an evaluation.
pub(crate) fn actor(p: &Principal) -> AppResult<shiliu_db::scope::Actor> {
    p.require::<grants::ManageEvaluations>()
        .map(Can::into_actor)
        .or_else(|_| {
            p.require::<grants::ReviewEvaluations>()
                .map(Can::into_actor)
        })
        .or_else(|_| {
            p.require::<grants::ReportEvaluations>()
                .map(Can::into_actor)
        })
        .or_else(|_| p.require::<grants::ViewEvaluations>().map(Can::into_actor))
}

// ---- What is left to do ----

/// One piece of work left, as a line on the home page and the scheme list.
pub struct TodoLine {
    pub href: String,
    pub text: String,
    /// "3 days left", or that the deadline has passed.
    pub when: String,
    pub late: bool,
    pub reminded: String,
}

/// What is left of `owed` in words: "还有 3 项未填".
pub(crate) fn left_text(t: crate::web::i18n::T, owed: &Owed, unit: i64) -> String {
    let left = owed
        .units
        .iter()
        .find(|(u, _)| *u == unit)
        .map_or(0, |(_, n)| *n);
    match owed.round {
        Round::SelfAssessment if left == 0 => t.s("eval.left_ready").to_string(),
        Round::SelfAssessment => t.f("eval.left_self", &[("left", &left.to_string())]),
        Round::Objection => t.s("eval.left_objection").to_string(),
        Round::First | Round::Field => t.f("eval.left_review", &[("left", &left.to_string())]),
    }
}

/// How long until `due`, in whole days (or that it has passed).
fn time_left(t: crate::web::i18n::T, due: Option<chrono::NaiveDateTime>) -> (String, bool) {
    let Some(due) = due else {
        return (String::new(), false);
    };
    let left = due - shiliu_db::now();
    if left <= chrono::TimeDelta::zero() {
        (t.s("eval.overdue").to_string(), true)
    } else if left < chrono::TimeDelta::days(1) {
        (t.s("eval.under_a_day").to_string(), false)
    } else {
        (
            t.f("eval.days_left", &[("days", &left.num_days().to_string())]),
            false,
        )
    }
}

pub(crate) fn todo_lines(t: crate::web::i18n::T, todos: &[Todo]) -> Vec<TodoLine> {
    todos
        .iter()
        .map(|x| {
            let due = x.due.map(show_minute).unwrap_or_default();
            let first = x.names.first().cloned().unwrap_or_default();
            let (href, text) = match x.owed.owner {
                Owner::Unit(unit) => (
                    format!("/evaluations/{}/units/{unit}", x.scheme_id),
                    t.f(
                        "eval.todo_unit",
                        &[
                            ("scheme", &x.scheme),
                            ("unit", &first.1),
                            ("left", &left_text(t, &x.owed, unit)),
                            ("due", &due),
                        ],
                    ),
                ),
                Owner::Reviewer(_) => (
                    // One unit: straight to its sheet; more: the scheme's list of them.
                    if x.names.len() == 1 {
                        format!("/evaluations/{}/units/{}", x.scheme_id, first.0)
                    } else {
                        format!("/evaluations/{}", x.scheme_id)
                    },
                    t.f(
                        "eval.todo_review",
                        &[
                            ("scheme", &x.scheme),
                            ("round", &t.label("eval_round", x.owed.round.as_str())),
                            ("units", &x.names.len().to_string()),
                            ("left", &x.owed.criteria_left().to_string()),
                            ("due", &due),
                        ],
                    ),
                ),
            };
            let (when, late) = time_left(t, x.due);
            TodoLine {
                href,
                text,
                when,
                late,
                reminded: x
                    .reminded
                    .map(|at| t.f("eval.reminded", &[("at", &show_minute(at))]))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

// ---- The units a reporter or reviewer may open ----

pub struct UnitLink {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub tasks: Vec<String>,
    /// What is left of the reader's work there.
    pub left: String,
}

#[derive(Template)]
#[template(path = "evaluation/evaluation_units.html")]
struct UnitsPage {
    l: Layout,
    scheme_id: i64,
    published: bool,
    stage: String,
    due: String,
    units: Vec<UnitLink>,
}

/// The scheme page for those who do not run it: their units and what they do there now.
pub async fn units_page(state: &AppState, p: &Principal, a: Access) -> AppResult<Response> {
    let t = p.t();
    let id = a.scheme.id;
    let user = p.user().id;
    let (a, units, categories, owed) = state
        .db
        .read(move |c| {
            let owed = shiliu_db::evaluation::reminders::owed_by(c, &a, user)?;
            let units = db::participants(c, &a.scheme)?;
            let categories = db::categories(c, &a.scheme)?;
            Ok((a, units, categories, owed))
        })
        .await?;
    let now_in = a.scheme.stage();
    let links = a
        .units(&units, |u| u.unit_id)
        .into_iter()
        .map(|u| UnitLink {
            id: u.unit_id,
            name: u.unit_name.clone(),
            category: categories
                .iter()
                .find(|c| c.id == u.category_id)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            tasks: now_in
                .round()
                .filter(|r| a.may_score(*r, u.unit_id))
                .map(|r| t.label("eval_round", r.as_str()))
                .into_iter()
                .collect(),
            left: owed
                .iter()
                .find(|o| o.units.iter().any(|(x, _)| *x == u.unit_id))
                .map(|o| left_text(t, o, u.unit_id))
                .unwrap_or_default(),
        })
        .collect();
    render(&UnitsPage {
        l: Layout::new(p, "nav.evaluations", &a.scheme.name),
        scheme_id: id,
        published: now_in == shiliu_domain::evaluation::Stage::Published,
        stage: t.label("eval_stage", &a.scheme.stage),
        due: a.scheme.due(now_in).map(show_minute).unwrap_or_default(),
        units: links,
    })
}

// ---- One unit's sheet ----

/// A criterion's line: what it asks, and each round's score as far as the reader may see.
pub struct CriterionLine {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub max: String,
    pub kind: String,
    pub guidance: String,
    pub evidence_asked: String,
    /// (round label, points, note, by) for the rounds shown.
    pub rounds: Vec<(String, String, String, String)>,
    pub files: Vec<(i64, String, String)>,
    /// Work-ledger reports linked as evidence (linked, not copied).
    pub ledger: Vec<LedgerLine>,
    /// From the feedback stage on: the score that stands, and the decision on an objection.
    pub verified: String,
    pub decision: String,
    /// The reader's own round's values, for the inputs.
    pub points: String,
    pub note: String,
}

/// A ledger report linked to a criterion: what it says, and its files through the evaluation.
pub struct LedgerLine {
    pub id: i64,
    pub task: String,
    pub period: String,
    pub status: String,
    pub progress: String,
    pub figure: String,
    /// (address, name)
    pub files: Vec<(String, String)>,
}

/// An area or item heading between criteria.
pub struct Heading {
    pub code: String,
    pub name: String,
    pub max: String,
    pub area: bool,
}

pub enum Line {
    Heading(Heading),
    Criterion(Box<CriterionLine>),
}

#[derive(Template)]
#[template(path = "evaluation/evaluation_unit.html")]
struct UnitSheet {
    l: Layout,
    scheme_id: i64,
    unit_id: i64,
    unit: String,
    stage: String,
    due: String,
    /// The round the reader scores now, if any.
    round: Option<String>,
    round_label: String,
    /// Why the reader cannot score now (closed, late, submitted), when they could have.
    closed: String,
    submitted: String,
    self_round: bool,
    /// The unit's objections (反馈复核): the score asked for and the reason.
    objecting: bool,
    lines: Vec<Line>,
    claimed: String,
    errors: Vec<(String, String)>,
    files_hint: String,
}

/// What the sheet shows, read in one go.
struct SheetData {
    a: Access,
    unit: String,
    tree: db::Tree,
    rounds: Vec<(Round, std::collections::BTreeMap<i64, Score>)>,
    files: Vec<Evidence>,
    ledger: Vec<shiliu_db::evaluation::ledger::Linked>,
    submitted: Option<scores::Submission>,
    open: Option<(Round, Result<(), DbError>)>,
    /// From the feedback stage on, to those who see verified scores: criterion → points.
    verified: std::collections::BTreeMap<i64, shiliu_domain::evaluation::Points>,
    decisions: Vec<shiliu_db::evaluation::results::Decision>,
}

async fn sheet_data(state: &AppState, p: &Principal, id: i64, unit: i64) -> AppResult<SheetData> {
    let actor = actor(p)?;
    Ok(state
        .db
        .read(move |c| {
            let a = access(c, &actor, id)?;
            if !a.may_view_unit(unit) {
                return Err(DbError::NotFound);
            }
            let name = db::participants(c, &a.scheme)?
                .into_iter()
                .find(|u| u.unit_id == unit)
                .map(|u| u.unit_name)
                .ok_or(DbError::NotFound)?;
            let mut rounds = vec![(
                Round::SelfAssessment,
                scores::scores(c, id, unit, Round::SelfAssessment)?,
            )];
            if a.sees_verified(unit) {
                for r in [Round::First, Round::Field, Round::Objection] {
                    rounds.push((r, scores::scores(c, id, unit, r)?));
                }
            }
            let current = a.scheme.stage().round().filter(|r| a.may_score(*r, unit));
            let open = current.map(|r| (r, scores::check_open(c, &a, unit, r)));
            let settled = a.scheme.stage() >= shiliu_domain::evaluation::Stage::Feedback;
            let (verified, decisions) = if settled && a.sees_verified(unit) {
                let all = shiliu_db::evaluation::results::verified(c, &a.scheme)?;
                (
                    all.into_iter()
                        .filter(|((u, _), _)| *u == unit)
                        .map(|((_, i), p)| (i, p))
                        .collect(),
                    shiliu_db::evaluation::results::decisions(c, id)?
                        .into_iter()
                        .filter(|d| d.unit_id == unit)
                        .collect(),
                )
            } else {
                (std::collections::BTreeMap::new(), Vec::new())
            };
            Ok(SheetData {
                unit: name,
                tree: db::tree(c, &a.scheme)?,
                files: scores::evidence(c, &a, unit)?,
                ledger: shiliu_db::evaluation::ledger::linked(c, &a, unit)?,
                submitted: scores::submission(c, id, unit, Round::SelfAssessment)?,
                rounds,
                open,
                verified,
                decisions,
                a,
            })
        })
        .await?)
}

fn lines(d: &SheetData, p: &Principal) -> Vec<Line> {
    let t = p.t();
    let mine = d.open.as_ref().map(|(r, _)| *r);
    d.tree
        .nodes
        .iter()
        .map(|(i, max)| {
            if i.level() != Level::Criterion {
                return Line::Heading(Heading {
                    code: i.code.clone(),
                    name: i.name.clone(),
                    max: max.to_string(),
                    area: i.level() == Level::Area,
                });
            }
            let shown = d
                .rounds
                .iter()
                .filter_map(|(r, list)| {
                    let s = list.get(&i.id)?;
                    Some((
                        t.label("eval_round", r.as_str()),
                        s.points().map(|x| x.to_string()).unwrap_or_default(),
                        s.note.clone().unwrap_or_default(),
                        format!("{} · {}", s.scorer, show_minute(s.scored_at)),
                    ))
                })
                .collect();
            let own = mine.and_then(|r| {
                d.rounds
                    .iter()
                    .find(|(x, _)| *x == r)
                    .and_then(|(_, l)| l.get(&i.id))
            });
            Line::Criterion(Box::new(CriterionLine {
                id: i.id,
                code: i.code.clone(),
                name: i.name.clone(),
                max: max.to_string(),
                kind: if i.kind() == shiliu_domain::evaluation::CriterionKind::Standard {
                    String::new()
                } else {
                    t.label("criterion_kind", i.kind().as_str())
                },
                guidance: i.guidance.clone().unwrap_or_default(),
                evidence_asked: i.evidence.clone().unwrap_or_default(),
                rounds: shown,
                files: d
                    .files
                    .iter()
                    .filter(|f| f.indicator_id == i.id)
                    .map(|f| (f.id, f.name.clone(), t.label("eval_round", &f.round)))
                    .collect(),
                ledger: d
                    .ledger
                    .iter()
                    .filter(|x| x.indicator_id == i.id)
                    .map(|x| ledger_line(t, d.a.scheme.id, x))
                    .collect(),
                verified: d
                    .verified
                    .get(&i.id)
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                decision: d
                    .decisions
                    .iter()
                    .find(|x| x.indicator_id == i.id)
                    .map(|x| crate::evaluation::results::decision_text(x, t))
                    .unwrap_or_default(),
                points: own
                    .and_then(Score::points)
                    .map(|x| x.to_string())
                    .unwrap_or_default(),
                note: own.and_then(|s| s.note.clone()).unwrap_or_default(),
            }))
        })
        .collect()
}

fn sheet_page(
    p: &Principal,
    d: &SheetData,
    unit: i64,
    errs: &FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    let t = p.t();
    let s = &d.a.scheme;
    let (round, closed) = match &d.open {
        Some((r, Ok(()))) => (Some(*r), String::new()),
        Some((_, Err(DbError::Invalid(e)))) => (None, t.field_error(&e.0[0])),
        _ => (None, String::new()),
    };
    let claimed: shiliu_domain::evaluation::Points = d
        .rounds
        .first()
        .map(|(_, l)| l.values().filter_map(Score::points).sum())
        .unwrap_or_default();
    let aliases: Vec<(String, String)> = d
        .tree
        .criteria()
        .flat_map(|c| {
            [
                (
                    format!("score.{}", c.code),
                    format!("{} {}", c.code, t.s("eval.score")),
                ),
                (
                    format!("note.{}", c.code),
                    format!("{} {}", c.code, t.s("eval.note")),
                ),
                (
                    format!("files.{}", c.id),
                    format!("{} {}", c.code, t.s("field.evidence")),
                ),
            ]
        })
        .collect();
    let aliases: Vec<(&str, &str)> = aliases
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let page = UnitSheet {
        l: Layout::new(p, "nav.evaluations", &format!("{} · {}", d.unit, s.name)).flash(saved),
        scheme_id: s.id,
        unit_id: unit,
        unit: d.unit.clone(),
        stage: t.label("eval_stage", &s.stage),
        due: s.due(s.stage()).map(show_minute).unwrap_or_default(),
        round_label: round
            .map(|r| t.label("eval_round", r.as_str()))
            .unwrap_or_default(),
        self_round: round == Some(Round::SelfAssessment),
        objecting: round == Some(Round::Objection),
        round: round.map(|r| r.as_str().to_string()),
        closed,
        submitted: d
            .submitted
            .as_ref()
            .map(|x| {
                t.f(
                    "eval.submitted_by",
                    &[("by", &x.submitter), ("at", &show_minute(x.submitted_at))],
                )
            })
            .unwrap_or_default(),
        lines: lines(d, p),
        claimed: claimed.to_string(),
        errors: t.field_errors_as(errs, &aliases),
        files_hint: t.f(
            "eval.files_hint",
            &[
                (
                    "max",
                    &(EVIDENCE_FILES.max_bytes / (1024 * 1024)).to_string(),
                ),
                ("count", &EVIDENCE_FILES.max_files.to_string()),
            ],
        ),
    };
    render_form(&page, !errs.is_empty())
}

pub async fn unit_sheet(
    State(state): State<AppState>,
    p: Principal,
    Path((id, unit)): Path<(i64, i64)>,
    Query(saved): Query<Saved>,
) -> AppResult<Response> {
    let d = sheet_data(&state, &p, id, unit).await?;
    sheet_page(&p, &d, unit, &FieldErrors::new(), saved.yes())
}

#[derive(Deserialize)]
pub struct RoundQuery {
    round: String,
}

/// Save a round's scores, notes and files for one unit; `submit` also submits the
/// self-assessment. One transaction: a refused file or score leaves everything as it was.
pub async fn save_scores(
    State(state): State<AppState>,
    p: Principal,
    Path((id, unit)): Path<(i64, i64)>,
    Query(q): Query<RoundQuery>,
    form: FormData,
) -> AppResult<Response> {
    let actor = actor(&p)?;
    let round = Round::parse(&q.round).ok_or(AppError::BadRequest("round"))?;
    let d = sheet_data(&state, &p, id, unit).await?;
    let sent = |k: &str| {
        form.pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let before = d.rounds.iter().find(|(r, _)| *r == round).map(|(_, l)| l);
    let mut errs = FieldErrors::new();
    let mut entries = Vec::new();
    let mut files = Vec::new();
    for c in d.tree.criteria() {
        let (score, note) = (
            sent(&format!("score.{}", c.id)),
            sent(&format!("note.{}", c.id)),
        );
        if score.is_some() || note.is_some() {
            // A field not sent keeps what was saved (a client may send only what changed).
            let old = before.and_then(|l| l.get(&c.id));
            let score = score.unwrap_or_else(|| {
                old.and_then(Score::points)
                    .map(|p| p.to_string())
                    .unwrap_or_default()
            });
            let note = note.unwrap_or_else(|| old.and_then(|o| o.note.clone()).unwrap_or_default());
            match ScoreInput::parse(&c.code, &score, &note, c.max()) {
                Ok(input) => entries.push((c.id, input)),
                Err(e) => errs.0.extend(e.0),
            }
        }
        match form.files(&format!("files.{}", c.id), EVIDENCE_FILES) {
            Ok(list) if !list.is_empty() => files.push((c.id, list)),
            Ok(_) => {}
            Err(e) => errs.0.extend(e.0),
        }
    }
    let submit = sent("submit").is_some_and(|v| !v.is_empty());
    // Submitting locks the self-assessment: it needs the box under the button ticked.
    // Without it the scores are saved, not submitted, and the page asks again.
    let unconfirmed = submit && sent("confirm_submit").is_none_or(|v| v.is_empty());
    let submit = submit && !unconfirmed;
    let result = match errs.into_result() {
        Ok(()) => {
            state
                .db
                .write(move |c| {
                    let a = access(c, &actor, id)?;
                    scores::save(c, &actor, &a, unit, round, &entries)?;
                    for (criterion, list) in &files {
                        scores::attach(c, &actor, &a, unit, round, *criterion, list)?;
                    }
                    if submit && round == Round::SelfAssessment {
                        scores::submit(c, &actor, &a, unit)?;
                    }
                    Ok(())
                })
                .await
        }
        Err(e) => Err(DbError::Invalid(e)),
    };
    match result {
        Ok(()) if unconfirmed && round == Round::SelfAssessment => {
            let d = sheet_data(&state, &p, id, unit).await?;
            let e = shiliu_domain::FieldError::new("confirm_step", "err.confirm_submit");
            sheet_page(&p, &d, unit, &e.into(), false)
        }
        Ok(()) => {
            Ok(Redirect::to(&format!("/evaluations/{id}/units/{unit}?saved=1")).into_response())
        }
        Err(DbError::Invalid(e)) => {
            let d = sheet_data(&state, &p, id, unit).await?;
            sheet_page(&p, &d, unit, &e, false)
        }
        Err(e) => Err(e.into()),
    }
}

fn ledger_line(
    t: crate::web::i18n::T,
    scheme: i64,
    x: &shiliu_db::evaluation::ledger::Linked,
) -> LedgerLine {
    LedgerLine {
        id: x.id,
        task: x.item_title.clone(),
        period: crate::tasks::ledger::period_text(t, &x.report.period),
        status: t.label("report_status", &x.report.status),
        progress: x.report.progress.clone(),
        figure: x.report.figure.map(|f| f.to_string()).unwrap_or_default(),
        files: x
            .files
            .iter()
            .map(|f| {
                (
                    format!("/evaluations/{scheme}/ledger/{}/files/{}", x.id, f.id),
                    f.name.clone(),
                )
            })
            .collect(),
    }
}

#[derive(Deserialize, Default)]
pub struct LinkForm {
    #[serde(default)]
    criterion: String,
    #[serde(default)]
    report: String,
}

/// The unit links one of its work-ledger reports to a criterion of its open self-assessment
/// (from the task's page); it lands on the sheet, where the report now shows.
pub async fn link_ledger(
    State(state): State<AppState>,
    p: Principal,
    Path((id, unit)): Path<(i64, i64)>,
    Form(f): Form<LinkForm>,
) -> AppResult<Response> {
    let actor = actor(&p)?;
    let picked = |v: &str, field: &str| {
        v.trim()
            .parse::<i64>()
            .map_err(|_| DbError::invalid(field, "err.choice"))
    };
    let result = match (
        picked(&f.criterion, "criterion"),
        picked(&f.report, "report"),
    ) {
        (Ok(criterion), Ok(report)) => {
            state
                .db
                .write(move |c| {
                    let a = access(c, &actor, id)?;
                    shiliu_db::evaluation::ledger::link(c, &actor, &a, (unit, criterion), report)
                        .map(|_| criterion)
                })
                .await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match result {
        Ok(criterion) => Ok(Redirect::to(&format!(
            "/evaluations/{id}/units/{unit}?saved=1#c{criterion}"
        ))
        .into_response()),
        Err(DbError::Invalid(e)) => {
            let d = sheet_data(&state, &p, id, unit).await?;
            sheet_page(&p, &d, unit, &e, false)
        }
        Err(e) => Err(e.into()),
    }
}

/// The unit removes a linked report from its open self-assessment (a button of the sheet's
/// form, which sends the link chosen).
pub async fn unlink_ledger(
    State(state): State<AppState>,
    p: Principal,
    Path((id, unit)): Path<(i64, i64)>,
    form: FormData,
) -> AppResult<Response> {
    let actor = actor(&p)?;
    let link = form
        .pairs
        .iter()
        .find(|(k, _)| k == "unlink")
        .and_then(|(_, v)| v.trim().parse::<i64>().ok())
        .ok_or(AppError::BadRequest("unlink"))?;
    state
        .db
        .write(move |c| {
            let a = access(c, &actor, id)?;
            shiliu_db::evaluation::ledger::unlink(c, &actor, &a, unit, link)
        })
        .await?;
    Ok(Redirect::to(&format!("/evaluations/{id}/units/{unit}?saved=1")).into_response())
}

/// A file of a linked ledger report, to whoever sees the unit's sheet.
pub async fn ledger_file(
    State(state): State<AppState>,
    p: Principal,
    Path((id, link, file)): Path<(i64, i64, i64)>,
) -> AppResult<Response> {
    let actor = actor(&p)?;
    let (f, bytes) = state
        .db
        .read(move |c| {
            let a = access(c, &actor, id)?;
            shiliu_db::evaluation::ledger::file(c, &a, link, file)
        })
        .await?;
    let inline = f.content_type.starts_with("image/");
    Ok(crate::web::files::serve(
        &f.content_type,
        &f.name,
        inline,
        bytes,
    ))
}

pub async fn evidence_file(
    State(state): State<AppState>,
    p: Principal,
    Path((id, file)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let actor = actor(&p)?;
    let (e, bytes) = state
        .db
        .read(move |c| {
            let a = access(c, &actor, id)?;
            scores::evidence_file(c, &a, file)
        })
        .await?;
    let inline = shiliu_domain::files::FileKind::parse(&e.content_type)
        .is_some_and(shiliu_domain::files::FileKind::inline);
    Ok(crate::web::files::serve(
        &e.content_type,
        &e.name,
        inline,
        bytes,
    ))
}

// ---- Review teams (the organiser's) ----

#[derive(Deserialize)]
pub struct TeamForm {
    #[serde(default)]
    round: String,
    #[serde(default)]
    team_name: String,
}

async fn team_change<F>(state: &AppState, p: &Principal, id: i64, f: F) -> AppResult<Response>
where
    F: FnOnce(&mut shiliu_db::DbConnection, &shiliu_db::scope::Actor) -> Result<(), DbError>
        + Send
        + 'static,
{
    let actor = p.require::<grants::ManageEvaluations>()?;
    let result = state.db.write(move |c| f(c, &actor)).await;
    crate::evaluation::pages::after(state, p, id, result, None).await
}

pub async fn create_team(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<TeamForm>,
) -> AppResult<Response> {
    team_change(&state, &p, id, move |c, a| {
        let round =
            Round::parse(&f.round).ok_or_else(|| DbError::invalid("round", "err.choice"))?;
        teams::create_team(c, a, id, round, &f.team_name).map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    username: String,
}

pub async fn add_member(
    State(state): State<AppState>,
    p: Principal,
    Path((id, team)): Path<(i64, i64)>,
    Form(f): Form<MemberForm>,
) -> AppResult<Response> {
    team_change(&state, &p, id, move |c, a| {
        teams::add_member(c, a, id, team, &f.username)
    })
    .await
}

/// The units a team reviews: the checked `unit` boxes.
pub async fn assign_units(
    State(state): State<AppState>,
    p: Principal,
    Path((id, team)): Path<(i64, i64)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let units: Vec<i64> = pairs
        .iter()
        .filter(|(k, _)| k == "unit")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    team_change(&state, &p, id, move |c, a| {
        teams::assign_units(c, a, id, team, &units)
    })
    .await
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/evaluations/{id}/units/{unit}", get(unit_sheet))
        .route("/evaluations/{id}/units/{unit}/scores", post(save_scores))
        .route("/evaluations/{id}/evidence/{file}", get(evidence_file))
        .route("/evaluations/{id}/units/{unit}/ledger", post(link_ledger))
        .route(
            "/evaluations/{id}/units/{unit}/ledger/remove",
            post(unlink_ledger),
        )
        .route(
            "/evaluations/{id}/ledger/{link}/files/{upload}",
            get(ledger_file),
        )
        .route("/evaluations/{id}/teams", post(create_team))
        .route("/evaluations/{id}/teams/{team}/members", post(add_member))
        .route("/evaluations/{id}/teams/{team}/units", post(assign_units))
}
