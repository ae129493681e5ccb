//! The residents' self-service pages, without an account: pick the place, submit a request,
//! get a tracking code, follow it, read the reply, rate the handling. Abuse limits: per client
//! address (this node) and per phone number (the database); lookups by code are limited too,
//! so codes cannot be guessed by trying, and no page lists anyone else's requests.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use shiliu_domain::files::FileLimits;

use crate::web::files::FormData;
use crate::web::pending::{Kept, keep_for_next_send};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::org::{Region, atlas};
use shiliu_db::requests::{self as db, StepInput};
use shiliu_db::scope::Actor;
use shiliu_domain::org::RegionKind;
use shiliu_domain::requests::{ActionInput, Channel, Point, Rating, Status};
use shiliu_domain::{FieldError, FieldErrors};

use crate::web::error::{AppError, AppResult};
use crate::web::i18n::T;
use crate::web::page::{Layout, render};
use crate::web::{AppState, Ctx, PRE_CSRF_COOKIE, Via, random_token, set_cookie};

/// Requests one client address may submit per hour, one phone number per day, and codes one
/// address may look up per hour.
pub(crate) const PER_ADDRESS_PER_HOUR: u32 = 10;
const PER_PHONE_PER_DAY: i64 = 3;
pub(crate) const LOOKUPS_PER_HOUR: u32 = 120;
pub(crate) const HOUR: std::time::Duration = std::time::Duration::from_hours(1);

/// The token a public form carries: the session's when signed in, else a double-submit cookie.
pub(crate) fn form_token(ctx: &Ctx) -> (String, bool) {
    if let Some(crate::web::Authenticated {
        via: Via::Session { csrf, .. },
        ..
    }) = &ctx.auth
    {
        return (csrf.clone(), false);
    }
    match ctx.pre_csrf.clone().filter(|c| c.len() >= 16) {
        Some(c) => (c, false),
        None => (random_token(24), true),
    }
}

pub(crate) fn with_token(mut resp: Response, state: &AppState, token: &str, set: bool) -> Response {
    if set {
        resp.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(
                PRE_CSRF_COOKIE,
                token,
                None,
                true,
                state.config.secure_cookies,
            ),
        );
    }
    resp
}

/// The resident acting, for the audit log and the request's history.
pub(crate) fn resident(ctx: &Ctx) -> Actor {
    Actor::resident(&ctx.request_id, &ctx.client_addr)
}

/// A place being picked on a public page: the region chosen so far (none: the top of the
/// tree), its active children, and the names from below the province down to it.
pub(crate) async fn picking(
    state: &AppState,
    region: Option<i64>,
) -> AppResult<(Option<Region>, Vec<Region>, Vec<String>)> {
    Ok(state
        .db
        .read(move |c| {
            let current = match region {
                Some(id) => Some(atlas::region(c, id)?),
                None => None,
            };
            let parent = match &current {
                Some(r) => r.id,
                None => atlas::roots(c)?
                    .first()
                    .map(|r| r.id)
                    .ok_or(shiliu_db::DbError::NotFound)?,
            };
            let children = atlas::children(c, parent)?;
            let crumbs = match &current {
                Some(r) => atlas::ancestor_names(c, r)?
                    .into_iter()
                    .skip(1)
                    .chain([r.name.clone()])
                    .collect(),
                None => vec![],
            };
            Ok((current, children, crumbs))
        })
        .await?)
}

/// A region's name with its ancestors' below the province, as residents read a place.
pub(crate) async fn place_name(state: &AppState, region: i64) -> AppResult<String> {
    Ok(picking(state, Some(region)).await?.2.concat())
}

/// The place a site's QR code opens a public form at: the site's region (where its requests
/// and declarations belong, so routing finds the site), and the words residents read for it —
/// the site's name and the place above any grid, since a grid is nothing a resident knows.
/// An unknown or closed site: none, and the form asks for the place.
pub(crate) async fn site_place(state: &AppState, site: i64) -> AppResult<Option<(i64, String)>> {
    let found = state
        .db
        .read(move |c| match atlas::open_site(c, site) {
            Ok((region_id, name)) => {
                let region = atlas::region(c, region_id)?;
                let named = match region.parent_id {
                    Some(parent) if region.kind() == RegionKind::Grid => parent,
                    _ => region.id,
                };
                Ok(Some((region_id, name, named)))
            }
            Err(shiliu_db::DbError::NotFound) => Ok(None),
            Err(e) => Err(e),
        })
        .await?;
    Ok(match found {
        Some((region, name, named)) => {
            let place = place_name(state, named).await?;
            Some((region, format!("{name}（{place}）")))
        }
        None => None,
    })
}

