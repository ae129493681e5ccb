//! Work plans through the router: a plan drawn up by the commission, its decomposition sheet
//! imported (refused whole when a row is wrong), put in force, and seen by the units it hands
//! tasks to and by leaders — pages, the sheet and the API.

use axum::http::StatusCode;
use shiliu_db::both_engines;
use shiliu_db::org;
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_domain::org::UnitInput;
use shiliu_domain::roles::Role;

use crate::common::*;

/// The app with 南宁 seeded, two more units of the city, and a reporter of the education
/// bureau (nn教育局, the city's seeded unit).
fn city(t: TestDb) -> App {
    let app = App::new(t);
    app.t
        .db
        .write_blocking(|c| {
            let d = seed_city(c, "450100", "nn", "x");
            let all = Scope::everything();
            let city = org::get_region_by_code(c, &all, "450100")?;
            let mut commission = 0;
            for name in ["南宁市民宗委", "南宁市委宣传部"] {
                let u = org::create_unit(
                    c,
                    &Actor::system("test"),
                    city.id,
                    &UnitInput::parse(name, "department", "", "").unwrap(),
                )?;
                if commission == 0 {
                    commission = u.id;
                }
            }
            for (name, unit) in [("edu-reporter", d.unit), ("mzw-reporter", commission)] {
                let new = shiliu_db::accounts::NewUser {
                    username: shiliu_domain::accounts::Username::parse(name).unwrap(),
                    display_name: format!("{name}填报员"),
                    password_hash: "x".into(),
                    role: Role::UnitReporter,
                    region_id: city.id,
                    unit_id: Some(unit),
                    site_id: None,
                    phone: None,
                    grid_ids: vec![],
                };
                shiliu_db::accounts::create_user(
                    c,
                    &shiliu_db::scope::Can::check(&Actor::system("test")).unwrap(),
                    &new,
                )?;
            }
            Ok(())
        })
        .unwrap();
    app
}

/// A plan made through the form; its id (from the redirect).
async fn new_plan(app: &App, cookie: &str, csrf: &str) -> i64 {
    let r = app
        .post(
            "/plans",
            cookie,
            &[
                ("_csrf", csrf),
                ("name", "2027年创建示范市实施方案"),
                ("organiser", "南宁市创建办"),
                ("starts_on", "2027-01-01"),
                ("ends_on", "2029-12-31"),
                ("phase1_name", "强基础"),
                ("phase1_start", "2027-01-01"),
                ("phase1_end", "2027-12-31"),
                ("phase1_goal", "一年强基础"),
                ("phase2_name", "见成效"),
                ("phase2_start", "2028-01-01"),
                ("phase2_end", "2029-12-31"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let loc = r.location();
    loc.trim_start_matches("/plans/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn version(app: &App, id: i64) -> String {
    app.t
        .db
        .write_blocking(move |c| {
            Ok(shiliu_db::tasks::get_plan(c, &Scope::everything(), id)?
                .version
                .to_string())
        })
        .unwrap()
}

/// The decomposition sheet as a commission keeps it: a title above the heading, an area row,
/// a task whose cell is merged down its two measures.
fn sheet(lead_of_schools: &str) -> Vec<u8> {
    xlsx(&[
        &["南宁市创建全国民族团结进步示范市任务分解表"],
        &[
            "序号",
            "工作任务",
            "具体措施",
            "牵头单位",
            "责任单位",
            "完成时限",
            "目标",
            "备注",
        ],
        &["一、组织领导", "", "", "", "", "", "", ""],
        &[
            "1",
            "制定实施方案",
            "",
            "南宁市民宗委",
            "",
            "2027年3月底前",
            "",
            "",
        ],
        &[
            "2",
            "开展“十进”活动",
            "进机关",
            "南宁市委宣传部",
            "南宁市民宗委",
            "每季度",
            "≥4场",
            "",
        ],
        &[
            "",
            "",
            "进学校",
            lead_of_schools,
            "南宁市民宗委",
            "2027年底",
            "",
            "报送照片",
        ],
    ])
}

async fn import(app: &App, cookie: &str, csrf: &str, id: i64, bytes: &[u8]) -> Resp {
    app.multipart(
        &format!("/plans/{id}/tasks/import"),
        cookie,
        csrf,
        &[("version", &version(app, id))],
        &[("file", "任务分解表.xlsx", bytes)],
    )
    .await
}

both_engines!(
    a_plan_is_drawn_up_its_sheet_refused_whole_then_taken_and_put_in_force,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (cs, csrf) = app.session("nn-commission-staff");
            let id = new_plan(&app, &cs, &csrf).await;
            let page = app
                .get(&format!("/plans/{id}?done=created"), &cs)
                .await
                .text();
            assert!(page.contains("已创建方案"), "{page}");
            assert!(page.contains("强基础") && page.contains("一年强基础"));
            // A sheet naming a unit the city does not have: every row's problem, nothing taken.
            let r = import(&app, &cs, &csrf, id, &sheet("南宁市教育厅")).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = r.text();
            assert!(
                text.contains("sheet-errors")
                    && text.contains("南宁市教育厅")
                    && text.contains("牵头单位"),
                "{text}"
            );
            assert!(text.contains("还没有任务"), "nothing taken");
            // The corrected sheet: the tree, with its units.
            let r = import(&app, &cs, &csrf, id, &sheet("nn教育局")).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let page = app.get(&format!("/plans/{id}"), &cs).await.text();
            for words in [
                "组织领导",
                "制定实施方案",
                "进机关",
                "进学校",
                "nn教育局",
                "每季度",
                "≥4场",
                "报送照片",
            ] {
                assert!(page.contains(words), "{words} in {page}");
            }
            assert!(page.contains("3 项任务（措施），交由 3 个单位"), "{page}");
            // Put in force, with the step said.
            let r = app
                .post(
                    &format!("/plans/{id}/status"),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("version", &version(&app, id)),
                        ("to", "active"),
                        ("confirm", "1"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let page = app.get(&r.location(), &cs).await.text();
            assert!(page.contains("方案已发布实施"), "{page}");
            assert!(page.contains("实施中"));
            // In force, the sheet is no longer taken whole.
            let r = import(&app, &cs, &csrf, id, &sheet("nn教育局")).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("不能再整体替换"));
        });
    }
);

/// The plan made, imported and in force; its id.
async fn in_force(app: &App) -> i64 {
    let (cs, csrf) = app.session("nn-commission-staff");
    let id = new_plan(app, &cs, &csrf).await;
    let r = import(app, &cs, &csrf, id, &sheet("nn教育局")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = app
        .post(
            &format!("/plans/{id}/status"),
            &cs,
            &[
                ("_csrf", &csrf),
                ("version", &version(app, id)),
                ("to", "active"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    id
}

both_engines!(
    a_unit_sees_its_own_tasks_and_a_leader_reads_the_plan,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let id = in_force(&app).await;
            let (edu, _) = app.session("edu-reporter");
            let list = app.get("/plans", &edu).await.text();
            assert!(
                list.contains("本单位的任务") && list.contains("进学校"),
                "{list}"
            );
            assert!(list.contains("牵头"));
            assert!(!list.contains("进机关"), "another unit's measure");
            let page = app.get(&format!("/plans/{id}"), &edu).await.text();
            assert!(page.contains("进学校") && page.contains("开展“十进”活动"));
            assert!(
                !page.contains("进机关") && !page.contains("制定实施方案"),
                "{page}"
            );
            assert!(!page.contains("/status"), "no forms for a unit");
            // A unit cannot change the plan.
            let (_, csrf) = app.session("edu-reporter");
            let r = app
                .post(&format!("/plans/{id}/copy"), &edu, &[("_csrf", &csrf)])
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            // A leader reads all of it and changes nothing.
            let (leader, _) = app.session("nn-leader");
            let page = app.get(&format!("/plans/{id}"), &leader).await.text();
            assert!(page.contains("进机关") && page.contains("进学校"));
            assert!(
                !page.contains("/copy") && !page.contains("/status"),
                "{page}"
            );
            // Someone with neither permission: refused.
            let (grid, _) = app.session("nn-grid-worker");
            assert_eq!(app.get("/plans", &grid).await.status, StatusCode::FORBIDDEN);
        });
    }
);

both_engines!(
    the_exported_sheet_is_the_layout_imported_and_a_copy_takes_it_back,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let id = in_force(&app).await;
            let (cs, csrf) = app.session("nn-commission-staff");
            let x = app.get(&format!("/plans/{id}/tasks.xlsx"), &cs).await;
            assert_eq!(x.status, StatusCode::OK);
            let cells = xlsx_cells(&x.body);
            let text: Vec<Vec<String>> = cells
                .iter()
                .map(|r| r.iter().map(ToString::to_string).collect())
                .collect();
            assert_eq!(
                text[0],
                [
                    "序号",
                    "工作任务",
                    "具体措施",
                    "牵头单位",
                    "责任单位",
                    "完成时限",
                    "目标",
                    "备注"
                ]
            );
            // The task's first measure on the task's row, the next below with the task blank.
            assert_eq!(text[3][1], "开展“十进”活动");
            assert_eq!(text[3][2], "进机关");
            assert_eq!(text[4][1], "");
            assert_eq!(text[4][2], "进学校");
            assert_eq!(text[4][5], "2027-12-31");
            // Copied to next year, the exported sheet imports into the copy as it was.
            let r = app
                .post(&format!("/plans/{id}/copy"), &cs, &[("_csrf", &csrf)])
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let copy: i64 = r
                .location()
                .trim_start_matches("/plans/")
                .split('?')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let page = app.get(&r.location(), &cs).await.text();
            assert!(page.contains("2028年创建示范市实施方案") && page.contains("日期均顺延一年"));
            let again = app.get(&format!("/plans/{copy}/tasks.xlsx"), &cs).await;
            let r = import(&app, &cs, &csrf, copy, &again.body).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let back = xlsx_text(
                &app.get(&format!("/plans/{copy}/tasks.xlsx"), &cs)
                    .await
                    .body,
            );
            assert_eq!(back, xlsx_text(&again.body));
        });
    }
);

