//! Consultation councils (逢四说事 · 老友议事会): a council serves a community or village, has
//! members, meets on its rhythm's days ([`meetings`]) and decides the items residents raise
//! ([`items`]); [`stats`] counts meetings, items decided and done on time. The rules are
//! `shiliu_domain::councils`'.
//!
//! A council belongs to its region. Those with `ViewCouncils` read the councils their scope
//! covers and those of the community just above their grids (a grid worker brings items to
//! their community's council); those with `RunCouncils` whose scope covers the council run it.
//! Members, meetings and items are read through the council as the caller was given it. The
//! public page finds an active council by its code and sees only what [`items::notice`] gives.

pub mod counts;
pub mod items;
pub mod meetings;
pub mod stats;
pub mod tallies;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::councils::{CouncilInput, MemberInput, MemberRole, Rhythm, Schedule};

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{council_items, council_meetings, council_members, councils, regions};
use crate::scope::{Actor, Can, Scope, grants};
use crate::{DbConnection, DbError, now, versioned};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = councils)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Council {
    pub id: i64,
    pub name: String,
    pub region_id: i64,
    pub region_path: String,
    pub rhythm: String,
    pub day: Option<i32>,
    pub place: String,
    pub starts_at: Option<String>,
    pub public_code: String,
    pub active: bool,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Council {
    pub fn schedule(&self) -> Schedule {
        Schedule {
            rhythm: Rhythm::parse(&self.rhythm).unwrap_or(Rhythm::AdHoc),
            day: self.day.and_then(|d| u32::try_from(d).ok()),
        }
    }

    /// Whether `actor` may run it: `RunCouncils` over its region (not only the region below).
    pub fn run_by(&self, actor: &Actor) -> bool {
        actor.allows(shiliu_domain::roles::Permission::RunCouncils)
            && actor.scope.covers(&self.region_path)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = council_members)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Member {
    pub id: i64,
    pub council_id: i64,
    pub name: String,
    pub role: String,
    pub note: Option<String>,
    pub phone: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

impl Member {
    pub fn role(&self) -> MemberRole {
        MemberRole::parse(&self.role).unwrap_or(MemberRole::Member)
    }
}

/// A council as the list shows it: its place's name, when it last met, and its items open.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub council: Council,
    pub region_name: String,
    pub last_held: Option<NaiveDate>,
    /// Items raised and not yet discussed.
    pub waiting: i64,
    /// Items decided or handed to a request, not yet done.
    pub open: i64,
}

/// An unguessable code for the public page: 8 characters without 0/O or 1/I/L.
fn public_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let mut rng = rand::thread_rng();
    (0..8)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// The region a council serves, picked by code in the caller's scope.
fn picked_place(
    conn: &mut DbConnection,
    scope: &Scope,
    code: &str,
) -> Result<crate::org::Region, DbError> {
    crate::org::picked_region(conn, scope, code, "region")?
        .ok_or_else(|| DbError::invalid("region", "err.required"))
}

/// A new council in the caller's scope; audited.
pub fn create(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    input: &CouncilInput,
) -> Result<Council, DbError> {
    let region = picked_place(conn, &actor.scope, &input.region_code)?;
    let at = now();
    let c = Council {
        id: new_id(),
        name: input.name.clone(),
        region_id: region.id,
        region_path: region.path.clone(),
        rhythm: input.schedule.rhythm.as_str().into(),
        day: input.schedule.day.and_then(|d| i32::try_from(d).ok()),
        place: input.place.clone(),
        starts_at: input.starts_at.map(|t| t.format("%H:%M").to_string()),
        public_code: public_code(),
        active: true,
        created_by: actor.user_id,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    diesel::insert_into(councils::table)
        .values(&c)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("council.create", "council", c.id)
            .region(c.region_id)
            .after(&c),
    )?;
    Ok(c)
}

/// One council the caller may read: in scope, or at the community just above their grids.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Council, DbError> {
    let c: Council = councils::table
        .find(id)
        .select(Council::as_select())
        .first(conn)?;
    scope.admit_with_parents(&c.region_path.clone(), c)
}

/// One council the caller runs; another, `NotFound` (outside what they read) or `Forbidden`.
pub fn get_run(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    id: i64,
) -> Result<Council, DbError> {
    let c = get(conn, &actor.scope, id)?;
    if c.run_by(actor) {
        Ok(c)
    } else {
        Err(DbError::Forbidden)
    }
}

/// The active council a public page's code names.
pub fn by_code(conn: &mut DbConnection, code: &str) -> Result<Council, DbError> {
    Ok(councils::table
        .filter(councils::public_code.eq(code.trim()))
        .filter(councils::active.eq(true))
        .select(Council::as_select())
        .first(conn)?)
}

/// The name of a council's region (a page's heading, the public page's).
pub fn region_name(conn: &mut DbConnection, c: &Council) -> Result<String, DbError> {
    Ok(regions::table
        .find(c.region_id)
        .select(regions::name)
        .first(conn)?)
}

/// Change a council's name, place, rhythm or hours, or retire it; audited before and after.
pub fn update(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    id: i64,
    version: i32,
    input: &CouncilInput,
    active: bool,
) -> Result<Council, DbError> {
    let before = get_run(conn, actor, id)?;
    versioned::expect(version, before.version)?;
    let region = picked_place(conn, &actor.scope, &input.region_code)?;
    let n = diesel::update(
        councils::table
            .filter(councils::id.eq(id))
            .filter(councils::version.eq(version)),
    )
    .set((
        councils::name.eq(&input.name),
        councils::region_id.eq(region.id),
        councils::region_path.eq(&region.path),
        councils::rhythm.eq(input.schedule.rhythm.as_str()),
        councils::day.eq(input.schedule.day.and_then(|d| i32::try_from(d).ok())),
        councils::place.eq(&input.place),
        councils::starts_at.eq(input.starts_at.map(|t| t.format("%H:%M").to_string())),
        councils::active.eq(active),
        councils::updated_at.eq(now()),
        councils::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    // Its meetings and items follow it to its region (they are counted there).
    if region.path != before.region_path {
        let mut moved = tallies::Tally::default();
        moved.council(conn, id, -1)?;
        diesel::update(council_meetings::table.filter(council_meetings::council_id.eq(id)))
            .set(council_meetings::region_path.eq(&region.path))
            .execute(conn)?;
        diesel::update(council_items::table.filter(council_items::council_id.eq(id)))
            .set(council_items::region_path.eq(&region.path))
            .execute(conn)?;
        moved.council(conn, id, 1)?;
        moved.journal(conn)?;
    }
    versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| get(c, &actor.scope, id),
        |after| Event::new("council.update", "council", id).region(after.region_id),
    )
}

/// The councils the caller reads, by place then name, from `after` (a page's last line's
/// region path and id), with what the list shows; `within` narrows to a region's subtree.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    within: Option<&crate::org::Region>,
    limit: i64,
) -> Result<Vec<Listed>, DbError> {
    let mut q = councils::table
        .inner_join(regions::table)
        .filter(scope.with_parents_filter(councils::region_path))
        .select((Council::as_select(), regions::name))
        .into_boxed();
    if let Some(r) = within {
        q = q.filter(crate::scope::subtree_filter(
            councils::region_path,
            std::slice::from_ref(&r.path),
        ));
    }
    let rows: Vec<(Council, String)> = q
        .order((
            councils::active.desc(),
            councils::region_path.asc(),
            councils::name.asc(),
        ))
        .limit(limit)
        .load(conn)?;
    with_figures(conn, rows)
}

/// One council the caller reads, as the list shows it.
pub fn get_listed(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Listed, DbError> {
    let c = get(conn, scope, id)?;
    let name = region_name(conn, &c)?;
    with_figures(conn, vec![(c, name)])?
        .pop()
        .ok_or(DbError::NotFound)
}

/// Councils with when each last met and its items waiting and open (`counts`), one read for
/// them all.
fn with_figures(
    conn: &mut DbConnection,
    rows: Vec<(Council, String)>,
) -> Result<Vec<Listed>, DbError> {
    let ids: Vec<i64> = rows.iter().map(|(c, _)| c.id).collect();
    let counts = counts::of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(c, region_name)| {
            let n = counts.get(&c.id).copied().unwrap_or_default();
            Listed {
                last_held: n.last_held_on,
                waiting: n.waiting,
                open: n.open,
                council: c,
                region_name,
            }
        })
        .collect())
}

