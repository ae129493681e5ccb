//! Open311 `GeoReport` v2 under `/open311/v2`, written to the specification's text
//! (<http://wiki.open311.org/GeoReport_v2>): every resource in XML (required) and JSON (the
//! XML with its root stripped, repeated elements as arrays), errors as
//! `<errors><error><code/><description/></error></errors>` with 404 for what does not exist,
//! 403 for a missing or wrong `api_key` and 400 for everything else.
//!
//! How Shiliu fills it in:
//! - a service is an active request category (`service_code` = the category's code); its extra
//!   questions are the service definition's attributes (`metadata` is true when it has any);
//!   services are `realtime`: the id comes back at once, so no tokens are ever issued;
//! - `service_request_id` is the request's tracking code, the same the resident's page uses;
//! - `api_key` is a Shiliu API token: creating needs `create_requests`, and a request is placed
//!   in the region named by `address_id` (a region code in the token's scope), or else in the
//!   county its `lat`/`long` lie in (Guangxi's county outlines; unless the token owner's own
//!   region lies inside that county, which says more), or else in the token owner's own region;
//! - reading: the specification asks no key of readers. Without a key anyone gets the public
//!   view of the whole jurisdiction (as `FixMyStreet` gives): service, status, dates, the site
//!   handling it and the township it lies in — no description, reply, contact, media or point;
//!   every call costs against the address's public look-ups. With a key (`view_requests`), the
//!   key's scope in full, with `lat`/`long` as the client gave them;
//! - `service_request_id` overrides every other argument; each id is answered once;
//! - personal fields are optional as the specification has them: `phone` may be any telephone
//!   number (a landline too) or none. A category that needs a way to reach the resident says
//!   so with a required question, which the service definition lists as a required attribute;
//! - errors name the Open311 parameter (`phone`, `attribute[child_age]`) with Shiliu's label
//!   for it beside it;
//! - status `open` is any status still being handled, `closed` resolved, rated or closed;
//! - `media_url` is kept as the client sent it (an `http(s)` link; never fetched) and returned,
//!   like the description, only to key holders: a photo may show the resident.

use shiliu_db::scope::grants;
use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use shiliu_db::requests::questions::QuestionRow;
use shiliu_db::requests::{Category, Intake, RegionRef, Request, RequestFilter};
use shiliu_db::scope::Scope;
use shiliu_domain::requests::questions::{QuestionKind, RawAnswers};
use shiliu_domain::requests::{Channel, Point, RequestInput};
use shiliu_domain::{FieldError, FieldErrors};

use crate::requests::public::{HOUR, LOOKUPS_PER_HOUR};
use crate::web::error::AppResult;
use crate::web::i18n::T;
use crate::web::{AppState, Ctx, Principal};

pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// Most requests one list returns, and the default window, as the specification sets them.
const MAX_RESULTS: i64 = 1000;
/// The most `service_request_id`s one call may name: a resident's client asks about a few of
/// its own; a longer list is only useful for trying codes.
const MAX_IDS: usize = 50;
const WINDOW_DAYS: i64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
}

/// `services.json` → ("services", JSON). XML is the specification's required format, so an
/// unknown suffix is answered in XML.
fn split(file: &str) -> (&str, Option<Format>) {
    match file.rsplit_once('.') {
        Some((name, "xml")) => (name, Some(Format::Xml)),
        Some((name, "json")) => (name, Some(Format::Json)),
        _ => (file, None),
    }
}

