//! Self-declarations (自主申报): a resident declares where their household lives on the public
//! page and keeps a code; the declaration waits in the queue of the grid (or community) they
//! chose until a grid worker verifies it (核验) — confirming it, corrected where needed, into the
//! register, or turning it back with a reason the resident reads with their code.
//!
//! What was declared is kept as checked forms in `payload` (JSON), ID numbers sealed as in the
//! register, and checked again on confirmation: a number already registered updates that
//! person (they moved in, or declared again), never a second record.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use shiliu_domain::id_number::IdNumber;
use shiliu_domain::org::RegionKind;
use shiliu_domain::registry::{
    ConsentChannel, ConsentPurpose, DeclarationStatus, PersonForm, PersonInput, Relation,
    rejection_reason,
};
use shiliu_domain::{FieldError, FieldErrors};

use super::{
    Household, OnDuplicate, OnRegister, Registered, Registration, Vault, by_key, on_register,
    record_list, register,
};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::org::{Region, get_region};
use crate::schema::declarations;
use crate::scope::grants::EditRegistry;
use crate::scope::{Actor, Can, Scope};
use crate::versioned;
use crate::{DbConnection, DbError, MultiBackend, now};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = declarations)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Declaration {
    pub id: i64,
    pub code: String,
    pub region_id: i64,
    pub region_path: String,
    pub status: String,
    #[serde(skip)]
    pub payload: String,
    pub reason: Option<String>,
    pub person_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
    pub version: i32,
}

/// One person as declared: their particulars without the ID number, which is sealed beside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredPerson {
    pub form: PersonForm,
    /// `head` for the declarant.
    pub relation: String,
    /// Hex of the sealed number and of its keyed hash; the masked form to show.
    pub id_sealed: Option<String>,
    pub id_key: Option<String>,
    pub id_masked: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Payload {
    people: Vec<DeclaredPerson>,
    consents: Vec<String>,
}

impl Declaration {
    /// Who was declared, head first (numbers still sealed).
    pub fn people(&self) -> Result<Vec<DeclaredPerson>, DbError> {
        Ok(payload(&self.payload)?.people)
    }

    /// What the declarant agreed to.
    pub fn consents(&self) -> Result<Vec<ConsentPurpose>, DbError> {
        Ok(payload(&self.payload)?
            .consents
            .iter()
            .filter_map(|c| ConsentPurpose::parse(c))
            .collect())
    }
}

fn payload(s: &str) -> Result<Payload, DbError> {
    serde_json::from_str(s).map_err(|e| DbError::Connect(format!("declaration payload: {e}")))
}

fn seal(vault: &Vault, p: &PersonInput, relation: Relation) -> DeclaredPerson {
    let mut form = p.to_form();
    form.id_number = String::new();
    let sealed = p.id_number.as_ref().map(|n| {
        let key = vault.lookup_key(n);
        (
            hex::encode(vault.seal(n, &key)),
            hex::encode(key),
            n.masked(),
        )
    });
    DeclaredPerson {
        form,
        relation: relation.as_str().to_string(),
        id_sealed: sealed.as_ref().map(|s| s.0.clone()),
        id_key: sealed.as_ref().map(|s| s.1.clone()),
        id_masked: sealed.map(|s| s.2),
    }
}

/// Where each declared person's ID number stands on the register, as far as the reviewer may
/// know: the review page flags a number registered elsewhere (confirming it is refused) and one
/// registered here (confirming updates that person). Part of viewing the declaration, which is
/// audited.
pub fn registered(
    conn: &mut DbConnection,
    actor: &Actor,
    d: &Declaration,
) -> Result<Vec<OnRegister>, DbError> {
    d.people()?
        .iter()
        .map(|p| {
            let Some(key) = p.id_key.as_deref() else {
                return Ok(OnRegister::No);
            };
            let key = hex::decode(key)
                .map_err(|_| DbError::Key("a declared ID number's key is not readable".into()))?;
            Ok(on_register(&actor.scope, by_key(conn, &key)?.as_ref()))
        })
        .collect()
}

fn unseal(vault: &Vault, d: &DeclaredPerson) -> Result<Option<IdNumber>, DbError> {
    let (Some(sealed), Some(key)) = (&d.id_sealed, &d.id_key) else {
        return Ok(None);
    };
    let bad = |_| DbError::Key("a declared ID number is not readable".into());
    Ok(Some(vault.open(
        &hex::decode(sealed).map_err(bad)?,
        &hex::decode(key).map_err(bad)?,
    )?))
}

