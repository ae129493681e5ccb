//! China's administrative divisions, shipped in the binary (see `data/README.md` for the source).
//!
//! All province-, prefecture- and county-level divisions of China, and Guangxi's township-level
//! divisions; below them, Guangxi's villages and communities (`villages`), which admins create
//! as regions when they need them, as they create grids.

use std::collections::HashMap;
use std::sync::LazyLock;

/// Guangxi Zhuang Autonomous Region, the platform's first deployment.
pub const GUANGXI: &str = "45";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum DivisionLevel {
    Province,
    City,
    County,
    Township,
}

impl DivisionLevel {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "province" => Self::Province,
            "city" => Self::City,
            "county" => Self::County,
            "township" => Self::Township,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    pub code: &'static str,
    pub name: &'static str,
    pub level: DivisionLevel,
    /// Empty for provinces.
    pub parent: &'static str,
}

struct Table {
    rows: Vec<Division>,
    by_code: HashMap<&'static str, usize>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let rows: Vec<Division> = include_str!("../data/divisions.csv")
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut f = line.split(',');
            let mut next = || f.next().expect("divisions.csv has four columns");
            let (code, name, level, parent) = (next(), next(), next(), next());
            Division {
                code,
                name,
                level: DivisionLevel::parse(level).expect("known level"),
                parent,
            }
        })
        .collect();
    let by_code = rows.iter().enumerate().map(|(i, d)| (d.code, i)).collect();
    Table { rows, by_code }
});

pub fn all() -> &'static [Division] {
    &TABLE.rows
}

pub fn get(code: &str) -> Option<&'static Division> {
    TABLE.by_code.get(code).map(|&i| &TABLE.rows[i])
}

pub fn province_name(code2: &str) -> Option<&'static str> {
    get(code2)
        .filter(|d| d.level == DivisionLevel::Province)
        .map(|d| d.name)
}

/// Guangxi and every division below it, parents before children.
pub fn guangxi() -> impl Iterator<Item = &'static Division> {
    all().iter().filter(|d| d.code.starts_with(GUANGXI))
}

/// The short code of an official 6-digit code (`450000` → `45`, `450200` → `4502`, `450226`
/// unchanged; 9-digit township codes unchanged): the prefix every code below it starts with,
/// as 户籍地 codes are stored. (A county's last two digits are never `00`.)
pub fn short_code(official: &str) -> &str {
    if official.len() != 6 {
        return official;
    }
    let mut s = official;
    while s.len() > 2 && s.ends_with("00") {
        s = &s[..s.len() - 2];
    }
    s
}

/// The full name of a 6-digit county code or any shipped code, e.g. `广西壮族自治区南宁市西乡塘区`.
/// Older codes that no longer exist (as in resident-ID numbers issued long ago) name what
/// remains of their parents.
pub fn full_name(code: &str) -> Option<String> {
    let mut parts = Vec::new();
    let mut cur = get(code)
        .or_else(|| get(code.get(..4)?))
        .or_else(|| get(code.get(..2)?))?;
    loop {
        if cur.name != "市辖区" && cur.name != "县" {
            parts.push(cur.name);
        }
        if cur.parent.is_empty() {
            break;
        }
        cur = get(cur.parent)?;
    }
    parts.reverse();
    Some(parts.concat())
}

/// A division's children, in code order.
pub fn children(code: &str) -> impl Iterator<Item = &'static Division> {
    all().iter().filter(move |d| d.parent == code)
}

/// One level of a picker: the division its choices lie under (none for the provinces), and
/// its children.
pub type Level = (Option<&'static Division>, Vec<&'static Division>);

/// What a picker of divisions offers with `current` picked (empty: none): every province, then
/// the children of the current value and of each division above it — a province's cities, a
/// city's counties, a Guangxi county's townships — so each pick opens the next level. Groups of
/// (the division they are under, none for the provinces; its children).
pub fn choices_around(current: &str) -> Vec<Level> {
    let mut out = vec![(None, children("").collect::<Vec<_>>())];
    let mut chain = Vec::new();
    let mut cur = get(current.trim());
    while let Some(d) = cur {
        chain.push(d);
        cur = get(d.parent);
    }
    for d in chain.into_iter().rev() {
        let below: Vec<_> = children(d.code).collect();
        if !below.is_empty() {
            out.push((Some(d), below));
        }
    }
    out
}

