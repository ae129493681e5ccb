//! Activities and trainings from Excel (or CSV): a template whose columns are the form's —
//! the materials each a column of its own, named as the list names them — a dry run that
//! checks every row and writes nothing, a row-by-row report (row, column, reason), and an
//! all-or-nothing import. Kinds, venues, audiences and organisers are given by name, a place by
//! its region code, each checked as the form checks a pick.

use std::collections::HashMap;

use axum::extract::{Multipart, State};
use axum::response::Response;
use axum::routing::get;
use shiliu_db::activities::{self as db, Term};
use shiliu_db::audit::{self, Event};
use shiliu_db::scope::{Can, grants};
use shiliu_db::{DbConnection, DbError};
use shiliu_domain::activities::{ActivityFields, ActivityInput, Form, TermList, Venue};

use crate::org::import::{Codes, ImportPage, RowErrors, push_row_errors, read_table, upload};
use crate::web::error::{AppError, AppResult};
use crate::web::i18n::T;
use crate::web::page::Layout;
use crate::web::{AppState, Principal};

pub(crate) fn routes() -> crate::Routes {
    crate::Routes::new(file!())
        .route("/activities/import", get(form).post(submit))
        .route("/activities/import/template.xlsx", get(template))
}

/// The most rows one file may hold: a county's years of records.
const MAX_ROWS: usize = 20_000;

/// The fixed columns in template order: (field, required). The materials follow, one column
/// each.
const COLUMNS: [(&str, bool); 14] = [
    ("held_on", true),
    ("title", true),
    ("activity_form", false),
    ("activity_kind", false),
    ("venue", false),
    ("organiser_unit", true),
    ("region_code", true),
    ("starts_at", false),
    ("ends_on", false),
    ("participants", true),
    ("audience", false),
    ("hours", false),
    ("co_organisers", false),
    ("summary", false),
];

/// The lists a sheet's names are read against, made once per file.
struct Lists {
    materials: Vec<Term>,
    kinds: HashMap<String, i64>,
    audiences: HashMap<String, i64>,
    /// Organisers by name: none when two units of the caller's share it.
    units: HashMap<String, Option<i64>>,
}

impl Lists {
    fn load(c: &mut DbConnection, actor: &Can<grants::ManageActivities>) -> Result<Self, DbError> {
        let by_name = |terms: Vec<Term>| -> HashMap<String, i64> {
            terms.into_iter().map(|t| (t.name, t.id)).collect()
        };
        let mut units: HashMap<String, Option<i64>> = HashMap::new();
        for (_, id, name) in db::organiser_choices(c, actor.scope())? {
            units
                .entry(name)
                .and_modify(|seen| *seen = None)
                .or_insert(Some(id));
        }
        Ok(Self {
            materials: db::terms(c, TermList::Material, false)?,
            kinds: by_name(db::terms(c, TermList::Kind, false)?),
            audiences: by_name(db::terms(c, TermList::Audience, false)?),
            units,
        })
    }

    /// The column of each material: its field and the headings it may go by.
    fn material_columns(&self) -> Vec<(String, Vec<String>)> {
        self.materials
            .iter()
            .map(|m| {
                let word = m.unit_word.clone().unwrap_or_default();
                (
                    format!("material_{}", m.id),
                    vec![
                        m.name.clone(),
                        format!("{}（{word}）", m.name),
                        format!("{}({word})", m.name),
                    ],
                )
            })
            .collect()
    }
}

fn headings(t: T, materials: &[Term]) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|(f, req)| format!("{}{}", t.field(f), if *req { "*" } else { "" }))
        .chain(
            materials
                .iter()
                .map(|m| format!("{}（{}）", m.name, m.unit_word.clone().unwrap_or_default())),
        )
        .collect()
}

async fn page(
    state: &AppState,
    p: &Principal,
    message: Option<String>,
    file_error: Option<String>,
    errors: Vec<(String, String, String)>,
) -> AppResult<Response> {
    p.require::<grants::ManageActivities>()?;
    let t = p.t();
    let materials = state
        .db
        .read(|c| db::terms(c, TermList::Material, false))
        .await?;
    ImportPage::new(
        Layout::new(p, "nav.activities", t.s("activities.import")),
        "/activities".into(),
        t.f(
            "activities.import_columns",
            &[("columns", &headings(t, &materials).join("、"))],
        ),
    )
    .said(t, message, file_error, errors)
}

pub async fn form(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    page(&state, &p, None, None, vec![]).await
}

pub async fn template(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    p.require::<grants::ManageActivities>()?;
    let t = p.t();
    let materials = state
        .db
        .read(|c| db::terms(c, TermList::Material, false))
        .await?;
    let headers: Vec<String> = headings(t, &materials)
        .into_iter()
        .map(|h| h.trim_end_matches('*').to_string())
        .collect();
    let bytes = crate::web::xlsx::sheet(t.s("activities.import"), &headers, &[])?;
    Ok(crate::web::xlsx::download(
        "activities-template.xlsx",
        bytes,
    ))
}

