//! Request context, authentication and CSRF: the middleware every request passes through, and
//! the extractors handlers use.
//!
//! A handler that takes a [`Principal`] runs only for a signed-in user (session or API token);
//! it gets an [`Actor`] — the handle that can read scoped data and write — only through
//! [`Principal::require`], which checks the permission matrix. So a handler cannot reach data
//! without passing the check, and every query it makes carries the user's scope.
//!
//! The machinery every module shares lives here too: errors, uploaded files, workbooks, the
//! message catalogues, metrics and password hashing.

pub mod api;
pub mod charts;
pub mod error;
pub mod files;
pub mod i18n;
pub mod metrics;
pub mod page;
pub mod password;
pub mod pending;
pub mod pickers;
pub mod xlsx;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use shiliu_db::Db;
use shiliu_db::accounts::{self, User};
use shiliu_db::batch::Batcher;
use shiliu_db::requests::Intake;
use shiliu_db::scope::{Actor, Caller, Can, Grant};
use shiliu_domain::roles::{Permission, Role};

use crate::web::error::{AppError, AppResult, ErrorInfo};
use crate::web::i18n::{Lang, T};
use crate::web::metrics::Metrics;

pub const SESSION_COOKIE: &str = "shiliu_session";
/// Before login there is no session: the login form uses a double-submit cookie instead.
pub const PRE_CSRF_COOKIE: &str = "shiliu_csrf";
pub const LANG_COOKIE: &str = "shiliu_lang";
/// The largest request body read (Excel uploads).
pub const MAX_BODY: usize = 20 * 1024 * 1024;

/// Web settings, from the application's configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub session_idle: chrono::Duration,
    pub session_absolute: chrono::Duration,
    pub lockout: accounts::LockoutPolicy,
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (behind a reverse proxy).
    pub trust_proxy: bool,
    /// Failed sign-ins allowed per client address, and per account name, per window.
    pub login_attempts_per_window: u32,
    pub login_window: Duration,
    /// The server's public address, for absolute links in documents (Open311 discovery).
    pub public_url: Option<String>,
    /// Who runs this server.
    pub contact: String,
    /// Open311 `jurisdiction_id` this server answers to; `None`: any.
    pub open311_jurisdiction: Option<String>,
    /// The registry key (ID numbers). The default is a new random key, for tests: a server
    /// always has the configured one (`shiliu`'s `Config::web`).
    pub vault: shiliu_db::registry::Vault,
    /// The fewest people a published cell broken down by 民族 or 户籍地 may show.
    pub min_cell: i64,
    /// The bearer token `/metrics` asks for; `None`: `/metrics` is not served (it tells who
    /// uses which pages how often, and the database pool's state).
    pub metrics_token: Option<String>,
    /// The SMS provider, signature and templates (default: the log-only provider).
    pub sms: crate::messages::providers::SmsConfig,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            session_idle: chrono::Duration::minutes(30),
            session_absolute: chrono::Duration::hours(12),
            lockout: accounts::LockoutPolicy {
                max_failures: 5,
                lock_for: chrono::Duration::minutes(15),
            },
            secure_cookies: false,
            trust_proxy: false,
            login_attempts_per_window: 30,
            login_window: Duration::from_mins(5),
            public_url: None,
            contact: String::new(),
            open311_jurisdiction: None,
            vault: shiliu_db::registry::Vault::random(),
            min_cell: shiliu_domain::registry::MIN_CELL,
            metrics_token: None,
            sms: crate::messages::providers::SmsConfig::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<WebConfig>,
    pub metrics: Arc<Metrics>,
    /// When this node started (UTC), e.g. as the changeset of generated documents.
    pub started_at: chrono::NaiveDateTime,
    limiter: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
    /// API tokens checked in the last few seconds, by hash (see `token_caller`).
    tokens: Arc<Mutex<HashMap<String, (Instant, Authenticated)>>>,
    /// Requests taken in through the API and Open311, written in groups (see
    /// `shiliu_db::batch`); started on first use, inside the server's runtime.
    intake: Arc<std::sync::OnceLock<Batcher<Intake, shiliu_db::requests::Request>>>,
    /// Register imports running in the background, for their progress pages.
    pub(crate) imports: crate::registry::import::Jobs,
    /// Photos held while their form is put right (`web::pending`).
    pub(crate) pending: Arc<pending::PendingUploads>,
    /// The SMS provider the configuration names.
    sms: Arc<dyn crate::messages::providers::SmsProvider>,
}

