//! Performance evaluation: building a scheme, self-assessment and review.

use axum::http::StatusCode;
use shiliu_db::both_engines;
use shiliu_db::org::{self};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;

use crate::common::*;

// ---- Building a scheme, as the city's commission ----

/// The app with one city seeded.
fn city(t: TestDb) -> App {
    let app = App::new(t);
    app.t
        .db
        .write_blocking(|c| {
            seed_city(c, "450100", "nn", "x");
            Ok(())
        })
        .unwrap();
    app
}

/// A draft scheme made through the form, with the commission's session.
struct Draft {
    cookie: String,
    csrf: String,
    id: i64,
    base: String,
}

/// The scheme's current version, for the forms that need it.
fn version(app: &App, id: i64) -> String {
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
}

async fn draft(app: &App) -> Draft {
    let (cookie, csrf) = app.session("nn-commission-staff");
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
    Draft {
        cookie,
        csrf,
        id,
        base,
    }
}

/// The draft with a category; its id.
async fn with_category(app: &App) -> (Draft, String) {
    let d = draft(app).await;
    let r = app
        .post(
            &format!("{}/categories", d.base),
            &d.cookie,
            &[
                ("_csrf", &d.csrf),
                ("version", &version(app, d.id)),
                ("category_name", "市直部门"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let id = d.id;
    let category = app
        .t
        .db
        .write_blocking(move |c| {
            let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
            Ok(shiliu_db::evaluation::categories(c, &s)?[0].id.to_string())
        })
        .unwrap();
    (d, category)
}

/// The draft with the city's education bureau in its category, as a key unit.
async fn with_unit(app: &App) -> Draft {
    let (d, category) = with_category(app).await;
    let r = app
        .post(
            &format!("{}/units", d.base),
            &d.cookie,
            &[
                ("_csrf", &d.csrf),
                ("version", &version(app, d.id)),
                ("unit", "nn教育局"),
                ("category_id", &category),
                ("key_unit", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    d
}

/// The indicator sheet, its first area's total given as `area_total` (the right one is 10).
fn indicator_sheet(area_total: &str) -> Vec<u8> {
    xlsx(&[
        &["编号", "指标内容", "分值", "类型", "评分标准", "佐证材料"],
        &["1", "组织领导", area_total, "", "", ""],
        &["1.1", "领导机制", "", "", "", ""],
        &["1.1.1", "成立领导小组", "4", "", "查看文件", "文件"],
        &["1.1.2", "年度工作部署", "6", "标准", "", ""],
        &["2", "加分项", "", "", "", ""],
        &["2.1", "创建成效", "", "", "", ""],
        &["2.1.1", "获评示范单位", "3", "加分", "", "命名文件"],
    ])
}

async fn import_indicators(app: &App, d: &Draft, area_total: &str) -> Resp {
    app.multipart(
        &format!("{}/indicators/import", d.base),
        &d.cookie,
        &d.csrf,
        &[("version", &version(app, d.id))],
        &[("file", "指标.xlsx", &indicator_sheet(area_total))],
    )
    .await
}

/// The draft with its unit and the corrected indicator sheet.
async fn with_indicators(app: &App) -> Draft {
    let d = with_unit(app).await;
    let r = import_indicators(app, &d, "10").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    d
}

/// The complete draft with its deadlines set, moved on to self-assessment; the version it
/// had before moving on.
async fn issued(app: &App) -> (Draft, String) {
    let d = with_indicators(app).await;
    let r = app
        .post(
            &format!("{}/deadlines", d.base),
            &d.cookie,
            &[
                ("_csrf", &d.csrf),
                ("version", &version(app, d.id)),
                ("self_due", "2026-03-31T17:00"),
                ("first_due", "2026-04-30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let old = version(app, d.id);
    let r = app
        .post(
            &format!("{}/advance", d.base),
            &d.cookie,
            &[("_csrf", &d.csrf), ("version", &old), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    (d, old)
}

async fn import_units(app: &App, d: &Draft, sheet: &[u8]) -> Resp {
    app.multipart(
        &format!("{}/units/import", d.base),
        &d.cookie,
        &d.csrf,
        &[("version", &version(app, d.id))],
        &[("file", "参评单位.xlsx", sheet)],
    )
    .await
}

both_engines!(
    the_commission_may_build_schemes_and_a_grid_worker_may_not,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (cookie, _) = app.session("nn-commission-staff");
            let r = app.get("/evaluations", &cookie).await;
            assert_eq!(r.status, StatusCode::OK);
            assert!(r.text().contains("新建考评方案"));
            let (grid_cookie, _) = app.session("nn-grid-worker");
            assert_eq!(
                app.get("/evaluations", &grid_cookie).await.status,
                StatusCode::FORBIDDEN
            );
        });
    }
);

both_engines!(a_bad_scheme_form_names_each_field, |t: TestDb| {
    let app = city(t);
    block_on(async {
        let (cookie, csrf) = app.session("nn-commission-staff");
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
    });
});

both_engines!(a_unit_that_is_not_in_the_city_is_refused, |t: TestDb| {
    let app = city(t);
    block_on(async {
        let (d, category) = with_category(&app).await;
        let r = app
            .post(
                &format!("{}/units", d.base),
                &d.cookie,
                &[
                    ("_csrf", &d.csrf),
                    ("version", &version(&app, d.id)),
                    ("unit", "没有这个局"),
                    ("category_id", &category),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    });
});

both_engines!(
    a_bad_key_unit_cell_in_the_unit_sheet_is_named_by_row,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let d = with_unit(&app).await;
            let sheet = xlsx(&[
                &["单位名称", "类别", "重点单位"],
                &["nn教育局", "学校", "否"],
                &["没有这个局", "学校", "也许"],
            ]);
            let r = import_units(&app, &d, &sheet).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = r.text();
            assert!(
                text.contains("<td>3</td><td>重点单位</td><td>请填“是”或“否”</td>"),
                "{text}"
            );
        });
    }
);

both_engines!(
    an_unknown_unit_in_the_sheet_is_named_by_row_and_nothing_changes,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let d = with_unit(&app).await;
            let sheet = xlsx(&[
                &["单位名称", "类别", "重点单位"],
                &["nn教育局", "学校", "否"],
                &["没有这个局", "学校", ""],
            ]);
            let r = import_units(&app, &d, &sheet).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = r.text();
            assert!(
                text.contains("<td>3</td><td>单位</td><td>您的范围内没有这个名称的在用单位</td>")
                    && !text.contains("<h3>学校"),
                "{text}"
            );
        });
    }
);

both_engines!(
    the_unit_sheet_the_export_gives_back_is_taken_as_it_is,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let d = with_unit(&app).await;
            let r = app.get(&format!("{}/units.xlsx", d.base), &d.cookie).await;
            assert_eq!(r.status, StatusCode::OK);
            let sheet = xlsx_text(&r.body);
            assert_eq!(
                sheet,
                "单位\t单位类别\t重点单位\t\nnn教育局\t市直部门\t是\t\n"
            );
            let r = import_units(&app, &d, &r.body).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        });
    }
);

both_engines!(
    a_wrong_area_total_is_reported_by_row_and_nothing_is_imported,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let d = with_unit(&app).await;
            let r = import_indicators(&app, &d, "12").await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = r.text();
            assert!(
                text.contains(
                    "<td>2</td><td>分值</td><td>填写的分值与其下评分细则之和（10）不一致</td>"
                ),
                "{text}"
            );
            assert!(text.contains("尚无指标"), "nothing imported: {text}");
        });
    }
);

