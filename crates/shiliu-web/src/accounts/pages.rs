//! Administration pages: users, the audit log, API tokens.

use crate::web::xlsx::Cell;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use shiliu_db::accounts::{self, ApiToken, NewUser};
use shiliu_db::audit::{self, AuditFilter, AuditRow};
use shiliu_db::org as org_db;
use shiliu_db::scope::grants;
use shiliu_domain::accounts::{Username, check_password};
use shiliu_domain::error::{optional_text, required_text};
use shiliu_domain::mobile::Mobile;
use shiliu_domain::roles::{Permission, Role};
use shiliu_domain::{FieldError, FieldErrors};

use crate::org::pages::{FormField, ListQuery, OrgForm, OrgList, OrgRow};
use crate::web::error::{AppError, AppResult};
use crate::web::files::FormData;
use crate::web::page::PAGE;
use crate::web::page::{Layout, Saved, render, render_form};
use crate::web::pickers::{Picker, Ticks, opens_a_level};
use crate::web::{AppState, Principal, random_token, sha256_hex};

/// The users list's `kind` filter is a role.
fn is_role(k: &str) -> bool {
    Role::parse(k).is_some()
}

pub async fn users(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageUsers>()?;
    let t = p.t();
    let f = q.filter(is_role)?;
    let mut rows = state
        .db
        .read(move |c| accounts::list_users(c, actor.scope(), &f, PAGE + 1))
        .await?;
    let next = if rows.len() as i64 > PAGE {
        rows.truncate(PAGE as usize);
        rows.last().map(|r| r.0.id)
    } else {
        None
    };
    let now = shiliu_db::now();
    let page = OrgList {
        l: Layout::new(&p, "nav.users", t.s("users.title")).flash(q.saved.is_some()),
        base: "/users",
        can_edit: true,
        can_import: false,
        q: q.q.clone(),
        kind: q.kind.clone(),
        kind_label: "field.role",
        kinds: Role::ALL
            .iter()
            .map(|r| (r.as_str().to_string(), t.label("role", r.as_str())))
            .collect(),
        inactive: q.inactive.is_some(),
        rows: rows
            .into_iter()
            .map(|(u, region)| OrgRow {
                id: u.id,
                name: format!("{}（{}）", u.display_name, u.username),
                kind: t.label("role", &u.role),
                region,
                phone: u.phone.clone().unwrap_or_default(),
                active: u.active && !u.is_locked(now),
            })
            .collect(),
        next,
        query: q.encoded(),
    };
    render(&page)
}

pub async fn users_export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageUsers>()?;
    let t = p.t();
    let mut f = q.filter(is_role)?;
    f.before_id = None;
    let rows = state
        .db
        .read(move |c| accounts::list_users(c, actor.scope(), &f, 100_000))
        .await?;
    let headers: Vec<String> = [
        "field.username",
        "field.display_name",
        "field.role",
        "field.region",
        "field.phone",
        "field.status",
        "field.created_at",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    let data: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|(u, region)| {
            vec![
                Cell::from(&u.username),
                Cell::from(&u.display_name),
                Cell::from(t.label("role", &u.role)),
                Cell::from(region),
                Cell::from(u.phone.clone()),
                Cell::from(if u.active {
                    t.s("status.active")
                } else {
                    t.s("status.inactive")
                }),
                Cell::Minute(u.created_at),
            ]
        })
        .collect();
    let name = t.s("users.title");
    Ok(crate::web::xlsx::download(
        &format!("{name}.xlsx"),
        crate::web::xlsx::sheet(name, &headers, &data)?,
    ))
}

#[derive(Deserialize, Default, Clone)]
pub struct UserFormData {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    grids: String,
    #[serde(default)]
    phone: String,
}

/// Most grids a user's form lists to tick (a township's); below a wider region, a narrower one
/// is asked for first.
const GRIDS_LISTED: i64 = 300;

