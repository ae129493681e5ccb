//! Performance evaluation: building a scheme, self-assessment and review.

use axum::http::StatusCode;
use shiliu_db::both_engines;
use shiliu_db::org::{self};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;

use crate::common::*;

both_engines!(an_organiser_builds_an_evaluation_scheme, |t: TestDb| {
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
        let r = app.get("/evaluations", &cookie).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.text().contains("新建考评方案"));
        let (grid_cookie, _) = app.session("nn-grid-worker");
        assert_eq!(
            app.get("/evaluations", &grid_cookie).await.status,
            StatusCode::FORBIDDEN
        );

        // A bad form names each field; a good one makes a draft.
        let r = app
            .post(
                "/evaluations",
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("year", "26"),
                    ("name", ""),
                    ("organiser", "南宁市民宗委"),
                    ("merge_rule", "field_first"),
                    ("bonus_cap", "2.555"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains("年度：应为 2000 至 2100 之间的年度"),
            "{text}"
        );
        assert!(text.contains("加分上限：应为不小于 0 的分值"), "{text}");
        let r = app
            .post(
                "/evaluations",
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("year", "2026"),
                    ("name", "2026年度民族工作绩效考评"),
                    ("organiser", "南宁市民族宗教事务委员会"),
                    ("merge_rule", "field_first"),
                    ("bonus_cap", "5"),
                    ("grades", ""),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let id: i64 = r
            .location()
            .trim_start_matches("/evaluations/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let base = format!("/evaluations/{id}");
        let version = || {
            app.t
                .db
                .write_blocking(move |c| {
                    Ok(
                        shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?
                            .version
                            .to_string(),
                    )
                })
                .unwrap()
        };

        // A category, then a unit of the city in it; a unit that is not there is named.
        let r = app
            .post(
                &format!("{base}/categories"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", &version()),
                    ("category_name", "市直部门"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let category = app
            .t
            .db
            .write_blocking(move |c| {
                let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
                Ok(shiliu_db::evaluation::categories(c, &s)?[0].id.to_string())
            })
            .unwrap();
        let r = app
            .post(
                &format!("{base}/units"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", &version()),
                    ("unit", "没有这个局"),
                    ("category_id", &category),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = app
            .post(
                &format!("{base}/units"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", &version()),
                    ("unit", "nn教育局"),
                    ("category_id", &category),
                    ("key_unit", "1"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        // The units as a sheet: an unknown unit is named by row and nothing changes; the
        // sheet the export gives back is taken as it is.
        let r = app
            .multipart(
                &format!("{base}/units/import"),
                &cookie,
                &csrf,
                &[("version", &version())],
                &[(
                    "file",
                    "参评单位.xlsx",
                    &xlsx(&[
                        &["单位名称", "类别", "重点单位"],
                        &["nn教育局", "学校", "否"],
                        &["没有这个局", "学校", "也许"],
                    ]),
                )],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains("<td>3</td><td>重点单位</td><td>请填“是”或“否”</td>"),
            "{text}"
        );
        let r = app
            .multipart(
                &format!("{base}/units/import"),
                &cookie,
                &csrf,
                &[("version", &version())],
                &[(
                    "file",
                    "参评单位.xlsx",
                    &xlsx(&[
                        &["单位名称", "类别", "重点单位"],
                        &["nn教育局", "学校", "否"],
                        &["没有这个局", "学校", ""],
                    ]),
                )],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains("<td>3</td><td>单位</td><td>您的范围内没有这个名称的在用单位</td>")
                && !text.contains("<h3>学校"),
            "{text}"
        );
        let r = app.get(&format!("{base}/units.xlsx"), &cookie).await;
        assert_eq!(r.status, StatusCode::OK);
        let sheet = xlsx_text(&r.body);
        assert_eq!(
            sheet,
            "单位\t单位类别\t重点单位\t\nnn教育局\t市直部门\t是\t\n"
        );
        let r = app
            .multipart(
                &format!("{base}/units/import"),
                &cookie,
                &csrf,
                &[("version", &version())],
                &[("file", "参评单位.xlsx", &r.body)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

        // The indicator sheet: a wrong area total is reported by row and nothing is imported;
        // the corrected sheet replaces the tree.
        let header: &[&str] = &["编号", "指标内容", "分值", "类型", "评分标准", "佐证材料"];
        let mut rows: Vec<&[&str]> = vec![
            header,
            &["1", "组织领导", "12", "", "", ""],
            &["1.1", "领导机制", "", "", "", ""],
            &["1.1.1", "成立领导小组", "4", "", "查看文件", "文件"],
            &["1.1.2", "年度工作部署", "6", "标准", "", ""],
            &["2", "加分项", "", "", "", ""],
            &["2.1", "创建成效", "", "", "", ""],
            &["2.1.1", "获评示范单位", "3", "加分", "", "命名文件"],
        ];
        let r = app
            .multipart(
                &format!("{base}/indicators/import"),
                &cookie,
                &csrf,
                &[("version", &version())],
                &[("file", "指标.xlsx", &xlsx(&rows))],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains(
                "<td>2</td><td>分值</td><td>填写的分值与其下评分细则之和（10）不一致</td>"
            ),
            "{text}"
        );
        assert!(text.contains("尚无指标"), "nothing imported: {text}");
        rows[1] = &["1", "组织领导", "10", "", "", ""];
        let r = app
            .multipart(
                &format!("{base}/indicators/import"),
                &cookie,
                &csrf,
                &[("version", &version())],
                &[("file", "指标.xlsx", &xlsx(&rows))],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app.get(&base, &cookie).await.text();
        assert!(
            page.contains("1 个参评单位，3 项评分细则，基本分满分 10 分"),
            "{page}"
        );
        assert!(
            page.contains("成立领导小组") && page.contains(r#"<span class="badge">加分</span>"#),
            "{page}"
        );
        // The export is the sheet again, to edit and import.
        let r = app.get(&format!("{base}/indicators.xlsx"), &cookie).await;
        assert_eq!(r.status, StatusCode::OK);
        let sheet = xlsx_text(&r.body);
        assert!(
            sheet
                .starts_with("编号\t指标内容\t分值\t类型\t评分标准\t佐证材料\t\n1\t组织领导\t10\t"),
            "{sheet}"
        );
        assert!(
            sheet.contains("2.1.1\t获评示范单位\t3\t加分\t\t命名文件\t"),
            "{sheet}"
        );

        // Moving on needs the deadline; then the structure is locked, and an old version is stale.
        let r = app
            .post(
                &format!("{base}/advance"),
                &cookie,
                &[("_csrf", &csrf), ("version", &version())],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text()
                .contains("自查自评截止时间：进入该阶段前请先设置其截止时间"),
            "{}",
            r.text()
        );
        let r = app
            .post(
                &format!("{base}/deadlines"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", &version()),
                    ("self_due", "2026-03-31T17:00"),
                    ("first_due", "2026-03-01T17:00"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text()
                .contains("第一次核验截止时间：各阶段截止时间应依次靠后"),
            "{}",
            r.text()
        );
        let r = app
            .post(
                &format!("{base}/deadlines"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", &version()),
                    ("self_due", "2026-03-31T17:00"),
                    ("first_due", "2026-04-30"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let old = version();
        let r = app
            .post(
                &format!("{base}/advance"),
                &cookie,
                &[("_csrf", &csrf), ("version", &old)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app.get(&base, &cookie).await.text();
        assert!(
            page.contains(r#"<dd id="eval-stage">自查自评</dd>"#),
            "{page}"
        );
        assert!(
            page.contains(r#"value="2026-03-31T17:00""#),
            "deadlines shown in China time: {page}"
        );
        let r = app
            .post(
                &format!("{base}/categories"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("version", &version()),
                    ("category_name", "学校"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text()
                .contains("方案已下发，类别、参评单位、指标与折算分值已锁定"),
            "{}",
            r.text()
        );
        let r = app
            .post(
                &format!("{base}/advance"),
                &cookie,
                &[("_csrf", &csrf), ("version", &old)],
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT);

        // Next year's starts as a copy, a draft again.
        let r = app
            .post(
                &format!("{base}/copy"),
                &cookie,
                &[
                    ("_csrf", &csrf),
                    ("year", "2027"),
                    ("name", "2027年度民族工作绩效考评"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let copy = app
            .get(r.location().split('?').next().unwrap(), &cookie)
            .await
            .text();
        assert!(
            copy.contains(r#"<dd id="eval-stage">编制中</dd>"#)
                && copy.contains("1 个参评单位，3 项评分细则"),
            "{copy}"
        );
        let list = app.get("/evaluations", &cookie).await.text();
        assert!(
            list.contains("2027年度民族工作绩效考评") && list.contains("2026年度民族工作绩效考评"),
            "{list}"
        );
        // Another city's commission does not see them.
        app.t
            .db
            .write_blocking(|c| {
                seed_city(c, "450200", "lz", "x");
                Ok(())
            })
            .unwrap();
        let (lz, _) = app.session("lz-commission-staff");
        assert_eq!(app.get(&base, &lz).await.status, StatusCode::NOT_FOUND);
        assert!(
            !app.get("/evaluations", &lz)
                .await
                .text()
                .contains("2026年度民族工作绩效考评")
        );
    });
});

both_engines!(a_unit_self_assesses_and_a_reviewer_scores, |t: TestDb| {
    let app = App::new(t);
    let (nn, id, crits) = app
        .t
        .db
        .write_blocking(|c| {
            use diesel::prelude::*;
            let nn = seed_city(c, "450100", "nn", "x");
            seed_city(c, "450200", "lz", "x");
            let city = org::get_region_by_code(c, &Scope::everything(), "450100")?;
            let (s, tree) = scheme_in_self_assessment(
                c,
                city.id,
                &[(nn.unit, true)],
                &[
                    ("1", "组织领导", ""),
                    ("1.1", "领导机制", ""),
                    ("1.1.1", "成立领导小组", "4"),
                    ("1.1.2", "年度部署", "6"),
                ],
            )?;
            let crits: Vec<i64> = tree.criteria().map(|x| x.id).collect();
            shiliu_db::on_engine!(c, |x| diesel::update(
                shiliu_db::schema::users::table
                    .filter(shiliu_db::schema::users::username.eq("nn-unit-reporter"))
            )
            .set(shiliu_db::schema::users::unit_id.eq(Some(nn.unit)))
            .execute(x))?;
            Ok((nn, s.id, crits))
        })
        .unwrap();
    block_on(async {
        let unit = nn.unit;
        let (cookie, csrf) = app.session("nn-unit-reporter");
        let list = app.get("/evaluations", &cookie).await.text();
        assert!(
            list.contains("2026年度考评") && !list.contains("新建考评方案"),
            "{list}"
        );
        let page = app.get(&format!("/evaluations/{id}"), &cookie).await.text();
        assert!(
            page.contains(&format!("/evaluations/{id}/units/{unit}")) && page.contains("自查自评"),
            "{page}"
        );
        let sheet_path = format!("/evaluations/{id}/units/{unit}");
        let sheet = app.get(&sheet_path, &cookie).await.text();
        assert!(
            sheet.contains(&format!("name=\"score.{}\"", crits[0])),
            "{sheet}"
        );
        let post = format!("{sheet_path}/scores?round=self");
        let (c0, c1) = (format!("score.{}", crits[0]), format!("score.{}", crits[1]));
        let (n0, f0) = (format!("note.{}", crits[0]), format!("files.{}", crits[0]));
        // Above the maximum: named by the criterion's code.
        let r = app
            .multipart(&post, &cookie, &csrf, &[(&c0, "5"), (&n0, "")], &[])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().contains("1.1.1 得分：不能高于该项满分 4 分"),
            "{}",
            r.text()
        );
        // A draft with a ledger file.
        let r = app
            .multipart(
                &post,
                &cookie,
                &csrf,
                &[(&c0, "3.5"), (&n0, "已成立领导小组")],
                &[(&f0, "台账.pdf", b"%PDF-1.4 ledger")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let sheet = app.get(&sheet_path, &cookie).await.text();
        assert!(
            sheet.contains(r#"<dd id="eval-claimed">3.5</dd>"#) && sheet.contains("台账.pdf"),
            "{sheet}"
        );
        // What is left shows on the home page and on the scheme's list of units.
        let home = app.get("/", &cookie).await.text();
        assert!(
            home.contains("id=\"eval-todo\"")
                && home.contains("2026年度考评：")
                && home.contains("自查自评还有 1 项未填")
                && home.contains(&format!("href=\"{sheet_path}\"")),
            "{home}"
        );
        assert!(
            app.get(&format!("/evaluations/{id}"), &cookie)
                .await
                .text()
                .contains("自查自评还有 1 项未填")
        );
        let (st, todo) = app
            .api_get("/api/v1/evaluations/todo", "nn-unit-reporter")
            .await;
        assert_eq!(st, StatusCode::OK, "{todo}");
        assert_eq!(
            (
                todo[0]["owner"].as_str(),
                todo[0]["round"].as_str(),
                todo[0]["units"][0]["unit_id"].as_i64(),
                todo[0]["units"][0]["criteria_left"].as_i64()
            ),
            (Some("unit"), Some("self"), Some(unit), Some(1)),
            "{todo}"
        );
        let file = sheet
            .split(&format!("/evaluations/{id}/evidence/"))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let r = app
            .get(&format!("/evaluations/{id}/evidence/{file}"), &cookie)
            .await;
        assert_eq!(
            (r.status, r.body.as_slice()),
            (StatusCode::OK, &b"%PDF-1.4 ledger"[..])
        );
        // Submitting with a criterion left is refused, naming it; then submitted and read only.
        let r = app
            .multipart(&post, &cookie, &csrf, &[(&c0, "3.5"), ("submit", "1")], &[])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().contains("以下评分细则尚未自评打分：1.1.2"),
            "{}",
            r.text()
        );
        let r = app
            .multipart(
                &post,
                &cookie,
                &csrf,
                &[(&c0, "3.5"), (&c1, "6"), ("submit", "1")],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let sheet = app.get(&sheet_path, &cookie).await.text();
        assert!(
            sheet.contains(r#"<dd id="eval-claimed">9.5</dd>"#)
                && sheet.contains("自评已提交，不能再修改"),
            "{sheet}"
        );
        assert!(
            !sheet.contains("name=\"score."),
            "no inputs after submitting"
        );
        let r = app
            .multipart(&post, &cookie, &csrf, &[(&c0, "4")], &[])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Others: no permission, or another city's reporter.
        let (grid, _) = app.session("nn-grid-worker");
        assert_eq!(
            app.get(&sheet_path, &grid).await.status,
            StatusCode::FORBIDDEN
        );
        let (lz, _) = app.session("lz-unit-reporter");
        assert_eq!(
            app.get(&sheet_path, &lz).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.get(&format!("/evaluations/{id}/evidence/{file}"), &lz)
                .await
                .status,
            StatusCode::NOT_FOUND
        );

        // The organiser forms a first-round team with the city's evaluator.
        let (org_cookie, org_csrf) = app.session("nn-commission-staff");
        let r = app
            .post(
                &format!("/evaluations/{id}/teams"),
                &org_cookie,
                &[
                    ("_csrf", &org_csrf),
                    ("round", "first"),
                    ("team_name", "第一考评组"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let team = app
            .t
            .db
            .write_blocking(move |c| {
                let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
                Ok(shiliu_db::evaluation::teams::teams(c, &s)?[0].team.id)
            })
            .unwrap();
        let r = app
            .post(
                &format!("/evaluations/{id}/teams/{team}/members"),
                &org_cookie,
                &[("_csrf", &org_csrf), ("username", "nn-grid-worker")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().contains("该用户的角色不能参与核验评分"),
            "{}",
            r.text()
        );
        let r = app
            .post(
                &format!("/evaluations/{id}/teams/{team}/members"),
                &org_cookie,
                &[("_csrf", &org_csrf), ("username", "nn-evaluator")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let workbench = app
            .get(&format!("/evaluations/{id}"), &org_cookie)
            .await
            .text();
        assert!(
            workbench.contains("用户nn-evaluator")
                && workbench.contains("<td>已提交</td><td>0/2</td><td>0/2</td><td></td>"),
            "{workbench}"
        );
        // The reviewer's workload: one unit, two criteria to score; nobody owes the
        // self-assessment any more, so there is nobody to remind.
        let workload = workbench
            .split("id=\"eval-workload\"")
            .nth(1)
            .unwrap_or_default();
        assert!(
            workload
                .contains("<td>第一次核验</td><td>第一考评组</td><td>1</td><td>0</td><td>2</td>"),
            "{workbench}"
        );
        assert!(!home_of(&app, &cookie).await.contains("id=\"eval-todo\""));
        let remind = format!("/evaluations/{id}/remind");
        let r = app
            .post(&remind, &org_cookie, &[("_csrf", &org_csrf)])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().contains("本阶段没有需要提醒的单位或考评人员"),
            "{}",
            r.text()
        );
        assert_eq!(
            app.post(&remind, &cookie, &[("_csrf", &csrf)]).await.status,
            StatusCode::FORBIDDEN
        );
        app.t
            .db
            .write_blocking(move |c| {
                let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
                shiliu_db::evaluation::advance(c, &Actor::system("organiser"), id, s.version)
                    .map(|_| ())
            })
            .unwrap();
        // In the first verification the organiser reminds the reviewer, who sees it at home.
        let (rev, rev_csrf) = app.session("nn-evaluator");
        let r = app
            .post(&remind, &org_cookie, &[("_csrf", &org_csrf)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let (st, sent) = app
            .api(
                "POST",
                &format!("/api/v1/evaluations/{id}/reminders"),
                "nn-commission-staff",
                None,
            )
            .await;
        assert_eq!(
            (st, sent["sent"].as_i64()),
            (StatusCode::OK, Some(1)),
            "{sent}"
        );
        let (st, _) = app
            .api(
                "POST",
                &format!("/api/v1/evaluations/{id}/reminders"),
                "nn-evaluator",
                None,
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let home = home_of(&app, &rev).await;
        assert!(
            home.contains("第一次核验还有 1 个单位共 2 项未评分")
                && home.contains("已于 ")
                && home.contains(&format!("href=\"{sheet_path}\"")),
            "{home}"
        );
        // The reviewer sees the claim and the file, and scores with an opinion.
        let sheet = app.get(&sheet_path, &rev).await.text();
        assert!(
            sheet.contains("已成立领导小组")
                && sheet.contains("台账.pdf")
                && sheet.contains("正在填写：第一次核验"),
            "{sheet}"
        );
        let r = app
            .multipart(
                &format!("{sheet_path}/scores?round=first"),
                &rev,
                &rev_csrf,
                &[(&c0, "3"), (&n0, "会议记录不全")],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert!(
            app.get(&sheet_path, &rev)
                .await
                .text()
                .contains("会议记录不全")
        );
        // Until the feedback stage the unit does not see it.
        assert!(
            !app.get(&sheet_path, &cookie)
                .await
                .text()
                .contains("会议记录不全")
        );
        // The same through the JSON API: a score above its maximum is named; a number is taken.
        let api_scores = format!("/api/v1/evaluations/{id}/units/{unit}/scores");
        let (st, e) = app
            .api("POST", &api_scores, "nn-evaluator", Some(serde_json::json!({"round": "first", "scores": [{"criterion": "1.1.2", "points": "7"}]})))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert!(
            e["error"]["details"]["score.1.1.2"]
                .as_str()
                .unwrap()
                .contains('6'),
            "{e}"
        );
        let (st, list) = app
            .api("POST", &api_scores, "nn-evaluator", Some(serde_json::json!({"round": "first", "scores": [{"criterion": "1.1.2", "points": 5, "note": "部署及时"}]})))
            .await;
        assert_eq!(st, StatusCode::OK, "{list}");
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .any(|x| x["round"] == "first" && x["criterion"] == "1.1.2" && x["points"] == 5.0),
            "{list}"
        );
        let (st, _) = app.api_get(&api_scores, "lz-evaluator").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let advance = || {
            app.t.db.write_blocking(move |c| {
                let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
                shiliu_db::evaluation::advance(c, &Actor::system("organiser"), id, s.version)
                    .map(|_| ())
            })
        };
        let r = app
            .multipart(
                &format!("{sheet_path}/scores?round=first"),
                &rev,
                &rev_csrf,
                &[(&c1, "5")],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let feedback_due = shiliu_db::now() + chrono::Duration::days(20);
        app.t
            .db
            .write_blocking(move |c| {
                let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
                let d = [
                    s.self_due,
                    s.first_due,
                    Some(feedback_due - chrono::Duration::days(1)),
                    Some(feedback_due),
                ];
                shiliu_db::evaluation::set_deadlines(
                    c,
                    &Actor::system("organiser"),
                    id,
                    s.version,
                    d,
                )
                .map(|_| ())
            })
            .unwrap();
        advance().unwrap(); // field review: no field team, nothing to do
        advance().unwrap(); // feedback
        // The unit now sees its verified scores and the opinion, and objects to one criterion.
        let sheet = app.get(&sheet_path, &cookie).await.text();
        assert!(
            sheet.contains("会议记录不全") && sheet.contains("核验得分：<strong>3</strong>"),
            "{sheet}"
        );
        let objection = format!("{sheet_path}/scores?round=objection");
        let r = app
            .multipart(&objection, &cookie, &csrf, &[(&c0, "4"), (&n0, "")], &[])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("申请复核须写明理由"), "{}", r.text());
        let r = app
            .multipart(
                &objection,
                &cookie,
                &csrf,
                &[(&c0, "4"), (&n0, "会议记录已补齐")],
                &[(&f0, "会议记录.pdf", b"%PDF-1.4 minutes")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        // Results are the organiser's until publication.
        assert_eq!(
            app.get(&format!("/evaluations/{id}/results"), &cookie)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let results = app
            .get(&format!("/evaluations/{id}/results"), &org_cookie)
            .await
            .text();
        assert!(
            results.contains("会议记录已补齐") && results.contains("结果尚未通报"),
            "{results}"
        );
        let decide = |reason: &'static str| {
            let unit = unit.to_string();
            let crit = crits[0].to_string();
            let (org_cookie, org_csrf) = (org_cookie.clone(), org_csrf.clone());
            let app = &app;
            async move {
                app.post(
                    &format!("/evaluations/{id}/objections"),
                    &org_cookie,
                    &[
                        ("_csrf", &org_csrf),
                        ("unit", &unit),
                        ("criterion", &crit),
                        ("accepted", "yes"),
                        ("points", "4"),
                        ("reason", reason),
                    ],
                )
                .await
            }
        };
        assert_eq!(decide("").await.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = decide("补充材料属实").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        advance().unwrap(); // final
        advance().unwrap(); // published
        // Everyone taking part sees the results; the Excel export is the page's table.
        let page = app
            .get(&format!("/evaluations/{id}/results"), &cookie)
            .await
            .text();
        assert!(
            page.contains(r#"<td class="num"><strong>9</strong></td><td>不合格</td>"#),
            "4 + 5 points: {page}"
        );
        let x = xlsx_text(
            &app.get(&format!("/evaluations/{id}/results.xlsx"), &cookie)
                .await
                .body,
        );
        assert!(
            x.contains("市直部门\t1\tnn教育局\t9\t0\t0\t9\t不合格\t"),
            "{x}"
        );
        let notice = app
            .get(&format!("/evaluations/{id}/notice"), &cookie)
            .await
            .text();
        assert!(
            notice.contains("关于2026年度考评结果的通报") && notice.contains("nn教育局"),
            "{notice}"
        );
        // A correction after publication keeps the old value.
        let r = app
            .post(
                &format!("/evaluations/{id}/corrections"),
                &org_cookie,
                &[
                    ("_csrf", &org_csrf),
                    ("unit", &unit.to_string()),
                    ("criterion", &crits[1].to_string()),
                    ("points", "6"),
                    ("reason", "核验记录误录"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app
            .get(&format!("/evaluations/{id}/results"), &org_cookie)
            .await
            .text();
        assert!(
            page.contains(r#"<td class="num">5</td><td class="num">6</td><td>核验记录误录</td>"#),
            "{page}"
        );
        assert!(page.contains("<strong>10</strong>"), "{page}");
        let (st, r) = app
            .api_get(
                &format!("/api/v1/evaluations/{id}/results"),
                "nn-unit-reporter",
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        assert_eq!(
            (
                r[0]["rank"].as_i64(),
                r[0]["total"].as_f64(),
                r[0]["grade"].as_str()
            ),
            (Some(1), Some(10.0), Some("不合格"))
        );
        let (st, d) = app
            .api_get(&format!("/api/v1/evaluations/{id}"), "nn-unit-reporter")
            .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(
            (
                d["scheme"]["stage"].as_str(),
                d["indicators"].as_array().unwrap().len(),
                d["units"].as_array().unwrap().len()
            ),
            (Some("published"), 4, 1)
        );
        // The organiser's analysis: grades per category, criteria weakest first.
        let analysis = app
            .get(&format!("/evaluations/{id}/analysis"), &org_cookie)
            .await
            .text();
        assert!(analysis.contains("<td>1.1.2 年度部署</td><td class=\"num\">6</td><td class=\"num\">6</td><td class=\"num\">6</td><td class=\"num\">100%</td>"), "{analysis}");
        assert!(
            analysis.contains("1 个单位，平均 10，最低 10，最高 10")
                && analysis.contains("暂无比较"),
            "{analysis}"
        );
        assert_eq!(
            app.get(&format!("/evaluations/{id}/analysis"), &cookie)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let (_, l) = app.api_get("/api/v1/evaluations", "nn-unit-reporter").await;
        assert_eq!(l.as_array().unwrap().len(), 1, "{l}");
        // Next year's copy compares each unit with this year's published total.
        let r = app
            .post(
                &format!("/evaluations/{id}/copy"),
                &org_cookie,
                &[
                    ("_csrf", &org_csrf),
                    ("year", "2027"),
                    ("name", "2027年度考评"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let next = r.location().split('?').next().unwrap().to_string();
        let analysis = app
            .get(&format!("{next}/analysis"), &org_cookie)
            .await
            .text();
        let years = analysis
            .split("id=\"eval-years\"")
            .nth(1)
            .unwrap_or_default();
        assert!(
            years.contains("<th>2026</th>")
                && years.contains(
                    "<td class=\"num\">10</td><td class=\"num\">0</td><td class=\"num\">-10</td>"
                ),
            "{analysis}"
        );
    });
});
