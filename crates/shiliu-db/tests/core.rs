//! Scoping, audit chain and organisation rules, on both engines.

use diesel::prelude::*;
use shiliu_db::accounts::{self, NewUser};
use shiliu_db::audit;
use shiliu_db::org::{self, ListFilter};
use shiliu_db::schema::{audit_log, sessions};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbError, both_engines};
use shiliu_domain::accounts::Username;
use shiliu_domain::org::{RegionInput, SiteInput, UnitInput};
use shiliu_domain::roles::Role;

/// An account of `role` in 南宁市, made by the system.
fn nanning_user(
    c: &mut shiliu_db::DbConnection,
    username: &str,
    display_name: &str,
    role: Role,
) -> Result<accounts::User, DbError> {
    let nn = org::get_region_by_code(c, &Scope::everything(), "450100")?;
    accounts::create_user(
        c,
        &shiliu_db::scope::Can::check(&Actor::system("test")).unwrap(),
        &NewUser {
            username: Username::parse(username).unwrap(),
            display_name: display_name.to_string(),
            password_hash: "x".into(),
            role,
            region_id: nn.id,
            unit_id: None,
            site_id: None,
            phone: None,
            grid_ids: vec![],
        },
    )
}

fn site(name: &str) -> SiteInput {
    SiteInput::parse(name, "minzu_home", "", "", "", "").unwrap()
}

both_engines!(reference_data_is_loaded, |t: TestDb| {
    let mut c = t.db.conn().unwrap();
    let all = Scope::everything();
    let gx = org::get_region_by_code(&mut c, &all, "450000").unwrap();
    assert_eq!(gx.name, "广西壮族自治区");
    let cities = org::children(&mut c, &all, gx.id, false).unwrap();
    assert_eq!(cities.len(), 14);
    let counts = org::counts(&mut c, &all).unwrap();
    assert_eq!((counts.cities, counts.counties), (14, 111));
    assert!(counts.townships > 1200);
    let peoples: i64 = shiliu_db::schema::peoples::table
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(peoples, 56);
    drop(c);
    // A second migrate changes nothing.
    t.db.migrate().unwrap();
    let mut c = t.db.conn().unwrap();
    assert_eq!(
        org::counts(&mut c, &all).unwrap().townships,
        counts.townships
    );
});

/// Nanning with a site of its own and one in a grid made under a township of 西乡塘区, and
/// Liuzhou with a site of its own.
struct TwoCities {
    nanning: org::Region,
    liuzhou: org::Region,
    grid: org::Region,
}

fn sites_in_two_cities(t: &TestDb) -> TwoCities {
    let sys = Actor::system("test");
    t.db.write_blocking(|c| {
        let all = Scope::everything();
        let nn = org::get_region_by_code(c, &all, "450100")?;
        let lz = org::get_region_by_code(c, &all, "450200")?;
        let town = org::get_region_by_code(c, &all, "450107001")?;
        org::create_site(c, &sys, nn.id, &site("南宁民族之家"))?;
        org::create_site(c, &sys, lz.id, &site("柳州民族之家"))?;
        let comm = org::create_child_region(
            c,
            &sys,
            town.id,
            &RegionInput::parse("万秀社区", "").unwrap(),
        )?;
        let g = org::create_child_region(
            c,
            &sys,
            comm.id,
            &RegionInput::parse("第一网格", "").unwrap(),
        )?;
        org::create_site(c, &sys, g.id, &site("一网格服务点"))?;
        Ok(TwoCities {
            nanning: nn,
            liuzhou: lz,
            grid: g,
        })
    })
    .unwrap()
}

fn site_names(c: &mut shiliu_db::DbConnection, s: &Scope) -> Vec<String> {
    org::list_sites(c, s, &ListFilter::default(), 100)
        .unwrap()
        .into_iter()
        .map(|n| n.item.name)
        .collect()
}

fn subtree(region: &org::Region) -> Scope {
    Scope::subtrees(vec![region.path.clone()])
}

both_engines!(a_citys_scope_lists_its_own_sites_only, |t: TestDb| {
    let w = sites_in_two_cities(&t);
    let mut c = t.db.conn().unwrap();
    let nn_sites = site_names(&mut c, &subtree(&w.nanning));
    assert_eq!(nn_sites.len(), 2);
    assert!(nn_sites.iter().all(|n| n != "柳州民族之家"));
    assert_eq!(site_names(&mut c, &subtree(&w.liuzhou)), ["柳州民族之家"]);
});

