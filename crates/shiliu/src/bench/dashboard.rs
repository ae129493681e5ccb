//! `shiliu bench --suite dashboard`: the leaders' dashboard on the demo data as it stands
//! (run `shiliu demo --province --no-serve` first for the province-wide figures): the whole
//! province's board with its map of 14 cities, a city's with its counties, a county's with
//! its townships, and the province's board as Excel — under concurrent load, as the demo's
//! leader (whole region); then one call of each alone.

use std::time::{Duration, Instant};

use shiliu_db::accounts;

use super::{Server, load, pct, session_cookie, status_kib};

/// The pages timed: the province (its 14 cities on the map), 柳州市 (10 counties), 三江 (its
/// townships, a table), 北海市 with another measure, and the province's sheet.
const PAGES: [&str; 5] = [
    "/dashboard",
    "/dashboard?region=450200",
    "/dashboard?region=450226",
    "/dashboard?region=450500&measure=completion",
    "/dashboard.xlsx",
];

pub fn run(c: &crate::config::Config, seconds: u64, concurrency: usize) -> Result<(), String> {
    let db = crate::open(c)?;
    db.migrate().map_err(|e| e.to_string())?;
    let leader = db
        .write_blocking(|conn| accounts::find_by_username(conn, "leader"))
        .map_err(|e| e.to_string())?
        .ok_or("run `shiliu demo --no-serve` first: the bench uses the demo user 'leader'")?;
    let requests = db
        .write_blocking(|conn| {
            shiliu_db::requests::count(conn, &shiliu_db::scope::Scope::everything())
        })
        .map_err(|e| e.to_string())?;
    super::print_engine(&db);
    println!("requests stored: {requests}");
    let server = Server::start(&db, c)?;
    let cookie = session_cookie(&db, &leader)?;
    // One call of each first: what a leader waits for on a quiet server (the request list's
    // keys are loaded by the first).
    for path in PAGES {
        let stream = std::net::TcpStream::connect(server.addr).map_err(|e| e.to_string())?;
        let mut stream = std::io::BufReader::new(stream);
        let t = Instant::now();
        let status = super::get(&mut stream, path, &cookie).map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("GET {path}: status {status}"));
        }
        println!(
            "GET {path} once: {:.1} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    for path in PAGES {
        let (n, lat, errors) = load(
            server.addr,
            path,
            &cookie,
            concurrency,
            Duration::from_secs(seconds),
        );
        println!(
            "GET {path} {concurrency} connections, {seconds}s: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, errors {errors}",
            n as f64 / seconds as f64,
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
    println!("peak RSS {} MiB", status_kib("VmHWM") / 1024);
    drop(server);
    Ok(())
}
