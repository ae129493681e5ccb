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

// ---- The register through its pages and the API ----

/// Nanning and Liuzhou seeded; Nanning's grid's code and a valid ID number nobody holds yet.
struct Reg {
    nn: CityData,
    grid_code: String,
    number: String,
}

fn two_cities(t: TestDb) -> (App, Reg) {
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| {
            seed_city(c, "450200", "lz", "x");
            Ok(seed_city(c, "450100", "nn", "x"))
        })
        .unwrap();
    let grid = nn.grid;
    let grid_code = app
        .t
        .db
        .write_blocking(move |c| Ok(org::get_region(c, &Scope::everything(), grid)?.code))
        .unwrap();
    let number = {
        let first = "52263319950304202";
        format!(
            "{first}{}",
            shiliu_domain::id_number::check_char(first.as_bytes())
        )
    };
    (
        app,
        Reg {
            nn,
            grid_code,
            number,
        },
    )
}

/// The registration form, filled in for 韦小红 in the grid.
fn person_form<'a>(r: &'a Reg, csrf: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("_csrf", csrf),
        ("name", "韦小红"),
        ("id_number", r.number.as_str()),
        ("people", "12"),
        ("mobile", "13807710000"),
        ("region_code", r.grid_code.as_str()),
        ("address", "衡阳路 12 号"),
        ("arrived_on", "2024-03-01"),
        ("employment", "flexible"),
        ("tags", "hardship"),
        ("tags", "relocated"),
        ("consents", "registration"),
        ("consents", "linkage"),
    ]
}

/// 韦小红 registered by the grid worker; the record's page and id.
async fn registered(app: &App, reg: &Reg) -> (String, i64) {
    let (cookie, csrf) = app.session("nn-grid-worker");
    let r = app
        .post("/registry", &cookie, &person_form(reg, &csrf))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let to = r.location();
    let id: i64 = to
        .trim_start_matches("/registry/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (to, id)
}

/// The correction that moves 韦小红's address on 2025-06-01 (the number never sent).
fn moved_form<'a>(reg: &'a Reg, csrf: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut moved: Vec<(&str, &str)> = person_form(reg, csrf)
        .into_iter()
        .filter(|(k, _)| *k != "id_number" && *k != "address")
        .collect();
    moved.extend([
        ("address", "秀灵路 8 号"),
        ("version", "1"),
        ("moved_on", "2025-06-01"),
        ("birth_date", "1995-03-04"),
        ("sex", "female"),
        ("hukou", "522633"),
    ]);
    moved
}

/// 韦小红 registered and her address corrected; her id.
async fn moved(app: &App, reg: &Reg) -> i64 {
    let (_, id) = registered(app, reg).await;
    let (cookie, csrf) = app.session("nn-grid-worker");
    let r = app
        .post(&format!("/registry/{id}"), &cookie, &moved_form(reg, &csrf))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    id
}

async fn move_out(app: &App, id: i64) -> Resp {
    let (cookie, csrf) = app.session("nn-grid-worker");
    app.post(
        &format!("/registry/{id}/move-out"),
        &cookie,
        &[
            ("_csrf", &csrf),
            ("version", "2"),
            ("moved_on", "2026-01-02"),
        ],
    )
    .await
}

/// 韦小红 registered, moved, and moved out on 2026-01-02; her id.
async fn moved_out(app: &App, reg: &Reg) -> i64 {
    let id = moved(app, reg).await;
    let r = move_out(app, id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    id
}

/// The audited actions on the person `entity_id`, oldest first.
fn audit_actions(app: &App, entity_id: i64) -> Vec<String> {
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
}

both_engines!(
    a_grid_worker_registers_in_one_of_their_grids,
    |t: TestDb| {
        let (app, _) = two_cities(t);
        block_on(async {
            let (cookie, _) = app.session("nn-grid-worker");
            let form = app.get("/registry/new", &cookie).await;
            assert_eq!(form.status, StatusCode::OK);
            assert!(
                form.text().contains("nn网格"),
                "a grid worker picks one of their grids"
            );
        });
    }
);

both_engines!(
    bad_input_names_each_field_with_its_reason_in_chinese,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let (cookie, csrf) = app.session("nn-grid-worker");
            let number = &reg.number;
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
                        ("region_code", &reg.grid_code),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = r.text();
            for part in ["身份证号码", "校验码", "民族", "火星族", "地址", "同意"]
            {
                assert!(text.contains(part), "{part} in {text}");
            }
        });
    }
);

both_engines!(
    a_registered_persons_page_shows_the_number_masked,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let (to, _) = registered(&app, &reg).await;
            let (cookie, _) = app.session("nn-grid-worker");
            let page = app.get(&to, &cookie).await;
            let text = page.text();
            assert_eq!(page.status, StatusCode::OK);
            assert!(text.contains("5226**********"), "masked: {text}");
            assert!(!text.contains(&reg.number), "never whole by default");
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
        });
    }
);

both_engines!(
    the_whole_number_is_shown_only_when_asked_and_audited,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let (to, id) = registered(&app, &reg).await;
            let (cookie, csrf) = app.session("nn-grid-worker");
            app.get(&to, &cookie).await;
            let shown = app
                .post(
                    &format!("/registry/{id}/reveal"),
                    &cookie,
                    &[("_csrf", &csrf)],
                )
                .await;
            assert!(shown.text().contains(&reg.number));
            assert_eq!(
                audit_actions(&app, id),
                [
                    "person.register",
                    "person.view",
                    "person.view",
                    "person.reveal_id"
                ]
            );
        });
    }
);

both_engines!(
    the_same_number_again_is_refused_naming_the_record,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            registered(&app, &reg).await;
            let (cookie, csrf) = app.session("nn-grid-worker");
            let r = app
                .post("/registry", &cookie, &person_form(&reg, &csrf))
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("已经登记"));
        });
    }
);

both_engines!(
    a_look_up_by_number_is_posted_and_lands_on_the_person,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let (_, id) = registered(&app, &reg).await;
            let (cookie, csrf) = app.session("nn-grid-worker");
            let r = app
                .post(
                    "/registry/lookup",
                    &cookie,
                    &[("_csrf", &csrf), ("id_number", &reg.number)],
                )
                .await;
            assert_eq!(r.location(), format!("/registry/{id}"));
        });
    }
);

both_engines!(a_look_up_of_an_unknown_number_says_so, |t: TestDb| {
    let (app, reg) = two_cities(t);
    block_on(async {
        registered(&app, &reg).await;
        let (cookie, csrf) = app.session("nn-grid-worker");
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
    });
});

both_engines!(
    a_leader_sees_the_record_but_not_the_whole_number,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let (_, id) = registered(&app, &reg).await;
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
        });
    }
);

both_engines!(another_city_sees_nothing_of_the_record, |t: TestDb| {
    let (app, reg) = two_cities(t);
    block_on(async {
        let (_, id) = registered(&app, &reg).await;
        let (far, _) = app.session("lz-commission-staff");
        assert_eq!(
            app.get(&format!("/registry/{id}"), &far).await.status,
            StatusCode::NOT_FOUND
        );
    });
});

both_engines!(the_correction_form_is_never_sent_the_number, |t: TestDb| {
    let (app, reg) = two_cities(t);
    block_on(async {
        let (_, id) = registered(&app, &reg).await;
        let (cookie, _) = app.session("nn-grid-worker");
        let edit = app.get(&format!("/registry/{id}/edit"), &cookie).await;
        assert!(!edit.text().contains(&reg.number));
    });
});

