//! Activities (宣传教育活动) and trainings (培训班): recorded at a region, with their photos and
//! the materials handed out. The rules of a record are `shiliu_domain::activities`'.
//!
//! A record belongs to the region it was held at: staff with `ViewActivities` whose scope
//! covers it read it; those with `LogActivities` record in their scope and correct their own
//! records; `ManageActivities` corrects and removes anyone's. Its organiser is a unit of the
//! caller's scope or of the region just above it (a grid worker's community: grids have no
//! units of their own), and it counts towards that unit's yearly target ([`targets`]).
//! Photos and materials are read through the record as the caller was given it.

pub mod stats;
pub mod tallies;
pub mod targets;
pub mod trainees;

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use shiliu_domain::activities::{ActivityInput, Form, TermInput, TermList, Venue};
use shiliu_domain::files::{FileInput, FileLimits};

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{
    activities, activity_materials, activity_photos, activity_terms, regions, units,
};
use crate::scope::{Actor, Can, Predicate, Scope, grants};
use crate::{DbConnection, DbError, now, versioned};

/// An activity's photos: a phone's, several to a record.
pub const PHOTOS: FileLimits = FileLimits {
    max_bytes: 8 * 1024 * 1024,
    max_files: 9,
    photos_only: true,
};

/// An entry of one of the editable lists.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = activity_terms)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Term {
    pub id: i64,
    pub list: String,
    pub name: String,
    pub unit_word: Option<String>,
    pub sort: i32,
    pub active: bool,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = activities)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Activity {
    pub id: i64,
    pub form: String,
    pub title: String,
    pub kind_id: Option<i64>,
    pub venue: Option<String>,
    pub organiser_unit_id: i64,
    pub co_organisers: Option<String>,
    pub region_id: i64,
    pub region_path: String,
    pub site_id: Option<i64>,
    pub held_on: NaiveDate,
    pub starts_at: Option<String>,
    pub ends_on: Option<NaiveDate>,
    pub participants: i32,
    pub audience_id: Option<i64>,
    pub hours_tenths: Option<i32>,
    pub summary: Option<String>,
    pub photos: i32,
    pub recorded_by: Option<i64>,
    pub recorder: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Activity {
    pub fn form(&self) -> Form {
        Form::parse(&self.form).unwrap_or(Form::Activity)
    }

    pub fn venue(&self) -> Option<Venue> {
        self.venue.as_deref().and_then(Venue::parse)
    }

    /// Whether `actor` may correct it: its recorder, or one who manages activities.
    pub fn editable_by(&self, actor: &Actor) -> bool {
        actor.allows(shiliu_domain::roles::Permission::ManageActivities)
            || (actor.user_id.is_some() && actor.user_id == self.recorded_by)
    }
}

/// A photo without its content.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = activity_photos)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Photo {
    pub id: i64,
    pub activity_id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploader: String,
    pub created_at: NaiveDateTime,
}

/// A record as a list shows it: with the names of its place and organiser.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub activity: Activity,
    pub region_name: String,
    pub unit_name: String,
}

/// One of a record's materials, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Material {
    pub term_id: i64,
    pub name: String,
    pub unit_word: String,
    pub quantity: i32,
}

// ---- the lists ---------------------------------------------------------------------------

/// One list's entries in their order (the inactive ones too, when asked: a list's editor
/// and old records' names need them).
pub fn terms(
    conn: &mut DbConnection,
    list: TermList,
    include_inactive: bool,
) -> Result<Vec<Term>, DbError> {
    let mut q = activity_terms::table
        .filter(activity_terms::list.eq(list.as_str()))
        .select(Term::as_select())
        .into_boxed();
    if !include_inactive {
        q = q.filter(activity_terms::active.eq(true));
    }
    Ok(
        q.order((activity_terms::sort.asc(), activity_terms::id.asc()))
            .load(conn)?,
    )
}

/// Every list's entries by id, inactive ones included: names for records.
pub fn term_names(conn: &mut DbConnection) -> Result<HashMap<i64, Term>, DbError> {
    Ok(activity_terms::table
        .select(Term::as_select())
        .load::<Term>(conn)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect())
}