/// Where a user works, on their form: the region picker around the code the form holds, and
/// the grids to tick (those below the region picked, and those ticked already wherever they
/// lie), each named with the community it is in.
async fn placement(
    state: &AppState,
    p: &Principal,
    region_code: &str,
    grids: &str,
) -> AppResult<(Picker, Ticks)> {
    let actor = p.require::<grants::ManageUsers>()?;
    let t = p.t();
    let code = region_code.trim().to_string();
    let ticked: Vec<String> = grid_codes(grids).map(str::to_string).collect();
    let held = ticked.clone();
    let (around, listed, kept) = state
        .db
        .read(move |c| {
            let scope = actor.scope();
            let picked = match org_db::picked_region(c, scope, &code, "region_id") {
                Ok(r) => r,
                Err(shiliu_db::DbError::Invalid(_)) => None,
                Err(e) => return Err(e),
            };
            let listed = picked
                .as_ref()
                .map(|r| org_db::grids_within(c, scope, r, GRIDS_LISTED))
                .transpose()?;
            Ok((
                org_db::choices_around(c, scope, picked.as_ref())?,
                listed,
                org_db::grids_by_codes(c, scope, &held)?,
            ))
        })
        .await?;
    let hint = match &listed {
        None => t.s("users.grids_pick_region").to_string(),
        Some(None) => t.f(
            "users.grids_too_many",
            &[("n", GRIDS_LISTED.to_string().as_str())],
        ),
        Some(Some(g)) if g.is_empty() => t.s("users.grids_none").to_string(),
        Some(Some(_)) => String::new(),
    };
    let mut all: Vec<(org_db::Region, String)> = kept;
    all.extend(listed.flatten().unwrap_or_default());
    all.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    all.dedup_by(|a, b| a.0.id == b.0.id);
    let options = all
        .into_iter()
        .map(|(g, under)| {
            let on = ticked.contains(&g.code);
            (g.code, format!("{under} · {}", g.name), on)
        })
        .collect();
    Ok((
        Picker::new("region", "region_code", t.s("field.region"))
            .selected(region_code.trim())
            .required()
            .regions(around, t),
        Ticks {
            name: "grid",
            label: t.field("grids"),
            options,
            hint: Some(
                format!("{} {hint}", t.s("users.grids_hint"))
                    .trim()
                    .to_string(),
            ),
        },
    ))
}

/// A user's form as posted: the grids ticked (`grid`, once per box) gathered as their codes,
/// one per line, in `grids`.
fn posted_user_form<F: serde::de::DeserializeOwned>(pairs: Vec<(String, String)>) -> AppResult<F> {
    let (grids, mut rest): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(k, _)| k == "grid");
    rest.retain(|(k, _)| k != "grids");
    let codes: Vec<String> = grids.into_iter().map(|(_, v)| v).collect();
    rest.push(("grids".into(), codes.join("\n")));
    FormData {
        pairs: rest,
        ..FormData::default()
    }
    .parse()
}

async fn user_form(
    state: &AppState,
    p: &Principal,
    d: &UserFormData,
    errs: &FieldErrors,
) -> AppResult<Response> {
    let (region, grids) = placement(state, p, &d.region_code, &d.grids).await?;
    let t = p.t();
    let err = |name: &str| {
        errs.0
            .iter()
            .find(|e| e.field == name)
            .map(|e| t.field_error(e))
            .unwrap_or_default()
    };
    let f =
        |name: &'static str, value: &str, required: bool, hint: &str, err_name: &str| FormField {
            name,
            label: t.field(name),
            value: value.to_string(),
            required,
            options: vec![],
            hint: hint.to_string(),
            error: err(err_name),
        };
    let mut role = f("role", &d.role, true, "", "role");
    role.options = Role::ALL
        .iter()
        .filter(|r| p.role().may_assign(**r))
        .map(|r| (r.as_str().to_string(), t.label("role", r.as_str())))
        .collect();
    let fields = vec![
        f("username", &d.username, true, "", "username"),
        f("display_name", &d.display_name, true, "", "display_name"),
        f("password", "", true, t.s("users.password_hint"), "password"),
        role,
        f("phone", &d.phone, false, "", "phone"),
    ];
    let page = OrgForm {
        l: Layout::new(p, "nav.users", t.s("users.new")),
        action: "/users".into(),
        back: "/users".into(),
        version: 0,
        fields,
        errors: t.field_errors_as(errs, &[("region_id", "region"), ("grid_ids", "grids")]),
        toggle: None,
        readonly: false,
        poster: None,
        region: Some(region),
        grids: Some(grids),
    };
    render_form(&page, !errs.is_empty())
}

