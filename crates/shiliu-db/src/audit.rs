//! The append-only, hash-chained audit log.
//!
//! [`record`] runs inside the caller's transaction, after the change it describes, so the
//! change and its audit row commit together or not at all. It first bumps the single
//! `audit_head` row, which serialises appenders (a row lock on `PostgreSQL`, the write lock on
//! `SQLite`), so sequence numbers have no gaps and each row's `prev_hash` is the previous row's
//! `hash`. [`verify`] recomputes the chain and reports rows edited, removed or reordered
//! behind the application's back.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::schema::{audit_head, audit_log};
use crate::scope::Actor;
use crate::{DbConnection, DbError, now};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audited event.
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// What happened, e.g. `site.create`, `user.login_failed`, `person.unmask`.
    pub action: &'static str,
    /// The kind of record: `site`, `user`, `region`…
    pub entity: &'static str,
    pub entity_id: Option<String>,
    pub region_id: Option<i64>,
    /// The record before and after, digested (the log proves what changed without copying
    /// personal data into it).
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// Non-sensitive context shown to admins (changed field names, counts…).
    pub detail: serde_json::Value,
}

impl Event {
    pub fn new(action: &'static str, entity: &'static str, entity_id: impl ToString) -> Self {
        Self {
            action,
            entity,
            entity_id: Some(entity_id.to_string()),
            detail: serde_json::json!({}),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn region(mut self, region_id: i64) -> Self {
        self.region_id = Some(region_id);
        self
    }

    #[must_use]
    pub fn before<T: Serialize>(mut self, v: &T) -> Self {
        self.before = serde_json::to_value(v).ok();
        self
    }

    #[must_use]
    pub fn after<T: Serialize>(mut self, v: &T) -> Self {
        self.after = serde_json::to_value(v).ok();
        self
    }

    #[must_use]
    pub fn detail(mut self, v: serde_json::Value) -> Self {
        self.detail = v;
        self
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = audit_log)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct AuditRow {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub region_id: Option<i64>,
    pub before_digest: Option<String>,
    pub after_digest: Option<String>,
    pub detail: String,
    pub request_id: String,
    pub client_addr: String,
    pub prev_hash: String,
    pub hash: String,
}

fn digest(v: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// The hash of a row: SHA-256 over its fields, each length-prefixed so no two different rows
/// serialise alike.
pub fn row_hash(r: &AuditRow) -> String {
    let mut h = Sha256::new();
    let at = r.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let fields: [&str; 14] = [
        &r.seq.to_string(),
        &at,
        &r.actor_id.map(|v| v.to_string()).unwrap_or_default(),
        &r.actor,
        &r.action,
        &r.entity,
        r.entity_id.as_deref().unwrap_or(""),
        &r.region_id.map(|v| v.to_string()).unwrap_or_default(),
        r.before_digest.as_deref().unwrap_or(""),
        r.after_digest.as_deref().unwrap_or(""),
        &r.detail,
        &r.request_id,
        &r.client_addr,
        &r.prev_hash,
    ];
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Append an event to the log in the caller's transaction. Returns its sequence number.
pub fn record(conn: &mut DbConnection, actor: &Actor, ev: Event) -> Result<i64, DbError> {
    diesel::update(audit_head::table.filter(audit_head::id.eq(1)))
        .set(audit_head::seq.eq(audit_head::seq + 1))
        .execute(conn)?;
    let (seq, prev_hash): (i64, String) = audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    let mut row = AuditRow {
        seq,
        at: now(),
        actor_id: actor.user_id,
        actor: actor.name.clone(),
        action: ev.action.to_string(),
        entity: ev.entity.to_string(),
        entity_id: ev.entity_id,
        region_id: ev.region_id,
        before_digest: ev.before.as_ref().map(digest),
        after_digest: ev.after.as_ref().map(digest),
        detail: ev.detail.to_string(),
        request_id: actor.request_id.clone(),
        client_addr: actor.client_addr.clone(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = row_hash(&row);
    diesel::insert_into(audit_log::table)
        .values(&row)
        .execute(conn)?;
    diesel::update(audit_head::table.filter(audit_head::id.eq(1)))
        .set(audit_head::hash.eq(&row.hash))
        .execute(conn)?;
    Ok(seq)
}

/// What `shiliu audit verify` found.
#[derive(Debug, Default, Clone, Serialize)]
pub struct VerifyReport {
    pub rows: u64,
    /// Rows whose content no longer matches their hash (edited in place).
    pub altered: Vec<i64>,
    /// Sequence numbers missing from the chain (rows deleted).
    pub missing: Vec<i64>,
    /// Rows whose `prev_hash` does not match the row before (rows replaced or re-chained).
    pub broken_links: Vec<i64>,
    /// The head says the chain should end elsewhere (newest rows deleted).
    pub head_mismatch: Option<String>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.altered.is_empty()
            && self.missing.is_empty()
            && self.broken_links.is_empty()
            && self.head_mismatch.is_none()
    }
}

/// Recompute the whole chain, in batches.
pub fn verify(conn: &mut DbConnection) -> Result<VerifyReport, DbError> {
    const BATCH: i64 = 5_000;
    let mut report = VerifyReport::default();
    let mut expected_seq = 1_i64;
    let mut prev_hash = GENESIS.to_string();
    let mut after = 0_i64;
    loop {
        let rows: Vec<AuditRow> = audit_log::table
            .filter(audit_log::seq.gt(after))
            .order(audit_log::seq.asc())
            .limit(BATCH)
            .select(AuditRow::as_select())
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for r in &rows {
            report.rows += 1;
            if r.seq != expected_seq {
                report
                    .missing
                    .extend(expected_seq..r.seq.min(expected_seq + 1000));
            }
            if row_hash(r) != r.hash {
                report.altered.push(r.seq);
            }
            // After a gap the link cannot match; the gap itself is reported.
            if r.seq == expected_seq && r.prev_hash != prev_hash {
                report.broken_links.push(r.seq);
            }
            expected_seq = r.seq + 1;
            prev_hash.clone_from(&r.hash);
        }
    }
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    if head_seq != expected_seq - 1 || head_hash != prev_hash {
        report.head_mismatch = Some(format!(
            "head is at {head_seq}, the log ends at {}",
            expected_seq - 1
        ));
    }
    Ok(report)
}

/// Filters for browsing the log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Keyset: rows with `seq` below this.
    pub before_seq: Option<i64>,
}

/// Newest first. The audit log is a system-wide record; only roles with `ViewAudit` reach it.
pub fn list(
    conn: &mut DbConnection,
    f: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditRow>, DbError> {
    let mut q = audit_log::table.select(AuditRow::as_select()).into_boxed();
    if let Some(a) = &f.actor {
        q = q.filter(audit_log::actor.eq(a.clone()));
    }
    if let Some(a) = &f.action {
        q = q.filter(
            audit_log::action
                .like(format!("{}%", crate::org::escape_like(a)))
                .escape('\\'),
        );
    }
    if let Some(e) = &f.entity {
        q = q.filter(audit_log::entity.eq(e.clone()));
    }
    if let Some(t) = f.from {
        q = q.filter(audit_log::at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(audit_log::at.lt(t));
    }
    if let Some(s) = f.before_seq {
        q = q.filter(audit_log::seq.lt(s));
    }
    Ok(q.order(audit_log::seq.desc()).limit(limit).load(conn)?)
}