both_engines!(
    the_api_gives_plans_their_tree_and_a_units_tasks,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let id = in_force(&app).await;
            let (s, list) = app.api_get("/api/v1/plans", "nn-commission-staff").await;
            assert_eq!(s, StatusCode::OK, "{list}");
            assert_eq!(list[0]["status"], "active");
            assert_eq!(list[0]["phases"][1]["name"], "见成效");
            let (s, one) = app
                .api_get(&format!("/api/v1/plans/{id}"), "nn-leader")
                .await;
            assert_eq!(s, StatusCode::OK, "{one}");
            let tasks = one["tasks"].as_array().unwrap();
            assert_eq!(tasks.len(), 5);
            assert_eq!(tasks[3]["recurrence"], "quarterly");
            assert_eq!(tasks[3]["target_value"], 4);
            let (s, mine) = app.api_get("/api/v1/tasks", "edu-reporter").await;
            assert_eq!(s, StatusCode::OK, "{mine}");
            assert_eq!(mine.as_array().unwrap().len(), 1);
            assert_eq!(mine[0]["task"]["title"], "进学校");
            assert_eq!(mine[0]["lead"], true);
            // Someone else's plan is not found.
            let (s, _) = app
                .api_get("/api/v1/plans/12345", "nn-commission-staff")
                .await;
            assert_eq!(s, StatusCode::NOT_FOUND);
        });
    }
);

