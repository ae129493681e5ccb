//! Performance evaluation (绩效考评): schemes, the categories and units taking part, the
//! indicator tree and per-category weights. The rules (points, stages, totals) are
//! `shiliu_domain::evaluation`'s; here they are stored and locked.
//!
//! A scheme belongs to its organiser's region: staff whose scope covers that region run it
//! (every query here takes their scope), and the units taking part must lie in it. The
//! structure — categories, units, indicators, weights — is edited while the scheme is a
//! draft; publishing it to the units (the move to self-assessment) locks it.

pub mod access;
pub mod ledger;
pub mod reminders;
pub mod results;
pub mod scores;
pub mod teams;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::FieldError;
use shiliu_domain::evaluation::{
    CriterionKind, Grades, IndicatorInput, Level, MergeRule, PlacedIndicator, Points, SchemeInput,
    Stage,
};

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{
    eval_categories, eval_indicators, eval_participants, eval_schemes, eval_weights, units,
};
use crate::scope::{Actor, Scope};
use crate::versioned;
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = eval_schemes)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Scheme {
    pub id: i64,
    pub region_id: i64,
    pub region_path: String,
    pub organiser: String,
    pub year: i32,
    pub name: String,
    pub stage: String,
    pub merge_rule: String,
    pub bonus_cap: Option<i64>,
    pub deduction_cap: Option<i64>,
    pub grades: String,
    pub self_due: Option<NaiveDateTime>,
    pub first_due: Option<NaiveDateTime>,
    pub field_due: Option<NaiveDateTime>,
    pub feedback_due: Option<NaiveDateTime>,
    pub copied_from: Option<i64>,
    pub published_at: Option<NaiveDateTime>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Scheme {
    pub fn stage(&self) -> Stage {
        Stage::parse(&self.stage).unwrap_or(Stage::Draft)
    }

    pub fn merge_rule(&self) -> MergeRule {
        MergeRule::parse(&self.merge_rule).unwrap_or(MergeRule::FieldFirst)
    }

    pub fn grades(&self) -> Grades {
        serde_json::from_str(&self.grades).unwrap_or_default()
    }

    pub fn bonus_cap(&self) -> Option<Points> {
        self.bonus_cap.map(Points)
    }

    pub fn deduction_cap(&self) -> Option<Points> {
        self.deduction_cap.map(Points)
    }

    /// The deadline of a stage that has one.
    pub fn due(&self, stage: Stage) -> Option<NaiveDateTime> {
        match stage {
            Stage::SelfAssessment => self.self_due,
            Stage::FirstReview => self.first_due,
            Stage::FieldReview => self.field_due,
            Stage::Feedback => self.feedback_due,
            Stage::Draft | Stage::Final | Stage::Published => None,
        }
    }

    /// Structure edits (categories, units, indicators, weights, the header) only in a draft.
    fn check_draft(&self) -> Result<(), DbError> {
        if self.stage() == Stage::Draft {
            Ok(())
        } else {
            Err(DbError::invalid("stage", "err.eval.structure_locked"))
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = eval_categories)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Category {
    pub id: i64,
    pub scheme_id: i64,
    pub name: String,
    pub sort: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = eval_participants)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Participant {
    pub scheme_id: i64,
    pub unit_id: i64,
    pub category_id: i64,
    pub key_unit: bool,
}

/// A unit taking part, with its name for lists.
#[derive(Debug, Clone, Serialize)]
pub struct ParticipantRow {
    pub unit_id: i64,
    pub unit_name: String,
    pub category_id: i64,
    pub key_unit: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = eval_indicators)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Indicator {
    pub id: i64,
    pub scheme_id: i64,
    pub parent_id: Option<i64>,
    pub level: String,
    pub code: String,
    pub name: String,
    pub max_points: i64,
    pub kind: String,
    pub guidance: Option<String>,
    pub evidence: Option<String>,
    pub sort: i32,
}

impl Indicator {
    pub fn level(&self) -> Level {
        Level::parse(&self.level).unwrap_or(Level::Criterion)
    }

    pub fn kind(&self) -> CriterionKind {
        CriterionKind::parse(&self.kind).unwrap_or(CriterionKind::Standard)
    }

    pub fn max(&self) -> Points {
        Points(self.max_points)
    }
}

/// A scheme's tree in reading order (each node before its children, siblings by `sort`), each
/// node with its maximum: a criterion's own, an area's or item's the sum of its criteria.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub nodes: Vec<(Indicator, Points)>,
}

impl Tree {
    fn build(mut all: Vec<Indicator>) -> Self {
        all.sort_by_key(|i| (i.sort, i.id));
        let mut nodes = Vec::with_capacity(all.len());
        Self::visit(&all, None, &mut nodes);
        Tree { nodes }
    }

    /// Append `parent`'s children (and theirs) in order; their sum of points.
    fn visit(all: &[Indicator], parent: Option<i64>, out: &mut Vec<(Indicator, Points)>) -> Points {
        let mut sum = Points::ZERO;
        for i in all.iter().filter(|i| i.parent_id == parent) {
            let at = out.len();
            out.push((i.clone(), i.max()));
            if i.level() != Level::Criterion {
                out[at].1 = Self::visit(all, Some(i.id), out);
            }
            sum = sum + out[at].1;
        }
        sum
    }

    pub fn criteria(&self) -> impl Iterator<Item = &Indicator> {
        self.nodes
            .iter()
            .map(|(i, _)| i)
            .filter(|i| i.level() == Level::Criterion)
    }

    pub fn areas(&self) -> impl Iterator<Item = &(Indicator, Points)> {
        self.nodes.iter().filter(|(i, _)| i.level() == Level::Area)
    }

    /// The area a node lies in.
    pub fn area_of(&self, id: i64) -> Option<i64> {
        let mut at = self.nodes.iter().find(|(i, _)| i.id == id)?;
        while let Some(p) = at.0.parent_id {
            at = self.nodes.iter().find(|(i, _)| i.id == p)?;
        }
        Some(at.0.id)
    }

    /// The criteria as the totals need them.
    pub fn scored(&self) -> Vec<shiliu_domain::evaluation::Criterion> {
        self.criteria()
            .map(|c| shiliu_domain::evaluation::Criterion {
                id: c.id,
                area: self.area_of(c.id).unwrap_or(c.id),
                max: c.max(),
                kind: c.kind(),
            })
            .collect()
    }

    /// The standard criteria's maximum: what a unit can score before bonuses.
    pub fn standard_max(&self) -> Points {
        self.criteria()
            .filter(|c| c.kind() == CriterionKind::Standard)
            .map(Indicator::max)
            .sum()
    }
}

fn grades_json(g: &Grades) -> String {
    serde_json::to_string(g).unwrap_or_else(|_| "[]".into())
}

/// A new scheme (a draft) run by the caller's region; audited.
pub fn create_scheme(
    conn: &mut DbConnection,
    actor: &Actor,
    region_id: i64,
    input: &SchemeInput,
) -> Result<Scheme, DbError> {
    let region = crate::org::get_region(conn, &actor.scope, region_id)
        .map_err(|_| DbError::invalid("region_id", "err.region.unknown"))?;
    let at = now();
    let s = Scheme {
        id: new_id(),
        region_id: region.id,
        region_path: region.path,
        organiser: input.organiser.clone(),
        year: input.year,
        name: input.name.clone(),
        stage: Stage::Draft.as_str().into(),
        merge_rule: input.merge_rule.as_str().into(),
        bonus_cap: input.bonus_cap.map(|p| p.0),
        deduction_cap: input.deduction_cap.map(|p| p.0),
        grades: grades_json(&input.grades),
        self_due: None,
        first_due: None,
        field_due: None,
        feedback_due: None,
        copied_from: None,
        published_at: None,
        created_by: actor.user_id,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    diesel::insert_into(eval_schemes::table)
        .values(&s)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("evaluation.create", "evaluation", s.id)
            .region(s.region_id)
            .after(&s),
    )?;
    Ok(s)
}

/// The schemes run in the caller's scope, newest year first.
pub fn schemes(conn: &mut DbConnection, scope: &Scope) -> Result<Vec<Scheme>, DbError> {
    Ok(eval_schemes::table
        .filter(scope.path_filter(eval_schemes::region_path))
        .order((eval_schemes::year.desc(), eval_schemes::id.desc()))
        .select(Scheme::as_select())
        .load(conn)?)
}

/// One scheme run in the caller's scope; outside it, `NotFound`.
pub fn get_scheme(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Scheme, DbError> {
    let s: Scheme = eval_schemes::table
        .filter(eval_schemes::id.eq(id))
        .select(Scheme::as_select())
        .first(conn)?;
    scope.admit(&s.region_path.clone(), s)
}

/// Bump a scheme's version (every change to it or its structure does, so two organisers
/// editing at once cannot overwrite each other silently).
fn touch(conn: &mut DbConnection, s: &Scheme, version: i32) -> Result<(), DbError> {
    let n = diesel::update(
        eval_schemes::table
            .filter(eval_schemes::id.eq(s.id))
            .filter(eval_schemes::version.eq(version)),
    )
    .set((
        eval_schemes::updated_at.eq(now()),
        eval_schemes::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    Ok(())
}

/// A draft, in scope, at the version the editor saw. The caller checks its input, then
/// `touch`es the scheme before its first write, so a refused change writes nothing.
fn draft(conn: &mut DbConnection, actor: &Actor, id: i64, version: i32) -> Result<Scheme, DbError> {
    let s = get_scheme(conn, &actor.scope, id)?;
    versioned::expect(version, s.version)?;
    s.check_draft()?;
    Ok(s)
}

/// Change a draft's header; audited with before and after.
pub fn update_scheme(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    input: &SchemeInput,
) -> Result<Scheme, DbError> {
    let before = draft(conn, actor, id, version)?;
    touch(conn, &before, version)?;
    diesel::update(eval_schemes::table.filter(eval_schemes::id.eq(id)))
        .set((
            eval_schemes::organiser.eq(&input.organiser),
            eval_schemes::year.eq(input.year),
            eval_schemes::name.eq(&input.name),
            eval_schemes::merge_rule.eq(input.merge_rule.as_str()),
            eval_schemes::bonus_cap.eq(input.bonus_cap.map(|p| p.0)),
            eval_schemes::deduction_cap.eq(input.deduction_cap.map(|p| p.0)),
            eval_schemes::grades.eq(grades_json(&input.grades)),
        ))
        .execute(conn)?;
    let after = get_scheme(conn, &actor.scope, id)?;
    audit::record(
        conn,
        actor,
        Event::new("evaluation.update", "evaluation", id)
            .region(after.region_id)
            .before(&before)
            .after(&after),
    )?;
    Ok(after)
}

/// The four deadlines, in stage order; a stage that has closed keeps its deadline.
pub fn set_deadlines(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    dues: [Option<NaiveDateTime>; 4],
) -> Result<Scheme, DbError> {
    let before = get_scheme(conn, &actor.scope, id)?;
    versioned::expect(version, before.version)?;
    let current = before.stage();
    let mut errs = shiliu_domain::FieldErrors::new();
    let mut last: Option<NaiveDateTime> = None;
    for (stage, due) in Stage::TIMED.into_iter().zip(dues) {
        let field = stage.due_field().unwrap_or("stage");
        if stage < current && due != before.due(stage) {
            errs.push(FieldError::new(field, "err.eval.stage_closed"));
        }
        if let (Some(prev), Some(d)) = (last, due)
            && d <= prev
        {
            errs.push(FieldError::new(field, "err.eval.deadline_order"));
        }
        last = due.or(last);
    }
    errs.into_result()?;
    touch(conn, &before, version)?;
    diesel::update(eval_schemes::table.filter(eval_schemes::id.eq(id)))
        .set((
            eval_schemes::self_due.eq(dues[0]),
            eval_schemes::first_due.eq(dues[1]),
            eval_schemes::field_due.eq(dues[2]),
            eval_schemes::feedback_due.eq(dues[3]),
        ))
        .execute(conn)?;
    let after = get_scheme(conn, &actor.scope, id)?;
    audit::record(
        conn,
        actor,
        Event::new("evaluation.deadlines", "evaluation", id)
            .region(after.region_id)
            .before(&before)
            .after(&after),
    )?;
    Ok(after)
}

/// Move a scheme to its next stage, closing (and locking) the current one. Entering a stage
/// with a deadline needs that deadline set; leaving the draft needs units and criteria.
pub fn advance(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
) -> Result<Scheme, DbError> {
    let before = get_scheme(conn, &actor.scope, id)?;
    versioned::expect(version, before.version)?;
    let from = before.stage();
    let to = from
        .next()
        .ok_or_else(|| DbError::invalid("stage", "err.eval.published"))?;
    if from == Stage::Draft {
        if participants(conn, &before)?.is_empty() {
            return Err(DbError::invalid("stage", "err.eval.no_units"));
        }
        if tree(conn, &before)?.criteria().next().is_none() {
            return Err(DbError::invalid("stage", "err.eval.no_criteria"));
        }
    }
    if let Some(field) = to.due_field()
        && before.due(to).is_none()
    {
        return Err(DbError::invalid(field, "err.eval.deadline_missing"));
    }
    if to == Stage::Published {
        results::publish(conn, &before)?;
    }
    touch(conn, &before, version)?;
    let published = (to == Stage::Published).then(now);
    diesel::update(eval_schemes::table.filter(eval_schemes::id.eq(id)))
        .set((
            eval_schemes::stage.eq(to.as_str()),
            eval_schemes::published_at.eq(published.or(before.published_at)),
        ))
        .execute(conn)?;
    let after = get_scheme(conn, &actor.scope, id)?;
    audit::record(
        conn,
        actor,
        Event::new("evaluation.advance", "evaluation", id)
            .region(after.region_id)
            .detail(serde_json::json!({"from": from.as_str(), "to": to.as_str()})),
    )?;
    Ok(after)
}

/// A scheme's categories of units; read, like every part of a scheme, through the scheme as the
/// caller was given it (in scope, or by `access`).
pub fn categories(conn: &mut DbConnection, s: &Scheme) -> Result<Vec<Category>, DbError> {
    Ok(eval_categories::table
        .filter(eval_categories::scheme_id.eq(s.id))
        .order((eval_categories::sort.asc(), eval_categories::id.asc()))
        .select(Category::as_select())
        .load(conn)?)
}

/// A category of a draft (counties, departments, schools…); its name is unique in the scheme.
pub fn add_category(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme_id: i64,
    version: i32,
    name: &str,
) -> Result<Category, DbError> {
    let name = shiliu_domain::error::required_text("category_name", name, 40)?;
    let s = draft(conn, actor, scheme_id, version)?;
    let existing = categories(conn, &s)?;
    if existing.iter().any(|c| c.name == name) {
        return Err(DbError::invalid("category_name", "err.eval.category_taken"));
    }
    let c = Category {
        id: new_id(),
        scheme_id,
        name,
        sort: i32::try_from(existing.len()).unwrap_or(i32::MAX),
    };
    touch(conn, &s, version)?;
    diesel::insert_into(eval_categories::table)
        .values(&c)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("evaluation.category_add", "evaluation", scheme_id)
            .region(s.region_id)
            .after(&c),
    )?;
    Ok(c)
}

/// The units taking part, by category and name.
impl Scheme {
    /// The scheme's region, as a scope: where its units and its teams' members come from.
    pub(crate) fn region(&self) -> Scope {
        Scope::of_paths(vec![self.region_path.clone()])
    }
}

/// The names of the units in the scheme's region that do not take part yet (`taking_part`,
/// its [`participants`]): what the organiser picks from.
pub fn candidate_units(
    conn: &mut DbConnection,
    s: &Scheme,
    taking_part: &[ParticipantRow],
) -> Result<Vec<String>, DbError> {
    Ok(
        crate::org::list_units(conn, &s.region(), &crate::org::ListFilter::default(), 5_000)?
            .into_iter()
            .map(|u| u.item.name)
            .filter(|n| !taking_part.iter().any(|x| &x.unit_name == n))
            .collect(),
    )
}

/// The id of the unit of this name in the scheme's region; the error names `field`.
pub fn unit_by_name(
    conn: &mut DbConnection,
    s: &Scheme,
    name: &str,
    field: &str,
) -> Result<i64, DbError> {
    crate::org::unit_id_by_name(conn, &s.region(), name, field)
}

pub fn participants(conn: &mut DbConnection, s: &Scheme) -> Result<Vec<ParticipantRow>, DbError> {
    let rows: Vec<(Participant, String, i32)> = eval_participants::table
        .inner_join(units::table)
        .inner_join(eval_categories::table)
        .filter(eval_participants::scheme_id.eq(s.id))
        .order((eval_categories::sort.asc(), units::name.asc()))
        .select((Participant::as_select(), units::name, eval_categories::sort))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(p, unit_name, _)| ParticipantRow {
            unit_id: p.unit_id,
            unit_name,
            category_id: p.category_id,
            key_unit: p.key_unit,
        })
        .collect())
}

/// Add a unit of the organiser's region to a draft, in one of its categories.
pub fn add_participant(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme_id: i64,
    version: i32,
    p: &Participant,
) -> Result<(), DbError> {
    let s = draft(conn, actor, scheme_id, version)?;
    let unit = crate::org::get_unit(conn, &s.region(), p.unit_id)
        .map_err(|_| DbError::invalid("unit", "err.eval.unit_outside"))?;
    if !categories(conn, &s)?.iter().any(|c| c.id == p.category_id) {
        return Err(DbError::invalid("category_id", "err.choice"));
    }
    let p = Participant {
        scheme_id,
        ..p.clone()
    };
    let taken: i64 = eval_participants::table
        .filter(eval_participants::scheme_id.eq(scheme_id))
        .filter(eval_participants::unit_id.eq(p.unit_id))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(DbError::invalid("unit", "err.eval.unit_taken"));
    }
    touch(conn, &s, version)?;
    diesel::insert_into(eval_participants::table)
        .values(&p)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("evaluation.unit_add", "evaluation", scheme_id)
            .region(s.region_id)
            .after(&serde_json::json!({"unit": unit.name, "participant": p})),
    )?;
    Ok(())
}

