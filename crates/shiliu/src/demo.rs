//! `shiliu demo`: realistic synthetic data for Guangxi, created once and refreshed safely
//! (items that exist are left as they are, so running it again changes nothing).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shiliu_db::accounts::{self, NewUser};
use shiliu_db::org::{self, ListFilter, Region};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::{Db, DbConnection, DbError};
use shiliu_domain::accounts::Username;
use shiliu_domain::org::{RegionInput, RegionKind, SiteInput, UnitInput};
use shiliu_domain::roles::Role;

pub const DEMO_PASSWORD: &str = "Shiliu-2026!";

/// The demo accounts: user name, display name, role, region code, and for grid workers a grid.
pub const DEMO_USERS: [(&str, &str, Role, &str); 11] = [
    ("admin", "系统管理员", Role::SystemAdmin, "450000"),
    (
        "nanning",
        "南宁市民宗委 韦秀兰",
        Role::CommissionStaff,
        "450100",
    ),
    (
        "liuzhou",
        "柳州市民宗委 覃明",
        Role::CommissionStaff,
        "450200",
    ),
    // The home county of many of 南宁's migrants: it sees them as its out-migrants (流出地).
    (
        "sanjiang",
        "三江县民宗局 杨光明",
        Role::CommissionStaff,
        "450226",
    ),
    ("beihu", "北湖街道 黄海燕", Role::TownshipStaff, "450107002"),
    ("grid", "网格员 蒙小丽", Role::GridWorker, "450107002"),
    ("site", "民族之家 陆建华", Role::SiteStaff, "450107"),
    ("lawyer", "红石榴工作室 李律师", Role::LegalAid, "450100"),
    ("evaluator", "考评组 莫志刚", Role::Evaluator, "450700"),
    (
        "reporter",
        "钦州市教育局 填报员",
        Role::UnitReporter,
        "450700",
    ),
    ("leader", "自治区民宗委 领导", Role::Leader, "450000"),
];

const COMMUNITY_NAMES: [&str; 12] = [
    "万秀",
    "北湖",
    "秀厢",
    "友爱",
    "明秀",
    "安吉",
    "相思湖",
    "龙腾",
    "石榴",
    "团结",
    "和谐",
    "幸福",
];
const COMMUNITY_SUFFIX: [&str; 2] = ["社区", "村"];
const CITY_DEPARTMENTS: [(&str, &str); 6] = [
    ("民族宗教事务委员会", "department"),
    ("教育局", "department"),
    ("人力资源和社会保障局", "department"),
    ("司法局", "department"),
    ("公安局", "department"),
    ("总工会", "organisation"),
];

/// How much to create: everything (the demo), or one city's worth (end-to-end tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Full,
    /// Sites and units in 南宁市 only; communities and grids in 西乡塘区 only.
    Small,
}

#[derive(Debug, Default)]
pub struct DemoCounts {
    pub communities: usize,
    pub grids: usize,
    pub sites: usize,
    pub units: usize,
    pub users: usize,
    pub requests: usize,
    pub people: usize,
    /// Needs found by the demo's survey.
    pub needs: usize,
    /// Units taking part in the demo's evaluation schemes (a year published, a year running).
    pub evaluated_units: usize,
    /// Units the demo's work plan hands tasks to.
    pub planned_units: usize,
}

fn all(c: &mut DbConnection, parent: &Region) -> Result<Vec<Region>, DbError> {
    org::children(c, &Scope::everything(), parent.id, true)
}

