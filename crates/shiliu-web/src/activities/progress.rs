//! The units' progress against their yearly targets (年度目标 · "十进"进度): each unit's
//! activities and trainings of the year against its target, the ten venues reached or not,
//! setting a target, and the board as a workbook.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Datelike;
use shiliu_db::activities::targets::{self, UnitProgress};
use shiliu_db::org as org_db;
use shiliu_db::scope::grants;
use shiliu_domain::activities::{Target, Venue};
use shiliu_domain::roles::Permission;

use crate::web::error::{AppError, AppResult};
use crate::web::files::FormData;
use crate::web::i18n::T;
use crate::web::page::{Layout, Saved, render};
use crate::web::pickers::Picker;
use crate::web::xlsx::{self, Cell};
use crate::web::{AppState, Principal};

pub(crate) fn routes() -> crate::Routes {
    crate::Routes::new(file!())
        .route("/activities/progress", get(board))
        .route("/activities/progress.xlsx", get(export))
        .route("/activities/progress/{unit}", post(set_target))
}

/// The most units one board shows (a province's, narrowed by region first).
const MOST: i64 = 2_000;

/// One unit's line as the page shows it.
pub struct Line {
    pub unit_id: i64,
    pub unit: String,
    pub region: String,
    pub activities: i64,
    pub trainings: i64,
    pub participants: i64,
    pub trainees: i64,
    /// "12 / 12" or the count alone, without a target.
    pub activities_of: String,
    pub trainings_of: String,
    /// Each venue: (its short name, reached).
    pub venues: Vec<(String, bool)>,
    pub reached: usize,
    /// 已达标 / 未达标 / 未设目标, and its colour class.
    pub standing: String,
    pub colour: &'static str,
    pub target: Option<Target>,
    pub version: String,
}

fn line(t: T, u: &UnitProgress) -> Line {
    let of = |n: i64, target: Option<i32>| match target {
        Some(x) => format!("{n} / {x}"),
        None => n.to_string(),
    };
    let (standing, colour) = match u.met() {
        Some(true) => ("activities.met", "ok"),
        Some(false) => ("activities.not_met", "late"),
        None => ("activities.no_target", "muted"),
    };
    Line {
        unit_id: u.unit_id,
        unit: u.unit_name.clone(),
        region: u.region_name.clone(),
        activities: u.progress.activities,
        trainings: u.progress.trainings,
        participants: u.progress.participants,
        trainees: u.progress.trainees,
        activities_of: of(u.progress.activities, u.target.map(|x| x.activities)),
        trainings_of: of(u.progress.trainings, u.target.map(|x| x.trainings)),
        venues: targets::venue_marks(&u.progress)
            .into_iter()
            .map(|(v, reached)| (t.label("venue_short", v.as_str()), reached))
            .collect(),
        reached: u.progress.venues.len(),
        standing: t.s(standing).to_string(),
        colour,
        target: u.target,
        version: u.target_version.map(|v| v.to_string()).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "activities/progress.html")]
struct BoardPage {
    l: Layout,
    year: i32,
    years: Vec<i32>,
    region: String,
    regions: Picker,
    lines: Vec<Line>,
    met: usize,
    with_target: usize,
    venue_names: Vec<String>,
    can_set: bool,
    cut: bool,
}

#[derive(serde::Deserialize, Default)]
pub struct BoardQuery {
    #[serde(default)]
    year: Option<i32>,
    /// Only the units within this region (its code).
    #[serde(default)]
    region: String,
    #[serde(flatten)]
    saved: Saved,
}

/// The year asked for, within the years a board offers (this one and the five before).
fn year_of(q: Option<i32>) -> (i32, Vec<i32>) {
    let now = shiliu_db::today().year();
    let years: Vec<i32> = (now - 5..=now + 1).rev().collect();
    (q.filter(|y| years.contains(y)).unwrap_or(now), years)
}

async fn lines_of(
    state: &AppState,
    p: &Principal,
    year: i32,
    region: &str,
) -> AppResult<(Vec<UnitProgress>, shiliu_db::org::Levels)> {
    let actor = p.require::<grants::ViewActivities>()?;
    let code = region.to_string();
    Ok(state
        .db
        .read(move |c| {
            let within = org_db::picked_region(c, actor.scope(), &code, "region")?;
            Ok((
                targets::board(c, actor.scope(), year, within.as_ref(), MOST)?,
                org_db::choices_around_code(c, actor.scope(), &code)?,
            ))
        })
        .await?)
}

