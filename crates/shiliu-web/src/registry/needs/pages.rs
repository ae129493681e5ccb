//! Needs surveys (就业需求摸排) as pages: campaigns and their progress per township and grid,
//! the household form a grid worker fills on a phone, the needs found (each becomes a request
//! or a planned service with one action), and services delivered to a person. The rules are
//! `shiliu_db::registry::needs`'s.

use shiliu_db::scope::grants;
use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::registry::needs::{self as db, Need, NeedFilter, Survey};
use shiliu_db::{DbError, org as org_db};
use shiliu_domain::FieldErrors;
use shiliu_domain::registry::PersonTag;
use shiliu_domain::registry::needs::{
    NeedKind, NeedStatus, PlanInput, QuestionRow, ServiceInput, ServiceKind, SurveyInput,
    SurveyStatus, need, show_yuan,
};
use shiliu_domain::requests::questions::QuestionKind;
use shiliu_domain::requests::{Channel, RequestInput};
use shiliu_domain::roles::Permission;

use crate::registry::pages::no_store;
use crate::requests::questions::{QuestionSet, submitted_answers, survey_set};
use crate::web::error::AppResult;
use crate::web::files::FormData;
use crate::web::i18n::T;
use crate::web::page::PAGE;
use crate::web::page::{Layout, Saved, options, render, render_form};
use crate::web::pickers::{Picker, opens_a_level};
use crate::web::{AppState, Principal};

// ---- Campaigns ----

pub struct SurveyRow {
    pub id: i64,
    pub name: String,
    pub area: String,
    pub dates: String,
    pub status: String,
    pub done: i64,
    pub total: i64,
}

#[derive(Template)]
#[template(path = "registry/surveys.html")]
struct SurveysPage {
    l: Layout,
    rows: Vec<SurveyRow>,
    can_manage: bool,
}

pub async fn surveys(
    State(state): State<AppState>,
    p: Principal,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let t = p.t();
    let (list, names) = state
        .db
        .read(move |c| {
            let list = db::surveys(c, actor.scope())?;
            let mut out = Vec::with_capacity(list.len());
            for s in list {
                let (total, done) = db::progress_totals(c, actor.scope(), &s)?;
                out.push((s, total, done));
            }
            let ids: Vec<i64> = out.iter().map(|(s, _, _)| s.region_id).collect();
            Ok((out, org_db::region_names(c, &ids)?))
        })
        .await?;
    let rows = list
        .into_iter()
        .map(|(s, total, done)| SurveyRow {
            id: s.id,
            area: names.get(&s.region_id).cloned().unwrap_or_default(),
            dates: format!("{} — {}", s.starts_on, s.ends_on),
            status: t.label("survey_status", &s.status),
            name: s.name,
            done,
            total,
        })
        .collect();
    render(&SurveysPage {
        l: Layout::new(&p, "nav.registry", t.s("surveys.title")).flash(s.yes()),
        rows,
        can_manage: p.can(Permission::ManageSurveys),
    })
}

/// The campaign form's fields; questions arrive as `q{n}.label`, `q{n}.kind`…
#[derive(Default)]
struct SurveyForm {
    name: String,
    region_code: String,
    tag: String,
    starts_on: String,
    ends_on: String,
    questions: Vec<QuestionRow>,
}

/// Question rows the campaign form offers.
const QUESTION_ROWS: usize = 5;

impl SurveyForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let questions = (1..=QUESTION_ROWS)
            .map(|n| {
                (
                    get(&format!("q{n}.label")),
                    get(&format!("q{n}.kind")),
                    !get(&format!("q{n}.required")).is_empty(),
                    get(&format!("q{n}.choices")),
                )
            })
            .collect();
        Self {
            name: get("name"),
            region_code: get("region_code"),
            tag: get("tag"),
            starts_on: get("starts_on"),
            ends_on: get("ends_on"),
            questions,
        }
    }
}

#[derive(Template)]
#[template(path = "registry/survey_new.html")]
struct NewSurveyPage {
    l: Layout,
    f: SurveyForm,
    tags: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    /// The campaign's area: the regions in scope.
    area: Picker,
}