both_engines!(a_correction_from_a_stale_version_conflicts, |t: TestDb| {
    let (app, reg) = two_cities(t);
    block_on(async {
        let id = moved(&app, &reg).await;
        let (cookie, csrf) = app.session("nn-grid-worker");
        let stale = app
            .post(
                &format!("/registry/{id}"),
                &cookie,
                &moved_form(&reg, &csrf),
            )
            .await;
        assert_eq!(stale.status, StatusCode::CONFLICT);
    });
});

both_engines!(
    a_move_keeps_the_number_and_starts_a_new_residence_and_moving_out_ends_it,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let id = moved(&app, &reg).await;
            let r = move_out(&app, id).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let (cookie, _) = app.session("nn-grid-worker");
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
        });
    }
);

both_engines!(
    the_api_masks_the_number_in_lists_and_records,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let id = moved_out(&app, &reg).await;
            let (s, list) = app
                .api_get("/api/v1/persons?people=12", "nn-grid-worker")
                .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(list["items"][0]["id"], id);
            assert!(!list.to_string().contains(&reg.number));
            let (s, one) = app
                .api_get(&format!("/api/v1/persons/{id}"), "nn-township-staff")
                .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(one["residences"].as_array().unwrap().len(), 2);
            assert_eq!(one["tags"], serde_json::json!(["hardship", "relocated"]));
        });
    }
);

both_engines!(
    the_api_gives_the_whole_number_from_its_own_path_to_roles_that_may_see_it,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let id = moved_out(&app, &reg).await;
            let (s, _) = app
                .api_get(&format!("/api/v1/persons/{id}/id-number"), "nn-leader")
                .await;
            assert_eq!(s, StatusCode::FORBIDDEN);
            let (s, whole) = app
                .api_get(&format!("/api/v1/persons/{id}/id-number"), "nn-grid-worker")
                .await;
            assert_eq!(
                (s, whole["id_number"].as_str()),
                (StatusCode::OK, Some(reg.number.as_str()))
            );
        });
    }
);

both_engines!(
    the_api_looks_a_number_up_from_the_body_within_scope,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let id = moved_out(&app, &reg).await;
            let (s, found) = app
                .api(
                    "POST",
                    "/api/v1/persons/lookup",
                    "nn-commission-staff",
                    Some(serde_json::json!({"id_number": reg.number})),
                )
                .await;
            assert_eq!((s, found["id"].as_i64()), (StatusCode::OK, Some(id)));
            let (s, _) = app
                .api(
                    "POST",
                    "/api/v1/persons/lookup",
                    "lz-commission-staff",
                    Some(serde_json::json!({"id_number": reg.number})),
                )
                .await;
            assert_eq!(s, StatusCode::NOT_FOUND);
        });
    }
);

both_engines!(
    registering_through_the_api_names_field_errors_in_the_envelope,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let (s, err) = app
                .api(
                    "POST",
                    "/api/v1/persons",
                    "nn-grid-worker",
                    Some(serde_json::json!({"name": "", "region_code": reg.grid_code})),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
            for field in ["name", "people", "address", "consent"] {
                assert!(err["error"]["details"][field].is_string(), "{field}: {err}");
            }
        });
    }
);

both_engines!(
    an_api_duplicate_with_on_duplicate_update_moves_the_one_person_back_in,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let id = moved_out(&app, &reg).await;
            let (s, back) = app
                .api(
                    "POST",
                    "/api/v1/persons",
                    "nn-grid-worker",
                    Some(serde_json::json!({
                        "name": "韦小红", "id_number": reg.number, "people": "侗族", "region_code": reg.grid_code,
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
        });
    }
);

both_engines!(
    the_api_lists_the_residents_on_a_day_where_they_lived,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            moved_out(&app, &reg).await;
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
        });
    }
);

async fn leaders_export(app: &App) -> Resp {
    let (leader, _) = app.session("nn-leader");
    app.get("/registry/export.xlsx?people=12", &leader).await
}

both_engines!(
    a_leaders_export_is_masked_and_the_whole_one_refused,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            registered(&app, &reg).await;
            let x = leaders_export(&app).await;
            assert_eq!(x.status, StatusCode::OK);
            let sheet = xlsx_text(&x.body);
            assert!(
                sheet.contains("韦小红") && sheet.contains("5226**********"),
                "{sheet}"
            );
            assert!(
                !sheet.contains(&reg.number)
                    && !sheet.contains("13807710000")
                    && sheet.contains("138****0000")
            );
            let (leader, _) = app.session("nn-leader");
            assert_eq!(
                app.get("/registry/export.xlsx?whole=1", &leader)
                    .await
                    .status,
                StatusCode::FORBIDDEN
            );
        });
    }
);

both_engines!(
    a_role_that_may_see_them_exports_whole_numbers_and_each_export_is_audited,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            registered(&app, &reg).await;
            leaders_export(&app).await;
            let (cookie, _) = app.session("nn-grid-worker");
            let x = app
                .get("/registry/export.xlsx?people=12&whole=1", &cookie)
                .await;
            let sheet = xlsx_text(&x.body);
            assert!(
                sheet.contains(&reg.number) && sheet.contains("13807710000"),
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
            assert!(
                exports[0].contains("\"whole_id_numbers\":true")
                    && !exports[0].contains(&reg.number)
            );
            assert!(
                audit::verify(&mut app.t.db.conn().unwrap())
                    .unwrap()
                    .is_intact()
            );
        });
    }
);

// ---- A household's declaration, verified by the grid worker ----

/// The resident's CSRF cookie on the public declaration form.
const PRE: &str = "shiliu_csrf=resident-token-0123456789";

/// The declaration form: 韦小红 declaring herself, her son and a spouse with no details, in the
/// grid; without her mobile unless `mobile`.
fn declaration<'a>(reg: &'a Reg, grid: &'a str, mobile: bool) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("_csrf", "resident-token-0123456789"),
        ("region", grid),
        ("p0.name", "韦小红"),
        ("p0.id_number", reg.number.as_str()),
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
    if mobile {
        fields.push(("p0.mobile", "13807710000"));
    }
    fields
}

/// The declaration made; its status page.
async fn declared(app: &App, reg: &Reg) -> String {
    let grid = reg.nn.grid.to_string();
    let r = app.post("/d", PRE, &declaration(reg, &grid, true)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    r.location()
}

/// The first declaration in the grid worker's queue.
async fn first_in_queue(app: &App) -> i64 {
    let (cookie, _) = app.session("nn-grid-worker");
    let queue = app.get("/registry/declarations", &cookie).await.text();
    queue
        .split("/registry/declarations/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The grid worker's confirmation of declaration `id`, with a correction of the address.
async fn confirm(app: &App, reg: &Reg, id: i64) -> Resp {
    let (cookie, csrf) = app.session("nn-grid-worker");
    let confirm = [
        ("_csrf", csrf.as_str()),
        ("version", "1"),
        ("region_code", reg.grid_code.as_str()),
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
    app.post(
        &format!("/registry/declarations/{id}/confirm"),
        &cookie,
        &confirm,
    )
    .await
}

/// The declaration confirmed, then the same declared again: the second one's code and id.
async fn declared_again(app: &App, reg: &Reg) -> (String, i64) {
    declared(app, reg).await;
    let r = confirm(app, reg, first_in_queue(app).await).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let grid = reg.nn.grid.to_string();
    let r = app.post("/d", PRE, &declaration(reg, &grid, true)).await;
    let code = r
        .location()
        .trim_start_matches("/d/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    (code, first_in_queue(app).await)
}

both_engines!(
    the_register_lists_the_hukou_by_name_not_its_code,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            registered(&app, &reg).await;
            let (cookie, _) = app.session("nn-grid-worker");
            let text = app.get("/registry", &cookie).await.text();
            assert!(
                text.contains("<td>贵州省黔东南苗族侗族自治州从江县</td>"),
                "{text}"
            );
            assert!(!text.contains("<td>522633</td>"), "{text}");
        });
    }
);

both_engines!(
    the_hukou_filter_opens_the_cities_of_the_province_picked,
    |t: TestDb| {
        let (app, _) = two_cities(t);
        block_on(async {
            let (cookie, _) = app.session("nn-grid-worker");
            let text = app.get("/registry?hukou=52", &cookie).await.text();
            assert!(
                text.contains("<option value=\"52\" selected>贵州省</option>"),
                "{text}"
            );
            assert!(
                text.contains("<option value=\"5226\">黔东南苗族侗族自治州</option>"),
                "{text}"
            );
        });
    }
);

both_engines!(
    a_hukou_not_among_the_divisions_is_refused_and_named,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let (cookie, csrf) = app.session("nn-grid-worker");
            let mut form = person_form(&reg, &csrf);
            form.push(("hukou", "999999"));
            let r = app.post("/registry", &cookie, &form).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("户籍地：999999"), "{}", r.text());
        });
    }
);

