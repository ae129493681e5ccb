//! The sender's side of the outbox: claim due SMS (each exactly once, however many servers
//! claim at once), record what the provider answered, try again later or give up. The
//! delivery itself (the provider's HTTP call) happens between a claim and its record, outside
//! any transaction: the web crate's sender task runs the loop.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use shiliu_domain::messages::{Kind, PER_RECIPIENT_PER_HOUR, backoff};

use super::{FAILED, MAX_ATTEMPTS, Message, PENDING, SENDING, SENT, SMS};
use crate::ids::new_id;
use crate::schema::{message_attempts, messages, sms_log};
use crate::{DbConnection, DbError};

/// How long a claim holds: a server that claimed a message and died leaves it to be claimed
/// again after this (the message may then go out twice; never not at all).
pub const CLAIM_FOR: chrono::Duration = chrono::Duration::minutes(2);

/// Claim up to `limit` SMS due at `at`, each exactly once: a claim is a guarded update of
/// the row (`attempts` as its version), so of two servers claiming the same row one updates
/// it and the other finds it changed and skips it. A recipient who has had
/// [`PER_RECIPIENT_PER_HOUR`] SMS in the past hour gets the next one when the hour has room
/// (one-time codes excepted: they have their own limit, and a code an hour late is useless).
pub fn claim(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Message>, DbError> {
    let due: Vec<Message> = messages::table
        .filter(messages::channel.eq(SMS))
        .filter(
            messages::status
                .eq(PENDING)
                .and(messages::due_at.le(at))
                .or(messages::status
                    .eq(SENDING)
                    .and(messages::claimed_until.lt(Some(at)))),
        )
        .order(messages::due_at.asc())
        .limit(limit)
        .select(Message::as_select())
        .load(conn)?;
    let mut claimed: Vec<Message> = Vec::with_capacity(due.len());
    for m in due {
        if m.kind() != Some(Kind::Code)
            && let Some(phone) = m.phone.clone()
        {
            let hour_ago = at - chrono::Duration::hours(1);
            let mut recent: Vec<NaiveDateTime> = messages::table
                .filter(messages::phone.eq(&phone))
                .filter(messages::kind.ne(Kind::Code.as_str()))
                .filter(messages::sent_at.gt(Some(hour_ago)))
                .select(messages::sent_at.assume_not_null())
                .load(conn)?;
            recent.extend(
                claimed
                    .iter()
                    .filter(|c| c.phone.as_deref() == Some(&phone) && c.kind() != Some(Kind::Code))
                    .map(|_| at),
            );
            if recent.len() as i64 >= PER_RECIPIENT_PER_HOUR {
                let room = recent.iter().min().copied().unwrap_or(at) + chrono::Duration::hours(1);
                diesel::update(
                    messages::table
                        .filter(messages::id.eq(m.id))
                        .filter(messages::attempts.eq(m.attempts))
                        .filter(messages::status.eq(&m.status)),
                )
                .set((
                    messages::status.eq(PENDING),
                    messages::due_at.eq(room.max(at + chrono::Duration::seconds(1))),
                ))
                .execute(conn)?;
                continue;
            }
        }
        let n = diesel::update(
            messages::table
                .filter(messages::id.eq(m.id))
                .filter(messages::attempts.eq(m.attempts))
                .filter(messages::status.eq(&m.status)),
        )
        .set((
            messages::status.eq(SENDING),
            messages::attempts.eq(m.attempts + 1),
            messages::claimed_until.eq(Some(at + CLAIM_FOR)),
        ))
        .execute(conn)?;
        if n == 1 {
            claimed.push(Message {
                status: SENDING.into(),
                attempts: m.attempts + 1,
                claimed_until: Some(at + CLAIM_FOR),
                ..m
            });
        }
    }
    Ok(claimed)
}

/// What became of a message after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Sent,
    /// To be tried again at this time.
    Retry(NaiveDateTime),
    /// Given up after [`MAX_ATTEMPTS`].
    GaveUp,
    /// Another server claimed it again meanwhile (this claim had run out); it records its own.
    Lost,
}

