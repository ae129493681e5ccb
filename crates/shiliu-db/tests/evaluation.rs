//! Performance evaluation schemes: building, locking, copying — on both engines.

use chrono::NaiveDateTime;
use shiliu_db::evaluation::access::{Access, access, visible_schemes};
use shiliu_db::evaluation::reminders::{self, Owner, Who};
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

fn joins(scheme_id: i64, unit_id: i64, category_id: i64, key_unit: bool) -> Participant {
    Participant {
        scheme_id,
        unit_id,
        category_id,
        key_unit,
    }
}

fn node(tree: &eval::Tree, code: &str) -> i64 {
    tree.nodes
        .iter()
        .find(|(i, _)| i.code == code)
        .unwrap()
        .0
        .id
}

/// A fresh 2026 draft by the city's organiser: version 1.
fn draft(c: &mut DbConnection) -> Result<(World, eval::Scheme), DbError> {
    let w = world(c)?;
    let s = eval::create_scheme(c, &w.organiser, w.city, &scheme_input(2026))?;
    Ok((w, s))
}

/// A draft with two categories and the three units, the first and third key units: version 6.
struct Drafted {
    w: World,
    s: eval::Scheme,
    counties: eval::Category,
    depts: eval::Category,
}

fn with_units(c: &mut DbConnection) -> Result<Drafted, DbError> {
    let (w, s) = draft(c)?;
    let me = &w.organiser;
    let counties = eval::add_category(c, me, s.id, 1, "县（市、区）")?;
    let depts = eval::add_category(c, me, s.id, 2, "市直部门")?;
    eval::add_participant(c, me, s.id, 3, &joins(s.id, w.units[0], counties.id, true))?;
    eval::add_participant(c, me, s.id, 4, &joins(s.id, w.units[1], depts.id, false))?;
    eval::add_participant(c, me, s.id, 5, &joins(s.id, w.units[2], depts.id, true))?;
    Ok(Drafted {
        w,
        s,
        counties,
        depts,
    })
}

/// …and the tree from the sheet: version 7.
fn with_tree(c: &mut DbConnection) -> Result<(Drafted, eval::Tree), DbError> {
    let d = with_units(c)?;
    let tree = eval::replace_tree(c, &d.w.organiser, d.s.id, 6, &sheet())?;
    Ok((d, tree))
}

fn criterion_2_1_2() -> IndicatorInput {
    IndicatorInput::parse(
        Level::Criterion,
        "2.1.2",
        "开展就业帮扶",
        "20",
        "",
        "",
        "就业台账",
    )
    .unwrap()
}

/// …and one more criterion by form, 2.1.2 under item 2.1: version 8.
struct Built {
    d: Drafted,
    item: i64,
    added: eval::Indicator,
}

fn with_criterion_added(c: &mut DbConnection) -> Result<Built, DbError> {
    let (d, tree) = with_tree(c)?;
    let item = node(&tree, "2.1");
    let added = eval::add_indicator(c, &d.w.organiser, d.s.id, 7, Some(item), &criterion_2_1_2())?;
    Ok(Built { d, item, added })
}

/// …and departments' area 1 counting for 30 points: version 9.
fn weighted(c: &mut DbConnection) -> Result<(Built, i64), DbError> {
    let a = with_criterion_added(c)?;
    let area1 = node(&eval::tree(c, &a.d.s)?, "1");
    eval::set_weights(
        c,
        &a.d.w.organiser,
        a.d.s.id,
        8,
        a.d.depts.id,
        &[(area1, Some(Points(3000)))],
    )?;
    Ok((a, area1))
}

fn deadlines() -> [Option<NaiveDateTime>; 4] {
    [
        at("2026-03-31 17:00"),
        at("2026-04-30 17:00"),
        at("2026-05-31 17:00"),
        at("2026-06-15 17:00"),
    ]
}

/// …and, with its deadlines (version 10), published to the units: version 11.
fn published(c: &mut DbConnection) -> Result<Built, DbError> {
    let (a, _) = weighted(c)?;
    eval::set_deadlines(c, &a.d.w.organiser, a.d.s.id, 9, deadlines())?;
    eval::advance(c, &a.d.w.organiser, a.d.s.id, 10)?;
    Ok(a)
}

/// The same scheme's deadlines with the self-assessment extended a week.
fn extended() -> [Option<NaiveDateTime>; 4] {
    let d = deadlines();
    [at("2026-04-07 17:00"), d[1], d[2], d[3]]
}

both_engines!(a_new_scheme_is_a_draft_with_a_bonus_cap, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (_, s) = draft(c)?;
        assert_eq!((s.stage(), s.version), (Stage::Draft, 1));
        assert_eq!(s.bonus_cap(), Some(Points(500)));
        Ok(())
    })
    .unwrap();
});

