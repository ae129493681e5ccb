//! The JSON API for disputes and legal-aid cases (see `pages::casework` for the pages and
//! `shiliu_db::casework` for the rules).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shiliu_db::casework as db;
use shiliu_db::scope::grants;
use shiliu_domain::casework::{
    CaseStatus, ConsultationInput, DisputeInput, DisputeOutcomeInput, DisputeStatus, LegalAidInput,
    MediatorInput, PartyInput, SessionInput,
};
use utoipa::ToSchema;

use crate::web::error::{AppError, AppResult};
use crate::web::page::PAGE;
use crate::web::{AppState, Principal};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(
        disputes,
        dispute,
        open_dispute,
        dispute_record,
        cases,
        case,
        open_case,
        case_record
    ),
    components(schemas(
        DisputeDto,
        PartyDto,
        MediatorDto,
        SessionDto,
        DisputeDetail,
        DisputePage,
        NewDisputeBody,
        DisputeRecordBody,
        CaseDto,
        ConsultationDto,
        CaseDetail,
        CasePage,
        NewCaseBody,
        CaseRecordBody
    ))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
pub struct DisputeDto {
    id: i64,
    request_id: i64,
    /// family, neighbours, labour, tenancy, land, debt, other
    kind: String,
    summary: String,
    /// open, mediating, closed
    status: String,
    /// success, failure
    outcome: Option<String>,
    agreement: Option<String>,
    #[serde(serialize_with = "crate::web::api::moment")]
    created_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    closed_at: Option<chrono::NaiveDateTime>,
    version: i32,
}

