//! Loading households in bulk (the demo's population, the benchmark's million): complete rows
//! written table by table (`insert_many!`) — households, people with sealed numbers, their first
//! residence, tags and consents — recorded by one audit row for the whole load. The numbers
//! must be new to the register: an import checks its file against the register first
//! (`import::check`), and the unique index refuses the rest. The statistics' counts go to the
//! caller's `tally`, to be journaled once for a whole import. Rows are made ([`rows`]: ids,
//! sealed numbers) apart from writing them ([`write`]), so an import makes the next chunk's on
//! one core while the database writes this one's on the other.

use chrono::NaiveDate;
use diesel::prelude::*;
use shiliu_domain::registry::{
    ConsentChannel, ConsentPurpose, PersonInput, PersonStatus, Relation,
};

use super::tallies::{Facts, Tally};
use super::{IdColumns, Vault};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::org::Region;
use crate::schema::{consents, households, person_tags, persons, residences};
use crate::scope::Actor;
use crate::{DbConnection, DbError, now};

/// A household to load: where it lives, and its people (the head first).
#[derive(Debug, Clone)]
pub struct NewHousehold<'a> {
    pub region: &'a Region,
    pub address: String,
    pub members: Vec<(PersonInput, Relation)>,
    /// Moved out on this day (their residence ends), for a register with history.
    pub moved_out: Option<NaiveDate>,
    /// What its people agreed to (registration at least).
    pub agreed: &'a [ConsentPurpose],
}

// None is NULL (not DEFAULT, which COPY cannot say).
#[derive(Insertable)]
#[diesel(table_name = persons)]
#[diesel(treat_none_as_default_value = false)]
struct PersonRow {
    id: i64,
    name: String,
    id_sealed: Option<Vec<u8>>,
    id_key: Option<Vec<u8>>,
    id_masked: Option<String>,
    sex: &'static str,
    birth_date: NaiveDate,
    people: &'static str,
    mobile: Option<String>,
    hukou: &'static str,
    region_id: i64,
    region_path: String,
    address: String,
    household_id: Option<i64>,
    relation: Option<String>,
    arrived_on: Option<NaiveDate>,
    occupation: Option<String>,
    employer: Option<String>,
    employment: Option<String>,
    status: &'static str,
    moved_out_on: Option<NaiveDate>,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    version: i32,
}

#[derive(Insertable)]
#[diesel(table_name = residences)]
#[diesel(treat_none_as_default_value = false)]
struct ResidenceRow {
    id: i64,
    person_id: i64,
    region_id: i64,
    region_path: String,
    address: String,
    from_date: NaiveDate,
    to_date: Option<NaiveDate>,
    created_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = households)]
#[diesel(treat_none_as_default_value = false)]
struct HouseholdRow {
    id: i64,
    region_id: i64,
    region_path: String,
    address: String,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = person_tags)]
#[diesel(treat_none_as_default_value = false)]
struct TagRow {
    person_id: i64,
    tag: &'static str,
}

#[derive(Insertable)]
#[diesel(table_name = consents)]
#[diesel(treat_none_as_default_value = false)]
struct ConsentRow {
    id: i64,
    person_id: i64,
    purpose: &'static str,
    channel: &'static str,
    given_at: chrono::NaiveDateTime,
    recorded_by: Option<i64>,
}

/// Households' rows, made and not yet written.
pub struct Rows {
    households: Vec<HouseholdRow>,
    people: Vec<PersonRow>,
    homes: Vec<ResidenceRow>,
    tags: Vec<TagRow>,
    consents: Vec<ConsentRow>,
}

