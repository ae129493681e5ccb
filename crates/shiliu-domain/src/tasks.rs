//! Work plans and their task decomposition (实施方案 · 任务分解表): a plan of a commission's region
//! runs over phases ("一年强基础、两年见成效、三年创示范"); its tasks form a tree (area → task →
//! measure), each leaf handed to lead units (牵头单位) and co-operating units (责任单位 /
//! 配合单位) with a deadline or a recurrence and, where it can be counted, a target.
//!
//! Here: the codes, the checked inputs, and the reading of a decomposition sheet in the layout
//! such tables are kept in (序号 · 工作任务 · 具体措施 · 牵头单位 · 责任单位 · 完成时限 · 备注),
//! deadlines written as people write them ("2027年6月底前", "每季度", "长期坚持").

use chrono::{Datelike, NaiveDate};

use crate::code_enum;

pub mod inspections;
pub mod instructions;
use crate::error::{FieldError, FieldErrors, optional_text, required_text};

code_enum! {
    /// Where a plan stands: drafted (its tree may be replaced by a sheet), in force (units
    /// report on it), or closed.
    pub enum PlanStatus {
        Draft = "draft",
        Active = "active",
        Closed = "closed",
    }
}

code_enum! {
    /// A node of the decomposition: an area (重点领域), a task (工作任务) or a measure (具体措施).
    pub enum TaskLevel {
        Area = "area",
        Task = "task",
        Measure = "measure",
    }
}

code_enum! {
    /// How often a task is reported on: once, by its deadline, or every period while the plan
    /// runs (长期坚持: every year, with no end of its own).
    pub enum Recurrence {
        Once = "once",
        Monthly = "monthly",
        Quarterly = "quarterly",
        HalfYearly = "half_yearly",
        Yearly = "yearly",
        Ongoing = "ongoing",
    }
}

/// A period a task is reported for: its code (`2027-03`, `2027-Q1`, `2027-H1`, `2027`; `""`
/// for a task done once) and its days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub code: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

impl Recurrence {
    /// The periods within `from`..=`to`: for a rhythm, the calendar's months, quarters, halves or
    /// years that overlap it; for a task done once, one period, `""`, over all of it.
    pub fn periods(self, from: NaiveDate, to: NaiveDate) -> Vec<Period> {
        let months = match self {
            Recurrence::Once => {
                return vec![Period {
                    code: String::new(),
                    starts_on: from,
                    ends_on: to,
                }];
            }
            Recurrence::Monthly => 1,
            Recurrence::Quarterly => 3,
            Recurrence::HalfYearly => 6,
            Recurrence::Yearly | Recurrence::Ongoing => 12,
        };
        let mut out = Vec::new();
        let (mut year, mut month) = (from.year(), 1);
        // Periods start in January and follow each other; those that overlap the plan count.
        while let (Some(start), Some(end)) = (
            NaiveDate::from_ymd_opt(year, month, 1),
            month_end(year, month + months - 1),
        ) {
            if start > to {
                break;
            }
            if end >= from {
                out.push(Period {
                    code: period_code(self, year, month),
                    starts_on: start,
                    ends_on: end,
                });
            }
            month += months;
            if month > 12 {
                month -= 12;
                year += 1;
            }
        }
        out
    }
}

code_enum! {
    /// Where a unit's report on a task for a period stands: sent to the lead unit (or, for a
    /// lead unit's own, to the organiser), sent back with an opinion (审核意见), or confirmed.
    pub enum ReportStatus {
        Submitted = "submitted",
        Returned = "returned",
        Confirmed = "confirmed",
    }
}

code_enum! {
    /// How a unit stands on a task, as the boards colour it: 未开始 · 推进中 · 已完成 · 逾期 · 滞后.
    pub enum Progress {
        NotStarted = "not_started",
        InProgress = "in_progress",
        Done = "done",
        /// A deadline passed without a report confirmed (a task done once) or without one
        /// sent (a period of a rhythm).
        Overdue = "overdue",
        /// Reported but behind: a report sent back and not sent again, or a figure short of
        /// what the target asks by now.
        Lagging = "lagging",
    }
}

impl Progress {
    /// How urgent, the late first (overdue 0 … done 4): the order boards and lists show
    /// standings in, and the worst of several.
    pub fn urgency(self) -> u8 {
        match self {
            Progress::Overdue => 0,
            Progress::Lagging => 1,
            Progress::NotStarted => 2,
            Progress::InProgress => 3,
            Progress::Done => 4,
        }
    }

    /// Red, amber or green as a board shows it (grey: not started, nothing due yet).
    pub fn colour(self) -> &'static str {
        match self {
            Progress::Overdue => "red",
            Progress::Lagging => "amber",
            Progress::Done | Progress::InProgress => "green",
            Progress::NotStarted => "grey",
        }
    }
}

/// A unit's latest report for one period, as the progress rule reads it (borrowed from the
/// report: a board reads tens of thousands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported<'a> {
    pub period: &'a str,
    pub status: ReportStatus,
    pub figure: Option<i64>,
}

