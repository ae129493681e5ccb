//! The leaders' dashboard (领导驾驶舱): a place's figures across the modules, its map and
//! the places below it ranked.

pub mod api;
pub mod map;
pub mod pages;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [api::routes(), pages::routes()]
        .into_iter()
        .fold(crate::Routes::new(file!()), crate::Routes::merge)
}
