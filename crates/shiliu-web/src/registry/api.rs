//! The JSON API of the migrant registry (see `pages::registry` for the pages, which share its
//! checks, and `shiliu_db::registry` for the rules). ID numbers go out masked; the whole
//! number only from its own audited path, and a look-up by number is posted, never put in an
//! address.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shiliu_db::registry::{self as db, OnDuplicate, Registered};
use shiliu_db::scope::grants;
use shiliu_domain::FieldErrors;
use shiliu_domain::id_number::IdNumber;
use shiliu_domain::registry::PersonForm;
use utoipa::ToSchema;

use crate::registry::pages::{ListQuery, RegisterForm, correct, register};
use crate::web::error::AppResult;
use crate::web::page::PAGE;
use crate::web::{AppState, Principal};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(list, get, create, update, move_out, id_number, lookup, residents),
    components(schemas(
        PersonDto,
        PersonPage,
        ResidenceDto,
        ConsentDto,
        MemberDto,
        PersonDetail,
        PersonBody,
        MoveOutBody,
        IdNumberDto,
        LookupBody,
        ResidentDto,
        ResidentPage
    ))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
pub struct PersonDto {
    id: i64,
    name: String,
    /// e.g. `4501**********123X`
    id_masked: Option<String>,
    /// male, female
    sex: String,
    birth_date: chrono::NaiveDate,
    /// GB 3304 code
    people: String,
    mobile: Option<String>,
    /// 户籍地: a division code
    hukou: String,
    /// The township, community or grid they live in.
    region_id: i64,
    address: String,
    household_id: Option<i64>,
    /// head, spouse, child, parent, grandchild, grandparent, sibling, other
    relation: Option<String>,
    arrived_on: Option<chrono::NaiveDate>,
    occupation: Option<String>,
    employer: Option<String>,
    /// employed, `self_employed`, flexible, unemployed, student, `not_working`
    employment: Option<String>,
    /// resident, `moved_out`
    status: String,
    #[serde(serialize_with = "crate::web::api::moment")]
    created_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "crate::web::api::moment")]
    updated_at: chrono::NaiveDateTime,
    version: i32,
}