/// Record every row in the caller's transaction; rows that break a rule are reported, each in
/// its own savepoint so the others are still checked. Returns (rows recorded, errors).
fn apply(
    c: &mut DbConnection,
    actor: &Can<grants::ManageActivities>,
    rows: &crate::org::import::Rows,
    t: T,
) -> Result<(usize, RowErrors), DbError> {
    let lists = Lists::load(c, actor)?;
    let logger = Can::<grants::LogActivities>::check(actor)?;
    let venues: Vec<&str> = Venue::ALL.iter().map(|v| v.as_str()).collect();
    let (venues, short) = (
        Codes::new("venue", &venues),
        Codes::new("venue_short", &venues),
    );
    let forms: Vec<&str> = Form::ALL.iter().map(|f| f.as_str()).collect();
    let forms = Codes::new("activity_form", &forms);
    let today = shiliu_db::today();
    let material_fields = lists.material_columns();
    let label = |field: &str| -> String {
        if let Some(m) = lists
            .materials
            .iter()
            .find(|m| format!("material_{}", m.id) == field)
        {
            return m.name.clone();
        }
        let f = match field {
            "form" => "activity_form",
            "region" => "region_code",
            other => other,
        };
        t.field(f)
    };
    let mut errors = Vec::new();
    let mut applied = 0;
    for (row, v) in rows {
        let cell = |i: usize| v.get(i).map_or("", |s| s.trim());
        let named = |map: &HashMap<String, i64>, value: &str| -> String {
            map.get(value)
                .map_or_else(|| value.to_string(), ToString::to_string)
        };
        let unit = match lists.units.get(cell(5)) {
            Some(Some(id)) => id.to_string(),
            // Shared by two units: the parse takes the name and says it is not one to pick.
            _ => cell(5).to_string(),
        };
        let venue = {
            let v = venues.of(cell(4));
            if Venue::parse(&v).is_some() {
                v
            } else {
                short.of(cell(4))
            }
        };
        let form = forms.of(cell(2));
        let kind = named(&lists.kinds, cell(3));
        let audience = named(&lists.audiences, cell(10));
        let materials: Vec<(String, String)> = material_fields
            .iter()
            .enumerate()
            .map(|(i, (field, _))| {
                let id = field.trim_start_matches("material_").to_string();
                (id, cell(COLUMNS.len() + i).to_string())
            })
            .collect();
        let result: Result<(), DbError> = shiliu_db::savepoint(c, |c| {
            let input = ActivityInput::parse(
                &ActivityFields {
                    form: if form.is_empty() { "activity" } else { &form },
                    title: cell(1),
                    kind: &kind,
                    venue: &venue,
                    organiser_unit: &unit,
                    co_organisers: cell(12),
                    region: cell(6),
                    site: "",
                    held_on: cell(0),
                    starts_at: cell(7),
                    ends_on: cell(8),
                    participants: cell(9),
                    materials: materials
                        .iter()
                        .map(|(a, b)| (a.as_str(), b.as_str()))
                        .collect(),
                    summary: cell(13),
                    audience: &audience,
                    hours: cell(11),
                },
                today,
            )?;
            db::record(c, &logger, &input, &[])?;
            Ok(())
        });
        match result {
            Ok(()) => applied += 1,
            Err(DbError::Invalid(f)) => push_row_errors(&mut errors, t, *row, f, label),
            Err(other) => return Err(other),
        }
    }
    Ok((applied, errors))
}

pub async fn submit(
    State(state): State<AppState>,
    p: Principal,
    mut mp: Multipart,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageActivities>()?;
    let t = p.t();
    let (file, mode) = upload(&mut mp).await?;
    let Some(bytes) = file else {
        return page(
            &state,
            &p,
            None,
            Some(t.s("err.import.file").to_string()),
            vec![],
        )
        .await;
    };
    let a0 = actor.clone();
    let materials = state
        .db
        .read(move |c| Lists::load(c, &a0).map(|l| l.material_columns()))
        .await?;
    let read = tokio::task::spawn_blocking(move || {
        let mut columns: Vec<(&str, bool)> = COLUMNS.to_vec();
        columns.extend(materials.iter().map(|(f, _)| (f.as_str(), false)));
        let also = |field: &str| -> Vec<String> {
            materials
                .iter()
                .find(|(f, _)| f == field)
                .map(|(_, names)| names.clone())
                .unwrap_or_default()
        };
        read_table(&columns, &also, &bytes, t, MAX_ROWS)
    })
    .await;
    let rows = match read {
        Ok(Ok(rows)) => rows,
        Ok(Err(msg)) => return page(&state, &p, None, Some(msg), vec![]).await,
        Err(e) => return Err(AppError::Internal(e.to_string())),
    };
    // Always rehearse first: the report covers every row, and nothing is written unless all pass.
    let (a2, rows2) = (actor.clone(), rows.clone());
    let (count, errors) = state.db.rehearse(move |c| apply(c, &a2, &rows2, t)).await?;
    if !errors.is_empty() {
        return page(&state, &p, None, None, errors).await;
    }
    if mode != "commit" {
        let ok = t.f("import.ok", &[("rows", &count.to_string())]);
        return page(&state, &p, Some(ok), None, vec![]).await;
    }
    let n = rows.len();
    let done = state
        .db
        .write(move |c| {
            let (count, errors) = apply(c, &actor, &rows, t)?;
            if !errors.is_empty() {
                // Something changed since the rehearsal: write nothing.
                return Err(DbError::Invalid(
                    shiliu_domain::FieldError::new("file", "err.stale").into(),
                ));
            }
            let ev = Event {
                action: "activity.import",
                entity: "import",
                detail: serde_json::json!({"rows": n}),
                ..Event::default()
            };
            audit::record(c, &actor, ev)?;
            Ok(count)
        })
        .await?;
    let said = t.f("import.done", &[("rows", &done.to_string())]);
    page(&state, &p, Some(said), None, vec![]).await
}
