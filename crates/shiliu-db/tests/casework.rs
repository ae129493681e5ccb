//! Disputes and legal-aid cases opened from requests: records, outcomes, scope, history and
//! audit — on both engines.

use shiliu_db::accounts::{self, NewUser};
use shiliu_db::casework;
use shiliu_db::org;
use shiliu_db::requests;
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_db::{DbError, audit, both_engines};
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

both_engines!(a_dispute_is_mediated_and_a_lawyer_advises, |t: TestDb| {
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
            let _ = lz;
            Ok((r, acting(c, "lawyer_lz")))
        })
        .unwrap();

    // The dispute: parties, a mediator, a session, then a settlement.
    let d =
        t.db.write_blocking(|c| {
            let d = casework::open_dispute(
                c,
                &sys,
                request.id,
                &DisputeInput::parse("labour", "欠薪纠纷").unwrap(),
            )?;
            casework::add_party(
                c,
                &sys,
                d.id,
                &PartyInput::parse("applicant", "潘某", "壮族", "13812345678").unwrap(),
            )?;
            casework::add_party(
                c,
                &sys,
                d.id,
                &PartyInput::parse("respondent", "某建筑公司", "", "").unwrap(),
            )?;
            casework::add_mediator(
                c,
                &sys,
                d.id,
                &MediatorInput::parse("韦调解员", "西乡塘区司法局", "").unwrap(),
            )?;
            // A mediator with an account, named by it.
            let m = casework::add_mediator(
                c,
                &sys,
                d.id,
                &MediatorInput::parse("", "南宁市律师协会", "lawyer_nn2").unwrap(),
            )?;
            assert_eq!(m.name, "lawyer_nn2律师");
            let outside = casework::add_mediator(
                c,
                &sys,
                d.id,
                &MediatorInput::parse("", "", "lawyer_lz").unwrap(),
            );
            assert_eq!(invalid_field(&outside.unwrap_err()), "mediator_user");
            casework::add_session(
                c,
                &sys,
                d.id,
                &SessionInput::parse(&day, "联合调解室", "双方同意分两期支付", today).unwrap(),
            )?;
            casework::dispute(c, &sys, d.id)
        })
        .unwrap();
    assert_eq!(d.status, "mediating", "a session was held");
    let twice = t.db.write_blocking(|c| {
        casework::open_dispute(
            c,
            &sys,
            request.id,
            &DisputeInput::parse("labour", "再登记").unwrap(),
        )
    });
    assert_eq!(invalid_field(&twice.unwrap_err()), "request_id");
    let stale = t.db.write_blocking(|c| {
        casework::close_dispute(
            c,
            &sys,
            d.id,
            d.version - 1,
            &DisputeOutcomeInput::parse("failure", "").unwrap(),
        )
    });
    assert!(matches!(stale, Err(DbError::Stale)));
    let closed =
        t.db.write_blocking(|c| {
            casework::close_dispute(
                c,
                &sys,
                d.id,
                d.version,
                &DisputeOutcomeInput::parse("success", "公司于月底前付清欠薪").unwrap(),
            )
        })
        .unwrap();
    assert_eq!(
        (closed.status.as_str(), closed.outcome.as_deref()),
        ("closed", Some("success"))
    );
    let late = t.db.write_blocking(|c| {
        casework::add_session(
            c,
            &sys,
            d.id,
            &SessionInput::parse(&day, "", "再谈", today).unwrap(),
        )
    });
    assert_eq!(
        invalid_field(&late.unwrap_err()),
        "dispute",
        "closed: no more records"
    );

    // Legal aid: only a lawyer whose region covers the request's.
    let wrong = t.db.write_blocking(|c| {
        casework::open_legal_aid(
            c,
            &sys,
            request.id,
            &LegalAidInput::parse("lawyer_lz", "追索劳动报酬").unwrap(),
        )
    });
    assert_eq!(invalid_field(&wrong.unwrap_err()), "lawyer");
    let case =
        t.db.write_blocking(|c| {
            let k = casework::open_legal_aid(
                c,
                &sys,
                request.id,
                &LegalAidInput::parse("lawyer_nn", "追索劳动报酬").unwrap(),
            )?;
            casework::add_consultation(
                c,
                &sys,
                k.id,
                &ConsultationInput::parse(
                    &day,
                    "in_person",
                    "欠薪如何追讨",
                    "先申请劳动仲裁",
                    "40",
                    today,
                )
                .unwrap(),
            )?;
            casework::close_case(c, &sys, k.id, k.version, "已协助申请仲裁并胜诉")
        })
        .unwrap();
    assert_eq!(case.status, "closed");

    let mut c = t.db.conn().unwrap();
    let (parties, mediators, sessions) = casework::dispute_records(&mut c, &closed).unwrap();
    assert_eq!((parties.len(), mediators.len(), sessions.len()), (2, 2, 1));
    assert_eq!(parties[0].people.as_deref(), Some("08"));
    assert_eq!(
        casework::consultations(&mut c, &case).unwrap()[0].minutes,
        Some(40)
    );
    // The request's history tells the story, and its search finds the agreement.
    let actions: Vec<String> = requests::events(&mut c, &request)
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
    // Another city's lawyer sees neither.
    let lz = other_city;
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
    // In the same city, by assignment: the case's lawyer sees the case and not the dispute;
    // the dispute's mediator sees the dispute and not the case; staff see both.
    let lawyer = acting(&mut c, "lawyer_nn");
    let mediator = acting(&mut c, "lawyer_nn2");
    let mine = casework::legal_aid_cases(&mut c, &lawyer, None, None, 10).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].1, "lawyer_nn律师");
    assert!(casework::legal_aid_case(&mut c, &lawyer, case.id).is_ok());
    assert!(
        casework::case_for_request(&mut c, &lawyer, request.id)
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        casework::dispute(&mut c, &lawyer, d.id),
        Err(DbError::NotFound)
    ));
    assert!(
        casework::dispute_for_request(&mut c, &lawyer, request.id)
            .unwrap()
            .is_none()
    );
    assert!(
        casework::disputes(&mut c, &lawyer, None, None, 10)
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        casework::legal_aid_case(&mut c, &mediator, case.id),
        Err(DbError::NotFound)
    ));
    assert!(
        casework::case_for_request(&mut c, &mediator, request.id)
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
    assert_eq!(
        casework::legal_aid_cases(&mut c, &sys, None, None, 10)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        casework::lawyers_for(&mut c, &request.region_path).unwrap(),
        [
            ("lawyer_nn".to_string(), "lawyer_nn律师".to_string()),
            ("lawyer_nn2".to_string(), "lawyer_nn2律师".to_string())
        ]
    );
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
    assert!(audit::verify(&mut c).unwrap().is_intact());
});
