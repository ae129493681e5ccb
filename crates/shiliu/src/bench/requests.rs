//! `shiliu bench --suite requests`: intake through the real HTTP path against the same intake
//! committed directly through the database layer, then lists, search and statistics with a
//! large number of requests stored (loaded in bulk by `volume` up to `--rows`).

use std::time::{Duration, Instant};

use shiliu_db::accounts;
use shiliu_db::requests::{self, RequestFilter};
use shiliu_db::scope::Scope;
use shiliu_domain::requests::{Channel, RequestInput};
use shiliu_domain::roles::Permission;

use super::{Server, call, load, load_with, pct, session_cookie, status_kib};

/// What residents ask, for intake: texts a hotline operator types.
const TEXTS: [&str; 6] = [
    "来电反映出租屋漏水，房东一直不修",
    "咨询孩子随迁入学需要哪些材料",
    "工地拖欠工资，想请求帮助",
    "想参加电工技能培训，怎么报名",
    "和邻居因为噪音发生矛盾，请社区调解",
    "咨询居住证办理流程",
];

fn report(name: &str, n: usize, lat: &[Duration], errors: usize, seconds: u64) {
    println!(
        "{name}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, errors {errors}",
        n as f64 / seconds as f64,
        pct(lat, 0.5),
        pct(lat, 0.99)
    );
}

/// (grid codes of 南宁市, categories a request can be taken in without extra answers).
fn intake_inputs(db: &shiliu_db::Db) -> Result<(Vec<String>, Vec<i64>), String> {
    db.write_blocking(|c| {
        let all = Scope::everything();
        let city = shiliu_db::org::get_region_by_code(c, &all, "450100")?;
        let grids = shiliu_db::org::subtree(c, &all, city.id)?
            .into_iter()
            .filter(|r| r.kind == "grid")
            .map(|r| r.code)
            .collect();
        let asked = requests::questions::questions(c, None, false)?;
        let cats = requests::categories(c, false)?
            .into_iter()
            .filter(|k| !asked.iter().any(|q| q.category_id == k.id && q.required))
            .map(|k| k.id)
            .collect();
        Ok((grids, cats))
    })
    .map_err(|e| e.to_string())
}

