//! A council's meetings as pages: recording one held (the day, who came, the notes), its page
//! with the items it settled and those waiting — each decided (who, by when), declined with the
//! reason, or handed to the requests loop — the minutes corrected, and the printable 会议纪要.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use shiliu_db::councils::items::{self, Followed, Item};
use shiliu_db::councils::meetings::{self, Meeting};
use shiliu_db::councils::{self as db, Council, Member};
use shiliu_db::scope::grants;
use shiliu_domain::councils::{Decision, MeetingInput, MemberRole};
use shiliu_domain::roles::Permission;
use shiliu_domain::{FieldError, FieldErrors};

use crate::web::error::AppResult;
use crate::web::files::FormData;
use crate::web::i18n::T;
use crate::web::page::{Layout, Saved, render, render_form};
use crate::web::{AppState, Principal};

pub(crate) fn routes() -> crate::Routes {
    crate::Routes::new(file!())
        .route("/councils/{id}/meetings", post(create))
        .route("/councils/{id}/meetings/new", get(new))
        .route("/councils/{id}/meetings/{meeting}", get(show).post(update))
        .route(
            "/councils/{id}/meetings/{meeting}/items/{item}",
            post(settle),
        )
        .route("/councils/{id}/meetings/{meeting}/minutes", get(minutes))
}

/// The minutes' form as posted: the day, the members present (`present`, repeated), others
/// present, the notes.
#[derive(Debug, Clone, Default)]
pub struct MinutesForm {
    pub held_on: String,
    pub present: Vec<String>,
    pub guests: String,
    pub notes: String,
    pub version: i32,
}

impl MinutesForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "held_on" => f.held_on.clone_from(v),
                "present" => f.present.push(v.clone()),
                "guests" => f.guests.clone_from(v),
                "notes" => f.notes.clone_from(v),
                "version" => f.version = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
        f
    }

    fn parse(&self) -> Result<MeetingInput, FieldErrors> {
        MeetingInput::parse(
            &self.held_on,
            &self.present,
            &self.guests,
            &self.notes,
            shiliu_db::today(),
        )
    }

    fn of(m: &Meeting, present: &[i64]) -> Self {
        Self {
            held_on: m.held_on.to_string(),
            present: present.iter().map(ToString::to_string).collect(),
            guests: m.guests.to_string(),
            notes: m.notes.clone().unwrap_or_default(),
            version: m.version,
        }
    }
}

/// A member as the attendance ticks show them.
pub struct Tick {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub checked: bool,
}

fn ticks(t: T, members: &[Member], present: &[String]) -> Vec<Tick> {
    members
        .iter()
        .filter(|m| m.active || present.contains(&m.id.to_string()))
        .map(|m| Tick {
            id: m.id,
            name: m.name.clone(),
            role: t.label("member_role", &m.role),
            checked: present.contains(&m.id.to_string()),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "councils/meeting_new.html")]
struct NewPage {
    l: Layout,
    c: Council,
    d: MinutesForm,
    ticks: Vec<Tick>,
    waiting: usize,
    errors: Vec<(String, String)>,
}

async fn new_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    d: MinutesForm,
    errs: &FieldErrors,
) -> AppResult<Response> {
    let actor = p.require::<grants::RunCouncils>()?;
    let t = p.t();
    let (c, members, waiting) = state
        .db
        .read(move |conn| {
            let c = db::get_run(conn, &actor, id)?;
            Ok((c.clone(), db::members(conn, &c)?, items::waiting(conn, &c)?))
        })
        .await?;
    render_form(
        &NewPage {
            l: Layout::new(p, "nav.councils", t.s("councils.record_meeting")),
            ticks: ticks(t, &members, &d.present),
            waiting: waiting.len(),
            c,
            d,
            errors: super::field_errors(t, errs),
        },
        !errs.is_empty(),
    )
}

#[derive(serde::Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    day: String,
}

pub async fn new(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    let today = shiliu_db::today();
    // A day to come cannot have minutes yet: the form starts at today, else the day named.
    let day = chrono::NaiveDate::parse_from_str(q.day.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| *d <= today)
        .unwrap_or(today);
    let d = MinutesForm {
        held_on: day.to_string(),
        ..MinutesForm::default()
    };
    new_page(&state, &p, id, d, &FieldErrors::new()).await
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::RunCouncils>()?;
    let d = MinutesForm::from_pairs(&form.pairs);
    let input = match d.parse() {
        Ok(i) => i,
        Err(e) => return new_page(&state, &p, id, d, &e).await,
    };
    let result = state
        .db
        .write(move |c| {
            let council = db::get_run(c, &actor, id)?;
            meetings::record(c, &actor, &council, &input)
        })
        .await;
    match result {
        Ok(m) => {
            Ok(Redirect::to(&format!("/councils/{id}/meetings/{}?saved=1", m.id)).into_response())
        }
        Err(shiliu_db::DbError::Invalid(e)) => new_page(&state, &p, id, d, &e).await,
        Err(e) => Err(e.into()),
    }
}

