//! What every test of the router shares: the app under test, sessions, seeded cities and
//! fixtures.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shiliu_db::DbConnection;
use shiliu_db::accounts::{self, NewUser};
use shiliu_db::org::{self, Region};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_domain::accounts::Username;
use shiliu_domain::org::{RegionInput, SiteInput, UnitInput};
use shiliu_domain::roles::Role;
use shiliu_web::{AppState, WebConfig};
use tower::ServiceExt;

pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

pub(crate) struct App {
    pub(crate) router: Router,
    pub(crate) t: TestDb,
}

pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Resp {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Where a redirect points.
    pub(crate) fn location(&self) -> String {
        self.headers[header::LOCATION]
            .to_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl App {
    pub(crate) fn new(t: TestDb) -> Self {
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

    pub(crate) fn with(t: TestDb, config: WebConfig) -> Self {
        let state = AppState::new(t.db.clone(), config);
        Self {
            router: shiliu_web::router(state),
            t,
        }
    }

    pub(crate) async fn call(&self, req: Request<Body>) -> Resp {
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

    pub(crate) async fn get(&self, path: &str, cookie: &str) -> Resp {
        self.call(
            Request::get(path)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub(crate) async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Resp {
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
    pub(crate) async fn api_get(
        &self,
        path: &str,
        username: &str,
    ) -> (StatusCode, serde_json::Value) {
        self.api("GET", path, username, None).await
    }

    /// A call with an API token of `username` (all their role's permissions), JSON both ways.
    pub(crate) async fn api(
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
    pub(crate) fn session(&self, username: &str) -> (String, String) {
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

pub(crate) fn user(
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
pub(crate) struct CityData {
    pub(crate) region: i64,
    pub(crate) grid: i64,
    pub(crate) site: i64,
    pub(crate) unit: i64,
    pub(crate) user: i64,
    pub(crate) request: i64,
    pub(crate) person: i64,
    pub(crate) evaluation: i64,
    pub(crate) marks: Vec<String>,
}

/// The names of the regions one level below the region of `code`, in code order.
pub(crate) fn child_names(app: &App, code: &str) -> Vec<String> {
    let code = code.to_string();
    app.t
        .db
        .write_blocking(move |c| {
            let all = Scope::everything();
            let region = org::get_region_by_code(c, &all, &code)?;
            Ok(org::children(c, &all, region.id, false)?
                .into_iter()
                .map(|r| r.name)
                .collect())
        })
        .unwrap()
}

pub(crate) fn seed_city(c: &mut DbConnection, code: &str, tag: &str, hash: &str) -> CityData {
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

/// The cells of a workbook's first sheet, with their types (a number Excel can sum is a
/// `Float`, a day or a moment a `DateTime`).
pub(crate) fn xlsx_cells(bytes: &[u8]) -> Vec<Vec<calamine::Data>> {
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    range.rows().map(<[calamine::Data]>::to_vec).collect()
}

/// The home page's HTML for a session.
pub(crate) async fn home_of(app: &App, cookie: &str) -> String {
    app.get("/", cookie).await.text()
}

pub(crate) fn xlsx_text(bytes: &[u8]) -> String {
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

/// Every kind of record a route's path may name, of one city, for the walk of every route.
/// Each holds something no other city's page may show (`CityData::marks`).
pub(crate) struct CityRecords {
    pub(crate) city: CityData,
    /// Path parameter kind → the record's id (or code) in this city.
    pub(crate) ids: std::collections::HashMap<&'static str, String>,
}

/// One city's records of every kind a route names, made as the system (the pages are not
/// under test here).
pub(crate) fn seed_every_kind(
    c: &mut DbConnection,
    vault: &shiliu_db::registry::Vault,
    city: CityData,
    tag: &str,
) -> CityRecords {
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
    seed_request_records(c, &city, tag, &mut put);
    seed_register_records(c, vault, &city, tag, &mut put);
    seed_evaluation_records(c, &city, tag, &mut put);
    seed_settings_records(c, &city, tag, &mut put);
    let mut city = city;
    city.marks.push(seed_plan(c, &city, tag, &mut put));
    city.marks.push(seed_activity(c, &city, tag, &mut put));
    city.marks.extend(seed_council(c, &city, tag, &mut put));
    CityRecords { city, ids }
}

/// A work plan of the city in force over this year and the next, its one task handed to the
/// city's unit, and that unit's report on it; the plan's name, which no other city's page may
/// show.
pub(crate) fn seed_plan(c: &mut DbConnection, city: &CityData, tag: &str, put: &mut Put) -> String {
    use chrono::Datelike;
    use shiliu_db::tasks;
    use shiliu_domain::tasks::inspections::{FindingInput, InspectionFields, InspectionInput};
    use shiliu_domain::tasks::{PlanInput, PlanStatus, ReportInput, SheetRow, place_sheet};
    let year = shiliu_db::today().year();
    let sys = shiliu_db::scope::Can::check(&Actor::system("test")).unwrap();
    let all = Scope::everything();
    let unit = org::get_unit(c, &all, city.unit).unwrap();
    let name = format!("{tag}工作方案");
    let region = org::get_region(c, &all, city.region).unwrap();
    let city_id: i64 = region.path.split('/').nth(2).unwrap().parse().unwrap();
    let plan = tasks::create_plan(
        c,
        &sys,
        city_id,
        &PlanInput::parse(
            &name,
            &format!("{tag}创建办"),
            &format!("{year}-01-01"),
            &format!("{}-12-31", year + 1),
            &[],
        )
        .unwrap(),
    )
    .unwrap();
    let row = SheetRow {
        seq: "1".into(),
        task: format!("{tag}分解任务"),
        lead_units: unit.name,
        due: format!("{}年6月底前", year + 1),
        ..Default::default()
    };
    let placed = place_sheet(&[(2, row)]).unwrap();
    let tree = tasks::replace_tree(c, &sys, plan.id, 1, &placed)
        .unwrap()
        .unwrap();
    tasks::set_status(c, &sys, plan.id, 2, PlanStatus::Active).unwrap();
    put("plan", plan.id.to_string());
    let item = tree.nodes[0].item.id;
    put("task_item", item.to_string());
    // The unit's reporter reports on it.
    let reporter = accounts::create_user(
        c,
        &shiliu_db::scope::Can::check(&Actor::system("test")).unwrap(),
        &NewUser {
            username: Username::parse(&format!("{tag}-plan-reporter")).unwrap(),
            display_name: format!("用户{tag}-plan-reporter"),
            password_hash: "x".into(),
            role: Role::UnitReporter,
            region_id: city_id,
            unit_id: Some(city.unit),
            site_id: None,
            phone: None,
            grid_ids: vec![],
        },
    )
    .unwrap();
    let reporter =
        shiliu_db::scope::Can::check(&accounts::acting_as(c, &reporter, "test").unwrap()).unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(format!("{tag}台账照片").as_bytes());
    let file = shiliu_domain::files::FileInput::parse(
        "files",
        "ledger.png",
        png,
        shiliu_domain::files::REQUEST_FILES,
    )
    .unwrap();
    let report = tasks::ledger::submit(
        c,
        &reporter,
        plan.id,
        item,
        &ReportInput {
            period: String::new(),
            progress: format!("{tag}台账进展"),
            figure: None,
        },
        &[file],
    )
    .unwrap();
    put("task_report", report.id.to_string());
    let p = tasks::get_plan(c, &all, plan.id).unwrap();
    let files = tasks::ledger::files_of(c, &p, item).unwrap();
    put("task_file", files[&report.id][0].id.to_string());
    // An inspection found a problem at the unit, which reported it rectified.
    let today = shiliu_db::today().to_string();
    let inspection = tasks::inspections::create(
        c,
        &sys,
        plan.id,
        &InspectionInput::parse(
            InspectionFields {
                title: &format!("{tag}巡回督导"),
                kind: "tour",
                team: &format!("{tag}督查组"),
                starts_on: &today,
                ends_on: &today,
                notes: "",
            },
            &[city.unit.to_string()],
            (p.starts_on, p.ends_on),
        )
        .unwrap(),
    )
    .unwrap();
    put("inspection", inspection.id.to_string());
    let finding = tasks::inspections::add_finding(
        c,
        &sys,
        (plan.id, inspection.id),
        &FindingInput {
            unit_id: city.unit,
            problem: format!("{tag}督查问题"),
            measures: None,
            due_on: p.ends_on,
        },
    )
    .unwrap();
    tasks::inspections::report(
        c,
        &reporter,
        (plan.id, finding.id),
        1,
        &format!("{tag}整改"),
    )
    .unwrap();
    put("finding", finding.id.to_string());
    // What was said about the task: a speech it carries out.
    let instruction = tasks::instructions::create(
        c,
        &sys,
        plan.id,
        &shiliu_domain::tasks::instructions::InstructionInput {
            source: shiliu_domain::tasks::instructions::InstructionSource::Speech,
            title: format!("{tag}领导讲话"),
            reference: None,
            issuer: None,
            said_on: shiliu_db::today(),
            body: format!("{tag}讲话要点"),
            items: vec![item],
        },
    )
    .unwrap();
    put("instruction", instruction.id.to_string());
    name
}

/// A record's id under its kind's name, for the walk's paths.
pub(crate) type Put<'a> = dyn FnMut(&'static str, String) + 'a;

/// The request handled so far that co-handling may be asked; a file, a dispute, a case.
fn seed_request_records(c: &mut DbConnection, city: &CityData, tag: &str, put: &mut Put) {
    use shiliu_db::{casework, requests};
    use shiliu_domain::casework::{DisputeInput, LegalAidInput};
    use shiliu_domain::requests::{Action, ActionInput, CohandlingInput};
    let sys = Actor::system("test");
    let all = Scope::everything();
    let r = requests::get(c, &all, city.request).unwrap();
    put("request_code", r.code.clone());
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
    put("message", seed_message(c, &r, tag).to_string());
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
}

/// The register: a declaration, a request for assistance, a survey with a need.
fn seed_register_records(
    c: &mut DbConnection,
    vault: &shiliu_db::registry::Vault,
    city: &CityData,
    tag: &str,
    put: &mut Put,
) {
    use shiliu_db::registry;
    let sys = Actor::system("test");
    let all = Scope::everything();
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
}

/// The evaluation: a category, an indicator, a team.
fn seed_evaluation_records(c: &mut DbConnection, city: &CityData, tag: &str, put: &mut Put) {
    use shiliu_db::evaluation;
    let sys = Actor::system("test");
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
}

/// An in-app message about the city's request in its commission staff's inbox (as an
/// escalation leaves one); its id.
fn seed_message(c: &mut DbConnection, r: &shiliu_db::requests::Request, tag: &str) -> i64 {
    use diesel::prelude::*;
    use shiliu_db::messages::{DELIVERED, IN_APP, Message};
    let staff = accounts::find_by_username(c, &format!("{tag}-commission-staff"))
        .unwrap()
        .unwrap();
    let at = shiliu_db::now();
    let m = Message {
        id: shiliu_db::ids::new_id(),
        channel: IN_APP.into(),
        kind: "request.escalated".into(),
        user_id: Some(staff.id),
        phone: None,
        request_id: Some(r.id),
        region_path: r.region_path.clone(),
        params: serde_json::json!({"code": r.code}).to_string(),
        status: DELIVERED.into(),
        attempts: 0,
        due_at: at,
        claimed_until: None,
        sent_at: None,
        read_at: None,
        created_at: at,
    };
    diesel::insert_into(shiliu_db::schema::messages::table)
        .values(&m)
        .execute(c)
        .unwrap();
    m.id
}

/// A routing rule of the city's, and a token of its staff.
fn seed_settings_records(c: &mut DbConnection, city: &CityData, tag: &str, put: &mut Put) {
    use shiliu_db::requests::routing;
    let sys = Actor::system("test");
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
}

/// A JPEG of a few bytes (SOI, SOS, data, EOI), enough for the checks on its kind.
pub(crate) const TINY_JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 1, 2, 3, 4, 0xFF, 0xD9];

/// An activity at the city's grid organised by the city's unit, with a photo, and the unit's
/// target for this year; the activity's title, which no other city's page may show.
pub(crate) fn seed_activity(
    c: &mut DbConnection,
    city: &CityData,
    tag: &str,
    put: &mut Put,
) -> String {
    use chrono::Datelike;
    use shiliu_db::activities::{self, targets};
    use shiliu_domain::activities::{ActivityFields, ActivityInput, Target};
    let all = Scope::everything();
    let sys = shiliu_db::scope::Can::check(&Actor::system("test")).unwrap();
    let grid = org::get_region(c, &all, city.grid).unwrap();
    let title = format!("{tag}民族团结宣讲");
    let unit = city.unit.to_string();
    let today = shiliu_db::today();
    let input = ActivityInput::parse(
        &ActivityFields {
            form: "activity",
            title: &title,
            kind: "1",
            venue: "communities",
            organiser_unit: &unit,
            region: &grid.code,
            held_on: &today.to_string(),
            participants: "40",
            materials: vec![("21", "100")],
            ..ActivityFields::default()
        },
        today,
    )
    .unwrap();
    let photo = shiliu_domain::files::FileInput::parse(
        "photos",
        "现场.jpg",
        TINY_JPEG.to_vec(),
        activities::PHOTOS,
    )
    .unwrap();
    let a = activities::record(c, &sys, &input, &[photo]).unwrap();
    let photo = activities::photos(c, &a).unwrap().remove(0);
    targets::set_target(
        c,
        &shiliu_db::scope::Can::check(&Actor::system("test")).unwrap(),
        city.unit,
        today.year(),
        None,
        &Target::parse("12", "2", true).unwrap(),
    )
    .unwrap();
    put("activity", a.id.to_string());
    put("activity_photo", photo.id.to_string());
    // A training with its trainee list, the trainee named for the city.
    let training = ActivityInput::parse(
        &ActivityFields {
            form: "training",
            title: &format!("{tag}网格员培训班"),
            organiser_unit: &unit,
            region: &grid.code,
            held_on: &today.to_string(),
            participants: "20",
            hours: "3",
            audience: "41",
            ..ActivityFields::default()
        },
        today,
    )
    .unwrap();
    let training = activities::record(c, &sys, &training, &[]).unwrap();
    let trainee =
        shiliu_domain::activities::TraineeInput::parse(&format!("{tag}学员"), "", "", "").unwrap();
    activities::trainees::add(c, &sys, &training, &[trainee]).unwrap();
    let trainee = activities::trainees::of(c, &training).unwrap().remove(0);
    put("training", training.id.to_string());
    put("activity_trainee", trainee.id.to_string());
    title
}

/// A council at the community of the city's grid, with a member, a meeting held today that
/// decided one item, and an item waiting; the council's name and the items' words, which no
/// other city's page may show.
pub(crate) fn seed_council(
    c: &mut DbConnection,
    city: &CityData,
    tag: &str,
    put: &mut Put,
) -> Vec<String> {
    use shiliu_db::councils::{self, items, meetings};
    use shiliu_domain::councils::{
        Channel, CouncilInput, Decision, ItemInput, MeetingInput, MemberInput,
    };
    let all = Scope::everything();
    let sys = shiliu_db::scope::Can::check(&Actor::system("test")).unwrap();
    let grid = org::get_region(c, &all, city.grid).unwrap();
    let community = org::get_region(c, &all, grid.parent_id.unwrap()).unwrap();
    let name = format!("{tag}逢四说事会");
    let council = councils::create(
        c,
        &sys,
        &CouncilInput::parse(&name, &community.code, ("fourths", ""), "议事厅", "").unwrap(),
    )
    .unwrap();
    let member = councils::add_member(
        c,
        &sys,
        &council,
        &MemberInput::parse("召集人甲", "convener", "", "").unwrap(),
    )
    .unwrap();
    let today = shiliu_db::today();
    let meeting = meetings::record(
        c,
        &sys,
        &council,
        &MeetingInput::parse(&today.to_string(), &[member.id.to_string()], "3", "", today).unwrap(),
    )
    .unwrap();
    let decided_text = format!("{tag}楼道灯坏了");
    let raise = shiliu_db::scope::Can::check(&Actor::system("test")).unwrap();
    let decided = items::raise(
        c,
        &raise,
        &council,
        &ItemInput::parse(Channel::InPerson, &decided_text, "", "", false).unwrap(),
    )
    .unwrap();
    items::decide(
        c,
        &sys,
        &council,
        &meeting,
        (decided.id, decided.version),
        &Decision::parse("更换灯泡", "社区主任", &today.to_string(), today).unwrap(),
    )
    .unwrap();
    let waiting_text = format!("{tag}乱停车");
    let waiting = items::raise(
        c,
        &raise,
        &council,
        &ItemInput::parse(Channel::GridWorker, &waiting_text, "", "", false).unwrap(),
    )
    .unwrap();
    put("council", council.id.to_string());
    put("council_member", member.id.to_string());
    put("council_meeting", meeting.id.to_string());
    put("council_item", waiting.id.to_string());
    put("council_decided_item", decided.id.to_string());
    put("council_code", council.public_code.clone());
    vec![name, decided_text, waiting_text]
}

/// The record a path parameter names, by the segment before it (and the route's section):
/// (kind, whether it is the other city's own — else the platform's, shared by every city).
pub(crate) fn param_kind(path: &str, param: &str) -> Option<(&'static str, bool)> {
    let segments: Vec<&str> = path.split('/').collect();
    let at = segments.iter().position(|s| *s == format!("{{{param}}}"))?;
    let before = segments[at - 1];
    let settings = path.starts_with("/settings/");
    Some(match (before, param) {
        ("regions", _) => ("region", true),
        ("sites", _) => ("site", true),
        // A unit's sheet in an evaluation, beside the unit itself (organisation data).
        ("units", "unit") if path.contains("/evaluations/") => ("eval_unit", true),
        ("units", "unit" | "id") | ("progress", "unit") => ("unit", true),
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
        ("plans", _) => ("plan", true),
        ("tasks", "item") => ("task_item", true),
        ("reports", "report") => ("task_report", true),
        ("files", "upload") => ("task_file", true),
        ("inspections", _) => ("inspection", true),
        ("findings", _) => ("finding", true),
        ("instructions", _) => ("instruction", true),
        ("activities", "id") if path.contains("/trainees") => ("training", true),
        ("activities", "id") => ("activity", true),
        ("trainees", "trainee") => ("activity_trainee", true),
        ("photos", "photo") => ("activity_photo", true),
        ("activity-lists", "id") => ("activity_term", false),
        ("councils", "id") => ("council", true),
        ("members", "member") => ("council_member", true),
        ("meetings", "meeting") => ("council_meeting", true),
        ("items", "item") if path.ends_with("/done") => ("council_decided_item", true),
        ("items", "item") => ("council_item", true),
        ("c", "code") => ("council_code", true),
        ("categories", _) if settings => ("category", false),
        ("categories", _) => ("eval_category", true),
        ("indicators", _) => ("indicator", true),
        ("teams", _) => ("team", true),
        ("questions", _) => ("question", false),
        ("templates", _) => ("template", false),
        ("routing", _) => ("rule", true),
        ("messages", _) => ("message", true),
        ("r", "code") => ("request_code", true),
        ("d", "code") => ("declaration_code", true),
        // Records with no other city's instance to aim at: an import job lives in one node's
        // memory, and an evidence file or a linked ledger report needs a scheme in
        // self-assessment (the evaluation's own tests aim at both).
        ("jobs", _) => ("import_job", true),
        ("evidence", _) => ("evidence", true),
        ("ledger", "link") => ("eval_ledger_link", true),
        (_, "what" | "record") => ("record_kind", false),
        (_, "file") => ("open311_file", false),
        _ => return None,
    })
}

/// A route's path with its parameters filled in with the other city's records (and, for the
/// platform's records, any one of them); and the kinds of the other city's records it names.
pub(crate) fn aim(
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
            "import_job" | "evidence" | "eval_ledger_link" => "1".to_string(),
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

/// Every route as every role of the city `tag`, aimed at `theirs`: reads and writes, pages,
/// exports and the API.
pub(crate) async fn walk(
    app: &App,
    tag: &str,
    (theirs, code): (&CityRecords, &str),
    shared: &std::collections::HashMap<&'static str, String>,
    routes: &[&'static str],
) {
    // Pages reached by a code are the code holder's by design (the resident's tracking code, a
    // council's public page, Open311's service_request_id): they are walked for errors, not for
    // what they show.
    let by_code = |p: &str| {
        ["/r/", "/d/", "/c/", "/open311/"]
            .iter()
            .any(|s| p.starts_with(s))
    };
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
pub(crate) fn scheme_in_self_assessment(
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
pub(crate) async fn write(
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
pub(crate) async fn walk_siblings(
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

/// A workbook of these rows. The same rows make the same bytes: the creation time (which
/// `rust_xlsxwriter` sets to the current second) is fixed, so a file made twice is the same file
/// to an import that recognises files by their hash.
pub(crate) fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let made = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 1, 1).unwrap();
    wb.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&made));
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

impl App {
    pub(crate) async fn upload(
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
    pub(crate) async fn multipart(
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
pub(crate) fn spreadsheet_bomb(mb: usize) -> Vec<u8> {
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

/// Same-site links of a page (`href="/…"`), without the ones that change state or leave HTML.
pub(crate) fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .map(|h| h.replace("&amp;", "&"))
        .filter(|h| !h.starts_with("/static/") && !h.starts_with("/lang") && !h.contains(".xlsx"))
        .collect()
}

/// A system administrator of the whole province (广西壮族自治区), who holds the platform's
/// settings.
pub(crate) fn province_admin(c: &mut DbConnection) -> i64 {
    let gx = org::get_region_by_code(c, &Scope::everything(), "450000").unwrap();
    user(c, "gx-admin", Role::SystemAdmin, &gx, vec![], "x")
}

pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR photo";
