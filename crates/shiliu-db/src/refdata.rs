//! Loading the shipped reference data (Guangxi's divisions, the 56 peoples) into the database.
//! Idempotent: rows already present are left alone, so it runs on every `migrate`.

use std::collections::HashMap;

use diesel::prelude::*;
use shiliu_domain::divisions::{self, DivisionLevel};
use shiliu_domain::org::RegionKind;
use shiliu_domain::peoples;

use crate::audit::{self, Event};
use crate::ids::new_id;
use crate::org::NewRegion;
use crate::schema::{peoples as peoples_t, regions};
use crate::scope::Actor;
use crate::{DbConnection, DbError, now};

/// The code stored for a division: GB/T 2260's six digits above township level
/// (`45` → `450000`, `4501` → `450100`), the statistical nine digits for townships.
pub fn official_code(short: &str) -> String {
    if short.len() < 6 {
        format!("{short:0<6}")
    } else {
        short.to_string()
    }
}

fn kind_of(level: DivisionLevel) -> RegionKind {
    match level {
        DivisionLevel::Province => RegionKind::Province,
        DivisionLevel::City => RegionKind::City,
        DivisionLevel::County => RegionKind::County,
        DivisionLevel::Township => RegionKind::Township,
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SyncCounts {
    pub regions: usize,
    pub peoples: usize,
    pub categories: usize,
}

pub fn sync(conn: &mut DbConnection) -> Result<SyncCounts, DbError> {
    let mut counts = SyncCounts::default();

    let have: Vec<String> = peoples_t::table.select(peoples_t::code).load(conn)?;
    let missing: Vec<_> = peoples::all()
        .iter()
        .filter(|p| !have.iter().any(|c| c == p.code))
        .map(|p| {
            (
                peoples_t::code.eq(p.code),
                peoples_t::name.eq(p.name),
                peoples_t::romanization.eq(p.romanization),
                peoples_t::letter_code.eq(p.letter_code),
            )
        })
        .collect();
    for p in &missing {
        diesel::insert_into(peoples_t::table)
            .values(*p)
            .execute(conn)?;
    }
    counts.peoples = missing.len();

    let mut known: HashMap<String, (i64, String, i32)> = regions::table
        .select((regions::code, regions::id, regions::path, regions::depth))
        .load::<(String, i64, String, i32)>(conn)?
        .into_iter()
        .map(|(code, id, path, depth)| (code, (id, path, depth)))
        .collect();
    let t = now();
    let mut batch = Vec::new();
    // Parents come before children in the shipped table.
    for d in divisions::guangxi() {
        let code = official_code(d.code);
        if known.contains_key(&code) {
            continue;
        }
        let (parent_id, parent_path, depth) = if d.parent.is_empty() {
            (None, "/".to_string(), 0)
        } else {
            let (pid, ppath, pdepth) =
                known
                    .get(&official_code(d.parent))
                    .cloned()
                    .ok_or_else(|| {
                        DbError::Migration(format!(
                            "division {} has no parent {}",
                            d.code, d.parent
                        ))
                    })?;
            (Some(pid), ppath, pdepth + 1)
        };
        let id = new_id();
        let path = format!("{parent_path}{id}/");
        known.insert(code.clone(), (id, path.clone(), depth));
        batch.push(NewRegion {
            id,
            parent_id,
            code,
            name: d.name.to_string(),
            kind: kind_of(d.level).as_str().to_string(),
            path,
            depth,
            active: true,
            created_at: t,
            updated_at: t,
            version: 1,
        });
    }
    for chunk in batch.chunks(200) {
        crate::on_engine!(&mut *conn, |c| diesel::insert_into(regions::table)
            .values(chunk)
            .execute(c))?;
    }
    counts.regions = batch.len();
    counts.categories = sync_categories(conn)?;

    if counts != SyncCounts::default() {
        let ev = Event {
            action: "refdata.sync",
            entity: "refdata",
            detail: serde_json::json!({"regions": counts.regions, "peoples": counts.peoples, "categories": counts.categories}),
            ..Event::default()
        };
        audit::record(conn, &Actor::the_system("system:migrate"), ev)?;
    }
    Ok(counts)
}

/// The default request categories, once: an installation that already has categories keeps its
/// own (administrators edit them).
fn sync_categories(conn: &mut DbConnection) -> Result<usize, DbError> {
    use crate::schema::request_categories as rc;
    let existing: i64 = rc::table.count().get_result(conn)?;
    if existing > 0 {
        return Ok(0);
    }
    let minutes_per_day = shiliu_domain::calendar::WorkCalendar::default().minutes_per_day();
    let t = now();
    for (i, (code, name, name_en, days)) in shiliu_domain::requests::DEFAULT_CATEGORIES
        .iter()
        .enumerate()
    {
        diesel::insert_into(rc::table)
            .values((
                rc::id.eq(new_id()),
                rc::code.eq(*code),
                rc::name.eq(*name),
                rc::name_en.eq(*name_en),
                rc::service_minutes.eq(Some((days * minutes_per_day) as i32)),
                rc::sort_order.eq(i as i32 + 1),
                rc::active.eq(true),
                rc::created_at.eq(t),
                rc::updated_at.eq(t),
                rc::version.eq(1),
            ))
            .execute(conn)?;
    }
    Ok(shiliu_domain::requests::DEFAULT_CATEGORIES.len())
}