/// Whether a village-level division is a community or a village: digits 10–12 of its code,
/// in the statistics bureau's scheme — 居民委员会 001–199 and units like them (a development
/// zone's 虚拟社区, a campus) 400–499; 村民委员会 200–399 and units like them (a state farm's
/// 生活区) 500–599.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum VillageKind {
    /// 社区 (居委会)
    Community,
    /// 行政村 (村委会)
    Village,
}

impl VillageKind {
    fn of(code: &str) -> Self {
        match code.as_bytes().get(9) {
            Some(b'2' | b'3' | b'5') => Self::Village,
            _ => Self::Community,
        }
    }

    /// The word its short name ends with.
    fn generic(self) -> &'static str {
        match self {
            Self::Community => "社区",
            Self::Village => "村",
        }
    }
}

/// A village or community of Guangxi: a 12-digit code under a township's 9-digit one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Village {
    pub code: &'static str,
    /// As the statistics bureau writes it: its committee, e.g. `北宁社区居委会`, `官桥村委会`.
    pub official: &'static str,
    /// What people call it, e.g. `北宁社区`, `官桥村` (`short_name`).
    pub name: String,
    pub kind: VillageKind,
    /// The township's 9-digit code.
    pub parent: &'static str,
}

struct Villages {
    rows: Vec<Village>,
    /// Each township's rows: the file is in code order, so they are contiguous.
    by_township: HashMap<&'static str, std::ops::Range<usize>>,
}

static VILLAGES: LazyLock<Villages> = LazyLock::new(|| {
    let rows: Vec<Village> = include_str!("../data/villages.csv")
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut f = line.split(',');
            let mut next = || f.next().expect("villages.csv has three columns");
            let (code, official, parent) = (next(), next(), next());
            let kind = VillageKind::of(code);
            let township = get(parent).map_or("", |d| d.name);
            Village {
                code,
                official,
                name: short_name(official, kind, township),
                kind,
                parent,
            }
        })
        .collect();
    let mut by_township: HashMap<&'static str, std::ops::Range<usize>> = HashMap::new();
    for (i, v) in rows.iter().enumerate() {
        by_township
            .entry(v.parent)
            .and_modify(|r| r.end = i + 1)
            .or_insert(i..i + 1);
    }
    Villages { rows, by_township }
});

/// The villages and communities of a Guangxi township (9-digit code), in code order; none for
/// any other code.
pub fn villages(township: &str) -> &'static [Village] {
    let t = &*VILLAGES;
    t.by_township
        .get(township)
        .map_or(&[], |r| &t.rows[r.clone()])
}

/// The village or community of a 12-digit code.
pub fn village(code: &str) -> Option<&'static Village> {
    villages(code.get(..9)?).iter().find(|v| v.code == code)
}

/// The ways the bureau writes a committee at the end of a name, longest first, so that
/// `村民委员会` is taken whole rather than as `委员会` after a name ending in `村民`. Besides the
/// usual `居委会`, `村委会` and their long forms, a few rows have their own spellings
/// (`三祺社区居委员`, `浔州社区居民会`, `车河社区居民委会`, `熟康村委委会`, `大果腊村委`).
const COMMITTEES: [&str; 11] = [
    "居民委员会",
    "村民委员会",
    "居委员会",
    "居民委会",
    "村委委会",
    "委员会",
    "居委员",
    "居民会",
    "居委会",
    "村委会",
    "村委",
];

