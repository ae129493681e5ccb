//! Shiliu's domain: the types, rules and reference data of ethnic-affairs work, with no I/O.
//!
//! Values that arrive from users are parsed into newtypes here (`IdNumber::parse`,
//! `Mobile::parse`, …) so the rest of the system only ever holds valid ones. Every parse
//! failure is a [`FieldError`]: the field, and a reason as a message key that the web layer
//! translates into the user's language.

pub mod accounts;
pub mod activities;
pub mod calendar;
pub mod casework;
pub mod councils;
pub mod dashboard;
pub mod divisions;
pub mod error;
pub mod evaluation;
pub mod files;
pub mod geo;
pub mod id_number;
pub mod messages;
pub mod mobile;
pub mod org;
pub mod peoples;
pub mod registry;
pub mod requests;
pub mod roles;
pub mod tasks;

pub use error::{FieldError, FieldErrors};
