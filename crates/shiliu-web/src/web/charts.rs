//! Charts drawn on the server as SVG, for every module's pages. A chart's SVG holds shapes
//! only: its words and figures are HTML beside it, so they stay at the page's text size
//! whatever width the chart is drawn at, and are never cut off.

use std::fmt::Write;

/// A sparkline: a measure's last twelve months as a line, with the twelve before them as a
/// fainter line behind it, on one scale. Drawn in a 120 × 32 box that the page stretches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spark {
    /// The `d` of the recent months' path, and of the year before's.
    pub now: String,
    pub before: String,
    /// Words for a screen reader: the first and last month's figures.
    pub summary: String,
}

pub const SPARK_WIDTH: i64 = 120;
pub const SPARK_HEIGHT: i64 = 32;

impl Spark {
    /// From the months in order, the year before first: `values` holds 24 months (or any
    /// even number), None where a month has no figure (a share of nothing), where the line
    /// breaks; `from_zero` for a count (the line's height then says how much), not for a share
    /// (whose own range is drawn, so that a move from 92% to 95% shows). None when there is
    /// nothing to draw.
    pub fn of(values: &[Option<i64>], from_zero: bool, summary: String) -> Option<Self> {
        let half = values.len() / 2;
        if half < 2 || values[half..].iter().all(Option::is_none) {
            return None;
        }
        let (lo, hi) = values
            .iter()
            .flatten()
            .fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        let lo = if from_zero { lo.min(0) } else { lo };
        let span = (hi - lo).max(1);
        let line = |months: &[Option<i64>]| -> String {
            let mut d = String::new();
            let step = SPARK_WIDTH as f64 / (months.len() - 1).max(1) as f64;
            let mut pen_down = false;
            for (i, v) in months.iter().enumerate() {
                let Some(v) = v else {
                    pen_down = false;
                    continue;
                };
                let x = i as f64 * step;
                let y = 2.0 + (hi - v) as f64 * (SPARK_HEIGHT - 4) as f64 / span as f64;
                let _ = write!(d, "{}{x:.1} {y:.1}", if pen_down { "L" } else { "M" });
                pen_down = true;
            }
            d
        };
        Some(Self {
            now: line(&values[half..]),
            before: line(&values[..half]),
            summary,
        })
    }
}

/// How long a bar is drawn in a `viewBox` 100 wide: its value's share of the longest bar's, in
/// per cent to one decimal. Every bar of a chart is drawn in boxes of one width, so their
/// lengths compare whatever width the page gives them.
pub fn bar_length(value: i64, longest: i64) -> String {
    format!("{:.1}", value.max(0) as f64 * 100.0 / longest.max(1) as f64)
}

/// A measure month by month as a line, with the same months of the year before as a second,
/// fainter line on one scale, so a season reads against the last one. Drawn in a
/// [`MONTHS_WIDTH`] × [`MONTHS_HEIGHT`] box that the page stretches to the room it has; the
/// months, the scale and the highest and lowest month are HTML beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthChart {
    pub now: Line,
    /// None when the caller had no figures for the year before (not the same as a year of
    /// zeros, which is drawn).
    pub before: Option<Line>,
    /// The scale runs from 0 at the foot to `top`, a round figure at or above every month's
    /// (the charts draw counts, whose height says how much).
    pub top: i64,
    /// Half the top, labelled at the middle gridline where it is a whole number.
    pub middle: Option<i64>,
    /// The gridlines' `d`: the foot, the top and, with `middle`, the middle.
    pub grid: String,
    /// One per month, in order.
    pub ticks: Vec<Tick>,
    /// The first and last month drawn (`YYYY-MM`), and those of the year before.
    pub span: (String, String),
    pub before_span: (String, String),
    /// The period's highest and lowest month with their figures (the first such month).
    pub highest: Option<(String, i64)>,
    pub lowest: Option<(String, i64)>,
}

/// A line of a [`MonthChart`]: its `d`, and its months' points as zero-length strokes that a
/// round cap draws as dots, round at any stretch of the box; a month between two gaps has no
/// line and would otherwise not show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub d: String,
    pub dots: String,
}

/// A month's label under the chart: the month's number, and its year under the first month
/// and every January. `class` thins the labels of a long period so that they do not run into
/// each other: "" shown at any width, `wide` only on a wide screen, `hide` never (it keeps its
/// place, so the others stay under their months).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    pub month: String,
    pub year: Option<String>,
    pub class: &'static str,
}

pub const MONTHS_WIDTH: i64 = 1200;
pub const MONTHS_HEIGHT: i64 = 100;
/// As many month labels as a phone's width holds, and a wide screen's.
const TICKS_NARROW: usize = 6;
const TICKS_WIDE: usize = 12;

