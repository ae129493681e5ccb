//! The migrant registry (流动人口登记): people and households, self-declarations, statistics, imports, the home side's linkage and needs surveys.

pub mod api;
pub mod declare;
pub mod import;
pub mod linkage;
pub mod needs;
pub mod pages;
pub mod stats;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [
        api::routes(),
        declare::routes(),
        import::routes(),
        pages::routes(),
        stats::routes(),
        linkage::routes(),
        needs::routes(),
    ]
    .into_iter()
    .fold(crate::Routes::new(file!()), crate::Routes::merge)
}
