//! The JSON API under `/api/v1`, authenticated with `Authorization: Bearer <token>`.
//! Errors use the envelope `{"error":{"code","message","details","request_id"}}`.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Serialize;
use shiliu_db::org::{self as db, Named, Region, Site, Unit};
use shiliu_domain::roles::Permission;

use crate::error::AppResult;
use crate::pages::org::ListQuery;
use crate::web::{AppState, Principal};

#[derive(Serialize)]
pub struct Me {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    region_id: i64,
    permissions: Vec<&'static str>,
}

pub async fn me(p: Principal) -> AppResult<Json<Me>> {
    let permissions = p
        .role()
        .permissions()
        .iter()
        .filter(|x| p.can(**x))
        .map(|x| x.as_str())
        .collect();
    Ok(Json(Me {
        id: p.user.id,
        username: p.user.username.clone(),
        display_name: p.user.display_name.clone(),
        role: p.user.role.clone(),
        region_id: p.user.region_id,
        permissions,
    }))
}

#[derive(Serialize)]
pub struct Page<T> {
    items: Vec<T>,
    /// Pass as `before` for the next page; absent on the last page.
    next: Option<i64>,
}

fn page<T>(mut items: Vec<T>, id: impl Fn(&T) -> i64) -> Page<T> {
    let limit = crate::pages::org::PAGE as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(&id)
    } else {
        None
    };
    Page { items, next }
}

pub async fn region(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Region>> {
    let actor = p.require(Permission::ViewOrg)?;
    Ok(Json(
        state
            .db
            .read(move |c| db::get_region(c, &actor.scope, id))
            .await?,
    ))
}

pub async fn region_children(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Region>>> {
    let actor = p.require(Permission::ViewOrg)?;
    Ok(Json(
        state
            .db
            .read(move |c| db::children(c, &actor.scope, id, true))
            .await?,
    ))
}

pub async fn sites(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Page<Named<Site>>>> {
    let actor = p.require(Permission::ViewOrg)?;
    let f = q.filter();
    let rows = state
        .db
        .read(move |c| db::list_sites(c, &actor.scope, &f, crate::pages::org::PAGE + 1))
        .await?;
    Ok(Json(page(rows, |r| r.item.id)))
}

pub async fn site(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Site>> {
    let actor = p.require(Permission::ViewOrg)?;
    Ok(Json(
        state
            .db
            .read(move |c| db::get_site(c, &actor.scope, id))
            .await?,
    ))
}

pub async fn units(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Page<Named<Unit>>>> {
    let actor = p.require(Permission::ViewOrg)?;
    let f = q.filter();
    let rows = state
        .db
        .read(move |c| db::list_units(c, &actor.scope, &f, crate::pages::org::PAGE + 1))
        .await?;
    Ok(Json(page(rows, |r| r.item.id)))
}

pub async fn unit(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Unit>> {
    let actor = p.require(Permission::ViewOrg)?;
    Ok(Json(
        state
            .db
            .read(move |c| db::get_unit(c, &actor.scope, id))
            .await?,
    ))
}
