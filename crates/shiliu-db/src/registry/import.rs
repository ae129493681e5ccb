//! Importing an existing register: households checked against the database (places in the
//! caller's scope, ID numbers already registered), then written through the bulk loader in
//! one transaction. A file is recorded by its SHA-256, so importing it again changes nothing;
//! a household whose head is already registered is reported and left as it is.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::FieldError;
use shiliu_domain::org::RegionKind;
use shiliu_domain::registry::import::{RowError, RowHousehold};
use shiliu_domain::registry::{ConsentChannel, ConsentPurpose, Relation};

use super::Vault;
use super::bulk::{self, NewHousehold};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::org::Region;
use crate::schema::{persons, regions, registry_imports};
use crate::scope::Actor;
use crate::{DbConnection, DbError, now};

/// A household already in the register: the file's row of its head, and the person when
/// they are in the caller's scope (elsewhere: only that they are registered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    pub row: usize,
    pub person_id: Option<i64>,
}

/// What the database says about the file's households.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Households to write, with the region each lives in.
    pub ready: Vec<(RowHousehold, Region)>,
    pub errors: Vec<RowError>,
    /// Households whose head is already registered: left as they are.
    pub duplicates: Vec<Duplicate>,
}

impl Checked {
    pub fn people(&self) -> usize {
        self.ready.iter().map(|(h, _)| h.members.len()).sum()
    }
}

/// The places named, each once: code → region, for those in the scope that people may live in.
fn places(
    conn: &mut DbConnection,
    actor: &Actor,
    codes: &[&str],
) -> Result<HashMap<String, Region>, DbError> {
    let mut out = HashMap::new();
    for chunk in codes.chunks(500) {
        let rows: Vec<Region> = regions::table
            .filter(regions::code.eq_any(chunk))
            .filter(regions::active.eq(true))
            .select(Region::as_select())
            .load(conn)?;
        for r in rows {
            if actor.scope.covers(&r.path)
                && matches!(
                    r.kind(),
                    RegionKind::Township | RegionKind::Community | RegionKind::Grid
                )
            {
                out.insert(r.code.clone(), r);
            }
        }
    }
    Ok(out)
}

/// Registered heads of household without an ID number where the file's such heads live:
/// (place's path, name, birth date) → person. The same name and birth date in the same place
/// is the same head, so a file imported again after an edit (a new hash) adds nobody twice.
fn unnumbered_heads(
    conn: &mut DbConnection,
    households: &[RowHousehold],
    places: &HashMap<String, Region>,
) -> Result<HashMap<(String, String, NaiveDate), i64>, DbError> {
    let mut paths: Vec<&str> = households
        .iter()
        .filter(|h| h.members[0].person.id_number.is_none())
        .filter_map(|h| places.get(&h.region_code))
        .map(|r| r.path.as_str())
        .collect();
    paths.sort_unstable();
    paths.dedup();
    let mut out = HashMap::new();
    for chunk in paths.chunks(500) {
        let rows: Vec<(String, String, NaiveDate, i64)> = persons::table
            .filter(persons::region_path.eq_any(chunk))
            .filter(persons::id_key.is_null())
            .filter(persons::relation.eq(Relation::Head.as_str()))
            .select((
                persons::region_path,
                persons::name,
                persons::birth_date,
                persons::id,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(p, n, b, id)| ((p, n, b), id)));
    }
    Ok(out)
}