both_engines!(
    the_corrected_indicator_sheet_replaces_the_tree,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let d = with_unit(&app).await;
            let r = import_indicators(&app, &d, "10").await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let page = app.get(&d.base, &d.cookie).await.text();
            assert!(
                page.contains("1 个参评单位，3 项评分细则，基本分满分 10 分"),
                "{page}"
            );
            assert!(
                page.contains("成立领导小组")
                    && page.contains(r#"<span class="badge">加分</span>"#),
                "{page}"
            );
        });
    }
);

both_engines!(
    the_indicator_export_is_the_sheet_again_to_edit_and_import,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let d = with_indicators(&app).await;
            let r = app
                .get(&format!("{}/indicators.xlsx", d.base), &d.cookie)
                .await;
            assert_eq!(r.status, StatusCode::OK);
            let sheet = xlsx_text(&r.body);
            assert!(
                sheet.starts_with(
                    "编号\t指标内容\t分值\t类型\t评分标准\t佐证材料\t\n1\t组织领导\t10\t"
                ),
                "{sheet}"
            );
            assert!(
                sheet.contains("2.1.1\t获评示范单位\t3\t加分\t\t命名文件\t"),
                "{sheet}"
            );
        });
    }
);

both_engines!(moving_on_needs_the_self_assessment_deadline, |t: TestDb| {
    let app = city(t);
    block_on(async {
        let d = with_indicators(&app).await;
        let r = app
            .post(
                &format!("{}/advance", d.base),
                &d.cookie,
                &[
                    ("_csrf", &d.csrf),
                    ("version", &version(&app, d.id)),
                    ("confirm", "1"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text()
                .contains("自查自评截止时间：进入该阶段前请先设置其截止时间"),
            "{}",
            r.text()
        );
    });
});

both_engines!(
    the_stages_deadlines_must_come_one_after_another,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let d = with_indicators(&app).await;
            let r = app
                .post(
                    &format!("{}/deadlines", d.base),
                    &d.cookie,
                    &[
                        ("_csrf", &d.csrf),
                        ("version", &version(&app, d.id)),
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
        });
    }
);

both_engines!(
    an_issued_scheme_shows_its_stage_and_deadlines_in_china_time,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (d, _) = issued(&app).await;
            let page = app.get(&d.base, &d.cookie).await.text();
            assert!(
                page.contains(r#"<dd id="eval-stage">自查自评</dd>"#),
                "{page}"
            );
            assert!(
                page.contains(r#"value="2026-03-31T17:00""#),
                "deadlines shown in China time: {page}"
            );
        });
    }
);

both_engines!(once_issued_the_structure_is_locked, |t: TestDb| {
    let app = city(t);
    block_on(async {
        let (d, _) = issued(&app).await;
        let r = app
            .post(
                &format!("{}/categories", d.base),
                &d.cookie,
                &[
                    ("_csrf", &d.csrf),
                    ("version", &version(&app, d.id)),
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
    });
});

both_engines!(
    the_page_says_how_many_units_have_not_submitted_before_the_self_assessment_ends,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (d, _) = issued(&app).await;
            let page = app.get(&d.base, &d.cookie).await.text();
            assert!(page.contains("尚有 1 个单位未提交自查自评"), "{page}");
        });
    }
);

