//! The migrant registry (流动人口服务管理): a person's particulars as registered, their place
//! in a household, what they consented to, and the self-declaration (自主申报) a grid worker
//! verifies (核验).
//!
//! One parser ([`PersonInput::parse`]) serves every way a person arrives: a staff form, the
//! public self-registration page, the JSON API and a row of an imported register.

pub mod import;
pub mod needs;

use chrono::NaiveDate;

use crate::error::{choice, optional_text, past_day, required_text};
use crate::id_number::{IdNumber, Sex};
use crate::mobile::Mobile;
use crate::{FieldError, FieldErrors, code_enum, divisions, peoples};

code_enum! {
    /// Employment status (就业状况), as the needs surveys (就业需求摸排) ask it.
    pub enum Employment {
        /// 受雇就业
        Employed = "employed",
        /// 自主创业 / 个体经营
        SelfEmployed = "self_employed",
        /// 灵活就业
        Flexible = "flexible",
        /// 失业 / 待业
        Unemployed = "unemployed",
        /// 在校学生
        Student = "student",
        /// 退休 / 无劳动能力
        NotWorking = "not_working",
    }
}

code_enum! {
    /// A member's relation to the head of the household (与户主关系).
    pub enum Relation {
        Head = "head",
        Spouse = "spouse",
        Child = "child",
        Parent = "parent",
        Grandchild = "grandchild",
        Grandparent = "grandparent",
        Sibling = "sibling",
        Other = "other",
    }
}

code_enum! {
    /// Tags that decide who is offered which service; statistics count by them.
    pub enum PersonTag {
        /// 困难群众
        Hardship = "hardship",
        /// 易地扶贫搬迁
        Relocated = "relocated",
        /// 残疾人
        Disabled = "disabled",
        /// 独居老人
        ElderlyAlone = "elderly_alone",
        /// 留守儿童
        LeftBehindChild = "left_behind_child",
        /// 退役军人
        Veteran = "veteran",
    }
}

code_enum! {
    /// What a person agreed their data may be used for.
    pub enum ConsentPurpose {
        /// 居住登记与服务: keeping the record and serving them here (needed to register).
        Registration = "registration",
        /// 流出地联动: showing the record to their home county's staff.
        Linkage = "linkage",
        /// 通知: being contacted by text message about services.
        Contact = "contact",
    }
}

code_enum! {
    /// Where a consent was given.
    pub enum ConsentChannel {
        /// The public self-registration page.
        SelfService = "self_service",
        /// In person, recorded by staff (a signed paper form).
        Staff = "staff",
        /// Carried over from an imported register.
        Import = "import",
    }
}

code_enum! {
    /// Whether the person still lives in the area that registered them.
    pub enum PersonStatus {
        Resident = "resident",
        /// 已迁出
        MovedOut = "moved_out",
    }
}

code_enum! {
    /// A self-declaration's state in the grid worker's queue.
    pub enum DeclarationStatus {
        /// 待核验
        Pending = "pending",
        /// 已核验: the register now holds it.
        Confirmed = "confirmed",
        /// 已退回, with a reason the declarant sees.
        Rejected = "rejected",
    }
}

/// A person's particulars as typed: every field a string, as forms, the API and imports
/// deliver them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PersonForm {
    pub name: String,
    pub id_number: String,
    pub sex: String,
    pub birth_date: String,
    pub people: String,
    pub mobile: String,
    /// 户籍地: a division code, e.g. `522633` (从江县).
    pub hukou: String,
    pub address: String,
    pub arrived_on: String,
    pub occupation: String,
    pub employer: String,
    pub employment: String,
    pub tags: Vec<String>,
}

impl PersonForm {
    /// Set a field by its form name; `tags` adds one. False for a name that is not a field.
    pub fn set(&mut self, field: &str, value: String) -> bool {
        let slot = match field {
            "name" => &mut self.name,
            "id_number" => &mut self.id_number,
            "sex" => &mut self.sex,
            "birth_date" => &mut self.birth_date,
            "people" => &mut self.people,
            "mobile" => &mut self.mobile,
            "hukou" => &mut self.hukou,
            "address" => &mut self.address,
            "arrived_on" => &mut self.arrived_on,
            "occupation" => &mut self.occupation,
            "employer" => &mut self.employer,
            "employment" => &mut self.employment,
            "tags" => {
                self.tags.push(value);
                return true;
            }
            _ => return false,
        };
        *slot = value;
        true
    }
}