impl From<db::Person> for PersonDto {
    fn from(p: db::Person) -> Self {
        Self {
            id: p.id,
            name: p.name,
            id_masked: p.id_masked,
            sex: p.sex,
            birth_date: p.birth_date,
            people: p.people,
            mobile: p.mobile,
            hukou: p.hukou,
            region_id: p.region_id,
            address: p.address,
            household_id: p.household_id,
            relation: p.relation,
            arrived_on: p.arrived_on,
            occupation: p.occupation,
            employer: p.employer,
            employment: p.employment,
            status: p.status,
            created_at: p.created_at,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PersonPage {
    items: Vec<PersonDto>,
    /// Pass as `before` for the next page.
    next: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ResidenceDto {
    region_id: i64,
    address: String,
    from_date: chrono::NaiveDate,
    /// Exclusive; none while it lasts.
    to_date: Option<chrono::NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentDto {
    /// registration, linkage, contact
    purpose: String,
    /// `self_service`, staff, import
    channel: String,
    #[serde(serialize_with = "crate::web::api::moment")]
    given_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "crate::web::api::moment_opt")]
    withdrawn_at: Option<chrono::NaiveDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberDto {
    id: i64,
    name: String,
    relation: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PersonDetail {
    person: PersonDto,
    tags: Vec<String>,
    household: Vec<MemberDto>,
    residences: Vec<ResidenceDto>,
    consents: Vec<ConsentDto>,
}

/// People registered in the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/persons",
    params(
        ("q" = Option<String>, Query, description = "name (prefix) or mobile number"),
        ("people" = Option<String>, Query, description = "GB 3304 code"),
        ("hukou" = Option<String>, Query, description = "division code prefix of the 户籍地, e.g. 52 or 5226"),
        ("status" = Option<String>, Query, description = "resident or moved_out"),
        ("employment" = Option<String>, Query),
        ("tag" = Option<String>, Query),
        ("before" = Option<i64>, Query, description = "page cursor")),
    responses((status = 200, body = PersonPage), (status = 401, body = crate::web::api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<PersonPage>> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let f = q.filter()?;
    let rows = state
        .db
        .write(move |c| db::list(c, &actor, &f, q.before, PAGE + 1))
        .await?;
    let (rows, next) = crate::web::api::paginate(rows, |p| p.id);
    Ok(Json(PersonPage {
        items: rows.into_iter().map(Into::into).collect(),
        next,
    }))
}

/// One person with household, residences and consents. The view is audited.
#[utoipa::path(get, path = "/api/v1/persons/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = PersonDetail), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<PersonDetail>> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let (person, tags, members, homes, consents) = state
        .db
        .write(move |c| {
            let person = db::view(c, &actor, id)?;
            let members = match person.household_id {
                Some(h) => db::household_members(c, actor.scope(), h)?,
                None => Vec::new(),
            };
            let tags = db::tags_of(c, &person)?;
            let consents = db::consents_of(c, &person)?;
            Ok((
                person,
                tags,
                members,
                db::residences_of(c, actor.scope(), id)?,
                consents,
            ))
        })
        .await?;
    Ok(Json(PersonDetail {
        person: person.into(),
        tags: tags.iter().map(|t| t.as_str().to_string()).collect(),
        household: members
            .into_iter()
            .map(|m| MemberDto {
                id: m.id,
                name: m.name,
                relation: m.relation,
            })
            .collect(),
        residences: homes
            .into_iter()
            .map(|h| ResidenceDto {
                region_id: h.region_id,
                address: h.address,
                from_date: h.from_date,
                to_date: h.to_date,
            })
            .collect(),
        consents: consents
            .into_iter()
            .map(|c| ConsentDto {
                purpose: c.purpose,
                channel: c.channel,
                given_at: c.given_at,
                withdrawn_at: c.withdrawn_at,
            })
            .collect(),
    }))
}

/// A person's particulars as the API takes them; every field a string, checked as the forms
/// check them.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct PersonBody {
    name: String,
    /// 18 characters; gives sex, birth date and (when blank) the 户籍地. On a correction,
    /// blank keeps the number on file.
    id_number: String,
    /// male or female (when there is no ID number)
    sex: String,
    /// YYYY-MM-DD (when there is no ID number)
    birth_date: String,
    /// GB 3304 code or name
    people: String,
    mobile: String,
    /// Division code of the 户籍地
    hukou: String,
    /// Code of the township, community or grid they live in.
    region_code: String,
    address: String,
    /// YYYY-MM-DD
    arrived_on: String,
    occupation: String,
    employer: String,
    employment: String,
    tags: Vec<String>,
    /// Join this household (with `relation`) instead of starting one.
    household_id: Option<i64>,
    relation: String,
    /// What the person agreed to: registration (required), linkage, contact.
    consents: Vec<String>,
    /// `update`: an ID number already registered updates that person (a move in) instead of
    /// being refused.
    on_duplicate: String,
    /// For a correction: the version read.
    version: i32,
    /// For a correction that changes grid or address: the day of the move (default today).
    moved_on: String,
}

impl PersonBody {
    fn into_form(self) -> RegisterForm {
        RegisterForm {
            person: PersonForm {
                name: self.name,
                id_number: self.id_number,
                sex: self.sex,
                birth_date: self.birth_date,
                people: self.people,
                mobile: self.mobile,
                hukou: self.hukou,
                address: self.address,
                arrived_on: self.arrived_on,
                occupation: self.occupation,
                employer: self.employer,
                employment: self.employment,
                tags: self.tags,
            },
            region_code: self.region_code,
            household_id: self.household_id.map(|h| h.to_string()).unwrap_or_default(),
            relation: self.relation,
            consents: self.consents,
            version: self.version,
            moved_on: self.moved_on,
        }
    }
}

/// Register a person. 201 with the new record; with `on_duplicate: update`, 200 with the
/// existing person updated when the ID number is registered already.
#[utoipa::path(post, path = "/api/v1/persons", request_body = PersonBody,
    responses((status = 201, body = PersonDto), (status = 200, body = PersonDto), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(b): Json<PersonBody>,
) -> AppResult<(StatusCode, Json<PersonDto>)> {
    let actor = p.require::<grants::EditRegistry>()?;
    let on_duplicate = if b.on_duplicate == "update" {
        OnDuplicate::Update
    } else {
        OnDuplicate::Refuse
    };
    let d = b.into_form();
    Ok(match register(&state, actor, &d, on_duplicate).await? {
        Registered::Created(p) => (StatusCode::CREATED, Json(p.into())),
        Registered::Updated(p) => (StatusCode::OK, Json(p.into())),
    })
}

/// Correct a person's particulars; a new grid or address is a move on `moved_on`.
#[utoipa::path(put, path = "/api/v1/persons/{id}", params(("id" = i64, Path)), request_body = PersonBody,
    responses((status = 200, body = PersonDto), (status = 409, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<PersonBody>,
) -> AppResult<Json<PersonDto>> {
    let actor = p.require::<grants::EditRegistry>()?;
    let d = b.into_form();
    Ok(Json(correct(&state, actor, id, &d).await?.into()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct MoveOutBody {
    version: i32,
    /// YYYY-MM-DD
    moved_on: String,
}

/// Record that a person moved out of the area (their residence ends that day).
#[utoipa::path(post, path = "/api/v1/persons/{id}/move-out", params(("id" = i64, Path)), request_body = MoveOutBody,
    responses((status = 200, body = PersonDto), (status = 409, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn move_out(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Json(b): Json<MoveOutBody>,
) -> AppResult<Json<PersonDto>> {
    let actor = p.require::<grants::EditRegistry>()?;
    let on = shiliu_domain::error::past_day("moved_on", &b.moved_on, shiliu_db::today())
        .map_err(FieldErrors::from)?;
    let person = state
        .db
        .write(move |c| db::move_out(c, &actor, id, b.version, on))
        .await?;
    Ok(Json(person.into()))
}

#[derive(Serialize, ToSchema)]
pub struct IdNumberDto {
    /// The whole number; null when none is registered.
    id_number: Option<String>,
}

/// The whole ID number, for roles that may see it. Every call is audited.
#[utoipa::path(get, path = "/api/v1/persons/{id}/id-number", params(("id" = i64, Path)),
    responses((status = 200, body = IdNumberDto), (status = 403, body = crate::web::api::ErrorBody), (status = 404, body = crate::web::api::ErrorBody)))]
pub async fn id_number(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<IdNumberDto>> {
    p.require::<grants::ViewRegistry>()?;
    let can = p.require::<grants::RevealIdNumbers>()?;
    let vault = state.config.vault.clone();
    let number = state
        .db
        .write(move |c| db::reveal_id_number(c, &can, &vault, id))
        .await?;
    Ok(Json(IdNumberDto {
        id_number: number.map(|n| n.as_str().to_string()),
    }))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct LookupBody {
    id_number: String,
}

/// Find the person registered under an ID number in the caller's scope (404 if none). The
/// number travels in the body, never in the address; a find is audited.
#[utoipa::path(post, path = "/api/v1/persons/lookup", request_body = LookupBody,
    responses((status = 200, body = PersonDto), (status = 404, body = crate::web::api::ErrorBody), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn lookup(
    State(state): State<AppState>,
    p: Principal,
    Json(b): Json<LookupBody>,
) -> AppResult<Json<PersonDto>> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let number = IdNumber::parse(&b.id_number).map_err(FieldErrors::from)?;
    let vault = state.config.vault.clone();
    let found = state
        .db
        .write(move |c| db::find_by_id_number(c, &actor, &vault, &number))
        .await?;
    Ok(Json(
        found.ok_or(crate::web::error::AppError::NotFound)?.into(),
    ))
}

#[derive(Deserialize, Default)]
pub struct ResidentsQuery {
    #[serde(default)]
    on: String,
    #[serde(default)]
    after: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ResidentDto {
    person: PersonDto,
    /// Where they lived on that day.
    residence: ResidenceDto,
}

#[derive(Serialize, ToSchema)]
pub struct ResidentPage {
    items: Vec<ResidentDto>,
    /// Pass as `after` for the next page.
    next: Option<i64>,
}

/// Who lived in the caller's scope on a past day (from the residence history, so people since
/// moved away are counted where they were), by person id.
#[utoipa::path(get, path = "/api/v1/residents",
    params(("on" = String, Query, description = "YYYY-MM-DD"), ("after" = Option<i64>, Query, description = "page cursor: the last person id")),
    responses((status = 200, body = ResidentPage), (status = 422, body = crate::web::api::ErrorBody)))]
pub async fn residents(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ResidentsQuery>,
) -> AppResult<Json<ResidentPage>> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let on = shiliu_domain::error::past_day("on", &q.on, shiliu_db::today())
        .map_err(FieldErrors::from)?;
    let mut rows = state
        .db
        .write(move |c| db::residents_on(c, &actor, on, q.after, PAGE + 1))
        .await?;
    let next = if rows.len() as i64 > PAGE {
        rows.truncate(PAGE as usize);
        rows.last().map(|(p, _)| p.id)
    } else {
        None
    };
    Ok(Json(ResidentPage {
        items: rows
            .into_iter()
            .map(|(p, r)| ResidentDto {
                person: p.into(),
                residence: ResidenceDto {
                    region_id: r.region_id,
                    address: r.address,
                    from_date: r.from_date,
                    to_date: r.to_date,
                },
            })
            .collect(),
        next,
    }))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/api/v1/persons", get(list).post(create))
        .route("/api/v1/persons/lookup", post(lookup))
        .route("/api/v1/persons/{id}", get(self::get).put(update))
        .route("/api/v1/persons/{id}/move-out", post(move_out))
        .route("/api/v1/persons/{id}/id-number", get(id_number))
        .route("/api/v1/residents", get(residents))
}
