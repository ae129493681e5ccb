//! Review teams (考评组, 实地考核验收工作组): for one verification round, its members and the
//! units assigned to it. The organiser forms them until the round has closed.

use diesel::prelude::*;
use serde::Serialize;
use shiliu_domain::evaluation::{Round, Stage};

use super::{Scheme, get_scheme, participants};
use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::schema::{eval_team_members, eval_team_units, eval_teams, regions, users};
use crate::scope::Actor;
use crate::{DbConnection, DbError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = eval_teams)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Team {
    pub id: i64,
    pub scheme_id: i64,
    pub round: String,
    pub name: String,
}

/// A team with its members' names and its units.
#[derive(Debug, Clone, Serialize)]
pub struct TeamView {
    pub team: Team,
    pub members: Vec<(i64, String)>,
    pub units: Vec<i64>,
}

/// The scheme, if the round can still be staffed by its organiser.
fn open_for(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    round: Round,
) -> Result<Scheme, DbError> {
    let s = get_scheme(conn, &actor.scope, id)?;
    if s.stage() > round.stage() || s.stage() >= Stage::Final {
        return Err(DbError::invalid("round", "err.eval.round_closed"));
    }
    Ok(s)
}

/// A scheme's review teams, read through the scheme as the caller was given it.
pub fn teams(conn: &mut DbConnection, s: &super::Scheme) -> Result<Vec<TeamView>, DbError> {
    let list: Vec<Team> = eval_teams::table
        .filter(eval_teams::scheme_id.eq(s.id))
        .order((eval_teams::round.asc(), eval_teams::name.asc()))
        .select(Team::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(list.len());
    for team in list {
        let members = eval_team_members::table
            .inner_join(users::table)
            .filter(eval_team_members::team_id.eq(team.id))
            .order(users::display_name.asc())
            .select((users::id, users::display_name))
            .load(conn)?;
        let units = eval_team_units::table
            .filter(eval_team_units::team_id.eq(team.id))
            .select(eval_team_units::unit_id)
            .load(conn)?;
        out.push(TeamView {
            team,
            members,
            units,
        });
    }
    Ok(out)
}

fn team_of(conn: &mut DbConnection, scheme_id: i64, team_id: i64) -> Result<Team, DbError> {
    Ok(eval_teams::table
        .filter(eval_teams::id.eq(team_id))
        .filter(eval_teams::scheme_id.eq(scheme_id))
        .select(Team::as_select())
        .first(conn)?)
}

/// A new team for one round; a field team starts with the key units, a first-round team with
/// every unit (the organiser takes out what another team covers).
pub fn create_team(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme_id: i64,
    round: Round,
    name: &str,
) -> Result<Team, DbError> {
    if !Round::REVIEWS.contains(&round) {
        return Err(DbError::invalid("round", "err.choice"));
    }
    let name = shiliu_domain::error::required_text("team_name", name, 40)?;
    let s = open_for(conn, actor, scheme_id, round)?;
    let taken: i64 = eval_teams::table
        .filter(eval_teams::scheme_id.eq(scheme_id))
        .filter(eval_teams::name.eq(&name))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(DbError::invalid("team_name", "err.eval.team_taken"));
    }
    let team = Team {
        id: new_id(),
        scheme_id,
        round: round.as_str().into(),
        name,
    };
    diesel::insert_into(eval_teams::table)
        .values(&team)
        .execute(conn)?;
    let units: Vec<(i64, i64)> = participants(conn, &s)?
        .into_iter()
        .filter(|p| round == Round::First || p.key_unit)
        .map(|p| (team.id, p.unit_id))
        .collect();
    for (team_id, unit_id) in &units {
        diesel::insert_into(eval_team_units::table)
            .values((
                eval_team_units::team_id.eq(team_id),
                eval_team_units::unit_id.eq(unit_id),
            ))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("evaluation.team_create", "evaluation", scheme_id)
            .region(s.region_id)
            .after(&serde_json::json!({"team": team, "units": units.len()})),
    )?;
    Ok(team)
}

/// Add a member by user name: a reviewer (`ReviewEvaluations`) inside the organiser's region.
pub fn add_member(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme_id: i64,
    team_id: i64,
    username: &str,
) -> Result<(), DbError> {
    let team = team_of(conn, scheme_id, team_id)?;
    let round = Round::parse(&team.round).unwrap_or(Round::First);
    let s = open_for(conn, actor, scheme_id, round)?;
    let region = s.region();
    let found: Option<(i64, String)> = users::table
        .inner_join(regions::table)
        .filter(region.filter())
        .filter(users::username.eq(username.trim()))
        .filter(users::active.eq(true))
        .select((users::id, users::role))
        .first(conn)
        .optional()?;
    let Some((user_id, role)) = found else {
        return Err(DbError::invalid("username", "err.eval.no_reviewer"));
    };
    let may_review = shiliu_domain::roles::Role::parse(&role)
        .is_some_and(|r| r.allows(shiliu_domain::roles::Permission::ReviewEvaluations));
    if !may_review {
        return Err(DbError::invalid("username", "err.eval.not_reviewer"));
    }
    let taken: i64 = eval_team_members::table
        .filter(eval_team_members::team_id.eq(team_id))
        .filter(eval_team_members::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    if taken == 0 {
        diesel::insert_into(eval_team_members::table)
            .values((
                eval_team_members::team_id.eq(team_id),
                eval_team_members::user_id.eq(user_id),
            ))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("evaluation.team_member", "evaluation", scheme_id)
            .region(s.region_id)
            .detail(serde_json::json!({"team": team.name, "user_id": user_id})),
    )?;
    Ok(())
}

/// Set the units a team reviews (any of those taking part).
pub fn assign_units(
    conn: &mut DbConnection,
    actor: &Actor,
    scheme_id: i64,
    team_id: i64,
    units: &[i64],
) -> Result<(), DbError> {
    let team = team_of(conn, scheme_id, team_id)?;
    let round = Round::parse(&team.round).unwrap_or(Round::First);
    let s = open_for(conn, actor, scheme_id, round)?;
    let taking_part = participants(conn, &s)?;
    if units
        .iter()
        .any(|u| !taking_part.iter().any(|p| p.unit_id == *u))
    {
        return Err(DbError::invalid("units", "err.choice"));
    }
    let before: Vec<i64> = eval_team_units::table
        .filter(eval_team_units::team_id.eq(team_id))
        .select(eval_team_units::unit_id)
        .load(conn)?;
    diesel::delete(eval_team_units::table.filter(eval_team_units::team_id.eq(team_id)))
        .execute(conn)?;
    for unit in units {
        diesel::insert_into(eval_team_units::table)
            .values((
                eval_team_units::team_id.eq(team_id),
                eval_team_units::unit_id.eq(unit),
            ))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event::new("evaluation.team_units", "evaluation", scheme_id)
            .region(s.region_id)
            .before(&serde_json::json!({"team": team.name, "units": before}))
            .after(&serde_json::json!({"team": team.name, "units": units})),
    )?;
    Ok(())
}
