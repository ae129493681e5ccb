//! The demo's activities: a year of 南宁's outreach (宣传教育 · "十进") — talks, performances,
//! festivals (三月三 in spring, the unity month in September), contests, exhibitions and culture
//! taken to the villages, each with the people reached, the leaflets, banners and boards handed
//! out and a photo or three; training classes for cadres, teachers and grid workers; each
//! community's committee as a unit (居委会 · 村委会) with targets for the year. Everything goes
//! through `shiliu_db::activities`, with the checks a form's record gets.

use std::io::Write as _;

use chrono::{Datelike, Days, NaiveDate};
use rand::Rng;
use rand::rngs::StdRng;
use shiliu_db::activities::{self, targets};
use shiliu_db::org::{self, ListFilter, Region};
use shiliu_db::scope::{Actor, Can, Scope, grants};
use shiliu_db::{DbConnection, DbError};
use shiliu_domain::activities::{
    ActivityFields, ActivityInput, Target, TermList, TraineeInput, Venue,
};
use shiliu_domain::files::FileInput;
use shiliu_domain::org::UnitInput;

/// The venues as the titles say them.
const VENUES: [(Venue, &str); 10] = [
    (Venue::Offices, "进机关"),
    (Venue::Enterprises, "进企业"),
    (Venue::Communities, "进社区"),
    (Venue::Townships, "进乡镇"),
    (Venue::Schools, "进学校"),
    (Venue::ReligiousSites, "进宗教活动场所"),
    (Venue::Barracks, "进军营"),
    (Venue::ServiceWindows, "进窗口单位"),
    (Venue::ScenicSpots, "进景区"),
    (Venue::Families, "进家庭"),
];

/// What an activity of each kind is called (after the venue, if any).
const TITLES: [(&str, &[&str]); 8] = [
    (
        "宣讲",
        &[
            "民族团结进步政策宣讲",
            "铸牢中华民族共同体意识宣讲",
            "民族法律法规宣讲",
        ],
    ),
    ("文艺演出", &["民族团结文艺汇演", "“石榴籽”文艺轻骑兵演出"]),
    (
        "民族节庆",
        &[
            "“壮族三月三”歌圩活动",
            "“六月六”民俗文化活动",
            "达努节庆祝活动",
            "河灯歌节",
        ],
    ),
    ("体育竞技", &["民族传统体育运动会", "抛绣球、板鞋竞速比赛"]),
    ("知识竞赛", &["民族团结进步知识竞赛", "民族政策有奖问答"]),
    ("文化下乡", &["民族文化下乡", "送戏下乡"]),
    ("展览", &["民族团结进步成就展", "民族团结进步主题图片展"]),
    ("其他", &["民族团结主题观影", "“民族团结一家亲”结对联谊"]),
];

/// Training classes: (title, audience, hours).
const CLASSES: [(&str, &str, &str); 6] = [
    ("民族工作干部业务培训班", "干部", "16"),
    ("中小学民族团结教育教师培训班", "教师", "12"),
    ("网格员民族政策专题培训", "网格员", "3.5"),
    ("宗教界代表人士培训班", "宗教界人士", "8"),
    ("少数民族流动人口就业技能培训", "少数民族流动人口", "24"),
    ("铸牢中华民族共同体意识专题培训", "干部", "6"),
];

/// Records a year, before the trainings (the small demo, which every browser test seeds, a
/// third of them).
fn how_many(scale: crate::demo::Scale) -> (usize, usize) {
    match scale {
        crate::demo::Scale::Small => (140, 10),
        _ => (420, 30),
    }
}

/// The demo's city.
const CITY: &str = "450100";

