//! `shiliu demo`: realistic synthetic data for Guangxi, created once and refreshed safely
//! (items that exist are left as they are, so running it again changes nothing).

use std::collections::{HashMap, HashSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shiliu_db::accounts::{self, NewUser};
use shiliu_db::org::{self, ListFilter, Region};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::{Db, DbConnection, DbError};
use shiliu_domain::accounts::Username;
use shiliu_domain::divisions::{self, VillageKind};
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

const CITY_DEPARTMENTS: [(&str, &str); 6] = [
    ("民族宗教事务委员会", "department"),
    ("教育局", "department"),
    ("人力资源和社会保障局", "department"),
    ("司法局", "department"),
    ("公安局", "department"),
    ("总工会", "organisation"),
];

const COUNTY_UNITS: [(&str, &str); 3] = [
    ("第一中学", "school"),
    ("民族中学", "school"),
    ("工业园区企业服务中心", "enterprise"),
];

const NANNING: &str = "450100";
const BEIHAI: &str = "450500";
/// 北海's 3,000-odd grid workers (the documents) over its 437 communities and villages.
const BEIHAI_GRIDS_EACH: usize = 7;
/// 北海's 238 解忧超市 took 116,500 requests and finished 94% of them (the documents).
const BEIHAI_REQUESTS: usize = 116_500;
const BEIHAI_COMPLETION: f64 = 0.94;
/// 桂林市秀峰区 is divided into 213 grids (the documents).
const XIUFENG: (&str, usize) = ("450302", 213);

/// A site type and how its sites' names end.
type SiteKind = (&'static str, &'static str);

/// Sites the documents count in a city, made up to that number city-wide (the demo's own at
/// its counties and townships included) with one at each community, then each village, in
/// turn: (city, how many, the types and names' ends, taken in turn).
const COUNTED_SITES: [(&str, usize, &[SiteKind]); 4] = [
    // 北海: 238 解忧超市, at the communities' party and service centres.
    (BEIHAI, 238, &[("jieyou_desk", "解忧超市")]),
    // 南宁: 362 民族之家 and service stations for minority migrants.
    (
        NANNING,
        362,
        &[
            ("minzu_home", "民族之家"),
            ("migrant_station", "少数民族流动人员服务站"),
        ],
    ),
    // 桂林: 76 民族之家 and 78 service centres (联络站) for minorities.
    ("450300", 76, &[("minzu_home", "民族之家")]),
    ("450300", 78, &[("migrant_station", "少数民族服务联络站")]),
];

/// 柳州's units the documents name (region code, name, category): the training bases for
/// minority migrants, the associations that host liaison points, the first 示范镇 and 示范村,
/// the two autonomous counties named national 示范县, and the creation office that follows
/// the departments' progress.
const LIUZHOU_UNITS: [(&str, &str, &str); 10] = [
    ("450200", "柳州市职业学院", "school"),
    ("450200", "柳州市第二职业技术学校", "school"),
    ("450200", "柳州市侗学会", "organisation"),
    ("450200", "柳州市伊斯兰教协会", "organisation"),
    ("450200", "柳州市芦笙协会", "organisation"),
    (
        "450200",
        "柳州市创建全国民族团结进步示范市工作领导小组办公室",
        "department",
    ),
    ("450223103", "鹿寨县寨沙镇人民政府", "township_street"),
    ("450223103", "寨沙镇兴等村村民委员会", "community_village"),
    ("450225", "融水苗族自治县人民政府", "county_district"),
    ("450226", "三江侗族自治县人民政府", "county_district"),
];

/// How much to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// The default demo: sites and units in every city; communities, villages and grids in 南宁
    /// and 柳州's urban districts; 南宁's grid workers, requests and migrants.
    Full,
    /// Sites and units in 南宁市 only; communities and grids in 西乡塘区 only (end-to-end tests).
    Small,
    /// The province (`shiliu demo --province`): the default demo, and in every city its urban
    /// districts' communities, villages and grids (all of 北海's), grid workers, requests and
    /// the sites the documents count.
    Province,
}