pub fn run(
    c: &crate::config::Config,
    seconds: u64,
    concurrency: usize,
    rows: usize,
) -> Result<(), String> {
    let db = crate::open(c)?;
    db.migrate().map_err(|e| e.to_string())?;
    super::warm_file_cache(c)?;
    let user = db
        .write_blocking(|conn| accounts::find_by_username(conn, "nanning"))
        .map_err(|e| e.to_string())?
        .ok_or("run `shiliu demo --no-serve` first: the bench uses the demo user 'nanning'")?;
    let (grids, cats) = intake_inputs(&db)?;
    if grids.is_empty() || cats.is_empty() {
        return Err(
            "the demo's grids and categories are missing: run `shiliu demo --no-serve`".into(),
        );
    }
    let token = format!("bench-{}", shiliu_db::ids::new_id());
    let hash = shiliu_web::web::sha256_hex(&token);
    let u2 = user.clone();
    db.write_blocking(move |conn| {
        let actor = accounts::acting_as(conn, &u2, "bench")?;
        let perms = [Permission::CreateRequests, Permission::ViewRequests];
        let expires = shiliu_db::now() + chrono::Duration::days(1);
        accounts::create_token(conn, &actor, "bench", &hash, &perms, expires)
    })
    .map_err(|e| e.to_string())?;
    let server = Server::start(&db, c)?;
    // The segmenter loads in the background at start; let it.
    std::thread::sleep(Duration::from_millis(800));
    super::print_engine(&db);
    let dur = Duration::from_secs(seconds);

    // Intake through HTTP: bearer token, JSON, validation, routing, deadline, audit, index.
    let body = |i: usize| {
        serde_json::json!({
            "channel": "hotline",
            "category_id": cats[i % cats.len()],
            "region_code": grids[(i * 7919) % grids.len()],
            "description": TEXTS[i % TEXTS.len()],
            "contact_phone": format!("139{:08}", i % 100_000_000),
        })
        .to_string()
    };
    let bodies: Vec<String> = (0..4096).map(body).collect();
    let auth = format!("Authorization: Bearer {token}\r\nContent-Type: application/json\r\n");
    let b2 = bodies.clone();
    let (n, lat, errors) = load_with(server.addr, concurrency, dur, 201, move |s, i| {
        call(
            s,
            "POST",
            "/api/v1/requests",
            &auth,
            b2[i % b2.len()].as_bytes(),
        )
    });
    report(
        &format!("intake via HTTP ({concurrency} connections)"),
        n,
        &lat,
        errors,
        seconds,
    );
    let http_rate = n as f64 / seconds as f64;

    // The same intake committed directly through the database layer: one request per
    // transaction from as many threads; grouped as the server groups it, with as many requests
    // in flight as the HTTP clients have (two writers, half the callers each), which is the
    // comparison the target is judged by; and with each writer's group as large as all the
    // callers (twice the requests in flight), for reference.
    let single = direct_intake(&db, &user, (&grids, &cats), (concurrency, 1), dur)?;
    report(
        &format!("intake direct through shiliu-db ({concurrency} threads, one per transaction)"),
        single.n,
        &single.lat,
        single.errors,
        seconds,
    );
    let half = concurrency.div_ceil(2);
    let grouped = direct_intake(&db, &user, (&grids, &cats), (2, half), dur)?;
    report(
        &format!("intake direct through shiliu-db (2 threads, {half} per transaction)"),
        grouped.n,
        &grouped.lat,
        grouped.errors,
        seconds,
    );
    let doubled = direct_intake(&db, &user, (&grids, &cats), (2, concurrency), dur)?;
    report(
        &format!("intake direct through shiliu-db (2 threads, {concurrency} per transaction)"),
        doubled.n,
        &doubled.lat,
        doubled.errors,
        seconds,
    );
    let rate = |n: usize| n as f64 / seconds as f64;
    println!(
        "HTTP / direct: {:.2} (one per transaction), {:.2} (grouped, {concurrency} in flight), \
         {:.2} (grouped, {} in flight)",
        http_rate / rate(single.n),
        http_rate / rate(grouped.n),
        http_rate / rate(doubled.n),
        2 * concurrency
    );

    if rows == 0 {
        // Intake only.
        println!("peak RSS: {:.1} MiB", status_kib("VmHWM:") as f64 / 1024.0);
        return Ok(());
    }
    fill(&db, rows)?;
    reads_direct(&db, &user)?;
    let cookie = session_cookie(&db, &user)?;
    let year_ago =
        shiliu_db::requests::stats::month_of(shiliu_db::now() - chrono::Duration::days(365));
    let pages = [
        "/requests".to_string(),
        "/requests?q=%E7%A7%9F%E6%88%BF".to_string(),
        "/requests?q=%E6%8B%96%E6%AC%A0%E5%B7%A5%E8%B5%84&status=closed".to_string(),
        "/requests/stats".to_string(),
        format!("/requests/stats?by=month&from={year_ago}"),
        format!("/requests/stats?by=resolved_month&from={year_ago}"),
        "/requests/stats?by=site".to_string(),
        format!("/requests/stats?by=region&from={year_ago}"),
    ];
    for path in &pages {
        let (n, lat, errors) = load(server.addr, path, &cookie, concurrency, dur);
        report(&format!("GET {path}"), n, &lat, errors, seconds);
    }
    println!("peak RSS: {:.1} MiB", status_kib("VmHWM:") as f64 / 1024.0);
    drop(server);
    Ok(())
}

/// Load requests in bulk up to `rows` stored (in 南宁市), then settle the database as a running
/// server's would be.
pub(super) fn fill(db: &shiliu_db::Db, rows: usize) -> Result<(), String> {
    let have = db
        .write_blocking(|c| requests::count(c, &Scope::everything()))
        .map_err(|e| e.to_string())? as usize;
    if have < rows {
        let t = Instant::now();
        crate::volume::generate(db, "450100", rows - have, have as u64)
            .map_err(|e| e.to_string())?;
        println!(
            "loaded {} requests in {:.1}s",
            rows - have,
            t.elapsed().as_secs_f64()
        );
        super::settle(db)?;
    }
    let total = db
        .write_blocking(|c| requests::count(c, &Scope::everything()))
        .map_err(|e| e.to_string())?;
    println!("requests stored: {total}");
    Ok(())
}