/// Seed the year once (none when the city has records already); how many records it made.
pub fn seed(
    c: &mut DbConnection,
    actor: &Actor,
    rng: &mut StdRng,
    scale: crate::demo::Scale,
) -> Result<usize, DbError> {
    let (activities_n, trainings_n) = how_many(scale);
    let all = Scope::everything();
    let city = org::get_region_by_code(c, &all, CITY)?;
    let city_scope = Scope::subtrees(vec![city.path.clone()]);
    if activities::count(c, &city_scope, &activities::Filter::default())? > 0 {
        return Ok(0);
    }
    let committees = community_units(c, actor, &city_scope)?;
    let units = org::list_units(c, &city_scope, &ListFilter::default(), 10_000)?;
    let places: Vec<(i64, Region)> = units
        .iter()
        .map(|u| org::get_region(c, &all, u.item.region_id).map(|r| (u.item.id, r)))
        .collect::<Result<_, _>>()?;
    let kinds = activities::terms(c, TermList::Kind, false)?;
    let audiences = activities::terms(c, TermList::Audience, false)?;
    let materials = activities::terms(c, TermList::Material, false)?;
    let photos = photos();
    let logger = Can::<grants::LogActivities>::check(actor)?;
    let today = shiliu_db::today();
    let first = today.checked_sub_days(Days::new(364)).unwrap_or(today);
    let mut made = 0;
    for i in 0..activities_n + trainings_n {
        let training = i >= activities_n;
        // Community committees hold most activities; the city's and counties' units the rest.
        let (unit, home) = if !training && !committees.is_empty() && rng.gen_bool(0.6) {
            committees[rng.gen_range(0..committees.len())].clone()
        } else {
            places[rng.gen_range(0..places.len())].clone()
        };
        let held_on = day_in_year(rng, first, today);
        let place = somewhere_below(c, &home, rng)?;
        let unit = unit.to_string();
        let venue = (!training || rng.gen_bool(0.3))
            .then(|| VENUES[rng.gen_range(0..VENUES.len())])
            .filter(|_| rng.gen_bool(0.85));
        let (title, kind, audience, hours) = if training {
            let (title, audience, hours) = CLASSES[rng.gen_range(0..CLASSES.len())];
            let a = audiences.iter().find(|t| t.name == audience);
            (
                title.to_string(),
                String::new(),
                a.map(|t| t.id.to_string()).unwrap_or_default(),
                hours,
            )
        } else {
            let kind = festival_kind(held_on, rng);
            let (_, names) = TITLES
                .iter()
                .find(|(k, _)| *k == kind)
                .unwrap_or(&TITLES[0]);
            let name = names[rng.gen_range(0..names.len())];
            let title =
                venue.map_or_else(|| name.to_string(), |(_, v)| format!("民族团结{v}·{name}"));
            let id = kinds
                .iter()
                .find(|t| t.name == kind)
                .map(|t| t.id.to_string());
            (title, id.unwrap_or_default(), String::new(), "")
        };
        let people = if training {
            rng.gen_range(30..=120)
        } else {
            rng.gen_range(20..=400)
        }
        .to_string();
        let mut handed: Vec<(String, String)> = Vec::new();
        if !training && rng.gen_bool(0.6) {
            for m in &materials {
                if !rng.gen_bool(0.6) {
                    continue;
                }
                let q = match m.name.as_str() {
                    "宣传单" => rng.gen_range(50..=800),
                    "宣传册" => rng.gen_range(20..=300),
                    _ => rng.gen_range(1..=6),
                };
                handed.push((m.id.to_string(), q.to_string()));
            }
        }
        let ends_on = if training && rng.gen_bool(0.4) {
            held_on
                .checked_add_days(Days::new(1))
                .unwrap_or(held_on)
                .to_string()
        } else {
            String::new()
        };
        let starts_at = ["09:00", "09:30", "14:30", "15:00", "19:30"][rng.gen_range(0..5)];
        let input = ActivityInput::parse(
            &ActivityFields {
                form: if training { "training" } else { "activity" },
                title: &title,
                kind: &kind,
                venue: venue.map_or("", |(v, _)| v.as_str()),
                organiser_unit: &unit,
                region: &place.code,
                held_on: &held_on.to_string(),
                starts_at,
                ends_on: &ends_on,
                participants: &people,
                materials: handed
                    .iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .collect(),
                summary: &format!("{title}，群众{people}人次参与。"),
                audience: &audience,
                hours,
                ..ActivityFields::default()
            },
            today,
        )
        .map_err(DbError::Invalid)?;
        let shown: Vec<FileInput> = if rng.gen_bool(0.85) {
            (0..rng.gen_range(1..=3))
                .map(|n| photos[(i + n) % photos.len()].clone())
                .collect()
        } else {
            Vec::new()
        };
        let a = activities::record(c, &logger, &input, &shown)?;
        if training && rng.gen_bool(0.3) {
            let list = trainee_list(rng, people.parse().unwrap_or(30), &places)?;
            activities::trainees::add(c, &logger, &a, &list)?;
        }
        made += 1;
    }
    set_targets(c, actor, &committees, &places, today.year())?;
    Ok(made)
}

