//! The migrant registry (流动人口服务管理): people, households, where each lived when, and
//! what they consented to.
//!
//! Reads take a `&Scope` (a person carries the path of the region they live in); writes take
//! an `&Actor` and append their audit rows in the same transaction. ID numbers pass through
//! [`Vault`]: stored sealed and as a keyed hash, shown masked; [`reveal_id_number`] is the one
//! way to read one whole, and it is audited, as is every view of a person's record.

pub mod bulk;
pub mod declarations;
pub mod import;
pub mod linkage;
pub mod needs;
pub mod stats;
pub mod tallies;
pub mod vault;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::id_number::IdNumber;
use shiliu_domain::org::RegionKind;
use shiliu_domain::registry::{
    ConsentChannel, ConsentPurpose, PersonInput, PersonStatus, PersonTag, Relation,
};

pub use tallies::Tally;
pub use vault::Vault;

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::org::{Region, get_region};
use crate::schema::{consents, households, person_tags, persons, residences};
use crate::scope::grants::{EditRegistry, RevealIdNumbers};
use crate::scope::{Actor, Can, Scope};
use crate::versioned;
use crate::{DbConnection, DbError, MultiBackend, now};

/// A person as every reader sees them: the ID number only masked.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = persons)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub id_masked: Option<String>,
    pub sex: String,
    pub birth_date: NaiveDate,
    pub people: String,
    pub mobile: Option<String>,
    pub hukou: String,
    pub region_id: i64,
    pub region_path: String,
    pub address: String,
    pub household_id: Option<i64>,
    pub relation: Option<String>,
    pub arrived_on: Option<NaiveDate>,
    pub occupation: Option<String>,
    pub employer: Option<String>,
    pub employment: Option<String>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// The day they moved out of the area (while `status` is `moved_out`).
    pub moved_out_on: Option<NaiveDate>,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = persons)]
#[diesel(treat_none_as_null = true)]
struct PersonFields<'a> {
    name: &'a str,
    sex: &'a str,
    birth_date: NaiveDate,
    people: &'a str,
    mobile: Option<String>,
    hukou: &'a str,
    region_id: i64,
    region_path: &'a str,
    address: &'a str,
    arrived_on: Option<NaiveDate>,
    occupation: Option<String>,
    employer: Option<String>,
    employment: Option<String>,
    status: &'a str,
    /// Always none here: registering or correcting someone makes them resident.
    moved_out_on: Option<NaiveDate>,
    updated_at: NaiveDateTime,
}

/// An ID number as stored: sealed, its keyed hash, and the masked form lists show.
// The columns are named for what they hold of the ID number.
#[allow(clippy::struct_field_names)]
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = persons)]
struct IdColumns {
    id_sealed: Vec<u8>,
    id_key: Vec<u8>,
    id_masked: String,
}

impl IdColumns {
    fn new(vault: &Vault, id: &IdNumber) -> Self {
        let key = vault.lookup_key(id);
        Self {
            id_sealed: vault.seal(id, &key),
            id_masked: id.masked(),
            id_key: key,
        }
    }
}

impl<'a> PersonFields<'a> {
    fn new(p: &'a PersonInput, region: &'a Region, at: NaiveDateTime) -> Self {
        Self {
            name: &p.name,
            sex: p.sex.as_str(),
            birth_date: p.birth_date,
            people: p.people,
            mobile: p.mobile.as_ref().map(|m| m.as_str().to_string()),
            hukou: p.hukou,
            region_id: region.id,
            region_path: &region.path,
            address: &p.address,
            arrived_on: p.arrived_on,
            occupation: p.occupation.clone(),
            employer: p.employer.clone(),
            employment: p.employment.map(|e| e.as_str().to_string()),
            status: PersonStatus::Resident.as_str(),
            moved_out_on: None,
            updated_at: at,
        }
    }
}

/// Which household a newly registered person belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Household {
    /// A household of their own, at their address, with them as its head.
    New,
    /// An existing household in the actor's scope.
    Join {
        household_id: i64,
        relation: Relation,
    },
}

