//! Region scoping: the one place that decides which rows a caller may see.
//!
//! A [`Scope`] is a set of region subtrees (a grid worker's: their grids; everyone else's: the
//! subtree of their region). List and get queries take a `&Scope` and filter through
//! [`Scope::filter`] (rows joined to `regions`) or [`Scope::path_filter`] (rows that carry their
//! region's path); writes take an [`Actor`], which carries the scope and the identity
//! the audit log records.
//!
//! Neither can be made outside this crate except from a signed-in account ([`Caller`], which
//! only `accounts::load_session` and `accounts::find_token` make), as a resident on the public
//! pages (who sees nothing by scope), or narrowed from one already held. A whole-region scope
//! and the system's actor exist for the CLI, the demo and the tests only: the `system`
//! feature, which the web crate does not enable (`scripts/test.sh` checks it alone, so
//! the workspace's unified features cannot hide a use).

use diesel::prelude::*;
use diesel::sql_types::Bool;
use shiliu_domain::roles::{Permission, Role};

use crate::MultiBackend;
use crate::schema::regions;

/// A boxed boolean condition over the FROM clause `QS`.
pub type Predicate<QS> = Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>>;

/// A text column holding a region path, usable in a query over `QS`.
pub trait PathColumn<QS>:
    Column<SqlType = diesel::sql_types::Text>
    + SelectableExpression<QS>
    + AppearsOnTable<QS>
    + diesel::expression::ValidGrouping<(), IsAggregate = diesel::expression::is_aggregate::No>
    + diesel::query_builder::QueryFragment<MultiBackend>
    + Copy
    + Send
    + 'static
{
}

impl<QS, C> PathColumn<QS> for C where
    C: Column<SqlType = diesel::sql_types::Text>
        + SelectableExpression<QS>
        + AppearsOnTable<QS>
        + diesel::expression::ValidGrouping<(), IsAggregate = diesel::expression::is_aggregate::No>
        + diesel::query_builder::QueryFragment<MultiBackend>
        + Copy
        + Send
        + 'static
{
}

/// Rows whose path `column` lies under any of `paths` (none: no rows).
pub fn subtree_filter<QS, C>(column: C, paths: &[String]) -> Predicate<QS>
where
    C: PathColumn<QS>,
    QS: 'static,
{
    any_of(paths, |p| {
        Box::new(column.ge(p.clone()).and(column.lt(path_upper(p))))
    })
}

/// A condition tested on each row, written so that `PostgreSQL` estimates it keeps half the
/// rows (its estimate for a boolean expression it has no statistics for) instead of the two
/// hundredth it assumes for a range on an expression: with that, it read every open council
/// item and sorted them to show a page (a seq scan, 96 ms alone, 1.6 s under sixteen readers)
/// where walking the order's index reads the page's rows (6 ms). `SQLite` tests it the same.
fn per_row<QS: 'static>(cond: Predicate<QS>) -> Predicate<QS> {
    use diesel::IntoSql as _;
    Box::new(
        diesel::dsl::case_when(cond, true.into_sql::<Bool>()).otherwise(false.into_sql::<Bool>()),
    )
}

/// Rows that meet `cond` of any of `paths` (none: no rows).
fn any_of<QS: 'static>(paths: &[String], cond: impl Fn(&String) -> Predicate<QS>) -> Predicate<QS> {
    let mut it = paths.iter();
    let Some(first) = it.next() else {
        return Box::new(diesel::dsl::sql::<Bool>("1 = 0"));
    };
    let mut acc = cond(first);
    for p in it {
        acc = Box::new(acc.or(cond(p)));
    }
    acc
}

/// The deepest region a list reads along its order's index ([`Scope::is_wide`]): province 1,
/// city 2, county 3. A county holds about a hundredth of a province's rows, so a page reads a
/// few thousand index entries; a township's rows are fewer than that in all, and read by the
/// place's index.
pub const WALKED_DEPTH: i32 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Materialised paths (`/1/2/`) of the subtree roots.
    paths: Vec<String>,
    /// Division-code prefixes of the 户籍地 this scope answers for as the home side
    /// (流出地): `4502` for 柳州市's staff, `450226` for 三江's. Empty for grid workers and for
    /// regions below the divisions.
    origins: Vec<String>,
}

