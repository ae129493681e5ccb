//! Messages through the router: residents' SMS by consent (the log-only provider), the
//! sender racing itself and retrying, staff inboxes and the bell, the public status page's
//! timeline, and a lost code recovered by phone.

use std::sync::Arc;

use axum::http::StatusCode;
use diesel::prelude::*;
use shiliu_db::both_engines;
use shiliu_db::messages::sender::{self, LoggedSms};
use shiliu_db::schema::users;
use shiliu_db::scope::Actor;
use shiliu_db::testing::TestDb;
use shiliu_domain::requests::{Action, ActionInput, Outcome};
use shiliu_web::messages::providers::{Answer, Sms, SmsProvider};
use shiliu_web::messages::sender::{deliver_due, deliver_with};
use shiliu_web::{AppState, WebConfig};

use crate::common::{App, CityData, Resp, block_on, seed_city};

const RESIDENT: &str = "shiliu_csrf=resident-token-0123456789";
const TOKEN: &str = "resident-token-0123456789";
const PHONE: &str = "13912345678";

/// 南宁 seeded, the app, and a state beside it for the sender (the server's task).
struct Setup {
    app: App,
    state: AppState,
    nn: CityData,
}

fn setup(t: TestDb) -> Setup {
    let state = AppState::new(t.db.clone(), WebConfig::default());
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    Setup { app, state, nn }
}

impl Setup {
    /// A request through the public form from `PHONE`, SMS ticked or not: its code.
    async fn submit(&self, sms: bool) -> String {
        let cat = self
            .app
            .t
            .db
            .write_blocking(|c| Ok(shiliu_db::requests::categories(c, false)?.remove(1)))
            .unwrap();
        let (region, cat) = (self.nn.region.to_string(), cat.id.to_string());
        let mut f = vec![
            ("_csrf", TOKEN),
            ("region", region.as_str()),
            ("category_id", cat.as_str()),
            ("description", "小区路灯坏了一个月"),
            ("contact_phone", PHONE),
            ("consent", "1"),
        ];
        if sms {
            f.push(("sms", "1"));
        }
        let r = self.app.post("/r", RESIDENT, &f).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        r.location()
            .trim_start_matches("/r/")
            .split('?')
            .next()
            .unwrap()
            .to_string()
    }

    /// Staff dispatch the request to the city's site, accept and resolve it.
    fn resolve(&self, code: &str) {
        let (code, site) = (code.to_string(), self.nn.site);
        let staff = Actor::system("staff");
        self.app
            .t
            .db
            .write_blocking(move |c| {
                let mut r = shiliu_db::requests::by_code(c, &code)?;
                for (a, input) in [
                    (Action::Dispatch, ActionInput::default()),
                    (Action::Accept, ActionInput::default()),
                    (
                        Action::Resolve,
                        ActionInput {
                            outcome: Some(Outcome::Solved),
                            reply: Some("路灯已修复".into()),
                            ..ActionInput::default()
                        },
                    ),
                ] {
                    let step = shiliu_db::requests::StepInput {
                        action_input: input,
                        site_id: Some(site),
                        ..Default::default()
                    };
                    r = shiliu_db::requests::step(c, &staff, r.id, r.version, a, &step)?;
                }
                Ok(())
            })
            .unwrap();
    }

    /// What the log-only provider kept for `PHONE`.
    fn logged(&self) -> Vec<LoggedSms> {
        self.app
            .t
            .db
            .write_blocking(|c| sender::logged_for(c, PHONE))
            .unwrap()
    }
}

fn templates(logged: &[LoggedSms]) -> Vec<String> {
    logged.iter().map(|s| s.template.clone()).collect()
}

both_engines!(
    a_resident_who_ticks_sms_is_sent_received_resolved_and_rating_sms,
    |t: TestDb| {
        let s = setup(t);
        block_on(async {
            let code = s.submit(true).await;
            s.resolve(&code);
            deliver_due(&s.state).await.unwrap();
            let logged = s.logged();
            assert_eq!(
                templates(&logged),
                ["log:received", "log:resolved", "log:rate"]
            );
            assert!(logged.iter().all(|m| m.params.contains(&code)));
            assert!(logged[1].params.contains("路灯已修复"));
        });
    }
);