/// A response value, written as XML or as JSON by the same rules.
enum V {
    S(String),
    B(bool),
    I(i64),
    /// A decimal number, written in its shortest exact form (a coordinate as it was given).
    F(f64),
    /// Child elements in order; `None` values are left out ("may not be returned").
    Obj(Vec<(&'static str, Option<V>)>),
    /// A container of repeated elements named `.0`.
    List(&'static str, Vec<V>),
}

/// A text field present (the `Obj` field lists take `Option`s).
#[allow(clippy::unnecessary_wraps)]
fn s(v: impl Into<String>) -> Option<V> {
    Some(V::S(v.into()))
}

fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry are dropped rather than break the document.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
}

impl V {
    fn xml(&self, name: &str, out: &mut String) {
        out.push('<');
        out.push_str(name);
        out.push('>');
        match self {
            V::S(t) => escape(out, t),
            V::B(b) => out.push_str(if *b { "true" } else { "false" }),
            V::I(n) => out.push_str(&n.to_string()),
            V::F(x) => out.push_str(&x.to_string()),
            V::Obj(fields) => {
                for (k, v) in fields {
                    if let Some(v) = v {
                        v.xml(k, out);
                    }
                }
            }
            V::List(item, items) => {
                for v in items {
                    v.xml(item, out);
                }
            }
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }

    fn json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            V::S(t) => J::String(t.clone()),
            V::B(b) => J::Bool(*b),
            V::I(n) => J::from(*n),
            V::F(x) => J::from(*x),
            V::Obj(fields) => J::Object(
                fields
                    .iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| ((*k).to_string(), v.json())))
                    .collect(),
            ),
            V::List(_, items) => J::Array(items.iter().map(V::json).collect()),
        }
    }
}

fn reply(status: StatusCode, format: Format, root: &str, v: &V) -> Response {
    let (body, content_type) = match format {
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            v.xml(root, &mut out);
            (out, "text/xml; charset=utf-8")
        }
        Format::Json => (v.json().to_string(), "application/json; charset=utf-8"),
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The specification's error document: one `error` per problem.
fn errors(format: Format, status: StatusCode, descriptions: &[String]) -> Response {
    let list = V::List(
        "error",
        descriptions
            .iter()
            .map(|d| {
                V::Obj(vec![
                    ("code", Some(V::I(i64::from(status.as_u16())))),
                    ("description", s(d.as_str())),
                ])
            })
            .collect(),
    );
    reply(status, format, "errors", &list)
}

fn error(format: Format, status: StatusCode, description: &str) -> Response {
    errors(format, status, &[description.to_string()])
}

/// An error raised before an Open311 handler ran (by the middleware every request passes
/// through: a NUL character, a body too large, too many calls), as the specification's error
/// document in the format the path asks for: a field's error as the handlers' are (400,
/// naming the parameter), any other with the status it had.
pub(crate) fn outer_error(
    path: &str,
    t: T,
    status: StatusCode,
    message: &str,
    details: Option<&FieldErrors>,
) -> Response {
    let file = path.rsplit('/').next().unwrap_or_default();
    let format = split(file).1.unwrap_or(Format::Xml);
    match details.filter(|d| !d.0.is_empty()) {
        Some(d) => field_errors(format, t, d),
        None => error(format, status, message),
    }
}

/// The specification's error document for checked fields: each names the Open311 parameter
/// it is about, with the field's label in the caller's language beside it.
fn field_errors(format: Format, t: T, e: &FieldErrors) -> Response {
    let list: Vec<String> =
        e.0.iter()
            .map(|f| {
                let name = parameter(&f.field);
                let label = t.field(&f.field);
                let field = if label == f.field || label == name {
                    name
                } else {
                    t.f("open311.field", &[("name", &name), ("label", &label)])
                };
                format!("{field}: {}", t.field_error(f))
            })
            .collect();
    errors(format, StatusCode::BAD_REQUEST, &list)
}

/// The Open311 parameter a field Shiliu checked came from.
fn parameter(field: &str) -> String {
    match field {
        "contact_phone" => "phone".into(),
        "contact_name" => "first_name".into(),
        "place" => "address_string".into(),
        "region_id" | "region_code" => "address_id".into(),
        f => f
            .strip_prefix("answer.")
            .map_or_else(|| f.to_string(), |code| format!("attribute[{code}]")),
    }
}

/// W3C date-time in China time, with its offset (the specification requires the zone).
fn w3c(t: NaiveDateTime) -> String {
    crate::web::api::rfc3339(t)
}

fn parse_w3c(field: &str, v: &str) -> Result<NaiveDateTime, FieldError> {
    chrono::DateTime::parse_from_rfc3339(v.trim())
        .map(|d| d.naive_utc())
        .map_err(|_| FieldError::new(field, "err.open311.datetime"))
}

fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| crate::web::form_urlencoded_pairs(q.as_bytes()))
        .unwrap_or_default()
}