/// The exclusive upper bound of a subtree's path range: `/1/2/` → `/1/20`.
/// ('0' is the character after '/', and both engines compare paths bytewise.)
pub(crate) fn path_upper(path: &str) -> String {
    format!("{}0", &path[..path.len() - 1])
}

/// The exclusive upper bound of the codes starting with a digit prefix: `4502` → `4503`,
/// `4509` → `451`; none for `99…`.
fn code_prefix_upper(prefix: &str) -> Option<String> {
    let kept = prefix.trim_end_matches('9');
    let last = kept.bytes().last()?;
    Some(format!(
        "{}{}",
        &kept[..kept.len() - 1],
        char::from(last + 1)
    ))
}

/// The paths strictly above these, each once: `/1/2/3/` → `/1/`, `/1/2/`.
fn ancestors(paths: &[String]) -> Vec<String> {
    let mut above: Vec<String> = Vec::new();
    for p in paths {
        let ends = p.match_indices('/').map(|(i, _)| i).skip(1);
        for end in ends.filter(|&e| e + 1 < p.len()) {
            let prefix = &p[..=end];
            if !above.iter().any(|a| a == prefix) {
                above.push(prefix.to_string());
            }
        }
    }
    above
}

/// The path just above each of these, each once: `/1/2/3/` → `/1/2/` (none above a root).
fn parents(paths: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in paths {
        let inner = &p[..p.len() - 1];
        if let Some(i) = inner.rfind('/').filter(|&i| i > 0) {
            let parent = &p[..=i];
            if !out.iter().any(|o| o == parent) {
                out.push(parent.to_string());
            }
        }
    }
    out
}

impl Scope {
    pub(crate) fn of_paths(paths: Vec<String>) -> Self {
        debug_assert!(paths.iter().all(|p| p.starts_with('/') && p.ends_with('/')));
        Self {
            paths,
            origins: Vec::new(),
        }
    }