async fn new_survey_page(
    state: &AppState,
    p: &Principal,
    f: SurveyForm,
    errs: &FieldErrors,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageSurveys>()?;
    let code = f.region_code.clone();
    let around = state
        .db
        .read(move |c| org_db::choices_around_code(c, actor.scope(), &code))
        .await?;
    let t = p.t();
    let labels: Vec<(String, String)> = (1..=QUESTION_ROWS)
        .flat_map(|n| {
            let q = t.f("surveys.question_n", &[("n", &n.to_string())]);
            [
                ("label", "field.label"),
                ("kind", "surveys.question_kind"),
                ("choices", "field.choices"),
            ]
            .map(|(f, key)| (format!("q{n}.{f}"), format!("{q} · {}", t.s(key))))
        })
        .collect();
    let aliases: Vec<(&str, &str)> = labels
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .chain([("region_id", "region")])
        .collect();
    let errors = t.field_errors_as(errs, &aliases);
    render_form(
        &NewSurveyPage {
            l: Layout::new(p, "nav.registry", t.s("surveys.new")),
            tags: options(PersonTag::ALL, PersonTag::as_str, "person_tag", t),
            kinds: options(QuestionKind::ALL, QuestionKind::as_str, "question_kind", t),
            errors,
            area: Picker::new("area", "region_code", t.s("surveys.area"))
                .selected(f.region_code.clone())
                .required()
                .regions(around, t),
            f,
        },
        !errs.is_empty(),
    )
}

pub async fn new_survey(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    p.require::<grants::ManageSurveys>()?;
    let today = shiliu_db::today();
    let f = SurveyForm {
        starts_on: today.to_string(),
        ends_on: (today + chrono::Duration::days(30)).to_string(),
        questions: vec![Default::default(); QUESTION_ROWS],
        ..SurveyForm::default()
    };
    new_survey_page(&state, &p, f, &FieldErrors::new()).await
}

pub async fn create_survey(
    State(state): State<AppState>,
    p: Principal,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageSurveys>()?;
    let f = SurveyForm::from_pairs(&pairs);
    if opens_a_level(&pairs) {
        return new_survey_page(&state, &p, f, &FieldErrors::new()).await;
    }
    let input = match SurveyInput::parse(&f.name, &f.starts_on, &f.ends_on, &f.questions) {
        Ok(i) => i,
        Err(e) => return new_survey_page(&state, &p, f, &e).await,
    };
    let tag = PersonTag::parse(f.tag.trim());
    if tag.is_none() && !f.tag.trim().is_empty() {
        let e = shiliu_domain::FieldError::new("tag", "err.choice");
        return new_survey_page(&state, &p, f, &e.into()).await;
    }
    let code = f.region_code.trim().to_string();
    let result = state
        .db
        .write(move |c| {
            let region = org_db::region_id_by_code(c, actor.scope(), &code, "region_id")?;
            db::create_survey(c, &actor, region, tag, &input)
        })
        .await;
    match result {
        Ok(s) => Ok(Redirect::to(&format!("/registry/surveys/{}?saved=1", s.id)).into_response()),
        Err(DbError::Invalid(e)) => new_survey_page(&state, &p, f, &e).await,
        Err(e) => Err(e.into()),
    }
}

pub struct ProgressRow {
    pub place: String,
    pub total: i64,
    pub done: i64,
    pub percent: i64,
    /// A township's subtotal.
    pub subtotal: bool,
}

fn percent(done: i64, total: i64) -> i64 {
    if total == 0 { 0 } else { done * 100 / total }
}

#[derive(Template)]
#[template(path = "registry/survey.html")]
struct SurveyPage {
    l: Layout,
    s: Survey,
    area: String,
    status: String,
    tag: String,
    questions: Vec<String>,
    rows: Vec<ProgressRow>,
    total: i64,
    done: i64,
    can_fill: bool,
    can_close: bool,
}

