//! Consultation councils through the router: the community's staff set up a council and its
//! members; a grid worker brings an item, a resident sends one from the public page, staff take
//! one in person; the meeting on a 14th decides one, declines one and hands one to a request;
//! the follow-up marks the decided one done; the minutes, the public notice (no phone, a name
//! only with consent), the statistics and the API say the same — pages, workbook and API.

use axum::http::StatusCode;
use chrono::Datelike;
use shiliu_db::both_engines;
use shiliu_db::councils::{self, items};
use shiliu_db::org;
use shiliu_db::scope::Scope;
use shiliu_db::testing::TestDb;

use crate::common::*;

const RESIDENT: &str = "shiliu_csrf=resident-token-0123456789";
const RESIDENT_TOKEN: &str = "resident-token-0123456789";

/// The latest 14th of a month that is not after today.
fn last_14th() -> chrono::NaiveDate {
    let today = shiliu_db::today();
    let this = today.with_day(14).unwrap();
    if this <= today {
        this
    } else {
        this.checked_sub_months(chrono::Months::new(1)).unwrap()
    }
}

fn location(r: &Resp) -> String {
    r.headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

both_engines!(
    a_council_meets_on_a_14th_and_its_decisions_are_followed_and_published,
    |t: TestDb| {
        let app = App::new(t);
        let d = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
            .unwrap();
        let community = app
            .t
            .db
            .write_blocking(move |c| {
                let all = Scope::everything();
                let grid = org::get_region(c, &all, d.grid)?;
                org::get_region(c, &all, grid.parent_id.unwrap())
            })
            .unwrap();
        let (staff, csrf) = app.session("nn-township-staff");
        block_on(async {
            // The council, from the form; a refused form names its field.
            let r = app
                .post(
                    "/councils",
                    &staff,
                    &[
                        ("_csrf", &csrf),
                        ("name", ""),
                        ("region_code", &community.code),
                        ("rhythm", "fourths"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                r.text().contains("名称") || r.text().contains("name"),
                "names the field"
            );
            let r = app
                .post(
                    "/councils",
                    &staff,
                    &[
                        ("_csrf", &csrf),
                        ("name", "nn社区逢四说事会"),
                        ("region_code", &community.code),
                        ("rhythm", "fourths"),
                        ("place", "社区议事厅"),
                        ("starts_at", "09:30"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let page = location(&r);
            let id: i64 = page
                .trim_start_matches("/councils/")
                .split('?')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let r = app.get(&page, &staff).await;
            assert!(r.text().contains("nn社区逢四说事会") && r.text().contains("逢四"));

            let r = app
                .post(
                    &format!("/councils/{id}/members"),
                    &staff,
                    &[
                        ("_csrf", &csrf),
                        ("name", "黄大姐"),
                        ("role", "convener"),
                        ("note", "老党员"),
                        ("phone", "13800138000"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let text = app.get(&format!("/councils/{id}"), &staff).await.text();
            assert!(text.contains("黄大姐") && text.contains("138****8000"));
            assert!(!text.contains("13800138000"), "a member's phone is masked");

            // Three items by three ways in.
            let (grid, grid_csrf) = app.session("nn-grid-worker");
            let listed = app.get("/councils", &grid).await.text();
            assert!(
                listed.contains("nn社区逢四说事会"),
                "the grid worker's community's council"
            );
            let r = app
                .post(
                    &format!("/councils/{id}/items"),
                    &grid,
                    &[
                        ("_csrf", &grid_csrf),
                        ("channel", "grid_worker"),
                        ("text", "三巷路灯坏了"),
                        ("raised_by", "蓝阿姨"),
                        ("phone", "13900139000"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let r = app
                .post(
                    &format!("/councils/{id}/members"),
                    &grid,
                    &[("_csrf", &grid_csrf), ("name", "越权"), ("role", "member")],
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "a grid worker does not run it"
            );
            let code = app
                .t
                .db
                .write_blocking(
                    move |c| Ok(councils::get(c, &Scope::everything(), id)?.public_code),
                )
                .unwrap();
            let r = app.get(&format!("/c/{code}"), "").await;
            assert_eq!(r.status, StatusCode::OK);
            let r = app
                .post(
                    &format!("/c/{code}"),
                    RESIDENT,
                    &[
                        ("_csrf", RESIDENT_TOKEN),
                        ("text", "楼下乱停车"),
                        ("raised_by", "覃师傅"),
                        ("publish_name", "1"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            assert_eq!(location(&r), format!("/c/{code}?sent=1"));
            let r = app
                .post(
                    &format!("/councils/{id}/items"),
                    &staff,
                    &[
                        ("_csrf", &csrf),
                        ("channel", "in_person"),
                        ("text", "孩子入学咨询"),
                        ("raised_by", "马女士"),
                        ("phone", "13700137000"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);

            // The meeting of the 14th; not one to come.
            let member = app
                .t
                .db
                .write_blocking(move |c| {
                    let co = councils::get(c, &Scope::everything(), id)?;
                    Ok(councils::members(c, &co)?[0].id.to_string())
                })
                .unwrap();
            let ahead = (shiliu_db::today() + chrono::Duration::days(3)).to_string();
            let r = app
                .post(
                    &format!("/councils/{id}/meetings"),
                    &staff,
                    &[("_csrf", &csrf), ("held_on", &ahead), ("present", &member)],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("议事日期"), "the field named");
            let held = last_14th();
            let r = app
                .post(
                    &format!("/councils/{id}/meetings"),
                    &staff,
                    &[
                        ("_csrf", &csrf),
                        ("held_on", &held.to_string()),
                        ("present", &member),
                        ("guests", "12"),
                        ("notes", "议了三件事"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let meeting_page = location(&r).split('?').next().unwrap().to_string();
            let waiting = app
                .t
                .db
                .write_blocking(move |c| {
                    let co = councils::get(c, &Scope::everything(), id)?;
                    items::waiting(c, &co)
                })
                .unwrap();
            let item = |words: &str| waiting.iter().find(|i| i.text == words).unwrap().id;
            let (lamp, parking, school) = (
                item("三巷路灯坏了"),
                item("楼下乱停车"),
                item("孩子入学咨询"),
            );
            let due = (held + chrono::Duration::days(6)).to_string();
            let settle = |item: i64, fields: Vec<(&'static str, String)>| {
                let mut f = vec![("_csrf", csrf.clone()), ("version", "1".to_string())];
                f.extend(fields);
                (format!("{meeting_page}/items/{item}"), f)
            };
            let category = app
                .t
                .db
                .write_blocking(|c| Ok(shiliu_db::requests::categories(c, false)?[0].id))
                .unwrap();
            let requests_before = app
                .t
                .db
                .write_blocking(|c| shiliu_db::requests::count(c, &Scope::everything()))
                .unwrap();
            // Handing on cannot be taken back: not without the box ticked, and nothing made.
            let (path, form) = settle(
                school,
                vec![
                    ("action", "refer".into()),
                    ("category_id", category.to_string()),
                ],
            );
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app.post(&path, &staff, &pairs).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("确认：请勾选确认框"));
            for (path, form) in [
                settle(
                    lamp,
                    vec![
                        ("action", "decide".into()),
                        ("decision", "联系供电所更换灯泡".into()),
                        ("responsible", "社区主任".into()),
                        ("due_on", due.clone()),
                    ],
                ),
                settle(
                    parking,
                    vec![
                        ("action", "decline".into()),
                        ("reason", "属物业管理，已转告物业".into()),
                    ],
                ),
                settle(
                    school,
                    vec![
                        ("action", "refer".into()),
                        ("category_id", category.to_string()),
                        ("confirm", "1".into()),
                    ],
                ),
            ] {
                let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let r = app.post(&path, &staff, &pairs).await;
                assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}: {}", r.text());
            }
            let requests_after = app
                .t
                .db
                .write_blocking(|c| shiliu_db::requests::count(c, &Scope::everything()))
                .unwrap();
            assert_eq!(requests_after, requests_before + 1, "one request made");
            let text = app.get(&meeting_page, &staff).await.text();
            assert!(text.contains("联系供电所更换灯泡") && text.contains("已转为诉求"));
            // The request says which meeting handed it on, and links back to it.
            let request = text
                .split("href=\"/requests/")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("the meeting links its request");
            let page = app
                .get(&format!("/requests/{request}"), &staff)
                .await
                .text();
            assert!(page.contains("议事会转办"), "{page}");
            assert!(page.contains(&format!("href=\"{meeting_page}\"")), "{page}");
            let minutes = app
                .get(&format!("{meeting_page}/minutes"), &staff)
                .await
                .text();
            assert!(minutes.contains("会议纪要") && minutes.contains("黄大姐"));
            assert!(minutes.contains("属物业管理") && minutes.contains("社区主任"));

            // The follow-up.
            let r = app
                .post(
                    &format!("/councils/{id}/items/{lamp}/done"),
                    &staff,
                    &[
                        ("_csrf", &csrf),
                        ("version", "2"),
                        ("done_on", &(held + chrono::Duration::days(2)).to_string()),
                        ("outcome", "灯泡已更换"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

            // The public notice: decisions, no phones, a name only with consent.
            let public = app.get(&format!("/c/{code}"), "").await.text();
            assert!(public.contains("联系供电所更换灯泡") && public.contains("属物业管理"));
            assert!(public.contains("覃师傅"), "consented");
            for hidden in [
                "蓝阿姨",
                "马女士",
                "13900139000",
                "13700137000",
                "139****9000",
            ] {
                assert!(!public.contains(hidden), "the public page shows {hidden}");
            }

            // The statistics: the page's workbook and the API say the same.
            let from = format!("{}-01-01", held.year());
            let to = format!("{}-12-31", held.year());
            let (s, body) = app
                .api_get(
                    &format!("/api/v1/councils/stats?from={from}&to={to}"),
                    "nn-township-staff",
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{body}");
            let total = &body["total"];
            assert_eq!(total["meetings"], 1);
            assert_eq!(total["attendance"], 13);
            assert_eq!(total["items_raised"], 3);
            assert_eq!(total["items_decided"], 2);
            assert_eq!(total["items_declined"], 1);
            assert_eq!(total["items_done"], 1);
            assert_eq!(total["items_on_time"], 1);
            assert_eq!(total["on_time_per_mille"], 500);
            let r = app
                .get(&format!("/councils/stats.xlsx?from={from}&to={to}"), &staff)
                .await;
            assert_eq!(r.status, StatusCode::OK);
            let sheet = xlsx_text(&r.body);
            assert!(
                sheet.contains("合计\t合计\t1\t13\t3\t2\t1\t1\t1\t"),
                "{sheet}"
            );

            // The API's council: members without phones, the follow-up open.
            let (s, one) = app
                .api_get(&format!("/api/v1/councils/{id}"), "nn-grid-worker")
                .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(one["members"][0]["name"], "黄大姐");
            assert!(!one.to_string().contains("13800138000"));
            assert_eq!(
                one["open_items"].as_array().unwrap().len(),
                1,
                "the request's item"
            );
            let (s, _) = app
                .api(
                    "POST",
                    &format!("/api/v1/councils/{id}/items"),
                    "nn-grid-worker",
                    Some(serde_json::json!({"channel": "grid_worker", "text": "井盖松动"})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED);
            let follow = app.get("/councils/follow-up", &staff).await.text();
            assert!(follow.contains("孩子入学咨询") && !follow.contains("三巷路灯坏了"));
            let follow = app.get("/councils/follow-up.xlsx", &staff).await;
            assert!(xlsx_text(&follow.body).contains("孩子入学咨询"));
            let overdue = app
                .get("/councils/follow-up?overdue=1", &staff)
                .await
                .text();
            assert!(
                !overdue.contains("孩子入学咨询"),
                "the request's deadline is ahead"
            );
            let export = app.get("/councils/export.xlsx", &staff).await;
            assert!(xlsx_text(&export.body).contains("nn社区逢四说事会"));
        });
    }
);
