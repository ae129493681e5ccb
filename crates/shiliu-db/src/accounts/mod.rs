//! Users, sessions, login throttling and API tokens.
//!
//! Password hashing happens in the web layer (argon2id); this module stores hashes and
//! enforces the account rules that need the database: unique names, lockout after repeated
//! failures, scope of who may create whom.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::accounts::Username;
use shiliu_domain::org::RegionKind;
use shiliu_domain::roles::{Permission, Role};

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::org::{Region, get_region};
use crate::schema::{api_tokens, regions, sessions, user_grids, users};
use crate::scope::grants::ManageUsers;
use crate::scope::{Actor, Caller, Can, Scope};
use crate::versioned;
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: String,
    pub region_id: i64,
    pub unit_id: Option<i64>,
    pub site_id: Option<i64>,
    pub phone: Option<String>,
    pub locale: String,
    pub active: bool,
    pub failed_logins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub password_changed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl User {
    pub fn role(&self) -> Role {
        // An unknown role (a downgrade after a newer version added one) gets the least access.
        Role::parse(&self.role).unwrap_or(Role::Leader)
    }

    pub fn is_locked(&self, at: NaiveDateTime) -> bool {
        self.locked_until.is_some_and(|t| t > at)
    }
}

/// The data scope of a user: their grids (grid workers) or their region's subtree.
pub(crate) fn user_scope(conn: &mut DbConnection, user: &User) -> Result<Scope, DbError> {
    if user.role().scoped_to_grids() {
        let paths: Vec<String> = user_grids::table
            .inner_join(regions::table)
            .filter(user_grids::user_id.eq(user.id))
            .filter(regions::active.eq(true))
            .select(regions::path)
            .load(conn)?;
        return Ok(Scope::of_paths(paths));
    }
    let (path, code, kind): (String, String, String) = regions::table
        .filter(regions::id.eq(user.region_id))
        .select((regions::path, regions::code, regions::kind))
        .first(conn)?;
    // The home side of 流出地联动 is a division: its staff answer for the people whose 户籍地
    // lies in it. Communities and grids are not 户籍地.
    let origins = RegionKind::parse(&kind)
        .filter(|k| k.is_official())
        .map(|_| vec![shiliu_domain::divisions::short_code(&code).to_string()])
        .unwrap_or_default();
    Ok(Scope::of_paths(vec![path]).with_origins(origins))
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub region_id: i64,
    pub unit_id: Option<i64>,
    pub site_id: Option<i64>,
    pub phone: Option<String>,
    /// For grid workers: the grids they serve, each inside `region_id`'s subtree.
    pub grid_ids: Vec<i64>,
}

/// Whether the actor may give (or manage an account holding) this role: a user by their own
/// role, the system always, a resident never.
fn may_assign(actor: &Actor, role: Role) -> bool {
    actor.is_system() || actor.role().is_some_and(|r| r.may_assign(role))
}

pub fn create_user(
    conn: &mut DbConnection,
    actor: &Can<ManageUsers>,
    new: &NewUser,
) -> Result<User, DbError> {
    if !may_assign(actor, new.role) {
        return Err(DbError::invalid("role", "err.role.not_assignable"));
    }
    let region = get_region(conn, &actor.scope, new.region_id)
        .map_err(|_| DbError::invalid("region_id", "err.region.unknown"))?;
    if users::table
        .filter(users::username.eq(new.username.as_str()))
        .count()
        .get_result::<i64>(conn)?
        > 0
    {
        return Err(DbError::invalid("username", "err.username.taken"));
    }
    let grids = check_grids(conn, actor, &region, new.role, &new.grid_ids)?;
    let id = new_id();
    let t = now();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id),
            users::username.eq(new.username.as_str()),
            users::display_name.eq(&new.display_name),
            users::password_hash.eq(&new.password_hash),
            users::role.eq(new.role.as_str()),
            users::region_id.eq(region.id),
            users::unit_id.eq(new.unit_id),
            users::site_id.eq(new.site_id),
            users::phone.eq(&new.phone),
            users::locale.eq("zh-CN"),
            users::active.eq(true),
            users::failed_logins.eq(0),
            users::password_changed_at.eq(t),
            users::created_at.eq(t),
            users::updated_at.eq(t),
            users::version.eq(1),
        ))
        .execute(conn)?;
    for g in &grids {
        diesel::insert_into(user_grids::table)
            .values((user_grids::user_id.eq(id), user_grids::grid_id.eq(g)))
            .execute(conn)?;
    }
    let user = get_user_unscoped(conn, id)?;
    audit::record(
        conn,
        actor,
        Event::new("user.create", "user", id)
            .region(region.id)
            .after(&user)
            .detail(serde_json::json!({"username": user.username, "role": user.role, "grids": grids.len()})),
    )?;
    Ok(user)
}

