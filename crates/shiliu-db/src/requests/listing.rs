//! The request list in the reader's order, a page at a time, and how many match.
//!
//! Every order pages by a cursor that names the last row shown (never an offset, so a page
//! costs the same however deep it is and rows taken in meanwhile neither repeat nor vanish):
//! - received: by the moment of receipt then id (with words to find: by id, which is made at
//!   receipt, the search index's own order);
//! - due: by deadline then id, the requests without a deadline after all the others whichever
//!   way (the engines put NULLs at opposite ends, so the two parts are read one after the other);
//! - status and category: group by group in the order people know them (the handling loop's
//!   order, the categories' own), newest first within each; each group is one index range.

use diesel::prelude::*;
use shiliu_domain::requests::Status;

use super::keys::RequestKeys;
use super::{Plan, Request, RequestFilter, search};
use crate::schema::requests;
use crate::scope::Scope;
use crate::{DbConnection, DbError};

/// What the list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Received,
    Due,
    Status,
    Category,
}

impl SortBy {
    pub const ALL: [SortBy; 4] = [Self::Received, Self::Due, Self::Status, Self::Category];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Due => "due",
            Self::Status => "status",
            Self::Category => "category",
        }
    }
}

/// An order and its direction. The default: newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub by: SortBy,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Self {
            by: SortBy::Received,
            descending: true,
        }
    }
}

/// Where the next page starts: after this row, in the page's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Received, with words to find: the row's id.
    Id(i64),
    /// Received: the row's moment of receipt and id.
    Received(chrono::NaiveDateTime, i64),
    /// Due: the row's deadline (none: among the requests without one) and id.
    Due(Option<chrono::NaiveDateTime>, i64),
    /// Status or category: the group's key (the status's place in the loop, the category's id)
    /// and the row's id.
    Group(i64, i64),
}

impl Cursor {
    /// The cursor as it travels in links and the API (`next`).
    pub fn encode(&self) -> String {
        match self {
            Self::Id(id) => format!("i{id}"),
            Self::Received(t, id) => format!("r{}_{id}", t.and_utc().timestamp_micros()),
            Self::Due(Some(t), id) => format!("d{}_{id}", t.and_utc().timestamp_micros()),
            Self::Due(None, id) => format!("n{id}"),
            Self::Group(k, id) => format!("g{k}_{id}"),
        }
    }

    /// A cursor for `sort` read back (`None`: damaged, or made for another order).
    pub fn decode(s: &str, sort: Sort) -> Option<Self> {
        let (kind, rest) = s.split_at_checked(1)?;
        let pair = || -> Option<(i64, i64)> {
            let (a, b) = rest.split_once('_')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        };
        match (kind, sort.by) {
            ("i", SortBy::Received) => rest.parse().ok().map(Self::Id),
            ("r", SortBy::Received) => {
                let (t, id) = pair()?;
                let t = chrono::DateTime::from_timestamp_micros(t)?.naive_utc();
                Some(Self::Received(t, id))
            }
            ("d", SortBy::Due) => {
                let (t, id) = pair()?;
                let t = chrono::DateTime::from_timestamp_micros(t)?.naive_utc();
                Some(Self::Due(Some(t), id))
            }
            ("n", SortBy::Due) => rest.parse().ok().map(|id| Self::Due(None, id)),
            ("g", SortBy::Status | SortBy::Category) => pair().map(|(k, id)| Self::Group(k, id)),
            _ => None,
        }
    }

    fn id(&self) -> i64 {
        match self {
            Self::Id(id) | Self::Received(_, id) | Self::Due(_, id) | Self::Group(_, id) => *id,
        }
    }
}

/// One page of the list in `sort`'s order after `after`, and the cursor of the page after it
/// (none: this is the last). The node's keys in memory find it when they are loaded and hold
/// the filter ([`keys`](super::keys)); otherwise the database, with words by the search index.
pub fn page(
    keys: &RequestKeys,
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RequestFilter,
    sort: Sort,
    after: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<Request>, Option<Cursor>), DbError> {
    if let Some((rows, next, _)) = from_keys(keys, conn, (scope, f), (sort, after, limit), false)? {
        return Ok((rows, next));
    }
    let tallied = tallied(conn, scope, f)?;
    let plan = plan(conn, scope, f, tallied)?;
    page_by(conn, scope, f, (sort, after, limit), plan)
}