impl MonthChart {
    /// `months` in order (`YYYY-MM`), `now` their figures, `before` (if the caller has any)
    /// the figures of the same months a year earlier; None where a month has no figure, where
    /// the line breaks. None when there are no months.
    pub fn of(
        months: &[String],
        now: &[Option<i64>],
        before: Option<&[Option<i64>]>,
    ) -> Option<Self> {
        let n = months.len();
        if n == 0 {
            return None;
        }
        let highest_figure = now
            .iter()
            .chain(before.unwrap_or_default())
            .flatten()
            .copied()
            .max()
            .unwrap_or(0);
        let top = round_top(highest_figure);
        let middle = (top % 2 == 0).then_some(top / 2);
        let line = |figures: &[Option<i64>]| -> Line {
            let (mut d, mut dots) = (String::new(), String::new());
            let mut pen_down = false;
            for (i, v) in figures.iter().take(n).enumerate() {
                let Some(v) = v else {
                    pen_down = false;
                    continue;
                };
                // Each month in the middle of its own equal share of the width, where the HTML
                // label under it is centred.
                let x = (2 * i + 1) as f64 * MONTHS_WIDTH as f64 / (2 * n) as f64;
                let y = (top - v) as f64 * MONTHS_HEIGHT as f64 / top as f64;
                let _ = write!(d, "{}{x:.1} {y:.1}", if pen_down { "L" } else { "M" });
                let _ = write!(dots, "M{x:.1} {y:.1}h0");
                pen_down = true;
            }
            Line { d, dots }
        };
        let mut grid = format!("M0 0H{MONTHS_WIDTH}M0 {MONTHS_HEIGHT}H{MONTHS_WIDTH}");
        if middle.is_some() {
            let _ = write!(grid, "M0 {}H{MONTHS_WIDTH}", MONTHS_HEIGHT / 2);
        }
        let (narrow, wide) = (n.div_ceil(TICKS_NARROW), n.div_ceil(TICKS_WIDE));
        let ticks = months
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let (year, month) = key.split_once('-').unwrap_or(("", key));
                Tick {
                    month: month.trim_start_matches('0').to_string(),
                    year: (i == 0 || month == "01").then(|| year.to_string()),
                    class: if n <= TICKS_WIDE || i % narrow == 0 {
                        ""
                    } else if i % wide == 0 {
                        "wide"
                    } else {
                        "hide"
                    },
                }
            })
            .collect();
        let figures = || months.iter().zip(now).filter_map(|(m, v)| Some((m, (*v)?)));
        // The first month of the highest figure, and of the lowest.
        let highest = figures()
            .rev()
            .max_by_key(|(_, v)| *v)
            .map(|(m, v)| (m.clone(), v));
        let lowest = figures()
            .min_by_key(|(_, v)| *v)
            .map(|(m, v)| (m.clone(), v));
        let span = (months[0].clone(), months[n - 1].clone());
        Some(Self {
            now: line(now),
            before: before.map(line),
            top,
            middle,
            grid,
            ticks,
            before_span: (year_earlier(&span.0), year_earlier(&span.1)),
            span,
            highest,
            lowest,
        })
    }
}

/// The same month a year earlier (`YYYY-MM`); anything else as it is.
fn year_earlier(month: &str) -> String {
    match month.split_once('-') {
        Some((y, m)) => y
            .parse::<i32>()
            .map_or_else(|_| month.to_string(), |y| format!("{:04}-{m}", y - 1)),
        None => month.to_string(),
    }
}