fn check_grids(
    conn: &mut DbConnection,
    actor: &Actor,
    region: &Region,
    role: Role,
    grid_ids: &[i64],
) -> Result<Vec<i64>, DbError> {
    if !role.scoped_to_grids() {
        return Ok(Vec::new());
    }
    if grid_ids.is_empty() {
        return Err(DbError::invalid("grid_ids", "err.grid.required"));
    }
    let mut out = Vec::new();
    for g in grid_ids {
        let grid = get_region(conn, &actor.scope, *g)
            .map_err(|_| DbError::invalid("grid_ids", "err.region.unknown"))?;
        if grid.kind() != RegionKind::Grid || !grid.path.starts_with(&region.path) {
            return Err(DbError::invalid("grid_ids", "err.grid.outside_region"));
        }
        if !out.contains(g) {
            out.push(*g);
        }
    }
    Ok(out)
}

/// Authentication looks users up by name before anyone is known: not scoped.
pub fn find_by_username(conn: &mut DbConnection, username: &str) -> Result<Option<User>, DbError> {
    Ok(users::table
        .filter(users::username.eq(username.trim().to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// The display names of the users who wrote the rows a caller was given (a request's
/// history), by user id: a record shows who acted by name, not by login. Not scoped by the
/// users' regions: the ids come from rows already read through their scoped parent, and a
/// name is what those rows' readers are shown anyway.
pub fn display_names(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, DbError> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

fn get_user_unscoped(conn: &mut DbConnection, id: i64) -> Result<User, DbError> {
    Ok(users::table
        .filter(users::id.eq(id))
        .select(User::as_select())
        .first(conn)?)
}

pub fn get_user(conn: &mut DbConnection, scope: &Scope, id: i64) -> Result<User, DbError> {
    Ok(users::table
        .inner_join(regions::table)
        .filter(scope.filter())
        .filter(users::id.eq(id))
        .select(User::as_select())
        .first(conn)?)
}

pub fn list_users(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &crate::org::ListFilter,
    limit: i64,
) -> Result<Vec<(User, String)>, DbError> {
    let mut q = users::table
        .inner_join(regions::table)
        .filter(scope.filter())
        .select((User::as_select(), regions::name))
        .into_boxed();
    if let Some(t) = f.text.as_deref().filter(|t| !t.trim().is_empty()) {
        let pat = crate::org::contains_pattern(t.trim());
        q = q.filter(
            crate::org::lower(users::username)
                .like(pat.clone())
                .escape('\\')
                .or(crate::org::lower(users::display_name)
                    .like(pat)
                    .escape('\\')),
        );
    }
    if let Some(w) = f.within {
        let r = get_region(conn, scope, w)?;
        q = q.filter(Scope::of_paths(vec![r.path]).filter());
    }
    if let Some(role) = &f.kind {
        q = q.filter(users::role.eq(role.clone()));
    }
    if !f.include_inactive {
        q = q.filter(users::active.eq(true));
    }
    if let Some(b) = f.before_id {
        q = q.filter(users::id.lt(b));
    }
    Ok(q.order(users::id.desc()).limit(limit).load(conn)?)
}

/// Grids a grid worker serves.
pub fn user_grid_ids(conn: &mut DbConnection, user_id: i64) -> Result<Vec<i64>, DbError> {
    Ok(user_grids::table
        .filter(user_grids::user_id.eq(user_id))
        .select(user_grids::grid_id)
        .load(conn)?)
}

/// A user the actor may manage: inside their scope, and holding no permission the actor lacks
/// (commission staff cannot reset a system administrator's password, whatever the region).
pub fn managed_user(
    conn: &mut DbConnection,
    actor: &Can<ManageUsers>,
    user_id: i64,
) -> Result<User, DbError> {
    let user = get_user(conn, &actor.scope, user_id)?;
    if !may_assign(actor, user.role()) {
        return Err(DbError::invalid("role", "err.role.not_manageable"));
    }
    Ok(user)
}

/// The editable fields of an account.
#[derive(Debug, Clone)]
pub struct UserUpdate {
    pub display_name: String,
    pub role: Role,
    pub region_id: i64,
    pub phone: Option<String>,
    pub grid_ids: Vec<i64>,
}

/// Change an account's name, role, region, grids or phone, within what the actor may grant.
pub fn update_user(
    conn: &mut DbConnection,
    actor: &Can<ManageUsers>,
    user_id: i64,
    version: i32,
    u: &UserUpdate,
) -> Result<User, DbError> {
    let before = managed_user(conn, actor, user_id)?;
    versioned::expect(version, before.version)?;
    if !may_assign(actor, u.role) {
        return Err(DbError::invalid("role", "err.role.not_assignable"));
    }
    if actor.user_id == Some(user_id) && u.role != before.role() {
        return Err(DbError::invalid("role", "err.user.self_role"));
    }
    let region = get_region(conn, &actor.scope, u.region_id)
        .map_err(|_| DbError::invalid("region_id", "err.region.unknown"))?;
    let grids = check_grids(conn, actor, &region, u.role, &u.grid_ids)?;
    let n = diesel::update(
        users::table
            .filter(users::id.eq(user_id))
            .filter(users::version.eq(version)),
    )
    .set((
        users::display_name.eq(&u.display_name),
        users::role.eq(u.role.as_str()),
        users::region_id.eq(region.id),
        users::phone.eq(&u.phone),
        users::updated_at.eq(now()),
        users::version.eq(crate::versioned::next(version)?),
    ))
    .execute(conn)?;
    let after = versioned::finish(
        conn,
        actor,
        n,
        &before,
        |c| get_user_unscoped(c, user_id),
        |after| {
            Event::new("user.update", "user", user_id)
                .region(after.region_id)
                .detail(serde_json::json!({"role": after.role, "grids": grids.len()}))
        },
    )?;
    diesel::delete(user_grids::table.filter(user_grids::user_id.eq(user_id))).execute(conn)?;
    for g in &grids {
        diesel::insert_into(user_grids::table)
            .values((user_grids::user_id.eq(user_id), user_grids::grid_id.eq(g)))
            .execute(conn)?;
    }
    // A change of role or region changes what the sessions may see: sign in again.
    if before.role != u.role.as_str() || before.region_id != region.id {
        diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?;
    }
    Ok(after)
}

/// Set a new password hash; clears any lockout and ends the user's sessions.
pub fn set_password(
    conn: &mut DbConnection,
    actor: &Can<ManageUsers>,
    user_id: i64,
    password_hash: &str,
) -> Result<(), DbError> {
    let user = managed_user(conn, actor, user_id)?;
    let t = now();
    diesel::update(users::table.filter(users::id.eq(user.id)))
        .set((
            users::password_hash.eq(password_hash),
            users::password_changed_at.eq(t),
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
            users::updated_at.eq(t),
            users::version.eq(crate::versioned::next(user.version)?),
        ))
        .execute(conn)?;
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user.id))).execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("user.password", "user", user.id).region(user.region_id),
    )?;
    Ok(())
}

/// A user changes their own password (after the web layer checked the current one). Their
/// other sessions end; the current one is kept.
pub fn change_own_password(
    conn: &mut DbConnection,
    actor: &Actor,
    password_hash: &str,
    keep_session: &str,
) -> Result<(), DbError> {
    let Some(uid) = actor.user_id else {
        return Err(DbError::NotFound);
    };
    let user = get_user_unscoped(conn, uid)?;
    let t = now();
    diesel::update(users::table.filter(users::id.eq(uid)))
        .set((
            users::password_hash.eq(password_hash),
            users::password_changed_at.eq(t),
            users::updated_at.eq(t),
            users::version.eq(crate::versioned::next(user.version)?),
        ))
        .execute(conn)?;
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(uid))
            .filter(sessions::id.ne(keep_session)),
    )
    .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("user.change_password", "user", uid).region(user.region_id),
    )?;
    Ok(())
}