both_engines!(a_category_name_is_taken_once_in_a_scheme, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (w, s) = draft(c)?;
        let me = &w.organiser;
        eval::add_category(c, me, s.id, 1, "县（市、区）")?;
        eval::add_category(c, me, s.id, 2, "市直部门")?;
        assert_eq!(
            reason(eval::add_category(c, me, s.id, 3, "市直部门").unwrap_err()),
            "err.eval.category_taken"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(
    a_unit_outside_the_organisers_region_is_refused,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let Drafted { w, s, depts, .. } = with_units(c)?;
            let p = joins(s.id, w.outside_unit, depts.id, false);
            assert_eq!(
                reason(eval::add_participant(c, &w.organiser, s.id, 6, &p).unwrap_err()),
                "err.eval.unit_outside"
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(a_unit_takes_part_once, |t: TestDb| {
    t.db.write_blocking(|c| {
        let Drafted { w, s, counties, .. } = with_units(c)?;
        let p = joins(s.id, w.units[1], counties.id, false);
        assert_eq!(
            reason(eval::add_participant(c, &w.organiser, s.id, 6, &p).unwrap_err()),
            "err.eval.unit_taken"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(a_change_from_an_old_version_is_stale, |t: TestDb| {
    t.db.write_blocking(|c| {
        let Drafted { w, s, counties, .. } = with_units(c)?;
        let p = joins(s.id, w.units[1], counties.id, false);
        assert!(
            matches!(
                eval::add_participant(c, &w.organiser, s.id, 3, &p),
                Err(DbError::Stale)
            ),
            "an old version is stale"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(units_are_listed_by_category_then_name, |t: TestDb| {
    t.db.write_blocking(|c| {
        let Drafted { s, .. } = with_units(c)?;
        let units = eval::participants(c, &s)?;
        assert_eq!(units.len(), 3);
        assert_eq!(
            units[0].unit_name, "兴宁区民族宗教事务局",
            "by category, then name"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(a_sheets_maxima_are_summed_up_the_tree, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (_, tree) = with_tree(c)?;
        let max = |code: &str| tree.nodes.iter().find(|(i, _)| i.code == code).unwrap().1;
        assert_eq!(
            (max("1"), max("1.1"), max("2"), max("3")),
            (Points(2000), Points(2000), Points(3000), Points(800))
        );
        assert_eq!(tree.standard_max(), Points(5000));
        assert_eq!(tree.criteria().count(), 5);
        Ok(())
    })
    .unwrap();
});

both_engines!(a_sheets_tree_is_in_code_order, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (_, tree) = with_tree(c)?;
        let codes: Vec<&str> = tree.nodes.iter().map(|(i, _)| i.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "1", "1.1", "1.1.1", "1.1.2", "2", "2.1", "2.1.1", "3", "3.1", "3.1.1", "3.1.2"
            ]
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(a_bonus_criterion_counts_in_its_area, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (_, tree) = with_tree(c)?;
        let scored = tree.scored();
        let bonus = scored
            .iter()
            .find(|x| x.kind == CriterionKind::Bonus)
            .unwrap();
        assert_eq!(bonus.area, node(&tree, "3"));
        Ok(())
    })
    .unwrap();
});

both_engines!(a_criterion_added_by_form_counts_in_the_tree, |t: TestDb| {
    t.db.write_blocking(|c| {
        let Built { d, added, .. } = with_criterion_added(c)?;
        assert_eq!((added.level(), added.sort), (Level::Criterion, 1));
        assert_eq!(eval::tree(c, &d.s)?.standard_max(), Points(7000));
        Ok(())
    })
    .unwrap();
});

both_engines!(a_criterion_code_is_taken_once, |t: TestDb| {
    t.db.write_blocking(|c| {
        let Built { d, item, .. } = with_criterion_added(c)?;
        let again =
            eval::add_indicator(c, &d.w.organiser, d.s.id, 8, Some(item), &criterion_2_1_2());
        assert_eq!(reason(again.unwrap_err()), "err.eval.code_taken");
        Ok(())
    })
    .unwrap();
});

both_engines!(a_fourth_level_is_refused, |t: TestDb| {
    t.db.write_blocking(|c| {
        let Built { d, added, .. } = with_criterion_added(c)?;
        let deeper = IndicatorInput {
            code: "2.1.2.1".into(),
            ..criterion_2_1_2()
        };
        assert_eq!(
            reason(
                eval::add_indicator(c, &d.w.organiser, d.s.id, 8, Some(added.id), &deeper)
                    .unwrap_err()
            ),
            "err.choice"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(
    an_item_with_criteria_under_it_is_not_deleted,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let Built { d, item, .. } = with_criterion_added(c)?;
            assert_eq!(
                reason(eval::delete_indicator(c, &d.w.organiser, d.s.id, 8, item).unwrap_err()),
                "err.eval.has_children"
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(a_category_weights_an_area, |t: TestDb| {
    t.db.write_blocking(|c| {
        // Departments' area 1 counts for 30 points.
        let (a, area1) = weighted(c)?;
        assert_eq!(
            eval::weights(c, &a.d.s)?,
            [(a.d.depts.id, area1, Points(3000))]
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(only_an_area_is_weighted, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (Built { d, item, .. }, _) = weighted(c)?;
        let weights = [(item, Some(Points(1)))];
        assert_eq!(
            reason(
                eval::set_weights(c, &d.w.organiser, d.s.id, 9, d.depts.id, &weights).unwrap_err()
            ),
            "err.choice"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(leaving_the_draft_needs_the_first_deadline, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (Built { d, .. }, _) = weighted(c)?;
        assert_eq!(
            reason(eval::advance(c, &d.w.organiser, d.s.id, 9).unwrap_err()),
            "err.eval.deadline_missing"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(deadlines_run_in_order, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (Built { d, .. }, _) = weighted(c)?;
        let backwards = [at("2026-03-31 17:00"), at("2026-03-01 17:00"), None, None];
        assert_eq!(
            reason(eval::set_deadlines(c, &d.w.organiser, d.s.id, 9, backwards).unwrap_err()),
            "err.eval.deadline_order"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(
    a_scheme_with_its_deadlines_is_published_to_the_units,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (Built { d, .. }, _) = weighted(c)?;
            let me = &d.w.organiser;
            eval::set_deadlines(c, me, d.s.id, 9, deadlines())?;
            let s2 = eval::advance(c, me, d.s.id, 10)?;
            assert_eq!((s2.stage(), s2.version), (Stage::SelfAssessment, 11));
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(a_published_schemes_structure_is_locked, |t: TestDb| {
    t.db.write_blocking(|c| {
        let Built { d, added, .. } = published(c)?;
        let (me, id) = (&d.w.organiser, d.s.id);
        assert_eq!(
            reason(eval::add_category(c, me, id, 11, "学校").unwrap_err()),
            "err.eval.structure_locked"
        );
        assert_eq!(
            reason(eval::delete_indicator(c, me, id, 11, added.id).unwrap_err()),
            "err.eval.structure_locked"
        );
        assert_eq!(
            reason(eval::replace_tree(c, me, id, 11, &sheet()).unwrap_err()),
            "err.eval.structure_locked"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(the_current_stages_deadline_may_be_extended, |t: TestDb| {
    t.db.write_blocking(|c| {
        let Built { d, .. } = published(c)?;
        let s3 = eval::set_deadlines(c, &d.w.organiser, d.s.id, 11, extended())?;
        assert_eq!(
            s3.self_due,
            extended()[0],
            "the current stage's deadline may be extended"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(a_closed_stage_keeps_its_deadline, |t: TestDb| {
    t.db.write_blocking(|c| {
        let Built { d, .. } = published(c)?;
        let (me, id) = (&d.w.organiser, d.s.id);
        eval::set_deadlines(c, me, id, 11, extended())?;
        let s4 = eval::advance(c, me, id, 12)?;
        assert_eq!(s4.stage(), Stage::FirstReview);
        let later = extended();
        let moved = [at("2026-04-08 17:00"), later[1], later[2], later[3]];
        assert_eq!(
            reason(eval::set_deadlines(c, me, id, 13, moved).unwrap_err()),
            "err.eval.stage_closed"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(another_citys_staff_do_not_see_a_scheme, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (w, s) = draft(c)?;
        assert!(matches!(
            eval::get_scheme(c, w.elsewhere.scope(), s.id),
            Err(DbError::NotFound)
        ));
        assert!(eval::schemes(c, w.elsewhere.scope())?.is_empty());
        assert_eq!(eval::schemes(c, w.organiser.scope())?.len(), 1);
        Ok(())
    })
    .unwrap();
});

/// Next year's scheme copied from the published one: (the copy, the original).
fn copied(c: &mut DbConnection) -> Result<(eval::Scheme, Built), DbError> {
    let a = published(c)?;
    let next = eval::copy_scheme(
        c,
        &a.d.w.organiser,
        a.d.s.id,
        2027,
        "2027年度民族工作绩效考评",
    )?;
    Ok((next, a))
}

both_engines!(next_years_scheme_starts_as_a_draft_copy, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (next, a) = copied(c)?;
        assert_eq!(
            (next.stage(), next.year, next.copied_from),
            (Stage::Draft, 2027, Some(a.d.s.id))
        );
        assert_eq!(next.self_due, None);
        Ok(())
    })
    .unwrap();
});

both_engines!(a_copy_has_the_same_tree_under_new_ids, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (next, a) = copied(c)?;
        let tree = eval::tree(c, &a.d.s)?;
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
        Ok(())
    })
    .unwrap();
});

both_engines!(a_copy_has_the_same_units_and_weights, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (next, _) = copied(c)?;
        let units_now: Vec<String> = eval::participants(c, &next)?
            .into_iter()
            .map(|p| p.unit_name)
            .collect();
        assert_eq!(units_now.len(), 3);
        let w_now = eval::weights(c, &next)?;
        let new_area1 = node(&eval::tree(c, &next)?, "1");
        let new_depts = eval::categories(c, &next)?
            .into_iter()
            .find(|k| k.name == "市直部门")
            .unwrap()
            .id;
        assert_eq!(w_now, [(new_depts, new_area1, Points(3000))]);
        Ok(())
    })
    .unwrap();
});

both_engines!(every_change_to_a_scheme_is_in_the_audit_log, |t: TestDb| {
    t.db.write_blocking(|c| {
        copied(c)?;
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

/// Every unit in one category, 市直部门, the first a key unit: version 5.
fn all_units_in_one_category(
    c: &mut DbConnection,
    w: &World,
    s: &eval::Scheme,
) -> Result<(), DbError> {
    let cat = eval::add_category(c, &w.organiser, s.id, 1, "市直部门")?;
    for (i, unit) in w.units.iter().enumerate() {
        let p = joins(s.id, *unit, cat.id, i == 0);
        eval::add_participant(c, &w.organiser, s.id, 2 + i32::try_from(i).unwrap(), &p)?;
    }
    Ok(())
}

/// A scheme's criteria: (id, code, maximum).
fn criteria(tree: &eval::Tree) -> Vec<(i64, String, Points)> {
    tree.criteria()
        .map(|x| (x.id, x.code.clone(), x.max()))
        .collect()
}

/// A draft about to be published, the self-assessment due in ten days, with a reporter of
/// the first unit, one of the second, and a reviewer.
struct Assessed {
    w: World,
    s: eval::Scheme,
    crit: Vec<(i64, String, Points)>,
    reporter: Actor,
    other: Actor,
    reviewer: Actor,
}

fn ready_to_publish(c: &mut DbConnection) -> Result<Assessed, DbError> {
    let (w, s) = draft(c)?;
    let me = &w.organiser;
    all_units_in_one_category(c, &w, &s)?;
    let crit = criteria(&eval::replace_tree(c, me, s.id, 5, &sheet())?);
    let soon = shiliu_db::now() + chrono::Duration::days(10);
    let later = soon + chrono::Duration::days(10);
    let due = [
        Some(soon),
        Some(later),
        Some(later + chrono::Duration::days(5)),
        None,
    ];
    let s = eval::set_deadlines(c, me, s.id, 6, due)?;
    let unit = |i: usize| Some(w.units[i]);
    let reporter = user(c, "reporter-a", Role::UnitReporter, w.city, unit(0))?;
    let other = user(c, "reporter-b", Role::UnitReporter, w.city, unit(1))?;
    let reviewer = user(c, "reviewer-1", Role::Evaluator, w.city, None)?;
    Ok(Assessed {
        w,
        s,
        crit,
        reporter,
        other,
        reviewer,
    })
}

/// …published: the self-assessment is open.
fn self_assessing(c: &mut DbConnection) -> Result<Assessed, DbError> {
    let mut x = ready_to_publish(c)?;
    x.s = eval::advance(c, &x.w.organiser, x.s.id, 7)?;
    Ok(x)
}

/// The first unit's first claim, and a blank draft of its second.
fn first_claims(x: &Assessed) -> Vec<(i64, ScoreInput)> {
    let crit = &x.crit;
    vec![
        (
            crit[0].0,
            claim(&crit[0].1, "4", "已成立领导小组", crit[0].2),
        ),
        (crit[1].0, claim(&crit[1].1, "", "草稿", crit[1].2)),
    ]
}

/// …the first unit's reporter has saved `first_claims`.
fn claimed_in_part(c: &mut DbConnection) -> Result<(Assessed, Access), DbError> {
    let x = self_assessing(c)?;
    let a = access(c, &x.reporter, x.s.id)?;
    let entries = first_claims(&x);
    scores::save(
        c,
        &x.reporter,
        &a,
        x.w.units[0],
        Round::SelfAssessment,
        &entries,
    )?;
    Ok((x, a))
}

/// …then claimed the rest, attached a ledger to the first criterion and submitted.
fn submitted(c: &mut DbConnection) -> Result<(Assessed, Access), DbError> {
    let (x, a) = claimed_in_part(c)?;
    let unit = x.w.units[0];
    let rest: Vec<(i64, ScoreInput)> = x.crit[1..]
        .iter()
        .map(|(id, code, max)| (*id, claim(code, "3", "", *max)))
        .collect();
    scores::save(c, &x.reporter, &a, unit, Round::SelfAssessment, &rest)?;
    let pdf = shiliu_domain::files::FileInput::parse(
        "files",
        "台账.pdf",
        b"%PDF-1.4 ledger".to_vec(),
        shiliu_domain::files::EVIDENCE_FILES,
    )
    .unwrap();
    let round = Round::SelfAssessment;
    scores::attach(c, &x.reporter, &a, unit, round, x.crit[0].0, &[pdf])?;
    scores::submit(c, &x.reporter, &a, unit)?;
    Ok((x, a))
}

/// …and the organiser has made a first-round team and a field team, the reviewer in both.
fn with_teams(c: &mut DbConnection) -> Result<Assessed, DbError> {
    let (x, _) = submitted(c)?;
    let (me, id) = (&x.w.organiser, x.s.id);
    let first = teams::create_team(c, me, id, Round::First, "第一考评组")?;
    let field = teams::create_team(c, me, id, Round::Field, "实地考核一组")?;
    teams::add_member(c, me, id, first.id, "reviewer-1")?;
    teams::add_member(c, me, id, field.id, "reviewer-1")?;
    Ok(x)
}

/// The reviewer's opinion on the first criterion.
fn opinion(x: &Assessed) -> Vec<(i64, ScoreInput)> {
    let crit = &x.crit;
    vec![(
        crit[0].0,
        claim(&crit[0].1, "3.5", "领导小组会议记录不全", crit[0].2),
    )]
}

/// …moved on to the first review, where the reviewer has given their opinion on the first unit.
fn first_reviewed(c: &mut DbConnection) -> Result<Assessed, DbError> {
    let mut x = with_teams(c)?;
    x.s = eval::advance(c, &x.w.organiser, x.s.id, x.s.version)?;
    let r = access(c, &x.reviewer, x.s.id)?;
    scores::save(c, &x.reviewer, &r, x.w.units[0], Round::First, &opinion(&x))?;
    Ok(x)
}

both_engines!(
    in_draft_nobody_but_the_organiser_has_a_way_in,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let x = ready_to_publish(c)?;
            assert!(matches!(
                access(c, &x.reporter, x.s.id),
                Err(DbError::NotFound)
            ));
            assert!(visible_schemes(c, &x.reporter)?.is_empty());
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(a_published_scheme_is_visible_to_its_units, |t: TestDb| {
    t.db.write_blocking(|c| {
        let x = self_assessing(c)?;
        assert_eq!(x.s.stage(), Stage::SelfAssessment);
        assert_eq!(visible_schemes(c, &x.reporter)?.len(), 1);
        Ok(())
    })
    .unwrap();
});

both_engines!(a_reporter_has_their_own_unit_only, |t: TestDb| {
    t.db.write_blocking(|c| {
        let x = self_assessing(c)?;
        let a = access(c, &x.reporter, x.s.id)?;
        assert_eq!((a.organiser, a.own_unit), (false, Some(x.w.units[0])));
        assert!(!a.may_view_unit(x.w.units[1]));
        Ok(())
    })
    .unwrap();
});

both_engines!(a_reporter_claims_scores_for_their_own_unit, |t: TestDb| {
    t.db.write_blocking(|c| {
        let x = self_assessing(c)?;
        let a = access(c, &x.reporter, x.s.id)?;
        let entries = first_claims(&x);
        let round = Round::SelfAssessment;
        assert_eq!(
            scores::save(c, &x.reporter, &a, x.w.units[0], round, &entries)?,
            2
        );
        let claimed = scores::scores(c, x.s.id, x.w.units[0], round)?;
        assert_eq!(claimed[&x.crit[0].0].points(), Some(Points(400)));
        assert_eq!(
            claimed[&x.crit[0].0].note.as_deref(),
            Some("已成立领导小组")
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(a_reporter_cannot_claim_for_another_unit, |t: TestDb| {
    t.db.write_blocking(|c| {
        let x = self_assessing(c)?;
        let a = access(c, &x.reporter, x.s.id)?;
        let entries = first_claims(&x);
        assert!(matches!(
            scores::save(
                c,
                &x.reporter,
                &a,
                x.w.units[1],
                Round::SelfAssessment,
                &entries
            ),
            Err(DbError::NotFound)
        ));
        Ok(())
    })
    .unwrap();
});

both_engines!(a_claim_above_the_maximum_is_refused, |t: TestDb| {
    t.db.write_blocking(|c| {
        let x = self_assessing(c)?;
        let a = access(c, &x.reporter, x.s.id)?;
        let too_much = vec![(
            x.crit[0].0,
            ScoreInput {
                points: Some(Points(900)),
                note: None,
            },
        )];
        let round = Round::SelfAssessment;
        assert_eq!(
            reason(scores::save(c, &x.reporter, &a, x.w.units[0], round, &too_much).unwrap_err()),
            "err.eval.above_max"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(
    submitting_needs_every_criterion_claimed_and_names_those_left,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (x, a) = claimed_in_part(c)?;
            let e = scores::submit(c, &x.reporter, &a, x.w.units[0]).unwrap_err();
            let DbError::Invalid(e) = e else { panic!() };
            assert_eq!(
                (e.0[0].reason, e.0[0].args[0].1.as_str()),
                ("err.eval.unscored", "1.1.2、2.1.1、3.1.1、3.1.2")
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_submitted_self_assessment_takes_no_more_claims,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (x, a) = submitted(c)?;
            let entries = first_claims(&x);
            let round = Round::SelfAssessment;
            assert_eq!(
                reason(
                    scores::save(c, &x.reporter, &a, x.w.units[0], round, &entries).unwrap_err()
                ),
                "err.eval.submitted"
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(a_reporter_reads_their_units_evidence, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (x, a) = submitted(c)?;
        let files = scores::evidence(c, &a, x.w.units[0])?;
        assert_eq!(
            scores::evidence_file(c, &a, files[0].id)?.1,
            b"%PDF-1.4 ledger"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(
    another_units_reporter_sees_neither_the_unit_nor_its_files,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (x, a) = submitted(c)?;
            let b = access(c, &x.other, x.s.id)?;
            assert!(matches!(
                scores::evidence(c, &b, x.w.units[0]),
                Err(DbError::NotFound)
            ));
            let files = scores::evidence(c, &a, x.w.units[0])?;
            assert!(matches!(
                scores::evidence_file(c, &b, files[0].id),
                Err(DbError::NotFound)
            ));
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_first_round_team_reviews_every_unit_and_a_field_team_the_key_unit,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let x = with_teams(c)?;
            let tv = teams::teams(c, &x.s)?;
            assert_eq!(
                tv.iter().map(|x| x.units.len()).collect::<Vec<_>>(),
                [1, 3],
                "field: the key unit; first: all"
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(only_a_reviewer_joins_a_team, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (x, _) = submitted(c)?;
        let (me, id) = (&x.w.organiser, x.s.id);
        let first = teams::create_team(c, me, id, Round::First, "第一考评组")?;
        assert_eq!(
            reason(teams::add_member(c, me, id, first.id, "reporter-b").unwrap_err()),
            "err.eval.not_reviewer"
        );
        assert_eq!(
            reason(teams::add_member(c, me, id, first.id, "nobody").unwrap_err()),
            "err.eval.no_reviewer"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(a_reviewer_scores_in_their_teams_rounds_only, |t: TestDb| {
    t.db.write_blocking(|c| {
        let x = with_teams(c)?;
        let r = access(c, &x.reviewer, x.s.id)?;
        assert!(
            r.may_score(Round::First, x.w.units[2]) && !r.may_score(Round::Field, x.w.units[2])
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(a_reviewer_is_refused_before_their_stage, |t: TestDb| {
    t.db.write_blocking(|c| {
        // Not yet their stage: refused with the reason.
        let x = with_teams(c)?;
        let r = access(c, &x.reviewer, x.s.id)?;
        assert_eq!(
            reason(
                scores::save(c, &x.reviewer, &r, x.w.units[0], Round::First, &opinion(&x))
                    .unwrap_err()
            ),
            "err.eval.round_not_open"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(
    until_feedback_the_unit_does_not_see_the_verified_scores,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            // Until feedback the unit does not see the verified scores; the reviewer does.
            let x = first_reviewed(c)?;
            let a = access(c, &x.reporter, x.s.id)?;
            let r = access(c, &x.reviewer, x.s.id)?;
            assert!(!a.sees_verified(x.w.units[0]) && r.sees_verified(x.w.units[0]));
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_reviewers_score_is_audited_with_before_and_after,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            first_reviewed(c)?;
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
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(past_the_deadline_nothing_more_is_taken, |t: TestDb| {
    t.db.write_blocking(|c| {
        let w = world(c)?;
        let me = &w.organiser;
        let reporter = user(
            c,
            "reporter-a",
            Role::UnitReporter,
            w.city,
            Some(w.units[0]),
        )?;
        let s2 = eval::create_scheme(c, me, w.city, &scheme_input(2025))?;
        let cat2 = eval::add_category(c, me, s2.id, 1, "市直部门")?;
        eval::add_participant(c, me, s2.id, 2, &joins(s2.id, w.units[0], cat2.id, false))?;
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
});

/// A scheme with grades (优秀 from 50, 良好 from 45) in its first review, the deadlines a month
/// or more ahead.
struct Merging {
    w: World,
    s: eval::Scheme,
    tree: eval::Tree,
}

impl Merging {
    fn criterion(&self, code: &str) -> eval::Indicator {
        self.tree
            .nodes
            .iter()
            .find(|(i, _)| i.code == code)
            .unwrap()
            .0
            .clone()
    }

    /// The organiser's scores for a unit in a round.
    fn score(
        &self,
        c: &mut DbConnection,
        unit: i64,
        round: Round,
        pts: &[(&str, &str)],
    ) -> Result<usize, DbError> {
        let me = &self.w.organiser;
        let a = access(c, me, self.s.id)?;
        let entries: Vec<(i64, ScoreInput)> = pts
            .iter()
            .map(|(code, p)| {
                let x = self.criterion(code);
                (x.id, claim(code, p, "核验意见", x.max()))
            })
            .collect();
        scores::save(c, me, &a, unit, round, &entries)
    }

    fn advance(&mut self, c: &mut DbConnection) -> Result<(), DbError> {
        self.s = eval::advance(c, &self.w.organiser, self.s.id, self.s.version)?;
        Ok(())
    }
}

/// The graded scheme's draft, every unit in one category, the tree in: version 6.
fn graded_draft(c: &mut DbConnection) -> Result<Merging, DbError> {
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
    all_units_in_one_category(c, &w, &s)?;
    let tree = eval::replace_tree(c, me, s.id, 5, &sheet())?;
    Ok(Merging { w, s, tree })
}

fn month_ahead() -> chrono::NaiveDateTime {
    shiliu_db::now() + chrono::Duration::days(30)
}

/// …in its first review, where the organiser has scored all three units.
fn first_scored(c: &mut DbConnection) -> Result<Merging, DbError> {
    let mut m = graded_draft(c)?;
    let due = month_ahead();
    let d = |n| Some(due + chrono::Duration::days(n));
    m.s = eval::set_deadlines(c, &m.w.organiser, m.s.id, 6, [d(0), d(1), d(2), d(3)])?;
    m.advance(c)?; // self-assessment
    m.advance(c)?; // first review
    let u = m.w.units.clone();
    let first = Round::First;
    let scores_0 = [
        ("1.1.1", "8"),
        ("1.1.2", "10"),
        ("2.1.1", "20"),
        ("3.1.1", "3"),
    ];
    let scores_1 = [
        ("1.1.1", "8"),
        ("1.1.2", "12"),
        ("2.1.1", "25"),
        ("3.1.2", "2"),
    ];
    let scores_2 = [
        ("1.1.1", "6"),
        ("1.1.2", "12"),
        ("2.1.1", "30"),
        ("3.1.1", "3"),
    ];
    m.score(c, u[0], first, &scores_0)?;
    m.score(c, u[1], first, &scores_1)?;
    m.score(c, u[2], first, &scores_2)?;
    Ok(m)
}

/// …then in the field review, where the key unit has 2.1.1 at 25 and 1.1.1 at 8 again.
fn field_scored(c: &mut DbConnection) -> Result<Merging, DbError> {
    let mut m = first_scored(c)?;
    m.advance(c)?; // field review
    m.score(
        c,
        m.w.units[0],
        Round::Field,
        &[("2.1.1", "25"), ("1.1.1", "8")],
    )?;
    Ok(m)
}

/// …then in feedback, with the first unit's reporter and their access.
fn in_feedback(c: &mut DbConnection) -> Result<(Merging, Actor, Access), DbError> {
    let mut m = field_scored(c)?;
    m.advance(c)?; // feedback
    let reporter = user(
        c,
        "reporter-a",
        Role::UnitReporter,
        m.w.city,
        Some(m.w.units[0]),
    )?;
    let ra = access(c, &reporter, m.s.id)?;
    Ok((m, reporter, ra))
}

/// …where the unit has objected to 2.1.1, asking for 30 with a reason.
fn objected(c: &mut DbConnection) -> Result<Merging, DbError> {
    let (m, reporter, ra) = in_feedback(c)?;
    let x = m.criterion("2.1.1");
    let objection = [(x.id, claim("2.1.1", "30", "已补充服务台账", x.max()))];
    scores::save(
        c,
        &reporter,
        &ra,
        m.w.units[0],
        Round::Objection,
        &objection,
    )?;
    Ok(m)
}

/// …moved to the final stage, where the objection is decided: 28 points.
fn decided(c: &mut DbConnection) -> Result<Merging, DbError> {
    let mut m = objected(c)?;
    m.advance(c)?; // final
    let a = access(c, &m.w.organiser, m.s.id)?;
    let x = m.criterion("2.1.1");
    let why = "台账补充后部分采纳";
    results::decide(
        c,
        &m.w.organiser,
        &a,
        m.w.units[0],
        x.id,
        true,
        Some(Points(2800)),
        why,
    )?;
    Ok(m)
}

/// …and published.
fn results_published(c: &mut DbConnection) -> Result<Merging, DbError> {
    let mut m = decided(c)?;
    m.advance(c)?;
    Ok(m)
}

both_engines!(two_stages_cannot_end_at_the_same_time, |t: TestDb| {
    t.db.write_blocking(|c| {
        let m = graded_draft(c)?;
        let due = Some(month_ahead());
        eval::set_deadlines(c, &m.w.organiser, m.s.id, 6, [due, due, due, due]).unwrap_err();
        Ok(())
    })
    .unwrap();
});

both_engines!(
    differences_are_listed_where_both_rounds_scored_differently,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let m = field_scored(c)?;
            assert_eq!(
                results::differences(c, m.s.id)?,
                [(
                    m.w.units[0],
                    m.criterion("2.1.1").id,
                    Points(2000),
                    Points(2500)
                )]
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    from_feedback_on_the_unit_sees_its_verified_scores,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (m, _, ra) = in_feedback(c)?;
            assert!(
                ra.sees_verified(m.w.units[0]),
                "from feedback on, the unit sees its verified scores"
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(an_objection_without_a_reason_is_refused, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (m, reporter, ra) = in_feedback(c)?;
        let x = m.criterion("2.1.1");
        let bare = vec![(
            x.id,
            ScoreInput {
                points: Some(Points(3000)),
                note: None,
            },
        )];
        assert_eq!(
            reason(
                scores::save(c, &reporter, &ra, m.w.units[0], Round::Objection, &bare).unwrap_err()
            ),
            "err.eval.reason_required"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(an_objection_with_a_reason_is_pending, |t: TestDb| {
    t.db.write_blocking(|c| {
        let m = objected(c)?;
        assert_eq!(
            results::pending_objections(c, m.s.id)?,
            [(m.w.units[0], m.criterion("2.1.1").id)]
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(
    the_final_stage_is_not_left_with_objections_pending,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let mut m = objected(c)?;
            m.advance(c)?; // final
            assert_eq!(
                reason(eval::advance(c, &m.w.organiser, m.s.id, m.s.version).unwrap_err()),
                "err.eval.objections_pending"
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(a_decision_above_the_maximum_is_refused, |t: TestDb| {
    t.db.write_blocking(|c| {
        let mut m = objected(c)?;
        m.advance(c)?; // final
        let me = &m.w.organiser;
        let a = access(c, me, m.s.id)?;
        let x = m.criterion("2.1.1");
        let too_much = Some(Points(3100));
        assert_eq!(
            reason(
                results::decide(c, me, &a, m.w.units[0], x.id, true, too_much, "部分采纳")
                    .unwrap_err()
            ),
            "err.eval.above_max"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(only_an_objection_is_decided, |t: TestDb| {
    t.db.write_blocking(|c| {
        let mut m = objected(c)?;
        m.advance(c)?; // final
        let me = &m.w.organiser;
        let a = access(c, me, m.s.id)?;
        let x = m.criterion("2.1.1");
        assert_eq!(
            reason(
                results::decide(c, me, &a, m.w.units[1], x.id, false, None, "无异议").unwrap_err()
            ),
            "err.eval.no_objection"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(
    results_merge_field_first_under_the_decision_and_are_ranked_and_graded,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            // Preview: field-first merge, the decision over it, caps; ranks and grades.
            let m = decided(c)?;
            let r = results::results(c, &m.s)?;
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
            let u = &m.w.units;
            assert_eq!(
                got,
                [
                    (u[2], Points(5100), 1, "优秀".into(), true),
                    (u[0], Points(4900), 2, "良好".into(), false),
                    (u[1], Points(4300), 3, "合格".into(), false),
                ]
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(published_results_are_stamped_with_the_time, |t: TestDb| {
    t.db.write_blocking(|c| {
        let m = results_published(c)?;
        assert_eq!(m.s.stage(), Stage::Published);
        assert!(m.s.published_at.is_some());
        Ok(())
    })
    .unwrap();
});

both_engines!(after_publication_no_round_is_open, |t: TestDb| {
    t.db.write_blocking(|c| {
        let m = results_published(c)?;
        let me = &m.w.organiser;
        let a = access(c, me, m.s.id)?;
        let x = m.criterion("2.1.1");
        let entry = [(x.id, claim("2.1.1", "1", "", x.max()))];
        assert_eq!(
            reason(scores::save(c, me, &a, m.w.units[0], Round::Field, &entry).unwrap_err()),
            "err.eval.round_not_open"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(
    a_correction_after_publication_keeps_the_old_value_and_moves_ranks,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            // After publication: a correction keeps the old value; ranks move.
            let m = results_published(c)?;
            let me = &m.w.organiser;
            let a = access(c, me, m.s.id)?;
            let x = m.criterion("2.1.1");
            let u = &m.w.units;
            let fix = results::correct(c, me, &a, u[0], x.id, Points(2000), "复核发现台账不实")?;
            assert_eq!((fix.before_points, fix.after_points), (2800, 2000));
            let r = results::results(c, &m.s)?;
            let got: Vec<(i64, usize)> = r.iter().map(|x| (x.unit_id, x.rank)).collect();
            assert_eq!(got, [(u[2], 1), (u[1], 2), (u[0], 3)]);
            assert_eq!(results::corrections(c, m.s.id)?.len(), 1);
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    everyone_taking_part_sees_the_published_results,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            // Everyone taking part sees the published results; the unit sees its own sheet.
            let m = results_published(c)?;
            let other = user(
                c,
                "reporter-b",
                Role::UnitReporter,
                m.w.city,
                Some(m.w.units[1]),
            )?;
            assert!(access(c, &other, m.s.id)?.sees_verified(m.w.units[1]));
            Ok(())
        })
        .unwrap();
    }
);

/// A draft whose self-assessment is due in two days and first review in ten, with a reporter
/// of the first unit and a reviewer; `n` criteria.
struct Reminding {
    w: World,
    s: eval::Scheme,
    crit: Vec<(i64, String, Points)>,
    n: i64,
    now: NaiveDateTime,
    self_due: NaiveDateTime,
    first_due: NaiveDateTime,
    reporter: Actor,
    reviewer: Actor,
}

impl Reminding {
    /// Claims of one point for these criteria.
    fn ones(&self, range: std::ops::Range<usize>) -> Vec<(i64, ScoreInput)> {
        self.crit[range]
            .iter()
            .map(|(id, code, max)| (*id, claim(code, "1", "", *max)))
            .collect()
    }
}

fn due_soon(c: &mut DbConnection) -> Result<Reminding, DbError> {
    let (w, s) = draft(c)?;
    let me = &w.organiser;
    all_units_in_one_category(c, &w, &s)?;
    let crit = criteria(&eval::replace_tree(c, me, s.id, 5, &sheet())?);
    let n = i64::try_from(crit.len()).unwrap();
    let now = shiliu_db::now();
    let self_due = now + chrono::Duration::days(2);
    let first_due = now + chrono::Duration::days(10);
    let due = [
        Some(self_due),
        Some(first_due),
        Some(first_due + chrono::Duration::days(5)),
        Some(first_due + chrono::Duration::days(10)),
    ];
    let s = eval::set_deadlines(c, me, s.id, 6, due)?;
    let reporter = user(
        c,
        "reporter-a",
        Role::UnitReporter,
        w.city,
        Some(w.units[0]),
    )?;
    let reviewer = user(c, "reviewer-1", Role::Evaluator, w.city, None)?;
    Ok(Reminding {
        w,
        s,
        crit,
        n,
        now,
        self_due,
        first_due,
        reporter,
        reviewer,
    })
}

/// …published, and the first unit has claimed two criteria of its self-assessment.
fn two_claimed(c: &mut DbConnection) -> Result<(Reminding, Access), DbError> {
    let mut x = due_soon(c)?;
    x.s = eval::advance(c, &x.w.organiser, x.s.id, 7)?;
    let a = access(c, &x.reporter, x.s.id)?;
    let two = x.ones(0..2);
    scores::save(
        c,
        &x.reporter,
        &a,
        x.w.units[0],
        Round::SelfAssessment,
        &two,
    )?;
    Ok((x, a))
}

/// …and the sweep has run now, inside the window.
fn swept(c: &mut DbConnection) -> Result<(Reminding, Access), DbError> {
    let (x, a) = two_claimed(c)?;
    reminders::sweep(c, x.now)?;
    Ok((x, a))
}

/// …and the first unit has claimed the rest and submitted.
fn self_assessment_submitted(c: &mut DbConnection) -> Result<Reminding, DbError> {
    let (x, a) = swept(c)?;
    let rest = x.ones(2..x.crit.len());
    scores::save(
        c,
        &x.reporter,
        &a,
        x.w.units[0],
        Round::SelfAssessment,
        &rest,
    )?;
    scores::submit(c, &x.reporter, &a, x.w.units[0])?;
    Ok(x)
}

/// …the organiser has reminded the other two again, and the first verification is open with
/// the reviewer in its one team.
fn first_verification(c: &mut DbConnection) -> Result<Reminding, DbError> {
    let mut x = self_assessment_submitted(c)?;
    let me = &x.w.organiser;
    reminders::remind_now(c, me, x.s.id)?;
    let first = teams::create_team(c, me, x.s.id, Round::First, "第一考评组")?;
    teams::add_member(c, me, x.s.id, first.id, "reviewer-1")?;
    x.s = eval::advance(c, me, x.s.id, x.s.version)?;
    Ok(x)
}

/// …where the reviewer has scored the first unit whole.
fn reviewer_scored_one(c: &mut DbConnection) -> Result<Reminding, DbError> {
    let x = first_verification(c)?;
    let r = access(c, &x.reviewer, x.s.id)?;
    let all = x.ones(0..x.crit.len());
    scores::save(c, &x.reviewer, &r, x.w.units[0], Round::First, &all)?;
    Ok(x)
}

both_engines!(a_draft_owes_nothing, |t: TestDb| {
    t.db.write_blocking(|c| {
        let x = due_soon(c)?;
        let draft = eval::get_scheme(c, &Scope::everything(), x.s.id)?;
        assert!(
            reminders::owed(c, &draft, Who::Everyone)?.is_empty(),
            "a draft owes nothing"
        );
        Ok(())
    })
    .unwrap();
});

both_engines!(every_unit_owes_its_whole_self_assessment, |t: TestDb| {
    t.db.write_blocking(|c| {
        let mut x = due_soon(c)?;
        x.s = eval::advance(c, &x.w.organiser, x.s.id, 7)?;
        let mut owed: Vec<(Owner, i64)> = reminders::owed(c, &x.s, Who::Everyone)?
            .iter()
            .map(|o| (o.owner, o.criteria_left()))
            .collect();
        owed.sort_unstable();
        let mut expected: Vec<(Owner, i64)> =
            x.w.units.iter().map(|u| (Owner::Unit(*u), x.n)).collect();
        expected.sort_unstable();
        assert_eq!(owed, expected);
        Ok(())
    })
    .unwrap();
});

both_engines!(
    a_draft_of_two_criteria_leaves_the_rest_to_do,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (x, _) = two_claimed(c)?;
            let todo = reminders::todo(c, &x.reporter)?;
            assert_eq!(todo.len(), 1);
            assert_eq!(
                (
                    todo[0].owed.owner,
                    todo[0].owed.criteria_left(),
                    todo[0].reminded
                ),
                (Owner::Unit(x.w.units[0]), x.n - 2, None)
            );
            assert_eq!(todo[0].names[0].0, x.w.units[0]);
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(a_reviewer_without_a_team_has_nothing_to_do, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (x, _) = two_claimed(c)?;
        assert!(reminders::todo(c, &x.reviewer)?.is_empty(), "no team yet");
        Ok(())
    })
    .unwrap();
});

both_engines!(
    the_sweep_reminds_once_only_inside_the_window_before_the_deadline,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let (x, _) = two_claimed(c)?;
            let early = x.self_due - reminders::REMIND_BEFORE - chrono::Duration::hours(1);
            assert_eq!(reminders::sweep(c, early)?, 0);
            assert_eq!(reminders::sweep(c, x.now)?, 3);
            assert_eq!(reminders::sweep(c, x.now)?, 0, "once each");
            assert_eq!(
                reminders::sweep(c, x.self_due + chrono::Duration::hours(1))?,
                0,
                "nothing after the deadline"
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(a_reminder_records_what_was_left, |t: TestDb| {
    t.db.write_blocking(|c| {
        let (x, _) = swept(c)?;
        let sent = reminders::sent(c, &x.s)?;
        let mine = sent
            .iter()
            .find(|r| r.owner() == Owner::Unit(x.w.units[0]))
            .unwrap();
        assert_eq!(
            (mine.criteria_left, mine.times, mine.sender.as_str()),
            (i32::try_from(x.n).unwrap() - 2, 1, "")
        );
        assert!(reminders::todo(c, &x.reporter)?[0].reminded.is_some());
        Ok(())
    })
    .unwrap();
});

both_engines!(a_reminder_is_audited, |t: TestDb| {
    t.db.write_blocking(|c| {
        swept(c)?;
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
        Ok(())
    })
    .unwrap();
});

both_engines!(once_submitted_a_unit_owes_nothing, |t: TestDb| {
    t.db.write_blocking(|c| {
        let x = self_assessment_submitted(c)?;
        assert!(reminders::todo(c, &x.reporter)?.is_empty());
        Ok(())
    })
    .unwrap();
});

both_engines!(
    the_organiser_reminds_the_units_that_still_owe_again,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let x = self_assessment_submitted(c)?;
            assert_eq!(reminders::remind_now(c, &x.w.organiser, x.s.id)?, 2);
            let sent = reminders::sent(c, &x.s)?;
            let times = |u: i64| {
                sent.iter()
                    .find(|r| r.owner() == Owner::Unit(u))
                    .unwrap()
                    .times
            };
            let u = &x.w.units;
            assert_eq!((times(u[0]), times(u[1]), times(u[2])), (1, 2, 2));
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(only_the_organiser_reminds_at_will, |t: TestDb| {
    t.db.write_blocking(|c| {
        let x = self_assessment_submitted(c)?;
        assert!(matches!(
            reminders::remind_now(c, &x.w.elsewhere, x.s.id),
            Err(DbError::NotFound)
        ));
        assert!(matches!(
            reminders::remind_now(c, &x.reporter, x.s.id),
            Err(DbError::NotFound)
        ));
        Ok(())
    })
    .unwrap();
});

both_engines!(
    in_the_first_verification_nothing_is_left_to_the_unit,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let x = first_verification(c)?;
            assert!(
                reminders::todo(c, &x.reporter)?.is_empty(),
                "nothing left to the unit"
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    in_the_first_verification_the_reviewer_owes_every_unit_of_their_team,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let x = first_verification(c)?;
            let owed = reminders::owed(c, &x.s, Who::Everyone)?;
            assert_eq!(owed.len(), 1);
            assert_eq!(
                (owed[0].owner, owed[0].units.len(), owed[0].criteria_left()),
                (Owner::Reviewer(x.reviewer.user_id().unwrap()), 3, 3 * x.n)
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(a_reviewer_owes_the_units_not_yet_scored, |t: TestDb| {
    t.db.write_blocking(|c| {
        let x = reviewer_scored_one(c)?;
        let todo = reminders::todo(c, &x.reviewer)?;
        assert_eq!(todo.len(), 1);
        assert_eq!(
            (todo[0].owed.units.len(), todo[0].owed.criteria_left()),
            (2, 2 * x.n)
        );
        let mut left: Vec<i64> = todo[0].names.iter().map(|(u, _)| *u).collect();
        left.sort_unstable();
        let mut expected = x.w.units[1..].to_vec();
        expected.sort_unstable();
        assert_eq!(left, expected);
        Ok(())
    })
    .unwrap();
});

both_engines!(a_reviewer_is_reminded_before_their_deadline, |t: TestDb| {
    t.db.write_blocking(|c| {
        let x = reviewer_scored_one(c)?;
        assert_eq!(reminders::sweep(c, x.now)?, 0, "ten days ahead");
        assert_eq!(
            reminders::sweep(c, x.first_due - chrono::Duration::days(1))?,
            1
        );
        let sent = reminders::sent(c, &x.s)?;
        assert_eq!(sent.len(), 1, "this stage's reminders only");
        assert_eq!((sent[0].kind.as_str(), sent[0].units_left), ("reviewer", 2));
        Ok(())
    })
    .unwrap();
});

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
