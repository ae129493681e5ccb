//! Requests (诉求): intake, default routing, the handling state machine applied with its event
//! history, deadlines on the working calendar. Every change is one transaction with its event
//! row and its audit row; concurrent edits are refused by `version`.

pub mod bulk;
pub(crate) mod cached;
pub mod cohandling;
pub mod files;
mod intake;
pub mod keys;
pub mod listing;
pub mod on_the_spot;
pub mod public;
pub mod questions;
pub mod queues;
pub mod routing;
pub mod search;
pub mod settings;
pub mod stats;

use std::collections::{BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;
use serde::Serialize;
use shiliu_domain::calendar::{WorkCalendar, local, utc};
use shiliu_domain::requests::{Action, ActionInput, Status, next};

pub use intake::{Intake, RegionRef, create, create_many};

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::org::get_region;
use crate::schema::{
    calendar_days, request_categories, request_events, request_media, request_points, requests,
};
use crate::scope::{Actor, Scope};
use crate::versioned;
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = request_categories)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Category {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub service_minutes: Option<i32>,
    pub sort_order: i32,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// 网格员可就地办结: grid workers may take and resolve its requests in their own grids.
    pub on_the_spot: bool,
}

pub fn categories(
    conn: &mut DbConnection,
    include_inactive: bool,
) -> Result<Vec<Category>, DbError> {
    let mut q = request_categories::table
        .select(Category::as_select())
        .into_boxed();
    if !include_inactive {
        q = q.filter(request_categories::active.eq(true));
    }
    Ok(q.order((
        request_categories::sort_order.asc(),
        request_categories::id.asc(),
    ))
    .load(conn)?)
}

/// A new category (at the top level, or below `parent_id`); the platform's settings only
/// ([`settings::owner`]). Audited.
pub fn create_category(
    conn: &mut DbConnection,
    actor: &Actor,
    parent_id: Option<i64>,
    c: &shiliu_domain::requests::CategoryInput,
) -> Result<Category, DbError> {
    settings::platform_only(conn, actor)?;
    if request_categories::table
        .filter(request_categories::code.eq(&c.code))
        .count()
        .get_result::<i64>(conn)?
        > 0
    {
        return Err(DbError::invalid("code", "err.duplicate"));
    }
    let sort: Option<i32> = request_categories::table
        .select(diesel::dsl::max(request_categories::sort_order))
        .first(conn)?;
    let id = new_id();
    let t = now();
    diesel::insert_into(request_categories::table)
        .values((
            request_categories::id.eq(id),
            request_categories::parent_id.eq(parent_id),
            request_categories::code.eq(&c.code),
            request_categories::name.eq(&c.name),
            request_categories::name_en.eq(&c.name_en),
            request_categories::service_minutes.eq(c.service_minutes),
            request_categories::sort_order.eq(sort.unwrap_or(0) + 1),
            request_categories::active.eq(true),
            request_categories::on_the_spot.eq(c.on_the_spot),
            request_categories::created_at.eq(t),
            request_categories::updated_at.eq(t),
            request_categories::version.eq(1),
        ))
        .execute(conn)?;
    let after = category(conn, id)?;
    audit::record(
        conn,
        actor,
        Event::new("category.create", "request_category", id).after(&after),
    )?;
    Ok(after)
}

pub fn category(conn: &mut DbConnection, id: i64) -> Result<Category, DbError> {
    Ok(request_categories::table
        .filter(request_categories::id.eq(id))
        .select(Category::as_select())
        .first(conn)?)
}