/// Disable or re-enable an account. Disabling ends its sessions and revokes its tokens.
pub fn set_active(
    conn: &mut DbConnection,
    actor: &Can<ManageUsers>,
    user_id: i64,
    active: bool,
) -> Result<User, DbError> {
    let before = managed_user(conn, actor, user_id)?;
    if actor.user_id == Some(user_id) && !active {
        return Err(DbError::invalid("active", "err.user.self_disable"));
    }
    let t = now();
    diesel::update(users::table.filter(users::id.eq(user_id)))
        .set((
            users::active.eq(active),
            users::updated_at.eq(t),
            users::version.eq(crate::versioned::next(before.version)?),
        ))
        .execute(conn)?;
    if !active {
        diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?;
        diesel::update(
            api_tokens::table
                .filter(api_tokens::user_id.eq(user_id))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(Some(t)))
        .execute(conn)?;
    }
    let after = get_user_unscoped(conn, user_id)?;
    let action = if active {
        "user.enable"
    } else {
        "user.disable"
    };
    audit::record(
        conn,
        actor,
        Event::new(action, "user", user_id)
            .region(after.region_id)
            .before(&before)
            .after(&after),
    )?;
    Ok(after)
}

/// Lockout policy: after `max_failures` wrong passwords in a row, refuse for `lock_for`.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub max_failures: i32,
    pub lock_for: Duration,
}

