//! Messages: the outbox written in the transaction of the step that causes it, residents'
//! SMS only with their consent, staff inboxes, the sender's exactly-once claims, retries,
//! giving up and the per-recipient limit, and one-time codes — on both engines.

use diesel::prelude::*;
use shiliu_db::accounts::{self, NewUser};
use shiliu_db::messages::codes::{self, Asked, Checked};
use shiliu_db::messages::sender::{self, After};
use shiliu_db::messages::{self, Message};
use shiliu_db::org::{self, Region};
use shiliu_db::requests::{self, Request, StepInput};
use shiliu_db::scope::{Actor, Caller, Can, Scope};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbConnection, DbError, both_engines};
use shiliu_domain::accounts::Username;
use shiliu_domain::messages::{Kind, MAX_ATTEMPTS};
use shiliu_domain::mobile::Mobile;
use shiliu_domain::org::{RegionInput, SiteInput};
use shiliu_domain::requests::{Action, ActionInput, Channel, Outcome, RequestInput};
use shiliu_domain::roles::Role;

const PHONE: &str = "13812345678";

/// A community with a grid and a help desk in 南宁 (青秀区's first township).
struct Place {
    town: Region,
    grid: Region,
    site: i64,
}

fn place(c: &mut DbConnection) -> Place {
    let sys = Actor::system("test");
    let town = org::get_region_by_code(c, &Scope::everything(), "450103001").unwrap();
    let comm = org::create_child_region(
        c,
        &sys,
        town.id,
        &RegionInput::parse("消息社区", "").unwrap(),
    )
    .unwrap();
    let grid = org::create_child_region(
        c,
        &sys,
        comm.id,
        &RegionInput::parse("消息一网格", "").unwrap(),
    )
    .unwrap();
    let site = org::create_site(
        c,
        &sys,
        comm.id,
        &SiteInput::parse("消息社区解忧超市", "jieyou_desk", "", "", "", "").unwrap(),
    )
    .unwrap();
    Place {
        town,
        grid,
        site: site.id,
    }
}

/// A request taken in at the place's grid, with or without the resident's SMS consent.
fn request(t: &TestDb, p: &Place, phone: &str, sms: bool) -> Request {
    let sys = Actor::system("test");
    t.db.write_blocking(|c| {
        let cat = requests::categories(c, false)?[0].id;
        let input = RequestInput::parse(Channel::Hotline, "路灯不亮", "", "韦女士", phone, true)
            .unwrap()
            .with_sms_consent(sms);
        requests::create(c, &sys, &input, cat, p.grid.id, None)
    })
    .unwrap()
}

fn step(t: &TestDb, r: &Request, action: Action, input: StepInput) -> Request {
    let sys = Actor::system("handler");
    t.db.write_blocking(|c| {
        let now = requests::get(c, &Scope::everything(), r.id)?;
        requests::step(c, &sys, r.id, now.version, action, &input)
    })
    .unwrap()
}

fn dispatched(t: &TestDb, p: &Place, r: &Request) -> Request {
    let to = StepInput {
        site_id: Some(p.site),
        ..StepInput::default()
    };
    step(t, r, Action::Dispatch, to)
}

fn resolution() -> StepInput {
    StepInput {
        action_input: ActionInput {
            outcome: Some(Outcome::Solved),
            reply: Some("已安排维修，路灯今晚恢复".into()),
            ..ActionInput::default()
        },
        ..StepInput::default()
    }
}

/// A request dispatched, accepted and resolved.
fn resolved(t: &TestDb, p: &Place, r: &Request) -> Request {
    dispatched(t, p, r);
    step(t, r, Action::Accept, StepInput::default());
    step(t, r, Action::Resolve, resolution())
}

fn about(t: &TestDb, r: &Request) -> Vec<Message> {
    t.db.write_blocking(|c| messages::about_request(c, r))
        .unwrap()
}

fn sms_kinds(t: &TestDb, r: &Request) -> Vec<String> {
    about(t, r)
        .into_iter()
        .filter(|m| m.channel == messages::SMS)
        .map(|m| m.kind)
        .collect()
}

/// An account with its signed-in actor.
fn user(
    t: &TestDb,
    name: &str,
    role: Role,
    region: i64,
    site: Option<i64>,
    phone: Option<&str>,
) -> Actor {
    t.db.write_blocking(|c| {
        let sys = Actor::system("test");
        let u = accounts::create_user(
            c,
            &Can::check(&sys).unwrap(),
            &NewUser {
                username: Username::parse(name).unwrap(),
                display_name: name.into(),
                password_hash: "x".into(),
                role,
                region_id: region,
                unit_id: None,
                site_id: site,
                phone: phone.map(Into::into),
                grid_ids: vec![],
            },
        )?;
        Ok(Actor::for_caller(&Caller::of(c, u)?, "t", "127.0.0.1"))
    })
    .unwrap()
}

