//! Messages (notifications): an outbox. A message is a row written in the transaction of the
//! event that causes it — a request received, dispatched, resolved, reminded or escalated —
//! so it is never lost (the event and its message commit together or not at all) and never
//! holds the request up (delivering it is the sender's work, later, outside that
//! transaction). In-app messages are in the addressee's inbox once written; an SMS waits for
//! the sender (`sender.rs`), which claims due rows exactly once, records every attempt,
//! retries with backoff and gives up after [`MAX_ATTEMPTS`]. Residents get SMS about their
//! request only with their consent, given at intake (`request_sms_consents`).

pub mod codes;
pub mod sender;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::messages::{Kind, reply_for_sms};
use shiliu_domain::roles::{Permission, Role};

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::requests::Request;
use crate::schema::{messages, request_sms_consents, users};
use crate::scope::Actor;
use crate::{DbConnection, DbError};

pub use shiliu_domain::messages::MAX_ATTEMPTS;

pub const IN_APP: &str = "in_app";
pub const SMS: &str = "sms";

/// A message's states: an SMS is `pending` until claimed (`sending`), then `sent`, back to
/// `pending` for another try, or `failed` when given up; an in-app message is `delivered`.
pub const PENDING: &str = "pending";
pub const SENDING: &str = "sending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";
pub const DELIVERED: &str = "delivered";

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = messages)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Message {
    pub id: i64,
    pub channel: String,
    pub kind: String,
    pub user_id: Option<i64>,
    pub phone: Option<String>,
    pub request_id: Option<i64>,
    pub region_path: String,
    pub params: String,
    pub status: String,
    pub attempts: i32,
    pub due_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub read_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl Message {
    pub fn kind(&self) -> Option<Kind> {
        Kind::parse(&self.kind)
    }

    /// The template's parameters (`{"code": "…"}`).
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(&self.params).unwrap_or_default()
    }

    /// A parameter as text ("" when absent).
    pub fn param(&self, name: &str) -> String {
        match self.params().get(name) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        }
    }
}

/// A new message on `channel`, written at `at` and due then, for the region at
/// `region_path`: in the inbox at once, or waiting for the sender (SMS).
fn new_message(
    channel: &str,
    kind: Kind,
    region_path: String,
    params: &serde_json::Value,
    at: NaiveDateTime,
) -> Message {
    Message {
        id: new_id(),
        channel: channel.into(),
        kind: kind.as_str().into(),
        user_id: None,
        phone: None,
        request_id: None,
        region_path,
        params: params.to_string(),
        status: if channel == IN_APP {
            DELIVERED
        } else {
            PENDING
        }
        .into(),
        attempts: 0,
        due_at: at,
        claimed_until: None,
        sent_at: None,
        read_at: None,
        created_at: at,
    }
}

/// One message about a request, to send now.
fn about(r: &Request, channel: &str, kind: Kind, params: serde_json::Value) -> Message {
    Message {
        request_id: Some(r.id),
        ..new_message(channel, kind, r.region_path.clone(), &params, crate::now())
    }
}