/// How many requests in scope the filter lists (every page together), exactly.
pub fn count(
    keys: &RequestKeys,
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RequestFilter,
) -> Result<i64, DbError> {
    if let Some(n) = keys.count(conn, scope, f)? {
        return Ok(n);
    }
    let tallied = tallied(conn, scope, f)?;
    count_by(conn, scope, f, tallied)
}

/// The count of a filter in each of `scopes` (as [`count`] of each): from the keys with one
/// look at what changed since, else from the database one scope at a time.
pub fn count_each(
    keys: &RequestKeys,
    conn: &mut DbConnection,
    scopes: &[Scope],
    f: &RequestFilter,
) -> Result<Vec<i64>, DbError> {
    if let Some(n) = keys.count_each(conn, scopes, f)? {
        return Ok(n);
    }
    scopes
        .iter()
        .map(|s| {
            let tallied = tallied(conn, s, f)?;
            count_by(conn, s, f, tallied)
        })
        .collect()
}

/// A page (as [`page`]) and the count of all that match (as [`count`]); from the database,
/// the running totals' count of the filter, which the page's plan needs too, read once.
pub fn page_and_count(
    keys: &RequestKeys,
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RequestFilter,
    sort: Sort,
    after: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<Request>, Option<Cursor>, i64), DbError> {
    if let Some((rows, next, Some(total))) =
        from_keys(keys, conn, (scope, f), (sort, after, limit), true)?
    {
        return Ok((rows, next, total));
    }
    let tallied = tallied(conn, scope, f)?;
    let plan = plan(conn, scope, f, tallied)?;
    let (rows, next) = page_by(conn, scope, f, (sort, after, limit), plan)?;
    let total = count_by(conn, scope, f, tallied)?;
    Ok((rows, next, total))
}

/// A page found by the keys in memory, its rows read by id through the scope, and with
/// `with_count` the count of all that match; `None`: the database must find them.
fn from_keys(
    keys: &RequestKeys,
    conn: &mut DbConnection,
    (scope, f): (&Scope, &RequestFilter),
    (sort, after, limit): (Sort, Option<Cursor>, i64),
    with_count: bool,
) -> Result<Option<Page>, DbError> {
    let n = usize::try_from(limit).unwrap_or(0) + 1;
    let Some(found) = keys.page(conn, (scope, f), (sort, after, n), with_count)? else {
        return Ok(None);
    };
    let rows = rows_in_order(conn, scope, &found.ids)?;
    let more = found.ids.len() >= n;
    let (rows, next) = finish(conn, rows, more, (sort, limit, has_words(f)))?;
    Ok(Some((rows, next, found.total)))
}

/// A page's rows, the next page's cursor, and the count when asked for.
type Page = (Vec<Request>, Option<Cursor>, Option<i64>);

/// The page's rows (cut to `limit`) and the cursor of the page after them, if `more` (there
/// are rows past these).
fn finish(
    conn: &mut DbConnection,
    mut rows: Vec<Request>,
    more: bool,
    (sort, limit, words): (Sort, i64, bool),
) -> Result<(Vec<Request>, Option<Cursor>), DbError> {
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    if !more {
        return Ok((rows, None));
    }
    let categories = if sort.by == SortBy::Category {
        category_order(conn)?
    } else {
        Vec::new()
    };
    let next = rows.last().map(|r| cursor_of(r, sort, &categories, words));
    Ok((rows, next))
}

/// The totals' count of the filter, every page of it (`count_from_tallies`); none with words
/// to find.
fn tallied(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RequestFilter,
) -> Result<Option<i64>, DbError> {
    if has_words(f) {
        return Ok(None);
    }
    let whole = RequestFilter {
        before_id: None,
        ..f.clone()
    };
    count_from_tallies(conn, scope, &whole)
}

