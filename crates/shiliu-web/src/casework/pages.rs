//! Disputes (矛盾纠纷) and legal-aid cases (法律援助) as pages: opened from a request's page,
//! each with its own page of records and forms, and a list per scope.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::casework as db;
use shiliu_db::scope::grants;
use shiliu_domain::FieldErrors;
use shiliu_domain::casework::{
    CaseStatus, ConsultationInput, ConsultationMode, DisputeInput, DisputeKind,
    DisputeOutcomeInput, DisputeStatus, LegalAidInput, MediationOutcome, MediatorInput, PartyInput,
    PartySide, SessionInput,
};
use shiliu_domain::roles::Permission;

use crate::web::error::AppResult;
use crate::web::page::PAGE;
use crate::web::page::{Layout, Saved, options, render, render_form, show_minute};
use crate::web::{AppState, Principal};

/// What the request page shows of its casework: links to what exists, forms for what may be
/// opened.
pub struct RequestCasework {
    pub dispute: Option<(i64, String)>,
    pub case: Option<(i64, String)>,
    /// The reader may open casework (handles requests).
    pub can_open: bool,
    pub kinds: Vec<(String, String)>,
    pub lawyers: Vec<(String, String)>,
}

pub(crate) async fn for_request(
    state: &AppState,
    p: &Principal,
    request_id: i64,
    region_path: String,
) -> AppResult<RequestCasework> {
    let t = p.t();
    let can_open = p.can(Permission::HandleRequests);
    let actor = p.require::<grants::ViewRequests>()?;
    let (dispute, case, lawyers) = state
        .db
        .read(move |c| {
            let lawyers = if can_open {
                db::lawyers_for(c, &region_path)?
            } else {
                Vec::new()
            };
            Ok((
                db::dispute_for_request(c, &actor, request_id)?,
                db::case_for_request(c, &actor, request_id)?,
                lawyers,
            ))
        })
        .await?;
    Ok(RequestCasework {
        dispute: dispute.map(|d| (d.id, t.label("dispute_status", &d.status))),
        case: case.map(|k| (k.id, t.label("case_status", &k.status))),
        can_open,
        kinds: options(DisputeKind::ALL, DisputeKind::as_str, "dispute_kind", t),
        lawyers,
    })
}

#[derive(Deserialize, Default)]
pub struct OpenDisputeForm {
    #[serde(default)]
    dispute_kind: String,
    #[serde(default)]
    summary: String,
}

/// 登记矛盾纠纷 from a request.
pub async fn open_dispute(
    State(state): State<AppState>,
    p: Principal,
    Path(request_id): Path<i64>,
    Form(f): Form<OpenDisputeForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::HandleRequests>()?;
    let result = match DisputeInput::parse(&f.dispute_kind, &f.summary) {
        Ok(input) => {
            state
                .db
                .write(move |c| db::open_dispute(c, &actor, request_id, &input))
                .await
        }
        Err(e) => Err(shiliu_db::DbError::Invalid(e)),
    };
    crate::requests::pages::after_form(&state, &p, request_id, result, |d| {
        format!("/disputes/{}?saved=1", d.id)
    })
    .await
}

#[derive(Deserialize, Default)]
pub struct OpenCaseForm {
    #[serde(default)]
    lawyer: String,
    #[serde(default)]
    matter: String,
}

/// 转法律援助: a case for a lawyer, from a request.
pub async fn open_case(
    State(state): State<AppState>,
    p: Principal,
    Path(request_id): Path<i64>,
    Form(f): Form<OpenCaseForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::HandleRequests>()?;
    let result = match LegalAidInput::parse(&f.lawyer, &f.matter) {
        Ok(input) => {
            state
                .db
                .write(move |c| db::open_legal_aid(c, &actor, request_id, &input))
                .await
        }
        Err(e) => Err(shiliu_db::DbError::Invalid(e)),
    };
    crate::requests::pages::after_form(&state, &p, request_id, result, |k| {
        format!("/legal-aid/{}?saved=1", k.id)
    })
    .await
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    before: Option<i64>,
}

