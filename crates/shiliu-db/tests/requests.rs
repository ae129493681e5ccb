//! Requests in the database: intake, routing, deadlines, the state machine with events and
//! audit, optimistic concurrency, scope — on both engines.

use diesel::RunQueryDsl;
use shiliu_db::org::{self, Region};
use shiliu_db::requests::keys::RequestKeys;
use shiliu_db::requests::{self, StepInput};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbConnection, DbError, audit, both_engines};
use shiliu_domain::calendar::{local, utc};
use shiliu_domain::org::{RegionInput, SiteInput};
use shiliu_domain::requests::{
    Action, ActionInput, Channel, Outcome, Rating, RequestInput, Status,
};

struct Place {
    grid: Region,
    community_site: i64,
}

fn place(c: &mut DbConnection, township: &str, tag: &str) -> Place {
    let sys = Actor::system("test");
    let all = Scope::everything();
    let town = org::get_region_by_code(c, &all, township).unwrap();
    let comm = org::create_child_region(
        c,
        &sys,
        town.id,
        &RegionInput::parse(&format!("{tag}社区"), "").unwrap(),
    )
    .unwrap();
    let grid = org::create_child_region(
        c,
        &sys,
        comm.id,
        &RegionInput::parse(&format!("{tag}一网格"), "").unwrap(),
    )
    .unwrap();
    // A county-level site too: the community's own site is nearer and wins.
    let county = org::get_region(c, &all, town.parent_id.unwrap()).unwrap();
    org::create_site(
        c,
        &sys,
        county.id,
        &SiteInput::parse(&format!("{tag}县民族之家"), "minzu_home", "", "", "", "").unwrap(),
    )
    .unwrap();
    let site = org::create_site(
        c,
        &sys,
        comm.id,
        &SiteInput::parse(&format!("{tag}社区解忧超市"), "jieyou_desk", "", "", "", "").unwrap(),
    )
    .unwrap();
    Place {
        grid,
        community_site: site.id,
    }
}

fn category(c: &mut DbConnection, code: &str) -> requests::Category {
    requests::categories(c, false)
        .unwrap()
        .into_iter()
        .find(|k| k.code == code)
        .unwrap()
}

fn step(
    t: &TestDb,
    id: i64,
    action: Action,
    input: StepInput,
) -> Result<requests::Request, DbError> {
    let sys = Actor::system("handler");
    t.db.write_blocking(|c| {
        let r = requests::get(c, &Scope::everything(), id)?;
        requests::step(c, &sys, id, r.version, action, &input)
    })
}

both_engines!(
    intake_routes_to_the_community_site_and_sets_the_deadline,
    |t: TestDb| {
        let sys = Actor::system("test");
        let r =
            t.db.write_blocking(|c| {
                let p = place(c, "450107001", "万秀");
                let jobs = category(c, "jobs_training");
                let input = RequestInput::parse(
                    Channel::Grid,
                    "想参加电工技能培训",
                    "万秀村",
                    "黄女士",
                    "13812345678",
                    true,
                )
                .unwrap();
                let r = requests::create(c, &sys, &input, jobs.id, p.grid.id, None)?;
                assert_eq!(r.site_id, Some(p.community_site));
                let reason: serde_json::Value = serde_json::from_str(&r.routed_by).unwrap();
                assert_eq!(reason["how"], "community");
                assert_eq!(reason["site"], "万秀社区解忧超市");
                let cal = requests::calendar(c)?;
                // Deadlines count working time in local (China) time; stored in UTC.
                assert_eq!(
                    r.due_at,
                    Some(utc(cal.add_working_days(local(r.received_at), 5)))
                );
                Ok(r)
            })
            .unwrap();
        assert_eq!(r.status(), Status::Received);
        assert_eq!(r.code.len(), 10);
        assert_eq!(
            r.region_path,
            t.db.write_blocking(|c| org::get_region(c, &Scope::everything(), r.region_id))
                .unwrap()
                .path
        );
        // Bad input is refused by field, and nothing is written.
        let e =
            t.db.write_blocking(|c| {
                let jobs = category(c, "jobs_training");
                let input =
                    RequestInput::parse(Channel::Hotline, "咨询", "", "", "", false).unwrap();
                requests::create(c, &sys, &input, jobs.id, -5, None)
            })
            .unwrap_err();
        assert!(matches!(e, DbError::Invalid(f) if f.0[0].field == "region_id"));
        let by_code =
            t.db.write_blocking(|c| requests::by_code(c, &r.code.to_lowercase()))
                .unwrap();
        assert_eq!(by_code.id, r.id);
    }
);

/// A walk-in request at one community's site, and another community's site it may be
/// transferred to.
fn walk_in_request(t: &TestDb) -> (requests::Request, i64) {
    let sys = Actor::system("test");
    t.db.write_blocking(|c| {
        let p = place(c, "450107001", "秀厢");
        let q = place(c, "450107002", "北湖");
        let rent = category(c, "renting");
        let input =
            RequestInput::parse(Channel::WalkIn, "房东不退押金", "", "", "", false).unwrap();
        Ok((
            requests::create(c, &sys, &input, rent.id, p.grid.id, Some(p.community_site))?,
            q.community_site,
        ))
    })
    .unwrap()
}