fn page_by(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RequestFilter,
    (sort, after, limit): (Sort, Option<Cursor>, i64),
    plan: Plan,
) -> Result<(Vec<Request>, Option<Cursor>), DbError> {
    let rows = if has_words(f) {
        with_words(conn, scope, f, sort, after, limit + 1)?
    } else {
        let q = ListQuery { scope, f, plan };
        match sort.by {
            SortBy::Received => by_received(conn, &q, sort.descending, after, limit + 1)?,
            SortBy::Due => by_due(conn, &q, sort.descending, after, limit + 1)?,
            SortBy::Status | SortBy::Category => by_group(conn, &q, sort, after, limit + 1)?,
        }
    };
    let more = rows.len() as i64 > limit;
    finish(conn, rows, more, (sort, limit, has_words(f)))
}

/// The count: the totals' when they know the filter, else the matches of the words, else the
/// rows that match, read by the filters' indexes with a wide place tested per row
/// ([`Plan::Count`]; a count has no order to walk, and walking read every request in scope).
fn count_by(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RequestFilter,
    tallied: Option<i64>,
) -> Result<i64, DbError> {
    if let Some(n) = tallied {
        return Ok(n);
    }
    let f = RequestFilter {
        before_id: None,
        ..f.clone()
    };
    if has_words(&f) {
        return Ok(matching_keys(conn, scope, &f)?.len() as i64);
    }
    let plan = if seeks_by_place(scope, &f) {
        Plan::Seek
    } else {
        Plan::Count
    };
    Ok(super::filtered_as(scope, &f, plan)
        .count()
        .get_result(conn)?)
}

/// The list's query before its order: the scope, the filter, the plan.
struct ListQuery<'a> {
    scope: &'a Scope,
    f: &'a RequestFilter,
    plan: Plan,
}

impl ListQuery<'_> {
    fn rows(&self) -> requests::BoxedQuery<'static, crate::MultiBackend, requests::SqlType> {
        super::filtered_as(self.scope, self.f, self.plan)
    }
}

/// A page read along its order's index visits about (all requests ÷ those that match) rows
/// per row it keeps; read by the filters' indexes, every match is visited and sorted. The
/// first is cheaper once more than √(this × all requests) match.
const ROWS_PER_PAGE_READ: i64 = 64;

/// How the list reads the requests that match ([`Plan`]): by the filters' indexes when few
/// match, along the order's index when many do. How many: the running totals' count of the
/// filter, `tallied` (a few hundred rows); a filter they do not know (deadlines, escalation)
/// is taken to match many. A scope below the regions with totals (a community, a grid) holds few
/// requests, and co-handling or one site's or unit's own work is narrow: their indexes.
fn plan(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RequestFilter,
    tallied: Option<i64>,
) -> Result<Plan, DbError> {
    use super::stats::{Dimension, received};
    if seeks_by_place(scope, f) {
        return Ok(Plan::Seek);
    }
    let Some(matching) = tallied else {
        return Ok(Plan::Walk);
    };
    let all = received(
        conn,
        &Scope::of_paths(vec!["/".into()]),
        ("1970-01", "9999-12"),
        (Dimension::Month, None),
        None,
    )?;
    Ok(
        if matching.saturating_mul(matching) >= ROWS_PER_PAGE_READ.saturating_mul(all) {
            Plan::Walk
        } else {
            Plan::Seek
        },
    )
}

/// Whether the place the list is narrowed to is narrow enough to read by its index: a scope
/// below the regions with running totals (a community, a grid), one site's or unit's own work,
/// what was asked of them.
fn seeks_by_place(scope: &Scope, f: &RequestFilter) -> bool {
    use super::stats::{TALLIED_DEPTH, depth};
    if f.asked_of.is_some() || f.handled_by.is_some() {
        return true;
    }
    let narrowed = match &f.region_path {
        Some(p) => scope.narrowed_to(p),
        None => scope.clone(),
    };
    let tops = narrowed.tops();
    tops.is_empty() || tops.iter().any(|p| depth(p) > TALLIED_DEPTH)
}