/// How many grids each community or village of a county gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grids {
    /// 3–5 a community, 2–3 a village (fewer households than a town's community).
    Usual,
    /// This many each.
    Each(usize),
    /// This many in the county, spread evenly over its communities and villages.
    Total(usize),
}

impl Grids {
    /// How many grids the `nth` of a county's `of` communities and villages gets.
    pub fn for_nth(self, nth: usize, of: usize, kind: VillageKind, rng: &mut StdRng) -> usize {
        match self {
            Grids::Usual if kind == VillageKind::Community => rng.gen_range(3..=5),
            Grids::Usual => rng.gen_range(2..=3),
            Grids::Each(k) => k,
            Grids::Total(t) => t / of.max(1) + usize::from(nth < t % of.max(1)),
        }
    }
}

/// A city's urban districts: county-level codes 01–20 are a city's districts (市辖区) in GB/T
/// 2260, 21–80 its counties and 81–99 its county-level cities.
pub fn is_district(county_code: &str) -> bool {
    county_code.len() == 6
        && county_code[4..]
            .parse::<u8>()
            .is_ok_and(|n| (1..=20).contains(&n))
}

impl Scale {
    /// Whether the townships of this county get their communities and villages, and how many
    /// grids each.
    pub fn grids(self, county_code: &str) -> Option<Grids> {
        let district = is_district(county_code);
        match self {
            Scale::Small => (county_code == "450107").then_some(Grids::Usual),
            Scale::Full => (district
                && [NANNING, "450200"]
                    .iter()
                    .any(|city| county_code.starts_with(&city[..4])))
            .then_some(Grids::Usual),
            Scale::Province if county_code == XIUFENG.0 => Some(Grids::Total(XIUFENG.1)),
            Scale::Province if county_code.starts_with(&BEIHAI[..4]) => {
                Some(Grids::Each(BEIHAI_GRIDS_EACH))
            }
            Scale::Province => district.then_some(Grids::Usual),
        }
    }

    /// The cities whose migrants are registered, and how many households in each.
    fn registered(self) -> &'static [(&'static str, usize)] {
        match self {
            Scale::Small => &[(NANNING, 60)],
            Scale::Full => &[(NANNING, 12_000)],
            Scale::Province => &[
                (NANNING, 12_000),
                ("450200", 3_000),
                ("450300", 2_000),
                (BEIHAI, 2_000),
            ],
        }
    }
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
    /// Activities and trainings of the demo's year.
    pub activities: usize,
    /// Consultation councils, and the meetings they held.
    pub councils: usize,
    pub council_meetings: usize,
}

fn all(c: &mut DbConnection, parent: &Region) -> Result<Vec<Region>, DbError> {
    org::children(c, &Scope::everything(), parent.id, true)
}

/// What the demo makes, each item once: the sites and units there are already (by name; a
/// refresh leaves them alone), and the counts of what it added.
struct Maker {
    actor: Actor,
    sites: HashSet<String>,
    units: HashSet<String>,
    rng: StdRng,
    n: DemoCounts,
}

impl Maker {
    fn load(c: &mut DbConnection) -> Result<Self, DbError> {
        let every = ListFilter {
            include_inactive: true,
            ..Default::default()
        };
        let everything = Scope::everything();
        let sites = org::list_sites(c, &everything, &every, 1_000_000)?;
        let units = org::list_units(c, &everything, &every, 1_000_000)?;
        Ok(Self {
            actor: Actor::system("cli:demo"),
            sites: sites.into_iter().map(|s| s.item.name).collect(),
            units: units.into_iter().map(|u| u.item.name).collect(),
            rng: StdRng::seed_from_u64(2026),
            n: DemoCounts::default(),
        })
    }

