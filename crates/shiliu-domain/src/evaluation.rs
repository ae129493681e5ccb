//! Performance evaluation (绩效考评): a scheme's stages, its indicator tree, points, and the rules
//! that turn criterion scores into totals, ranks and grades.
//!
//! A scheme is run by an organiser (a city's commission) for the units taking part, grouped
//! into categories that are ranked separately. Its indicator tree has three levels — area
//! (一级指标) → item (二级指标) → criterion (评分细则) — and only criteria are scored. A criterion
//! is standard, a bonus (加分项) or a deduction (扣分项); bonuses and deductions have their own
//! points and the scheme caps their sums. Points are kept in hundredths ([`Points`]), so 0.5 is
//! exact and sums never drift.

use std::collections::BTreeMap;
use std::fmt;

use crate::code_enum;
use crate::error::{optional_text, required_text};
use crate::{FieldError, FieldErrors};

/// Points in hundredths: `Points(250)` is 2.5 points.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Points(pub i64);

/// The most points any one criterion or cap may carry (a whole scheme is usually 100).
pub const MAX_POINTS: Points = Points(100_000);

impl Points {
    pub const ZERO: Points = Points(0);

    /// "2.5", "3", "0.25" (at most two decimals, not negative, at most [`MAX_POINTS`]).
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let v = value.trim();
        if v.is_empty() {
            return Err(FieldError::new(field, "err.required"));
        }
        let bad = || FieldError::new(field, "err.eval.points");
        let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
        if whole.is_empty()
            || whole.len() > 6
            || frac.len() > 2
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (v.contains('.') && frac.is_empty())
        {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        let p = Points(whole * 100 + frac);
        if p > MAX_POINTS {
            return Err(FieldError::new(field, "err.eval.points_too_many").arg("max", MAX_POINTS));
        }
        Ok(p)
    }

    /// A score for a criterion worth `max`: parsed, and not above the maximum.
    pub fn score(field: &str, value: &str, max: Points) -> Result<Self, FieldError> {
        let p = Self::parse(field, value)?;
        if p > max {
            return Err(FieldError::new(field, "err.eval.above_max").arg("max", max));
        }
        Ok(p)
    }

    /// The points as a number (for charts and spreadsheets).
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl std::ops::Add for Points {
    type Output = Points;
    fn add(self, o: Points) -> Points {
        Points(self.0 + o.0)
    }
}

impl std::ops::Sub for Points {
    type Output = Points;
    fn sub(self, o: Points) -> Points {
        Points(self.0 - o.0)
    }
}

impl std::iter::Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        Points(iter.map(|p| p.0).sum())
    }
}

/// "2.5", "3", "-1.25": no trailing zeros, as people write points.
impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let (whole, frac) = (self.0.abs() / 100, self.0.abs() % 100);
        match frac {
            0 => write!(f, "{sign}{whole}"),
            x if x % 10 == 0 => write!(f, "{sign}{whole}.{}", x / 10),
            x => write!(f, "{sign}{whole}.{x:02}"),
        }
    }
}

code_enum! {
    /// Where a scheme is in its flow. Stages run in this order; each closes (and locks) when
    /// the organiser moves the scheme on.
    pub enum Stage {
        /// 编制: the organiser builds the scheme; nothing is visible to units yet.
        Draft = "draft",
        /// 自查自评: units claim a score per criterion with a statement and evidence.
        SelfAssessment = "self_assessment",
        /// 第一次核验: the commission's reviewers score every criterion of every unit online.
        FirstReview = "first_review",
        /// 第二次核验: field teams score their key units on site.
        FieldReview = "field_review",
        /// 反馈复核: units see their verified scores and may object per criterion.
        Feedback = "feedback",
        /// 结果确定: objections decided; totals, ranks and grades ready to publish.
        Final = "final",
        /// 通报: published; scores change only by a recorded correction.
        Published = "published",
    }
}

impl Stage {
    /// The stage after this one (`None` once published).
    pub fn next(self) -> Option<Stage> {
        let i = Stage::ALL.iter().position(|s| *s == self)?;
        Stage::ALL.get(i + 1).copied()
    }

    /// The stages units or reviewers work to a deadline in, in order.
    pub const TIMED: [Stage; 4] = [
        Stage::SelfAssessment,
        Stage::FirstReview,
        Stage::FieldReview,
        Stage::Feedback,
    ];

    /// The round whose scores are entered in this stage, if any (one a stage).
    pub fn round(self) -> Option<Round> {
        Round::ALL.iter().copied().find(|r| r.stage() == self)
    }

