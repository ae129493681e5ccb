//! The demo's performance evaluation, after Qinzhou's: 109 units of 钦州市 in categories
//! (counties, city departments, townships, schools and enterprises), 3 areas and 4 items of
//! criteria with bonus and deduction items. Last year's scheme is carried through every stage
//! — self-assessment, both verifications (field teams at the key units), objections decided,
//! results published, one correction after — and this year's starts as its copy, open for
//! self-assessment, so the demo's reporter and evaluator have work to do.
//!
//! Everything goes through `shiliu_db::evaluation`, the path the pages use.

use rand::Rng;
use rand::rngs::StdRng;
use shiliu_db::evaluation::access::access;
use shiliu_db::evaluation::{self as ev, Participant, results, scores, teams};
use shiliu_db::org::{self, ListFilter};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::{DbConnection, DbError};
use shiliu_domain::evaluation::{Points, Round, SchemeInput, ScoreInput, SheetRow, place_sheet};
use shiliu_domain::org::UnitInput;

/// The indicator sheet: (code, name, points, kind, guidance, evidence).
const SHEET: [(&str, &str, &str, &str, &str, &str); 17] = [
    ("1", "组织领导", "30", "", "", ""),
    ("1.1", "领导责任与工作机制", "", "", "", ""),
    (
        "1.1.1",
        "成立民族团结进步创建工作领导小组，主要领导任组长",
        "8",
        "",
        "查看成立文件，未成立不得分",
        "成立文件",
    ),
    (
        "1.1.2",
        "年度工作计划、任务分解表并按期推进",
        "12",
        "",
        "有计划得 6 分，有分解表并逐项推进得 6 分",
        "年度计划、任务分解表",
    ),
    (
        "1.1.3",
        "领导班子专题研究民族工作不少于 2 次",
        "10",
        "",
        "每次 5 分",
        "会议纪要",
    ),
    ("2", "工作成效", "50", "", "", ""),
    ("2.1", "创建活动与服务管理", "", "", "", ""),
    (
        "2.1.1",
        "开展民族团结进步“十进”活动",
        "12",
        "",
        "每进一类场所 2 分，最高 12 分",
        "活动记录、照片",
    ),
    (
        "2.1.2",
        "少数民族流动人口服务管理",
        "15",
        "",
        "建立服务台账、开展就业帮扶",
        "服务台账",
    ),
    (
        "2.1.3",
        "矛盾纠纷排查化解",
        "13",
        "",
        "排查台账完整，化解率 90% 以上得满分",
        "排查化解台账",
    ),
    (
        "2.1.4",
        "民族政策宣传教育",
        "10",
        "",
        "宣传阵地、宣传品发放记录",
        "宣传资料",
    ),
    ("3", "群众评价与加减分", "20", "", "", ""),
    ("3.1", "群众评价", "", "", "", ""),
    (
        "3.1.1",
        "群众满意度测评",
        "20",
        "",
        "按第三方测评满意率折算",
        "测评报告",
    ),
    ("3.2", "加分与扣分", "", "", "", ""),
    (
        "3.2.1",
        "获评国家级、自治区级示范单位或教育基地",
        "5",
        "加分",
        "国家级 5 分，自治区级 3 分",
        "命名文件",
    ),
    (
        "3.2.2",
        "发生涉民族因素负面事件并造成影响",
        "10",
        "扣分",
        "每起扣 5 分",
        "情况通报",
    ),
];

fn sheet() -> Result<Vec<shiliu_domain::evaluation::PlacedIndicator>, DbError> {
    let rows: Vec<(usize, SheetRow)> = SHEET
        .iter()
        .enumerate()
        .map(|(i, (code, name, points, kind, guidance, evidence))| {
            let kind = match *kind {
                "加分" => "bonus",
                "扣分" => "deduction",
                _ => "",
            };
            (
                i + 2,
                SheetRow {
                    code: (*code).into(),
                    name: (*name).into(),
                    points: (*points).into(),
                    kind: kind.into(),
                    guidance: (*guidance).into(),
                    evidence: (*evidence).into(),
                },
            )
        })
        .collect();
    place_sheet(&rows).map_err(|e| {
        let (row, err) = &e[0];
        DbError::invalid(&format!("sheet row {row}: {}", err.field), err.reason)
    })
}

/// Departments that take part besides those every demo city has.
const MORE_DEPARTMENTS: [&str; 16] = [
    "委统战部",
    "发展和改革委员会",
    "民政局",
    "文化广电体育和旅游局",
    "卫生健康委员会",
    "住房和城乡建设局",
    "市场监督管理局",
    "农业农村局",
    "自然资源局",
    "财政局",
    "商务局",
    "医疗保障局",
    "退役军人事务局",
    "工业和信息化局",
    "妇女联合会",
    "共青团委员会",
];