    /// A site of this name at `region`, unless there is one; whether it was made.
    fn site(
        &mut self,
        c: &mut DbConnection,
        region: &Region,
        name: String,
        kind: &str,
    ) -> Result<bool, DbError> {
        if self.sites.contains(&name) {
            return Ok(false);
        }
        let phone = format!("0771-{}", self.rng.gen_range(2_000_000..6_999_999));
        let input = SiteInput::parse(
            &name,
            kind,
            &format!("{}{}", region.name, "政务服务中心旁"),
            "",
            &phone,
            "周一至周五 8:00-12:00 15:00-18:00",
        )
        .map_err(DbError::Invalid)?;
        org::create_site(c, &self.actor, region.id, &input)?;
        self.sites.insert(name);
        self.n.sites += 1;
        Ok(true)
    }

    /// A unit of this name at `region`, unless there is one.
    fn unit(
        &mut self,
        c: &mut DbConnection,
        region: &Region,
        name: String,
        category: &str,
    ) -> Result<(), DbError> {
        if self.units.contains(&name) {
            return Ok(());
        }
        let input = UnitInput::parse(&name, category, "", "").map_err(DbError::Invalid)?;
        org::create_unit(c, &self.actor, region.id, &input)?;
        self.units.insert(name);
        self.n.units += 1;
        Ok(())
    }
}

/// Sites and units in every city (a 民族之家 and a migrant service centre in every county, a
/// 解忧超市 in most townships, departments, schools and enterprises); each township of the
/// scale's counties with its official communities and villages and their grids; one account per
/// role; then the requests, migrants, needs, evaluation and work plan built on them.
pub fn seed(
    db: &Db,
    password_hash: &str,
    scale: Scale,
    vault: &shiliu_db::registry::Vault,
) -> Result<DemoCounts, DbError> {
    db.write_blocking(|c| {
        let mut m = Maker::load(c)?;
        let everything = Scope::everything();
        let gx = org::get_region_by_code(c, &everything, "450000")?;
        for city in all(c, &gx)? {
            if scale != Scale::Small || city.code == NANNING {
                seed_city(c, &mut m, &city, scale)?;
            }
        }
        if scale != Scale::Small {
            for (code, name, category) in LIUZHOU_UNITS {
                let region = org::get_region_by_code(c, &everything, code)?;
                m.unit(c, &region, name.into(), category)?;
            }
        }
        if scale == Scale::Province {
            seed_counted_sites(c, &mut m)?;
        }
        // The province's demo takes minutes: say where it is.
        tracing::info!(
            communities = m.n.communities,
            grids = m.n.grids,
            sites = m.n.sites,
            "demo: regions, sites and units"
        );
        let nn = org::get_region_by_code(c, &everything, NANNING)?;
        m.site(c, &nn, "红石榴法律服务工作室".into(), "legal_aid")?;
        m.site(
            c,
            &nn,
            "南宁市少数民族流动人口联合调解室".into(),
            "mediation",
        )?;
        m.n.users = seed_users(c, &m.actor, password_hash)?;
        let Maker {
            actor,
            mut rng,
            mut n,
            ..
        } = m;
        seed_on_the_spot(c, &actor)?;
        n.requests = seed_requests(c, &actor, &mut rng)?;
        for (city, households) in scale.registered() {
            n.people += seed_registry(c, &actor, vault, &mut rng, city, *households)?;
        }
        tracing::info!(people = n.people, "demo: registered migrants");
        n.needs = seed_needs(c, &actor, &mut rng)?;
        seed_assists(c, &mut rng)?;
        n.evaluated_units = crate::demo_eval::seed(c, &actor, &mut rng, scale)?;
        n.planned_units = crate::demo_tasks::seed(c, &actor, &mut rng, scale)?;
        n.activities = crate::demo_activities::seed(c, &actor, &mut rng, scale)?;
        (n.councils, n.council_meetings) = crate::demo_councils::seed(c, &actor, &mut rng, scale)?;
        tracing::info!(
            needs = n.needs,
            evaluated = n.evaluated_units,
            planned = n.planned_units,
            "demo: needs, evaluation and work plan"
        );
        Ok(n)
    })
}