/// A parameter's value; empty counts as absent, as the specification says.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
}

/// `jurisdiction_id` is optional for a server of one jurisdiction; a wrong one is not found.
fn wrong_jurisdiction(state: &AppState, pairs: &[(String, String)]) -> bool {
    match (
        param(pairs, "jurisdiction_id"),
        &state.config.open311_jurisdiction,
    ) {
        (Some(given), Some(ours)) => given != ours,
        _ => false,
    }
}

fn category_name(c: &Category, t: T) -> String {
    t.pick(&c.name, &c.name_en).to_string()
}

fn datatype(k: QuestionKind) -> &'static str {
    match k {
        QuestionKind::Text => "string",
        QuestionKind::Number => "number",
        QuestionKind::Date => "datetime",
        QuestionKind::Single => "singlevaluelist",
        QuestionKind::Multi => "multivaluelist",
    }
}

/// `GET /open311/v2/discovery.{xml|json}`: both formats, as service discovery requires.
fn discovery(state: &AppState, ctx: &Ctx, format: Format) -> Response {
    let base = state
        .config
        .public_url
        .clone()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    let changeset = w3c(state.started_at);
    let endpoint = V::Obj(vec![
        ("specification", s(SPECIFICATION)),
        ("url", s(format!("{base}/open311/v2"))),
        ("changeset", s(changeset.clone())),
        ("type", s("production")),
        (
            "formats",
            Some(V::List(
                "format",
                vec![V::S("text/xml".into()), V::S("application/json".into())],
            )),
        ),
    ]);
    let doc = V::Obj(vec![
        ("changeset", s(changeset)),
        ("contact", s(state.config.contact.clone())),
        ("key_service", s(ctx.t.s("open311.key_service"))),
        ("endpoints", Some(V::List("endpoint", vec![endpoint]))),
    ]);
    reply(StatusCode::OK, format, "discovery", &doc)
}

async fn catalogue(
    state: &AppState,
) -> Result<(Vec<Category>, Vec<QuestionRow>), shiliu_db::DbError> {
    state
        .db
        .read(|c| {
            Ok((
                shiliu_db::requests::categories(c, false)?,
                shiliu_db::requests::questions::questions(c, None, false)?,
            ))
        })
        .await
}

/// `GET /open311/v2/services.{xml|json}`, and `GET|POST /open311/v2/requests.{xml|json}`.
pub async fn root_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (name, format) = split(&file);
    let format = format.unwrap_or(Format::Xml);
    let pairs = pairs(query.as_deref());
    if wrong_jurisdiction(&state, &pairs) {
        return error(
            format,
            StatusCode::NOT_FOUND,
            ctx.t.s("open311.jurisdiction"),
        );
    }
    match name {
        "services" => services(&state, &ctx, format).await,
        "requests" => match found(&state, &ctx, format, &pairs).await {
            Ok(items) => requests_document(format, items),
            Err(r) => r,
        },
        "discovery" => discovery(&state, &ctx, format),
        _ => error(format, StatusCode::NOT_FOUND, ctx.t.s("err.not_found")),
    }
}

