//! Needs surveys (就业需求摸排), the needs they find, and services delivered.
//!
//! A campaign covers a region (and, optionally, only households with a member of one tag);
//! grid workers answer it once per household (answering again replaces the answers and the
//! needs still open). A need becomes a request (诉求) or a planned service with one action;
//! a service recorded against it meets it. Needs and services carry the path of the region
//! their person lived in, so they are scoped like the register.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::registry::PersonTag;
use shiliu_domain::registry::needs::{
    NeedInput, NeedKind, NeedStatus, PlanInput, ServiceInput, SurveyInput, SurveyQuestion,
    SurveyStatus,
};
use shiliu_domain::requests::RequestInput;
use shiliu_domain::requests::questions::{RawAnswers, check_answers};

use super::{Person, read};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{
    households, needs, person_tags, persons, request_categories, services, survey_responses,
    surveys,
};
use crate::scope::{Actor, Scope};
use crate::versioned;
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = surveys)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Survey {
    pub id: i64,
    pub name: String,
    pub region_id: i64,
    pub region_path: String,
    pub tag: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub questions: String,
    pub status: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub version: i32,
}

impl Survey {
    /// Whether the scope runs the campaign (may close it), not only receives it from above.
    pub fn run_by(&self, scope: &Scope) -> bool {
        scope.covers(&self.region_path)
    }

    pub fn questions(&self) -> Result<Vec<SurveyQuestion>, DbError> {
        serde_json::from_str(&self.questions)
            .map_err(|e| DbError::Migration(format!("survey {} questions: {e}", self.id)))
    }

    /// Open, and today inside its dates.
    pub fn is_running(&self, today: NaiveDate) -> bool {
        self.status == SurveyStatus::Open.as_str()
            && self.starts_on <= today
            && today <= self.ends_on
    }
}

