//! Requests (诉求) from intake to the resident's rating: the desk's pages and API, the public forms, Open311, files and co-handling, questions, settings and statistics.

pub mod api;
pub mod files;
pub mod open311;
pub mod pages;
pub mod public;
pub mod questions;
pub mod settings;
pub mod stats;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [
        api::routes(),
        open311::routes(),
        pages::routes(),
        public::routes(),
        questions::routes(),
        settings::routes(),
        stats::routes(),
        files::routes(),
    ]
    .into_iter()
    .fold(crate::Routes::new(file!()), crate::Routes::merge)
}
