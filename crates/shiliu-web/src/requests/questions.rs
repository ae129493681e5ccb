//! One category's settings page: its extra questions (asked at intake on every channel and
//! offered to Open311 clients as attributes) and its reply templates.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::requests::questions::{self as db, QuestionRow};
use shiliu_db::scope::grants;
use shiliu_domain::FieldErrors;
use shiliu_domain::requests::ReplyTemplateInput;
use shiliu_domain::requests::questions::{QuestionInput, QuestionKind, format_choices};

use crate::web::error::AppResult;
use crate::web::i18n::T;
use crate::web::page::{Layout, Saved, render_form};
use crate::web::{AppState, Principal};

pub struct QuestionView {
    pub id: i64,
    pub version: i32,
    pub code: String,
    pub label: String,
    pub label_en: String,
    pub kind: String,
    pub kind_name: String,
    pub required: bool,
    pub has_choices: bool,
    pub choices: String,
    pub sort_order: i32,
    pub active: bool,
}

impl QuestionView {
    fn new(q: QuestionRow, t: T) -> Self {
        Self {
            kind_name: t.label("question_kind", &q.kind),
            has_choices: q.kind().has_choices(),
            choices: format_choices(&q.choices()),
            id: q.id,
            version: q.version,
            code: q.code,
            label: q.label,
            label_en: q.label_en,
            kind: q.kind,
            required: q.required,
            sort_order: q.sort_order,
            active: q.active,
        }
    }
}

pub struct TemplateView {
    pub id: i64,
    pub version: i32,
    pub title: String,
    pub body: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "requests/settings_category.html")]
struct CategoryPage {
    l: Layout,
    /// The caller edits the platform's settings (a region sees them only).
    platform: bool,
    category_id: i64,
    questions: Vec<QuestionView>,
    kinds: Vec<(String, String)>,
    templates: Vec<TemplateView>,
    errors: Vec<(String, String)>,
}

async fn page(
    state: &AppState,
    p: &Principal,
    id: i64,
    errs: &FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    let t = p.t();
    let (platform, cat, qs, tpls) = state
        .db
        .read(move |c| {
            let owner = shiliu_db::requests::settings::owner(c, &actor)?;
            Ok((
                matches!(owner, shiliu_db::requests::settings::Owner::Platform),
                shiliu_db::requests::category(c, id)?,
                db::questions(c, Some(id), true)?,
                db::reply_templates(c, Some(id), true)?,
            ))
        })
        .await?;
    let name = t.pick(&cat.name, &cat.name_en);
    let page = CategoryPage {
        l: Layout::new(
            p,
            "nav.settings",
            &t.f("questions.title", &[("name", name)]),
        )
        .flash(saved),
        platform,
        category_id: id,
        questions: qs.into_iter().map(|q| QuestionView::new(q, t)).collect(),
        kinds: QuestionKind::ALL
            .iter()
            .map(|k| (k.as_str().to_string(), t.label("question_kind", k.as_str())))
            .collect(),
        templates: tpls
            .into_iter()
            .filter(|x| x.category_id == Some(id))
            .map(|x| TemplateView {
                id: x.id,
                version: x.version,
                title: x.title,
                body: x.body,
                active: x.active,
            })
            .collect(),
        errors: t.field_errors_as(errs, &[("kind", "question_kind")]),
    };
    render_form(&page, !errs.is_empty())
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    page(&state, &p, id, &FieldErrors::new(), s.yes()).await
}

#[derive(Deserialize, Default)]
pub struct QuestionForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    label_en: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    required: Option<String>,
    #[serde(default)]
    choices: String,
    #[serde(default)]
    active: Option<String>,
    #[serde(default)]
    sort_order: String,
    #[serde(default)]
    version: i32,
}

impl QuestionForm {
    fn parse(&self) -> Result<QuestionInput, FieldErrors> {
        QuestionInput::parse(
            &self.code,
            &self.label,
            &self.label_en,
            &self.kind,
            self.required.is_some(),
            &self.choices,
        )
    }
}

