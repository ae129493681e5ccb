//! 流出地联动: the home side's out-migrants and the assists (协查) between the two sides.

pub mod api;
pub mod pages;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [api::routes(), pages::routes()]
        .into_iter()
        .fold(crate::Routes::new(file!()), crate::Routes::merge)
}
