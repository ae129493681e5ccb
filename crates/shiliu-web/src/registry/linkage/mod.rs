//! 流出地联动: the home side's out-migrants and the assists (协查) between the two sides.

pub mod api;
pub mod pages;
