//! Requests as anyone may see them, without an account or a key (Open311's list without
//! `api_key`, FixMyStreet-style): what was asked for, how far it has gone, when, and who handles
//! it, placed no finer than its township. No description, reply, contact, media or point: a
//! resident's words and whereabouts stay with the staff in scope.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use shiliu_domain::org::RegionKind;

use super::{Request, RequestFilter};
use crate::org::Region;
use crate::schema::regions;
use crate::scope::Scope;
use crate::{DbConnection, DbError};

/// One request in the public view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicRequest {
    pub code: String,
    /// Still being handled (not resolved, rated or closed).
    pub open: bool,
    pub category_id: i64,
    pub received_at: NaiveDateTime,
    /// The last step that changed what the public sees (resolved, rated, closed), else the
    /// last change.
    pub changed_at: NaiveDateTime,
    pub due_at: Option<NaiveDateTime>,
    /// The site handling it, by name.
    pub site: Option<String>,
    /// Its township (or the region itself where it lies at a county or above): code and
    /// full name from the province down.
    pub area_code: String,
    pub area_name: String,
}

/// The newest requests matching `f` in the whole jurisdiction, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    f: &RequestFilter,
    limit: i64,
) -> Result<Vec<PublicRequest>, DbError> {
    let rows = super::list(conn, &Scope::whole(), f, limit)?;
    view(conn, &rows)
}

/// The requests with these tracking codes (each once, in the order first named; unknown codes
/// left out): the code is the resident's own key, as on the public tracking page.
pub fn by_codes(conn: &mut DbConnection, codes: &[String]) -> Result<Vec<PublicRequest>, DbError> {
    let rows = known_codes(conn, codes, super::by_code)?;
    view(conn, &rows)
}

/// The requests with these codes found by `find`, each once in the order first named.
pub fn known_codes(
    conn: &mut DbConnection,
    codes: &[String],
    mut find: impl FnMut(&mut DbConnection, &str) -> Result<Request, DbError>,
) -> Result<Vec<Request>, DbError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for code in codes {
        let code = code.trim().to_uppercase();
        if !seen.insert(code.clone()) {
            continue;
        }
        match find(conn, &code) {
            Ok(r) => out.push(r),
            Err(DbError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn view(conn: &mut DbConnection, rows: &[Request]) -> Result<Vec<PublicRequest>, DbError> {
    let mut sites = BTreeMap::new();
    let mut areas: BTreeMap<i64, (String, String)> = BTreeMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(id) = r.site_id
            && !sites.contains_key(&id)
        {
            sites.insert(id, crate::org::atlas::site_name(conn, id)?);
        }
        if let std::collections::btree_map::Entry::Vacant(e) = areas.entry(r.region_id) {
            e.insert(area(conn, r.region_id)?);
        }
        let (area_code, area_name) = areas[&r.region_id].clone();
        out.push(PublicRequest {
            code: r.code.clone(),
            open: r.status().is_open(),
            category_id: r.category_id,
            received_at: r.received_at,
            changed_at: r.changed_at(),
            due_at: r.due_at,
            site: r.site_id.and_then(|id| sites.get(&id).cloned()),
            area_code,
            area_name,
        });
    }
    Ok(out)
}

/// The township a region lies in (the region itself at a township or above): its code and its
/// name with the names above it.
fn area(conn: &mut DbConnection, region_id: i64) -> Result<(String, String), DbError> {
    let region = crate::org::atlas::region(conn, region_id)?;
    let ids: Vec<i64> = region
        .path
        .split('/')
        .filter_map(|s| s.parse().ok())
        .collect();
    let mut line: Vec<Region> = regions::table
        .filter(regions::id.eq_any(ids))
        .select(Region::as_select())
        .load(conn)?;
    line.sort_by_key(|r| r.depth);
    if line.is_empty() {
        return Ok((region.code, region.name));
    }
    let cut = line
        .iter()
        .position(|r| r.kind() == RegionKind::Township)
        .unwrap_or(line.len() - 1);
    line.truncate(cut + 1);
    let name: String = line.iter().map(|r| r.name.as_str()).collect();
    Ok((line[cut].code.clone(), name))
}
