//! Mediation and legal aid opened from a request.

use axum::http::StatusCode;
use shiliu_db::both_engines;
use shiliu_db::org::{self};
use shiliu_db::scope::Scope;
use shiliu_db::testing::TestDb;
use shiliu_domain::roles::Role;

use crate::common::*;

/// 南宁 (returned) and 柳州, whose lawyer and staff are another city's; and a second lawyer
/// of 南宁, to whom nothing is assigned.
fn cities(app: &App) -> CityData {
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    app.t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450200", "lz", "x")))
        .unwrap();
    // A second lawyer of the same city, to whom nothing is assigned.
    app.t
        .db
        .write_blocking(|c| {
            let city = org::get_region_by_code(c, &Scope::everything(), "450100")?;
            user(c, "nn-lawyer2", Role::LegalAid, &city, vec![], "x");
            Ok(())
        })
        .unwrap();
    nn
}

/// The address of 南宁's request's page.
fn request_page(nn: &CityData) -> String {
    format!("/requests/{}", nn.request)
}

/// The `version` a page's form carries.
fn version_on(page: &str) -> String {
    page.split("name=\"version\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

/// Today, as the forms take it.
fn today() -> String {
    shiliu_domain::calendar::local(shiliu_db::now())
        .format("%Y-%m-%d")
        .to_string()
}

/// A dispute the site's staff opened from the request: its page's address.
async fn opened_dispute(app: &App, nn: &CityData) -> String {
    let (cs, csrf) = app.session("nn-site-staff");
    let r = app
        .post(
            &format!("{}/dispute", request_page(nn)),
            &cs,
            &[
                ("_csrf", &csrf),
                ("dispute_kind", "labour"),
                ("summary", "欠薪纠纷"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    r.location().split('?').next().unwrap().to_string()
}

/// The opened dispute with a party, two mediators (one of them `nn-lawyer2`, with an
/// account) and a session of today recorded.
async fn recorded_dispute(app: &App, nn: &CityData) -> String {
    let dispute = opened_dispute(app, nn).await;
    let (cs, csrf) = app.session("nn-site-staff");
    let today = today();
    for (what, form) in [
        (
            "parties",
            vec![
                ("side", "applicant"),
                ("party_name", "潘某"),
                ("people", "壮族"),
                ("phone", ""),
            ],
        ),
        (
            "mediators",
            vec![("mediator_name", "韦调解员"), ("organisation", "司法所")],
        ),
        // A mediator with an account, picked from the city's legal-aid users.
        ("mediators", vec![("mediator_user", "nn-lawyer2")]),
        (
            "sessions",
            vec![
                ("held_on", today.as_str()),
                ("place", "联合调解室"),
                ("notes", "双方同意分期支付"),
            ],
        ),
    ] {
        let mut f = vec![("_csrf", csrf.as_str())];
        f.extend(form);
        let r = app.post(&format!("{dispute}/{what}"), &cs, &f).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{what}: {}", r.text());
    }
    dispute
}

/// The recorded dispute, closed as a successful mediation with its agreement.
async fn closed_dispute(app: &App, nn: &CityData) -> String {
    let dispute = recorded_dispute(app, nn).await;
    let (cs, csrf) = app.session("nn-site-staff");
    let version = version_on(&app.get(&dispute, &cs).await.text());
    let r = app
        .post(
            &format!("{dispute}/close"),
            &cs,
            &[
                ("_csrf", &csrf),
                ("version", &version),
                ("mediation_outcome", "success"),
                ("agreement", "月底前付清"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    dispute
}

/// A legal-aid case the site's staff handed from the request to `nn-legal-aid`: its page's
/// address.
async fn legal_aid_case(app: &App, nn: &CityData) -> String {
    let (cs, csrf) = app.session("nn-site-staff");
    let r = app
        .post(
            &format!("{}/legal-aid", request_page(nn)),
            &cs,
            &[
                ("_csrf", &csrf),
                ("lawyer", "nn-legal-aid"),
                ("matter", "追索劳动报酬"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    r.location().split('?').next().unwrap().to_string()
}

/// The case, after its lawyer recorded a thirty-minute consultation of today and closed it.
async fn closed_case(app: &App, nn: &CityData) -> String {
    let case = legal_aid_case(app, nn).await;
    let (ls, lcsrf) = app.session("nn-legal-aid");
    let today = today();
    let r = app
        .post(
            &format!("{case}/consultations"),
            &ls,
            &[
                ("_csrf", &lcsrf),
                ("held_on", &today),
                ("mode", "phone"),
                ("summary", "如何追讨"),
                ("advice", "申请劳动仲裁"),
                ("minutes", "30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let version = version_on(&app.get(&case, &ls).await.text());
    let r = app
        .post(
            &format!("{case}/close"),
            &ls,
            &[
                ("_csrf", &lcsrf),
                ("version", &version),
                ("result", "已胜诉"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    case
}

both_engines!(
    the_request_page_offers_a_dispute_with_the_citys_lawyer,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            let (cs, _) = app.session("nn-site-staff");
            let page = app.get(&request_page(&nn), &cs).await.text();
            assert!(
                page.contains("登记为矛盾纠纷") && page.contains("nn-legal-aid"),
                "the forms, with the city's lawyer: {page}"
            );
        });
    }
);

both_engines!(
    a_dispute_without_a_summary_is_refused_and_named,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            let (cs, csrf) = app.session("nn-site-staff");
            // A missing summary is named.
            let r = app
                .post(
                    &format!("{}/dispute", request_page(&nn)),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("dispute_kind", "labour"),
                        ("summary", " "),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("概要"), "{}", r.text());
        });
    }
);

both_engines!(
    a_dispute_page_shows_its_parties_mediators_and_sessions,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            let dispute = recorded_dispute(&app, &nn).await;
            let (cs, _) = app.session("nn-site-staff");
            let page = app.get(&dispute, &cs).await.text();
            for s in [
                "潘某",
                "壮族",
                "韦调解员",
                "联合调解室",
                "调解中",
                "用户nn-lawyer2",
            ] {
                assert!(page.contains(s), "{s} on the dispute page");
            }
        });
    }
);

both_engines!(
    the_mediator_with_an_account_sees_the_dispute_they_mediate,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            let dispute = recorded_dispute(&app, &nn).await;
            let (ms, _) = app.session("nn-lawyer2");
            assert_eq!(app.get(&dispute, &ms).await.status, StatusCode::OK);
            assert!(app.get("/disputes", &ms).await.text().contains(&dispute));
        });
    }
);

both_engines!(
    a_lawyer_of_the_city_who_does_not_mediate_a_dispute_does_not_see_it,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            let dispute = recorded_dispute(&app, &nn).await;
            let (ls, _) = app.session("nn-legal-aid");
            assert_eq!(app.get(&dispute, &ls).await.status, StatusCode::NOT_FOUND);
            assert!(!app.get("/disputes", &ls).await.text().contains(&dispute));
        });
    }
);

both_engines!(
    a_successful_mediation_does_not_close_without_its_agreement,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            let dispute = recorded_dispute(&app, &nn).await;
            let (cs, csrf) = app.session("nn-site-staff");
            let version = version_on(&app.get(&dispute, &cs).await.text());
            let r = app
                .post(
                    &format!("{dispute}/close"),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("version", &version),
                        ("mediation_outcome", "success"),
                        ("agreement", ""),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("调解成功须填写调解协议"));
        });
    }
);

