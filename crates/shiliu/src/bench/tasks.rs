//! `shiliu bench --suite tasks`: a work plan of `--rows` measures (default 1,000,000 caps to a
//! province's worst: see `run`), each handed to a lead unit and four co-operating units out
//! of 200, monthly, with a year of reports from every unit on every measure (twelve each); then
//! timed: the board (every task × unit with its standing) through the page and its Excel
//! export, the plan's page (its tree with each task's standing), one task's page with its
//! ledger, a unit's to-do (what it owes) and its printed ledger, the inspections and their
//! findings (one finding per ten measures), an instruction with the reports carrying it out,
//! the escalated list — under concurrent load, as the commission and a unit's reporter; and
//! the reminder sweep's scan of the plan, timed alone.

use std::time::{Duration, Instant};

use chrono::Datelike;
use shiliu_db::scope::{Actor, Can, Scope, grants};
use shiliu_db::tasks::{self, ledger};
use shiliu_db::{Db, DbError, accounts, org};
use shiliu_domain::accounts::Username;
use shiliu_domain::org::UnitInput;
use shiliu_domain::roles::Role;
use shiliu_domain::tasks::{PlanInput, PlanStatus, ReportInput, SheetRow, place_sheet};

use super::{Server, load, pct, session_cookie, status_kib};

/// Units a plan's measures are handed among, and how many each measure is handed to.
const UNITS: usize = 200;
const PER_MEASURE: usize = 5;

/// What the timed pages are about.
struct Built {
    plan: i64,
    item: i64,
    reporter: String,
    unit: i64,
    instruction: i64,
}

/// Build the plan: `measures` monthly measures over [`UNITS`] units, in force since January,
/// with every month begun reported by every unit; an inspection of twenty units with a finding
/// per ten measures; an instruction carried out by the first ten tasks.
fn setup(db: &Db, measures: usize) -> Result<Built, String> {
    // Names of this run's own (a second run on the same database makes new units).
    let run = shiliu_db::ids::new_id().rem_euclid(1_000_000);
    db.write_blocking(move |c| {
        let me = Actor::system("cli:bench");
        let organiser = Can::<grants::ManageTasks>::check(&me)?;
        let city = org::get_region_by_code(c, &Scope::everything(), "450100")?;
        let mut units = Vec::with_capacity(UNITS);
        for i in 0..UNITS {
            let name = format!("基准任务单位{run}-{i}");
            let u = org::create_unit(
                c,
                &me,
                city.id,
                &UnitInput::parse(&name, "department", "", "").map_err(DbError::Invalid)?,
            )?;
            units.push((u.id, name));
        }
        let year = shiliu_db::today().year();
        let input = PlanInput::parse(
            &format!("基准方案 {measures} 项措施"),
            "基准",
            &format!("{year}-01-01"),
            &format!("{year}-12-31"),
            &[],
        )
        .map_err(DbError::Invalid)?;
        let plan = tasks::create_plan(c, &organiser, city.id, &input)?;
        let mut rows = Vec::with_capacity(measures + measures / 20 + 1);
        let mut line = 1;
        for m in 0..measures {
            line += 1;
            let (task, seq) = if m % 20 == 0 {
                (format!("基准任务{}", m / 20), (m / 20 + 1).to_string())
            } else {
                (String::new(), String::new())
            };
            let handed: Vec<&str> = (0..PER_MEASURE)
                .map(|k| units[(m * 7 + k * 31) % UNITS].1.as_str())
                .collect();
            rows.push((
                line,
                SheetRow {
                    seq,
                    task,
                    measure: format!("基准措施{m}"),
                    lead_units: handed[0].to_string(),
                    co_units: handed[1..].join("、"),
                    due: "每月".into(),
                    target: "≥12次".into(),
                    notes: String::new(),
                },
            ));
        }
        let placed = place_sheet(&rows).map_err(|p| {
            DbError::Invalid(shiliu_domain::FieldErrors(
                p.into_iter().map(|(_, e)| e).collect(),
            ))
        })?;
        let tree = tasks::replace_tree(c, &organiser, plan.id, 1, &placed)?.map_err(|p| {
            DbError::Invalid(shiliu_domain::FieldErrors(
                p.into_iter().map(|(_, e)| e).collect(),
            ))
        })?;
        let plan = tasks::set_status(c, &organiser, plan.id, 2, PlanStatus::Active)?;
        let today = shiliu_db::today();
        let sent = shiliu_db::now() - chrono::Duration::days(1);
        let mut first = 0;
        for n in tree.reported() {
            if first == 0 {
                first = n.item.id;
            }
            let asked = ledger::asked(&plan, &n.item);
            for u in &n.units {
                for (k, period) in asked.open_periods(today).into_iter().enumerate() {
                    let input = ReportInput {
                        period: period.code,
                        progress: "基准报送：本月按计划推进。".into(),
                        figure: Some(i64::try_from(k + 1).unwrap_or(0)),
                    };
                    let decided = (k % 3 != 0).then_some((true, None, sent));
                    ledger::load_past(
                        c,
                        &organiser,
                        (&plan, n.item.id, u.unit_id),
                        &input,
                        sent,
                        decided,
                    )?;
                }
            }
        }
        let (instruction, unit) = supervision(c, &organiser, &plan, &tree, &units, measures)?;
        // A reporter of the first measure's lead unit, for the to-do.
        let username = format!("bench-reporter-{run}");
        let lead = tree
            .reported()
            .next()
            .and_then(|n| n.units.first())
            .map(|u| u.unit_id);
        accounts::create_user(
            c,
            &Can::check(&me)?,
            &accounts::NewUser {
                username: Username::parse(&username).map_err(|e| DbError::Invalid(e.into()))?,
                display_name: "基准填报员".into(),
                password_hash: "x".into(),
                role: Role::UnitReporter,
                region_id: city.id,
                unit_id: lead,
                site_id: None,
                phone: None,
                grid_ids: vec![],
            },
        )?;
        Ok(Built {
            plan: plan.id,
            item: first,
            reporter: username,
            unit,
            instruction,
        })
    })
    .map_err(|e| e.to_string())
}