both_engines!(
    a_resident_who_leaves_sms_unticked_is_sent_none,
    |t: TestDb| {
        let s = setup(t);
        block_on(async {
            let code = s.submit(false).await;
            s.resolve(&code);
            deliver_due(&s.state).await.unwrap();
            assert!(s.logged().is_empty());
        });
    }
);

both_engines!(
    two_servers_delivering_at_once_send_each_sms_once,
    |t: TestDb| {
        let s = setup(t);
        let other = AppState::new(s.app.t.db.clone(), WebConfig::default());
        block_on(async {
            let code = s.submit(true).await;
            s.resolve(&code);
            let (a, b) = tokio::join!(deliver_due(&s.state), deliver_due(&other));
            assert_eq!(a.unwrap().sent + b.unwrap().sent, 3);
            assert_eq!(s.logged().len(), 3);
        });
    }
);

/// A provider that is down: every send fails.
struct Down;

impl SmsProvider for Down {
    fn name(&self) -> &'static str {
        "down"
    }

    fn send<'a>(
        &'a self,
        _sms: &'a Sms,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Answer> + Send + 'a>> {
        Box::pin(async { Err("connection refused".to_string()) })
    }
}

both_engines!(
    an_sms_the_provider_refuses_is_sent_later_by_the_next_provider_up,
    |t: TestDb| {
        let s = setup(t);
        block_on(async {
            s.submit(true).await;
            let down: Arc<dyn SmsProvider> = Arc::new(Down);
            let now = shiliu_db::now();
            let failed = deliver_with(&s.state, &down, now).await.unwrap();
            assert_eq!((failed.sent, failed.retrying), (0, 1));
            assert!(s.logged().is_empty());
            // Not before its backoff…
            let up = s.state.sms_provider();
            assert_eq!(deliver_with(&s.state, &up, now).await.unwrap().sent, 0);
            // …then through the provider that is up.
            let later = now + chrono::Duration::minutes(2);
            assert_eq!(deliver_with(&s.state, &up, later).await.unwrap().sent, 1);
            assert_eq!(templates(&s.logged()), ["log:received"]);
        });
    }
);

both_engines!(
    the_status_page_shows_the_timeline_the_site_the_deadline_and_the_reply,
    |t: TestDb| {
        let s = setup(t);
        block_on(async {
            let code = s.submit(false).await;
            let before = s.app.get(&format!("/r/{code}"), "").await.text();
            assert!(before.contains("办理期限"), "{before}");
            s.resolve(&code);
            let page = s.app.get(&format!("/r/{code}"), "").await.text();
            let site = s
                .app
                .t
                .db
                .write_blocking({
                    let site = s.nn.site;
                    move |c| shiliu_db::org::atlas::site_name(c, site)
                })
                .unwrap();
            for what in [
                "办理进度",
                "已提交",
                &format!("已派单至{site}"),
                "已接单",
                "已办结并答复",
                "路灯已修复",
                "办理方",
            ] {
                assert!(page.contains(what), "{what} missing: {page}");
            }
        });
    }
);

