//! The organisation: regions, grids, service sites and units, and their import.

pub mod api;
pub mod import;
pub mod pages;
pub mod pickers;
pub mod poster;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [
        api::routes(),
        import::routes(),
        pages::routes(),
        pickers::routes(),
        poster::routes(),
    ]
    .into_iter()
    .fold(crate::Routes::new(file!()), crate::Routes::merge)
}
