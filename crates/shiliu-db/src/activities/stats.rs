//! The activities' statistics: records, trainings, people reached and materials handed out,
//! by kind, "十进" venue, region and month, over what a list's filter keeps: from the running
//! totals where they answer ([`super::tallies`]), from the records where they do not, laid out
//! the same way either way.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::activities::{Form, Venue};

use super::Filter;
use super::tallies::{Entry, Key, Sums};
use crate::requests::stats::{Span, TalliedPlaces, month_of_day, tallied_levels};
use crate::schema::{
    activities, activity_materials, activity_tallies, activity_tally_journal, activity_terms,
};
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

/// What the records counted come to, before they are laid out: over everything counted by
/// key, and by the breakdown's regions (in `parent`'s order).
struct Counted {
    whole: BTreeMap<Key, Sums>,
    by_region: Vec<Figures>,
}

impl Counted {
    fn new(regions: usize) -> Self {
        Self {
            whole: BTreeMap::new(),
            by_region: vec![Figures::default(); regions],
        }
    }

    fn put(&mut self, whole: bool, region: Option<usize>, key: Key, (n, people): Sums) {
        // The breakdown counts records; materials are the whole's only.
        if key.4 == 0
            && let Some(fig) = region.and_then(|i| self.by_region.get_mut(i))
        {
            fig.add(&key.1, n, people);
        }
        if whole {
            let s = self.whole.entry(key).or_insert((0, 0));
            s.0 += n;
            s.1 += people;
        }
    }
}

/// The figures of what `f` keeps in scope; regions below `parent` (`f.within`, else the
/// scope's roots and, for a single root, its children).
///
/// Whole months of a place down to the township are read from the running totals
/// ([`super::tallies`]); the days at either end of a range that do not fill a month, and any
/// list narrowed by organiser or by words, or a place below the township, from the records.
pub fn stats(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &Filter,
    parent: &[crate::org::Region],
) -> Result<Stats, DbError> {
    let mut counted = Counted::new(parent.len());
    let narrowed = match &f.within {
        Some(r) => scope.narrowed_to(&r.path),
        None => scope.clone(),
    };
    let places = if f.unit_id.is_none() && f.text.as_deref().is_none_or(|t| t.trim().is_empty()) {
        TalliedPlaces::of(conn, &narrowed, parent)?
    } else {
        None
    };
    if let Some(places) = places {
        let span = Span::of(f.from, f.to);
        if let Some(months) = &span.months {
            from_totals(conn, f, months, &places, &mut counted)?;
        }
        for (from, to) in span.edges {
            let edge = Filter {
                from: Some(from),
                to: Some(to),
                ..f.clone()
            };
            from_records(conn, scope, &edge, parent, &mut counted)?;
        }
    } else {
        from_records(conn, scope, f, parent, &mut counted)?;
    }
    lay_out(conn, f, parent, counted)
}

/// The same figures counted from the records alone, never the totals (what the tests hold
/// the totals to).
pub fn stats_from_records(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &Filter,
    parent: &[crate::org::Region],
) -> Result<Stats, DbError> {
    let mut counted = Counted::new(parent.len());
    from_records(conn, scope, f, parent, &mut counted)?;
    lay_out(conn, f, parent, counted)
}

/// Whether a totals' key is one `f` keeps, over `months` (either end open).
fn keeps(f: &Filter, (lo, hi): &(Option<String>, Option<String>), k: &Key) -> bool {
    lo.as_ref().is_none_or(|m| k.0 >= *m)
        && hi.as_ref().is_none_or(|m| k.0 <= *m)
        && f.form.is_none_or(|x| k.1 == x.as_str())
        && f.kind_id.is_none_or(|x| k.2 == x)
        && f.venue.is_none_or(|x| k.3 == x.as_str())
}

type TotalRow = (String, String, String, i64, String, i64, i64, i64);