fn claim(t: &TestDb, at: chrono::NaiveDateTime) -> Vec<Message> {
    t.db.write_blocking(move |c| sender::claim(c, at, 100))
        .unwrap()
}

fn record(
    t: &TestDb,
    m: &Message,
    answer: Result<String, String>,
    at: chrono::NaiveDateTime,
) -> After {
    let m = m.clone();
    t.db.write_blocking(move |c| sender::record(c, &m, "test", &answer, at))
        .unwrap()
}

both_engines!(
    a_resident_who_consented_is_sent_received_resolved_and_rating_sms,
    |t: TestDb| {
        let p = t.db.write_blocking(|c| Ok(place(c))).unwrap();
        let r = request(&t, &p, PHONE, true);
        resolved(&t, &p, &r);
        assert_eq!(
            sms_kinds(&t, &r),
            ["request.received", "request.resolved", "request.rate"]
        );
        let resolved_sms = about(&t, &r)
            .into_iter()
            .find(|m| m.kind == "request.resolved")
            .unwrap();
        assert_eq!(resolved_sms.phone.as_deref(), Some(PHONE));
        assert_eq!(resolved_sms.param("code"), r.code);
        assert_eq!(resolved_sms.param("reply"), "已安排维修，路灯今晚恢复");
    }
);

both_engines!(a_resident_without_consent_is_sent_no_sms, |t: TestDb| {
    let p = t.db.write_blocking(|c| Ok(place(c))).unwrap();
    let r = request(&t, &p, PHONE, false);
    resolved(&t, &p, &r);
    assert!(sms_kinds(&t, &r).is_empty());
});

both_engines!(
    a_step_whose_transaction_fails_leaves_no_message,
    |t: TestDb| {
        let p = t.db.write_blocking(|c| Ok(place(c))).unwrap();
        let r = request(&t, &p, PHONE, true);
        dispatched(&t, &p, &r);
        step(&t, &r, Action::Accept, StepInput::default());
        let sys = Actor::system("handler");
        let failed: Result<(), DbError> = t.db.write_blocking(|c| {
            let now = requests::get(c, &Scope::everything(), r.id)?;
            requests::step(c, &sys, r.id, now.version, Action::Resolve, &resolution())?;
            // Whatever fails after the step in its transaction undoes the step and its messages.
            Err(DbError::Stale)
        });
        assert!(failed.is_err());
        assert_eq!(sms_kinds(&t, &r), ["request.received"]);
    }
);

both_engines!(
    dispatching_puts_a_message_in_the_inbox_of_the_sites_staff,
    |t: TestDb| {
        let p = t.db.write_blocking(|c| Ok(place(c))).unwrap();
        let desk = user(&t, "desk", Role::SiteStaff, p.town.id, Some(p.site), None);
        let other = user(&t, "other", Role::SiteStaff, p.town.id, None, None);
        let r = request(&t, &p, PHONE, false);
        dispatched(&t, &p, &r);
        let inbox =
            t.db.write_blocking(|c| messages::inbox(c, &desk, 10))
                .unwrap();
        assert_eq!(inbox.len(), 1);
        assert_eq!(inbox[0].kind(), Some(Kind::Dispatched));
        assert_eq!(inbox[0].request_id, Some(r.id));
        assert_eq!(
            t.db.write_blocking(|c| messages::unread(c, &other))
                .unwrap(),
            0
        );
        assert!(
            t.db.write_blocking(|c| messages::inbox(c, &other, 10))
                .unwrap()
                .is_empty()
        );
    }
);

both_engines!(only_the_addressee_may_mark_a_message_read, |t: TestDb| {
    let p = t.db.write_blocking(|c| Ok(place(c))).unwrap();
    let desk = user(&t, "desk", Role::SiteStaff, p.town.id, Some(p.site), None);
    let other = user(&t, "other", Role::SiteStaff, p.town.id, None, None);
    dispatched(&t, &p, &request(&t, &p, PHONE, false));
    let id =
        t.db.write_blocking(|c| messages::inbox(c, &desk, 10))
            .unwrap()[0]
            .id;
    let refused = t.db.write_blocking(|c| messages::mark_read(c, &other, id));
    assert!(matches!(refused, Err(DbError::NotFound)));
    assert_eq!(
        t.db.write_blocking(|c| messages::unread(c, &desk)).unwrap(),
        1
    );
    t.db.write_blocking(|c| messages::mark_read(c, &desk, id))
        .unwrap();
    assert_eq!(
        t.db.write_blocking(|c| messages::unread(c, &desk)).unwrap(),
        0
    );
});

