//! The append-only, hash-chained audit log.
//!
//! [`record`] runs inside the caller's transaction, after the change it describes, so the
//! change and its audit row commit together or not at all. The log is [`CHAINS`] hash chains:
//! a transaction appends to the chain its request hashes to, first bumping that chain's
//! `audit_head` row, which serialises the chain's appenders (a row lock on `PostgreSQL`, the
//! write lock on `SQLite`), so link numbers have no gaps and each row's `prev_hash` is the
//! previous link's `hash`; the head takes its newest link's hash by trigger, in the insert
//! that writes it. Several chains rather than one because the head's lock is held
//! until commit: with one chain, `PostgreSQL` flushed one commit at a time. [`verify`]
//! recomputes every chain and reports rows edited, removed or reordered behind the
//! application's back. `seq` orders the whole log for browsing.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ids::new_id;
use crate::schema::{audit_head, audit_log};
use crate::scope::Actor;
use crate::{DbConnection, DbError, now};

/// How many chains the log has (rows of `audit_head`, made by the migrations).
pub const CHAINS: i32 = 16;

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
    pub chain: i32,
    /// The row's place in its chain: 1, 2, 3…
    pub link: i64,
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

/// The chain an actor's events go to. Every event of one transaction must go to the same
/// chain (two transactions each holding one head and waiting for the other's would deadlock),
/// and a transaction serves one request, so the request's id decides.
fn chain_of(actor: &Actor) -> i32 {
    // FNV-1a: stable, and spreads the short request ids evenly.
    let h = actor
        .request_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    i32::try_from(h % u64::from(CHAINS.unsigned_abs())).unwrap_or(0) + 1
}

/// Append an event to the log in the caller's transaction. Returns its sequence number.
pub fn record(conn: &mut DbConnection, actor: &Actor, ev: Event) -> Result<i64, DbError> {
    let seqs = record_many(conn, &[(actor, &ev)])?;
    Ok(seqs[0])
}

/// Record several events of one transaction (a group of requests taken in together), each
/// with its own actor, on one chain: the first actor's. Returns their `seq`s in order.
pub fn record_many(
    conn: &mut DbConnection,
    events: &[(&Actor, &Event)],
) -> Result<Vec<i64>, DbError> {
    let Some((first, _)) = events.first() else {
        return Ok(Vec::new());
    };
    let chain = chain_of(first);
    let n = i64::try_from(events.len()).unwrap_or(i64::MAX);
    // One statement takes the chain's lock and reads where it ends: on PostgreSQL each
    // statement is a round trip, and an audited read (a look-up by ID number) is little else.
    let (last, mut prev_hash): (i64, String) = crate::on_engine!(conn, |c| diesel::update(
        audit_head::table.filter(audit_head::id.eq(chain))
    )
    .set(audit_head::seq.eq(audit_head::seq + n))
    .returning((audit_head::seq, audit_head::hash))
    .get_result(c))?;
    let at = now();
    let mut rows = Vec::with_capacity(events.len());
    for ((actor, ev), link) in events.iter().zip(last - n + 1..) {
        let mut row = AuditRow {
            seq: new_id(),
            at,
            actor_id: actor.user_id,
            actor: actor.name.clone(),
            action: ev.action.to_string(),
            entity: ev.entity.to_string(),
            entity_id: ev.entity_id.clone(),
            region_id: ev.region_id,
            before_digest: ev.before.as_ref().map(digest),
            after_digest: ev.after.as_ref().map(digest),
            detail: ev.detail.to_string(),
            request_id: actor.request_id.clone(),
            client_addr: actor.client_addr.clone(),
            prev_hash: std::mem::take(&mut prev_hash),
            hash: String::new(),
            chain,
            link,
        };
        row.hash = row_hash(&row);
        prev_hash.clone_from(&row.hash);
        rows.push(row);
    }
    // Rows per statement: SQLite takes at most 32,766 bound values in one. The head takes the
    // newest row's hash by trigger (migration `audit_head_by_trigger`): a round trip less.
    for chunk in rows.chunks(1000) {
        crate::on_engine!(conn, |c| diesel::insert_into(audit_log::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(rows.iter().map(|r| r.seq).collect())
}

/// What `shiliu audit verify` found.
#[derive(Debug, Default, Clone, Serialize)]
pub struct VerifyReport {
    pub rows: u64,
    /// Rows (by `seq`) whose content no longer matches their hash (edited in place).
    pub altered: Vec<i64>,
    /// Links missing from a chain, as (chain, link): rows deleted.
    pub missing: Vec<(i32, i64)>,
    /// Rows (by `seq`) whose `prev_hash` does not match the link before (rows replaced or
    /// re-chained).
    pub broken_links: Vec<i64>,
    /// A head says its chain should end elsewhere (newest rows deleted).
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

/// Recompute every chain, in batches.
pub fn verify(conn: &mut DbConnection) -> Result<VerifyReport, DbError> {
    let heads: Vec<(i32, i64, String)> = audit_head::table
        .order(audit_head::id.asc())
        .select((audit_head::id, audit_head::seq, audit_head::hash))
        .load(conn)?;
    let mut report = VerifyReport::default();
    let mut mismatches = Vec::new();
    for (chain, head_link, head_hash) in heads {
        let (last_link, last_hash) = verify_chain(conn, chain, &mut report)?;
        if head_link != last_link || head_hash != last_hash {
            mismatches.push(format!(
                "chain {chain}: head is at {head_link}, the chain ends at {last_link}"
            ));
        }
    }
    if !mismatches.is_empty() {
        report.head_mismatch = Some(mismatches.join("; "));
    }
    Ok(report)
}

/// Walk one chain; returns its last link and hash.
fn verify_chain(
    conn: &mut DbConnection,
    chain: i32,
    report: &mut VerifyReport,
) -> Result<(i64, String), DbError> {
    const BATCH: i64 = 5_000;
    let mut expected = 1_i64;
    let mut prev_hash = GENESIS.to_string();
    loop {
        let rows: Vec<AuditRow> = audit_log::table
            .filter(audit_log::chain.eq(chain))
            .filter(audit_log::link.ge(expected))
            .order(audit_log::link.asc())
            .limit(BATCH)
            .select(AuditRow::as_select())
            .load(conn)?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            report.rows += 1;
            if r.link != expected {
                report
                    .missing
                    .extend((expected..r.link.min(expected + 1000)).map(|link| (chain, link)));
            }
            if row_hash(r) != r.hash {
                report.altered.push(r.seq);
            }
            // After a gap the link cannot match; the gap itself is reported.
            if r.link == expected && r.prev_hash != prev_hash {
                report.broken_links.push(r.seq);
            }
            expected = r.link + 1;
            prev_hash.clone_from(&r.hash);
        }
    }
    Ok((expected - 1, prev_hash))
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
                .like(crate::org::prefix_pattern(a))
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
