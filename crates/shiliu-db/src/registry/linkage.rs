//! 流出地与流入地联动: the home side (the county or city of a person's 户籍地) sees its
//! out-migrants registered elsewhere — a limited set of fields, only of people who agreed to
//! it (the `linkage` consent), every list audited — and the two sides ask each other for
//! assistance (协查 / 协助) with a reply due by a day.
//!
//! Which out-migrants a caller sees is [`Scope::origin_filter`], in the one scoping place;
//! which requests for assistance is the scope over either side's path.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::registry::{
    AssistInput, AssistStatus, ConsentPurpose, PersonInput, PersonStatus, assist_reply,
};

use super::{Person, record_list};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::org::Region;
use crate::schema::{assists, consents, persons, regions, users};
use crate::scope::grants::ViewOutMigrants;
use crate::scope::{Actor, Can, Scope};
use crate::versioned;
use crate::{DbConnection, DbError, MultiBackend, now};

/// What the home side sees of an out-migrant: no ID or mobile number, no address, the name
/// masked; where they live only down to the region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutMigrant {
    pub id: i64,
    /// Masked: `韦**`.
    pub name: String,
    pub sex: String,
    pub birth_date: NaiveDate,
    pub people: String,
    pub hukou: String,
    /// The region they live in (a grid); show its township and above.
    pub region_path: String,
    pub arrived_on: Option<NaiveDate>,
    pub occupation: Option<String>,
    pub employment: Option<String>,
}

type OutMigrantRow = (
    i64,
    String,
    String,
    NaiveDate,
    String,
    String,
    String,
    Option<NaiveDate>,
    Option<String>,
    Option<String>,
);

impl OutMigrant {
    /// Whether they live inside the scope (on its own register, not only its out-migrant).
    pub fn lives_in(&self, scope: &Scope) -> bool {
        scope.covers(&self.region_path)
    }

    fn from_person(p: Person) -> Self {
        Self::from_row((
            p.id,
            p.name,
            p.sex,
            p.birth_date,
            p.people,
            p.hukou,
            p.region_path,
            p.arrived_on,
            p.occupation,
            p.employment,
        ))
    }

    fn from_row(r: OutMigrantRow) -> Self {
        let (id, name, sex, birth_date, people, hukou, region_path, arrived_on, occ, emp) = r;
        Self {
            id,
            name: PersonInput::masked_name(&name),
            sex,
            birth_date,
            people,
            hukou,
            region_path,
            arrived_on,
            occupation: occ,
            employment: emp,
        }
    }
}

/// What an out-migrant list may be narrowed by.
#[derive(Debug, Clone, Default)]
pub struct OutMigrantFilter {
    /// A narrower 户籍地 prefix inside the caller's origins (`450226` within `4502`).
    pub hukou: Option<String>,
    pub people: Option<String>,
    pub employment: Option<String>,
}

/// The rule of the home side's view: the scope's origins, living outside it, still resident,
/// and a `linkage` consent not withdrawn.
fn out_migrants_of<'a>(
    scope: &Scope,
    f: &'a OutMigrantFilter,
) -> persons::BoxedQuery<'a, MultiBackend> {
    let consented = consents::table
        .filter(consents::person_id.eq(persons::id))
        .filter(consents::purpose.eq(ConsentPurpose::Linkage.as_str()))
        .filter(consents::withdrawn_at.is_null());
    let mut q = persons::table
        .filter(scope.origin_filter(persons::hukou, persons::region_path))
        .filter(persons::status.eq(PersonStatus::Resident.as_str()))
        .filter(diesel::dsl::exists(consented))
        .into_boxed();
    if let Some(h) = f.hukou.as_deref().filter(|h| !h.is_empty()) {
        q = q.filter(
            persons::hukou
                .like(crate::org::prefix_pattern(h))
                .escape('\\'),
        );
    }
    if let Some(p) = &f.people {
        q = q.filter(persons::people.eq(p));
    }
    if let Some(e) = &f.employment {
        q = q.filter(persons::employment.eq(e));
    }
    q
}