/// A class's sign-in sheet: `n` trainees from the city's units, one in five without a mobile
/// (the numbers distinct within the class).
fn trainee_list(
    rng: &mut StdRng,
    n: usize,
    places: &[(i64, Region)],
) -> Result<Vec<TraineeInput>, DbError> {
    use crate::demo::{FAMILY_NAMES, GIVEN_NAMES};
    const POSTS: [&str; 6] = [
        "网格员",
        "教师",
        "社区干部",
        "村干部",
        "科员",
        "驻村工作队员",
    ];
    (0..n)
        .map(|i| {
            let name = format!(
                "{}{}",
                FAMILY_NAMES[rng.gen_range(0..FAMILY_NAMES.len())],
                GIVEN_NAMES[rng.gen_range(0..GIVEN_NAMES.len())]
            );
            let (_, home) = &places[rng.gen_range(0..places.len())];
            let phone = if rng.gen_bool(0.8) {
                format!("1377710{i:04}")
            } else {
                String::new()
            };
            let post = POSTS[rng.gen_range(0..POSTS.len())];
            TraineeInput::parse(&name, &home.name, post, &phone).map_err(DbError::Invalid)
        })
        .collect()
}

/// Each community and village of the city that has grids gets its committee as a unit
/// (居委会 / 村委会), unless it has one: (unit, the community).
fn community_units(
    c: &mut DbConnection,
    actor: &Actor,
    city: &Scope,
) -> Result<Vec<(i64, Region)>, DbError> {
    use shiliu_domain::org::RegionKind;
    let all = Scope::everything();
    let mut communities: Vec<Region> = Vec::new();
    for root in org::scope_roots(c, city)? {
        for county in org::children(c, &all, root.id, false)? {
            for town in org::children(c, &all, county.id, false)? {
                communities.extend(
                    org::children(c, &all, town.id, false)?
                        .into_iter()
                        .filter(|r| r.kind() == RegionKind::Community),
                );
            }
        }
    }
    let mut out = Vec::new();
    for community in communities {
        if org::children(c, &Scope::everything(), community.id, false)?.is_empty() {
            continue;
        }
        let name = if community.name.ends_with('村') {
            format!("{}村民委员会", community.name)
        } else {
            format!("{}居民委员会", community.name)
        };
        let here = Scope::subtrees(vec![community.path.clone()]);
        let id = if let Ok(id) = org::unit_id_by_name(c, &here, &name, "name") {
            id
        } else {
            let input =
                UnitInput::parse(&name, "community_village", "", "").map_err(DbError::Invalid)?;
            org::create_unit(c, actor, community.id, &input)?.id
        };
        out.push((id, community));
    }
    Ok(out)
}

/// A day of the year, more of them in spring (三月三) and September (the unity month).
fn day_in_year(rng: &mut StdRng, first: NaiveDate, last: NaiveDate) -> NaiveDate {
    let span = (last - first).num_days().max(1);
    loop {
        let d = first + chrono::Duration::days(rng.gen_range(0..=span));
        let busy = matches!(d.month(), 4 | 9);
        if busy || rng.gen_bool(0.7) {
            return d;
        }
    }
}