/// What a task asks of each unit it is handed to: its deadline or rhythm within the plan, and
/// its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Asked {
    pub due_on: Option<NaiveDate>,
    pub recurrence: Recurrence,
    pub plan_start: NaiveDate,
    pub plan_end: NaiveDate,
    pub target: Option<i64>,
}

impl Asked {
    /// The periods reported for: a task done once has one, due on its deadline (or the plan's
    /// end).
    pub fn periods(&self) -> Vec<Period> {
        let end = match self.recurrence {
            Recurrence::Once => self.due_on.unwrap_or(self.plan_end),
            _ => self.plan_end,
        };
        self.recurrence.periods(self.plan_start, end)
    }

    /// The periods a report may be sent for on `today`: those begun.
    pub fn open_periods(&self, today: NaiveDate) -> Vec<Period> {
        self.periods()
            .into_iter()
            .filter(|p| p.starts_on <= today)
            .collect()
    }

    /// How a unit stands on `today`, from its latest report of each period.
    pub fn progress(&self, reports: &[Reported], today: NaiveDate) -> Progress {
        self.progress_over(&self.periods(), reports, today)
    }

    /// The same with the task's [`periods`](Self::periods) worked out once, for all the units
    /// it is handed to.
    pub fn progress_over(
        &self,
        periods: &[Period],
        reports: &[Reported],
        today: NaiveDate,
    ) -> Progress {
        // Byte by byte: codes are a few bytes, shorter than a library comparison's call, and
        // a province's board compares hundreds of thousands.
        let status = |code: &str| {
            reports
                .iter()
                .find(|r| r.period.len() == code.len() && r.period.bytes().eq(code.bytes()))
                .map(|r| r.status)
        };
        // One look at each period: every one confirmed, or one past its end and missing.
        let (mut all_confirmed, mut overdue) = (true, false);
        for p in periods {
            let s = status(&p.code);
            let confirmed = s == Some(ReportStatus::Confirmed);
            all_confirmed &= confirmed;
            overdue |= p.ends_on < today
                && match self.recurrence {
                    Recurrence::Once => !confirmed,
                    _ => s.is_none(),
                };
        }
        if all_confirmed {
            return Progress::Done;
        }
        if overdue {
            Progress::Overdue
        } else if reports.iter().any(|r| r.status == ReportStatus::Returned)
            || self.behind(reports, today)
        {
            Progress::Lagging
        } else if reports.is_empty() {
            Progress::NotStarted
        } else {
            Progress::InProgress
        }
    }

    /// Whether the best figure reported falls short of the target's share of the time gone by.
    fn behind(&self, reports: &[Reported], today: NaiveDate) -> bool {
        let (Some(target), Some(figure)) =
            (self.target, reports.iter().filter_map(|r| r.figure).max())
        else {
            return false;
        };
        let end = self.due_on.unwrap_or(self.plan_end);
        let whole = (end - self.plan_start).num_days().max(1);
        let gone = (today - self.plan_start).num_days().clamp(0, whole);
        // figure / target < gone / whole, in whole numbers.
        i128::from(figure) * i128::from(whole) < i128::from(target) * i128::from(gone)
    }
}

/// Tasks' periods worked out once for each rhythm and days (a plan's tasks share a few), for a
/// page that reads the standing of thousands.
#[derive(Debug, Default)]
pub struct Schedules(std::collections::HashMap<Asked, std::rc::Rc<Vec<Period>>>);

impl Schedules {
    /// The periods of a task asking `asked`.
    pub fn of(&mut self, asked: &Asked) -> std::rc::Rc<Vec<Period>> {
        let key = Asked {
            target: None,
            ..*asked
        };
        std::rc::Rc::clone(
            self.0
                .entry(key)
                .or_insert_with(|| std::rc::Rc::new(asked.periods())),
        )
    }
}

/// A unit's report as sent: for which period, what was done, and a figure against the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportInput {
    pub period: String,
    pub progress: String,
    pub figure: Option<i64>,
}

impl ReportInput {
    /// `period` must be one of `open` (the periods begun); the text is required.
    pub fn parse(
        period: &str,
        progress: &str,
        figure: &str,
        open: &[Period],
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let period = period.trim();
        if !open.iter().any(|p| p.code == period) {
            errs.push(FieldError::new("period", "err.tasks.period"));
        }
        let progress = errs.check(required_text("progress", progress, 4_000));
        let figure = match figure.trim() {
            "" => None,
            f => match f.parse::<i64>() {
                Ok(n) if (0..=1_000_000_000).contains(&n) => Some(n),
                _ => {
                    errs.push(FieldError::new("figure", "err.tasks.figure"));
                    None
                }
            },
        };
        errs.into_result()?;
        Ok(Self {
            period: period.to_string(),
            progress: progress.unwrap_or_default(),
            figure,
        })
    }
}

