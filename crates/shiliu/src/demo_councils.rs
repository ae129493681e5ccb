//! The demo's councils: a few of 南宁's communities hold "逢四说事" (the 4th, 14th and 24th) and
//! one an "老友议事会" every week, each with its members and a year of meetings — who came,
//! what residents raised (in person, through a grid worker, on the public page), what was
//! decided with someone responsible and a deadline and whether it was done in time, what was
//! declined, and the last meetings' items handed to requests (one of them handled and closed
//! already). A few items wait for the next meeting. Everything goes through
//! `shiliu_db::councils`, with the checks a form gets.

use chrono::{Days, NaiveDate};
use rand::Rng;
use rand::rngs::StdRng;
use shiliu_db::councils::{self, items, meetings};
use shiliu_db::org::{self, Region};
use shiliu_db::scope::{Actor, Can, Scope, grants};
use shiliu_db::{DbConnection, DbError};
use shiliu_domain::councils::{
    Channel, CouncilInput, Decision, FollowUp, ItemInput, MeetingInput, MemberInput,
};

/// The demo's city.
const CITY: &str = "450100";

/// Members: (name, role, who they are).
const MEMBERS: [(&str, &str, &str); 7] = [
    ("黄秀英", "convener", "社区党委书记"),
    ("韦德明", "member", "老党员"),
    ("覃桂兰", "member", "退休教师"),
    ("马建国", "member", "楼栋长"),
    ("蒙丽华", "member", "少数民族流动人口代表"),
    ("陆海涛", "member", "物业公司经理"),
    ("李志强", "attendee", "社区民警"),
];

/// What residents raise, with what the council decides and who sees to it.
const ITEMS: [(&str, &str, &str); 12] = [
    (
        "三巷路灯坏了，晚上出行不安全",
        "联系供电所更换路灯",
        "社区主任",
    ),
    (
        "楼道堆放杂物，存在消防隐患",
        "组织楼栋长清理楼道杂物",
        "楼栋长",
    ),
    (
        "小区停车乱，消防通道被占",
        "划定停车位，设置消防通道标识",
        "物业公司",
    ),
    (
        "希望开设少数民族语言儿童兴趣班",
        "协调社区活动室周末开班",
        "社区文化专干",
    ),
    (
        "新搬来的务工人员不熟悉办事流程",
        "编印办事指南，网格员上门发放",
        "网格员",
    ),
    (
        "广场舞音量太大影响休息",
        "协商调整活动时间和音量",
        "社区主任",
    ),
    ("垃圾分类点气味大", "增加清运频次，定期消杀", "环卫站"),
    ("老年人就餐不方便", "与长者饭堂对接送餐服务", "社区民政专干"),
    (
        "三月三活动想请更多居民参加",
        "提前一周张贴通知，楼栋群转发",
        "社区文化专干",
    ),
    ("雨天小区门口积水", "报请市政疏通排水管", "社区主任"),
    (
        "邻里因漏水产生纠纷",
        "组织双方调解，物业协助维修",
        "人民调解员",
    ),
    ("健身器材损坏", "报修并设置警示", "物业公司"),
];

/// What a meeting declines, and why.
const DECLINED: [(&str, &str); 3] = [
    (
        "要求在小区内建菜市场",
        "不符合小区规划，已建议到附近农贸市场",
    ),
    ("希望减免物业费", "属业主大会决定事项，已告知程序"),
    (
        "要求禁止外来人员进入小区",
        "不符合相关规定，改为加强门岗登记",
    ),
];

/// Needs a department: handed to a request.
const REFERRED: [&str; 3] = [
    "孩子转学需要哪些材料，想咨询入学政策",
    "务工工资被拖欠三个月，希望帮忙讨要",
    "想参加技能培训，不知道到哪里报名",
];

/// Who raises them (they agreed to be named on the notice about half the time).
const RESIDENTS: [&str; 8] = [
    "蓝阿姨",
    "覃师傅",
    "马女士",
    "黄大爷",
    "陆先生",
    "韦大姐",
    "蒙阿婆",
    "农小妹",
];

/// How many councils, and whether their meetings go back a year (the small demo, which every
/// browser test seeds, keeps two councils and a quarter).
fn how_many(scale: crate::demo::Scale) -> (usize, u64) {
    match scale {
        crate::demo::Scale::Small => (2, 90),
        _ => (4, 364),
    }
}