/// An inspection of twenty of the units with a finding per ten measures, and an instruction
/// carried out by the plan's first ten tasks; returns the instruction and the first unit.
fn supervision(
    c: &mut shiliu_db::DbConnection,
    organiser: &Can<grants::ManageTasks>,
    plan: &tasks::Plan,
    tree: &tasks::Tree,
    units: &[(i64, String)],
    measures: usize,
) -> Result<(i64, i64), DbError> {
    use shiliu_domain::tasks::inspections::{FindingInput, InspectionFields, InspectionInput};
    use shiliu_domain::tasks::instructions::{InstructionInput, InstructionSource};
    let day = plan.starts_on.to_string();
    let visited: Vec<String> = units
        .iter()
        .take(20)
        .map(|(id, _)| id.to_string())
        .collect();
    let i = tasks::inspections::create(
        c,
        organiser,
        plan.id,
        &InspectionInput::parse(
            InspectionFields {
                title: "基准督查",
                kind: "tour",
                team: "基准督查组",
                starts_on: &day,
                ends_on: &day,
                notes: "",
            },
            &visited,
            (plan.starts_on, plan.ends_on),
        )
        .map_err(DbError::Invalid)?,
    )?;
    for k in 0..measures.div_ceil(10) {
        tasks::inspections::add_finding(
            c,
            organiser,
            (plan.id, i.id),
            &FindingInput {
                unit_id: units[k % 20].0,
                problem: format!("基准问题{k}"),
                measures: None,
                due_on: plan.starts_on
                    + chrono::Duration::days(i64::try_from(k % 300).unwrap_or(0)),
            },
        )?;
    }
    let items: Vec<i64> = tree
        .nodes
        .iter()
        .filter(|n| n.item.level() == shiliu_domain::tasks::TaskLevel::Task)
        .take(10)
        .map(|n| n.item.id)
        .collect();
    let said = tasks::instructions::create(
        c,
        organiser,
        plan.id,
        &InstructionInput {
            source: InstructionSource::Speech,
            title: "基准讲话".into(),
            reference: None,
            issuer: None,
            said_on: plan.starts_on,
            body: "紧盯清单台账抓落实。".into(),
            items,
        },
    )?;
    Ok((said.id, units[0].0))
}