/// Keep the statistics' totals and the list's counts in step with one item's change (`before`
/// None: raised now), in the caller's transaction.
pub(crate) fn item_changed(
    conn: &mut DbConnection,
    before: Option<&items::Item>,
    after: &items::Item,
) -> Result<(), DbError> {
    tallies::item_changed(conn, before, after)?;
    counts::item_changed(conn, before, after)
}

/// Keep them in step with a meeting's minutes, each with the members present (`before` None:
/// recorded now).
pub(crate) fn meeting_changed(
    conn: &mut DbConnection,
    before: Option<(&meetings::Meeting, i64)>,
    after: (&meetings::Meeting, i64),
) -> Result<(), DbError> {
    tallies::meeting_changed(conn, before, after)?;
    let mut c = counts::Change::default();
    c.meeting(after.0);
    c.apply(conn)
}

// ---- members -----------------------------------------------------------------------------

/// A council's members, the active first, conveners first, then in the order they joined.
pub fn members(conn: &mut DbConnection, c: &Council) -> Result<Vec<Member>, DbError> {
    let mut m: Vec<Member> = council_members::table
        .filter(council_members::council_id.eq(c.id))
        .select(Member::as_select())
        .order(council_members::id.asc())
        .load(conn)?;
    m.sort_by_key(|m| (!m.active, m.role() != MemberRole::Convener, m.created_at));
    Ok(m)
}

