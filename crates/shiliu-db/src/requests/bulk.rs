//! Loading history in bulk (a year of demo requests, a million for the benchmarks): complete
//! rows written in multi-row inserts with their events, search entries and tallies, recorded by one
//! audit row for the whole load. Never used for intake: new requests go through `create`.

use diesel::prelude::*;

use super::{Request, RequestEvent, search};
use crate::audit::{self, Event};
use crate::schema::{request_events, requests};
use crate::scope::Actor;
use crate::{DbConnection, DbError};

/// Rows per statement: `SQLite` takes at most 32,766 bound values in one.
const REQUESTS_PER_INSERT: usize = 500;
const EVENTS_PER_INSERT: usize = 2000;

/// Write `rows` with their `events`, and index each request by its `terms` (made by
/// `search::index_terms`).
pub fn insert(
    conn: &mut DbConnection,
    rows: &[Request],
    events: &[RequestEvent],
    terms: &[(i64, String)],
) -> Result<(), DbError> {
    insert_rows(conn, rows, events)?;
    // History: its months' partitions of the search index may not be made yet.
    if let (Some(first), Some(last)) = (
        rows.iter().map(|r| r.id).min(),
        rows.iter().map(|r| r.id).max(),
    ) {
        search::ensure_weeks(conn, first, last)?;
    }
    let by_id: std::collections::HashMap<i64, &Request> = rows.iter().map(|r| (r.id, r)).collect();
    let entries: Vec<(&Request, &str)> = terms
        .iter()
        .filter_map(|(id, t)| by_id.get(id).map(|r| (*r, t.as_str())))
        .collect();
    search::index_many(conn, &entries)?;
    crate::requests::stats::count_many(conn, rows)?;
    Ok(())
}

/// The requests' and events' rows alone, in multi-row inserts (for loads and for intake).
pub(super) fn insert_rows(
    conn: &mut DbConnection,
    rows: &[Request],
    events: &[RequestEvent],
) -> Result<(), DbError> {
    for chunk in rows.chunks(REQUESTS_PER_INSERT) {
        crate::on_engine!(conn, |c| diesel::insert_into(requests::table)
            .values(chunk)
            .execute(c))?;
    }
    for chunk in events.chunks(EVENTS_PER_INSERT) {
        crate::on_engine!(conn, |c| diesel::insert_into(request_events::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// The audit row for a load: who loaded how many requests.
pub fn record_load(conn: &mut DbConnection, actor: &Actor, requests: usize) -> Result<(), DbError> {
    audit::record(
        conn,
        actor,
        Event::new("request.bulk_load", "request", 0)
            .detail(serde_json::json!({"requests": requests})),
    )?;
    Ok(())
}
