//! The to-do (待办) every role starts from: a counter of each kind of work owed, across the
//! modules, in the caller's scope and by their permissions, each linking to the list that
//! shows exactly those rows; and, for a handler and a grid worker, the first items of their
//! queue. Every count is the database layer's, on the list's own query.

use shiliu_db::requests::queues::{Own, Queue};
use shiliu_db::scope::{Actor, grants};
use shiliu_domain::casework::{CaseStatus, DisputeStatus};
use shiliu_domain::roles::Permission;

use crate::requests::pages::RequestRow;
use crate::web::error::AppResult;
use crate::web::{AppState, Principal};

/// One counter: what is owed (a catalogue key), how many, and the list that shows them.
#[derive(Debug, Clone)]
pub struct Counter {
    /// The kind of work, e.g. `requests.overdue`, `declarations.pending`.
    pub what: String,
    pub label: String,
    pub count: i64,
    pub href: String,
    /// Late work (overdue, escalated): shown as a warning when there is any.
    pub urgent: bool,
}

/// A counter as the database read gives it, before it is put in words.
struct Owing {
    /// The catalogue key, and its arguments.
    what: String,
    args: Vec<(String, String)>,
    count: i64,
    href: String,
    urgent: bool,
}

impl Owing {
    fn new(what: impl Into<String>, count: i64, href: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            args: Vec::new(),
            count,
            href: href.into(),
            urgent: false,
        }
    }
}

/// The first items of the caller's queue, oldest due first.
pub enum QueueItems {
    Requests(Vec<RequestRow>),
    /// Declarations to verify: (id, first person's name, where, how many people, when).
    Declarations(Vec<(i64, String, String, usize, String)>),
}

pub struct Todo {
    pub counters: Vec<Counter>,
    pub queue: Option<QueueItems>,
}

/// How many of a queue's items the home shows.
const QUEUE_ITEMS: i64 = 10;

/// The request queues the caller works, in the order the home shows them, and whether they
/// are narrowed to the caller's own site or unit.
fn request_queues(p: &Principal) -> (Vec<Queue>, bool) {
    let own = p.user().site_id.is_some() || p.user().unit_id.is_some();
    let mut qs = Vec::new();
    // A grid worker's own work first: what they may resolve on the spot in their grids.
    if p.can(Permission::ResolveOnTheSpot) && p.user().role().scoped_to_grids() {
        qs.push(Queue::OnTheSpot);
    }
    if p.can(Permission::DispatchRequests) {
        qs.push(Queue::ToDispatch);
    }
    if p.can(Permission::HandleRequests) {
        qs.push(Queue::ToAccept);
    }
    qs.extend([Queue::DueSoon, Queue::Overdue, Queue::Escalated]);
    if p.can(Permission::DispatchRequests) {
        qs.push(Queue::ToRate);
    }
    if own && p.can(Permission::HandleRequests) {
        qs.push(Queue::Cohandling);
    }
    (qs, own && p.can(Permission::HandleRequests))
}

/// The link to a request queue's list (the list applies the same filter).
pub fn queue_href(q: Queue, mine: bool) -> String {
    if mine && q.own_work() {
        format!("/requests?queue={}&mine=1", q.as_str())
    } else {
        format!("/requests?queue={}", q.as_str())
    }
}

