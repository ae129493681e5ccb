//! The JSON API of consultation councils (see `pages` for the pages and `shiliu_db::councils`
//! for the rules and who may see what): the councils of the caller's scope, one council with
//! its members, next days, items waiting and follow-up, raising an item (a grid worker's app),
//! and the statistics. Phones are never sent.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shiliu_db::councils::items::{self, Followed, Item};
use shiliu_db::councils::stats::Figures;
use shiliu_db::councils::{self as db, Listed, meetings};
use shiliu_db::org as org_db;
use shiliu_db::scope::grants;
use shiliu_domain::FieldError;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::CouncilItemForm;
use super::stats::StatsQuery;
use crate::web::api::ErrorBody;
use crate::web::error::{AppError, AppResult};
use crate::web::{AppState, Principal};

pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/api/v1/councils", get(list))
        .route("/api/v1/councils/stats", get(figures))
        .route("/api/v1/councils/{id}", get(one))
        .route("/api/v1/councils/{id}/items", post(raise))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, one, raise, figures),
    components(schemas(
        CouncilDto,
        CouncilDetailDto,
        CouncilMemberDto,
        CouncilItemDto,
        CouncilItemForm,
        CouncilFiguresDto,
        CouncilStatsDto,
        CouncilCutDto
    ))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
pub struct CouncilDto {
    id: i64,
    name: String,
    region_id: i64,
    region: String,
    /// `fourths` (逢四: the 4th, 14th, 24th), `weekly`, `monthly`, `ad_hoc`.
    rhythm: String,
    /// A weekly council's weekday (1 Monday … 7 Sunday), a monthly one's day of the month.
    day: Option<i32>,
    place: String,
    /// HH:MM, local time.
    starts_at: Option<String>,
    /// The public page: `/c/{public_code}`.
    public_code: String,
    active: bool,
    #[schema(format = Date, value_type = Option<String>)]
    last_held: Option<chrono::NaiveDate>,
    /// Items raised, not yet discussed.
    waiting: i64,
    /// Items decided or handed to a request, not yet done.
    open: i64,
}

