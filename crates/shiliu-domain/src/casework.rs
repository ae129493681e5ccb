//! Casework that grows out of a request: a dispute to mediate (矛盾纠纷调解) and a legal-aid
//! case (法律援助). Each is opened from the request it came from, keeps its own records
//! (parties, mediators and sessions; consultations) and ends with an outcome; once closed it
//! takes no more records.

use chrono::NaiveDate;

use crate::error::{choice, optional_text, past_day, required_text};
use crate::mobile::Mobile;
use crate::{FieldError, FieldErrors, code_enum};

code_enum! {
    /// What a dispute is about (the categories of the joint mediation rooms' ledgers).
    pub enum DisputeKind {
        /// 婚姻家庭
        Family = "family",
        /// 邻里纠纷
        Neighbours = "neighbours",
        /// 劳动争议 (unpaid wages among them)
        Labour = "labour",
        /// 房屋租赁
        Tenancy = "tenancy",
        /// 土地山林
        Land = "land",
        /// 债务
        Debt = "debt",
        /// 其他
        Other = "other",
    }
}

code_enum! {
    /// Where a dispute stands: registered, being mediated (a session was held), closed.
    pub enum DisputeStatus {
        Open = "open",
        Mediating = "mediating",
        Closed = "closed",
    }
}

code_enum! {
    /// How mediation ended.
    pub enum MediationOutcome {
        /// 调解成功
        Success = "success",
        /// 调解不成
        Failure = "failure",
    }
}

code_enum! {
    /// A party's side in a dispute.
    pub enum PartySide {
        /// 申请人
        Applicant = "applicant",
        /// 被申请人
        Respondent = "respondent",
        /// 第三人
        Third = "third",
    }
}

code_enum! {
    /// How a lawyer and the resident met for a consultation.
    pub enum ConsultationMode {
        InPerson = "in_person",
        Phone = "phone",
        Online = "online",
    }
}

code_enum! {
    /// Where a legal-aid case stands.
    pub enum CaseStatus {
        Open = "open",
        Closed = "closed",
    }
}

/// A dispute registered from a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeInput {
    pub kind: DisputeKind,
    pub summary: String,
}

impl DisputeInput {
    pub fn parse(kind: &str, summary: &str) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let kind = errs.check(choice("dispute_kind", kind, DisputeKind::parse));
        let summary = errs.check(required_text("summary", summary, 2000));
        errs.into_result()?;
        Ok(Self {
            kind: kind.unwrap_or(DisputeKind::Other),
            summary: summary.unwrap_or_default(),
        })
    }
}

/// A party to a dispute. The phone is optional (a party may not give one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyInput {
    pub side: PartySide,
    pub name: String,
    /// GB 3304 code of the party's people, when given.
    pub people: Option<String>,
    pub phone: Option<Mobile>,
}

impl PartyInput {
    pub fn parse(side: &str, name: &str, people: &str, phone: &str) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let side = errs.check(choice("side", side, PartySide::parse));
        let name = errs.check(required_text("party_name", name, 40));
        let people = match people.trim() {
            "" => None,
            p => {
                let found = crate::peoples::by_code(p).or_else(|| crate::peoples::by_name(p));
                if found.is_none() {
                    errs.push(FieldError::new("people", "err.choice"));
                }
                found.map(|x| x.code.to_string())
            }
        };
        let phone = if phone.trim().is_empty() {
            None
        } else {
            errs.check(Mobile::parse(phone).map_err(|e| e.on("phone")))
        };
        errs.into_result()?;
        Ok(Self {
            side: side.unwrap_or(PartySide::Applicant),
            name: name.unwrap_or_default(),
            people,
            phone,
        })
    }
}

/// A mediator on a dispute: a person of the joint mediation room, from their organisation
/// (司法所, 派出所, 人民法庭, 民族之家…), with or without an account. One with an account (a
/// legal-aid user, picked by user name) is named by it and sees the dispute they mediate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediatorInput {
    pub name: String,
    pub organisation: Option<String>,
    /// The user name of a mediator with an account.
    pub user: Option<String>,
}

impl MediatorInput {
    pub fn parse(name: &str, organisation: &str, user: &str) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let user = Some(user.trim().to_string()).filter(|u| !u.is_empty());
        let name = if user.is_some() {
            errs.check(optional_text("mediator_name", name, 40))
                .flatten()
        } else {
            errs.check(required_text("mediator_name", name, 40))
        };
        let organisation = errs
            .check(optional_text("organisation", organisation, 80))
            .flatten();
        errs.into_result()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            organisation,
            user,
        })
    }
}

/// A mediation session held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInput {
    pub held_on: NaiveDate,
    pub place: Option<String>,
    pub notes: String,
}