/// The totals of the page's places, with the journal's changes under them not yet folded.
fn from_totals(
    conn: &mut DbConnection,
    f: &Filter,
    months: &(Option<String>, Option<String>),
    places: &TalliedPlaces,
    counted: &mut Counted,
) -> Result<(), DbError> {
    let mut q = activity_tallies::table
        .filter(activity_tallies::region_path.eq_any(places.paths()))
        .into_boxed();
    if let Some(m) = &months.0 {
        q = q.filter(activity_tallies::month.ge(m.clone()));
    }
    if let Some(m) = &months.1 {
        q = q.filter(activity_tallies::month.le(m.clone()));
    }
    if let Some(x) = f.form {
        q = q.filter(activity_tallies::form.eq(x.as_str()));
    }
    if let Some(x) = f.kind_id {
        q = q.filter(activity_tallies::kind_id.eq(x));
    }
    if let Some(x) = f.venue {
        q = q.filter(activity_tallies::venue.eq(x.as_str()));
    }
    let rows: Vec<TotalRow> = q
        .select((
            activity_tallies::region_path,
            activity_tallies::month,
            activity_tallies::form,
            activity_tallies::kind_id,
            activity_tallies::venue,
            activity_tallies::material_id,
            activity_tallies::n,
            activity_tallies::people,
        ))
        .load(conn)?;
    let mut put = |path: &str, key: Key, sums: Sums| {
        counted.put(places.whole(path), places.region(path), key, sums);
    };
    for (path, month, form, kind, venue, material, n, people) in rows {
        put(&path, (month, form, kind, venue, material), (n, people));
    }
    let pending: Vec<Entry> = activity_tally_journal::table
        .filter(crate::scope::subtree_filter(
            activity_tally_journal::region_path,
            &places.tops,
        ))
        .select(Entry::as_select())
        .load(conn)?;
    for e in pending {
        let key = e.key();
        if !keeps(f, months, &key) {
            continue;
        }
        for level in tallied_levels(&e.region_path) {
            put(&level, key.clone(), (e.n, e.people));
        }
    }
    Ok(())
}

// The records' materials are grouped by the record's place, day and kinds and the material.
diesel::allow_columns_to_appear_in_same_group_by_clause!(
    activities::region_path,
    activities::held_on,
    activities::form,
    activities::kind_id,
    activities::venue,
    activity_materials::term_id,
);

/// (region path, day, form, kind, venue, records, people) of a group of records.
type RecordRow = (
    String,
    NaiveDate,
    String,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
);
/// (region path, day, form, kind, venue, material, quantity) of a group of records' materials.
type HandedRow = (
    String,
    NaiveDate,
    String,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
);

/// What `f` keeps in scope, counted from the records.
fn from_records(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &Filter,
    parent: &[crate::org::Region],
    counted: &mut Counted,
) -> Result<(), DbError> {
    let group = (
        activities::region_path,
        activities::held_on,
        activities::form,
        activities::kind_id,
        activities::venue,
    );
    let records: Vec<RecordRow> = activities::table
        .filter(f.predicate(scope))
        .group_by(group)
        .select((
            activities::region_path,
            activities::held_on,
            activities::form,
            activities::kind_id,
            activities::venue,
            diesel::dsl::count_star(),
            diesel::dsl::sum(activities::participants),
        ))
        .load(conn)?;
    let handed: Vec<HandedRow> = activity_materials::table
        .inner_join(activities::table)
        .filter(f.predicate(scope))
        .group_by((
            activities::region_path,
            activities::held_on,
            activities::form,
            activities::kind_id,
            activities::venue,
            activity_materials::term_id,
        ))
        .select((
            activities::region_path,
            activities::held_on,
            activities::form,
            activities::kind_id,
            activities::venue,
            activity_materials::term_id,
            diesel::dsl::sum(activity_materials::quantity),
        ))
        .load(conn)?;
    let rows = records
        .into_iter()
        .map(|(path, day, form, kind, venue, n, people)| {
            ((path, day, form, kind, venue, 0), (n, people.unwrap_or(0)))
        })
        .chain(
            handed
                .into_iter()
                .map(|(path, day, form, kind, venue, m, q)| {
                    ((path, day, form, kind, venue, m), (q.unwrap_or(0), 0))
                }),
        );
    for ((path, day, form, kind, venue, material), sums) in rows {
        let region = parent.iter().position(|r| path.starts_with(&r.path));
        let key = (
            month_of_day(day),
            form,
            kind.unwrap_or(0),
            venue.unwrap_or_default(),
            material,
        );
        counted.put(true, region, key, sums);
    }
    Ok(())
}

