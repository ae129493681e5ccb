//! `shiliu bench --suite evaluation`: a scheme of 100 criteria for 109 units (Qinzhou's size)
//! and for 2,000 (a province's), scored in both verification rounds (the field round at a
//! fifth of the units, as key units), objections on a tenth; then timed: the results (merge,
//! decided objections, totals, ranks, grades) through the database layer, the results page
//! and its Excel export under concurrent load, what is left to do (who owes what in the
//! self-assessment and in the first verification, as the reminders and the "to do" lists
//! work it out, with one reviewer on a team of every unit), and publication (final scores
//! and results written in the stage change).

use std::time::{Duration, Instant};

use shiliu_db::evaluation::access::access;
use shiliu_db::evaluation::reminders::{self, Who};
use shiliu_db::evaluation::{self as ev, Participant, results, scores};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::{Db, DbError, accounts, org};
use shiliu_domain::evaluation::{
    Points, Round, SchemeInput, ScoreInput, SheetRow, Stage, place_sheet,
};
use shiliu_domain::org::UnitInput;

use super::{Server, load, pct, session_cookie, status_kib};

const CATEGORIES: [&str; 5] = ["县（市、区）", "市直部门", "乡镇（街道）", "学校", "企业"];

/// 3 areas, 4 items each, 100 criteria (the last item of area 3: 5 bonus, 3 deduction).
fn sheet() -> Vec<(usize, SheetRow)> {
    let mut rows = Vec::new();
    let mut n = 0;
    let mut push = |code: String, name: String, points: &str, kind: &str| {
        n += 1;
        rows.push((
            n + 1,
            SheetRow {
                code,
                name,
                points: points.into(),
                kind: kind.into(),
                guidance: "按台账核验".into(),
                evidence: "台账资料".into(),
            },
        ));
    };
    let mut criteria = 0;
    for area in 1..=3 {
        push(area.to_string(), format!("一级指标{area}"), "", "");
        for item in 1..=4 {
            push(
                format!("{area}.{item}"),
                format!("二级指标{area}.{item}"),
                "",
                "",
            );
            let last = area == 3 && item == 4;
            // 92 standard criteria over 11 items: the first four have 9, the rest 8.
            let index = (area - 1) * 4 + (item - 1);
            let count = if last || index >= 4 { 8 } else { 9 };
            for k in 1..=count {
                if criteria == 100 {
                    break;
                }
                criteria += 1;
                let kind = match (last, k) {
                    (true, 1..=5) => "bonus",
                    (true, _) => "deduction",
                    _ => "",
                };
                push(
                    format!("{area}.{item}.{k}"),
                    format!("评分细则{area}.{item}.{k}"),
                    "1",
                    kind,
                );
            }
        }
    }
    rows
}

/// Build and score a scheme of `size` units; returns its id.
fn setup(db: &Db, size: usize) -> Result<i64, String> {
    let placed = place_sheet(&sheet()).map_err(|e| format!("bench sheet: {e:?}"))?;
    db.write_blocking(move |c| {
        let me = Actor::system("cli:bench");
        let province = org::get_region_by_code(c, &Scope::everything(), "450000")?;
        let input = SchemeInput::parse(
            "2026",
            &format!("基准考评 {size} 个单位"),
            "基准",
            "field_first",
            "5",
            "5",
            "",
        )
        .map_err(DbError::Invalid)?;
        let s = ev::create_scheme(c, &me, province.id, &input)?;
        let mut version = s.version;
        let mut cats = Vec::new();
        for name in CATEGORIES {
            cats.push(ev::add_category(c, &me, s.id, version, name)?.id);
            version += 1;
        }
        for i in 0..size {
            let unit = org::create_unit(
                c,
                &me,
                province.id,
                &UnitInput::parse(&format!("基准单位{size}-{i}"), "department", "", "")
                    .map_err(DbError::Invalid)?,
            )?;
            let p = Participant {
                scheme_id: s.id,
                unit_id: unit.id,
                category_id: cats[i % cats.len()],
                key_unit: i.is_multiple_of(5),
            };
            ev::add_participant(c, &me, s.id, version, &p)?;
            version += 1;
        }
        let tree = ev::replace_tree(c, &me, s.id, version, &placed)?;
        version += 1;
        let far = |d: i64| Some(shiliu_db::now() + chrono::Duration::days(d));
        ev::set_deadlines(c, &me, s.id, version, [far(10), far(20), far(30), far(40)])?;
        version += 1;
        version = ev::advance(c, &me, s.id, version)?.version;
        let reviewer = format!("bench-rev-{}", s.id);
        accounts::create_user(
            c,
            &shiliu_db::scope::Can::check(&me).unwrap(),
            &accounts::NewUser {
                username: shiliu_domain::accounts::Username::parse(&reviewer)?,
                display_name: "基准考评人员".into(),
                password_hash: "x".into(),
                role: shiliu_domain::roles::Role::Evaluator,
                region_id: province.id,
                unit_id: None,
                site_id: None,
                phone: None,
                grid_ids: vec![],
            },
        )?;
        let team = ev::teams::create_team(c, &me, s.id, Round::First, "基准第一组")?;
        ev::teams::add_member(c, &me, s.id, team.id, &reviewer)?;
        version = ev::advance(c, &me, s.id, version)?.version;
        let criteria: Vec<(i64, String, Points)> = tree
            .criteria()
            .map(|x| (x.id, x.code.clone(), x.max()))
            .collect();
        let units = ev::participants(c, &s)?;
        let score = |c: &mut shiliu_db::DbConnection,
                     round: Round,
                     unit: i64,
                     seed: usize|
         -> Result<(), DbError> {
            let a = access(c, &me, s.id)?;
            let entries: Vec<(i64, ScoreInput)> = criteria
                .iter()
                .enumerate()
                .map(|(k, (id, _, max))| {
                    let points = if (seed + k).is_multiple_of(3) {
                        Points(max.0 / 2)
                    } else {
                        *max
                    };
                    (
                        *id,
                        ScoreInput {
                            points: Some(points),
                            note: None,
                        },
                    )
                })
                .collect();
            scores::save(c, &me, &a, unit, round, &entries).map(|_| ())
        };
        for (i, u) in units.iter().enumerate() {
            score(c, Round::First, u.unit_id, i)?;
        }
        version = ev::advance(c, &me, s.id, version)?.version;
        for (i, u) in units.iter().enumerate().filter(|(_, u)| u.key_unit) {
            score(c, Round::Field, u.unit_id, i + 1)?;
        }
        version = ev::advance(c, &me, s.id, version)?.version;
        let (first, code, max) = criteria[0].clone();
        for u in units.iter().step_by(10) {
            let a = access(c, &me, s.id)?;
            let ask = ScoreInput::parse(&code, &max.to_string(), "申请复核", max)
                .map_err(DbError::Invalid)?;
            scores::save(c, &me, &a, u.unit_id, Round::Objection, &[(first, ask)])?;
        }
        ev::advance(c, &me, s.id, version)?;
        let a = access(c, &me, s.id)?;
        for u in units.iter().step_by(10) {
            results::decide(c, &me, &a, u.unit_id, first, true, Some(max), "采纳")?;
        }
        Ok(s.id)
    })
    .map_err(|e| e.to_string())
}

