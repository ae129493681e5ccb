//! Importing an existing register from Excel or CSV: a template, a dry run that reports every
//! problem by row and column and every household already registered, then either nothing
//! (any error and the user asked for all or nothing) or the valid households, written in the
//! background while the page shows how far it has got. The same file twice changes nothing.
//! The rules are `shiliu_domain::registry::import`'s and `shiliu_db::registry::import`'s.

use shiliu_db::scope::grants;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use shiliu_db::registry::import::{self as db, Checked};
use shiliu_domain::registry::import::{COLUMNS, ImportRow, RowError, RowHousehold, households};
use shiliu_domain::registry::{Employment, PersonTag, Relation};

use crate::org::import::{Codes, Rows, read_table};
use crate::web::error::{AppError, AppResult};
use crate::web::i18n::{Lang, T};
use crate::web::page::{Layout, render};
use crate::web::{AppState, Principal};

/// The most rows one uploaded file may hold (`shiliu import-registry` takes any number).
pub const MAX_ROWS: usize = 100_000;

/// Problems shown on the page at most (the count says how many there are).
const SHOWN: usize = 500;

/// An import running in the background: how far it has got, and how it ended.
pub struct ImportJob {
    owner: i64,
    total: usize,
    done: AtomicUsize,
    ended: Mutex<Option<Result<db::Imported, String>>>,
    /// When it ended: its page is kept for [`KEEP_ENDED`] after.
    ended_at: std::sync::OnceLock<std::time::Instant>,
}

/// How long an ended import's page stays: long enough to come back to, and the jobs of a
/// server that runs for months do not pile up.
const KEEP_ENDED: std::time::Duration = std::time::Duration::from_hours(24);

/// The imports of this node, by id (a page polls its own).
pub type Jobs = Arc<Mutex<HashMap<i64, Arc<ImportJob>>>>;

/// Labels in either language become codes; a list of tags is split and each one mapped.
fn normalise(rows: Rows) -> Vec<ImportRow> {
    let col = |f: &str| COLUMNS.iter().position(|(c, _)| *c == f).expect("a column");
    let codes = |prefix: &str, all: Vec<&'static str>| Codes::new(prefix, &all);
    let relations = codes(
        "relation",
        Relation::ALL.iter().map(|r| r.as_str()).collect(),
    );
    let sexes = codes("sex", vec!["male", "female"]);
    let employments = codes(
        "employment",
        Employment::ALL.iter().map(|r| r.as_str()).collect(),
    );
    let tags = codes(
        "person_tag",
        PersonTag::ALL.iter().map(|r| r.as_str()).collect(),
    );
    let (rel, sex, emp, tag) = (col("relation"), col("sex"), col("employment"), col("tags"));
    rows.into_iter()
        .map(|(row, mut values)| {
            values[rel] = relations.of(&values[rel]);
            values[sex] = sexes.of(&values[sex]);
            values[emp] = employments.of(&values[emp]);
            if !values[tag].is_empty() {
                values[tag] = values[tag]
                    .split([',', '，', '、', ';', '；'])
                    .map(|x| tags.of(x))
                    .filter(|x| !x.is_empty())
                    .collect::<Vec<_>>()
                    .join(",");
            }
            ImportRow { row, values }
        })
        .collect()
}

/// A file read and grouped (no database): how many rows, the households that pass the rules,
/// and every problem; an error message when the file cannot be read at all.
pub fn parse_file(
    bytes: &[u8],
    t: T,
    max_rows: usize,
) -> Result<(usize, Vec<RowHousehold>, Vec<RowError>), String> {
    read_table(&COLUMNS, &also, bytes, t, max_rows).map(|rows| {
        let n = rows.len();
        let (found, errors) = households(&normalise(rows), shiliu_db::today());
        (n, found, errors)
    })
}

