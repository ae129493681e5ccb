//! Disputes (矛盾纠纷) and legal-aid cases (法律援助), each opened from a request and scoped by
//! that request's region. Opening and closing one is also written into the request's history,
//! so the request's page tells the whole story; every write is audited in its transaction.
//!
//! Who may see a dispute or a case is decided here, in [`assigned_to`] and the readers built on
//! it, for every read and write: staff by region (their scope covers it); a legal-aid user — a
//! lawyer or a mediator with an account — only what is assigned to them (the cases whose lawyer
//! they are, the disputes they mediate), inside their scope. A record's parties, sessions and
//! consultations are read through the record, never by a bare id.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::casework::{
    CaseStatus, ConsultationInput, DisputeInput, DisputeOutcomeInput, DisputeStatus, LegalAidInput,
    MediatorInput, PartyInput, SessionInput,
};
use shiliu_domain::roles::Role;

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::requests;
use crate::schema::{
    dispute_mediators, dispute_parties, dispute_sessions, disputes, legal_aid_cases,
    legal_consultations, regions, users,
};
use crate::scope::{Actor, Scope};
use crate::versioned;
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = disputes)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Dispute {
    pub id: i64,
    pub request_id: i64,
    pub region_id: i64,
    pub region_path: String,
    pub kind: String,
    pub summary: String,
    pub status: String,
    pub outcome: Option<String>,
    pub agreement: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = dispute_parties)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Party {
    pub id: i64,
    pub dispute_id: i64,
    pub side: String,
    pub name: String,
    pub people: Option<String>,
    pub phone: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = dispute_mediators)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Mediator {
    pub id: i64,
    pub dispute_id: i64,
    pub name: String,
    pub organisation: Option<String>,
    pub created_at: NaiveDateTime,
    /// The mediator's account, when they have one.
    pub user_id: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = dispute_sessions)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Session {
    pub id: i64,
    pub dispute_id: i64,
    pub held_on: NaiveDate,
    pub place: Option<String>,
    pub notes: String,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = legal_aid_cases)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct LegalAidCase {
    pub id: i64,
    pub request_id: i64,
    pub region_id: i64,
    pub region_path: String,
    pub matter: String,
    pub lawyer_id: i64,
    pub status: String,
    pub result: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = legal_consultations)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Consultation {
    pub id: i64,
    pub case_id: i64,
    pub held_on: NaiveDate,
    pub mode: String,
    pub summary: String,
    pub advice: String,
    pub minutes: Option<i32>,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
}

/// Register a dispute from a request in the actor's scope (one per request).
pub fn open_dispute(
    conn: &mut DbConnection,
    actor: &Actor,
    request_id: i64,
    input: &DisputeInput,
) -> Result<Dispute, DbError> {
    let r = opening_from(conn, actor, request_id, "err.dispute.exists", |c| {
        disputes::table
            .filter(disputes::request_id.eq(request_id))
            .count()
            .get_result(c)
    })?;
    let t = now();
    let d = Dispute {
        id: new_id(),
        request_id,
        region_id: r.region_id,
        region_path: r.region_path.clone(),
        kind: input.kind.as_str().into(),
        summary: input.summary.clone(),
        status: DisputeStatus::Open.as_str().into(),
        outcome: None,
        agreement: None,
        created_by: actor.user_id,
        created_at: t,
        closed_at: None,
        updated_at: t,
        version: 1,
    };
    diesel::insert_into(disputes::table)
        .values(&d)
        .execute(conn)?;
    let on_request = serde_json::json!({"dispute_id": d.id, "kind": d.kind});
    requests::note(conn, actor, &r, "dispute_open", &d.summary, on_request)?;
    audit::record(
        conn,
        actor,
        Event::new("dispute.open", "dispute", d.id)
            .region(d.region_id)
            .after(&d),
    )?;
    Ok(d)
}