/// A person's particulars, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonInput {
    pub name: String,
    pub id_number: Option<IdNumber>,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    /// GB 3304 code.
    pub people: &'static str,
    pub mobile: Option<Mobile>,
    /// Division code of the household registration place.
    pub hukou: &'static str,
    pub address: String,
    pub arrived_on: Option<NaiveDate>,
    pub occupation: Option<String>,
    pub employer: Option<String>,
    pub employment: Option<Employment>,
    pub tags: Vec<PersonTag>,
}

fn parse_sex(value: &str) -> Option<Sex> {
    match value.trim() {
        "male" | "男" | "1" => Some(Sex::Male),
        "female" | "女" | "2" => Some(Sex::Female),
        _ => None,
    }
}

fn parse_people(value: &str) -> Result<&'static str, FieldError> {
    const F: &str = "people";
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(F, "err.required"));
    }
    peoples::by_code(v)
        .or_else(|| peoples::by_name(v))
        .map(|p| p.code)
        .ok_or_else(|| FieldError::new(F, "err.people.unknown").arg("value", v))
}

/// Any division of China down to the county (and Guangxi's townships) is a valid 户籍地.
pub fn parse_division(field: &str, value: &str) -> Result<&'static str, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "err.required"));
    }
    divisions::get(v)
        .map(|d| d.code)
        .ok_or_else(|| FieldError::new(field, "err.division.unknown").arg("code", v))
}

impl PersonInput {
    /// Check a person's particulars. Sex and birth date come from the ID number when one is
    /// given (a different value typed beside it is an error, not silently overruled); the
    /// 户籍地 defaults to the county the number was issued in.
    pub fn parse(f: &PersonForm, today: NaiveDate) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(required_text("name", &f.name, 50));
        let id = if f.id_number.trim().is_empty() {
            None
        } else {
            errs.check(IdNumber::parse_on(&f.id_number, today))
        };
        let sex = errs.check(Self::sex(f, id.as_ref()));
        let birth_date = errs.check(Self::birth_date(f, id.as_ref(), today));
        let people = errs.check(parse_people(&f.people));
        let mobile = if f.mobile.trim().is_empty() {
            None
        } else {
            errs.check(Mobile::parse(&f.mobile))
        };
        let hukou = errs.check(match (&id, f.hukou.trim()) {
            (Some(id), "") => divisions::get(id.region_code())
                .map(|d| d.code)
                .ok_or_else(|| FieldError::new("hukou", "err.required")),
            _ => parse_division("hukou", &f.hukou),
        });
        let address = errs.check(required_text("address", &f.address, 200));
        let arrived_on = if f.arrived_on.trim().is_empty() {
            None
        } else {
            errs.check(past_day("arrived_on", &f.arrived_on, today))
        };
        if let (Some(a), Some(b)) = (arrived_on, birth_date)
            && a < b
        {
            errs.push(FieldError::new(
                "arrived_on",
                "err.person.arrived_before_birth",
            ));
        }
        let occupation = errs.check(optional_text("occupation", &f.occupation, 100));
        let employer = errs.check(optional_text("employer", &f.employer, 100));
        let employment = if f.employment.trim().is_empty() {
            None
        } else {
            errs.check(choice("employment", &f.employment, Employment::parse))
        };
        let mut tags = Vec::new();
        for t in f.tags.iter().filter(|t| !t.trim().is_empty()) {
            if let Some(tag) = errs.check(choice("tags", t, PersonTag::parse))
                && !tags.contains(&tag)
            {
                tags.push(tag);
            }
        }
        tags.sort();
        errs.into_result()?;
        let missing = "checked above";
        Ok(Self {
            name: name.expect(missing),
            id_number: id,
            sex: sex.expect(missing),
            birth_date: birth_date.expect(missing),
            people: people.expect(missing),
            mobile,
            hukou: hukou.expect(missing),
            address: address.expect(missing),
            arrived_on,
            occupation: occupation.flatten(),
            employer: employer.flatten(),
            employment,
            tags,
        })
    }

    fn sex(f: &PersonForm, id: Option<&IdNumber>) -> Result<Sex, FieldError> {
        let typed = f.sex.trim();
        match (id, typed) {
            (Some(id), "") => Ok(id.sex()),
            (_, "") => Err(FieldError::new("sex", "err.required")),
            (id, v) => {
                let sex = parse_sex(v).ok_or_else(|| FieldError::new("sex", "err.choice"))?;
                match id {
                    Some(id) if id.sex() != sex => {
                        Err(FieldError::new("sex", "err.person.differs_from_id"))
                    }
                    _ => Ok(sex),
                }
            }
        }
    }

    fn birth_date(
        f: &PersonForm,
        id: Option<&IdNumber>,
        today: NaiveDate,
    ) -> Result<NaiveDate, FieldError> {
        match (id, f.birth_date.trim()) {
            (Some(id), "") => Ok(id.birth_date()),
            (id, typed) => {
                let d = past_day("birth_date", typed, today)?;
                match id {
                    Some(id) if id.birth_date() != d => {
                        Err(FieldError::new("birth_date", "err.person.differs_from_id"))
                    }
                    _ => Ok(d),
                }
            }
        }
    }

    /// The checked particulars written out as a form again (a declaration keeps them so, to be
    /// checked once more when a grid worker confirms them).
    pub fn to_form(&self) -> PersonForm {
        let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        PersonForm {
            name: self.name.clone(),
            id_number: self
                .id_number
                .as_ref()
                .map(|n| n.as_str().to_string())
                .unwrap_or_default(),
            sex: self.sex.as_str().to_string(),
            birth_date: day(self.birth_date),
            people: self.people.to_string(),
            mobile: self
                .mobile
                .as_ref()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            hukou: self.hukou.to_string(),
            address: self.address.clone(),
            arrived_on: self.arrived_on.map(day).unwrap_or_default(),
            occupation: self.occupation.clone().unwrap_or_default(),
            employer: self.employer.clone().unwrap_or_default(),
            employment: self
                .employment
                .map(|e| e.as_str().to_string())
                .unwrap_or_default(),
            tags: self.tags.iter().map(|t| t.as_str().to_string()).collect(),
        }
    }

    /// The name shown to those who may not see a record in full (origin-side staff, lists
    /// exported without the right to see personal data): the family name and a mark per
    /// remaining character, `张**`.
    pub fn masked_name(name: &str) -> String {
        let mut chars = name.chars();
        chars.next().map_or_else(String::new, |first| {
            std::iter::once(first).chain(chars.map(|_| '*')).collect()
        })
    }
}