both_engines!(a_grids_scope_lists_its_own_site_only, |t: TestDb| {
    let w = sites_in_two_cities(&t);
    let mut c = t.db.conn().unwrap();
    assert_eq!(site_names(&mut c, &subtree(&w.grid)), ["一网格服务点"]);
});

both_engines!(
    a_get_outside_the_scope_looks_exactly_like_a_missing_row,
    |t: TestDb| {
        let w = sites_in_two_cities(&t);
        let mut c = t.db.conn().unwrap();
        let (nn_scope, lz_scope) = (subtree(&w.nanning), subtree(&w.liuzhou));
        let lz_site = org::list_sites(&mut c, &lz_scope, &ListFilter::default(), 1)
            .unwrap()
            .remove(0)
            .item;
        assert!(matches!(
            org::get_site(&mut c, &nn_scope, lz_site.id),
            Err(DbError::NotFound)
        ));
        assert!(matches!(
            org::get_region(&mut c, &nn_scope, w.liuzhou.id),
            Err(DbError::NotFound)
        ));
        assert!(org::get_region(&mut c, &lz_scope, w.liuzhou.id).is_ok());
    }
);

both_engines!(
    a_write_through_an_actor_of_another_scope_is_refused,
    |t: TestDb| {
        let w = sites_in_two_cities(&t);
        // Writes through an actor of another scope are refused the same way.
        let lz_actor = Actor::system_within("lz", subtree(&w.liuzhou));
        let e =
            t.db.write_blocking(|c| org::create_site(c, &lz_actor, w.nanning.id, &site("越界")))
                .unwrap_err();
        assert!(matches!(e, DbError::Invalid(_)));
    }
);

/// A site created then renamed: two audited writes after the reference data's.
fn renamed_site(t: &TestDb) -> org::Site {
    let sys = Actor::system("test");
    t.db.write_blocking(|c| {
        let nn = org::get_region_by_code(c, &Scope::everything(), "450100")?;
        let s = org::create_site(c, &sys, nn.id, &site("民族之家"))?;
        org::update_site(c, &sys, s.id, s.version, nn.id, &site("北湖民族之家"))
    })
    .unwrap()
}

/// The audit rows about sites, newest first.
fn site_audit_rows(c: &mut shiliu_db::DbConnection) -> Vec<audit::AuditRow> {
    audit::list(
        c,
        &audit::AuditFilter {
            entity: Some("site".into()),
            ..Default::default()
        },
        10,
    )
    .unwrap()
}

both_engines!(writes_are_audited_in_an_intact_chain, |t: TestDb| {
    let s = renamed_site(&t);
    let mut c = t.db.conn().unwrap();
    let report = audit::verify(&mut c).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert!(report.rows >= 3, "refdata sync, create, update");
    let rows = site_audit_rows(&mut c);
    assert_eq!(
        rows.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        ["site.update", "site.create"]
    );
    assert!(rows[0].before_digest.is_some() && rows[0].after_digest.is_some());
    assert_eq!(
        rows[0].entity_id.as_deref(),
        Some(s.id.to_string().as_str())
    );
});

both_engines!(
    an_audit_row_edited_behind_the_applications_back_is_found,
    |t: TestDb| {
        renamed_site(&t);
        let mut c = t.db.conn().unwrap();
        let rows = site_audit_rows(&mut c);
        // Edit a row behind the application's back.
        diesel::update(audit_log::table.filter(audit_log::seq.eq(rows[1].seq)))
            .set(audit_log::actor.eq("someone-else"))
            .execute(&mut c)
            .unwrap();
        let report = audit::verify(&mut c).unwrap();
        assert_eq!(report.altered, vec![rows[1].seq]);
    }
);

both_engines!(the_newest_audit_row_deleted_is_found, |t: TestDb| {
    renamed_site(&t);
    let mut c = t.db.conn().unwrap();
    let rows = site_audit_rows(&mut c);
    // Delete the newest row.
    diesel::delete(audit_log::table.filter(audit_log::seq.eq(rows[0].seq)))
        .execute(&mut c)
        .unwrap();
    let report = audit::verify(&mut c).unwrap();
    assert!(report.head_mismatch.is_some());
});

