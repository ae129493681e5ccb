//! Supervision and rectification (督查 · 整改): an inspection of a plan's work — a tour of units
//! (巡回督导) or a special inspection (专项督查) — by a team on given days records its findings
//! (问题清单); each finding is a rectification item for one unit, with what it must do and by
//! when. The unit reports its rectification; the inspecting body verifies it and closes it
//! (销号) or sends it back; one left open past its deadline is overdue and escalated.

use chrono::NaiveDate;

use super::day;
use crate::code_enum;
use crate::error::{FieldError, FieldErrors, optional_text, required_text};

code_enum! {
    /// 巡回督导 (a round of visits) or 专项督查 (one subject looked into).
    pub enum InspectionKind {
        Tour = "tour",
        Special = "special",
    }
}

code_enum! {
    /// Where a rectification item stands: 待整改 (raised, nothing reported), 待核验 (the unit
    /// reported it rectified), 退回重改 (the inspectors sent it back), 已销号 (verified and closed).
    pub enum FindingStatus {
        Open = "open",
        Reported = "reported",
        Returned = "returned",
        Closed = "closed",
    }
}

impl FindingStatus {
    /// Still the unit's to do: raised or sent back.
    pub fn owed(self) -> bool {
        matches!(self, FindingStatus::Open | FindingStatus::Returned)
    }
}

/// An inspection as its form sends it, checked against the plan's days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectionInput {
    pub title: String,
    pub kind: InspectionKind,
    /// The team as written: 组长、成员 (names and posts).
    pub team: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// The units visited (ids of the plan region's units; checked there).
    pub units: Vec<i64>,
    pub notes: Option<String>,
}

/// What an inspection's form holds, as sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct InspectionFields<'a> {
    pub title: &'a str,
    pub kind: &'a str,
    pub team: &'a str,
    pub starts_on: &'a str,
    pub ends_on: &'a str,
    pub notes: &'a str,
}

impl InspectionInput {
    /// Every field checked; its days fall within the plan's `(start, end)`; at least one unit.
    pub fn parse(
        f: InspectionFields,
        units: &[String],
        plan: (NaiveDate, NaiveDate),
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let title = errs.check(required_text("title", f.title, 100));
        let kind = InspectionKind::parse(f.kind.trim());
        if kind.is_none() {
            errs.push(FieldError::new("inspection_kind", "err.choice"));
        }
        let team = errs.check(required_text("team", f.team, 500));
        let starts_on = errs.check(day("starts_on", f.starts_on));
        let ends_on = errs.check(day("ends_on", f.ends_on));
        if let (Some(s), Some(e)) = (starts_on, ends_on) {
            if e < s {
                errs.push(FieldError::new("ends_on", "err.date.before_start"));
            } else if s < plan.0 || e > plan.1 {
                errs.push(
                    FieldError::new("starts_on", "err.tasks.outside_plan")
                        .arg("from", plan.0)
                        .arg("to", plan.1),
                );
            }
        }
        let mut ids = Vec::new();
        for u in units.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
            match u.parse::<i64>() {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(_) => {
                    errs.push(FieldError::new("visited", "err.choice"));
                    break;
                }
            }
        }
        if ids.is_empty() && !errs.0.iter().any(|e| e.field == "visited") {
            errs.push(FieldError::new("visited", "err.tasks.units_visited"));
        }
        let notes = errs.check(optional_text("remarks", f.notes, 2_000));
        match (title, kind, team, starts_on, ends_on, notes) {
            (Some(title), Some(kind), Some(team), Some(starts_on), Some(ends_on), Some(notes))
                if errs.is_empty() =>
            {
                Ok(Self {
                    title,
                    kind,
                    team,
                    starts_on,
                    ends_on,
                    units: ids,
                    notes,
                })
            }
            _ => Err(errs),
        }
    }
}

/// A finding as its form sends it: the unit it is for (one of those visited), the problem,
/// what is required, and the deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingInput {
    pub unit_id: i64,
    pub problem: String,
    pub measures: Option<String>,
    pub due_on: NaiveDate,
}

impl FindingInput {
    /// `visited` are the inspection's units; the deadline falls on or after its first day.
    pub fn parse(
        unit: &str,
        problem: &str,
        measures: &str,
        due_on: &str,
        visited: &[i64],
        inspected_from: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let unit_id = unit
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|u| visited.contains(u));
        if unit_id.is_none() {
            errs.push(FieldError::new("unit", "err.tasks.finding_unit"));
        }
        let problem = errs.check(required_text("problem", problem, 2_000));
        let measures = errs.check(optional_text("measures", measures, 2_000));
        let due = errs.check(day("due", due_on));
        if due.is_some_and(|d| d < inspected_from) {
            errs.push(FieldError::new("due", "err.tasks.due_before_inspection"));
        }
        match (unit_id, problem, measures, due) {
            (Some(unit_id), Some(problem), Some(measures), Some(due_on)) if errs.is_empty() => {
                Ok(Self {
                    unit_id,
                    problem,
                    measures,
                    due_on,
                })
            }
            _ => Err(errs),
        }
    }
}