/// Why a grid worker turned a declaration back; the declarant reads it with their code.
pub fn rejection_reason(value: &str) -> Result<String, FieldError> {
    required_text("reason", value, 500)
}

code_enum! {
    /// What one side of 流出地联动 asks the other.
    pub enum AssistKind {
        /// 协查: check a fact about a person (their household back home, where they are now).
        Verify = "verify",
        /// 协助: help with a matter (a child's school place, a relief application).
        Assist = "assist",
    }
}

code_enum! {
    /// Where a request for assistance stands.
    pub enum AssistStatus {
        /// Waiting for the other side's reply.
        Open = "open",
        /// Replied; the asking side has not closed it yet.
        Answered = "answered",
        /// Closed by the asking side.
        Closed = "closed",
    }
}

/// The longest a request for assistance may give the other side, in days.
pub const MAX_ASSIST_DAYS: i64 = 90;

/// A request for assistance as checked: what is asked, and by when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssistInput {
    pub kind: AssistKind,
    pub subject: String,
    pub body: String,
    pub due_on: NaiveDate,
}

impl AssistInput {
    /// The reply is due on a day from tomorrow up to [`MAX_ASSIST_DAYS`] ahead.
    pub fn parse(
        kind: &str,
        subject: &str,
        body: &str,
        due_on: &str,
        today: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let kind = errs.check(choice("kind", kind, AssistKind::parse));
        let subject = errs.check(required_text("subject", subject, 100));
        let body = errs.check(required_text("body", body, 2000));
        let due_on = errs.check(Self::due_on(due_on, today));
        errs.into_result()?;
        Ok(Self {
            kind: kind.expect("checked"),
            subject: subject.expect("checked"),
            body: body.expect("checked"),
            due_on: due_on.expect("checked"),
        })
    }

