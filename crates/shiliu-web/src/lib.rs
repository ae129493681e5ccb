//! Shiliu's HTTP server: server-rendered pages, the JSON API, health and metrics.
//!
//! A request's path: `web::context` (request id, language, session or token, CSRF check,
//! metrics, error rendering) → the route's handler → `Principal::require::<grants::X>()` gives a
//! `Can<X>`, the caller's `Actor` with their scope, known to hold `X` → `shiliu-db` queries
//! filtered by that scope, writes audited in the same transaction → a template or JSON.

pub mod accounts;
pub mod activities;
pub mod casework;
pub mod councils;
pub mod dashboard;
pub mod evaluation;
pub mod home;
pub mod messages;
pub mod org;
pub mod registry;
pub mod requests;
pub mod tasks;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::set_header::SetResponseHeaderLayer;

pub use web::{AppState, WebConfig};

/// The routes as they are registered: each path kept beside the router with the file whose
/// handlers serve it, so that the cross-scope test walks every route there is
/// ([`route_paths`]), a route is covered the day it is added, and ARCHITECTURE.md's table of
/// which file handles which URL is checked against the router ([`route_files`]). Each
/// handler file registers its own routes (`pub fn routes()`), with `Routes::new(file!())`.
pub(crate) struct Routes {
    router: Router<AppState>,
    file: &'static str,
    paths: Vec<(&'static str, &'static str)>,
}

impl Routes {
    pub(crate) fn new(file: &'static str) -> Self {
        Self {
            router: Router::new(),
            file,
            paths: Vec::new(),
        }
    }

    pub(crate) fn route(mut self, path: &'static str, method: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, method);
        self.paths.push((path, self.file));
        self
    }

    pub(crate) fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }
}

/// Every route's path, as the router matches it (`/requests/{id}`), in the order registered.
pub fn route_paths() -> Vec<&'static str> {
    routes().paths.into_iter().map(|(p, _)| p).collect()
}

/// Every route's path with the source file that registers and handles it
/// (`crates/shiliu-web/src/requests/pages.rs`).
pub fn route_files() -> Vec<(&'static str, &'static str)> {
    routes().paths
}

pub fn router(state: AppState) -> Router {
    routes()
        .router
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), web::context))
        .layer(DefaultBodyLimit::max(web::MAX_BODY))
        .layer(CatchPanicLayer::custom(|_| {
            // The context middleware is inside; a panic here still gets a bare 500, never a trace.
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(compression())
        .with_state(state)
}

/// Pages, JSON and the static files go out gzip- or Brotli-compressed when the client asks
/// (pages are repetitive markup, and a phone on a weak signal waits for every byte). Not compressed:
/// bodies under a kilobyte (the frame costs more than it saves), files that are compressed
/// already (photos, PDF, the Office files, which are zip archives) and event streams, which
/// a compressor would hold back until its buffer fills.
fn compression() -> CompressionLayer<impl Predicate> {
    const SMALLEST: u16 = 1024;
    let predicate = SizeAbove::new(SMALLEST)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::SSE)
        .and(NotForContentType::const_new("application/pdf"))
        .and(NotForContentType::const_new(
            "application/vnd.openxmlformats",
        ))
        .and(NotForContentType::const_new("application/zip"));
    CompressionLayer::new()
        .no_deflate()
        .no_zstd()
        .compress_when(predicate)
}

fn routes() -> Routes {
    let ops = Routes::new(file!())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .route("/static/icon.svg", get(icon))
        .route("/manifest.webmanifest", get(manifest));
    [
        home::routes(),
        dashboard::routes(),
        messages::routes(),
        accounts::routes(),
        requests::routes(),
        casework::routes(),
        registry::routes(),
        evaluation::routes(),
        tasks::routes(),
        activities::routes(),
        councils::routes(),
        org::routes(),
        web::api::routes(),
    ]
    .into_iter()
    .fold(ops, Routes::merge)
}

async fn not_found() -> web::error::AppError {
    web::error::AppError::NotFound
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and every migration is applied.
async fn readyz(State(state): State<AppState>) -> Response {
    let db = state.db.clone();
    let r = tokio::task::spawn_blocking(move || db.migrations_current()).await;
    match r {
        Ok(Ok(true)) => (StatusCode::OK, "ready").into_response(),
        Ok(Ok(false)) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending").into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
    }
}

/// Prometheus text, for a scraper holding the configured token (`metrics_token`); without one
/// configured, not served.
async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let Some(token) = state.config.metrics_token.as_deref() else {
        return web::error::AppError::NotFound.into_response();
    };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if !sent.is_some_and(|s| web::constant_time_eq(s, token)) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a metrics token is required",
        )
            .into_response();
    }
    let body = state
        .metrics
        .render(state.db.pool_state(), state.db.engine().as_str());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

