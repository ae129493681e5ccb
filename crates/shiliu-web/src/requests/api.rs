//! The requests API: categories, the list and one request, intake, steps and figures.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::NaiveDateTime;
use serde::Serialize;
use shiliu_db::scope::grants;
use utoipa::{OpenApi, ToSchema};

use crate::web::api::ErrorBody;
use crate::web::error::AppResult;
use crate::web::page::PAGE;
use crate::web::{AppState, Principal};

#[derive(OpenApi)]
#[openapi(
    paths(
        request_categories,
        requests_list,
        request_get,
        request_create,
        request_step,
        request_stats
    ),
    components(schemas(
        CategoryDto,
        QuestionDto,
        ChoiceDto,
        ReplyTemplateDto,
        AnswerDto,
        RequestDto,
        RequestPage,
        RequestEventDto,
        RequestDetail,
        NewRequestBody,
        StepBody,
        FiguresDto,
        StatsDto
    ))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
pub struct CategoryDto {
    id: i64,
    code: String,
    name: String,
    name_en: String,
    /// Service level in working minutes; absent: no deadline.
    service_minutes: Option<i32>,
    active: bool,
    /// Grid workers may take and resolve its requests in their own grids on the spot
    /// (就地办结: the steps `take` and `resolve_on_the_spot`).
    on_the_spot: bool,
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
                on_the_spot: c.on_the_spot,
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
    /// The grid worker handling it in person (after `take` or `resolve_on_the_spot`), instead
    /// of a site or unit.
    handler_user_id: Option<i64>,
    transfer_site_id: Option<i64>,
    #[serde(serialize_with = "crate::web::api::moment")]
    received_at: NaiveDateTime,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    due_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    reminded_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    escalated_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    resolved_at: Option<NaiveDateTime>,
    outcome: Option<String>,
    reply: Option<String>,
    rating: Option<String>,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
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
            handler_user_id: None,
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

    fn with_handler(mut self, handler: Option<i64>) -> Self {
        self.handler_user_id = handler;
        self
    }
}

