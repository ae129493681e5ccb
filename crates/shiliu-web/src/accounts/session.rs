//! Signing in and out, the language, and one's own account.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::accounts;
use shiliu_db::scope::Actor;

use crate::web::error::{AppError, AppResult};
use crate::web::i18n::Lang;
use crate::web::page::{Layout, Saved, render, render_form, safe_next};
use crate::web::{
    AppState, Ctx, LANG_COOKIE, PRE_CSRF_COOKIE, Principal, SESSION_COOKIE, Via, random_token,
    set_cookie, sha256_hex,
};

#[derive(Template)]
#[template(path = "accounts/login.html")]
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
    let username = f.username.trim().to_lowercase();
    if !state.allow_login_attempt(&ctx.client_addr, &username) {
        return fail("login.throttled").map(|mut r| {
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            r
        });
    }
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
    state.login_succeeded(&ctx.client_addr, &username);
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
#[template(path = "accounts/account.html")]
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
                ("name", &p.user().display_name),
                ("username", &p.user().username),
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
    let (current, hash) = (f.current.clone(), p.user().password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || crate::web::password::verify(&current, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut errs = shiliu_domain::FieldErrors::new();
    if !ok {
        errs.push(FieldError::new("current", "account.wrong_current"));
    }
    errs.check(shiliu_domain::accounts::check_password(
        &f.password,
        &p.user().username,
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

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang", get(switch_lang))
        .route("/account", get(account))
        .route("/account/password", post(account_password))
}