/// Write the households; returns how many people were loaded.
pub fn load(
    conn: &mut DbConnection,
    actor: &Actor,
    vault: &Vault,
    households: &[NewHousehold<'_>],
    consent: ConsentChannel,
    tally: &mut Tally,
) -> Result<usize, DbError> {
    write(conn, actor, &rows(actor, vault, households, consent, tally))
}

/// The households' rows, their people counted in `tally`; no database is needed.
pub fn rows(
    actor: &Actor,
    vault: &Vault,
    households: &[NewHousehold<'_>],
    consent: ConsentChannel,
    tally: &mut Tally,
) -> Rows {
    let at = now();
    let mut house_rows = Vec::with_capacity(households.len());
    let mut people = Vec::new();
    let mut homes = Vec::new();
    let mut tags = Vec::new();
    let mut agreed = Vec::new();
    for h in households {
        let hid = new_id();
        house_rows.push(HouseholdRow {
            id: hid,
            region_id: h.region.id,
            region_path: h.region.path.clone(),
            address: h.address.clone(),
            created_at: at,
            updated_at: at,
        });
        tally.household(&h.region.path, 1);
        for (p, relation) in &h.members {
            let id = new_id();
            let sealed = p.id_number.as_ref().map(|n| IdColumns::new(vault, n));
            let from = p.arrived_on.unwrap_or_else(|| at.date());
            people.push(PersonRow {
                id,
                name: p.name.clone(),
                id_masked: sealed.as_ref().map(|s| s.id_masked.clone()),
                id_key: sealed.as_ref().map(|s| s.id_key.clone()),
                id_sealed: sealed.map(|s| s.id_sealed),
                sex: p.sex.as_str(),
                birth_date: p.birth_date,
                people: p.people,
                mobile: p.mobile.as_ref().map(|m| m.as_str().to_string()),
                hukou: p.hukou,
                region_id: h.region.id,
                region_path: h.region.path.clone(),
                address: h.address.clone(),
                household_id: Some(hid),
                relation: Some(relation.as_str().to_string()),
                arrived_on: p.arrived_on,
                occupation: p.occupation.clone(),
                employer: p.employer.clone(),
                employment: p.employment.map(|e| e.as_str().to_string()),
                status: if h.moved_out.is_some() {
                    PersonStatus::MovedOut.as_str()
                } else {
                    PersonStatus::Resident.as_str()
                },
                moved_out_on: h.moved_out,
                created_at: at,
                updated_at: at,
                version: 1,
            });
            let row = people.last().expect("just pushed");
            let facts = Facts {
                id,
                region_path: row.region_path.clone(),
                status: row.status.to_string(),
                people: row.people.to_string(),
                hukou: row.hukou.to_string(),
                employment: row.employment.clone(),
                arrived_on: row.arrived_on,
                moved_out_on: row.moved_out_on,
            };
            let named = p.tags.iter().map(|t| t.as_str().to_string()).collect();
            tally.person(None, Some(&(facts, named)));
            homes.push(ResidenceRow {
                id: new_id(),
                person_id: id,
                region_id: h.region.id,
                region_path: h.region.path.clone(),
                address: h.address.clone(),
                from_date: from,
                to_date: h.moved_out,
                created_at: at,
            });
            tags.extend(p.tags.iter().map(|t| TagRow {
                person_id: id,
                tag: t.as_str(),
            }));
            agreed.extend(h.agreed.iter().map(|purpose| ConsentRow {
                id: new_id(),
                person_id: id,
                purpose: purpose.as_str(),
                channel: consent.as_str(),
                given_at: at,
                recorded_by: actor.user_id,
            }));
        }
    }
    Rows {
        households: house_rows,
        people,
        homes,
        tags,
        consents: agreed,
    }
}

/// Write rows made by [`rows`] in the caller's transaction, with one audit row; returns how
/// many people were written.
pub fn write(conn: &mut DbConnection, actor: &Actor, rows: &Rows) -> Result<usize, DbError> {
    let checked_here = match conn {
        DbConnection::Postgres(c) => references::check_here(c, rows)?,
        DbConnection::Sqlite(_) => false,
    };
    crate::insert_many!(conn, households::table, &rows.households)?;
    crate::insert_many!(conn, persons::table, &rows.people)?;
    crate::insert_many!(conn, residences::table, &rows.homes)?;
    crate::insert_many!(conn, person_tags::table, &rows.tags)?;
    crate::insert_many!(conn, consents::table, &rows.consents)?;
    if let (true, DbConnection::Postgres(c)) = (checked_here, &mut *conn) {
        references::check_per_row(c)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("person.bulk_load", "person", "").detail(serde_json::json!({
            "people": rows.people.len(),
            "households": rows.households.len(),
        })),
    )?;
    Ok(rows.people.len())
}

/// engine-specific: `PostgreSQL` checks every foreign key of every row with a query of its own,
/// about eight per person here, and they took half the import's time (ADR 0004). Where the
/// database lets this connection set `session_replication_role`, the loader checks the
/// chunk's references itself, by set, and writes it with the per-row checks off: the same
/// guarantee, since a chunk's people, residences, tags and consents point at the chunk's own
/// new households and people, and the few places, peoples and users they name are read and
/// locked (`FOR KEY SHARE`, as the per-row check locks them) before a row is written.
mod references {
    use std::collections::HashSet;

    use diesel::pg::PgConnection;
    use diesel::prelude::*;
    use diesel::result::{DatabaseErrorKind, Error};

    use super::Rows;
    use crate::DbError;
    use crate::schema::{peoples, regions, users};

    /// Check the chunk's references and turn the per-row checks off until [`check_per_row`];
    /// false (the checks left on) when this connection may not turn them off.
    pub(super) fn check_here(c: &mut PgConnection, rows: &Rows) -> Result<bool, DbError> {
        within_chunk(rows)?;
        let places: HashSet<i64> = rows
            .households
            .iter()
            .map(|h| h.region_id)
            .chain(rows.people.iter().map(|p| p.region_id))
            .chain(rows.homes.iter().map(|r| r.region_id))
            .collect();
        let found: Vec<i64> = regions::table
            .filter(regions::id.eq_any(&places))
            .select(regions::id)
            .for_key_share()
            .load(c)?;
        missing("regions", places.len(), found.len())?;
        let peoples: HashSet<&str> = rows.people.iter().map(|p| p.people).collect();
        let found: Vec<String> = peoples::table
            .filter(peoples::code.eq_any(&peoples))
            .select(peoples::code)
            .for_key_share()
            .load(c)?;
        missing("peoples", peoples.len(), found.len())?;
        let recorders: HashSet<i64> = rows.consents.iter().filter_map(|c| c.recorded_by).collect();
        let found: Vec<i64> = users::table
            .filter(users::id.eq_any(&recorders))
            .select(users::id)
            .for_key_share()
            .load(c)?;
        missing("users", recorders.len(), found.len())?;
        // Last, so that a failed check leaves the transaction as it was. In a savepoint:
        // refused, it rolls back alone and the chunk is written with the per-row checks.
        Ok(c.transaction(|c| {
            diesel::sql_query("SET LOCAL session_replication_role = replica").execute(c)
        })
        .is_ok())
    }

    /// The per-row checks back on for whatever the transaction writes next.
    pub(super) fn check_per_row(c: &mut PgConnection) -> Result<(), DbError> {
        diesel::sql_query("SET LOCAL session_replication_role = origin").execute(c)?;
        Ok(())
    }

    /// Every child row points at a household or person of the same chunk.
    fn within_chunk(rows: &Rows) -> Result<(), DbError> {
        let households: HashSet<i64> = rows.households.iter().map(|h| h.id).collect();
        let people: HashSet<i64> = rows.people.iter().map(|p| p.id).collect();
        let stray = rows
            .people
            .iter()
            .filter_map(|p| p.household_id)
            .any(|h| !households.contains(&h))
            || rows
                .homes
                .iter()
                .map(|r| r.person_id)
                .chain(rows.tags.iter().map(|t| t.person_id))
                .chain(rows.consents.iter().map(|c| c.person_id))
                .any(|p| !people.contains(&p));
        if stray {
            return Err(violation(
                "a row points at a household or person outside its chunk",
            ));
        }
        Ok(())
    }

    fn missing(table: &str, wanted: usize, found: usize) -> Result<(), DbError> {
        if found == wanted {
            Ok(())
        } else {
            Err(violation(&format!(
                "{} of the {wanted} {table} rows referred to do not exist",
                wanted - found
            )))
        }
    }

    /// What `PostgreSQL`'s own check would have raised.
    fn violation(what: &str) -> DbError {
        DbError::Query(Error::DatabaseError(
            DatabaseErrorKind::ForeignKeyViolation,
            Box::new(what.to_string()),
        ))
    }
}