pub async fn board(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<BoardQuery>,
) -> AppResult<Response> {
    let t = p.t();
    let (year, years) = year_of(q.year);
    let (units, around) = lines_of(&state, &p, year, &q.region).await?;
    let lines: Vec<Line> = units.iter().map(|u| line(t, u)).collect();
    render(&BoardPage {
        l: Layout::new(&p, "nav.activities", t.s("activities.progress")).flash(q.saved.yes()),
        met: units.iter().filter(|u| u.met() == Some(true)).count(),
        with_target: units.iter().filter(|u| u.target.is_some()).count(),
        cut: i64::try_from(units.len()).unwrap_or(i64::MAX) >= MOST,
        lines,
        year,
        years,
        regions: Picker::new("progress-region", "region", t.s("field.region"))
            .selected(q.region.clone())
            .blank(t.s("list.all"))
            .regions(around, t),
        region: q.region,
        venue_names: Venue::ALL
            .iter()
            .map(|v| t.label("venue", v.as_str()))
            .collect(),
        can_set: p.can(Permission::ManageActivities),
    })
}

#[derive(serde::Deserialize)]
pub struct TargetForm {
    year: i32,
    #[serde(default)]
    version: String,
    #[serde(default)]
    activities: String,
    #[serde(default)]
    trainings: String,
    #[serde(default)]
    every_venue: Option<String>,
    #[serde(default)]
    region: String,
}

pub async fn set_target(
    State(state): State<AppState>,
    p: Principal,
    Path(unit): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageActivities>()?;
    let f: TargetForm = form.parse()?;
    let target = Target::parse(&f.activities, &f.trainings, f.every_venue.is_some())
        .map_err(AppError::Invalid)?;
    let version = f.version.parse::<i32>().ok();
    let year = f.year;
    state
        .db
        .write(move |c| targets::set_target(c, &actor, unit, year, version, &target))
        .await?;
    Ok(Redirect::to(&format!(
        "/activities/progress?year={}&region={}&saved=1#unit-{unit}",
        f.year,
        crate::web::urlencode(&f.region)
    ))
    .into_response())
}

pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<BoardQuery>,
) -> AppResult<Response> {
    let t = p.t();
    let (year, _) = year_of(q.year);
    let (units, _) = lines_of(&state, &p, year, &q.region).await?;
    let mut headers: Vec<String> = [
        "field.unit",
        "field.region",
        "activities.count_activities",
        "activities.target_activities",
        "activities.count_trainings",
        "activities.target_trainings",
        "field.participants",
        "activities.trainees",
        "activities.venues_reached",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    headers.extend(Venue::ALL.iter().map(|v| t.label("venue", v.as_str())));
    headers.push(t.s("activities.standing").to_string());
    let rows: Vec<Vec<Cell>> = units
        .iter()
        .map(|u| {
            let target = |f: fn(&Target) -> i32| {
                u.target
                    .as_ref()
                    .map_or(Cell::Empty, |x| Cell::Int(i64::from(f(x))))
            };
            let l = line(t, u);
            let mut r = vec![
                Cell::from(u.unit_name.as_str()),
                Cell::from(u.region_name.as_str()),
                Cell::Int(u.progress.activities),
                target(|x| x.activities),
                Cell::Int(u.progress.trainings),
                target(|x| x.trainings),
                Cell::Int(u.progress.participants),
                Cell::Int(u.progress.trainees),
                Cell::Int(i64::try_from(u.progress.venues.len()).unwrap_or(0)),
            ];
            r.extend(
                l.venues
                    .iter()
                    .map(|(_, reached)| Cell::Int(i64::from(*reached))),
            );
            r.push(Cell::from(l.standing.as_str()));
            r
        })
        .collect();
    Ok(xlsx::download(
        &format!("activity-progress-{year}.xlsx"),
        xlsx::sheet(t.s("activities.progress"), &headers, &rows)?,
    ))
}
