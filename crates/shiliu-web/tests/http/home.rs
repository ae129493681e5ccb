//! The to-do home: each role's counters, and each counter equal to the rows of the list it
//! links to.

use axum::http::StatusCode;
use shiliu_db::both_engines;
use shiliu_db::testing::TestDb;
use shiliu_web::WebConfig;

use crate::common::*;

/// One city with records of every kind (a request dispatched, a dispute, a legal-aid case, a
/// declaration, a request for assistance, a survey), and a user of every role.
fn city_of_every_kind(t: TestDb) -> App {
    let vault = shiliu_db::registry::Vault::random();
    let app = App::with(
        t,
        WebConfig {
            vault: vault.clone(),
            ..WebConfig::default()
        },
    );
    app.t
        .db
        .write_blocking(move |c| {
            let nn = seed_city(c, "450100", "nn", "x");
            // The city's request waits in a category its grid worker may resolve on the spot.
            let r =
                shiliu_db::requests::get(c, &shiliu_db::scope::Scope::everything(), nn.request)?;
            let k = shiliu_db::requests::category(c, r.category_id)?;
            let spot = shiliu_domain::requests::CategoryInput {
                code: k.code.clone(),
                name: k.name.clone(),
                name_en: k.name_en.clone(),
                service_minutes: k.service_minutes,
                on_the_spot: true,
            };
            let sys = shiliu_db::scope::Actor::system("test");
            shiliu_db::requests::update_category(c, &sys, k.id, k.version, &spot, true)?;
            seed_every_kind(c, &vault, nn, "nn");
            Ok(())
        })
        .unwrap();
    app
}

/// The home's counters: (what, how many, link).
fn counters(home: &str) -> Vec<(String, i64, String)> {
    home.split("<a href=\"")
        .skip(1)
        .filter_map(|part| {
            let (href, rest) = part.split_once('"')?;
            let rest = rest.strip_prefix(" data-todo=\"")?;
            let (what, rest) = rest.split_once('"')?;
            let n = rest.split_once("\">")?.1.split_once('<')?.0;
            Some((what.into(), n.parse().ok()?, href.replace("&amp;", "&")))
        })
        .collect()
}

/// The kinds of work on `user`'s home.
async fn kinds_on_home(app: &App, user: &str) -> Vec<String> {
    let (cookie, _) = app.session(user);
    counters(&home_of(app, &cookie).await)
        .into_iter()
        .map(|(what, _, _)| what)
        .collect()
}

/// The rows a list page shows: its table's body rows, or a survey's households.
fn rows_shown(html: &str) -> usize {
    if let Some((_, body)) = html.split_once("<tbody>") {
        let body = body.split_once("</tbody>").map_or(body, |b| b.0);
        body.matches("<tr").count()
    } else {
        html.matches("/households/").count()
    }
}

const REQUEST_QUEUES: [&str; 3] = ["queue.due_soon", "queue.overdue", "queue.escalated"];

both_engines!(
    a_dispatchers_home_counts_every_request_queue_and_the_registers_work,
    |t: TestDb| {
        let app = city_of_every_kind(t);
        let kinds = block_on(kinds_on_home(&app, "nn-commission-staff"));
        for k in [
            "queue.to_dispatch",
            "queue.to_accept",
            "queue.to_rate",
            "todo.declarations",
            "todo.assists",
            "todo.disputes_open",
            "todo.legal_aid_open",
        ]
        .iter()
        .chain(&REQUEST_QUEUES)
        {
            assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
        }
    }
);

both_engines!(
    a_site_staffs_home_counts_what_to_accept_and_no_dispatching,
    |t: TestDb| {
        let app = city_of_every_kind(t);
        let kinds = block_on(kinds_on_home(&app, "nn-site-staff"));
        assert!(kinds.iter().any(|x| x == "queue.to_accept"), "{kinds:?}");
        assert!(kinds.iter().any(|x| x == "todo.declarations"), "{kinds:?}");
        assert!(!kinds.iter().any(|x| x == "queue.to_dispatch"), "{kinds:?}");
    }
);

