//! Disputes and legal-aid cases opened from requests: records, outcomes, scope, history and
//! audit — on both engines.

use shiliu_db::accounts::{self, NewUser};
use shiliu_db::casework;
use shiliu_db::org;
use shiliu_db::requests;
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbConnection, DbError, audit, both_engines};
use shiliu_domain::accounts::Username;
use shiliu_domain::casework::{
    ConsultationInput, DisputeInput, DisputeOutcomeInput, LegalAidInput, MediatorInput, PartyInput,
    SessionInput,
};
use shiliu_domain::org::RegionInput;
use shiliu_domain::requests::{Channel, RequestInput};
use shiliu_domain::roles::Role;

/// A user's actor, as the web layer makes it after sign-in.
fn acting(c: &mut shiliu_db::DbConnection, username: &str) -> Actor {
    let user = accounts::find_by_username(c, username).unwrap().unwrap();
    accounts::acting_as(c, &user, "test").unwrap()
}

fn invalid_field(e: &DbError) -> String {
    match e {
        DbError::Invalid(errs) => errs.0[0].field.clone(),
        other => panic!("expected a field error, got {other:?}"),
    }
}

/// A request in a new community of 西乡塘区 about unpaid wages, and three lawyers: two of 南宁
/// (`lawyer_nn`, `lawyer_nn2`) and one of 柳州 (`lawyer_lz`, `other_city`).
struct Setup {
    sys: Actor,
    today: chrono::NaiveDate,
    day: String,
    request: requests::Request,
    other_city: Actor,
}

fn unpaid_wages(t: &TestDb) -> Setup {
    let sys = Actor::system("test");
    let today = shiliu_domain::calendar::local(shiliu_db::now()).date();
    let day = today.format("%Y-%m-%d").to_string();
    let (request, other_city) =
        t.db.write_blocking(|c| {
            let all = Scope::everything();
            let town = org::get_region_by_code(c, &all, "450107001")?;
            let comm = org::create_child_region(
                c,
                &sys,
                town.id,
                &RegionInput::parse("调解社区", "").unwrap(),
            )?;
            let cat = requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == "disputes")
                .unwrap();
            let input = RequestInput::parse(
                Channel::WalkIn,
                "工地老板拖欠三个月工资",
                "西乡塘区",
                "潘先生",
                "13812345678",
                true,
            )
            .unwrap();
            let r = requests::create(c, &sys, &input, cat.id, comm.id, None)?;
            let nn = org::get_region_by_code(c, &all, "450100")?;
            let lz = org::get_region_by_code(c, &all, "450200")?;
            for (name, region) in [
                ("lawyer_nn", nn.id),
                ("lawyer_nn2", nn.id),
                ("lawyer_lz", lz.id),
            ] {
                accounts::create_user(
                    c,
                    &shiliu_db::scope::Can::check(&sys).unwrap(),
                    &NewUser {
                        username: Username::parse(name).unwrap(),
                        display_name: format!("{name}律师"),
                        password_hash: "x".into(),
                        role: Role::LegalAid,
                        region_id: region,
                        unit_id: None,
                        site_id: None,
                        phone: None,
                        grid_ids: vec![],
                    },
                )?;
            }
            Ok((r, acting(c, "lawyer_lz")))
        })
        .unwrap();
    Setup {
        sys,
        today,
        day,
        request,
        other_city,
    }
}

/// The dispute opened from the request, as the web layer does.
fn open_dispute(c: &mut DbConnection, x: &Setup) -> Result<casework::Dispute, DbError> {
    let input = DisputeInput::parse("labour", "欠薪纠纷").unwrap();
    casework::open_dispute(c, &x.sys, x.request.id, &input)
}

/// The dispute: parties, two mediators (one with an account, `lawyer_nn2`), a session held.
fn mediated(t: &TestDb, x: &Setup) -> casework::Dispute {
    let sys = &x.sys;
    t.db.write_blocking(|c| {
        let d = open_dispute(c, x)?;
        let party = |role, name, people, phone| PartyInput::parse(role, name, people, phone);
        let applicant = party("applicant", "潘某", "壮族", "13812345678").unwrap();
        casework::add_party(c, sys, d.id, &applicant)?;
        let respondent = party("respondent", "某建筑公司", "", "").unwrap();
        casework::add_party(c, sys, d.id, &respondent)?;
        let mediator = MediatorInput::parse("韦调解员", "西乡塘区司法局", "").unwrap();
        casework::add_mediator(c, sys, d.id, &mediator)?;
        let mediator = MediatorInput::parse("", "南宁市律师协会", "lawyer_nn2").unwrap();
        casework::add_mediator(c, sys, d.id, &mediator)?;
        let session = SessionInput::parse(&x.day, "联合调解室", "双方同意分两期支付", x.today);
        casework::add_session(c, sys, d.id, &session.unwrap())?;
        casework::dispute(c, sys, d.id)
    })
    .unwrap()
}

