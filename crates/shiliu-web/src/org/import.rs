//! Excel import of sites, units, and communities and grids: a template to download, a dry run
//! that runs every rule and rolls back, a row-by-row error report (row, column, reason), and an
//! all-or-nothing commit.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::Response;
use shiliu_db::audit::{self, Event};
use shiliu_db::org as db;
use shiliu_db::scope::Actor;
use shiliu_db::{DbConnection, DbError};
use shiliu_domain::org::{RegionInput, SiteInput, SiteType, UnitCategory, UnitInput};
use shiliu_domain::roles::Permission;

use crate::web::error::{AppError, AppResult};
use crate::web::i18n::{Lang, T};
use crate::web::page::{Layout, render};
use crate::web::{AppState, Principal};

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ImportKind {
    Sites,
    Units,
    Regions,
}

impl ImportKind {
    fn base(self) -> &'static str {
        match self {
            ImportKind::Sites => "/sites",
            ImportKind::Units => "/units",
            ImportKind::Regions => "/regions",
        }
    }

    fn permission(self) -> Permission {
        match self {
            ImportKind::Sites => Permission::ManageSites,
            ImportKind::Units => Permission::ManageUnits,
            ImportKind::Regions => Permission::ManageRegions,
        }
    }

    /// Columns in template order: (field name, required).
    fn columns(self) -> &'static [(&'static str, bool)] {
        match self {
            ImportKind::Sites => &[
                ("name", true),
                ("site_type", true),
                ("region_code", true),
                ("address", false),
                ("contact_name", false),
                ("contact_phone", false),
                ("opening_hours", false),
            ],
            ImportKind::Units => &[
                ("name", true),
                ("category", true),
                ("region_code", true),
                ("contact_name", false),
                ("contact_phone", false),
            ],
            ImportKind::Regions => &[("parent_code", true), ("name", true), ("code", false)],
        }
    }

    fn title(self, t: T) -> String {
        match self {
            ImportKind::Regions => t.s("import.regions_title").to_string(),
            ImportKind::Sites => format!("{} · {}", t.s("sites.title"), t.s("import.title")),
            ImportKind::Units => format!("{} · {}", t.s("units.title"), t.s("import.title")),
        }
    }

    fn nav(self) -> &'static str {
        match self {
            ImportKind::Sites => "nav.sites",
            ImportKind::Units => "nav.units",
            ImportKind::Regions => "nav.regions",
        }
    }

    fn action(self) -> &'static str {
        match self {
            ImportKind::Sites => "site.import",
            ImportKind::Units => "unit.import",
            ImportKind::Regions => "region.import",
        }
    }
}

/// The page of any sheet's import (`org/import.html`): its template, the columns it takes, what
/// the last try said, and the rows it refused.
#[derive(Template)]
#[template(path = "org/import.html")]
pub(crate) struct ImportPage {
    pub l: Layout,
    /// Where the import lives: the form posts to `{base}/import`.
    pub base: String,
    pub columns: String,
    pub message: Option<String>,
    pub file_error: Option<String>,
    pub errors_line: String,
    pub errors: RowErrors,
}

impl ImportPage {
    pub(crate) fn new(l: Layout, base: String, columns: String) -> Self {
        Self {
            l,
            base,
            columns,
            message: None,
            file_error: None,
            errors_line: String::new(),
            errors: Vec::new(),
        }
    }

    /// The page with what the try said: a message, a refused file, or the refused rows
    /// (answered 422).
    pub(crate) fn said(
        mut self,
        t: T,
        message: Option<String>,
        file_error: Option<String>,
        errors: RowErrors,
    ) -> AppResult<Response> {
        self.errors_line = t.f("import.errors", &[("count", &errors.len().to_string())]);
        self.message = message;
        self.file_error = file_error;
        self.errors = errors;
        let mut r = render(&self)?;
        if self.file_error.is_some() || !self.errors.is_empty() {
            *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        }
        Ok(r)
    }
}

