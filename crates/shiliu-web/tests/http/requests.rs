//! Requests from intake to the rating: pages, the public forms, the API, settings, search, files.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shiliu_db::accounts::{self, NewUser};
use shiliu_db::both_engines;
use shiliu_db::org::{self};
use shiliu_db::scope::{Actor, Scope};
use shiliu_db::testing::TestDb;
use shiliu_domain::accounts::Username;
use shiliu_domain::requests::{Channel, RequestInput};
use shiliu_domain::roles::Role;

use crate::common::*;

/// A request's current version, as its page's forms carry it.
fn version_of(app: &App, id: i64) -> String {
    app.t
        .db
        .write_blocking(move |c| Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.version))
        .unwrap()
        .to_string()
}

/// The secret of a token the commission's staff make on the tokens page.
async fn page_token(app: &App, name: &str, days: &str, perms: &[&str]) -> String {
    let (cookie, csrf) = app.session("nn-commission-staff");
    let mut form = vec![("_csrf", csrf.as_str()), ("name", name), ("days", days)];
    for p in perms {
        form.push(("perm", p));
    }
    let r = app.post("/tokens", &cookie, &form).await;
    r.text()
        .split("<code class=\"secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string()
}

// A request goes round the loop through the pages.

/// 南宁, with its grid's code, and its site's name and id (as its pickers post it).
struct Loop {
    grid_code: String,
    site_name: String,
    site: String,
}

fn loop_city(app: &App) -> Loop {
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    let (grid_code, site_name) = app
        .t
        .db
        .write_blocking(move |c| {
            let all = Scope::everything();
            Ok((
                org::get_region(c, &all, nn.grid)?.code,
                org::get_site(c, &all, nn.site)?.name,
            ))
        })
        .unwrap();
    Loop {
        grid_code,
        site_name,
        site: nn.site.to_string(),
    }
}

/// A step on the request's page by `who` (a session and its form token), at its current
/// version.
async fn act(
    app: &App,
    id: i64,
    who: &(String, String),
    action: &str,
    extra: &[(&str, &str)],
) -> Resp {
    let v = version_of(app, id);
    let mut form = vec![
        ("_csrf", who.1.as_str()),
        ("action", action),
        ("version", v.as_str()),
    ];
    // The box a step that cannot be taken back asks to tick.
    if ["resolve", "close", "resolve_on_the_spot"].contains(&action) {
        form.push(("confirm", "1"));
    }
    form.extend_from_slice(extra);
    app.post(&format!("/requests/{id}/step"), &who.0, &form)
        .await
}

/// A request a grid worker took in on a phone: its page's address and its id.
async fn taken_in(app: &App, city: &Loop) -> (String, i64) {
    let (gw, gw_csrf) = app.session("nn-grid-worker");
    let cat = app
        .t
        .db
        .write_blocking(|c| Ok(shiliu_db::requests::categories(c, false)?.remove(2)))
        .unwrap();
    let r = app
        .post(
            "/requests",
            &gw,
            &[
                ("_csrf", &gw_csrf),
                ("channel", "grid"),
                ("category_id", &cat.id.to_string()),
                ("region_code", &city.grid_code),
                ("description", "出租屋漏水房东不修"),
                ("contact_phone", "13977112233"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let path = r.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    (path, id)
}

/// The request taken in, dispatched by the commission's staff to the city's site.
async fn dispatched(app: &App, city: &Loop) -> (String, i64) {
    let (path, id) = taken_in(app, city).await;
    let cs = app.session("nn-commission-staff");
    let r = act(app, id, &cs, "dispatch", &[("site_id", &city.site)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    (path, id)
}

/// The dispatched request, returned by the site with a reason, dispatched again, accepted and
/// started.
async fn started(app: &App, city: &Loop) -> (String, i64) {
    let (path, id) = dispatched(app, city).await;
    let cs = app.session("nn-commission-staff");
    let ss = app.session("nn-site-staff");
    for (who, action, extra) in [
        (&ss, "return", vec![("reason", "应由社区处理")]),
        (&cs, "dispatch", vec![("site_id", city.site.as_str())]),
        (&ss, "accept", vec![]),
        (&ss, "start", vec![]),
    ] {
        let r = act(app, id, who, action, &extra).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}");
    }
    (path, id)
}

/// The started request, resolved by the site with a reply.
async fn resolved(app: &App, city: &Loop) -> (String, i64) {
    let (path, id) = started(app, city).await;
    let ss = app.session("nn-site-staff");
    let resolve = [("outcome", "solved"), ("reply", "已联系房东维修")];
    let r = act(app, id, &ss, "resolve", &resolve).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    (path, id)
}

/// The resolved request, rated satisfied and closed by the commission's staff.
async fn closed(app: &App, city: &Loop) -> (String, i64) {
    let (path, id) = resolved(app, city).await;
    let cs = app.session("nn-commission-staff");
    for (action, extra) in [("rate", vec![("rating", "satisfied")]), ("close", vec![])] {
        let r = act(app, id, &cs, action, &extra).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}");
    }
    (path, id)
}

both_engines!(
    after_a_dispatch_the_page_names_the_site_it_went_to,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            let (_, id) = taken_in(&app, &city).await;
            let cs = app.session("nn-commission-staff");
            let r = act(&app, id, &cs, "dispatch", &[("site_name", &city.site_name)]).await;
            let to = r.location();
            assert!(to.ends_with("?done=dispatch"), "{to}");
            let page = app.get(&to, &cs.0).await.text();
            assert!(
                page.contains(&format!("已派单至{}", city.site_name)),
                "{page}"
            );
        });
    }
);

both_engines!(
    a_dispatch_not_yet_accepted_is_withdrawn_and_can_go_again,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            let (_, id) = dispatched(&app, &city).await;
            let cs = app.session("nn-commission-staff");
            let r = act(&app, id, &cs, "withdraw", &[]).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            assert!(
                app.get(&r.location(), &cs.0)
                    .await
                    .text()
                    .contains("已撤回派单")
            );
            let again = act(&app, id, &cs, "dispatch", &[("site_name", &city.site_name)]).await;
            assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.text());
        });
    }
);

both_engines!(an_accepted_dispatch_cannot_be_withdrawn, |t: TestDb| {
    let app = App::new(t);
    let city = loop_city(&app);
    block_on(async {
        let (_, id) = dispatched(&app, &city).await;
        let ss = app.session("nn-site-staff");
        assert_eq!(
            act(&app, id, &ss, "accept", &[]).await.status,
            StatusCode::SEE_OTHER
        );
        let cs = app.session("nn-commission-staff");
        let r = act(&app, id, &cs, "withdraw", &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    });
});

both_engines!(the_grid_worker_picks_one_of_their_grids, |t: TestDb| {
    let app = App::new(t);
    let city = loop_city(&app);
    block_on(async {
        let (gw, _) = app.session("nn-grid-worker");
        let form = app.get("/requests/new", &gw).await.text();
        assert!(
            form.contains(&city.grid_code),
            "the grid worker picks one of their grids"
        );
    });
});

both_engines!(
    a_request_without_a_description_is_refused_and_named,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            // A grid worker takes a request in on a phone; bad input.
            let (gw, gw_csrf) = app.session("nn-grid-worker");
            let r = app
                .post(
                    "/requests",
                    &gw,
                    &[
                        ("_csrf", &gw_csrf),
                        ("channel", "grid"),
                        ("category_id", "x"),
                        ("region_code", &city.grid_code),
                        ("description", ""),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("诉求内容：必填"), "{}", r.text());
        });
    }
);

both_engines!(a_grid_worker_records_the_grid_channel_only, |t: TestDb| {
    let app = App::new(t);
    let city = loop_city(&app);
    block_on(async {
        let (gw, gw_csrf) = app.session("nn-grid-worker");
        let r = app
            .post(
                "/requests",
                &gw,
                &[
                    ("_csrf", &gw_csrf),
                    ("channel", "hotline"),
                    ("category_id", "1"),
                    ("region_code", &city.grid_code),
                    ("description", "x"),
                ],
            )
            .await;
        assert!(
            r.text().contains("渠道：请从列表中选择"),
            "a grid worker records the grid channel only"
        );
    });
});

both_engines!(a_request_taken_in_shows_as_received, |t: TestDb| {
    let app = App::new(t);
    let city = loop_city(&app);
    block_on(async {
        let (path, _) = taken_in(&app, &city).await;
        let (gw, _) = app.session("nn-grid-worker");
        let page = app.get(&path, &gw).await.text();
        assert!(page.contains("已受理") && page.contains("出租屋漏水房东不修"));
    });
});

both_engines!(a_grid_worker_does_not_dispatch, |t: TestDb| {
    let app = App::new(t);
    let city = loop_city(&app);
    block_on(async {
        let (path, _) = taken_in(&app, &city).await;
        let (gw, _) = app.session("nn-grid-worker");
        let page = app.get(&path, &gw).await.text();
        assert!(
            !page.contains("name=\"action\" value=\"dispatch\""),
            "a grid worker does not dispatch"
        );
    });
});

both_engines!(
    a_dispatch_to_a_site_out_of_scope_is_refused_and_named,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        let lz = app
            .t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450200", "lz", "x")))
            .unwrap();
        block_on(async {
            let (_, id) = taken_in(&app, &city).await;
            let cs = app.session("nn-commission-staff");
            let elsewhere = lz.site.to_string();
            let r = act(&app, id, &cs, "dispatch", &[("site_id", &elsewhere)]).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                r.text().contains("目标站点：请从列表中选择"),
                "{}",
                r.text()
            );
        });
    }
);

both_engines!(
    the_dispatch_picker_offers_only_the_sites_in_scope,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        app.t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450200", "lz", "x")))
            .unwrap();
        block_on(async {
            let (path, _) = taken_in(&app, &city).await;
            let (cs, _) = app.session("nn-commission-staff");
            let page = app.get(&path, &cs).await.text();
            let offered = format!(
                "<option value=\"{}\">{}</option>",
                city.site, city.site_name
            );
            assert!(page.contains(&offered), "{page}");
            assert!(
                !page.contains("lz民族之家"),
                "another city's site is not offered"
            );
        });
    }
);

both_engines!(
    the_list_filters_offer_only_the_regions_and_sites_in_scope,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        app.t
            .db
            .write_blocking(|c| Ok(seed_city(c, "450200", "lz", "x")))
            .unwrap();
        block_on(async {
            let (cs, _) = app.session("nn-commission-staff");
            let page = app.get("/requests", &cs).await.text();
            assert!(
                page.contains("<option value=\"450100\">南宁市</option>"),
                "{page}"
            );
            let site = format!("<option value=\"{0}\">{0}</option>", city.site_name);
            assert!(page.contains(&site), "{page}");
            assert!(
                !page.contains("柳州市") && !page.contains("lz民族之家"),
                "{page}"
            );
        });
    }
);

both_engines!(
    the_request_page_suggests_the_routed_site_as_one_button,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            let (path, _) = taken_in(&app, &city).await;
            let (cs, _) = app.session("nn-commission-staff");
            let page = app.get(&path, &cs).await.text();
            let button = format!("<button>派至 {}（建议）</button>", city.site_name);
            assert!(page.contains(&button), "{page}");
        });
    }
);

both_engines!(
    a_dispatch_without_a_pick_sends_it_to_the_suggested_site,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            let (path, id) = taken_in(&app, &city).await;
            let cs = app.session("nn-commission-staff");
            let r = act(&app, id, &cs, "dispatch", &[]).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let page = app.get(&path, &cs.0).await.text();
            assert!(
                page.contains("已派单") && page.contains(&city.site_name),
                "{page}"
            );
        });
    }
);

both_engines!(
    a_site_does_not_return_a_request_without_a_reason,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            // The site returns it without a reason: refused (with one it goes back to the
            // dispatcher, as `started` does).
            let (_, id) = dispatched(&app, &city).await;
            let ss = app.session("nn-site-staff");
            let r = act(&app, id, &ss, "return", &[]).await;
            assert!(r.text().contains("原因 / 说明：必填"), "{}", r.text());
        });
    }
);

both_engines!(a_resolution_without_a_reply_is_refused, |t: TestDb| {
    let app = App::new(t);
    let city = loop_city(&app);
    block_on(async {
        let (_, id) = started(&app, &city).await;
        let ss = app.session("nn-site-staff");
        let r = act(
            &app,
            id,
            &ss,
            "resolve",
            &[("outcome", "solved"), ("reply", "")],
        )
        .await;
        assert!(r.text().contains("答复群众：必填"));
    });
});

both_engines!(a_resolution_asks_to_be_confirmed_first, |t: TestDb| {
    let app = App::new(t);
    let city = loop_city(&app);
    block_on(async {
        let (_, id) = started(&app, &city).await;
        let ss = app.session("nn-site-staff");
        let page = app.get(&format!("/requests/{id}"), &ss.0).await.text();
        assert!(
            page.contains("name=\"confirm\" value=\"1\" required> 确认办结"),
            "the resolve form asks: {page}"
        );
        let v = version_of(&app, id);
        let r = app
            .post(
                &format!("/requests/{id}/step"),
                &ss.0,
                &[
                    ("_csrf", ss.1.as_str()),
                    ("action", "resolve"),
                    ("version", v.as_str()),
                    ("outcome", "solved"),
                    ("reply", "已答复"),
                ],
            )
            .await;
        assert!(
            r.text().contains("确认：请勾选确认后再继续"),
            "{}",
            r.text()
        );
        assert_eq!(version_of(&app, id), v, "not resolved");
        let r = act(
            &app,
            id,
            &ss,
            "resolve",
            &[("outcome", "solved"), ("reply", "已答复")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    });
});

both_engines!(a_stale_form_is_refused_not_applied, |t: TestDb| {
    let app = App::new(t);
    let city = loop_city(&app);
    block_on(async {
        let (_, id) = resolved(&app, &city).await;
        let (cs, cs_csrf) = app.session("nn-commission-staff");
        let r = app
            .post(
                &format!("/requests/{id}/step"),
                &cs,
                &[
                    ("_csrf", &cs_csrf),
                    ("action", "rate"),
                    ("rating", "satisfied"),
                    ("version", "1"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT);
    });
});

both_engines!(
    a_closed_requests_page_shows_its_whole_history,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            let (path, _) = closed(&app, &city).await;
            let (cs, _) = app.session("nn-commission-staff");
            let page = app.get(&path, &cs).await.text();
            for s in [
                "已归档",
                "满意",
                "已联系房东维修",
                "应由社区处理",
                "派单",
                "退回",
                "接单",
                "办结",
                "回访评价",
            ] {
                assert!(page.contains(s), "{s} in the page: {page}");
            }
        });
    }
);

both_engines!(a_closed_request_is_listed_among_the_closed, |t: TestDb| {
    let app = App::new(t);
    let city = loop_city(&app);
    block_on(async {
        closed(&app, &city).await;
        let (cs, _) = app.session("nn-commission-staff");
        let list = app.get("/requests?status=closed", &cs).await.text();
        assert!(list.contains("出租屋漏水房东不修"));
    });
});

both_engines!(
    a_requests_print_view_has_its_history_and_no_forms,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            let (path, _) = closed(&app, &city).await;
            let (cs, _) = app.session("nn-commission-staff");
            let print = app.get(&format!("{path}/print"), &cs).await;
            assert_eq!(print.status, StatusCode::OK);
            assert!(
                print.text().contains("应由社区处理") && !print.text().contains("<form"),
                "a print view without forms"
            );
        });
    }
);

