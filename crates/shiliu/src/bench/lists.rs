//! `shiliu bench --suite lists`: the requests list through the JSON API (`/api/v1/requests`,
//! which answers each page with the exact count of all that match) over the matrix of every
//! filter the list offers, alone and combined, × every order, with `--rows` requests stored.
//! Each cell is read by `--concurrency` connections for `--seconds`: pages/s, p50 and p99.
//! `--seconds 0` reads each cell for a tenth of a second: a smoke run that checks every cell
//! still answers (`scripts/bench-smoke.sh`), whose figures are not measurements.

use std::time::Duration;

use chrono::Datelike;

use shiliu_db::accounts;
use shiliu_db::requests::{self, RequestFilter};
use shiliu_db::scope::Scope;
use shiliu_domain::roles::Permission;

use super::{Server, call, load_with, pct};

/// What the filters name, taken from the newest request so that each one finds some: its site's
/// name, its category, its district's code.
struct Named {
    site: String,
    category: i64,
    district: String,
}

fn named(db: &shiliu_db::Db) -> Result<Named, String> {
    db.write_blocking(|c| {
        let all = Scope::everything();
        let f = RequestFilter {
            region_path: None,
            ..RequestFilter::default()
        };
        let newest = requests::list(c, &all, &f, 200)?;
        let with_site = newest
            .iter()
            .find(|r| r.site_id.is_some())
            .ok_or(shiliu_db::DbError::NotFound)?;
        let site = shiliu_db::org::get_site(c, &all, with_site.site_id.unwrap_or_default())?;
        let mut region = shiliu_db::org::get_region(c, &all, with_site.region_id)?;
        while region.kind != "county" {
            let Some(up) = region.parent_id else { break };
            region = shiliu_db::org::get_region(c, &all, up)?;
        }
        Ok(Named {
            site: site.name,
            category: with_site.category_id,
            district: region.code,
        })
    })
    .map_err(|e| format!("the requests to name filters by: {e}"))
}

/// Percent-encode a query value (the site's name is Chinese).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn run(
    c: &crate::config::Config,
    seconds: u64,
    concurrency: usize,
    rows: usize,
) -> Result<(), String> {
    let db = crate::open(c)?;
    db.migrate().map_err(|e| e.to_string())?;
    super::requests::fill(&db, rows)?;
    super::warm_file_cache(c)?;
    let user = db
        .write_blocking(|conn| accounts::find_by_username(conn, "nanning"))
        .map_err(|e| e.to_string())?
        .ok_or("run `shiliu demo --no-serve` first: the bench uses the demo user 'nanning'")?;
    let token = format!("bench-{}", shiliu_db::ids::new_id());
    let hash = shiliu_web::web::sha256_hex(&token);
    db.write_blocking(move |conn| {
        let actor = accounts::acting_as(conn, &user, "bench")?;
        let expires = shiliu_db::now() + chrono::Duration::days(1);
        accounts::create_token(
            conn,
            &actor,
            "bench",
            &hash,
            &[Permission::ViewRequests],
            expires,
        )
    })
    .map_err(|e| e.to_string())?;
    let n = named(&db)?;
    let t0 = std::time::Instant::now();
    let before = super::status_kib("VmRSS:");
    let server = Server::start(&db, c)?;
    // The segmenter and the list's keys load in the background at start; let them (until the
    // keys are in, the database answers the list, as it did before them).
    std::thread::sleep(Duration::from_millis(800));
    while !db.request_keys().is_loaded() && t0.elapsed() < Duration::from_mins(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    // The process's resident memory grows by the keys, the server's threads and what they
    // read (on SQLite, the database pages the load touched count too).
    println!(
        "the list's keys in memory: {} after {:.1}s; resident memory {:.0} → {:.0} MiB",
        if db.request_keys().is_loaded() {
            "loaded"
        } else {
            "not loaded"
        },
        t0.elapsed().as_secs_f64(),
        before as f64 / 1024.0,
        super::status_kib("VmRSS:") as f64 / 1024.0
    );
    super::print_engine(&db);

    // A month: the last whole one (China's dates).
    let today = shiliu_domain::calendar::local(shiliu_db::now()).date();
    let this_month = today.with_day0(0).unwrap_or(today);
    let last_month = (this_month - chrono::Duration::days(1))
        .with_day0(0)
        .unwrap_or(this_month);
    let month = format!(
        "from={last_month}&to={}",
        this_month - chrono::Duration::days(1)
    );
    let (site, cat, district) = (enc(&n.site), n.category, &n.district);
    let filters: Vec<(String, String)> = [
        ("none", String::new()),
        ("status=closed", "status=closed".into()),
        ("status=received", "status=received".into()),
        ("open", "state=open".into()),
        ("done", "state=done".into()),
        ("site", format!("site={site}")),
        ("category", format!("category={cat}")),
        ("month", month.clone()),
        ("channel=grid", "channel=grid".into()),
        ("region", format!("region={district}")),
        ("due_soon", "due_soon=1".into()),
        ("overdue", "overdue=1".into()),
        ("cohandling", "cohandling=1".into()),
        ("words 租房", format!("q={}", enc("租房"))),
        ("closed+category", format!("status=closed&category={cat}")),
        ("open+site", format!("state=open&site={site}")),
        ("month+channel", format!("{month}&channel=hotline")),
        ("overdue+region", format!("overdue=1&region={district}")),
        (
            "words+closed+month",
            format!("q={}&status=closed&{month}", enc("拖欠工资")),
        ),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b))
    .collect();
    let sorts = [
        "",
        "sort=received&dir=asc",
        "sort=due&dir=asc",
        "sort=due&dir=desc",
        "sort=status&dir=asc",
        "sort=status&dir=desc",
        "sort=category&dir=asc",
        "sort=category&dir=desc",
    ];
    let dur = if seconds == 0 {
        Duration::from_millis(100)
    } else {
        Duration::from_secs(seconds)
    };
    let auth = format!("Authorization: Bearer {token}\r\n");
    println!(
        "each cell: GET /api/v1/requests?<filter>&<order> (50 rows and the total), \
         {concurrency} connections, {:.1}s",
        dur.as_secs_f64()
    );
    let mut worst: Vec<(f64, String)> = Vec::new();
    for (name, filter) in &filters {
        for sort in sorts {
            let query = [filter.as_str(), sort]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("&");
            let path = format!("/api/v1/requests?{query}");
            let auth = auth.clone();
            let (done, lat, errors) = load_with(server.addr, concurrency, dur, 200, move |s, _| {
                call(s, "GET", &path, &auth, &[])
            });
            let order = if sort.is_empty() {
                "received desc"
            } else {
                sort
            };
            let p99 = pct(&lat, 0.99);
            println!(
                "{name:<20} {order:<24} {:>7.0} pages/s  p50 {:>8.2} ms  p99 {:>8.2} ms  errors {errors}",
                done as f64 / dur.as_secs_f64(),
                pct(&lat, 0.5),
                p99
            );
            worst.push((p99, format!("{name} · {order}")));
        }
    }
    worst.sort_by(|a, b| b.0.total_cmp(&a.0));
    let over: Vec<&(f64, String)> = worst.iter().filter(|(p, _)| *p >= 50.0).collect();
    println!("cells with p99 ≥ 50 ms: {} of {}", over.len(), worst.len());
    for (p, cell) in over {
        println!("  {p:.1} ms  {cell}");
    }
    drop(server);
    Ok(())
}