pub async fn survey(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(saved): Query<Saved>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let t = p.t();
    let scope = actor.scope().clone();
    let (s, progress, names) = state
        .db
        .read(move |c| {
            let s = db::get_survey(c, actor.scope(), id)?;
            let progress = db::progress(c, actor.scope(), &s)?;
            let mut ids: Vec<i64> = progress
                .keys()
                .flat_map(|p| crate::web::page::path_ids(p))
                .collect();
            ids.push(s.region_id);
            ids.sort_unstable();
            ids.dedup();
            Ok((s, progress, org_db::region_names(c, &ids)?))
        })
        .await?;
    let name = |id: Option<&i64>| id.and_then(|i| names.get(i)).cloned().unwrap_or_default();
    // Grouped by township (the fourth id of a path), each township's grids below its subtotal.
    let mut towns: BTreeMap<String, (i64, i64, Vec<ProgressRow>)> = BTreeMap::new();
    for (path, (n, d)) in &progress {
        let ids = crate::web::page::path_ids(path);
        let town = name(ids.get(3));
        let e = towns.entry(town).or_default();
        e.0 += n;
        e.1 += d;
        e.2.push(ProgressRow {
            place: ids[4.min(ids.len())..]
                .iter()
                .map(|i| name(Some(i)))
                .collect::<Vec<_>>()
                .join(" "),
            total: *n,
            done: *d,
            percent: percent(*d, *n),
            subtotal: false,
        });
    }
    let (mut total, mut done) = (0, 0);
    let mut rows = Vec::new();
    for (town, (n, d, grids)) in towns {
        total += n;
        done += d;
        rows.push(ProgressRow {
            place: town,
            total: n,
            done: d,
            percent: percent(d, n),
            subtotal: true,
        });
        rows.extend(grids);
    }
    let questions = s.questions()?.iter().map(|q| q.label.clone()).collect();
    let open = s.is_running(shiliu_db::today());
    render(&SurveyPage {
        l: Layout::new(&p, "nav.registry", &s.name).flash(saved.yes()),
        area: name(Some(&s.region_id)),
        status: t.label("survey_status", &s.status),
        tag: s
            .tag
            .as_deref()
            .map(|g| t.label("person_tag", g))
            .unwrap_or_default(),
        questions,
        rows,
        total,
        done,
        can_fill: open && p.can(Permission::EditRegistry),
        can_close: s.status == SurveyStatus::Open.as_str()
            && p.can(Permission::ManageSurveys)
            && s.run_by(&scope),
        s,
    })
}

#[derive(Deserialize, Default)]
pub struct VersionForm {
    #[serde(default)]
    version: i32,
}

pub async fn close_survey(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<VersionForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageSurveys>()?;
    state
        .db
        .write(move |c| db::close_survey(c, &actor, id, f.version))
        .await?;
    Ok(Redirect::to(&format!("/registry/surveys/{id}?saved=1")).into_response())
}

// ---- The household list and form (a grid worker on a phone) ----

#[derive(Deserialize, Default)]
pub struct HouseholdsQuery {
    #[serde(default)]
    all: String,
    #[serde(default)]
    after: i64,
}

#[derive(Template)]
#[template(path = "registry/survey_households.html")]
struct HouseholdsPage {
    l: Layout,
    s: Survey,
    todo: bool,
    rows: Vec<db::SurveyHousehold>,
    next: Option<i64>,
}

pub async fn households(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(q): Query<HouseholdsQuery>,
    Query(saved): Query<Saved>,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let t = p.t();
    let todo = q.all.is_empty();
    let (s, rows) = state
        .db
        .write(move |c| {
            let s = db::get_survey(c, actor.scope(), id)?;
            let rows = db::survey_households(c, &actor, &s, todo, q.after, PAGE + 1)?;
            Ok((s, rows))
        })
        .await?;
    let next = (rows.len() as i64 > PAGE).then(|| rows[PAGE as usize - 1].household_id);
    Ok(no_store(render(&HouseholdsPage {
        l: Layout::new(
            &p,
            "nav.registry",
            &format!("{} · {}", s.name, t.s("surveys.households")),
        )
        .flash(saved.yes()),
        todo,
        rows: rows.into_iter().take(PAGE as usize).collect(),
        next,
        s,
    })?))
}

