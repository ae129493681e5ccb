//! Shiliu's HTTP server: server-rendered pages, the JSON API, health and metrics.
//!
//! A request's path: `web::context` (request id, language, session or token, CSRF check,
//! metrics, error rendering) → the route's handler → `Principal::require::<grants::X>()` gives a
//! `Can<X>`, the caller's `Actor` with their scope, known to hold `X` → `shiliu-db` queries
//! filtered by that scope, writes audited in the same transaction → a template or JSON.

pub mod api;
pub mod api_casework;
pub mod api_evaluation;
pub mod api_linkage;
pub mod api_needs;
pub mod api_registry;
pub mod api_request_files;
pub mod open311;
pub mod pages;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use pages::{admin, import, org};
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
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login_submit))
        .route("/logout", post(pages::logout))
        .route("/lang", get(pages::switch_lang))
        .route("/account", get(pages::account))
        .route("/account/password", post(pages::account_password))
        .route("/reference", get(pages::reference))
        .route("/r", get(pages::public::start).post(pages::public::submit))
        .route("/r/track", get(pages::public::track))
        .route("/r/{code}", get(pages::public::status))
        .route("/r/{code}/rate", post(pages::public::rate))
        .route(
            "/d",
            get(pages::declare::start).post(pages::declare::submit),
        )
        .route("/d/track", get(pages::declare::track))
        .route("/d/{code}", get(pages::declare::status))
        .route("/registry/declarations", get(pages::declare::queue))
        .route("/registry/declarations/{id}", get(pages::declare::review))
        .route(
            "/registry/declarations/{id}/confirm",
            post(pages::declare::confirm),
        )
        .route(
            "/registry/declarations/{id}/reject",
            post(pages::declare::reject),
        )
        .route(
            "/requests",
            get(pages::requests::list).post(pages::requests::create),
        )
        .route("/requests/new", get(pages::requests::new))
        .route("/requests/stats", get(pages::stats::page))
        .route("/requests/stats.xlsx", get(pages::stats::export))
        .route(
            "/settings/routing",
            get(pages::settings::routing).post(pages::settings::create_rule),
        )
        .route(
            "/settings/routing/{id}/active",
            post(pages::settings::rule_active),
        )
        .route("/requests/export.xlsx", get(pages::requests::export))
        .route("/requests/{id}/print", get(pages::requests::print))
        .route(
            "/settings/categories",
            get(pages::settings::categories).post(pages::settings::create_category),
        )
        .route(
            "/settings/categories/{id}",
            get(pages::questions::show).post(pages::settings::update_category),
        )
        .route(
            "/settings/categories/{id}/level",
            post(pages::settings::set_level),
        )
        .route(
            "/settings/categories/{id}/questions",
            post(pages::questions::create_question),
        )
        .route(
            "/settings/categories/{category}/questions/{id}",
            post(pages::questions::update_question),
        )
        .route(
            "/settings/categories/{id}/templates",
            post(pages::questions::create_template),
        )
        .route(
            "/settings/categories/{category}/templates/{id}",
            post(pages::questions::update_template),
        )
        .route(
            "/settings/calendar",
            get(pages::settings::calendar).post(pages::settings::set_day),
        )
        .route("/requests/{id}", get(pages::requests::show))
        .route("/requests/{id}/step", post(pages::requests::step))
        .route("/requests/{id}/files", post(pages::request_files::attach))
        .route(
            "/requests/{id}/files/{file_id}",
            get(pages::request_files::open),
        )
        .route("/requests/{id}/cohandlers", post(pages::request_files::ask))
        .route(
            "/requests/{id}/cohandlers/{cohandler_id}/answer",
            post(pages::request_files::answer),
        )
        .route(
            "/requests/{id}/dispute",
            post(pages::casework::open_dispute),
        )
        .route("/requests/{id}/legal-aid", post(pages::casework::open_case))
        .route("/disputes", get(pages::casework::disputes))
        .route("/disputes/{id}", get(pages::casework::dispute))
        .route(
            "/disputes/{id}/{what}",
            post(pages::casework::dispute_record),
        )
        .route("/legal-aid", get(pages::casework::cases))
        .route("/legal-aid/{id}", get(pages::casework::case))
        .route("/legal-aid/{id}/{what}", post(pages::casework::case_record))
        .route(
            "/registry",
            get(pages::registry::list).post(pages::registry::create),
        )
        .route("/registry/new", get(pages::registry::new))
        .route("/registry/out-migrants", get(pages::linkage::out_migrants))
        .route(
            "/registry/import",
            get(pages::registry_import::form).post(pages::registry_import::submit),
        )
        .route(
            "/registry/import/template.xlsx",
            get(pages::registry_import::template_xlsx),
        )
        .route(
            "/registry/import/template.csv",
            get(pages::registry_import::template_csv),
        )
        .route(
            "/registry/import/jobs/{id}",
            get(pages::registry_import::job),
        )
        .route(
            "/registry/surveys",
            get(pages::needs::surveys).post(pages::needs::create_survey),
        )
        .route("/registry/surveys/new", get(pages::needs::new_survey))
        .route("/registry/surveys/{id}", get(pages::needs::survey))
        .route(
            "/registry/surveys/{id}/close",
            post(pages::needs::close_survey),
        )
        .route(
            "/registry/surveys/{id}/households",
            get(pages::needs::households),
        )
        .route(
            "/registry/surveys/{id}/households/{household}",
            get(pages::needs::household_form).post(pages::needs::answer),
        )
        .route("/registry/needs", get(pages::needs::needs))
        .route("/registry/needs/{id}", get(pages::needs::need_show))
        .route(
            "/registry/needs/{id}/request",
            post(pages::needs::to_request),
        )
        .route("/registry/needs/{id}/plan", post(pages::needs::plan))
        .route(
            "/registry/{id}/services",
            post(pages::needs::record_service),
        )
        .route(
            "/registry/assists",
            get(pages::linkage::assists).post(pages::linkage::create),
        )
        .route("/registry/assists/new", get(pages::linkage::new))
        .route("/registry/assists/{id}", get(pages::linkage::show))
        .route("/registry/assists/{id}/reply", post(pages::linkage::reply))
        .route("/registry/assists/{id}/close", post(pages::linkage::close))
        .route(
            "/evaluations",
            get(pages::evaluation::list).post(pages::evaluation::create),
        )
        .route(
            "/evaluations/{id}",
            get(pages::evaluation::show).post(pages::evaluation::update),
        )
        .route(
            "/evaluations/{id}/deadlines",
            post(pages::evaluation::deadlines),
        )
        .route(
            "/evaluations/{id}/advance",
            post(pages::evaluation::advance),
        )
        .route(
            "/evaluations/{id}/categories",
            post(pages::evaluation::add_category),
        )
        .route(
            "/evaluations/{id}/categories/{category}/weights",
            post(pages::evaluation::set_weights),
        )
        .route("/evaluations/{id}/units", post(pages::evaluation::add_unit))
        .route(
            "/evaluations/{id}/units.xlsx",
            get(pages::evaluation::export_units),
        )
        .route(
            "/evaluations/{id}/units/import",
            post(pages::evaluation::import_units),
        )
        .route(
            "/evaluations/{id}/units/{unit}/remove",
            post(pages::evaluation::remove_unit),
        )
        .route(
            "/evaluations/{id}/indicators",
            post(pages::evaluation::add_indicator),
        )
        .route(
            "/evaluations/{id}/indicators/{indicator}/delete",
            post(pages::evaluation::delete_indicator),
        )
        .route(
            "/evaluations/{id}/indicators.xlsx",
            get(pages::evaluation::export_sheet),
        )
        .route(
            "/evaluations/{id}/indicators/import",
            post(pages::evaluation::import_sheet),
        )
        .route("/evaluations/{id}/copy", post(pages::evaluation::copy))
        .route("/evaluations/{id}/remind", post(pages::evaluation::remind))
        .route(
            "/evaluations/{id}/units/{unit}",
            get(pages::evaluation_scores::unit_sheet),
        )
        .route(
            "/evaluations/{id}/units/{unit}/scores",
            post(pages::evaluation_scores::save_scores),
        )
        .route(
            "/evaluations/{id}/evidence/{file}",
            get(pages::evaluation_scores::evidence_file),
        )
        .route(
            "/evaluations/{id}/results",
            get(pages::evaluation_results::page),
        )
        .route(
            "/evaluations/{id}/results.xlsx",
            get(pages::evaluation_results::export),
        )
        .route(
            "/evaluations/{id}/analysis",
            get(pages::evaluation_results::analysis),
        )
        .route(
            "/evaluations/{id}/notice",
            get(pages::evaluation_results::notice),
        )
        .route(
            "/evaluations/{id}/objections",
            post(pages::evaluation_results::decide),
        )
        .route(
            "/evaluations/{id}/corrections",
            post(pages::evaluation_results::correct),
        )
        .route(
            "/evaluations/{id}/teams",
            post(pages::evaluation_scores::create_team),
        )
        .route(
            "/evaluations/{id}/teams/{team}/members",
            post(pages::evaluation_scores::add_member),
        )
        .route(
            "/evaluations/{id}/teams/{team}/units",
            post(pages::evaluation_scores::assign_units),
        )
        .route("/registry/stats", get(pages::registry_stats::page))
        .route("/registry/stats.xlsx", get(pages::registry_stats::export))
        .route("/registry/lookup", post(pages::registry::lookup))
        .route("/registry/export.xlsx", get(pages::registry::export))
        .route(
            "/registry/{id}",
            get(pages::registry::show).post(pages::registry::update),
        )
        .route("/registry/{id}/edit", get(pages::registry::edit))
        .route("/registry/{id}/reveal", post(pages::registry::reveal))
        .route("/registry/{id}/move-out", post(pages::registry::move_out))
        .route("/regions", get(org::regions_root))
        .route(
            "/regions/import",
            get(import::regions_form).post(import::regions_submit),
        )
        .route(
            "/regions/import/template.xlsx",
            get(import::regions_template),
        )
        .route(
            "/regions/{id}",
            get(org::region_show).post(org::region_update),
        )
        .route("/regions/{id}/children", post(org::region_create_child))
        .route("/regions/{id}/export.xlsx", get(org::region_export))
        .route("/regions/{id}/active", post(org::region_set_active))
        .route("/sites", get(org::sites).post(org::sites_create))
        .route("/sites/new", get(org::sites_new))
        .route("/sites/export.xlsx", get(org::sites_export))
        .route(
            "/sites/import",
            get(import::sites_form).post(import::sites_submit),
        )
        .route("/sites/import/template.xlsx", get(import::sites_template))
        .route("/sites/{id}", get(org::sites_show).post(org::sites_update))
        .route("/sites/{id}/active", post(org::sites_active))
        .route("/units", get(org::units).post(org::units_create))
        .route("/units/new", get(org::units_new))
        .route("/units/export.xlsx", get(org::units_export))
        .route(
            "/units/import",
            get(import::units_form).post(import::units_submit),
        )
        .route("/units/import/template.xlsx", get(import::units_template))
        .route("/units/{id}", get(org::units_show).post(org::units_update))
        .route("/units/{id}/active", post(org::units_active))
        .route("/users", get(admin::users).post(admin::users_create))
        .route("/users/new", get(admin::users_new))
        .route("/users/export.xlsx", get(admin::users_export))
        .route(
            "/users/{id}",
            get(admin::user_show).post(admin::user_update),
        )
        .route("/users/{id}/password", post(admin::user_password))
        .route("/users/{id}/active", post(admin::user_active))
        .route("/audit", get(admin::audit_log))
        .route("/audit/export.xlsx", get(admin::audit_export))
        .route("/tokens", get(admin::tokens).post(admin::tokens_create))
        .route("/tokens/{id}/revoke", post(admin::tokens_revoke));
    let api = Routes::new()
        .route("/api/v1/openapi.json", get(api::openapi))
        .route(
            "/api/v1/persons",
            get(api_registry::list).post(api_registry::create),
        )
        .route("/api/v1/persons/lookup", post(api_registry::lookup))
        .route(
            "/api/v1/persons/{id}",
            get(api_registry::get).put(api_registry::update),
        )
        .route(
            "/api/v1/persons/{id}/move-out",
            post(api_registry::move_out),
        )
        .route(
            "/api/v1/persons/{id}/id-number",
            get(api_registry::id_number),
        )
        .route("/api/v1/residents", get(api_registry::residents))
        .route("/api/v1/out-migrants", get(api_linkage::out_migrants))
        .route("/api/v1/evaluations", get(api_evaluation::list))
        .route("/api/v1/evaluations/todo", get(api_evaluation::todo))
        .route(
            "/api/v1/evaluations/{id}/reminders",
            post(api_evaluation::remind),
        )
        .route("/api/v1/evaluations/{id}", get(api_evaluation::get))
        .route(
            "/api/v1/evaluations/{id}/units/{unit}/scores",
            get(api_evaluation::unit_scores).post(api_evaluation::save_scores),
        )
        .route(
            "/api/v1/evaluations/{id}/results",
            get(api_evaluation::results),
        )
        .route("/api/v1/surveys", get(api_needs::surveys))
        .route("/api/v1/surveys/{id}/responses", post(api_needs::answer))
        .route("/api/v1/needs", get(api_needs::needs))
        .route("/api/v1/needs/{id}/request", post(api_needs::to_request))
        .route("/api/v1/needs/{id}/plan", post(api_needs::plan))
        .route(
            "/api/v1/persons/{id}/services",
            get(api_needs::services).post(api_needs::record_service),
        )
        .route(
            "/api/v1/assists",
            get(api_linkage::list).post(api_linkage::create),
        )
        .route("/api/v1/assists/{id}", get(api_linkage::get))
        .route("/api/v1/assists/{id}/reply", post(api_linkage::reply))
        .route("/api/v1/assists/{id}/close", post(api_linkage::close))
        .route("/api/v1/me", get(api::me))
        .route("/api/v1/request-categories", get(api::request_categories))
        .route(
            "/api/v1/requests",
            get(api::requests_list).post(api::request_create),
        )
        .route("/api/v1/requests/stats", get(api::request_stats))
        .route("/api/v1/requests/{id}", get(api::request_get))
        .route("/api/v1/requests/{id}/steps", post(api::request_step))
        .route(
            "/api/v1/requests/{id}/dispute",
            post(api_casework::open_dispute),
        )
        .route(
            "/api/v1/requests/{id}/legal-aid",
            post(api_casework::open_case),
        )
        .route(
            "/api/v1/requests/{id}/files",
            get(api_request_files::list_files).post(api_request_files::attach),
        )
        .route(
            "/api/v1/requests/{id}/files/{file_id}",
            get(api_request_files::open_file),
        )
        .route(
            "/api/v1/requests/{id}/cohandlers",
            get(api_request_files::cohandlers).post(api_request_files::ask),
        )
        .route(
            "/api/v1/requests/{id}/cohandlers/{cohandler_id}/answer",
            post(api_request_files::answer),
        )
        .route("/api/v1/disputes", get(api_casework::disputes))
        .route("/api/v1/disputes/{id}", get(api_casework::dispute))
        .route(
            "/api/v1/disputes/{id}/{record}",
            post(api_casework::dispute_record),
        )
        .route("/api/v1/legal-aid", get(api_casework::cases))
        .route("/api/v1/legal-aid/{id}", get(api_casework::case))
        .route(
            "/api/v1/legal-aid/{id}/{record}",
            post(api_casework::case_record),
        )
        .route(
            "/open311/v2/{file}",
            get(open311::root_get).post(open311::create),
        )
        .route(
            "/open311/v2/services/{file}",
            get(open311::service_definition),
        )
        .route("/open311/v2/requests/{file}", get(open311::one))
        .route("/open311/v2/tokens/{file}", get(open311::token))
        .route("/api/v1/regions/{id}", get(api::region))
        .route("/api/v1/regions/{id}/children", get(api::region_children))
        .route("/api/v1/sites", get(api::sites))
        .route("/api/v1/sites/{id}", get(api::site))
        .route("/api/v1/units", get(api::units))
        .route("/api/v1/units/{id}", get(api::unit));
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