both_engines!(a_plans_form_names_each_problem, |t: TestDb| {
    let app = city(t);
    block_on(async {
        let (cs, csrf) = app.session("nn-commission-staff");
        let r = app
            .post(
                "/plans",
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("name", ""),
                    ("organiser", "南宁市创建办"),
                    ("starts_on", "2027-01-01"),
                    ("ends_on", "2026-12-31"),
                    ("phase1_name", "强基础"),
                    ("phase1_start", "2027-01-01"),
                    ("phase1_end", "2027-13-01"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        for words in ["名称", "结束日期", "第1阶段"] {
            assert!(text.contains(words), "{words} in {text}");
        }
        // What was typed is kept.
        assert!(text.contains("南宁市创建办"));
    });
});

/// A plan in force from last year to the end of next, its first task (建立工作台账, once, by
/// the end of next year) led by 南宁市民宗委 with nn教育局, its second (补报去年台账, due last
/// December: overdue) nn教育局's; the plan's and the first task's ids.
async fn running(app: &App) -> (i64, i64) {
    use chrono::Datelike;
    let year = shiliu_db::today().year();
    let (cs, csrf) = app.session("nn-commission-staff");
    let r = app
        .post(
            "/plans",
            &cs,
            &[
                ("_csrf", &csrf),
                ("name", "本年度工作方案"),
                ("organiser", "南宁市创建办"),
                ("starts_on", &format!("{}-01-01", year - 1)),
                ("ends_on", &format!("{}-12-31", year + 1)),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let id: i64 = r
        .location()
        .trim_start_matches("/plans/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let due = format!("{}年12月底前", year + 1);
    let bytes = xlsx(&[
        &[
            "序号",
            "工作任务",
            "具体措施",
            "牵头单位",
            "责任单位",
            "完成时限",
        ],
        &["1", "建立工作台账", "", "南宁市民宗委", "nn教育局", &due],
        &[
            "2",
            "补报去年台账",
            "",
            "nn教育局",
            "",
            &format!("{}年12月底前", year - 1),
        ],
    ]);
    let r = import(app, &cs, &csrf, id, &bytes).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = app
        .post(
            &format!("/plans/{id}/status"),
            &cs,
            &[
                ("_csrf", &csrf),
                ("version", &version(app, id)),
                ("to", "active"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let task = app
        .t
        .db
        .write_blocking(move |c| {
            let p = shiliu_db::tasks::get_plan(c, &Scope::everything(), id)?;
            Ok(shiliu_db::tasks::tree(c, &p)?.nodes[0].item.id)
        })
        .unwrap();
    (id, task)
}

/// The id and version of the one report on a task.
fn the_report(app: &App, task: i64) -> (i64, i32) {
    app.t
        .db
        .write_blocking(move |c| {
            use diesel::prelude::*;
            use shiliu_db::schema::task_reports as r;
            Ok(r::table
                .filter(r::item_id.eq(task))
                .select((r::id, r::version))
                .first::<(i64, i32)>(c)?)
        })
        .unwrap()
}

both_engines!(
    a_unit_reports_the_lead_returns_it_with_an_opinion_and_confirms_it_sent_again,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (id, task) = running(&app).await;
            let page_of = format!("/plans/{id}/tasks/{task}");
            // The co-operating unit reports.
            let (edu, edu_csrf) = app.session("edu-reporter");
            let page = app.get(&page_of, &edu).await.text();
            assert!(
                page.contains("report-form") && page.contains("未开始"),
                "{page}"
            );
            let send = |text: &'static str| {
                let (edu, edu_csrf, page_of) = (edu.clone(), edu_csrf.clone(), page_of.clone());
                let app = &app;
                async move {
                    app.post(
                        &format!("{page_of}/reports"),
                        &edu,
                        &[("_csrf", &edu_csrf), ("period", ""), ("progress", text)],
                    )
                    .await
                }
            };
            // Nothing written: named.
            let r = send(" ").await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("工作进展"));
            let r = send("已建立台账").await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let page = app.get(&r.location(), &edu).await.text();
            assert!(page.contains("已报送，等待牵头单位审核") && page.contains("待审核"));
            assert!(
                !page.contains("/review"),
                "a unit does not decide on its own"
            );
            // The lead unit sends it back with an opinion.
            let (mzw, mzw_csrf) = app.session("mzw-reporter");
            let (report, v) = the_report(&app, task);
            let review = format!("{page_of}/reports/{report}/review");
            let page = app.get(&page_of, &mzw).await.text();
            assert!(page.contains(&review), "{page}");
            let r = app
                .post(
                    &review,
                    &mzw,
                    &[
                        ("_csrf", &mzw_csrf),
                        ("version", &v.to_string()),
                        ("decision", "return"),
                        ("opinion", ""),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("退回时请写明审核意见"));
            let r = app
                .post(
                    &review,
                    &mzw,
                    &[
                        ("_csrf", &mzw_csrf),
                        ("version", &v.to_string()),
                        ("decision", "return"),
                        ("opinion", "请补充照片"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let page = app.get(&page_of, &edu).await.text();
            assert!(
                page.contains("请补充照片") && page.contains("滞后"),
                "{page}"
            );
            // Sent again, then confirmed: done.
            let r = send("已建立台账，附照片").await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let (_, v) = the_report(&app, task);
            let r = app
                .post(
                    &review,
                    &mzw,
                    &[
                        ("_csrf", &mzw_csrf),
                        ("version", &v.to_string()),
                        ("decision", "confirm"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let page = app.get(&page_of, &edu).await.text();
            assert!(page.contains("已确认") && page.contains("已完成"), "{page}");
            assert!(!page.contains("report-form"), "nothing left to report");
            // The plan's tree shows how the task stands.
            let (cs, _) = app.session("nn-commission-staff");
            let plan = app.get(&format!("/plans/{id}"), &cs).await.text();
            assert!(plan.contains(&page_of), "{plan}");
            // A leader reads the ledger and decides nothing.
            let (leader, _) = app.session("nn-leader");
            let page = app.get(&page_of, &leader).await.text();
            assert!(page.contains("请补充照片") && !page.contains("/review"));
        });
    }
);

/// The counter `what` on the home of the session `cookie`: its count and link.
async fn counter(app: &App, cookie: &str, what: &str) -> Option<(i64, String)> {
    let home = home_of(app, cookie).await;
    let at = home.find(&format!("data-todo=\"{what}\""))?;
    let before = &home[..at];
    let href = before
        .rsplit("href=\"")
        .next()?
        .split('"')
        .next()?
        .replace("&amp;", "&");
    let span = &home[at..].split_once("<span class=\"n")?.1;
    let n = span.split_once("\">")?.1.split_once('<')?.0.parse().ok()?;
    Some((n, href))
}

both_engines!(
    a_units_todo_counts_what_it_owes_and_a_leads_what_it_reviews,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (id, task) = running(&app).await;
            let (edu, edu_csrf) = app.session("edu-reporter");
            let (n, href) = counter(&app, &edu, "todo.tasks_owed")
                .await
                .expect("the counter");
            assert_eq!((n, href.as_str()), (1, "/plans?owed=1"));
            let list = app.get(&href, &edu).await.text();
            assert_eq!(list.matches("<tr><td").count(), 1, "{list}");
            assert!(
                list.contains("补报去年台账") && list.contains("逾期"),
                "{list}"
            );
            // Reported: the lead unit has it to review, the organiser not (it is the lead's).
            let r = app
                .post(
                    &format!("/plans/{id}/tasks/{task}/reports"),
                    &edu,
                    &[("_csrf", &edu_csrf), ("period", ""), ("progress", "已建立")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let (mzw, _) = app.session("mzw-reporter");
            let (n, href) = counter(&app, &mzw, "todo.reports_to_review")
                .await
                .expect("the counter");
            assert_eq!(n, 1);
            let list = app.get(&href, &mzw).await.text();
            assert_eq!(list.matches("<tr><td").count(), 1, "{list}");
            assert!(list.contains("nn教育局") && list.contains("建立工作台账"));
            let (cs, _) = app.session("nn-commission-staff");
            assert_eq!(
                counter(&app, &cs, "todo.reports_to_review")
                    .await
                    .map(|c| c.0),
                Some(0)
            );
            // A leader has neither.
            let (leader, _) = app.session("nn-leader");
            assert!(counter(&app, &leader, "todo.tasks_owed").await.is_none());
        });
    }
);

both_engines!(
    the_board_puts_the_late_first_filters_by_unit_and_exports_numbers,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (id, _) = running(&app).await;
            let (cs, _) = app.session("nn-commission-staff");
            let board = app.get(&format!("/plans/{id}/board"), &cs).await;
            assert_eq!(board.status, StatusCode::OK);
            let text = board.text();
            // Three (task, unit) lines; the overdue one first.
            let body = text.split("id=\"board\"").nth(1).unwrap();
            assert_eq!(
                body.split("</tbody>")
                    .next()
                    .unwrap()
                    .matches("<tr><td")
                    .count(),
                3
            );
            let first = body.split("<tr><td").nth(1).unwrap();
            assert!(
                first.contains("补报去年台账") && first.contains("逾期"),
                "{first}"
            );
            // By unit: nn教育局 has two tasks, one overdue.
            assert!(text.contains("board-units") && text.contains("nn教育局"));
            // Filtered to the overdue: one line.
            let late = app
                .get(&format!("/plans/{id}/board?progress=overdue"), &cs)
                .await
                .text();
            let body = late.split("id=\"board\"").nth(1).unwrap();
            assert_eq!(
                body.split("</tbody>")
                    .next()
                    .unwrap()
                    .matches("<tr><td")
                    .count(),
                1
            );
            let bad = app
                .get(&format!("/plans/{id}/board?progress=late"), &cs)
                .await;
            assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
            // The sheet: a row per line, the target a number.
            let sheet = xlsx_cells(&app.get(&format!("/plans/{id}/board.xlsx"), &cs).await.body);
            assert_eq!(sheet.len(), 4);
            assert_eq!(sheet[0][2].to_string(), "单位");
            // A unit's reporter reads its own part on the plan's page, not the board.
            let (edu, _) = app.session("edu-reporter");
            assert_eq!(
                app.get(&format!("/plans/{id}/board"), &edu).await.status,
                StatusCode::FORBIDDEN
            );
        });
    }
);

both_engines!(
    through_the_api_a_unit_reports_and_the_lead_returns_then_confirms,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (id, task) = running(&app).await;
            let path = format!("/api/v1/plans/{id}/tasks/{task}/reports");
            let body =
                |progress: &str| Some(serde_json::json!({"period": "", "progress": progress}));
            let (s, e) = app.api("POST", &path, "edu-reporter", body(" ")).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert!(e["error"]["details"]["progress"].is_string(), "{e}");
            let (s, r) = app.api("POST", &path, "edu-reporter", body("已建立")).await;
            assert_eq!(s, StatusCode::CREATED, "{r}");
            assert_eq!(r["status"], "submitted");
            let review = format!("{path}/{}/review", r["id"]);
            // Not the unit's own to decide; the lead's.
            let decide = |decision: &str, opinion: &str, version: &serde_json::Value| {
                Some(
                    serde_json::json!({"decision": decision, "opinion": opinion, "version": version}),
                )
            };
            let (s, _) = app
                .api(
                    "POST",
                    &review,
                    "edu-reporter",
                    decide("confirm", "", &r["version"]),
                )
                .await;
            assert_eq!(s, StatusCode::FORBIDDEN);
            let (s, back) = app
                .api(
                    "POST",
                    &review,
                    "mzw-reporter",
                    decide("return", "请补充照片", &r["version"]),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{back}");
            assert_eq!(back["status"], "returned");
            assert_eq!(back["events"][1]["body"], "请补充照片");
            let (s, again) = app.api("POST", &path, "edu-reporter", body("已补充")).await;
            assert_eq!(s, StatusCode::CREATED, "{again}");
            let (s, ok) = app
                .api(
                    "POST",
                    &review,
                    "mzw-reporter",
                    decide("confirm", "", &again["version"]),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{ok}");
            assert_eq!(ok["status"], "confirmed");
            // The ledger: the unit done, the report's four steps.
            let (s, l) = app.api_get(&path, "nn-leader").await;
            assert_eq!(s, StatusCode::OK, "{l}");
            let edu = l["units"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["name"] == "nn教育局")
                .unwrap()
                .clone();
            assert_eq!(edu["progress"], "done");
            assert_eq!(l["reports"][0]["events"].as_array().unwrap().len(), 4);
            let (s, _) = app
                .api(
                    "POST",
                    &review,
                    "mzw-reporter",
                    decide("maybe", "", &ok["version"]),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        });
    }
);

both_engines!(
    a_report_keeps_its_evidence_and_refuses_a_file_of_another_kind,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (id, task) = running(&app).await;
            let (edu, csrf) = app.session("edu-reporter");
            let path = format!("/plans/{id}/tasks/{task}/reports");
            let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
            png.extend_from_slice(b"ledger photo");
            // A file that is not what it says: refused by name, nothing written.
            let r = app
                .multipart(
                    &path,
                    &edu,
                    &csrf,
                    &[("period", ""), ("progress", "已建立台账")],
                    &[("files", "签到表.png", b"not a picture")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("附件"), "{}", r.text());
            assert!(
                app.get(&format!("/plans/{id}/tasks/{task}"), &edu)
                    .await
                    .text()
                    .contains("尚未报送")
            );
            let r = app
                .multipart(
                    &path,
                    &edu,
                    &csrf,
                    &[("period", ""), ("progress", "已建立台账")],
                    &[("files", "活动照片.png", &png)],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            // The lead unit reads it with its photo.
            let (mzw, _) = app.session("mzw-reporter");
            let page = app
                .get(&format!("/plans/{id}/tasks/{task}"), &mzw)
                .await
                .text();
            assert!(page.contains("活动照片.png"), "{page}");
            let href = page
                .split("href=\"")
                .find(|x| x.contains("/files/"))
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string();
            let f = app.get(&href, &mzw).await;
            assert_eq!(f.status, StatusCode::OK);
            assert_eq!(f.body, png);
            assert_eq!(f.headers["content-type"], "image/png");
            // Someone outside the plan's reach: not found.
            let (grid, _) = app.session("nn-grid-worker");
            assert_ne!(app.get(&href, &grid).await.status, StatusCode::OK);
        });
    }
);

/// The id of the seeded unit of the city with this name.
fn unit_named(app: &App, name: &'static str) -> i64 {
    app.t
        .db
        .write_blocking(move |c| {
            use diesel::prelude::*;
            use shiliu_db::schema::units as u;
            Ok(u::table
                .filter(u::name.eq(name))
                .select(u::id)
                .first::<i64>(c)?)
        })
        .unwrap()
}

/// The id and version of the one finding of a plan.
fn the_finding(app: &App, plan: i64) -> (i64, String) {
    app.t
        .db
        .write_blocking(move |c| {
            use diesel::prelude::*;
            use shiliu_db::schema::task_findings as f;
            Ok(f::table
                .filter(f::plan_id.eq(plan))
                .select((f::id, f::version))
                .first::<(i64, i32)>(c)?)
        })
        .map(|(id, v)| (id, v.to_string()))
        .unwrap()
}

both_engines!(
    an_inspections_finding_is_rectified_sent_back_and_closed_through_the_pages,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (id, _) = running(&app).await;
            let edu_unit = unit_named(&app, "nn教育局");
            let (cs, csrf) = app.session("nn-commission-staff");
            let today = shiliu_db::today().to_string();
            let inspection = |visited: Option<String>| {
                let mut form = vec![
                    ("_csrf", csrf.clone()),
                    ("title", "第一季度巡回督导".to_string()),
                    ("inspection_kind", "tour".to_string()),
                    ("team", "组长：张三".to_string()),
                    ("starts_on", today.clone()),
                    ("ends_on", today.clone()),
                ];
                if let Some(v) = visited {
                    form.push(("visited", v));
                }
                form
            };
            let post = |path: String, cookie: String, form: Vec<(&'static str, String)>| {
                let app = &app;
                async move {
                    let pairs: Vec<(&str, &str)> =
                        form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    app.post(&path, &cookie, &pairs).await
                }
            };
            // No unit visited: named, nothing written.
            let r = post(
                format!("/plans/{id}/inspections"),
                cs.clone(),
                inspection(None),
            )
            .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                r.text().contains("督查单位：请至少选择一个督查单位"),
                "{}",
                r.text()
            );
            let r = post(
                format!("/plans/{id}/inspections"),
                cs.clone(),
                inspection(Some(edu_unit.to_string())),
            )
            .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let at = r.location().split('?').next().unwrap().to_string();
            let page = app.get(&r.location(), &cs).await.text();
            assert!(
                page.contains("已记录督查") && page.contains("nn教育局"),
                "{page}"
            );
            // A finding for the unit visited, due in a month.
            let due = (shiliu_db::today() + chrono::Duration::days(30)).to_string();
            let finding = |problem: &str| {
                vec![
                    ("_csrf", csrf.clone()),
                    ("unit", edu_unit.to_string()),
                    ("problem", problem.to_string()),
                    ("measures", "补齐台账".to_string()),
                    ("due", due.clone()),
                ]
            };
            let r = post(format!("{at}/findings"), cs.clone(), finding(" ")).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("存在问题"));
            let r = post(
                format!("{at}/findings"),
                cs.clone(),
                finding("台账资料不全"),
            )
            .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            // The unit sees it in its to-do, and only its own.
            let (edu, edu_csrf) = app.session("edu-reporter");
            let (n, href) = counter(&app, &edu, "todo.findings_owed")
                .await
                .expect("the counter");
            assert_eq!((n, href.as_str()), (1, "/plans?rectify=1"));
            let list = app.get(&href, &edu).await.text();
            assert_eq!(
                list.matches("<tr class=\"finding-open\"").count(),
                1,
                "{list}"
            );
            let (f, v) = the_finding(&app, id);
            let page_of = format!("/plans/{id}/findings/{f}");
            let (mzw, _) = app.session("mzw-reporter");
            assert_eq!(app.get(&page_of, &mzw).await.status, StatusCode::NOT_FOUND);
            let page = app.get(&page_of, &edu).await.text();
            assert!(page.contains("rectify-form") && !page.contains("verify-form"));
            let report = |text: &str, v: String| {
                vec![
                    ("_csrf", edu_csrf.clone()),
                    ("version", v),
                    ("rectification", text.to_string()),
                ]
            };
            let r = post(
                format!("{page_of}/report"),
                edu.clone(),
                report("", v.clone()),
            )
            .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("整改情况"));
            let r = post(
                format!("{page_of}/report"),
                edu.clone(),
                report("已补齐", v),
            )
            .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            // The organiser has it to verify: sends it back, with an opinion.
            let (n, href) = counter(&app, &cs, "todo.findings_to_verify")
                .await
                .expect("the counter");
            assert_eq!((n, href.as_str()), (1, "/plans?verify=1"));
            let (_, v) = the_finding(&app, id);
            let verify = |decision: &str, opinion: &str, v: String| {
                vec![
                    ("_csrf", csrf.clone()),
                    ("version", v),
                    ("decision", decision.to_string()),
                    ("opinion", opinion.to_string()),
                ]
            };
            let r = post(
                format!("{page_of}/verify"),
                cs.clone(),
                verify("return", "", v.clone()),
            )
            .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let r = post(
                format!("{page_of}/verify"),
                cs.clone(),
                verify("return", "缺少照片", v),
            )
            .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let page = app.get(&page_of, &edu).await.text();
            assert!(
                page.contains("缺少照片") && page.contains("退回重改"),
                "{page}"
            );
            let (_, v) = the_finding(&app, id);
            let r = post(
                format!("{page_of}/report"),
                edu.clone(),
                report("已补齐并附照片", v),
            )
            .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let (_, v) = the_finding(&app, id);
            let r = post(
                format!("{page_of}/verify"),
                cs.clone(),
                verify("close", "", v),
            )
            .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let page = app.get(&r.location(), &cs).await.text();
            assert!(
                page.contains("已核验销号") && page.contains("已销号"),
                "{page}"
            );
            assert_eq!(
                counter(&app, &edu, "todo.findings_owed").await.map(|c| c.0),
                Some(0)
            );
            // The figures: one finding, closed, 100%.
            let list = app
                .get(&format!("/plans/{id}/inspections"), &cs)
                .await
                .text();
            assert!(list.contains("100.0%"), "{list}");
            // The sheet: the finding with its deadline as a date.
            let sheet = app.get(&format!("/plans/{id}/findings.xlsx"), &cs).await;
            assert_eq!(sheet.status, StatusCode::OK);
            let cells = xlsx_cells(&sheet.body);
            assert_eq!(cells.len(), 2, "a heading and one finding");
            assert!(
                matches!(cells[1][5], calamine::Data::DateTime(_)),
                "{:?}",
                cells[1]
            );
            // A filter the list does not know is refused, naming it.
            let bad = app
                .get(&format!("/plans/{id}/findings?status=lost"), &cs)
                .await;
            assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
            // A leader reads, records nothing.
            let (leader, _) = app.session("nn-leader");
            let page = app.get(&format!("/plans/{id}/inspections"), &leader).await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(!page.text().contains("inspection-form"));
        });
    }
);

