//! The leaders' dashboard (领导驾驶舱): which figures it shows of each place, over which
//! months, how a figure compares with the period before (环比) and the same months a year
//! before (同比), and how a map's colours are classed.

use chrono::{Datelike, Months, NaiveDate};

use crate::code_enum;

code_enum! {
    /// A figure of a place that the dashboard shows, maps and ranks.
    pub enum Measure {
        /// Requests received in the period.
        Received = "received",
        /// 办结率: resolved of received, per mille.
        Completion = "completion",
        /// Resolved on or before the deadline, of those resolved with one, per mille.
        OnTime = "on_time",
        /// 满意率: satisfied or fairly satisfied, of those rated, per mille.
        Satisfaction = "satisfaction",
        /// Requests open past their deadline now.
        Overdue = "overdue",
        /// Requests escalated (督办) and still open now.
        Escalated = "escalated",
        /// People registered as living in the place now.
        Residents = "residents",
        /// People who arrived in the period.
        Arrivals = "arrivals",
        /// People who moved out in the period.
        Departures = "departures",
        /// Needs found in the period (就业、就学… 需求摸排) that are met now, per mille.
        NeedsMet = "needs_met",
    }
}

/// What a measure counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// A share, in per mille.
    PerMille,
}

/// Which way a measure is better: the map colours the better end green, the worse red; a
/// measure that is neither (how many requests came in) is shaded in one colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
    Neither,
}

/// The module a measure belongs to: it is shown only to those who may see that module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Requests,
    Registry,
}

impl Measure {
    pub fn unit(self) -> Unit {
        match self {
            Self::Completion | Self::OnTime | Self::Satisfaction | Self::NeedsMet => Unit::PerMille,
            _ => Unit::Count,
        }
    }

    pub fn better(self) -> Better {
        match self {
            Self::Completion | Self::OnTime | Self::Satisfaction | Self::NeedsMet => Better::Higher,
            Self::Overdue | Self::Escalated => Better::Lower,
            Self::Received | Self::Residents | Self::Arrivals | Self::Departures => Better::Neither,
        }
    }

    pub fn source(self) -> Source {
        match self {
            Self::Residents | Self::Arrivals | Self::Departures | Self::NeedsMet => {
                Source::Registry
            }
            _ => Source::Requests,
        }
    }

    /// Whether the figure is of a period (and so has a previous one to compare with), or is
    /// a count of how things stand now.
    pub fn of_period(self) -> bool {
        !matches!(self, Self::Overdue | Self::Escalated | Self::Residents)
    }
}

/// A run of whole months, both ends included (each end is the first day of its month).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

impl Period {
    /// The months from `from`'s to `to`'s; None if `to` is before `from`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Option<Self> {
        let (from, to) = (first_of_month(from), first_of_month(to));
        (from <= to).then_some(Self { from, to })
    }

    /// The dashboard's default: this year up to this month.
    pub fn year_to_date(today: NaiveDate) -> Self {
        let to = first_of_month(today);
        Self {
            from: to.with_month(1).unwrap_or(to),
            to,
        }
    }

    pub fn from(self) -> NaiveDate {
        self.from
    }

    pub fn to(self) -> NaiveDate {
        self.to
    }

    /// How many months it spans.
    pub fn months(self) -> u32 {
        let m = |d: NaiveDate| d.year() * 12 + d.month0().cast_signed();
        u32::try_from(m(self.to) - m(self.from) + 1).unwrap_or(1)
    }

    /// The months as `YYYY-MM`, first and last.
    pub fn bounds(self) -> (String, String) {
        (month_key(self.from), month_key(self.to))
    }

    /// Each month `YYYY-MM`, in order.
    pub fn each(self) -> Vec<String> {
        std::iter::successors(Some(self.from), |m| {
            Some(*m + Months::new(1)).filter(|n| *n <= self.to)
        })
        .map(month_key)
        .collect()
    }

    /// 环比: as many months, ending the month before this period starts.
    #[must_use]
    pub fn previous(self) -> Self {
        let n = self.months();
        Self {
            from: self.from - Months::new(n),
            to: self.from - Months::new(1),
        }
    }

    /// 同比: the same months a year before.
    #[must_use]
    pub fn year_before(self) -> Self {
        Self {
            from: self.from - Months::new(12),
            to: self.to - Months::new(12),
        }
    }

    /// The twelve months ending with this period's last: what a sparkline draws.
    #[must_use]
    pub fn trend(self) -> Self {
        Self {
            from: self.to - Months::new(11),
            to: self.to,
        }
    }

    /// The smallest period that holds both.
    #[must_use]
    pub fn hull(self, o: Self) -> Self {
        Self {
            from: self.from.min(o.from),
            to: self.to.max(o.to),
        }
    }
}