/// The hash a file is remembered by (the same file twice changes nothing).
pub fn file_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A file read and checked: its hash, how many rows, and what the register says about them.
pub struct Report {
    pub sha256: String,
    pub rows: usize,
    pub checked: Checked,
    pub imported_before: Option<db::Imported>,
}

/// Read, group and check a file (the work the page and the command line share).
pub async fn check_file(
    state: &AppState,
    actor: shiliu_db::scope::Actor,
    bytes: Vec<u8>,
    t: T,
    max_rows: usize,
) -> AppResult<Result<Report, String>> {
    let sha256 = file_hash(&bytes);
    let parsed = tokio::task::spawn_blocking(move || parse_file(&bytes, t, max_rows))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let (rows, found, mut errors) = match parsed {
        Ok(x) => x,
        Err(msg) => return Ok(Err(msg)),
    };
    let vault = state.config.vault.clone();
    let sha = sha256.clone();
    let (checked, imported_before) = state
        .db
        .write(move |c| Ok((db::check(c, &actor, &vault, found)?, db::imported(c, &sha)?)))
        .await?;
    errors.extend(checked.errors.iter().cloned());
    errors.sort_by_key(|e| e.row);
    Ok(Ok(Report {
        sha256,
        rows,
        checked: Checked { errors, ..checked },
        imported_before,
    }))
}

#[derive(Template)]
#[template(path = "registry/registry_import.html")]
struct ImportPage {
    l: Layout,
    columns: String,
    summary: Option<String>,
    /// Something to say that is not an error (the file was imported before…).
    note: Option<String>,
    file_error: Option<String>,
    errors_line: String,
    errors: Vec<(String, String, String)>,
    duplicates: Vec<(String, Option<i64>)>,
}

/// The column a row's error names, as the file's heading says it.
fn column(e: &RowError, t: T) -> String {
    let field = e.error.field.as_str();
    t.field(if field == "region_id" {
        "region_code"
    } else {
        field
    })
}

fn error_rows(errors: &[RowError], t: T) -> Vec<(String, String, String)> {
    errors
        .iter()
        .take(SHOWN)
        .map(|e| {
            (
                t.f("import.row", &[("row", &e.row.to_string())]),
                column(e, t),
                t.field_error(&e.error),
            )
        })
        .collect()
}

/// Every problem of a file and every household already registered, by row, as a workbook:
/// the page shows the first few hundred; a register of tens of thousands of rows is corrected
/// from this list.
fn error_report(r: &Report, t: T) -> AppResult<Response> {
    use crate::web::xlsx::Cell;
    let number = |row: usize| Cell::Int(i64::try_from(row).unwrap_or(i64::MAX));
    let mut rows: Vec<(usize, Vec<Cell>)> = r
        .checked
        .errors
        .iter()
        .map(|e| {
            (
                e.row,
                vec![
                    number(e.row),
                    Cell::from(column(e, t)),
                    Cell::from(t.field_error(&e.error)),
                ],
            )
        })
        .collect();
    rows.extend(r.checked.duplicates.iter().map(|d| {
        let says = d.person_id.map_or_else(
            || t.s("registry_import.registered_elsewhere").to_string(),
            |id| t.f("registry_import.registered_id", &[("id", &id.to_string())]),
        );
        (d.row, vec![number(d.row), Cell::Empty, Cell::from(says)])
    }));
    rows.sort_by_key(|(row, _)| *row);
    let headers = [
        t.s("import.row_col").to_string(),
        t.s("registry_import.report_column").to_string(),
        t.s("registry_import.report_reason").to_string(),
    ];
    let rows: Vec<Vec<Cell>> = rows.into_iter().map(|(_, r)| r).collect();
    let name = t.s("registry_import.error_report");
    let bytes = crate::web::xlsx::sheet(name, &headers, &rows)?;
    Ok(crate::web::xlsx::download(&format!("{name}.xlsx"), bytes))
}

