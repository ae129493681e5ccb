//! Needs surveys (就业需求摸排), the needs found and the services given.

pub mod api;
pub mod pages;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [api::routes(), pages::routes()]
        .into_iter()
        .fold(crate::Routes::new(file!()), crate::Routes::merge)
}