fn with_reason(s: &str) -> StepInput {
    StepInput {
        action_input: ActionInput {
            reason: Some(s.into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn resolution() -> StepInput {
    StepInput {
        action_input: ActionInput {
            outcome: Some(Outcome::Solved),
            reply: Some("已联系房东退还押金".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn rating(x: Rating) -> StepInput {
    StepInput {
        action_input: ActionInput {
            rating: Some(x),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn transfer_to(site_id: i64) -> StepInput {
    StepInput {
        site_id: Some(site_id),
        ..Default::default()
    }
}

/// Take the steps in turn, each of which must succeed; the request as the last left it.
fn steps(t: &TestDb, id: i64, steps: Vec<(Action, StepInput)>) -> requests::Request {
    let mut last = None;
    for (action, input) in steps {
        last = Some(step(t, id, action, input).unwrap());
    }
    last.unwrap()
}

/// The walk-in request dispatched, returned with its reason, dispatched again, accepted and
/// started; and the other community's site.
fn started_request(t: &TestDb) -> (requests::Request, i64) {
    let (r, other_site) = walk_in_request(t);
    steps(
        t,
        r.id,
        vec![
            (Action::Dispatch, StepInput::default()),
            (Action::Return, with_reason("不属于本站点")),
            (Action::Dispatch, StepInput::default()),
            (Action::Accept, StepInput::default()),
            (Action::Start, StepInput::default()),
        ],
    );
    (r, other_site)
}

/// The started request resolved with an outcome and a reply.
fn resolved_request(t: &TestDb) -> requests::Request {
    let (r, _) = started_request(t);
    step(t, r.id, Action::Resolve, resolution()).unwrap();
    r
}

/// The started request taken round the whole loop, every step of it once at least, to its
/// close: the request as it was taken in.
fn request_handled_to_its_close(t: &TestDb) -> requests::Request {
    let (r, other_site) = started_request(t);
    steps(
        t,
        r.id,
        vec![
            (Action::Note, with_reason("已约房东周三见面")),
            (Action::Transfer, transfer_to(other_site)),
            (Action::DeclineTransfer, with_reason("人手不足")),
            (Action::WaitForResident, StepInput::default()),
            (Action::Resume, StepInput::default()),
            (Action::Resolve, resolution()),
            (Action::Rate, rating(Rating::Dissatisfied)),
            (Action::Reopen, StepInput::default()),
            (Action::Resolve, resolution()),
            (Action::Rate, rating(Rating::Satisfied)),
            (Action::Close, StepInput::default()),
        ],
    );
    r
}

both_engines!(
    a_returned_request_goes_back_to_the_dispatcher_who_sends_it_again,
    |t: TestDb| {
        let (r, _) = walk_in_request(&t);
        let go = |a| step(&t, r.id, a, StepInput::default());
        assert_eq!(go(Action::Dispatch).unwrap().status(), Status::Dispatched);
        assert!(
            matches!(go(Action::Return), Err(DbError::Invalid(_))),
            "a return needs its reason"
        );
        assert_eq!(
            step(&t, r.id, Action::Return, with_reason("不属于本站点"))
                .unwrap()
                .status(),
            Status::Returned
        );
        assert_eq!(go(Action::Dispatch).unwrap().status(), Status::Dispatched);
    }
);

both_engines!(
    a_dispatched_request_is_accepted_then_started,
    |t: TestDb| {
        let (r, _) = walk_in_request(&t);
        let go = |a| step(&t, r.id, a, StepInput::default());
        go(Action::Dispatch).unwrap();
        assert_eq!(go(Action::Accept).unwrap().status(), Status::Accepted);
        assert_eq!(go(Action::Start).unwrap().status(), Status::InProgress);
    }
);

both_engines!(
    a_progress_note_needs_its_text_and_keeps_the_status,
    |t: TestDb| {
        let (r, _) = started_request(&t);
        assert!(
            matches!(
                step(&t, r.id, Action::Note, StepInput::default()),
                Err(DbError::Invalid(_))
            ),
            "a note needs its text"
        );
        assert_eq!(
            step(&t, r.id, Action::Note, with_reason("已约房东周三见面"))
                .unwrap()
                .status(),
            Status::InProgress
        );
    }
);

both_engines!(
    a_transfer_the_receiver_declines_stays_with_the_sender,
    |t: TestDb| {
        let (r, other_site) = started_request(&t);
        let offered = step(&t, r.id, Action::Transfer, transfer_to(other_site)).unwrap();
        assert_eq!(
            (offered.status(), offered.transfer_site_id),
            (Status::TransferPending, Some(other_site))
        );
        let declined = step(&t, r.id, Action::DeclineTransfer, with_reason("人手不足")).unwrap();
        assert_eq!(
            (
                declined.status(),
                declined.site_id,
                declined.transfer_site_id
            ),
            (Status::InProgress, r.site_id, None)
        );
    }
);

both_engines!(
    waiting_for_the_resident_moves_the_deadline_on_by_the_pause,
    |t: TestDb| {
        let (r, _) = started_request(&t);
        let go = |a| step(&t, r.id, a, StepInput::default());
        let waiting = go(Action::WaitForResident).unwrap();
        assert!(waiting.paused_at.is_some());
        let resumed = go(Action::Resume).unwrap();
        assert!(resumed.due_at >= waiting.due_at && resumed.paused_at.is_none());
    }
);

both_engines!(resolving_needs_an_outcome_and_a_reply, |t: TestDb| {
    let (r, _) = started_request(&t);
    assert!(matches!(
        step(&t, r.id, Action::Resolve, StepInput::default()),
        Err(DbError::Invalid(_))
    ));
    assert_eq!(
        step(&t, r.id, Action::Resolve, resolution())
            .unwrap()
            .status(),
        Status::Resolved
    );
});

both_engines!(a_dissatisfied_rating_reopens_the_request, |t: TestDb| {
    let r = resolved_request(&t);
    assert_eq!(
        step(&t, r.id, Action::Rate, rating(Rating::Dissatisfied))
            .unwrap()
            .status(),
        Status::Rated
    );
    assert_eq!(
        step(&t, r.id, Action::Reopen, StepInput::default())
            .unwrap()
            .status(),
        Status::InProgress,
        "不满意 reopens"
    );
});

both_engines!(
    a_satisfied_rating_does_not_reopen_the_request,
    |t: TestDb| {
        let r = resolved_request(&t);
        step(&t, r.id, Action::Rate, rating(Rating::Satisfied)).unwrap();
        assert!(
            matches!(
                step(&t, r.id, Action::Reopen, StepInput::default()),
                Err(DbError::Invalid(_))
            ),
            "满意 does not"
        );
    }
);

both_engines!(
    a_closed_request_keeps_its_reply_and_nothing_moves_it,
    |t: TestDb| {
        let r = resolved_request(&t);
        step(&t, r.id, Action::Rate, rating(Rating::Satisfied)).unwrap();
        let go = |a| step(&t, r.id, a, StepInput::default());
        let closed = go(Action::Close).unwrap();
        assert_eq!(closed.status(), Status::Closed);
        assert!(closed.closed_at.is_some() && closed.reply.is_some());
        // Nothing moves a closed request.
        assert!(matches!(go(Action::Reopen), Err(DbError::Invalid(_))));
    }
);

both_engines!(
    every_step_of_the_handling_loop_is_an_event_in_its_history,
    |t: TestDb| {
        let r = request_handled_to_its_close(&t);
        let events = t.db.write_blocking(|c| requests::events(c, &r)).unwrap();
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "receive",
                "dispatch",
                "return",
                "dispatch",
                "accept",
                "start",
                "note",
                "transfer",
                "decline_transfer",
                "wait_for_resident",
                "resume",
                "resolve",
                "rate",
                "reopen",
                "resolve",
                "rate",
                "close"
            ]
        );
        assert_eq!(events[2].note.as_deref(), Some("不属于本站点"));
    }
);

both_engines!(
    every_step_of_the_handling_loop_writes_one_audit_row,
    |t: TestDb| {
        let r = request_handled_to_its_close(&t);
        let events = t.db.write_blocking(|c| requests::events(c, &r)).unwrap();
        let mut c = t.db.conn().unwrap();
        let report = audit::verify(&mut c).unwrap();
        assert!(report.is_intact());
        let steps = audit::list(
            &mut c,
            &audit::AuditFilter {
                entity: Some("request".into()),
                ..Default::default()
            },
            100,
        )
        .unwrap();
        assert_eq!(
            steps.len(),
            events.len(),
            "one audit row per step, in the same transaction"
        );
    }
);

/// An open request in a grid of Nanning, and the paths of Nanning and Liuzhou.
fn hotline_request_in_nanning(t: &TestDb) -> (requests::Request, String, String) {
    let sys = Actor::system("test");
    t.db.write_blocking(|c| {
        let p = place(c, "450107001", "甲");
        let other = category(c, "other");
        let input = RequestInput::parse(Channel::Hotline, "咨询政策", "", "", "", false).unwrap();
        let all = Scope::everything();
        Ok((
            requests::create(c, &sys, &input, other.id, p.grid.id, None)?,
            org::get_region_by_code(c, &all, "450100")?.path,
            org::get_region_by_code(c, &all, "450200")?.path,
        ))
    })
    .unwrap()
}

both_engines!(
    the_second_of_two_edits_of_one_version_is_refused,
    |t: TestDb| {
        let sys = Actor::system("test");
        let (r, _, _) = hotline_request_in_nanning(&t);
        // Two people saw version 1; the second to act is refused, not silently applied.
        let first =
            t.db.write_blocking(|c| {
                requests::step(c, &sys, r.id, 1, Action::Dispatch, &StepInput::default())
            })
            .unwrap();
        assert_eq!(first.version, 2);
        let second = t.db.write_blocking(|c| {
            requests::step(c, &sys, r.id, 1, Action::Dispatch, &StepInput::default())
        });
        assert!(matches!(second, Err(DbError::Stale)));
    }
);

both_engines!(
    requests_are_listed_and_got_only_in_their_scope,
    |t: TestDb| {
        let (r, nn_path, lz_path) = hotline_request_in_nanning(&t);
        let mut c = t.db.conn().unwrap();
        let nn = Scope::subtrees(vec![nn_path]);
        let lz = Scope::subtrees(vec![lz_path]);
        assert_eq!(
            requests::list(&mut c, &nn, &requests::RequestFilter::default(), 10)
                .unwrap()
                .len(),
            1
        );
        assert!(
            requests::list(&mut c, &lz, &requests::RequestFilter::default(), 10)
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            requests::get(&mut c, &lz, r.id),
            Err(DbError::NotFound)
        ));
    }
);

both_engines!(
    an_open_request_due_before_a_moment_is_overdue_at_it,
    |t: TestDb| {
        let (_, nn_path, _) = hotline_request_in_nanning(&t);
        let mut c = t.db.conn().unwrap();
        // Overdue: due before a moment far in the future, still open.
        let far = shiliu_db::now() + chrono::Duration::days(400);
        let overdue = requests::list(
            &mut c,
            &Scope::subtrees(vec![nn_path]),
            &requests::RequestFilter {
                overdue_at: Some(far),
                ..Default::default()
            },
            10,
        )
        .unwrap();
        assert_eq!(overdue.len(), 1);
    }
);

/// Three requests and the moment they are looked at: one past due; one received long ago and
/// due in a few working minutes; one just taken in, due in five days.
struct Deadlines {
    late: requests::Request,
    soon: requests::Request,
    fresh: requests::Request,
    now: chrono::NaiveDateTime,
}

fn deadline_requests(t: &TestDb) -> Deadlines {
    use diesel::prelude::*;
    use shiliu_db::schema::requests as rq;
    let sys = Actor::system("test");
    let (late, soon, fresh) =
        t.db.write_blocking(|c| {
            let p = place(c, "450107001", "丙");
            let policy = category(c, "policy");
            let mk = |c: &mut DbConnection, text: &str| {
                let input = RequestInput::parse(Channel::Hotline, text, "", "", "", false).unwrap();
                requests::create(c, &sys, &input, policy.id, p.grid.id, None)
            };
            Ok((mk(c, "甲")?, mk(c, "乙")?, mk(c, "丙")?))
        })
        .unwrap();
    let mut c = t.db.conn().unwrap();
    let now = shiliu_db::now();
    let cal = requests::calendar(&mut c).unwrap();
    diesel::update(rq::table.filter(rq::id.eq(late.id)))
        .set(rq::due_at.eq(Some(now - chrono::Duration::hours(1))))
        .execute(&mut c)
        .unwrap();
    let received = now - chrono::Duration::days(3);
    diesel::update(rq::table.filter(rq::id.eq(soon.id)))
        .set((
            rq::received_at.eq(received),
            rq::due_at.eq(Some(shiliu_domain::calendar::utc(
                cal.add_working_minutes(shiliu_domain::calendar::local(now), 10),
            ))),
        ))
        .execute(&mut c)
        .unwrap();
    // Days away whichever day this runs: taken in on a weekend evening, a one-day service
    // level would fall due within the day the due-soon queue looks ahead.
    diesel::update(rq::table.filter(rq::id.eq(fresh.id)))
        .set(rq::due_at.eq(Some(now + chrono::Duration::days(5))))
        .execute(&mut c)
        .unwrap();
    let fresh = requests::get(&mut c, &Scope::everything(), fresh.id).unwrap();
    Deadlines {
        late,
        soon,
        fresh,
        now,
    }
}

/// The overdue request changed after the work was found and before it was marked, in parts
/// of one request each as the server marks a backlog: what the marks did, added up.
fn marked_after_the_late_one_changed(t: &TestDb, d: &Deadlines) -> requests::Sweep {
    use diesel::prelude::*;
    use shiliu_db::schema::requests as rq;
    let work =
        t.db.write_blocking(|c| requests::deadline_work(c, d.now))
            .unwrap();
    t.db.write_blocking(|c| {
        diesel::update(rq::table.filter(rq::id.eq(d.late.id)))
            .set(rq::version.eq(rq::version + 1))
            .execute(c)?;
        Ok(())
    })
    .unwrap();
    let mut marked = requests::Sweep::default();
    for part in &work.parts(1) {
        let s =
            t.db.write_blocking(|c| requests::mark_deadlines(c, d.now, part))
                .unwrap();
        marked.reminded += s.reminded;
        marked.escalated += s.escalated;
    }
    marked
}

both_engines!(
    deadline_work_is_marked_in_parts_of_one_request_each,
    |t: TestDb| {
        let d = deadline_requests(&t);
        let work =
            t.db.write_blocking(|c| requests::deadline_work(c, d.now))
                .unwrap();
        assert_eq!((work.remind.len(), work.escalate.len()), (1, 1));
        // Marked in parts of one request each, as the server marks a backlog.
        assert_eq!(
            work.parts(1)
                .iter()
                .map(|p| (p.escalate.len(), p.remind.len()))
                .collect::<Vec<_>>(),
            [(1, 0), (0, 1)]
        );
    }
);

both_engines!(
    a_request_changed_after_its_deadline_work_was_found_is_left_alone,
    |t: TestDb| {
        let d = deadline_requests(&t);
        // Work found, then the overdue request changes before the marks: it is left alone.
        let stale = marked_after_the_late_one_changed(&t, &d);
        assert_eq!((stale.reminded, stale.escalated), (1, 0));
    }
);

both_engines!(
    the_sweep_takes_up_what_was_left_and_marks_each_once,
    |t: TestDb| {
        let d = deadline_requests(&t);
        marked_after_the_late_one_changed(&t, &d);
        let first =
            t.db.write_blocking(|c| requests::sweep_deadlines(c, d.now))
                .unwrap();
        assert_eq!((first.reminded, first.escalated), (0, 1));
        let again =
            t.db.write_blocking(|c| requests::sweep_deadlines(c, d.now))
                .unwrap();
        assert_eq!((again.reminded, again.escalated), (0, 0), "once each");
    }
);

both_engines!(
    the_late_request_is_escalated_the_one_due_soon_reminded_the_fresh_one_neither,
    |t: TestDb| {
        let d = deadline_requests(&t);
        marked_after_the_late_one_changed(&t, &d);
        t.db.write_blocking(|c| requests::sweep_deadlines(c, d.now))
            .unwrap();
        let mut c = t.db.conn().unwrap();
        let all = Scope::everything();
        assert!(
            requests::get(&mut c, &all, d.late.id)
                .unwrap()
                .escalated_at
                .is_some()
        );
        assert!(
            requests::get(&mut c, &all, d.soon.id)
                .unwrap()
                .reminded_at
                .is_some()
        );
        let f = requests::get(&mut c, &all, d.fresh.id).unwrap();
        assert!(f.reminded_at.is_none() && f.escalated_at.is_none());
    }
);

both_engines!(
    an_escalation_to_the_level_above_is_in_the_history_and_audited,
    |t: TestDb| {
        let d = deadline_requests(&t);
        marked_after_the_late_one_changed(&t, &d);
        t.db.write_blocking(|c| requests::sweep_deadlines(c, d.now))
            .unwrap();
        let mut c = t.db.conn().unwrap();
        let ev = requests::events(&mut c, &d.late).unwrap();
        let last = ev.last().unwrap();
        assert_eq!(last.action, "escalate");
        let detail: serde_json::Value = serde_json::from_str(&last.detail).unwrap();
        assert!(
            detail["supervising_region_id"].is_i64(),
            "escalated to the level above: {detail}"
        );
        assert!(audit::verify(&mut c).unwrap().is_intact());
    }
);

/// A request received `days_ago`, resolved `hours` later, due after `due_hours`: history as the
/// bulk loader writes it.
fn past_request(
    region: &Region,
    category_id: i64,
    days_ago: i64,
    hours: i64,
    due_hours: i64,
) -> requests::Request {
    let received = shiliu_db::now() - chrono::Duration::days(days_ago);
    let resolved = received + chrono::Duration::hours(hours);
    requests::Request {
        id: shiliu_db::ids::new_id(),
        code: requests::tracking_code(&mut rand::thread_rng()),
        channel: "walk_in".into(),
        category_id,
        region_id: region.id,
        region_path: region.path.clone(),
        status: Status::Resolved.as_str().into(),
        description: "旧诉求".into(),
        place: None,
        contact_name: None,
        contact_phone: None,
        consent: false,
        site_id: None,
        unit_id: None,
        routed_by: "{}".into(),
        transfer_site_id: None,
        transfer_unit_id: None,
        intake_site_id: None,
        created_by: None,
        received_at: received,
        due_at: Some(received + chrono::Duration::hours(due_hours)),
        paused_at: None,
        reminded_at: None,
        escalated_at: None,
        resolved_at: Some(resolved),
        outcome: Some("solved".into()),
        reply: Some("已办".into()),
        rating: None,
        rated_at: None,
        closed_at: None,
        updated_at: resolved,
        version: 1,
    }
}

/// Statistics of Nanning over the months from before the history to now.
struct StatsHistory {
    scope: Scope,
    from: String,
    to: String,
}

/// 24 requests in the grids of two communities of one district, over three channels and four
/// categories, taken to different points of the loop, and two months ago two more from the
/// loader.
fn stats_history(t: &TestDb) -> StatsHistory {
    use shiliu_db::requests::stats::month_of;
    let sys = Actor::system("test");
    let scope =
        t.db.write_blocking(|c| {
            let p = place(c, "450107001", "统计");
            let q = place(c, "450107002", "统计二");
            let cats = requests::categories(c, false)?;
            let mut n = 0_usize;
            for (i, grid) in [p.grid.id, q.grid.id].iter().cycle().take(24).enumerate() {
                let ch = [Channel::Hotline, Channel::Grid, Channel::WalkIn][i % 3];
                let input =
                    RequestInput::parse(ch, &format!("诉求{i}"), "", "", "", false).unwrap();
                let mut r = requests::create(c, &sys, &input, cats[i % 4].id, *grid, None)?;
                let plan: &[Action] = match i % 4 {
                    0 => &[],
                    1 => &[Action::Dispatch, Action::Accept],
                    2 => &[Action::Dispatch, Action::Accept, Action::Resolve],
                    _ => &[
                        Action::Dispatch,
                        Action::Accept,
                        Action::Resolve,
                        Action::Rate,
                    ],
                };
                for a in plan {
                    let rating = if i % 8 == 3 {
                        Rating::Dissatisfied
                    } else {
                        Rating::Satisfied
                    };
                    // Some go to the other community's site: they count there from then on.
                    let site_id =
                        (*a == Action::Dispatch && i % 5 == 0).then_some(q.community_site);
                    let step = StepInput {
                        action_input: ActionInput {
                            outcome: Some(Outcome::Solved),
                            reply: Some("已办".into()),
                            rating: Some(rating),
                            ..Default::default()
                        },
                        site_id,
                        ..Default::default()
                    };
                    r = requests::step(c, &sys, r.id, r.version, *a, &step)?;
                }
                n += 1;
            }
            assert_eq!(n, 24);
            // History from the loader: two months ago one resolved late and one on time,
            // arisen in a community (not in one of its grids).
            let comm = org::get_region(c, &Scope::everything(), p.grid.parent_id.unwrap())?;
            let old = [
                past_request(&p.grid, cats[0].id, 62, 30, 24),
                past_request(&comm, cats[1].id, 61, 2, 24),
            ];
            requests::bulk::insert(c, &old, &[], &[])?;
            let nn = org::get_region_by_code(c, &Scope::everything(), "450100")?;
            Ok(Scope::subtrees(vec![nn.path]))
        })
        .unwrap();
    let now = shiliu_db::now();
    StatsHistory {
        scope,
        from: month_of(now - chrono::Duration::days(70)),
        to: month_of(now),
    }
}

/// The path of the deepest region a row of `scope` arose in: one of the grids.
fn grid_path(c: &mut DbConnection, scope: &Scope) -> String {
    shiliu_db::requests::stats::raw(c, scope)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .max_by_key(String::len)
        .unwrap()
}

/// The scopes of a grid's township, community and the grid itself.
fn scopes_down_to(grid_path: &str) -> Vec<Scope> {
    (4..=6)
        .map(|depth| {
            let end = grid_path.match_indices('/').nth(depth).unwrap().0;
            Scope::subtrees(vec![grid_path[..=end].to_string()])
        })
        .collect()
}

both_engines!(
    statistics_equal_counts_recomputed_from_the_rows,
    |t: TestDb| {
        let h = stats_history(&t);
        let mut c = t.db.conn().unwrap();
        let rows = shiliu_db::requests::stats::raw(&mut c, &h.scope).unwrap();
        assert_eq!(rows.len(), 26);
        for total in assert_figures_are_the_rows(&mut c, &h.scope, &h.from, &h.to) {
            assert_eq!(total.received, 26);
            assert_eq!(total.resolved, 14);
            assert_eq!(total.rated, 6);
            assert_eq!(
                total.on_time,
                total.resolved_with_deadline - 1,
                "the late one"
            );
        }
    }
);

both_engines!(
    townships_communities_and_grids_are_counted_from_their_rows,
    |t: TestDb| {
        let h = stats_history(&t);
        let mut c = t.db.conn().unwrap();
        // Townships keep totals; communities and grids are counted from their rows.
        let grid = grid_path(&mut c, &h.scope);
        for s in &scopes_down_to(&grid) {
            let totals = assert_figures_are_the_rows(&mut c, s, &h.from, &h.to);
            assert!(totals[0].received > 0, "{s:?}");
        }
    }
);

both_engines!(
    by_month_of_resolution_a_request_counts_where_it_was_resolved,
    |t: TestDb| {
        use shiliu_db::requests::stats::{self, Dimension, month_of};
        let h = stats_history(&t);
        let grid_path = {
            let mut c = t.db.conn().unwrap();
            grid_path(&mut c, &h.scope)
        };
        // Received two months ago and resolved 40 days later; received before the period and
        // resolved in it (95 days later); received in it and not yet resolved.
        t.db.write_blocking(|c| {
            let id = grid_path.trim_end_matches('/').rsplit('/').next().unwrap();
            let grid = org::get_region(c, &Scope::everything(), id.parse().unwrap())?;
            assert_eq!(grid.path, grid_path);
            let cat = requests::categories(c, false)?[0].id;
            let mut open = past_request(&grid, cat, 40, 0, 24);
            open.resolved_at = None;
            open.status = Status::Received.as_str().into();
            let old = [
                past_request(&grid, cat, 62, 40 * 24, 50 * 24),
                past_request(&grid, cat, 100, 95 * 24, 24),
                open,
            ];
            requests::bulk::insert(c, &old, &[], &[])
        })
        .unwrap();
        let mut c = t.db.conn().unwrap();
        let by_receipt = |c: &mut DbConnection| {
            stats::figures(c, &h.scope, &h.from, &h.to, Dimension::Month).unwrap()
        };
        let by_resolution = |c: &mut DbConnection| {
            stats::figures(c, &h.scope, &h.from, &h.to, Dimension::ResolvedMonth).unwrap()
        };
        let sum = |f: &[stats::Figures], pick: fn(&stats::Figures) -> i64| -> i64 {
            f.iter().map(pick).sum()
        };
        let (receipt, resolution) = (by_receipt(&mut c), by_resolution(&mut c));
        // The same 28 requests received either way; 15 of them resolved, and 16 resolutions
        // in the period (one of a request received before it).
        assert_eq!(sum(&receipt, |f| f.received), 28);
        assert_eq!(sum(&resolution, |f| f.received), 28);
        assert_eq!(sum(&receipt, |f| f.resolved), 15);
        assert_eq!(sum(&resolution, |f| f.resolved), 16);
        let late = month_of(shiliu_db::now() - chrono::Duration::days(5));
        assert!(resolution.iter().any(|f| f.key == late && f.resolved >= 1));
        for s in std::iter::once(&h.scope).chain(&scopes_down_to(&grid_path)) {
            assert_figures_are_the_rows(&mut c, s, &h.from, &h.to);
        }
        // Folding and counting again from the rows change nothing.
        stats::fold(&mut c).unwrap();
        assert_eq!(by_resolution(&mut c), resolution);
        stats::rebuild(&mut c).unwrap();
        assert_eq!(by_resolution(&mut c), resolution);
        assert_eq!(by_receipt(&mut c), receipt);
    }
);

both_engines!(
    a_citys_statistics_by_region_are_its_one_district,
    |t: TestDb| {
        use shiliu_db::requests::stats::{self, Dimension};
        let h = stats_history(&t);
        let mut c = t.db.conn().unwrap();
        let by_region =
            stats::figures(&mut c, &h.scope, &h.from, &h.to, Dimension::Region).unwrap();
        assert_eq!(by_region.len(), 1, "one district: {by_region:?}");
    }
);

both_engines!(
    the_figures_by_region_and_month_are_each_months_figures_by_region,
    |t: TestDb| {
        use shiliu_db::requests::stats::{self, Dimension};
        let h = stats_history(&t);
        let mut c = t.db.conn().unwrap();
        // Before the journal is folded and after: the same as a read per month.
        for fold in [false, true] {
            if fold {
                while stats::fold(&mut c).unwrap() > 0 {}
            }
            for scope in [h.scope.clone(), Scope::everything()] {
                let months = stats::by_region_and_month(&mut c, &scope, &h.from, &h.to).unwrap();
                let mut seen = 0;
                for (month, rows) in &months {
                    let one =
                        stats::figures(&mut c, &scope, month, month, Dimension::Region).unwrap();
                    assert_eq!(rows, &one, "{month}");
                    seen += rows.iter().map(|f| f.received).sum::<i64>();
                }
                let all = stats::figures(&mut c, &scope, &h.from, &h.to, Dimension::Month).unwrap();
                assert_eq!(seen, all.iter().map(|f| f.received).sum::<i64>());
                assert!(seen > 0);
                assert_eq!(
                    months.keys().collect::<Vec<_>>(),
                    all.iter().map(|f| &f.key).collect::<Vec<_>>(),
                    "the months with any"
                );
            }
        }
    }
);

both_engines!(
    statistics_from_a_month_after_the_history_leave_it_out,
    |t: TestDb| {
        use shiliu_db::requests::stats::{self, Dimension, month_of};
        let h = stats_history(&t);
        let mut c = t.db.conn().unwrap();
        // The months before the history leave it out.
        let recent = stats::figures(
            &mut c,
            &h.scope,
            &month_of(shiliu_db::now()),
            &h.to,
            Dimension::Month,
        )
        .unwrap();
        assert_eq!(recent.iter().map(|f| f.received).sum::<i64>(), 24);
    }
);

both_engines!(a_grids_scope_sees_its_own_statistics, |t: TestDb| {
    use shiliu_db::requests::stats::{self, Dimension};
    let h = stats_history(&t);
    let mut c = t.db.conn().unwrap();
    let rows = stats::raw(&mut c, &h.scope).unwrap();
    let grid_path = grid_path(&mut c, &h.scope);
    let grid = Scope::subtrees(vec![grid_path.clone()]);
    let mine = rows.iter().filter(|(p, _)| *p == grid_path).count() as i64;
    let got = stats::figures(&mut c, &grid, &h.from, &h.to, Dimension::Region).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].key.as_str(), got[0].received),
        (grid_path.as_str(), mine)
    );
});

both_engines!(
    folding_the_journal_folds_each_row_once_and_changes_no_figure,
    |t: TestDb| {
        use shiliu_db::requests::stats::{self, Dimension};
        let h = stats_history(&t);
        let mut c = t.db.conn().unwrap();
        let before = stats::figures(&mut c, &h.scope, &h.from, &h.to, Dimension::Site).unwrap();
        // Folding the journal into the totals changes no figure, and folds each row once.
        assert!(
            stats::fold(&mut c).unwrap() > 0,
            "the steps were journalled"
        );
        assert_eq!(stats::fold(&mut c).unwrap(), 0);
        assert_eq!(
            stats::figures(&mut c, &h.scope, &h.from, &h.to, Dimension::Site).unwrap(),
            before
        );
    }
);

both_engines!(
    clearing_the_dead_rows_the_fold_left_changes_no_figure,
    |t: TestDb| {
        use shiliu_db::requests::stats::{self, Dimension};
        let h = stats_history(&t);
        let mut c = t.db.conn().unwrap();
        let before = stats::figures(&mut c, &h.scope, &h.from, &h.to, Dimension::Site).unwrap();
        stats::fold(&mut c).unwrap();
        // Clearing the dead rows the fold left (PostgreSQL's VACUUM) changes nothing either.
        stats::clear_dead_rows(&mut c, true).unwrap();
        for s in &scopes_down_to(&grid_path(&mut c, &h.scope)) {
            assert_figures_are_the_rows(&mut c, s, &h.from, &h.to);
        }
        assert_eq!(
            stats::figures(&mut c, &h.scope, &h.from, &h.to, Dimension::Site).unwrap(),
            before
        );
    }
);

both_engines!(
    counting_everything_again_from_the_rows_gives_the_same_tallies,
    |t: TestDb| {
        use shiliu_db::requests::stats::{self, Dimension};
        let h = stats_history(&t);
        let mut c = t.db.conn().unwrap();
        let before = stats::figures(&mut c, &h.scope, &h.from, &h.to, Dimension::Site).unwrap();
        stats::fold(&mut c).unwrap();
        stats::clear_dead_rows(&mut c, true).unwrap();
        stats::rebuild(&mut c).unwrap();
        assert_eq!(
            stats::figures(&mut c, &h.scope, &h.from, &h.to, Dimension::Site).unwrap(),
            before
        );
    }
);

both_engines!(
    another_citys_scope_sees_none_of_the_statistics,
    |t: TestDb| {
        use shiliu_db::requests::stats::{self, Dimension};
        let h = stats_history(&t);
        let mut c = t.db.conn().unwrap();
        let lz = Scope::subtrees(vec![
            org::get_region_by_code(&mut c, &Scope::everything(), "450200")
                .unwrap()
                .path,
        ]);
        assert!(
            stats::figures(&mut c, &lz, &h.from, &h.to, Dimension::Category)
                .unwrap()
                .is_empty()
        );
    }
);

both_engines!(
    the_systems_whole_tree_sees_all_the_statistics,
    |t: TestDb| {
        use shiliu_db::requests::stats::{self, Dimension};
        let h = stats_history(&t);
        let mut c = t.db.conn().unwrap();
        let all = stats::figures(
            &mut c,
            &Scope::everything(),
            &h.from,
            &h.to,
            Dimension::Channel,
        )
        .unwrap();
        assert_eq!(all.iter().map(|f| f.received).sum::<i64>(), 26);
    }
);

#[test]
fn a_rate_is_in_thousandths_and_there_is_none_of_nothing() {
    use shiliu_db::requests::stats::Figures;
    assert_eq!(Figures::rate(94, 100), Some(940));
    assert_eq!(Figures::rate(1, 0), None);
}

#[test]
fn deadlines_count_local_working_hours() {
    let cal = shiliu_domain::calendar::WorkCalendar::default();
    let at = |d: u32, h: u32, m: u32| {
        chrono::NaiveDate::from_ymd_opt(2026, 11, d)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    };
    // Received Monday 08:30 in Nanning = 00:30 UTC; one working day later is 17:30 local = 09:30 UTC.
    assert_eq!(requests::deadline(&cal, at(23, 0, 30), 390), at(23, 9, 30));
    // Received Friday 18:00 local (10:00 UTC): the clock starts Monday 08:30 local.
    assert_eq!(requests::deadline(&cal, at(20, 10, 0), 60), at(23, 1, 30));
}

/// A community in 西乡塘区 and two sites of the district with a rule each: rule 1, legal help
/// anywhere in 西乡塘区 → the studio; rule 2, keyword 押金 → mediation.
struct TwoRules {
    place: Place,
    legal: i64,
    mediation: i64,
    rent: requests::Category,
    legal_cat: requests::Category,
}

fn two_routing_rules(t: &TestDb) -> TwoRules {
    use shiliu_db::requests::routing::{self, NewRule};
    let sys = Actor::system("test");
    t.db.write_blocking(|c| {
        let place = place(c, "450107001", "规则");
        let all = Scope::everything();
        let xxt = org::get_region_by_code(c, &all, "450107")?;
        let legal = org::create_site(
            c,
            &sys,
            xxt.id,
            &SiteInput::parse("红石榴法律工作室", "legal_aid", "", "", "", "").unwrap(),
        )?;
        let mediation = org::create_site(
            c,
            &sys,
            xxt.id,
            &SiteInput::parse("联合调解室", "mediation", "", "", "", "").unwrap(),
        )?;
        let rent = category(c, "renting");
        let legal_cat = category(c, "legal_aid");
        routing::create(
            c,
            &sys,
            &NewRule {
                category_id: Some(legal_cat.id),
                region_id: Some(xxt.id),
                keywords: vec![],
                site_id: Some(legal.id),
                unit_id: None,
            },
        )?;
        routing::create(
            c,
            &sys,
            &NewRule {
                category_id: None,
                region_id: None,
                keywords: vec!["押金".into()],
                site_id: Some(mediation.id),
                unit_id: None,
            },
        )?;
        Ok(TwoRules {
            place,
            legal: legal.id,
            mediation: mediation.id,
            rent,
            legal_cat,
        })
    })
    .unwrap()
}

/// A hotline request of `category_id` taken in in the rules' community.
fn routed(t: &TestDb, rules: &TwoRules, category_id: i64, text: &str) -> requests::Request {
    let input = RequestInput::parse(Channel::Hotline, text, "", "", "", false).unwrap();
    t.db.write_blocking(|c| {
        requests::create(
            c,
            &Actor::system("test"),
            &input,
            category_id,
            rules.place.grid.id,
            None,
        )
    })
    .unwrap()
}

both_engines!(
    the_first_rule_that_holds_routes_and_is_named_as_the_reason,
    |t: TestDb| {
        let rules = two_routing_rules(&t);
        let a = routed(&t, &rules, rules.legal_cat.id, "被拖欠工资想起诉");
        assert_eq!(a.site_id, Some(rules.legal));
        let reason: serde_json::Value = serde_json::from_str(&a.routed_by).unwrap();
        assert_eq!(
            (
                reason["how"].as_str(),
                reason["rule"].as_i64(),
                reason["region"].as_str()
            ),
            (Some("rule"), Some(1), Some("西乡塘区"))
        );
    }
);

both_engines!(a_rule_routes_by_a_keyword_of_the_text, |t: TestDb| {
    let rules = two_routing_rules(&t);
    let b = routed(&t, &rules, rules.rent.id, "房东不退押金");
    assert_eq!(b.site_id, Some(rules.mediation), "rule 2 by keyword");
});

both_engines!(where_no_rule_holds_the_default_rule_routes, |t: TestDb| {
    let rules = two_routing_rules(&t);
    let d = routed(&t, &rules, rules.rent.id, "想找便宜的房子");
    assert_eq!(
        d.site_id,
        Some(rules.place.community_site),
        "no rule holds: the default rule"
    );
});

both_engines!(a_rule_switched_off_no_longer_routes, |t: TestDb| {
    use shiliu_db::requests::routing;
    let rules = two_routing_rules(&t);
    t.db.write_blocking(|c| {
        let listed = routing::list(c)?;
        routing::set_active(c, &Actor::system("test"), listed[1].id, false)
    })
    .unwrap();
    assert_eq!(
        routed(&t, &rules, rules.rent.id, "押金问题").site_id,
        Some(rules.place.community_site)
    );
});

both_engines!(a_routing_rule_needs_exactly_one_target, |t: TestDb| {
    use shiliu_db::requests::routing::{self, NewRule};
    let e = t.db.write_blocking(|c| {
        routing::create(
            c,
            &Actor::system("test"),
            &NewRule {
                category_id: None,
                region_id: None,
                keywords: vec![],
                site_id: None,
                unit_id: None,
            },
        )
    });
    assert!(matches!(e, Err(DbError::Invalid(_))));
});

// Intake keeps its configuration in memory between transactions; each change must reach the
// next transaction, and a change rolled back must not.

/// A community, the catch-all category and a mediation site of the district a rule may send
/// it to; intake has read its configuration once, for a request routed by default.
struct Configured {
    place: Place,
    other: requests::Category,
    target: i64,
}

fn intake_configured_once(t: &TestDb) -> Configured {
    let sys = Actor::system("test");
    let (place, other, target) =
        t.db.write_blocking(|c| {
            let xxt = org::get_region_by_code(c, &Scope::everything(), "450107")?;
            let target = org::create_site(
                c,
                &sys,
                xxt.id,
                &SiteInput::parse("缓存调解室", "mediation", "", "", "", "").unwrap(),
            )?;
            Ok((place(c, "450107001", "缓存"), category(c, "other"), target))
        })
        .unwrap();
    let w = Configured {
        place,
        other,
        target: target.id,
    };
    assert_eq!(
        taken_in(t, &w, "第一件").unwrap().site_id,
        Some(w.place.community_site)
    );
    w
}

fn taken_in(t: &TestDb, w: &Configured, text: &str) -> Result<requests::Request, DbError> {
    let input = RequestInput::parse(Channel::Hotline, text, "", "", "", false).unwrap();
    t.db.write_blocking(|c| {
        requests::create(
            c,
            &Actor::system("test"),
            &input,
            w.other.id,
            w.place.grid.id,
            None,
        )
    })
}

fn rule_to_target(w: &Configured) -> shiliu_db::requests::routing::NewRule {
    shiliu_db::requests::routing::NewRule {
        category_id: Some(w.other.id),
        region_id: None,
        keywords: vec![],
        site_id: Some(w.target),
        unit_id: None,
    }
}

fn service_level(
    other: &requests::Category,
    hours: &str,
) -> shiliu_domain::requests::CategoryInput {
    shiliu_domain::requests::CategoryInput::parse(
        "other",
        &other.name,
        &other.name_en,
        hours,
        "hours",
        480,
    )
    .unwrap()
}

both_engines!(
    a_rule_rolled_back_routes_only_in_its_own_transaction,
    |t: TestDb| {
        use shiliu_db::requests::routing;
        let w = intake_configured_once(&t);
        let sys = Actor::system("test");
        let rolled_back = t.db.write_blocking(|c| {
            routing::create(c, &sys, &rule_to_target(&w))?;
            let input = RequestInput::parse(Channel::Hotline, "同一事务", "", "", "", false)?;
            let r = requests::create(c, &sys, &input, w.other.id, w.place.grid.id, None)?;
            assert_eq!(r.site_id, Some(w.target), "its own transaction's rule");
            Err::<(), _>(DbError::Stale)
        });
        assert!(matches!(rolled_back, Err(DbError::Stale)));
        assert_eq!(
            taken_in(&t, &w, "回滚之后").unwrap().site_id,
            Some(w.place.community_site),
            "the rolled-back rule routes nothing"
        );
    }
);

both_engines!(a_committed_rule_routes_the_next_intake, |t: TestDb| {
    use shiliu_db::requests::routing;
    let w = intake_configured_once(&t);
    t.db.write_blocking(|c| routing::create(c, &Actor::system("test"), &rule_to_target(&w)))
        .unwrap();
    assert_eq!(
        taken_in(&t, &w, "规则之后").unwrap().site_id,
        Some(w.target)
    );
});

both_engines!(
    the_next_deadline_follows_a_changed_service_level,
    |t: TestDb| {
        let w = intake_configured_once(&t);
        let sys = Actor::system("test");
        // A service level changed: the next deadline follows it.
        t.db.write_blocking(|c| {
            let input = service_level(&w.other, "1");
            requests::update_category(c, &sys, w.other.id, w.other.version, &input, true)
        })
        .unwrap();
        let r = taken_in(&t, &w, "一小时").unwrap();
        let expected =
            t.db.write_blocking(|c| {
                Ok(requests::deadline(
                    &requests::calendar(c)?,
                    r.received_at,
                    60,
                ))
            })
            .unwrap();
        assert_eq!(r.due_at, Some(expected));
    }
);

both_engines!(a_category_switched_off_is_refused_at_once, |t: TestDb| {
    let w = intake_configured_once(&t);
    let sys = Actor::system("test");
    // Switched off: refused.
    t.db.write_blocking(|c| {
        let input = service_level(&w.other, "1");
        requests::update_category(c, &sys, w.other.id, w.other.version, &input, false)
    })
    .unwrap();
    assert!(matches!(
        taken_in(&t, &w, "停用之后"),
        Err(DbError::Invalid(_))
    ));
});

both_engines!(
    routing_rules_stay_inside_their_authors_scope,
    |t: TestDb| {
        use shiliu_db::requests::routing::{self, NewRule};
        t.db.write_blocking(|c| {
            let all = Scope::everything();
            let sys = Actor::system("test");
            let lz_place = place(c, "450202001", "柳州规则");
            let nn = org::get_region_by_code(c, &all, "450100")?;
            let nn_site = org::create_site(
                c,
                &sys,
                nn.id,
                &SiteInput::parse("南宁分流站", "other", "", "", "", "").unwrap(),
            )?;
            let nn_staff = Actor::system_within("nn", Scope::subtrees(vec![nn.path.clone()]));
            // A rule with no region from Nanning staff covers Nanning only.
            let rule = routing::create(
                c,
                &nn_staff,
                &NewRule {
                    category_id: None,
                    region_id: None,
                    keywords: vec![],
                    site_id: Some(nn_site.id),
                    unit_id: None,
                },
            )?;
            assert_eq!(rule.region_id, Some(nn.id));
            let input =
                RequestInput::parse(Channel::Hotline, "柳州的诉求", "", "", "", false).unwrap();
            let other = category(c, "other");
            let r = requests::create(c, &sys, &input, other.id, lz_place.grid.id, None)?;
            assert_eq!(
                r.site_id,
                Some(lz_place.community_site),
                "Liuzhou's request is not diverted to Nanning"
            );
            // Liuzhou staff neither see nor switch off Nanning's rule.
            let lz = org::get_region_by_code(c, &all, "450200")?;
            let lz_staff = Actor::system_within("lz", Scope::subtrees(vec![lz.path]));
            assert!(routing::list_in_scope(c, lz_staff.scope())?.is_empty());
            assert!(matches!(
                routing::set_active(c, &lz_staff, rule.id, false),
                Err(DbError::NotFound)
            ));
            assert_eq!(routing::list_in_scope(c, nn_staff.scope())?.len(), 1);
            Ok(())
        })
        .unwrap();
    }
);

/// A community, and the school-places category asking two extra questions: the child's age
/// (a number, required) and the school stage (a choice of several, optional).
struct SchoolQuestions {
    place: Place,
    school: requests::Category,
    stage: requests::questions::QuestionRow,
}

fn school_questions(t: &TestDb) -> SchoolQuestions {
    use shiliu_db::requests::questions as q;
    use shiliu_domain::requests::questions::QuestionInput;
    let sys = Actor::system("test");
    t.db.write_blocking(|c| {
        let place = place(c, "450107001", "长岗");
        let school = category(c, "school_places");
        q::create_question(
            c,
            &sys,
            school.id,
            &QuestionInput::parse("age", "子女年龄", "", "number", true, "").unwrap(),
        )?;
        let stage = q::create_question(
            c,
            &sys,
            school.id,
            &QuestionInput::parse(
                "stage",
                "学段",
                "",
                "multi",
                false,
                "primary=小学\njunior=初中",
            )
            .unwrap(),
        )?;
        Ok(SchoolQuestions {
            place,
            school,
            stage,
        })
    })
    .unwrap()
}

/// A request about a school place with these answers to the extra questions.
fn school_request(answers: &[(&str, &[&str])]) -> RequestInput {
    use shiliu_domain::requests::questions::RawAnswers;
    let raw: RawAnswers = answers
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_string(),
                v.iter().map(|s| (*s).to_string()).collect(),
            )
        })
        .collect();
    RequestInput::parse(Channel::Hotline, "孩子想转学", "", "", "", false)
        .unwrap()
        .with_answers(raw)
}

fn request_count(t: &TestDb) -> usize {
    t.db.write_blocking(|c| {
        requests::list(
            c,
            &Scope::everything(),
            &requests::RequestFilter::default(),
            1000,
        )
    })
    .unwrap()
    .len()
}

both_engines!(a_question_code_is_taken_once_in_a_category, |t: TestDb| {
    use shiliu_domain::requests::questions::QuestionInput;
    let s = school_questions(&t);
    let dup = t.db.write_blocking(|c| {
        requests::questions::create_question(
            c,
            &Actor::system("test"),
            s.school.id,
            &QuestionInput::parse("age", "年龄", "", "text", false, "").unwrap(),
        )
    });
    assert!(matches!(dup, Err(DbError::Invalid(e)) if e.0[0].field == "code"));
});

both_engines!(a_questions_kind_never_changes, |t: TestDb| {
    use shiliu_domain::requests::questions::QuestionInput;
    let s = school_questions(&t);
    let retype = t.db.write_blocking(|c| {
        requests::questions::update_question(
            c,
            &Actor::system("test"),
            s.stage.id,
            s.stage.version,
            &QuestionInput::parse("stage", "学段", "", "text", false, "").unwrap(),
            true,
            5,
        )
    });
    assert!(matches!(retype, Err(DbError::Invalid(e)) if e.0[0].field == "kind"));
});

both_engines!(
    answers_missing_or_not_offered_are_refused_by_question_and_nothing_kept,
    |t: TestDb| {
        let s = school_questions(&t);
        let before = request_count(&t);
        let e =
            t.db.write_blocking(|c| {
                requests::create(
                    c,
                    &Actor::system("test"),
                    &school_request(&[("stage", &["college"])]),
                    s.school.id,
                    s.place.grid.id,
                    None,
                )
            })
            .unwrap_err();
        let DbError::Invalid(e) = e else {
            panic!("{e:?}")
        };
        let got: Vec<(&str, &str)> = e.0.iter().map(|x| (x.field.as_str(), x.reason)).collect();
        assert_eq!(
            got,
            [
                ("answer.age", "err.required"),
                ("answer.stage", "err.choice")
            ]
        );
        assert_eq!(request_count(&t), before);
    }
);

both_engines!(
    answers_are_kept_canonical_and_read_back_in_the_questions_order,
    |t: TestDb| {
        let s = school_questions(&t);
        let answers =
            t.db.write_blocking(|c| {
                let r = requests::create(
                    c,
                    &Actor::system("test"),
                    &school_request(&[("age", &["7"]), ("stage", &["junior", "primary"])]),
                    s.school.id,
                    s.place.grid.id,
                    None,
                )?;
                requests::questions::answers(c, &r)
            })
            .unwrap();
        let got: Vec<(&str, &str)> = answers
            .iter()
            .map(|(q, v)| (q.code.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, [("age", "7"), ("stage", "primary,junior")]);
        assert_eq!(answers[1].0.id, s.stage.id);
    }
);

both_engines!(
    a_question_no_longer_asked_is_no_longer_required,
    |t: TestDb| {
        use shiliu_db::requests::questions as q;
        use shiliu_domain::requests::questions::QuestionInput;
        let s = school_questions(&t);
        let sys = Actor::system("test");
        // A question no longer asked is no longer required or accepted.
        t.db.write_blocking(|c| {
            let age = q::questions(c, Some(s.school.id), false)?
                .into_iter()
                .find(|x| x.code == "age")
                .unwrap();
            q::update_question(
                c,
                &sys,
                age.id,
                age.version,
                &QuestionInput::parse("age", "子女年龄", "", "number", true, "").unwrap(),
                false,
                1,
            )?;
            requests::create(
                c,
                &sys,
                &school_request(&[]),
                s.school.id,
                s.place.grid.id,
                None,
            )
        })
        .unwrap();
    }
);

both_engines!(
    reply_templates_are_the_categorys_own_then_those_for_every_category,
    |t: TestDb| {
        use shiliu_db::requests::questions as q;
        use shiliu_domain::requests::ReplyTemplateInput;
        let sys = Actor::system("test");
        t.db.write_blocking(|c| {
            let school = category(c, "school_places");
            q::create_reply_template(
                c,
                &sys,
                None,
                &ReplyTemplateInput::parse("通用", "已办理").unwrap(),
            )?;
            q::create_reply_template(
                c,
                &sys,
                Some(school.id),
                &ReplyTemplateInput::parse("学位", "已协调学位").unwrap(),
            )?;
            let titles: Vec<String> = q::reply_templates(c, Some(school.id), false)?
                .into_iter()
                .map(|x| x.title)
                .collect();
            assert_eq!(titles, ["学位", "通用"]);
            let other = category(c, "renting");
            assert_eq!(q::reply_templates(c, Some(other.id), false)?.len(), 1);
            Ok(())
        })
        .unwrap();
    }
);

/// Two requests in a Nanning grid (a rent dispute with the contact's name, a school place)
/// and, taken in last, a rent dispute in a Liuzhou grid.
struct Searchable {
    a: requests::Request,
    b: requests::Request,
    far: requests::Request,
    nn_grid: Region,
}

fn searchable_requests(t: &TestDb) -> Searchable {
    let (nn_grid, lz_grid, other) =
        t.db.write_blocking(|c| {
            let nn = place(c, "450107001", "秀厢");
            let lz = place(c, "450202001", "柳北");
            Ok((nn.grid, lz.grid, category(c, "other")))
        })
        .unwrap();
    let make = |grid: &Region, text: &str, name: &str| {
        let input =
            RequestInput::parse(Channel::Hotline, text, "秀厢大道", name, "", false).unwrap();
        let g = grid.id;
        let cat = other.id;
        t.db.write_blocking(move |c| {
            requests::create(c, &Actor::system("test"), &input, cat, g, None)
        })
        .unwrap()
    };
    Searchable {
        a: make(&nn_grid, "和房东发生租房纠纷，押金不退", "黄秀英"),
        b: make(&nn_grid, "孩子想转学到附近小学", ""),
        far: make(&lz_grid, "租房合同到期，房东涨价", ""),
        nn_grid,
    }
}

/// The ids of the requests a search for `q` finds in `scope`.
fn search(t: &TestDb, scope: &Scope, q: &str) -> Vec<i64> {
    let f = requests::RequestFilter {
        text: Some(q.to_string()),
        ..requests::RequestFilter::default()
    };
    let scope = scope.clone();
    t.db.write_blocking(move |c| requests::list(c, &scope, &f, 50))
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn school_place_found() -> StepInput {
    StepInput {
        action_input: ActionInput {
            outcome: Some(Outcome::Solved),
            reply: Some("已协调学位，请九月到校报到".into()),
            ..ActionInput::default()
        },
        ..StepInput::default()
    }
}

/// The school-place request returned with a note, sent again, accepted and resolved with a
/// reply.
fn school_place_request_handled(t: &TestDb, b: &requests::Request) {
    steps(
        t,
        b.id,
        vec![
            (Action::Dispatch, StepInput::default()),
            (Action::Return, with_reason("需转交司法所调解")),
            (Action::Dispatch, StepInput::default()),
            (Action::Accept, StepInput::default()),
            (Action::Resolve, school_place_found()),
        ],
    );
}

both_engines!(
    chinese_words_are_found_newest_first_and_every_word_must_match,
    |t: TestDb| {
        let s = searchable_requests(&t);
        let all = Scope::everything();
        // 租房 finds 租房纠纷 (and 租房合同), newest first; every word must match.
        assert_eq!(search(&t, &all, "租房"), [s.far.id, s.a.id]);
        assert_eq!(search(&t, &all, "租房 押金"), [s.a.id]);
        assert_eq!(search(&t, &all, "押金不退"), [s.a.id]);
        assert_eq!(search(&t, &all, "小学"), [s.b.id]);
        assert!(search(&t, &all, "社保").is_empty());
    }
);

both_engines!(contact_names_and_codes_are_found, |t: TestDb| {
    let s = searchable_requests(&t);
    let all = Scope::everything();
    assert_eq!(
        search(&t, &all, "黄秀英"),
        [s.a.id],
        "contact names are found"
    );
    assert_eq!(
        search(&t, &all, &s.a.code.to_lowercase()),
        [s.a.id],
        "and codes"
    );
});

both_engines!(punctuation_alone_finds_nothing, |t: TestDb| {
    searchable_requests(&t);
    assert!(
        search(&t, &Scope::everything(), "，。").is_empty(),
        "punctuation alone finds nothing"
    );
});

both_engines!(a_search_keeps_to_the_callers_scope, |t: TestDb| {
    let s = searchable_requests(&t);
    // The caller's scope still applies.
    let nn_scope = Scope::subtrees(vec![s.nn_grid.path.clone()]);
    assert_eq!(search(&t, &nn_scope, "租房"), [s.a.id]);
});

both_engines!(
    handlers_notes_and_the_reply_become_searchable_as_they_are_written,
    |t: TestDb| {
        let s = searchable_requests(&t);
        let all = Scope::everything();
        let b = s.b.id;
        step(&t, b, Action::Dispatch, StepInput::default()).unwrap();
        step(&t, b, Action::Return, with_reason("需转交司法所调解")).unwrap();
        assert_eq!(search(&t, &all, "司法所"), [b]);
        step(&t, b, Action::Dispatch, StepInput::default()).unwrap();
        step(&t, b, Action::Accept, StepInput::default()).unwrap();
        step(&t, b, Action::Resolve, school_place_found()).unwrap();
        assert_eq!(search(&t, &all, "学位"), [b]);
        assert_eq!(search(&t, &all, "司法所"), [b], "earlier notes stay");
    }
);

both_engines!(a_lost_search_index_is_rebuilt_from_the_rows, |t: TestDb| {
    let s = searchable_requests(&t);
    school_place_request_handled(&t, &s.b);
    let all = Scope::everything();
    // An index lost (or a database from before it existed) is rebuilt from the rows.
    let rebuilt =
        t.db.write_blocking(|c| {
            let delete = format!(
                "DELETE FROM request_search WHERE {} IN ({}, {})",
                if t.engine() == shiliu_db::Engine::Sqlite {
                    "rowid"
                } else {
                    "request_id"
                },
                s.a.id,
                s.b.id
            );
            shiliu_db::on_engine!(c, |c| diesel::sql_query(&delete).execute(c))?;
            requests::search::backfill(c)
        })
        .unwrap();
    assert_eq!(rebuilt, 2);
    assert_eq!(search(&t, &all, "押金"), [s.a.id]);
    assert_eq!(
        search(&t, &all, "司法所"),
        [s.b.id],
        "with the notes of its history"
    );
    assert_eq!(search(&t, &all, "租房"), [s.far.id, s.a.id]);
});

both_engines!(
    search_finds_few_matches_among_many_outside_the_scope,
    |t: TestDb| {
        // 6,000 matches in one city, one in a grid of another, older than all of them: the
        // index's newest-first chunks hold nothing in the narrow scope until the last.
        let (template, nn_grid, lz_grid) =
            t.db.write_blocking(|c| {
                let nn = place(c, "450107001", "秀厢");
                let lz = place(c, "450202001", "柳北");
                let other = category(c, "other");
                let input =
                    RequestInput::parse(Channel::Hotline, "租房押金纠纷", "", "", "", false)
                        .unwrap();
                let r = requests::create(
                    c,
                    &Actor::system("test"),
                    &input,
                    other.id,
                    lz.grid.id,
                    None,
                )?;
                Ok((r, nn.grid, lz.grid))
            })
            .unwrap();
        let base = template.received_at;
        let rows: Vec<requests::Request> = (0..6000)
            .map(|i| requests::Request {
                id: shiliu_db::ids::id_at(base + chrono::Duration::seconds(i + 1), 1),
                code: format!("BULK{i:06}"),
                region_id: nn_grid.id,
                region_path: nn_grid.path.clone(),
                ..template.clone()
            })
            .collect();
        let terms: Vec<(i64, String)> = rows
            .iter()
            .map(|r| (r.id, requests::search::index_terms("租房押金纠纷")))
            .collect();
        t.db.write_blocking(|c| requests::bulk::insert(c, &rows, &[], &terms))
            .unwrap();
        let search = |scope: Scope, before: Option<i64>| {
            let f = requests::RequestFilter {
                text: Some("租房".into()),
                before_id: before,
                ..requests::RequestFilter::default()
            };
            t.db.write_blocking(move |c| requests::list(c, &scope, &f, 50))
                .unwrap()
        };
        let narrow = search(Scope::subtrees(vec![lz_grid.path.clone()]), None);
        assert_eq!(
            narrow.iter().map(|r| r.id).collect::<Vec<_>>(),
            [template.id]
        );
        // A broad scope pages through the matches newest first without gaps or repeats.
        let first = search(Scope::everything(), None);
        assert_eq!(first.len(), 50);
        assert_eq!(first[0].id, rows[5999].id);
        let second = search(Scope::everything(), Some(first[49].id));
        assert_eq!(second[0].id, rows[5949].id);
        assert!(
            first
                .windows(2)
                .chain(second.windows(2))
                .all(|w| w[0].id > w[1].id)
        );
    }
);

/// A new open request about unpaid wages taken in in a Nanning grid, 3,000 newer ones like it,
/// then 120 older ones that differ in status, channel, category, region and site (the bulk
/// loader writes those): every row here has the words.
struct Wages {
    fresh: requests::Request,
    nn: Place,
    lz: Place,
    legal: requests::Category,
}

fn wage_requests(t: &TestDb) -> Wages {
    let (fresh, nn, lz, legal) =
        t.db.write_blocking(|c| {
            let nn = place(c, "450107001", "秀厢");
            let lz = place(c, "450202001", "柳北");
            let other = category(c, "other");
            let input =
                RequestInput::parse(Channel::Hotline, "拖欠工资三个月", "", "", "", false).unwrap();
            let r = requests::create(
                c,
                &Actor::system("test"),
                &input,
                other.id,
                nn.grid.id,
                None,
            )?;
            Ok((r, nn, lz, category(c, "legal_aid")))
        })
        .unwrap();
    let base = fresh.received_at;
    let mut rows: Vec<requests::Request> = (0..3000)
        .map(|i| requests::Request {
            id: shiliu_db::ids::id_at(base + chrono::Duration::seconds(i + 1), 1),
            code: format!("NEW{i:06}"),
            ..fresh.clone()
        })
        .collect();
    rows.extend((0..120).map(|i| {
        let far = i % 3 == 0;
        let grid = if far { &lz.grid } else { &nn.grid };
        requests::Request {
            id: shiliu_db::ids::id_at(base - chrono::Duration::days(1 + i), 1),
            code: format!("OLD{i:06}"),
            status: if i % 2 == 0 { "closed" } else { "in_progress" }.into(),
            channel: if i % 4 == 0 { "walk_in" } else { "hotline" }.into(),
            category_id: if i % 5 == 0 {
                legal.id
            } else {
                fresh.category_id
            },
            region_id: grid.id,
            region_path: grid.path.clone(),
            site_id: Some(if far {
                lz.community_site
            } else {
                nn.community_site
            }),
            ..fresh.clone()
        }
    }));
    let terms: Vec<(i64, String)> = rows
        .iter()
        .map(|r| (r.id, requests::search::index_terms("拖欠工资三个月")))
        .collect();
    t.db.write_blocking(|c| requests::bulk::insert(c, &rows, &[], &terms))
        .unwrap();
    Wages {
        fresh,
        nn,
        lz,
        legal,
    }
}

/// The ids of a page of 20 the list gives in `scope` with the filter `f`.
fn listed(t: &TestDb, scope: &Scope, f: &requests::RequestFilter) -> Vec<i64> {
    let (scope, f) = (scope.clone(), f.clone());
    t.db.write_blocking(move |c| requests::list(c, &scope, &f, 20))
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// A filtered search in `scope` finds what the plain list with the same filters finds, page
/// after page, for filters of each kind.
fn assert_filtered_searches_are_the_list(t: &TestDb, w: &Wages, scope: &Scope) {
    let plain = requests::RequestFilter::default;
    let filters = [
        requests::RequestFilter {
            status: Some(Status::Closed),
            ..plain()
        },
        requests::RequestFilter {
            open: Some(false),
            ..plain()
        },
        requests::RequestFilter {
            status: Some(Status::InProgress),
            channel: Some(Channel::WalkIn),
            ..plain()
        },
        requests::RequestFilter {
            category_ids: vec![w.legal.id],
            ..plain()
        },
        requests::RequestFilter {
            region_path: Some(w.lz.grid.path.clone()),
            ..plain()
        },
        requests::RequestFilter {
            site_id: Some(w.nn.community_site),
            status: Some(Status::Closed),
            ..plain()
        },
    ];
    for f in &filters {
        let mut before = None;
        loop {
            let want = listed(
                t,
                scope,
                &requests::RequestFilter {
                    before_id: before,
                    ..f.clone()
                },
            );
            let found = listed(
                t,
                scope,
                &requests::RequestFilter {
                    text: Some("拖欠工资".into()),
                    before_id: before,
                    ..f.clone()
                },
            );
            assert_eq!(found, want, "{f:?} in {scope:?}");
            match want.last() {
                Some(&last) if want.len() == 20 => before = Some(last),
                _ => break,
            }
        }
    }
}

both_engines!(
    filtered_searches_find_what_the_filtered_list_finds,
    |t: TestDb| {
        let w = wage_requests(&t);
        assert_filtered_searches_are_the_list(&t, &w, &Scope::everything());
    }
);

both_engines!(
    filtered_searches_in_a_narrow_scope_find_what_its_filtered_list_finds,
    |t: TestDb| {
        let w = wage_requests(&t);
        assert_filtered_searches_are_the_list(
            &t,
            &w,
            &Scope::subtrees(vec![w.lz.grid.path.clone()]),
        );
    }
);

both_engines!(
    a_filtered_search_reaches_older_rows_past_newer_ones_that_differ,
    |t: TestDb| {
        let _ = wage_requests(&t);
        assert_eq!(
            listed(
                &t,
                &Scope::everything(),
                &requests::RequestFilter {
                    text: Some("拖欠工资".into()),
                    status: Some(Status::Closed),
                    ..requests::RequestFilter::default()
                }
            )
            .len(),
            20
        );
    }
);

both_engines!(
    a_step_moves_the_search_entry_to_the_new_status_at_once,
    |t: TestDb| {
        let w = wage_requests(&t);
        // A step moves the request's entry to its new status in the same transaction.
        step(&t, w.fresh.id, Action::Dispatch, StepInput::default()).unwrap();
        let dispatched = requests::RequestFilter {
            text: Some("拖欠工资".into()),
            status: Some(Status::Dispatched),
            ..requests::RequestFilter::default()
        };
        assert_eq!(listed(&t, &Scope::everything(), &dispatched), [w.fresh.id]);
        let received = requests::RequestFilter {
            status: Some(Status::Received),
            ..dispatched
        };
        assert!(!listed(&t, &Scope::everything(), &received).contains(&w.fresh.id));
    }
);

/// A rent dispute taken in this week in a Nanning grid.
fn rent_dispute_this_week(t: &TestDb) -> requests::Request {
    t.db.write_blocking(|c| {
        let nn = place(c, "450107001", "秀厢");
        let other = category(c, "other");
        let input =
            RequestInput::parse(Channel::Hotline, "租房押金纠纷", "", "", "", false).unwrap();
        requests::create(
            c,
            &Actor::system("test"),
            &input,
            other.id,
            nn.grid.id,
            None,
        )
    })
    .unwrap()
}

/// The rows of one of the search index's tables on `PostgreSQL` (which keeps it by week).
fn pg_rows(t: &TestDb, table: String) -> i64 {
    t.db.write_blocking(move |c| match c {
        DbConnection::Postgres(c) => Ok(diesel::sql_query(format!(
            "SELECT count(*) AS n FROM {table}"
        ))
        .get_result::<Count>(c)?
        .n),
        DbConnection::Sqlite(_) => unreachable!("PostgreSQL only"),
    })
    .unwrap()
}

both_engines!(search_reaches_every_week_of_history, |t: TestDb| {
    // Requests of this week, of fourteen months ago and of a week whose partition could not
    // be made (PostgreSQL keeps its index by week; its rows wait in the default partition):
    // a search finds all three, newest first, on both engines.
    let now = rent_dispute_this_week(&t);
    let at = |months_back: u32| {
        let d = now.received_at.date() - chrono::Months::new(months_back);
        shiliu_db::ids::id_at(d.and_hms_opt(12, 0, 0).unwrap(), 7)
    };
    let old = requests::Request {
        id: at(14),
        code: "OLD14".into(),
        ..now.clone()
    };
    let terms = |r: &requests::Request| (r.id, requests::search::index_terms(&r.description));
    t.db.write_blocking(|c| {
        requests::bulk::insert(c, std::slice::from_ref(&old), &[], &[terms(&old)])
    })
    .unwrap();
    // Eight months back: its partition is dropped after its request is written, its entry
    // then written into the default partition, and making the week again leaves it there.
    let stray = requests::Request {
        id: at(8),
        code: "STRAY8".into(),
        ..now.clone()
    };
    let week = requests::search::partition_of;
    t.db.write_blocking(|c| {
        requests::bulk::insert(c, std::slice::from_ref(&stray), &[], &[])?;
        if let DbConnection::Postgres(pg) = c {
            diesel::sql_query(format!("DROP TABLE {}", week(stray.id))).execute(pg)?;
        }
        Ok(())
    })
    .unwrap();
    t.db.write_blocking(|c| {
        // Its entry, written by the re-index of requests without one.
        requests::search::backfill(c)?;
        requests::search::ensure_weeks(c, stray.id, stray.id)
    })
    .unwrap();
    if t.db.engine() == shiliu_db::Engine::Postgres {
        assert_eq!(pg_rows(&t, week(old.id)), 1, "in its week's partition");
        assert_eq!(pg_rows(&t, week(now.id)), 1);
        assert_eq!(pg_rows(&t, "request_search_default".into()), 1);
    }
    let f = requests::RequestFilter {
        text: Some("押金".into()),
        ..requests::RequestFilter::default()
    };
    let found: Vec<String> =
        t.db.write_blocking(move |c| requests::list(c, &Scope::everything(), &f, 10))
            .unwrap()
            .into_iter()
            .map(|r| r.code)
            .collect();
    assert_eq!(found, [now.code.clone(), "STRAY8".into(), "OLD14".into()]);
});

/// `PostgreSQL` only: `SQLite` keeps no index by week.
#[test]
fn the_housekeeping_makes_a_coming_week_that_went_missing_again() {
    let t = TestDb::new(shiliu_db::Engine::Postgres);
    let now = rent_dispute_this_week(&t);
    let week = requests::search::partition_of;
    let ahead = now.received_at.date() + chrono::Duration::weeks(12);
    let ahead = shiliu_db::ids::id_at(ahead.and_hms_opt(0, 0, 0).unwrap(), 0);
    assert_eq!(pg_rows(&t, week(ahead)), 0, "made ahead");
    // The housekeeping makes a coming week that went missing again.
    t.db.write_blocking(move |c| {
        if let DbConnection::Postgres(pg) = c {
            diesel::sql_query(format!("DROP TABLE {}", week(ahead))).execute(pg)?;
        }
        requests::search::ensure_coming_weeks(c)
    })
    .unwrap();
    assert_eq!(pg_rows(&t, week(ahead)), 0, "made again");
}

fn order(i: usize, region: requests::RegionRef, category_id: i64) -> requests::Intake {
    let actor = Actor::system("intake").in_request(&format!("group-{i}"));
    requests::Intake {
        actor,
        input: RequestInput::parse(
            Channel::Hotline,
            &format!("第{i}号来电：租房押金纠纷"),
            "",
            "",
            "",
            false,
        )
        .unwrap(),
        category_id,
        region,
        intake_site_id: None,
    }
}

both_engines!(
    requests_taken_in_together_are_each_checked_alone,
    |t: TestDb| {
        use requests::RegionRef;
        let (p, jobs, other) =
            t.db.write_blocking(|c| {
                Ok((
                    place(c, "450107001", "同批"),
                    category(c, "jobs_training"),
                    category(c, "other"),
                ))
            })
            .unwrap();
        let code = |c: &str| RegionRef::Code {
            code: c.to_string(),
            field: "region_code",
        };
        let mut outsider = order(6, RegionRef::Id(p.grid.id), jobs.id);
        outsider.actor = Actor::system_within("intake", Scope::subtrees(vec!["/0/".into()]));
        let orders = vec![
            order(0, RegionRef::Id(p.grid.id), jobs.id),
            order(1, code(&format!(" {} ", p.grid.code)), other.id),
            order(2, code("999999999999"), jobs.id),
            order(3, code(" "), jobs.id),
            order(4, RegionRef::Id(p.grid.id), -1),
            order(5, RegionRef::Id(p.grid.id), jobs.id),
            outsider,
        ];
        let results =
            t.db.write_blocking(|c| requests::create_many(c, &orders))
                .unwrap();
        let refused = |i: usize| match &results[i] {
            Err(DbError::Invalid(f)) => (f.0[0].field.as_str(), f.0[0].reason),
            other => panic!("order {i}: {other:?}"),
        };
        assert_eq!(refused(2), ("region_code", "err.region.unknown"));
        assert_eq!(refused(3), ("region_code", "err.required"));
        assert_eq!(refused(4), ("category_id", "err.choice"));
        assert_eq!(refused(6), ("region_id", "err.region.unknown"));
        let taken: Vec<&requests::Request> = [0, 1, 5]
            .iter()
            .map(|i| results[*i].as_ref().unwrap())
            .collect();
        t.db.write_blocking(|c| {
            assert_eq!(requests::count(c, &Scope::everything())?, 3);
            for r in &taken {
                assert_eq!(r.site_id, Some(p.community_site));
                assert!(r.due_at.is_some());
                let stored = requests::get(c, &Scope::everything(), r.id)?;
                assert_eq!(stored.description, r.description);
                let events = requests::events(c, r)?;
                assert_eq!(events.len(), 1);
                assert_eq!(events[0].action, "receive");
            }
            let report = audit::verify(c)?;
            assert!(report.is_intact(), "{report:?}");
            let creates: i64 = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'request.create'",
            )
            .get_result::<Count>(c)?
            .n;
            assert_eq!(creates, 3);
            Ok(())
        })
        .unwrap();
    }
);

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

both_engines!(concurrent_intake_is_written_in_groups, |t: TestDb| {
    let (p, jobs) =
        t.db.write_blocking(|c| Ok((place(c, "450107001", "并发"), category(c, "jobs_training"))))
            .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let results = rt.block_on(async {
        let batcher = std::sync::Arc::new(shiliu_db::batch::Batcher::start(
            &t.db,
            2,
            16,
            requests::create_many,
        ));
        let tasks: Vec<_> = (0..60)
            .map(|i| {
                let b = batcher.clone();
                // Every seventh names a region that does not exist.
                let region = if i % 7 == 3 {
                    requests::RegionRef::Id(-1)
                } else {
                    requests::RegionRef::Id(p.grid.id)
                };
                let o = order(i, region, jobs.id);
                tokio::spawn(async move { b.submit(o).await })
            })
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    });
    let mut ids = std::collections::BTreeSet::new();
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(r) => {
                assert_ne!(i % 7, 3);
                assert!(r.description.starts_with(&format!("第{i}号")));
                ids.insert(r.id);
            }
            Err(DbError::Invalid(f)) => {
                assert_eq!(i % 7, 3);
                assert_eq!(f.0[0].field, "region_id");
            }
            Err(e) => panic!("{i}: {e}"),
        }
    }
    assert_eq!(ids.len(), 60 - 9);
    t.db.write_blocking(|c| {
        assert_eq!(requests::count(c, &Scope::everything())?, 51);
        let report = audit::verify(c)?;
        assert!(report.is_intact(), "{report:?}");
        Ok(())
    })
    .unwrap();
});

/// Check every figure of `scope` (one subtree) against its rows counted by hand, for every
/// dimension; returns each dimension's total.
fn assert_figures_are_the_rows(
    c: &mut DbConnection,
    scope: &Scope,
    from: &str,
    to: &str,
) -> Vec<shiliu_db::requests::stats::Figures> {
    use shiliu_db::requests::stats::{self, Dimension, Figures, month_of};
    let rows = stats::raw(c, scope).unwrap();
    let mut totals = Vec::new();
    let city = &scope.paths()[0];
    // The region one level below the scope's that a row counts in (the scope's own, if
    // it arose there).
    let region_key = |path: &str| -> String {
        let rest = &path[city.len()..];
        rest.find('/')
            .map_or_else(|| city.clone(), |i| format!("{city}{}", &rest[..=i]))
    };
    for by in Dimension::ALL {
        let got = stats::figures(c, scope, from, to, by).unwrap();
        let mut total = Figures::default();
        for g in &got {
            total.add(g);
            // By month of resolution a month's receipts are those received in it and its
            // other figures those of the requests resolved in it.
            let rows_where = |resolution: bool| -> Vec<&stats::RawRow> {
                rows.iter()
                    .filter(|(_, (_, _, _, rec, _, res, _))| {
                        // Counted in the period: received in it, or for a resolution, resolved.
                        let m = match by {
                            Dimension::ResolvedMonth if resolution => res.map(month_of),
                            _ => Some(month_of(*rec)),
                        };
                        m.is_some_and(|m| m.as_str() >= from && m.as_str() <= to)
                    })
                    .filter(|(path, (cat, ch, site, rec, _, res, _))| match by {
                        Dimension::Category => cat.to_string() == g.key,
                        Dimension::Channel => *ch == g.key,
                        Dimension::ResolvedMonth if resolution => {
                            res.is_some_and(|r| month_of(r) == g.key)
                        }
                        Dimension::Month | Dimension::ResolvedMonth => month_of(*rec) == g.key,
                        Dimension::Region => region_key(path) == g.key,
                        Dimension::Site => site.map(|s| s.to_string()).unwrap_or_default() == g.key,
                    })
                    .map(|(_, r)| r)
                    .collect()
            };
            let mine = rows_where(true);
            let count =
                |f: &dyn Fn(&stats::RawRow) -> bool| mine.iter().filter(|r| f(r)).count() as i64;
            assert_eq!(
                g.received,
                rows_where(false).len() as i64,
                "{by:?} {}",
                g.key
            );
            assert_eq!(g.resolved, count(&|r| r.5.is_some()));
            assert_eq!(
                g.resolved_with_deadline,
                count(&|r| r.5.is_some() && r.4.is_some())
            );
            assert_eq!(
                g.on_time,
                count(&|r| matches!((r.5, r.4), (Some(res), Some(due)) if res <= due))
            );
            assert_eq!(g.rated, count(&|r| r.6.is_some()));
            assert_eq!(
                g.satisfied,
                count(&|r| matches!(r.6.as_deref(), Some("satisfied" | "fairly_satisfied")))
            );
            let secs: i64 = mine
                .iter()
                .filter_map(|r| r.5.map(|res| (res - r.3).num_milliseconds()))
                .sum::<i64>()
                / 1000;
            assert!(
                (g.handling_seconds - secs).abs() <= mine.len() as i64,
                "{} vs {secs}",
                g.handling_seconds
            );
        }
        if by != Dimension::ResolvedMonth {
            // Every group is there (a month with resolutions only has none received).
            assert_eq!(total.received, got.iter().map(|g| g.received).sum::<i64>());
        }
        totals.push(total);
    }
    totals
}

both_engines!(
    the_deepest_regions_setting_on_a_requests_path_wins,
    |t: TestDb| {
        use shiliu_db::requests::settings::{self, Calendars, Levels, Owner};
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let staff = |c: &mut DbConnection, code: &str| {
            let r = org::get_region_by_code(c, &Scope::everything(), code).unwrap();
            Actor::system_within(code, Scope::subtrees(vec![r.path.clone()]))
        };
        let (levels, cals, sanjiang, liubei, renting) =
            t.db.write_blocking(|c| {
                let renting = requests::categories(c, false)?
                    .into_iter()
                    .find(|k| k.code == "renting")
                    .unwrap();
                let (city, county) = (staff(c, "450200"), staff(c, "450226"));
                assert!(
                    matches!(settings::owner(c, &city)?, Owner::Region(r) if r.code == "450200")
                );
                assert!(matches!(
                    settings::owner(c, &Actor::system("test"))?,
                    Owner::Platform
                ));
                // 柳州: two working hours, and a holiday; 三江 (in 柳州): a day, and that day worked
                // (its own arrangement) and 侗年 off.
                settings::set_level(c, &city, renting.id, Some(Some(120)))?;
                settings::set_level(c, &county, renting.id, Some(Some(480)))?;
                settings::set_day(c, &city, day("2026-12-03"), Some("holiday"), "市里放假")?;
                settings::set_day(c, &county, day("2026-12-03"), Some("workday"), "照常上班")?;
                settings::set_day(c, &county, day("2026-12-04"), Some("holiday"), "侗年")?;
                // Neither may touch the platform's category.
                let input = shiliu_domain::requests::CategoryInput::parse(
                    "renting", "租房", "", "1", "days", 420,
                )
                .unwrap();
                let refused =
                    requests::update_category(c, &city, renting.id, renting.version, &input, true);
                assert!(matches!(refused, Err(DbError::Invalid(_))), "{refused:?}");
                let all = Scope::everything();
                let county_id = org::get_region_by_code(c, &all, "450226")?.id;
                let sanjiang = org::children(c, &all, county_id, false)?.remove(0).path;
                let district_id = org::get_region_by_code(c, &all, "450205")?.id;
                let liubei = org::children(c, &all, district_id, false)?.remove(0).path;
                Ok((
                    Levels::load(c)?,
                    Calendars::load(c)?,
                    sanjiang,
                    liubei,
                    renting,
                ))
            })
            .unwrap();
        assert_eq!(levels.minutes(&renting, &sanjiang), Some(480));
        assert_eq!(levels.minutes(&renting, &liubei), Some(120));
        assert_eq!(
            levels.minutes(&renting, "/no-such-path/"),
            renting.service_minutes
        );
        assert!(cals.at(&sanjiang).is_working_day(day("2026-12-03")));
        assert!(!cals.at(&sanjiang).is_working_day(day("2026-12-04")));
        assert!(!cals.at(&liubei).is_working_day(day("2026-12-03")));
        assert!(cals.at(&liubei).is_working_day(day("2026-12-04")));
        // Back to the level above: 三江 takes 柳州's.
        let levels =
            t.db.write_blocking(|c| {
                let county = staff(c, "450226");
                settings::set_level(c, &county, renting.id, None)?;
                Levels::load(c)
            })
            .unwrap();
        assert_eq!(levels.minutes(&renting, &sanjiang), Some(120));
    }
);

/// A list to page through in every order: 120 requests in one Nanning grid over every status,
/// three categories, every channel, deadlines that tie (and a seventh without one), a third
/// of them about 租房; and one taken in the ordinary way.
struct Listed {
    rows: Vec<requests::Request>,
    grid_path: String,
}

fn in_every_order(t: &TestDb) -> Listed {
    let (template, grid, cats) =
        t.db.write_blocking(|c| {
            let p = place(c, "450107001", "序列");
            let cats: Vec<i64> = ["other", "jobs_training", "renting"]
                .iter()
                .filter_map(|code| {
                    requests::categories(c, false)
                        .ok()?
                        .into_iter()
                        .find(|k| k.code == *code)
                        .map(|k| k.id)
                })
                .collect();
            let input =
                RequestInput::parse(Channel::Hotline, "租房押金纠纷", "", "", "", false).unwrap();
            let r = requests::create(c, &Actor::system("test"), &input, cats[0], p.grid.id, None)?;
            Ok((r, p.grid, cats))
        })
        .unwrap();
    let base = template.received_at - chrono::Duration::days(3);
    let rows: Vec<requests::Request> = (0..120_i64)
        .map(|i| {
            let received = base + chrono::Duration::seconds(i * 61);
            requests::Request {
                id: shiliu_db::ids::id_at(received, 1),
                code: format!("LIST{i:06}"),
                status: Status::ALL[i as usize % Status::ALL.len()].as_str().into(),
                category_id: cats[i as usize % cats.len()],
                channel: Channel::ALL[i as usize % Channel::ALL.len()]
                    .as_str()
                    .into(),
                received_at: received,
                due_at: (i % 7 != 0).then(|| base + chrono::Duration::hours(i % 13)),
                ..template.clone()
            }
        })
        .collect();
    let terms: Vec<(i64, String)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let text = if i % 3 == 0 {
                "租房押金纠纷"
            } else {
                "噪音扰民"
            };
            (r.id, requests::search::index_terms(text))
        })
        .collect();
    t.db.write_blocking(|c| requests::bulk::insert(c, &rows, &[], &terms))
        .unwrap();
    let mut all = rows;
    all.push(template);
    Listed {
        rows: all,
        grid_path: grid.path,
    }
}