#[derive(Template)]
#[template(path = "requests/public_pick.html")]
struct PickPage {
    l: Layout,
    crumbs: Vec<String>,
    here: Option<(i64, String)>,
    children: Vec<(i64, String)>,
    /// What the resident's position told: the county found, or that none was.
    located: Option<String>,
    /// Whether to offer finding the county from the resident's position (at the top).
    offer_locate: bool,
}

#[derive(Template)]
#[template(path = "requests/public_new.html")]
struct NewPage {
    l: Layout,
    csrf: String,
    region: i64,
    place: String,
    categories: Vec<(String, String)>,
    d: PublicForm,
    question_sets: Vec<crate::requests::questions::QuestionSet>,
    errors: Vec<(String, String)>,
    /// Photos sent with an earlier try of this form, held for the next send.
    kept: Kept,
}

#[derive(Deserialize, Default)]
pub struct PickQuery {
    #[serde(default)]
    region: Option<i64>,
    #[serde(default)]
    here: Option<String>,
    /// From a site's poster: the form opens at that site's place.
    #[serde(default)]
    site: Option<i64>,
    /// The resident's position (the phone's, when they ask for it): with no region picked,
    /// the picking starts at the county it lies in.
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    longitude: String,
}

/// The county a position given on the public page lies in, and the words that say what was
/// found: None when no position was given.
async fn locate(state: &AppState, t: T, q: &PickQuery) -> AppResult<Option<(Option<i64>, String)>> {
    let Ok(Some(point)) = Point::parse("latitude", &q.latitude, &q.longitude) else {
        return Ok(None);
    };
    let county = state
        .db
        .read(move |c| atlas::county_at(c, (point.long, point.lat)))
        .await?;
    Ok(Some(match county {
        Some(r) => (Some(r.id), t.f("public.located", &[("name", &r.name)])),
        None => (None, t.s("public.not_located").to_string()),
    }))
}

#[derive(Deserialize, Default, Clone)]
pub struct PublicForm {
    #[serde(default)]
    region: i64,
    /// The site whose poster the resident scanned, carried so the place reads the same after
    /// an error.
    #[serde(default)]
    site: Option<i64>,
    #[serde(default)]
    category_id: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    /// Filled by "use my location" (degrees), kept with the place.
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    longitude: String,
    #[serde(default)]
    consent: Option<String>,
    /// "Send me SMS about it": unticked unless the resident ticks it.
    #[serde(default)]
    sms: Option<String>,
}

/// Where a request can be made: a township, or a community below it.
fn is_final(r: &Region, children: &[Region]) -> bool {
    match r.kind() {
        RegionKind::Community | RegionKind::Grid => true,
        RegionKind::Township => children.is_empty(),
        _ => false,
    }
}

pub async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PickQuery>,
) -> AppResult<Response> {
    let t = ctx.t;
    if let Some(site) = q.site
        && let Some((region, place)) = site_place(&state, site).await?
    {
        let d = PublicForm {
            site: Some(site),
            ..PublicForm::default()
        };
        return form_at(
            &state,
            &ctx,
            (region, place),
            d,
            &[],
            &FieldErrors::new(),
            Kept::default(),
        )
        .await;
    }
    let located = match q.region {
        Some(_) => None,
        None => locate(&state, t, &q).await?,
    };
    let region = q.region.or(located.as_ref().and_then(|l| l.0));
    let (current, mut children, crumbs) = picking(&state, region).await?;
    children.retain(|r| r.kind() != RegionKind::Grid);
    if let Some(r) = current
        .filter(|r| q.here.is_some() && r.kind() == RegionKind::Township || is_final(r, &children))
    {
        return form(
            &state,
            &ctx,
            r.id,
            PublicForm::default(),
            &[],
            &FieldErrors::new(),
            Kept::default(),
        )
        .await;
    }
    let here = region
        .zip(crumbs.last().cloned())
        .filter(|_| children.iter().all(|c| c.kind() == RegionKind::Community))
        .map(|(id, name)| (id, t.f("public.here", &[("name", &name)])));
    let page = PickPage {
        l: Layout::anonymous(&ctx, t.s("public.title")),
        crumbs,
        here,
        children: children.into_iter().map(|r| (r.id, r.name)).collect(),
        offer_locate: region.is_none(),
        located: located.map(|l| l.1),
    };
    render(&page)
}