both_engines!(
    the_registration_form_offers_only_the_regions_in_scope,
    |t: TestDb| {
        let (app, _) = two_cities(t);
        block_on(async {
            let (cookie, _) = app.session("nn-commission-staff");
            let text = app.get("/registry/new", &cookie).await.text();
            assert!(
                text.contains("<option value=\"450100\">南宁市</option>"),
                "{text}"
            );
            assert!(!text.contains("柳州市"), "{text}");
        });
    }
);

both_engines!(
    a_region_picked_outside_the_scope_is_refused_and_named,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let (cookie, csrf) = app.session("nn-commission-staff");
            let form: Vec<(&str, &str)> = person_form(&reg, &csrf)
                .into_iter()
                .map(|(k, v)| {
                    if k == "region_code" {
                        (k, "450200")
                    } else {
                        (k, v)
                    }
                })
                .collect();
            let r = app.post("/registry", &cookie, &form).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("所属区域："), "{}", r.text());
        });
    }
);

both_engines!(
    a_resident_declares_at_a_community_without_being_asked_for_a_grid,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let r = app.get(&format!("/d?region={}", reg.nn.region), "").await;
            let text = r.text();
            assert!(
                text.contains("同住家庭成员"),
                "the community is the place: {text}"
            );
            assert!(!text.contains("nn网格"), "no grid is offered: {text}");
        });
    }
);

both_engines!(
    a_sites_poster_opens_the_declaration_form_at_the_sites_place,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let text = app
                .get(&format!("/d?site={}", reg.nn.site), "")
                .await
                .text();
            assert!(text.contains("同住家庭成员"), "{text}");
            assert!(
                text.contains("nn民族之家（") && !text.contains("nn网格"),
                "the place reads as the site, not its grid: {text}"
            );
            let region = format!("name=\"region\" value=\"{}\"", reg.nn.grid);
            assert!(
                text.contains(&region),
                "declared at the site's place: {text}"
            );
        });
    }
);

both_engines!(the_declaration_form_picks_the_hukou_by_name, |t: TestDb| {
    let (app, reg) = two_cities(t);
    block_on(async {
        let text = app
            .get(&format!("/d?region={}", reg.nn.region), "")
            .await
            .text();
        assert!(
            text.contains("<option value=\"52\">贵州省</option>"),
            "provinces by name: {text}"
        );
        assert!(
            !text.contains("inputmode=\"numeric\" maxlength=\"9\""),
            "no code typed"
        );
    });
});

both_engines!(
    a_declaration_names_every_problem_at_once_under_its_person,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let grid = reg.nn.grid.to_string();
            let r = app.post("/d", PRE, &declaration(&reg, &grid, false)).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("申报人 · 手机号码"), "{}", r.text());
        });
    }
);

both_engines!(
    the_status_page_is_masked_for_whoever_holds_the_code,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let status_page = declared(&app, &reg).await;
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
                !text.contains("韦小红") && !text.contains(&reg.number[6..14]),
                "masked for whoever holds the code"
            );
        });
    }
);

both_engines!(
    the_declaration_waits_in_the_grid_workers_queue_masked_for_review,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            declared(&app, &reg).await;
            let (cookie, _) = app.session("nn-grid-worker");
            let list = app.get("/registry", &cookie).await.text();
            assert!(list.contains("待核验申报（1）"), "{list}");
            let queue = app.get("/registry/declarations", &cookie).await.text();
            assert!(queue.contains("韦小红"));
            let id = first_in_queue(&app).await;
            let review = app
                .get(&format!("/registry/declarations/{id}"), &cookie)
                .await
                .text();
            assert!(
                review.contains("5226**********") && !review.contains(&reg.number),
                "masked for review"
            );
        });
    }
);

both_engines!(another_citys_staff_see_nothing_of_the_queue, |t: TestDb| {
    let (app, reg) = two_cities(t);
    block_on(async {
        declared(&app, &reg).await;
        let id = first_in_queue(&app).await;
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
    });
});

both_engines!(
    confirmed_with_a_correction_both_people_are_registered_in_one_household,
    |t: TestDb| {
        let (app, reg) = two_cities(t);
        block_on(async {
            let status_page = declared(&app, &reg).await;
            let r = confirm(&app, &reg, first_in_queue(&app).await).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let (cookie, _) = app.session("nn-grid-worker");
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
        });
    }
);

both_engines!(turning_a_declaration_back_needs_a_reason, |t: TestDb| {
    let (app, reg) = two_cities(t);
    block_on(async {
        let (_, id2) = declared_again(&app, &reg).await;
        let (cookie, csrf) = app.session("nn-grid-worker");
        let r = app
            .post(
                &format!("/registry/declarations/{id2}/reject"),
                &cookie,
                &[("_csrf", &csrf), ("version", "1"), ("reason", "")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    });
});

both_engines!(a_declarant_turned_back_reads_why, |t: TestDb| {
    let (app, reg) = two_cities(t);
    block_on(async {
        let (code2, id2) = declared_again(&app, &reg).await;
        let (cookie, csrf) = app.session("nn-grid-worker");
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
        assert!(
            audit::verify(&mut app.t.db.conn().unwrap())
                .unwrap()
                .is_intact()
        );
    });
});

both_engines!(an_unknown_declaration_code_is_not_found, |t: TestDb| {
    let (app, _) = two_cities(t);
    block_on(async {
        assert_eq!(
            app.get("/d/NOSUCHCODE", "").await.status,
            StatusCode::NOT_FOUND
        );
    });
});

// ---- Statistics that withhold small cells ----

/// A township and its two communities: 3 壮族 and 6 侗族 in one, 16 壮族 and 7 侗族 in the
/// other. The township shows 19 壮族, the second community 16: before rounding, their
/// difference told the first community's withheld 3. The statistics pages of the township
/// and of each community, as its staff see them.
fn town_pages(t: TestDb) -> [SeenPage; 3] {
    let app = App::new(t);
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
        seen.try_into()
            .unwrap_or_else(|_| unreachable!("three pages"))
    })
}

/// The pages by name, and which are nested in which.
const CHILDREN: [(&str, &str); 2] = [("town", "a"), ("town", "b")];
/// Every cell under the minimum, wherever it is: 甲社区's 3 壮族.
const SMALL: [(&str, &str); 1] = [("a", "壮族")];