/// The request a dispute or a case is opened from: in the actor's scope, and without one
/// already (`opened` counts those it has; `taken` says so when it has).
fn opening_from(
    conn: &mut DbConnection,
    actor: &Actor,
    request_id: i64,
    taken: &'static str,
    opened: impl FnOnce(&mut DbConnection) -> QueryResult<i64>,
) -> Result<requests::Request, DbError> {
    let r = requests::get(conn, &actor.scope, request_id)?;
    if opened(conn)? > 0 {
        return Err(DbError::invalid("request_id", taken));
    }
    Ok(r)
}

/// A dispute or case in scope takes records until it is closed (`closed` says so).
fn still_open<T>(
    record: T,
    is_closed: bool,
    field: &str,
    closed: &'static str,
) -> Result<T, DbError> {
    if is_closed {
        Err(DbError::invalid(field, closed))
    } else {
        Ok(record)
    }
}

/// Closing a dispute or a case is written into its request's history too.
fn note_closing(
    conn: &mut DbConnection,
    actor: &Actor,
    request_id: i64,
    action: &str,
    text: &str,
    detail: serde_json::Value,
) -> Result<(), DbError> {
    let r = requests::get(conn, &Scope::whole(), request_id)?;
    requests::note(conn, actor, &r, action, text, detail)
}

/// The user a legal-aid caller's casework is limited to: their own cases and the disputes
/// they mediate. `None` for staff, who see by region alone.
fn assigned_to(actor: &Actor) -> Option<i64> {
    (actor.role() == Some(Role::LegalAid)).then(|| actor.user_id.unwrap_or_default())
}

/// A dispute as the actor may see it (in scope and, for a legal-aid user, mediated by them);
/// otherwise `NotFound`, as if it did not exist.
fn admit_dispute(conn: &mut DbConnection, actor: &Actor, d: Dispute) -> Result<Dispute, DbError> {
    let d = actor.scope.admit(&d.region_path.clone(), d)?;
    if let Some(user) = assigned_to(actor) {
        let mediates = dispute_mediators::table
            .filter(dispute_mediators::dispute_id.eq(d.id))
            .filter(dispute_mediators::user_id.eq(user))
            .count()
            .get_result::<i64>(conn)?;
        if mediates == 0 {
            return Err(DbError::NotFound);
        }
    }
    Ok(d)
}

/// One dispute the actor may see.
pub fn dispute(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<Dispute, DbError> {
    let d = dispute_row(conn, id)?;
    admit_dispute(conn, actor, d)
}

/// The dispute registered from a request, if the actor may see it.
pub fn dispute_for_request(
    conn: &mut DbConnection,
    actor: &Actor,
    request_id: i64,
) -> Result<Option<Dispute>, DbError> {
    let found: Option<Dispute> = disputes::table
        .filter(disputes::request_id.eq(request_id))
        .select(Dispute::as_select())
        .first(conn)
        .optional()?;
    match found.map(|d| admit_dispute(conn, actor, d)) {
        Some(Err(DbError::NotFound)) | None => Ok(None),
        Some(other) => other.map(Some),
    }
}

/// The disputes the actor may see (in scope; a legal-aid user: those they mediate), with
/// this status: the list's query and its count.
fn visible_disputes(
    actor: &Actor,
    status: Option<DisputeStatus>,
) -> disputes::BoxedQuery<'static, crate::MultiBackend> {
    let mut q = disputes::table
        .filter(actor.scope.path_filter(disputes::region_path))
        .into_boxed();
    if let Some(user) = assigned_to(actor) {
        q = q.filter(
            disputes::id.eq_any(
                dispute_mediators::table
                    .filter(dispute_mediators::user_id.eq(user))
                    .select(dispute_mediators::dispute_id),
            ),
        );
    }
    if let Some(s) = status {
        q = q.filter(disputes::status.eq(s.as_str()));
    }
    q
}

