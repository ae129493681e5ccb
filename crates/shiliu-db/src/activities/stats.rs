//! The activities' statistics: records, trainings, people reached and materials handed out,
//! by kind, "十进" venue, region and month, over what a list's filter keeps. Each dimension is
//! one grouped count over the records in scope; nothing is tallied ahead, so a figure is always
//! the records' own.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::activities::{Form, Venue};

use super::Filter;
use crate::schema::{activities, activity_materials, activity_terms};
use crate::scope::Scope;
use crate::{DbConnection, DbError};

/// What one slice of the records comes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub activities: i64,
    pub trainings: i64,
    /// People at the activities.
    pub participants: i64,
    /// People trained.
    pub trainees: i64,
}

impl Figures {
    fn add(&mut self, form: &str, n: i64, people: i64) {
        if Form::parse(form) == Some(Form::Training) {
            self.trainings += n;
            self.trainees += people;
        } else {
            self.activities += n;
            self.participants += people;
        }
    }
}

/// One material's total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaterialTotal {
    pub name: String,
    pub unit_word: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub total: Figures,
    /// By kind id (none: trainings), in the list's order.
    pub by_kind: Vec<(Option<i64>, Figures)>,
    /// By venue (none: not one of the ten).
    pub by_venue: Vec<(Option<Venue>, Figures)>,
    /// By month (`2026-03`), every month from the first to the last of the range.
    pub by_month: Vec<(String, Figures)>,
    /// By the regions directly below `parent` (or the scope's roots), each with its subtree.
    pub by_region: Vec<(crate::org::Region, Figures)>,
    pub materials: Vec<MaterialTotal>,
}

type Row<K> = (K, String, i64, Option<i64>);

/// The figures of what `f` keeps in scope; regions below `parent` (`f.within`, else the
/// scope's roots and, for a single root, its children).
pub fn stats(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &Filter,
    parent: &[crate::org::Region],
) -> Result<Stats, DbError> {
    let mut s = Stats::default();
    let kinds: Vec<Row<Option<i64>>> = activities::table
        .filter(f.predicate(scope))
        .group_by((activities::kind_id, activities::form))
        .select((
            activities::kind_id,
            activities::form,
            diesel::dsl::count_star(),
            diesel::dsl::sum(activities::participants),
        ))
        .load(conn)?;
    let mut by_kind: BTreeMap<(i32, Option<i64>), Figures> = BTreeMap::new();
    let order: std::collections::HashMap<i64, i32> = activity_terms::table
        .select((activity_terms::id, activity_terms::sort))
        .load::<(i64, i32)>(conn)?
        .into_iter()
        .collect();
    for (kind, form, n, people) in kinds {
        let form: &str = &form;
        let people = people.unwrap_or(0);
        s.total.add(form, n, people);
        let sort = kind.map_or(i32::MAX, |k| order.get(&k).copied().unwrap_or(0));
        by_kind
            .entry((sort, kind))
            .or_default()
            .add(form, n, people);
    }
    s.by_kind = by_kind.into_iter().map(|((_, k), f)| (k, f)).collect();

    let venues: Vec<Row<Option<String>>> = activities::table
        .filter(f.predicate(scope))
        .group_by((activities::venue, activities::form))
        .select((
            activities::venue,
            activities::form,
            diesel::dsl::count_star(),
            diesel::dsl::sum(activities::participants),
        ))
        .load(conn)?;
    let mut by_venue: BTreeMap<Option<Venue>, Figures> = BTreeMap::new();
    for (venue, form, n, people) in venues {
        let v = venue.as_deref().and_then(Venue::parse);
        by_venue
            .entry(v)
            .or_default()
            .add(&form, n, people.unwrap_or(0));
    }
    // The ten in the campaign's order, those never reached with zeros, then the rest.
    s.by_venue = Venue::ALL
        .iter()
        .map(|v| {
            (
                Some(*v),
                by_venue.get(&Some(*v)).copied().unwrap_or_default(),
            )
        })
        .collect();
    if let Some(none) = by_venue.get(&None) {
        s.by_venue.push((None, *none));
    }

    let days: Vec<Row<NaiveDate>> = activities::table
        .filter(f.predicate(scope))
        .group_by((activities::held_on, activities::form))
        .select((
            activities::held_on,
            activities::form,
            diesel::dsl::count_star(),
            diesel::dsl::sum(activities::participants),
        ))
        .load(conn)?;
    let mut by_month: BTreeMap<String, Figures> = BTreeMap::new();
    let first = f.from.or_else(|| days.iter().map(|d| d.0).min());
    let last = f.to.or_else(|| days.iter().map(|d| d.0).max());
    if let (Some(first), Some(last)) = (first, last) {
        let mut m = first.with_day(1).unwrap_or(first);
        while m <= last {
            by_month.insert(m.format("%Y-%m").to_string(), Figures::default());
            m = m
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(NaiveDate::MAX);
        }
    }
    for (day, form, n, people) in days {
        by_month
            .entry(day.format("%Y-%m").to_string())
            .or_default()
            .add(&form, n, people.unwrap_or(0));
    }
    s.by_month = by_month.into_iter().collect();

    let places: Vec<Row<String>> = activities::table
        .filter(f.predicate(scope))
        .group_by((activities::region_path, activities::form))
        .select((
            activities::region_path,
            activities::form,
            diesel::dsl::count_star(),
            diesel::dsl::sum(activities::participants),
        ))
        .load(conn)?;
    let mut by_region: Vec<(crate::org::Region, Figures)> = parent
        .iter()
        .map(|r| (r.clone(), Figures::default()))
        .collect();
    for (path, form, n, people) in places {
        if let Some((_, fig)) = by_region
            .iter_mut()
            .find(|(r, _)| path.starts_with(&r.path))
        {
            fig.add(&form, n, people.unwrap_or(0));
        }
    }
    s.by_region = by_region;

    let materials: Vec<(String, Option<String>, Option<i64>)> = activity_materials::table
        .inner_join(activities::table)
        .inner_join(activity_terms::table)
        .filter(f.predicate(scope))
        .group_by((
            activity_terms::id,
            activity_terms::sort,
            activity_terms::name,
            activity_terms::unit_word,
        ))
        .order((activity_terms::sort.asc(), activity_terms::id.asc()))
        .select((
            activity_terms::name,
            activity_terms::unit_word,
            diesel::dsl::sum(activity_materials::quantity),
        ))
        .load(conn)?;
    s.materials = materials
        .into_iter()
        .map(|(name, unit_word, q)| MaterialTotal {
            name,
            unit_word: unit_word.unwrap_or_default(),
            quantity: q.unwrap_or(0),
        })
        .collect();
    Ok(s)
}

/// The regions a statistics page breaks its figures down by: those directly below the region
/// chosen, or below the scope's one root, or the scope's roots.
pub fn breakdown_regions(
    conn: &mut DbConnection,
    scope: &Scope,
    within: Option<&crate::org::Region>,
) -> Result<Vec<crate::org::Region>, DbError> {
    let roots = match within {
        Some(r) => vec![r.clone()],
        None => crate::org::scope_roots(conn, scope)?,
    };
    if let [one] = roots.as_slice() {
        let below = crate::org::children(conn, scope, one.id, false)?;
        if !below.is_empty() {
            return Ok(below);
        }
    }
    Ok(roots)
}