/// Change a category's names, service level, whether it is offered and whether grid workers
/// may resolve its requests on the spot: the platform's settings
/// only (a region sets its own service level with [`settings::set_level`]). The code stays
/// (Open311 clients and reports refer to it). New deadlines use the new service level;
/// requests already taken in keep theirs. Audited.
pub fn update_category(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    c: &shiliu_domain::requests::CategoryInput,
    active: bool,
) -> Result<Category, DbError> {
    settings::platform_only(conn, actor)?;
    let before = category(conn, id)?;
    versioned::expect(version, before.version)?;
    let n = diesel::update(
        request_categories::table
            .filter(request_categories::id.eq(id))
            .filter(request_categories::version.eq(version)),
    )
    .set((
        request_categories::name.eq(&c.name),
        request_categories::name_en.eq(&c.name_en),
        request_categories::service_minutes.eq(c.service_minutes),
        request_categories::active.eq(active),
        request_categories::on_the_spot.eq(c.on_the_spot),
        request_categories::updated_at.eq(now()),
        request_categories::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| category(c, id),
        |_| Event::new("category.update", "request_category", id),
    )
}

/// The first day of `year` and of the year after.
fn year_bounds(year: i32) -> Result<(NaiveDate, NaiveDate), DbError> {
    let day =
        |y| NaiveDate::from_ymd_opt(y, 1, 1).ok_or_else(|| DbError::invalid("year", "err.number"));
    Ok((day(year)?, day(year + 1)?))
}

/// The platform's calendar exceptions in one year: (day, kind, note).
pub fn calendar_days(
    conn: &mut DbConnection,
    year: i32,
) -> Result<Vec<(NaiveDate, String, String)>, DbError> {
    let (from, to) = year_bounds(year)?;
    Ok(calendar_days::table
        .filter(calendar_days::day.ge(from))
        .filter(calendar_days::day.lt(to))
        .order(calendar_days::day.asc())
        .select((calendar_days::day, calendar_days::kind, calendar_days::note))
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = requests)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Request {
    pub id: i64,
    pub code: String,
    pub channel: String,
    pub category_id: i64,
    pub region_id: i64,
    pub region_path: String,
    pub status: String,
    pub description: String,
    pub place: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub consent: bool,
    pub site_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub routed_by: String,
    pub transfer_site_id: Option<i64>,
    pub transfer_unit_id: Option<i64>,
    pub intake_site_id: Option<i64>,
    pub created_by: Option<i64>,
    pub received_at: NaiveDateTime,
    pub due_at: Option<NaiveDateTime>,
    pub paused_at: Option<NaiveDateTime>,
    pub reminded_at: Option<NaiveDateTime>,
    pub escalated_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub outcome: Option<String>,
    pub reply: Option<String>,
    pub rating: Option<String>,
    pub rated_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// Where a new request goes and who took it in: with its input, all a request row is made of
/// when it arrives.
pub struct Arrival<'a> {
    pub input: &'a shiliu_domain::requests::RequestInput,
    pub category_id: i64,
    pub region_id: i64,
    pub region_path: &'a str,
    pub site_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub routed_by: String,
    pub intake_site_id: Option<i64>,
    pub created_by: Option<i64>,
    pub received_at: NaiveDateTime,
    pub due_at: Option<NaiveDateTime>,
}

impl Request {
    /// A request as it arrives — received, nothing done yet, version 1: the one constructor of
    /// a new row, for intake and for the history the demo and the benchmarks load.
    pub fn received(id: i64, code: String, a: &Arrival<'_>) -> Self {
        let input = a.input;
        Self {
            id,
            code,
            channel: input.channel.as_str().into(),
            category_id: a.category_id,
            region_id: a.region_id,
            region_path: a.region_path.to_string(),
            status: Status::Received.as_str().into(),
            description: input.description.clone(),
            place: input.place.clone(),
            contact_name: input.contact_name.clone(),
            contact_phone: input.contact_phone.as_ref().map(|m| m.as_str().to_string()),
            consent: input.consent,
            site_id: a.site_id,
            unit_id: a.unit_id,
            routed_by: a.routed_by.clone(),
            transfer_site_id: None,
            transfer_unit_id: None,
            intake_site_id: a.intake_site_id,
            created_by: a.created_by,
            received_at: a.received_at,
            due_at: a.due_at,
            paused_at: None,
            reminded_at: None,
            escalated_at: None,
            resolved_at: None,
            outcome: None,
            reply: None,
            rating: None,
            rated_at: None,
            closed_at: None,
            updated_at: a.received_at,
            version: 1,
        }
    }

    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Received)
    }

    /// The last step a resident or a partner sees (resolved, rated, closed), else the last
    /// change: Open311's `updated_datetime`.
    pub fn changed_at(&self) -> NaiveDateTime {
        [self.closed_at, self.rated_at, self.resolved_at]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(self.updated_at)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = request_events)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct RequestEvent {
    pub id: i64,
    pub request_id: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
    pub detail: String,
}

impl RequestEvent {
    /// The site a step sent the request to (dispatch, transfer), from its detail.
    pub fn detail_site(&self) -> Option<i64> {
        serde_json::from_str::<serde_json::Value>(&self.detail)
            .ok()?
            .get("site_id")?
            .as_i64()
    }
}

/// The platform's working calendar: the default working day with its holidays and make-up
/// days. A request's own calendar lays its regions' days over it ([`settings::Calendars`]).
pub fn calendar(conn: &mut DbConnection) -> Result<WorkCalendar, DbError> {
    let days: Vec<(NaiveDate, String)> = calendar_days::table
        .select((calendar_days::day, calendar_days::kind))
        .load(conn)?;
    let pick = |k: &str| {
        days.iter()
            .filter(|(_, kind)| kind == k)
            .map(|(d, _)| *d)
            .collect::<BTreeSet<_>>()
    };
    let base = WorkCalendar::default();
    let periods = base.periods().to_vec();
    WorkCalendar::new(pick("holiday"), pick("workday"), periods).map_err(DbError::from)
}

/// Who is responsible, and why. The reason is kept on the request as a small JSON object
/// (`{"how": …, "site": …, "by": …}`) that pages put into words in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    pub site_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub reason: serde_json::Value,
}

/// How a request came to its handler: `community` (the grid's community site), `nearest` (the
/// nearest site up the region chain), `none` (no site: dispatch by hand), `dispatched`,
/// `transferred`.
pub fn routing_reason(how: &str, site: Option<&str>, by: Option<&str>) -> serde_json::Value {
    serde_json::json!({"how": how, "site": site, "by": by})
}

