//! Performance evaluation schemes: building, locking, copying — on both engines.

use chrono::NaiveDateTime;
use shiliu_db::evaluation::access::{access, visible_schemes};
use shiliu_db::evaluation::{self as eval, Participant, results, scores, teams};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbConnection, DbError, audit, both_engines, org};
use shiliu_domain::accounts::Username;
use shiliu_domain::evaluation::{
    CriterionKind, IndicatorInput, Level, Points, Round, SchemeInput, ScoreInput, SheetRow, Stage,
    place_sheet,
};
use shiliu_domain::org::UnitInput;
use shiliu_domain::roles::Role;

fn scheme_input(year: i32) -> SchemeInput {
    SchemeInput::parse(
        &year.to_string(),
        &format!("{year}年度民族工作绩效考评"),
        "南宁市民族宗教事务委员会",
        "field_first",
        "5",
        "3",
        "",
    )
    .unwrap()
}

fn sheet() -> Vec<shiliu_domain::evaluation::PlacedIndicator> {
    let rows = [
        ("1", "组织领导", "20", ""),
        ("1.1", "领导机制", "", ""),
        ("1.1.1", "成立领导小组并定期研究", "8", ""),
        ("1.1.2", "年度工作部署", "12", ""),
        ("2", "服务管理", "", ""),
        ("2.1", "流动人口服务", "", ""),
        ("2.1.1", "建立服务台账", "30", ""),
        ("3", "加分与扣分", "", ""),
        ("3.1", "创建成效", "", ""),
        ("3.1.1", "获评自治区级示范单位", "3", "加分"),
        ("3.1.2", "发生涉民族因素负面事件", "5", "扣分"),
    ];
    let rows: Vec<(usize, SheetRow)> = rows
        .iter()
        .enumerate()
        .map(|(i, (code, name, points, kind))| {
            (
                i + 2,
                SheetRow {
                    code: (*code).into(),
                    name: (*name).into(),
                    points: (*points).into(),
                    kind: (*kind).into(),
                    guidance: "查看台账资料".into(),
                    evidence: String::new(),
                },
            )
        })
        .collect();
    place_sheet(&rows).unwrap()
}

/// A deadline as the forms give it (`Some`, since the arrays hold optional ones).
#[allow(clippy::unnecessary_wraps)]
fn at(s: &str) -> Option<NaiveDateTime> {
    Some(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
}

struct World {
    organiser: Actor,
    elsewhere: Actor,
    city: i64,
    units: Vec<i64>,
    outside_unit: i64,
}

fn world(c: &mut DbConnection) -> Result<World, DbError> {
    let sys = Actor::system("test");
    let all = Scope::everything();
    let city = org::get_region_by_code(c, &all, "450100")?;
    let county = org::get_region_by_code(c, &all, "450102")?;
    let liuzhou = org::get_region_by_code(c, &all, "450200")?;
    let mut units = Vec::new();
    for (name, cat) in [
        ("兴宁区民族宗教事务局", "county_district"),
        ("南宁市教育局", "department"),
        ("南宁市人力资源和社会保障局", "department"),
    ] {
        let u = org::create_unit(
            c,
            &sys,
            county.id,
            &UnitInput::parse(name, cat, "", "").unwrap(),
        )?;
        units.push(u.id);
    }
    let outside = org::create_unit(
        c,
        &sys,
        liuzhou.id,
        &UnitInput::parse("柳州市教育局", "department", "", "").unwrap(),
    )?;
    let staff = |name: &str, path: &str| {
        Actor::system_within(name, Scope::subtrees(vec![path.to_string()]))
    };
    Ok(World {
        organiser: staff("nanning", &city.path),
        elsewhere: staff("liuzhou", &liuzhou.path),
        city: city.id,
        units,
        outside_unit: outside.id,
    })
}

fn reason(e: DbError) -> &'static str {
    match e {
        DbError::Invalid(e) => e.0[0].reason,
        other => panic!("expected a refusal with a reason, got {other:?}"),
    }
}