/// What to do when the ID number is registered already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDuplicate {
    /// Staff typing a new person: refuse, naming the record that exists.
    Refuse,
    /// A confirmed declaration or an imported row: the existing person is updated (moved in
    /// from another grid of the caller's scope), never registered twice. A person registered
    /// outside the caller's scope is never updated: the registration is refused.
    Update,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    Created(Person),
    Updated(Person),
}

impl Registered {
    pub fn person(&self) -> &Person {
        match self {
            Registered::Created(p) | Registered::Updated(p) => p,
        }
    }
}

/// Where a person is registered to live: a township, community or grid in the actor's scope.
fn residence_region(
    conn: &mut DbConnection,
    scope: &Scope,
    region_id: i64,
) -> Result<Region, DbError> {
    let region = get_region(conn, scope, region_id).map_err(|e| match e {
        DbError::NotFound => DbError::invalid("region_id", "err.region.unknown"),
        other => other,
    })?;
    if !region.active
        || !matches!(
            region.kind(),
            RegionKind::Township | RegionKind::Community | RegionKind::Grid
        )
    {
        return Err(DbError::invalid("region_id", "err.person.region_kind"));
    }
    Ok(region)
}

/// The person registered under this ID number, wherever they live (duplicates are found
/// across scopes; what the caller may then see is decided by the caller's scope).
fn by_key(conn: &mut DbConnection, key: &[u8]) -> Result<Option<Person>, DbError> {
    Ok(persons::table
        .filter(persons::id_key.eq(key))
        .select(Person::as_select())
        .first(conn)
        .optional()?)
}

/// Where an ID number stands on the register, as far as `scope` may know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRegister {
    /// Not registered.
    No,
    /// Registered to a person in the scope.
    Here(i64),
    /// Registered outside the scope: where, and to whom, is not the caller's to know.
    Elsewhere,
}

fn on_register(scope: &Scope, found: Option<&Person>) -> OnRegister {
    match found {
        None => OnRegister::No,
        Some(p) if scope.covers(&p.region_path) => OnRegister::Here(p.id),
        Some(_) => OnRegister::Elsewhere,
    }
}

/// A number registered to someone else: named where the caller may see them; outside their
/// scope only that it is registered — the record is never changed from here, nor is its place
/// or id told (the holding area moves the person out first).
fn duplicate_error(scope: &Scope, other: &Person) -> DbError {
    let e = match on_register(scope, Some(other)) {
        OnRegister::Here(id) => {
            shiliu_domain::FieldError::new("id_number", "err.person.duplicate").arg("id", id)
        }
        _ => shiliu_domain::FieldError::new("id_number", "err.person.registered_elsewhere"),
    };
    DbError::Invalid(e.into())
}

/// A person to register and where.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    pub person: &'a PersonInput,
    /// The township, community or grid they live in.
    pub region_id: i64,
    pub household: Household,
    /// What they agreed to, and where.
    pub consents: &'a [(ConsentPurpose, ConsentChannel)],
    pub on_duplicate: OnDuplicate,
}