fn close(
    t: &TestDb,
    x: &Setup,
    d: &casework::Dispute,
    version: i32,
) -> Result<casework::Dispute, DbError> {
    let outcome = DisputeOutcomeInput::parse("success", "公司于月底前付清欠薪").unwrap();
    t.db.write_blocking(|c| casework::close_dispute(c, &x.sys, d.id, version, &outcome))
}

/// A legal-aid case for `lawyer_nn`: one consultation of 40 minutes, then closed.
fn advised(t: &TestDb, x: &Setup) -> casework::LegalAidCase {
    let sys = &x.sys;
    t.db.write_blocking(|c| {
        let k = casework::open_legal_aid(
            c,
            sys,
            x.request.id,
            &LegalAidInput::parse("lawyer_nn", "追索劳动报酬").unwrap(),
        )?;
        casework::add_consultation(
            c,
            sys,
            k.id,
            &ConsultationInput::parse(
                &x.day,
                "in_person",
                "欠薪如何追讨",
                "先申请劳动仲裁",
                "40",
                x.today,
            )
            .unwrap(),
        )?;
        casework::close_case(c, sys, k.id, k.version, "已协助申请仲裁并胜诉")
    })
    .unwrap()
}

/// The dispute mediated and settled, and the legal-aid case closed.
struct Done {
    x: Setup,
    closed: casework::Dispute,
    case: casework::LegalAidCase,
}

fn both_closed(t: &TestDb) -> Done {
    let x = unpaid_wages(t);
    let d = mediated(t, &x);
    let closed = close(t, &x, &d, d.version).unwrap();
    let case = advised(t, &x);
    Done { x, closed, case }
}

both_engines!(a_mediator_with_an_account_is_named_by_it, |t: TestDb| {
    let x = unpaid_wages(&t);
    t.db.write_blocking(|c| {
        let d = open_dispute(c, &x)?;
        let input = MediatorInput::parse("", "南宁市律师协会", "lawyer_nn2").unwrap();
        let m = casework::add_mediator(c, &x.sys, d.id, &input)?;
        assert_eq!(m.name, "lawyer_nn2律师");
        Ok(())
    })
    .unwrap();
});

both_engines!(
    a_mediators_account_outside_the_region_is_refused,
    |t: TestDb| {
        let x = unpaid_wages(&t);
        let d = t.db.write_blocking(|c| open_dispute(c, &x)).unwrap();
        let outside = t.db.write_blocking(|c| {
            let input = MediatorInput::parse("", "", "lawyer_lz").unwrap();
            casework::add_mediator(c, &x.sys, d.id, &input)
        });
        assert_eq!(invalid_field(&outside.unwrap_err()), "mediator_user");
    }
);

both_engines!(
    a_dispute_with_a_session_held_is_being_mediated,
    |t: TestDb| {
        let x = unpaid_wages(&t);
        let d = mediated(&t, &x);
        assert_eq!(d.status, "mediating", "a session was held");
    }
);

both_engines!(a_request_has_one_dispute, |t: TestDb| {
    let x = unpaid_wages(&t);
    mediated(&t, &x);
    let twice = t.db.write_blocking(|c| {
        let input = DisputeInput::parse("labour", "再登记").unwrap();
        casework::open_dispute(c, &x.sys, x.request.id, &input)
    });
    assert_eq!(invalid_field(&twice.unwrap_err()), "request_id");
});

both_engines!(
    closing_a_dispute_from_an_old_version_is_stale,
    |t: TestDb| {
        let x = unpaid_wages(&t);
        let d = mediated(&t, &x);
        let stale = t.db.write_blocking(|c| {
            let outcome = DisputeOutcomeInput::parse("failure", "").unwrap();
            casework::close_dispute(c, &x.sys, d.id, d.version - 1, &outcome)
        });
        assert!(matches!(stale, Err(DbError::Stale)));
    }
);

both_engines!(a_dispute_is_closed_with_its_outcome, |t: TestDb| {
    let x = unpaid_wages(&t);
    let d = mediated(&t, &x);
    let closed = close(&t, &x, &d, d.version).unwrap();
    assert_eq!(
        (closed.status.as_str(), closed.outcome.as_deref()),
        ("closed", Some("success"))
    );
});