    /// Whether this stage has a deadline.
    pub fn has_deadline(self) -> bool {
        Self::TIMED.contains(&self)
    }

    /// The form field (and column) of this stage's deadline.
    pub fn due_field(self) -> Option<&'static str> {
        match self {
            Stage::SelfAssessment => Some("self_due"),
            Stage::FirstReview => Some("first_due"),
            Stage::FieldReview => Some("field_due"),
            Stage::Feedback => Some("feedback_due"),
            Stage::Draft | Stage::Final | Stage::Published => None,
        }
    }
}

code_enum! {
    /// Who scores, in which stage: the unit itself, the commission online, a field team.
    pub enum Round {
        /// 自查自评: the unit's claimed score, with its statement and ledger.
        SelfAssessment = "self",
        /// 第一次核验: reviewers online, every unit.
        First = "first",
        /// 第二次核验: field teams, on site, the key units.
        Field = "field",
        /// 反馈复核: the unit objects to a verified score — the score it asks for, and why.
        Objection = "objection",
    }
}

impl Round {
    /// The stage in which this round's scores are entered.
    pub fn stage(self) -> Stage {
        match self {
            Round::SelfAssessment => Stage::SelfAssessment,
            Round::First => Stage::FirstReview,
            Round::Field => Stage::FieldReview,
            Round::Objection => Stage::Feedback,
        }
    }

    /// The verification rounds, which teams are formed for.
    pub const REVIEWS: [Round; 2] = [Round::First, Round::Field];
}

/// One criterion's score as entered: blank (not yet scored: a draft), or points up to the
/// criterion's maximum; with a statement (the unit's) or an opinion (a reviewer's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreInput {
    pub points: Option<Points>,
    pub note: Option<String>,
}

impl ScoreInput {
    /// Errors name the criterion by its `code`: `score.<code>`, `note.<code>`.
    pub fn parse(code: &str, points: &str, note: &str, max: Points) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let points = if points.trim().is_empty() {
            None
        } else {
            errs.check(Points::score(&format!("score.{code}"), points, max))
        };
        let note = errs
            .check(optional_text(&format!("note.{code}"), note, 2000))
            .flatten();
        errs.into_result()?;
        Ok(Self { points, note })
    }
}

code_enum! {
    /// A level of the indicator tree.
    pub enum Level {
        /// 一级指标 (e.g. 组织领导)
        Area = "area",
        /// 二级指标
        Item = "item",
        /// 评分细则: the only level that is scored.
        Criterion = "criterion",
    }
}

impl Level {
    /// The level a child of this one has.
    pub fn child(self) -> Option<Level> {
        match self {
            Level::Area => Some(Level::Item),
            Level::Item => Some(Level::Criterion),
            Level::Criterion => None,
        }
    }
}

code_enum! {
    /// How a criterion's points count towards a total.
    pub enum CriterionKind {
        Standard = "standard",
        /// 加分项: added, up to the scheme's bonus cap.
        Bonus = "bonus",
        /// 扣分项: a score here is points taken off, up to the scheme's deduction cap.
        Deduction = "deduction",
    }
}

code_enum! {
    /// Which score stands where both verification rounds scored a criterion.
    pub enum MergeRule {
        /// The field team saw the unit: its score stands (the default).
        FieldFirst = "field_first",
        /// The mean of the two, rounded to hundredths half up.
        Mean = "mean",
        /// The lower of the two.
        Lower = "lower",
    }
}

impl MergeRule {
    /// The verified score of one criterion from the first round's and the field round's.
    pub fn merge(self, first: Option<Points>, field: Option<Points>) -> Option<Points> {
        match (first, field) {
            (Some(a), Some(b)) => Some(match self {
                MergeRule::FieldFirst => b,
                MergeRule::Mean => Points((a.0 + b.0 + 1).div_euclid(2)),
                MergeRule::Lower => a.min(b),
            }),
            (a, b) => b.or(a),
        }
    }
}

/// A deadline as entered (China time: `2026-03-31T17:00` from a datetime field, `2026-03-31
/// 17:00`, or a day alone, which means its end), stored in UTC; blank is none.
pub fn deadline(field: &str, value: &str) -> Result<Option<chrono::NaiveDateTime>, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let local = chrono::NaiveDateTime::parse_from_str(&v.replacen('T', " ", 1), "%Y-%m-%d %H:%M")
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(23, 59, 0))
        })
        .ok_or_else(|| FieldError::new(field, "err.eval.deadline"))?;
    Ok(Some(crate::calendar::utc(local)))
}