both_engines!(the_audit_log_is_several_chains_each_checked, |t: TestDb| {
    // Requests spread over the chains; removing a row from the middle of one is found.
    let nn =
        t.db.write_blocking(|c| org::get_region_by_code(c, &Scope::everything(), "450100"))
            .unwrap();
    for i in 0..40 {
        let actor = Actor::system("test").in_request(&format!("req-{i}"));
        t.db.write_blocking(|c| org::create_site(c, &actor, nn.id, &site(&format!("站点{i}"))))
            .unwrap();
    }
    let mut c = t.db.conn().unwrap();
    let report = audit::verify(&mut c).unwrap();
    assert!(report.is_intact(), "{report:?}");
    let rows = audit::list(&mut c, &audit::AuditFilter::default(), 100).unwrap();
    let chains: std::collections::BTreeSet<i32> = rows.iter().map(|r| r.chain).collect();
    assert!(chains.len() >= 8, "40 requests over 16 chains: {chains:?}");
    // In each chain the links count up from 1 and each names the one before.
    let middle = rows
        .iter()
        .filter(|r| r.link > 1)
        .find(|r| {
            rows.iter()
                .any(|o| o.chain == r.chain && o.link == r.link + 1)
        })
        .expect("a row in the middle of a chain")
        .clone();
    diesel::delete(audit_log::table.filter(audit_log::seq.eq(middle.seq)))
        .execute(&mut c)
        .unwrap();
    let report = audit::verify(&mut c).unwrap();
    assert_eq!(report.missing, [(middle.chain, middle.link)]);
    assert!(
        report.head_mismatch.is_none(),
        "the newest rows are still there"
    );
});

both_engines!(a_failed_write_leaves_nothing, |t: TestDb| {
    let sys = Actor::system("test");
    let before = t.read_blocking_count();
    let r: Result<(), DbError> = t.db.write_blocking(|c| {
        let nn = org::get_region_by_code(c, &Scope::everything(), "450100")?;
        org::create_unit(
            c,
            &sys,
            nn.id,
            &UnitInput::parse("市民宗委", "department", "", "").unwrap(),
        )?;
        // The second step fails: the unit and its audit row must go too.
        org::create_unit(
            c,
            &sys,
            -1,
            &UnitInput::parse("不存在", "department", "", "").unwrap(),
        )?;
        Ok(())
    });
    assert!(r.is_err());
    assert_eq!(t.read_blocking_count(), before);
});

both_engines!(stale_versions_are_refused, |t: TestDb| {
    let sys = Actor::system("test");
    let r = t.db.write_blocking(|c| {
        let nn = org::get_region_by_code(c, &Scope::everything(), "450100")?;
        let s = org::create_site(c, &sys, nn.id, &site("甲"))?;
        org::update_site(c, &sys, s.id, s.version, nn.id, &site("乙"))?;
        org::update_site(c, &sys, s.id, s.version, nn.id, &site("丙"))
    });
    assert!(matches!(r, Err(DbError::Stale)));
});

both_engines!(lockout_after_repeated_failures, |t: TestDb| {
    let sys = Actor::system("test");
    let user =
        t.db.write_blocking(|c| nanning_user(c, "staff1", "工作人员", Role::CommissionStaff))
            .unwrap();
    let policy = accounts::LockoutPolicy {
        max_failures: 3,
        lock_for: chrono::Duration::minutes(15),
    };
    let mut locked = Vec::new();
    for _ in 0..3 {
        let u =
            t.db.write_blocking(|c| Ok(accounts::find_by_username(c, "staff1")?.unwrap()))
                .unwrap();
        locked.push(
            t.db.write_blocking(|c| accounts::login_failed(c, &sys, &u, policy))
                .unwrap(),
        );
    }
    assert_eq!(locked, [false, false, true]);
    let u =
        t.db.write_blocking(|c| Ok(accounts::find_by_username(c, "staff1")?.unwrap()))
            .unwrap();
    assert!(u.is_locked(shiliu_db::now()));
    assert_eq!(u.id, user.id);
});

