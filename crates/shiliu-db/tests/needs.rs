//! Needs surveys, the needs they find, and services delivered — on both engines.

use chrono::NaiveDate;
use shiliu_db::registry::needs::{self, NeedFilter};
use shiliu_db::registry::{self, Household, OnDuplicate, Registration, Vault};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbConnection, DbError, both_engines, org};
use shiliu_domain::id_number::check_char;
use shiliu_domain::org::RegionInput;
use shiliu_domain::registry::needs::{
    NeedKind, NeedStatus, PlanInput, ServiceInput, SurveyInput, need,
};
use shiliu_domain::registry::{
    ConsentChannel, ConsentPurpose, PersonForm, PersonInput, PersonTag, Relation,
};
use shiliu_domain::requests::questions::RawAnswers;
use shiliu_domain::requests::{Channel, RequestInput};

fn today() -> NaiveDate {
    shiliu_db::today()
}

fn person(name: &str, first17: &str, tags: &[&str]) -> PersonInput {
    PersonInput::parse(
        &PersonForm {
            name: name.into(),
            id_number: format!("{first17}{}", check_char(first17.as_bytes())),
            people: "苗族".into(),
            address: "安居小区 2 栋".into(),
            tags: tags.iter().map(|t| (*t).to_string()).collect(),
            ..PersonForm::default()
        },
        today(),
    )
    .unwrap()
}

const CONSENT: &[(ConsentPurpose, ConsentChannel)] =
    &[(ConsentPurpose::Registration, ConsentChannel::Staff)];

struct World {
    town: org::Region,
    grid_a: Actor,
    grid_b: Actor,
    town_staff: Actor,
    /// (household, head, child) in grid a, relocated.
    h1: (i64, i64, i64),
    /// In grid b, relocated.
    h2: i64,
}

fn world(c: &mut DbConnection, vault: &Vault) -> Result<World, DbError> {
    let sys = Actor::system("test");
    let all = Scope::everything();
    let town = org::get_region_by_code(c, &all, "450107001")?;
    let comm = org::create_child_region(
        c,
        &sys,
        town.id,
        &RegionInput::parse("安居社区", "").unwrap(),
    )?;
    let a = org::create_child_region(c, &sys, comm.id, &RegionInput::parse("一网格", "").unwrap())?;
    let b = org::create_child_region(c, &sys, comm.id, &RegionInput::parse("二网格", "").unwrap())?;
    let mut reg = |p: PersonInput, region: i64, household: Household| {
        registry::register(
            c,
            &shiliu_db::scope::Can::check(&sys).unwrap(),
            vault,
            &Registration {
                person: &p,
                region_id: region,
                household,
                consents: CONSENT,
                on_duplicate: OnDuplicate::Refuse,
            },
        )
        .map(|r| r.person().clone())
    };
    let head = reg(
        person("杨春花", "52262719880101202", &["relocated"]),
        a.id,
        Household::New,
    )?;
    let hid = head.household_id.unwrap();
    let child = reg(
        person("杨小宝", "52262720190601101", &[]),
        a.id,
        Household::Join {
            household_id: hid,
            relation: Relation::Child,
        },
    )?;
    let other = reg(
        person("吴金", "52262719900101301", &["relocated"]),
        b.id,
        Household::New,
    )?;
    reg(
        person("陈平", "45010219800101101", &[]),
        a.id,
        Household::New,
    )?;
    let grid = |name: &str, path: &str| {
        Actor::system_within(name, Scope::subtrees(vec![path.to_string()]))
    };
    Ok(World {
        grid_a: grid("grid-a", &a.path),
        grid_b: grid("grid-b", &b.path),
        town_staff: grid("town", &town.path),
        town,
        h1: (hid, head.id, child.id),
        h2: other.household_id.unwrap(),
    })
}

fn survey_input() -> SurveyInput {
    let start = today().to_string();
    let end = (today() + chrono::Duration::days(30)).to_string();
    SurveyInput::parse(
        "易地搬迁户就业需求摸排",
        &start,
        &end,
        &[(
            "家中劳动力人数".into(),
            "number".into(),
            true,
            String::new(),
        )],
    )
    .unwrap()
}

fn answers(n: &str) -> RawAnswers {
    let mut a = RawAnswers::new();
    if !n.is_empty() {
        a.insert("q1".into(), vec![n.into()]);
    }
    a
}

fn reason(e: &DbError) -> (String, &'static str) {
    match e {
        DbError::Invalid(errs) => (errs.0[0].field.clone(), errs.0[0].reason),
        other => panic!("expected a field error, got {other:?}"),
    }
}