/// Intake through `requests::create_many` from `threads` threads, `group` requests per
/// transaction: (requests taken in, each one's latency).
fn direct_intake(
    db: &shiliu_db::Db,
    user: &accounts::User,
    (grids, cats): (&[String], &[i64]),
    (threads, group): (usize, usize),
    dur: Duration,
) -> Result<Intaken, String> {
    let actor = db
        .write_blocking(|c| accounts::acting_as(c, user, "bench"))
        .map_err(|e| e.to_string())?;
    let handles: Vec<_> = (0..threads)
        .map(|k| {
            let (db, actor) = (db.clone(), actor.clone());
            let (grids, cats) = (grids.to_vec(), cats.to_vec());
            std::thread::spawn(move || {
                let (mut lat, mut errors) = (Vec::new(), 0usize);
                let end = Instant::now() + dur;
                let mut i = k * 1_000_000;
                while Instant::now() < end {
                    let t = Instant::now();
                    let orders: Vec<requests::Intake> = (i..i + group)
                        .map(|n| {
                            // Each request its own id, as the HTTP path gives it.
                            let actor = actor.clone().in_request(&format!("bench-{n}"));
                            requests::Intake {
                                actor,
                                input: RequestInput::parse(
                                    Channel::Hotline,
                                    TEXTS[n % TEXTS.len()],
                                    "",
                                    "",
                                    &format!("139{:08}", n % 100_000_000),
                                    false,
                                )
                                .expect("valid input"),
                                category_id: cats[n % cats.len()],
                                region: requests::RegionRef::Code {
                                    code: grids[(n * 7919) % grids.len()].clone(),
                                    field: "region_code",
                                },
                                intake_site_id: None,
                            }
                        })
                        .collect();
                    // A transaction that fails loses its whole group; a request refused
                    // inside one is an error of its own.
                    match db.write_blocking(|c| requests::create_many(c, &orders)) {
                        Ok(results) => {
                            let took = t.elapsed();
                            for r in &results {
                                match r {
                                    Ok(_) => lat.push(took),
                                    Err(_) => errors += 1,
                                }
                            }
                        }
                        Err(_) => errors += orders.len(),
                    }
                    i += group;
                }
                (lat, errors)
            })
        })
        .collect();
    let (mut all, mut errors) = (Vec::new(), 0);
    for h in handles {
        let (lat, e) = h.join().map_err(|_| "intake thread panicked")?;
        all.extend(lat);
        errors += e;
    }
    all.sort();
    Ok(Intaken {
        n: all.len(),
        lat: all,
        errors,
    })
}

/// What a direct intake took in: how many, each one's latency, and how many failed.
struct Intaken {
    n: usize,
    lat: Vec<Duration>,
    errors: usize,
}

/// One read of the database layer, returning how many rows it found.
type ReadCase<'a> = dyn Fn(&mut shiliu_db::DbConnection) -> usize + 'a;

/// The reads alone, through the database layer, one at a time: p50 / p99 of 200 each.
fn reads_direct(db: &shiliu_db::Db, user: &accounts::User) -> Result<(), String> {
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let scope = shiliu_db::scope::Caller::of(&mut conn, user.clone())
        .map_err(|e| e.to_string())?
        .scope()
        .clone();
    let (year_ago, this_month) = (
        shiliu_db::requests::stats::month_of(shiliu_db::now() - chrono::Duration::days(365)),
        shiliu_db::requests::stats::month_of(shiliu_db::now()),
    );
    let cases: [(&str, Box<ReadCase>); 4] = [
        (
            "scoped list, newest 50",
            Box::new(|c| {
                requests::list(c, &scope, &RequestFilter::default(), 50).map_or(0, |v| v.len())
            }),
        ),
        (
            "search 租房, newest 50",
            Box::new(|c| {
                let f = RequestFilter {
                    text: Some("租房".into()),
                    ..RequestFilter::default()
                };
                requests::list(c, &scope, &f, 50).map_or(0, |v| v.len())
            }),
        ),
        (
            "search 拖欠工资 among closed, newest 50",
            Box::new(|c| {
                let f = RequestFilter {
                    text: Some("拖欠工资".into()),
                    status: Some(shiliu_domain::requests::Status::Closed),
                    ..RequestFilter::default()
                };
                requests::list(c, &scope, &f, 50).map_or(0, |v| v.len())
            }),
        ),
        (
            "statistics by category, past year",
            Box::new(|c| {
                shiliu_db::requests::stats::figures(
                    c,
                    &scope,
                    &year_ago,
                    &this_month,
                    shiliu_db::requests::stats::Dimension::Category,
                )
                .map_or(0, |v| v.len())
            }),
        ),
    ];
    for (name, f) in &cases {
        let mut lat = Vec::new();
        let mut rows = 0;
        for _ in 0..200 {
            let t = Instant::now();
            rows = f(&mut conn);
            lat.push(t.elapsed());
        }
        lat.sort();
        println!(
            "{name} (database layer, {rows} rows): p50 {:.2} ms, p99 {:.2} ms",
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
    Ok(())
}
