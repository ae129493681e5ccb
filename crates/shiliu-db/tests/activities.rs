//! Activities and trainings: recorded by a grid worker for their community's unit, read in
//! scope, corrected by their recorder, counted against a unit's target; the statistics equal a
//! recount of the raw rows — on both engines.

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use shiliu_db::accounts::{self, NewUser};
use shiliu_db::activities::{self, Filter, stats, targets};
use shiliu_db::schema::{activities as a, activity_materials as am};
use shiliu_db::scope::{Actor, Can, Scope, grants};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbConnection, DbError, both_engines, org};
use shiliu_domain::accounts::Username;
use shiliu_domain::activities::{ActivityFields, ActivityInput, Form, Target, TermList, Venue};
use shiliu_domain::files::FileInput;
use shiliu_domain::org::{RegionInput, UnitInput};
use shiliu_domain::roles::Role;

struct World {
    county: org::Region,
    communities: [org::Region; 2],
    grids: [org::Region; 2],
    /// Each community's unit (居委会), then the county's 民宗局.
    community_units: [i64; 2],
    county_unit: i64,
    /// A grid worker of each grid.
    workers: [Can<grants::LogActivities>; 2],
    county_staff: Can<grants::ManageActivities>,
    liuzhou: Scope,
}

fn region(c: &mut DbConnection, parent: i64, name: &str, code: &str) -> org::Region {
    org::create_child_region(
        c,
        &Actor::system("test"),
        parent,
        &RegionInput::parse(name, code).unwrap(),
    )
    .unwrap()
}

fn unit(c: &mut DbConnection, region: i64, name: &str) -> i64 {
    org::create_unit(
        c,
        &Actor::system("test"),
        region,
        &UnitInput::parse(name, "other", "", "").unwrap(),
    )
    .unwrap()
    .id
}

/// A grid worker's account on `grid`, as signed in.
fn grid_worker(c: &mut DbConnection, name: &str, grid: &org::Region) -> Can<grants::LogActivities> {
    let user = accounts::create_user(
        c,
        &Can::check(&Actor::system("test")).unwrap(),
        &NewUser {
            username: Username::parse(name).unwrap(),
            display_name: name.into(),
            password_hash: "x".into(),
            role: Role::GridWorker,
            region_id: grid.id,
            unit_id: None,
            site_id: None,
            phone: None,
            grid_ids: vec![grid.id],
        },
    )
    .unwrap();
    Can::check(
        &Actor::with_role(
            name,
            Role::GridWorker,
            Scope::subtrees(vec![grid.path.clone()]),
        )
        .as_user_id(Some(user.id)),
    )
    .unwrap()
}

fn world(c: &mut DbConnection) -> World {
    let all = Scope::everything();
    let county = org::get_region_by_code(c, &all, "450102").unwrap();
    let township = org::children(c, &all, county.id, false).unwrap().remove(0);
    let a = region(c, township.id, "民族社区", "450102001901");
    let b = region(c, township.id, "团结社区", "450102001902");
    let ga = region(c, a.id, "一网格", "450102001901001");
    let gb = region(c, b.id, "二网格", "450102001902001");
    let ua = unit(c, a.id, "民族社区居委会");
    let ub = unit(c, b.id, "团结社区居委会");
    let county_unit = unit(c, county.id, "兴宁区民宗局");
    let liuzhou = org::get_region_by_code(c, &all, "450200").unwrap();
    World {
        workers: [
            grid_worker(c, "wangge1", &ga),
            grid_worker(c, "wangge2", &gb),
        ],
        county_staff: Can::check(&Actor::with_role(
            "区民宗局",
            Role::CommissionStaff,
            Scope::subtrees(vec![county.path.clone()]),
        ))
        .unwrap(),
        liuzhou: Scope::subtrees(vec![liuzhou.path]),
        county,
        communities: [a, b],
        grids: [ga, gb],
        community_units: [ua, ub],
        county_unit,
    }
}

fn kind(c: &mut DbConnection, name: &str) -> i64 {
    activities::terms(c, TermList::Kind, false)
        .unwrap()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap()
        .id
}

