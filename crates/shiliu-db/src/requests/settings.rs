//! Request settings by region. Settings belong to the region that made them: the platform's —
//! the province's, held by whoever's scope is the whole tree — are the categories with their
//! service levels and the working calendar's days; a city or county sets its own service
//! levels (`category_levels`) and calendar days (`region_calendar_days`) for its subtree, and
//! never edits the platform's. A request takes the deepest setting on its region's path.
//!
//! [`owner`] decides whose settings a caller's edits are; every write here and the platform's
//! writes in the parent module ask it first.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use shiliu_domain::calendar::WorkCalendar;

use super::{Category, calendar};
use crate::audit::{self, Event};
use crate::org::Region;
use crate::schema::{
    calendar_days, category_levels, region_calendar_days, regions, request_categories,
};
use crate::scope::Actor;
use crate::{DbConnection, DbError, now};

/// Whose settings a caller edits.
#[derive(Debug, Clone)]
pub enum Owner {
    /// The platform's (the province's): the caller's scope holds every top-level region.
    Platform,
    /// A region's own, for its subtree: the one subtree the caller's scope is.
    Region(Region),
}

/// Whose settings `actor`'s edits are. A scope of several subtrees (a grid worker's) has no
/// one region to set for: refused, as the permission matrix already does for such roles.
pub fn owner(conn: &mut DbConnection, actor: &Actor) -> Result<Owner, DbError> {
    let tops: Vec<String> = regions::table
        .filter(regions::parent_id.is_null())
        .select(regions::path)
        .load(conn)?;
    if tops.iter().all(|p| actor.scope.covers(p)) {
        return Ok(Owner::Platform);
    }
    match actor.scope.paths() {
        [one] => Ok(Owner::Region(
            regions::table
                .filter(regions::path.eq(one))
                .select(Region::as_select())
                .first(conn)?,
        )),
        _ => Err(DbError::invalid("region_id", "err.settings.one_region")),
    }
}

/// Refuse an edit of the platform's settings by anyone whose edits are a region's.
pub(crate) fn platform_only(conn: &mut DbConnection, actor: &Actor) -> Result<(), DbError> {
    match owner(conn, actor)? {
        Owner::Platform => Ok(()),
        Owner::Region(_) => Err(DbError::invalid("category", "err.settings.platform_only")),
    }
}

/// The working calendars of every region: the platform's, and the regions' own days laid over
/// it along a request's path.
#[derive(Debug, Clone)]
pub struct Calendars {
    base: WorkCalendar,
    /// Regions' own days, shallowest region first: (path, [(day, working)]).
    regions: Vec<(String, Vec<(NaiveDate, bool)>)>,
}

impl Calendars {
    pub fn load(conn: &mut DbConnection) -> Result<Self, DbError> {
        let rows: Vec<(String, NaiveDate, String)> = region_calendar_days::table
            .select((
                region_calendar_days::region_path,
                region_calendar_days::day,
                region_calendar_days::kind,
            ))
            .load(conn)?;
        let mut by_path: HashMap<String, Vec<(NaiveDate, bool)>> = HashMap::new();
        for (path, day, kind) in rows {
            by_path
                .entry(path)
                .or_default()
                .push((day, kind == "workday"));
        }
        let mut regions: Vec<_> = by_path.into_iter().collect();
        regions.sort_by_key(|(p, _)| (p.len(), p.clone()));
        Ok(Self {
            base: calendar(conn)?,
            regions,
        })
    }

    /// The calendar of a request made in the region with this path.
    pub fn at(&self, path: &str) -> Cow<'_, WorkCalendar> {
        let mut over = self
            .regions
            .iter()
            .filter(|(p, _)| path.starts_with(p.as_str()))
            .peekable();
        if over.peek().is_none() {
            return Cow::Borrowed(&self.base);
        }
        let mut cal = self.base.clone();
        for (_, days) in over {
            cal = cal.overlaid(days.iter().copied());
        }
        Cow::Owned(cal)
    }
}

/// The service levels regions set for themselves, by category: deepest region first.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    by_category: HashMap<i64, Vec<(String, Option<i32>)>>,
}

impl Levels {
    pub fn load(conn: &mut DbConnection) -> Result<Self, DbError> {
        let rows: Vec<(i64, String, Option<i32>)> = category_levels::table
            .select((
                category_levels::category_id,
                category_levels::region_path,
                category_levels::service_minutes,
            ))
            .load(conn)?;
        let mut by_category: HashMap<i64, Vec<(String, Option<i32>)>> = HashMap::new();
        for (category, path, minutes) in rows {
            by_category
                .entry(category)
                .or_default()
                .push((path, minutes));
        }
        for v in by_category.values_mut() {
            v.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        }
        Ok(Self { by_category })
    }

    /// The service level (working minutes; none: no time limit) of a request in `category`
    /// made in the region with this path.
    pub fn minutes(&self, category: &Category, path: &str) -> Option<i32> {
        self.by_category
            .get(&category.id)
            .and_then(|v| v.iter().find(|(p, _)| path.starts_with(p.as_str())))
            .map_or(category.service_minutes, |(_, m)| *m)
    }
}

