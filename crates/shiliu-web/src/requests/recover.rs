//! A lost tracking code, recovered by phone number: the resident gives the number the
//! requests were made with, receives a one-time six-digit code by SMS (through the outbox,
//! `shiliu_db::messages::codes`), and with it sees that number's requests and their codes.
//! The pages answer alike whether the number has requests or not.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use shiliu_db::messages::codes::{self, Asked, Checked};
use shiliu_domain::messages::parse_code;
use shiliu_domain::mobile::Mobile;

use super::public::{PublicLimit, form_token, over_limit, resident, too_many, with_token};
use crate::web::error::AppResult;
use crate::web::page::{Layout, render, show_minute};
use crate::web::{AppState, Ctx};

/// Which step the page is at.
pub enum Step {
    /// Give the phone number.
    Phone,
    /// Type the code sent to it (the ticket it was sent under).
    Code(i64),
    /// The number's requests: (code, received, status).
    Found(Vec<(String, String, String)>),
}

#[derive(Template)]
#[template(path = "requests/public_recover.html")]
struct RecoverPage {
    l: Layout,
    csrf: String,
    step: Step,
    phone: String,
    error: Option<String>,
}

fn page(
    state: &AppState,
    ctx: &Ctx,
    step: Step,
    phone: String,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let (token, set) = form_token(ctx);
    let mut resp = render(&RecoverPage {
        l: Layout::anonymous(ctx, ctx.t.s("recover.title")),
        csrf: token.clone(),
        step,
        phone,
        error,
    })?;
    *resp.status_mut() = status;
    Ok(with_token(resp, state, &token, set))
}

pub async fn start(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    page(
        &state,
        &ctx,
        Step::Phone,
        String::new(),
        None,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    phone: String,
}

pub async fn ask(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<PhoneForm>,
) -> AppResult<Response> {
    let t = ctx.t;
    let phone = match Mobile::parse(&f.phone) {
        Ok(m) => m,
        Err(e) => {
            let why = format!("{}：{}", t.s("field.contact_phone"), t.s(e.reason));
            return page(
                &state,
                &ctx,
                Step::Phone,
                f.phone,
                Some(why),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    if let Some(refused) = over_limit(&state, &ctx, PublicLimit::Lookup) {
        return refused;
    }
    let actor = resident(&ctx);
    let asked = state
        .db
        .write(move |c| codes::ask(c, &actor, &phone, shiliu_db::now()))
        .await?;
    match asked {
        Asked::Ticket(ticket) => page(
            &state,
            &ctx,
            Step::Code(ticket),
            String::new(),
            None,
            StatusCode::OK,
        ),
        Asked::TooMany => too_many(&ctx, t),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    ticket: i64,
    #[serde(default)]
    code: String,
}

pub async fn verify(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    let t = ctx.t;
    let bad = StatusCode::UNPROCESSABLE_ENTITY;
    let code = match parse_code(&f.code) {
        Ok(c) => c,
        Err(e) => {
            let why = format!("{}：{}", t.s("recover.code"), t.s(e.reason));
            return page(
                &state,
                &ctx,
                Step::Code(f.ticket),
                String::new(),
                Some(why),
                bad,
            );
        }
    };
    if let Some(refused) = over_limit(&state, &ctx, PublicLimit::Lookup) {
        return refused;
    }
    let actor = resident(&ctx);
    let ticket = f.ticket;
    let checked = state
        .db
        .write(move |c| codes::check(c, &actor, ticket, &code, shiliu_db::now()))
        .await?;
    match checked {
        Checked::Requests(found) => {
            let rows = found
                .into_iter()
                .map(|r| {
                    let status = t.label("status", &r.status);
                    (r.code, show_minute(r.received_at), status)
                })
                .collect();
            page(
                &state,
                &ctx,
                Step::Found(rows),
                String::new(),
                None,
                StatusCode::OK,
            )
        }
        Checked::Wrong(left) => {
            let why = t.f("recover.wrong", &[("left", &left.to_string())]);
            let step = if left > 0 {
                Step::Code(ticket)
            } else {
                Step::Phone
            };
            page(&state, &ctx, step, String::new(), Some(why), bad)
        }
        Checked::Spent => {
            let why = t.s("recover.spent").to_string();
            page(&state, &ctx, Step::Phone, String::new(), Some(why), bad)
        }
    }
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/r/recover", get(start).post(ask))
        .route("/r/recover/code", post(verify))
}