/// Every page of the list in `sort`'s order, pages of 7, and the count it gives: found by the
/// keys in memory, and the same found by the database alone.
fn every_page(
    t: &TestDb,
    f: &requests::RequestFilter,
    sort: requests::listing::Sort,
) -> (Vec<requests::Request>, i64) {
    let in_memory = every_page_by(t, &t.db.request_keys(), f, sort);
    assert!(t.db.request_keys().is_loaded(), "the keys answered");
    let walking = every_page_by(t, &RequestKeys::walking(), f, sort);
    let from_db = every_page_by(t, &RequestKeys::off(), f, sort);
    let ids = |rows: &[requests::Request]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(&in_memory.0), ids(&from_db.0), "{f:?} {sort:?}");
    assert_eq!(ids(&walking.0), ids(&from_db.0), "walking: {f:?} {sort:?}");
    assert_eq!(in_memory.1, from_db.1, "{f:?} {sort:?}");
    assert_eq!(walking.1, from_db.1, "walking: {f:?} {sort:?}");
    in_memory
}

fn every_page_by(
    t: &TestDb,
    keys: &RequestKeys,
    f: &requests::RequestFilter,
    sort: requests::listing::Sort,
) -> (Vec<requests::Request>, i64) {
    use requests::listing;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = t
            .db
            .write_blocking(|c| listing::page(keys, c, &Scope::everything(), f, sort, after, 7))
            .unwrap();
        assert!(page.len() <= 7);
        out.extend(page);
        // Through the cursor's text, as links and the API carry it.
        match next {
            Some(n) => after = Some(listing::Cursor::decode(&n.encode(), sort).unwrap()),
            None => break,
        }
    }
    let total =
        t.db.write_blocking(|c| listing::count(keys, c, &Scope::everything(), f))
            .unwrap();
    (out, total)
}