/// Seed the councils once (none when the city has some); how many meetings were recorded.
pub fn seed(
    c: &mut DbConnection,
    actor: &Actor,
    rng: &mut StdRng,
    scale: crate::demo::Scale,
) -> Result<(usize, usize), DbError> {
    let (councils_n, days_back) = how_many(scale);
    let all = Scope::everything();
    let city = org::get_region_by_code(c, &all, CITY)?;
    let city_scope = Scope::subtrees(vec![city.path.clone()]);
    if !councils::list(c, &city_scope, None, 1)?.is_empty() {
        return Ok((0, 0));
    }
    let run = Can::<grants::RunCouncils>::check(actor)?;
    let raise = Can::<grants::RaiseCouncilItems>::check(actor)?;
    let intake = Can::<grants::CreateRequests>::check(actor)?;
    let today = shiliu_db::today();
    let first = today
        .checked_sub_days(Days::new(days_back))
        .unwrap_or(today);
    let communities = communities_with_grids(c, &city_scope)?;
    let category = shiliu_db::requests::categories(c, false)?
        .into_iter()
        .next()
        .map(|k| k.id)
        .ok_or(DbError::NotFound)?;
    let mut made = 0;
    let mut closed_one = false;
    for (n, community) in communities.iter().take(councils_n).enumerate() {
        let weekly = n == 1;
        let (name, rhythm) = if weekly {
            (format!("{}老友议事会", community.name), ("weekly", "3"))
        } else {
            (
                format!("{}“逢四说事”议事会", community.name),
                ("fourths", ""),
            )
        };
        let council = councils::create(
            c,
            &run,
            &CouncilInput::parse(
                &name,
                &community.code,
                rhythm,
                "社区党群服务中心议事厅",
                "09:30",
            )
            .map_err(DbError::Invalid)?,
        )?;
        let mut members = Vec::new();
        for (i, (who, role, note)) in MEMBERS.iter().enumerate() {
            let phone = format!("1390771{:04}", n * 100 + i);
            let input = MemberInput::parse(who, role, note, &phone).map_err(DbError::Invalid)?;
            members.push(councils::add_member(c, &run, &council, &input)?.id);
        }
        let days = council.schedule().days(first, today);
        let last = days.len().saturating_sub(2);
        for (k, day) in days.iter().enumerate() {
            // Now and then a day is called off (a festival, a typhoon): no row for it.
            if rng.gen_bool(0.08) {
                continue;
            }
            let present: Vec<String> = members
                .iter()
                .filter(|_| rng.gen_bool(0.8))
                .map(ToString::to_string)
                .collect();
            let guests = rng.gen_range(3..25).to_string();
            let notes = "通报上次议定事项办理情况；逐件商议本次事项。";
            let m = meetings::record(
                c,
                &run,
                &council,
                &MeetingInput::parse(&day.to_string(), &present, &guests, notes, today)
                    .map_err(DbError::Invalid)?,
            )?;
            made += 1;
            let recent = k >= last;
            for _ in 0..rng.gen_range(1..=3) {
                let on = day_before(*day, rng);
                let item = raised(c, &raise, &council, rng, on, Pick::Decided)?;
                let d = &ITEMS[rng.gen_range(0..ITEMS.len())];
                let due = *day + Days::new(rng.gen_range(5..30));
                let decision =
                    Decision::parse(d.1, d.2, &due.to_string(), *day).map_err(DbError::Invalid)?;
                let decided =
                    items::decide(c, &run, &council, &m, (item.id, item.version), &decision)?;
                // Most are done, mostly in time; the last meetings' are still followed up.
                let done_on = if rng.gen_bool(0.8) {
                    due.checked_sub_days(Days::new(rng.gen_range(0..5)))
                } else {
                    due.checked_add_days(Days::new(rng.gen_range(1..10)))
                };
                if let Some(done) = done_on.filter(|d| !recent && *d <= today) {
                    let f =
                        FollowUp::parse(&done.to_string(), "已按议定办理，居民满意", *day, today)
                            .map_err(DbError::Invalid)?;
                    items::follow_up(c, &run, &council, (decided.id, decided.version), &f)?;
                }
            }
            if rng.gen_bool(0.15) {
                let on = day_before(*day, rng);
                let item = raised(c, &raise, &council, rng, on, Pick::Declined)?;
                let reason = DECLINED
                    .iter()
                    .find(|(t, _)| *t == item.text)
                    .map_or("不属于议事会议定范围", |(_, r)| r);
                items::decline(c, &run, &council, &m, (item.id, item.version), reason)?;
            }
            if recent {
                let on = day_before(*day, rng);
                let item = raised(c, &raise, &council, rng, on, Pick::Referred)?;
                let (_, r) = items::refer(
                    c,
                    &run,
                    &intake,
                    (&council, &m),
                    (item.id, item.version),
                    category,
                )?;
                if !closed_one {
                    close(c, actor, &r, community)?;
                    closed_one = true;
                }
            }
        }
        // What waits for the next meeting, one from the public page.
        for _ in 0..2 {
            raised(c, &raise, &council, rng, today, Pick::Decided)?;
        }
        let text = "小区门口斑马线褪色，孩子上学过马路不安全";
        let input = ItemInput::parse(Channel::Public, text, "农小妹", "", true)
            .map_err(DbError::Invalid)?;
        items::raise_public(c, &Actor::resident("demo", "127.0.0.1"), &council, &input)?;
    }
    Ok((communities.len().min(councils_n), made))
}