/// Record a wrong password. Returns whether the account is now locked.
///
/// The count is raised in the database (`failed_logins + 1 … RETURNING`), never from the
/// `user` read before the password was checked: guesses checked in parallel each count.
/// The count is cleared only by a successful login or a new password, so once past the limit
/// ("in a row"), every further wrong password locks the account again.
pub fn login_failed(
    conn: &mut DbConnection,
    actor: &Actor,
    user: &User,
    policy: LockoutPolicy,
) -> Result<bool, DbError> {
    let t = now();
    let failures: i32 = diesel::update(users::table.filter(users::id.eq(user.id)))
        .set(users::failed_logins.eq(users::failed_logins + 1))
        .returning(users::failed_logins)
        .get_result(conn)?;
    let lock = failures >= policy.max_failures;
    if lock {
        diesel::update(users::table.filter(users::id.eq(user.id)))
            .set(users::locked_until.eq(Some(t + policy.lock_for)))
            .execute(conn)?;
    }
    let action = if lock {
        "user.locked"
    } else {
        "user.login_failed"
    };
    audit::record(
        conn,
        actor,
        Event::new(action, "user", user.id)
            .region(user.region_id)
            .detail(serde_json::json!({"failures": failures})),
    )?;
    Ok(lock)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Session {
    pub id: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub client_addr: String,
    pub user_agent: String,
}

/// A successful login: reset the failure count and start a session under a new id.
pub fn login_succeeded(
    conn: &mut DbConnection,
    actor: &Actor,
    user: &User,
    session_hash: &str,
    csrf_token: &str,
    user_agent: &str,
) -> Result<(), DbError> {
    let t = now();
    diesel::update(users::table.filter(users::id.eq(user.id)))
        .set((
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(session_hash),
            sessions::user_id.eq(user.id),
            sessions::csrf_token.eq(csrf_token),
            sessions::created_at.eq(t),
            sessions::last_seen_at.eq(t),
            sessions::client_addr.eq(&actor.client_addr),
            sessions::user_agent.eq(user_agent.chars().take(200).collect::<String>()),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("user.login", "user", user.id).region(user.region_id),
    )?;
    Ok(())
}

/// The session and its caller (the user with their scope), if the session exists, is within
/// both time-outs and the user is active. A read only: its last use is written apart
/// ([`touch_session`]).
pub fn load_session(
    conn: &mut DbConnection,
    session_hash: &str,
    idle: Duration,
    absolute: Duration,
) -> Result<Option<(Session, Caller)>, DbError> {
    let found: Option<(Session, User)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_hash))
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .optional()?;
    let Some((session, user)) = found else {
        return Ok(None);
    };
    let t = now();
    if session.last_seen_at + idle < t || session.created_at + absolute < t || !user.active {
        // Refused; `purge_sessions` deletes it in its time.
        return Ok(None);
    }
    let scope = user_scope(conn, &user)?;
    Ok(Some((session, Caller::new(user, scope))))
}

/// How stale a last-use time may grow before it is written again: a read should rarely cost a
/// write.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// Whether a session's last use should be written now ([`touch_session`]).
pub fn session_needs_touch(session: &Session) -> bool {
    now() - session.last_seen_at > TOUCH_EVERY
}

/// Record a session's use now. The caller runs it as a write of its own, apart from the read
/// that found the session, so checking a cookie never waits on (or fails behind) a long write
/// such as an import.
pub fn touch_session(conn: &mut DbConnection, session_hash: &str) -> Result<(), DbError> {
    diesel::update(sessions::table.filter(sessions::id.eq(session_hash)))
        .set(sessions::last_seen_at.eq(now()))
        .execute(conn)?;
    Ok(())
}

pub fn logout(conn: &mut DbConnection, actor: &Actor, session_hash: &str) -> Result<(), DbError> {
    let n = diesel::delete(sessions::table.filter(sessions::id.eq(session_hash))).execute(conn)?;
    if n > 0
        && let Some(uid) = actor.user_id
    {
        audit::record(conn, actor, Event::new("user.logout", "user", uid))?;
    }
    Ok(())
}

