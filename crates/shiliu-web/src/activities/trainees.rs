//! A training's trainee list (培训班学员名单) as pages: the list with phones masked, one trainee
//! added or taken off, a sign-in sheet imported from Excel (a dry run first, row by row), and
//! the list's workbook — phones in full for those who keep it (an audited read), masked for
//! the other readers.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use shiliu_db::activities::trainees::{self, Trainee};
use shiliu_db::activities::{self as db, Activity};
use shiliu_db::scope::{Can, grants};
use shiliu_db::{DbConnection, DbError};
use shiliu_domain::activities::{Form, MOST_TRAINEES, TraineeInput};
use shiliu_domain::{FieldError, FieldErrors};

use crate::org::import::{ImportPage, RowErrors, push_row_errors, read_table, upload};
use crate::web::error::{AppError, AppResult};
use crate::web::files::FormData;
use crate::web::i18n::T;
use crate::web::page::{Layout, Saved, render_form};
use crate::web::xlsx::{self, Cell};
use crate::web::{AppState, Principal};

pub(crate) fn routes() -> crate::Routes {
    crate::Routes::new(file!())
        .route("/activities/{id}/trainees", get(show).post(add))
        .route("/activities/{id}/trainees.xlsx", get(export))
        .route("/activities/{id}/trainees/{trainee}/remove", post(remove))
        .route(
            "/activities/{id}/trainees/import",
            get(import_form).post(import),
        )
        .route(
            "/activities/{id}/trainees/import/template.xlsx",
            get(template),
        )
}

/// A sign-in sheet's columns in template order: (field, required).
const COLUMNS: [(&str, bool); 4] = [
    ("trainee_name", true),
    ("trainee_organisation", false),
    ("trainee_post", false),
    ("trainee_phone", false),
];

/// Other headings a sign-in sheet gives its columns.
fn also(field: &str) -> Vec<String> {
    let names: &[&str] = match field {
        "trainee_name" => &["姓名", "学员姓名", "name"],
        "trainee_organisation" => &["单位", "工作单位", "所在单位", "organisation"],
        "trainee_post" => &["职务", "职务/职称", "post"],
        "trainee_phone" => &["手机", "手机号", "手机号码", "联系电话", "电话", "phone"],
        _ => &[],
    };
    names.iter().map(ToString::to_string).collect()
}

/// The add form as posted.
#[derive(serde::Deserialize, Default)]
pub struct TraineeForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    post: String,
    #[serde(default)]
    phone: String,
}

impl TraineeForm {
    fn parse(&self) -> Result<TraineeInput, FieldErrors> {
        TraineeInput::parse(&self.name, &self.organisation, &self.post, &self.phone)
    }
}

/// One line of the list as the page shows it.
pub struct Row {
    pub id: i64,
    pub name: String,
    pub organisation: String,
    pub post: String,
    pub phone: String,
}

impl Row {
    fn of(t: &Trainee) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            organisation: t.organisation.clone().unwrap_or_default(),
            post: t.post.clone().unwrap_or_default(),
            phone: t.masked_phone().unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "activities/trainees.html")]
struct ListPage {
    l: Layout,
    a: Activity,
    rows: Vec<Row>,
    /// The reader keeps the list (adds, imports, takes off, downloads phones in full).
    keeps: bool,
    d: TraineeForm,
    errors: Vec<(String, String)>,
    most: usize,
}

/// The training as the caller reads it; a record that is not a training has no list.
async fn training(state: &AppState, p: &Principal, id: i64) -> AppResult<Activity> {
    let actor = p.require::<grants::ViewActivities>()?;
    let a = state
        .db
        .read(move |c| db::get(c, actor.scope(), id))
        .await?;
    if a.form() == Form::Training {
        Ok(a)
    } else {
        Err(AppError::NotFound)
    }
}

/// Whether `p` keeps training `a`'s list.
fn keeps(p: &Principal, a: &Activity) -> bool {
    p.require::<grants::LogActivities>()
        .is_ok_and(|can| a.editable_by(&can))
}

