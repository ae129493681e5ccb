//! Requests from intake to the rating: pages, the public forms, the API, settings, search, files.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shiliu_db::accounts::{self, NewUser};
use shiliu_db::both_engines;
use shiliu_db::org::{self};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_domain::accounts::Username;
use shiliu_domain::requests::{Channel, RequestInput};
use shiliu_domain::roles::Role;

use crate::common::*;

both_engines!(
    a_request_goes_round_the_loop_through_the_pages,
    |t: TestDb| {
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
            .unwrap();
        let (grid_code, site_name) = app
            .t
            .db
            .write_blocking(move |c| {
                let all = Scope::everything();
                Ok((
                    org::get_region(c, &all, nn.grid)?.code,
                    org::get_site(c, &all, nn.site)?.name,
                ))
            })
            .unwrap();
        block_on(async {
            // A grid worker takes a request in on a phone; bad input first.
            let (gw, gw_csrf) = app.session("nn-grid-worker");
            let form = app.get("/requests/new", &gw).await.text();
            assert!(
                form.contains(&grid_code),
                "the grid worker picks one of their grids"
            );
            let r = app
                .post(
                    "/requests",
                    &gw,
                    &[
                        ("_csrf", &gw_csrf),
                        ("channel", "grid"),
                        ("category_id", "x"),
                        ("region_code", &grid_code),
                        ("description", ""),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("诉求内容：必填"), "{}", r.text());
            let r = app
                .post(
                    "/requests",
                    &gw,
                    &[
                        ("_csrf", &gw_csrf),
                        ("channel", "hotline"),
                        ("category_id", "1"),
                        ("region_code", &grid_code),
                        ("description", "x"),
                    ],
                )
                .await;
            assert!(
                r.text().contains("渠道：请从列表中选择"),
                "a grid worker records the grid channel only"
            );
            let cat = app
                .t
                .db
                .write_blocking(|c| Ok(shiliu_db::requests::categories(c, false)?.remove(2)))
                .unwrap();
            let r = app
                .post(
                    "/requests",
                    &gw,
                    &[
                        ("_csrf", &gw_csrf),
                        ("channel", "grid"),
                        ("category_id", &cat.id.to_string()),
                        ("region_code", &grid_code),
                        ("description", "出租屋漏水房东不修"),
                        ("contact_phone", "13977112233"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let path = r.headers[header::LOCATION]
                .to_str()
                .unwrap()
                .split('?')
                .next()
                .unwrap()
                .to_string();
            let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
            let page = app.get(&path, &gw).await.text();
            assert!(page.contains("已受理") && page.contains("出租屋漏水房东不修"));
            assert!(
                !page.contains("name=\"action\" value=\"dispatch\""),
                "a grid worker does not dispatch"
            );

            let version = || {
                app.t
                    .db
                    .write_blocking(move |c| {
                        Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.version)
                    })
                    .unwrap()
                    .to_string()
            };
            let act = |cookie: String,
                       csrf: String,
                       action: &'static str,
                       extra: Vec<(&'static str, String)>| {
                let app = &app;
                let v = version();
                async move {
                    let mut form: Vec<(&str, &str)> =
                        vec![("_csrf", &csrf), ("action", action), ("version", &v)];
                    for (k, val) in &extra {
                        form.push((k, val));
                    }
                    app.post(&format!("/requests/{id}/step"), &cookie, &form)
                        .await
                }
            };
            let (cs, cs_csrf) = app.session("nn-commission-staff");
            let (ss, ss_csrf) = app.session("nn-site-staff");
            let r = act(
                cs.clone(),
                cs_csrf.clone(),
                "dispatch",
                vec![("site_name", "没有这个站点".into())],
            )
            .await;
            assert!(
                r.text().contains("您的范围内没有这个名称的在用站点"),
                "{}",
                r.text()
            );
            let ok = StatusCode::SEE_OTHER;
            assert_eq!(
                act(
                    cs.clone(),
                    cs_csrf.clone(),
                    "dispatch",
                    vec![("site_name", site_name.clone())]
                )
                .await
                .status,
                ok
            );
            // The site returns it without a reason: refused; with one: back to the dispatcher.
            let r = act(ss.clone(), ss_csrf.clone(), "return", vec![]).await;
            assert!(r.text().contains("原因 / 说明：必填"), "{}", r.text());
            assert_eq!(
                act(
                    ss.clone(),
                    ss_csrf.clone(),
                    "return",
                    vec![("reason", "应由社区处理".into())]
                )
                .await
                .status,
                ok
            );
            assert_eq!(
                act(
                    cs.clone(),
                    cs_csrf.clone(),
                    "dispatch",
                    vec![("site_name", site_name.clone())]
                )
                .await
                .status,
                ok
            );
            for a in ["accept", "start"] {
                assert_eq!(
                    act(ss.clone(), ss_csrf.clone(), a, vec![]).await.status,
                    ok,
                    "{a}"
                );
            }
            let r = act(
                ss.clone(),
                ss_csrf.clone(),
                "resolve",
                vec![("outcome", "solved".into()), ("reply", String::new())],
            )
            .await;
            assert!(r.text().contains("答复群众：必填"));
            let resolve = vec![
                ("outcome", "solved".to_string()),
                ("reply", "已联系房东维修".to_string()),
            ];
            assert_eq!(
                act(ss.clone(), ss_csrf.clone(), "resolve", resolve)
                    .await
                    .status,
                ok
            );
            // A stale form is refused, not applied.
            let r = app
                .post(
                    &format!("/requests/{id}/step"),
                    &cs,
                    &[
                        ("_csrf", &cs_csrf),
                        ("action", "rate"),
                        ("rating", "satisfied"),
                        ("version", "1"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::CONFLICT);
            assert_eq!(
                act(
                    cs.clone(),
                    cs_csrf.clone(),
                    "rate",
                    vec![("rating", "satisfied".into())]
                )
                .await
                .status,
                ok
            );
            assert_eq!(
                act(cs.clone(), cs_csrf.clone(), "close", vec![])
                    .await
                    .status,
                ok
            );
            let page = app.get(&path, &cs).await.text();
            for s in [
                "已归档",
                "满意",
                "已联系房东维修",
                "应由社区处理",
                "派单",
                "退回",
                "接单",
                "办结",
                "回访评价",
            ] {
                assert!(page.contains(s), "{s} in the page: {page}");
            }
            let list = app.get("/requests?status=closed", &cs).await.text();
            assert!(list.contains("出租屋漏水房东不修"));
            let print = app.get(&format!("{path}/print"), &cs).await;
            assert_eq!(print.status, StatusCode::OK);
            assert!(
                print.text().contains("应由社区处理") && !print.text().contains("<form"),
                "a print view without forms"
            );
            let x = app.get("/requests/export.xlsx?status=closed", &cs).await;
            assert!(xlsx_text(&x.body).contains("出租屋漏水房东不修"));
            let stats = app.get("/requests/stats?by=channel", &cs).await.text();
            assert!(
                stats.contains("<svg") && stats.contains("网格员上报") && stats.contains("100.0%"),
                "{stats}"
            );
            let bad = app.get("/requests/stats?from=yesterday", &cs).await;
            assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(bad.text().contains("月份格式应为"), "{}", bad.text());
            let by_region = app.get("/requests/stats?by=region", &cs).await.text();
            assert!(
                by_region.contains("<svg") && by_region.contains("100.0%"),
                "{by_region}"
            );
            let x = app.get("/requests/stats.xlsx?by=channel", &cs).await;
            let cells = xlsx_text(&x.body);
            assert!(
                cells.contains("网格员上报") && cells.contains("合计"),
                "{cells}"
            );
        });
    }
);

both_engines!(
    a_resident_submits_follows_and_rates_without_an_account,
    |t: TestDb| {
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
            .unwrap();
        block_on(async {
            // The place: drill down from the region to a community, with no account.
            let r = app.get("/r", "").await;
            assert_eq!(r.status, StatusCode::OK);
            assert!(r.text().contains("南宁市") && r.text().contains("柳州市"));
            let r = app.get(&format!("/r?region={}", nn.region), "").await;
            assert!(
                r.text().contains("提交诉求") && r.text().contains("nn社区"),
                "{}",
                r.text()
            );
            let pre = "shiliu_csrf=resident-token-0123456789";
            let cat = app
                .t
                .db
                .write_blocking(|c| Ok(shiliu_db::requests::categories(c, false)?.remove(1)))
                .unwrap();
            let region = nn.region.to_string();
            let cat_id = cat.id.to_string();
            let form = |phone: &'static str, consent: bool| {
                let mut f = vec![
                    ("_csrf", "resident-token-0123456789".to_string()),
                    ("region", region.clone()),
                    ("category_id", cat_id.clone()),
                    ("description", "孩子转学需要哪些材料？".to_string()),
                    ("contact_phone", phone.to_string()),
                ];
                if consent {
                    f.push(("consent", "1".to_string()));
                }
                f
            };
            let as_ref = |f: &Vec<(&'static str, String)>| {
                f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
            };
            let post = |f: Vec<(&'static str, String)>| {
                let app = &app;
                async move {
                    let pairs: Vec<(&str, &str)> =
                        f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    app.post("/r", pre, &pairs).await
                }
            };
            // Without the form's token nothing is taken; without consent, the field says why.
            let r = app
                .post("/r", "", &[("region", &region), ("description", "x")])
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            let r = post(as_ref(&form("13912345678", false))).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                r.text().contains("需要同意使用您的信息办理诉求"),
                "{}",
                r.text()
            );
            let r = post(as_ref(&form("13912345678", true))).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
            let code = to
                .trim_start_matches("/r/")
                .split('?')
                .next()
                .unwrap()
                .to_string();
            let page = app.get(&to, "").await.text();
            assert!(
                page.contains(&code) && page.contains("已收到您的诉求") && page.contains("已受理")
            );
            assert!(
                !page.contains("13912345678"),
                "no contact details on the public page"
            );
            // A photo comes with the request (multipart, the token in the address); a file
            // that is not a photo is refused and named.
            let mut with_photo = as_ref(&form("13912345600", true));
            with_photo.retain(|(k, _)| *k != "_csrf");
            let fields: Vec<(&str, &str)> =
                with_photo.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app
                .multipart(
                    "/r",
                    pre,
                    "resident-token-0123456789",
                    &fields,
                    &[("photos", "a.pdf", b"%PDF-1.4")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("a.pdf"), "{}", r.text());
            let r = app
                .multipart(
                    "/r",
                    pre,
                    "resident-token-0123456789",
                    &fields,
                    &[("photos", "漏水.png", PNG)],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let photo_code = r
                .location()
                .trim_start_matches("/r/")
                .split('?')
                .next()
                .unwrap()
                .to_string();
            let kept = app
                .t
                .db
                .write_blocking(move |c| {
                    let r = shiliu_db::requests::by_code(c, &photo_code)?;
                    shiliu_db::requests::files::list(c, &r)
                })
                .unwrap();
            assert_eq!(kept.len(), 1);
            assert_eq!(kept[0].uploader, "resident");
            // The same phone may not flood the desk.
            for _ in 0..2 {
                assert_eq!(
                    post(as_ref(&form("13912345678", true))).await.status,
                    StatusCode::SEE_OTHER
                );
            }
            assert_eq!(
                post(as_ref(&form("13912345678", true))).await.status,
                StatusCode::TOO_MANY_REQUESTS
            );
            // Staff handle it; the resident reads the reply and rates it.
            let staff = Actor::system("staff");
            let c2 = code.clone();
            app.t
                .db
                .write_blocking(move |c| {
                    let mut r = shiliu_db::requests::by_code(c, &c2)?;
                    for (a, input) in [
                        (
                            shiliu_domain::requests::Action::Dispatch,
                            shiliu_domain::requests::ActionInput::default(),
                        ),
                        (
                            shiliu_domain::requests::Action::Accept,
                            shiliu_domain::requests::ActionInput::default(),
                        ),
                        (
                            shiliu_domain::requests::Action::Resolve,
                            shiliu_domain::requests::ActionInput {
                                outcome: Some(shiliu_domain::requests::Outcome::Solved),
                                reply: Some("请带户口本和原学校转学证明到教育局办理".into()),
                                ..Default::default()
                            },
                        ),
                    ] {
                        // The request was made at the community, which has no site: dispatched by hand.
                        let step = shiliu_db::requests::StepInput {
                            action_input: input,
                            site_id: Some(nn.site),
                            ..Default::default()
                        };
                        r = shiliu_db::requests::step(c, &staff, r.id, r.version, a, &step)?;
                    }
                    Ok(())
                })
                .unwrap();
            let page = app.get(&format!("/r/{code}"), "").await.text();
            assert!(
                page.contains("请带户口本和原学校转学证明到教育局办理")
                    && page.contains("提交评价")
            );
            let r = app
                .post(
                    &format!("/r/{code}/rate"),
                    pre,
                    &[
                        ("_csrf", "resident-token-0123456789"),
                        ("rating", "satisfied"),
                        ("comment", "很快"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let page = app.get(&format!("/r/{code}?rated=1"), "").await.text();
            assert!(
                page.contains("感谢您的评价")
                    && page.contains("已回访")
                    && !page.contains("提交评价")
            );
            let r = app
                .post(
                    &format!("/r/{code}/rate"),
                    pre,
                    &[
                        ("_csrf", "resident-token-0123456789"),
                        ("rating", "dissatisfied"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "rated once");
            // Unknown codes are not found, through the form and directly.
            let r = app.get("/r/track?code=NOSUCHCODE", "").await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
            assert!(r.text().contains("没有找到这个编号的诉求"));
            assert_eq!(
                app.get("/r/ZZZZZZZZZZ", "").await.status,
                StatusCode::NOT_FOUND
            );
            let r = app
                .get(&format!("/r/track?code={}", code.to_lowercase()), "")
                .await;
            assert_eq!(
                r.headers[header::LOCATION].to_str().unwrap(),
                format!("/r/{code}")
            );
            // The audit log names the resident, with the client address.
            let audit = app
                .t
                .db
                .write_blocking(|c| {
                    shiliu_db::audit::list(c, &shiliu_db::audit::AuditFilter::default(), 100)
                })
                .unwrap();
            assert!(
                audit
                    .iter()
                    .any(|a| a.actor == "resident" && a.action == "request.create")
            );
        });
    }
);

both_engines!(
    service_levels_and_the_calendar_belong_to_their_region,
    |t: TestDb| {
        let app = App::new(t);
        let (nn, lz) = app
            .t
            .db
            .write_blocking(|c| {
                province_admin(c);
                Ok((
                    seed_city(c, "450100", "nn", "x"),
                    seed_city(c, "450200", "lz", "x"),
                ))
            })
            .unwrap();
        let renting = app
            .t
            .db
            .write_blocking(|c| {
                Ok(shiliu_db::requests::categories(c, false)?
                    .into_iter()
                    .find(|k| k.code == "renting")
                    .unwrap())
            })
            .unwrap();
        let platform_minutes = renting.service_minutes;
        block_on(async {
            let (admin, admin_csrf) = app.session("gx-admin");
            let (cs, csrf) = app.session("nn-commission-staff");
            let (gw, _) = app.session("nn-grid-worker");
            assert_eq!(
                app.get("/settings/categories", &gw).await.status,
                StatusCode::FORBIDDEN
            );
            let path = format!("/settings/categories/{}", renting.id);
            let v = renting.version.to_string();
            let edit = |amount: &'static str, unit: &'static str, name: &'static str| {
                vec![
                    ("code", "renting"),
                    ("name", name),
                    ("amount", amount),
                    ("unit", unit),
                    ("active", "1"),
                ]
            };
            // A city may not change the province's category: named, and nothing changes.
            let mut f = vec![("_csrf", csrf.as_str()), ("version", v.as_str())];
            f.extend(edit("1", "hours", "改名"));
            let r = app.post(&path, &cs, &f).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("全区统一的设置"), "{}", r.text());
            // Nor its questions or reply templates.
            let r = app
                .post(
                    &format!("{path}/templates"),
                    &cs,
                    &[("_csrf", &csrf), ("title", "越权模板"), ("body", "越权")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            // The city's page shows the province's level and offers a local one.
            let page = app.get("/settings/categories", &cs).await.text();
            assert!(
                page.contains("租房租住") && page.contains("全区时限"),
                "{page}"
            );
            assert!(page.contains(&format!("{path}/level")));
            // Bad input names the field.
            let r = app
                .post(
                    &format!("{path}/level"),
                    &cs,
                    &[("_csrf", &csrf), ("amount", "abc"), ("unit", "days")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("办理时限：应为整数"), "{}", r.text());
            // 南宁's own level: two working hours, for 南宁 only.
            let r = app
                .post(
                    &format!("{path}/level"),
                    &cs,
                    &[("_csrf", &csrf), ("amount", "2"), ("unit", "hours")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            // A holiday on the next day, as 南宁's own (a local festival).
            let tomorrow = shiliu_domain::calendar::local(shiliu_db::now())
                .date()
                .succ_opt()
                .unwrap();
            let day = tomorrow.format("%Y-%m-%d").to_string();
            let r = app
                .post(
                    "/settings/calendar",
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("day", &day),
                        ("kind", "holiday"),
                        ("note", "本地节日"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let r = app
                .post(
                    "/settings/calendar",
                    &cs,
                    &[("_csrf", &csrf), ("day", "2026-02-30"), ("kind", "holiday")],
                )
                .await;
            assert!(r.text().contains("日期格式应为"));
            let year = format!("/settings/calendar?year={}", &day[..4]);
            assert!(app.get(&year, &cs).await.text().contains("本地节日"));
            assert!(
                !app.get(&year, &admin).await.text().contains("本地节日"),
                "not the province's"
            );
            // The province's administrator edits the province's category and calendar.
            let mut f = vec![("_csrf", admin_csrf.as_str()), ("version", v.as_str())];
            f.extend(edit("3", "days", "租房租住"));
            let r = app.post(&path, &admin, &f).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            // Requests taken in now: 南宁's by its own level and calendar, 柳州's by the
            // province's.
            let sys = Actor::system("test");
            let (nn_req, lz_req, cals) = app
                .t
                .db
                .write_blocking(move |c| {
                    let input = shiliu_domain::requests::RequestInput::parse(
                        shiliu_domain::requests::Channel::Hotline,
                        "押金",
                        "",
                        "",
                        "",
                        false,
                    )
                    .unwrap();
                    let a =
                        shiliu_db::requests::create(c, &sys, &input, renting.id, nn.grid, None)?;
                    let b =
                        shiliu_db::requests::create(c, &sys, &input, renting.id, lz.grid, None)?;
                    Ok((a, b, shiliu_db::requests::settings::Calendars::load(c)?))
                })
                .unwrap();
            let nn_cal = cals.at(&nn_req.region_path);
            let lz_cal = cals.at(&lz_req.region_path);
            let after = |cal: &shiliu_domain::calendar::WorkCalendar,
                         r: &shiliu_db::requests::Request,
                         m| {
                Some(shiliu_domain::calendar::utc(cal.add_working_minutes(
                    shiliu_domain::calendar::local(r.received_at),
                    m,
                )))
            };
            assert_eq!(nn_req.due_at, after(&nn_cal, &nn_req, 120));
            let per_day = shiliu_domain::calendar::WorkCalendar::default().minutes_per_day();
            assert_eq!(lz_req.due_at, after(&lz_cal, &lz_req, 3 * per_day));
            assert_ne!(
                Some(3 * per_day as i32),
                platform_minutes,
                "the province's level changed"
            );
            assert!(!nn_cal.is_working_day(tomorrow), "南宁's own holiday");
            let weekday = !matches!(
                chrono::Datelike::weekday(&tomorrow),
                chrono::Weekday::Sat | chrono::Weekday::Sun
            );
            assert_eq!(lz_cal.is_working_day(tomorrow), weekday, "not 柳州's");
            // Back to the province's level.
            let r = app
                .post(
                    &format!("{path}/level"),
                    &cs,
                    &[("_csrf", &csrf), ("clear", "1")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            assert!(
                !app.get("/settings/categories", &cs)
                    .await
                    .text()
                    .contains("恢复全区时限")
            );
            let audit = app
                .t
                .db
                .write_blocking(|c| {
                    shiliu_db::audit::list(c, &shiliu_db::audit::AuditFilter::default(), 100)
                })
                .unwrap();
            for action in ["category.update", "category.level", "calendar.set"] {
                assert!(audit.iter().any(|a| a.action == action), "{action} audited");
            }
        });
    }
);

both_engines!(requests_through_the_json_api, |t: TestDb| {
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    let grid_code = app
        .t
        .db
        .write_blocking(move |c| Ok(org::get_region(c, &Scope::everything(), nn.grid)?.code))
        .unwrap();
    block_on(async {
        let (cookie, csrf) = app.session("nn-commission-staff");
        let r = app
            .post(
                "/tokens",
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("name", "热线系统"),
                    ("days", "30"),
                    ("perm", "view_requests"),
                    ("perm", "create_requests"),
                    ("perm", "dispatch_requests"),
                    ("perm", "handle_requests"),
                ],
            )
            .await;
        let text = r.text();
        let token = text
            .split("<code class=\"secret\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string();
        let send = |method: &'static str, path: String, body: Option<serde_json::Value>| {
            let app = &app;
            let token = token.clone();
            async move {
                let mut req = Request::builder()
                    .method(method)
                    .uri(path)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"));
                let body = match body {
                    Some(v) => {
                        req = req.header(header::CONTENT_TYPE, "application/json");
                        Body::from(v.to_string())
                    }
                    None => Body::empty(),
                };
                let r = app.call(req.body(body).unwrap()).await;
                let v: serde_json::Value =
                    serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
                (r.status, v)
            }
        };
        let (s, cats) = send("GET", "/api/v1/request-categories".into(), None).await;
        assert_eq!(s, StatusCode::OK);
        let cat = cats[0]["id"].as_i64().unwrap();
        // Invalid input: the envelope names the fields.
        let (s, e) = send("POST", "/api/v1/requests".into(), Some(serde_json::json!({"channel": "fax", "category_id": cat, "region_code": grid_code, "description": ""}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["error"]["code"], "invalid");
        assert!(e["error"]["details"]["channel"].is_string(), "{e}");
        let (s, e) = send(
            "POST",
            "/api/v1/requests".into(),
            Some(serde_json::json!({"channel": "hotline"})),
        )
        .await;
        assert!(
            s.is_client_error() && e["error"]["code"].is_string(),
            "a malformed body gets the envelope too: {e}"
        );
        // A bad media link is named with the other fields' problems, not after them.
        let (s, e) = send("POST", "/api/v1/requests".into(), Some(serde_json::json!({"channel": "hotline", "category_id": cat, "region_code": grid_code, "description": "", "media_url": "data:image/png;base64,AAAA"}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(e["error"]["details"]["description"].is_string(), "{e}");
        assert!(
            e["error"]["details"]["media_url"]
                .as_str()
                .unwrap()
                .contains("https://"),
            "{e}"
        );
        let (s, created) = send(
            "POST",
            "/api/v1/requests".into(),
            Some(serde_json::json!({"channel": "hotline", "category_id": cat, "region_code": grid_code, "description": "想咨询技能培训补贴", "contact_phone": "13877665544", "media_url": "https://pan.example.cn/s/abc"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        assert_eq!(created["media_url"], "https://pan.example.cn/s/abc");
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["status"], "received");
        let step = |action: &str, version: i64, extra: serde_json::Value| {
            let mut b = serde_json::json!({"action": action, "version": version});
            b.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            send("POST", format!("/api/v1/requests/{id}/steps"), Some(b))
        };
        let (s, r) = step("dispatch", 1, serde_json::json!({"site_id": nn.site})).await;
        assert_eq!(
            (s, r["status"].as_str()),
            (StatusCode::OK, Some("dispatched")),
            "{r}"
        );
        let (s, e) = step("accept", 1, serde_json::json!({})).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("stale"))
        );
        let (s, e) = step("close", 2, serde_json::json!({})).await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "not allowed from dispatched: {e}"
        );
        let (_, r) = step("accept", 2, serde_json::json!({})).await;
        let (_, r) = step(
            "resolve",
            r["version"].as_i64().unwrap(),
            serde_json::json!({"outcome": "solved", "reply": "已告知补贴申领流程"}),
        )
        .await;
        assert_eq!(r["status"], "resolved");
        // Staff see the link as one that opens apart from the page; the print view names it.
        let page = app.get(&format!("/requests/{id}"), &cookie).await.text();
        assert!(page.contains(r#"<a href="https://pan.example.cn/s/abc" target="_blank" rel="noopener noreferrer nofollow">"#), "{page}");
        let print = app
            .get(&format!("/requests/{id}/print"), &cookie)
            .await
            .text();
        assert!(
            print.contains("外部媒体链接</dt><dd>https://pan.example.cn/s/abc"),
            "{print}"
        );
        let (s, detail) = send("GET", format!("/api/v1/requests/{id}"), None).await;
        assert_eq!(s, StatusCode::OK);
        let actions: Vec<&str> = detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["receive", "dispatch", "accept", "resolve"]);
        let (_, list) = send("GET", "/api/v1/requests?status=resolved".into(), None).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        // The figures: two received, one resolved, as in the lists.
        let (s, st) = send("GET", "/api/v1/requests/stats?by=channel".into(), None).await;
        assert_eq!(s, StatusCode::OK, "{st}");
        assert_eq!(st["total"]["received"], 2, "{st}");
        assert_eq!(st["groups"][0]["label"], "服务咨询专线", "{st}");
        assert_eq!(st["total"]["completion_rate"], 0.5, "{st}");
        let (s, e) = send(
            "GET",
            "/api/v1/requests/stats?from=2026-05&to=2026-01".into(),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(e.to_string().contains("\"to\""), "{e}");
        // The other city's requests stay out of reach.
        let (s, _) = send("GET", format!("/api/v1/requests/{}", -1), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let doc: serde_json::Value =
            serde_json::from_slice(&app.get("/api/v1/openapi.json", "").await.body).unwrap();
        for path in [
            "/api/v1/requests",
            "/api/v1/requests/{id}",
            "/api/v1/requests/{id}/steps",
            "/api/v1/requests/stats",
            "/api/v1/request-categories",
        ] {
            assert!(
                doc["paths"][path].is_object(),
                "{path} in the OpenAPI document"
            );
        }
    });
});

both_engines!(routing_rules_from_the_settings_page, |t: TestDb| {
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    let (site_name, grid_code, renting) = app
        .t
        .db
        .write_blocking(move |c| {
            let all = Scope::everything();
            let rent = shiliu_db::requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == "renting")
                .unwrap();
            Ok((
                org::get_site(c, &all, nn.site)?.name,
                org::get_region(c, &all, nn.grid)?.code,
                rent.id.to_string(),
            ))
        })
        .unwrap();
    block_on(async {
        let (cs, csrf) = app.session("nn-commission-staff");
        let r = app
            .post(
                "/settings/routing",
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("category_id", &renting),
                    ("keywords", "押金"),
                    ("site_name", "没有的站点"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = app
            .post(
                "/settings/routing",
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("category_id", &renting),
                    ("region_code", "450100"),
                    ("keywords", "押金，房东"),
                    ("site_name", &site_name),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app.get("/settings/routing", &cs).await.text();
        assert!(
            page.contains("类别“租房租住”、在南宁市、含“押金 房东”"),
            "{page}"
        );
        let r = app
            .post(
                "/requests",
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("channel", "hotline"),
                    ("category_id", &renting),
                    ("region_code", &grid_code),
                    ("description", "房东扣押金"),
                ],
            )
            .await;
        let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
        let detail = app.get(&to, &cs).await.text();
        assert!(
            detail.contains(&format!(
                "按规则 1（类别“租房租住”、在南宁市、含“押金 房东”）：{site_name}"
            )),
            "{detail}"
        );
        let (gw, _) = app.session("nn-grid-worker");
        assert_eq!(
            app.get("/settings/routing", &gw).await.status,
            StatusCode::FORBIDDEN
        );
    });
});

both_engines!(extra_questions_on_every_channel, |t: TestDb| {
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| {
            province_admin(c);
            Ok(seed_city(c, "450100", "nn", "x"))
        })
        .unwrap();
    let (grid_code, school, site_name) = app
        .t
        .db
        .write_blocking(move |c| {
            let cat = shiliu_db::requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == "school_places")
                .unwrap();
            let all = Scope::everything();
            Ok((
                org::get_region(c, &all, nn.grid)?.code,
                cat.id,
                org::get_site(c, &all, nn.site)?.name,
            ))
        })
        .unwrap();
    let cat = school.to_string();
    block_on(async {
        let (cs, csrf) = app.session("nn-commission-staff");
        // The province's administrator adds two questions and a reply template on the
        // category's page (they are the province's settings; the city reads them).
        let (ad, ad_csrf) = app.session("gx-admin");
        let settings = format!("/settings/categories/{cat}");
        let r = app
            .post(
                &format!("{settings}/questions"),
                &ad,
                &[
                    ("_csrf", &ad_csrf),
                    ("code", "stage"),
                    ("label", "学段"),
                    ("kind", "single"),
                    ("choices", ""),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("选项：必填"), "{}", r.text());
        for (code, label, kind, choices) in [
            ("age", "子女年龄", "number", ""),
            ("stage", "学段", "single", "primary=小学\njunior=初中"),
        ] {
            let r = app
                .post(
                    &format!("{settings}/questions"),
                    &ad,
                    &[
                        ("_csrf", &ad_csrf),
                        ("code", code),
                        ("label", label),
                        ("kind", kind),
                        ("required", "1"),
                        ("choices", choices),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        }
        let r = app
            .post(
                &format!("{settings}/templates"),
                &ad,
                &[
                    ("_csrf", &ad_csrf),
                    ("title", "已协调学位"),
                    ("body", "已为孩子协调学位，请按时报到。"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app.get(&settings, &cs).await.text();
        assert!(
            page.contains("primary=小学") && page.contains("已协调学位"),
            "{page}"
        );

        // Staff intake: the form asks them; a missing or wrong answer is named by its question.
        let page = app.get("/requests/new", &cs).await.text();
        assert!(page.contains(&format!("name=\"answer.{cat}.stage\"")) && page.contains("初中"));
        let base = [
            ("_csrf", csrf.as_str()),
            ("channel", "hotline"),
            ("category_id", cat.as_str()),
            ("region_code", grid_code.as_str()),
            ("description", "孩子随迁，想在附近读书"),
        ];
        let age = format!("answer.{cat}.age");
        let stage = format!("answer.{cat}.stage");
        let mut bad = base.to_vec();
        bad.push((stage.as_str(), "college"));
        let r = app.post("/requests", &cs, &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains("子女年龄：必填") && text.contains("学段：请从列表中选择"),
            "{text}"
        );
        let mut good = base.to_vec();
        good.extend([(age.as_str(), "8"), (stage.as_str(), "primary")]);
        let r = app.post("/requests", &cs, &good).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
        let page = app.get(&to, &cs).await.text();
        assert!(
            page.contains("<dt>子女年龄</dt><dd>8</dd>")
                && page.contains("<dt>学段</dt><dd>小学</dd>"),
            "{page}"
        );

        // Resolving without JavaScript: a chosen template with an empty reply becomes the reply.
        let id: i64 = to
            .trim_start_matches("/requests/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let tid = app
            .t
            .db
            .write_blocking(move |c| {
                Ok(shiliu_db::requests::questions::reply_templates(c, Some(school), false)?[0].id)
            })
            .unwrap()
            .to_string();
        for action in ["dispatch", "accept"] {
            let v = app
                .t
                .db
                .write_blocking(move |c| {
                    Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.version)
                })
                .unwrap()
                .to_string();
            let mut f = vec![
                ("_csrf", csrf.as_str()),
                ("action", action),
                ("version", v.as_str()),
            ];
            if action == "dispatch" {
                f.push(("site_name", site_name.as_str()));
            }
            let r = app.post(&format!("/requests/{id}/step"), &cs, &f).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}: {}", r.text());
        }
        let page = app.get(&format!("/requests/{id}"), &cs).await.text();
        assert!(
            page.contains("data-body=\"已为孩子协调学位，请按时报到。\""),
            "{page}"
        );
        let v = app
            .t
            .db
            .write_blocking(move |c| {
                Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.version)
            })
            .unwrap()
            .to_string();
        let r = app
            .post(
                &format!("/requests/{id}/step"),
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("action", "resolve"),
                    ("version", &v),
                    ("outcome", "solved"),
                    ("reply", ""),
                    ("reply_template", &tid),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let reply = app
            .t
            .db
            .write_blocking(move |c| {
                Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.reply)
            })
            .unwrap();
        assert_eq!(reply.as_deref(), Some("已为孩子协调学位，请按时报到。"));

        // The public page asks the same questions of a resident.
        let pre = "shiliu_csrf=resident-token-0123456789";
        let region = nn.region.to_string();
        let public = [
            ("_csrf", "resident-token-0123456789"),
            ("region", region.as_str()),
            ("category_id", cat.as_str()),
            ("description", "想给孩子报名小学"),
            ("contact_phone", "13912340000"),
            ("consent", "1"),
            (stage.as_str(), "junior"),
        ];
        let r = app.post("/r", pre, &public).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("子女年龄：必填"), "{}", r.text());
        let mut public = public.to_vec();
        public.push((age.as_str(), "12"));
        let r = app.post("/r", pre, &public).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

        // The JSON API lists the questions and takes and returns answers.
        let r = app
            .post(
                "/tokens",
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("name", "热线"),
                    ("days", "1"),
                    ("perm", "view_requests"),
                    ("perm", "create_requests"),
                ],
            )
            .await;
        let token = r
            .text()
            .split("<code class=\"secret\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string();
        let api = |method: &'static str, path: String, body: Option<serde_json::Value>| {
            let (app, token) = (&app, token.clone());
            async move {
                let mut req = Request::builder()
                    .method(method)
                    .uri(path)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "application/json");
                req = req.header(header::ACCEPT, "application/json");
                let body = body.map_or_else(Body::empty, |v| Body::from(v.to_string()));
                let r = app.call(req.body(body).unwrap()).await;
                (
                    r.status,
                    serde_json::from_slice::<serde_json::Value>(&r.body).unwrap_or_default(),
                )
            }
        };
        let (s, cats) = api("GET", "/api/v1/request-categories".into(), None).await;
        assert_eq!(s, StatusCode::OK);
        let c = cats
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "school_places")
            .unwrap();
        assert_eq!(c["questions"][1]["choices"][1]["name"], "初中", "{c}");
        assert_eq!(c["reply_templates"][0]["title"], "已协调学位");
        let body = serde_json::json!({"channel": "hotline", "category_id": school, "region_code": grid_code,
            "description": "咨询插班", "answers": {"age": 9, "stage": ["primary"], "pet": "猫"}});
        let (s, e) = api("POST", "/api/v1/requests".into(), Some(body.clone())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(e["error"]["details"]["answer.pet"].is_string(), "{e}");
        let mut body = body;
        body["answers"].as_object_mut().unwrap().remove("pet");
        let (s, r) = api("POST", "/api/v1/requests".into(), Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        let (_, d) = api("GET", format!("/api/v1/requests/{}", r["id"]), None).await;
        assert_eq!(d["answers"][0]["value"], "9");
        assert_eq!(d["answers"][1]["text"], "小学", "{d}");
    });
});

both_engines!(finding_requests_by_words_and_filters, |t: TestDb| {
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
    let (nn_city, made) = app
        .t
        .db
        .write_blocking(move |c| {
            let sys = Actor::system("test");
            let other = shiliu_db::requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == "other")
                .unwrap();
            let mut made = Vec::new();
            for (grid, channel, text) in [
                (nn.grid, Channel::Hotline, "和房东发生租房纠纷，押金不退"),
                (nn.grid, Channel::WalkIn, "咨询租房补贴怎么申请"),
                (nn.grid, Channel::Hotline, "孩子入学需要哪些材料"),
                (lz.grid, Channel::Hotline, "租房合同到期房东涨价"),
            ] {
                let input = RequestInput::parse(channel, text, "", "", "", false).unwrap();
                made.push(shiliu_db::requests::create(c, &sys, &input, other.id, grid, None)?.code);
            }
            Ok((
                org::get_region(c, &Scope::everything(), nn.region)?.code,
                made,
            ))
        })
        .unwrap();
    block_on(async {
        let (cs, _) = app.session("nn-commission-staff");
        let page = app.get("/requests?q=%E7%A7%9F%E6%88%BF", &cs).await; // 租房
        assert_eq!(page.status, StatusCode::OK);
        let text = page.text();
        assert!(text.contains(&made[0]) && text.contains(&made[1]), "{text}");
        assert!(!text.contains(&made[2]), "no match without the word");
        assert!(!text.contains(&made[3]), "nor across the scope");
        // Words and filters together: 租房 taken in at a walk-in desk.
        let text = app
            .get("/requests?q=%E7%A7%9F%E6%88%BF&channel=walk_in", &cs)
            .await
            .text();
        assert!(text.contains(&made[1]) && !text.contains(&made[0]));
        let text = app
            .get(
                &format!("/requests?region={nn_city}&from=2000-01-01&to=2999-12-31"),
                &cs,
            )
            .await
            .text();
        assert!(made[..3].iter().all(|c| text.contains(c.as_str())));
        // Bad filters are named; a region outside the scope is unknown, not revealed.
        let r = app.get("/requests?from=yesterday&region=450200", &cs).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains("受理日期自：日期格式应为")
                && text.contains("所属区域代码：区域不存在或不在您的范围内"),
            "{text}"
        );
        // The export takes the same filters.
        let r = app
            .get("/requests/export.xlsx?q=%E6%8A%BC%E9%87%91", &cs)
            .await; // 押金
        assert_eq!(r.status, StatusCode::OK);
        let sheet = xlsx_text(&r.body);
        assert!(
            sheet.contains(&made[0]) && !sheet.contains(&made[1]),
            "{sheet}"
        );
        // Due soon: nothing taken in today falls due within a day (service level 5 days).
        let text = app.get("/requests?due_soon=1", &cs).await.text();
        assert!(!text.contains(&made[0]));
    });
});

both_engines!(files_and_cohandling_on_a_request_page, |t: TestDb| {
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
    let (grid_code, category) = app
        .t
        .db
        .write_blocking(move |c| {
            let all = Scope::everything();
            let category = shiliu_db::requests::categories(c, false)?[0].id.to_string();
            let city = org::get_region_by_code(c, &all, "450100")?;
            // A staff member of the city's education bureau (a unit), to answer co-handling.
            accounts::create_user(
                c,
                &shiliu_db::scope::Can::check(&Actor::system("test")).unwrap(),
                &NewUser {
                    username: Username::parse("nn-edu").unwrap(),
                    display_name: "教育局干部".into(),
                    password_hash: "x".into(),
                    role: Role::SiteStaff,
                    region_id: city.id,
                    unit_id: Some(nn.unit),
                    site_id: None,
                    phone: None,
                    grid_ids: vec![],
                },
            )?;
            Ok((org::get_region(c, &all, nn.grid)?.code, category))
        })
        .unwrap();
    let count = |app: &App| {
        app.t
            .db
            .write_blocking(|c| shiliu_db::requests::count(c, &Scope::everything()))
            .unwrap()
    };
    block_on(async {
        // A grid worker's phone form with photos: a file that is not a photo is named and
        // nothing is kept; with the photo alone the request is made and holds it.
        let (gw, gw_csrf) = app.session("nn-grid-worker");
        let form = [
            ("channel", "grid"),
            ("category_id", category.as_str()),
            ("region_code", grid_code.as_str()),
            ("description", "楼道堆放杂物，有火灾隐患"),
        ];
        let before = count(&app);
        let r = app
            .multipart(
                "/requests",
                &gw,
                &gw_csrf,
                &form,
                &[
                    ("photos", "现场.png", PNG),
                    ("photos", "病毒.png", b"MZ\x90\0"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().contains("病毒.png") && r.text().contains("不是可接受的类型"),
            "{}",
            r.text()
        );
        assert_eq!(count(&app), before, "nothing half-written");
        let r = app
            .multipart(
                "/requests",
                &gw,
                &gw_csrf,
                &form,
                &[("photos", "现场.png", PNG)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page_path = r.location().split('?').next().unwrap().to_string();
        let id: i64 = page_path.rsplit('/').next().unwrap().parse().unwrap();
        // Without a token in the address, a multipart post is refused.
        let r = app
            .multipart(
                &format!("{page_path}/files"),
                &gw,
                "wrong",
                &[],
                &[("files", "b.png", PNG)],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        let (ss, ss_csrf) = app.session("nn-site-staff");
        let page = app.get(&page_path, &ss).await.text();
        assert!(page.contains("现场.png"), "{page}");
        let link = links(&page)
            .into_iter()
            .find(|l| l.starts_with(&format!("{page_path}/files/")))
            .expect("a link to the file");
        let r = app.get(&link, &ss).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers[header::CONTENT_TYPE], "image/png");
        assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(r.body, PNG);
        let viewed = app
            .t
            .db
            .write_blocking(|c| {
                shiliu_db::audit::list(
                    c,
                    &shiliu_db::audit::AuditFilter {
                        action: Some("request.file_view".into()),
                        ..Default::default()
                    },
                    10,
                )
            })
            .unwrap();
        assert_eq!(viewed.len(), 1, "opening a file is audited");
        let (ls, _) = app.session("lz-site-staff");
        assert_eq!(app.get(&link, &ls).await.status, StatusCode::NOT_FOUND);
        let _ = &lz;
        // More files from the request's page; then the API lists both.
        let r = app
            .multipart(
                &format!("{page_path}/files"),
                &ss,
                &ss_csrf,
                &[],
                &[("files", "记录.pdf", b"%PDF-1.4 x")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let (status, list) = app
            .api_get(&format!("/api/v1/requests/{id}/files"), "nn-site-staff")
            .await;
        assert_eq!(status, StatusCode::OK);
        let types: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["content_type"].as_str().unwrap())
            .collect();
        assert_eq!(types, vec!["image/png", "application/pdf"]);

        // Co-handling: once the site accepted it, the site asks the city's education bureau.
        let site = nn.site;
        app.t
            .db
            .write_blocking(move |c| {
                let sys = Actor::system("test");
                let r = shiliu_db::requests::get(c, &Scope::everything(), id)?;
                let input = shiliu_db::requests::StepInput {
                    site_id: Some(site),
                    ..Default::default()
                };
                let r = shiliu_db::requests::step(
                    c,
                    &sys,
                    id,
                    r.version,
                    shiliu_domain::requests::Action::Dispatch,
                    &input,
                )?;
                shiliu_db::requests::step(
                    c,
                    &sys,
                    id,
                    r.version,
                    shiliu_domain::requests::Action::Accept,
                    &shiliu_db::requests::StepInput::default(),
                )
            })
            .unwrap();
        let version = app
            .t
            .db
            .write_blocking(move |c| {
                Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.version)
            })
            .unwrap()
            .to_string();
        let page = app.get(&page_path, &ss).await.text();
        assert!(page.contains("请求协办"), "{page}");
        let ask = format!("{page_path}/cohandlers");
        let r = app
            .post(
                &ask,
                &ss,
                &[
                    ("_csrf", &ss_csrf),
                    ("version", &version),
                    ("cohandler", "nn教育局"),
                    ("asked", " "),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("协办事项：必填"), "{}", r.text());
        let r = app
            .post(
                &ask,
                &ss,
                &[
                    ("_csrf", &ss_csrf),
                    ("version", &version),
                    ("cohandler", "nn教育局"),
                    ("asked", "请协调清理楼道"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app.get(&page_path, &ss).await.text();
        assert!(
            page.contains("nn教育局") && page.contains("待答复"),
            "{page}"
        );
        // The bureau's staff answer it; the answer and who gave it show on the page.
        let (edu, edu_csrf) = app.session("nn-edu");
        let waiting = app.get("/requests?cohandling=1", &edu).await.text();
        assert!(waiting.contains(&format!("/requests/{id}\"")), "{waiting}");
        let page = app.get(&page_path, &edu).await.text();
        assert!(page.contains("答复协办"), "{page}");
        let form_action = page
            .split("action=\"")
            .filter_map(|x| x.split('"').next())
            .find(|a| a.ends_with("/answer"))
            .expect("the answer form")
            .to_string();
        let r = app
            .post(
                &form_action,
                &edu,
                &[("_csrf", &edu_csrf), ("answer", "已安排清理")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let waiting = app.get("/requests?cohandling=1", &edu).await.text();
        assert!(
            !waiting.contains(&format!("/requests/{id}\"")),
            "answered: {waiting}"
        );
        let page = app.get(&page_path, &ss).await.text();
        assert!(
            page.contains("已答复") && page.contains("已安排清理") && page.contains("nn-edu"),
            "{page}"
        );
        let (status, cos) = app
            .api_get(
                &format!("/api/v1/requests/{id}/cohandlers"),
                "nn-site-staff",
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(cos[0]["status"], "answered");
        assert_eq!(cos[0]["name"], "nn教育局");
    });
});