/// A period's name as people say it: 2027年3月, 2027年第1季度, 2027年上半年, 2027年度; a task done
/// once: empty.
pub fn period_label(code: &str) -> String {
    let (year, rest) = code.split_once('-').unwrap_or((code, ""));
    match rest {
        "" if year.is_empty() => String::new(),
        "" => format!("{year}年度"),
        "H1" => format!("{year}年上半年"),
        "H2" => format!("{year}年下半年"),
        q if q.starts_with('Q') => format!("{year}年第{}季度", &q[1..]),
        m => format!("{year}年{}月", m.trim_start_matches('0')),
    }
}

/// The days a period's code covers (`2027`, `2027-H1`, `2027-Q3`, `2027-03`); `None` for a
/// task done once (`""`) or a code that is none of these.
pub fn period_days(code: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (year, rest) = code.split_once('-').unwrap_or((code, ""));
    let year: i32 = year.parse().ok()?;
    let (first, months) = match rest {
        "" => (1, 12),
        "H1" => (1, 6),
        "H2" => (7, 6),
        q if q.starts_with('Q') => {
            let n: u32 = q[1..].parse().ok().filter(|n| (1..=4).contains(n))?;
            (3 * n - 2, 3)
        }
        m => (m.parse().ok().filter(|m| (1..=12).contains(m))?, 1),
    };
    Some((
        NaiveDate::from_ymd_opt(year, first, 1)?,
        month_end(year, first + months - 1)?,
    ))
}

/// The last day of `month` (1–12) of `year`.
fn month_end(year: i32, month: u32) -> Option<NaiveDate> {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
}

fn period_code(r: Recurrence, year: i32, first_month: u32) -> String {
    match r {
        Recurrence::Monthly => format!("{year}-{first_month:02}"),
        Recurrence::Quarterly => format!("{year}-Q{}", (first_month - 1) / 3 + 1),
        Recurrence::HalfYearly => format!("{year}-H{}", (first_month - 1) / 6 + 1),
        Recurrence::Yearly | Recurrence::Ongoing => year.to_string(),
        Recurrence::Once => String::new(),
    }
}

/// A phase of a plan: its name, dates and goal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Phase {
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub goal: String,
}

/// A plan's header and phases, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput {
    pub name: String,
    /// Who issued it (柳州市创建全国民族团结进步示范市工作领导小组办公室).
    pub organiser: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub phases: Vec<Phase>,
}

/// A phase as the form sends it: name, start, end, goal (a row left wholly blank is skipped).
pub type PhaseFields<'a> = (&'a str, &'a str, &'a str, &'a str);

/// A day written `YYYY-MM-DD`.
pub(crate) fn day(field: &str, value: &str) -> Result<NaiveDate, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "err.required"));
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| FieldError::new(field, "err.date"))
}

impl PlanInput {
    pub fn parse(
        name: &str,
        organiser: &str,
        starts_on: &str,
        ends_on: &str,
        phases: &[PhaseFields],
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(required_text("name", name, 100));
        let organiser = errs.check(required_text("organiser", organiser, 100));
        let start = errs.check(day("starts_on", starts_on));
        let end = errs.check(day("ends_on", ends_on));
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            errs.push(FieldError::new("ends_on", "err.date.before_start"));
        }
        let mut list: Vec<Phase> = Vec::new();
        for (i, (n, s, e, g)) in phases.iter().enumerate() {
            if [n, s, e, g].iter().all(|v| v.trim().is_empty()) {
                continue;
            }
            let number = i + 1;
            let bad = |reason| FieldError::new("phases", reason).arg("n", number);
            let pn = required_text("phases", n, 40).map_err(|_| bad("err.tasks.phase_name"));
            let ps = day("phases", s).map_err(|_| bad("err.tasks.phase_dates"));
            let pe = day("phases", e).map_err(|_| bad("err.tasks.phase_dates"));
            let goal = optional_text("phases", g, 300).map_err(|_| bad("err.tasks.phase_goal"));
            let (Some(pn), Some(ps), Some(pe), Some(goal)) = (
                errs.check(pn),
                errs.check(ps),
                errs.check(pe),
                errs.check(goal),
            ) else {
                continue;
            };
            let within = start.is_none_or(|s| ps >= s) && end.is_none_or(|e| pe <= e);
            if pe < ps || !within {
                errs.push(bad("err.tasks.phase_dates"));
                continue;
            }
            if list.last().is_some_and(|prev| ps <= prev.ends_on) {
                errs.push(bad("err.tasks.phase_order"));
                continue;
            }
            list.push(Phase {
                name: pn,
                starts_on: ps,
                ends_on: pe,
                goal: goal.unwrap_or_default(),
            });
        }
        errs.into_result()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            organiser: organiser.unwrap_or_default(),
            starts_on: start.unwrap_or_default(),
            ends_on: end.unwrap_or_default(),
            phases: list,
        })
    }

    /// The same plan a year on: dates moved by a year (29 February becomes the 28th), the name's
    /// year too where it names the start year.
    #[must_use]
    pub fn next_year(&self) -> Self {
        let y = self.starts_on.year();
        Self {
            name: self.name.replace(&y.to_string(), &(y + 1).to_string()),
            organiser: self.organiser.clone(),
            starts_on: year_on(self.starts_on),
            ends_on: year_on(self.ends_on),
            phases: self
                .phases
                .iter()
                .map(|p| Phase {
                    starts_on: year_on(p.starts_on),
                    ends_on: year_on(p.ends_on),
                    ..p.clone()
                })
                .collect(),
        }
    }
}