/// A month as the figures key it: `YYYY-MM`.
pub fn month_key(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// How a figure moved from `before` to `now`: a count's change in per mille of what it was
/// (None when it was nothing: no share of nothing), a rate's in per mille points (0.1
/// percentage point each). None when either side is missing.
pub fn change(unit: Unit, now: Option<i64>, before: Option<i64>) -> Option<i64> {
    let (now, before) = (now?, before?);
    match unit {
        Unit::PerMille => Some(now - before),
        Unit::Count => (before != 0).then(|| {
            let d = (now - before) * 1000;
            // Rounded half away from zero, so +0.05% and −0.05% read alike.
            (d + d.signum() * before.abs() / 2) / before.abs()
        }),
    }
}

/// The upper bounds of the map's colour classes for these values: up to `classes` bounds,
/// each a value that occurs, splitting the places into groups of about the same size
/// (quantiles), so that one very large city does not leave every other one in the palest
/// class. A value belongs to the first class whose bound is at least it.
pub fn class_bounds(values: &[i64], classes: usize) -> Vec<i64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    if v.len() <= classes {
        return v;
    }
    let mut bounds: Vec<i64> = (1..=classes)
        .map(|k| v[(k * v.len()).div_ceil(classes) - 1])
        .collect();
    bounds.dedup();
    bounds
}

/// The class (from 0) of a value for these bounds.
pub fn class_of(bounds: &[i64], value: i64) -> usize {
    bounds
        .iter()
        .position(|b| value <= *b)
        .unwrap_or(bounds.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_compare_with_the_months_before_and_the_year_before() {
        let p = Period::new(d("2026-01-15"), d("2026-11-30")).unwrap();
        assert_eq!(p.months(), 11);
        assert_eq!(p.bounds(), ("2026-01".into(), "2026-11".into()));
        assert_eq!(p.previous().bounds(), ("2025-02".into(), "2025-12".into()));
        assert_eq!(
            p.year_before().bounds(),
            ("2025-01".into(), "2025-11".into())
        );
        assert_eq!(p.trend().bounds(), ("2025-12".into(), "2026-11".into()));
        assert_eq!(p.trend().each().len(), 12);
        let q = Period::new(d("2026-03-01"), d("2026-03-01")).unwrap();
        assert_eq!(q.previous().bounds(), ("2026-02".into(), "2026-02".into()));
        assert_eq!(
            p.hull(q.year_before()).bounds(),
            ("2025-03".into(), "2026-11".into())
        );
        assert!(Period::new(d("2026-03-01"), d("2026-02-28")).is_none());
        assert_eq!(
            Period::year_to_date(d("2026-12-07")).bounds(),
            ("2026-01".into(), "2026-12".into())
        );
    }

    #[test]
    fn changes_are_shares_for_counts_and_points_for_rates() {
        assert_eq!(change(Unit::Count, Some(110), Some(100)), Some(100));
        assert_eq!(change(Unit::Count, Some(90), Some(100)), Some(-100));
        assert_eq!(change(Unit::Count, Some(1), Some(3)), Some(-667));
        assert_eq!(change(Unit::Count, Some(5), Some(0)), None);
        assert_eq!(change(Unit::PerMille, Some(943), Some(921)), Some(22));
        assert_eq!(change(Unit::PerMille, None, Some(921)), None);
    }

    #[test]
    fn classes_split_the_places_evenly_and_hold_every_value() {
        let values = [0, 3, 5, 8, 120, 400, 116_500, 9, 11, 2, 0, 7, 6, 4];
        let b = class_bounds(&values, 5);
        assert!(b.len() <= 5 && b.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(*b.last().unwrap(), 116_500);
        for v in values {
            let c = class_of(&b, v);
            assert!(v <= b[c] && (c == 0 || v > b[c - 1]), "{v} in class {c}");
        }
        // The large one alone does not push everything else into the first class.
        assert!(class_of(&b, 120) > class_of(&b, 3));
        assert_eq!(class_bounds(&[4, 4, 1], 5), vec![1, 4]);
        assert_eq!(class_bounds(&[], 5), Vec::<i64>::new());
    }

    #[test]
    fn every_measure_has_a_code_and_a_source() {
        for m in Measure::ALL {
            assert_eq!(Measure::parse(m.as_str()), Some(*m));
            let _ = (m.unit(), m.better(), m.source(), m.of_period());
        }
    }
}
