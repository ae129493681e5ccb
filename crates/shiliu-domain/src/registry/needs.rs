//! Needs surveys (就业需求摸排), the needs they find, and the services delivered (就业安置,
//! 技能培训, 补贴, 入学…): a campaign's questions are the requests' extra-question rules
//! ([`crate::requests::questions`]), so one checker serves both.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{choice, optional_text, past_day, required_text};
use crate::requests::questions::{Choice, Question, QuestionInput, QuestionKind};
use crate::{FieldError, FieldErrors, code_enum};

code_enum! {
    /// What a household member needs, as a survey finds it.
    pub enum NeedKind {
        /// 就业岗位
        Job = "job",
        /// 技能培训
        Training = "training",
        /// 子女入学入园
        School = "school",
        /// 住房
        Housing = "housing",
        /// 法律服务
        Legal = "legal",
        /// 困难救助
        Relief = "relief",
        /// 医疗
        Health = "health",
        Other = "other",
    }
}

impl NeedKind {
    /// The request category a need of this kind becomes (`DEFAULT_CATEGORIES`' codes).
    pub fn category_code(self) -> &'static str {
        match self {
            NeedKind::Job | NeedKind::Training => "jobs_training",
            NeedKind::School => "school_places",
            NeedKind::Housing => "renting",
            NeedKind::Legal => "legal_aid",
            NeedKind::Relief => "hardship_relief",
            NeedKind::Health => "health",
            NeedKind::Other => "other",
        }
    }

    /// The service that meets a need of this kind.
    pub fn met_by(self) -> ServiceKind {
        match self {
            NeedKind::Job => ServiceKind::JobPlacement,
            NeedKind::Training => ServiceKind::Training,
            NeedKind::School => ServiceKind::SchoolPlace,
            NeedKind::Housing => ServiceKind::Housing,
            NeedKind::Legal => ServiceKind::Legal,
            NeedKind::Relief => ServiceKind::Subsidy,
            NeedKind::Health | NeedKind::Other => ServiceKind::Other,
        }
    }
}

code_enum! {
    /// Where a need stands.
    pub enum NeedStatus {
        /// Found by the survey; nothing decided yet.
        Open = "open",
        /// In a service plan: who will provide it, by when.
        Planned = "planned",
        /// Became a request (诉求), handled there.
        Requested = "requested",
        /// A service delivered met it.
        Met = "met",
    }
}

code_enum! {
    /// A service delivered to a person.
    pub enum ServiceKind {
        /// 就业安置 / 推荐就业
        JobPlacement = "job_placement",
        /// 技能培训
        Training = "training",
        /// 补贴发放（交通补贴、稳岗补贴…）
        Subsidy = "subsidy",
        /// 子女入学入园
        SchoolPlace = "school_place",
        /// 住房保障
        Housing = "housing",
        /// 法律服务
        Legal = "legal",
        Other = "other",
    }
}

code_enum! {
    pub enum SurveyStatus {
        Open = "open",
        Closed = "closed",
    }
}

/// A campaign's question as stored with the survey (the same rules as a category's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyQuestion {
    pub code: String,
    pub label: String,
    pub kind: String,
    pub required: bool,
    #[serde(default)]
    pub choices: Vec<Choice>,
}

impl SurveyQuestion {
    /// The rule the answers are checked by.
    pub fn question(&self) -> Question {
        Question {
            code: self.code.clone(),
            kind: QuestionKind::parse(&self.kind).unwrap_or(QuestionKind::Text),
            required: self.required,
            choices: self.choices.clone(),
        }
    }
}

/// The most questions a campaign asks beside the needs themselves.
pub const MAX_SURVEY_QUESTIONS: usize = 10;

/// A question row of the campaign form: label, kind, required, choices (one per line).
pub type QuestionRow = (String, String, bool, String);

/// A survey campaign as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyInput {
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub questions: Vec<SurveyQuestion>,
}

