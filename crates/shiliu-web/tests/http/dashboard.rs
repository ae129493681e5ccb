//! The leaders' dashboard: every place below appears, its figures are those of the modules'
//! statistics, the drill-down goes city → county → township, and a caller sees only their
//! own scope's places.

use axum::http::StatusCode;
use calamine::Data;
use shiliu_db::both_engines;
use shiliu_db::scope::Scope;
use shiliu_db::testing::TestDb;
use shiliu_domain::roles::Role;

use crate::common::*;

/// Two cities with a request and a registered person each, and a leader of the province.
fn province(t: TestDb) -> App {
    let app = App::new(t);
    app.t
        .db
        .write_blocking(|c| {
            seed_city(c, "450100", "nn", "x");
            seed_city(c, "450200", "lz", "x");
            let gx = shiliu_db::org::get_region_by_code(c, &Scope::everything(), "450000")?;
            user(c, "gx-leader", Role::Leader, &gx, vec![], "x");
            Ok(())
        })
        .unwrap();
    app
}

/// The names of the places a board's table ranks, in its order.
fn ranked(html: &str) -> Vec<String> {
    let table = html.split("class=\"ranked\"").nth(1).unwrap_or_default();
    let body = table.split("<tbody>").nth(1).unwrap_or_default();
    let body = body.split("</tbody>").next().unwrap_or_default();
    body.split("<th scope=\"row\"><a href=\"")
        .skip(1)
        .filter_map(|row| Some(row.split_once("\">")?.1.split_once('<')?.0.to_string()))
        .collect()
}

/// A sheet's rows as (first cell's text, the rest).
fn rows(bytes: &[u8]) -> Vec<(String, Vec<Data>)> {
    xlsx_cells(bytes)
        .into_iter()
        .map(|r| (r[0].to_string(), r[1..].to_vec()))
        .collect()
}

both_engines!(
    a_leader_lands_on_the_board_and_sees_every_city_then_a_citys_counties_then_a_countys_townships,
    |t: TestDb| {
        let app = province(t);
        block_on(async {
            let (s, _) = app.session("gx-leader");
            let home = app.get("/", &s).await;
            assert_eq!(home.status, StatusCode::SEE_OTHER);
            assert_eq!(home.location(), "/dashboard");
            let board = app.get("/dashboard", &s).await;
            assert_eq!(board.status, StatusCode::OK);
            let html = board.text();
            let cities: Vec<&str> = shiliu_domain::divisions::guangxi()
                .filter(|d| d.level == shiliu_domain::divisions::DivisionLevel::City)
                .map(|d| d.name)
                .collect();
            assert_eq!(cities.len(), 14);
            let mut listed = ranked(&html);
            assert_eq!(listed.len(), 14, "{listed:?}");
            listed.sort();
            let mut want: Vec<String> = cities.iter().map(ToString::to_string).collect();
            want.sort();
            assert_eq!(listed, want, "every city, those without requests too");
            assert_eq!(
                html.matches("data-code=\"45").count(),
                14,
                "14 cities on the map"
            );
            assert!(html.contains("示意图"));
            // 柳州市: its counties on the map and in the table, the province in the trail.
            let lz = app.get("/dashboard?region=450200", &s).await.text();
            assert_eq!(ranked(&lz).len(), 10, "{:?}", ranked(&lz));
            assert!(ranked(&lz).contains(&"三江侗族自治县".to_string()));
            assert_eq!(lz.matches("data-code=\"4502").count(), 10);
            assert!(lz.contains("广西壮族自治区</a> › <span aria-current=\"page\">柳州市"));
            // 三江: its townships, ranked, with no map.
            let sj = app.get("/dashboard?region=450226", &s).await.text();
            let towns = shiliu_domain::divisions::children("450226").count();
            assert!(towns > 10);
            assert_eq!(ranked(&sj).len(), towns);
            assert!(!sj.contains("data-code="));
            // Each measure may be chosen; an unknown one, a month out of order, an unknown
            // region are refused by name.
            for m in shiliu_domain::dashboard::Measure::ALL {
                let r = app
                    .get(&format!("/dashboard?measure={}", m.as_str()), &s)
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{m:?}");
            }
            for bad in [
                "measure=score",
                "from=2026-05&to=2026-04",
                "from=2026-13",
                "region=999999",
            ] {
                let r = app.get(&format!("/dashboard?{bad}"), &s).await;
                assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            }
        });
    }
);

