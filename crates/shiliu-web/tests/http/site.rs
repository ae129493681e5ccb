//! The site as a whole: catalogues, health and metrics, every link a role is shown.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shiliu_db::both_engines;
use shiliu_db::testing::TestDb;
use shiliu_domain::roles::Role;
use shiliu_web::WebConfig;

use crate::common::*;
use shiliu_domain::requests::Status;

/// The app with a metrics token for the scraper.
fn with_metrics_token(t: TestDb) -> App {
    App::with(
        t,
        WebConfig {
            metrics_token: Some("scrape-0123456789".into()),
            ..WebConfig::default()
        },
    )
}

/// `/metrics` as a scraper holding `token`.
async fn scrape(app: &App, token: &str) -> Resp {
    app.call(
        Request::get("/metrics")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

both_engines!(health_and_readiness_answer, |t: TestDb| {
    let app = with_metrics_token(t);
    block_on(async {
        assert_eq!(app.get("/healthz", "").await.text(), "ok");
        assert_eq!(app.get("/readyz", "").await.status, StatusCode::OK);
    });
});

both_engines!(
    the_metrics_are_only_for_the_scraper_holding_the_token,
    |t: TestDb| {
        let app = with_metrics_token(t);
        block_on(async {
            assert_eq!(
                app.get("/metrics", "").await.status,
                StatusCode::UNAUTHORIZED
            );
            assert_eq!(
                scrape(&app, "wrong-token").await.status,
                StatusCode::UNAUTHORIZED
            );
        });
    }
);

both_engines!(the_metrics_count_requests_by_route, |t: TestDb| {
    let app = with_metrics_token(t);
    block_on(async {
        app.get("/login", "").await;
        app.get("/sites/1", "").await;
        let m = scrape(&app, "scrape-0123456789").await.text();
        assert!(
            m.contains(
                "shiliu_http_requests_total{method=\"GET\",route=\"/login\",status=\"200\"} 1"
            ),
            "{m}"
        );
        assert!(m.contains("shiliu_http_request_duration_seconds_bucket{method=\"GET\",route=\"/sites/{id}\",le=\"+Inf\"} 1"), "{m}");
        assert!(m.contains("shiliu_db_pool_max{engine="));
    });
});

both_engines!(
    a_database_whose_migrations_have_not_run_is_not_ready,
    |t: TestDb| {
        let empty = App::new(TestDb::empty(t.engine()));
        block_on(async {
            let r = empty.get("/readyz", "").await;
            assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(r.text(), "migrations pending");
        });
    }
);

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

/// One of the catalogues, `locales/{lang}.toml`: key → text.
fn catalogue(lang: &str) -> std::collections::BTreeMap<String, String> {
    let path = format!("{}/locales/{lang}.toml", env!("CARGO_MANIFEST_DIR"));
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every file of the templates and of the sources that may name a catalogue key.
fn templates_and_sources() -> Vec<String> {
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
    sources
}

/// `keys` that the Chinese catalogue lacks.
fn lacking(keys: impl IntoIterator<Item = String>) -> Vec<String> {
    let zh = catalogue("zh-CN");
    keys.into_iter().filter(|k| !zh.contains_key(k)).collect()
}

/// `prefix.code` for every code of a list.
fn labels<T: std::fmt::Display>(prefix: &str, codes: &[T]) -> Vec<String> {
    codes.iter().map(|k| format!("{prefix}.{k}")).collect()
}

/// `GET path` as a browser that takes the encodings `accept`.
async fn get_accepting(app: &App, path: &str, cookie: &str, accept: &str) -> Resp {
    app.call(
        Request::get(path)
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT_ENCODING, accept)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

fn encoding(r: &Resp) -> Option<&str> {
    r.headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
}

both_engines!(a_page_goes_out_gzip_compressed_when_asked, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let plain = app.get("/login", "").await;
        let r = get_accepting(&app, "/login", "", "gzip").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(encoding(&r), Some("gzip"));
        assert!(r.body.len() < plain.body.len(), "{} bytes", r.body.len());
        let mut page = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut page)
            .unwrap();
        assert!(page.contains("name=\"password\""), "{page}");
    });
});

both_engines!(brotli_is_chosen_when_the_browser_takes_it, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let r = get_accepting(&app, "/static/app.css", "", "gzip, deflate, br").await;
        assert_eq!(encoding(&r), Some("br"));
    });
});

both_engines!(a_tiny_answer_is_not_compressed, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let r = get_accepting(&app, "/healthz", "", "gzip, br").await;
        assert_eq!((r.status, encoding(&r)), (StatusCode::OK, None));
        assert_eq!(r.text(), "ok");
    });
});

both_engines!(a_spreadsheet_is_not_compressed_again, |t: TestDb| {
    let app = App::new(t);
    app.t
        .db
        .write_blocking(|c| {
            seed_city(c, "450100", "nn", "x");
            Ok(())
        })
        .unwrap();
    let (cookie, _) = app.session("nn-commission-staff");
    block_on(async {
        let r = get_accepting(&app, "/sites/export.xlsx", &cookie, "gzip, br").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(encoding(&r), None);
        assert!(r.body.starts_with(b"PK"), "a zip archive as it was made");
    });
});

both_engines!(
    the_web_app_manifest_names_the_app_and_its_icon,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let r = app.get("/manifest.webmanifest", "").await;
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(r.headers[header::CONTENT_TYPE], "application/manifest+json");
            let m: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(m["start_url"], "/");
            assert_eq!(m["display"], "standalone");
            let icon = m["icons"][0]["src"].as_str().unwrap();
            let i = app.get(icon, "").await;
            assert_eq!(i.status, StatusCode::OK);
            assert_eq!(i.headers[header::CONTENT_TYPE], "image/svg+xml");
            assert!(i.text().starts_with("<svg"));
        });
    }
);