/// Report row `row`'s refused fields, each under its column's label.
pub(crate) fn push_row_errors(
    errors: &mut RowErrors,
    t: T,
    row: usize,
    refused: shiliu_domain::FieldErrors,
    label: impl Fn(&str) -> String,
) {
    for e in refused.0 {
        errors.push((
            t.f("import.row", &[("row", &row.to_string())]),
            label(&e.field),
            t.field_error(&e),
        ));
    }
}

fn page(
    p: &Principal,
    kind: ImportKind,
    message: Option<String>,
    file_error: Option<String>,
    errors: Vec<(String, String, String)>,
) -> AppResult<Response> {
    let t = p.t();
    let cols: Vec<String> = kind
        .columns()
        .iter()
        .map(|(f, req)| format!("{}{}", t.field(f), if *req { "*" } else { "" }))
        .collect();
    ImportPage::new(
        Layout::new(p, kind.nav(), &kind.title(t)),
        kind.base().to_string(),
        t.f("import.columns", &[("columns", &cols.join("、"))]),
    )
    .said(t, message, file_error, errors)
}

pub fn form(p: &Principal, kind: ImportKind) -> AppResult<Response> {
    p.require_permission(kind.permission())?;
    page(p, kind, None, None, vec![])
}

pub fn template(p: &Principal, kind: ImportKind) -> AppResult<Response> {
    p.require_permission(kind.permission())?;
    let t = p.t();
    let headers: Vec<String> = kind.columns().iter().map(|(f, _)| t.field(f)).collect();
    let bytes = crate::web::xlsx::sheet(t.s("import.title"), &headers, &[])?;
    Ok(crate::web::xlsx::download(
        &format!("{}.xlsx", kind.title(t)),
        bytes,
    ))
}

/// The cell as text: numbers without a trailing `.0` (phone numbers typed as numbers).
fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => excel_day(d.as_f64()),
        Data::Error(_) | Data::Empty => String::new(),
    }
}

/// An Excel date cell (days since 1899-12-30 in the 1900 date system) as `YYYY-MM-DD`, with
/// the time when it has one.
fn excel_day(serial: f64) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("a date");
    let days = serial.floor();
    // Within any date a register holds; anything else is left as the number it is.
    if !(1.0..=2_958_465.0).contains(&days) {
        return serial.to_string();
    }
    let day = epoch + chrono::Duration::days(days as i64);
    let seconds = ((serial - days) * 86_400.0).round() as u32;
    if seconds == 0 {
        day.format("%Y-%m-%d").to_string()
    } else {
        let t = chrono::NaiveTime::from_num_seconds_from_midnight_opt(seconds.min(86_399), 0)
            .unwrap_or_default();
        format!("{} {}", day.format("%Y-%m-%d"), t.format("%H:%M"))
    }
}

/// Rows of the first sheet as (sheet row number, values in template column order).
pub(crate) type Rows = Vec<(usize, Vec<String>)>;

/// Problems found: (row label, column label, reason), in the user's language.
pub(crate) type RowErrors = Vec<(String, String, String)>;

fn read_rows(kind: ImportKind, bytes: &[u8], t: T) -> Result<Rows, String> {
    read_table(kind.columns(), &|_| Vec::new(), bytes, t, MAX_ROWS)
}

/// The cells of a file's first sheet, row by row: an Excel workbook, or CSV (UTF-8, with or
/// without a byte-order mark, or GB 18030 as Excel on a Chinese Windows saves it).
fn cells(bytes: &[u8], t: T, max_rows: usize) -> Result<Vec<Vec<String>>, String> {
    let bad = || t.s("err.import.file").to_string();
    if bytes.starts_with(b"PK\x03\x04") {
        return xlsx_cells(bytes, t, max_rows);
    }
    let text = if let Ok(s) = std::str::from_utf8(bytes) {
        s.trim_start_matches('\u{feff}').to_string()
    } else {
        let (s, _, had_errors) = encoding_rs::GB18030.decode(bytes);
        if had_errors {
            return Err(bad());
        }
        s.into_owned()
    };
    if text.contains('\0') {
        return Err(bad());
    }
    Ok(csv_rows(&text))
}

