//! Organisation queries: the region tree, communities and grids, service sites, units.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::org::{RegionInput, RegionKind, SiteInput, SiteType, UnitCategory, UnitInput};

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{regions, sites, units, user_grids, users};
use crate::scope::{Actor, Scope};
use crate::versioned;
use crate::{DbConnection, DbError, now};

/// Escape `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

diesel::define_sql_function! {
    /// Case-folded comparison on both engines (LIKE's case rules differ between them).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// A `LIKE … ESCAPE '\\'` pattern for text containing `q`, case-folded: compare it with
/// [`lower`] of the column (`SQLite`'s LIKE folds ASCII case by itself, `PostgreSQL`'s does not).
pub(crate) fn contains_pattern(q: &str) -> String {
    format!("%{}%", escape_like(&q.to_lowercase()))
}

/// A `LIKE … ESCAPE '\\'` pattern for text starting with `q` as written (codes, names: a
/// plain prefix, so the column's index serves it).
pub(crate) fn prefix_pattern(q: &str) -> String {
    format!("{}%", escape_like(q))
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = regions)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Region {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub path: String,
    pub depth: i32,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Region {
    pub fn kind(&self) -> RegionKind {
        RegionKind::parse(&self.kind).unwrap_or(RegionKind::Grid)
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = regions)]
pub struct NewRegion {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub path: String,
    pub depth: i32,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

pub fn get_region(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Region, DbError> {
    let r: Region = regions::table
        .filter(regions::id.eq(id))
        .select(Region::as_select())
        .first(conn)?;
    scope.admit(&r.path.clone(), r)
}

pub fn get_region_by_code(
    conn: &mut DbConnection,
    scope: &Scope,
    code: &str,
) -> Result<Region, DbError> {
    let r: Region = regions::table
        .filter(regions::code.eq(code))
        .select(Region::as_select())
        .first(conn)?;
    scope.admit(&r.path.clone(), r)
}

/// The id of the region with this code in scope, for input that names a region by its code; the
/// error names `field` (required, or no such region in scope).
pub fn region_id_by_code(
    conn: &mut DbConnection,
    scope: &Scope,
    code: &str,
    field: &str,
) -> Result<i64, DbError> {
    let code = code.trim();
    if code.is_empty() {
        return Err(DbError::invalid(field, "err.required"));
    }
    get_region_by_code(conn, scope, code)
        .map(|r| r.id)
        .map_err(|_| DbError::invalid(field, "err.region.unknown"))
}

pub mod atlas;

/// The names of these regions, to label figures that refer to them by id.
pub fn region_names(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, DbError> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String)> = regions::table
            .filter(regions::id.eq_any(chunk))
            .select((regions::id, regions::name))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The names of these sites, to label figures that refer to them by id (a report may name a
/// site outside the reader's scope that handles requests inside it).
pub fn site_names(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, DbError> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String)> = sites::table
            .filter(sites::id.eq_any(chunk))
            .select((sites::id, sites::name))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Units' names by id (those that exist), for lists that hold ids.
pub fn unit_names(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, DbError> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String)> = units::table
            .filter(units::id.eq_any(chunk))
            .select((units::id, units::name))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The regions above `region` that the scope covers, from the highest down (its breadcrumbs):
/// a city's staff see their city above a county, never the province.
pub fn trail(
    conn: &mut DbConnection,
    scope: &Scope,
    region: &Region,
) -> Result<Vec<Region>, DbError> {
    let mut above = above(conn, region)?;
    above.retain(|r| scope.covers(&r.path));
    Ok(above)
}

/// The roots of a scope: the regions its subtrees start at.
pub fn scope_roots(conn: &mut DbConnection, scope: &Scope) -> Result<Vec<Region>, DbError> {
    let mut out: Vec<Region> = regions::table
        .filter(regions::path.eq_any(scope.paths().to_vec()))
        .select(Region::as_select())
        .load(conn)?;
    if scope.paths().iter().any(|p| p == "/") {
        out = regions::table
            .filter(regions::parent_id.is_null())
            .select(Region::as_select())
            .load(conn)?;
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(out)
}

/// The paths of the scope's subtrees, none inside another (`Scope::tops`), the whole tree
/// given as its top regions': what running totals kept per region add up over the scope, each
/// row once.
pub fn top_paths(conn: &mut DbConnection, scope: &Scope) -> Result<Vec<String>, DbError> {
    let tops = scope.tops();
    if tops.iter().any(|p| p == "/") {
        return Ok(scope_roots(conn, scope)?
            .into_iter()
            .map(|r| r.path)
            .collect());
    }
    Ok(tops)
}

pub fn children(
    conn: &mut DbConnection,
    scope: &Scope,
    parent_id: i64,
    include_inactive: bool,
) -> Result<Vec<Region>, DbError> {
    let mut q = scope.regions().filter(regions::parent_id.eq(parent_id));
    if !include_inactive {
        q = q.filter(regions::active.eq(true));
    }
    Ok(q.order(regions::code.asc())
        .select(Region::as_select())
        .load(conn)?)
}

/// A region and everything below it (in scope), parents before children, for export.
pub fn subtree(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Vec<Region>, DbError> {
    let root = get_region(conn, scope, id)?;
    let below = Scope::of_paths(vec![root.path]);
    Ok(scope
        .regions()
        .filter(below.filter::<regions::table>())
        .order((regions::depth.asc(), regions::code.asc()))
        .select(Region::as_select())
        .load(conn)?)
}

/// The 56 peoples as loaded from GB 3304-91: (code, name, romanization, letter code).
pub fn peoples(conn: &mut DbConnection) -> Result<Vec<(String, String, String, String)>, DbError> {
    use crate::schema::peoples as p;
    Ok(p::table
        .order(p::code.asc())
        .select((p::code, p::name, p::romanization, p::letter_code))
        .load(conn)?)
}

/// The region a form picked from a list, by its code: in scope, else an error naming `field`
/// (not one of the choices the caller had). Empty: none picked.
pub fn picked_region(
    conn: &mut DbConnection,
    scope: &Scope,
    code: &str,
    field: &str,
) -> Result<Option<Region>, DbError> {
    let code = code.trim();
    if code.is_empty() {
        return Ok(None);
    }
    match get_region_by_code(conn, scope, code) {
        Ok(r) => Ok(Some(r)),
        Err(DbError::NotFound) => Err(DbError::invalid(field, "err.choice")),
        Err(e) => Err(e),
    }
}

/// A picker's levels: groups of regions, each with the region they lie under (none for the
/// top level).
pub type Levels = Vec<(Option<Region>, Vec<Region>)>;

/// What a region picker offers with `current` picked (none: nothing yet): the scope's roots,
/// then the active children in scope of each region from the roots down to the current one, so
/// each pick opens the next level. Groups of (the region they are under, none for the roots;
/// its children). Only regions in scope are ever offered.
pub fn choices_around(
    conn: &mut DbConnection,
    scope: &Scope,
    current: Option<&Region>,
) -> Result<Levels, DbError> {
    let mut out = vec![(None, scope_roots(conn, scope)?)];
    let Some(current) = current else {
        return Ok(out);
    };
    let mut chain: Vec<i64> = ancestors(conn, scope, current)?
        .into_iter()
        .filter(|(_, _, inside)| *inside)
        .map(|(id, _, _)| id)
        .collect();
    chain.push(current.id);
    for id in chain {
        let below = children(conn, scope, id, false)?;
        if !below.is_empty() {
            out.push((Some(get_region(conn, scope, id)?), below));
        }
    }
    Ok(out)
}

/// What a region picker on a form offers around the code the form holds so far (none, an
/// unknown code or one outside the scope: the top level only; the code is checked again when
/// the form is saved).
pub fn choices_around_code(
    conn: &mut DbConnection,
    scope: &Scope,
    code: &str,
) -> Result<Levels, DbError> {
    let current = match picked_region(conn, scope, code, "region_id") {
        Ok(r) => r,
        Err(DbError::Invalid(_)) => None,
        Err(e) => return Err(e),
    };
    choices_around(conn, scope, current.as_ref())
}

/// The active grids in scope below `region` (itself, if it is one), each with the name of the
/// region it lies directly under, ordered by their place in the tree; `None` when there are
/// more than `most` (a city's thousands are no list to tick: a narrower region first).
pub fn grids_within(
    conn: &mut DbConnection,
    scope: &Scope,
    region: &Region,
    most: i64,
) -> Result<Option<Vec<(Region, String)>>, DbError> {
    let below = Scope::of_paths(vec![region.path.clone()]);
    let grids: Vec<Region> = scope
        .regions()
        .filter(below.filter::<regions::table>())
        .filter(regions::kind.eq(RegionKind::Grid.as_str()))
        .filter(regions::active.eq(true))
        .order(regions::path.asc())
        .limit(most + 1)
        .select(Region::as_select())
        .load(conn)?;
    if grids.len() as i64 > most {
        return Ok(None);
    }
    Ok(Some(with_parent_names(conn, grids)?))
}

/// The active grids in scope with these codes (codes of anything else, or out of scope, left
/// out), each with the name of the region it lies directly under.
pub fn grids_by_codes(
    conn: &mut DbConnection,
    scope: &Scope,
    codes: &[String],
) -> Result<Vec<(Region, String)>, DbError> {
    let grids: Vec<Region> = scope
        .regions()
        .filter(regions::code.eq_any(codes))
        .filter(regions::kind.eq(RegionKind::Grid.as_str()))
        .filter(regions::active.eq(true))
        .select(Region::as_select())
        .load(conn)?;
    with_parent_names(conn, grids)
}

/// Regions, each with the name of the region it lies directly under ("" for a root).
fn with_parent_names(
    conn: &mut DbConnection,
    regions: Vec<Region>,
) -> Result<Vec<(Region, String)>, DbError> {
    let parents: Vec<i64> = regions.iter().filter_map(|g| g.parent_id).collect();
    let names = region_names(conn, &parents)?;
    Ok(regions
        .into_iter()
        .map(|g| {
            let under = g
                .parent_id
                .and_then(|p| names.get(&p).cloned())
                .unwrap_or_default();
            (g, under)
        })
        .collect())
}

/// A region's ancestors, root first, for breadcrumbs: (id, name, inside the scope). Names of the
/// chain above a region the caller may see are not scoped data; only those inside the scope are
/// linked.
pub fn ancestors(
    conn: &mut DbConnection,
    scope: &Scope,
    region: &Region,
) -> Result<Vec<(i64, String, bool)>, DbError> {
    Ok(above(conn, region)?
        .into_iter()
        .map(|r| {
            let inside = scope.covers(&r.path);
            (r.id, r.name, inside)
        })
        .collect())
}

/// The regions on a region's path above it, root first (the path names them by id).
fn above(conn: &mut DbConnection, region: &Region) -> Result<Vec<Region>, DbError> {
    let ids: Vec<i64> = region
        .path
        .split('/')
        .filter_map(|s| s.parse().ok())
        .filter(|id| *id != region.id)
        .collect();
    Ok(regions::table
        .filter(regions::id.eq_any(ids))
        .order(regions::depth.asc())
        .select(Region::as_select())
        .load(conn)?)
}

/// Create a community under a township, or a grid under a community.
pub fn create_child_region(
    conn: &mut DbConnection,
    actor: &Actor,
    parent_id: i64,
    input: &RegionInput,
) -> Result<Region, DbError> {
    let parent = get_region(conn, &actor.scope, parent_id)?;
    let kind = parent
        .kind()
        .creatable_child()
        .ok_or_else(|| DbError::invalid("parent_id", "err.region.no_children"))?;
    if !parent.active {
        return Err(DbError::invalid("parent_id", "err.inactive"));
    }
    let code = match &input.code {
        Some(c) => c.clone(),
        None => next_child_code(conn, &parent)?,
    };
    if regions::table
        .filter(regions::code.eq(&code))
        .count()
        .get_result::<i64>(conn)?
        > 0
    {
        return Err(DbError::invalid("code", "err.duplicate"));
    }
    let dup_name = regions::table
        .filter(regions::parent_id.eq(parent.id))
        .filter(regions::name.eq(&input.name))
        .count()
        .get_result::<i64>(conn)?;
    if dup_name > 0 {
        return Err(DbError::invalid("name", "err.duplicate"));
    }
    let id = new_id();
    let t = now();
    let row = NewRegion {
        id,
        parent_id: Some(parent.id),
        code,
        name: input.name.clone(),
        kind: kind.as_str().to_string(),
        path: format!("{}{id}/", parent.path),
        depth: parent.depth + 1,
        active: true,
        created_at: t,
        updated_at: t,
        version: 1,
    };
    diesel::insert_into(regions::table)
        .values(&row)
        .execute(conn)?;
    let region = get_region(conn, &Scope::whole(), id)?;
    audit::record(
        conn,
        actor,
        Event::new("region.create", "region", id)
            .region(id)
            .after(&region)
            .detail(serde_json::json!({"kind": kind.as_str()})),
    )?;
    Ok(region)
}

/// A community gets its parent's 9-digit code and a 3-digit number (the statistical scheme);
/// a grid its community's code, `-G`, and a 3-digit number.
fn next_child_code(conn: &mut DbConnection, parent: &Region) -> Result<String, DbError> {
    let prefix = match parent.kind() {
        RegionKind::Community => format!("{}-G", parent.code),
        _ => parent.code.clone(),
    };
    let existing: Vec<String> = regions::table
        .filter(regions::parent_id.eq(parent.id))
        .select(regions::code)
        .load(conn)?;
    let mut n = existing.len() + 1;
    loop {
        let code = format!("{prefix}{n:03}");
        if !existing.contains(&code) {
            return Ok(code);
        }
        n += 1;
    }
}

/// Rename a community or grid (official divisions keep their official names).
pub fn update_region(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    input: &RegionInput,
) -> Result<Region, DbError> {
    let before = get_region(conn, &actor.scope, id)?;
    if before.kind().is_official() {
        return Err(DbError::invalid("name", "err.region.official"));
    }
    versioned::expect(version, before.version)?;
    let code = input.code.clone().unwrap_or_else(|| before.code.clone());
    if code != before.code
        && regions::table
            .filter(regions::code.eq(&code))
            .count()
            .get_result::<i64>(conn)?
            > 0
    {
        return Err(DbError::invalid("code", "err.duplicate"));
    }
    let n = diesel::update(
        regions::table
            .filter(regions::id.eq(id))
            .filter(regions::version.eq(version)),
    )
    .set((
        regions::name.eq(&input.name),
        regions::code.eq(&code),
        regions::updated_at.eq(now()),
        regions::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| get_region(c, &actor.scope, id),
        |_| Event::new("region.update", "region", id).region(id),
    )
}

/// Deactivate or reactivate a community or grid. Nothing that history refers to is deleted.
pub fn set_region_active(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    active: bool,
) -> Result<Region, DbError> {
    let before = get_region(conn, &actor.scope, id)?;
    if before.kind().is_official() {
        return Err(DbError::invalid("active", "err.region.official"));
    }
    versioned::expect(version, before.version)?;
    if !active {
        let live_children = regions::table
            .filter(regions::parent_id.eq(id))
            .filter(regions::active.eq(true))
            .count()
            .get_result::<i64>(conn)?;
        if live_children > 0 {
            return Err(DbError::invalid("active", "err.region.has_children"));
        }
    }
    let n = diesel::update(
        regions::table
            .filter(regions::id.eq(id))
            .filter(regions::version.eq(version)),
    )
    .set((
        regions::active.eq(active),
        regions::updated_at.eq(now()),
        regions::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    let action = if active {
        "region.activate"
    } else {
        "region.deactivate"
    };
    versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| get_region(c, &actor.scope, id),
        |_| Event::new(action, "region", id).region(id),
    )
}

/// Counts shown on the home page, all within the caller's scope.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrgCounts {
    pub cities: i64,
    pub counties: i64,
    pub townships: i64,
    pub communities: i64,
    pub grids: i64,
    pub sites: i64,
    pub units: i64,
    pub users: i64,
    pub grid_workers: i64,
}

pub fn counts(conn: &mut DbConnection, scope: &Scope) -> Result<OrgCounts, DbError> {
    let by_kind: Vec<(String, i64)> = regions::table
        .filter(scope.filter::<regions::table>())
        .filter(regions::active.eq(true))
        .group_by(regions::kind)
        .select((regions::kind, diesel::dsl::count_star()))
        .load(conn)?;
    let kind = |k: RegionKind| {
        by_kind
            .iter()
            .find(|(s, _)| s == k.as_str())
            .map_or(0, |(_, n)| *n)
    };
    let sites = sites::table
        .inner_join(regions::table)
        .filter(scope.filter())
        .filter(sites::active.eq(true))
        .count()
        .get_result(conn)?;
    let units = units::table
        .inner_join(regions::table)
        .filter(scope.filter())
        .filter(units::active.eq(true))
        .count()
        .get_result(conn)?;
    let users = users::table
        .inner_join(regions::table)
        .filter(scope.filter())
        .filter(users::active.eq(true))
        .count()
        .get_result(conn)?;
    let grid_workers = user_grids::table
        .inner_join(regions::table)
        .filter(scope.filter())
        .select(diesel::dsl::count(user_grids::user_id).aggregate_distinct())
        .get_result(conn)?;
    Ok(OrgCounts {
        cities: kind(RegionKind::City),
        counties: kind(RegionKind::County),
        townships: kind(RegionKind::Township),
        communities: kind(RegionKind::Community),
        grids: kind(RegionKind::Grid),
        sites,
        units,
        users,
        grid_workers,
    })
}

/// Common list filters for sites and units.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Name contains (case-folded).
    pub text: Option<String>,
    /// Only within this region's subtree (itself checked against the scope).
    pub within: Option<i64>,
    /// `site_type` for sites, `category` for units.
    pub kind: Option<String>,
    pub include_inactive: bool,
    /// Keyset pagination: ids below this (lists are newest first).
    pub before_id: Option<i64>,
}

/// The subtree of `within` (itself checked against the scope), as another scope.
/// A list's region filter: the region's subtree, or a refusal naming `region` when the region
/// is not in scope (a filter value, not a record the path names: 422, not 404).
fn within_scope(conn: &mut DbConnection, scope: &Scope, within: i64) -> Result<Scope, DbError> {
    match get_region(conn, scope, within) {
        Ok(r) => Ok(Scope::of_paths(vec![r.path])),
        Err(DbError::NotFound) => Err(DbError::invalid("region", "err.region.unknown")),
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sites)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Site {
    pub id: i64,
    pub region_id: i64,
    pub name: String,
    pub site_type: String,
    pub address: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub opening_hours: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Site {
    pub fn site_type(&self) -> SiteType {
        SiteType::parse(&self.site_type).unwrap_or(SiteType::Other)
    }
}

/// A list row: the record and the name of its region.
#[derive(Debug, Clone, Serialize)]
pub struct Named<T> {
    #[serde(flatten)]
    pub item: T,
    pub region_name: String,
}

/// The scoped list, get and activate/deactivate of a record kept at a region (sites, units):
/// the same queries over different tables, written once.
macro_rules! region_record {
    ($table:ident, $ty:ty, $kind_col:ident, $entity:literal, $list:ident, $get:ident, $set_active:ident, $on:literal, $off:literal, $by_name:ident, $picked:ident, $choices:ident, $unknown:literal, $ambiguous:literal) => {
        /// The record a form picked from a list (its id as posted): active and in scope, else
        /// an error naming `field` (required, or not one of the choices the caller had).
        pub fn $picked(
            conn: &mut DbConnection,
            scope: &Scope,
            picked: &str,
            field: &str,
        ) -> Result<i64, DbError> {
            let picked = picked.trim();
            if picked.is_empty() {
                return Err(DbError::invalid(field, "err.required"));
            }
            let id: i64 = picked
                .parse()
                .map_err(|_| DbError::invalid(field, "err.choice"))?;
            let found: Option<i64> = $table::table
                .inner_join(regions::table)
                .filter(scope.filter())
                .filter($table::id.eq(id))
                .filter($table::active.eq(true))
                .select($table::id)
                .first(conn)
                .optional()?;
            found.ok_or_else(|| DbError::invalid(field, "err.choice"))
        }

        /// What a picker offers: every active record in scope as (region name, id, name),
        /// by region and then name, so a page can group them under their regions.
        pub fn $choices(
            conn: &mut DbConnection,
            scope: &Scope,
        ) -> Result<Vec<(String, i64, String)>, DbError> {
            Ok($table::table
                .inner_join(regions::table)
                .filter(scope.filter())
                .filter($table::active.eq(true))
                .order((regions::path.asc(), $table::name.asc()))
                .select((regions::name, $table::id, $table::name))
                .load(conn)?)
        }

        /// The active record with exactly this name in scope (for forms that name one); the
        /// error names `field` (required, unknown, or more than one of that name).
        pub fn $by_name(
            conn: &mut DbConnection,
            scope: &Scope,
            name: &str,
            field: &str,
        ) -> Result<i64, DbError> {
            let name = name.trim();
            if name.is_empty() {
                return Err(DbError::invalid(field, "err.required"));
            }
            let ids: Vec<i64> = $table::table
                .inner_join(regions::table)
                .filter(scope.filter())
                .filter($table::name.eq(name))
                .filter($table::active.eq(true))
                .select($table::id)
                .limit(2)
                .load(conn)?;
            match ids.as_slice() {
                [one] => Ok(*one),
                [] => Err(DbError::invalid(field, $unknown)),
                _ => Err(DbError::invalid(field, $ambiguous)),
            }
        }

        /// Newest first, in scope, filtered; keyset-paginated by id.
        pub fn $list(
            conn: &mut DbConnection,
            scope: &Scope,
            f: &ListFilter,
            limit: i64,
        ) -> Result<Vec<Named<$ty>>, DbError> {
            let mut q = $table::table
                .inner_join(regions::table)
                .filter(scope.filter())
                .select((<$ty>::as_select(), regions::name))
                .into_boxed();
            if let Some(w) = f.within {
                q = q.filter(within_scope(conn, scope, w)?.filter());
            }
            if let Some(t) = f.text.as_deref().filter(|t| !t.trim().is_empty()) {
                q = q.filter(
                    lower($table::name)
                        .like(contains_pattern(t.trim()))
                        .escape('\\'),
                );
            }
            if let Some(k) = &f.kind {
                q = q.filter($table::$kind_col.eq(k.clone()));
            }
            if !f.include_inactive {
                q = q.filter($table::active.eq(true));
            }
            if let Some(b) = f.before_id {
                q = q.filter($table::id.lt(b));
            }
            let rows: Vec<($ty, String)> = q.order($table::id.desc()).limit(limit).load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(item, region_name)| Named { item, region_name })
                .collect())
        }

        /// One record in scope; outside it, `NotFound`.
        pub fn $get(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<$ty, DbError> {
            Ok($table::table
                .inner_join(regions::table)
                .filter(scope.filter())
                .filter($table::id.eq(id))
                .select(<$ty>::as_select())
                .first(conn)?)
        }

        /// Deactivate or reactivate (nothing that history refers to is deleted); audited.
        pub fn $set_active(
            conn: &mut DbConnection,
            actor: &Actor,
            id: i64,
            version: i32,
            active: bool,
        ) -> Result<$ty, DbError> {
            let before = $get(conn, &actor.scope, id)?;
            versioned::expect(version, before.version)?;
            let n = diesel::update(
                $table::table
                    .filter($table::id.eq(id))
                    .filter($table::version.eq(version)),
            )
            .set((
                $table::active.eq(active),
                $table::updated_at.eq(now()),
                $table::version.eq(crate::versioned::next(version)?),
            ))
            .execute(conn)?;
            let action = if active { $on } else { $off };
            versioned::finish(
                conn,
                actor,
                n,
                &before,
                |c| $get(c, &actor.scope, id),
                |after| Event::new(action, $entity, id).region(after.region_id),
            )
        }
    };
}

region_record!(
    sites,
    Site,
    site_type,
    "site",
    list_sites,
    get_site,
    set_site_active,
    "site.activate",
    "site.deactivate",
    site_id_by_name,
    picked_site,
    site_choices,
    "err.site.unknown",
    "err.site.ambiguous"
);
region_record!(
    units,
    Unit,
    category,
    "unit",
    list_units,
    get_unit,
    set_unit_active,
    "unit.activate",
    "unit.deactivate",
    unit_id_by_name,
    picked_unit,
    unit_choices,
    "err.unit.unknown",
    "err.unit.ambiguous"
);

/// The region a new site or unit is placed in: one in the actor's scope, and active.
fn placing_in(conn: &mut DbConnection, actor: &Actor, region_id: i64) -> Result<(), DbError> {
    let region = get_region(conn, &actor.scope, region_id)
        .map_err(|_| DbError::invalid("region_id", "err.region.unknown"))?;
    if region.active {
        Ok(())
    } else {
        Err(DbError::invalid("region_id", "err.inactive"))
    }
}

/// A site or unit moves only into a region in the actor's scope (staying put needs no check:
/// it may sit in a region since deactivated).
fn moving_to(conn: &mut DbConnection, actor: &Actor, from: i64, to: i64) -> Result<(), DbError> {
    if to != from {
        get_region(conn, &actor.scope, to)
            .map_err(|_| DbError::invalid("region_id", "err.region.unknown"))?;
    }
    Ok(())
}

pub fn create_site(
    conn: &mut DbConnection,
    actor: &Actor,
    region_id: i64,
    input: &SiteInput,
) -> Result<Site, DbError> {
    placing_in(conn, actor, region_id)?;
    let id = new_id();
    let t = now();
    diesel::insert_into(sites::table)
        .values((
            sites::id.eq(id),
            sites::region_id.eq(region_id),
            sites::name.eq(&input.name),
            sites::site_type.eq(input.site_type.as_str()),
            sites::address.eq(&input.address),
            sites::contact_name.eq(&input.contact_name),
            sites::contact_phone.eq(&input.contact_phone),
            sites::opening_hours.eq(&input.opening_hours),
            sites::active.eq(true),
            sites::created_at.eq(t),
            sites::updated_at.eq(t),
            sites::version.eq(1),
        ))
        .execute(conn)?;
    let site = get_site(conn, &actor.scope, id)?;
    audit::record(
        conn,
        actor,
        Event::new("site.create", "site", id)
            .region(region_id)
            .after(&site),
    )?;
    Ok(site)
}

pub fn update_site(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    region_id: i64,
    input: &SiteInput,
) -> Result<Site, DbError> {
    let before = get_site(conn, &actor.scope, id)?;
    versioned::expect(version, before.version)?;
    moving_to(conn, actor, before.region_id, region_id)?;
    let n = diesel::update(
        sites::table
            .filter(sites::id.eq(id))
            .filter(sites::version.eq(version)),
    )
    .set((
        sites::region_id.eq(region_id),
        sites::name.eq(&input.name),
        sites::site_type.eq(input.site_type.as_str()),
        sites::address.eq(&input.address),
        sites::contact_name.eq(&input.contact_name),
        sites::contact_phone.eq(&input.contact_phone),
        sites::opening_hours.eq(&input.opening_hours),
        sites::updated_at.eq(now()),
        sites::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| get_site(c, &actor.scope, id),
        |_| Event::new("site.update", "site", id).region(region_id),
    )
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = units)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Unit {
    pub id: i64,
    pub region_id: i64,
    pub name: String,
    pub category: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Unit {
    pub fn category(&self) -> UnitCategory {
        UnitCategory::parse(&self.category).unwrap_or(UnitCategory::Other)
    }
}

pub fn create_unit(
    conn: &mut DbConnection,
    actor: &Actor,
    region_id: i64,
    input: &UnitInput,
) -> Result<Unit, DbError> {
    placing_in(conn, actor, region_id)?;
    let id = new_id();
    let t = now();
    diesel::insert_into(units::table)
        .values((
            units::id.eq(id),
            units::region_id.eq(region_id),
            units::name.eq(&input.name),
            units::category.eq(input.category.as_str()),
            units::contact_name.eq(&input.contact_name),
            units::contact_phone.eq(&input.contact_phone),
            units::active.eq(true),
            units::created_at.eq(t),
            units::updated_at.eq(t),
            units::version.eq(1),
        ))
        .execute(conn)?;
    let unit = get_unit(conn, &actor.scope, id)?;
    audit::record(
        conn,
        actor,
        Event::new("unit.create", "unit", id)
            .region(region_id)
            .after(&unit),
    )?;
    Ok(unit)
}

pub fn update_unit(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    region_id: i64,
    input: &UnitInput,
) -> Result<Unit, DbError> {
    let before = get_unit(conn, &actor.scope, id)?;
    versioned::expect(version, before.version)?;
    moving_to(conn, actor, before.region_id, region_id)?;
    let n = diesel::update(
        units::table
            .filter(units::id.eq(id))
            .filter(units::version.eq(version)),
    )
    .set((
        units::region_id.eq(region_id),
        units::name.eq(&input.name),
        units::category.eq(input.category.as_str()),
        units::contact_name.eq(&input.contact_name),
        units::contact_phone.eq(&input.contact_phone),
        units::updated_at.eq(now()),
        units::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| get_unit(c, &actor.scope, id),
        |_| Event::new("unit.update", "unit", id).region(region_id),
    )
}
