//! The migrant registry: sealed ID numbers, duplicates, residence history, households, scope
//! and audit — on both engines.

use chrono::NaiveDate;
use diesel::prelude::*;
use shiliu_db::org;
use shiliu_db::registry::declarations::{self, Declaration};
use shiliu_db::registry::{
    self, Correction, Household, OnDuplicate, Registered, Registration, Vault,
};
use shiliu_db::schema::declarations as decl;
use shiliu_db::schema::{audit_log, persons};
use shiliu_db::scope::grants::RevealIdNumbers;
use shiliu_db::scope::{Actor, Can, Scope};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbConnection, DbError, audit, both_engines};
use shiliu_domain::id_number::check_char;
use shiliu_domain::org::RegionInput;
use shiliu_domain::registry::{
    ConsentChannel, ConsentPurpose, PersonForm, PersonInput, PersonStatus, Relation,
};

fn number(first17: &str) -> String {
    format!("{first17}{}", check_char(first17.as_bytes()))
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn person(name: &str, id: &str, address: &str, arrived: &str) -> PersonInput {
    PersonInput::parse(
        &PersonForm {
            name: name.into(),
            id_number: id.into(),
            // Used only when there is no ID number to derive them from.
            sex: if id.is_empty() {
                "female".into()
            } else {
                String::new()
            },
            birth_date: if id.is_empty() {
                "1990-02-03".into()
            } else {
                String::new()
            },
            hukou: if id.is_empty() {
                "451022".into()
            } else {
                String::new()
            },
            people: "侗族".into(),
            address: address.into(),
            arrived_on: arrived.into(),
            employment: "flexible".into(),
            tags: vec!["relocated".into()],
            ..PersonForm::default()
        },
        day("2026-11-22"),
    )
    .unwrap()
}

const CONSENT: &[(ConsentPurpose, ConsentChannel)] = &[
    (ConsentPurpose::Registration, ConsentChannel::Staff),
    (ConsentPurpose::Linkage, ConsentChannel::Staff),
];

fn new_here(p: &PersonInput, region_id: i64) -> Registration<'_> {
    Registration {
        person: p,
        region_id,
        household: Household::New,
        consents: CONSENT,
        on_duplicate: OnDuplicate::Refuse,
    }
}

/// Two grids under one community of 西乡塘区's 衡阳街道, and a grid in 柳州: (a, b, far).
fn grids(c: &mut DbConnection) -> Result<(org::Region, org::Region, org::Region), DbError> {
    let sys = Actor::system("test");
    let all = Scope::everything();
    let town = org::get_region_by_code(c, &all, "450107001")?;
    let comm = org::create_child_region(
        c,
        &sys,
        town.id,
        &RegionInput::parse("安居社区", "").unwrap(),
    )?;
    let a = org::create_child_region(
        c,
        &sys,
        comm.id,
        &RegionInput::parse("第一网格", "").unwrap(),
    )?;
    let b = org::create_child_region(
        c,
        &sys,
        comm.id,
        &RegionInput::parse("第二网格", "").unwrap(),
    )?;
    let lz = org::get_region_by_code(c, &all, "450202")?;
    let lz_town = org::children(c, &all, lz.id, false)?
        .into_iter()
        .next()
        .expect("柳州 has townships");
    Ok((a, b, lz_town))
}

fn field_of(e: &DbError) -> (String, &'static str) {
    match e {
        DbError::Invalid(errs) => (errs.0[0].field.clone(), errs.0[0].reason),
        other => panic!("expected a field error, got {other:?}"),
    }
}

/// 韦小红 registered by number in grid a: the vault, the number, the form and the person.
struct Sealed {
    vault: Vault,
    a: org::Region,
    id: String,
    input: PersonInput,
    p: registry::Person,
}

fn registered_by_number(t: &TestDb) -> Sealed {
    let vault = Vault::random();
    let sys = Actor::system("test");
    let id = number("52263319950304202");
    let (a, _, _) = t.db.write_blocking(grids).unwrap();
    let input = person("韦小红", &id, "衡阳路 12 号", "2024-03-01");
    let p = {
        let (v, input, a) = (vault.clone(), input.clone(), a.id);
        t.db.write_blocking(move |c| {
            registry::register(c, &Can::check(&sys).unwrap(), &v, &new_here(&input, a))
        })
        .unwrap()
    };
    let Registered::Created(p) = p else {
        panic!("a new person")
    };
    Sealed {
        vault,
        a,
        id,
        input,
        p,
    }
}

fn id_number_of(x: &Sealed) -> shiliu_domain::id_number::IdNumber {
    shiliu_domain::id_number::IdNumber::parse(&x.id).unwrap()
}

/// …then found by number and revealed whole, in one transaction: (found, revealed).
fn found_and_revealed(
    t: &TestDb,
    x: &Sealed,
) -> (
    Option<registry::Person>,
    Option<shiliu_domain::id_number::IdNumber>,
) {
    let (v, n, sys) = (x.vault.clone(), id_number_of(x), Actor::system("test"));
    t.db.write_blocking(move |c| {
        let found = registry::find_by_id_number(c, &sys, &v, &n)?;
        let can = Can::<RevealIdNumbers>::check(&sys)?;
        let revealed = registry::reveal_id_number(c, &can, &v, found.as_ref().unwrap().id)?;
        Ok((found, revealed))
    })
    .unwrap()
}

both_engines!(
    a_number_is_shown_masked_and_gives_sex_and_hukou,
    |t: TestDb| {
        let Sealed { id, p, .. } = registered_by_number(&t);
        assert_eq!(
            p.id_masked.as_deref(),
            Some(&*format!("5226**********{}", &id[14..]))
        );
        assert_eq!(
            (p.sex.as_str(), p.hukou.as_str(), p.relation.as_deref()),
            ("female", "522633", Some("head"))
        );
    }
);

both_engines!(
    nothing_in_the_row_reads_as_the_number_or_its_birth_date,
    |t: TestDb| {
        let Sealed { id, .. } = registered_by_number(&t);
        let mut c = t.db.conn().unwrap();
        let (sealed, key): (Option<Vec<u8>>, Option<Vec<u8>>) = persons::table
            .select((persons::id_sealed, persons::id_key))
            .first(&mut *c)
            .unwrap();
        for bytes in [sealed.unwrap(), key.unwrap()] {
            assert!(!bytes.windows(8).any(|w| w == b"19950304"));
            assert!(!String::from_utf8_lossy(&bytes).contains(&id));
        }
    }
);

both_engines!(
    nothing_in_the_audit_log_reads_as_the_birth_date,
    |t: TestDb| {
        registered_by_number(&t);
        let mut c = t.db.conn().unwrap();
        let logged: Vec<(Option<String>, Option<String>, String)> = audit_log::table
            .select((
                audit_log::before_digest,
                audit_log::after_digest,
                audit_log::detail,
            ))
            .load(&mut *c)
            .unwrap();
        assert!(
            logged
                .iter()
                .all(|(b, a, d)| !format!("{b:?}{a:?}{d}").contains("19950304"))
        );
    }
);