both_engines!(
    the_boards_figures_are_those_of_the_requests_and_register_statistics,
    |t: TestDb| {
        let app = province(t);
        block_on(async {
            let (s, _) = app.session("gx-leader");
            let year = shiliu_db::today().format("%Y").to_string();
            let q = format!("from={year}-01&to={year}-12");
            let board = rows(&app.get(&format!("/dashboard.xlsx?{q}"), &s).await.body);
            let stats = rows(
                &app.get(&format!("/requests/stats.xlsx?by=region&{q}"), &s)
                    .await
                    .body,
            );
            // Every city on both, zeros included, with the same received, and the same 办结率.
            let board_city = |name: &str| board.iter().find(|(n, _)| n == name).unwrap().1.clone();
            let mut compared = 0;
            for (name, cells) in stats.iter().skip(1).filter(|(n, _)| n.ends_with('市')) {
                let b = board_city(name);
                assert_eq!(b[0], cells[0], "{name}: received");
                assert_eq!(b[3], cells[2], "{name}: completion");
                compared += 1;
            }
            assert_eq!(compared, 14, "the statistics list every city too");
            let nn = board_city("南宁市");
            assert_eq!(nn[0], Data::Float(1.0), "南宁's one request");
            // The register: residents per city as the register's statistics count them.
            let headers =
                xlsx_cells(&app.get(&format!("/dashboard.xlsx?{q}"), &s).await.body).remove(0);
            let col = headers
                .iter()
                .position(|h| h.to_string().starts_with("登记在住流动人口"))
                .unwrap()
                - 1;
            let reg = xlsx_cells(&app.get(&format!("/registry/stats.xlsx?{q}"), &s).await.body);
            let mut seen = 0;
            for r in reg.iter().filter(|r| r[0] == "按区域") {
                assert_eq!(board_city(&r[1].to_string())[col], r[2], "{r:?}");
                seen += 1;
            }
            assert_eq!(seen, 14, "every city, those without people too");
            assert_eq!(board_city("桂林市")[col], Data::Float(0.0));
            assert_eq!(
                board_city("广西壮族自治区")[col],
                Data::Float(2.0),
                "the total"
            );
        });
    }
);

both_engines!(
    a_city_sees_only_its_own_board_and_one_without_the_modules_none,
    |t: TestDb| {
        let app = province(t);
        block_on(async {
            let (s, _) = app.session("nn-commission-staff");
            let own = app.get("/dashboard", &s).await.text();
            assert!(own.contains("南宁市 · 领导驾驶舱"), "{own}");
            assert!(ranked(&own).contains(&"西乡塘区".to_string()));
            assert!(!own.contains("柳州"), "no other city named");
            assert!(
                !own.contains("广西壮族自治区</a>"),
                "no trail above its scope"
            );
            let other = app.get("/dashboard?region=450200", &s).await;
            assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(!other.text().contains("柳北区"));
            let x = app.get("/dashboard.xlsx?region=450200", &s).await;
            assert_eq!(x.status, StatusCode::UNPROCESSABLE_ENTITY);
            // An evaluator reads neither requests nor the register: no board.
            let (e, _) = app.session("nn-evaluator");
            assert_eq!(
                app.get("/dashboard", &e).await.status,
                StatusCode::FORBIDDEN
            );
        });
    }
);

both_engines!(
    the_public_form_finds_the_county_from_the_residents_position,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let r = app
                .get("/r?latitude=24.40&longitude=109.59", "")
                .await
                .text();
            assert!(r.contains("按您的位置，您在鱼峰区"), "{r}");
            let town = shiliu_domain::divisions::children("450203").next().unwrap();
            assert!(r.contains(town.name), "鱼峰区's townships to pick from");
            let away = app
                .get("/r?latitude=21.03&longitude=105.85", "")
                .await
                .text();
            assert!(away.contains("不在广西范围内"), "{away}");
            let top = app.get("/r", "").await.text();
            assert!(top.contains("data-locate data-submit"));
        });
    }
);

