//! A scheme's two sheets in Excel — the indicator tree and the units taking part — exported to
//! edit and imported back through one flow ([`SchemeSheet`]): the upload read as a table by its
//! headings, every row checked before anything changes, and any problem listed on the scheme's
//! page by row and column.

use axum::extract::{Path, State};
use axum::response::Response;
use shiliu_db::evaluation as db;
use shiliu_db::scope::{Actor, grants};
use shiliu_db::{DbConnection, DbError};
use shiliu_domain::FieldError;
use shiliu_domain::FieldErrors;
use shiliu_domain::evaluation::{Level, SheetRow, UnitSheetRow, place_sheet, place_units};

use super::pages::{Parts, after, parts, scheme_page};
use crate::org::import::{Codes, Rows, read_table, row_errors};
use crate::web::error::{AppError, AppResult};
use crate::web::files::FormData;
use crate::web::i18n::{Lang, T};
use crate::web::xlsx::{self, Cell};
use crate::web::{AppState, Principal};

/// The most rows a sheet may hold (Qinzhou's scheme has a few dozen criteria).
const MAX_SHEET_ROWS: usize = 2_000;

/// Problems found in a sheet, by row (row 0: the sheet as a whole).
type Problems = Vec<(usize, FieldError)>;

/// One of a scheme's sheets: what its columns are, how its rows are checked and taken in, and
/// how the scheme's current state is written out in the same layout.
trait SchemeSheet: Send + Sync + 'static {
    /// The columns: (field, required).
    const COLUMNS: &'static [(&'static str, bool)];
    /// The sheet's title (an i18n key), also naming the file.
    const TITLE: &'static str;
    /// The rows once the whole sheet has been checked.
    type Placed: Send + 'static;

    /// The scheme as rows in `COLUMNS`' order.
    fn rows(parts: &Parts, t: T) -> Vec<Vec<Cell>>;
    /// Check the whole sheet: placed, or every problem by row.
    fn place(rows: Rows) -> Result<Self::Placed, Problems>;
    /// Take the placed rows into the draft, or refuse rows the stored scheme rules out (and
    /// change nothing).
    fn write(
        c: &mut DbConnection,
        actor: &Actor,
        id: i64,
        version: i32,
        placed: &Self::Placed,
    ) -> Result<Result<(), Problems>, DbError>;
    /// The heading a problem's field is shown under.
    fn column(t: T, field: &str) -> String {
        t.field(field)
    }
}

/// The indicator tree: one row per indicator, criteria with their kind.
struct Indicators;

impl SchemeSheet for Indicators {
    const COLUMNS: &'static [(&'static str, bool)] = &[
        ("indicator_code", true),
        ("indicator_name", true),
        ("points", false),
        ("criterion_kind", false),
        ("guidance", false),
        ("evidence", false),
    ];
    const TITLE: &'static str = "eval.indicators";
    type Placed = Vec<shiliu_domain::evaluation::PlacedIndicator>;

    fn rows(parts: &Parts, t: T) -> Vec<Vec<Cell>> {
        parts
            .tree
            .nodes
            .iter()
            .map(|(i, max)| {
                vec![
                    Cell::from(&i.code),
                    Cell::from(&i.name),
                    Cell::figure(&max.to_string()),
                    Cell::from(
                        (i.level() == Level::Criterion)
                            .then(|| t.label("criterion_kind", i.kind().as_str())),
                    ),
                    Cell::from(i.guidance.clone()),
                    Cell::from(i.evidence.clone()),
                ]
            })
            .collect()
    }

    fn place(rows: Rows) -> Result<Self::Placed, Problems> {
        let kinds = Codes::new("criterion_kind", &["standard", "bonus", "deduction"]);
        let sheet: Vec<(usize, SheetRow)> = rows
            .into_iter()
            .map(|(n, v)| {
                let get = |i: usize| v.get(i).cloned().unwrap_or_default();
                let row = SheetRow {
                    code: get(0),
                    name: get(1),
                    points: get(2),
                    kind: kinds.of(&get(3)),
                    guidance: get(4),
                    evidence: get(5),
                };
                (n, row)
            })
            .collect();
        place_sheet(&sheet)
    }

    fn write(
        c: &mut DbConnection,
        actor: &Actor,
        id: i64,
        version: i32,
        placed: &Self::Placed,
    ) -> Result<Result<(), Problems>, DbError> {
        db::replace_tree(c, actor, id, version, placed).map(|_| Ok(()))
    }

    fn column(t: T, field: &str) -> String {
        match field {
            "code" => t.field("indicator_code"),
            "name" => t.field("indicator_name"),
            "max_points" => t.field("points"),
            "kind" => t.field("criterion_kind"),
            other => t.field(other),
        }
    }
}

/// The units taking part: name, category, whether a key unit.
struct Units;

impl SchemeSheet for Units {
    const COLUMNS: &'static [(&'static str, bool)] =
        &[("unit", true), ("category_name", true), ("key_unit", false)];
    const TITLE: &'static str = "eval.units";
    type Placed = Vec<shiliu_domain::evaluation::UnitLine>;

    fn rows(parts: &Parts, t: T) -> Vec<Vec<Cell>> {
        let yes_no = |b: bool| t.s(if b { "eval.yes" } else { "eval.no" }).to_string();
        parts
            .units
            .iter()
            .map(|u| {
                let category = parts.categories.iter().find(|c| c.id == u.category_id);
                vec![
                    Cell::from(&u.unit_name),
                    Cell::from(category.map(|c| c.name.clone())),
                    Cell::from(yes_no(u.key_unit)),
                ]
            })
            .collect()
    }

    fn place(rows: Rows) -> Result<Self::Placed, Problems> {
        let sheet: Vec<(usize, UnitSheetRow)> = rows
            .into_iter()
            .map(|(n, v)| {
                let get = |i: usize| v.get(i).cloned().unwrap_or_default();
                let row = UnitSheetRow {
                    unit: get(0),
                    category: get(1),
                    key_unit: yes_no_of(&get(2)),
                };
                (n, row)
            })
            .collect();
        place_units(&sheet)
    }

    fn write(
        c: &mut DbConnection,
        actor: &Actor,
        id: i64,
        version: i32,
        placed: &Self::Placed,
    ) -> Result<Result<(), Problems>, DbError> {
        Ok(db::import_units(c, actor, id, version, placed)?.map(drop))
    }
}