async fn services(state: &AppState, ctx: &Ctx, format: Format) -> Response {
    let t = ctx.t;
    let Ok((cats, qs)) = catalogue(state).await else {
        return error(format, StatusCode::BAD_REQUEST, t.s("err.unavailable"));
    };
    let per_day = shiliu_domain::calendar::WorkCalendar::default().minutes_per_day();
    let list = cats
        .iter()
        .map(|c| {
            let level = c.service_minutes.map(|m| {
                let m = i64::from(m);
                if m % per_day == 0 {
                    t.f("open311.level_days", &[("n", &(m / per_day).to_string())])
                } else {
                    t.f("open311.level_hours", &[("n", &(m / 60).to_string())])
                }
            });
            V::Obj(vec![
                ("service_code", s(c.code.clone())),
                ("service_name", s(category_name(c, t))),
                ("description", s(level.unwrap_or_default())),
                (
                    "metadata",
                    Some(V::B(qs.iter().any(|q| q.category_id == c.id))),
                ),
                ("type", s("realtime")),
                ("keywords", s(c.code.replace('_', ","))),
                ("group", s(t.s("open311.group"))),
            ])
        })
        .collect();
    reply(
        StatusCode::OK,
        format,
        "services",
        &V::List("service", list),
    )
}

/// `GET /open311/v2/services/{service_code}.{xml|json}`
pub async fn service_definition(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let t = ctx.t;
    let (code, format) = split(&file);
    let format = format.unwrap_or(Format::Xml);
    if wrong_jurisdiction(&state, &pairs(query.as_deref())) {
        return error(format, StatusCode::NOT_FOUND, t.s("open311.jurisdiction"));
    }
    let Ok((cats, qs)) = catalogue(&state).await else {
        return error(format, StatusCode::BAD_REQUEST, t.s("err.unavailable"));
    };
    let Some(cat) = cats.iter().find(|c| c.code == code) else {
        return error(format, StatusCode::NOT_FOUND, t.s("open311.no_service"));
    };
    let attributes = qs
        .iter()
        .filter(|q| q.category_id == cat.id)
        .enumerate()
        .map(|(i, q)| {
            let kind = q.kind();
            let values = q
                .choices()
                .into_iter()
                .map(|c| V::Obj(vec![("key", s(c.key)), ("name", s(c.name))]))
                .collect();
            V::Obj(vec![
                ("variable", Some(V::B(true))),
                ("code", s(q.code.clone())),
                ("datatype", s(datatype(kind))),
                ("required", Some(V::B(q.required))),
                (
                    "datatype_description",
                    s(t.label("open311.datatype", kind.as_str())),
                ),
                ("order", Some(V::I(i as i64 + 1))),
                ("description", s(t.pick(&q.label, &q.label_en))),
                (
                    "values",
                    kind.has_choices().then_some(V::List("value", values)),
                ),
            ])
        })
        .collect();
    let doc = V::Obj(vec![
        ("service_code", s(cat.code.clone())),
        ("attributes", Some(V::List("attribute", attributes))),
    ]);
    reply(StatusCode::OK, format, "service_definition", &doc)
}

/// The caller of an API key: a Shiliu API token, given as `api_key` (or as a bearer header,
/// which the context middleware has already checked).
async fn key_holder(
    state: &AppState,
    ctx: &Ctx,
    pairs: &[(String, String)],
) -> Result<Option<Principal>, shiliu_db::DbError> {
    let auth = match param(pairs, "api_key") {
        Some(key) => crate::web::token_caller(state, key).await?,
        None => ctx.auth.clone(),
    };
    Ok(auth.map(|a| Principal::new(a, ctx.clone())))
}

