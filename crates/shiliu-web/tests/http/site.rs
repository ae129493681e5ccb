//! The site as a whole: catalogues, health and metrics, every link a role is shown.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shiliu_db::both_engines;
use shiliu_db::testing::TestDb;
use shiliu_domain::roles::Role;
use shiliu_web::WebConfig;

use crate::common::*;
use shiliu_domain::requests::Status;

both_engines!(health_readiness_and_metrics, |t: TestDb| {
    let app = App::with(
        t,
        WebConfig {
            metrics_token: Some("scrape-0123456789".into()),
            ..WebConfig::default()
        },
    );
    block_on(async {
        assert_eq!(app.get("/healthz", "").await.text(), "ok");
        assert_eq!(app.get("/readyz", "").await.status, StatusCode::OK);
        app.get("/login", "").await;
        app.get("/sites/1", "").await;
        // The metrics only to the scraper holding the token.
        let scrape = |token: &'static str| {
            let app = &app;
            async move {
                app.call(
                    Request::get("/metrics")
                        .header(header::AUTHORIZATION, format!("Bearer {token}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
            }
        };
        assert_eq!(
            app.get("/metrics", "").await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(scrape("wrong-token").await.status, StatusCode::UNAUTHORIZED);
        let m = scrape("scrape-0123456789").await.text();
        assert!(
            m.contains(
                "shiliu_http_requests_total{method=\"GET\",route=\"/login\",status=\"200\"} 1"
            ),
            "{m}"
        );
        assert!(m.contains("shiliu_http_request_duration_seconds_bucket{method=\"GET\",route=\"/sites/{id}\",le=\"+Inf\"} 1"), "{m}");
        assert!(m.contains("shiliu_db_pool_max{engine="));
    });
    // A database whose migrations have not run is not ready.
    let empty = App::new(TestDb::empty(app.t.engine()));
    block_on(async {
        let r = empty.get("/readyz", "").await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.text(), "migrations pending");
    });
});

both_engines!(every_link_a_role_is_shown_works, |t: TestDb| {
    let app = App::new(t);
    app.t
        .db
        .write_blocking(|c| {
            seed_city(c, "450100", "nn", "x");
            seed_city(c, "450200", "lz", "x");
            Ok(())
        })
        .unwrap();
    block_on(async {
        for role in Role::ALL {
            let name = format!("nn-{}", role.as_str().replace('_', "-"));
            let (cookie, _) = app.session(&name);
            let mut queue = std::collections::VecDeque::from(vec!["/".to_string()]);
            let mut seen = std::collections::HashSet::new();
            while let Some(path) = queue.pop_front() {
                if !seen.insert(path.clone()) || seen.len() > 80 {
                    continue;
                }
                let mut r = app.get(&path, &cookie).await;
                let mut at = path.clone();
                for _ in 0..3 {
                    if !r.status.is_redirection() {
                        break;
                    }
                    at = r.headers[header::LOCATION].to_str().unwrap().to_string();
                    r = app.get(&at, &cookie).await;
                }
                assert_eq!(
                    r.status,
                    StatusCode::OK,
                    "{name}: the link {path} (→ {at}) is shown but does not work"
                );
                queue.extend(links(&r.text()));
            }
        }
    });
});

#[test]
fn catalogues_cover_every_key_used() {
    let read =
        |p: &str| std::fs::read_to_string(format!("{}/{p}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let zh: std::collections::BTreeMap<String, String> =
        toml::from_str(&read("locales/zh-CN.toml")).unwrap();
    let en: std::collections::BTreeMap<String, String> =
        toml::from_str(&read("locales/en.toml")).unwrap();
    assert_eq!(
        zh.keys().collect::<Vec<_>>(),
        en.keys().collect::<Vec<_>>(),
        "both catalogues have the same keys"
    );
    // Every literal key in templates and sources exists.
    let mut sources = Vec::new();
    let mut dirs: Vec<std::path::PathBuf> = [
        "templates",
        "src",
        "../shiliu-domain/src",
        "../shiliu-db/src",
    ]
    .iter()
    .map(|d| format!("{}/{d}", env!("CARGO_MANIFEST_DIR")).into())
    .collect();
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                sources.push(std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let prefixes = [
        "err.",
        "nav.",
        "login.",
        "home.",
        "count.",
        "field.",
        "status.",
        "action.",
        "list.",
        "regions.",
        "sites.",
        "units.",
        "users.",
        "audit.",
        "tokens.",
        "import.",
        "lang.",
        "app.",
        "account.",
        "reference.",
        "requests.",
        "routing.",
        "stats.",
        "settings.",
        "public.",
        "registry.",
        "declare.",
        "linkage.",
        "assists.",
        "surveys.",
        "needs.",
        "services.",
        "registry_import.",
        "eval.",
    ];
    for src in &sources {
        for piece in src.split('"').skip(1).step_by(2) {
            if prefixes.iter().any(|p| piece.starts_with(p))
                && !piece.contains(' ')
                && !piece.contains('{')
                && !std::path::Path::new(piece)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("html"))
                && !piece.ends_with('.')
                && piece.len() < 60
            {
                assert!(zh.contains_key(piece), "catalogue lacks {piece}");
            }
        }
    }
    // Labels built from codes.
    for r in Role::ALL {
        assert!(zh.contains_key(&format!("role.{}", r.as_str())));
    }
    for k in shiliu_domain::org::SiteType::ALL {
        assert!(zh.contains_key(&format!("site_type.{}", k.as_str())));
    }
    for k in shiliu_domain::org::UnitCategory::ALL {
        assert!(zh.contains_key(&format!("category.{}", k.as_str())));
    }
    {
        use shiliu_domain::registry as r;
        let coded = r::Employment::ALL
            .iter()
            .map(|k| format!("employment.{k}"))
            .chain(r::Relation::ALL.iter().map(|k| format!("relation.{k}")))
            .chain(r::PersonTag::ALL.iter().map(|k| format!("person_tag.{k}")))
            .chain(
                r::PersonStatus::ALL
                    .iter()
                    .map(|k| format!("person_status.{k}")),
            )
            .chain(
                r::ConsentPurpose::ALL
                    .iter()
                    .map(|k| format!("consent_purpose.{k}")),
            )
            .chain(
                r::ConsentChannel::ALL
                    .iter()
                    .map(|k| format!("consent_channel.{k}")),
            )
            .chain(
                r::AssistKind::ALL
                    .iter()
                    .map(|k| format!("assist_kind.{k}")),
            )
            .chain(
                r::AssistStatus::ALL
                    .iter()
                    .map(|k| format!("assist_status.{k}")),
            )
            .chain(
                r::needs::NeedKind::ALL
                    .iter()
                    .map(|k| format!("need_kind.{k}")),
            )
            .chain(
                r::needs::NeedStatus::ALL
                    .iter()
                    .map(|k| format!("need_status.{k}")),
            )
            .chain(
                r::needs::ServiceKind::ALL
                    .iter()
                    .map(|k| format!("service_kind.{k}")),
            )
            .chain(
                r::needs::SurveyStatus::ALL
                    .iter()
                    .map(|k| format!("survey_status.{k}")),
            )
            .chain(["sex.male".to_string(), "sex.female".to_string()]);
        let coded = coded
            .chain(
                shiliu_domain::evaluation::Stage::ALL
                    .iter()
                    .map(|k| format!("eval_stage.{k}")),
            )
            .chain(
                shiliu_domain::evaluation::MergeRule::ALL
                    .iter()
                    .map(|k| format!("merge_rule.{k}")),
            )
            .chain(
                shiliu_domain::evaluation::CriterionKind::ALL
                    .iter()
                    .map(|k| format!("criterion_kind.{k}")),
            );
        for k in coded {
            assert!(zh.contains_key(&k), "catalogue lacks {k}");
        }
    }
    let coded = Status::ALL
        .iter()
        .map(|k| format!("status.{k}"))
        .chain(
            shiliu_domain::requests::Action::ALL
                .iter()
                .map(|k| format!("req_action.{k}")),
        )
        .chain(
            shiliu_domain::requests::Channel::ALL
                .iter()
                .map(|k| format!("channel.{k}")),
        )
        .chain(
            shiliu_domain::requests::Outcome::ALL
                .iter()
                .map(|k| format!("outcome.{k}")),
        )
        .chain(
            shiliu_domain::requests::Rating::ALL
                .iter()
                .map(|k| format!("rating.{k}")),
        )
        .chain(
            ["community", "nearest", "none", "dispatched", "transferred"]
                .iter()
                .map(|k| format!("routing.{k}")),
        );
    for key in coded {
        assert!(zh.contains_key(&key), "catalogue lacks {key}");
    }
}