fn static_file(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    static_file(include_str!("../static/app.css"), "text/css; charset=utf-8")
}

async fn js() -> Response {
    static_file(
        include_str!("../static/app.js"),
        "text/javascript; charset=utf-8",
    )
}

/// The app's icon, drawn here (a pomegranate on the header's red), for the home screen.
async fn icon() -> Response {
    static_file(include_str!("../static/icon.svg"), "image/svg+xml")
}

/// The web app manifest: what a phone needs to put the platform on its home screen and open
/// it like an app (its own window, the header's colour).
async fn manifest() -> Response {
    static_file(
        include_str!("../static/manifest.webmanifest"),
        "application/manifest+json",
    )
}

/// Serve until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let housekeeping = tokio::spawn(housekeeping(state.clone()));
    let folding = tokio::spawn(fold_tallies(state.clone()));
    let sending = tokio::spawn(messages::sender::run(state.clone()));
    // The request list's keys load in the background; the database answers the list meanwhile.
    state.db.request_keys().load_in_background();
    // The search segmenter's dictionary loads in the background, not on the first intake.
    tokio::task::spawn_blocking(shiliu_db::requests::search::warm_up);
    let result = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    housekeeping.abort();
    folding.abort();
    sending.abort();
    result
}

/// Every two seconds: fold the statistics' journals into their totals (see `shiliu_db::requests::stats`,
/// `shiliu_db::registry::tallies`, `shiliu_db::activities::tallies` and
/// `shiliu_db::councils::tallies`), so the journal a statistics page reads besides the
/// totals stays a few seconds long. Several app nodes may fold at once: each journal row is
/// folded once. After folding, the dead rows it left are cleared (`PostgreSQL`): the journals'
/// at once, the totals' every half minute.
async fn fold_tallies(state: AppState) {
    const TICKS_PER_TOTALS: u32 = 15;
    let mut every = tokio::time::interval(std::time::Duration::from_secs(2));
    // Ticks since the totals were last cleared, and rows folded since.
    let (mut ticks, mut folded_since) = (0_u32, 0_usize);
    loop {
        every.tick().await;
        let folded = fold_journal(&state, shiliu_db::requests::stats::fold).await
            + fold_journal(&state, shiliu_db::registry::tallies::fold).await
            + fold_journal(&state, shiliu_db::activities::tallies::fold).await
            + fold_journal(&state, shiliu_db::councils::tallies::fold).await;
        folded_since += folded;
        ticks += 1;
        let totals = folded_since > 0 && ticks >= TICKS_PER_TOTALS;
        if folded == 0 && !totals {
            continue;
        }
        if totals {
            (ticks, folded_since) = (0, 0);
        }
        // Not `write`: VACUUM cannot run inside a transaction.
        let cleared = state
            .db
            .read(move |c| shiliu_db::requests::stats::clear_dead_rows(c, totals))
            .await;
        if let Err(e) = cleared {
            tracing::warn!(error = %e, "clearing the statistics' dead rows failed");
        }
    }
}

/// Fold one journal batch after batch, each its own transaction, so other writes go in
/// between; returns how many rows were folded.
async fn fold_journal(
    state: &AppState,
    fold: fn(&mut shiliu_db::DbConnection) -> Result<usize, shiliu_db::DbError>,
) -> usize {
    let mut folded = 0;
    loop {
        match state.db.write(fold).await {
            Ok(n) if n == shiliu_db::requests::stats::FOLD_BATCH => folded += n,
            Ok(n) => return folded + n,
            Err(shiliu_db::DbError::Stale) => {
                tracing::debug!("another node folded the tallies first");
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "folding a statistics journal failed");
                break;
            }
        }
    }
    folded
}