/// `POST /open311/v2/requests.{xml|json}`
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let t = ctx.t;
    let (name, format) = split(&file);
    let format = format.unwrap_or(Format::Xml);
    if name != "requests" {
        return error(format, StatusCode::NOT_FOUND, t.s("err.not_found"));
    }
    let mut pairs = pairs(query.as_deref());
    pairs.extend(crate::web::form_urlencoded_pairs(&body));
    if wrong_jurisdiction(&state, &pairs) {
        return error(format, StatusCode::NOT_FOUND, t.s("open311.jurisdiction"));
    }
    let (actor, home) = match key_holder(&state, &ctx, &pairs).await {
        Ok(Some(p)) => match p.require::<grants::CreateRequests>() {
            Ok(actor) => (actor, p.user().region_id),
            Err(_) => return error(format, StatusCode::FORBIDDEN, t.s("open311.api_key")),
        },
        Ok(None) => return error(format, StatusCode::FORBIDDEN, t.s("open311.api_key")),
        Err(_) => return error(format, StatusCode::BAD_REQUEST, t.s("err.unavailable")),
    };
    let Some(code) = param(&pairs, "service_code").map(str::to_string) else {
        return error(
            format,
            StatusCode::BAD_REQUEST,
            &t.f("open311.missing", &[("name", "service_code")]),
        );
    };
    let Ok((cats, _)) = catalogue(&state).await else {
        return error(format, StatusCode::BAD_REQUEST, t.s("err.unavailable"));
    };
    let Some(cat) = cats.into_iter().find(|c| c.code == code) else {
        return error(format, StatusCode::NOT_FOUND, t.s("open311.no_service"));
    };
    let input = match new_request(&pairs, &cat, t) {
        Ok(i) => i,
        Err(e) => return field_errors(format, t, &e),
    };
    let address_id = param(&pairs, "address_id").map(str::to_string);
    let region = match address_id {
        Some(code) => RegionRef::Code {
            code,
            field: "address_id",
        },
        None => match located(&state, input.point, home).await {
            Ok(r) => r,
            Err(_) => return error(format, StatusCode::BAD_REQUEST, t.s("err.unavailable")),
        },
    };
    let result = state
        .take_in(Intake {
            actor: actor.into_actor(),
            input,
            category_id: cat.id,
            region,
            intake_site_id: None,
        })
        .await;
    match result {
        Ok(r) => {
            let item = V::Obj(vec![("service_request_id", s(r.code))]);
            reply(
                StatusCode::OK,
                format,
                "service_requests",
                &V::List("request", vec![item]),
            )
        }
        Err(shiliu_db::DbError::Invalid(e)) => field_errors(format, t, &e),
        Err(_) => error(format, StatusCode::BAD_REQUEST, t.s("err.unavailable")),
    }
}

/// Where a request with no `address_id` arose: the county its point lies in, unless the key
/// owner's own region lies within that county already (it says more); without a point, or
/// with one outside the outlines, the key owner's region. A county outside the key's scope is
/// refused on `lat` when the request is taken in.
async fn located(
    state: &AppState,
    point: Option<shiliu_domain::requests::Point>,
    home: i64,
) -> AppResult<RegionRef> {
    let Some(point) = point else {
        return Ok(RegionRef::Id(home));
    };
    let found = state
        .db
        .read(move |c| {
            let Some(county) = shiliu_db::org::atlas::county_at(c, (point.long, point.lat))? else {
                return Ok(None);
            };
            let own = shiliu_db::org::atlas::region(c, home)?;
            Ok((!own.path.starts_with(&county.path)).then_some(county.code))
        })
        .await?;
    Ok(found.map_or(RegionRef::Id(home), |code| RegionRef::Code {
        code,
        field: "lat",
    }))
}