both_engines!(
    a_person_is_found_by_number_and_revealed_whole,
    |t: TestDb| {
        let x = registered_by_number(&t);
        let (found, revealed) = found_and_revealed(&t, &x);
        assert_eq!(found.unwrap().id, x.p.id);
        assert_eq!(revealed, Some(id_number_of(&x)));
    }
);

both_engines!(a_look_up_and_a_reveal_are_audited, |t: TestDb| {
    let x = registered_by_number(&t);
    found_and_revealed(&t, &x);
    let mut c = t.db.conn().unwrap();
    let actions: Vec<String> = audit_log::table
        .filter(audit_log::entity_id.eq(x.p.id.to_string()))
        .order(audit_log::seq)
        .select(audit_log::action)
        .load(&mut *c)
        .unwrap();
    assert_eq!(
        actions,
        ["person.register", "person.lookup", "person.reveal_id"]
    );
});

/// The same person registered again, by the same form.
fn register_again(t: &TestDb, x: &Sealed) -> DbError {
    let (v, input, a, sys) = (
        x.vault.clone(),
        x.input.clone(),
        x.a.id,
        Actor::system("test"),
    );
    t.db.write_blocking(move |c| {
        registry::register(c, &Can::check(&sys).unwrap(), &v, &new_here(&input, a))
    })
    .unwrap_err()
}

/// A look-up and a reveal with another key: (found, revealed).
fn with_another_key(
    t: &TestDb,
    x: &Sealed,
) -> (
    Option<registry::Person>,
    Result<Option<shiliu_domain::id_number::IdNumber>, DbError>,
) {
    let other = Vault::random();
    let sys = Actor::system("test");
    let (pid, n) = (x.p.id, id_number_of(x));
    t.db.write_blocking(move |c| {
        Ok((
            registry::find_by_id_number(c, &sys, &other, &n)?,
            registry::reveal_id_number(c, &Can::check(&sys)?, &other, pid),
        ))
    })
    .unwrap()
}

both_engines!(a_number_is_registered_once, |t: TestDb| {
    let x = registered_by_number(&t);
    let dup = register_again(&t, &x);
    assert_eq!(field_of(&dup), ("id_number".into(), "err.person.duplicate"));
});

both_engines!(another_key_opens_nothing_and_finds_nothing, |t: TestDb| {
    let x = registered_by_number(&t);
    let (found, revealed) = with_another_key(&t, &x);
    assert!(found.is_none());
    assert!(matches!(revealed, Err(DbError::Key(_))));
});

#[test]
fn a_role_without_the_permission_gets_no_grant_to_reveal_numbers() {
    // A role without the permission gets no grant to ask with, whatever its caller did.
    let leader = Actor::with_role(
        "leader",
        shiliu_domain::roles::Role::Leader,
        Scope::everything(),
    );
    assert!(matches!(
        Can::<RevealIdNumbers>::check(&leader),
        Err(DbError::Forbidden)
    ));
}

both_engines!(sealed_numbers_keep_the_audit_log_intact, |t: TestDb| {
    let x = registered_by_number(&t);
    found_and_revealed(&t, &x);
    register_again(&t, &x);
    let (_, revealed) = with_another_key(&t, &x);
    revealed.unwrap_err();
    assert!(
        audit::verify(&mut t.db.conn().unwrap())
            .unwrap()
            .is_intact()
    );
});

both_engines!(a_second_registration_updates_the_one_person, |t: TestDb| {
    let vault = Vault::random();
    let (a, b, _) = t.db.write_blocking(grids).unwrap();
    let id = number("45102219880808123");
    let first = person("黄志强", &id, "衡阳路 1 号", "2025-01-01");
    let again = PersonInput {
        occupation: Some("外卖骑手".into()),
        ..person("黄志强", &id, "秀灵路 8 号", "2025-06-01")
    };
    let v = vault.clone();
    let (one, two, count, homes) =
        t.db.write_blocking(move |c| {
            let sys = Actor::system("test");
            let one = registry::register(
                c,
                &shiliu_db::scope::Can::check(&sys).unwrap(),
                &v,
                &new_here(&first, a.id),
            )?;
            let two = registry::register(
                c,
                &shiliu_db::scope::Can::check(&sys).unwrap(),
                &v,
                &Registration {
                    on_duplicate: OnDuplicate::Update,
                    ..new_here(&again, b.id)
                },
            )?;
            let count: i64 = persons::table.count().get_result(c)?;
            let homes = registry::residences_of(c, sys.scope(), one.person().id)?;
            Ok((one, two, count, homes))
        })
        .unwrap();
    let Registered::Updated(two) = two else {
        panic!("an update")
    };
    assert_eq!(count, 1, "never a second record");
    assert_eq!(two.id, one.person().id);
    assert_eq!(
        (two.region_id, two.occupation.as_deref()),
        (b.id, Some("外卖骑手"))
    );
    assert_eq!(two.version, 2);
    let periods: Vec<_> = homes
        .iter()
        .map(|h| (h.region_id, h.from_date, h.to_date))
        .collect();
    assert_eq!(
        periods,
        [
            (a.id, day("2025-01-01"), Some(day("2025-06-01"))),
            (b.id, day("2025-06-01"), None)
        ]
    );
});

