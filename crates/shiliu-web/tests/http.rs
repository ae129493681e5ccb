//! Black-box tests through the router, on both engines: sign-in, CSRF, lockout, the API's
//! error envelope, and the walk of every route as every role from two sibling regions.

#[path = "support/disclosure.rs"]
mod disclosure;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shiliu_db::accounts::{self, NewUser};
use shiliu_db::org::{self, Region};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbConnection, audit, both_engines};
use shiliu_domain::accounts::Username;
use shiliu_domain::org::{RegionInput, SiteInput, UnitInput};

use disclosure::{SeenPage, hukou_rest_recoverable, recoverable, seen_page};
use shiliu_domain::requests::{Channel, RequestInput, Status};
use shiliu_domain::roles::Role;
use shiliu_web::{AppState, WebConfig};
use tower::ServiceExt;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

struct App {
    router: Router,
    t: TestDb,
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Where a redirect points.
    fn location(&self) -> String {
        self.headers[header::LOCATION]
            .to_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl App {
    fn new(t: TestDb) -> Self {
        Self::with(
            t,
            WebConfig {
                lockout: accounts::LockoutPolicy {
                    max_failures: 3,
                    lock_for: chrono::Duration::minutes(15),
                },
                ..WebConfig::default()
            },
        )
    }

    fn with(t: TestDb, config: WebConfig) -> Self {
        let state = AppState::new(t.db.clone(), config);
        Self {
            router: shiliu_web::router(state),
            t,
        }
    }

    async fn call(&self, req: Request<Body>) -> Resp {
        let r = self.router.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str, cookie: &str) -> Resp {
        self.call(
            Request::get(path)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Resp {
        let body = serde_urlencoded::to_string(form).unwrap();
        self.call(
            Request::post(path)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// `GET path` with an API token of `username` (all their role's permissions), as JSON.
    async fn api_get(&self, path: &str, username: &str) -> (StatusCode, serde_json::Value) {
        self.api("GET", path, username, None).await
    }

    /// A call with an API token of `username` (all their role's permissions), JSON both ways.
    async fn api(
        &self,
        method: &str,
        path: &str,
        username: &str,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let token = format!("tok-{username}-{}", shiliu_db::ids::new_id());
        let (u, hash) = (username.to_string(), shiliu_web::web::sha256_hex(&token));
        self.t
            .db
            .write_blocking(move |c| {
                let user = accounts::find_by_username(c, &u)?.expect("user");
                let actor = accounts::acting_as(c, &user, "test")?;
                let until = shiliu_db::now() + chrono::Duration::hours(1);
                accounts::create_token(c, &actor, "test", &hash, user.role().permissions(), until)
            })
            .unwrap();
        let r = self
            .call(
                Request::builder()
                    .method(method)
                    .uri(path)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
                    .unwrap(),
            )
            .await;
        (
            r.status,
            serde_json::from_slice(&r.body).unwrap_or_default(),
        )
    }

    /// A signed-in session for `username`, made directly (argon2 is not under test here).
    fn session(&self, username: &str) -> (String, String) {
        let token = format!("tok-{username}-{}", shiliu_db::ids::new_id());
        let csrf = format!("csrf-{username}");
        let hash = shiliu_web::web::sha256_hex(&token);
        let (u, c2) = (username.to_string(), csrf.clone());
        self.t
            .db
            .write_blocking(move |c| {
                let user = accounts::find_by_username(c, &u)?.expect("user");
                accounts::login_succeeded(c, &Actor::system("test"), &user, &hash, &c2, "test")
            })
            .unwrap();
        (format!("shiliu_session={token}"), csrf)
    }
}

fn user(
    c: &mut DbConnection,
    name: &str,
    role: Role,
    region: &Region,
    grids: Vec<i64>,
    hash: &str,
) -> i64 {
    let new = NewUser {
        username: Username::parse(name).unwrap(),
        display_name: format!("用户{name}"),
        password_hash: hash.to_string(),
        role,
        region_id: region.id,
        unit_id: None,
        site_id: None,
        phone: None,
        grid_ids: grids,
    };
    accounts::create_user(
        c,
        &shiliu_db::scope::Can::check(&Actor::system("test")).unwrap(),
        &new,
    )
    .unwrap()
    .id
}

/// Records of one city: ids and the unique names that must never show up elsewhere.
#[derive(Debug, Clone)]
struct CityData {
    region: i64,
    grid: i64,
    site: i64,
    unit: i64,
    user: i64,
    request: i64,
    person: i64,
    evaluation: i64,
    marks: Vec<String>,
}

fn seed_city(c: &mut DbConnection, code: &str, tag: &str, hash: &str) -> CityData {
    let sys = Actor::system("test");
    let all = Scope::everything();
    let city = org::get_region_by_code(c, &all, code).unwrap();
    let county = org::children(c, &all, city.id, false).unwrap().remove(0);
    let town = org::children(c, &all, county.id, false).unwrap().remove(0);
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
        &RegionInput::parse(&format!("{tag}网格"), "").unwrap(),
    )
    .unwrap();
    let site = org::create_site(
        c,
        &sys,
        grid.id,
        &SiteInput::parse(&format!("{tag}民族之家"), "minzu_home", "", "", "", "").unwrap(),
    )
    .unwrap();
    let unit = org::create_unit(
        c,
        &sys,
        city.id,
        &UnitInput::parse(&format!("{tag}教育局"), "department", "", "").unwrap(),
    )
    .unwrap();
    let mut first_user = 0;
    for role in Role::ALL {
        let (region, grids) = if *role == Role::GridWorker {
            (&town, vec![grid.id])
        } else {
            (&city, vec![])
        };
        let id = user(
            c,
            &format!("{tag}-{}", role.as_str().replace('_', "-")),
            *role,
            region,
            grids,
            hash,
        );
        if first_user == 0 {
            first_user = id;
        }
    }
    let cat = shiliu_db::requests::categories(c, false).unwrap().remove(0);
    let input = shiliu_domain::requests::RequestInput::parse(
        shiliu_domain::requests::Channel::Hotline,
        &format!("{tag}诉求内容"),
        "",
        "",
        "",
        false,
    )
    .unwrap();
    let request = shiliu_db::requests::create(c, &sys, &input, cat.id, grid.id, None).unwrap();
    let resident = shiliu_domain::registry::PersonInput::parse(
        &shiliu_domain::registry::PersonForm {
            name: format!("{tag}登记人"),
            sex: "female".into(),
            birth_date: "1990-01-01".into(),
            people: "壮族".into(),
            hukou: "451022".into(),
            address: format!("{tag}路 1 号"),
            ..Default::default()
        },
        shiliu_db::today(),
    )
    .unwrap();
    let person = shiliu_db::registry::register(
        c,
        &shiliu_db::scope::Can::check(&sys).unwrap(),
        &shiliu_db::registry::Vault::random(),
        &shiliu_db::registry::Registration {
            person: &resident,
            region_id: grid.id,
            household: shiliu_db::registry::Household::New,
            consents: &[],
            on_duplicate: shiliu_db::registry::OnDuplicate::Refuse,
        },
    )
    .unwrap()
    .person()
    .id;
    let scheme = shiliu_domain::evaluation::SchemeInput::parse(
        "2026",
        &format!("{tag}考评方案"),
        &format!("{tag}民宗委"),
        "field_first",
        "",
        "",
        "",
    )
    .unwrap();
    let evaluation = shiliu_db::evaluation::create_scheme(c, &sys, city.id, &scheme)
        .unwrap()
        .id;
    CityData {
        evaluation,
        person,
        region: comm.id,
        request: request.id,
        grid: grid.id,
        site: site.id,
        unit: unit.id,
        user: first_user,
        marks: vec![
            format!("{tag}社区"),
            format!("{tag}网格"),
            format!("{tag}民族之家"),
            format!("{tag}教育局"),
            format!("用户{tag}-"),
            format!("{tag}诉求内容"),
            format!("{tag}登记人"),
            format!("{tag}考评方案"),
        ],
    }
}

/// The home page's HTML for a session.
async fn home_of(app: &App, cookie: &str) -> String {
    app.get("/", cookie).await.text()
}

fn xlsx_text(bytes: &[u8]) -> String {
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut out = String::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).unwrap();
        for row in range.rows() {
            for cell in row {
                out.push_str(&cell.to_string());
                out.push('\t');
            }
            out.push('\n');
        }
    }
    out
}

both_engines!(no_data_crosses_scope_for_any_role, |t: TestDb| {
    let app = App::new(t);
    let (nn, lz) = app
        .t
        .db
        .write_blocking(|c| {
            Ok((
                seed_city(c, "450100", "nn", "x"),
                seed_city(c, "450200", "lz", "x"),
            ))
        })
        .unwrap();
    block_on(async {
        for (mine, theirs, tag) in [(&nn, &lz, "nn"), (&lz, &nn, "lz")] {
            for role in Role::ALL {
                let name = format!("{tag}-{}", role.as_str().replace('_', "-"));
                let (cookie, _) = app.session(&name);
                let lists = [
                    "/",
                    "/regions",
                    "/sites",
                    "/units",
                    "/users",
                    "/audit",
                    "/tokens",
                    "/sites?inactive=1",
                    "/units?inactive=1",
                    "/requests",
                    "/requests?overdue=1",
                    "/requests/new",
                    "/registry",
                    "/registry?status=resident",
                    "/registry/stats",
                    "/registry/declarations",
                    "/registry/out-migrants",
                    "/registry/assists",
                    "/registry/assists?side=out",
                    "/registry/surveys",
                    "/registry/needs",
                    "/evaluations",
                ];
                for path in lists {
                    let r = app.get(path, &cookie).await;
                    assert!(
                        matches!(
                            r.status,
                            StatusCode::OK | StatusCode::FORBIDDEN | StatusCode::SEE_OTHER
                        ),
                        "{name} {path}: {}",
                        r.status
                    );
                    if r.status == StatusCode::SEE_OTHER {
                        // /regions redirects a single-root scope to its region page.
                        let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
                        let r2 = app.get(&to, &cookie).await;
                        assert_eq!(r2.status, StatusCode::OK, "{name} {to}");
                        for m in &theirs.marks {
                            assert!(!r2.text().contains(m.as_str()), "{name} sees {m} at {to}");
                        }
                    }
                    for m in &theirs.marks {
                        assert!(!r.text().contains(m.as_str()), "{name} sees {m} at {path}");
                    }
                }
                for path in [
                    "/sites/export.xlsx",
                    "/units/export.xlsx",
                    "/users/export.xlsx",
                ] {
                    let r = app.get(path, &cookie).await;
                    if r.status == StatusCode::OK {
                        let text = xlsx_text(&r.body);
                        for m in &theirs.marks {
                            assert!(!text.contains(m.as_str()), "{name} exports {m} from {path}");
                        }
                    }
                }
                let theirs_paths = [
                    format!("/regions/{}", theirs.region),
                    format!("/regions/{}/export.xlsx", theirs.region),
                    format!("/regions/{}", theirs.grid),
                    format!("/sites/{}", theirs.site),
                    format!("/units/{}", theirs.unit),
                    format!("/users/{}", theirs.user),
                    format!("/sites?region={}", theirs.region),
                    format!("/requests/{}", theirs.request),
                    format!("/registry/{}", theirs.person),
                    format!("/registry/{}/edit", theirs.person),
                    format!("/evaluations/{}", theirs.evaluation),
                    format!("/evaluations/{}/indicators.xlsx", theirs.evaluation),
                    format!("/evaluations/{}/units.xlsx", theirs.evaluation),
                    format!("/evaluations/{}/units/{}", theirs.evaluation, theirs.unit),
                ];
                for path in &theirs_paths {
                    let r = app.get(path, &cookie).await;
                    assert!(
                        matches!(r.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
                        "{name} GET {path}: {}",
                        r.status
                    );
                }
                // Their own records are reachable for every role that may view.
                let r = app.get(&format!("/sites/{}", mine.site), &cookie).await;
                assert_eq!(r.status, StatusCode::OK, "{name} own site");
                let may_edit = role.allows(shiliu_domain::roles::Permission::ManageSites);
                assert_eq!(
                    r.text().contains(">保存</button>"),
                    may_edit,
                    "{name}: a save button only for those who may save"
                );
            }
        }
        // The API, with a token of each city's commission staff.
        for (tag, theirs) in [("nn", &lz), ("lz", &nn)] {
            let (cookie, csrf) = app.session(&format!("{tag}-commission-staff"));
            let r = app
                .post(
                    "/tokens",
                    &cookie,
                    &[
                        ("_csrf", &csrf),
                        ("name", "walk"),
                        ("days", "1"),
                        ("perm", "view_org"),
                    ],
                )
                .await;
            let text = r.text();
            let token = text
                .split("<code class=\"secret\">")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .to_string();
            for path in ["/api/v1/sites", "/api/v1/units", "/api/v1/sites?inactive=1"] {
                let r = app
                    .call(
                        Request::get(path)
                            .header(header::AUTHORIZATION, format!("Bearer {token}"))
                            .body(Body::empty())
                            .unwrap(),
                    )
                    .await;
                assert_eq!(r.status, StatusCode::OK);
                for m in &theirs.marks {
                    assert!(
                        !r.text().contains(m.as_str()),
                        "{tag} API sees {m} at {path}"
                    );
                }
            }
            for path in [
                format!("/api/v1/sites/{}", theirs.site),
                format!("/api/v1/units/{}", theirs.unit),
                format!("/api/v1/regions/{}", theirs.region),
                format!("/api/v1/regions/{}/children", theirs.region),
            ] {
                let r = app
                    .call(
                        Request::get(&path)
                            .header(header::AUTHORIZATION, format!("Bearer {token}"))
                            .body(Body::empty())
                            .unwrap(),
                    )
                    .await;
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{tag} API {path}");
            }
        }
        // Every state-changing route, as every role of one city, aimed at the other city's
        // records: refused, and nothing of theirs changes.
        let fingerprint = |d: &CityData| {
            let d = d.clone();
            app.t
                .db
                .write_blocking(move |c| {
                    let all = Scope::everything();
                    Ok((
                        org::get_site(c, &all, d.site)?.version,
                        org::get_unit(c, &all, d.unit)?.version,
                        org::get_region(c, &all, d.region)?.version,
                        shiliu_db::requests::get(c, &all, d.request)?.version,
                        org::children(c, &all, d.region, true)?.len(),
                        accounts::get_user(c, &all, d.user)?.version,
                        shiliu_db::evaluation::get_scheme(c, &all, d.evaluation)?.version,
                    ))
                })
                .unwrap()
        };
        let before = fingerprint(&lz);
        for role in Role::ALL {
            let name = format!("nn-{}", role.as_str().replace('_', "-"));
            let (cookie, csrf) = app.session(&name);
            let csrf = csrf.as_str();
            let writes: Vec<(String, Vec<(&str, &str)>)> = vec![
                (
                    format!("/sites/{}", lz.site),
                    vec![
                        ("_csrf", csrf),
                        ("name", "改"),
                        ("site_type", "other"),
                        ("region_code", "450100"),
                        ("version", "1"),
                    ],
                ),
                (
                    format!("/sites/{}/active", lz.site),
                    vec![("_csrf", csrf), ("version", "1"), ("active", "false")],
                ),
                (
                    format!("/units/{}", lz.unit),
                    vec![
                        ("_csrf", csrf),
                        ("name", "改"),
                        ("category", "other"),
                        ("region_code", "450100"),
                        ("version", "1"),
                    ],
                ),
                (
                    format!("/units/{}/active", lz.unit),
                    vec![("_csrf", csrf), ("version", "1"), ("active", "false")],
                ),
                (
                    format!("/regions/{}", lz.region),
                    vec![("_csrf", csrf), ("name", "改"), ("version", "1")],
                ),
                (
                    format!("/regions/{}/active", lz.region),
                    vec![("_csrf", csrf), ("version", "1"), ("active", "false")],
                ),
                (
                    format!("/regions/{}/children", lz.region),
                    vec![("_csrf", csrf), ("name", "越界网格")],
                ),
                (
                    format!("/users/{}", lz.user),
                    vec![
                        ("_csrf", csrf),
                        ("display_name", "改"),
                        ("role", "leader"),
                        ("region_code", "450100"),
                        ("version", "1"),
                    ],
                ),
                (
                    format!("/users/{}/password", lz.user),
                    vec![("_csrf", csrf), ("password", "Taken-Over-2026")],
                ),
                (
                    format!("/users/{}/active", lz.user),
                    vec![("_csrf", csrf), ("active", "false")],
                ),
                (
                    format!("/requests/{}/step", lz.request),
                    vec![("_csrf", csrf), ("action", "dispatch"), ("version", "1")],
                ),
                (
                    "/requests".to_string(),
                    vec![
                        ("_csrf", csrf),
                        ("channel", "hotline"),
                        ("category_id", "1"),
                        ("region_code", "450200"),
                        ("description", "越界诉求"),
                    ],
                ),
                (
                    format!("/evaluations/{}", lz.evaluation),
                    vec![
                        ("_csrf", csrf),
                        ("version", "1"),
                        ("year", "2026"),
                        ("name", "改"),
                        ("organiser", "改"),
                        ("merge_rule", "mean"),
                    ],
                ),
                (
                    format!("/evaluations/{}/categories", lz.evaluation),
                    vec![("_csrf", csrf), ("version", "1"), ("category_name", "越界")],
                ),
                (
                    format!("/evaluations/{}/indicators", lz.evaluation),
                    vec![
                        ("_csrf", csrf),
                        ("version", "1"),
                        ("code", "9"),
                        ("name", "越界"),
                    ],
                ),
                (
                    format!("/evaluations/{}/deadlines", lz.evaluation),
                    vec![
                        ("_csrf", csrf),
                        ("version", "1"),
                        ("self_due", "2026-03-31"),
                    ],
                ),
                (
                    format!("/evaluations/{}/advance", lz.evaluation),
                    vec![("_csrf", csrf), ("version", "1")],
                ),
                (
                    format!(
                        "/evaluations/{}/units/{}/scores?round=first",
                        lz.evaluation, lz.unit
                    ),
                    vec![("_csrf", csrf)],
                ),
                (
                    format!("/evaluations/{}/teams", lz.evaluation),
                    vec![("_csrf", csrf), ("round", "first"), ("team_name", "越界组")],
                ),
                (
                    format!("/evaluations/{}/copy", lz.evaluation),
                    vec![("_csrf", csrf), ("year", "2027"), ("name", "越界复制")],
                ),
                (
                    format!("/evaluations/{}/remind", lz.evaluation),
                    vec![("_csrf", csrf)],
                ),
                (
                    format!("/evaluations/{}/units/import", lz.evaluation),
                    vec![("_csrf", csrf), ("version", "1")],
                ),
            ];
            for (path, form) in &writes {
                let r = app.post(path, &cookie, form).await;
                assert!(
                    matches!(
                        r.status,
                        StatusCode::NOT_FOUND
                            | StatusCode::FORBIDDEN
                            | StatusCode::UNPROCESSABLE_ENTITY
                    ),
                    "{name} POST {path}: {}",
                    r.status
                );
            }
        }
        assert_eq!(
            fingerprint(&lz),
            before,
            "the other city's records are untouched"
        );

        // Writes into the other city are refused as if the records did not exist.
        let (cookie, csrf) = app.session("nn-commission-staff");
        let r = app
            .post(
                &format!("/sites/{}", lz.site),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("name", "改名"),
                    ("site_type", "other"),
                    ("region_code", "450100"),
                    ("version", "1"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = app
            .post(
                &format!("/regions/{}/children", lz.region),
                &cookie,
                &[("_csrf", &csrf), ("name", "越界网格")],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = app
            .post(
                "/sites",
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("name", "越界站点"),
                    ("site_type", "other"),
                    ("region_code", "450200"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("区域不存在或不在您的范围内"));
    });
});

both_engines!(
    a_session_is_recognised_while_a_long_write_holds_the_lock,
    |t: TestDb| {
        use diesel::prelude::*;
        use shiliu_db::schema::sessions;
        let app = App::new(t);
        app.t
            .db
            .write_blocking(|c| {
                seed_city(c, "450100", "nn", "x");
                Ok(())
            })
            .unwrap();
        let (cookie, _) = app.session("nn-leader");
        // Last used a while ago, so this visit records its use again.
        let old = shiliu_db::now() - chrono::Duration::minutes(5);
        let last_seen = || -> chrono::NaiveDateTime {
            sessions::table
                .select(diesel::dsl::max(sessions::last_seen_at))
                .first::<Option<chrono::NaiveDateTime>>(&mut app.t.db.conn().unwrap())
                .unwrap()
                .unwrap()
        };
        diesel::update(sessions::table)
            .set(sessions::last_seen_at.eq(old))
            .execute(&mut app.t.db.conn().unwrap())
            .unwrap();
        // Another connection holds the write lock (SQLite) and the session's row (PostgreSQL),
        // as a long import does.
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let other = app.t.db.conn().unwrap();
        let holder = std::thread::spawn(move || {
            let mut other = other;
            other
                .transaction::<_, shiliu_db::DbError, _>(|c| {
                    diesel::update(sessions::table)
                        .set(sessions::last_seen_at.eq(old - chrono::Duration::minutes(1)))
                        .execute(c)?;
                    locked_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    Ok(())
                })
                .unwrap();
        });
        locked_rx.recv().unwrap();
        block_on(async {
            // The page is served at once: checking the cookie is a read.
            let started = std::time::Instant::now();
            let r = tokio::time::timeout(
                std::time::Duration::from_secs(3),
                app.get("/requests", &cookie),
            )
            .await;
            release_tx.send(()).unwrap();
            let r = r.expect("the page waited on the other write");
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            assert!(started.elapsed() < std::time::Duration::from_secs(2));
            // Its use is recorded once the lock is free.
            for _ in 0..200 {
                if last_seen() > old {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            assert!(last_seen() > old, "the visit's use was recorded");
        });
        holder.join().unwrap();
    }
);

both_engines!(login_csrf_and_lockout, |t: TestDb| {
    let app = App::new(t);
    let hash = shiliu_web::web::password::hash("Shiliu-2026!").unwrap();
    app.t
        .db
        .write_blocking(|c| {
            let nn = org::get_region_by_code(c, &Scope::everything(), "450100")?;
            user(c, "staff", Role::CommissionStaff, &nn, vec![], &hash);
            Ok(())
        })
        .unwrap();
    block_on(async {
        // Pages need a session.
        let r = app.get("/sites", "").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.headers[header::LOCATION], "/login?next=/sites");
        // A POST without the CSRF token is refused, before any password is checked.
        let r = app
            .post(
                "/login",
                "",
                &[("username", "staff"), ("password", "Shiliu-2026!")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.text().contains("表单已过期或来源不明"));
        let pre = "shiliu_csrf=abcdefghijklmnopqrstuvwxyz";
        let r = app
            .post(
                "/login",
                pre,
                &[
                    ("_csrf", "wrong-token-wrong-token"),
                    ("username", "staff"),
                    ("password", "Shiliu-2026!"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // The right token and password: a session cookie, HttpOnly and SameSite.
        let ok = [
            ("_csrf", "abcdefghijklmnopqrstuvwxyz"),
            ("username", "staff"),
            ("password", "Shiliu-2026!"),
            ("next", "/sites"),
        ];
        let r = app.post("/login", pre, &ok).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(r.headers[header::LOCATION], "/sites");
        let cookie = r
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|v| v.starts_with("shiliu_session="))
            .unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        let session = cookie.split(';').next().unwrap().to_string();
        assert_eq!(app.get("/sites", &session).await.status, StatusCode::OK);
        // A logged-in form post without the token is refused too, and writes nothing.
        let r = app
            .post(
                "/sites",
                &session,
                &[
                    ("name", "无令牌"),
                    ("site_type", "other"),
                    ("region_code", "450100"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(!app.get("/sites", &session).await.text().contains("无令牌"));
        // Three wrong passwords lock the account; then even the right one is refused.
        for _ in 0..3 {
            let r = app
                .post(
                    "/login",
                    pre,
                    &[
                        ("_csrf", "abcdefghijklmnopqrstuvwxyz"),
                        ("username", "staff"),
                        ("password", "wrong-Password-1"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        let r = app.post("/login", pre, &ok).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        // A locked account answers as an unknown user does: the same words, no lock's minutes.
        let message = |r: &Resp| {
            let text = r.text();
            let at = text.find("class=\"error\"").expect("an error message");
            text[at..at + text[at..].find("</").unwrap()].to_string()
        };
        let unknown = app
            .post(
                "/login",
                pre,
                &[
                    ("_csrf", "abcdefghijklmnopqrstuvwxyz"),
                    ("username", "nobody-here"),
                    ("password", "Shiliu-2026!"),
                ],
            )
            .await;
        assert_eq!(unknown.status, r.status);
        assert_eq!(message(&unknown), message(&r));
        assert!(message(&r).contains("用户名或密码错误"), "{}", r.text());
        // English on request.
        let r = app
            .post("/login", &format!("{pre}; shiliu_lang=en"), &ok)
            .await;
        assert!(r.text().contains("Wrong user name or password"));
        let audit = app
            .t
            .db
            .write_blocking(|c| {
                shiliu_db::audit::list(c, &shiliu_db::audit::AuditFilter::default(), 50)
            })
            .unwrap();
        assert!(audit.iter().any(|a| a.action == "user.locked"));
        assert!(audit.iter().any(|a| a.action == "user.login"));
    });
});

both_engines!(redirects_stay_on_this_site_and_never_fail, |t: TestDb| {
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
        // Decoded, `%09` is a tab a browser drops (`//evil.example/`); `%0a` cannot go into a
        // header at all (it was a 500); `%5c` is a backslash browsers read as `/`.
        for next in [
            "/%09/evil.example/",
            "/%0a/x",
            "%0d%0aSet-Cookie:%20x=1",
            "//evil.example/",
            "/%5cevil.example/",
            "https://evil.example/",
            "/%E5%8D%97",
            "evil.example",
        ] {
            let r = app.get(&format!("/login?next={next}"), &cookie).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "next={next}");
            assert_eq!(r.location(), "/", "next={next}");
            let r = app.get(&format!("/lang?to=en&back={next}"), "").await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "back={next}");
            assert_eq!(r.location(), "/", "back={next}");
            let r = app.get(&format!("/d/track?code={next}"), "").await;
            assert!(r.status.is_redirection(), "code={next}: {}", r.status);
            assert!(r.location().starts_with("/d/"), "code={next}");
        }
        // A path of this site, with its query, is followed.
        let r = app
            .get("/login?next=%2Frequests%3Fstatus%3Dreceived", &cookie)
            .await;
        assert_eq!(r.location(), "/requests?status=received");
    });
});

both_engines!(tracking_codes_cannot_be_found_by_trying, |t: TestDb| {
    let app = App::new(t);
    let code = app
        .t
        .db
        .write_blocking(|c| {
            let nn = seed_city(c, "450100", "nn", "x");
            Ok(shiliu_db::requests::get(c, &Scope::everything(), nn.request)?.code)
        })
        .unwrap();
    block_on(async {
        let pre = "shiliu_csrf=resident-token-0123456789";
        let rate = |code: String| {
            let app = &app;
            async move {
                app.post(
                    &format!("/r/{code}/rate"),
                    pre,
                    &[
                        ("_csrf", "resident-token-0123456789"),
                        ("rating", "satisfied"),
                    ],
                )
                .await
            }
        };
        // A request not yet resolved and a code that does not exist answer alike.
        let known = rate(code.clone()).await;
        let unknown = rate("ZZZZZZZZZZ".into()).await;
        assert_eq!(known.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(unknown.status, known.status);
        let details = |r: &Resp| {
            let text = r.text();
            let at = text
                .find("<ul class=\"errors\">")
                .expect("the error's details");
            text[at..at + text[at..].find("</ul>").unwrap()].to_string()
        };
        assert_eq!(details(&unknown), details(&known));
        assert!(details(&known).contains("编号不存在"), "{}", known.text());
        // Open311 without a key: at most 50 codes a call, named field and reason.
        let many: Vec<String> = (0..51).map(|i| format!("CODE{i:06}")).collect();
        let r = app
            .get(
                &format!(
                    "/open311/v2/requests.json?service_request_id={}",
                    many.join(",")
                ),
                "",
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert!(r.text().contains("service_request_id") && r.text().contains("50"));
        // Each code named counts as one of the address's look-ups (120 an hour, the two rating
        // tries above included): the second call of 50 still answers, the third is refused.
        let fifty = many[..50].join(",");
        let list = format!("/open311/v2/requests.json?service_request_id={fifty}");
        assert_eq!(app.get(&list, "").await.status, StatusCode::OK);
        assert_eq!(app.get(&list, "").await.status, StatusCode::OK);
        let r = app.get(&list, "").await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
        // The same budget: rating tries are refused too now.
        assert_eq!(rate(code).await.status, StatusCode::TOO_MANY_REQUESTS);
    });
});

both_engines!(
    a_person_on_another_citys_register_cannot_be_taken_over,
    |t: TestDb| {
        let app = App::new(t);
        let (nn, lz, nn_grid, lz_grid) = app
            .t
            .db
            .write_blocking(|c| {
                let (nn, lz) = (
                    seed_city(c, "450100", "nn", "x"),
                    seed_city(c, "450200", "lz", "x"),
                );
                let all = Scope::everything();
                let code = |c: &mut DbConnection, id| org::get_region(c, &all, id).map(|r| r.code);
                let (a, b) = (code(c, nn.grid)?, code(c, lz.grid)?);
                Ok((nn, lz, a, b))
            })
            .unwrap();
        let number = {
            let first17 = "52263319950304202";
            format!(
                "{first17}{}",
                shiliu_domain::id_number::check_char(first17.as_bytes())
            )
        };
        block_on(async {
            let (s, held) = app
            .api(
                "POST",
                "/api/v1/persons",
                "nn-commission-staff",
                Some(serde_json::json!({
                    "name": "韦小红", "id_number": number, "people": "侗族", "region_code": nn_grid,
                    "address": "衡阳路 12 号", "mobile": "13807710000", "consents": ["registration"]
                })),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{held}");
            let id = held["id"].as_i64().unwrap();
            // Another city, with "update on duplicate": refused, without the person's id or place.
            let (s, err) = app
            .api(
                "POST",
                "/api/v1/persons",
                "lz-commission-staff",
                Some(serde_json::json!({
                    "name": "冒名者", "id_number": number, "people": "侗族", "region_code": lz_grid,
                    "address": "柳州某路 1 号", "mobile": "13900000000", "consents": ["registration"],
                    "on_duplicate": "update"
                })),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
            let said = err["error"]["details"]["id_number"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(said.contains("辖区以外"), "{said}");
            assert!(
                !err.to_string().contains(&id.to_string()),
                "no oracle: {err}"
            );
            let (_, still) = app
                .api_get(&format!("/api/v1/persons/{id}"), "nn-commission-staff")
                .await;
            assert_eq!(
                (
                    still["person"]["name"].as_str(),
                    still["person"]["mobile"].as_str(),
                    still["person"]["region_id"].as_i64()
                ),
                (Some("韦小红"), Some("13807710000"), Some(nn.grid)),
                "{still}"
            );
            // Without an account: a declaration in the other city with the number. Its grid
            // worker's review page flags it, and confirming it is refused under the person.
            let pre = "shiliu_csrf=resident-token-0123456789";
            let grid = lz.grid.to_string();
            let r = app
                .post(
                    "/d",
                    pre,
                    &[
                        ("_csrf", "resident-token-0123456789"),
                        ("region", grid.as_str()),
                        ("p0.name", "冒名者"),
                        ("p0.id_number", number.as_str()),
                        ("p0.people", "12"),
                        ("p0.mobile", "13900000000"),
                        ("p0.address", "柳州某路 1 号"),
                        ("consents", "registration"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let (cookie, csrf) = app.session("lz-grid-worker");
            let queue = app.get("/registry/declarations", &cookie).await.text();
            let did: i64 = queue
                .split("/registry/declarations/")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let review = app
                .get(&format!("/registry/declarations/{did}"), &cookie)
                .await
                .text();
            assert!(review.contains("已在您的辖区以外登记"), "{review}");
            let r = app
                .post(
                    &format!("/registry/declarations/{did}/confirm"),
                    &cookie,
                    &[
                        ("_csrf", csrf.as_str()),
                        ("version", "1"),
                        ("region_code", lz_grid.as_str()),
                        ("p0.name", "冒名者"),
                        ("p0.people", "12"),
                        ("p0.mobile", "13900000000"),
                        ("p0.address", "柳州某路 1 号"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
            assert!(r.text().contains("辖区以外登记"));
            let (_, still) = app
                .api_get(&format!("/api/v1/persons/{id}"), "nn-commission-staff")
                .await;
            assert_eq!(still["person"]["name"].as_str(), Some("韦小红"), "{still}");
            assert_eq!(still["person"]["region_id"].as_i64(), Some(nn.grid));
        });
    }
);

both_engines!(
    metrics_hsts_token_revocation_and_csrf_in_forms_only,
    |t: TestDb| {
        let app = App::with(
            t,
            WebConfig {
                secure_cookies: true,
                ..WebConfig::default()
            },
        );
        app.t
            .db
            .write_blocking(|c| {
                seed_city(c, "450100", "nn", "x");
                Ok(())
            })
            .unwrap();
        let (cookie, csrf) = app.session("nn-commission-staff");
        // A token of the staff member's, and one of the grid worker's.
        let token = |username: &str, secret: &str| {
            let (u, hash) = (username.to_string(), shiliu_web::web::sha256_hex(secret));
            app.t
                .db
                .write_blocking(move |c| {
                    let user = accounts::find_by_username(c, &u)?.expect("user");
                    let actor = accounts::acting_as(c, &user, "test")?;
                    let until = shiliu_db::now() + chrono::Duration::hours(1);
                    accounts::create_token(
                        c,
                        &actor,
                        "test",
                        &hash,
                        user.role().permissions(),
                        until,
                    )
                    .map(|t| (t.id, user.id))
                })
                .unwrap()
        };
        let (staff_token, _) = token("nn-commission-staff", "staff-secret-0123456789");
        let (_, grid_user) = token("nn-grid-worker", "grid-secret-0123456789");
        block_on(async {
            // Without a configured token, /metrics is not served at all.
            assert_eq!(app.get("/metrics", "").await.status, StatusCode::NOT_FOUND);
            // Behind HTTPS, browsers are told to stay on it.
            let r = app.get("/login", "").await;
            assert_eq!(
                r.headers[header::STRICT_TRANSPORT_SECURITY],
                "max-age=31536000"
            );
            let me = |secret: &'static str| {
                let app = &app;
                async move {
                    app.call(
                        Request::get("/api/v1/me")
                            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                            .body(Body::empty())
                            .unwrap(),
                    )
                    .await
                    .status
                }
            };
            assert_eq!(me("staff-secret-0123456789").await, StatusCode::OK);
            assert_eq!(me("grid-secret-0123456789").await, StatusCode::OK);
            // Revoked on this node: refused at once, not after the check's cache runs out.
            let r = app
                .post(
                    &format!("/tokens/{staff_token}/revoke"),
                    &cookie,
                    &[("_csrf", csrf.as_str())],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            assert_eq!(
                me("staff-secret-0123456789").await,
                StatusCode::UNAUTHORIZED
            );
            // A disabled user's tokens too.
            let r = app
                .post(
                    &format!("/users/{grid_user}/active"),
                    &cookie,
                    &[("_csrf", csrf.as_str()), ("active", "false")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            assert_eq!(me("grid-secret-0123456789").await, StatusCode::UNAUTHORIZED);
            // The CSRF token is taken from the form, never from the query string.
            let r = app
                .post(
                    &format!("/sites?_csrf={csrf}"),
                    &cookie,
                    &[
                        ("name", "查询串令牌"),
                        ("site_type", "other"),
                        ("region_code", "450100"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            let r = app
                .multipart("/sites/import", &cookie, &csrf, &[("mode", "dry_run")], &[])
                .await;
            assert_ne!(
                r.status,
                StatusCode::FORBIDDEN,
                "a multipart form's first field"
            );
        });
    }
);

/// Every kind of record a route's path may name, of one city, for the walk of every route.
/// Each holds something no other city's page may show (`CityData::marks`).
struct CityRecords {
    city: CityData,
    /// Path parameter kind → the record's id (or code) in this city.
    ids: std::collections::HashMap<&'static str, String>,
}

/// One city's records of every kind a route names, made as the system (the pages are not
/// under test here).
fn seed_every_kind(
    c: &mut DbConnection,
    vault: &shiliu_db::registry::Vault,
    city: CityData,
    tag: &str,
) -> CityRecords {
    use shiliu_db::{casework, evaluation, registry, requests, routing};
    use shiliu_domain::casework::{DisputeInput, LegalAidInput};
    use shiliu_domain::requests::{Action, ActionInput, CohandlingInput};
    let sys = Actor::system("test");
    let all = Scope::everything();
    let mut ids = std::collections::HashMap::new();
    let mut put = |k: &'static str, v: String| {
        ids.insert(k, v);
    };
    put("region", city.region.to_string());
    put("site", city.site.to_string());
    put("unit", city.unit.to_string());
    put("eval_unit", city.unit.to_string());
    put("user", city.user.to_string());
    put("request", city.request.to_string());
    put("person", city.person.to_string());
    put("evaluation", city.evaluation.to_string());
    let r = requests::get(c, &all, city.request).unwrap();
    put("request_code", r.code.clone());
    // Handled, so that co-handling may be asked; a file that says whose it is.
    let mut r = r;
    for (a, input) in [
        (Action::Dispatch, ActionInput::default()),
        (Action::Accept, ActionInput::default()),
    ] {
        let step = requests::StepInput {
            action_input: input,
            site_id: Some(city.site),
            ..Default::default()
        };
        r = requests::step(c, &sys, r.id, r.version, a, &step).unwrap();
    }
    let unit_name = org::get_unit(c, &all, city.unit).unwrap().name;
    let asked = requests::cohandling::ask(
        c,
        &sys,
        r.id,
        r.version,
        &CohandlingInput::parse(&unit_name, &format!("{tag}协办事项")).unwrap(),
    )
    .unwrap();
    put("cohandler", asked.id.to_string());
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(format!("{tag}诉求内容").as_bytes());
    let file = shiliu_domain::files::FileInput::parse(
        "files",
        "photo.png",
        png,
        shiliu_domain::files::REQUEST_FILES,
    )
    .unwrap();
    let files = requests::files::attach(c, &sys, city.request, &[file], "files").unwrap();
    put("file", files[0].id.to_string());
    let d = casework::open_dispute(
        c,
        &sys,
        city.request,
        &DisputeInput::parse("labour", &format!("{tag}诉求内容")).unwrap(),
    )
    .unwrap();
    put("dispute", d.id.to_string());
    let k = casework::open_legal_aid(
        c,
        &sys,
        city.request,
        &LegalAidInput::parse(&format!("{tag}-legal-aid"), &format!("{tag}诉求内容")).unwrap(),
    )
    .unwrap();
    put("case", k.id.to_string());
    // The register: a declaration, a request for assistance, a survey with a need.
    let person = registry::get(c, &all, city.person).unwrap();
    put("household", person.household_id.unwrap().to_string());
    let resident = Actor::resident("seed", "local");
    let declared = shiliu_domain::registry::PersonInput::parse(
        &shiliu_domain::registry::PersonForm {
            name: format!("{tag}登记人"),
            sex: "male".into(),
            birth_date: "1991-01-01".into(),
            people: "壮族".into(),
            hukou: "451022".into(),
            address: format!("{tag}路 2 号"),
            ..Default::default()
        },
        shiliu_db::today(),
    )
    .unwrap();
    let decl = registry::declarations::declare(
        c,
        &resident,
        vault,
        city.grid,
        &[(declared, shiliu_domain::registry::Relation::Head)],
        &[shiliu_domain::registry::ConsentPurpose::Registration],
    )
    .unwrap();
    put("declaration", decl.id.to_string());
    put("declaration_code", decl.code.clone());
    let grid_worker = {
        let u = accounts::find_by_username(c, &format!("{tag}-grid-worker"))
            .unwrap()
            .unwrap();
        accounts::acting_as(c, &u, "test").unwrap()
    };
    let due = (shiliu_db::today() + chrono::Duration::days(7)).to_string();
    // Someone who agreed to their home county being told (a request for assistance needs it).
    let linked = registry::register(
        c,
        &shiliu_db::scope::Can::check(&sys).unwrap(),
        vault,
        &registry::Registration {
            person: &shiliu_domain::registry::PersonInput::parse(
                &shiliu_domain::registry::PersonForm {
                    name: format!("{tag}登记人乙"),
                    sex: "female".into(),
                    birth_date: "1992-02-02".into(),
                    people: "瑶族".into(),
                    hukou: "451022".into(),
                    address: format!("{tag}路 3 号"),
                    ..Default::default()
                },
                shiliu_db::today(),
            )
            .unwrap(),
            region_id: city.grid,
            household: registry::Household::New,
            consents: &[
                (
                    shiliu_domain::registry::ConsentPurpose::Registration,
                    shiliu_domain::registry::ConsentChannel::Staff,
                ),
                (
                    shiliu_domain::registry::ConsentPurpose::Linkage,
                    shiliu_domain::registry::ConsentChannel::Staff,
                ),
            ],
            on_duplicate: registry::OnDuplicate::Refuse,
        },
    )
    .unwrap()
    .person()
    .id;
    let assist = registry::linkage::ask(
        c,
        &grid_worker,
        linked,
        &shiliu_domain::registry::AssistInput::parse(
            "verify",
            &format!("{tag}登记人"),
            "请核实",
            &due,
            shiliu_db::today(),
        )
        .unwrap(),
    )
    .unwrap();
    put("assist", assist.id.to_string());
    let start = shiliu_db::today().to_string();
    let end = (shiliu_db::today() + chrono::Duration::days(30)).to_string();
    let survey = registry::needs::create_survey(
        c,
        &sys,
        city.region,
        None,
        &shiliu_domain::registry::needs::SurveyInput::parse(
            &format!("{tag}考评方案摸排"),
            &start,
            &end,
            &[(
                "家中劳动力人数".into(),
                "number".into(),
                true,
                String::new(),
            )],
        )
        .unwrap(),
    )
    .unwrap();
    put("survey", survey.id.to_string());
    let mut answers = shiliu_domain::requests::questions::RawAnswers::new();
    answers.insert("q1".into(), vec!["2".into()]);
    registry::needs::answer(
        c,
        &grid_worker,
        survey.id,
        person.household_id.unwrap(),
        &answers,
        &[
            shiliu_domain::registry::needs::need(city.person, "job", &format!("{tag}诉求内容"))
                .unwrap(),
        ],
    )
    .unwrap();
    let need =
        registry::needs::needs(c, &sys, &registry::needs::NeedFilter::default(), None, 10).unwrap();
    put(
        "need",
        need.iter()
            .find(|n| n.0.person_id == city.person)
            .unwrap()
            .0
            .id
            .to_string(),
    );
    // The evaluation: a category, an indicator, a team.
    let cat = evaluation::add_category(c, &sys, city.evaluation, 1, "市直部门").unwrap();
    put("eval_category", cat.id.to_string());
    let ind = evaluation::add_indicator(
        c,
        &sys,
        city.evaluation,
        2,
        None,
        &shiliu_domain::evaluation::IndicatorInput::parse(
            shiliu_domain::evaluation::Level::Area,
            "1",
            &format!("{tag}考评方案指标"),
            "",
            "",
            "",
            "",
        )
        .unwrap(),
    )
    .unwrap();
    put("indicator", ind.id.to_string());
    let team = evaluation::teams::create_team(
        c,
        &sys,
        city.evaluation,
        shiliu_domain::evaluation::Round::First,
        "考评组",
    )
    .unwrap();
    put("team", team.id.to_string());
    // A routing rule of the city's, and a token of its staff.
    let rule = routing::create(
        c,
        &sys,
        &routing::NewRule {
            category_id: None,
            region_id: Some(city.region),
            keywords: vec![format!("{tag}关键词")],
            site_id: Some(city.site),
            unit_id: None,
        },
    )
    .unwrap();
    put("rule", rule.id.to_string());
    let staff = accounts::find_by_username(c, &format!("{tag}-commission-staff"))
        .unwrap()
        .unwrap();
    let staff_actor = accounts::acting_as(c, &staff, "test").unwrap();
    let until = shiliu_db::now() + chrono::Duration::hours(1);
    let token = accounts::create_token(
        c,
        &staff_actor,
        "walk",
        &format!("hash-{tag}"),
        staff.role().permissions(),
        until,
    )
    .unwrap();
    put("token", token.id.to_string());
    CityRecords { city, ids }
}

/// The record a path parameter names, by the segment before it (and the route's section):
/// (kind, whether it is the other city's own — else the platform's, shared by every city).
fn param_kind(path: &str, param: &str) -> Option<(&'static str, bool)> {
    let segments: Vec<&str> = path.split('/').collect();
    let at = segments.iter().position(|s| *s == format!("{{{param}}}"))?;
    let before = segments[at - 1];
    let settings = path.starts_with("/settings/");
    Some(match (before, param) {
        ("regions", _) => ("region", true),
        ("sites", _) => ("site", true),
        // A unit's sheet in an evaluation, beside the unit itself (organisation data).
        ("units", "unit") if path.contains("/evaluations/") => ("eval_unit", true),
        ("units", "unit" | "id") => ("unit", true),
        ("users", _) => ("user", true),
        ("tokens", "id") => ("token", true),
        ("requests", _) => ("request", true),
        ("files", "file_id") => ("file", true),
        ("cohandlers", _) => ("cohandler", true),
        ("disputes", _) => ("dispute", true),
        ("legal-aid", _) => ("case", true),
        ("registry" | "persons", _) => ("person", true),
        ("declarations", _) => ("declaration", true),
        ("assists", _) => ("assist", true),
        ("surveys", _) => ("survey", true),
        ("households", _) => ("household", true),
        ("needs", _) => ("need", true),
        ("evaluations", _) => ("evaluation", true),
        ("categories", _) if settings => ("category", false),
        ("categories", _) => ("eval_category", true),
        ("indicators", _) => ("indicator", true),
        ("teams", _) => ("team", true),
        ("questions", _) => ("question", false),
        ("templates", _) => ("template", false),
        ("routing", _) => ("rule", true),
        ("r", "code") => ("request_code", true),
        ("d", "code") => ("declaration_code", true),
        // Records with no other city's instance to aim at: an import job lives in one node's
        // memory, and an evidence file needs a scheme in self-assessment (the evaluation's
        // own tests aim at both).
        ("jobs", _) => ("import_job", true),
        ("evidence", _) => ("evidence", true),
        (_, "what" | "record") => ("record_kind", false),
        (_, "file") => ("open311_file", false),
        _ => return None,
    })
}

/// A route's path with its parameters filled in with the other city's records (and, for the
/// platform's records, any one of them); and the kinds of the other city's records it names.
fn aim(
    path: &str,
    theirs: &CityRecords,
    shared: &std::collections::HashMap<&'static str, String>,
) -> (String, Vec<&'static str>) {
    let mut out = String::new();
    let mut owned = Vec::new();
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let Some(param) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            out.push_str(seg);
            continue;
        };
        let (kind, theirs_kind) = param_kind(path, param).unwrap_or_else(|| {
            panic!(
                "{path}: no record kind for {{{param}}}: add it to param_kind and seed_every_kind"
            )
        });
        if theirs_kind {
            owned.push(kind);
        }
        let value = match kind {
            "record_kind" if path.contains("legal-aid") => "consultations".to_string(),
            "record_kind" => "parties".to_string(),
            "open311_file" if path.contains("/services/") => "renting.json".to_string(),
            "open311_file" => "requests.json".to_string(),
            "import_job" | "evidence" => "1".to_string(),
            k if theirs_kind => theirs
                .ids
                .get(k)
                .unwrap_or_else(|| {
                    panic!("{path}: the other city has no {k}: add one to seed_every_kind")
                })
                .clone(),
            k => shared
                .get(k)
                .unwrap_or_else(|| panic!("{path}: no shared {k}"))
                .clone(),
        };
        out.push_str(&value);
    }
    (out, owned)
}

both_engines!(every_route_every_role_two_cities_no_leak, |t: TestDb| {
    let vault = shiliu_db::registry::Vault::random();
    let app = App::with(
        t,
        WebConfig {
            vault: vault.clone(),
            ..WebConfig::default()
        },
    );
    let (nn, lz, shared) = app
        .t
        .db
        .write_blocking(move |c| {
            let nn = seed_city(c, "450100", "nn", "x");
            let lz = seed_city(c, "450200", "lz", "x");
            let nn = seed_every_kind(c, &vault, nn, "nn");
            let lz = seed_every_kind(c, &vault, lz, "lz");
            let sys = Actor::system("test");
            let cat = shiliu_db::requests::categories(c, false)?.remove(0);
            let q = shiliu_db::requests::questions::create_question(
                c,
                &sys,
                cat.id,
                &shiliu_domain::requests::questions::QuestionInput::parse(
                    "walk_q", "问题", "", "text", false, "",
                )
                .unwrap(),
            )?;
            let tpl = shiliu_db::requests::questions::create_reply_template(
                c,
                &sys,
                Some(cat.id),
                &shiliu_domain::requests::ReplyTemplateInput::parse("模板", "内容").unwrap(),
            )?;
            let shared: std::collections::HashMap<&'static str, String> = [
                ("category", cat.id.to_string()),
                ("question", q.id.to_string()),
                ("template", tpl.id.to_string()),
            ]
            .into();
            Ok((nn, lz, shared))
        })
        .unwrap();
    // What of the other city must not change: what the walking city's users did there (the
    // audited writes and views in its subtree), and its records' versions.
    let fingerprint = |d: &CityData, code: &'static str, walker: &'static str| {
        let d = d.clone();
        app.t
            .db
            .write_blocking(move |c| {
                use diesel::prelude::*;
                use shiliu_db::schema::{audit_log, regions};
                let all = Scope::everything();
                let city = org::get_region_by_code(c, &all, code)?;
                let inside: Vec<i64> = regions::table
                    .filter(regions::path.like(format!("{}%", city.path)))
                    .select(regions::id)
                    .load(c)?;
                let audited: Vec<String> = audit_log::table
                    .filter(audit_log::region_id.eq_any(inside))
                    .filter(audit_log::actor.like(format!("{walker}-%")))
                    .select(audit_log::action)
                    .load(c)?;
                Ok((
                    audited,
                    org::get_site(c, &all, d.site)?.version,
                    org::get_unit(c, &all, d.unit)?.version,
                    shiliu_db::requests::get(c, &all, d.request)?.version,
                    accounts::get_user(c, &all, d.user)?.version,
                    shiliu_db::evaluation::get_scheme(c, &all, d.evaluation)?.version,
                    shiliu_db::registry::get(c, &all, d.person)?.version,
                ))
            })
            .unwrap()
    };
    let routes = shiliu_web::route_paths();
    assert!(routes.len() > 150, "the router's routes: {}", routes.len());
    for (tag, theirs, code) in [("nn", &lz, "450200"), ("lz", &nn, "450100")] {
        let before = fingerprint(&theirs.city, code, tag);
        assert!(before.0.is_empty());
        block_on(walk(&app, tag, (theirs, code), &shared, &routes));
        let after = fingerprint(&theirs.city, code, tag);
        assert_eq!(
            after, before,
            "{tag}'s walk changed nothing of the other city's"
        );
    }
    // The walk can fail: aimed at one's own city, the same paths answer (a walk whose every
    // answer was a refusal would prove nothing).
    block_on(async {
        let (cookie, _) = app.session("nn-commission-staff");
        let mut reached = Vec::new();
        for path in routes
            .iter()
            .filter(|p| p.contains('{') && !p.starts_with("/api/"))
        {
            let (url, kinds) = aim(path, &nn, &shared);
            if !kinds.is_empty() && app.get(&url, &cookie).await.status.is_success() {
                reached.push(url);
            }
        }
        assert!(reached.len() >= 20, "own records reached: {reached:?}");
    });
});

/// Every route as every role of the city `tag`, aimed at `theirs`: reads and writes, pages,
/// exports and the API.
async fn walk(
    app: &App,
    tag: &str,
    (theirs, code): (&CityRecords, &str),
    shared: &std::collections::HashMap<&'static str, String>,
    routes: &[&'static str],
) {
    // Pages reached by a code are the code holder's by design (the resident's tracking code,
    // Open311's service_request_id): they are walked for errors, not for what they show.
    let by_code =
        |p: &str| p.starts_with("/r/") || p.starts_with("/d/") || p.starts_with("/open311/");
    for role in Role::ALL {
        let name = format!("{tag}-{}", role.as_str().replace('_', "-"));
        let (cookie, csrf) = app.session(&name);
        for path in routes {
            let (url, kinds) = aim(path, theirs, shared);
            let aimed = !kinds.is_empty();
            // Reads: pages and exports with the session, the API with a token of the same user.
            let r = if path.starts_with("/api/") {
                let (status, body) = app.api_get(&url, &name).await;
                Resp {
                    status,
                    headers: axum::http::HeaderMap::default(),
                    body: body.to_string().into_bytes(),
                }
            } else {
                app.get(&url, &cookie).await
            };
            assert!(r.status.as_u16() < 500, "{name} GET {url}: {}", r.status);
            if aimed && !by_code(path) {
                assert!(
                    !r.status.is_success(),
                    "{name} GET {url} (the other city's): {}",
                    r.status
                );
            }
            if r.status.is_success() && !by_code(path) {
                let text = if std::path::Path::new(&url)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
                {
                    xlsx_text(&r.body)
                } else {
                    r.text()
                };
                for m in &theirs.city.marks {
                    assert!(!text.contains(m.as_str()), "{name} sees {m} at GET {url}");
                }
            }
            // Writes aimed at the other city: whatever the answer, nothing of theirs changes
            // (the fingerprint, after the walk). Signing in and out and one's own password act
            // on the caller's own session or account only.
            if matches!(*path, "/logout" | "/account/password" | "/login") {
                continue;
            }
            let fields = [
                ("_csrf", csrf.as_str()),
                ("version", "1"),
                ("region_code", code),
                ("region_id", &theirs.ids["region"]),
                ("site_id", &theirs.ids["site"]),
                ("unit_id", &theirs.ids["unit"]),
                ("person_id", &theirs.ids["person"]),
                ("request_id", &theirs.ids["request"]),
                ("name", "越界"),
                ("reason", "越界"),
                ("active", "false"),
            ];
            for (how, s) in write(app, &name, &cookie, &url, &fields).await {
                assert!(s.as_u16() < 500, "{name} {how} {url}: {s}");
            }
        }
    }
}

/// A scheme of `city`'s, open for self-assessment: one category, the `units` taking part (with
/// whether each is a key unit), an indicator tree from `sheet` (code, name, points) and the
/// first two stages' deadlines a week apart. Made as the organiser.
fn scheme_in_self_assessment(
    c: &mut DbConnection,
    city: i64,
    units: &[(i64, bool)],
    sheet: &[(&str, &str, &str)],
) -> Result<(shiliu_db::evaluation::Scheme, shiliu_db::evaluation::Tree), shiliu_db::DbError> {
    let me = Actor::system("organiser");
    let s = shiliu_db::evaluation::create_scheme(
        c,
        &me,
        city,
        &shiliu_domain::evaluation::SchemeInput::parse(
            "2026",
            "2026年度考评",
            "南宁市民宗委",
            "field_first",
            "",
            "",
            "",
        )
        .unwrap(),
    )?;
    let cat = shiliu_db::evaluation::add_category(c, &me, s.id, 1, "市直部门")?;
    let mut version = 2;
    for (unit_id, key_unit) in units {
        let p = shiliu_db::evaluation::Participant {
            scheme_id: s.id,
            unit_id: *unit_id,
            category_id: cat.id,
            key_unit: *key_unit,
        };
        shiliu_db::evaluation::add_participant(c, &me, s.id, version, &p)?;
        version += 1;
    }
    let rows: Vec<(usize, shiliu_domain::evaluation::SheetRow)> = sheet
        .iter()
        .enumerate()
        .map(|(i, (code, name, points))| {
            (
                i + 2,
                shiliu_domain::evaluation::SheetRow {
                    code: (*code).into(),
                    name: (*name).into(),
                    points: (*points).into(),
                    ..Default::default()
                },
            )
        })
        .collect();
    let tree = shiliu_db::evaluation::replace_tree(
        c,
        &me,
        s.id,
        version,
        &shiliu_domain::evaluation::place_sheet(&rows).unwrap(),
    )?;
    let due = shiliu_db::now() + chrono::Duration::days(7);
    shiliu_db::evaluation::set_deadlines(
        c,
        &me,
        s.id,
        version + 1,
        [Some(due), Some(due + chrono::Duration::days(7)), None, None],
    )?;
    let s = shiliu_db::evaluation::advance(c, &me, s.id, version + 2)?;
    Ok((s, tree))
}

/// A write aimed at `url`, as `user` would send it: a form POST with the session, or, under
/// `/api/`, JSON POST and PUT with a token (the `_csrf` field left out). Each answer, with how.
async fn write(
    app: &App,
    user: &str,
    cookie: &str,
    url: &str,
    fields: &[(&str, &str)],
) -> Vec<(&'static str, StatusCode)> {
    if !url.starts_with("/api/") {
        return vec![("POST", app.post(url, cookie, fields).await.status)];
    }
    let body: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .filter(|(k, _)| *k != "_csrf")
        .map(|(k, v)| {
            (
                (*k).to_string(),
                serde_json::Value::String((*v).to_string()),
            )
        })
        .collect();
    let mut out = Vec::new();
    for method in ["POST", "PUT"] {
        let (s, _) = app
            .api(
                method,
                url,
                user,
                Some(serde_json::Value::Object(body.clone())),
            )
            .await;
        out.push((method, s));
    }
    out
}

/// Every route that names one of `aimed` kinds of `theirs` records, as `walker` — a user of the
/// same city whose scope or assignment does not reach them (a grid worker of the next grid, a
/// lawyer the case is not assigned to): reads and writes are refused, and no list shows `marks`.
/// Returns what the walker's writes audited on those records (none, when nothing leaked).
async fn walk_siblings(
    app: &App,
    walker: &str,
    theirs: &CityRecords,
    aimed: &[&str],
    marks: &[&str],
    shared: &std::collections::HashMap<&'static str, String>,
) -> Vec<String> {
    let (cookie, csrf) = app.session(walker);
    for path in shiliu_web::route_paths() {
        let (url, kinds) = aim(path, theirs, shared);
        let by_code = path.starts_with("/r/") || path.starts_with("/d/");
        let named = kinds.iter().any(|k| aimed.contains(k)) && !by_code;
        if !path.contains('{') {
            let r = app.get(&url, &cookie).await;
            assert!(r.status.as_u16() < 500, "{walker} GET {url}: {}", r.status);
            if r.status.is_success() && !path.starts_with("/open311/") {
                for m in marks {
                    assert!(!r.text().contains(m), "{walker} sees {m} at {url}");
                }
            }
            continue;
        }
        if !named {
            continue;
        }
        let r = if path.starts_with("/api/") {
            app.api_get(&url, walker).await.0
        } else {
            app.get(&url, &cookie).await.status
        };
        assert!(
            !r.is_success() && r.as_u16() < 500,
            "{walker} GET {url} (not theirs): {r}"
        );
        let fields = [
            ("_csrf", csrf.as_str()),
            ("version", "1"),
            ("reason", "越权"),
            ("summary", "越权"),
            ("advice", "越权"),
            ("held_on", "2026-01-05"),
            ("mode", "phone"),
            ("result", "越权"),
            ("side", "applicant"),
            ("party_name", "越权"),
        ];
        for (how, s) in write(app, walker, &cookie, &url, &fields).await {
            assert!(
                s.as_u16() < 500 && !s.is_success() && !s.is_redirection(),
                "{walker} {how} {url}: {s}"
            );
        }
    }
    let ids: Vec<String> = aimed
        .iter()
        .filter_map(|k| theirs.ids.get(k).cloned())
        .collect();
    let walker = walker.to_string();
    app.t
        .db
        .write_blocking(move |c| {
            use diesel::prelude::*;
            use shiliu_db::schema::audit_log;
            Ok(audit_log::table
                .filter(audit_log::actor.eq(walker))
                .filter(audit_log::entity_id.eq_any(ids))
                .select(audit_log::action)
                .load(c)?)
        })
        .unwrap()
}

both_engines!(
    the_next_grid_and_another_lawyer_see_only_their_own,
    |t: TestDb| {
        let vault = shiliu_db::registry::Vault::random();
        let app = App::with(
            t,
            WebConfig {
                vault: vault.clone(),
                ..WebConfig::default()
            },
        );
        let (nn, shared, reporter2_unit) = app
            .t
            .db
            .write_blocking(move |c| {
                let city = seed_city(c, "450100", "nn", "x");
                let all = Scope::everything();
                // A second grid of the same community, with its own worker; a second lawyer.
                let community = org::get_region(c, &all, city.region)?;
                let second = org::create_child_region(
                    c,
                    &Actor::system("test"),
                    community.id,
                    &RegionInput::parse("第二网格", "").unwrap(),
                )?;
                let town = org::get_region(c, &all, community.parent_id.unwrap())?;
                user(
                    c,
                    "nn-grid-worker2",
                    Role::GridWorker,
                    &town,
                    vec![second.id],
                    "x",
                );
                let nn_city = org::get_region_by_code(c, &all, "450100")?;
                user(c, "nn-lawyer2", Role::LegalAid, &nn_city, vec![], "x");
                let unit = city.unit;
                let mut nn = seed_every_kind(c, &vault, city, "nn");
                // A scheme open for self-assessment with two units, each with its reporter.
                let sys = Actor::system("organiser");
                let other = org::create_unit(
                    c,
                    &sys,
                    nn_city.id,
                    &UnitInput::parse("nn统战部", "department", "", "").unwrap(),
                )?;
                accounts::create_user(
                    c,
                    &shiliu_db::scope::Can::check(&sys).unwrap(),
                    &NewUser {
                        username: Username::parse("nn-reporter2").unwrap(),
                        display_name: "统战部填报员".into(),
                        password_hash: "x".into(),
                        role: Role::UnitReporter,
                        region_id: nn_city.id,
                        unit_id: Some(other.id),
                        site_id: None,
                        phone: None,
                        grid_ids: vec![],
                    },
                )?;
                let (running, _) = scheme_in_self_assessment(
                    c,
                    nn_city.id,
                    &[(unit, false), (other.id, false)],
                    &[
                        ("1", "组织领导", ""),
                        ("1.1", "领导机制", ""),
                        ("1.1.1", "成立领导小组", "4"),
                    ],
                )?;
                nn.ids.insert("evaluation", running.id.to_string());
                let cat = shiliu_db::requests::categories(c, false)?.remove(0);
                // The platform's records are not what this walk aims at: any id does.
                let shared: std::collections::HashMap<&'static str, String> = [
                    ("category", cat.id.to_string()),
                    ("question", "0".to_string()),
                    ("template", "0".to_string()),
                ]
                .into();
                Ok((nn, shared, other.id))
            })
            .unwrap();
        block_on(async {
            // The grid's own: its people and households, their declarations, requests for
            // assistance and needs, the requests made there with their files, co-handling and
            // casework, and its site.
            let grid_kinds = [
                "person",
                "household",
                "declaration",
                "assist",
                "need",
                "request",
                "file",
                "cohandler",
                "dispute",
                "case",
                "site",
            ];
            let audited = walk_siblings(
                &app,
                "nn-grid-worker2",
                &nn,
                &grid_kinds,
                &["nn网格", "nn民族之家", "nn诉求内容", "nn登记人"],
                &shared,
            )
            .await;
            assert!(audited.is_empty(), "{audited:?}");
            // A lawyer of the same city sees its requests, but not another lawyer's case nor a
            // dispute they do not mediate.
            let audited =
                walk_siblings(&app, "nn-lawyer2", &nn, &["case", "dispute"], &[], &shared).await;
            assert!(audited.is_empty(), "{audited:?}");
            // The reporter of one unit taking part, aimed at the other unit's sheet.
            let audited =
                walk_siblings(&app, "nn-reporter2", &nn, &["eval_unit"], &[], &shared).await;
            assert!(audited.is_empty(), "{audited:?}");
            // The same walks as the case's own lawyer and the other unit's reporter would find
            // their pages: they can fail.
            let (cookie, _) = app.session("nn-legal-aid");
            let case = format!("/legal-aid/{}", nn.ids["case"]);
            assert_eq!(app.get(&case, &cookie).await.status, StatusCode::OK);
            let (cookie, _) = app.session("nn-reporter2");
            let sheet = format!(
                "/evaluations/{}/units/{}",
                nn.ids["evaluation"], reporter2_unit
            );
            assert_eq!(app.get(&sheet, &cookie).await.status, StatusCode::OK);
        });
    }
);

both_engines!(parallel_wrong_passwords_each_count, |t: TestDb| {
    let app = App::with(
        t,
        WebConfig {
            lockout: accounts::LockoutPolicy {
                max_failures: 100,
                lock_for: chrono::Duration::minutes(15),
            },
            ..WebConfig::default()
        },
    );
    let hash = shiliu_web::web::password::hash("Shiliu-2026!").unwrap();
    app.t
        .db
        .write_blocking(|c| {
            let nn = org::get_region_by_code(c, &Scope::everything(), "450100")?;
            user(c, "staff", Role::CommissionStaff, &nn, vec![], &hash);
            Ok(())
        })
        .unwrap();
    let app = std::sync::Arc::new(app);
    block_on(async {
        let pre = "shiliu_csrf=abcdefghijklmnopqrstuvwxyz";
        let guesses: Vec<_> = (0..20)
            .map(|i| {
                let app = app.clone();
                tokio::spawn(async move {
                    let password = format!("wrong-Password-{i}");
                    app.post(
                        "/login",
                        pre,
                        &[
                            ("_csrf", "abcdefghijklmnopqrstuvwxyz"),
                            ("username", "staff"),
                            ("password", &password),
                        ],
                    )
                    .await
                    .status
                })
            })
            .collect();
        for g in guesses {
            assert_eq!(g.await.unwrap(), StatusCode::UNAUTHORIZED);
        }
    });
    let failures = app
        .t
        .db
        .write_blocking(|c| {
            Ok(accounts::find_by_username(c, "staff")?
                .unwrap()
                .failed_logins)
        })
        .unwrap();
    assert_eq!(failures, 20, "twenty guesses in parallel count twenty");
});

both_engines!(
    a_locked_account_answers_as_slowly_as_an_unknown_user,
    |t: TestDb| {
        let app = App::new(t);
        let hash = shiliu_web::web::password::hash("Shiliu-2026!").unwrap();
        app.t
            .db
            .write_blocking(|c| {
                let nn = org::get_region_by_code(c, &Scope::everything(), "450100")?;
                user(c, "staff", Role::CommissionStaff, &nn, vec![], &hash);
                Ok(())
            })
            .unwrap();
        block_on(async {
            let pre = "shiliu_csrf=abcdefghijklmnopqrstuvwxyz";
            let attempt = |username: &'static str, password: &'static str| {
                let app = &app;
                async move {
                    let started = std::time::Instant::now();
                    let r = app
                        .post(
                            "/login",
                            pre,
                            &[
                                ("_csrf", "abcdefghijklmnopqrstuvwxyz"),
                                ("username", username),
                                ("password", password),
                            ],
                        )
                        .await;
                    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
                    started.elapsed()
                }
            };
            for _ in 0..3 {
                attempt("staff", "wrong-Password-1").await;
            }
            // The fastest of five of each: a locked account still checks the password (before the
            // fix it answered at once, without argon2, and so told itself apart).
            let mut locked = std::time::Duration::MAX;
            let mut unknown = std::time::Duration::MAX;
            for _ in 0..5 {
                locked = locked.min(attempt("staff", "Shiliu-2026!").await);
                unknown = unknown.min(attempt("nobody-here", "Shiliu-2026!").await);
            }
            // Within a factor of three, so that a busy machine running other tests beside
            // this one does not fail it; the fault it guards against was a factor of fifty.
            assert!(
                locked * 3 > unknown && unknown * 3 > locked,
                "locked {locked:?} against unknown {unknown:?}"
            );
        });
    }
);

both_engines!(api_tokens_and_error_envelope, |t: TestDb| {
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
        // The OpenAPI document describes every API route, and is public.
        let r = app.get("/api/v1/openapi.json", "").await;
        assert_eq!(r.status, StatusCode::OK);
        let doc: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        for path in [
            "/api/v1/me",
            "/api/v1/regions/{id}",
            "/api/v1/regions/{id}/children",
            "/api/v1/sites",
            "/api/v1/sites/{id}",
            "/api/v1/units",
            "/api/v1/units/{id}",
        ] {
            assert!(
                doc["paths"][path]["get"].is_object(),
                "{path} in the OpenAPI document"
            );
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let r = app.get("/api/v1/sites", "").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["error"]["code"], "unauthorized");
        assert!(v["error"]["message"].is_string());
        let (cookie, csrf) = app.session("nn-commission-staff");
        let r = app
            .post(
                "/tokens",
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("name", "集成"),
                    ("days", "30"),
                    ("perm", "view_org"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let text = r.text();
        let token = text
            .split("<code class=\"secret\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string();
        let app = &app;
        let call = |path: String| {
            let tok = token.clone();
            async move {
                app.call(
                    Request::get(path)
                        .header(header::AUTHORIZATION, format!("Bearer {tok}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
            }
        };
        let r = call("/api/v1/sites".into()).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.text().contains("nn民族之家") && !r.text().contains("lz民族之家"));
        let r = call("/api/v1/me".into()).await;
        assert!(
            r.text().contains("\"permissions\":[\"view_org\"]"),
            "{}",
            r.text()
        );
        let r = call("/api/v1/sites/abc".into()).await;
        assert!(r.status.is_client_error());
        let r = call("/api/v1/nothing".into()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["error"]["code"], "not_found");
        assert!(r.headers.contains_key("x-request-id"));
        // Validation errors name the field and the reason, in the user's language.
        let r = app
            .post(
                "/sites",
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("name", ""),
                    ("site_type", "castle"),
                    ("region_code", "450100"),
                    ("contact_phone", "abc"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text();
        assert!(
            body.contains("名称：必填")
                && body.contains("站点类型：请从列表中选择")
                && body.contains("联系电话：电话号码格式不正确"),
            "{body}"
        );
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

fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

impl App {
    async fn upload(
        &self,
        path: &str,
        cookie: &str,
        csrf: &str,
        file: Vec<u8>,
        mode: &str,
    ) -> Resp {
        self.multipart(
            path,
            cookie,
            csrf,
            &[("mode", mode)],
            &[("file", "a.xlsx", &file)],
        )
        .await
    }

    /// A `multipart/form-data` post as a browser sends a form with file inputs: the CSRF
    /// token first, as our forms have it, then text fields, then files as (field, file name,
    /// bytes).
    async fn multipart(
        &self,
        path: &str,
        cookie: &str,
        csrf: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Resp {
        let boundary = "shiliuBoundary7MA4YWxk";
        let mut body = Vec::new();
        for (name, value) in std::iter::once(&("_csrf", csrf)).chain(fields) {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, file_name, bytes) in files {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.call(
            Request::post(path)
                .header(header::COOKIE, cookie)
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}

/// A workbook whose shared strings inflate to `mb` megabytes from a file of about a tenth of a
/// megabyte: its other parts copied from a real workbook.
fn spreadsheet_bomb(mb: usize) -> Vec<u8> {
    use std::io::Write as _;
    let real = xlsx(&[
        &["名称", "站点类型", "所属区域代码"],
        &["甲", "民族之家", "450103"],
    ]);
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(real)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..src.len() {
        let part = src.by_index_raw(i).unwrap();
        if part.name() != "xl/sharedStrings.xml" {
            out.raw_copy_file(part).unwrap();
        }
    }
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    out.start_file("xl/sharedStrings.xml", options).unwrap();
    out.write_all(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"3\" uniqueCount=\"3\"><si><t>",
    )
    .unwrap();
    let chunk = vec![b'A'; 1 << 20];
    for _ in 0..mb {
        out.write_all(&chunk).unwrap();
    }
    out.write_all(b"</t></si><si><t>b</t></si><si><t>c</t></si></sst>")
        .unwrap();
    out.finish().unwrap().into_inner()
}

both_engines!(
    a_spreadsheet_bomb_is_refused_before_it_is_inflated,
    |t: TestDb| {
        let app = App::new(t);
        let lz = app
            .t
            .db
            .write_blocking(|c| {
                seed_city(c, "450100", "nn", "x");
                Ok(seed_city(c, "450200", "lz", "x"))
            })
            .unwrap();
        let bomb = spreadsheet_bomb(300);
        assert!(
            bomb.len() < 2 << 20,
            "the bomb is small: {} bytes",
            bomb.len()
        );
        block_on(async {
            let (cookie, csrf) = app.session("nn-commission-staff");
            for path in ["/sites/import", "/registry/import"] {
                let r = app
                    .upload(path, &cookie, &csrf, bomb.clone(), "dry_run")
                    .await;
                assert!(r.status.is_client_error(), "{path}: {}", r.status);
                assert!(r.text().contains("文件解压后过大"), "{path}: {}", r.text());
            }
            // Another city's scheme: refused before the file is looked at.
            let r = app
                .multipart(
                    &format!("/evaluations/{}/units/import", lz.evaluation),
                    &cookie,
                    &csrf,
                    &[("version", "1")],
                    &[("file", "a.xlsx", &bomb)],
                )
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
            assert!(!r.text().contains("文件解压后过大"));
            // A role that may not import is refused before the file is looked at.
            let (grid, grid_csrf) = app.session("nn-grid-worker");
            let r = app
                .upload("/sites/import", &grid, &grid_csrf, bomb.clone(), "dry_run")
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            assert!(!r.text().contains("文件解压后过大"));
        });
    }
);

both_engines!(
    excel_import_dry_run_errors_and_all_or_nothing,
    |t: TestDb| {
        let app = App::new(t);
        app.t
            .db
            .write_blocking(|c| {
                seed_city(c, "450100", "nn", "x");
                Ok(())
            })
            .unwrap();
        block_on(async {
            let (cookie, csrf) = app.session("nn-commission-staff");
            // The template's header row is the import's columns.
            let r = app.get("/sites/import/template.xlsx", &cookie).await;
            assert_eq!(r.status, StatusCode::OK);
            let header = xlsx_text(&r.body);
            assert!(
                header.starts_with("名称\t站点类型\t所属区域代码\t地址"),
                "{header}"
            );

            let before = app.t.read_blocking_count();
            let bad = xlsx(&[
                &["名称", "站点类型", "所属区域代码", "联系电话"],
                &["青秀区民族之家", "民族之家", "450103", "0771-5551234"],
                &["", "城堡", "450103", ""],
                &["越界站点", "解忧超市", "450200", ""],
                &["号码有误", "minzu_home", "450103", "12345abc"],
            ]);
            for mode in ["dry_run", "commit"] {
                let r = app
                    .upload("/sites/import", &cookie, &csrf, bad.clone(), mode)
                    .await;
                assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{mode}");
                let body = r.text();
                for expected in [
                    "第 3 行</td><td>名称</td><td>必填",
                    "第 3 行</td><td>站点类型</td><td>请从列表中选择",
                    "第 4 行</td><td>所属区域代码</td><td>区域不存在或不在您的范围内",
                    "第 5 行</td><td>联系电话</td><td>电话号码格式不正确",
                ] {
                    assert!(body.contains(expected), "{mode}: {expected} in {body}");
                }
                assert!(!body.contains("第 2 行"), "row 2 is valid");
                assert_eq!(
                    app.t.read_blocking_count(),
                    before,
                    "{mode}: nothing written"
                );
            }
            // A missing required column is reported for the file.
            let r = app
                .upload(
                    "/sites/import",
                    &cookie,
                    &csrf,
                    xlsx(&[&["名称"], &["甲"]]),
                    "commit",
                )
                .await;
            assert!(
                r.text().contains("缺少列：站点类型、所属区域代码"),
                "{}",
                r.text()
            );
            // A file that is not Excel.
            let r = app
                .upload(
                    "/sites/import",
                    &cookie,
                    &csrf,
                    b"not a spreadsheet".to_vec(),
                    "commit",
                )
                .await;
            assert!(r.text().contains("无法读取该文件"));

            let good = xlsx(&[
                &["Name", "Site type", "Region code", "Contact phone"],
                &["青秀区民族之家", "民族之家", "450103", "0771-5551234"],
                &["南湖解忧超市", "jieyou_desk", "450103", ""],
            ]);
            let r = app
                .upload("/sites/import", &cookie, &csrf, good.clone(), "dry_run")
                .await;
            assert!(r.text().contains("检查通过：共 2 行"), "{}", r.text());
            assert_eq!(
                app.t.read_blocking_count(),
                before,
                "a dry run writes nothing"
            );
            let r = app
                .upload("/sites/import", &cookie, &csrf, good, "commit")
                .await;
            assert!(r.text().contains("已导入 2 行"), "{}", r.text());
            let list = app.get("/sites", &cookie).await.text();
            assert!(list.contains("青秀区民族之家") && list.contains("南湖解忧超市"));

            // Communities and grids: a grid may sit under a community created earlier in the file.
            let r = app
                .upload(
                    "/regions/import",
                    &cookie,
                    &csrf,
                    xlsx(&[
                        &["上级区域代码", "名称", "代码"],
                        &["450103001", "导入社区", "450103001901"],
                        &["450103001901", "导入一网格", ""],
                    ]),
                    "commit",
                )
                .await;
            assert!(r.text().contains("已导入 2 行"), "{}", r.text());
            let audit = app
                .t
                .db
                .write_blocking(|c| {
                    shiliu_db::audit::list(c, &shiliu_db::audit::AuditFilter::default(), 20)
                })
                .unwrap();
            assert!(audit.iter().any(|a| a.action == "region.import"));
            assert!(audit.iter().any(|a| a.action == "site.import"));
            // A grid worker may not import.
            let (gcookie, gcsrf) = app.session("nn-grid-worker");
            let r = app
                .upload(
                    "/sites/import",
                    &gcookie,
                    &gcsrf,
                    xlsx(&[&["名称"]]),
                    "commit",
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
        });
    }
);

both_engines!(no_input_crashes_the_server, |t: TestDb| {
    let app = App::new(t);
    app.t
        .db
        .write_blocking(|c| {
            seed_city(c, "450100", "nn", "x");
            Ok(())
        })
        .unwrap();
    block_on(async {
        let (cookie, csrf) = app.session("nn-system-admin");
        let huge = "名".repeat(200_000);
        let gets = [
            "/sites/abc",
            "/sites/99999999999999999999999",
            "/sites?before=xyz",
            "/sites?q=%25%5F%5C",
            "/regions/-1",
            "/audit?from=2026-13-45",
            "/static/../Cargo.toml",
            "/api/v1/regions/abc",
            "/lang?to=klingon&back=//evil.example",
        ];
        for path in gets {
            let r = app.get(path, &cookie).await;
            assert!(
                r.status.is_client_error()
                    || r.status.is_redirection()
                    || r.status == StatusCode::OK,
                "{path}: {}",
                r.status
            );
            assert!(!r.text().contains("panicked"));
        }
        // A query-string rejection gets the same friendly page as our own errors.
        let r = app.get("/sites?before=xyz", &cookie).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(
            r.text().contains("<strong>请求</strong>：格式不正确"),
            "{}",
            r.text()
        );
        let r = app.get("/api/v1/sites/abc", "").await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "the token is checked first"
        );
        // The redirect after switching language never leaves the site.
        let r = app.get("/lang?to=en&back=//evil.example", "").await;
        assert_eq!(r.headers[header::LOCATION], "/");
        let posts: [(&str, Vec<(&str, &str)>); 6] = [
            (
                "/sites",
                vec![
                    ("_csrf", &csrf),
                    ("name", &huge),
                    ("site_type", "other"),
                    ("region_code", "450100"),
                ],
            ),
            (
                "/sites",
                vec![("_csrf", &csrf), ("version", "not-a-number")],
            ),
            (
                "/regions/1/children",
                vec![("_csrf", &csrf), ("name", "\u{0}\u{7}")],
            ),
            (
                "/users",
                vec![
                    ("_csrf", &csrf),
                    ("username", "ab"),
                    ("password", ""),
                    ("role", "root"),
                    ("region_code", "999999"),
                ],
            ),
            (
                "/tokens",
                vec![
                    ("_csrf", &csrf),
                    ("name", "x"),
                    ("days", "100000000000000000000"),
                    ("perm", "launch_missiles"),
                ],
            ),
            (
                "/sites/1/active",
                vec![("_csrf", &csrf), ("version", "1"), ("active", "maybe")],
            ),
        ];
        for (path, form) in &posts {
            let r = app.post(path, &cookie, form).await;
            assert!(r.status.is_client_error(), "POST {path}: {}", r.status);
        }
        // Bytes that are not UTF-8, and a body over the limit.
        let r = app
            .call(
                Request::post("/sites")
                    .header(header::COOKIE, &cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(vec![b'_', b'c', 0xff, 0xfe, b'=', 0xc3]))
                    .unwrap(),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "no valid CSRF token in garbage"
        );
        let r = app
            .call(
                Request::post("/sites")
                    .header(header::COOKIE, &cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(vec![b'a'; 21 * 1024 * 1024]))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        let r = app
            .call(
                Request::delete("/sites")
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert!(r.status.is_client_error(), "DELETE /sites: {}", r.status);
        // The server still answers.
        assert_eq!(app.get("/healthz", "").await.status, StatusCode::OK);
    });
});

both_engines!(own_password_reference_and_region_export, |t: TestDb| {
    let app = App::new(t);
    let hash = shiliu_web::web::password::hash("Shiliu-2026!").unwrap();
    let nn = app
        .t
        .db
        .write_blocking(|c| {
            let d = seed_city(c, "450100", "nn", "x");
            let nn = org::get_region_by_code(c, &Scope::everything(), "450100")?;
            user(c, "self", Role::GridWorker, &nn, vec![d.grid], &hash);
            Ok(d)
        })
        .unwrap();
    block_on(async {
        let (cookie, csrf) = app.session("self");
        let (other, _) = app.session("self");
        let r = app
            .post(
                "/account/password",
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("current", "wrong"),
                    ("password", "short"),
                    ("confirm", "other"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text();
        assert!(
            body.contains("当前密码不正确")
                && body.contains("密码至少 10 位")
                && body.contains("两次输入的密码不一致"),
            "{body}"
        );
        let ok = [
            ("_csrf", csrf.as_str()),
            ("current", "Shiliu-2026!"),
            ("password", "Grid-Worker-2027"),
            ("confirm", "Grid-Worker-2027"),
        ];
        let r = app.post("/account/password", &cookie, &ok).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            app.get("/account", &cookie).await.status,
            StatusCode::OK,
            "this session goes on"
        );
        assert_eq!(
            app.get("/account", &other).await.status,
            StatusCode::SEE_OTHER,
            "other sessions end"
        );

        let r = app.get("/reference", &cookie).await;
        assert!(
            r.text().contains("壮族") && r.text().contains("Zhuang") && r.text().contains("ZH")
        );
        assert_eq!(
            r.text().matches("<tr>").count(),
            57,
            "56 peoples and the header"
        );

        let (admin, _) = app.session("nn-system-admin");
        let r = app
            .get(&format!("/regions/{}/export.xlsx", nn.region), &admin)
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let text = xlsx_text(&r.body);
        assert!(text.contains("nn社区") && text.contains("nn网格"), "{text}");
    });
});

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

/// Same-site links of a page (`href="/…"`), without the ones that change state or leave HTML.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .map(|h| h.replace("&amp;", "&"))
        .filter(|h| !h.starts_with("/static/") && !h.starts_with("/lang") && !h.contains(".xlsx"))
        .collect()
}

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

both_engines!(
    managing_users_stays_within_what_one_may_grant,
    |t: TestDb| {
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
            .unwrap();
        let id_of = |name: &str| {
            let n = name.to_string();
            app.t
                .db
                .write_blocking(move |c| Ok(accounts::find_by_username(c, &n)?.unwrap()))
                .unwrap()
        };
        block_on(async {
            let (cookie, csrf) = app.session("nn-commission-staff");
            let admin = id_of("nn-system-admin");
            // Commission staff may not take over a system administrator in their own city.
            for (path, form) in [
                (
                    format!("/users/{}/password", admin.id),
                    vec![("_csrf", csrf.as_str()), ("password", "Taken-Over-2026")],
                ),
                (
                    format!("/users/{}/active", admin.id),
                    vec![("_csrf", csrf.as_str()), ("active", "false")],
                ),
            ] {
                let r = app.post(&path, &cookie, &form).await;
                assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
                assert!(
                    r.text().contains("您不能管理拥有该角色的用户"),
                    "{path}: {}",
                    r.text()
                );
            }
            let v = admin.version.to_string();
            let r = app
                .post(
                    &format!("/users/{}", admin.id),
                    &cookie,
                    &[
                        ("_csrf", &csrf),
                        ("display_name", "x"),
                        ("role", "leader"),
                        ("region_code", "450100"),
                        ("version", &v),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(id_of("nn-system-admin").active);
            // Nor grant a role above their own.
            let gw = id_of("nn-grid-worker");
            let v = gw.version.to_string();
            let r = app
                .post(
                    &format!("/users/{}", gw.id),
                    &cookie,
                    &[
                        ("_csrf", &csrf),
                        ("display_name", "x"),
                        ("role", "system_admin"),
                        ("region_code", "450100"),
                        ("version", &v),
                    ],
                )
                .await;
            assert!(r.text().contains("您不能授予该角色"), "{}", r.text());
            // A grid worker moves to another grid: saved, audited, and their sessions end.
            let (gw_cookie, _) = app.session("nn-grid-worker");
            let new_grid = app
                .t
                .db
                .write_blocking(move |c| {
                    let sys = Actor::system("test");
                    let g = org::get_region(c, &Scope::everything(), nn.grid)?;
                    let comm = org::get_region(c, &Scope::everything(), g.parent_id.unwrap())?;
                    org::create_child_region(
                        c,
                        &sys,
                        comm.id,
                        &RegionInput::parse("第二网格", "").unwrap(),
                    )
                })
                .unwrap();
            let town_code = app
                .t
                .db
                .write_blocking(move |c| {
                    Ok(org::get_region(c, &Scope::everything(), gw.region_id)?.code)
                })
                .unwrap();
            let r = app
                .post(
                    &format!("/users/{}", gw.id),
                    &cookie,
                    &[
                        ("_csrf", &csrf),
                        ("display_name", "蒙小丽"),
                        ("role", "grid_worker"),
                        ("region_code", &town_code),
                        ("grids", &new_grid.code),
                        ("phone", "13877112345"),
                        ("version", &gw.version.to_string()),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let grids = app
                .t
                .db
                .write_blocking(move |c| accounts::user_grid_ids(c, gw.id))
                .unwrap();
            assert_eq!(grids, vec![new_grid.id]);
            assert_eq!(
                app.get("/", &gw_cookie).await.status,
                StatusCode::OK,
                "same role and region: the session goes on"
            );
            // A stale form (the version moved on) is refused, not silently applied.
            let r = app
                .post(
                    &format!("/users/{}", gw.id),
                    &cookie,
                    &[
                        ("_csrf", &csrf),
                        ("display_name", "旧表单"),
                        ("role", "grid_worker"),
                        ("region_code", &town_code),
                        ("grids", &new_grid.code),
                        ("version", &gw.version.to_string()),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::CONFLICT);
            // Users list filters by role in the database.
            let r = app.get("/users?kind=grid_worker", &cookie).await;
            assert!(
                r.text().contains("蒙小丽") && !r.text().contains("用户nn-leader"),
                "{}",
                r.text()
            );
        });
    }
);

both_engines!(
    a_request_goes_round_the_loop_through_the_pages,
    |t: TestDb| {
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
            .unwrap();
        let (grid_code, site_name) = app
            .t
            .db
            .write_blocking(move |c| {
                let all = Scope::everything();
                Ok((
                    org::get_region(c, &all, nn.grid)?.code,
                    org::get_site(c, &all, nn.site)?.name,
                ))
            })
            .unwrap();
        block_on(async {
            // A grid worker takes a request in on a phone; bad input first.
            let (gw, gw_csrf) = app.session("nn-grid-worker");
            let form = app.get("/requests/new", &gw).await.text();
            assert!(
                form.contains(&grid_code),
                "the grid worker picks one of their grids"
            );
            let r = app
                .post(
                    "/requests",
                    &gw,
                    &[
                        ("_csrf", &gw_csrf),
                        ("channel", "grid"),
                        ("category_id", "x"),
                        ("region_code", &grid_code),
                        ("description", ""),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("诉求内容：必填"), "{}", r.text());
            let r = app
                .post(
                    "/requests",
                    &gw,
                    &[
                        ("_csrf", &gw_csrf),
                        ("channel", "hotline"),
                        ("category_id", "1"),
                        ("region_code", &grid_code),
                        ("description", "x"),
                    ],
                )
                .await;
            assert!(
                r.text().contains("渠道：请从列表中选择"),
                "a grid worker records the grid channel only"
            );
            let cat = app
                .t
                .db
                .write_blocking(|c| Ok(shiliu_db::requests::categories(c, false)?.remove(2)))
                .unwrap();
            let r = app
                .post(
                    "/requests",
                    &gw,
                    &[
                        ("_csrf", &gw_csrf),
                        ("channel", "grid"),
                        ("category_id", &cat.id.to_string()),
                        ("region_code", &grid_code),
                        ("description", "出租屋漏水房东不修"),
                        ("contact_phone", "13977112233"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let path = r.headers[header::LOCATION]
                .to_str()
                .unwrap()
                .split('?')
                .next()
                .unwrap()
                .to_string();
            let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
            let page = app.get(&path, &gw).await.text();
            assert!(page.contains("已受理") && page.contains("出租屋漏水房东不修"));
            assert!(
                !page.contains("name=\"action\" value=\"dispatch\""),
                "a grid worker does not dispatch"
            );

            let version = || {
                app.t
                    .db
                    .write_blocking(move |c| {
                        Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.version)
                    })
                    .unwrap()
                    .to_string()
            };
            let act = |cookie: String,
                       csrf: String,
                       action: &'static str,
                       extra: Vec<(&'static str, String)>| {
                let app = &app;
                let v = version();
                async move {
                    let mut form: Vec<(&str, &str)> =
                        vec![("_csrf", &csrf), ("action", action), ("version", &v)];
                    for (k, val) in &extra {
                        form.push((k, val));
                    }
                    app.post(&format!("/requests/{id}/step"), &cookie, &form)
                        .await
                }
            };
            let (cs, cs_csrf) = app.session("nn-commission-staff");
            let (ss, ss_csrf) = app.session("nn-site-staff");
            let r = act(
                cs.clone(),
                cs_csrf.clone(),
                "dispatch",
                vec![("site_name", "没有这个站点".into())],
            )
            .await;
            assert!(
                r.text().contains("您的范围内没有这个名称的在用站点"),
                "{}",
                r.text()
            );
            let ok = StatusCode::SEE_OTHER;
            assert_eq!(
                act(
                    cs.clone(),
                    cs_csrf.clone(),
                    "dispatch",
                    vec![("site_name", site_name.clone())]
                )
                .await
                .status,
                ok
            );
            // The site returns it without a reason: refused; with one: back to the dispatcher.
            let r = act(ss.clone(), ss_csrf.clone(), "return", vec![]).await;
            assert!(r.text().contains("原因 / 说明：必填"), "{}", r.text());
            assert_eq!(
                act(
                    ss.clone(),
                    ss_csrf.clone(),
                    "return",
                    vec![("reason", "应由社区处理".into())]
                )
                .await
                .status,
                ok
            );
            assert_eq!(
                act(
                    cs.clone(),
                    cs_csrf.clone(),
                    "dispatch",
                    vec![("site_name", site_name.clone())]
                )
                .await
                .status,
                ok
            );
            for a in ["accept", "start"] {
                assert_eq!(
                    act(ss.clone(), ss_csrf.clone(), a, vec![]).await.status,
                    ok,
                    "{a}"
                );
            }
            let r = act(
                ss.clone(),
                ss_csrf.clone(),
                "resolve",
                vec![("outcome", "solved".into()), ("reply", String::new())],
            )
            .await;
            assert!(r.text().contains("答复群众：必填"));
            let resolve = vec![
                ("outcome", "solved".to_string()),
                ("reply", "已联系房东维修".to_string()),
            ];
            assert_eq!(
                act(ss.clone(), ss_csrf.clone(), "resolve", resolve)
                    .await
                    .status,
                ok
            );
            // A stale form is refused, not applied.
            let r = app
                .post(
                    &format!("/requests/{id}/step"),
                    &cs,
                    &[
                        ("_csrf", &cs_csrf),
                        ("action", "rate"),
                        ("rating", "satisfied"),
                        ("version", "1"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::CONFLICT);
            assert_eq!(
                act(
                    cs.clone(),
                    cs_csrf.clone(),
                    "rate",
                    vec![("rating", "satisfied".into())]
                )
                .await
                .status,
                ok
            );
            assert_eq!(
                act(cs.clone(), cs_csrf.clone(), "close", vec![])
                    .await
                    .status,
                ok
            );
            let page = app.get(&path, &cs).await.text();
            for s in [
                "已归档",
                "满意",
                "已联系房东维修",
                "应由社区处理",
                "派单",
                "退回",
                "接单",
                "办结",
                "回访评价",
            ] {
                assert!(page.contains(s), "{s} in the page: {page}");
            }
            let list = app.get("/requests?status=closed", &cs).await.text();
            assert!(list.contains("出租屋漏水房东不修"));
            let print = app.get(&format!("{path}/print"), &cs).await;
            assert_eq!(print.status, StatusCode::OK);
            assert!(
                print.text().contains("应由社区处理") && !print.text().contains("<form"),
                "a print view without forms"
            );
            let x = app.get("/requests/export.xlsx?status=closed", &cs).await;
            assert!(xlsx_text(&x.body).contains("出租屋漏水房东不修"));
            let stats = app.get("/requests/stats?by=channel", &cs).await.text();
            assert!(
                stats.contains("<svg") && stats.contains("网格员上报") && stats.contains("100.0%"),
                "{stats}"
            );
            let bad = app.get("/requests/stats?from=yesterday", &cs).await;
            assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(bad.text().contains("月份格式应为"), "{}", bad.text());
            let by_region = app.get("/requests/stats?by=region", &cs).await.text();
            assert!(
                by_region.contains("<svg") && by_region.contains("100.0%"),
                "{by_region}"
            );
            let x = app.get("/requests/stats.xlsx?by=channel", &cs).await;
            let cells = xlsx_text(&x.body);
            assert!(
                cells.contains("网格员上报") && cells.contains("合计"),
                "{cells}"
            );
        });
    }
);

both_engines!(
    a_resident_submits_follows_and_rates_without_an_account,
    |t: TestDb| {
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
            .unwrap();
        block_on(async {
            // The place: drill down from the region to a community, with no account.
            let r = app.get("/r", "").await;
            assert_eq!(r.status, StatusCode::OK);
            assert!(r.text().contains("南宁市") && r.text().contains("柳州市"));
            let r = app.get(&format!("/r?region={}", nn.region), "").await;
            assert!(
                r.text().contains("提交诉求") && r.text().contains("nn社区"),
                "{}",
                r.text()
            );
            let pre = "shiliu_csrf=resident-token-0123456789";
            let cat = app
                .t
                .db
                .write_blocking(|c| Ok(shiliu_db::requests::categories(c, false)?.remove(1)))
                .unwrap();
            let region = nn.region.to_string();
            let cat_id = cat.id.to_string();
            let form = |phone: &'static str, consent: bool| {
                let mut f = vec![
                    ("_csrf", "resident-token-0123456789".to_string()),
                    ("region", region.clone()),
                    ("category_id", cat_id.clone()),
                    ("description", "孩子转学需要哪些材料？".to_string()),
                    ("contact_phone", phone.to_string()),
                ];
                if consent {
                    f.push(("consent", "1".to_string()));
                }
                f
            };
            let as_ref = |f: &Vec<(&'static str, String)>| {
                f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
            };
            let post = |f: Vec<(&'static str, String)>| {
                let app = &app;
                async move {
                    let pairs: Vec<(&str, &str)> =
                        f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    app.post("/r", pre, &pairs).await
                }
            };
            // Without the form's token nothing is taken; without consent, the field says why.
            let r = app
                .post("/r", "", &[("region", &region), ("description", "x")])
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            let r = post(as_ref(&form("13912345678", false))).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                r.text().contains("需要同意使用您的信息办理诉求"),
                "{}",
                r.text()
            );
            let r = post(as_ref(&form("13912345678", true))).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
            let code = to
                .trim_start_matches("/r/")
                .split('?')
                .next()
                .unwrap()
                .to_string();
            let page = app.get(&to, "").await.text();
            assert!(
                page.contains(&code) && page.contains("已收到您的诉求") && page.contains("已受理")
            );
            assert!(
                !page.contains("13912345678"),
                "no contact details on the public page"
            );
            // A photo comes with the request (multipart, the token in the address); a file
            // that is not a photo is refused and named.
            let mut with_photo = as_ref(&form("13912345600", true));
            with_photo.retain(|(k, _)| *k != "_csrf");
            let fields: Vec<(&str, &str)> =
                with_photo.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app
                .multipart(
                    "/r",
                    pre,
                    "resident-token-0123456789",
                    &fields,
                    &[("photos", "a.pdf", b"%PDF-1.4")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("a.pdf"), "{}", r.text());
            let r = app
                .multipart(
                    "/r",
                    pre,
                    "resident-token-0123456789",
                    &fields,
                    &[("photos", "漏水.png", PNG)],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let photo_code = r
                .location()
                .trim_start_matches("/r/")
                .split('?')
                .next()
                .unwrap()
                .to_string();
            let kept = app
                .t
                .db
                .write_blocking(move |c| {
                    let r = shiliu_db::requests::by_code(c, &photo_code)?;
                    shiliu_db::requests::files::list(c, &r)
                })
                .unwrap();
            assert_eq!(kept.len(), 1);
            assert_eq!(kept[0].uploader, "resident");
            // The same phone may not flood the desk.
            for _ in 0..2 {
                assert_eq!(
                    post(as_ref(&form("13912345678", true))).await.status,
                    StatusCode::SEE_OTHER
                );
            }
            assert_eq!(
                post(as_ref(&form("13912345678", true))).await.status,
                StatusCode::TOO_MANY_REQUESTS
            );
            // Staff handle it; the resident reads the reply and rates it.
            let staff = Actor::system("staff");
            let c2 = code.clone();
            app.t
                .db
                .write_blocking(move |c| {
                    let mut r = shiliu_db::requests::by_code(c, &c2)?;
                    for (a, input) in [
                        (
                            shiliu_domain::requests::Action::Dispatch,
                            shiliu_domain::requests::ActionInput::default(),
                        ),
                        (
                            shiliu_domain::requests::Action::Accept,
                            shiliu_domain::requests::ActionInput::default(),
                        ),
                        (
                            shiliu_domain::requests::Action::Resolve,
                            shiliu_domain::requests::ActionInput {
                                outcome: Some(shiliu_domain::requests::Outcome::Solved),
                                reply: Some("请带户口本和原学校转学证明到教育局办理".into()),
                                ..Default::default()
                            },
                        ),
                    ] {
                        // The request was made at the community, which has no site: dispatched by hand.
                        let step = shiliu_db::requests::StepInput {
                            action_input: input,
                            site_id: Some(nn.site),
                            ..Default::default()
                        };
                        r = shiliu_db::requests::step(c, &staff, r.id, r.version, a, &step)?;
                    }
                    Ok(())
                })
                .unwrap();
            let page = app.get(&format!("/r/{code}"), "").await.text();
            assert!(
                page.contains("请带户口本和原学校转学证明到教育局办理")
                    && page.contains("提交评价")
            );
            let r = app
                .post(
                    &format!("/r/{code}/rate"),
                    pre,
                    &[
                        ("_csrf", "resident-token-0123456789"),
                        ("rating", "satisfied"),
                        ("comment", "很快"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let page = app.get(&format!("/r/{code}?rated=1"), "").await.text();
            assert!(
                page.contains("感谢您的评价")
                    && page.contains("已回访")
                    && !page.contains("提交评价")
            );
            let r = app
                .post(
                    &format!("/r/{code}/rate"),
                    pre,
                    &[
                        ("_csrf", "resident-token-0123456789"),
                        ("rating", "dissatisfied"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "rated once");
            // Unknown codes are not found, through the form and directly.
            let r = app.get("/r/track?code=NOSUCHCODE", "").await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
            assert!(r.text().contains("没有找到这个编号的诉求"));
            assert_eq!(
                app.get("/r/ZZZZZZZZZZ", "").await.status,
                StatusCode::NOT_FOUND
            );
            let r = app
                .get(&format!("/r/track?code={}", code.to_lowercase()), "")
                .await;
            assert_eq!(
                r.headers[header::LOCATION].to_str().unwrap(),
                format!("/r/{code}")
            );
            // The audit log names the resident, with the client address.
            let audit = app
                .t
                .db
                .write_blocking(|c| {
                    shiliu_db::audit::list(c, &shiliu_db::audit::AuditFilter::default(), 100)
                })
                .unwrap();
            assert!(
                audit
                    .iter()
                    .any(|a| a.actor == "resident" && a.action == "request.create")
            );
        });
    }
);

/// A system administrator of the whole province (广西壮族自治区), who holds the platform's
/// settings.
fn province_admin(c: &mut DbConnection) -> i64 {
    let gx = org::get_region_by_code(c, &Scope::everything(), "450000").unwrap();
    user(c, "gx-admin", Role::SystemAdmin, &gx, vec![], "x")
}

both_engines!(
    service_levels_and_the_calendar_belong_to_their_region,
    |t: TestDb| {
        let app = App::new(t);
        let (nn, lz) = app
            .t
            .db
            .write_blocking(|c| {
                province_admin(c);
                Ok((
                    seed_city(c, "450100", "nn", "x"),
                    seed_city(c, "450200", "lz", "x"),
                ))
            })
            .unwrap();
        let renting = app
            .t
            .db
            .write_blocking(|c| {
                Ok(shiliu_db::requests::categories(c, false)?
                    .into_iter()
                    .find(|k| k.code == "renting")
                    .unwrap())
            })
            .unwrap();
        let platform_minutes = renting.service_minutes;
        block_on(async {
            let (admin, admin_csrf) = app.session("gx-admin");
            let (cs, csrf) = app.session("nn-commission-staff");
            let (gw, _) = app.session("nn-grid-worker");
            assert_eq!(
                app.get("/settings/categories", &gw).await.status,
                StatusCode::FORBIDDEN
            );
            let path = format!("/settings/categories/{}", renting.id);
            let v = renting.version.to_string();
            let edit = |amount: &'static str, unit: &'static str, name: &'static str| {
                vec![
                    ("code", "renting"),
                    ("name", name),
                    ("amount", amount),
                    ("unit", unit),
                    ("active", "1"),
                ]
            };
            // A city may not change the province's category: named, and nothing changes.
            let mut f = vec![("_csrf", csrf.as_str()), ("version", v.as_str())];
            f.extend(edit("1", "hours", "改名"));
            let r = app.post(&path, &cs, &f).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("全区统一的设置"), "{}", r.text());
            // Nor its questions or reply templates.
            let r = app
                .post(
                    &format!("{path}/templates"),
                    &cs,
                    &[("_csrf", &csrf), ("title", "越权模板"), ("body", "越权")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            // The city's page shows the province's level and offers a local one.
            let page = app.get("/settings/categories", &cs).await.text();
            assert!(
                page.contains("租房租住") && page.contains("全区时限"),
                "{page}"
            );
            assert!(page.contains(&format!("{path}/level")));
            // Bad input names the field.
            let r = app
                .post(
                    &format!("{path}/level"),
                    &cs,
                    &[("_csrf", &csrf), ("amount", "abc"), ("unit", "days")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("办理时限：应为整数"), "{}", r.text());
            // 南宁's own level: two working hours, for 南宁 only.
            let r = app
                .post(
                    &format!("{path}/level"),
                    &cs,
                    &[("_csrf", &csrf), ("amount", "2"), ("unit", "hours")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            // A holiday on the next day, as 南宁's own (a local festival).
            let tomorrow = shiliu_domain::calendar::local(shiliu_db::now())
                .date()
                .succ_opt()
                .unwrap();
            let day = tomorrow.format("%Y-%m-%d").to_string();
            let r = app
                .post(
                    "/settings/calendar",
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("day", &day),
                        ("kind", "holiday"),
                        ("note", "本地节日"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let r = app
                .post(
                    "/settings/calendar",
                    &cs,
                    &[("_csrf", &csrf), ("day", "2026-02-30"), ("kind", "holiday")],
                )
                .await;
            assert!(r.text().contains("日期格式应为"));
            let year = format!("/settings/calendar?year={}", &day[..4]);
            assert!(app.get(&year, &cs).await.text().contains("本地节日"));
            assert!(
                !app.get(&year, &admin).await.text().contains("本地节日"),
                "not the province's"
            );
            // The province's administrator edits the province's category and calendar.
            let mut f = vec![("_csrf", admin_csrf.as_str()), ("version", v.as_str())];
            f.extend(edit("3", "days", "租房租住"));
            let r = app.post(&path, &admin, &f).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            // Requests taken in now: 南宁's by its own level and calendar, 柳州's by the
            // province's.
            let sys = Actor::system("test");
            let (nn_req, lz_req, cals) = app
                .t
                .db
                .write_blocking(move |c| {
                    let input = shiliu_domain::requests::RequestInput::parse(
                        shiliu_domain::requests::Channel::Hotline,
                        "押金",
                        "",
                        "",
                        "",
                        false,
                    )
                    .unwrap();
                    let a =
                        shiliu_db::requests::create(c, &sys, &input, renting.id, nn.grid, None)?;
                    let b =
                        shiliu_db::requests::create(c, &sys, &input, renting.id, lz.grid, None)?;
                    Ok((a, b, shiliu_db::requests::settings::Calendars::load(c)?))
                })
                .unwrap();
            let nn_cal = cals.at(&nn_req.region_path);
            let lz_cal = cals.at(&lz_req.region_path);
            let after = |cal: &shiliu_domain::calendar::WorkCalendar,
                         r: &shiliu_db::requests::Request,
                         m| {
                Some(shiliu_domain::calendar::utc(cal.add_working_minutes(
                    shiliu_domain::calendar::local(r.received_at),
                    m,
                )))
            };
            assert_eq!(nn_req.due_at, after(&nn_cal, &nn_req, 120));
            let per_day = shiliu_domain::calendar::WorkCalendar::default().minutes_per_day();
            assert_eq!(lz_req.due_at, after(&lz_cal, &lz_req, 3 * per_day));
            assert_ne!(
                Some(3 * per_day as i32),
                platform_minutes,
                "the province's level changed"
            );
            assert!(!nn_cal.is_working_day(tomorrow), "南宁's own holiday");
            let weekday = !matches!(
                chrono::Datelike::weekday(&tomorrow),
                chrono::Weekday::Sat | chrono::Weekday::Sun
            );
            assert_eq!(lz_cal.is_working_day(tomorrow), weekday, "not 柳州's");
            // Back to the province's level.
            let r = app
                .post(
                    &format!("{path}/level"),
                    &cs,
                    &[("_csrf", &csrf), ("clear", "1")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            assert!(
                !app.get("/settings/categories", &cs)
                    .await
                    .text()
                    .contains("恢复全区时限")
            );
            let audit = app
                .t
                .db
                .write_blocking(|c| {
                    shiliu_db::audit::list(c, &shiliu_db::audit::AuditFilter::default(), 100)
                })
                .unwrap();
            for action in ["category.update", "category.level", "calendar.set"] {
                assert!(audit.iter().any(|a| a.action == action), "{action} audited");
            }
        });
    }
);

both_engines!(requests_through_the_json_api, |t: TestDb| {
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    let grid_code = app
        .t
        .db
        .write_blocking(move |c| Ok(org::get_region(c, &Scope::everything(), nn.grid)?.code))
        .unwrap();
    block_on(async {
        let (cookie, csrf) = app.session("nn-commission-staff");
        let r = app
            .post(
                "/tokens",
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("name", "热线系统"),
                    ("days", "30"),
                    ("perm", "view_requests"),
                    ("perm", "create_requests"),
                    ("perm", "dispatch_requests"),
                    ("perm", "handle_requests"),
                ],
            )
            .await;
        let text = r.text();
        let token = text
            .split("<code class=\"secret\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string();
        let send = |method: &'static str, path: String, body: Option<serde_json::Value>| {
            let app = &app;
            let token = token.clone();
            async move {
                let mut req = Request::builder()
                    .method(method)
                    .uri(path)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"));
                let body = match body {
                    Some(v) => {
                        req = req.header(header::CONTENT_TYPE, "application/json");
                        Body::from(v.to_string())
                    }
                    None => Body::empty(),
                };
                let r = app.call(req.body(body).unwrap()).await;
                let v: serde_json::Value =
                    serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
                (r.status, v)
            }
        };
        let (s, cats) = send("GET", "/api/v1/request-categories".into(), None).await;
        assert_eq!(s, StatusCode::OK);
        let cat = cats[0]["id"].as_i64().unwrap();
        // Invalid input: the envelope names the fields.
        let (s, e) = send("POST", "/api/v1/requests".into(), Some(serde_json::json!({"channel": "fax", "category_id": cat, "region_code": grid_code, "description": ""}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["error"]["code"], "invalid");
        assert!(e["error"]["details"]["channel"].is_string(), "{e}");
        let (s, e) = send(
            "POST",
            "/api/v1/requests".into(),
            Some(serde_json::json!({"channel": "hotline"})),
        )
        .await;
        assert!(
            s.is_client_error() && e["error"]["code"].is_string(),
            "a malformed body gets the envelope too: {e}"
        );
        // A bad media link is named with the other fields' problems, not after them.
        let (s, e) = send("POST", "/api/v1/requests".into(), Some(serde_json::json!({"channel": "hotline", "category_id": cat, "region_code": grid_code, "description": "", "media_url": "data:image/png;base64,AAAA"}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(e["error"]["details"]["description"].is_string(), "{e}");
        assert!(
            e["error"]["details"]["media_url"]
                .as_str()
                .unwrap()
                .contains("https://"),
            "{e}"
        );
        let (s, created) = send(
            "POST",
            "/api/v1/requests".into(),
            Some(serde_json::json!({"channel": "hotline", "category_id": cat, "region_code": grid_code, "description": "想咨询技能培训补贴", "contact_phone": "13877665544", "media_url": "https://pan.example.cn/s/abc"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        assert_eq!(created["media_url"], "https://pan.example.cn/s/abc");
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["status"], "received");
        let step = |action: &str, version: i64, extra: serde_json::Value| {
            let mut b = serde_json::json!({"action": action, "version": version});
            b.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            send("POST", format!("/api/v1/requests/{id}/steps"), Some(b))
        };
        let (s, r) = step("dispatch", 1, serde_json::json!({"site_id": nn.site})).await;
        assert_eq!(
            (s, r["status"].as_str()),
            (StatusCode::OK, Some("dispatched")),
            "{r}"
        );
        let (s, e) = step("accept", 1, serde_json::json!({})).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("stale"))
        );
        let (s, e) = step("close", 2, serde_json::json!({})).await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "not allowed from dispatched: {e}"
        );
        let (_, r) = step("accept", 2, serde_json::json!({})).await;
        let (_, r) = step(
            "resolve",
            r["version"].as_i64().unwrap(),
            serde_json::json!({"outcome": "solved", "reply": "已告知补贴申领流程"}),
        )
        .await;
        assert_eq!(r["status"], "resolved");
        // Staff see the link as one that opens apart from the page; the print view names it.
        let page = app.get(&format!("/requests/{id}"), &cookie).await.text();
        assert!(page.contains(r#"<a href="https://pan.example.cn/s/abc" target="_blank" rel="noopener noreferrer nofollow">"#), "{page}");
        let print = app
            .get(&format!("/requests/{id}/print"), &cookie)
            .await
            .text();
        assert!(
            print.contains("外部媒体链接</dt><dd>https://pan.example.cn/s/abc"),
            "{print}"
        );
        let (s, detail) = send("GET", format!("/api/v1/requests/{id}"), None).await;
        assert_eq!(s, StatusCode::OK);
        let actions: Vec<&str> = detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["receive", "dispatch", "accept", "resolve"]);
        let (_, list) = send("GET", "/api/v1/requests?status=resolved".into(), None).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        // The figures: two received, one resolved, as in the lists.
        let (s, st) = send("GET", "/api/v1/requests/stats?by=channel".into(), None).await;
        assert_eq!(s, StatusCode::OK, "{st}");
        assert_eq!(st["total"]["received"], 2, "{st}");
        assert_eq!(st["groups"][0]["label"], "服务咨询专线", "{st}");
        assert_eq!(st["total"]["completion_rate"], 0.5, "{st}");
        let (s, e) = send(
            "GET",
            "/api/v1/requests/stats?from=2026-05&to=2026-01".into(),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(e.to_string().contains("\"to\""), "{e}");
        // The other city's requests stay out of reach.
        let (s, _) = send("GET", format!("/api/v1/requests/{}", -1), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let doc: serde_json::Value =
            serde_json::from_slice(&app.get("/api/v1/openapi.json", "").await.body).unwrap();
        for path in [
            "/api/v1/requests",
            "/api/v1/requests/{id}",
            "/api/v1/requests/{id}/steps",
            "/api/v1/requests/stats",
            "/api/v1/request-categories",
        ] {
            assert!(
                doc["paths"][path].is_object(),
                "{path} in the OpenAPI document"
            );
        }
    });
});

both_engines!(routing_rules_from_the_settings_page, |t: TestDb| {
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    let (site_name, grid_code, renting) = app
        .t
        .db
        .write_blocking(move |c| {
            let all = Scope::everything();
            let rent = shiliu_db::requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == "renting")
                .unwrap();
            Ok((
                org::get_site(c, &all, nn.site)?.name,
                org::get_region(c, &all, nn.grid)?.code,
                rent.id.to_string(),
            ))
        })
        .unwrap();
    block_on(async {
        let (cs, csrf) = app.session("nn-commission-staff");
        let r = app
            .post(
                "/settings/routing",
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("category_id", &renting),
                    ("keywords", "押金"),
                    ("site_name", "没有的站点"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = app
            .post(
                "/settings/routing",
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("category_id", &renting),
                    ("region_code", "450100"),
                    ("keywords", "押金，房东"),
                    ("site_name", &site_name),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app.get("/settings/routing", &cs).await.text();
        assert!(
            page.contains("类别“租房租住”、在南宁市、含“押金 房东”"),
            "{page}"
        );
        let r = app
            .post(
                "/requests",
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("channel", "hotline"),
                    ("category_id", &renting),
                    ("region_code", &grid_code),
                    ("description", "房东扣押金"),
                ],
            )
            .await;
        let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
        let detail = app.get(&to, &cs).await.text();
        assert!(
            detail.contains(&format!(
                "按规则 1（类别“租房租住”、在南宁市、含“押金 房东”）：{site_name}"
            )),
            "{detail}"
        );
        let (gw, _) = app.session("nn-grid-worker");
        assert_eq!(
            app.get("/settings/routing", &gw).await.status,
            StatusCode::FORBIDDEN
        );
    });
});

both_engines!(extra_questions_on_every_channel, |t: TestDb| {
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| {
            province_admin(c);
            Ok(seed_city(c, "450100", "nn", "x"))
        })
        .unwrap();
    let (grid_code, school, site_name) = app
        .t
        .db
        .write_blocking(move |c| {
            let cat = shiliu_db::requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == "school_places")
                .unwrap();
            let all = Scope::everything();
            Ok((
                org::get_region(c, &all, nn.grid)?.code,
                cat.id,
                org::get_site(c, &all, nn.site)?.name,
            ))
        })
        .unwrap();
    let cat = school.to_string();
    block_on(async {
        let (cs, csrf) = app.session("nn-commission-staff");
        // The province's administrator adds two questions and a reply template on the
        // category's page (they are the province's settings; the city reads them).
        let (ad, ad_csrf) = app.session("gx-admin");
        let settings = format!("/settings/categories/{cat}");
        let r = app
            .post(
                &format!("{settings}/questions"),
                &ad,
                &[
                    ("_csrf", &ad_csrf),
                    ("code", "stage"),
                    ("label", "学段"),
                    ("kind", "single"),
                    ("choices", ""),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("选项：必填"), "{}", r.text());
        for (code, label, kind, choices) in [
            ("age", "子女年龄", "number", ""),
            ("stage", "学段", "single", "primary=小学\njunior=初中"),
        ] {
            let r = app
                .post(
                    &format!("{settings}/questions"),
                    &ad,
                    &[
                        ("_csrf", &ad_csrf),
                        ("code", code),
                        ("label", label),
                        ("kind", kind),
                        ("required", "1"),
                        ("choices", choices),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        }
        let r = app
            .post(
                &format!("{settings}/templates"),
                &ad,
                &[
                    ("_csrf", &ad_csrf),
                    ("title", "已协调学位"),
                    ("body", "已为孩子协调学位，请按时报到。"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app.get(&settings, &cs).await.text();
        assert!(
            page.contains("primary=小学") && page.contains("已协调学位"),
            "{page}"
        );

        // Staff intake: the form asks them; a missing or wrong answer is named by its question.
        let page = app.get("/requests/new", &cs).await.text();
        assert!(page.contains(&format!("name=\"answer.{cat}.stage\"")) && page.contains("初中"));
        let base = [
            ("_csrf", csrf.as_str()),
            ("channel", "hotline"),
            ("category_id", cat.as_str()),
            ("region_code", grid_code.as_str()),
            ("description", "孩子随迁，想在附近读书"),
        ];
        let age = format!("answer.{cat}.age");
        let stage = format!("answer.{cat}.stage");
        let mut bad = base.to_vec();
        bad.push((stage.as_str(), "college"));
        let r = app.post("/requests", &cs, &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains("子女年龄：必填") && text.contains("学段：请从列表中选择"),
            "{text}"
        );
        let mut good = base.to_vec();
        good.extend([(age.as_str(), "8"), (stage.as_str(), "primary")]);
        let r = app.post("/requests", &cs, &good).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
        let page = app.get(&to, &cs).await.text();
        assert!(
            page.contains("<dt>子女年龄</dt><dd>8</dd>")
                && page.contains("<dt>学段</dt><dd>小学</dd>"),
            "{page}"
        );

        // Resolving without JavaScript: a chosen template with an empty reply becomes the reply.
        let id: i64 = to
            .trim_start_matches("/requests/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let tid = app
            .t
            .db
            .write_blocking(move |c| {
                Ok(shiliu_db::requests::questions::reply_templates(c, Some(school), false)?[0].id)
            })
            .unwrap()
            .to_string();
        for action in ["dispatch", "accept"] {
            let v = app
                .t
                .db
                .write_blocking(move |c| {
                    Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.version)
                })
                .unwrap()
                .to_string();
            let mut f = vec![
                ("_csrf", csrf.as_str()),
                ("action", action),
                ("version", v.as_str()),
            ];
            if action == "dispatch" {
                f.push(("site_name", site_name.as_str()));
            }
            let r = app.post(&format!("/requests/{id}/step"), &cs, &f).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}: {}", r.text());
        }
        let page = app.get(&format!("/requests/{id}"), &cs).await.text();
        assert!(
            page.contains("data-body=\"已为孩子协调学位，请按时报到。\""),
            "{page}"
        );
        let v = app
            .t
            .db
            .write_blocking(move |c| {
                Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.version)
            })
            .unwrap()
            .to_string();
        let r = app
            .post(
                &format!("/requests/{id}/step"),
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("action", "resolve"),
                    ("version", &v),
                    ("outcome", "solved"),
                    ("reply", ""),
                    ("reply_template", &tid),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let reply = app
            .t
            .db
            .write_blocking(move |c| {
                Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.reply)
            })
            .unwrap();
        assert_eq!(reply.as_deref(), Some("已为孩子协调学位，请按时报到。"));

        // The public page asks the same questions of a resident.
        let pre = "shiliu_csrf=resident-token-0123456789";
        let region = nn.region.to_string();
        let public = [
            ("_csrf", "resident-token-0123456789"),
            ("region", region.as_str()),
            ("category_id", cat.as_str()),
            ("description", "想给孩子报名小学"),
            ("contact_phone", "13912340000"),
            ("consent", "1"),
            (stage.as_str(), "junior"),
        ];
        let r = app.post("/r", pre, &public).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("子女年龄：必填"), "{}", r.text());
        let mut public = public.to_vec();
        public.push((age.as_str(), "12"));
        let r = app.post("/r", pre, &public).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

        // The JSON API lists the questions and takes and returns answers.
        let r = app
            .post(
                "/tokens",
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("name", "热线"),
                    ("days", "1"),
                    ("perm", "view_requests"),
                    ("perm", "create_requests"),
                ],
            )
            .await;
        let token = r
            .text()
            .split("<code class=\"secret\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string();
        let api = |method: &'static str, path: String, body: Option<serde_json::Value>| {
            let (app, token) = (&app, token.clone());
            async move {
                let mut req = Request::builder()
                    .method(method)
                    .uri(path)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "application/json");
                req = req.header(header::ACCEPT, "application/json");
                let body = body.map_or_else(Body::empty, |v| Body::from(v.to_string()));
                let r = app.call(req.body(body).unwrap()).await;
                (
                    r.status,
                    serde_json::from_slice::<serde_json::Value>(&r.body).unwrap_or_default(),
                )
            }
        };
        let (s, cats) = api("GET", "/api/v1/request-categories".into(), None).await;
        assert_eq!(s, StatusCode::OK);
        let c = cats
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "school_places")
            .unwrap();
        assert_eq!(c["questions"][1]["choices"][1]["name"], "初中", "{c}");
        assert_eq!(c["reply_templates"][0]["title"], "已协调学位");
        let body = serde_json::json!({"channel": "hotline", "category_id": school, "region_code": grid_code,
            "description": "咨询插班", "answers": {"age": 9, "stage": ["primary"], "pet": "猫"}});
        let (s, e) = api("POST", "/api/v1/requests".into(), Some(body.clone())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(e["error"]["details"]["answer.pet"].is_string(), "{e}");
        let mut body = body;
        body["answers"].as_object_mut().unwrap().remove("pet");
        let (s, r) = api("POST", "/api/v1/requests".into(), Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        let (_, d) = api("GET", format!("/api/v1/requests/{}", r["id"]), None).await;
        assert_eq!(d["answers"][0]["value"], "9");
        assert_eq!(d["answers"][1]["text"], "小学", "{d}");
    });
});

both_engines!(finding_requests_by_words_and_filters, |t: TestDb| {
    let app = App::new(t);
    let (nn, lz) = app
        .t
        .db
        .write_blocking(|c| {
            Ok((
                seed_city(c, "450100", "nn", "x"),
                seed_city(c, "450200", "lz", "x"),
            ))
        })
        .unwrap();
    let (nn_city, made) = app
        .t
        .db
        .write_blocking(move |c| {
            let sys = Actor::system("test");
            let other = shiliu_db::requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == "other")
                .unwrap();
            let mut made = Vec::new();
            for (grid, channel, text) in [
                (nn.grid, Channel::Hotline, "和房东发生租房纠纷，押金不退"),
                (nn.grid, Channel::WalkIn, "咨询租房补贴怎么申请"),
                (nn.grid, Channel::Hotline, "孩子入学需要哪些材料"),
                (lz.grid, Channel::Hotline, "租房合同到期房东涨价"),
            ] {
                let input = RequestInput::parse(channel, text, "", "", "", false).unwrap();
                made.push(shiliu_db::requests::create(c, &sys, &input, other.id, grid, None)?.code);
            }
            Ok((
                org::get_region(c, &Scope::everything(), nn.region)?.code,
                made,
            ))
        })
        .unwrap();
    block_on(async {
        let (cs, _) = app.session("nn-commission-staff");
        let page = app.get("/requests?q=%E7%A7%9F%E6%88%BF", &cs).await; // 租房
        assert_eq!(page.status, StatusCode::OK);
        let text = page.text();
        assert!(text.contains(&made[0]) && text.contains(&made[1]), "{text}");
        assert!(!text.contains(&made[2]), "no match without the word");
        assert!(!text.contains(&made[3]), "nor across the scope");
        // Words and filters together: 租房 taken in at a walk-in desk.
        let text = app
            .get("/requests?q=%E7%A7%9F%E6%88%BF&channel=walk_in", &cs)
            .await
            .text();
        assert!(text.contains(&made[1]) && !text.contains(&made[0]));
        let text = app
            .get(
                &format!("/requests?region={nn_city}&from=2000-01-01&to=2999-12-31"),
                &cs,
            )
            .await
            .text();
        assert!(made[..3].iter().all(|c| text.contains(c.as_str())));
        // Bad filters are named; a region outside the scope is unknown, not revealed.
        let r = app.get("/requests?from=yesterday&region=450200", &cs).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains("受理日期自：日期格式应为")
                && text.contains("所属区域代码：区域不存在或不在您的范围内"),
            "{text}"
        );
        // The export takes the same filters.
        let r = app
            .get("/requests/export.xlsx?q=%E6%8A%BC%E9%87%91", &cs)
            .await; // 押金
        assert_eq!(r.status, StatusCode::OK);
        let sheet = xlsx_text(&r.body);
        assert!(
            sheet.contains(&made[0]) && !sheet.contains(&made[1]),
            "{sheet}"
        );
        // Due soon: nothing taken in today falls due within a day (service level 5 days).
        let text = app.get("/requests?due_soon=1", &cs).await.text();
        assert!(!text.contains(&made[0]));
    });
});

both_engines!(
    a_dispute_and_a_legal_aid_case_from_a_request_page,
    |t: TestDb| {
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
            .unwrap();
        let lz = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450200", "lz", "x")))
            .unwrap();
        // A second lawyer of the same city, to whom nothing is assigned.
        app.t
            .db
            .write_blocking(|c| {
                let city = org::get_region_by_code(c, &Scope::everything(), "450100")?;
                user(c, "nn-lawyer2", Role::LegalAid, &city, vec![], "x");
                Ok(())
            })
            .unwrap();
        block_on(async {
            let (cs, csrf) = app.session("nn-site-staff");
            let req = format!("/requests/{}", nn.request);
            let page = app.get(&req, &cs).await.text();
            assert!(
                page.contains("登记为矛盾纠纷") && page.contains("nn-legal-aid"),
                "the forms, with the city's lawyer: {page}"
            );
            // A missing summary is named; then the dispute opens.
            let r = app
                .post(
                    &format!("{req}/dispute"),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("dispute_kind", "labour"),
                        ("summary", " "),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("概要"), "{}", r.text());
            let r = app
                .post(
                    &format!("{req}/dispute"),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("dispute_kind", "labour"),
                        ("summary", "欠薪纠纷"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let dispute = r.location().split('?').next().unwrap().to_string();
            for (what, form) in [
                (
                    "parties",
                    vec![
                        ("side", "applicant"),
                        ("party_name", "潘某"),
                        ("people", "壮族"),
                        ("phone", ""),
                    ],
                ),
                (
                    "mediators",
                    vec![("mediator_name", "韦调解员"), ("organisation", "司法所")],
                ),
                // A mediator with an account, picked from the city's legal-aid users.
                ("mediators", vec![("mediator_user", "nn-lawyer2")]),
                (
                    "sessions",
                    vec![
                        (
                            "held_on",
                            &*shiliu_domain::calendar::local(shiliu_db::now())
                                .format("%Y-%m-%d")
                                .to_string(),
                        ),
                        ("place", "联合调解室"),
                        ("notes", "双方同意分期支付"),
                    ],
                ),
            ] {
                let mut f = vec![("_csrf", csrf.as_str())];
                f.extend(form);
                let r = app.post(&format!("{dispute}/{what}"), &cs, &f).await;
                assert_eq!(r.status, StatusCode::SEE_OTHER, "{what}: {}", r.text());
            }
            let page = app.get(&dispute, &cs).await.text();
            for s in [
                "潘某",
                "壮族",
                "韦调解员",
                "联合调解室",
                "调解中",
                "用户nn-lawyer2",
            ] {
                assert!(page.contains(s), "{s} on the dispute page");
            }
            // The mediator with an account sees the dispute they mediate; the city's other
            // lawyer, who does not mediate it, does not.
            let (ms, _) = app.session("nn-lawyer2");
            assert_eq!(app.get(&dispute, &ms).await.status, StatusCode::OK);
            assert!(app.get("/disputes", &ms).await.text().contains(&dispute));
            let (ls, _) = app.session("nn-legal-aid");
            assert_eq!(app.get(&dispute, &ls).await.status, StatusCode::NOT_FOUND);
            assert!(!app.get("/disputes", &ls).await.text().contains(&dispute));
            let version = page
                .split("name=\"version\" value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string();
            let r = app
                .post(
                    &format!("{dispute}/close"),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("version", &version),
                        ("mediation_outcome", "success"),
                        ("agreement", ""),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("调解成功须填写调解协议"));
            let r = app
                .post(
                    &format!("{dispute}/close"),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("version", &version),
                        ("mediation_outcome", "success"),
                        ("agreement", "月底前付清"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            assert!(
                app.get("/disputes?status=closed", &cs)
                    .await
                    .text()
                    .contains("欠薪纠纷")
            );
            // Legal aid: the lawyer records a consultation and closes the case.
            let r = app
                .post(
                    &format!("{req}/legal-aid"),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("lawyer", "lz-legal-aid"),
                        ("matter", "追索劳动报酬"),
                    ],
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "another city's lawyer"
            );
            let r = app
                .post(
                    &format!("{req}/legal-aid"),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("lawyer", "nn-legal-aid"),
                        ("matter", "追索劳动报酬"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let case = r.location().split('?').next().unwrap().to_string();
            let (ls, lcsrf) = app.session("nn-legal-aid");
            assert!(
                app.get("/legal-aid", &ls)
                    .await
                    .text()
                    .contains("追索劳动报酬"),
                "the lawyer's list"
            );
            // Another lawyer of the city can neither read nor write it, by page or API.
            let (os, ocsrf) = app.session("nn-lawyer2");
            assert_eq!(app.get(&case, &os).await.status, StatusCode::NOT_FOUND);
            assert!(
                !app.get("/legal-aid", &os)
                    .await
                    .text()
                    .contains("追索劳动报酬")
            );
            assert!(!app.get(&req, &os).await.text().contains(&case));
            let r = app
                .post(
                    &format!("{case}/consultations"),
                    &os,
                    &[
                        ("_csrf", &ocsrf),
                        ("held_on", "2026-01-05"),
                        ("mode", "phone"),
                        ("summary", "越权"),
                        ("advice", "越权"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
            let cid = case.rsplit('/').next().unwrap();
            let (status, _) = app
                .api_get(&format!("/api/v1/legal-aid/{cid}"), "nn-lawyer2")
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            let (status, _) = app
                .api(
                    "POST",
                    &format!("/api/v1/legal-aid/{cid}/close"),
                    "nn-lawyer2",
                    Some(serde_json::json!({"version": 1, "result": "越权结案"})),
                )
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            let (_, j) = app.api_get("/api/v1/legal-aid", "nn-lawyer2").await;
            assert_eq!(j["items"].as_array().map(Vec::len), Some(0), "{j}");
            let today = shiliu_domain::calendar::local(shiliu_db::now())
                .format("%Y-%m-%d")
                .to_string();
            let r = app
                .post(
                    &format!("{case}/consultations"),
                    &ls,
                    &[
                        ("_csrf", &lcsrf),
                        ("held_on", &today),
                        ("mode", "phone"),
                        ("summary", "如何追讨"),
                        ("advice", "申请劳动仲裁"),
                        ("minutes", "30"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let page = app.get(&case, &ls).await.text();
            let version = page
                .split("name=\"version\" value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string();
            let r = app
                .post(
                    &format!("{case}/close"),
                    &ls,
                    &[
                        ("_csrf", &lcsrf),
                        ("version", &version),
                        ("result", "已胜诉"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let page = app.get(&case, &ls).await.text();
            assert!(
                page.contains("申请劳动仲裁")
                    && page.contains("已胜诉")
                    && !page.contains("/close\"")
            );
            // The request's history, and another city's staff see nothing.
            let history = app.get(&req, &cs).await.text();
            for s in ["登记矛盾纠纷", "纠纷调解结案", "转法律援助", "法律援助结案"]
            {
                assert!(history.contains(s), "{s} in the request's history");
            }
            let (other, _) = app.session("lz-commission-staff");
            assert_eq!(
                app.get(&dispute, &other).await.status,
                StatusCode::NOT_FOUND
            );
            assert_eq!(app.get(&case, &other).await.status, StatusCode::NOT_FOUND);
            assert!(
                !app.get("/disputes", &other)
                    .await
                    .text()
                    .contains("欠薪纠纷")
            );
            // The same through the API.
            let id = dispute.rsplit('/').next().unwrap();
            let (_, j) = app
                .api_get(&format!("/api/v1/disputes/{id}"), "nn-site-staff")
                .await;
            assert_eq!(j["dispute"]["outcome"], "success", "{j}");
            assert_eq!(j["parties"][0]["people"], "08");
            assert_eq!(j["sessions"][0]["place"], "联合调解室");
            let cid = case.rsplit('/').next().unwrap();
            let (_, j) = app
                .api_get(&format!("/api/v1/legal-aid/{cid}"), "nn-legal-aid")
                .await;
            assert_eq!(j["consultations"][0]["minutes"], 30, "{j}");
            let (status, _) = app
                .api_get(&format!("/api/v1/legal-aid/{cid}"), "lz-commission-staff")
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            let doc: serde_json::Value =
                serde_json::from_slice(&app.get("/api/v1/openapi.json", "").await.body).unwrap();
            for path in [
                "/api/v1/disputes/{id}/{record}",
                "/api/v1/requests/{id}/legal-aid",
            ] {
                assert!(
                    doc["paths"][path].is_object(),
                    "{path} in the OpenAPI document"
                );
            }
            let _ = lz;
        });
    }
);

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR photo";

both_engines!(files_and_cohandling_on_a_request_page, |t: TestDb| {
    let app = App::new(t);
    let (nn, lz) = app
        .t
        .db
        .write_blocking(|c| {
            Ok((
                seed_city(c, "450100", "nn", "x"),
                seed_city(c, "450200", "lz", "x"),
            ))
        })
        .unwrap();
    let (grid_code, category) = app
        .t
        .db
        .write_blocking(move |c| {
            let all = Scope::everything();
            let category = shiliu_db::requests::categories(c, false)?[0].id.to_string();
            let city = org::get_region_by_code(c, &all, "450100")?;
            // A staff member of the city's education bureau (a unit), to answer co-handling.
            accounts::create_user(
                c,
                &shiliu_db::scope::Can::check(&Actor::system("test")).unwrap(),
                &NewUser {
                    username: Username::parse("nn-edu").unwrap(),
                    display_name: "教育局干部".into(),
                    password_hash: "x".into(),
                    role: Role::SiteStaff,
                    region_id: city.id,
                    unit_id: Some(nn.unit),
                    site_id: None,
                    phone: None,
                    grid_ids: vec![],
                },
            )?;
            Ok((org::get_region(c, &all, nn.grid)?.code, category))
        })
        .unwrap();
    let count = |app: &App| {
        app.t
            .db
            .write_blocking(|c| shiliu_db::requests::count(c, &Scope::everything()))
            .unwrap()
    };
    block_on(async {
        // A grid worker's phone form with photos: a file that is not a photo is named and
        // nothing is kept; with the photo alone the request is made and holds it.
        let (gw, gw_csrf) = app.session("nn-grid-worker");
        let form = [
            ("channel", "grid"),
            ("category_id", category.as_str()),
            ("region_code", grid_code.as_str()),
            ("description", "楼道堆放杂物，有火灾隐患"),
        ];
        let before = count(&app);
        let r = app
            .multipart(
                "/requests",
                &gw,
                &gw_csrf,
                &form,
                &[
                    ("photos", "现场.png", PNG),
                    ("photos", "病毒.png", b"MZ\x90\0"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().contains("病毒.png") && r.text().contains("不是可接受的类型"),
            "{}",
            r.text()
        );
        assert_eq!(count(&app), before, "nothing half-written");
        let r = app
            .multipart(
                "/requests",
                &gw,
                &gw_csrf,
                &form,
                &[("photos", "现场.png", PNG)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page_path = r.location().split('?').next().unwrap().to_string();
        let id: i64 = page_path.rsplit('/').next().unwrap().parse().unwrap();
        // Without a token in the address, a multipart post is refused.
        let r = app
            .multipart(
                &format!("{page_path}/files"),
                &gw,
                "wrong",
                &[],
                &[("files", "b.png", PNG)],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        let (ss, ss_csrf) = app.session("nn-site-staff");
        let page = app.get(&page_path, &ss).await.text();
        assert!(page.contains("现场.png"), "{page}");
        let link = links(&page)
            .into_iter()
            .find(|l| l.starts_with(&format!("{page_path}/files/")))
            .expect("a link to the file");
        let r = app.get(&link, &ss).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers[header::CONTENT_TYPE], "image/png");
        assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(r.body, PNG);
        let viewed = app
            .t
            .db
            .write_blocking(|c| {
                shiliu_db::audit::list(
                    c,
                    &shiliu_db::audit::AuditFilter {
                        action: Some("request.file_view".into()),
                        ..Default::default()
                    },
                    10,
                )
            })
            .unwrap();
        assert_eq!(viewed.len(), 1, "opening a file is audited");
        let (ls, _) = app.session("lz-site-staff");
        assert_eq!(app.get(&link, &ls).await.status, StatusCode::NOT_FOUND);
        let _ = &lz;
        // More files from the request's page; then the API lists both.
        let r = app
            .multipart(
                &format!("{page_path}/files"),
                &ss,
                &ss_csrf,
                &[],
                &[("files", "记录.pdf", b"%PDF-1.4 x")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let (status, list) = app
            .api_get(&format!("/api/v1/requests/{id}/files"), "nn-site-staff")
            .await;
        assert_eq!(status, StatusCode::OK);
        let types: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["content_type"].as_str().unwrap())
            .collect();
        assert_eq!(types, vec!["image/png", "application/pdf"]);

        // Co-handling: once the site accepted it, the site asks the city's education bureau.
        let site = nn.site;
        app.t
            .db
            .write_blocking(move |c| {
                let sys = Actor::system("test");
                let r = shiliu_db::requests::get(c, &Scope::everything(), id)?;
                let input = shiliu_db::requests::StepInput {
                    site_id: Some(site),
                    ..Default::default()
                };
                let r = shiliu_db::requests::step(
                    c,
                    &sys,
                    id,
                    r.version,
                    shiliu_domain::requests::Action::Dispatch,
                    &input,
                )?;
                shiliu_db::requests::step(
                    c,
                    &sys,
                    id,
                    r.version,
                    shiliu_domain::requests::Action::Accept,
                    &shiliu_db::requests::StepInput::default(),
                )
            })
            .unwrap();
        let version = app
            .t
            .db
            .write_blocking(move |c| {
                Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.version)
            })
            .unwrap()
            .to_string();
        let page = app.get(&page_path, &ss).await.text();
        assert!(page.contains("请求协办"), "{page}");
        let ask = format!("{page_path}/cohandlers");
        let r = app
            .post(
                &ask,
                &ss,
                &[
                    ("_csrf", &ss_csrf),
                    ("version", &version),
                    ("cohandler", "nn教育局"),
                    ("asked", " "),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("协办事项：必填"), "{}", r.text());
        let r = app
            .post(
                &ask,
                &ss,
                &[
                    ("_csrf", &ss_csrf),
                    ("version", &version),
                    ("cohandler", "nn教育局"),
                    ("asked", "请协调清理楼道"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app.get(&page_path, &ss).await.text();
        assert!(
            page.contains("nn教育局") && page.contains("待答复"),
            "{page}"
        );
        // The bureau's staff answer it; the answer and who gave it show on the page.
        let (edu, edu_csrf) = app.session("nn-edu");
        let waiting = app.get("/requests?cohandling=1", &edu).await.text();
        assert!(waiting.contains(&format!("/requests/{id}\"")), "{waiting}");
        let page = app.get(&page_path, &edu).await.text();
        assert!(page.contains("答复协办"), "{page}");
        let form_action = page
            .split("action=\"")
            .filter_map(|x| x.split('"').next())
            .find(|a| a.ends_with("/answer"))
            .expect("the answer form")
            .to_string();
        let r = app
            .post(
                &form_action,
                &edu,
                &[("_csrf", &edu_csrf), ("answer", "已安排清理")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let waiting = app.get("/requests?cohandling=1", &edu).await.text();
        assert!(
            !waiting.contains(&format!("/requests/{id}\"")),
            "answered: {waiting}"
        );
        let page = app.get(&page_path, &ss).await.text();
        assert!(
            page.contains("已答复") && page.contains("已安排清理") && page.contains("nn-edu"),
            "{page}"
        );
        let (status, cos) = app
            .api_get(
                &format!("/api/v1/requests/{id}/cohandlers"),
                "nn-site-staff",
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(cos[0]["status"], "answered");
        assert_eq!(cos[0]["name"], "nn教育局");
    });
});

both_engines!(the_register_through_pages_and_api, |t: TestDb| {
    let app = App::new(t);
    let (nn, _lz) = app
        .t
        .db
        .write_blocking(|c| {
            Ok((
                seed_city(c, "450100", "nn", "x"),
                seed_city(c, "450200", "lz", "x"),
            ))
        })
        .unwrap();
    let grid_code = app
        .t
        .db
        .write_blocking(move |c| Ok(org::get_region(c, &Scope::everything(), nn.grid)?.code))
        .unwrap();
    let number = {
        let first = "52263319950304202";
        format!(
            "{first}{}",
            shiliu_domain::id_number::check_char(first.as_bytes())
        )
    };
    let audit_actions = |entity_id: i64| -> Vec<String> {
        let f = audit::AuditFilter {
            entity: Some("person".into()),
            ..Default::default()
        };
        let mut rows = audit::list(&mut app.t.db.conn().unwrap(), &f, 1000).unwrap();
        rows.reverse();
        rows.into_iter()
            .filter(|r| r.entity_id.as_deref() == Some(&*entity_id.to_string()))
            .map(|r| r.action)
            .collect()
    };
    block_on(async {
        let (cookie, csrf) = app.session("nn-grid-worker");
        let form = app.get("/registry/new", &cookie).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(
            form.text().contains("nn网格"),
            "a grid worker picks one of their grids"
        );

        // Bad input: each field named with its reason, in Chinese, nothing written.
        let mut bad = number.clone();
        bad.replace_range(17.., if number.ends_with('0') { "1" } else { "0" });
        let r = app
            .post(
                "/registry",
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("name", "韦小红"),
                    ("id_number", &bad),
                    ("people", "火星族"),
                    ("region_code", &grid_code),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        for part in ["身份证号码", "校验码", "民族", "火星族", "地址", "同意"] {
            assert!(text.contains(part), "{part} in {text}");
        }

        // Registered: the page shows the number masked, and whole only when asked (audited).
        let fields = [
            ("_csrf", csrf.as_str()),
            ("name", "韦小红"),
            ("id_number", number.as_str()),
            ("people", "12"),
            ("mobile", "13807710000"),
            ("region_code", grid_code.as_str()),
            ("address", "衡阳路 12 号"),
            ("arrived_on", "2024-03-01"),
            ("employment", "flexible"),
            ("tags", "hardship"),
            ("tags", "relocated"),
            ("consents", "registration"),
            ("consents", "linkage"),
        ];
        let r = app.post("/registry", &cookie, &fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let to = r.location();
        let id: i64 = to
            .trim_start_matches("/registry/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let page = app.get(&to, &cookie).await;
        let text = page.text();
        assert_eq!(page.status, StatusCode::OK);
        assert!(text.contains("5226**********"), "masked: {text}");
        assert!(!text.contains(&number), "never whole by default");
        for part in [
            "侗族",
            "从江县",
            "困难群众",
            "易地扶贫搬迁",
            "灵活就业",
            "户主",
            "告知户籍地政府",
        ] {
            assert!(text.contains(part), "{part}");
        }
        assert_eq!(page.headers[header::CACHE_CONTROL], "private, no-store");
        let shown = app
            .post(
                &format!("/registry/{id}/reveal"),
                &cookie,
                &[("_csrf", &csrf)],
            )
            .await;
        assert!(shown.text().contains(&number));
        assert_eq!(
            audit_actions(id),
            [
                "person.register",
                "person.view",
                "person.view",
                "person.reveal_id"
            ]
        );

        // The same number again is refused, naming the record.
        let r = app.post("/registry", &cookie, &fields).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("已经登记"));

        // Look-up by number is posted and lands on the person; an unknown one says so.
        let r = app
            .post(
                "/registry/lookup",
                &cookie,
                &[("_csrf", &csrf), ("id_number", &number)],
            )
            .await;
        assert_eq!(r.location(), format!("/registry/{id}"));
        let other = {
            let first = "45010219800101001";
            format!(
                "{first}{}",
                shiliu_domain::id_number::check_char(first.as_bytes())
            )
        };
        let r = app
            .post(
                "/registry/lookup",
                &cookie,
                &[("_csrf", &csrf), ("id_number", &other)],
            )
            .await;
        assert_eq!(r.location(), "/registry?not_found=1");
        assert!(
            app.get(&r.location(), &cookie)
                .await
                .text()
                .contains("没有登记该身份证号码")
        );

        // A leader sees the record, but not the whole number; another city sees nothing.
        let (leader, leader_csrf) = app.session("nn-leader");
        let r = app.get(&format!("/registry/{id}"), &leader).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.text().contains("/reveal"));
        let r = app
            .post(
                &format!("/registry/{id}/reveal"),
                &leader,
                &[("_csrf", &leader_csrf)],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let (far, _) = app.session("lz-commission-staff");
        assert_eq!(
            app.get(&format!("/registry/{id}"), &far).await.status,
            StatusCode::NOT_FOUND
        );

        // A correction that moves the address keeps the number (never sent to the form) and
        // starts a new residence; moving out ends it.
        let edit = app.get(&format!("/registry/{id}/edit"), &cookie).await;
        assert!(!edit.text().contains(&number));
        let mut moved: Vec<(&str, &str)> = fields
            .iter()
            .filter(|(k, _)| *k != "id_number")
            .copied()
            .collect();
        moved.retain(|(k, _)| *k != "address");
        moved.extend([
            ("address", "秀灵路 8 号"),
            ("version", "1"),
            ("moved_on", "2025-06-01"),
            ("birth_date", "1995-03-04"),
            ("sex", "female"),
            ("hukou", "522633"),
        ]);
        let r = app.post(&format!("/registry/{id}"), &cookie, &moved).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let stale = app.post(&format!("/registry/{id}"), &cookie, &moved).await;
        assert_eq!(stale.status, StatusCode::CONFLICT);
        let r = app
            .post(
                &format!("/registry/{id}/move-out"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", "2"),
                    ("moved_on", "2026-01-02"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let text = app.get(&format!("/registry/{id}"), &cookie).await.text();
        for part in [
            "衡阳路 12 号",
            "秀灵路 8 号",
            "2025-06-01",
            "2026-01-02",
            "已迁出",
            "5226**********",
        ] {
            assert!(text.contains(part), "{part}");
        }

        // The API: masked in lists and records, whole only from its own path, for roles that
        // may see it; a look-up by number in the body.
        let (s, list) = app
            .api_get("/api/v1/persons?people=12", "nn-grid-worker")
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(list["items"][0]["id"], id);
        assert!(!list.to_string().contains(&number));
        let (s, one) = app
            .api_get(&format!("/api/v1/persons/{id}"), "nn-township-staff")
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(one["residences"].as_array().unwrap().len(), 2);
        assert_eq!(one["tags"], serde_json::json!(["hardship", "relocated"]));
        let (s, _) = app
            .api_get(&format!("/api/v1/persons/{id}/id-number"), "nn-leader")
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, whole) = app
            .api_get(&format!("/api/v1/persons/{id}/id-number"), "nn-grid-worker")
            .await;
        assert_eq!(
            (s, whole["id_number"].as_str()),
            (StatusCode::OK, Some(number.as_str()))
        );
        let (s, found) = app
            .api(
                "POST",
                "/api/v1/persons/lookup",
                "nn-commission-staff",
                Some(serde_json::json!({"id_number": number})),
            )
            .await;
        assert_eq!((s, found["id"].as_i64()), (StatusCode::OK, Some(id)));
        let (s, _) = app
            .api(
                "POST",
                "/api/v1/persons/lookup",
                "lz-commission-staff",
                Some(serde_json::json!({"id_number": number})),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // Registering through the API: field errors in the envelope; a duplicate with
        // `on_duplicate: update` moves the one person back in.
        let (s, err) = app
            .api(
                "POST",
                "/api/v1/persons",
                "nn-grid-worker",
                Some(serde_json::json!({"name": "", "region_code": grid_code})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        for field in ["name", "people", "address", "consent"] {
            assert!(err["error"]["details"][field].is_string(), "{field}: {err}");
        }
        let (s, back) = app
            .api(
                "POST",
                "/api/v1/persons",
                "nn-grid-worker",
                Some(serde_json::json!({
                    "name": "韦小红", "id_number": number, "people": "侗族", "region_code": grid_code,
                    "address": "衡阳路 20 号", "mobile": "13807710000", "arrived_on": "2026-02-01", "consents": ["registration"],
                    "on_duplicate": "update"
                })),
            )
            .await;
        assert_eq!(
            (s, back["id"].as_i64(), back["status"].as_str()),
            (StatusCode::OK, Some(id), Some("resident")),
            "{back}"
        );
        let (s, on_day) = app
            .api_get("/api/v1/residents?on=2025-07-01", "nn-commission-staff")
            .await;
        assert_eq!(s, StatusCode::OK);
        let lived: Vec<&str> = on_day["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["residence"]["address"].as_str())
            .collect();
        assert!(lived.contains(&"秀灵路 8 号"), "{on_day}");

        // Export: masked for a leader (and whole refused); whole for a role that may see it.
        let x = app.get("/registry/export.xlsx?people=12", &leader).await;
        assert_eq!(x.status, StatusCode::OK);
        let sheet = xlsx_text(&x.body);
        assert!(
            sheet.contains("韦小红") && sheet.contains("5226**********"),
            "{sheet}"
        );
        assert!(
            !sheet.contains(&number)
                && !sheet.contains("13807710000")
                && sheet.contains("138****0000")
        );
        assert_eq!(
            app.get("/registry/export.xlsx?whole=1", &leader)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let x = app
            .get("/registry/export.xlsx?people=12&whole=1", &cookie)
            .await;
        let sheet = xlsx_text(&x.body);
        assert!(
            sheet.contains(&number) && sheet.contains("13807710000"),
            "{sheet}"
        );
        let exports: Vec<String> = audit::list(
            &mut app.t.db.conn().unwrap(),
            &audit::AuditFilter {
                action: Some("person.export".into()),
                ..Default::default()
            },
            10,
        )
        .unwrap()
        .into_iter()
        .map(|r| r.detail)
        .collect();
        assert_eq!(exports.len(), 2, "each export audited: {exports:?}");
        assert!(exports[0].contains("\"whole_id_numbers\":true") && !exports[0].contains(&number));
        assert!(
            audit::verify(&mut app.t.db.conn().unwrap())
                .unwrap()
                .is_intact()
        );
    });
});

both_engines!(
    a_household_declares_and_a_grid_worker_verifies,
    |t: TestDb| {
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| {
                seed_city(c, "450200", "lz", "x");
                Ok(seed_city(c, "450100", "nn", "x"))
            })
            .unwrap();
        let grid_code = app
            .t
            .db
            .write_blocking(move |c| Ok(org::get_region(c, &Scope::everything(), nn.grid)?.code))
            .unwrap();
        let number = {
            let first = "52263319950304202";
            format!(
                "{first}{}",
                shiliu_domain::id_number::check_char(first.as_bytes())
            )
        };
        block_on(async {
            // The place, down to the grid, without an account.
            let r = app.get(&format!("/d?region={}", nn.region), "").await;
            assert!(
                r.text().contains("nn网格") && r.text().contains("不清楚所在网格"),
                "{}",
                r.text()
            );
            let r = app.get(&format!("/d?region={}", nn.grid), "").await;
            assert!(r.text().contains("同住家庭成员"), "{}", r.text());
            let pre = "shiliu_csrf=resident-token-0123456789";
            let grid = nn.grid.to_string();
            let mut fields = vec![
                ("_csrf", "resident-token-0123456789"),
                ("region", grid.as_str()),
                ("p0.name", "韦小红"),
                ("p0.id_number", number.as_str()),
                ("p0.people", "12"),
                ("p0.address", "衡阳路 12 号"),
                ("p0.arrived_on", "2024-03-01"),
                ("p1.name", "韦小宝"),
                ("p1.relation", "child"),
                ("p1.people", "12"),
                ("p1.sex", "male"),
                ("p1.birth_date", "2018-06-01"),
                ("p2.relation", "spouse"),
                ("consents", "registration"),
            ];
            // Every problem at once, each under its person.
            let r = app.post("/d", pre, &fields).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("申报人 · 手机号码"), "{}", r.text());
            fields.push(("p0.mobile", "13807710000"));
            let r = app.post("/d", pre, &fields).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let status_page = r.location();
            let code = status_page
                .trim_start_matches("/d/")
                .split('?')
                .next()
                .unwrap()
                .to_string();
            let text = app.get(&status_page, "").await.text();
            assert!(
                text.contains(&code) && text.contains("待核验") && text.contains("韦**"),
                "{text}"
            );
            assert!(
                !text.contains("韦小红") && !text.contains(&number[6..14]),
                "masked for whoever holds the code"
            );

            // The grid worker's queue; another city's staff see nothing of it.
            let (cookie, csrf) = app.session("nn-grid-worker");
            let list = app.get("/registry", &cookie).await.text();
            assert!(list.contains("待核验申报（1）"), "{list}");
            let queue = app.get("/registry/declarations", &cookie).await.text();
            let id: i64 = queue
                .split("/registry/declarations/")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(queue.contains("韦小红"));
            let (far, _) = app.session("lz-grid-worker");
            assert!(
                !app.get("/registry/declarations", &far)
                    .await
                    .text()
                    .contains("韦小红")
            );
            assert_eq!(
                app.get(&format!("/registry/declarations/{id}"), &far)
                    .await
                    .status,
                StatusCode::NOT_FOUND
            );
            let review = app
                .get(&format!("/registry/declarations/{id}"), &cookie)
                .await
                .text();
            assert!(
                review.contains("5226**********") && !review.contains(&number),
                "masked for review"
            );

            // Confirmed, with a correction: both people are registered in one household.
            let confirm = [
                ("_csrf", csrf.as_str()),
                ("version", "1"),
                ("region_code", grid_code.as_str()),
                ("p0.name", "韦小红"),
                ("p0.people", "12"),
                ("p0.mobile", "13807710000"),
                ("p0.address", "衡阳路 12 号之一"),
                ("p0.arrived_on", "2024-03-01"),
                ("p0.hukou", "522633"),
                ("p0.sex", "female"),
                ("p0.birth_date", "1995-03-04"),
                ("p1.name", "韦小宝"),
                ("p1.people", "12"),
                ("p1.sex", "male"),
                ("p1.birth_date", "2018-06-01"),
                ("p1.hukou", "522633"),
                ("p1.address", "衡阳路 12 号之一"),
            ];
            let r = app
                .post(
                    &format!("/registry/declarations/{id}/confirm"),
                    &cookie,
                    &confirm,
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let person = app.get(&r.location(), &cookie).await.text();
            for part in [
                "韦小红",
                "衡阳路 12 号之一",
                "韦小宝",
                "子女",
                "本人网上申报",
                "5226**********",
            ] {
                assert!(person.contains(part), "{part}: {person}");
            }
            let text = app.get(&status_page, "").await.text();
            assert!(text.contains("已核验登记"), "{text}");

            // Declared again and turned back: the declarant reads why.
            let r = app.post("/d", pre, &fields).await;
            let code2 = r
                .location()
                .trim_start_matches("/d/")
                .split('?')
                .next()
                .unwrap()
                .to_string();
            let queue = app.get("/registry/declarations", &cookie).await.text();
            let id2: i64 = queue
                .split("/registry/declarations/")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let r = app
                .post(
                    &format!("/registry/declarations/{id2}/reject"),
                    &cookie,
                    &[("_csrf", &csrf), ("version", "1"), ("reason", "")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let r = app
                .post(
                    &format!("/registry/declarations/{id2}/reject"),
                    &cookie,
                    &[
                        ("_csrf", &csrf),
                        ("version", "1"),
                        ("reason", "您已登记，无需重复申报"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let text = app
                .get(&format!("/d/track?code={}", code2.to_lowercase()), "")
                .await;
            let text = app.get(&text.location(), "").await.text();
            assert!(
                text.contains("已退回") && text.contains("您已登记，无需重复申报"),
                "{text}"
            );
            assert_eq!(
                app.get("/d/NOSUCHCODE", "").await.status,
                StatusCode::NOT_FOUND
            );
            assert!(
                audit::verify(&mut app.t.db.conn().unwrap())
                    .unwrap()
                    .is_intact()
            );
        });
    }
);

both_engines!(
    withheld_cells_cannot_be_recovered_from_nested_pages,
    |t: TestDb| {
        let app = App::new(t);
        // A township and its two communities: 3 壮族 and 6 侗族 in one, 16 壮族 and 7 侗族 in the
        // other. The township shows 19 壮族, the second community 16: before rounding, their
        // difference told the first community's withheld 3.
        let (town, a, b) = app
            .t
            .db
            .write_blocking(|c| {
                let all = Scope::everything();
                let town = org::get_region_by_code(c, &all, "450103001")?;
                let sys = Actor::system("test");
                let a = org::create_child_region(
                    c,
                    &sys,
                    town.id,
                    &RegionInput::parse("甲社区", "").unwrap(),
                )?;
                let b = org::create_child_region(
                    c,
                    &sys,
                    town.id,
                    &RegionInput::parse("乙社区", "").unwrap(),
                )?;
                user(c, "town-staff", Role::TownshipStaff, &town, vec![], "x");
                let vault = shiliu_db::registry::Vault::random();
                let mut households = Vec::new();
                for (region, people, hukou, n) in [
                    (&a, "08", "450226", 3),
                    (&a, "12", "430102", 6),
                    (&b, "08", "450103", 16),
                    (&b, "12", "450103", 7),
                ] {
                    for i in 0..n {
                        let p = shiliu_domain::registry::PersonInput::parse(
                            &shiliu_domain::registry::PersonForm {
                                name: format!("居民{people}{i}"),
                                sex: "female".into(),
                                birth_date: "1990-01-01".into(),
                                people: people.into(),
                                hukou: hukou.into(),
                                address: "某路".into(),
                                ..Default::default()
                            },
                            shiliu_db::today(),
                        )
                        .unwrap();
                        households.push(shiliu_db::registry::bulk::NewHousehold {
                            region,
                            address: "某路".into(),
                            members: vec![(p, shiliu_domain::registry::Relation::Head)],
                            moved_out: None,
                            agreed: &[shiliu_domain::registry::ConsentPurpose::Registration],
                        });
                    }
                }
                let mut tally = shiliu_db::registry::Tally::default();
                shiliu_db::registry::bulk::load(
                    c,
                    &sys,
                    &vault,
                    &households,
                    shiliu_domain::registry::ConsentChannel::Staff,
                    &mut tally,
                )?;
                tally.journal(c)?;
                Ok((town.code.clone(), a.code.clone(), b.code.clone()))
            })
            .unwrap();
        block_on(async {
            let (cookie, _) = app.session("town-staff");
            let mut seen = Vec::new();
            for code in [&town, &a, &b] {
                let r = app
                    .get(&format!("/registry/stats?region={code}"), &cookie)
                    .await;
                assert_eq!(r.status, StatusCode::OK);
                seen.push(seen_page(&r.text()));
            }
            let pages = [("town", &seen[0]), ("a", &seen[1]), ("b", &seen[2])];
            assert_eq!(
                pages.iter().map(|(_, p)| p.residents).collect::<Vec<_>>(),
                [32, 9, 23]
            );
            let children = [("town", "a"), ("town", "b")];
            // Every cell under the minimum, wherever it is: 甲社区's 3 壮族.
            let small = [("a", "壮族")];
            assert!(
                recoverable(&pages, &children, &small, false).is_empty(),
                "no withheld cell comes back"
            );
            // The same pages read as if their figures were exact — as they were before rounding —
            // give it back: the check finds what it looks for.
            assert_eq!(
                recoverable(&pages, &children, &small, true),
                [("a".to_string(), "壮族".to_string())]
            );
            // And the page never names it.
            assert!(!seen[1].sections["按民族"].iter().any(|(l, _)| l == "壮族"));
            // Within one page, a province and its counties: of the township's 32 people, 26 are
            // from 广西 (23 of 南宁's 青秀区, 3 of 三江) and 6 from 长沙. 三江 is withheld and,
            // beside it, 长沙 (the next smallest); as pages once showed them — exact, the
            // withheld counties named — 广西's 26 minus 青秀区's 23 told 三江's 3.
            assert!(!hukou_rest_recoverable(&seen[0], "广西壮族自治区", false));
            let county = |code: &str| shiliu_domain::divisions::full_name(code).unwrap();
            let once = SeenPage {
                residents: 32,
                rounded: false,
                sections: [
                    (
                        "按户籍地（省）".to_string(),
                        vec![
                            ("广西壮族自治区".to_string(), Some(26)),
                            ("湖南省".to_string(), Some(6)),
                        ],
                    ),
                    (
                        "按户籍地（县）".to_string(),
                        vec![
                            (county("450103"), Some(23)),
                            (county("430102"), None),
                            (county("450226"), None),
                        ],
                    ),
                ]
                .into(),
            };
            assert!(hukou_rest_recoverable(&once, "广西壮族自治区", false));
            // The page as it is now rounds those figures and names neither county.
            let counties = &seen[0].sections["按户籍地（县）"];
            assert!(
                counties
                    .iter()
                    .all(|(l, _)| !l.contains("三江") && !l.contains("长沙"))
            );
        });
    }
);

both_engines!(
    small_cells_stay_withheld_on_the_page_and_in_the_export,
    |t: TestDb| {
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
            .unwrap();
        // Beside the seeded 壮族 resident: 6 侗族 from 从江县, 2 苗族 from 融水, 7 汉族 from 长沙.
        app.t
            .db
            .write_blocking(move |c| {
                let grid = org::get_region(c, &Scope::everything(), nn.grid)?;
                let vault = shiliu_db::registry::Vault::random();
                let mut households = Vec::new();
                for (people, hukou, n) in [
                    ("12", "522633", 6),
                    ("06", "450225", 2),
                    ("01", "430102", 7),
                ] {
                    for i in 0..n {
                        let p = shiliu_domain::registry::PersonInput::parse(
                            &shiliu_domain::registry::PersonForm {
                                name: format!("居民{people}{i}"),
                                sex: "female".into(),
                                birth_date: "1990-01-01".into(),
                                people: people.into(),
                                hukou: hukou.into(),
                                address: "衡阳路".into(),
                                arrived_on: shiliu_db::today().format("%Y-%m-%d").to_string(),
                                ..Default::default()
                            },
                            shiliu_db::today(),
                        )
                        .unwrap();
                        households.push(shiliu_db::registry::bulk::NewHousehold {
                            region: &grid,
                            address: "衡阳路".into(),
                            members: vec![(p, shiliu_domain::registry::Relation::Head)],
                            moved_out: None,
                            agreed: &[shiliu_domain::registry::ConsentPurpose::Registration],
                        });
                    }
                }
                let mut tally = shiliu_db::registry::Tally::default();
                shiliu_db::registry::bulk::load(
                    c,
                    &Actor::system("test"),
                    &vault,
                    &households,
                    shiliu_domain::registry::ConsentChannel::Staff,
                    &mut tally,
                )?;
                tally.journal(c)
            })
            .unwrap();
        block_on(async {
            let (cookie, _) = app.session("nn-leader");
            let r = app.get("/registry/stats", &cookie).await;
            assert_eq!(r.status, StatusCode::OK);
            let text = r.text();
            assert!(
                text.contains("在住人数") && text.contains(">16<"),
                "1 + 6 + 2 + 7 residents: {text}"
            );
            // By people: 壮族 1 and 苗族 2 are withheld, together and unnamed; 侗族 6 and 汉族
            // 7 are shown, rounded to a multiple of 5.
            let people = text
                .split_once("按民族")
                .unwrap()
                .1
                .split("</section>")
                .next()
                .unwrap();
            assert!(
                people.contains("<td>侗族</td><td>5</td>")
                    && people.contains("<td>汉族</td><td>5</td>"),
                "{people}"
            );
            assert!(
                people.contains(
                    "其余人数较少的类别（合并，不公布）</td><td><span class=\"withheld\""
                ) && !people.contains("苗族")
                    && !people.contains("壮族")
                    && !people.contains("<td>2</td>"),
                "{people}"
            );
            assert!(text.contains("四舍五入到 5 的倍数；少于 5 人的类别合并"));
            // By county: 融水 (2) and 田东 (1) withheld.
            let county = text
                .split_once("按户籍地（县）")
                .unwrap()
                .1
                .split("</section>")
                .next()
                .unwrap();
            assert!(
                county.contains("从江县</td><td>5</td>")
                    && !county.contains("融水")
                    && !county.contains("<td>2</td>")
                    && !county.contains("<td>1</td>"),
                "{county}"
            );
            let x = app.get("/registry/stats.xlsx", &cookie).await;
            assert_eq!(x.status, StatusCode::OK);
            let sheet = xlsx_text(&x.body);
            let line = |label: &str| {
                sheet
                    .lines()
                    .find(|l| l.contains(label) && l.starts_with("按民族"))
                    .unwrap_or_default()
                    .to_string()
            };
            assert!(line("其余人数较少的类别").ends_with("—\t"), "{sheet}");
            assert!(line("侗族").ends_with("5\t"), "{sheet}");
            assert!(!sheet.contains("按民族\t苗族"), "{sheet}");
            // With a minimum of 1 nothing is withheld (the setting is read, not hard-coded).
            let lenient = shiliu_web::router(AppState::new(
                app.t.db.clone(),
                WebConfig {
                    min_cell: 1,
                    ..WebConfig::default()
                },
            ));
            let r = lenient
                .oneshot(
                    Request::get("/registry/stats")
                        .header(header::COOKIE, &cookie)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let body = axum::body::to_bytes(r.into_body(), usize::MAX)
                .await
                .unwrap();
            let text = String::from_utf8_lossy(&body);
            assert!(
                text.contains("<td>苗族</td><td>2</td>") && !text.contains("class=\"withheld\""),
                "{text}"
            );
            let r = app
                .get("/registry/stats?from=2030-01&to=2029-01", &cookie)
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        });
    }
);

both_engines!(
    the_home_side_sees_its_out_migrants_and_the_two_sides_exchange_assistance,
    |t: TestDb| {
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| {
                let nn = seed_city(c, "450100", "nn", "x");
                seed_city(c, "450200", "lz", "x");
                Ok(nn)
            })
            .unwrap();
        // Two people from 三江 (柳州市) registered in 南宁: one agreed that home may see her.
        let (wei, yang) = app
            .t
            .db
            .write_blocking(move |c| {
                use shiliu_domain::registry::{ConsentChannel as Ch, ConsentPurpose as P};
                let mut reg = |name: &str, first17: &str, consents| {
                    let input = shiliu_domain::registry::PersonInput::parse(
                        &shiliu_domain::registry::PersonForm {
                            name: name.into(),
                            id_number: format!(
                                "{first17}{}",
                                shiliu_domain::id_number::check_char(first17.as_bytes())
                            ),
                            people: "侗族".into(),
                            address: "衡阳路 3 号".into(),
                            ..Default::default()
                        },
                        shiliu_db::today(),
                    )
                    .unwrap();
                    shiliu_db::registry::register(
                        c,
                        &shiliu_db::scope::Can::check(&Actor::system("test")).unwrap(),
                        &shiliu_db::registry::Vault::random(),
                        &shiliu_db::registry::Registration {
                            person: &input,
                            region_id: nn.grid,
                            household: shiliu_db::registry::Household::New,
                            consents,
                            on_duplicate: shiliu_db::registry::OnDuplicate::Refuse,
                        },
                    )
                    .map(|r| r.person().id)
                };
                Ok((
                    reg(
                        "韦小红",
                        "45022619950304202",
                        &[(P::Registration, Ch::Staff), (P::Linkage, Ch::Staff)],
                    )?,
                    reg(
                        "杨大山",
                        "45022619880101101",
                        &[(P::Registration, Ch::Staff)],
                    )?,
                ))
            })
            .unwrap();
        block_on(async {
            // 柳州市 sees its consenting out-migrant, masked, and nothing it may not.
            let (home, home_csrf) = app.session("lz-commission-staff");
            let r = app.get("/registry/out-migrants", &home).await;
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(r.headers[header::CACHE_CONTROL], "private, no-store");
            let text = r.text();
            assert!(text.contains("韦**"), "{text}");
            for hidden in ["韦小红", "杨**", "衡阳路", "4502**********"] {
                assert!(!text.contains(hidden), "{hidden} shown to the home side");
            }
            assert!(text.contains(&format!("/registry/assists/new?person={wei}")));
            let (here, here_csrf) = app.session("nn-commission-staff");
            assert!(
                !app.get("/registry/out-migrants", &here)
                    .await
                    .text()
                    .contains("韦**")
            );
            let (leader, _) = app.session("nn-leader");
            assert_eq!(
                app.get("/registry/out-migrants", &leader).await.status,
                StatusCode::FORBIDDEN
            );

            // Asking: bad input names the fields; someone who did not agree cannot be asked about.
            let due = (shiliu_db::today() + chrono::Duration::days(7)).to_string();
            let today = shiliu_db::today().to_string();
            let r = app
                .post(
                    "/registry/assists",
                    &home,
                    &[
                        ("_csrf", &home_csrf),
                        ("person_id", &wei.to_string()),
                        ("kind", "verify"),
                        ("subject", ""),
                        ("body", "请核实"),
                        ("due_on", &today),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = r.text();
            for part in ["事由", "回复期限", "明天起 90 天内"] {
                assert!(text.contains(part), "{part} in {text}");
            }
            let ask = |person: i64| {
                [
                    ("_csrf", home_csrf.clone()),
                    ("person_id", person.to_string()),
                    ("kind", "verify".to_string()),
                    ("subject", "核实子女入学情况".to_string()),
                    ("body", "请核实韦小红子女是否已在当地入学。".to_string()),
                    ("due_on", due.clone()),
                ]
            };
            let fields = ask(yang);
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app.post("/registry/assists", &home, &pairs).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("不是您户籍地的外出人员"));
            let fields = ask(wei);
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app.post("/registry/assists", &home, &pairs).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let page = r.location();
            let id = page
                .trim_start_matches("/registry/assists/")
                .split('?')
                .next()
                .unwrap()
                .to_string();

            // The grid worker where she lives sees it waiting, and replies.
            let (grid, grid_csrf) = app.session("nn-grid-worker");
            assert!(
                app.get("/registry", &grid)
                    .await
                    .text()
                    .contains("协查协助（1）")
            );
            assert!(
                app.get("/registry/assists", &grid)
                    .await
                    .text()
                    .contains("核实子女入学情况")
            );
            let r = app.get(&format!("/registry/assists/{id}"), &grid).await;
            assert!(
                r.text().contains(&format!("/registry/{wei}")),
                "her record is a link away"
            );
            let reply = format!("/registry/assists/{id}/reply");
            let r = app
                .post(
                    &reply,
                    &grid,
                    &[("_csrf", &grid_csrf), ("version", "1"), ("reply", " ")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("回复"));
            let r = app
                .post(
                    &reply,
                    &grid,
                    &[
                        ("_csrf", &grid_csrf),
                        ("version", "1"),
                        ("reply", "已入读衡阳小学三年级"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            // Twice is refused as stale; the home side may not reply to its own request.
            let r = app
                .post(
                    &reply,
                    &grid,
                    &[("_csrf", &grid_csrf), ("version", "1"), ("reply", "再答")],
                )
                .await;
            assert_eq!(r.status, StatusCode::CONFLICT);
            let (site, _) = app.session("nn-site-staff");
            assert_eq!(
                app.get(&format!("/registry/assists/{id}"), &site)
                    .await
                    .status,
                StatusCode::FORBIDDEN
            );

            // The home side reads the reply and closes it.
            let text = app
                .get(&format!("/registry/assists/{id}"), &home)
                .await
                .text();
            assert!(text.contains("已入读衡阳小学三年级") && text.contains("韦**"));
            let r = app
                .post(
                    &format!("/registry/assists/{id}/close"),
                    &home,
                    &[("_csrf", &home_csrf), ("version", "2")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            assert!(
                app.get(&format!("/registry/assists/{id}"), &home)
                    .await
                    .text()
                    .contains("已关闭")
            );
            let _ = here_csrf;

            // The API: the same rules.
            let (s, list) = app
                .api_get("/api/v1/out-migrants", "lz-commission-staff")
                .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(list["items"][0]["name"], "韦**");
            assert_eq!(list["items"].as_array().unwrap().len(), 1);
            assert!(list["items"][0].get("id_masked").is_none());
            let (s, err) = app
            .api(
                "POST",
                "/api/v1/assists",
                "lz-commission-staff",
                Some(serde_json::json!({"person_id": wei, "kind": "ask", "subject": "x", "body": "y", "due_on": due})),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(err["error"]["details"]["kind"].is_string(), "{err}");
            let (s, made) = app
            .api(
                "POST",
                "/api/v1/assists",
                "nn-commission-staff",
                Some(serde_json::json!({"person_id": wei, "kind": "assist", "subject": "协助转移低保", "body": "请协助", "due_on": due})),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{made}");
            let (s, incoming) = app
                .api_get("/api/v1/assists?side=in", "lz-commission-staff")
                .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(incoming["items"][0]["id"], made["id"]);
            assert_eq!(incoming["items"][0]["status"], "open");
        });
    }
);

both_engines!(a_needs_survey_through_pages_and_api, |t: TestDb| {
    let app = App::new(t);
    let (nn, lz) = app
        .t
        .db
        .write_blocking(|c| {
            Ok((
                seed_city(c, "450100", "nn", "x"),
                seed_city(c, "450200", "lz", "x"),
            ))
        })
        .unwrap();
    let (community_code, person) = app
        .t
        .db
        .write_blocking(move |c| {
            Ok((
                org::get_region(c, &Scope::everything(), nn.region)?.code,
                nn.person,
            ))
        })
        .unwrap();
    let today = shiliu_db::today();
    let start = today.to_string();
    let end = (today + chrono::Duration::days(30)).to_string();
    block_on(async {
        // The campaign form: each problem named, a question's by its number.
        let (town, csrf) = app.session("nn-township-staff");
        let r = app
            .post(
                "/registry/surveys",
                &town,
                &[
                    ("_csrf", &csrf),
                    ("name", ""),
                    ("region_code", &community_code),
                    ("starts_on", &end),
                    ("ends_on", &start),
                    ("q1.label", "希望的工种"),
                    ("q1.kind", "single"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        for part in ["名称", "结束日期", "不能早于开始日期", "问题 1 · 选项"] {
            assert!(text.contains(part), "{part} in {text}");
        }
        let r = app
            .post(
                "/registry/surveys",
                &town,
                &[
                    ("_csrf", &csrf),
                    ("name", "社区就业需求摸排"),
                    ("region_code", &community_code),
                    ("starts_on", &start),
                    ("ends_on", &end),
                    ("q1.label", "家中劳动力人数"),
                    ("q1.kind", "number"),
                    ("q1.required", "1"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let sid: i64 = r
            .location()
            .trim_start_matches("/registry/surveys/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // Another city's staff cannot see it; a grid worker inside it can, and visits.
        let (far, _) = app.session("lz-township-staff");
        assert_eq!(
            app.get(&format!("/registry/surveys/{sid}"), &far)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let _ = lz;
        let (grid, gcsrf) = app.session("nn-grid-worker");
        let page = app
            .get(&format!("/registry/surveys/{sid}"), &grid)
            .await
            .text();
        assert!(page.contains("0 / 1"), "{page}");
        let list = app
            .get(&format!("/registry/surveys/{sid}/households"), &grid)
            .await;
        assert_eq!(list.headers[header::CACHE_CONTROL], "private, no-store");
        let list = list.text();
        let hid: i64 = list
            .split(&format!("/registry/surveys/{sid}/households/"))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let form = format!("/registry/surveys/{sid}/households/{hid}");
        let need_field = format!("need.{person}");
        let note_field = format!("note.{person}");
        let answer_field = format!("answer.{sid}.q1");
        let r = app
            .post(&form, &grid, &[("_csrf", &gcsrf), (&need_field, "job")])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("家中劳动力人数"), "the question named");
        let r = app
            .post(
                &form,
                &grid,
                &[
                    ("_csrf", &gcsrf),
                    (&answer_field, "2"),
                    (&need_field, "job"),
                    (&need_field, "relief"),
                    (&note_field, "想进厂"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app
            .get(&format!("/registry/surveys/{sid}"), &grid)
            .await
            .text();
        assert!(page.contains("1 / 1"), "{page}");

        // The needs: one becomes a request in one action, the other is met by a subsidy.
        let (s, needs) = app
            .api_get(&format!("/api/v1/needs?survey={sid}"), "nn-grid-worker")
            .await;
        assert_eq!(s, StatusCode::OK);
        let items = needs["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        let by_kind = |k: &str| items.iter().find(|n| n["kind"] == k).unwrap().clone();
        let (job, relief) = (by_kind("job"), by_kind("relief"));
        let r = app
            .post(
                &format!("/registry/needs/{}/request", job["id"]),
                &grid,
                &[
                    ("_csrf", &gcsrf),
                    ("version", &job["version"].to_string()),
                    ("description", "就业岗位：想进厂"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert!(r.location().starts_with("/requests/"));
        let r = app
            .post(
                &format!("/registry/{person}/services"),
                &grid,
                &[
                    ("_csrf", &gcsrf),
                    ("kind", "subsidy"),
                    ("delivered_on", &start),
                    ("provider", "区民政局"),
                    ("amount", "12.345"),
                    ("need_id", &relief["id"].to_string()),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("两位小数"), "{}", r.text());
        let (s, made) = app
            .api(
                "POST",
                &format!("/api/v1/persons/{person}/services"),
                "nn-grid-worker",
                Some(serde_json::json!({"kind": "subsidy", "delivered_on": start, "provider": "区民政局", "amount": "800", "need_id": relief["id"]})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{made}");
        assert_eq!(made["amount_fen"], 80_000);
        let (_, after) = app
            .api_get(&format!("/api/v1/needs?survey={sid}"), "nn-grid-worker")
            .await;
        let mut statuses: Vec<String> = after["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                format!(
                    "{}:{}",
                    n["kind"].as_str().unwrap(),
                    n["status"].as_str().unwrap()
                )
            })
            .collect();
        statuses.sort();
        assert_eq!(statuses, ["job:requested", "relief:met"]);
        let person_page = app.get(&format!("/registry/{person}"), &grid).await.text();
        assert!(
            person_page.contains("补贴发放") && person_page.contains("800"),
            "{person_page}"
        );

        // The statistics count them; the API answers a household too, with the same checks.
        let stats = app.get("/registry/stats", &town).await.text();
        assert!(
            stats.contains("已满足需求") && stats.contains("发放补贴（元）"),
            "{stats}"
        );
        let (s, list) = app.api_get("/api/v1/surveys", "nn-grid-worker").await;
        assert_eq!((s, list[0]["answered"].as_i64()), (StatusCode::OK, Some(1)));
        let (s, err) = app
            .api(
                "POST",
                &format!("/api/v1/surveys/{sid}/responses"),
                "nn-grid-worker",
                Some(serde_json::json!({"household_id": hid, "answers": {"q1": "two"}, "needs": [{"person_id": person, "kind": "fly"}]})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            err["error"]["details"][format!("need.{person}.kind")].is_string(),
            "{err}"
        );
        let (s, ok) = app
            .api(
                "POST",
                &format!("/api/v1/surveys/{sid}/responses"),
                "nn-grid-worker",
                Some(serde_json::json!({"household_id": hid, "answers": {"q1": 3}, "needs": []})),
            )
            .await;
        assert_eq!(
            (s, ok["answers"]["q1"].as_str()),
            (StatusCode::OK, Some("3")),
            "{ok}"
        );
    });
});

both_engines!(a_register_imported_from_excel_or_csv, |t: TestDb| {
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    let grid = app
        .t
        .db
        .write_blocking(move |c| Ok(org::get_region(c, &Scope::everything(), nn.grid)?.code))
        .unwrap();
    let id = |first17: &str| {
        format!(
            "{first17}{}",
            shiliu_domain::id_number::check_char(first17.as_bytes())
        )
    };
    let (a, b, dup, other) = (
        id("45022619900101202"),
        id("45022620150601101"),
        id("52263319850505303"),
        id("45012219700707404"),
    );
    let count = || {
        let f = shiliu_db::registry::PersonFilter::default();
        shiliu_db::registry::count(&mut app.t.db.conn().unwrap(), &Scope::everything(), &f).unwrap()
    };
    block_on(async {
        let (cookie, csrf) = app.session("nn-commission-staff");
        let r = app.get("/registry/import/template.csv", &cookie).await;
        assert!(
            r.text().starts_with("\u{feff}户编号,与户主关系,姓名"),
            "{}",
            r.text()
        );
        let (grid_cookie, _) = app.session("nn-grid-worker");
        assert_eq!(
            app.get("/registry/import", &grid_cookie).await.status,
            StatusCode::FORBIDDEN
        );

        // Someone already registered, whose household the file repeats.
        let r = app
            .post(
                "/registry",
                &cookie,
                &[
                    ("_csrf", csrf.as_str()),
                    ("name", "潘已登"),
                    ("id_number", dup.as_str()),
                    ("people", "苗族"),
                    ("region_code", grid.as_str()),
                    ("address", "衡阳路 1 号"),
                    ("consents", "registration"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let before = count();
        let header: &[&str] = &[
            "户编号",
            "与户主关系",
            "姓名",
            "身份证号码",
            "民族",
            "所属区域代码",
            "居住地址",
            "就业状况",
            "人员标签",
            "同意告知户籍地",
        ];
        let file = xlsx(&[
            header,
            &[
                "H1",
                "户主",
                "吴春花",
                &a,
                "侗族",
                &grid,
                "衡阳路 9 号",
                "灵活就业",
                "困难群众、易地扶贫搬迁",
                "是",
            ],
            &[
                "H1",
                "子女",
                "吴小宝",
                &b,
                "侗族",
                "",
                "",
                "在校学生",
                "",
                "",
            ],
            &[
                "H2",
                "户主",
                "错民族",
                &other,
                "火星族",
                &grid,
                "衡阳路 10 号",
                "",
                "",
                "",
            ],
            &[
                "H3",
                "户主",
                "潘已登",
                &dup,
                "苗族",
                &grid,
                "衡阳路 1 号",
                "",
                "",
                "",
            ],
        ]);
        // The dry run reports every problem and every household already registered.
        let r = app
            .upload("/registry/import", &cookie, &csrf, file.clone(), "dry_run")
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        for part in [
            "第 4 行",
            "民族",
            "火星族",
            "可导入 1 户 2 人",
            "跳过 1 户",
            "已登记的户",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        // The whole list, as a workbook to correct the file from: each problem by row and
        // column, and the household already registered.
        let r = app
            .upload(
                "/registry/import",
                &cookie,
                &csrf,
                file.clone(),
                "error_report",
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let report = xlsx_text(&r.body);
        assert!(report.starts_with("行\t列\t问题\t\n"), "{report}");
        assert!(report.contains("4\t民族\t"), "{report}");
        assert!(report.contains("5\t\t已登记（人员编号"), "{report}");
        assert_eq!(count(), before);
        // All or nothing: nothing.
        let r = app
            .upload("/registry/import", &cookie, &csrf, file.clone(), "commit")
            .await;
        assert!(r.text().contains("未导入任何数据"));
        assert_eq!(count(), before);
        // The valid households only, in the background, with progress.
        let r = app
            .upload(
                "/registry/import",
                &cookie,
                &csrf,
                file.clone(),
                "valid_only",
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let job = r.location();
        let mut outcome = String::new();
        for _ in 0..200 {
            let page = app.get(&job, &cookie).await.text();
            if page.contains("import-outcome") {
                outcome = page;
                break;
            }
            assert!(page.contains("正在导入"), "{page}");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(outcome.contains("导入完成：1 户 2 人"), "{outcome}");
        assert_eq!(count(), before + 2);
        assert_eq!(
            app.get(&job, &grid_cookie).await.status,
            StatusCode::FORBIDDEN
        );
        let (other_user, _) = app.session("nn-township-staff");
        assert_eq!(
            app.get(&job, &other_user).await.status,
            StatusCode::NOT_FOUND
        );
        // The same file again changes nothing.
        let r = app
            .upload("/registry/import", &cookie, &csrf, file, "valid_only")
            .await;
        assert!(r.text().contains("此文件已于"), "{}", r.text());
        assert_eq!(count(), before + 2);
        let (_, listed) = app
            .api_get("/api/v1/persons?q=吴春花", "nn-commission-staff")
            .await;
        let head = listed["items"][0]["id"].as_i64().unwrap();
        let (_, detail) = app
            .api_get(&format!("/api/v1/persons/{head}"), "nn-commission-staff")
            .await;
        assert_eq!(detail["tags"], serde_json::json!(["hardship", "relocated"]));
        assert_eq!(detail["household"].as_array().unwrap().len(), 2);
        let purposes: Vec<&str> = detail["consents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["purpose"].as_str().unwrap())
            .collect();
        assert_eq!(purposes, ["registration", "linkage"]);

        // CSV as Excel on a Chinese Windows saves it (GB 18030), quoted fields and all.
        let csv = format!(
            "户编号,与户主关系,姓名,性别,出生日期,民族,户籍地,所属区域代码,居住地址\r\nH9,户主,\"韦,六\",女,1992-02-02,壮族,451022,{grid},\"衡阳路 \"\"11\"\" 号\"\r\n"
        );
        let (gbk, _, _) = encoding_rs::GB18030.encode(&csv);
        let r = app
            .upload(
                "/registry/import",
                &cookie,
                &csrf,
                gbk.clone().into_owned(),
                "dry_run",
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert!(r.text().contains("可导入 1 户 1 人"), "{}", r.text());
        let r = app
            .upload(
                "/registry/import",
                &cookie,
                &csrf,
                gbk.into_owned(),
                "commit",
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let job = r.location();
        for _ in 0..200 {
            if app
                .get(&job, &cookie)
                .await
                .text()
                .contains("import-outcome")
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(count(), before + 3);
        // The file again after an edit (another hash): her household has no ID number to
        // match, but the same name and birth date in the same place is the same head.
        let edited = csv.replace("11\"\" 号", "12\"\" 号");
        assert_ne!(edited, csv);
        let (gbk, _, _) = encoding_rs::GB18030.encode(&edited);
        let r = app
            .upload(
                "/registry/import",
                &cookie,
                &csrf,
                gbk.into_owned(),
                "dry_run",
            )
            .await;
        assert!(r.text().contains("跳过 1 户"), "{}", r.text());
        assert_eq!(count(), before + 3);
    });
});

both_engines!(an_organiser_builds_an_evaluation_scheme, |t: TestDb| {
    let app = App::new(t);
    app.t
        .db
        .write_blocking(|c| {
            seed_city(c, "450100", "nn", "x");
            Ok(())
        })
        .unwrap();
    block_on(async {
        let (cookie, csrf) = app.session("nn-commission-staff");
        let r = app.get("/evaluations", &cookie).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.text().contains("新建考评方案"));
        let (grid_cookie, _) = app.session("nn-grid-worker");
        assert_eq!(
            app.get("/evaluations", &grid_cookie).await.status,
            StatusCode::FORBIDDEN
        );

        // A bad form names each field; a good one makes a draft.
        let r = app
            .post(
                "/evaluations",
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("year", "26"),
                    ("name", ""),
                    ("organiser", "南宁市民宗委"),
                    ("merge_rule", "field_first"),
                    ("bonus_cap", "2.555"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains("年度：应为 2000 至 2100 之间的年度"),
            "{text}"
        );
        assert!(text.contains("加分上限：应为不小于 0 的分值"), "{text}");
        let r = app
            .post(
                "/evaluations",
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("year", "2026"),
                    ("name", "2026年度民族工作绩效考评"),
                    ("organiser", "南宁市民族宗教事务委员会"),
                    ("merge_rule", "field_first"),
                    ("bonus_cap", "5"),
                    ("grades", ""),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let id: i64 = r
            .location()
            .trim_start_matches("/evaluations/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let base = format!("/evaluations/{id}");
        let version = || {
            app.t
                .db
                .write_blocking(move |c| {
                    Ok(
                        shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?
                            .version
                            .to_string(),
                    )
                })
                .unwrap()
        };

        // A category, then a unit of the city in it; a unit that is not there is named.
        let r = app
            .post(
                &format!("{base}/categories"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", &version()),
                    ("category_name", "市直部门"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let category = app
            .t
            .db
            .write_blocking(move |c| {
                let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
                Ok(shiliu_db::evaluation::categories(c, &s)?[0].id.to_string())
            })
            .unwrap();
        let r = app
            .post(
                &format!("{base}/units"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", &version()),
                    ("unit", "没有这个局"),
                    ("category_id", &category),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = app
            .post(
                &format!("{base}/units"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", &version()),
                    ("unit", "nn教育局"),
                    ("category_id", &category),
                    ("key_unit", "1"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        // The units as a sheet: an unknown unit is named by row and nothing changes; the
        // sheet the export gives back is taken as it is.
        let r = app
            .multipart(
                &format!("{base}/units/import"),
                &cookie,
                &csrf,
                &[("version", &version())],
                &[(
                    "file",
                    "参评单位.xlsx",
                    &xlsx(&[
                        &["单位名称", "类别", "重点单位"],
                        &["nn教育局", "学校", "否"],
                        &["没有这个局", "学校", "也许"],
                    ]),
                )],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains("<td>3</td><td>重点单位</td><td>请填“是”或“否”</td>"),
            "{text}"
        );
        let r = app
            .multipart(
                &format!("{base}/units/import"),
                &cookie,
                &csrf,
                &[("version", &version())],
                &[(
                    "file",
                    "参评单位.xlsx",
                    &xlsx(&[
                        &["单位名称", "类别", "重点单位"],
                        &["nn教育局", "学校", "否"],
                        &["没有这个局", "学校", ""],
                    ]),
                )],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains("<td>3</td><td>单位</td><td>您的范围内没有这个名称的在用单位</td>")
                && !text.contains("<h3>学校"),
            "{text}"
        );
        let r = app.get(&format!("{base}/units.xlsx"), &cookie).await;
        assert_eq!(r.status, StatusCode::OK);
        let sheet = xlsx_text(&r.body);
        assert_eq!(
            sheet,
            "单位\t单位类别\t重点单位\t\nnn教育局\t市直部门\t是\t\n"
        );
        let r = app
            .multipart(
                &format!("{base}/units/import"),
                &cookie,
                &csrf,
                &[("version", &version())],
                &[("file", "参评单位.xlsx", &r.body)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

        // The indicator sheet: a wrong area total is reported by row and nothing is imported;
        // the corrected sheet replaces the tree.
        let header: &[&str] = &["编号", "指标内容", "分值", "类型", "评分标准", "佐证材料"];
        let mut rows: Vec<&[&str]> = vec![
            header,
            &["1", "组织领导", "12", "", "", ""],
            &["1.1", "领导机制", "", "", "", ""],
            &["1.1.1", "成立领导小组", "4", "", "查看文件", "文件"],
            &["1.1.2", "年度工作部署", "6", "标准", "", ""],
            &["2", "加分项", "", "", "", ""],
            &["2.1", "创建成效", "", "", "", ""],
            &["2.1.1", "获评示范单位", "3", "加分", "", "命名文件"],
        ];
        let r = app
            .multipart(
                &format!("{base}/indicators/import"),
                &cookie,
                &csrf,
                &[("version", &version())],
                &[("file", "指标.xlsx", &xlsx(&rows))],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains(
                "<td>2</td><td>分值</td><td>填写的分值与其下评分细则之和（10）不一致</td>"
            ),
            "{text}"
        );
        assert!(text.contains("尚无指标"), "nothing imported: {text}");
        rows[1] = &["1", "组织领导", "10", "", "", ""];
        let r = app
            .multipart(
                &format!("{base}/indicators/import"),
                &cookie,
                &csrf,
                &[("version", &version())],
                &[("file", "指标.xlsx", &xlsx(&rows))],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app.get(&base, &cookie).await.text();
        assert!(
            page.contains("1 个参评单位，3 项评分细则，基本分满分 10 分"),
            "{page}"
        );
        assert!(
            page.contains("成立领导小组") && page.contains(r#"<span class="badge">加分</span>"#),
            "{page}"
        );
        // The export is the sheet again, to edit and import.
        let r = app.get(&format!("{base}/indicators.xlsx"), &cookie).await;
        assert_eq!(r.status, StatusCode::OK);
        let sheet = xlsx_text(&r.body);
        assert!(
            sheet
                .starts_with("编号\t指标内容\t分值\t类型\t评分标准\t佐证材料\t\n1\t组织领导\t10\t"),
            "{sheet}"
        );
        assert!(
            sheet.contains("2.1.1\t获评示范单位\t3\t加分\t\t命名文件\t"),
            "{sheet}"
        );

        // Moving on needs the deadline; then the structure is locked, and an old version is stale.
        let r = app
            .post(
                &format!("{base}/advance"),
                &cookie,
                &[("_csrf", &csrf), ("version", &version())],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text()
                .contains("自查自评截止时间：进入该阶段前请先设置其截止时间"),
            "{}",
            r.text()
        );
        let r = app
            .post(
                &format!("{base}/deadlines"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", &version()),
                    ("self_due", "2026-03-31T17:00"),
                    ("first_due", "2026-03-01T17:00"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text()
                .contains("第一次核验截止时间：各阶段截止时间应依次靠后"),
            "{}",
            r.text()
        );
        let r = app
            .post(
                &format!("{base}/deadlines"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", &version()),
                    ("self_due", "2026-03-31T17:00"),
                    ("first_due", "2026-04-30"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let old = version();
        let r = app
            .post(
                &format!("{base}/advance"),
                &cookie,
                &[("_csrf", &csrf), ("version", &old)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app.get(&base, &cookie).await.text();
        assert!(
            page.contains(r#"<dd id="eval-stage">自查自评</dd>"#),
            "{page}"
        );
        assert!(
            page.contains(r#"value="2026-03-31T17:00""#),
            "deadlines shown in China time: {page}"
        );
        let r = app
            .post(
                &format!("{base}/categories"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", &version()),
                    ("category_name", "学校"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text()
                .contains("方案已下发，类别、参评单位、指标与折算分值已锁定"),
            "{}",
            r.text()
        );
        let r = app
            .post(
                &format!("{base}/advance"),
                &cookie,
                &[("_csrf", &csrf), ("version", &old)],
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT);

        // Next year's starts as a copy, a draft again.
        let r = app
            .post(
                &format!("{base}/copy"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("year", "2027"),
                    ("name", "2027年度民族工作绩效考评"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let copy = app
            .get(r.location().split('?').next().unwrap(), &cookie)
            .await
            .text();
        assert!(
            copy.contains(r#"<dd id="eval-stage">编制中</dd>"#)
                && copy.contains("1 个参评单位，3 项评分细则"),
            "{copy}"
        );
        let list = app.get("/evaluations", &cookie).await.text();
        assert!(
            list.contains("2027年度民族工作绩效考评") && list.contains("2026年度民族工作绩效考评"),
            "{list}"
        );
        // Another city's commission does not see them.
        app.t
            .db
            .write_blocking(|c| {
                seed_city(c, "450200", "lz", "x");
                Ok(())
            })
            .unwrap();
        let (lz, _) = app.session("lz-commission-staff");
        assert_eq!(app.get(&base, &lz).await.status, StatusCode::NOT_FOUND);
        assert!(
            !app.get("/evaluations", &lz)
                .await
                .text()
                .contains("2026年度民族工作绩效考评")
        );
    });
});

both_engines!(a_unit_self_assesses_and_a_reviewer_scores, |t: TestDb| {
    let app = App::new(t);
    let (nn, id, crits) = app
        .t
        .db
        .write_blocking(|c| {
            use diesel::prelude::*;
            let nn = seed_city(c, "450100", "nn", "x");
            seed_city(c, "450200", "lz", "x");
            let city = org::get_region_by_code(c, &Scope::everything(), "450100")?;
            let (s, tree) = scheme_in_self_assessment(
                c,
                city.id,
                &[(nn.unit, true)],
                &[
                    ("1", "组织领导", ""),
                    ("1.1", "领导机制", ""),
                    ("1.1.1", "成立领导小组", "4"),
                    ("1.1.2", "年度部署", "6"),
                ],
            )?;
            let crits: Vec<i64> = tree.criteria().map(|x| x.id).collect();
            shiliu_db::on_engine!(c, |x| diesel::update(
                shiliu_db::schema::users::table
                    .filter(shiliu_db::schema::users::username.eq("nn-unit-reporter"))
            )
            .set(shiliu_db::schema::users::unit_id.eq(Some(nn.unit)))
            .execute(x))?;
            Ok((nn, s.id, crits))
        })
        .unwrap();
    block_on(async {
        let unit = nn.unit;
        let (cookie, csrf) = app.session("nn-unit-reporter");
        let list = app.get("/evaluations", &cookie).await.text();
        assert!(
            list.contains("2026年度考评") && !list.contains("新建考评方案"),
            "{list}"
        );
        let page = app.get(&format!("/evaluations/{id}"), &cookie).await.text();
        assert!(
            page.contains(&format!("/evaluations/{id}/units/{unit}")) && page.contains("自查自评"),
            "{page}"
        );
        let sheet_path = format!("/evaluations/{id}/units/{unit}");
        let sheet = app.get(&sheet_path, &cookie).await.text();
        assert!(
            sheet.contains(&format!("name=\"score.{}\"", crits[0])),
            "{sheet}"
        );
        let post = format!("{sheet_path}/scores?round=self");
        let (c0, c1) = (format!("score.{}", crits[0]), format!("score.{}", crits[1]));
        let (n0, f0) = (format!("note.{}", crits[0]), format!("files.{}", crits[0]));
        // Above the maximum: named by the criterion's code.
        let r = app
            .multipart(&post, &cookie, &csrf, &[(&c0, "5"), (&n0, "")], &[])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().contains("1.1.1 得分：不能高于该项满分 4 分"),
            "{}",
            r.text()
        );
        // A draft with a ledger file.
        let r = app
            .multipart(
                &post,
                &cookie,
                &csrf,
                &[(&c0, "3.5"), (&n0, "已成立领导小组")],
                &[(&f0, "台账.pdf", b"%PDF-1.4 ledger")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let sheet = app.get(&sheet_path, &cookie).await.text();
        assert!(
            sheet.contains(r#"<dd id="eval-claimed">3.5</dd>"#) && sheet.contains("台账.pdf"),
            "{sheet}"
        );
        // What is left shows on the home page and on the scheme's list of units.
        let home = app.get("/", &cookie).await.text();
        assert!(
            home.contains("id=\"eval-todo\"")
                && home.contains("2026年度考评：")
                && home.contains("自查自评还有 1 项未填")
                && home.contains(&format!("href=\"{sheet_path}\"")),
            "{home}"
        );
        assert!(
            app.get(&format!("/evaluations/{id}"), &cookie)
                .await
                .text()
                .contains("自查自评还有 1 项未填")
        );
        let (st, todo) = app
            .api_get("/api/v1/evaluations/todo", "nn-unit-reporter")
            .await;
        assert_eq!(st, StatusCode::OK, "{todo}");
        assert_eq!(
            (
                todo[0]["owner"].as_str(),
                todo[0]["round"].as_str(),
                todo[0]["units"][0]["unit_id"].as_i64(),
                todo[0]["units"][0]["criteria_left"].as_i64()
            ),
            (Some("unit"), Some("self"), Some(unit), Some(1)),
            "{todo}"
        );
        let file = sheet
            .split(&format!("/evaluations/{id}/evidence/"))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let r = app
            .get(&format!("/evaluations/{id}/evidence/{file}"), &cookie)
            .await;
        assert_eq!(
            (r.status, r.body.as_slice()),
            (StatusCode::OK, &b"%PDF-1.4 ledger"[..])
        );
        // Submitting with a criterion left is refused, naming it; then submitted and read only.
        let r = app
            .multipart(&post, &cookie, &csrf, &[(&c0, "3.5"), ("submit", "1")], &[])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().contains("以下评分细则尚未自评打分：1.1.2"),
            "{}",
            r.text()
        );
        let r = app
            .multipart(
                &post,
                &cookie,
                &csrf,
                &[(&c0, "3.5"), (&c1, "6"), ("submit", "1")],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let sheet = app.get(&sheet_path, &cookie).await.text();
        assert!(
            sheet.contains(r#"<dd id="eval-claimed">9.5</dd>"#)
                && sheet.contains("自评已提交，不能再修改"),
            "{sheet}"
        );
        assert!(
            !sheet.contains("name=\"score."),
            "no inputs after submitting"
        );
        let r = app
            .multipart(&post, &cookie, &csrf, &[(&c0, "4")], &[])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Others: no permission, or another city's reporter.
        let (grid, _) = app.session("nn-grid-worker");
        assert_eq!(
            app.get(&sheet_path, &grid).await.status,
            StatusCode::FORBIDDEN
        );
        let (lz, _) = app.session("lz-unit-reporter");
        assert_eq!(
            app.get(&sheet_path, &lz).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.get(&format!("/evaluations/{id}/evidence/{file}"), &lz)
                .await
                .status,
            StatusCode::NOT_FOUND
        );

        // The organiser forms a first-round team with the city's evaluator.
        let (org_cookie, org_csrf) = app.session("nn-commission-staff");
        let r = app
            .post(
                &format!("/evaluations/{id}/teams"),
                &org_cookie,
                &[
                    ("_csrf", &org_csrf),
                    ("round", "first"),
                    ("team_name", "第一考评组"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let team = app
            .t
            .db
            .write_blocking(move |c| {
                let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
                Ok(shiliu_db::evaluation::teams::teams(c, &s)?[0].team.id)
            })
            .unwrap();
        let r = app
            .post(
                &format!("/evaluations/{id}/teams/{team}/members"),
                &org_cookie,
                &[("_csrf", &org_csrf), ("username", "nn-grid-worker")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().contains("该用户的角色不能参与核验评分"),
            "{}",
            r.text()
        );
        let r = app
            .post(
                &format!("/evaluations/{id}/teams/{team}/members"),
                &org_cookie,
                &[("_csrf", &org_csrf), ("username", "nn-evaluator")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let workbench = app
            .get(&format!("/evaluations/{id}"), &org_cookie)
            .await
            .text();
        assert!(
            workbench.contains("用户nn-evaluator")
                && workbench.contains("<td>已提交</td><td>0/2</td><td>0/2</td><td></td>"),
            "{workbench}"
        );
        // The reviewer's workload: one unit, two criteria to score; nobody owes the
        // self-assessment any more, so there is nobody to remind.
        let workload = workbench
            .split("id=\"eval-workload\"")
            .nth(1)
            .unwrap_or_default();
        assert!(
            workload
                .contains("<td>第一次核验</td><td>第一考评组</td><td>1</td><td>0</td><td>2</td>"),
            "{workbench}"
        );
        assert!(!home_of(&app, &cookie).await.contains("id=\"eval-todo\""));
        let remind = format!("/evaluations/{id}/remind");
        let r = app
            .post(&remind, &org_cookie, &[("_csrf", &org_csrf)])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().contains("本阶段没有需要提醒的单位或考评人员"),
            "{}",
            r.text()
        );
        assert_eq!(
            app.post(&remind, &cookie, &[("_csrf", &csrf)]).await.status,
            StatusCode::FORBIDDEN
        );
        app.t
            .db
            .write_blocking(move |c| {
                let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
                shiliu_db::evaluation::advance(c, &Actor::system("organiser"), id, s.version)
                    .map(|_| ())
            })
            .unwrap();
        // In the first verification the organiser reminds the reviewer, who sees it at home.
        let (rev, rev_csrf) = app.session("nn-evaluator");
        let r = app
            .post(&remind, &org_cookie, &[("_csrf", &org_csrf)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let (st, sent) = app
            .api(
                "POST",
                &format!("/api/v1/evaluations/{id}/reminders"),
                "nn-commission-staff",
                None,
            )
            .await;
        assert_eq!(
            (st, sent["sent"].as_i64()),
            (StatusCode::OK, Some(1)),
            "{sent}"
        );
        let (st, _) = app
            .api(
                "POST",
                &format!("/api/v1/evaluations/{id}/reminders"),
                "nn-evaluator",
                None,
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let home = home_of(&app, &rev).await;
        assert!(
            home.contains("第一次核验还有 1 个单位共 2 项未评分")
                && home.contains("已于 ")
                && home.contains(&format!("href=\"{sheet_path}\"")),
            "{home}"
        );
        // The reviewer sees the claim and the file, and scores with an opinion.
        let sheet = app.get(&sheet_path, &rev).await.text();
        assert!(
            sheet.contains("已成立领导小组")
                && sheet.contains("台账.pdf")
                && sheet.contains("正在填写：第一次核验"),
            "{sheet}"
        );
        let r = app
            .multipart(
                &format!("{sheet_path}/scores?round=first"),
                &rev,
                &rev_csrf,
                &[(&c0, "3"), (&n0, "会议记录不全")],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert!(
            app.get(&sheet_path, &rev)
                .await
                .text()
                .contains("会议记录不全")
        );
        // Until the feedback stage the unit does not see it.
        assert!(
            !app.get(&sheet_path, &cookie)
                .await
                .text()
                .contains("会议记录不全")
        );
        // The same through the JSON API: a score above its maximum is named; a number is taken.
        let api_scores = format!("/api/v1/evaluations/{id}/units/{unit}/scores");
        let (st, e) = app
            .api("POST", &api_scores, "nn-evaluator", Some(serde_json::json!({"round": "first", "scores": [{"criterion": "1.1.2", "points": "7"}]})))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert!(
            e["error"]["details"]["score.1.1.2"]
                .as_str()
                .unwrap()
                .contains('6'),
            "{e}"
        );
        let (st, list) = app
            .api("POST", &api_scores, "nn-evaluator", Some(serde_json::json!({"round": "first", "scores": [{"criterion": "1.1.2", "points": 5, "note": "部署及时"}]})))
            .await;
        assert_eq!(st, StatusCode::OK, "{list}");
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .any(|x| x["round"] == "first" && x["criterion"] == "1.1.2" && x["points"] == 5.0),
            "{list}"
        );
        let (st, _) = app.api_get(&api_scores, "lz-evaluator").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let advance = || {
            app.t.db.write_blocking(move |c| {
                let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
                shiliu_db::evaluation::advance(c, &Actor::system("organiser"), id, s.version)
                    .map(|_| ())
            })
        };
        let r = app
            .multipart(
                &format!("{sheet_path}/scores?round=first"),
                &rev,
                &rev_csrf,
                &[(&c1, "5")],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let feedback_due = shiliu_db::now() + chrono::Duration::days(20);
        app.t
            .db
            .write_blocking(move |c| {
                let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
                let d = [
                    s.self_due,
                    s.first_due,
                    Some(feedback_due - chrono::Duration::days(1)),
                    Some(feedback_due),
                ];
                shiliu_db::evaluation::set_deadlines(
                    c,
                    &Actor::system("organiser"),
                    id,
                    s.version,
                    d,
                )
                .map(|_| ())
            })
            .unwrap();
        advance().unwrap(); // field review: no field team, nothing to do
        advance().unwrap(); // feedback
        // The unit now sees its verified scores and the opinion, and objects to one criterion.
        let sheet = app.get(&sheet_path, &cookie).await.text();
        assert!(
            sheet.contains("会议记录不全") && sheet.contains("核验得分：<strong>3</strong>"),
            "{sheet}"
        );
        let objection = format!("{sheet_path}/scores?round=objection");
        let r = app
            .multipart(&objection, &cookie, &csrf, &[(&c0, "4"), (&n0, "")], &[])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("申请复核须写明理由"), "{}", r.text());
        let r = app
            .multipart(
                &objection,
                &cookie,
                &csrf,
                &[(&c0, "4"), (&n0, "会议记录已补齐")],
                &[(&f0, "会议记录.pdf", b"%PDF-1.4 minutes")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        // Results are the organiser's until publication.
        assert_eq!(
            app.get(&format!("/evaluations/{id}/results"), &cookie)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let results = app
            .get(&format!("/evaluations/{id}/results"), &org_cookie)
            .await
            .text();
        assert!(
            results.contains("会议记录已补齐") && results.contains("结果尚未通报"),
            "{results}"
        );
        let decide = |reason: &'static str| {
            let unit = unit.to_string();
            let crit = crits[0].to_string();
            let (org_cookie, org_csrf) = (org_cookie.clone(), org_csrf.clone());
            let app = &app;
            async move {
                app.post(
                    &format!("/evaluations/{id}/objections"),
                    &org_cookie,
                    &[
                        ("_csrf", &org_csrf),
                        ("unit", &unit),
                        ("criterion", &crit),
                        ("accepted", "yes"),
                        ("points", "4"),
                        ("reason", reason),
                    ],
                )
                .await
            }
        };
        assert_eq!(decide("").await.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = decide("补充材料属实").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        advance().unwrap(); // final
        advance().unwrap(); // published
        // Everyone taking part sees the results; the Excel export is the page's table.
        let page = app
            .get(&format!("/evaluations/{id}/results"), &cookie)
            .await
            .text();
        assert!(
            page.contains(r#"<td class="num"><strong>9</strong></td><td>不合格</td>"#),
            "4 + 5 points: {page}"
        );
        let x = xlsx_text(
            &app.get(&format!("/evaluations/{id}/results.xlsx"), &cookie)
                .await
                .body,
        );
        assert!(
            x.contains("市直部门\t1\tnn教育局\t9\t0\t0\t9\t不合格\t"),
            "{x}"
        );
        let notice = app
            .get(&format!("/evaluations/{id}/notice"), &cookie)
            .await
            .text();
        assert!(
            notice.contains("关于2026年度考评结果的通报") && notice.contains("nn教育局"),
            "{notice}"
        );
        // A correction after publication keeps the old value.
        let r = app
            .post(
                &format!("/evaluations/{id}/corrections"),
                &org_cookie,
                &[
                    ("_csrf", &org_csrf),
                    ("unit", &unit.to_string()),
                    ("criterion", &crits[1].to_string()),
                    ("points", "6"),
                    ("reason", "核验记录误录"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app
            .get(&format!("/evaluations/{id}/results"), &org_cookie)
            .await
            .text();
        assert!(
            page.contains(r#"<td class="num">5</td><td class="num">6</td><td>核验记录误录</td>"#),
            "{page}"
        );
        assert!(page.contains("<strong>10</strong>"), "{page}");
        let (st, r) = app
            .api_get(
                &format!("/api/v1/evaluations/{id}/results"),
                "nn-unit-reporter",
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        assert_eq!(
            (
                r[0]["rank"].as_i64(),
                r[0]["total"].as_f64(),
                r[0]["grade"].as_str()
            ),
            (Some(1), Some(10.0), Some("不合格"))
        );
        let (st, d) = app
            .api_get(&format!("/api/v1/evaluations/{id}"), "nn-unit-reporter")
            .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(
            (
                d["scheme"]["stage"].as_str(),
                d["indicators"].as_array().unwrap().len(),
                d["units"].as_array().unwrap().len()
            ),
            (Some("published"), 4, 1)
        );
        // The organiser's analysis: grades per category, criteria weakest first.
        let analysis = app
            .get(&format!("/evaluations/{id}/analysis"), &org_cookie)
            .await
            .text();
        assert!(analysis.contains("<td>1.1.2 年度部署</td><td class=\"num\">6</td><td class=\"num\">6</td><td class=\"num\">6</td><td class=\"num\">100%</td>"), "{analysis}");
        assert!(
            analysis.contains("1 个单位，平均 10，最低 10，最高 10")
                && analysis.contains("暂无比较"),
            "{analysis}"
        );
        assert_eq!(
            app.get(&format!("/evaluations/{id}/analysis"), &cookie)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let (_, l) = app.api_get("/api/v1/evaluations", "nn-unit-reporter").await;
        assert_eq!(l.as_array().unwrap().len(), 1, "{l}");
        // Next year's copy compares each unit with this year's published total.
        let r = app
            .post(
                &format!("/evaluations/{id}/copy"),
                &org_cookie,
                &[
                    ("_csrf", &org_csrf),
                    ("year", "2027"),
                    ("name", "2027年度考评"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let next = r.location().split('?').next().unwrap().to_string();
        let analysis = app
            .get(&format!("{next}/analysis"), &org_cookie)
            .await
            .text();
        let years = analysis
            .split("id=\"eval-years\"")
            .nth(1)
            .unwrap_or_default();
        assert!(
            years.contains("<th>2026</th>")
                && years.contains(
                    "<td class=\"num\">10</td><td class=\"num\">0</td><td class=\"num\">-10</td>"
                ),
            "{analysis}"
        );
    });
});