impl AppState {
    pub fn new(db: Db, config: WebConfig) -> Self {
        let sms = crate::messages::providers::provider(&config.sms, &db);
        Self {
            sms,
            db,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            started_at: shiliu_db::now(),
            limiter: Arc::default(),
            tokens: Arc::default(),
            intake: Arc::default(),
            imports: Arc::default(),
            pending: Arc::default(),
        }
    }

    /// The SMS provider the configuration names.
    pub fn sms_provider(&self) -> Arc<dyn crate::messages::providers::SmsProvider> {
        self.sms.clone()
    }

    /// Take in a request with others arriving at the same time, in one transaction.
    pub async fn take_in(
        &self,
        order: Intake,
    ) -> Result<shiliu_db::requests::Request, shiliu_db::DbError> {
        /// Groups in flight at once: one is written while the next gathers (1 and 4 measured
        /// the same on `PostgreSQL`; see docs/PERFORMANCE.md).
        const WORKERS: usize = 2;
        const MAX_GROUP: usize = 64;
        self.intake
            .get_or_init(|| {
                Batcher::start(
                    &self.db,
                    WORKERS,
                    MAX_GROUP,
                    shiliu_db::requests::create_many,
                )
            })
            .submit(order)
            .await
    }

    /// Forget the API tokens of `user_id` this node has checked lately, so that revoking one,
    /// or disabling the user, takes effect on this node at once; other nodes ask the database
    /// again within [`TOKEN_CHECK_TTL`].
    pub fn forget_tokens_of(&self, user_id: i64) {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, (_, a)| a.caller.user().id != user_id);
    }

    /// The sign-in throttle, by failures: at most `login_attempts_per_window` failed
    /// sign-ins from one address, and as many against one account name from anywhere
    /// (whether it exists or not, so the answer tells nothing about it), per window. An
    /// attempt is counted against both as it starts — so attempts sent at once cannot pass
    /// the limit together — and given back when it succeeds (`login_succeeded`): an office
    /// behind one address is not held up by its colleagues signing in. (The database's
    /// lockout of an account after repeated failures is separate and stays.)
    pub fn allow_login_attempt(&self, addr: &str, account: &str) -> bool {
        let (limit, window) = (
            self.config.login_attempts_per_window,
            self.config.login_window,
        );
        if !self.allow("login", addr, limit, window) {
            self.give_back("login", addr);
            return false;
        }
        if !self.allow("login-account", account, limit, window) {
            self.give_back("login-account", account);
            self.give_back("login", addr);
            return false;
        }
        true
    }

    /// A sign-in succeeded: its attempt no longer counts against the address or the account.
    pub fn login_succeeded(&self, addr: &str, account: &str) {
        self.give_back("login", addr);
        self.give_back("login-account", account);
    }

    /// Take one attempt back from a (kind, key)'s count in the current window.
    fn give_back(&self, kind: &'static str, key: &str) {
        let mut m = self
            .limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = m.get_mut(&format!("{kind}:{key}")) {
            e.0 = e.0.saturating_sub(1);
        }
    }

    /// A fixed-window rate limit per (kind, key) on this node: at most `limit` in `window`.
    pub fn allow(&self, kind: &'static str, key: &str, limit: u32, window: Duration) -> bool {
        self.allow_many(kind, key, 1, limit, window)
    }

    /// As [`Self::allow`], for `cost` attempts at once (e.g. a list of codes looked up in one
    /// call, each counting as one look-up).
    pub fn allow_many(
        &self,
        kind: &'static str,
        key: &str,
        cost: u32,
        limit: u32,
        window: Duration,
    ) -> bool {
        let mut m = self
            .limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if m.len() > 10_000 {
            m.retain(|_, (_, start)| now.duration_since(*start) < Duration::from_hours(1));
        }
        let e = m.entry(format!("{kind}:{key}")).or_insert((0, now));
        if now.duration_since(e.1) >= window {
            *e = (0, now);
        }
        e.0 = e.0.saturating_add(cost);
        e.0 <= limit
    }
}

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    /// A page session, with the caller's unread messages when the page was asked for (the
    /// header's bell; read with the session, one indexed count).
    Session {
        csrf: String,
        session_hash: String,
        unread: i64,
    },
    Token {
        permissions: Vec<Permission>,
    },
}

/// A signed-in caller, as established by the context middleware.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub caller: Caller,
    pub via: Via,
}

/// Facts about the request that every handler and error page may use.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    pub client_addr: String,
    pub t: T,
    pub auth: Option<Authenticated>,
    /// For the login form's double-submit token.
    pub pre_csrf: Option<String>,
    pub path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| AppError::Internal("context middleware missing".into()))
    }
}