both_engines!(who_lived_where_on_a_past_day, |t: TestDb| {
    let vault = Vault::random();
    let (a, b, _) = t.db.write_blocking(grids).unwrap();
    let input = person("潘玉兰", "", "衡阳路 3 号", "2025-01-01");
    let v = vault.clone();
    let (a2, b2) = (a.clone(), b.clone());
    let p =
        t.db.write_blocking(move |c| {
            let sys = Actor::system("test");
            let p = registry::register(
                c,
                &shiliu_db::scope::Can::check(&sys).unwrap(),
                &v,
                &new_here(&input, a2.id),
            )?
            .person()
            .clone();
            let moved = PersonInput {
                address: "秀灵路 9 号".into(),
                ..input.clone()
            };
            let early = registry::update(
                c,
                &shiliu_db::scope::Can::check(&sys).unwrap(),
                &v,
                &Correction {
                    id: p.id,
                    version: p.version,
                    person: &moved,
                    region_id: b2.id,
                    moved_on: day("2024-12-31"),
                },
            )
            .unwrap_err();
            assert_eq!(field_of(&early).0, "moved_on");
            let p = registry::update(
                c,
                &shiliu_db::scope::Can::check(&sys).unwrap(),
                &v,
                &Correction {
                    id: p.id,
                    version: p.version,
                    person: &moved,
                    region_id: b2.id,
                    moved_on: day("2025-06-01"),
                },
            )?;
            let stale = registry::move_out(
                c,
                &shiliu_db::scope::Can::check(&sys).unwrap(),
                p.id,
                p.version - 1,
                day("2026-01-01"),
            )
            .unwrap_err();
            assert!(matches!(stale, DbError::Stale));
            registry::move_out(
                c,
                &shiliu_db::scope::Can::check(&sys).unwrap(),
                p.id,
                p.version,
                day("2026-01-01"),
            )
        })
        .unwrap();
    assert_eq!(p.status, PersonStatus::MovedOut.as_str());
    assert_eq!(p.moved_out_on, Some(day("2026-01-01")));
    let scope_b = Scope::subtrees(vec![b.path.clone()]);
    let f =
        t.db.write_blocking(move |c| {
            registry::stats::figures(c, &scope_b, day("2025-01-01"), day("2026-12-31"))
        })
        .unwrap();
    assert_eq!((f.residents, f.moved_out), (0, 1));
    assert_eq!(f.departures.get("2026-01"), Some(&1));
    assert_eq!(
        f.arrivals.get("2025-01"),
        Some(&1),
        "arrival in the area, by its date"
    );

    let lived = |region: &org::Region, on: &str| -> Vec<String> {
        let scope = Scope::subtrees(vec![region.path.clone()]);
        let on = day(on);
        let actor = Actor::system_within("test", scope);
        t.db.write_blocking(move |c| registry::residents_on(c, &actor, on, 0, 100))
            .unwrap()
            .into_iter()
            .map(|(p, r)| format!("{} {}", p.name, r.address))
            .collect()
    };
    assert_eq!(lived(&a, "2025-03-01"), ["潘玉兰 衡阳路 3 号"]);
    assert!(
        lived(&a, "2025-06-01").is_empty(),
        "the day of the move counts at the new home"
    );
    assert_eq!(lived(&b, "2025-06-01"), ["潘玉兰 秀灵路 9 号"]);
    assert!(lived(&b, "2026-02-01").is_empty(), "moved out");
    assert!(lived(&a, "2024-12-31").is_empty(), "not yet arrived");
});

/// A mother and child in grid a, one household, and someone in 柳州: the grids and the three.
struct Scoped {
    vault: Vault,
    a: org::Region,
    b: org::Region,
    head: registry::Person,
    child: registry::Person,
    distant: registry::Person,
}

fn a_household_and_someone_far(t: &TestDb) -> Scoped {
    let vault = Vault::random();
    let (a, b, far) = t.db.write_blocking(grids).unwrap();
    let v = vault.clone();
    let (a2, far2) = (a.clone(), far.clone());
    let (head, child, distant) =
        t.db.write_blocking(move |c| {
            let sys = Actor::system("test");
            let head = registry::register(
                c,
                &Can::check(&sys).unwrap(),
                &v,
                &new_here(
                    &person(
                        "蒙秀英",
                        &number("45122819850101204"),
                        "衡阳路 5 号",
                        "2023-05-01",
                    ),
                    a2.id,
                ),
            )?;
            let kid = PersonInput {
                employment: None,
                ..person(
                    "蒙小宝",
                    &number("45122820150606101"),
                    "衡阳路 5 号",
                    "2023-05-01",
                )
            };
            let child = registry::register(
                c,
                &Can::check(&sys).unwrap(),
                &v,
                &Registration {
                    household: Household::Join {
                        household_id: head.person().household_id.unwrap(),
                        relation: Relation::Child,
                    },
                    ..new_here(&kid, a2.id)
                },
            )?;
            let distant = registry::register(
                c,
                &Can::check(&sys).unwrap(),
                &v,
                &new_here(
                    &person(
                        "覃远",
                        &number("45022219920202301"),
                        "柳南区 1 号",
                        "2024-01-01",
                    ),
                    far2.id,
                ),
            )?;
            Ok((
                head.person().clone(),
                child.person().clone(),
                distant.person().clone(),
            ))
        })
        .unwrap();
    Scoped {
        vault,
        a,
        b,
        head,
        child,
        distant,
    }
}

fn grid_worker(g: &org::Region) -> Actor {
    Actor::system_within("grid-b", Scope::subtrees(vec![g.path.clone()]))
}

/// The scope of the community that holds grids a and b.
fn community_of(a: &org::Region) -> Scope {
    Scope::subtrees(vec![
        a.path
            .rsplitn(3, '/')
            .nth(2)
            .map(|p| format!("{p}/"))
            .unwrap(),
    ])
}

both_engines!(a_grid_worker_sees_nobody_of_another_grid, |t: TestDb| {
    let x = a_household_and_someone_far(&t);
    let (grid_b, id) = (grid_worker(&x.b), x.head.id);
    let hidden =
        t.db.write_blocking(move |c| Ok(registry::view(c, &grid_b, id).unwrap_err()))
            .unwrap();
    assert!(matches!(hidden, DbError::NotFound));
});

both_engines!(a_look_up_outside_the_scope_finds_no_one, |t: TestDb| {
    let x = a_household_and_someone_far(&t);
    let (grid_b, v) = (grid_worker(&x.b), x.vault.clone());
    let unfound =
        t.db.write_blocking(move |c| {
            let n =
                shiliu_domain::id_number::IdNumber::parse(&number("45122819850101204")).unwrap();
            registry::find_by_id_number(c, &grid_b, &v, &n)
        })
        .unwrap();
    assert!(
        unfound.is_none(),
        "a look-up outside the scope finds no one"
    );
});

both_engines!(
    a_grid_worker_cannot_join_someone_to_a_household_of_another_grid,
    |t: TestDb| {
        let x = a_household_and_someone_far(&t);
        let (grid_b, v, b) = (grid_worker(&x.b), x.vault.clone(), x.b.id);
        let hid = x.head.household_id.unwrap();
        let join_far = t.db.write_blocking(move |c| {
            registry::register(
                c,
                &Can::check(&grid_b).unwrap(),
                &v,
                &Registration {
                    household: Household::Join {
                        household_id: hid,
                        relation: Relation::Spouse,
                    },
                    ..new_here(&person("某人", "", "x", ""), b)
                },
            )
        });
        assert!(join_far.is_err());
    }
);

both_engines!(
    the_communitys_staff_see_both_members_of_a_household,
    |t: TestDb| {
        let x = a_household_and_someone_far(&t);
        let (community, hid) = (community_of(&x.a), x.head.household_id.unwrap());
        let members =
            t.db.write_blocking(move |c| registry::household_members(c, &community, hid))
                .unwrap();
        let names: Vec<_> = members
            .iter()
            .map(|p| (p.name.as_str(), p.relation.as_deref()))
            .collect();
        assert_eq!(names, [("蒙秀英", Some("head")), ("蒙小宝", Some("child"))]);
    }
);