both_engines!(
    through_the_api_a_unit_sees_its_own_findings_reports_one_and_the_organiser_closes_it,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (id, _) = running(&app).await;
            let edu = unit_named(&app, "nn教育局");
            let mzw = unit_named(&app, "南宁市民宗委");
            app.t
                .db
                .write_blocking(move |c| {
                    use shiliu_db::tasks::inspections as insp;
                    use shiliu_domain::tasks::inspections::{
                        FindingInput, InspectionFields, InspectionInput,
                    };
                    let sys = shiliu_db::scope::Can::check(&Actor::system("test")).unwrap();
                    let p = shiliu_db::tasks::get_plan(c, &Scope::everything(), id)?;
                    let today = shiliu_db::today().to_string();
                    let i = insp::create(
                        c,
                        &sys,
                        id,
                        &InspectionInput::parse(
                            InspectionFields {
                                title: "专项督查",
                                kind: "special",
                                team: "督查组",
                                starts_on: &today,
                                ends_on: &today,
                                notes: "",
                            },
                            &[edu.to_string(), mzw.to_string()],
                            (p.starts_on, p.ends_on),
                        )
                        .unwrap(),
                    )?;
                    for (unit, problem) in [(edu, "教育局的问题"), (mzw, "民宗委的问题")]
                    {
                        insp::add_finding(
                            c,
                            &sys,
                            (id, i.id),
                            &FindingInput {
                                unit_id: unit,
                                problem: problem.into(),
                                measures: None,
                                due_on: p.ends_on,
                            },
                        )?;
                    }
                    Ok(())
                })
                .unwrap();
            let path = format!("/api/v1/plans/{id}/findings");
            let (s, all) = app.api_get(&path, "nn-leader").await;
            assert_eq!(s, StatusCode::OK, "{all}");
            assert_eq!(all["figures"]["total"], 2);
            let (s, mine) = app.api_get(&path, "edu-reporter").await;
            assert_eq!(s, StatusCode::OK, "{mine}");
            let mine = mine["findings"].as_array().unwrap().clone();
            assert_eq!(mine.len(), 1);
            assert_eq!(mine[0]["problem"], "教育局的问题");
            let f = &mine[0];
            let at = format!("{path}/{}", f["id"]);
            let (s, e) = app
                .api(
                    "POST",
                    &format!("{at}/report"),
                    "edu-reporter",
                    Some(serde_json::json!({"rectification": "", "version": f["version"]})),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert!(e["error"]["details"]["rectification"].is_string(), "{e}");
            let (s, sent) = app
                .api(
                    "POST",
                    &format!("{at}/report"),
                    "edu-reporter",
                    Some(serde_json::json!({"rectification": "已整改", "version": f["version"]})),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{sent}");
            assert_eq!(sent["status"], "reported");
            let verify = |decision: &str, opinion: &str| {
                Some(
                    serde_json::json!({"decision": decision, "opinion": opinion, "version": sent["version"]}),
                )
            };
            let (s, _) = app
                .api(
                    "POST",
                    &format!("{at}/verify"),
                    "nn-commission-staff",
                    verify("maybe", ""),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
            let (s, _) = app
                .api(
                    "POST",
                    &format!("{at}/verify"),
                    "edu-reporter",
                    verify("close", ""),
                )
                .await;
            assert_eq!(s, StatusCode::FORBIDDEN);
            let (s, closed) = app
                .api(
                    "POST",
                    &format!("{at}/verify"),
                    "nn-commission-staff",
                    verify("close", ""),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{closed}");
            assert_eq!(closed["status"], "closed");
            let (_, all) = app.api_get(&path, "nn-leader").await;
            assert_eq!(all["figures"]["closed"], 1);
            assert_eq!(all["figures"]["rate_per_mille"], 500);
        });
    }
);

both_engines!(
    an_instruction_is_recorded_and_shows_what_the_units_did_about_it,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (id, task) = running(&app).await;
            let (cs, csrf) = app.session("nn-commission-staff");
            let today = shiliu_db::today().to_string();
            let form = |reference: &str, items: &[String]| {
                let mut f: Vec<(&str, String)> = vec![
                    ("_csrf", csrf.clone()),
                    ("source", "document".into()),
                    ("title", "关于紧盯清单台账抓落实的通知".into()),
                    ("reference", reference.into()),
                    ("said_on", today.clone()),
                    ("body", "各单位要建立工作台账。".into()),
                ];
                for i in items {
                    f.push(("items", i.clone()));
                }
                f
            };
            let post = |f: Vec<(&'static str, String)>| {
                let (app, cs) = (&app, cs.clone());
                async move {
                    let pairs: Vec<(&str, &str)> =
                        f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    app.post(&format!("/plans/{id}/instructions"), &cs, &pairs)
                        .await
                }
            };
            // A document without its 文号 and no task ticked: both named, nothing written.
            let r = post(form("", &[])).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = r.text();
            assert!(
                text.contains("文件请填写文号") && text.contains("请至少勾选一项落实的任务"),
                "{text}"
            );
            let r = post(form("南宁办发〔2027〕3号", &[task.to_string()])).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let at = r.location().split('?').next().unwrap().to_string();
            let page = app.get(&at, &cs).await.text();
            assert!(page.contains("落实这条要求的任务还没有单位报送"), "{page}");
            // The unit reports on the task: the instruction shows it, and the task the instruction.
            let (edu, edu_csrf) = app.session("edu-reporter");
            let r = app
                .post(
                    &format!("/plans/{id}/tasks/{task}/reports"),
                    &edu,
                    &[
                        ("_csrf", &edu_csrf),
                        ("period", ""),
                        ("progress", "台账已建立"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let page = app.get(&at, &cs).await.text();
            let done = page
                .split("id=\"carried-out\"")
                .nth(1)
                .expect("the reports");
            assert!(
                done.contains("nn教育局") && done.contains("台账已建立"),
                "{page}"
            );
            let task_page = app
                .get(&format!("/plans/{id}/tasks/{task}"), &edu)
                .await
                .text();
            assert!(
                task_page.contains("关于紧盯清单台账抓落实的通知") && !task_page.contains(&at),
                "the unit reads the instruction; its page is the plan's readers'"
            );
            assert_eq!(app.get(&at, &edu).await.status, StatusCode::FORBIDDEN);
            // Through the API, the same.
            let (s, list) = app
                .api_get(&format!("/api/v1/plans/{id}/instructions"), "nn-leader")
                .await;
            assert_eq!(s, StatusCode::OK, "{list}");
            assert_eq!(list[0]["items"][0], task);
            assert_eq!(list[0]["reference"], "南宁办发〔2027〕3号");
        });
    }
);

both_engines!(
    an_overdue_report_is_reminded_by_hand_escalated_by_the_sweep_and_both_shown,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (id, _) = running(&app).await;
            let edu_unit = unit_named(&app, "nn教育局");
            // 补报去年台账: the education bureau's, due last December, not reported.
            let late = app
                .t
                .db
                .write_blocking(move |c| {
                    let p = shiliu_db::tasks::get_plan(c, &Scope::everything(), id)?;
                    Ok(shiliu_db::tasks::tree(c, &p)?.nodes[1].item.id)
                })
                .unwrap();
            let (cs, csrf) = app.session("nn-commission-staff");
            let page_of = format!("/plans/{id}/tasks/{late}");
            let page = app.get(&page_of, &cs).await.text();
            assert!(page.contains("/remind"), "{page}");
            let unit = edu_unit.to_string();
            let remind = |period: &'static str| {
                let (app, cs, csrf, unit, page_of) = (
                    &app,
                    cs.clone(),
                    csrf.clone(),
                    unit.clone(),
                    page_of.clone(),
                );
                async move {
                    app.post(
                        &format!("{page_of}/remind"),
                        &cs,
                        &[("_csrf", &csrf), ("unit", &unit), ("period", period)],
                    )
                    .await
                }
            };
            let r = remind("2099").await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let r = remind("").await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let page = app.get(&r.location(), &cs).await.text();
            assert!(page.contains("已催报，该单位会在待办中看到"), "{page}");
            let (edu, _) = app.session("edu-reporter");
            let owed = app.get("/plans?owed=1", &edu).await.text();
            assert!(owed.contains("已催报"), "{owed}");
            // Another unit's reporter cannot press anyone.
            let (mzw, mzw_csrf) = app.session("mzw-reporter");
            let r = app
                .post(
                    &format!("{page_of}/remind"),
                    &mzw,
                    &[("_csrf", &mzw_csrf), ("unit", &unit), ("period", "")],
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            // The sweep escalates it: the organiser's to-do counts it, the list shows it.
            app.t
                .db
                .write_blocking(|c| shiliu_db::tasks::reminders::sweep(c, shiliu_db::now()))
                .unwrap();
            let (n, href) = counter(&app, &cs, "todo.tasks_escalated")
                .await
                .expect("the counter");
            assert_eq!((n, href.as_str()), (1, "/plans?escalated=1"));
            let list = app.get(&href, &cs).await.text();
            assert_eq!(list.matches("<tr><td").count(), 1, "{list}");
            assert!(list.contains("补报去年台账") && list.contains("nn教育局"));
            let owed = app.get("/plans?owed=1", &edu).await.text();
            assert!(owed.contains("已督办"), "{owed}");
            let board = app.get(&format!("/plans/{id}/board"), &cs).await.text();
            assert!(board.contains("已督办"), "{board}");
        });
    }
);

