//! Performance evaluation (绩效考评) as pages: the organiser's list of schemes and the
//! workbench of one — header, stages and deadlines, categories and units, the indicator tree
//! (by form here; from Excel and back in `sheets`), weights. The rules are
//! `shiliu_domain::evaluation`'s; what is stored and locked, `shiliu_db::evaluation`'s.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::DbError;
use shiliu_db::evaluation::reminders::{Owner, Reminder};
use shiliu_db::evaluation::{self as db, Participant, Scheme, Tree};
use shiliu_db::scope::grants;
use shiliu_db::scope::{Actor, Can};
use shiliu_domain::evaluation::{
    CriterionKind, IndicatorInput, Level, MergeRule, Points, SchemeInput, Stage, deadline,
};
use shiliu_domain::roles::Permission;
use shiliu_domain::{FieldError, FieldErrors};

use crate::web::error::AppResult;
use crate::web::i18n::T;
use crate::web::page::{Layout, Saved, options, render_form};
use crate::web::{AppState, Principal};

// ---- The list ----

pub struct SchemeRow {
    pub id: i64,
    pub year: i32,
    pub name: String,
    pub organiser: String,
    pub stage: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct SchemeForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    organiser: String,
    #[serde(default)]
    merge_rule: String,
    #[serde(default)]
    bonus_cap: String,
    #[serde(default)]
    deduction_cap: String,
    #[serde(default)]
    grades: String,
    #[serde(default)]
    version: i32,
}

impl SchemeForm {
    fn parse(&self) -> Result<SchemeInput, FieldErrors> {
        SchemeInput::parse(
            &self.year,
            &self.name,
            &self.organiser,
            &self.merge_rule,
            &self.bonus_cap,
            &self.deduction_cap,
            &self.grades,
        )
    }

    fn of(s: &Scheme) -> Self {
        SchemeForm {
            year: s.year.to_string(),
            name: s.name.clone(),
            organiser: s.organiser.clone(),
            merge_rule: s.merge_rule.clone(),
            bonus_cap: s.bonus_cap().map(|p| p.to_string()).unwrap_or_default(),
            deduction_cap: s.deduction_cap().map(|p| p.to_string()).unwrap_or_default(),
            grades: s.grades().text(),
            version: s.version,
        }
    }
}

#[derive(Template)]
#[template(path = "evaluation/evaluations.html")]
struct ListPage {
    l: Layout,
    todo: Vec<crate::evaluation::scores::TodoLine>,
    rows: Vec<SchemeRow>,
    can_create: bool,
    f: SchemeForm,
    rules: Vec<(String, String)>,
    errors: Vec<(String, String)>,
}

fn list_page(
    p: &Principal,
    (schemes, todo): (Vec<Scheme>, Vec<shiliu_db::evaluation::reminders::Todo>),
    f: SchemeForm,
    errs: &FieldErrors,
) -> AppResult<Response> {
    let t = p.t();
    let rows = schemes
        .into_iter()
        .map(|s| SchemeRow {
            id: s.id,
            year: s.year,
            stage: t.label("eval_stage", &s.stage),
            name: s.name,
            organiser: s.organiser,
        })
        .collect();
    render_form(
        &ListPage {
            l: Layout::new(p, "nav.evaluations", t.s("eval.title")),
            todo: crate::evaluation::scores::todo_lines(t, &todo),
            rows,
            can_create: p.can(Permission::ManageEvaluations),
            f,
            rules: options(MergeRule::ALL, MergeRule::as_str, "merge_rule", t),
            errors: t.field_errors(errs),
        },
        !errs.is_empty(),
    )
}

/// The schemes the user has a way into (running them, their unit taking part, reviewing),
/// and what is left to them there.
async fn visible(
    state: &AppState,
    p: &Principal,
) -> AppResult<(Vec<Scheme>, Vec<shiliu_db::evaluation::reminders::Todo>)> {
    let actor = crate::evaluation::scores::actor(p)?;
    Ok(state
        .db
        .read(move |c| {
            Ok((
                shiliu_db::evaluation::access::visible_schemes(c, &actor)?,
                shiliu_db::evaluation::reminders::todo(c, &actor)?,
            ))
        })
        .await?)
}