impl SurveyInput {
    /// Blank question rows are skipped; the others are numbered `q1`, `q2`… and their errors
    /// named `q{n}.{field}`.
    pub fn parse(
        name: &str,
        starts_on: &str,
        ends_on: &str,
        rows: &[QuestionRow],
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(required_text("name", name, 60));
        let day = |field: &str, v: &str| {
            NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| {
                FieldError::new(
                    field,
                    if v.trim().is_empty() {
                        "err.required"
                    } else {
                        "err.date"
                    },
                )
            })
        };
        let starts_on = errs.check(day("starts_on", starts_on));
        let ends_on = errs.check(day("ends_on", ends_on));
        if let (Some(s), Some(e)) = (starts_on, ends_on)
            && e < s
        {
            errs.push(FieldError::new("ends_on", "err.date.before_start"));
        }
        let mut questions = Vec::new();
        for (i, (label, kind, required, choices)) in
            rows.iter().filter(|r| !r.0.trim().is_empty()).enumerate()
        {
            let n = i + 1;
            if n > MAX_SURVEY_QUESTIONS {
                errs.push(
                    FieldError::new("questions", "err.too_many_items")
                        .arg("max", MAX_SURVEY_QUESTIONS),
                );
                break;
            }
            match QuestionInput::parse(&format!("q{n}"), label, "", kind, *required, choices) {
                Ok(q) => questions.push(SurveyQuestion {
                    code: q.code,
                    label: q.label,
                    kind: q.kind.as_str().to_string(),
                    required: q.required,
                    choices: q.choices,
                }),
                Err(e) => {
                    for x in e.0 {
                        let field = format!("q{n}.{}", x.field);
                        errs.push(x.on(field));
                    }
                }
            }
        }
        errs.into_result()?;
        let missing = "checked above";
        Ok(Self {
            name: name.expect(missing),
            starts_on: starts_on.expect(missing),
            ends_on: ends_on.expect(missing),
            questions,
        })
    }
}

/// A need found for one member: what, and a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedInput {
    pub person_id: i64,
    pub kind: NeedKind,
    pub note: Option<String>,
}

/// A need as the form sends it: a member, a kind, a note; errors named `need.{person}.{field}`.
pub fn need(person_id: i64, kind: &str, note: &str) -> Result<NeedInput, FieldErrors> {
    let field = |f: &str| format!("need.{person_id}.{f}");
    let mut errs = FieldErrors::new();
    let k = errs.check(choice(&field("kind"), kind, NeedKind::parse));
    let note = errs.check(optional_text(&field("note"), note, 200));
    errs.into_result()?;
    Ok(NeedInput {
        person_id,
        kind: k.expect("checked above"),
        note: note.flatten(),
    })
}

/// A service plan for a need: who provides it, by when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput {
    pub provider: String,
    pub planned_on: NaiveDate,
}

impl PlanInput {
    pub fn parse(provider: &str, planned_on: &str, today: NaiveDate) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let provider = errs.check(required_text("provider", provider, 100));
        let planned_on = errs.check(
            NaiveDate::parse_from_str(planned_on.trim(), "%Y-%m-%d")
                .map_err(|_| FieldError::new("planned_on", "err.date"))
                .and_then(|d| {
                    if d < today {
                        Err(FieldError::new("planned_on", "err.date.past"))
                    } else {
                        Ok(d)
                    }
                }),
        );
        errs.into_result()?;
        Ok(Self {
            provider: provider.expect("checked above"),
            planned_on: planned_on.expect("checked above"),
        })
    }
}

/// The largest amount one service records, in yuan.
pub const MAX_AMOUNT_YUAN: i64 = 1_000_000;

/// A service delivered, as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInput {
    pub kind: ServiceKind,
    pub delivered_on: NaiveDate,
    pub provider: String,
    /// In fen (分): a subsidy's money; none for most services.
    pub amount_fen: Option<i64>,
    pub note: Option<String>,
}