/// A finding as the figures count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub status: FindingStatus,
    pub due_on: NaiveDate,
    /// The day it was closed, if it was.
    pub closed_on: Option<NaiveDate>,
}

impl Counted {
    /// Past its deadline and not closed.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status != FindingStatus::Closed && self.due_on < today
    }
}

/// The rectification figures of a set of findings: how many, closed (销号), closed by their
/// deadline, overdue (open past it), and 整改完成率 — closed over all — in per mille.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rectification {
    pub total: i64,
    pub closed: i64,
    pub closed_on_time: i64,
    pub overdue: i64,
    pub waiting: i64,
}

impl Rectification {
    pub fn count(findings: impl IntoIterator<Item = Counted>, today: NaiveDate) -> Self {
        let mut r = Self::default();
        for f in findings {
            r.total += 1;
            if f.status == FindingStatus::Closed {
                r.closed += 1;
                if f.closed_on.is_some_and(|d| d <= f.due_on) {
                    r.closed_on_time += 1;
                }
            }
            if f.status == FindingStatus::Reported {
                r.waiting += 1;
            }
            if f.overdue(today) {
                r.overdue += 1;
            }
        }
        r
    }

    /// 整改完成率 in per mille (None with no findings).
    pub fn rate(&self) -> Option<i64> {
        (self.total > 0).then(|| (self.closed * 1000 + self.total / 2) / self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn fields<'a>(starts: &'a str, ends: &'a str) -> InspectionFields<'a> {
        InspectionFields {
            title: "2027年第一季度巡回督导",
            kind: "tour",
            team: "组长：张三；成员：李四、王五",
            starts_on: starts,
            ends_on: ends,
            notes: "",
        }
    }

    const PLAN: (&str, &str) = ("2027-01-01", "2029-12-31");

    fn plan() -> (NaiveDate, NaiveDate) {
        (d(PLAN.0), d(PLAN.1))
    }

    fn fields_of(e: &FieldErrors) -> Vec<(&str, &str)> {
        e.0.iter().map(|e| (e.field.as_str(), e.reason)).collect()
    }

    #[test]
    fn an_inspection_names_its_team_days_and_units_within_the_plan() {
        let ok = InspectionInput::parse(
            fields("2027-03-10", "2027-03-12"),
            &["7".into(), "9".into(), "7".into()],
            plan(),
        )
        .unwrap();
        assert_eq!(ok.units, vec![7, 9], "a unit visited twice counts once");
        assert_eq!(ok.kind, InspectionKind::Tour);

        let e = InspectionInput::parse(fields("2026-12-30", "2027-01-02"), &["7".into()], plan())
            .unwrap_err();
        assert_eq!(fields_of(&e), vec![("starts_on", "err.tasks.outside_plan")]);
        let e =
            InspectionInput::parse(fields("2027-03-12", "2027-03-10"), &[], plan()).unwrap_err();
        assert_eq!(
            fields_of(&e),
            vec![
                ("ends_on", "err.date.before_start"),
                ("visited", "err.tasks.units_visited")
            ]
        );
        let mut f = fields("2027-03-10", "2027-03-12");
        f.kind = "patrol";
        f.team = " ";
        let e = InspectionInput::parse(f, &["x".into()], plan()).unwrap_err();
        assert_eq!(
            fields_of(&e),
            vec![
                ("inspection_kind", "err.choice"),
                ("team", "err.required"),
                ("visited", "err.choice")
            ]
        );
    }

    #[test]
    fn a_finding_is_for_a_unit_visited_and_due_after_the_inspection_began() {
        let from = d("2027-03-10");
        let ok = FindingInput::parse(
            "9",
            "台账不全",
            "补齐2027年台账",
            "2027-04-30",
            &[7, 9],
            from,
        )
        .unwrap();
        assert_eq!((ok.unit_id, ok.due_on), (9, d("2027-04-30")));
        let e = FindingInput::parse("8", "", "", "2027-03-01", &[7, 9], from).unwrap_err();
        assert_eq!(
            fields_of(&e),
            vec![
                ("unit", "err.tasks.finding_unit"),
                ("problem", "err.required"),
                ("due", "err.tasks.due_before_inspection")
            ]
        );
    }

    #[test]
    fn the_completion_rate_counts_closed_over_all_and_overdue_is_open_past_the_deadline() {
        let today = d("2027-05-01");
        let f = |status, due: &str, closed: Option<&str>| Counted {
            status,
            due_on: d(due),
            closed_on: closed.map(d),
        };
        let r = Rectification::count(
            [
                f(FindingStatus::Closed, "2027-04-30", Some("2027-04-20")),
                f(FindingStatus::Closed, "2027-04-30", Some("2027-05-01")),
                f(FindingStatus::Reported, "2027-04-30", None),
                f(FindingStatus::Returned, "2027-05-31", None),
                f(FindingStatus::Open, "2027-05-01", None),
                f(FindingStatus::Open, "2027-04-01", None),
            ],
            today,
        );
        assert_eq!(
            r,
            Rectification {
                total: 6,
                closed: 2,
                closed_on_time: 1,
                overdue: 2,
                waiting: 1,
            }
        );
        assert_eq!(r.rate(), Some(333));
        assert_eq!(Rectification::default().rate(), None);
    }
}