/// A page of the caller's out-migrants, newest first below `before`; audited as a view of the
/// people listed. People registered elsewhere: asked for with the permission, by type.
pub fn out_migrants(
    conn: &mut DbConnection,
    can: &Can<ViewOutMigrants>,
    f: &OutMigrantFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<OutMigrant>, DbError> {
    let actor = can.actor();
    let mut q = out_migrants_of(&actor.scope, f);
    if let Some(b) = before {
        q = q.filter(persons::id.lt(b));
    }
    let rows: Vec<OutMigrantRow> = q
        .order(persons::id.desc())
        .limit(limit)
        .select((
            persons::id,
            persons::name,
            persons::sex,
            persons::birth_date,
            persons::people,
            persons::hukou,
            persons::region_path,
            persons::arrived_on,
            persons::occupation,
            persons::employment,
        ))
        .load(conn)?;
    record_list(
        conn,
        actor,
        "person.out_migrants",
        rows.len(),
        serde_json::json!({
            "hukou": f.hukou,
            "people": f.people,
            "employment": f.employment,
        }),
    )?;
    Ok(rows.into_iter().map(OutMigrant::from_row).collect())
}

/// One out-migrant of the caller's origins, or `NotFound` (also for anyone in the caller's own
/// register, or who has not agreed to the linkage).
fn out_migrant(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Person, DbError> {
    let f = OutMigrantFilter::default();
    Ok(out_migrants_of(scope, &f)
        .filter(persons::id.eq(id))
        .select(Person::as_select())
        .first(conn)?)
}

/// A request for assistance between the two sides.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = assists)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Assist {
    pub id: i64,
    pub kind: String,
    pub person_id: i64,
    pub from_region_id: i64,
    pub from_path: String,
    pub to_region_id: i64,
    pub to_path: String,
    pub subject: String,
    pub body: String,
    pub due_on: NaiveDate,
    pub status: String,
    pub reply: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub replied_by: Option<i64>,
    pub replied_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub version: i32,
}

impl Assist {
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status == AssistStatus::Open.as_str() && self.due_on < today
    }

    /// Whether the scope is the side asked, who replies.
    pub fn asked_of(&self, scope: &Scope) -> bool {
        scope.covers(&self.to_path)
    }

    /// Whether the scope is the side that asked, who closes.
    pub fn asked_by(&self, scope: &Scope) -> bool {
        scope.covers(&self.from_path)
    }
}

fn region_by_id(conn: &mut DbConnection, id: i64) -> Result<Region, DbError> {
    Ok(regions::table
        .find(id)
        .select(Region::as_select())
        .first(conn)?)
}

/// The two sides of a request about `person`, seen from the caller: living in the caller's
/// scope, the caller asks the home county (which must be a region on the platform); an
/// out-migrant of the caller's origins, the caller's own region asks the person's grid.
fn sides(
    conn: &mut DbConnection,
    actor: &Actor,
    person_id: i64,
) -> Result<(Region, Region), DbError> {
    let not_found = || DbError::invalid("person_id", "err.assist.person_unknown");
    let person = super::read(conn, person_id).map_err(|_| not_found())?;
    if actor.scope.covers(&person.region_path) {
        // The home county hears of them only if they agreed to it (流出地联动).
        let agreed: i64 = consents::table
            .filter(consents::person_id.eq(person.id))
            .filter(consents::purpose.eq(ConsentPurpose::Linkage.as_str()))
            .filter(consents::withdrawn_at.is_null())
            .count()
            .get_result(conn)?;
        if agreed == 0 {
            return Err(DbError::invalid("person_id", "err.assist.no_consent"));
        }
        let here = region_by_id(conn, person.region_id)?;
        let home: Region = regions::table
            .filter(regions::code.eq(crate::refdata::official_code(&person.hukou)))
            .select(Region::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| {
                DbError::Invalid(
                    shiliu_domain::FieldError::new("person_id", "err.assist.home_not_on_platform")
                        .arg("hukou", &person.hukou)
                        .into(),
                )
            })?;
        if actor.scope.covers(&home.path) {
            // Both sides are the caller's own: nothing to ask of anyone else.
            return Err(DbError::invalid("person_id", "err.assist.home_is_yours"));
        }
        return Ok((here, home));
    }
    let person = out_migrant(conn, &actor.scope, person_id).map_err(|_| not_found())?;
    let own: i64 = users::table
        .find(actor.user_id.ok_or_else(not_found)?)
        .select(users::region_id)
        .first(conn)?;
    Ok((
        region_by_id(conn, own)?,
        region_by_id(conn, person.region_id)?,
    ))
}

/// Ask the other side about a person; audited.
pub fn ask(
    conn: &mut DbConnection,
    actor: &Actor,
    person_id: i64,
    input: &AssistInput,
) -> Result<Assist, DbError> {
    let (from, to) = sides(conn, actor, person_id)?;
    let a = Assist {
        id: new_id(),
        kind: input.kind.as_str().to_string(),
        person_id,
        from_region_id: from.id,
        from_path: from.path,
        to_region_id: to.id,
        to_path: to.path,
        subject: input.subject.clone(),
        body: input.body.clone(),
        due_on: input.due_on,
        status: AssistStatus::Open.as_str().to_string(),
        reply: None,
        created_by: actor.user_id,
        created_at: now(),
        replied_by: None,
        replied_at: None,
        closed_at: None,
        version: 1,
    };
    diesel::insert_into(assists::table)
        .values((
            assists::id.eq(a.id),
            assists::kind.eq(&a.kind),
            assists::person_id.eq(a.person_id),
            assists::from_region_id.eq(a.from_region_id),
            assists::from_path.eq(&a.from_path),
            assists::to_region_id.eq(a.to_region_id),
            assists::to_path.eq(&a.to_path),
            assists::subject.eq(&a.subject),
            assists::body.eq(&a.body),
            assists::due_on.eq(a.due_on),
            assists::status.eq(&a.status),
            assists::created_by.eq(a.created_by),
            assists::created_at.eq(a.created_at),
            assists::version.eq(a.version),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("assist.create", "assist", a.id)
            .region(a.to_region_id)
            .detail(serde_json::json!({ "kind": a.kind, "person": person_id, "due_on": a.due_on })),
    )?;
    Ok(a)
}

/// A request for assistance either side of which lies in the scope.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Assist, DbError> {
    Ok(assists::table
        .filter(assists::id.eq(id))
        .filter(
            scope
                .path_filter(assists::from_path)
                .or(scope.path_filter(assists::to_path)),
        )
        .select(Assist::as_select())
        .first(conn)?)
}