/// A new entry at the end of its list; audited. A name the list has already is refused.
pub fn add_term(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageActivities>,
    list: TermList,
    input: &TermInput,
) -> Result<Term, DbError> {
    let taken: i64 = activity_terms::table
        .filter(activity_terms::list.eq(list.as_str()))
        .filter(activity_terms::name.eq(&input.name))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(DbError::invalid("name", "err.activities.term_taken"));
    }
    let highest: Option<i32> = activity_terms::table
        .filter(activity_terms::list.eq(list.as_str()))
        .filter(activity_terms::sort.lt(99))
        .select(diesel::dsl::max(activity_terms::sort))
        .first(conn)?;
    let t = Term {
        id: new_id(),
        list: list.as_str().into(),
        name: input.name.clone(),
        unit_word: input.unit_word.clone(),
        sort: highest.unwrap_or(0) + 1,
        active: true,
        version: 1,
    };
    diesel::insert_into(activity_terms::table)
        .values((
            activity_terms::id.eq(t.id),
            activity_terms::list.eq(&t.list),
            activity_terms::name.eq(&t.name),
            activity_terms::unit_word.eq(&t.unit_word),
            activity_terms::sort.eq(t.sort),
            activity_terms::active.eq(true),
            activity_terms::version.eq(1),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("activity_term.create", "activity_term", t.id).after(&t),
    )?;
    Ok(t)
}

