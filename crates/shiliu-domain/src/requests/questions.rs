//! A category's extra questions (附加问题) and the answers a request gives them.
//!
//! A question asks for text, a number, a date, or one or several of its choices. Answers are
//! kept as one canonical string each (a multiple choice as its keys joined by commas, which a
//! key cannot contain), so every channel — the staff form, the public page, the JSON API and
//! Open311's `attribute[code]` — is checked by the same rule here.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::error::{optional_text, required_text};
use crate::{FieldError, FieldErrors, code_enum};

code_enum! {
    pub enum QuestionKind {
        Text = "text",
        Number = "number",
        Date = "date",
        /// One of the choices.
        Single = "single",
        /// Any number of the choices.
        Multi = "multi",
    }
}

impl QuestionKind {
    pub fn has_choices(self) -> bool {
        matches!(self, QuestionKind::Single | QuestionKind::Multi)
    }
}

/// Submitted answers by question code; a multiple choice may arrive as several values.
pub type RawAnswers = BTreeMap<String, Vec<String>>;

/// One choice of a single- or multiple-choice question.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Choice {
    pub key: String,
    pub name: String,
}

/// A question as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub code: String,
    pub kind: QuestionKind,
    pub required: bool,
    pub choices: Vec<Choice>,
}

const MAX_CHOICES: usize = 50;
const MAX_TEXT_ANSWER: usize = 500;

fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A question's editable fields, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionInput {
    pub code: String,
    pub label: String,
    pub label_en: String,
    pub kind: QuestionKind,
    pub required: bool,
    pub choices: Vec<Choice>,
}

impl QuestionInput {
    /// `choices` is one choice per line, `key=name` or just the name (its key is then its line
    /// number). Choices given to a question that has none are dropped.
    pub fn parse(
        code: &str,
        label: &str,
        label_en: &str,
        kind: &str,
        required: bool,
        choices: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let code = errs
            .check(required_text("code", code, 40))
            .map(|c| c.to_lowercase());
        if code.as_deref().is_some_and(|c| !is_key(c)) {
            errs.push(FieldError::new("code", "err.code.snake"));
        }
        let label = errs.check(required_text("label", label, 60));
        let label_en = errs
            .check(optional_text("label_en", label_en, 80))
            .flatten();
        let kind = QuestionKind::parse(kind.trim());
        if kind.is_none() {
            errs.push(FieldError::new("kind", "err.choice"));
        }
        let mut list = Vec::new();
        if kind.is_some_and(QuestionKind::has_choices) {
            match parse_choices(choices) {
                Ok(c) => list = c,
                Err(e) => errs.push(e),
            }
        }
        errs.into_result()?;
        let label = label.unwrap_or_default();
        Ok(Self {
            code: code.unwrap_or_default(),
            label_en: label_en.unwrap_or_else(|| label.clone()),
            label,
            kind: kind.unwrap_or(QuestionKind::Text),
            required,
            choices: list,
        })
    }
}

fn parse_choices(text: &str) -> Result<Vec<Choice>, FieldError> {
    let mut out: Vec<Choice> = Vec::new();
    for (i, line) in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let (key, name) = match line.split_once('=') {
            Some((k, n)) => (k.trim().to_lowercase(), n.trim()),
            None => ((i + 1).to_string(), line),
        };
        if !is_key(&key) {
            return Err(FieldError::new("choices", "err.question.choice_key").arg("line", i + 1));
        }
        let name = required_text("choices", name, 40)?;
        if out.iter().any(|c| c.key == key) {
            return Err(FieldError::new("choices", "err.duplicate_in_list").arg("value", key));
        }
        out.push(Choice { key, name });
    }
    if out.is_empty() {
        return Err(FieldError::new("choices", "err.required"));
    }
    if out.len() > MAX_CHOICES {
        return Err(FieldError::new("choices", "err.too_many_items").arg("max", MAX_CHOICES));
    }
    Ok(out)
}