/// A scheme's header as entered on its form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeInput {
    pub year: i32,
    pub name: String,
    /// Who runs it, as the notice names them (钦州市民族宗教事务委员会).
    pub organiser: String,
    pub merge_rule: MergeRule,
    pub bonus_cap: Option<Points>,
    pub deduction_cap: Option<Points>,
    pub grades: Grades,
}

impl SchemeInput {
    pub fn parse(
        year: &str,
        name: &str,
        organiser: &str,
        merge_rule: &str,
        bonus_cap: &str,
        deduction_cap: &str,
        grades: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let year = match year.trim().parse::<i32>() {
            Ok(y) if (2000..=2100).contains(&y) => Some(y),
            _ => {
                errs.push(FieldError::new("year", "err.eval.year"));
                None
            }
        };
        let name = errs.check(required_text("name", name, 80));
        let organiser = errs.check(required_text("organiser", organiser, 60));
        let merge_rule = errs.check(crate::error::choice(
            "merge_rule",
            merge_rule,
            MergeRule::parse,
        ));
        let cap = |errs: &mut FieldErrors, field: &str, v: &str| {
            if v.trim().is_empty() {
                None
            } else {
                errs.check(Points::parse(field, v))
            }
        };
        let bonus_cap = cap(&mut errs, "bonus_cap", bonus_cap);
        let deduction_cap = cap(&mut errs, "deduction_cap", deduction_cap);
        let grades = errs.check(Grades::parse("grades", grades));
        errs.into_result()?;
        Ok(Self {
            year: year.unwrap_or_default(),
            name: name.unwrap_or_default(),
            organiser: organiser.unwrap_or_default(),
            merge_rule: merge_rule.unwrap_or(MergeRule::FieldFirst),
            bonus_cap,
            deduction_cap,
            grades: grades.unwrap_or_default(),
        })
    }
}

/// Grade bands, best first: a total at or above a band's threshold earns it (优秀 ≥ 90 …); the
/// last band has threshold 0, so every total has a grade.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grades(pub Vec<(String, Points)>);

impl Default for Grades {
    fn default() -> Self {
        Grades(vec![
            ("优秀".into(), Points(9000)),
            ("良好".into(), Points(8000)),
            ("合格".into(), Points(6000)),
            ("不合格".into(), Points::ZERO),
        ])
    }
}

impl Grades {
    /// "优秀 90, 良好 80, 合格 60, 不合格 0" (one band per line or comma; a band's name, then
    /// its threshold). Blank: the default bands.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        if value.trim().is_empty() {
            return Ok(Grades::default());
        }
        let mut bands: Vec<(String, Points)> = Vec::new();
        for part in value
            .split(['\n', ',', '，', ';', '；'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (name, at) = part
                .rsplit_once(char::is_whitespace)
                .ok_or_else(|| FieldError::new(field, "err.eval.grades"))?;
            let name = name.trim();
            let at =
                Points::parse(field, at).map_err(|_| FieldError::new(field, "err.eval.grades"))?;
            if name.is_empty() || name.chars().count() > 10 {
                return Err(FieldError::new(field, "err.eval.grades"));
            }
            if bands.iter().any(|(n, p)| n == name || *p <= at) {
                return Err(FieldError::new(field, "err.eval.grades_order"));
            }
            bands.push((name.to_string(), at));
        }
        if bands.len() > 8 || bands.last().is_none_or(|(_, p)| *p != Points::ZERO) {
            return Err(FieldError::new(field, "err.eval.grades_order"));
        }
        Ok(Grades(bands))
    }

    /// The band a total earns.
    pub fn grade(&self, total: Points) -> &str {
        self.0
            .iter()
            .find(|(_, at)| total >= *at)
            .or(self.0.last())
            .map_or("", |(n, _)| n.as_str())
    }

    /// As the form shows it: "优秀 90, 良好 80, …".
    pub fn text(&self) -> String {
        self.0
            .iter()
            .map(|(n, p)| format!("{n} {p}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One node of the indicator tree as entered (by form or an import row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorInput {
    pub code: String,
    pub name: String,
    /// Criteria only: the most points a unit can score here.
    pub max_points: Points,
    pub kind: CriterionKind,
    /// How reviewers score it (评分标准).
    pub guidance: Option<String>,
    /// What the unit should upload (台账资料).
    pub evidence: Option<String>,
}

impl IndicatorInput {
    /// `max_points` and `kind` matter for criteria only; for an area or item they are ignored
    /// (its maximum is the sum of its criteria).
    pub fn parse(
        level: Level,
        code: &str,
        name: &str,
        max_points: &str,
        kind: &str,
        guidance: &str,
        evidence: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let code = errs.check(required_text("code", code, 20));
        if let Some(c) = &code
            && !c
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_'))
        {
            errs.push(FieldError::new("code", "err.eval.code"));
        }
        let name = errs.check(required_text("name", name, 200));
        let (max_points, kind) = if level == Level::Criterion {
            let max = errs.check(Points::parse("max_points", max_points));
            if max == Some(Points::ZERO) {
                errs.push(FieldError::new("max_points", "err.eval.points_zero"));
            }
            let kind = if kind.trim().is_empty() {
                Some(CriterionKind::Standard)
            } else {
                errs.check(crate::error::choice("kind", kind, CriterionKind::parse))
            };
            (max, kind)
        } else {
            (Some(Points::ZERO), Some(CriterionKind::Standard))
        };
        let guidance = errs
            .check(optional_text("guidance", guidance, 2000))
            .flatten();
        let evidence = errs
            .check(optional_text("evidence", evidence, 500))
            .flatten();
        errs.into_result()?;
        Ok(Self {
            code: code.unwrap_or_default(),
            name: name.unwrap_or_default(),
            max_points: max_points.unwrap_or_default(),
            kind: kind.unwrap_or(CriterionKind::Standard),
            guidance,
            evidence,
        })
    }
}

/// One row of an indicator sheet, as read. Its code says where it sits: `1` is an area, `1.2`
/// an item of area 1, `1.2.3` a criterion of item 1.2.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SheetRow {
    pub code: String,
    pub name: String,
    pub points: String,
    pub kind: String,
    pub guidance: String,
    pub evidence: String,
}

/// A sheet row placed in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedIndicator {
    pub level: Level,
    pub parent_code: Option<String>,
    pub input: IndicatorInput,
}

