//! Activities through the router: a grid worker logs one with photos from the quick-entry form
//! (its community's unit and their grid picked for them), a refused form keeps its photos, the
//! unit's "十进" progress and the statistics count it, the list exports it, the recorder
//! removes it after ticking the box — pages, the workbook and the API.

use axum::http::StatusCode;
use shiliu_db::both_engines;
use shiliu_db::org;
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_domain::org::UnitInput;

use crate::common::*;

/// The app with 南宁 seeded and a unit of the grid worker's community (社区居委会); its id.
fn city(t: TestDb) -> (App, i64) {
    let app = App::new(t);
    let unit = app
        .t
        .db
        .write_blocking(|c| {
            let d = seed_city(c, "450100", "nn", "x");
            let all = Scope::everything();
            let grid = org::get_region(c, &all, d.grid)?;
            let u = org::create_unit(
                c,
                &Actor::system("test"),
                grid.parent_id.unwrap(),
                &UnitInput::parse("nn社区居委会", "other", "", "").unwrap(),
            )?;
            Ok(u.id)
        })
        .unwrap();
    (app, unit)
}

/// A photo with a GPS block in its Exif (a phone's): SOI, APP1 Exif whose IFD0 points to a GPS
/// IFD holding `GPSLatitudeRef` "N", SOS, data, EOI.
fn phone_photo() -> Vec<u8> {
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&[1, 0, 0x25, 0x88, 4, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0, 0, 0, 0]);
    tiff.extend_from_slice(&[1, 0, 1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = u16::try_from(app1.len() + 2).unwrap().to_be_bytes();
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1, len[0], len[1]];
    out.extend_from_slice(&app1);
    out.extend_from_slice(&[0xFF, 0xDA, 0, 2, 1, 2, 3, 4, 0xFF, 0xD9]);
    out
}