fn page(
    p: &Principal,
    report: Option<&Report>,
    note: Option<String>,
    file_error: Option<String>,
) -> AppResult<Response> {
    let t = p.t();
    let cols: Vec<String> = COLUMNS
        .iter()
        .map(|(f, req)| format!("{}{}", heading(t, f), if *req { "*" } else { "" }))
        .collect();
    let (summary, errors, errors_line, duplicates) = match report {
        Some(r) => (
            Some(t.f(
                "registry_import.summary",
                &[
                    ("rows", &r.rows.to_string()),
                    ("households", &r.checked.ready.len().to_string()),
                    ("people", &r.checked.people().to_string()),
                    ("duplicates", &r.checked.duplicates.len().to_string()),
                ],
            )),
            error_rows(&r.checked.errors, t),
            t.f(
                "registry_import.errors",
                &[
                    ("count", &r.checked.errors.len().to_string()),
                    ("shown", &SHOWN.min(r.checked.errors.len()).to_string()),
                ],
            ),
            r.checked
                .duplicates
                .iter()
                .take(SHOWN)
                .map(|d| {
                    (
                        t.f("import.row", &[("row", &d.row.to_string())]),
                        d.person_id,
                    )
                })
                .collect(),
        ),
        None => (None, Vec::new(), String::new(), Vec::new()),
    };
    let failed = file_error.is_some() || !errors.is_empty();
    let mut r = render(&ImportPage {
        l: Layout::new(p, "nav.registry", t.s("registry_import.title")),
        columns: t.f("registry_import.columns", &[("columns", &cols.join("、"))]),
        summary,
        note,
        file_error,
        errors_line,
        errors,
        duplicates,
    })?;
    if failed {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn form(p: Principal) -> AppResult<Response> {
    p.require::<grants::ImportRegistry>()?;
    page(&p, None, None, None)
}

/// A column's heading in the register's own words (姓名, not the generic 名称), where the
/// catalogue has one.
fn heading(t: T, field: &str) -> String {
    let key = format!("registry_import.col.{field}");
    match t.s(&key) {
        k if k == key => t.field(field),
        own => own.to_string(),
    }
}

/// The headings a file may use for a column besides the generic labels: the register's own,
/// in either language.
fn also(field: &str) -> Vec<String> {
    [Lang::ZhCn, Lang::En]
        .into_iter()
        .map(|l| heading(T::new(l), field))
        .collect()
}

fn headers(t: T) -> Vec<String> {
    COLUMNS.iter().map(|(f, _)| heading(t, f)).collect()
}

pub async fn template_xlsx(p: Principal) -> AppResult<Response> {
    p.require::<grants::ImportRegistry>()?;
    let t = p.t();
    let bytes = crate::web::xlsx::sheet(t.s("registry_import.title"), &headers(t), &[])?;
    Ok(crate::web::xlsx::download(
        &format!("{}.xlsx", t.s("registry_import.title")),
        bytes,
    ))
}

/// The template as CSV, UTF-8 with a byte-order mark so Excel opens it right.
pub async fn template_csv(p: Principal) -> AppResult<Response> {
    p.require::<grants::ImportRegistry>()?;
    let t = p.t();
    let body = format!("\u{feff}{}\r\n", headers(t).join(","));
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename*=UTF-8''{}.csv",
                    crate::web::urlencode(t.s("registry_import.title"))
                ),
            ),
        ],
        body,
    )
        .into_response())
}

