//! 流出地与流入地联动 as pages: the home side's list of its out-migrants (limited fields,
//! audited), and requests for assistance (协查 / 协助) between the two sides with their
//! replies and due days. The rules are `shiliu_db::registry::linkage`'s.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::registry::linkage::{self as db, Assist, OutMigrant, OutMigrantFilter, Side};
use shiliu_db::scope::Can;
use shiliu_db::scope::grants;
use shiliu_db::{DbError, org as org_db};
use shiliu_domain::FieldErrors;
use shiliu_domain::registry::{AssistInput, AssistKind, AssistStatus, Employment};
use shiliu_domain::roles::Permission;

use crate::web::error::AppResult;
use crate::web::i18n::T;
use crate::web::page::PAGE;
use crate::web::page::{Layout, Saved, options, render, render_form, show_minute};
use crate::web::pickers::Picker;
use crate::web::{AppState, Principal};

/// The ids of the city, county and township in a region path (`/gx/city/county/town/…/`).
pub(crate) fn place_ids(path: &str) -> Vec<i64> {
    crate::web::page::path_ids(path)
        .into_iter()
        .skip(1)
        .take(3)
        .collect()
}

/// The names of the places of these paths, down to the township.
fn places(
    c: &mut shiliu_db::DbConnection,
    paths: &[&str],
) -> Result<std::collections::HashMap<String, String>, DbError> {
    let mut ids: Vec<i64> = paths.iter().flat_map(|p| place_ids(p)).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = org_db::region_names(c, &ids)?;
    Ok(paths
        .iter()
        .map(|p| {
            let name: String = place_ids(p)
                .iter()
                .filter_map(|id| names.get(id).map(String::as_str))
                .collect();
            ((*p).to_string(), name)
        })
        .collect())
}

/// The form's labels for the rule's field names.
const ALIASES: &[(&str, &str)] = &[
    ("kind", "assist_kind"),
    ("person_id", "assist_person"),
    ("reply", "assist_reply"),
    ("subject", "assist_subject"),
    ("body", "assist_body"),
];

pub struct MigrantRow {
    pub id: i64,
    pub name: String,
    pub sex: String,
    pub age: i32,
    pub people: String,
    pub hukou: String,
    pub lives_in: String,
    pub arrived_on: String,
    pub employment: String,
    pub occupation: String,
}

fn migrant_row(m: &OutMigrant, lives_in: String, t: T, today: chrono::NaiveDate) -> MigrantRow {
    MigrantRow {
        id: m.id,
        name: m.name.clone(),
        sex: t.label("sex", &m.sex),
        age: crate::registry::pages::age(m.birth_date, today),
        people: crate::registry::pages::people_name(&m.people),
        hukou: crate::registry::pages::place_name(&m.hukou),
        lives_in,
        arrived_on: m.arrived_on.map(|d| d.to_string()).unwrap_or_default(),
        employment: m
            .employment
            .as_deref()
            .map(|e| t.label("employment", e))
            .unwrap_or_default(),
        occupation: m.occupation.clone().unwrap_or_default(),
    }
}

/// The out-migrants' filters, as the page and the API take them; a value that is not a code
/// is refused naming its field.
pub(crate) fn out_migrant_filter(
    hukou: &str,
    people: &str,
    employment: &str,
) -> Result<OutMigrantFilter, FieldErrors> {
    let mut errs = FieldErrors::new();
    let (people, hukou, employment) =
        crate::registry::pages::person_filters(&mut errs, people, hukou, employment);
    errs.into_result()?;
    Ok(OutMigrantFilter {
        hukou,
        people,
        employment,
    })
}

#[derive(Deserialize, Default)]
pub struct MigrantQuery {
    #[serde(default)]
    hukou: String,
    #[serde(default)]
    people: String,
    #[serde(default)]
    employment: String,
    before: Option<i64>,
}

impl MigrantQuery {
    fn filter(&self) -> Result<OutMigrantFilter, FieldErrors> {
        out_migrant_filter(&self.hukou, &self.people, &self.employment)
    }

    fn query_string(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for (k, v) in [
            ("hukou", &self.hukou),
            ("people", &self.people),
            ("employment", &self.employment),
        ] {
            if !v.is_empty() {
                let _ = write!(out, "{k}={}&", crate::web::urlencode(v));
            }
        }
        out
    }
}

#[derive(Template)]
#[template(path = "registry/out_migrants.html")]
struct MigrantsPage {
    l: Layout,
    q: MigrantQuery,
    origins: String,
    rows: Vec<MigrantRow>,
    next: Option<String>,
    peoples: Vec<(String, String)>,
    employments: Vec<(String, String)>,
    can_ask: bool,
    /// The 户籍地 filter, by name.
    hukou: Picker,
}