/// A signed-in user. Pages without one redirect to the login form; the API answers 401.
#[derive(Debug, Clone)]
pub struct Principal {
    pub via: Via,
    pub ctx: Ctx,
    caller: Caller,
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, s).await?;
        if let Some(a) = ctx.auth.clone() {
            Ok(Principal::new(a, ctx))
        } else {
            let next = if is_api(&ctx.path) || parts.method != Method::GET {
                String::new()
            } else {
                parts
                    .uri
                    .path_and_query()
                    .map_or_else(|| "/".to_string(), ToString::to_string)
            };
            Err(AppError::Unauthorized { next })
        }
    }
}

impl Principal {
    /// The caller the context middleware (or an Open311 `api_key`) authenticated.
    pub fn new(a: Authenticated, ctx: Ctx) -> Self {
        Self {
            via: a.via,
            ctx,
            caller: a.caller,
        }
    }

    /// The signed-in account.
    pub fn user(&self) -> &User {
        self.caller.user()
    }

    pub fn role(&self) -> Role {
        self.user().role()
    }

    /// Whether the caller has a permission (through their role and, for tokens, the token).
    pub fn can(&self, p: Permission) -> bool {
        self.role().allows(p)
            && match &self.via {
                Via::Session { .. } => true,
                Via::Token { permissions } => permissions.contains(&p),
            }
    }

    /// The permission check, by type: its `Can<P>` is what a database function that needs `P`
    /// asks for, and the `Actor` that scoped queries and writes take anywhere else.
    pub fn require<P: Grant>(&self) -> AppResult<Can<P>> {
        if !self.can(P::PERMISSION) {
            return Err(AppError::Forbidden);
        }
        Ok(Can::check(&self.actor())?)
    }

    /// The check for a permission chosen at run time (the action posted, the kind of record
    /// edited): an `Actor` only, which no function asking for a permission by type accepts.
    pub fn require_permission(&self, p: Permission) -> AppResult<Actor> {
        if !self.can(p) {
            return Err(AppError::Forbidden);
        }
        Ok(self.actor())
    }

    /// The caller with their scope: only behind a permission check.
    fn actor(&self) -> Actor {
        Actor::for_caller(&self.caller, &self.ctx.request_id, &self.ctx.client_addr)
    }

    /// The caller acting on their own account only (sign-out, their own password): needs no
    /// permission, and the account functions it reaches touch nothing but `user_id`'s rows.
    pub fn acting_on_own_account(&self) -> Actor {
        Actor::on_own_account(&self.caller, &self.ctx.request_id, &self.ctx.client_addr)
    }

    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf, .. } => csrf,
            Via::Token { .. } => "",
        }
    }

    pub fn t(&self) -> T {
        self.ctx.t
    }
}

pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/open311/")
}

pub fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn set_cookie(
    name: &str,
    value: &str,
    max_age: Option<i64>,
    http_only: bool,
    secure: bool,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; SameSite=Lax");
    if let Some(a) = max_age {
        let _ = write!(c, "; Max-Age={a}");
    }
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn client_addr(req: &Request, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(f) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        && let Some(first) = f.split(',').next().map(str::trim).filter(|s| !s.is_empty())
    {
        return first.chars().take(64).collect();
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string())
}

fn request_id(req: &Request) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map_or_else(|| random_token(12), ToString::to_string)
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
) -> AppResult<Option<Authenticated>> {
    if is_api(path) {
        let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
        else {
            return Ok(None);
        };
        return Ok(token_caller(state, token).await?);
    }
    let Some(raw) = cookies(headers).remove(SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = sha256_hex(&raw);
    let (idle, absolute) = (state.config.session_idle, state.config.session_absolute);
    let found = state
        .db
        .read(move |c| {
            let Some((session, caller)) = accounts::load_session(c, &hash, idle, absolute)? else {
                return Ok(None);
            };
            let touch = accounts::session_needs_touch(&session);
            let unread = shiliu_db::messages::unread(
                c,
                &shiliu_db::scope::Actor::for_caller(&caller, "", ""),
            )?;
            Ok(Some((
                Authenticated {
                    caller,
                    via: Via::Session {
                        csrf: session.csrf_token,
                        session_hash: hash.clone(),
                        unread,
                    },
                },
                touch.then_some(hash),
            )))
        })
        .await?;
    Ok(found.map(|(caller, touch)| {
        if let Some(hash) = touch {
            record_use(state, move |c| accounts::touch_session(c, &hash));
        }
        caller
    }))
}

/// Write a session's or token's last use in the background, through the writer like any
/// write: the page does not wait for it (behind an import, say), and if it fails the next use
/// writes it.
fn record_use<F>(state: &AppState, touch: F)
where
    F: FnOnce(&mut shiliu_db::DbConnection) -> Result<(), shiliu_db::DbError> + Send + 'static,
{
    let db = state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = db.write(touch).await {
            tracing::debug!(error = %e, "recording a session's or token's last use failed");
        }
    });
}