/// The request a client posted: a location is required (the specification's "full location
/// parameter"), attributes are the category's questions, and the description defaults to the
/// service's name (the specification lets a client send none).
fn new_request(
    pairs: &[(String, String)],
    cat: &Category,
    t: T,
) -> Result<RequestInput, FieldErrors> {
    let mut errs = FieldErrors::new();
    let point = errs
        .check(Point::parse(
            "lat",
            param(pairs, "lat").unwrap_or_default(),
            param(pairs, "long").unwrap_or_default(),
        ))
        .flatten();
    let address = param(pairs, "address_string");
    if point.is_none()
        && address.is_none()
        && param(pairs, "address_id").is_none()
        && errs.is_empty()
    {
        errs.push(FieldError::new("address_string", "err.open311.location"));
    }
    let description = param(pairs, "description").unwrap_or_default();
    if description.chars().count() > shiliu_domain::requests::MAX_DESCRIPTION {
        errs.push(
            FieldError::new("description", "err.too_long")
                .arg("max", shiliu_domain::requests::MAX_DESCRIPTION),
        );
    }
    errs.into_result()?;
    let name = [param(pairs, "last_name"), param(pairs, "first_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("");
    let description = if description.is_empty() {
        category_name(cat, t)
    } else {
        description.to_string()
    };
    let mut answers = RawAnswers::new();
    for (k, v) in pairs {
        if let Some(rest) = k.strip_prefix("attribute[") {
            let code = rest.trim_end_matches("[]").trim_end_matches(']');
            answers.entry(code.to_string()).or_default().push(v.clone());
        }
    }
    let parsed = RequestInput::parse(
        Channel::Open311,
        &description,
        address.unwrap_or_default(),
        &name,
        param(pairs, "phone").unwrap_or_default(),
        false,
    );
    let media = param(pairs, "media_url").unwrap_or_default();
    RequestInput::with_media_url(parsed, "media_url", media)
        .map(|i| i.with_answers(answers).with_point(point))
}

/// `GET /open311/v2/requests/{service_request_id}.{xml|json}`
pub async fn one(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (id, format) = split(&file);
    let format = format.unwrap_or(Format::Xml);
    let mut pairs = pairs(query.as_deref());
    if wrong_jurisdiction(&state, &pairs) {
        return error(
            format,
            StatusCode::NOT_FOUND,
            ctx.t.s("open311.jurisdiction"),
        );
    }
    pairs.retain(|(k, _)| k == "api_key");
    pairs.push(("service_request_id".into(), id.to_string()));
    match found(&state, &ctx, format, &pairs).await {
        Ok(items) if items.is_empty() => {
            error(format, StatusCode::NOT_FOUND, ctx.t.s("open311.no_request"))
        }
        Ok(items) => requests_document(format, items),
        Err(r) => r,
    }
}

/// `GET /open311/v2/tokens/{token_id}.{xml|json}`: services are realtime, so no token was ever
/// issued and every token is unknown.
pub async fn token(ctx: Ctx, Path(file): Path<String>) -> Response {
    let (_, format) = split(&file);
    error(
        format.unwrap_or(Format::Xml),
        StatusCode::NOT_FOUND,
        ctx.t.s("open311.no_token"),
    )
}

/// What a list call asks for: the named requests (`service_request_id` overrides every other
/// argument, as the specification says), or a window of the list.
enum ListQuery {
    Named(Vec<String>),
    Window {
        codes: Vec<String>,
        statuses: Vec<String>,
        from: NaiveDateTime,
        to: NaiveDateTime,
    },
}

/// A parameter's comma-separated values, over every time it is given.
fn csv(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn list_query(pairs: &[(String, String)]) -> Result<ListQuery, FieldErrors> {
    let mut errs = FieldErrors::new();
    let ids = csv(pairs, "service_request_id");
    if !ids.is_empty() {
        if ids.len() > MAX_IDS {
            errs.push(
                FieldError::new("service_request_id", "err.too_many_items").arg("max", MAX_IDS),
            );
        }
        return errs.into_result().map(|()| ListQuery::Named(ids));
    }
    let statuses = csv(pairs, "status");
    if statuses.iter().any(|s| s != "open" && s != "closed") {
        errs.push(FieldError::new("status", "err.choice"));
    }
    let date = |errs: &mut FieldErrors, name: &str| {
        param(pairs, name).and_then(|v| errs.check(parse_w3c(name, v)))
    };
    let start = date(&mut errs, "start_date");
    let end = date(&mut errs, "end_date");
    let window = chrono::Duration::days(WINDOW_DAYS);
    // One end given: the window runs from it (or up to it); none: the last 90 days.
    let (from, to) = match (start, end) {
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) => (a, a + window),
        (None, Some(b)) => (b - window, b),
        (None, None) => {
            let now = shiliu_db::now();
            (now - window, now)
        }
    };
    if to < from || to - from > window {
        errs.push(FieldError::new("end_date", "err.open311.window").arg("days", WINDOW_DAYS));
    }
    errs.into_result()?;
    Ok(ListQuery::Window {
        codes: csv(pairs, "service_code"),
        statuses,
        from,
        to,
    })
}

impl ListQuery {
    /// How many look-ups it costs against the address's public allowance (shared with the
    /// residents' tracking pages, so codes cannot be found by trying): one per code named,
    /// one for a page of the list.
    fn cost(&self) -> u32 {
        match self {
            ListQuery::Named(ids) => u32::try_from(ids.len()).unwrap_or(u32::MAX),
            ListQuery::Window { .. } => 1,
        }
    }

    /// The list's filter, or `None` when it asks for services that do not exist.
    fn filter(&self, cats: &[Category]) -> Option<RequestFilter> {
        let ListQuery::Window {
            codes,
            statuses,
            from,
            to,
        } = self
        else {
            return None;
        };
        let f = RequestFilter {
            received_from: Some(*from),
            received_to: Some(*to),
            open: match statuses.as_slice() {
                [one] => Some(one == "open"),
                _ => None,
            },
            category_ids: cats
                .iter()
                .filter(|k| codes.contains(&k.code))
                .map(|k| k.id)
                .collect(),
            ..RequestFilter::default()
        };
        (codes.is_empty() || !f.category_ids.is_empty()).then_some(f)
    }
}

/// The requests a query asks for, as response items; or the error document to answer with.
/// A key holder sees its scope in full; anyone else the public view of the whole jurisdiction.
async fn found(
    state: &AppState,
    ctx: &Ctx,
    format: Format,
    pairs: &[(String, String)],
) -> Result<Vec<V>, Response> {
    let t = ctx.t;
    let q = list_query(pairs).map_err(|e| field_errors(format, t, &e))?;
    let unavailable = || error(format, StatusCode::BAD_REQUEST, t.s("err.unavailable"));
    let holder = key_holder(state, ctx, pairs)
        .await
        .map_err(|_| unavailable())?;
    let Some(holder) = holder else {
        if !state.allow_many(
            "public-lookup",
            &ctx.client_addr,
            q.cost(),
            LOOKUPS_PER_HOUR,
            HOUR,
        ) {
            return Err(error(
                format,
                StatusCode::TOO_MANY_REQUESTS,
                t.s("err.too_many"),
            ));
        }
        return public_items(state, t, q).await.map_err(|_| unavailable());
    };
    let scope = match holder.require::<grants::ViewRequests>() {
        Ok(actor) => actor.scope().clone(),
        Err(_) => return Err(error(format, StatusCode::FORBIDDEN, t.s("open311.api_key"))),
    };
    full_items(state, t, q, scope)
        .await
        .map_err(|_| unavailable())
}

/// The public view: no description, reply, contact, media or point; placed at its township.
async fn public_items(state: &AppState, t: T, q: ListQuery) -> Result<Vec<V>, shiliu_db::DbError> {
    use shiliu_db::requests::public;
    let (cats, rows) = state
        .db
        .read(move |c| {
            let cats = shiliu_db::requests::categories(c, true)?;
            let rows = match &q {
                ListQuery::Named(ids) => public::by_codes(c, ids)?,
                ListQuery::Window { .. } => match q.filter(&cats) {
                    Some(f) => public::list(c, &f, MAX_RESULTS)?,
                    None => vec![],
                },
            };
            Ok((cats, rows))
        })
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let cat = cats.iter().find(|k| k.id == r.category_id);
            V::Obj(vec![
                ("service_request_id", s(r.code.clone())),
                ("status", s(if r.open { "open" } else { "closed" })),
                ("service_name", cat.map(|c| V::S(category_name(c, t)))),
                ("service_code", cat.map(|c| V::S(c.code.clone()))),
                ("agency_responsible", r.site.clone().map(V::S)),
                ("requested_datetime", s(w3c(r.received_at))),
                ("updated_datetime", s(w3c(r.changed_at))),
                ("expected_datetime", r.due_at.map(|d| V::S(w3c(d)))),
                ("address", s(r.area_name.clone())),
                ("address_id", s(r.area_code.clone())),
            ])
        })
        .collect())
}

