//! The register's figures for a scope: residents by region, by 民族 (people), by 户籍地, by
//! employment and by tag; arrivals and departures by month. Exact: small cells are withheld
//! where figures are shown or exported (`shiliu_domain::registry::suppress`), not here.
//!
//! A township's, a county's, a city's or the province's figures come from the running totals
//! (`super::tallies`): a few hundred rows whatever the population. A community's or a grid's
//! are counted from its people (a few thousand at most), and
//! [`counted`] counts any scope that way: the tests hold the totals to it.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use diesel::dsl::count_star;
use diesel::prelude::*;
use shiliu_domain::registry::PersonStatus;

use super::tallies::{self, Total};
use crate::requests::stats::{depth, levels, snapshot};
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
    /// Residents of each of the scope's top regions and of each region one level below them,
    /// by path.
    pub by_region: Vec<(String, i64)>,
    /// Residents per GB 3304 code.
    pub by_people: Vec<(String, i64)>,
    /// Residents per 户籍地 division code.
    pub by_hukou: Vec<(String, i64)>,
    /// Residents per employment status (`None`: not recorded).
    pub by_employment: Vec<(Option<String>, i64)>,
    pub by_tag: Vec<(String, i64)>,
    /// Arrivals (`arrived_on`) and departures (`moved_out_on`) per month `YYYY-MM`.
    pub arrivals: BTreeMap<String, i64>,
    pub departures: BTreeMap<String, i64>,
}

impl RegistryFigures {
    /// The figures of two disjoint scopes together.
    fn plus(self, o: Self) -> Self {
        fn sum<K: Ord>(a: Vec<(K, i64)>, b: Vec<(K, i64)>) -> Vec<(K, i64)> {
            let mut m: BTreeMap<K, i64> = BTreeMap::new();
            for (k, n) in a.into_iter().chain(b) {
                *m.entry(k).or_insert(0) += n;
            }
            m.into_iter().collect()
        }
        let months = |a: BTreeMap<String, i64>, b: BTreeMap<String, i64>| {
            sum(a.into_iter().collect(), b.into_iter().collect())
                .into_iter()
                .collect()
        };
        Self {
            residents: self.residents + o.residents,
            moved_out: self.moved_out + o.moved_out,
            households: self.households + o.households,
            by_region: sum(self.by_region, o.by_region),
            by_people: sum(self.by_people, o.by_people),
            by_hukou: sum(self.by_hukou, o.by_hukou),
            by_employment: sum(self.by_employment, o.by_employment),
            by_tag: sum(self.by_tag, o.by_tag),
            arrivals: months(self.arrivals, o.arrivals),
            departures: months(self.departures, o.departures),
        }
    }
}

/// The whole months from `from`'s to `to`'s: the figures count arrivals and departures by month.
fn whole_months(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = |d: NaiveDate| d.with_day(1).unwrap_or(d);
    (
        first(from),
        first(to) + Months::new(1) - chrono::Duration::days(1),
    )
}