/// Columns past these are never read: every table imported has a few dozen.
const MAX_COLUMNS: usize = 256;

/// The most a workbook's part (one file in its zip) may inflate to, and all its parts together:
/// a register of [`crate::registry::import::MAX_ROWS`] rows is well under both.
const MAX_PART_BYTES: u64 = 128 << 20;
const MAX_WORKBOOK_BYTES: u64 = 192 << 20;
/// How much a part may inflate per byte stored, once it is past [`RATIO_FROM`]: a sheet's XML
/// compresses 5–30 times; a zip bomb a thousand.
const MAX_RATIO: u64 = 100;
const RATIO_FROM: u64 = 1 << 20;

/// Whether an uploaded workbook stays within the bounds above, found before anything is read
/// from it: calamine keeps a workbook's shared strings in memory whole, so a 1.3 MB file whose
/// strings inflate to 600 MB would cost the server 600 MB. A part's declared size may lie, so
/// each part is inflated into nothing, counting, and stops one byte past its bound.
fn workbook_within_bounds(bytes: &[u8], t: T) -> Result<(), String> {
    use std::io::Read as _;
    let bad = || t.s("err.import.file").to_string();
    let too_large = || {
        t.f(
            "err.import.inflated",
            &[
                ("max", &(MAX_WORKBOOK_BYTES >> 20).to_string()),
                ("ratio", &MAX_RATIO.to_string()),
            ],
        )
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| bad())?;
    let mut total = 0_u64;
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(|_| bad())?;
        let bound = MAX_PART_BYTES
            .min(MAX_WORKBOOK_BYTES - total)
            .min(RATIO_FROM.max(part.compressed_size().saturating_mul(MAX_RATIO)));
        if part.size() > bound {
            return Err(too_large());
        }
        let inflated =
            std::io::copy(&mut part.take(bound + 1), &mut std::io::sink()).map_err(|_| bad())?;
        if inflated > bound {
            return Err(too_large());
        }
        total += inflated;
    }
    Ok(())
}

/// The first sheet's cells by the sheet's row numbers, read as a stream: only the cells
/// present cost anything (a sheet claiming a cell at XFD1048576 is not laid out whole), columns
/// past [`MAX_COLUMNS`] are skipped, and a sheet with rows far past `max_rows` is refused as it
/// is read, not after.
fn xlsx_cells(bytes: &[u8], t: T, max_rows: usize) -> Result<Vec<Vec<String>>, String> {
    use calamine::Reader;
    let bad = || t.s("err.import.file").to_string();
    // Room for a heading and blank lines between the rows that count.
    let max_lines = max_rows.saturating_mul(2).saturating_add(1_000);
    workbook_within_bounds(bytes, t)?;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|_| bad())?;
    let name = wb.sheet_names().first().cloned().ok_or_else(bad)?;
    let mut reader = wb.worksheet_cells_reader(&name).map_err(|_| bad())?;
    let mut out: Vec<Vec<String>> = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(|_| bad())? {
        let (row, col) = cell.get_position();
        let (row, col) = (row as usize, col as usize);
        if col >= MAX_COLUMNS {
            continue;
        }
        if row >= max_lines {
            return Err(t.f("err.import.too_many", &[("max", &max_rows.to_string())]));
        }
        let text = cell_text(&calamine::Data::from(cell.get_value().clone()));
        if text.is_empty() {
            continue;
        }
        if out.len() <= row {
            out.resize(row + 1, Vec::new());
        }
        let r = &mut out[row];
        if r.len() <= col {
            r.resize(col + 1, String::new());
        }
        r[col] = text;
    }
    Ok(out)
}

/// CSV as RFC 4180 writes it: commas, fields in double quotes (`""` inside one is a quote,
/// and it may hold commas and line breaks), CRLF or LF between records.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field).trim().to_string()),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field).trim().to_string());
                rows.push(std::mem::take(&mut row));
            }
            (_, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field.trim().to_string());
        rows.push(row);
    }
    rows
}

