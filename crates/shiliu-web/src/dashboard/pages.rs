//! The dashboard page (领导驾驶舱): one place's figures with their trends, 环比 and 同比; a map
//! of the places below it coloured by a chosen measure; the same figures as a table ranked by
//! that measure; what needs attention; the evaluations and plans there. A place below links to
//! its own board (drill-down); the trail above links back up. The same board prints on one A4
//! landscape sheet, fills a wall screen (`/dashboard/wall`) and is an Excel sheet.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use shiliu_db::dashboard::{self as db, Board, Parts, Periods, Place, When};
use shiliu_db::org::{self as org_db, Region};
use shiliu_db::scope::grants;
use shiliu_domain::dashboard::{Better, Measure, Period, Source, Unit, change};
use shiliu_domain::tasks::Progress;
use shiliu_domain::{FieldError, FieldErrors};

use super::map::{self, MapView, Mapped};
use crate::requests::stats::{month, percent};
use crate::web::charts::Spark;
use crate::web::error::{AppError, AppResult};
use crate::web::i18n::T;
use crate::web::page::{Layout, render};
use crate::web::{AppState, Principal, urlencode};

#[derive(Deserialize, Default)]
pub struct BoardQuery {
    /// The place: a region code within the caller's scope (empty: the scope's own region).
    #[serde(default)]
    region: String,
    /// What the map colours and the table ranks by.
    #[serde(default)]
    measure: String,
    /// Months `YYYY-MM`, both included (empty: this year up to this month).
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// What was asked, checked.
pub struct Asked {
    pub measure: Measure,
    pub period: Period,
}

impl BoardQuery {
    pub fn checked(&self, visible: &[Measure]) -> Result<Asked, FieldErrors> {
        let mut errs = FieldErrors::new();
        let measure = match self.measure.trim() {
            "" => visible.first().copied().unwrap_or(Measure::Received),
            code => errs
                .check(
                    Measure::parse(code)
                        .filter(|m| visible.contains(m))
                        .ok_or_else(|| FieldError::new("measure", "err.choice")),
                )
                .unwrap_or(Measure::Received),
        };
        let today = shiliu_db::today();
        let default = Period::year_to_date(today);
        let from = errs.check(month("from", &self.from, default.from()));
        let to = errs.check(month("to", &self.to, default.to()));
        let period = match (from, to) {
            (Some(f), Some(t)) => errs
                .check(Period::new(f, t).ok_or_else(|| FieldError::new("to", "err.month_order"))),
            _ => None,
        };
        errs.into_result()?;
        Ok(Asked {
            measure,
            period: period.unwrap_or(default),
        })
    }
}

/// The measures a caller may see: those of the modules they may read.
pub fn visible(p: &Principal) -> Vec<Measure> {
    use shiliu_domain::roles::Permission;
    Measure::ALL
        .iter()
        .copied()
        .filter(|m| match m.source() {
            Source::Requests => p.can(Permission::ViewRequests),
            Source::Registry => p.can(Permission::ViewRegistry),
        })
        .collect()
}

/// A board as read for a caller: the place, the trail of places above it in the caller's
/// scope, and the figures.
pub struct Read {
    pub board: Board,
    pub trail: Vec<Region>,
    pub asked: Asked,
    pub visible: Vec<Measure>,
    /// The evaluations run at or below the place (None: the caller has no way into them).
    pub evaluations: Option<Vec<db::EvaluationPart>>,
    /// The work plans in force over the place (None: the caller may not read plans).
    pub plans: Option<Vec<PlanStanding>>,
}

/// A plan in force and how its (task, unit) pairs stand today.
pub struct PlanStanding {
    pub id: i64,
    pub name: String,
    /// Pairs per standing, in [`Progress::ALL`]'s order.
    pub counts: Vec<i64>,
    pub findings_overdue: i64,
}

impl PlanStanding {
    pub fn of(&self, p: Progress) -> i64 {
        Progress::ALL
            .iter()
            .position(|x| *x == p)
            .and_then(|i| self.counts.get(i).copied())
            .unwrap_or(0)
    }
}

/// Read the board a query asks for, in the caller's scope.
pub async fn read(state: &AppState, p: &Principal, q: &BoardQuery) -> AppResult<Read> {
    let view = p.require::<grants::ViewOrg>()?;
    let visible = visible(p);
    if visible.is_empty() {
        return Err(AppError::Forbidden);
    }
    let asked = q.checked(&visible)?;
    let requests = p.require::<grants::ViewRequests>().ok();
    let registry = p.require::<grants::ViewRegistry>().ok();
    let evaluator = crate::evaluation::scores::actor(p).ok();
    let tasks = p.require::<grants::ViewTasks>().ok();
    let keys = state.db.request_keys();
    let code = q.region.trim().to_string();
    let periods = Periods::of(asked.period);
    let now = shiliu_db::now();
    let (board, trail, evaluations, plans) = state
        .db
        .read(move |c| {
            let scope = view.scope();
            let place = if code.is_empty() {
                // The scope's own region; a scope of several regions starts at the first.
                org_db::scope_roots(c, scope)?
                    .into_iter()
                    .next()
                    .ok_or(shiliu_db::DbError::NotFound)?
            } else {
                org_db::get_region_by_code(c, scope, &code).map_err(|e| match e {
                    shiliu_db::DbError::NotFound => shiliu_db::DbError::Invalid(
                        FieldError::new("region", "err.region.unknown").into(),
                    ),
                    e => e,
                })?
            };
            let parts = Parts {
                requests: requests.as_ref().map(|r| (r, keys.as_ref())),
                registry: registry.as_ref(),
            };
            let board = db::board(c, scope, &place, &parts, &periods, now)?;
            let trail = org_db::trail(c, scope, &place)?;
            let evaluations = evaluator
                .map(|a| db::evaluations(c, &a, &place))
                .transpose()?;
            let plans = tasks.map(|can| db::plans(c, &can, &place)).transpose()?;
            Ok((board, trail, evaluations, plans))
        })
        .await?;
    let t = p.t();
    let plans = plans.map(|plans| {
        plans
            .iter()
            .map(|x| PlanStanding {
                id: x.plan.id,
                name: x.plan.name.clone(),
                counts: crate::tasks::board::standing(&x.plan, &x.tree, &x.marks, t),
                findings_overdue: x.findings_overdue,
            })
            .collect()
    });
    Ok(Read {
        board,
        trail,
        asked,
        visible,
        evaluations,
        plans,
    })
}

/// A measure's figure as people read it: a count, or a share as 94.3%; a dash for none.
pub fn shown(m: Measure, v: Option<i64>) -> String {
    match (m.unit(), v) {
        (_, None) => "—".into(),
        (Unit::Count, Some(v)) => v.to_string(),
        (Unit::PerMille, v) => percent(v),
    }
}

/// How a figure moved, in words and as good, bad or neither (for its colour).
pub fn moved(
    t: T,
    m: Measure,
    now: Option<i64>,
    before: Option<i64>,
) -> Option<(String, &'static str)> {
    let d = change(m.unit(), now, before)?;
    let sign = match d.cmp(&0) {
        std::cmp::Ordering::Greater => "+",
        std::cmp::Ordering::Less => "−",
        std::cmp::Ordering::Equal => "±",
    };
    let a = d.abs();
    let text = match m.unit() {
        Unit::Count => format!("{sign}{}.{}%", a / 10, a % 10),
        Unit::PerMille => t.f(
            "dashboard.points",
            &[("n", &format!("{sign}{}.{}", a / 10, a % 10))],
        ),
    };
    let class = match (m.better(), d.signum()) {
        (_, 0) | (Better::Neither, _) => "flat",
        (Better::Higher, 1) | (Better::Lower, -1) => "good",
        _ => "bad",
    };
    Some((text, class))
}

/// One figure of the place, with its trend and how it moved.
pub struct Card {
    pub code: &'static str,
    pub label: String,
    pub value: String,
    /// What the figure is of: the period, or "now".
    pub when: String,
    pub mom: Option<(String, &'static str)>,
    pub yoy: Option<(String, &'static str)>,
    pub spark: Option<Spark>,
    pub href: String,
    pub selected: bool,
}

/// One place's line in the table.
pub struct Line {
    pub rank: usize,
    pub name: String,
    pub href: String,
    pub cells: Vec<String>,
    pub previous: String,
    pub mom: Option<(String, &'static str)>,
}

/// Something that needs attention, where, and the list of them.
pub struct Flag<'a> {
    /// `escalated` or `overdue` (requests), `tasks_overdue` (reports owed past their
    /// deadline) or `findings_overdue` (rectifications past theirs).
    pub kind: &'static str,
    /// Where: the requests' region, or the plan.
    pub region: Option<&'a Region>,
    pub plan: Option<&'a PlanStanding>,
    pub count: i64,
    pub href: String,
}

pub struct Attention {
    pub label: String,
    pub count: i64,
    pub href: String,
}

/// An evaluation as the board's panel shows it.
pub struct EvalPanel {
    pub name: String,
    pub href: String,
    pub stage: String,
    /// The current stage's deadline, if it has one.
    pub due: String,
    /// "自评已提交 80 / 109 · 第一次核验完成 12 / 109", or once published the grades.
    pub progress: String,
    /// Published: the first of each category.
    pub top: String,
}

/// A plan in force as the board's panel shows it: its pairs by standing.
pub struct PlanPanel {
    pub name: String,
    pub href: String,
    /// (standing's word, its colour class, how many, the board filtered to it).
    pub standings: Vec<(String, &'static str, i64, String)>,
    pub findings_overdue: i64,
    pub findings_href: String,
}

#[derive(Template)]
#[template(path = "dashboard/board.html")]
struct BoardPage {
    l: Layout,
    place: String,
    trail: Vec<(String, String)>,
    period: String,
    from: String,
    to: String,
    region: String,
    measure: &'static str,
    measure_label: String,
    measures: Vec<(&'static str, String)>,
    cards: Vec<Card>,
    map: Option<MapView>,
    heads: Vec<String>,
    /// Which of the columns is the measure ranked by (the wall screen shows it alone).
    chosen: usize,
    lines: Vec<Line>,
    total: Vec<String>,
    attention: Vec<Attention>,
    /// None: the caller has no way into evaluations (or plans); empty: none run here.
    evaluations: Option<Vec<EvalPanel>>,
    plans: Option<Vec<PlanPanel>>,
    below_label: String,
    export_href: String,
    /// The same board on the wall screen, and back.
    wall_href: String,
    page_href: String,
    /// When the figures were read (China's time), for the printed page and the wall.
    printed: String,
}

fn label(t: T, m: Measure) -> String {
    t.s(&format!("dashboard.m.{}", m.as_str())).to_string()
}

/// The query of a board: its place, measure and months.
fn query(region: &str, measure: Measure, period: Period) -> String {
    let (from, to) = period.bounds();
    format!(
        "region={}&measure={}&from={from}&to={to}",
        urlencode(region),
        measure.as_str()
    )
}

/// The link to a board with one thing changed.
fn link(region: &str, measure: Measure, period: Period) -> String {
    format!("/dashboard?{}", query(region, measure, period))
}

/// What the figures are of and compared with, in words.
fn period_line(t: T, period: Period) -> String {
    let ((from, to), (pfrom, pto)) = (period.bounds(), period.previous().bounds());
    t.f(
        "dashboard.period",
        &[
            ("from", &from),
            ("to", &to),
            ("pfrom", &pfrom),
            ("pto", &pto),
        ],
    )
}

fn cards(t: T, r: &Read) -> Vec<Card> {
    let w = &r.board.whole;
    let period = r.asked.period;
    let (from, to) = period.bounds();
    r.visible
        .iter()
        .map(|&m| {
            let now = w.value(m, When::Now);
            let spark = r.board.months(m).and_then(|months| {
                let values: Vec<Option<i64>> = months.iter().map(|(_, v)| *v).collect();
                let last = months.last().map(|(k, v)| format!("{k}：{}", shown(m, *v)));
                Spark::of(
                    &values,
                    m.unit() == Unit::Count,
                    t.f(
                        "dashboard.trend_summary",
                        &[("last", &last.unwrap_or_default())],
                    ),
                )
            });
            Card {
                code: m.as_str(),
                label: label(t, m),
                value: shown(m, now),
                when: if m.of_period() {
                    if from == to {
                        from.clone()
                    } else {
                        format!("{from} – {to}")
                    }
                } else {
                    t.s("dashboard.now").to_string()
                },
                mom: moved(t, m, now, w.value(m, When::Previous)),
                yoy: moved(t, m, now, w.value(m, When::YearBefore)),
                spark,
                href: link(&w.region.code, m, period),
                selected: m == r.asked.measure,
            }
        })
        .collect()
}

/// The places ranked by the measure, highest first (places without a figure last, then by
/// code), each with every figure.
fn lines(t: T, r: &Read) -> Vec<Line> {
    let m = r.asked.measure;
    let mut parts: Vec<&Place> = r.board.parts.iter().collect();
    parts.sort_by(|a, b| {
        let (va, vb) = (a.value(m, When::Now), b.value(m, When::Now));
        vb.is_some()
            .cmp(&va.is_some())
            .then(vb.cmp(&va))
            .then(a.region.code.cmp(&b.region.code))
    });
    let mut rank = 0;
    let mut last: Option<Option<i64>> = None;
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let v = p.value(m, When::Now);
            // Equal figures share a rank (1, 2, 2, 4).
            if last != Some(v) {
                rank = i + 1;
                last = Some(v);
            }
            Line {
                rank,
                name: p.region.name.clone(),
                href: link(&p.region.code, m, r.asked.period),
                cells: r
                    .visible
                    .iter()
                    .map(|&k| shown(k, p.value(k, When::Now)))
                    .collect(),
                previous: shown(m, p.value(m, When::Previous)),
                mom: moved(t, m, v, p.value(m, When::Previous)),
            }
        })
        .collect()
}

/// What needs attention: the place's requests escalated and overdue, the places below with
/// the most requests past their deadline (worst first), then each plan's reports and
/// rectifications past their deadlines; none of nothing.
pub fn flags(r: &Read) -> Vec<Flag<'_>> {
    fn flag<'a>(kind: &'static str, region: &'a Region, count: i64) -> Flag<'a> {
        Flag {
            kind,
            region: Some(region),
            plan: None,
            count,
            href: format!("/requests?queue={kind}&region={}", urlencode(&region.code)),
        }
    }
    let w = &r.board.whole;
    let mut out = Vec::new();
    if let Some(req) = &w.requests {
        out.push(flag("escalated", &w.region, req.escalated));
        out.push(flag("overdue", &w.region, req.overdue));
        let mut late: Vec<(&Place, i64)> = r
            .board
            .parts
            .iter()
            .filter_map(|p| Some((p, p.requests.as_ref()?.overdue)))
            .filter(|(_, n)| *n > 0)
            .collect();
        late.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.region.code.cmp(&b.0.region.code)));
        out.extend(
            late.into_iter()
                .take(5)
                .map(|(p, n)| flag("overdue", &p.region, n)),
        );
    }
    for plan in r.plans.iter().flatten() {
        out.push(Flag {
            kind: "tasks_overdue",
            region: None,
            plan: Some(plan),
            count: plan.of(Progress::Overdue),
            href: format!("/plans/{}/board?progress=overdue", plan.id),
        });
        out.push(Flag {
            kind: "findings_overdue",
            region: None,
            plan: Some(plan),
            count: plan.findings_overdue,
            href: format!("/plans/{}/findings?status=overdue", plan.id),
        });
    }
    out.retain(|f| f.count > 0);
    out
}

