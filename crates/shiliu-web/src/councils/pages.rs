//! Councils as pages: the list with its export, a new council, and a council's page — its next
//! days (a day called off there), the items waiting for a meeting (raised there by staff and
//! grid workers), the follow-up of what was decided, its meetings and its members.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use shiliu_db::councils::items::{self, Followed, Item};
use shiliu_db::councils::meetings::{self, Meeting};
use shiliu_db::councils::{self as db, Council, Listed, Member};
use shiliu_db::org as org_db;
use shiliu_db::scope::grants;
use shiliu_domain::councils::{Channel, FollowUp, ItemInput, MemberInput, MemberRole};
use shiliu_domain::roles::Permission;
use shiliu_domain::{FieldError, FieldErrors};

use super::{CouncilForm, CouncilItemForm, masked, rhythm_options, rhythm_text};
use crate::web::error::AppResult;
use crate::web::files::FormData;
use crate::web::page::{Layout, Saved, render_form};
use crate::web::pickers::{Picker, opens_a_level};
use crate::web::xlsx::{self, Cell};
use crate::web::{AppState, Principal};

pub(crate) fn routes() -> crate::Routes {
    crate::Routes::new(file!())
        .route("/councils", get(list).post(create))
        .route("/councils/new", get(new))
        .route("/councils/export.xlsx", get(export))
        .route("/councils/{id}", get(show).post(update))
        .route("/councils/{id}/members", post(add_member))
        .route(
            "/councils/{id}/members/{member}/active",
            post(member_active),
        )
        .route("/councils/{id}/items", post(raise))
        .route("/councils/{id}/items/{item}/done", post(follow_up))
        .route("/councils/{id}/cancel", post(cancel))
}

/// The most councils a list shows (a province has some thousands; a region narrows it).
const MOST: i64 = 2_000;

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    region: String,
    /// `1`: only the councils meeting within [`SOON_DAYS`] (the to-do's reminder).
    #[serde(default)]
    soon: String,
}

/// How many days ahead the to-do reminds those who run a council of its meeting.
pub(crate) const SOON_DAYS: i64 = 3;

#[derive(Template)]
#[template(path = "councils/list.html")]
struct ListPage {
    l: Layout,
    rows: Vec<Listed>,
    rhythms: Vec<String>,
    regions: Picker,
    region: String,
    soon: bool,
    cut: bool,
    can_run: bool,
    errors: Vec<(String, String)>,
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewCouncils>()?;
    let t = p.t();
    let code = q.region.clone();
    let soon = q.soon == "1";
    let today = shiliu_db::today();
    let (rows, around, errs) = state
        .db
        .read(move |c| {
            let (within, errs) = match org_db::picked_region(c, actor.scope(), &code, "region") {
                Ok(r) => (r, FieldErrors::new()),
                Err(shiliu_db::DbError::Invalid(e)) => (None, e),
                Err(e) => return Err(e),
            };
            let rows = if soon {
                let ids: std::collections::HashSet<i64> =
                    db::meeting_soon(c, actor.scope(), today, SOON_DAYS)?
                        .into_iter()
                        // The to-do counts those the caller runs; a reader sees them all.
                        .filter(|(council, _)| {
                            council.run_by(&actor) || !actor.allows(Permission::RunCouncils)
                        })
                        .map(|(c, _)| c.id)
                        .collect();
                db::list(c, actor.scope(), within.as_ref(), i64::MAX)?
                    .into_iter()
                    .filter(|l| ids.contains(&l.council.id))
                    .collect()
            } else {
                db::list(c, actor.scope(), within.as_ref(), MOST + 1)?
            };
            Ok((
                rows,
                org_db::choices_around_code(c, actor.scope(), &code)?,
                errs,
            ))
        })
        .await?;
    let cut = rows.len() > usize::try_from(MOST).unwrap_or(usize::MAX);
    let rows: Vec<Listed> = rows
        .into_iter()
        .take(usize::try_from(MOST).unwrap_or(usize::MAX))
        .collect();
    render_form(
        &ListPage {
            l: Layout::new(&p, "nav.councils", t.s("councils.title")),
            rhythms: rows
                .iter()
                .map(|r| rhythm_text(t, r.council.schedule()))
                .collect(),
            rows,
            regions: Picker::new("filter-region", "region", t.s("field.region"))
                .selected(q.region.clone())
                .blank(t.s("list.all"))
                .regions(around, t),
            region: q.region,
            soon,
            cut,
            can_run: p.can(Permission::RunCouncils),
            errors: t.field_errors(&errs),
        },
        !errs.is_empty(),
    )
}

pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewCouncils>()?;
    let t = p.t();
    let code = q.region.clone();
    let rows = state
        .db
        .read(move |c| {
            let within = org_db::picked_region(c, actor.scope(), &code, "region")?;
            db::list(c, actor.scope(), within.as_ref(), 100_000)
        })
        .await?;
    let headers: Vec<String> = [
        "field.name",
        "field.region",
        "field.rhythm",
        "field.place",
        "field.starts_at",
        "councils.last_held",
        "councils.waiting",
        "councils.open",
        "field.active",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    let lines: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::from(r.council.name.as_str()),
                Cell::from(r.region_name.as_str()),
                Cell::from(rhythm_text(t, r.council.schedule()).as_str()),
                Cell::from(r.council.place.as_str()),
                Cell::from(r.council.starts_at.clone().unwrap_or_default().as_str()),
                r.last_held.map_or(Cell::Empty, Cell::Date),
                Cell::Int(r.waiting),
                Cell::Int(r.open),
                Cell::from(t.s(if r.council.active {
                    "status.active"
                } else {
                    "status.inactive"
                })),
            ]
        })
        .collect();
    Ok(xlsx::download(
        "councils.xlsx",
        xlsx::sheet(t.s("councils.title"), &headers, &lines)?,
    ))
}

// ---- a new council -----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "councils/new.html")]
struct NewPage {
    l: Layout,
    d: CouncilForm,
    regions: Picker,
    rhythms: Vec<(String, String)>,
    weekdays: Vec<(String, String)>,
    errors: Vec<(String, String)>,
}

/// The region picker of a council's form, the caller's one region picked when it is one.
async fn region_picker(state: &AppState, p: &Principal, d: &mut CouncilForm) -> AppResult<Picker> {
    let actor = p.require::<grants::RunCouncils>()?;
    let t = p.t();
    let code = d.region.clone();
    let (roots, around) = state
        .db
        .read(move |c| {
            let roots = org_db::scope_roots(c, actor.scope())?;
            let code = if code.is_empty() && roots.len() == 1 {
                roots[0].code.clone()
            } else {
                code
            };
            let around = org_db::choices_around_code(c, actor.scope(), &code)?;
            Ok((roots, around))
        })
        .await?;
    if d.region.is_empty()
        && let [only] = roots.as_slice()
    {
        d.region.clone_from(&only.code);
    }
    Ok(
        Picker::new("council-region", "region_code", t.s("field.council_region"))
            .selected(d.region.clone())
            .required()
            .regions(around, t),
    )
}

async fn new_page(
    state: &AppState,
    p: &Principal,
    mut d: CouncilForm,
    errs: &FieldErrors,
) -> AppResult<Response> {
    let t = p.t();
    let regions = region_picker(state, p, &mut d).await?;
    let (rhythms, weekdays) = rhythm_options(t);
    render_form(
        &NewPage {
            l: Layout::new(p, "nav.councils", t.s("councils.new")),
            d,
            regions,
            rhythms,
            weekdays,
            errors: super::field_errors(t, errs),
        },
        !errs.is_empty(),
    )
}