both_engines!(
    a_units_ledger_prints_for_a_period_for_itself_and_the_plans_readers,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (id, task) = running(&app).await;
            let edu_unit = unit_named(&app, "nn教育局");
            let mzw_unit = unit_named(&app, "南宁市民宗委");
            let (edu, edu_csrf) = app.session("edu-reporter");
            let r = app
                .post(
                    &format!("/plans/{id}/tasks/{task}/reports"),
                    &edu,
                    &[
                        ("_csrf", &edu_csrf),
                        ("period", ""),
                        ("progress", "台账已建立并归档"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let print = format!("/plans/{id}/units/{edu_unit}/ledger");
            let plan = app.get(&format!("/plans/{id}"), &edu).await.text();
            assert!(plan.contains(&print), "the unit finds its ledger to print");
            let page = app.get(&print, &edu).await.text();
            let rows = page.split("id=\"unit-ledger\"").nth(1).expect("the table");
            assert!(
                rows.contains("台账已建立并归档") && rows.contains("待审核"),
                "{page}"
            );
            // Another period: nothing sent in it.
            let empty = app
                .get(&format!("{print}?from=2000-01-01&to=2000-12-31"), &edu)
                .await
                .text();
            assert!(!empty.contains("台账已建立并归档"));
            let bad = app.get(&format!("{print}?from=yesterday"), &edu).await;
            assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
            // Not another unit's, for a unit; any unit's for the organiser and the leader.
            let other = format!("/plans/{id}/units/{mzw_unit}/ledger");
            assert_eq!(app.get(&other, &edu).await.status, StatusCode::NOT_FOUND);
            let (leader, _) = app.session("nn-leader");
            assert!(
                app.get(&print, &leader)
                    .await
                    .text()
                    .contains("台账已建立并归档")
            );
            let (cs, _) = app.session("nn-commission-staff");
            assert_eq!(app.get(&other, &cs).await.status, StatusCode::OK);
        });
    }
);