/// One row of a sheet of the units taking part (参评单位名单), as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitSheetRow {
    pub unit: String,
    pub category: String,
    pub key_unit: String,
}

/// A units sheet's row, checked: the unit and its category by name, and whether a field team
/// visits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitLine {
    pub row: usize,
    pub unit: String,
    pub category: String,
    pub key_unit: bool,
}

/// Check a whole units sheet: every row names its unit (at most 100 characters, as units are
/// named) and category (at most 40), the key-unit cell says yes or no, and no unit comes
/// twice. Problems by row number.
pub fn place_units(
    rows: &[(usize, UnitSheetRow)],
) -> Result<Vec<UnitLine>, Vec<(usize, FieldError)>> {
    let mut errs: Vec<(usize, FieldError)> = Vec::new();
    let mut lines: Vec<UnitLine> = Vec::new();
    for (row, r) in rows {
        let mut e = FieldErrors::new();
        let unit = e.check(required_text("unit", &r.unit, 100));
        let category = e.check(required_text("category_name", &r.category, 40));
        let key_unit = e.check(crate::error::yes_no("key_unit", &r.key_unit));
        if let Some(u) = &unit
            && lines.iter().any(|l| &l.unit == u)
        {
            e.push(FieldError::new("unit", "err.eval.unit_twice"));
        }
        match (unit, category, key_unit) {
            (Some(unit), Some(category), Some(key_unit)) if e.is_empty() => lines.push(UnitLine {
                row: *row,
                unit,
                category,
                key_unit,
            }),
            _ => errs.extend(e.0.into_iter().map(|f| (*row, f))),
        }
    }
    if lines.is_empty() && errs.is_empty() {
        errs.push((0, FieldError::new("file", "err.eval.no_units_in_sheet")));
    }
    if errs.is_empty() {
        Ok(lines)
    } else {
        Err(errs)
    }
}

/// `标准` / `加分` / `扣分` (or 加分项, 扣分项, or the codes), blank for standard.
fn kind_from_sheet(value: &str) -> &str {
    match value.trim() {
        "标准" | "标准项" | "" => "standard",
        "加分" | "加分项" => "bonus",
        "扣分" | "扣分项" => "deduction",
        other => other,
    }
}