both_engines!(
    withheld_cells_cannot_be_recovered_from_nested_pages,
    |t: TestDb| {
        let seen = town_pages(t);
        let pages = [("town", &seen[0]), ("a", &seen[1]), ("b", &seen[2])];
        assert_eq!(
            pages.iter().map(|(_, p)| p.residents).collect::<Vec<_>>(),
            [32, 9, 23]
        );
        assert!(
            recoverable(&pages, &CHILDREN, &SMALL, false).is_empty(),
            "no withheld cell comes back"
        );
        // And the page never names it.
        assert!(!seen[1].sections["按民族"].iter().any(|(l, _)| l == "壮族"));
    }
);

both_engines!(
    the_nested_pages_read_as_exact_would_give_the_withheld_cell_back,
    |t: TestDb| {
        let seen = town_pages(t);
        let pages = [("town", &seen[0]), ("a", &seen[1]), ("b", &seen[2])];
        // The same pages read as if their figures were exact — as they were before rounding —
        // give it back: the check finds what it looks for.
        assert_eq!(
            recoverable(&pages, &CHILDREN, &SMALL, true),
            [("a".to_string(), "壮族".to_string())]
        );
    }
);

both_engines!(
    within_one_page_a_province_and_its_counties_do_not_tell_a_withheld_county,
    |t: TestDb| {
        let seen = town_pages(t);
        // Of the township's 32 people, 26 are from 广西 (23 of 南宁's 青秀区, 3 of 三江) and 6
        // from 长沙. 三江 is withheld and, beside it, 长沙 (the next smallest).
        assert!(!hukou_rest_recoverable(&seen[0], "广西壮族自治区", false));
        // The page as it is now rounds those figures and names neither county.
        let counties = &seen[0].sections["按户籍地（县）"];
        assert!(
            counties
                .iter()
                .all(|(l, _)| !l.contains("三江") && !l.contains("长沙"))
        );
    }
);

/// As pages once showed the township — exact, the withheld counties named — 广西's 26 minus
/// 青秀区's 23 told 三江's 3: the check finds what it looks for.
#[test]
fn a_page_as_it_once_was_told_a_withheld_county() {
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
}

/// Nanning seeded, and beside its seeded 壮族 resident (from 田东): 6 侗族 from 从江县, 2 苗族
/// from 融水, 7 汉族 from 长沙, all in the grid. The leader's session.
fn sixteen_residents(t: TestDb) -> (App, String) {
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    let mut people = Vec::new();
    for (nation, hukou, n) in [
        ("12", "522633", 6),
        ("06", "450225", 2),
        ("01", "430102", 7),
    ] {
        for i in 0..n {
            people.push(shiliu_domain::registry::PersonForm {
                name: format!("居民{nation}{i}"),
                sex: "female".into(),
                birth_date: "1990-01-01".into(),
                people: nation.into(),
                hukou: hukou.into(),
                address: "衡阳路".into(),
                arrived_on: shiliu_db::today().format("%Y-%m-%d").to_string(),
                ..Default::default()
            });
        }
    }
    heads_of_one(&app, nn.grid, people);
    let (cookie, _) = app.session("nn-leader");
    (app, cookie)
}

/// `people` registered in the grid `grid`, each the head of a household of one at the address
/// the form gives, loaded as an import loads them and counted in the totals.
fn heads_of_one(app: &App, grid: i64, people: Vec<shiliu_domain::registry::PersonForm>) {
    app.t
        .db
        .write_blocking(move |c| {
            let grid = org::get_region(c, &Scope::everything(), grid)?;
            let households: Vec<_> = people
                .iter()
                .map(|form| shiliu_db::registry::bulk::NewHousehold {
                    region: &grid,
                    address: form.address.clone(),
                    members: vec![(
                        shiliu_domain::registry::PersonInput::parse(form, shiliu_db::today())
                            .unwrap(),
                        shiliu_domain::registry::Relation::Head,
                    )],
                    moved_out: None,
                    agreed: &[shiliu_domain::registry::ConsentPurpose::Registration],
                })
                .collect();
            let mut tally = shiliu_db::registry::Tally::default();
            shiliu_db::registry::bulk::load(
                c,
                &Actor::system("test"),
                &shiliu_db::registry::Vault::random(),
                &households,
                shiliu_domain::registry::ConsentChannel::Staff,
                &mut tally,
            )?;
            tally.journal(c)
        })
        .unwrap();
}

/// The section of the statistics page under `heading`.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    text.split_once(heading)
        .unwrap()
        .1
        .split("</section>")
        .next()
        .unwrap()
}

both_engines!(
    the_statistics_round_the_people_shown_and_merge_the_small_ones_unnamed,
    |t: TestDb| {
        let (app, cookie) = sixteen_residents(t);
        block_on(async {
            let r = app.get("/registry/stats", &cookie).await;
            assert_eq!(r.status, StatusCode::OK);
            let text = r.text();
            assert!(
                text.contains("在住人数") && text.contains(">16<"),
                "1 + 6 + 2 + 7 residents: {text}"
            );
            // By people: 壮族 1 and 苗族 2 are withheld, together and unnamed; 侗族 6 and 汉族
            // 7 are shown, rounded to a multiple of 5.
            let people = section(&text, "按民族");
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
        });
    }
);

both_engines!(the_statistics_withhold_the_small_counties, |t: TestDb| {
    let (app, cookie) = sixteen_residents(t);
    block_on(async {
        let text = app.get("/registry/stats", &cookie).await.text();
        // By county: 融水 (2) and 田东 (1) withheld.
        let county = section(&text, "按户籍地（县）");
        assert!(
            county.contains("从江县</td><td>5</td>")
                && !county.contains("融水")
                && !county.contains("<td>2</td>")
                && !county.contains("<td>1</td>"),
            "{county}"
        );
    });
});

both_engines!(small_cells_stay_withheld_in_the_export, |t: TestDb| {
    let (app, cookie) = sixteen_residents(t);
    block_on(async {
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
    });
});

both_engines!(with_a_minimum_of_1_nothing_is_withheld, |t: TestDb| {
    let (app, cookie) = sixteen_residents(t);
    block_on(async {
        // The setting is read, not hard-coded.
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
    });
});

both_engines!(
    statistics_over_months_in_the_wrong_order_are_refused,
    |t: TestDb| {
        let (app, cookie) = sixteen_residents(t);
        block_on(async {
            let r = app
                .get("/registry/stats?from=2030-01&to=2029-01", &cookie)
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        });
    }
);

/// `n` people registered in the grid `grid`, each a household of one, who arrived on `on`.
fn arrived_on(app: &App, grid: i64, on: chrono::NaiveDate, n: usize, tag: &'static str) {
    let people = (0..n)
        .map(|i| shiliu_domain::registry::PersonForm {
            name: format!("{tag}{i}"),
            sex: "male".into(),
            birth_date: "1985-06-01".into(),
            people: "01".into(),
            hukou: "430102".into(),
            address: "民族大道".into(),
            arrived_on: on.format("%Y-%m-%d").to_string(),
            ..Default::default()
        })
        .collect();
    heads_of_one(app, grid, people);
}