both_engines!(
    an_escalation_reaches_the_supervising_staff_in_the_inbox_and_by_sms,
    |t: TestDb| {
        let p = t.db.write_blocking(|c| Ok(place(c))).unwrap();
        // The site is in the community; the township above it supervises.
        let chief = user(
            &t,
            "chief",
            Role::TownshipStaff,
            p.town.id,
            None,
            Some("13900000001"),
        );
        let r = request(&t, &p, PHONE, false);
        dispatched(&t, &p, &r);
        let later = r.due_at.unwrap() + chrono::Duration::hours(1);
        let swept =
            t.db.write_blocking(move |c| requests::sweep_deadlines(c, later))
                .unwrap();
        assert_eq!(swept.escalated, 1);
        let inbox =
            t.db.write_blocking(|c| messages::inbox(c, &chief, 10))
                .unwrap();
        assert_eq!(inbox[0].kind(), Some(Kind::Escalated));
        let sms: Vec<Message> = about(&t, &r)
            .into_iter()
            .filter(|m| m.channel == messages::SMS)
            .collect();
        assert_eq!(sms.len(), 1);
        assert_eq!(sms[0].phone.as_deref(), Some("13900000001"));
        assert_eq!(sms[0].kind(), Some(Kind::Escalated));
    }
);

both_engines!(
    two_senders_claiming_at_once_take_each_message_once,
    |t: TestDb| {
        let p = t.db.write_blocking(|c| Ok(place(c))).unwrap();
        let phones: Vec<String> = (0..30).map(|i| format!("1391234{i:04}")).collect();
        for phone in &phones {
            request(&t, &p, phone, true);
        }
        let at = shiliu_db::now() + chrono::Duration::seconds(1);
        let start = std::sync::Arc::new(std::sync::Barrier::new(2));
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let (db, start) = (t.db.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    db.write_blocking(move |c| sender::claim(c, at, 100))
                        .unwrap()
                })
            })
            .collect();
        let mut ids: Vec<i64> = racers
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .map(|m| m.id)
            .collect();
        ids.sort_unstable();
        let all = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), all, "a message was claimed twice");
        assert_eq!(all, 30);
    }
);

both_engines!(
    a_failing_sms_is_retried_with_backoff_then_given_up,
    |t: TestDb| {
        let p = t.db.write_blocking(|c| Ok(place(c))).unwrap();
        let r = request(&t, &p, PHONE, true);
        let mut at = shiliu_db::now() + chrono::Duration::seconds(1);
        for attempt in 1..=MAX_ATTEMPTS {
            let claimed = claim(&t, at);
            assert_eq!(claimed.len(), 1, "attempt {attempt}");
            // Claimed, it is not claimed again while the claim holds.
            assert!(claim(&t, at).is_empty());
            let after = record(&t, &claimed[0], Err("网关超时".into()), at);
            if attempt < MAX_ATTEMPTS {
                let After::Retry(next) = after else {
                    panic!("attempt {attempt}: {after:?}")
                };
                assert_eq!(next, at + shiliu_domain::messages::backoff(attempt));
                assert!(claim(&t, next - chrono::Duration::seconds(1)).is_empty());
                at = next;
            } else {
                assert_eq!(after, After::GaveUp);
            }
        }
        let m = &about(&t, &r)[0];
        assert_eq!(m.status, messages::FAILED);
        let tries =
            t.db.write_blocking({
                let m = m.clone();
                move |c| sender::attempts(c, &m)
            })
            .unwrap();
        assert_eq!(tries.len(), MAX_ATTEMPTS as usize);
        assert!(tries.iter().all(|(_, _, ok, why)| !ok && why == "网关超时"));
    }
);

both_engines!(a_number_gets_at_most_five_sms_an_hour, |t: TestDb| {
    let p = t.db.write_blocking(|c| Ok(place(c))).unwrap();
    for _ in 0..7 {
        request(&t, &p, PHONE, true);
    }
    let at = shiliu_db::now() + chrono::Duration::seconds(1);
    let first = claim(&t, at);
    assert_eq!(first.len(), 5);
    for m in &first {
        assert_eq!(record(&t, m, Ok("ok".into()), at), After::Sent);
    }
    assert!(claim(&t, at + chrono::Duration::minutes(30)).is_empty());
    assert_eq!(claim(&t, at + chrono::Duration::minutes(61)).len(), 2);
});

