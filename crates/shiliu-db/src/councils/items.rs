//! Agenda items (议题): raised in person, by a grid worker or on the council's public page;
//! discussed at a meeting and decided (议定事项: who sees to it, by when), declined with the
//! reason, or handed to the requests loop ([`refer`]); followed up until done. An item handed
//! to a request is done when that request is closed, by the request's own step
//! ([`follow_request`], in the step's transaction).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::calendar::local;
use shiliu_domain::councils::{Channel, Decision, FollowUp, ItemInput, ItemStatus};
use shiliu_domain::requests::{Channel as RequestChannel, RequestInput, Status};

use super::Council;
use super::meetings::{self, Meeting};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::requests::Request;
use crate::schema::{council_items, council_meetings, requests};
use crate::scope::{Actor, Can, Scope, grants};
use crate::{DbConnection, DbError, now, versioned};

/// How many items the public page takes for one council in a day: past it, the form says to
/// come to the meeting or the community office.
pub const PUBLIC_PER_DAY: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = council_items)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Item {
    pub id: i64,
    pub council_id: i64,
    pub region_path: String,
    pub meeting_id: Option<i64>,
    pub channel: String,
    pub text: String,
    pub raised_by: Option<String>,
    pub phone: Option<String>,
    pub publish_name: bool,
    pub raised_at: NaiveDateTime,
    /// The day (China's) it was raised.
    pub raised_on: NaiveDate,
    pub brought_by: Option<i64>,
    pub status: String,
    pub decision: Option<String>,
    pub responsible: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub decided_on: Option<NaiveDate>,
    pub done_on: Option<NaiveDate>,
    pub outcome: Option<String>,
    pub request_id: Option<i64>,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Item {
    pub fn status(&self) -> ItemStatus {
        ItemStatus::parse(&self.status).unwrap_or(ItemStatus::Raised)
    }

    /// Done by its deadline (one not done: none).
    pub fn on_time(&self) -> Option<bool> {
        shiliu_domain::councils::on_time(self.due_on, self.done_on)
    }

    /// Past its deadline and not done, on `today`.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        matches!(self.status(), ItemStatus::Decided | ItemStatus::Referred)
            && self.due_on.is_some_and(|d| d < today)
    }
}

/// An item with the request it was handed to, as the follow-up shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Followed {
    #[serde(flatten)]
    pub item: Item,
    pub request_code: Option<String>,
    pub request_status: Option<String>,
}

/// An item as the public notice shows it: no phone, and the name only where its owner agreed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub held_on: NaiveDate,
    pub text: String,
    pub raised_by: Option<String>,
    pub status: String,
    pub decision: Option<String>,
    pub responsible: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub done_on: Option<NaiveDate>,
    pub outcome: Option<String>,
}

fn new_item(c: &Council, input: &ItemInput, by: Option<i64>) -> Item {
    let at = now();
    Item {
        id: new_id(),
        council_id: c.id,
        region_path: c.region_path.clone(),
        meeting_id: None,
        channel: input.channel.as_str().into(),
        text: input.text.clone(),
        raised_by: input.raised_by.clone(),
        phone: input.phone.clone(),
        publish_name: input.publish_name,
        raised_at: at,
        raised_on: local(at).date(),
        brought_by: by,
        status: ItemStatus::Raised.as_str().into(),
        decision: None,
        responsible: None,
        due_on: None,
        decided_on: None,
        done_on: None,
        outcome: None,
        request_id: None,
        updated_at: at,
        version: 1,
    }
}

fn insert(conn: &mut DbConnection, actor: &Actor, c: &Council, i: &Item) -> Result<(), DbError> {
    diesel::insert_into(council_items::table)
        .values(i)
        .execute(conn)?;
    super::item_changed(conn, None, i)?;
    audit::record(
        conn,
        actor,
        Event::new("council.item_raise", "council", c.id)
            .region(c.region_id)
            .after(i)
            .detail(serde_json::json!({"item_id": i.id, "channel": i.channel})),
    )?;
    Ok(())
}