/// The home side's out-migrants (流出地): people whose 户籍地 lies in the reader's division,
/// registered elsewhere, who agreed to it.
pub async fn out_migrants(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<MigrantQuery>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewOutMigrants>()?;
    let t = p.t();
    let f = q.filter()?;
    let origins = actor
        .scope()
        .origins()
        .iter()
        .map(|o| crate::registry::pages::place_name(o))
        .collect::<Vec<_>>()
        .join("、");
    let (rows, places) = state
        .db
        .write(move |c| {
            let rows = db::out_migrants(c, &Can::check(&actor)?, &f, q.before, PAGE + 1)?;
            let paths: Vec<&str> = rows.iter().map(|r| r.region_path.as_str()).collect();
            let places = places(c, &paths)?;
            Ok((rows, places))
        })
        .await?;
    let next = (rows.len() as i64 > PAGE).then(|| {
        format!(
            "/registry/out-migrants?{}before={}",
            q.query_string(),
            rows[PAGE as usize - 1].id
        )
    });
    let today = shiliu_db::today();
    Ok(crate::registry::pages::no_store(render(&MigrantsPage {
        l: Layout::new(&p, "nav.registry", t.s("linkage.title")),
        origins,
        rows: rows
            .iter()
            .take(PAGE as usize)
            .map(|m| {
                let place = places.get(&m.region_path).cloned().unwrap_or_default();
                migrant_row(m, place, t, today)
            })
            .collect(),
        next,
        peoples: crate::web::page::people_options(),
        employments: options(Employment::ALL, Employment::as_str, "employment", t),
        can_ask: p.can(Permission::ExchangeAssists),
        hukou: Picker::new("hukou-filter", "hukou", t.s("field.hukou"))
            .selected(q.hukou.clone())
            .divisions(t),
        q,
    })?))
}

// ---- Requests for assistance (协查 / 协助) ----

pub struct AssistRow {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub other_side: String,
    pub due_on: String,
    pub status: String,
    pub overdue: bool,
}

#[derive(Deserialize, Default)]
pub struct AssistQuery {
    #[serde(default)]
    side: String,
    #[serde(default)]
    status: String,
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "registry/assists.html")]
struct AssistsPage {
    l: Layout,
    incoming: bool,
    status: String,
    statuses: Vec<(String, String)>,
    rows: Vec<AssistRow>,
    next: Option<String>,
    waiting: i64,
    late: i64,
}

pub async fn assists(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<AssistQuery>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ExchangeAssists>()?;
    let t = p.t();
    let incoming = q.side != "out";
    let side = if incoming {
        Side::Incoming
    } else {
        Side::Outgoing
    };
    let status = AssistStatus::parse(q.status.trim());
    let today = shiliu_db::today();
    let (rows, names, (waiting, late)) = state
        .db
        .write(move |c| {
            let rows = db::list(c, &actor, side, status, q.before, PAGE + 1)?;
            let ids: Vec<i64> = rows
                .iter()
                .map(|a| {
                    if incoming {
                        a.from_region_id
                    } else {
                        a.to_region_id
                    }
                })
                .collect();
            let names = org_db::region_names(c, &ids)?;
            Ok((rows, names, db::waiting(c, actor.scope(), today)?))
        })
        .await?;
    let side_code = if incoming { "in" } else { "out" };
    let next = (rows.len() as i64 > PAGE).then(|| {
        format!(
            "/registry/assists?side={side_code}&status={}&before={}",
            q.status.trim(),
            rows[PAGE as usize - 1].id
        )
    });
    let rows = rows
        .iter()
        .take(PAGE as usize)
        .map(|a| AssistRow {
            id: a.id,
            kind: t.label("assist_kind", &a.kind),
            subject: a.subject.clone(),
            other_side: names
                .get(if incoming {
                    &a.from_region_id
                } else {
                    &a.to_region_id
                })
                .cloned()
                .unwrap_or_default(),
            due_on: a.due_on.to_string(),
            status: t.label("assist_status", &a.status),
            overdue: a.is_overdue(today),
        })
        .collect();
    render(&AssistsPage {
        l: Layout::new(&p, "nav.registry", t.s("assists.title")).flash(s.yes()),
        incoming,
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        statuses: options(AssistStatus::ALL, AssistStatus::as_str, "assist_status", t),
        rows,
        next,
        waiting,
        late,
    })
}

#[derive(Deserialize, Default)]
pub struct AssistForm {
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    due_on: String,
}

#[derive(Template)]
#[template(path = "registry/assist_new.html")]
struct NewPage {
    l: Layout,
    f: AssistForm,
    kinds: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    max_days: i64,
}

fn new_page(p: &Principal, f: AssistForm, errs: &FieldErrors) -> AppResult<Response> {
    let t = p.t();
    render_form(
        &NewPage {
            l: Layout::new(p, "nav.registry", t.s("assists.new")),
            f,
            kinds: options(AssistKind::ALL, AssistKind::as_str, "assist_kind", t),
            errors: t.field_errors_as(errs, ALIASES),
            max_days: shiliu_domain::registry::MAX_ASSIST_DAYS,
        },
        !errs.is_empty(),
    )
}

#[derive(Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    person: String,
}

