//! Taking requests in. [`create_many`] takes several in one transaction (the server groups
//! concurrent intake, see `crate::batch`): what routing, deadlines and answers need is read
//! once for the group, from memory while the configuration is unchanged (`crate::requests::cached`),
//! and the rows of every request go in together. [`create`] is one request
//! by the same path. A request that fails its checks (unknown region, inactive category, bad
//! answers) is refused on its own; the others of its group are taken in.

use std::sync::Arc;

use diesel::prelude::*;
use shiliu_domain::requests::{RequestInput, Status};

use super::questions;
use super::{
    Arrival, MediaLink, PointRow, Request, RequestEvent, bulk, event_row, own_text, search,
    settings, tracking_code,
};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::org::Region;
use crate::requests::cached::{self, IntakeConfig, Regions};
use crate::schema::{request_media, request_points};
use crate::scope::Actor;
use crate::{DbConnection, DbError, now};

/// Where a new request arose: a region by id (forms pick one), or by its code (the API,
/// Open311) with the input field to name in an error.
#[derive(Debug, Clone)]
pub enum RegionRef {
    Id(i64),
    Code { code: String, field: &'static str },
}

/// One request to take in.
#[derive(Debug, Clone)]
pub struct Intake {
    pub actor: Actor,
    pub input: RequestInput,
    pub category_id: i64,
    pub region: RegionRef,
    /// The desk it was taken at (walk-in).
    pub intake_site_id: Option<i64>,
}

/// A new request on any channel, in the region where it arose (a grid, usually). It is routed
/// by the rules and waits, received, to be dispatched.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    input: &RequestInput,
    category_id: i64,
    region_id: i64,
    intake_site_id: Option<i64>,
) -> Result<Request, DbError> {
    let one = Intake {
        actor: actor.clone(),
        input: input.clone(),
        category_id,
        region: RegionRef::Id(region_id),
        intake_site_id,
    };
    create_many(conn, std::slice::from_ref(&one))?
        .pop()
        .unwrap_or(Err(DbError::NotFound))
}

/// Take in several requests in the caller's transaction: for each, the request or why it was
/// refused (`DbError::Invalid`). Any other error fails them all.
pub fn create_many(
    conn: &mut DbConnection,
    orders: &[Intake],
) -> Result<Vec<Result<Request, DbError>>, DbError> {
    let known = Known::load(conn, orders)?;
    let mut made = Vec::with_capacity(orders.len());
    for o in orders {
        match known.prepare(o) {
            Err(e @ DbError::Invalid(_)) => made.push(Err(e)),
            other => made.push(Ok(other?)),
        }
    }
    let new: Vec<&New<'_>> = made.iter().filter_map(|m| m.as_ref().ok()).collect();
    write(conn, &new)?;
    Ok(made.into_iter().map(|m| m.map(|n| n.request)).collect())
}

/// What the group's requests refer to: the configuration, and the group's regions.
struct Known {
    config: Arc<IntakeConfig>,
    regions: Regions,
}

/// A request ready to be written, with what goes beside it.
struct New<'a> {
    order: &'a Intake,
    request: Request,
    answers: Vec<(i64, String)>,
    event: RequestEvent,
    audit: Event,
}

impl Known {
    fn load(conn: &mut DbConnection, orders: &[Intake]) -> Result<Self, DbError> {
        let (mut ids, mut codes) = (Vec::new(), Vec::new());
        for o in orders {
            match &o.region {
                RegionRef::Id(id) => ids.push(*id),
                RegionRef::Code { code, .. } => codes.push(code.trim().to_string()),
            }
        }
        let config = cached::intake(conn)?;
        let regions = config.regions(conn, &ids, &codes)?;
        Ok(Self { config, regions })
    }

    fn region(&self, o: &Intake) -> Result<&Region, DbError> {
        let (id, field) = match &o.region {
            RegionRef::Id(id) => (Some(*id), "region_id"),
            RegionRef::Code { code, field } => {
                if code.trim().is_empty() {
                    return Err(DbError::invalid(field, "err.required"));
                }
                (self.regions.by_code.get(code.trim()).copied(), *field)
            }
        };
        id.and_then(|id| self.regions.by_id.get(&id))
            // A resident files in any region (the public form); staff in their scope.
            .filter(|r| o.actor.is_resident() || o.actor.scope.covers(&r.path))
            .ok_or_else(|| DbError::invalid(field, "err.region.unknown"))
    }

