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
}