/// The count of a filter the statistics' running totals answer (`stats`): by where, when (whole
/// months of receipt), status (one, some, the open or the done) and one of category, channel or
/// site — the totals of its whole months, and the requests of the days before the first and
/// after the last of them counted one by one. Counting a city's closed requests row by row read
/// half a million index entries (tens of milliseconds); its totals are a few hundred rows.
/// `None`: a filter the totals do not know (deadlines, co-handling, two of category, channel
/// and site at once).
fn count_from_tallies(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RequestFilter,
) -> Result<Option<i64>, DbError> {
    use super::stats::{Dimension, received};
    use shiliu_domain::calendar::{local, utc};
    // Every field named, so that a filter added later must be placed here: known to the
    // totals, or not (a count from the totals that ignored a filter would be wrong).
    let RequestFilter {
        status,
        any_status,
        open,
        site_id,
        category_ids,
        received_from: _,
        received_to: _,
        channel,
        region_path: _,
        due_before,
        text: _,
        overdue_at,
        asked_of,
        handled_by,
        escalated,
        on_the_spot,
        before_id: _,
    } = f;
    let untallied = due_before.is_some()
        || overdue_at.is_some()
        || asked_of.is_some()
        || handled_by.is_some()
        || *escalated
        || *on_the_spot
        || has_words(f);
    let dims = usize::from(!category_ids.is_empty())
        + usize::from(channel.is_some())
        + usize::from(site_id.is_some());
    if untallied || dims > 1 {
        return Ok(None);
    }
    // The statuses every status filter admits.
    let statuses: Option<Vec<&str>> =
        (status.is_some() || !any_status.is_empty() || open.is_some()).then(|| {
            Status::ALL
                .iter()
                .filter(|s| status.is_none_or(|w| w == **s))
                .filter(|s| any_status.is_empty() || any_status.contains(s))
                .filter(|s| open.is_none_or(|o| s.is_open() == o))
                .map(|s| s.as_str())
                .collect()
        });
    let (by, keys): (Dimension, Option<Vec<String>>) = if !f.category_ids.is_empty() {
        let keys = f.category_ids.iter().map(ToString::to_string).collect();
        (Dimension::Category, Some(keys))
    } else if let Some(ch) = f.channel {
        (Dimension::Channel, Some(vec![ch.as_str().to_string()]))
    } else if let Some(site) = f.site_id {
        (Dimension::Site, Some(vec![site.to_string()]))
    } else {
        (Dimension::Month, None)
    };
    // The whole months (China's) between the dates: from the first month that starts at or
    // after `from` to the last that ends at or before `to`.
    let month_start = |t: chrono::NaiveDateTime| {
        use chrono::Datelike;
        local(t)
            .date()
            .with_day(1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    };
    let next_month = |m: chrono::NaiveDateTime| month_start(m + chrono::Duration::days(32));
    let first = match f.received_from {
        None => None,
        Some(t) => match month_start(t) {
            Some(m) if m == local(t) => Some(m),
            Some(m) => next_month(m),
            None => return Ok(None),
        },
    };
    let end = match f.received_to {
        None => None,
        Some(t) => match month_start(t) {
            Some(m) => Some(m),
            None => return Ok(None),
        },
    };
    if let (Some(a), Some(b)) = (first, end)
        && a >= b
    {
        // Not one whole month: the rows are few enough to count.
        return Ok(None);
    }
    let month = |m: chrono::NaiveDateTime| m.format("%Y-%m").to_string();
    let from_month = first.map_or_else(|| "1970-01".to_string(), month);
    let to_month = match end {
        Some(e) => month(e - chrono::Duration::days(1)),
        None => "9999-12".to_string(),
    };
    let scope = match &f.region_path {
        Some(p) => scope.narrowed_to(p),
        None => scope.clone(),
    };
    let mut n = received(
        conn,
        &scope,
        (&from_month, &to_month),
        (by, keys.as_deref()),
        statuses.as_deref(),
    )?;
    // The days outside the whole months.
    let mut rest = |from: chrono::NaiveDateTime, to: chrono::NaiveDateTime| {
        let part = RequestFilter {
            received_from: Some(from),
            received_to: Some(to),
            ..f.clone()
        };
        super::filtered(&scope, &part)
            .count()
            .get_result::<i64>(conn)
    };
    if let (Some(from), Some(a)) = (f.received_from, first)
        && utc(a) > from
    {
        n += rest(from, utc(a))?;
    }
    if let (Some(to), Some(b)) = (f.received_to, end)
        && to > utc(b)
    {
        n += rest(utc(b), to)?;
    }
    Ok(Some(n))
}

fn has_words(f: &RequestFilter) -> bool {
    f.text.as_deref().is_some_and(|t| !t.trim().is_empty())
}

/// The cursor that starts the page after `r` (`words`: a page of the search index's).
fn cursor_of(r: &Request, sort: Sort, categories: &[i64], words: bool) -> Cursor {
    match sort.by {
        SortBy::Received if words => Cursor::Id(r.id),
        SortBy::Received => Cursor::Received(r.received_at, r.id),
        SortBy::Due => Cursor::Due(r.due_at, r.id),
        SortBy::Status => Cursor::Group(status_rank(&r.status), r.id),
        SortBy::Category => Cursor::Group(
            categories
                .iter()
                .position(|c| *c == r.category_id)
                .map_or(i64::MAX, |p| p as i64),
            r.id,
        ),
    }
}

/// A status's place in the handling loop (unknown ones last).
fn status_rank(s: &str) -> i64 {
    Status::ALL
        .iter()
        .position(|x| x.as_str() == s)
        .map_or(i64::MAX, |p| p as i64)
}

/// Every category's id in the order the lists show them.
pub(super) fn category_order(conn: &mut DbConnection) -> Result<Vec<i64>, DbError> {
    Ok(super::categories(conn, true)?
        .into_iter()
        .map(|c| c.id)
        .collect())
}

fn by_received(
    conn: &mut DbConnection,
    query: &ListQuery,
    descending: bool,
    after: Option<Cursor>,
    n: i64,
) -> Result<Vec<Request>, DbError> {
    let mut q = query.rows();
    match after {
        Some(Cursor::Received(t, id)) => {
            q = if descending {
                q.filter(
                    requests::received_at
                        .lt(t)
                        .or(requests::received_at.eq(t).and(requests::id.lt(id))),
                )
            } else {
                q.filter(
                    requests::received_at
                        .gt(t)
                        .or(requests::received_at.eq(t).and(requests::id.gt(id))),
                )
            };
        }
        // A cursor of a search's page (by id): the rows after that one's.
        Some(c) => {
            let id = c.id();
            let t = requests::table
                .find(id)
                .select(requests::received_at)
                .first::<chrono::NaiveDateTime>(conn)
                .optional()?
                .unwrap_or_else(|| crate::ids::time_of(id));
            return by_received(conn, query, descending, Some(Cursor::Received(t, id)), n);
        }
        None => {}
    }
    q = if descending {
        q.order((requests::received_at.desc(), requests::id.desc()))
    } else {
        q.order((requests::received_at.asc(), requests::id.asc()))
    };
    Ok(q.limit(n).select(Request::as_select()).load(conn)?)
}

fn by_due(
    conn: &mut DbConnection,
    query: &ListQuery,
    descending: bool,
    after: Option<Cursor>,
    n: i64,
) -> Result<Vec<Request>, DbError> {
    let mut out = Vec::new();
    // The requests with a deadline, unless the cursor is already past them.
    if !matches!(after, Some(Cursor::Due(None, _))) {
        let mut q = query.rows().filter(requests::due_at.is_not_null());
        if let Some(Cursor::Due(Some(t), id)) = after {
            q = if descending {
                q.filter(
                    requests::due_at
                        .lt(t)
                        .or(requests::due_at.eq(t).and(requests::id.lt(id))),
                )
            } else {
                q.filter(
                    requests::due_at
                        .gt(t)
                        .or(requests::due_at.eq(t).and(requests::id.gt(id))),
                )
            };
        }
        q = if descending {
            q.order((requests::due_at.desc(), requests::id.desc()))
        } else {
            q.order((requests::due_at.asc(), requests::id.asc()))
        };
        out = q.limit(n).select(Request::as_select()).load(conn)?;
    }
    if (out.len() as i64) < n {
        let mut q = query.rows().filter(requests::due_at.is_null());
        if let Some(Cursor::Due(None, id)) = after {
            q = if descending {
                q.filter(requests::id.lt(id))
            } else {
                q.filter(requests::id.gt(id))
            };
        }
        q = if descending {
            q.order(requests::id.desc())
        } else {
            q.order(requests::id.asc())
        };
        let more: Vec<Request> = q
            .limit(n - out.len() as i64)
            .select(Request::as_select())
            .load(conn)?;
        out.extend(more);
    }
    Ok(out)
}

fn by_group(
    conn: &mut DbConnection,
    query: &ListQuery,
    sort: Sort,
    after: Option<Cursor>,
    n: i64,
) -> Result<Vec<Request>, DbError> {
    // Few match: all of them at once by the filters' indexes, ordered here. Group by group,
    // each group's query could be read along its own value's index instead (a category's
    // 33,000 requests walked for none of the 69 just received: 15 s at a million).
    // (A seek that finds more than a few thousand after all — a site's own work — goes group
    // by group.)
    if query.plan == Plan::Seek {
        const MOST: i64 = 8_000;
        let keys: Vec<Keys> = query
            .rows()
            .select((
                requests::id,
                requests::due_at,
                requests::status,
                requests::category_id,
            ))
            .limit(MOST + 1)
            .load(conn)?;
        if keys.len() as i64 <= MOST {
            return page_of_keys(conn, query.scope, &keys, sort, after, n);
        }
    }
    // The groups in order, each with its place (the cursor's key); a filter that names some
    // statuses or categories leaves the others out unread.
    let f = query.f;
    let mut groups: Vec<(i64, GroupKey)> = match sort.by {
        SortBy::Status => Status::ALL
            .iter()
            .enumerate()
            .filter(|(_, s)| f.status.is_none_or(|w| w == **s))
            .filter(|(_, s)| f.open.is_none_or(|o| s.is_open() == o))
            .filter(|(_, s)| (f.overdue_at.is_none() && f.due_before.is_none()) || s.clock_runs())
            .map(|(i, s)| (i as i64, GroupKey::Status(s.as_str())))
            .collect(),
        _ => category_order(conn)?
            .into_iter()
            .enumerate()
            .filter(|(_, c)| f.category_ids.is_empty() || f.category_ids.contains(c))
            .map(|(i, c)| (i as i64, GroupKey::Category(c)))
            .collect(),
    };
    if sort.descending {
        groups.reverse();
    }
    let mut out: Vec<Request> = Vec::new();
    for (rank, key) in groups {
        let below = match after {
            Some(Cursor::Group(k, id)) => {
                let passed = if sort.descending { rank > k } else { rank < k };
                if passed {
                    continue;
                }
                (rank == k).then_some(id)
            }
            _ => None,
        };
        let mut q = query.rows();
        q = match key {
            GroupKey::Status(s) => q.filter(requests::status.eq(s)),
            GroupKey::Category(c) => q.filter(requests::category_id.eq(c)),
        };
        if let Some(b) = below {
            q = q.filter(requests::id.lt(b));
        }
        let rows: Vec<Request> = q
            .order(requests::id.desc())
            .limit(n - out.len() as i64)
            .select(Request::as_select())
            .load(conn)?;
        out.extend(rows);
        if out.len() as i64 >= n {
            break;
        }
    }
    Ok(out)
}

#[derive(Clone, Copy)]
enum GroupKey {
    Status(&'static str),
    Category(i64),
}

/// The sort keys of every request that matches words and filters: (id, deadline, status,
/// category).
type Keys = (i64, Option<chrono::NaiveDateTime>, String, i64);

fn matching_keys(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RequestFilter,
) -> Result<Vec<Keys>, DbError> {
    // Ids per statement stay well under SQLite's 32,766 bound values.
    const CHUNK: usize = 10_000;
    let terms = search::query_terms(f.text.as_deref().unwrap_or_default());
    let ids = search::all_matching(conn, scope, f, &terms)?;
    let plain = RequestFilter {
        text: None,
        before_id: None,
        ..f.clone()
    };
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<Keys> = super::filtered(scope, &plain)
            .filter(requests::id.eq_any(chunk))
            .select((
                requests::id,
                requests::due_at,
                requests::status,
                requests::category_id,
            ))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// A match's place in an order, compared ascending (see `with_words`).
type Key = (i64, i64, i64);

/// A page of the requests that match words, in any order: newest first straight from the search
/// index; otherwise every match's sort keys are read and ordered here.
fn with_words(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RequestFilter,
    sort: Sort,
    after: Option<Cursor>,
    n: i64,
) -> Result<Vec<Request>, DbError> {
    if sort == Sort::default() {
        let f = RequestFilter {
            before_id: after.map(|c| c.id()),
            ..f.clone()
        };
        let terms = search::query_terms(f.text.as_deref().unwrap_or_default());
        return search::list_matching(conn, scope, &f, &terms, n);
    }
    let keys = matching_keys(conn, scope, f)?;
    page_of_keys(conn, scope, &keys, sort, after, n)
}

/// A page in `sort`'s order after `after`, ordered here from the sort keys of every request
/// that matches (few: words, or a filter the plan seeks by).
fn page_of_keys(
    conn: &mut DbConnection,
    scope: &Scope,
    matching: &[Keys],
    sort: Sort,
    after: Option<Cursor>,
    n: i64,
) -> Result<Vec<Request>, DbError> {
    let categories = category_order(conn)?;
    let rank_of = |c: i64| {
        categories
            .iter()
            .position(|x| *x == c)
            .map_or(i64::MAX, |p| p as i64)
    };
    // One key per order, ascending; NULL deadlines last either way, newest first in a group.
    let key = |k: &Keys| -> Key {
        match sort.by {
            SortBy::Received => (0, 0, k.0),
            SortBy::Due => match k.1 {
                Some(t) => {
                    let v = t.and_utc().timestamp_micros();
                    if sort.descending {
                        (0, -v, -k.0)
                    } else {
                        (0, v, k.0)
                    }
                }
                None => (1, 0, if sort.descending { -k.0 } else { k.0 }),
            },
            SortBy::Status => {
                let r = status_rank(&k.2);
                (if sort.descending { -r } else { r }, 0, -k.0)
            }
            SortBy::Category => {
                let r = rank_of(k.3);
                (if sort.descending { -r } else { r }, 0, -k.0)
            }
        }
    };
    let start: Option<Key> = after.map(|c| match (c, sort.by) {
        // A page of the list without words before (by the moment of receipt): its id.
        (Cursor::Id(id) | Cursor::Received(_, id), _) => {
            (0, 0, if sort.descending { -id } else { id })
        }
        (Cursor::Due(Some(t), id), _) => {
            let v = t.and_utc().timestamp_micros();
            if sort.descending {
                (0, -v, -id)
            } else {
                (0, v, id)
            }
        }
        (Cursor::Due(None, id), _) => (1, 0, if sort.descending { -id } else { id }),
        (Cursor::Group(r, id), _) => (if sort.descending { -r } else { r }, 0, -id),
    });
    let mut keys: Vec<(Key, i64)> = matching
        .iter()
        .map(|k| {
            let mut key = key(k);
            if sort.by == SortBy::Received && sort.descending {
                key.2 = -key.2;
            }
            (key, k.0)
        })
        .filter(|(k, _)| start.is_none_or(|s| *k > s))
        .collect();
    keys.sort_unstable();
    keys.truncate(usize::try_from(n).unwrap_or(0));
    let ids: Vec<i64> = keys.iter().map(|(_, id)| *id).collect();
    rows_in_order(conn, scope, &ids)
}

/// The rows of these requests in scope, in the order of `ids` (a page found by its keys).
fn rows_in_order(
    conn: &mut DbConnection,
    scope: &Scope,
    ids: &[i64],
) -> Result<Vec<Request>, DbError> {
    let mut rows: Vec<Request> = super::filtered(scope, &RequestFilter::default())
        .filter(requests::id.eq_any(ids))
        .select(Request::as_select())
        .load(conn)?;
    let place: std::collections::HashMap<i64, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    rows.sort_by_key(|r| place.get(&r.id).copied().unwrap_or(usize::MAX));
    Ok(rows)
}
