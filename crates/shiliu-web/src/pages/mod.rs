//! Server-rendered pages. Each handler builds a template struct around a [`Layout`].

pub mod admin;
pub mod casework;
pub mod declare;
pub mod evaluation;
pub mod evaluation_results;
pub mod evaluation_scores;
pub mod import;
pub mod linkage;
pub mod needs;
pub mod org;
pub mod public;
pub mod questions;
pub mod registry;
pub mod registry_import;
pub mod registry_stats;
pub mod request_files;
pub mod requests;
pub mod settings;
pub mod stats;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::accounts;
use shiliu_db::org as org_db;
use shiliu_db::scope::Actor;
use shiliu_db::scope::grants;
use shiliu_domain::roles::Permission;

use crate::web::error::{AppError, AppResult, ErrorInfo};
use crate::web::i18n::{Lang, T};
use crate::web::{
    AppState, Ctx, LANG_COOKIE, PRE_CSRF_COOKIE, Principal, SESSION_COOKIE, Via, random_token,
    set_cookie, sha256_hex, urlencode,
};

pub struct NavItem {
    pub key: &'static str,
    pub href: &'static str,
}

pub struct NavUser {
    pub display_name: String,
    pub role_label: String,
}

/// What the base template needs.
pub struct Layout {
    pub t: T,
    pub title: String,
    pub user: Option<NavUser>,
    pub nav: Vec<NavItem>,
    pub active: &'static str,
    pub csrf: String,
    pub other_lang: &'static str,
    pub back: String,
    pub flash: Option<String>,
    pub version: &'static str,
}

/// The navigation: each module appears for the roles that may use it (any of its
/// permissions; none listed: everyone).
const NAV: [(&str, &str, &[Permission]); 14] = [
    ("nav.home", "/", &[]),
    ("nav.requests", "/requests", &[Permission::ViewRequests]),
    ("nav.registry", "/registry", &[Permission::ViewRegistry]),
    ("nav.disputes", "/disputes", &[Permission::ViewRequests]),
    ("nav.legal_aid", "/legal-aid", &[Permission::ViewRequests]),
    (
        "nav.evaluations",
        "/evaluations",
        &[
            Permission::ManageEvaluations,
            Permission::ReviewEvaluations,
            Permission::ReportEvaluations,
        ],
    ),
    ("nav.regions", "/regions", &[Permission::ViewOrg]),
    ("nav.sites", "/sites", &[Permission::ViewOrg]),
    ("nav.units", "/units", &[Permission::ViewOrg]),
    ("nav.users", "/users", &[Permission::ManageUsers]),
    ("nav.audit", "/audit", &[Permission::ViewAudit]),
    ("nav.tokens", "/tokens", &[Permission::ManageApiTokens]),
    (
        "nav.settings",
        "/settings/categories",
        &[Permission::ManageRequestSettings],
    ),
    ("nav.reference", "/reference", &[Permission::ViewOrg]),
];