/// The order a sort promises, worked out here from the rows themselves.
fn promised_order(
    rows: &[requests::Request],
    sort: requests::listing::Sort,
    categories: &[i64],
) -> Vec<i64> {
    use requests::listing::SortBy;
    let mut rows: Vec<&requests::Request> = rows.iter().collect();
    let rank = |r: &requests::Request| -> i64 {
        match sort.by {
            SortBy::Status => Status::ALL
                .iter()
                .position(|s| s.as_str() == r.status)
                .unwrap() as i64,
            _ => categories.iter().position(|c| *c == r.category_id).unwrap() as i64,
        }
    };
    rows.sort_by(|a, b| {
        let flip = |o: std::cmp::Ordering| if sort.descending { o.reverse() } else { o };
        match sort.by {
            SortBy::Received => flip((a.received_at, a.id).cmp(&(b.received_at, b.id))),
            // Without a deadline: last, whichever way.
            SortBy::Due => match (a.due_at, b.due_at) {
                (Some(x), Some(y)) => flip((x, a.id).cmp(&(y, b.id))),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => flip(a.id.cmp(&b.id)),
            },
            // Newest first within a group.
            SortBy::Status | SortBy::Category => flip(rank(a).cmp(&rank(b))).then(b.id.cmp(&a.id)),
        }
    });
    rows.iter().map(|r| r.id).collect()
}