/// The form, with the person and a due day ten days ahead filled in.
pub async fn new(p: Principal, Query(q): Query<NewQuery>) -> AppResult<Response> {
    p.require::<grants::ExchangeAssists>()?;
    let due = shiliu_db::today() + chrono::Duration::days(10);
    let f = AssistForm {
        person_id: q.person,
        kind: AssistKind::Verify.as_str().to_string(),
        due_on: due.to_string(),
        ..AssistForm::default()
    };
    new_page(&p, f, &FieldErrors::new())
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Form(f): Form<AssistForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ExchangeAssists>()?;
    let input =
        match AssistInput::parse(&f.kind, &f.subject, &f.body, &f.due_on, shiliu_db::today()) {
            Ok(i) => i,
            Err(e) => return new_page(&p, f, &e),
        };
    let Ok(person_id) = f.person_id.trim().parse::<i64>() else {
        return new_page(
            &p,
            f,
            &shiliu_domain::FieldError::new("person_id", "err.assist.person_unknown").into(),
        );
    };
    let result = state
        .db
        .write(move |c| db::ask(c, &actor, person_id, &input))
        .await;
    match result {
        Ok(a) => Ok(Redirect::to(&format!("/registry/assists/{}?done=ask", a.id)).into_response()),
        Err(DbError::Invalid(e)) => new_page(&p, f, &e),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "registry/assist.html")]
struct AssistPage {
    l: Layout,
    a: Assist,
    kind: String,
    status: String,
    overdue: bool,
    from: String,
    to: String,
    person: Option<MigrantRow>,
    /// The person lives in the reader's scope: their record is a link away.
    person_here: bool,
    created: String,
    replied: String,
    may_reply: bool,
    may_close: bool,
    errors: Vec<(String, String)>,
    reply: String,
}

async fn assist_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    reply: String,
    errs: &FieldErrors,
    saved: &Saved,
) -> AppResult<Response> {
    let actor = p.require::<grants::ExchangeAssists>()?;
    let t = p.t();
    let scope = actor.scope().clone();
    let (a, person, names, places) = state
        .db
        .write(move |c| {
            let (a, person) = db::view(c, &actor, id)?;
            let names = org_db::region_names(c, &[a.from_region_id, a.to_region_id])?;
            let paths: Vec<&str> = person.iter().map(|m| m.region_path.as_str()).collect();
            let places = places(c, &paths)?;
            Ok((a, person, names, places))
        })
        .await?;
    let today = shiliu_db::today();
    let open = a.status == AssistStatus::Open.as_str();
    let from = names.get(&a.from_region_id).cloned().unwrap_or_default();
    let to = names.get(&a.to_region_id).cloned().unwrap_or_default();
    // What the step just taken did, naming the other side.
    let said = saved.done(&["ask", "reply", "close"]).map(|d| {
        t.f(
            &format!("done.assist_{d}"),
            &[("from", from.as_str()), ("to", to.as_str())],
        )
    });
    let page = AssistPage {
        l: Layout::new(p, "nav.registry", &a.subject)
            .flash(saved.yes())
            .said(said),
        kind: t.label("assist_kind", &a.kind),
        status: t.label("assist_status", &a.status),
        overdue: a.is_overdue(today),
        from,
        to,
        person_here: person.as_ref().is_some_and(|m| m.lives_in(&scope)),
        person: person.map(|m| {
            let place = places.get(&m.region_path).cloned().unwrap_or_default();
            migrant_row(&m, place, t, today)
        }),
        created: show_minute(a.created_at),
        replied: a.replied_at.map(show_minute).unwrap_or_default(),
        may_reply: open && a.asked_of(&scope),
        may_close: a.status != AssistStatus::Closed.as_str() && a.asked_by(&scope),
        errors: t.field_errors_as(errs, ALIASES),
        reply,
        a,
    };
    Ok(crate::registry::pages::no_store(render_form(
        &page,
        !errs.is_empty(),
    )?))
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    assist_page(&state, &p, id, String::new(), &FieldErrors::new(), &s).await
}

#[derive(Deserialize, Default)]
pub struct ReplyForm {
    #[serde(default)]
    version: i32,
    #[serde(default)]
    reply: String,
}

pub async fn reply(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<ReplyForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ExchangeAssists>()?;
    let text = f.reply.clone();
    let result = state
        .db
        .write(move |c| db::reply(c, &actor, id, f.version, &text))
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/registry/assists/{id}?done=reply")).into_response()),
        Err(DbError::Invalid(e)) => {
            assist_page(&state, &p, id, f.reply, &e, &Saved::default()).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn close(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<ReplyForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ExchangeAssists>()?;
    let result = state
        .db
        .write(move |c| db::close(c, &actor, id, f.version))
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/registry/assists/{id}?done=close")).into_response()),
        Err(DbError::Invalid(e)) => {
            assist_page(&state, &p, id, String::new(), &e, &Saved::default()).await
        }
        Err(e) => Err(e.into()),
    }
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/registry/out-migrants", get(out_migrants))
        .route("/registry/assists", get(assists).post(create))
        .route("/registry/assists/new", get(new))
        .route("/registry/assists/{id}", get(show))
        .route("/registry/assists/{id}/reply", post(reply))
        .route("/registry/assists/{id}/close", post(close))
}