fn one_size(
    db: &Db,
    c: &crate::config::Config,
    seconds: u64,
    concurrency: usize,
    size: usize,
) -> Result<(), String> {
    let t = Instant::now();
    let id = setup(db, size)?;
    println!(
        "evaluation, {size} units × 100 criteria: built and scored in {:.1} s (both rounds, objections)",
        t.elapsed().as_secs_f64()
    );
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let mut lat = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let s = ev::get_scheme(&mut conn, &Scope::everything(), id).map_err(|e| e.to_string())?;
        let n = results::results(&mut conn, &s)
            .map_err(|e| e.to_string())?
            .len();
        lat.push(t.elapsed());
        if n != size {
            return Err(format!("bench: {n} results for {size} units"));
        }
    }
    lat.sort();
    println!(
        "  results (merge, decisions, totals, ranks, grades), database layer: p50 {:.1} ms, p99 {:.1} ms",
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
    // Who owes what, in the self-assessment (every unit) and in the first verification (the
    // reviewer's team has every unit): the same reads whatever is left, so the scheme is
    // looked at as if in each stage.
    let s = ev::get_scheme(&mut conn, &Scope::everything(), id).map_err(|e| e.to_string())?;
    for stage in [Stage::SelfAssessment, Stage::FirstReview] {
        let as_if = ev::Scheme {
            stage: stage.as_str().to_string(),
            ..s.clone()
        };
        let mut lat = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            reminders::owed(&mut conn, &as_if, Who::Everyone).map_err(|e| e.to_string())?;
            lat.push(t.elapsed());
        }
        lat.sort();
        println!(
            "  who owes what in {}, database layer: p50 {:.1} ms, p99 {:.1} ms",
            stage.as_str(),
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
    let user = accounts::find_by_username(&mut conn, "admin")
        .map_err(|e| e.to_string())?
        .ok_or("bench: the demo's admin account is needed (run `shiliu demo --no-serve` first)")?;
    let server = Server::start(db, c)?;
    let cookie = session_cookie(db, &user)?;
    let dur = Duration::from_secs(seconds);
    for path in [
        format!("/evaluations/{id}/results"),
        format!("/evaluations/{id}/results.xlsx"),
    ] {
        let (n, lat, errors) = load(server.addr, &path, &cookie, concurrency, dur);
        println!(
            "  GET {path} × {concurrency} connections: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, errors {errors}",
            n as f64 / dur.as_secs_f64(),
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
    drop(server);
    drop(conn);
    let t = Instant::now();
    db.write_blocking(move |c| {
        let s = ev::get_scheme(c, &Scope::everything(), id)?;
        ev::advance(c, &Actor::system("cli:bench"), id, s.version).map(|_| ())
    })
    .map_err(|e| e.to_string())?;
    println!(
        "  publish (final scores and results of every unit written): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}

/// Schemes of 109 and 2,000 units, none larger than `units` (smaller: one of `units`, for a
/// quick run that only checks the suite still works).
pub fn run(
    c: &crate::config::Config,
    seconds: u64,
    concurrency: usize,
    units: usize,
) -> Result<(), String> {
    let db = crate::open(c)?;
    let mut sizes: Vec<usize> = [109, 2_000].into_iter().filter(|n| *n <= units).collect();
    if sizes.is_empty() {
        sizes.push(units.max(1));
    }
    for size in sizes {
        one_size(&db, c, seconds, concurrency, size)?;
    }
    println!("peak RSS {} MiB", status_kib("VmHWM") / 1024);
    Ok(())
}
