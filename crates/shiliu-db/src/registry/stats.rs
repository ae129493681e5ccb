//! The register's figures for a scope: residents by region, by 民族 (people), by 户籍地, by
//! employment and by tag; arrivals and departures by month. Counted from the rows (GROUP BY
//! over the scope's range of `persons_scope`), exact: small cells are withheld where figures
//! are shown or exported (`shiliu_domain::registry::suppress`), not here.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::dsl::count_star;
use diesel::prelude::*;
use shiliu_domain::registry::PersonStatus;

use crate::schema::{households, person_tags, persons};
use crate::scope::Scope;
use crate::{DbConnection, DbError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryFigures {
    /// People living in the scope now.
    pub residents: i64,
    /// People registered in the scope who have since moved out of the area.
    pub moved_out: i64,
    pub households: i64,
    /// Residents per region they live in (grids, mostly), to be summed up the tree.
    pub by_region: Vec<(i64, String, i64)>,
    /// Residents per GB 3304 code.
    pub by_people: Vec<(String, i64)>,
    /// Residents per 户籍地 division code.
    pub by_hukou: Vec<(String, i64)>,
    /// Residents per employment status (`None`: not recorded).
    pub by_employment: Vec<(Option<String>, i64)>,
    pub by_tag: Vec<(String, i64)>,
    /// Arrivals (`arrived_on`) and departures (`moved_out_on`) per month `YYYY-MM` in the window.
    pub arrivals: BTreeMap<String, i64>,
    pub departures: BTreeMap<String, i64>,
}

/// The figures of `scope`, with arrivals and departures from `from` up to `to` (inclusive).
pub fn figures(
    conn: &mut DbConnection,
    scope: &Scope,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<RegistryFigures, DbError> {
    let resident = PersonStatus::Resident.as_str();
    // A closure cannot return the unboxed query, and Diesel cannot group a boxed one.
    macro_rules! in_scope {
        () => {
            persons::table.filter(scope.path_filter(persons::region_path))
        };
    }
    let by_status: Vec<(String, i64)> = in_scope!()
        .group_by(persons::status)
        .select((persons::status, count_star()))
        .load(conn)?;
    let status = |s: &str| {
        by_status
            .iter()
            .find(|(k, _)| k == s)
            .map_or(0, |(_, n)| *n)
    };
    let households: i64 = households::table
        .filter(scope.path_filter(households::region_path))
        .count()
        .get_result(conn)?;
    let by_region: Vec<(i64, String, i64)> = in_scope!()
        .filter(persons::status.eq(resident))
        .group_by((persons::region_id, persons::region_path))
        .select((persons::region_id, persons::region_path, count_star()))
        .load(conn)?;
    let by_people: Vec<(String, i64)> = in_scope!()
        .filter(persons::status.eq(resident))
        .group_by(persons::people)
        .select((persons::people, count_star()))
        .load(conn)?;
    let by_hukou: Vec<(String, i64)> = in_scope!()
        .filter(persons::status.eq(resident))
        .group_by(persons::hukou)
        .select((persons::hukou, count_star()))
        .load(conn)?;
    let by_employment: Vec<(Option<String>, i64)> = in_scope!()
        .filter(persons::status.eq(resident))
        .group_by(persons::employment)
        .select((persons::employment, count_star()))
        .load(conn)?;
    let by_tag: Vec<(String, i64)> = person_tags::table
        .inner_join(persons::table)
        .filter(scope.path_filter(persons::region_path))
        .filter(persons::status.eq(resident))
        .group_by(person_tags::tag)
        .select((person_tags::tag, count_star()))
        .load(conn)?;
    let per_month = |days: Vec<(Option<NaiveDate>, i64)>| {
        let mut m = BTreeMap::new();
        for (d, n) in days {
            if let Some(d) = d {
                *m.entry(d.format("%Y-%m").to_string()).or_insert(0) += n;
            }
        }
        m
    };
    let arrivals = per_month(
        in_scope!()
            .filter(persons::arrived_on.between(from, to))
            .group_by(persons::arrived_on)
            .select((persons::arrived_on, count_star()))
            .load(conn)?,
    );
    let departures = per_month(
        in_scope!()
            .filter(persons::moved_out_on.between(from, to))
            .group_by(persons::moved_out_on)
            .select((persons::moved_out_on, count_star()))
            .load(conn)?,
    );
    Ok(RegistryFigures {
        residents: status(resident),
        moved_out: status(PersonStatus::MovedOut.as_str()),
        households,
        by_region,
        by_people,
        by_hukou,
        by_employment,
        by_tag,
        arrivals,
        departures,
    })
}