/// Check a whole indicator sheet: each row on its own, then the tree — a parent comes before
/// its children, no code twice, at most three levels, and points given on an area or item
/// equal the sum of its standard criteria or of all its criteria (a typo in either shows).
/// Problems by row number.
pub fn place_sheet(
    rows: &[(usize, SheetRow)],
) -> Result<Vec<PlacedIndicator>, Vec<(usize, FieldError)>> {
    let mut errs: Vec<(usize, FieldError)> = Vec::new();
    let mut placed: Vec<(usize, PlacedIndicator, Option<Points>)> = Vec::new();
    for (row, r) in rows {
        let code = r.code.trim();
        let depth = code.split('.').count();
        let level = match depth {
            1 => Level::Area,
            2 => Level::Item,
            3 => Level::Criterion,
            _ => {
                errs.push((*row, FieldError::new("code", "err.eval.code_depth")));
                continue;
            }
        };
        let input = match IndicatorInput::parse(
            level,
            code,
            &r.name,
            &r.points,
            kind_from_sheet(&r.kind),
            &r.guidance,
            &r.evidence,
        ) {
            Ok(i) => i,
            Err(e) => {
                errs.extend(e.0.into_iter().map(|f| (*row, f)));
                continue;
            }
        };
        let parent_code = code.rsplit_once('.').map(|(p, _)| p.to_string());
        if placed.iter().any(|(_, p, _)| p.input.code == input.code) {
            errs.push((*row, FieldError::new("code", "err.eval.code_taken")));
            continue;
        }
        if let Some(parent) = &parent_code
            && !placed.iter().any(|(_, p, _)| &p.input.code == parent)
        {
            errs.push((
                *row,
                FieldError::new("code", "err.eval.no_parent").arg("parent", parent),
            ));
            continue;
        }
        let stated = if level == Level::Criterion || r.points.trim().is_empty() {
            None
        } else {
            match Points::parse("points", &r.points) {
                Ok(p) => Some(p),
                Err(e) => {
                    errs.push((*row, e));
                    continue;
                }
            }
        };
        placed.push((
            *row,
            PlacedIndicator {
                level,
                parent_code,
                input,
            },
            stated,
        ));
    }
    for (row, p, stated) in &placed {
        let Some(stated) = stated else { continue };
        let prefix = format!("{}.", p.input.code);
        let below: Vec<&PlacedIndicator> = placed
            .iter()
            .map(|(_, c, _)| c)
            .filter(|c| c.level == Level::Criterion && c.input.code.starts_with(&prefix))
            .collect();
        // An area's stated points are its base points (bonuses and deductions apart), or the
        // sum of everything below it: either is read as meant.
        let sum: Points = below
            .iter()
            .filter(|c| c.input.kind == CriterionKind::Standard)
            .map(|c| c.input.max_points)
            .sum();
        let all: Points = below.iter().map(|c| c.input.max_points).sum();
        if sum != *stated && all != *stated {
            errs.push((
                *row,
                FieldError::new("points", "err.eval.sum_mismatch").arg("sum", sum),
            ));
        }
    }
    if placed.is_empty() && errs.is_empty() {
        errs.push((0, FieldError::new("file", "err.eval.empty_sheet")));
    }
    if errs.is_empty() {
        Ok(placed.into_iter().map(|(_, p, _)| p).collect())
    } else {
        errs.sort_by_key(|(row, _)| *row);
        Err(errs)
    }
}

/// A criterion as totals need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Criterion {
    pub id: i64,
    /// The area it belongs to (weights are set per area).
    pub area: i64,
    pub max: Points,
    pub kind: CriterionKind,
}

/// What one unit's scores add up to.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Total {
    /// Per area: the standard criteria's sum, rescaled where the category weights the area.
    pub areas: BTreeMap<i64, Points>,
    /// Bonus points after the cap.
    pub bonus: Points,
    /// Deducted points after the cap (a positive number, taken off).
    pub deduction: Points,
    pub total: Points,
}