impl Layout {
    pub fn anonymous(ctx: &Ctx, title: &str) -> Self {
        Self {
            t: ctx.t,
            title: title.to_string(),
            user: None,
            nav: Vec::new(),
            active: "",
            csrf: String::new(),
            other_lang: ctx.t.lang.other().code(),
            back: urlencode(&ctx.path),
            flash: None,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    pub fn new(p: &Principal, active: &'static str, title: &str) -> Self {
        let t = p.t();
        let mut l = Self::anonymous(&p.ctx, title);
        l.user = Some(NavUser {
            display_name: p.user.display_name.clone(),
            role_label: t.label("role", p.role().as_str()),
        });
        l.nav = NAV
            .iter()
            .filter(|(_, _, perms)| perms.is_empty() || perms.iter().any(|x| p.can(*x)))
            .map(|(key, href, _)| NavItem { key, href })
            .collect();
        l.active = active;
        l.csrf = p.csrf().to_string();
        l
    }

    /// A stored timestamp as people read it, in local (China) time, to the minute.
    pub fn minute<D: std::borrow::Borrow<chrono::NaiveDateTime>>(&self, t: D) -> String {
        show_minute(*t.borrow())
    }

    /// The same, to the second (the audit log).
    pub fn second<D: std::borrow::Borrow<chrono::NaiveDateTime>>(&self, t: D) -> String {
        shiliu_domain::calendar::local(*t.borrow())
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }

    /// The local date of a stored timestamp.
    pub fn day<D: std::borrow::Borrow<chrono::NaiveDateTime>>(&self, t: D) -> String {
        shiliu_domain::calendar::local(*t.borrow())
            .format("%Y-%m-%d")
            .to_string()
    }

    #[must_use]
    pub fn flash(mut self, saved: bool) -> Self {
        if saved {
            self.flash = Some(self.t.s("saved").to_string());
        }
        self
    }
}

/// Codes with their labels in the reader's language, for a select.
pub(crate) fn options<E: Copy>(
    all: &[E],
    code: fn(E) -> &'static str,
    prefix: &str,
    t: T,
) -> Vec<(String, String)> {
    all.iter()
        .map(|e| (code(*e).to_string(), t.label(prefix, code(*e))))
        .collect()
}

/// The 56 peoples (GB 3304 code, name), for a select.
pub(crate) fn people_options() -> Vec<(String, String)> {
    shiliu_domain::peoples::all()
        .iter()
        .map(|x| (x.code.to_string(), x.name.to_string()))
        .collect()
}

/// A stored timestamp in local (China) time, to the minute: the one way pages show times.
/// Region ids of a materialised path (`/1/2/3/`), top down.
pub(crate) fn path_ids(path: &str) -> Vec<i64> {
    path.split('/').filter_map(|s| s.parse().ok()).collect()
}

pub fn show_minute(t: chrono::NaiveDateTime) -> String {
    shiliu_domain::calendar::local(t)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The UTC moment a local date begins (for date filters people type in local dates).
pub fn local_day_start(d: chrono::NaiveDate) -> chrono::NaiveDateTime {
    shiliu_domain::calendar::utc(d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

pub fn render<Tpl: Template>(tpl: &Tpl) -> AppResult<Response> {
    let html = tpl
        .render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))?;
    Ok(Html(html).into_response())
}

/// A form page shown again with its errors: 422 when there are any, so clients and tests can
/// tell a refused submission from a page view.
pub fn render_form<Tpl: Template>(tpl: &Tpl, has_errors: bool) -> AppResult<Response> {
    let mut r = render(tpl)?;
    if has_errors {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    l: Layout,
    message: String,
    details: Vec<(String, String)>,
    request_id_line: String,
}

/// The body of an error response: the API envelope or a friendly page. Internal causes are
/// logged here, with the request id, and never sent.
pub fn render_error(ctx: &Ctx, info: &ErrorInfo, api: bool) -> Response {
    if let Some(cause) = &info.internal {
        tracing::error!(request_id = %ctx.request_id, code = info.code, cause = %cause, "internal error");
    }
    let t = ctx.t;
    let details: Vec<(String, String)> = info
        .details
        .as_ref()
        .map(|d| {
            d.0.iter()
                .map(|e| (e.field.clone(), t.field_error(e)))
                .collect()
        })
        .unwrap_or_default();
    let mut resp = if api {
        let details_json: serde_json::Map<String, serde_json::Value> = details
            .iter()
            .map(|(f, m)| (f.clone(), serde_json::Value::String(m.clone())))
            .collect();
        let body = serde_json::json!({"error": {
            "code": info.code,
            "message": t.s(info.message_key),
            "details": details_json,
            "request_id": ctx.request_id,
        }});
        (info.status, axum::Json(body)).into_response()
    } else {
        let page = ErrorPage {
            l: Layout::anonymous(ctx, t.s("err.title")),
            message: t.s(info.message_key).to_string(),
            details: details.into_iter().map(|(f, m)| (t.field(&f), m)).collect(),
            request_id_line: t.f("err.request_id", &[("id", &ctx.request_id)]),
        };
        let html = page
            .render()
            .unwrap_or_else(|_| t.s(info.message_key).to_string());
        (info.status, Html(html)).into_response()
    };
    if info.status == StatusCode::UNAUTHORIZED && api {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    error: Option<String>,
    csrf: String,
    next: String,
    username: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Where to go after login or a language switch: only a path on this site, or `/`.
///
/// The value arrives decoded, so it is taken only when it is already a plain path: a `/`
/// not followed by `/` or `\` (which a browser reads as another host), and nothing but
/// visible ASCII (a tab or newline is dropped by browsers, turning `/\t/evil.example` into
/// `//evil.example`, and cannot go into a header at all), parsing as a URI path.
pub(crate) fn safe_next(next: &str) -> String {
    let plain = next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    let local = next.starts_with('/') && !next.starts_with("//");
    if plain && local && next.parse::<axum::http::uri::PathAndQuery>().is_ok() {
        next.to_string()
    } else {
        "/".to_string()
    }
}

pub async fn login_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    if ctx.auth.is_some() {
        return Ok(Redirect::to(&safe_next(&q.next)).into_response());
    }
    login_page(&state, &ctx, &safe_next(&q.next), "", None, StatusCode::OK)
}

fn login_page(
    state: &AppState,
    ctx: &Ctx,
    next: &str,
    username: &str,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let csrf = ctx
        .pre_csrf
        .clone()
        .filter(|c| c.len() >= 16)
        .unwrap_or_else(|| random_token(24));
    let page = LoginPage {
        l: Layout::anonymous(ctx, ctx.t.s("login.title")),
        error,
        csrf: csrf.clone(),
        next: next.to_string(),
        username: username.to_string(),
    };
    let mut resp = render(&page)?;
    *resp.status_mut() = status;
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            PRE_CSRF_COOKIE,
            &csrf,
            None,
            true,
            state.config.secure_cookies,
        ),
    );
    Ok(resp)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    let next = safe_next(&f.next);
    let t = ctx.t;
    let lock_minutes = state.config.lockout.lock_for.num_minutes().to_string();
    let fail = |key: &str| {
        let msg = t.f(key, &[("minutes", &lock_minutes)]);
        login_page(
            &state,
            &ctx,
            &next,
            &f.username,
            Some(msg),
            StatusCode::UNAUTHORIZED,
        )
    };
    if !state.allow_login_attempt(&ctx.client_addr) {
        return fail("login.throttled").map(|mut r| {
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            r
        });
    }
    let username = f.username.trim().to_lowercase();
    let user = {
        let u = username.clone();
        state
            .db
            .read(move |c| accounts::find_by_username(c, &u))
            .await?
    };
    // An unknown user, a locked account and a wrong password answer alike, in words and in
    // time: the password is checked in every case (against a dummy hash for an unknown user),
    // on a blocking thread, never on the async workers.
    let now = shiliu_db::now();
    let locked = user.as_ref().is_some_and(|u| u.is_locked(now));
    let hash = user.as_ref().map_or_else(
        || crate::web::password::DUMMY_HASH.to_string(),
        |u| u.password_hash.clone(),
    );
    let password = f.password.clone();
    let right = tokio::task::spawn_blocking(move || crate::web::password::verify(&password, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let Some(user) = user.filter(|_| !locked) else {
        return fail("login.failed");
    };
    let actor = Actor::signing_in(&user, &ctx.request_id, &ctx.client_addr);
    if !right {
        let policy = state.config.lockout;
        let (a, u) = (actor.clone(), user.clone());
        state
            .db
            .write(move |c| accounts::login_failed(c, &a, &u, policy))
            .await?;
        return fail("login.failed");
    }
    if !user.active {
        return fail("login.disabled");
    }
    // A new session id at every login (no fixation); the old cookie, if any, is dropped.
    let token = random_token(32);
    let csrf = random_token(24);
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (session_hash, c2) = (sha256_hex(&token), csrf.clone());
    state
        .db
        .write(move |c| accounts::login_succeeded(c, &actor, &user, &session_hash, &c2, &ua))
        .await?;
    let mut resp = Redirect::to(&next).into_response();
    let max_age = state.config.session_absolute.num_seconds();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &token,
            Some(max_age),
            true,
            state.config.secure_cookies,
        ),
    );
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            PRE_CSRF_COOKIE,
            "",
            Some(0),
            true,
            state.config.secure_cookies,
        ),
    );
    Ok(resp)
}

pub async fn logout(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    crate::web::end_session(&state, &p).await?;
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            "",
            Some(0),
            true,
            state.config.secure_cookies,
        ),
    );
    Ok(resp)
}