impl From<Listed> for CouncilDto {
    fn from(l: Listed) -> Self {
        let c = l.council;
        Self {
            id: c.id,
            name: c.name,
            region_id: c.region_id,
            region: l.region_name,
            rhythm: c.rhythm,
            day: c.day,
            place: c.place,
            starts_at: c.starts_at,
            public_code: c.public_code,
            active: c.active,
            last_held: l.last_held,
            waiting: l.waiting,
            open: l.open,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// A region's code: its subtree only.
    #[serde(default)]
    region: String,
}

/// The councils of the caller's scope (and of the community just above a grid worker's grids).
#[utoipa::path(get, path = "/api/v1/councils", params(ListQuery),
    responses((status = 200, body = [CouncilDto]), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Vec<CouncilDto>>> {
    let actor = p.require::<grants::ViewCouncils>()?;
    let rows = state
        .db
        .read(move |c| {
            let within = org_db::picked_region(c, actor.scope(), &q.region, "region")?;
            db::list(c, actor.scope(), within.as_ref(), 100_000)
        })
        .await?;
    Ok(Json(rows.into_iter().map(CouncilDto::from).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct CouncilMemberDto {
    id: i64,
    name: String,
    /// `convener` (召集人), `member` (成员), `attendee` (列席).
    role: String,
    note: Option<String>,
    active: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CouncilItemDto {
    id: i64,
    /// `in_person`, `grid_worker`, `public`.
    channel: String,
    text: String,
    raised_by: Option<String>,
    /// `raised`, `decided`, `referred`, `done`, `declined`.
    status: String,
    meeting_id: Option<i64>,
    decision: Option<String>,
    responsible: Option<String>,
    #[schema(format = Date, value_type = Option<String>)]
    due_on: Option<chrono::NaiveDate>,
    #[schema(format = Date, value_type = Option<String>)]
    done_on: Option<chrono::NaiveDate>,
    /// What was done (the request's reply, for one handed to a request).
    result: Option<String>,
    /// The request it was handed to: its tracking code and status.
    request_code: Option<String>,
    request_status: Option<String>,
}

impl From<Item> for CouncilItemDto {
    fn from(i: Item) -> Self {
        Followed {
            item: i,
            request_code: None,
            request_status: None,
        }
        .into()
    }
}

impl From<Followed> for CouncilItemDto {
    fn from(f: Followed) -> Self {
        let i = f.item;
        Self {
            id: i.id,
            channel: i.channel,
            text: i.text,
            raised_by: i.raised_by,
            status: i.status,
            meeting_id: i.meeting_id,
            decision: i.decision,
            responsible: i.responsible,
            due_on: i.due_on,
            done_on: i.done_on,
            result: i.outcome,
            request_code: f.request_code,
            request_status: f.request_status,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CouncilDetailDto {
    council: CouncilDto,
    members: Vec<CouncilMemberDto>,
    /// The next days of its rhythm not held or called off yet.
    #[schema(value_type = Vec<String>)]
    upcoming: Vec<chrono::NaiveDate>,
    waiting_items: Vec<CouncilItemDto>,
    open_items: Vec<CouncilItemDto>,
}

/// One council: its members (without phones), next days, items waiting and the follow-up.
#[utoipa::path(get, path = "/api/v1/councils/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = CouncilDetailDto), (status = 404, body = ErrorBody)))]
pub async fn one(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<CouncilDetailDto>> {
    let actor = p.require::<grants::ViewCouncils>()?;
    let today = shiliu_db::today();
    let (listed, members, upcoming, waiting, open) = state
        .db
        .read(move |conn| {
            let listed = db::get_listed(conn, actor.scope(), id)?;
            let c = &listed.council;
            Ok((
                listed.clone(),
                db::members(conn, c)?,
                meetings::upcoming(conn, c, today, 3)?,
                items::waiting(conn, c)?,
                items::open(conn, c)?,
            ))
        })
        .await?;
    Ok(Json(CouncilDetailDto {
        council: CouncilDto::from(listed),
        members: members
            .into_iter()
            .map(|m| CouncilMemberDto {
                id: m.id,
                name: m.name,
                role: m.role,
                note: m.note,
                active: m.active,
            })
            .collect(),
        upcoming,
        waiting_items: waiting.into_iter().map(CouncilItemDto::from).collect(),
        open_items: open.into_iter().map(CouncilItemDto::from).collect(),
    }))
}

/// Bring an item to a council (channel `in_person` or `grid_worker`).
#[utoipa::path(post, path = "/api/v1/councils/{id}/items", params(("id" = i64, Path)),
    request_body = CouncilItemForm,
    responses((status = 201, body = CouncilItemDto), (status = 422, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn raise(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(f): Json<CouncilItemForm>,
) -> AppResult<(StatusCode, Json<CouncilItemDto>)> {
    let actor = p.require::<grants::RaiseCouncilItems>()?;
    let Some(channel) = super::staff_channel(&f.channel) else {
        return Err(AppError::Invalid(
            FieldError::new("channel", "err.choice").into(),
        ));
    };
    let input = super::pages::item_input(&f, channel).map_err(AppError::Invalid)?;
    let item = state
        .db
        .write(move |c| {
            let council = db::get(c, actor.scope(), id)?;
            items::raise(c, &actor, &council, &input)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(CouncilItemDto::from(item))))
}

#[derive(Serialize, ToSchema)]
pub struct CouncilFiguresDto {
    meetings: i64,
    /// Members present plus other residents.
    attendance: i64,
    items_raised: i64,
    items_decided: i64,
    items_declined: i64,
    items_done: i64,
    items_on_time: i64,
    /// Of the items decided, the share done by their deadline, in per-mille.
    on_time_per_mille: Option<i64>,
}

impl From<Figures> for CouncilFiguresDto {
    fn from(f: Figures) -> Self {
        Self {
            on_time_per_mille: f.on_time_per_mille(),
            meetings: f.meetings,
            attendance: f.attendance,
            items_raised: f.items_raised,
            items_decided: f.items_decided,
            items_declined: f.items_declined,
            items_done: f.items_done,
            items_on_time: f.items_on_time,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CouncilCutDto {
    /// A region's code, or a month `YYYY-MM`.
    key: String,
    name: String,
    figures: CouncilFiguresDto,
}

#[derive(Serialize, ToSchema)]
pub struct CouncilStatsDto {
    #[schema(format = Date, value_type = String)]
    from: chrono::NaiveDate,
    #[schema(format = Date, value_type = String)]
    to: chrono::NaiveDate,
    total: CouncilFiguresDto,
    by_region: Vec<CouncilCutDto>,
    by_month: Vec<CouncilCutDto>,
}

/// The councils' figures over a range of days (this year by default), by region and month.
#[utoipa::path(get, path = "/api/v1/councils/stats", params(StatsQuery),
    responses((status = 200, body = CouncilStatsDto), (status = 422, body = ErrorBody)))]
pub async fn figures(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<StatsQuery>,
) -> AppResult<Json<CouncilStatsDto>> {
    let (q, s) = super::stats::figures(&state, &p, q).await?;
    let day = |v: &str| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").unwrap_or_default();
    Ok(Json(CouncilStatsDto {
        from: day(&q.from),
        to: day(&q.to),
        total: s.total.into(),
        by_region: s
            .by_region
            .into_iter()
            .map(|(r, f)| CouncilCutDto {
                key: r.code,
                name: r.name,
                figures: f.into(),
            })
            .collect(),
        by_month: s
            .by_month
            .into_iter()
            .map(|(m, f)| CouncilCutDto {
                key: m.clone(),
                name: m,
                figures: f.into(),
            })
            .collect(),
    }))
}
