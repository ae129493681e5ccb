//! 就地办结: a grid worker takes a simple request in their own grids (我来办) and resolves it
//! there and then, with the reply and a photo as evidence, as Beihai's grid workers do. Only
//! in categories set to allow it (`request_categories.on_the_spot`); the request's handler is
//! then the grid worker (`request_handlers`), not a site, and it goes on to the
//! resident's rating like any other. [`admit`] is the one rule, asked by `super::step` for
//! every such step whoever calls it (the pages, the API), and by the pages to offer them.

use diesel::prelude::*;
use shiliu_domain::requests::{Action, RequestInput, Status};

use super::{Request, StepInput, routing_reason, step};
use crate::schema::{request_attachments, request_categories, request_handlers};
use crate::scope::Actor;
use crate::{DbConnection, DbError, now};

/// Whether `actor` may take `action` (a step on the spot) on `r`: a grid worker's account,
/// the request in one of their own grids, its category allowing it, and — once taken — taken
/// by them. The refusal names the field to look at.
pub fn admit(
    conn: &mut DbConnection,
    actor: &Actor,
    r: &Request,
    action: Action,
) -> Result<(), DbError> {
    debug_assert!(action.is_on_the_spot());
    // The grids are the grid worker's scope; anyone else's scope is a region's subtree, which
    // is not "their own grid" even when it holds the request.
    let grid_worker = actor
        .role()
        .is_some_and(shiliu_domain::roles::Role::scoped_to_grids)
        && actor.user_id.is_some();
    if !grid_worker {
        return Err(DbError::invalid(
            "action",
            "err.on_the_spot.grid_workers_only",
        ));
    }
    if !actor.scope.covers(&r.region_path) {
        return Err(DbError::invalid(
            "region_id",
            "err.on_the_spot.outside_grids",
        ));
    }
    if !allows(conn, r.category_id)? {
        return Err(DbError::invalid("category_id", "err.on_the_spot.category"));
    }
    // Taken (or reopened after a rating), it is its handler's alone.
    if matches!(r.status(), Status::Accepted | Status::InProgress)
        && handler_of(conn, r.id)? != actor.user_id
    {
        return Err(DbError::invalid("action", "err.on_the_spot.not_taken"));
    }
    Ok(())
}

/// The grid worker handling a request in person, if one is.
pub fn handler_of(conn: &mut DbConnection, request_id: i64) -> Result<Option<i64>, DbError> {
    Ok(request_handlers::table
        .filter(request_handlers::request_id.eq(request_id))
        .select(request_handlers::user_id)
        .first(conn)
        .optional()?)
}

/// The grid workers handling these requests in person, by request (most have none); read
/// through the requests as the caller was given them in scope.
pub fn handlers(
    conn: &mut DbConnection,
    rows: &[Request],
) -> Result<std::collections::BTreeMap<i64, i64>, DbError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut out = std::collections::BTreeMap::new();
    for chunk in ids.chunks(1000) {
        let found: Vec<(i64, i64)> = request_handlers::table
            .filter(request_handlers::request_id.eq_any(chunk))
            .select((request_handlers::request_id, request_handlers::user_id))
            .load(conn)?;
        out.extend(found);
    }
    Ok(out)
}

/// Whether a category lets grid workers resolve its requests on the spot.
pub fn allows(conn: &mut DbConnection, category_id: i64) -> Result<bool, DbError> {
    Ok(request_categories::table
        .filter(request_categories::id.eq(category_id))
        .select(request_categories::on_the_spot)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}

/// The steps on the spot `actor` may take on `r` now (for a page to offer).
pub fn offered(
    conn: &mut DbConnection,
    actor: &Actor,
    r: &Request,
) -> Result<Vec<Action>, DbError> {
    let mut out = Vec::new();
    for a in r.status().actions().filter(|a| a.is_on_the_spot()) {
        match admit(conn, actor, r, a) {
            Ok(()) => out.push(a),
            Err(DbError::Invalid(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The grid worker becomes the request's handler in person: no site or unit any more, and the
/// reason says who took it (by their name, as people know them). [`admit`] has made sure the
/// actor is an account.
pub(super) fn hand_to(
    conn: &mut DbConnection,
    r: &mut Request,
    actor: &Actor,
) -> Result<(), DbError> {
    let Some(user) = actor.user_id else {
        return Err(DbError::invalid(
            "action",
            "err.on_the_spot.grid_workers_only",
        ));
    };
    if handler_of(conn, r.id)? != Some(user) {
        diesel::delete(request_handlers::table.filter(request_handlers::request_id.eq(r.id)))
            .execute(conn)?;
        diesel::insert_into(request_handlers::table)
            .values((
                request_handlers::request_id.eq(r.id),
                request_handlers::user_id.eq(user),
                request_handlers::since.eq(now()),
            ))
            .execute(conn)?;
    }
    let name = crate::accounts::display_names(conn, &[user])?
        .remove(&user)
        .unwrap_or_else(|| actor.name.clone());
    r.site_id = None;
    r.unit_id = None;
    r.routed_by = routing_reason("on_the_spot", None, Some(&name)).to_string();
    Ok(())
}

/// The photos named by id that count as the evidence of a resolution on the spot: images of
/// this request that the same person attached. Any other id is refused on `photo_ids`.
pub(super) fn earlier_photos(
    conn: &mut DbConnection,
    actor: &Actor,
    r: &Request,
    ids: &[i64],
) -> Result<Vec<i64>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<(i64, String)> = request_attachments::table
        .filter(request_attachments::request_id.eq(r.id))
        .filter(request_attachments::id.eq_any(ids))
        .filter(request_attachments::uploaded_by.eq(actor.user_id))
        .select((request_attachments::id, request_attachments::content_type))
        .load(conn)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match found.iter().find(|(f, _)| f == id) {
            Some((_, kind)) if kind.starts_with("image/") => {
                if !out.contains(id) {
                    out.push(*id);
                }
            }
            _ => {
                return Err(DbError::invalid(
                    "photo_ids",
                    "err.on_the_spot.photo_unknown",
                ));
            }
        }
    }
    Ok(out)
}

/// Take a request in and resolve it on the spot in one transaction (the grid worker's intake
/// form): received, handled by them, resolved with the reply and the photos in `done`. The
/// category is asked first, so a refusal leaves nothing behind and names the category.
pub fn take_in_resolved(
    conn: &mut DbConnection,
    actor: &Actor,
    input: &RequestInput,
    category_id: i64,
    region_id: i64,
    done: &StepInput,
) -> Result<Request, DbError> {
    if !allows(conn, category_id)? {
        return Err(DbError::invalid("category_id", "err.on_the_spot.category"));
    }
    let r = super::create(conn, actor, input, category_id, region_id, None)?;
    step(conn, actor, r.id, r.version, Action::ResolveOnTheSpot, done)
}
