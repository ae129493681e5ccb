//! What was said, and what is done about it (“怎么说”的任务清单 · “怎么做”的工作台账): an
//! instruction — a leader's speech, a document with its 文号, a meeting's decision — is kept with
//! its day and its words, and linked to the plan's tasks that carry it out; the units' ledger
//! reports on those tasks are what was done about it.

use chrono::NaiveDate;

use super::day;
use crate::code_enum;
use crate::error::{FieldError, FieldErrors, optional_text, required_text};

code_enum! {
    /// Where an instruction comes from: 讲话 (a speech), 文件 (a document), 会议 (a meeting).
    pub enum InstructionSource {
        Speech = "speech",
        Document = "document",
        Meeting = "meeting",
    }
}

/// An instruction as its form sends it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructionInput {
    pub source: InstructionSource,
    pub title: String,
    /// 文号 (柳办发〔2024〕12号), for a document.
    pub reference: Option<String>,
    /// Who said or issued it.
    pub issuer: Option<String>,
    pub said_on: NaiveDate,
    pub body: String,
    /// The tasks that carry it out (ids of the plan's items; checked there).
    pub items: Vec<i64>,
}

/// What an instruction's form holds, as sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstructionFields<'a> {
    pub source: &'a str,
    pub title: &'a str,
    pub reference: &'a str,
    pub issuer: &'a str,
    pub said_on: &'a str,
    pub body: &'a str,
}

impl InstructionInput {
    /// Every field checked; a document names its 文号; the day is not after `today`; at least
    /// one task carries it out.
    pub fn parse(
        f: InstructionFields,
        items: &[String],
        today: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let source = InstructionSource::parse(f.source.trim());
        if source.is_none() {
            errs.push(FieldError::new("source", "err.choice"));
        }
        let title = errs.check(required_text("title", f.title, 200));
        let reference = errs.check(optional_text("reference", f.reference, 60));
        if source == Some(InstructionSource::Document) && reference == Some(None) {
            errs.push(FieldError::new("reference", "err.tasks.reference_required"));
        }
        let issuer = errs.check(optional_text("issuer", f.issuer, 100));
        let said_on = errs.check(day("said_on", f.said_on));
        if said_on.is_some_and(|d| d > today) {
            errs.push(FieldError::new("said_on", "err.date.future"));
        }
        let body = errs.check(required_text("body", f.body, 10_000));
        let items = errs.check(picked_items(items));
        match (source, title, reference, issuer, said_on, body, items) {
            (
                Some(source),
                Some(title),
                Some(reference),
                Some(issuer),
                Some(said_on),
                Some(body),
                Some(items),
            ) if errs.is_empty() => Ok(Self {
                source,
                title,
                reference,
                issuer,
                said_on,
                body,
                items,
            }),
            _ => Err(errs),
        }
    }
}

/// The tasks ticked (at least one; each once).
pub fn picked_items(items: &[String]) -> Result<Vec<i64>, FieldError> {
    let mut ids = Vec::new();
    for v in items.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        let id: i64 = v
            .parse()
            .map_err(|_| FieldError::new("items", "err.choice"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(FieldError::new("items", "err.tasks.items_required"));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn reasons(e: &FieldErrors) -> Vec<(&str, &str)> {
        e.0.iter().map(|e| (e.field.as_str(), e.reason)).collect()
    }

    #[test]
    fn an_instruction_names_its_source_day_words_and_the_tasks_carrying_it_out() {
        let f = InstructionFields {
            source: "document",
            title: "关于深入推进民族团结进步创建工作的通知",
            reference: "柳办发〔2024〕12号",
            issuer: "市委办公室",
            said_on: "2027-02-10",
            body: "各县区、各部门要紧盯清单台账抓落实。",
        };
        let ok = InstructionInput::parse(f, &["3".into(), "5".into(), "3".into()], d("2027-03-01"))
            .unwrap();
        assert_eq!(ok.items, vec![3, 5]);
        assert_eq!(ok.reference.as_deref(), Some("柳办发〔2024〕12号"));
        // A document without its 文号, a day to come, no task.
        let e = InstructionInput::parse(
            InstructionFields {
                reference: " ",
                ..f
            },
            &[],
            d("2027-02-01"),
        )
        .unwrap_err();
        assert_eq!(
            reasons(&e),
            vec![
                ("reference", "err.tasks.reference_required"),
                ("said_on", "err.date.future"),
                ("items", "err.tasks.items_required"),
            ]
        );
        // A speech needs no 文号; an unknown source is named.
        let speech = InstructionFields {
            source: "speech",
            reference: "",
            ..f
        };
        assert!(InstructionInput::parse(speech, &["1".into()], d("2027-03-01")).is_ok());
        let e = InstructionInput::parse(
            InstructionFields {
                source: "rumour",
                ..speech
            },
            &["x".into()],
            d("2027-03-01"),
        )
        .unwrap_err();
        assert_eq!(
            reasons(&e),
            vec![("source", "err.choice"), ("items", "err.choice")]
        );
    }
}