/// Retire an entry from the choices, or bring it back (records keep naming it); audited.
pub fn set_term_active(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageActivities>,
    id: i64,
    version: i32,
    active: bool,
) -> Result<Term, DbError> {
    let get = |c: &mut DbConnection| -> Result<Term, DbError> {
        Ok(activity_terms::table
            .find(id)
            .select(Term::as_select())
            .first(c)?)
    };
    let before = get(conn)?;
    versioned::expect(version, before.version)?;
    let n = diesel::update(
        activity_terms::table
            .filter(activity_terms::id.eq(id))
            .filter(activity_terms::version.eq(version)),
    )
    .set((
        activity_terms::active.eq(active),
        activity_terms::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::finish(conn, actor, n, &before, get, |_| {
        Event::new(
            if active {
                "activity_term.activate"
            } else {
                "activity_term.deactivate"
            },
            "activity_term",
            id,
        )
    })
}

// ---- choices -----------------------------------------------------------------------------

/// The units a record's organiser is picked from: active units at the caller's regions or at
/// the region just above one (a grid worker's community), as (region name, id, name).
pub fn organiser_choices(
    conn: &mut DbConnection,
    scope: &Scope,
) -> Result<Vec<(String, i64, String)>, DbError> {
    Ok(units::table
        .inner_join(regions::table)
        .filter(scope.with_parents_filter(regions::path))
        .filter(units::active.eq(true))
        .order((regions::path.asc(), units::name.asc()))
        .select((regions::name, units::id, units::name))
        .load(conn)?)
}

/// The organiser a form picked: one of [`organiser_choices`], else an error on the field.
fn picked_organiser(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<(), DbError> {
    let found: i64 = units::table
        .inner_join(regions::table)
        .filter(scope.with_parents_filter(regions::path))
        .filter(units::active.eq(true))
        .filter(units::id.eq(id))
        .count()
        .get_result(conn)?;
    if found == 1 {
        Ok(())
    } else {
        Err(DbError::invalid("organiser_unit", "err.choice"))
    }
}

/// A term a form picked from `list`: active (or the one the record holds already).
fn picked_term(
    conn: &mut DbConnection,
    list: TermList,
    id: i64,
    field: &str,
    kept: Option<i64>,
) -> Result<(), DbError> {
    let found: Option<bool> = activity_terms::table
        .filter(activity_terms::id.eq(id))
        .filter(activity_terms::list.eq(list.as_str()))
        .select(activity_terms::active)
        .first(conn)
        .optional()?;
    match found {
        Some(true) => Ok(()),
        Some(false) if kept == Some(id) => Ok(()),
        _ => Err(DbError::invalid(field, "err.choice")),
    }
}

/// The checked picks of a form: its place and every id it names.
struct Placed {
    region: crate::org::Region,
}

fn check_picks(
    conn: &mut DbConnection,
    actor: &Actor,
    input: &ActivityInput,
    before: Option<&Activity>,
) -> Result<Placed, DbError> {
    let scope = &actor.scope;
    let mut errs = shiliu_domain::FieldErrors::new();
    let mut note = |r: Result<(), DbError>| -> Result<(), DbError> {
        match r {
            Err(DbError::Invalid(e)) => {
                for f in e.0 {
                    errs.push(f);
                }
                Ok(())
            }
            other => other,
        }
    };
    let region = match crate::org::picked_region(conn, scope, &input.region_code, "region") {
        Ok(Some(r)) => Some(r),
        Ok(None) => {
            note(Err(DbError::invalid("region", "err.required")))?;
            None
        }
        Err(e) => {
            note(Err(e))?;
            None
        }
    };
    if let Some(site) = input.site_id {
        note(crate::org::picked_site(conn, scope, &site.to_string(), "site").map(|_| ()))?;
    }
    if before.map(|b| b.organiser_unit_id) != Some(input.organiser_unit_id) {
        note(picked_organiser(conn, scope, input.organiser_unit_id))?;
    }
    if let Some(k) = input.kind_id {
        note(picked_term(
            conn,
            TermList::Kind,
            k,
            "activity_kind",
            before.and_then(|b| b.kind_id),
        ))?;
    }
    if let Some(a) = input.audience_id {
        let kept = before.and_then(|b| b.audience_id);
        note(picked_term(conn, TermList::Audience, a, "audience", kept))?;
    }
    let held: Vec<i64> = match before {
        Some(b) => activity_materials::table
            .filter(activity_materials::activity_id.eq(b.id))
            .select(activity_materials::term_id)
            .load(conn)?,
        None => Vec::new(),
    };
    for (m, _) in &input.materials {
        let kept = held.contains(m).then_some(*m);
        let field = format!("material_{m}");
        note(picked_term(conn, TermList::Material, *m, &field, kept))?;
    }
    errs.into_result()?;
    Ok(Placed {
        region: region.ok_or(DbError::NotFound)?,
    })
}

// ---- records -----------------------------------------------------------------------------

/// Record an activity or training with its photos, in the caller's scope; one transaction,
/// audited. A refused photo leaves nothing behind.
pub fn record(
    conn: &mut DbConnection,
    actor: &Can<grants::LogActivities>,
    input: &ActivityInput,
    photos: &[FileInput],
) -> Result<Activity, DbError> {
    let placed = check_picks(conn, actor, input, None)?;
    FileInput::check_count("photos", 0, photos.len(), PHOTOS)?;
    let at = now();
    let a = Activity {
        id: new_id(),
        form: input.form.as_str().into(),
        title: input.title.clone(),
        kind_id: input.kind_id,
        venue: input.venue.map(|v| v.as_str().to_string()),
        organiser_unit_id: input.organiser_unit_id,
        co_organisers: input.co_organisers.clone(),
        region_id: placed.region.id,
        region_path: placed.region.path.clone(),
        site_id: input.site_id,
        held_on: input.held_on,
        starts_at: input.starts_at.map(|t| t.format("%H:%M").to_string()),
        ends_on: input.ends_on,
        participants: input.participants,
        audience_id: input.audience_id,
        hours_tenths: input.hours_tenths,
        summary: input.summary.clone(),
        photos: 0,
        recorded_by: actor.user_id,
        recorder: actor.name.clone(),
        created_at: at,
        updated_at: at,
        version: 1,
    };
    diesel::insert_into(activities::table)
        .values(&a)
        .execute(conn)?;
    write_materials(conn, a.id, &input.materials)?;
    let mut tally = tallies::Tally::default();
    tally.record(None, Some((&a, &input.materials)));
    tally.journal(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("activity.create", "activity", a.id)
            .region(a.region_id)
            .after(&a)
            .detail(serde_json::json!({"materials": input.materials})),
    )?;
    if photos.is_empty() {
        return Ok(a);
    }
    add_photos(conn, actor, &a, photos)?;
    get(conn, &actor.scope, a.id)
}

fn write_materials(conn: &mut DbConnection, id: i64, list: &[(i64, i32)]) -> Result<(), DbError> {
    diesel::delete(activity_materials::table.filter(activity_materials::activity_id.eq(id)))
        .execute(conn)?;
    for (term, quantity) in list {
        diesel::insert_into(activity_materials::table)
            .values((
                activity_materials::activity_id.eq(id),
                activity_materials::term_id.eq(term),
                activity_materials::quantity.eq(quantity),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// One record of the caller's scope; outside it, `NotFound`.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Activity, DbError> {
    let a: Activity = activities::table
        .find(id)
        .select(Activity::as_select())
        .first(conn)?;
    scope.admit(&a.region_path.clone(), a)
}

/// One record with the names a page shows.
pub fn get_listed(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Listed, DbError> {
    let a = get(conn, scope, id)?;
    let (region_name, unit_name): (String, String) = activities::table
        .inner_join(regions::table)
        .inner_join(units::table)
        .filter(activities::id.eq(a.id))
        .select((regions::name, units::name))
        .first(conn)?;
    Ok(Listed {
        activity: a,
        region_name,
        unit_name,
    })
}

/// Correct a record (its recorder, or one who manages activities); audited with before and
/// after. Its photos are kept; photos come and go by [`add_photos`] and [`remove_photo`]. A
/// training with a trainee list keeps the list's count ([`trainees`]).
pub fn update(
    conn: &mut DbConnection,
    actor: &Can<grants::LogActivities>,
    id: i64,
    version: i32,
    input: &ActivityInput,
) -> Result<Activity, DbError> {
    let before = get(conn, &actor.scope, id)?;
    if !before.editable_by(actor) {
        return Err(DbError::Forbidden);
    }
    versioned::expect(version, before.version)?;
    let placed = check_picks(conn, actor, input, Some(&before))?;
    let participants =
        trainees::held_by_correction(conn, &before, input.form)?.unwrap_or(input.participants);
    let handed = tallies::handed(conn, &[id])?
        .remove(&id)
        .unwrap_or_default();
    let n = diesel::update(
        activities::table
            .filter(activities::id.eq(id))
            .filter(activities::version.eq(version)),
    )
    .set((
        activities::form.eq(input.form.as_str()),
        activities::title.eq(&input.title),
        activities::kind_id.eq(input.kind_id),
        activities::venue.eq(input.venue.map(Venue::as_str)),
        activities::organiser_unit_id.eq(input.organiser_unit_id),
        activities::co_organisers.eq(&input.co_organisers),
        activities::region_id.eq(placed.region.id),
        activities::region_path.eq(&placed.region.path),
        activities::site_id.eq(input.site_id),
        activities::held_on.eq(input.held_on),
        activities::starts_at.eq(input.starts_at.map(|t| t.format("%H:%M").to_string())),
        activities::ends_on.eq(input.ends_on),
        activities::participants.eq(participants),
        activities::audience_id.eq(input.audience_id),
        activities::hours_tenths.eq(input.hours_tenths),
        activities::summary.eq(&input.summary),
        activities::updated_at.eq(now()),
        activities::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    write_materials(conn, id, &input.materials)?;
    let after = get(conn, &actor.scope, id)?;
    let mut tally = tallies::Tally::default();
    tally.record(Some((&before, &handed)), Some((&after, &input.materials)));
    tally.journal(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("activity.update", "activity", id)
            .region(after.region_id)
            .before(&before)
            .after(&after)
            .detail(serde_json::json!({"materials": input.materials})),
    )?;
    Ok(after)
}

/// Remove a record with its photos, materials and trainee list (its recorder, or one who manages
/// activities); the audit row keeps what it held.
pub fn remove(
    conn: &mut DbConnection,
    actor: &Can<grants::LogActivities>,
    id: i64,
    version: i32,
) -> Result<Activity, DbError> {
    let before = get(conn, &actor.scope, id)?;
    if !before.editable_by(actor) {
        return Err(DbError::Forbidden);
    }
    versioned::expect(version, before.version)?;
    let materials = materials(conn, &before)?;
    let handed: Vec<(i64, i32)> = materials.iter().map(|m| (m.term_id, m.quantity)).collect();
    let trainees = trainees::remove_all(conn, &before)?;
    diesel::delete(activity_photos::table.filter(activity_photos::activity_id.eq(id)))
        .execute(conn)?;
    diesel::delete(activity_materials::table.filter(activity_materials::activity_id.eq(id)))
        .execute(conn)?;
    let n = diesel::delete(
        activities::table
            .filter(activities::id.eq(id))
            .filter(activities::version.eq(version)),
    )
    .execute(conn)?;
    versioned::written(n)?;
    let mut tally = tallies::Tally::default();
    tally.record(Some((&before, &handed)), None);
    tally.journal(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("activity.delete", "activity", id)
            .region(before.region_id)
            .before(&before)
            .detail(serde_json::json!({"materials": materials, "trainees": trainees})),
    )?;
    Ok(before)
}

/// A record's materials by name, in the list's order; read through the record.
pub fn materials(conn: &mut DbConnection, a: &Activity) -> Result<Vec<Material>, DbError> {
    Ok(materials_by_record(conn, &[a.id])?
        .remove(&a.id)
        .unwrap_or_default())
}

/// The materials of records a list holds, by record, each in the list's order: one read a
/// few hundred records, not one a record (an export's hundred thousand).
pub fn materials_of(
    conn: &mut DbConnection,
    rows: &[Listed],
) -> Result<HashMap<i64, Vec<Material>>, DbError> {
    let ids: Vec<i64> = rows.iter().map(|l| l.activity.id).collect();
    materials_by_record(conn, &ids)
}

fn materials_by_record(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<Material>>, DbError> {
    let mut out: HashMap<i64, Vec<Material>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, i64, String, Option<String>, i32)> = activity_materials::table
            .inner_join(activity_terms::table)
            .filter(activity_materials::activity_id.eq_any(chunk))
            .order((activity_terms::sort.asc(), activity_terms::id.asc()))
            .select((
                activity_materials::activity_id,
                activity_terms::id,
                activity_terms::name,
                activity_terms::unit_word,
                activity_materials::quantity,
            ))
            .load(conn)?;
        for (record, term_id, name, unit_word, quantity) in rows {
            out.entry(record).or_default().push(Material {
                term_id,
                name,
                unit_word: unit_word.unwrap_or_default(),
                quantity,
            });
        }
    }
    Ok(out)
}

// ---- photos ------------------------------------------------------------------------------

/// Add photos to a record the caller may correct (checked, stripped of location on the way
/// in, at most [`PHOTOS`]'s count in all); audited.
pub fn add_photos(
    conn: &mut DbConnection,
    actor: &Actor,
    a: &Activity,
    files: &[FileInput],
) -> Result<Vec<Photo>, DbError> {
    if !a.editable_by(actor) {
        return Err(DbError::Forbidden);
    }
    if files.is_empty() {
        return Err(DbError::invalid("photos", "err.file.none"));
    }
    let existing = usize::try_from(a.photos).unwrap_or(usize::MAX);
    FileInput::check_count("photos", existing, files.len(), PHOTOS)?;
    let t = now();
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        if !f.kind.is_image() {
            return Err(DbError::invalid("photos", "err.file.photo"));
        }
        let p = Photo {
            id: new_id(),
            activity_id: a.id,
            name: f.name.clone(),
            content_type: f.kind.as_str().to_string(),
            size: i64::try_from(f.bytes.len()).unwrap_or(i64::MAX),
            sha256: hex::encode(Sha256::digest(&f.bytes)),
            uploader: actor.name.clone(),
            created_at: t,
        };
        diesel::insert_into(activity_photos::table)
            .values((
                activity_photos::id.eq(p.id),
                activity_photos::activity_id.eq(p.activity_id),
                activity_photos::name.eq(&p.name),
                activity_photos::content_type.eq(&p.content_type),
                activity_photos::size.eq(p.size),
                activity_photos::sha256.eq(&p.sha256),
                activity_photos::data.eq(&f.bytes),
                activity_photos::uploaded_by.eq(actor.user_id),
                activity_photos::uploader.eq(&p.uploader),
                activity_photos::created_at.eq(p.created_at),
            ))
            .execute(conn)?;
        out.push(p);
    }
    set_photo_count(conn, a.id)?;
    audit::record(
        conn,
        actor,
        Event::new("activity.photos", "activity", a.id)
            .region(a.region_id)
            .detail(serde_json::json!({"added": out})),
    )?;
    Ok(out)
}

/// Take one photo off a record the caller may correct; audited.
pub fn remove_photo(
    conn: &mut DbConnection,
    actor: &Actor,
    a: &Activity,
    photo_id: i64,
) -> Result<Photo, DbError> {
    if !a.editable_by(actor) {
        return Err(DbError::Forbidden);
    }
    let p: Photo = activity_photos::table
        .filter(activity_photos::activity_id.eq(a.id))
        .filter(activity_photos::id.eq(photo_id))
        .select(Photo::as_select())
        .first(conn)?;
    diesel::delete(activity_photos::table.filter(activity_photos::id.eq(p.id))).execute(conn)?;
    set_photo_count(conn, a.id)?;
    audit::record(
        conn,
        actor,
        Event::new("activity.photo_remove", "activity", a.id)
            .region(a.region_id)
            .detail(serde_json::json!({"removed": p})),
    )?;
    Ok(p)
}

/// Keep the record's count of photos (what lists show) equal to its photos.
fn set_photo_count(conn: &mut DbConnection, id: i64) -> Result<(), DbError> {
    let n: i64 = activity_photos::table
        .filter(activity_photos::activity_id.eq(id))
        .count()
        .get_result(conn)?;
    diesel::update(activities::table.find(id))
        .set(activities::photos.eq(i32::try_from(n).unwrap_or(i32::MAX)))
        .execute(conn)?;
    Ok(())
}

/// A record's photos, oldest first, without their content; read through the record.
pub fn photos(conn: &mut DbConnection, a: &Activity) -> Result<Vec<Photo>, DbError> {
    Ok(activity_photos::table
        .filter(activity_photos::activity_id.eq(a.id))
        .order(activity_photos::id.asc())
        .select(Photo::as_select())
        .load(conn)?)
}

/// One photo with its content, if its record is in scope.
pub fn open_photo(
    conn: &mut DbConnection,
    scope: &Scope,
    activity_id: i64,
    id: i64,
) -> Result<(Photo, Vec<u8>), DbError> {
    let a = get(conn, scope, activity_id)?;
    Ok(activity_photos::table
        .filter(activity_photos::activity_id.eq(a.id))
        .filter(activity_photos::id.eq(id))
        .select((Photo::as_select(), activity_photos::data))
        .first(conn)?)
}

// ---- the list ----------------------------------------------------------------------------

/// What a list of records is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub form: Option<Form>,
    pub kind_id: Option<i64>,
    pub venue: Option<Venue>,
    pub unit_id: Option<i64>,
    /// Only within this region's subtree (itself checked against the scope).
    pub within: Option<crate::org::Region>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The title contains (case-folded).
    pub text: Option<String>,
}

diesel::define_sql_function! {
    /// The value, or `y` where it is NULL: a condition on an optional column that is true or
    /// false, never NULL (a filter is one boolean condition on either engine).
    fn coalesce<T: diesel::sql_types::SingleValue>(
        x: diesel::sql_types::Nullable<T>,
        y: T,
    ) -> T;
}

type Boxed<'a> = activities::BoxedQuery<'a, crate::MultiBackend>;

/// How the list reads the records that match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// A narrow place (a township, a community, a grid) or one organiser's records: by their
    /// index, then sorted — a few thousand at most.
    Seek,
    /// A wide place (the province, a city, a county): along the order's index, newest held
    /// first, with the place tested on each row read (as an expression, which no engine looks
    /// up in an index), so a page stops after about (all ÷ matching) × its rows. Offered the
    /// place's range, `SQLite` read the whole province's records and sorted them to show fifty
    /// (0.9 s at a million; 1.8 s with a venue).
    Walk,
}

impl Filter {
    fn plan(&self, scope: &Scope) -> Plan {
        if self.unit_id.is_some() {
            return Plan::Seek;
        }
        let scope = match &self.within {
            Some(r) => scope.narrowed_to(&r.path),
            None => scope.clone(),
        };
        if scope.is_wide() {
            Plan::Walk
        } else {
            Plan::Seek
        }
    }

    /// The condition on the scope's records this filter keeps, in a query over `QS` (the
    /// records, or a join of them).
    fn predicate<QS: 'static>(&self, scope: &Scope) -> Predicate<QS>
    where
        activities::region_path: crate::scope::PathColumn<QS>,
        activities::form: SelectableExpression<QS>,
        activities::kind_id: SelectableExpression<QS>,
        activities::venue: SelectableExpression<QS>,
        activities::organiser_unit_id: SelectableExpression<QS>,
        activities::held_on: SelectableExpression<QS>,
        activities::title: SelectableExpression<QS>,
    {
        self.predicate_as(scope, Plan::Seek)
    }

    /// [`Filter::predicate`] with the place written for `plan`.
    fn predicate_as<QS: 'static>(&self, scope: &Scope, plan: Plan) -> Predicate<QS>
    where
        activities::region_path: crate::scope::PathColumn<QS>,
        activities::form: SelectableExpression<QS>,
        activities::kind_id: SelectableExpression<QS>,
        activities::venue: SelectableExpression<QS>,
        activities::organiser_unit_id: SelectableExpression<QS>,
        activities::held_on: SelectableExpression<QS>,
        activities::title: SelectableExpression<QS>,
    {
        let scope = match &self.within {
            Some(r) => scope.narrowed_to(&r.path),
            None => scope.clone(),
        };
        let mut p = match plan {
            Plan::Seek => scope.path_filter(activities::region_path),
            Plan::Walk => scope.path_filter_per_row(activities::region_path),
        };
        if let Some(f) = self.form {
            p = Box::new(p.and(activities::form.eq(f.as_str())));
        }
        if let Some(k) = self.kind_id {
            p = Box::new(p.and(coalesce(activities::kind_id, 0).eq(k)));
        }
        if let Some(v) = self.venue {
            p = Box::new(p.and(coalesce(activities::venue, "").eq(v.as_str())));
        }
        if let Some(u) = self.unit_id {
            p = Box::new(p.and(activities::organiser_unit_id.eq(u)));
        }
        if let Some(d) = self.from {
            p = Box::new(p.and(activities::held_on.ge(d)));
        }
        if let Some(d) = self.to {
            p = Box::new(p.and(activities::held_on.le(d)));
        }
        if let Some(t) = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            p = Box::new(
                p.and(
                    crate::org::lower(activities::title)
                        .like(crate::org::contains_pattern(t))
                        .escape('\\'),
                ),
            );
        }
        p
    }

    /// The scope's records this filter keeps, as a query to refine.
    fn query(&self, scope: &Scope) -> Boxed<'static> {
        self.query_as(scope, Plan::Seek)
    }

    /// The same, written for the list's [`Plan`].
    fn query_as(&self, scope: &Scope, plan: Plan) -> Boxed<'static> {
        activities::table
            .filter(self.predicate_as(scope, plan))
            .into_boxed()
    }
}

/// The most records a list over a wide place counts one by one ([`count_listed`]).
pub const COUNTED: i64 = 10_000;

/// A list's count: exact, or at least [`COUNTED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counted {
    pub n: i64,
    /// `false`: more than `n` match (the statistics give the full figures).
    pub exact: bool,
}

/// Newest held first (then newest recorded), in scope, filtered; keyset-paginated after
/// (`held_on`, `id`) of the last row shown.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &Filter,
    after: Option<(NaiveDate, i64)>,
    limit: i64,
) -> Result<Vec<Listed>, DbError> {
    let mut q = f.query_as(scope, f.plan(scope));
    if let Some((d, id)) = after {
        q = q.filter(
            activities::held_on
                .lt(d)
                .or(activities::held_on.eq(d).and(activities::id.lt(id))),
        );
    }
    let rows: Vec<Activity> = q
        .order((activities::held_on.desc(), activities::id.desc()))
        .limit(limit)
        .select(Activity::as_select())
        .load(conn)?;
    named(conn, rows)
}