both_engines!(
    the_export_of_the_closed_holds_a_closed_request,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            closed(&app, &city).await;
            let (cs, _) = app.session("nn-commission-staff");
            let x = app.get("/requests/export.xlsx?status=closed", &cs).await;
            assert!(xlsx_text(&x.body).contains("出租屋漏水房东不修"));
        });
    }
);

both_engines!(
    the_figures_by_channel_chart_a_closed_request,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            closed(&app, &city).await;
            let (cs, _) = app.session("nn-commission-staff");
            let stats = app.get("/requests/stats?by=channel", &cs).await.text();
            assert!(
                stats.contains("<svg") && stats.contains("网格员上报") && stats.contains("100.0%"),
                "{stats}"
            );
        });
    }
);

both_engines!(the_figures_by_region_chart_a_closed_request, |t: TestDb| {
    let app = App::new(t);
    let city = loop_city(&app);
    block_on(async {
        closed(&app, &city).await;
        let (cs, _) = app.session("nn-commission-staff");
        let by_region = app.get("/requests/stats?by=region", &cs).await.text();
        assert!(
            by_region.contains("<svg") && by_region.contains("100.0%"),
            "{by_region}"
        );
    });
});

/// The SVG drawings of a page.
pub(crate) fn drawings(html: &str) -> Vec<&str> {
    html.split("<svg")
        .skip(1)
        .map(|s| s.split("</svg>").next().unwrap_or_default())
        .collect()
}

/// The rows of the first table body in `html`, each row's cells as text.
pub(crate) fn table_rows(html: &str) -> Vec<Vec<String>> {
    let body = html.split("<tbody>").nth(1).unwrap_or_default();
    let body = body.split("</tbody>").next().unwrap_or_default();
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td>")
                .skip(1)
                .map(|c| c.split('<').next().unwrap_or_default().to_string())
                .collect()
        })
        .collect()
}

/// The first bar chart of `bars_class` (`bars`, `bars two`) in `html`: its rows' words and
/// figures, and its bars' sizes.
pub(crate) fn bar_chart<'a>(html: &'a str, bars_class: &str) -> &'a str {
    html.split(&format!(
        "<div class=\"{bars_class}\" aria-hidden=\"true\">"
    ))
    .nth(1)
    .unwrap_or_else(|| panic!("no {bars_class} in {html}"))
    .split("</div>")
    .next()
    .unwrap()
}

/// The texts of a bar chart's spans of `class` (`name`, `n`, `n recv`…), in order.
pub(crate) fn bar_texts(bars: &str, class: &str) -> Vec<String> {
    bars.split(&format!("<span class=\"{class}\">"))
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect()
}

/// A month chart's line (`now` or `before`) read back into figures: each point's height
/// against the scale's top, as a reader of the drawing would. None without that line.
pub(crate) fn line_figures(chart: &str, line: &str) -> Option<Vec<i64>> {
    let plot = chart.split("<div class=\"plot\"").nth(1)?;
    let plot = plot.split("</svg>").next()?;
    let top: f64 = plot
        .split("<span class=\"top\">")
        .nth(1)?
        .split('<')
        .next()?
        .parse()
        .ok()?;
    let d = plot
        .split(&format!("<path class=\"{line}\" d=\""))
        .nth(1)?
        .split('"')
        .next()?;
    let numbers: Vec<f64> = d
        .replace(['M', 'L'], " ")
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    Some(
        numbers
            .chunks(2)
            .map(|p| (top * (100.0 - p[1]) / 100.0).round() as i64)
            .collect(),
    )
}

/// The months `YYYY-MM` from `from` to `to`.
pub(crate) fn months_between(from: chrono::NaiveDate, to: chrono::NaiveDate) -> Vec<String> {
    std::iter::successors(Some(from), |m| {
        Some(*m + chrono::Months::new(1)).filter(|n| *n <= to)
    })
    .map(|m| m.format("%Y-%m").to_string())
    .collect()
}

/// The figure of one measure's month chart on the request statistics page.
fn trend<'a>(page: &'a str, measure: &str) -> &'a str {
    page.split(&format!("data-measure=\"{measure}\">"))
        .nth(1)
        .unwrap_or_else(|| panic!("a chart of {measure}: {page}"))
        .split("</figure>")
        .next()
        .unwrap()
}

both_engines!(
    the_figures_by_month_draw_lines_beside_the_year_before_with_the_tables_figures,
    |t: TestDb| {
        use chrono::Datelike;
        let app = App::new(t);
        let nn = app
            .t
            .db
            .write_blocking(|c| {
                let nn = seed_city(c, "450100", "nn", "x");
                // Two more this month, beside the seeded one.
                let cat = shiliu_db::requests::categories(c, false)?.remove(0);
                for text in ["路灯不亮", "学校双语教材"] {
                    let input =
                        RequestInput::parse(Channel::Hotline, text, "", "", "", false).unwrap();
                    shiliu_db::requests::create(
                        c,
                        &Actor::system("test"),
                        &input,
                        cat.id,
                        nn.grid,
                        None,
                    )?;
                }
                Ok(nn)
            })
            .unwrap();
        let today = shiliu_db::today();
        let this_month = today.with_day(1).unwrap();
        let months = months_between(this_month.with_month(1).unwrap(), this_month);
        let a_year = chrono::Months::new(12);
        let earlier = months_between(
            this_month.with_month(1).unwrap() - a_year,
            this_month - a_year,
        );
        block_on(async {
            let (cs, _) = app.session("nn-commission-staff");
            let page = app.get("/requests/stats?by=month", &cs).await.text();
            for svg in drawings(&page) {
                assert!(!svg.contains("<text"), "shapes only: {svg}");
            }
            let table = page.split("id=\"stats-table\"").nth(1).unwrap();
            let rows = table_rows(table);
            let listed: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
            assert_eq!(
                listed, months,
                "every month of the period, those without requests too"
            );
            let column =
                |i: usize| -> Vec<i64> { rows.iter().map(|r| r[i].parse().unwrap()).collect() };
            // Nothing a year before yet: one line each, and no year-before columns.
            for (measure, col) in [("received", 1), ("resolved", 2)] {
                let chart = trend(&page, measure);
                assert_eq!(line_figures(chart, "now").unwrap(), column(col), "{chart}");
                assert!(line_figures(chart, "before").is_none(), "{chart}");
                assert!(chart.contains("上年同期无数据"), "{chart}");
            }
            assert!(!page.contains("上年同月受理数"));
            assert_eq!(*column(1).last().unwrap(), 3);

            // The seeded request moved back a year, and counted again.
            let id = nn.request;
            app.t
                .db
                .write_blocking(move |c| {
                    use diesel::prelude::*;
                    use shiliu_db::schema::requests as rq;
                    let at = shiliu_db::requests::get(c, &Scope::everything(), id)?.received_at;
                    diesel::update(rq::table.filter(rq::id.eq(id)))
                        .set(rq::received_at.eq(at - chrono::Months::new(12)))
                        .execute(c)?;
                    shiliu_db::requests::stats::rebuild(c)
                })
                .unwrap();
            let page = app.get("/requests/stats?by=month", &cs).await.text();
            for svg in drawings(&page) {
                assert!(!svg.contains("<text"), "shapes only: {svg}");
            }
            let rows = table_rows(page.split("id=\"stats-table\"").nth(1).unwrap());
            let column =
                |i: usize| -> Vec<i64> { rows.iter().map(|r| r[i].parse().unwrap()).collect() };
            assert!(page.contains("<th>上年同月受理数（件）</th>"), "{page}");
            for (measure, col, before_col) in [("received", 1, 7), ("resolved", 2, 8)] {
                let chart = trend(&page, measure);
                assert_eq!(line_figures(chart, "now").unwrap(), column(col), "{chart}");
                assert_eq!(
                    line_figures(chart, "before").unwrap(),
                    column(before_col),
                    "the year before, month by month: {chart}"
                );
                let year_before =
                    format!("上年同期 {} – {}", earlier[0], earlier[earlier.len() - 1]);
                assert!(chart.contains(&year_before), "{year_before} in {chart}");
            }
            // This month two, the same month a year before the one moved there.
            assert_eq!(*column(1).last().unwrap(), 2);
            assert_eq!(*column(7).last().unwrap(), 1);
            assert_eq!(column(7).iter().sum::<i64>(), 1);
            // Months are a line, never bars.
            assert!(!page.contains("class=\"bars"), "{page}");
        });
    }
);

both_engines!(
    the_figures_by_region_are_bars_for_every_region_below_with_the_tables_figures,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        let counties = child_names(&app, "450100");
        assert!(counties.len() > 5);
        block_on(async {
            closed(&app, &city).await;
            let (cs, _) = app.session("nn-commission-staff");
            for by in ["region", "channel", "category"] {
                let page = app
                    .get(&format!("/requests/stats?by={by}"), &cs)
                    .await
                    .text();
                for svg in drawings(&page) {
                    assert!(!svg.contains("<text"), "shapes only: {svg}");
                }
                let bars = bar_chart(&page, "bars two");
                let text_of = |class: &str| bar_texts(bars, class);
                let rows = table_rows(page.split("id=\"stats-table\"").nth(1).unwrap());
                let column =
                    |i: usize| -> Vec<String> { rows.iter().map(|r| r[i].clone()).collect() };
                // Each group's name and figures, as HTML, are the table's.
                assert_eq!(text_of("name"), column(0), "by {by}");
                assert_eq!(text_of("n recv"), column(1), "by {by}");
                assert_eq!(text_of("n res"), column(2), "by {by}");
                if by == "region" {
                    for county in &counties {
                        assert!(
                            column(0).contains(county),
                            "{county}, without requests too: {:?}",
                            column(0)
                        );
                    }
                }
                // The longest bar is the largest figure's, the others shorter.
                assert!(bars.contains("width=\"100.0\""), "{bars}");
                if by == "region" {
                    assert!(bars.contains("width=\"0.0\""), "a county without: {bars}");
                }
            }
        });
    }
);

both_engines!(
    the_figures_sheet_holds_the_channel_and_the_total,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            closed(&app, &city).await;
            let (cs, _) = app.session("nn-commission-staff");
            let x = app.get("/requests/stats.xlsx?by=channel", &cs).await;
            let cells = xlsx_text(&x.body);
            assert!(
                cells.contains("网格员上报") && cells.contains("合计"),
                "{cells}"
            );
        });
    }
);

both_engines!(
    the_exports_write_counts_and_shares_as_numbers_and_moments_as_dates,
    |t: TestDb| {
        use calamine::Data;
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            closed(&app, &city).await;
            let (cs, _) = app.session("nn-commission-staff");
            let sheet = xlsx_cells(&app.get("/requests/stats.xlsx?by=channel", &cs).await.body);
            let head: Vec<String> = sheet[0].iter().map(ToString::to_string).collect();
            let col = |name: &str| {
                head.iter()
                    .position(|h| h == name)
                    .unwrap_or_else(|| panic!("{name} in {head:?}"))
            };
            let total = sheet.iter().find(|r| r[0] == "合计").unwrap();
            let number = |name: &str| match total[col(name)] {
                Data::Float(n) => n,
                ref other => panic!("{name} is not a number: {other:?}"),
            };
            assert!(number("受理数（件）") >= 1.0, "{total:?}");
            assert!(
                (number("办结率") - number("办结数（件）") / number("受理数（件）")).abs() < 1e-3,
                "a share as the number Excel computes: {total:?}"
            );
            let list = xlsx_cells(
                &app.get("/requests/export.xlsx?status=closed", &cs)
                    .await
                    .body,
            );
            let head: Vec<String> = list[0].iter().map(ToString::to_string).collect();
            for name in ["承办站点", "所属区域", "办结时间", "答复群众", "评价"] {
                assert!(head.iter().any(|h| h == name), "{name} in {head:?}");
            }
            let received = head.iter().position(|h| h == "受理时间").unwrap();
            assert!(
                matches!(list[1][received], Data::DateTime(_)),
                "a moment as a date: {:?}",
                list[1][received]
            );
            let code = head.iter().position(|h| h == "诉求编号").unwrap();
            assert!(
                matches!(list[1][code], Data::String(_)),
                "a code stays text"
            );
        });
    }
);

/// Every string in a JSON document that reads as a timestamp (`2026-…T…`), with its path.
fn timestamps(v: &serde_json::Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::String(s)
            if s.len() >= 19 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' =>
        {
            out.push((path.to_string(), s.clone()));
        }
        serde_json::Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                timestamps(x, &format!("{path}[{i}]"), out);
            }
        }
        serde_json::Value::Object(fields) => {
            for (k, x) in fields {
                timestamps(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

both_engines!(
    every_timestamp_the_api_writes_is_rfc_3339_with_its_offset,
    |t: TestDb| {
        use chrono::SubsecRound;
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            let (_, id) = closed(&app, &city).await;
            let received = app
                .t
                .db
                .write_blocking(move |c| {
                    Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.received_at)
                })
                .unwrap();
            let mut seen = Vec::new();
            for path in [
                "/api/v1/requests?status=closed".to_string(),
                format!("/api/v1/requests/{id}"),
            ] {
                let (st, body) = app.api_get(&path, "nn-commission-staff").await;
                assert_eq!(st, StatusCode::OK, "{body}");
                timestamps(&body, &path, &mut seen);
            }
            assert!(
                seen.len() >= 6,
                "received, resolved, rated, closed and the events: {seen:?}"
            );
            for (at, v) in &seen {
                let parsed = chrono::DateTime::parse_from_rfc3339(v)
                    .unwrap_or_else(|e| panic!("{at} = {v}: {e}"));
                assert_eq!(parsed.offset().local_minus_utc(), 8 * 3600, "{at} = {v}");
            }
            let (_, one) = app
                .api_get(&format!("/api/v1/requests/{id}"), "nn-commission-staff")
                .await;
            let written = chrono::DateTime::parse_from_rfc3339(
                one["request"]["received_at"].as_str().unwrap(),
            )
            .unwrap();
            assert_eq!(
                written.naive_utc(),
                received.trunc_subsecs(0),
                "the same moment"
            );
        });
    }
);

both_engines!(
    the_api_lists_refuse_filter_values_they_do_not_know_naming_the_field,
    |t: TestDb| {
        let app = App::new(t);
        loop_city(&app);
        block_on(async {
            let user = "nn-commission-staff";
            for (path, field) in [
                ("/api/v1/requests?overdue=AAA", "overdue"),
                ("/api/v1/requests?mine=yes-please", "mine"),
                ("/api/v1/requests?category=abc", "category"),
                ("/api/v1/requests?category=999999999", "category"),
                ("/api/v1/requests?status=nonsense", "status"),
                ("/api/v1/disputes?status=nonsense", "status"),
                ("/api/v1/legal-aid?status=nonsense", "status"),
                ("/api/v1/persons?status=nonsense", "status"),
                ("/api/v1/persons?people=99", "people"),
                ("/api/v1/persons?hukou=45x", "hukou"),
                ("/api/v1/needs?kind=nonsense", "kind"),
                ("/api/v1/sites?kind=nonsense", "kind"),
                ("/api/v1/units?kind=minzu_home", "kind"),
                ("/api/v1/out-migrants?hukou=45x", "hukou"),
                ("/api/v1/out-migrants?people=99", "people"),
            ] {
                let (st, e) = app.api_get(path, user).await;
                assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {e}");
                assert!(e["error"]["details"][field].is_string(), "{path}: {e}");
            }
            for path in [
                "/api/v1/requests?overdue=1",
                "/api/v1/requests?overdue=0&status=received",
                "/api/v1/persons?people=01&status=resident",
                "/api/v1/sites?kind=minzu_home",
                "/api/v1/out-migrants?hukou=45&employment=employed",
            ] {
                let (st, e) = app.api_get(path, user).await;
                assert_eq!(st, StatusCode::OK, "{path}: {e}");
            }
        });
    }
);

