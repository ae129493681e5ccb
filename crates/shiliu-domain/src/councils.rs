//! Consultation councils (议事会): "逢四说事" — a neighbourhood meeting on the days of the month
//! with a 4 (the 4th, 14th and 24th) — and the "老友议事会" (old friends' council), where
//! residents raise what troubles them, the council agrees what to do (议定事项) with someone
//! responsible and a deadline, and follows it up until done. Here: a council's rhythm and the
//! days it gives, its members' roles, an agenda item's way in and its states, and what a form
//! for each must hold.

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};

use crate::error::{optional_text, required_text};
use crate::{FieldError, FieldErrors};

crate::code_enum! {
    /// How often a council meets.
    pub enum Rhythm {
        /// 逢四说事: the 4th, 14th and 24th of every month.
        Fourths = "fourths",
        /// Once a week, on its weekday.
        Weekly = "weekly",
        /// Once a month, on its day (the month's last day where it has fewer).
        Monthly = "monthly",
        /// When called (随时召开): no days ahead.
        AdHoc = "ad_hoc",
    }
}

crate::code_enum! {
    /// A member's part in the council.
    pub enum MemberRole {
        /// 召集人
        Convener = "convener",
        /// 成员
        Member = "member",
        /// 列席: attends without a say (a grid worker, a department's contact).
        Attendee = "attendee",
    }
}

crate::code_enum! {
    /// How an agenda item reached the council.
    pub enum Channel {
        /// Raised in person at a meeting or the community office.
        InPerson = "in_person",
        /// Brought by a grid worker from their rounds.
        GridWorker = "grid_worker",
        /// Sent on the council's public page (its QR code on the notice board).
        Public = "public",
    }
}

crate::code_enum! {
    /// Where an agenda item stands.
    pub enum ItemStatus {
        /// 待议: raised, not yet discussed.
        Raised = "raised",
        /// 已议定: decided, with someone responsible and a deadline; followed up.
        Decided = "decided",
        /// 转为诉求: handed to the requests loop; done when its request is.
        Referred = "referred",
        /// 已办结
        Done = "done",
        /// 不予采纳: discussed and not taken up, with the reason.
        Declined = "declined",
    }
}

crate::code_enum! {
    /// A meeting's state.
    pub enum MeetingStatus {
        Scheduled = "scheduled",
        Held = "held",
        Cancelled = "cancelled",
    }
}

/// A council's rhythm with its day: the weekday of a weekly one, the day of a monthly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub rhythm: Rhythm,
    /// Monday 1 … Sunday 7 (weekly); 1–31 (monthly); none otherwise.
    pub day: Option<u32>,
}

impl Schedule {
    pub fn parse(rhythm: &str, day: &str) -> Result<Self, FieldError> {
        let rhythm =
            Rhythm::parse(rhythm.trim()).ok_or_else(|| FieldError::new("rhythm", "err.choice"))?;
        let number = || day.trim().parse::<u32>().ok();
        let day = match rhythm {
            Rhythm::Weekly => Some(
                number()
                    .filter(|d| (1..=7).contains(d))
                    .ok_or_else(|| FieldError::new("day", "err.councils.weekday"))?,
            ),
            Rhythm::Monthly => Some(
                number()
                    .filter(|d| (1..=31).contains(d))
                    .ok_or_else(|| FieldError::new("day", "err.councils.day"))?,
            ),
            Rhythm::Fourths | Rhythm::AdHoc => None,
        };
        Ok(Self { rhythm, day })
    }

    /// The days the council meets from `from` to `to`, both included, in order.
    pub fn days(&self, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        if to < from {
            return out;
        }
        match self.rhythm {
            Rhythm::AdHoc => {}
            Rhythm::Weekly => {
                let want = self.day.and_then(weekday).unwrap_or(Weekday::Mon);
                let ahead =
                    (7 + want.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
                let mut d = from + chrono::Duration::days(i64::from(ahead));
                while d <= to {
                    out.push(d);
                    d += chrono::Duration::days(7);
                }
            }
            Rhythm::Fourths | Rhythm::Monthly => {
                let mut month = from.with_day(1).unwrap_or(from);
                while month <= to {
                    let days: Vec<u32> = match self.rhythm {
                        Rhythm::Fourths => vec![4, 14, 24],
                        _ => vec![self.day.unwrap_or(1).min(last_day(month))],
                    };
                    for day in days {
                        if let Some(d) = month.with_day(day)
                            && from <= d
                            && d <= to
                        {
                            out.push(d);
                        }
                    }
                    match month.checked_add_months(chrono::Months::new(1)) {
                        Some(next) => month = next,
                        None => break,
                    }
                }
            }
        }
        out
    }
}

fn weekday(n: u32) -> Option<Weekday> {
    Weekday::try_from(u8::try_from(n.checked_sub(1)?).ok()?).ok()
}

fn last_day(month: NaiveDate) -> u32 {
    month
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.with_day(1))
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

/// A council as its form holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouncilInput {
    pub name: String,
    /// The community or village it serves: a region's code picked from the caller's.
    pub region_code: String,
    pub schedule: Schedule,
    /// Where it meets (活动室, 议事亭…).
    pub place: String,
    pub starts_at: Option<NaiveTime>,
}