pub struct MemberNeeds {
    pub id: i64,
    pub name: String,
    pub relation: String,
    pub age: i32,
    /// (kind, label, ticked)
    pub kinds: Vec<(String, String, bool)>,
    pub note: String,
}

#[derive(Template)]
#[template(path = "registry/survey_form.html")]
struct FormPage {
    l: Layout,
    s: Survey,
    household_id: i64,
    address: String,
    question_sets: Vec<QuestionSet>,
    members: Vec<MemberNeeds>,
    errors: Vec<(String, String)>,
    answered: bool,
}

/// What the form sends back: the answers and, per member, the kinds ticked and a note.
struct Filled {
    answers: BTreeMap<String, String>,
    needs: BTreeMap<i64, (Vec<String>, String)>,
}

impl Filled {
    fn from_pairs(pairs: &[(String, String)], survey_id: i64) -> Self {
        let answers = submitted_answers(pairs, survey_id)
            .into_iter()
            .map(|(k, v)| (k, v.join(",")))
            .collect();
        let mut needs: BTreeMap<i64, (Vec<String>, String)> = BTreeMap::new();
        for (k, v) in pairs {
            if let Some(id) = k.strip_prefix("need.").and_then(|i| i.parse().ok()) {
                needs.entry(id).or_default().0.push(v.clone());
            } else if let Some(id) = k.strip_prefix("note.").and_then(|i| i.parse().ok()) {
                needs.entry(id).or_default().1.clone_from(v);
            }
        }
        Self { answers, needs }
    }
}

async fn form_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    household_id: i64,
    filled: Option<Filled>,
    errs: &FieldErrors,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let t = p.t();
    let (s, members, response, open_needs) = state
        .db
        .write(move |c| {
            let s = db::get_survey(c, actor.scope(), id)?;
            let members = db::household_for(c, actor.scope(), &s, household_id)?;
            let response = db::response_of(c, s.id, household_id)?;
            let mut needs = Vec::new();
            for m in &members {
                needs.extend(db::needs_of(c, actor.scope(), m.id)?);
            }
            shiliu_db::audit::record(
                c,
                &actor,
                shiliu_db::audit::Event::new("person.survey_form", "household", household_id),
            )?;
            Ok((s, members, response, needs))
        })
        .await?;
    let answered = response.is_some();
    let filled = filled.unwrap_or_else(|| Filled {
        answers: response
            .as_ref()
            .map(db::Response::answers)
            .unwrap_or_default(),
        needs: members
            .iter()
            .map(|m| {
                let mine: Vec<&Need> = open_needs
                    .iter()
                    .filter(|n| {
                        n.person_id == m.id && n.response_id == response.as_ref().map(|r| r.id)
                    })
                    .collect();
                (
                    m.id,
                    (
                        mine.iter().map(|n| n.kind.clone()).collect(),
                        mine.iter().find_map(|n| n.note.clone()).unwrap_or_default(),
                    ),
                )
            })
            .collect(),
    });
    let today = shiliu_db::today();
    let members_view = members
        .iter()
        .map(|m| {
            let (ticked, note) = filled.needs.get(&m.id).cloned().unwrap_or_default();
            MemberNeeds {
                id: m.id,
                name: m.name.clone(),
                relation: m
                    .relation
                    .as_deref()
                    .map(|r| t.label("relation", r))
                    .unwrap_or_default(),
                age: crate::registry::pages::age(m.birth_date, today),
                kinds: NeedKind::ALL
                    .iter()
                    .map(|k| {
                        (
                            k.as_str().to_string(),
                            t.label("need_kind", k.as_str()),
                            ticked.iter().any(|x| x == k.as_str()),
                        )
                    })
                    .collect(),
                note,
            }
        })
        .collect();
    let questions = s.questions()?;
    let labels: Vec<(String, String)> =
        questions
            .iter()
            .map(|q| {
                (
                    shiliu_domain::requests::questions::answer_field(&q.code),
                    q.label.clone(),
                )
            })
            .chain(members.iter().flat_map(|m| {
                ["kind", "note"].map(|f| (format!("need.{}.{f}", m.id), m.name.clone()))
            }))
            .collect();
    let aliases: Vec<(&str, &str)> = labels
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let page = FormPage {
        l: Layout::new(p, "nav.registry", &s.name),
        household_id,
        address: members
            .first()
            .map(|m| m.address.clone())
            .unwrap_or_default(),
        question_sets: vec![survey_set(
            s.id,
            t.s("surveys.questions"),
            &questions,
            &filled.answers,
        )]
        .into_iter()
        .filter(|set| !set.fields.is_empty())
        .collect(),
        members: members_view,
        errors: t.field_errors_as(errs, &aliases),
        answered,
        s,
    };
    Ok(no_store(render_form(&page, !errs.is_empty())?))
}