both_engines!(
    the_communitys_staff_list_only_their_residents,
    |t: TestDb| {
        let x = a_household_and_someone_far(&t);
        let reader = Actor::system_within("community", community_of(&x.a));
        let listed =
            t.db.write_blocking(move |c| {
                registry::list(c, &reader, &registry::PersonFilter::default(), None, 10)
            })
            .unwrap();
        assert_eq!(
            listed.iter().map(|p| p.id).collect::<Vec<_>>(),
            [x.child.id, x.head.id]
        );
    }
);

both_engines!(the_register_is_counted_through_a_filter, |t: TestDb| {
    a_household_and_someone_far(&t);
    let (count, by_people) =
        t.db.write_blocking(|c| {
            let f = registry::PersonFilter::default();
            let count = registry::count(c, &Scope::everything(), &f)?;
            let by_people = registry::count(
                c,
                &Scope::everything(),
                &registry::PersonFilter {
                    hukou: Some("4512".into()),
                    ..f
                },
            )?;
            Ok((count, by_people))
        })
        .unwrap();
    assert_eq!((count, by_people), (3, 2));
});

both_engines!(
    the_figures_are_the_rows_counts_by_every_breakdown,
    |t: TestDb| {
        let x = a_household_and_someone_far(&t);
        assert_ne!(x.distant.region_id, x.a.id);
        // The figures are the rows' counts, by every breakdown.
        let f =
            t.db.write_blocking(|c| {
                registry::stats::figures(
                    c,
                    &Scope::everything(),
                    day("2020-01-01"),
                    day("2026-12-31"),
                )
            })
            .unwrap();
        assert_eq!((f.residents, f.moved_out, f.households), (3, 0, 2));
        assert_eq!(f.by_people, [("12".to_string(), 3)]);
        let mut hukou = f.by_hukou.clone();
        hukou.sort();
        assert_eq!(
            hukou,
            [("450222".to_string(), 1), ("451228".to_string(), 2)]
        );
        assert_eq!(
            f.by_region.iter().map(|r| r.1).sum::<i64>(),
            3,
            "{:?}",
            f.by_region
        );
        assert_eq!(f.by_tag, [("relocated".to_string(), 3)]);
        assert_eq!(f.arrivals.values().sum::<i64>(), 3);
    }
);

/// A mother and her child about to declare themselves in grid a: the vault, the grids, the
/// mother's number and the two people.
struct Declaring {
    vault: Vault,
    a: org::Region,
    b: org::Region,
    head_id: String,
    head: PersonInput,
    child: PersonInput,
}

fn declaring(t: &TestDb) -> Declaring {
    let (a, b, _) = t.db.write_blocking(grids).unwrap();
    let head_id = number("52263319950304202");
    let head = person("韦小红", &head_id, "衡阳路 12 号", "2024-03-01");
    let child = PersonInput {
        name: "韦小宝".into(),
        id_number: None,
        birth_date: day("2018-06-01"),
        sex: shiliu_domain::id_number::Sex::Male,
        employment: None,
        ..head.clone()
    };
    Declaring {
        vault: Vault::random(),
        a,
        b,
        head_id,
        head,
        child,
    }
}

/// The two declare themselves, living at this address of this grid.
fn declare(t: &TestDb, x: &Declaring, region: i64, address: &str) -> Declaration {
    let (v, r) = (x.vault.clone(), Actor::resident("test", "local"));
    let people = vec![
        (
            PersonInput {
                address: address.into(),
                ..x.head.clone()
            },
            Relation::Head,
        ),
        (
            PersonInput {
                address: address.into(),
                ..x.child.clone()
            },
            Relation::Child,
        ),
    ];
    t.db.write_blocking(move |c| {
        declarations::declare(
            c,
            &r,
            &v,
            region,
            &people,
            &[ConsentPurpose::Registration, ConsentPurpose::Linkage],
        )
    })
    .unwrap()
}

fn worker(g: &org::Region) -> Actor {
    Actor::system_within("worker", Scope::subtrees(vec![g.path.clone()]))
}

fn forms_of(d: &Declaration) -> Vec<PersonForm> {
    d.people().unwrap().into_iter().map(|p| p.form).collect()
}

/// The declaration confirmed by `actor` into `region` with these forms, in its own transaction.
fn confirm(
    t: &TestDb,
    x: &Declaring,
    actor: &Actor,
    (id, version): (i64, i32),
    region: i64,
    forms: &[PersonForm],
) -> Result<(Declaration, Vec<Registered>), DbError> {
    let (v, w, fs) = (x.vault.clone(), actor.clone(), forms.to_vec());
    t.db.write_blocking(move |c| {
        declarations::confirm(c, &Can::check(&w).unwrap(), &v, id, version, region, &fs)
    })
}

/// The declared forms as grid a's worker corrects them: the mother's occupation added.
fn corrected(d: &Declaration) -> Vec<PersonForm> {
    let mut forms = forms_of(d);
    forms[0].occupation = "制衣工".into();
    forms
}

/// Declared in grid a and confirmed there by its worker: the declaration as declared and as
/// confirmed, and the two people registered (the mother, the child).
struct Confirmed {
    x: Declaring,
    d: Declaration,
    done: Declaration,
    h: Registered,
    k: Registered,
}

fn confirmed(t: &TestDb) -> Confirmed {
    let x = declaring(t);
    let d = declare(t, &x, x.a.id, "衡阳路 12 号");
    let (done, mut regs) =
        confirm(t, &x, &worker(&x.a), (d.id, 1), x.a.id, &corrected(&d)).unwrap();
    let k = regs.pop().unwrap();
    let h = regs.pop().unwrap();
    Confirmed { x, d, done, h, k }
}

both_engines!(a_declaration_waits_with_the_numbers_sealed, |t: TestDb| {
    let x = declaring(&t);
    let d = declare(&t, &x, x.a.id, "衡阳路 12 号");
    assert_eq!(d.status, "pending");
    assert!(
        !d.payload.contains(&x.head_id) && !d.payload.contains("19950304"),
        "sealed: {}",
        d.payload
    );
});

both_engines!(
    a_declaration_is_found_by_its_code_in_any_case,
    |t: TestDb| {
        let x = declaring(&t);
        let d = declare(&t, &x, x.a.id, "衡阳路 12 号");
        let code = d.code.clone();
        let found =
            t.db.write_blocking(move |c| declarations::by_code(c, &code.to_lowercase()))
                .unwrap();
        assert_eq!(found.map(|f| f.id), Some(d.id));
    }
);