both_engines!(expired_sessions_are_refused_and_purged, |t: TestDb| {
    let sys = Actor::system("test");
    let u =
        t.db.write_blocking(|c| {
            let u = nanning_user(c, "sess", "会话", Role::Leader)?;
            accounts::login_succeeded(c, &sys, &u, "fresh", "csrf", "ua")?;
            accounts::login_succeeded(c, &sys, &u, "stale", "csrf", "ua")?;
            Ok(u)
        })
        .unwrap();
    let mut c = t.db.conn().unwrap();
    diesel::update(sessions::table.filter(sessions::id.eq("stale")))
        .set(sessions::last_seen_at.eq(shiliu_db::now() - chrono::Duration::hours(2)))
        .execute(&mut c)
        .unwrap();
    let (idle, absolute) = (chrono::Duration::minutes(30), chrono::Duration::hours(12));
    assert!(
        accounts::load_session(&mut c, "stale", idle, absolute)
            .unwrap()
            .is_none()
    );
    assert_eq!(
        accounts::load_session(&mut c, "fresh", idle, absolute)
            .unwrap()
            .unwrap()
            .1
            .user()
            .id,
        u.id
    );
    diesel::update(sessions::table.filter(sessions::id.eq("fresh")))
        .set(sessions::created_at.eq(shiliu_db::now() - chrono::Duration::hours(13)))
        .execute(&mut c)
        .unwrap();
    assert_eq!(
        accounts::purge_sessions(&mut c, idle, absolute).unwrap(),
        2,
        "the idle time-out (refused, not deleted, by the read) and the absolute one"
    );
    let left: i64 = sessions::table.count().get_result(&mut c).unwrap();
    assert_eq!(left, 0);
});

both_engines!(
    a_write_that_reads_first_waits_for_another_connections_write,
    |t: TestDb| {
        // Another connection (another process, say) holds the write lock for a moment…
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let other = t.db.conn().unwrap();
        let holder = std::thread::spawn(move || {
            let mut other = other;
            other
                .transaction::<_, DbError, _>(|c| {
                    // A real change (an update that changes nothing writes nothing).
                diesel::sql_query("INSERT INTO calendar_days (day, kind, note) VALUES ('2031-01-02', 'holiday', '')")
                        .execute(c)?;
                    locked_tx.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    Ok(())
                })
                .unwrap();
        });
        locked_rx.recv().unwrap();
        // …while a write reads, and writes after the other has committed. It waits its turn
        // instead of being refused because what it read is no longer the latest.
        t.db.write_blocking(|c| {
            let regions: i64 = shiliu_db::schema::regions::table.count().get_result(c)?;
            assert!(regions > 0);
            std::thread::sleep(std::time::Duration::from_millis(500));
            diesel::sql_query(
                "INSERT INTO calendar_days (day, kind, note) VALUES ('2031-01-03', 'holiday', '')",
            )
            .execute(c)?;
            Ok(())
        })
        .unwrap();
        holder.join().unwrap();
    }
);

both_engines!(
    a_row_another_writer_inserted_first_is_a_conflict,
    |t: TestDb| {
        use shiliu_db::schema::registry_imports;
        // What two writers doing the same thing at once meet (two first answers to a survey,
        // the same file imported from two tabs): the second insert of a unique key. It is a
        // 409 "changed by someone else", not a server error.
        let insert = |c: &mut shiliu_db::DbConnection, id: i64| -> Result<usize, DbError> {
            Ok(diesel::insert_into(registry_imports::table)
                .values((
                    registry_imports::id.eq(id),
                    registry_imports::sha256.eq("ab"),
                    registry_imports::people.eq(1),
                    registry_imports::households.eq(1),
                    registry_imports::skipped.eq(0),
                    registry_imports::imported_at.eq(shiliu_db::now()),
                ))
                .execute(c)?)
        };
        t.db.write_blocking(move |c| insert(c, 1)).unwrap();
        let second = t.db.write_blocking(move |c| insert(c, 2)).unwrap_err();
        assert!(matches!(second, DbError::Stale), "{second:?}");
    }
);

