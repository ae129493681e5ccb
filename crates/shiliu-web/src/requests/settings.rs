//! Request settings: the categories with their service levels, and the working calendar. The
//! platform's are edited by whoever holds the whole tree; a city or county sees them and sets
//! its own service levels and calendar days for its subtree (`shiliu_db::requests::settings`).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use shiliu_db::requests as db;
use shiliu_db::requests::settings;
use shiliu_db::scope::grants;
use shiliu_domain::calendar::WorkCalendar;
use shiliu_domain::requests::CategoryInput;
use shiliu_domain::{FieldError, FieldErrors};

use crate::web::error::AppResult;
use crate::web::page::{Layout, Saved, render_form};
use crate::web::pickers::Picker;
use crate::web::{AppState, Principal};

pub struct CategoryRow {
    pub id: i64,
    pub version: i32,
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub amount: String,
    pub unit: &'static str,
    pub active: bool,
    /// 网格员可就地办结.
    pub on_the_spot: bool,
    /// The platform's service level in words (for a region's page).
    pub platform_level: String,
    /// The region's own level, when it set one: (amount, unit).
    pub local: Option<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "requests/settings_categories.html")]
struct CategoriesPage {
    l: Layout,
    /// The caller edits the platform's settings; else those of `region`.
    platform: bool,
    region: String,
    categories: Vec<CategoryRow>,
    errors: Vec<(String, String)>,
}

/// Whose settings the caller edits: `None` for the platform's, else their region.
async fn owner_of(state: &AppState, p: &Principal) -> AppResult<Option<shiliu_db::org::Region>> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    let owner = state.db.read(move |c| settings::owner(c, &actor)).await?;
    Ok(match owner {
        settings::Owner::Platform => None,
        settings::Owner::Region(r) => Some(r),
    })
}

/// A service level in words: "3 个工作日", or "不设时限".
fn level_words(minutes: Option<i32>, t: crate::web::i18n::T) -> String {
    match as_amount(minutes) {
        (a, _) if a.is_empty() => t.s("settings.no_limit").to_string(),
        (a, unit) => format!("{a} {}", t.s(&format!("settings.{unit}"))),
    }
}

/// A service level in minutes as the form shows it: whole days where it divides, else hours.
fn as_amount(minutes: Option<i32>) -> (String, &'static str) {
    let per_day = WorkCalendar::default().minutes_per_day();
    match minutes.map(i64::from) {
        None => (String::new(), "days"),
        Some(m) if m % per_day == 0 => ((m / per_day).to_string(), "days"),
        Some(m) => ((m / 60).to_string(), "hours"),
    }
}

async fn categories_page(
    state: &AppState,
    p: &Principal,
    errs: &FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    let region = owner_of(state, p).await?;
    let t = p.t();
    let region_id = region.as_ref().map(|r| r.id);
    let (cats, local) = state
        .db
        .read(move |c| {
            let local = match region_id {
                Some(id) => settings::region_levels(c, id)?,
                None => std::collections::HashMap::new(),
            };
            Ok((db::categories(c, true)?, local))
        })
        .await?;
    let page = CategoriesPage {
        l: Layout::new(p, "nav.settings", t.s("settings.categories")).flash(saved),
        platform: region.is_none(),
        region: region.map(|r| r.name).unwrap_or_default(),
        categories: cats
            .into_iter()
            .map(|c| {
                let (amount, unit) = as_amount(c.service_minutes);
                CategoryRow {
                    platform_level: level_words(c.service_minutes, t),
                    local: local.get(&c.id).map(|m| as_amount(*m)),
                    id: c.id,
                    version: c.version,
                    code: c.code,
                    name: c.name,
                    name_en: c.name_en,
                    amount,
                    unit,
                    active: c.active,
                    on_the_spot: c.on_the_spot,
                }
            })
            .collect(),
        errors: t.field_errors(errs),
    };
    render_form(&page, !errs.is_empty())
}

pub async fn categories(
    State(state): State<AppState>,
    p: Principal,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    categories_page(&state, &p, &FieldErrors::new(), s.yes()).await
}

#[derive(Deserialize, Default)]
pub struct CategoryForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    active: Option<String>,
    /// Grid workers may resolve its requests on the spot.
    #[serde(default)]
    on_the_spot: Option<String>,
    #[serde(default)]
    version: i32,
}

impl CategoryForm {
    fn parse(&self) -> Result<CategoryInput, FieldErrors> {
        CategoryInput::parse(
            &self.code,
            &self.name,
            &self.name_en,
            &self.amount,
            &self.unit,
            WorkCalendar::default().minutes_per_day(),
        )
        .map(|c| c.with_on_the_spot(self.on_the_spot.is_some()))
    }
}

