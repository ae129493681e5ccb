//! Consultation councils: a community's council meets on a 14th with three items — one
//! decided and followed up, one declined, one handed to a request that is handled and closed,
//! which makes the item done; a grid worker of the community brings an item but cannot run the
//! council; the public notice carries no one's phone and a name only with consent; the
//! statistics equal a recount of the rows — on both engines.

use chrono::NaiveDate;
use diesel::prelude::*;
use shiliu_db::councils::{self, items, meetings, stats};
use shiliu_db::requests::{self, StepInput};
use shiliu_db::schema::{council_attendance as ca, council_items as ci, council_meetings as cm};
use shiliu_db::scope::{Actor, Can, Scope, grants};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbConnection, DbError, both_engines, org};
use shiliu_domain::councils::{
    Channel, CouncilInput, Decision, FollowUp, ItemInput, ItemStatus, MeetingInput, MemberInput,
};
use shiliu_domain::org::{RegionInput, UnitInput};
use shiliu_domain::requests::{Action, ActionInput, Outcome};
use shiliu_domain::roles::Role;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn today() -> NaiveDate {
    day("2026-12-07")
}

struct World {
    community: org::Region,
    other: org::Region,
    township_staff: Actor,
    grid_worker: Actor,
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

/// The statistics from the running totals equal those counted from the rows, for every scope
/// from the province to the community and ranges of whole months and of parts of them.
fn totals_agree(c: &mut DbConnection, why: &str) {
    let all = Scope::everything();
    let county = org::get_region_by_code(c, &all, "450102").unwrap();
    let township = org::children(c, &all, county.id, false).unwrap().remove(0);
    let community = org::get_region_by_code(c, &all, "450102001901").unwrap();
    let scopes = [
        all.clone(),
        Scope::subtrees(vec![county.path.clone()]),
        Scope::subtrees(vec![township.path.clone()]),
        Scope::subtrees(vec![community.path.clone()]),
        // A county and a township inside it: each row once.
        Scope::subtrees(vec![county.path.clone(), township.path.clone()]),
    ];
    let ranges = [
        (day("2026-01-01"), day("2026-12-31")),
        (day("2026-09-10"), day("2026-12-20")),
        (day("2026-11-02"), day("2026-11-30")),
        (day("2025-12-01"), day("2027-01-31")),
    ];
    for scope in &scopes {
        for within in [None, Some(&township), Some(&community)] {
            let regions =
                shiliu_db::activities::stats::breakdown_regions(c, scope, within).unwrap();
            for range in ranges {
                let got = stats::stats(c, scope, within, range, &regions).unwrap();
                let want = stats::stats_from_rows(c, scope, within, range, &regions).unwrap();
                assert_eq!(
                    serde_json::to_value(&got).unwrap(),
                    serde_json::to_value(&want).unwrap(),
                    "{why}: {scope:?} within {:?} {range:?}",
                    within.map(|r| &r.name)
                );
            }
        }
    }
    // The list's counts, kept with the writes, equal the rows'.
    for l in councils::list(c, &all, None, 1000).unwrap() {
        let of = ci::table.filter(ci::council_id.eq(l.council.id));
        let waiting: i64 = of
            .filter(ci::status.eq("raised"))
            .count()
            .get_result(c)
            .unwrap();
        let open: i64 = of
            .filter(ci::status.eq_any(["decided", "referred"]))
            .count()
            .get_result(c)
            .unwrap();
        let last: Option<NaiveDate> = cm::table
            .filter(cm::council_id.eq(l.council.id))
            .filter(cm::status.eq("held"))
            .select(diesel::dsl::max(cm::held_on))
            .first(c)
            .unwrap();
        assert_eq!(
            (l.waiting, l.open, l.last_held),
            (waiting, open, last),
            "{why}: {}",
            l.council.name
        );
    }
    let year = stats::stats(c, &all, None, ranges[0], &[]).unwrap();
    assert!(
        year.total.meetings > 0 && year.total.items_raised > 0,
        "{why}: the comparison has something to compare"
    );
}

fn world(c: &mut DbConnection) -> World {
    let all = Scope::everything();
    let county = org::get_region_by_code(c, &all, "450102").unwrap();
    let township = org::children(c, &all, county.id, false).unwrap().remove(0);
    let community = region(c, township.id, "民族社区", "450102001901");
    let other = region(c, township.id, "团结社区", "450102001902");
    let grid = region(c, community.id, "一网格", "450102001901001");
    World {
        township_staff: Actor::with_role(
            "社区书记",
            Role::TownshipStaff,
            Scope::subtrees(vec![community.path.clone()]),
        ),
        grid_worker: Actor::with_role(
            "网格员",
            Role::GridWorker,
            Scope::subtrees(vec![grid.path.clone()]),
        ),
        community,
        other,
    }
}

fn council(c: &mut DbConnection, w: &World) -> councils::Council {
    let run = Can::<grants::RunCouncils>::check(&w.township_staff).unwrap();
    let input = CouncilInput::parse(
        "民族社区逢四说事会",
        &w.community.code,
        ("fourths", ""),
        "社区议事厅",
        "09:30",
    )
    .unwrap();
    councils::create(c, &run, &input).unwrap()
}

fn item(text: &str, name: &str, phone: &str, publish: bool, ch: Channel) -> ItemInput {
    ItemInput::parse(ch, text, name, phone, publish).unwrap()
}

both_engines!(
    a_council_meets_on_a_14th_and_an_item_handed_to_a_request_is_done_when_it_closes,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let w = world(c);
            let run = Can::<grants::RunCouncils>::check(&w.township_staff).unwrap();
            let co = council(c, &w);
            assert_eq!(co.public_code.len(), 8);
            assert_eq!(
                meetings::upcoming(c, &co, today(), 3).unwrap(),
                [day("2026-12-14"), day("2026-12-24"), day("2027-01-04")],
                "逢四"
            );
            let convener = councils::add_member(
                c,
                &run,
                &co,
                &MemberInput::parse("黄大姐", "convener", "老党员", "13800138000").unwrap(),
            )
            .unwrap();
            let member = councils::add_member(
                c,
                &run,
                &co,
                &MemberInput::parse("韦老伯", "member", "退休教师", "").unwrap(),
            )
            .unwrap();

            // Three items by the three channels.
            let raise = Can::<grants::RaiseCouncilItems>::check(&w.grid_worker).unwrap();
            let seen = councils::get(c, w.grid_worker.scope(), co.id).unwrap();
            let lamp = items::raise(
                c,
                &raise,
                &seen,
                &item(
                    "三巷路灯坏了",
                    "蓝阿姨",
                    "13900139000",
                    false,
                    Channel::GridWorker,
                ),
            )
            .unwrap();
            let parking = items::raise_public(
                c,
                &Actor::resident("r1", "127.0.0.1"),
                &co,
                &item("楼下乱停车", "覃师傅", "", true, Channel::Public),
            )
            .unwrap();
            let school = items::raise(
                c,
                &Can::<grants::RaiseCouncilItems>::check(&w.township_staff).unwrap(),
                &co,
                &item(
                    "孩子入学咨询",
                    "马女士",
                    "13700137000",
                    false,
                    Channel::InPerson,
                ),
            )
            .unwrap();
            assert_eq!(items::waiting(c, &co).unwrap().len(), 3);
            // A grid worker reads the community's council and brings items; does not run it.
            let gw_run = Can::<grants::RunCouncils>::check(&w.grid_worker);
            assert!(matches!(gw_run, Err(DbError::Forbidden)));
            assert!(!seen.run_by(&w.grid_worker));

            // The meeting on the 14th (of last month: minutes are of a meeting held).
            let m = meetings::record(
                c,
                &run,
                &co,
                &MeetingInput::parse(
                    "2026-11-14",
                    &[convener.id.to_string(), member.id.to_string()],
                    "12",
                    "议了三件事",
                    today(),
                )
                .unwrap(),
            )
            .unwrap();
            let again = meetings::record(
                c,
                &run,
                &co,
                &MeetingInput::parse("2026-11-14", &[], "", "", today()).unwrap(),
            );
            assert!(
                matches!(again, Err(DbError::Invalid(_))),
                "one meeting a day"
            );
            let decided = items::decide(
                c,
                &run,
                &co,
                &m,
                (lamp.id, lamp.version),
                &Decision::parse("联系供电所更换灯泡", "社区主任", "2026-11-20", m.held_on)
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(decided.status(), ItemStatus::Decided);
            let declined = items::decline(
                c,
                &run,
                &co,
                &m,
                (parking.id, parking.version),
                "属物业管理，已转告物业",
            )
            .unwrap();
            assert_eq!(declined.status(), ItemStatus::Declined);
            let intake = Can::<grants::CreateRequests>::check(&w.township_staff).unwrap();
            let category = requests::categories(c, false).unwrap().remove(0).id;
            let (referred, r) = items::refer(
                c,
                &run,
                &intake,
                (&co, &m),
                (school.id, school.version),
                category,
            )
            .unwrap();
            assert_eq!(referred.status(), ItemStatus::Referred);
            assert_eq!(referred.request_id, Some(r.id));
            assert!(r.description.contains("孩子入学咨询"));
            assert_eq!(r.region_id, w.community.id);
            assert_eq!(items::open(c, &co).unwrap().len(), 2);

            // The lamp is fixed; the request is handled and closed.
            items::follow_up(
                c,
                &run,
                &co,
                (decided.id, decided.version),
                &FollowUp::parse("2026-11-19", "已更换", m.held_on, today()).unwrap(),
            )
            .unwrap();
            let sys = Actor::system("test");
            let mut r = r;
            for (action, input) in [
                (
                    Action::Dispatch,
                    StepInput {
                        unit_id: Some(
                            org::create_unit(
                                c,
                                &sys,
                                w.community.id,
                                &UnitInput::parse("民族社区居委会", "other", "", "").unwrap(),
                            )
                            .unwrap()
                            .id,
                        ),
                        ..StepInput::default()
                    },
                ),
                (Action::Accept, StepInput::default()),
                (
                    Action::Resolve,
                    StepInput {
                        action_input: ActionInput {
                            outcome: Some(Outcome::Solved),
                            reply: Some("已协调学位".into()),
                            ..ActionInput::default()
                        },
                        ..StepInput::default()
                    },
                ),
                (Action::Close, StepInput::default()),
            ] {
                r = requests::step(c, &sys, r.id, r.version, action, &input).unwrap();
            }
            let followed = items::of_meeting(c, &co, &m).unwrap();
            let school_now = followed.iter().find(|f| f.item.id == school.id).unwrap();
            assert_eq!(
                school_now.item.status(),
                ItemStatus::Done,
                "done with its request"
            );
            assert_eq!(school_now.item.outcome.as_deref(), Some("已协调学位"));
            assert_eq!(school_now.request_status.as_deref(), Some("closed"));
            assert!(items::open(c, &co).unwrap().is_empty());

            // The public notice: decisions, no phones, a name only with consent.
            let notice = items::notice(c, &co, day("2026-01-01")).unwrap();
            assert_eq!(notice.len(), 3);
            let names: Vec<Option<&str>> = notice.iter().map(|n| n.raised_by.as_deref()).collect();
            assert_eq!(names, [None, Some("覃师傅"), None]);
            let json = serde_json::to_string(&notice).unwrap();
            assert!(!json.contains("139") && !json.contains("蓝阿姨") && !json.contains("马女士"));

            // Another community's staff see none of it.
            let other = Scope::subtrees(vec![w.other.path.clone()]);
            assert!(matches!(
                councils::get(c, &other, co.id),
                Err(DbError::NotFound)
            ));
            assert!(councils::list(c, &other, None, 100).unwrap().is_empty());
            let listed = councils::list(c, w.grid_worker.scope(), None, 100).unwrap();
            assert_eq!(listed.len(), 1);
            assert_eq!((listed[0].waiting, listed[0].open), (0, 0));

            // The minutes corrected: one member present (not two), fifteen other residents.
            let held = meetings::get(c, &co, m.id)?;
            meetings::update(
                c,
                &run,
                &co,
                m.id,
                held.version,
                &MeetingInput::parse(
                    "2026-11-14",
                    &[convener.id.to_string()],
                    "15",
                    "议了三件事",
                    today(),
                )
                .unwrap(),
            )?;

            // The running totals agree with the rows, in the journal, folded, after the
            // council moves to the next community, and counted again from nothing.
            totals_agree(c, "in the journal");
            while councils::tallies::fold(c)? > 0 {}
            totals_agree(c, "folded");
            let all = Scope::everything();
            let county = org::get_region_by_code(c, &all, "450102")?;
            let county_staff = Actor::with_role(
                "区民宗局",
                Role::CommissionStaff,
                Scope::subtrees(vec![county.path]),
            );
            let run = Can::<grants::RunCouncils>::check(&county_staff).unwrap();
            // To a community of the next township: other rows of the totals.
            let next_township = org::children(c, &all, county.id, false)?.remove(1);
            let far = region(c, next_township.id, "新村社区", "450102002901");
            let moved = CouncilInput::parse(
                "新村社区逢四说事会",
                &far.code,
                ("fourths", ""),
                "社区议事厅",
                "09:30",
            )
            .unwrap();
            let co = councils::get(c, &all, co.id)?;
            councils::update(c, &run, co.id, co.version, &moved, true)?;
            totals_agree(c, "moved, in the journal");
            while councils::tallies::fold(c)? > 0 {}
            totals_agree(c, "moved, folded");
            councils::tallies::rebuild(c)?;
            totals_agree(c, "counted again");
            Ok::<_, DbError>(())
        })
        .unwrap();
    }
);

