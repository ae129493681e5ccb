//! Activities and trainings as pages: the list with its filters and export, quick entry (a
//! phone's camera for the photos, today's date, the caller's grid and community's unit picked
//! when there is one), one record with its photos — corrected, added to, removed — and the
//! month's calendar.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate};
use shiliu_db::activities::{self as db, Filter, Listed, Photo, Term};
use shiliu_db::org as org_db;
use shiliu_db::scope::grants;
use shiliu_domain::FieldErrors;
use shiliu_domain::activities::{Form, TermList, hours_text};
use shiliu_domain::roles::Permission;

use super::{FilterQuery, RecordForm, field_errors, term_name, term_options, venue_options};
use crate::web::error::{AppError, AppResult};
use crate::web::files::FormData;
use crate::web::i18n::T;
use crate::web::page::{Layout, PAGE, Saved, render, render_form};
use crate::web::pending::{Kept, keep_for_next_send};
use crate::web::pickers::{Picker, opens_a_level};
use crate::web::xlsx::{self, Cell};
use crate::web::{AppState, Principal};

pub(crate) fn routes() -> crate::Routes {
    crate::Routes::new(file!())
        .route("/activities", get(list).post(create))
        .route("/activities/new", get(new))
        .route("/activities/export.xlsx", get(export))
        .route("/activities/calendar", get(calendar))
        .route("/activities/{id}", get(show).post(update))
        .route("/activities/{id}/remove", post(remove))
        .route("/activities/{id}/photos", post(add_photos))
        .route("/activities/{id}/photos/{photo}", get(photo))
        .route("/activities/{id}/photos/{photo}/remove", post(remove_photo))
}

/// One line of the list.
pub struct Row {
    pub id: i64,
    pub held_on: String,
    pub title: String,
    pub form: String,
    pub kind: String,
    pub venue: String,
    pub place: String,
    pub unit: String,
    pub participants: i32,
    pub photos: i32,
}

fn row(t: T, terms: &std::collections::HashMap<i64, Term>, l: &Listed) -> Row {
    let a = &l.activity;
    Row {
        id: a.id,
        held_on: a.held_on.to_string(),
        title: a.title.clone(),
        form: t.label("activity_form", &a.form),
        kind: match a.form() {
            Form::Training => term_name(terms, a.audience_id),
            Form::Activity => term_name(terms, a.kind_id),
        },
        venue: a
            .venue
            .as_deref()
            .map(|v| t.label("venue", v))
            .unwrap_or_default(),
        place: l.region_name.clone(),
        unit: l.unit_name.clone(),
        participants: a.participants,
        photos: a.photos,
    }
}

/// The filter's choices, as the list's form offers them.
pub struct FilterChoices {
    pub kinds: Vec<(String, String)>,
    pub venues: Vec<(String, String)>,
    pub units: Picker,
    pub regions: Picker,
}

#[derive(Template)]
#[template(path = "activities/list.html")]
struct ListPage {
    l: Layout,
    q: FilterQuery,
    choices: FilterChoices,
    rows: Vec<Row>,
    total: db::Counted,
    next: Option<String>,
    query: String,
    can_log: bool,
    can_manage: bool,
    errors: Vec<(String, String)>,
}

/// The filter of the address, with its region resolved in the caller's scope.
pub(crate) async fn resolved(
    state: &AppState,
    scope: &shiliu_db::scope::Scope,
    q: &FilterQuery,
) -> AppResult<Filter> {
    let mut f = q.filter().map_err(AppError::Invalid)?;
    let code = q.region.clone();
    let scope = scope.clone();
    f.within = state
        .db
        .read(move |c| org_db::picked_region(c, &scope, &code, "region"))
        .await?;
    Ok(f)
}

