//! One-time codes: a resident who lost their tracking code gives their phone number, gets a
//! six-digit code by SMS, and with it the list of that number's requests and their codes.
//! Only the code's hash is kept; a code lives [`CODE_MINUTES`], takes [`CODE_TRIES`] tries and
//! is used once; a number is sent at most [`CODES_PER_PHONE_PER_HOUR`] an hour and an address
//! may ask [`CODES_PER_ADDRESS_PER_HOUR`] times. The answers do not tell whether a number has
//! requests: a number without any gets a ticket like any other, and no SMS.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;
use sha2::{Digest, Sha256};
use shiliu_domain::messages::{
    CODE_MINUTES, CODE_TRIES, CODES_PER_ADDRESS_PER_HOUR, CODES_PER_PHONE_PER_HOUR, Kind,
};
use shiliu_domain::mobile::Mobile;

use super::{Message, SMS};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::requests::Request;
use crate::schema::{messages, requests, resident_codes};
use crate::scope::Actor;
use crate::{DbConnection, DbError};

/// The requests a recovered list shows at most (newest first).
pub const LISTED: i64 = 50;

/// What asking for a code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// A ticket to check the code against (sent by SMS when the number has requests).
    Ticket(i64),
    /// The number or the address asked too often this hour.
    TooMany,
}

fn hash(ticket: i64, phone: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{ticket}:{phone}:{code}")))
}

/// Ask for a code for `phone`, as the resident `actor` (their address counts the tries).
pub fn ask(
    conn: &mut DbConnection,
    actor: &Actor,
    phone: &Mobile,
    at: NaiveDateTime,
) -> Result<Asked, DbError> {
    let phone = phone.as_str();
    let hour_ago = at - chrono::Duration::hours(1);
    let by_phone: i64 = resident_codes::table
        .filter(resident_codes::phone.eq(phone))
        .filter(resident_codes::created_at.gt(hour_ago))
        .count()
        .get_result(conn)?;
    let by_addr: i64 = resident_codes::table
        .filter(resident_codes::client_addr.eq(&actor.client_addr))
        .filter(resident_codes::created_at.gt(hour_ago))
        .count()
        .get_result(conn)?;
    if by_phone >= CODES_PER_PHONE_PER_HOUR || by_addr >= CODES_PER_ADDRESS_PER_HOUR {
        return Ok(Asked::TooMany);
    }
    let ticket = new_id();
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    diesel::insert_into(resident_codes::table)
        .values((
            resident_codes::id.eq(ticket),
            resident_codes::phone.eq(phone),
            resident_codes::client_addr.eq(&actor.client_addr),
            resident_codes::code_hash.eq(hash(ticket, phone, &code)),
            resident_codes::tries.eq(0),
            resident_codes::created_at.eq(at),
            resident_codes::expires_at.eq(at + chrono::Duration::minutes(CODE_MINUTES)),
        ))
        .execute(conn)?;
    let newest: Option<String> = requests::table
        .filter(requests::contact_phone.eq(phone))
        .order(requests::received_at.desc())
        .select(requests::region_path)
        .first(conn)
        .optional()?;
    if let Some(region_path) = &newest {
        diesel::insert_into(messages::table)
            .values(&Message {
                phone: Some(phone.to_string()),
                ..super::new_message(
                    SMS,
                    Kind::Code,
                    region_path.clone(),
                    &serde_json::json!({"code": code}),
                    at,
                )
            })
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("resident.code.ask", "resident_code", ticket)
            .detail(serde_json::json!({"sent": newest.is_some()})),
    )?;
    Ok(Asked::Ticket(ticket))
}

/// What checking a code found.
#[derive(Debug, Clone)]
pub enum Checked {
    /// The right code: the number's requests, newest first.
    Requests(Vec<Request>),
    /// A wrong code, with the tries left.
    Wrong(i32),
    /// No such ticket, or it expired, was used, or has no tries left.
    Spent,
}

/// Check `code` against the ticket, as the resident `actor`.
pub fn check(
    conn: &mut DbConnection,
    actor: &Actor,
    ticket: i64,
    code: &str,
    at: NaiveDateTime,
) -> Result<Checked, DbError> {
    let row: Option<(String, String, i32, NaiveDateTime, Option<NaiveDateTime>)> =
        resident_codes::table
            .filter(resident_codes::id.eq(ticket))
            .select((
                resident_codes::phone,
                resident_codes::code_hash,
                resident_codes::tries,
                resident_codes::expires_at,
                resident_codes::used_at,
            ))
            .first(conn)
            .optional()?;
    let Some((phone, hashed, tries, expires, used)) = row else {
        return Ok(Checked::Spent);
    };
    if used.is_some() || expires <= at || tries >= CODE_TRIES {
        return Ok(Checked::Spent);
    }
    // The try counts before it is judged, guarded by the count seen: two tries at once cannot
    // both take the same last try.
    let n = diesel::update(
        resident_codes::table
            .filter(resident_codes::id.eq(ticket))
            .filter(resident_codes::tries.eq(tries)),
    )
    .set(resident_codes::tries.eq(tries + 1))
    .execute(conn)?;
    if n == 0 {
        return Err(DbError::Stale);
    }
    let right = hash(ticket, &phone, code) == hashed;
    audit::record(
        conn,
        actor,
        Event::new("resident.code.check", "resident_code", ticket)
            .detail(serde_json::json!({"right": right})),
    )?;
    if !right {
        return Ok(Checked::Wrong(CODE_TRIES - tries - 1));
    }
    diesel::update(resident_codes::table.filter(resident_codes::id.eq(ticket)))
        .set(resident_codes::used_at.eq(Some(at)))
        .execute(conn)?;
    Ok(Checked::Requests(
        requests::table
            .filter(requests::contact_phone.eq(&phone))
            .order(requests::received_at.desc())
            .limit(LISTED)
            .select(Request::as_select())
            .load(conn)?,
    ))
}