/// Communities and grids for every township of Nanning and Liuzhou's urban districts, a
/// 民族之家 and a migrant service station in every county, a 解忧超市 in most townships,
/// departments in every city, schools and enterprises in every county, and one account per role.
pub fn seed(
    db: &Db,
    password_hash: &str,
    scale: Scale,
    vault: &shiliu_db::registry::Vault,
) -> Result<DemoCounts, DbError> {
    let actor = Actor::system("cli:demo");
    let hash = password_hash.to_string();
    db.write_blocking(|c| {
        let mut n = DemoCounts::default();
        let mut rng = StdRng::seed_from_u64(2026);
        let everything = Scope::everything();
        let gx = org::get_region_by_code(c, &everything, "450000")?;
        let existing_sites: std::collections::HashSet<String> = org::list_sites(
            c,
            &everything,
            &ListFilter {
                include_inactive: true,
                ..Default::default()
            },
            1_000_000,
        )?
        .into_iter()
        .map(|s| s.item.name)
        .collect();
        let existing_units: std::collections::HashSet<String> = org::list_units(
            c,
            &everything,
            &ListFilter {
                include_inactive: true,
                ..Default::default()
            },
            1_000_000,
        )?
        .into_iter()
        .map(|s| s.item.name)
        .collect();
        let site = |c: &mut DbConnection,
                    n: &mut DemoCounts,
                    region: &Region,
                    name: String,
                    kind: &str,
                    rng: &mut StdRng|
         -> Result<(), DbError> {
            if existing_sites.contains(&name) {
                return Ok(());
            }
            let phone = format!("0771-{}", rng.gen_range(2_000_000..6_999_999));
            let input = SiteInput::parse(
                &name,
                kind,
                &format!("{}{}", region.name, "政务服务中心旁"),
                "",
                &phone,
                "周一至周五 8:00-12:00 15:00-18:00",
            )
            .map_err(DbError::Invalid)?;
            org::create_site(c, &actor, region.id, &input)?;
            n.sites += 1;
            Ok(())
        };
        for city in all(c, &gx)? {
            if scale == Scale::Small && city.code != "450100" {
                continue;
            }
            for (dept, cat) in CITY_DEPARTMENTS {
                let name = format!("{}{}", city.name, dept);
                if !existing_units.contains(&name) {
                    org::create_unit(
                        c,
                        &actor,
                        city.id,
                        &UnitInput::parse(&name, cat, "", "").map_err(DbError::Invalid)?,
                    )?;
                    n.units += 1;
                }
            }
            for county in all(c, &city)? {
                site(
                    c,
                    &mut n,
                    &county,
                    format!("{}民族之家", county.name),
                    "minzu_home",
                    &mut rng,
                )?;
                site(
                    c,
                    &mut n,
                    &county,
                    format!("{}流动人口服务中心", county.name),
                    "migrant_station",
                    &mut rng,
                )?;
                for (suffix, cat) in [
                    ("第一中学", "school"),
                    ("民族中学", "school"),
                    ("工业园区企业服务中心", "enterprise"),
                ] {
                    let name = format!("{}{}", county.name, suffix);
                    if !existing_units.contains(&name) {
                        org::create_unit(
                            c,
                            &actor,
                            county.id,
                            &UnitInput::parse(&name, cat, "", "").map_err(DbError::Invalid)?,
                        )?;
                        n.units += 1;
                    }
                }
                let townships = all(c, &county)?;
                let urban = match scale {
                    Scale::Full => {
                        county.code.starts_with("4501") || county.code.starts_with("4502")
                    }
                    Scale::Small => county.code == "450107",
                };
                for town in townships {
                    if stable_chance(&town.code, 70) {
                        site(
                            c,
                            &mut n,
                            &town,
                            format!("{}解忧超市", town.name),
                            "jieyou_desk",
                            &mut rng,
                        )?;
                    }
                    if urban && town.kind() == RegionKind::Township {
                        seed_grids(c, &actor, &town, &mut rng, &mut n)?;
                    }
                }
            }
        }
        let nn = org::get_region_by_code(c, &everything, "450100")?;
        site(
            c,
            &mut n,
            &nn,
            "红石榴法律服务工作室".into(),
            "legal_aid",
            &mut rng,
        )?;
        site(
            c,
            &mut n,
            &nn,
            "南宁市少数民族流动人口联合调解室".into(),
            "mediation",
            &mut rng,
        )?;
        for (username, display, role, code) in DEMO_USERS {
            if accounts::find_by_username(c, username)?.is_some() {
                continue;
            }
            let region = org::get_region_by_code(c, &everything, code)?;
            let grid_ids = if role == Role::GridWorker {
                let comm = all(c, &region)?
                    .into_iter()
                    .next()
                    .ok_or(DbError::NotFound)?;
                all(c, &comm)?.into_iter().take(2).map(|g| g.id).collect()
            } else {
                vec![]
            };
            let new = NewUser {
                username: Username::parse(username)?,
                display_name: display.to_string(),
                password_hash: hash.clone(),
                role,
                region_id: region.id,
                // The demo's reporter fills in 钦州市教育局's self-assessment.
                unit_id: if role == Role::UnitReporter {
                    org::unit_id_by_name(c, &everything, "钦州市教育局", "unit").ok()
                } else {
                    None
                },
                // The demo's site staff work at their district's 民族之家, which routing
                // sends many requests to: their inbox and queues have work in them.
                site_id: if role == Role::SiteStaff {
                    Some(org::site_id_by_name(
                        c,
                        &everything,
                        &format!("{}民族之家", region.name),
                        "site",
                    )?)
                } else {
                    None
                },
                phone: None,
                grid_ids,
            };
            accounts::create_user(c, &shiliu_db::scope::Can::check(&actor).unwrap(), &new)?;
            n.users += 1;
        }
        seed_on_the_spot(c, &actor)?;
        n.requests = seed_requests(c, &actor, &mut rng)?;
        let households = match scale {
            Scale::Full => 12_000,
            Scale::Small => 60,
        };
        n.people = seed_registry(c, &actor, vault, &mut rng, households)?;
        n.needs = seed_needs(c, &actor, &mut rng)?;
        seed_assists(c, &mut rng)?;
        n.evaluated_units = crate::demo_eval::seed(c, &actor, &mut rng, scale)?;
        n.planned_units = crate::demo_tasks::seed(c, &actor, &mut rng, scale)?;
        Ok(n)
    })
}