/// A township's campaign over its relocated households, begun.
fn surveyed(t: &TestDb) -> (World, needs::Survey) {
    let vault = Vault::random();
    let w = t.db.write_blocking(move |c| world(c, &vault)).unwrap();
    let s =
        t.db.write_blocking(|c| {
            needs::create_survey(
                c,
                &w.town_staff,
                w.town.id,
                Some(PersonTag::Relocated),
                &survey_input(),
            )
        })
        .unwrap();
    (w, s)
}

/// …and grid a has answered for household 1: the head needs a job, the child a school place.
/// It answered three times: once, again naming the job twice, and again with three workers.
fn answered(t: &TestDb) -> (World, needs::Survey) {
    let (w, s) = surveyed(t);
    let (hid, head, child) = w.h1;
    t.db.write_blocking(|c| {
        let found = [
            need(head, "job", "想进电子厂").unwrap(),
            need(child, "school", "").unwrap(),
        ];
        needs::answer(c, &w.grid_a, s.id, hid, &answers("2"), &found)?;
        let twice = [found[0].clone(), found[0].clone()];
        needs::answer(c, &w.grid_a, s.id, hid, &answers("2"), &twice)?;
        needs::answer(c, &w.grid_a, s.id, hid, &answers("3"), &found)
    })
    .unwrap();
    let s =
        t.db.write_blocking(|c| needs::get_survey(c, w.grid_a.scope(), s.id))
            .unwrap();
    (w, s)
}

/// The survey's needs as the township's staff list them, with the person's name.
fn found(t: &TestDb, w: &World, s: &needs::Survey) -> Vec<(needs::Need, String)> {
    t.db.write_blocking(|c| {
        needs::needs(
            c,
            &w.town_staff,
            &NeedFilter {
                survey_id: Some(s.id),
                ..NeedFilter::default()
            },
            None,
            10,
        )
    })
    .unwrap()
}

fn of_kind(found: &[(needs::Need, String)], kind: NeedKind) -> needs::Need {
    found
        .iter()
        .find(|(n, _)| n.kind() == kind)
        .unwrap()
        .0
        .clone()
}

fn job_request() -> RequestInput {
    RequestInput::parse(
        Channel::Grid,
        "就业岗位：想进电子厂",
        "",
        "杨春花",
        "",
        false,
    )
    .unwrap()
}

/// …and acted on, one action each: the job need became a request; the school place was
/// planned, then met by a service; the head was paid a 300 yuan subsidy.
struct Acted {
    w: World,
    s: needs::Survey,
    requested: needs::Need,
    request: shiliu_db::requests::Request,
    planned: needs::Need,
    school: i64,
}

fn acted_on(t: &TestDb) -> Acted {
    let (w, s) = answered(t);
    let (_, head, child) = w.h1;
    let found = found(t, &w, &s);
    let (job, school) = (
        of_kind(&found, NeedKind::Job),
        of_kind(&found, NeedKind::School),
    );
    let grid_a = &w.grid_a;
    let (requested, request, planned) =
        t.db.write_blocking(|c| {
            let (requested, request) =
                needs::to_request(c, grid_a, job.id, job.version, &job_request())?;
            let plan = PlanInput::parse("衡阳小学", &today().to_string(), today()).unwrap();
            let planned = needs::plan(c, grid_a, school.id, school.version, &plan)?;
            let service = ServiceInput::parse(
                "school_place",
                &today().to_string(),
                "衡阳小学",
                "",
                "一年级",
                today(),
            )
            .unwrap();
            needs::record_service(c, grid_a, child, &service, Some(school.id))?;
            let subsidy = ServiceInput::parse(
                "subsidy",
                &today().to_string(),
                "区人社局",
                "300",
                "交通补贴",
                today(),
            )
            .unwrap();
            needs::record_service(c, grid_a, head, &subsidy, None)?;
            Ok((requested, request, planned))
        })
        .unwrap();
    Acted {
        w,
        s,
        requested,
        request,
        planned,
        school: school.id,
    }
}

both_engines!(each_grid_worker_sees_the_townships_survey, |t: TestDb| {
    let (w, _) = surveyed(&t);
    let seen_by_grid =
        t.db.write_blocking(|c| needs::surveys(c, w.grid_a.scope()))
            .unwrap()
            .len();
    assert_eq!(seen_by_grid, 1);
});