/// Delete sessions past either time-out (housekeeping; `load_session` refuses them anyway).
pub fn purge_sessions(
    conn: &mut DbConnection,
    idle: Duration,
    absolute: Duration,
) -> Result<usize, DbError> {
    let t = now();
    let expired = sessions::created_at
        .lt(t - absolute)
        .or(sessions::last_seen_at.lt(t - idle));
    Ok(diesel::delete(sessions::table.filter(expired)).execute(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = api_tokens)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    pub permissions: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiToken {
    pub fn permissions(&self) -> Vec<Permission> {
        self.permissions
            .split(',')
            .filter_map(Permission::parse)
            .collect()
    }
}

/// Issue a token for the acting user, limited to permissions their role has.
/// A user acting outside a web request (a command, a benchmark): their own scope, with `via`
/// recorded as the request id in the audit log.
#[cfg(feature = "system")]
pub fn acting_as(conn: &mut DbConnection, user: &User, via: &str) -> Result<Actor, DbError> {
    let caller = crate::scope::Caller::of(conn, user.clone())?;
    Ok(Actor::for_caller(&caller, via, "local"))
}

pub fn create_token(
    conn: &mut DbConnection,
    actor: &Actor,
    name: &str,
    token_hash: &str,
    permissions: &[Permission],
    expires_at: NaiveDateTime,
) -> Result<ApiToken, DbError> {
    let (Some(uid), Some(role)) = (actor.user_id, actor.role()) else {
        return Err(DbError::invalid("user", "err.token.needs_user"));
    };
    if permissions.is_empty() || permissions.iter().any(|p| !role.allows(*p)) {
        return Err(DbError::invalid("permissions", "err.token.permissions"));
    }
    let t = now();
    if expires_at <= t || expires_at > t + Duration::days(366) {
        return Err(DbError::invalid("expires_at", "err.token.expiry"));
    }
    let id = new_id();
    let perms: Vec<&str> = permissions.iter().map(|p| p.as_str()).collect();
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(id),
            api_tokens::user_id.eq(uid),
            api_tokens::name.eq(name),
            api_tokens::token_hash.eq(token_hash),
            api_tokens::permissions.eq(perms.join(",")),
            api_tokens::created_at.eq(t),
            api_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    let token: ApiToken = api_tokens::table
        .filter(api_tokens::id.eq(id))
        .select(ApiToken::as_select())
        .first(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("token.create", "api_token", id).after(&token),
    )?;
    Ok(token)
}

/// A live token and its (active) owner as a caller. A read only: its last use is written apart
/// ([`touch_token`]).
pub fn find_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<(ApiToken, Caller)>, DbError> {
    let t = now();
    let found: Option<(ApiToken, User)> = api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .filter(api_tokens::revoked_at.is_null())
        .filter(api_tokens::expires_at.gt(t))
        .filter(users::active.eq(true))
        .select((ApiToken::as_select(), User::as_select()))
        .first(conn)
        .optional()?;
    let Some((token, user)) = found else {
        return Ok(None);
    };
    let scope = user_scope(conn, &user)?;
    Ok(Some((token, Caller::new(user, scope))))
}

/// Whether a token's last use should be written now ([`touch_token`]).
pub fn token_needs_touch(token: &ApiToken) -> bool {
    token.last_used_at.is_none_or(|u| now() - u > TOUCH_EVERY)
}

/// Record a token's use now; like [`touch_session`], a write of its own.
pub fn touch_token(conn: &mut DbConnection, token_id: i64) -> Result<(), DbError> {
    diesel::update(api_tokens::table.filter(api_tokens::id.eq(token_id)))
        .set(api_tokens::last_used_at.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}

pub fn list_tokens(conn: &mut DbConnection, user_id: i64) -> Result<Vec<ApiToken>, DbError> {
    Ok(api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order(api_tokens::id.desc())
        .select(ApiToken::as_select())
        .load(conn)?)
}

pub fn revoke_token(conn: &mut DbConnection, actor: &Actor, token_id: i64) -> Result<(), DbError> {
    let Some(uid) = actor.user_id else {
        return Err(DbError::NotFound);
    };
    let n = diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(token_id))
            .filter(api_tokens::user_id.eq(uid))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(now())))
    .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    audit::record(
        conn,
        actor,
        Event::new("token.revoke", "api_token", token_id),
    )?;
    Ok(())
}