both_engines!(a_closed_dispute_takes_no_more_records, |t: TestDb| {
    let x = unpaid_wages(&t);
    let d = mediated(&t, &x);
    close(&t, &x, &d, d.version).unwrap();
    let late = t.db.write_blocking(|c| {
        let session = SessionInput::parse(&x.day, "", "再谈", x.today).unwrap();
        casework::add_session(c, &x.sys, d.id, &session)
    });
    assert_eq!(
        invalid_field(&late.unwrap_err()),
        "dispute",
        "closed: no more records"
    );
});

both_engines!(
    legal_aid_goes_only_to_a_lawyer_whose_region_covers_the_request,
    |t: TestDb| {
        let x = unpaid_wages(&t);
        let wrong = t.db.write_blocking(|c| {
            let input = LegalAidInput::parse("lawyer_lz", "追索劳动报酬").unwrap();
            casework::open_legal_aid(c, &x.sys, x.request.id, &input)
        });
        assert_eq!(invalid_field(&wrong.unwrap_err()), "lawyer");
    }
);

both_engines!(
    a_legal_aid_case_is_closed_after_its_consultations,
    |t: TestDb| {
        let x = unpaid_wages(&t);
        assert_eq!(advised(&t, &x).status, "closed");
    }
);

both_engines!(
    a_disputes_parties_mediators_and_sessions_are_kept,
    |t: TestDb| {
        let Done { closed, .. } = both_closed(&t);
        let mut c = t.db.conn().unwrap();
        let (parties, mediators, sessions) = casework::dispute_records(&mut c, &closed).unwrap();
        assert_eq!((parties.len(), mediators.len(), sessions.len()), (2, 2, 1));
        assert_eq!(parties[0].people.as_deref(), Some("08"));
    }
);

both_engines!(a_consultation_keeps_its_minutes, |t: TestDb| {
    let Done { case, .. } = both_closed(&t);
    let mut c = t.db.conn().unwrap();
    assert_eq!(
        casework::consultations(&mut c, &case).unwrap()[0].minutes,
        Some(40)
    );
});

both_engines!(the_requests_history_tells_the_story, |t: TestDb| {
    let Done { x, .. } = both_closed(&t);
    let mut c = t.db.conn().unwrap();
    let actions: Vec<String> = requests::events(&mut c, &x.request)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "receive",
            "dispute_open",
            "dispute_close",
            "legal_aid_open",
            "legal_aid_close"
        ]
    );
});

both_engines!(the_requests_search_finds_the_agreement, |t: TestDb| {
    both_closed(&t);
    let mut c = t.db.conn().unwrap();
    let f = requests::RequestFilter {
        text: Some("付清欠薪".into()),
        ..Default::default()
    };
    assert_eq!(
        requests::list(&mut c, &Scope::everything(), &f, 10)
            .unwrap()
            .len(),
        1
    );
});

both_engines!(
    another_citys_lawyer_sees_neither_the_dispute_nor_the_case,
    |t: TestDb| {
        let Done { x, closed: d, .. } = both_closed(&t);
        let mut c = t.db.conn().unwrap();
        let lz = x.other_city;
        assert!(matches!(
            casework::dispute(&mut c, &lz, d.id),
            Err(DbError::NotFound)
        ));
        assert!(
            casework::disputes(&mut c, &lz, None, None, 10)
                .unwrap()
                .is_empty()
        );
        assert!(
            casework::legal_aid_cases(&mut c, &lz, None, None, 10)
                .unwrap()
                .is_empty()
        );
    }
);

both_engines!(
    the_cases_lawyer_sees_the_case_and_not_the_dispute,
    |t: TestDb| {
        // In the same city, by assignment: the case's lawyer sees the case and not the dispute.
        let Done { x, closed: d, case } = both_closed(&t);
        let mut c = t.db.conn().unwrap();
        let lawyer = acting(&mut c, "lawyer_nn");
        let mine = casework::legal_aid_cases(&mut c, &lawyer, None, None, 10).unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].1, "lawyer_nn律师");
        assert!(casework::legal_aid_case(&mut c, &lawyer, case.id).is_ok());
        assert!(
            casework::case_for_request(&mut c, &lawyer, x.request.id)
                .unwrap()
                .is_some()
        );
        assert!(matches!(
            casework::dispute(&mut c, &lawyer, d.id),
            Err(DbError::NotFound)
        ));
        assert!(
            casework::dispute_for_request(&mut c, &lawyer, x.request.id)
                .unwrap()
                .is_none()
        );
        assert!(
            casework::disputes(&mut c, &lawyer, None, None, 10)
                .unwrap()
                .is_empty()
        );
    }
);