#[derive(Serialize, ToSchema)]
pub struct RequestPage {
    items: Vec<RequestDto>,
    /// How many requests the filters list, on every page together (exact).
    total: i64,
    /// The next page's cursor (pass it back as `cursor` with the same filters and order);
    /// absent on the last page.
    next: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestEventDto {
    #[serde(serialize_with = "crate::web::api::moment")]
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

/// Requests in the caller's scope, with the same filters and orders as the list page (newest
/// first unless `sort` says otherwise), a page at a time, and how many there are in all.
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
        ("queue" = Option<String>, Query, description = "a work queue, as /api/v1/todo links to it: to_dispatch, to_accept, due_soon, overdue, escalated, to_rate, cohandling or on_the_spot (not yet dispatched, in a category grid workers may resolve on the spot)"),
        ("mine" = Option<bool>, Query, description = "only requests handled by the caller's own site or unit"),
        ("sort" = Option<String>, Query, description = "received (default), due, status (the handling loop's order) or category (the categories' order); any other value is refused (422, field `sort`). Requests without a deadline come last in either direction of `due`; within a status or a category, newest first"),
        ("dir" = Option<String>, Query, description = "asc or desc (default: desc for received, asc for the others); any other value is refused (422, field `dir`)"),
        ("cursor" = Option<String>, Query, description = "where the page starts: the previous page's `next`, with the same filters and order")),
    responses((status = 200, body = RequestPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn requests_list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<crate::requests::pages::ListQuery>,
) -> AppResult<Json<RequestPage>> {
    let actor = p.require::<grants::ViewRequests>()?;
    let own = (p.user().site_id, p.user().unit_id);
    let now = shiliu_db::now();
    let keys = state.db.request_keys();
    let (rows, next, total, handlers) = state
        .db
        .read(move |c| {
            use shiliu_db::requests::listing;
            let f = q.filter(c, actor.scope(), own, now)?;
            let (sort, after) = q.order()?;
            let (rows, next, total) =
                listing::page_and_count(&keys, c, actor.scope(), &f, sort, after, PAGE)?;
            let handlers = shiliu_db::requests::on_the_spot::handlers(c, &rows)?;
            Ok((rows, next, total, handlers))
        })
        .await?;
    Ok(Json(RequestPage {
        items: rows
            .into_iter()
            .map(|r| {
                let handler = handlers.get(&r.id).copied();
                RequestDto::from(r).with_handler(handler)
            })
            .collect(),
        total,
        next: next.map(|c| c.encode()),
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
    fn new(
        label: String,
        by: shiliu_db::requests::stats::Dimension,
        f: &shiliu_db::requests::stats::Figures,
    ) -> Self {
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
            completion_rate: frac(crate::requests::stats::completion(by, f)),
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
        ("by" = Option<String>, Query, description = "category (default), channel, month (of receipt), resolved_month (of resolution: a month's received are those received in it, its other figures those of the requests resolved in it, and it has no completion rate), region or site"),
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
            .map(|(l, f)| FiguresDto::new(l.clone(), r.by, f))
            .collect(),
        total: FiguresDto::new(p.t().s("stats.total").to_string(), r.by, &r.total),
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
            let handler = shiliu_db::requests::on_the_spot::handler_of(c, id)?;
            Ok((r, events, answers, (link, handler)))
        })
        .await?;
    let (link, handler) = link;
    Ok(Json(RequestDetail {
        request: RequestDto::from(r).with_media(link).with_handler(handler),
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
    /// The code of the region (usually a grid) where the request arose; absent or empty: the
    /// caller's own region.
    #[serde(default)]
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
    /// The resident agreed to SMS about the request (received, resolved with the reply, the
    /// invitation to rate); needs `contact_phone`. Default: no.
    #[serde(default)]
    sms_consent: bool,
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
        .with_sms_consent(b.sms_consent)
        .with_answers(raw_answers(&b.answers));
    let link = input.media_url.clone();
    let r = state
        .take_in(shiliu_db::requests::Intake {
            actor: actor.into_actor(),
            input,
            category_id: b.category_id,
            region: match b.region_code.trim() {
                "" => shiliu_db::requests::RegionRef::Id(p.user().region_id),
                code => shiliu_db::requests::RegionRef::Code {
                    code: code.to_string(),
                    field: "region_code",
                },
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
    /// A step of the transition table: `dispatch`, `withdraw`, `accept`, `return`, `start`,
    /// `transfer`, `accept_transfer`, `decline_transfer`, `wait_for_resident`, `resume`,
    /// `resolve`, `rate`, `reopen`, `close`, `note`; and a grid worker's steps on the spot
    /// (就地办结), in their own grids and in categories that allow it (`on_the_spot` on the
    /// category): `take` (我来办: a request not yet dispatched becomes theirs to handle) and
    /// `resolve_on_the_spot` (with `outcome`, `reply` and at least one photo in `photo_ids`).
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
    /// For `resolve_on_the_spot`: the evidence, photos (JPEG, PNG or WebP) the caller attached
    /// to this request first (`POST /api/v1/requests/{id}/files`), by their ids.
    #[serde(default)]
    photo_ids: Vec<i64>,
    /// For `resolve_on_the_spot`: where it was done, in degrees (both or neither).
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

/// Apply one step to a request.
#[utoipa::path(post, path = "/api/v1/requests/{id}/steps", params(("id" = i64, Path)), request_body = StepBody,
    responses((status = 200, body = RequestDto), (status = 409, description = "the request changed since `version`", body = ErrorBody),
              (status = 422, description = "not allowed from this status, or data missing; on the spot: not a grid worker's own grid (`region_id`), a category that does not allow it (`category_id`), no photo (`photos`, `photo_ids`)", body = ErrorBody)))]
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
    let actor = p.require_permission(action.permission())?;
    let degrees = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let position =
        crate::requests::position("latitude", (&degrees(b.latitude), &degrees(b.longitude)))
            .map_err(shiliu_domain::FieldErrors::from)?;
    let input = shiliu_db::requests::StepInput {
        action_input: ActionInput {
            reason: b.reason.clone(),
            outcome: b.outcome.as_deref().and_then(Outcome::parse),
            reply: b.reply.clone(),
            rating: b.rating.as_deref().and_then(Rating::parse),
            ..ActionInput::default()
        },
        site_id: b.site_id,
        unit_id: None,
        note: b.reason.clone(),
        photo_ids: b.photo_ids.clone(),
        position,
        ..Default::default()
    };
    let version = b.version;
    let r = state
        .db
        .write(move |c| {
            if let Some(s) = input.site_id {
                shiliu_db::org::get_site(c, actor.scope(), s)
                    .map_err(|_| shiliu_db::DbError::invalid("site_id", "err.site.unknown"))?;
            }
            let r = shiliu_db::requests::step(c, &actor, id, version, action, &input)?;
            let handler = shiliu_db::requests::on_the_spot::handler_of(c, id)?;
            Ok((r, handler))
        })
        .await?;
    Ok(Json(RequestDto::from(r.0).with_handler(r.1)))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/api/v1/request-categories", get(request_categories))
        .route("/api/v1/requests", get(requests_list).post(request_create))
        .route("/api/v1/requests/stats", get(request_stats))
        .route("/api/v1/requests/{id}", get(request_get))
        .route("/api/v1/requests/{id}/steps", post(request_step))
}