both_engines!(
    ending_a_stage_without_ticking_the_confirmation_is_refused_and_changes_nothing,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (d, _) = issued(&app).await;
            let before = version(&app, d.id);
            let r = app
                .post(
                    &format!("{}/advance", d.base),
                    &d.cookie,
                    &[("_csrf", &d.csrf), ("version", &before)],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
            assert!(r.text().contains("请勾选确认"), "{}", r.text());
            assert_eq!(version(&app, d.id), before);
        });
    }
);

both_engines!(a_change_from_an_old_version_is_stale, |t: TestDb| {
    let app = city(t);
    block_on(async {
        let (d, old) = issued(&app).await;
        let r = app
            .post(
                &format!("{}/advance", d.base),
                &d.cookie,
                &[("_csrf", &d.csrf), ("version", &old), ("confirm", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT);
    });
});

both_engines!(
    next_years_scheme_starts_as_a_copy_a_draft_again,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (d, _) = issued(&app).await;
            let r = app
                .post(
                    &format!("{}/copy", d.base),
                    &d.cookie,
                    &[
                        ("_csrf", &d.csrf),
                        ("year", "2027"),
                        ("name", "2027年度民族工作绩效考评"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let copy = app
                .get(r.location().split('?').next().unwrap(), &d.cookie)
                .await
                .text();
            assert!(
                copy.contains(r#"<dd id="eval-stage">编制中</dd>"#)
                    && copy.contains("1 个参评单位，3 项评分细则"),
                "{copy}"
            );
            let list = app.get("/evaluations", &d.cookie).await.text();
            assert!(
                list.contains("2027年度民族工作绩效考评")
                    && list.contains("2026年度民族工作绩效考评"),
                "{list}"
            );
        });
    }
);

both_engines!(
    another_citys_commission_does_not_see_the_scheme,
    |t: TestDb| {
        let app = city(t);
        block_on(async {
            let (d, _) = issued(&app).await;
            app.t
                .db
                .write_blocking(|c| {
                    seed_city(c, "450200", "lz", "x");
                    Ok(())
                })
                .unwrap();
            let (lz, _) = app.session("lz-commission-staff");
            assert_eq!(app.get(&d.base, &lz).await.status, StatusCode::NOT_FOUND);
            assert!(
                !app.get("/evaluations", &lz)
                    .await
                    .text()
                    .contains("2026年度民族工作绩效考评")
            );
        });
    }
);

// ---- Self-assessment and review, from a scheme already open for self-assessment ----

/// A scheme of Nanning's open for self-assessment, with Nanning's education bureau as its one
/// unit (its reporter belongs to it) and two criteria, 1.1.1 (4 points) and 1.1.2 (6); Liuzhou
/// seeded beside it.
struct Sheet {
    id: i64,
    unit: i64,
    crits: Vec<i64>,
    /// The unit's sheet.
    path: String,
}

impl Sheet {
    /// The form fields for criterion `i`: its score, its note and its files.
    fn fields(&self, i: usize) -> (String, String, String) {
        let c = self.crits[i];
        (
            format!("score.{c}"),
            format!("note.{c}"),
            format!("files.{c}"),
        )
    }

    fn scores(&self, round: &str) -> String {
        format!("{}/scores?round={round}", self.path)
    }
}

fn in_self_assessment(t: TestDb) -> (App, Sheet) {
    let app = App::new(t);
    let (unit, id, crits) = app
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
            Ok((nn.unit, s.id, crits))
        })
        .unwrap();
    let path = format!("/evaluations/{id}/units/{unit}");
    (
        app,
        Sheet {
            id,
            unit,
            crits,
            path,
        },
    )
}

/// The unit's draft: 3.5 points on 1.1.1, with a note and a ledger file.
async fn drafted(app: &App, s: &Sheet) {
    let (cookie, csrf) = app.session("nn-unit-reporter");
    let (c0, n0, f0) = s.fields(0);
    let r = app
        .multipart(
            &s.scores("self"),
            &cookie,
            &csrf,
            &[(&c0, "3.5"), (&n0, "已成立领导小组")],
            &[(&f0, "台账.pdf", b"%PDF-1.4 ledger")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

/// The ledger file's link on `sheet`.
fn evidence(s: &Sheet, sheet: &str) -> String {
    let file = sheet
        .split(&format!("/evaluations/{}/evidence/", s.id))
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    format!("/evaluations/{}/evidence/{file}", s.id)
}

/// The draft completed (1.1.2: 6 points) and submitted.
async fn submitted(app: &App, s: &Sheet) {
    drafted(app, s).await;
    let (cookie, csrf) = app.session("nn-unit-reporter");
    let ((c0, _, _), (c1, _, _)) = (s.fields(0), s.fields(1));
    let r = app
        .multipart(
            &s.scores("self"),
            &cookie,
            &csrf,
            &[
                (&c0, "3.5"),
                (&c1, "6"),
                ("submit", "1"),
                ("confirm_submit", "1"),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

both_engines!(
    submitting_without_ticking_the_box_saves_the_scores_and_submits_nothing,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            drafted(&app, &s).await;
            let (cookie, csrf) = app.session("nn-unit-reporter");
            let ((c0, _, _), (c1, _, _)) = (s.fields(0), s.fields(1));
            let r = app
                .multipart(
                    &s.scores("self"),
                    &cookie,
                    &csrf,
                    &[(&c0, "3.5"), (&c1, "6"), ("submit", "1")],
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let page = r.text();
            assert!(
                page.contains("请勾选") && !page.contains("id=\"eval-submitted\""),
                "{page}"
            );
        });
    }
);

/// With the self-assessment submitted, the organiser's first-round team, still empty; its id.
async fn team(app: &App, s: &Sheet) -> i64 {
    submitted(app, s).await;
    let (org_cookie, org_csrf) = app.session("nn-commission-staff");
    let r = app
        .post(
            &format!("/evaluations/{}/teams", s.id),
            &org_cookie,
            &[
                ("_csrf", &org_csrf),
                ("round", "first"),
                ("team_name", "第一考评组"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let id = s.id;
    app.t
        .db
        .write_blocking(move |c| {
            let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
            Ok(shiliu_db::evaluation::teams::teams(c, &s)?[0].team.id)
        })
        .unwrap()
}

/// The team with the city's evaluator in it.
async fn teamed(app: &App, s: &Sheet) {
    let team = team(app, s).await;
    let (org_cookie, org_csrf) = app.session("nn-commission-staff");
    let r = app
        .post(
            &format!("/evaluations/{}/teams/{team}/members", s.id),
            &org_cookie,
            &[("_csrf", &org_csrf), ("username", "nn-evaluator")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

/// The scheme moved on to its next stage, as the organiser.
fn advance(app: &App, s: &Sheet) {
    let id = s.id;
    app.t
        .db
        .write_blocking(move |c| {
            let s = shiliu_db::evaluation::get_scheme(c, &Scope::everything(), id)?;
            shiliu_db::evaluation::advance(c, &Actor::system("organiser"), id, s.version)
                .map(|_| ())
        })
        .unwrap();
}

/// The team formed and the scheme in its first verification.
async fn in_first_verification(app: &App, s: &Sheet) {
    teamed(app, s).await;
    advance(app, s);
}

/// In the first verification, the reviewer's score on 1.1.1 (3 points) with an opinion.
async fn first_opinion(app: &App, s: &Sheet) {
    in_first_verification(app, s).await;
    let (rev, rev_csrf) = app.session("nn-evaluator");
    let (c0, n0, _) = s.fields(0);
    let r = app
        .multipart(
            &s.scores("first"),
            &rev,
            &rev_csrf,
            &[(&c0, "3"), (&n0, "会议记录不全")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

/// The first verification scored (1.1.2: 5 points), the feedback deadlines set, and the
/// scheme moved on through the field review (no field team, nothing to do) to feedback.
async fn in_feedback(app: &App, s: &Sheet) {
    first_opinion(app, s).await;
    let (rev, rev_csrf) = app.session("nn-evaluator");
    let (c1, _, _) = s.fields(1);
    let r = app
        .multipart(&s.scores("first"), &rev, &rev_csrf, &[(&c1, "5")], &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let feedback_due = shiliu_db::now() + chrono::Duration::days(20);
    let id = s.id;
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
            shiliu_db::evaluation::set_deadlines(c, &Actor::system("organiser"), id, s.version, d)
                .map(|_| ())
        })
        .unwrap();
    advance(app, s); // field review: no field team, nothing to do
    advance(app, s); // feedback
}

/// In feedback, the unit's objection to 1.1.1 (4 points), with its reason and a file.
async fn objected(app: &App, s: &Sheet) {
    in_feedback(app, s).await;
    let (cookie, csrf) = app.session("nn-unit-reporter");
    let (c0, n0, f0) = s.fields(0);
    let r = app
        .multipart(
            &s.scores("objection"),
            &cookie,
            &csrf,
            &[(&c0, "4"), (&n0, "会议记录已补齐")],
            &[(&f0, "会议记录.pdf", b"%PDF-1.4 minutes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

/// The organiser's decision on the objection: accepted, at 4 points, for `reason`.
async fn decide(app: &App, s: &Sheet, reason: &str) -> Resp {
    let (org_cookie, org_csrf) = app.session("nn-commission-staff");
    app.post(
        &format!("/evaluations/{}/objections", s.id),
        &org_cookie,
        &[
            ("_csrf", &org_csrf),
            ("unit", &s.unit.to_string()),
            ("criterion", &s.crits[0].to_string()),
            ("accepted", "yes"),
            ("points", "4"),
            ("reason", reason),
        ],
    )
    .await
}

/// The objection accepted and the scheme moved on through final to published: 4 + 5 points.
async fn published(app: &App, s: &Sheet) {
    objected(app, s).await;
    let r = decide(app, s, "补充材料属实").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    advance(app, s); // final
    advance(app, s); // published
}

/// After publication, 1.1.2 corrected from 5 to 6 points.
async fn corrected(app: &App, s: &Sheet) {
    published(app, s).await;
    let (org_cookie, org_csrf) = app.session("nn-commission-staff");
    let r = app
        .post(
            &format!("/evaluations/{}/corrections", s.id),
            &org_cookie,
            &[
                ("_csrf", &org_csrf),
                ("unit", &s.unit.to_string()),
                ("criterion", &s.crits[1].to_string()),
                ("points", "6"),
                ("reason", "核验记录误录"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

both_engines!(
    a_units_reporter_sees_the_scheme_and_its_sheet_but_cannot_create_one,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            let (cookie, _) = app.session("nn-unit-reporter");
            let list = app.get("/evaluations", &cookie).await.text();
            assert!(
                list.contains("2026年度考评") && !list.contains("新建考评方案"),
                "{list}"
            );
            let page = app
                .get(&format!("/evaluations/{}", s.id), &cookie)
                .await
                .text();
            assert!(
                page.contains(&s.path) && page.contains("自查自评"),
                "{page}"
            );
            let sheet = app.get(&s.path, &cookie).await.text();
            assert!(
                sheet.contains(&format!("name=\"score.{}\"", s.crits[0])),
                "{sheet}"
            );
        });
    }
);

both_engines!(
    a_self_score_above_the_maximum_is_named_by_its_code,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            let (cookie, csrf) = app.session("nn-unit-reporter");
            let (c0, n0, _) = s.fields(0);
            let r = app
                .multipart(
                    &s.scores("self"),
                    &cookie,
                    &csrf,
                    &[(&c0, "5"), (&n0, "")],
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                r.text().contains("1.1.1 得分：不能高于该项满分 4 分"),
                "{}",
                r.text()
            );
        });
    }
);

both_engines!(a_draft_keeps_its_claim_and_its_ledger_file, |t: TestDb| {
    let (app, s) = in_self_assessment(t);
    block_on(async {
        drafted(&app, &s).await;
        let (cookie, _) = app.session("nn-unit-reporter");
        let sheet = app.get(&s.path, &cookie).await.text();
        assert!(
            sheet.contains(r#"<dd id="eval-claimed">3.5</dd>"#) && sheet.contains("台账.pdf"),
            "{sheet}"
        );
        let r = app.get(&evidence(&s, &sheet), &cookie).await;
        assert_eq!(
            (r.status, r.body.as_slice()),
            (StatusCode::OK, &b"%PDF-1.4 ledger"[..])
        );
    });
});

both_engines!(
    what_is_left_shows_on_the_home_page_the_schemes_page_and_the_api,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            drafted(&app, &s).await;
            let (cookie, _) = app.session("nn-unit-reporter");
            let home = app.get("/", &cookie).await.text();
            assert!(
                home.contains("id=\"eval-todo\"")
                    && home.contains("2026年度考评：")
                    && home.contains("自查自评还有 1 项未填")
                    && home.contains(&format!("href=\"{}\"", s.path)),
                "{home}"
            );
            assert!(
                app.get(&format!("/evaluations/{}", s.id), &cookie)
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
                (Some("unit"), Some("self"), Some(s.unit), Some(1)),
                "{todo}"
            );
        });
    }
);

both_engines!(
    submitting_with_a_criterion_left_is_refused_naming_it,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            drafted(&app, &s).await;
            let (cookie, csrf) = app.session("nn-unit-reporter");
            let (c0, _, _) = s.fields(0);
            let r = app
                .multipart(
                    &s.scores("self"),
                    &cookie,
                    &csrf,
                    &[(&c0, "3.5"), ("submit", "1"), ("confirm_submit", "1")],
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                r.text().contains("以下评分细则尚未自评打分：1.1.2"),
                "{}",
                r.text()
            );
        });
    }
);

both_engines!(a_submitted_self_assessment_is_read_only, |t: TestDb| {
    let (app, s) = in_self_assessment(t);
    block_on(async {
        submitted(&app, &s).await;
        let (cookie, csrf) = app.session("nn-unit-reporter");
        let sheet = app.get(&s.path, &cookie).await.text();
        assert!(
            sheet.contains(r#"<dd id="eval-claimed">9.5</dd>"#)
                && sheet.contains("自评已提交，不能再修改"),
            "{sheet}"
        );
        assert!(
            !sheet.contains("name=\"score."),
            "no inputs after submitting"
        );
        let (c0, _, _) = s.fields(0);
        let r = app
            .multipart(&s.scores("self"), &cookie, &csrf, &[(&c0, "4")], &[])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    });
});

both_engines!(
    without_permission_or_from_another_city_the_sheet_and_its_files_are_closed,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            submitted(&app, &s).await;
            let (cookie, _) = app.session("nn-unit-reporter");
            let file = evidence(&s, &app.get(&s.path, &cookie).await.text());
            let (grid, _) = app.session("nn-grid-worker");
            assert_eq!(app.get(&s.path, &grid).await.status, StatusCode::FORBIDDEN);
            let (lz, _) = app.session("lz-unit-reporter");
            assert_eq!(app.get(&s.path, &lz).await.status, StatusCode::NOT_FOUND);
            assert_eq!(app.get(&file, &lz).await.status, StatusCode::NOT_FOUND);
        });
    }
);

both_engines!(
    a_user_whose_role_cannot_review_is_not_taken_into_a_team,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            let team = team(&app, &s).await;
            let (org_cookie, org_csrf) = app.session("nn-commission-staff");
            let r = app
                .post(
                    &format!("/evaluations/{}/teams/{team}/members", s.id),
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
        });
    }
);

both_engines!(
    the_workbench_shows_the_team_and_the_reviewers_workload,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            teamed(&app, &s).await;
            let (org_cookie, _) = app.session("nn-commission-staff");
            let workbench = app
                .get(&format!("/evaluations/{}", s.id), &org_cookie)
                .await
                .text();
            assert!(
                workbench.contains("用户nn-evaluator")
                    && workbench.contains("<td>已提交</td><td>0/2</td><td>0/2</td><td></td>"),
                "{workbench}"
            );
            // The reviewer's workload: one unit, two criteria to score.
            let workload = workbench
                .split("id=\"eval-workload\"")
                .nth(1)
                .unwrap_or_default();
            assert!(
                workload.contains(
                    "<td>第一次核验</td><td>第一考评组</td><td>1</td><td>0</td><td>2</td>"
                ),
                "{workbench}"
            );
        });
    }
);

both_engines!(
    once_the_self_assessment_is_submitted_there_is_nobody_to_remind,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            teamed(&app, &s).await;
            // Nobody owes the self-assessment any more, so there is nobody to remind.
            let (cookie, csrf) = app.session("nn-unit-reporter");
            assert!(!home_of(&app, &cookie).await.contains("id=\"eval-todo\""));
            let (org_cookie, org_csrf) = app.session("nn-commission-staff");
            let remind = format!("/evaluations/{}/remind", s.id);
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
        });
    }
);