/// Register a person, or update the one already registered under the same ID number as
/// `on_duplicate` says.
pub fn register(
    conn: &mut DbConnection,
    actor: &Can<EditRegistry>,
    vault: &Vault,
    r: &Registration<'_>,
) -> Result<Registered, DbError> {
    let (input, household, consents) = (r.person, r.household, r.consents);
    let region = residence_region(conn, &actor.scope, r.region_id)?;
    let existing = match &input.id_number {
        Some(id) => by_key(conn, &vault.lookup_key(id))?,
        None => None,
    };
    if let Some(before) = existing {
        // Only a person in the caller's scope is ever updated: someone registered elsewhere
        // cannot be moved in, renamed or re-numbered by registering their number here.
        if r.on_duplicate == OnDuplicate::Refuse || !actor.scope.covers(&before.region_path) {
            return Err(duplicate_error(&actor.scope, &before));
        }
        let moved_on = input.arrived_on.unwrap_or_else(crate::today);
        let after = apply(conn, vault, &before, input, &region, moved_on)?;
        record_consents(conn, actor, after.id, consents)?;
        audit::record(conn, actor, change_event("person.update", &before, &after))?;
        return Ok(Registered::Updated(after));
    }
    let at = now();
    let id = new_id();
    let (household_id, relation) = match household {
        Household::New => {
            let hid = new_id();
            diesel::insert_into(households::table)
                .values((
                    households::id.eq(hid),
                    households::region_id.eq(region.id),
                    households::region_path.eq(&region.path),
                    households::address.eq(&input.address),
                    households::created_at.eq(at),
                    households::updated_at.eq(at),
                ))
                .execute(conn)?;
            (hid, Relation::Head)
        }
        Household::Join {
            household_id,
            relation,
        } => {
            households::table
                .filter(households::id.eq(household_id))
                .filter(actor.scope.path_filter(households::region_path))
                .select(households::id)
                .first::<i64>(conn)
                .optional()?
                .ok_or_else(|| DbError::invalid("household_id", "err.person.household"))?;
            (household_id, relation)
        }
    };
    diesel::insert_into(persons::table)
        .values((
            persons::id.eq(id),
            PersonFields::new(input, &region, at),
            input.id_number.as_ref().map(|n| IdColumns::new(vault, n)),
            persons::household_id.eq(household_id),
            persons::relation.eq(relation.as_str()),
            persons::created_at.eq(at),
            persons::version.eq(1),
        ))
        .execute(conn)?;
    set_tags(conn, id, &input.tags)?;
    open_residence(
        conn,
        id,
        &region,
        &input.address,
        input.arrived_on.unwrap_or_else(crate::today),
    )?;
    record_consents(conn, actor, id, consents)?;
    let person = read(conn, id)?;
    let mut tally = Tally::default();
    tally.person(None, Some(&facts(conn, &person)?));
    if household == Household::New {
        tally.household(&region.path, 1);
    }
    tally.journal(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("person.register", "person", id)
            .region(region.id)
            .after(&person),
    )?;
    Ok(Registered::Created(person))
}

fn read(conn: &mut DbConnection, id: i64) -> Result<Person, DbError> {
    Ok(persons::table
        .find(id)
        .select(Person::as_select())
        .first(conn)?)
}