/// Which list an item's words come from.
#[derive(Clone, Copy)]
enum Pick {
    Decided,
    Declined,
    Referred,
}

/// An item raised on `day` (at a time in office hours), by a resident in person or through a
/// grid worker.
fn raised(
    c: &mut DbConnection,
    raise: &Can<grants::RaiseCouncilItems>,
    council: &councils::Council,
    rng: &mut StdRng,
    day: NaiveDate,
    pick: Pick,
) -> Result<items::Item, DbError> {
    let text = match pick {
        Pick::Decided => ITEMS[rng.gen_range(0..ITEMS.len())].0,
        Pick::Declined => DECLINED[rng.gen_range(0..DECLINED.len())].0,
        Pick::Referred => REFERRED[rng.gen_range(0..REFERRED.len())],
    };
    let who = RESIDENTS[rng.gen_range(0..RESIDENTS.len())];
    let channel = if rng.gen_bool(0.4) {
        Channel::GridWorker
    } else {
        Channel::InPerson
    };
    let phone = format!("1380771{:04}", rng.gen_range(0..10_000));
    let input = ItemInput::parse(channel, text, who, &phone, rng.gen_bool(0.5))
        .map_err(DbError::Invalid)?;
    let item = items::raise(c, raise, council, &input)?;
    let at = shiliu_domain::calendar::utc(
        day.and_hms_opt(rng.gen_range(8..18), rng.gen_range(0..60), 0)
            .unwrap_or_default(),
    );
    if at < shiliu_db::now() {
        items::set_raised_at(c, council, item.id, at)?;
    }
    items::get(c, council, item.id)
}

/// A day up to ten days before `day`: when an item came in before its meeting.
fn day_before(day: NaiveDate, rng: &mut StdRng) -> NaiveDate {
    day.checked_sub_days(Days::new(rng.gen_range(1..10)))
        .unwrap_or(day)
}

/// Take a referred request through its handling to its close (the community's own unit).
fn close(
    c: &mut DbConnection,
    actor: &Actor,
    r: &shiliu_db::requests::Request,
    community: &Region,
) -> Result<(), DbError> {
    use shiliu_db::requests::StepInput;
    use shiliu_domain::requests::{Action, ActionInput, Outcome};
    let here = Scope::subtrees(vec![community.path.clone()]);
    let units = org::list_units(c, &here, &org::ListFilter::default(), 1)?;
    let Some(unit) = units.first() else {
        return Ok(());
    };
    let mut r = r.clone();
    for (action, input) in [
        (
            Action::Dispatch,
            StepInput {
                unit_id: Some(unit.item.id),
                ..StepInput::default()
            },
        ),
        (Action::Accept, StepInput::default()),
        (
            Action::Resolve,
            StepInput {
                action_input: ActionInput {
                    outcome: Some(Outcome::Solved),
                    reply: Some("已联系学校，告知所需材料并协助办理".into()),
                    ..ActionInput::default()
                },
                ..StepInput::default()
            },
        ),
        (Action::Close, StepInput::default()),
    ] {
        r = shiliu_db::requests::step(c, actor, r.id, r.version, action, &input)?;
    }
    Ok(())
}

/// 南宁's communities that have grids, in the tree's order.
fn communities_with_grids(c: &mut DbConnection, city: &Scope) -> Result<Vec<Region>, DbError> {
    use shiliu_domain::org::RegionKind;
    let all = Scope::everything();
    let mut out = Vec::new();
    for root in org::scope_roots(c, city)? {
        for county in org::children(c, &all, root.id, false)? {
            for town in org::children(c, &all, county.id, false)? {
                for r in org::children(c, &all, town.id, false)? {
                    if r.kind() == RegionKind::Community
                        && !org::children(c, &all, r.id, false)?.is_empty()
                    {
                        out.push(r);
                    }
                }
            }
        }
    }
    Ok(out)
}