both_engines!(
    in_the_first_verification_the_organiser_reminds_the_reviewer_who_sees_it_at_home,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            in_first_verification(&app, &s).await;
            let (org_cookie, org_csrf) = app.session("nn-commission-staff");
            let (rev, _) = app.session("nn-evaluator");
            let r = app
                .post(
                    &format!("/evaluations/{}/remind", s.id),
                    &org_cookie,
                    &[("_csrf", &org_csrf)],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let reminders = format!("/api/v1/evaluations/{}/reminders", s.id);
            let (st, sent) = app
                .api("POST", &reminders, "nn-commission-staff", None)
                .await;
            assert_eq!(
                (st, sent["sent"].as_i64()),
                (StatusCode::OK, Some(1)),
                "{sent}"
            );
            let (st, _) = app.api("POST", &reminders, "nn-evaluator", None).await;
            assert_eq!(st, StatusCode::FORBIDDEN);
            let home = home_of(&app, &rev).await;
            assert!(
                home.contains("第一次核验还有 1 个单位共 2 项未评分")
                    && home.contains("已于 ")
                    && home.contains(&format!("href=\"{}\"", s.path)),
                "{home}"
            );
        });
    }
);

both_engines!(
    the_reviewer_sees_the_claim_and_the_file_and_scores_with_an_opinion,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            in_first_verification(&app, &s).await;
            let (rev, rev_csrf) = app.session("nn-evaluator");
            let sheet = app.get(&s.path, &rev).await.text();
            assert!(
                sheet.contains("已成立领导小组")
                    && sheet.contains("台账.pdf")
                    && sheet.contains("正在填写：第一次核验"),
                "{sheet}"
            );
            let (c0, n0, _) = s.fields(0);
            let r = app
                .multipart(
                    &s.scores("first"),
                    &rev,
                    &rev_csrf,
                    &[(&c0, "3"), (&n0, "会议记录不全")],
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            assert!(app.get(&s.path, &rev).await.text().contains("会议记录不全"));
        });
    }
);