fn material(c: &mut DbConnection, name: &str) -> i64 {
    activities::terms(c, TermList::Material, false)
        .unwrap()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap()
        .id
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
}

/// A small JPEG whose Exif names a place: SOI, APP1 (Exif, IFD0 with a GPS pointer to a GPS IFD
/// holding `GPSLatitudeRef` 'N'), SOS, data, EOI.
fn jpeg_with_location() -> Vec<u8> {
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    // IFD0: one entry, GPSInfo (0x8825) LONG 1 → offset 26.
    tiff.extend_from_slice(&[1, 0, 0x25, 0x88, 4, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0, 0, 0, 0]);
    // GPS IFD at 26: one entry, GPSLatitudeRef (1) ASCII 2 "N\0".
    tiff.extend_from_slice(&[1, 0, 1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = u16::try_from(app1.len() + 2).unwrap().to_be_bytes();
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1, len[0], len[1]];
    out.extend_from_slice(&app1);
    out.extend_from_slice(&[0xFF, 0xDA, 0, 2, 1, 2, 3, 4, 0xFF, 0xD9]);
    out
}

fn photo(name: &str) -> FileInput {
    FileInput::parse("photos", name, jpeg_with_location(), activities::PHOTOS).unwrap()
}

struct Rec<'a> {
    form: &'a str,
    kind: String,
    venue: &'a str,
    unit: i64,
    region: &'a org::Region,
    held_on: String,
    participants: String,
    materials: Vec<(String, String)>,
}

fn input(r: &Rec<'_>) -> ActivityInput {
    let unit = r.unit.to_string();
    let fields = ActivityFields {
        form: r.form,
        title: "民族团结进步宣讲",
        kind: &r.kind,
        venue: r.venue,
        organiser_unit: &unit,
        region: &r.region.code,
        held_on: &r.held_on,
        participants: &r.participants,
        materials: r
            .materials
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect(),
        audience: "41",
        hours: "3.5",
        ..ActivityFields::default()
    };
    ActivityInput::parse(&fields, today()).unwrap()
}