impl CouncilInput {
    pub fn parse(
        name: &str,
        region_code: &str,
        (rhythm, day): (&str, &str),
        place: &str,
        starts_at: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(required_text("name", name, 60));
        let region_code = errs.check(required_text("region", region_code, 20));
        let schedule = errs.check(Schedule::parse(rhythm, day));
        let place = errs.check(required_text("place", place, 100));
        let starts_at = match starts_at.trim() {
            "" => Some(None),
            t => errs
                .check(
                    NaiveTime::parse_from_str(t, "%H:%M")
                        .map_err(|_| FieldError::new("starts_at", "err.activities.time")),
                )
                .map(Some),
        };
        errs.into_result()?;
        match (name, region_code, schedule, place, starts_at) {
            (Some(name), Some(region_code), Some(schedule), Some(place), Some(starts_at)) => {
                Ok(Self {
                    name,
                    region_code,
                    schedule,
                    place,
                    starts_at,
                })
            }
            _ => Err(FieldError::new("name", "err.required").into()),
        }
    }
}

/// A member as the form holds them. A phone number is kept for the council's staff only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInput {
    pub name: String,
    pub role: MemberRole,
    /// Who they are to the neighbourhood (老党员, 退休教师, 楼栋长…).
    pub note: Option<String>,
    pub phone: Option<String>,
}

impl MemberInput {
    pub fn parse(name: &str, role: &str, note: &str, phone: &str) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(required_text("name", name, 40));
        let role = errs.check(
            MemberRole::parse(role.trim()).ok_or_else(|| FieldError::new("role", "err.choice")),
        );
        let note = errs.check(optional_text("note", note, 60));
        let phone = match phone.trim() {
            "" => Some(None),
            p => errs
                .check(crate::mobile::Mobile::parse(p).map_err(|e| e.on("phone")))
                .map(|m| Some(m.as_str().to_string())),
        };
        errs.into_result()?;
        match (name, role, note, phone) {
            (Some(name), Some(role), Some(note), Some(phone)) => Ok(Self {
                name,
                role,
                note,
                phone,
            }),
            _ => Err(FieldError::new("name", "err.required").into()),
        }
    }
}

/// An agenda item as raised: what, and by whom if they say (published only with their consent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInput {
    pub channel: Channel,
    pub text: String,
    pub raised_by: Option<String>,
    pub phone: Option<String>,
    /// The one who raised it agreed that their name is shown with it on the public notice.
    pub publish_name: bool,
}

impl ItemInput {
    pub fn parse(
        channel: Channel,
        text: &str,
        raised_by: &str,
        phone: &str,
        publish_name: bool,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let text = errs.check(required_text("text", text, 2_000));
        let raised_by = errs.check(optional_text("raised_by", raised_by, 40));
        let phone = match phone.trim() {
            "" => Some(None),
            p => errs
                .check(crate::mobile::Mobile::parse(p).map_err(|e| e.on("phone")))
                .map(|m| Some(m.as_str().to_string())),
        };
        errs.into_result()?;
        match (text, raised_by, phone) {
            (Some(text), Some(raised_by), Some(phone)) => Ok(Self {
                channel,
                publish_name: publish_name && raised_by.is_some(),
                text,
                raised_by,
                phone,
            }),
            _ => Err(FieldError::new("text", "err.required").into()),
        }
    }
}

/// What a meeting agreed on an item: who sees to it, and by when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub decision: String,
    pub responsible: String,
    pub due_on: NaiveDate,
}

impl Decision {
    /// `held_on` is the meeting's day: the deadline is not before it.
    pub fn parse(
        decision: &str,
        responsible: &str,
        due_on: &str,
        held_on: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let decision = errs.check(required_text("decision", decision, 2_000));
        let responsible = errs.check(required_text("responsible", responsible, 60));
        let due = match due_on.trim() {
            "" => {
                errs.push(FieldError::new("due_on", "err.required"));
                None
            }
            d => errs.check(
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| FieldError::new("due_on", "err.date")),
            ),
        };
        if let Some(d) = due
            && d < held_on
        {
            errs.push(FieldError::new("due_on", "err.councils.due_before_meeting"));
        }
        errs.into_result()?;
        match (decision, responsible, due) {
            (Some(decision), Some(responsible), Some(due_on)) => Ok(Self {
                decision,
                responsible,
                due_on,
            }),
            _ => Err(FieldError::new("decision", "err.required").into()),
        }
    }
}

/// A meeting as its minutes record it: the day it was held, who of the members came, how many
/// others (residents, guests), and the discussion's notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingInput {
    pub held_on: NaiveDate,
    /// Members present, by id (checked against the council's members by the database layer).
    pub present: Vec<i64>,
    pub guests: i32,
    pub notes: Option<String>,
}