/// Check the households against the register.
pub fn check(
    conn: &mut DbConnection,
    actor: &Actor,
    vault: &Vault,
    households: Vec<RowHousehold>,
) -> Result<Checked, DbError> {
    let mut codes: Vec<&str> = households.iter().map(|h| h.region_code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let places = places(conn, actor, &codes)?;
    // Every ID number's keyed hash, by household and member, looked up in the unique index
    // 500 at a time.
    let member_keys: Vec<Vec<Option<Vec<u8>>>> = households
        .iter()
        .map(|h| {
            h.members
                .iter()
                .map(|m| m.person.id_number.as_ref().map(|n| vault.lookup_key(n)))
                .collect()
        })
        .collect();
    let keys: Vec<&Vec<u8>> = member_keys.iter().flatten().flatten().collect();
    // Who is registered: the person's id where the caller may see them, else none.
    let mut registered: HashMap<Vec<u8>, Option<i64>> = HashMap::new();
    for chunk in keys.chunks(500) {
        let rows: Vec<(Option<Vec<u8>>, i64, String)> = persons::table
            .filter(persons::id_key.eq_any(chunk))
            .select((persons::id_key, persons::id, persons::region_path))
            .load(conn)?;
        registered.extend(
            rows.into_iter()
                .filter_map(|(k, id, path)| Some((k?, actor.scope.covers(&path).then_some(id)))),
        );
    }
    let unnumbered = unnumbered_heads(conn, &households, &places)?;
    let mut out = Checked::default();
    for (h, keys) in households.into_iter().zip(&member_keys) {
        let known = |i: usize| keys[i].as_ref().and_then(|k| registered.get(k).copied());
        if let Some(person_id) = known(0) {
            out.duplicates.push(Duplicate {
                row: h.members[0].row,
                person_id,
            });
            continue;
        }
        let before = out.errors.len();
        let Some(region) = places.get(&h.region_code) else {
            out.errors.push(RowError {
                row: h.members[0].row,
                error: FieldError::new("region_code", "err.person.region_kind"),
            });
            continue;
        };
        let head = &h.members[0].person;
        if head.id_number.is_none()
            && let Some(&id) =
                unnumbered.get(&(region.path.clone(), head.name.clone(), head.birth_date))
        {
            out.duplicates.push(Duplicate {
                row: h.members[0].row,
                person_id: Some(id),
            });
            continue;
        }
        for i in 1..h.members.len() {
            let error = match known(i) {
                Some(Some(id)) => {
                    FieldError::new("id_number", "err.person.duplicate").arg("id", id)
                }
                Some(None) => FieldError::new("id_number", "err.import.registered_elsewhere"),
                None => continue,
            };
            out.errors.push(RowError {
                row: h.members[i].row,
                error,
            });
        }
        if out.errors.len() == before {
            out.ready.push((h, region.clone()));
        }
    }
    out.errors.sort_by_key(|e| e.row);
    // Checking a file tells who of it is registered: recorded like a look-up.
    audit::record(
        conn,
        actor,
        Event::new("person.import_check", "import", "").detail(serde_json::json!({
            "households": out.ready.len(),
            "already_registered": out.duplicates.len(),
            "numbers_looked_up": keys.len(),
        })),
    )?;
    Ok(out)
}

/// A file imported before.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = registry_imports)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Imported {
    pub id: i64,
    pub sha256: String,
    pub people: i32,
    pub households: i32,
    pub skipped: i32,
    pub imported_by: Option<i64>,
    pub imported_at: chrono::NaiveDateTime,
}

/// When this file was imported, if it was.
pub fn imported(conn: &mut DbConnection, sha256: &str) -> Result<Option<Imported>, DbError> {
    Ok(registry_imports::table
        .filter(registry_imports::sha256.eq(sha256))
        .select(Imported::as_select())
        .first(conn)
        .optional()?)
}

