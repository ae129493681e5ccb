//! Accounts: users and their grids, API tokens, the audit log; signing in and one's own account.

pub mod api;
pub mod pages;
pub mod session;