/// Disputes the actor may see, newest first, keyset-paginated by id.
pub fn disputes(
    conn: &mut DbConnection,
    actor: &Actor,
    status: Option<DisputeStatus>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Dispute>, DbError> {
    let mut q = visible_disputes(actor, status);
    if let Some(b) = before_id {
        q = q.filter(disputes::id.lt(b));
    }
    Ok(q.order(disputes::id.desc())
        .limit(limit)
        .select(Dispute::as_select())
        .load(conn)?)
}

/// How many disputes [`disputes`] lists with this status.
pub fn dispute_count(
    conn: &mut DbConnection,
    actor: &Actor,
    status: DisputeStatus,
) -> Result<i64, DbError> {
    Ok(visible_disputes(actor, Some(status))
        .count()
        .get_result(conn)?)
}

/// A dispute's parties, mediators and sessions.
pub type DisputeRecords = (Vec<Party>, Vec<Mediator>, Vec<Session>);

/// A dispute's records, in the order they were recorded (sessions by date); read through the
/// dispute as the caller was admitted to it.
pub fn dispute_records(conn: &mut DbConnection, d: &Dispute) -> Result<DisputeRecords, DbError> {
    let dispute_id = d.id;
    let parties = dispute_parties::table
        .filter(dispute_parties::dispute_id.eq(dispute_id))
        .order(dispute_parties::id.asc())
        .select(Party::as_select())
        .load(conn)?;
    let mediators = dispute_mediators::table
        .filter(dispute_mediators::dispute_id.eq(dispute_id))
        .order(dispute_mediators::id.asc())
        .select(Mediator::as_select())
        .load(conn)?;
    let sessions = dispute_sessions::table
        .filter(dispute_sessions::dispute_id.eq(dispute_id))
        .order((dispute_sessions::held_on.asc(), dispute_sessions::id.asc()))
        .select(Session::as_select())
        .load(conn)?;
    Ok((parties, mediators, sessions))
}

/// A dispute in scope that still takes records.
fn open_dispute_in_scope(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
) -> Result<Dispute, DbError> {
    let d = dispute(conn, actor, id)?;
    let closed = d.status == DisputeStatus::Closed.as_str();
    still_open(d, closed, "dispute", "err.dispute.closed")
}

pub fn add_party(
    conn: &mut DbConnection,
    actor: &Actor,
    dispute_id: i64,
    input: &PartyInput,
) -> Result<Party, DbError> {
    let d = open_dispute_in_scope(conn, actor, dispute_id)?;
    let p = Party {
        id: new_id(),
        dispute_id,
        side: input.side.as_str().into(),
        name: input.name.clone(),
        people: input.people.clone(),
        phone: input.phone.as_ref().map(|m| m.as_str().to_string()),
        created_at: now(),
    };
    diesel::insert_into(dispute_parties::table)
        .values(&p)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("dispute.party_add", "dispute", dispute_id)
            .region(d.region_id)
            .after(&p),
    )?;
    Ok(p)
}

pub fn add_mediator(
    conn: &mut DbConnection,
    actor: &Actor,
    dispute_id: i64,
    input: &MediatorInput,
) -> Result<Mediator, DbError> {
    let d = open_dispute_in_scope(conn, actor, dispute_id)?;
    // One with an account is named by it; they must be a legal-aid user covering the dispute.
    let (user_id, name) = match &input.user {
        Some(username) => {
            let (id, name) = lawyer(conn, "mediator_user", username, &d.region_path)?;
            (Some(id), name)
        }
        None => (None, input.name.clone()),
    };
    let m = Mediator {
        id: new_id(),
        dispute_id,
        name,
        organisation: input.organisation.clone(),
        created_at: now(),
        user_id,
    };
    diesel::insert_into(dispute_mediators::table)
        .values(&m)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("dispute.mediator_add", "dispute", dispute_id)
            .region(d.region_id)
            .after(&m),
    )?;
    Ok(m)
}

