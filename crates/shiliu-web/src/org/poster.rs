//! A site's poster: one A4 page to print and put up at the site, with its name, address and
//! hours, what residents can do without an account, and a QR code for each public form that
//! opens it with this site's place already picked (`/r?site=…`, `/d?site=…`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use shiliu_db::org as db;
use shiliu_db::scope::grants;

use crate::web::error::{AppError, AppResult};
use crate::web::i18n::T;
use crate::web::page::render;
use crate::web::{AppState, Principal};

/// One public form on the poster: what it is for, its address and its code.
struct Entry {
    title: String,
    hint: String,
    url: String,
    svg: String,
}

#[derive(Template)]
#[template(path = "org/site_poster.html")]
struct PosterPage {
    t: T,
    version: &'static str,
    name: String,
    place: String,
    address: String,
    hours: String,
    phone: String,
    entries: Vec<Entry>,
}

/// A QR code for `text` as an inline SVG element, one unit a module (the page sizes it).
pub(crate) fn qr_svg(text: &str) -> AppResult<String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(format!("qr code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .module_dimensions(1, 1)
        .build();
    // Inline in a page: without the XML declaration a standalone file starts with.
    Ok(match svg.split_once("?>") {
        Some((_, element)) => element.to_string(),
        None => svg,
    })
}

/// The address residents reach this server at: the configured public one, else the one this
/// page was asked for at (so a poster printed on a test server points at that server).
pub(crate) fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.config.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

pub async fn site_poster(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewOrg>()?;
    let (site, place) = state
        .db
        .read(move |c| {
            let site = db::get_site(c, actor.scope(), id)?;
            let region = db::atlas::region(c, site.region_id)?;
            let mut names = db::atlas::ancestor_names(c, &region)?;
            names.push(region.name);
            Ok((site, names.into_iter().skip(1).collect::<String>()))
        })
        .await?;
    let t = p.t();
    let base = public_base(&state, &headers);
    let mut entries = Vec::new();
    for (path, title, hint) in [
        ("/r", "poster.request", "poster.request_hint"),
        ("/d", "poster.declare", "poster.declare_hint"),
    ] {
        let url = format!("{base}{path}?site={}", site.id);
        entries.push(Entry {
            title: t.s(title).to_string(),
            hint: t.s(hint).to_string(),
            svg: qr_svg(&url)?,
            url,
        });
    }
    render(&PosterPage {
        t,
        version: env!("CARGO_PKG_VERSION"),
        name: site.name,
        place,
        address: site.address.unwrap_or_default(),
        hours: site.opening_hours.unwrap_or_default(),
        phone: site.contact_phone.unwrap_or_default(),
        entries,
    })
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!()).route("/sites/{id}/poster", get(site_poster))
}