/// A yes/no that depends only on `key`, so refreshing the demo decides the same way each time
/// (the random stream differs between a first run and a refresh).
fn stable_chance(key: &str, percent: u64) -> bool {
    let h = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    h % 100 < percent
}

/// What residents ask, by category code (drawn from the documents' examples).
const REQUESTS: [(&str, &str); 12] = [
    (
        "jobs_training",
        "想参加电工技能培训，希望能推荐就近的培训班",
    ),
    (
        "school_places",
        "孩子随迁来南宁，想咨询秋季学期插班入学需要哪些材料",
    ),
    ("renting", "房东不退押金，租期已满一个月"),
    ("legal_aid", "工地拖欠三个月工资，想申请法律援助"),
    ("disputes", "与邻居因楼道堆放杂物发生争执，希望调解"),
    ("hardship_relief", "家中老人住院，生活困难，想了解临时救助"),
    ("policy", "少数民族流动人口在城区办理居住证需要什么条件"),
    ("business_licence", "想在夜市摆摊卖米粉，怎么办理营业执照"),
    ("health", "孩子需要接种疫苗，不知道在哪个社区卫生服务中心"),
    ("social_security", "老家参加的医保在南宁怎么报销"),
    (
        "household_registration",
        "想把户口迁到南宁，需要准备哪些材料",
    ),
    ("other", "社区活动室开放时间是什么时候"),
];

/// Extra questions and reply templates for two categories, as an administrator would set them.
fn seed_questions(
    c: &mut DbConnection,
    actor: &Actor,
    cats: &[shiliu_db::requests::Category],
) -> Result<(), DbError> {
    use shiliu_db::requests::questions as q;
    use shiliu_domain::requests::ReplyTemplateInput;
    use shiliu_domain::requests::questions::QuestionInput;
    let id = |code: &str| cats.iter().find(|k| k.code == code).map(|k| k.id);
    let questions: [(&str, &str, &str, &str, &str, bool, &str); 3] = [
        (
            "school_places",
            "child_age",
            "子女年龄",
            "Child's age",
            "number",
            true,
            "",
        ),
        (
            "school_places",
            "school_stage",
            "申请学段",
            "School stage",
            "single",
            true,
            "kindergarten=幼儿园\nprimary=小学\njunior=初中",
        ),
        (
            "renting",
            "deposit",
            "押金金额（元）",
            "Deposit (yuan)",
            "number",
            false,
            "",
        ),
    ];
    for (cat, code, label, label_en, kind, required, choices) in questions {
        let Some(cat) = id(cat) else { continue };
        let input = QuestionInput::parse(code, label, label_en, kind, required, choices)
            .map_err(DbError::Invalid)?;
        q::create_question(c, actor, cat, &input)?;
    }
    let templates = [
        (
            "school_places",
            "已协调学位",
            "您好，已与教育部门对接，已为孩子协调学位，请按通知时间携带户口簿、居住证到学校报到。",
        ),
        (
            "renting",
            "押金已退还",
            "您好，经社区调解，房东已同意退还押金，请注意查收。如有问题请再联系我们。",
        ),
    ];
    for (cat, title, body) in templates {
        let Some(cat) = id(cat) else { continue };
        let input = ReplyTemplateInput::parse(title, body).map_err(DbError::Invalid)?;
        q::create_reply_template(c, actor, Some(cat), &input)?;
    }
    Ok(())
}

/// The simple categories a grid worker may resolve on the spot (就地办结), as Beihai's do: a
/// policy question answered at the door, a small matter of the neighbourhood.
const ON_THE_SPOT: [&str; 2] = ["policy", "other"];

/// What residents ask a grid worker in person that they can settle there and then: waiting,
/// received, in the demo grid worker's first grid.
const ON_THE_SPOT_REQUESTS: [(&str, &str); 2] = [
    ("other", "楼下路灯坏了好几天，晚上老人出行不方便"),
    ("policy", "刚搬来想办居住证，要带哪些材料"),
];

/// Mark the simple categories as resolvable on the spot; one already marked is left alone, so
/// a refresh changes nothing.
fn seed_on_the_spot(c: &mut DbConnection, actor: &Actor) -> Result<(), DbError> {
    use shiliu_db::requests;
    for k in requests::categories(c, true)?
        .into_iter()
        .filter(|k| ON_THE_SPOT.contains(&k.code.as_str()) && !k.on_the_spot)
    {
        let input = shiliu_domain::requests::CategoryInput {
            code: k.code.clone(),
            name: k.name.clone(),
            name_en: k.name_en.clone(),
            service_minutes: k.service_minutes,
            on_the_spot: true,
        };
        requests::update_category(c, actor, k.id, k.version, &input, k.active)?;
    }
    Ok(())
}