/// What people call a village or community: its name without the committee — `北宁社区居委会`
/// is 北宁社区, `河口居委会` 河口社区, `官桥村委会` 官桥村, `大塘村村委会` 大塘村 — and
/// without its township's name when the bureau wrote that in front (`秀峰街道乐群社区` under
/// 秀峰街道 is 乐群社区). Names without a committee (`乐群社区`, a farm's `场部生活区`, a
/// development zone's `青秀山虚拟社区`) stay as they are.
pub fn short_name(official: &str, kind: VillageKind, township: &str) -> String {
    let generic = kind.generic();
    let name = match COMMITTEES.iter().find_map(|c| official.strip_suffix(c)) {
        Some(stem) if stem.ends_with(generic) => stem.to_string(),
        Some(stem) => format!("{stem}{generic}"),
        None => official.to_string(),
    };
    // Only a 街道, 镇 or 乡 is written in front; a zone's name is part of its units' names.
    let written_in_front = ["街道", "镇", "乡"].iter().any(|s| township.ends_with(s));
    match name.strip_prefix(township) {
        Some(rest) if written_in_front && rest.chars().count() > generic.chars().count() => {
            rest.to_string()
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_codes_are_the_prefixes_below() {
        assert_eq!(short_code("450000"), "45");
        assert_eq!(short_code("450200"), "4502");
        assert_eq!(short_code("450226"), "450226");
        assert_eq!(short_code("450226101"), "450226101");
        assert!(get(short_code("450200")).is_some());
    }

    #[test]
    fn guangxi_is_complete() {
        let gx: Vec<_> = guangxi().collect();
        let count = |l| gx.iter().filter(|d| d.level == l).count();
        assert_eq!(count(DivisionLevel::Province), 1);
        assert_eq!(
            count(DivisionLevel::City),
            14,
            "Guangxi has 14 prefecture-level cities"
        );
        assert_eq!(
            count(DivisionLevel::County),
            111,
            "Guangxi has 111 county-level divisions"
        );
        assert!(count(DivisionLevel::Township) > 1200);
        assert_eq!(
            get("450000").map(|d| d.name),
            None,
            "provinces are stored as 2-digit codes"
        );
        assert_eq!(get("45").unwrap().name, "广西壮族自治区");
        assert_eq!(get("4505").unwrap().name, "北海市");
        assert_eq!(get("450107").unwrap().name, "西乡塘区");
        assert_eq!(get("450226").unwrap().name, "三江侗族自治县");
    }

    #[test]
    fn every_parent_exists_and_codes_nest() {
        for d in all() {
            if d.parent.is_empty() {
                assert_eq!(d.level, DivisionLevel::Province);
                continue;
            }
            let p = get(d.parent).unwrap_or_else(|| panic!("parent of {}", d.code));
            assert!(d.code.starts_with(p.code), "{} under {}", d.code, p.code);
            assert!(p.level < d.level);
        }
    }

    #[test]
    fn a_picked_county_offers_the_provinces_its_citys_counties_and_its_townships() {
        let groups = choices_around("450107");
        let under: Vec<Option<&str>> = groups.iter().map(|(p, _)| p.map(|d| d.code)).collect();
        assert_eq!(under, [None, Some("45"), Some("4501"), Some("450107")]);
        assert_eq!(groups[0].1.len(), 31, "every province in the data");
        assert!(groups[2].1.iter().any(|d| d.name == "西乡塘区"));
    }

    #[test]
    fn nothing_picked_offers_the_provinces_only() {
        let groups = choices_around("");
        assert_eq!(groups.len(), 1);
        assert!(groups[0].1.iter().any(|d| d.name == "贵州省"));
    }

    #[test]
    fn full_names() {
        assert_eq!(full_name("450107").unwrap(), "广西壮族自治区南宁市西乡塘区");
        assert_eq!(full_name("520102").unwrap(), "贵州省贵阳市南明区");
        assert_eq!(full_name("110105").unwrap(), "北京市朝阳区");
        assert!(full_name("990000").is_none());
    }

    #[test]
    fn short_names_drop_the_committee() {
        use VillageKind::{Community, Village};
        let v = |official, kind| short_name(official, kind, "");
        assert_eq!(v("北宁社区居委会", Community), "北宁社区");
        assert_eq!(v("河口居委会", Community), "河口社区");
        assert_eq!(v("柳东社区居民委员会", Community), "柳东社区");
        assert_eq!(v("百朋居民委员会", Community), "百朋社区");
        assert_eq!(v("巴烈社区居委员会", Community), "巴烈社区");
        assert_eq!(v("三祺社区居委员", Community), "三祺社区");
        assert_eq!(v("浔州社区居民会", Community), "浔州社区");
        assert_eq!(v("车河社区居民委会", Community), "车河社区");
        assert_eq!(v("官桥村委会", Village), "官桥村");
        assert_eq!(v("大塘村村委会", Village), "大塘村");
        assert_eq!(v("拉堡村村民委员会", Village), "拉堡村");
        assert_eq!(v("文江村委员会", Village), "文江村");
        assert_eq!(v("熟康村委委会", Village), "熟康村");
        assert_eq!(v("大果腊村委", Village), "大果腊村");
        // No committee: the name as written.
        assert_eq!(v("乐群社区", Community), "乐群社区");
        assert_eq!(v("青秀山虚拟社区", Community), "青秀山虚拟社区");
        assert_eq!(v("场部生活区", Village), "场部生活区");
        assert_eq!(v("华侨渔业村", Village), "华侨渔业村");
    }

    #[test]
    fn short_names_drop_a_township_written_in_front() {
        use VillageKind::{Community, Village};
        assert_eq!(
            short_name("秀峰街道乐群社区", Community, "秀峰街道"),
            "乐群社区"
        );
        assert_eq!(
            short_name("甲山街道甲山村委会", Village, "甲山街道"),
            "甲山村"
        );
        assert_eq!(
            short_name("沙塘镇新区社区居委会", Community, "沙塘镇"),
            "新区社区"
        );
        // Nothing but the generic word would be left: the township's own committee.
        assert_eq!(
            short_name("太阳村镇居民委员会", Community, "太阳村镇"),
            "太阳村镇社区"
        );
        // A zone's name is part of its unit's.
        assert_eq!(
            short_name("青秀山虚拟社区", Community, "青秀山"),
            "青秀山虚拟社区"
        );
    }

    #[test]
    fn a_townships_villages_and_communities() {
        let beihu = villages("450107002");
        let names: Vec<&str> = beihu.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names.first(), Some(&"秀湖社区"));
        assert!(
            names.contains(&"万秀村") && names.contains(&"明秀社区"),
            "{names:?}"
        );
        let wanxiu = beihu.iter().find(|v| v.name == "万秀村").unwrap();
        assert_eq!(
            (wanxiu.official, wanxiu.kind, wanxiu.parent),
            ("万秀村委会", VillageKind::Village, "450107002")
        );
        assert_eq!(village(wanxiu.code), Some(wanxiu));
        assert_eq!(village("450102001004").unwrap().name, "北宁社区");
        assert_eq!(
            village("450102001004").unwrap().kind,
            VillageKind::Community
        );
        // The bureau's similar units: a zone's virtual community, a farm's living quarters.
        assert_eq!(
            village("450103451498").unwrap().kind,
            VillageKind::Community
        );
        assert_eq!(
            villages("450107").len() + villages("4501").len() + villages("").len(),
            0,
            "only townships have villages"
        );
    }

    #[test]
    fn every_village_sits_under_a_guangxi_township_with_a_name_of_its_own() {
        let all = &VILLAGES.rows;
        assert_eq!(
            all.len(),
            16_681,
            "Guangxi's villages and communities in 2023"
        );
        let mut seen = std::collections::HashSet::new();
        for v in all {
            let t = get(v.parent).unwrap_or_else(|| panic!("township of {}", v.code));
            assert_eq!(t.level, DivisionLevel::Township);
            assert!(
                v.code.len() == 12 && v.code.starts_with(v.parent),
                "{}",
                v.code
            );
            assert!(
                ["社区", "村", "生活区"].iter().any(|g| v.name.ends_with(g)),
                "{} → {}",
                v.official,
                v.name
            );
            // Regions under one parent need distinct names.
            assert!(seen.insert((v.parent, v.name.as_str())), "{} twice", v.name);
        }
        let communities = all
            .iter()
            .filter(|v| v.kind == VillageKind::Community)
            .count();
        assert_eq!(communities, 2_402, "codes 001–199 and 400–499");
    }
}