fn attention(t: T, r: &Read) -> Vec<Attention> {
    let place = &r.board.whole.region;
    flags(r)
        .into_iter()
        .map(|f| Attention {
            label: match (f.region, f.plan) {
                (Some(region), _) if !std::ptr::eq(region, place) => {
                    t.f("dashboard.attention.overdue_in", &[("name", &region.name)])
                }
                (_, Some(plan)) => t.f(
                    &format!("dashboard.attention.{}", f.kind),
                    &[("plan", &plan.name)],
                ),
                _ => t.s(&format!("dashboard.attention.{}", f.kind)).to_string(),
            },
            count: f.count,
            href: f.href,
        })
        .collect()
}

fn eval_panels(t: T, r: &Read) -> Option<Vec<EvalPanel>> {
    use shiliu_domain::evaluation::Stage;
    let parts = r.evaluations.as_ref()?;
    Some(
        parts
            .iter()
            .map(|e| {
                let s = &e.scheme;
                let stage = s.stage();
                let published = stage == Stage::Published;
                let progress = if published {
                    e.grades
                        .iter()
                        .map(|(g, n)| format!("{g} {n}"))
                        .collect::<Vec<_>>()
                        .join(" · ")
                } else {
                    t.f(
                        "dashboard.eval_progress",
                        &[
                            ("submitted", &e.submitted.to_string()),
                            ("reviewed", &e.first_reviewed.to_string()),
                            ("units", &e.units.to_string()),
                        ],
                    )
                };
                EvalPanel {
                    // A scheme is usually named with its year ("2026年度…"); the year is
                    // added only where the name does not say it.
                    name: if s.name.contains(&s.year.to_string()) {
                        s.name.clone()
                    } else {
                        format!("{} {}", s.year, s.name)
                    },
                    href: if published {
                        format!("/evaluations/{}/results", s.id)
                    } else {
                        format!("/evaluations/{}", s.id)
                    },
                    stage: t.label("eval_stage", &s.stage),
                    due: s
                        .due(stage)
                        .map(|d| {
                            shiliu_domain::calendar::local(d)
                                .format("%Y-%m-%d")
                                .to_string()
                        })
                        .unwrap_or_default(),
                    progress,
                    top: e
                        .top
                        .iter()
                        .map(|u| u.unit_name.as_str())
                        .collect::<Vec<_>>()
                        .join("、"),
                }
            })
            .collect(),
    )
}