/// The caller an API token stands for, if it is valid (for bearer headers and Open311's
/// `api_key`).
pub async fn token_caller(
    state: &AppState,
    token: &str,
) -> Result<Option<Authenticated>, shiliu_db::DbError> {
    let hash = sha256_hex(token);
    let cached = state
        .tokens
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&hash)
        .filter(|(at, _)| at.elapsed() < TOKEN_CHECK_TTL)
        .map(|(_, a)| a.clone());
    if cached.is_some() {
        return Ok(cached);
    }
    let key = hash.clone();
    let found = state
        .db
        .read(move |c| {
            let Some((tok, caller)) = accounts::find_token(c, &hash)? else {
                return Ok(None);
            };
            let touch = accounts::token_needs_touch(&tok).then_some(tok.id);
            Ok(Some((
                Authenticated {
                    caller,
                    via: Via::Token {
                        permissions: tok.permissions(),
                    },
                },
                touch,
            )))
        })
        .await?;
    let found = found.map(|(caller, touch)| {
        if let Some(id) = touch {
            record_use(state, move |c| accounts::touch_token(c, id));
        }
        caller
    });
    if let Some(a) = &found {
        let mut m = state
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if m.len() > 10_000 {
            m.retain(|_, (at, _)| at.elapsed() < TOKEN_CHECK_TTL);
        }
        m.insert(key, (Instant::now(), a.clone()));
    }
    Ok(found)
}

/// How long a checked API token is trusted without asking the database again. A machine client
/// (a hotline system, an Open311 integration) sends many requests a second. Revoking a token or
/// disabling its user takes effect at once on the node that did it ([`AppState::forget_tokens_of`]);
/// on other nodes, and for an expired token or a changed scope, within this time.
const TOKEN_CHECK_TTL: Duration = Duration::from_secs(10);

/// Find the CSRF token a request carries: the `X-CSRF-Token` header (scripts), or the `_csrf`
/// field of a form's body, url-encoded or multipart. Never the query string: a token in a URL
/// is written to logs and sent on in `Referer`.
async fn csrf_from(headers: &HeaderMap, body: &axum::body::Bytes) -> Option<String> {
    if let Some(v) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return Some(v.to_string());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return form_urlencoded_pairs(body)
            .into_iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v);
    }
    if content_type.starts_with("multipart/form-data") {
        // Our forms put the token first; the parts before it (a client's order) are skipped
        // unread, within the body already read.
        let req = Request::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.clone()))
            .ok()?;
        let mut parts = axum::extract::Multipart::from_request(req, &())
            .await
            .ok()?;
        while let Ok(Some(field)) = parts.next_field().await {
            if field.name() == Some("_csrf") {
                return field.text().await.ok();
            }
        }
    }
    None
}

pub fn form_urlencoded_pairs(s: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(s).unwrap_or_default()
}

/// The first field of a query string or a form body whose name or value holds a NUL
/// character: no text Shiliu keeps may hold one (`PostgreSQL` refuses it in any text).
fn nul_in_pairs(s: &[u8]) -> Option<String> {
    form_urlencoded_pairs(s)
        .into_iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| {
            if k.contains('\0') {
                "request".into()
            } else {
                k
            }
        })
}

/// The same in a JSON body: the path of the first string (or key) holding a NUL character.
fn nul_in_json(bytes: &[u8]) -> Option<String> {
    fn walk(v: &serde_json::Value, at: &str) -> Option<String> {
        match v {
            serde_json::Value::String(s) if s.contains('\0') => Some(at.to_string()),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, x)| walk(x, &format!("{at}.{i}"))),
            serde_json::Value::Object(fields) => fields.iter().find_map(|(k, x)| {
                if k.contains('\0') {
                    return Some(at.to_string());
                }
                let path = if at == "request" {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                walk(x, &path)
            }),
            _ => None,
        }
    }
    // Cheap test first: a JSON text can only carry NUL escaped.
    let text = std::str::from_utf8(bytes).ok()?;
    if !text.contains("\\u0000") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    walk(&v, "request")
}