both_engines!(
    a_grid_worker_records_for_the_communitys_unit_and_only_the_scope_reads_it,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let w = world(c);
            let leaflets = material(c, "宣传单");
            let talk = kind(c, "宣讲");
            let rec = Rec {
                form: "activity",
                kind: talk.to_string(),
                venue: "communities",
                unit: w.community_units[0],
                region: &w.grids[0],
                held_on: "2026-12-04".into(),
                participants: "60".into(),
                materials: vec![(leaflets.to_string(), "200".into())],
            };
            let a = activities::record(
                c,
                &w.workers[0],
                &input(&rec),
                &[photo("a.jpg"), photo("b.jpg")],
            )?;
            assert_eq!((a.photos, a.region_id), (2, w.grids[0].id));
            let stored = activities::photos(c, &a)?;
            let (_, bytes) = activities::open_photo(c, w.workers[0].scope(), a.id, stored[0].id)?;
            assert!(
                !bytes.windows(2).any(|x| x == b"N\0"),
                "the latitude's reference is blanked"
            );
            assert_eq!(bytes.len(), jpeg_with_location().len(), "blanked in place");
            assert_eq!(activities::materials(c, &a)?[0].quantity, 200);
            // The county reads it; the next grid's worker and another city do not.
            activities::get(c, w.county_staff.scope(), a.id)?;
            for s in [w.workers[1].scope(), &w.liuzhou] {
                assert!(matches!(
                    activities::get(c, s, a.id),
                    Err(DbError::NotFound)
                ));
                assert!(matches!(
                    activities::open_photo(c, s, a.id, stored[0].id),
                    Err(DbError::NotFound)
                ));
                assert_eq!(activities::count(c, s, &Filter::default())?, 0);
            }
            // A grid worker's organiser is a unit of their community, not the county's nor
            // the next community's; the place is one of their grids.
            for (u, place) in [
                (w.county_unit, &w.grids[0]),
                (w.community_units[1], &w.grids[0]),
                (w.community_units[0], &w.grids[1]),
            ] {
                let bad = Rec {
                    unit: u,
                    region: place,
                    ..Rec {
                        materials: vec![],
                        ..rec_clone(&rec)
                    }
                };
                let e = activities::record(c, &w.workers[0], &input(&bad), &[]).unwrap_err();
                assert!(matches!(e, DbError::Invalid(_)), "{e:?}");
            }
            // The next grid's worker may not correct it; its recorder may.
            let mut changed = rec_clone(&rec);
            changed.participants = "80".into();
            assert!(matches!(
                activities::update(c, &w.workers[1], a.id, a.version, &input(&changed)),
                Err(DbError::NotFound)
            ));
            let a2 = activities::update(c, &w.workers[0], a.id, a.version, &input(&changed))?;
            assert_eq!((a2.participants, a2.version, a2.photos), (80, 2, 2));
            assert!(matches!(
                activities::update(c, &w.workers[0], a.id, a.version, &input(&changed)),
                Err(DbError::Stale)
            ));
            // A retired kind is no longer offered for a new record.
            let sys = Can::check(&Actor::system("test")).unwrap();
            let retired = activities::terms(c, TermList::Kind, false)?
                .into_iter()
                .find(|t| t.id == talk)
                .unwrap();
            activities::set_term_active(c, &sys, talk, retired.version, false)?;
            let e = activities::record(c, &w.workers[0], &input(&rec), &[]).unwrap_err();
            assert!(format!("{e:?}").contains("kind"), "{e:?}");
            // …but the record that names it may still be corrected.
            activities::update(c, &w.workers[0], a.id, a2.version, &input(&rec))?;
            // Removing a record removes its photos and materials, audited.
            let a3 = activities::get(c, w.county_staff.scope(), a.id)?;
            let removed = activities::remove(c, &w.workers[0], a.id, a3.version)?;
            assert_eq!(removed.id, a.id);
            assert!(matches!(
                activities::get(c, w.county_staff.scope(), a.id),
                Err(DbError::NotFound)
            ));
            let audited: Vec<String> = {
                use shiliu_db::schema::audit_log;
                audit_log::table
                    .filter(audit_log::entity_id.eq(a.id.to_string()))
                    .order(audit_log::seq.asc())
                    .select(audit_log::action)
                    .load(c)?
            };
            assert_eq!(
                audited,
                [
                    "activity.create",
                    "activity.photos",
                    "activity.update",
                    "activity.update",
                    "activity.delete"
                ]
            );
            Ok(())
        })
        .unwrap();
    }
);

/// A record as stored: form, kind, venue, organiser, day, people, place.
type RawRow = (
    String,
    Option<i64>,
    Option<String>,
    i64,
    NaiveDate,
    i32,
    String,
);

fn rec_clone<'a>(r: &Rec<'a>) -> Rec<'a> {
    Rec {
        form: r.form,
        kind: r.kind.clone(),
        venue: r.venue,
        unit: r.unit,
        region: r.region,
        held_on: r.held_on.clone(),
        participants: r.participants.clone(),
        materials: r.materials.clone(),
    }
}