both_engines!(the_figures_name_a_bad_month, |t: TestDb| {
    let app = App::new(t);
    loop_city(&app);
    block_on(async {
        let (cs, _) = app.session("nn-commission-staff");
        let bad = app.get("/requests/stats?from=yesterday", &cs).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text().contains("月份格式应为"), "{}", bad.text());
    });
});

// A resident submits, follows and rates without an account.

/// The cookie the public form's token comes with, and the token.
const RESIDENT: &str = "shiliu_csrf=resident-token-0123456789";
const RESIDENT_TOKEN: &str = "resident-token-0123456789";

/// 南宁, and the public form about a school transfer in it.
struct Public {
    nn: CityData,
    region: String,
    cat_id: String,
}

fn public_city(app: &App) -> Public {
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    let cat = app
        .t
        .db
        .write_blocking(|c| Ok(shiliu_db::requests::categories(c, false)?.remove(1)))
        .unwrap();
    Public {
        region: nn.region.to_string(),
        cat_id: cat.id.to_string(),
        nn,
    }
}

impl Public {
    /// The public form's fields, from `phone`, with or without consent.
    fn form(&self, phone: &str, consent: bool) -> Vec<(&'static str, String)> {
        let mut f = vec![
            ("_csrf", RESIDENT_TOKEN.to_string()),
            ("region", self.region.clone()),
            ("category_id", self.cat_id.clone()),
            ("description", "孩子转学需要哪些材料？".to_string()),
            ("contact_phone", phone.to_string()),
        ];
        if consent {
            f.push(("consent", "1".to_string()));
        }
        f
    }
}

