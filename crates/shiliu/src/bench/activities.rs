//! `shiliu bench --suite activities`: `--rows` activities and trainings (default 1,000,000:
//! a province's years of them) spread over the demo's regions and units across three years,
//! a fifth with materials; then timed under concurrent load: the list as the province and as a
//! city with each of its filters, the statistics, the units' progress and the calendar; and
//! recording one (with its materials) through the database layer, alone.

use std::time::{Duration, Instant};

use chrono::{Datelike, Days};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shiliu_db::activities::{self, Past};
use shiliu_db::org::{self, ListFilter};
use shiliu_db::scope::{Actor, Can, Scope, grants};
use shiliu_db::{Db, DbError, accounts};
use shiliu_domain::activities::{ActivityFields, ActivityInput, Form, Venue};

use super::{Server, load, pct, session_cookie, settle, status_kib};

/// Rows written a transaction while loading.
const BATCH: usize = 10_000;

/// What the timed pages name: a unit with records, the city's code.
struct Built {
    unit: i64,
    stored: i64,
}

/// Load `rows` records over the province's regions and units; returns a unit that has some.
fn setup(db: &Db, rows: usize) -> Result<Built, String> {
    let (regions, units) = db
        .write_blocking(|c| {
            let all = Scope::everything();
            let gx = org::get_region_by_code(c, &all, "450000")?;
            let regions: Vec<(i64, String)> = org::subtree(c, &all, gx.id)?
                .into_iter()
                .map(|r| (r.id, r.path))
                .collect();
            let units: Vec<(i64, i64)> =
                org::list_units(c, &all, &ListFilter::default(), 1_000_000)?
                    .into_iter()
                    .map(|u| (u.item.id, u.item.region_id))
                    .collect();
            Ok((regions, units))
        })
        .map_err(|e| e.to_string())?;
    if units.is_empty() {
        return Err(
            "bench: the demo's units are needed (run `shiliu demo --no-serve` first)".into(),
        );
    }
    let path_of: std::collections::HashMap<i64, String> = regions.iter().cloned().collect();
    let today = shiliu_db::today();
    let now = shiliu_db::now();
    let mut rng = StdRng::seed_from_u64(29);
    let mut left = rows;
    let mut seq: u32 = 0;
    let first_unit = units[0].0;
    while left > 0 {
        let n = left.min(BATCH);
        let mut batch = Vec::with_capacity(n);
        for _ in 0..n {
            let (unit, home) = units[rng.gen_range(0..units.len())];
            let (region, path) = if rng.gen_bool(0.7) {
                (home, path_of.get(&home).cloned().unwrap_or_default())
            } else {
                regions[rng.gen_range(0..regions.len())].clone()
            };
            let held_on = today
                .checked_sub_days(Days::new(rng.gen_range(0..3 * 365)))
                .unwrap_or(today);
            let training = rng.gen_bool(0.08);
            seq = seq.wrapping_add(1);
            let mut p = Past::new(
                if training {
                    Form::Training
                } else {
                    Form::Activity
                },
                (region, &path),
                if rng.gen_bool(0.01) { first_unit } else { unit },
                held_on,
                (
                    now - chrono::Duration::seconds(i64::from(seq % 86_400)),
                    seq,
                ),
            );
            let kind: i64 = rng.gen_range(1..=8);
            p.activity.title = format!(
                "{}{}",
                [
                    "宣讲",
                    "文艺演出",
                    "民族节庆",
                    "体育竞技",
                    "知识竞赛",
                    "文化下乡",
                    "展览",
                    "其他"
                ][usize::try_from(kind - 1).unwrap_or(0)],
                seq
            );
            if training {
                p.activity.audience_id = Some(rng.gen_range(41..=46));
                p.activity.hours_tenths = Some(rng.gen_range(10..=160));
            } else {
                p.activity.kind_id = Some(kind);
            }
            p.activity.venue = Venue::ALL
                .get(rng.gen_range(0..12))
                .map(|v| v.as_str().to_string());
            p.activity.participants = rng.gen_range(10..=400);
            if rng.gen_bool(0.2) {
                p.materials = vec![(21, rng.gen_range(50..=800)), (22, rng.gen_range(1..=4))];
            }
            batch.push(p);
        }
        db.write_blocking(move |c| {
            let loader = Can::<grants::ManageActivities>::check(&Actor::system("cli:bench"))?;
            activities::load(c, &loader, &batch)
        })
        .map_err(|e| e.to_string())?;
        left -= n;
    }
    let stored = db
        .write_blocking(|c| {
            activities::count(c, &Scope::everything(), &activities::Filter::default())
        })
        .map_err(|e| e.to_string())?;
    Ok(Built {
        unit: first_unit,
        stored,
    })
}