/// The deadline of a request received at `received` (UTC) with `minutes` of working time: the
/// calendar counts in local time, the result is stored in UTC.
pub fn deadline(cal: &WorkCalendar, received: NaiveDateTime, minutes: i64) -> NaiveDateTime {
    utc(cal.add_working_minutes(local(received), minutes))
}

/// An unambiguous tracking code for residents (no 0/O, 1/I/L): 10 characters, about 48 bits.
/// The random source is the caller's, so a loader of history can be reproducible.
pub fn tracking_code(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    (0..10)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn record_event(
    conn: &mut DbConnection,
    actor: &Actor,
    request_id: i64,
    from: Option<Status>,
    to: Status,
    action: &str,
    note: Option<&str>,
    detail: serde_json::Value,
) -> Result<(), DbError> {
    diesel::insert_into(request_events::table)
        .values(event_row(
            actor, request_id, from, to, action, note, &detail,
        ))
        .execute(conn)?;
    Ok(())
}

/// A row of a request's history, made now.
pub(crate) fn event_row(
    actor: &Actor,
    request_id: i64,
    from: Option<Status>,
    to: Status,
    action: &str,
    note: Option<&str>,
    detail: &serde_json::Value,
) -> RequestEvent {
    RequestEvent {
        id: new_id(),
        request_id,
        at: now(),
        actor_id: actor.user_id,
        actor: actor.name.clone(),
        action: action.to_string(),
        from_status: from.map(|s| s.as_str().to_string()),
        to_status: to.as_str().to_string(),
        note: note.map(ToString::to_string),
        detail: detail.to_string(),
    }
}

/// A note in the request's history that does not move it (casework opened or closed, a
/// co-handling unit asked or answered, files attached); the request is found by it too.
pub(crate) fn note(
    conn: &mut DbConnection,
    actor: &Actor,
    r: &Request,
    action: &str,
    note: &str,
    detail: serde_json::Value,
) -> Result<(), DbError> {
    record_event(
        conn,
        actor,
        r.id,
        Some(r.status()),
        r.status(),
        action,
        Some(note),
        detail,
    )?;
    let text = searchable_text(conn, r)?;
    search::index(conn, r, &text, false)
}

/// One request in scope (by where it arose).
pub fn get(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<Request, DbError> {
    let r: Request = requests::table
        .filter(requests::id.eq(id))
        .select(Request::as_select())
        .first(conn)?;
    scope.admit(&r.region_path.clone(), r)
}

/// A link to media a request came with (Open311's `media_url`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = request_media)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct MediaLink {
    pub request_id: i64,
    pub url: String,
}

/// The media links of these requests, by request (most have none); read through the requests
/// as the caller was given them in scope.
pub fn media_links(
    conn: &mut DbConnection,
    rows: &[Request],
) -> Result<std::collections::BTreeMap<i64, String>, DbError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut out = std::collections::BTreeMap::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<MediaLink> = request_media::table
            .filter(request_media::request_id.eq_any(chunk))
            .select(MediaLink::as_select())
            .load(conn)?;
        out.extend(rows.into_iter().map(|m| (m.request_id, m.url)));
    }
    Ok(out)
}

/// Where a request is, as its client gave it (Open311's `lat` and `long`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = request_points)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct PointRow {
    pub request_id: i64,
    pub lat: f64,
    pub long: f64,
}

/// The points of these requests, by request (most have none); read, like their media links,
/// through the requests as the caller was given them in scope.
pub fn points(
    conn: &mut DbConnection,
    rows: &[Request],
) -> Result<std::collections::BTreeMap<i64, shiliu_domain::requests::Point>, DbError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut out = std::collections::BTreeMap::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<PointRow> = request_points::table
            .filter(request_points::request_id.eq_any(chunk))
            .select(PointRow::as_select())
            .load(conn)?;
        out.extend(rows.into_iter().map(|p| {
            (
                p.request_id,
                shiliu_domain::requests::Point {
                    lat: p.lat,
                    long: p.long,
                },
            )
        }));
    }
    Ok(out)
}

/// A request by its tracking code, for the resident's public page: no scope, the code is the key.
pub fn by_code(conn: &mut DbConnection, code: &str) -> Result<Request, DbError> {
    Ok(requests::table
        .filter(requests::code.eq(code.trim().to_uppercase()))
        .select(Request::as_select())
        .first(conn)?)
}

/// A request by its tracking code, if it lies in the scope (else `NotFound`).
pub fn by_code_in(conn: &mut DbConnection, scope: &Scope, code: &str) -> Result<Request, DbError> {
    let r = by_code(conn, code)?;
    scope.admit(&r.region_path.clone(), r)
}

/// How many requests a phone number has made since `since` (the public page's abuse limit).
pub fn count_by_phone_since(
    conn: &mut DbConnection,
    phone: &str,
    since: NaiveDateTime,
) -> Result<i64, DbError> {
    Ok(requests::table
        .filter(requests::contact_phone.eq(phone))
        .filter(requests::received_at.ge(since))
        .count()
        .get_result(conn)?)
}