    /// The scope with the 户籍地 it answers for as the home side (division-code prefixes).
    #[must_use]
    pub fn with_origins(mut self, origins: Vec<String>) -> Self {
        debug_assert!(
            origins
                .iter()
                .all(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()))
        );
        self.origins = origins;
        self
    }

    /// Every region: for the system itself (its background jobs, the public pages' own
    /// look-ups inside this crate).
    pub(crate) fn whole() -> Self {
        Self {
            paths: vec!["/".to_string()],
            origins: Vec::new(),
        }
    }

    /// No region: what a caller without an account sees by scope.
    pub fn none() -> Self {
        Self::of_paths(Vec::new())
    }

    /// This scope within one region's subtree: the region itself when the scope covers it,
    /// else the scope's own subtrees below it (a grid worker's grids in a township). Never
    /// more than this scope; the home side's origins are dropped.
    #[must_use]
    pub fn narrowed_to(&self, path: &str) -> Self {
        if self.covers(path) {
            return Self::of_paths(vec![path.to_string()]);
        }
        Self::of_paths(
            self.paths
                .iter()
                .filter(|p| p.starts_with(path))
                .cloned()
                .collect(),
        )
    }

    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// The subtree roots, none inside another and each once (`/` alone if it has the whole
    /// tree): what sums of figures over the scope add up, so nothing counts twice.
    pub fn tops(&self) -> Vec<String> {
        let mut tops: Vec<String> = self
            .paths
            .iter()
            .filter(|p| {
                !self
                    .paths
                    .iter()
                    .any(|o| o.len() < p.len() && p.starts_with(o.as_str()))
            })
            .cloned()
            .collect();
        tops.sort();
        tops.dedup();
        tops
    }

    /// Whether a region with this path lies inside the scope.
    pub fn covers(&self, path: &str) -> bool {
        self.paths.iter().any(|p| path.starts_with(p.as_str()))
    }

    /// One row fetched by its key, kept only if it lies in the scope (else `NotFound`, as a
    /// scoped query would answer): for hot single-row reads whose fixed SQL the connection
    /// keeps prepared, where the scope predicate would make it a new statement each time.
    pub fn admit<T>(&self, path: &str, row: T) -> Result<T, crate::DbError> {
        if self.covers(path) {
            Ok(row)
        } else {
            Err(crate::DbError::NotFound)
        }
    }

    /// The scope as a predicate on `regions.path`, for any query that has `regions` in its
    /// FROM clause (the table itself, or a join through a row's `region_id`). This is the filter
    /// every scoped list and get applies.
    pub fn filter<QS>(&self) -> Predicate<QS>
    where
        regions::path: SelectableExpression<QS> + AppearsOnTable<QS>,
        QS: 'static,
    {
        subtree_filter(regions::path, &self.paths)
    }

    /// The scope as a predicate on a row's own copy of its region's path (rows that carry
    /// `region_path`, such as requests): one index range per subtree, no join.
    pub fn path_filter<QS, C>(&self, column: C) -> Predicate<QS>
    where
        C: PathColumn<QS>,
        QS: 'static,
    {
        subtree_filter(column, &self.paths)
    }

    /// The rows [`Scope::path_filter`] admits, tested on each row a query reads rather than
    /// read as a range of the path's index (the path is compared as an expression, which no
    /// engine looks up in an index). For a list whose scope holds most rows: the fast plan
    /// reads the list's order index and drops the few rows outside, where a planner offered
    /// the path range (`SQLite`'s above all, which cannot tell a range that holds every row
    /// from one that holds ten) reads the whole scope and sorts it to show fifty.
    pub fn path_filter_per_row<QS, C>(&self, column: C) -> Predicate<QS>
    where
        C: PathColumn<QS>
            + diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
            + diesel::query_builder::QueryFragment<diesel::pg::Pg>,
        QS: 'static,
    {
        per_row(self.subtrees_per_row(column))
    }

    /// The scope's subtrees as expressions on `column` (see [`Scope::path_filter_per_row`]).
    fn subtrees_per_row<QS, C>(&self, column: C) -> Predicate<QS>
    where
        C: PathColumn<QS>
            + diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
            + diesel::query_builder::QueryFragment<diesel::pg::Pg>,
        QS: 'static,
    {
        any_of(&self.paths, |p| {
            Box::new(
                column
                    .concat("")
                    .ge(p.clone())
                    .and(column.concat("").lt(path_upper(p))),
            )
        })
    }

    /// The rows [`Scope::with_parents_filter`] admits, tested on each row a query reads (see
    /// [`Scope::path_filter_per_row`]).
    pub fn with_parents_filter_per_row<QS, C>(&self, column: C) -> Predicate<QS>
    where
        C: PathColumn<QS>
            + diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
            + diesel::query_builder::QueryFragment<diesel::pg::Pg>,
        QS: 'static,
    {
        let mut acc = self.subtrees_per_row(column);
        for a in parents(&self.paths) {
            acc = Box::new(acc.or(column.concat("").eq(a)));
        }
        per_row(acc)
    }

    /// Whether a list over the scope reads along its order's index with the place tested per
    /// row ([`Scope::path_filter_per_row`]) rather than by the place's index and then sorted:
    /// when every subtree is at most [`WALKED_DEPTH`] deep.
    pub fn is_wide(&self) -> bool {
        let tops = self.tops();
        !tops.is_empty()
            && tops
                .iter()
                .all(|p| crate::requests::stats::depth(p) <= WALKED_DEPTH)
    }

    /// Rows of regions inside the scope or above it: what reaches the scope (a township's
    /// campaign reaches the grid worker of one of its grids).
    pub fn reaching_filter<QS, C>(&self, column: C) -> Predicate<QS>
    where
        C: PathColumn<QS>,
        QS: 'static,
    {
        let mut acc = self.path_filter(column);
        for a in ancestors(&self.paths) {
            acc = Box::new(acc.or(column.eq(a)));
        }
        acc
    }

    /// Rows inside the scope or at the region just above one of its subtrees: where a
    /// declaration waits for its reviewers, since residents declare at a community (a grid is
    /// nothing they know) and the grid workers of its grids verify it.
    pub fn with_parents_filter<QS, C>(&self, column: C) -> Predicate<QS>
    where
        C: PathColumn<QS>,
        QS: 'static,
    {
        let mut acc = self.path_filter(column);
        for a in parents(&self.paths) {
            acc = Box::new(acc.or(column.eq(a)));
        }
        acc
    }

    /// One row kept if it lies in the scope or at the region just above one of its subtrees
    /// (what [`Scope::with_parents_filter`] admits), else `NotFound`.
    pub fn admit_with_parents<T>(&self, path: &str, row: T) -> Result<T, crate::DbError> {
        if self.covers(path) || parents(&self.paths).iter().any(|p| p == path) {
            Ok(row)
        } else {
            Err(crate::DbError::NotFound)
        }
    }

    /// The home side's view (流出地联动): rows whose 户籍地 (`hukou`, a division code) lies in
    /// one of the scope's origins and who live outside the scope (those inside are in its own
    /// register). No origins: no rows.
    pub fn origin_filter<QS, H, P>(&self, hukou: H, path: P) -> Predicate<QS>
    where
        H: PathColumn<QS>,
        P: PathColumn<QS>,
        QS: 'static,
    {
        let mut it = self.origins.iter();
        let Some(first) = it.next() else {
            return Box::new(diesel::dsl::sql::<Bool>("1 = 0"));
        };
        let range = |o: &String| -> Predicate<QS> {
            match code_prefix_upper(o) {
                Some(upper) => Box::new(hukou.ge(o.clone()).and(hukou.lt(upper))),
                None => Box::new(hukou.ge(o.clone())),
            }
        };
        let mut home = range(first);
        for o in it {
            home = Box::new(home.or(range(o)));
        }
        Box::new(home.and(diesel::dsl::not(self.path_filter(path))))
    }

    /// The regions in scope, as a query to refine.
    pub fn regions(&self) -> regions::BoxedQuery<'static, MultiBackend> {
        regions::table
            .filter(self.filter::<regions::table>())
            .into_boxed()
    }
}