/// Record `n` activities through the database layer one after another, each in its own
/// transaction as a form's would be: the latencies.
fn record_some(db: &Db, n: usize) -> Result<Vec<Duration>, String> {
    let (unit, code) = db
        .write_blocking(|c| {
            let all = Scope::everything();
            let city = org::get_region_by_code(c, &all, "450100")?;
            let u = org::list_units(
                c,
                &Scope::subtrees(vec![city.path.clone()]),
                &ListFilter::default(),
                1,
            )?;
            Ok((u.first().map_or(0, |u| u.item.id), city.code))
        })
        .map_err(|e| e.to_string())?;
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let unit = unit.to_string();
        let input = ActivityInput::parse(
            &ActivityFields {
                form: "activity",
                title: "基准登记",
                kind: "1",
                venue: "communities",
                organiser_unit: &unit,
                region: &code,
                held_on: &shiliu_db::today().to_string(),
                participants: "50",
                materials: vec![("21", "100"), ("22", "2")],
                ..ActivityFields::default()
            },
            shiliu_db::today(),
        )
        .map_err(|e| e.to_string())?;
        let t = Instant::now();
        db.write_blocking(move |c| {
            let logger = Can::<grants::LogActivities>::check(&Actor::system("cli:bench"))?;
            activities::record(c, &logger, &input, &[]).map(|_| ())
        })
        .map_err(|e: DbError| e.to_string())?;
        lat.push(t.elapsed());
    }
    lat.sort();
    Ok(lat)
}

pub fn run(
    c: &crate::config::Config,
    seconds: u64,
    concurrency: usize,
    rows: usize,
) -> Result<(), String> {
    let db = crate::open(c)?;
    let rows = rows.min(2_000_000);
    let t = Instant::now();
    let Built { unit, stored } = setup(&db, rows)?;
    println!(
        "activities: {rows} loaded in {:.1} s ({stored} stored in all)",
        t.elapsed().as_secs_f64()
    );
    settle(&db)?;
    let lat = record_some(&db, 200)?;
    println!(
        "  recording one (with two materials, audited), 200 in turn: p50 {:.1} ms, p99 {:.1} ms",
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let mut user = |name: &str| -> Result<accounts::User, String> {
        accounts::find_by_username(&mut conn, name)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("bench: the demo's {name} account is needed (run `shiliu demo --no-serve` first)"))
    };
    let (admin, city) = (user("admin")?, user("nanning")?);
    drop(conn);
    let server = Server::start(&db, c)?;
    let (admin, city) = (session_cookie(&db, &admin)?, session_cookie(&db, &city)?);
    let dur = Duration::from_secs(seconds);
    let today = shiliu_db::today();
    let month = today.with_day(1).unwrap_or(today);
    let recent = format!("/activities?from={month}&to={today}");
    let year = today.year();
    for (path, cookie) in [
        ("/activities".to_string(), &admin),
        ("/activities?venue=schools".to_string(), &admin),
        ("/activities?kind=3".to_string(), &admin),
        ("/activities?form=training".to_string(), &admin),
        (format!("/activities?unit={unit}"), &admin),
        ("/activities?region=450100".to_string(), &admin),
        (recent, &admin),
        ("/activities?q=知识竞赛12".to_string(), &admin),
        ("/activities".to_string(), &city),
        ("/activities?venue=families".to_string(), &city),
        (
            format!("/activities/stats?from={year}-01-01&to={year}-12-31"),
            &admin,
        ),
        ("/activities/stats".to_string(), &city),
        ("/activities/progress".to_string(), &admin),
        ("/activities/progress".to_string(), &city),
        ("/activities/calendar".to_string(), &city),
    ] {
        let (n, lat, errors) = load(server.addr, &path, cookie, concurrency, dur);
        let who = if *cookie == admin { "province" } else { "city" };
        println!(
            "  GET {path} ({who}) × {concurrency} connections: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, errors {errors}",
            n as f64 / dur.as_secs_f64(),
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
    drop(server);
    println!("peak RSS {} MiB", status_kib("VmHWM") / 1024);
    Ok(())
}