/// A request's history, read through the request as the caller was given it in scope.
pub fn events(conn: &mut DbConnection, r: &Request) -> Result<Vec<RequestEvent>, DbError> {
    Ok(request_events::table
        .filter(request_events::request_id.eq(r.id))
        .order(request_events::id.asc())
        .select(RequestEvent::as_select())
        .load(conn)?)
}

/// How many requests are in scope.
pub fn count(conn: &mut DbConnection, scope: &Scope) -> Result<i64, DbError> {
    Ok(requests::table
        .filter(scope.path_filter(requests::region_path))
        .count()
        .get_result(conn)?)
}

/// Filters for request lists.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<Status>,
    /// Any of these statuses (none: any).
    pub any_status: Vec<Status>,
    /// Still being handled (`Some(true)`) or done (`Some(false)`).
    pub open: Option<bool>,
    pub site_id: Option<i64>,
    /// Any of these categories (none: all).
    pub category_ids: Vec<i64>,
    /// Received at or after / before.
    pub received_from: Option<NaiveDateTime>,
    pub received_to: Option<NaiveDateTime>,
    pub channel: Option<shiliu_domain::requests::Channel>,
    /// Within this region's subtree (its path; the caller's scope still applies).
    pub region_path: Option<String>,
    /// Still running and due before this moment, not yet overdue at `now` (due soon).
    pub due_before: Option<(NaiveDateTime, NaiveDateTime)>,
    /// Full-text: every word of this query (segmented) in the request's text.
    pub text: Option<String>,
    pub overdue_at: Option<NaiveDateTime>,
    /// Asked of this site or unit (either may be absent) to co-handle, not yet answered.
    pub asked_of: Option<(Option<i64>, Option<i64>)>,
    /// Handled by this site or unit (either may be absent).
    pub handled_by: Option<(Option<i64>, Option<i64>)>,
    /// Escalated (督办) by the deadline sweep.
    pub escalated: bool,
    /// In a category whose requests grid workers may resolve on the spot (就地办结).
    pub on_the_spot: bool,
    pub before_id: Option<i64>,
}

/// Newest first, in scope; keyset-paginated by id. With words to find, the search index
/// leads (see `search::list_matching`).
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RequestFilter,
    limit: i64,
) -> Result<Vec<Request>, DbError> {
    if let Some(text) = f.text.as_deref().filter(|t| !t.trim().is_empty()) {
        return search::list_matching(conn, scope, f, &search::query_terms(text), limit);
    }
    Ok(filtered(scope, f)
        .order(requests::id.desc())
        .limit(limit)
        .load(conn)?)
}

/// The list query with every filter but the words.
pub(crate) fn filtered(
    scope: &Scope,
    f: &RequestFilter,
) -> requests::BoxedQuery<'static, crate::MultiBackend, requests::SqlType> {
    filtered_as(scope, f, Plan::Seek)
}

/// How a list query finds its rows (`listing` chooses, by how many match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Few match: every filter is an index the engine may read them by, then sort them.
    Seek,
    /// Many match: read along the order's index and test the place, category, site, channel
    /// and status on each row read (each written as an expression, which no engine looks
    /// up in an index), so a page stops after about (all ÷ matching) × its rows. Offered the
    /// indexes, the planners (`SQLite`'s above all, which cannot tell a range or a value that
    /// holds half the table from one that holds ten rows) read every match and sort it to
    /// show fifty. Deadlines, dates of receipt and co-handling stay indexed: they are the
    /// order's own index, or narrow.
    Walk,
    /// A count over a wide place (a city, a county): by the other filters' indexes, with the
    /// place tested on each row. Offered the place's index, `SQLite` read a whole city's rows to
    /// count the 28,546 overdue among them (4 s at a million) instead of reading the overdue
    /// by their deadlines.
    Count,
}