/// Refuse a request whose query or form or JSON body holds a NUL character, naming the field
/// (422); the body is read (within [`MAX_BODY`]) and handed on unchanged.
async fn refuse_nul(req: Request) -> AppResult<Request> {
    if let Some(field) = req.uri().query().and_then(|q| nul_in_pairs(q.as_bytes())) {
        return Err(AppError::Invalid(
            shiliu_domain::FieldError::new(field, "err.nul").into(),
        ));
    }
    let kind = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let form = kind.starts_with("application/x-www-form-urlencoded");
    let json = kind.starts_with("application/json");
    if !form && !json {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let found = if form {
        nul_in_pairs(&bytes)
    } else {
        nul_in_json(&bytes)
    };
    if let Some(field) = found {
        return Err(AppError::Invalid(
            shiliu_domain::FieldError::new(field, "err.nul").into(),
        ));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The middleware every request passes through: request id, client address, language,
/// authentication, CSRF check on state-changing requests, metrics, error rendering.
pub async fn context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let rid = request_id(&req);
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());

    let jar = cookies(req.headers());
    let lang = jar
        .get(LANG_COOKIE)
        .and_then(|v| Lang::parse(v))
        // Pages are in Simplified Chinese unless the user switched (the cookie); API clients
        // may ask for English messages with Accept-Language.
        .or_else(|| {
            is_api(&path)
                .then(|| req.headers().get(header::ACCEPT_LANGUAGE))
                .flatten()
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept)
        })
        .unwrap_or_default();
    let mut ctx = Ctx {
        request_id: rid.clone(),
        client_addr: client_addr(&req, state.config.trust_proxy),
        t: T::new(lang),
        auth: None,
        pre_csrf: jar.get(PRE_CSRF_COOKIE).cloned(),
        path: path.clone(),
    };

    let outcome: AppResult<Response> = async {
        req = refuse_nul(req).await?;
        ctx.auth = authenticate(&state, req.headers(), &path).await?;
        let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
        if unsafe_method && !is_api(&path) {
            let (parts, body) = req.into_parts();
            let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| AppError::PayloadTooLarge)?;
            let sent = csrf_from(&parts.headers, &bytes).await;
            let expected = match &ctx.auth {
                Some(Authenticated { via: Via::Session { csrf, .. }, .. }) => Some(csrf.clone()),
                _ => ctx.pre_csrf.clone(),
            };
            let ok = matches!((&sent, &expected), (Some(s), Some(e)) if !e.is_empty() && constant_time_eq(s, e));
            if !ok {
                tracing::warn!(request_id = %rid, path = %path, "CSRF check failed");
                return Err(AppError::Csrf);
            }
            req = Request::from_parts(parts, Body::from(bytes));
        }
        req.extensions_mut().insert(ctx.clone());
        Ok(next.run(req).await)
    }
    .await;

    let mut resp = outcome.unwrap_or_else(IntoResponse::into_response);
    let info = resp
        .extensions_mut()
        .remove::<ErrorInfo>()
        .or_else(|| rejection_info(&resp));
    if let Some(info) = info {
        resp = crate::web::page::render_error(&ctx, &info, is_api(&path));
    }
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-request-id", v);
    }
    // Served over HTTPS (cookies marked Secure): browsers are told to come back only that way.
    if state.config.secure_cookies {
        resp.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    state
        .metrics
        .observe(method.as_str(), &route, status, elapsed);
    if status >= 500 {
        tracing::error!(request_id = %rid, method = %method, route = %route, status, ms = elapsed.as_millis() as u64, "request failed");
    } else {
        tracing::info!(request_id = %rid, method = %method, route = %route, status, ms = elapsed.as_millis() as u64, "request");
    }
    resp
}

/// Axum's own rejections (a path id that is not a number, a malformed form or query, a body
/// too large, a wrong method) arrive as plain text; they get the same page or envelope as ours.
fn rejection_info(resp: &Response) -> Option<ErrorInfo> {
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !plain || !resp.status().is_client_error() {
        return None;
    }
    let err = match resp.status().as_u16() {
        404 => AppError::NotFound,
        405 => AppError::MethodNotAllowed,
        413 => AppError::PayloadTooLarge,
        _ => AppError::BadRequest("request"),
    };
    let mut info = err.info();
    info.status = resp.status();
    Some(info)
}

/// Log out: delete the session and clear the cookie.
pub async fn end_session(state: &AppState, p: &Principal) -> AppResult<()> {
    if let Via::Session { session_hash, .. } = &p.via {
        let actor = p.acting_on_own_account();
        let hash = session_hash.clone();
        state
            .db
            .write(move |c| accounts::logout(c, &actor, &hash))
            .await?;
    }
    Ok(())
}