/// An optional mobile number; a bad one is reported against `phone`.
fn parse_phone(v: &str, errs: &mut FieldErrors) -> Option<String> {
    match optional_text("phone", v, 20) {
        Ok(Some(v)) => errs
            .check(Mobile::parse(&v).map_err(|e| e.on("phone")))
            .map(|m| m.as_str().to_string()),
        Ok(None) => None,
        Err(e) => {
            errs.push(e);
            None
        }
    }
}

fn region_id_by_code(
    c: &mut shiliu_db::DbConnection,
    actor: &shiliu_db::scope::Actor,
    code: &str,
    field: &str,
) -> Result<i64, shiliu_db::DbError> {
    org_db::region_id_by_code(c, actor.scope(), code, field)
}

/// Grid codes separated by spaces, new lines or commas.
fn grid_codes(codes: &str) -> impl Iterator<Item = &str> {
    codes
        .split(|ch: char| ch.is_whitespace() || ch == ',' || ch == '，')
        .filter(|s| !s.is_empty())
}

fn grid_ids_by_codes(
    c: &mut shiliu_db::DbConnection,
    actor: &shiliu_db::scope::Actor,
    codes: &str,
) -> Result<Vec<i64>, shiliu_db::DbError> {
    grid_codes(codes)
        .map(|g| org_db::region_id_by_code(c, actor.scope(), g, "grid_ids"))
        .collect()
}

pub async fn users_new(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    p.require::<grants::ManageUsers>()?;
    user_form(
        &state,
        &p,
        &UserFormData {
            role: "grid_worker".into(),
            ..Default::default()
        },
        &FieldErrors::new(),
    )
    .await
}