/// Staff bring an item to a council they read (in person at the office, or a grid worker
/// from their rounds); audited. The public page's channel is [`raise_public`]'s.
pub fn raise(
    conn: &mut DbConnection,
    actor: &Can<grants::RaiseCouncilItems>,
    c: &Council,
    input: &ItemInput,
) -> Result<Item, DbError> {
    if input.channel == Channel::Public {
        return Err(DbError::invalid("channel", "err.choice"));
    }
    if !c.active {
        return Err(DbError::invalid("council", "err.councils.inactive"));
    }
    let i = new_item(c, input, actor.user_id);
    insert(conn, actor, c, &i)?;
    Ok(i)
}

/// A resident raises an item on the council's public page (found by its code); audited as
/// the resident. A council takes [`PUBLIC_PER_DAY`] such items a day.
pub fn raise_public(
    conn: &mut DbConnection,
    actor: &Actor,
    c: &Council,
    input: &ItemInput,
) -> Result<Item, DbError> {
    if input.channel != Channel::Public || !c.active {
        return Err(DbError::NotFound);
    }
    let since = now() - chrono::Duration::days(1);
    let today: i64 = council_items::table
        .filter(council_items::council_id.eq(c.id))
        .filter(council_items::channel.eq(Channel::Public.as_str()))
        .filter(council_items::raised_at.ge(since))
        .count()
        .get_result(conn)?;
    if today >= PUBLIC_PER_DAY {
        return Err(DbError::invalid("text", "err.councils.too_many"));
    }
    let i = new_item(c, input, None);
    insert(conn, actor, c, &i)?;
    Ok(i)
}

/// Items with the code and status of the requests they were handed to (one read for all).
fn followed(conn: &mut DbConnection, items: Vec<Item>) -> Result<Vec<Followed>, DbError> {
    let ids: Vec<i64> = items.iter().filter_map(|i| i.request_id).collect();
    let mut by_id = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String, String)> = requests::table
            .filter(requests::id.eq_any(chunk))
            .select((requests::id, requests::code, requests::status))
            .load(conn)?;
        by_id.extend(
            rows.into_iter()
                .map(|(id, code, status)| (id, (code, status))),
        );
    }
    Ok(items
        .into_iter()
        .map(|item| {
            let r = item.request_id.and_then(|id| by_id.get(&id)).cloned();
            Followed {
                request_code: r.as_ref().map(|r| r.0.clone()),
                request_status: r.map(|r| r.1),
                item,
            }
        })
        .collect())
}

/// The council's items waiting to be discussed, oldest first.
pub fn waiting(conn: &mut DbConnection, c: &Council) -> Result<Vec<Item>, DbError> {
    Ok(council_items::table
        .filter(council_items::council_id.eq(c.id))
        .filter(council_items::status.eq(ItemStatus::Raised.as_str()))
        .order(council_items::raised_at.asc())
        .select(Item::as_select())
        .load(conn)?)
}

/// The items a meeting discussed, in the order they were raised.
pub fn of_meeting(
    conn: &mut DbConnection,
    c: &Council,
    m: &Meeting,
) -> Result<Vec<Followed>, DbError> {
    let items = council_items::table
        .filter(council_items::council_id.eq(c.id))
        .filter(council_items::meeting_id.eq(m.id))
        .order(council_items::raised_at.asc())
        .select(Item::as_select())
        .load(conn)?;
    followed(conn, items)
}

/// The council's items decided or handed to a request and not yet done: the follow-up
/// (督办), the earliest deadline first.
pub fn open(conn: &mut DbConnection, c: &Council) -> Result<Vec<Followed>, DbError> {
    let items = council_items::table
        .filter(council_items::council_id.eq(c.id))
        .filter(
            council_items::status
                .eq_any([ItemStatus::Decided.as_str(), ItemStatus::Referred.as_str()]),
        )
        .order((council_items::due_on.asc(), council_items::id.asc()))
        .select(Item::as_select())
        .load(conn)?;
    followed(conn, items)
}