/// A row of a casework list: link, what, status, when.
pub struct ListRow {
    pub href: String,
    pub title: String,
    pub detail: String,
    pub status: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "casework/casework_list.html")]
struct ListPage {
    l: Layout,
    base: &'static str,
    statuses: Vec<(String, String)>,
    status: String,
    detail_label: String,
    rows: Vec<ListRow>,
    next: Option<i64>,
}

pub async fn disputes(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRequests>()?;
    let t = p.t();
    let status = DisputeStatus::parse(&q.status);
    let rows = state
        .db
        .read(move |c| db::disputes(c, &actor, status, q.before, PAGE + 1))
        .await?;
    let next = (rows.len() as i64 > PAGE).then(|| rows[PAGE as usize - 1].id);
    let page = ListPage {
        l: Layout::new(&p, "nav.disputes", t.s("disputes.title")),
        base: "/disputes",
        statuses: options(
            DisputeStatus::ALL,
            DisputeStatus::as_str,
            "dispute_status",
            t,
        ),
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        detail_label: t.s("field.dispute_kind").to_string(),
        rows: rows
            .into_iter()
            .take(PAGE as usize)
            .map(|d| ListRow {
                href: format!("/disputes/{}", d.id),
                title: d.summary.chars().take(40).collect(),
                detail: t.label("dispute_kind", &d.kind),
                status: t.label("dispute_status", &d.status),
                created: show_minute(d.created_at),
            })
            .collect(),
        next,
    };
    render(&page)
}

pub async fn cases(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRequests>()?;
    let t = p.t();
    let status = CaseStatus::parse(&q.status);
    let rows = state
        .db
        .read(move |c| db::legal_aid_cases(c, &actor, status, q.before, PAGE + 1))
        .await?;
    let next = (rows.len() as i64 > PAGE).then(|| rows[PAGE as usize - 1].0.id);
    let page = ListPage {
        l: Layout::new(&p, "nav.legal_aid", t.s("legal_aid.title")),
        base: "/legal-aid",
        statuses: options(CaseStatus::ALL, CaseStatus::as_str, "case_status", t),
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        detail_label: t.s("field.lawyer").to_string(),
        rows: rows
            .into_iter()
            .take(PAGE as usize)
            .map(|(k, lawyer)| ListRow {
                href: format!("/legal-aid/{}", k.id),
                title: k.matter.chars().take(40).collect(),
                detail: lawyer,
                status: t.label("case_status", &k.status),
                created: show_minute(k.created_at),
            })
            .collect(),
        next,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "casework/dispute.html")]
struct DisputePage {
    l: Layout,
    d: db::Dispute,
    request_code: String,
    kind: String,
    status: String,
    outcome: String,
    open: bool,
    can_edit: bool,
    parties: Vec<(String, String, String, String)>,
    mediators: Vec<(String, String)>,
    /// Mediators with an account who may be picked: (user name, name).
    mediator_users: Vec<(String, String)>,
    sessions: Vec<(String, String, String, String)>,
    sides: Vec<(String, String)>,
    outcomes: Vec<(String, String)>,
    today: String,
    errors: Vec<(String, String)>,
}

