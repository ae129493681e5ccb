//! Work plans and their task decomposition: drawn up, imported from a sheet, put in force,
//! copied, and seen by the units they are handed to — on both engines.

use shiliu_db::scope::{Actor, Can, Scope, grants};
use shiliu_db::tasks::{self, Plan};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbConnection, DbError, audit, both_engines, org};
use shiliu_domain::accounts::Username;
use shiliu_domain::org::UnitInput;
use shiliu_domain::roles::Role;
use shiliu_domain::tasks::{PlanInput, PlanStatus, Recurrence, SheetRow, TaskLevel, place_sheet};

struct World {
    organiser: Can<grants::ManageTasks>,
    elsewhere: Can<grants::ManageTasks>,
    city: i64,
    /// 南宁市民宗委, 南宁市教育局, 南宁市委宣传部 (in a district of the city).
    units: Vec<i64>,
}

fn world(c: &mut DbConnection) -> Result<World, DbError> {
    let sys = Actor::system("test");
    let all = Scope::everything();
    let city = org::get_region_by_code(c, &all, "450100")?;
    let county = org::get_region_by_code(c, &all, "450102")?;
    let liuzhou = org::get_region_by_code(c, &all, "450200")?;
    let mut units = Vec::new();
    for name in ["南宁市民宗委", "南宁市教育局", "南宁市委宣传部"] {
        let u = org::create_unit(
            c,
            &sys,
            county.id,
            &UnitInput::parse(name, "department", "", "").unwrap(),
        )?;
        units.push(u.id);
    }
    // The same name in another city is not the city's unit.
    org::create_unit(
        c,
        &sys,
        liuzhou.id,
        &UnitInput::parse("柳州市教育局", "department", "", "").unwrap(),
    )?;
    let staff = |name: &str, path: &str| {
        Can::check(&Actor::system_within(
            name,
            Scope::subtrees(vec![path.to_string()]),
        ))
        .unwrap()
    };
    Ok(World {
        organiser: staff("nanning", &city.path),
        elsewhere: staff("liuzhou", &liuzhou.path),
        city: city.id,
        units,
    })
}

fn plan_input() -> PlanInput {
    PlanInput::parse(
        "2027年创建示范市实施方案",
        "南宁市创建办",
        "2027-01-01",
        "2029-12-31",
        &[
            ("强基础", "2027-01-01", "2027-12-31", "一年强基础"),
            ("见成效", "2028-01-01", "2028-12-31", "两年见成效"),
            ("创示范", "2029-01-01", "2029-12-31", "三年创示范"),
        ],
    )
    .unwrap()
}

fn row(seq: &str, task: &str, measure: &str, lead: &str, co: &str, due: &str) -> SheetRow {
    SheetRow {
        seq: seq.into(),
        task: task.into(),
        measure: measure.into(),
        lead_units: lead.into(),
        co_units: co.into(),
        due: due.into(),
        ..Default::default()
    }
}

fn sheet(rows: &[SheetRow]) -> Vec<shiliu_domain::tasks::PlacedTask> {
    let numbered: Vec<(usize, SheetRow)> = rows
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, r)| (i + 2, r))
        .collect();
    place_sheet(&numbered).unwrap()
}

fn good_sheet() -> Vec<shiliu_domain::tasks::PlacedTask> {
    sheet(&[
        row("一、组织领导", "", "", "", "", ""),
        row("1", "制定实施方案", "", "南宁市民宗委", "", "2027年3月底前"),
        row(
            "2",
            "开展“十进”活动",
            "进机关",
            "南宁市委宣传部",
            "南宁市民宗委",
            "每季度",
        ),
        row("", "", "进学校", "南宁市教育局", "南宁市民宗委", "2027年底"),
    ])
}

/// A draft with the good sheet's tree: version 2.
fn drafted(c: &mut DbConnection) -> Result<(World, Plan), DbError> {
    let w = world(c)?;
    let p = tasks::create_plan(c, &w.organiser, w.city, &plan_input())?;
    tasks::replace_tree(c, &w.organiser, p.id, 1, &good_sheet())?.unwrap();
    let p = tasks::get_plan(c, &w.organiser.scope().clone(), p.id)?;
    Ok((w, p))
}

fn reporter(c: &mut DbConnection, name: &str, unit: i64, city: i64) -> Can<grants::ReportTasks> {
    let u = shiliu_db::accounts::create_user(
        c,
        &Can::check(&Actor::system("test")).unwrap(),
        &shiliu_db::accounts::NewUser {
            username: Username::parse(name).unwrap(),
            display_name: name.into(),
            password_hash: "x".into(),
            role: Role::UnitReporter,
            region_id: city,
            unit_id: Some(unit),
            site_id: None,
            phone: None,
            grid_ids: vec![],
        },
    )
    .unwrap();
    Can::check(&shiliu_db::accounts::acting_as(c, &u, "test").unwrap()).unwrap()
}