/// The public form posted with its token.
async fn post_public(app: &App, f: &[(&'static str, String)]) -> Resp {
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.post("/r", RESIDENT, &pairs).await
}

/// A request the resident submitted with consent: where the form sent them, and its code.
async fn submitted(app: &App, p: &Public) -> (String, String) {
    let r = post_public(app, &p.form("13912345678", true)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
    let code = to
        .trim_start_matches("/r/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    (to, code)
}

/// The submitted request, handled by staff up to a reply: its code.
async fn answered(app: &App, p: &Public) -> String {
    let (_, code) = submitted(app, p).await;
    let staff = Actor::system("staff");
    let (c2, site) = (code.clone(), p.nn.site);
    app.t
        .db
        .write_blocking(move |c| {
            let mut r = shiliu_db::requests::by_code(c, &c2)?;
            for (a, input) in [
                (
                    shiliu_domain::requests::Action::Dispatch,
                    shiliu_domain::requests::ActionInput::default(),
                ),
                (
                    shiliu_domain::requests::Action::Accept,
                    shiliu_domain::requests::ActionInput::default(),
                ),
                (
                    shiliu_domain::requests::Action::Resolve,
                    shiliu_domain::requests::ActionInput {
                        outcome: Some(shiliu_domain::requests::Outcome::Solved),
                        reply: Some("请带户口本和原学校转学证明到教育局办理".into()),
                        ..Default::default()
                    },
                ),
            ] {
                // The request was made at the community, which has no site: dispatched by hand.
                let step = shiliu_db::requests::StepInput {
                    action_input: input,
                    site_id: Some(site),
                    ..Default::default()
                };
                r = shiliu_db::requests::step(c, &staff, r.id, r.version, a, &step)?;
            }
            Ok(())
        })
        .unwrap();
    code
}

/// The answered request, rated satisfied by the resident: its code.
async fn rated(app: &App, p: &Public) -> String {
    let code = answered(app, p).await;
    let r = app
        .post(
            &format!("/r/{code}/rate"),
            RESIDENT,
            &[
                ("_csrf", RESIDENT_TOKEN),
                ("rating", "satisfied"),
                ("comment", "很快"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    code
}

/// The public form's fields for a multipart post (the token goes in the address).
fn multipart_fields<'a>(f: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    f.iter()
        .filter(|(k, _)| *k != "_csrf")
        .map(|(k, v)| (*k, v.as_str()))
        .collect()
}

both_engines!(
    a_resident_drills_down_to_a_community_without_an_account,
    |t: TestDb| {
        let app = App::new(t);
        let p = public_city(&app);
        block_on(async {
            // The place: drill down from the region to a community, with no account.
            let r = app.get("/r", "").await;
            assert_eq!(r.status, StatusCode::OK);
            assert!(r.text().contains("南宁市") && r.text().contains("柳州市"));
            let r = app.get(&format!("/r?region={}", p.nn.region), "").await;
            assert!(
                r.text().contains("提交诉求") && r.text().contains("nn社区"),
                "{}",
                r.text()
            );
        });
    }
);

both_engines!(
    a_sites_poster_opens_the_request_form_at_the_sites_place,
    |t: TestDb| {
        let app = App::new(t);
        let p = public_city(&app);
        block_on(async {
            let text = app.get(&format!("/r?site={}", p.nn.site), "").await.text();
            assert!(text.contains("提交诉求"), "the form, no picking: {text}");
            assert!(
                text.contains("nn民族之家（") && !text.contains("nn网格"),
                "the place reads as the site, not its grid: {text}"
            );
            let at = format!("name=\"region\" value=\"{}\"", p.nn.grid);
            assert!(text.contains(&at), "at the site's place: {text}");
        });
    }
);

both_engines!(
    a_request_from_a_sites_poster_goes_to_that_site,
    |t: TestDb| {
        let app = App::new(t);
        let p = public_city(&app);
        block_on(async {
            let site = p.nn.site.to_string();
            let grid = p.nn.grid.to_string();
            let mut f: Vec<(&'static str, String)> = p
                .form("13912345678", true)
                .into_iter()
                .map(|(k, v)| {
                    if k == "region" {
                        (k, grid.clone())
                    } else {
                        (k, v)
                    }
                })
                .collect();
            f.push(("site", site));
            let r = post_public(&app, &f).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let code = r
                .location()
                .trim_start_matches("/r/")
                .split('?')
                .next()
                .unwrap()
                .to_string();
            let routed = app
                .t
                .db
                .write_blocking(move |c| Ok(shiliu_db::requests::by_code(c, &code)?.site_id))
                .unwrap();
            assert_eq!(routed, Some(p.nn.site));
        });
    }
);

both_engines!(a_public_form_without_its_token_is_not_taken, |t: TestDb| {
    let app = App::new(t);
    let p = public_city(&app);
    block_on(async {
        // Without the form's token nothing is taken.
        let r = app
            .post("/r", "", &[("region", &p.region), ("description", "x")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    });
});

both_engines!(without_consent_the_field_says_why, |t: TestDb| {
    let app = App::new(t);
    let p = public_city(&app);
    block_on(async {
        let r = post_public(&app, &p.form("13912345678", false)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text().contains("需要同意使用您的信息办理诉求"),
            "{}",
            r.text()
        );
    });
});

both_engines!(
    a_submitted_request_shows_its_code_and_status,
    |t: TestDb| {
        let app = App::new(t);
        let p = public_city(&app);
        block_on(async {
            let (to, code) = submitted(&app, &p).await;
            let page = app.get(&to, "").await.text();
            assert!(
                page.contains(&code)
                    && page.contains("已收到您的诉求")
                    && page.contains("已提交，待受理")
                    && !page.contains("已受理")
            );
        });
    }
);

both_engines!(the_public_page_shows_no_contact_details, |t: TestDb| {
    let app = App::new(t);
    let p = public_city(&app);
    block_on(async {
        let (to, _) = submitted(&app, &p).await;
        let page = app.get(&to, "").await.text();
        assert!(
            !page.contains("13912345678"),
            "no contact details on the public page"
        );
    });
});

both_engines!(
    a_file_that_is_not_a_photo_is_refused_and_named,
    |t: TestDb| {
        let app = App::new(t);
        let p = public_city(&app);
        block_on(async {
            // A file that is not a photo is refused and named (multipart, the token in the
            // address).
            let form = p.form("13912345600", true);
            let r = app
                .multipart(
                    "/r",
                    RESIDENT,
                    RESIDENT_TOKEN,
                    &multipart_fields(&form),
                    &[("photos", "a.pdf", b"%PDF-1.4")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("a.pdf"), "{}", r.text());
        });
    }
);

/// The files saved with the request a resident's form made (`r`: the form's redirect to the
/// request's code).
fn files_of_sent(app: &App, r: &Resp) -> Vec<shiliu_db::requests::files::Attachment> {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let code = r
        .location()
        .trim_start_matches("/r/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    app.t
        .db
        .write_blocking(move |c| {
            let r = shiliu_db::requests::by_code(c, &code)?;
            shiliu_db::requests::files::list(c, &r)
        })
        .unwrap()
}

both_engines!(a_photo_comes_with_the_request, |t: TestDb| {
    let app = App::new(t);
    let p = public_city(&app);
    block_on(async {
        // A photo comes with the request (multipart, the token in the address).
        let form = p.form("13912345600", true);
        let r = app
            .multipart(
                "/r",
                RESIDENT,
                RESIDENT_TOKEN,
                &multipart_fields(&form),
                &[("photos", "漏水.png", PNG)],
            )
            .await;
        let kept = files_of_sent(&app, &r);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].uploader, "resident");
    });
});

/// The resident's form sent with a photo and without the consent: the page that comes back
/// and the token it holds the photo under.
async fn photo_sent_without_consent(app: &App, p: &Public) -> (Resp, String) {
    let form = p.form("13912345600", false);
    let r = app
        .multipart(
            "/r",
            RESIDENT,
            RESIDENT_TOKEN,
            &multipart_fields(&form),
            &[("photos", "漏水.png", PNG)],
        )
        .await;
    let text = r.text();
    let token = text
        .split("name=\"kept_photos\" value=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap_or_default()
        .to_string();
    (r, token)
}

both_engines!(
    a_photo_sent_with_a_form_in_error_is_kept_and_shown,
    |t: TestDb| {
        let app = App::new(t);
        let p = public_city(&app);
        block_on(async {
            let (r, token) = photo_sent_without_consent(&app, &p).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("<li>漏水.png</li>"), "{}", r.text());
            assert!(token.len() >= 24, "{}", r.text());
        });
    }
);

both_engines!(
    the_kept_photo_is_saved_once_the_form_is_put_right,
    |t: TestDb| {
        let app = App::new(t);
        let p = public_city(&app);
        block_on(async {
            let (_, token) = photo_sent_without_consent(&app, &p).await;
            let form = p.form("13912345600", true);
            let mut fields = multipart_fields(&form);
            fields.push(("kept_photos", &token));
            let r = app
                .multipart("/r", RESIDENT, RESIDENT_TOKEN, &fields, &[])
                .await;
            let files = files_of_sent(&app, &r);
            assert_eq!(files.len(), 1);
            assert_eq!(files[0].name, "漏水.png");
        });
    }
);

both_engines!(a_kept_photo_is_not_given_to_another_browser, |t: TestDb| {
    let app = App::new(t);
    let p = public_city(&app);
    block_on(async {
        let (_, token) = photo_sent_without_consent(&app, &p).await;
        let other = "shiliu_csrf=another-browser-0123456789";
        let mut form = p.form("13912345600", true);
        form[0].1 = "another-browser-0123456789".to_string();
        let mut fields = multipart_fields(&form);
        fields.push(("kept_photos", &token));
        let r = app
            .multipart("/r", other, "another-browser-0123456789", &fields, &[])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("之前选的照片已过期"), "{}", r.text());
    });
});

both_engines!(
    the_position_found_on_the_phone_is_kept_with_the_place,
    |t: TestDb| {
        let app = App::new(t);
        let p = public_city(&app);
        block_on(async {
            let mut form = p.form("13912345600", true);
            form.push(("place", "民族大道口".to_string()));
            form.push(("latitude", "22.8170".to_string()));
            form.push(("longitude", "108.3665".to_string()));
            let r = post_public(&app, &form).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let code = r
                .location()
                .trim_start_matches("/r/")
                .split('?')
                .next()
                .unwrap()
                .to_string();
            let place = app
                .t
                .db
                .write_blocking(move |c| Ok(shiliu_db::requests::by_code(c, &code)?.place))
                .unwrap();
            assert_eq!(place.as_deref(), Some("民族大道口 (22.817000,108.366500)"));
        });
    }
);

both_engines!(a_position_out_of_range_is_named, |t: TestDb| {
    let app = App::new(t);
    let p = public_city(&app);
    block_on(async {
        let mut form = p.form("13912345600", true);
        form.push(("latitude", "122.8".to_string()));
        form.push(("longitude", "108.3".to_string()));
        let r = post_public(&app, &form).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("位置无效"), "{}", r.text());
    });
});

both_engines!(the_same_phone_may_not_flood_the_desk, |t: TestDb| {
    let app = App::new(t);
    let p = public_city(&app);
    block_on(async {
        // The same phone may not flood the desk: the first of the day from this phone, then
        // two more; the fourth is refused.
        submitted(&app, &p).await;
        for _ in 0..2 {
            assert_eq!(
                post_public(&app, &p.form("13912345678", true)).await.status,
                StatusCode::SEE_OTHER
            );
        }
        assert_eq!(
            post_public(&app, &p.form("13912345678", true)).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
    });
});

both_engines!(
    the_resident_reads_the_reply_and_is_asked_to_rate_it,
    |t: TestDb| {
        let app = App::new(t);
        let p = public_city(&app);
        block_on(async {
            // Staff handle it; the resident reads the reply.
            let code = answered(&app, &p).await;
            let page = app.get(&format!("/r/{code}"), "").await.text();
            assert!(
                page.contains("请带户口本和原学校转学证明到教育局办理")
                    && page.contains("提交评价")
            );
        });
    }
);

both_engines!(
    a_rated_request_thanks_the_resident_and_asks_no_more,
    |t: TestDb| {
        let app = App::new(t);
        let p = public_city(&app);
        block_on(async {
            let code = rated(&app, &p).await;
            let page = app.get(&format!("/r/{code}?rated=1"), "").await.text();
            assert!(
                page.contains("感谢您的评价")
                    && page.contains("已回访")
                    && !page.contains("提交评价")
            );
        });
    }
);

both_engines!(a_request_is_rated_once, |t: TestDb| {
    let app = App::new(t);
    let p = public_city(&app);
    block_on(async {
        let code = rated(&app, &p).await;
        let r = app
            .post(
                &format!("/r/{code}/rate"),
                RESIDENT,
                &[("_csrf", RESIDENT_TOKEN), ("rating", "dissatisfied")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "rated once");
    });
});

both_engines!(an_unknown_code_is_not_found, |t: TestDb| {
    let app = App::new(t);
    public_city(&app);
    block_on(async {
        // Unknown codes are not found, through the form and directly.
        let r = app.get("/r/track?code=NOSUCHCODE", "").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(r.text().contains("没有找到这个编号的诉求"));
        assert_eq!(
            app.get("/r/ZZZZZZZZZZ", "").await.status,
            StatusCode::NOT_FOUND
        );
    });
});

both_engines!(a_code_in_small_letters_finds_its_request, |t: TestDb| {
    let app = App::new(t);
    let p = public_city(&app);
    block_on(async {
        let (_, code) = submitted(&app, &p).await;
        let r = app
            .get(&format!("/r/track?code={}", code.to_lowercase()), "")
            .await;
        assert_eq!(
            r.headers[header::LOCATION].to_str().unwrap(),
            format!("/r/{code}")
        );
    });
});

both_engines!(the_audit_log_names_the_resident, |t: TestDb| {
    let app = App::new(t);
    let p = public_city(&app);
    block_on(async {
        submitted(&app, &p).await;
        // The audit log names the resident, with the client address.
        let audit = app
            .t
            .db
            .write_blocking(|c| {
                shiliu_db::audit::list(c, &shiliu_db::audit::AuditFilter::default(), 100)
            })
            .unwrap();
        assert!(
            audit
                .iter()
                .any(|a| a.actor == "resident" && a.action == "request.create")
        );
    });
});

// Service levels and the calendar belong to their region.

/// The province's administrator, 南宁 and 柳州, and the province's `renting` category as
/// seeded.
struct Levels {
    nn: CityData,
    lz: CityData,
    renting: shiliu_db::requests::Category,
}

fn levels_cities(app: &App) -> Levels {
    let (nn, lz) = app
        .t
        .db
        .write_blocking(|c| {
            province_admin(c);
            Ok((
                seed_city(c, "450100", "nn", "x"),
                seed_city(c, "450200", "lz", "x"),
            ))
        })
        .unwrap();
    let renting = app
        .t
        .db
        .write_blocking(|c| {
            Ok(shiliu_db::requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == "renting")
                .unwrap())
        })
        .unwrap();
    Levels { nn, lz, renting }
}

impl Levels {
    /// The category's settings page.
    fn path(&self) -> String {
        format!("/settings/categories/{}", self.renting.id)
    }
}

/// The `renting` category's form, at version `v`.
fn renting_form<'a>(
    csrf: &'a str,
    v: &'a str,
    amount: &'a str,
    unit: &'a str,
    name: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("_csrf", csrf),
        ("version", v),
        ("code", "renting"),
        ("name", name),
        ("amount", amount),
        ("unit", unit),
        ("active", "1"),
    ]
}

/// The next day, in local time.
fn tomorrow() -> chrono::NaiveDate {
    shiliu_domain::calendar::local(shiliu_db::now())
        .date()
        .succ_opt()
        .unwrap()
}

/// 南宁's own level for the category (two working hours) and its own holiday tomorrow (a local
/// festival); then the province's administrator makes the province's level three days.
async fn local_settings(app: &App, l: &Levels) {
    let (admin, admin_csrf) = app.session("gx-admin");
    let (cs, csrf) = app.session("nn-commission-staff");
    let path = l.path();
    let r = app
        .post(
            &format!("{path}/level"),
            &cs,
            &[("_csrf", &csrf), ("amount", "2"), ("unit", "hours")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let day = tomorrow().format("%Y-%m-%d").to_string();
    let r = app
        .post(
            "/settings/calendar",
            &cs,
            &[
                ("_csrf", &csrf),
                ("day", &day),
                ("kind", "holiday"),
                ("note", "本地节日"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let v = l.renting.version.to_string();
    let f = renting_form(&admin_csrf, &v, "3", "days", "租房租住");
    let r = app.post(&path, &admin, &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

/// Requests taken in after the local settings, at 南宁's grid and at 柳州's, and the
/// calendars as they now stand.
fn taken_in_now(
    app: &App,
    l: &Levels,
) -> (
    shiliu_db::requests::Request,
    shiliu_db::requests::Request,
    shiliu_db::requests::settings::Calendars,
) {
    let sys = Actor::system("test");
    let (renting, nn_grid, lz_grid) = (l.renting.id, l.nn.grid, l.lz.grid);
    app.t
        .db
        .write_blocking(move |c| {
            let input = shiliu_domain::requests::RequestInput::parse(
                shiliu_domain::requests::Channel::Hotline,
                "押金",
                "",
                "",
                "",
                false,
            )
            .unwrap();
            let a = shiliu_db::requests::create(c, &sys, &input, renting, nn_grid, None)?;
            let b = shiliu_db::requests::create(c, &sys, &input, renting, lz_grid, None)?;
            Ok((a, b, shiliu_db::requests::settings::Calendars::load(c)?))
        })
        .unwrap()
}

/// When a request taken in under `cal` falls due, `m` working minutes on.
fn due_after(
    cal: &shiliu_domain::calendar::WorkCalendar,
    r: &shiliu_db::requests::Request,
    m: i64,
) -> chrono::NaiveDateTime {
    shiliu_domain::calendar::utc(
        cal.add_working_minutes(shiliu_domain::calendar::local(r.received_at), m),
    )
}

both_engines!(
    a_grid_worker_cannot_open_the_category_settings,
    |t: TestDb| {
        let app = App::new(t);
        levels_cities(&app);
        block_on(async {
            let (gw, _) = app.session("nn-grid-worker");
            assert_eq!(
                app.get("/settings/categories", &gw).await.status,
                StatusCode::FORBIDDEN
            );
        });
    }
);

both_engines!(a_city_may_not_change_the_provinces_category, |t: TestDb| {
    let app = App::new(t);
    let l = levels_cities(&app);
    block_on(async {
        let (cs, csrf) = app.session("nn-commission-staff");
        // A city may not change the province's category: named, and nothing changes.
        let v = l.renting.version.to_string();
        let r = app
            .post(
                &l.path(),
                &cs,
                &renting_form(&csrf, &v, "1", "hours", "改名"),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("全区统一的设置"), "{}", r.text());
    });
});

both_engines!(
    a_city_may_not_add_to_the_provinces_reply_templates,
    |t: TestDb| {
        let app = App::new(t);
        let l = levels_cities(&app);
        block_on(async {
            let (cs, csrf) = app.session("nn-commission-staff");
            // Nor its questions or reply templates.
            let r = app
                .post(
                    &format!("{}/templates", l.path()),
                    &cs,
                    &[("_csrf", &csrf), ("title", "越权模板"), ("body", "越权")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        });
    }
);

both_engines!(
    the_citys_page_shows_the_provinces_level_and_offers_a_local_one,
    |t: TestDb| {
        let app = App::new(t);
        let l = levels_cities(&app);
        block_on(async {
            let (cs, _) = app.session("nn-commission-staff");
            let page = app.get("/settings/categories", &cs).await.text();
            assert!(
                page.contains("租房租住") && page.contains("全区时限"),
                "{page}"
            );
            assert!(page.contains(&format!("{}/level", l.path())));
        });
    }
);

both_engines!(a_bad_local_level_names_the_field, |t: TestDb| {
    let app = App::new(t);
    let l = levels_cities(&app);
    block_on(async {
        let (cs, csrf) = app.session("nn-commission-staff");
        let r = app
            .post(
                &format!("{}/level", l.path()),
                &cs,
                &[("_csrf", &csrf), ("amount", "abc"), ("unit", "days")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("办理时限：应为整数"), "{}", r.text());
    });
});

both_engines!(
    a_day_that_does_not_exist_is_refused_and_named,
    |t: TestDb| {
        let app = App::new(t);
        levels_cities(&app);
        block_on(async {
            let (cs, csrf) = app.session("nn-commission-staff");
            let r = app
                .post(
                    "/settings/calendar",
                    &cs,
                    &[("_csrf", &csrf), ("day", "2026-02-30"), ("kind", "holiday")],
                )
                .await;
            assert!(r.text().contains("日期格式应为"));
        });
    }
);

both_engines!(
    a_citys_own_holiday_is_in_its_calendar_not_the_provinces,
    |t: TestDb| {
        let app = App::new(t);
        let l = levels_cities(&app);
        block_on(async {
            local_settings(&app, &l).await;
            let (admin, _) = app.session("gx-admin");
            let (cs, _) = app.session("nn-commission-staff");
            let year = format!("/settings/calendar?year={}", &tomorrow().format("%Y"));
            assert!(app.get(&year, &cs).await.text().contains("本地节日"));
            assert!(
                !app.get(&year, &admin).await.text().contains("本地节日"),
                "not the province's"
            );
        });
    }
);

both_engines!(
    a_request_in_the_city_falls_due_by_the_citys_own_level,
    |t: TestDb| {
        let app = App::new(t);
        let l = levels_cities(&app);
        block_on(local_settings(&app, &l));
        // Requests taken in now: 南宁's by its own level and calendar.
        let (nn_req, _, cals) = taken_in_now(&app, &l);
        let nn_cal = cals.at(&nn_req.region_path);
        assert_eq!(nn_req.due_at, Some(due_after(&nn_cal, &nn_req, 120)));
    }
);

both_engines!(
    a_request_in_another_city_falls_due_by_the_provinces_level,
    |t: TestDb| {
        let app = App::new(t);
        let l = levels_cities(&app);
        let platform_minutes = l.renting.service_minutes;
        block_on(local_settings(&app, &l));
        // 柳州's by the province's.
        let (_, lz_req, cals) = taken_in_now(&app, &l);
        let lz_cal = cals.at(&lz_req.region_path);
        let per_day = shiliu_domain::calendar::WorkCalendar::default().minutes_per_day();
        assert_eq!(
            lz_req.due_at,
            Some(due_after(&lz_cal, &lz_req, 3 * per_day))
        );
        assert_ne!(
            Some(3 * per_day as i32),
            platform_minutes,
            "the province's level changed"
        );
    }
);

both_engines!(a_citys_own_holiday_is_not_another_citys, |t: TestDb| {
    let app = App::new(t);
    let l = levels_cities(&app);
    block_on(local_settings(&app, &l));
    let (nn_req, lz_req, cals) = taken_in_now(&app, &l);
    let (nn_cal, lz_cal) = (cals.at(&nn_req.region_path), cals.at(&lz_req.region_path));
    let tomorrow = tomorrow();
    assert!(!nn_cal.is_working_day(tomorrow), "南宁's own holiday");
    let weekday = !matches!(
        chrono::Datelike::weekday(&tomorrow),
        chrono::Weekday::Sat | chrono::Weekday::Sun
    );
    assert_eq!(lz_cal.is_working_day(tomorrow), weekday, "not 柳州's");
});

both_engines!(
    a_cleared_local_level_gives_way_to_the_provinces,
    |t: TestDb| {
        let app = App::new(t);
        let l = levels_cities(&app);
        block_on(async {
            local_settings(&app, &l).await;
            let (cs, csrf) = app.session("nn-commission-staff");
            // Back to the province's level.
            let r = app
                .post(
                    &format!("{}/level", l.path()),
                    &cs,
                    &[("_csrf", &csrf), ("clear", "1")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            assert!(
                !app.get("/settings/categories", &cs)
                    .await
                    .text()
                    .contains("恢复全区时限")
            );
        });
    }
);

both_engines!(
    the_changes_to_levels_and_the_calendar_are_audited,
    |t: TestDb| {
        let app = App::new(t);
        let l = levels_cities(&app);
        block_on(local_settings(&app, &l));
        let audit = app
            .t
            .db
            .write_blocking(|c| {
                shiliu_db::audit::list(c, &shiliu_db::audit::AuditFilter::default(), 100)
            })
            .unwrap();
        for action in ["category.update", "category.level", "calendar.set"] {
            assert!(audit.iter().any(|a| a.action == action), "{action} audited");
        }
    }
);

// Requests through the JSON API.

/// 南宁, its grid's code, and a hotline system's token made on the tokens page.
struct Api {
    nn: CityData,
    grid_code: String,
    token: String,
}

async fn api_city(app: &App) -> Api {
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    let grid_code = app
        .t
        .db
        .write_blocking(move |c| Ok(org::get_region(c, &Scope::everything(), nn.grid)?.code))
        .unwrap();
    let token = page_token(
        app,
        "热线系统",
        "30",
        &[
            "view_requests",
            "create_requests",
            "dispatch_requests",
            "handle_requests",
        ],
    )
    .await;
    Api {
        nn,
        grid_code,
        token,
    }
}

/// A call with the token; JSON back (null if none).
async fn send(
    app: &App,
    api: &Api,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", api.token));
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let r = app.call(req.body(body).unwrap()).await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
    (r.status, v)
}

/// The first request category's id, from the API.
async fn first_category(app: &App, api: &Api) -> i64 {
    let (_, cats) = send(app, api, "GET", "/api/v1/request-categories", None).await;
    cats[0]["id"].as_i64().unwrap()
}

/// A request made through the API with a media link, as the API returns it.
async fn created_by_api(app: &App, api: &Api) -> serde_json::Value {
    let cat = first_category(app, api).await;
    let (s, created) = send(
        app,
        api,
        "POST",
        "/api/v1/requests",
        Some(serde_json::json!({"channel": "hotline", "category_id": cat, "region_code": api.grid_code, "description": "想咨询技能培训补贴", "contact_phone": "13877665544", "media_url": "https://pan.example.cn/s/abc"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    created
}

/// A step through the API.
async fn api_step(
    app: &App,
    api: &Api,
    id: i64,
    action: &str,
    version: i64,
    extra: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let mut b = serde_json::json!({"action": action, "version": version});
    b.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    send(
        app,
        api,
        "POST",
        &format!("/api/v1/requests/{id}/steps"),
        Some(b),
    )
    .await
}

/// The request made through the API, dispatched to the city's site (version 1 to 2): its id
/// and the step's answer.
async fn dispatched_by_api(app: &App, api: &Api) -> (i64, StatusCode, serde_json::Value) {
    let id = created_by_api(app, api).await["id"].as_i64().unwrap();
    let site = serde_json::json!({"site_id": api.nn.site});
    let (s, r) = api_step(app, api, id, "dispatch", 1, site).await;
    (id, s, r)
}

/// The dispatched request, accepted and resolved through the API: its id and the last step's
/// answer.
async fn resolved_by_api(app: &App, api: &Api) -> (i64, serde_json::Value) {
    let (id, _, _) = dispatched_by_api(app, api).await;
    let (_, r) = api_step(app, api, id, "accept", 2, serde_json::json!({})).await;
    let (_, r) = api_step(
        app,
        api,
        id,
        "resolve",
        r["version"].as_i64().unwrap(),
        serde_json::json!({"outcome": "solved", "reply": "已告知补贴申领流程"}),
    )
    .await;
    (id, r)
}

both_engines!(the_api_lists_the_request_categories, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let api = api_city(&app).await;
        let (s, _) = send(&app, &api, "GET", "/api/v1/request-categories", None).await;
        assert_eq!(s, StatusCode::OK);
    });
});

both_engines!(
    invalid_input_gets_the_envelope_naming_the_fields,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let api = api_city(&app).await;
            let cat = first_category(&app, &api).await;
            let (s, e) = send(&app, &api, "POST", "/api/v1/requests", Some(serde_json::json!({"channel": "fax", "category_id": cat, "region_code": api.grid_code, "description": ""}))).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(e["error"]["code"], "invalid");
            assert!(e["error"]["details"]["channel"].is_string(), "{e}");
        });
    }
);

both_engines!(a_malformed_body_gets_the_envelope_too, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let api = api_city(&app).await;
        let (s, e) = send(
            &app,
            &api,
            "POST",
            "/api/v1/requests",
            Some(serde_json::json!({"channel": "hotline"})),
        )
        .await;
        assert!(
            s.is_client_error() && e["error"]["code"].is_string(),
            "a malformed body gets the envelope too: {e}"
        );
    });
});

both_engines!(
    a_bad_media_link_is_named_with_the_other_fields_problems,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let api = api_city(&app).await;
            let cat = first_category(&app, &api).await;
            // A bad media link is named with the other fields' problems, not after them.
            let (s, e) = send(&app, &api, "POST", "/api/v1/requests", Some(serde_json::json!({"channel": "hotline", "category_id": cat, "region_code": api.grid_code, "description": "", "media_url": "data:image/png;base64,AAAA"}))).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(e["error"]["details"]["description"].is_string(), "{e}");
            assert!(
                e["error"]["details"]["media_url"]
                    .as_str()
                    .unwrap()
                    .contains("https://"),
                "{e}"
            );
        });
    }
);

both_engines!(
    a_request_made_through_the_api_is_received_with_its_link,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let api = api_city(&app).await;
            let created = created_by_api(&app, &api).await;
            assert_eq!(created["media_url"], "https://pan.example.cn/s/abc");
            assert_eq!(created["status"], "received");
        });
    }
);

both_engines!(a_request_is_dispatched_through_the_api, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let api = api_city(&app).await;
        let (_, s, r) = dispatched_by_api(&app, &api).await;
        assert_eq!(
            (s, r["status"].as_str()),
            (StatusCode::OK, Some("dispatched")),
            "{r}"
        );
    });
});

both_engines!(a_step_at_an_old_version_is_refused_as_stale, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let api = api_city(&app).await;
        let (id, _, _) = dispatched_by_api(&app, &api).await;
        let (s, e) = api_step(&app, &api, id, "accept", 1, serde_json::json!({})).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("stale"))
        );
    });
});