both_engines!(
    the_boards_figures_equal_a_recount_from_the_raw_rows,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (id, task) = running(&app).await;
            // One report waiting, so standings differ between units.
            let (edu, edu_csrf) = app.session("edu-reporter");
            let r = app
                .post(
                    &format!("/plans/{id}/tasks/{task}/reports"),
                    &edu,
                    &[("_csrf", &edu_csrf), ("period", ""), ("progress", "已建立")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            // The recount: every (task, unit) handed, its standing from its own report rows.
            let expected = app
                .t
                .db
                .write_blocking(move |c| {
                    use diesel::prelude::*;
                    use shiliu_db::schema::{task_assignments as a, task_reports as r};
                    use shiliu_domain::tasks::{Progress, ReportStatus, Reported};
                    let plan = shiliu_db::tasks::get_plan(c, &Scope::everything(), id)?;
                    let pairs: Vec<(i64, i64)> = a::table
                        .filter(a::plan_id.eq(id))
                        .select((a::item_id, a::unit_id))
                        .load(c)?;
                    let rows: Vec<(i64, i64, String, String, Option<i64>)> = r::table
                        .filter(r::plan_id.eq(id))
                        .select((r::item_id, r::unit_id, r::period, r::status, r::figure))
                        .load(c)?;
                    let tree = shiliu_db::tasks::tree(c, &plan)?;
                    let today = shiliu_db::today();
                    let mut counts = std::collections::HashMap::new();
                    for (item, unit) in pairs {
                        let node = tree.nodes.iter().find(|n| n.item.id == item).unwrap();
                        let mine: Vec<Reported> = rows
                            .iter()
                            .filter(|x| x.0 == item && x.1 == unit)
                            .map(|x| Reported {
                                period: &x.2,
                                status: ReportStatus::parse(&x.3).unwrap(),
                                figure: x.4,
                            })
                            .collect();
                        let p = shiliu_db::tasks::ledger::asked(&plan, &node.item)
                            .progress(&mine, today);
                        *counts.entry(p).or_insert(0_i64) += 1;
                    }
                    Ok(Progress::ALL
                        .iter()
                        .map(|p| (p.as_str(), counts.get(p).copied().unwrap_or(0)))
                        .collect::<Vec<_>>())
                })
                .unwrap();
            assert!(
                expected.iter().filter(|(_, n)| *n > 0).count() >= 2,
                "{expected:?}"
            );
            let (cs, _) = app.session("nn-commission-staff");
            let board = app.get(&format!("/plans/{id}/board"), &cs).await.text();
            for (code, n) in expected {
                let shown: i64 = board
                    .split(&format!("board?progress={code}\"><span class=\"n\">"))
                    .nth(1)
                    .and_then(|x| x.split('<').next())
                    .and_then(|x| x.parse().ok())
                    .unwrap_or_else(|| panic!("no tile for {code}"));
                assert_eq!(shown, n, "{code}");
            }
        });
    }
);

