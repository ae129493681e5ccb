//! `shiliu bench --suite registry`: people imported up to `--rows` (the rate, rows per second,
//! through the import path: a generated register read, checked and written by the loader that
//! seals every number), look-up by ID number through the
//! audited path, and the register's list and statistics pages under concurrent load.

use std::time::{Duration, Instant};

use shiliu_db::accounts;
use shiliu_db::registry;
use shiliu_db::scope::{Actor, Scope};
use shiliu_domain::id_number::IdNumber;
use shiliu_domain::registry::{PersonForm, PersonInput};

use super::{Server, load, pct, session_cookie, status_kib};
use crate::demo::{FAMILY_NAMES, GIVEN_NAMES, ORIGINS, demo_id_number};

/// The `i`-th synthetic person's ID number: unique for every `i` below 17 × 21,900 × 250.
fn number_of(i: usize) -> String {
    let county = ORIGINS[i % ORIGINS.len()].0;
    let day = (i / ORIGINS.len()) % 21_900;
    let born = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).unwrap_or_default()
        + chrono::Duration::days(day as i64);
    // From 250: the demo's own people have small serials.
    let serial = 250 + (i / (ORIGINS.len() * 21_900)) as u32;
    demo_id_number(county, born, serial, i.is_multiple_of(2))
}

fn person(i: usize, today: chrono::NaiveDate) -> PersonInput {
    let (county, _, peoples) = ORIGINS[i % ORIGINS.len()];
    let f = PersonForm {
        name: format!(
            "{}{}",
            FAMILY_NAMES[i % FAMILY_NAMES.len()],
            GIVEN_NAMES[(i / 7) % GIVEN_NAMES.len()]
        ),
        id_number: number_of(i),
        people: peoples[i % peoples.len()].to_string(),
        hukou: county.to_string(),
        address: format!("衡阳路{}号", i % 300),
        arrived_on: (today - chrono::Duration::days((i % 1800) as i64 + 1))
            .format("%Y-%m-%d")
            .to_string(),
        employment: ["employed", "flexible", "self_employed", "unemployed"][i % 4].to_string(),
        ..PersonForm::default()
    };
    let mut p = PersonInput::parse(&f, today).expect("a valid synthetic person");
    // Born before 1960 + 60 years: arrival may precede nothing.
    p.arrived_on = p.arrived_on.map(|a| a.max(p.birth_date));
    p
}

/// People per generated file: each is read, checked and written as the import page would.
const PER_FILE: usize = 50_000;

/// The generated register's CSV for people `from..to`: households of one to three (head,
/// spouse, child), each in one of the grids.
fn register_csv(from: usize, to: usize, grids: &[shiliu_db::org::Region]) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "户编号,与户主关系,姓名,身份证号码,民族,户籍地,居住区域代码,居住地址,就业状况,同意告知户籍地\r\n",
    );
    let today = shiliu_db::today();
    let mut head = from;
    for i in from..to {
        // Every third person starts a household; the next two join it.
        if i % 3 == 0 || i == from {
            head = i;
        }
        let relation = match i - head {
            0 => "户主",
            1 => "配偶",
            _ => "子女",
        };
        let p = person(i, today);
        let grid = &grids[(head * 7919) % grids.len()];
        let _ = write!(
            out,
            "H{head},{relation},{},{},{},{},{},{},{},是\r\n",
            p.name,
            p.id_number.as_ref().map_or("", |n| n.as_str()),
            p.people,
            p.hukou,
            grid.code,
            p.address,
            p.employment.map_or("", |e| e.as_str()),
        );
    }
    out
}

/// Import `want` generated people through the import path (read the CSV, group, check against
/// the register, write through the bulk loader), one file of `PER_FILE` at a time; prints the
/// rate of each step and of the whole.
fn import_people(
    db: &shiliu_db::Db,
    vault: &registry::Vault,
    grids: &[shiliu_db::org::Region],
    first: usize,
    want: usize,
) -> Result<(), String> {
    use shiliu_web::registry::import::{file_hash, parse_file};
    let t = shiliu_web::web::i18n::T::new(shiliu_web::web::i18n::Lang::ZhCn);
    let actor = Actor::system("cli:bench");
    let (mut read, mut check, mut write) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut done = 0;
    while done < want {
        let n = PER_FILE.min(want - done);
        let csv = register_csv(first + done, first + done + n, grids);
        let started = Instant::now();
        let (_, found, errors) = parse_file(csv.as_bytes(), t, usize::MAX)?;
        if let Some(e) = errors.first() {
            return Err(format!("row {}: {}", e.row, t.field_error(&e.error)));
        }
        read += started.elapsed();
        let started = Instant::now();
        let (a, v) = (actor.clone(), vault.clone());
        let checked = db
            .write_blocking(move |c| registry::import::check(c, &a, &v, found))
            .map_err(|e| e.to_string())?;
        check += started.elapsed();
        let started = Instant::now();
        let (a, v, sha) = (actor.clone(), vault.clone(), file_hash(csv.as_bytes()));
        db.write_blocking(move |c| registry::import::commit(c, &a, &v, &checked, &sha, &|_| {}))
            .map_err(|e| e.to_string())?;
        write += started.elapsed();
        done += n;
    }
    let rate = |d: Duration| want as f64 / d.as_secs_f64();
    println!(
        "import: {want} people in {:.1}s = {:.0} rows/s (read and check rows {:.0}/s, check against the register {:.0}/s, write {:.0}/s; {PER_FILE} per file, one transaction each)",
        (read + check + write).as_secs_f64(),
        rate(read + check + write),
        rate(read),
        rate(check),
        rate(write)
    );
    Ok(())
}

