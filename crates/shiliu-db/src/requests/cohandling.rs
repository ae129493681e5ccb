//! Co-handling (协办): while handling a request, its handler asks other sites or units to help
//! (a department for a school place, a township for a tenancy). Each asked unit answers with
//! what it did. The request stays with its handler; asking and answering are written into the
//! request's history and audited.
//!
//! The asked unit must sit at the request's region or above it, so its staff see the request
//! through the one scope rule (their region's subtree) and no exception to it is needed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::requests::CohandlingInput;

use super::{Request, get, note};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::org::{site_id_by_name, unit_id_by_name};
use crate::schema::{regions, request_cohandlers, sites, units, users};
use crate::scope::Actor;
use crate::versioned;
use crate::{DbConnection, DbError, now};

pub const ASKED: &str = "asked";
pub const ANSWERED: &str = "answered";

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, PartialEq, Eq)]
#[diesel(table_name = request_cohandlers)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Cohandler {
    pub id: i64,
    pub request_id: i64,
    pub site_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub asked: String,
    pub status: String,
    pub answer: Option<String>,
    pub asked_by: String,
    pub asked_at: NaiveDateTime,
    pub answered_by: Option<String>,
    pub answered_at: Option<NaiveDateTime>,
    pub version: i32,
}

/// A co-handler with the name of the site or unit, for pages.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Named {
    #[serde(flatten)]
    pub cohandler: Cohandler,
    pub name: String,
}

/// Ask a site or unit (named; a site is looked for first) to help with a request the actor
/// handles.
pub fn ask(
    conn: &mut DbConnection,
    actor: &Actor,
    request_id: i64,
    version: i32,
    input: &CohandlingInput,
) -> Result<Cohandler, DbError> {
    let r = get(conn, &actor.scope, request_id)?;
    versioned::expect(version, r.version)?;
    if !r.status().may_ask_cohandlers() {
        return Err(DbError::invalid("cohandler", "err.cohandle.status"));
    }
    let (site_id, unit_id) = match site_id_by_name(conn, &actor.scope, &input.target, "cohandler") {
        Ok(id) => (Some(id), None),
        Err(DbError::Invalid(_)) => (
            None,
            Some(unit_id_by_name(
                conn,
                &actor.scope,
                &input.target,
                "cohandler",
            )?),
        ),
        Err(e) => return Err(e),
    };
    if site_id.is_some() && site_id == r.site_id || unit_id.is_some() && unit_id == r.unit_id {
        return Err(DbError::invalid("cohandler", "err.cohandle.self"));
    }
    let path = target_path(conn, site_id, unit_id)?;
    if !r.region_path.starts_with(&path) {
        return Err(DbError::invalid("cohandler", "err.cohandle.scope"));
    }
    let mut same = request_cohandlers::table
        .filter(request_cohandlers::request_id.eq(r.id))
        .filter(request_cohandlers::status.eq(ASKED))
        .into_boxed();
    same = match site_id {
        Some(s) => same.filter(request_cohandlers::site_id.eq(s)),
        None => same.filter(request_cohandlers::unit_id.eq(unit_id)),
    };
    let open: i64 = same.count().get_result(conn)?;
    if open > 0 {
        return Err(DbError::invalid("cohandler", "err.cohandle.exists"));
    }
    let c = Cohandler {
        id: new_id(),
        request_id: r.id,
        site_id,
        unit_id,
        asked: input.asked.clone(),
        status: ASKED.into(),
        answer: None,
        asked_by: actor.name.clone(),
        asked_at: now(),
        answered_by: None,
        answered_at: None,
        version: 1,
    };
    diesel::insert_into(request_cohandlers::table)
        .values(&c)
        .execute(conn)?;
    // The request's version moves too: its page shows the co-handlers, and two people acting
    // on the page at once must not miss each other's change.
    bump(conn, &r)?;
    note(
        conn,
        actor,
        &r,
        "cohandle_ask",
        &format!("{}：{}", input.target, c.asked),
        serde_json::json!({"cohandler_id": c.id, "site_id": site_id, "unit_id": unit_id}),
    )?;
    audit::record(
        conn,
        actor,
        Event::new("request.cohandle_ask", "request", r.id)
            .region(r.region_id)
            .after(&c),
    )?;
    Ok(c)
}