fn every_sort() -> Vec<requests::listing::Sort> {
    requests::listing::SortBy::ALL
        .into_iter()
        .flat_map(|by| [true, false].map(|descending| requests::listing::Sort { by, descending }))
        .collect()
}

both_engines!(
    every_order_pages_through_every_request_once_in_its_order,
    |t: TestDb| {
        let l = in_every_order(&t);
        let categories: Vec<i64> =
            t.db.write_blocking(|c| requests::categories(c, true))
                .unwrap()
                .into_iter()
                .map(|k| k.id)
                .collect();
        for sort in every_sort() {
            let (seen, total) = every_page(&t, &requests::RequestFilter::default(), sort);
            let ids: Vec<i64> = seen.iter().map(|r| r.id).collect();
            assert_eq!(ids, promised_order(&l.rows, sort, &categories), "{sort:?}");
            assert_eq!(total, l.rows.len() as i64, "{sort:?}");
        }
    }
);

both_engines!(
    every_order_pages_through_the_matches_of_words_once_in_its_order,
    |t: TestDb| {
        let l = in_every_order(&t);
        let categories: Vec<i64> =
            t.db.write_blocking(|c| requests::categories(c, true))
                .unwrap()
                .into_iter()
                .map(|k| k.id)
                .collect();
        let matching: Vec<requests::Request> = l
            .rows
            .iter()
            .filter(|r| {
                r.code
                    .strip_prefix("LIST")
                    .is_none_or(|n| n.parse::<i64>().unwrap() % 3 == 0)
            })
            .cloned()
            .collect();
        let f = requests::RequestFilter {
            text: Some("租房".into()),
            ..requests::RequestFilter::default()
        };
        for sort in every_sort() {
            let (seen, total) = every_page(&t, &f, sort);
            let ids: Vec<i64> = seen.iter().map(|r| r.id).collect();
            assert_eq!(
                ids,
                promised_order(&matching, sort, &categories),
                "{sort:?}"
            );
            assert_eq!(total, matching.len() as i64, "{sort:?}");
        }
    }
);

