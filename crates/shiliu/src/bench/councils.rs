//! `shiliu bench --suite councils`: `--rows` agenda items (default 1,000,000: a province's
//! years of them) over one council in each of the province's communities (or, with few, each
//! region), three items a meeting over three years, decided, declined, handed on and done as a
//! year of real councils goes; then timed under concurrent load: the councils' list, one
//! council's page, a meeting's page, the follow-up across councils (and its overdue part, the
//! to-do's), the statistics as the province and as a city, the public page; and raising an
//! item and recording a meeting through the database layer, alone.

use std::time::{Duration, Instant};

use chrono::{Datelike, Days, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shiliu_db::councils::items::Item;
use shiliu_db::councils::meetings::Meeting;
use shiliu_db::councils::{self, Council, items, meetings};
use shiliu_db::org;
use shiliu_db::scope::{Actor, Can, Scope, grants};
use shiliu_db::{Db, DbError, accounts};
use shiliu_domain::councils::{Channel, ItemInput, ItemStatus, MeetingInput};

use super::{Server, load, pct, session_cookie, settle, status_kib};

/// Meetings written a transaction while loading.
const BATCH: usize = 5_000;
/// Items a meeting at least.
const PER_MEETING: usize = 3;

/// What the timed pages name: a council of 南宁's with meetings, one of them, its public code.
struct Built {
    council: i64,
    meeting: i64,
    code: String,
    councils: usize,
    items: usize,
}

fn council_at(region: &org::Region, seq: u32, now: chrono::NaiveDateTime) -> Council {
    Council {
        id: shiliu_db::ids::id_at(now, seq),
        name: format!("{}议事会", region.name),
        region_id: region.id,
        region_path: region.path.clone(),
        rhythm: "fourths".into(),
        day: None,
        place: "议事厅".into(),
        starts_at: None,
        public_code: format!("b{seq:07}"),
        active: true,
        created_by: None,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// Load the councils and `rows` items with their meetings.
fn setup(db: &Db, rows: usize) -> Result<Built, String> {
    let (places, nanning) = db
        .write_blocking(|c| {
            let all = Scope::everything();
            let gx = org::get_region_by_code(c, &all, "450000")?;
            let nanning = org::get_region_by_code(c, &all, "450100")?;
            let regions = org::subtree(c, &all, gx.id)?;
            let communities: Vec<org::Region> = regions
                .iter()
                .filter(|r| r.kind() == shiliu_domain::org::RegionKind::Community)
                .cloned()
                .collect();
            Ok((
                if communities.len() >= 100 {
                    communities
                } else {
                    regions
                },
                nanning.path,
            ))
        })
        .map_err(|e| e.to_string())?;
    let now = shiliu_db::now();
    let today = shiliu_db::today();
    let mut rng = StdRng::seed_from_u64(29);
    let mut seq: u32 = 1_000_000;
    let mut next = || {
        seq = seq.wrapping_add(1);
        seq
    };
    let councils: Vec<Council> = places.iter().map(|r| council_at(r, next(), now)).collect();
    let first = today.checked_sub_days(Days::new(3 * 365)).unwrap_or(today);
    let days = councils[0].schedule().days(first, today);
    // Three items a meeting, more when three years of meetings cannot hold them all.
    let per_meeting = rows
        .div_ceil(councils.len() * days.len().max(1))
        .max(PER_MEETING);
    let per_council = rows.div_ceil(per_meeting).div_ceil(councils.len()).max(1);
    let mut loaded = 0_usize;
    let sys = Can::<grants::RunCouncils>::check(&Actor::system("cli:bench"))
        .map_err(|e| e.to_string())?;
    let mut left_items = rows;
    let mut pending_meetings: Vec<Meeting> = Vec::new();
    let mut pending_items: Vec<Item> = Vec::new();
    let mut first_batch = Some(councils.clone());
    let flush = |m: &mut Vec<Meeting>, i: &mut Vec<Item>, all: Option<Vec<Council>>| {
        let (m2, i2) = (std::mem::take(m), std::mem::take(i));
        let all = all.unwrap_or_default();
        let sys = sys.clone();
        db.write_blocking(move |c| councils::load(c, &sys, (&all, &m2, &i2)))
            .map_err(|e: DbError| e.to_string())
    };
    'councils: for co in &councils {
        // Its latest meetings, back from today.
        for day in days.iter().rev().take(per_council) {
            if left_items == 0 {
                break 'councils;
            }
            let m = Meeting {
                id: shiliu_db::ids::id_at(now, next()),
                council_id: co.id,
                region_path: co.region_path.clone(),
                held_on: *day,
                status: "held".into(),
                guests: rng.gen_range(3..25),
                notes: None,
                recorded_by: None,
                recorder: "system:load".into(),
                created_at: now,
                updated_at: now,
                version: 1,
            };
            for _ in 0..per_meeting.min(left_items) {
                left_items -= 1;
                loaded += 1;
                let roll: f64 = rng.r#gen();
                let raised_on = day.checked_sub_days(Days::new(3)).unwrap_or(*day);
                let due = *day + Days::new(rng.gen_range(5..30));
                let done = due
                    .checked_add_days(Days::new(rng.gen_range(0..8)))
                    .and_then(|d| d.checked_sub_days(Days::new(rng.gen_range(0..8))))
                    .filter(|d| *d <= today && *d >= *day);
                let (status, done_on) = match (roll, done) {
                    (r, _) if r < 0.1 => (ItemStatus::Declined, None),
                    (r, Some(d)) if r < 0.85 => (ItemStatus::Done, Some(d)),
                    _ => (ItemStatus::Decided, None),
                };
                pending_items.push(Item {
                    id: shiliu_db::ids::id_at(now, next()),
                    council_id: co.id,
                    region_path: co.region_path.clone(),
                    meeting_id: Some(m.id),
                    channel: Channel::ALL[rng.gen_range(0..Channel::ALL.len())]
                        .as_str()
                        .into(),
                    text: "楼道灯坏了".into(),
                    raised_by: None,
                    phone: None,
                    publish_name: false,
                    raised_at: shiliu_domain::calendar::utc(
                        raised_on.and_hms_opt(9, 0, 0).unwrap_or_default(),
                    ),
                    raised_on,
                    brought_by: None,
                    status: status.as_str().into(),
                    decision: (status != ItemStatus::Declined).then(|| "更换灯泡".into()),
                    responsible: (status != ItemStatus::Declined).then(|| "社区主任".into()),
                    due_on: (status != ItemStatus::Declined).then_some(due),
                    decided_on: Some(*day),
                    done_on,
                    outcome: done_on.map(|_| "已办结".into()),
                    request_id: None,
                    updated_at: now,
                    version: 1,
                });
            }
            pending_meetings.push(m);
            if pending_meetings.len() >= BATCH {
                flush(
                    &mut pending_meetings,
                    &mut pending_items,
                    first_batch.take(),
                )?;
            }
        }
    }
    flush(
        &mut pending_meetings,
        &mut pending_items,
        first_batch.take(),
    )?;
    let built = db
        .write_blocking(move |c| {
            let scope = Scope::subtrees(vec![nanning]);
            let listed = councils::list(c, &scope, None, 1)?;
            let co = listed.first().ok_or(DbError::NotFound)?.council.clone();
            let m = meetings::of_council(c, &co)?
                .into_iter()
                .next()
                .ok_or(DbError::NotFound)?;
            Ok((co.id, m.id, co.public_code))
        })
        .map_err(|e| e.to_string())?;
    Ok(Built {
        council: built.0,
        meeting: built.1,
        code: built.2,
        councils: councils.len(),
        items: loaded,
    })
}

/// Raise `n` items and record `n` meetings through the database layer one after another,
/// each in its own transaction as a form's would be: the two latencies.
fn write_some(db: &Db, council: i64, n: usize) -> Result<(Vec<Duration>, Vec<Duration>), String> {
    let mut raised = Vec::with_capacity(n);
    let mut held = Vec::with_capacity(n);
    for k in 0..n {
        let input = ItemInput::parse(Channel::GridWorker, "基准议题", "", "", false)
            .map_err(|e| format!("{e:?}"))?;
        let t = Instant::now();
        db.write_blocking(move |c| {
            let sys = Actor::system("cli:bench");
            let co = councils::get(c, &Scope::everything(), council)?;
            items::raise(c, &Can::check(&sys)?, &co, &input).map(|_| ())
        })
        .map_err(|e: DbError| e.to_string())?;
        raised.push(t.elapsed());
        // A day far back, one a meeting, none taken by the load.
        let day = NaiveDate::from_ymd_opt(2001, 1, 1).unwrap_or_default()
            + Days::new(u64::try_from(k).unwrap_or(0));
        let input = MeetingInput::parse(&day.to_string(), &[], "5", "基准", shiliu_db::today())
            .map_err(|e| format!("{e:?}"))?;
        let t = Instant::now();
        db.write_blocking(move |c| {
            let sys = Actor::system("cli:bench");
            let co = councils::get(c, &Scope::everything(), council)?;
            meetings::record(c, &Can::check(&sys)?, &co, &input).map(|_| ())
        })
        .map_err(|e: DbError| e.to_string())?;
        held.push(t.elapsed());
    }
    raised.sort();
    held.sort();
    Ok((raised, held))
}

pub fn run(
    c: &crate::config::Config,
    seconds: u64,
    concurrency: usize,
    rows: usize,
) -> Result<(), String> {
    let db = crate::open(c)?;
    let rows = rows.min(3_000_000);
    let t = Instant::now();
    let built = setup(&db, rows)?;
    println!(
        "councils: {} councils, {} items loaded in {:.1} s",
        built.councils,
        built.items,
        t.elapsed().as_secs_f64()
    );
    settle(&db)?;
    let (raised, held) = write_some(&db, built.council, 200)?;
    println!(
        "  raising an item (audited), 200 in turn: p50 {:.1} ms, p99 {:.1} ms",
        pct(&raised, 0.5),
        pct(&raised, 0.99)
    );
    println!(
        "  recording a meeting (audited), 200 in turn: p50 {:.1} ms, p99 {:.1} ms",
        pct(&held, 0.5),
        pct(&held, 0.99)
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
    let year = shiliu_db::today().year();
    let (id, m) = (built.council, built.meeting);
    for (path, cookie) in [
        ("/councils".to_string(), &admin),
        ("/councils".to_string(), &city),
        ("/councils?region=450100".to_string(), &admin),
        (format!("/councils/{id}"), &city),
        (format!("/councils/{id}/meetings/{m}"), &city),
        (format!("/councils/{id}/meetings/{m}/minutes"), &city),
        ("/councils/follow-up".to_string(), &admin),
        ("/councils/follow-up?overdue=1".to_string(), &city),
        (
            format!("/councils/stats?from={year}-01-01&to={year}-12-31"),
            &admin,
        ),
        ("/councils/stats".to_string(), &city),
        (format!("/c/{}", built.code), &city),
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
