//! The migrant registry (流动人口登记): people and households, self-declarations, statistics, imports, the home side's linkage and needs surveys.

pub mod api;
pub mod declare;
pub mod import;
pub mod linkage;
pub mod needs;
pub mod pages;
pub mod stats;