/// A city's departments; each county's 民族之家, migrant service centre, schools and
/// enterprise service centre; a 解忧超市 in most townships; and the communities, villages and
/// grids of the townships the scale reaches.
fn seed_city(
    c: &mut DbConnection,
    m: &mut Maker,
    city: &Region,
    scale: Scale,
) -> Result<(), DbError> {
    for (dept, category) in CITY_DEPARTMENTS {
        m.unit(c, city, format!("{}{dept}", city.name), category)?;
    }
    for county in all(c, city)? {
        m.site(c, &county, format!("{}民族之家", county.name), "minzu_home")?;
        let station = format!("{}流动人口服务中心", county.name);
        m.site(c, &county, station, "migrant_station")?;
        for (suffix, category) in COUNTY_UNITS {
            m.unit(c, &county, format!("{}{suffix}", county.name), category)?;
        }
        let grids = scale.grids(&county.code);
        let townships = all(c, &county)?;
        // The county's communities and villages are numbered across its townships, for grids
        // spread over the county.
        let of = townships
            .iter()
            .map(|t| divisions::villages(&t.code).len())
            .sum();
        let mut nth = 0;
        for town in townships {
            if stable_chance(&town.code, 70) {
                m.site(c, &town, format!("{}解忧超市", town.name), "jieyou_desk")?;
            }
            if let Some(grids) = grids
                && town.kind() == RegionKind::Township
            {
                nth += seed_communities(c, m, &town, (grids, nth, of))?;
            }
        }
    }
    Ok(())
}

/// A township's communities and villages as the statistics bureau lists them (named as people
/// call them, with their 12-digit codes), unless it has some already; then grids in each that
/// has none, the county's `nth` of `of` first. Returns how many the township has.
fn seed_communities(
    c: &mut DbConnection,
    m: &mut Maker,
    town: &Region,
    (grids, nth, of): (Grids, usize, usize),
) -> Result<usize, DbError> {
    let mut communities = all(c, town)?;
    if communities.is_empty() {
        for v in divisions::villages(&town.code) {
            let input = RegionInput::parse(&v.name, v.code).map_err(DbError::Invalid)?;
            communities.push(org::create_child_region(c, &m.actor, town.id, &input)?);
            m.n.communities += 1;
        }
    }
    for (i, community) in communities.iter().enumerate() {
        if !all(c, community)?.is_empty() {
            continue;
        }
        let kind = divisions::village(&community.code).map_or(VillageKind::Community, |v| v.kind);
        for g in 1..=grids.for_nth(nth + i, of, kind, &mut m.rng) {
            let input = RegionInput::parse(&format!("第{g}网格"), "").map_err(DbError::Invalid)?;
            org::create_child_region(c, &m.actor, community.id, &input)?;
            m.n.grids += 1;
        }
    }
    Ok(communities.len())
}

/// The sites the documents count in a city (`COUNTED_SITES`), up to their number: at the
/// city's communities first, then at its villages, spread over the city in an order that
/// depends only on their codes, so a refresh finds the same ones made.
fn seed_counted_sites(c: &mut DbConnection, m: &mut Maker) -> Result<(), DbError> {
    let everything = Scope::everything();
    for (city_code, target, kinds) in COUNTED_SITES {
        let city = org::get_region_by_code(c, &everything, city_code)?;
        let mut have = 0;
        for (kind, _) in kinds {
            let filter = ListFilter {
                within: Some(city.id),
                kind: Some((*kind).to_string()),
                include_inactive: true,
                ..Default::default()
            };
            have += org::list_sites(c, &everything, &filter, 1_000_000)?.len();
        }
        let below = org::subtree(c, &everything, city.id)?;
        let names: HashMap<i64, String> = below.iter().map(|r| (r.id, r.name.clone())).collect();
        let mut places: Vec<&Region> = below
            .iter()
            .filter(|r| r.kind() == RegionKind::Community)
            .collect();
        places.sort_by_key(|r| {
            let village =
                divisions::village(&r.code).is_some_and(|v| v.kind == VillageKind::Village);
            (village, stable_hash(&r.code))
        });
        for (turn, place) in places.into_iter().enumerate() {
            if have >= target {
                break;
            }
            let (kind, end) = kinds[turn % kinds.len()];
            let town = place
                .parent_id
                .and_then(|p| names.get(&p))
                .map_or("", String::as_str);
            if m.site(c, place, format!("{town}{}{end}", place.name), kind)? {
                have += 1;
            }
        }
    }
    Ok(())
}