/// The code an SMS carries, read from the outbox before it is sent.
fn pending_code(t: &TestDb) -> String {
    use shiliu_db::schema::messages::dsl;
    let params: String =
        t.db.write_blocking(|c| {
            Ok(dsl::messages
                .filter(dsl::kind.eq(Kind::Code.as_str()))
                .order(dsl::id.desc())
                .select(dsl::params)
                .first(c)?)
        })
        .unwrap();
    serde_json::from_str::<serde_json::Value>(&params).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string()
}

fn ask(t: &TestDb, phone: &str, addr: &str) -> Asked {
    let (phone, who) = (Mobile::parse(phone).unwrap(), Actor::resident("t", addr));
    t.db.write_blocking(move |c| codes::ask(c, &who, &phone, shiliu_db::now()))
        .unwrap()
}

fn check(t: &TestDb, ticket: i64, code: &str, at: chrono::NaiveDateTime) -> Checked {
    let (code, who) = (code.to_string(), Actor::resident("t", "10.0.0.1"));
    t.db.write_blocking(move |c| codes::check(c, &who, ticket, &code, at))
        .unwrap()
}

both_engines!(
    the_right_code_lists_the_numbers_requests_once,
    |t: TestDb| {
        let p = t.db.write_blocking(|c| Ok(place(c))).unwrap();
        let r = request(&t, &p, PHONE, false);
        request(&t, &p, "13900000009", false);
        let Asked::Ticket(ticket) = ask(&t, PHONE, "10.0.0.1") else {
            panic!()
        };
        let code = pending_code(&t);
        let Checked::Requests(found) = check(&t, ticket, &code, shiliu_db::now()) else {
            panic!("the right code was refused")
        };
        assert_eq!(
            found.iter().map(|x| x.code.clone()).collect::<Vec<_>>(),
            [r.code]
        );
        assert!(matches!(
            check(&t, ticket, &code, shiliu_db::now()),
            Checked::Spent
        ));
    }
);

both_engines!(
    wrong_codes_count_down_and_the_fifth_spends_the_ticket,
    |t: TestDb| {
        let p = t.db.write_blocking(|c| Ok(place(c))).unwrap();
        request(&t, &p, PHONE, false);
        let Asked::Ticket(ticket) = ask(&t, PHONE, "10.0.0.1") else {
            panic!()
        };
        let code = pending_code(&t);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for left in (0..5).rev() {
            assert!(
                matches!(check(&t, ticket, wrong, shiliu_db::now()), Checked::Wrong(l) if l == left)
            );
        }
        assert!(matches!(
            check(&t, ticket, &code, shiliu_db::now()),
            Checked::Spent
        ));
    }
);

both_engines!(a_code_expires_after_ten_minutes, |t: TestDb| {
    let p = t.db.write_blocking(|c| Ok(place(c))).unwrap();
    request(&t, &p, PHONE, false);
    let Asked::Ticket(ticket) = ask(&t, PHONE, "10.0.0.1") else {
        panic!()
    };
    let code = pending_code(&t);
    let late = shiliu_db::now() + chrono::Duration::minutes(11);
    assert!(matches!(check(&t, ticket, &code, late), Checked::Spent));
});

both_engines!(
    a_number_is_sent_three_codes_an_hour_and_an_address_asks_ten_times,
    |t: TestDb| {
        for _ in 0..3 {
            assert!(matches!(ask(&t, PHONE, "10.0.0.1"), Asked::Ticket(_)));
        }
        assert_eq!(ask(&t, PHONE, "10.0.0.2"), Asked::TooMany);
        for i in 0..7 {
            assert!(matches!(
                ask(&t, &format!("1370000{i:04}"), "10.0.0.1"),
                Asked::Ticket(_)
            ));
        }
        assert_eq!(ask(&t, "13711112222", "10.0.0.1"), Asked::TooMany);
    }
);

both_engines!(
    a_number_without_requests_gets_a_ticket_and_no_sms,
    |t: TestDb| {
        assert!(matches!(ask(&t, PHONE, "10.0.0.1"), Asked::Ticket(_)));
        assert!(claim(&t, shiliu_db::now() + chrono::Duration::seconds(1)).is_empty());
    }
);