pub async fn list(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    let schemes = visible(&state, &p).await?;
    let f = SchemeForm {
        year: shiliu_db::today().format("%Y").to_string(),
        merge_rule: MergeRule::FieldFirst.as_str().into(),
        grades: shiliu_domain::evaluation::Grades::default().text(),
        ..SchemeForm::default()
    };
    list_page(&p, schemes, f, &FieldErrors::new())
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Form(f): Form<SchemeForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let result = match f.parse() {
        Ok(input) => {
            let region = p.user().region_id;
            state
                .db
                .write(move |c| db::create_scheme(c, &actor, region, &input))
                .await
        }
        Err(e) => Err(DbError::Invalid(e)),
    };
    match result {
        Ok(s) => Ok(Redirect::to(&format!("/evaluations/{}?saved=1", s.id)).into_response()),
        Err(DbError::Invalid(e)) => {
            let schemes = visible(&state, &p).await?;
            list_page(&p, schemes, f, &e)
        }
        Err(e) => Err(e.into()),
    }
}

// ---- One scheme ----

pub struct Due {
    pub field: &'static str,
    pub label: String,
    /// As a datetime field's value, in China time.
    pub value: String,
    pub closed: bool,
}

pub struct NodeRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: &'static str,
    pub kind: String,
    pub max: String,
    pub guidance: String,
    pub evidence: String,
    pub leaf: bool,
}

/// One unit on the organiser's progress board.
pub struct ProgressRow {
    pub unit_id: i64,
    pub unit: String,
    pub category: String,
    /// Per round shown: (text, late).
    pub cells: Vec<(String, bool)>,
    /// When the unit was reminded in the current stage.
    pub reminded: String,
}

/// One reviewer's share of a verification round, on the organiser's board.
pub struct WorkloadRow {
    pub name: String,
    pub round: String,
    pub teams: String,
    pub assigned: usize,
    pub done: usize,
    pub criteria_left: i64,
    pub reminded: String,
}

pub struct TeamRow {
    pub id: i64,
    pub name: String,
    pub round: String,
    pub members: String,
    /// Every unit taking part: (id, name, reviewed by this team).
    pub units: Vec<(i64, String, bool)>,
}

pub struct CategoryView {
    pub id: i64,
    pub name: String,
    pub units: Vec<(i64, String, bool)>,
    /// Per area: (area id, the points it counts for here, blank for its own maximum).
    pub weights: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "evaluation/evaluation.html")]
struct SchemePage {
    l: Layout,
    s: Scheme,
    f: SchemeForm,
    draft: bool,
    stage: String,
    next: Option<String>,
    /// What moving to the next stage means, said before it is confirmed.
    advance_means: String,
    dues: Vec<Due>,
    categories: Vec<CategoryView>,
    unit_names: Vec<String>,
    nodes: Vec<NodeRow>,
    parents: Vec<(i64, String)>,
    areas: Vec<(i64, String)>,
    kinds: Vec<(String, String)>,
    rules: Vec<(String, String)>,
    totals: String,
    teams: Vec<TeamRow>,
    board: Vec<ProgressRow>,
    board_rounds: Vec<String>,
    workload: Vec<WorkloadRow>,
    /// The current stage runs to a deadline still ahead: reminders may be sent.
    may_remind: bool,
    /// Teams can still be formed (the verification rounds have not closed).
    teams_open: bool,
    rounds: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    sheet_errors: Vec<(String, String, String)>,
}

/// What the page shows beyond the scheme itself, read in one go.
pub(super) struct Parts {
    pub(super) s: Scheme,
    pub(super) categories: Vec<db::Category>,
    pub(super) units: Vec<db::ParticipantRow>,
    pub(super) tree: Tree,
    weights: Vec<(i64, i64, Points)>,
    candidates: Vec<String>,
    teams: Vec<shiliu_db::evaluation::teams::TeamView>,
    progress: shiliu_db::evaluation::scores::Progress,
    /// Reminders sent in the current stage.
    sent: Vec<Reminder>,
    /// Who still owes work in the current stage (what moving on leaves undone).
    owed: Vec<shiliu_db::evaluation::reminders::Owed>,
}