/// After a write: back to the page, or the page again with the errors.
async fn done(
    state: &AppState,
    p: &Principal,
    category_id: i64,
    r: Result<(), shiliu_db::DbError>,
) -> AppResult<Response> {
    match r {
        Ok(()) => Ok(
            Redirect::to(&format!("/settings/categories/{category_id}?saved=1")).into_response(),
        ),
        Err(shiliu_db::DbError::Invalid(e)) => page(state, p, category_id, &e, false).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn create_question(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<QuestionForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    let input = match f.parse() {
        Ok(i) => i,
        Err(e) => return page(&state, &p, id, &e, false).await,
    };
    let r = state
        .db
        .write(move |c| db::create_question(c, &actor, id, &input).map(|_| ()))
        .await;
    done(&state, &p, id, r).await
}

pub async fn update_question(
    State(state): State<AppState>,
    p: Principal,
    Path((category_id, id)): Path<(i64, i64)>,
    Form(f): Form<QuestionForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    let input = f.parse();
    let sort = f.sort_order.trim().parse::<i32>();
    let input = match (input, sort) {
        (Ok(i), Ok(s)) => (i, s),
        (r, s) => {
            let mut e = r.err().unwrap_or_default();
            if s.is_err() {
                e.push(shiliu_domain::FieldError::new("sort_order", "err.number"));
            }
            return page(&state, &p, category_id, &e, false).await;
        }
    };
    let (version, active) = (f.version, f.active.is_some());
    let r = state
        .db
        .write(move |c| {
            db::update_question(c, &actor, id, version, &input.0, active, input.1).map(|_| ())
        })
        .await;
    done(&state, &p, category_id, r).await
}

#[derive(Deserialize, Default)]
pub struct TemplateForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    active: Option<String>,
    #[serde(default)]
    version: i32,
}

pub async fn create_template(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<TemplateForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    let input = match ReplyTemplateInput::parse(&f.title, &f.body) {
        Ok(i) => i,
        Err(e) => return page(&state, &p, id, &e, false).await,
    };
    let r = state
        .db
        .write(move |c| db::create_reply_template(c, &actor, Some(id), &input).map(|_| ()))
        .await;
    done(&state, &p, id, r).await
}

pub async fn update_template(
    State(state): State<AppState>,
    p: Principal,
    Path((category_id, id)): Path<(i64, i64)>,
    Form(f): Form<TemplateForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRequestSettings>()?;
    let input = match ReplyTemplateInput::parse(&f.title, &f.body) {
        Ok(i) => i,
        Err(e) => return page(&state, &p, category_id, &e, false).await,
    };
    let (version, active) = (f.version, f.active.is_some());
    let r = state
        .db
        .write(move |c| {
            db::update_reply_template(c, &actor, id, version, &input, active).map(|_| ())
        })
        .await;
    done(&state, &p, category_id, r).await
}

/// One question on an intake form.
pub struct QuestionField {
    /// `answer.<category id>.<code>`: forms list every category's questions, so the name says
    /// which category's they are.
    pub name: String,
    pub label: String,
    pub kind: &'static str,
    pub required: bool,
    /// (key, name, chosen)
    pub choices: Vec<(String, String, bool)>,
    pub value: String,
}

/// A category's questions on an intake form: shown for the chosen category by app.js; without
/// JavaScript all are shown under their category's name and only the chosen one's are read.
pub struct QuestionSet {
    pub category_id: String,
    pub category: String,
    pub fields: Vec<QuestionField>,
}

fn field_name(category_id: i64, code: &str) -> String {
    format!("answer.{category_id}.{code}")
}

/// The intake form's question sets, filled with what was submitted.
pub fn question_sets(
    qs: &[QuestionRow],
    categories: &[(String, String)],
    submitted: &[(String, String)],
    t: T,
) -> Vec<QuestionSet> {
    let values = |name: &str| -> Vec<&str> {
        submitted
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    categories
        .iter()
        .filter_map(|(id, name)| {
            let fields: Vec<QuestionField> = qs
                .iter()
                .filter(|q| q.category_id.to_string() == *id)
                .map(|q| {
                    let name = field_name(q.category_id, &q.code);
                    let given = values(&name);
                    field(name, t.pick(&q.label, &q.label_en), &q.rule(), &given)
                })
                .collect();
            (!fields.is_empty()).then(|| QuestionSet {
                category_id: id.clone(),
                category: name.clone(),
                fields,
            })
        })
        .collect()
}

/// One question on a form, filled with the values given for it.
fn field(
    name: String,
    label: &str,
    q: &shiliu_domain::requests::questions::Question,
    given: &[&str],
) -> QuestionField {
    QuestionField {
        label: label.to_string(),
        kind: q.kind.as_str(),
        required: q.required,
        choices: q
            .choices
            .iter()
            .map(|c| {
                let chosen = given.contains(&c.key.as_str());
                (c.key.clone(), c.name.clone(), chosen)
            })
            .collect(),
        value: given.first().map(|s| (*s).to_string()).unwrap_or_default(),
        name,
    }
}

/// A needs survey's questions as one set on its form, named like a category's (the survey's
/// id in place of the category's, so [`submitted_answers`] reads them), filled with `given`
/// (question code → canonical answer).
pub fn survey_set(
    survey_id: i64,
    title: &str,
    questions: &[shiliu_domain::registry::needs::SurveyQuestion],
    given: &std::collections::BTreeMap<String, String>,
) -> QuestionSet {
    QuestionSet {
        category_id: String::new(),
        category: title.to_string(),
        fields: questions
            .iter()
            .map(|q| {
                // A multiple choice is stored as its keys joined by commas; a text may hold one.
                let values: Vec<&str> = given
                    .get(&q.code)
                    .map(|v| {
                        if q.kind == "multi" {
                            v.split(',').collect()
                        } else {
                            vec![v.as_str()]
                        }
                    })
                    .unwrap_or_default();
                field(
                    field_name(survey_id, &q.code),
                    &q.label,
                    &q.question(),
                    &values,
                )
            })
            .collect(),
    }
}

/// The answers submitted for the chosen category, by question code.
pub fn submitted_answers(
    pairs: &[(String, String)],
    category_id: i64,
) -> shiliu_domain::requests::questions::RawAnswers {
    let prefix = format!("answer.{category_id}.");
    let mut out = shiliu_domain::requests::questions::RawAnswers::new();
    for (k, v) in pairs {
        if let Some(code) = k.strip_prefix(&prefix) {
            out.entry(code.to_string()).or_default().push(v.clone());
        }
    }
    out
}

/// Error labels for answers: `answer.<code>` shows as the question's wording.
fn answer_labels(qs: &[QuestionRow], category_id: i64, t: T) -> Vec<(String, String)> {
    qs.iter()
        .filter(|q| q.category_id == category_id)
        .map(|q| {
            (
                shiliu_domain::requests::questions::answer_field(&q.code),
                t.pick(&q.label, &q.label_en).to_string(),
            )
        })
        .collect()
}

/// A form body read twice: into its fixed fields, and as pairs for the questions' answers
/// (whose names depend on the categories).
pub fn form_with_pairs<F: serde::de::DeserializeOwned>(
    form: &crate::web::files::FormData,
) -> AppResult<(F, Vec<(String, String)>)> {
    Ok((form.parse()?, form.pairs.clone()))
}

/// A form's errors with labels, answers named by their questions' wording.
pub fn answer_errors(
    errs: &FieldErrors,
    qs: &[QuestionRow],
    category_id: i64,
    t: T,
) -> Vec<(String, String)> {
    let labels = answer_labels(qs, category_id, t);
    let aliases: Vec<(&str, &str)> = labels
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    t.field_errors_as(errs, &aliases)
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route(
            "/settings/categories/{id}",
            get(show).post(crate::requests::settings::update_category),
        )
        .route("/settings/categories/{id}/questions", post(create_question))
        .route(
            "/settings/categories/{category}/questions/{id}",
            post(update_question),
        )
        .route("/settings/categories/{id}/templates", post(create_template))
        .route(
            "/settings/categories/{category}/templates/{id}",
            post(update_template),
        )
}