/// [`filtered`] with the filters written for `plan`.
pub(crate) fn filtered_as(
    scope: &Scope,
    f: &RequestFilter,
    plan: Plan,
) -> requests::BoxedQuery<'static, crate::MultiBackend, requests::SqlType> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Nullable};
    let walk = plan == Plan::Walk;
    let place_per_row = plan != Plan::Seek;
    // Statuses, compared as a value (never read through the index) when walking.
    let status_in = |wanted: Vec<&'static str>| -> crate::scope::Predicate<requests::table> {
        if walk {
            Box::new(requests::status.concat("").eq_any(wanted))
        } else {
            Box::new(requests::status.eq_any(wanted))
        }
    };
    let mut q = requests::table
        .filter(if place_per_row {
            scope.path_filter_per_row(requests::region_path)
        } else {
            scope.path_filter(requests::region_path)
        })
        .into_boxed();
    if let Some(s) = f.status {
        q = q.filter(status_in(vec![s.as_str()]));
    }
    if !f.any_status.is_empty() {
        q = q.filter(status_in(f.any_status.iter().map(|s| s.as_str()).collect()));
    }
    if let Some(s) = f.site_id {
        q = q.filter(if walk {
            Box::new((requests::site_id + sql::<Nullable<BigInt>>("0")).eq(s))
                as Box<dyn BoxableExpression<_, _, SqlType = _>>
        } else {
            Box::new(requests::site_id.eq(s))
        });
    }
    if let Some((site, unit)) = f.handled_by {
        q = q.filter(requests::site_id.eq(site).or(requests::unit_id.eq(unit)));
    }
    if f.escalated {
        q = q.filter(requests::escalated_at.is_not_null());
    }
    if f.on_the_spot {
        let allowed = request_categories::table
            .filter(request_categories::on_the_spot.eq(true))
            .select(request_categories::id);
        q = q.filter(requests::category_id.eq_any(allowed));
    }
    if !f.category_ids.is_empty() {
        q = q.filter(if walk {
            Box::new((requests::category_id + sql::<BigInt>("0")).eq_any(f.category_ids.clone()))
                as Box<dyn BoxableExpression<_, _, SqlType = _>>
        } else {
            Box::new(requests::category_id.eq_any(f.category_ids.clone()))
        });
    }
    if let Some(open) = f.open {
        let wanted: Vec<&str> = Status::ALL
            .iter()
            .filter(|s| s.is_open() == open)
            .map(|s| s.as_str())
            .collect();
        q = q.filter(status_in(wanted));
    }
    if let Some(t) = f.received_from {
        q = q.filter(requests::received_at.ge(t));
    }
    if let Some(t) = f.received_to {
        q = q.filter(requests::received_at.lt(t));
    }
    if let Some(ch) = f.channel {
        q = q.filter(if walk {
            Box::new(requests::channel.concat("").eq(ch.as_str()))
                as Box<dyn BoxableExpression<_, _, SqlType = _>>
        } else {
            Box::new(requests::channel.eq(ch.as_str()))
        });
    }
    if let Some(p) = &f.region_path {
        let region = Scope::of_paths(vec![p.clone()]);
        q = q.filter(if place_per_row {
            region.path_filter_per_row(requests::region_path)
        } else {
            region.path_filter(requests::region_path)
        });
    }
    if let Some((now, before)) = f.due_before {
        q = q
            .filter(requests::due_at.ge(now))
            .filter(requests::due_at.lt(before))
            .filter(requests::status.eq_any(running_statuses()));
    }
    if let Some(t) = f.overdue_at {
        q = q
            .filter(requests::due_at.lt(t))
            .filter(requests::status.eq_any(running_statuses()));
    }
    if let Some((site, unit)) = f.asked_of {
        use crate::schema::request_cohandlers as co;
        let asked = co::table
            .filter(co::status.eq(cohandling::ASKED))
            .filter(co::site_id.eq(site).or(co::unit_id.eq(unit)))
            .select(co::request_id);
        q = q.filter(requests::id.eq_any(asked));
    }
    if let Some(b) = f.before_id {
        q = q.filter(requests::id.lt(b));
    }
    q
}

/// What a step changes besides the status.
#[derive(Debug, Clone, Default)]
pub struct StepInput {
    pub action_input: ActionInput,
    /// For `Dispatch` and `Transfer`: the site or unit to send it to.
    pub site_id: Option<i64>,
    pub unit_id: Option<i64>,
    /// A note kept in the step's event: the reason to return or decline, the resident's comment
    /// with a rating, a handler's note.
    pub note: Option<String>,
    /// For `ResolveOnTheSpot`: the photos taken there, attached in the step's transaction…
    pub photos: Vec<shiliu_domain::files::FileInput>,
    /// …or photos the same person attached to the request before (an API client uploads them
    /// first), by id.
    pub photo_ids: Vec<i64>,
    /// Where the step was taken (`lat,long`, from "use my location"), kept in its event.
    pub position: Option<String>,
}

/// A resident's rating of their resolved request, named by its tracking code. A code that
/// does not exist and a request that cannot be rated now answer alike (`err.public.not_ratable`
/// on `code`), so the answer tells nothing of which codes exist.
pub fn rate_by_code(
    conn: &mut DbConnection,
    actor: &Actor,
    code: &str,
    input: &StepInput,
) -> Result<Request, DbError> {
    let r = match by_code(conn, code) {
        Ok(r) if r.status() == Status::Resolved => r,
        Ok(_) | Err(DbError::NotFound) => {
            return Err(DbError::invalid("code", "err.public.not_ratable"));
        }
        Err(e) => return Err(e),
    };
    // The resident has no scope; the code they hold is their reach, to this one request.
    let reach = if actor.is_resident() {
        actor.reaching_everywhere()
    } else {
        actor.clone()
    };
    step(conn, &reach, r.id, r.version, Action::Rate, input)
}