/// A few dozen requests in 北湖街道's grids, taken in on each channel and carried to each
/// status, so every page of the module has something to show, and two for the grid worker to
/// resolve on the spot. Added once.
fn seed_requests(c: &mut DbConnection, actor: &Actor, rng: &mut StdRng) -> Result<usize, DbError> {
    use shiliu_db::requests::{self, StepInput};
    use shiliu_domain::requests::{Action, ActionInput, Channel, Outcome, Rating, RequestInput};
    if !requests::list(
        c,
        &Scope::everything(),
        &requests::RequestFilter::default(),
        1,
    )?
    .is_empty()
    {
        return Ok(0);
    }
    let cats = requests::categories(c, false)?;
    seed_questions(c, actor, &cats)?;
    let town = org::get_region_by_code(c, &Scope::everything(), "450107002")?;
    let mut grids = Vec::new();
    for comm in all(c, &town)? {
        grids.extend(all(c, &comm)?);
    }
    if grids.is_empty() {
        return Ok(0);
    }
    let channels = [Channel::Hotline, Channel::Grid, Channel::WalkIn];
    let plan: [&[Action]; 6] = [
        &[],
        &[Action::Dispatch],
        &[Action::Dispatch, Action::Accept, Action::Start],
        &[
            Action::Dispatch,
            Action::Accept,
            Action::Start,
            Action::Resolve,
        ],
        &[
            Action::Dispatch,
            Action::Accept,
            Action::Start,
            Action::Resolve,
            Action::Rate,
        ],
        &[
            Action::Dispatch,
            Action::Accept,
            Action::Start,
            Action::Resolve,
            Action::Rate,
            Action::Close,
        ],
    ];
    let mut n = 0;
    for i in 0..60 {
        let (code, text) = REQUESTS[i % REQUESTS.len()];
        let Some(cat) = cats.iter().find(|k| k.code == code) else {
            continue;
        };
        let grid = &grids[rng.gen_range(0..grids.len())];
        let phone = format!("139{:08}", rng.gen_range(0..100_000_000));
        let answers = if code == "school_places" {
            [
                (
                    "child_age".to_string(),
                    vec![rng.gen_range(3..15).to_string()],
                ),
                ("school_stage".to_string(), vec!["primary".to_string()]),
            ]
            .into()
        } else {
            shiliu_domain::requests::questions::RawAnswers::new()
        };
        let input = RequestInput::parse(channels[i % 3], text, "", "", &phone, true)
            .map_err(DbError::Invalid)?
            .with_answers(answers);
        let mut r = requests::create(c, actor, &input, cat.id, grid.id, None)?;
        for action in plan[i % plan.len()] {
            let step = StepInput {
                action_input: ActionInput {
                    outcome: Some(if rng.gen_bool(0.9) {
                        Outcome::Solved
                    } else {
                        Outcome::PartlySolved
                    }),
                    reply: Some("已与相关部门对接，按政策办理，请留意电话回访。".into()),
                    rating: Some(if rng.gen_bool(0.93) {
                        Rating::Satisfied
                    } else {
                        Rating::FairlySatisfied
                    }),
                    ..ActionInput::default()
                },
                ..StepInput::default()
            };
            if *action == Action::Dispatch && r.site_id.is_none() {
                break;
            }
            r = requests::step(c, actor, r.id, r.version, *action, &step)?;
        }
        n += 1;
    }
    let worker = shiliu_db::accounts::find_by_username(c, "grid")?;
    let first_grid = match &worker {
        Some(u) => shiliu_db::accounts::user_grid_ids(c, u.id)?
            .into_iter()
            .min(),
        None => None,
    };
    for (code, text) in ON_THE_SPOT_REQUESTS {
        let (Some(grid), Some(cat)) = (first_grid, cats.iter().find(|k| k.code == code)) else {
            continue;
        };
        let phone = format!("139{:08}", rng.gen_range(0..100_000_000));
        let input = RequestInput::parse(Channel::Grid, text, "", "", &phone, true)
            .map_err(DbError::Invalid)?;
        requests::create(c, actor, &input, cat.id, grid, None)?;
        n += 1;
    }
    Ok(n)
}

