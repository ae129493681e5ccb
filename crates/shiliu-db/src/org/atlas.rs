//! The region tree and the sites as public geography: what the public forms list and every
//! label names (a request's site, a routing rule's region), whoever reads it. No row of work
//! (a request, a person, a unit's figures) is read through it; those are read in scope.

use super::{Region, get_region, get_site, scope_roots};
use crate::scope::Scope;
use crate::{DbConnection, DbError};

pub fn region(conn: &mut DbConnection, id: i64) -> Result<Region, DbError> {
    get_region(conn, &Scope::whole(), id)
}

/// The tops of the tree (the province).
pub fn roots(conn: &mut DbConnection) -> Result<Vec<Region>, DbError> {
    scope_roots(conn, &Scope::whole())
}

/// A region's active children.
pub fn children(conn: &mut DbConnection, parent_id: i64) -> Result<Vec<Region>, DbError> {
    super::children(conn, &Scope::whole(), parent_id, false)
}

/// The names of a region's ancestors, the top first.
pub fn ancestor_names(conn: &mut DbConnection, region: &Region) -> Result<Vec<String>, DbError> {
    Ok(super::ancestors(conn, &Scope::whole(), region)?
        .into_iter()
        .map(|(_, name, _)| name)
        .collect())
}

pub fn site_name(conn: &mut DbConnection, id: i64) -> Result<String, DbError> {
    Ok(get_site(conn, &Scope::whole(), id)?.name)
}

/// A site's name, or none for no site.
pub fn site_name_of(conn: &mut DbConnection, id: Option<i64>) -> Result<String, DbError> {
    id.map_or_else(|| Ok(String::new()), |id| site_name(conn, id))
}

/// A region's name, or none for no region.
pub fn region_name_of(conn: &mut DbConnection, id: Option<i64>) -> Result<String, DbError> {
    id.map_or_else(|| Ok(String::new()), |id| Ok(region(conn, id)?.name))
}

/// An active site, as its poster's QR code names it to the public forms: (its region, its
/// name). An inactive or unknown site is `NotFound`.
pub fn open_site(conn: &mut DbConnection, id: i64) -> Result<(i64, String), DbError> {
    let site = get_site(conn, &Scope::whole(), id)?;
    if site.active {
        Ok((site.region_id, site.name))
    } else {
        Err(DbError::NotFound)
    }
}

/// The county a point lies in (longitude, latitude), from the shipped outlines
/// (`shiliu_domain::geo`): None outside them, or if the tree has no such county.
pub fn county_at(conn: &mut DbConnection, point: (f64, f64)) -> Result<Option<Region>, DbError> {
    let Some(code) = shiliu_domain::geo::county_at(point) else {
        return Ok(None);
    };
    match super::get_region_by_code(conn, &Scope::whole(), code) {
        Ok(r) => Ok(Some(r)),
        Err(DbError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}