both_engines!(server_settings_that_hurt_are_named, |t: TestDb| {
    #[derive(diesel::QueryableByName)]
    struct On {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        on: bool,
    }
    let warnings = t.db.setting_warnings().unwrap();
    match t.db.engine() {
        shiliu_db::Engine::Sqlite => assert!(warnings.is_empty()),
        shiliu_db::Engine::Postgres => {
            // The test server's own setting, read another way.
            let mut c = t.db.conn().unwrap();
            let shiliu_db::DbConnection::Postgres(pg) = &mut *c else {
                unreachable!()
            };
            let mut on = |sql: &str| -> bool {
                diesel::RunQueryDsl::get_result::<On>(diesel::sql_query(sql), pg)
                    .unwrap()
                    .on
            };
            let autovacuum = on("SELECT setting = 'on' AS on FROM pg_settings \
                 WHERE name = 'autovacuum'");
            // The test database's user is a superuser, and may set anything.
            let superuser = on("SELECT rolsuper AS on FROM pg_roles WHERE rolname = current_user");
            assert_eq!(
                warnings.len(),
                usize::from(!autovacuum) + usize::from(!superuser),
                "{warnings:?}"
            );
            assert_eq!(
                warnings.iter().any(|w| w.contains("autovacuum")),
                !autovacuum
            );
            assert_eq!(
                warnings
                    .iter()
                    .any(|w| w.contains("session_replication_role") && !w.contains("<user>")),
                !superuser
            );
            let settings = t.db.server_settings().unwrap();
            let user = settings.iter().find(|(n, _)| n == "user").unwrap();
            assert!(!user.1.is_empty());
            assert!(settings.contains(&(
                shiliu_db::MAY_SET_REPLICATION_ROLE.to_string(),
                if superuser { "on" } else { "off" }.to_string()
            )));
        }
    }
});

/// `PostgreSQL` only: `SQLite` has no server to lose. Connections are not tested on checkout, so
/// one the server closed must be dropped when it comes back from the use that found it closed,
/// never handed out again (the pool hands out the connection returned last first).
#[test]
fn a_connection_the_server_closed_is_not_pooled_again() {
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let pid = |c: &mut shiliu_db::DbConnection| {
        diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result::<Pid>(c)
    };
    let t = TestDb::new(shiliu_db::Engine::Postgres);
    let mut c = t.db.conn().unwrap();
    let closed = pid(&mut c).unwrap().pid;
    let mut other = t.db.conn().unwrap();
    diesel::sql_query("SELECT pg_terminate_backend($1)")
        .bind::<diesel::sql_types::Integer, _>(closed)
        .execute(&mut *other)
        .unwrap();
    // Wait until the backend has gone.
    while diesel::sql_query("SELECT pid FROM pg_stat_activity WHERE pid = $1")
        .bind::<diesel::sql_types::Integer, _>(closed)
        .load::<Pid>(&mut *other)
        .unwrap()
        .len()
        == 1
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    drop(other);
    assert!(pid(&mut c).is_err(), "the terminated connection fails");
    drop(c);
    for _ in 0..3 {
        let mut c = t.db.conn().unwrap();
        assert_ne!(pid(&mut c).unwrap().pid, closed);
    }
}

both_engines!(
    a_search_takes_percent_underscore_and_backslash_as_written_and_ignores_case,
    |t: TestDb| {
        let names = [
            "A_B 组",
            "axb 组",
            "完成100%",
            "完成100",
            r"路径\甲",
            "路径甲",
        ];
        let found = |q: &str| -> Vec<String> {
            let f = ListFilter {
                text: Some(q.to_string()),
                ..ListFilter::default()
            };
            let mut v: Vec<String> =
                t.db.write_blocking(|c| accounts::list_users(c, &Scope::everything(), &f, 100))
                    .unwrap()
                    .into_iter()
                    .map(|(u, _)| u.display_name)
                    .filter(|n| names.contains(&n.as_str()))
                    .collect();
            v.sort();
            v
        };
        t.db.write_blocking(|c| {
            for (i, name) in names.iter().enumerate() {
                nanning_user(c, &format!("like{i}"), name, Role::Leader)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(found("a_b"), ["A_B 组"]);
        assert_eq!(found("AXB"), ["axb 组"]);
        assert_eq!(found("100%"), ["完成100%"]);
        assert_eq!(found(r"\"), [r"路径\甲"]);
        assert_eq!(found("_"), ["A_B 组"]);
    }
);
