//! Black-box tests through the router, on both engines: sign-in, CSRF, lockout, the API's
//! error envelope, and the walk of every route as every role from two sibling regions.
//!
//! One test binary; a file per module, the shared fixtures in `common`.

#[path = "../support/disclosure.rs"]
mod disclosure;

mod common;

mod accounts;
mod activities;
mod casework;
mod councils;
mod dashboard;
mod evaluation;
mod home;
mod messages;
mod org;
mod registry;
mod requests;
mod security;
mod site;
mod tasks;
