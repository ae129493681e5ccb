//! The site as a whole: catalogues, health and metrics, every link a role is shown.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shiliu_db::both_engines;
use shiliu_db::testing::TestDb;
use shiliu_domain::roles::Role;
use shiliu_web::WebConfig;

use crate::common::*;

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