/// Apply one step of the state machine, as `actor`, to the version they saw.
pub fn step(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    version: i32,
    action: Action,
    input: &StepInput,
) -> Result<Request, DbError> {
    let before = get(conn, &actor.scope, id)?;
    versioned::expect(version, before.version)?;
    let from = before.status();
    let mut ai = input.action_input.clone();
    ai.current_rating = before
        .rating
        .as_deref()
        .and_then(shiliu_domain::requests::Rating::parse);
    // A step on the spot is the grid worker's, in their grids and an allowing category: checked
    // before anything else is said about it.
    if action.is_on_the_spot() {
        on_the_spot::admit(conn, actor, &before, action)?;
    }
    let evidence = if action == Action::ResolveOnTheSpot {
        on_the_spot::earlier_photos(conn, actor, &before, &input.photo_ids)?
    } else {
        Vec::new()
    };
    ai.photos = evidence.len() + input.photos.iter().filter(|f| f.kind.is_image()).count();
    let to = next(from, action, &ai)?;
    let t = now();
    let mut r = before.clone();
    match action {
        Action::Dispatch => {
            if input.site_id.is_some() || input.unit_id.is_some() {
                r.site_id = input.site_id;
                r.unit_id = input.unit_id;
                r.routed_by = routing_reason("dispatched", None, Some(&actor.name)).to_string();
            } else if r.site_id.is_none() && r.unit_id.is_none() {
                return Err(DbError::invalid("site_id", "err.required"));
            }
        }
        Action::Transfer => {
            if input.site_id.is_none() && input.unit_id.is_none() {
                return Err(DbError::invalid("site_id", "err.required"));
            }
            r.transfer_site_id = input.site_id;
            r.transfer_unit_id = input.unit_id;
        }
        Action::AcceptTransfer => {
            r.site_id = r.transfer_site_id.take();
            r.unit_id = r.transfer_unit_id.take();
            r.routed_by = routing_reason("transferred", None, Some(&actor.name)).to_string();
        }
        Action::DeclineTransfer => {
            r.transfer_site_id = None;
            r.transfer_unit_id = None;
        }
        Action::WaitForResident => r.paused_at = Some(t),
        Action::Resume => {
            // The working time that was left when the pause began is left again now.
            if let (Some(paused), Some(due)) = (r.paused_at.take(), r.due_at) {
                let calendars = settings::Calendars::load(conn)?;
                let cal = calendars.at(&r.region_path);
                let left = cal.working_minutes_between(local(paused), local(due));
                r.due_at = Some(utc(cal.add_working_minutes(local(t.max(paused)), left)));
            }
        }
        Action::Take => on_the_spot::hand_to(conn, &mut r, actor)?,
        Action::Resolve | Action::ResolveOnTheSpot => {
            if action == Action::ResolveOnTheSpot {
                on_the_spot::hand_to(conn, &mut r, actor)?;
            }
            r.resolved_at = Some(t);
            r.outcome = ai.outcome.map(|o| o.as_str().to_string());
            r.reply = ai.reply.clone().map(|s| s.trim().to_string());
        }
        Action::Rate => {
            r.rating = ai.rating.map(|x| x.as_str().to_string());
            r.rated_at = Some(t);
        }
        Action::Reopen => {
            r.resolved_at = None;
            r.outcome = None;
        }
        Action::Close => r.closed_at = Some(t),
        Action::Accept | Action::Return | Action::Withdraw | Action::Start | Action::Note => {}
    }
    let n = diesel::update(
        requests::table
            .filter(requests::id.eq(id))
            .filter(requests::version.eq(version)),
    )
    .set((
        requests::status.eq(to.as_str()),
        requests::site_id.eq(r.site_id),
        requests::unit_id.eq(r.unit_id),
        requests::routed_by.eq(&r.routed_by),
        requests::transfer_site_id.eq(r.transfer_site_id),
        requests::transfer_unit_id.eq(r.transfer_unit_id),
        requests::due_at.eq(r.due_at),
        requests::paused_at.eq(r.paused_at),
        requests::resolved_at.eq(r.resolved_at),
        requests::outcome.eq(&r.outcome),
        requests::reply.eq(&r.reply),
        requests::rating.eq(&r.rating),
        requests::rated_at.eq(r.rated_at),
        requests::closed_at.eq(r.closed_at),
        requests::updated_at.eq(t),
        requests::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    let note = input
        .note
        .as_deref()
        .or(input.action_input.reason.as_deref())
        .filter(|s| !s.trim().is_empty());
    let mut detail = serde_json::json!({"site_id": r.site_id, "unit_id": r.unit_id});
    if action.is_on_the_spot() {
        detail["handler_user_id"] = actor.user_id.into();
        detail["position"] = input.position.clone().into();
        detail["photos"] = evidence.into();
    }
    record_event(
        conn,
        actor,
        id,
        Some(from),
        to,
        action.as_str(),
        note,
        detail,
    )?;
    let after = get(conn, &Scope::whole(), id)?;
    // The photos taken there go in with the step (their own history row and audit), so a
    // resolution on the spot is never saved without its evidence.
    if action == Action::ResolveOnTheSpot && !input.photos.is_empty() {
        files::attach_to(conn, actor, &after, &input.photos, "photos")?;
    }
    crate::messages::on_step(conn, &after, action)?;
    // An item a council handed to this request is done when the request is closed.
    if to == Status::Closed {
        crate::councils::items::follow_request(conn, &after)?;
    }
    // Every step: the entry's facets (status, site) change even when its words do not.
    let text = searchable_text(conn, &after)?;
    search::index(conn, &after, &text, false)?;
    crate::requests::stats::count_change(conn, Some(&before), Some(&after))?;
    audit::record(
        conn,
        actor,
        Event::new("request.step", "request", id)
            .region(after.region_id)
            .before(&before)
            .after(&after)
            .detail(serde_json::json!({"action": action.as_str(), "from": from.as_str(), "to": to.as_str()})),
    )?;
    Ok(after)
}

/// The statuses in which the deadline clock runs.
fn running_statuses() -> Vec<&'static str> {
    Status::ALL
        .iter()
        .filter(|s| s.clock_runs())
        .map(|s| s.as_str())
        .collect()
}

/// Everything a request is found by: its code, description, place, contact name, reply and
/// every note in its history.
pub(crate) fn searchable_text(conn: &mut DbConnection, r: &Request) -> Result<String, DbError> {
    let notes: Vec<Option<String>> = request_events::table
        .filter(request_events::request_id.eq(r.id))
        .select(request_events::note)
        .load(conn)?;
    Ok(text_with_notes(r, notes.into_iter().flatten()))
}

/// A request's own searchable text followed by its history's notes.
fn text_with_notes(r: &Request, notes: impl Iterator<Item = String>) -> String {
    let mut parts = own_text(r);
    parts.extend(notes);
    parts.join("\n")
}

/// The searchable texts of several requests (see [`searchable_text`]), read together.
pub(crate) fn searchable_texts(
    conn: &mut DbConnection,
    rs: &[Request],
) -> Result<Vec<String>, DbError> {
    let ids: Vec<i64> = rs.iter().map(|r| r.id).collect();
    let mut notes: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(5_000) {
        let found: Vec<(i64, Option<String>)> = request_events::table
            .filter(request_events::request_id.eq_any(chunk))
            .filter(request_events::note.is_not_null())
            .order(request_events::id.asc())
            .select((request_events::request_id, request_events::note))
            .load(conn)?;
        for (id, note) in found {
            notes.entry(id).or_default().extend(note);
        }
    }
    Ok(rs
        .iter()
        .map(|r| text_with_notes(r, notes.remove(&r.id).unwrap_or_default().into_iter()))
        .collect())
}

/// The request's own searchable fields (without its history's notes).
fn own_text(r: &Request) -> Vec<String> {
    let mut parts = vec![r.code.clone(), r.description.clone()];
    parts.extend(r.place.clone());
    parts.extend(r.contact_name.clone());
    parts.extend(r.reply.clone());
    parts
}

/// What one deadline sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    pub reminded: usize,
    pub escalated: usize,
}