/// Rows of a file (Excel or CSV) as (sheet row number, values in `columns` order): the header
/// row names the columns by their label in either language, by the field name, or by one of
/// the `also` names of the field. It is the first row that names any of them, within the first
/// few lines that hold something (a sheet kept by hand often has its title above the header:
/// 《…任务分解表》); a file where none does is not one we read.
pub(crate) fn read_table(
    columns: &[(&str, bool)],
    also: &dyn Fn(&str) -> Vec<String>,
    bytes: &[u8],
    t: T,
    max_rows: usize,
) -> Result<Rows, String> {
    /// Lines above the header that are read past (titles, notes, a blank line or two).
    const TITLE_LINES: usize = 5;
    let table = cells(bytes, t, max_rows)?;
    let names: Vec<Vec<String>> = columns
        .iter()
        .map(|(field, _)| {
            let mut names = vec![
                T::new(Lang::ZhCn).field(field),
                T::new(Lang::En).field(field),
                (*field).to_string(),
            ];
            names.extend(also(field));
            names
        })
        .collect();
    let positions_in = |header: &[String]| -> Vec<Option<usize>> {
        names
            .iter()
            .map(|names| {
                header.iter().position(|h| {
                    names
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(h.trim().trim_end_matches('*')))
                })
            })
            .collect()
    };
    let filled: Vec<(usize, &Vec<String>)> = table
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.iter().all(String::is_empty))
        .collect();
    if filled.is_empty() {
        return Err(t.s("err.import.empty").to_string());
    }
    let Some((header_at, positions)) = filled
        .iter()
        .take(TITLE_LINES + 1)
        .map(|(at, r)| (*at, positions_in(r)))
        .find(|(_, p)| p.iter().any(Option::is_some))
    else {
        return Err(t.s("err.import.file").to_string());
    };
    let rows = table.iter().enumerate().skip(header_at + 1);
    let missing: Vec<String> = columns
        .iter()
        .zip(&positions)
        .filter(|((_, req), pos)| *req && pos.is_none())
        .map(|((f, _), _)| t.field(f))
        .collect();
    if !missing.is_empty() {
        return Err(t.f("err.import.header", &[("columns", &missing.join("、"))]));
    }
    let mut out = Vec::new();
    for (i, r) in rows {
        let values: Vec<String> = positions
            .iter()
            .map(|p| p.and_then(|p| r.get(p)).cloned().unwrap_or_default())
            .collect();
        if values.iter().all(String::is_empty) {
            continue;
        }
        out.push((i + 1, values));
        if out.len() > max_rows {
            return Err(t.f("err.import.too_many", &[("max", &max_rows.to_string())]));
        }
    }
    if out.is_empty() {
        return Err(t.s("err.import.empty").to_string());
    }
    Ok(out)
}

/// A sheet's problems as the page lists them: (row, column, reason); row 0 is the sheet's as
/// a whole. `column` names a problem's field as the sheet's heading.
pub(crate) fn row_errors(
    t: T,
    problems: &[(usize, shiliu_domain::FieldError)],
    column: impl Fn(&str) -> String,
) -> Vec<(String, String, String)> {
    problems
        .iter()
        .map(|(row, e)| {
            let row = if *row == 0 {
                String::new()
            } else {
                row.to_string()
            };
            (row, column(&e.field), t.field_error(e))
        })
        .collect()
}

