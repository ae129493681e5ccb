//! The working calendar: deadlines count working time, not wall-clock time.
//!
//! China's public holidays move by official notice each year, and some weekends become working
//! days (调休), so the calendar is data an administrator edits per year: the days off that fall
//! on weekdays, the weekend days that are worked, and the working periods of a day. This module
//! does the arithmetic; `shiliu-db` stores the data.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use crate::FieldError;

/// China has one time zone, UTC+8, without daylight saving. Timestamps are stored in UTC; the
/// working calendar and everything people read are in local time.
pub const CHINA_UTC_OFFSET_HOURS: i64 = 8;

/// A stored (UTC) timestamp as local (China) time.
pub fn local(utc: NaiveDateTime) -> NaiveDateTime {
    utc + Duration::hours(CHINA_UTC_OFFSET_HOURS)
}

/// A local (China) time as the UTC timestamp to store.
pub fn utc(local: NaiveDateTime) -> NaiveDateTime {
    local - Duration::hours(CHINA_UTC_OFFSET_HOURS)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    /// Weekdays that are days off (public holidays).
    holidays: BTreeSet<NaiveDate>,
    /// Saturdays and Sundays that are working days (make-up days).
    workdays: BTreeSet<NaiveDate>,
    /// Working periods of a working day, in order, not overlapping.
    periods: Vec<(NaiveTime, NaiveTime)>,
}

impl Default for WorkCalendar {
    /// Monday to Friday, 08:30–12:00 and 14:30–17:30 (a common township office day in Guangxi).
    fn default() -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid time");
        Self {
            holidays: BTreeSet::new(),
            workdays: BTreeSet::new(),
            periods: vec![(t(8, 30), t(12, 0)), (t(14, 30), t(17, 30))],
        }
    }
}

impl WorkCalendar {
    /// A calendar from its parts; the periods must be ordered, non-empty and not overlap.
    pub fn new(
        holidays: BTreeSet<NaiveDate>,
        workdays: BTreeSet<NaiveDate>,
        periods: Vec<(NaiveTime, NaiveTime)>,
    ) -> Result<Self, FieldError> {
        if periods.is_empty() {
            return Err(FieldError::new("periods", "err.required"));
        }
        let mut last_end: Option<NaiveTime> = None;
        for (start, end) in &periods {
            if start >= end || last_end.is_some_and(|e| *start < e) {
                return Err(FieldError::new("periods", "err.calendar.periods"));
            }
            last_end = Some(*end);
        }
        Ok(Self {
            holidays,
            workdays,
            periods,
        })
    }

    /// This calendar with a region's own days laid over it: each `(day, working)` makes that
    /// day a working day or a day off, whatever the calendar under it said.
    #[must_use]
    pub fn overlaid(&self, days: impl IntoIterator<Item = (NaiveDate, bool)>) -> Self {
        let mut out = self.clone();
        for (day, working) in days {
            if working {
                out.holidays.remove(&day);
                out.workdays.insert(day);
            } else {
                out.workdays.remove(&day);
                out.holidays.insert(day);
            }
        }
        out
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
        if weekend {
            self.workdays.contains(&d)
        } else {
            !self.holidays.contains(&d)
        }
    }

    pub fn periods(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.periods
    }

    /// Working minutes in one working day.
    pub fn minutes_per_day(&self) -> i64 {
        self.periods
            .iter()
            .map(|(s, e)| (*e - *s).num_minutes())
            .sum()
    }

    /// The moment `minutes` of working time after `start`. Starting outside working time, the
    /// clock starts at the next working period.
    pub fn add_working_minutes(&self, start: NaiveDateTime, minutes: i64) -> NaiveDateTime {
        let mut left = minutes.max(0);
        let mut day = start.date();
        let mut from = start.time();
        // A year with no working day would loop forever; no real calendar is like that.
        for _ in 0..3660 {
            if self.is_working_day(day) {
                for (s, e) in &self.periods {
                    let begin = from.max(*s);
                    if begin >= *e {
                        continue;
                    }
                    let available = (*e - begin).num_minutes();
                    if left <= available {
                        return day.and_time(begin) + Duration::minutes(left);
                    }
                    left -= available;
                }
            }
            day = day.succ_opt().unwrap_or(day);
            from = NaiveTime::MIN;
        }
        start + Duration::days(3660)
    }

    /// `days` working days after `start`, as working time (days × minutes per day).
    pub fn add_working_days(&self, start: NaiveDateTime, days: i64) -> NaiveDateTime {
        self.add_working_minutes(start, days * self.minutes_per_day())
    }

    /// Working minutes between two moments (0 if `to` is not after `from`).
    pub fn working_minutes_between(&self, from: NaiveDateTime, to: NaiveDateTime) -> i64 {
        if to <= from {
            return 0;
        }
        let (first, last) = (from.date(), to.date());
        if first == last {
            return self.working_minutes_within(first, from.time(), Some(to.time()));
        }
        // The days between count whole: the deadline sweep asks this of every open request
        // twice, and walking each day's periods as moments cost a tenth of a server's CPU.
        let per_day = self.minutes_per_day();
        let mut total = self.working_minutes_within(first, from.time(), None)
            + self.working_minutes_within(last, NaiveTime::MIN, Some(to.time()));
        let mut day = first;
        while let Some(next) = day.succ_opt().filter(|d| *d < last) {
            if self.is_working_day(next) {
                total += per_day;
            }
            day = next;
        }
        total
    }