both_engines!(the_statistics_equal_a_recount_of_the_rows, |t: TestDb| {
    t.db.write_blocking(|c| {
        let w = world(c);
        let run = Can::<grants::RunCouncils>::check(&w.township_staff).unwrap();
        let raise = Can::<grants::RaiseCouncilItems>::check(&w.township_staff).unwrap();
        let co = council(c, &w);
        let mut n = 0;
        for held in ["2026-09-04", "2026-09-14", "2026-10-24", "2026-11-14"] {
            let m = meetings::record(
                c,
                &run,
                &co,
                &MeetingInput::parse(held, &[], "7", "", today()).unwrap(),
            )
            .unwrap();
            for k in 0..3 {
                n += 1;
                let i = items::raise(
                    c,
                    &raise,
                    &co,
                    &item(&format!("第{n}件事"), "", "", false, Channel::InPerson),
                )
                .unwrap();
                let due = if k == 0 { "2026-12-31" } else { held };
                let d = items::decide(
                    c,
                    &run,
                    &co,
                    &m,
                    (i.id, i.version),
                    &Decision::parse("办", "主任", due, m.held_on).unwrap(),
                )
                .unwrap();
                if k < 2 {
                    // One on time (k = 0, due at the year's end), one late (k = 1).
                    items::follow_up(
                        c,
                        &run,
                        &co,
                        (d.id, d.version),
                        &FollowUp::parse("2026-11-30", "办好", m.held_on, today()).unwrap(),
                    )
                    .unwrap();
                }
            }
        }
        let s = stats::stats(
            c,
            &Scope::subtrees(vec![w.community.path.clone()]),
            None,
            (day("2026-01-01"), day("2026-12-31")),
            std::slice::from_ref(&w.community),
        )
        .unwrap();
        // The recount, from the rows.
        let meetings_n: i64 = cm::table
            .filter(cm::status.eq("held"))
            .count()
            .get_result(c)?;
        let guests: Option<i64> = cm::table.select(diesel::dsl::sum(cm::guests)).first(c)?;
        let present: i64 = ca::table.count().get_result(c)?;
        let decided: i64 = ci::table
            .filter(ci::status.eq_any(["decided", "referred", "done"]))
            .count()
            .get_result(c)?;
        let rows: Vec<(Option<NaiveDate>, Option<NaiveDate>)> = ci::table
            .filter(ci::status.eq("done"))
            .select((ci::due_on, ci::done_on))
            .load(c)?;
        let on_time = rows.iter().filter(|(due, done)| done <= due).count();
        assert_eq!(s.total.meetings, meetings_n);
        assert_eq!(s.total.meetings, 4);
        assert_eq!(s.total.attendance, guests.unwrap_or(0) + present);
        assert_eq!(s.total.items_raised, 12);
        assert_eq!(s.total.items_decided, decided);
        assert_eq!(s.total.items_done, i64::try_from(rows.len()).unwrap());
        assert_eq!(s.total.items_done, 8);
        assert_eq!(s.total.items_on_time, i64::try_from(on_time).unwrap());
        assert_eq!(s.total.items_on_time, 4);
        assert_eq!(s.by_region[0].1, s.total);
        let months: Vec<(&str, i64)> = s
            .by_month
            .iter()
            .map(|(m, f)| (m.as_str(), f.meetings))
            .collect();
        assert_eq!(months.len(), 12);
        assert_eq!(months[8], ("2026-09", 2));
        assert_eq!(months[9], ("2026-10", 1));
        // Another community's scope counts none of it.
        let other = stats::stats(
            c,
            &Scope::subtrees(vec![w.other.path.clone()]),
            None,
            (day("2026-01-01"), day("2026-12-31")),
            &[],
        )
        .unwrap();
        assert_eq!(other.total, stats::Figures::default());
        Ok::<_, DbError>(())
    })
    .unwrap();
});

