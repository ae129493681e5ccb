//! Excel export: every list can be downloaded as .xlsx.

use axum::response::Response;
use rust_xlsxwriter::{Format, Workbook};

use crate::web::error::{AppError, AppResult};

/// A sheet with a bold, frozen header row and one row per record.
pub fn sheet(name: &str, headers: &[String], rows: &[Vec<String>]) -> AppResult<Vec<u8>> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let err = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx: {e}"));
    ws.set_name(name).map_err(err)?;
    let bold = Format::new().set_bold();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)
            .map_err(err)?;
        ws.set_column_width(c as u16, 18).map_err(err)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, v).map_err(err)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(err)?;
    wb.save_to_buffer().map_err(err)
}

pub fn download(filename: &str, bytes: Vec<u8>) -> Response {
    crate::web::files::serve(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename,
        false,
        bytes,
    )
}