impl MeetingInput {
    /// `today` bounds the day: minutes are of a meeting held, not of one to come.
    pub fn parse(
        held_on: &str,
        present: &[String],
        guests: &str,
        notes: &str,
        today: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let held = errs.check(crate::activities::day("held_on", held_on));
        if let Some(d) = held
            && (d > today || d.year() < 2000)
        {
            errs.push(FieldError::new("held_on", "err.councils.held_on"));
        }
        let mut ids = Vec::with_capacity(present.len());
        for p in present {
            match p.trim().parse::<i64>() {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(_) => errs.push(FieldError::new("present", "err.choice")),
            }
        }
        let guests = match guests.trim() {
            "" => Some(0),
            g => errs.check(crate::activities::count("guests", g, 10_000)),
        };
        let notes = errs.check(optional_text("notes", notes, 20_000));
        errs.into_result()?;
        match (held, guests, notes) {
            (Some(held_on), Some(guests), Some(notes)) => Ok(Self {
                held_on,
                present: ids,
                guests,
                notes,
            }),
            _ => Err(FieldError::new("held_on", "err.required").into()),
        }
    }
}

/// How an item decided was seen to: the day it was done and what was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub done_on: NaiveDate,
    pub outcome: String,
}

impl FollowUp {
    /// Done not before the meeting that decided it, nor after `today`.
    pub fn parse(
        done_on: &str,
        outcome: &str,
        held_on: NaiveDate,
        today: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let done = errs.check(crate::activities::day("done_on", done_on));
        if let Some(d) = done
            && (d < held_on || d > today)
        {
            errs.push(FieldError::new("done_on", "err.councils.done_on"));
        }
        let outcome = errs.check(required_text("outcome", outcome, 2_000));
        errs.into_result()?;
        match (done, outcome) {
            (Some(done_on), Some(outcome)) => Ok(Self { done_on, outcome }),
            _ => Err(FieldError::new("outcome", "err.required").into()),
        }
    }
}

/// Whether an item was done by its deadline (one not done yet: none).
pub fn on_time(due_on: Option<NaiveDate>, done_on: Option<NaiveDate>) -> Option<bool> {
    Some(done_on? <= due_on?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_fourths_are_the_4th_14th_and_24th() {
        let s = Schedule::parse("fourths", "").unwrap();
        let got = s.days(day("2026-12-05"), day("2027-01-14"));
        assert_eq!(
            got,
            ["2026-12-14", "2026-12-24", "2027-01-04", "2027-01-14"].map(day)
        );
        assert!(s.days(day("2026-12-25"), day("2027-01-03")).is_empty());
    }

    #[test]
    fn weekly_and_monthly_days() {
        let w = Schedule::parse("weekly", "3").unwrap();
        assert_eq!(
            w.days(day("2026-12-07"), day("2026-12-23")),
            ["2026-12-09", "2026-12-16", "2026-12-23"].map(day),
            "Wednesdays"
        );
        let m = Schedule::parse("monthly", "31").unwrap();
        assert_eq!(
            m.days(day("2027-01-01"), day("2027-03-31")),
            ["2027-01-31", "2027-02-28", "2027-03-31"].map(day),
            "a short month's last day"
        );
        assert!(
            Schedule::parse("ad_hoc", "")
                .unwrap()
                .days(day("2027-01-01"), day("2027-12-31"))
                .is_empty()
        );
        assert!(Schedule::parse("weekly", "8").is_err());
        assert!(Schedule::parse("monthly", "").is_err());
        assert!(Schedule::parse("daily", "").is_err());
    }

    #[test]
    fn forms_name_their_fields() {
        let e = CouncilInput::parse("", "", ("weekly", "0"), "", "7点").unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["name", "region", "day", "place", "starts_at"]);
        let d =
            Decision::parse("修好路灯", "社区主任", "2026-12-10", day("2026-12-14")).unwrap_err();
        assert_eq!(d.0[0].reason, "err.councils.due_before_meeting");
        let i = ItemInput::parse(Channel::Public, "楼道灯坏了", "", "", true).unwrap();
        assert!(!i.publish_name, "no name, nothing to publish");
        assert_eq!(
            on_time(Some(day("2026-12-20")), Some(day("2026-12-19"))),
            Some(true)
        );
        assert_eq!(on_time(Some(day("2026-12-20")), None), None);
    }

    #[test]
    fn minutes_are_of_a_meeting_held() {
        let today = day("2026-12-07");
        let m = MeetingInput::parse(
            "2026-11-14",
            &["3".into(), "3".into(), "5".into()],
            "",
            " 讨论了三件事 ",
            today,
        )
        .unwrap();
        assert_eq!((m.present, m.guests), (vec![3, 5], 0));
        assert_eq!(m.notes.as_deref(), Some("讨论了三件事"));
        let e = MeetingInput::parse("2026-12-14", &["x".into()], "-1", "", today).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["held_on", "present", "guests"]);
        let f = FollowUp::parse("2026-11-10", "", day("2026-11-14"), today).unwrap_err();
        let fields: Vec<&str> = f.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["done_on", "outcome"]);
        assert!(FollowUp::parse("2026-11-20", "灯已修好", day("2026-11-14"), today).is_ok());
    }
}