both_engines!(a_scheme_is_built_locked_and_copied, |t: TestDb| {
    t.db.write_blocking(|c| {
        let w = world(c)?;
        let me = &w.organiser;
        let s = eval::create_scheme(c, me, w.city, &scheme_input(2026))?;
        assert_eq!((s.stage(), s.version), (Stage::Draft, 1));
        assert_eq!(s.bonus_cap(), Some(Points(500)));
        // Categories and units; a unit outside the organiser's region, or twice, is refused.
        let counties = eval::add_category(c, me, s.id, 1, "县（市、区）")?;
        let depts = eval::add_category(c, me, s.id, 2, "市直部门")?;
        assert_eq!(
            reason(eval::add_category(c, me, s.id, 3, "市直部门").unwrap_err()),
            "err.eval.category_taken"
        );
        let p = |unit_id, category_id, key_unit| Participant {
            scheme_id: s.id,
            unit_id,
            category_id,
            key_unit,
        };
        eval::add_participant(c, me, s.id, 3, &p(w.units[0], counties.id, true))?;
        eval::add_participant(c, me, s.id, 4, &p(w.units[1], depts.id, false))?;
        eval::add_participant(c, me, s.id, 5, &p(w.units[2], depts.id, true))?;
        assert_eq!(
            reason(
                eval::add_participant(c, me, s.id, 6, &p(w.outside_unit, depts.id, false))
                    .unwrap_err()
            ),
            "err.eval.unit_outside"
        );
        assert_eq!(
            reason(
                eval::add_participant(c, me, s.id, 6, &p(w.units[1], counties.id, false))
                    .unwrap_err()
            ),
            "err.eval.unit_taken"
        );
        assert!(
            matches!(
                eval::add_participant(c, me, s.id, 3, &p(w.units[1], counties.id, false)),
                Err(DbError::Stale)
            ),
            "an old version is stale"
        );
        let units = eval::participants(c, &s)?;
        assert_eq!(units.len(), 3);
        assert_eq!(
            units[0].unit_name, "兴宁区民族宗教事务局",
            "by category, then name"
        );

        // The tree from a sheet: maxima summed up the tree.
        let tree = eval::replace_tree(c, me, s.id, 6, &sheet())?;
        let max = |code: &str| tree.nodes.iter().find(|(i, _)| i.code == code).unwrap().1;
        assert_eq!(
            (max("1"), max("1.1"), max("2"), max("3")),
            (Points(2000), Points(2000), Points(3000), Points(800))
        );
        assert_eq!(tree.standard_max(), Points(5000));
        assert_eq!(tree.criteria().count(), 5);
        let codes: Vec<&str> = tree.nodes.iter().map(|(i, _)| i.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "1", "1.1", "1.1.1", "1.1.2", "2", "2.1", "2.1.1", "3", "3.1", "3.1.1", "3.1.2"
            ]
        );
        // One more criterion by form, under item 2.1; a taken code and a fourth level are refused.
        let item = tree
            .nodes
            .iter()
            .find(|(i, _)| i.code == "2.1")
            .unwrap()
            .0
            .id;
        let crit = IndicatorInput::parse(
            Level::Criterion,
            "2.1.2",
            "开展就业帮扶",
            "20",
            "",
            "",
            "就业台账",
        )
        .unwrap();
        let added = eval::add_indicator(c, me, s.id, 7, Some(item), &crit)?;
        assert_eq!((added.level(), added.sort), (Level::Criterion, 1));
        assert_eq!(
            reason(eval::add_indicator(c, me, s.id, 8, Some(item), &crit).unwrap_err()),
            "err.eval.code_taken"
        );
        let deeper = IndicatorInput {
            code: "2.1.2.1".into(),
            ..crit.clone()
        };
        assert_eq!(
            reason(eval::add_indicator(c, me, s.id, 8, Some(added.id), &deeper).unwrap_err()),
            "err.choice"
        );
        assert_eq!(
            reason(eval::delete_indicator(c, me, s.id, 8, item).unwrap_err()),
            "err.eval.has_children"
        );
        let tree = eval::tree(c, &s)?;
        assert_eq!(tree.standard_max(), Points(7000));
        // Departments' area 1 counts for 30 points.
        let area1 = tree.areas().find(|(a, _)| a.code == "1").unwrap().0.id;
        eval::set_weights(c, me, s.id, 8, depts.id, &[(area1, Some(Points(3000)))])?;
        assert_eq!(
            reason(
                eval::set_weights(c, me, s.id, 9, depts.id, &[(item, Some(Points(1)))])
                    .unwrap_err()
            ),
            "err.choice"
        );
        assert_eq!(eval::weights(c, &s)?, [(depts.id, area1, Points(3000))]);
        let scored = tree.scored();
        let bonus = scored
            .iter()
            .find(|x| x.kind == CriterionKind::Bonus)
            .unwrap();
        assert_eq!(
            bonus.area,
            tree.areas().find(|(a, _)| a.code == "3").unwrap().0.id
        );

        // Leaving the draft needs the first deadline; deadlines run in order.
        assert_eq!(
            reason(eval::advance(c, me, s.id, 9).unwrap_err()),
            "err.eval.deadline_missing"
        );
        assert_eq!(
            reason(
                eval::set_deadlines(
                    c,
                    me,
                    s.id,
                    9,
                    [at("2026-03-31 17:00"), at("2026-03-01 17:00"), None, None]
                )
                .unwrap_err()
            ),
            "err.eval.deadline_order"
        );
        eval::set_deadlines(
            c,
            me,
            s.id,
            9,
            [
                at("2026-03-31 17:00"),
                at("2026-04-30 17:00"),
                at("2026-05-31 17:00"),
                at("2026-06-15 17:00"),
            ],
        )?;
        let s2 = eval::advance(c, me, s.id, 10)?;
        assert_eq!((s2.stage(), s2.version), (Stage::SelfAssessment, 11));
        // Published to the units: the structure is locked, and a closed stage keeps its deadline.
        assert_eq!(
            reason(eval::add_category(c, me, s.id, 11, "学校").unwrap_err()),
            "err.eval.structure_locked"
        );
        assert_eq!(
            reason(eval::delete_indicator(c, me, s.id, 11, added.id).unwrap_err()),
            "err.eval.structure_locked"
        );
        assert_eq!(
            reason(eval::replace_tree(c, me, s.id, 11, &sheet()).unwrap_err()),
            "err.eval.structure_locked"
        );
        let later = [
            at("2026-04-07 17:00"),
            at("2026-04-30 17:00"),
            at("2026-05-31 17:00"),
            at("2026-06-15 17:00"),
        ];
        let s3 = eval::set_deadlines(c, me, s.id, 11, later)?;
        assert_eq!(
            s3.self_due, later[0],
            "the current stage's deadline may be extended"
        );
        let s4 = eval::advance(c, me, s.id, 12)?;
        assert_eq!(s4.stage(), Stage::FirstReview);
        let moved = [at("2026-04-08 17:00"), later[1], later[2], later[3]];
        assert_eq!(
            reason(eval::set_deadlines(c, me, s.id, 13, moved).unwrap_err()),
            "err.eval.stage_closed"
        );

        // Another city's staff do not see it.
        assert!(matches!(
            eval::get_scheme(c, w.elsewhere.scope(), s.id),
            Err(DbError::NotFound)
        ));
        assert!(eval::schemes(c, w.elsewhere.scope())?.is_empty());
        assert_eq!(eval::schemes(c, me.scope())?.len(), 1);

        // Next year's starts as a copy: a draft with the same units, tree and weights.
        let next = eval::copy_scheme(c, me, s.id, 2027, "2027年度民族工作绩效考评")?;
        assert_eq!(
            (next.stage(), next.year, next.copied_from),
            (Stage::Draft, 2027, Some(s.id))
        );
        assert_eq!(next.self_due, None);
        let copied = eval::tree(c, &next)?;
        let codes_then: Vec<(String, Points)> = tree
            .nodes
            .iter()
            .map(|(i, p)| (i.code.clone(), *p))
            .collect();
        let codes_now: Vec<(String, Points)> = copied
            .nodes
            .iter()
            .map(|(i, p)| (i.code.clone(), *p))
            .collect();
        assert_eq!(codes_now, codes_then);
        assert!(
            copied
                .nodes
                .iter()
                .all(|(i, _)| tree.nodes.iter().all(|(o, _)| o.id != i.id)),
            "new ids"
        );
        let units_now: Vec<String> = eval::participants(c, &next)?
            .into_iter()
            .map(|p| p.unit_name)
            .collect();
        assert_eq!(units_now.len(), 3);
        let w_now = eval::weights(c, &next)?;
        let new_area1 = copied.areas().find(|(a, _)| a.code == "1").unwrap().0.id;
        let new_depts = eval::categories(c, &next)?
            .into_iter()
            .find(|k| k.name == "市直部门")
            .unwrap()
            .id;
        assert_eq!(w_now, [(new_depts, new_area1, Points(3000))]);

        // Every change is in the audit log.
        let rows = audit::list(
            c,
            &audit::AuditFilter {
                action: Some("evaluation.".into()),
                ..Default::default()
            },
            100,
        )?;
        let actions: std::collections::BTreeSet<String> =
            rows.into_iter().map(|r| r.action).collect();
        for a in [
            "evaluation.create",
            "evaluation.category_add",
            "evaluation.unit_add",
            "evaluation.indicators_import",
            "evaluation.indicator_add",
            "evaluation.weights",
            "evaluation.deadlines",
            "evaluation.advance",
            "evaluation.copy",
        ] {
            assert!(actions.contains(a), "{a} audited: {actions:?}");
        }
        Ok(())
    })
    .unwrap();
});

