//! Performance evaluation (绩效考评) of units: schemes, scoring, results.

pub mod api;
pub mod pages;
pub mod results;
pub mod scores;