/// Record an attempt at a claimed message (`answer`: the provider's id for it, or its error)
/// and move the message on. A one-time code's parameters are wiped once it is sent or given
/// up: only its hash is kept (`codes.rs`).
pub fn record(
    conn: &mut DbConnection,
    m: &Message,
    provider: &str,
    answer: &Result<String, String>,
    at: NaiveDateTime,
) -> Result<After, DbError> {
    diesel::insert_into(message_attempts::table)
        .values((
            message_attempts::id.eq(new_id()),
            message_attempts::message_id.eq(m.id),
            message_attempts::at.eq(at),
            message_attempts::provider.eq(provider),
            message_attempts::ok.eq(answer.is_ok()),
            message_attempts::detail.eq(match answer {
                Ok(s) | Err(s) => s.chars().take(500).collect::<String>(),
            }),
        ))
        .execute(conn)?;
    let (after, status, due) = match answer {
        Ok(_) => (After::Sent, SENT, m.due_at),
        Err(_) if m.attempts >= MAX_ATTEMPTS => (After::GaveUp, FAILED, m.due_at),
        Err(_) => {
            let next = at + backoff(m.attempts);
            (After::Retry(next), PENDING, next)
        }
    };
    let params = if m.kind() == Some(Kind::Code) && !matches!(after, After::Retry(_)) {
        "{}".to_string()
    } else {
        m.params.clone()
    };
    let n = diesel::update(
        messages::table
            .filter(messages::id.eq(m.id))
            .filter(messages::attempts.eq(m.attempts))
            .filter(messages::status.eq(SENDING)),
    )
    .set((
        messages::status.eq(status),
        messages::due_at.eq(due),
        messages::claimed_until.eq(None::<NaiveDateTime>),
        messages::sent_at.eq(answer.is_ok().then_some(at)),
        messages::params.eq(params),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(After::Lost);
    }
    if after == After::GaveUp {
        tracing::warn!(
            message = m.id,
            kind = %m.kind,
            attempts = m.attempts,
            "an SMS was given up after its last attempt"
        );
    }
    Ok(after)
}

/// One SMS as the log-only provider keeps it instead of sending it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sms_log)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct LoggedSms {
    pub id: i64,
    pub message_id: i64,
    pub phone: String,
    pub sign_name: String,
    pub template: String,
    pub params: String,
    pub at: NaiveDateTime,
}

/// The log-only provider's "send": keep the SMS where the demo and the tests read it.
pub fn log_sms(conn: &mut DbConnection, sms: &LoggedSms) -> Result<(), DbError> {
    diesel::insert_into(sms_log::table)
        .values(sms)
        .execute(conn)?;
    Ok(())
}

/// What the log-only provider kept for a phone number, oldest first.
pub fn logged_for(conn: &mut DbConnection, phone: &str) -> Result<Vec<LoggedSms>, DbError> {
    Ok(sms_log::table
        .filter(sms_log::phone.eq(phone))
        .order(sms_log::id.asc())
        .select(LoggedSms::as_select())
        .load(conn)?)
}

/// A message's attempts, oldest first: (when, provider, delivered, the provider's answer).
pub fn attempts(
    conn: &mut DbConnection,
    m: &Message,
) -> Result<Vec<(NaiveDateTime, String, bool, String)>, DbError> {
    Ok(message_attempts::table
        .filter(message_attempts::message_id.eq(m.id))
        .order(message_attempts::id.asc())
        .select((
            message_attempts::at,
            message_attempts::provider,
            message_attempts::ok,
            message_attempts::detail,
        ))
        .load(conn)?)
}

/// A message as it is now.
pub fn message(conn: &mut DbConnection, id: i64) -> Result<Message, DbError> {
    Ok(messages::table
        .filter(messages::id.eq(id))
        .select(Message::as_select())
        .first(conn)?)
}
