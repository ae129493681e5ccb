//! A council's public page (`/c/{code}`, the address its poster's QR code holds): residents
//! raise an item without an account — a name only if they give it, shown on the notice only if
//! they agree — and read the public notice (公开) of what the meetings decided and how it was
//! seen to, with no one's phone and no name without consent. And the poster itself.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::NaiveDate;
use shiliu_db::councils::items::{self, Notice};
use shiliu_db::councils::{self as db, Council, meetings};
use shiliu_db::scope::grants;
use shiliu_domain::FieldErrors;
use shiliu_domain::councils::Channel;

use super::{CouncilItemForm, rhythm_text};
use crate::requests::public::{PublicLimit, form_token, over_limit, resident, with_token};
use crate::web::error::AppResult;
use crate::web::files::FormData;
use crate::web::i18n::T;
use crate::web::page::{Layout, render, render_form};
use crate::web::{AppState, Ctx, Principal};

pub(crate) fn routes() -> crate::Routes {
    crate::Routes::new(file!())
        .route("/c/{code}", get(page).post(raise))
        .route("/councils/{id}/poster", get(poster))
}

/// How far back the public notice goes, in days.
const NOTICE_DAYS: i64 = 366;

/// A notice line in words.
pub struct NoticeRow {
    pub n: Notice,
    pub status: String,
}

#[derive(Template)]
#[template(path = "councils/public.html")]
struct PublicPage {
    l: Layout,
    csrf: String,
    c: Council,
    region_name: String,
    rhythm: String,
    upcoming: Vec<NaiveDate>,
    notice: Vec<NoticeRow>,
    d: CouncilItemForm,
    sent: bool,
    errors: Vec<(String, String)>,
}

#[derive(serde::Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    sent: Option<String>,
}

async fn public_page(
    state: &AppState,
    ctx: &Ctx,
    code: String,
    d: CouncilItemForm,
    errs: &FieldErrors,
    sent: bool,
) -> AppResult<Response> {
    let t = ctx.t;
    let today = shiliu_db::today();
    let (c, region_name, upcoming, notice) = state
        .db
        .read(move |conn| {
            let c = db::by_code(conn, &code)?;
            Ok((
                c.clone(),
                db::region_name(conn, &c)?,
                meetings::upcoming(conn, &c, today, 2)?,
                items::notice(conn, &c, today - chrono::Duration::days(NOTICE_DAYS))?,
            ))
        })
        .await?;
    let (token, new_cookie) = form_token(ctx);
    let resp = render_form(
        &PublicPage {
            l: Layout::anonymous(ctx, &c.name),
            csrf: token.clone(),
            rhythm: rhythm_text(t, c.schedule()),
            region_name,
            upcoming,
            notice: notice
                .into_iter()
                .map(|n| NoticeRow {
                    status: t.label("item_status", &n.status),
                    n,
                })
                .collect(),
            d,
            sent,
            errors: super::field_errors(t, errs),
            c,
        },
        !errs.is_empty(),
    )?;
    Ok(with_token(resp, state, &token, new_cookie))
}

pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<PageQuery>,
) -> AppResult<Response> {
    public_page(
        &state,
        &ctx,
        code,
        CouncilItemForm::default(),
        &FieldErrors::new(),
        q.sent.is_some(),
    )
    .await
}

pub async fn raise(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    form: FormData,
) -> AppResult<Response> {
    let f: CouncilItemForm = form.parse()?;
    let input = match super::pages::item_input(&f, Channel::Public) {
        Ok(i) => i,
        Err(e) => return public_page(&state, &ctx, code, f, &e, false).await,
    };
    if let Some(refused) = over_limit(&state, &ctx, PublicLimit::Submit("public-council-item")) {
        return refused;
    }
    let actor = resident(&ctx);
    let c2 = code.clone();
    let result = state
        .db
        .write(move |c| {
            let council = db::by_code(c, &c2)?;
            items::raise_public(c, &actor, &council, &input)
        })
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/c/{code}?sent=1")).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => public_page(&state, &ctx, code, f, &e, false).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "councils/poster.html")]
struct PosterPage {
    t: T,
    version: &'static str,
    c: Council,
    region_name: String,
    rhythm: String,
    url: String,
    svg: String,
}

pub async fn poster(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewCouncils>()?;
    let t = p.t();
    let (c, region_name) = state
        .db
        .read(move |conn| {
            let c = db::get(conn, actor.scope(), id)?;
            Ok((c.clone(), db::region_name(conn, &c)?))
        })
        .await?;
    let url = format!(
        "{}/c/{}",
        crate::org::poster::public_base(&state, &headers),
        c.public_code
    );
    render(&PosterPage {
        t,
        version: env!("CARGO_PKG_VERSION"),
        rhythm: rhythm_text(t, c.schedule()),
        svg: crate::org::poster::qr_svg(&url)?,
        url,
        region_name,
        c,
    })
}
