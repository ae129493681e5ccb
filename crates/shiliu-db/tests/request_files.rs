//! A request's files and its co-handling units (协办): limits, one transaction with the
//! request, scope, history and audit — on both engines.

use shiliu_db::accounts::{self, NewUser};
use shiliu_db::org;
use shiliu_db::requests::{self, StepInput, cohandling, files};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbError, audit, both_engines};
use shiliu_domain::accounts::Username;
use shiliu_domain::files::{FileInput, REQUEST_FILES};
use shiliu_domain::org::{RegionInput, SiteInput, UnitInput};
use shiliu_domain::requests::{Action, Channel, CohandlingInput, RequestInput};
use shiliu_domain::roles::Role;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR photo";

fn reason(e: &DbError) -> (String, &'static str) {
    match e {
        DbError::Invalid(errs) => (errs.0[0].field.clone(), errs.0[0].reason),
        other => panic!("expected a field error, got {other:?}"),
    }
}

fn photo(name: &str) -> FileInput {
    FileInput::parse("photos", name, PNG.to_vec(), REQUEST_FILES).unwrap()
}

both_engines!(files_and_cohandlers_of_a_request, |t: TestDb| {
    let sys = Actor::system("test");
    let (town, comm, cat) =
        t.db.write_blocking(|c| {
            let all = Scope::everything();
            let town = org::get_region_by_code(c, &all, "450107001")?;
            let comm = org::create_child_region(
                c,
                &sys,
                town.id,
                &RegionInput::parse("协办社区", "").unwrap(),
            )?;
            let cat = requests::categories(c, false)?[0].id;
            Ok((town, comm, cat))
        })
        .unwrap();
    let input =
        RequestInput::parse(Channel::Grid, "出租屋漏水，房东不修", "", "", "", false).unwrap();

    // A refused file takes its request with it: one transaction.
    let before =
        t.db.conn()
            .map(|mut c| requests::count(&mut c, &Scope::everything()).unwrap());
    let eleven: Vec<FileInput> = (0..=REQUEST_FILES.max_files)
        .map(|i| photo(&format!("{i}.png")))
        .collect();
    let err =
        t.db.write_blocking(|c| {
            let r = requests::create(c, &sys, &input, cat, comm.id, None)?;
            files::attach_to(c, &sys, &r, &eleven, "photos")
        })
        .unwrap_err();
    assert_eq!(reason(&err), ("photos".into(), "err.file.count"));
    let after =
        t.db.conn()
            .map(|mut c| requests::count(&mut c, &Scope::everything()).unwrap());
    assert_eq!(before.unwrap(), after.unwrap(), "nothing half-written");

    // With its photo it lands; the photo is listed, opened in scope, and hidden outside it.
    let (r, att) =
        t.db.write_blocking(|c| {
            let r = requests::create(c, &sys, &input, cat, comm.id, None)?;
            let a = files::attach_to(c, &sys, &r, &[photo("现场.png")], "photos")?;
            Ok((r, a))
        })
        .unwrap();
    assert_eq!(att.len(), 1);
    assert_eq!(
        (att[0].content_type.as_str(), att[0].size),
        ("image/png", PNG.len() as i64)
    );
    let mut c = t.db.conn().unwrap();
    assert_eq!(files::list(&mut c, &r).unwrap(), att);
    let town_scope = Scope::subtrees(vec![town.path.clone()]);
    let (meta, bytes) = files::open(&mut c, &town_scope, r.id, att[0].id).unwrap();
    assert_eq!((meta.name.as_str(), bytes.as_slice()), ("现场.png", PNG));
    let lz = org::get_region_by_code(&mut c, &Scope::everything(), "450200").unwrap();
    let elsewhere = Scope::subtrees(vec![lz.path.clone()]);
    assert!(matches!(
        files::open(&mut c, &elsewhere, r.id, att[0].id),
        Err(DbError::NotFound)
    ));
    assert!(matches!(
        files::open(&mut c, &town_scope, r.id + 1, att[0].id),
        Err(DbError::NotFound)
    ));
    let history = requests::events(&mut c, &r).unwrap();
    assert_eq!(history.last().unwrap().action, "attach");
    drop(c);

    // Co-handling: a site handles it, a county department and a township site help.
    let (site, unit_user, far_site) =
        t.db.write_blocking(|c| {
            let all = Scope::everything();
            let county = org::get_region_by_code(c, &all, "450107")?;
            let other_town = org::get_region_by_code(c, &all, "450107002")?;
            let mk_site = |c: &mut _, region: i64, name: &str| {
                org::create_site(
                    c,
                    &sys,
                    region,
                    &SiteInput::parse(name, "minzu_home", "", "", "", "").unwrap(),
                )
            };
            let site = mk_site(c, town.id, "协办测试站")?;
            mk_site(c, town.id, "街道民族之家")?;
            let far = mk_site(c, other_town.id, "邻镇服务站")?;
            let unit = org::create_unit(
                c,
                &sys,
                county.id,
                &UnitInput::parse("区住建局", "department", "", "").unwrap(),
            )?;
            let user = accounts::create_user(
                c,
                &shiliu_db::scope::Can::check(&sys).unwrap(),
                &NewUser {
                    username: Username::parse("zhujian").unwrap(),
                    display_name: "住建局干部".into(),
                    password_hash: "x".into(),
                    role: Role::SiteStaff,
                    region_id: county.id,
                    unit_id: Some(unit.id),
                    site_id: None,
                    phone: None,
                    grid_ids: vec![],
                },
            )?;
            Ok((site, user, far))
        })
        .unwrap();
    let ask = |target: &str, version: i32| {
        let input = CohandlingInput::parse(target, "请核实房屋安全").unwrap();
        t.db.write_blocking(|c| cohandling::ask(c, &sys, r.id, version, &input))
    };
    assert_eq!(
        reason(&ask("区住建局", r.version).unwrap_err()).1,
        "err.cohandle.status",
        "not before the handler accepted it"
    );
    let step = |action: Action, version: i32, site: Option<i64>| {
        let input = StepInput {
            site_id: site,
            ..StepInput::default()
        };
        t.db.write_blocking(|c| requests::step(c, &sys, r.id, version, action, &input))
            .unwrap()
    };
    let v = step(Action::Dispatch, r.version, Some(site.id)).version;
    let v = step(Action::Accept, v, None).version;
    assert_eq!(
        reason(&ask("协办测试站", v).unwrap_err()).1,
        "err.cohandle.self"
    );
    assert_eq!(
        reason(&ask("邻镇服务站", v).unwrap_err()).1,
        "err.cohandle.scope"
    );
    assert_eq!(
        reason(&ask("不存在的单位", v).unwrap_err()),
        ("cohandler".into(), "err.unit.unknown")
    );
    let _ = far_site;
    let asked = ask("区住建局", v).unwrap();
    assert!(
        matches!(ask("区住建局", v), Err(DbError::Stale)),
        "the page was old"
    );
    assert_eq!(
        reason(&ask("区住建局", v + 1).unwrap_err()).1,
        "err.cohandle.exists"
    );
    ask("街道民族之家", v + 1).unwrap();

    // The department's staff see it waiting and answer; a stranger may not.
    let county = {
        let mut c = t.db.conn().unwrap();
        org::get_region_by_code(&mut c, &Scope::everything(), "450107").unwrap()
    };
    let staff = Actor::with_role(
        "zhujian",
        Role::SiteStaff,
        Scope::subtrees(vec![county.path.clone()]),
    )
    .as_user_id(Some(unit_user.id));
    let waiting = |c: &mut shiliu_db::DbConnection| {
        let f = requests::RequestFilter {
            asked_of: Some((None, Some(unit_user.unit_id.unwrap()))),
            ..Default::default()
        };
        requests::list(c, staff.scope(), &f, 10).unwrap()
    };
    let mine = waiting(&mut t.db.conn().unwrap());
    assert_eq!(mine.iter().map(|x| x.id).collect::<Vec<_>>(), vec![r.id]);
    let stranger = staff.clone().as_user_id(None);
    let e =
        t.db.write_blocking(|c| cohandling::answer(c, &stranger, r.id, asked.id, false, "已核实"))
            .unwrap_err();
    assert_eq!(reason(&e).1, "err.cohandle.not_yours");
    let done =
        t.db.write_blocking(|c| {
            cohandling::answer(c, &staff, r.id, asked.id, false, "已派员核实，房屋安全")
        })
        .unwrap();
    assert_eq!(done.status, cohandling::ANSWERED);
    let e =
        t.db.write_blocking(|c| cohandling::answer(c, &staff, r.id, asked.id, false, "再答"))
            .unwrap_err();
    assert_eq!(reason(&e).1, "err.cohandle.answered");

    let mut c = t.db.conn().unwrap();
    assert!(waiting(&mut c).is_empty(), "answered: no longer waiting");
    let list = cohandling::list(&mut c, &r).unwrap();
    let names: Vec<(&str, &str)> = list
        .iter()
        .map(|n| (n.name.as_str(), n.cohandler.status.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![("区住建局", "answered"), ("街道民族之家", "asked")]
    );
    let actions: Vec<String> = requests::events(&mut c, &r)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.ends_with(&[
        "cohandle_ask".into(),
        "cohandle_ask".into(),
        "cohandle_answer".into()
    ]));
    // The request is found by what the co-handler said.
    let found = requests::list(
        &mut c,
        &Scope::everything(),
        &requests::RequestFilter {
            text: Some("房屋安全".into()),
            ..Default::default()
        },
        10,
    )
    .unwrap();
    assert!(found.iter().any(|x| x.id == r.id));
    assert!(audit::verify(&mut c).unwrap().is_intact());
});