#[derive(Deserialize)]
pub struct LangQuery {
    to: String,
    #[serde(default)]
    back: String,
}

/// Switch language: a cookie only, no server state, so a plain link works without JavaScript.
pub async fn switch_lang(State(state): State<AppState>, Query(q): Query<LangQuery>) -> Response {
    let lang = Lang::parse(&q.to).unwrap_or_default();
    let mut resp = Redirect::to(&safe_next(&q.back)).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            LANG_COOKIE,
            lang.code(),
            Some(31_536_000),
            false,
            state.config.secure_cookies,
        ),
    );
    resp
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    /// Evaluation work left to the user's unit or teams.
    todo: Vec<evaluation_scores::TodoLine>,
    welcome: String,
    scope_line: String,
    counts: Vec<(&'static str, i64, &'static str)>,
}

pub async fn home(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    let actor = p.require::<grants::ViewOrg>()?;
    let scope = actor.scope().clone();
    let evaluates = p.can(Permission::ReportEvaluations) || p.can(Permission::ReviewEvaluations);
    let (counts, roots, todo) = state
        .db
        .read(move |c| {
            let todo = if evaluates {
                shiliu_db::evaluation::reminders::todo(c, &actor)?
            } else {
                Vec::new()
            };
            Ok((
                org_db::counts(c, &scope)?,
                org_db::scope_roots(c, &scope)?,
                todo,
            ))
        })
        .await?;
    let t = p.t();
    let scope_names: Vec<String> = roots.iter().map(|r| r.name.clone()).collect();
    // Tiles link only where the user may go.
    let users_href = if p.can(Permission::ManageUsers) {
        "/users"
    } else {
        ""
    };
    let page = HomePage {
        l: Layout::new(&p, "nav.home", t.s("home.title")),
        todo: evaluation_scores::todo_lines(t, &todo),
        welcome: t.f("home.welcome", &[("name", &p.user.display_name)]),
        scope_line: t.f("home.scope", &[("scope", &scope_names.join("、"))]),
        counts: vec![
            ("count.cities", counts.cities, "/regions"),
            ("count.counties", counts.counties, "/regions"),
            ("count.townships", counts.townships, "/regions"),
            ("count.communities", counts.communities, "/regions"),
            ("count.grids", counts.grids, "/regions"),
            ("count.sites", counts.sites, "/sites"),
            ("count.units", counts.units, "/units"),
            ("count.users", counts.users, users_href),
            ("count.grid_workers", counts.grid_workers, users_href),
        ],
    };
    render(&page)
}