/// The caller's to-do.
pub async fn gather(state: &AppState, p: &Principal) -> AppResult<Todo> {
    let t = p.t();
    let now = shiliu_db::now();
    let today = shiliu_db::today();
    let own: Own = (p.user().site_id, p.user().unit_id);
    let requests = p
        .require::<grants::ViewRequests>()
        .ok()
        .map(|a| (a.into_actor(), request_queues(p)));
    let handles = p.can(Permission::HandleRequests);
    let dispatches = p.can(Permission::DispatchRequests);
    let registry = p
        .require::<grants::EditRegistry>()
        .ok()
        .map(shiliu_db::scope::Can::into_actor);
    let assists = p
        .require::<grants::ExchangeAssists>()
        .ok()
        .map(shiliu_db::scope::Can::into_actor);
    // Work plans: what the unit owes, and the reports waiting for the caller's decision (a
    // lead unit's on the others', the organiser's on the lead units' own).
    // Inspections: the findings the unit is to rectify, the rectifications to verify.
    let task_reporter = p.require::<grants::ReportTasks>().ok();
    let task_organiser = p.require::<grants::ManageTasks>().ok();
    let task_reviewer = task_organiser
        .clone()
        .map(shiliu_db::scope::Can::into_actor)
        .or_else(|| task_reporter.clone().map(shiliu_db::scope::Can::into_actor));
    // The grid worker's queue is the declarations to check in their grids; reading them is a
    // view of people, audited, so that home is written.
    let grid_worker = p.user().role().scoped_to_grids() && registry.is_some();
    // Councils: the meetings coming up of those the caller runs, and the decisions overdue.
    let councils = p
        .require::<grants::RunCouncils>()
        .ok()
        .map(shiliu_db::scope::Can::into_actor);
    let keys = state.db.request_keys();
    let work = move |c: &mut shiliu_db::DbConnection| -> Result<_, shiliu_db::DbError> {
        let mut counters: Vec<Owing> = Vec::new();
        let mut queue = None;
        if let Some((actor, (queues, mine))) = &requests {
            let scope = actor.scope();
            for (q, n) in
                shiliu_db::requests::queues::todo_counts(&keys, c, scope, queues, own, *mine, now)?
            {
                counters.push(Owing {
                    urgent: matches!(q, Queue::Overdue | Queue::Escalated),
                    ..Owing::new(format!("queue.{}", q.as_str()), n, queue_href(q, *mine))
                });
            }
            let first = if *mine {
                Some(shiliu_db::requests::RequestFilter {
                    handled_by: Some(own),
                    open: Some(true),
                    ..Default::default()
                })
            } else if dispatches {
                Some(Queue::ToDispatch.filter(own, false, now))
            } else {
                None
            };
            if let Some(f) = first {
                let rows = shiliu_db::requests::queues::first_due(c, scope, &f, QUEUE_ITEMS)?;
                queue = Some((rows, shiliu_db::requests::categories(c, true)?));
            }
            if handles {
                casework_counters(c, actor, &mut counters)?;
            }
        }
        let mut declarations = None;
        if let Some(actor) = &registry {
            let scope = actor.scope();
            counters.push(Owing::new(
                "todo.declarations",
                shiliu_db::registry::declarations::pending_count(c, scope)?,
                "/registry/declarations?status=pending",
            ));
            for (s, left) in shiliu_db::registry::needs::households_left(c, scope, today)? {
                counters.push(Owing {
                    args: vec![("name".into(), s.name.clone())],
                    ..Owing::new(
                        "todo.survey",
                        left,
                        format!("/registry/surveys/{}/households", s.id),
                    )
                });
            }
            if grid_worker {
                let rows = shiliu_db::registry::declarations::queue(
                    c,
                    actor,
                    shiliu_domain::registry::DeclarationStatus::Pending,
                    None,
                    QUEUE_ITEMS,
                )?;
                let ids: Vec<i64> = rows.iter().map(|d| d.region_id).collect();
                declarations = Some((rows, shiliu_db::org::region_names(c, &ids)?));
            }
        }
        if let Some(actor) = &assists {
            let (waiting, _late) = shiliu_db::registry::linkage::waiting(c, actor.scope(), today)?;
            counters.push(Owing::new(
                "todo.assists",
                waiting,
                "/registry/assists?status=open",
            ));
        }
        if let Some(actor) = &task_reporter {
            let owed = shiliu_db::tasks::ledger::owed(c, actor, today)?;
            let late = owed
                .iter()
                .any(|o| o.progress == shiliu_domain::tasks::Progress::Overdue);
            counters.push(Owing {
                urgent: late,
                ..Owing::new(
                    "todo.tasks_owed",
                    i64::try_from(owed.len()).unwrap_or(i64::MAX),
                    "/plans?owed=1",
                )
            });
        }
        if let Some(actor) = &task_reviewer {
            let waiting = shiliu_db::tasks::ledger::to_review(c, actor)?;
            counters.push(Owing::new(
                "todo.reports_to_review",
                i64::try_from(waiting.len()).unwrap_or(i64::MAX),
                "/plans?review=1",
            ));
        }
        if let Some(actor) = &task_reporter {
            let owed = shiliu_db::tasks::inspections::owed(c, actor, today)?;
            counters.push(Owing {
                urgent: owed.iter().any(|l| l.finding.overdue(today)),
                ..Owing::new(
                    "todo.findings_owed",
                    i64::try_from(owed.len()).unwrap_or(i64::MAX),
                    "/plans?rectify=1",
                )
            });
        }
        if let Some(actor) = &task_organiser {
            let late = shiliu_db::tasks::reminders::escalated(c, actor)?;
            counters.push(Owing {
                urgent: !late.is_empty(),
                ..Owing::new(
                    "todo.tasks_escalated",
                    i64::try_from(late.len()).unwrap_or(i64::MAX),
                    "/plans?escalated=1",
                )
            });
            let waiting = shiliu_db::tasks::inspections::to_verify(c, actor)?;
            counters.push(Owing::new(
                "todo.findings_to_verify",
                i64::try_from(waiting.len()).unwrap_or(i64::MAX),
                "/plans?verify=1",
            ));
        }
        if let Some(actor) = &councils {
            let soon = shiliu_db::councils::meeting_soon(
                c,
                actor.scope(),
                today,
                crate::councils::pages::SOON_DAYS,
            )?
            .into_iter()
            .filter(|(council, _)| council.run_by(actor))
            .count();
            counters.push(Owing::new(
                "todo.councils_meeting",
                i64::try_from(soon).unwrap_or(i64::MAX),
                "/councils?soon=1",
            ));
            counters.push(Owing {
                urgent: true,
                ..Owing::new(
                    "todo.council_items_overdue",
                    shiliu_db::councils::items::open_count(c, actor.scope(), Some(today))?,
                    "/councils/follow-up?overdue=1",
                )
            });
        }
        Ok((counters, queue, declarations))
    };
    let (counters, queue, declarations) = if grid_worker {
        state.db.write(work).await?
    } else {
        state.db.read(work).await?
    };
    let counters = counters
        .into_iter()
        .map(|o| {
            let args: Vec<(&str, &str)> = o
                .args
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            Counter {
                label: t.f(&o.what, &args),
                urgent: o.urgent && o.count > 0,
                what: o.what,
                count: o.count,
                href: o.href,
            }
        })
        .collect();
    let queue = if let Some((rows, names)) = declarations {
        Some(QueueItems::Declarations(
            crate::registry::declare::queue_rows(&rows, &names),
        ))
    } else {
        queue.map(|(rows, cats)| {
            let names = crate::requests::pages::category_names(&cats, t);
            QueueItems::Requests(
                rows.iter()
                    .map(|r| {
                        let cat = names
                            .iter()
                            .find(|(i, _)| *i == r.category_id.to_string())
                            .map(|(_, n)| n.clone())
                            .unwrap_or_default();
                        RequestRow::of(r, t, now, cat, &[])
                    })
                    .collect(),
            )
        })
    };
    Ok(Todo { counters, queue })
}

/// Disputes and legal-aid cases open for the caller (a mediator's, a lawyer's own).
fn casework_counters(
    c: &mut shiliu_db::DbConnection,
    actor: &Actor,
    counters: &mut Vec<Owing>,
) -> Result<(), shiliu_db::DbError> {
    use shiliu_db::casework as cw;
    for s in [DisputeStatus::Open, DisputeStatus::Mediating] {
        counters.push(Owing::new(
            format!("todo.disputes_{}", s.as_str()),
            cw::dispute_count(c, actor, s)?,
            format!("/disputes?status={}", s.as_str()),
        ));
    }
    counters.push(Owing::new(
        "todo.legal_aid_open",
        cw::legal_aid_count(c, actor, CaseStatus::Open)?,
        "/legal-aid?status=open",
    ));
    Ok(())
}
