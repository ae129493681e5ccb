//! A request's files and co-handling units (协办).

pub mod api;
pub mod pages;
