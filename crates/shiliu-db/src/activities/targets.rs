//! The units' yearly targets (年度目标) and their progress: a unit's activities and trainings
//! of the year, people reached, and the "十进" venues gone into, from the running totals of its
//! years (`super::tallies`).
//!
//! The units on a board are those a record's organiser is picked from
//! ([`super::organiser_choices`]): the caller's and the region's just above. A unit's figures
//! count every record it organised, wherever held: a target is the unit's, not a region's.

use std::collections::{BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::activities::{Form, Progress, Target, Venue};

use crate::audit::{self, Event};
use crate::schema::{
    activities, activity_tally_journal, activity_targets, activity_unit_tallies, regions, units,
};
use crate::scope::{Can, Scope, grants};
use crate::{DbConnection, DbError, now, versioned};

/// One unit's line on the board.
#[derive(Debug, Clone, Serialize)]
pub struct UnitProgress {
    pub unit_id: i64,
    pub unit_name: String,
    pub region_name: String,
    pub target: Option<Target>,
    /// The target's version, for setting it again.
    pub target_version: Option<i32>,
    pub progress: Progress,
}

impl UnitProgress {
    /// Whether its target is met (no target: nothing to meet).
    pub fn met(&self) -> Option<bool> {
        self.target.as_ref().map(|t| self.progress.meets(t))
    }
}

/// (unit, form, venue, records, people) of one group of a unit's records.
type UnitCount = (i64, String, Option<String>, i64, Option<i64>);

/// Each of these units' progress in `year`, from the running totals of their years
/// ([`super::tallies`]) and the journal's changes not yet folded into them.
pub fn progress_of(
    conn: &mut DbConnection,
    unit_ids: &[i64],
    year: i32,
) -> Result<HashMap<i64, Progress>, DbError> {
    let mut groups: Vec<(i64, String, String, i64, i64)> = Vec::new();
    for chunk in unit_ids.chunks(500) {
        groups.extend(
            activity_unit_tallies::table
                .filter(activity_unit_tallies::unit_id.eq_any(chunk))
                .filter(activity_unit_tallies::year.eq(year))
                .select((
                    activity_unit_tallies::unit_id,
                    activity_unit_tallies::form,
                    activity_unit_tallies::venue,
                    activity_unit_tallies::n,
                    activity_unit_tallies::people,
                ))
                .load::<(i64, String, String, i64, i64)>(conn)?,
        );
        let pending: Vec<super::tallies::Entry> = activity_tally_journal::table
            .filter(activity_tally_journal::unit_id.eq_any(chunk))
            .filter(activity_tally_journal::material_id.eq(0))
            .filter(
                activity_tally_journal::month
                    .between(format!("{year:04}-01"), format!("{year:04}-12")),
            )
            .select(super::tallies::Entry::as_select())
            .load(conn)?;
        groups.extend(
            pending
                .into_iter()
                .map(|e| (e.unit_id, e.form, e.venue, e.n, e.people)),
        );
    }
    Ok(progress_from(groups))
}

/// The units' progress from their records' groups: (unit, form, venue or "", records, people).
/// A venue is reached when the unit's records there come to more than none.
fn progress_from(
    groups: impl IntoIterator<Item = (i64, String, String, i64, i64)>,
) -> HashMap<i64, Progress> {
    let mut sums: HashMap<(i64, String, String), (i64, i64)> = HashMap::new();
    for (unit, form, venue, n, people) in groups {
        let s = sums.entry((unit, form, venue)).or_insert((0, 0));
        s.0 += n;
        s.1 += people;
    }
    let mut out: HashMap<i64, Progress> = HashMap::new();
    for ((unit, form, venue), (n, people)) in sums {
        if n == 0 {
            continue;
        }
        let p = out.entry(unit).or_default();
        if Form::parse(&form) == Some(Form::Training) {
            p.trainings += n;
            p.trainees += people;
        } else {
            p.activities += n;
            p.participants += people;
        }
        if let Some(v) = Venue::parse(&venue) {
            p.venues.insert(v);
        }
    }
    out
}

/// What a task bound to a unit's records counts over the days `first..=last` (see
/// `tasks::tallies`): the same count as the progress board's, from the unit's records (any
/// days, not only whole years).
pub fn tally(
    conn: &mut DbConnection,
    unit_id: i64,
    days: (NaiveDate, NaiveDate),
    what: shiliu_domain::activities::Tally,
) -> Result<i64, DbError> {
    use shiliu_domain::activities::Tally;
    let p = progress_between(conn, &[unit_id], days)?
        .remove(&unit_id)
        .unwrap_or_default();
    Ok(match what {
        Tally::Activities => p.activities,
        Tally::Trainings => p.trainings,
        Tally::Participants => p.participants,
        Tally::Venues => i64::try_from(p.venues.len()).unwrap_or(i64::MAX),
    })
}

/// Each of these units' progress over the days `first..=last`, counted from their records.
pub fn progress_between(
    conn: &mut DbConnection,
    unit_ids: &[i64],
    (first, last): (NaiveDate, NaiveDate),
) -> Result<HashMap<i64, Progress>, DbError> {
    let mut groups = Vec::new();
    for chunk in unit_ids.chunks(500) {
        let rows: Vec<UnitCount> = activities::table
            .filter(activities::organiser_unit_id.eq_any(chunk))
            .filter(activities::held_on.between(first, last))
            .group_by((
                activities::organiser_unit_id,
                activities::form,
                activities::venue,
            ))
            .select((
                activities::organiser_unit_id,
                activities::form,
                activities::venue,
                diesel::dsl::count_star(),
                diesel::dsl::sum(activities::participants),
            ))
            .load(conn)?;
        groups.extend(rows.into_iter().map(|(unit, form, venue, n, people)| {
            (
                unit,
                form,
                venue.unwrap_or_default(),
                n,
                people.unwrap_or(0),
            )
        }));
    }
    Ok(progress_from(groups))
}

/// The board of a year: every unit a record's organiser is picked from (within `within`, when
/// given), with its target and progress, by region and name. At most `most` units.
pub fn board(
    conn: &mut DbConnection,
    scope: &Scope,
    year: i32,
    within: Option<&crate::org::Region>,
    most: i64,
) -> Result<Vec<UnitProgress>, DbError> {
    let mut q = units::table
        .inner_join(regions::table)
        .filter(scope.with_parents_filter(regions::path))
        .filter(units::active.eq(true))
        .into_boxed();
    if let Some(r) = within {
        q = q.filter(Scope::of_paths(vec![r.path.clone()]).path_filter(regions::path));
    }
    let found: Vec<(i64, String, String)> = q
        .order((regions::path.asc(), units::name.asc()))
        .limit(most)
        .select((units::id, units::name, regions::name))
        .load(conn)?;
    let ids: Vec<i64> = found.iter().map(|(id, _, _)| *id).collect();
    let mut progress = progress_of(conn, &ids, year)?;
    let mut targets = targets_of(conn, &ids, year)?;
    Ok(found
        .into_iter()
        .map(|(unit_id, unit_name, region_name)| {
            let t = targets.remove(&unit_id);
            UnitProgress {
                unit_id,
                unit_name,
                region_name,
                target: t.map(|(t, _)| t),
                target_version: t.map(|(_, v)| v),
                progress: progress.remove(&unit_id).unwrap_or_default(),
            }
        })
        .collect())
}

/// One unit's line, if the unit is one of the board's.
pub fn unit_progress(
    conn: &mut DbConnection,
    scope: &Scope,
    unit_id: i64,
    year: i32,
) -> Result<UnitProgress, DbError> {
    let (unit_name, region_name): (String, String) = units::table
        .inner_join(regions::table)
        .filter(scope.with_parents_filter(regions::path))
        .filter(units::id.eq(unit_id))
        .select((units::name, regions::name))
        .first(conn)?;
    let t = targets_of(conn, &[unit_id], year)?.remove(&unit_id);
    Ok(UnitProgress {
        unit_id,
        unit_name,
        region_name,
        target: t.map(|(t, _)| t),
        target_version: t.map(|(_, v)| v),
        progress: progress_of(conn, &[unit_id], year)?
            .remove(&unit_id)
            .unwrap_or_default(),
    })
}

fn targets_of(
    conn: &mut DbConnection,
    unit_ids: &[i64],
    year: i32,
) -> Result<HashMap<i64, (Target, i32)>, DbError> {
    let mut out = HashMap::new();
    for chunk in unit_ids.chunks(500) {
        let rows: Vec<(i64, i32, i32, bool, i32)> = activity_targets::table
            .filter(activity_targets::unit_id.eq_any(chunk))
            .filter(activity_targets::year.eq(year))
            .select((
                activity_targets::unit_id,
                activity_targets::activities,
                activity_targets::trainings,
                activity_targets::every_venue,
                activity_targets::version,
            ))
            .load(conn)?;
        for (unit, activities, trainings, every_venue, version) in rows {
            out.insert(
                unit,
                (
                    Target {
                        activities,
                        trainings,
                        every_venue,
                    },
                    version,
                ),
            );
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
struct TargetRow {
    unit_id: i64,
    year: i32,
    target: Target,
}

/// Set a unit's target for a year (a unit of the caller's region, not one just above it: the
/// region above sets its own units'); `version` is the target's as seen, none for a new one.
/// Audited with before and after.
pub fn set_target(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageActivities>,
    unit_id: i64,
    year: i32,
    version: Option<i32>,
    target: &Target,
) -> Result<Target, DbError> {
    let unit = crate::org::get_unit(conn, &actor.scope, unit_id)?;
    if !(2000..=2100).contains(&year) {
        return Err(DbError::invalid("year", "err.activities.year"));
    }
    let before = targets_of(conn, &[unit_id], year)?.remove(&unit_id);
    let at: NaiveDateTime = now();
    match (before, version) {
        (None, None) => {
            diesel::insert_into(activity_targets::table)
                .values((
                    activity_targets::unit_id.eq(unit_id),
                    activity_targets::year.eq(year),
                    activity_targets::activities.eq(target.activities),
                    activity_targets::trainings.eq(target.trainings),
                    activity_targets::every_venue.eq(target.every_venue),
                    activity_targets::set_by.eq(actor.user_id),
                    activity_targets::updated_at.eq(at),
                    activity_targets::version.eq(1),
                ))
                .execute(conn)?;
        }
        (Some((_, current)), Some(seen)) => {
            versioned::expect(seen, current)?;
            let n = diesel::update(
                activity_targets::table
                    .filter(activity_targets::unit_id.eq(unit_id))
                    .filter(activity_targets::year.eq(year))
                    .filter(activity_targets::version.eq(seen)),
            )
            .set((
                activity_targets::activities.eq(target.activities),
                activity_targets::trainings.eq(target.trainings),
                activity_targets::every_venue.eq(target.every_venue),
                activity_targets::set_by.eq(actor.user_id),
                activity_targets::updated_at.eq(at),
                activity_targets::version.eq(seen + 1),
            ))
            .execute(conn)?;
            versioned::written(n)?;
        }
        _ => return Err(DbError::Stale),
    }
    let mut ev = Event::new("activity_target.set", "unit", unit_id)
        .region(unit.region_id)
        .after(&TargetRow {
            unit_id,
            year,
            target: *target,
        });
    if let Some((b, _)) = before {
        ev = ev.before(&TargetRow {
            unit_id,
            year,
            target: b,
        });
    }
    audit::record(conn, actor, ev)?;
    Ok(*target)
}

/// The venues reached, as the board shows them: each of the ten, reached or not.
pub fn venue_marks(p: &Progress) -> Vec<(Venue, bool)> {
    let reached: &BTreeSet<Venue> = &p.venues;
    Venue::ALL
        .iter()
        .map(|v| (*v, reached.contains(v)))
        .collect()
}