both_engines!(
    counts_equal_the_rows_their_filters_list_alone_and_combined,
    |t: TestDb| {
        use requests::RequestFilter;
        let l = in_every_order(&t);
        let now = l.rows.iter().map(|r| r.received_at).max().unwrap();
        let mid = l.rows[60].received_at;
        let category = l.rows[1].category_id;
        let filters = [
            RequestFilter {
                status: Some(Status::Closed),
                ..RequestFilter::default()
            },
            RequestFilter {
                open: Some(true),
                ..RequestFilter::default()
            },
            RequestFilter {
                open: Some(false),
                category_ids: vec![category],
                ..RequestFilter::default()
            },
            RequestFilter {
                channel: Some(Channel::Grid),
                received_from: Some(mid),
                ..RequestFilter::default()
            },
            RequestFilter {
                received_to: Some(mid),
                region_path: Some(l.grid_path.clone()),
                ..RequestFilter::default()
            },
            RequestFilter {
                overdue_at: Some(now),
                category_ids: vec![category],
                ..RequestFilter::default()
            },
            RequestFilter {
                due_before: Some((now - chrono::Duration::days(3), now)),
                ..RequestFilter::default()
            },
            RequestFilter {
                text: Some("租房".into()),
                status: Some(Status::Received),
                received_from: Some(mid),
                ..RequestFilter::default()
            },
        ];
        for f in &filters {
            let mut counted = Vec::new();
            for sort in every_sort() {
                let (seen, total) = every_page(&t, f, sort);
                let mut ids: Vec<i64> = seen.iter().map(|r| r.id).collect();
                ids.sort_unstable();
                ids.dedup();
                assert_eq!(ids.len(), seen.len(), "no row twice: {f:?} {sort:?}");
                assert_eq!(total, seen.len() as i64, "{f:?} {sort:?}");
                counted.push(total);
            }
            assert!(counted.iter().all(|n| *n == counted[0]));
            // The count agrees with the list as it was before orders (newest first, by id).
            let listed =
                t.db.write_blocking(|c| requests::list(c, &Scope::everything(), f, 1000))
                    .unwrap();
            assert_eq!(counted[0], listed.len() as i64, "{f:?}");
            assert!(counted[0] > 0, "each filter finds some: {f:?}");
        }
    }
);