async fn form(
    state: &AppState,
    ctx: &Ctx,
    region: i64,
    d: PublicForm,
    submitted: &[(String, String)],
    errs: &FieldErrors,
    kept: Kept,
) -> AppResult<Response> {
    let from_poster = match d.site {
        Some(site) => site_place(state, site).await?.filter(|(r, _)| *r == region),
        None => None,
    };
    let at = match from_poster {
        Some(at) => at,
        None => (region, place_name(state, region).await?),
    };
    form_at(state, ctx, at, d, submitted, errs, kept).await
}

/// The form at a place picked (its region, and the words residents read for it).
async fn form_at(
    state: &AppState,
    ctx: &Ctx,
    (region, place): (i64, String),
    d: PublicForm,
    submitted: &[(String, String)],
    errs: &FieldErrors,
    kept: Kept,
) -> AppResult<Response> {
    let t = ctx.t;
    // A form sent back with its errors answers 422 Unprocessable Content; a new one 200.
    let status = if errs.0.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let (cats, qs) = state
        .db
        .read(move |c| {
            Ok((
                db::categories(c, false)?,
                db::questions::questions(c, None, false)?,
            ))
        })
        .await?;
    let (token, set) = form_token(ctx);
    let categories = crate::requests::pages::category_names(&cats, t);
    let page = NewPage {
        l: Layout::anonymous(ctx, t.s("public.title")),
        csrf: token.clone(),
        region,
        place,
        question_sets: crate::requests::questions::question_sets(&qs, &categories, submitted, t),
        errors: crate::requests::questions::answer_errors(
            errs,
            &qs,
            d.category_id.parse().unwrap_or(-1),
            t,
        ),
        categories,
        d,
        kept,
    };
    let mut resp = render(&page)?;
    *resp.status_mut() = status;
    Ok(with_token(resp, state, &token, set))
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    submitted: FormData,
) -> AppResult<Response> {
    let t = ctx.t;
    let (d, pairs): (PublicForm, _) = crate::requests::questions::form_with_pairs(&submitted)?;
    let category = d.category_id.parse::<i64>().unwrap_or(-1);
    let parsed = crate::requests::request_input(
        Channel::SelfService,
        &d.description,
        &d.place,
        (&d.latitude, &d.longitude),
        &d.contact_name,
        &d.contact_phone,
        d.consent.is_some(),
    );
    let photos = state.pending.photos(&submitted, "photos", PUBLIC_FILES);
    let (input, files) = match parsed {
        Ok(i) if photos.errors.0.is_empty() => (
            i.with_sms_consent(d.sms.is_some()).with_answers(
                crate::requests::questions::submitted_answers(&pairs, category),
            ),
            photos.files,
        ),
        parsed => {
            let mut e = parsed.err().unwrap_or_default();
            e.0.extend(photos.errors.0);
            let kept = keep_for_next_send(&state.pending, &submitted, photos.files);
            return form(&state, &ctx, d.region, d, &pairs, &e, kept).await;
        }
    };
    let held = files.clone();
    if let Some(refused) = over_limit(&state, &ctx, PublicLimit::Submit("public-request")) {
        return refused;
    }
    let phone = input
        .contact_phone
        .as_ref()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let actor = resident(&ctx);
    let region = d.region;
    let result = state
        .db
        .write(move |c| {
            let since = shiliu_db::now() - chrono::Duration::days(1);
            if db::count_by_phone_since(c, &phone, since)? >= PER_PHONE_PER_DAY {
                return Ok(None);
            }
            let r = db::create(c, &actor, &input, category, region, None)?;
            if !files.is_empty() {
                db::files::attach_to(c, &actor, &r, &files, "photos")?;
            }
            Ok(Some(r))
        })
        .await;
    match result {
        Ok(Some(r)) => Ok(Redirect::to(&format!("/r/{}?new=1", r.code)).into_response()),
        Ok(None) => too_many(&ctx, t),
        Err(shiliu_db::DbError::Invalid(e)) => {
            let kept = keep_for_next_send(&state.pending, &submitted, held);
            form(&state, &ctx, d.region, d, &pairs, &e, kept).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A resident sends at most three photos (no documents) with a request.
const PUBLIC_FILES: FileLimits = FileLimits {
    max_files: 3,
    photos_only: true,
    ..shiliu_domain::files::REQUEST_FILES
};

/// What a public form is about to do, for its flood limit.
pub(crate) enum PublicLimit {
    /// Submit a form of this kind (`public-request`, `public-declaration`): each kind
    /// [`PER_ADDRESS_PER_HOUR`] an hour per address.
    Submit(&'static str),
    /// Look a tracking code up, or act on one: [`LOOKUPS_PER_HOUR`] an hour per address, shared
    /// by every form that takes a code (and Open311's look-ups without a key).
    Lookup,
}

/// The public forms' one flood guard: the 429 page when the address is over the limit.
pub(crate) fn over_limit(
    state: &AppState,
    ctx: &Ctx,
    what: PublicLimit,
) -> Option<AppResult<Response>> {
    let allowed = match what {
        PublicLimit::Submit(kind) => {
            state.allow(kind, &ctx.client_addr, PER_ADDRESS_PER_HOUR, HOUR)
        }
        PublicLimit::Lookup => {
            state.allow("public-lookup", &ctx.client_addr, LOOKUPS_PER_HOUR, HOUR)
        }
    };
    (!allowed).then(|| too_many(ctx, ctx.t))
}

pub(crate) fn too_many(ctx: &Ctx, t: T) -> AppResult<Response> {
    let page = PublicTrack {
        l: Layout::anonymous(ctx, t.s("public.title")),
        error: Some(t.s("public.too_many").to_string()),
    };
    let mut r = render(&page)?;
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    Ok(r)
}

#[derive(Template)]
#[template(path = "requests/public_track.html")]
struct PublicTrack {
    l: Layout,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct TrackQuery {
    #[serde(default)]
    code: Option<String>,
}

pub async fn track(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<TrackQuery>,
) -> AppResult<Response> {
    let t = ctx.t;
    let Some(code) = q
        .code
        .map(|c| c.trim().to_uppercase())
        .filter(|c| !c.is_empty())
    else {
        return render(&PublicTrack {
            l: Layout::anonymous(&ctx, t.s("public.track_title")),
            error: None,
        });
    };
    if let Some(refused) = over_limit(&state, &ctx, PublicLimit::Lookup) {
        return refused;
    }
    let c2 = code.clone();
    match state.db.read(move |c| db::by_code(c, &c2)).await {
        Ok(_) => Ok(Redirect::to(&format!("/r/{code}")).into_response()),
        Err(shiliu_db::DbError::NotFound) => {
            let mut r = render(&PublicTrack {
                l: Layout::anonymous(&ctx, t.s("public.track_title")),
                error: Some(t.s("public.not_found").to_string()),
            })?;
            *r.status_mut() = StatusCode::NOT_FOUND;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "requests/public_status.html")]
struct StatusPage {
    l: Layout,
    code: String,
    created: bool,
    message: Option<String>,
    facts: Vec<(String, String)>,
    /// What happened, oldest first: (when, what).
    timeline: Vec<(String, String)>,
    can_rate: bool,
    csrf: String,
    ratings: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct StatusQuery {
    #[serde(default)]
    new: Option<String>,
    #[serde(default)]
    rated: Option<String>,
}

pub async fn status(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<StatusQuery>,
) -> AppResult<Response> {
    let t = ctx.t;
    if let Some(refused) = over_limit(&state, &ctx, PublicLimit::Lookup) {
        return refused;
    }
    let c2 = code.clone();
    let (r, cats, events, site) = state
        .db
        .read(move |c| {
            let r = db::by_code(c, &c2)?;
            let events = db::events(c, &r)?;
            let mut site = atlas::site_name_of(c, r.site_id)?;
            // Taken on by the grid worker (我来办): their grid, never their name.
            if site.is_empty() && db::on_the_spot::handler_of(c, r.id)?.is_some() {
                site = t.f(
                    "public.grid_worker_of",
                    &[("grid", atlas::region(c, r.region_id)?.name.as_str())],
                );
            }
            let mut named = std::collections::HashMap::new();
            for e in &events {
                if let Some(id) = e.detail_site() {
                    named.insert(id, atlas::site_name(c, id)?);
                }
            }
            Ok((r, db::categories(c, true)?, (events, named), site))
        })
        .await?;
    let category = crate::requests::pages::category_names(&cats, t)
        .into_iter()
        .find(|(i, _)| *i == r.category_id.to_string())
        .map(|(_, n)| n)
        .unwrap_or_default();
    let minute = crate::web::page::show_minute;
    // What the resident wrote and what we answer, where it is handled and by when; never the
    // contact details or which staff member handled it.
    let self_sent = r.channel == Channel::SelfService.as_str();
    let mut facts = vec![
        (t.s("requests.code").to_string(), r.code.clone()),
        (
            t.s("field.status").to_string(),
            resident_status(t, &r, self_sent),
        ),
        (t.s("field.category_id").to_string(), category),
        (t.s("field.description").to_string(), r.description.clone()),
        (t.s("requests.received").to_string(), minute(r.received_at)),
    ];
    if !site.is_empty() {
        facts.push((t.s("public.handled_by").to_string(), site));
    }
    if let Some(due) = r.due_at.filter(|_| r.resolved_at.is_none()) {
        facts.push((t.s("requests.due").to_string(), minute(due)));
    }
    if let Some(reply) = &r.reply {
        facts.push((t.s("field.reply").to_string(), reply.clone()));
    }
    if let Some(x) = &r.rating {
        facts.push((t.s("field.rating").to_string(), t.label("rating", x)));
    }
    let timeline = public_timeline(t, &events.0, &events.1, self_sent);
    let (token, set) = form_token(&ctx);
    let page = StatusPage {
        l: Layout::anonymous(&ctx, t.s("public.track_title")),
        code: r.code.clone(),
        created: q.new.is_some(),
        message: q.rated.is_some().then(|| t.s("public.rated").to_string()),
        facts,
        timeline,
        can_rate: r.status() == Status::Resolved,
        csrf: token.clone(),
        ratings: Rating::ALL
            .iter()
            .map(|o| (o.as_str().to_string(), t.label("rating", o.as_str())))
            .collect(),
    };
    Ok(with_token(render(&page)?, &state, &token, set))
}

/// A request's status as its resident reads it: what they sent themselves (`self_sent`) is
/// submitted until someone takes it on (已受理 would say staff had).
fn resident_status(t: T, r: &db::Request, self_sent: bool) -> String {
    if self_sent && r.status() == Status::Received {
        t.s("public_step.submitted").to_string()
    } else {
        t.label("status", &r.status)
    }
}

/// The steps a resident is shown, as they read them: received, dispatched to a site,
/// accepted (or taken on by the grid worker), resolved (there and then too), rated, reopened, closed. Notes, returns and transfers between staff
/// stay inside.
fn public_timeline(
    t: T,
    events: &[db::RequestEvent],
    sites: &std::collections::HashMap<i64, String>,
    self_sent: bool,
) -> Vec<(String, String)> {
    const SHOWN: [&str; 10] = [
        "receive",
        "dispatch",
        "accept",
        "accept_transfer",
        "take",
        "resolve",
        "resolve_on_the_spot",
        "rate",
        "reopen",
        "close",
    ];
    events
        .iter()
        .filter(|e| SHOWN.contains(&e.action.as_str()))
        .map(|e| {
            let what = match e.detail_site().and_then(|s| sites.get(&s)) {
                Some(site) if matches!(e.action.as_str(), "dispatch" | "accept_transfer") => {
                    t.f("public.dispatched_to", &[("site", site)])
                }
                // What the resident sent themselves arrived; nobody had taken it on yet.
                _ if self_sent && e.action == "receive" => t.s("public_step.submit").to_string(),
                _ => t.label("public_step", &e.action),
            };
            (crate::web::page::show_minute(e.at), what)
        })
        .collect()
}

#[derive(Deserialize)]
pub struct RateForm {
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
}

pub async fn rate(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Form(f): Form<RateForm>,
) -> AppResult<Response> {
    // Each try counts as a look-up of the code, as on the tracking page.
    if let Some(refused) = over_limit(&state, &ctx, PublicLimit::Lookup) {
        return refused;
    }
    let actor = resident(&ctx);
    // The form is checked before the code is looked up, so its errors say nothing of the code.
    let Some(rating) = Rating::parse(&f.rating) else {
        return Err(AppError::Invalid(
            FieldError::new("rating", "err.required").into(),
        ));
    };
    let comment =
        Some(f.comment.trim().chars().take(500).collect::<String>()).filter(|s| !s.is_empty());
    let c2 = code.clone();
    let result = state
        .db
        .write(move |c| {
            let input = StepInput {
                action_input: ActionInput {
                    rating: Some(rating),
                    ..ActionInput::default()
                },
                note: comment,
                ..StepInput::default()
            };
            db::rate_by_code(c, &actor, &c2, &input)
        })
        .await;
    match result {
        Ok(r) => Ok(Redirect::to(&format!("/r/{}?rated=1", r.code)).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => Err(AppError::Invalid(e)),
        Err(e) => Err(e.into()),
    }
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/r", get(start).post(submit))
        .route("/r/track", get(track))
        .route("/r/{code}", get(status))
        .route("/r/{code}/rate", post(rate))
}