/// The items decided or handed to a request and not yet done, of every council the caller
/// reads (only those past their deadline on `overdue_on`, when given): the follow-up across
/// councils, the earliest deadline first, each with its council's name. At most `limit`.
///
/// A wide scope ([`Scope::is_wide`]: the province, a city, a county) reads along the open
/// items' deadline index (`council_items_open`), testing the place on each row, so a page
/// stops after about (all open ÷ the scope's) × its rows; a narrow one reads its places' items
/// and sorts them (a township's are a few thousand).
pub fn open_in(
    conn: &mut DbConnection,
    scope: &crate::scope::Scope,
    overdue_on: Option<NaiveDate>,
    limit: i64,
) -> Result<Vec<(Followed, String)>, DbError> {
    let mut q = council_items::table
        .inner_join(crate::schema::councils::table)
        .filter(open_condition())
        .select((Item::as_select(), crate::schema::councils::name))
        .into_boxed();
    q = if scope.is_wide() {
        q.filter(scope.with_parents_filter_per_row(council_items::region_path))
    } else {
        q.filter(scope.with_parents_filter(council_items::region_path))
    };
    if let Some(d) = overdue_on {
        q = q.filter(council_items::due_on.lt(d));
    }
    let rows: Vec<(Item, String)> = q
        .order((council_items::due_on.asc(), council_items::id.asc()))
        .limit(limit)
        .load(conn)?;
    let (items, names): (Vec<Item>, Vec<String>) = rows.into_iter().unzip();
    Ok(followed(conn, items)?.into_iter().zip(names).collect())
}

/// Open items ([`OPEN`]), written as the open items' index's own condition: an engine uses a
/// partial index only for a query whose condition it can see implies the index's, which a
/// bound value hides.
fn open_condition() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql(&format!(
        "council_items.status IN ('{}', '{}')",
        OPEN[0], OPEN[1]
    ))
}

/// How many items [`open_in`] lists (the to-do's count, on the list's own filter).
pub fn open_count(
    conn: &mut DbConnection,
    scope: &crate::scope::Scope,
    overdue_on: Option<NaiveDate>,
) -> Result<i64, DbError> {
    // Read as the list is (see `open_in`).
    let mut q = council_items::table.filter(open_condition()).into_boxed();
    q = if scope.is_wide() {
        q.filter(scope.with_parents_filter_per_row(council_items::region_path))
    } else {
        q.filter(scope.with_parents_filter(council_items::region_path))
    };
    if let Some(d) = overdue_on {
        q = q.filter(council_items::due_on.lt(d));
    }
    Ok(q.count().get_result(conn)?)
}

/// The states of an item still followed up.
const OPEN: [&str; 2] = ["decided", "referred"];

/// One item of the council, as the caller was given the council.
pub fn get(conn: &mut DbConnection, c: &Council, id: i64) -> Result<Item, DbError> {
    Ok(council_items::table
        .filter(council_items::council_id.eq(c.id))
        .filter(council_items::id.eq(id))
        .select(Item::as_select())
        .first(conn)?)
}

/// An item a meeting may settle: still waiting, or settled at this same meeting (a correction).
fn at_meeting(
    conn: &mut DbConnection,
    actor: &Actor,
    c: &Council,
    m: &Meeting,
    id: i64,
    version: i32,
) -> Result<Item, DbError> {
    if !c.run_by(actor) {
        return Err(DbError::Forbidden);
    }
    if !m.held() || m.council_id != c.id {
        return Err(DbError::invalid("meeting", "err.councils.not_held"));
    }
    let i = get(conn, c, id)?;
    versioned::expect(version, i.version)?;
    let again = i.meeting_id == Some(m.id)
        && matches!(i.status(), ItemStatus::Decided | ItemStatus::Declined);
    if i.status() == ItemStatus::Raised || again {
        Ok(i)
    } else {
        Err(DbError::invalid("item", "err.councils.settled"))
    }
}

type Settled = (
    ItemStatus,
    Option<String>,
    Option<String>,
    Option<NaiveDate>,
    Option<String>,
    Option<i64>,
);

fn settle(
    conn: &mut DbConnection,
    actor: &Actor,
    c: &Council,
    m: &Meeting,
    before: &Item,
    (status, decision, responsible, due_on, outcome, request_id): Settled,
) -> Result<Item, DbError> {
    let n = diesel::update(
        council_items::table
            .filter(council_items::id.eq(before.id))
            .filter(council_items::version.eq(before.version)),
    )
    .set((
        council_items::meeting_id.eq(m.id),
        council_items::status.eq(status.as_str()),
        council_items::decision.eq(decision),
        council_items::responsible.eq(responsible),
        council_items::due_on.eq(due_on),
        council_items::decided_on.eq(m.held_on),
        council_items::outcome.eq(outcome),
        council_items::request_id.eq(request_id),
        council_items::updated_at.eq(now()),
        council_items::version.eq(crate::versioned::next(before.version)?),
    ))
    .execute(conn)?;
    versioned::written(n)?;
    let after = get(conn, c, before.id)?;
    super::item_changed(conn, Some(before), &after)?;
    audit::record(
        conn,
        actor,
        Event::new("council.item_settle", "council", c.id)
            .region(c.region_id)
            .before(before)
            .after(&after),
    )?;
    Ok(after)
}