/// Record a session held; the first one moves the dispute to being mediated.
pub fn add_session(
    conn: &mut DbConnection,
    actor: &Actor,
    dispute_id: i64,
    input: &SessionInput,
) -> Result<Session, DbError> {
    let d = open_dispute_in_scope(conn, actor, dispute_id)?;
    let t = now();
    let s = Session {
        id: new_id(),
        dispute_id,
        held_on: input.held_on,
        place: input.place.clone(),
        notes: input.notes.clone(),
        recorded_by: actor.name.clone(),
        created_at: t,
    };
    diesel::insert_into(dispute_sessions::table)
        .values(&s)
        .execute(conn)?;
    if d.status == DisputeStatus::Open.as_str() {
        diesel::update(disputes::table.filter(disputes::id.eq(dispute_id)))
            .set((
                disputes::status.eq(DisputeStatus::Mediating.as_str()),
                disputes::updated_at.eq(t),
                disputes::version.eq(disputes::version + 1),
            ))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("dispute.session_add", "dispute", dispute_id)
            .region(d.region_id)
            .after(&s),
    )?;
    Ok(s)
}

/// End mediation with its outcome (and the agreement, on success), as of the version seen.
pub fn close_dispute(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    input: &DisputeOutcomeInput,
) -> Result<Dispute, DbError> {
    let before = open_dispute_in_scope(conn, actor, id)?;
    versioned::expect(version, before.version)?;
    let t = now();
    let n = diesel::update(
        disputes::table
            .filter(disputes::id.eq(id))
            .filter(disputes::version.eq(version)),
    )
    .set((
        disputes::status.eq(DisputeStatus::Closed.as_str()),
        disputes::outcome.eq(input.outcome.as_str()),
        disputes::agreement.eq(&input.agreement),
        disputes::closed_at.eq(t),
        disputes::updated_at.eq(t),
        disputes::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    let after = versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| dispute_row(c, id),
        |after| Event::new("dispute.close", "dispute", id).region(after.region_id),
    )?;
    let on_request = serde_json::json!({"dispute_id": id, "outcome": input.outcome.as_str()});
    let agreement = after.agreement.as_deref().unwrap_or("");
    note_closing(
        conn,
        actor,
        after.request_id,
        "dispute_close",
        agreement,
        on_request,
    )?;
    Ok(after)
}

/// A lawyer (or mediator) who may take a case arising in `region_path`: an active legal-aid
/// user whose region's subtree contains it; a problem is reported under `field`.
fn lawyer(
    conn: &mut DbConnection,
    field: &str,
    username: &str,
    region_path: &str,
) -> Result<(i64, String), DbError> {
    let found: Option<(i64, String, String)> = users::table
        .inner_join(regions::table)
        .filter(users::username.eq(username.trim()))
        .filter(users::role.eq(Role::LegalAid.as_str()))
        .filter(users::active.eq(true))
        .select((users::id, users::display_name, regions::path))
        .first(conn)
        .optional()?;
    match found {
        None => Err(DbError::invalid(field, "err.lawyer.unknown")),
        Some((_, _, path)) if !region_path.starts_with(path.as_str()) => {
            Err(DbError::invalid(field, "err.lawyer.scope"))
        }
        Some((id, name, _)) => Ok((id, name)),
    }
}

/// Legal-aid users whose scope covers a region: the lawyers a case there may go to.
pub fn lawyers_for(
    conn: &mut DbConnection,
    region_path: &str,
) -> Result<Vec<(String, String)>, DbError> {
    let rows: Vec<(String, String, String)> = users::table
        .inner_join(regions::table)
        .filter(users::role.eq(Role::LegalAid.as_str()))
        .filter(users::active.eq(true))
        .order(users::username.asc())
        .select((users::username, users::display_name, regions::path))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, p)| region_path.starts_with(p.as_str()))
        .map(|(u, n, _)| (u, n))
        .collect())
}