pub async fn household_form(
    State(state): State<AppState>,
    p: Principal,
    Path((id, household_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    form_page(&state, &p, id, household_id, None, &FieldErrors::new()).await
}

pub async fn answer(
    State(state): State<AppState>,
    p: Principal,
    Path((id, household_id)): Path<(i64, i64)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let raw = submitted_answers(&pairs, id);
    let filled = Filled::from_pairs(&pairs, id);
    let mut errs = FieldErrors::new();
    let mut found = Vec::new();
    for (person, (kinds, note)) in &filled.needs {
        for k in kinds {
            match need(*person, k, note) {
                Ok(n) => found.push(n),
                Err(e) => errs.0.extend(e.0),
            }
        }
    }
    if !errs.is_empty() {
        return form_page(&state, &p, id, household_id, Some(filled), &errs).await;
    }
    let result = state
        .db
        .write(move |c| db::answer(c, &actor, id, household_id, &raw, &found))
        .await;
    match result {
        Ok(_) => {
            Ok(Redirect::to(&format!("/registry/surveys/{id}/households?saved=1")).into_response())
        }
        Err(DbError::Invalid(e)) => form_page(&state, &p, id, household_id, Some(filled), &e).await,
        Err(e) => Err(e.into()),
    }
}

// ---- Needs ----

#[derive(Deserialize, Default)]
pub struct NeedsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    survey: Option<i64>,
    before: Option<i64>,
}

pub struct NeedRow {
    pub id: i64,
    pub person_id: i64,
    pub person: String,
    pub kind: String,
    pub note: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "registry/needs.html")]
struct NeedsPage {
    l: Layout,
    status: String,
    kind: String,
    survey: String,
    statuses: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    rows: Vec<NeedRow>,
    next: Option<String>,
}

pub async fn needs(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<NeedsQuery>,
    Query(saved): Query<Saved>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let t = p.t();
    let f = NeedFilter {
        status: NeedStatus::parse(q.status.trim()),
        kind: NeedKind::parse(q.kind.trim()),
        survey_id: q.survey,
    };
    let rows = state
        .db
        .write(move |c| db::needs(c, &actor, &f, q.before, PAGE + 1))
        .await?;
    let survey = q.survey.map(|s| s.to_string()).unwrap_or_default();
    let next = (rows.len() as i64 > PAGE).then(|| {
        format!(
            "/registry/needs?status={}&kind={}&survey={survey}&before={}",
            q.status.trim(),
            q.kind.trim(),
            rows[PAGE as usize - 1].0.id
        )
    });
    Ok(no_store(render(&NeedsPage {
        l: Layout::new(&p, "nav.registry", t.s("needs.title")).flash(saved.yes()),
        statuses: options(NeedStatus::ALL, NeedStatus::as_str, "need_status", t),
        kinds: options(NeedKind::ALL, NeedKind::as_str, "need_kind", t),
        rows: rows
            .into_iter()
            .take(PAGE as usize)
            .map(|(n, person)| NeedRow {
                id: n.id,
                person_id: n.person_id,
                person,
                kind: t.label("need_kind", &n.kind),
                note: n.note.clone().unwrap_or_default(),
                status: t.label("need_status", &n.status),
            })
            .collect(),
        next,
        status: q.status,
        kind: q.kind,
        survey,
    })?))
}

/// What the need page's forms hold.
#[derive(Default)]
struct NeedForms {
    description: String,
    contact_phone: String,
    answers: Vec<(String, String)>,
    provider: String,
    planned_on: String,
}

