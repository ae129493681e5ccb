//! `shiliu bench`: the platform core's benchmark. Prints its figures; docs/PERFORMANCE.md
//! records them. Load comes from threads in this process over loopback HTTP/1.1 keep-alive
//! connections to the real server (the same router, middleware and database as `serve`).

pub mod activities;
pub mod councils;
pub mod dashboard;
pub mod evaluation;
pub mod lists;
pub mod registry;
pub mod requests;
pub mod tasks;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use shiliu_db::accounts;
use shiliu_db::org::{self, ListFilter};
use shiliu_db::scope::Actor;

/// A memory figure of this process from /proc/self/status, in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Read an `SQLite` database's files once, so that the figures are of a server whose working
/// set is in the operating system's file cache, as a running one's is, and not of the disk
/// (here, after a build, writes waited seconds on pages read back from disk). `PostgreSQL`
/// keeps its own cache; nothing to do.
fn warm_file_cache(c: &crate::config::Config) -> Result<(), String> {
    let url = shiliu_db::DatabaseUrl::parse(&c.database_url).map_err(|e| e.to_string())?;
    if url.engine != shiliu_db::Engine::Sqlite {
        return Ok(());
    }
    let t = Instant::now();
    let mut bytes = 0;
    for suffix in ["", "-wal"] {
        if let Ok(mut f) = std::fs::File::open(format!("{}{suffix}", url.target)) {
            bytes += std::io::copy(&mut f, &mut std::io::sink()).map_err(|e| e.to_string())?;
        }
    }
    println!(
        "file cache warmed: {} MiB read in {:.1} s",
        bytes / (1 << 20),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// One keep-alive request; returns the status code. `headers` are extra header lines.
fn call(
    stream: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> std::io::Result<u16> {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: bench\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    // One write: a request split over two segments waits on Nagle and delayed ACKs (40 ms).
    let mut out = req.into_bytes();
    out.extend_from_slice(body);
    stream.get_mut().write_all(&out)?;
    let mut line = String::new();
    stream.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut len = 0usize;
    loop {
        line.clear();
        stream.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    Ok(status)
}

fn get(stream: &mut BufReader<TcpStream>, path: &str, cookie: &str) -> std::io::Result<u16> {
    call(stream, "GET", path, &format!("Cookie: {cookie}\r\n"), &[])
}

/// Drive `one` (one request on a keep-alive connection, given a running number; returns the
/// status) from `concurrency` threads for `dur`; latencies of the answers with status `ok`.
fn load_with<F>(
    addr: SocketAddr,
    concurrency: usize,
    dur: Duration,
    ok: u16,
    one: F,
) -> (usize, Vec<Duration>, usize)
where
    F: Fn(&mut BufReader<TcpStream>, usize) -> std::io::Result<u16> + Send + Sync + 'static,
{
    let one = std::sync::Arc::new(one);
    let handles: Vec<_> = (0..concurrency)
        .map(|k| {
            let one = one.clone();
            std::thread::spawn(move || {
                let stream = TcpStream::connect(addr).expect("connect");
                stream.set_nodelay(true).expect("TCP_NODELAY");
                let mut s = BufReader::new(stream);
                let mut lat = Vec::new();
                let mut errors = 0;
                let end = Instant::now() + dur;
                let mut i = k * 1_000_000;
                while Instant::now() < end {
                    let t = Instant::now();
                    match one(&mut s, i) {
                        Ok(status) if status == ok => lat.push(t.elapsed()),
                        _ => errors += 1,
                    }
                    i += 1;
                }
                (lat, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (l, e) = h.join().expect("load thread");
        all.extend(l);
        errors += e;
    }
    all.sort();
    (all.len(), all, errors)
}

fn load(
    addr: SocketAddr,
    path: &str,
    cookie: &str,
    concurrency: usize,
    dur: Duration,
) -> (usize, Vec<Duration>, usize) {
    let (path, cookie) = (path.to_string(), cookie.to_string());
    load_with(addr, concurrency, dur, 200, move |s, _| {
        get(s, &path, &cookie)
    })
}

/// The server in this process on a loopback port, as `serve` runs it.
struct Server {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    fn start(db: &shiliu_db::Db, c: &crate::config::Config) -> Result<Self, String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let state = shiliu_web::AppState::new(db.clone(), c.web()?);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(shiliu_web::serve(listener, state, async {
            let _ = stop_rx.await;
        }));
        Ok(Self {
            rt,
            addr,
            stop: Some(stop_tx),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        // Let the server finish what is in flight before the runtime goes.
        self.rt
            .block_on(async { tokio::time::sleep(Duration::from_millis(100)).await });
    }
}

/// A signed-in session cookie for `user` (argon2 is not what is measured).
fn session_cookie(db: &shiliu_db::Db, user: &accounts::User) -> Result<String, String> {
    let token = format!("bench-{}", shiliu_db::ids::new_id());
    let hash = shiliu_web::web::sha256_hex(&token);
    let u2 = user.clone();
    db.write_blocking(move |conn| {
        accounts::login_succeeded(
            conn,
            &Actor::system("cli:bench"),
            &u2,
            &hash,
            "bench",
            "bench",
        )
    })
    .map_err(|e| e.to_string())?;
    Ok(format!("shiliu_session={token}"))
}

pub fn run(c: &crate::config::Config, seconds: u64, concurrency: usize) -> Result<(), String> {
    let t0 = Instant::now();
    let db = crate::open(c)?;
    db.migrate().map_err(|e| e.to_string())?;
    let server = Server::start(&db, c)?;
    let addr = server.addr;
    let startup = t0.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let idle_rss = status_kib("VmRSS:");

    let user = db
        .write_blocking(|conn| accounts::find_by_username(conn, "nanning"))
        .map_err(|e| e.to_string())?
        .ok_or("run `shiliu demo --no-serve` first: the bench uses the demo user 'nanning'")?;
    let cookie = session_cookie(&db, &user)?;

    // The scoped list query alone, through the database layer.
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let scope = shiliu_db::scope::Caller::of(&mut conn, user.clone())
        .map_err(|e| e.to_string())?
        .scope()
        .clone();
    let mut lat = Vec::new();
    let mut rows = 0;
    for _ in 0..500 {
        let t = Instant::now();
        rows = org::list_sites(&mut conn, &scope, &ListFilter::default(), 50)
            .map_err(|e| e.to_string())?
            .len();
        lat.push(t.elapsed());
    }
    drop(conn);
    lat.sort();
    print_engine(&db);
    println!(
        "startup (open, migrations check, bind): {:.1} ms",
        startup.as_secs_f64() * 1000.0
    );
    println!("idle RSS: {:.1} MiB", idle_rss as f64 / 1024.0);
    println!(
        "scoped list query (sites in 南宁市, 50 of them, {rows} rows): p50 {:.2} ms, p99 {:.2} ms",
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
    for path in ["/sites", "/"] {
        let (n, lat, errors) = load(
            addr,
            path,
            &cookie,
            concurrency,
            Duration::from_secs(seconds),
        );
        println!(
            "GET {path:<7} {concurrency} connections, {seconds}s: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, errors {errors}",
            n as f64 / seconds as f64,
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
    println!("peak RSS: {:.1} MiB", status_kib("VmHWM:") as f64 / 1024.0);
    drop(server);
    Ok(())
}

/// The engine, and on `PostgreSQL` the server settings the figures depend on.
fn print_engine(db: &shiliu_db::Db) {
    let settings = db.server_settings().unwrap_or_default();
    let shown: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if shown.is_empty() {
        println!("engine: {}", db.engine().as_str());
    } else {
        println!("engine: {} ({})", db.engine().as_str(), shown.join(", "));
    }
}

/// After a load, the database as the server and its engine would have it in their own time:
/// the planner's statistics and (`PostgreSQL`) the dead rows cleared, as autovacuum and
/// `SQLite`'s hourly optimize would; then the WAL settled, as the checkpoint thread does.
fn settle(db: &shiliu_db::Db) -> Result<(), String> {
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    shiliu_db::analyze(&mut conn).map_err(|e| e.to_string())?;
    shiliu_db::checkpoint(&mut conn).map_err(|e| e.to_string())
}