pub async fn new(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    let d = CouncilForm {
        rhythm: "fourths".into(),
        ..CouncilForm::default()
    };
    new_page(&state, &p, d, &FieldErrors::new()).await
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::RunCouncils>()?;
    let d: CouncilForm = form.parse()?;
    if opens_a_level(&form.pairs) {
        return new_page(&state, &p, d, &FieldErrors::new()).await;
    }
    let input = match d.parse() {
        Ok(i) => i,
        Err(e) => return new_page(&state, &p, d, &e).await,
    };
    match state.db.write(move |c| db::create(c, &actor, &input)).await {
        Ok(c) => Ok(Redirect::to(&format!("/councils/{}?saved=1", c.id)).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => new_page(&state, &p, d, &e).await,
        Err(e) => Err(e.into()),
    }
}

// ---- a council ---------------------------------------------------------------------------

/// Which of the council page's forms came back, with what it held.
#[derive(Default)]
pub(crate) enum Back {
    #[default]
    None,
    Item(CouncilItemForm),
    Member(MemberForm),
    Settings(CouncilForm),
    FollowUp(i64, FollowUpForm),
}

/// An open item as the follow-up shows it.
pub struct OpenRow {
    pub f: Followed,
    pub held_on: String,
    pub overdue: bool,
    pub request_status: String,
}

/// A member as the page shows them (the phone's middle hidden).
pub struct MemberRow {
    pub m: Member,
    pub role: String,
    pub phone: String,
}

#[derive(Template)]
#[template(path = "councils/council.html")]
struct CouncilPage {
    l: Layout,
    c: Council,
    region_name: String,
    rhythm: String,
    upcoming: Vec<NaiveDate>,
    waiting: Vec<Item>,
    open: Vec<OpenRow>,
    meetings: Vec<Meeting>,
    members: Vec<MemberRow>,
    can_run: bool,
    can_raise: bool,
    today: String,
    item: CouncilItemForm,
    member: MemberForm,
    settings: CouncilForm,
    settings_open: bool,
    follow: (i64, FollowUpForm),
    regions: Option<Picker>,
    rhythms: Vec<(String, String)>,
    weekdays: Vec<(String, String)>,
    roles: Vec<(String, String)>,
    errors: Vec<(String, String)>,
}

pub(crate) async fn council_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    back: Back,
    errs: &FieldErrors,
    said: Option<String>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewCouncils>()?;
    let t = p.t();
    let today = shiliu_db::today();
    let (c, region_name, region_code, upcoming, waiting, open, list, members) = state
        .db
        .read(move |conn| {
            let c = db::get(conn, actor.scope(), id)?;
            let region = org_db::atlas::region(conn, c.region_id)?;
            Ok((
                c.clone(),
                region.name,
                region.code,
                meetings::upcoming(conn, &c, today, 3)?,
                items::waiting(conn, &c)?,
                items::open(conn, &c)?,
                meetings::of_council(conn, &c)?,
                db::members(conn, &c)?,
            ))
        })
        .await?;
    let can_run = p
        .require::<grants::RunCouncils>()
        .is_ok_and(|a| c.run_by(&a));
    let held: std::collections::HashMap<i64, NaiveDate> =
        list.iter().map(|m| (m.id, m.held_on)).collect();
    let open = open
        .into_iter()
        .map(|f| OpenRow {
            held_on: f
                .item
                .meeting_id
                .and_then(|m| held.get(&m))
                .map(ToString::to_string)
                .unwrap_or_default(),
            overdue: f.item.overdue(today),
            request_status: f
                .request_status
                .as_deref()
                .map(|s| t.label("status", s))
                .unwrap_or_default(),
            f,
        })
        .collect();
    let (mut item, mut member, mut settings, mut follow, mut settings_open) = (
        CouncilItemForm {
            channel: if p.role().scoped_to_grids() {
                Channel::GridWorker.as_str().into()
            } else {
                Channel::InPerson.as_str().into()
            },
            ..CouncilItemForm::default()
        },
        MemberForm {
            role: MemberRole::Member.as_str().into(),
            ..MemberForm::default()
        },
        CouncilForm::of(&c, region_code),
        (0, FollowUpForm::default()),
        false,
    );
    match back {
        Back::None => {}
        Back::Item(f) => item = f,
        Back::Member(f) => member = f,
        Back::Settings(f) => {
            settings = f;
            settings_open = true;
        }
        Back::FollowUp(id, f) => follow = (id, f),
    }
    let regions = if can_run {
        Some(region_picker(state, p, &mut settings).await?)
    } else {
        None
    };
    let (rhythms, weekdays) = rhythm_options(t);
    render_form(
        &CouncilPage {
            l: Layout::new(p, "nav.councils", &c.name).said(said),
            rhythm: rhythm_text(t, c.schedule()),
            region_name,
            upcoming,
            waiting,
            open,
            meetings: list,
            members: members
                .into_iter()
                .map(|m| MemberRow {
                    role: t.label("member_role", &m.role),
                    phone: masked(m.phone.as_deref()),
                    m,
                })
                .collect(),
            can_run,
            can_raise: p.can(Permission::RaiseCouncilItems) && c.active,
            today: today.to_string(),
            item,
            member,
            settings,
            settings_open,
            follow,
            regions,
            rhythms,
            weekdays,
            roles: crate::web::page::options(MemberRole::ALL, MemberRole::as_str, "member_role", t),
            errors: super::field_errors(t, errs),
            c,
        },
        !errs.is_empty(),
    )
}

