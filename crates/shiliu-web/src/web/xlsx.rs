//! Excel export: every list can be downloaded as .xlsx, each cell with its type — counts and
//! scores as numbers Excel can sum, shares as percentages, days and moments as dates — so an
//! analyst never meets "数字以文本形式存储". Codes (division codes, tracking codes, ID and
//! phone numbers) stay text: they are names that happen to be digits, and a leading zero or
//! an 18th digit must survive.

use axum::response::Response;
use chrono::{NaiveDate, NaiveDateTime};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::web::error::{AppError, AppResult};

/// One cell of an exported sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A count or another whole number.
    Int(i64),
    /// A number as it is written in the page (a score like `92.5`), kept to its decimals.
    Number(f64),
    /// A share in per-mille (943 = 94.3 %), shown as a percentage with one decimal.
    PerMille(i64),
    /// A number of tenths (325 = 32.5), shown with one decimal.
    Tenths(i64),
    Date(NaiveDate),
    /// A moment stored in UTC, shown in China time to the minute.
    Minute(NaiveDateTime),
    /// A moment stored in UTC, shown in China time to the second.
    Second(NaiveDateTime),
    Empty,
}

impl Cell {
    /// A score or other figure the page writes as text (`92.5`, `-3`): a number when it is
    /// one, else the text as it stands (a withheld `—`).
    pub fn figure(text: &str) -> Self {
        match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Self::Number(n),
            _ => Self::from(text),
        }
    }

    fn write(&self, ws: &mut Worksheet, row: u32, col: u16, f: &Formats) -> Result<(), XlsxError> {
        use shiliu_domain::calendar::local;
        match self {
            Cell::Text(s) if s.is_empty() => {}
            Cell::Text(s) => {
                ws.write_string(row, col, s)?;
            }
            Cell::Int(n) => {
                ws.write_number(row, col, float(*n))?;
            }
            Cell::Number(n) => {
                ws.write_number(row, col, *n)?;
            }
            Cell::PerMille(n) => {
                ws.write_number_with_format(row, col, float(*n) / 1000.0, &f.percent)?;
            }
            Cell::Tenths(n) => {
                ws.write_number_with_format(row, col, float(*n) / 10.0, &f.tenths)?;
            }
            Cell::Date(d) => {
                ws.write_datetime_with_format(row, col, d, &f.date)?;
            }
            Cell::Minute(t) => {
                ws.write_datetime_with_format(row, col, local(*t), &f.minute)?;
            }
            Cell::Second(t) => {
                ws.write_datetime_with_format(row, col, local(*t), &f.second)?;
            }
            Cell::Empty => {}
        }
        Ok(())
    }
}

/// A count as Excel holds it: exact up to 2^53, far beyond any count here.
#[allow(clippy::cast_precision_loss)]
fn float(n: i64) -> f64 {
    n as f64
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Self::Text(s.to_string())
    }
}

impl From<&String> for Cell {
    fn from(s: &String) -> Self {
        Self::Text(s.clone())
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Self::Int(n)
    }
}

impl From<NaiveDate> for Cell {
    fn from(d: NaiveDate) -> Self {
        Self::Date(d)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Empty, Into::into)
    }
}

/// Rows of text, for a sheet that holds nothing but names and words.
pub fn texts(rows: Vec<Vec<String>>) -> Vec<Vec<Cell>> {
    rows.into_iter()
        .map(|r| r.into_iter().map(Cell::Text).collect())
        .collect()
}

struct Formats {
    percent: Format,
    tenths: Format,
    date: Format,
    minute: Format,
    second: Format,
}

impl Formats {
    fn new() -> Self {
        Self {
            percent: Format::new().set_num_format("0.0%"),
            tenths: Format::new().set_num_format("0.0"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            minute: Format::new().set_num_format("yyyy-mm-dd hh:mm"),
            second: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        }
    }
}

/// A sheet with a bold, frozen header row and one row per record.
pub fn sheet(name: &str, headers: &[String], rows: &[Vec<Cell>]) -> AppResult<Vec<u8>> {
    sheet_with_note(name, headers, rows, None)
}

/// The same, with a line of explanation under the last row (where an export stopped, what a
/// withheld cell means).
pub fn sheet_with_note(
    name: &str,
    headers: &[String],
    rows: &[Vec<Cell>],
    note: Option<&str>,
) -> AppResult<Vec<u8>> {
    let err = |e: XlsxError| AppError::Internal(format!("xlsx: {e}"));
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(name).map_err(err)?;
    let bold = Format::new().set_bold();
    let formats = Formats::new();
    for (c, h) in headers.iter().enumerate() {
        let c = column(c)?;
        ws.write_string_with_format(0, c, h, &bold).map_err(err)?;
        ws.set_column_width(c, 18).map_err(err)?;
    }
    let mut next = 1u32;
    for row in rows {
        for (c, v) in row.iter().enumerate() {
            v.write(ws, next, column(c)?, &formats).map_err(err)?;
        }
        next += 1;
    }
    if let Some(note) = note {
        ws.write_string(next + 1, 0, note).map_err(err)?;
    }
    ws.set_freeze_panes(1, 0).map_err(err)?;
    wb.save_to_buffer().map_err(err)
}

fn column(c: usize) -> AppResult<u16> {
    u16::try_from(c).map_err(|_| AppError::Internal(format!("xlsx: column {c}")))
}

pub fn download(filename: &str, bytes: Vec<u8>) -> Response {
    crate::web::files::serve(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename,
        false,
        bytes,
    )
}