/// The figures laid out by kind, venue, month, region and material.
fn lay_out(
    conn: &mut DbConnection,
    f: &Filter,
    parent: &[crate::org::Region],
    counted: Counted,
) -> Result<Stats, DbError> {
    let mut s = Stats::default();
    let terms: std::collections::HashMap<i64, (i32, String, Option<String>)> =
        activity_terms::table
            .select((
                activity_terms::id,
                activity_terms::sort,
                activity_terms::name,
                activity_terms::unit_word,
            ))
            .load::<(i64, i32, String, Option<String>)>(conn)?
            .into_iter()
            .map(|(id, sort, name, unit)| (id, (sort, name, unit)))
            .collect();
    let mut by_kind: BTreeMap<(i32, Option<i64>), Figures> = BTreeMap::new();
    let mut by_venue: BTreeMap<Option<Venue>, Figures> = BTreeMap::new();
    let mut by_month: BTreeMap<String, Figures> = BTreeMap::new();
    let mut materials: BTreeMap<(i32, i64), i64> = BTreeMap::new();
    for ((month, form, kind, venue, material), (n, people)) in &counted.whole {
        if (*n, *people) == (0, 0) {
            continue;
        }
        if *material != 0 {
            let sort = terms.get(material).map_or(i32::MAX, |t| t.0);
            *materials.entry((sort, *material)).or_insert(0) += n;
            continue;
        }
        s.total.add(form, *n, *people);
        let kind = (*kind != 0).then_some(*kind);
        let sort = kind.map_or(i32::MAX, |k| terms.get(&k).map_or(0, |t| t.0));
        by_kind
            .entry((sort, kind))
            .or_default()
            .add(form, *n, *people);
        by_venue
            .entry(Venue::parse(venue))
            .or_default()
            .add(form, *n, *people);
        by_month
            .entry(month.clone())
            .or_default()
            .add(form, *n, *people);
    }
    s.by_kind = by_kind.into_iter().map(|((_, k), f)| (k, f)).collect();
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
    // Every month from the first to the last, those without records with zeros.
    let first = f
        .from
        .map(month_of_day)
        .or_else(|| by_month.keys().next().cloned());
    let last =
        f.to.map(month_of_day)
            .or_else(|| by_month.keys().next_back().cloned());
    if let (Some(first), Some(last)) = (first, last) {
        let mut m = NaiveDate::parse_from_str(&format!("{first}-01"), "%Y-%m-%d").ok();
        while let Some(day) = m {
            let key = month_of_day(day);
            if key > last {
                break;
            }
            by_month.entry(key).or_default();
            m = day.checked_add_months(chrono::Months::new(1));
        }
    }
    s.by_month = by_month.into_iter().collect();
    s.by_region = parent.iter().cloned().zip(counted.by_region).collect();
    s.materials = materials
        .into_iter()
        .filter(|(_, q)| *q != 0)
        .map(|((_, id), quantity)| {
            let (name, unit_word) = terms
                .get(&id)
                .map(|t| (t.1.clone(), t.2.clone().unwrap_or_default()))
                .unwrap_or_default();
            MaterialTotal {
                name,
                unit_word,
                quantity,
            }
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
    let roots = if let Some(r) = within {
        vec![r.clone()]
    } else {
        // Each subtree once: a scope's region inside another of its regions is the other's.
        let tops = scope.tops();
        let mut roots = crate::org::scope_roots(conn, scope)?;
        if !tops.iter().any(|p| p == "/") {
            roots.retain(|r| tops.contains(&r.path));
        }
        roots
    };
    if let [one] = roots.as_slice() {
        let below = crate::org::children(conn, scope, one.id, false)?;
        if !below.is_empty() {
            return Ok(below);
        }
    }
    Ok(roots)
}
