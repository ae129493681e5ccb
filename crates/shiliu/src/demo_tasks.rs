//! The demo's work plan, after Liuzhou's: a three-year plan to become a national model city of
//! ethnic unity (一年强基础、两年见成效、三年创示范), decomposed into six areas, 25 tasks and
//! 60 measures handed to 40 of the city's units, in force since January; this year's ledgers:
//! most reports confirmed, some sent back with an opinion, some waiting, some never sent
//! (overdue); what was said (怎么说: a speech, a document, a meeting) linked to the tasks that
//! carry it out; two inspections this year with 15 findings: closed (销号), reported and waiting,
//! sent back, open, and overdue and escalated. The sheet goes through the checks an upload does,
//! and everything is stored through `shiliu_db::tasks`.

use chrono::{Datelike, NaiveDate, NaiveTime};
use rand::Rng;
use rand::rngs::StdRng;
use shiliu_db::scope::{Actor, Can, Scope, grants};
use shiliu_db::tasks::{self, ledger};
use shiliu_db::{DbConnection, DbError, org};
use shiliu_domain::tasks::{PlanInput, PlanStatus, ReportInput, SheetRow, place_sheet};

/// A measure: what, and when (a rhythm, or the month it is due: `Y+n年m月底前`).
type Measure = (&'static str, Due);

#[derive(Clone, Copy)]
enum Due {
    Rhythm(&'static str),
    /// Years after the plan's first, and the month.
    Month(i32, u32),
}

/// A task and its measures.
type Task = (&'static str, &'static [Measure]);

/// Areas, each with its tasks and their measures.
const PLAN: [(&str, &[Task]); 6] = [
    (
        "一、加强组织领导",
        &[
            (
                "健全创建工作机制",
                &[
                    ("成立创建工作领导小组并定期研究部署", Due::Rhythm("每半年")),
                    ("制定年度工作要点和任务分解表", Due::Month(0, 3)),
                    ("将创建工作纳入年度绩效考评", Due::Month(0, 6)),
                    ("建立创建工作联络员制度", Due::Month(0, 3)),
                ],
            ),
            (
                "压实部门责任",
                &[
                    ("签订创建工作目标责任书", Due::Month(0, 4)),
                    ("每季度报送创建工作进展", Due::Rhythm("每季度")),
                ],
            ),
            (
                "强化经费保障",
                &[
                    ("将创建工作经费列入财政预算", Due::Rhythm("每年")),
                    ("设立创建工作专项资金", Due::Month(0, 5)),
                ],
            ),
        ],
    ),
    (
        "二、深化宣传教育",
        &[
            (
                "开展民族团结进步“十进”活动",
                &[
                    ("进机关", Due::Rhythm("每季度")),
                    ("进企业", Due::Rhythm("每季度")),
                    ("进社区", Due::Rhythm("每季度")),
                    ("进乡镇", Due::Rhythm("每季度")),
                    ("进学校", Due::Rhythm("每季度")),
                    ("进宗教活动场所", Due::Rhythm("每半年")),
                    ("进军营", Due::Rhythm("每半年")),
                    ("进窗口单位", Due::Rhythm("每季度")),
                    ("进景区", Due::Rhythm("每半年")),
                    ("进家庭", Due::Rhythm("每季度")),
                ],
            ),
            (
                "办好民族节庆活动",
                &[
                    ("举办“三月三”民族文化活动", Due::Month(0, 4)),
                    ("开展民族团结进步宣传月活动", Due::Month(0, 9)),
                    ("举办“六月六”“达努节”等节庆活动", Due::Rhythm("每年")),
                ],
            ),
            (
                "加强宣传阵地建设",
                &[
                    ("建设民族团结进步主题公园（长廊）", Due::Month(1, 12)),
                    ("在主流媒体开设创建工作专栏", Due::Rhythm("长期坚持")),
                    ("开设创建工作微信公众号并每月发布动态", Due::Rhythm("每月")),
                ],
            ),
            (
                "打造文艺精品",
                &[
                    ("创作民族团结进步题材文艺作品", Due::Month(1, 12)),
                    ("开展“民族团结一家亲”文艺汇演", Due::Rhythm("每年")),
                ],
            ),
        ],
    ),
    (
        "三、推动高质量发展",
        &[
            (
                "促进就业增收",
                &[
                    ("开展少数民族群众技能培训", Due::Rhythm("每年")),
                    ("组织少数民族群众专场招聘会", Due::Rhythm("每半年")),
                    ("建设创业孵化基地和创业街", Due::Month(1, 12)),
                ],
            ),
            (
                "推进乡村振兴",
                &[
                    ("推进民族村寨基础设施建设", Due::Month(1, 12)),
                    ("发展民族地区特色产业", Due::Month(1, 12)),
                    ("开展消费帮扶", Due::Rhythm("每季度")),
                ],
            ),
            (
                "加强民族团结进步教育",
                &[
                    ("铸牢中华民族共同体意识教育进课堂", Due::Rhythm("每半年")),
                    ("建设民族团结进步教育基地", Due::Month(1, 12)),
                    ("推广国家通用语言文字", Due::Rhythm("长期坚持")),
                ],
            ),
        ],
    ),
    (
        "四、提升服务管理",
        &[
            (
                "完善流动人口服务管理",
                &[
                    ("推广流动人口自主申报", Due::Month(0, 12)),
                    ("建立流出地与流入地联动机制", Due::Month(0, 6)),
                    ("设立“民族之家”服务站点", Due::Month(1, 6)),
                ],
            ),
            (
                "化解矛盾纠纷",
                &[
                    ("开展矛盾纠纷排查化解", Due::Rhythm("每月")),
                    ("建立律师参与调解工作机制", Due::Month(0, 9)),
                    ("设立“解忧超市”受理群众诉求", Due::Month(0, 9)),
                ],
            ),
            (
                "加强法治保障",
                &[
                    ("开展民族政策法规宣传", Due::Rhythm("每季度")),
                    ("清理涉民族因素的规范性文件", Due::Month(0, 10)),
                    ("培训基层干部民族政策", Due::Rhythm("每年")),
                ],
            ),
            (
                "做好监测预警",
                &[
                    ("开展民族关系监测评估", Due::Rhythm("每半年")),
                    ("完善涉民族因素案事件处置预案", Due::Month(0, 8)),
                ],
            ),
        ],
    ),
    (
        "五、加强示范创建",
        &[
            (
                "培育示范单位",
                &[
                    ("组织示范单位创建申报", Due::Rhythm("每年")),
                    ("开展示范单位复查", Due::Month(1, 12)),
                    ("命名一批民族团结进步教育基地", Due::Month(1, 12)),
                ],
            ),
            (
                "建设“民族之家”",
                &[
                    ("建设社区“民族之家”", Due::Month(1, 12)),
                    ("开展“结对认亲”活动", Due::Rhythm("每季度")),
                    ("评选“五星级”流动人口", Due::Rhythm("每年")),
                ],
            ),
            (
                "创建示范村（社区）",
                &[
                    ("创建民族团结进步示范村（社区）", Due::Month(2, 12)),
                    ("开展示范村（社区）经验交流", Due::Rhythm("每年")),
                ],
            ),
            (
                "打造工作品牌",
                &[("打造“石榴籽”工作品牌", Due::Month(2, 6))],
            ),
        ],
    ),
    (
        "六、强化督查考核",
        &[
            (
                "开展督查指导",
                &[
                    ("开展巡回督导", Due::Rhythm("每半年")),
                    ("开展专项督查", Due::Month(0, 11)),
                    ("督促整改督查发现的问题", Due::Rhythm("每季度")),
                    ("通报督查结果", Due::Rhythm("每半年")),
                ],
            ),
            (
                "推进信息化管理",
                &[
                    ("建设民族事务信息化平台", Due::Month(0, 12)),
                    ("建立工作台账电子化管理", Due::Month(0, 6)),
                ],
            ),
            (
                "总结评估",
                &[
                    ("开展创建工作“回头看”", Due::Month(1, 9)),
                    ("形成创建工作总结报告", Due::Month(2, 11)),
                    ("迎接国家创建验收", Due::Month(2, 12)),
                ],
            ),
        ],
    ),
];

/// Targets some measures count against.
fn target(measure: &str) -> &'static str {
    match measure {
        "开展少数民族群众技能培训" => "≥12期",
        "组织少数民族群众专场招聘会" => "≥2场",
        "培训基层干部民族政策" => "≥4期",
        "创建民族团结进步示范村（社区）" => "≥10个",
        _ => "",
    }
}

/// What the units write in their reports.
const PROGRESS: [&str; 6] = [
    "已按计划推进，召开专题会议研究部署，相关台账资料已归档。",
    "本期组织开展活动，群众参与积极，活动照片和签到表已上传。",
    "已制定工作方案，明确责任人和时间节点，正在抓紧落实。",
    "会同相关单位联合开展，覆盖辖区各乡镇（街道），成效明显。",
    "已完成阶段性任务，下一步将总结经验、巩固提升。",
    "结合实际细化措施，建立工作台账，按月跟踪进度。",
];

const OPINIONS: [&str; 3] = [
    "请补充活动照片和签到表等佐证材料。",
    "进展表述笼统，请写明开展场次、参与人数等具体数据。",
    "请对照任务分解表逐项说明完成情况。",
];

/// Make the demo's plan unless the city already has one; returns the units it hands tasks to.
pub fn seed(
    c: &mut DbConnection,
    actor: &Actor,
    rng: &mut StdRng,
    scale: crate::demo::Scale,
) -> Result<usize, DbError> {
    // The city of the demo's evaluation, so its reporter (钦州市教育局) has tasks too.
    let code = match scale {
        crate::demo::Scale::Full | crate::demo::Scale::Province => "450700",
        crate::demo::Scale::Small => "450100",
    };
    let city = org::get_region_by_code(c, &Scope::everything(), code)?;
    let city_scope = Scope::subtrees(vec![city.path.clone()]);
    if !tasks::plans(c, &city_scope)?.is_empty() {
        return Ok(0);
    }
    let organiser = Can::<grants::ManageTasks>::check(actor)?;
    let roster = crate::demo_eval::roster(c, actor, &city, 40)?;
    let mut units: Vec<(String, &'static str)> = Vec::new();
    for (id, category, _) in &roster {
        units.push((org::get_unit(c, &Scope::everything(), *id)?.name, category));
    }
    let year = shiliu_db::today().year();
    let input = PlanInput::parse(
        &format!(
            "{}创建全国民族团结进步示范市实施方案（{year}—{}年）",
            city.name,
            year + 2
        ),
        &format!("{}创建全国民族团结进步示范市工作领导小组办公室", city.name),
        &format!("{year}-01-01"),
        &format!("{}-12-31", year + 2),
        &[
            (
                "强基础",
                &format!("{year}-01-01"),
                &format!("{year}-12-31"),
                "一年强基础：建机制、定任务、打基础",
            ),
            (
                "见成效",
                &format!("{}-01-01", year + 1),
                &format!("{}-12-31", year + 1),
                "两年见成效：各项任务全面推进、取得实效",
            ),
            (
                "创示范",
                &format!("{}-01-01", year + 2),
                &format!("{}-12-31", year + 2),
                "三年创示范：巩固提升，迎接验收",
            ),
        ],
    )
    .map_err(DbError::Invalid)?;
    let plan = tasks::create_plan(c, &organiser, city.id, &input)?;
    let rows = sheet(year, &units, rng);
    let refused = |problems: Vec<(usize, shiliu_domain::FieldError)>| {
        DbError::Invalid(shiliu_domain::FieldErrors(
            problems.into_iter().map(|(_, e)| e).collect(),
        ))
    };
    let placed = place_sheet(&rows).map_err(refused)?;
    let tree = match tasks::replace_tree(c, &organiser, plan.id, 1, &placed)? {
        Ok(tree) => tree,
        Err(problems) => return Err(refused(problems)),
    };
    let plan = tasks::set_status(c, &organiser, plan.id, 2, PlanStatus::Active)?;
    this_years_reports(c, &organiser, &plan, &tree, rng)?;
    let visited: Vec<i64> = roster.iter().map(|(id, ..)| *id).collect();
    inspections(c, &organiser, &plan, &visited, rng)?;
    instructions(c, &organiser, &plan, &tree, &city.name)?;
    // The reminders and escalations the server's sweep would have sent by now.
    tasks::reminders::sweep(c, shiliu_db::now())?;
    Ok(roster.len())
}

/// The decomposition sheet, as a commission would fill it in.
fn sheet(year: i32, units: &[(String, &'static str)], rng: &mut StdRng) -> Vec<(usize, SheetRow)> {
    let departments: Vec<&String> = units
        .iter()
        .filter(|(_, c)| *c == "市直部门")
        .map(|(n, _)| n)
        .collect();
    let named = |part: &str| units.iter().find(|(n, _)| n.contains(part)).map(|(n, _)| n);
    let mut rows = Vec::new();
    let mut line = 1;
    let mut task_no = 0;
    for (area, area_tasks) in PLAN {
        line += 1;
        rows.push((
            line,
            SheetRow {
                seq: area.to_string(),
                ..SheetRow::default()
            },
        ));
        for (task, measures) in area_tasks {
            task_no += 1;
            for (i, (measure, due)) in measures.iter().enumerate() {
                line += 1;
                // The commission leads its own work; education, publicity and the rest theirs.
                let lead = if measure.contains("学校")
                    || measure.contains("课堂")
                    || measure.contains("语言")
                {
                    named("教育局")
                } else if measure.contains("法") || measure.contains("调解") {
                    named("司法局")
                } else if measure.contains("就业")
                    || measure.contains("培训")
                    || measure.contains("招聘")
                {
                    named("人力资源")
                } else {
                    None
                }
                .or_else(|| {
                    departments
                        .get(rng.gen_range(0..departments.len().max(1)))
                        .copied()
                })
                .cloned()
                .unwrap_or_default();
                let co: Vec<String> = (0..rng.gen_range(1..=3))
                    .map(|_| units[rng.gen_range(0..units.len())].0.clone())
                    .filter(|n| *n != lead)
                    .collect();
                let due = match due {
                    Due::Rhythm(r) => (*r).to_string(),
                    Due::Month(after, month) => format!("{}年{month}月底前", year + after),
                };
                rows.push((
                    line,
                    SheetRow {
                        seq: if i == 0 {
                            task_no.to_string()
                        } else {
                            String::new()
                        },
                        task: if i == 0 {
                            (*task).to_string()
                        } else {
                            String::new()
                        },
                        measure: (*measure).to_string(),
                        lead_units: lead,
                        co_units: co.join("、"),
                        due,
                        target: target(measure).to_string(),
                        notes: String::new(),
                    },
                ));
            }
        }
    }
    rows
}

/// This year's reports: for every measure and unit, most begun periods reported; those ended
/// more than two weeks ago mostly decided (confirmed, or now and then sent back).
fn this_years_reports(
    c: &mut DbConnection,
    organiser: &Can<grants::ManageTasks>,
    plan: &tasks::Plan,
    tree: &tasks::Tree,
    rng: &mut StdRng,
) -> Result<usize, DbError> {
    let today = shiliu_db::today();
    let now = shiliu_db::now();
    // A moment of a day in China's time, never later than now.
    let at = |d: NaiveDate, hour: u32| {
        let local = d.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default());
        shiliu_domain::calendar::utc(local).min(now)
    };
    let mut n = 0;
    for node in tree.reported() {
        let asked = ledger::asked(plan, &node.item);
        for unit in &node.units {
            for period in asked.open_periods(today) {
                // Some never report (overdue), mostly the latest periods.
                if rng.gen_range(0..100) < 12 {
                    continue;
                }
                let last = period.ends_on.min(today);
                let span = (last - period.starts_on).num_days().max(0);
                let sent = period.starts_on + chrono::Duration::days(rng.gen_range(0..=span));
                let figure = node.item.target_value.map(|t| {
                    let share = rng.gen_range(40..=110);
                    t * share / 100
                });
                let input = ReportInput {
                    period: period.code.clone(),
                    progress: PROGRESS[rng.gen_range(0..PROGRESS.len())].to_string(),
                    figure,
                };
                let settled = period.ends_on + chrono::Duration::days(14) < today;
                let decided = (settled || rng.gen_range(0..100) < 40)
                    .then(|| {
                        let on = (sent + chrono::Duration::days(rng.gen_range(1..=10))).min(today);
                        if rng.gen_range(0..100) < 12 {
                            (
                                false,
                                Some(OPINIONS[rng.gen_range(0..OPINIONS.len())]),
                                at(on, 16),
                            )
                        } else {
                            (true, None, at(on, 16))
                        }
                    })
                    .filter(|_| rng.gen_range(0..100) < 92);
                ledger::load_past(
                    c,
                    organiser,
                    (plan, node.item.id, unit.unit_id),
                    &input,
                    at(sent, 10),
                    decided,
                )?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Problems inspections find, with what they require.
const FINDINGS: [(&str, &str); 15] = [
    (
        "创建工作台账资料不完整，部分活动缺少照片和签到表",
        "补齐本年度活动台账及佐证材料",
    ),
    (
        "民族团结进步宣传氛围不浓，宣传栏内容长期未更新",
        "更新宣传栏内容，每季度至少更新一次",
    ),
    (
        "领导小组未按要求每半年专题研究创建工作",
        "召开专题会议研究部署，形成会议纪要",
    ),
    (
        "“十进”活动开展不均衡，进企业、进宗教活动场所次数偏少",
        "制定补缺计划，年底前各类场所至少开展一次",
    ),
    (
        "少数民族流动人口服务台账与实际不符",
        "逐户核对更新，建立动态更新机制",
    ),
    (
        "民族团结进步教育课时未落实",
        "按课程计划补足课时，留存教案和课表",
    ),
    (
        "创建联络员调整后未及时报备",
        "重新明确联络员并报市创建办备案",
    ),
    (
        "民族政策法规学习培训覆盖面不足",
        "组织专题培训，实现干部职工全覆盖",
    ),
    (
        "窗口单位未设置少数民族群众服务指引",
        "设置双语服务指引和便民服务点",
    ),
    (
        "对上级督查反馈问题整改不彻底",
        "对照问题清单逐项复核，销号管理",
    ),
    (
        "民族团结进步示范单位创建材料归档不规范",
        "按档案管理要求分类整理归档",
    ),
    (
        "社区民族之家活动开展频次不足",
        "每月至少开展一次主题活动并记录",
    ),
    (
        "矛盾纠纷排查化解记录不完整",
        "完善排查台账，明确责任人和化解时限",
    ),
    ("创建经费未列入年度预算", "将创建工作经费列入下年度部门预算"),
    (
        "新媒体平台民族团结宣传推送偏少",
        "开设专栏，每月推送不少于两篇",
    ),
];

/// How each of the 15 findings stands: its steps after being raised (days after it), and
/// whether its deadline is a month or two after the inspection.
const COURSES: [&[(&str, i64)]; 15] = [
    &[("reported", 12), ("closed", 18)],
    &[("reported", 20), ("closed", 25)],
    &[
        ("reported", 9),
        ("returned", 14),
        ("reported", 26),
        ("closed", 30),
    ],
    &[("reported", 15), ("closed", 21)],
    &[("reported", 28)],
    &[("reported", 16), ("returned", 20)],
    &[],
    &[("reported", 10), ("closed", 16)],
    &[],
    &[("reported", 6), ("closed", 9)],
    &[("reported", 7)],
    &[("reported", 11)],
    &[],
    &[],
    &[("reported", 8), ("returned", 12)],
];

/// Two inspections of the plan this year — a tour of units in spring and a special inspection
/// in autumn (or as early as the year allows) — with 15 findings between them.
fn inspections(
    c: &mut DbConnection,
    organiser: &Can<grants::ManageTasks>,
    plan: &tasks::Plan,
    units: &[i64],
    rng: &mut StdRng,
) -> Result<(), DbError> {
    use shiliu_db::tasks::inspections as insp;
    use shiliu_domain::tasks::inspections::{FindingInput, InspectionFields, InspectionInput};
    let today = shiliu_db::today();
    let now = shiliu_db::now();
    let at = |d: NaiveDate| {
        let local = d.and_time(NaiveTime::from_hms_opt(15, 0, 0).unwrap_or_default());
        shiliu_domain::calendar::utc(local).min(now)
    };
    let year = plan.starts_on.year();
    let rounds = [
        ("创建工作巡回督导", "tour", 120, 0..9),
        ("民族团结进步创建专项督查", "special", 45, 9..15),
    ];
    for (k, (title, kind, ago, findings)) in rounds.into_iter().enumerate() {
        let day = (today - chrono::Duration::days(ago)).max(plan.starts_on);
        let end = (day + chrono::Duration::days(2)).min(today).max(day);
        let visited: Vec<i64> = (0..6)
            .map(|i| units[(k * 6 + i * 5) % units.len()])
            .collect();
        let ids: Vec<String> = visited.iter().map(ToString::to_string).collect();
        let input = InspectionInput::parse(
            InspectionFields {
                title: &format!("{year}年{title}"),
                kind,
                team: "组长：市创建办副主任；成员：市民宗委、市委统战部、市委宣传部相关科室负责同志",
                starts_on: &day.to_string(),
                ends_on: &end.to_string(),
                notes: "",
            },
            &ids,
            (plan.starts_on, plan.ends_on),
        )
        .map_err(DbError::Invalid)?;
        let inspection = insp::create(c, organiser, plan.id, &input)?;
        for n in findings {
            let (problem, measures) = FINDINGS[n];
            let due = end + chrono::Duration::days(if n % 3 == 0 { 60 } else { 30 });
            let mut steps: Vec<(&str, &str, chrono::NaiveDateTime)> = COURSES[n]
                .iter()
                .map(|(action, after)| {
                    let on = (end + chrono::Duration::days(*after)).min(today);
                    let body = match *action {
                        "reported" => PROGRESS[rng.gen_range(0..PROGRESS.len())],
                        "returned" => OPINIONS[rng.gen_range(0..OPINIONS.len())],
                        _ => "",
                    };
                    (*action, body, at(on))
                })
                .collect();
            let open = !COURSES[n].iter().any(|(a, _)| *a == "closed");
            if open && due < today {
                steps.push(("escalated", "", at(due + chrono::Duration::days(1))));
            }
            insp::load_past(
                c,
                organiser,
                (plan, &inspection),
                &FindingInput {
                    unit_id: visited[rng.gen_range(0..visited.len())],
                    problem: problem.into(),
                    measures: Some(measures.into()),
                    due_on: due,
                },
                at(end),
                &steps,
            )?;
        }
    }
    Ok(())
}

/// An instruction: (source, title, 文号, issuer, days after the plan began, words, which of
/// the plan's tasks — every n-th, from the k-th — carry it out).
type Said = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static str,
    (usize, usize),
);

/// What was said about the plan.
const SAID: [Said; 4] = [
    (
        "document",
        "关于印发创建全国民族团结进步示范市实施方案的通知",
        "办发〔{year}〕8号",
        "市委办公室、市人民政府办公室",
        20,
        "各县（区）、市直各单位要把创建工作纳入重要议事日程，对照任务分解表逐项抓好落实，建立“怎么说”的任务清单和“怎么做”的工作台账。",
        (1, 0),
    ),
    (
        "speech",
        "在全市创建全国民族团结进步示范市工作推进会上的讲话",
        "",
        "市委主要领导",
        45,
        "要紧盯清单台账抓落实，一年强基础、两年见成效、三年创示范；各牵头单位要主动担当，配合单位要密切协作。",
        (3, 0),
    ),
    (
        "meeting",
        "市创建工作领导小组第一次全体会议",
        "",
        "市创建工作领导小组",
        60,
        "会议明确：宣传教育、“十进”活动和示范单位培育是今年的重点，市创建办每季度开展一次巡回督导。",
        (4, 1),
    ),
    (
        "speech",
        "在民族团结进步宣传月活动启动仪式上的讲话",
        "",
        "市委统战部部长",
        120,
        "要创新宣传方式，用好新媒体平台，推动民族团结进步宣传教育进机关、进企业、进社区、进学校。",
        (5, 2),
    ),
];

/// The instructions of [`SAID`], each linked to its share of the plan's tasks.
fn instructions(
    c: &mut DbConnection,
    organiser: &Can<grants::ManageTasks>,
    plan: &tasks::Plan,
    tree: &tasks::Tree,
    city: &str,
) -> Result<(), DbError> {
    use shiliu_domain::tasks::TaskLevel;
    use shiliu_domain::tasks::instructions::{InstructionFields, InstructionInput};
    let today = shiliu_db::today();
    let task_ids: Vec<i64> = tree
        .nodes
        .iter()
        .filter(|n| n.item.level() == TaskLevel::Task)
        .map(|n| n.item.id)
        .collect();
    let year = plan.starts_on.year().to_string();
    let short: String = city.chars().take(1).collect();
    for (source, title, reference, issuer, after, body, (every, from)) in SAID {
        let said_on = (plan.starts_on + chrono::Duration::days(after)).min(today);
        let items: Vec<String> = task_ids
            .iter()
            .skip(from)
            .step_by(every)
            .take(8)
            .map(ToString::to_string)
            .collect();
        let reference = if reference.is_empty() {
            String::new()
        } else {
            format!("{short}{}", reference.replace("{year}", &year))
        };
        let input = InstructionInput::parse(
            InstructionFields {
                source,
                title,
                reference: &reference,
                issuer,
                said_on: &said_on.to_string(),
                body,
            },
            &items,
            today,
        )
        .map_err(DbError::Invalid)?;
        tasks::instructions::create(c, organiser, plan.id, &input)?;
    }
    Ok(())
}