/// Write the households chunk by chunk, counting the people written. A second thread makes
/// each chunk's rows (ids, sealed numbers) while the database writes the chunk before: the
/// two took turns on one core, leaving the other idle (docs/PERFORMANCE.md).
fn load_all(
    conn: &mut DbConnection,
    actor: &Actor,
    vault: &Vault,
    checked: &Checked,
    progress: &dyn Fn(usize),
    written: &mut usize,
) -> Result<(), DbError> {
    const BOTH: [ConsentPurpose; 2] = [ConsentPurpose::Registration, ConsentPurpose::Linkage];
    // Two chunks made ahead at most: memory stays at a few chunks whatever the file's size.
    let (tx, made) = std::sync::mpsc::sync_channel::<bulk::Rows>(2);
    std::thread::scope(|s| {
        let maker = s.spawn(move || {
            let mut tally = super::Tally::default();
            for chunk in checked.ready.chunks(CHUNK) {
                let load: Vec<NewHousehold<'_>> = chunk
                    .iter()
                    .map(|(h, region)| NewHousehold {
                        region,
                        address: h.address.clone(),
                        members: h
                            .members
                            .iter()
                            .map(|m| (m.person.clone(), m.relation))
                            .collect::<Vec<(_, Relation)>>(),
                        moved_out: None,
                        agreed: if h.linkage { &BOTH } else { &BOTH[..1] },
                    })
                    .collect();
                let rows = bulk::rows(actor, vault, &load, ConsentChannel::Import, &mut tally);
                // The writer stopped (it failed): nothing more to make.
                if tx.send(rows).is_err() {
                    break;
                }
            }
            tally
        });
        // Drops `made` on the way out, so a failed write stops the maker too.
        let wrote = made.into_iter().try_for_each(|rows| {
            *written += bulk::write(conn, actor, &rows)?;
            progress(*written);
            Ok::<_, DbError>(())
        });
        // A panic while making rows is the same bug it was when they were made inline.
        let tally = maker
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        wrote?;
        tally.journal(conn)
    })
}

/// Households written per bulk load (and per progress report).
const CHUNK: usize = 2_000;

/// Write the checked households in the caller's transaction, reporting how many people are
/// written after each chunk; record the file so it is not imported twice. Audited.
pub fn commit(
    conn: &mut DbConnection,
    actor: &Actor,
    vault: &Vault,
    checked: &Checked,
    sha256: &str,
    progress: &dyn Fn(usize),
) -> Result<Imported, DbError> {
    if let Some(before) = imported(conn, sha256)? {
        return Err(DbError::Invalid(
            FieldError::new("file", "err.import.already")
                .arg("at", before.imported_at.format("%Y-%m-%d %H:%M"))
                .into(),
        ));
    }
    let mut written = 0;
    // engine-specific: SQLite's page cache for this connection, large while the import's
    // indexes grow (every person lands in a dozen of them), back to the usual after.
    if let DbConnection::Sqlite(c) = conn {
        use diesel::connection::SimpleConnection;
        c.batch_execute("PRAGMA cache_size = -262144;")?;
    }
    let loaded = load_all(conn, actor, vault, checked, progress, &mut written);
    if let DbConnection::Sqlite(c) = conn {
        use diesel::connection::SimpleConnection;
        c.batch_execute("PRAGMA cache_size = -16000;")?;
    }
    loaded?;
    let record = Imported {
        id: new_id(),
        sha256: sha256.to_string(),
        people: i32::try_from(written).unwrap_or(i32::MAX),
        households: i32::try_from(checked.ready.len()).unwrap_or(i32::MAX),
        skipped: i32::try_from(checked.duplicates.len()).unwrap_or(i32::MAX),
        imported_by: actor.user_id,
        imported_at: now(),
    };
    diesel::insert_into(registry_imports::table)
        .values((
            registry_imports::id.eq(record.id),
            registry_imports::sha256.eq(&record.sha256),
            registry_imports::people.eq(record.people),
            registry_imports::households.eq(record.households),
            registry_imports::skipped.eq(record.skipped),
            registry_imports::imported_by.eq(record.imported_by),
            registry_imports::imported_at.eq(record.imported_at),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("person.import", "import", record.id).detail(serde_json::json!({
            "people": written,
            "households": checked.ready.len(),
            "duplicates": checked.duplicates.len(),
            "rows_in_error": checked.errors.len(),
        })),
    )?;
    Ok(record)
}