both_engines!(
    until_the_feedback_stage_the_unit_does_not_see_the_opinion,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            first_opinion(&app, &s).await;
            let (cookie, _) = app.session("nn-unit-reporter");
            assert!(
                !app.get(&s.path, &cookie)
                    .await
                    .text()
                    .contains("会议记录不全")
            );
        });
    }
);

both_engines!(
    through_the_api_a_score_above_its_maximum_is_named_and_a_number_is_taken,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            first_opinion(&app, &s).await;
            let api_scores = format!("/api/v1/evaluations/{}/units/{}/scores", s.id, s.unit);
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
                    .any(|x| x["round"] == "first"
                        && x["criterion"] == "1.1.2"
                        && x["points"] == 5.0),
                "{list}"
            );
        });
    }
);

both_engines!(
    another_citys_reviewer_cannot_read_the_scores,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            first_opinion(&app, &s).await;
            let api_scores = format!("/api/v1/evaluations/{}/units/{}/scores", s.id, s.unit);
            let (st, _) = app.api_get(&api_scores, "lz-evaluator").await;
            assert_eq!(st, StatusCode::NOT_FOUND);
        });
    }
);

both_engines!(
    in_feedback_the_unit_sees_its_verified_scores_and_the_opinion,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            in_feedback(&app, &s).await;
            let (cookie, _) = app.session("nn-unit-reporter");
            let sheet = app.get(&s.path, &cookie).await.text();
            assert!(
                sheet.contains("会议记录不全") && sheet.contains("核验得分：<strong>3</strong>"),
                "{sheet}"
            );
        });
    }
);