/// Other headings the same columns go by in the sheets commissions already keep.
fn sheet_names(field: &str) -> Vec<String> {
    let names: &[&str] = match field {
        "indicator_code" => &["编号", "序号", "指标编号"],
        "indicator_name" => &["指标", "内容", "考评内容", "指标名称"],
        "points" => &["分值", "分数", "满分"],
        "criterion_kind" => &["类型", "类别"],
        "guidance" => &["评分标准", "评分细则", "评分办法"],
        "evidence" => &["佐证材料", "台账资料", "佐证"],
        "unit" => &["单位名称", "参评单位", "被考评单位"],
        "category_name" => &["类别", "分类", "考评类别"],
        "key_unit" => &["是否重点单位", "重点"],
        _ => &[],
    };
    names.iter().map(|n| (*n).to_string()).collect()
}

/// A yes/no cell as the export writes it (是 / 否, Yes / No, in either language), or as typed.
fn yes_no_of(v: &str) -> String {
    let v = v.trim();
    for lang in [Lang::ZhCn, Lang::En] {
        let t = T::new(lang);
        if v.eq_ignore_ascii_case(t.s("eval.yes")) {
            return "yes".into();
        }
        if v.eq_ignore_ascii_case(t.s("eval.no")) {
            return "no".into();
        }
    }
    v.to_string()
}

/// The sheet as the scheme stands, to edit and import again (with nothing yet: the headings,
/// a template).
async fn export<S: SchemeSheet>(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let parts = parts(&state, &p, id).await?;
    let t = p.t();
    let headers: Vec<String> = S::COLUMNS.iter().map(|(f, _)| t.field(f)).collect();
    let bytes = xlsx::sheet(t.s(S::TITLE), &headers, &S::rows(&parts, t))?;
    let name = format!("{} · {}.xlsx", parts.s.name, t.s(S::TITLE));
    Ok(xlsx::download(&name, bytes))
}

/// Take an uploaded sheet into the draft: the whole sheet checked first (its rows, then
/// against what is stored); any problem and nothing changes, and the page lists them by row
/// and column.
async fn import<S: SchemeSheet>(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageEvaluations>()?;
    let t = p.t();
    let (version, rows) = match upload(&state, &p, id, &form, S::COLUMNS).await? {
        Ok(read) => read,
        Err(page) => return Ok(page),
    };
    let refused = |problems: Problems| row_errors(t, &problems, |f| S::column(t, f));
    let placed = match S::place(rows) {
        Ok(placed) => placed,
        Err(problems) => return sheet_refused(&state, &p, id, refused(problems)).await,
    };
    match state
        .db
        .write(move |c| S::write(c, &actor, id, version, &placed))
        .await
    {
        Ok(Ok(())) => after(&state, &p, id, Ok(()), None).await,
        Ok(Err(problems)) => sheet_refused(&state, &p, id, refused(problems)).await,
        Err(e) => after(&state, &p, id, Err(e), None).await,
    }
}

/// An uploaded sheet's rows and the form's version, or the page to answer with: no file, or
/// one that cannot be read as a table with `columns`.
async fn upload(
    state: &AppState,
    p: &Principal,
    id: i64,
    form: &FormData,
    columns: &'static [(&'static str, bool)],
) -> AppResult<Result<(i32, Rows), Response>> {
    let t = p.t();
    let version: i32 = form
        .pairs
        .iter()
        .find(|(k, _)| k == "version")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_default();
    let Some(upload) = form.uploads.iter().find(|u| u.field == "file") else {
        let e: FieldErrors = FieldError::new("file", "err.required").into();
        return after(state, p, id, Err(DbError::Invalid(e)), None)
            .await
            .map(Err);
    };
    // The scheme must be the caller's before the file is read at all.
    let scope = p.require::<grants::ManageEvaluations>()?.scope().clone();
    state
        .db
        .read(move |c| db::get_scheme(c, &scope, id).map(drop))
        .await?;
    let bytes = upload.bytes.clone();
    let read = tokio::task::spawn_blocking(move || {
        read_table(columns, &sheet_names, &bytes, t, MAX_SHEET_ROWS)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    match read {
        Ok(rows) => Ok(Ok((version, rows))),
        Err(message) => {
            let errs = vec![(String::new(), t.field("file"), message)];
            sheet_refused(state, p, id, errs).await.map(Err)
        }
    }
}

/// The scheme's page again, listing what was wrong with a sheet (nothing of it was taken).
async fn sheet_refused(
    state: &AppState,
    p: &Principal,
    id: i64,
    errs: Vec<(String, String, String)>,
) -> AppResult<Response> {
    let parts = parts(state, p, id).await?;
    scheme_page(p, parts, None, &FieldErrors::new(), errs, false)
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/evaluations/{id}/units.xlsx", get(export::<Units>))
        .route("/evaluations/{id}/units/import", post(import::<Units>))
        .route(
            "/evaluations/{id}/indicators.xlsx",
            get(export::<Indicators>),
        )
        .route(
            "/evaluations/{id}/indicators/import",
            post(import::<Indicators>),
        )
}
