//! Performance evaluation (绩效考评) of units: schemes, scoring, results.

pub mod api;
pub mod pages;
pub mod results;
pub mod scores;
pub mod sheets;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [
        api::routes(),
        pages::routes(),
        results::routes(),
        scores::routes(),
        sheets::routes(),
    ]
    .into_iter()
    .fold(crate::Routes::new(file!()), crate::Routes::merge)
}