/// The unit of this name among `units`, or a new one at `region`.
fn unit_named(
    c: &mut DbConnection,
    actor: &Actor,
    units: &[org::Named<org::Unit>],
    region: &org::Region,
    name: &str,
    category: &str,
) -> Result<i64, DbError> {
    if let Some(u) = units.iter().find(|u| u.item.name == name) {
        return Ok(u.item.id);
    }
    let input = UnitInput::parse(name, category, "", "").map_err(DbError::Invalid)?;
    Ok(org::create_unit(c, actor, region.id, &input)?.id)
}

/// The units taking part, by category, up to `count`: (unit id, category name, key unit).
pub(crate) fn roster(
    c: &mut DbConnection,
    actor: &Actor,
    city: &org::Region,
    count: usize,
) -> Result<Vec<(i64, &'static str, bool)>, DbError> {
    let scope = Scope::subtrees(vec![city.path.clone()]);
    let filter = ListFilter::default();
    let mut units = org::list_units(c, &scope, &filter, 10_000)?;
    units.sort_by_key(|u| u.item.id);
    let counties = org::children(c, &Scope::everything(), city.id, false)?;
    let mut out: Vec<(i64, &'static str, bool)> = Vec::new();
    // Each county's (district's) own bureau takes part as the county.
    for county in &counties {
        let name = format!("{}民族宗教事务局", county.name);
        let id = unit_named(c, actor, &units, county, &name, "county_district")?;
        out.push((id, "县（市、区）", true));
    }
    for u in &units {
        let category = match u.item.category.as_str() {
            "department" | "organisation" => "市直部门",
            "school" => "学校",
            "enterprise" => "企业",
            _ => continue,
        };
        if !out.iter().any(|(id, _, _)| *id == u.item.id) {
            out.push((u.item.id, category, u.item.name.contains("教育局")));
        }
    }
    // More of the city's departments, as Qinzhou's list has them.
    for dept in MORE_DEPARTMENTS {
        let name = format!("{}{dept}", city.name);
        let id = unit_named(c, actor, &units, city, &name, "department")?;
        if !out.iter().any(|(x, _, _)| *x == id) {
            out.push((id, "市直部门", false));
        }
    }
    // Townships (streets) fill the rest, as their governments.
    'towns: for county in &counties {
        for town in org::children(c, &Scope::everything(), county.id, false)? {
            if out.len() >= count {
                break 'towns;
            }
            // A 街道 is run by its 办事处, a 镇 or 乡 by its 人民政府.
            let name = if town.name.ends_with("街道") {
                format!("{}办事处", town.name)
            } else {
                format!("{}人民政府", town.name)
            };
            let id = unit_named(c, actor, &units, &town, &name, "township_street")?;
            out.push((id, "乡镇（街道）", out.len().is_multiple_of(9)));
        }
    }
    out.truncate(count);
    Ok(out)
}

/// A criterion's score for a unit of this `quality` (0.6–1.0), in half points.
fn scored(max: Points, quality: f64, rng: &mut StdRng) -> Points {
    let jitter: f64 = rng.gen_range(-0.08..0.08);
    let share = (quality + jitter).clamp(0.0, 1.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let half_points = (max.as_f64() * share * 2.0).round() as i64;
    Points(half_points * 50)
}

/// Create the demo's schemes unless the city already has one; returns the units taking part.
pub fn seed(
    c: &mut DbConnection,
    actor: &Actor,
    rng: &mut StdRng,
    scale: crate::demo::Scale,
) -> Result<usize, DbError> {
    // The demo's evaluator (钦州市) reviews in the full demo; the small one is 南宁市's.
    let (code, organiser, count, reviewer) = match scale {
        crate::demo::Scale::Full | crate::demo::Scale::Province => {
            ("450700", "钦州市民族宗教事务委员会", 109, Some("evaluator"))
        }
        crate::demo::Scale::Small => ("450100", "南宁市民族宗教事务委员会", 12, None),
    };
    let city = org::get_region_by_code(c, &Scope::everything(), code)?;
    let city_scope = Scope::subtrees(vec![city.path.clone()]);
    if !ev::schemes(c, &city_scope)?.is_empty() {
        return Ok(0);
    }
    let units = roster(c, actor, &city, count)?;
    let last = last_year(c, actor, rng, (&city, organiser, reviewer), &units)?;
    this_year(c, actor, rng, last, &units)?;
    Ok(units.len())
}

fn day(y: i32, m: u32, d: u32) -> Option<chrono::NaiveDateTime> {
    chrono::NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|x| x.and_hms_opt(9, 0, 0))
        .map(shiliu_domain::calendar::utc)
}

