//! Prometheus text metrics: requests and latency by route, the database pool, uptime.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Latency histogram buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct RouteStats {
    /// Count by status code.
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

pub struct Metrics {
    started: Instant,
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            routes: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let s = routes
            .entry((method.to_string(), route.to_string()))
            .or_default();
        *s.by_status.entry(status).or_default() += 1;
        s.count += 1;
        s.sum_seconds += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    pub fn render(&self, pool: shiliu_db::PoolState, engine: &str) -> String {
        let mut out = String::new();
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.push_str("# HELP shiliu_http_requests_total HTTP requests by route and status.\n# TYPE shiliu_http_requests_total counter\n");
        for ((m, r), s) in routes.iter() {
            for (status, n) in &s.by_status {
                let _ = writeln!(
                    out,
                    "shiliu_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP shiliu_http_request_duration_seconds Request latency by route.\n# TYPE shiliu_http_request_duration_seconds histogram\n");
        for ((m, r), s) in routes.iter() {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "shiliu_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "shiliu_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "shiliu_http_request_duration_seconds_sum{{method=\"{m}\",route=\"{r}\"}} {}",
                s.sum_seconds
            );
            let _ = writeln!(
                out,
                "shiliu_http_request_duration_seconds_count{{method=\"{m}\",route=\"{r}\"}} {}",
                s.count
            );
        }
        let _ = write!(
            out,
            "# HELP shiliu_db_pool_connections Open database connections.\n# TYPE shiliu_db_pool_connections gauge\n\
             shiliu_db_pool_connections{{engine=\"{engine}\"}} {}\n\
             # HELP shiliu_db_pool_idle Idle database connections.\n# TYPE shiliu_db_pool_idle gauge\n\
             shiliu_db_pool_idle{{engine=\"{engine}\"}} {}\n\
             # HELP shiliu_db_pool_max Pool size limit.\n# TYPE shiliu_db_pool_max gauge\n\
             shiliu_db_pool_max{{engine=\"{engine}\"}} {}\n\
             # HELP shiliu_uptime_seconds Seconds since start.\n# TYPE shiliu_uptime_seconds gauge\n\
             shiliu_uptime_seconds {}\n\
             # HELP shiliu_build_info Build information.\n# TYPE shiliu_build_info gauge\n\
             shiliu_build_info{{version=\"{}\"}} 1\n",
            pool.connections,
            pool.idle,
            pool.max,
            self.started.elapsed().as_secs(),
            env!("CARGO_PKG_VERSION"),
        );
        out
    }
}