both_engines!(
    the_statistics_and_a_units_progress_equal_a_recount_of_the_rows,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let w = world(c);
            let kinds: Vec<i64> = activities::terms(c, TermList::Kind, false)?
                .iter()
                .map(|t| t.id)
                .collect();
            let mats = [material(c, "宣传单"), material(c, "横幅")];
            // Sixty records over two grids, kinds, venues, months and both forms, made from a
            // fixed sequence.
            let mut seed: u64 = 7;
            let mut next = |n: u64| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (seed >> 33) % n
            };
            for _ in 0..60 {
                let g = usize::from(next(2) == 1);
                let training = next(5) == 0;
                // Ten venues and two records in twelve that went into none.
                let venue = Venue::ALL
                    .get(usize::try_from(next(12)).unwrap())
                    .map_or("", |v| v.as_str());
                let rec = Rec {
                    form: if training { "training" } else { "activity" },
                    kind: kinds[usize::try_from(next(kinds.len() as u64)).unwrap()].to_string(),
                    venue,
                    unit: w.community_units[g],
                    region: &w.grids[g],
                    held_on: format!("2026-{:02}-{:02}", 1 + next(12), 1 + next(28)),
                    participants: (10 + next(90)).to_string(),
                    materials: if next(2) == 0 {
                        vec![
                            (mats[0].to_string(), (1 + next(300)).to_string()),
                            (mats[1].to_string(), (1 + next(3)).to_string()),
                        ]
                    } else {
                        vec![]
                    },
                };
                let worker = &w.workers[g];
                activities::record(c, worker, &input(&rec), &[])?;
            }
            // One of 2025, outside the year counted.
            let old = Rec {
                form: "activity",
                kind: kinds[0].to_string(),
                venue: "schools",
                unit: w.community_units[0],
                region: &w.grids[0],
                held_on: "2025-12-31".into(),
                participants: "9".into(),
                materials: vec![],
            };
            activities::record(c, &w.workers[0], &input(&old), &[])?;

            // The raw rows, recounted.
            let rows: Vec<RawRow> = a::table
                .select((
                    a::form,
                    a::kind_id,
                    a::venue,
                    a::organiser_unit_id,
                    a::held_on,
                    a::participants,
                    a::region_path,
                ))
                .load(c)?;
            let year: Vec<_> = rows.iter().filter(|r| r.4.year() == 2026).collect();
            let f = Filter {
                from: NaiveDate::from_ymd_opt(2026, 1, 1),
                to: NaiveDate::from_ymd_opt(2026, 12, 31),
                ..Filter::default()
            };
            let parents = stats::breakdown_regions(c, w.county_staff.scope(), Some(&w.county))?;
            let s = stats::stats(c, w.county_staff.scope(), &f, &parents)?;
            let count = |form: &str, pred: &dyn Fn(&&RawRow) -> bool| {
                year.iter().filter(|r| r.0 == form && pred(r)).count() as i64
            };
            assert_eq!(s.total.activities, count("activity", &|_| true));
            assert_eq!(s.total.trainings, count("training", &|_| true));
            assert_eq!(
                s.total.participants + s.total.trainees,
                year.iter().map(|r| i64::from(r.5)).sum::<i64>()
            );
            for (k, fig) in &s.by_kind {
                assert_eq!(fig.activities, count("activity", &|r| r.1 == *k), "{k:?}");
                assert_eq!(fig.trainings, count("training", &|r| r.1 == *k), "{k:?}");
            }
            for (v, fig) in &s.by_venue {
                let code = v.map(|v| v.as_str().to_string());
                assert_eq!(fig.activities, count("activity", &|r| r.2 == code), "{v:?}");
            }
            assert_eq!(s.by_month.len(), 12, "every month of the year");
            for (m, fig) in &s.by_month {
                assert_eq!(
                    fig.activities + fig.trainings,
                    year.iter()
                        .filter(|r| r.4.format("%Y-%m").to_string() == *m)
                        .count() as i64,
                    "{m}"
                );
            }
            let township: i64 = s
                .by_region
                .iter()
                .map(|(_, f)| f.activities + f.trainings)
                .sum();
            assert_eq!(
                township,
                year.len() as i64,
                "every record under one of the county's townships"
            );
            let leaflets: i64 = am::table
                .inner_join(a::table)
                .filter(am::term_id.eq(mats[0]))
                .filter(a::held_on.ge(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()))
                .select(am::quantity)
                .load::<i32>(c)?
                .into_iter()
                .map(i64::from)
                .sum();
            assert_eq!(
                s.materials
                    .iter()
                    .find(|m| m.name == "宣传单")
                    .map(|m| m.quantity),
                Some(leaflets)
            );
            // A kind filter narrows every figure.
            let one = Filter {
                kind_id: Some(kinds[0]),
                ..f.clone()
            };
            assert_eq!(
                stats::stats(c, w.county_staff.scope(), &one, &parents)?
                    .total
                    .activities,
                count("activity", &|r| r.1 == Some(kinds[0]))
            );
            assert_eq!(
                activities::count(c, w.county_staff.scope(), &one)?,
                count("activity", &|r| r.1 == Some(kinds[0]))
                    + count("training", &|r| r.1 == Some(kinds[0]))
            );

            // The unit's progress against its target.
            let unit = w.community_units[0];
            targets::set_target(
                c,
                &w.county_staff,
                unit,
                2026,
                None,
                &Target::parse("12", "2", true).unwrap(),
            )?;
            let p = targets::unit_progress(c, w.workers[0].scope(), unit, 2026)?;
            let mine: Vec<_> = year.iter().filter(|r| r.3 == unit).collect();
            assert_eq!(
                p.progress.activities,
                mine.iter().filter(|r| r.0 == "activity").count() as i64
            );
            assert_eq!(
                p.progress.trainings,
                mine.iter().filter(|r| r.0 == "training").count() as i64
            );
            let venues: std::collections::BTreeSet<Venue> = mine
                .iter()
                .filter_map(|r| r.2.as_deref().and_then(Venue::parse))
                .collect();
            assert_eq!(p.progress.venues, venues);
            assert_eq!(p.target, Some(Target::parse("12", "2", true).unwrap()));
            // Setting it again needs the version seen; a grid worker's board is their
            // community's units.
            assert!(matches!(
                targets::set_target(
                    c,
                    &w.county_staff,
                    unit,
                    2026,
                    None,
                    &Target::parse("1", "0", false).unwrap()
                ),
                Err(DbError::Stale)
            ));
            targets::set_target(
                c,
                &w.county_staff,
                unit,
                2026,
                p.target_version,
                &Target::parse("1", "0", false).unwrap(),
            )?;
            let board = targets::board(c, w.workers[0].scope(), 2026, None, 100)?;
            assert_eq!(board.iter().map(|u| u.unit_id).collect::<Vec<_>>(), [unit]);
            assert_eq!(board[0].met(), Some(p.progress.activities >= 1));
            let county_board = targets::board(c, w.county_staff.scope(), 2026, None, 100)?;
            assert_eq!(county_board.len(), 3);
            assert!(
                targets::board(c, &w.liuzhou, 2026, None, 100)?
                    .iter()
                    .all(|u| u.unit_id != unit)
            );
            let _ = (Form::Activity, w.communities.len());
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_trainings_list_counts_its_trainees_and_goes_with_it,
    |t: TestDb| {
        use shiliu_domain::activities::TraineeInput;
        t.db.write_blocking(|c| {
            let w = world(c);
            let training = Rec {
                form: "training",
                kind: String::new(),
                venue: "",
                unit: w.community_units[0],
                region: &w.grids[0],
                held_on: "2026-12-03".into(),
                participants: "30".into(),
                materials: vec![],
            };
            let a = activities::record(c, &w.workers[0], &input(&training), &[])?;
            let trainee = |name: &str, phone: &str| {
                TraineeInput::parse(name, "古宜镇中心小学", "教师", phone).unwrap()
            };
            let list = [
                trainee("韦老师", "13800001234"),
                trainee("杨老师", "13800005678"),
                trainee("吴老师", ""),
            ];
            let a = activities::trainees::add(c, &w.workers[0], &a, &list)?;
            assert_eq!(a.participants, 3, "counted from the list");
            let stored = activities::trainees::of(c, &a)?;
            assert_eq!(stored[0].masked_phone().as_deref(), Some("138****1234"));
            // Someone twice (same name and mobile): refused whole, nothing written.
            let twice = [trainee("龙老师", ""), trainee("韦老师", "138 0000 1234")];
            let e = shiliu_db::savepoint(c, |c| {
                activities::trainees::add(c, &w.workers[0], &a, &twice)
            })
            .unwrap_err();
            assert!(format!("{e:?}").contains("trainee_twice"), "{e:?}");
            assert_eq!(activities::trainees::count(c, &a)?, 3);
            // Another grid's worker keeps no list of it; an activity has none.
            assert!(matches!(
                activities::trainees::add(c, &w.workers[1], &a, &list[..1]),
                Err(DbError::Forbidden)
            ));
            // A correction keeps the list's count, and cannot make it an activity.
            let mut more = rec_clone(&training);
            more.participants = "45".into();
            let a = activities::update(c, &w.workers[0], a.id, a.version, &input(&more))?;
            assert_eq!(a.participants, 3);
            let mut other = rec_clone(&more);
            other.form = "activity";
            other.kind = kind(c, "宣讲").to_string();
            let e =
                activities::update(c, &w.workers[0], a.id, a.version, &input(&other)).unwrap_err();
            assert!(format!("{e:?}").contains("has_trainees"), "{e:?}");
            // Taking one off counts again; the statistics read the same figure.
            let a = activities::trainees::remove(c, &w.workers[0], &a, stored[2].id)?;
            assert_eq!(a.participants, 2);
            let people: i64 = {
                use diesel::dsl::sum;
                a::table
                    .filter(a::id.eq(a.id))
                    .select(sum(a::participants))
                    .first::<Option<i64>>(c)?
                    .unwrap_or(0)
            };
            assert_eq!(people, 2);
            // The keeper's workbook is an audited read; removing the training removes its list.
            assert_eq!(activities::trainees::export(c, &w.workers[0], &a)?.len(), 2);
            activities::remove(c, &w.workers[0], a.id, a.version)?;
            let left: i64 = shiliu_db::schema::activity_trainees::table
                .count()
                .get_result(c)?;
            assert_eq!(left, 0);
            let audited: Vec<String> = {
                use shiliu_db::schema::audit_log;
                audit_log::table
                    .filter(audit_log::entity_id.eq(a.id.to_string()))
                    .order(audit_log::seq.asc())
                    .select(audit_log::action)
                    .load(c)?
            };
            assert_eq!(
                audited,
                [
                    "activity.create",
                    "activity.trainees.add",
                    "activity.update",
                    "activity.trainees.remove",
                    "activity.trainees.export",
                    "activity.delete"
                ]
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_wide_list_reads_newest_first_and_counts_up_to_its_cap,
    |t: TestDb| {
        use activities::{COUNTED, Past};
        t.db.write_blocking(|c| {
            let w = world(c);
            let sys = Can::<grants::ManageActivities>::check(&Actor::system("test")).unwrap();
            let made = chrono::Utc::now().naive_utc();
            let first = today() - chrono::Duration::days(400);
            let n = usize::try_from(COUNTED).unwrap() + 31;
            let rows: Vec<Past> = (0..n)
                .map(|i| {
                    let place = [&w.grids[0], &w.grids[1], &w.county][i % 3];
                    let day = i64::try_from(i % 300).unwrap();
                    Past::new(
                        Form::Activity,
                        (place.id, &place.path),
                        w.county_unit,
                        first + chrono::Duration::days(day),
                        (made, u32::try_from(i).unwrap()),
                    )
                })
                .collect();
            activities::load(c, &sys, &rows)?;
            // The county is read along the days' index, a grid by its place's: the same pages
            // as the rows in order; the county's count stops at the cap, the grid's is exact.
            for (scope, path, exact) in [
                (w.county_staff.scope(), &w.county.path, false),
                (w.workers[0].scope(), &w.grids[0].path, true),
            ] {
                let all = activities::count(c, scope, &Filter::default())?;
                let counted = activities::count_listed(c, scope, &Filter::default())?;
                assert_eq!(counted.exact, exact, "{path}");
                assert_eq!(counted.n, if exact { all } else { COUNTED }, "{path}");
                let expected: Vec<i64> = a::table
                    .filter(a::region_path.like(format!("{path}%")))
                    .order((a::held_on.desc(), a::id.desc()))
                    .select(a::id)
                    .limit(150)
                    .load(c)?;
                let mut got = Vec::new();
                let mut after = None;
                for _ in 0..3 {
                    let page = activities::list(c, scope, &Filter::default(), after, 50)?;
                    after = page.last().map(|l| (l.activity.held_on, l.activity.id));
                    got.extend(page.iter().map(|l| l.activity.id));
                }
                assert_eq!(got, expected, "{path}");
            }
            // A filter on a wide place: the same rows as counted one by one.
            let grids_only = Filter {
                within: Some(w.communities[0].clone()),
                ..Filter::default()
            };
            assert_eq!(
                activities::count_listed(c, w.county_staff.scope(), &grids_only)?,
                activities::Counted {
                    n: activities::count(c, w.county_staff.scope(), &grids_only)?,
                    exact: true
                }
            );
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    the_running_totals_equal_the_records_through_every_kind_of_change,
    |t: TestDb| {
        use activities::tallies;
        use shiliu_domain::activities::TraineeInput;
        let (w, ids, kinds, mats) =
            t.db.write_blocking(|c| {
                let w = world(c);
                let kinds: Vec<i64> = activities::terms(c, TermList::Kind, false)?
                    .iter()
                    .map(|t| t.id)
                    .collect();
                let mats = [material(c, "宣传单"), material(c, "横幅")];
                let township =
                    org::children(c, &Scope::everything(), w.county.id, false)?.remove(0);
                // Records over the grids, a community, the township and the county itself, in
                // every month, some on the first or last of a month.
                let places = [
                    &w.grids[0],
                    &w.grids[1],
                    &w.communities[1],
                    &township,
                    &w.county,
                ];
                let mut ids = Vec::new();
                for i in 0..48_usize {
                    let day = [1, 15, 28, 31][i % 4];
                    let month = 1 + i % 12;
                    let last =
                        NaiveDate::from_ymd_opt(2026, u32::try_from(month).unwrap() % 12 + 1, 1)
                            .unwrap()
                            .pred_opt()
                            .unwrap()
                            .day();
                    let rec = Rec {
                        form: if i % 5 == 0 { "training" } else { "activity" },
                        kind: if i % 5 == 0 {
                            String::new()
                        } else {
                            kinds[i % kinds.len()].to_string()
                        },
                        venue: Venue::ALL.get(i % 12).map_or("", |v| v.as_str()),
                        unit: if i % 3 == 0 {
                            w.county_unit
                        } else {
                            w.community_units[i % 2]
                        },
                        region: places[i % places.len()],
                        held_on: format!(
                            "2026-{month:02}-{:02}",
                            u32::try_from(day).unwrap().min(last)
                        ),
                        participants: (5 + i * 7).to_string(),
                        materials: if i % 2 == 0 {
                            vec![(mats[i % 4 / 2].to_string(), (1 + i * 3).to_string())]
                        } else {
                            vec![]
                        },
                    };
                    ids.push(activities::record(c, &logger(&w), &input(&rec), &[])?.id);
                }
                Ok((w, ids, kinds, mats))
            })
            .unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        // Every figure, read as a page would, equals the records' own.
        let same = |why: &str| {
            t.db.write_blocking(|c| {
                let all = Scope::everything();
                let township = org::children(c, &all, w.county.id, false)?.remove(0);
                let filters = [
                    Filter::default(),
                    Filter {
                        from: d("2026-01-01"),
                        to: d("2026-12-31"),
                        ..Filter::default()
                    },
                    Filter {
                        from: d("2026-02-15"),
                        to: d("2026-07-31"),
                        ..Filter::default()
                    },
                    Filter {
                        from: d("2026-03-01"),
                        to: d("2026-03-20"),
                        ..Filter::default()
                    },
                    Filter {
                        from: d("2026-04-02"),
                        ..Filter::default()
                    },
                    Filter {
                        kind_id: Some(kinds[1]),
                        ..Filter::default()
                    },
                    Filter {
                        kind_id: Some(0),
                        ..Filter::default()
                    },
                    Filter {
                        venue: Some(Venue::ALL[2]),
                        from: d("2026-05-01"),
                        ..Filter::default()
                    },
                    Filter {
                        form: Some(Form::Training),
                        ..Filter::default()
                    },
                    Filter {
                        unit_id: Some(w.county_unit),
                        ..Filter::default()
                    },
                    Filter {
                        within: Some(township.clone()),
                        ..Filter::default()
                    },
                    Filter {
                        within: Some(w.county.clone()),
                        to: d("2026-09-30"),
                        ..Filter::default()
                    },
                ];
                // A scope of a county and a township inside it counts each record once.
                let nested = Scope::subtrees(vec![w.county.path.clone(), township.path.clone()]);
                let scopes: [&Scope; 5] = [
                    &all,
                    w.county_staff.scope(),
                    w.workers[0].scope(),
                    &w.liuzhou,
                    &nested,
                ];
                for scope in scopes {
                    for f in &filters {
                        let parents = stats::breakdown_regions(c, scope, f.within.as_ref())?;
                        let got =
                            serde_json::to_value(stats::stats(c, scope, f, &parents)?).unwrap();
                        let want =
                            serde_json::to_value(stats::stats_from_records(c, scope, f, &parents)?)
                                .unwrap();
                        assert_eq!(got, want, "{why}: {scope:?} {f:?}");
                    }
                }
                let units = [w.county_unit, w.community_units[0], w.community_units[1]];
                assert_eq!(
                    targets::progress_of(c, &units, 2026)?,
                    targets::progress_between(
                        c,
                        &units,
                        (d("2026-01-01").unwrap(), d("2026-12-31").unwrap())
                    )?,
                    "{why}: the units' progress"
                );
                Ok(())
            })
            .unwrap();
        };
        let fold_all = || while t.db.write_blocking(tallies::fold).unwrap() > 0 {};
        same("all in the journal");
        fold_all();
        same("folded");
        let some: i64 =
            t.db.write_blocking(|c| {
                Ok(shiliu_db::schema::activity_tallies::table
                    .count()
                    .get_result(c)?)
            })
            .unwrap();
        assert!(some > 0, "the totals have rows");

        // Corrections of place, month, kind, venue, form and materials; removals; a trainee
        // list — each counted before it is folded.
        t.db.write_blocking(|c| {
            let s = &logger(&w);
            for (n, id) in ids.iter().enumerate().take(12) {
                let a = activities::get(c, s.scope(), *id)?;
                let rec = Rec {
                    form: if n % 4 == 0 { "training" } else { "activity" },
                    kind: if n % 4 == 0 {
                        String::new()
                    } else {
                        kinds[(n + 3) % kinds.len()].to_string()
                    },
                    venue: Venue::ALL.get((n + 5) % 12).map_or("", |v| v.as_str()),
                    unit: w.community_units[n % 2],
                    region: &w.grids[(n + 1) % 2],
                    held_on: format!("2026-{:02}-10", 12 - n),
                    participants: "17".into(),
                    materials: vec![(mats[1].to_string(), (n + 1).to_string())],
                };
                activities::update(c, s, a.id, a.version, &input(&rec))?;
            }
            for id in &ids[12..16] {
                let a = activities::get(c, s.scope(), *id)?;
                activities::remove(c, s, a.id, a.version)?;
            }
            let training = activities::get(c, s.scope(), ids[20])?;
            assert_eq!(training.form, "training");
            let list = [
                TraineeInput::parse("韦老师", "", "", "13800001234").unwrap(),
                TraineeInput::parse("覃老师", "", "", "13800005678").unwrap(),
            ];
            let training = activities::trainees::add(c, s, &training, &list)?;
            let first = activities::trainees::of(c, &training)?.remove(0);
            activities::trainees::remove(c, s, &training, first.id)?;
            Ok(())
        })
        .unwrap();
        same("changed, in the journal");
        fold_all();
        same("changed, folded");
        t.db.write_blocking(tallies::rebuild).unwrap();
        same("counted again from nothing");
    }
);

/// The county's staff, recording and correcting.
fn logger(w: &World) -> Can<grants::LogActivities> {
    Can::check(w.county_staff.actor()).unwrap()
}