both_engines!(each_grids_worker_sees_their_own_grids_queue, |t: TestDb| {
    use shiliu_domain::registry::DeclarationStatus;
    let x = declaring(&t);
    declare(&t, &x, x.a.id, "衡阳路 12 号");
    let (wa, wb) = (worker(&x.a), worker(&x.b));
    let (qa, qb) =
        t.db.write_blocking(move |c| {
            Ok((
                declarations::queue(c, &wa, DeclarationStatus::Pending, None, 50)?,
                declarations::queue(c, &wb, DeclarationStatus::Pending, None, 50)?,
            ))
        })
        .unwrap();
    assert_eq!((qa.len(), qb.len()), (1, 0));
});

both_engines!(the_number_stays_sealed_in_the_declared_form, |t: TestDb| {
    let x = declaring(&t);
    let d = declare(&t, &x, x.a.id, "衡阳路 12 号");
    assert!(
        forms_of(&d)[0].id_number.is_empty(),
        "the number stays sealed in the form"
    );
});

both_engines!(
    a_correction_that_breaks_a_rule_is_refused_under_that_person,
    |t: TestDb| {
        // A correction that breaks a rule is refused under that person, and nothing is written:
        // the declaration is then confirmed at the version it had.
        let x = declaring(&t);
        let d = declare(&t, &x, x.a.id, "衡阳路 12 号");
        let wa = worker(&x.a);
        let mut forms = forms_of(&d);
        forms[1].people = "火星族".into();
        let bad = confirm(&t, &x, &wa, (d.id, 1), x.a.id, &forms).unwrap_err();
        assert_eq!(field_of(&bad).0, "p1.people");
        confirm(&t, &x, &wa, (d.id, 1), x.a.id, &corrected(&d)).unwrap();
    }
);

both_engines!(
    confirming_registers_the_declared_people_as_corrected,
    |t: TestDb| {
        let Confirmed { x, done, h, k, .. } = confirmed(&t);
        assert_eq!(done.status, "confirmed");
        assert!(matches!(h, Registered::Created(_)) && matches!(k, Registered::Created(_)));
        let h = h.person();
        assert_eq!(done.person_id, Some(h.id));
        assert_eq!(h.occupation.as_deref(), Some("制衣工"));
        assert_eq!(
            h.id_masked.as_deref(),
            Some(&*format!("5226**********{}", &x.head_id[14..])),
            "the declared number"
        );
    }
);

both_engines!(a_declared_child_joins_the_heads_household, |t: TestDb| {
    let Confirmed { h, k, .. } = confirmed(&t);
    let (h, k) = (h.person(), k.person());
    assert_eq!(
        (k.household_id, k.relation.as_deref()),
        (h.household_id, Some("child"))
    );
});

both_engines!(a_declaration_is_confirmed_once, |t: TestDb| {
    let Confirmed { x, d, done, .. } = confirmed(&t);
    let forms = corrected(&d);
    let again = confirm(&t, &x, &worker(&x.a), (done.id, 2), x.a.id, &forms).unwrap_err();
    assert_eq!(field_of(&again).0, "status");
});

both_engines!(
    a_declared_persons_consents_are_given_by_themselves,
    |t: TestDb| {
        let Confirmed { h, .. } = confirmed(&t);
        let head = h.person().clone();
        let consents =
            t.db.write_blocking(move |c| registry::consents_of(c, &head))
                .unwrap();
        assert_eq!(
            consents
                .iter()
                .map(|c| (c.purpose.as_str(), c.channel.as_str()))
                .collect::<Vec<_>>(),
            [
                ("registration", "self_service"),
                ("linkage", "self_service")
            ]
        );
    }
);

both_engines!(
    another_grids_worker_may_not_take_over_a_declared_person,
    |t: TestDb| {
        // Declared again from another grid: that grid's worker may not take over a person of
        // grid a (refused, under the person).
        let Confirmed { x, .. } = confirmed(&t);
        let d2 = declare(&t, &x, x.b.id, "秀灵路 8 号");
        let refused =
            confirm(&t, &x, &worker(&x.b), (d2.id, 1), x.b.id, &forms_of(&d2)).unwrap_err();
        assert_eq!(
            field_of(&refused),
            ("p0.id_number".into(), "err.person.registered_elsewhere")
        );
    }
);

/// The community's staff, whose area holds both grids.
fn community_staff(t: &TestDb, x: &Declaring) -> Actor {
    let community = x.a.parent_id.unwrap();
    let community =
        t.db.write_blocking(move |c| org::get_region(c, &Scope::everything(), community))
            .unwrap();
    Actor::system_within("community staff", Scope::subtrees(vec![community.path]))
}

both_engines!(
    staff_over_both_grids_move_the_declared_people_without_a_second_record,
    |t: TestDb| {
        // The township's staff, whose area holds both grids, confirm it: the same two people move,
        // no second record; the household moves with its head.
        let Confirmed { x, h, .. } = confirmed(&t);
        let d2 = declare(&t, &x, x.b.id, "秀灵路 8 号");
        let town = community_staff(&t, &x);
        let (_, regs2) = confirm(&t, &x, &town, (d2.id, 1), x.b.id, &forms_of(&d2)).unwrap();
        assert!(
            matches!(regs2[0], Registered::Updated(_)),
            "the head is found by number"
        );
        assert_eq!(regs2[0].person().id, h.person().id);
        assert_eq!(regs2[0].person().region_id, x.b.id);
        let count: i64 = persons::table
            .filter(persons::name.eq("韦小红"))
            .count()
            .get_result(&mut *t.db.conn().unwrap())
            .unwrap();
        assert_eq!(count, 1);
    }
);

fn reject(
    t: &TestDb,
    w: &Actor,
    d: &Declaration,
    reason: &'static str,
) -> Result<Declaration, DbError> {
    let (w, id) = (w.clone(), d.id);
    t.db.write_blocking(move |c| declarations::reject(c, &w, id, 1, reason))
}

both_engines!(turning_a_declaration_back_needs_a_reason, |t: TestDb| {
    let x = declaring(&t);
    let d3 = declare(&t, &x, x.a.id, "衡阳路 99 号");
    let blank = reject(&t, &worker(&x.a), &d3, " ").unwrap_err();
    assert_eq!(field_of(&blank).0, "reason");
});

const WHY: &str = "地址与房东登记不符，请核对门牌号";

both_engines!(
    the_declarant_reads_by_code_why_it_was_turned_back,
    |t: TestDb| {
        let x = declaring(&t);
        let d3 = declare(&t, &x, x.a.id, "衡阳路 99 号");
        reject(&t, &worker(&x.a), &d3, WHY).unwrap();
        let code = d3.code.clone();
        let seen =
            t.db.write_blocking(move |c| declarations::by_code(c, &code))
                .unwrap()
                .unwrap();
        assert_eq!(
            (seen.status.as_str(), seen.reason.as_deref()),
            ("rejected", Some(WHY))
        );
    }
);

