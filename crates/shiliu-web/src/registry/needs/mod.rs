//! Needs surveys (就业需求摸排), the needs found and the services given.

pub mod api;
pub mod pages;