both_engines!(
    a_sheet_becomes_the_plans_tree_with_its_units,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (w, p) = drafted(c)?;
            assert_eq!(p.version, 2);
            let tree = tasks::tree(c, &p)?;
            let shape: Vec<(TaskLevel, usize, &str)> = tree
                .nodes
                .iter()
                .map(|n| (n.item.level(), n.depth, n.item.title.as_str()))
                .collect();
            assert_eq!(
                shape,
                [
                    (TaskLevel::Area, 0, "组织领导"),
                    (TaskLevel::Task, 1, "制定实施方案"),
                    (TaskLevel::Task, 1, "开展“十进”活动"),
                    (TaskLevel::Measure, 2, "进机关"),
                    (TaskLevel::Measure, 2, "进学校"),
                ]
            );
            let school = &tree.nodes[4];
            assert_eq!(
                school.leads().map(|u| u.unit_id).collect::<Vec<_>>(),
                [w.units[1]]
            );
            assert_eq!(
                school.others().map(|u| u.name.as_str()).collect::<Vec<_>>(),
                ["南宁市民宗委"]
            );
            assert_eq!(tree.nodes[3].item.recurrence(), Recurrence::Quarterly);
            assert_eq!(tree.reported().count(), 3);
            // Importing again replaces the tree whole.
            let again = sheet(&[row("1", "唯一任务", "", "南宁市民宗委", "", "2028年")]);
            let tree = tasks::replace_tree(c, &w.organiser, p.id, 2, &again)?.unwrap();
            assert_eq!(tree.nodes.len(), 1);
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_sheet_naming_unknown_units_or_dates_outside_the_plan_changes_nothing,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (w, p) = drafted(c)?;
            let bad = sheet(&[
                row("1", "任务", "", "柳州市教育局", "", "2027年"),
                row("2", "任务二", "", "南宁市民宗委", "不存在的局", "2031年"),
            ]);
            let problems = tasks::replace_tree(c, &w.organiser, p.id, 2, &bad)?.unwrap_err();
            let got: Vec<(usize, &str, &str)> = problems
                .iter()
                .map(|(r, e)| (*r, e.field.as_str(), e.reason))
                .collect();
            assert_eq!(
                got,
                [
                    (2, "lead_units", "err.tasks.unit_unknown"),
                    (3, "co_units", "err.tasks.unit_unknown"),
                    (3, "due", "err.tasks.due_outside_plan"),
                ]
            );
            // Nothing changed: the same tree, the same version.
            let same = tasks::get_plan(c, w.organiser.scope(), p.id)?;
            assert_eq!(same.version, 2);
            assert_eq!(tasks::tree(c, &same)?.nodes.len(), 5);
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_plan_goes_in_force_with_tasks_handed_and_its_tree_is_then_locked,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (w, p) = drafted(c)?;
            let empty = tasks::create_plan(c, &w.organiser, w.city, &plan_input())?;
            let refused =
                tasks::set_status(c, &w.organiser, empty.id, 1, PlanStatus::Active).unwrap_err();
            assert!(
                matches!(&refused, DbError::Invalid(e) if e.0[0].reason == "err.tasks.nothing_handed"),
                "{refused:?}"
            );
            let p = tasks::set_status(c, &w.organiser, p.id, 2, PlanStatus::Active)?;
            assert_eq!(p.status(), PlanStatus::Active);
            let locked = tasks::replace_tree(c, &w.organiser, p.id, 3, &good_sheet()).unwrap_err();
            assert!(matches!(&locked, DbError::Invalid(e) if e.0[0].reason == "err.tasks.not_draft"));
            // Back to a draft: no.
            assert!(tasks::set_status(c, &w.organiser, p.id, 3, PlanStatus::Draft).is_err());
            // A stale version: refused.
            assert!(matches!(
                tasks::set_status(c, &w.organiser, p.id, 2, PlanStatus::Closed),
                Err(DbError::Stale)
            ));
            let p = tasks::set_status(c, &w.organiser, p.id, 3, PlanStatus::Closed)?;
            assert_eq!(p.status(), PlanStatus::Closed);
            // The locked tree is kept in memory; its units' names are read fresh.
            let before = tasks::tree(c, &p)?;
            let unit = org::get_unit(c, &Scope::everything(), w.units[1])?;
            org::update_unit(
                c,
                &Actor::system("test"),
                unit.id,
                unit.version,
                unit.region_id,
                &UnitInput::parse("南宁市教育局（更名）", "department", "", "").unwrap(),
            )?;
            let after = tasks::tree(c, &p)?;
            assert_eq!(after.nodes.len(), before.nodes.len());
            let names = |t: &tasks::Tree| -> Vec<String> {
                t.nodes
                    .iter()
                    .flat_map(|n| n.units.iter().map(|u| u.name.clone()))
                    .collect()
            };
            assert!(names(&before).contains(&"南宁市教育局".to_string()));
            assert!(names(&after).contains(&"南宁市教育局（更名）".to_string()));
            assert!(!names(&after).contains(&"南宁市教育局".to_string()));
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_plan_copied_to_next_year_is_a_draft_with_its_tree_a_year_on,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (w, p) = drafted(c)?;
            let copy = tasks::copy_plan(c, &w.organiser, p.id)?;
            assert_eq!(copy.name, "2028年创建示范市实施方案");
            assert_eq!(copy.status(), PlanStatus::Draft);
            assert_eq!(copy.copied_from, Some(p.id));
            assert_eq!(copy.phases()[2].name, "创示范");
            assert_eq!(copy.ends_on.to_string(), "2030-12-31");
            let (from, to) = (tasks::tree(c, &p)?, tasks::tree(c, &copy)?);
            assert_eq!(from.nodes.len(), to.nodes.len());
            assert_eq!(to.nodes[1].item.due_on.unwrap().to_string(), "2028-03-31");
            assert_eq!(to.nodes[4].units, from.nodes[4].units);
            assert!(to.nodes.iter().all(|n| n.item.plan_id == copy.id));
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    another_citys_staff_neither_see_nor_change_the_plan,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (w, p) = drafted(c)?;
            let them = &w.elsewhere;
            assert!(matches!(
                tasks::get_plan(c, them.scope(), p.id),
                Err(DbError::NotFound)
            ));
            assert!(tasks::plans(c, them.scope())?.is_empty());
            assert!(tasks::copy_plan(c, them, p.id).is_err());
            assert!(tasks::update_plan(c, them, p.id, 2, &plan_input()).is_err());
            assert!(tasks::set_status(c, them, p.id, 2, PlanStatus::Active).is_err());
            assert!(tasks::replace_tree(c, them, p.id, 2, &good_sheet()).is_err());
            // Nor may they place a plan in the city.
            assert!(tasks::create_plan(c, them, w.city, &plan_input()).is_err());
            assert_eq!(tasks::plans(c, w.organiser.scope())?.len(), 1);
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_unit_sees_only_what_it_is_handed_in_plans_in_force,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (w, p) = drafted(c)?;
            let education = reporter(c, "edu-reporter", w.units[1], w.city);
            // A draft is the organiser's own.
            assert!(tasks::assigned(c, &education)?.is_empty());
            assert!(tasks::plan_for_unit(c, &education, p.id).is_err());
            tasks::set_status(c, &w.organiser, p.id, 2, PlanStatus::Active)?;
            let mine = tasks::assigned(c, &education)?;
            assert_eq!(mine.len(), 1);
            assert_eq!(mine[0].item.title, "进学校");
            assert_eq!(mine[0].task_title.as_deref(), Some("开展“十进”活动"));
            assert!(mine[0].lead);
            let (plan, unit) = tasks::plan_for_unit(c, &education, p.id)?;
            let seen = tasks::tree(c, &plan)?.of_unit(unit);
            let titles: Vec<&str> = seen.nodes.iter().map(|n| n.item.title.as_str()).collect();
            assert_eq!(titles, ["组织领导", "开展“十进”活动", "进学校"]);
            // The commission's reporter is handed three (one as lead, two co-operating).
            let commission = reporter(c, "mzw-reporter", w.units[0], w.city);
            let theirs = tasks::assigned(c, &commission)?;
            assert_eq!(theirs.len(), 3);
            assert_eq!(theirs.iter().filter(|t| t.lead).count(), 1);
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(every_change_to_a_plan_is_audited, |t: TestDb| {
    use diesel::prelude::*;
    use shiliu_db::schema::audit_log;
    t.db.write_blocking(|c| {
        let (w, p) = drafted(c)?;
        tasks::update_plan(c, &w.organiser, p.id, 2, &plan_input())?;
        tasks::set_status(c, &w.organiser, p.id, 3, PlanStatus::Active)?;
        tasks::copy_plan(c, &w.organiser, p.id)?;
        let mut actions: Vec<String> = audit_log::table
            .filter(audit_log::action.like("plan.%"))
            .select(audit_log::action)
            .load(c)?;
        actions.sort();
        assert_eq!(
            actions,
            [
                "plan.copy",
                "plan.create",
                "plan.create",
                "plan.status",
                "plan.tasks_import",
                "plan.update",
            ]
        );
        assert!(audit::verify(c)?.is_intact());
        Ok(())
    })
    .unwrap();
});

// ---- Ledgers ----

/// A plan in force over this year and the next: 建立工作台账 (once, led by 民宗委 with 教育局)
/// and 开展宣讲 (quarterly, led by 宣传部 with 民宗委); the reporters of 民宗委, 教育局 and
/// 宣传部.
struct Running {
    w: World,
    plan: Plan,
    ledger_task: i64,
    talks: i64,
    commission: Can<grants::ReportTasks>,
    education: Can<grants::ReportTasks>,
    publicity: Can<grants::ReportTasks>,
    year: i32,
}

fn running(c: &mut DbConnection) -> Result<Running, DbError> {
    use chrono::Datelike;
    let w = world(c)?;
    let year = shiliu_db::today().year();
    let input = PlanInput::parse(
        "本年度创建工作方案",
        "南宁市创建办",
        &format!("{year}-01-01"),
        &format!("{}-12-31", year + 1),
        &[],
    )
    .unwrap();
    let p = tasks::create_plan(c, &w.organiser, w.city, &input)?;
    let rows = sheet(&[
        row(
            "1",
            "建立工作台账",
            "",
            "南宁市民宗委",
            "南宁市教育局",
            &format!("{}年12月底前", year + 1),
        ),
        row(
            "2",
            "开展宣讲",
            "",
            "南宁市委宣传部",
            "南宁市民宗委",
            "每季度",
        ),
    ]);
    let tree = tasks::replace_tree(c, &w.organiser, p.id, 1, &rows)?.unwrap();
    let plan = tasks::set_status(c, &w.organiser, p.id, 2, PlanStatus::Active)?;
    let commission = reporter(c, "mzw-reporter", w.units[0], w.city);
    let education = reporter(c, "edu-reporter", w.units[1], w.city);
    let publicity = reporter(c, "xcb-reporter", w.units[2], w.city);
    Ok(Running {
        ledger_task: tree.nodes[0].item.id,
        talks: tree.nodes[1].item.id,
        w,
        plan,
        commission,
        education,
        publicity,
        year,
    })
}

/// A report without files.
fn submit(
    c: &mut DbConnection,
    actor: &Can<grants::ReportTasks>,
    plan: i64,
    item: i64,
    input: &shiliu_domain::tasks::ReportInput,
) -> Result<shiliu_db::tasks::ledger::Report, DbError> {
    shiliu_db::tasks::ledger::submit(c, actor, plan, item, input, &[])
}

fn report(period: &str, text: &str) -> shiliu_domain::tasks::ReportInput {
    shiliu_domain::tasks::ReportInput {
        period: period.into(),
        progress: text.into(),
        figure: None,
    }
}

/// The plan's kept marks (one row per task and unit) say what its report rows say.
fn marks_match_the_reports(c: &mut DbConnection, plan: &Plan) {
    use diesel::prelude::*;
    use shiliu_db::schema::task_reports as r;
    type Row = (i64, i64, String, String, Option<i64>);
    let mut raw: Vec<Row> = r::table
        .filter(r::plan_id.eq(plan.id))
        .select((r::item_id, r::unit_id, r::period, r::status, r::figure))
        .load(c)
        .unwrap();
    let mut kept: Vec<Row> = shiliu_db::tasks::ledger::marks(c, plan)
        .unwrap()
        .iter()
        .flat_map(|m| {
            m.reported()
                .into_iter()
                .map(|x| {
                    (
                        m.item_id,
                        m.unit_id,
                        x.period.to_string(),
                        x.status.as_str().to_string(),
                        x.figure,
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    raw.sort();
    kept.sort();
    assert_eq!(kept, raw);
}

fn refusal(e: &DbError) -> &'static str {
    match e {
        DbError::Invalid(e) => e.0[0].reason,
        other => panic!("expected a refusal with a reason, got {other:?}"),
    }
}

both_engines!(
    a_lead_unit_returns_a_report_with_an_opinion_and_confirms_it_sent_again,
    |t: TestDb| {
        use shiliu_db::tasks::ledger;
        use shiliu_domain::tasks::{Progress, ReportStatus};
        t.db.write_blocking(|c| {
            let r = running(c)?;
            let (plan, task) = (r.plan.id, r.ledger_task);
            let sent = submit(c, &r.education, plan, task, &report("", "已建立台账"))?;
            assert_eq!(sent.status(), ReportStatus::Submitted);
            marks_match_the_reports(c, &r.plan);
            // The unit does not decide on its own report; sending back needs an opinion.
            let key = (plan, task, sent.id);
            assert!(matches!(
                ledger::review(c, &r.education, key, 1, true, None),
                Err(DbError::Forbidden)
            ));
            let bare = ledger::review(c, &r.commission, key, 1, false, Some(" ")).unwrap_err();
            assert_eq!(refusal(&bare), "err.tasks.opinion_required");
            let back = ledger::review(c, &r.commission, key, 1, false, Some("请补充照片"))?;
            assert_eq!(back.status(), ReportStatus::Returned);
            marks_match_the_reports(c, &r.plan);
            assert_eq!(ledger::returned_count(c, &r.education)?, 1);
            let p = tasks::get_plan(c, r.w.organiser.scope(), plan)?;
            let asked = ledger::asked(&p, &tasks::tree(c, &p)?.nodes[0].item);
            let today = shiliu_db::today();
            let progress = |c: &mut DbConnection| {
                ledger::ledger(c, &p, task).map(|l| l.progress(&asked, r.w.units[1], today))
            };
            assert_eq!(progress(c)?, Progress::Lagging);
            // Sent again: the same report, its history kept.
            let again = submit(
                c,
                &r.education,
                plan,
                task,
                &report("", "已建立台账，附照片"),
            )?;
            assert_eq!((again.id, again.version), (sent.id, 3));
            marks_match_the_reports(c, &r.plan);
            assert_eq!(ledger::returned_count(c, &r.education)?, 0);
            let ok = ledger::review(c, &r.commission, key, 3, true, None)?;
            assert_eq!(ok.status(), ReportStatus::Confirmed);
            marks_match_the_reports(c, &r.plan);
            assert_eq!(progress(c)?, Progress::Done);
            let l = ledger::ledger(c, &p, task)?;
            let actions: Vec<&str> = l.events[&sent.id]
                .iter()
                .map(|e| e.action.as_str())
                .collect();
            assert_eq!(actions, ["submitted", "returned", "submitted", "confirmed"]);
            assert_eq!(l.events[&sent.id][1].body, "请补充照片");
            // Confirmed is final for the period.
            let late = submit(c, &r.education, plan, task, &report("", "再报")).unwrap_err();
            assert_eq!(refusal(&late), "err.tasks.already_confirmed");
            // Deciding twice: the second finds it decided.
            let twice = ledger::review(c, &r.commission, key, 4, true, None).unwrap_err();
            assert_eq!(refusal(&twice), "err.tasks.not_waiting");
            // Another task's reports with figures, two periods: kept beside the first.
            for q in ["Q1", "Q2"] {
                let mut input = report(&format!("{}-{q}", r.year), "宣讲三场");
                input.figure = Some(3);
                submit(c, &r.publicity, plan, r.talks, &input)?;
            }
            marks_match_the_reports(c, &r.plan);
            assert!(audit::verify(c)?.is_intact());
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_lead_units_own_report_is_the_organisers_to_decide,
    |t: TestDb| {
        use shiliu_db::tasks::ledger;
        t.db.write_blocking(|c| {
            let r = running(c)?;
            let (plan, task) = (r.plan.id, r.ledger_task);
            let own = submit(c, &r.commission, plan, task, &report("", "牵头推进"))?;
            let key = (plan, task, own.id);
            assert!(matches!(
                ledger::review(c, &r.commission, key, 1, true, None),
                Err(DbError::Forbidden)
            ));
            // Another city's organiser does not reach it at all.
            assert!(matches!(
                ledger::review(c, &r.w.elsewhere, key, 1, true, None),
                Err(DbError::NotFound)
            ));
            // Named under another task of the plan: not found.
            assert!(matches!(
                ledger::review(c, &r.w.organiser, (plan, r.talks, own.id), 1, true, None),
                Err(DbError::NotFound)
            ));
            ledger::review(c, &r.w.organiser, key, 1, true, None)?;
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_unit_reports_only_on_what_it_is_handed_for_a_period_begun,
    |t: TestDb| {
        use shiliu_db::tasks::ledger;
        t.db.write_blocking(|c| {
            let r = running(c)?;
            let plan = r.plan.id;
            // 宣传部 is not handed 建立工作台账.
            assert!(matches!(
                submit(c, &r.publicity, plan, r.ledger_task, &report("", "越权")),
                Err(DbError::NotFound)
            ));
            // A quarter that has not begun.
            let future = format!("{}-Q4", r.year + 1);
            let e = submit(c, &r.publicity, plan, r.talks, &report(&future, "提前报")).unwrap_err();
            assert_eq!(refusal(&e), "err.tasks.period");
            // This quarter: yes.
            let open = ledger::asked(&r.plan, &tasks::tree(c, &r.plan)?.nodes[1].item)
                .open_periods(shiliu_db::today());
            let now = open.last().unwrap().code.clone();
            submit(
                c,
                &r.publicity,
                plan,
                r.talks,
                &report(&now, "开展宣讲 3 场"),
            )?;
            // A closed plan takes no report.
            tasks::set_status(c, &r.w.organiser, plan, 3, PlanStatus::Closed)?;
            let e = submit(c, &r.commission, plan, r.talks, &report(&now, "迟报")).unwrap_err();
            assert_eq!(refusal(&e), "err.tasks.not_in_force");
            Ok(())
        })
        .unwrap();
    }
);

// ---- Supervision and rectification (督查 · 整改) ----

fn inspection_input(
    r: &Running,
    units: &[i64],
) -> shiliu_domain::tasks::inspections::InspectionInput {
    use shiliu_domain::tasks::inspections::{InspectionFields, InspectionInput};
    let day = r.plan.starts_on.to_string();
    let units: Vec<String> = units.iter().map(ToString::to_string).collect();
    InspectionInput::parse(
        InspectionFields {
            title: "第一季度巡回督导",
            kind: "tour",
            team: "组长：张三；成员：李四",
            starts_on: &day,
            ends_on: &day,
            notes: "",
        },
        &units,
        (r.plan.starts_on, r.plan.ends_on),
    )
    .unwrap()
}

fn finding_input(
    unit: i64,
    problem: &str,
    due: chrono::NaiveDate,
) -> shiliu_domain::tasks::inspections::FindingInput {
    shiliu_domain::tasks::inspections::FindingInput {
        unit_id: unit,
        problem: problem.into(),
        measures: Some("限期整改".into()),
        due_on: due,
    }
}

both_engines!(
    a_finding_is_rectified_sent_back_rectified_again_and_closed,
    |t: TestDb| {
        use shiliu_db::tasks::inspections as insp;
        use shiliu_domain::tasks::inspections::FindingStatus;
        t.db.write_blocking(|c| {
            let r = running(c)?;
            let plan = r.plan.id;
            let i = insp::create(
                c,
                &r.w.organiser,
                plan,
                &inspection_input(&r, &r.w.units[..2]),
            )?;
            let due = r.plan.ends_on;
            let f = insp::add_finding(
                c,
                &r.w.organiser,
                (plan, i.id),
                &finding_input(r.w.units[1], "台账资料不全", due),
            )?;
            assert_eq!((f.seq, f.status()), (1, FindingStatus::Open));
            let today = shiliu_db::today();
            assert_eq!(insp::owed(c, &r.education, today)?.len(), 1);
            assert!(insp::owed(c, &r.commission, today)?.is_empty());
            // Another unit's reporter does not reach it.
            assert!(matches!(
                insp::report(c, &r.publicity, (plan, f.id), 1, "代报"),
                Err(DbError::NotFound)
            ));
            let sent = insp::report(c, &r.education, (plan, f.id), 1, "已补齐台账")?;
            assert_eq!(sent.status(), FindingStatus::Reported);
            assert_eq!(insp::to_verify(c, &r.w.organiser)?.len(), 1);
            assert!(insp::to_verify(c, &r.w.elsewhere)?.is_empty());
            assert!(insp::owed(c, &r.education, today)?.is_empty());
            let bare = insp::verify(c, &r.w.organiser, (plan, f.id), 2, false, None).unwrap_err();
            assert_eq!(refusal(&bare), "err.tasks.opinion_required");
            assert!(matches!(
                insp::verify(c, &r.w.elsewhere, (plan, f.id), 2, true, None),
                Err(DbError::NotFound)
            ));
            let back = insp::verify(
                c,
                &r.w.organiser,
                (plan, f.id),
                2,
                false,
                Some("缺少照片佐证"),
            )?;
            assert_eq!(back.status(), FindingStatus::Returned);
            assert_eq!(insp::owed(c, &r.education, today)?.len(), 1);
            // Deciding on what is not reported is refused.
            let early = insp::verify(c, &r.w.organiser, (plan, f.id), 3, true, None).unwrap_err();
            assert_eq!(refusal(&early), "err.tasks.finding_not_reported");
            // A stale version is refused, nothing written.
            assert!(matches!(
                insp::report(c, &r.education, (plan, f.id), 1, "旧页面"),
                Err(DbError::Stale)
            ));
            insp::report(c, &r.education, (plan, f.id), 3, "已补齐台账并附照片")?;
            let closed = insp::verify(c, &r.w.organiser, (plan, f.id), 4, true, None)?;
            assert_eq!(closed.status(), FindingStatus::Closed);
            assert!(closed.closed_at.is_some());
            let shut = insp::report(c, &r.education, (plan, f.id), 5, "再报").unwrap_err();
            assert_eq!(refusal(&shut), "err.tasks.finding_closed");
            let (_, events) = insp::finding(c, &r.plan, None, f.id)?;
            let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
            assert_eq!(
                actions,
                ["raised", "reported", "returned", "reported", "closed"]
            );
            assert_eq!(events[2].body, "缺少照片佐证");
            let figures = &insp::list(c, &r.plan, today)?[0].1;
            assert_eq!(
                (figures.total, figures.closed, figures.rate()),
                (1, 1, Some(1000))
            );
            assert!(audit::verify(c)?.is_intact());
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    an_inspection_visits_the_plans_own_units_and_a_finding_names_one_visited,
    |t: TestDb| {
        use shiliu_db::tasks::inspections as insp;
        t.db.write_blocking(|c| {
            let r = running(c)?;
            let plan = r.plan.id;
            let all = Scope::everything();
            let liuzhou = org::get_region_by_code(c, &all, "450200")?;
            let far = org::create_unit(
                c,
                &Actor::system("test"),
                liuzhou.id,
                &UnitInput::parse("柳州市民宗委", "department", "", "").unwrap(),
            )?;
            let e = insp::create(c, &r.w.organiser, plan, &inspection_input(&r, &[far.id]))
                .unwrap_err();
            assert_eq!(refusal(&e), "err.choice");
            // Another city's organiser does not reach the plan.
            assert!(matches!(
                insp::create(c, &r.w.elsewhere, plan, &inspection_input(&r, &r.w.units)),
                Err(DbError::NotFound)
            ));
            let i = insp::create(
                c,
                &r.w.organiser,
                plan,
                &inspection_input(&r, &r.w.units[..1]),
            )?;
            let e = insp::add_finding(
                c,
                &r.w.organiser,
                (plan, i.id),
                &finding_input(r.w.units[2], "未visited", r.plan.ends_on),
            )
            .unwrap_err();
            assert_eq!(refusal(&e), "err.tasks.finding_unit");
            // A draft plan is not inspected.
            let draft = tasks::create_plan(c, &r.w.organiser, r.w.city, &plan_input())?;
            let e = insp::create(
                c,
                &r.w.organiser,
                draft.id,
                &inspection_input(&r, &r.w.units),
            )
            .unwrap_err();
            assert_eq!(refusal(&e), "err.tasks.inspect_draft");
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_unit_with_a_finding_and_no_task_reaches_the_plan_for_its_findings_only,
    |t: TestDb| {
        use shiliu_db::tasks::inspections as insp;
        t.db.write_blocking(|c| {
            let r = running(c)?;
            let plan = r.plan.id;
            let all = Scope::everything();
            let county = org::get_region_by_code(c, &all, "450102")?;
            let school = org::create_unit(
                c,
                &Actor::system("test"),
                county.id,
                &UnitInput::parse("南宁市第一中学", "school", "", "").unwrap(),
            )?;
            let head = reporter(c, "school-reporter", school.id, r.w.city);
            assert!(matches!(
                tasks::plan_for_unit(c, &head, plan),
                Err(DbError::NotFound)
            ));
            let i = insp::create(
                c,
                &r.w.organiser,
                plan,
                &inspection_input(&r, &[school.id, r.w.units[1]]),
            )?;
            let mine = insp::add_finding(
                c,
                &r.w.organiser,
                (plan, i.id),
                &finding_input(school.id, "民族团结教育课时不足", r.plan.ends_on),
            )?;
            let theirs = insp::add_finding(
                c,
                &r.w.organiser,
                (plan, i.id),
                &finding_input(r.w.units[1], "台账不全", r.plan.ends_on),
            )?;
            let (p, unit) = tasks::plan_for_unit(c, &head, plan)?;
            assert_eq!(unit, school.id);
            assert!(tasks::tree(c, &p)?.of_unit(unit).nodes.is_empty());
            let today = shiliu_db::today();
            let seen = insp::listed(c, &p, Some(unit), today)?;
            assert_eq!(
                seen.iter().map(|l| l.finding.id).collect::<Vec<_>>(),
                [mine.id]
            );
            assert!(matches!(
                insp::finding(c, &p, Some(unit), theirs.id),
                Err(DbError::NotFound)
            ));
            insp::report(c, &head, (plan, mine.id), 1, "已增加课时")?;
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    overdue_findings_escalate_once_and_the_figures_equal_a_recount,
    |t: TestDb| {
        use shiliu_db::tasks::inspections as insp;
        use shiliu_domain::tasks::inspections::FindingStatus;
        t.db.write_blocking(|c| {
            let r = running(c)?;
            let plan = r.plan.id;
            let i = insp::create(c, &r.w.organiser, plan, &inspection_input(&r, &r.w.units))?;
            let start = r.plan.starts_on;
            let end = r.plan.ends_on;
            let mut ids = Vec::new();
            for (k, (unit, due)) in [
                (0, start),
                (1, start),
                (1, end),
                (2, start),
                (2, end),
                (0, end),
            ]
            .into_iter()
            .enumerate()
            {
                let f = insp::add_finding(
                    c,
                    &r.w.organiser,
                    (plan, i.id),
                    &finding_input(r.w.units[unit], &format!("问题{k}"), due),
                )?;
                ids.push(f.id);
            }
            // One closed before it fell due, one reported waiting.
            insp::report(c, &r.publicity, (plan, ids[4]), 1, "已整改")?;
            insp::verify(c, &r.w.organiser, (plan, ids[4]), 2, true, None)?;
            insp::report(c, &r.education, (plan, ids[1]), 1, "已整改")?;
            // A day on, the three due on the plan's first day and not closed are overdue.
            let later = shiliu_db::now() + chrono::Duration::days(1);
            let today = shiliu_domain::calendar::local(later).date();
            assert_eq!(insp::escalate_overdue(c, later)?, 3);
            assert_eq!(insp::escalate_overdue(c, later)?, 0, "once each");
            let raw = insp::of_plan(c, &r.plan)?;
            let escalated: Vec<i64> = raw
                .iter()
                .filter(|f| f.escalated_at.is_some())
                .map(|f| f.id)
                .collect();
            assert_eq!(escalated, [ids[0], ids[1], ids[3]]);
            // The figures, recounted by hand from the rows.
            let closed = raw.iter().filter(|f| f.status == "closed").count();
            let overdue = raw
                .iter()
                .filter(|f| f.status != "closed" && f.due_on < today)
                .count();
            let waiting = raw.iter().filter(|f| f.status == "reported").count();
            let figures = insp::list(c, &r.plan, today)?[0].1;
            assert_eq!(
                (
                    figures.total,
                    figures.closed,
                    figures.overdue,
                    figures.waiting
                ),
                (6, i64::try_from(closed).unwrap(), 3, 1)
            );
            assert_eq!(i64::try_from(overdue).unwrap(), figures.overdue);
            assert_eq!(i64::try_from(waiting).unwrap(), figures.waiting);
            assert_eq!(figures.rate(), Some(167));
            let (_, events) = insp::finding(c, &r.plan, None, ids[0])?;
            assert_eq!(events.last().unwrap().action, "escalated");
            assert_eq!(events.last().unwrap().actor_name, "system:deadlines");
            // The listed order: the overdue first, the closed last.
            let order: Vec<FindingStatus> = insp::listed(c, &r.plan, None, today)?
                .iter()
                .map(|l| l.finding.status())
                .collect();
            assert_eq!(order.last(), Some(&FindingStatus::Closed));
            assert!(audit::verify(c)?.is_intact());
            Ok(())
        })
        .unwrap();
    }
);

// ---- What was said and what is done about it (怎么说 · 怎么做) ----

fn instruction(items: &[i64]) -> shiliu_domain::tasks::instructions::InstructionInput {
    use shiliu_domain::tasks::instructions::{InstructionInput, InstructionSource};
    InstructionInput {
        source: InstructionSource::Speech,
        title: "在全市创建工作推进会上的讲话".into(),
        reference: None,
        issuer: Some("市委书记".into()),
        said_on: shiliu_db::today(),
        body: "要紧盯清单台账抓落实。".into(),
        items: items.to_vec(),
    }
}

both_engines!(
    an_instruction_shows_the_reports_carrying_it_out_and_a_task_its_instructions,
    |t: TestDb| {
        use shiliu_db::tasks::instructions as instr;
        t.db.write_blocking(|c| {
            let r = running(c)?;
            let plan = r.plan.id;
            let i = instr::create(c, &r.w.organiser, plan, &instruction(&[r.ledger_task]))?;
            let ledger = submit(
                c,
                &r.education,
                plan,
                r.ledger_task,
                &report("", "已建立台账"),
            )?;
            let quarter = format!("{}-Q1", r.year);
            let talk = submit(
                c,
                &r.publicity,
                plan,
                r.talks,
                &report(&quarter, "开展宣讲3场"),
            )?;
            let tree = tasks::tree(c, &r.plan)?;
            let (done, total) = instr::carried_out(c, (&r.plan, &tree), i.id, (0, 50))?;
            assert_eq!(
                done.iter().map(|d| d.report.id).collect::<Vec<_>>(),
                [ledger.id]
            );
            assert_eq!(total, 1);
            assert_eq!(done[0].unit_name, "南宁市教育局");
            let item = |id: i64| {
                tree.nodes
                    .iter()
                    .find(|n| n.item.id == id)
                    .unwrap()
                    .item
                    .clone()
            };
            assert_eq!(
                instr::of_item(c, &r.plan, &item(r.ledger_task))?
                    .iter()
                    .map(|x| x.id)
                    .collect::<Vec<_>>(),
                [i.id]
            );
            assert!(instr::of_item(c, &r.plan, &item(r.talks))?.is_empty());
            // Relinked to the talks: what was done about it follows.
            let moved = instr::relink(c, &r.w.organiser, (plan, i.id), 1, &[r.talks])?;
            assert_eq!(moved.version, 2);
            let (done, total) = instr::carried_out(c, (&r.plan, &tree), i.id, (0, 50))?;
            assert_eq!(
                done.iter().map(|d| d.report.id).collect::<Vec<_>>(),
                [talk.id]
            );
            assert_eq!(total, 1);
            // A page past the end is empty; the total stays.
            assert_eq!(
                instr::carried_out(c, (&r.plan, &tree), i.id, (1, 50))?,
                (Vec::new(), 1)
            );
            assert!(matches!(
                instr::relink(c, &r.w.organiser, (plan, i.id), 1, &[r.ledger_task]),
                Err(DbError::Stale)
            ));
            // Another plan's task, another city's organiser, a draft.
            let draft = tasks::create_plan(c, &r.w.organiser, r.w.city, &plan_input())?;
            let placed =
                tasks::replace_tree(c, &r.w.organiser, draft.id, 1, &good_sheet())?.unwrap();
            let foreign = placed.nodes[1].item.id;
            let e = instr::create(c, &r.w.organiser, plan, &instruction(&[foreign])).unwrap_err();
            assert_eq!(refusal(&e), "err.choice");
            let e =
                instr::create(c, &r.w.organiser, draft.id, &instruction(&[foreign])).unwrap_err();
            assert_eq!(refusal(&e), "err.tasks.instruct_draft");
            assert!(matches!(
                instr::create(c, &r.w.elsewhere, plan, &instruction(&[r.talks])),
                Err(DbError::NotFound)
            ));
            assert_eq!(instr::list(c, &r.plan)?.len(), 1);
            assert!(audit::verify(c)?.is_intact());
            Ok(())
        })
        .unwrap();
    }
);

// ---- Reminders (催报) and escalation (督办) on the working calendar ----

both_engines!(
    reports_coming_due_are_reminded_and_overdue_ones_escalated_once_each,
    |t: TestDb| {
        use shiliu_db::tasks::reminders;
        t.db.write_blocking(|c| {
            let r = running(c)?;
            let plan = r.plan.id;
            let next = r.year + 1;
            // 宣传部 reported this year's first quarter; nothing else is reported.
            let q1 = format!("{}-Q1", r.year);
            submit(c, &r.publicity, plan, r.talks, &report(&q1, "宣讲3场"))?;
            // Next year, a day before its first quarter ends: that quarter is due (both units
            // reminded), this year's four are overdue (both escalated, but for the one reported).
            let at = shiliu_domain::calendar::utc(
                chrono::NaiveDate::from_ymd_opt(next, 3, 30)
                    .unwrap()
                    .and_hms_opt(10, 0, 0)
                    .unwrap(),
            );
            let swept = reminders::sweep(c, at)?;
            assert_eq!((swept.reminded, swept.escalated), (2, 7));
            assert_eq!(
                reminders::sweep(c, at)?,
                reminders::Swept::default(),
                "once each"
            );
            let late = reminders::escalated(c, &r.w.organiser)?;
            assert_eq!(late.len(), 7);
            assert!(reminders::escalated(c, &r.w.elsewhere)?.is_empty());
            // Reported since: no longer among the escalated still owed.
            submit(c, &r.commission, plan, r.talks, &report(&q1, "配合宣讲"))?;
            assert_eq!(reminders::escalated(c, &r.w.organiser)?.len(), 6);
            let owed = reminders::of_unit(c, &r.commission)?;
            assert!(owed[&r.talks].iter().all(|x| x.period != q1));
            // By hand: again and again, counted; not for a period reported, not elsewhere.
            let key = (plan, r.talks, r.w.units[0]);
            let q2 = format!("{}-Q2", r.year);
            let open = shiliu_db::today() >= chrono::NaiveDate::from_ymd_opt(r.year, 4, 1).unwrap();
            if open {
                reminders::remind_now(c, &r.w.organiser, key, &q2)?;
                reminders::remind_now(c, &r.w.organiser, key, &q2)?;
                let rows = reminders::of_plan(c, &r.plan)?;
                let hand = rows[&(r.talks, r.w.units[0])]
                    .iter()
                    .find(|x| x.period == q2 && x.kind == reminders::REMIND)
                    .unwrap();
                assert_eq!((hand.times, hand.sender.as_str()), (2, "nanning"));
            }
            let e = reminders::remind_now(c, &r.w.organiser, key, &q1).unwrap_err();
            assert_eq!(refusal(&e), "err.tasks.not_owed");
            assert!(matches!(
                reminders::remind_now(c, &r.w.elsewhere, key, &q2),
                Err(DbError::NotFound)
            ));
            assert!(audit::verify(c)?.is_intact());
            Ok(())
        })
        .unwrap();
    }
);