/// One declaration confirmed in grid a, one confirmed by the community's staff in grid b, and
/// one turned back.
fn every_way_out(t: &TestDb) -> Declaring {
    let Confirmed { x, .. } = confirmed(t);
    let d2 = declare(t, &x, x.b.id, "秀灵路 8 号");
    let town = community_staff(t, &x);
    confirm(t, &x, &town, (d2.id, 1), x.b.id, &forms_of(&d2)).unwrap();
    let d3 = declare(t, &x, x.a.id, "衡阳路 99 号");
    reject(t, &worker(&x.a), &d3, WHY).unwrap();
    x
}

both_engines!(no_stored_declaration_holds_the_number, |t: TestDb| {
    let x = every_way_out(&t);
    let raw: Vec<String> = decl::table
        .select(decl::payload)
        .load(&mut *t.db.conn().unwrap())
        .unwrap();
    assert!(raw.iter().all(|p| !p.contains(&x.head_id)));
});

both_engines!(declarations_keep_the_audit_log_intact, |t: TestDb| {
    every_way_out(&t);
    assert!(
        audit::verify(&mut t.db.conn().unwrap())
            .unwrap()
            .is_intact()
    );
});

/// A loaded register, then changes one at a time; the scopes to count it in, from the whole
/// region down to grid a, and one of several subtrees.
fn loaded_and_changed(t: &TestDb) -> Vec<Scope> {
    use shiliu_db::registry::{Tally, bulk};
    use shiliu_domain::registry::{Employment, PersonTag};
    let vault = Vault::random();
    let (a, b, far) = t.db.write_blocking(grids).unwrap();
    let v = vault.clone();
    let (a2, b2, far2) = (a.clone(), b.clone(), far.clone());
    t.db.write_blocking(move |c| {
        let sys = Actor::system("test");
        // A loaded register: three grids, several 户籍地, some moved out, some untagged.
        let mut load = Vec::new();
        for i in 0..24 {
            let county = ["450226", "522631", "451022"][i % 3];
            let mut p = person(
                &format!("韦{i}"),
                &number(&format!("{county}1990{:02}150{i:02}", i % 12 + 1)),
                "秀灵路",
                &format!("202{}-{:02}-10", 3 + i % 3, i % 12 + 1),
            );
            if i % 4 == 0 {
                p.employment = None;
                p.tags = vec![PersonTag::parse("hardship").unwrap()];
            }
            load.push(bulk::NewHousehold {
                region: [&a2, &b2, &far2][i % 3],
                address: "秀灵路".into(),
                members: vec![(p, Relation::Head)],
                moved_out: (i % 5 == 0).then(|| day("2026-02-01")),
                agreed: &[ConsentPurpose::Registration],
            });
        }
        let mut tally = Tally::default();
        bulk::load(c, &sys, &v, &load, ConsentChannel::Staff, &mut tally)?;
        tally.journal(c)?;
        // And changes one at a time: a new person, a move between cities with a new job,
        // a move out of the area.
        let p = registry::register(
            c,
            &Can::check(&sys).unwrap(),
            &v,
            &new_here(&person("黄海燕", "", "衡阳路 1 号", "2026-03-03"), a2.id),
        )?
        .person()
        .clone();
        let mut moved = person("黄海燕", "", "柳石路 8 号", "2026-03-03");
        moved.employment = Some(Employment::parse("employed").unwrap());
        moved.tags = Vec::new();
        let p = registry::update(
            c,
            &Can::check(&sys).unwrap(),
            &v,
            &Correction {
                id: p.id,
                version: p.version,
                person: &moved,
                region_id: far2.id,
                moved_on: day("2026-05-01"),
            },
        )?;
        let q = registry::register(
            c,
            &Can::check(&sys).unwrap(),
            &v,
            &new_here(&person("黄小明", "", "衡阳路 2 号", "2025-07-07"), b2.id),
        )?
        .person()
        .clone();
        registry::move_out(
            c,
            &Can::check(&sys).unwrap(),
            q.id,
            q.version,
            day("2026-06-06"),
        )?;
        Ok(p)
    })
    .unwrap();
    t.db.write_blocking(|c| {
        let all = Scope::everything();
        let path = |c: &mut DbConnection, code: &str| -> Result<String, DbError> {
            Ok(org::get_region_by_code(c, &all, code)?.path)
        };
        let (gx, nn, xxt, town, lz) = (
            path(c, "450000")?,
            path(c, "450100")?,
            path(c, "450107")?,
            path(c, "450107001")?,
            path(c, "450202")?,
        );
        Ok(vec![
            all.clone(),
            Scope::subtrees(vec![gx]),
            Scope::subtrees(vec![nn]),
            Scope::subtrees(vec![xxt.clone()]),
            Scope::subtrees(vec![town.clone()]),
            Scope::subtrees(vec![a.path.clone()]),
            // Its community.
            Scope::subtrees(vec![
                a.path[..=a.path[..a.path.len() - 1].rfind('/').unwrap()].to_string(),
            ]),
            Scope::subtrees(vec![xxt, lz, town]),
        ])
    })
    .unwrap()
}

/// In every scope, the figures (from the totals) are the rows counted, and not nothing.
fn check(t: &TestDb, scopes: &[Scope], when: &str) {
    use shiliu_db::registry::stats;
    for scope in scopes {
        let s = scope.clone();
        let (got, rows) =
            t.db.write_blocking(move |c| {
                let (from, to) = (day("2020-01-01"), day("2026-12-31"));
                Ok((
                    stats::figures(c, &s, from, to)?,
                    stats::counted(c, &s, from, to)?,
                ))
            })
            .unwrap();
        assert_eq!(got, rows, "{when}: {scope:?}");
        assert!(rows.residents > 0 || rows.moved_out > 0, "{scope:?}");
    }
}

both_engines!(
    the_figures_from_the_journal_are_the_rows_counted,
    |t: TestDb| {
        let scopes = loaded_and_changed(&t);
        check(&t, &scopes, "from the journal");
    }
);

both_engines!(
    this_years_figures_count_residents_departures_and_households,
    |t: TestDb| {
        loaded_and_changed(&t);
        let everyone = t.db.write_blocking(|c| {
            shiliu_db::registry::stats::figures(
                c,
                &Scope::everything(),
                day("2026-01-01"),
                day("2026-12-31"),
            )
        });
        let everyone = everyone.unwrap();
        assert_eq!(
            (everyone.residents, everyone.moved_out, everyone.households),
            (20, 6, 26)
        );
        assert_eq!(everyone.departures.values().sum::<i64>(), 6);
    }
);

both_engines!(
    the_figures_from_folded_totals_are_the_rows_counted,
    |t: TestDb| {
        use shiliu_db::registry::tallies;
        let scopes = loaded_and_changed(&t);
        while t.db.write_blocking(tallies::fold).unwrap() > 0 {}
        check(&t, &scopes, "folded");
    }
);