/// One account per role (`DEMO_USERS`), unless it exists; the grid worker takes the first two
/// grids of their township's first community. Returns how many were added.
fn seed_users(c: &mut DbConnection, actor: &Actor, password_hash: &str) -> Result<usize, DbError> {
    let everything = Scope::everything();
    let mut added = 0;
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
            password_hash: password_hash.to_string(),
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
        accounts::create_user(c, &shiliu_db::scope::Can::check(actor).unwrap(), &new)?;
        added += 1;
    }
    Ok(added)
}

/// A number that depends only on `key` (FNV-1a), so refreshing the demo decides the same way
/// each time (the random stream differs between a first run and a refresh).
fn stable_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A yes/no that depends only on `key` (`stable_hash`).
fn stable_chance(key: &str, percent: u64) -> bool {
    stable_hash(key) % 100 < percent
}

/// What `volumes` added.
#[derive(Debug, Default)]
pub struct Volumes {
    pub users: usize,
    pub requests: usize,
}

/// The cities whose grids each get a grid worker's account: 南宁's, or with the province every
/// city's.
fn staffed(scale: Scale, cities: &[Region]) -> Vec<&Region> {
    cities
        .iter()
        .filter(|city| scale == Scale::Province || city.code == NANNING)
        .collect()
}

/// A year of requests for each city of the scale: (city code, how many, share done). The
/// default demo's are 南宁's (`nanning`, 120,000 unless given); the province's are 北海's as the
/// documents count them, and every other city's as many a grid as 北海's (南宁's `nanning` if
/// given), at the usual share done. `grids`: each city's grids.
pub fn yearly_requests(
    scale: Scale,
    grids: &[(&str, usize)],
    nanning: Option<usize>,
) -> Vec<(String, usize, f64)> {
    let usual = crate::volume::USUAL_COMPLETION;
    match scale {
        Scale::Small => vec![],
        Scale::Full => vec![(NANNING.into(), nanning.unwrap_or(120_000), usual)],
        Scale::Province => {
            let beihai = grids
                .iter()
                .find(|(code, _)| *code == BEIHAI)
                .map_or(0, |(_, g)| *g);
            grids
                .iter()
                .map(|&(code, g)| match code {
                    BEIHAI => (code.into(), BEIHAI_REQUESTS, BEIHAI_COMPLETION),
                    NANNING if nanning.is_some() => (code.into(), nanning.unwrap_or(0), usual),
                    _ => {
                        let per_grid = BEIHAI_REQUESTS as f64 / beihai.max(1) as f64;
                        (code.into(), (per_grid * g as f64).round() as usize, usual)
                    }
                })
                .collect()
        }
    }
}

/// The demo's volumes, after `seed`, each added once: an account for every grid of the staffed
/// cities (`wg-<grid code>`), and a year of requests (`yearly_requests`) in each city with
/// fewer than a thousand.
pub fn volumes(
    db: &Db,
    password_hash: &str,
    scale: Scale,
    nanning: Option<usize>,
) -> Result<Volumes, DbError> {
    let (cities, grids) = db.write_blocking(|c| {
        let everything = Scope::everything();
        let gx = org::get_region_by_code(c, &everything, "450000")?;
        let cities = all(c, &gx)?;
        let mut grids = Vec::new();
        for city in &cities {
            let below = org::subtree(c, &everything, city.id)?;
            grids.push(
                below
                    .iter()
                    .filter(|r| r.kind() == RegionKind::Grid)
                    .count(),
            );
        }
        Ok((cities, grids))
    })?;
    let mut v = Volumes::default();
    for city in staffed(scale, &cities) {
        let added = crate::volume::grid_workers(db, &city.code, password_hash)?;
        tracing::info!(city = %city.name, added, "demo: grid workers");
        v.users += added;
    }
    let by_city: Vec<(&str, usize)> = cities.iter().map(|c| c.code.as_str()).zip(grids).collect();
    for (code, requests, completion) in yearly_requests(scale, &by_city, nanning) {
        let Some(city) = cities.iter().find(|c| c.code == code) else {
            continue;
        };
        let stored = db.write_blocking(|c| {
            shiliu_db::requests::count(c, &Scope::subtrees(vec![city.path.clone()]))
        })?;
        if stored >= 1000 {
            continue;
        }
        // Cities load apart: each its own millisecond, so their ids never meet.
        let number: u32 = code[2..4].parse().unwrap_or(0);
        tracing::info!(city = %city.name, requests, "demo: a year of requests");
        v.requests += crate::volume::generate_year(
            db,
            &crate::volume::Year {
                city_code: &code,
                requests,
                completion,
                millisecond: Some(number * 71 % 1000),
                seed: 2026 + u64::from(number),
            },
        )?;
    }
    Ok(v)
}

