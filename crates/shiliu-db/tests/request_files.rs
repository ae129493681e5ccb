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

/// A new community under 衡阳街道, a category, and a report of a leaking rented room.
struct Place {
    sys: Actor,
    town: org::Region,
    comm: org::Region,
    cat: i64,
    input: RequestInput,
}

fn a_place(t: &TestDb) -> Place {
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
    Place {
        sys,
        town,
        comm,
        cat,
        input,
    }
}

/// The request received with its photo, 现场.png.
fn with_photo(t: &TestDb) -> (Place, requests::Request, Vec<files::Attachment>) {
    let p = a_place(t);
    let (r, att) =
        t.db.write_blocking(|c| {
            let r = requests::create(c, &p.sys, &p.input, p.cat, p.comm.id, None)?;
            let a = files::attach_to(c, &p.sys, &r, &[photo("现场.png")], "photos")?;
            Ok((r, a))
        })
        .unwrap();
    (p, r, att)
}

fn town_scope(p: &Place) -> Scope {
    Scope::subtrees(vec![p.town.path.clone()])
}

both_engines!(a_refused_file_takes_its_request_with_it, |t: TestDb| {
    // A refused file takes its request with it: one transaction.
    let p = a_place(&t);
    let before =
        t.db.conn()
            .map(|mut c| requests::count(&mut c, &Scope::everything()).unwrap());
    let eleven: Vec<FileInput> = (0..=REQUEST_FILES.max_files)
        .map(|i| photo(&format!("{i}.png")))
        .collect();
    let err =
        t.db.write_blocking(|c| {
            let r = requests::create(c, &p.sys, &p.input, p.cat, p.comm.id, None)?;
            files::attach_to(c, &p.sys, &r, &eleven, "photos")
        })
        .unwrap_err();
    assert_eq!(reason(&err), ("photos".into(), "err.file.count"));
    let after =
        t.db.conn()
            .map(|mut c| requests::count(&mut c, &Scope::everything()).unwrap());
    assert_eq!(before.unwrap(), after.unwrap(), "nothing half-written");
});

both_engines!(with_its_photo_a_request_lands, |t: TestDb| {
    let (_, _, att) = with_photo(&t);
    assert_eq!(att.len(), 1);
    assert_eq!(
        (att[0].content_type.as_str(), att[0].size),
        ("image/png", PNG.len() as i64)
    );
});

both_engines!(a_requests_photo_is_listed, |t: TestDb| {
    let (_, r, att) = with_photo(&t);
    let mut c = t.db.conn().unwrap();
    assert_eq!(files::list(&mut c, &r).unwrap(), att);
});

both_engines!(a_requests_photo_is_opened_in_scope, |t: TestDb| {
    let (p, r, att) = with_photo(&t);
    let mut c = t.db.conn().unwrap();
    let (meta, bytes) = files::open(&mut c, &town_scope(&p), r.id, att[0].id).unwrap();
    assert_eq!((meta.name.as_str(), bytes.as_slice()), ("现场.png", PNG));
});

both_engines!(a_requests_photo_is_hidden_outside_the_scope, |t: TestDb| {
    let (_, r, att) = with_photo(&t);
    let mut c = t.db.conn().unwrap();
    let lz = org::get_region_by_code(&mut c, &Scope::everything(), "450200").unwrap();
    let elsewhere = Scope::subtrees(vec![lz.path.clone()]);
    assert!(matches!(
        files::open(&mut c, &elsewhere, r.id, att[0].id),
        Err(DbError::NotFound)
    ));
});

both_engines!(a_photo_is_opened_only_under_its_own_request, |t: TestDb| {
    let (p, r, att) = with_photo(&t);
    let mut c = t.db.conn().unwrap();
    assert!(matches!(
        files::open(&mut c, &town_scope(&p), r.id + 1, att[0].id),
        Err(DbError::NotFound)
    ));
});

both_engines!(attaching_is_in_the_requests_history, |t: TestDb| {
    let (_, r, _) = with_photo(&t);
    let mut c = t.db.conn().unwrap();
    let history = requests::events(&mut c, &r).unwrap();
    assert_eq!(history.last().unwrap().action, "attach");
});

/// Co-handling: the request with its photo; in the town a site to handle it (协办测试站) and
/// another (街道民族之家); a site in the next township (邻镇服务站); a county department
/// (区住建局) and a user of it.
struct Cohandled {
    p: Place,
    r: requests::Request,
    site: org::Site,
    unit_user: accounts::User,
}