both_engines!(every_page_links_the_manifest, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let page = app.get("/login", "").await.text();
        assert!(
            page.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#),
            "{page}"
        );
    });
});

both_engines!(the_sign_in_page_links_every_public_page, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let page = app.get("/login", "").await.text();
        for link in ["/r", "/r/track", "/d", "/d/track"] {
            assert!(page.contains(&format!("<a href=\"{link}\">")), "{link}");
        }
    });
});

#[test]
fn both_catalogues_have_the_same_keys() {
    let (zh, en) = (catalogue("zh-CN"), catalogue("en"));
    assert_eq!(
        zh.keys().collect::<Vec<_>>(),
        en.keys().collect::<Vec<_>>(),
        "both catalogues have the same keys"
    );
}

/// A catalogue key's prefix, as every key of the catalogue has one (`requests.` of
/// `requests.title`).
fn prefix_of(key: &str) -> Option<&str> {
    key.find('.').map(|i| &key[..=i])
}

#[test]
fn every_literal_key_in_templates_and_sources_is_in_the_catalogue() {
    let zh = catalogue("zh-CN");
    // The prefixes come from the catalogue itself: every module's keys are checked, and a
    // module added with its own prefix is checked from its first key on.
    let prefixes: std::collections::BTreeSet<&str> =
        zh.keys().filter_map(|k| prefix_of(k)).collect();
    assert!(prefixes.len() > 50, "{prefixes:?}");
    // Literals that start like a key and are not one: file names.
    let files = [
        "css", "js", "svg", "html", "toml", "rs", "xlsx", "csv", "json", "png", "txt",
    ];
    // Audit actions (`Event::new("category.create", …)`) are names in the log, not labels.
    let sources = templates_and_sources();
    let audit_actions: std::collections::BTreeSet<&str> = sources
        .iter()
        .flat_map(|src| src.split("Event::new(\"").skip(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let mut lacking = std::collections::BTreeSet::new();
    for src in &sources {
        for piece in src.split('"').skip(1).step_by(2) {
            let looks_like_a_key = prefix_of(piece).is_some_and(|p| prefixes.contains(p))
                && !piece.contains(' ')
                && !piece.contains('{')
                && !piece.ends_with('.')
                && piece.len() < 60
                && piece.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
                && !std::path::Path::new(piece)
                    .extension()
                    .is_some_and(|e| files.iter().any(|f| e.eq_ignore_ascii_case(f)));
            if looks_like_a_key && !zh.contains_key(piece) && !audit_actions.contains(piece) {
                lacking.insert(piece.to_string());
            }
        }
    }
    assert!(lacking.is_empty(), "catalogue lacks {lacking:?}");
}

// Labels built from codes.

#[test]
fn every_role_site_type_and_unit_category_has_a_label() {
    let zh = catalogue("zh-CN");
    for r in Role::ALL {
        assert!(zh.contains_key(&format!("role.{}", r.as_str())));
    }
    for k in shiliu_domain::org::SiteType::ALL {
        assert!(zh.contains_key(&format!("site_type.{}", k.as_str())));
    }
    for k in shiliu_domain::org::UnitCategory::ALL {
        assert!(zh.contains_key(&format!("category.{}", k.as_str())));
    }
}

#[test]
fn every_code_of_the_register_has_a_label() {
    use shiliu_domain::registry as r;
    let coded = [
        labels("employment", r::Employment::ALL),
        labels("relation", r::Relation::ALL),
        labels("person_tag", r::PersonTag::ALL),
        labels("person_status", r::PersonStatus::ALL),
        labels("consent_purpose", r::ConsentPurpose::ALL),
        labels("consent_channel", r::ConsentChannel::ALL),
        labels("assist_kind", r::AssistKind::ALL),
        labels("assist_status", r::AssistStatus::ALL),
        labels("need_kind", r::needs::NeedKind::ALL),
        labels("need_status", r::needs::NeedStatus::ALL),
        labels("service_kind", r::needs::ServiceKind::ALL),
        labels("survey_status", r::needs::SurveyStatus::ALL),
        vec!["sex.male".to_string(), "sex.female".to_string()],
    ];
    let lacks = lacking(coded.concat());
    assert!(lacks.is_empty(), "catalogue lacks {lacks:?}");
}

#[test]
fn every_code_of_an_evaluation_has_a_label() {
    use shiliu_domain::evaluation as e;
    let coded = [
        labels("eval_stage", e::Stage::ALL),
        labels("merge_rule", e::MergeRule::ALL),
        labels("criterion_kind", e::CriterionKind::ALL),
    ];
    let lacks = lacking(coded.concat());
    assert!(lacks.is_empty(), "catalogue lacks {lacks:?}");
}

#[test]
fn every_code_of_a_request_has_a_label() {
    use shiliu_domain::requests as q;
    let coded = [
        labels("status", Status::ALL),
        labels("req_action", q::Action::ALL),
        labels("channel", q::Channel::ALL),
        labels("outcome", q::Outcome::ALL),
        labels("rating", q::Rating::ALL),
        labels(
            "routing",
            &[
                "community",
                "nearest",
                "none",
                "dispatched",
                "transferred",
                "on_the_spot",
            ],
        ),
    ];
    let lacks = lacking(coded.concat());
    assert!(lacks.is_empty(), "catalogue lacks {lacks:?}");
}