both_engines!(an_objection_needs_a_reason, |t: TestDb| {
    let (app, s) = in_self_assessment(t);
    block_on(async {
        in_feedback(&app, &s).await;
        let (cookie, csrf) = app.session("nn-unit-reporter");
        let (c0, n0, _) = s.fields(0);
        let r = app
            .multipart(
                &s.scores("objection"),
                &cookie,
                &csrf,
                &[(&c0, "4"), (&n0, "")],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("申请复核须写明理由"), "{}", r.text());
    });
});

both_engines!(results_are_the_organisers_until_publication, |t: TestDb| {
    let (app, s) = in_self_assessment(t);
    block_on(async {
        objected(&app, &s).await;
        let results = format!("/evaluations/{}/results", s.id);
        let (cookie, _) = app.session("nn-unit-reporter");
        assert_eq!(
            app.get(&results, &cookie).await.status,
            StatusCode::NOT_FOUND
        );
        let (org_cookie, _) = app.session("nn-commission-staff");
        let results = app.get(&results, &org_cookie).await.text();
        assert!(
            results.contains("会议记录已补齐") && results.contains("结果尚未通报"),
            "{results}"
        );
    });
});

both_engines!(accepting_an_objection_needs_a_reason, |t: TestDb| {
    let (app, s) = in_self_assessment(t);
    block_on(async {
        objected(&app, &s).await;
        assert_eq!(
            decide(&app, &s, "").await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    });
});

both_engines!(
    everyone_taking_part_sees_the_published_results_and_the_export_is_the_pages_table,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            published(&app, &s).await;
            let (cookie, _) = app.session("nn-unit-reporter");
            let page = app
                .get(&format!("/evaluations/{}/results", s.id), &cookie)
                .await
                .text();
            assert!(
                page.contains(r#"<td class="num"><strong>9</strong></td><td>不合格</td>"#),
                "4 + 5 points: {page}"
            );
            let x = xlsx_text(
                &app.get(&format!("/evaluations/{}/results.xlsx", s.id), &cookie)
                    .await
                    .body,
            );
            assert!(
                x.contains("市直部门\t1\tnn教育局\t9\t0\t0\t9\t不合格\t"),
                "{x}"
            );
            let notice = app
                .get(&format!("/evaluations/{}/notice", s.id), &cookie)
                .await
                .text();
            assert!(
                notice.contains("关于2026年度考评结果的通报") && notice.contains("nn教育局"),
                "{notice}"
            );
        });
    }
);