both_engines!(
    the_statistics_draw_arrivals_as_a_line_beside_the_year_before_with_the_tables_figures,
    |t: TestDb| {
        use crate::requests::{drawings, line_figures, months_between, table_rows};
        use chrono::{Datelike, Months};
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
            .unwrap();
        let today = shiliu_db::today();
        let this_month = today.with_day(1).unwrap();
        let months = months_between(this_month - Months::new(11), this_month);
        arrived_on(&app, nn.grid, today, 3, "本月来的");
        block_on(async {
            let (cookie, _) = app.session("nn-leader");
            let page = app.get("/registry/stats", &cookie).await.text();
            for svg in drawings(&page) {
                assert!(!svg.contains("<text"), "shapes only: {svg}");
            }
            let arrivals = section(&page, "来本地人数（按月）");
            assert!(
                arrivals.contains("<figure class=\"chart months\""),
                "{arrivals}"
            );
            let rows = table_rows(arrivals);
            let listed: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
            assert_eq!(listed, months, "every month of the period");
            let column = |rows: &[Vec<String>], i: usize| -> Vec<i64> {
                rows.iter().map(|r| r[i].parse().unwrap()).collect()
            };
            assert_eq!(line_figures(arrivals, "now").unwrap(), column(&rows, 1));
            // Nobody recorded a year before: no line for it, nor a column.
            assert!(line_figures(arrivals, "before").is_none(), "{arrivals}");
            assert!(rows.iter().all(|r| r.len() == 2), "{rows:?}");
            assert!(arrivals.contains("上年同期无数据"));

            // Two who came the same month a year before.
            arrived_on(&app, nn.grid, today - Months::new(12), 2, "去年来的");
            let page = app.get("/registry/stats", &cookie).await.text();
            for svg in drawings(&page) {
                assert!(!svg.contains("<text"), "shapes only: {svg}");
            }
            let arrivals = section(&page, "来本地人数（按月）");
            let rows = table_rows(arrivals);
            let listed: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
            assert_eq!(listed, months);
            assert_eq!(line_figures(arrivals, "now").unwrap(), column(&rows, 1));
            assert_eq!(
                line_figures(arrivals, "before").unwrap(),
                column(&rows, 2),
                "the year before, month by month: {arrivals}"
            );
            assert_eq!(column(&rows, 2).iter().sum::<i64>(), 2);
            assert_eq!(
                *column(&rows, 2).last().unwrap(),
                2,
                "the same month, a year before"
            );
            assert!(*column(&rows, 1).last().unwrap() >= 3);
            let a_year_before = format!(
                "上年同期 {} – {}",
                (this_month - Months::new(23)).format("%Y-%m"),
                (this_month - Months::new(12)).format("%Y-%m")
            );
            assert!(arrivals.contains(&a_year_before), "{arrivals}");
            // Departures: the year before is drawn too, a year of zeros being one.
            let departures = section(&page, "迁出人数（按月）");
            assert_eq!(line_figures(departures, "before").unwrap(), vec![0; 12]);
        });
    }
);

both_engines!(
    the_statistics_by_region_are_bars_for_every_region_below_with_the_tables_figures,
    |t: TestDb| {
        use crate::requests::{bar_chart, bar_texts, drawings, table_rows};
        let (app, cookie) = sixteen_residents(t);
        let counties = child_names(&app, "450100");
        block_on(async {
            let page = app.get("/registry/stats", &cookie).await.text();
            for svg in drawings(&page) {
                assert!(!svg.contains("<text"), "shapes only: {svg}");
            }
            for heading in ["按区域", "按民族", "按户籍地（县）"] {
                let part = section(&page, heading);
                let bars = bar_chart(part, "bars");
                let text_of = |class: &str| bar_texts(bars, class);
                let rows = table_rows(part);
                let column =
                    |i: usize| -> Vec<String> { rows.iter().map(|r| r[i].clone()).collect() };
                assert_eq!(text_of("name"), column(0), "{heading}");
                // A withheld cell is a dash in both.
                let shown: Vec<String> = text_of("n");
                let in_table: Vec<String> = rows
                    .iter()
                    .map(|r| {
                        if r[1].is_empty() {
                            "—".to_string()
                        } else {
                            r[1].clone()
                        }
                    })
                    .collect();
                assert_eq!(shown, in_table, "{heading}");
                assert!(bars.contains("width=\"100.0\""), "{bars}");
            }
            let regions = table_rows(section(&page, "按区域"));
            assert_eq!(regions.len(), counties.len(), "{regions:?}");
            for county in &counties {
                assert!(
                    regions.iter().any(|r| r[0] == *county),
                    "{county}, without residents too: {regions:?}"
                );
            }
        });
    }
);

// ---- The home side: out-migrants, and assistance asked and given ----

/// Two people from 三江 (柳州市) registered in 南宁: 韦小红 agreed that home may see her, 杨大山
/// did not. Their ids.
struct Migrants {
    wei: i64,
    yang: i64,
}

fn out_migrants(t: TestDb) -> (App, Migrants) {
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
    (app, Migrants { wei, yang })
}

/// A reply due in a week.
fn due() -> String {
    (shiliu_db::today() + chrono::Duration::days(7)).to_string()
}

/// 柳州市's request to verify something about `person`.
async fn ask(app: &App, person: i64) -> Resp {
    let (home, home_csrf) = app.session("lz-commission-staff");
    let (person, due) = (person.to_string(), due());
    app.post(
        "/registry/assists",
        &home,
        &[
            ("_csrf", &home_csrf),
            ("person_id", &person),
            ("kind", "verify"),
            ("subject", "核实子女入学情况"),
            ("body", "请核实韦小红子女是否已在当地入学。"),
            ("due_on", &due),
        ],
    )
    .await
}

/// 柳州市 has asked about 韦小红; the request's id.
async fn asked(app: &App, m: &Migrants) -> String {
    let r = ask(app, m.wei).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    r.location()
        .trim_start_matches("/registry/assists/")
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

/// The grid worker's reply to request `id` (at version 1).
async fn reply(app: &App, id: &str, text: &str) -> Resp {
    let (grid, grid_csrf) = app.session("nn-grid-worker");
    app.post(
        &format!("/registry/assists/{id}/reply"),
        &grid,
        &[("_csrf", &grid_csrf), ("version", "1"), ("reply", text)],
    )
    .await
}

/// 柳州市 has asked about 韦小红 and the grid worker where she lives has replied; the id.
async fn replied(app: &App, m: &Migrants) -> String {
    let id = asked(app, m).await;
    let r = reply(app, &id, "已入读衡阳小学三年级").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    id
}

both_engines!(
    the_home_side_sees_its_consenting_out_migrant_masked_and_nothing_it_may_not,
    |t: TestDb| {
        let (app, m) = out_migrants(t);
        block_on(async {
            let (home, _) = app.session("lz-commission-staff");
            let r = app.get("/registry/out-migrants", &home).await;
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(r.headers[header::CACHE_CONTROL], "private, no-store");
            let text = r.text();
            assert!(text.contains("韦**"), "{text}");
            for hidden in ["韦小红", "杨**", "衡阳路", "4502**********"] {
                assert!(!text.contains(hidden), "{hidden} shown to the home side");
            }
            assert!(text.contains(&format!("/registry/assists/new?person={}", m.wei)));
        });
    }
);

both_engines!(
    where_she_lives_she_is_no_out_migrant_and_a_leader_may_not_look,
    |t: TestDb| {
        let (app, _) = out_migrants(t);
        block_on(async {
            let (here, _) = app.session("nn-commission-staff");
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
        });
    }
);

both_engines!(asking_with_bad_input_names_the_fields, |t: TestDb| {
    let (app, m) = out_migrants(t);
    block_on(async {
        let (home, home_csrf) = app.session("lz-commission-staff");
        let today = shiliu_db::today().to_string();
        let r = app
            .post(
                "/registry/assists",
                &home,
                &[
                    ("_csrf", &home_csrf),
                    ("person_id", &m.wei.to_string()),
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
    });
});

both_engines!(
    someone_who_did_not_agree_cannot_be_asked_about,
    |t: TestDb| {
        let (app, m) = out_migrants(t);
        block_on(async {
            let r = ask(&app, m.yang).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("不是您户籍地的外出人员"));
        });
    }
);

both_engines!(
    the_grid_worker_where_she_lives_sees_the_request_waiting,
    |t: TestDb| {
        let (app, m) = out_migrants(t);
        block_on(async {
            let id = asked(&app, &m).await;
            let (grid, _) = app.session("nn-grid-worker");
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
                r.text().contains(&format!("/registry/{}", m.wei)),
                "her record is a link away"
            );
        });
    }
);

both_engines!(an_empty_reply_is_refused, |t: TestDb| {
    let (app, m) = out_migrants(t);
    block_on(async {
        let id = asked(&app, &m).await;
        let r = reply(&app, &id, " ").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("回复"));
    });
});