impl From<db::Dispute> for DisputeDto {
    fn from(d: db::Dispute) -> Self {
        Self {
            id: d.id,
            request_id: d.request_id,
            kind: d.kind,
            summary: d.summary,
            status: d.status,
            outcome: d.outcome,
            agreement: d.agreement,
            created_at: d.created_at,
            closed_at: d.closed_at,
            version: d.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PartyDto {
    /// applicant, respondent, third
    side: String,
    name: String,
    /// GB 3304 code
    people: Option<String>,
    phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MediatorDto {
    name: String,
    organisation: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionDto {
    /// YYYY-MM-DD
    held_on: String,
    place: Option<String>,
    notes: String,
    recorded_by: String,
}

#[derive(Serialize, ToSchema)]
pub struct DisputeDetail {
    dispute: DisputeDto,
    parties: Vec<PartyDto>,
    mediators: Vec<MediatorDto>,
    sessions: Vec<SessionDto>,
}

#[derive(Serialize, ToSchema)]
pub struct DisputePage {
    items: Vec<DisputeDto>,
    next: Option<i64>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    before: Option<i64>,
}

/// Disputes in the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/disputes",
    params(("status" = Option<String>, Query, description = "open, mediating or closed"), ("before" = Option<i64>, Query, description = "page cursor")),
    responses((status = 200, body = DisputePage), (status = 401, body = crate::web::api::ErrorBody)))]
pub async fn disputes(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<DisputePage>> {
    let actor = p.require::<grants::ViewRequests>()?;
    let status = crate::web::api::choice("status", &q.status, DisputeStatus::parse)?;
    let rows = state
        .db
        .read(move |c| db::disputes(c, &actor, status, q.before, PAGE + 1))
        .await?;
    let (rows, next) = crate::web::api::paginate(rows, |d| d.id);
    Ok(Json(DisputePage {
        items: rows.into_iter().map(Into::into).collect(),
        next,
    }))
}

/// One dispute with its parties, mediators and sessions.
#[utoipa::path(get, path = "/api/v1/disputes/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = DisputeDetail), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn dispute(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<DisputeDetail>> {
    let actor = p.require::<grants::ViewRequests>()?;
    let (d, (parties, mediators, sessions)) = state
        .db
        .read(move |c| {
            let d = db::dispute(c, &actor, id)?;
            let records = db::dispute_records(c, &d)?;
            Ok((d, records))
        })
        .await?;
    Ok(Json(DisputeDetail {
        dispute: d.into(),
        parties: parties
            .into_iter()
            .map(|x| PartyDto {
                side: x.side,
                name: x.name,
                people: x.people,
                phone: x.phone,
            })
            .collect(),
        mediators: mediators
            .into_iter()
            .map(|m| MediatorDto {
                name: m.name,
                organisation: m.organisation,
            })
            .collect(),
        sessions: sessions
            .into_iter()
            .map(|s| SessionDto {
                held_on: s.held_on.format("%Y-%m-%d").to_string(),
                place: s.place,
                notes: s.notes,
                recorded_by: s.recorded_by,
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewDisputeBody {
    kind: String,
    summary: String,
}

/// Register a dispute from a request (one per request).
#[utoipa::path(post, path = "/api/v1/requests/{id}/dispute", params(("id" = i64, Path)), request_body = NewDisputeBody,
    responses((status = 201, body = DisputeDto), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn open_dispute(
    State(state): State<AppState>,
    p: Principal,
    Path(request_id): Path<i64>,
    Json(b): Json<NewDisputeBody>,
) -> AppResult<(StatusCode, Json<DisputeDto>)> {
    let actor = p.require::<grants::HandleRequests>()?;
    let input = DisputeInput::parse(&b.kind, &b.summary)?;
    let d = state
        .db
        .write(move |c| db::open_dispute(c, &actor, request_id, &input))
        .await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

/// A record to add to a dispute; which fields apply depends on the record (see each path).
#[derive(Deserialize, ToSchema, Default)]
pub struct DisputeRecordBody {
    #[serde(default)]
    side: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    people: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    organisation: String,
    /// A mediator with an account: their user name (a legal-aid user covering the dispute's
    /// region), who then sees the dispute; `name` may then be left out.
    #[serde(default)]
    user: String,
    /// YYYY-MM-DD
    #[serde(default)]
    held_on: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    notes: String,
    /// success or failure (to close)
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    agreement: String,
    /// The version the client saw (to close).
    #[serde(default)]
    version: i32,
}

/// Add a party (`parties`: side, name, people, phone), a mediator (`mediators`: name,
/// organisation) or a session (`sessions`: `held_on`, place, notes), or close the mediation
/// (`close`: version, outcome, agreement). Returns the dispute as it now stands.
#[utoipa::path(post, path = "/api/v1/disputes/{id}/{record}", params(("id" = i64, Path), ("record" = String, Path, description = "parties, mediators, sessions or close")),
    request_body = DisputeRecordBody,
    responses((status = 200, body = DisputeDto), (status = 404, body = crate::web::api::ErrorBody), (status = 409, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn dispute_record(
    State(state): State<AppState>,
    p: Principal,
    Path((id, record)): Path<(i64, String)>,
    Json(b): Json<DisputeRecordBody>,
) -> AppResult<Json<DisputeDto>> {
    let actor = p.require::<grants::HandleRequests>()?;
    let d = match record.as_str() {
        "parties" => {
            let i = PartyInput::parse(&b.side, &b.name, &b.people, &b.phone)?;
            state
                .db
                .write(move |c| {
                    db::add_party(c, &actor, id, &i)?;
                    db::dispute(c, &actor, id)
                })
                .await?
        }
        "mediators" => {
            let i = MediatorInput::parse(&b.name, &b.organisation, &b.user)?;
            state
                .db
                .write(move |c| {
                    db::add_mediator(c, &actor, id, &i)?;
                    db::dispute(c, &actor, id)
                })
                .await?
        }
        "sessions" => {
            let i = SessionInput::parse(&b.held_on, &b.place, &b.notes, shiliu_db::today())?;
            state
                .db
                .write(move |c| {
                    db::add_session(c, &actor, id, &i)?;
                    db::dispute(c, &actor, id)
                })
                .await?
        }
        "close" => {
            let i = DisputeOutcomeInput::parse(&b.outcome, &b.agreement)?;
            state
                .db
                .write(move |c| db::close_dispute(c, &actor, id, b.version, &i))
                .await?
        }
        _ => return Err(AppError::NotFound),
    };
    Ok(Json(d.into()))
}

#[derive(Serialize, ToSchema)]
pub struct CaseDto {
    id: i64,
    request_id: i64,
    matter: String,
    lawyer_id: i64,
    lawyer: String,
    /// open, closed
    status: String,
    result: Option<String>,
    #[serde(serialize_with = "crate::web::api::moment")]
    created_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    closed_at: Option<chrono::NaiveDateTime>,
    version: i32,
}

impl CaseDto {
    fn new(k: db::LegalAidCase, lawyer: String) -> Self {
        Self {
            id: k.id,
            request_id: k.request_id,
            matter: k.matter,
            lawyer_id: k.lawyer_id,
            lawyer,
            status: k.status,
            result: k.result,
            created_at: k.created_at,
            closed_at: k.closed_at,
            version: k.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConsultationDto {
    /// YYYY-MM-DD
    held_on: String,
    /// `in_person`, `phone`, `online`
    mode: String,
    summary: String,
    advice: String,
    minutes: Option<i32>,
    recorded_by: String,
}

#[derive(Serialize, ToSchema)]
pub struct CaseDetail {
    case: CaseDto,
    consultations: Vec<ConsultationDto>,
}

#[derive(Serialize, ToSchema)]
pub struct CasePage {
    items: Vec<CaseDto>,
    next: Option<i64>,
}

/// Legal-aid cases the caller may see, newest first: in their scope; a lawyer's, their own.
#[utoipa::path(get, path = "/api/v1/legal-aid",
    params(("status" = Option<String>, Query, description = "open or closed"), ("before" = Option<i64>, Query, description = "page cursor")),
    responses((status = 200, body = CasePage), (status = 401, body = crate::web::api::ErrorBody)))]
pub async fn cases(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<CasePage>> {
    let actor = p.require::<grants::ViewRequests>()?;
    let status = crate::web::api::choice("status", &q.status, CaseStatus::parse)?;
    let rows = state
        .db
        .read(move |c| db::legal_aid_cases(c, &actor, status, q.before, PAGE + 1))
        .await?;
    let (rows, next) = crate::web::api::paginate(rows, |(k, _)| k.id);
    Ok(Json(CasePage {
        items: rows.into_iter().map(|(k, l)| CaseDto::new(k, l)).collect(),
        next,
    }))
}

/// One case with its consultations.
#[utoipa::path(get, path = "/api/v1/legal-aid/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = CaseDetail), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn case(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<CaseDetail>> {
    let actor = p.require::<grants::ViewRequests>()?;
    let (k, lawyer, consultations) = state
        .db
        .read(move |c| {
            let k = db::legal_aid_case(c, &actor, id)?;
            let lawyer = db::lawyer_name(c, k.lawyer_id)?;
            let consultations = db::consultations(c, &k)?;
            Ok((k, lawyer, consultations))
        })
        .await?;
    Ok(Json(CaseDetail {
        case: CaseDto::new(k, lawyer),
        consultations: consultations
            .into_iter()
            .map(|x| ConsultationDto {
                held_on: x.held_on.format("%Y-%m-%d").to_string(),
                mode: x.mode,
                summary: x.summary,
                advice: x.advice,
                minutes: x.minutes,
                recorded_by: x.recorded_by,
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewCaseBody {
    /// The lawyer's user name (a legal-aid user whose region covers the request's).
    lawyer: String,
    matter: String,
}

/// Refer a request to legal aid (one case per request).
#[utoipa::path(post, path = "/api/v1/requests/{id}/legal-aid", params(("id" = i64, Path)), request_body = NewCaseBody,
    responses((status = 201, body = CaseDto), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn open_case(
    State(state): State<AppState>,
    p: Principal,
    Path(request_id): Path<i64>,
    Json(b): Json<NewCaseBody>,
) -> AppResult<(StatusCode, Json<CaseDto>)> {
    let actor = p.require::<grants::HandleRequests>()?;
    let input = LegalAidInput::parse(&b.lawyer, &b.matter)?;
    let (k, lawyer) = state
        .db
        .write(move |c| {
            let k = db::open_legal_aid(c, &actor, request_id, &input)?;
            let lawyer = db::lawyer_name(c, k.lawyer_id)?;
            Ok((k, lawyer))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(CaseDto::new(k, lawyer))))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct CaseRecordBody {
    /// YYYY-MM-DD
    #[serde(default)]
    held_on: String,
    /// `in_person`, `phone` or `online`
    #[serde(default)]
    mode: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    advice: String,
    #[serde(default)]
    minutes: Option<i32>,
    /// What came of the case (to close).
    #[serde(default)]
    result: String,
    /// The version the client saw (to close).
    #[serde(default)]
    version: i32,
}

/// Record a consultation (`consultations`) or close the case (`close`); by the case's lawyer or
/// anyone who handles requests in scope. Returns the case as it now stands.
#[utoipa::path(post, path = "/api/v1/legal-aid/{id}/{record}", params(("id" = i64, Path), ("record" = String, Path, description = "consultations or close")),
    request_body = CaseRecordBody,
    responses((status = 200, body = CaseDto), (status = 403, body = crate::web::api::ErrorBody), (status = 404, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn case_record(
    State(state): State<AppState>,
    p: Principal,
    Path((id, record)): Path<(i64, String)>,
    Json(b): Json<CaseRecordBody>,
) -> AppResult<Json<CaseDto>> {
    let actor = p.require::<grants::ViewRequests>()?;
    let a = actor.clone();
    let k = state
        .db
        .read(move |c| db::legal_aid_case(c, &a, id))
        .await?;
    if !crate::casework::pages::may_edit_case(&p, &k) {
        return Err(AppError::Forbidden);
    }
    let (k, lawyer) = match record.as_str() {
        "consultations" => {
            let minutes = b.minutes.map(|m| m.to_string()).unwrap_or_default();
            let i = ConsultationInput::parse(
                &b.held_on,
                &b.mode,
                &b.summary,
                &b.advice,
                &minutes,
                shiliu_db::today(),
            )?;
            state
                .db
                .write(move |c| {
                    db::add_consultation(c, &actor, id, &i)?;
                    let k = db::legal_aid_case(c, &actor, id)?;
                    let lawyer = db::lawyer_name(c, k.lawyer_id)?;
                    Ok((k, lawyer))
                })
                .await?
        }
        "close" => {
            state
                .db
                .write(move |c| {
                    let k = db::close_case(c, &actor, id, b.version, &b.result)?;
                    let lawyer = db::lawyer_name(c, k.lawyer_id)?;
                    Ok((k, lawyer))
                })
                .await?
        }
        _ => return Err(AppError::NotFound),
    };
    Ok(Json(CaseDto::new(k, lawyer)))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/api/v1/requests/{id}/dispute", post(open_dispute))
        .route("/api/v1/requests/{id}/legal-aid", post(open_case))
        .route("/api/v1/disputes", get(disputes))
        .route("/api/v1/disputes/{id}", get(dispute))
        .route("/api/v1/disputes/{id}/{record}", post(dispute_record))
        .route("/api/v1/legal-aid", get(cases))
        .route("/api/v1/legal-aid/{id}", get(case))
        .route("/api/v1/legal-aid/{id}/{record}", post(case_record))
}