pub(super) async fn parts(state: &AppState, p: &Principal, id: i64) -> AppResult<Parts> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    Ok(state
        .db
        .read(move |c| {
            let s = db::get_scheme(c, actor.scope(), id)?;
            let units = db::participants(c, &s)?;
            let candidates = db::candidate_units(c, &s, &units)?;
            Ok(Parts {
                categories: db::categories(c, &s)?,
                tree: db::tree(c, &s)?,
                weights: db::weights(c, &s)?,
                teams: shiliu_db::evaluation::teams::teams(c, &s)?,
                progress: shiliu_db::evaluation::scores::progress(c, id, None)?,
                sent: shiliu_db::evaluation::reminders::sent(c, &s)?,
                owed: shiliu_db::evaluation::reminders::owed(
                    c,
                    &s,
                    shiliu_db::evaluation::reminders::Who::Everyone,
                )?,
                units,
                candidates,
                s,
            })
        })
        .await?)
}

fn node_rows(tree: &Tree, t: T) -> Vec<NodeRow> {
    tree.nodes
        .iter()
        .map(|(i, max)| NodeRow {
            id: i.id,
            code: i.code.clone(),
            name: i.name.clone(),
            level: i.level().as_str(),
            kind: if i.level() == Level::Criterion && i.kind() != CriterionKind::Standard {
                t.label("criterion_kind", i.kind().as_str())
            } else {
                String::new()
            },
            max: max.to_string(),
            guidance: i.guidance.clone().unwrap_or_default(),
            evidence: i.evidence.clone().unwrap_or_default(),
            leaf: !tree.nodes.iter().any(|(c, _)| c.parent_id == Some(i.id)),
        })
        .collect()
}

fn dues(s: &Scheme, t: T) -> Vec<Due> {
    Stage::TIMED
        .into_iter()
        .map(|stage| Due {
            field: stage.due_field().unwrap_or_default(),
            label: t.label("eval_stage", stage.as_str()),
            value: s
                .due(stage)
                .map(|d| {
                    shiliu_domain::calendar::local(d)
                        .format("%Y-%m-%dT%H:%M")
                        .to_string()
                })
                .unwrap_or_default(),
            closed: stage < s.stage(),
        })
        .collect()
}

/// Where every unit is: criteria scored of all, per round; submitted; late where the round's
/// deadline has passed and it is not done.
fn progress_rows(parts: &Parts, t: T) -> Vec<ProgressRow> {
    use shiliu_domain::evaluation::Round;
    let (counts, submitted) = (&parts.progress.scored, &parts.progress.submitted);
    let all = parts.tree.criteria().count();
    let s = &parts.s;
    let now = shiliu_db::now();
    parts
        .units
        .iter()
        .map(|u| {
            let cells = Round::ALL
                .iter()
                .map(|r| {
                    let n = counts
                        .get(&(u.unit_id, r.as_str().to_string()))
                        .copied()
                        .unwrap_or_default();
                    let expected = match r {
                        Round::Field => u.key_unit,
                        Round::Objection => false,
                        Round::SelfAssessment | Round::First => true,
                    };
                    let done = match r {
                        Round::SelfAssessment => submitted.contains(&u.unit_id),
                        _ => usize::try_from(n).unwrap_or_default() >= all,
                    };
                    let passed = s.due(r.stage()).is_some_and(|d| now > d) || s.stage() > r.stage();
                    let text = match r {
                        Round::Objection if n > 0 => n.to_string(),
                        Round::Objection => String::new(),
                        Round::SelfAssessment if done => t.s("eval.submitted").to_string(),
                        _ if !expected => "—".to_string(),
                        _ => format!("{n}/{all}"),
                    };
                    (text, expected && !done && passed && s.stage() >= r.stage())
                })
                .collect();
            ProgressRow {
                reminded: reminded(parts, Owner::Unit(u.unit_id)),
                unit_id: u.unit_id,
                unit: u.unit_name.clone(),
                category: parts
                    .categories
                    .iter()
                    .find(|c| c.id == u.category_id)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                cells,
            }
        })
        .collect()
}