/// Start a campaign over a region in the caller's scope; audited.
pub fn create_survey(
    conn: &mut DbConnection,
    actor: &Actor,
    region_id: i64,
    tag: Option<PersonTag>,
    input: &SurveyInput,
) -> Result<Survey, DbError> {
    let region = crate::org::get_region(conn, &actor.scope, region_id)
        .map_err(|_| DbError::invalid("region_id", "err.region.unknown"))?;
    let questions =
        serde_json::to_string(&input.questions).map_err(|e| DbError::Migration(e.to_string()))?;
    let s = Survey {
        id: new_id(),
        name: input.name.clone(),
        region_id: region.id,
        region_path: region.path,
        tag: tag.map(|t| t.as_str().to_string()),
        starts_on: input.starts_on,
        ends_on: input.ends_on,
        questions,
        status: SurveyStatus::Open.as_str().to_string(),
        created_by: actor.user_id,
        created_at: now(),
        version: 1,
    };
    diesel::insert_into(surveys::table)
        .values((
            surveys::id.eq(s.id),
            surveys::name.eq(&s.name),
            surveys::region_id.eq(s.region_id),
            surveys::region_path.eq(&s.region_path),
            surveys::tag.eq(&s.tag),
            surveys::starts_on.eq(s.starts_on),
            surveys::ends_on.eq(s.ends_on),
            surveys::questions.eq(&s.questions),
            surveys::status.eq(&s.status),
            surveys::created_by.eq(s.created_by),
            surveys::created_at.eq(s.created_at),
            surveys::version.eq(s.version),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("survey.create", "survey", s.id)
            .region(s.region_id)
            .after(&serde_json::json!({ "name": s.name, "questions": input.questions.len() })),
    )?;
    Ok(s)
}

/// Close a campaign: no more answers.
pub fn close_survey(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
) -> Result<Survey, DbError> {
    let s = get_survey(conn, &actor.scope, id)?;
    if !s.run_by(&actor.scope) {
        return Err(DbError::invalid("status", "err.survey.not_yours"));
    }
    let n = diesel::update(
        surveys::table
            .filter(surveys::id.eq(id))
            .filter(surveys::version.eq(version)),
    )
    .set((
        surveys::status.eq(SurveyStatus::Closed.as_str()),
        surveys::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    audit::record(
        conn,
        actor,
        Event::new("survey.close", "survey", id).region(s.region_id),
    )?;
    get_survey(conn, &actor.scope, id)
}

/// A campaign the caller takes part in: over the caller's scope, or over a region their scope
/// lies inside (a grid worker sees the township's campaign).
pub fn get_survey(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Survey, DbError> {
    Ok(surveys::table
        .filter(surveys::id.eq(id))
        .filter(scope.reaching_filter(surveys::region_path))
        .select(Survey::as_select())
        .first(conn)?)
}

/// The campaigns the caller takes part in, newest first.
pub fn surveys(conn: &mut DbConnection, scope: &Scope) -> Result<Vec<Survey>, DbError> {
    Ok(surveys::table
        .filter(scope.reaching_filter(surveys::region_path))
        .order(surveys::id.desc())
        .limit(200)
        .select(Survey::as_select())
        .load(conn)?)
}

/// The households a campaign asks about inside the caller's scope (ids), as a query.
macro_rules! surveyed_households {
    ($survey:expr, $scope:expr) => {{
        let s: &Survey = $survey;
        let mut q = households::table
            .filter(crate::scope::subtree_filter(
                households::region_path,
                std::slice::from_ref(&s.region_path),
            ))
            .filter($scope.path_filter(households::region_path))
            .into_boxed();
        // Someone still lives there (with the tag, if the campaign has one).
        let resident = persons::status.eq(shiliu_domain::registry::PersonStatus::Resident.as_str());
        q = match &s.tag {
            Some(tag) => q.filter(
                households::id.nullable().eq_any(
                    persons::table
                        .inner_join(person_tags::table)
                        .filter(resident)
                        .filter(person_tags::tag.eq(tag.clone()))
                        .select(persons::household_id),
                ),
            ),
            None => q.filter(
                households::id.nullable().eq_any(
                    persons::table
                        .filter(resident)
                        .select(persons::household_id),
                ),
            ),
        };
        q
    }};
}

/// Households not yet answered in a campaign: the list's "still to visit" and the home's count.
macro_rules! unanswered {
    ($survey:expr) => {
        diesel::dsl::not(
            households::id.eq_any(
                survey_responses::table
                    .filter(survey_responses::survey_id.eq($survey.id))
                    .select(survey_responses::household_id),
            ),
        )
    };
}

/// The running campaigns the caller takes part in that still have households to visit in
/// their scope, with how many (the list of households shows them, `survey_households`).
pub fn households_left(
    conn: &mut DbConnection,
    scope: &Scope,
    today: NaiveDate,
) -> Result<Vec<(Survey, i64)>, DbError> {
    let mut out = Vec::new();
    for s in surveys(conn, scope)? {
        if !s.is_running(today) {
            continue;
        }
        let left: i64 = surveyed_households!(&s, scope)
            .filter(unanswered!(s))
            .count()
            .get_result(conn)?;
        if left > 0 {
            out.push((s, left));
        }
    }
    Ok(out)
}

/// A household on a campaign's list: its head and whether it has been answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SurveyHousehold {
    pub household_id: i64,
    pub region_id: i64,
    pub address: String,
    pub head: Option<String>,
    pub answered: bool,
}

/// A page of the campaign's households in the caller's scope (ids ascending after `after`),
/// those not yet answered first when `todo`. Audited as a view of the people listed.
pub fn survey_households(
    conn: &mut DbConnection,
    actor: &Actor,
    survey: &Survey,
    todo: bool,
    after: i64,
    limit: i64,
) -> Result<Vec<SurveyHousehold>, DbError> {
    let mut q = surveyed_households!(survey, actor.scope).filter(households::id.gt(after));
    if todo {
        q = q.filter(unanswered!(survey));
    }
    let rows: Vec<(i64, i64, String)> = q
        .order(households::id)
        .limit(limit)
        .select((households::id, households::region_id, households::address))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let heads: HashMap<i64, String> = persons::table
        .filter(persons::household_id.eq_any(&ids))
        .filter(persons::relation.eq("head"))
        .select((persons::household_id.assume_not_null(), persons::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let done: Vec<i64> = survey_responses::table
        .filter(survey_responses::survey_id.eq(survey.id))
        .filter(survey_responses::household_id.eq_any(&ids))
        .select(survey_responses::household_id)
        .load(conn)?;
    super::record_list(
        conn,
        actor,
        "person.survey_households",
        rows.len(),
        serde_json::json!({ "survey": survey.id }),
    )?;
    Ok(rows
        .into_iter()
        .map(|(household_id, region_id, address)| SurveyHousehold {
            head: heads.get(&household_id).cloned(),
            answered: done.contains(&household_id),
            household_id,
            region_id,
            address,
        })
        .collect())
}

/// How far a campaign has got in the caller's scope: per region path the households hold
/// (a grid's, usually), how many it asks about and how many are answered.
pub fn progress(
    conn: &mut DbConnection,
    scope: &Scope,
    survey: &Survey,
) -> Result<BTreeMap<String, (i64, i64)>, DbError> {
    let all: Vec<(String, i64)> = surveyed_households!(survey, scope)
        .select((households::region_path, households::id))
        .load(conn)?;
    let done: Vec<i64> = survey_responses::table
        .filter(survey_responses::survey_id.eq(survey.id))
        .filter(scope.path_filter(survey_responses::region_path))
        .select(survey_responses::household_id)
        .load(conn)?;
    let done: std::collections::HashSet<i64> = done.into_iter().collect();
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (region, household) in all {
        let e = out.entry(region).or_default();
        e.0 += 1;
        if done.contains(&household) {
            e.1 += 1;
        }
    }
    Ok(out)
}

/// How far a campaign has got in the caller's scope, all told: (households it asks about,
/// answered). Counted in the database, for lists of campaigns.
pub fn progress_totals(
    conn: &mut DbConnection,
    scope: &Scope,
    survey: &Survey,
) -> Result<(i64, i64), DbError> {
    let total: i64 = surveyed_households!(survey, scope)
        .count()
        .get_result(conn)?;
    let answered: i64 = surveyed_households!(survey, scope)
        .filter(
            households::id.eq_any(
                survey_responses::table
                    .filter(survey_responses::survey_id.eq(survey.id))
                    .select(survey_responses::household_id),
            ),
        )
        .count()
        .get_result(conn)?;
    Ok((total, answered))
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = survey_responses)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Response {
    pub id: i64,
    pub survey_id: i64,
    pub household_id: i64,
    pub region_id: i64,
    pub region_path: String,
    pub answers: String,
    pub surveyed_by: Option<i64>,
    pub surveyed_at: NaiveDateTime,
    pub version: i32,
}

impl Response {
    pub fn answers(&self) -> BTreeMap<String, String> {
        serde_json::from_str(&self.answers).unwrap_or_default()
    }
}

/// The household's answer to the campaign, if any.
pub fn response_of(
    conn: &mut DbConnection,
    survey_id: i64,
    household_id: i64,
) -> Result<Option<Response>, DbError> {
    Ok(survey_responses::table
        .filter(survey_responses::survey_id.eq(survey_id))
        .filter(survey_responses::household_id.eq(household_id))
        .select(Response::as_select())
        .first(conn)
        .optional()?)
}

/// The members of a household on a campaign's list, in the caller's scope (head first).
pub fn household_for(
    conn: &mut DbConnection,
    scope: &Scope,
    survey: &Survey,
    household_id: i64,
) -> Result<Vec<Person>, DbError> {
    let on_list: i64 = surveyed_households!(survey, scope)
        .filter(households::id.eq(household_id))
        .count()
        .get_result(conn)?;
    if on_list == 0 {
        return Err(DbError::NotFound);
    }
    let members = super::household_members(conn, scope, household_id)?;
    Ok(members
        .into_iter()
        .filter(|p| p.status == shiliu_domain::registry::PersonStatus::Resident.as_str())
        .collect())
}

/// The household's answers stored (a new row, or the one there replaced, its open needs
/// dropped): the response's id.
fn upsert_response(
    conn: &mut DbConnection,
    actor: &Actor,
    survey_id: i64,
    household_id: i64,
    head: &Person,
    answers_json: &str,
) -> Result<i64, DbError> {
    let at = now();
    if let Some(r) = response_of(conn, survey_id, household_id)? {
        diesel::update(survey_responses::table.find(r.id))
            .set((
                survey_responses::answers.eq(answers_json),
                survey_responses::surveyed_by.eq(actor.user_id),
                survey_responses::surveyed_at.eq(at),
                survey_responses::version.eq(crate::versioned::next(r.version)?),
            ))
            .execute(conn)?;
        diesel::delete(
            needs::table
                .filter(needs::response_id.eq(r.id))
                .filter(needs::status.eq(NeedStatus::Open.as_str())),
        )
        .execute(conn)?;
        return Ok(r.id);
    }
    let id = new_id();
    diesel::insert_into(survey_responses::table)
        .values((
            survey_responses::id.eq(id),
            survey_responses::survey_id.eq(survey_id),
            survey_responses::household_id.eq(household_id),
            survey_responses::region_id.eq(head.region_id),
            survey_responses::region_path.eq(&head.region_path),
            survey_responses::answers.eq(answers_json),
            survey_responses::surveyed_by.eq(actor.user_id),
            survey_responses::surveyed_at.eq(at),
            survey_responses::version.eq(1),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Answer a campaign for one household: the answers checked against its questions, the needs
/// of its members; answering again replaces the answers and the needs still open (those
/// planned, requested or met stay). One transaction, audited.
pub fn answer(
    conn: &mut DbConnection,
    actor: &Actor,
    survey_id: i64,
    household_id: i64,
    raw: &RawAnswers,
    found: &[NeedInput],
) -> Result<Response, DbError> {
    let survey = get_survey(conn, &actor.scope, survey_id)?;
    if !survey.is_running(crate::today()) {
        return Err(DbError::invalid("survey", "err.survey.not_running"));
    }
    let members = household_for(conn, &actor.scope, &survey, household_id)?;
    let questions: Vec<_> = survey
        .questions()?
        .iter()
        .map(SurveyQuestion::question)
        .collect();
    let checked = check_answers(&questions, raw).map_err(DbError::Invalid)?;
    let answers: BTreeMap<&str, &str> = checked
        .iter()
        .map(|(i, v)| (questions[*i].code.as_str(), v.as_str()))
        .collect();
    for n in found {
        if !members.iter().any(|m| m.id == n.person_id) {
            return Err(DbError::invalid(
                &format!("need.{}.kind", n.person_id),
                "err.survey.not_a_member",
            ));
        }
    }
    let head = members.first().ok_or(DbError::NotFound)?;
    let at = now();
    let answers_json =
        serde_json::to_string(&answers).map_err(|e| DbError::Migration(e.to_string()))?;
    let response = upsert_response(conn, actor, survey.id, household_id, head, &answers_json)?;
    let mut kept: Vec<(i64, String)> = needs::table
        .filter(needs::response_id.eq(response))
        .select((needs::person_id, needs::kind))
        .load(conn)?;
    for n in found {
        // One need of a kind per member, however often the form names it.
        if kept
            .iter()
            .any(|(p, k)| *p == n.person_id && k == n.kind.as_str())
        {
            continue;
        }
        kept.push((n.person_id, n.kind.as_str().to_string()));
        let m = members
            .iter()
            .find(|m| m.id == n.person_id)
            .expect("checked above");
        diesel::insert_into(needs::table)
            .values((
                needs::id.eq(new_id()),
                needs::person_id.eq(m.id),
                needs::response_id.eq(Some(response)),
                needs::kind.eq(n.kind.as_str()),
                needs::note.eq(&n.note),
                needs::status.eq(NeedStatus::Open.as_str()),
                needs::region_path.eq(&m.region_path),
                needs::created_at.eq(at),
                needs::updated_at.eq(at),
                needs::version.eq(1),
            ))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("survey.answer", "survey", survey.id)
            .region(head.region_id)
            .detail(serde_json::json!({ "household": household_id, "needs": found.len() })),
    )?;
    Ok(survey_responses::table
        .find(response)
        .select(Response::as_select())
        .first(conn)?)
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = needs)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Need {
    pub id: i64,
    pub person_id: i64,
    pub response_id: Option<i64>,
    pub kind: String,
    pub note: Option<String>,
    pub status: String,
    pub region_path: String,
    pub request_id: Option<i64>,
    pub provider: Option<String>,
    pub planned_on: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Need {
    pub fn kind(&self) -> NeedKind {
        NeedKind::parse(&self.kind).unwrap_or(NeedKind::Other)
    }
}

/// What a needs list may be narrowed by.
#[derive(Debug, Clone, Default)]
pub struct NeedFilter {
    pub status: Option<NeedStatus>,
    pub kind: Option<NeedKind>,
    pub survey_id: Option<i64>,
}

/// A page of needs in the scope with their person's name, newest first below `before`.
/// Audited as a view of the people listed.
pub fn needs(
    conn: &mut DbConnection,
    actor: &Actor,
    f: &NeedFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<(Need, String)>, DbError> {
    let mut q = needs::table
        .inner_join(persons::table)
        .filter(actor.scope.path_filter(needs::region_path))
        .into_boxed();
    if let Some(s) = f.status {
        q = q.filter(needs::status.eq(s.as_str()));
    }
    if let Some(k) = f.kind {
        q = q.filter(needs::kind.eq(k.as_str()));
    }
    if let Some(s) = f.survey_id {
        q = q.filter(
            needs::response_id.eq_any(
                survey_responses::table
                    .filter(survey_responses::survey_id.eq(s))
                    .select(survey_responses::id.nullable()),
            ),
        );
    }
    if let Some(b) = before {
        q = q.filter(needs::id.lt(b));
    }
    let rows: Vec<(Need, String)> = q
        .order(needs::id.desc())
        .limit(limit)
        .select((Need::as_select(), persons::name))
        .load(conn)?;
    super::record_list(
        conn,
        actor,
        "person.needs",
        rows.len(),
        serde_json::json!({
            "status": f.status.map(NeedStatus::as_str),
            "kind": f.kind.map(NeedKind::as_str),
            "survey": f.survey_id,
        }),
    )?;
    Ok(rows)
}

pub fn get_need(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Need, DbError> {
    Ok(needs::table
        .filter(needs::id.eq(id))
        .filter(scope.path_filter(needs::region_path))
        .select(Need::as_select())
        .first(conn)?)
}

/// A person's needs (their page).
pub fn needs_of(
    conn: &mut DbConnection,
    scope: &Scope,
    person_id: i64,
) -> Result<Vec<Need>, DbError> {
    Ok(needs::table
        .filter(needs::person_id.eq(person_id))
        .filter(scope.path_filter(needs::region_path))
        .order(needs::id)
        .select(Need::as_select())
        .load(conn)?)
}

fn open_need(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
) -> Result<Need, DbError> {
    let n = get_need(conn, &actor.scope, id)?;
    versioned::expect(version, n.version)?;
    if n.status != NeedStatus::Open.as_str() {
        return Err(DbError::invalid("status", "err.need.not_open"));
    }
    Ok(n)
}

/// The person with the need, if they still live in the caller's area: a need of someone who
/// moved away (or out of the area) is for the side where they live now.
fn served_here(conn: &mut DbConnection, actor: &Actor, n: &Need) -> Result<Person, DbError> {
    let person = read(conn, n.person_id)?;
    if person.status != shiliu_domain::registry::PersonStatus::Resident.as_str()
        || !actor.scope.covers(&person.region_path)
    {
        return Err(DbError::invalid("status", "err.need.person_gone"));
    }
    Ok(person)
}

fn set_need(
    conn: &mut DbConnection,
    n: &Need,
    status: NeedStatus,
    request_id: Option<i64>,
    plan: Option<&PlanInput>,
) -> Result<(), DbError> {
    let changed = diesel::update(
        needs::table
            .filter(needs::id.eq(n.id))
            .filter(needs::version.eq(n.version)),
    )
    .set((
        needs::status.eq(status.as_str()),
        needs::request_id.eq(request_id.or(n.request_id)),
        needs::provider.eq(plan
            .map(|p| p.provider.clone())
            .or_else(|| n.provider.clone())),
        needs::planned_on.eq(plan.map(|p| p.planned_on).or(n.planned_on)),
        needs::updated_at.eq(now()),
        needs::version.eq(crate::versioned::next(n.version)?),
    ))
    .execute(conn)?;
    versioned::written(changed)?;
    Ok(())
}

/// One action: the need becomes a request (诉求) in its category, at the person's grid, with
/// the person as contact and their address as the place (unless `input` names others) —
/// routed, deadlined and handled like any other. Audited.
pub fn to_request(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    input: &RequestInput,
) -> Result<(Need, crate::requests::Request), DbError> {
    let n = open_need(conn, actor, id, version)?;
    let person = served_here(conn, actor, &n)?;
    let category: i64 = request_categories::table
        .filter(request_categories::code.eq(n.kind().category_code()))
        .filter(request_categories::active.eq(true))
        .select(request_categories::id)
        .first(conn)
        .optional()?
        .ok_or_else(|| DbError::invalid("category", "err.need.no_category"))?;
    let input = RequestInput {
        contact_name: input.contact_name.clone().or(Some(person.name)),
        place: input.place.clone().or(Some(person.address)),
        ..input.clone()
    };
    let request = crate::requests::create(conn, actor, &input, category, person.region_id, None)?;
    set_need(conn, &n, NeedStatus::Requested, Some(request.id), None)?;
    audit::record(
        conn,
        actor,
        Event::new("need.request", "need", id)
            .region(person.region_id)
            .detail(serde_json::json!({ "request": request.id })),
    )?;
    Ok((get_need(conn, &actor.scope, id)?, request))
}

/// One action: the need goes into a service plan (who provides it, by when). Audited.
pub fn plan(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    input: &PlanInput,
) -> Result<Need, DbError> {
    let n = open_need(conn, actor, id, version)?;
    served_here(conn, actor, &n)?;
    set_need(conn, &n, NeedStatus::Planned, None, Some(input))?;
    audit::record(
        conn,
        actor,
        Event::new("need.plan", "need", id)
            .detail(serde_json::json!({ "planned_on": input.planned_on })),
    )?;
    get_need(conn, &actor.scope, id)
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = services)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Service {
    pub id: i64,
    pub person_id: i64,
    pub kind: String,
    pub delivered_on: NaiveDate,
    pub provider: String,
    pub amount_fen: Option<i64>,
    pub note: Option<String>,
    pub need_id: Option<i64>,
    pub region_path: String,
    pub recorded_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// Record a service delivered to a person in the scope; naming a need of theirs meets it.
/// One transaction, audited.
pub fn record_service(
    conn: &mut DbConnection,
    actor: &Actor,
    person_id: i64,
    input: &ServiceInput,
    need_id: Option<i64>,
) -> Result<Service, DbError> {
    let person = super::get(conn, &actor.scope, person_id)?;
    if let Some(nid) = need_id {
        let n = get_need(conn, &actor.scope, nid)
            .ok()
            .filter(|n| n.person_id == person_id && n.status != NeedStatus::Met.as_str())
            .ok_or_else(|| DbError::invalid("need_id", "err.need.not_theirs"))?;
        set_need(conn, &n, NeedStatus::Met, None, None)?;
    }
    let s = Service {
        id: new_id(),
        person_id,
        kind: input.kind.as_str().to_string(),
        delivered_on: input.delivered_on,
        provider: input.provider.clone(),
        amount_fen: input.amount_fen,
        note: input.note.clone(),
        need_id,
        region_path: person.region_path.clone(),
        recorded_by: actor.user_id,
        created_at: now(),
    };
    diesel::insert_into(services::table)
        .values((
            services::id.eq(s.id),
            services::person_id.eq(s.person_id),
            services::kind.eq(&s.kind),
            services::delivered_on.eq(s.delivered_on),
            services::provider.eq(&s.provider),
            services::amount_fen.eq(s.amount_fen),
            services::note.eq(&s.note),
            services::need_id.eq(s.need_id),
            services::region_path.eq(&s.region_path),
            services::recorded_by.eq(s.recorded_by),
            services::created_at.eq(s.created_at),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("service.record", "person", person_id)
            .region(person.region_id)
            .detail(serde_json::json!({ "kind": s.kind, "need": need_id })),
    )?;
    Ok(s)
}

/// A person's services, newest first.
pub fn services_of(
    conn: &mut DbConnection,
    scope: &Scope,
    person_id: i64,
) -> Result<Vec<Service>, DbError> {
    Ok(services::table
        .filter(services::person_id.eq(person_id))
        .filter(scope.path_filter(services::region_path))
        .order((services::delivered_on.desc(), services::id.desc()))
        .select(Service::as_select())
        .load(conn)?)
}

/// The needs and services of a scope and period, for the statistics page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NeedFigures {
    /// Per need kind: found, met (a service, or its request resolved), still open.
    pub needs: Vec<(String, i64, i64, i64)>,
    /// Per service kind: services, people served, amount in fen.
    pub services: Vec<(String, i64, i64, i64)>,
}

/// Whether a need (its status, and its request's if it became one) is met: marked so, or its
/// request resolved.
pub fn is_met(status: &str, request_status: Option<&str>) -> bool {
    status == NeedStatus::Met.as_str()
        || request_status.is_some_and(|s| matches!(s, "resolved" | "rated" | "closed"))
}

/// Needs found in the period (by when found) and services delivered in it.
pub fn figures(
    conn: &mut DbConnection,
    scope: &Scope,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<NeedFigures, DbError> {
    use crate::schema::requests;
    // The period's days are local (China) days; the rows' times are UTC.
    let midnight =
        |d: NaiveDate| shiliu_domain::calendar::utc(d.and_hms_opt(0, 0, 0).unwrap_or_default());
    let (start, end) = (midnight(from), midnight(to + chrono::Duration::days(1)));
    let found: Vec<(String, String, Option<String>)> = needs::table
        .left_join(requests::table.on(needs::request_id.eq(requests::id.nullable())))
        .filter(scope.path_filter(needs::region_path))
        .filter(needs::created_at.ge(start))
        .filter(needs::created_at.lt(end))
        .select((needs::kind, needs::status, requests::status.nullable()))
        .load(conn)?;
    let mut by_kind: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for (kind, status, request) in found {
        let e = by_kind.entry(kind).or_default();
        e.0 += 1;
        if is_met(&status, request.as_deref()) {
            e.1 += 1;
        } else if status == NeedStatus::Open.as_str() {
            e.2 += 1;
        }
    }
    let delivered: Vec<(String, i64, Option<i64>)> = services::table
        .filter(scope.path_filter(services::region_path))
        .filter(services::delivered_on.between(from, to))
        .select((services::kind, services::person_id, services::amount_fen))
        .load(conn)?;
    let mut by_service: BTreeMap<String, (i64, std::collections::HashSet<i64>, i64)> =
        BTreeMap::new();
    for (kind, person, amount) in delivered {
        let e = by_service.entry(kind).or_default();
        e.0 += 1;
        e.1.insert(person);
        e.2 += amount.unwrap_or(0);
    }
    Ok(NeedFigures {
        needs: by_kind
            .into_iter()
            .map(|(k, (n, met, open))| (k, n, met, open))
            .collect(),
        services: by_service
            .into_iter()
            .map(|(k, (n, people, fen))| (k, n, people.len() as i64, fen))
            .collect(),
    })
}