pub async fn users_create(
    State(state): State<AppState>,
    p: Principal,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageUsers>()?;
    let opening = opens_a_level(&pairs);
    let d: UserFormData = posted_user_form(pairs)?;
    if opening {
        return user_form(&state, &p, &d, &FieldErrors::new()).await;
    }
    let mut errs = FieldErrors::new();
    let username = errs.check(Username::parse(&d.username));
    let display_name = errs.check(required_text("display_name", &d.display_name, 40));
    if let Some(u) = &username {
        errs.check(check_password(&d.password, u.as_str()));
    }
    let role =
        errs.check(Role::parse(&d.role).ok_or_else(|| FieldError::new("role", "err.choice")));
    let phone = parse_phone(&d.phone, &mut errs);
    if d.region_code.trim().is_empty() {
        errs.push(FieldError::new("region_id", "err.required"));
    }
    let (Some(username), Some(display_name), Some(role)) = (username, display_name, role) else {
        return user_form(&state, &p, &d, &errs).await;
    };
    if !errs.is_empty() {
        return user_form(&state, &p, &d, &errs).await;
    }
    let password = d.password.clone();
    let hash = tokio::task::spawn_blocking(move || crate::web::password::hash(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(AppError::Internal)?;
    let (code, grid_codes) = (d.region_code.trim().to_string(), d.grids.clone());
    let result = state
        .db
        .write(move |c| {
            let region_id = region_id_by_code(c, &actor, &code, "region_id")?;
            let grid_ids = grid_ids_by_codes(c, &actor, &grid_codes)?;
            let new = NewUser {
                username,
                display_name,
                password_hash: hash,
                role,
                region_id,
                unit_id: None,
                site_id: None,
                phone,
                grid_ids,
            };
            accounts::create_user(c, &actor, &new)
        })
        .await;
    match result {
        Ok(_) => Ok(Redirect::to("/users?saved=1").into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => user_form(&state, &p, &d, &e).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "accounts/user.html")]
struct UserPage {
    l: Layout,
    id: i64,
    version: i32,
    status: String,
    display_name: String,
    role: String,
    roles: Vec<(String, String)>,
    region: Picker,
    grids: Ticks,
    phone: String,
    toggle_label: String,
    toggle_to: &'static str,
    errors: Vec<(String, String)>,
}

/// The posted account details.
#[derive(Deserialize, Default, Clone)]
pub struct UserEditForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    grids: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    version: i32,
}

/// A user's page: edit the account, reset the password, disable or enable. `posted` re-shows
/// what was submitted next to its errors.
async fn user_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    posted: Option<UserEditForm>,
    errs: &FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageUsers>()?;
    let t = p.t();
    let (user, region_code, grid_codes) = state
        .db
        .read(move |c| {
            let u = accounts::get_user(c, actor.scope(), id)?;
            let region = org_db::atlas::region(c, u.region_id)?;
            let mut grids = Vec::new();
            for g in accounts::user_grid_ids(c, id)? {
                grids.push(org_db::atlas::region(c, g)?.code);
            }
            Ok((u, region.code, grids))
        })
        .await?;
    let d = posted.unwrap_or_else(|| UserEditForm {
        display_name: user.display_name.clone(),
        role: user.role.clone(),
        region_code,
        grids: grid_codes.join("\n"),
        phone: user.phone.clone().unwrap_or_default(),
        version: user.version,
    });
    let (region, grids) = placement(state, p, &d.region_code, &d.grids).await?;
    let status = if !user.active {
        t.s("status.inactive")
    } else if user.is_locked(shiliu_db::now()) {
        t.s("status.locked")
    } else {
        t.s("status.active")
    };
    let page = UserPage {
        l: Layout::new(
            p,
            "nav.users",
            &format!("{}（{}）", user.display_name, user.username),
        )
        .flash(saved),
        id,
        version: d.version,
        status: t.f(
            "users.status",
            &[
                ("status", status),
                (
                    "changed",
                    &shiliu_domain::calendar::local(user.password_changed_at)
                        .format("%Y-%m-%d")
                        .to_string(),
                ),
            ],
        ),
        display_name: d.display_name,
        role: d.role,
        roles: Role::ALL
            .iter()
            .filter(|r| p.role().may_assign(**r))
            .map(|r| (r.as_str().to_string(), t.label("role", r.as_str())))
            .collect(),
        region,
        grids,
        phone: d.phone,
        toggle_label: if user.active {
            t.s("users.disable")
        } else {
            t.s("users.enable")
        }
        .to_string(),
        toggle_to: if user.active { "false" } else { "true" },
        errors: t.field_errors_as(errs, &[("region_id", "region"), ("grid_ids", "grids")]),
    };
    render_form(&page, !errs.is_empty())
}

pub async fn user_show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    user_page(&state, &p, id, None, &FieldErrors::new(), s.yes()).await
}

pub async fn user_update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageUsers>()?;
    let opening = opens_a_level(&pairs);
    let d: UserEditForm = posted_user_form(pairs)?;
    if opening {
        return user_page(&state, &p, id, Some(d), &FieldErrors::new(), false).await;
    }
    let mut errs = FieldErrors::new();
    let display_name = errs.check(required_text("display_name", &d.display_name, 40));
    let role =
        errs.check(Role::parse(&d.role).ok_or_else(|| FieldError::new("role", "err.choice")));
    let phone = parse_phone(&d.phone, &mut errs);
    if d.region_code.trim().is_empty() {
        errs.push(FieldError::new("region_id", "err.required"));
    }
    let (Some(display_name), Some(role), true) = (display_name, role, errs.is_empty()) else {
        return user_page(&state, &p, id, Some(d), &errs, false).await;
    };
    let (code, grid_codes, version) =
        (d.region_code.trim().to_string(), d.grids.clone(), d.version);
    let result = state
        .db
        .write(move |c| {
            let region_id = region_id_by_code(c, &actor, &code, "region_id")?;
            let grid_ids = grid_ids_by_codes(c, &actor, &grid_codes)?;
            let u = accounts::UserUpdate {
                display_name,
                role,
                region_id,
                phone,
                grid_ids,
            };
            accounts::update_user(c, &actor, id, version, &u)
        })
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/users/{id}?saved=1")).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => user_page(&state, &p, id, Some(d), &e, false).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
}