/// What taking in a units sheet did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnitsImported {
    pub added: usize,
    pub moved: usize,
    pub new_categories: Vec<String>,
}

/// Take a sheet of the units taking part (参评单位名单) into a draft: each line's unit — by
/// name, active, within the organiser's region — joins in its category (made when new), or,
/// already taking part, moves to it and takes the line's key-unit mark. Units the sheet does
/// not name stay. Every line is checked before anything is written: any unknown or ambiguous
/// name and nothing changes; the problems come back by row (the outer error is the
/// database's or a stale version).
pub fn import_units(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme_id: i64,
    version: i32,
    lines: &[shiliu_domain::evaluation::UnitLine],
) -> Result<Result<UnitsImported, Vec<(usize, FieldError)>>, DbError> {
    let s = draft(conn, actor, scheme_id, version)?;
    let region = s.region();
    let mut problems = Vec::new();
    let mut found = Vec::with_capacity(lines.len());
    for l in lines {
        match crate::org::unit_id_by_name(conn, &region, &l.unit, "unit") {
            Ok(id) => found.push((l, id)),
            Err(DbError::Invalid(e)) => problems.extend(e.0.into_iter().map(|f| (l.row, f))),
            Err(e) => return Err(e),
        }
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    touch(conn, &s, version)?;
    let mut cats = categories(conn, &s)?;
    let taking_part = participants(conn, &s)?;
    let mut done = UnitsImported::default();
    for (l, unit_id) in found {
        let category_id = if let Some(c) = cats.iter().find(|c| c.name == l.category) {
            c.id
        } else {
            let c = Category {
                id: new_id(),
                scheme_id,
                name: l.category.clone(),
                sort: i32::try_from(cats.len()).unwrap_or(i32::MAX),
            };
            diesel::insert_into(eval_categories::table)
                .values(&c)
                .execute(conn)?;
            done.new_categories.push(c.name.clone());
            let id = c.id;
            cats.push(c);
            id
        };
        let p = Participant {
            scheme_id,
            unit_id,
            category_id,
            key_unit: l.key_unit,
        };
        match taking_part.iter().find(|x| x.unit_id == unit_id) {
            Some(x) if x.category_id == category_id && x.key_unit == l.key_unit => {}
            Some(_) => {
                diesel::update(
                    eval_participants::table
                        .filter(eval_participants::scheme_id.eq(scheme_id))
                        .filter(eval_participants::unit_id.eq(unit_id)),
                )
                .set((
                    eval_participants::category_id.eq(category_id),
                    eval_participants::key_unit.eq(l.key_unit),
                ))
                .execute(conn)?;
                done.moved += 1;
            }
            None => {
                diesel::insert_into(eval_participants::table)
                    .values(&p)
                    .execute(conn)?;
                done.added += 1;
            }
        }
    }
    audit::record(
        conn,
        actor,
        Event::new("evaluation.units_import", "evaluation", scheme_id)
            .region(s.region_id)
            .detail(serde_json::json!({"rows": lines.len(), "result": done})),
    )?;
    Ok(Ok(done))
}

/// Take a unit out of a draft.
pub fn remove_participant(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme_id: i64,
    version: i32,
    unit_id: i64,
) -> Result<(), DbError> {
    let s = draft(conn, actor, scheme_id, version)?;
    touch(conn, &s, version)?;
    let n = diesel::delete(
        eval_participants::table
            .filter(eval_participants::scheme_id.eq(scheme_id))
            .filter(eval_participants::unit_id.eq(unit_id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    audit::record(
        conn,
        actor,
        Event::new("evaluation.unit_remove", "evaluation", scheme_id)
            .region(s.region_id)
            .detail(serde_json::json!({"unit_id": unit_id})),
    )?;
    Ok(())
}

/// A scheme's indicator tree.
pub fn tree(conn: &mut DbConnection, s: &Scheme) -> Result<Tree, DbError> {
    let all: Vec<Indicator> = eval_indicators::table
        .filter(eval_indicators::scheme_id.eq(s.id))
        .select(Indicator::as_select())
        .load(conn)?;
    Ok(Tree::build(all))
}

/// Add an indicator to a draft: an area at the top, or a child one level below `parent_id`.
pub fn add_indicator(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme_id: i64,
    version: i32,
    parent_id: Option<i64>,
    input: &IndicatorInput,
) -> Result<Indicator, DbError> {
    let s = draft(conn, actor, scheme_id, version)?;
    let t = tree(conn, &s)?;
    let level = match parent_id {
        None => Level::Area,
        Some(pid) => t
            .nodes
            .iter()
            .find(|(i, _)| i.id == pid)
            .and_then(|(i, _)| i.level().child())
            .ok_or_else(|| DbError::invalid("parent_id", "err.choice"))?,
    };
    if t.nodes.iter().any(|(i, _)| i.code == input.code) {
        return Err(DbError::invalid("code", "err.eval.code_taken"));
    }
    let siblings = t
        .nodes
        .iter()
        .filter(|(i, _)| i.parent_id == parent_id)
        .count();
    let i = indicator_row(scheme_id, parent_id, level, input, siblings);
    touch(conn, &s, version)?;
    diesel::insert_into(eval_indicators::table)
        .values(&i)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("evaluation.indicator_add", "evaluation", scheme_id)
            .region(s.region_id)
            .after(&i),
    )?;
    Ok(i)
}

fn indicator_row(
    scheme_id: i64,
    parent_id: Option<i64>,
    level: Level,
    input: &IndicatorInput,
    sort: usize,
) -> Indicator {
    let criterion = level == Level::Criterion;
    Indicator {
        id: new_id(),
        scheme_id,
        parent_id,
        level: level.as_str().into(),
        code: input.code.clone(),
        name: input.name.clone(),
        max_points: if criterion { input.max_points.0 } else { 0 },
        kind: if criterion {
            input.kind
        } else {
            CriterionKind::Standard
        }
        .as_str()
        .into(),
        guidance: input.guidance.clone(),
        evidence: input.evidence.clone(),
        sort: i32::try_from(sort).unwrap_or(i32::MAX),
    }
}

/// Remove an indicator with nothing below it from a draft (and its weights, for an area).
pub fn delete_indicator(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme_id: i64,
    version: i32,
    id: i64,
) -> Result<(), DbError> {
    let s = draft(conn, actor, scheme_id, version)?;
    let t = tree(conn, &s)?;
    let Some((i, _)) = t.nodes.iter().find(|(i, _)| i.id == id) else {
        return Err(DbError::NotFound);
    };
    if t.nodes.iter().any(|(c, _)| c.parent_id == Some(id)) {
        return Err(DbError::invalid("indicator", "err.eval.has_children"));
    }
    touch(conn, &s, version)?;
    diesel::delete(eval_weights::table.filter(eval_weights::area_id.eq(id))).execute(conn)?;
    diesel::delete(eval_indicators::table.filter(eval_indicators::id.eq(id))).execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("evaluation.indicator_delete", "evaluation", scheme_id)
            .region(s.region_id)
            .before(i),
    )?;
    Ok(())
}

/// Replace a draft's whole tree with a checked sheet (`shiliu_domain::evaluation::place_sheet`):
/// the old tree and its weights go, in the same transaction.
pub fn replace_tree(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme_id: i64,
    version: i32,
    sheet: &[PlacedIndicator],
) -> Result<Tree, DbError> {
    let s = draft(conn, actor, scheme_id, version)?;
    let before = tree(conn, &s)?.nodes.len();
    touch(conn, &s, version)?;
    clear_tree(conn, scheme_id)?;
    let mut ids: Vec<(String, i64)> = Vec::with_capacity(sheet.len());
    let mut rows = Vec::with_capacity(sheet.len());
    for p in sheet {
        let parent = p
            .parent_code
            .as_ref()
            .and_then(|c| ids.iter().find(|(code, _)| code == c).map(|(_, id)| *id));
        let siblings = rows
            .iter()
            .filter(|r: &&Indicator| r.parent_id == parent)
            .count();
        let row = indicator_row(scheme_id, parent, p.level, &p.input, siblings);
        ids.push((row.code.clone(), row.id));
        rows.push(row);
    }
    crate::insert_many!(conn, eval_indicators::table, &rows)?;
    audit::record(
        conn,
        actor,
        Event::new("evaluation.indicators_import", "evaluation", scheme_id)
            .region(s.region_id)
            .detail(serde_json::json!({"removed": before, "added": rows.len()})),
    )?;
    tree(conn, &s)
}

fn clear_tree(conn: &mut DbConnection, scheme_id: i64) -> Result<(), DbError> {
    let ids = eval_indicators::table
        .filter(eval_indicators::scheme_id.eq(scheme_id))
        .select(eval_indicators::id);
    diesel::delete(eval_weights::table.filter(eval_weights::area_id.eq_any(ids))).execute(conn)?;
    // Children before parents: criteria, items, then areas.
    for level in [Level::Criterion, Level::Item, Level::Area] {
        diesel::delete(
            eval_indicators::table
                .filter(eval_indicators::scheme_id.eq(scheme_id))
                .filter(eval_indicators::level.eq(level.as_str())),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// (category, area, points) for every weight the organiser set.
pub fn weights(conn: &mut DbConnection, s: &Scheme) -> Result<Vec<(i64, i64, Points)>, DbError> {
    let rows: Vec<(i64, i64, i64)> = eval_weights::table
        .inner_join(eval_categories::table)
        .filter(eval_categories::scheme_id.eq(s.id))
        .select((
            eval_weights::category_id,
            eval_weights::area_id,
            eval_weights::points,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(c, a, p)| (c, a, Points(p)))
        .collect())
}

/// What each area counts for in a category (`None`: its own maximum again).
pub fn set_weights(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme_id: i64,
    version: i32,
    category_id: i64,
    weights: &[(i64, Option<Points>)],
) -> Result<(), DbError> {
    let s = draft(conn, actor, scheme_id, version)?;
    if !categories(conn, &s)?.iter().any(|c| c.id == category_id) {
        return Err(DbError::invalid("category_id", "err.choice"));
    }
    let t = tree(conn, &s)?;
    for (area, points) in weights {
        if !t.areas().any(|(a, _)| a.id == *area) {
            return Err(DbError::invalid("area_id", "err.choice"));
        }
        if points.is_some_and(|p| p > shiliu_domain::evaluation::MAX_POINTS) {
            return Err(DbError::invalid("points", "err.eval.points_too_many"));
        }
    }
    touch(conn, &s, version)?;
    for (area, points) in weights {
        diesel::delete(
            eval_weights::table
                .filter(eval_weights::category_id.eq(category_id))
                .filter(eval_weights::area_id.eq(area)),
        )
        .execute(conn)?;
        if let Some(p) = points {
            diesel::insert_into(eval_weights::table)
                .values((
                    eval_weights::category_id.eq(category_id),
                    eval_weights::area_id.eq(area),
                    eval_weights::points.eq(p.0),
                ))
                .execute(conn)?;
        }
    }
    audit::record(
        conn,
        actor,
        Event::new("evaluation.weights", "evaluation", scheme_id)
            .region(s.region_id)
            .detail(serde_json::json!({"category_id": category_id, "weights": weights})),
    )?;
    Ok(())
}

/// Start this year's scheme from an earlier one: header, categories, units, tree and weights
/// are copied into a new draft; scores, deadlines and stages are not.
pub fn copy_scheme(
    conn: &mut DbConnection,
    actor: &Actor,
    from_id: i64,
    year: i32,
    name: &str,
) -> Result<Scheme, DbError> {
    let from = get_scheme(conn, &actor.scope, from_id)?;
    let input = SchemeInput {
        year,
        name: shiliu_domain::error::required_text("name", name, 80)?,
        organiser: from.organiser.clone(),
        merge_rule: from.merge_rule(),
        bonus_cap: from.bonus_cap(),
        deduction_cap: from.deduction_cap(),
        grades: from.grades(),
    };
    let mut to = create_scheme(conn, actor, from.region_id, &input)?;
    diesel::update(eval_schemes::table.filter(eval_schemes::id.eq(to.id)))
        .set(eval_schemes::copied_from.eq(from.id))
        .execute(conn)?;
    to.copied_from = Some(from.id);
    let mut category_ids = Vec::new();
    for c in categories(conn, &from)? {
        let copy = Category {
            id: new_id(),
            scheme_id: to.id,
            ..c.clone()
        };
        diesel::insert_into(eval_categories::table)
            .values(&copy)
            .execute(conn)?;
        category_ids.push((c.id, copy.id));
    }
    let new_category = |old: i64| {
        category_ids
            .iter()
            .find(|(o, _)| *o == old)
            .map(|(_, n)| *n)
    };
    let units: Vec<Participant> = participants(conn, &from)?
        .into_iter()
        .filter_map(|p| {
            Some(Participant {
                scheme_id: to.id,
                unit_id: p.unit_id,
                category_id: new_category(p.category_id)?,
                key_unit: p.key_unit,
            })
        })
        .collect();
    crate::insert_many!(conn, eval_participants::table, &units)?;
    let old = tree(conn, &from)?;
    let mut indicator_ids: Vec<(i64, i64)> = Vec::new();
    let mut rows = Vec::new();
    for (i, _) in &old.nodes {
        let id = new_id();
        indicator_ids.push((i.id, id));
        let parent_id = i
            .parent_id
            .and_then(|p| indicator_ids.iter().find(|(o, _)| *o == p).map(|(_, n)| *n));
        rows.push(Indicator {
            id,
            scheme_id: to.id,
            parent_id,
            ..i.clone()
        });
    }
    crate::insert_many!(conn, eval_indicators::table, &rows)?;
    for (c, a, p) in weights(conn, &from)? {
        let area = indicator_ids.iter().find(|(o, _)| *o == a).map(|(_, n)| *n);
        if let (Some(c), Some(a)) = (new_category(c), area) {
            diesel::insert_into(eval_weights::table)
                .values((
                    eval_weights::category_id.eq(c),
                    eval_weights::area_id.eq(a),
                    eval_weights::points.eq(p.0),
                ))
                .execute(conn)?;
        }
    }
    audit::record(
        conn,
        actor,
        Event::new("evaluation.copy", "evaluation", to.id)
            .region(to.region_id)
            .detail(serde_json::json!({"from": from.id, "units": units.len(), "indicators": rows.len()})),
    )?;
    Ok(to)
}