fn plan_panels(t: T, r: &Read) -> Option<Vec<PlanPanel>> {
    let plans = r.plans.as_ref()?;
    Some(
        plans
            .iter()
            .map(|x| PlanPanel {
                name: x.name.clone(),
                href: format!("/plans/{}/board", x.id),
                standings: Progress::ALL
                    .iter()
                    .map(|&p| {
                        (
                            t.label("progress", p.as_str()),
                            p.colour(),
                            x.of(p),
                            format!("/plans/{}/board?progress={}", x.id, p.as_str()),
                        )
                    })
                    .collect(),
                findings_overdue: x.findings_overdue,
                findings_href: format!("/plans/{}/findings?status=overdue", x.id),
            })
            .collect(),
    )
}

/// The board as the page and the wall screen show it.
fn view(p: &Principal, r: &Read) -> BoardPage {
    let t = p.t();
    let m = r.asked.measure;
    let period = r.asked.period;
    let (from, to) = period.bounds();
    let w = &r.board.whole;
    let mapped: Vec<Mapped> = r
        .board
        .parts
        .iter()
        .map(|p| {
            let v = p.value(m, When::Now);
            Mapped {
                code: p.region.code.clone(),
                name: p.region.name.clone(),
                href: link(&p.region.code, m, period),
                value: v,
                shown: shown(m, v),
            }
        })
        .collect();
    let map = map::draw(
        &w.region.code,
        &mapped,
        m.better(),
        |v| shown(m, Some(v)),
        t.s("dashboard.no_figure"),
    );
    BoardPage {
        l: Layout::new(p, "nav.dashboard", t.s("dashboard.title")),
        place: w.region.name.clone(),
        trail: r
            .trail
            .iter()
            .map(|x| (x.name.clone(), link(&x.code, m, period)))
            .collect(),
        period: period_line(t, period),
        from,
        to,
        region: w.region.code.clone(),
        measure: m.as_str(),
        measure_label: label(t, m),
        measures: r
            .visible
            .iter()
            .map(|k| (k.as_str(), label(t, *k)))
            .collect(),
        cards: cards(t, r),
        map,
        heads: r.visible.iter().map(|k| label(t, *k)).collect(),
        chosen: r.visible.iter().position(|k| *k == m).unwrap_or_default(),
        total: r
            .visible
            .iter()
            .map(|&k| shown(k, w.value(k, When::Now)))
            .collect(),
        lines: lines(t, r),
        attention: attention(t, r),
        evaluations: eval_panels(t, r),
        plans: plan_panels(t, r),
        below_label: t.s("dashboard.place").to_string(),
        export_href: format!("/dashboard.xlsx?{}", query(&w.region.code, m, period)),
        wall_href: format!("/dashboard/wall?{}", query(&w.region.code, m, period)),
        page_href: link(&w.region.code, m, period),
        printed: shiliu_domain::calendar::local(shiliu_db::now())
            .format("%Y-%m-%d %H:%M")
            .to_string(),
    }
}