/// The same day a year on (29 February becomes the 28th): how a plan and its deadlines are
/// copied to next year.
pub fn year_on(d: NaiveDate) -> NaiveDate {
    d.with_year(d.year() + 1)
        .or_else(|| NaiveDate::from_ymd_opt(d.year() + 1, d.month(), 28))
        .unwrap_or(d)
}

/// A measurable target: at least `value` of `unit` (≥ 12 场; 100 %).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub value: i64,
    /// What is counted: `%`, 场, 次, 个… (empty: a plain number).
    pub unit: String,
}

impl Target {
    /// "≥12场", "不少于 12 场", "100%", "12": a whole number, optionally led by ≥ / >= / 不少于 /
    /// 至少 / 达到, then what it counts (at most 10 characters).
    pub fn parse(field: &str, value: &str) -> Result<Option<Self>, FieldError> {
        let mut v = value.trim();
        if v.is_empty() {
            return Ok(None);
        }
        for lead in ["≥", ">=", "＞＝", "不少于", "至少", "达到", "大于等于"] {
            v = v.strip_prefix(lead).unwrap_or(v).trim_start();
        }
        let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
        let unit = v[digits.len()..].trim().replace('％', "%");
        match digits.parse::<i64>() {
            Ok(n) if n <= 1_000_000_000 && unit.chars().count() <= 10 => {
                Ok(Some(Self { value: n, unit }))
            }
            _ => Err(FieldError::new(field, "err.tasks.target")),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "≥{}{}", self.value, self.unit)
    }
}

/// When a task is due, as a decomposition sheet writes it: a day ("2027-06-30",
/// "2027年6月30日前"), a month or a half or a year ("2027年6月底前", "2027年上半年", "2027年底"),
/// or a rhythm ("每月", "每季度", "每半年", "每年", "长期坚持"). A day found is the last day of
/// what is named; a rhythm has no day of its own (it runs to the plan's end).
pub fn parse_due(field: &str, value: &str) -> Result<(Option<NaiveDate>, Recurrence), FieldError> {
    let v: String = value.split_whitespace().collect();
    if v.is_empty() {
        return Err(FieldError::new(field, "err.required"));
    }
    let rhythm = [
        ("每月", Recurrence::Monthly),
        ("按月", Recurrence::Monthly),
        ("每季", Recurrence::Quarterly),
        ("按季", Recurrence::Quarterly),
        ("每半年", Recurrence::HalfYearly),
        ("每年", Recurrence::Yearly),
        ("按年", Recurrence::Yearly),
        ("长期", Recurrence::Ongoing),
        ("持续", Recurrence::Ongoing),
        ("常态化", Recurrence::Ongoing),
    ];
    if let Some((_, r)) = rhythm.iter().find(|(w, _)| v.starts_with(w)) {
        return Ok((None, *r));
    }
    due_day(&v)
        .map(|d| (Some(d), Recurrence::Once))
        .ok_or_else(|| FieldError::new(field, "err.tasks.due"))
}

/// The last day a written deadline names, if it names one.
fn due_day(v: &str) -> Option<NaiveDate> {
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Some(d);
    }
    // Numbers in order: year, then month and day where given; words for halves and ends.
    let numbers: Vec<u32> = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let year = i32::try_from(*numbers.first()?).ok()?;
    if !(2000..=2100).contains(&year) {
        return None;
    }
    match numbers[1..] {
        [] if v.contains("上半年") => NaiveDate::from_ymd_opt(year, 6, 30),
        [] => NaiveDate::from_ymd_opt(year, 12, 31),
        [m] => month_end(year, m).filter(|_| (1..=12).contains(&m)),
        [m, d] => NaiveDate::from_ymd_opt(year, m, d),
        _ => None,
    }
}

/// How a deadline is written back into a sheet: the day, or the rhythm's words.
pub fn due_text(due: Option<NaiveDate>, r: Recurrence) -> String {
    match (r, due) {
        (Recurrence::Once, Some(d)) => d.format("%Y-%m-%d").to_string(),
        (Recurrence::Once, None) => String::new(),
        (Recurrence::Monthly, _) => "每月".into(),
        (Recurrence::Quarterly, _) => "每季度".into(),
        (Recurrence::HalfYearly, _) => "每半年".into(),
        (Recurrence::Yearly, _) => "每年".into(),
        (Recurrence::Ongoing, _) => "长期坚持".into(),
    }
}