both_engines!(
    the_follow_up_reads_the_earliest_deadlines_first_in_every_scope,
    |t: TestDb| {
        t.db.write_blocking(|c| {
            let w = world(c);
            let all = Scope::everything();
            let county = org::get_region_by_code(c, &all, "450102")?;
            let staff = Actor::with_role(
                "区民宗局",
                Role::CommissionStaff,
                Scope::subtrees(vec![county.path.clone()]),
            );
            let run = Can::<grants::RunCouncils>::check(&staff).unwrap();
            let raise = Can::<grants::RaiseCouncilItems>::check(&staff).unwrap();
            let townships = org::children(c, &all, county.id, false)?;
            let far = region(c, townships[1].id, "新村社区", "450102002901");
            let mut councils_made = vec![council(c, &w)];
            let input = CouncilInput::parse(
                "新村社区逢四说事会",
                &far.code,
                ("fourths", ""),
                "村委会",
                "09:30",
            )
            .unwrap();
            councils_made.push(councils::create(c, &run, &input)?);
            for (k, co) in councils_made.iter().enumerate() {
                let m = meetings::record(
                    c,
                    &run,
                    co,
                    &MeetingInput::parse("2026-11-14", &[], "3", "", today()).unwrap(),
                )?;
                for n in 0..7_u32 {
                    let i = items::raise(
                        c,
                        &raise,
                        co,
                        &item(&format!("第{k}-{n}件事"), "", "", false, Channel::InPerson),
                    )?;
                    let due = format!(
                        "2026-12-{:02}",
                        1 + (n * 5 + u32::try_from(k).unwrap() * 3) % 28
                    );
                    let d = items::decide(
                        c,
                        &run,
                        co,
                        &m,
                        (i.id, i.version),
                        &Decision::parse("办", "主任", &due, m.held_on).unwrap(),
                    )?;
                    if n == 6 {
                        items::follow_up(
                            c,
                            &run,
                            co,
                            (d.id, d.version),
                            &FollowUp::parse("2026-11-30", "办好", m.held_on, today()).unwrap(),
                        )?;
                    }
                }
            }
            // The open items as the rows have them, earliest deadline first.
            let mut open: Vec<(Option<NaiveDate>, i64, String)> = ci::table
                .filter(ci::status.eq_any(["decided", "referred"]))
                .select((ci::due_on, ci::id, ci::region_path))
                .load(c)?;
            open.sort();
            assert_eq!(open.len(), 12);
            let liuzhou = org::get_region_by_code(c, &all, "450200")?;
            let scopes = [
                all.clone(),
                Scope::subtrees(vec![county.path.clone()]),
                Scope::subtrees(vec![townships[0].path.clone()]),
                Scope::subtrees(vec![w.community.path.clone()]),
                w.grid_worker.scope().clone(),
                Scope::subtrees(vec![liuzhou.path]),
            ];
            for scope in &scopes {
                for overdue in [None, Some(day("2026-12-10"))] {
                    let want: Vec<i64> = open
                        .iter()
                        .filter(|(due, _, path)| {
                            scope.admit_with_parents(path, ()).is_ok()
                                && overdue.is_none_or(|d| due.is_some_and(|due| due < d))
                        })
                        .map(|o| o.1)
                        .collect();
                    let got: Vec<i64> = items::open_in(c, scope, overdue, 100)?
                        .into_iter()
                        .map(|(f, _)| f.item.id)
                        .collect();
                    assert_eq!(got, want, "{scope:?} {overdue:?}");
                    let first: Vec<i64> = items::open_in(c, scope, overdue, 3)?
                        .into_iter()
                        .map(|(f, _)| f.item.id)
                        .collect();
                    assert_eq!(first, want[..want.len().min(3)], "{scope:?} {overdue:?}");
                    assert_eq!(
                        items::open_count(c, scope, overdue)?,
                        i64::try_from(want.len()).unwrap()
                    );
                }
            }
            totals_agree(c, "two councils in two townships");
            Ok::<_, DbError>(())
        })
        .unwrap();
    }
);