impl SessionInput {
    pub fn parse(
        held_on: &str,
        place: &str,
        notes: &str,
        today: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let held_on = errs.check(past_day("held_on", held_on, today));
        let place = errs.check(optional_text("place", place, 200)).flatten();
        let notes = errs.check(required_text("notes", notes, 4000));
        errs.into_result()?;
        Ok(Self {
            held_on: held_on.unwrap_or(today),
            place,
            notes: notes.unwrap_or_default(),
        })
    }
}

/// The end of mediation: a success needs the agreement's text (调解协议).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeOutcomeInput {
    pub outcome: MediationOutcome,
    pub agreement: Option<String>,
}

impl DisputeOutcomeInput {
    pub fn parse(outcome: &str, agreement: &str) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let outcome = errs.check(choice(
            "mediation_outcome",
            outcome,
            MediationOutcome::parse,
        ));
        let agreement = errs
            .check(optional_text("agreement", agreement, 8000))
            .flatten();
        if outcome == Some(MediationOutcome::Success) && agreement.is_none() {
            errs.push(FieldError::new("agreement", "err.dispute.agreement"));
        }
        errs.into_result()?;
        Ok(Self {
            outcome: outcome.unwrap_or(MediationOutcome::Failure),
            agreement,
        })
    }
}

/// A legal-aid case opened from a request, for a lawyer (by user name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalAidInput {
    pub lawyer: String,
    pub matter: String,
}

impl LegalAidInput {
    pub fn parse(lawyer: &str, matter: &str) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let lawyer = errs.check(required_text("lawyer", lawyer, 64));
        let matter = errs.check(required_text("matter", matter, 2000));
        errs.into_result()?;
        Ok(Self {
            lawyer: lawyer.unwrap_or_default(),
            matter: matter.unwrap_or_default(),
        })
    }
}

/// A consultation a lawyer gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultationInput {
    pub held_on: NaiveDate,
    pub mode: ConsultationMode,
    pub summary: String,
    pub advice: String,
    pub minutes: Option<i32>,
}

impl ConsultationInput {
    pub fn parse(
        held_on: &str,
        mode: &str,
        summary: &str,
        advice: &str,
        minutes: &str,
        today: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let held_on = errs.check(past_day("held_on", held_on, today));
        let mode = errs.check(choice("mode", mode, ConsultationMode::parse));
        let summary = errs.check(required_text("summary", summary, 4000));
        let advice = errs.check(required_text("advice", advice, 4000));
        let minutes = match minutes.trim() {
            "" => None,
            m => match m.parse::<i32>() {
                Ok(n) if (1..=1440).contains(&n) => Some(n),
                Ok(_) => {
                    errs.push(
                        FieldError::new("minutes", "err.range")
                            .arg("min", 1)
                            .arg("max", 1440),
                    );
                    None
                }
                Err(_) => {
                    errs.push(FieldError::new("minutes", "err.number"));
                    None
                }
            },
        };
        errs.into_result()?;
        Ok(Self {
            held_on: held_on.unwrap_or(today),
            mode: mode.unwrap_or(ConsultationMode::InPerson),
            summary: summary.unwrap_or_default(),
            advice: advice.unwrap_or_default(),
            minutes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn fields(e: &FieldErrors) -> Vec<&str> {
        e.0.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn a_successful_mediation_needs_its_agreement() {
        let e = DisputeOutcomeInput::parse("success", " ").unwrap_err();
        assert_eq!(fields(&e), ["agreement"]);
        assert!(DisputeOutcomeInput::parse("failure", "").is_ok());
        assert_eq!(
            fields(&DisputeOutcomeInput::parse("maybe", "").unwrap_err()),
            ["mediation_outcome"]
        );
    }

    #[test]
    fn records_are_checked_field_by_field() {
        let e = PartyInput::parse("judge", "", "火星族", "123").unwrap_err();
        assert_eq!(fields(&e), ["side", "party_name", "people", "phone"]);
        let p = PartyInput::parse("respondent", "韦某", "壮族", "").unwrap();
        assert_eq!(p.people.as_deref(), Some("08"), "壮族 is 08 in GB 3304");
        let e = SessionInput::parse("2026-12-01", "", "", today()).unwrap_err();
        assert_eq!(
            fields(&e),
            ["held_on", "notes"],
            "no sessions in the future"
        );
        let e = ConsultationInput::parse("2026-11-20", "fax", "问", "", "0", today()).unwrap_err();
        assert_eq!(fields(&e), ["mode", "advice", "minutes"]);
        let c = ConsultationInput::parse("2026-11-20", "phone", "问", "答", "30", today()).unwrap();
        assert_eq!(c.minutes, Some(30));
        assert_eq!(
            fields(&DisputeInput::parse("", "x").unwrap_err()),
            ["dispute_kind"]
        );
        assert_eq!(
            fields(&LegalAidInput::parse("", "").unwrap_err()),
            ["lawyer", "matter"]
        );
    }
}
