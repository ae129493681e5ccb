//! The organisation API: regions, service sites and units in the caller's scope.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::NaiveDateTime;
use serde::Serialize;
use shiliu_db::org::{self as db, Named, Region, Site, Unit};
use shiliu_db::scope::grants;
use utoipa::{OpenApi, ToSchema};

use crate::org::pages::ListQuery;
use crate::web::api::{ErrorBody, paginate};
use crate::web::error::AppResult;
use crate::web::page::PAGE;
use crate::web::{AppState, Principal};

#[derive(OpenApi)]
#[openapi(
    paths(region, region_children, sites, site, units, unit),
    components(schemas(RegionDto, SiteDto, UnitDto, SitePage, UnitPage))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
pub struct RegionDto {
    id: i64,
    parent_id: Option<i64>,
    /// Official division code, or the code given to a community or grid.
    code: String,
    name: String,
    /// province, city, county, township, community or grid.
    kind: String,
    depth: i32,
    active: bool,
}

impl From<Region> for RegionDto {
    fn from(r: Region) -> Self {
        Self {
            id: r.id,
            parent_id: r.parent_id,
            code: r.code,
            name: r.name,
            kind: r.kind,
            depth: r.depth,
            active: r.active,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SiteDto {
    id: i64,
    region_id: i64,
    region_name: Option<String>,
    name: String,
    /// `minzu_home`, `migrant_station`, `jieyou_desk`, `legal_aid`, `mediation`, `deputy_liaison`,
    /// `education_base` or `other`.
    site_type: String,
    address: Option<String>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    opening_hours: Option<String>,
    active: bool,
    #[serde(serialize_with = "crate::web::api::moment")]
    updated_at: NaiveDateTime,
    /// For optimistic concurrency: send it back when changing the record.
    version: i32,
}

impl SiteDto {
    fn new(s: Site, region_name: Option<String>) -> Self {
        Self {
            id: s.id,
            region_id: s.region_id,
            region_name,
            name: s.name,
            site_type: s.site_type,
            address: s.address,
            contact_name: s.contact_name,
            contact_phone: s.contact_phone,
            opening_hours: s.opening_hours,
            active: s.active,
            updated_at: s.updated_at,
            version: s.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UnitDto {
    id: i64,
    region_id: i64,
    region_name: Option<String>,
    name: String,
    category: String,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    active: bool,
    #[serde(serialize_with = "crate::web::api::moment")]
    updated_at: NaiveDateTime,
    version: i32,
}

impl UnitDto {
    fn new(u: Unit, region_name: Option<String>) -> Self {
        Self {
            id: u.id,
            region_id: u.region_id,
            region_name,
            name: u.name,
            category: u.category,
            contact_name: u.contact_name,
            contact_phone: u.contact_phone,
            active: u.active,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

/// A page of sites, newest first. Pass `next` as `before` for the following page.
#[derive(Serialize, ToSchema)]
pub struct SitePage {
    items: Vec<SiteDto>,
    next: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct UnitPage {
    items: Vec<UnitDto>,
    next: Option<i64>,
}

/// A region in the caller's scope.
#[utoipa::path(get, path = "/api/v1/regions/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = RegionDto), (status = 404, description = "no such region in scope", body = ErrorBody)))]
pub async fn region(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<RegionDto>> {
    let actor = p.require::<grants::ViewOrg>()?;
    Ok(Json(
        state
            .db
            .read(move |c| db::get_region(c, actor.scope(), id))
            .await?
            .into(),
    ))
}

/// The regions directly below a region, in the caller's scope.
#[utoipa::path(get, path = "/api/v1/regions/{id}/children", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RegionDto>), (status = 404, body = ErrorBody)))]
pub async fn region_children(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<RegionDto>>> {
    let actor = p.require::<grants::ViewOrg>()?;
    let rows = state
        .db
        .read(move |c| {
            db::get_region(c, actor.scope(), id)?;
            db::children(c, actor.scope(), id, true)
        })
        .await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Service sites in the caller's scope, filtered.
#[utoipa::path(get, path = "/api/v1/sites",
    params(("q" = Option<String>, Query, description = "name contains"), ("kind" = Option<String>, Query, description = "site type code"),
           ("region" = Option<i64>, Query, description = "within this region's subtree"), ("inactive" = Option<String>, Query, description = "include deactivated"),
           ("before" = Option<i64>, Query, description = "page cursor")),
    responses((status = 200, body = SitePage), (status = 401, body = ErrorBody)))]
pub async fn sites(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<SitePage>> {
    let actor = p.require::<grants::ViewOrg>()?;
    let f = q.filter(crate::org::pages::OrgKind::Site.knows())?;
    let rows = state
        .db
        .read(move |c| db::list_sites(c, actor.scope(), &f, PAGE + 1))
        .await?;
    let (rows, next) = paginate(rows, |r: &Named<Site>| r.item.id);
    Ok(Json(SitePage {
        items: rows
            .into_iter()
            .map(|n| SiteDto::new(n.item, Some(n.region_name)))
            .collect(),
        next,
    }))
}

/// One service site in the caller's scope.
#[utoipa::path(get, path = "/api/v1/sites/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = SiteDto), (status = 404, body = ErrorBody)))]
pub async fn site(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<SiteDto>> {
    let actor = p.require::<grants::ViewOrg>()?;
    Ok(Json(SiteDto::new(
        state
            .db
            .read(move |c| db::get_site(c, actor.scope(), id))
            .await?,
        None,
    )))
}

/// Units in the caller's scope, filtered.
#[utoipa::path(get, path = "/api/v1/units",
    params(("q" = Option<String>, Query, description = "name contains"), ("kind" = Option<String>, Query, description = "category code"),
           ("region" = Option<i64>, Query), ("inactive" = Option<String>, Query), ("before" = Option<i64>, Query)),
    responses((status = 200, body = UnitPage), (status = 401, body = ErrorBody)))]
pub async fn units(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<UnitPage>> {
    let actor = p.require::<grants::ViewOrg>()?;
    let f = q.filter(crate::org::pages::OrgKind::Unit.knows())?;
    let rows = state
        .db
        .read(move |c| db::list_units(c, actor.scope(), &f, PAGE + 1))
        .await?;
    let (rows, next) = paginate(rows, |r: &Named<Unit>| r.item.id);
    Ok(Json(UnitPage {
        items: rows
            .into_iter()
            .map(|n| UnitDto::new(n.item, Some(n.region_name)))
            .collect(),
        next,
    }))
}

/// One unit in the caller's scope.
#[utoipa::path(get, path = "/api/v1/units/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = UnitDto), (status = 404, body = ErrorBody)))]
pub async fn unit(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<UnitDto>> {
    let actor = p.require::<grants::ViewOrg>()?;
    Ok(Json(UnitDto::new(
        state
            .db
            .read(move |c| db::get_unit(c, actor.scope(), id))
            .await?,
        None,
    )))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!())
        .route("/api/v1/regions/{id}", get(region))
        .route("/api/v1/regions/{id}/children", get(region_children))
        .route("/api/v1/sites", get(sites))
        .route("/api/v1/sites/{id}", get(site))
        .route("/api/v1/units", get(units))
        .route("/api/v1/units/{id}", get(unit))
}