/// Share of the service level that, once used, brings a reminder (催办).
const REMIND_AT_PERCENT: i64 = 80;

/// What a deadline sweep will do: requests to escalate, and requests to remind with the working
/// minutes they have left.
#[derive(Debug, Default, Clone)]
pub struct DeadlineWork {
    pub escalate: Vec<Request>,
    pub remind: Vec<(Request, i64)>,
}

impl DeadlineWork {
    /// The work in parts of at most `n` requests, to mark each in its own transaction: after a
    /// weekend or a holiday tens of thousands may fall due at once, and marking them in one
    /// transaction held `SQLite`'s writer (and so every intake) for 19 seconds.
    #[must_use]
    pub fn parts(self, n: usize) -> Vec<DeadlineWork> {
        let n = n.max(1);
        let mut parts: Vec<DeadlineWork> = Vec::new();
        let mut part = DeadlineWork::default();
        let full = |p: &DeadlineWork| p.escalate.len() + p.remind.len() == n;
        for r in self.escalate {
            part.escalate.push(r);
            if full(&part) {
                parts.push(std::mem::take(&mut part));
            }
        }
        for r in self.remind {
            part.remind.push(r);
            if full(&part) {
                parts.push(std::mem::take(&mut part));
            }
        }
        if !part.escalate.is_empty() || !part.remind.is_empty() {
            parts.push(part);
        }
        parts
    }
}

/// Remind (催办) open requests that have used most of their time, and escalate (督办) those past
/// their deadline to the supervising level, once each, with an event and an audit row. Run
/// periodically; idempotent. The server finds the work on a reader and only marks it in a
/// write ([`deadline_work`], [`mark_deadlines`]), so the writer is not held while it looks.
pub fn sweep_deadlines(conn: &mut DbConnection, at: NaiveDateTime) -> Result<Sweep, DbError> {
    let work = deadline_work(conn, at)?;
    mark_deadlines(conn, at, &work)
}