#[derive(serde::Deserialize, Default)]
pub struct ShowQuery {
    #[serde(flatten)]
    saved: Saved,
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    let t = p.t();
    let said = q
        .saved
        .done(&["item", "member", "done", "cancelled"])
        .map(|d| t.s(&format!("councils.done_{d}")).to_string())
        .or_else(|| q.saved.yes().then(|| t.s("saved").to_string()));
    council_page(&state, &p, id, Back::None, &FieldErrors::new(), said).await
}

/// The settings form: the council's own fields, its version, and whether it stays active.
#[derive(serde::Deserialize, Default)]
pub struct SettingsForm {
    #[serde(flatten)]
    d: CouncilForm,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    active: Option<String>,
}

pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::RunCouncils>()?;
    let f: SettingsForm = form.parse()?;
    let back = Back::Settings(f.d.clone());
    if opens_a_level(&form.pairs) {
        return council_page(&state, &p, id, back, &FieldErrors::new(), None).await;
    }
    let input = match f.d.parse() {
        Ok(i) => i,
        Err(e) => return council_page(&state, &p, id, back, &e, None).await,
    };
    let active = f.active.is_some();
    match state
        .db
        .write(move |c| db::update(c, &actor, id, f.version, &input, active))
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/councils/{id}?saved=1")).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => council_page(&state, &p, id, back, &e, None).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize, Default, Clone)]
pub struct MemberForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub phone: String,
}

pub async fn add_member(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::RunCouncils>()?;
    let f: MemberForm = form.parse()?;
    let input = match MemberInput::parse(&f.name, &f.role, &f.note, &f.phone) {
        Ok(i) => i,
        Err(e) => return council_page(&state, &p, id, Back::Member(f), &e, None).await,
    };
    state
        .db
        .write(move |c| {
            let council = db::get_run(c, &actor, id)?;
            db::add_member(c, &actor, &council, &input)
        })
        .await?;
    Ok(Redirect::to(&format!("/councils/{id}?done=member#members")).into_response())
}

#[derive(serde::Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    active: String,
}

pub async fn member_active(
    State(state): State<AppState>,
    p: Principal,
    Path((id, member)): Path<(i64, i64)>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::RunCouncils>()?;
    let f: ActiveForm = form.parse()?;
    let active = f.active == "1";
    state
        .db
        .write(move |c| {
            let council = db::get_run(c, &actor, id)?;
            db::set_member_active(c, &actor, &council, member, active)
        })
        .await?;
    Ok(Redirect::to(&format!("/councils/{id}?saved=1#members")).into_response())
}

/// Parse a raised item's form for `channel`.
pub(crate) fn item_input(f: &CouncilItemForm, channel: Channel) -> Result<ItemInput, FieldErrors> {
    ItemInput::parse(
        channel,
        &f.text,
        &f.raised_by,
        &f.phone,
        f.publish_name.is_some(),
    )
}

