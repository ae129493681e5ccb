//! Where every role starts.

pub mod api;
pub mod pages;
pub mod todo;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [pages::routes(), api::routes()]
        .into_iter()
        .fold(crate::Routes::new(file!()), crate::Routes::merge)
}