async fn page(
    state: &AppState,
    p: &Principal,
    id: i64,
    d: TraineeForm,
    errs: &FieldErrors,
    said: Option<String>,
) -> AppResult<Response> {
    let a = training(state, p, id).await?;
    let t = p.t();
    let a2 = a.clone();
    let list = state.db.read(move |c| trainees::of(c, &a2)).await?;
    let page = ListPage {
        l: Layout::new(
            p,
            "nav.activities",
            &t.f("activities.trainees_of", &[("title", a.title.as_str())]),
        )
        .said(said),
        keeps: keeps(p, &a),
        rows: list.iter().map(Row::of).collect(),
        a,
        d,
        errors: t.field_errors(errs),
        most: MOST_TRAINEES,
    };
    render_form(&page, !errs.is_empty())
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    axum::extract::Query(s): axum::extract::Query<Saved>,
) -> AppResult<Response> {
    let t = p.t();
    let said = s
        .done(&["added", "removed"])
        .map(|d| t.s(&format!("activities.trainees_{d}")).to_string());
    page(
        &state,
        &p,
        id,
        TraineeForm::default(),
        &FieldErrors::new(),
        said,
    )
    .await
}

/// Add one trainee; the form comes back with what was typed when a field is wrong.
pub async fn add(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::LogActivities>()?;
    let d: TraineeForm = form.parse()?;
    let input = match d.parse() {
        Ok(i) => i,
        Err(e) => return page(&state, &p, id, d, &e, None).await,
    };
    let result = state
        .db
        .write(move |c| {
            let a = db::get(c, actor.scope(), id)?;
            trainees::add(c, &actor, &a, &[input])
        })
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/activities/{id}/trainees?done=added")).into_response()),
        Err(DbError::Invalid(e)) => page(&state, &p, id, d, &e, None).await,
        Err(e) => Err(e.into()),
    }
}

/// Take one trainee off the list (added again as easily: no confirmation asked).
pub async fn remove(
    State(state): State<AppState>,
    p: Principal,
    Path((id, trainee)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let actor = p.require::<grants::LogActivities>()?;
    state
        .db
        .write(move |c| {
            let a = db::get(c, actor.scope(), id)?;
            trainees::remove(c, &actor, &a, trainee)
        })
        .await?;
    Ok(Redirect::to(&format!("/activities/{id}/trainees?done=removed")).into_response())
}

/// The list's workbook: phones in full for its keeper (the read audited), masked otherwise.
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let a = training(&state, &p, id).await?;
    let t = p.t();
    let list = if keeps(&p, &a) {
        let actor = p.require::<grants::LogActivities>()?;
        state
            .db
            .write(move |c| trainees::export(c, &actor, &a))
            .await?
            .into_iter()
            .map(|x| (x.phone.clone().unwrap_or_default(), x))
            .collect::<Vec<_>>()
    } else {
        state
            .db
            .read(move |c| trainees::of(c, &a))
            .await?
            .into_iter()
            .map(|x| (x.masked_phone().unwrap_or_default(), x))
            .collect()
    };
    let headers: Vec<String> = COLUMNS.iter().map(|(f, _)| t.field(f)).collect();
    let rows: Vec<Vec<Cell>> = list
        .into_iter()
        .map(|(phone, x)| {
            vec![
                Cell::Text(x.name),
                Cell::Text(x.organisation.unwrap_or_default()),
                Cell::Text(x.post.unwrap_or_default()),
                Cell::Text(phone),
            ]
        })
        .collect();
    let bytes = xlsx::sheet(t.s("activities.trainee_list"), &headers, &rows)?;
    Ok(xlsx::download(&format!("trainees-{id}.xlsx"), bytes))
}

// ---- the sign-in sheet's import ------------------------------------------------------------

/// The training whose list the caller keeps, for the import.
async fn kept(state: &AppState, p: &Principal, id: i64) -> AppResult<Activity> {
    let a = training(state, p, id).await?;
    if keeps(p, &a) {
        Ok(a)
    } else {
        Err(AppError::Forbidden)
    }
}