both_engines!(the_api_gives_a_unit_the_published_scheme, |t: TestDb| {
    let (app, s) = in_self_assessment(t);
    block_on(async {
        published(&app, &s).await;
        let (st, d) = app
            .api_get(&format!("/api/v1/evaluations/{}", s.id), "nn-unit-reporter")
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
        let (_, l) = app.api_get("/api/v1/evaluations", "nn-unit-reporter").await;
        assert_eq!(l.as_array().unwrap().len(), 1, "{l}");
    });
});

both_engines!(
    a_correction_after_publication_keeps_the_old_value,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            corrected(&app, &s).await;
            let (org_cookie, _) = app.session("nn-commission-staff");
            let page = app
                .get(&format!("/evaluations/{}/results", s.id), &org_cookie)
                .await
                .text();
            assert!(
                page.contains(
                    r#"<td class="num">5</td><td class="num">6</td><td>核验记录误录</td>"#
                ),
                "{page}"
            );
            assert!(page.contains("<strong>10</strong>"), "{page}");
            let (st, r) = app
                .api_get(
                    &format!("/api/v1/evaluations/{}/results", s.id),
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
        });
    }
);

both_engines!(
    the_organisers_analysis_gives_grades_per_category_and_criteria_weakest_first,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            corrected(&app, &s).await;
            let analysis = format!("/evaluations/{}/analysis", s.id);
            let (org_cookie, _) = app.session("nn-commission-staff");
            let page = app.get(&analysis, &org_cookie).await.text();
            assert!(page.contains("<td>1.1.2 年度部署</td><td class=\"num\">6</td><td class=\"num\">6</td><td class=\"num\">6</td><td class=\"num\">100%</td>"), "{page}");
            assert!(
                page.contains("1 个单位，平均 10，最低 10，最高 10") && page.contains("暂无比较"),
                "{page}"
            );
            let (cookie, _) = app.session("nn-unit-reporter");
            assert_eq!(
                app.get(&analysis, &cookie).await.status,
                StatusCode::NOT_FOUND
            );
        });
    }
);

both_engines!(
    next_years_copy_compares_each_unit_with_this_years_published_total,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            corrected(&app, &s).await;
            let (org_cookie, org_csrf) = app.session("nn-commission-staff");
            let r = app
                .post(
                    &format!("/evaluations/{}/copy", s.id),
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
    }
);