both_engines!(
    through_the_api_a_plan_is_drawn_up_its_rows_refused_whole_then_taken_put_in_force_and_inspected,
    |t: TestDb| {
        use serde_json::json;
        let app = city(t);
        block_on(async {
            let staff = "nn-commission-staff";
            let (s, e) = app
                .api(
                    "POST",
                    "/api/v1/plans",
                    staff,
                    Some(json!({"name": "", "organiser": "南宁市创建办",
                        "starts_on": "2027-01-01", "ends_on": "2026-12-31"})),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert!(e["error"]["details"]["name"].is_string(), "{e}");
            assert!(e["error"]["details"]["ends_on"].is_string(), "{e}");
            let (s, plan) = app
                .api(
                    "POST",
                    "/api/v1/plans",
                    staff,
                    Some(
                        json!({"name": "2027年创建示范市实施方案", "organiser": "南宁市创建办",
                        "starts_on": "2027-01-01", "ends_on": "2029-12-31",
                        "phases": [{"name": "强基础", "starts_on": "2027-01-01",
                                    "ends_on": "2027-12-31", "goal": "一年强基础"}]}),
                    ),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{plan}");
            assert_eq!(plan["status"], "draft");
            assert_eq!(plan["phases"][0]["goal"], "一年强基础");
            let id = plan["id"].as_i64().unwrap();
            let rows = |lead: &str| {
                json!([
                    {"seq": "一、组织领导"},
                    {"seq": "1", "task": "制定实施方案", "lead_units": "南宁市民宗委",
                     "due": "2027年3月底前"},
                    {"seq": "2", "task": "开展“十进”活动", "measure": "进机关",
                     "lead_units": "南宁市委宣传部", "co_units": "南宁市民宗委",
                     "due": "每季度", "target": "≥4场"},
                    {"measure": "进学校", "lead_units": lead, "due": "2027-13-01",
                     "notes": "报送照片"}
                ])
            };
            // Two wrong rows: both named against their index, nothing taken.
            let (s, e) = app
                .api(
                    "PUT",
                    &format!("/api/v1/plans/{id}/tasks"),
                    staff,
                    Some(json!({"version": plan["version"], "tasks": rows("")})),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            let d = &e["error"]["details"];
            assert!(d["tasks[3].lead_units"].is_string(), "{e}");
            assert!(d["tasks[3].due"].is_string(), "{e}");
            // A unit the city does not have: found by the database, named against its row.
            let mut named = rows("南宁市教育厅");
            named[3]["due"] = json!("2027年底");
            let (s, e) = app
                .api(
                    "PUT",
                    &format!("/api/v1/plans/{id}/tasks"),
                    staff,
                    Some(json!({"version": plan["version"], "tasks": named})),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert!(
                e["error"]["details"]["tasks[3].lead_units"]
                    .as_str()
                    .is_some_and(|m| m.contains("南宁市教育厅")),
                "{e}"
            );
            let (s, one) = app.api_get(&format!("/api/v1/plans/{id}"), staff).await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(one["tasks"].as_array().unwrap().len(), 0, "nothing taken");
            // Putting in force a plan that hands out nothing is refused.
            let status = |s: &str, v: &serde_json::Value| Some(json!({"status": s, "version": v}));
            let (s, e) = app
                .api(
                    "POST",
                    &format!("/api/v1/plans/{id}/status"),
                    staff,
                    status("active", &plan["version"]),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            let mut good = rows("nn教育局");
            good[3]["due"] = json!("2027年底");
            let (s, taken) = app
                .api(
                    "PUT",
                    &format!("/api/v1/plans/{id}/tasks"),
                    staff,
                    Some(json!({"version": plan["version"], "tasks": good})),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{taken}");
            let tasks = taken["tasks"].as_array().unwrap();
            assert_eq!(tasks.len(), 5);
            assert_eq!(tasks[4]["title"], "进学校");
            assert_eq!(tasks[4]["units"][0]["name"], "nn教育局");
            // The version read before the import is stale now.
            let (s, _) = app
                .api(
                    "POST",
                    &format!("/api/v1/plans/{id}/status"),
                    staff,
                    status("active", &plan["version"]),
                )
                .await;
            assert_eq!(s, StatusCode::CONFLICT);
            let (s, e) = app
                .api(
                    "POST",
                    &format!("/api/v1/plans/{id}/status"),
                    staff,
                    status("draft", &taken["plan"]["version"]),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert!(e["error"]["details"]["status"].is_string());
            let (s, active) = app
                .api(
                    "POST",
                    &format!("/api/v1/plans/{id}/status"),
                    staff,
                    status("active", &taken["plan"]["version"]),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{active}");
            assert_eq!(active["status"], "active");
            // A unit's reporter draws up nothing.
            let (s, _) = app
                .api(
                    "POST",
                    &format!("/api/v1/plans/{id}/inspections"),
                    "edu-reporter",
                    Some(json!({})),
                )
                .await;
            assert!(
                s == StatusCode::FORBIDDEN || s == StatusCode::UNPROCESSABLE_ENTITY,
                "{s}"
            );
            let edu = unit_named(&app, "nn教育局");
            let inspection = |visited: serde_json::Value| {
                Some(json!({"title": "第一轮巡回督导", "inspection_kind": "tour",
                    "team": "组长：张三", "starts_on": "2027-05-10", "ends_on": "2027-05-12",
                    "visited": visited}))
            };
            let (s, e) = app
                .api(
                    "POST",
                    &format!("/api/v1/plans/{id}/inspections"),
                    staff,
                    inspection(json!([])),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert!(e["error"]["details"]["visited"].is_string(), "{e}");
            let (s, made) = app
                .api(
                    "POST",
                    &format!("/api/v1/plans/{id}/inspections"),
                    staff,
                    inspection(json!([edu])),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{made}");
            assert_eq!(made["visited"][0]["name"], "nn教育局");
            let at = format!(
                "/api/v1/plans/{id}/inspections/{}",
                made["inspection"]["id"]
            );
            let mzw = unit_named(&app, "南宁市民宗委");
            let (s, e) = app
                .api(
                    "POST",
                    &format!("{at}/findings"),
                    staff,
                    Some(json!({"unit": mzw, "problem": "台账不全", "due": "2027-04-01"})),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert!(
                e["error"]["details"]["unit"].is_string(),
                "not visited: {e}"
            );
            assert!(e["error"]["details"]["due"].is_string(), "before it: {e}");
            let (s, f) = app
                .api(
                    "POST",
                    &format!("{at}/findings"),
                    staff,
                    Some(
                        json!({"unit": edu, "problem": "台账不全", "measures": "补齐",
                        "due": "2027-06-30"}),
                    ),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{f}");
            assert_eq!(f["status"], "open");
            let (s, detail) = app.api_get(&at, "nn-leader").await;
            assert_eq!(s, StatusCode::OK, "{detail}");
            assert_eq!(detail["findings"][0]["problem"], "台账不全");
            assert_eq!(detail["inspection"]["figures"]["total"], 1);
            let (s, list) = app
                .api_get(&format!("/api/v1/plans/{id}/inspections"), "nn-leader")
                .await;
            assert_eq!(s, StatusCode::OK, "{list}");
            assert_eq!(list[0]["kind"], "tour");
            // The unit finds it among its own findings.
            let (s, mine) = app
                .api_get(&format!("/api/v1/plans/{id}/findings"), "edu-reporter")
                .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(mine["findings"][0]["id"], f["id"]);
            // Copied to next year: a draft, a year later.
            let (s, next) = app
                .api("POST", &format!("/api/v1/plans/{id}/copy"), staff, None)
                .await;
            assert_eq!(s, StatusCode::CREATED, "{next}");
            assert_eq!(next["status"], "draft");
            assert_eq!(next["starts_on"], "2028-01-01");
        });
    }
);

both_engines!(
    a_long_board_is_paged_late_first_with_its_totals_over_every_line,
    |t: TestDb| {
        use serde_json::json;
        let app = city(t);
        block_on(async {
            let staff = "nn-commission-staff";
            let (s, plan) = app
                .api(
                    "POST",
                    "/api/v1/plans",
                    staff,
                    Some(json!({"name": "长方案", "organiser": "南宁市创建办",
                        "starts_on": "2026-01-01", "ends_on": "2027-12-31"})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{plan}");
            let id = plan["id"].as_i64().unwrap();
            // 40 measures, each handed to the city's three units: 120 lines; the first ten
            // were due last year (overdue), the rest next year.
            let rows: Vec<serde_json::Value> = (0..40)
                .map(|m| {
                    json!({"seq": if m == 0 { "1" } else { "" },
                           "task": if m == 0 { "长任务" } else { "" },
                           "measure": format!("措施{m:02}"),
                           "lead_units": "nn教育局",
                           "co_units": "南宁市民宗委、南宁市委宣传部",
                           "due": if m < 10 { "2026-06-30" } else { "2027-12-31" }})
                })
                .collect();
            let (s, taken) = app
                .api(
                    "PUT",
                    &format!("/api/v1/plans/{id}/tasks"),
                    staff,
                    Some(json!({"version": plan["version"], "tasks": rows})),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{taken}");
            let (s, _) = app
                .api(
                    "POST",
                    &format!("/api/v1/plans/{id}/status"),
                    staff,
                    Some(json!({"status": "active", "version": taken["plan"]["version"]})),
                )
                .await;
            assert_eq!(s, StatusCode::OK);
            let (cs, _) = app.session(staff);
            let lines = |page: &str| -> Vec<String> {
                let body = page.split("<table id=\"board\"").nth(1).unwrap_or_default();
                let body = body.split("</tbody>").next().unwrap_or_default();
                body.split("<tr>")
                    .skip(2)
                    .map(|r| r.split("</tr>").next().unwrap_or_default().to_string())
                    .collect()
            };
            let first = app.get(&format!("/plans/{id}/board"), &cs).await.text();
            assert!(first.contains("第 1–100 条，共 120 条"), "{first}");
            let one = lines(&first);
            assert_eq!(one.len(), 100);
            // The late first: the 30 overdue lines lead the first page.
            assert!(
                one[..30].iter().all(|l| l.contains("red")),
                "{:?}",
                &one[..30]
            );
            assert!(!one[30].contains("red"));
            // The totals count every line, not the page's.
            assert!(
                first.contains("board?progress=overdue\"><span class=\"n\">30<"),
                "{first}"
            );
            assert!(first.contains("from=100\""), "a next page: {first}");
            let second = app
                .get(&format!("/plans/{id}/board?from=100"), &cs)
                .await
                .text();
            assert!(second.contains("第 101–120 条，共 120 条"), "{second}");
            let two = lines(&second);
            assert_eq!(two.len(), 20);
            assert!(second.contains("from=0\""), "a page before");
            let mut all: Vec<String> = one.into_iter().chain(two).collect();
            all.sort();
            all.dedup();
            assert_eq!(all.len(), 120, "every line once");
            // Past the end: the last page; a filter narrows before paging.
            let past = app
                .get(&format!("/plans/{id}/board?from=5000"), &cs)
                .await
                .text();
            assert_eq!(lines(&past).len(), 20);
            let late = app
                .get(&format!("/plans/{id}/board?progress=overdue"), &cs)
                .await
                .text();
            assert_eq!(lines(&late).len(), 30);
            assert!(!late.contains("共 30 条"), "one page needs no pager");
            let r = app.get(&format!("/plans/{id}/board?from=x"), &cs).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            // The sheet has them all.
            let sheet = app.get(&format!("/plans/{id}/board.xlsx"), &cs).await;
            assert_eq!(
                xlsx_text(&sheet.body).lines().count(),
                121,
                "a heading and every line"
            );
        });
    }
);

both_engines!(
    a_task_bound_to_the_units_activities_reports_their_count_as_its_figure,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (id, task) = running(&app).await;
            let page_of = format!("/plans/{id}/tasks/{task}");
            let (cs, csrf) = app.session("nn-commission-staff");
            let r = app
                .post(
                    &format!("{page_of}/tally"),
                    &cs,
                    &[("_csrf", &csrf), ("tally", "activities")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let r = app
                .post(
                    &format!("{page_of}/tally"),
                    &cs,
                    &[("_csrf", &csrf), ("tally", "everything")],
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "an unknown count"
            );
            // The unit holds two activities and a training.
            let unit = unit_named(&app, "nn教育局");
            app.t
                .db
                .write_blocking(move |c| {
                    use shiliu_domain::activities::{ActivityFields, ActivityInput};
                    let today = shiliu_db::today().to_string();
                    let unit = unit.to_string();
                    let log = shiliu_db::scope::Can::check(&Actor::system("test"))?;
                    for form in ["activity", "activity", "training"] {
                        let input = ActivityInput::parse(
                            &ActivityFields {
                                form,
                                title: "民族团结进步宣讲",
                                kind: "1",
                                organiser_unit: &unit,
                                region: "450100",
                                held_on: &today,
                                participants: "30",
                                audience: "41",
                                hours: "3",
                                ..ActivityFields::default()
                            },
                            shiliu_db::today(),
                        )
                        .unwrap();
                        shiliu_db::activities::record(c, &log, &input, &[])?;
                    }
                    Ok(())
                })
                .unwrap();
            let (edu, edu_csrf) = app.session("edu-reporter");
            let page = app.get(&page_of, &edu).await.text();
            assert!(
                page.contains("活动场次") && page.contains("<strong>2</strong>"),
                "{page}"
            );
            // A number typed in is not what a bound task reports.
            let r = app
                .post(
                    &format!("{page_of}/reports"),
                    &edu,
                    &[
                        ("_csrf", &edu_csrf),
                        ("period", ""),
                        ("progress", "开展宣讲两场"),
                        ("figure", "99"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let figure = app
                .t
                .db
                .write_blocking(move |c| {
                    use diesel::prelude::*;
                    use shiliu_db::schema::task_reports as r;
                    Ok(r::table
                        .filter(r::item_id.eq(task))
                        .select(r::figure)
                        .first::<Option<i64>>(c)?)
                })
                .unwrap();
            assert_eq!(figure, Some(2), "the count, not the number typed");
        });
    }
);
