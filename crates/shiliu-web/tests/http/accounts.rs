//! Accounts: API tokens and the error envelope, one's own password, managing users.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shiliu_db::accounts::{self};
use shiliu_db::both_engines;
use shiliu_db::org::{self};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_domain::org::RegionInput;
use shiliu_domain::roles::Role;

use crate::common::*;

// ---- API tokens and the error envelope ----

/// Nanning and Liuzhou seeded.
fn two_cities(t: TestDb) -> App {
    let app = App::new(t);
    app.t
        .db
        .write_blocking(|c| {
            seed_city(c, "450100", "nn", "x");
            seed_city(c, "450200", "lz", "x");
            Ok(())
        })
        .unwrap();
    app
}

/// A token Nanning's commission staff made, for 30 days, with the one permission `view_org`.
async fn token(app: &App) -> String {
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
    r.text()
        .split("<code class=\"secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string()
}

/// A GET of `path` with the bearer `token`.
async fn with_token(app: &App, token: &str, path: &str) -> Resp {
    app.call(
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

both_engines!(
    the_openapi_document_describes_every_api_route_and_is_public,
    |t: TestDb| {
        let app = two_cities(t);
        block_on(async {
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
        });
    }
);

both_engines!(
    without_a_token_the_api_answers_unauthorized_in_its_envelope,
    |t: TestDb| {
        let app = two_cities(t);
        block_on(async {
            let r = app.get("/api/v1/sites", "").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["error"]["code"], "unauthorized");
            assert!(v["error"]["message"].is_string());
        });
    }
);

both_engines!(a_token_sees_its_makers_city_only, |t: TestDb| {
    let app = two_cities(t);
    block_on(async {
        let token = token(&app).await;
        let r = with_token(&app, &token, "/api/v1/sites").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.text().contains("nn民族之家") && !r.text().contains("lz民族之家"));
    });
});

both_engines!(
    a_token_holds_only_the_permissions_it_was_given,
    |t: TestDb| {
        let app = two_cities(t);
        block_on(async {
            let token = token(&app).await;
            let r = with_token(&app, &token, "/api/v1/me").await;
            assert!(
                r.text().contains("\"permissions\":[\"view_org\"]"),
                "{}",
                r.text()
            );
        });
    }
);

both_engines!(an_id_that_is_not_a_number_is_a_client_error, |t: TestDb| {
    let app = two_cities(t);
    block_on(async {
        let token = token(&app).await;
        let r = with_token(&app, &token, "/api/v1/sites/abc").await;
        assert!(r.status.is_client_error());
    });
});

both_engines!(
    an_unknown_api_route_is_not_found_in_the_envelope_with_a_request_id,
    |t: TestDb| {
        let app = two_cities(t);
        block_on(async {
            let token = token(&app).await;
            let r = with_token(&app, &token, "/api/v1/nothing").await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["error"]["code"], "not_found");
            assert!(r.headers.contains_key("x-request-id"));
        });
    }
);

