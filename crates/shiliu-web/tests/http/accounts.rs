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