/// The codes of a kind, to read a cell that gives one by code or by its label in either
/// language. Made once per file: a register's million rows read four kinds each.
pub(crate) struct Codes(HashMap<String, &'static str>);

impl Codes {
    pub(crate) fn new(prefix: &str, codes: &[&'static str]) -> Self {
        let mut by_name = HashMap::new();
        for &code in codes {
            for l in [Lang::En, Lang::ZhCn] {
                by_name.insert(T::new(l).label(prefix, code), code);
            }
            by_name.insert(code.to_string(), code);
        }
        Self(by_name)
    }

    /// The code the cell names; the cell (trimmed) when it names none, for the parser to
    /// refuse with its own message.
    pub(crate) fn of(&self, value: &str) -> String {
        let v = value.trim();
        self.0.get(v).map_or(v, |c| *c).to_string()
    }
}

/// Apply every row in the caller's transaction; rows that break a rule are reported, each in
/// its own savepoint so the others still run. Returns (rows applied, errors).
fn apply(
    c: &mut DbConnection,
    actor: &Actor,
    kind: ImportKind,
    rows: &Rows,
    t: T,
) -> Result<(usize, RowErrors), DbError> {
    let cols = kind.columns();
    let column_label = |field: &str| {
        let f = match field {
            "region_id" => "region_code",
            "parent_id" => "parent_code",
            other => other,
        };
        if cols.iter().any(|(c, _)| *c == f) {
            t.field(f)
        } else {
            t.field(cols[0].0)
        }
    };
    let site_types: Vec<&str> = SiteType::ALL.iter().map(|k| k.as_str()).collect();
    let site_types = Codes::new("site_type", &site_types);
    let categories: Vec<&str> = UnitCategory::ALL.iter().map(|k| k.as_str()).collect();
    let categories = Codes::new("category", &categories);
    let mut errors = Vec::new();
    let mut applied = 0;
    for (row, v) in rows {
        let result: Result<(), DbError> = shiliu_db::savepoint(c, |c| {
            match kind {
                ImportKind::Sites => {
                    let input =
                        SiteInput::parse(&v[0], &site_types.of(&v[1]), &v[3], &v[4], &v[5], &v[6])?;
                    let region = db::region_id_by_code(c, actor.scope(), &v[2], "region_id")?;
                    db::create_site(c, actor, region, &input)?;
                }
                ImportKind::Units => {
                    let input = UnitInput::parse(&v[0], &categories.of(&v[1]), &v[3], &v[4])?;
                    let region = db::region_id_by_code(c, actor.scope(), &v[2], "region_id")?;
                    db::create_unit(c, actor, region, &input)?;
                }
                ImportKind::Regions => {
                    let input = RegionInput::parse(&v[1], &v[2])?;
                    let parent = db::region_id_by_code(c, actor.scope(), &v[0], "parent_id")?;
                    db::create_child_region(c, actor, parent, &input)?;
                }
            }
            Ok(())
        });
        match result {
            Ok(()) => applied += 1,
            Err(DbError::Invalid(f)) => push_row_errors(&mut errors, t, *row, f, column_label),
            Err(other) => return Err(other),
        }
    }
    Ok((applied, errors))
}

pub async fn submit(
    State(state): State<AppState>,
    p: Principal,
    kind: ImportKind,
    mut mp: Multipart,
) -> AppResult<Response> {
    let actor = p.require_permission(kind.permission())?;
    let t = p.t();
    let (file, mode) = upload(&mut mp).await?;
    let commit = mode == "commit";
    let Some(bytes) = file else {
        return page(
            &p,
            kind,
            None,
            Some(t.s("err.import.file").to_string()),
            vec![],
        );
    };
    let rows = match tokio::task::spawn_blocking(move || read_rows(kind, &bytes, t)).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(msg)) => return page(&p, kind, None, Some(msg), vec![]),
        Err(e) => return Err(AppError::Internal(e.to_string())),
    };
    // Always rehearse first: the report covers every row, and nothing is written unless all pass.
    let (a2, rows2) = (actor.clone(), rows.clone());
    let (count, errors) = state
        .db
        .rehearse(move |c| apply(c, &a2, kind, &rows2, t))
        .await?;
    if !errors.is_empty() {
        return page(&p, kind, None, None, errors);
    }
    if !commit {
        return page(
            &p,
            kind,
            Some(t.f("import.ok", &[("rows", &count.to_string())])),
            None,
            vec![],
        );
    }
    let n = rows.len();
    let done = state
        .db
        .write(move |c| {
            let (count, errors) = apply(c, &actor, kind, &rows, t)?;
            if !errors.is_empty() {
                // Something changed since the rehearsal: write nothing.
                return Err(DbError::Invalid(
                    shiliu_domain::FieldError::new("file", "err.stale").into(),
                ));
            }
            let ev = Event {
                action: kind.action(),
                entity: "import",
                detail: serde_json::json!({"rows": n}),
                ..Event::default()
            };
            audit::record(c, &actor, ev)?;
            Ok(count)
        })
        .await?;
    page(
        &p,
        kind,
        Some(t.f("import.done", &[("rows", &done.to_string())])),
        None,
        vec![],
    )
}