/// A request for assistance as its page shows it, with what the caller may see of the person:
/// their record when they live in the caller's scope, else the out-migrant's limited fields
/// (or nothing, if they have since moved or withdrawn their consent). Audited as a view.
pub fn view(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
) -> Result<(Assist, Option<OutMigrant>), DbError> {
    let a = get(conn, &actor.scope, id)?;
    let p = super::read(conn, a.person_id)?;
    let visible =
        actor.scope.covers(&p.region_path) || out_migrant(conn, &actor.scope, p.id).is_ok();
    let person = visible.then(|| OutMigrant::from_person(p));
    audit::record(
        conn,
        actor,
        Event::new("assist.view", "assist", id)
            .detail(serde_json::json!({ "person": a.person_id })),
    )?;
    Ok((a, person))
}

/// The side a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Asked of the caller's area.
    Incoming,
    /// Asked by the caller's area.
    Outgoing,
}

/// A page of requests for assistance, newest first below `before`: what they ask tells of
/// people, so the list is audited like a view of them.
pub fn list(
    conn: &mut DbConnection,
    actor: &Actor,
    side: Side,
    status: Option<AssistStatus>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Assist>, DbError> {
    let scope = &actor.scope;
    let mut q = assists::table.into_boxed();
    q = match side {
        Side::Incoming => q.filter(scope.path_filter(assists::to_path)),
        Side::Outgoing => q.filter(scope.path_filter(assists::from_path)),
    };
    if let Some(s) = status {
        q = q.filter(assists::status.eq(s.as_str()));
    }
    if let Some(b) = before {
        q = q.filter(assists::id.lt(b));
    }
    let rows: Vec<Assist> = q
        .order(assists::id.desc())
        .limit(limit)
        .select(Assist::as_select())
        .load(conn)?;
    if !rows.is_empty() {
        audit::record(
            conn,
            actor,
            Event::new("assist.list", "assist", "").detail(serde_json::json!({
                "shown": rows.len(),
                "incoming": side == Side::Incoming,
            })),
        )?;
    }
    Ok(rows)
}

/// How many requests wait for the caller's area to reply, and how many of them are overdue.
pub fn waiting(
    conn: &mut DbConnection,
    scope: &Scope,
    today: NaiveDate,
) -> Result<(i64, i64), DbError> {
    let open = || {
        assists::table
            .filter(scope.path_filter(assists::to_path))
            .filter(assists::status.eq(AssistStatus::Open.as_str()))
    };
    let all = open().count().get_result(conn)?;
    let late = open()
        .filter(assists::due_on.lt(today))
        .count()
        .get_result(conn)?;
    Ok((all, late))
}

/// The asked side replies (once; a request already answered is `Stale`).
pub fn reply(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    text: &str,
) -> Result<Assist, DbError> {
    let text = assist_reply(text).map_err(|e| DbError::Invalid(e.into()))?;
    let a = get(conn, &actor.scope, id)?;
    if !a.asked_of(&actor.scope) {
        return Err(DbError::invalid("reply", "err.assist.not_asked_of_you"));
    }
    let n = diesel::update(
        assists::table
            .filter(assists::id.eq(id))
            .filter(assists::version.eq(version))
            .filter(assists::status.eq(AssistStatus::Open.as_str())),
    )
    .set((
        assists::status.eq(AssistStatus::Answered.as_str()),
        assists::reply.eq(&text),
        assists::replied_by.eq(actor.user_id),
        assists::replied_at.eq(now()),
        assists::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    audit::record(
        conn,
        actor,
        Event::new("assist.reply", "assist", id)
            .region(a.to_region_id)
            .detail(serde_json::json!({ "late": a.is_overdue(crate::today()) })),
    )?;
    get(conn, &actor.scope, id)
}

/// The asking side closes the request (answered or not: no longer needed).
pub fn close(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
) -> Result<Assist, DbError> {
    let a = get(conn, &actor.scope, id)?;
    if !a.asked_by(&actor.scope) {
        return Err(DbError::invalid("status", "err.assist.not_yours"));
    }
    let n = diesel::update(
        assists::table
            .filter(assists::id.eq(id))
            .filter(assists::version.eq(version))
            .filter(assists::status.ne(AssistStatus::Closed.as_str())),
    )
    .set((
        assists::status.eq(AssistStatus::Closed.as_str()),
        assists::closed_at.eq(now()),
        assists::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    audit::record(
        conn,
        actor,
        Event::new("assist.close", "assist", id).region(a.from_region_id),
    )?;
    get(conn, &actor.scope, id)
}