both_engines!(
    a_survey_covers_one_relocated_household_per_grid,
    |t: TestDb| {
        let (w, s) = surveyed(&t);
        let progress =
            t.db.write_blocking(|c| needs::progress(c, w.town_staff.scope(), &s))
                .unwrap();
        let counts: Vec<(i64, i64)> = progress.values().copied().collect();
        assert_eq!(counts, [(1, 0), (1, 0)], "one relocated household per grid");
    }
);

both_engines!(a_required_answer_left_out_is_refused, |t: TestDb| {
    let (w, s) = surveyed(&t);
    let refused =
        t.db.write_blocking(|c| needs::answer(c, &w.grid_a, s.id, w.h1.0, &answers(""), &[]))
            .unwrap_err();
    assert_eq!(reason(&refused), ("answer.q1".into(), "err.required"));
});

both_engines!(
    a_grid_worker_cannot_answer_for_another_grids_household,
    |t: TestDb| {
        let (w, s) = surveyed(&t);
        let foreign =
            t.db.write_blocking(|c| needs::answer(c, &w.grid_b, s.id, w.h1.0, &answers("2"), &[]))
                .unwrap_err();
        assert!(matches!(foreign, DbError::NotFound));
    }
);

both_engines!(a_need_found_is_a_household_members, |t: TestDb| {
    let (w, s) = surveyed(&t);
    let stranger = need(w.h2, "job", "").unwrap();
    let unknown_member = t
        .db
        .write_blocking(|c| needs::answer(c, &w.grid_a, s.id, w.h1.0, &answers("2"), &[stranger]))
        .unwrap_err();
    assert_eq!(reason(&unknown_member).1, "err.survey.not_a_member");
});

both_engines!(
    answering_again_keeps_what_is_needed_and_never_doubles,
    |t: TestDb| {
        // Answering again keeps what is still needed, drops what is not, never doubles (not even
        // when the form names a need twice).
        let (w, s) = answered(&t);
        let found = found(&t, &w, &s);
        let mut kinds: Vec<(&str, &str)> = found
            .iter()
            .map(|(n, name)| (n.kind.as_str(), name.as_str()))
            .collect();
        kinds.sort_unstable();
        assert_eq!(kinds, [("job", "杨春花"), ("school", "杨小宝")]);
    }
);

both_engines!(an_answered_household_counts_as_done, |t: TestDb| {
    let (w, s) = answered(&t);
    let progress =
        t.db.write_blocking(|c| needs::progress(c, w.town_staff.scope(), &s))
            .unwrap();
    let counts: Vec<(i64, i64)> = progress.values().copied().collect();
    assert_eq!(counts.iter().map(|c| c.1).sum::<i64>(), 1);
});

both_engines!(
    the_lists_totals_counted_in_the_database_are_the_same_households,
    |t: TestDb| {
        // The lists' totals, counted in the database, are the same households.
        let (w, s) = answered(&t);
        t.db.write_blocking(|c| {
            assert_eq!(needs::progress_totals(c, w.town_staff.scope(), &s)?, (2, 1));
            assert_eq!(needs::progress_totals(c, w.grid_a.scope(), &s)?, (1, 1));
            Ok(())
        })
        .unwrap();
    }
);

both_engines!(
    a_grid_with_every_household_answered_has_nobody_left_to_visit,
    |t: TestDb| {
        let (w, s) = answered(&t);
        let todo =
            t.db.write_blocking(|c| needs::survey_households(c, &w.grid_a, &s, true, 0, 10))
                .unwrap();
        assert!(todo.is_empty(), "grid a has nobody left to visit");
    }
);

both_engines!(a_need_becomes_a_request_in_its_grid, |t: TestDb| {
    let x = acted_on(&t);
    assert_eq!(x.requested.status, NeedStatus::Requested.as_str());
    assert_eq!(x.requested.request_id, Some(x.request.id));
    assert_eq!(x.request.region_id, x.w.grid_a_region());
});

both_engines!(a_need_becomes_a_request_once, |t: TestDb| {
    let x = acted_on(&t);
    let (id, version) = (x.requested.id, x.requested.version);
    let twice =
        t.db.write_blocking(|c| needs::to_request(c, &x.w.grid_a, id, version, &job_request()))
            .unwrap_err();
    assert_eq!(reason(&twice).1, "err.need.not_open");
});

both_engines!(a_planned_need_is_met_by_a_service, |t: TestDb| {
    let x = acted_on(&t);
    assert_eq!(x.planned.status, NeedStatus::Planned.as_str());
    let (met, served) =
        t.db.write_blocking(|c| {
            let scope = x.w.grid_a.scope();
            Ok((
                needs::get_need(c, scope, x.school)?,
                needs::services_of(c, scope, x.w.h1.2)?,
            ))
        })
        .unwrap();
    assert_eq!(met.status, NeedStatus::Met.as_str());
    assert_eq!(served.len(), 1);
});