both_engines!(
    a_step_not_allowed_from_dispatched_is_refused,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let api = api_city(&app).await;
            let (id, _, _) = dispatched_by_api(&app, &api).await;
            let (s, e) = api_step(&app, &api, id, "close", 2, serde_json::json!({})).await;
            assert_eq!(
                s,
                StatusCode::UNPROCESSABLE_ENTITY,
                "not allowed from dispatched: {e}"
            );
        });
    }
);

both_engines!(a_request_is_resolved_through_the_api, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let api = api_city(&app).await;
        let (_, r) = resolved_by_api(&app, &api).await;
        assert_eq!(r["status"], "resolved");
    });
});

both_engines!(
    staff_see_the_media_link_open_apart_from_the_page,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let api = api_city(&app).await;
            let (id, _) = resolved_by_api(&app, &api).await;
            let (cookie, _) = app.session("nn-commission-staff");
            // Staff see the link as one that opens apart from the page.
            let page = app.get(&format!("/requests/{id}"), &cookie).await.text();
            assert!(page.contains(r#"<a href="https://pan.example.cn/s/abc" target="_blank" rel="noopener noreferrer nofollow">"#), "{page}");
        });
    }
);

both_engines!(the_print_view_names_the_media_link, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let api = api_city(&app).await;
        let (id, _) = resolved_by_api(&app, &api).await;
        let (cookie, _) = app.session("nn-commission-staff");
        let print = app
            .get(&format!("/requests/{id}/print"), &cookie)
            .await
            .text();
        assert!(
            print.contains("外部媒体链接</dt><dd>https://pan.example.cn/s/abc"),
            "{print}"
        );
    });
});

both_engines!(the_api_gives_a_requests_events_in_order, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let api = api_city(&app).await;
        let (id, _) = resolved_by_api(&app, &api).await;
        let (s, detail) = send(&app, &api, "GET", &format!("/api/v1/requests/{id}"), None).await;
        assert_eq!(s, StatusCode::OK);
        let actions: Vec<&str> = detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["receive", "dispatch", "accept", "resolve"]);
    });
});

both_engines!(the_api_lists_requests_by_status, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let api = api_city(&app).await;
        resolved_by_api(&app, &api).await;
        let (_, list) = send(&app, &api, "GET", "/api/v1/requests?status=resolved", None).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
    });
});

both_engines!(
    the_api_pages_an_order_by_its_cursor_with_the_total,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let api = api_city(&app).await;
            let (resolved, _) = resolved_by_api(&app, &api).await;
            // The city's seeded request is received; the resolved one comes after it in the
            // handling loop, so first when the order is turned round.
            let (s, first) = send(
                &app,
                &api,
                "GET",
                "/api/v1/requests?sort=status&dir=desc",
                None,
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{first}");
            assert_eq!(first["total"], 2, "{first}");
            assert_eq!(first["items"][0]["id"], resolved, "{first}");
            assert!(first["next"].is_null(), "one page: {first}");
            let (_, asc) = send(
                &app,
                &api,
                "GET",
                "/api/v1/requests?sort=status&dir=asc",
                None,
            )
            .await;
            assert_eq!(asc["items"][1]["id"], resolved, "{asc}");
        });
    }
);

both_engines!(the_api_refuses_an_order_it_does_not_offer, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let api = api_city(&app).await;
        let (s, e) = send(&app, &api, "GET", "/api/v1/requests?sort=code&dir=up", None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        let details = &e["error"]["details"];
        assert!(details["sort"].is_string(), "{e}");
        assert!(details["dir"].is_string(), "{e}");
    });
});

both_engines!(
    the_list_page_shows_the_total_and_sorts_by_its_column_headers,
    |t: TestDb| {
        let app = App::new(t);
        let city = loop_city(&app);
        block_on(async {
            closed(&app, &city).await;
            let (cs, _) = app.session("nn-commission-staff");
            let list = app.get("/requests?status=closed", &cs).await.text();
            assert!(list.contains("共 1 条"), "{list}");
            // Each header keeps the filters and sorts by its column; the current one's turns
            // the order round.
            let header = |page: &str, aria: &str, to: &str, label: &str| {
                page.split("<th ").any(|th| {
                    th.starts_with(&format!(r#"aria-sort="{aria}"><a href="/requests?"#))
                        && th.contains("status=closed")
                        && th.contains(&format!("sort=due&#38;dir={to}\">{label}</a>"))
                })
            };
            assert!(header(&list, "none", "asc", "办理期限"), "{list}");
            let by_due = app
                .get("/requests?status=closed&sort=due&dir=asc", &cs)
                .await
                .text();
            assert!(
                header(&by_due, "ascending", "desc", "办理期限 ▲"),
                "{by_due}"
            );
        });
    }
);

both_engines!(the_apis_figures_count_as_the_lists_do, |t: TestDb| {
    let app = App::new(t);
    block_on(async {
        let api = api_city(&app).await;
        resolved_by_api(&app, &api).await;
        // The figures: two received (the city's seeded one and this), one resolved, as in
        // the lists.
        let (s, st) = send(&app, &api, "GET", "/api/v1/requests/stats?by=channel", None).await;
        assert_eq!(s, StatusCode::OK, "{st}");
        assert_eq!(st["total"]["received"], 2, "{st}");
        assert_eq!(st["groups"][0]["label"], "服务咨询专线", "{st}");
        assert_eq!(st["total"]["completion_rate"], 0.5, "{st}");
    });
});

both_engines!(
    figures_by_month_of_resolution_say_so_and_give_no_completion_rate,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let api = api_city(&app).await;
            resolved_by_api(&app, &api).await;
            let (s, st) = send(
                &app,
                &api,
                "GET",
                "/api/v1/requests/stats?by=resolved_month",
                None,
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{st}");
            // Both received this month, the one resolved in it: no share of one in the other.
            assert_eq!(st["by"], "resolved_month", "{st}");
            assert_eq!(st["total"]["received"], 2, "{st}");
            assert_eq!(st["total"]["resolved"], 1, "{st}");
            assert!(st["total"]["completion_rate"].is_null(), "{st}");
            let (cs, _) = app.session("nn-commission-staff");
            let cs = &cs;
            let page = app
                .get("/requests/stats?by=resolved_month", cs)
                .await
                .text();
            assert!(page.contains("按办结月份统计"), "{page}");
            let sheet = xlsx_text(
                &app.get("/requests/stats.xlsx?by=resolved_month", cs)
                    .await
                    .body,
            );
            assert!(sheet.contains("按办结月份统计"), "{sheet}");
            // A dimension that is not one is named, not taken for the default.
            let (s, e) = send(&app, &api, "GET", "/api/v1/requests/stats?by=week", None).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert!(e.to_string().contains("\"by\""), "{e}");
        });
    }
);

both_engines!(
    the_apis_figures_name_a_period_that_ends_before_it_starts,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let api = api_city(&app).await;
            let (s, e) = send(
                &app,
                &api,
                "GET",
                "/api/v1/requests/stats?from=2026-05&to=2026-01",
                None,
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(e.to_string().contains("\"to\""), "{e}");
        });
    }
);

both_engines!(
    a_request_out_of_reach_is_not_found_through_the_api,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let api = api_city(&app).await;
            // The other city's requests stay out of reach.
            let (s, _) = send(&app, &api, "GET", &format!("/api/v1/requests/{}", -1), None).await;
            assert_eq!(s, StatusCode::NOT_FOUND);
        });
    }
);

both_engines!(
    the_openapi_document_names_the_requests_paths,
    |t: TestDb| {
        let app = App::new(t);
        block_on(async {
            let doc: serde_json::Value =
                serde_json::from_slice(&app.get("/api/v1/openapi.json", "").await.body).unwrap();
            for path in [
                "/api/v1/requests",
                "/api/v1/requests/{id}",
                "/api/v1/requests/{id}/steps",
                "/api/v1/requests/stats",
                "/api/v1/request-categories",
            ] {
                assert!(
                    doc["paths"][path].is_object(),
                    "{path} in the OpenAPI document"
                );
            }
        });
    }
);