/// When `owner` was last reminded in the current stage, and how often.
fn reminded(parts: &Parts, owner: Owner) -> String {
    parts
        .sent
        .iter()
        .find(|r| r.owner() == owner)
        .map(|r| {
            if r.times > 1 {
                format!(
                    "{} (×{})",
                    crate::web::page::show_minute(r.sent_at),
                    r.times
                )
            } else {
                crate::web::page::show_minute(r.sent_at)
            }
        })
        .unwrap_or_default()
}

/// Each reviewer's units in each verification round: assigned, fully scored, criteria left.
fn workload_rows(parts: &Parts, t: T) -> Vec<WorkloadRow> {
    use shiliu_domain::evaluation::Round;
    let all = parts.tree.criteria().count() as i64;
    let mut rows = Vec::new();
    for round in Round::REVIEWS {
        let teams: Vec<_> = parts
            .teams
            .iter()
            .filter(|v| v.team.round == round.as_str())
            .collect();
        let mut members: Vec<(i64, String)> = teams
            .iter()
            .flat_map(|v| v.members.iter().cloned())
            .collect();
        members.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        members.dedup_by_key(|m| m.0);
        for (user, name) in members {
            let mine: Vec<_> = teams
                .iter()
                .filter(|v| v.members.iter().any(|(m, _)| *m == user))
                .collect();
            let mut units: Vec<i64> = mine.iter().flat_map(|v| v.units.iter().copied()).collect();
            units.sort_unstable();
            units.dedup();
            let left: Vec<i64> = units
                .iter()
                .map(|u| (all - parts.progress.scored(*u, round)).max(0))
                .collect();
            rows.push(WorkloadRow {
                name,
                round: t.label("eval_round", round.as_str()),
                teams: mine
                    .iter()
                    .map(|v| v.team.name.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
                assigned: units.len(),
                done: left.iter().filter(|n| **n == 0).count(),
                criteria_left: left.iter().sum(),
                reminded: reminded(parts, Owner::Reviewer(user)),
            });
        }
    }
    rows
}

fn team_rows(parts: &Parts, t: T) -> Vec<TeamRow> {
    parts
        .teams
        .iter()
        .map(|v| TeamRow {
            id: v.team.id,
            name: v.team.name.clone(),
            round: t.label("eval_round", &v.team.round),
            members: v
                .members
                .iter()
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
                .join("、"),
            units: parts
                .units
                .iter()
                .map(|u| (u.unit_id, u.unit_name.clone(), v.units.contains(&u.unit_id)))
                .collect(),
        })
        .collect()
}

fn categories_view(parts: &Parts) -> Vec<CategoryView> {
    parts
        .categories
        .iter()
        .map(|c| CategoryView {
            id: c.id,
            name: c.name.clone(),
            units: parts
                .units
                .iter()
                .filter(|u| u.category_id == c.id)
                .map(|u| (u.unit_id, u.unit_name.clone(), u.key_unit))
                .collect(),
            weights: parts
                .tree
                .areas()
                .map(|(a, _)| {
                    let w = parts
                        .weights
                        .iter()
                        .find(|(k, area, _)| *k == c.id && *area == a.id)
                        .map(|(_, _, p)| p.to_string())
                        .unwrap_or_default();
                    (a.id, w)
                })
                .collect(),
        })
        .collect()
}

/// What ending the current stage leaves undone, in words: the units that have not submitted
/// their self-assessment, the units not fully scored in a review round, or the units' last
/// chance to object.
fn advance_means(parts: &Parts, t: T) -> String {
    let units = |owed: &[shiliu_db::evaluation::reminders::Owed]| {
        let mut left: Vec<i64> = owed
            .iter()
            .flat_map(|o| o.units.iter().filter(|(_, n)| *n > 0).map(|(u, _)| *u))
            .collect();
        left.sort_unstable();
        left.dedup();
        left.len().to_string()
    };
    match parts.s.stage().round() {
        Some(shiliu_domain::evaluation::Round::SelfAssessment) => t.f(
            "eval.advance_means_self",
            &[("n", &parts.owed.len().to_string())],
        ),
        Some(shiliu_domain::evaluation::Round::Objection) => {
            t.s("eval.advance_means_objection").to_string()
        }
        Some(_) => t.f("eval.advance_means_review", &[("n", &units(&parts.owed))]),
        None if parts.s.stage() == Stage::Draft => t.f(
            "eval.advance_means_draft",
            &[("n", &parts.units.len().to_string())],
        ),
        None => t.s("eval.advance_means_final").to_string(),
    }
}

pub(super) fn scheme_page(
    p: &Principal,
    parts: Parts,
    f: Option<SchemeForm>,
    errs: &FieldErrors,
    sheet_errors: Vec<(String, String, String)>,
    saved: bool,
) -> AppResult<Response> {
    let t = p.t();
    let s = &parts.s;
    let totals = t.f(
        "eval.totals",
        &[
            ("criteria", &parts.tree.criteria().count().to_string()),
            ("max", &parts.tree.standard_max().to_string()),
            ("units", &parts.units.len().to_string()),
        ],
    );
    let mut parents = vec![(0, t.s("eval.top_level").to_string())];
    parents.extend(
        parts
            .tree
            .nodes
            .iter()
            .filter(|(i, _)| i.level() != Level::Criterion)
            .map(|(i, _)| (i.id, format!("{} {}", i.code, i.name))),
    );
    let aliases = [
        ("max_points", "points"),
        ("kind", "criterion_kind"),
        ("code", "indicator_code"),
        ("name", "indicator_name"),
    ];
    let has_errors = !errs.is_empty() || !sheet_errors.is_empty();
    let page = SchemePage {
        l: Layout::new(p, "nav.evaluations", &s.name).flash(saved),
        f: f.unwrap_or_else(|| SchemeForm::of(s)),
        draft: s.stage() == Stage::Draft,
        stage: t.label("eval_stage", &s.stage),
        next: s.stage().next().map(|n| t.label("eval_stage", n.as_str())),
        advance_means: advance_means(&parts, t),
        dues: dues(s, t),
        categories: categories_view(&parts),
        unit_names: parts.candidates.clone(),
        nodes: node_rows(&parts.tree, t),
        parents,
        areas: parts
            .tree
            .areas()
            .map(|(a, max)| (a.id, format!("{} {}（{}）", a.code, a.name, max)))
            .collect(),
        kinds: options(
            CriterionKind::ALL,
            CriterionKind::as_str,
            "criterion_kind",
            t,
        ),
        rules: options(MergeRule::ALL, MergeRule::as_str, "merge_rule", t),
        totals,
        teams: team_rows(&parts, t),
        board: progress_rows(&parts, t),
        board_rounds: shiliu_domain::evaluation::Round::ALL
            .iter()
            .map(|r| t.label("eval_round", r.as_str()))
            .collect(),
        workload: workload_rows(&parts, t),
        may_remind: s.stage().has_deadline()
            && s.due(s.stage()).is_some_and(|d| d > shiliu_db::now()),
        teams_open: s.stage() < Stage::Final,
        rounds: shiliu_domain::evaluation::Round::REVIEWS
            .iter()
            .map(|r| (r.as_str().to_string(), t.label("eval_round", r.as_str())))
            .collect(),
        errors: t.field_errors_as(errs, &aliases),
        sheet_errors,
        s: parts.s,
    };
    render_form(&page, has_errors)
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(saved): Query<Saved>,
) -> AppResult<Response> {
    let actor = crate::evaluation::scores::actor(&p)?;
    let a = state
        .db
        .read(move |c| shiliu_db::evaluation::access::access(c, &actor, id))
        .await?;
    if !a.organiser {
        return crate::evaluation::scores::units_page(&state, &p, a).await;
    }
    let parts = parts(&state, &p, id).await?;
    scheme_page(
        &p,
        parts,
        None,
        &FieldErrors::new(),
        Vec::new(),
        saved.yes(),
    )
}

/// After a change: back to the page, or the page again with what was wrong.
pub(crate) async fn after(
    state: &AppState,
    p: &Principal,
    id: i64,
    result: Result<(), DbError>,
    f: Option<SchemeForm>,
) -> AppResult<Response> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/evaluations/{id}?saved=1")).into_response()),
        Err(DbError::Invalid(e)) => {
            let parts = parts(state, p, id).await?;
            scheme_page(p, parts, f, &e, Vec::new(), false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Run a change to a scheme as the organiser (`actor`, who passed the permission check).
async fn change<F>(
    state: &AppState,
    actor: Can<grants::ManageEvaluations>,
    f: F,
) -> Result<(), DbError>
where
    F: FnOnce(&mut shiliu_db::DbConnection, &Actor) -> Result<(), DbError> + Send + 'static,
{
    state.db.write(move |c| f(c, &actor)).await
}

pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<SchemeForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let result = match f.parse() {
        Ok(input) => {
            let version = f.version;
            change(&state, actor, move |c, a| {
                db::update_scheme(c, a, id, version, &input).map(|_| ())
            })
            .await
        }
        Err(e) => Err(DbError::Invalid(e)),
    };
    after(&state, &p, id, result, Some(f)).await
}

#[derive(Deserialize)]
pub struct DeadlinesForm {
    version: i32,
    #[serde(default)]
    self_due: String,
    #[serde(default)]
    first_due: String,
    #[serde(default)]
    field_due: String,
    #[serde(default)]
    feedback_due: String,
}

pub async fn deadlines(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<DeadlinesForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let mut errs = FieldErrors::new();
    let mut read = |field: &str, v: &str| errs.check(deadline(field, v)).flatten();
    let dues = [
        read("self_due", &f.self_due),
        read("first_due", &f.first_due),
        read("field_due", &f.field_due),
        read("feedback_due", &f.feedback_due),
    ];
    let result = match errs.into_result() {
        Ok(()) => {
            change(&state, actor, move |c, a| {
                db::set_deadlines(c, a, id, f.version, dues).map(|_| ())
            })
            .await
        }
        Err(e) => Err(DbError::Invalid(e)),
    };
    after(&state, &p, id, result, None).await
}

#[derive(Deserialize)]
pub struct VersionForm {
    version: i32,
}

#[derive(Deserialize)]
pub struct AdvanceForm {
    version: i32,
    /// The box ticked under what moving on means (the step cannot be undone).
    #[serde(default)]
    confirm: String,
}

pub async fn advance(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<AdvanceForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    if f.confirm.is_empty() {
        let e = FieldError::new("confirm_step", "err.confirm_required");
        return after(&state, &p, id, Err(DbError::Invalid(e.into())), None).await;
    }
    let result = change(&state, actor, move |c, a| {
        db::advance(c, a, id, f.version).map(|_| ())
    })
    .await;
    after(&state, &p, id, result, None).await
}

/// Remind (催报) everyone who still owes work in the current stage.
pub async fn remind(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let result = change(&state, actor, move |c, a| {
        shiliu_db::evaluation::reminders::remind_now(c, a, id).map(|_| ())
    })
    .await;
    after(&state, &p, id, result, None).await
}

#[derive(Deserialize)]
pub struct CategoryForm {
    version: i32,
    #[serde(default)]
    category_name: String,
}

pub async fn add_category(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<CategoryForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let result = change(&state, actor, move |c, a| {
        db::add_category(c, a, id, f.version, &f.category_name).map(|_| ())
    })
    .await;
    after(&state, &p, id, result, None).await
}

#[derive(Deserialize)]
pub struct UnitForm {
    version: i32,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    category_id: i64,
    #[serde(default)]
    key_unit: Option<String>,
}

pub async fn add_unit(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<UnitForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let result = change(&state, actor, move |c, a| {
        let s = db::get_scheme(c, a.scope(), id)?;
        let unit_id = db::unit_by_name(c, &s, &f.unit, "unit")?;
        let participant = Participant {
            scheme_id: id,
            unit_id,
            category_id: f.category_id,
            key_unit: f.key_unit.is_some(),
        };
        db::add_participant(c, a, id, f.version, &participant)
    })
    .await;
    after(&state, &p, id, result, None).await
}

pub async fn remove_unit(
    State(state): State<AppState>,
    p: Principal,
    Path((id, unit)): Path<(i64, i64)>,
    Form(f): Form<VersionForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let result = change(&state, actor, move |c, a| {
        db::remove_participant(c, a, id, f.version, unit)
    })
    .await;
    after(&state, &p, id, result, None).await
}

#[derive(Deserialize)]
pub struct IndicatorForm {
    version: i32,
    #[serde(default)]
    parent_id: i64,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    max_points: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    guidance: String,
    #[serde(default)]
    evidence: String,
}

pub async fn add_indicator(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<IndicatorForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let result = change(&state, actor, move |c, a| {
        let parent = (f.parent_id != 0).then_some(f.parent_id);
        let level = match parent {
            None => Level::Area,
            Some(pid) => {
                let s = db::get_scheme(c, a.scope(), id)?;
                db::tree(c, &s)?
                    .nodes
                    .iter()
                    .find(|(i, _)| i.id == pid)
                    .and_then(|(i, _)| i.level().child())
                    .ok_or_else(|| DbError::invalid("parent_id", "err.choice"))?
            }
        };
        let input = IndicatorInput::parse(
            level,
            &f.code,
            &f.name,
            &f.max_points,
            &f.kind,
            &f.guidance,
            &f.evidence,
        )?;
        db::add_indicator(c, a, id, f.version, parent, &input).map(|_| ())
    })
    .await;
    after(&state, &p, id, result, None).await
}

pub async fn delete_indicator(
    State(state): State<AppState>,
    p: Principal,
    Path((id, indicator)): Path<(i64, i64)>,
    Form(f): Form<VersionForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let result = change(&state, actor, move |c, a| {
        db::delete_indicator(c, a, id, f.version, indicator)
    })
    .await;
    after(&state, &p, id, result, None).await
}

/// One category's weights: `area.{id}` per area, blank for the area's own maximum.
pub async fn set_weights(
    State(state): State<AppState>,
    p: Principal,
    Path((id, category)): Path<(i64, i64)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let version = pairs
        .iter()
        .find(|(k, _)| k == "version")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_default();
    let mut errs = FieldErrors::new();
    let weights: Vec<(i64, Option<Points>)> = pairs
        .iter()
        .filter_map(|(k, v)| {
            let area = k.strip_prefix("area.")?.parse().ok()?;
            let points = if v.trim().is_empty() {
                None
            } else {
                Some(errs.check(Points::parse("points", v))?)
            };
            Some((area, points))
        })
        .collect();
    let result = match errs.into_result() {
        Ok(()) => {
            change(&state, actor, move |c, a| {
                db::set_weights(c, a, id, version, category, &weights)
            })
            .await
        }
        Err(e) => Err(DbError::Invalid(e)),
    };
    after(&state, &p, id, result, None).await
}

#[derive(Deserialize)]
pub struct CopyForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    name: String,
}

pub async fn copy(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<CopyForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let year = f
        .year
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y));
    let result = match year {
        Some(year) => {
            state
                .db
                .write(move |c| db::copy_scheme(c, &actor, id, year, &f.name))
                .await
        }
        None => Err(FieldError::new("year", "err.eval.year").into()),
    };
    match result {
        Ok(s) => Ok(Redirect::to(&format!("/evaluations/{}?saved=1", s.id)).into_response()),
        Err(DbError::Invalid(e)) => {
            let parts = parts(&state, &p, id).await?;
            scheme_page(&p, parts, None, &e, Vec::new(), false)
        }
        Err(e) => Err(e.into()),
    }
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/evaluations", get(list).post(create))
        .route("/evaluations/{id}", get(show).post(update))
        .route("/evaluations/{id}/deadlines", post(deadlines))
        .route("/evaluations/{id}/advance", post(advance))
        .route("/evaluations/{id}/categories", post(add_category))
        .route(
            "/evaluations/{id}/categories/{category}/weights",
            post(set_weights),
        )
        .route("/evaluations/{id}/units", post(add_unit))
        .route("/evaluations/{id}/units/{unit}/remove", post(remove_unit))
        .route("/evaluations/{id}/indicators", post(add_indicator))
        .route(
            "/evaluations/{id}/indicators/{indicator}/delete",
            post(delete_indicator),
        )
        .route("/evaluations/{id}/copy", post(copy))
        .route("/evaluations/{id}/remind", post(remind))
}