/// `saved=1` after a successful form post shows the confirmation.
#[derive(Deserialize, Default)]
pub struct Saved {
    #[serde(default)]
    pub saved: Option<String>,
}

impl Saved {
    pub fn yes(&self) -> bool {
        self.saved.is_some()
    }
}

/// For the token list: a session that is not an API token.
pub fn is_session(p: &Principal) -> bool {
    matches!(p.via, Via::Session { .. })
}

#[derive(Template)]
#[template(path = "reference.html")]
struct ReferencePage {
    l: Layout,
    divisions_line: String,
    peoples: Vec<(String, String, String, String)>,
}

/// The shipped reference data: the peoples, and how many divisions are built in.
pub async fn reference(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    use shiliu_domain::divisions::DivisionLevel as L;
    p.require::<grants::ViewOrg>()?;
    let t = p.t();
    let peoples = state.db.read(org_db::peoples).await?;
    let gx: Vec<_> = shiliu_domain::divisions::guangxi().collect();
    let count = |l| gx.iter().filter(|d| d.level == l).count().to_string();
    let page = ReferencePage {
        l: Layout::new(&p, "nav.reference", t.s("reference.title")),
        divisions_line: t.f(
            "reference.divisions",
            &[
                ("cities", &count(L::City)),
                ("counties", &count(L::County)),
                ("townships", &count(L::Township)),
            ],
        ),
        peoples,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
    who: String,
    errors: Vec<(String, String)>,
}

fn account_page(
    p: &Principal,
    errs: &shiliu_domain::FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    let t = p.t();
    let page = AccountPage {
        l: Layout::new(p, "nav.account", t.s("account.title")).flash(saved),
        who: t.f(
            "account.who",
            &[
                ("name", &p.user.display_name),
                ("username", &p.user.username),
                ("role", &t.label("role", p.role().as_str())),
            ],
        ),
        errors: t.field_errors(errs),
    };
    render_form(&page, !errs.is_empty())
}

pub async fn account(p: Principal, Query(s): Query<Saved>) -> AppResult<Response> {
    account_page(&p, &shiliu_domain::FieldErrors::new(), s.yes())
}

#[derive(Deserialize)]
pub struct PasswordChange {
    current: String,
    password: String,
    confirm: String,
}

/// Every signed-in user may change their own password, knowing the current one.
pub async fn account_password(
    State(state): State<AppState>,
    p: Principal,
    Form(f): Form<PasswordChange>,
) -> AppResult<Response> {
    use shiliu_domain::FieldError;
    let Via::Session { session_hash, .. } = p.via.clone() else {
        return Err(AppError::Forbidden);
    };
    let (current, hash) = (f.current.clone(), p.user.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || crate::web::password::verify(&current, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut errs = shiliu_domain::FieldErrors::new();
    if !ok {
        errs.push(FieldError::new("current", "account.wrong_current"));
    }
    errs.check(shiliu_domain::accounts::check_password(
        &f.password,
        &p.user.username,
    ));
    if f.password != f.confirm {
        errs.push(FieldError::new("confirm", "err.password.mismatch"));
    }
    if !errs.is_empty() {
        return account_page(&p, &errs, false);
    }
    let new_hash = tokio::task::spawn_blocking(move || crate::web::password::hash(&f.password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(AppError::Internal)?;
    let actor = p.acting_on_own_account();
    state
        .db
        .write(move |c| accounts::change_own_password(c, &actor, &new_hash, &session_hash))
        .await?;
    Ok(Redirect::to("/account?saved=1").into_response())
}