    /// Working minutes of one day from `from` until `until` (the day's end if `None`).
    fn working_minutes_within(
        &self,
        day: NaiveDate,
        from: NaiveTime,
        until: Option<NaiveTime>,
    ) -> i64 {
        if !self.is_working_day(day) {
            return 0;
        }
        self.periods
            .iter()
            .map(|(s, e)| {
                let end = until.map_or(*e, |u| u.min(*e));
                (end - from.max(*s)).num_minutes().max(0)
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn weekends_holidays_and_make_up_days() {
        // 2025-10-01 (Wed) is a holiday; 2025-09-28 (Sun) a make-up working day.
        let cal = WorkCalendar::new(
            [date(2025, 10, 1), date(2025, 10, 2)].into(),
            [date(2025, 9, 28)].into(),
            WorkCalendar::default().periods,
        )
        .unwrap();
        assert!(cal.is_working_day(date(2025, 9, 26)));
        assert!(!cal.is_working_day(date(2025, 9, 27)), "Saturday");
        assert!(cal.is_working_day(date(2025, 9, 28)), "make-up Sunday");
        assert!(!cal.is_working_day(date(2025, 10, 1)), "holiday");
        assert_eq!(cal.minutes_per_day(), 390);
    }

    #[test]
    fn adding_working_time_skips_breaks_nights_and_days_off() {
        let cal = WorkCalendar::default();
        // Friday 11:00 + 2 h: one hour before lunch, one after.
        assert_eq!(
            cal.add_working_minutes(at(2026, 11, 20, 11, 0), 120),
            at(2026, 11, 20, 15, 30)
        );
        // Friday 17:00 + 1 h: half an hour on Friday, half on Monday.
        assert_eq!(
            cal.add_working_minutes(at(2026, 11, 20, 17, 0), 60),
            at(2026, 11, 23, 9, 0)
        );
        // Received on Saturday night: the clock starts Monday morning.
        assert_eq!(
            cal.add_working_minutes(at(2026, 11, 21, 22, 0), 30),
            at(2026, 11, 23, 9, 0)
        );
        // Three working days from Wednesday 10:00 end on Monday 10:00.
        assert_eq!(
            cal.add_working_days(at(2026, 11, 18, 10, 0), 3),
            at(2026, 11, 23, 10, 0)
        );
        assert_eq!(
            cal.add_working_minutes(at(2026, 11, 18, 10, 0), 0),
            at(2026, 11, 18, 10, 0)
        );
    }

    #[test]
    fn measuring_is_the_inverse_of_adding() {
        let cal = WorkCalendar::new(
            [date(2026, 10, 1)].into(),
            [date(2026, 10, 10)].into(),
            WorkCalendar::default().periods,
        )
        .unwrap();
        // From inside a period, over lunch, a holiday's weekend and the night before a
        // make-up day; across the holiday and the make-up day, and within one day.
        let starts = [
            at(2026, 9, 29, 16, 45),
            at(2026, 9, 30, 12, 30),
            at(2026, 10, 3, 9, 0),
            at(2026, 10, 9, 23, 0),
        ];
        for start in starts {
            for minutes in [0, 1, 15, 389, 390, 391, 1000, 5000] {
                let end = cal.add_working_minutes(start, minutes);
                assert_eq!(
                    cal.working_minutes_between(start, end),
                    minutes,
                    "{minutes} from {start} to {end}"
                );
            }
        }
        assert_eq!(
            cal.working_minutes_between(at(2026, 1, 2, 0, 0), at(2026, 1, 1, 0, 0)),
            0
        );
    }

    #[test]
    fn bad_periods_are_refused() {
        let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        assert!(WorkCalendar::new(BTreeSet::new(), BTreeSet::new(), vec![]).is_err());
        assert!(WorkCalendar::new(BTreeSet::new(), BTreeSet::new(), vec![(t(9), t(8))]).is_err());
        assert!(
            WorkCalendar::new(
                BTreeSet::new(),
                BTreeSet::new(),
                vec![(t(8), t(12)), (t(11), t(13))]
            )
            .is_err()
        );
    }

    #[test]
    fn a_regions_days_lie_over_the_calendar_under_it() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let base = WorkCalendar::new(
            [d("2026-10-01")].into(),
            [d("2026-10-10")].into(),
            WorkCalendar::default().periods().to_vec(),
        )
        .unwrap();
        // 三江's 侗年 (a Thursday) off; the province's holiday worked; a Sunday worked.
        let local = base.overlaid([
            (d("2026-12-03"), false),
            (d("2026-10-01"), true),
            (d("2026-10-11"), true),
        ]);
        assert!(base.is_working_day(d("2026-12-03")) && !local.is_working_day(d("2026-12-03")));
        assert!(!base.is_working_day(d("2026-10-01")) && local.is_working_day(d("2026-10-01")));
        assert!(!base.is_working_day(d("2026-10-11")) && local.is_working_day(d("2026-10-11")));
        assert!(
            local.is_working_day(d("2026-10-10")),
            "the rest as under it"
        );
    }
}
