//! Who may see and score what in an evaluation: the one place every evaluation read and write
//! asks. Three ways in, which one user may combine:
//! - the organiser: staff with `ManageEvaluations` whose scope covers the scheme's region see
//!   everything and may score any unit in the verification rounds;
//! - a unit's reporter (`ReportEvaluations`): once the scheme is out of draft, their own unit —
//!   its criteria, its self-assessment, and its verified scores only from the feedback stage
//!   on (until then a unit sees only what it claimed);
//! - a reviewer (`ReviewEvaluations`) on a team: the units assigned to the team, in the team's
//!   round;
//! - a reader (`ViewEvaluations`, a leader) whose scope covers the scheme's region: once it is
//!   out of draft, how far it has got, and its results once published — no unit's sheet.
//!
//! Anyone else gets `NotFound`, as for a scheme that does not exist.

use diesel::prelude::*;
use shiliu_domain::evaluation::{Round, Stage};
use shiliu_domain::roles::Permission;

use super::{Scheme, get_scheme};
use crate::schema::{
    eval_participants, eval_schemes, eval_team_members, eval_team_units, eval_teams, users,
};
use crate::scope::{Actor, Scope};
use crate::{DbConnection, DbError};

#[derive(Debug, Clone)]
pub struct Access {
    pub scheme: Scheme,
    pub organiser: bool,
    /// The reporter's own unit, where it takes part.
    pub own_unit: Option<i64>,
    /// (round, unit) pairs the user's teams review.
    pub reviews: Vec<(Round, i64)>,
    /// Follows the scheme from above: its progress, its published results.
    pub reader: bool,
    /// The system itself (loading a past year's evaluation): not held to deadlines.
    pub system: bool,
}

/// A role's permission; the system itself (the CLI, the demo generator) may do everything
/// within its scope, a resident nothing.
fn allows(actor: &Actor, p: Permission) -> bool {
    actor.allows(p)
}

/// The unit a signed-in user belongs to.
fn unit_of(conn: &mut DbConnection, actor: &Actor) -> Result<Option<i64>, DbError> {
    let Some(user) = actor.user_id else {
        return Ok(None);
    };
    Ok(users::table
        .filter(users::id.eq(user))
        .select(users::unit_id)
        .first(conn)
        .optional()?
        .flatten())
}

/// What `actor` may do in scheme `id`; `NotFound` if nothing.
pub fn access(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<Access, DbError> {
    let scheme = get_scheme(conn, &Scope::whole(), id)?;
    let organiser =
        allows(actor, Permission::ManageEvaluations) && actor.scope.covers(&scheme.region_path);
    let out_of_draft = scheme.stage() != Stage::Draft;
    let own_unit = if out_of_draft && allows(actor, Permission::ReportEvaluations) {
        match unit_of(conn, actor)? {
            Some(unit) => eval_participants::table
                .filter(eval_participants::scheme_id.eq(id))
                .filter(eval_participants::unit_id.eq(unit))
                .select(eval_participants::unit_id)
                .first::<i64>(conn)
                .optional()?,
            None => None,
        }
    } else {
        None
    };
    let reviews = match actor.user_id {
        Some(user) if out_of_draft && allows(actor, Permission::ReviewEvaluations) => {
            let rows: Vec<(String, i64)> = eval_teams::table
                .inner_join(eval_team_members::table)
                .inner_join(eval_team_units::table)
                .filter(eval_teams::scheme_id.eq(id))
                .filter(eval_team_members::user_id.eq(user))
                .select((eval_teams::round, eval_team_units::unit_id))
                .load(conn)?;
            rows.into_iter()
                .filter_map(|(r, u)| Some((Round::parse(&r)?, u)))
                .collect()
        }
        _ => Vec::new(),
    };
    let reader = out_of_draft
        && allows(actor, Permission::ViewEvaluations)
        && actor.scope.covers(&scheme.region_path);
    if !organiser && !reader && own_unit.is_none() && reviews.is_empty() {
        return Err(DbError::NotFound);
    }
    Ok(Access {
        scheme,
        organiser,
        own_unit,
        reviews,
        reader,
        system: actor.is_system(),
    })
}

impl Access {
    /// The unit's page at all: its criteria, its claims.
    pub fn may_view_unit(&self, unit: i64) -> bool {
        self.organiser
            || self.own_unit == Some(unit)
            || self.reviews.iter().any(|(_, u)| *u == unit)
    }

    /// Enter scores for `unit` in `round` (whether the stage is open is the scores' check).
    pub fn may_score(&self, round: Round, unit: i64) -> bool {
        if self.system {
            return self.organiser;
        }
        match round {
            Round::SelfAssessment | Round::Objection => self.own_unit == Some(unit),
            Round::First | Round::Field => self.organiser || self.reviews.contains(&(round, unit)),
        }
    }

    /// The verification rounds' scores and opinions of `unit`: reviewers and the organiser
    /// always; the unit itself from the feedback stage on.
    pub fn sees_verified(&self, unit: i64) -> bool {
        self.organiser
            || self.reviews.iter().any(|(_, u)| *u == unit)
            || (self.own_unit == Some(unit) && self.scheme.stage() >= Stage::Feedback)
    }

    /// The units this user may open, of those taking part (`all`), in their order.
    pub fn units<'a, T>(&self, all: &'a [T], id: impl Fn(&T) -> i64) -> Vec<&'a T> {
        all.iter().filter(|u| self.may_view_unit(id(u))).collect()
    }
}

/// Every scheme the actor has a way into: run in their scope (to organise or to follow),
/// their unit taking part, or their teams reviewing; newest year first.
pub fn visible_schemes(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<Scheme>, DbError> {
    let mut ids = taking_part(conn, actor)?;
    if allows(actor, Permission::ManageEvaluations) || allows(actor, Permission::ViewEvaluations) {
        ids.extend(
            eval_schemes::table
                .filter(actor.scope.path_filter(eval_schemes::region_path))
                .select(eval_schemes::id)
                .load::<i64>(conn)?,
        );
    }
    ids.sort_unstable();
    ids.dedup();
    let schemes: Vec<Scheme> = eval_schemes::table
        .filter(eval_schemes::id.eq_any(&ids))
        .order((eval_schemes::year.desc(), eval_schemes::id.desc()))
        .select(Scheme::as_select())
        .load(conn)?;
    // Others see a scheme once it is out of draft; its organiser, always.
    Ok(schemes
        .into_iter()
        .filter(|s| {
            s.stage() != Stage::Draft
                || (allows(actor, Permission::ManageEvaluations)
                    && actor.scope.covers(&s.region_path))
        })
        .collect())
}

/// The schemes the actor takes part in (not those they run): their unit's, their teams'.
pub fn taking_part(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<i64>, DbError> {
    let mut ids: Vec<i64> = Vec::new();
    if allows(actor, Permission::ReportEvaluations)
        && let Some(unit) = unit_of(conn, actor)?
    {
        ids.extend(
            eval_participants::table
                .filter(eval_participants::unit_id.eq(unit))
                .select(eval_participants::scheme_id)
                .load::<i64>(conn)?,
        );
    }
    if allows(actor, Permission::ReviewEvaluations)
        && let Some(user) = actor.user_id
    {
        ids.extend(
            eval_teams::table
                .inner_join(eval_team_members::table)
                .filter(eval_team_members::user_id.eq(user))
                .select(eval_teams::scheme_id)
                .load::<i64>(conn)?,
        );
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}