/// The co-handler's answer. Its own staff answer (their account's site or unit), or someone
/// who may dispatch requests in the request's region, recording it for them.
pub fn answer(
    conn: &mut DbConnection,
    actor: &Actor,
    request_id: i64,
    cohandler_id: i64,
    may_answer_for_others: bool,
    answer: &str,
) -> Result<Cohandler, DbError> {
    let r = get(conn, &actor.scope, request_id)?;
    let before: Cohandler = request_cohandlers::table
        .filter(request_cohandlers::id.eq(cohandler_id))
        .filter(request_cohandlers::request_id.eq(request_id))
        .select(Cohandler::as_select())
        .first(conn)?;
    if !may_answer_for_others && !is_staff_of(conn, actor, &before)? {
        return Err(DbError::invalid("answer", "err.cohandle.not_yours"));
    }
    if before.status != ASKED {
        return Err(DbError::invalid("answer", "err.cohandle.answered"));
    }
    let t = now();
    let n = diesel::update(
        request_cohandlers::table
            .filter(request_cohandlers::id.eq(before.id))
            .filter(request_cohandlers::version.eq(before.version)),
    )
    .set((
        request_cohandlers::status.eq(ANSWERED),
        request_cohandlers::answer.eq(answer),
        request_cohandlers::answered_by.eq(&actor.name),
        request_cohandlers::answered_at.eq(t),
        request_cohandlers::version.eq(crate::versioned::next(before.version)?),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    let after: Cohandler = request_cohandlers::table
        .find(cohandler_id)
        .select(Cohandler::as_select())
        .first(conn)?;
    bump(conn, &r)?;
    note(
        conn,
        actor,
        &r,
        "cohandle_answer",
        answer,
        serde_json::json!({"cohandler_id": after.id}),
    )?;
    audit::record(
        conn,
        actor,
        Event::new("request.cohandle_answer", "request", r.id)
            .region(r.region_id)
            .before(&before)
            .after(&after),
    )?;
    Ok(after)
}

/// A request's co-handlers with their names, in the order they were asked; read through the
/// request as the caller was given it in scope.
pub fn list(conn: &mut DbConnection, r: &super::Request) -> Result<Vec<Named>, DbError> {
    let request_id = r.id;
    let rows: Vec<(Cohandler, Option<String>, Option<String>)> = request_cohandlers::table
        .left_join(sites::table)
        .left_join(units::table)
        .filter(request_cohandlers::request_id.eq(request_id))
        .order(request_cohandlers::asked_at.asc())
        .select((
            Cohandler::as_select(),
            sites::name.nullable(),
            units::name.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(c, site, unit)| Named {
            cohandler: c,
            name: site.or(unit).unwrap_or_default(),
        })
        .collect())
}

/// The site and unit the actor's account belongs to.
fn own_place(
    conn: &mut DbConnection,
    actor: &Actor,
) -> Result<(Option<i64>, Option<i64>), DbError> {
    let Some(uid) = actor.user_id else {
        return Ok((None, None));
    };
    Ok(users::table
        .find(uid)
        .select((users::site_id, users::unit_id))
        .first(conn)?)
}

fn is_staff_of(conn: &mut DbConnection, actor: &Actor, c: &Cohandler) -> Result<bool, DbError> {
    let (site_id, unit_id) = own_place(conn, actor)?;
    Ok(c.site_id.is_some() && c.site_id == site_id || c.unit_id.is_some() && c.unit_id == unit_id)
}

/// The region path of the site or unit.
fn target_path(
    conn: &mut DbConnection,
    site_id: Option<i64>,
    unit_id: Option<i64>,
) -> Result<String, DbError> {
    Ok(match (site_id, unit_id) {
        (Some(s), _) => sites::table
            .inner_join(regions::table)
            .filter(sites::id.eq(s))
            .select(regions::path)
            .first(conn)?,
        (None, Some(u)) => units::table
            .inner_join(regions::table)
            .filter(units::id.eq(u))
            .select(regions::path)
            .first(conn)?,
        (None, None) => return Err(DbError::NotFound),
    })
}

fn bump(conn: &mut DbConnection, r: &Request) -> Result<(), DbError> {
    use crate::schema::requests;
    let n = diesel::update(
        requests::table
            .filter(requests::id.eq(r.id))
            .filter(requests::version.eq(r.version)),
    )
    .set((
        requests::version.eq(crate::versioned::next(r.version)?),
        requests::updated_at.eq(now()),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    Ok(())
}