/// The filter form's choices: kinds, venues, the units and regions of the caller's scope.
pub(crate) async fn filter_choices(
    state: &AppState,
    p: &Principal,
    q: &FilterQuery,
) -> AppResult<FilterChoices> {
    let actor = p.require::<grants::ViewActivities>()?;
    let t = p.t();
    let code = q.region.clone();
    let (kinds, units, around) = state
        .db
        .read(move |c| {
            Ok((
                db::terms(c, TermList::Kind, true)?,
                db::organiser_choices(c, actor.scope())?,
                org_db::choices_around_code(c, actor.scope(), &code)?,
            ))
        })
        .await?;
    Ok(FilterChoices {
        kinds: term_options(&kinds),
        venues: venue_options(t),
        units: Picker::new("filter-unit", "unit", t.s("field.organiser_unit"))
            .grouped(units)
            .selected(q.unit.clone())
            .blank(t.s("list.all")),
        regions: Picker::new("filter-region", "region", t.s("field.region"))
            .selected(q.region.clone())
            .blank(t.s("list.all"))
            .regions(around, t),
    })
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(flatten)]
    f: FilterQuery,
    /// Where the page starts: `YYYY-MM-DD.id` of the last line of the page before.
    #[serde(default)]
    after: String,
    /// The title and day of a record just removed, which the list says it removed.
    #[serde(default)]
    removed: String,
    #[serde(default)]
    removed_on: String,
}