/// Every ten minutes: delete expired sessions (they are refused anyway; this keeps the table
/// small), make the search index's coming weeks (`PostgreSQL`), remind (催办) and escalate
/// (督办) requests by their deadlines, and remind (催报) those
/// who still owe work in an evaluation before its stage's deadline. All are idempotent, so
/// several app nodes may run them.
async fn housekeeping(state: AppState) {
    let mut every = tokio::time::interval(std::time::Duration::from_mins(10));
    loop {
        every.tick().await;
        let (idle, absolute) = (state.config.session_idle, state.config.session_absolute);
        match state
            .db
            .write(move |c| shiliu_db::accounts::purge_sessions(c, idle, absolute))
            .await
        {
            Ok(n) if n > 0 => tracing::info!(sessions = n, "expired sessions purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "session purge failed"),
        }
        // PostgreSQL's search index by week: the coming weeks' partitions, made ahead.
        if let Err(e) = state
            .db
            .write(shiliu_db::requests::search::ensure_coming_weeks)
            .await
        {
            tracing::warn!(error = %e, "making the search index's coming weeks failed");
        }
        let at = shiliu_db::now();
        match state
            .db
            .write(move |c| shiliu_db::requests::keys::clear_feed(c, at))
            .await
        {
            Ok(n) if n > 0 => tracing::debug!(changes = n, "old request changes cleared"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "clearing the request change feed failed"),
        }
        match sweep_deadlines(&state, at).await {
            Ok(s) if s.reminded + s.escalated > 0 => tracing::info!(
                reminded = s.reminded,
                escalated = s.escalated,
                "deadlines swept"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "deadline sweep failed"),
        }
        match state
            .db
            .write(move |c| shiliu_db::evaluation::reminders::sweep(c, at))
            .await
        {
            Ok(n) if n > 0 => tracing::info!(reminded = n, "evaluation deadlines swept"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "evaluation reminder sweep failed"),
        }
        match state
            .db
            .write(move |c| shiliu_db::tasks::inspections::escalate_overdue(c, at))
            .await
        {
            Ok(n) if n > 0 => tracing::info!(escalated = n, "overdue rectifications escalated"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "rectification escalation failed"),
        }
        match sweep_task_reports(&state, at).await {
            Ok(s) if s.reminded + s.escalated > 0 => tracing::info!(
                reminded = s.reminded,
                escalated = s.escalated,
                "task reports reminded and escalated"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "task report sweep failed"),
        }
    }
}

/// Work plans' reports coming due (催报) and overdue (督办): found on a reader, written in one
/// short write.
async fn sweep_task_reports(
    state: &AppState,
    at: chrono::NaiveDateTime,
) -> Result<shiliu_db::tasks::reminders::Swept, shiliu_db::DbError> {
    let work = state
        .db
        .read(move |c| shiliu_db::tasks::reminders::work(c, at))
        .await?;
    if work.remind.is_empty() && work.escalate.is_empty() {
        return Ok(shiliu_db::tasks::reminders::Swept::default());
    }
    state
        .db
        .write(move |c| shiliu_db::tasks::reminders::mark(c, at, &work))
        .await
}

/// Requests whose deadlines come: found on a reader, marked in short writes of
/// [`DEADLINE_PART`] requests each, so intake is held up neither while the sweep looks nor
/// while it marks a backlog.
async fn sweep_deadlines(
    state: &AppState,
    at: chrono::NaiveDateTime,
) -> Result<shiliu_db::requests::Sweep, shiliu_db::DbError> {
    const DEADLINE_PART: usize = 200;
    let work = state
        .db
        .read(move |c| shiliu_db::requests::deadline_work(c, at))
        .await?;
    let mut done = shiliu_db::requests::Sweep::default();
    for part in work.parts(DEADLINE_PART) {
        let s = state
            .db
            .write(move |c| shiliu_db::requests::mark_deadlines(c, at, &part))
            .await?;
        done.reminded += s.reminded;
        done.escalated += s.escalated;
    }
    Ok(done)
}

/// ARCHITECTURE.md's table of which file handles which URL, as the router has it.
pub fn route_table() -> String {
    use std::fmt::Write as _;
    let mut by_file: std::collections::BTreeMap<&str, Vec<&str>> =
        std::collections::BTreeMap::new();
    for (path, file) in route_files() {
        let file = file.strip_prefix("crates/shiliu-web/src/").unwrap_or(file);
        by_file.entry(file).or_default().push(path);
    }
    let mut out = String::from("| file (`crates/shiliu-web/src/`) | URLs |\n|---|---|\n");
    for (file, paths) in by_file {
        let urls: Vec<String> = paths.iter().map(|p| format!("`{p}`")).collect();
        let _ = writeln!(out, "| `{file}` | {} |", urls.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    /// The table in docs/ARCHITECTURE.md between the `routes` markers is the router's own.
    /// `SHILIU_WRITE_ROUTES=1 cargo test -p shiliu-web --lib route_table` rewrites it.
    #[test]
    fn route_table_in_architecture_md_is_the_routers() {
        const BEGIN: &str = "<!-- routes: generated from the router, checked by a test -->\n";
        const END: &str = "<!-- /routes -->";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/ARCHITECTURE.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let (Some(a), Some(b)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("ARCHITECTURE.md has no routes table markers");
        };
        let table = super::route_table();
        if std::env::var_os("SHILIU_WRITE_ROUTES").is_some() {
            let new = format!("{}{BEGIN}{table}{}", &doc[..a], &doc[b..]);
            std::fs::write(path, new).unwrap();
            return;
        }
        assert_eq!(
            &doc[a + BEGIN.len()..b],
            table,
            "ARCHITECTURE.md's routes table is stale: run \
             SHILIU_WRITE_ROUTES=1 cargo test -p shiliu-web --lib route_table"
        );
    }
}