/// The kind of an activity on a day: festivals around 三月三 and 六月六, the rest spread.
fn festival_kind(day: NaiveDate, rng: &mut StdRng) -> &'static str {
    if matches!(day.month(), 4 | 7) && rng.gen_bool(0.35) {
        return "民族节庆";
    }
    let weights = [
        ("宣讲", 30),
        ("文艺演出", 14),
        ("民族节庆", 6),
        ("体育竞技", 8),
        ("知识竞赛", 10),
        ("文化下乡", 12),
        ("展览", 8),
        ("其他", 4),
    ];
    let total: u32 = weights.iter().map(|(_, w)| w).sum();
    let mut pick = rng.gen_range(0..total);
    for (k, w) in weights {
        if pick < w {
            return k;
        }
        pick -= w;
    }
    "宣讲"
}

/// The unit's region or one below it, down to a grid now and then.
fn somewhere_below(
    c: &mut DbConnection,
    home: &Region,
    rng: &mut StdRng,
) -> Result<Region, DbError> {
    let mut at = home.clone();
    for _ in 0..3 {
        if !rng.gen_bool(0.5) {
            break;
        }
        let below = org::children(c, &Scope::everything(), at.id, false)?;
        if below.is_empty() {
            break;
        }
        at = below[rng.gen_range(0..below.len())].clone();
    }
    Ok(at)
}

/// This year's targets: every community committee six activities; the city's and counties'
/// units twelve, two trainings and every venue.
fn set_targets(
    c: &mut DbConnection,
    actor: &Actor,
    committees: &[(i64, Region)],
    places: &[(i64, Region)],
    year: i32,
) -> Result<(), DbError> {
    let manager = Can::<grants::ManageActivities>::check(actor)?;
    let small = Target::parse("6", "0", false).map_err(DbError::Invalid)?;
    let large = Target::parse("12", "2", true).map_err(DbError::Invalid)?;
    for (unit, _) in committees {
        targets::set_target(c, &manager, *unit, year, None, &small)?;
    }
    for (unit, _) in places
        .iter()
        .filter(|(u, _)| !committees.iter().any(|(c, _)| c == u))
    {
        targets::set_target(c, &manager, *unit, year, None, &large)?;
    }
    Ok(())
}

/// A few photos, drawn here: scenes of a stage and a crowd in the colours of the pomegranate,
/// each a PNG of 320 × 240 (valid, small, and plainly not a real photograph).
fn photos() -> Vec<FileInput> {
    let palettes: [([u8; 3], [u8; 3]); 6] = [
        ([179, 38, 30], [250, 220, 160]),
        ([30, 90, 160], [240, 240, 230]),
        ([40, 130, 70], [230, 245, 220]),
        ([200, 120, 20], [255, 240, 200]),
        ([120, 40, 140], [245, 230, 250]),
        ([20, 110, 120], [220, 245, 245]),
    ];
    palettes
        .iter()
        .enumerate()
        .filter_map(|(i, (ink, paper))| {
            let bytes = png(320, 240, |x, y| scene(x, y, *ink, *paper));
            FileInput::parse(
                "photos",
                &format!("活动现场{}.png", i + 1),
                bytes,
                activities::PHOTOS,
            )
            .ok()
        })
        .collect()
}

/// A stage (a band across the top), a crowd (rows of heads) and the floor between.
fn scene(x: u32, y: u32, ink: [u8; 3], paper: [u8; 3]) -> [u8; 3] {
    let stage = y < 70;
    let head = y > 140 && (x % 24).abs_diff(12) < 7 && (y % 28).abs_diff(14) < 7;
    if stage || head {
        ink
    } else {
        let shade = u8::try_from(y / 8).unwrap_or(0);
        [
            paper[0].saturating_sub(shade),
            paper[1].saturating_sub(shade),
            paper[2],
        ]
    }
}

/// An RGB PNG of `w` × `h` drawn by `pixel`.
fn png(w: u32, h: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((w * 3 + 1) * h) as usize);
    for y in 0..h {
        raw.push(0);
        for x in 0..w {
            raw.extend_from_slice(&pixel(x, y));
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = z.write_all(&raw);
    let data = z.finish().unwrap_or_default();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&w.to_be_bytes());
    header.extend_from_slice(&h.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, *b"IHDR", &header);
    chunk(&mut out, *b"IDAT", &data);
    chunk(&mut out, *b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: [u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(&kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}