/// The deadline of a request in `category` received at `received` in the region at `path`.
pub fn due(
    calendars: &Calendars,
    levels: &Levels,
    category: &Category,
    path: &str,
    received: NaiveDateTime,
) -> Option<NaiveDateTime> {
    levels
        .minutes(category, path)
        .map(|m| super::deadline(&calendars.at(path), received, i64::from(m)))
}

/// The service levels a region has set for itself: category id → minutes (none: no limit).
pub fn region_levels(
    conn: &mut DbConnection,
    region_id: i64,
) -> Result<HashMap<i64, Option<i32>>, DbError> {
    Ok(category_levels::table
        .filter(category_levels::region_id.eq(region_id))
        .select((
            category_levels::category_id,
            category_levels::service_minutes,
        ))
        .load::<(i64, Option<i32>)>(conn)?
        .into_iter()
        .collect())
}

/// Set the caller's region's own service level for a category (`Some(None)`: no time limit
/// there), or go back to the one above it (`None`). Audited. The platform's level is the
/// category's own, edited with the category.
pub fn set_level(
    conn: &mut DbConnection,
    actor: &Actor,
    category_id: i64,
    level: Option<Option<i32>>,
) -> Result<(), DbError> {
    let Owner::Region(region) = owner(conn, actor)? else {
        return Err(DbError::invalid("category", "err.settings.platform_level"));
    };
    request_categories::table
        .filter(request_categories::id.eq(category_id))
        .select(request_categories::id)
        .first::<i64>(conn)?;
    let key = category_levels::table
        .filter(category_levels::category_id.eq(category_id))
        .filter(category_levels::region_id.eq(region.id));
    let before: Option<Option<i32>> = key
        .select(category_levels::service_minutes)
        .first(conn)
        .optional()?;
    diesel::delete(key).execute(conn)?;
    if let Some(minutes) = level {
        diesel::insert_into(category_levels::table)
            .values((
                category_levels::category_id.eq(category_id),
                category_levels::region_id.eq(region.id),
                category_levels::region_path.eq(&region.path),
                category_levels::service_minutes.eq(minutes),
                category_levels::updated_at.eq(now()),
            ))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("category.level", "request_category", category_id)
            .region(region.id)
            .detail(serde_json::json!({"before": before, "after": level})),
    )?;
    Ok(())
}

/// A region's own calendar days in one year: (day, kind, note).
pub fn region_days(
    conn: &mut DbConnection,
    region_id: i64,
    year: i32,
) -> Result<Vec<(NaiveDate, String, String)>, DbError> {
    let (from, to) = super::year_bounds(year)?;
    Ok(region_calendar_days::table
        .filter(region_calendar_days::region_id.eq(region_id))
        .filter(region_calendar_days::day.ge(from))
        .filter(region_calendar_days::day.lt(to))
        .order(region_calendar_days::day.asc())
        .select((
            region_calendar_days::day,
            region_calendar_days::kind,
            region_calendar_days::note,
        ))
        .load(conn)?)
}

/// Set a day of the caller's calendar: the platform's when they hold it, else their region's
/// own, for its subtree. `kind`: `holiday`, `workday`, or none (back to the calendar above).
/// Audited.
pub fn set_day(
    conn: &mut DbConnection,
    actor: &Actor,
    day: NaiveDate,
    kind: Option<&str>,
    note: &str,
) -> Result<(), DbError> {
    if kind.is_some_and(|k| k != "holiday" && k != "workday") {
        return Err(DbError::invalid("kind", "err.choice"));
    }
    let mut event = Event::new("calendar.set", "calendar_day", day)
        .detail(serde_json::json!({"kind": kind, "note": note}));
    match owner(conn, actor)? {
        Owner::Platform => {
            diesel::delete(calendar_days::table.filter(calendar_days::day.eq(day)))
                .execute(conn)?;
            if let Some(k) = kind {
                diesel::insert_into(calendar_days::table)
                    .values((
                        calendar_days::day.eq(day),
                        calendar_days::kind.eq(k),
                        calendar_days::note.eq(note),
                    ))
                    .execute(conn)?;
            }
        }
        Owner::Region(region) => {
            let key = region_calendar_days::table
                .filter(region_calendar_days::region_id.eq(region.id))
                .filter(region_calendar_days::day.eq(day));
            diesel::delete(key).execute(conn)?;
            if let Some(k) = kind {
                diesel::insert_into(region_calendar_days::table)
                    .values((
                        region_calendar_days::region_id.eq(region.id),
                        region_calendar_days::region_path.eq(&region.path),
                        region_calendar_days::day.eq(day),
                        region_calendar_days::kind.eq(k),
                        region_calendar_days::note.eq(note),
                    ))
                    .execute(conn)?;
            }
            event = event.region(region.id);
        }
    }
    audit::record(conn, actor, event)?;
    Ok(())
}