/// A unit's total from its criterion scores (a criterion without a score counts 0).
///
/// `weights` maps an area to the points it counts for in the unit's category: the area's sum
/// is rescaled from the area's maximum to that (rounded half up to hundredths); an area without
/// a weight counts its own maximum.
pub fn total(
    criteria: &[Criterion],
    scores: &BTreeMap<i64, Points>,
    weights: &BTreeMap<i64, Points>,
    bonus_cap: Option<Points>,
    deduction_cap: Option<Points>,
) -> Total {
    let mut raw: BTreeMap<i64, (Points, Points)> = BTreeMap::new();
    let (mut bonus, mut deduction) = (Points::ZERO, Points::ZERO);
    for c in criteria {
        let s = scores.get(&c.id).copied().unwrap_or_default().min(c.max);
        match c.kind {
            CriterionKind::Standard => {
                let e = raw.entry(c.area).or_default();
                e.0 = e.0 + s;
                e.1 = e.1 + c.max;
            }
            CriterionKind::Bonus => bonus = bonus + s,
            CriterionKind::Deduction => deduction = deduction + s,
        }
    }
    let bonus = bonus_cap.map_or(bonus, |cap| bonus.min(cap));
    let deduction = deduction_cap.map_or(deduction, |cap| deduction.min(cap));
    let areas: BTreeMap<i64, Points> = raw
        .into_iter()
        .map(|(area, (sum, max))| {
            let scaled = match weights.get(&area) {
                Some(w) if max.0 > 0 && *w != max => {
                    Points((sum.0 * w.0 * 2 + max.0).div_euclid(max.0 * 2))
                }
                _ => sum,
            };
            (area, scaled)
        })
        .collect();
    let total = areas.values().copied().sum::<Points>() + bonus - deduction;
    Total {
        areas,
        bonus,
        deduction,
        total,
    }
}

