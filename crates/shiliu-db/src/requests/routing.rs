//! Routing rules: ordered; the first active rule whose conditions (category, region subtree,
//! keywords in the description) all hold names the site or unit responsible for a new request.
//! With none matching, the default rule ([`Router::default_route`]): the nearest site.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::org::RegionKind;
use shiliu_domain::requests::keywords_match;

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::org::{Region, get_region};
use crate::requests::{Routing, routing_reason};
use crate::schema::{request_categories, routing_rules, sites, units};
use crate::scope::{Actor, Scope};
use crate::{DbConnection, DbError, now};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = routing_rules)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Rule {
    pub id: i64,
    pub position: i32,
    pub category_id: Option<i64>,
    pub region_id: Option<i64>,
    pub region_path: Option<String>,
    pub keywords: String,
    pub site_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Rule {
    pub fn keywords(&self) -> Vec<String> {
        self.keywords
            .split(' ')
            .filter(|k| !k.is_empty())
            .map(ToString::to_string)
            .collect()
    }

    fn holds(&self, region: &Region, category_id: i64, description: &str) -> bool {
        self.category_id.is_none_or(|c| c == category_id)
            && self
                .region_path
                .as_deref()
                .is_none_or(|p| region.path.starts_with(p))
            && keywords_match(&self.keywords(), description)
    }
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Rule>, DbError> {
    Ok(routing_rules::table
        .order(routing_rules::position.asc())
        .select(Rule::as_select())
        .load(conn)?)
}

/// A new rule, after the existing ones. Exactly one of `site_id` and `unit_id`.
pub struct NewRule {
    pub category_id: Option<i64>,
    pub region_id: Option<i64>,
    pub keywords: Vec<String>,
    pub site_id: Option<i64>,
    pub unit_id: Option<i64>,
}

pub fn create(conn: &mut DbConnection, actor: &Actor, r: &NewRule) -> Result<Rule, DbError> {
    if r.site_id.is_some() == r.unit_id.is_some() {
        return Err(DbError::invalid("target_site", "err.routing.target"));
    }
    // A rule acts only inside its author's scope: without a region it covers the author's
    // whole scope, so staff of one city cannot divert another city's requests.
    let (region_id, region_path) = match r.region_id {
        Some(id) => {
            let region = get_region(conn, &actor.scope, id)
                .map_err(|_| DbError::invalid("region_id", "err.region.unknown"))?;
            (Some(region.id), Some(region.path))
        }
        None if actor.scope == Scope::whole() => (None, None),
        None => {
            let [root]: [Region; 1] = crate::org::scope_roots(conn, &actor.scope)?
                .try_into()
                .map_err(|_| DbError::invalid("region_id", "err.required"))?;
            (Some(root.id), Some(root.path))
        }
    };
    let last: Option<i32> = routing_rules::table
        .select(diesel::dsl::max(routing_rules::position))
        .first(conn)?;
    let id = new_id();
    let t = now();
    diesel::insert_into(routing_rules::table)
        .values((
            routing_rules::id.eq(id),
            routing_rules::position.eq(last.unwrap_or(0) + 1),
            routing_rules::category_id.eq(r.category_id),
            routing_rules::region_id.eq(region_id),
            routing_rules::region_path.eq(region_path),
            routing_rules::keywords.eq(r.keywords.join(" ")),
            routing_rules::site_id.eq(r.site_id),
            routing_rules::unit_id.eq(r.unit_id),
            routing_rules::active.eq(true),
            routing_rules::created_at.eq(t),
            routing_rules::updated_at.eq(t),
            routing_rules::version.eq(1),
        ))
        .execute(conn)?;
    let rule: Rule = routing_rules::table
        .filter(routing_rules::id.eq(id))
        .select(Rule::as_select())
        .first(conn)?;
    audit::record(
        conn,
        actor,
        Event::new("routing_rule.create", "routing_rule", id).after(&rule),
    )?;
    Ok(rule)
}

/// Rules the actor may manage: those whose region lies inside their scope (rules for every
/// region only for those whose scope is everything).
pub fn list_in_scope(conn: &mut DbConnection, scope: &Scope) -> Result<Vec<Rule>, DbError> {
    Ok(list(conn)?
        .into_iter()
        .filter(|r| {
            r.region_path
                .as_deref()
                .map_or(*scope == Scope::whole(), |p| scope.covers(p))
        })
        .collect())
}

pub fn set_active(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    active: bool,
) -> Result<(), DbError> {
    if !list_in_scope(conn, &actor.scope)?
        .iter()
        .any(|r| r.id == id)
    {
        return Err(DbError::NotFound);
    }
    let n = diesel::update(routing_rules::table.filter(routing_rules::id.eq(id)))
        .set((
            routing_rules::active.eq(active),
            routing_rules::updated_at.eq(now()),
            routing_rules::version.eq(routing_rules::version + 1),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    let action = if active {
        "routing_rule.activate"
    } else {
        "routing_rule.deactivate"
    };
    audit::record(conn, actor, Event::new(action, "routing_rule", id))?;
    Ok(())
}

/// What routing reads: the active rules, each with the routing it gives, and each region's
/// oldest active site. Kept between intake groups while the configuration stays the same
/// (`crate::requests::cached`).
#[derive(Debug)]
pub struct Router {
    rules: Vec<(Rule, Routing)>,
    /// By region: its oldest active site (id, name).
    sites: HashMap<i64, (i64, String)>,
}

impl Router {
    pub fn load(conn: &mut DbConnection) -> Result<Self, DbError> {
        let active: Vec<Rule> = routing_rules::table
            .filter(routing_rules::active.eq(true))
            .order(routing_rules::position.asc())
            .select(Rule::as_select())
            .load(conn)?;
        let mut rules = Vec::with_capacity(active.len());
        for rule in active {
            let routing = by_rule(conn, &rule)?;
            rules.push((rule, routing));
        }
        let found: Vec<(i64, i64, String)> = sites::table
            .filter(sites::active.eq(true))
            .order(sites::id.asc())
            .select((sites::id, sites::region_id, sites::name))
            .load(conn)?;
        let mut by_region = HashMap::new();
        for (id, region_id, name) in found {
            by_region.entry(region_id).or_insert((id, name));
        }
        Ok(Self {
            rules,
            sites: by_region,
        })
    }

    /// Who handles a new request: the first rule that holds, else the default rule. The reason
    /// names the rule and its conditions, e.g. "by rule 3: category 租房租住 in 西乡塘区".
    pub fn route(&self, region: &Region, category_id: i64, description: &str) -> Routing {
        self.rules
            .iter()
            .find(|(r, _)| r.holds(region, category_id, description))
            .map_or_else(
                || self.default_route(region),
                |(_, routing)| routing.clone(),
            )
    }

    /// The default route: the nearest active site up the region chain, preferring the grid's
    /// community (a grid has no desk of its own), then the township, county and city.
    pub fn default_route(&self, region: &Region) -> Routing {
        // Deepest region first: the grid itself, its community, the township…
        for rid in chain_ids(region).iter().rev() {
            if let Some((sid, name)) = self.sites.get(rid) {
                let community = region.kind() == RegionKind::Grid && region.parent_id == Some(*rid);
                let how = if community { "community" } else { "nearest" };
                return Routing {
                    site_id: Some(*sid),
                    unit_id: None,
                    reason: routing_reason(how, Some(name), None),
                };
            }
        }
        Routing {
            site_id: None,
            unit_id: None,
            reason: routing_reason("none", None, None),
        }
    }
}

/// The region and its ancestors, from the top.
fn chain_ids(region: &Region) -> Vec<i64> {
    region
        .path
        .split('/')
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// A rule's routing, with the names its reason shows.
fn by_rule(conn: &mut DbConnection, rule: &Rule) -> Result<Routing, DbError> {
    let all = Scope::whole();
    let category = match rule.category_id {
        Some(c) => Some(
            request_categories::table
                .filter(request_categories::id.eq(c))
                .select(request_categories::name)
                .first::<String>(conn)?,
        ),
        None => None,
    };
    let region_name = match rule.region_id {
        Some(r) => Some(get_region(conn, &all, r)?.name),
        None => None,
    };
    let target = match (rule.site_id, rule.unit_id) {
        (Some(s), _) => sites::table
            .filter(sites::id.eq(s))
            .select(sites::name)
            .first::<String>(conn)?,
        (None, Some(u)) => units::table
            .filter(units::id.eq(u))
            .select(units::name)
            .first::<String>(conn)?,
        (None, None) => String::new(),
    };
    let mut reason = routing_reason("rule", Some(&target), None);
    reason["rule"] = rule.position.into();
    reason["category"] = category.into();
    reason["region"] = region_name.into();
    reason["keywords"] = rule.keywords.clone().into();
    Ok(Routing {
        site_id: rule.site_id,
        unit_id: rule.unit_id,
        reason,
    })
}
