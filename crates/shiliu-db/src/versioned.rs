//! Edits made as of the version the editor saw (optimistic concurrency): the one shape every
//! versioned record's edit takes. The caller checks the version it was given against the row
//! ([`expect`]), writes its `UPDATE … WHERE id = ? AND version = <seen>` setting [`next`],
//! and hands the row count to [`finish`], which refuses a lost race ([`written`]), reads the
//! record back and audits both sides — all in the caller's transaction, so a refused edit
//! leaves nothing. An edit audited otherwise (a detail, no before/after) calls [`written`].

use serde::Serialize;

use crate::audit::{self, Event};
use crate::scope::Actor;
use crate::{DbConnection, DbError};

/// Refuse an edit made on an older version than the record holds now.
pub(crate) fn expect(seen: i32, current: i32) -> Result<(), DbError> {
    if seen == current {
        Ok(())
    } else {
        Err(DbError::Stale)
    }
}

/// The guarded `UPDATE` wrote `rows`: none means someone changed the record since it was read.
pub(crate) fn written(rows: usize) -> Result<(), DbError> {
    if rows == 0 {
        Err(DbError::Stale)
    } else {
        Ok(())
    }
}

/// After the guarded `UPDATE` wrote `written` rows: none means someone changed the record
/// since it was read (`Stale`); otherwise read it back with `reread` and audit the change with
/// the record before and after (the event built from the record as it is now).
pub(crate) fn finish<T: Serialize>(
    conn: &mut DbConnection,
    actor: &Actor,
    written: usize,
    before: &T,
    reread: impl FnOnce(&mut DbConnection) -> Result<T, DbError>,
    event: impl FnOnce(&T) -> Event,
) -> Result<T, DbError> {
    self::written(written)?;
    let after = reread(conn)?;
    audit::record(conn, actor, event(&after).before(before).after(&after))?;
    Ok(after)
}

/// The version an edit made on `seen` writes. A version no record can have reached (the top of
/// its range, as a client may send) is simply not the record's current one: `Stale`, never an
/// overflow.
pub(crate) fn next(seen: i32) -> Result<i32, DbError> {
    seen.checked_add(1).ok_or(DbError::Stale)
}