both_engines!(replying_twice_is_refused_as_stale, |t: TestDb| {
    let (app, m) = out_migrants(t);
    block_on(async {
        let id = replied(&app, &m).await;
        let r = reply(&app, &id, "再答").await;
        assert_eq!(r.status, StatusCode::CONFLICT);
    });
});

both_engines!(
    a_version_at_the_top_of_its_range_is_stale_not_a_crash,
    |t: TestDb| {
        let (app, m) = out_migrants(t);
        block_on(async {
            let id = asked(&app, &m).await;
            let (grid, grid_csrf) = app.session("nn-grid-worker");
            let top = i32::MAX.to_string();
            let r = app
                .post(
                    &format!("/registry/assists/{id}/reply"),
                    &grid,
                    &[
                        ("_csrf", &grid_csrf),
                        ("version", &top),
                        ("reply", "已核实"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
            // Nothing was written: the right version still replies.
            assert_eq!(
                reply(&app, &id, "已核实").await.status,
                StatusCode::SEE_OTHER
            );
        });
    }
);

both_engines!(a_sites_staff_may_not_open_the_request, |t: TestDb| {
    let (app, m) = out_migrants(t);
    block_on(async {
        let id = replied(&app, &m).await;
        let (site, _) = app.session("nn-site-staff");
        assert_eq!(
            app.get(&format!("/registry/assists/{id}"), &site)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    });
});

both_engines!(the_home_side_reads_the_reply_and_closes_it, |t: TestDb| {
    let (app, m) = out_migrants(t);
    block_on(async {
        let id = replied(&app, &m).await;
        let (home, home_csrf) = app.session("lz-commission-staff");
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
    });
});

both_engines!(
    the_api_lists_the_out_migrants_by_the_same_rules,
    |t: TestDb| {
        let (app, _) = out_migrants(t);
        block_on(async {
            let (s, list) = app
                .api_get("/api/v1/out-migrants", "lz-commission-staff")
                .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(list["items"][0]["name"], "韦**");
            assert_eq!(list["items"].as_array().unwrap().len(), 1);
            assert!(list["items"][0].get("id_masked").is_none());
        });
    }
);

both_engines!(the_api_names_an_unknown_kind_of_request, |t: TestDb| {
    let (app, m) = out_migrants(t);
    block_on(async {
        let (s, err) = app
            .api(
                "POST",
                "/api/v1/assists",
                "lz-commission-staff",
                Some(serde_json::json!({"person_id": m.wei, "kind": "ask", "subject": "x", "body": "y", "due_on": due()})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(err["error"]["details"]["kind"].is_string(), "{err}");
    });
});

both_engines!(
    a_request_made_through_the_api_reaches_the_other_side,
    |t: TestDb| {
        let (app, m) = out_migrants(t);
        block_on(async {
            let (s, made) = app
            .api(
                "POST",
                "/api/v1/assists",
                "nn-commission-staff",
                Some(serde_json::json!({"person_id": m.wei, "kind": "assist", "subject": "协助转移低保", "body": "请协助", "due_on": due()})),
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

// ---- A needs survey ----

/// Nanning (and Liuzhou) seeded: the community the campaign covers, the seeded person living
/// there, and the campaign's first and last day (today and a month on).
struct Campaign {
    community_code: String,
    person: i64,
    start: String,
    end: String,
}

fn campaign(t: TestDb) -> (App, Campaign) {
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
    let region = nn.region;
    let community_code = app
        .t
        .db
        .write_blocking(move |c| Ok(org::get_region(c, &Scope::everything(), region)?.code))
        .unwrap();
    let today = shiliu_db::today();
    let c = Campaign {
        community_code,
        person: nn.person,
        start: today.to_string(),
        end: (today + chrono::Duration::days(30)).to_string(),
    };
    (app, c)
}

/// The township's survey, one required question (家中劳动力人数, a number); its id.
async fn survey(app: &App, c: &Campaign) -> i64 {
    let (town, csrf) = app.session("nn-township-staff");
    let r = app
        .post(
            "/registry/surveys",
            &town,
            &[
                ("_csrf", &csrf),
                ("name", "社区就业需求摸排"),
                ("region_code", &c.community_code),
                ("starts_on", &c.start),
                ("ends_on", &c.end),
                ("q1.label", "家中劳动力人数"),
                ("q1.kind", "number"),
                ("q1.required", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    r.location()
        .trim_start_matches("/registry/surveys/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The grid worker's list of the survey's households.
async fn households(app: &App, sid: i64) -> Resp {
    let (grid, _) = app.session("nn-grid-worker");
    app.get(&format!("/registry/surveys/{sid}/households"), &grid)
        .await
}

/// The survey and its one household's id.
async fn survey_household(app: &App, c: &Campaign) -> (i64, i64) {
    let sid = survey(app, c).await;
    let hid = households(app, sid)
        .await
        .text()
        .split(&format!("/registry/surveys/{sid}/households/"))
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (sid, hid)
}

/// The grid worker's visit: 2 in the household's labour force; the person needs a job and
/// relief. The survey's and the household's ids.
async fn visited(app: &App, c: &Campaign) -> (i64, i64) {
    let (sid, hid) = survey_household(app, c).await;
    let (grid, gcsrf) = app.session("nn-grid-worker");
    let need_field = format!("need.{}", c.person);
    let note_field = format!("note.{}", c.person);
    let answer_field = format!("answer.{sid}.q1");
    let r = app
        .post(
            &format!("/registry/surveys/{sid}/households/{hid}"),
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
    (sid, hid)
}

/// The survey's needs through the API: the job and the relief.
async fn needs(app: &App, sid: i64) -> (serde_json::Value, serde_json::Value) {
    let (_, needs) = app
        .api_get(&format!("/api/v1/needs?survey={sid}"), "nn-grid-worker")
        .await;
    let items = needs["items"].as_array().unwrap();
    let by_kind = |k: &str| items.iter().find(|n| n["kind"] == k).unwrap().clone();
    (by_kind("job"), by_kind("relief"))
}

/// The job need made a request in one action: the answer, and the relief need.
async fn request_the_job(app: &App, sid: i64) -> (Resp, serde_json::Value) {
    let (job, relief) = needs(app, sid).await;
    let (grid, gcsrf) = app.session("nn-grid-worker");
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
    (r, relief)
}

/// The relief need met by an 800-yuan subsidy, through the API.
async fn subsidy(
    app: &App,
    c: &Campaign,
    relief: &serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    app.api(
        "POST",
        &format!("/api/v1/persons/{}/services", c.person),
        "nn-grid-worker",
        Some(serde_json::json!({"kind": "subsidy", "delivered_on": c.start, "provider": "区民政局", "amount": "800", "need_id": relief["id"]})),
    )
    .await
}

both_engines!(
    the_campaign_form_names_each_problem_a_questions_by_its_number,
    |t: TestDb| {
        let (app, c) = campaign(t);
        block_on(async {
            let (town, csrf) = app.session("nn-township-staff");
            let r = app
                .post(
                    "/registry/surveys",
                    &town,
                    &[
                        ("_csrf", &csrf),
                        ("name", ""),
                        ("region_code", &c.community_code),
                        ("starts_on", &c.end),
                        ("ends_on", &c.start),
                        ("q1.label", "希望的工种"),
                        ("q1.kind", "single"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = r.text();
            for part in ["名称", "结束日期", "不能早于开始日期", "问题 1 · 选项"]
            {
                assert!(text.contains(part), "{part} in {text}");
            }
        });
    }
);

both_engines!(another_citys_staff_cannot_see_the_survey, |t: TestDb| {
    let (app, c) = campaign(t);
    block_on(async {
        let sid = survey(&app, &c).await;
        let (far, _) = app.session("lz-township-staff");
        assert_eq!(
            app.get(&format!("/registry/surveys/{sid}"), &far)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    });
});

both_engines!(
    a_grid_worker_inside_sees_the_survey_and_its_households_never_stored,
    |t: TestDb| {
        let (app, c) = campaign(t);
        block_on(async {
            let sid = survey(&app, &c).await;
            let (grid, _) = app.session("nn-grid-worker");
            let page = app
                .get(&format!("/registry/surveys/{sid}"), &grid)
                .await
                .text();
            assert!(page.contains("0 / 1"), "{page}");
            let list = households(&app, sid).await;
            assert_eq!(list.headers[header::CACHE_CONTROL], "private, no-store");
        });
    }
);

both_engines!(
    a_visit_without_a_required_answer_names_the_question,
    |t: TestDb| {
        let (app, c) = campaign(t);
        block_on(async {
            let (sid, hid) = survey_household(&app, &c).await;
            let (grid, gcsrf) = app.session("nn-grid-worker");
            let need_field = format!("need.{}", c.person);
            let r = app
                .post(
                    &format!("/registry/surveys/{sid}/households/{hid}"),
                    &grid,
                    &[("_csrf", &gcsrf), (&need_field, "job")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("家中劳动力人数"), "the question named");
        });
    }
);

both_engines!(a_visit_counts_the_household_answered, |t: TestDb| {
    let (app, c) = campaign(t);
    block_on(async {
        let (sid, _) = visited(&app, &c).await;
        let (grid, _) = app.session("nn-grid-worker");
        let page = app
            .get(&format!("/registry/surveys/{sid}"), &grid)
            .await
            .text();
        assert!(page.contains("1 / 1"), "{page}");
        let (s, needs) = app
            .api_get(&format!("/api/v1/needs?survey={sid}"), "nn-grid-worker")
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(needs["items"].as_array().unwrap().len(), 2);
    });
});

both_engines!(a_need_becomes_a_request_in_one_action, |t: TestDb| {
    let (app, c) = campaign(t);
    block_on(async {
        let (sid, _) = visited(&app, &c).await;
        let (r, _) = request_the_job(&app, sid).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert!(r.location().starts_with("/requests/"));
    });
});

both_engines!(a_subsidy_is_given_to_at_most_two_decimals, |t: TestDb| {
    let (app, c) = campaign(t);
    block_on(async {
        let (sid, _) = visited(&app, &c).await;
        let (_, relief) = needs(&app, sid).await;
        let (grid, gcsrf) = app.session("nn-grid-worker");
        let r = app
            .post(
                &format!("/registry/{}/services", c.person),
                &grid,
                &[
                    ("_csrf", &gcsrf),
                    ("kind", "subsidy"),
                    ("delivered_on", &c.start),
                    ("provider", "区民政局"),
                    ("amount", "12.345"),
                    ("need_id", &relief["id"].to_string()),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("两位小数"), "{}", r.text());
    });
});

both_engines!(
    a_subsidy_meets_its_need_and_shows_on_the_person,
    |t: TestDb| {
        let (app, c) = campaign(t);
        block_on(async {
            let (sid, _) = visited(&app, &c).await;
            let (r, relief) = request_the_job(&app, sid).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let (s, made) = subsidy(&app, &c, &relief).await;
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
            let (grid, _) = app.session("nn-grid-worker");
            let person_page = app
                .get(&format!("/registry/{}", c.person), &grid)
                .await
                .text();
            assert!(
                person_page.contains("补贴发放") && person_page.contains("800"),
                "{person_page}"
            );
        });
    }
);

both_engines!(
    the_statistics_count_the_needs_met_and_the_subsidies,
    |t: TestDb| {
        let (app, c) = campaign(t);
        block_on(async {
            let (sid, _) = visited(&app, &c).await;
            let (r, relief) = request_the_job(&app, sid).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let (s, made) = subsidy(&app, &c, &relief).await;
            assert_eq!(s, StatusCode::CREATED, "{made}");
            let (town, _) = app.session("nn-township-staff");
            let stats = app.get("/registry/stats", &town).await.text();
            assert!(
                stats.contains("已满足需求") && stats.contains("发放补贴（元）"),
                "{stats}"
            );
        });
    }
);

both_engines!(
    the_api_lists_the_surveys_with_their_households_answered,
    |t: TestDb| {
        let (app, c) = campaign(t);
        block_on(async {
            visited(&app, &c).await;
            let (s, list) = app.api_get("/api/v1/surveys", "nn-grid-worker").await;
            assert_eq!((s, list[0]["answered"].as_i64()), (StatusCode::OK, Some(1)));
        });
    }
);

both_engines!(
    the_api_answers_a_household_with_the_same_checks,
    |t: TestDb| {
        let (app, c) = campaign(t);
        block_on(async {
            let (sid, hid) = visited(&app, &c).await;
            let person = c.person;
            let responses = format!("/api/v1/surveys/{sid}/responses");
            let (s, err) = app
            .api(
                "POST",
                &responses,
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
                    &responses,
                    "nn-grid-worker",
                    Some(
                        serde_json::json!({"household_id": hid, "answers": {"q1": 3}, "needs": []}),
                    ),
                )
                .await;
            assert_eq!(
                (s, ok["answers"]["q1"].as_str()),
                (StatusCode::OK, Some("3")),
                "{ok}"
            );
        });
    }
);

// ---- A register imported from Excel or CSV ----

/// Nanning seeded: its grid's code, and four valid ID numbers: a head and her child, someone
/// with a people that does not exist, and someone already registered.
struct Import {
    grid: String,
    a: String,
    b: String,
    dup: String,
    other: String,
}

fn importing(t: TestDb) -> (App, Import) {
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
    let i = Import {
        grid,
        a: id("45022619900101202"),
        b: id("45022620150601101"),
        dup: id("52263319850505303"),
        other: id("45012219700707404"),
    };
    (app, i)
}

/// How many people are registered.
fn count(app: &App) -> i64 {
    let f = shiliu_db::registry::PersonFilter::default();
    shiliu_db::registry::count(&mut app.t.db.conn().unwrap(), &Scope::everything(), &f).unwrap()
}

/// Someone already registered, whose household the file repeats; the count after.
async fn already_registered(app: &App, i: &Import) -> i64 {
    let (cookie, csrf) = app.session("nn-commission-staff");
    let r = app
        .post(
            "/registry",
            &cookie,
            &[
                ("_csrf", csrf.as_str()),
                ("name", "潘已登"),
                ("id_number", i.dup.as_str()),
                ("people", "苗族"),
                ("region_code", i.grid.as_str()),
                ("address", "衡阳路 1 号"),
                ("consents", "registration"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    count(app)
}

/// The workbook: H1 a head and her child (valid), H2 with a people that does not exist (row
/// 4), H3 the household already registered (row 5).
fn workbook(i: &Import) -> Vec<u8> {
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
    xlsx(&[
        header,
        &[
            "H1",
            "户主",
            "吴春花",
            &i.a,
            "侗族",
            &i.grid,
            "衡阳路 9 号",
            "灵活就业",
            "困难群众、易地扶贫搬迁",
            "是",
        ],
        &[
            "H1",
            "子女",
            "吴小宝",
            &i.b,
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
            &i.other,
            "火星族",
            &i.grid,
            "衡阳路 10 号",
            "",
            "",
            "",
        ],
        &[
            "H3",
            "户主",
            "潘已登",
            &i.dup,
            "苗族",
            &i.grid,
            "衡阳路 1 号",
            "",
            "",
            "",
        ],
    ])
}

async fn upload(app: &App, file: Vec<u8>, mode: &str) -> Resp {
    let (cookie, csrf) = app.session("nn-commission-staff");
    app.upload("/registry/import", &cookie, &csrf, file, mode)
        .await
}

/// The job's page once the import is done (or empty after about a minute of looks 25 ms
/// apart, enough on a loaded machine), each look before that checked to show progress if
/// `progress`.
async fn outcome(app: &App, job: &str, progress: bool) -> String {
    let (cookie, _) = app.session("nn-commission-staff");
    let mut outcome = String::new();
    for _ in 0..2400 {
        let page = app.get(job, &cookie).await.text();
        if page.contains("import-outcome") {
            outcome = page;
            break;
        }
        if progress {
            assert!(page.contains("正在导入"), "{page}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    outcome
}

/// The valid households of the workbook imported in the background: the job's page and the
/// count before.
async fn imported(app: &App, i: &Import) -> (String, i64) {
    let before = already_registered(app, i).await;
    let r = upload(app, workbook(i), "valid_only").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let job = r.location();
    // Done, however long a busy machine takes: what follows needs the import finished.
    assert!(!outcome(app, &job, false).await.is_empty());
    (job, before)
}

/// A CSV as Excel on a Chinese Windows saves it (GB 18030), quoted fields and all; the head
/// with no ID number.
fn csv(i: &Import) -> String {
    format!(
        "户编号,与户主关系,姓名,性别,出生日期,民族,户籍地,所属区域代码,居住地址\r\nH9,户主,\"韦,六\",女,1992-02-02,壮族,451022,{},\"衡阳路 \"\"11\"\" 号\"\r\n",
        i.grid
    )
}

fn gb18030(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

both_engines!(the_import_template_is_a_csv_excel_opens, |t: TestDb| {
    let (app, _) = importing(t);
    block_on(async {
        let (cookie, _) = app.session("nn-commission-staff");
        let r = app.get("/registry/import/template.csv", &cookie).await;
        assert!(
            r.text().starts_with("\u{feff}户编号,与户主关系,姓名"),
            "{}",
            r.text()
        );
    });
});

both_engines!(a_grid_worker_may_not_import, |t: TestDb| {
    let (app, _) = importing(t);
    block_on(async {
        let (grid_cookie, _) = app.session("nn-grid-worker");
        assert_eq!(
            app.get("/registry/import", &grid_cookie).await.status,
            StatusCode::FORBIDDEN
        );
    });
});

both_engines!(
    the_dry_run_reports_every_problem_and_every_household_already_registered,
    |t: TestDb| {
        let (app, i) = importing(t);
        block_on(async {
            already_registered(&app, &i).await;
            let r = upload(&app, workbook(&i), "dry_run").await;
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
        });
    }
);

both_engines!(
    the_error_report_is_a_workbook_of_each_problem_by_row_and_column,
    |t: TestDb| {
        let (app, i) = importing(t);
        block_on(async {
            let before = already_registered(&app, &i).await;
            // The whole list, as a workbook to correct the file from: each problem by row and
            // column, and the household already registered.
            let r = upload(&app, workbook(&i), "error_report").await;
            assert_eq!(r.status, StatusCode::OK);
            let report = xlsx_text(&r.body);
            assert!(report.starts_with("行\t列\t问题\t\n"), "{report}");
            assert!(report.contains("4\t民族\t"), "{report}");
            assert!(report.contains("5\t\t已登记（人员编号"), "{report}");
            assert_eq!(count(&app), before);
        });
    }
);

both_engines!(a_commit_with_a_problem_imports_nothing, |t: TestDb| {
    let (app, i) = importing(t);
    block_on(async {
        let before = already_registered(&app, &i).await;
        // All or nothing: nothing.
        let r = upload(&app, workbook(&i), "commit").await;
        assert!(r.text().contains("未导入任何数据"));
        assert_eq!(count(&app), before);
    });
});

both_engines!(
    the_valid_households_only_are_imported_in_the_background_with_progress,
    |t: TestDb| {
        let (app, i) = importing(t);
        block_on(async {
            let before = already_registered(&app, &i).await;
            let r = upload(&app, workbook(&i), "valid_only").await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let outcome = outcome(&app, &r.location(), true).await;
            assert!(outcome.contains("导入完成：1 户 2 人"), "{outcome}");
            assert_eq!(count(&app), before + 2);
        });
    }
);

both_engines!(an_import_job_is_its_importers_to_follow, |t: TestDb| {
    let (app, i) = importing(t);
    block_on(async {
        let (job, _) = imported(&app, &i).await;
        let (grid_cookie, _) = app.session("nn-grid-worker");
        assert_eq!(
            app.get(&job, &grid_cookie).await.status,
            StatusCode::FORBIDDEN
        );
        let (other_user, _) = app.session("nn-township-staff");
        assert_eq!(
            app.get(&job, &other_user).await.status,
            StatusCode::NOT_FOUND
        );
    });
});

both_engines!(the_same_file_again_changes_nothing, |t: TestDb| {
    let (app, i) = importing(t);
    block_on(async {
        let (_, before) = imported(&app, &i).await;
        let r = upload(&app, workbook(&i), "valid_only").await;
        assert!(r.text().contains("此文件已于"), "{}", r.text());
        assert_eq!(count(&app), before + 2);
    });
});

both_engines!(
    an_imported_household_keeps_its_tags_and_consents,
    |t: TestDb| {
        let (app, i) = importing(t);
        block_on(async {
            imported(&app, &i).await;
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
        });
    }
);

both_engines!(
    a_csv_as_excel_on_a_chinese_windows_saves_it_is_imported,
    |t: TestDb| {
        let (app, i) = importing(t);
        block_on(async {
            let before = count(&app);
            let r = upload(&app, gb18030(&csv(&i)), "dry_run").await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            assert!(r.text().contains("可导入 1 户 1 人"), "{}", r.text());
            let r = upload(&app, gb18030(&csv(&i)), "commit").await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            assert!(!outcome(&app, &r.location(), false).await.is_empty());
            assert_eq!(count(&app), before + 1);
        });
    }
);

both_engines!(
    the_file_again_after_an_edit_finds_the_same_head_by_name_and_birth_date,
    |t: TestDb| {
        let (app, i) = importing(t);
        block_on(async {
            let r = upload(&app, gb18030(&csv(&i)), "commit").await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            assert!(!outcome(&app, &r.location(), false).await.is_empty());
            let before = count(&app);
            // The file again after an edit (another hash): her household has no ID number to
            // match, but the same name and birth date in the same place is the same head.
            let csv = csv(&i);
            let edited = csv.replace("11\"\" 号", "12\"\" 号");
            assert_ne!(edited, csv);
            let r = upload(&app, gb18030(&edited), "dry_run").await;
            assert!(r.text().contains("跳过 1 户"), "{}", r.text());
            assert_eq!(count(&app), before);
        });
    }
);