/// A key holder's view of the requests in its scope, with every field the specification has.
async fn full_items(
    state: &AppState,
    t: T,
    q: ListQuery,
    scope: Scope,
) -> Result<Vec<V>, shiliu_db::DbError> {
    let (cats, rows, sites, regions, links, points) = state
        .db
        .read(move |c| {
            let cats = shiliu_db::requests::categories(c, true)?;
            let rows: Vec<Request> = match &q {
                ListQuery::Named(ids) => {
                    shiliu_db::requests::public::known_codes(c, ids, |c, id| {
                        shiliu_db::requests::by_code_in(c, &scope, id)
                    })?
                }
                ListQuery::Window { .. } => match q.filter(&cats) {
                    Some(f) => shiliu_db::requests::list(c, &scope, &f, MAX_RESULTS)?,
                    None => vec![],
                },
            };
            let mut sites = BTreeMap::new();
            let mut regions = BTreeMap::new();
            for r in &rows {
                if let Some(sid) = r.site_id
                    && !sites.contains_key(&sid)
                {
                    sites.insert(sid, shiliu_db::org::atlas::site_name(c, sid)?);
                }
                if let std::collections::btree_map::Entry::Vacant(e) = regions.entry(r.region_id) {
                    e.insert(shiliu_db::org::atlas::region(c, r.region_id)?.code);
                }
            }
            let links = shiliu_db::requests::media_links(c, &rows)?;
            let points = shiliu_db::requests::points(c, &rows)?;
            Ok((cats, rows, sites, regions, links, points))
        })
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let cat = cats.iter().find(|k| k.id == r.category_id);
            let closed = !r.status().is_open();
            let point = points.get(&r.id);
            V::Obj(vec![
                ("service_request_id", s(r.code.clone())),
                ("status", s(if closed { "closed" } else { "open" })),
                ("status_notes", r.reply.clone().filter(|_| closed).map(V::S)),
                ("service_name", cat.map(|c| V::S(category_name(c, t)))),
                ("service_code", cat.map(|c| V::S(c.code.clone()))),
                ("description", s(r.description.clone())),
                (
                    "agency_responsible",
                    r.site_id
                        .and_then(|id| sites.get(&id))
                        .map(|n| V::S(n.clone())),
                ),
                ("requested_datetime", s(w3c(r.received_at))),
                ("updated_datetime", s(w3c(r.changed_at()))),
                ("expected_datetime", r.due_at.map(|d| V::S(w3c(d)))),
                ("address", r.place.clone().map(V::S)),
                (
                    "address_id",
                    regions.get(&r.region_id).map(|c| V::S(c.clone())),
                ),
                ("lat", point.map(|p| V::F(p.lat))),
                ("long", point.map(|p| V::F(p.long))),
                ("media_url", links.get(&r.id).map(|l| V::S(l.clone()))),
            ])
        })
        .collect())
}

fn requests_document(format: Format, items: Vec<V>) -> Response {
    reply(
        StatusCode::OK,
        format,
        "service_requests",
        &V::List("request", items),
    )
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!())
        .route("/open311/v2/{file}", get(root_get).post(create))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one))
        .route("/open311/v2/tokens/{file}", get(token))
}