async fn import_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    message: Option<String>,
    file_error: Option<String>,
    errors: Vec<(String, String, String)>,
) -> AppResult<Response> {
    let a = kept(state, p, id).await?;
    let t = p.t();
    let headings: Vec<String> = COLUMNS
        .iter()
        .map(|(f, req)| format!("{}{}", t.field(f), if *req { "*" } else { "" }))
        .collect();
    ImportPage::new(
        Layout::new(
            p,
            "nav.activities",
            &t.f("activities.trainees_import", &[("title", a.title.as_str())]),
        ),
        format!("/activities/{id}/trainees"),
        t.f(
            "activities.trainees_columns",
            &[
                ("columns", &headings.join("、")),
                ("most", &MOST_TRAINEES.to_string()),
            ],
        ),
    )
    .said(t, message, file_error, errors)
}

pub async fn import_form(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    import_page(&state, &p, id, None, None, vec![]).await
}

pub async fn template(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    kept(&state, &p, id).await?;
    let t = p.t();
    let headers: Vec<String> = COLUMNS.iter().map(|(f, _)| t.field(f)).collect();
    let bytes = xlsx::sheet(t.s("activities.trainee_list"), &headers, &[])?;
    Ok(xlsx::download("trainees-template.xlsx", bytes))
}

/// Add every row in the caller's transaction, each in its own savepoint so that a bad row is
/// reported and the others still checked. Returns (rows added, errors).
fn apply(
    c: &mut DbConnection,
    actor: &Can<grants::LogActivities>,
    id: i64,
    rows: &crate::org::import::Rows,
    t: T,
) -> Result<(usize, RowErrors), DbError> {
    let mut a = db::get(c, actor.scope(), id)?;
    let mut errors = Vec::new();
    let mut added = 0;
    for (row, v) in rows {
        let cell = |i: usize| v.get(i).map_or("", |s| s.trim());
        let result = shiliu_db::savepoint(c, |c| {
            let input = TraineeInput::parse(cell(0), cell(1), cell(2), cell(3))?;
            trainees::add(c, actor, &a, &[input])
        });
        match result {
            Ok(after) => {
                a = after;
                added += 1;
            }
            Err(DbError::Invalid(f)) => push_row_errors(&mut errors, t, *row, f, |x| t.field(x)),
            Err(other) => return Err(other),
        }
    }
    Ok((added, errors))
}

pub async fn import(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    mut mp: Multipart,
) -> AppResult<Response> {
    let actor = p.require::<grants::LogActivities>()?;
    kept(&state, &p, id).await?;
    let t = p.t();
    let (file, mode) = upload(&mut mp).await?;
    let Some(bytes) = file else {
        let e = t.s("err.import.file").to_string();
        return import_page(&state, &p, id, None, Some(e), vec![]).await;
    };
    let read =
        tokio::task::spawn_blocking(move || read_table(&COLUMNS, &also, &bytes, t, MOST_TRAINEES))
            .await;
    let rows = match read {
        Ok(Ok(rows)) => rows,
        Ok(Err(msg)) => return import_page(&state, &p, id, None, Some(msg), vec![]).await,
        Err(e) => return Err(AppError::Internal(e.to_string())),
    };
    // Always rehearse first: the report covers every row, and nothing is written unless all pass.
    let (a2, rows2) = (actor.clone(), rows.clone());
    let (count, errors) = state
        .db
        .rehearse(move |c| apply(c, &a2, id, &rows2, t))
        .await?;
    if !errors.is_empty() {
        return import_page(&state, &p, id, None, None, errors).await;
    }
    if mode != "commit" {
        let ok = t.f("import.ok", &[("rows", &count.to_string())]);
        return import_page(&state, &p, id, Some(ok), None, vec![]).await;
    }
    let done = state
        .db
        .write(move |c| {
            let (count, errors) = apply(c, &actor, id, &rows, t)?;
            if errors.is_empty() {
                Ok(count)
            } else {
                // Something changed since the rehearsal: write nothing.
                Err(DbError::Invalid(
                    FieldError::new("file", "err.stale").into(),
                ))
            }
        })
        .await?;
    let said = t.f("import.done", &[("rows", &done.to_string())]);
    import_page(&state, &p, id, Some(said), None, vec![]).await
}