/// A city's figures as the demo left them, read back from the database.
#[derive(Debug)]
pub struct CityFigures {
    pub name: String,
    pub communities: usize,
    pub grids: usize,
    pub sites: usize,
    pub users: usize,
    pub people: i64,
    /// Requests received over the past year's months, and the share done (办结) in per mille,
    /// as the statistics page counts them.
    pub requests: i64,
    pub completion: Option<i64>,
}

/// Every city's figures (`city_figures`) as a table, a line a city.
pub fn city_table(db: &Db) -> Result<String, DbError> {
    use std::fmt::Write as _;
    let mut out = format!(
        "{:<10}{:>12}{:>8}{:>7}{:>8}{:>8}{:>10}{:>7}\n",
        "city", "communities", "grids", "sites", "users", "people", "requests", "done"
    );
    for f in city_figures(db)? {
        // A Chinese character takes two columns.
        let pad = 10usize.saturating_sub(2 * f.name.chars().count());
        let done = f
            .completion
            .map_or_else(|| "-".to_string(), |p| format!("{}.{}%", p / 10, p % 10));
        let _ = writeln!(
            out,
            "{}{:pad$}{:>12}{:>8}{:>7}{:>8}{:>8}{:>10}{:>7}",
            f.name, "", f.communities, f.grids, f.sites, f.users, f.people, f.requests, done
        );
    }
    Ok(out)
}