/// Where a household may declare: an active township, community or grid.
fn declarable(conn: &mut DbConnection, region_id: i64) -> Result<Region, DbError> {
    let r = get_region(conn, &Scope::whole(), region_id)
        .map_err(|_| DbError::invalid("region_id", "err.region.unknown"))?;
    if !r.active
        || !matches!(
            r.kind(),
            RegionKind::Township | RegionKind::Community | RegionKind::Grid
        )
    {
        return Err(DbError::invalid("region_id", "err.person.region_kind"));
    }
    Ok(r)
}

/// A household's declaration: the declarant first (the head), then the members with their
/// relation to them. Returns the declaration with its tracking code.
pub fn declare(
    conn: &mut DbConnection,
    actor: &Actor,
    vault: &Vault,
    region_id: i64,
    people: &[(PersonInput, Relation)],
    consents: &[ConsentPurpose],
) -> Result<Declaration, DbError> {
    let region = declarable(conn, region_id)?;
    if !consents.contains(&ConsentPurpose::Registration) {
        return Err(DbError::invalid("consent", "err.person.consent"));
    }
    let body = Payload {
        people: people.iter().map(|(p, r)| seal(vault, p, *r)).collect(),
        consents: consents.iter().map(|c| c.as_str().to_string()).collect(),
    };
    let at = now();
    let id = new_id();
    let code = crate::requests::tracking_code(&mut rand::thread_rng());
    diesel::insert_into(declarations::table)
        .values((
            declarations::id.eq(id),
            declarations::code.eq(&code),
            declarations::region_id.eq(region.id),
            declarations::region_path.eq(&region.path),
            declarations::status.eq(DeclarationStatus::Pending.as_str()),
            declarations::payload.eq(serde_json::to_string(&body).unwrap_or_default()),
            declarations::created_at.eq(at),
            declarations::version.eq(1),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("declaration.create", "declaration", id)
            .region(region.id)
            .detail(serde_json::json!({ "people": people.len() })),
    )?;
    read(conn, id)
}

fn read(conn: &mut DbConnection, id: i64) -> Result<Declaration, DbError> {
    Ok(declarations::table
        .find(id)
        .select(Declaration::as_select())
        .first(conn)?)
}

/// A declaration by its code, for the declarant's status page (no scope: the code is the key).
pub fn by_code(conn: &mut DbConnection, code: &str) -> Result<Option<Declaration>, DbError> {
    Ok(declarations::table
        .filter(declarations::code.eq(code.trim().to_uppercase()))
        .select(Declaration::as_select())
        .first(conn)
        .optional()?)
}

/// The queue: declarations in the scope with this status, oldest first (first come, first
/// verified), continuing after `after`. Audited as a view of the people listed.
pub fn queue(
    conn: &mut DbConnection,
    actor: &Actor,
    status: DeclarationStatus,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Declaration>, DbError> {
    let mut q: declarations::BoxedQuery<'_, MultiBackend> = declarations::table
        .filter(actor.scope.with_parents_filter(declarations::region_path))
        .filter(declarations::status.eq(status.as_str()))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(declarations::id.gt(a));
    }
    let rows: Vec<Declaration> = q
        .order(declarations::id)
        .limit(limit)
        .select(Declaration::as_select())
        .load(conn)?;
    record_list(
        conn,
        actor,
        "declaration.list",
        rows.len(),
        serde_json::json!({ "status": status.as_str() }),
    )?;
    Ok(rows)
}

/// How many wait in the scope (the queue's badge).
pub fn pending_count(conn: &mut DbConnection, scope: &Scope) -> Result<i64, DbError> {
    Ok(declarations::table
        .filter(scope.with_parents_filter(declarations::region_path))
        .filter(declarations::status.eq(DeclarationStatus::Pending.as_str()))
        .count()
        .get_result(conn)?)
}

/// One declaration for its reviewer; the view is audited.
pub fn view(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<Declaration, DbError> {
    let d = read(conn, id)?;
    let d = actor.scope.admit_with_parents(&d.region_path.clone(), d)?;
    audit::record(
        conn,
        actor,
        Event::new("declaration.view", "declaration", id).region(d.region_id),
    )?;
    Ok(d)
}

fn pending(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
) -> Result<Declaration, DbError> {
    let d = read(conn, id)?;
    let d = actor.scope.admit_with_parents(&d.region_path.clone(), d)?;
    versioned::expect(version, d.version)?;
    if d.status != DeclarationStatus::Pending.as_str() {
        return Err(DbError::invalid("status", "err.declaration.decided"));
    }
    Ok(d)
}

fn decide(
    conn: &mut DbConnection,
    actor: &Actor,
    d: &Declaration,
    status: DeclarationStatus,
    reason: Option<&str>,
    person_id: Option<i64>,
) -> Result<Declaration, DbError> {
    let n = diesel::update(
        declarations::table
            .filter(declarations::id.eq(d.id))
            .filter(declarations::version.eq(d.version)),
    )
    .set((
        declarations::status.eq(status.as_str()),
        declarations::reason.eq(reason),
        declarations::person_id.eq(person_id),
        declarations::decided_by.eq(actor.user_id),
        declarations::decided_at.eq(now()),
        declarations::version.eq(crate::versioned::next(d.version)?),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    read(conn, d.id)
}

/// 退回: the declaration is turned back; the declarant reads the reason with their code.
pub fn reject(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    reason: &str,
) -> Result<Declaration, DbError> {
    let reason = rejection_reason(reason)?;
    let d = pending(conn, actor, id, version)?;
    let after = decide(
        conn,
        actor,
        &d,
        DeclarationStatus::Rejected,
        Some(&reason),
        None,
    )?;
    audit::record(
        conn,
        actor,
        Event::new("declaration.reject", "declaration", id).region(d.region_id),
    )?;
    Ok(after)
}

/// 核验通过: the household as the reviewer confirms it — each person's form as declared or
/// corrected (a blank ID number keeps the declared one) — goes into the register at
/// `region_id`: the head first, the members into the head's household. A number already
/// registered updates that person. The consents are the declarant's, given on the public page.
pub fn confirm(
    conn: &mut DbConnection,
    actor: &Can<EditRegistry>,
    vault: &Vault,
    id: i64,
    version: i32,
    region_id: i64,
    people: &[PersonForm],
) -> Result<(Declaration, Vec<Registered>), DbError> {
    let d = pending(conn, actor, id, version)?;
    let declared = d.people()?;
    if people.len() != declared.len() {
        return Err(DbError::invalid("people", "err.declaration.people"));
    }
    let consents: Vec<(ConsentPurpose, ConsentChannel)> = d
        .consents()?
        .into_iter()
        .map(|c| (c, ConsentChannel::SelfService))
        .collect();
    // Check everyone first, so every problem is reported at once, each under its person.
    let today = crate::today();
    let mut errs = FieldErrors::new();
    let mut inputs = Vec::new();
    for (i, (form, was)) in people.iter().zip(&declared).enumerate() {
        let mut form = form.clone();
        if form.id_number.trim().is_empty()
            && let Some(n) = unseal(vault, was)?
        {
            form.id_number = n.as_str().to_string();
        }
        match PersonInput::parse(&form, today) {
            Ok(p) => inputs.push((p, Relation::parse(&was.relation).unwrap_or(Relation::Other))),
            Err(e) => errs.0.extend(e.0.into_iter().map(|f| {
                let field = format!("p{i}.{}", f.field);
                FieldError { field, ..f }
            })),
        }
    }
    if !errs.is_empty() {
        return Err(DbError::Invalid(errs));
    }
    let mut registered = Vec::new();
    let mut household = None;
    for (i, (input, relation)) in inputs.iter().enumerate() {
        let r = register(
            conn,
            actor,
            vault,
            &Registration {
                person: input,
                region_id,
                household: match household {
                    Some(household_id) if i > 0 => Household::Join {
                        household_id,
                        relation: *relation,
                    },
                    _ => Household::New,
                },
                consents: &consents,
                on_duplicate: OnDuplicate::Update,
            },
        )
        .map_err(|e| match e {
            // A person's problem is reported under that person (e.g. a number registered
            // outside the reviewer's scope); the place is the household's.
            DbError::Invalid(errs) => DbError::Invalid(FieldErrors(
                errs.0
                    .into_iter()
                    .map(|f| match f.field.as_str() {
                        "region_id" => f,
                        field => FieldError {
                            field: format!("p{i}.{field}"),
                            ..f
                        },
                    })
                    .collect(),
            )),
            other => other,
        })?;
        if i == 0 {
            household = r.person().household_id;
        }
        registered.push(r);
    }
    let head = registered.first().map(|r| r.person().id);
    let after = decide(conn, actor, &d, DeclarationStatus::Confirmed, None, head)?;
    audit::record(
        conn,
        actor,
        Event::new("declaration.confirm", "declaration", id)
            .region(d.region_id)
            .detail(serde_json::json!({
                "created": registered.iter().filter(|r| matches!(r, Registered::Created(_))).count(),
                "updated": registered.iter().filter(|r| matches!(r, Registered::Updated(_))).count(),
            })),
    )?;
    Ok((after, registered))
}