both_engines!(
    the_disputes_mediator_sees_the_dispute_and_not_the_case,
    |t: TestDb| {
        // In the same city, by assignment: the dispute's mediator sees the dispute and not the case.
        let Done { x, closed: d, case } = both_closed(&t);
        let mut c = t.db.conn().unwrap();
        let mediator = acting(&mut c, "lawyer_nn2");
        assert!(matches!(
            casework::legal_aid_case(&mut c, &mediator, case.id),
            Err(DbError::NotFound)
        ));
        assert!(
            casework::case_for_request(&mut c, &mediator, x.request.id)
                .unwrap()
                .is_none()
        );
        assert!(
            casework::legal_aid_cases(&mut c, &mediator, None, None, 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(casework::dispute(&mut c, &mediator, d.id).unwrap().id, d.id);
        assert_eq!(
            casework::disputes(&mut c, &mediator, None, None, 10)
                .unwrap()
                .len(),
            1
        );
    }
);

both_engines!(staff_see_every_legal_aid_case, |t: TestDb| {
    let Done { x, .. } = both_closed(&t);
    let mut c = t.db.conn().unwrap();
    assert_eq!(
        casework::legal_aid_cases(&mut c, &x.sys, None, None, 10)
            .unwrap()
            .len(),
        1
    );
});

both_engines!(
    the_lawyers_for_a_request_are_those_of_its_region,
    |t: TestDb| {
        let x = unpaid_wages(&t);
        let mut c = t.db.conn().unwrap();
        assert_eq!(
            casework::lawyers_for(&mut c, &x.request.region_path).unwrap(),
            [
                ("lawyer_nn".to_string(), "lawyer_nn律师".to_string()),
                ("lawyer_nn2".to_string(), "lawyer_nn2律师".to_string())
            ]
        );
    }
);

both_engines!(every_step_of_casework_is_audited, |t: TestDb| {
    both_closed(&t);
    let mut c = t.db.conn().unwrap();
    let log = audit::list(&mut c, &audit::AuditFilter::default(), 100).unwrap();
    for action in [
        "dispute.open",
        "dispute.party_add",
        "dispute.mediator_add",
        "dispute.session_add",
        "dispute.close",
        "legal_aid.open",
        "legal_aid.consultation_add",
        "legal_aid.close",
    ] {
        assert!(log.iter().any(|e| e.action == action), "{action} audited");
    }
});

both_engines!(casework_keeps_the_audit_log_intact, |t: TestDb| {
    both_closed(&t);
    let mut c = t.db.conn().unwrap();
    assert!(audit::verify(&mut c).unwrap().is_intact());
});

both_engines!(
    the_mediators_count_of_disputes_being_mediated_is_what_their_list_shows,
    |t: TestDb| {
        use shiliu_domain::casework::DisputeStatus;
        let x = unpaid_wages(&t);
        mediated(&t, &x);
        let mut c = t.db.conn().unwrap();
        let mediator = acting(&mut c, "lawyer_nn2");
        let status = DisputeStatus::Mediating;
        let listed = casework::disputes(&mut c, &mediator, Some(status), None, 10).unwrap();
        let counted = casework::dispute_count(&mut c, &mediator, status).unwrap();
        assert_eq!((counted, listed.len()), (1, 1));
        let lawyer = acting(&mut c, "lawyer_nn");
        assert_eq!(casework::dispute_count(&mut c, &lawyer, status).unwrap(), 0);
    }
);

both_engines!(
    the_lawyers_count_of_open_cases_is_what_their_list_shows,
    |t: TestDb| {
        use shiliu_domain::casework::CaseStatus;
        let x = unpaid_wages(&t);
        t.db.write_blocking(|c| {
            casework::open_legal_aid(
                c,
                &x.sys,
                x.request.id,
                &LegalAidInput::parse("lawyer_nn", "追索劳动报酬").unwrap(),
            )
        })
        .unwrap();
        let mut c = t.db.conn().unwrap();
        let lawyer = acting(&mut c, "lawyer_nn");
        let listed =
            casework::legal_aid_cases(&mut c, &lawyer, Some(CaseStatus::Open), None, 10).unwrap();
        let counted = casework::legal_aid_count(&mut c, &lawyer, CaseStatus::Open).unwrap();
        assert_eq!((counted, listed.len()), (1, 1));
        let other = acting(&mut c, "lawyer_nn2");
        assert_eq!(
            casework::legal_aid_count(&mut c, &other, CaseStatus::Open).unwrap(),
            0
        );
    }
);