/// A new member of a council the caller runs; audited (without the phone number).
pub fn add_member(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    c: &Council,
    input: &MemberInput,
) -> Result<Member, DbError> {
    if !c.run_by(actor) {
        return Err(DbError::Forbidden);
    }
    let m = Member {
        id: new_id(),
        council_id: c.id,
        name: input.name.clone(),
        role: input.role.as_str().into(),
        note: input.note.clone(),
        phone: input.phone.clone(),
        active: true,
        created_at: now(),
    };
    diesel::insert_into(council_members::table)
        .values((
            council_members::id.eq(m.id),
            council_members::council_id.eq(m.council_id),
            council_members::name.eq(&m.name),
            council_members::role.eq(&m.role),
            council_members::note.eq(&m.note),
            council_members::phone.eq(&m.phone),
            council_members::active.eq(true),
            council_members::created_at.eq(m.created_at),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("council.member_add", "council", c.id)
            .region(c.region_id)
            .detail(serde_json::json!({"member_id": m.id, "name": m.name, "role": m.role})),
    )?;
    Ok(m)
}

/// A member leaves the council (kept in past minutes) or comes back; audited.
pub fn set_member_active(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    c: &Council,
    member_id: i64,
    active: bool,
) -> Result<Member, DbError> {
    if !c.run_by(actor) {
        return Err(DbError::Forbidden);
    }
    let n = diesel::update(
        council_members::table
            .filter(council_members::council_id.eq(c.id))
            .filter(council_members::id.eq(member_id)),
    )
    .set(council_members::active.eq(active))
    .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    audit::record(
        conn,
        actor,
        Event::new("council.member_active", "council", c.id)
            .region(c.region_id)
            .detail(serde_json::json!({"member_id": member_id, "active": active})),
    )?;
    Ok(council_members::table
        .find(member_id)
        .select(Member::as_select())
        .first(conn)?)
}

/// The active councils the caller reads with one of their rhythm's days from `today` to
/// `days` later (a day called off does not count), each with that day: what the to-do
/// reminds those who run them of. Two reads, whatever the number of councils.
pub fn meeting_soon(
    conn: &mut DbConnection,
    scope: &Scope,
    today: NaiveDate,
    days: i64,
) -> Result<Vec<(Council, NaiveDate)>, DbError> {
    let to = today + chrono::Duration::days(days);
    let all: Vec<Council> = councils::table
        .filter(scope.with_parents_filter(councils::region_path))
        .filter(councils::active.eq(true))
        .filter(councils::rhythm.ne(Rhythm::AdHoc.as_str()))
        .order(councils::id.asc())
        .select(Council::as_select())
        .load(conn)?;
    let taken: std::collections::HashSet<(i64, NaiveDate)> = council_meetings::table
        .inner_join(councils::table)
        .filter(scope.with_parents_filter(councils::region_path))
        .filter(council_meetings::held_on.between(today, to))
        .select((council_meetings::council_id, council_meetings::held_on))
        .load::<(i64, NaiveDate)>(conn)?
        .into_iter()
        .collect();
    Ok(all
        .into_iter()
        .filter_map(|c| {
            let day = c
                .schedule()
                .days(today, to)
                .into_iter()
                .find(|d| !taken.contains(&(c.id, *d)))?;
            Some((c, day))
        })
        .collect())
}

/// Load past councils with their meetings and items as they are, in the caller's transaction,
/// audited as one load (benchmarks: a province's years of them): the rules a form's record
/// passes are the caller's to have kept.
#[cfg(feature = "system")]
pub fn load(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    rows: (&[Council], &[meetings::Meeting], &[items::Item]),
) -> Result<(), DbError> {
    let (all, held, raised) = rows;
    crate::insert_many!(conn, councils::table, all)?;
    crate::insert_many!(conn, council_meetings::table, held)?;
    crate::insert_many!(conn, council_items::table, raised)?;
    tallies::count_many(conn, held, raised)?;
    let mut c = counts::Change::default();
    for m in held {
        c.meeting(m);
    }
    for i in raised {
        c.item(i, 1);
    }
    c.apply(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("council.load", "council", all.len()).detail(serde_json::json!({
            "councils": all.len(), "meetings": held.len(), "items": raised.len()
        })),
    )?;
    Ok(())
}