fn with_helpers(t: &TestDb) -> Cohandled {
    let (p, r, _) = with_photo(t);
    let sys = &p.sys;
    let (site, unit_user) =
        t.db.write_blocking(|c| {
            let all = Scope::everything();
            let county = org::get_region_by_code(c, &all, "450107")?;
            let other_town = org::get_region_by_code(c, &all, "450107002")?;
            let mk_site = |c: &mut _, region: i64, name: &str| {
                org::create_site(
                    c,
                    sys,
                    region,
                    &SiteInput::parse(name, "minzu_home", "", "", "", "").unwrap(),
                )
            };
            let site = mk_site(c, p.town.id, "协办测试站")?;
            mk_site(c, p.town.id, "街道民族之家")?;
            mk_site(c, other_town.id, "邻镇服务站")?;
            let unit = org::create_unit(
                c,
                sys,
                county.id,
                &UnitInput::parse("区住建局", "department", "", "").unwrap(),
            )?;
            let user = accounts::create_user(
                c,
                &shiliu_db::scope::Can::check(sys).unwrap(),
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
            Ok((site, user))
        })
        .unwrap();
    Cohandled {
        p,
        r,
        site,
        unit_user,
    }
}

impl Cohandled {
    fn ask(
        &self,
        t: &TestDb,
        target: &str,
        version: i32,
    ) -> Result<cohandling::Cohandler, DbError> {
        let input = CohandlingInput::parse(target, "请核实房屋安全").unwrap();
        t.db.write_blocking(|c| cohandling::ask(c, &self.p.sys, self.r.id, version, &input))
    }

    fn step(&self, t: &TestDb, action: Action, version: i32, site: Option<i64>) -> i32 {
        let input = StepInput {
            site_id: site,
            ..StepInput::default()
        };
        t.db.write_blocking(|c| requests::step(c, &self.p.sys, self.r.id, version, action, &input))
            .unwrap()
            .version
    }

    /// The department's staff, as signed in.
    fn staff(&self, t: &TestDb) -> Actor {
        let county = {
            let mut c = t.db.conn().unwrap();
            org::get_region_by_code(&mut c, &Scope::everything(), "450107").unwrap()
        };
        Actor::with_role(
            "zhujian",
            Role::SiteStaff,
            Scope::subtrees(vec![county.path.clone()]),
        )
        .as_user_id(Some(self.unit_user.id))
    }

    /// The requests waiting for the department's answer, as its staff see them.
    fn waiting(&self, t: &TestDb) -> Vec<requests::Request> {
        let f = requests::RequestFilter {
            asked_of: Some((None, Some(self.unit_user.unit_id.unwrap()))),
            ..Default::default()
        };
        let staff = self.staff(t);
        requests::list(&mut t.db.conn().unwrap(), staff.scope(), &f, 10).unwrap()
    }
}

/// …dispatched to the site, which accepted it: the request's version then.
fn accepted(t: &TestDb) -> (Cohandled, i32) {
    let x = with_helpers(t);
    let v = x.step(t, Action::Dispatch, x.r.version, Some(x.site.id));
    let v = x.step(t, Action::Accept, v, None);
    (x, v)
}

/// …and the department and 街道民族之家 asked to help.
fn asked(t: &TestDb) -> (Cohandled, cohandling::Cohandler) {
    let (x, v) = accepted(t);
    let asked = x.ask(t, "区住建局", v).unwrap();
    x.ask(t, "街道民族之家", v + 1).unwrap();
    (x, asked)
}

/// …and the department's staff answered.
fn answered(t: &TestDb) -> Cohandled {
    let (x, asked) = asked(t);
    let staff = x.staff(t);
    t.db.write_blocking(|c| {
        cohandling::answer(c, &staff, x.r.id, asked.id, false, "已派员核实，房屋安全")
    })
    .unwrap();
    x
}

both_engines!(
    a_cohandler_is_asked_only_once_the_handler_accepted,
    |t: TestDb| {
        let x = with_helpers(&t);
        assert_eq!(
            reason(&x.ask(&t, "区住建局", x.r.version).unwrap_err()).1,
            "err.cohandle.status",
            "not before the handler accepted it"
        );
    }
);

both_engines!(the_handling_site_does_not_help_itself, |t: TestDb| {
    let (x, v) = accepted(&t);
    assert_eq!(
        reason(&x.ask(&t, "协办测试站", v).unwrap_err()).1,
        "err.cohandle.self"
    );
});

both_engines!(
    a_site_outside_the_requests_area_is_not_asked,
    |t: TestDb| {
        let (x, v) = accepted(&t);
        assert_eq!(
            reason(&x.ask(&t, "邻镇服务站", v).unwrap_err()).1,
            "err.cohandle.scope"
        );
    }
);

both_engines!(an_unknown_cohandler_is_refused, |t: TestDb| {
    let (x, v) = accepted(&t);
    assert_eq!(
        reason(&x.ask(&t, "不存在的单位", v).unwrap_err()),
        ("cohandler".into(), "err.unit.unknown")
    );
});

both_engines!(asking_from_an_old_page_is_stale, |t: TestDb| {
    let (x, v) = accepted(&t);
    x.ask(&t, "区住建局", v).unwrap();
    assert!(
        matches!(x.ask(&t, "区住建局", v), Err(DbError::Stale)),
        "the page was old"
    );
});

both_engines!(a_cohandler_is_asked_once, |t: TestDb| {
    let (x, v) = accepted(&t);
    x.ask(&t, "区住建局", v).unwrap();
    assert_eq!(
        reason(&x.ask(&t, "区住建局", v + 1).unwrap_err()).1,
        "err.cohandle.exists"
    );
});

both_engines!(
    the_departments_staff_see_the_request_waiting,
    |t: TestDb| {
        // The department's staff see it waiting and answer; a stranger may not.
        let (x, _) = asked(&t);
        let mine = x.waiting(&t);
        assert_eq!(mine.iter().map(|x| x.id).collect::<Vec<_>>(), vec![x.r.id]);
    }
);

both_engines!(a_stranger_may_not_answer_for_the_department, |t: TestDb| {
    let (x, asked) = asked(&t);
    let stranger = x.staff(&t).as_user_id(None);
    let e = t
        .db
        .write_blocking(|c| cohandling::answer(c, &stranger, x.r.id, asked.id, false, "已核实"))
        .unwrap_err();
    assert_eq!(reason(&e).1, "err.cohandle.not_yours");
});

both_engines!(the_departments_staff_answer, |t: TestDb| {
    let (x, asked) = asked(&t);
    let staff = x.staff(&t);
    let done =
        t.db.write_blocking(|c| {
            cohandling::answer(c, &staff, x.r.id, asked.id, false, "已派员核实，房屋安全")
        })
        .unwrap();
    assert_eq!(done.status, cohandling::ANSWERED);
});

both_engines!(a_cohandler_answers_once, |t: TestDb| {
    let (x, asked) = asked(&t);
    let staff = x.staff(&t);
    let answer = |text: &'static str| {
        t.db.write_blocking(|c| cohandling::answer(c, &staff, x.r.id, asked.id, false, text))
    };
    answer("已派员核实，房屋安全").unwrap();
    let e = answer("再答").unwrap_err();
    assert_eq!(reason(&e).1, "err.cohandle.answered");
});