/// Find the sweep's work at `at` (reads only).
pub fn deadline_work(conn: &mut DbConnection, at: NaiveDateTime) -> Result<DeadlineWork, DbError> {
    let running = running_statuses();
    let escalate: Vec<Request> = requests::table
        .filter(requests::status.eq_any(running.clone()))
        .filter(requests::due_at.lt(at))
        .filter(requests::escalated_at.is_null())
        .select(Request::as_select())
        .load(conn)?;
    let calendars = settings::Calendars::load(conn)?;
    // Candidates: due within the next ten working days' worth of wall-clock time. Only their
    // times (and paths, for their calendars) are read to choose (a city has hundreds of
    // thousands due in three weeks; read whole, they held hundreds of megabytes), then the
    // chosen are read whole.
    let horizon = at + chrono::Duration::days(21);
    let soon: Vec<(i64, NaiveDateTime, Option<NaiveDateTime>, String)> = requests::table
        .filter(requests::status.eq_any(running))
        .filter(requests::due_at.ge(at))
        .filter(requests::due_at.lt(horizon))
        .filter(requests::reminded_at.is_null())
        .select((
            requests::id,
            requests::received_at,
            requests::due_at,
            requests::region_path,
        ))
        .load(conn)?;
    let left: HashMap<i64, i64> = soon
        .into_iter()
        .filter_map(|(id, received, due, path)| {
            let due = due?;
            let cal = calendars.at(&path);
            let total = cal.working_minutes_between(local(received), local(due));
            let left = cal.working_minutes_between(local(at), local(due));
            (total > 0 && (total - left) * 100 >= total * REMIND_AT_PERCENT).then_some((id, left))
        })
        .collect();
    let ids: Vec<i64> = left.keys().copied().collect();
    let mut remind = Vec::with_capacity(ids.len());
    // Ids per statement stay well under SQLite's 32,766 bound values.
    for chunk in ids.chunks(10_000) {
        let rows: Vec<Request> = requests::table
            .filter(requests::id.eq_any(chunk))
            .select(Request::as_select())
            .load(conn)?;
        remind.extend(rows.into_iter().map(|r| {
            let l = left[&r.id];
            (r, l)
        }));
    }
    remind.sort_by_key(|(r, _)| r.id);
    Ok(DeadlineWork { escalate, remind })
}

/// Mark what [`deadline_work`] found; a request changed since then is left for the next sweep.
/// The audit log and the requests' histories name the actor `system:deadlines`.
pub fn mark_deadlines(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    work: &DeadlineWork,
) -> Result<Sweep, DbError> {
    let actor = &Actor::the_system("system:deadlines");
    let mut done = Sweep::default();
    for r in &work.escalate {
        let supervising = supervising_region(conn, r)?;
        let detail = serde_json::json!({"due_at": r.due_at, "supervising_region_id": supervising});
        if mark(conn, actor, r, at, "escalate", detail)? {
            crate::messages::on_escalated(conn, r, supervising)?;
            done.escalated += 1;
        }
    }
    for (r, left) in &work.remind {
        let detail = serde_json::json!({"due_at": r.due_at, "minutes_left": left});
        if mark(conn, actor, r, at, "remind", detail)? {
            crate::messages::on_reminded(conn, r)?;
            done.reminded += 1;
        }
    }
    Ok(done)
}

/// The region above the responsible site's region (the level that supervises it), or above the
/// request's own region when no site is responsible.
fn supervising_region(conn: &mut DbConnection, r: &Request) -> Result<Option<i64>, DbError> {
    let all = Scope::whole();
    let region_id = match r.site_id {
        Some(s) => crate::org::get_site(conn, &all, s)?.region_id,
        None => r.region_id,
    };
    Ok(get_region(conn, &all, region_id)?.parent_id)
}

/// Mark one request reminded or escalated, if it is still the version the sweep saw.
fn mark(
    conn: &mut DbConnection,
    actor: &Actor,
    r: &Request,
    at: NaiveDateTime,
    action: &'static str,
    detail: serde_json::Value,
) -> Result<bool, DbError> {
    let q = diesel::update(
        requests::table
            .filter(requests::id.eq(r.id))
            .filter(requests::version.eq(r.version)),
    );
    let n = if action == "escalate" {
        q.set((
            requests::escalated_at.eq(Some(at)),
            requests::version.eq(crate::versioned::next(r.version)?),
        ))
        .execute(conn)?
    } else {
        q.set((
            requests::reminded_at.eq(Some(at)),
            requests::version.eq(crate::versioned::next(r.version)?),
        ))
        .execute(conn)?
    };
    if n == 0 {
        return Ok(false);
    }
    record_event(
        conn,
        actor,
        r.id,
        Some(r.status()),
        r.status(),
        action,
        None,
        detail.clone(),
    )?;
    let event_action = if action == "escalate" {
        "request.escalate"
    } else {
        "request.remind"
    };
    audit::record(
        conn,
        actor,
        Event::new(event_action, "request", r.id)
            .region(r.region_id)
            .detail(detail),
    )?;
    Ok(true)
}
