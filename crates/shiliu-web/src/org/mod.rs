//! The organisation: regions, grids, service sites and units, and their import.

pub mod api;
pub mod import;
pub mod pages;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [api::routes(), import::routes(), pages::routes()]
        .into_iter()
        .fold(crate::Routes::new(file!()), crate::Routes::merge)
}
