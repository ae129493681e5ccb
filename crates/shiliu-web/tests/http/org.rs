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