/// Unit names as a cell lists them: split at 、，, ; and line breaks, blanks dropped.
pub fn unit_names(cell: &str) -> Vec<String> {
    cell.split(['、', '，', ',', '；', ';', '\n', '/'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(ToString::to_string)
        .collect()
}

/// One row of a decomposition sheet, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SheetRow {
    pub seq: String,
    pub task: String,
    pub measure: String,
    pub lead_units: String,
    pub co_units: String,
    pub due: String,
    pub target: String,
    pub notes: String,
}

/// A row placed in the tree. Units are by name, found in the plan's region by the database
/// layer (which reports a name it cannot find against the row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedTask {
    pub row: usize,
    pub level: TaskLevel,
    /// The index in the placed list of its parent.
    pub parent: Option<usize>,
    pub seq: String,
    pub title: String,
    pub lead_units: Vec<String>,
    pub co_units: Vec<String>,
    pub due_on: Option<NaiveDate>,
    pub recurrence: Recurrence,
    pub target: Option<Target>,
    pub notes: Option<String>,
}

/// Whether a 序号 heads an area: a Chinese numeral ("一", "二、", "（三）", "十一、").
fn is_area_seq(seq: &str) -> bool {
    let s = seq.trim().trim_start_matches(['(', '（']);
    s.chars()
        .next()
        .is_some_and(|c| "一二三四五六七八九十".contains(c))
}

/// An area heading's own words when they share the 序号 cell ("一、组织领导" → "组织领导").
fn area_words(seq: &str) -> &str {
    seq.trim()
        .trim_start_matches(['(', '（'])
        .trim_start_matches(|c: char| "一二三四五六七八九十".contains(c))
        .trim_start_matches([')', '）', '、', '.', '．', ' '])
}

