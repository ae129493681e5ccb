//! The organisation: importing regions, sites and units from Excel.

use axum::http::StatusCode;
use shiliu_db::both_engines;
use shiliu_db::testing::TestDb;

use crate::common::*;

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

// A site's poster and the pickers' levels.

/// The QR codes a page draws as SVG, read back: each path's modules set in a bitmap, scaled up
/// for the reader, and decoded.
fn qr_codes(html: &str) -> Vec<String> {
    html.split("<svg").skip(1).map(read_qr).collect()
}

fn read_qr(svg: &str) -> String {
    let number = |after: &str| -> usize {
        svg.split(after)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let size = number(" width=\"");
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut dark = vec![false; size * size];
    // Each dark run is "M{x} {y}h{w}v{h}H{x}V{y}".
    for run in path.split('M').filter(|r| !r.is_empty()) {
        let n: Vec<usize> = run
            .split(|ch: char| !ch.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let (x, y, w, h) = (n[0], n[1], n[2], n[3]);
        for row in y..y + h {
            for col in x..x + w {
                dark[row * size + col] = true;
            }
        }
    }
    let scale = 6;
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(size * scale, size * scale, |x, y| {
            if dark[(y / scale) * size + x / scale] {
                0
            } else {
                255
            }
        });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one code in each drawing");
    grids[0].decode().unwrap().1
}

both_engines!(
    a_sites_poster_carries_codes_for_its_two_public_forms,
    |t: TestDb| {
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
            .unwrap();
        block_on(async {
            let (cookie, _) = app.session("nn-site-staff");
            let r = app
                .get(&format!("/sites/{}/poster", nn.site), &cookie)
                .await;
            assert_eq!(r.status, StatusCode::OK);
            let codes = qr_codes(&r.text());
            let site = nn.site;
            assert_eq!(codes.len(), 2, "{}", r.text());
            assert!(codes[0].ends_with(&format!("/r?site={site}")), "{codes:?}");
            assert!(codes[1].ends_with(&format!("/d?site={site}")), "{codes:?}");
        });
    }
);

both_engines!(
    a_poster_names_the_server_at_its_public_address,
    |t: TestDb| {
        let config = shiliu_web::WebConfig {
            public_url: Some("https://shiliu.example.cn/".into()),
            ..shiliu_web::WebConfig::default()
        };
        let app = App::with(t, config);
        let nn = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
            .unwrap();
        block_on(async {
            let (cookie, _) = app.session("nn-site-staff");
            let page = app
                .get(&format!("/sites/{}/poster", nn.site), &cookie)
                .await;
            let site = nn.site;
            assert_eq!(
                qr_codes(&page.text())[0],
                format!("https://shiliu.example.cn/r?site={site}")
            );
        });
    }
);

both_engines!(the_site_page_links_its_poster, |t: TestDb| {
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    block_on(async {
        let (cookie, _) = app.session("nn-commission-staff");
        let page = app
            .get(&format!("/sites/{}", nn.site), &cookie)
            .await
            .text();
        assert!(
            page.contains(&format!("href=\"/sites/{}/poster\"", nn.site)),
            "{page}"
        );
    });
});

both_engines!(
    the_region_levels_fetched_by_a_picker_stay_in_scope,
    |t: TestDb| {
        let app = App::new(t);
        app.t
            .db
            .write_blocking(|c| {
                seed_city(c, "450200", "lz", "x");
                Ok(seed_city(c, "450100", "nn", "x"))
            })
            .unwrap();
        block_on(async {
            let (cookie, _) = app.session("nn-commission-staff");
            let mine = app
                .get("/regions/choices?around=450100", &cookie)
                .await
                .text();
            assert!(mine.contains("南宁市") && mine.contains("区"), "{mine}");
            let theirs = app
                .get("/regions/choices?around=450200", &cookie)
                .await
                .text();
            assert!(!theirs.contains("柳州市"), "{theirs}");
        });
    }
);

both_engines!(
    the_divisions_fetched_by_a_picker_open_the_next_level,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let groups: serde_json::Value =
                serde_json::from_str(&app.get("/reference/divisions?around=45", "").await.text())
                    .unwrap();
            let labels: Vec<&str> = groups
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["label"].as_str().unwrap())
                .collect();
            assert_eq!(labels, ["省、自治区、直辖市", "广西壮族自治区"]);
            assert!(groups[1]["options"].to_string().contains("南宁市"));
        });
    }
);