both_engines!(a_failed_import_leaves_the_tree_as_it_was, |t: TestDb| {
    let (me, id) =
        t.db.write_blocking(|c| {
            let w = world(c)?;
            let s = eval::create_scheme(c, &w.organiser, w.city, &scheme_input(2026))?;
            eval::replace_tree(c, &w.organiser, s.id, 1, &sheet())?;
            Ok((w.organiser, s.id))
        })
        .unwrap();
    // A second import whose write fails halfway (a code twice, which the sheet check would
    // have caught) rolls back whole: the first tree and the version stay.
    let mut twice = sheet();
    twice.push(twice[2].clone());
    let writer = me.clone();
    let result =
        t.db.write_blocking(move |c| eval::replace_tree(c, &writer, id, 2, &twice));
    assert!(result.is_err());
    t.db.write_blocking(move |c| {
        let s = eval::get_scheme(c, me.scope(), id)?;
        assert_eq!(eval::tree(c, &s)?.nodes.len(), 11);
        assert_eq!(s.version, 2);
        Ok(())
    })
    .unwrap();
});

fn user(
    c: &mut DbConnection,
    name: &str,
    role: Role,
    region: i64,
    unit: Option<i64>,
) -> Result<Actor, DbError> {
    let u = shiliu_db::accounts::create_user(
        c,
        &shiliu_db::scope::Can::check(&Actor::system("test")).unwrap(),
        &shiliu_db::accounts::NewUser {
            username: Username::parse(name).unwrap(),
            display_name: name.into(),
            password_hash: "x".into(),
            role,
            region_id: region,
            unit_id: unit,
            site_id: None,
            phone: None,
            grid_ids: vec![],
        },
    )?;
    shiliu_db::accounts::acting_as(c, &u, "test")
}

fn claim(code: &str, points: &str, note: &str, max: Points) -> ScoreInput {
    ScoreInput::parse(code, points, note, max).unwrap()
}