    fn prepare<'a>(&self, o: &'a Intake) -> Result<New<'a>, DbError> {
        let region = self.region(o)?;
        let config = &self.config;
        let category = config
            .categories
            .get(&o.category_id)
            .ok_or_else(|| DbError::invalid("category_id", "err.choice"))?;
        let asked = config
            .asked
            .get(&category.id)
            .map_or(&[][..], Vec::as_slice);
        let (answers, answered) = questions::check(asked, &o.input.answers)?;
        let routing = config
            .router
            .route(region, category.id, &o.input.description);
        let received = now();
        let due = settings::due(
            &config.calendars,
            &config.levels,
            category,
            &region.path,
            received,
        );
        let input = &o.input;
        let request = Request::received(
            new_id(),
            tracking_code(&mut rand::thread_rng()),
            &Arrival {
                input,
                category_id: category.id,
                region_id: region.id,
                region_path: &region.path,
                site_id: routing.site_id,
                unit_id: routing.unit_id,
                routed_by: routing.reason.to_string(),
                intake_site_id: o.intake_site_id,
                created_by: o.actor.user_id,
                received_at: received,
                due_at: due,
            },
        );
        let event = event_row(
            &o.actor,
            request.id,
            None,
            Status::Received,
            "receive",
            None,
            &serde_json::json!({"channel": input.channel.as_str(), "routed_by": routing.reason}),
        );
        let audit = Event::new("request.create", "request", request.id)
            .region(region.id)
            .after(&request)
            .detail(serde_json::json!({
                "channel": input.channel.as_str(),
                "category": category.code,
                "answers": answered,
                "media_url": input.media_url,
            }));
        Ok(New {
            order: o,
            request,
            answers,
            event,
            audit,
        })
    }
}

/// Write the requests with their tallies, answers, search entries, events and audit rows.
fn write(conn: &mut DbConnection, new: &[&New<'_>]) -> Result<(), DbError> {
    if new.is_empty() {
        return Ok(());
    }
    let rows: Vec<Request> = new.iter().map(|n| n.request.clone()).collect();
    let events: Vec<RequestEvent> = new.iter().map(|n| n.event.clone()).collect();
    bulk::insert_rows(conn, &rows, &events)?;
    let changes: Vec<_> = rows.iter().map(|r| (None, Some(r))).collect();
    crate::requests::stats::count_changes(conn, &changes)?;
    let answers: Vec<(i64, i64, &str)> = new
        .iter()
        .flat_map(|n| {
            n.answers
                .iter()
                .map(|(q, v)| (n.request.id, *q, v.as_str()))
        })
        .collect();
    questions::save_answers(conn, &answers)?;
    let received: Vec<(&Request, bool)> = new
        .iter()
        .map(|n| (&n.request, n.order.input.sms_consent))
        .collect();
    crate::messages::on_received(conn, &received)?;
    let media: Vec<MediaLink> = new
        .iter()
        .filter_map(|n| {
            n.order.input.media_url.clone().map(|url| MediaLink {
                request_id: n.request.id,
                url,
            })
        })
        .collect();
    if !media.is_empty() {
        crate::on_engine!(conn, |c| diesel::insert_into(request_media::table)
            .values(&media)
            .execute(c))?;
    }
    let points: Vec<PointRow> = new
        .iter()
        .filter_map(|n| {
            n.order.input.point.map(|p| PointRow {
                request_id: n.request.id,
                lat: p.lat,
                long: p.long,
            })
        })
        .collect();
    if !points.is_empty() {
        crate::on_engine!(conn, |c| diesel::insert_into(request_points::table)
            .values(&points)
            .execute(c))?;
    }
    let texts: Vec<String> = rows
        .iter()
        .map(|r| search::index_terms(&own_text(r).join("\n")))
        .collect();
    let entries: Vec<(&Request, &str)> = rows
        .iter()
        .zip(&texts)
        .map(|(r, t)| (r, t.as_str()))
        .collect();
    search::index_many(conn, &entries)?;
    let audits: Vec<(&Actor, &Event)> = new.iter().map(|n| (&n.order.actor, &n.audit)).collect();
    audit::record_many(conn, &audits)?;
    Ok(())
}