both_engines!(
    a_region_picker_opens_the_level_below_when_its_form_is_sent_without_javascript,
    |t: TestDb| {
        let app = App::new(t);
        let (city, county, comm, grid) = app
            .t
            .db
            .write_blocking(|c| {
                let nn = seed_city(c, "450100", "nn", "x");
                let all = shiliu_db::scope::Scope::everything();
                let city = shiliu_db::org::get_region_by_code(c, &all, "450100")?;
                let county = shiliu_db::org::children(c, &all, city.id, false)?.remove(0);
                let comm = shiliu_db::org::get_region(c, &all, nn.region)?;
                let grid = shiliu_db::org::get_region(c, &all, nn.grid)?;
                Ok((city, county, comm, grid))
            })
            .unwrap();
        block_on(async {
            let (cookie, csrf) = app.session("nn-commission-staff");
            // Each form with a region picker: the level below the city opens, what was typed
            // stays, and nothing is written.
            for (path, extra) in [
                ("/sites", ("name", "新建的民族之家")),
                ("/units", ("name", "新建的单位")),
                ("/users", ("display_name", "新来的同事")),
                ("/registry/surveys", ("name", "秋季摸排")),
                ("/settings/routing", ("keywords", "语言不通")),
                ("/requests", ("description", "想问问子女入学的事")),
                ("/registry", ("address", "民族路 8 号")),
            ] {
                let before = app.t.read_blocking_count();
                let r = app
                    .post(
                        path,
                        &cookie,
                        &[
                            ("_csrf", &csrf),
                            ("_open", "region_code"),
                            ("region_code", &city.code),
                            extra,
                        ],
                    )
                    .await;
                let page = r.text();
                assert_eq!(r.status, StatusCode::OK, "{path}: {page}");
                assert!(
                    page.contains(&format!(
                        "<option value=\"{}\">{}</option>",
                        county.code, county.name
                    )),
                    "{path}: the city's districts are offered: {page}"
                );
                assert!(page.contains(extra.1), "{path}: what was typed stays");
                assert!(
                    page.contains("name=\"_open\""),
                    "{path}: the next level opens again"
                );
                assert!(
                    !page.contains("role=\"alert\""),
                    "{path}: no errors yet: {page}"
                );
                assert_eq!(
                    app.t.read_blocking_count(),
                    before,
                    "{path}: nothing written"
                );
            }
            // A user's form lists the grids below the community picked, to tick.
            let r = app
                .post(
                    "/users",
                    &cookie,
                    &[
                        ("_csrf", &csrf),
                        ("_open", "region_code"),
                        ("region_code", &comm.code),
                    ],
                )
                .await;
            let page = r.text();
            assert!(
                page.contains(&format!(
                    "name=\"grid\" value=\"{}\"> nn社区 · nn网格",
                    grid.code
                )),
                "{page}"
            );
            let r = app
                .post(
                    "/users",
                    &cookie,
                    &[
                        ("_csrf", &csrf),
                        ("username", "new-grid-worker"),
                        ("display_name", "新网格员"),
                        ("password", "Correct-horse-42"),
                        ("role", "grid_worker"),
                        ("region_code", &comm.code),
                        ("grid", &grid.code),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let grids = app
                .t
                .db
                .write_blocking(|c| {
                    let u = shiliu_db::accounts::find_by_username(c, "new-grid-worker")?.unwrap();
                    shiliu_db::accounts::user_grid_ids(c, u.id)
                })
                .unwrap();
            assert_eq!(grids, [grid.id]);
        });
    }
);