/// Open a legal-aid case from a request in the actor's scope, for a lawyer (one per request).
pub fn open_legal_aid(
    conn: &mut DbConnection,
    actor: &Actor,
    request_id: i64,
    input: &LegalAidInput,
) -> Result<LegalAidCase, DbError> {
    let r = opening_from(conn, actor, request_id, "err.legal_aid.exists", |c| {
        legal_aid_cases::table
            .filter(legal_aid_cases::request_id.eq(request_id))
            .count()
            .get_result(c)
    })?;
    let (lawyer_id, lawyer_name) = lawyer(conn, "lawyer", &input.lawyer, &r.region_path)?;
    let t = now();
    let c = LegalAidCase {
        id: new_id(),
        request_id,
        region_id: r.region_id,
        region_path: r.region_path.clone(),
        matter: input.matter.clone(),
        lawyer_id,
        status: CaseStatus::Open.as_str().into(),
        result: None,
        created_by: actor.user_id,
        created_at: t,
        closed_at: None,
        updated_at: t,
        version: 1,
    };
    diesel::insert_into(legal_aid_cases::table)
        .values(&c)
        .execute(conn)?;
    let on_request = serde_json::json!({"case_id": c.id, "lawyer": lawyer_name});
    requests::note(conn, actor, &r, "legal_aid_open", &c.matter, on_request)?;
    audit::record(
        conn,
        actor,
        Event::new("legal_aid.open", "legal_aid_case", c.id)
            .region(c.region_id)
            .after(&c),
    )?;
    Ok(c)
}

/// A case as the actor may see it (in scope and, for a legal-aid user, theirs); otherwise
/// `NotFound`, as if it did not exist.
fn admit_case(actor: &Actor, c: LegalAidCase) -> Result<LegalAidCase, DbError> {
    let c = actor.scope.admit(&c.region_path.clone(), c)?;
    match assigned_to(actor) {
        Some(user) if c.lawyer_id != user => Err(DbError::NotFound),
        _ => Ok(c),
    }
}

/// One case the actor may see.
pub fn legal_aid_case(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
) -> Result<LegalAidCase, DbError> {
    admit_case(actor, case_row(conn, id)?)
}

fn case_row(conn: &mut DbConnection, id: i64) -> Result<LegalAidCase, DbError> {
    Ok(legal_aid_cases::table
        .filter(legal_aid_cases::id.eq(id))
        .select(LegalAidCase::as_select())
        .first(conn)?)
}

fn dispute_row(conn: &mut DbConnection, id: i64) -> Result<Dispute, DbError> {
    Ok(disputes::table
        .filter(disputes::id.eq(id))
        .select(Dispute::as_select())
        .first(conn)?)
}

/// The case opened from a request, if the actor may see it.
pub fn case_for_request(
    conn: &mut DbConnection,
    actor: &Actor,
    request_id: i64,
) -> Result<Option<LegalAidCase>, DbError> {
    let found: Option<LegalAidCase> = legal_aid_cases::table
        .filter(legal_aid_cases::request_id.eq(request_id))
        .select(LegalAidCase::as_select())
        .first(conn)
        .optional()?;
    Ok(found.and_then(|c| admit_case(actor, c).ok()))
}

/// The cases the actor may see (in scope; a lawyer: their own), with this status: the list's
/// query and its count.
fn visible_cases(
    actor: &Actor,
    status: Option<CaseStatus>,
) -> legal_aid_cases::BoxedQuery<'static, crate::MultiBackend> {
    let mut q = legal_aid_cases::table
        .filter(actor.scope.path_filter(legal_aid_cases::region_path))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(legal_aid_cases::status.eq(s.as_str()));
    }
    if let Some(l) = assigned_to(actor) {
        q = q.filter(legal_aid_cases::lawyer_id.eq(l));
    }
    q
}

