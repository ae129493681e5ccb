//! A plan's task decomposition sheet (任务分解表) in Excel, in the layout such tables are kept
//! in — 序号 · 工作任务 · 具体措施 · 牵头单位 · 责任单位 · 完成时限 · 目标 · 备注 — exported to
//! edit and imported back: the whole sheet checked first (its rows, then the units by name and
//! the deadlines against the plan), any problem listed on the plan's page by row and column,
//! and nothing changed.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use shiliu_db::scope::grants;
use shiliu_db::tasks as db;
use shiliu_domain::tasks::{SheetRow, TaskLevel, place_sheet};
use shiliu_domain::{FieldError, FieldErrors};

use super::pages::{Shown, plan_page, seen, sheet_refused, view};
use crate::org::import::{read_table, row_errors};
use crate::web::error::{AppError, AppResult};
use crate::web::files::FormData;
use crate::web::xlsx::{self, Cell};
use crate::web::{AppState, Principal};

/// The most rows a sheet may hold (Liuzhou's table has a few hundred measures).
const MAX_SHEET_ROWS: usize = 5_000;

/// The columns: (field, required).
const COLUMNS: &[(&str, bool)] = &[
    ("seq", false),
    ("task", true),
    ("measure", false),
    ("lead_units", true),
    ("co_units", false),
    ("due", true),
    ("target", false),
    ("remarks", false),
];

/// Other headings the same columns go by in the tables commissions keep.
fn sheet_names(field: &str) -> Vec<String> {
    let names: &[&str] = match field {
        "seq" => &["序号", "编号"],
        "task" => &["工作任务", "重点任务", "任务", "主要任务", "任务内容"],
        "measure" => &["具体措施", "工作措施", "措施", "具体内容"],
        "lead_units" => &["牵头单位", "牵头部门", "责任领导单位"],
        "co_units" => &["责任单位", "配合单位", "参与单位", "协同单位"],
        "due" => &["完成时限", "完成时间", "时间节点", "时限"],
        "target" => &["目标", "量化目标", "目标值"],
        "remarks" => &["备注"],
        _ => &[],
    };
    names.iter().map(|n| (*n).to_string()).collect()
}

/// The plan's tree as the sheet's rows: an area on a row of its own; a task's first measure on
/// the task's row, the others below it with the task's cell left blank.
fn rows(tree: &db::Tree) -> Vec<Vec<Cell>> {
    let units = |n: &db::Node, lead: bool| {
        n.units
            .iter()
            .filter(|u| u.lead == lead)
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>()
            .join("、")
    };
    let mut out: Vec<Vec<Cell>> = Vec::new();
    let mut open_task: Option<usize> = None;
    for n in &tree.nodes {
        let leaf = |row: &mut Vec<Cell>| {
            row[3] = Cell::from(units(n, true));
            row[4] = Cell::from(units(n, false));
            row[5] = Cell::from(n.item.due_text());
            row[6] = Cell::from(n.item.target().map(|t| t.to_string()));
            row[7] = Cell::from(n.item.notes.clone());
        };
        let mut row = vec![Cell::Empty; COLUMNS.len()];
        match n.item.level() {
            TaskLevel::Area => {
                row[0] = Cell::from(&n.item.seq);
                row[1] = Cell::from(&n.item.title);
                row[7] = Cell::from(n.item.notes.clone());
                open_task = None;
            }
            TaskLevel::Task => {
                row[0] = Cell::from(&n.item.seq);
                row[1] = Cell::from(&n.item.title);
                if n.reported() {
                    leaf(&mut row);
                    open_task = None;
                } else {
                    open_task = Some(out.len());
                }
            }
            TaskLevel::Measure => {
                // The first measure goes on its task's row.
                if let Some(at) = open_task.take() {
                    let mut task_row = std::mem::take(&mut out[at]);
                    task_row[2] = Cell::from(&n.item.title);
                    leaf(&mut task_row);
                    out[at] = task_row;
                    continue;
                }
                row[2] = Cell::from(&n.item.title);
                leaf(&mut row);
            }
        }
        out.push(row);
    }
    out
}

/// The plan's sheet, to edit and import again (with no tasks yet: the headings, a template).
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let (plan, tree, _) = seen(&state, &p, id).await?;
    let t = p.t();
    let headers: Vec<String> = COLUMNS.iter().map(|(f, _)| t.field(f)).collect();
    let bytes = xlsx::sheet(t.s("plans.sheet"), &headers, &rows(&tree))?;
    Ok(xlsx::download(
        &format!("{} · {}.xlsx", plan.name, t.s("plans.sheet")),
        bytes,
    ))
}

/// Take an uploaded sheet as the draft's tree, or list every problem and change nothing.
pub async fn import(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageTasks>()?;
    let t = p.t();
    let version: i32 = form
        .pairs
        .iter()
        .find(|(k, _)| k == "version")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_default();
    // The plan must be the caller's before the file is read at all.
    let scope = actor.scope().clone();
    state
        .db
        .read(move |c| db::get_plan(c, &scope, id).map(drop))
        .await?;
    let Some(upload) = form.uploads.iter().find(|u| u.field == "file") else {
        let view = view(&state, &p, id).await?;
        return plan_page(
            &p,
            view,
            Shown {
                errs: FieldErrors::from(FieldError::new("file", "err.required")),
                ..Shown::default()
            },
        );
    };
    let bytes = upload.bytes.clone();
    let read = tokio::task::spawn_blocking(move || {
        read_table(COLUMNS, &sheet_names, &bytes, t, MAX_SHEET_ROWS)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let rows = match read {
        Ok(rows) => rows,
        Err(message) => {
            let errs = vec![(String::new(), t.field("file"), message)];
            return sheet_refused(&state, &p, id, errs).await;
        }
    };
    let sheet: Vec<(usize, SheetRow)> = rows
        .into_iter()
        .map(|(n, v)| {
            let get = |i: usize| v.get(i).cloned().unwrap_or_default();
            let row = SheetRow {
                seq: get(0),
                task: get(1),
                measure: get(2),
                lead_units: get(3),
                co_units: get(4),
                due: get(5),
                target: get(6),
                notes: get(7),
            };
            (n, row)
        })
        .collect();
    let refused = |problems: &[(usize, FieldError)]| row_errors(t, problems, |f| t.field(f));
    let placed = match place_sheet(&sheet) {
        Ok(placed) => placed,
        Err(problems) => return sheet_refused(&state, &p, id, refused(&problems)).await,
    };
    match state
        .db
        .write(move |c| db::replace_tree(c, &actor, id, version, &placed))
        .await?
    {
        Ok(_) => Ok(Redirect::to(&format!("/plans/{id}?done=imported")).into_response()),
        Err(problems) => sheet_refused(&state, &p, id, refused(&problems)).await,
    }
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/plans/{id}/tasks.xlsx", get(export))
        .route("/plans/{id}/tasks/import", post(import))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_column_has_a_heading_of_its_own() {
        let t = crate::web::i18n::T::new(crate::web::i18n::Lang::ZhCn);
        let heads: Vec<String> = super::COLUMNS.iter().map(|(f, _)| t.field(f)).collect();
        assert_eq!(
            heads,
            [
                "序号",
                "工作任务",
                "具体措施",
                "牵头单位",
                "责任单位",
                "完成时限",
                "目标",
                "备注"
            ]
        );
    }
}