/// Who performs a write: recorded in the audit log, and limited to their scope.
#[derive(Debug, Clone)]
pub struct Actor {
    pub(crate) user_id: Option<i64>,
    /// User name, or `system:<job>` / `cli:<command>` / `resident` for actions with no account.
    pub(crate) name: String,
    pub(crate) standing: Standing,
    pub(crate) scope: Scope,
    pub(crate) request_id: String,
    pub(crate) client_addr: String,
}

/// On what footing an actor acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// A signed-in account with its role.
    User(Role),
    /// The system itself: a background job, the CLI, the demo generator. Every permission.
    System,
    /// A resident on the public pages: no account, no permission, nothing in scope; files a
    /// request or a declaration anywhere and rates their own request by its code.
    Resident,
    /// A signed-in user, or one signing in, acting on their own account's rows only (the
    /// session, the password, the failed-login count): no permission, nothing in scope.
    OwnAccount,
}

impl Actor {
    /// A signed-in caller, acting in this request.
    pub fn for_caller(caller: &Caller, request_id: &str, client_addr: &str) -> Self {
        Self {
            user_id: Some(caller.user.id),
            name: caller.user.username.clone(),
            standing: Standing::User(caller.user.role()),
            scope: caller.scope.clone(),
            request_id: request_id.to_string(),
            client_addr: client_addr.to_string(),
        }
    }

    /// A signed-in caller acting on their own account only (signing out, changing their own
    /// password): no permission, nothing in scope.
    pub fn on_own_account(caller: &Caller, request_id: &str, client_addr: &str) -> Self {
        Self::signing_in(&caller.user, request_id, client_addr)
    }

    /// A user signing in, before they have a session: their own account's rows only (the
    /// failed-login count, the session made), no permission, nothing in scope.
    pub fn signing_in(user: &crate::accounts::User, request_id: &str, client_addr: &str) -> Self {
        Self {
            user_id: Some(user.id),
            name: user.username.clone(),
            standing: Standing::OwnAccount,
            scope: Scope::none(),
            request_id: request_id.to_string(),
            client_addr: client_addr.to_string(),
        }
    }

