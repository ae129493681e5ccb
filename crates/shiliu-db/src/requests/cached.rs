//! Configuration kept in memory between transactions: what intake reads for every group of
//! requests (regions, active categories and their questions, the working calendar, the
//! routing rules and sites) and what changes seldom.
//!
//! Every transaction that uses it first reads the database's configuration stamp, one row
//! that every write to those tables changes by trigger, in the writing transaction (migration
//! `config_stamp`). What was loaded under the same stamp is used; under another, it is loaded
//! again. So a change takes effect at once for the next transaction on every server sharing
//! the database, with no message between them, and a transaction never acts on configuration
//! older than what it would have read itself. The stamp is random, not a count: a transaction
//! that changed the configuration, read it under its new stamp and then rolled back leaves a
//! stamp no later change takes again.
//!
//! Why: on `PostgreSQL` the six reads a group of requests needed were half its statements
//! (docs/PERFORMANCE.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use diesel::prelude::*;

use crate::org::Region;
use crate::requests::Category;
use crate::requests::questions::{self, QuestionRow};
use crate::requests::routing::Router;
use crate::requests::settings::{Calendars, Levels};
use crate::schema::{config_stamp, regions, request_categories};
use crate::{DbConnection, DbError};

/// Which database, and which state of its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    database_id: i64,
    stamp: i64,
}

/// What intake reads, as of one configuration stamp.
#[derive(Debug)]
pub(crate) struct IntakeConfig {
    /// The active categories.
    pub categories: HashMap<i64, Category>,
    /// Each active category's active questions, in order.
    pub asked: HashMap<i64, Vec<QuestionRow>>,
    /// The working calendars and service levels, the platform's and the regions' own.
    pub calendars: Calendars,
    pub levels: Levels,
    pub router: Router,
    /// Regions are many (every grid of a province): read when first asked for.
    regions: Mutex<Regions>,
}

/// Regions by id, and their ids by code.
#[derive(Debug, Default)]
pub(crate) struct Regions {
    pub by_id: HashMap<i64, Region>,
    pub by_code: HashMap<String, i64>,
}

/// The configuration last loaded for each database this process uses (one, in a server; the
/// tests open many).
static LOADED: Mutex<Vec<(Stamp, Arc<IntakeConfig>)>> = Mutex::new(Vec::new());
const DATABASES_KEPT: usize = 8;

fn loaded() -> MutexGuard<'static, Vec<(Stamp, Arc<IntakeConfig>)>> {
    LOADED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Intake's configuration as this transaction sees it.
pub(crate) fn intake(conn: &mut DbConnection) -> Result<Arc<IntakeConfig>, DbError> {
    let (database_id, stamp) = config_stamp::table
        .select((config_stamp::database_id, config_stamp::stamp))
        .first::<(i64, i64)>(conn)?;
    let now = Stamp { database_id, stamp };
    if let Some((_, hit)) = loaded().iter().find(|(s, _)| *s == now) {
        return Ok(hit.clone());
    }
    let fresh = Arc::new(IntakeConfig::load(conn)?);
    let mut all = loaded();
    all.retain(|(s, _)| s.database_id != database_id);
    if all.len() >= DATABASES_KEPT {
        all.remove(0);
    }
    all.push((now, fresh.clone()));
    Ok(fresh)
}

impl IntakeConfig {
    fn load(conn: &mut DbConnection) -> Result<Self, DbError> {
        let categories: HashMap<i64, Category> = request_categories::table
            .filter(request_categories::active.eq(true))
            .select(Category::as_select())
            .load::<Category>(conn)?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let ids: Vec<i64> = categories.keys().copied().collect();
        Ok(Self {
            asked: questions::asked(conn, &ids)?,
            categories,
            calendars: Calendars::load(conn)?,
            levels: Levels::load(conn)?,
            router: Router::load(conn)?,
            regions: Mutex::default(),
        })
    }

    /// Those of the regions with these ids and codes that exist.
    pub fn regions(
        &self,
        conn: &mut DbConnection,
        ids: &[i64],
        codes: &[String],
    ) -> Result<Regions, DbError> {
        let lock = || self.regions.lock().unwrap_or_else(PoisonError::into_inner);
        let (missing_ids, missing_codes): (Vec<i64>, Vec<String>) = {
            let known = lock();
            (
                ids.iter()
                    .filter(|id| !known.by_id.contains_key(id))
                    .copied()
                    .collect(),
                codes
                    .iter()
                    .filter(|c| !known.by_code.contains_key(*c))
                    .cloned()
                    .collect(),
            )
        };
        let found: Vec<Region> = if missing_ids.is_empty() && missing_codes.is_empty() {
            Vec::new()
        } else {
            regions::table
                .filter(
                    regions::id
                        .eq_any(&missing_ids)
                        .or(regions::code.eq_any(&missing_codes)),
                )
                .select(Region::as_select())
                .load(conn)?
        };
        let mut known = lock();
        for r in found {
            known.by_code.insert(r.code.clone(), r.id);
            known.by_id.insert(r.id, r);
        }
        let by_code: HashMap<String, i64> = codes
            .iter()
            .filter_map(|c| known.by_code.get(c).map(|id| (c.clone(), *id)))
            .collect();
        let by_id = ids
            .iter()
            .chain(by_code.values())
            .filter_map(|id| known.by_id.get(id).map(|r| (*id, r.clone())))
            .collect();
        Ok(Regions { by_id, by_code })
    }
}