impl ServiceInput {
    pub fn parse(
        kind: &str,
        delivered_on: &str,
        provider: &str,
        amount: &str,
        note: &str,
        today: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let kind = errs.check(choice("kind", kind, ServiceKind::parse));
        let delivered_on = errs.check(past_day("delivered_on", delivered_on, today));
        let provider = errs.check(required_text("provider", provider, 100));
        let amount_fen = errs.check(yuan("amount", amount)).flatten();
        let note = errs.check(optional_text("note", note, 500)).flatten();
        errs.into_result()?;
        let missing = "checked above";
        Ok(Self {
            kind: kind.expect(missing),
            delivered_on: delivered_on.expect(missing),
            provider: provider.expect(missing),
            amount_fen,
            note,
        })
    }
}

/// An amount in yuan with at most two decimals (`1200`, `85.5`), as fen; blank is none.
pub fn yuan(field: &str, value: &str) -> Result<Option<i64>, FieldError> {
    let v = value.trim().trim_end_matches('元').trim();
    if v.is_empty() {
        return Ok(None);
    }
    let bad = || FieldError::new(field, "err.amount").arg("max", MAX_AMOUNT_YUAN);
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if whole.is_empty()
        || whole.len() > 7
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let yuan: i64 = whole.parse().map_err(|_| bad())?;
    let fen: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    if yuan > MAX_AMOUNT_YUAN {
        return Err(bad());
    }
    Ok(Some(yuan * 100 + fen))
}

/// Fen as yuan for reading: `120000` → `1200`, `8550` → `85.50`.
pub fn show_yuan(fen: i64) -> String {
    if fen % 100 == 0 {
        (fen / 100).to_string()
    } else {
        format!("{}.{:02}", fen / 100, fen % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_campaign_numbers_its_questions_and_names_their_errors() {
        let rows = vec![
            (
                "目前就业状况".into(),
                "single".into(),
                true,
                "a=已就业\nb=未就业".into(),
            ),
            (String::new(), "text".into(), false, String::new()),
            ("期望月收入".into(), "number".into(), false, String::new()),
        ];
        let s =
            SurveyInput::parse("易地搬迁户就业摸排", "2026-11-01", "2026-12-31", &rows).unwrap();
        let codes: Vec<_> = s.questions.iter().map(|q| q.code.as_str()).collect();
        assert_eq!(codes, ["q1", "q2"]);
        assert_eq!(s.questions[0].question().kind, QuestionKind::Single);
        let bad = vec![("技能".into(), "single".into(), true, String::new())];
        let e = SurveyInput::parse("", "2026-12-01", "2026-11-01", &bad).unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|e| (e.field.as_str(), e.reason)).collect();
        assert_eq!(
            fields,
            [
                ("name", "err.required"),
                ("ends_on", "err.date.before_start"),
                ("q1.choices", "err.required")
            ]
        );
    }

    #[test]
    fn amounts_are_kept_in_fen() {
        assert_eq!(yuan("amount", "1200").unwrap(), Some(120_000));
        assert_eq!(yuan("amount", " 85.5元").unwrap(), Some(8_550));
        assert_eq!(yuan("amount", "").unwrap(), None);
        for bad in ["-3", "1.234", "abc", "2000000", ".5"] {
            assert_eq!(
                yuan("amount", bad).unwrap_err().reason,
                "err.amount",
                "{bad}"
            );
        }
        assert_eq!(show_yuan(120_000), "1200");
        assert_eq!(show_yuan(8_550), "85.50");
    }

    #[test]
    fn services_and_plans_are_checked() {
        let today = day("2026-11-22");
        let s = ServiceInput::parse("job_placement", "2026-11-20", "南宁某电子厂", "", "", today)
            .unwrap();
        assert_eq!((s.kind, s.amount_fen), (ServiceKind::JobPlacement, None));
        let e = ServiceInput::parse("x", "2026-12-01", "", "1.001", "", today).unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["kind", "delivered_on", "provider", "amount"]);
        assert!(PlanInput::parse("人社局", "2026-11-21", today).is_err());
        assert_eq!(NeedKind::Relief.met_by(), ServiceKind::Subsidy);
        assert_eq!(need(7, "job", "想进厂").unwrap().kind, NeedKind::Job);
        assert_eq!(need(7, "fly", "").unwrap_err().0[0].field, "need.7.kind");
    }
}