/// The figures of `scope`, with arrivals and departures in the months from `from`'s to
/// `to`'s (inclusive).
pub fn figures(
    conn: &mut DbConnection,
    scope: &Scope,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<RegistryFigures, DbError> {
    Ok(figures_each(conn, std::slice::from_ref(scope), from, to)?
        .pop()
        .unwrap_or_default())
}

/// The figures of each of `scopes` (as [`figures`]), none of whose regions lies inside
/// another's — a board's places — in one snapshot, their totals read at once.
pub fn figures_each(
    conn: &mut DbConnection,
    scopes: &[Scope],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<RegistryFigures>, DbError> {
    let (from, to) = whole_months(from, to);
    // The breakdown by region needs the totals one level down too.
    let parts: Vec<(Vec<String>, Vec<String>)> = scopes
        .iter()
        .map(|s| {
            s.tops()
                .into_iter()
                .partition(|p| p == "/" || depth(p) < tallies::REGION_DEPTH)
        })
        .collect();
    let tallied: Vec<String> = parts.iter().flat_map(|(t, _)| t.iter().cloned()).collect();
    snapshot(conn, |c| {
        let totals = tallies::totals(c, &tallied)?;
        parts
            .iter()
            .map(|(tallied, counted_paths)| {
                let f = from_totals(tallied, &totals, from, to);
                if counted_paths.is_empty() {
                    return Ok(f);
                }
                Ok(f.plus(counted(
                    c,
                    &Scope::of_paths(counted_paths.clone()),
                    from,
                    to,
                )?))
            })
            .collect()
    })
}

/// The figures of the regions at `tops` from their totals (see [`tallies::totals`]).
fn from_totals(
    tops: &[String],
    totals: &[Total],
    from: NaiveDate,
    to: NaiveDate,
) -> RegistryFigures {
    let resident = PersonStatus::Resident.as_str();
    let mut own: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    let mut regions: BTreeMap<String, i64> = BTreeMap::new();
    for t in totals {
        let counts_resident = t.dim == "status" && t.key == resident;
        for p in tops {
            let (is_own, in_regions) = if p == "/" {
                (t.depth == 1, t.depth == 1)
            } else {
                let here = t.region_path == *p;
                let child = t.depth == depth(p) + 1 && t.region_path.starts_with(p.as_str());
                (here, here || child)
            };
            if is_own {
                *own.entry((t.dim.as_str(), t.key.as_str())).or_insert(0) += t.n;
            }
            if counts_resident && in_regions {
                *regions.entry(t.region_path.clone()).or_insert(0) += t.n;
            }
        }
    }
    let one = |dim: &str, key: &str| own.get(&(dim, key)).copied().unwrap_or(0);
    let list = |dim: &str| -> Vec<(String, i64)> {
        own.iter()
            .filter(|((d, _), n)| *d == dim && **n != 0)
            .map(|((_, k), n)| ((*k).to_string(), *n))
            .collect()
    };
    let (from_m, to_m) = (tallies::month(from), tallies::month(to));
    let months = |dim: &str| -> BTreeMap<String, i64> {
        list(dim)
            .into_iter()
            .filter(|(m, _)| *m >= from_m && *m <= to_m)
            .collect()
    };
    RegistryFigures {
        residents: one("status", resident),
        moved_out: one("status", PersonStatus::MovedOut.as_str()),
        households: one("households", ""),
        by_region: regions.into_iter().filter(|(_, n)| *n != 0).collect(),
        by_people: list("people"),
        by_hukou: list("hukou"),
        by_employment: list("employment")
            .into_iter()
            .map(|(k, n)| ((!k.is_empty()).then_some(k), n))
            .collect(),
        by_tag: list("tag"),
        arrivals: months("arrived"),
        departures: months("departed"),
    }
}

/// The figures of `scope` counted from its people's rows (GROUP BY over the scope's range of
/// `persons_scope`), with arrivals and departures from `from` up to `to` (inclusive).
pub fn counted(
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
    let per_region: Vec<(String, i64)> = in_scope!()
        .filter(persons::status.eq(resident))
        .group_by(persons::region_path)
        .select((persons::region_path, count_star()))
        .load(conn)?;
    let by_region = regions_below(&scope.tops(), per_region);
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
                *m.entry(tallies::month(d)).or_insert(0) += n;
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
    // In key order, as the totals give them (the engines order groups differently).
    let sorted = |mut v: Vec<(String, i64)>| {
        v.sort();
        v
    };
    let mut by_employment = by_employment;
    by_employment.sort();
    Ok(RegistryFigures {
        residents: status(resident),
        moved_out: status(PersonStatus::MovedOut.as_str()),
        households,
        by_region,
        by_people: sorted(by_people),
        by_hukou: sorted(by_hukou),
        by_employment,
        by_tag: sorted(by_tag),
        arrivals,
        departures,
    })
}

/// Residents per region at `tops` and one level below, from residents per region they live in.
fn regions_below(tops: &[String], per_region: Vec<(String, i64)>) -> Vec<(String, i64)> {
    let mut regions: BTreeMap<String, i64> = BTreeMap::new();
    for (path, n) in per_region {
        for p in tops.iter().filter(|p| path.starts_with(p.as_str())) {
            let below = if p == "/" { 1 } else { depth(p) + 1 };
            if p != "/" {
                *regions.entry(p.clone()).or_insert(0) += n;
            }
            if let Some((child, _)) = levels(&path).find(|(_, d)| *d == below) {
                *regions.entry(child).or_insert(0) += n;
            }
        }
    }
    regions.into_iter().collect()
}
