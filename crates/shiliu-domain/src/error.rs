//! Validation errors of the domain layer.
//!
//! Which error type lives where (the project's rule, as in crates.io's `util/errors.rs`):
//! - `shiliu-domain`: [`FieldError`] / [`FieldErrors`] — a field and a reason key, no I/O, no
//!   HTTP. The reason is a message-catalogue key (`err.required`, …) with named arguments, so
//!   it can be shown in either language.
//! - `shiliu-db`: `DbError` — not found, conflict (stale version, duplicate), scope refusal,
//!   validation (wrapping these), and the engine's error, which never reaches a user.
//! - `shiliu-web`: `AppError` — what a handler returns; renders as an HTML page, a JSON
//!   envelope, or a redirect, and logs internal causes with the request id.

use std::fmt;

/// One field that failed validation, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The form field or column name, e.g. `id_number`.
    pub field: String,
    /// A message-catalogue key such as `err.id_number.checksum`.
    pub reason: &'static str,
    /// Named arguments for the message, e.g. `("max", "100")`.
    pub args: Vec<(&'static str, String)>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: &'static str) -> Self {
        Self {
            field: field.into(),
            reason,
            args: Vec::new(),
        }
    }

    #[must_use]
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    /// The same reason, reported against another field name (a parser does not know which
    /// form field its input came from).
    #[must_use]
    pub fn on(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}

/// All the problems of one submitted form, so the user sees them at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// Keep the parsed value, or remember why it failed.
    pub fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), Self> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl From<FieldError> for FieldErrors {
    fn from(e: FieldError) -> Self {
        Self(vec![e])
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FieldErrors {}

/// A required, trimmed, length-limited text field.
pub fn required_text(field: &str, value: &str, max_chars: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "err.required"));
    }
    optional_text(field, v, max_chars).map(std::option::Option::unwrap_or_default)
}

/// A yes/no cell of an imported sheet: 是 / 否, yes / no, y / n, 1 / 0; blank is no.
pub fn yes_no(field: &str, value: &str) -> Result<bool, FieldError> {
    match value.trim().to_lowercase().as_str() {
        "" | "否" | "no" | "n" | "0" | "false" => Ok(false),
        "是" | "yes" | "y" | "1" | "true" => Ok(true),
        _ => Err(FieldError::new(field, "err.yes_no")),
    }
}

/// An optional trimmed text field: empty becomes `None`.
pub fn optional_text(
    field: &str,
    value: &str,
    max_chars: usize,
) -> Result<Option<String>, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > max_chars {
        return Err(FieldError::new(field, "err.too_long").arg("max", max_chars));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(FieldError::new(field, "err.control_chars"));
    }
    Ok(Some(v.to_string()))
}

/// One of an enum's codes; blank is "required", anything else unknown is "not a choice".
pub fn choice<T>(field: &str, value: &str, parse: fn(&str) -> Option<T>) -> Result<T, FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "err.required"));
    }
    parse(value.trim()).ok_or_else(|| FieldError::new(field, "err.choice"))
}

/// A day written `YYYY-MM-DD`, on or before `today` (records are of what happened).
pub fn past_day(
    field: &str,
    value: &str,
    today: chrono::NaiveDate,
) -> Result<chrono::NaiveDate, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "err.required"));
    }
    let d = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "err.date"))?;
    if d > today {
        return Err(FieldError::new(field, "err.date.future"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert_eq!(
            required_text("name", "  民族之家 ", 10).unwrap(),
            "民族之家"
        );
        assert_eq!(
            required_text("name", "   ", 10).unwrap_err().reason,
            "err.required"
        );
        assert_eq!(
            required_text("name", "一二三四五六", 5).unwrap_err().reason,
            "err.too_long"
        );
        assert_eq!(optional_text("x", "", 5).unwrap(), None);
        assert_eq!(
            optional_text("x", "a\u{0}b", 5).unwrap_err().reason,
            "err.control_chars"
        );
    }
}
