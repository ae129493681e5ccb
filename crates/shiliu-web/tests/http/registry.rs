//! The register: pages and API, declarations, statistics that withhold small cells, the home side, needs surveys, imports.

use crate::disclosure::{SeenPage, hukou_rest_recoverable, recoverable, seen_page};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shiliu_db::org::{self};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_db::{audit, both_engines};
use shiliu_domain::org::RegionInput;
use shiliu_domain::roles::Role;
use shiliu_web::{AppState, WebConfig};
use tower::ServiceExt;

use crate::common::*;

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
