//! Casework: mediation of disputes (调解) and legal aid (法律援助) cases opened from requests.

pub mod api;
pub mod pages;