fn seed_grids(
    c: &mut DbConnection,
    actor: &Actor,
    town: &Region,
    rng: &mut StdRng,
    n: &mut DemoCounts,
) -> Result<(), DbError> {
    let mut communities = all(c, town)?;
    if communities.is_empty() {
        let count = rng.gen_range(3..=6);
        for i in 0..count {
            let base = COMMUNITY_NAMES
                [(i + town.code.len() + town.name.chars().count()) % COMMUNITY_NAMES.len()];
            let name = format!("{base}{}", COMMUNITY_SUFFIX[usize::from(rng.gen_bool(0.3))]);
            let name = if communities.iter().any(|r: &Region| r.name == name) {
                format!("{name}{}", i + 1)
            } else {
                name
            };
            let r = org::create_child_region(
                c,
                actor,
                town.id,
                &RegionInput::parse(&name, "").map_err(DbError::Invalid)?,
            )?;
            n.communities += 1;
            communities.push(r);
        }
    }
    for comm in communities {
        if !all(c, &comm)?.is_empty() {
            continue;
        }
        for i in 1..=rng.gen_range(3..=5) {
            org::create_child_region(
                c,
                actor,
                comm.id,
                &RegionInput::parse(&format!("第{i}网格"), "").map_err(DbError::Invalid)?,
            )?;
            n.grids += 1;
        }
    }
    Ok(())
}

/// Where the demo's migrants come from: a county, how many of a hundred households, and the
/// peoples (GB 3304 codes) at home there, most common first.
pub(crate) const ORIGINS: [(&str, u32, &[&str]); 17] = [
    ("451228", 12, &["13", "08"]),      // 都安瑶族自治县
    ("451229", 8, &["13", "08"]),       // 大化瑶族自治县
    ("451226", 6, &["36", "08"]),       // 环江毛南族自治县
    ("451225", 5, &["32", "08"]),       // 罗城仫佬族自治县
    ("451031", 6, &["06", "07", "37"]), // 隆林各族自治县
    ("450226", 6, &["12", "13"]),       // 三江侗族自治县
    ("450225", 6, &["06", "13"]),       // 融水苗族自治县
    ("451022", 8, &["08"]),             // 田东县
    ("451421", 6, &["08", "01"]),       // 扶绥县
    ("450681", 2, &["49", "01"]),       // 东兴市
    ("450332", 3, &["13", "01"]),       // 恭城瑶族自治县
    ("522633", 7, &["12", "06"]),       // 贵州 从江县
    ("522631", 4, &["12"]),             // 贵州 黎平县
    ("522732", 3, &["25", "09"]),       // 贵州 三都水族自治县
    ("532601", 5, &["08", "06"]),       // 云南 文山市
    ("532626", 3, &["07", "08"]),       // 云南 丘北县
    ("430102", 10, &["01"]),            // 湖南 长沙市芙蓉区
];

pub(crate) const FAMILY_NAMES: [&str; 24] = [
    "韦", "覃", "黄", "蒙", "陆", "莫", "潘", "农", "卢", "梁", "罗", "吴", "杨", "石", "龙", "谢",
    "李", "王", "张", "刘", "陈", "赵", "粟", "银",
];
pub(crate) const GIVEN_NAMES: [&str; 24] = [
    "秀兰", "海燕", "志强", "建华", "小丽", "明", "玉梅", "春花", "家豪", "金凤", "文军", "丽娟",
    "国庆", "小龙", "美玲", "永福", "桂芳", "宏伟", "雪梅", "德胜", "晓东", "月娥", "光明", "红英",
];
const STREETS: [&str; 8] = [
    "衡阳路",
    "秀灵路",
    "大学路",
    "北湖路",
    "明秀西路",
    "安吉大道",
    "友爱南路",
    "西乡塘大道",
];
const JOBS: [(&str, &str); 8] = [
    ("外卖骑手", "某外卖平台"),
    ("建筑工人", "某建筑公司"),
    ("制衣工", "某制衣厂"),
    ("保洁员", "某物业公司"),
    ("餐饮服务员", "某餐饮店"),
    ("个体经营（米粉店）", ""),
    ("保安", "某物业公司"),
    ("家政服务员", "某家政公司"),
];

/// A household planned for the demo, before its people are checked.
struct Planned {
    grid: usize,
    address: String,
    members: Vec<(
        shiliu_domain::registry::PersonForm,
        shiliu_domain::registry::Relation,
    )>,
    moved_out: Option<chrono::NaiveDate>,
    linkage: bool,
}

/// A valid ID number for someone from `county` born on `born`, the sequence made unique by
/// `serial` (odd for men).
pub(crate) fn demo_id_number(
    county: &str,
    born: chrono::NaiveDate,
    serial: u32,
    male: bool,
) -> String {
    let seq = (serial % 500) * 2 + u32::from(male);
    let first = format!("{county}{}{seq:03}", born.format("%Y%m%d"));
    let check = shiliu_domain::id_number::check_char(first.as_bytes());
    format!("{first}{check}")
}