both_engines!(
    the_figures_from_rebuilt_totals_are_the_rows_counted,
    |t: TestDb| {
        use shiliu_db::registry::tallies;
        let scopes = loaded_and_changed(&t);
        while t.db.write_blocking(tallies::fold).unwrap() > 0 {}
        t.db.write_blocking(tallies::rebuild).unwrap();
        check(&t, &scopes, "rebuilt");
    }
);

both_engines!(
    a_bulk_load_naming_a_missing_place_people_or_user_writes_nothing,
    |t: TestDb| {
        use shiliu_db::registry::{Tally, bulk};
        let vault = Vault::random();
        let (a, _, _) = t.db.write_blocking(grids).unwrap();
        let postgres = t.engine() == shiliu_db::Engine::Postgres;
        let sys = Actor::system("test");
        let load = |c: &mut DbConnection, actor: &Actor, region: &org::Region, people, n: u8| {
            let id = number(&format!("450226199003150{n:02}"));
            let mut p = person("韦秀英", &id, "秀灵路", "2025-03-01");
            p.people = people;
            let household = bulk::NewHousehold {
                region,
                address: "秀灵路 3 号".into(),
                members: vec![(p, Relation::Head)],
                moved_out: None,
                agreed: &[ConsentPurpose::Registration],
            };
            bulk::load(
                c,
                actor,
                &vault,
                &[household],
                ConsentChannel::Staff,
                &mut Tally::default(),
            )
        };
        let mut nowhere = a.clone();
        nowhere.id = a.id + 1_000_003;
        let stranger = sys.clone().as_user_id(Some(i64::MAX - 7));
        let people = person("韦秀英", "", "秀灵路", "2025-03-01").people;
        for (actor, region, people) in [
            (&sys, &nowhere, people),
            (&sys, &a, "00"),
            (&stranger, &a, people),
        ] {
            let err =
                t.db.write_blocking(|c| load(c, actor, region, people, 1))
                    .unwrap_err();
            // engine-specific: PostgreSQL's loader checks the references itself (the per-row
            // checks off) where the connection may, as the test database's user may.
            assert_eq!(refused_by_loader(&err), Some(postgres), "{err:?}");
        }
        let count = |c: &mut DbConnection| Ok(persons::table.count().get_result::<i64>(c)?);
        assert_eq!(t.db.write_blocking(count).unwrap(), 0);
        // After a load, the transaction checks each row again: a stray residence is refused
        // (and takes the load with it).
        let err =
            t.db.write_blocking(|c| {
                load(c, &sys, &a, people, 1)?;
                diesel::sql_query(stray_residence(nowhere.id)).execute(c)?;
                Ok(())
            })
            .unwrap_err();
        assert_eq!(refused_by_loader(&err), Some(false), "{err:?}");
        assert_eq!(t.db.write_blocking(count).unwrap(), 0);
        t.db.write_blocking(|c| load(c, &sys, &a, people, 1))
            .unwrap();
        assert_eq!(t.db.write_blocking(count).unwrap(), 1);
        if postgres {
            // A connection that may not turn the per-row checks off: the loader's checks refuse
            // as before, and a good load is written (with the per-row checks on).
            t.db.write_blocking(|c| {
                diesel::sql_query(
                    "DO $$ BEGIN CREATE ROLE shiliu_plain NOLOGIN; \
                     EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
                )
                .execute(c)?;
                diesel::sql_query("GRANT ALL ON ALL TABLES IN SCHEMA public TO shiliu_plain")
                    .execute(c)?;
                Ok(())
            })
            .unwrap();
            let plain = |c: &mut DbConnection| -> Result<(), DbError> {
                diesel::sql_query("SET LOCAL ROLE shiliu_plain").execute(c)?;
                Ok(())
            };
            let err =
                t.db.write_blocking(|c| {
                    plain(c)?;
                    load(c, &sys, &nowhere, people, 2)
                })
                .unwrap_err();
            assert_eq!(refused_by_loader(&err), Some(true), "{err:?}");
            t.db.write_blocking(|c| {
                plain(c)?;
                load(c, &sys, &a, people, 2)
            })
            .unwrap();
            assert_eq!(t.db.write_blocking(count).unwrap(), 2);
        }
        assert!(
            audit::verify(&mut t.db.conn().unwrap())
                .unwrap()
                .is_intact()
        );
    }
);

/// A residence of nobody, somewhere that is not.
fn stray_residence(region: i64) -> String {
    format!(
        "INSERT INTO residences (id, person_id, region_id, region_path, address, from_date, \
         created_at) VALUES (1, 1, {region}, '/', '-', '2025-01-01', '2025-01-01 00:00:00')"
    )
}

/// For a reference to nothing refused: whether the bulk loader refused it (rather than the
/// database's own check); None for any other error.
fn refused_by_loader(err: &DbError) -> Option<bool> {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        DbError::Query(Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info)) => {
            Some(info.message().contains("do not exist"))
        }
        _ => None,
    }
}

/// A number held in 南宁 (grid a), and staff of 南宁 and of 柳州 (`far`).
struct Held {
    vault: Vault,
    a: org::Region,
    far: org::Region,
    nn: Actor,
    lz: Actor,
    number: String,
    person: registry::Person,
}

fn held_in_nanning(t: &TestDb) -> Held {
    let vault = Vault::random();
    let (a, _, far) = t.db.write_blocking(grids).unwrap();
    let staff =
        |r: &org::Region| Actor::system_within("staff", Scope::subtrees(vec![r.path.clone()]));
    let (nn, lz) = (staff(&a), staff(&far));
    let held_number = number("52263319950304202");
    let held = {
        let (v, nn, p) = (
            vault.clone(),
            nn.clone(),
            person("韦小红", &held_number, "衡阳路 12 号", "2024-03-01"),
        );
        let a = a.id;
        t.db.write_blocking(move |c| {
            registry::register(c, &Can::check(&nn).unwrap(), &v, &new_here(&p, a))
        })
        .unwrap()
        .person()
        .clone()
    };
    Held {
        vault,
        a,
        far,
        nn,
        lz,
        number: held_number,
        person: held,
    }
}

/// 柳州's staff register someone with the held number.
fn register_in_liuzhou(t: &TestDb, x: &Held, on_duplicate: OnDuplicate) -> DbError {
    let (v, lz, far) = (x.vault.clone(), x.lz.clone(), x.far.id);
    let mut p = person("冒名者", &x.number, "柳州某路 1 号", "2026-01-01");
    p.mobile = shiliu_domain::mobile::Mobile::parse("13900000000").ok();
    t.db.write_blocking(move |c| {
        registry::register(
            c,
            &Can::check(&lz).unwrap(),
            &v,
            &Registration {
                on_duplicate,
                ..new_here(&p, far)
            },
        )
    })
    .unwrap_err()
}