pub async fn user_password(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<PasswordForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageUsers>()?;
    let scope = actor.scope().clone();
    let user = state
        .db
        .read(move |c| accounts::get_user(c, &scope, id))
        .await?;
    if let Err(e) = check_password(&f.password, &user.username) {
        return user_page(&state, &p, id, None, &e.into(), false).await;
    }
    let hash = tokio::task::spawn_blocking(move || crate::web::password::hash(&f.password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(AppError::Internal)?;
    state
        .db
        .write(move |c| accounts::set_password(c, &actor, id, &hash))
        .await?;
    Ok(Redirect::to(&format!("/users/{id}?saved=1")).into_response())
}

#[derive(Deserialize)]
pub struct UserActiveForm {
    active: bool,
}

pub async fn user_active(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<UserActiveForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageUsers>()?;
    state
        .db
        .write(move |c| accounts::set_active(c, &actor, id, f.active))
        .await?;
    state.forget_tokens_of(id);
    Ok(Redirect::to(&format!("/users/{id}?saved=1")).into_response())
}

#[derive(Template)]
#[template(path = "accounts/audit.html")]
struct AuditPage {
    l: Layout,
    chain_ok: bool,
    chain_line: String,
    actor: String,
    action: String,
    from: String,
    to: String,
    rows: Vec<AuditRow>,
    next: Option<i64>,
    query: String,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: Option<i64>,
}

fn day(field: &str, s: &str, end: bool) -> Result<Option<NaiveDateTime>, FieldError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "err.date"))?;
    let d = if end { d.succ_opt().unwrap_or(d) } else { d };
    Ok(Some(crate::web::page::local_day_start(d)))
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, FieldErrors> {
        let mut errs = FieldErrors::new();
        let from = errs.check(day("from", &self.from, false)).flatten();
        let to = errs.check(day("to", &self.to, true)).flatten();
        errs.into_result()?;
        Ok(AuditFilter {
            actor: Some(self.actor.trim().to_lowercase()).filter(|s| !s.is_empty()),
            action: Some(self.action.trim().to_string()).filter(|s| !s.is_empty()),
            entity: None,
            from,
            to,
            before_seq: self.before,
        })
    }

    fn encoded(&self) -> String {
        serde_urlencoded::to_string([
            ("actor", &self.actor),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ])
        .unwrap_or_default()
    }
}

pub async fn audit_log(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    p.require::<grants::ViewAudit>()?;
    let t = p.t();
    let f = q.filter()?;
    let (mut rows, report) = state
        .db
        .read(move |c| Ok((audit::list(c, &f, PAGE + 1)?, audit::verify(c)?)))
        .await?;
    let next = if rows.len() as i64 > PAGE {
        rows.truncate(PAGE as usize);
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    let chain_line = if report.is_intact() {
        t.f("audit.chain_ok", &[("rows", &report.rows.to_string())])
    } else {
        t.f(
            "audit.chain_bad",
            &[(
                "problems",
                &serde_json::to_string(&report).unwrap_or_default(),
            )],
        )
    };
    let page = AuditPage {
        l: Layout::new(&p, "nav.audit", t.s("audit.title")),
        chain_ok: report.is_intact(),
        chain_line,
        actor: q.actor.clone(),
        action: q.action.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        rows,
        next,
        query: q.encoded(),
    };
    render(&page)
}

pub async fn audit_export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    p.require::<grants::ViewAudit>()?;
    let t = p.t();
    let mut f = q.filter()?;
    f.before_seq = None;
    let rows = state.db.read(move |c| audit::list(c, &f, 100_000)).await?;
    let headers: Vec<String> = [
        "#",
        "field.time",
        "field.actor",
        "field.action",
        "field.entity",
        "field.client_addr",
        "field.request_id",
        "field.detail",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    let data: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|r| {
            vec![
                Cell::Int(r.seq),
                Cell::Second(r.at),
                Cell::from(r.actor),
                Cell::from(r.action),
                Cell::from(format!("{} {}", r.entity, r.entity_id.unwrap_or_default())),
                Cell::from(r.client_addr),
                Cell::from(r.request_id),
                Cell::from(r.detail),
            ]
        })
        .collect();
    let name = t.s("audit.title");
    Ok(crate::web::xlsx::download(
        &format!("{name}.xlsx"),
        crate::web::xlsx::sheet(name, &headers, &data)?,
    ))
}