pub async fn page(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<BoardQuery>,
) -> AppResult<Response> {
    let r = read(&state, &p, &q).await?;
    render(&view(&p, &r))
}

/// How often the wall screen reads its figures again.
pub const WALL_REFRESH_SECONDS: u32 = 300;

/// The board for a wall screen (大屏, 1920 × 1080): the same figures on one dark screen
/// without the menus, read again every few minutes by the page's script.
#[derive(Template)]
#[template(path = "dashboard/wall.html")]
struct WallPage {
    b: BoardPage,
    refresh: u32,
    /// When the figures were read and how often they are read again, in words.
    stamp: String,
}

/// The wall's template includes the page's parts (`dashboard/_cards.html`, …), which name the
/// page's fields: they reach them through this.
impl std::ops::Deref for WallPage {
    type Target = BoardPage;
    fn deref(&self) -> &BoardPage {
        &self.b
    }
}

pub async fn wall(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<BoardQuery>,
) -> AppResult<Response> {
    let r = read(&state, &p, &q).await?;
    let b = view(&p, &r);
    let stamp = p.t().f(
        "dashboard.wall_stamp",
        &[
            ("at", &b.printed),
            ("minutes", &(WALL_REFRESH_SECONDS / 60).to_string()),
        ],
    );
    render(&WallPage {
        b,
        refresh: WALL_REFRESH_SECONDS,
        stamp,
    })
}

