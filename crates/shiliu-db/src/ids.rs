//! Row ids: time-ordered 63-bit integers made by the application.
//!
//! Why not sequences: the same INSERT then works on both engines without `RETURNING`, ids are
//! known before the row is written (so the audit row can name it), and app nodes need no
//! round trip. Layout: milliseconds since 2024-01-01 (41 bits, until 2093) and 22 low bits
//! that start at a random value each millisecond and count up within it.

use std::sync::atomic::{AtomicI64, Ordering};

use rand::Rng;

const EPOCH_MS: i64 = 1_704_067_200_000;
pub(crate) const LOW_BITS: u32 = 22;
static LAST: AtomicI64 = AtomicI64::new(0);

pub fn new_id() -> i64 {
    let now_ms = chrono::Utc::now().timestamp_millis() - EPOCH_MS;
    let base = now_ms << LOW_BITS;
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        // Leave room to count up within the millisecond after the random start.
        let fresh = base | i64::from(rand::thread_rng().gen_range(0..(1u32 << 18)));
        let next = if base > last { fresh } else { last + 1 };
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(actual) => last = actual,
        }
    }
}

/// An id for a row that happened at `at` (UTC), for loading history (demo data, benchmarks):
/// `seq` tells apart rows of the same millisecond. Ids of past moments cannot meet new ones.
pub fn id_at(at: chrono::NaiveDateTime, seq: u32) -> i64 {
    let ms = at.and_utc().timestamp_millis() - EPOCH_MS;
    (ms << LOW_BITS) | i64::from(seq & ((1 << LOW_BITS) - 1))
}

/// The moment (UTC, to the millisecond) an id was made for.
pub fn time_of(id: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp_millis((id >> LOW_BITS) + EPOCH_MS)
        .unwrap_or_default()
        .naive_utc()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_increase_and_are_unique() {
        let ids: Vec<i64> = (0..10_000).map(|_| super::new_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids[0] > 0);
    }

    #[test]
    fn an_id_tells_its_moment() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
            .unwrap()
            .and_hms_milli_opt(9, 30, 1, 234)
            .unwrap();
        assert_eq!(super::time_of(super::id_at(at, 77)), at);
    }
}