both_engines!(
    the_api_gives_the_boards_figures_and_the_page_prints_and_goes_on_the_wall,
    |t: TestDb| {
        let app = province(t);
        block_on(async {
            let (s, _) = app.session("gx-leader");
            let year = shiliu_db::today().format("%Y").to_string();
            let q = format!("from={year}-01&to={year}-12");
            let (st, b) = app
                .api_get(&format!("/api/v1/dashboard?{q}"), "gx-leader")
                .await;
            assert_eq!(st, StatusCode::OK, "{b}");
            assert_eq!(b["place"]["code"], "450000");
            assert_eq!(b["places"].as_array().unwrap().len(), 14, "every city");
            assert_eq!(b["months"].as_array().unwrap().len(), 24);
            // Each city's figures are the sheet's, counts as integers and shares as fractions.
            let sheet = rows(&app.get(&format!("/dashboard.xlsx?{q}"), &s).await.body);
            for p in b["places"].as_array().unwrap() {
                let name = p["name"].as_str().unwrap();
                let cells = &sheet.iter().find(|(n, _)| n == name).unwrap().1;
                let fig = |m: &str| {
                    p["figures"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|f| f["measure"] == m)
                        .unwrap()
                        .clone()
                };
                assert_eq!(
                    Data::Float(fig("received")["now"].as_i64().unwrap() as f64),
                    cells[0],
                    "{name}"
                );
                assert_eq!(
                    Data::Float(fig("received")["previous"].as_i64().unwrap() as f64),
                    cells[1],
                    "{name}"
                );
            }
            let nn = b["places"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["code"] == "450100")
                .unwrap();
            assert_eq!(nn["figures"][0]["measure"], "received");
            assert_eq!(nn["figures"][0]["now"], 1);
            // The leader may read plans and evaluations: the parts are there, empty here.
            assert_eq!(b["plans"], serde_json::json!([]));
            assert_eq!(b["evaluations"], serde_json::json!([]));
            let (st, e) = app
                .api_get("/api/v1/dashboard?measure=score", "gx-leader")
                .await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(e["error"]["details"]["measure"].is_string(), "{e}");
            // The page offers printing (for a script to show) and the wall screen; the wall
            // has the same places, refreshes itself and has no menu.
            let page = app.get(&format!("/dashboard?{q}"), &s).await.text();
            assert!(page.contains("data-print hidden"), "{page}");
            assert!(page.contains("class=\"dashboard\""));
            let wall = app.get(&format!("/dashboard/wall?{q}"), &s).await;
            assert_eq!(wall.status, StatusCode::OK);
            let wall = wall.text();
            assert!(wall.contains("data-refresh=\"300\""), "{wall}");
            assert!(wall.contains("class=\"wall\""));
            assert!(!wall.contains("class=\"menu\""), "no menu on the wall");
            assert_eq!(ranked(&wall), ranked(&page));
            assert_eq!(
                wall.matches("data-code=\"45").count(),
                14,
                "14 cities on the wall's map"
            );
            assert!(wall.contains("每 5 分钟自动刷新"), "{wall}");
        });
    }
);

both_engines!(
    the_board_shows_a_plans_tasks_overdue_and_its_overdue_rectifications,
    |t: TestDb| {
        let app = App::new(t);
        let plan = app
            .t
            .db
            .write_blocking(|c| {
                let city = seed_city(c, "450100", "nn", "x");
                Ok(seed_plan(c, &city, "nn", &mut |_, _| {}))
            })
            .unwrap();
        block_on(async {
            let (s, _) = app.session("nn-leader");
            let page = app.get("/dashboard", &s).await.text();
            assert!(page.contains("任务推进"), "{page}");
            assert!(page.contains(&plan), "{page}");
            let (_, b) = app.api_get("/api/v1/dashboard", "nn-leader").await;
            let p = &b["plans"][0];
            assert_eq!(p["name"], plan.as_str(), "{b}");
            let standings = ["not_started", "in_progress", "done", "overdue", "lagging"];
            let pairs: i64 = standings.iter().map(|k| p[*k].as_i64().unwrap()).sum();
            assert_eq!(pairs, 1, "one task handed to one unit: {p}");
            // The plan's own board puts that pair under the same standing, and no other.
            for k in standings {
                let board = app
                    .get(&format!("/plans/{}/board?progress={k}", p["id"]), &s)
                    .await
                    .text();
                assert_eq!(board.contains("nn分解任务"), p[k] == 1, "{k}: {p}");
            }
        });
    }
);