    /// A resident on the public pages.
    pub fn resident(request_id: &str, client_addr: &str) -> Self {
        Self {
            user_id: None,
            name: "resident".to_string(),
            standing: Standing::Resident,
            scope: Scope::none(),
            request_id: request_id.to_string(),
            client_addr: client_addr.to_string(),
        }
    }

    /// The system itself, named for the job (`system:reminders`): every region.
    pub(crate) fn the_system(name: &str) -> Self {
        Self {
            user_id: None,
            name: name.to_string(),
            standing: Standing::System,
            scope: Scope::whole(),
            request_id: String::new(),
            client_addr: "local".to_string(),
        }
    }

    /// This actor with the system's reach, for a step the public may take on a row they name
    /// by its code (a resident's rating): the audit log still names them.
    pub(crate) fn reaching_everywhere(&self) -> Self {
        Self {
            scope: Scope::whole(),
            ..self.clone()
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        self.user_id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The role of a signed-in actor (none for the system and residents).
    pub fn role(&self) -> Option<Role> {
        match self.standing {
            Standing::User(r) => Some(r),
            Standing::System | Standing::Resident | Standing::OwnAccount => None,
        }
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    pub fn client_addr(&self) -> &str {
        &self.client_addr
    }

    /// Whether the actor holds a permission: a user by their role, the system always, a
    /// resident never.
    pub fn allows(&self, p: Permission) -> bool {
        match self.standing {
            Standing::User(r) => r.allows(p),
            Standing::System => true,
            Standing::Resident | Standing::OwnAccount => false,
        }
    }

    pub(crate) fn is_system(&self) -> bool {
        self.standing == Standing::System
    }

    pub(crate) fn is_resident(&self) -> bool {
        self.standing == Standing::Resident
    }

    /// The same actor in another request (the benchmarks number theirs).
    #[must_use]
    pub fn in_request(mut self, request_id: &str) -> Self {
        self.request_id = request_id.to_string();
        self
    }
}

/// A signed-in account and the scope it gives: made only when a session or an API token is
/// found valid (`accounts::load_session`, `accounts::find_token`).
#[derive(Debug, Clone)]
pub struct Caller {
    user: crate::accounts::User,
    scope: Scope,
}

impl Caller {
    pub(crate) fn new(user: crate::accounts::User, scope: Scope) -> Self {
        Self { user, scope }
    }

    pub fn user(&self) -> &crate::accounts::User {
        &self.user
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

/// What the system itself may build, for the CLI, the demo generator, the benchmarks and the
/// tests: a whole-region scope, any subtrees, the system's actor.
#[cfg(feature = "system")]
impl Scope {
    pub fn everything() -> Self {
        Self::whole()
    }

    pub fn subtrees(paths: Vec<String>) -> Self {
        Self::of_paths(paths)
    }
}

#[cfg(feature = "system")]
impl Actor {
    pub fn system(name: &str) -> Self {
        Self::the_system(name)
    }

    /// The system confined to a scope (a test's grid worker without an account).
    pub fn system_within(name: &str, scope: Scope) -> Self {
        Self {
            scope,
            ..Self::the_system(name)
        }
    }

    /// A role with no account in a scope, as the tests need to set one up.
    pub fn with_role(name: &str, role: Role, scope: Scope) -> Self {
        Self {
            standing: Standing::User(role),
            scope,
            ..Self::the_system(name)
        }
    }

    /// This actor under another account id, or none (tests of the database's own checks).
    #[must_use]
    pub fn as_user_id(mut self, user_id: Option<i64>) -> Self {
        self.user_id = user_id;
        self
    }
}

#[cfg(feature = "system")]
impl Caller {
    /// The caller an account would be once signed in.
    pub fn of(
        conn: &mut crate::DbConnection,
        user: crate::accounts::User,
    ) -> Result<Self, crate::DbError> {
        let scope = crate::accounts::user_scope(conn, &user)?;
        Ok(Self::new(user, scope))
    }
}

/// A permission, as a type that a database function may ask for ([`Can`]).
pub trait Grant {
    const PERMISSION: Permission;
}

/// Every permission as a type, for [`Can`]: `grants::EditRegistry` for
/// `Permission::EditRegistry`.
pub mod grants {
    macro_rules! grants {
        ($($name:ident),* $(,)?) => {$(
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl super::Grant for $name {
                const PERMISSION: shiliu_domain::roles::Permission =
                    shiliu_domain::roles::Permission::$name;
            }
        )*};
    }

    grants!(
        ViewOrg,
        ManageRegions,
        ManageSites,
        ManageUnits,
        ManageUsers,
        ViewAudit,
        ManageApiTokens,
        ViewRequests,
        CreateRequests,
        DispatchRequests,
        HandleRequests,
        ResolveOnTheSpot,
        ManageRequestSettings,
        ViewRegistry,
        EditRegistry,
        RevealIdNumbers,
        ViewOutMigrants,
        ExchangeAssists,
        ManageSurveys,
        ImportRegistry,
        ManageEvaluations,
        ReviewEvaluations,
        ReportEvaluations,
        ViewEvaluations,
        ViewTasks,
        ManageTasks,
        ReportTasks,
        ViewActivities,
        LogActivities,
        ManageActivities,
        ViewCouncils,
        RunCouncils,
        RaiseCouncilItems,
    );
}

/// An actor checked for the permission `P`. A database function that needs `P` asks for a
/// `&Can<P>`, which only [`Can::check`] makes: a caller that skipped the check does not compile,
/// and the role is checked here again whatever the caller did (the web layer checks the
/// caller's token on top). The system itself holds every permission, a resident none.
#[derive(Debug, Clone)]
pub struct Can<P> {
    actor: Actor,
    grant: std::marker::PhantomData<P>,
}

impl<P: Grant> Can<P> {
    pub fn check(actor: &Actor) -> Result<Self, crate::DbError> {
        if !actor.allows(P::PERMISSION) {
            return Err(crate::DbError::Forbidden);
        }
        Ok(Self {
            actor: actor.clone(),
            grant: std::marker::PhantomData,
        })
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The actor, no longer known to hold `P` (for code that needs an `Actor` by value).
    pub fn into_actor(self) -> Actor {
        self.actor
    }
}

/// A checked actor is still the actor: it reads and writes in its scope wherever an `&Actor`
/// is asked for.
impl<P> std::ops::Deref for Can<P> {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.actor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_scope_reaches_its_community_but_not_a_sibling_grid() {
        let grids = Scope::of_paths(vec!["/1/2/3/4/".into()]);
        assert!(
            grids.admit_with_parents("/1/2/3/", ()).is_ok(),
            "its community"
        );
        assert!(
            grids.admit_with_parents("/1/2/3/4/", ()).is_ok(),
            "its grid"
        );
        assert!(
            grids.admit_with_parents("/1/2/3/5/", ()).is_err(),
            "a sibling grid"
        );
        assert!(
            grids.admit_with_parents("/1/2/", ()).is_err(),
            "the township above"
        );
        assert!(Scope::whole().admit_with_parents("/1/", ()).is_ok());
    }

    #[test]
    fn path_ranges() {
        assert_eq!(path_upper("/1/2/"), "/1/20");
        assert_eq!(path_upper("/"), "0");
        let s = Scope::of_paths(vec!["/1/2/".into()]);
        assert!(s.covers("/1/2/"));
        assert!(s.covers("/1/2/9/"));
        assert!(
            !s.covers("/1/23/"),
            "a sibling whose id shares a prefix is outside"
        );
        assert!("/1/23/" >= "/1/20", "and outside the SQL range too");
    }

    #[test]
    fn what_reaches_a_scope() {
        let paths = ["/1/2/3/".to_string(), "/1/2/4/".to_string()];
        assert_eq!(ancestors(&paths), ["/1/", "/1/2/"]);
        assert!(ancestors(&["/1/".to_string()]).is_empty());
    }

    #[test]
    fn code_prefix_ranges() {
        assert_eq!(code_prefix_upper("4502").as_deref(), Some("4503"));
        assert_eq!(code_prefix_upper("4509").as_deref(), Some("451"));
        assert_eq!(code_prefix_upper("450299").as_deref(), Some("4503"));
        assert_eq!(code_prefix_upper("99"), None);
        for code in ["450200", "450226", "450299101"] {
            assert!(("4502".."4503").contains(&code));
        }
        assert!("450300" >= "4503");
    }
}