/// Every city's figures (`CityFigures`).
pub fn city_figures(db: &Db) -> Result<Vec<CityFigures>, DbError> {
    use shiliu_db::requests::stats::{self, Dimension, Figures};
    db.write_blocking(|c| {
        let everything = Scope::everything();
        let gx = org::get_region_by_code(c, &everything, "450000")?;
        let now = shiliu_db::now();
        let from = stats::month_of(now - chrono::Duration::days(366));
        let to = stats::month_of(now);
        let mut out = Vec::new();
        for city in all(c, &gx)? {
            let scope = Scope::subtrees(vec![city.path.clone()]);
            let below = org::subtree(c, &everything, city.id)?;
            let kind = |k| below.iter().filter(|r| r.kind() == k).count();
            let within = ListFilter {
                within: Some(city.id),
                include_inactive: true,
                ..Default::default()
            };
            let mut year = Figures::default();
            for month in stats::figures(c, &scope, &from, &to, Dimension::Month)? {
                year.add(&month);
            }
            out.push(CityFigures {
                communities: kind(RegionKind::Community),
                grids: kind(RegionKind::Grid),
                sites: org::list_sites(c, &everything, &within, 1_000_000)?.len(),
                users: accounts::list_users(c, &everything, &within, 1_000_000)?.len(),
                people: shiliu_db::registry::count(
                    c,
                    &scope,
                    &shiliu_db::registry::PersonFilter::default(),
                )?,
                requests: year.received,
                completion: year.completion(),
                name: city.name,
            });
        }
        Ok(out)
    })
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

/// The sequence numbers (of 500 a county and birthday allow each sex) each city's registered
/// people take: 14 cities' worth fit.
const SERIALS_PER_CITY: u32 = 35;

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

/// A city's migrant population (流动人口) in its grids, unless it has registered people:
/// households from Guangxi's hill counties, Guizhou, Yunnan and further, with the peoples at
/// home there; some moved on since.
fn seed_registry(
    c: &mut DbConnection,
    actor: &Actor,
    vault: &shiliu_db::registry::Vault,
    rng: &mut StdRng,
    city_code: &str,
    households: usize,
) -> Result<usize, DbError> {
    use shiliu_db::registry::{self, bulk};
    use shiliu_domain::registry::{
        ConsentChannel, ConsentPurpose, PersonForm, PersonInput, Relation,
    };
    let everything = Scope::everything();
    let city = org::get_region_by_code(c, &everything, city_code)?;
    let in_city = Scope::subtrees(vec![city.path.clone()]);
    if registry::count(c, &in_city, &registry::PersonFilter::default())? > 0 {
        return Ok(0);
    }
    let below = org::subtree(c, &everything, city.id)?;
    let names: HashMap<i64, &str> = below.iter().map(|r| (r.id, r.name.as_str())).collect();
    let grids: Vec<&Region> = below
        .iter()
        .filter(|r| r.kind() == RegionKind::Grid)
        .collect();
    if grids.is_empty() {
        return Ok(0);
    }
    // 南宁's streets by name; elsewhere the community's name stands for its street.
    let street = |rng: &mut StdRng, grid: &Region| match grid.parent_id.and_then(|p| names.get(&p))
    {
        Some(community) if city_code != NANNING => (*community).to_string(),
        _ => STREETS[rng.gen_range(0..STREETS.len())].to_string(),
    };
    // Each city's people take their own share of the sequence numbers an ID number's county
    // and birthday allow, so people registered in different cities never share one.
    let first_serial = city_code[2..4]
        .parse::<u32>()
        .unwrap_or(1)
        .saturating_sub(1)
        * SERIALS_PER_CITY;
    let today = shiliu_db::today();
    let mut tally = registry::Tally::default();
    let total_weight: u32 = ORIGINS.iter().map(|o| o.1).sum();
    let mut serials: HashMap<String, u32> = HashMap::new();
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
        let serial = serials.entry(key).or_insert(first_serial);
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
            street(rng, grids[grid]),
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
                    region: grids[grid],
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

/// The households of the demo's needs survey visited so far, at most.
const SURVEY_VISITS: usize = 900;

/// A needs survey over 西乡塘区 under way (two-thirds of its first households answered), its
/// needs met, planned or made requests, and the services delivered: the figures the
/// statistics page shows (jobs placed, subsidies).
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
    // Each answer checks its household against the campaign's whole list, so answering every
    // household of a district of the official communities took half a minute: the grid
    // workers have been to the first ones on the list.
    for hid in households.into_iter().take(SURVEY_VISITS) {
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
    // 南宁's commission answers: people living in 南宁 (the province registers them elsewhere too).
    let nn = org::get_region_by_code(c, &Scope::everything(), NANNING)?;
    let mut people = linkage::out_migrants(
        c,
        &shiliu_db::scope::Can::check(&home)?,
        &linkage::OutMigrantFilter::default(),
        None,
        500,
    )?;
    people.retain(|p| p.region_path.starts_with(&nn.path));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The villages and communities of a county or city (`4505`), as the reference data has them.
    fn villages_below(code: &str) -> Vec<&'static divisions::Village> {
        divisions::guangxi()
            .filter(|d| d.level == divisions::DivisionLevel::Township && d.code.starts_with(code))
            .flat_map(|t| divisions::villages(t.code))
            .collect()
    }

    #[test]
    fn districts_are_a_citys_first_twenty_county_codes() {
        for district in ["450107", "450110", "450206", "450512", "451402"] {
            assert!(is_district(district), "{district}");
        }
        for not in ["450123", "450181", "450226", "450521", "4501", "45"] {
            assert!(!is_district(not), "{not}");
        }
        // The rule agrees with the names: every district is a 区, every 区 a district.
        for county in divisions::guangxi().filter(|d| d.level == divisions::DivisionLevel::County) {
            assert_eq!(
                is_district(county.code),
                county.name.ends_with('区'),
                "{}",
                county.name
            );
        }
    }

    #[test]
    fn each_scale_reaches_its_counties() {
        assert_eq!(Scale::Small.grids("450107"), Some(Grids::Usual));
        assert_eq!(Scale::Small.grids("450102"), None);
        assert_eq!(Scale::Full.grids("450102"), Some(Grids::Usual));
        assert_eq!(Scale::Full.grids("450206"), Some(Grids::Usual), "柳江区");
        assert_eq!(Scale::Full.grids("450226"), None, "三江: a county");
        assert_eq!(Scale::Full.grids("450302"), None, "桂林");
        assert_eq!(Scale::Province.grids("450302"), Some(Grids::Total(213)));
        assert_eq!(
            Scale::Province.grids("450521"),
            Some(Grids::Each(7)),
            "合浦县"
        );
        assert_eq!(Scale::Province.grids("451402"), Some(Grids::Usual));
        assert_eq!(
            Scale::Province.grids("451481"),
            None,
            "凭祥市: a county-level city"
        );
        for city in divisions::children("45") {
            let reached = divisions::children(city.code)
                .filter(|county| Scale::Province.grids(county.code).is_some())
                .count();
            assert!(reached > 0, "{}", city.name);
        }
    }

    #[test]
    fn xiufengs_213_grids_are_spread_over_its_communities() {
        let of = villages_below("450302").len();
        assert_eq!(of, 30);
        let mut rng = StdRng::seed_from_u64(1);
        let grids: Vec<usize> = (0..of)
            .map(|i| Grids::Total(213).for_nth(i, of, VillageKind::Community, &mut rng))
            .collect();
        assert_eq!(grids.iter().sum::<usize>(), 213);
        assert!(grids.iter().all(|g| (7..=8).contains(g)), "{grids:?}");
    }

    #[test]
    fn beihai_has_a_grid_for_each_of_its_3000_odd_grid_workers() {
        let grids = villages_below("4505").len() * BEIHAI_GRIDS_EACH;
        assert!((3_000..3_500).contains(&grids), "{grids}");
    }

    #[test]
    fn every_counted_site_finds_a_place() {
        for (city, target, _) in COUNTED_SITES {
            let counties: Vec<_> = divisions::children(&city[..4]).collect();
            let places: usize = counties
                .iter()
                .filter(|county| Scale::Province.grids(county.code).is_some())
                .map(|county| villages_below(county.code).len())
                .sum();
            // Besides the county's own 民族之家 and service centre.
            assert!(
                places + 2 * counties.len() >= target,
                "{city}: {places} for {target}"
            );
        }
    }

    #[test]
    fn the_provinces_requests_go_by_beihais_per_grid() {
        let grids = [(NANNING, 2_000), (BEIHAI, 3_000), ("450300", 1_500)];
        let plan = yearly_requests(Scale::Province, &grids, None);
        let of = |code: &str| plan.iter().find(|p| p.0 == code).unwrap().clone();
        assert_eq!(of(BEIHAI).1, BEIHAI_REQUESTS);
        assert!((of(BEIHAI).2 - 0.94).abs() < 1e-9);
        assert_eq!(of("450300").1, BEIHAI_REQUESTS / 2);
        assert_eq!(of(NANNING).1, 77_667);
        let asked = yearly_requests(Scale::Province, &grids, Some(5_000));
        assert_eq!(
            asked[0],
            (NANNING.to_string(), 5_000, crate::volume::USUAL_COMPLETION)
        );
        let default = yearly_requests(Scale::Full, &grids, None);
        assert_eq!(
            default,
            [(
                NANNING.to_string(),
                120_000,
                crate::volume::USUAL_COMPLETION
            )]
        );
        assert!(yearly_requests(Scale::Small, &grids, None).is_empty());
    }
}