#[derive(Template)]
#[template(path = "registry/need.html")]
struct NeedPage {
    l: Layout,
    n: Need,
    person: String,
    kind: String,
    status: String,
    open: bool,
    category: String,
    question_sets: Vec<QuestionSet>,
    f: NeedForms,
    service_kinds: Vec<(String, String)>,
    met_by: String,
    today: String,
    can_request: bool,
    can_edit: bool,
    errors: Vec<(String, String)>,
}

async fn need_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    forms: Option<NeedForms>,
    errs: &FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let t = p.t();
    let (n, person, category, qs) = state
        .db
        .write(move |c| {
            let n = db::get_need(c, actor.scope(), id)?;
            let person = shiliu_db::registry::view(c, &actor, n.person_id)?;
            let code = n.kind().category_code();
            let category = shiliu_db::requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == code);
            let qs = match &category {
                Some(k) => shiliu_db::requests::questions::questions(c, Some(k.id), false)?,
                None => Vec::new(),
            };
            Ok((n, person, category, qs))
        })
        .await?;
    let kind = t.label("need_kind", &n.kind);
    let f = forms.unwrap_or_else(|| NeedForms {
        description: format!(
            "{}：{}",
            kind,
            n.note
                .clone()
                .unwrap_or_else(|| t.s("needs.from_survey").to_string())
        ),
        contact_phone: person.mobile.clone().unwrap_or_default(),
        ..NeedForms::default()
    });
    let (category_id, category_name) = category
        .as_ref()
        .map(|k| (k.id, t.pick(&k.name, &k.name_en).to_string()))
        .unwrap_or_default();
    let sets = crate::requests::questions::question_sets(
        &qs,
        &[(category_id.to_string(), category_name.clone())],
        &f.answers,
        t,
    );
    let errors = crate::requests::questions::answer_errors(errs, &qs, category_id, t);
    let page = NeedPage {
        l: Layout::new(p, "nav.registry", &format!("{} · {}", person.name, kind)).flash(saved),
        person: person.name,
        status: t.label("need_status", &n.status),
        open: n.status == NeedStatus::Open.as_str(),
        category: category_name,
        question_sets: sets,
        service_kinds: options(ServiceKind::ALL, ServiceKind::as_str, "service_kind", t),
        met_by: n.kind().met_by().as_str().to_string(),
        today: shiliu_db::today().to_string(),
        can_request: p.can(Permission::CreateRequests) && p.can(Permission::EditRegistry),
        can_edit: p.can(Permission::EditRegistry),
        kind,
        f,
        errors,
        n,
    };
    Ok(no_store(render_form(&page, !errs.is_empty())?))
}

pub async fn need_show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    need_page(&state, &p, id, None, &FieldErrors::new(), s.yes()).await
}

#[derive(Deserialize, Default)]
pub struct ToRequestForm {
    #[serde(default)]
    version: i32,
    #[serde(default)]
    description: String,
    #[serde(default)]
    contact_phone: String,
}

/// One action: the need becomes a request.
pub async fn to_request(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    p.require::<grants::CreateRequests>()?;
    let (f, pairs): (ToRequestForm, _) = crate::requests::questions::form_with_pairs(&form)?;
    let forms = NeedForms {
        description: f.description.clone(),
        contact_phone: f.contact_phone.clone(),
        answers: pairs.clone(),
        ..NeedForms::default()
    };
    let input = RequestInput::parse(
        Channel::Grid,
        &f.description,
        "",
        "",
        &f.contact_phone,
        true,
    );
    let input = match input {
        Ok(i) => i,
        Err(e) => return need_page(&state, &p, id, Some(forms), &e, false).await,
    };
    let result = state
        .db
        .write(move |c| {
            let n = db::get_need(c, actor.scope(), id)?;
            let category = shiliu_db::requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == n.kind().category_code())
                .map_or(0, |k| k.id);
            let input = input.with_answers(submitted_answers(&pairs, category));
            db::to_request(c, &actor, id, f.version, &input)
        })
        .await;
    match result {
        Ok((_, r)) => Ok(Redirect::to(&format!("/requests/{}?saved=1", r.id)).into_response()),
        Err(DbError::Invalid(e)) => need_page(&state, &p, id, Some(forms), &e, false).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct PlanForm {
    #[serde(default)]
    version: i32,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    planned_on: String,
}

/// One action: the need goes into a service plan.
pub async fn plan(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<PlanForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let forms = NeedForms {
        provider: f.provider.clone(),
        planned_on: f.planned_on.clone(),
        ..NeedForms::default()
    };
    let input = match PlanInput::parse(&f.provider, &f.planned_on, shiliu_db::today()) {
        Ok(i) => i,
        Err(e) => return need_page(&state, &p, id, Some(forms), &e, false).await,
    };
    let result = state
        .db
        .write(move |c| db::plan(c, &actor, id, f.version, &input))
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/registry/needs/{id}?saved=1")).into_response()),
        Err(DbError::Invalid(e)) => need_page(&state, &p, id, Some(forms), &e, false).await,
        Err(e) => Err(e.into()),
    }
}