/// Choices as the editing form shows them, one `key=name` per line.
pub fn format_choices(choices: &[Choice]) -> String {
    choices
        .iter()
        .map(|c| format!("{}={}", c.key, c.name))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The field an answer's errors are reported against.
pub fn answer_field(code: &str) -> String {
    format!("answer.{code}")
}

/// Check submitted answers against the questions: every required one answered, each value of
/// its kind, nothing that is not asked. Returns (index of the question, canonical value) for
/// each question answered.
pub fn check_answers(
    questions: &[Question],
    raw: &RawAnswers,
) -> Result<Vec<(usize, String)>, FieldErrors> {
    let mut errs = FieldErrors::new();
    for code in raw.keys() {
        if !questions.iter().any(|q| &q.code == code) {
            errs.push(FieldError::new(answer_field(code), "err.question.unknown"));
        }
    }
    let mut out = Vec::new();
    for (i, q) in questions.iter().enumerate() {
        let values: Vec<&str> = raw
            .get(&q.code)
            .map(|v| {
                v.iter()
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if values.is_empty() {
            if q.required {
                errs.push(FieldError::new(answer_field(&q.code), "err.required"));
            }
            continue;
        }
        match canonical(q, &values) {
            Ok(v) => out.push((i, v)),
            Err(e) => errs.push(e),
        }
    }
    errs.into_result()?;
    Ok(out)
}

fn canonical(q: &Question, values: &[&str]) -> Result<String, FieldError> {
    let field = answer_field(&q.code);
    let one = || {
        if values.len() == 1 {
            Ok(values[0])
        } else {
            Err(FieldError::new(&field, "err.question.one_value"))
        }
    };
    let is_choice = |v: &str| q.choices.iter().any(|c| c.key == v);
    match q.kind {
        QuestionKind::Text => {
            optional_text(&field, one()?, MAX_TEXT_ANSWER).map(Option::unwrap_or_default)
        }
        QuestionKind::Number => {
            let v = one()?;
            match v.parse::<f64>() {
                Ok(n) if n.is_finite() && v.len() <= 20 => Ok(if n.fract() == 0.0 {
                    format!("{n:.0}")
                } else {
                    n.to_string()
                }),
                _ => Err(FieldError::new(&field, "err.decimal")),
            }
        }
        QuestionKind::Date => {
            let v = one()?;
            // Open311 sends a W3C date-time; its date is the answer.
            let day = v.split(['T', ' ']).next().unwrap_or(v);
            NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map(|d| d.format("%Y-%m-%d").to_string())
                .map_err(|_| FieldError::new(&field, "err.date"))
        }
        QuestionKind::Single => {
            let v = one()?;
            if is_choice(v) {
                Ok(v.to_string())
            } else {
                Err(FieldError::new(&field, "err.choice"))
            }
        }
        QuestionKind::Multi => {
            let mut keys: Vec<&str> = Vec::new();
            for v in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
                if v.is_empty() {
                    continue;
                }
                if !is_choice(v) {
                    return Err(FieldError::new(&field, "err.choice"));
                }
                if !keys.contains(&v) {
                    keys.push(v);
                }
            }
            // In the questions' order, so equal answers are equal strings.
            Ok(q.choices
                .iter()
                .filter(|c| keys.contains(&c.key.as_str()))
                .map(|c| c.key.as_str())
                .collect::<Vec<_>>()
                .join(","))
        }
    }
}

/// A stored answer in words: choice keys become their names.
pub fn answer_text(q: &Question, value: &str) -> String {
    if !q.kind.has_choices() {
        return value.to_string();
    }
    value
        .split(',')
        .map(|k| {
            q.choices
                .iter()
                .find(|c| c.key == k)
                .map_or(k, |c| c.name.as_str())
        })
        .collect::<Vec<_>>()
        .join("、")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &[&str])]) -> RawAnswers {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_string(),
                    v.iter().map(|s| (*s).to_string()).collect(),
                )
            })
            .collect()
    }

    fn questions() -> Vec<Question> {
        let q = |code: &str, kind, required, choices: &str| {
            let i = QuestionInput::parse(code, code, "", kind, required, choices).unwrap();
            Question {
                code: i.code,
                kind: i.kind,
                required: i.required,
                choices: i.choices,
            }
        };
        vec![
            q("age", "number", true, ""),
            q("school", "single", false, "primary=小学\njunior=初中"),
            q("needs", "multi", false, "书包\n校服\n午餐"),
            q("since", "date", false, ""),
            q("note", "text", false, "ignored"),
        ]
    }

    #[test]
    fn choices_parse_with_and_without_keys() {
        let q =
            QuestionInput::parse("Kids", "子女", "", "multi", false, "a=甲\n\n b = 乙 ").unwrap();
        assert_eq!(q.code, "kids");
        assert_eq!(format_choices(&q.choices), "a=甲\nb=乙");
        let q = QuestionInput::parse("k", "l", "", "single", false, "是\n否").unwrap();
        assert_eq!(
            q.choices[1],
            Choice {
                key: "2".into(),
                name: "否".into()
            }
        );
        let e = QuestionInput::parse("k", "l", "", "single", false, "").unwrap_err();
        assert_eq!(
            (e.0[0].field.as_str(), e.0[0].reason),
            ("choices", "err.required")
        );
        let e = QuestionInput::parse("k", "l", "", "single", false, "A B=x").unwrap_err();
        assert_eq!(e.0[0].reason, "err.question.choice_key");
        let e = QuestionInput::parse("a-b", "", "", "colour", false, "").unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["code", "label", "kind"]);
        assert!(
            QuestionInput::parse("k", "l", "", "text", false, "x")
                .unwrap()
                .choices
                .is_empty()
        );
    }

    #[test]
    fn answers_are_checked_and_canonical() {
        let qs = questions();
        let ok = check_answers(
            &qs,
            &raw(&[
                ("age", &[" 12.0 "]),
                ("school", &["junior"]),
                ("needs", &["3", "1,3"]),
                ("since", &["2026-09-01T08:00:00+08:00"]),
                ("note", &[""]),
            ]),
        )
        .unwrap();
        assert_eq!(
            ok,
            [
                (0, "12".to_string()),
                (1, "junior".into()),
                (2, "1,3".into()),
                (3, "2026-09-01".into())
            ]
        );
        assert_eq!(answer_text(&qs[2], "1,3"), "书包、午餐");
        assert_eq!(answer_text(&qs[0], "12"), "12");
    }

    #[test]
    fn bad_answers_name_their_question() {
        let qs = questions();
        let e = check_answers(
            &qs,
            &raw(&[
                ("school", &["college"]),
                ("needs", &["9"]),
                ("since", &["yesterday"]),
                ("colour", &["red"]),
            ]),
        )
        .unwrap_err();
        let got: Vec<(&str, &str)> = e.0.iter().map(|x| (x.field.as_str(), x.reason)).collect();
        assert_eq!(
            got,
            [
                ("answer.colour", "err.question.unknown"),
                ("answer.age", "err.required"),
                ("answer.school", "err.choice"),
                ("answer.needs", "err.choice"),
                ("answer.since", "err.date"),
            ]
        );
        let e = check_answers(&qs, &raw(&[("age", &["1", "2"])])).unwrap_err();
        assert_eq!(e.0[0].reason, "err.question.one_value");
        let e = check_answers(&qs, &raw(&[("age", &["NaN"])])).unwrap_err();
        assert_eq!(e.0[0].reason, "err.decimal");
    }
}