async fn dispute_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    errs: &FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRequests>()?;
    let t = p.t();
    let (d, code, (parties, mediators, sessions), mediator_users) = state
        .db
        .read(move |c| {
            let d = db::dispute(c, &actor, id)?;
            let code = shiliu_db::requests::get(c, actor.scope(), d.request_id)?.code;
            let records = db::dispute_records(c, &d)?;
            let users = db::lawyers_for(c, &d.region_path)?;
            Ok((d, code, records, users))
        })
        .await?;
    let people = |code: &Option<String>| {
        code.as_deref()
            .and_then(shiliu_domain::peoples::by_code)
            .map(|x| x.name.to_string())
            .unwrap_or_default()
    };
    let page = DisputePage {
        l: Layout::new(
            p,
            "nav.disputes",
            &format!("{} · {}", t.s("disputes.one"), code),
        )
        .flash(saved),
        request_code: code,
        kind: t.label("dispute_kind", &d.kind),
        status: t.label("dispute_status", &d.status),
        outcome: d
            .outcome
            .as_deref()
            .map(|o| t.label("mediation_outcome", o))
            .unwrap_or_default(),
        open: d.status != DisputeStatus::Closed.as_str(),
        can_edit: p.can(Permission::HandleRequests),
        parties: parties
            .iter()
            .map(|x| {
                (
                    t.label("party_side", &x.side),
                    x.name.clone(),
                    people(&x.people),
                    x.phone.clone().unwrap_or_default(),
                )
            })
            .collect(),
        mediators: mediators
            .into_iter()
            .map(|m| (m.name, m.organisation.unwrap_or_default()))
            .collect(),
        mediator_users,
        sessions: sessions
            .into_iter()
            .map(|s| {
                (
                    s.held_on.format("%Y-%m-%d").to_string(),
                    s.place.unwrap_or_default(),
                    s.notes,
                    s.recorded_by,
                )
            })
            .collect(),
        sides: options(PartySide::ALL, PartySide::as_str, "party_side", t),
        outcomes: options(
            MediationOutcome::ALL,
            MediationOutcome::as_str,
            "mediation_outcome",
            t,
        ),
        today: shiliu_db::today().format("%Y-%m-%d").to_string(),
        errors: t.field_errors(errs),
        d,
    };
    render_form(&page, !errs.is_empty())
}

pub async fn dispute(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    dispute_page(&state, &p, id, &FieldErrors::new(), s.yes()).await
}

/// Every form on the dispute page; `what` in the path says which record it adds.
#[derive(Deserialize, Default)]
pub struct DisputeRecordForm {
    #[serde(default)]
    side: String,
    #[serde(default)]
    party_name: String,
    #[serde(default)]
    mediator_name: String,
    #[serde(default)]
    mediator_user: String,
    #[serde(default)]
    people: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    held_on: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    mediation_outcome: String,
    #[serde(default)]
    agreement: String,
    #[serde(default)]
    version: i32,
}