pub async fn submit(
    State(state): State<AppState>,
    p: Principal,
    mut mp: Multipart,
) -> AppResult<Response> {
    let actor = p.require::<grants::ImportRegistry>()?;
    let t = p.t();
    let (file, mode) = crate::org::import::upload(&mut mp).await?;
    let Some(bytes) = file else {
        return page(&p, None, None, Some(t.s("err.import.file").to_string()));
    };
    let report = match check_file(
        &state,
        actor.clone().into_actor(),
        bytes.to_vec(),
        t,
        MAX_ROWS,
    )
    .await?
    {
        Ok(r) => r,
        Err(msg) => return page(&p, None, None, Some(msg)),
    };
    if mode == "error_report" {
        return error_report(&report, t);
    }
    if let Some(before) = &report.imported_before {
        let note = t.f(
            "registry_import.already",
            &[
                ("at", &crate::web::page::show_minute(before.imported_at)),
                ("people", &before.people.to_string()),
            ],
        );
        return page(&p, Some(&report), Some(note), None);
    }
    let write = match mode.as_str() {
        "commit" => report.checked.errors.is_empty(),
        "valid_only" => true,
        _ => false,
    };
    if !write || report.checked.ready.is_empty() {
        let note = (mode == "commit" && !report.checked.errors.is_empty())
            .then(|| t.s("registry_import.nothing_written").to_string());
        return page(&p, Some(&report), note, None);
    }
    let job = Arc::new(ImportJob {
        owner: p.user().id,
        total: report.checked.people(),
        done: AtomicUsize::new(0),
        ended: Mutex::new(None),
        ended_at: std::sync::OnceLock::new(),
    });
    let id = shiliu_db::ids::new_id();
    {
        let mut jobs = state.imports.lock().expect("imports");
        jobs.retain(|_, j| j.ended_at.get().is_none_or(|t| t.elapsed() < KEEP_ENDED));
        jobs.insert(id, job.clone());
    }
    let (db, vault) = (state.db.clone(), state.config.vault.clone());
    tokio::spawn(async move {
        let progress = job.clone();
        let ended = db
            .write(move |c| {
                db::commit(c, &actor, &vault, &report.checked, &report.sha256, &|n| {
                    progress.done.store(n, Ordering::Relaxed);
                })
            })
            .await
            .map_err(|e| match e {
                shiliu_db::DbError::Invalid(f) => {
                    f.0.first().map(|x| t.field_error(x)).unwrap_or_default()
                }
                // Someone registered one of these people between the check and the write:
                // the unique index refused the second record, and nothing was written.
                shiliu_db::DbError::Stale => t.s("err.import.changed").to_string(),
                other => {
                    tracing::error!(error = %other, "registry import failed");
                    t.s("err.internal").to_string()
                }
            });
        *job.ended.lock().expect("job") = Some(ended);
        let _ = job.ended_at.set(std::time::Instant::now());
    });
    Ok(Redirect::to(&format!("/registry/import/jobs/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "registry/registry_import_job.html")]
struct JobPage {
    l: Layout,
    running: bool,
    done: usize,
    total: usize,
    percent: usize,
    outcome: Option<String>,
    failed: bool,
}

/// How far an import has got; the page reloads itself every second until it ends.
pub async fn job(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    p.require::<grants::ImportRegistry>()?;
    let t = p.t();
    let job = state
        .imports
        .lock()
        .expect("imports")
        .get(&id)
        .filter(|j| j.owner == p.user().id)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let done = job.done.load(Ordering::Relaxed);
    let ended = job.ended.lock().expect("job").clone();
    let (outcome, failed) = match &ended {
        Some(Ok(r)) => (
            Some(t.f(
                "registry_import.done",
                &[
                    ("people", &r.people.to_string()),
                    ("households", &r.households.to_string()),
                    ("skipped", &r.skipped.to_string()),
                ],
            )),
            false,
        ),
        Some(Err(msg)) => (
            Some(format!("{}{msg}", t.s("registry_import.failed"))),
            true,
        ),
        None => (None, false),
    };
    render(&JobPage {
        l: Layout::new(&p, "nav.registry", t.s("registry_import.title")),
        running: ended.is_none(),
        percent: (done * 100).checked_div(job.total).unwrap_or(100),
        done,
        total: job.total,
        outcome,
        failed,
    })
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!())
        .route("/registry/import", get(form).post(submit))
        .route("/registry/import/template.xlsx", get(template_xlsx))
        .route("/registry/import/template.csv", get(template_csv))
        .route("/registry/import/jobs/{id}", get(job))
}
