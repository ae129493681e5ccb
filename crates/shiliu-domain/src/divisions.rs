//! China's administrative divisions, shipped in the binary (see `data/README.md` for the source).
//!
//! All province-, prefecture- and county-level divisions of China, and Guangxi's township-level
//! divisions. Communities, villages and grids are not reference data: admins create them.

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
}