/// The top of a scale for figures up to `highest`: the smallest figure at or above it that
/// one would say aloud — 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten, and whole
/// (11,170 reads against 12,000, not 11,170 nor 20,000). At least 1, so that a period of
/// zeros still has a scale.
fn round_top(highest: i64) -> i64 {
    const TENTHS: [i64; 10] = [10, 12, 15, 20, 25, 30, 40, 50, 60, 80];
    let highest = highest.max(1);
    let mut power: i64 = 1;
    loop {
        for t in TENTHS {
            let Some(top) = t.checked_mul(power) else {
                return highest;
            };
            if top % 10 == 0 && top / 10 >= highest {
                return top / 10;
            }
        }
        let Some(next) = power.checked_mul(10) else {
            return highest;
        };
        power = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spark_draws_both_years_on_one_scale_and_breaks_at_gaps() {
        let mut v: Vec<Option<i64>> = (0..24).map(|i| Some(i * 10)).collect();
        v[20] = None;
        let s = Spark::of(&v, true, String::new()).unwrap();
        // The last month is the highest: at the top; the first of the year before at the foot.
        assert!(s.now.ends_with("120.0 2.0"), "{}", s.now);
        assert!(s.before.starts_with("M0.0 30.0"), "{}", s.before);
        assert_eq!(s.now.matches('M').count(), 2, "broken at the gap");
        assert!(Spark::of(&[None; 24], true, String::new()).is_none());
        assert!(Spark::of(&[Some(1); 2], false, String::new()).is_none());
    }

    fn months(from: u32, n: u32) -> Vec<String> {
        (0..n)
            .map(|i| {
                let m = from - 1 + i;
                format!("{}-{:02}", 2025 + m / 12, m % 12 + 1)
            })
            .collect()
    }

    #[test]
    fn a_scale_tops_at_a_round_figure_at_or_above_the_highest() {
        for (highest, top) in [
            (0, 1),
            (1, 1),
            (3, 3),
            (7, 8),
            (9, 10),
            (11, 12),
            (13, 15),
            (101, 120),
            (11_170, 12_000),
            (25_001, 30_000),
        ] {
            assert_eq!(round_top(highest), top, "{highest}");
        }
    }

    #[test]
    fn a_month_chart_draws_both_years_on_one_scale_under_their_months() {
        let m = months(1, 4);
        let now = [Some(0), Some(5), Some(10), Some(4)];
        let before = [Some(12), Some(6), None, Some(3)];
        let c = MonthChart::of(&m, &now, Some(&before)).unwrap();
        // The year before's 12 is the highest of both: the scale tops at 12, halved at 6.
        assert_eq!((c.top, c.middle), (12, Some(6)));
        // Four months, each in the middle of its quarter of 1200: x 150, 450, 750, 1050; a
        // figure f at 100 − f × 100 / 12.
        assert_eq!(c.now.d, "M150.0 100.0L450.0 58.3L750.0 16.7L1050.0 66.7");
        assert_eq!(
            c.now.dots,
            "M150.0 100.0h0M450.0 58.3h0M750.0 16.7h0M1050.0 66.7h0"
        );
        // The year before breaks at its gap, its last month a dot of its own.
        let b = c.before.unwrap();
        assert_eq!(b.d, "M150.0 0.0L450.0 50.0M1050.0 75.0");
        assert_eq!(b.dots.matches('M').count(), 3);
        assert_eq!(c.grid, "M0 0H1200M0 100H1200M0 50H1200");
        assert_eq!(c.span, ("2025-01".to_string(), "2025-04".to_string()));
        assert_eq!(
            c.before_span,
            ("2024-01".to_string(), "2024-04".to_string())
        );
        assert_eq!(c.highest, Some(("2025-03".to_string(), 10)));
        assert_eq!(c.lowest, Some(("2025-01".to_string(), 0)));
    }

    #[test]
    fn a_month_chart_without_a_year_before_draws_one_line() {
        let m = months(11, 3);
        let c = MonthChart::of(&m, &[Some(3), None, Some(3)], None).unwrap();
        assert!(c.before.is_none());
        // An odd top has no whole middle: no middle gridline.
        assert_eq!((c.top, c.middle), (3, None));
        assert_eq!(c.grid, "M0 0H1200M0 100H1200");
        assert_eq!(c.now.d, "M200.0 0.0M1000.0 0.0");
        // The year under the first month and under January, and each month by its number.
        let labels: Vec<(&str, Option<&str>)> = c
            .ticks
            .iter()
            .map(|t| (t.month.as_str(), t.year.as_deref()))
            .collect();
        assert_eq!(
            labels,
            [("11", Some("2025")), ("12", None), ("1", Some("2026"))]
        );
        assert!(MonthChart::of(&[], &[], None).is_none());
    }

    #[test]
    fn a_long_periods_month_labels_thin_out_but_keep_their_places() {
        let m = months(1, 36);
        let c = MonthChart::of(&m, &[Some(1); 36], None).unwrap();
        assert_eq!(c.ticks.len(), 36, "every month keeps its place");
        let shown = |class: &str| c.ticks.iter().filter(|t| t.class == class).count();
        // Every sixth month at any width, every third on a wide screen.
        assert_eq!(shown(""), 6);
        assert_eq!(shown("") + shown("wide"), 12);
        assert_eq!(c.ticks[6].class, "");
        assert_eq!(c.ticks[3].class, "wide");
        assert_eq!(c.ticks[1].class, "hide");
        let year = MonthChart::of(&m[..12], &[Some(1); 12], None).unwrap();
        assert!(year.ticks.iter().all(|t| t.class.is_empty()));
    }

    #[test]
    fn a_bars_length_is_its_share_of_the_longest() {
        assert_eq!(bar_length(3, 8), "37.5");
        assert_eq!(bar_length(8, 8), "100.0");
        assert_eq!(bar_length(0, 0), "0.0");
    }
}
