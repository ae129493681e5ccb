//! Region scoping: the one place that decides which rows a caller may see.
//!
//! A [`Scope`] is a set of region subtrees (a grid worker's: their grids; everyone else's: the
//! subtree of their region). List and get queries take a `&Scope` and filter through
//! [`Scope::filter`] (rows joined to `regions`) or [`Scope::path_filter`] (rows that carry their
//! region's path); writes take an [`Actor`], which carries the scope and the identity
//! the audit log records. Neither can be built from a request except by the web layer's
//! authentication, after the permission check.

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
    let range = |p: &String| column.ge(p.clone()).and(column.lt(path_upper(p)));
    let mut it = paths.iter();
    let Some(first) = it.next() else {
        return Box::new(diesel::dsl::sql::<Bool>("1 = 0"));
    };
    let mut acc: Predicate<QS> = Box::new(range(first));
    for p in it {
        acc = Box::new(acc.or(range(p)));
    }
    acc
}

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

impl Scope {
    pub fn subtrees(paths: Vec<String>) -> Self {
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

    /// Every region: for the system itself (CLI, migrations).
    pub fn everything() -> Self {
        Self {
            paths: vec!["/".to_string()],
            origins: Vec::new(),
        }
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
    pub user_id: Option<i64>,
    /// User name, or `system` / `cli:<command>` / `public` for actions with no account.
    pub name: String,
    pub role: Option<Role>,
    pub scope: Scope,
    pub request_id: String,
    pub client_addr: String,
}

impl Actor {
    /// The system itself (the CLI, migrations, the demo generator): every region.
    pub fn system(name: &str) -> Self {
        Self {
            user_id: None,
            name: name.to_string(),
            role: None,
            scope: Scope::everything(),
            request_id: String::new(),
            client_addr: "local".to_string(),
        }
    }
}

/// A permission, as a type that a database function may ask for ([`Can`]).
pub trait Grant {
    const PERMISSION: Permission;
}

/// The permissions that database functions ask for by type.
pub mod grants {
    use shiliu_domain::roles::Permission;

    /// See a whole ID number (every such view is audited).
    #[derive(Debug, Clone, Copy)]
    pub struct RevealIdNumbers;

    impl super::Grant for RevealIdNumbers {
        const PERMISSION: Permission = Permission::RevealIdNumbers;
    }

    /// See the people registered elsewhere whose 户籍地 is in one's region (流出地).
    #[derive(Debug, Clone, Copy)]
    pub struct ViewOutMigrants;

    impl super::Grant for ViewOutMigrants {
        const PERMISSION: Permission = Permission::ViewOutMigrants;
    }
}

/// An actor checked for the permission `P`. A database function that needs `P` asks for a
/// `&Can<P>`, which only [`Can::check`] makes: a caller that skipped the check does not compile,
/// and the role is checked here again whatever the caller did (the web layer checks the
/// caller's token on top). The system itself holds every permission.
#[derive(Debug, Clone)]
pub struct Can<P> {
    actor: Actor,
    grant: std::marker::PhantomData<P>,
}

impl<P: Grant> Can<P> {
    pub fn check(actor: &Actor) -> Result<Self, crate::DbError> {
        if actor.role.is_some_and(|r| !r.allows(P::PERMISSION)) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_ranges() {
        assert_eq!(path_upper("/1/2/"), "/1/20");
        assert_eq!(path_upper("/"), "0");
        let s = Scope::subtrees(vec!["/1/2/".into()]);
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
