//! Work plans, task decomposition, ledgers, supervision and rectification (实施方案 · 任务分解表 ·
//! 工作台账 · 督查整改).

pub mod api;
pub mod board;
pub mod inspections;
pub mod instructions;
pub mod ledger;
pub mod pages;
pub mod sheets;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [
        api::routes(),
        board::routes(),
        inspections::routes(),
        instructions::routes(),
        ledger::routes(),
        pages::routes(),
        sheets::routes(),
    ]
    .into_iter()
    .fold(crate::Routes::new(file!()), crate::Routes::merge)
}
