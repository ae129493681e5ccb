//! Where every role starts.

pub mod pages;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [pages::routes()]
        .into_iter()
        .fold(crate::Routes::new(file!()), crate::Routes::merge)
}