both_engines!(
    a_grid_workers_home_counts_what_to_resolve_on_the_spot_declarations_and_assists_and_no_dispatching,
    |t: TestDb| {
        let app = city_of_every_kind(t);
        let kinds = block_on(kinds_on_home(&app, "nn-grid-worker"));
        // Their own work first: what they may resolve on the spot in their grids.
        assert_eq!(kinds.first().map(String::as_str), Some("queue.on_the_spot"));
        assert!(kinds.iter().any(|x| x == "todo.declarations"), "{kinds:?}");
        assert!(kinds.iter().any(|x| x == "todo.assists"), "{kinds:?}");
        assert!(
            !kinds
                .iter()
                .any(|x| x == "queue.to_accept" || x == "queue.to_dispatch"),
            "{kinds:?}"
        );
    }
);

both_engines!(
    a_leader_starts_on_the_dashboard_whose_late_and_escalated_are_the_lists_rows,
    |t: TestDb| {
        let app = city_of_every_kind(t);
        block_on(async {
            let (cookie, _) = app.session("nn-leader");
            let home = app.get("/", &cookie).await;
            assert_eq!(home.status, StatusCode::SEE_OTHER);
            assert_eq!(home.location(), "/dashboard");
            let board = app.get("/dashboard", &cookie).await.text();
            for queue in ["overdue", "escalated"] {
                let card = board
                    .split(&format!("data-measure=\"{queue}\""))
                    .nth(1)
                    .unwrap_or_else(|| panic!("{queue} on the board"));
                let n: usize = card
                    .split("<span class=\"n\">")
                    .nth(1)
                    .and_then(|x| x.split('<').next())
                    .and_then(|x| x.parse().ok())
                    .unwrap();
                let list = app
                    .get(&format!("/requests?queue={queue}&region=450100"), &cookie)
                    .await;
                assert_eq!(list.status, StatusCode::OK);
                assert_eq!(rows_shown(&list.text()), n, "{queue}");
            }
        });
    }
);

both_engines!(
    a_lawyers_home_counts_their_disputes_and_cases,
    |t: TestDb| {
        let app = city_of_every_kind(t);
        let kinds = block_on(kinds_on_home(&app, "nn-legal-aid"));
        for k in [
            "todo.disputes_open",
            "todo.disputes_mediating",
            "todo.legal_aid_open",
        ] {
            assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
        }
    }
);

both_engines!(
    an_evaluators_home_has_no_counters_of_requests_or_the_register,
    |t: TestDb| {
        let app = city_of_every_kind(t);
        assert!(block_on(kinds_on_home(&app, "nn-evaluator")).is_empty());
    }
);

both_engines!(
    every_counter_on_every_roles_home_equals_the_rows_of_the_list_it_opens,
    |t: TestDb| {
        let app = city_of_every_kind(t);
        block_on(async {
            let mut nonzero = 0;
            for role in shiliu_domain::roles::Role::ALL {
                let user = format!("nn-{}", role.as_str().replace('_', "-"));
                let (cookie, _) = app.session(&user);
                for (what, n, href) in counters(&home_of(&app, &cookie).await) {
                    let list = app.get(&href, &cookie).await;
                    assert_eq!(list.status, StatusCode::OK, "{user}: {href}");
                    assert_eq!(
                        rows_shown(&list.text()) as i64,
                        n,
                        "{user}: {what} counts {n}, {href} shows otherwise"
                    );
                    nonzero += usize::from(n > 0);
                }
            }
            // A walk where every counter is zero would prove little.
            assert!(nonzero >= 5, "counters above zero: {nonzero}");
        });
    }
);

both_engines!(
    the_api_gives_the_homes_counters_with_their_links,
    |t: TestDb| {
        let app = city_of_every_kind(t);
        block_on(async {
            let (cookie, _) = app.session("nn-commission-staff");
            let home = counters(&home_of(&app, &cookie).await);
            let (st, todo) = app.api_get("/api/v1/todo", "nn-commission-staff").await;
            assert_eq!(st, StatusCode::OK, "{todo}");
            let api: Vec<(String, i64, String)> = todo
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["what"].as_str().unwrap().to_string(),
                        c["count"].as_i64().unwrap(),
                        c["href"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            assert_eq!(api, home);
        });
    }
);