both_engines!(
    counts_from_the_running_totals_stay_exact_across_intake_steps_and_bulk_loads,
    |t: TestDb| {
        use requests::RequestFilter;
        use shiliu_domain::calendar::{local, utc};
        let l = in_every_order(&t);
        // Intake (journaled), bulk rows (straight into the totals) and a step that moves one
        // to another site, in another category and channel.
        let (moved, other_site) =
            t.db.write_blocking(|c| {
                let p = place(c, "450107001", "序列北");
                let input =
                    RequestInput::parse(Channel::WalkIn, "咨询居住证办理", "", "", "", false)
                        .unwrap();
                let jobs = category(c, "jobs_training");
                let r =
                    requests::create(c, &Actor::system("test"), &input, jobs.id, p.grid.id, None)?;
                Ok((r, p.community_site))
            })
            .unwrap();
        step(
            &t,
            moved.id,
            Action::Dispatch,
            StepInput {
                site_id: Some(other_site),
                ..StepInput::default()
            },
        )
        .unwrap();
        let first = l.rows.iter().map(|r| r.received_at).min().unwrap();
        let month_of = |t: chrono::NaiveDateTime| {
            use chrono::Datelike;
            utc(local(t)
                .date()
                .with_day(1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap())
        };
        let this_month = month_of(first);
        let next_month = month_of(shiliu_db::now() + chrono::Duration::days(32));
        let filters = |sites: [Option<i64>; 2]| {
            let mut fs = vec![
                RequestFilter::default(),
                RequestFilter {
                    category_ids: vec![moved.category_id, l.rows[0].category_id],
                    ..RequestFilter::default()
                },
                RequestFilter {
                    channel: Some(Channel::WalkIn),
                    ..RequestFilter::default()
                },
                RequestFilter {
                    region_path: Some(l.grid_path.clone()),
                    received_from: Some(this_month),
                    received_to: Some(next_month),
                    ..RequestFilter::default()
                },
                // Part of a month before the whole ones, and after.
                RequestFilter {
                    received_from: Some(this_month - chrono::Duration::days(40)),
                    ..RequestFilter::default()
                },
                RequestFilter {
                    received_from: Some(l.rows[60].received_at),
                    ..RequestFilter::default()
                },
                RequestFilter {
                    received_to: Some(l.rows[60].received_at),
                    channel: Some(Channel::Hotline),
                    ..RequestFilter::default()
                },
            ];
            fs.extend(sites.into_iter().map(|s| RequestFilter {
                site_id: s,
                ..RequestFilter::default()
            }));
            // By status (the totals keep each request's status now): one, some, the open,
            // the done, and with a category, a channel or a site.
            fs.extend([
                RequestFilter {
                    status: Some(Status::Received),
                    ..RequestFilter::default()
                },
                RequestFilter {
                    status: Some(Status::Dispatched),
                    ..RequestFilter::default()
                },
                RequestFilter {
                    any_status: vec![Status::Closed, Status::Rated],
                    ..RequestFilter::default()
                },
                RequestFilter {
                    open: Some(true),
                    ..RequestFilter::default()
                },
                RequestFilter {
                    open: Some(false),
                    category_ids: vec![l.rows[0].category_id],
                    ..RequestFilter::default()
                },
                RequestFilter {
                    status: Some(Status::Received),
                    open: Some(false),
                    ..RequestFilter::default()
                },
                RequestFilter {
                    open: Some(true),
                    site_id: Some(other_site),
                    ..RequestFilter::default()
                },
                RequestFilter {
                    status: Some(Status::Dispatched),
                    channel: Some(Channel::WalkIn),
                    received_from: Some(this_month - chrono::Duration::days(40)),
                    ..RequestFilter::default()
                },
            ]);
            fs
        };
        // The whole tree (its totals; the list reads along its order), and the grid alone
        // (below the regions with totals: counted from its rows; the list reads its range).
        let scopes = [
            Scope::everything(),
            Scope::subtrees(vec![l.grid_path.clone()]),
        ];
        let check = |when: &str| {
            for scope in &scopes {
                for f in filters([Some(other_site), l.rows[0].site_id]) {
                    let keys = t.db.request_keys();
                    let (counted, from_db, listed) =
                        t.db.write_blocking(|c| {
                            Ok((
                                requests::listing::count(&keys, c, scope, &f)?,
                                requests::listing::count(&RequestKeys::off(), c, scope, &f)?,
                                requests::list(c, scope, &f, 10_000)?.len() as i64,
                            ))
                        })
                        .unwrap();
                    assert_eq!(counted, listed, "{when}: {scope:?} {f:?}");
                    assert_eq!(from_db, listed, "{when}: {scope:?} {f:?}");
                }
            }
        };
        check("journal unfolded");
        t.db.write_blocking(|c| {
            while requests::stats::fold(c)? > 0 {}
            Ok(())
        })
        .unwrap();
        check("journal folded");
    }
);

both_engines!(
    a_node_lists_what_another_wrote_and_what_committed_while_it_read,
    |t: TestDb| {
        use requests::RequestFilter;
        let l = in_every_order(&t);
        // Two app nodes on one database: each its own keys in memory.
        let other = shiliu_db::Db::connect(&t.url, 2).unwrap();
        let all = Scope::everything();
        let newest = |db: &shiliu_db::Db, f: &RequestFilter| {
            // A reader's connection, as a page's: a write held open elsewhere does not stop it.
            let keys = db.request_keys();
            requests::listing::page_and_count(
                &keys,
                &mut db.conn().unwrap(),
                &all,
                f,
                requests::listing::Sort::default(),
                None,
                500,
            )
            .unwrap()
        };
        let f = RequestFilter::default();
        let (_, _, before) = newest(&t.db, &f);
        assert!(t.db.request_keys().is_loaded());
        assert_eq!(before, l.rows.len() as i64);
        // The other node takes one in and moves one on; this node sees both at once.
        let taken = other
            .write_blocking(|c| {
                let p = place(c, "450107001", "另一节点");
                let input = RequestInput::parse(Channel::WalkIn, "另一节点受理", "", "", "", false)
                    .unwrap();
                requests::create(
                    c,
                    &Actor::system("test"),
                    &input,
                    l.rows[0].category_id,
                    p.grid.id,
                    None,
                )
            })
            .unwrap();
        let (rows, _, after) = newest(&t.db, &f);
        assert_eq!(after, before + 1);
        assert_eq!(rows[0].id, taken.id);
        step(&t, taken.id, Action::Dispatch, StepInput::default()).unwrap();
        let dispatched = RequestFilter {
            status: Some(Status::Dispatched),
            ..RequestFilter::default()
        };
        let (rows, _, _) = newest(&other, &dispatched);
        assert_eq!(rows[0].id, taken.id, "the other node saw this one's step");
        // Words the other node gives a request (as a note does, without touching the request's
        // row): this node finds it by them.
        let by_word = RequestFilter {
            text: Some("zzqword".into()),
            ..RequestFilter::default()
        };
        assert_eq!(newest(&t.db, &by_word).2, 0);
        let worded = l.rows[3].id;
        other
            .write_blocking(move |c| {
                shiliu_db::on_engine!(c, |c| diesel::sql_query(format!(
                    "UPDATE request_words SET words = words || ' zzqword' WHERE request_id = {worded}"
                ))
                .execute(c))?;
                Ok(())
            })
            .unwrap();
        let (rows, _, n) = newest(&t.db, &by_word);
        assert_eq!((rows[0].id, n), (worded, 1));
        // A write that commits after a later one was read (PostgreSQL numbers the feed at
        // insert, not at commit): this node still learns of it.
        let mut slow = other.conn().unwrap();
        diesel::sql_query("BEGIN").execute(&mut *slow).unwrap();
        let held = l.rows[5].id;
        diesel::sql_query(format!(
            "UPDATE requests SET status = 'closed' WHERE id = {held}"
        ))
        .execute(&mut *slow)
        .unwrap();
        let closed = RequestFilter {
            status: Some(Status::Closed),
            ..RequestFilter::default()
        };
        let (_, _, closed_before) = newest(&t.db, &closed);
        if t.engine() == shiliu_db::Engine::Postgres {
            // A later write, committed first, read by this node.
            step(&t, taken.id, Action::Accept, StepInput::default()).unwrap();
            let (rows, _, _) = newest(
                &t.db,
                &RequestFilter {
                    status: Some(Status::Accepted),
                    ..RequestFilter::default()
                },
            );
            assert_eq!(rows[0].id, taken.id);
        }
        diesel::sql_query("COMMIT").execute(&mut *slow).unwrap();
        let was_closed = l.rows[5].status == "closed";
        let (rows, _, closed_after) = newest(&t.db, &closed);
        assert!(rows.iter().any(|r| r.id == held));
        assert_eq!(closed_after, closed_before + i64::from(!was_closed));
        // (The running totals did not see the bare UPDATE: count the rows.)
        let rows =
            t.db.write_blocking(|c| requests::list(c, &all, &closed, 1_000))
                .unwrap();
        assert_eq!(closed_after, rows.len() as i64);
    }
);

/// A work queue at `now` in the whole tree, `own` and `mine` as the home passes them: what
/// the home counts and how many rows the list shows with the queue's filter.
fn queue_at(
    t: &TestDb,
    q: requests::queues::Queue,
    own: requests::queues::Own,
    mine: bool,
    now: chrono::NaiveDateTime,
) -> (i64, usize) {
    let mut c = t.db.conn().unwrap();
    let all = Scope::everything();
    let keys = t.db.request_keys();
    let counted = requests::queues::todo_counts(&keys, &mut c, &all, &[q], own, mine, now).unwrap();
    assert_eq!(counted[0].0, q);
    let from_db =
        requests::queues::todo_counts(&RequestKeys::off(), &mut c, &all, &[q], own, mine, now)
            .unwrap();
    assert_eq!(counted, from_db, "{q:?}");
    let listed = requests::list(&mut c, &all, &q.filter(own, mine, now), 1000).unwrap();
    (counted[0].1, listed.len())
}

both_engines!(
    the_queue_to_dispatch_counts_the_received_and_the_returned_as_its_list_shows,
    |t: TestDb| {
        use requests::queues::Queue;
        let d = deadline_requests(&t);
        step(&t, d.fresh.id, Action::Dispatch, StepInput::default()).unwrap();
        step(&t, d.soon.id, Action::Dispatch, StepInput::default()).unwrap();
        step(&t, d.soon.id, Action::Return, with_reason("不属于本站点")).unwrap();
        // late: received; soon: returned; fresh: dispatched.
        assert_eq!(
            queue_at(&t, Queue::ToDispatch, (None, None), false, d.now),
            (2, 2)
        );
    }
);

both_engines!(
    the_queue_to_accept_counts_the_dispatched_as_its_list_shows,
    |t: TestDb| {
        use requests::queues::Queue;
        let d = deadline_requests(&t);
        step(&t, d.fresh.id, Action::Dispatch, StepInput::default()).unwrap();
        assert_eq!(
            queue_at(&t, Queue::ToAccept, (None, None), false, d.now),
            (1, 1)
        );
    }
);

both_engines!(
    the_overdue_queue_counts_the_late_request_as_its_list_shows,
    |t: TestDb| {
        use requests::queues::Queue;
        let d = deadline_requests(&t);
        assert_eq!(
            queue_at(&t, Queue::Overdue, (None, None), false, d.now),
            (1, 1)
        );
    }
);

both_engines!(
    the_due_soon_queue_counts_the_request_due_within_a_day_as_its_list_shows,
    |t: TestDb| {
        use requests::queues::Queue;
        let d = deadline_requests(&t);
        assert_eq!(
            queue_at(&t, Queue::DueSoon, (None, None), false, d.now),
            (1, 1)
        );
    }
);

both_engines!(
    the_escalated_queue_counts_the_open_request_the_sweep_escalated_as_its_list_shows,
    |t: TestDb| {
        use requests::queues::Queue;
        let d = deadline_requests(&t);
        assert_eq!(
            queue_at(&t, Queue::Escalated, (None, None), false, d.now),
            (0, 0)
        );
        t.db.write_blocking(|c| requests::sweep_deadlines(c, d.now))
            .unwrap();
        assert_eq!(
            queue_at(&t, Queue::Escalated, (None, None), false, d.now),
            (1, 1)
        );
    }
);

both_engines!(
    the_queue_to_rate_counts_the_resolved_request_as_its_list_shows,
    |t: TestDb| {
        use requests::queues::Queue;
        let r = resolved_request(&t);
        let now = shiliu_db::now();
        assert_eq!(
            queue_at(&t, Queue::ToRate, (None, None), false, now),
            (1, 1)
        );
        step(&t, r.id, Action::Rate, rating(Rating::Satisfied)).unwrap();
        assert_eq!(
            queue_at(&t, Queue::ToRate, (None, None), false, now),
            (0, 0)
        );
    }
);

both_engines!(
    a_queue_of_ones_own_counts_only_what_ones_site_handles,
    |t: TestDb| {
        use requests::queues::Queue;
        let d = deadline_requests(&t);
        let site = d.late.site_id;
        assert!(site.is_some());
        assert_eq!(
            queue_at(&t, Queue::Overdue, (site, None), true, d.now),
            (1, 1)
        );
        let elsewhere = (Some(site.unwrap_or_default() + 1_000_000), None);
        assert_eq!(queue_at(&t, Queue::Overdue, elsewhere, true, d.now), (0, 0));
    }
);