fn insert(conn: &mut DbConnection, rows: &[Message]) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    // Rows per statement stay well under SQLite's 32,766 bound values.
    for chunk in rows.chunks(1_000) {
        crate::on_engine!(conn, |c| diesel::insert_into(messages::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Requests just taken in (in the intake's transaction): the residents who consented are
/// recorded as such and sent their tracking code.
pub(crate) fn on_received(
    conn: &mut DbConnection,
    received: &[(&Request, bool)],
) -> Result<(), DbError> {
    let consenting: Vec<&Request> = received
        .iter()
        .filter(|(r, sms)| *sms && r.contact_phone.is_some())
        .map(|(r, _)| *r)
        .collect();
    if consenting.is_empty() {
        return Ok(());
    }
    let consents: Vec<_> = consenting
        .iter()
        .map(|r| {
            (
                request_sms_consents::request_id.eq(r.id),
                request_sms_consents::given_at.eq(r.received_at),
            )
        })
        .collect();
    crate::on_engine!(conn, |c| diesel::insert_into(request_sms_consents::table)
        .values(&consents)
        .execute(c))?;
    let rows: Vec<Message> = consenting
        .iter()
        .map(|r| to_resident(r, Kind::Received, serde_json::json!({"code": r.code})))
        .collect();
    insert(conn, &rows)
}

fn to_resident(r: &Request, kind: Kind, params: serde_json::Value) -> Message {
    Message {
        phone: r.contact_phone.clone(),
        ..about(r, SMS, kind, params)
    }
}

/// Whether the resident consented to SMS about this request.
pub fn consented(conn: &mut DbConnection, r: &Request) -> Result<bool, DbError> {
    Ok(request_sms_consents::table
        .filter(request_sms_consents::request_id.eq(r.id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// A step taken (in the step's transaction): the staff a request was sent to learn of it in
/// their inbox; a resident who consented learns of the reply and is invited to rate.
pub(crate) fn on_step(
    conn: &mut DbConnection,
    after: &Request,
    action: shiliu_domain::requests::Action,
) -> Result<(), DbError> {
    use shiliu_domain::requests::Action;
    let params = serde_json::json!({"code": after.code});
    let rows = match action {
        Action::Dispatch => staff_messages(
            conn,
            after,
            after.site_id,
            after.unit_id,
            Kind::Dispatched,
            &params,
        )?,
        Action::Transfer => staff_messages(
            conn,
            after,
            after.transfer_site_id,
            after.transfer_unit_id,
            Kind::Dispatched,
            &params,
        )?,
        a if a.resolves() && after.contact_phone.is_some() && consented(conn, after)? => {
            let reply = reply_for_sms(after.reply.as_deref().unwrap_or_default());
            vec![
                to_resident(
                    after,
                    Kind::Resolved,
                    serde_json::json!({"code": after.code, "reply": reply}),
                ),
                to_resident(after, Kind::Rate, params),
            ]
        }
        _ => vec![],
    };
    insert(conn, &rows)
}

/// A reminder (催办) marked (in the sweep's transaction): to the inbox of the staff handling
/// the request, or of the grid worker who took it (我来办), who handles it in person.
pub(crate) fn on_reminded(conn: &mut DbConnection, r: &Request) -> Result<(), DbError> {
    let params = serde_json::json!({"code": r.code});
    let mut rows = staff_messages(conn, r, r.site_id, r.unit_id, Kind::Reminded, &params)?;
    if let Some(worker) = crate::requests::on_the_spot::handler_of(conn, r.id)? {
        rows.push(Message {
            user_id: Some(worker),
            ..about(r, IN_APP, Kind::Reminded, params)
        });
    }
    insert(conn, &rows)
}

/// An escalation (督办) marked (in the sweep's transaction): to the supervising level's staff
/// who may dispatch, in their inbox and, with a mobile number on their account, by SMS.
pub(crate) fn on_escalated(
    conn: &mut DbConnection,
    r: &Request,
    supervising: Option<i64>,
) -> Result<(), DbError> {
    let Some(region) = supervising else {
        return Ok(());
    };
    let params = serde_json::json!({"code": r.code});
    let mut rows = Vec::new();
    for (id, phone) in staff(conn, At::Region(region), Permission::DispatchRequests)? {
        rows.push(Message {
            user_id: Some(id),
            ..about(r, IN_APP, Kind::Escalated, params.clone())
        });
        if let Some(phone) = phone {
            rows.push(Message {
                user_id: Some(id),
                phone: Some(phone),
                ..about(r, SMS, Kind::Escalated, params.clone())
            });
        }
    }
    insert(conn, &rows)
}

/// In-app messages to the active staff of a site or unit who may handle requests.
fn staff_messages(
    conn: &mut DbConnection,
    r: &Request,
    site: Option<i64>,
    unit: Option<i64>,
    kind: Kind,
    params: &serde_json::Value,
) -> Result<Vec<Message>, DbError> {
    let mut people = Vec::new();
    if let Some(s) = site {
        people.extend(staff(conn, At::Site(s), Permission::HandleRequests)?);
    }
    if let Some(u) = unit {
        people.extend(staff(conn, At::Unit(u), Permission::HandleRequests)?);
    }
    Ok(people
        .into_iter()
        .map(|(id, _)| Message {
            user_id: Some(id),
            ..about(r, IN_APP, kind, params.clone())
        })
        .collect())
}

/// Where staff work: a site, a unit, or a region's own staff (not its subtree's).
#[derive(Clone, Copy)]
enum At {
    Site(i64),
    Unit(i64),
    Region(i64),
}

/// Active users working at `at` whose role holds `p`, with their mobile numbers.
fn staff(
    conn: &mut DbConnection,
    at: At,
    p: Permission,
) -> Result<Vec<(i64, Option<String>)>, DbError> {
    let q = users::table
        .filter(users::active.eq(true))
        .order(users::id.asc())
        .select((users::id, users::role, users::phone));
    let rows: Vec<(i64, String, Option<String>)> = match at {
        At::Site(s) => q.filter(users::site_id.eq(s)).load(conn)?,
        At::Unit(u) => q.filter(users::unit_id.eq(u)).load(conn)?,
        At::Region(r) => q.filter(users::region_id.eq(r)).load(conn)?,
    };
    Ok(rows
        .into_iter()
        .filter(|(_, role, _)| Role::parse(role).is_some_and(|r| r.allows(p)))
        .map(|(id, _, phone)| (id, phone.filter(|p| !p.trim().is_empty())))
        .collect())
}

/// The newest in-app messages addressed to the actor, about what is still in their scope.
pub fn inbox(conn: &mut DbConnection, actor: &Actor, limit: i64) -> Result<Vec<Message>, DbError> {
    let Some(me) = actor.user_id else {
        return Ok(vec![]);
    };
    Ok(messages::table
        .filter(messages::user_id.eq(me))
        .filter(messages::channel.eq(IN_APP))
        .filter(actor.scope.path_filter(messages::region_path))
        .order(messages::id.desc())
        .limit(limit)
        .select(Message::as_select())
        .load(conn)?)
}

/// How many of the actor's in-app messages are unread (the header's bell).
pub fn unread(conn: &mut DbConnection, actor: &Actor) -> Result<i64, DbError> {
    let Some(me) = actor.user_id else {
        return Ok(0);
    };
    Ok(messages::table
        .filter(messages::user_id.eq(me))
        .filter(messages::channel.eq(IN_APP))
        .filter(messages::read_at.is_null())
        .filter(actor.scope.path_filter(messages::region_path))
        .count()
        .get_result(conn)?)
}

/// Mark one of the actor's messages read (another's, or one outside the scope: `NotFound`).
pub fn mark_read(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<(), DbError> {
    let me = actor.user_id.ok_or(DbError::NotFound)?;
    let n = diesel::update(
        messages::table
            .filter(messages::id.eq(id))
            .filter(messages::user_id.eq(me))
            .filter(messages::channel.eq(IN_APP))
            .filter(actor.scope.path_filter(messages::region_path)),
    )
    .set(messages::read_at.eq(Some(crate::now())))
    .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    audit::record(conn, actor, Event::new("message.read", "message", id))?;
    Ok(())
}

/// Mark all of the actor's unread messages read; how many were.
pub fn mark_all_read(conn: &mut DbConnection, actor: &Actor) -> Result<usize, DbError> {
    let me = actor.user_id.ok_or(DbError::NotFound)?;
    let n = diesel::update(
        messages::table
            .filter(messages::user_id.eq(me))
            .filter(messages::channel.eq(IN_APP))
            .filter(messages::read_at.is_null())
            .filter(actor.scope.path_filter(messages::region_path)),
    )
    .set(messages::read_at.eq(Some(crate::now())))
    .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("message.read_all", "message", 0).detail(serde_json::json!({"read": n})),
    )?;
    Ok(n)
}

/// Every message about a request, oldest first (for the tests and the request's page).
pub fn about_request(conn: &mut DbConnection, r: &Request) -> Result<Vec<Message>, DbError> {
    Ok(messages::table
        .filter(messages::request_id.eq(r.id))
        .order(messages::id.asc())
        .select(Message::as_select())
        .load(conn)?)
}