/// Write `input` over `before`; a new region or address starts a new residence on
/// `moved_on`, and a person who had moved out is resident again. Without an ID number in
/// `input`, the one on file stays (it is never put into a form to be sent back).
fn apply(
    conn: &mut DbConnection,
    vault: &Vault,
    before: &Person,
    input: &PersonInput,
    region: &Region,
    moved_on: NaiveDate,
) -> Result<Person, DbError> {
    let mut tally = Tally::default();
    let was = facts(conn, before)?;
    let moved = before.region_id != region.id
        || before.address != input.address
        || before.status != PersonStatus::Resident.as_str();
    if moved {
        close_residence(conn, before.id, moved_on)?;
        open_residence(conn, before.id, region, &input.address, moved_on)?;
        // The household lives where its head does.
        if let (Some(h), Some(Relation::Head)) = (
            before.household_id,
            before.relation.as_deref().and_then(Relation::parse),
        ) {
            let home: String = households::table
                .find(h)
                .select(households::region_path)
                .first(conn)?;
            tally.household(&home, -1);
            tally.household(&region.path, 1);
            diesel::update(households::table.find(h))
                .set((
                    households::region_id.eq(region.id),
                    households::region_path.eq(&region.path),
                    households::address.eq(&input.address),
                    households::updated_at.eq(now()),
                ))
                .execute(conn)?;
        }
    }
    let n = diesel::update(
        persons::table
            .filter(persons::id.eq(before.id))
            .filter(persons::version.eq(before.version)),
    )
    .set((
        PersonFields::new(input, region, now()),
        persons::version.eq(crate::versioned::next(before.version)?),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    if let Some(number) = &input.id_number {
        diesel::update(persons::table.find(before.id))
            .set(IdColumns::new(vault, number))
            .execute(conn)?;
    }
    set_tags(conn, before.id, &input.tags)?;
    let after = read(conn, before.id)?;
    tally.person(Some(&was), Some(&facts(conn, &after)?));
    tally.journal(conn)?;
    Ok(after)
}

/// What the statistics count of a person as stored.
fn facts(conn: &mut DbConnection, p: &Person) -> Result<tallies::Counted, DbError> {
    let tags = tags_of(conn, p)?;
    Ok(tallies::facts(
        p,
        tags.iter().map(|t| t.as_str().to_string()).collect(),
    ))
}

/// A correction of a person's particulars.
#[derive(Debug, Clone)]
pub struct Correction<'a> {
    pub id: i64,
    /// The version read with the form: a concurrent edit makes this one stale.
    pub version: i32,
    pub person: &'a PersonInput,
    pub region_id: i64,
    /// When a new region or address took effect (a move).
    pub moved_on: NaiveDate,
}

/// Correct a person's particulars; a new region or address is a move.
pub fn update(
    conn: &mut DbConnection,
    actor: &Can<EditRegistry>,
    vault: &Vault,
    c: &Correction<'_>,
) -> Result<Person, DbError> {
    let (id, version, input) = (c.id, c.version, c.person);
    let before = get(conn, &actor.scope, id)?;
    versioned::expect(version, before.version)?;
    if let Some(number) = &input.id_number
        && let Some(other) = by_key(conn, &vault.lookup_key(number))?
        && other.id != id
    {
        return Err(duplicate_error(&actor.scope, &other));
    }
    let region = residence_region(conn, &actor.scope, c.region_id)?;
    let after = apply(conn, vault, &before, input, &region, c.moved_on)?;
    audit::record(conn, actor, change_event("person.update", &before, &after))?;
    Ok(after)
}

/// The names of the fields that differ, for the audit log's detail (values stay out of it).
fn changed_fields(before: &Person, after: &Person) -> Vec<String> {
    let (Ok(serde_json::Value::Object(b)), Ok(serde_json::Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    a.iter()
        .filter(|(k, v)| !matches!(k.as_str(), "updated_at" | "version") && b.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

fn change_event(action: &'static str, before: &Person, after: &Person) -> Event {
    Event::new(action, "person", after.id)
        .region(after.region_id)
        .before(before)
        .after(after)
        .detail(serde_json::json!({ "changed": changed_fields(before, after) }))
}

fn set_tags(conn: &mut DbConnection, person_id: i64, tags: &[PersonTag]) -> Result<(), DbError> {
    diesel::delete(person_tags::table.filter(person_tags::person_id.eq(person_id)))
        .execute(conn)?;
    let rows: Vec<_> = tags
        .iter()
        .map(|t| {
            (
                person_tags::person_id.eq(person_id),
                person_tags::tag.eq(t.as_str()),
            )
        })
        .collect();
    if !rows.is_empty() {
        crate::on_engine!(conn, |c| diesel::insert_into(person_tags::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

fn open_residence(
    conn: &mut DbConnection,
    person_id: i64,
    region: &Region,
    address: &str,
    from: NaiveDate,
) -> Result<(), DbError> {
    diesel::insert_into(residences::table)
        .values((
            residences::id.eq(new_id()),
            residences::person_id.eq(person_id),
            residences::region_id.eq(region.id),
            residences::region_path.eq(&region.path),
            residences::address.eq(address),
            residences::from_date.eq(from),
            residences::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// End the current residence on `on`, which may not precede its start.
fn close_residence(conn: &mut DbConnection, person_id: i64, on: NaiveDate) -> Result<(), DbError> {
    let current: Option<(i64, NaiveDate)> = residences::table
        .filter(residences::person_id.eq(person_id))
        .filter(residences::to_date.is_null())
        .select((residences::id, residences::from_date))
        .first(conn)
        .optional()?;
    if let Some((rid, from)) = current {
        if on < from {
            return Err(DbError::Invalid(
                shiliu_domain::FieldError::new("moved_on", "err.person.moved_before_last_move")
                    .arg("date", from)
                    .into(),
            ));
        }
        diesel::update(residences::table.find(rid))
            .set(residences::to_date.eq(on))
            .execute(conn)?;
    }
    Ok(())
}

fn record_consents(
    conn: &mut DbConnection,
    actor: &Actor,
    person_id: i64,
    given: &[(ConsentPurpose, ConsentChannel)],
) -> Result<(), DbError> {
    let active: Vec<String> = consents::table
        .filter(consents::person_id.eq(person_id))
        .filter(consents::withdrawn_at.is_null())
        .select(consents::purpose)
        .load(conn)?;
    let at = now();
    for (purpose, channel) in given {
        if active.iter().any(|a| a == purpose.as_str()) {
            continue;
        }
        diesel::insert_into(consents::table)
            .values((
                consents::id.eq(new_id()),
                consents::person_id.eq(person_id),
                consents::purpose.eq(purpose.as_str()),
                consents::channel.eq(channel.as_str()),
                consents::given_at.eq(at),
                consents::recorded_by.eq(actor.user_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A person who moved out of the area (已迁出): their residence ends on `on`; the record stays,
/// so who lived here on a past date can still be answered.
pub fn move_out(
    conn: &mut DbConnection,
    actor: &Can<EditRegistry>,
    id: i64,
    version: i32,
    on: NaiveDate,
) -> Result<Person, DbError> {
    let before = get(conn, &actor.scope, id)?;
    versioned::expect(version, before.version)?;
    if before.status == PersonStatus::MovedOut.as_str() {
        return Err(DbError::invalid("status", "err.person.moved_out_already"));
    }
    close_residence(conn, id, on)?;
    let n = diesel::update(
        persons::table
            .filter(persons::id.eq(id))
            .filter(persons::version.eq(version)),
    )
    .set((
        persons::status.eq(PersonStatus::MovedOut.as_str()),
        persons::moved_out_on.eq(on),
        persons::updated_at.eq(now()),
        persons::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    let after = read(conn, id)?;
    let now = facts(conn, &after)?;
    let mut tally = Tally::default();
    tally.person(Some(&tallies::facts(&before, now.1.clone())), Some(&now));
    tally.journal(conn)?;
    audit::record(
        conn,
        actor,
        change_event("person.move_out", &before, &after),
    )?;
    Ok(after)
}

/// One person in the caller's scope, without auditing: for the writes above, which audit
/// what they change. A page that shows a person uses [`view`].
pub fn get(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Person, DbError> {
    let p = read(conn, id)?;
    scope.admit(&p.region_path.clone(), p)
}

/// A person's record as shown on their page: the view is audited in the same transaction.
pub fn view(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<Person, DbError> {
    let p = get(conn, &actor.scope, id)?;
    audit::record(
        conn,
        actor,
        Event::new("person.view", "person", id).region(p.region_id),
    )?;
    Ok(p)
}

/// The whole ID number, for those whose role may see it; the view is audited.
pub fn reveal_id_number(
    conn: &mut DbConnection,
    can: &Can<RevealIdNumbers>,
    vault: &Vault,
    id: i64,
) -> Result<Option<IdNumber>, DbError> {
    let actor = can.actor();
    let p = get(conn, &actor.scope, id)?;
    let sealed: (Option<Vec<u8>>, Option<Vec<u8>>) = persons::table
        .find(id)
        .select((persons::id_sealed, persons::id_key))
        .first(conn)?;
    let number = match sealed {
        (Some(s), Some(k)) => Some(vault.open(&s, &k)?),
        _ => None,
    };
    audit::record(
        conn,
        actor,
        Event::new("person.reveal_id", "person", id).region(p.region_id),
    )?;
    Ok(number)
}

/// Find a person by ID number within the caller's scope (the keyed hash's index: one row).
/// The look-up is audited when it finds someone.
pub fn find_by_id_number(
    conn: &mut DbConnection,
    actor: &Actor,
    vault: &Vault,
    number: &IdNumber,
) -> Result<Option<Person>, DbError> {
    let Some(p) = by_key(conn, &vault.lookup_key(number))? else {
        return Ok(None);
    };
    if !actor.scope.covers(&p.region_path) {
        return Ok(None);
    }
    audit::record(
        conn,
        actor,
        Event::new("person.lookup", "person", p.id).region(p.region_id),
    )?;
    Ok(Some(p))
}

/// A period of residence.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = residences)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Residence {
    pub id: i64,
    pub person_id: i64,
    pub region_id: i64,
    pub region_path: String,
    pub address: String,
    pub from_date: NaiveDate,
    pub to_date: Option<NaiveDate>,
}

/// A person's residences, earliest first (the person must be in scope).
pub fn residences_of(
    conn: &mut DbConnection,
    scope: &Scope,
    person_id: i64,
) -> Result<Vec<Residence>, DbError> {
    get(conn, scope, person_id)?;
    Ok(residences::table
        .filter(residences::person_id.eq(person_id))
        .order((residences::from_date, residences::id))
        .select(Residence::as_select())
        .load(conn)?)
}

/// Who lived in the scope on `day` (ids ascending from `after`): the residence history, not
/// the current register, so people since moved away are counted where they were. Audited as
/// a view of the people listed.
pub fn residents_on(
    conn: &mut DbConnection,
    actor: &Actor,
    day: NaiveDate,
    after: i64,
    limit: i64,
) -> Result<Vec<(Person, Residence)>, DbError> {
    let rows: Vec<(Person, Residence)> = residences::table
        .inner_join(persons::table)
        .filter(actor.scope.path_filter(residences::region_path))
        .filter(residences::from_date.le(day))
        .filter(
            residences::to_date
                .is_null()
                .or(residences::to_date.gt(day)),
        )
        .filter(residences::person_id.gt(after))
        .order(residences::person_id)
        .limit(limit)
        .select((Person::as_select(), Residence::as_select()))
        .load(conn)?;
    record_list(
        conn,
        actor,
        "person.residents_on",
        rows.len(),
        serde_json::json!({ "on": day }),
    )?;
    Ok(rows)
}

/// The audit row of a list of people shown: who saw how many, with which filters (names and
/// numbers stay out of the log).
fn record_list(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &'static str,
    shown: usize,
    filters: serde_json::Value,
) -> Result<(), DbError> {
    if shown == 0 {
        return Ok(());
    }
    audit::record(
        conn,
        actor,
        Event::new(action, "person", "")
            .detail(serde_json::json!({ "shown": shown, "filters": filters })),
    )?;
    Ok(())
}

/// The tags of a person, read through the person as the caller was given them.
pub fn tags_of(conn: &mut DbConnection, p: &Person) -> Result<Vec<PersonTag>, DbError> {
    let t: Vec<String> = person_tags::table
        .filter(person_tags::person_id.eq(p.id))
        .select(person_tags::tag)
        .load(conn)?;
    Ok(t.iter().filter_map(|s| PersonTag::parse(s)).collect())
}

/// A consent as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = consents)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Consent {
    pub id: i64,
    pub purpose: String,
    pub channel: String,
    pub given_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
}

/// What a person agreed to, read through the person as the caller was given them.
pub fn consents_of(conn: &mut DbConnection, p: &Person) -> Result<Vec<Consent>, DbError> {
    Ok(consents::table
        .filter(consents::person_id.eq(p.id))
        .order((consents::given_at, consents::id))
        .select(Consent::as_select())
        .load(conn)?)
}

/// The members of a household, head first.
pub fn household_members(
    conn: &mut DbConnection,
    scope: &Scope,
    household_id: i64,
) -> Result<Vec<Person>, DbError> {
    let mut members: Vec<Person> = persons::table
        .filter(persons::household_id.eq(household_id))
        .filter(scope.path_filter(persons::region_path))
        .select(Person::as_select())
        .load(conn)?;
    members.sort_by_key(|p| (p.relation.as_deref() != Some(Relation::Head.as_str()), p.id));
    Ok(members)
}

/// What a registry list may be narrowed by.
#[derive(Debug, Clone, Default)]
pub struct PersonFilter {
    /// A region whose subtree to list (inside the scope).
    pub region_path: Option<String>,
    /// Name (prefix) or mobile number.
    pub q: Option<String>,
    /// GB 3304 code.
    pub people: Option<String>,
    /// A division code prefix of the 户籍地: `52` (贵州), `5226`, `522633`.
    pub hukou: Option<String>,
    pub status: Option<PersonStatus>,
    pub employment: Option<String>,
    pub tag: Option<PersonTag>,
}

impl PersonFilter {
    /// The filters for the audit log (a name searched for is personal data: only its length).
    fn described(&self) -> serde_json::Value {
        serde_json::json!({
            "region": self.region_path,
            "q_chars": self.q.as_ref().map(|q| q.chars().count()),
            "people": self.people,
            "hukou": self.hukou,
            "status": self.status.map(PersonStatus::as_str),
            "employment": self.employment,
            "tag": self.tag.map(PersonTag::as_str),
        })
    }
}

type PersonQuery<'a> = persons::BoxedQuery<'a, MultiBackend>;

fn filtered<'a>(scope: &Scope, f: &'a PersonFilter) -> PersonQuery<'a> {
    let mut q = persons::table
        .filter(scope.path_filter(persons::region_path))
        .into_boxed();
    if let Some(path) = &f.region_path {
        q = q.filter(crate::scope::subtree_filter(
            persons::region_path,
            std::slice::from_ref(path),
        ));
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        q = match shiliu_domain::mobile::Mobile::parse(text) {
            Ok(m) => q.filter(persons::mobile.eq(m.as_str().to_string())),
            Err(_) => q.filter(
                persons::name
                    .like(crate::org::prefix_pattern(text))
                    .escape('\\'),
            ),
        };
    }
    if let Some(p) = &f.people {
        q = q.filter(persons::people.eq(p));
    }
    if let Some(h) = f.hukou.as_deref().filter(|h| !h.is_empty()) {
        q = q.filter(
            persons::hukou
                .like(crate::org::prefix_pattern(h))
                .escape('\\'),
        );
    }
    if let Some(s) = f.status {
        q = q.filter(persons::status.eq(s.as_str()));
    }
    if let Some(e) = &f.employment {
        q = q.filter(persons::employment.eq(e));
    }
    if let Some(t) = f.tag {
        q = q.filter(
            persons::id.eq_any(
                person_tags::table
                    .filter(person_tags::tag.eq(t.as_str()))
                    .select(person_tags::person_id),
            ),
        );
    }
    q
}

/// A page of the register, newest first, continuing below `before` (keyset pagination).
/// Audited as a view of the people listed.
pub fn list(
    conn: &mut DbConnection,
    actor: &Actor,
    f: &PersonFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Person>, DbError> {
    let mut q = filtered(&actor.scope, f);
    if let Some(b) = before {
        q = q.filter(persons::id.lt(b));
    }
    let rows: Vec<Person> = q
        .order(persons::id.desc())
        .limit(limit)
        .select(Person::as_select())
        .load(conn)?;
    record_list(conn, actor, "person.list", rows.len(), f.described())?;
    Ok(rows)
}

/// People for an export, newest first, up to `limit`: with `whole` (a caller checked for the
/// permission), each one's whole ID number. Audited as one export: how many, whether whole,
/// with which filters.
pub fn export(
    conn: &mut DbConnection,
    actor: &Actor,
    vault: &Vault,
    f: &PersonFilter,
    whole: Option<&Can<RevealIdNumbers>>,
    limit: i64,
) -> Result<Vec<(Person, Option<IdNumber>)>, DbError> {
    /// A person with their sealed number and its keyed hash.
    type Sealed = (Person, Option<Vec<u8>>, Option<Vec<u8>>);
    let whole = whole.is_some();
    let rows: Vec<Sealed> = filtered(&actor.scope, f)
        .order(persons::id.desc())
        .limit(limit)
        .select((Person::as_select(), persons::id_sealed, persons::id_key))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (p, sealed, key) in rows {
        let number = match (whole, sealed, key) {
            (true, Some(s), Some(k)) => Some(vault.open(&s, &k)?),
            _ => None,
        };
        out.push((p, number));
    }
    audit::record(
        conn,
        actor,
        Event::new("person.export", "person", "").detail(serde_json::json!({
            "shown": out.len(),
            "whole_id_numbers": whole,
            "filters": f.described(),
        })),
    )?;
    Ok(out)
}

/// How many people match.
pub fn count(conn: &mut DbConnection, scope: &Scope, f: &PersonFilter) -> Result<i64, DbError> {
    Ok(filtered(scope, f).count().get_result(conn)?)
}

/// How many people match, counted up to `cap` (a list's heading says "more than `cap`"
/// beyond it): counting a city's million people on every page view took seconds.
pub fn count_up_to(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &PersonFilter,
    cap: i64,
) -> Result<i64, DbError> {
    let ids: Vec<i64> = filtered(scope, f)
        .select(persons::id)
        .limit(cap + 1)
        .load(conn)?;
    Ok(ids.len() as i64)
}
