//! A council's meetings. The days to come are its rhythm's ([`upcoming`]), not rows: a meeting
//! becomes a row when its minutes are recorded ([`record`]) or its day is called off
//! ([`cancel`]). Attendance is by member; the items it discussed point to it.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::councils::{MeetingInput, MeetingStatus};

use super::Council;
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{council_attendance, council_meetings, council_members};
use crate::scope::{Can, grants};
use crate::{DbConnection, DbError, now, versioned};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = council_meetings)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Meeting {
    pub id: i64,
    pub council_id: i64,
    pub region_path: String,
    pub held_on: NaiveDate,
    pub status: String,
    pub guests: i32,
    pub notes: Option<String>,
    pub recorded_by: Option<i64>,
    pub recorder: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Meeting {
    pub fn status(&self) -> MeetingStatus {
        MeetingStatus::parse(&self.status).unwrap_or(MeetingStatus::Held)
    }

    pub fn held(&self) -> bool {
        self.status() == MeetingStatus::Held
    }

    /// A new row of council `c`'s day, as `actor` records it.
    fn new(
        (c, actor): (&Council, &crate::scope::Actor),
        (day, status): (NaiveDate, MeetingStatus),
        guests: i32,
        notes: Option<String>,
    ) -> Self {
        let at = now();
        Self {
            id: new_id(),
            council_id: c.id,
            region_path: c.region_path.clone(),
            held_on: day,
            status: status.as_str().into(),
            guests,
            notes,
            recorded_by: actor.user_id,
            recorder: actor.name.clone(),
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }
}

/// How many of the rhythm's days [`upcoming`] looks ahead.
pub const AHEAD_DAYS: i64 = 62;

/// The council's next days from `today` on, by its rhythm, without those already held or
/// called off: at most `n`.
pub fn upcoming(
    conn: &mut DbConnection,
    c: &Council,
    today: NaiveDate,
    n: usize,
) -> Result<Vec<NaiveDate>, DbError> {
    let to = today + chrono::Duration::days(AHEAD_DAYS);
    let taken: HashSet<NaiveDate> = council_meetings::table
        .filter(council_meetings::council_id.eq(c.id))
        .filter(council_meetings::held_on.between(today, to))
        .select(council_meetings::held_on)
        .load::<NaiveDate>(conn)?
        .into_iter()
        .collect();
    Ok(c.schedule()
        .days(today, to)
        .into_iter()
        .filter(|d| !taken.contains(d))
        .take(n)
        .collect())
}

/// A council's meetings, the latest first.
pub fn of_council(conn: &mut DbConnection, c: &Council) -> Result<Vec<Meeting>, DbError> {
    Ok(council_meetings::table
        .filter(council_meetings::council_id.eq(c.id))
        .order(council_meetings::held_on.desc())
        .select(Meeting::as_select())
        .load(conn)?)
}

/// One meeting, read through its council.
pub fn get(conn: &mut DbConnection, c: &Council, id: i64) -> Result<Meeting, DbError> {
    Ok(council_meetings::table
        .filter(council_meetings::council_id.eq(c.id))
        .filter(council_meetings::id.eq(id))
        .select(Meeting::as_select())
        .first(conn)?)
}

/// The members present at a meeting, by id.
pub fn attendance(conn: &mut DbConnection, m: &Meeting) -> Result<Vec<i64>, DbError> {
    Ok(council_attendance::table
        .filter(council_attendance::meeting_id.eq(m.id))
        .select(council_attendance::member_id)
        .load(conn)?)
}

/// The ids among `present` that are the council's members, else an error on the field.
fn checked_present(conn: &mut DbConnection, c: &Council, present: &[i64]) -> Result<(), DbError> {
    let known: i64 = council_members::table
        .filter(council_members::council_id.eq(c.id))
        .filter(council_members::id.eq_any(present))
        .count()
        .get_result(conn)?;
    if usize::try_from(known).ok() == Some(present.len()) {
        Ok(())
    } else {
        Err(DbError::invalid("present", "err.choice"))
    }
}

/// How many members a list names.
fn count(present: &[i64]) -> i64 {
    i64::try_from(present.len()).unwrap_or(i64::MAX)
}

fn write_attendance(conn: &mut DbConnection, id: i64, present: &[i64]) -> Result<(), DbError> {
    diesel::delete(council_attendance::table.filter(council_attendance::meeting_id.eq(id)))
        .execute(conn)?;
    for m in present {
        diesel::insert_into(council_attendance::table)
            .values((
                council_attendance::meeting_id.eq(id),
                council_attendance::member_id.eq(m),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Record a meeting held, with its attendance and notes; audited. A day that has a meeting
/// already is refused (a day called off may still be held: its row becomes the meeting).
pub fn record(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    c: &Council,
    input: &MeetingInput,
) -> Result<Meeting, DbError> {
    if !c.run_by(actor) {
        return Err(DbError::Forbidden);
    }
    checked_present(conn, c, &input.present)?;
    let existing: Option<Meeting> = council_meetings::table
        .filter(council_meetings::council_id.eq(c.id))
        .filter(council_meetings::held_on.eq(input.held_on))
        .select(Meeting::as_select())
        .first(conn)
        .optional()?;
    if let Some(m) = existing {
        if m.held() {
            return Err(DbError::invalid("held_on", "err.councils.meeting_exists"));
        }
        diesel::delete(council_meetings::table.filter(council_meetings::id.eq(m.id)))
            .execute(conn)?;
    }
    let m = Meeting::new(
        (c, actor),
        (input.held_on, MeetingStatus::Held),
        input.guests,
        input.notes.clone(),
    );
    diesel::insert_into(council_meetings::table)
        .values(&m)
        .execute(conn)?;
    write_attendance(conn, m.id, &input.present)?;
    super::meeting_changed(conn, None, (&m, count(&input.present)))?;
    audit::record(
        conn,
        actor,
        Event::new("council.meeting", "council", c.id)
            .region(c.region_id)
            .after(&m)
            .detail(serde_json::json!({"present": input.present})),
    )?;
    Ok(m)
}

/// Correct a meeting's minutes (the day stays); audited before and after.
pub fn update(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    c: &Council,
    id: i64,
    version: i32,
    input: &MeetingInput,
) -> Result<Meeting, DbError> {
    if !c.run_by(actor) {
        return Err(DbError::Forbidden);
    }
    let before = get(conn, c, id)?;
    versioned::expect(version, before.version)?;
    if !before.held() || before.held_on != input.held_on {
        return Err(DbError::invalid("held_on", "err.councils.day_kept"));
    }
    checked_present(conn, c, &input.present)?;
    let was_present = super::tallies::present_at(conn, &[id])?
        .get(&id)
        .copied()
        .unwrap_or(0);
    let n = diesel::update(
        council_meetings::table
            .filter(council_meetings::id.eq(id))
            .filter(council_meetings::version.eq(version)),
    )
    .set((
        council_meetings::guests.eq(input.guests),
        council_meetings::notes.eq(&input.notes),
        council_meetings::updated_at.eq(now()),
        council_meetings::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    write_attendance(conn, id, &input.present)?;
    let after = get(conn, c, id)?;
    super::meeting_changed(
        conn,
        Some((&before, was_present)),
        (&after, count(&input.present)),
    )?;
    audit::record(
        conn,
        actor,
        Event::new("council.meeting_update", "council", c.id)
            .region(c.region_id)
            .before(&before)
            .after(&after)
            .detail(serde_json::json!({"present": input.present})),
    )?;
    Ok(after)
}

/// Call off one of the rhythm's days to come; audited.
pub fn cancel(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    c: &Council,
    day: NaiveDate,
    today: NaiveDate,
) -> Result<Meeting, DbError> {
    if !c.run_by(actor) {
        return Err(DbError::Forbidden);
    }
    let to = today + chrono::Duration::days(AHEAD_DAYS);
    if !c.schedule().days(today, to).contains(&day) {
        return Err(DbError::invalid("day", "err.councils.not_a_meeting_day"));
    }
    let taken: i64 = council_meetings::table
        .filter(council_meetings::council_id.eq(c.id))
        .filter(council_meetings::held_on.eq(day))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(DbError::invalid("day", "err.councils.meeting_exists"));
    }
    let m = Meeting::new((c, actor), (day, MeetingStatus::Cancelled), 0, None);
    diesel::insert_into(council_meetings::table)
        .values(&m)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("council.meeting_cancel", "council", c.id)
            .region(c.region_id)
            .after(&m),
    )?;
    Ok(m)
}