    fn due_on(value: &str, today: NaiveDate) -> Result<NaiveDate, FieldError> {
        let v = value.trim();
        if v.is_empty() {
            return Err(FieldError::new("due_on", "err.required"));
        }
        let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| FieldError::new("due_on", "err.date"))?;
        if d <= today || (d - today).num_days() > MAX_ASSIST_DAYS {
            return Err(
                FieldError::new("due_on", "err.assist.due_range").arg("max", MAX_ASSIST_DAYS)
            );
        }
        Ok(d)
    }
}

/// The other side's reply to a request for assistance.
pub fn assist_reply(value: &str) -> Result<String, FieldError> {
    required_text("reply", value, 2000)
}

/// The households a declaration may list: the declarant and at most this many others.
pub const MAX_MEMBERS: usize = 12;

/// The smallest number of people a published figure may show when it is broken down by people
/// or origin (a configurable default): fewer could single someone out.
pub const MIN_CELL: i64 = 5;

/// Which cells of one breakdown (people by 民族, by 户籍地…) may be shown, and as what.
///
/// A cell of 1 to `min - 1` people is withheld (primary suppression); when that leaves exactly
/// one withheld cell beside a published total, the next smallest non-zero cell is withheld too
/// (secondary suppression). Every cell shown is rounded to the nearest multiple of `min` (half
/// up), so that the same category's figures on the pages of nested regions — a township and
/// its communities, a province and its counties — cannot be subtracted from one another to
/// recover a withheld cell: each difference is only known to within the rounding. Pages list
/// the withheld cells together as one unnamed row: naming them would tell which categories are
/// small (and, where a region has one category only, everyone's). Zero cells say nothing about
/// anyone and stay. With `min` of 1 nothing is withheld or rounded.
pub fn suppress(cells: &[i64], min: i64) -> Vec<Option<i64>> {
    let mut out: Vec<Option<i64>> = cells
        .iter()
        .map(|&n| (n == 0 || n >= min).then_some(n))
        .collect();
    let hidden = out.iter().filter(|c| c.is_none()).count();
    if hidden == 1
        && let Some((i, _)) = cells
            .iter()
            .enumerate()
            .filter(|(i, n)| out[*i].is_some() && **n > 0)
            .min_by_key(|(_, n)| **n)
    {
        out[i] = None;
    }
    out.into_iter()
        .map(|c| c.map(|n| round_to(n, min)))
        .collect()
}