/// The one-time code the log-only provider kept for `PHONE`, after the sender ran.
async fn code_sent(s: &Setup) -> String {
    deliver_due(&s.state).await.unwrap();
    let sms = s
        .logged()
        .into_iter()
        .find(|m| m.template == "log:code")
        .unwrap();
    serde_json::from_str::<serde_json::Value>(&sms.params).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The ticket a code page carries.
fn ticket(page: &Resp) -> String {
    let text = page.text();
    let at = text.find("name=\"ticket\" value=\"").expect("a code form") + 21;
    text[at..].split('"').next().unwrap().to_string()
}

async fn ask(s: &Setup) -> String {
    let r = s
        .app
        .post(
            "/r/recover",
            RESIDENT,
            &[("_csrf", TOKEN), ("phone", PHONE)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    ticket(&r)
}

async fn try_code(s: &Setup, ticket: &str, code: &str) -> Resp {
    s.app
        .post(
            "/r/recover/code",
            RESIDENT,
            &[("_csrf", TOKEN), ("ticket", ticket), ("code", code)],
        )
        .await
}

both_engines!(
    a_lost_code_is_recovered_with_the_code_sent_by_sms,
    |t: TestDb| {
        let s = setup(t);
        block_on(async {
            let code = s.submit(false).await;
            let ticket = ask(&s).await;
            let sms_code = code_sent(&s).await;
            let r = try_code(&s, &ticket, &sms_code).await;
            assert_eq!(r.status, StatusCode::OK);
            assert!(r.text().contains(&format!("/r/{code}")), "{}", r.text());
        });
    }
);

both_engines!(a_wrong_code_says_how_many_tries_are_left, |t: TestDb| {
    let s = setup(t);
    block_on(async {
        s.submit(false).await;
        let ticket = ask(&s).await;
        let right = code_sent(&s).await;
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        let r = try_code(&s, &ticket, wrong).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("还可以再试 4 次"), "{}", r.text());
        let typo = try_code(&s, &ticket, "12ab56").await;
        assert!(typo.text().contains("应为短信中的 6 位数字"));
    });
});

both_engines!(
    a_code_spent_by_five_wrong_tries_no_longer_opens_the_list,
    |t: TestDb| {
        let s = setup(t);
        block_on(async {
            let code = s.submit(false).await;
            let ticket = ask(&s).await;
            let right = code_sent(&s).await;
            let wrong = if right == "000000" {
                "111111"
            } else {
                "000000"
            };
            for _ in 0..5 {
                try_code(&s, &ticket, wrong).await;
            }
            let r = try_code(&s, &ticket, &right).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(!r.text().contains(&code));
        });
    }
);

both_engines!(an_expired_code_no_longer_opens_the_list, |t: TestDb| {
    let s = setup(t);
    block_on(async {
        let code = s.submit(false).await;
        let ticket = ask(&s).await;
        let right = code_sent(&s).await;
        s.app
            .t
            .db
            .write_blocking(|c| {
                use shiliu_db::schema::resident_codes::dsl;
                let past = shiliu_db::now() - chrono::Duration::minutes(1);
                Ok(diesel::update(dsl::resident_codes)
                    .set(dsl::expires_at.eq(past))
                    .execute(c)?)
            })
            .unwrap();
        let r = try_code(&s, &ticket, &right).await;
        assert!(r.text().contains("验证码已过期"), "{}", r.text());
        assert!(!r.text().contains(&code));
    });
});

both_engines!(
    the_inbox_lists_ones_messages_and_the_bell_counts_them,
    |t: TestDb| {
        let s = setup(t);
        let nn = s.nn.clone();
        s.app
            .t
            .db
            .write_blocking(move |c| {
                let region = shiliu_db::org::get_region(
                    c,
                    &shiliu_db::scope::Scope::everything(),
                    nn.region,
                )?;
                crate::common::user(
                    c,
                    "nn-desk",
                    shiliu_domain::roles::Role::SiteStaff,
                    &region,
                    vec![],
                    "x",
                );
                diesel::update(users::table.filter(users::username.eq("nn-desk")))
                    .set(users::site_id.eq(Some(nn.site)))
                    .execute(c)?;
                Ok(())
            })
            .unwrap();
        block_on(async {
            let code = s.submit(false).await;
            s.resolve(&code);
            let (cookie, csrf) = s.app.session("nn-desk");
            let home = s.app.get("/", &cookie).await.text();
            assert!(home.contains("class=\"count\">1<"), "{home}");
            let inbox = s.app.get("/messages", &cookie).await.text();
            assert!(inbox.contains(&code), "{inbox}");
            let (other, _) = s.app.session("nn-site-staff");
            assert!(!s.app.get("/messages", &other).await.text().contains(&code));
            let r = s
                .app
                .post("/messages/read-all", &cookie, &[("_csrf", &csrf)])
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            assert!(
                !s.app
                    .get("/", &cookie)
                    .await
                    .text()
                    .contains("class=\"count\"")
            );
        });
    }
);