/// A page's start as the list and the API pass it: `YYYY-MM-DD.id`.
pub(crate) fn parse_after(s: &str) -> Option<(NaiveDate, i64)> {
    let (d, id) = s.split_once('.')?;
    Some((
        NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?,
        id.parse().ok()?,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewActivities>()?;
    let t = p.t();
    let choices = filter_choices(&state, &p, &q.f).await?;
    let (f, errors) = match resolved(&state, actor.scope(), &q.f).await {
        Ok(f) => (f, FieldErrors::new()),
        Err(AppError::Invalid(e)) => (Filter::default(), e),
        Err(e) => return Err(e),
    };
    let after = parse_after(&q.after);
    let (rows, total, terms) = state
        .db
        .read(move |c| {
            Ok((
                db::list(c, actor.scope(), &f, after, PAGE + 1)?,
                db::count_listed(c, actor.scope(), &f)?,
                db::term_names(c)?,
            ))
        })
        .await?;
    let query = q.f.query_string();
    let more = rows.len() > usize::try_from(PAGE).unwrap_or(usize::MAX);
    let shown: Vec<Row> = rows
        .iter()
        .take(usize::try_from(PAGE).unwrap_or(usize::MAX))
        .map(|x| row(t, &terms, x))
        .collect();
    let next = more
        .then(|| shown.last().map(|r| format!("{}.{}", r.held_on, r.id)))
        .flatten()
        .map(|after| {
            let sep = if query.is_empty() { "" } else { "&" };
            format!("/activities?{query}{sep}after={after}")
        });
    render_form(
        &ListPage {
            l: Layout::new(&p, "nav.activities", t.s("activities.title")).said(
                (!q.removed.is_empty()).then(|| {
                    t.f(
                        "activities.removed",
                        &[("title", &q.removed), ("day", &q.removed_on)],
                    )
                }),
            ),
            q: q.f,
            choices,
            rows: shown,
            total,
            next,
            query,
            can_log: p.can(Permission::LogActivities),
            can_manage: p.can(Permission::ManageActivities),
            errors: t.field_errors(&errors),
        },
        !errors.is_empty(),
    )
}

/// Every line the filters keep, as a workbook (up to a sheet's worth).
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<FilterQuery>,
) -> AppResult<Response> {
    const MOST: i64 = 100_000;
    let actor = p.require::<grants::ViewActivities>()?;
    let f = resolved(&state, actor.scope(), &q).await?;
    let t = p.t();
    let (rows, terms, materials) = state
        .db
        .read(move |c| {
            let rows = db::list(c, actor.scope(), &f, None, MOST)?;
            let materials = db::materials_of(c, &rows)?;
            Ok((rows, db::term_names(c)?, materials))
        })
        .await?;
    let headers: Vec<String> = [
        "field.held_on",
        "field.starts_at",
        "field.activity_form",
        "field.title",
        "field.activity_kind",
        "field.venue",
        "field.audience",
        "field.hours",
        "field.organiser_unit",
        "field.co_organisers",
        "field.region",
        "field.participants",
        "field.materials",
        "field.photo_count",
        "field.summary",
        "field.recorder",
        "field.recorded_at",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    let lines: Vec<Vec<Cell>> = rows
        .iter()
        .map(|l| {
            let a = &l.activity;
            let m = materials
                .get(&a.id)
                .map(|ms| {
                    ms.iter()
                        .map(|m| format!("{}{}{}", m.name, m.quantity, m.unit_word))
                        .collect::<Vec<_>>()
                        .join("、")
                })
                .unwrap_or_default();
            vec![
                Cell::Date(a.held_on),
                Cell::from(a.starts_at.clone().unwrap_or_default().as_str()),
                Cell::from(t.label("activity_form", &a.form).as_str()),
                Cell::from(a.title.as_str()),
                Cell::from(term_name(&terms, a.kind_id).as_str()),
                Cell::from(
                    a.venue
                        .as_deref()
                        .map(|v| t.label("venue", v))
                        .unwrap_or_default()
                        .as_str(),
                ),
                Cell::from(term_name(&terms, a.audience_id).as_str()),
                a.hours_tenths
                    .map_or(Cell::Empty, |h| Cell::Tenths(i64::from(h))),
                Cell::from(l.unit_name.as_str()),
                Cell::from(a.co_organisers.clone().unwrap_or_default().as_str()),
                Cell::from(l.region_name.as_str()),
                Cell::Int(i64::from(a.participants)),
                Cell::from(m.as_str()),
                Cell::Int(i64::from(a.photos)),
                Cell::from(a.summary.clone().unwrap_or_default().as_str()),
                Cell::from(a.recorder.as_str()),
                Cell::Minute(a.created_at),
            ]
        })
        .collect();
    Ok(xlsx::download(
        "activities.xlsx",
        xlsx::sheet(t.s("activities.title"), &headers, &lines)?,
    ))
}

// ---- the form ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "activities/new.html")]
struct NewPage {
    l: Layout,
    d: RecordForm,
    training: bool,
    choices: FormChoices,
    errors: Vec<(String, String)>,
    kept: Kept,
}

/// What a record's form offers.
pub struct FormChoices {
    pub kinds: Vec<(String, String)>,
    pub audiences: Vec<(String, String)>,
    pub venues: Vec<(String, String)>,
    pub materials: Vec<Term>,
    pub units: Picker,
    /// A grid worker picks one of their grids: (code, name); else the region picker.
    pub grids: Vec<(String, String)>,
    pub regions: Picker,
}

/// The form's choices, with what the caller most likely means picked when the form holds
/// nothing yet: their own unit, or the only unit offered; their grid when they have one.
async fn form_choices(
    state: &AppState,
    p: &Principal,
    d: &mut RecordForm,
) -> AppResult<FormChoices> {
    let actor = p.require::<grants::LogActivities>()?;
    let t = p.t();
    let grid_worker = p.role().scoped_to_grids();
    let code = d.region.clone();
    let (kinds, audiences, materials, units, grids, around) = state
        .db
        .read(move |c| {
            let (grids, around) = if grid_worker {
                (org_db::scope_roots(c, actor.scope())?, Vec::new())
            } else {
                let roots = org_db::scope_roots(c, actor.scope())?;
                let code = if code.is_empty() && roots.len() == 1 {
                    roots[0].code.clone()
                } else {
                    code
                };
                (
                    Vec::new(),
                    org_db::choices_around_code(c, actor.scope(), &code)?,
                )
            };
            Ok((
                db::terms(c, TermList::Kind, false)?,
                db::terms(c, TermList::Audience, false)?,
                db::terms(c, TermList::Material, false)?,
                db::organiser_choices(c, actor.scope())?,
                grids,
                around,
            ))
        })
        .await?;
    if d.organiser_unit.is_empty() {
        let own = p
            .user()
            .unit_id
            .filter(|u| units.iter().any(|(_, id, _)| id == u));
        d.organiser_unit = match (own, units.as_slice()) {
            (Some(u), _) => u.to_string(),
            (None, [(_, only, _)]) => only.to_string(),
            _ => String::new(),
        };
    }
    if d.region.is_empty() {
        if let [only] = grids.as_slice() {
            d.region.clone_from(&only.code);
        } else if let Some((None, roots)) = around.first()
            && let [only] = roots.as_slice()
        {
            d.region.clone_from(&only.code);
        }
    }
    Ok(FormChoices {
        kinds: term_options(&kinds),
        audiences: term_options(&audiences),
        venues: venue_options(t),
        materials,
        units: Picker::new("organiser", "organiser_unit", t.s("field.organiser_unit"))
            .grouped(units)
            .selected(d.organiser_unit.clone())
            .required(),
        grids: grids.into_iter().map(|g| (g.code, g.name)).collect(),
        regions: Picker::new("region", "region", t.s("field.held_at"))
            .selected(d.region.clone())
            .required()
            .regions(around, t),
    })
}

async fn new_page(
    state: &AppState,
    p: &Principal,
    mut d: RecordForm,
    errs: &FieldErrors,
    kept: Kept,
) -> AppResult<Response> {
    let t = p.t();
    let choices = form_choices(state, p, &mut d).await?;
    let training = d.form() == Form::Training;
    let title = if training {
        "activities.new_training"
    } else {
        "activities.new"
    };
    render_form(
        &NewPage {
            l: Layout::new(p, "nav.activities", t.s(title)),
            errors: field_errors(t, errs, &choices.materials),
            training,
            choices,
            d,
            kept,
        },
        !errs.is_empty(),
    )
}

#[derive(serde::Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    form: String,
}

pub async fn new(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    let d = RecordForm {
        form: Form::parse(&q.form)
            .unwrap_or(Form::Activity)
            .as_str()
            .into(),
        held_on: shiliu_db::today().to_string(),
        ..RecordForm::default()
    };
    new_page(&state, &p, d, &FieldErrors::new(), Kept::default()).await
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::LogActivities>()?;
    let d = RecordForm::from_pairs(&form.pairs);
    let photos = state.pending.photos(&form, "photos", db::PHOTOS);
    if opens_a_level(&form.pairs) {
        let kept = keep_for_next_send(&state.pending, &form, photos.files);
        return new_page(&state, &p, d, &photos.errors, kept).await;
    }
    let input = match d.parse() {
        Ok(i) if photos.errors.0.is_empty() => i,
        parsed => {
            let mut e = parsed.err().unwrap_or_default();
            e.0.extend(photos.errors.0);
            let kept = keep_for_next_send(&state.pending, &form, photos.files);
            return new_page(&state, &p, d, &e, kept).await;
        }
    };
    let files = photos.files;
    let held = files.clone();
    let result = state
        .db
        .write(move |c| db::record(c, &actor, &input, &files))
        .await;
    match result {
        Ok(a) => Ok(Redirect::to(&format!("/activities/{}?saved=1", a.id)).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => {
            let kept = keep_for_next_send(&state.pending, &form, held);
            new_page(&state, &p, d, &e, kept).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- one record --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "activities/activity.html")]
struct ShowPage {
    l: Layout,
    a: Listed,
    form: String,
    kind: String,
    audience: String,
    venue: String,
    hours: String,
    site: String,
    materials: Vec<db::Material>,
    photos: Vec<Photo>,
    editable: bool,
    /// The form to correct it, open when it came back with errors.
    d: RecordForm,
    training: bool,
    choices: Option<FormChoices>,
    errors: Vec<(String, String)>,
    /// The correction form comes back open (it was sent with errors, or a picker's level).
    reopened: bool,
    max_photos: usize,
    /// A training's trainee list: how many are on it.
    trainees: Option<i64>,
}

async fn show_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    edited: Option<RecordForm>,
    errs: &FieldErrors,
    saved: bool,
    said: Option<String>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewActivities>()?;
    let t = p.t();
    let (a, materials, photos, terms, region_code, site, trainees) = state
        .db
        .read(move |c| {
            let a = db::get_listed(c, actor.scope(), id)?;
            let site = org_db::atlas::site_name_of(c, a.activity.site_id)?;
            let code = org_db::atlas::region(c, a.activity.region_id)?.code;
            let materials = db::materials(c, &a.activity)?;
            let photos = db::photos(c, &a.activity)?;
            let trainees = if a.activity.form() == Form::Training {
                Some(db::trainees::count(c, &a.activity)?)
            } else {
                None
            };
            Ok((
                a,
                materials,
                photos,
                db::term_names(c)?,
                code,
                site,
                trainees,
            ))
        })
        .await?;
    let editable = p
        .require::<grants::LogActivities>()
        .is_ok_and(|can| a.activity.editable_by(&can));
    let reopened = edited.is_some();
    let mut d = edited.unwrap_or_else(|| RecordForm::of(&a.activity, region_code, &materials));
    let choices = if editable {
        Some(form_choices(state, p, &mut d).await?)
    } else {
        None
    };
    let act = &a.activity;
    let page = ShowPage {
        l: Layout::new(p, "nav.activities", &act.title)
            .flash(saved)
            .said(said),
        form: t.label("activity_form", &act.form),
        kind: term_name(&terms, act.kind_id),
        audience: term_name(&terms, act.audience_id),
        venue: act
            .venue
            .as_deref()
            .map(|v| t.label("venue", v))
            .unwrap_or_default(),
        hours: act.hours_tenths.map(hours_text).unwrap_or_default(),
        site,
        errors: field_errors(
            t,
            errs,
            choices.as_ref().map_or(&[][..], |c| c.materials.as_slice()),
        ),
        training: d.form() == Form::Training,
        reopened,
        materials,
        photos,
        editable,
        d,
        choices,
        max_photos: db::PHOTOS.max_files,
        trainees,
        a,
    };
    render_form(&page, !errs.is_empty())
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    let t = p.t();
    let said = s
        .done(&["photos", "photo_removed"])
        .map(|d| t.s(&format!("activities.done_{d}")).to_string());
    show_page(&state, &p, id, None, &FieldErrors::new(), s.yes(), said).await
}

pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::LogActivities>()?;
    let d = RecordForm::from_pairs(&form.pairs);
    if opens_a_level(&form.pairs) {
        return show_page(&state, &p, id, Some(d), &FieldErrors::new(), false, None).await;
    }
    let input = match d.parse() {
        Ok(i) => i,
        Err(e) => return show_page(&state, &p, id, Some(d), &e, false, None).await,
    };
    let version = d.version;
    match state
        .db
        .write(move |c| db::update(c, &actor, id, version, &input))
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/activities/{id}?saved=1")).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => {
            show_page(&state, &p, id, Some(d), &e, false, None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct RemoveForm {
    version: i32,
    #[serde(default)]
    confirm: Option<String>,
}

/// Remove a record, once the box saying so is ticked; the list then says what was removed.
pub async fn remove(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::LogActivities>()?;
    let f: RemoveForm = form.parse()?;
    if f.confirm.is_none() {
        // Named as the box ticked (`confirm` is a password's confirmation).
        let e = FieldErrors::from(shiliu_domain::FieldError::new(
            "confirm_tick",
            "err.confirm",
        ));
        return show_page(&state, &p, id, None, &e, false, None).await;
    }
    let gone = state
        .db
        .write(move |c| db::remove(c, &actor, id, f.version))
        .await?;
    Ok(Redirect::to(&format!(
        "/activities?removed={}&removed_on={}",
        crate::web::urlencode(&gone.title),
        gone.held_on
    ))
    .into_response())
}

pub async fn add_photos(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::LogActivities>()?;
    let files = match form.files("photos", db::PHOTOS) {
        Ok(f) => f,
        Err(e) => return Err(AppError::Invalid(e)),
    };
    state
        .db
        .write(move |c| {
            let a = db::get(c, actor.scope(), id)?;
            db::add_photos(c, &actor, &a, &files)
        })
        .await?;
    Ok(Redirect::to(&format!("/activities/{id}?done=photos")).into_response())
}

pub async fn photo(
    State(state): State<AppState>,
    p: Principal,
    Path((id, photo)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewActivities>()?;
    let (ph, bytes) = state
        .db
        .read(move |c| db::open_photo(c, actor.scope(), id, photo))
        .await?;
    Ok(crate::web::files::serve(
        &ph.content_type,
        &ph.name,
        true,
        bytes,
    ))
}

pub async fn remove_photo(
    State(state): State<AppState>,
    p: Principal,
    Path((id, photo)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let actor = p.require::<grants::LogActivities>()?;
    state
        .db
        .write(move |c| {
            let a = db::get(c, actor.scope(), id)?;
            db::remove_photo(c, &actor, &a, photo)
        })
        .await?;
    Ok(Redirect::to(&format!("/activities/{id}?done=photo_removed")).into_response())
}

// ---- the calendar ------------------------------------------------------------------------

/// One day of the month's grid.
pub struct Day {
    /// 0 for the days before the first (the grid starts on a Monday).
    pub day: u32,
    pub today: bool,
    pub items: Vec<(i64, String, String)>,
}

#[derive(Template)]
#[template(path = "activities/calendar.html")]
struct CalendarPage {
    l: Layout,
    month: String,
    weeks: Vec<Vec<Day>>,
    prev: String,
    next: String,
    query: String,
    regions: Picker,
    total: usize,
}

#[derive(serde::Deserialize, Default)]
pub struct CalendarQuery {
    #[serde(flatten)]
    f: FilterQuery,
    /// `YYYY-MM`; this month when absent.
    #[serde(default)]
    month: String,
}

pub async fn calendar(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<CalendarQuery>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewActivities>()?;
    let t = p.t();
    let today = shiliu_db::today();
    let first = NaiveDate::parse_from_str(&format!("{}-01", q.month.trim()), "%Y-%m-%d")
        .unwrap_or_else(|_| today.with_day(1).unwrap_or(today));
    let f = resolved(&state, actor.scope(), &q.f).await?;
    let code = q.f.region.clone();
    let (records, around) = state
        .db
        .read(move |c| {
            Ok((
                db::month(c, actor.scope(), &f, first)?,
                org_db::choices_around_code(c, actor.scope(), &code)?,
            ))
        })
        .await?;
    let mut weeks: Vec<Vec<Day>> = Vec::new();
    let mut week: Vec<Day> = (0..first.weekday().num_days_from_monday())
        .map(|_| Day {
            day: 0,
            today: false,
            items: Vec::new(),
        })
        .collect();
    let mut d = first;
    while d.month() == first.month() {
        week.push(Day {
            day: d.day(),
            today: d == today,
            items: records
                .iter()
                .filter(|r| r.activity.held_on == d)
                .map(|r| {
                    (
                        r.activity.id,
                        r.activity.starts_at.clone().unwrap_or_default(),
                        r.activity.title.clone(),
                    )
                })
                .collect(),
        });
        if week.len() == 7 {
            weeks.push(std::mem::take(&mut week));
        }
        d = d.succ_opt().unwrap_or(d);
        if d.day() == 1 {
            break;
        }
    }
    if !week.is_empty() {
        weeks.push(week);
    }
    let shift = |m: i32| {
        let months = first.year() * 12 + i32::try_from(first.month0()).unwrap_or(0) + m;
        format!("{}-{:02}", months.div_euclid(12), months.rem_euclid(12) + 1)
    };
    render(&CalendarPage {
        l: Layout::new(&p, "nav.activities", t.s("activities.calendar")),
        month: t.f(
            "activities.month",
            &[
                ("year", &first.year().to_string()),
                ("month", &first.month().to_string()),
            ],
        ),
        weeks,
        prev: shift(-1),
        next: shift(1),
        query: q.f.query_string(),
        regions: Picker::new("calendar-region", "region", t.s("field.region"))
            .selected(q.f.region.clone())
            .blank(t.s("list.all"))
            .regions(around, t),
        total: records.len(),
    })
}
