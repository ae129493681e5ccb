//! Where every role starts.

pub mod pages;