/// The value a page's input or select named `name` holds (a select's option marked selected).
fn value_of(html: &str, name: &str) -> String {
    let Some(at) = html.find(&format!("name=\"{name}\"")) else {
        return String::new();
    };
    let tag_start = html[..at].rfind('<').unwrap_or(0);
    let value = |s: &str| {
        s.find("value=\"")
            .map(|i| s[i + 7..].split('"').next().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    if html[tag_start..].starts_with("<select") {
        let body = &html[at..];
        let body = &body[..body.find("</select>").unwrap_or(body.len())];
        return body
            .split("<option")
            .find(|o| o.contains(" selected"))
            .map(value)
            .unwrap_or_default();
    }
    let tag = &html[tag_start..];
    value(&tag[..tag.find('>').unwrap_or(tag.len())])
}

both_engines!(
    a_grid_worker_logs_an_activity_with_photos_and_the_units_progress_counts_it,
    |t: TestDb| {
        let (app, unit) = city(t);
        let (cookie, csrf) = app.session("nn-grid-worker");
        block_on(async {
            // The form picks the worker's community unit and grid, and today.
            let form = app.get("/activities/new", &cookie).await;
            assert_eq!(form.status, StatusCode::OK);
            let html = form.text();
            assert!(
                html.contains("nn社区居委会"),
                "the community's unit is offered"
            );
            assert!(
                !html.contains("nn教育局"),
                "the city's unit is not a grid worker's"
            );
            assert_eq!(value_of(&html, "organiser_unit"), unit.to_string());
            let grid = value_of(&html, "region");
            assert!(!grid.is_empty());
            let fields = |participants: &'static str| {
                vec![
                    ("form", "activity"),
                    ("activity_kind", "1"),
                    ("venue", "communities"),
                    ("title", "民族团结进社区宣讲"),
                    ("held_on", "2026-12-04"),
                    ("participants", participants),
                    ("material_21", "200"),
                    ("material_22", "2"),
                ]
            };
            let with_place = |mut f: Vec<(&'static str, &'static str)>,
                              grid: &'static str,
                              unit: &'static str| {
                f.push(("region", grid));
                f.push(("organiser_unit", unit));
                f
            };
            let grid: &'static str = Box::leak(grid.into_boxed_str());
            let unit_s: &'static str = Box::leak(unit.to_string().into_boxed_str());
            let photo = phone_photo();
            let photos: [(&str, &str, &[u8]); 2] = [
                ("photos", "现场1.jpg", &photo),
                ("photos", "现场2.jpg", &photo),
            ];
            // A number of people that is no number: refused by name, the photos kept.
            let r = app
                .multipart(
                    "/activities",
                    &cookie,
                    &csrf,
                    &with_place(fields("六十"), grid, unit_s),
                    &photos,
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let said = r.text();
            assert!(said.contains("参与人次"), "the field is named");
            assert!(
                said.contains("现场1.jpg") && said.contains("现场2.jpg"),
                "photos kept"
            );
            let kept = value_of(&said, "kept_photos");
            assert!(!kept.is_empty());
            let mut again = with_place(fields("60"), grid, unit_s);
            let kept: &'static str = Box::leak(kept.into_boxed_str());
            again.push(("kept_photos", kept));
            let r = app
                .multipart("/activities", &cookie, &csrf, &again, &[])
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let at = r.location();
            assert!(at.ends_with("?saved=1"), "{at}");
            let page = app.get(&at, &cookie).await.text();
            assert!(page.contains("已保存"));
            assert!(
                page.contains("宣传单 200份") && page.contains("横幅 2条"),
                "{page}"
            );
            let imgs: Vec<String> = links(&page)
                .into_iter()
                .filter(|l| l.contains("/photos/"))
                .collect();
            assert_eq!(imgs.len(), 2, "two photos: {imgs:?}");
            let ph = app.get(&imgs[0], &cookie).await;
            assert_eq!(ph.status, StatusCode::OK);
            assert_eq!(ph.headers["content-type"], "image/jpeg");
            assert!(!ph.body.windows(2).any(|w| w == b"N\0"), "no latitude left");

            // The unit's progress shows it: one activity, 社区 reached.
            let (staff, _) = app.session("nn-commission-staff");
            let board = app
                .get("/activities/progress?year=2026", &staff)
                .await
                .text();
            let line = board
                .split("<tr id=\"unit-")
                .find(|l| l.starts_with(&unit.to_string()))
                .expect("the unit's line");
            assert!(line.contains("60 人次"), "{line}");
            assert!(line.contains("venue reached\" title=\"社区\""), "{line}");
            assert!(line.contains("1/10"), "{line}");
            // With a target of one activity a year and no venue rule, it is met.
            let r = app
                .post(
                    &format!("/activities/progress/{unit}"),
                    &staff,
                    &[
                        ("_csrf", "csrf-nn-commission-staff"),
                        ("year", "2026"),
                        ("activities", "1"),
                        ("trainings", "0"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let board = app
                .get("/activities/progress?year=2026", &staff)
                .await
                .text();
            let line = board
                .split("<tr id=\"unit-")
                .find(|l| l.starts_with(&unit.to_string()))
                .unwrap();
            assert!(line.contains("1 / 1") && line.contains("已达标"), "{line}");

            // The list, its workbook, the statistics and the API agree.
            let list = app
                .get("/activities?venue=communities", &staff)
                .await
                .text();
            assert!(list.contains("民族团结进社区宣讲"));
            let x = app
                .get("/activities/export.xlsx?venue=communities", &staff)
                .await;
            let cells = xlsx_cells(&x.body);
            assert_eq!(cells.len(), 2, "the header and this one");
            assert!(
                cells
                    .iter()
                    .any(|r| r.contains(&calamine::Data::Float(60.0))),
                "people are a number"
            );
            let (s, stats) = app
                .api_get(
                    "/api/v1/activities/stats?from=2026-12-01&to=2026-12-31",
                    "nn-commission-staff",
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{stats}");
            let venue = stats["by_venue"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["key"] == "communities")
                .unwrap();
            assert_eq!(venue["activities"], 1, "{stats}");
            assert_eq!(venue["participants"], 60);
            let leaflets = stats["materials"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == "宣传单")
                .unwrap();
            assert_eq!(leaflets["quantity"], 200);
            let (s, listed) = app
                .api_get("/api/v1/activities?q=进社区", "nn-leader")
                .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(listed["total"], 1, "{listed}");
            assert_eq!(listed["items"][0]["photos"], 2);

            // Removing it asks first, then says what it removed.
            let id = at
                .trim_start_matches("/activities/")
                .trim_end_matches("?saved=1")
                .to_string();
            let r = app
                .post(
                    &format!("/activities/{id}/remove"),
                    &cookie,
                    &[("_csrf", &csrf), ("version", "1")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            // Named as the box, not as a password's confirmation.
            assert!(r.text().contains("确认：请勾选确认框"), "{}", r.text());
            assert!(!r.text().contains("确认密码"));
            let r = app
                .post(
                    &format!("/activities/{id}/remove"),
                    &cookie,
                    &[("_csrf", &csrf), ("version", "1"), ("confirm", "1")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let list = app.get(&r.location(), &cookie).await.text();
            assert!(
                list.contains("已删除“民族团结进社区宣讲”（2026-12-04）"),
                "{list}"
            );
            assert_eq!(
                app.get(&format!("/activities/{id}"), &staff).await.status,
                StatusCode::NOT_FOUND
            );
        });
    }
);

both_engines!(
    a_leader_reads_but_does_not_log_and_the_commission_keeps_the_lists,
    |t: TestDb| {
        let (app, _) = city(t);
        block_on(async {
            let (leader, _) = app.session("nn-leader");
            assert_eq!(app.get("/activities", &leader).await.status, StatusCode::OK);
            assert_eq!(
                app.get("/activities/new", &leader).await.status,
                StatusCode::FORBIDDEN
            );
            assert_eq!(
                app.get("/activities/stats", &leader).await.status,
                StatusCode::OK
            );
            assert_eq!(
                app.get("/activities/calendar", &leader).await.status,
                StatusCode::OK
            );
            let (lawyer, _) = app.session("nn-legal-aid");
            assert_eq!(
                app.get("/activities", &lawyer).await.status,
                StatusCode::FORBIDDEN
            );
            // The lists: the commission adds a material; a material needs its unit word.
            let (staff, csrf) = app.session("nn-commission-staff");
            let r = app
                .post(
                    "/settings/activity-lists",
                    &staff,
                    &[
                        ("_csrf", &csrf),
                        ("list", "material"),
                        ("name", "宣传折页"),
                        ("unit_word", ""),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("计量单位"));
            let r = app
                .post(
                    "/settings/activity-lists",
                    &staff,
                    &[
                        ("_csrf", &csrf),
                        ("list", "material"),
                        ("name", "宣传折页"),
                        ("unit_word", "份"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let form = app.get("/activities/new", &staff).await.text();
            assert!(form.contains("宣传折页（份）"));
            assert_eq!(
                app.get("/settings/activity-lists", &leader).await.status,
                StatusCode::FORBIDDEN
            );
            // The API records one; a bad venue is refused by name.
            let (s, e) = app
                .api(
                    "POST",
                    "/api/v1/activities",
                    "nn-commission-staff",
                    Some(serde_json::json!({"title": "知识竞赛", "kind_id": "5", "venue": "moon",
                        "organiser_unit_id": "1", "region_code": "450100", "held_on": "2026-12-01", "participants": "30"})),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert!(e["error"]["details"]["venue"].is_string(), "{e}");
        });
    }
);

both_engines!(
    activities_come_in_from_a_sheet_checked_whole_before_anything_is_written,
    |t: TestDb| {
        let (app, _) = city(t);
        let (staff, csrf) = app.session("nn-commission-staff");
        block_on(async {
            let tpl = app.get("/activities/import/template.xlsx", &staff).await;
            assert_eq!(tpl.status, StatusCode::OK);
            let head = xlsx_text(&tpl.body);
            assert!(
                head.contains("宣传单（份）") && head.contains("主办单位"),
                "{head}"
            );
            let header: &[&str] = &[
                "日期",
                "标题",
                "类别",
                "活动类型",
                "“十进”场所",
                "主办单位",
                "所属区域代码",
                "参与人次",
                "培训对象",
                "学时",
                "宣传单（份）",
                "横幅（条）",
            ];
            let good: [&[&str]; 3] = [
                &[
                    "2026-11-03",
                    "民族团结进学校宣讲",
                    "活动",
                    "宣讲",
                    "进学校",
                    "nn教育局",
                    "450100",
                    "120",
                    "",
                    "",
                    "300",
                    "2",
                ],
                &[
                    "2026-11-10",
                    "石榴籽知识竞赛",
                    "活动",
                    "知识竞赛",
                    "学校",
                    "nn教育局",
                    "450100",
                    "80",
                    "",
                    "",
                    "",
                    "",
                ],
                &[
                    "2026-11-20",
                    "教师民族团结教育培训班",
                    "培训班",
                    "",
                    "",
                    "nn教育局",
                    "450100",
                    "40",
                    "教师",
                    "12",
                    "",
                    "",
                ],
            ];
            let mut bad: Vec<&[&str]> = vec![header];
            bad.extend_from_slice(&good);
            let wrong: &[&str] = &[
                "2026-11-21",
                "错行",
                "活动",
                "宣讲",
                "进月球",
                "不存在的局",
                "450100",
                "十",
                "",
                "",
                "",
                "",
            ];
            bad.push(wrong);
            let r = app
                .upload("/activities/import", &staff, &csrf, xlsx(&bad), "commit")
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let said = r.text();
            for (column, why) in [
                ("“十进”场所", "第 5 行"),
                ("主办单位", "第 5 行"),
                ("参与人次", "第 5 行"),
            ] {
                assert!(
                    said.contains(column) && said.contains(why),
                    "{column}: {said}"
                );
            }
            let (_, none) = app
                .api_get("/api/v1/activities", "nn-commission-staff")
                .await;
            assert_eq!(none["total"], 0, "nothing written");
            let mut rows: Vec<&[&str]> = vec![header];
            rows.extend_from_slice(&good);
            let r = app
                .upload("/activities/import", &staff, &csrf, xlsx(&rows), "dry_run")
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            assert!(r.text().contains("检查通过：共 3 行"));
            let r = app
                .upload("/activities/import", &staff, &csrf, xlsx(&rows), "commit")
                .await;
            assert!(r.text().contains("已导入 3 行"), "{}", r.text());
            let (_, all) = app
                .api_get("/api/v1/activities", "nn-commission-staff")
                .await;
            assert_eq!(all["total"], 3, "{all}");
            let first = all["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["title"] == "民族团结进学校宣讲")
                .unwrap();
            assert_eq!(first["venue"], "schools");
            let (_, one) = app
                .api_get(
                    &format!("/api/v1/activities/{}", first["id"]),
                    "nn-commission-staff",
                )
                .await;
            assert_eq!(one["materials"][0]["quantity"], 300, "{one}");
            let training = all["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["form"] == "training")
                .unwrap();
            assert_eq!(training["hours"], 12.0);
            // A grid worker may not import.
            let (grid, grid_csrf) = app.session("nn-grid-worker");
            let r = app
                .upload(
                    "/activities/import",
                    &grid,
                    &grid_csrf,
                    xlsx(&rows),
                    "commit",
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
        });
    }
);

both_engines!(
    a_trainings_sign_in_sheet_becomes_its_list_and_its_count,
    |t: TestDb| {
        let (app, unit) = city(t);
        let (cookie, csrf) = app.session("nn-grid-worker");
        block_on(async {
            let form = app
                .get("/activities/new?form=training", &cookie)
                .await
                .text();
            let grid = value_of(&form, "region");
            let unit = unit.to_string();
            let r = app
                .multipart(
                    "/activities",
                    &cookie,
                    &csrf,
                    &[
                        ("form", "training"),
                        ("title", "网格员民族政策培训班"),
                        ("held_on", "2026-12-03"),
                        ("participants", "30"),
                        ("hours", "3"),
                        ("audience", "41"),
                        ("region", &grid),
                        ("organiser_unit", &unit),
                    ],
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let page = r.location().split('?').next().unwrap().to_string();
            let list = format!("{page}/trainees");
            assert!(app.get(&page, &cookie).await.text().contains(&list));

            // One by hand; a phone that is no mobile is refused by name, the form kept.
            let r = app
                .post(
                    &list,
                    &cookie,
                    &[("_csrf", &csrf), ("name", "韦老师"), ("phone", "12345")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = r.text();
            assert!(
                text.contains("手机号码") && text.contains("value=\"韦老师\""),
                "{text}"
            );
            let r = app
                .post(
                    &list,
                    &cookie,
                    &[
                        ("_csrf", &csrf),
                        ("name", "韦老师"),
                        ("organisation", "古宜镇中心小学"),
                        ("phone", "13800001234"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

            // A sign-in sheet with a title line: one row names 韦老师 again, one has no name —
            // both reported by row, nothing written.
            let import = format!("{list}/import");
            let bad = xlsx(&[
                &["网格员培训签到表"],
                &["姓名", "工作单位", "职务", "联系电话"],
                &["杨老师", "古宜镇", "网格员", "13800005678"],
                &["韦老师", "古宜镇中心小学", "", "138 0000 1234"],
                &["", "古宜镇", "", ""],
            ]);
            let r = app.upload(&import, &cookie, &csrf, bad, "commit").await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = r.text();
            assert!(
                text.contains("第 4 行") && text.contains("同一姓名和手机号"),
                "{text}"
            );
            assert!(text.contains("第 5 行"), "{text}");
            let good = xlsx(&[
                &["姓名", "工作单位", "职务", "联系电话"],
                &["杨老师", "古宜镇", "网格员", "13800005678"],
                &["吴大姐", "", "", ""],
            ]);
            let dry = app
                .upload(&import, &cookie, &csrf, good.clone(), "dry_run")
                .await;
            assert!(dry.text().contains("共 2 行"), "{}", dry.text());
            let done = app.upload(&import, &cookie, &csrf, good, "commit").await;
            assert!(done.text().contains("已导入 2 行"), "{}", done.text());

            // The count is the list's; the page masks the phones.
            let text = app.get(&list, &cookie).await.text();
            assert!(
                text.contains("名单共 3 人") && text.contains("138****1234"),
                "{text}"
            );
            assert!(!text.contains("13800001234"));
            let shown = app.get(&page, &cookie).await.text();
            assert!(
                shown.contains("学员名单（3 人）") && shown.contains("按名单"),
                "{shown}"
            );
            let id = page.trim_start_matches("/activities/");
            let (s, one) = app
                .api(
                    "GET",
                    &format!("/api/v1/activities/{id}"),
                    "nn-commission-staff",
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(one["participants"], 3, "{one}");
            let (s, api) = app
                .api(
                    "GET",
                    &format!("/api/v1/activities/{id}/trainees"),
                    "nn-commission-staff",
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(api.as_array().unwrap().len(), 3);
            assert_eq!(api[0]["phone"], "138****1234");

            // Its keeper's workbook has the phones in full (an audited read); a leader's masked.
            let mine = app.get(&format!("{list}.xlsx"), &cookie).await;
            let cells = xlsx_cells(&mine.body);
            assert_eq!(cells.len(), 4);
            assert_eq!(cells[1][3].to_string(), "13800001234");
            let (leader, _) = app.session("nn-leader");
            let theirs = app.get(&format!("{list}.xlsx"), &leader).await;
            assert_eq!(xlsx_cells(&theirs.body)[1][3].to_string(), "138****1234");
            // A leader neither adds nor imports.
            assert_eq!(
                app.get(&import, &leader).await.status,
                StatusCode::FORBIDDEN
            );

            // Taken off: counted again.
            let trainee = text
                .split(&format!("action=\"{list}/"))
                .nth(1)
                .and_then(|s| s.split('/').next())
                .unwrap()
                .to_string();
            let r = app
                .post(
                    &format!("{list}/{trainee}/remove"),
                    &cookie,
                    &[("_csrf", &csrf)],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            assert!(app.get(&list, &cookie).await.text().contains("名单共 2 人"));
        });
    }
);