// ---- a meeting ---------------------------------------------------------------------------

/// An item as the meeting page and the minutes show it.
pub struct ItemRow {
    pub f: Followed,
    pub channel: String,
    pub status: String,
    pub raised_by: String,
}

fn item_rows(t: T, list: Vec<Followed>) -> Vec<ItemRow> {
    list.into_iter()
        .map(|f| ItemRow {
            channel: t.label("item_channel", &f.item.channel),
            status: match (&f.request_status, f.item.status().as_str()) {
                (Some(s), "referred") => format!(
                    "{}（{}）",
                    t.label("item_status", "referred"),
                    t.label("status", s)
                ),
                (_, s) => t.label("item_status", s),
            },
            raised_by: f.item.raised_by.clone().unwrap_or_default(),
            f,
        })
        .collect()
}

/// What a form to settle an item came back with.
#[derive(serde::Deserialize, Default, Clone)]
pub struct SettleForm {
    #[serde(default)]
    pub version: i32,
    /// `decide`, `decline` or `refer`.
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub responsible: String,
    #[serde(default)]
    pub due_on: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub category_id: String,
    /// Ticked: handing the item to a request cannot be taken back.
    #[serde(default)]
    pub confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "councils/meeting.html")]
struct MeetingPage {
    l: Layout,
    c: Council,
    m: Meeting,
    settled: Vec<ItemRow>,
    waiting: Vec<Item>,
    present: Vec<Tick>,
    can_run: bool,
    can_refer: bool,
    categories: Vec<(String, String)>,
    /// The item whose form came back, with what it held.
    back: (i64, SettleForm),
    d: MinutesForm,
    minutes_open: bool,
    errors: Vec<(String, String)>,
}

/// Which of the meeting page's forms came back.
enum Back {
    None,
    Settle(i64, SettleForm),
    Minutes(MinutesForm),
}

async fn meeting_page(
    state: &AppState,
    p: &Principal,
    (id, meeting): (i64, i64),
    back: Back,
    errs: &FieldErrors,
    said: Option<String>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewCouncils>()?;
    let t = p.t();
    let (c, m, settled, waiting, members, present, categories) = state
        .db
        .read(move |conn| {
            let c = db::get(conn, actor.scope(), id)?;
            let m = meetings::get(conn, &c, meeting)?;
            Ok((
                c.clone(),
                m.clone(),
                items::of_meeting(conn, &c, &m)?,
                items::waiting(conn, &c)?,
                db::members(conn, &c)?,
                meetings::attendance(conn, &m)?,
                shiliu_db::requests::categories(conn, false)?,
            ))
        })
        .await?;
    let can_run = p
        .require::<grants::RunCouncils>()
        .is_ok_and(|a| c.run_by(&a))
        && m.held();
    let (settle_back, d, minutes_open) = match back {
        Back::None => (
            (0, SettleForm::default()),
            MinutesForm::of(&m, &present),
            false,
        ),
        Back::Settle(i, f) => ((i, f), MinutesForm::of(&m, &present), false),
        Back::Minutes(f) => ((0, SettleForm::default()), f, true),
    };
    render_form(
        &MeetingPage {
            l: Layout::new(
                p,
                "nav.councils",
                &t.f(
                    "councils.meeting_of",
                    &[
                        ("name", c.name.as_str()),
                        ("day", m.held_on.to_string().as_str()),
                    ],
                ),
            )
            .said(said),
            settled: item_rows(t, settled),
            waiting,
            present: ticks(t, &members, &d.present),
            can_run,
            can_refer: p.can(Permission::CreateRequests),
            categories: crate::requests::pages::category_names(&categories, t),
            back: settle_back,
            d,
            minutes_open,
            errors: super::field_errors(t, errs),
            c,
            m,
        },
        !errs.is_empty(),
    )
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path((id, meeting)): Path<(i64, i64)>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    let t = p.t();
    let said = s
        .done(&["decide", "decline", "refer"])
        .map(|d| t.s(&format!("councils.done_{d}")).to_string())
        .or_else(|| s.yes().then(|| t.s("saved").to_string()));
    meeting_page(
        &state,
        &p,
        (id, meeting),
        Back::None,
        &FieldErrors::new(),
        said,
    )
    .await
}

pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path((id, meeting)): Path<(i64, i64)>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::RunCouncils>()?;
    let d = MinutesForm::from_pairs(&form.pairs);
    let input = match d.parse() {
        Ok(i) => i,
        Err(e) => {
            return meeting_page(&state, &p, (id, meeting), Back::Minutes(d), &e, None).await;
        }
    };
    let version = d.version;
    let result = state
        .db
        .write(move |c| {
            let council = db::get_run(c, &actor, id)?;
            meetings::update(c, &actor, &council, meeting, version, &input)
        })
        .await;
    match result {
        Ok(_) => {
            Ok(Redirect::to(&format!("/councils/{id}/meetings/{meeting}?saved=1")).into_response())
        }
        Err(shiliu_db::DbError::Invalid(e)) => {
            meeting_page(&state, &p, (id, meeting), Back::Minutes(d), &e, None).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn settle(
    State(state): State<AppState>,
    p: Principal,
    Path((id, meeting, item)): Path<(i64, i64, i64)>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::RunCouncils>()?;
    let f: SettleForm = form.parse()?;
    let back = |f: &SettleForm| Back::Settle(item, f.clone());
    let action = f.action.clone();
    let intake = if action == "refer" {
        Some(p.require::<grants::CreateRequests>()?)
    } else {
        None
    };
    let g = f.clone();
    let result = state
        .db
        .write(move |c| {
            let council = db::get_run(c, &actor, id)?;
            let m = meetings::get(c, &council, meeting)?;
            let at = (item, g.version);
            match (g.action.as_str(), intake) {
                ("decide", _) => {
                    let d = Decision::parse(&g.decision, &g.responsible, &g.due_on, m.held_on)?;
                    items::decide(c, &actor, &council, &m, at, &d).map(|_| ())
                }
                ("decline", _) => {
                    items::decline(c, &actor, &council, &m, at, &g.reason).map(|_| ())
                }
                ("refer", Some(_)) if g.confirm.is_none() => {
                    Err(FieldError::new("confirm", "err.confirm").into())
                }
                ("refer", Some(intake)) => {
                    let category = g
                        .category_id
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| FieldError::new("category_id", "err.required"))?;
                    items::refer(c, &actor, &intake, (&council, &m), at, category).map(|_| ())
                }
                _ => Err(FieldError::new("action", "err.choice").into()),
            }
        })
        .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "/councils/{id}/meetings/{meeting}?done={action}#settled"
        ))
        .into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => {
            meeting_page(&state, &p, (id, meeting), back(&f), &e, None).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- the minutes -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "councils/minutes.html")]
struct MinutesPage {
    t: T,
    version: &'static str,
    c: Council,
    m: Meeting,
    region_name: String,
    conveners: Vec<String>,
    present: Vec<String>,
    absent: Vec<String>,
    items: Vec<ItemRow>,
}

pub async fn minutes(
    State(state): State<AppState>,
    p: Principal,
    Path((id, meeting)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewCouncils>()?;
    let t = p.t();
    let (c, m, region_name, settled, members, present) = state
        .db
        .read(move |conn| {
            let c = db::get(conn, actor.scope(), id)?;
            let m = meetings::get(conn, &c, meeting)?;
            Ok((
                c.clone(),
                m.clone(),
                db::region_name(conn, &c)?,
                items::of_meeting(conn, &c, &m)?,
                db::members(conn, &c)?,
                meetings::attendance(conn, &m)?,
            ))
        })
        .await?;
    let named = |keep: &dyn Fn(&Member) -> bool| -> Vec<String> {
        members
            .iter()
            .filter(|m| keep(m))
            .map(|m| match &m.note {
                Some(n) => format!("{}（{n}）", m.name),
                None => m.name.clone(),
            })
            .collect()
    };
    render(&MinutesPage {
        t,
        version: env!("CARGO_PKG_VERSION"),
        conveners: named(&|m| m.role() == MemberRole::Convener && present.contains(&m.id)),
        absent: named(&|m| {
            m.active && !present.contains(&m.id) && m.role() != MemberRole::Attendee
        }),
        present: named(&|m| present.contains(&m.id)),
        items: item_rows(t, settled),
        region_name,
        c,
        m,
    })
}
