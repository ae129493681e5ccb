//! The organisation: regions, grids, service sites and units, and their import.

pub mod api;
pub mod import;
pub mod pages;