/// 柳州's staff register a resident of theirs, then correct their number to the held one.
fn correct_in_liuzhou(t: &TestDb, x: &Held) -> DbError {
    let far = x.far.id;
    let other = {
        let (v, lz) = (x.vault.clone(), x.lz.clone());
        let p = person(
            "柳州居民",
            &number("45020219800101001"),
            "柳州某路 2 号",
            "2025-01-01",
        );
        t.db.write_blocking(move |c| {
            registry::register(c, &Can::check(&lz).unwrap(), &v, &new_here(&p, far))
        })
        .unwrap()
        .person()
        .clone()
    };
    let (v, lz) = (x.vault.clone(), x.lz.clone());
    let p = person("柳州居民", &x.number, "柳州某路 2 号", "2025-01-01");
    let (id, version) = (other.id, other.version);
    t.db.write_blocking(move |c| {
        registry::update(
            c,
            &Can::check(&lz).unwrap(),
            &v,
            &Correction {
                id,
                version,
                person: &p,
                region_id: far,
                moved_on: day("2026-01-01"),
            },
        )
    })
    .unwrap_err()
}

/// 南宁's staff register the holder a second time.
fn register_again_in_nanning(t: &TestDb, x: &Held) -> DbError {
    let (v, nn, a) = (x.vault.clone(), x.nn.clone(), x.a.id);
    let p = person("韦小红", &x.number, "衡阳路 12 号", "2024-03-01");
    t.db.write_blocking(move |c| {
        registry::register(c, &Can::check(&nn).unwrap(), &v, &new_here(&p, a))
    })
    .unwrap_err()
}

/// Someone declares themselves in 柳州, anonymously, with the held number.
fn declared_in_liuzhou(t: &TestDb, x: &Held) -> Declaration {
    let resident = Actor::resident("test", "local");
    let (v, far) = (x.vault.clone(), x.far.id);
    let p = person("冒名者", &x.number, "柳州某路 3 号", "2026-01-01");
    t.db.write_blocking(move |c| {
        declarations::declare(
            c,
            &resident,
            &v,
            far,
            &[(p, Relation::Head)],
            &[ConsentPurpose::Registration],
        )
    })
    .unwrap()
}

/// 柳州's staff confirm that declaration.
fn confirm_in_liuzhou(t: &TestDb, x: &Held, d: &Declaration) -> DbError {
    let forms = forms_of(d);
    let (v, lz, far, id, version) = (x.vault.clone(), x.lz.clone(), x.far.id, d.id, d.version);
    t.db.write_blocking(move |c| {
        declarations::confirm(c, &Can::check(&lz).unwrap(), &v, id, version, far, &forms)
    })
    .unwrap_err()
}

fn registered_elsewhere(e: &DbError, field: &str) {
    assert_eq!(
        field_of(e),
        (field.into(), "err.person.registered_elsewhere")
    );
}

both_engines!(
    another_city_registering_a_held_number_is_refused_naming_no_one,
    |t: TestDb| {
        // Another city registers the same number, with "update on duplicate" and without: refused
        // alike, naming neither the person nor the place.
        let x = held_in_nanning(&t);
        for on_duplicate in [OnDuplicate::Update, OnDuplicate::Refuse] {
            let e = register_in_liuzhou(&t, &x, on_duplicate);
            registered_elsewhere(&e, "id_number");
            let DbError::Invalid(errs) = &e else {
                unreachable!()
            };
            assert!(errs.0[0].args.is_empty(), "no person id: {errs:?}");
        }
    }
);

both_engines!(
    another_city_correcting_to_a_held_number_is_refused,
    |t: TestDb| {
        // A correction to that number from the other city: refused the same way.
        let x = held_in_nanning(&t);
        registered_elsewhere(&correct_in_liuzhou(&t, &x), "id_number");
    }
);

both_engines!(
    in_the_holding_city_a_second_registration_is_a_duplicate,
    |t: TestDb| {
        // In the holding city, a second registration is named for what it is.
        let x = held_in_nanning(&t);
        let e = register_again_in_nanning(&t, &x);
        assert_eq!(field_of(&e), ("id_number".into(), "err.person.duplicate"));
    }
);

both_engines!(
    a_declaration_of_a_held_number_elsewhere_is_flagged_for_its_reviewer,
    |t: TestDb| {
        use shiliu_db::registry::OnRegister;
        let x = held_in_nanning(&t);
        let d = declared_in_liuzhou(&t, &x);
        let (lz, nn) = (x.lz.clone(), x.nn.clone());
        let (flags, here) =
            t.db.write_blocking(move |c| {
                Ok((
                    declarations::registered(c, &lz, &d)?,
                    declarations::registered(c, &nn, &d)?,
                ))
            })
            .unwrap();
        assert_eq!(flags, [OnRegister::Elsewhere]);
        assert_eq!(here, [OnRegister::Here(x.person.id)]);
    }
);

both_engines!(
    confirming_a_declaration_of_a_held_number_elsewhere_is_refused,
    |t: TestDb| {
        // An anonymous declaration in the other city with the number: confirming it is refused
        // under that person.
        let x = held_in_nanning(&t);
        let d = declared_in_liuzhou(&t, &x);
        registered_elsewhere(&confirm_in_liuzhou(&t, &x, &d), "p0.id_number");
    }
);

/// Every refusal above, one after another.
fn every_refusal(t: &TestDb, x: &Held) {
    register_in_liuzhou(t, x, OnDuplicate::Update);
    register_in_liuzhou(t, x, OnDuplicate::Refuse);
    correct_in_liuzhou(t, x);
    register_again_in_nanning(t, x);
    let d = declared_in_liuzhou(t, x);
    confirm_in_liuzhou(t, x, &d);
}

both_engines!(
    after_the_refusals_the_holding_citys_record_is_as_it_was,
    |t: TestDb| {
        let x = held_in_nanning(&t);
        every_refusal(&t, &x);
        let (nn, id) = (x.nn.clone(), x.person.id);
        let now =
            t.db.write_blocking(move |c| registry::get(c, nn.scope(), id))
                .unwrap();
        let held = &x.person;
        assert_eq!(
            (
                now.name.as_str(),
                now.region_id,
                now.mobile.clone(),
                now.version
            ),
            (
                held.name.as_str(),
                held.region_id,
                held.mobile.clone(),
                held.version
            )
        );
    }
);

both_engines!(the_refusals_write_nothing, |t: TestDb| {
    // The refusals wrote nothing: two people registered (the holder, and 柳州's own
    // resident), no one updated.
    let x = held_in_nanning(&t);
    every_refusal(&t, &x);
    let actions: Vec<String> =
        t.db.write_blocking(|c| audit::list(c, &audit::AuditFilter::default(), 1000))
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "person.register").count(),
        2
    );
    assert!(!actions.iter().any(|a| a == "person.update"), "{actions:?}");
});