fn one_size(
    db: &Db,
    c: &crate::config::Config,
    seconds: u64,
    concurrency: usize,
    measures: usize,
) -> Result<(), String> {
    let t = Instant::now();
    let Built {
        plan,
        item,
        reporter,
        unit: first_unit,
        instruction,
    } = setup(db, measures)?;
    let reports = db
        .write_blocking(move |c| {
            let p = tasks::get_plan(c, &Scope::everything(), plan)?;
            Ok(ledger::plan_reports(c, &p)?.len())
        })
        .map_err(|e| e.to_string())?;
    println!(
        "tasks, {measures} measures × {PER_MEASURE} units of {UNITS}: built in {:.1} s, {reports} reports",
        t.elapsed().as_secs_f64()
    );
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let admin = accounts::find_by_username(&mut conn, "admin")
        .map_err(|e| e.to_string())?
        .ok_or("bench: the demo's admin account is needed (run `shiliu demo --no-serve` first)")?;
    let unit_user = accounts::find_by_username(&mut conn, &reporter)
        .map_err(|e| e.to_string())?
        .ok_or("bench: the reporter was not made")?;
    drop(conn);
    // The reminder sweep's scan of every plan in force (the server runs it every ten minutes
    // on a reader), alone.
    let at = shiliu_db::now();
    let t = Instant::now();
    let work = db
        .write_blocking(move |c| tasks::reminders::work(c, at))
        .map_err(|e| e.to_string())?;
    println!(
        "  reminder sweep's scan: {:.0} ms ({} to remind, {} to escalate)",
        t.elapsed().as_secs_f64() * 1000.0,
        work.remind.len(),
        work.escalate.len()
    );
    let server = Server::start(db, c)?;
    let (admin, unit) = (session_cookie(db, &admin)?, session_cookie(db, &unit_user)?);
    let dur = Duration::from_secs(seconds);
    for (path, cookie) in [
        (format!("/plans/{plan}/board"), &admin),
        (format!("/plans/{plan}/board.xlsx"), &admin),
        (format!("/plans/{plan}"), &admin),
        (format!("/plans/{plan}/tasks/{item}"), &admin),
        ("/plans?owed=1".to_string(), &unit),
        ("/".to_string(), &unit),
        (format!("/plans/{plan}/inspections"), &admin),
        (format!("/plans/{plan}/findings"), &admin),
        (format!("/plans/{plan}/instructions/{instruction}"), &admin),
        (format!("/plans/{plan}/units/{first_unit}/ledger"), &admin),
        ("/plans?escalated=1".to_string(), &admin),
    ] {
        let (n, lat, errors) = load(server.addr, &path, cookie, concurrency, dur);
        println!(
            "  GET {path} × {concurrency} connections: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, errors {errors}",
            n as f64 / dur.as_secs_f64(),
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
    drop(server);
    Ok(())
}

/// Plans of 60 measures (a city's, as the demo's) and of 1,000 (a province's task list with
/// every department's measures), none larger than `measures` (smaller: one of that size, for
/// a quick run that only checks the suite still works).
pub fn run(
    c: &crate::config::Config,
    seconds: u64,
    concurrency: usize,
    measures: usize,
) -> Result<(), String> {
    let db = crate::open(c)?;
    let mut sizes: Vec<usize> = [60, 1_000].into_iter().filter(|n| *n <= measures).collect();
    if sizes.is_empty() {
        sizes.push(measures.max(1));
    }
    for size in sizes {
        one_size(&db, c, seconds, concurrency, size)?;
    }
    println!("peak RSS {} MiB", status_kib("VmHWM") / 1024);
    Ok(())
}