/// Competition ranks (1, 2, 2, 4) of totals, highest first: equal totals share a rank.
pub fn ranks(totals: &[Points]) -> Vec<usize> {
    totals
        .iter()
        .map(|t| 1 + totals.iter().filter(|o| *o > t).count())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_units_sheet_is_checked_whole() {
        let row = |unit: &str, category: &str, key: &str| UnitSheetRow {
            unit: unit.into(),
            category: category.into(),
            key_unit: key.into(),
        };
        let ok = place_units(&[
            (2, row("钦州市教育局", "市直部门", "是")),
            (3, row(" 灵山县民族宗教事务局 ", "县（市、区）", "")),
        ])
        .unwrap();
        assert_eq!(
            ok.iter()
                .map(|l| (l.row, l.unit.as_str(), l.key_unit))
                .collect::<Vec<_>>(),
            [
                (2, "钦州市教育局", true),
                (3, "灵山县民族宗教事务局", false)
            ]
        );
        let bad = place_units(&[
            (2, row("钦州市教育局", "市直部门", "是")),
            (3, row("钦州市教育局", "市直部门", "")),
            (4, row("", "学校", "也许")),
        ])
        .unwrap_err();
        let got: Vec<(usize, &str, &str)> = bad
            .iter()
            .map(|(r, e)| (*r, e.field.as_str(), e.reason))
            .collect();
        assert_eq!(
            got,
            [
                (3, "unit", "err.eval.unit_twice"),
                (4, "unit", "err.required"),
                (4, "key_unit", "err.yes_no"),
            ]
        );
        assert_eq!(
            place_units(&[]).unwrap_err()[0].1.reason,
            "err.eval.no_units_in_sheet"
        );
    }

    #[test]
    fn points_are_read_and_written_as_people_write_them() {
        for (text, p) in [
            ("2.5", 250),
            ("3", 300),
            ("0.25", 25),
            ("10.50", 1050),
            (" 7 ", 700),
        ] {
            assert_eq!(Points::parse("p", text).unwrap(), Points(p), "{text}");
        }
        for bad in ["", "-1", "1.234", "abc", "1.", ".5", "1e3", "１", "9999999"] {
            assert!(Points::parse("p", bad).is_err(), "{bad}");
        }
        assert_eq!(
            Points::parse("p", "1001").unwrap_err().reason,
            "err.eval.points_too_many"
        );
        assert_eq!(
            [
                Points(250),
                Points(300),
                Points(25),
                Points(1050),
                Points(-125)
            ]
            .map(|p| p.to_string()),
            ["2.5", "3", "0.25", "10.5", "-1.25"]
        );
        let e = Points::score("score", "5.5", Points(500)).unwrap_err();
        assert_eq!(
            (e.reason, e.args[0].1.as_str()),
            ("err.eval.above_max", "5")
        );
        assert_eq!(
            Points::score("score", "5", Points(500)).unwrap(),
            Points(500)
        );
    }

    #[test]
    fn stages_run_in_order_to_publication() {
        let mut s = Stage::Draft;
        let mut seen = vec![s];
        while let Some(n) = s.next() {
            s = n;
            seen.push(s);
        }
        assert_eq!(seen, Stage::ALL);
        assert_eq!(s, Stage::Published);
        assert!(Stage::FieldReview.has_deadline() && !Stage::Final.has_deadline());
    }

    #[test]
    fn the_merge_rule_decides_where_both_rounds_scored() {
        let (a, b) = (Some(Points(300)), Some(Points(451)));
        assert_eq!(MergeRule::FieldFirst.merge(a, b), b);
        assert_eq!(MergeRule::Mean.merge(a, b), Some(Points(376)));
        assert_eq!(MergeRule::Lower.merge(a, b), a);
        for rule in MergeRule::ALL {
            assert_eq!(rule.merge(a, None), a, "only one round scored: it stands");
            assert_eq!(rule.merge(None, b), b);
            assert_eq!(rule.merge(None, None), None);
        }
    }

    #[test]
    fn grades_are_bands_from_the_top() {
        let g = Grades::parse("grades", "优秀 90，良好 80\n合格 60; 不合格 0").unwrap();
        assert_eq!(g, Grades::default());
        assert_eq!(g.text(), "优秀 90, 良好 80, 合格 60, 不合格 0");
        assert_eq!(
            [
                Points(9500),
                Points(9000),
                Points(8999),
                Points(6000),
                Points(100)
            ]
            .map(|t| g.grade(t).to_string()),
            ["优秀", "优秀", "良好", "合格", "不合格"]
        );
        assert_eq!(Grades::parse("grades", "").unwrap(), Grades::default());
        for bad in [
            "优秀 90, 合格 95, 差 0",
            "优秀 90, 合格 60",
            "优秀",
            "优秀 x, 差 0",
            "好 90, 好 0",
        ] {
            assert!(Grades::parse("grades", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn totals_cap_bonuses_and_deductions_and_rescale_weighted_areas() {
        use CriterionKind::{Bonus, Deduction, Standard};
        let c = |id, area, max, kind| Criterion {
            id,
            area,
            max: Points(max),
            kind,
        };
        let criteria = [
            c(1, 10, 2000, Standard),
            c(2, 10, 2000, Standard),
            c(3, 20, 6000, Standard),
            c(4, 30, 300, Bonus),
            c(5, 30, 300, Bonus),
            c(6, 40, 500, Deduction),
        ];
        let scores: BTreeMap<i64, Points> = [
            (1, 1500),
            (2, 2500),
            (3, 5000),
            (4, 300),
            (5, 300),
            (6, 200),
        ]
        .into_iter()
        .map(|(k, v)| (k, Points(v)))
        .collect();
        // No weights, no caps: 15 + 20 (a score above the maximum counts the maximum) + 50 + 6 - 2.
        let t = total(&criteria, &scores, &BTreeMap::new(), None, None);
        assert_eq!(t.total, Points(8900));
        // Caps: bonus 5, deduction 1.
        let t = total(
            &criteria,
            &scores,
            &BTreeMap::new(),
            Some(Points(500)),
            Some(Points(100)),
        );
        assert_eq!(
            (t.bonus, t.deduction, t.total),
            (
                Points(500),
                Points(100),
                Points(1500 + 2000 + 5000 + 500 - 100)
            )
        );
        // Area 10 (35 of 40) counts for 30 points in this category: 26.25.
        let weights = BTreeMap::from([(10, Points(3000))]);
        let t = total(&criteria, &scores, &weights, None, None);
        assert_eq!(t.areas[&10], Points(2625));
        assert_eq!(t.total, Points(2625 + 5000 + 600 - 200));
        // Nothing scored: 0; only a deduction: below 0, kept as it is.
        let none = total(&criteria, &BTreeMap::new(), &weights, None, None);
        assert_eq!(none.total, Points::ZERO);
        let only = total(
            &criteria,
            &BTreeMap::from([(6, Points(200))]),
            &weights,
            None,
            None,
        );
        assert_eq!(only.total, Points(-200));
    }

    #[test]
    fn a_deadline_is_china_time_stored_as_utc() {
        let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(
            deadline("d", "2026-03-31T17:00").unwrap(),
            Some(at("2026-03-31 09:00"))
        );
        assert_eq!(
            deadline("d", "2026-03-31").unwrap(),
            Some(at("2026-03-31 15:59"))
        );
        assert_eq!(deadline("d", " ").unwrap(), None);
        assert_eq!(
            deadline("d", "31/03/2026").unwrap_err().reason,
            "err.eval.deadline"
        );
    }

    #[test]
    fn a_score_is_blank_or_within_the_criterion() {
        let ok = ScoreInput::parse("1.1.1", "3.5", " 已建立台账 ", Points(400)).unwrap();
        assert_eq!(
            (ok.points, ok.note.as_deref()),
            (Some(Points(350)), Some("已建立台账"))
        );
        assert_eq!(
            ScoreInput::parse("1.1.1", "", "", Points(400))
                .unwrap()
                .points,
            None
        );
        let e = ScoreInput::parse("1.1.1", "4.5", "", Points(400)).unwrap_err();
        assert_eq!(
            (e.0[0].field.as_str(), e.0[0].reason),
            ("score.1.1.1", "err.eval.above_max")
        );
        assert_eq!(Round::Field.stage(), Stage::FieldReview);
    }

    #[test]
    fn ranks_share_places_on_equal_totals() {
        assert_eq!(
            ranks(&[Points(90), Points(95), Points(90), Points(80)]),
            [2, 1, 2, 4]
        );
        assert!(ranks(&[]).is_empty());
    }

    #[test]
    fn an_indicator_form_checks_what_its_level_needs() {
        let ok = IndicatorInput::parse(
            Level::Criterion,
            "1.1.1",
            "建立工作台账",
            "2.5",
            "",
            "查看台账",
            "",
        )
        .unwrap();
        assert_eq!(
            (ok.max_points, ok.kind),
            (Points(250), CriterionKind::Standard)
        );
        let e =
            IndicatorInput::parse(Level::Criterion, "1 1", "", "0", "extra", "", "").unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["code", "name", "max_points", "kind"]);
        let area = IndicatorInput::parse(Level::Area, "1", "组织领导", "", "", "", "").unwrap();
        assert_eq!(area.max_points, Points::ZERO);
    }

    #[test]
    fn a_sheet_is_placed_in_a_tree_by_its_codes() {
        let row = |code: &str, name: &str, points: &str, kind: &str| SheetRow {
            code: code.into(),
            name: name.into(),
            points: points.into(),
            kind: kind.into(),
            ..SheetRow::default()
        };
        let rows: Vec<(usize, SheetRow)> = [
            row("1", "组织领导", "10", ""),
            row("1.1", "领导机制", "", ""),
            row("1.1.1", "成立领导小组", "4", ""),
            row("1.1.2", "年度工作部署", "6", "标准"),
            row("2", "加分项", "", ""),
            row("2.1", "创建成效", "", ""),
            row("2.1.1", "获评自治区级示范单位", "3", "加分项"),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i + 2, r))
        .collect();
        let placed = place_sheet(&rows).unwrap();
        assert_eq!(placed.len(), 7);
        assert_eq!(
            (placed[2].level, placed[2].parent_code.as_deref()),
            (Level::Criterion, Some("1.1"))
        );
        assert_eq!(placed[6].input.kind, CriterionKind::Bonus);
        // An area's points may count its bonus items or leave them apart.
        let mut with_bonus = rows.clone();
        with_bonus[4].1.points = "3".into();
        assert!(place_sheet(&with_bonus).is_ok());
        // A wrong area total, an orphan, a fourth level, a repeated code, a bad kind: each by row.
        let mut bad = rows.clone();
        bad[0].1.points = "12".into();
        bad.push((9, row("3.1", "无上级", "", "")));
        bad.push((10, row("1.1.1.1", "太深", "1", "")));
        bad.push((11, row("1.1.2", "重复", "1", "")));
        bad.push((12, row("1.1.3", "类型错", "1", "奖励")));
        let errs = place_sheet(&bad).unwrap_err();
        let got: Vec<(usize, &str, &str)> = errs
            .iter()
            .map(|(r, e)| (*r, e.field.as_str(), e.reason))
            .collect();
        assert_eq!(
            got,
            [
                (2, "points", "err.eval.sum_mismatch"),
                (9, "code", "err.eval.no_parent"),
                (10, "code", "err.eval.code_depth"),
                (11, "code", "err.eval.code_taken"),
                (12, "kind", "err.choice"),
            ]
        );
        assert_eq!(errs[0].1.args[0].1, "10");
        assert_eq!(
            place_sheet(&[]).unwrap_err()[0].1.reason,
            "err.eval.empty_sheet"
        );
    }

    #[test]
    fn a_scheme_form_names_each_bad_field() {
        let s = SchemeInput::parse(
            "2026",
            "2026年度民族工作绩效考评",
            "钦州市民族宗教事务委员会",
            "field_first",
            "5",
            "",
            "",
        )
        .unwrap();
        assert_eq!(
            (s.year, s.bonus_cap, s.deduction_cap),
            (2026, Some(Points(500)), None)
        );
        let e = SchemeInput::parse("26", " ", "", "coin", "x", "", "好 90").unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "year",
                "name",
                "organiser",
                "merge_rule",
                "bonus_cap",
                "grades"
            ]
        );
    }
}