/// The meeting decides an item: what is to be done, who sees to it, by when; audited.
pub fn decide(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    c: &Council,
    m: &Meeting,
    (id, version): (i64, i32),
    d: &Decision,
) -> Result<Item, DbError> {
    let i = at_meeting(conn, actor, c, m, id, version)?;
    if d.due_on < m.held_on {
        return Err(DbError::invalid(
            "due_on",
            "err.councils.due_before_meeting",
        ));
    }
    settle(
        conn,
        actor,
        c,
        m,
        &i,
        (
            ItemStatus::Decided,
            Some(d.decision.clone()),
            Some(d.responsible.clone()),
            Some(d.due_on),
            None,
            None,
        ),
    )
}

/// The meeting does not take an item up, and says why; audited.
pub fn decline(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    c: &Council,
    m: &Meeting,
    (id, version): (i64, i32),
    reason: &str,
) -> Result<Item, DbError> {
    let i = at_meeting(conn, actor, c, m, id, version)?;
    let reason = shiliu_domain::error::required_text("reason", reason, 2_000)?;
    settle(
        conn,
        actor,
        c,
        m,
        &i,
        (ItemStatus::Declined, None, None, None, Some(reason), None),
    )
}

/// The meeting hands an item to the requests loop: a request in the council's region, in the
/// category picked, with the item's words and contact, taken in as the caller (their
/// `CreateRequests`); the item then follows the request and its deadline is the request's.
/// One transaction with the request's intake.
pub fn refer(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    intake: &Can<grants::CreateRequests>,
    (c, m): (&Council, &Meeting),
    (id, version): (i64, i32),
    category_id: i64,
) -> Result<(Item, Request), DbError> {
    let i = at_meeting(conn, actor, c, m, id, version)?;
    if i.status() != ItemStatus::Raised {
        return Err(DbError::invalid("item", "err.councils.settled"));
    }
    let channel = if i.channel == Channel::GridWorker.as_str() {
        RequestChannel::Grid
    } else {
        RequestChannel::WalkIn
    };
    let description = format!("{}（{} {} 议定转办）", i.text, c.name, m.held_on);
    let input = RequestInput::parse(
        channel,
        &description,
        &c.place,
        i.raised_by.as_deref().unwrap_or(""),
        i.phone.as_deref().unwrap_or(""),
        i.phone.is_some(),
    )
    .map_err(DbError::Invalid)?;
    let r = crate::requests::create(conn, intake, &input, category_id, c.region_id, None)?;
    let due = r.due_at.map(|d| local(d).date());
    let after = settle(
        conn,
        actor,
        c,
        m,
        &i,
        (ItemStatus::Referred, None, None, due, None, Some(r.id)),
    )?;
    Ok((after, r))
}