pub async fn dispute_record(
    State(state): State<AppState>,
    p: Principal,
    Path((id, what)): Path<(i64, String)>,
    Form(f): Form<DisputeRecordForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::HandleRequests>()?;
    let result: Result<(), shiliu_db::DbError> = match what.as_str() {
        "parties" => match PartyInput::parse(&f.side, &f.party_name, &f.people, &f.phone) {
            Ok(i) => {
                state
                    .db
                    .write(move |c| db::add_party(c, &actor, id, &i).map(drop))
                    .await
            }
            Err(e) => Err(e.into()),
        },
        "mediators" => {
            match MediatorInput::parse(&f.mediator_name, &f.organisation, &f.mediator_user) {
                Ok(i) => {
                    state
                        .db
                        .write(move |c| db::add_mediator(c, &actor, id, &i).map(drop))
                        .await
                }
                Err(e) => Err(e.into()),
            }
        }
        "sessions" => match SessionInput::parse(&f.held_on, &f.place, &f.notes, shiliu_db::today())
        {
            Ok(i) => {
                state
                    .db
                    .write(move |c| db::add_session(c, &actor, id, &i).map(drop))
                    .await
            }
            Err(e) => Err(e.into()),
        },
        "close" => match DisputeOutcomeInput::parse(&f.mediation_outcome, &f.agreement) {
            Ok(i) => {
                let v = f.version;
                state
                    .db
                    .write(move |c| db::close_dispute(c, &actor, id, v, &i).map(drop))
                    .await
            }
            Err(e) => Err(e.into()),
        },
        _ => return Err(crate::web::error::AppError::NotFound),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/disputes/{id}?saved=1")).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => dispute_page(&state, &p, id, &e, false).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "casework/legal_aid.html")]
struct CasePage {
    l: Layout,
    k: db::LegalAidCase,
    request_code: String,
    lawyer: String,
    status: String,
    open: bool,
    can_edit: bool,
    consultations: Vec<(String, String, String, String, String, String)>,
    modes: Vec<(String, String)>,
    today: String,
    errors: Vec<(String, String)>,
}

/// A case's records may be added by its lawyer and by anyone who handles requests.
pub(crate) fn may_edit_case(p: &Principal, k: &db::LegalAidCase) -> bool {
    p.can(Permission::HandleRequests) || k.lawyer_id == p.user().id
}

async fn case_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    errs: &FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRequests>()?;
    let t = p.t();
    let (k, code, lawyer, consultations) = state
        .db
        .read(move |c| {
            let k = db::legal_aid_case(c, &actor, id)?;
            let code = shiliu_db::requests::get(c, actor.scope(), k.request_id)?.code;
            let lawyer = db::lawyer_name(c, k.lawyer_id)?;
            let consultations = db::consultations(c, &k)?;
            Ok((k, code, lawyer, consultations))
        })
        .await?;
    let page = CasePage {
        l: Layout::new(
            p,
            "nav.legal_aid",
            &format!("{} · {}", t.s("legal_aid.one"), code),
        )
        .flash(saved),
        request_code: code,
        lawyer,
        status: t.label("case_status", &k.status),
        open: k.status != CaseStatus::Closed.as_str(),
        can_edit: may_edit_case(p, &k),
        consultations: consultations
            .into_iter()
            .map(|x| {
                (
                    x.held_on.format("%Y-%m-%d").to_string(),
                    t.label("consultation_mode", &x.mode),
                    x.summary,
                    x.advice,
                    x.minutes.map(|m| m.to_string()).unwrap_or_default(),
                    x.recorded_by,
                )
            })
            .collect(),
        modes: options(
            ConsultationMode::ALL,
            ConsultationMode::as_str,
            "consultation_mode",
            t,
        ),
        today: shiliu_db::today().format("%Y-%m-%d").to_string(),
        errors: t.field_errors(errs),
        k,
    };
    render_form(&page, !errs.is_empty())
}

pub async fn case(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    case_page(&state, &p, id, &FieldErrors::new(), s.yes()).await
}

#[derive(Deserialize, Default)]
pub struct CaseRecordForm {
    #[serde(default)]
    held_on: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    advice: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    version: i32,
}

pub async fn case_record(
    State(state): State<AppState>,
    p: Principal,
    Path((id, what)): Path<(i64, String)>,
    Form(f): Form<CaseRecordForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRequests>()?;
    let k = {
        let a = actor.clone();
        state
            .db
            .read(move |c| db::legal_aid_case(c, &a, id))
            .await?
    };
    if !may_edit_case(&p, &k) {
        return Err(crate::web::error::AppError::Forbidden);
    }
    let result: Result<(), shiliu_db::DbError> = match what.as_str() {
        "consultations" => {
            match ConsultationInput::parse(
                &f.held_on,
                &f.mode,
                &f.summary,
                &f.advice,
                &f.minutes,
                shiliu_db::today(),
            ) {
                Ok(i) => {
                    state
                        .db
                        .write(move |c| db::add_consultation(c, &actor, id, &i).map(drop))
                        .await
                }
                Err(e) => Err(e.into()),
            }
        }
        "close" => {
            let v = f.version;
            state
                .db
                .write(move |c| db::close_case(c, &actor, id, v, &f.result).map(drop))
                .await
        }
        _ => return Err(crate::web::error::AppError::NotFound),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/legal-aid/{id}?saved=1")).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => case_page(&state, &p, id, &e, false).await,
        Err(e) => Err(e.into()),
    }
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/requests/{id}/dispute", post(open_dispute))
        .route("/requests/{id}/legal-aid", post(open_case))
        .route("/disputes", get(disputes))
        .route("/disputes/{id}", get(dispute))
        .route("/disputes/{id}/{what}", post(dispute_record))
        .route("/legal-aid", get(cases))
        .route("/legal-aid/{id}", get(case))
        .route("/legal-aid/{id}/{what}", post(case_record))
}