both_engines!(
    a_dispute_closed_with_its_agreement_is_listed_among_the_closed,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            closed_dispute(&app, &nn).await;
            let (cs, _) = app.session("nn-site-staff");
            assert!(
                app.get("/disputes?status=closed", &cs)
                    .await
                    .text()
                    .contains("欠薪纠纷")
            );
        });
    }
);

both_engines!(
    legal_aid_is_not_handed_to_another_citys_lawyer,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            let (cs, csrf) = app.session("nn-site-staff");
            let r = app
                .post(
                    &format!("{}/legal-aid", request_page(&nn)),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("lawyer", "lz-legal-aid"),
                        ("matter", "追索劳动报酬"),
                    ],
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "another city's lawyer"
            );
        });
    }
);

both_engines!(the_lawyer_lists_the_case_handed_to_them, |t: TestDb| {
    let app = App::new(t);
    let nn = cities(&app);
    block_on(async {
        legal_aid_case(&app, &nn).await;
        let (ls, _) = app.session("nn-legal-aid");
        assert!(
            app.get("/legal-aid", &ls)
                .await
                .text()
                .contains("追索劳动报酬"),
            "the lawyer's list"
        );
    });
});

both_engines!(
    another_lawyer_of_the_city_can_neither_read_nor_write_the_case_by_page,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            let case = legal_aid_case(&app, &nn).await;
            let (os, ocsrf) = app.session("nn-lawyer2");
            assert_eq!(app.get(&case, &os).await.status, StatusCode::NOT_FOUND);
            assert!(
                !app.get("/legal-aid", &os)
                    .await
                    .text()
                    .contains("追索劳动报酬")
            );
            assert!(
                !app.get(&request_page(&nn), &os)
                    .await
                    .text()
                    .contains(&case)
            );
            let r = app
                .post(
                    &format!("{case}/consultations"),
                    &os,
                    &[
                        ("_csrf", &ocsrf),
                        ("held_on", "2026-01-05"),
                        ("mode", "phone"),
                        ("summary", "越权"),
                        ("advice", "越权"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
        });
    }
);