/// An item decided is done: when, and what was done; audited.
pub fn follow_up(
    conn: &mut DbConnection,
    actor: &Can<grants::RunCouncils>,
    c: &Council,
    (id, version): (i64, i32),
    f: &FollowUp,
) -> Result<Item, DbError> {
    if !c.run_by(actor) {
        return Err(DbError::Forbidden);
    }
    let before = get(conn, c, id)?;
    versioned::expect(version, before.version)?;
    if before.status() != ItemStatus::Decided {
        return Err(DbError::invalid("item", "err.councils.not_decided"));
    }
    if before.decided_on.is_some_and(|d| f.done_on < d) {
        return Err(DbError::invalid("done_on", "err.councils.done_on"));
    }
    let n = diesel::update(
        council_items::table
            .filter(council_items::id.eq(id))
            .filter(council_items::version.eq(version)),
    )
    .set((
        council_items::status.eq(ItemStatus::Done.as_str()),
        council_items::done_on.eq(f.done_on),
        council_items::outcome.eq(&f.outcome),
        council_items::updated_at.eq(now()),
        council_items::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    let after = versioned::finish(
        conn,
        actor,
        n,
        &before,
        |conn| get(conn, c, id),
        |_| Event::new("council.item_done", "council", c.id).region(c.region_id),
    )?;
    super::item_changed(conn, Some(&before), &after)?;
    Ok(after)
}

/// The meeting an item was settled at, read through its council.
pub fn meeting_of(
    conn: &mut DbConnection,
    c: &Council,
    i: &Item,
) -> Result<Option<Meeting>, DbError> {
    i.meeting_id.map(|m| meetings::get(conn, c, m)).transpose()
}

/// Where request `r` came from, when a council handed it on: the council (if the caller reads
/// it), the item and its meeting. `r` is the request as the caller was given it.
pub fn of_request(
    conn: &mut DbConnection,
    scope: &Scope,
    r: &Request,
) -> Result<Option<(Council, Item, Option<Meeting>)>, DbError> {
    let Some(i) = council_items::table
        .filter(council_items::request_id.eq(r.id))
        .select(Item::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let c = match super::get(conn, scope, i.council_id) {
        Ok(c) => c,
        Err(DbError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let m = meeting_of(conn, &c, &i)?;
    Ok(Some((c, i, m)))
}

/// The items handed to request `r` are done on the day it is closed, with its reply. Called
/// by the request's step that closes it, in its transaction (a closed request is final).
pub(crate) fn follow_request(conn: &mut DbConnection, r: &Request) -> Result<(), DbError> {
    if r.status != Status::Closed.as_str() {
        return Ok(());
    }
    let handed = council_items::table
        .filter(council_items::request_id.eq(r.id))
        .filter(council_items::status.eq(ItemStatus::Referred.as_str()));
    let before: Vec<Item> = handed.select(Item::as_select()).load(conn)?;
    if before.is_empty() {
        return Ok(());
    }
    diesel::update(
        council_items::table
            .filter(council_items::request_id.eq(r.id))
            .filter(council_items::status.eq(ItemStatus::Referred.as_str())),
    )
    .set((
        council_items::status.eq(ItemStatus::Done.as_str()),
        council_items::done_on.eq(r.closed_at.map(|t| local(t).date())),
        council_items::outcome.eq(&r.reply),
        council_items::updated_at.eq(now()),
        council_items::version.eq(council_items::version + 1),
    ))
    .execute(conn)?;
    for b in &before {
        let after: Item = council_items::table
            .find(b.id)
            .select(Item::as_select())
            .first(conn)?;
        super::item_changed(conn, Some(b), &after)?;
    }
    Ok(())
}

/// The public notice (公开): what the council's meetings held since `since` decided, the
/// latest meeting first, without anyone's phone and with a name only where its owner agreed.
pub fn notice(
    conn: &mut DbConnection,
    c: &Council,
    since: NaiveDate,
) -> Result<Vec<Notice>, DbError> {
    let rows: Vec<(NaiveDate, Item)> = council_items::table
        .inner_join(council_meetings::table)
        .filter(council_items::council_id.eq(c.id))
        .filter(council_meetings::status.eq("held"))
        .filter(council_meetings::held_on.ge(since))
        .order((
            council_meetings::held_on.desc(),
            council_items::raised_at.asc(),
        ))
        .select((council_meetings::held_on, Item::as_select()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(held_on, i)| Notice {
            held_on,
            raised_by: i.raised_by.filter(|_| i.publish_name),
            status: i.status,
            decision: i.decision,
            responsible: i.responsible,
            due_on: i.due_on,
            done_on: i.done_on,
            outcome: i.outcome,
            text: i.text,
        })
        .collect())
}

/// Give an item the moment it was raised, for loading history (the demo's year, a benchmark's
/// rows): a form's item is raised now.
#[cfg(feature = "system")]
pub fn set_raised_at(
    conn: &mut DbConnection,
    c: &Council,
    id: i64,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    let before = get(conn, c, id)?;
    diesel::update(
        council_items::table
            .filter(council_items::council_id.eq(c.id))
            .filter(council_items::id.eq(id)),
    )
    .set((
        council_items::raised_at.eq(at),
        council_items::raised_on.eq(local(at).date()),
    ))
    .execute(conn)?;
    let after = get(conn, c, id)?;
    super::item_changed(conn, Some(&before), &after)
}
