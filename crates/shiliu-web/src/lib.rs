//! Shiliu's HTTP server: server-rendered pages, the JSON API, health and metrics.
//!
//! A request's path: `web::context` (request id, language, session or token, CSRF check,
//! metrics, error rendering) → the route's handler → `Principal::require::<grants::X>()` gives a
//! `Can<X>`, the caller's `Actor` with their scope, known to hold `X` → `shiliu-db` queries
//! filtered by that scope, writes audited in the same transaction → a template or JSON.

pub mod accounts;
pub mod casework;
pub mod evaluation;
pub mod home;
pub mod org;
pub mod registry;
pub mod requests;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

pub use web::{AppState, WebConfig};

/// The routes as they are registered: each path kept beside the router, so that the
/// cross-scope test walks every route there is ([`route_paths`]) and a route is covered the day
/// it is added.
struct Routes {
    router: Router<AppState>,
    paths: Vec<&'static str>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    fn route(mut self, path: &'static str, method: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, method);
        self.paths.push(path);
        self
    }

    fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }
}

/// Every route's path, as the router matches it (`/requests/{id}`), in the order registered.
pub fn route_paths() -> Vec<&'static str> {
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
        .with_state(state)
}

fn routes() -> Routes {
    let pages = Routes::new()
        .route("/", get(home::pages::home))
        .route(
            "/login",
            get(accounts::session::login_form).post(accounts::session::login_submit),
        )
        .route("/logout", post(accounts::session::logout))
        .route("/lang", get(accounts::session::switch_lang))
        .route("/account", get(accounts::session::account))
        .route(
            "/account/password",
            post(accounts::session::account_password),
        )
        .route("/reference", get(home::pages::reference))
        .route(
            "/r",
            get(requests::public::start).post(requests::public::submit),
        )
        .route("/r/track", get(requests::public::track))
        .route("/r/{code}", get(requests::public::status))
        .route("/r/{code}/rate", post(requests::public::rate))
        .route(
            "/d",
            get(registry::declare::start).post(registry::declare::submit),
        )
        .route("/d/track", get(registry::declare::track))
        .route("/d/{code}", get(registry::declare::status))
        .route("/registry/declarations", get(registry::declare::queue))
        .route(
            "/registry/declarations/{id}",
            get(registry::declare::review),
        )
        .route(
            "/registry/declarations/{id}/confirm",
            post(registry::declare::confirm),
        )
        .route(
            "/registry/declarations/{id}/reject",
            post(registry::declare::reject),
        )
        .route(
            "/requests",
            get(requests::pages::list).post(requests::pages::create),
        )
        .route("/requests/new", get(requests::pages::new))
        .route("/requests/stats", get(requests::stats::page))
        .route("/requests/stats.xlsx", get(requests::stats::export))
        .route(
            "/settings/routing",
            get(requests::settings::routing).post(requests::settings::create_rule),
        )
        .route(
            "/settings/routing/{id}/active",
            post(requests::settings::rule_active),
        )
        .route("/requests/export.xlsx", get(requests::pages::export))
        .route("/requests/{id}/print", get(requests::pages::print))
        .route(
            "/settings/categories",
            get(requests::settings::categories).post(requests::settings::create_category),
        )
        .route(
            "/settings/categories/{id}",
            get(requests::questions::show).post(requests::settings::update_category),
        )
        .route(
            "/settings/categories/{id}/level",
            post(requests::settings::set_level),
        )
        .route(
            "/settings/categories/{id}/questions",
            post(requests::questions::create_question),
        )
        .route(
            "/settings/categories/{category}/questions/{id}",
            post(requests::questions::update_question),
        )
        .route(
            "/settings/categories/{id}/templates",
            post(requests::questions::create_template),
        )
        .route(
            "/settings/categories/{category}/templates/{id}",
            post(requests::questions::update_template),
        )
        .route(
            "/settings/calendar",
            get(requests::settings::calendar).post(requests::settings::set_day),
        )
        .route("/requests/{id}", get(requests::pages::show))
        .route("/requests/{id}/step", post(requests::pages::step))
        .route("/requests/{id}/files", post(requests::files::pages::attach))
        .route(
            "/requests/{id}/files/{file_id}",
            get(requests::files::pages::open),
        )
        .route(
            "/requests/{id}/cohandlers",
            post(requests::files::pages::ask),
        )
        .route(
            "/requests/{id}/cohandlers/{cohandler_id}/answer",
            post(requests::files::pages::answer),
        )
        .route(
            "/requests/{id}/dispute",
            post(casework::pages::open_dispute),
        )
        .route("/requests/{id}/legal-aid", post(casework::pages::open_case))
        .route("/disputes", get(casework::pages::disputes))
        .route("/disputes/{id}", get(casework::pages::dispute))
        .route(
            "/disputes/{id}/{what}",
            post(casework::pages::dispute_record),
        )
        .route("/legal-aid", get(casework::pages::cases))
        .route("/legal-aid/{id}", get(casework::pages::case))
        .route("/legal-aid/{id}/{what}", post(casework::pages::case_record))
        .route(
            "/registry",
            get(registry::pages::list).post(registry::pages::create),
        )
        .route("/registry/new", get(registry::pages::new))
        .route(
            "/registry/out-migrants",
            get(registry::linkage::pages::out_migrants),
        )
        .route(
            "/registry/import",
            get(registry::import::form).post(registry::import::submit),
        )
        .route(
            "/registry/import/template.xlsx",
            get(registry::import::template_xlsx),
        )
        .route(
            "/registry/import/template.csv",
            get(registry::import::template_csv),
        )
        .route("/registry/import/jobs/{id}", get(registry::import::job))
        .route(
            "/registry/surveys",
            get(registry::needs::pages::surveys).post(registry::needs::pages::create_survey),
        )
        .route(
            "/registry/surveys/new",
            get(registry::needs::pages::new_survey),
        )
        .route(
            "/registry/surveys/{id}",
            get(registry::needs::pages::survey),
        )
        .route(
            "/registry/surveys/{id}/close",
            post(registry::needs::pages::close_survey),
        )
        .route(
            "/registry/surveys/{id}/households",
            get(registry::needs::pages::households),
        )
        .route(
            "/registry/surveys/{id}/households/{household}",
            get(registry::needs::pages::household_form).post(registry::needs::pages::answer),
        )
        .route("/registry/needs", get(registry::needs::pages::needs))
        .route(
            "/registry/needs/{id}",
            get(registry::needs::pages::need_show),
        )
        .route(
            "/registry/needs/{id}/request",
            post(registry::needs::pages::to_request),
        )
        .route(
            "/registry/needs/{id}/plan",
            post(registry::needs::pages::plan),
        )
        .route(
            "/registry/{id}/services",
            post(registry::needs::pages::record_service),
        )
        .route(
            "/registry/assists",
            get(registry::linkage::pages::assists).post(registry::linkage::pages::create),
        )
        .route("/registry/assists/new", get(registry::linkage::pages::new))
        .route(
            "/registry/assists/{id}",
            get(registry::linkage::pages::show),
        )
        .route(
            "/registry/assists/{id}/reply",
            post(registry::linkage::pages::reply),
        )
        .route(
            "/registry/assists/{id}/close",
            post(registry::linkage::pages::close),
        )
        .route(
            "/evaluations",
            get(evaluation::pages::list).post(evaluation::pages::create),
        )
        .route(
            "/evaluations/{id}",
            get(evaluation::pages::show).post(evaluation::pages::update),
        )
        .route(
            "/evaluations/{id}/deadlines",
            post(evaluation::pages::deadlines),
        )
        .route(
            "/evaluations/{id}/advance",
            post(evaluation::pages::advance),
        )
        .route(
            "/evaluations/{id}/categories",
            post(evaluation::pages::add_category),
        )
        .route(
            "/evaluations/{id}/categories/{category}/weights",
            post(evaluation::pages::set_weights),
        )
        .route("/evaluations/{id}/units", post(evaluation::pages::add_unit))
        .route(
            "/evaluations/{id}/units.xlsx",
            get(evaluation::pages::export_units),
        )
        .route(
            "/evaluations/{id}/units/import",
            post(evaluation::pages::import_units),
        )
        .route(
            "/evaluations/{id}/units/{unit}/remove",
            post(evaluation::pages::remove_unit),
        )
        .route(
            "/evaluations/{id}/indicators",
            post(evaluation::pages::add_indicator),
        )
        .route(
            "/evaluations/{id}/indicators/{indicator}/delete",
            post(evaluation::pages::delete_indicator),
        )
        .route(
            "/evaluations/{id}/indicators.xlsx",
            get(evaluation::pages::export_sheet),
        )
        .route(
            "/evaluations/{id}/indicators/import",
            post(evaluation::pages::import_sheet),
        )
        .route("/evaluations/{id}/copy", post(evaluation::pages::copy))
        .route("/evaluations/{id}/remind", post(evaluation::pages::remind))
        .route(
            "/evaluations/{id}/units/{unit}",
            get(evaluation::scores::unit_sheet),
        )
        .route(
            "/evaluations/{id}/units/{unit}/scores",
            post(evaluation::scores::save_scores),
        )
        .route(
            "/evaluations/{id}/evidence/{file}",
            get(evaluation::scores::evidence_file),
        )
        .route("/evaluations/{id}/results", get(evaluation::results::page))
        .route(
            "/evaluations/{id}/results.xlsx",
            get(evaluation::results::export),
        )
        .route(
            "/evaluations/{id}/analysis",
            get(evaluation::results::analysis),
        )
        .route("/evaluations/{id}/notice", get(evaluation::results::notice))
        .route(
            "/evaluations/{id}/objections",
            post(evaluation::results::decide),
        )
        .route(
            "/evaluations/{id}/corrections",
            post(evaluation::results::correct),
        )
        .route(
            "/evaluations/{id}/teams",
            post(evaluation::scores::create_team),
        )
        .route(
            "/evaluations/{id}/teams/{team}/members",
            post(evaluation::scores::add_member),
        )
        .route(
            "/evaluations/{id}/teams/{team}/units",
            post(evaluation::scores::assign_units),
        )
        .route("/registry/stats", get(registry::stats::page))
        .route("/registry/stats.xlsx", get(registry::stats::export))
        .route("/registry/lookup", post(registry::pages::lookup))
        .route("/registry/export.xlsx", get(registry::pages::export))
        .route(
            "/registry/{id}",
            get(registry::pages::show).post(registry::pages::update),
        )
        .route("/registry/{id}/edit", get(registry::pages::edit))
        .route("/registry/{id}/reveal", post(registry::pages::reveal))
        .route("/registry/{id}/move-out", post(registry::pages::move_out))
        .route("/regions", get(org::pages::regions_root))
        .route(
            "/regions/import",
            get(org::import::regions_form).post(org::import::regions_submit),
        )
        .route(
            "/regions/import/template.xlsx",
            get(org::import::regions_template),
        )
        .route(
            "/regions/{id}",
            get(org::pages::region_show).post(org::pages::region_update),
        )
        .route(
            "/regions/{id}/children",
            post(org::pages::region_create_child),
        )
        .route("/regions/{id}/export.xlsx", get(org::pages::region_export))
        .route("/regions/{id}/active", post(org::pages::region_set_active))
        .route(
            "/sites",
            get(org::pages::sites).post(org::pages::sites_create),
        )
        .route("/sites/new", get(org::pages::sites_new))
        .route("/sites/export.xlsx", get(org::pages::sites_export))
        .route(
            "/sites/import",
            get(org::import::sites_form).post(org::import::sites_submit),
        )
        .route(
            "/sites/import/template.xlsx",
            get(org::import::sites_template),
        )
        .route(
            "/sites/{id}",
            get(org::pages::sites_show).post(org::pages::sites_update),
        )
        .route("/sites/{id}/active", post(org::pages::sites_active))
        .route(
            "/units",
            get(org::pages::units).post(org::pages::units_create),
        )
        .route("/units/new", get(org::pages::units_new))
        .route("/units/export.xlsx", get(org::pages::units_export))
        .route(
            "/units/import",
            get(org::import::units_form).post(org::import::units_submit),
        )
        .route(
            "/units/import/template.xlsx",
            get(org::import::units_template),
        )
        .route(
            "/units/{id}",
            get(org::pages::units_show).post(org::pages::units_update),
        )
        .route("/units/{id}/active", post(org::pages::units_active))
        .route(
            "/users",
            get(accounts::pages::users).post(accounts::pages::users_create),
        )
        .route("/users/new", get(accounts::pages::users_new))
        .route("/users/export.xlsx", get(accounts::pages::users_export))
        .route(
            "/users/{id}",
            get(accounts::pages::user_show).post(accounts::pages::user_update),
        )
        .route("/users/{id}/password", post(accounts::pages::user_password))
        .route("/users/{id}/active", post(accounts::pages::user_active))
        .route("/audit", get(accounts::pages::audit_log))
        .route("/audit/export.xlsx", get(accounts::pages::audit_export))
        .route(
            "/tokens",
            get(accounts::pages::tokens).post(accounts::pages::tokens_create),
        )
        .route("/tokens/{id}/revoke", post(accounts::pages::tokens_revoke));
    let api = Routes::new()
        .route("/api/v1/openapi.json", get(web::api::openapi))
        .route(
            "/api/v1/persons",
            get(registry::api::list).post(registry::api::create),
        )
        .route("/api/v1/persons/lookup", post(registry::api::lookup))
        .route(
            "/api/v1/persons/{id}",
            get(registry::api::get).put(registry::api::update),
        )
        .route(
            "/api/v1/persons/{id}/move-out",
            post(registry::api::move_out),
        )
        .route(
            "/api/v1/persons/{id}/id-number",
            get(registry::api::id_number),
        )
        .route("/api/v1/residents", get(registry::api::residents))
        .route(
            "/api/v1/out-migrants",
            get(registry::linkage::api::out_migrants),
        )
        .route("/api/v1/evaluations", get(evaluation::api::list))
        .route("/api/v1/evaluations/todo", get(evaluation::api::todo))
        .route(
            "/api/v1/evaluations/{id}/reminders",
            post(evaluation::api::remind),
        )
        .route("/api/v1/evaluations/{id}", get(evaluation::api::get))
        .route(
            "/api/v1/evaluations/{id}/units/{unit}/scores",
            get(evaluation::api::unit_scores).post(evaluation::api::save_scores),
        )
        .route(
            "/api/v1/evaluations/{id}/results",
            get(evaluation::api::results),
        )
        .route("/api/v1/surveys", get(registry::needs::api::surveys))
        .route(
            "/api/v1/surveys/{id}/responses",
            post(registry::needs::api::answer),
        )
        .route("/api/v1/needs", get(registry::needs::api::needs))
        .route(
            "/api/v1/needs/{id}/request",
            post(registry::needs::api::to_request),
        )
        .route("/api/v1/needs/{id}/plan", post(registry::needs::api::plan))
        .route(
            "/api/v1/persons/{id}/services",
            get(registry::needs::api::services).post(registry::needs::api::record_service),
        )
        .route(
            "/api/v1/assists",
            get(registry::linkage::api::list).post(registry::linkage::api::create),
        )
        .route("/api/v1/assists/{id}", get(registry::linkage::api::get))
        .route(
            "/api/v1/assists/{id}/reply",
            post(registry::linkage::api::reply),
        )
        .route(
            "/api/v1/assists/{id}/close",
            post(registry::linkage::api::close),
        )
        .route("/api/v1/me", get(accounts::api::me))
        .route(
            "/api/v1/request-categories",
            get(requests::api::request_categories),
        )
        .route(
            "/api/v1/requests",
            get(requests::api::requests_list).post(requests::api::request_create),
        )
        .route("/api/v1/requests/stats", get(requests::api::request_stats))
        .route("/api/v1/requests/{id}", get(requests::api::request_get))
        .route(
            "/api/v1/requests/{id}/steps",
            post(requests::api::request_step),
        )
        .route(
            "/api/v1/requests/{id}/dispute",
            post(casework::api::open_dispute),
        )
        .route(
            "/api/v1/requests/{id}/legal-aid",
            post(casework::api::open_case),
        )
        .route(
            "/api/v1/requests/{id}/files",
            get(requests::files::api::list_files).post(requests::files::api::attach),
        )
        .route(
            "/api/v1/requests/{id}/files/{file_id}",
            get(requests::files::api::open_file),
        )
        .route(
            "/api/v1/requests/{id}/cohandlers",
            get(requests::files::api::cohandlers).post(requests::files::api::ask),
        )
        .route(
            "/api/v1/requests/{id}/cohandlers/{cohandler_id}/answer",
            post(requests::files::api::answer),
        )
        .route("/api/v1/disputes", get(casework::api::disputes))
        .route("/api/v1/disputes/{id}", get(casework::api::dispute))
        .route(
            "/api/v1/disputes/{id}/{record}",
            post(casework::api::dispute_record),
        )
        .route("/api/v1/legal-aid", get(casework::api::cases))
        .route("/api/v1/legal-aid/{id}", get(casework::api::case))
        .route(
            "/api/v1/legal-aid/{id}/{record}",
            post(casework::api::case_record),
        )
        .route(
            "/open311/v2/{file}",
            get(requests::open311::root_get).post(requests::open311::create),
        )
        .route(
            "/open311/v2/services/{file}",
            get(requests::open311::service_definition),
        )
        .route("/open311/v2/requests/{file}", get(requests::open311::one))
        .route("/open311/v2/tokens/{file}", get(requests::open311::token))
        .route("/api/v1/regions/{id}", get(org::api::region))
        .route(
            "/api/v1/regions/{id}/children",
            get(org::api::region_children),
        )
        .route("/api/v1/sites", get(org::api::sites))
        .route("/api/v1/sites/{id}", get(org::api::site))
        .route("/api/v1/units", get(org::api::units))
        .route("/api/v1/units/{id}", get(org::api::unit));
    let ops = Routes::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js));
    pages.merge(api).merge(ops)
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

/// Serve until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let housekeeping = tokio::spawn(housekeeping(state.clone()));
    let folding = tokio::spawn(fold_tallies(state.clone()));
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
    result
}

/// Every two seconds: fold the statistics' journals into their totals (see `shiliu_db::stats`
/// and `shiliu_db::registry::tallies`), so the journal a statistics page reads besides the
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
        let folded = fold_journal(&state, shiliu_db::stats::fold).await
            + fold_journal(&state, shiliu_db::registry::tallies::fold).await;
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
            .read(move |c| shiliu_db::stats::clear_dead_rows(c, totals))
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
            Ok(n) if n == shiliu_db::stats::FOLD_BATCH => folded += n,
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
    }
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