/// 南宁市's migrant population (流动人口) in its grids, once: households from Guangxi's hill
/// counties, Guizhou, Yunnan and further, with the peoples at home there; some moved on since.
fn seed_registry(
    c: &mut DbConnection,
    actor: &Actor,
    vault: &shiliu_db::registry::Vault,
    rng: &mut StdRng,
    households: usize,
) -> Result<usize, DbError> {
    use shiliu_db::registry::{self, bulk};
    use shiliu_domain::registry::{
        ConsentChannel, ConsentPurpose, PersonForm, PersonInput, Relation,
    };
    let everything = Scope::everything();
    if registry::count(c, &everything, &registry::PersonFilter::default())? > 0 {
        return Ok(0);
    }
    let nn = org::get_region_by_code(c, &everything, "450100")?;
    let mut grids = Vec::new();
    let mut frontier = vec![nn];
    while let Some(r) = frontier.pop() {
        for child in all(c, &r)? {
            if child.kind() == RegionKind::Grid {
                grids.push(child);
            } else {
                frontier.push(child);
            }
        }
    }
    if grids.is_empty() {
        return Ok(0);
    }
    let today = shiliu_db::today();
    let mut tally = registry::Tally::default();
    let total_weight: u32 = ORIGINS.iter().map(|o| o.1).sum();
    let mut serials: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut person = |rng: &mut StdRng,
                      county: &str,
                      peoples: &[&str],
                      age: std::ops::Range<i64>,
                      male: bool,
                      family: &str,
                      arrived: chrono::NaiveDate,
                      grown: bool| {
        let born = today - chrono::Duration::days(rng.gen_range(age.start * 365..age.end * 365));
        let key = format!("{county}{born}");
        let serial = serials.entry(key).or_insert(0);
        *serial += 1;
        let id = if rng.gen_range(0..100) < 92 {
            demo_id_number(county, born, *serial, male)
        } else {
            String::new()
        };
        let job = JOBS[rng.gen_range(0..JOBS.len())];
        let employment = if grown {
            [
                "employed",
                "employed",
                "flexible",
                "self_employed",
                "unemployed",
                "flexible",
            ][rng.gen_range(0..6)]
        } else if born > today - chrono::Duration::days(6 * 365) {
            ""
        } else {
            "student"
        };
        let mut tags = Vec::new();
        if rng.gen_range(0..100) < 8 {
            tags.push("hardship".to_string());
        }
        if county.starts_with("45") && rng.gen_range(0..100) < 15 {
            tags.push("relocated".to_string());
        }
        PersonForm {
            name: format!(
                "{family}{}",
                GIVEN_NAMES[rng.gen_range(0..GIVEN_NAMES.len())]
            ),
            id_number: id,
            sex: if male { "male" } else { "female" }.into(),
            birth_date: born.format("%Y-%m-%d").to_string(),
            people: peoples
                [usize::from(rng.gen_range(0..100) >= 70) * rng.gen_range(0..peoples.len())]
            .into(),
            mobile: if grown {
                format!(
                    "1{}{:09}",
                    [3, 5, 7, 8, 9][rng.gen_range(0..5)],
                    rng.gen_range(0..1_000_000_000u64)
                )
            } else {
                String::new()
            },
            hukou: county.into(),
            address: String::new(),
            arrived_on: arrived.max(born).format("%Y-%m-%d").to_string(),
            occupation: if employment == "employed" || employment == "flexible" {
                job.0.into()
            } else {
                String::new()
            },
            employer: if employment == "employed" {
                job.1.into()
            } else {
                String::new()
            },
            employment: employment.into(),
            tags,
        }
    };
    let mut loaded = 0;
    let mut batch: Vec<Planned> = Vec::new();
    for h in 0..households {
        let mut pick = rng.gen_range(0..total_weight);
        let (county, _, peoples) = ORIGINS
            .iter()
            .find(|o| {
                if pick < o.1 {
                    true
                } else {
                    pick -= o.1;
                    false
                }
            })
            .copied()
            .unwrap_or(ORIGINS[0]);
        let family = FAMILY_NAMES[rng.gen_range(0..FAMILY_NAMES.len())];
        let arrived = today - chrono::Duration::days(rng.gen_range(30..5 * 365));
        let head_male = rng.gen_bool(0.6);
        let mut members = vec![(
            person(
                rng,
                county,
                peoples,
                22..58,
                head_male,
                family,
                arrived,
                true,
            ),
            Relation::Head,
        )];
        if rng.gen_range(0..100) < 55 {
            let theirs = FAMILY_NAMES[rng.gen_range(0..FAMILY_NAMES.len())];
            members.push((
                person(
                    rng,
                    county,
                    peoples,
                    22..55,
                    !head_male,
                    theirs,
                    arrived,
                    true,
                ),
                Relation::Spouse,
            ));
        }
        for _ in 0..rng.gen_range(0..3) {
            let boy = rng.gen_bool(0.5);
            members.push((
                person(rng, county, peoples, 1..17, boy, family, arrived, false),
                Relation::Child,
            ));
        }
        let grid = rng.gen_range(0..grids.len());
        let address = format!(
            "{}{}号{}栋{}室",
            STREETS[rng.gen_range(0..STREETS.len())],
            rng.gen_range(1..300),
            rng.gen_range(1..20),
            rng.gen_range(101..1808)
        );
        let moved_out = (rng.gen_range(0..100) < 6)
            .then(|| arrived + chrono::Duration::days((today - arrived).num_days() / 2));
        // Most agree at registration that their home county may see them (流出地联动).
        let linkage = rng.gen_range(0..100) < 85;
        batch.push(Planned {
            grid,
            address,
            members,
            moved_out,
            linkage,
        });
        if batch.len() == 2_000 || h + 1 == households {
            let mut load = Vec::with_capacity(batch.len());
            for Planned {
                grid,
                address,
                members,
                moved_out,
                linkage,
            } in batch.drain(..)
            {
                let members = members
                    .into_iter()
                    .map(|(mut f, r)| {
                        f.address.clone_from(&address);
                        PersonInput::parse(&f, today)
                            .map(|p| (p, r))
                            .map_err(DbError::Invalid)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                load.push(bulk::NewHousehold {
                    region: &grids[grid],
                    address,
                    members,
                    moved_out,
                    agreed: if linkage {
                        &[ConsentPurpose::Registration, ConsentPurpose::Linkage]
                    } else {
                        &[ConsentPurpose::Registration]
                    },
                });
            }
            loaded += bulk::load(c, actor, vault, &load, ConsentChannel::Staff, &mut tally)?;
        }
    }
    tally.journal(c)?;
    Ok(loaded)
}

/// A needs survey over 西乡塘区 two-thirds done, its needs met, planned or made requests, and
/// the services delivered: the figures the statistics page shows (jobs placed, subsidies).
fn seed_needs(c: &mut DbConnection, actor: &Actor, rng: &mut StdRng) -> Result<usize, DbError> {
    use shiliu_db::registry::needs as nd;
    use shiliu_domain::registry::needs::{NeedKind, PlanInput, ServiceInput, SurveyInput, need};
    use shiliu_domain::requests::questions::RawAnswers;
    use shiliu_domain::requests::{Channel, RequestInput};
    let everything = Scope::everything();
    if !nd::surveys(c, &everything)?.is_empty() {
        return Ok(0);
    }
    let today = shiliu_db::today();
    let day = |d: i64| (today + chrono::Duration::days(d)).to_string();
    let Ok(area) = org::get_region_by_code(c, &everything, "450107") else {
        return Ok(0);
    };
    let input = SurveyInput::parse(
        "西乡塘区少数民族流动人口就业需求摸排",
        &day(-20),
        &day(40),
        &[
            (
                "家中劳动力人数".into(),
                "number".into(),
                true,
                String::new(),
            ),
            (
                "最希望从事的工作".into(),
                "single".into(),
                false,
                "factory=进厂务工\nservice=商贸服务\nown=自主创业\nany=都可以".into(),
            ),
        ],
    )
    .map_err(DbError::Invalid)?;
    let survey = nd::create_survey(c, actor, area.id, None, &input)?;
    let mut households = Vec::new();
    let mut after = 0;
    loop {
        let page = nd::survey_households(c, actor, &survey, false, after, 1_000)?;
        let Some(last) = page.last() else { break };
        after = last.household_id;
        households.extend(page.into_iter().map(|h| h.household_id));
    }
    let jobs = ["factory", "service", "own", "any"];
    for hid in households {
        if rng.gen_range(0..100) < 35 {
            continue;
        }
        let members = nd::household_for(c, &everything, &survey, hid)?;
        let mut found = Vec::new();
        let mut workers = 0;
        for m in &members {
            let age = today.years_since(m.birth_date).unwrap_or(0);
            let looking = matches!(m.employment.as_deref(), Some("unemployed" | "flexible"));
            if (18..60).contains(&age) {
                workers += 1;
            }
            let roll = rng.gen_range(0..100);
            if looking && roll < 60 {
                found.push(need(m.id, "job", "希望找一份稳定的工作").map_err(DbError::Invalid)?);
            } else if looking && roll < 80 {
                found.push(need(m.id, "training", "想学电工或家政").map_err(DbError::Invalid)?);
            } else if (3..15).contains(&age) && roll < 10 {
                found.push(need(m.id, "school", "").map_err(DbError::Invalid)?);
            } else if m.relation.as_deref() == Some("head") && roll < 5 {
                found.push(need(m.id, "relief", "家中有病人，生活困难").map_err(DbError::Invalid)?);
            }
        }
        let mut raw = RawAnswers::new();
        raw.insert("q1".into(), vec![workers.to_string()]);
        raw.insert("q2".into(), vec![jobs[rng.gen_range(0..jobs.len())].into()]);
        nd::answer(c, actor, survey.id, hid, &raw, &found)?;
    }
    let mut needs = Vec::new();
    let mut before = None;
    loop {
        let f = nd::NeedFilter::default();
        let page = nd::needs(c, actor, &f, before, 1_000)?;
        let Some(last) = page.last() else { break };
        before = Some(last.0.id);
        needs.extend(page);
    }
    let employers = [
        "南宁富士康科技园",
        "西乡塘区家政服务公司",
        "广西糖业集团",
        "南宁万达商业广场",
    ];
    for (n, name) in &needs {
        let roll = rng.gen_range(0..100);
        let on = day(-rng.gen_range(0..15));
        let service = |kind: &str, provider: &str, amount: &str| {
            ServiceInput::parse(kind, &on, provider, amount, "", today).map_err(DbError::Invalid)
        };
        match n.kind() {
            NeedKind::Job if roll < 45 => {
                let s = service(
                    "job_placement",
                    employers[rng.gen_range(0..employers.len())],
                    "",
                )?;
                nd::record_service(c, actor, n.person_id, &s, Some(n.id))?;
            }
            NeedKind::Job if roll < 60 => {
                let input = RequestInput::parse(
                    Channel::Grid,
                    "就业岗位：希望找一份稳定的工作（需求摸排）",
                    "",
                    name,
                    "",
                    false,
                )
                .map_err(DbError::Invalid)?;
                nd::to_request(c, actor, n.id, n.version, &input)?;
            }
            NeedKind::Training if roll < 50 => {
                let s = service("training", "西乡塘区职业技能培训中心", "")?;
                nd::record_service(c, actor, n.person_id, &s, Some(n.id))?;
            }
            NeedKind::Job | NeedKind::Training if roll < 75 => {
                let p = PlanInput::parse(
                    "西乡塘区人力资源和社会保障局",
                    &day(rng.gen_range(1..30)),
                    today,
                )
                .map_err(DbError::Invalid)?;
                nd::plan(c, actor, n.id, n.version, &p)?;
            }
            NeedKind::School if roll < 60 => {
                let s = service("school_place", "衡阳路小学", "")?;
                nd::record_service(c, actor, n.person_id, &s, Some(n.id))?;
            }
            NeedKind::Relief if roll < 70 => {
                let amount = (rng.gen_range(5..21) * 100).to_string();
                let s = service("subsidy", "西乡塘区民政局", &amount)?;
                nd::record_service(c, actor, n.person_id, &s, Some(n.id))?;
            }
            _ => {}
        }
    }
    Ok(needs.len())
}

/// Requests for assistance between 三江 (home) and 南宁 (where its people live): one answered,
/// one waiting.
fn seed_assists(c: &mut DbConnection, rng: &mut StdRng) -> Result<(), DbError> {
    use shiliu_db::registry::linkage;
    use shiliu_domain::registry::AssistInput;
    let Some(sanjiang) = accounts::find_by_username(c, "sanjiang")? else {
        return Ok(());
    };
    let home = accounts::acting_as(c, &sanjiang, "demo")?;
    if !linkage::list(c, &home, linkage::Side::Outgoing, None, None, 1)?.is_empty() {
        return Ok(());
    }
    let people = linkage::out_migrants(
        c,
        &shiliu_db::scope::Can::check(&home)?,
        &linkage::OutMigrantFilter::default(),
        None,
        50,
    )?;
    if people.len() < 2 {
        return Ok(());
    }
    let today = shiliu_db::today();
    let due = (today + chrono::Duration::days(rng.gen_range(5..15))).to_string();
    let ask = |subject: &str, body: &str| {
        AssistInput::parse("verify", subject, body, &due, today).map_err(DbError::Invalid)
    };
    let first = linkage::ask(
        c,
        &home,
        people[0].id,
        &ask(
            "核实在南宁居住和就业情况",
            "该人员户籍家庭申请低保，请协助核实其在当地的居住和就业收入情况。",
        )?,
    )?;
    linkage::ask(
        c,
        &home,
        people[1].id,
        &ask(
            "核实子女就学情况",
            "请协助核实其随迁子女在当地就读情况，以便办理教育资助。",
        )?,
    )?;
    if let Some(nanning) = accounts::find_by_username(c, "nanning")? {
        let here = accounts::acting_as(c, &nanning, "demo")?;
        linkage::reply(
            c,
            &here,
            first.id,
            first.version,
            "经社区网格员入户核实：本人在西乡塘区一电子厂务工，月收入约3500元，与配偶和一名子女同住。",
        )?;
    }
    Ok(())
}