// ---- Services delivered ----

#[derive(Deserialize, Default)]
pub struct ServiceForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    delivered_on: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    note: String,
    /// The need it meets, from the need's page.
    need_id: Option<i64>,
}

/// Record a service delivered to a person (from their page, or a need's); back to that page
/// with the errors named when the input is bad.
pub async fn record_service(
    State(state): State<AppState>,
    p: Principal,
    Path(person_id): Path<i64>,
    Form(f): Form<ServiceForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let input = ServiceInput::parse(
        &f.kind,
        &f.delivered_on,
        &f.provider,
        &f.amount,
        &f.note,
        shiliu_db::today(),
    );
    let result = match input {
        Ok(input) => {
            state
                .db
                .write(move |c| db::record_service(c, &actor, person_id, &input, f.need_id))
                .await
        }
        Err(e) => Err(DbError::Invalid(e)),
    };
    let to = match f.need_id {
        Some(n) => format!("/registry/needs/{n}"),
        None => format!("/registry/{person_id}"),
    };
    match (result, f.need_id) {
        (Ok(_), _) => Ok(Redirect::to(&format!("{to}?saved=1")).into_response()),
        (Err(DbError::Invalid(e)), Some(n)) => need_page(&state, &p, n, None, &e, false).await,
        (Err(DbError::Invalid(e)), None) => {
            crate::registry::pages::person_page(&state, &p, person_id, false, &e, false).await
        }
        (Err(e), _) => Err(e.into()),
    }
}

/// A need as a person's page lists it: (id, kind, note, status).
pub(crate) type NeedLine = (i64, String, String, String);
/// A service as a person's page lists it: (kind, day, provider, amount).
pub(crate) type ServiceLine = (String, String, String, String);

/// A person's needs and services for their page.
pub(crate) fn person_rows(
    t: T,
    needs: &[Need],
    services: &[db::Service],
) -> (Vec<NeedLine>, Vec<ServiceLine>) {
    (
        needs
            .iter()
            .map(|n| {
                (
                    n.id,
                    t.label("need_kind", &n.kind),
                    n.note.clone().unwrap_or_default(),
                    t.label("need_status", &n.status),
                )
            })
            .collect(),
        services
            .iter()
            .map(|s| {
                (
                    t.label("service_kind", &s.kind),
                    s.delivered_on.to_string(),
                    s.provider.clone(),
                    s.amount_fen.map(show_yuan).unwrap_or_default(),
                )
            })
            .collect(),
    )
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/registry/surveys", get(surveys).post(create_survey))
        .route("/registry/surveys/new", get(new_survey))
        .route("/registry/surveys/{id}", get(survey))
        .route("/registry/surveys/{id}/close", post(close_survey))
        .route("/registry/surveys/{id}/households", get(households))
        .route(
            "/registry/surveys/{id}/households/{household}",
            get(household_form).post(answer),
        )
        .route("/registry/needs", get(needs))
        .route("/registry/needs/{id}", get(need_show))
        .route("/registry/needs/{id}/request", post(to_request))
        .route("/registry/needs/{id}/plan", post(plan))
        .route("/registry/{id}/services", post(record_service))
}
