//! Mediation and legal aid opened from a request.

use axum::http::StatusCode;
use shiliu_db::both_engines;
use shiliu_db::org::{self};
use shiliu_db::scope::Scope;
use shiliu_db::testing::TestDb;
use shiliu_domain::roles::Role;

use crate::common::*;

both_engines!(
    a_dispute_and_a_legal_aid_case_from_a_request_page,
    |t: TestDb| {
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
            .unwrap();
        let lz = app
            .t
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
        block_on(async {
            let (cs, csrf) = app.session("nn-site-staff");
            let req = format!("/requests/{}", nn.request);
            let page = app.get(&req, &cs).await.text();
            assert!(
                page.contains("登记为矛盾纠纷") && page.contains("nn-legal-aid"),
                "the forms, with the city's lawyer: {page}"
            );
            // A missing summary is named; then the dispute opens.
            let r = app
                .post(
                    &format!("{req}/dispute"),
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
            let r = app
                .post(
                    &format!("{req}/dispute"),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("dispute_kind", "labour"),
                        ("summary", "欠薪纠纷"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let dispute = r.location().split('?').next().unwrap().to_string();
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
                        (
                            "held_on",
                            &*shiliu_domain::calendar::local(shiliu_db::now())
                                .format("%Y-%m-%d")
                                .to_string(),
                        ),
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
            // The mediator with an account sees the dispute they mediate; the city's other
            // lawyer, who does not mediate it, does not.
            let (ms, _) = app.session("nn-lawyer2");
            assert_eq!(app.get(&dispute, &ms).await.status, StatusCode::OK);
            assert!(app.get("/disputes", &ms).await.text().contains(&dispute));
            let (ls, _) = app.session("nn-legal-aid");
            assert_eq!(app.get(&dispute, &ls).await.status, StatusCode::NOT_FOUND);
            assert!(!app.get("/disputes", &ls).await.text().contains(&dispute));
            let version = page
                .split("name=\"version\" value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string();
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
            assert!(
                app.get("/disputes?status=closed", &cs)
                    .await
                    .text()
                    .contains("欠薪纠纷")
            );
            // Legal aid: the lawyer records a consultation and closes the case.
            let r = app
                .post(
                    &format!("{req}/legal-aid"),
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
            let r = app
                .post(
                    &format!("{req}/legal-aid"),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("lawyer", "nn-legal-aid"),
                        ("matter", "追索劳动报酬"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let case = r.location().split('?').next().unwrap().to_string();
            let (ls, lcsrf) = app.session("nn-legal-aid");
            assert!(
                app.get("/legal-aid", &ls)
                    .await
                    .text()
                    .contains("追索劳动报酬"),
                "the lawyer's list"
            );
            // Another lawyer of the city can neither read nor write it, by page or API.
            let (os, ocsrf) = app.session("nn-lawyer2");
            assert_eq!(app.get(&case, &os).await.status, StatusCode::NOT_FOUND);
            assert!(
                !app.get("/legal-aid", &os)
                    .await
                    .text()
                    .contains("追索劳动报酬")
            );
            assert!(!app.get(&req, &os).await.text().contains(&case));
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
            let today = shiliu_domain::calendar::local(shiliu_db::now())
                .format("%Y-%m-%d")
                .to_string();
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
            let page = app.get(&case, &ls).await.text();
            let version = page
                .split("name=\"version\" value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string();
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
            let page = app.get(&case, &ls).await.text();
            assert!(
                page.contains("申请劳动仲裁")
                    && page.contains("已胜诉")
                    && !page.contains("/close\"")
            );
            // The request's history, and another city's staff see nothing.
            let history = app.get(&req, &cs).await.text();
            for s in ["登记矛盾纠纷", "纠纷调解结案", "转法律援助", "法律援助结案"]
            {
                assert!(history.contains(s), "{s} in the request's history");
            }
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
            // The same through the API.
            let id = dispute.rsplit('/').next().unwrap();
            let (_, j) = app
                .api_get(&format!("/api/v1/disputes/{id}"), "nn-site-staff")
                .await;
            assert_eq!(j["dispute"]["outcome"], "success", "{j}");
            assert_eq!(j["parties"][0]["people"], "08");
            assert_eq!(j["sessions"][0]["place"], "联合调解室");
            let cid = case.rsplit('/').next().unwrap();
            let (_, j) = app
                .api_get(&format!("/api/v1/legal-aid/{cid}"), "nn-legal-aid")
                .await;
            assert_eq!(j["consultations"][0]["minutes"], 30, "{j}");
            let (status, _) = app
                .api_get(&format!("/api/v1/legal-aid/{cid}"), "lz-commission-staff")
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
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
            let _ = lz;
        });
    }
);