/// Check a whole decomposition sheet and place its rows in the tree. A row whose 序号 is a
/// Chinese numeral, with no measure and no units, heads an area; a row with a 工作任务 starts
/// a task (its measure, if the row has one, is the task's first measure: the task's cell is
/// merged down the rows of its measures, and a merged cell is read in its first row only); a
/// row with only a 具体措施 is another measure of the task above. What units report on — a
/// measure, or a task without measures — needs a lead unit and a deadline. Every problem is
/// returned with its row; nothing is placed if there is one.
pub fn place_sheet(
    rows: &[(usize, SheetRow)],
) -> Result<Vec<PlacedTask>, Vec<(usize, FieldError)>> {
    let mut errs: Vec<(usize, FieldError)> = Vec::new();
    let mut out: Vec<PlacedTask> = Vec::new();
    let (mut area, mut task): (Option<usize>, Option<usize>) = (None, None);
    for (row, r) in rows {
        let row = *row;
        let mut fail = |e: FieldError| errs.push((row, e));
        let units_given = !r.lead_units.trim().is_empty() || !r.co_units.trim().is_empty();
        let text = |field: &str, v: &str, max| optional_text(field, v, max);
        if is_area_seq(&r.seq) && r.measure.trim().is_empty() && !units_given {
            let words = if r.task.trim().is_empty() {
                area_words(&r.seq).to_string()
            } else {
                r.task.clone()
            };
            match required_text("task", &words, 200) {
                Ok(title) => {
                    out.push(PlacedTask {
                        row,
                        level: TaskLevel::Area,
                        parent: None,
                        seq: r.seq.trim().to_string(),
                        title,
                        lead_units: Vec::new(),
                        co_units: Vec::new(),
                        due_on: None,
                        recurrence: Recurrence::Once,
                        target: None,
                        notes: text("remarks", &r.notes, 500).unwrap_or_default(),
                    });
                    area = Some(out.len() - 1);
                    task = None;
                }
                Err(e) => fail(e),
            }
            continue;
        }
        let starts_task = !r.task.trim().is_empty();
        if !starts_task && r.measure.trim().is_empty() {
            fail(FieldError::new("task", "err.required"));
            continue;
        }
        if !starts_task && task.is_none() {
            // A measure with no task above it to belong to.
            fail(FieldError::new("task", "err.tasks.measure_without_task"));
            continue;
        }
        let leaf = |errs: &mut Vec<(usize, FieldError)>| -> Option<LeafParts> {
            let lead = unit_names(&r.lead_units);
            if lead.is_empty() {
                errs.push((row, FieldError::new("lead_units", "err.required")));
            }
            let due = parse_due("due", &r.due)
                .map_err(|e| errs.push((row, e)))
                .ok();
            let target = Target::parse("target", &r.target)
                .map_err(|e| errs.push((row, e)))
                .ok();
            let notes = text("remarks", &r.notes, 500)
                .map_err(|e| errs.push((row, e)))
                .ok();
            Some(LeafParts {
                lead: (!lead.is_empty()).then_some(lead)?,
                co: unit_names(&r.co_units),
                due: due?,
                target: target?,
                notes: notes?,
            })
        };
        if starts_task {
            let title = match required_text("task", &r.task, 200) {
                Ok(t) => t,
                Err(e) => {
                    fail(e);
                    continue;
                }
            };
            let mut t = PlacedTask {
                row,
                level: TaskLevel::Task,
                parent: area,
                seq: r.seq.trim().to_string(),
                title,
                lead_units: Vec::new(),
                co_units: Vec::new(),
                due_on: None,
                recurrence: Recurrence::Once,
                target: None,
                notes: None,
            };
            if r.measure.trim().is_empty() {
                // A task with no measures is reported on itself.
                let Some(parts) = leaf(&mut errs) else {
                    continue;
                };
                parts.fill(&mut t);
                out.push(t);
                task = Some(out.len() - 1);
                continue;
            }
            out.push(t);
            task = Some(out.len() - 1);
        } else if out
            .get(task.unwrap_or_default())
            .is_some_and(|t| !t.lead_units.is_empty())
        {
            // The task above was reported on itself (no measure in its row): it cannot also
            // have measures.
            errs.push((
                row,
                FieldError::new("task", "err.tasks.measure_without_task"),
            ));
            continue;
        }
        let title = match required_text("measure", &r.measure, 500) {
            Ok(t) => t,
            Err(e) => {
                errs.push((row, e));
                continue;
            }
        };
        let Some(parts) = leaf(&mut errs) else {
            continue;
        };
        let mut m = PlacedTask {
            row,
            level: TaskLevel::Measure,
            parent: task,
            seq: String::new(),
            title,
            lead_units: Vec::new(),
            co_units: Vec::new(),
            due_on: None,
            recurrence: Recurrence::Once,
            target: None,
            notes: None,
        };
        parts.fill(&mut m);
        out.push(m);
    }
    if out.is_empty() && errs.is_empty() {
        errs.push((0, FieldError::new("file", "err.import.empty")));
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

/// What a leaf row gives beside its title.
struct LeafParts {
    lead: Vec<String>,
    co: Vec<String>,
    due: (Option<NaiveDate>, Recurrence),
    target: Option<Target>,
    notes: Option<String>,
}

impl LeafParts {
    fn fill(self, t: &mut PlacedTask) {
        t.lead_units = self.lead;
        t.co_units = self.co;
        (t.due_on, t.recurrence) = self.due;
        t.target = self.target;
        t.notes = self.notes;
    }
}

#[cfg(test)]
mod period_tests {
    use super::*;

    #[test]
    fn a_periods_code_reads_back_as_its_days() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            period_days("2027"),
            Some((d("2027-01-01"), d("2027-12-31")))
        );
        assert_eq!(
            period_days("2027-H2"),
            Some((d("2027-07-01"), d("2027-12-31")))
        );
        assert_eq!(
            period_days("2027-Q1"),
            Some((d("2027-01-01"), d("2027-03-31")))
        );
        assert_eq!(
            period_days("2028-02"),
            Some((d("2028-02-01"), d("2028-02-29")))
        );
        for none in ["", "2027-Q5", "2027-13", "x"] {
            assert_eq!(period_days(none), None, "{none}");
        }
        // Every period a rhythm makes reads back as itself.
        for r in Recurrence::ALL {
            for p in r.periods(d("2027-01-01"), d("2028-12-31")) {
                if !p.code.is_empty() {
                    assert_eq!(period_days(&p.code), Some((p.starts_on, p.ends_on)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn deadlines_are_read_as_people_write_them() {
        let due = |s: &str| parse_due("due", s).map(|(d, r)| (d.map(|d| d.to_string()), r));
        let once = |s: &str| Ok((Some(s.to_string()), Recurrence::Once));
        assert_eq!(due("2027年6月底前"), once("2027-06-30"));
        assert_eq!(due("2027年2月"), once("2027-02-28"));
        assert_eq!(due("2027年6月15日前"), once("2027-06-15"));
        assert_eq!(due("2027-06-15"), once("2027-06-15"));
        assert_eq!(due("2027/6/15"), once("2027-06-15"));
        assert_eq!(due("2027年底前"), once("2027-12-31"));
        assert_eq!(due("2027年上半年"), once("2027-06-30"));
        assert_eq!(due("2027年"), once("2027-12-31"));
        assert_eq!(due("每季度"), Ok((None, Recurrence::Quarterly)));
        assert_eq!(due("每月 5 日前"), Ok((None, Recurrence::Monthly)));
        assert_eq!(due("长期坚持"), Ok((None, Recurrence::Ongoing)));
        assert_eq!(due("每半年"), Ok((None, Recurrence::HalfYearly)));
        for bad in ["尽快", "2027年13月", "2027年2月30日", "1999年", "明年"] {
            assert_eq!(due(bad).unwrap_err().reason, "err.tasks.due", "{bad}");
        }
        assert_eq!(due(" ").unwrap_err().reason, "err.required");
        // Written back as read.
        for r in Recurrence::ALL.iter().filter(|r| **r != Recurrence::Once) {
            assert_eq!(parse_due("due", &due_text(None, *r)).unwrap().1, *r);
        }
    }

    #[test]
    fn targets_are_at_least_a_whole_number_of_something() {
        let t = |s: &str| Target::parse("target", s).map(|t| t.map(|t| t.to_string()));
        assert_eq!(t("≥12场"), Ok(Some("≥12场".into())));
        assert_eq!(t("不少于 12 场"), Ok(Some("≥12场".into())));
        assert_eq!(t("100％"), Ok(Some("≥100%".into())));
        assert_eq!(t("3"), Ok(Some("≥3".into())));
        assert_eq!(t(""), Ok(None));
        assert!(t("若干").is_err() && t("12个非常非常非常非常长的单位").is_err());
    }

    #[test]
    fn periods_cover_the_plan() {
        let codes = |ps: &[Period]| ps.iter().map(|p| p.code.clone()).collect::<Vec<_>>();
        let q = Recurrence::Quarterly.periods(d("2027-02-10"), d("2027-12-31"));
        assert_eq!(codes(&q), ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]);
        assert_eq!(
            (q[0].starts_on, q[0].ends_on),
            (d("2027-01-01"), d("2027-03-31"))
        );
        let m = Recurrence::Monthly.periods(d("2027-11-01"), d("2028-01-31"));
        assert_eq!(codes(&m), ["2027-11", "2027-12", "2028-01"]);
        assert_eq!(
            Recurrence::Ongoing
                .periods(d("2027-01-01"), d("2029-12-31"))
                .len(),
            3
        );
        assert_eq!(
            Recurrence::Once.periods(d("2027-01-01"), d("2027-06-30")),
            vec![Period {
                code: String::new(),
                starts_on: d("2027-01-01"),
                ends_on: d("2027-06-30")
            }]
        );
    }

    fn asked(due: Option<&str>, r: Recurrence, target: Option<i64>) -> Asked {
        Asked {
            due_on: due.map(d),
            recurrence: r,
            plan_start: d("2027-01-01"),
            plan_end: d("2027-12-31"),
            target,
        }
    }

    fn rep(period: &str, status: ReportStatus, figure: Option<i64>) -> Reported<'_> {
        Reported {
            period,
            status,
            figure,
        }
    }

    #[test]
    fn a_task_done_once_is_overdue_until_confirmed_after_its_deadline() {
        let a = asked(Some("2027-06-30"), Recurrence::Once, None);
        let (before, after) = (d("2027-05-01"), d("2027-07-01"));
        assert_eq!(a.progress(&[], before), Progress::NotStarted);
        let sent = [rep("", ReportStatus::Submitted, None)];
        assert_eq!(a.progress(&sent, before), Progress::InProgress);
        assert_eq!(a.progress(&sent, after), Progress::Overdue);
        let returned = [rep("", ReportStatus::Returned, None)];
        assert_eq!(a.progress(&returned, before), Progress::Lagging);
        let confirmed = [rep("", ReportStatus::Confirmed, None)];
        assert_eq!(a.progress(&confirmed, after), Progress::Done);
        assert_eq!(Progress::Overdue.colour(), "red");
    }

    #[test]
    fn a_rhythm_is_overdue_when_a_past_period_has_no_report() {
        let a = asked(None, Recurrence::Quarterly, None);
        let in_q2 = d("2027-05-15");
        assert_eq!(
            a.open_periods(in_q2)
                .iter()
                .map(|p| p.code.as_str())
                .collect::<Vec<_>>(),
            ["2027-Q1", "2027-Q2"]
        );
        assert_eq!(a.progress(&[], d("2027-02-01")), Progress::NotStarted);
        assert_eq!(a.progress(&[], in_q2), Progress::Overdue);
        let q1 = [rep("2027-Q1", ReportStatus::Submitted, None)];
        assert_eq!(a.progress(&q1, in_q2), Progress::InProgress);
        let all: Vec<Reported> = ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
            .iter()
            .map(|q| rep(q, ReportStatus::Confirmed, None))
            .collect();
        assert_eq!(a.progress(&all, d("2028-01-05")), Progress::Done);
    }

    #[test]
    fn a_figure_short_of_the_targets_share_by_now_lags() {
        // ≥ 12 by the year's end: by July, 6 is on course and 3 is behind.
        let a = asked(None, Recurrence::Ongoing, Some(12));
        let july = d("2027-07-02");
        let with = |n| [rep("2027", ReportStatus::Submitted, Some(n))];
        assert_eq!(a.progress(&with(6), july), Progress::InProgress);
        assert_eq!(a.progress(&with(3), july), Progress::Lagging);
    }

    #[test]
    fn a_report_names_its_period_text_and_figure() {
        let a = asked(None, Recurrence::Quarterly, None);
        let open = a.open_periods(d("2027-05-15"));
        let ok = ReportInput::parse("2027-Q2", "已开展两场", "2", &open).unwrap();
        assert_eq!(ok.figure, Some(2));
        let bad = ReportInput::parse("2027-Q3", " ", "两场", &open).unwrap_err();
        let fields: Vec<&str> = bad.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["period", "progress", "figure"]);
        assert_eq!(period_label("2027-Q2"), "2027年第2季度");
        assert_eq!(period_label("2027-03"), "2027年3月");
        assert_eq!(period_label("2027-H1"), "2027年上半年");
        assert_eq!(period_label("2027"), "2027年度");
        assert_eq!(period_label(""), "");
    }

    fn row(seq: &str, task: &str, measure: &str, lead: &str, due: &str) -> SheetRow {
        SheetRow {
            seq: seq.into(),
            task: task.into(),
            measure: measure.into(),
            lead_units: lead.into(),
            due: due.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_sheet_is_placed_as_areas_tasks_and_measures() {
        let rows = vec![
            (2, row("一、组织领导", "", "", "", "")),
            (3, row("1", "制定实施方案", "", "市民宗委", "2027年3月底前")),
            (
                4,
                row(
                    "2",
                    "开展宣传教育",
                    "进机关",
                    "市委宣传部、市民宗委",
                    "每季度",
                ),
            ),
            (5, row("", "", "进学校", "市教育局", "每季度")),
            (6, row("二", "示范创建", "", "", "")),
            (
                7,
                row("3", "培育示范单位", "命名一批", "市民宗委", "2028年底"),
            ),
        ];
        let placed = place_sheet(&rows).unwrap();
        let levels: Vec<_> = placed.iter().map(|p| (p.level, p.parent)).collect();
        assert_eq!(
            levels,
            [
                (TaskLevel::Area, None),
                (TaskLevel::Task, Some(0)),
                (TaskLevel::Task, Some(0)),
                (TaskLevel::Measure, Some(2)),
                (TaskLevel::Measure, Some(2)),
                (TaskLevel::Area, None),
                (TaskLevel::Task, Some(5)),
                (TaskLevel::Measure, Some(6)),
            ]
        );
        assert_eq!(placed[0].title, "组织领导");
        assert_eq!(placed[5].title, "示范创建");
        assert_eq!(placed[3].lead_units, ["市委宣传部", "市民宗委"]);
        assert_eq!(placed[4].recurrence, Recurrence::Quarterly);
        assert_eq!(placed[1].due_on, Some(d("2027-03-31")));
        assert!(placed[2].lead_units.is_empty(), "a task with measures");
    }

    #[test]
    fn every_problem_of_a_sheet_is_named_by_row_and_column() {
        let rows = vec![
            (2, row("", "", "孤立的措施", "市民宗委", "2027年")),
            (3, row("1", "任务", "", "", "尽快")),
            (4, row("2", "任务二", "措施", "市民宗委", "")),
            (5, row("3", "任务三", "", "市民宗委", "2027年")),
            (6, row("", "", "不属于上一任务", "市民宗委", "2027年")),
        ];
        let errs = place_sheet(&rows).unwrap_err();
        let got: Vec<(usize, &str, &str)> = errs
            .iter()
            .map(|(r, e)| (*r, e.field.as_str(), e.reason))
            .collect();
        assert_eq!(
            got,
            [
                (2, "task", "err.tasks.measure_without_task"),
                (3, "lead_units", "err.required"),
                (3, "due", "err.tasks.due"),
                (4, "due", "err.required"),
                (6, "task", "err.tasks.measure_without_task"),
            ]
        );
        assert_eq!(
            place_sheet(&[]).unwrap_err()[0].1.reason,
            "err.import.empty"
        );
    }

    #[test]
    fn a_plan_checks_its_phases_and_moves_a_year_on() {
        let p = PlanInput::parse(
            "2027年创建工作方案",
            "市创建办",
            "2027-01-01",
            "2029-12-31",
            &[
                ("强基础", "2027-01-01", "2027-12-31", "一年强基础"),
                ("", "", "", ""),
                ("见成效", "2028-01-01", "2028-12-31", ""),
            ],
        )
        .unwrap();
        assert_eq!(p.phases.len(), 2);
        let next = p.next_year();
        assert_eq!(next.name, "2028年创建工作方案");
        assert_eq!(next.phases[1].starts_on, d("2029-01-01"));
        let reasons = |end: &str, phases: &[PhaseFields]| -> Vec<(String, &str)> {
            PlanInput::parse("", "市创建办", "2027-01-01", end, phases)
                .unwrap_err()
                .0
                .into_iter()
                .map(|e| (e.field, e.reason))
                .collect()
        };
        let overlapping = [
            ("一", "2027-01-01", "2027-12-31", ""),
            ("二", "2027-06-01", "2027-12-31", ""),
        ];
        assert_eq!(
            reasons("2029-12-31", &overlapping),
            [
                ("name".to_string(), "err.required"),
                ("phases".to_string(), "err.tasks.phase_order")
            ]
        );
        assert!(
            reasons("2026-12-31", &[]).contains(&("ends_on".to_string(), "err.date.before_start"))
        );
        // A phase outside the plan's dates.
        assert!(
            reasons("2027-06-30", &overlapping[..1])
                .contains(&("phases".to_string(), "err.tasks.phase_dates"))
        );
    }
}
