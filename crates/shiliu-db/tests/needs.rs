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

both_engines!(
    a_survey_finds_needs_that_become_requests_and_services,
    |t: TestDb| {
        let vault = Vault::random();
        let w = t.db.write_blocking(move |c| world(c, &vault)).unwrap();
        let (hid, head, child) = w.h1;
        let (town, town_staff, grid_a, grid_b) = (
            w.town.clone(),
            w.town_staff.clone(),
            w.grid_a.clone(),
            w.grid_b.clone(),
        );

        // A township's campaign over its relocated households; each grid worker sees it.
        let (s, seen_by_grid, progress, refused, foreign, unknown_member) =
            t.db.write_blocking(move |c| {
                let s = needs::create_survey(
                    c,
                    &town_staff,
                    town.id,
                    Some(PersonTag::Relocated),
                    &survey_input(),
                )?;
                let seen_by_grid = needs::surveys(c, grid_a.scope())?.len();
                let progress = needs::progress(c, town_staff.scope(), &s)?;
                let refused = needs::answer(c, &grid_a, s.id, hid, &answers(""), &[]).unwrap_err();
                let foreign = needs::answer(c, &grid_b, s.id, hid, &answers("2"), &[]).unwrap_err();
                let stranger = need(w.h2, "job", "").unwrap();
                let unknown_member =
                    needs::answer(c, &grid_a, s.id, hid, &answers("2"), &[stranger]).unwrap_err();
                Ok((s, seen_by_grid, progress, refused, foreign, unknown_member))
            })
            .unwrap();
        assert_eq!(seen_by_grid, 1);
        let counts: Vec<(i64, i64)> = progress.values().copied().collect();
        assert_eq!(counts, [(1, 0), (1, 0)], "one relocated household per grid");
        assert_eq!(reason(&refused), ("answer.q1".into(), "err.required"));
        assert!(matches!(foreign, DbError::NotFound));
        assert_eq!(reason(&unknown_member).1, "err.survey.not_a_member");

        // Answered: the head needs a job, the child a school place.
        let (grid_a, town_staff) = (w.grid_a.clone(), w.town_staff.clone());
        let sid = s.id;
        let (progress, todo, found) =
            t.db.write_blocking(move |c| {
                let found = [
                    need(head, "job", "想进电子厂").unwrap(),
                    need(child, "school", "").unwrap(),
                ];
                needs::answer(c, &grid_a, sid, hid, &answers("2"), &found)?;
                // Answering again keeps what is still needed, drops what is not, never doubles
                // (not even when the form names a need twice).
                let twice = [found[0].clone(), found[0].clone()];
                needs::answer(c, &grid_a, sid, hid, &answers("2"), &twice)?;
                needs::answer(c, &grid_a, sid, hid, &answers("3"), &found)?;
                let s = needs::get_survey(c, grid_a.scope(), sid)?;
                let progress = needs::progress(c, town_staff.scope(), &s)?;
                // The lists' totals, counted in the database, are the same households.
                assert_eq!(needs::progress_totals(c, town_staff.scope(), &s)?, (2, 1));
                assert_eq!(needs::progress_totals(c, grid_a.scope(), &s)?, (1, 1));
                let todo = needs::survey_households(c, &grid_a, &s, true, 0, 10)?;
                let found = needs::needs(
                    c,
                    &town_staff,
                    &NeedFilter {
                        survey_id: Some(sid),
                        ..NeedFilter::default()
                    },
                    None,
                    10,
                )?;
                Ok((progress, todo, found))
            })
            .unwrap();
        let counts: Vec<(i64, i64)> = progress.values().copied().collect();
        assert_eq!(counts.iter().map(|c| c.1).sum::<i64>(), 1);
        assert!(todo.is_empty(), "grid a has nobody left to visit");
        let mut kinds: Vec<(&str, &str)> = found
            .iter()
            .map(|(n, name)| (n.kind.as_str(), name.as_str()))
            .collect();
        kinds.sort_unstable();
        assert_eq!(kinds, [("job", "杨春花"), ("school", "杨小宝")]);

        // One action each: the job need becomes a request; the school place is planned, then met.
        let job = found
            .iter()
            .find(|(n, _)| n.kind() == NeedKind::Job)
            .unwrap()
            .0
            .clone();
        let school = found
            .iter()
            .find(|(n, _)| n.kind() == NeedKind::School)
            .unwrap()
            .0
            .clone();
        let grid_a = w.grid_a.clone();
        let (requested, request, twice, planned, met, served) =
            t.db.write_blocking(move |c| {
                let input = RequestInput::parse(
                    Channel::Grid,
                    "就业岗位：想进电子厂",
                    "",
                    "杨春花",
                    "",
                    false,
                )
                .unwrap();
                let (requested, request) =
                    needs::to_request(c, &grid_a, job.id, job.version, &input)?;
                let twice =
                    needs::to_request(c, &grid_a, job.id, requested.version, &input).unwrap_err();
                let plan = PlanInput::parse("衡阳小学", &today().to_string(), today()).unwrap();
                let planned = needs::plan(c, &grid_a, school.id, school.version, &plan)?;
                let service = ServiceInput::parse(
                    "school_place",
                    &today().to_string(),
                    "衡阳小学",
                    "",
                    "一年级",
                    today(),
                )
                .unwrap();
                needs::record_service(c, &grid_a, child, &service, Some(school.id))?;
                let subsidy = ServiceInput::parse(
                    "subsidy",
                    &today().to_string(),
                    "区人社局",
                    "300",
                    "交通补贴",
                    today(),
                )
                .unwrap();
                needs::record_service(c, &grid_a, head, &subsidy, None)?;
                let met = needs::get_need(c, grid_a.scope(), school.id)?;
                let served = needs::services_of(c, grid_a.scope(), child)?;
                Ok((requested, request, twice, planned, met, served))
            })
            .unwrap();
        assert_eq!(requested.status, NeedStatus::Requested.as_str());
        assert_eq!(requested.request_id, Some(request.id));
        assert_eq!(request.region_id, w.grid_a_region());
        assert_eq!(reason(&twice).1, "err.need.not_open");
        assert_eq!(planned.status, NeedStatus::Planned.as_str());
        assert_eq!(met.status, NeedStatus::Met.as_str());
        assert_eq!(served.len(), 1);

        // The figures are the rows': two needs found, one met; one school place, 300 yuan paid.
        let town_staff = w.town_staff.clone();
        let f =
            t.db.write_blocking(move |c| needs::figures(c, town_staff.scope(), today(), today()))
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

        // A need of someone who has moved out of the area is for wherever they live now: it
        // no longer becomes a request or a plan here, and says why.
        let grid_a = w.grid_a.clone();
        let (to_request, to_plan) =
            t.db.write_blocking(move |c| {
                let training = need(head, "training", "").unwrap();
                needs::answer(c, &grid_a, sid, hid, &answers("2"), &[training])?;
                let open = needs::needs_of(c, grid_a.scope(), head)?
                    .into_iter()
                    .find(|n| n.kind() == NeedKind::Training)
                    .unwrap();
                let p = shiliu_db::registry::get(c, grid_a.scope(), head)?;
                shiliu_db::registry::move_out(
                    c,
                    &shiliu_db::scope::Can::check(&grid_a).unwrap(),
                    head,
                    p.version,
                    today(),
                )?;
                let input = RequestInput::parse(Channel::Grid, "培训", "", "", "", false).unwrap();
                let plan = PlanInput::parse("职校", &today().to_string(), today()).unwrap();
                Ok((
                    needs::to_request(c, &grid_a, open.id, open.version, &input).unwrap_err(),
                    needs::plan(c, &grid_a, open.id, open.version, &plan).unwrap_err(),
                ))
            })
            .unwrap();
        assert_eq!(
            reason(&to_request),
            ("status".into(), "err.need.person_gone")
        );
        assert_eq!(reason(&to_plan), ("status".into(), "err.need.person_gone"));

        // Closed, it takes no more answers.
        let (town_staff, grid_a) = (w.town_staff.clone(), w.grid_a.clone());
        let late =
            t.db.write_blocking(move |c| {
                let s = needs::get_survey(c, town_staff.scope(), sid)?;
                needs::close_survey(c, &town_staff, sid, s.version)?;
                Ok(needs::answer(c, &grid_a, sid, hid, &answers("2"), &[]).unwrap_err())
            })
            .unwrap();
        assert_eq!(reason(&late).1, "err.survey.not_running");
    }
);

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
