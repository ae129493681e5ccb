//! Accounts: users and their grids, API tokens, the audit log; signing in and one's own account.

pub mod api;
pub mod pages;
pub mod session;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [api::routes(), pages::routes(), session::routes()]
        .into_iter()
        .fold(crate::Routes::new(file!()), crate::Routes::merge)
}
