//! The `shiliu` binary's library half: configuration, demo data and the benchmark, shared by
//! `main.rs` and the end-to-end tests.

pub mod bench;
pub mod config;
pub mod demo;
pub mod demo_activities;
pub mod demo_councils;
pub mod demo_eval;
pub mod demo_tasks;
pub mod volume;

use shiliu_db::{DatabaseUrl, Db};

/// Open the configured database with one clear line on failure.
pub fn open(c: &config::Config) -> Result<Db, String> {
    let url = DatabaseUrl::parse(&c.database_url).map_err(|e| e.to_string())?;
    Db::connect(&url, c.pool_size).map_err(|e| e.to_string())
}