pub async fn create_category(
    State(state): State<AppState>,
    p: Principal,
    Form(f): Form<CategoryForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    let input = match f.parse() {
        Ok(i) => i,
        Err(e) => return categories_page(&state, &p, &e, false).await,
    };
    match state
        .db
        .write(move |c| db::create_category(c, &actor, None, &input))
        .await
    {
        Ok(_) => Ok(Redirect::to("/settings/categories?saved=1").into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => categories_page(&state, &p, &e, false).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn update_category(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<CategoryForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    let input = match f.parse() {
        Ok(i) => i,
        Err(e) => return categories_page(&state, &p, &e, false).await,
    };
    let (version, active) = (f.version, f.active.is_some());
    match state
        .db
        .write(move |c| db::update_category(c, &actor, id, version, &input, active))
        .await
    {
        Ok(_) => Ok(Redirect::to("/settings/categories?saved=1").into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => categories_page(&state, &p, &e, false).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct LevelForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    unit: String,
    /// Go back to the level above (the platform's).
    #[serde(default)]
    clear: Option<String>,
}

/// A region's own service level for a category, for its subtree (or back to the platform's).
pub async fn set_level(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<LevelForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    let level = if f.clear.is_some() {
        None
    } else {
        match shiliu_domain::requests::service_level(
            &f.amount,
            &f.unit,
            WorkCalendar::default().minutes_per_day(),
        ) {
            Ok(m) => Some(m),
            Err(e) => return categories_page(&state, &p, &e.into(), false).await,
        }
    };
    match state
        .db
        .write(move |c| settings::set_level(c, &actor, id, level))
        .await
    {
        Ok(()) => Ok(Redirect::to("/settings/categories?saved=1").into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => categories_page(&state, &p, &e, false).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "requests/settings_calendar.html")]
struct CalendarPage {
    l: Layout,
    year: i32,
    /// The caller edits the platform's calendar; else `region`'s own days.
    platform: bool,
    region: String,
    /// The platform's days: (day, kind, note).
    days: Vec<(String, String, String)>,
    /// The region's own days.
    local: Vec<(String, String, String)>,
    errors: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct YearQuery {
    #[serde(default)]
    year: Option<i32>,
    #[serde(default)]
    saved: Option<String>,
}

async fn calendar_page(
    state: &AppState,
    p: &Principal,
    year: i32,
    errs: &FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    let region = owner_of(state, p).await?;
    let t = p.t();
    let year = year.clamp(2000, 2100);
    let region_id = region.as_ref().map(|r| r.id);
    let (days, local) = state
        .db
        .read(move |c| {
            let local = match region_id {
                Some(id) => settings::region_days(c, id, year)?,
                None => Vec::new(),
            };
            Ok((db::calendar_days(c, year)?, local))
        })
        .await?;
    let rows = |days: Vec<(NaiveDate, String, String)>| {
        days.into_iter()
            .map(|(d, k, n)| {
                (
                    d.format("%Y-%m-%d").to_string(),
                    if k == "holiday" {
                        t.s("settings.holiday")
                    } else {
                        t.s("settings.workday")
                    }
                    .to_string(),
                    n,
                )
            })
            .collect()
    };
    let page = CalendarPage {
        l: Layout::new(p, "nav.settings", t.s("settings.calendar")).flash(saved),
        year,
        platform: region.is_none(),
        region: region.map(|r| r.name).unwrap_or_default(),
        days: rows(days),
        local: rows(local),
        errors: t.field_errors(errs),
    };
    render_form(&page, !errs.is_empty())
}

pub async fn calendar(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    let year = q
        .year
        .unwrap_or_else(|| shiliu_domain::calendar::local(shiliu_db::now()).year());
    calendar_page(&state, &p, year, &FieldErrors::new(), q.saved.is_some()).await
}

#[derive(Deserialize)]
pub struct DayForm {
    #[serde(default)]
    day: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    note: String,
}

pub async fn set_day(
    State(state): State<AppState>,
    p: Principal,
    Form(f): Form<DayForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    let this_year = shiliu_domain::calendar::local(shiliu_db::now()).year();
    let Ok(day) = NaiveDate::parse_from_str(f.day.trim(), "%Y-%m-%d") else {
        return calendar_page(
            &state,
            &p,
            this_year,
            &FieldError::new("day", "err.date").into(),
            false,
        )
        .await;
    };
    let kind = Some(f.kind.clone()).filter(|k| !k.is_empty());
    let note: String = f.note.trim().chars().take(40).collect();
    match state
        .db
        .write(move |c| settings::set_day(c, &actor, day, kind.as_deref(), &note))
        .await
    {
        Ok(()) => Ok(
            Redirect::to(&format!("/settings/calendar?year={}&saved=1", day.year()))
                .into_response(),
        ),
        Err(shiliu_db::DbError::Invalid(e)) => {
            calendar_page(&state, &p, day.year(), &e, false).await
        }
        Err(e) => Err(e.into()),
    }
}

pub struct RuleRow {
    pub id: i64,
    pub position: i32,
    pub conditions: String,
    pub target: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "requests/settings_routing.html")]
struct RoutingPage {
    l: Layout,
    rules: Vec<RuleRow>,
    categories: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    /// The rule's region: the regions in scope.
    regions: Picker,
    /// The rule's target: the sites in scope.
    sites: Picker,
    /// The new rule as posted (empty on arrival), shown again beside its errors.
    posted: RuleForm,
}

async fn routing_page(
    state: &AppState,
    p: &Principal,
    (posted, errs): (RuleForm, &FieldErrors),
    saved: bool,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    let t = p.t();
    let code = posted.region_code.clone();
    let (rules, cats, names, around, site_rows) = state
        .db
        .read(move |c| {
            let rules = shiliu_db::requests::routing::list_in_scope(c, actor.scope())?;
            let mut names = Vec::new();
            for r in &rules {
                names.push((
                    shiliu_db::org::atlas::region_name_of(c, r.region_id)?,
                    shiliu_db::org::atlas::site_name_of(c, r.site_id)?,
                ));
            }
            Ok((
                rules,
                db::categories(c, true)?,
                names,
                shiliu_db::org::choices_around_code(c, actor.scope(), &code)?,
                shiliu_db::org::site_choices(c, actor.scope())?,
            ))
        })
        .await?;
    let cat_names = crate::requests::pages::category_names(&cats, t);
    let rows = rules
        .iter()
        .zip(names)
        .map(|(r, (region, target))| {
            let category = r.category_id.and_then(|c| {
                cat_names
                    .iter()
                    .find(|(i, _)| *i == c.to_string())
                    .map(|(_, n)| n.clone())
            });
            let conditions = crate::requests::pages::rule_conditions(
                t,
                category.as_deref().unwrap_or(""),
                &region,
                &r.keywords,
            );
            RuleRow {
                id: r.id,
                position: r.position,
                conditions,
                target,
                active: r.active,
            }
        })
        .collect();
    let page = RoutingPage {
        l: Layout::new(p, "nav.settings", t.s("routing.title")).flash(saved),
        rules: rows,
        categories: cat_names,
        errors: t.field_errors(errs),
        regions: Picker::new("rule-region", "region_code", t.s("field.region"))
            .blank(t.s("routing.region_hint"))
            .selected(posted.region_code.clone())
            .regions(around, t),
        sites: Picker::new("rule-site", "site_id", t.s("field.target_site"))
            .required()
            .selected(posted.site_id.clone())
            .grouped(site_rows),
        posted,
    };
    render_form(&page, !errs.is_empty())
}

pub async fn routing(
    State(state): State<AppState>,
    p: Principal,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    routing_page(
        &state,
        &p,
        (RuleForm::default(), &FieldErrors::new()),
        s.yes(),
    )
    .await
}

#[derive(Deserialize, Default, Clone)]
pub struct RuleForm {
    #[serde(default)]
    category_id: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    keywords: String,
    /// The target site picked (its id).
    #[serde(default)]
    site_id: String,
    /// Sent by the region picker's "show the level below" (`pickers::OPEN`).
    #[serde(default, rename = "_open")]
    open: Option<String>,
}

pub async fn create_rule(
    State(state): State<AppState>,
    p: Principal,
    Form(f): Form<RuleForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    if f.open.is_some() {
        return routing_page(&state, &p, (f, &FieldErrors::new()), false).await;
    }
    let keywords = match shiliu_domain::requests::parse_keywords(&f.keywords) {
        Ok(k) => k,
        Err(e) => return routing_page(&state, &p, (f, &e.into()), false).await,
    };
    let category_id = f.category_id.parse::<i64>().ok();
    let posted = f.clone();
    let result = state
        .db
        .write(move |c| {
            let region_id = if f.region_code.trim().is_empty() {
                None
            } else {
                Some(shiliu_db::org::region_id_by_code(
                    c,
                    actor.scope(),
                    &f.region_code,
                    "region",
                )?)
            };
            let site_id = shiliu_db::org::picked_site(c, actor.scope(), &f.site_id, "target_site")?;
            shiliu_db::requests::routing::create(
                c,
                &actor,
                &shiliu_db::requests::routing::NewRule {
                    category_id,
                    region_id,
                    keywords,
                    site_id: Some(site_id),
                    unit_id: None,
                },
            )
        })
        .await;
    match result {
        Ok(_) => Ok(Redirect::to("/settings/routing?saved=1").into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => routing_page(&state, &p, (posted, &e), false).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RuleActive {
    active: bool,
}

pub async fn rule_active(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<RuleActive>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    state
        .db
        .write(move |c| shiliu_db::requests::routing::set_active(c, &actor, id, f.active))
        .await?;
    Ok(Redirect::to("/settings/routing?saved=1").into_response())
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/settings/routing", get(routing).post(create_rule))
        .route("/settings/routing/{id}/active", post(rule_active))
        .route(
            "/settings/categories",
            get(categories).post(create_category),
        )
        .route("/settings/categories/{id}/level", post(set_level))
        .route("/settings/calendar", get(calendar).post(set_day))
}
