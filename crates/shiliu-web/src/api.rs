//! The JSON API under `/api/v1`, authenticated with `Authorization: Bearer <token>` (tokens are
//! issued on the API-tokens page, limited to the owner's permissions and scope, and expire).
//! Errors use the envelope `{"error":{"code","message","details","request_id"}}`. The API's
//! description document is served at `/api/v1/openapi.json`.
//!
//! The response types here are the API's contract, kept apart from the database rows so a
//! schema change cannot silently change the API.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::NaiveDateTime;
use serde::Serialize;
use shiliu_db::org::{self as db, Named, Region, Site, Unit};
use shiliu_db::scope::grants;
use shiliu_domain::roles::Permission;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::org::pages::{ListQuery, PAGE};
use crate::web::error::AppResult;
use crate::web::{AppState, Principal};

#[derive(OpenApi)]
#[openapi(
    info(title = "Shiliu API", description = "石榴 Shiliu — ethnic-affairs service and governance platform"),
    paths(me, region, region_children, sites, site, units, unit, request_categories, requests_list, request_get, request_create, request_step, request_stats,
        crate::casework::api::disputes, crate::casework::api::dispute, crate::casework::api::open_dispute, crate::casework::api::dispute_record,
        crate::casework::api::cases, crate::casework::api::case, crate::casework::api::open_case, crate::casework::api::case_record,
        crate::requests::files::api::list_files, crate::requests::files::api::attach, crate::requests::files::api::open_file,
        crate::requests::files::api::cohandlers, crate::requests::files::api::ask, crate::requests::files::api::answer,
        crate::registry::api::list, crate::registry::api::get, crate::registry::api::create, crate::registry::api::update,
        crate::registry::api::move_out, crate::registry::api::id_number, crate::registry::api::lookup, crate::registry::api::residents,
        crate::registry::linkage::api::out_migrants, crate::registry::linkage::api::list, crate::registry::linkage::api::create, crate::registry::linkage::api::get,
        crate::registry::linkage::api::reply, crate::registry::linkage::api::close,
        crate::registry::needs::api::surveys, crate::registry::needs::api::answer, crate::registry::needs::api::needs, crate::registry::needs::api::to_request,
        crate::registry::needs::api::plan, crate::registry::needs::api::services, crate::registry::needs::api::record_service,
        crate::evaluation::api::list, crate::evaluation::api::get, crate::evaluation::api::unit_scores,
        crate::evaluation::api::save_scores, crate::evaluation::api::results,
        crate::evaluation::api::todo, crate::evaluation::api::remind),
    components(schemas(
        MeDto, RegionDto, SiteDto, UnitDto, SitePage, UnitPage, ErrorBody, ErrorDetail,
        CategoryDto, QuestionDto, ChoiceDto, ReplyTemplateDto, AnswerDto, RequestDto, RequestPage, RequestEventDto, RequestDetail, NewRequestBody, StepBody, FiguresDto, StatsDto,
        crate::casework::api::DisputeDto, crate::casework::api::PartyDto, crate::casework::api::MediatorDto, crate::casework::api::SessionDto,
        crate::casework::api::DisputeDetail, crate::casework::api::DisputePage, crate::casework::api::NewDisputeBody, crate::casework::api::DisputeRecordBody,
        crate::casework::api::CaseDto, crate::casework::api::ConsultationDto, crate::casework::api::CaseDetail, crate::casework::api::CasePage,
        crate::casework::api::NewCaseBody, crate::casework::api::CaseRecordBody,
        crate::requests::files::api::FileDto, crate::requests::files::api::CohandlerDto, crate::requests::files::api::AskBody, crate::requests::files::api::AnswerBody,
        crate::registry::api::PersonDto, crate::registry::api::PersonPage, crate::registry::api::ResidenceDto, crate::registry::api::ConsentDto,
        crate::registry::api::MemberDto, crate::registry::api::PersonDetail, crate::registry::api::PersonBody, crate::registry::api::MoveOutBody,
        crate::registry::api::IdNumberDto, crate::registry::api::LookupBody, crate::registry::api::ResidentDto, crate::registry::api::ResidentPage,
        crate::registry::linkage::api::OutMigrantDto, crate::registry::linkage::api::OutMigrantPage, crate::registry::linkage::api::AssistDto, crate::registry::linkage::api::AssistPage,
        crate::registry::linkage::api::AssistBody, crate::registry::linkage::api::AssistReplyBody, crate::registry::linkage::api::AssistCloseBody,
        crate::registry::needs::api::SurveyQuestionDto, crate::registry::needs::api::SurveyDto, crate::registry::needs::api::NeedBody, crate::registry::needs::api::ResponseBody,
        crate::registry::needs::api::ResponseDto, crate::registry::needs::api::NeedDto, crate::registry::needs::api::NeedPage, crate::registry::needs::api::NeedRequestBody,
        crate::registry::needs::api::PlanBody, crate::registry::needs::api::ServiceDto, crate::registry::needs::api::ServiceBody,
        crate::evaluation::api::SchemeDto, crate::evaluation::api::IndicatorDto, crate::evaluation::api::EvalUnitDto,
        crate::evaluation::api::SchemeDetail, crate::evaluation::api::ScoreDto, crate::evaluation::api::ScoreEntry,
        crate::evaluation::api::ScoresBody, crate::evaluation::api::ResultDto,
        crate::evaluation::api::TodoDto, crate::evaluation::api::TodoUnitDto, crate::evaluation::api::RemindedDto
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = doc.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The error envelope of every API error.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `unauthorized`, `forbidden`, `not_found`, `invalid`, `stale`, …
    code: String,
    /// In the language of `Accept-Language` (zh-CN or en).
    message: String,
    /// Field name → reason, for `invalid`.
    details: std::collections::BTreeMap<String, String>,
    /// Also in the `x-request-id` header and the server's logs.
    request_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct MeDto {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    region_id: i64,
    /// What this token may do: the token's permissions that the user's role still has.
    permissions: Vec<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct RegionDto {
    id: i64,
    parent_id: Option<i64>,
    /// Official division code, or the code given to a community or grid.
    code: String,
    name: String,
    /// province, city, county, township, community or grid.
    kind: String,
    depth: i32,
    active: bool,
}

impl From<Region> for RegionDto {
    fn from(r: Region) -> Self {
        Self {
            id: r.id,
            parent_id: r.parent_id,
            code: r.code,
            name: r.name,
            kind: r.kind,
            depth: r.depth,
            active: r.active,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SiteDto {
    id: i64,
    region_id: i64,
    region_name: Option<String>,
    name: String,
    /// `minzu_home`, `migrant_station`, `jieyou_desk`, `legal_aid`, `mediation`, `deputy_liaison`,
    /// `education_base` or `other`.
    site_type: String,
    address: Option<String>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    opening_hours: Option<String>,
    active: bool,
    updated_at: NaiveDateTime,
    /// For optimistic concurrency: send it back when changing the record.
    version: i32,
}

impl SiteDto {
    fn new(s: Site, region_name: Option<String>) -> Self {
        Self {
            id: s.id,
            region_id: s.region_id,
            region_name,
            name: s.name,
            site_type: s.site_type,
            address: s.address,
            contact_name: s.contact_name,
            contact_phone: s.contact_phone,
            opening_hours: s.opening_hours,
            active: s.active,
            updated_at: s.updated_at,
            version: s.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UnitDto {
    id: i64,
    region_id: i64,
    region_name: Option<String>,
    name: String,
    category: String,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    active: bool,
    updated_at: NaiveDateTime,
    version: i32,
}

impl UnitDto {
    fn new(u: Unit, region_name: Option<String>) -> Self {
        Self {
            id: u.id,
            region_id: u.region_id,
            region_name,
            name: u.name,
            category: u.category,
            contact_name: u.contact_name,
            contact_phone: u.contact_phone,
            active: u.active,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

/// A page of sites, newest first. Pass `next` as `before` for the following page.
#[derive(Serialize, ToSchema)]
pub struct SitePage {
    items: Vec<SiteDto>,
    next: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct UnitPage {
    items: Vec<UnitDto>,
    next: Option<i64>,
}

/// Split one extra row off a `PAGE + 1` query into the next-page cursor.
pub(crate) fn paginate<T>(mut items: Vec<T>, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
    let limit = PAGE as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(&id)
    } else {
        None
    };
    (items, next)
}

/// The caller: user, role and the token's effective permissions.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = MeDto), (status = 401, body = ErrorBody)))]
pub async fn me(p: Principal) -> AppResult<Json<MeDto>> {
    let permissions = p
        .role()
        .permissions()
        .iter()
        .filter(|x| p.can(**x))
        .map(|x| x.as_str())
        .collect();
    Ok(Json(MeDto {
        id: p.user.id,
        username: p.user.username.clone(),
        display_name: p.user.display_name.clone(),
        role: p.user.role.clone(),
        region_id: p.user.region_id,
        permissions,
    }))
}

/// A region in the caller's scope.
#[utoipa::path(get, path = "/api/v1/regions/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = RegionDto), (status = 404, description = "no such region in scope", body = ErrorBody)))]
pub async fn region(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<RegionDto>> {
    let actor = p.require::<grants::ViewOrg>()?;
    Ok(Json(
        state
            .db
            .read(move |c| db::get_region(c, actor.scope(), id))
            .await?
            .into(),
    ))
}

/// The regions directly below a region, in the caller's scope.
#[utoipa::path(get, path = "/api/v1/regions/{id}/children", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RegionDto>), (status = 404, body = ErrorBody)))]
pub async fn region_children(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<RegionDto>>> {
    let actor = p.require::<grants::ViewOrg>()?;
    let rows = state
        .db
        .read(move |c| {
            db::get_region(c, actor.scope(), id)?;
            db::children(c, actor.scope(), id, true)
        })
        .await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Service sites in the caller's scope, filtered.
#[utoipa::path(get, path = "/api/v1/sites",
    params(("q" = Option<String>, Query, description = "name contains"), ("kind" = Option<String>, Query, description = "site type code"),
           ("region" = Option<i64>, Query, description = "within this region's subtree"), ("inactive" = Option<String>, Query, description = "include deactivated"),
           ("before" = Option<i64>, Query, description = "page cursor")),
    responses((status = 200, body = SitePage), (status = 401, body = ErrorBody)))]
pub async fn sites(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<SitePage>> {
    let actor = p.require::<grants::ViewOrg>()?;
    let f = q.filter();
    let rows = state
        .db
        .read(move |c| db::list_sites(c, actor.scope(), &f, PAGE + 1))
        .await?;
    let (rows, next) = paginate(rows, |r: &Named<Site>| r.item.id);
    Ok(Json(SitePage {
        items: rows
            .into_iter()
            .map(|n| SiteDto::new(n.item, Some(n.region_name)))
            .collect(),
        next,
    }))
}

/// One service site in the caller's scope.
#[utoipa::path(get, path = "/api/v1/sites/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = SiteDto), (status = 404, body = ErrorBody)))]
pub async fn site(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<SiteDto>> {
    let actor = p.require::<grants::ViewOrg>()?;
    Ok(Json(SiteDto::new(
        state
            .db
            .read(move |c| db::get_site(c, actor.scope(), id))
            .await?,
        None,
    )))
}

/// Units in the caller's scope, filtered.
#[utoipa::path(get, path = "/api/v1/units",
    params(("q" = Option<String>, Query, description = "name contains"), ("kind" = Option<String>, Query, description = "category code"),
           ("region" = Option<i64>, Query), ("inactive" = Option<String>, Query), ("before" = Option<i64>, Query)),
    responses((status = 200, body = UnitPage), (status = 401, body = ErrorBody)))]
pub async fn units(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<UnitPage>> {
    let actor = p.require::<grants::ViewOrg>()?;
    let f = q.filter();
    let rows = state
        .db
        .read(move |c| db::list_units(c, actor.scope(), &f, PAGE + 1))
        .await?;
    let (rows, next) = paginate(rows, |r: &Named<Unit>| r.item.id);
    Ok(Json(UnitPage {
        items: rows
            .into_iter()
            .map(|n| UnitDto::new(n.item, Some(n.region_name)))
            .collect(),
        next,
    }))
}

/// One unit in the caller's scope.
#[utoipa::path(get, path = "/api/v1/units/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = UnitDto), (status = 404, body = ErrorBody)))]
pub async fn unit(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<UnitDto>> {
    let actor = p.require::<grants::ViewOrg>()?;
    Ok(Json(UnitDto::new(
        state
            .db
            .read(move |c| db::get_unit(c, actor.scope(), id))
            .await?,
        None,
    )))
}

#[derive(Serialize, ToSchema)]
pub struct CategoryDto {
    id: i64,
    code: String,
    name: String,
    name_en: String,
    /// Service level in working minutes; absent: no deadline.
    service_minutes: Option<i32>,
    active: bool,
    /// Extra questions asked at intake; answer them in `answers` when creating a request.
    questions: Vec<QuestionDto>,
    /// Replies handlers may start from when resolving.
    reply_templates: Vec<ReplyTemplateDto>,
}

#[derive(Serialize, ToSchema)]
pub struct QuestionDto {
    code: String,
    label: String,
    label_en: String,
    /// `text`, `number`, `date` (YYYY-MM-DD), `single` or `multi` (keys of `choices`).
    kind: String,
    required: bool,
    choices: Vec<ChoiceDto>,
}

#[derive(Serialize, ToSchema)]
pub struct ChoiceDto {
    key: String,
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReplyTemplateDto {
    id: i64,
    title: String,
    body: String,
}

#[derive(Serialize, ToSchema)]
pub struct AnswerDto {
    code: String,
    label: String,
    /// Canonical: a number, a date as YYYY-MM-DD, choice keys joined by commas.
    value: String,
    /// The answer in words (choice names).
    text: String,
}

/// The request categories, in their display order.
#[utoipa::path(get, path = "/api/v1/request-categories", responses((status = 200, body = Vec<CategoryDto>), (status = 401, body = ErrorBody)))]
pub async fn request_categories(
    State(state): State<AppState>,
    p: Principal,
) -> AppResult<Json<Vec<CategoryDto>>> {
    use shiliu_db::requests::questions as qdb;
    p.require::<grants::ViewRequests>()?;
    let (cats, qs, tpls) = state
        .db
        .read(|c| {
            Ok((
                shiliu_db::requests::categories(c, true)?,
                qdb::questions(c, None, false)?,
                qdb::reply_templates(c, None, false)?,
            ))
        })
        .await?;
    Ok(Json(
        cats.into_iter()
            .map(|c| CategoryDto {
                questions: qs
                    .iter()
                    .filter(|q| q.category_id == c.id)
                    .map(|q| QuestionDto {
                        code: q.code.clone(),
                        label: q.label.clone(),
                        label_en: q.label_en.clone(),
                        kind: q.kind.clone(),
                        required: q.required,
                        choices: q
                            .choices()
                            .into_iter()
                            .map(|x| ChoiceDto {
                                key: x.key,
                                name: x.name,
                            })
                            .collect(),
                    })
                    .collect(),
                reply_templates: tpls
                    .iter()
                    .filter(|x| x.category_id.is_none_or(|i| i == c.id))
                    .map(|x| ReplyTemplateDto {
                        id: x.id,
                        title: x.title.clone(),
                        body: x.body.clone(),
                    })
                    .collect(),
                id: c.id,
                code: c.code,
                name: c.name,
                name_en: c.name_en,
                service_minutes: c.service_minutes,
                active: c.active,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct RequestDto {
    id: i64,
    /// The resident's tracking code.
    code: String,
    channel: String,
    category_id: i64,
    region_id: i64,
    /// `received`, `dispatched`, `returned`, `accepted`, `in_progress`, `transfer_pending`,
    /// `waiting_resident`, `resolved`, `rated` or `closed`.
    status: String,
    description: String,
    place: Option<String>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    site_id: Option<i64>,
    unit_id: Option<i64>,
    transfer_site_id: Option<i64>,
    received_at: NaiveDateTime,
    due_at: Option<NaiveDateTime>,
    reminded_at: Option<NaiveDateTime>,
    escalated_at: Option<NaiveDateTime>,
    resolved_at: Option<NaiveDateTime>,
    outcome: Option<String>,
    reply: Option<String>,
    rating: Option<String>,
    closed_at: Option<NaiveDateTime>,
    /// Send it back with a step: a step on an older version is refused with `stale`.
    version: i32,
    /// A link to media the request came with (from an Open311 client or the API); in the
    /// responses about one request, left out where there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    media_url: Option<String>,
}

impl From<shiliu_db::requests::Request> for RequestDto {
    fn from(r: shiliu_db::requests::Request) -> Self {
        Self {
            id: r.id,
            code: r.code,
            channel: r.channel,
            category_id: r.category_id,
            region_id: r.region_id,
            status: r.status,
            description: r.description,
            place: r.place,
            contact_name: r.contact_name,
            contact_phone: r.contact_phone,
            site_id: r.site_id,
            unit_id: r.unit_id,
            transfer_site_id: r.transfer_site_id,
            received_at: r.received_at,
            due_at: r.due_at,
            reminded_at: r.reminded_at,
            escalated_at: r.escalated_at,
            resolved_at: r.resolved_at,
            outcome: r.outcome,
            reply: r.reply,
            rating: r.rating,
            closed_at: r.closed_at,
            version: r.version,
            media_url: None,
        }
    }
}

impl RequestDto {
    fn with_media(mut self, link: Option<String>) -> Self {
        self.media_url = link;
        self
    }
}

#[derive(Serialize, ToSchema)]
pub struct RequestPage {
    items: Vec<RequestDto>,
    next: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestEventDto {
    at: NaiveDateTime,
    actor: String,
    action: String,
    from_status: Option<String>,
    to_status: String,
    note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestDetail {
    request: RequestDto,
    answers: Vec<AnswerDto>,
    events: Vec<RequestEventDto>,
}

/// Requests in the caller's scope, newest first, with the same filters as the list page.
#[utoipa::path(get, path = "/api/v1/requests",
    params(
        ("q" = Option<String>, Query, description = "words to find in descriptions, notes, replies, names and codes (all must match)"),
        ("status" = Option<String>, Query), ("category" = Option<i64>, Query),
        ("channel" = Option<String>, Query, description = "hotline, grid, walk_in, self_service or open311"),
        ("region" = Option<String>, Query, description = "a region code: its subtree"),
        ("site" = Option<String>, Query, description = "the responsible site's name"),
        ("from" = Option<String>, Query, description = "received on or after, YYYY-MM-DD (China time)"),
        ("to" = Option<String>, Query, description = "received on or before, YYYY-MM-DD (China time)"),
        ("overdue" = Option<bool>, Query), ("due_soon" = Option<bool>, Query, description = "due within a day"),
        ("cohandling" = Option<bool>, Query, description = "asked of the caller's own site or unit to co-handle, not yet answered"),
        ("before" = Option<i64>, Query, description = "page cursor")),
    responses((status = 200, body = RequestPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn requests_list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<crate::requests::pages::ListQuery>,
) -> AppResult<Json<RequestPage>> {
    let actor = p.require::<grants::ViewRequests>()?;
    let own = (p.user.site_id, p.user.unit_id);
    let now = shiliu_db::now();
    let rows = state
        .db
        .read(move |c| {
            let f = q.filter(c, actor.scope(), own, now)?;
            shiliu_db::requests::list(c, actor.scope(), &f, PAGE + 1)
        })
        .await?;
    let (rows, next) = paginate(rows, |r| r.id);
    Ok(Json(RequestPage {
        items: rows.into_iter().map(Into::into).collect(),
        next,
    }))
}

/// One group's figures. Rates are fractions (0.943), absent when there is nothing to divide by.
#[derive(Serialize, ToSchema)]
pub struct FiguresDto {
    /// A category id, a channel code, a month YYYY-MM, a region path or a site id ("": none).
    key: String,
    label: String,
    received: i64,
    resolved: i64,
    resolved_with_deadline: i64,
    on_time: i64,
    rated: i64,
    satisfied: i64,
    completion_rate: Option<f64>,
    on_time_rate: Option<f64>,
    satisfaction_rate: Option<f64>,
    average_handling_hours: Option<f64>,
}

impl FiguresDto {
    fn new(label: String, f: &shiliu_db::stats::Figures) -> Self {
        let frac = |per_mille: Option<i64>| per_mille.map(|v| v as f64 / 1000.0);
        Self {
            key: f.key.clone(),
            label,
            received: f.received,
            resolved: f.resolved,
            resolved_with_deadline: f.resolved_with_deadline,
            on_time: f.on_time,
            rated: f.rated,
            satisfied: f.satisfied,
            completion_rate: frac(f.completion()),
            on_time_rate: frac(f.on_time_rate()),
            satisfaction_rate: frac(f.satisfaction()),
            average_handling_hours: f.avg_handling_tenths_of_hours().map(|v| v as f64 / 10.0),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StatsDto {
    by: String,
    from: String,
    to: String,
    groups: Vec<FiguresDto>,
    total: FiguresDto,
}

/// Request figures in the caller's scope for whole months, grouped by one dimension; the same
/// figures as the statistics page.
#[utoipa::path(get, path = "/api/v1/requests/stats",
    params(
        ("by" = Option<String>, Query, description = "category (default), channel, month, region or site"),
        ("from" = Option<String>, Query, description = "first month, YYYY-MM (default: January this year)"),
        ("to" = Option<String>, Query, description = "last month, YYYY-MM (default: this month)")),
    responses((status = 200, body = StatsDto), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn request_stats(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<crate::requests::stats::StatsQuery>,
) -> AppResult<Json<StatsDto>> {
    let r = crate::requests::stats::report(&state, &p, &q).await?;
    Ok(Json(StatsDto {
        by: r.by.as_str().to_string(),
        from: r.from,
        to: r.to,
        groups: r
            .groups
            .iter()
            .map(|(l, f)| FiguresDto::new(l.clone(), f))
            .collect(),
        total: FiguresDto::new(p.t().s("stats.total").to_string(), &r.total),
    }))
}

/// One request in the caller's scope, with its history.
#[utoipa::path(get, path = "/api/v1/requests/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = RequestDetail), (status = 404, body = ErrorBody)))]
pub async fn request_get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<RequestDetail>> {
    let actor = p.require::<grants::ViewRequests>()?;
    let (r, events, answers, link) = state
        .db
        .read(move |c| {
            let r = shiliu_db::requests::get(c, actor.scope(), id)?;
            let events = shiliu_db::requests::events(c, &r)?;
            let answers = shiliu_db::requests::questions::answers(c, &r)?;
            let link = shiliu_db::requests::media_links(c, std::slice::from_ref(&r))?.remove(&id);
            Ok((r, events, answers, link))
        })
        .await?;
    Ok(Json(RequestDetail {
        request: RequestDto::from(r).with_media(link),
        answers: answers
            .into_iter()
            .map(|(q, value)| AnswerDto {
                text: shiliu_domain::requests::questions::answer_text(&q.rule(), &value),
                code: q.code,
                label: q.label,
                value,
            })
            .collect(),
        events: events
            .into_iter()
            .map(|e| RequestEventDto {
                at: e.at,
                actor: e.actor,
                action: e.action,
                from_status: e.from_status,
                to_status: e.to_status,
                note: e.note,
            })
            .collect(),
    }))
}

#[derive(serde::Deserialize, ToSchema)]
pub struct NewRequestBody {
    /// `hotline`, `grid` or `walk_in`.
    channel: String,
    category_id: i64,
    /// The code of the region (usually a grid) where the request arose.
    region_code: String,
    description: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    consent: bool,
    /// Answers to the category's questions by code: a string, a number, or a list of choice keys.
    #[serde(default)]
    #[schema(value_type = Object)]
    answers: std::collections::BTreeMap<String, serde_json::Value>,
    /// A link (`http` or `https`) to a photo or other media about the request; kept, not fetched.
    #[serde(default)]
    media_url: String,
}

/// JSON answers as the answer rules take them: every value as text.
pub fn raw_answers(
    answers: &std::collections::BTreeMap<String, serde_json::Value>,
) -> shiliu_domain::requests::questions::RawAnswers {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    answers
        .iter()
        .map(|(k, v)| {
            let values = match v {
                serde_json::Value::Array(items) => items.iter().map(text).collect(),
                other => vec![text(other)],
            };
            (k.clone(), values)
        })
        .collect()
}

/// Take a request in, as staff on one of their channels.
#[utoipa::path(post, path = "/api/v1/requests", request_body = NewRequestBody,
    responses((status = 201, body = RequestDto), (status = 422, description = "invalid, with the fields named", body = ErrorBody)))]
pub async fn request_create(
    State(state): State<AppState>,
    p: Principal,
    Json(b): Json<NewRequestBody>,
) -> AppResult<(axum::http::StatusCode, Json<RequestDto>)> {
    use shiliu_domain::requests::{Channel, RequestInput};
    let actor = p.require::<grants::CreateRequests>()?;
    let channel = Channel::parse(&b.channel)
        .filter(|c| matches!(c, Channel::Hotline | Channel::Grid | Channel::WalkIn))
        .ok_or_else(|| {
            shiliu_domain::FieldErrors::from(shiliu_domain::FieldError::new(
                "channel",
                "err.choice",
            ))
        })?;
    let parsed = RequestInput::parse(
        channel,
        &b.description,
        &b.place,
        &b.contact_name,
        &b.contact_phone,
        b.consent,
    );
    let input = RequestInput::with_media_url(parsed, "media_url", &b.media_url)?
        .with_answers(raw_answers(&b.answers));
    let link = input.media_url.clone();
    let r = state
        .take_in(shiliu_db::requests::Intake {
            actor: actor.into_actor(),
            input,
            category_id: b.category_id,
            region: shiliu_db::requests::RegionRef::Code {
                code: b.region_code.clone(),
                field: "region_code",
            },
            intake_site_id: None,
        })
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(RequestDto::from(r).with_media(link)),
    ))
}

#[derive(serde::Deserialize, ToSchema)]
pub struct StepBody {
    /// A step of the transition table: `dispatch`, `accept`, `return`, `start`, `transfer`,
    /// `accept_transfer`, `decline_transfer`, `wait_for_resident`, `resume`, `resolve`, `rate`,
    /// `reopen`, `close`.
    action: String,
    /// The version the client saw.
    version: i32,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    reply: Option<String>,
    #[serde(default)]
    rating: Option<String>,
    /// For `dispatch` and `transfer`.
    #[serde(default)]
    site_id: Option<i64>,
}

/// Apply one step to a request.
#[utoipa::path(post, path = "/api/v1/requests/{id}/steps", params(("id" = i64, Path)), request_body = StepBody,
    responses((status = 200, body = RequestDto), (status = 409, description = "the request changed since `version`", body = ErrorBody),
              (status = 422, description = "not allowed from this status, or data missing", body = ErrorBody)))]
pub async fn request_step(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<StepBody>,
) -> AppResult<Json<RequestDto>> {
    use shiliu_domain::requests::{Action, ActionInput, Outcome, Rating};
    let action = Action::parse(&b.action).ok_or_else(|| {
        shiliu_domain::FieldErrors::from(shiliu_domain::FieldError::new("action", "err.choice"))
    })?;
    let permission = match action {
        Action::Dispatch | Action::Rate | Action::Reopen | Action::Close => {
            Permission::DispatchRequests
        }
        _ => Permission::HandleRequests,
    };
    let actor = p.require_permission(permission)?;
    let input = shiliu_db::requests::StepInput {
        action_input: ActionInput {
            reason: b.reason.clone(),
            outcome: b.outcome.as_deref().and_then(Outcome::parse),
            reply: b.reply.clone(),
            rating: b.rating.as_deref().and_then(Rating::parse),
            current_rating: None,
        },
        site_id: b.site_id,
        unit_id: None,
        note: b.reason.clone(),
    };
    let version = b.version;
    let r = state
        .db
        .write(move |c| {
            if let Some(s) = input.site_id {
                shiliu_db::org::get_site(c, actor.scope(), s)
                    .map_err(|_| shiliu_db::DbError::invalid("site_id", "err.site.unknown"))?;
            }
            shiliu_db::requests::step(c, &actor, id, version, action, &input)
        })
        .await?;
    Ok(Json(r.into()))
}