/// An import form's post: the file (none when empty) and the button pressed (`mode`).
pub(crate) async fn upload(mp: &mut Multipart) -> AppResult<(Option<axum::body::Bytes>, String)> {
    let mut file = None;
    let mut mode = String::new();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest("file"))?
    {
        match field.name() {
            Some("file") => {
                file = Some(field.bytes().await.map_err(|_| AppError::PayloadTooLarge)?);
            }
            Some("mode") => mode = field.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    Ok((file.filter(|b| !b.is_empty()), mode))
}

macro_rules! import_routes {
    ($($kind:ident => $form:ident, $template:ident, $submit:ident;)+) => {$(
        pub async fn $form(p: Principal) -> AppResult<Response> {
            form(&p, ImportKind::$kind)
        }
        pub async fn $template(p: Principal) -> AppResult<Response> {
            template(&p, ImportKind::$kind)
        }
        pub async fn $submit(state: State<AppState>, p: Principal, mp: Multipart) -> AppResult<Response> {
            submit(state, p, ImportKind::$kind, mp).await
        }
    )+};
}

import_routes! {
    Sites => sites_form, sites_template, sites_submit;
    Units => units_form, units_template, units_submit;
    Regions => regions_form, regions_template, regions_submit;
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!())
        .route("/regions/import", get(regions_form).post(regions_submit))
        .route("/regions/import/template.xlsx", get(regions_template))
        .route("/sites/import", get(sites_form).post(sites_submit))
        .route("/sites/import/template.xlsx", get(sites_template))
        .route("/units/import", get(units_form).post(units_submit))
        .route("/units/import/template.xlsx", get(units_template))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_as_excel_writes_it() {
        let rows = csv_rows("a,\"b,c\",\"say \"\"hi\"\"\"\r\n1, 2 ,\"x\ny\"\n\nlast");
        assert_eq!(
            rows,
            [
                vec!["a", "b,c", "say \"hi\""],
                vec!["1", "2", "x\ny"],
                vec![""],
                vec!["last"],
            ]
        );
    }

    /// A sheet of a heading and two rows, plus one cell at `far` (row, column).
    fn sheet(far: (u32, u16)) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (r, row) in [["name", "code"], ["甲", "1"], ["乙", "2"]]
            .iter()
            .enumerate()
        {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
        ws.write_string(far.0, far.1, "x").unwrap();
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn a_sheet_is_read_by_its_cells_not_its_extent() {
        let t = T::new(Lang::En);
        // A cell in the last column: skipped, and the sheet is not laid out 16,384 wide.
        let wide = cells(&sheet((2, 16_383)), t, 10).unwrap();
        assert_eq!(
            wide,
            [vec!["name", "code"], vec!["甲", "1"], vec!["乙", "2"]]
        );
        // A cell on the last row: refused as it is read, not after a million empty rows.
        let long = cells(&sheet((1_048_575, 0)), t, 10).unwrap_err();
        assert!(long.contains("10"), "{long}");
    }

    #[test]
    fn excel_dates_read_as_days() {
        assert_eq!(excel_day(45_000.0), "2023-03-15");
        assert_eq!(excel_day(33_604.5), "1992-01-01 12:00");
        assert_eq!(excel_day(-3.0), "-3");
    }
}