/// Last year's scheme, through every stage to publication.
#[allow(clippy::too_many_lines)]
fn last_year(
    c: &mut DbConnection,
    actor: &Actor,
    rng: &mut StdRng,
    (city, organiser, reviewer): (&org::Region, &str, Option<&str>),
    units: &[(i64, &'static str, bool)],
) -> Result<i64, DbError> {
    let year = shiliu_db::today()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap_or(2026)
        - 1;
    let input = SchemeInput::parse(
        &year.to_string(),
        &format!("{year}年度民族团结进步创建工作绩效考评"),
        organiser,
        "field_first",
        "5",
        "10",
        "优秀 90, 良好 80, 合格 60, 不合格 0",
    )
    .map_err(DbError::Invalid)?;
    let s = ev::create_scheme(c, actor, city.id, &input)?;
    let mut version = s.version;
    let mut category_ids: Vec<(&str, i64)> = Vec::new();
    for name in ["县（市、区）", "市直部门", "乡镇（街道）", "学校", "企业"] {
        if units.iter().any(|(_, k, _)| *k == name) {
            category_ids.push((name, ev::add_category(c, actor, s.id, version, name)?.id));
            version += 1;
        }
    }
    for (unit, category, key) in units {
        let category_id = category_ids
            .iter()
            .find(|(n, _)| n == category)
            .map_or(0, |(_, id)| *id);
        let p = Participant {
            scheme_id: s.id,
            unit_id: *unit,
            category_id,
            key_unit: *key,
        };
        ev::add_participant(c, actor, s.id, version, &p)?;
        version += 1;
    }
    let tree = ev::replace_tree(c, actor, s.id, version, &sheet()?)?;
    version += 1;
    // Departments answer less to the grass-roots work of area 2: it counts for 40 there.
    if let (Some((_, depts)), Some((area, _))) = (
        category_ids.iter().find(|(n, _)| *n == "市直部门"),
        tree.areas().find(|(a, _)| a.code == "2"),
    ) {
        ev::set_weights(
            c,
            actor,
            s.id,
            version,
            *depts,
            &[(area.id, Some(Points(4000)))],
        )?;
        version += 1;
    }
    ev::set_deadlines(
        c,
        actor,
        s.id,
        version,
        [
            day(year, 3, 31),
            day(year, 4, 30),
            day(year, 5, 31),
            day(year, 6, 20),
        ],
    )?;
    version += 1;
    let criteria: Vec<(
        i64,
        String,
        Points,
        shiliu_domain::evaluation::CriterionKind,
    )> = tree
        .criteria()
        .map(|x| (x.id, x.code.clone(), x.max(), x.kind()))
        .collect();
    let quality: Vec<f64> = units.iter().map(|_| rng.gen_range(0.62..0.99)).collect();
    let advance = |c: &mut DbConnection, version: &mut i32| -> Result<(), DbError> {
        let s = ev::advance(c, actor, s.id, *version)?;
        *version = s.version;
        Ok(())
    };
    let score_round = |c: &mut DbConnection,
                       rng: &mut StdRng,
                       unit: i64,
                       q: f64,
                       round: Round,
                       note: &str|
     -> Result<(), DbError> {
        let a = access(c, actor, s.id)?;
        let entries: Vec<(i64, ScoreInput)> = criteria
            .iter()
            .map(|(id, _, max, kind)| {
                let points = match kind {
                    shiliu_domain::evaluation::CriterionKind::Standard => scored(*max, q, rng),
                    shiliu_domain::evaluation::CriterionKind::Bonus => {
                        if rng.gen_bool(0.25) {
                            Points(300)
                        } else {
                            Points::ZERO
                        }
                    }
                    shiliu_domain::evaluation::CriterionKind::Deduction => {
                        if rng.gen_bool(0.05) {
                            Points(500)
                        } else {
                            Points::ZERO
                        }
                    }
                };
                (
                    *id,
                    ScoreInput {
                        points: Some(points),
                        note: Some(note.to_string()),
                    },
                )
            })
            .collect();
        scores::save(c, actor, &a, unit, round, &entries)?;
        Ok(())
    };
    advance(c, &mut version)?; // self-assessment
    for ((unit, _, _), q) in units.iter().zip(&quality) {
        score_round(
            c,
            rng,
            *unit,
            (q + 0.08).min(1.0),
            Round::SelfAssessment,
            "已按要求完成，台账齐全",
        )?;
        let a = access(c, actor, s.id)?;
        scores::submit(c, actor, &a, *unit)?;
    }
    let first = teams::create_team(c, actor, s.id, Round::First, "第一考评组（市民宗委）")?;
    if let Some(name) = reviewer {
        teams::add_member(c, actor, s.id, first.id, name)?;
    }
    advance(c, &mut version)?; // first review
    for ((unit, _, _), q) in units.iter().zip(&quality) {
        score_round(c, rng, *unit, *q, Round::First, "台账基本齐全")?;
    }
    for (i, name) in ["实地考核验收第一工作组", "实地考核验收第二工作组"]
        .iter()
        .enumerate()
    {
        let team = teams::create_team(c, actor, s.id, Round::Field, name)?;
        let keys: Vec<i64> = units
            .iter()
            .filter(|(_, _, key)| *key)
            .enumerate()
            .filter(|(j, _)| j % 2 == i)
            .map(|(_, (u, _, _))| *u)
            .collect();
        teams::assign_units(c, actor, s.id, team.id, &keys)?;
        if let Some(name) = reviewer {
            teams::add_member(c, actor, s.id, team.id, name)?;
        }
    }
    advance(c, &mut version)?; // field review
    for ((unit, _, key), q) in units.iter().zip(&quality) {
        if *key {
            score_round(c, rng, *unit, *q, Round::Field, "实地查看，情况属实")?;
        }
    }
    advance(c, &mut version)?; // feedback
    let (standard_id, standard_code, standard_max) = criteria
        .iter()
        .find(|(_, code, _, _)| code == "2.1.2")
        .map(|(id, code, max, _)| (*id, code.clone(), *max))
        .ok_or(DbError::NotFound)?;
    let objecting: Vec<i64> = units.iter().step_by(11).map(|(u, _, _)| *u).collect();
    for unit in &objecting {
        let a = access(c, actor, s.id)?;
        let ask = ScoreInput::parse(
            &standard_code,
            &standard_max.to_string(),
            "已补充服务台账和就业帮扶记录",
            standard_max,
        )
        .map_err(DbError::Invalid)?;
        scores::save(c, actor, &a, *unit, Round::Objection, &[(standard_id, ask)])?;
    }
    advance(c, &mut version)?; // final
    for (i, unit) in objecting.iter().enumerate() {
        let a = access(c, actor, s.id)?;
        if i % 2 == 0 {
            results::decide(
                c,
                actor,
                &a,
                *unit,
                standard_id,
                true,
                Some(standard_max),
                "补充材料属实，予以采纳",
            )?;
        } else {
            results::decide(
                c,
                actor,
                &a,
                *unit,
                standard_id,
                false,
                None,
                "补充材料形成于考核之后，不予采纳",
            )?;
        }
    }
    advance(c, &mut version)?; // published
    let a = access(c, actor, s.id)?;
    if let Some((unit, _, _)) = units.get(3) {
        results::correct(
            c,
            actor,
            &a,
            *unit,
            standard_id,
            Points(1200),
            "复核发现服务台账重复计数",
        )?;
    }
    Ok(s.id)
}

/// This year's scheme: a copy of last year's, out for self-assessment; a few units have
/// submitted, some have drafts.
fn this_year(
    c: &mut DbConnection,
    actor: &Actor,
    rng: &mut StdRng,
    last: i64,
    units: &[(i64, &'static str, bool)],
) -> Result<(), DbError> {
    let year = shiliu_db::today()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap_or(2026);
    let s = ev::copy_scheme(
        c,
        actor,
        last,
        year,
        &format!("{year}年度民族团结进步创建工作绩效考评"),
    )?;
    let now = shiliu_db::now();
    let due = |days: i64| Some(now + chrono::Duration::days(days));
    let s = ev::set_deadlines(
        c,
        actor,
        s.id,
        s.version,
        [due(21), due(45), due(60), due(75)],
    )?;
    ev::advance(c, actor, s.id, s.version)?;
    let tree = ev::tree(c, &s)?;
    for (i, (unit, _, _)) in units.iter().enumerate().take(units.len() / 3) {
        let a = access(c, actor, s.id)?;
        let entries: Vec<(i64, ScoreInput)> = tree
            .criteria()
            .filter(|x| x.kind() == shiliu_domain::evaluation::CriterionKind::Standard)
            .map(|x| {
                (
                    x.id,
                    ScoreInput {
                        points: Some(scored(x.max(), rng.gen_range(0.8..1.0), rng)),
                        note: Some("按要求完成".into()),
                    },
                )
            })
            .collect();
        scores::save(c, actor, &a, *unit, Round::SelfAssessment, &entries)?;
        if i % 2 == 0 {
            let rest: Vec<(i64, ScoreInput)> = tree
                .criteria()
                .filter(|x| x.kind() != shiliu_domain::evaluation::CriterionKind::Standard)
                .map(|x| {
                    (
                        x.id,
                        ScoreInput {
                            points: Some(Points::ZERO),
                            note: None,
                        },
                    )
                })
                .collect();
            scores::save(c, actor, &a, *unit, Round::SelfAssessment, &rest)?;
            scores::submit(c, actor, &a, *unit)?;
        }
    }
    Ok(())
}