/// Cases the actor may see (a lawyer: their own), newest first, keyset-paginated by id.
pub fn legal_aid_cases(
    conn: &mut DbConnection,
    actor: &Actor,
    status: Option<CaseStatus>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<(LegalAidCase, String)>, DbError> {
    let mut q = visible_cases(actor, status);
    if let Some(b) = before_id {
        q = q.filter(legal_aid_cases::id.lt(b));
    }
    let cases: Vec<LegalAidCase> = q
        .order(legal_aid_cases::id.desc())
        .limit(limit)
        .select(LegalAidCase::as_select())
        .load(conn)?;
    let lawyers: Vec<i64> = cases.iter().map(|k| k.lawyer_id).collect();
    let names: std::collections::HashMap<i64, String> = users::table
        .filter(users::id.eq_any(lawyers))
        .select((users::id, users::display_name))
        .load(conn)?
        .into_iter()
        .collect();
    Ok(cases
        .into_iter()
        .map(|k| {
            let name = names.get(&k.lawyer_id).cloned().unwrap_or_default();
            (k, name)
        })
        .collect())
}

/// How many cases [`legal_aid_cases`] lists with this status.
pub fn legal_aid_count(
    conn: &mut DbConnection,
    actor: &Actor,
    status: CaseStatus,
) -> Result<i64, DbError> {
    Ok(visible_cases(actor, Some(status))
        .count()
        .get_result(conn)?)
}

/// The lawyer's name shown on a case.
pub fn lawyer_name(conn: &mut DbConnection, lawyer_id: i64) -> Result<String, DbError> {
    Ok(users::table
        .filter(users::id.eq(lawyer_id))
        .select(users::display_name)
        .first(conn)?)
}

/// A case's consultations by date, read through the case as the caller was admitted to it.
pub fn consultations(
    conn: &mut DbConnection,
    k: &LegalAidCase,
) -> Result<Vec<Consultation>, DbError> {
    Ok(legal_consultations::table
        .filter(legal_consultations::case_id.eq(k.id))
        .order((
            legal_consultations::held_on.asc(),
            legal_consultations::id.asc(),
        ))
        .select(Consultation::as_select())
        .load(conn)?)
}

/// A case in scope that still takes records.
fn open_case_in_scope(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
) -> Result<LegalAidCase, DbError> {
    let c = legal_aid_case(conn, actor, id)?;
    let closed = c.status == CaseStatus::Closed.as_str();
    still_open(c, closed, "case", "err.legal_aid.closed")
}

pub fn add_consultation(
    conn: &mut DbConnection,
    actor: &Actor,
    case_id: i64,
    input: &ConsultationInput,
) -> Result<Consultation, DbError> {
    let c = open_case_in_scope(conn, actor, case_id)?;
    let k = Consultation {
        id: new_id(),
        case_id,
        held_on: input.held_on,
        mode: input.mode.as_str().into(),
        summary: input.summary.clone(),
        advice: input.advice.clone(),
        minutes: input.minutes,
        recorded_by: actor.name.clone(),
        created_at: now(),
    };
    diesel::insert_into(legal_consultations::table)
        .values(&k)
        .execute(conn)?;
    diesel::update(legal_aid_cases::table.filter(legal_aid_cases::id.eq(case_id)))
        .set(legal_aid_cases::updated_at.eq(k.created_at))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("legal_aid.consultation_add", "legal_aid_case", case_id)
            .region(c.region_id)
            .after(&k),
    )?;
    Ok(k)
}

/// Close a case with what came of it, as of the version seen.
pub fn close_case(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    result: &str,
) -> Result<LegalAidCase, DbError> {
    let result = shiliu_domain::error::required_text("result", result, 4000)
        .map_err(|e| DbError::Invalid(e.into()))?;
    let before = open_case_in_scope(conn, actor, id)?;
    versioned::expect(version, before.version)?;
    let t = now();
    let n = diesel::update(
        legal_aid_cases::table
            .filter(legal_aid_cases::id.eq(id))
            .filter(legal_aid_cases::version.eq(version)),
    )
    .set((
        legal_aid_cases::status.eq(CaseStatus::Closed.as_str()),
        legal_aid_cases::result.eq(&result),
        legal_aid_cases::closed_at.eq(t),
        legal_aid_cases::updated_at.eq(t),
        legal_aid_cases::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    let after = versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| case_row(c, id),
        |after| Event::new("legal_aid.close", "legal_aid_case", id).region(after.region_id),
    )?;
    let on_request = serde_json::json!({"case_id": id});
    note_closing(
        conn,
        actor,
        after.request_id,
        "legal_aid_close",
        &result,
        on_request,
    )?;
    Ok(after)
}