both_engines!(
    another_lawyer_of_the_city_can_neither_read_nor_write_the_case_by_api,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            let case = legal_aid_case(&app, &nn).await;
            let cid = case.rsplit('/').next().unwrap();
            let (status, _) = app
                .api_get(&format!("/api/v1/legal-aid/{cid}"), "nn-lawyer2")
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            let (status, _) = app
                .api(
                    "POST",
                    &format!("/api/v1/legal-aid/{cid}/close"),
                    "nn-lawyer2",
                    Some(serde_json::json!({"version": 1, "result": "越权结案"})),
                )
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            let (_, j) = app.api_get("/api/v1/legal-aid", "nn-lawyer2").await;
            assert_eq!(j["items"].as_array().map(Vec::len), Some(0), "{j}");
        });
    }
);

both_engines!(
    a_case_its_lawyer_closed_shows_the_advice_and_the_result_and_no_close_form,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            // Legal aid: the lawyer records a consultation and closes the case.
            let case = closed_case(&app, &nn).await;
            let (ls, _) = app.session("nn-legal-aid");
            let page = app.get(&case, &ls).await.text();
            assert!(
                page.contains("申请劳动仲裁")
                    && page.contains("已胜诉")
                    && !page.contains("/close\"")
            );
        });
    }
);

both_engines!(
    the_requests_history_names_the_dispute_and_the_legal_aid,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            closed_dispute(&app, &nn).await;
            closed_case(&app, &nn).await;
            let (cs, _) = app.session("nn-site-staff");
            let history = app.get(&request_page(&nn), &cs).await.text();
            for s in ["登记矛盾纠纷", "纠纷调解结案", "转法律援助", "法律援助结案"]
            {
                assert!(history.contains(s), "{s} in the request's history");
            }
        });
    }
);

both_engines!(
    another_citys_staff_see_neither_the_dispute_nor_the_case,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            let dispute = closed_dispute(&app, &nn).await;
            let case = closed_case(&app, &nn).await;
            let (other, _) = app.session("lz-commission-staff");
            assert_eq!(
                app.get(&dispute, &other).await.status,
                StatusCode::NOT_FOUND
            );
            assert_eq!(app.get(&case, &other).await.status, StatusCode::NOT_FOUND);
            assert!(
                !app.get("/disputes", &other)
                    .await
                    .text()
                    .contains("欠薪纠纷")
            );
        });
    }
);

both_engines!(
    another_citys_staff_cannot_read_the_case_through_the_api,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            let case = closed_case(&app, &nn).await;
            let cid = case.rsplit('/').next().unwrap();
            let (status, _) = app
                .api_get(&format!("/api/v1/legal-aid/{cid}"), "lz-commission-staff")
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        });
    }
);

both_engines!(
    the_api_gives_the_disputes_outcome_parties_and_sessions,
    |t: TestDb| {
        let app = App::new(t);
        let nn = cities(&app);
        block_on(async {
            let dispute = closed_dispute(&app, &nn).await;
            let id = dispute.rsplit('/').next().unwrap();
            let (_, j) = app
                .api_get(&format!("/api/v1/disputes/{id}"), "nn-site-staff")
                .await;
            assert_eq!(j["dispute"]["outcome"], "success", "{j}");
            assert_eq!(j["parties"][0]["people"], "08");
            assert_eq!(j["sessions"][0]["place"], "联合调解室");
        });
    }
);

both_engines!(the_api_gives_the_cases_consultations, |t: TestDb| {
    let app = App::new(t);
    let nn = cities(&app);
    block_on(async {
        let case = closed_case(&app, &nn).await;
        let cid = case.rsplit('/').next().unwrap();
        let (_, j) = app
            .api_get(&format!("/api/v1/legal-aid/{cid}"), "nn-legal-aid")
            .await;
        assert_eq!(j["consultations"][0]["minutes"], 30, "{j}");
    });
});

both_engines!(
    the_openapi_document_names_the_dispute_and_legal_aid_paths,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let doc: serde_json::Value =
                serde_json::from_slice(&app.get("/api/v1/openapi.json", "").await.body).unwrap();
            for path in [
                "/api/v1/disputes/{id}/{record}",
                "/api/v1/requests/{id}/legal-aid",
            ] {
                assert!(
                    doc["paths"][path].is_object(),
                    "{path} in the OpenAPI document"
                );
            }
        });
    }
);