both_engines!(the_needs_figures_are_the_rows, |t: TestDb| {
    // The figures are the rows': two needs found, one met; one school place, 300 yuan paid.
    let x = acted_on(&t);
    let f =
        t.db.write_blocking(|c| needs::figures(c, x.w.town_staff.scope(), today(), today()))
            .unwrap();
    assert_eq!(
        f.needs,
        [
            ("job".to_string(), 1, 0, 0),
            ("school".to_string(), 1, 1, 0)
        ]
    );
    assert_eq!(
        f.services,
        [
            ("school_place".to_string(), 1, 1, 0),
            ("subsidy".to_string(), 1, 1, 30_000)
        ]
    );
});

both_engines!(
    a_need_of_someone_moved_out_is_no_longer_acted_on_here,
    |t: TestDb| {
        // A need of someone who has moved out of the area is for wherever they live now: it
        // no longer becomes a request or a plan here, and says why.
        let Acted { w, s, .. } = acted_on(&t);
        let (hid, head, _) = w.h1;
        let grid_a = &w.grid_a;
        let (to_request, to_plan) =
            t.db.write_blocking(|c| {
                let training = need(head, "training", "").unwrap();
                needs::answer(c, grid_a, s.id, hid, &answers("2"), &[training])?;
                let open = needs::needs_of(c, grid_a.scope(), head)?
                    .into_iter()
                    .find(|n| n.kind() == NeedKind::Training)
                    .unwrap();
                let p = shiliu_db::registry::get(c, grid_a.scope(), head)?;
                shiliu_db::registry::move_out(
                    c,
                    &shiliu_db::scope::Can::check(grid_a).unwrap(),
                    head,
                    p.version,
                    today(),
                )?;
                let input = RequestInput::parse(Channel::Grid, "培训", "", "", "", false).unwrap();
                let plan = PlanInput::parse("职校", &today().to_string(), today()).unwrap();
                Ok((
                    needs::to_request(c, grid_a, open.id, open.version, &input).unwrap_err(),
                    needs::plan(c, grid_a, open.id, open.version, &plan).unwrap_err(),
                ))
            })
            .unwrap();
        assert_eq!(
            reason(&to_request),
            ("status".into(), "err.need.person_gone")
        );
        assert_eq!(reason(&to_plan), ("status".into(), "err.need.person_gone"));
    }
);

both_engines!(a_closed_survey_takes_no_more_answers, |t: TestDb| {
    // Closed, it takes no more answers.
    let (w, s) = answered(&t);
    let (town_staff, grid_a) = (&w.town_staff, &w.grid_a);
    let late =
        t.db.write_blocking(|c| {
            let s = needs::get_survey(c, town_staff.scope(), s.id)?;
            needs::close_survey(c, town_staff, s.id, s.version)?;
            Ok(needs::answer(c, grid_a, s.id, w.h1.0, &answers("2"), &[]).unwrap_err())
        })
        .unwrap();
    assert_eq!(reason(&late).1, "err.survey.not_running");
});

impl World {
    fn grid_a_region(&self) -> i64 {
        self.grid_a.scope().paths()[0]
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }
}

both_engines!(
    a_grid_workers_households_left_to_visit_are_those_their_list_shows_still_to_visit,
    |t: TestDb| {
        let (w, s) = surveyed(&t);
        let left = |t: &TestDb, a: &Actor| {
            let mut c = t.db.conn().unwrap();
            let counted = needs::households_left(&mut c, a.scope(), today()).unwrap();
            let s = s.clone();
            let a = a.clone();
            let listed =
                t.db.write_blocking(move |c| needs::survey_households(c, &a, &s, true, 0, 100))
                    .unwrap();
            (counted.iter().map(|(_, n)| *n).sum::<i64>(), listed.len())
        };
        assert_eq!(left(&t, &w.grid_a), (1, 1));
        let (hid, head, _) = w.h1;
        t.db.write_blocking(|c| {
            let found = [need(head, "job", "想进电子厂").unwrap()];
            needs::answer(c, &w.grid_a, s.id, hid, &answers("2"), &found)
        })
        .unwrap();
        assert_eq!(left(&t, &w.grid_a), (0, 0));
        assert_eq!(left(&t, &w.grid_b), (1, 1));
    }
);