/// `n` to the nearest multiple of `base` (half up); `base` of 1 or less: `n`.
pub fn round_to(n: i64, base: i64) -> i64 {
    if base <= 1 {
        n
    } else {
        (n + base / 2) / base * base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_number::check_char;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn id(first17: &str) -> String {
        format!("{first17}{}", check_char(first17.as_bytes()))
    }

    #[test]
    fn a_request_for_assistance_is_due_within_the_window() {
        let ok =
            AssistInput::parse("verify", " 核实户籍 ", "请核实", "2026-12-02", today()).unwrap();
        assert_eq!(
            (ok.kind, ok.subject.as_str()),
            (AssistKind::Verify, "核实户籍")
        );
        let e = AssistInput::parse("ask", "", "x", "2026-11-22", today()).unwrap_err();
        let reasons: Vec<_> = e.0.iter().map(|e| (e.field.as_str(), e.reason)).collect();
        assert_eq!(
            reasons,
            [
                ("kind", "err.choice"),
                ("subject", "err.required"),
                ("due_on", "err.assist.due_range")
            ]
        );
        let far = AssistInput::parse("assist", "a", "b", "2027-03-01", today()).unwrap_err();
        assert_eq!(far.0[0].reason, "err.assist.due_range");
        assert_eq!(assist_reply("  ").unwrap_err().reason, "err.required");
    }

    fn form() -> PersonForm {
        PersonForm {
            name: " 韦小红 ".into(),
            id_number: id("52263319950304202"),
            people: "侗族".into(),
            mobile: "138 0771 0000".into(),
            address: "西乡塘区衡阳街道 12 号".into(),
            arrived_on: "2024-03-01".into(),
            employment: "flexible".into(),
            tags: vec!["relocated".into(), "hardship".into(), "relocated".into()],
            ..PersonForm::default()
        }
    }

    #[test]
    fn derives_what_the_id_number_says() {
        let p = PersonInput::parse(&form(), today()).unwrap();
        assert_eq!(p.name, "韦小红");
        assert_eq!(p.sex, Sex::Female);
        assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(1995, 3, 4).unwrap());
        assert_eq!(p.people, "12");
        assert_eq!(p.hukou, "522633", "从江县, from the number");
        assert_eq!(p.mobile.unwrap().as_str(), "13807710000");
        assert_eq!(p.employment, Some(Employment::Flexible));
        assert_eq!(p.tags, vec![PersonTag::Hardship, PersonTag::Relocated]);
    }

    #[test]
    fn without_an_id_number_sex_and_birth_date_are_required() {
        let f = PersonForm {
            id_number: String::new(),
            hukou: "451022".into(),
            ..form()
        };
        let e = PersonInput::parse(&f, today()).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["sex", "birth_date"]);
        let f = PersonForm {
            sex: "女".into(),
            birth_date: "2019-05-06".into(),
            arrived_on: String::new(),
            ..f
        };
        let p = PersonInput::parse(&f, today()).unwrap();
        assert_eq!(
            (p.sex, p.id_number, p.arrived_on),
            (Sex::Female, None, None)
        );
    }

    #[test]
    fn each_bad_field_is_named_with_its_reason() {
        let f = PersonForm {
            name: String::new(),
            sex: "male".into(),
            birth_date: "1996-03-04".into(),
            people: "火星族".into(),
            mobile: "12345".into(),
            hukou: "999999".into(),
            address: " ".into(),
            arrived_on: "2030-01-01".into(),
            employment: "astronaut".into(),
            tags: vec!["vip".into()],
            ..form()
        };
        let e = PersonInput::parse(&f, today()).unwrap_err();
        let got: Vec<(&str, &str)> = e.0.iter().map(|e| (e.field.as_str(), e.reason)).collect();
        assert_eq!(
            got,
            [
                ("name", "err.required"),
                ("sex", "err.person.differs_from_id"),
                ("birth_date", "err.person.differs_from_id"),
                ("people", "err.people.unknown"),
                ("mobile", "err.mobile.invalid"),
                ("hukou", "err.division.unknown"),
                ("address", "err.required"),
                ("arrived_on", "err.date.future"),
                ("employment", "err.choice"),
                ("tags", "err.choice"),
            ]
        );
    }

    #[test]
    fn arrival_cannot_precede_birth() {
        let f = PersonForm {
            arrived_on: "1990-01-01".into(),
            ..form()
        };
        let e = PersonInput::parse(&f, today()).unwrap_err();
        assert_eq!(e.0[0].reason, "err.person.arrived_before_birth");
    }

    #[test]
    fn a_checked_person_written_out_reads_back_the_same() {
        let p = PersonInput::parse(&form(), today()).unwrap();
        assert_eq!(PersonInput::parse(&p.to_form(), today()).unwrap(), p);
    }

    #[test]
    fn small_cells_are_withheld_and_cannot_be_recovered_by_subtraction() {
        assert_eq!(
            suppress(&[121, 3, 0, 42, 7], 5),
            [Some(120), None, Some(0), Some(40), None],
            "3 withheld, and the next smallest (7) with it; the rest rounded"
        );
        assert_eq!(
            suppress(&[2, 4, 92], 5),
            [None, None, Some(90)],
            "two hidden: enough"
        );
        assert_eq!(
            suppress(&[5, 9, 12, 13], 5),
            [Some(5), Some(10), Some(10), Some(15)]
        );
        assert_eq!(round_to(7, 1), 7);
        assert_eq!(round_to(17, 10), 20);
        assert_eq!(suppress(&[1], 5), [None]);
        assert_eq!(suppress(&[], 5), Vec::<Option<i64>>::new());
        assert_eq!(
            suppress(&[1, 2], 1),
            [Some(1), Some(2)],
            "a minimum of 1 withholds nothing"
        );
    }

    #[test]
    fn names_are_masked_after_the_family_name() {
        assert_eq!(PersonInput::masked_name("韦小红"), "韦**");
        assert_eq!(PersonInput::masked_name("李"), "李");
        assert_eq!(PersonInput::masked_name(""), "");
    }
}