both_engines!(an_answered_request_is_no_longer_waiting, |t: TestDb| {
    let x = answered(&t);
    assert!(x.waiting(&t).is_empty(), "answered: no longer waiting");
});

both_engines!(
    a_requests_cohandlers_are_listed_with_where_they_stand,
    |t: TestDb| {
        let x = answered(&t);
        let list = cohandling::list(&mut t.db.conn().unwrap(), &x.r).unwrap();
        let names: Vec<(&str, &str)> = list
            .iter()
            .map(|n| (n.name.as_str(), n.cohandler.status.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![("区住建局", "answered"), ("街道民族之家", "asked")]
        );
    }
);

both_engines!(
    asking_and_answering_are_in_the_requests_history,
    |t: TestDb| {
        let x = answered(&t);
        let actions: Vec<String> = requests::events(&mut t.db.conn().unwrap(), &x.r)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(actions.ends_with(&[
            "cohandle_ask".into(),
            "cohandle_ask".into(),
            "cohandle_answer".into()
        ]));
    }
);

both_engines!(
    the_request_is_found_by_what_the_cohandler_said,
    |t: TestDb| {
        // The request is found by what the co-handler said.
        let x = answered(&t);
        let found = requests::list(
            &mut t.db.conn().unwrap(),
            &Scope::everything(),
            &requests::RequestFilter {
                text: Some("房屋安全".into()),
                ..Default::default()
            },
            10,
        )
        .unwrap();
        assert!(found.iter().any(|f| f.id == x.r.id));
    }
);

both_engines!(
    files_and_cohandling_keep_the_audit_log_intact,
    |t: TestDb| {
        answered(&t);
        assert!(
            audit::verify(&mut t.db.conn().unwrap())
                .unwrap()
                .is_intact()
        );
    }
);