both_engines!(routing_rules_from_the_settings_page, |t: TestDb| {
    let app = App::new(t);
    let nn = app
        .t
        .db
        .write_blocking(|c| Ok(seed_city(c, "450100", "nn", "x")))
        .unwrap();
    let (site_name, grid_code, renting) = app
        .t
        .db
        .write_blocking(move |c| {
            let all = Scope::everything();
            let rent = shiliu_db::requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == "renting")
                .unwrap();
            Ok((
                org::get_site(c, &all, nn.site)?.name,
                org::get_region(c, &all, nn.grid)?.code,
                rent.id.to_string(),
            ))
        })
        .unwrap();
    block_on(async {
        let (cs, csrf) = app.session("nn-commission-staff");
        let r = app
            .post(
                "/settings/routing",
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("category_id", &renting),
                    ("keywords", "押金"),
                    ("site_id", "没有的站点"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = app
            .post(
                "/settings/routing",
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("category_id", &renting),
                    ("region_code", "450100"),
                    ("keywords", "押金，房东"),
                    ("site_id", &nn.site.to_string()),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = app.get("/settings/routing", &cs).await.text();
        assert!(
            page.contains("类别“租房租住”、在南宁市、含“押金 房东”"),
            "{page}"
        );
        let r = app
            .post(
                "/requests",
                &cs,
                &[
                    ("_csrf", &csrf),
                    ("channel", "hotline"),
                    ("category_id", &renting),
                    ("region_code", &grid_code),
                    ("description", "房东扣押金"),
                ],
            )
            .await;
        let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
        let detail = app.get(&to, &cs).await.text();
        assert!(
            detail.contains(&format!(
                "按规则 1（类别“租房租住”、在南宁市、含“押金 房东”）：{site_name}"
            )),
            "{detail}"
        );
        let (gw, _) = app.session("nn-grid-worker");
        assert_eq!(
            app.get("/settings/routing", &gw).await.status,
            StatusCode::FORBIDDEN
        );
    });
});

// Extra questions on every channel.

/// The province's administrator and 南宁; its grid's code, the `school_places` category and
/// the city's site (its id, as the dispatch picker posts it).
struct School {
    nn: CityData,
    grid_code: String,
    category: i64,
    cat: String,
    site: String,
}

fn school_city(app: &App) -> School {
    let nn = app
        .t
        .db
        .write_blocking(|c| {
            province_admin(c);
            Ok(seed_city(c, "450100", "nn", "x"))
        })
        .unwrap();
    let (grid_code, school) = app
        .t
        .db
        .write_blocking(move |c| {
            let cat = shiliu_db::requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == "school_places")
                .unwrap();
            let all = Scope::everything();
            Ok((org::get_region(c, &all, nn.grid)?.code, cat.id))
        })
        .unwrap();
    School {
        grid_code,
        category: school,
        cat: school.to_string(),
        site: nn.site.to_string(),
        nn,
    }
}

impl School {
    fn settings(&self) -> String {
        format!("/settings/categories/{}", self.cat)
    }

    /// The names of the answers' fields: the child's age and the school stage.
    fn fields(&self) -> (String, String) {
        (
            format!("answer.{}.age", self.cat),
            format!("answer.{}.stage", self.cat),
        )
    }
}

/// The province's administrator adds two questions and a reply template on the category's
/// page (they are the province's settings; the city reads them).
async fn school_questions(app: &App, s: &School) {
    let (ad, ad_csrf) = app.session("gx-admin");
    for (code, label, kind, choices) in [
        ("age", "子女年龄", "number", ""),
        ("stage", "学段", "single", "primary=小学\njunior=初中"),
    ] {
        let r = app
            .post(
                &format!("{}/questions", s.settings()),
                &ad,
                &[
                    ("_csrf", &ad_csrf),
                    ("code", code),
                    ("label", label),
                    ("kind", kind),
                    ("required", "1"),
                    ("choices", choices),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    }
    let r = app
        .post(
            &format!("{}/templates", s.settings()),
            &ad,
            &[
                ("_csrf", &ad_csrf),
                ("title", "已协调学位"),
                ("body", "已为孩子协调学位，请按时报到。"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

/// The staff intake form's fields, without the answers.
fn school_intake<'a>(s: &'a School, csrf: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("_csrf", csrf),
        ("channel", "hotline"),
        ("category_id", s.cat.as_str()),
        ("region_code", s.grid_code.as_str()),
        ("description", "孩子随迁，想在附近读书"),
    ]
}

/// A request the commission's staff took in with both answers: its page's address.
async fn answered_intake(app: &App, s: &School) -> String {
    school_questions(app, s).await;
    let (cs, csrf) = app.session("nn-commission-staff");
    let (age, stage) = s.fields();
    let mut good = school_intake(s, &csrf);
    good.extend([(age.as_str(), "8"), (stage.as_str(), "primary")]);
    let r = app.post("/requests", &cs, &good).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    r.headers[header::LOCATION].to_str().unwrap().to_string()
}

/// The request taken in with answers, dispatched and accepted from its page: its id.
async fn accepted_intake(app: &App, s: &School) -> i64 {
    let to = answered_intake(app, s).await;
    let (cs, csrf) = app.session("nn-commission-staff");
    let id: i64 = to
        .trim_start_matches("/requests/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    for action in ["dispatch", "accept"] {
        let v = version_of(app, id);
        let mut f = vec![
            ("_csrf", csrf.as_str()),
            ("action", action),
            ("version", v.as_str()),
        ];
        if action == "dispatch" {
            f.push(("site_id", s.site.as_str()));
        }
        let r = app.post(&format!("/requests/{id}/step"), &cs, &f).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}: {}", r.text());
    }
    id
}

/// The public form's fields for a resident's request about a school place, answering the
/// stage only.
fn school_public<'a>(s: &'a School, region: &'a str, stage: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("_csrf", RESIDENT_TOKEN),
        ("region", region),
        ("category_id", s.cat.as_str()),
        ("description", "想给孩子报名小学"),
        ("contact_phone", "13912340000"),
        ("consent", "1"),
        (stage, "junior"),
    ]
}

/// A call with a token of the hotline's (view and create), JSON both ways.
async fn send_json(
    app: &App,
    token: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json");
    let req = req.header(header::ACCEPT, "application/json");
    let body = body.map_or_else(Body::empty, |v| Body::from(v.to_string()));
    let r = app.call(req.body(body).unwrap()).await;
    (
        r.status,
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap_or_default(),
    )
}

/// The questions set, and a token for the JSON API (view and create).
async fn hotline_token(app: &App, s: &School) -> String {
    school_questions(app, s).await;
    page_token(app, "热线", "1", &["view_requests", "create_requests"]).await
}

/// A request through the API with answers to both questions and to one that does not exist.
fn api_answers(s: &School) -> serde_json::Value {
    serde_json::json!({"channel": "hotline", "category_id": s.category, "region_code": s.grid_code,
        "description": "咨询插班", "answers": {"age": 9, "stage": ["primary"], "pet": "猫"}})
}

both_engines!(a_single_choice_question_needs_its_choices, |t: TestDb| {
    let app = App::new(t);
    let s = school_city(&app);
    block_on(async {
        let (ad, ad_csrf) = app.session("gx-admin");
        let r = app
            .post(
                &format!("{}/questions", s.settings()),
                &ad,
                &[
                    ("_csrf", &ad_csrf),
                    ("code", "stage"),
                    ("label", "学段"),
                    ("kind", "single"),
                    ("choices", ""),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("选项：必填"), "{}", r.text());
    });
});

both_engines!(
    the_city_reads_the_provinces_questions_and_templates,
    |t: TestDb| {
        let app = App::new(t);
        let s = school_city(&app);
        block_on(async {
            school_questions(&app, &s).await;
            let (cs, _) = app.session("nn-commission-staff");
            let page = app.get(&s.settings(), &cs).await.text();
            assert!(
                page.contains("primary=小学") && page.contains("已协调学位"),
                "{page}"
            );
        });
    }
);

both_engines!(the_staff_intake_form_asks_the_questions, |t: TestDb| {
    let app = App::new(t);
    let s = school_city(&app);
    block_on(async {
        school_questions(&app, &s).await;
        let (cs, _) = app.session("nn-commission-staff");
        let page = app.get("/requests/new", &cs).await.text();
        let (_, stage) = s.fields();
        assert!(page.contains(&format!("name=\"{stage}\"")) && page.contains("初中"));
    });
});

both_engines!(
    a_missing_or_wrong_answer_is_named_by_its_question,
    |t: TestDb| {
        let app = App::new(t);
        let s = school_city(&app);
        block_on(async {
            school_questions(&app, &s).await;
            let (cs, csrf) = app.session("nn-commission-staff");
            let (_, stage) = s.fields();
            let mut bad = school_intake(&s, &csrf);
            bad.push((stage.as_str(), "college"));
            let r = app.post("/requests", &cs, &bad).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = r.text();
            assert!(
                text.contains("子女年龄：必填") && text.contains("学段：请从列表中选择"),
                "{text}"
            );
        });
    }
);

both_engines!(the_answers_show_on_the_requests_page, |t: TestDb| {
    let app = App::new(t);
    let s = school_city(&app);
    block_on(async {
        let to = answered_intake(&app, &s).await;
        let (cs, _) = app.session("nn-commission-staff");
        let page = app.get(&to, &cs).await.text();
        assert!(
            page.contains("<dt>子女年龄</dt><dd>8</dd>")
                && page.contains("<dt>学段</dt><dd>小学</dd>"),
            "{page}"
        );
    });
});

both_engines!(
    an_accepted_requests_page_offers_the_reply_template,
    |t: TestDb| {
        let app = App::new(t);
        let s = school_city(&app);
        block_on(async {
            let id = accepted_intake(&app, &s).await;
            let (cs, _) = app.session("nn-commission-staff");
            let page = app.get(&format!("/requests/{id}"), &cs).await.text();
            assert!(
                page.contains("data-body=\"已为孩子协调学位，请按时报到。\""),
                "{page}"
            );
        });
    }
);

both_engines!(
    a_chosen_template_with_an_empty_reply_becomes_the_reply,
    |t: TestDb| {
        let app = App::new(t);
        let s = school_city(&app);
        block_on(async {
            // Resolving without JavaScript: a chosen template with an empty reply becomes the
            // reply.
            let id = accepted_intake(&app, &s).await;
            let (cs, csrf) = app.session("nn-commission-staff");
            let school = s.category;
            let tid = app
                .t
                .db
                .write_blocking(move |c| {
                    Ok(
                        shiliu_db::requests::questions::reply_templates(c, Some(school), false)?[0]
                            .id,
                    )
                })
                .unwrap()
                .to_string();
            let v = version_of(&app, id);
            let r = app
                .post(
                    &format!("/requests/{id}/step"),
                    &cs,
                    &[
                        ("_csrf", &csrf),
                        ("action", "resolve"),
                        ("version", &v),
                        ("outcome", "solved"),
                        ("reply", ""),
                        ("reply_template", &tid),
                        ("confirm", "1"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let reply = app
                .t
                .db
                .write_blocking(move |c| {
                    Ok(shiliu_db::requests::get(c, &Scope::everything(), id)?.reply)
                })
                .unwrap();
            assert_eq!(reply.as_deref(), Some("已为孩子协调学位，请按时报到。"));
        });
    }
);

both_engines!(the_public_form_names_a_missing_answer, |t: TestDb| {
    let app = App::new(t);
    let s = school_city(&app);
    block_on(async {
        school_questions(&app, &s).await;
        // The public page asks the same questions of a resident.
        let (region, (_, stage)) = (s.nn.region.to_string(), s.fields());
        let r = app
            .post("/r", RESIDENT, &school_public(&s, &region, &stage))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("子女年龄：必填"), "{}", r.text());
    });
});

both_engines!(the_public_form_takes_the_answers, |t: TestDb| {
    let app = App::new(t);
    let s = school_city(&app);
    block_on(async {
        school_questions(&app, &s).await;
        let (region, (age, stage)) = (s.nn.region.to_string(), s.fields());
        let mut public = school_public(&s, &region, &stage);
        public.push((age.as_str(), "12"));
        let r = app.post("/r", RESIDENT, &public).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    });
});

both_engines!(the_api_lists_the_questions_and_templates, |t: TestDb| {
    let app = App::new(t);
    let s = school_city(&app);
    block_on(async {
        // The JSON API lists the questions.
        let token = hotline_token(&app, &s).await;
        let (st, cats) = send_json(&app, &token, "GET", "/api/v1/request-categories", None).await;
        assert_eq!(st, StatusCode::OK);
        let c = cats
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "school_places")
            .unwrap();
        assert_eq!(c["questions"][1]["choices"][1]["name"], "初中", "{c}");
        assert_eq!(c["reply_templates"][0]["title"], "已协调学位");
    });
});

both_engines!(the_api_names_an_answer_to_no_question, |t: TestDb| {
    let app = App::new(t);
    let s = school_city(&app);
    block_on(async {
        let token = hotline_token(&app, &s).await;
        let body = api_answers(&s);
        let (st, e) = send_json(&app, &token, "POST", "/api/v1/requests", Some(body)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(e["error"]["details"]["answer.pet"].is_string(), "{e}");
    });
});

both_engines!(the_api_takes_and_returns_answers, |t: TestDb| {
    let app = App::new(t);
    let s = school_city(&app);
    block_on(async {
        let token = hotline_token(&app, &s).await;
        let mut body = api_answers(&s);
        body["answers"].as_object_mut().unwrap().remove("pet");
        let (st, r) = send_json(&app, &token, "POST", "/api/v1/requests", Some(body)).await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        let (_, d) = send_json(
            &app,
            &token,
            "GET",
            &format!("/api/v1/requests/{}", r["id"]),
            None,
        )
        .await;
        assert_eq!(d["answers"][0]["value"], "9");
        assert_eq!(d["answers"][1]["text"], "小学", "{d}");
    });
});

both_engines!(finding_requests_by_words_and_filters, |t: TestDb| {
    let app = App::new(t);
    let (nn, lz) = app
        .t
        .db
        .write_blocking(|c| {
            Ok((
                seed_city(c, "450100", "nn", "x"),
                seed_city(c, "450200", "lz", "x"),
            ))
        })
        .unwrap();
    let (nn_city, made) = app
        .t
        .db
        .write_blocking(move |c| {
            let sys = Actor::system("test");
            let other = shiliu_db::requests::categories(c, false)?
                .into_iter()
                .find(|k| k.code == "other")
                .unwrap();
            let mut made = Vec::new();
            for (grid, channel, text) in [
                (nn.grid, Channel::Hotline, "和房东发生租房纠纷，押金不退"),
                (nn.grid, Channel::WalkIn, "咨询租房补贴怎么申请"),
                (nn.grid, Channel::Hotline, "孩子入学需要哪些材料"),
                (lz.grid, Channel::Hotline, "租房合同到期房东涨价"),
            ] {
                let input = RequestInput::parse(channel, text, "", "", "", false).unwrap();
                made.push(shiliu_db::requests::create(c, &sys, &input, other.id, grid, None)?.code);
            }
            Ok((
                org::get_region(c, &Scope::everything(), nn.region)?.code,
                made,
            ))
        })
        .unwrap();
    block_on(async {
        let (cs, _) = app.session("nn-commission-staff");
        let page = app.get("/requests?q=%E7%A7%9F%E6%88%BF", &cs).await; // 租房
        assert_eq!(page.status, StatusCode::OK);
        let text = page.text();
        assert!(text.contains(&made[0]) && text.contains(&made[1]), "{text}");
        assert!(!text.contains(&made[2]), "no match without the word");
        assert!(!text.contains(&made[3]), "nor across the scope");
        // Words and filters together: 租房 taken in at a walk-in desk.
        let text = app
            .get("/requests?q=%E7%A7%9F%E6%88%BF&channel=walk_in", &cs)
            .await
            .text();
        assert!(text.contains(&made[1]) && !text.contains(&made[0]));
        let text = app
            .get(
                &format!("/requests?region={nn_city}&from=2000-01-01&to=2999-12-31"),
                &cs,
            )
            .await
            .text();
        assert!(made[..3].iter().all(|c| text.contains(c.as_str())));
        // Bad filters are named; a region outside the scope is unknown, not revealed.
        let r = app.get("/requests?from=yesterday&region=450200", &cs).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text();
        assert!(
            text.contains("受理日期自：日期格式应为")
                && text.contains("所属区域：区域不存在或不在您的范围内"),
            "{text}"
        );
        // The export takes the same filters.
        let r = app
            .get("/requests/export.xlsx?q=%E6%8A%BC%E9%87%91", &cs)
            .await; // 押金
        assert_eq!(r.status, StatusCode::OK);
        let sheet = xlsx_text(&r.body);
        assert!(
            sheet.contains(&made[0]) && !sheet.contains(&made[1]),
            "{sheet}"
        );
        // Due soon: nothing taken in today falls due within a day (service level 5 days).
        let text = app.get("/requests?due_soon=1", &cs).await.text();
        assert!(!text.contains(&made[0]));
    });
});

// Files and co-handling on a request's page.

/// 南宁 (and 柳州), its grid's code, a category's id; and a staff member of the city's
/// education bureau (a unit), to answer co-handling.
struct Files {
    nn: CityData,
    grid_code: String,
    category: String,
}

fn files_cities(app: &App) -> Files {
    let (nn, _lz) = app
        .t
        .db
        .write_blocking(|c| {
            Ok((
                seed_city(c, "450100", "nn", "x"),
                seed_city(c, "450200", "lz", "x"),
            ))
        })
        .unwrap();
    let (grid_code, category) = app
        .t
        .db
        .write_blocking(move |c| {
            let all = Scope::everything();
            let category = shiliu_db::requests::categories(c, false)?[0].id.to_string();
            let city = org::get_region_by_code(c, &all, "450100")?;
            // A staff member of the city's education bureau (a unit), to answer co-handling.
            accounts::create_user(
                c,
                &shiliu_db::scope::Can::check(&Actor::system("test")).unwrap(),
                &NewUser {
                    username: Username::parse("nn-edu").unwrap(),
                    display_name: "教育局干部".into(),
                    password_hash: "x".into(),
                    role: Role::SiteStaff,
                    region_id: city.id,
                    unit_id: Some(nn.unit),
                    site_id: None,
                    phone: None,
                    grid_ids: vec![],
                },
            )?;
            Ok((org::get_region(c, &all, nn.grid)?.code, category))
        })
        .unwrap();
    Files {
        nn,
        grid_code,
        category,
    }
}

impl Files {
    /// A grid worker's phone form, without the photos.
    fn form(&self) -> [(&str, &str); 4] {
        [
            ("channel", "grid"),
            ("category_id", self.category.as_str()),
            ("region_code", self.grid_code.as_str()),
            ("description", "楼道堆放杂物，有火灾隐患"),
        ]
    }
}

fn request_count(app: &App) -> i64 {
    app.t
        .db
        .write_blocking(|c| shiliu_db::requests::count(c, &Scope::everything()))
        .unwrap()
}

/// A request a grid worker made on a phone with a photo: its page's address and its id.
async fn with_photo(app: &App, f: &Files) -> (String, i64) {
    let (gw, gw_csrf) = app.session("nn-grid-worker");
    let r = app
        .multipart(
            "/requests",
            &gw,
            &gw_csrf,
            &f.form(),
            &[("photos", "现场.png", PNG)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page_path = r.location().split('?').next().unwrap().to_string();
    let id: i64 = page_path.rsplit('/').next().unwrap().parse().unwrap();
    (page_path, id)
}

/// The link to the photo on the request's page, as the site's staff see it.
async fn photo_link(app: &App, page_path: &str) -> String {
    let (ss, _) = app.session("nn-site-staff");
    let page = app.get(page_path, &ss).await.text();
    links(&page)
        .into_iter()
        .find(|l| l.starts_with(&format!("{page_path}/files/")))
        .expect("a link to the file")
}

/// The request with a photo, dispatched to the city's site and accepted there: its page's
/// address, its id and its version.
async fn accepted_with_photo(app: &App, f: &Files) -> (String, i64, String) {
    let (page_path, id) = with_photo(app, f).await;
    let site = f.nn.site;
    app.t
        .db
        .write_blocking(move |c| {
            let sys = Actor::system("test");
            let r = shiliu_db::requests::get(c, &Scope::everything(), id)?;
            let input = shiliu_db::requests::StepInput {
                site_id: Some(site),
                ..Default::default()
            };
            let r = shiliu_db::requests::step(
                c,
                &sys,
                id,
                r.version,
                shiliu_domain::requests::Action::Dispatch,
                &input,
            )?;
            shiliu_db::requests::step(
                c,
                &sys,
                id,
                r.version,
                shiliu_domain::requests::Action::Accept,
                &shiliu_db::requests::StepInput::default(),
            )
        })
        .unwrap();
    (page_path, id, version_of(app, id))
}

/// The site's co-handling request to the city's education bureau about `asked`.
async fn ask_bureau(app: &App, page_path: &str, version: &str, asked: &str) -> Resp {
    let (ss, ss_csrf) = app.session("nn-site-staff");
    app.post(
        &format!("{page_path}/cohandlers"),
        &ss,
        &[
            ("_csrf", &ss_csrf),
            ("version", version),
            ("cohandler", "nn教育局"),
            ("asked", asked),
        ],
    )
    .await
}

/// The accepted request, on which the site asked the bureau to help: its page's address and
/// its id.
async fn asked_bureau(app: &App, f: &Files) -> (String, i64) {
    let (page_path, id, version) = accepted_with_photo(app, f).await;
    let r = ask_bureau(app, &page_path, &version, "请协调清理楼道").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    (page_path, id)
}

/// The request the bureau's staff answered from its page's form: its page's address and its id.
async fn answered_by_bureau(app: &App, f: &Files) -> (String, i64) {
    let (page_path, id) = asked_bureau(app, f).await;
    let (edu, edu_csrf) = app.session("nn-edu");
    let page = app.get(&page_path, &edu).await.text();
    let form_action = page
        .split("action=\"")
        .filter_map(|x| x.split('"').next())
        .find(|a| a.ends_with("/answer"))
        .expect("the answer form")
        .to_string();
    let r = app
        .post(
            &form_action,
            &edu,
            &[("_csrf", &edu_csrf), ("answer", "已安排清理")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    (page_path, id)
}

both_engines!(
    a_file_that_is_not_a_photo_is_named_and_nothing_is_kept,
    |t: TestDb| {
        let app = App::new(t);
        let f = files_cities(&app);
        block_on(async {
            // A grid worker's phone form with photos: a file that is not a photo is named and
            // nothing is kept (with the photo alone the request is made: `with_photo`).
            let (gw, gw_csrf) = app.session("nn-grid-worker");
            let before = request_count(&app);
            let r = app
                .multipart(
                    "/requests",
                    &gw,
                    &gw_csrf,
                    &f.form(),
                    &[
                        ("photos", "现场.png", PNG),
                        ("photos", "病毒.png", b"MZ\x90\0"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                r.text().contains("病毒.png") && r.text().contains("不是可接受的类型"),
                "{}",
                r.text()
            );
            assert_eq!(request_count(&app), before, "nothing half-written");
        });
    }
);

both_engines!(the_history_names_people_not_logins, |t: TestDb| {
    let app = App::new(t);
    let f = files_cities(&app);
    block_on(async {
        let (page_path, _) = with_photo(&app, &f).await;
        let (ss, _) = app.session("nn-site-staff");
        let page = app.get(&page_path, &ss).await.text();
        let history = page
            .split("<table class=\"cards history\">")
            .nth(1)
            .unwrap();
        assert!(history.contains(">用户nn-grid-worker</td>"), "{history}");
    });
});

both_engines!(
    the_words_searched_for_are_marked_in_the_list,
    |t: TestDb| {
        let app = App::new(t);
        let f = files_cities(&app);
        block_on(async {
            with_photo(&app, &f).await;
            let (gw, _) = app.session("nn-grid-worker");
            let list = app.get("/requests?q=%E7%81%AB%E7%81%BE", &gw).await.text();
            assert!(list.contains("<mark>火灾</mark>"), "{list}");
            assert!(list.contains(r#"<table class="cards">"#));
        });
    }
);

both_engines!(
    a_multipart_post_without_the_token_in_the_address_is_refused,
    |t: TestDb| {
        let app = App::new(t);
        let f = files_cities(&app);
        block_on(async {
            let (page_path, _) = with_photo(&app, &f).await;
            let (gw, _) = app.session("nn-grid-worker");
            let r = app
                .multipart(
                    &format!("{page_path}/files"),
                    &gw,
                    "wrong",
                    &[],
                    &[("files", "b.png", PNG)],
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
        });
    }
);

both_engines!(the_request_page_names_its_photo, |t: TestDb| {
    let app = App::new(t);
    let f = files_cities(&app);
    block_on(async {
        let (page_path, _) = with_photo(&app, &f).await;
        let (ss, _) = app.session("nn-site-staff");
        let page = app.get(&page_path, &ss).await.text();
        assert!(page.contains("现场.png"), "{page}");
    });
});

both_engines!(a_photo_opens_as_a_photo_and_is_not_sniffed, |t: TestDb| {
    let app = App::new(t);
    let f = files_cities(&app);
    block_on(async {
        let (page_path, _) = with_photo(&app, &f).await;
        let link = photo_link(&app, &page_path).await;
        let (ss, _) = app.session("nn-site-staff");
        let r = app.get(&link, &ss).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers[header::CONTENT_TYPE], "image/png");
        assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(r.body, PNG);
    });
});

both_engines!(opening_a_file_is_audited, |t: TestDb| {
    let app = App::new(t);
    let f = files_cities(&app);
    block_on(async {
        let (page_path, _) = with_photo(&app, &f).await;
        let link = photo_link(&app, &page_path).await;
        let (ss, _) = app.session("nn-site-staff");
        app.get(&link, &ss).await;
        let viewed = app
            .t
            .db
            .write_blocking(|c| {
                shiliu_db::audit::list(
                    c,
                    &shiliu_db::audit::AuditFilter {
                        action: Some("request.file_view".into()),
                        ..Default::default()
                    },
                    10,
                )
            })
            .unwrap();
        assert_eq!(viewed.len(), 1, "opening a file is audited");
    });
});

both_engines!(another_citys_staff_cannot_open_the_file, |t: TestDb| {
    let app = App::new(t);
    let f = files_cities(&app);
    block_on(async {
        let (page_path, _) = with_photo(&app, &f).await;
        let link = photo_link(&app, &page_path).await;
        let (ls, _) = app.session("lz-site-staff");
        assert_eq!(app.get(&link, &ls).await.status, StatusCode::NOT_FOUND);
    });
});

both_engines!(
    files_added_on_the_page_are_listed_by_the_api,
    |t: TestDb| {
        let app = App::new(t);
        let f = files_cities(&app);
        block_on(async {
            let (page_path, id) = with_photo(&app, &f).await;
            // More files from the request's page; then the API lists both.
            let (ss, ss_csrf) = app.session("nn-site-staff");
            let r = app
                .multipart(
                    &format!("{page_path}/files"),
                    &ss,
                    &ss_csrf,
                    &[],
                    &[("files", "记录.pdf", b"%PDF-1.4 x")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let (status, list) = app
                .api_get(&format!("/api/v1/requests/{id}/files"), "nn-site-staff")
                .await;
            assert_eq!(status, StatusCode::OK);
            let types: Vec<&str> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["content_type"].as_str().unwrap())
                .collect();
            assert_eq!(types, vec!["image/png", "application/pdf"]);
        });
    }
);

both_engines!(an_accepted_request_offers_co_handling, |t: TestDb| {
    let app = App::new(t);
    let f = files_cities(&app);
    block_on(async {
        // Co-handling: once the site accepted it, the site asks the city's education bureau.
        let (page_path, _, _) = accepted_with_photo(&app, &f).await;
        let (ss, _) = app.session("nn-site-staff");
        let page = app.get(&page_path, &ss).await.text();
        assert!(page.contains("请求协办"), "{page}");
    });
});

both_engines!(
    a_co_handling_request_without_its_matter_is_refused_and_named,
    |t: TestDb| {
        let app = App::new(t);
        let f = files_cities(&app);
        block_on(async {
            let (page_path, _, version) = accepted_with_photo(&app, &f).await;
            let r = ask_bureau(&app, &page_path, &version, " ").await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().contains("协办事项：必填"), "{}", r.text());
        });
    }
);

both_engines!(an_asked_unit_shows_as_awaiting_its_answer, |t: TestDb| {
    let app = App::new(t);
    let f = files_cities(&app);
    block_on(async {
        let (page_path, _) = asked_bureau(&app, &f).await;
        let (ss, _) = app.session("nn-site-staff");
        let page = app.get(&page_path, &ss).await.text();
        assert!(
            page.contains("nn教育局") && page.contains("待答复"),
            "{page}"
        );
    });
});

both_engines!(
    the_asked_unit_finds_the_request_awaiting_its_answer,
    |t: TestDb| {
        let app = App::new(t);
        let f = files_cities(&app);
        block_on(async {
            let (page_path, id) = asked_bureau(&app, &f).await;
            let (edu, _) = app.session("nn-edu");
            let waiting = app.get("/requests?cohandling=1", &edu).await.text();
            assert!(waiting.contains(&format!("/requests/{id}\"")), "{waiting}");
            let page = app.get(&page_path, &edu).await.text();
            assert!(page.contains("答复协办"), "{page}");
        });
    }
);

both_engines!(
    an_answered_request_leaves_the_units_waiting_list,
    |t: TestDb| {
        let app = App::new(t);
        let f = files_cities(&app);
        block_on(async {
            let (_, id) = answered_by_bureau(&app, &f).await;
            let (edu, _) = app.session("nn-edu");
            let waiting = app.get("/requests?cohandling=1", &edu).await.text();
            assert!(
                !waiting.contains(&format!("/requests/{id}\"")),
                "answered: {waiting}"
            );
        });
    }
);

both_engines!(the_answer_and_who_gave_it_show_on_the_page, |t: TestDb| {
    let app = App::new(t);
    let f = files_cities(&app);
    block_on(async {
        // The bureau's staff answer it; the answer and who gave it show on the page.
        let (page_path, _) = answered_by_bureau(&app, &f).await;
        let (ss, _) = app.session("nn-site-staff");
        let page = app.get(&page_path, &ss).await.text();
        assert!(
            page.contains("已答复") && page.contains("已安排清理") && page.contains("nn-edu"),
            "{page}"
        );
    });
});

both_engines!(the_api_gives_the_co_handlers_answer, |t: TestDb| {
    let app = App::new(t);
    let f = files_cities(&app);
    block_on(async {
        let (_, id) = answered_by_bureau(&app, &f).await;
        let (status, cos) = app
            .api_get(
                &format!("/api/v1/requests/{id}/cohandlers"),
                "nn-site-staff",
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(cos[0]["status"], "answered");
        assert_eq!(cos[0]["name"], "nn教育局");
    });
});

// 就地办结: a grid worker resolves a simple request in their own grid there and then.

/// 南宁 and 柳州, each with a request waiting in its grid, in a category whose requests grid
/// workers may (`allow`) resolve on the spot; 南宁's grid worker signed in.
struct Spot {
    nn: CityData,
    lz: CityData,
    cookie: String,
    csrf: String,
}

fn spot_cities(app: &App, allow: bool) -> Spot {
    let (nn, lz) = app
        .t
        .db
        .write_blocking(move |c| {
            let nn = seed_city(c, "450100", "nn", "x");
            let lz = seed_city(c, "450200", "lz", "x");
            let r = shiliu_db::requests::get(c, &Scope::everything(), nn.request)?;
            let k = shiliu_db::requests::category(c, r.category_id)?;
            let input = shiliu_domain::requests::CategoryInput {
                code: k.code.clone(),
                name: k.name.clone(),
                name_en: k.name_en.clone(),
                service_minutes: k.service_minutes,
                on_the_spot: allow,
            };
            let sys = Actor::system("test");
            shiliu_db::requests::update_category(c, &sys, k.id, k.version, &input, true)?;
            Ok((nn, lz))
        })
        .unwrap();
    let (cookie, csrf) = app.session("nn-grid-worker");
    Spot {
        nn,
        lz,
        cookie,
        csrf,
    }
}

/// The grid worker sends the resolution on the spot from request `id`'s page, with `photos`
/// and the reply `reply`, where "use my location" found them.
async fn resolved_on_the_spot(
    app: &App,
    s: &Spot,
    id: i64,
    reply: &str,
    photos: &[(&str, &str, &[u8])],
    extra: &[(&str, &str)],
) -> Resp {
    let v = version_of(app, id);
    let mut fields = vec![
        ("action", "resolve_on_the_spot"),
        ("version", v.as_str()),
        ("confirm", "1"),
        ("outcome", "solved"),
        ("reply", reply),
        ("latitude", "22.817"),
        ("longitude", "108.366"),
    ];
    fields.extend_from_slice(extra);
    app.multipart(
        &format!("/requests/{id}/step"),
        &s.cookie,
        &s.csrf,
        &fields,
        photos,
    )
    .await
}

/// A request as it stands, with its files.
fn stands(
    app: &App,
    id: i64,
) -> (
    shiliu_db::requests::Request,
    Vec<shiliu_db::requests::files::Attachment>,
) {
    app.t
        .db
        .write_blocking(move |c| {
            let r = shiliu_db::requests::get(c, &Scope::everything(), id)?;
            let files = shiliu_db::requests::files::list(c, &r)?;
            Ok((r, files))
        })
        .unwrap()
}

/// The grid worker handling a request in person, if any.
fn handler(app: &App, id: i64) -> Option<i64> {
    app.t
        .db
        .write_blocking(move |c| shiliu_db::requests::on_the_spot::handler_of(c, id))
        .unwrap()
}

both_engines!(
    a_grid_worker_resolves_a_request_in_their_grid_on_the_spot_with_a_photo,
    |t: TestDb| {
        let app = App::new(t);
        let s = spot_cities(&app, true);
        block_on(async {
            let home = home_of(&app, &s.cookie).await;
            assert!(
                home.contains("data-todo=\"queue.on_the_spot\"><span class=\"n\">1<"),
                "{home}"
            );
            let page = app
                .get(&format!("/requests/{}", s.nn.request), &s.cookie)
                .await;
            assert!(page.text().contains("我来办") && page.text().contains("就地办结"));
            let id = s.nn.request;
            let r = resolved_on_the_spot(
                &app,
                &s,
                id,
                "路灯已报修",
                &[("photos", "现场.png", PNG)],
                &[],
            )
            .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            assert_eq!(
                r.location(),
                format!("/requests/{id}?done=resolve_on_the_spot")
            );
            let (req, files) = stands(&app, id);
            assert_eq!(req.status, "resolved");
            assert_eq!(req.reply.as_deref(), Some("路灯已报修"));
            assert_eq!((req.site_id, req.unit_id), (None, None));
            let worker = app
                .t
                .db
                .write_blocking(|c| {
                    Ok(accounts::find_by_username(c, "nn-grid-worker")?.unwrap().id)
                })
                .unwrap();
            assert_eq!(handler(&app, id), Some(worker));
            assert_eq!(files.len(), 1);
            assert!(files[0].is_image());
            // The history names the grid worker as people know them, with where it was done.
            let page = app.get(&r.location(), &s.cookie).await.text();
            assert!(page.contains("已就地办结"), "{page}");
            assert!(page.contains("用户nn-grid-worker（就地办理）"), "{page}");
            assert!(page.contains("位置 22.817000,108.366000"), "{page}");
            assert!(!page.contains(">nn-grid-worker<"), "no login names: {page}");
            // The step and its photo are audited, and nothing is left to resolve on the spot.
            let audited = app
                .t
                .db
                .write_blocking(move |c| {
                    let rows =
                        shiliu_db::audit::list(c, &shiliu_db::audit::AuditFilter::default(), 50)?;
                    Ok(rows
                        .iter()
                        .filter(|a| a.entity_id.as_deref() == Some(id.to_string().as_str()))
                        .map(|a| a.action.clone())
                        .collect::<Vec<_>>())
                })
                .unwrap();
            assert!(audited.iter().any(|a| a == "request.step"), "{audited:?}");
            assert!(audited.iter().any(|a| a == "request.attach"), "{audited:?}");
            let home = home_of(&app, &s.cookie).await;
            assert!(home.contains("data-todo=\"queue.on_the_spot\"><span class=\"n\">0<"));
        });
    }
);

both_engines!(
    a_reminder_for_a_request_a_grid_worker_took_reaches_their_inbox,
    |t: TestDb| {
        let app = App::new(t);
        let s = spot_cities(&app, true);
        block_on(async {
            let id = s.nn.request;
            let worker = (s.cookie.clone(), s.csrf.clone());
            let r = act(&app, id, &worker, "take", &[]).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            // Due within the reminder's window: the sweep reminds whoever handles it.
            let swept = app
                .t
                .db
                .write_blocking(move |c| {
                    use diesel::prelude::*;
                    use shiliu_db::schema::requests as rq;
                    let now = shiliu_db::now();
                    let cal = shiliu_db::requests::calendar(c)?;
                    let due = shiliu_domain::calendar::utc(
                        cal.add_working_minutes(shiliu_domain::calendar::local(now), 10),
                    );
                    diesel::update(rq::table.filter(rq::id.eq(id)))
                        .set((
                            rq::received_at.eq(now - chrono::Duration::days(3)),
                            rq::due_at.eq(Some(due)),
                        ))
                        .execute(c)?;
                    shiliu_db::requests::sweep_deadlines(c, now)
                })
                .unwrap();
            assert_eq!(swept.reminded, 1);
            let inbox = app.get("/messages", &s.cookie).await.text();
            let code = stands(&app, id).0.code;
            assert!(
                inbox.contains(&code),
                "the grid worker is reminded: {inbox}"
            );
            // The resident reads who handles it: the grid's worker, not by name.
            let status = app.get(&format!("/r/{code}"), "").await.text();
            assert!(status.contains("<dd>nn网格网格员</dd>"), "{status}");
        });
    }
);

both_engines!(
    a_grid_worker_takes_a_request_on_and_the_resident_rates_it_once_resolved,
    |t: TestDb| {
        let app = App::new(t);
        let s = spot_cities(&app, true);
        block_on(async {
            let id = s.nn.request;
            let worker = (s.cookie.clone(), s.csrf.clone());
            let r = act(&app, id, &worker, "take", &[]).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let (taken, _) = stands(&app, id);
            assert_eq!(taken.status, "accepted");
            assert!(handler(&app, id).is_some() && taken.site_id.is_none());
            // Taken, it is the grid worker's: resolved on the spot later.
            let r = resolved_on_the_spot(
                &app,
                &s,
                id,
                "已上门讲解政策",
                &[("photos", "现场.png", PNG)],
                &[],
            )
            .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            // Then the call-back rating (回访), as for any resolved request.
            let (cookie, csrf) = app.session("nn-commission-staff");
            let v = version_of(&app, id);
            let rated = app
                .post(
                    &format!("/requests/{id}/step"),
                    &cookie,
                    &[
                        ("_csrf", &csrf),
                        ("action", "rate"),
                        ("version", &v),
                        ("rating", "satisfied"),
                    ],
                )
                .await;
            assert_eq!(rated.status, StatusCode::SEE_OTHER, "{}", rated.text());
            assert_eq!(stands(&app, id).0.status, "rated");
        });
    }
);

both_engines!(
    resolving_on_the_spot_is_refused_in_a_category_that_does_not_allow_it,
    |t: TestDb| {
        let app = App::new(t);
        let s = spot_cities(&app, false);
        block_on(async {
            let id = s.nn.request;
            let page = app.get(&format!("/requests/{id}"), &s.cookie).await.text();
            assert!(
                !page.contains("value=\"resolve_on_the_spot\""),
                "not offered"
            );
            let r = resolved_on_the_spot(
                &app,
                &s,
                id,
                "路灯已报修",
                &[("photos", "现场.png", PNG)],
                &[],
            )
            .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                r.text().contains("该类别不允许网格员就地办结"),
                "{}",
                r.text()
            );
            let (req, files) = stands(&app, id);
            assert_eq!((req.status.as_str(), files.len()), ("received", 0));
            // In English too, naming the field.
            let (st, e) = app
                .api(
                    "POST",
                    &format!("/api/v1/requests/{id}/steps"),
                    "nn-grid-worker",
                    Some(serde_json::json!({"action": "take", "version": req.version})),
                )
                .await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert!(e.to_string().contains("category_id"), "{e}");
        });
    }
);

both_engines!(
    resolving_on_the_spot_is_refused_outside_the_grid_workers_own_grids,
    |t: TestDb| {
        let app = App::new(t);
        let s = spot_cities(&app, true);
        block_on(async {
            // Another city's grid: not theirs to see, let alone resolve.
            let r = resolved_on_the_spot(
                &app,
                &s,
                s.lz.request,
                "已办",
                &[("photos", "现场.png", PNG)],
                &[],
            )
            .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
            assert_eq!(stands(&app, s.lz.request).0.status, "received");
            // Staff whose region holds the grid are not its grid worker.
            let id = s.nn.request;
            let v = version_of(&app, id);
            let (st, e) = app
                .api(
                    "POST",
                    &format!("/api/v1/requests/{id}/steps"),
                    "nn-commission-staff",
                    Some(
                        serde_json::json!({"action": "take", "version": v.parse::<i32>().unwrap()}),
                    ),
                )
                .await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert!(e.to_string().contains("action"), "{e}");
            // Taken in on the spot in another city's grid: refused on the place.
            let (cat, lz_grid) = app
                .t
                .db
                .write_blocking(move |c| {
                    let r = shiliu_db::requests::get(c, &Scope::everything(), id)?;
                    let g = org::get_region(c, &Scope::everything(), s.lz.grid)?;
                    Ok((r.category_id.to_string(), g.code))
                })
                .unwrap();
            let r = app
                .multipart(
                    "/requests",
                    &s.cookie,
                    &s.csrf,
                    &[
                        ("channel", "grid"),
                        ("category_id", &cat),
                        ("region_code", &lz_grid),
                        ("description", "路灯不亮"),
                        ("on_the_spot", "1"),
                        ("outcome", "solved"),
                        ("reply", "已修"),
                    ],
                    &[("photos", "现场.png", PNG)],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
            assert!(r.text().contains("所在区域"), "{}", r.text());
        });
    }
);

both_engines!(
    resolving_on_the_spot_needs_a_photo_and_keeps_one_sent_with_a_refused_try,
    |t: TestDb| {
        let app = App::new(t);
        let s = spot_cities(&app, true);
        block_on(async {
            let id = s.nn.request;
            let r = resolved_on_the_spot(&app, &s, id, "路灯已报修", &[], &[]).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                r.text().contains("就地办结需要至少一张现场照片"),
                "{}",
                r.text()
            );
            // A photo with no reply: refused, the photo held for the next send.
            let r =
                resolved_on_the_spot(&app, &s, id, " ", &[("photos", "现场.png", PNG)], &[]).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = r.text();
            assert!(text.contains("<li>现场.png</li>"), "{text}");
            let token = text
                .split("name=\"kept_photos\" value=\"")
                .nth(1)
                .and_then(|t| t.split('"').next())
                .unwrap()
                .to_string();
            assert_eq!(stands(&app, id).0.status, "received");
            let r =
                resolved_on_the_spot(&app, &s, id, "路灯已报修", &[], &[("kept_photos", &token)])
                    .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let (req, files) = stands(&app, id);
            assert_eq!((req.status.as_str(), files.len()), ("resolved", 1));
            assert_eq!(files[0].name, "现场.png");
        });
    }
);

both_engines!(
    a_grid_worker_takes_one_in_resolved_on_the_spot_from_the_intake_form,
    |t: TestDb| {
        let app = App::new(t);
        let s = spot_cities(&app, true);
        block_on(async {
            let (cat, grid) = app
                .t
                .db
                .write_blocking(move |c| {
                    let r = shiliu_db::requests::get(c, &Scope::everything(), s.nn.request)?;
                    let g = org::get_region(c, &Scope::everything(), s.nn.grid)?;
                    Ok((r.category_id.to_string(), g.code))
                })
                .unwrap();
            let form = app.get("/requests/new", &s.cookie).await.text();
            assert!(form.contains("name=\"on_the_spot\""), "offered on the form");
            let r = app
                .multipart(
                    "/requests",
                    &s.cookie,
                    &s.csrf,
                    &[
                        ("channel", "grid"),
                        ("category_id", &cat),
                        ("region_code", &grid),
                        ("description", "路灯不亮"),
                        ("on_the_spot", "1"),
                        ("outcome", "solved"),
                        ("reply", "已联系物业更换灯泡"),
                        ("latitude", "22.8"),
                        ("longitude", "108.3"),
                    ],
                    &[("photos", "现场.png", PNG)],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let id: i64 = r
                .location()
                .trim_start_matches("/requests/")
                .split('?')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let (req, files) = stands(&app, id);
            assert_eq!(req.status, "resolved");
            assert_eq!(req.place.as_deref(), Some("22.800000,108.300000"));
            assert_eq!(files.len(), 1);
            let page = app.get(&format!("/requests/{id}"), &s.cookie).await.text();
            assert!(page.contains("受理") && page.contains("就地办结"), "{page}");
        });
    }
);

/// A file sent to the files API with `username`'s token: its id.
async fn api_photo(app: &App, id: i64, username: &str) -> i64 {
    let token = format!("tok-photo-{}", shiliu_db::ids::new_id());
    let (u, hash) = (username.to_string(), shiliu_web::web::sha256_hex(&token));
    app.t
        .db
        .write_blocking(move |c| {
            let user = accounts::find_by_username(c, &u)?.expect("user");
            let actor = accounts::acting_as(c, &user, "test")?;
            let until = shiliu_db::now() + chrono::Duration::hours(1);
            accounts::create_token(c, &actor, "test", &hash, user.role().permissions(), until)
        })
        .unwrap();
    let boundary = "spotBoundary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"现场.png\"\r\n\r\n").into_bytes();
    body.extend_from_slice(PNG);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = app
        .call(
            Request::post(format!("/api/v1/requests/{id}/files"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v[0]["id"].as_i64().unwrap()
}

both_engines!(
    the_api_resolves_on_the_spot_with_the_photos_sent_first,
    |t: TestDb| {
        let app = App::new(t);
        let s = spot_cities(&app, true);
        block_on(async {
            let id = s.nn.request;
            let step = |photos: Vec<i64>| {
                serde_json::json!({"action": "resolve_on_the_spot", "version": version_of(&app, id).parse::<i32>().unwrap(),
                    "outcome": "solved", "reply": "已当场解答", "photo_ids": photos,
                    "latitude": 22.817, "longitude": 108.366})
            };
            let path = format!("/api/v1/requests/{id}/steps");
            let (st, e) = app
                .api("POST", &path, "nn-grid-worker", Some(step(vec![])))
                .await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert!(e.to_string().contains("photos"), "{e}");
            let photo = api_photo(&app, id, "nn-grid-worker").await;
            let (st, done) = app
                .api("POST", &path, "nn-grid-worker", Some(step(vec![photo])))
                .await;
            assert_eq!(st, StatusCode::OK, "{done}");
            assert_eq!(done["status"], "resolved");
            assert!(done["handler_user_id"].as_i64().is_some(), "{done}");
            assert_eq!(done["site_id"], serde_json::Value::Null);
            let (_, doc) = app.api_get("/api/v1/openapi.json", "nn-grid-worker").await;
            assert!(
                doc.to_string().contains("resolve_on_the_spot"),
                "documented"
            );
        });
    }
);

both_engines!(
    the_province_lets_grid_workers_resolve_a_category_on_the_spot_and_a_city_sees_it,
    |t: TestDb| {
        let app = App::new(t);
        let l = levels_cities(&app);
        block_on(async {
            let (admin, csrf) = app.session("gx-admin");
            let v = l.renting.version.to_string();
            let mut form = renting_form(&csrf, &v, "5", "days", "租房租住");
            form.push(("on_the_spot", "1"));
            let r = app.post(&l.path(), &admin, &form).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let id = l.renting.id;
            let after = app
                .t
                .db
                .write_blocking(move |c| shiliu_db::requests::category(c, id))
                .unwrap();
            assert!(after.on_the_spot);
            let page = app.get("/settings/categories", &admin).await.text();
            assert!(
                page.contains("name=\"on_the_spot\" value=\"1\" checked"),
                "{page}"
            );
            // A city reads it; the grid worker's intake form names the category.
            let (cs, _) = app.session("nn-commission-staff");
            let page = app.get("/settings/categories", &cs).await.text();
            assert!(
                page.contains("<span class=\"badge\">网格员可就地办结</span>"),
                "{page}"
            );
            let (gw, _) = app.session("nn-grid-worker");
            let form = app.get("/requests/new", &gw).await.text();
            assert!(
                form.contains("这些类别的简单诉求可当场办结：租房租住"),
                "{form}"
            );
            assert!(form.contains("name=\"on_the_spot\""), "{form}");
            // Unticked, it is off again.
            let v = after.version.to_string();
            let r = app
                .post(
                    &l.path(),
                    &admin,
                    &renting_form(&csrf, &v, "5", "days", "租房租住"),
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let again = app
                .t
                .db
                .write_blocking(move |c| shiliu_db::requests::category(c, id))
                .unwrap();
            assert!(!again.on_the_spot);
        });
    }
);

both_engines!(
    a_request_reopened_after_a_dissatisfied_rating_goes_back_to_its_grid_worker,
    |t: TestDb| {
        let app = App::new(t);
        let s = spot_cities(&app, true);
        block_on(async {
            let id = s.nn.request;
            let photo = [("photos", "现场.png", PNG)];
            let r = resolved_on_the_spot(&app, &s, id, "已当场解答", &photo, &[]).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let (cookie, csrf) = app.session("nn-commission-staff");
            for (action, rating) in [("rate", "dissatisfied"), ("reopen", "")] {
                let v = version_of(&app, id);
                let form = [
                    ("_csrf", csrf.as_str()),
                    ("action", action),
                    ("version", v.as_str()),
                    ("rating", rating),
                    ("reason", "群众不满意"),
                ];
                let r = app
                    .post(&format!("/requests/{id}/step"), &cookie, &form)
                    .await;
                assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}: {}", r.text());
            }
            assert_eq!(stands(&app, id).0.status, "in_progress");
            // Hers again: offered on her page, and resolved with a new photo.
            let page = app.get(&format!("/requests/{id}"), &s.cookie).await.text();
            assert!(page.contains("value=\"resolve_on_the_spot\""), "{page}");
            let r = resolved_on_the_spot(&app, &s, id, "再次上门解决", &photo, &[]).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            let (req, files) = stands(&app, id);
            assert_eq!((req.status.as_str(), files.len()), ("resolved", 2));
        });
    }
);