both_engines!(
    a_ledger_report_is_linked_as_evidence_shown_to_the_sheets_readers_and_removed,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        let unit = s.unit;
        // Nanning's plan hands its task to the education bureau, whose reporter reports with a
        // photo.
        let (plan, item, report) = app
            .t
            .db
            .write_blocking(move |c| {
                use chrono::Datelike;
                use shiliu_db::tasks;
                use shiliu_domain::tasks::{PlanInput, PlanStatus, ReportInput, SheetRow};
                let sys = shiliu_db::scope::Can::check(&Actor::system("test")).unwrap();
                let all = Scope::everything();
                let city = org::get_region_by_code(c, &all, "450100")?;
                let year = shiliu_db::today().year();
                let p = tasks::create_plan(
                    c,
                    &sys,
                    city.id,
                    &PlanInput::parse(
                        "本年度工作方案",
                        "南宁市创建办",
                        &format!("{year}-01-01"),
                        &format!("{year}-12-31"),
                        &[],
                    )
                    .unwrap(),
                )?;
                let unit_name = org::get_unit(c, &all, unit)?.name;
                let placed = shiliu_domain::tasks::place_sheet(&[(
                    2,
                    SheetRow {
                        seq: "1".into(),
                        task: "建立民族团结进步工作台账".into(),
                        lead_units: unit_name,
                        due: format!("{year}年12月底前"),
                        ..Default::default()
                    },
                )])
                .unwrap();
                let tree = tasks::replace_tree(c, &sys, p.id, 1, &placed)?.unwrap();
                tasks::set_status(c, &sys, p.id, 2, PlanStatus::Active)?;
                let user = shiliu_db::accounts::find_by_username(c, "nn-unit-reporter")?.unwrap();
                let reporter = shiliu_db::scope::Can::check(&shiliu_db::accounts::acting_as(
                    c, &user, "test",
                )?)
                .unwrap();
                let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
                png.extend_from_slice(b"ledger photo");
                let file = shiliu_domain::files::FileInput::parse(
                    "files",
                    "台账照片.png",
                    png,
                    shiliu_domain::files::REQUEST_FILES,
                )
                .unwrap();
                let item = tree.nodes[0].item.id;
                let r = tasks::ledger::submit(
                    c,
                    &reporter,
                    p.id,
                    item,
                    &ReportInput {
                        period: String::new(),
                        progress: "已建立台账并开展活动12场".into(),
                        figure: None,
                    },
                    &[file],
                )?;
                Ok((p.id, item, r.id))
            })
            .unwrap();
        block_on(async {
            let (cookie, csrf) = app.session("nn-unit-reporter");
            let task = app
                .get(&format!("/plans/{plan}/tasks/{item}"), &cookie)
                .await
                .text();
            let action = format!("/evaluations/{}/units/{unit}/ledger", s.id);
            assert!(
                task.contains("use-as-evidence") && task.contains(&action),
                "{task}"
            );
            let link = |report: String| {
                let (app, cookie, csrf, action) =
                    (&app, cookie.clone(), csrf.clone(), action.clone());
                let criterion = s.crits[0].to_string();
                async move {
                    app.post(
                        &action,
                        &cookie,
                        &[
                            ("_csrf", &csrf),
                            ("criterion", &criterion),
                            ("report", &report),
                        ],
                    )
                    .await
                }
            };
            let r = link("12345".into()).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let r = link(report.to_string()).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let sheet = app.get(&s.path, &cookie).await.text();
            assert!(sheet.contains("已建立台账并开展活动12场"), "{sheet}");
            let file = sheet
                .split(&format!("/evaluations/{}/ledger/", s.id))
                .nth(1)
                .expect("the linked report's file")
                .split('"')
                .next()
                .unwrap()
                .to_string();
            let file = format!("/evaluations/{}/ledger/{file}", s.id);
            let got = app.get(&file, &cookie).await;
            assert_eq!(got.status, StatusCode::OK);
            assert!(got.body.ends_with(b"ledger photo"));
            // The organiser reads it on the sheet; another city's staff do not reach it.
            let (org, _) = app.session("nn-commission-staff");
            assert!(
                app.get(&s.path, &org)
                    .await
                    .text()
                    .contains("已建立台账并开展活动12场")
            );
            let (lz, _) = app.session("lz-commission-staff");
            assert_eq!(app.get(&file, &lz).await.status, StatusCode::NOT_FOUND);
            // Linked once per criterion.
            let r = link(report.to_string()).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("这份报送已用作这条细则的佐证"));
            // Removed: gone from the sheet.
            let link_id = file
                .split("/ledger/")
                .nth(1)
                .unwrap()
                .split('/')
                .next()
                .unwrap();
            let r = app
                .post(
                    &format!("{}/ledger/remove", s.path),
                    &cookie,
                    &[("_csrf", &csrf), ("unlink", link_id)],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let sheet = app.get(&s.path, &cookie).await.text();
            assert!(!sheet.contains("已建立台账并开展活动12场"));
        });
    }
);

both_engines!(
    a_leader_follows_an_evaluation_on_the_dashboard_and_reads_its_results_once_published,
    |t: TestDb| {
        let (app, s) = in_self_assessment(t);
        block_on(async {
            let (leader, _) = app.session("nn-leader");
            let results = format!("/evaluations/{}/results", s.id);
            // Under way: the scheme in the list and on the board with how far it has got; its
            // results and the unit's sheet are not the leader's to read.
            let list = app.get("/evaluations", &leader).await.text();
            assert!(
                list.contains("2026年度考评") && !list.contains("新建考评方案"),
                "{list}"
            );
            let board = app.get("/dashboard", &leader).await.text();
            assert!(board.contains("绩效考评进度"), "{board}");
            assert!(board.contains("自评已提交 0 / 1 家"), "{board}");
            assert_eq!(
                app.get(&results, &leader).await.status,
                StatusCode::NOT_FOUND
            );
            assert_eq!(
                app.get(&s.path, &leader).await.status,
                StatusCode::NOT_FOUND
            );
            // Published: the results are the leader's to read, and the board gives the grades.
            published(&app, &s).await;
            let r = app.get(&results, &leader).await;
            assert_eq!(r.status, StatusCode::OK);
            let board = app.get("/dashboard", &leader).await.text();
            assert!(board.contains("已通报"), "{board}");
            assert!(board.contains(&format!("href=\"{results}\"")), "{board}");
            let (_, b) = app.api_get("/api/v1/dashboard", "nn-leader").await;
            let e = &b["evaluations"][0];
            assert_eq!(e["stage"], "published", "{b}");
            assert_eq!(
                (&e["units"], &e["submitted"], &e["first_reviewed"]),
                (&1.into(), &1.into(), &1.into()),
                "submitted, and both criteria scored in the first review: {e}"
            );
            let graded: i64 = e["grades"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["units"].as_i64().unwrap())
                .sum();
            assert_eq!(graded, 1, "the one unit, graded: {e}");
            // Still no unit's sheet, and nothing to change.
            assert_eq!(
                app.get(&s.path, &leader).await.status,
                StatusCode::NOT_FOUND
            );
            // Another city's leader has no way in.
            let (other, _) = app.session("lz-leader");
            assert_eq!(
                app.get(&results, &other).await.status,
                StatusCode::NOT_FOUND
            );
        });
    }
);
