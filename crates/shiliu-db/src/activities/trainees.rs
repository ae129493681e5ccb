//! A training's trainee list (培训班学员名单), optional. Kept by those who may correct the
//! training; read through the training as the caller was given it. While a training has a
//! list, its trainee count (`activities.participants`) is the list's length, set in the same
//! transaction as each change to the list, so the statistics, the progress board and a task
//! bound to the count read the list's figure. Phones are shown masked; the full ones leave only
//! in the list's workbook for those who keep it, and that read is audited.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::activities::{Form, MOST_TRAINEES, TraineeInput};

use super::Activity;
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{activities, activity_trainees};
use crate::scope::{Can, grants};
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = activity_trainees)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Trainee {
    pub id: i64,
    pub activity_id: i64,
    pub name: String,
    pub organisation: Option<String>,
    pub post: Option<String>,
    #[serde(skip)]
    pub phone: Option<String>,
    pub created_at: NaiveDateTime,
}

impl Trainee {
    /// `138****1234`, or nothing.
    pub fn masked_phone(&self) -> Option<String> {
        self.phone.as_deref().map(|p| {
            shiliu_domain::mobile::Mobile::parse(p).map_or_else(|_| "****".into(), |m| m.masked())
        })
    }
}

/// The list of training `a`, in the order it was written.
pub fn of(conn: &mut DbConnection, a: &Activity) -> Result<Vec<Trainee>, DbError> {
    Ok(activity_trainees::table
        .filter(activity_trainees::activity_id.eq(a.id))
        .order(activity_trainees::id)
        .select(Trainee::as_select())
        .load(conn)?)
}

/// How many are on training `a`'s list.
pub fn count(conn: &mut DbConnection, a: &Activity) -> Result<i64, DbError> {
    Ok(activity_trainees::table
        .filter(activity_trainees::activity_id.eq(a.id))
        .count()
        .get_result(conn)?)
}

/// The list as its keeper downloads it, phones in full: audited as a view of personal data.
pub fn export(
    conn: &mut DbConnection,
    actor: &Can<grants::LogActivities>,
    a: &Activity,
) -> Result<Vec<Trainee>, DbError> {
    kept_by(actor, a)?;
    let list = of(conn, a)?;
    audit::record(
        conn,
        actor,
        Event::new("activity.trainees.export", "activity", a.id)
            .region(a.region_id)
            .detail(serde_json::json!({ "trainees": list.len() })),
    )?;
    Ok(list)
}

/// Whether `actor` keeps training `a`'s list: it is a training they may correct.
fn kept_by(actor: &Can<grants::LogActivities>, a: &Activity) -> Result<(), DbError> {
    if !a.editable_by(actor) {
        return Err(DbError::Forbidden);
    }
    if a.form() != Form::Training {
        return Err(DbError::invalid(
            "activity_form",
            "err.activities.not_training",
        ));
    }
    Ok(())
}

/// Add `list` to training `a`'s list (a form's one, or a sign-in sheet's rows), then count its
/// trainees from the list; audited. Refused whole if the list would pass [`MOST_TRAINEES`] or
/// name someone twice (the same name and mobile). Returns the training as it is now.
pub fn add(
    conn: &mut DbConnection,
    actor: &Can<grants::LogActivities>,
    a: &Activity,
    list: &[TraineeInput],
) -> Result<Activity, DbError> {
    kept_by(actor, a)?;
    let have = of(conn, a)?;
    if have.len() + list.len() > MOST_TRAINEES {
        return Err(DbError::invalid(
            "trainee_name",
            "err.activities.too_many_trainees",
        ));
    }
    let mut seen: std::collections::HashSet<(String, String)> = have
        .iter()
        .filter_map(|t| Some((t.name.clone(), t.phone.clone()?)))
        .collect();
    for t in list {
        if let Some(p) = &t.phone
            && !seen.insert((t.name.clone(), p.as_str().to_string()))
        {
            return Err(DbError::invalid(
                "trainee_name",
                "err.activities.trainee_twice",
            ));
        }
    }
    let at = now();
    let rows: Vec<Trainee> = list
        .iter()
        .map(|t| Trainee {
            id: new_id(),
            activity_id: a.id,
            name: t.name.clone(),
            organisation: t.organisation.clone(),
            post: t.post.clone(),
            phone: t.phone.as_ref().map(|p| p.as_str().to_string()),
            created_at: at,
        })
        .collect();
    crate::insert_many!(conn, activity_trainees::table, &rows)?;
    let names: Vec<&str> = list.iter().map(|t| t.name.as_str()).collect();
    audit::record(
        conn,
        actor,
        Event::new("activity.trainees.add", "activity", a.id)
            .region(a.region_id)
            .detail(serde_json::json!({ "names": names })),
    )?;
    recount(conn, actor, a)
}

/// Take trainee `id` off training `a`'s list, then count its trainees from the list; audited.
pub fn remove(
    conn: &mut DbConnection,
    actor: &Can<grants::LogActivities>,
    a: &Activity,
    id: i64,
) -> Result<Activity, DbError> {
    kept_by(actor, a)?;
    let gone: Trainee = activity_trainees::table
        .filter(activity_trainees::activity_id.eq(a.id))
        .filter(activity_trainees::id.eq(id))
        .select(Trainee::as_select())
        .first(conn)?;
    diesel::delete(activity_trainees::table.filter(activity_trainees::id.eq(id))).execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("activity.trainees.remove", "activity", a.id)
            .region(a.region_id)
            .before(&gone),
    )?;
    recount(conn, actor, a)
}

/// The training's trainee count is its list's (none left: none trained, as the list said).
fn recount(
    conn: &mut DbConnection,
    actor: &Can<grants::LogActivities>,
    a: &Activity,
) -> Result<Activity, DbError> {
    let n = i32::try_from(count(conn, a)?).unwrap_or(i32::MAX);
    diesel::update(activities::table.filter(activities::id.eq(a.id)))
        .set((
            activities::participants.eq(n),
            activities::updated_at.eq(now()),
            activities::version.eq(activities::version + 1),
        ))
        .execute(conn)?;
    let after = super::get(conn, &actor.scope, a.id)?;
    let mut tally = super::tallies::Tally::default();
    tally.record(Some((a, &[])), Some((&after, &[])));
    tally.journal(conn)?;
    Ok(after)
}

/// A correction of training `a` keeps the list's count when it has a list, and cannot make a
/// training with a list into another kind of record.
pub(crate) fn held_by_correction(
    conn: &mut DbConnection,
    a: &Activity,
    form: Form,
) -> Result<Option<i32>, DbError> {
    let n = count(conn, a)?;
    if n == 0 {
        return Ok(None);
    }
    if form != Form::Training {
        return Err(DbError::invalid(
            "activity_form",
            "err.activities.has_trainees",
        ));
    }
    Ok(Some(i32::try_from(n).unwrap_or(i32::MAX)))
}

/// Remove training `a`'s list with the record (its audit row keeps the record).
pub(crate) fn remove_all(conn: &mut DbConnection, a: &Activity) -> Result<usize, DbError> {
    Ok(
        diesel::delete(activity_trainees::table.filter(activity_trainees::activity_id.eq(a.id)))
            .execute(conn)?,
    )
}