both_engines!(
    units_self_assess_and_reviewers_score_their_units,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let w = world(c)?;
            let me = &w.organiser;
            let s = eval::create_scheme(c, me, w.city, &scheme_input(2026))?;
            let cat = eval::add_category(c, me, s.id, 1, "市直部门")?;
            for (i, unit) in w.units.iter().enumerate() {
                let p = Participant {
                    scheme_id: s.id,
                    unit_id: *unit,
                    category_id: cat.id,
                    key_unit: i == 0,
                };
                eval::add_participant(c, me, s.id, 2 + i32::try_from(i).unwrap(), &p)?;
            }
            let tree = eval::replace_tree(c, me, s.id, 5, &sheet())?;
            let crit: Vec<(i64, String, Points)> = tree
                .criteria()
                .map(|x| (x.id, x.code.clone(), x.max()))
                .collect();
            let soon = shiliu_db::now() + chrono::Duration::days(10);
            let later = soon + chrono::Duration::days(10);
            eval::set_deadlines(
                c,
                me,
                s.id,
                6,
                [
                    Some(soon),
                    Some(later),
                    Some(later + chrono::Duration::days(5)),
                    None,
                ],
            )?;
            let reporter = user(
                c,
                "reporter-a",
                Role::UnitReporter,
                w.city,
                Some(w.units[0]),
            )?;
            let other = user(
                c,
                "reporter-b",
                Role::UnitReporter,
                w.city,
                Some(w.units[1]),
            )?;
            let reviewer = user(c, "reviewer-1", Role::Evaluator, w.city, None)?;
            // In draft nobody but the organiser has a way in.
            assert!(matches!(access(c, &reporter, s.id), Err(DbError::NotFound)));
            assert!(visible_schemes(c, &reporter)?.is_empty());
            let s = eval::advance(c, me, s.id, 7)?;
            assert_eq!(s.stage(), Stage::SelfAssessment);
            assert_eq!(visible_schemes(c, &reporter)?.len(), 1);

            // The reporter claims scores for their own unit only, within each maximum.
            let a = access(c, &reporter, s.id)?;
            assert_eq!((a.organiser, a.own_unit), (false, Some(w.units[0])));
            assert!(!a.may_view_unit(w.units[1]));
            let entries = vec![
                (
                    crit[0].0,
                    claim(&crit[0].1, "4", "已成立领导小组", crit[0].2),
                ),
                (crit[1].0, claim(&crit[1].1, "", "草稿", crit[1].2)),
            ];
            assert_eq!(
                scores::save(
                    c,
                    &reporter,
                    &a,
                    w.units[0],
                    Round::SelfAssessment,
                    &entries
                )?,
                2
            );
            assert!(matches!(
                scores::save(
                    c,
                    &reporter,
                    &a,
                    w.units[1],
                    Round::SelfAssessment,
                    &entries
                ),
                Err(DbError::NotFound)
            ));
            let too_much = vec![(
                crit[0].0,
                ScoreInput {
                    points: Some(Points(900)),
                    note: None,
                },
            )];
            assert_eq!(
                reason(
                    scores::save(
                        c,
                        &reporter,
                        &a,
                        w.units[0],
                        Round::SelfAssessment,
                        &too_much
                    )
                    .unwrap_err()
                ),
                "err.eval.above_max"
            );
            // Submitting needs every criterion claimed, and names those left.
            let e = scores::submit(c, &reporter, &a, w.units[0]).unwrap_err();
            let DbError::Invalid(e) = e else { panic!() };
            assert_eq!(
                (e.0[0].reason, e.0[0].args[0].1.as_str()),
                ("err.eval.unscored", "1.1.2、2.1.1、3.1.1、3.1.2")
            );
            let rest: Vec<(i64, ScoreInput)> = crit[1..]
                .iter()
                .map(|(id, code, max)| (*id, claim(code, "3", "", *max)))
                .collect();
            scores::save(c, &reporter, &a, w.units[0], Round::SelfAssessment, &rest)?;
            let pdf = shiliu_domain::files::FileInput::parse(
                "files",
                "台账.pdf",
                b"%PDF-1.4 ledger".to_vec(),
                shiliu_domain::files::EVIDENCE_FILES,
            )
            .unwrap();
            scores::attach(
                c,
                &reporter,
                &a,
                w.units[0],
                Round::SelfAssessment,
                crit[0].0,
                &[pdf],
            )?;
            scores::submit(c, &reporter, &a, w.units[0])?;
            assert_eq!(
                reason(
                    scores::save(
                        c,
                        &reporter,
                        &a,
                        w.units[0],
                        Round::SelfAssessment,
                        &entries
                    )
                    .unwrap_err()
                ),
                "err.eval.submitted"
            );
            let claimed = scores::scores(c, s.id, w.units[0], Round::SelfAssessment)?;
            assert_eq!(claimed[&crit[0].0].points(), Some(Points(400)));
            assert_eq!(claimed[&crit[0].0].note.as_deref(), Some("已成立领导小组"));
            // The other unit's reporter sees neither the unit nor its files.
            let b = access(c, &other, s.id)?;
            assert!(matches!(
                scores::evidence(c, &b, w.units[0]),
                Err(DbError::NotFound)
            ));
            let files = scores::evidence(c, &a, w.units[0])?;
            assert!(matches!(
                scores::evidence_file(c, &b, files[0].id),
                Err(DbError::NotFound)
            ));
            assert_eq!(
                scores::evidence_file(c, &a, files[0].id)?.1,
                b"%PDF-1.4 ledger"
            );

            // A first-round team reviews every unit; a field team, the key unit.
            let first = teams::create_team(c, me, s.id, Round::First, "第一考评组")?;
            let field = teams::create_team(c, me, s.id, Round::Field, "实地考核一组")?;
            teams::add_member(c, me, s.id, first.id, "reviewer-1")?;
            teams::add_member(c, me, s.id, field.id, "reviewer-1")?;
            assert_eq!(
                reason(teams::add_member(c, me, s.id, first.id, "reporter-b").unwrap_err()),
                "err.eval.not_reviewer"
            );
            assert_eq!(
                reason(teams::add_member(c, me, s.id, first.id, "nobody").unwrap_err()),
                "err.eval.no_reviewer"
            );
            let tv = teams::teams(c, &s)?;
            assert_eq!(
                tv.iter().map(|x| x.units.len()).collect::<Vec<_>>(),
                [1, 3],
                "field: the key unit; first: all"
            );
            // Not yet their stage: refused with the reason.
            let r = access(c, &reviewer, s.id)?;
            assert!(
                r.may_score(Round::First, w.units[2]) && !r.may_score(Round::Field, w.units[2])
            );
            let opinion = vec![(
                crit[0].0,
                claim(&crit[0].1, "3.5", "领导小组会议记录不全", crit[0].2),
            )];
            assert_eq!(
                reason(
                    scores::save(c, &reviewer, &r, w.units[0], Round::First, &opinion).unwrap_err()
                ),
                "err.eval.round_not_open"
            );
            let s = eval::advance(c, me, s.id, s.version)?;
            let r = access(c, &reviewer, s.id)?;
            scores::save(c, &reviewer, &r, w.units[0], Round::First, &opinion)?;
            // Until feedback the unit does not see the verified scores; the reviewer does.
            let a = access(c, &reporter, s.id)?;
            assert!(!a.sees_verified(w.units[0]) && r.sees_verified(w.units[0]));
            // The change is audited with before and after.
            let rows = audit::list(
                c,
                &audit::AuditFilter {
                    action: Some("evaluation.score".into()),
                    ..Default::default()
                },
                10,
            )?;
            let detail = rows[0].detail.clone();
            assert!(
                detail.contains("\"before\":null") && detail.contains("\"after\":350"),
                "{detail}"
            );
            // Past the deadline nothing more is taken.
            let s2 = eval::create_scheme(c, me, w.city, &scheme_input(2025))?;
            let cat2 = eval::add_category(c, me, s2.id, 1, "市直部门")?;
            eval::add_participant(
                c,
                me,
                s2.id,
                2,
                &Participant {
                    scheme_id: s2.id,
                    unit_id: w.units[0],
                    category_id: cat2.id,
                    key_unit: false,
                },
            )?;
            eval::replace_tree(c, me, s2.id, 3, &sheet())?;
            let past = shiliu_db::now() - chrono::Duration::hours(1);
            eval::set_deadlines(c, me, s2.id, 4, [Some(past), None, None, None])?;
            eval::advance(c, me, s2.id, 5)?;
            let a2 = access(c, &reporter, s2.id)?;
            let first = eval::tree(c, &s2)?.criteria().next().unwrap().clone();
            let late = vec![(first.id, claim(&first.code, "1", "", first.max()))];
            assert_eq!(
                reason(
                    scores::save(c, &reporter, &a2, w.units[0], Round::SelfAssessment, &late)
                        .unwrap_err()
                ),
                "err.eval.late"
            );
            assert_eq!(
                reason(scores::submit(c, &reporter, &a2, w.units[0]).unwrap_err()),
                "err.eval.late"
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    scores_are_merged_objected_ranked_published_and_corrected,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let w = world(c)?;
            let me = &w.organiser;
            let input = SchemeInput::parse(
                "2026",
                "2026年度考评",
                "南宁市民宗委",
                "field_first",
                "5",
                "3",
                "优秀 50, 良好 45, 合格 0",
            )
            .unwrap();
            let s = eval::create_scheme(c, me, w.city, &input)?;
            let cat = eval::add_category(c, me, s.id, 1, "市直部门")?;
            for (i, unit) in w.units.iter().enumerate() {
                let p = Participant {
                    scheme_id: s.id,
                    unit_id: *unit,
                    category_id: cat.id,
                    key_unit: i == 0,
                };
                eval::add_participant(c, me, s.id, 2 + i32::try_from(i).unwrap(), &p)?;
            }
            let tree = eval::replace_tree(c, me, s.id, 5, &sheet())?;
            let id = |code: &str| {
                tree.nodes
                    .iter()
                    .find(|(i, _)| i.code == code)
                    .unwrap()
                    .0
                    .clone()
            };
            let due = shiliu_db::now() + chrono::Duration::days(30);
            eval::set_deadlines(c, me, s.id, 6, [Some(due), Some(due), Some(due), Some(due)])
                .unwrap_err();
            let d = |n| Some(due + chrono::Duration::days(n));
            let s = eval::set_deadlines(c, me, s.id, 6, [d(0), d(1), d(2), d(3)])?;
            let s = eval::advance(c, me, s.id, s.version)?; // self-assessment
            let s = eval::advance(c, me, s.id, s.version)?; // first review
            let a = access(c, me, s.id)?;
            let score = |c: &mut DbConnection,
                         a: &shiliu_db::evaluation::access::Access,
                         unit: i64,
                         round: Round,
                         pts: &[(&str, &str)]| {
                let entries: Vec<(i64, ScoreInput)> = pts
                    .iter()
                    .map(|(code, p)| {
                        let x = id(code);
                        (x.id, claim(code, p, "核验意见", x.max()))
                    })
                    .collect();
                scores::save(c, me, a, unit, round, &entries)
            };
            score(
                c,
                &a,
                w.units[0],
                Round::First,
                &[
                    ("1.1.1", "8"),
                    ("1.1.2", "10"),
                    ("2.1.1", "20"),
                    ("3.1.1", "3"),
                ],
            )?;
            score(
                c,
                &a,
                w.units[1],
                Round::First,
                &[
                    ("1.1.1", "8"),
                    ("1.1.2", "12"),
                    ("2.1.1", "25"),
                    ("3.1.2", "2"),
                ],
            )?;
            score(
                c,
                &a,
                w.units[2],
                Round::First,
                &[
                    ("1.1.1", "6"),
                    ("1.1.2", "12"),
                    ("2.1.1", "30"),
                    ("3.1.1", "3"),
                ],
            )?;
            let s = eval::advance(c, me, s.id, s.version)?; // field review
            let a = access(c, me, s.id)?;
            score(
                c,
                &a,
                w.units[0],
                Round::Field,
                &[("2.1.1", "25"), ("1.1.1", "8")],
            )?;
            // Differences are listed where both rounds scored differently.
            assert_eq!(
                results::differences(c, s.id)?,
                [(w.units[0], id("2.1.1").id, Points(2000), Points(2500))]
            );
            let s = eval::advance(c, me, s.id, s.version)?; // feedback
            // The unit objects to 2.1.1, asking for 30 with a reason; a score without one is refused.
            let reporter = user(
                c,
                "reporter-a",
                Role::UnitReporter,
                w.city,
                Some(w.units[0]),
            )?;
            let ra = access(c, &reporter, s.id)?;
            assert!(
                ra.sees_verified(w.units[0]),
                "from feedback on, the unit sees its verified scores"
            );
            let x = id("2.1.1");
            let bare = vec![(
                x.id,
                ScoreInput {
                    points: Some(Points(3000)),
                    note: None,
                },
            )];
            assert_eq!(
                reason(
                    scores::save(c, &reporter, &ra, w.units[0], Round::Objection, &bare)
                        .unwrap_err()
                ),
                "err.eval.reason_required"
            );
            scores::save(
                c,
                &reporter,
                &ra,
                w.units[0],
                Round::Objection,
                &[(x.id, claim("2.1.1", "30", "已补充服务台账", x.max()))],
            )?;
            assert_eq!(results::pending_objections(c, s.id)?, [(w.units[0], x.id)]);
            let s = eval::advance(c, me, s.id, s.version)?; // final
            assert_eq!(
                reason(eval::advance(c, me, s.id, s.version).unwrap_err()),
                "err.eval.objections_pending"
            );
            let a = access(c, me, s.id)?;
            assert_eq!(
                reason(
                    results::decide(
                        c,
                        me,
                        &a,
                        w.units[0],
                        x.id,
                        true,
                        Some(Points(3100)),
                        "部分采纳"
                    )
                    .unwrap_err()
                ),
                "err.eval.above_max"
            );
            assert_eq!(
                reason(
                    results::decide(c, me, &a, w.units[1], x.id, false, None, "无异议")
                        .unwrap_err()
                ),
                "err.eval.no_objection"
            );
            results::decide(
                c,
                me,
                &a,
                w.units[0],
                x.id,
                true,
                Some(Points(2800)),
                "台账补充后部分采纳",
            )?;
            // Preview: field-first merge, the decision over it, caps; ranks and grades.
            let r = results::results(c, &s)?;
            let got: Vec<(i64, Points, usize, String, bool)> = r
                .iter()
                .map(|x| {
                    (
                        x.unit_id,
                        x.total.total,
                        x.rank,
                        x.grade.clone(),
                        x.commended,
                    )
                })
                .collect();
            assert_eq!(
                got,
                [
                    (w.units[2], Points(5100), 1, "优秀".into(), true),
                    (w.units[0], Points(4900), 2, "良好".into(), false),
                    (w.units[1], Points(4300), 3, "合格".into(), false),
                ]
            );
            let s = eval::advance(c, me, s.id, s.version)?;
            assert_eq!(s.stage(), Stage::Published);
            assert!(s.published_at.is_some());
            // After publication: a correction keeps the old value; ranks move.
            let a = access(c, me, s.id)?;
            assert_eq!(
                reason(
                    scores::save(
                        c,
                        me,
                        &a,
                        w.units[0],
                        Round::Field,
                        &[(x.id, claim("2.1.1", "1", "", x.max()))]
                    )
                    .unwrap_err()
                ),
                "err.eval.round_not_open"
            );
            let fix = results::correct(
                c,
                me,
                &a,
                w.units[0],
                x.id,
                Points(2000),
                "复核发现台账不实",
            )?;
            assert_eq!((fix.before_points, fix.after_points), (2800, 2000));
            let r = results::results(c, &s)?;
            let got: Vec<(i64, usize)> = r.iter().map(|x| (x.unit_id, x.rank)).collect();
            assert_eq!(got, [(w.units[2], 1), (w.units[1], 2), (w.units[0], 3)]);
            assert_eq!(results::corrections(c, s.id)?.len(), 1);
            // Everyone taking part sees the published results; the unit sees its own sheet.
            let other = user(
                c,
                "reporter-b",
                Role::UnitReporter,
                w.city,
                Some(w.units[1]),
            )?;
            assert!(access(c, &other, s.id)?.sees_verified(w.units[1]));
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    what_is_left_is_reminded_before_each_deadline,
    |t: TestDb| {
        use shiliu_db::evaluation::reminders::{self, Owner, Who};
        t.db.write_blocking(|c| {
            let w = world(c)?;
            let me = &w.organiser;
            let s = eval::create_scheme(c, me, w.city, &scheme_input(2026))?;
            let cat = eval::add_category(c, me, s.id, 1, "市直部门")?;
            for (i, unit) in w.units.iter().enumerate() {
                let p = Participant {
                    scheme_id: s.id,
                    unit_id: *unit,
                    category_id: cat.id,
                    key_unit: i == 0,
                };
                eval::add_participant(c, me, s.id, 2 + i32::try_from(i).unwrap(), &p)?;
            }
            let tree = eval::replace_tree(c, me, s.id, 5, &sheet())?;
            let crit: Vec<(i64, String, Points)> = tree
                .criteria()
                .map(|x| (x.id, x.code.clone(), x.max()))
                .collect();
            let n = i64::try_from(crit.len()).unwrap();
            let now = shiliu_db::now();
            let self_due = now + chrono::Duration::days(2);
            let first_due = now + chrono::Duration::days(10);
            eval::set_deadlines(
                c,
                me,
                s.id,
                6,
                [
                    Some(self_due),
                    Some(first_due),
                    Some(first_due + chrono::Duration::days(5)),
                    Some(first_due + chrono::Duration::days(10)),
                ],
            )?;
            let reporter = user(
                c,
                "reporter-a",
                Role::UnitReporter,
                w.city,
                Some(w.units[0]),
            )?;
            let reviewer = user(c, "reviewer-1", Role::Evaluator, w.city, None)?;
            let draft = eval::get_scheme(c, &Scope::everything(), s.id)?;
            assert!(
                reminders::owed(c, &draft, Who::Everyone)?.is_empty(),
                "a draft owes nothing"
            );
            let s = eval::advance(c, me, s.id, 7)?;

            // Every unit owes its whole self-assessment; a draft of two criteria leaves the rest.
            let mut owed: Vec<(Owner, i64)> = reminders::owed(c, &s, Who::Everyone)?
                .iter()
                .map(|o| (o.owner, o.criteria_left()))
                .collect();
            owed.sort_unstable();
            let mut expected: Vec<(Owner, i64)> =
                w.units.iter().map(|u| (Owner::Unit(*u), n)).collect();
            expected.sort_unstable();
            assert_eq!(owed, expected);
            let a = access(c, &reporter, s.id)?;
            let two: Vec<(i64, ScoreInput)> = crit[..2]
                .iter()
                .map(|(id, code, max)| (*id, claim(code, "1", "", *max)))
                .collect();
            scores::save(c, &reporter, &a, w.units[0], Round::SelfAssessment, &two)?;
            let todo = reminders::todo(c, &reporter)?;
            assert_eq!(todo.len(), 1);
            assert_eq!(
                (
                    todo[0].owed.owner,
                    todo[0].owed.criteria_left(),
                    todo[0].reminded
                ),
                (Owner::Unit(w.units[0]), n - 2, None)
            );
            assert_eq!(todo[0].names[0].0, w.units[0]);
            assert!(reminders::todo(c, &reviewer)?.is_empty(), "no team yet");

            // The sweep reminds once, only inside the window before the deadline.
            let early = self_due - reminders::REMIND_BEFORE - chrono::Duration::hours(1);
            assert_eq!(reminders::sweep(c, early)?, 0);
            assert_eq!(reminders::sweep(c, now)?, 3);
            assert_eq!(reminders::sweep(c, now)?, 0, "once each");
            assert_eq!(
                reminders::sweep(c, self_due + chrono::Duration::hours(1))?,
                0,
                "nothing after the deadline"
            );
            let sent = reminders::sent(c, &s)?;
            let mine = sent
                .iter()
                .find(|r| r.owner() == Owner::Unit(w.units[0]))
                .unwrap();
            assert_eq!(
                (mine.criteria_left, mine.times, mine.sender.as_str()),
                (i32::try_from(n).unwrap() - 2, 1, "")
            );
            assert!(reminders::todo(c, &reporter)?[0].reminded.is_some());
            let logged = audit::list(
                c,
                &audit::AuditFilter {
                    action: Some("evaluation.remind".into()),
                    ..Default::default()
                },
                10,
            )?;
            assert_eq!(logged.len(), 1);
            assert!(
                logged[0].detail.contains("\"criteria_left\":3"),
                "{}",
                logged[0].detail
            );

            // Once submitted the unit owes nothing; the organiser reminds the other two again.
            let rest: Vec<(i64, ScoreInput)> = crit[2..]
                .iter()
                .map(|(id, code, max)| (*id, claim(code, "1", "", *max)))
                .collect();
            scores::save(c, &reporter, &a, w.units[0], Round::SelfAssessment, &rest)?;
            scores::submit(c, &reporter, &a, w.units[0])?;
            assert!(reminders::todo(c, &reporter)?.is_empty());
            assert_eq!(reminders::remind_now(c, me, s.id)?, 2);
            let sent = reminders::sent(c, &s)?;
            let times = |u: i64| {
                sent.iter()
                    .find(|r| r.owner() == Owner::Unit(u))
                    .unwrap()
                    .times
            };
            assert_eq!(
                (times(w.units[0]), times(w.units[1]), times(w.units[2])),
                (1, 2, 2)
            );
            assert!(matches!(
                reminders::remind_now(c, &w.elsewhere, s.id),
                Err(DbError::NotFound)
            ));
            assert!(matches!(
                reminders::remind_now(c, &reporter, s.id),
                Err(DbError::NotFound)
            ));

            // In the first verification the reviewer owes every unit of their team.
            let first = teams::create_team(c, me, s.id, Round::First, "第一考评组")?;
            teams::add_member(c, me, s.id, first.id, "reviewer-1")?;
            let s = eval::advance(c, me, s.id, s.version)?;
            assert!(
                reminders::todo(c, &reporter)?.is_empty(),
                "nothing left to the unit"
            );
            let owed = reminders::owed(c, &s, Who::Everyone)?;
            assert_eq!(owed.len(), 1);
            assert_eq!(
                (owed[0].owner, owed[0].units.len(), owed[0].criteria_left()),
                (Owner::Reviewer(reviewer.user_id().unwrap()), 3, 3 * n)
            );
            let r = access(c, &reviewer, s.id)?;
            let all: Vec<(i64, ScoreInput)> = crit
                .iter()
                .map(|(id, code, max)| (*id, claim(code, "1", "", *max)))
                .collect();
            scores::save(c, &reviewer, &r, w.units[0], Round::First, &all)?;
            let todo = reminders::todo(c, &reviewer)?;
            assert_eq!(todo.len(), 1);
            assert_eq!(
                (todo[0].owed.units.len(), todo[0].owed.criteria_left()),
                (2, 2 * n)
            );
            let mut left: Vec<i64> = todo[0].names.iter().map(|(u, _)| *u).collect();
            left.sort_unstable();
            let mut expected = w.units[1..].to_vec();
            expected.sort_unstable();
            assert_eq!(left, expected);
            assert_eq!(reminders::sweep(c, now)?, 0, "ten days ahead");
            assert_eq!(
                reminders::sweep(c, first_due - chrono::Duration::days(1))?,
                1
            );
            let sent = reminders::sent(c, &s)?;
            assert_eq!(sent.len(), 1, "this stage's reminders only");
            assert_eq!((sent[0].kind.as_str(), sent[0].units_left), ("reviewer", 2));
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_units_sheet_joins_units_to_their_categories,
    |t: TestDb| {
        use shiliu_domain::evaluation::{UnitSheetRow, place_units};
        t.db.write_blocking(|c| {
            let w = world(c)?;
            let me = &w.organiser;
            let s = eval::create_scheme(c, me, w.city, &scheme_input(2026))?;
            let depts = eval::add_category(c, me, s.id, 1, "市直部门")?;
            eval::add_participant(
                c,
                me,
                s.id,
                2,
                &Participant {
                    scheme_id: s.id,
                    unit_id: w.units[1],
                    category_id: depts.id,
                    key_unit: false,
                },
            )?;
            let row = |unit: &str, category: &str, key: &str| UnitSheetRow {
                unit: unit.into(),
                category: category.into(),
                key_unit: key.into(),
            };
            let sheet = |extra: bool| {
                let mut rows = vec![
                    (2, row("兴宁区民族宗教事务局", "县（市、区）", "是")),
                    (3, row("南宁市教育局", "县（市、区）", "否")),
                    (4, row("南宁市人力资源和社会保障局", "市直部门", "")),
                ];
                if extra {
                    rows.push((5, row("没有这个单位", "市直部门", "")));
                    rows.push((6, row("柳州市教育局", "市直部门", "")));
                }
                place_units(&rows).unwrap()
            };
            // Names not in the organiser's region are reported by row; nothing changes.
            let refused = eval::import_units(c, me, s.id, 3, &sheet(true))?.unwrap_err();
            assert_eq!(
                refused
                    .iter()
                    .map(|(r, e)| (*r, e.reason))
                    .collect::<Vec<_>>(),
                [(5, "err.unit.unknown"), (6, "err.unit.unknown")]
            );
            assert_eq!(eval::participants(c, &s)?.len(), 1);
            assert_eq!(eval::categories(c, &s)?.len(), 1);
            assert_eq!(eval::get_scheme(c, &Scope::everything(), s.id)?.version, 3);
            // Two join (one in a category made for it), one moves; audited; the version moves on.
            let done = eval::import_units(c, me, s.id, 3, &sheet(false))?.unwrap();
            assert_eq!(
                (done.added, done.moved, done.new_categories.clone()),
                (2, 1, vec!["县（市、区）".to_string()])
            );
            let counties = eval::categories(c, &s)?
                .into_iter()
                .find(|k| k.name == "县（市、区）")
                .unwrap();
            let mut got: Vec<(i64, i64, bool)> = eval::participants(c, &s)?
                .iter()
                .map(|p| (p.unit_id, p.category_id, p.key_unit))
                .collect();
            got.sort_unstable();
            let mut expected = vec![
                (w.units[0], counties.id, true),
                (w.units[1], counties.id, false),
                (w.units[2], depts.id, false),
            ];
            expected.sort_unstable();
            assert_eq!(got, expected);
            let s = eval::get_scheme(c, &Scope::everything(), s.id)?;
            assert_eq!(s.version, 4);
            assert_eq!(
                audit::list(
                    c,
                    &audit::AuditFilter {
                        action: Some("evaluation.units_import".into()),
                        ..Default::default()
                    },
                    10,
                )?
                .len(),
                1
            );
            // The same sheet again changes nothing; a stale version is refused.
            let again = eval::import_units(c, me, s.id, 4, &sheet(false))?.unwrap();
            assert_eq!((again.added, again.moved), (0, 0));
            assert!(matches!(
                eval::import_units(c, me, s.id, 4, &sheet(false)),
                Err(DbError::Stale)
            ));
            assert!(matches!(
                eval::import_units(c, &w.elsewhere, s.id, 5, &sheet(false)),
                Err(DbError::NotFound)
            ));
            Ok(())
        })
        .unwrap();
    }
);