/// How many records the filter keeps.
pub fn count(conn: &mut DbConnection, scope: &Scope, f: &Filter) -> Result<i64, DbError> {
    Ok(f.query(scope).count().get_result(conn)?)
}

/// How many records the list shows, counted as it reads them: over a wide place, up to
/// [`COUNTED`] (a count of every match read a province's million records for each page).
pub fn count_listed(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &Filter,
) -> Result<Counted, DbError> {
    match f.plan(scope) {
        Plan::Seek => Ok(Counted {
            n: count(conn, scope, f)?,
            exact: true,
        }),
        Plan::Walk => {
            let ids: Vec<i64> = f
                .query_as(scope, Plan::Walk)
                .select(activities::id)
                .limit(COUNTED + 1)
                .load(conn)?;
            let n = i64::try_from(ids.len()).unwrap_or(i64::MAX);
            Ok(Counted {
                n: n.min(COUNTED),
                exact: n <= COUNTED,
            })
        }
    }
}

/// The records with the names of their places and organisers, in the same order.
fn named(conn: &mut DbConnection, rows: Vec<Activity>) -> Result<Vec<Listed>, DbError> {
    let region_ids: Vec<i64> = rows.iter().map(|a| a.region_id).collect();
    let unit_ids: Vec<i64> = rows.iter().map(|a| a.organiser_unit_id).collect();
    let regions: HashMap<i64, String> = regions::table
        .filter(regions::id.eq_any(region_ids))
        .select((regions::id, regions::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let units: HashMap<i64, String> = units::table
        .filter(units::id.eq_any(unit_ids))
        .select((units::id, units::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|a| Listed {
            region_name: regions.get(&a.region_id).cloned().unwrap_or_default(),
            unit_name: units.get(&a.organiser_unit_id).cloned().unwrap_or_default(),
            activity: a,
        })
        .collect())
}

/// The records of a month in scope, filtered, by day: the calendar.
pub fn month(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &Filter,
    first: NaiveDate,
) -> Result<Vec<Listed>, DbError> {
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(first);
    let f = Filter {
        from: Some(first),
        to: Some(last),
        ..f.clone()
    };
    let rows: Vec<Activity> = f
        .query(scope)
        .order((
            activities::held_on.asc(),
            activities::starts_at.asc(),
            activities::id.asc(),
        ))
        .limit(2_000)
        .select(Activity::as_select())
        .load(conn)?;
    named(conn, rows)
}

// ---- history ------------------------------------------------------------------------------

/// A past record to load (benchmarks: a province's years of activities), with its materials
/// as (material id, quantity).
#[cfg(feature = "system")]
pub struct Past {
    pub activity: Activity,
    pub materials: Vec<(i64, i32)>,
}

#[cfg(feature = "system")]
impl Past {
    /// A record of `form` held on `held_on` at `region` (id and path), organised by `unit`,
    /// made at `made` (its id is of that moment).
    pub fn new(
        form: Form,
        (region_id, region_path): (i64, &str),
        unit: i64,
        held_on: NaiveDate,
        made: (NaiveDateTime, u32),
    ) -> Self {
        Self {
            activity: Activity {
                id: crate::ids::id_at(made.0, made.1),
                form: form.as_str().into(),
                title: String::new(),
                kind_id: None,
                venue: None,
                organiser_unit_id: unit,
                co_organisers: None,
                region_id,
                region_path: region_path.into(),
                site_id: None,
                held_on,
                starts_at: None,
                ends_on: None,
                participants: 0,
                audience_id: None,
                hours_tenths: None,
                summary: None,
                photos: 0,
                recorded_by: None,
                recorder: "system:load".into(),
                created_at: made.0,
                updated_at: made.0,
                version: 1,
            },
            materials: Vec::new(),
        }
    }
}

/// Load past records as they are, in the caller's transaction, audited as one load: the
/// rules a form's record passes are the caller's to have kept.
#[cfg(feature = "system")]
pub fn load(
    conn: &mut DbConnection,
    actor: &Can<grants::ManageActivities>,
    rows: &[Past],
) -> Result<(), DbError> {
    #[derive(Insertable)]
    #[diesel(table_name = activity_materials)]
    #[diesel(treat_none_as_default_value = false)]
    struct Handed {
        activity_id: i64,
        term_id: i64,
        quantity: i32,
    }
    let records: Vec<Activity> = rows.iter().map(|p| p.activity.clone()).collect();
    crate::insert_many!(conn, activities::table, &records)?;
    let handed: Vec<Handed> = rows
        .iter()
        .flat_map(|p| {
            p.materials.iter().map(|(term_id, quantity)| Handed {
                activity_id: p.activity.id,
                term_id: *term_id,
                quantity: *quantity,
            })
        })
        .collect();
    crate::insert_many!(conn, activity_materials::table, &handed)?;
    let counted: Vec<(&Activity, &[(i64, i32)])> = rows
        .iter()
        .map(|p| (&p.activity, p.materials.as_slice()))
        .collect();
    tallies::count_many(conn, &counted)?;
    audit::record(
        conn,
        actor,
        Event::new("activity.load", "activity", rows.len())
            .detail(serde_json::json!({"records": rows.len(), "materials": handed.len()})),
    )?;
    Ok(())
}