pub async fn raise(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::RaiseCouncilItems>()?;
    let f: CouncilItemForm = form.parse()?;
    let Some(channel) = super::staff_channel(&f.channel) else {
        let e = FieldErrors::from(FieldError::new("channel", "err.choice"));
        return council_page(&state, &p, id, Back::Item(f), &e, None).await;
    };
    let input = match item_input(&f, channel) {
        Ok(i) => i,
        Err(e) => return council_page(&state, &p, id, Back::Item(f), &e, None).await,
    };
    let result = state
        .db
        .write(move |c| {
            let council = db::get(c, actor.scope(), id)?;
            items::raise(c, &actor, &council, &input)
        })
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/councils/{id}?done=item#waiting")).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => {
            council_page(&state, &p, id, Back::Item(f), &e, None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize, Default, Clone)]
pub struct FollowUpForm {
    #[serde(default)]
    pub version: i32,
    #[serde(default)]
    pub done_on: String,
    #[serde(default)]
    pub outcome: String,
}

pub async fn follow_up(
    State(state): State<AppState>,
    p: Principal,
    Path((id, item)): Path<(i64, i64)>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::RunCouncils>()?;
    let f: FollowUpForm = form.parse()?;
    let today = shiliu_db::today();
    let (done_on, outcome, version) = (f.done_on.clone(), f.outcome.clone(), f.version);
    let result = state
        .db
        .write(move |c| {
            let council = db::get_run(c, &actor, id)?;
            let it = items::get(c, &council, item)?;
            let held = items::meeting_of(c, &council, &it)?.map_or(today, |m| m.held_on);
            let fu = FollowUp::parse(&done_on, &outcome, held, today)?;
            items::follow_up(c, &actor, &council, (item, version), &fu)
        })
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/councils/{id}?done=done#follow-up")).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => {
            council_page(&state, &p, id, Back::FollowUp(item, f), &e, None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    day: String,
    /// Ticked: the day is called off for everyone.
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn cancel(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::RunCouncils>()?;
    let f: CancelForm = form.parse()?;
    if f.confirm.is_none() {
        let e = FieldErrors::from(FieldError::new("confirm", "err.confirm"));
        return council_page(&state, &p, id, Back::None, &e, None).await;
    }
    let Ok(day) = NaiveDate::parse_from_str(f.day.trim(), "%Y-%m-%d") else {
        let e = FieldErrors::from(FieldError::new("day", "err.date"));
        return council_page(&state, &p, id, Back::None, &e, None).await;
    };
    let today = shiliu_db::today();
    match state
        .db
        .write(move |c| {
            let council = db::get_run(c, &actor, id)?;
            meetings::cancel(c, &actor, &council, day, today)
        })
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/councils/{id}?done=cancelled")).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => {
            council_page(&state, &p, id, Back::None, &e, None).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Where a request came from when a council handed it on (议事会转办), for the request's page:
/// a link to the meeting that decided it, shown to those who read that council.
pub(crate) struct RequestOrigin {
    pub href: String,
    pub text: String,
}

pub(crate) async fn for_request(
    state: &AppState,
    p: &Principal,
    r: &shiliu_db::requests::Request,
) -> AppResult<Option<RequestOrigin>> {
    if !p.can(Permission::ViewCouncils) {
        return Ok(None);
    }
    let actor = p.require::<grants::ViewCouncils>()?;
    let r = r.clone();
    let found = state
        .db
        .read(move |c| items::of_request(c, actor.scope(), &r))
        .await?;
    let t = p.t();
    Ok(found.map(|(c, _, m)| match m {
        Some(m) => RequestOrigin {
            href: format!("/councils/{}/meetings/{}", c.id, m.id),
            text: t.f(
                "councils.meeting_of",
                &[("name", c.name.as_str()), ("day", &m.held_on.to_string())],
            ),
        },
        None => RequestOrigin {
            href: format!("/councils/{}", c.id),
            text: c.name,
        },
    }))
}