pub fn run(
    c: &crate::config::Config,
    seconds: u64,
    concurrency: usize,
    rows: usize,
) -> Result<(), String> {
    let db = crate::open(c)?;
    db.migrate().map_err(|e| e.to_string())?;
    super::warm_file_cache(c)?;
    let vault = c.vault()?;
    let user = db
        .write_blocking(|conn| accounts::find_by_username(conn, "nanning"))
        .map_err(|e| e.to_string())?
        .ok_or("run `shiliu demo --no-serve` first: the bench uses the demo user 'nanning'")?;
    let grids = db
        .write_blocking(|c| {
            let all = Scope::everything();
            let city = shiliu_db::org::get_region_by_code(c, &all, "450100")?;
            Ok(shiliu_db::org::subtree(c, &all, city.id)?
                .into_iter()
                .filter(|r| r.kind == "grid")
                .collect::<Vec<_>>())
        })
        .map_err(|e| e.to_string())?;
    if grids.is_empty() {
        return Err("the demo's grids are missing: run `shiliu demo --no-serve`".into());
    }
    super::print_engine(&db);
    let stored = db
        .write_blocking(|c| {
            registry::count(c, &Scope::everything(), &registry::PersonFilter::default())
        })
        .map_err(|e| e.to_string())? as usize;
    // Synthetic people are numbered from the count stored, so a later run adds new numbers.
    let first = stored;
    if rows > stored {
        import_people(&db, &vault, &grids, first, rows - stored)?;
    }
    // The statistics' journal folded into the totals, as the server does every two seconds:
    // right after a million-person import it is still folding (on PostgreSQL the statistics
    // page ran at p50 1.3 s meanwhile), and the pages are measured in the steady state.
    while db
        .write_blocking(registry::tallies::fold)
        .map_err(|e| e.to_string())?
        == shiliu_db::requests::stats::FOLD_BATCH
    {}
    super::settle(&db)?;
    let total = db
        .write_blocking(|c| {
            registry::count(c, &Scope::everything(), &registry::PersonFilter::default())
        })
        .map_err(|e| e.to_string())?;
    println!("people stored: {total}");

    // Look-up by number, as a page does it: one audited transaction each.
    let actor = db
        .write_blocking(|c| accounts::acting_as(c, &user, "bench"))
        .map_err(|e| e.to_string())?;
    let mut lat = Vec::new();
    let mut found = 0;
    for k in 0..500 {
        let i = (k * 104_729) % (total.max(1) as usize);
        let number = IdNumber::parse(&number_of(i)).map_err(|e| e.to_string())?;
        let (a, v) = (actor.clone(), vault.clone());
        let t = Instant::now();
        let hit = db
            .write_blocking(move |c| registry::find_by_id_number(c, &a, &v, &number))
            .map_err(|e| e.to_string())?;
        lat.push(t.elapsed());
        found += usize::from(hit.is_some());
    }
    lat.sort();
    println!(
        "look-up by ID number (audited, 500 look-ups, {found} found in scope): p50 {:.2} ms, p99 {:.2} ms",
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );

    let server = Server::start(&db, c)?;
    let cookie = session_cookie(&db, &user)?;
    let dur = Duration::from_secs(seconds);
    for path in [
        "/registry",
        "/registry?people=12",
        "/registry?hukou=5226&status=resident",
        "/registry/stats",
        "/registry/stats?region=450107",
        // A township's figures are grouped from its people, not read from the totals.
        "/registry/stats?region=450107001",
    ] {
        let (n, lat, errors) = load(server.addr, path, &cookie, concurrency, dur);
        println!(
            "GET {path}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, errors {errors}",
            n as f64 / seconds as f64,
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
    println!("peak RSS: {:.1} MiB", status_kib("VmHWM:") as f64 / 1024.0);
    drop(server);
    Ok(())
}
