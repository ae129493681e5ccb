//! The work queues of requests (待办): what is owed — to dispatch, to accept, due soon,
//! overdue, escalated (督办), to rate back (回访), asked to co-handle (协办), for a grid worker
//! to resolve on the spot (可就地办结). Each queue is
//! one set of list filters ([`Queue::apply`]), so the home's counter and the list it links to
//! count the same rows, through the list's own count ([`super::listing::count`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use shiliu_domain::requests::Status;

use super::{Request, RequestFilter, filtered};
use crate::schema::requests;
use crate::scope::Scope;
use crate::{DbConnection, DbError};

/// How far ahead "due soon" looks.
pub const DUE_SOON: chrono::Duration = chrono::Duration::hours(24);

shiliu_domain::code_enum! {
    /// A work queue, by its code in links (`/requests?queue=overdue`).
    pub enum Queue {
        /// Taken in or sent back, to be dispatched (派单).
        ToDispatch = "to_dispatch",
        /// Dispatched, waiting for the handler to accept (接单).
        ToAccept = "to_accept",
        /// Still running and due within [`DUE_SOON`], not yet overdue.
        DueSoon = "due_soon",
        /// Still running and past its deadline.
        Overdue = "overdue",
        /// Escalated to the supervising level (督办) and still open.
        Escalated = "escalated",
        /// Resolved, waiting for the call-back rating (回访).
        ToRate = "to_rate",
        /// Asked of one's own site or unit to co-handle (协办), not yet answered.
        Cohandling = "cohandling",
        /// Not yet dispatched, in a category a grid worker may resolve on the spot (可就地办结):
        /// in a grid worker's scope, theirs to take.
        OnTheSpot = "on_the_spot",
    }
}

/// Whose requests a queue holds: one's own site or unit (either may be absent).
pub type Own = (Option<i64>, Option<i64>);

impl Queue {
    /// Narrow `f` to this queue at `now`; `own` is the caller's site and unit (co-handling
    /// asks of them).
    pub fn apply(self, f: &mut RequestFilter, own: Own, now: NaiveDateTime) {
        match self {
            Queue::ToDispatch => f.any_status = vec![Status::Received, Status::Returned],
            Queue::ToAccept => f.status = Some(Status::Dispatched),
            Queue::DueSoon => f.due_before = Some((now, now + DUE_SOON)),
            Queue::Overdue => f.overdue_at = Some(now),
            Queue::Escalated => {
                f.escalated = true;
                f.open = Some(true);
            }
            Queue::ToRate => f.status = Some(Status::Resolved),
            Queue::Cohandling => f.asked_of = Some(own),
            Queue::OnTheSpot => {
                f.any_status = vec![Status::Received, Status::Returned];
                f.on_the_spot = true;
            }
        }
    }

    /// Whether "mine" narrows this queue to the requests one's own site or unit handles
    /// (co-handling is asked of them about requests others handle; on the spot, no site
    /// handles them yet).
    pub fn own_work(self) -> bool {
        !matches!(self, Queue::Cohandling | Queue::OnTheSpot)
    }

    /// The filter of this queue alone; `mine`: only the requests handled by `own`.
    pub fn filter(self, own: Own, mine: bool, now: NaiveDateTime) -> RequestFilter {
        let mut f = RequestFilter {
            handled_by: (mine && self.own_work()).then_some(own),
            ..RequestFilter::default()
        };
        self.apply(&mut f, own, now);
        f
    }
}

/// How many requests each queue holds in the scope (`mine`: handled by `own`), in the order
/// asked.
pub fn todo_counts(
    keys: &super::keys::RequestKeys,
    conn: &mut DbConnection,
    scope: &Scope,
    queues: &[Queue],
    own: Own,
    mine: bool,
    now: NaiveDateTime,
) -> Result<Vec<(Queue, i64)>, DbError> {
    queues
        .iter()
        .map(|q| {
            let n = super::listing::count(keys, conn, scope, &q.filter(own, mine, now))?;
            Ok((*q, n))
        })
        .collect()
}

/// The first requests of a filter to act on: oldest due first (those without a deadline
/// last), then oldest taken in.
pub fn first_due(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RequestFilter,
    limit: i64,
) -> Result<Vec<Request>, DbError> {
    Ok(filtered(scope, f)
        .order((
            requests::due_at.is_null(),
            requests::due_at.asc(),
            requests::id.asc(),
        ))
        .limit(limit)
        .load(conn)?)
}