/// The board's figures as an Excel sheet: a row for each place below and one for the place,
/// each measure for the period, the period before and the same months a year before, as
/// numbers (shares as percentages an analyst can sum from the counts on the statistics pages).
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<BoardQuery>,
) -> AppResult<Response> {
    use crate::web::xlsx::{Cell, download, sheet_with_note};
    let r = read(&state, &p, &q).await?;
    let t = p.t();
    let (from, to) = r.asked.period.bounds();
    let (pfrom, pto) = r.asked.period.previous().bounds();
    let (yfrom, yto) = r.asked.period.year_before().bounds();
    let mut headers = vec![t.s("dashboard.place").to_string()];
    for &m in &r.visible {
        let name = label(t, m);
        if m.of_period() {
            headers.push(format!("{name} {from}–{to}"));
            headers.push(format!("{name} {pfrom}–{pto}"));
            headers.push(format!("{name} {yfrom}–{yto}"));
        } else {
            headers.push(format!("{name}（{}）", t.s("dashboard.now")));
        }
    }
    let cell = |m: Measure, v: Option<i64>| match (m.unit(), v) {
        (_, None) => Cell::Empty,
        (Unit::Count, Some(v)) => Cell::Int(v),
        (Unit::PerMille, Some(v)) => Cell::PerMille(v),
    };
    let row = |place: &Place| -> Vec<Cell> {
        let mut cells = vec![Cell::from(place.region.name.as_str())];
        for &m in &r.visible {
            cells.push(cell(m, place.value(m, When::Now)));
            if m.of_period() {
                cells.push(cell(m, place.value(m, When::Previous)));
                cells.push(cell(m, place.value(m, When::YearBefore)));
            }
        }
        cells
    };
    let mut rows: Vec<Vec<Cell>> = r.board.parts.iter().map(row).collect();
    rows.push(row(&r.board.whole));
    let name = format!(
        "{} {} {from}–{to}",
        r.board.whole.region.name,
        t.s("dashboard.title")
    );
    Ok(download(
        &format!("{name}.xlsx"),
        sheet_with_note(
            t.s("dashboard.title"),
            &headers,
            &rows,
            Some(&period_line(t, r.asked.period)),
        )?,
    ))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!())
        .route("/dashboard", get(page))
        .route("/dashboard.xlsx", get(export))
        .route("/dashboard/wall", get(wall))
}