both_engines!(
    validation_errors_name_the_field_and_the_reason_in_the_users_language,
    |t: TestDb| {
        let app = two_cities(t);
        block_on(async {
            let (cookie, csrf) = app.session("nn-commission-staff");
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
    }
);

// ---- One's own password, the reference, a region's export ----

/// Nanning seeded, and a grid worker `self` whose password is Shiliu-2026!.
fn with_self(t: TestDb) -> (App, CityData) {
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
    (app, nn)
}

both_engines!(a_bad_password_change_names_each_problem, |t: TestDb| {
    let (app, _) = with_self(t);
    block_on(async {
        let (cookie, csrf) = app.session("self");
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
    });
});

both_engines!(
    changing_ones_password_keeps_this_session_and_ends_the_others,
    |t: TestDb| {
        let (app, _) = with_self(t);
        block_on(async {
            let (cookie, csrf) = app.session("self");
            let (other, _) = app.session("self");
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
        });
    }
);

both_engines!(the_reference_lists_the_56_peoples, |t: TestDb| {
    let (app, _) = with_self(t);
    block_on(async {
        let (cookie, _) = app.session("self");
        let r = app.get("/reference", &cookie).await;
        assert!(
            r.text().contains("壮族") && r.text().contains("Zhuang") && r.text().contains("ZH")
        );
        assert_eq!(
            r.text().matches("<tr>").count(),
            57,
            "56 peoples and the header"
        );
    });
});

both_engines!(
    a_regions_export_holds_its_communities_and_grids,
    |t: TestDb| {
        let (app, nn) = with_self(t);
        block_on(async {
            let (admin, _) = app.session("nn-system-admin");
            let r = app
                .get(&format!("/regions/{}/export.xlsx", nn.region), &admin)
                .await;
            assert_eq!(r.status, StatusCode::OK);
            let text = xlsx_text(&r.body);
            assert!(text.contains("nn社区") && text.contains("nn网格"), "{text}");
        });
    }
);

// ---- Managing users, within what one may grant ----

/// Nanning seeded.
fn nanning(t: TestDb) -> (App, CityData) {
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    (app, nn)
}

fn id_of(app: &App, name: &str) -> accounts::User {
    let n = name.to_string();
    app.t
        .db
        .write_blocking(move |c| Ok(accounts::find_by_username(c, &n)?.unwrap()))
        .unwrap()
}

/// The commission staff's edit of user `id` at `version`: `role` in the city.
async fn edit_role(app: &App, id: i64, version: i32, role: &str) -> Resp {
    let (cookie, csrf) = app.session("nn-commission-staff");
    let v = version.to_string();
    app.post(
        &format!("/users/{id}"),
        &cookie,
        &[
            ("_csrf", &csrf),
            ("display_name", "x"),
            ("role", role),
            ("region_code", "450100"),
            ("version", &v),
        ],
    )
    .await
}

/// The grid worker as the commission staff found them; a second grid made beside theirs and
/// the code of the region they belong to.
struct Move {
    gw: accounts::User,
    new_grid: org::Region,
    town_code: String,
}

/// The grid worker moved to a second grid in their community by the commission staff (named
/// 蒙小丽, with a phone).
async fn moved_grid_worker(app: &App, nn: &CityData) -> Move {
    let gw = id_of(app, "nn-grid-worker");
    let grid = nn.grid;
    let new_grid = app
        .t
        .db
        .write_blocking(move |c| {
            let sys = Actor::system("test");
            let g = org::get_region(c, &Scope::everything(), grid)?;
            let comm = org::get_region(c, &Scope::everything(), g.parent_id.unwrap())?;
            org::create_child_region(
                c,
                &sys,
                comm.id,
                &RegionInput::parse("第二网格", "").unwrap(),
            )
        })
        .unwrap();
    let region = gw.region_id;
    let town_code = app
        .t
        .db
        .write_blocking(move |c| Ok(org::get_region(c, &Scope::everything(), region)?.code))
        .unwrap();
    let (cookie, csrf) = app.session("nn-commission-staff");
    let r = app
        .post(
            &format!("/users/{}", gw.id),
            &cookie,
            &[
                ("_csrf", &csrf),
                ("display_name", "蒙小丽"),
                ("role", "grid_worker"),
                ("region_code", &town_code),
                ("grid", &new_grid.code),
                ("phone", "13877112345"),
                ("version", &gw.version.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    Move {
        gw,
        new_grid,
        town_code,
    }
}

both_engines!(
    commission_staff_may_not_take_over_a_system_administrator_in_their_own_city,
    |t: TestDb| {
        let (app, _) = nanning(t);
        block_on(async {
            let (cookie, csrf) = app.session("nn-commission-staff");
            let admin = id_of(&app, "nn-system-admin");
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
            let r = edit_role(&app, admin.id, admin.version, "leader").await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(id_of(&app, "nn-system-admin").active);
        });
    }
);

both_engines!(
    commission_staff_may_not_grant_a_role_above_their_own,
    |t: TestDb| {
        let (app, _) = nanning(t);
        block_on(async {
            let gw = id_of(&app, "nn-grid-worker");
            let r = edit_role(&app, gw.id, gw.version, "system_admin").await;
            assert!(r.text().contains("您不能授予该角色"), "{}", r.text());
        });
    }
);

both_engines!(
    a_grid_worker_moved_to_another_grid_is_saved_and_keeps_their_session,
    |t: TestDb| {
        let (app, nn) = nanning(t);
        block_on(async {
            let (gw_cookie, _) = app.session("nn-grid-worker");
            let m = moved_grid_worker(&app, &nn).await;
            let id = m.gw.id;
            let grids = app
                .t
                .db
                .write_blocking(move |c| accounts::user_grid_ids(c, id))
                .unwrap();
            assert_eq!(grids, vec![m.new_grid.id]);
            assert_eq!(
                app.get("/", &gw_cookie).await.status,
                StatusCode::OK,
                "same role and region: the session goes on"
            );
        });
    }
);

both_engines!(
    a_stale_user_form_is_refused_not_silently_applied,
    |t: TestDb| {
        let (app, nn) = nanning(t);
        block_on(async {
            let m = moved_grid_worker(&app, &nn).await;
            // The version moved on with the move.
            let (cookie, csrf) = app.session("nn-commission-staff");
            let r = app
                .post(
                    &format!("/users/{}", m.gw.id),
                    &cookie,
                    &[
                        ("_csrf", &csrf),
                        ("display_name", "旧表单"),
                        ("role", "grid_worker"),
                        ("region_code", &m.town_code),
                        ("grid", &m.new_grid.code),
                        ("version", &m.gw.version.to_string()),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::CONFLICT);
        });
    }
);

both_engines!(
    the_users_list_filters_by_role_in_the_database,
    |t: TestDb| {
        let (app, nn) = nanning(t);
        block_on(async {
            moved_grid_worker(&app, &nn).await;
            let (cookie, _) = app.session("nn-commission-staff");
            let r = app.get("/users?kind=grid_worker", &cookie).await;
            assert!(
                r.text().contains("蒙小丽") && !r.text().contains("用户nn-leader"),
                "{}",
                r.text()
            );
        });
    }
);