#[derive(Template)]
#[template(path = "accounts/tokens.html")]
struct TokensPage {
    l: Layout,
    created: Option<String>,
    errors: Vec<(String, String)>,
    permissions: Vec<&'static str>,
    tokens: Vec<ApiToken>,
}

async fn tokens_page(
    state: &AppState,
    p: &Principal,
    created: Option<String>,
    errs: &FieldErrors,
) -> AppResult<Response> {
    let t = p.t();
    let uid = p.user().id;
    let tokens = state
        .db
        .read(move |c| accounts::list_tokens(c, uid))
        .await?;
    let page = TokensPage {
        l: Layout::new(p, "nav.tokens", t.s("tokens.title")),
        created,
        errors: t.field_errors(errs),
        permissions: p.role().permissions().iter().map(|x| x.as_str()).collect(),
        tokens,
    };
    render_form(&page, !errs.is_empty())
}

pub async fn tokens(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    p.require::<grants::ManageApiTokens>()?;
    tokens_page(&state, &p, None, &FieldErrors::new()).await
}

pub async fn tokens_create(
    State(state): State<AppState>,
    p: Principal,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageApiTokens>()?;
    // Repeated `perm` fields: parse the pairs directly.
    let pairs = crate::web::form_urlencoded_pairs(&body);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut errs = FieldErrors::new();
    let name = errs.check(required_text("name", &get("name"), 60));
    let days: Option<i64> = errs.check(
        get("days")
            .trim()
            .parse()
            .map_err(|_| FieldError::new("days", "err.number")),
    );
    let perms: Vec<Permission> = pairs
        .iter()
        .filter(|(k, _)| k == "perm")
        .filter_map(|(_, v)| Permission::parse(v))
        .collect();
    let (Some(name), Some(days)) = (name, days) else {
        return tokens_page(&state, &p, None, &errs).await;
    };
    if !errs.is_empty() {
        return tokens_page(&state, &p, None, &errs).await;
    }
    let secret = format!("sl_{}", random_token(32));
    let hash = sha256_hex(&secret);
    let expires = shiliu_db::now() + chrono::Duration::days(days.clamp(-1, 10_000));
    match state
        .db
        .write(move |c| accounts::create_token(c, &actor, &name, &hash, &perms, expires))
        .await
    {
        Ok(_) => tokens_page(&state, &p, Some(secret), &FieldErrors::new()).await,
        Err(shiliu_db::DbError::Invalid(e)) => tokens_page(&state, &p, None, &e).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn tokens_revoke(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageApiTokens>()?;
    state
        .db
        .write(move |c| accounts::revoke_token(c, &actor, id))
        .await?;
    state.forget_tokens_of(p.user().id);
    Ok(Redirect::to("/tokens").into_response())
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/users", get(users).post(users_create))
        .route("/users/new", get(users_new))
        .route("/users/export.xlsx", get(users_export))
        .route("/users/{id}", get(user_show).post(user_update))
        .route("/users/{id}/password", post(user_password))
        .route("/users/{id}/active", post(user_active))
        .route("/audit", get(audit_log))
        .route("/audit/export.xlsx", get(audit_export))
        .route("/tokens", get(tokens).post(tokens_create))
        .route("/tokens/{id}/revoke", post(tokens_revoke))
}
