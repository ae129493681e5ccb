//! The JSON API's machinery: the error envelope, paging, and the description document
//! (`/api/v1/openapi.json`) assembled from each module's part.
//!
//! The API lives under `/api/v1`, authenticated with `Authorization: Bearer <token>` (tokens are
//! issued on the API-tokens page, limited to the owner's permissions and scope, and expire).
//! Errors use the envelope `{"error":{"code","message","details","request_id"}}`. Each module's
//! `api.rs` holds its handlers, its response types — the API's contract, kept apart from the
//! database rows so a schema change cannot silently change the API — and its `Doc`.

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(title = "Shiliu API", description = "石榴 Shiliu — ethnic-affairs service and governance platform"),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct Base;

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

/// The description document: the base (title, errors, the bearer scheme) and every module's
/// paths and schemas.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    for part in parts() {
        doc.merge(part);
    }
    declare_enums(&mut doc);
    declare_error_statuses(&mut doc);
    unique_operation_ids(&mut doc);
    declare_links(&mut doc);
    doc
}

/// Every module's part of the document. Merging keeps the first schema of a name, so two
/// modules' schemas of one name would describe one module's responses with the other's
/// (a test refuses it).
fn parts() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        crate::accounts::api::Doc::openapi(),
        crate::home::api::Doc::openapi(),
        crate::messages::api::Doc::openapi(),
        crate::org::api::Doc::openapi(),
        crate::requests::api::Doc::openapi(),
        crate::requests::files::api::Doc::openapi(),
        crate::casework::api::Doc::openapi(),
        crate::registry::api::Doc::openapi(),
        crate::registry::linkage::api::Doc::openapi(),
        crate::registry::needs::api::Doc::openapi(),
        crate::evaluation::api::Doc::openapi(),
        crate::tasks::api::Doc::openapi(),
        crate::activities::api::Doc::openapi(),
        crate::councils::api::Doc::openapi(),
        crate::dashboard::api::Doc::openapi(),
    ]
}

/// Operation ids are handler names, which repeat across modules (`list`, `get`, `create`):
/// a repeated one is prefixed with the collection it works on (`persons_list`), so each is
/// unique as the specification requires.
fn unique_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for item in doc.paths.paths.values() {
        for op in operations_of(item) {
            if let Some(id) = &op.operation_id {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for (path, item) in &mut doc.paths.paths {
        let collection = path
            .trim_start_matches("/api/v1/")
            .split('/')
            .next()
            .unwrap_or_default()
            .replace('-', "_");
        for op in operations_of_mut(item) {
            if let Some(id) = op.operation_id.as_mut()
                && seen.get(id.as_str()).is_some_and(|n| *n > 1)
            {
                *id = format!("{collection}_{id}");
            }
        }
    }
}

fn operations_of(
    item: &utoipa::openapi::PathItem,
) -> impl Iterator<Item = &utoipa::openapi::path::Operation> {
    [&item.get, &item.post, &item.put, &item.patch, &item.delete]
        .into_iter()
        .flatten()
}

fn operations_of_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.put.as_mut(),
        item.patch.as_mut(),
        item.delete.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// What a created record leads to: (the creating operation's path, its success status) →
/// (link name, the operation's path and method, its parameters as runtime expressions). A
/// client — or a stateful test — follows them from a new request to its steps and files, from
/// a new person to their record.
/// One creating (or listing) operation's links: its path, method and success status, and
/// where its answer leads.
type Source = (&'static str, &'static str, &'static str, &'static [Target]);

/// A link: its name, the target's path and method, the target's parameters as runtime
/// expressions, and a request body (JSON, expressions inside) where the link fills one in.
type Target = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
);

const LINKS: &[Source] = &[
    (
        "/api/v1/request-categories",
        "get",
        "200",
        &[(
            "CreateRequest",
            "/api/v1/requests",
            "post",
            &[],
            Some(
                r#"{"channel": "hotline", "category_id": "$response.body#/0/id", "description": "来电反映：租住的房屋漏水，房东一直不修。"}"#,
            ),
        )],
    ),
    (
        "/api/v1/requests",
        "post",
        "201",
        &[
            (
                "GetRequest",
                "/api/v1/requests/{id}",
                "get",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "StepRequest",
                "/api/v1/requests/{id}/steps",
                "post",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "ListFiles",
                "/api/v1/requests/{id}/files",
                "get",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "AttachFiles",
                "/api/v1/requests/{id}/files",
                "post",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "ListCohandlers",
                "/api/v1/requests/{id}/cohandlers",
                "get",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "AskCohandler",
                "/api/v1/requests/{id}/cohandlers",
                "post",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "OpenDispute",
                "/api/v1/requests/{id}/dispute",
                "post",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "OpenCase",
                "/api/v1/requests/{id}/legal-aid",
                "post",
                &[("id", "$response.body#/id")],
                None,
            ),
        ],
    ),
    (
        "/api/v1/requests/{id}/files",
        "post",
        "201",
        &[(
            "OpenFile",
            "/api/v1/requests/{id}/files/{file_id}",
            "get",
            &[
                ("id", "$request.path.id"),
                ("file_id", "$response.body#/0/id"),
            ],
            None,
        )],
    ),
    (
        "/api/v1/requests/{id}/cohandlers",
        "post",
        "201",
        &[(
            "AnswerCohandler",
            "/api/v1/requests/{id}/cohandlers/{cohandler_id}/answer",
            "post",
            &[
                ("id", "$request.path.id"),
                ("cohandler_id", "$response.body#/0/id"),
            ],
            None,
        )],
    ),
    (
        "/api/v1/requests/{id}/dispute",
        "post",
        "201",
        &[
            (
                "GetDispute",
                "/api/v1/disputes/{id}",
                "get",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "RecordDispute",
                "/api/v1/disputes/{id}/{record}",
                "post",
                &[("id", "$response.body#/id")],
                None,
            ),
        ],
    ),
    (
        "/api/v1/requests/{id}/legal-aid",
        "post",
        "201",
        &[
            (
                "GetCase",
                "/api/v1/legal-aid/{id}",
                "get",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "RecordCase",
                "/api/v1/legal-aid/{id}/{record}",
                "post",
                &[("id", "$response.body#/id")],
                None,
            ),
        ],
    ),
    (
        "/api/v1/persons",
        "post",
        "201",
        &[
            (
                "GetPerson",
                "/api/v1/persons/{id}",
                "get",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "UpdatePerson",
                "/api/v1/persons/{id}",
                "put",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "MoveOut",
                "/api/v1/persons/{id}/move-out",
                "post",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "ListServices",
                "/api/v1/persons/{id}/services",
                "get",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "RecordService",
                "/api/v1/persons/{id}/services",
                "post",
                &[("id", "$response.body#/id")],
                None,
            ),
        ],
    ),
    (
        "/api/v1/assists",
        "post",
        "201",
        &[
            (
                "GetAssist",
                "/api/v1/assists/{id}",
                "get",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "ReplyAssist",
                "/api/v1/assists/{id}/reply",
                "post",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                "CloseAssist",
                "/api/v1/assists/{id}/close",
                "post",
                &[("id", "$response.body#/id")],
                None,
            ),
        ],
    ),
];

/// Add [`LINKS`] to the creating operations' responses, each naming its target by its
/// (unique) operation id.
fn declare_links(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::link::LinkBuilder;
    let id_of = |doc: &utoipa::openapi::OpenApi, path: &str, method: &str| -> Option<String> {
        let item = doc.paths.paths.get(path)?;
        let op = match method {
            "get" => item.get.as_ref(),
            "post" => item.post.as_ref(),
            "put" => item.put.as_ref(),
            _ => None,
        }?;
        op.operation_id.clone()
    };
    for (path, source_method, status, links) in LINKS {
        let built: Vec<(String, RefOr<utoipa::openapi::link::Link>)> = links
            .iter()
            .filter_map(|(name, target, method, params, body)| {
                let mut link = LinkBuilder::new().operation_id(id_of(doc, target, method)?);
                for (p, expr) in *params {
                    link = link.parameter(*p, *expr);
                }
                let body = body.and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok());
                link = link.request_body(body);
                Some(((*name).to_string(), RefOr::T(link.build())))
            })
            .collect();
        let Some(item) = doc.paths.paths.get_mut(*path) else {
            continue;
        };
        let op = if *source_method == "get" {
            item.get.as_mut()
        } else {
            item.post.as_mut()
        };
        let Some(op) = op else {
            continue;
        };
        if let Some(RefOr::T(response)) = op.responses.responses.get_mut(*status) {
            response.links.extend(built);
        }
    }
}

/// The error statuses an operation can answer, by what it takes, each with the error envelope:
/// every call may be unauthenticated (401), refused by permission (403) or find the database
/// too busy (503); a call with parameters or a body may be malformed (400) or invalid (422); a
/// path naming a record may not find it (404); a body may be too large (413) or of another
/// type (415); a body carrying a `version` may be stale (409).
fn declare_error_statuses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, Schema};
    let bodies_with_version: Vec<String> = doc
        .components
        .as_ref()
        .map(|c| {
            c.schemas
                .iter()
                .filter(|(_, s)| {
                    matches!(s, RefOr::T(Schema::Object(o)) if o.properties.contains_key("version"))
                })
                .map(|(name, _)| format!("#/components/schemas/{name}"))
                .collect()
        })
        .unwrap_or_default();
    let envelope = |what: &str| {
        ResponseBuilder::new()
            .description(what)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for (path, item) in &mut doc.paths.paths {
        let names_a_record = path.contains('{');
        for op in operations_of_mut(item) {
            let body = op.request_body.as_ref();
            let versioned = body.is_some_and(|b| {
                b.content.values().any(|c| {
                    matches!(&c.schema, Some(RefOr::Ref(r)) if bodies_with_version.contains(&r.ref_location))
                })
            });
            let takes_input =
                body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let statuses = [
                (
                    "400",
                    takes_input,
                    "malformed: a parameter of the wrong type, or a body that is not JSON",
                ),
                ("401", true, "no valid API token"),
                ("403", true, "the token's permissions do not allow it"),
                (
                    "404",
                    names_a_record,
                    "no such record in the caller's scope",
                ),
                (
                    "409",
                    versioned,
                    "stale: the record changed since the version sent",
                ),
                ("413", body.is_some(), "the body is too large"),
                (
                    "415",
                    body.is_some(),
                    "the body is not of the type the operation takes",
                ),
                (
                    "422",
                    takes_input,
                    "invalid: `details` names each field and the reason",
                ),
                ("503", true, "the service is busy; try again"),
            ];
            for (code, applies, what) in statuses {
                if applies && !op.responses.responses.contains_key(code) {
                    op.responses
                        .responses
                        .insert(code.to_string(), RefOr::T(envelope(what)));
                }
            }
        }
    }
}

/// The codes of a domain enumeration, as the API writes them.
macro_rules! codes {
    ($t:ty) => {
        <$t>::ALL
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<&'static str>>()
    };
}

/// A schema's property (or a path's query parameter) and the codes it holds.
type Enumerated = (&'static str, &'static str, Vec<&'static str>);

/// Which properties of which response and body schemas, and which query parameters, hold a
/// code from a fixed list: each declared with its list (`enum`), taken from the domain's own
/// enumeration so the document cannot drift from what the server accepts and writes.
fn enumerations() -> (Vec<Enumerated>, Vec<Enumerated>) {
    use shiliu_domain::casework::{
        CaseStatus, DisputeKind, DisputeStatus, MediationOutcome, PartySide,
    };
    use shiliu_domain::dashboard::Measure;
    use shiliu_domain::evaluation::{CriterionKind, Level, Stage};
    use shiliu_domain::org::{RegionKind, SiteType};
    use shiliu_domain::registry::needs::{NeedKind, NeedStatus, ServiceKind, SurveyStatus};
    use shiliu_domain::registry::{
        AssistKind, AssistStatus, ConsentChannel, ConsentPurpose, Employment, PersonStatus,
        Relation,
    };
    use shiliu_domain::requests::questions::QuestionKind;
    use shiliu_domain::requests::{Action, Channel, Outcome, Rating, Status};
    use shiliu_domain::roles::Role;
    let properties = vec![
        ("RequestDto", "channel", codes!(Channel)),
        ("RequestDto", "status", codes!(Status)),
        ("RequestDto", "outcome", codes!(Outcome)),
        ("RequestDto", "rating", codes!(Rating)),
        (
            "RequestEventDto",
            "action",
            codes!(Action)
                .into_iter()
                .chain(shiliu_domain::requests::OTHER_EVENTS.iter().copied())
                .collect(),
        ),
        ("RequestEventDto", "from_status", codes!(Status)),
        ("RequestEventDto", "to_status", codes!(Status)),
        ("StepBody", "action", codes!(Action)),
        ("StepBody", "outcome", codes!(Outcome)),
        ("StepBody", "rating", codes!(Rating)),
        (
            "NewRequestBody",
            "channel",
            vec!["hotline", "grid", "walk_in"],
        ),
        ("QuestionDto", "kind", codes!(QuestionKind)),
        ("AssistBody", "kind", codes!(AssistKind)),
        ("AssistDto", "kind", codes!(AssistKind)),
        ("AssistDto", "status", codes!(AssistStatus)),
        ("CaseDto", "status", codes!(CaseStatus)),
        ("ConsentDto", "channel", codes!(ConsentChannel)),
        ("ConsentDto", "purpose", codes!(ConsentPurpose)),
        ("DisputeDto", "kind", codes!(DisputeKind)),
        ("DisputeDto", "outcome", codes!(MediationOutcome)),
        ("DisputeDto", "status", codes!(DisputeStatus)),
        ("NewDisputeBody", "kind", codes!(DisputeKind)),
        (
            "DisputeRecordBody",
            "outcome",
            blank_or(codes!(MediationOutcome)),
        ),
        ("DisputeRecordBody", "side", blank_or(codes!(PartySide))),
        ("PartyDto", "side", codes!(PartySide)),
        ("IndicatorDto", "kind", codes!(CriterionKind)),
        ("IndicatorDto", "level", codes!(Level)),
        ("SchemeDto", "stage", codes!(Stage)),
        ("TodoDto", "stage", codes!(Stage)),
        ("FigureDto", "measure", codes!(Measure)),
        ("MonthFigureDto", "measure", codes!(Measure)),
        ("BoardDto", "measure", codes!(Measure)),
        (
            "FlagDto",
            "kind",
            vec!["escalated", "overdue", "tasks_overdue", "findings_overdue"],
        ),
        ("EvaluationDto", "stage", codes!(Stage)),
        ("MeDto", "role", codes!(Role)),
        ("MemberDto", "relation", codes!(Relation)),
        ("PersonBody", "relation", blank_or(codes!(Relation))),
        ("PersonBody", "employment", blank_or(codes!(Employment))),
        ("PersonBody", "sex", vec!["male", "female", ""]),
        ("PersonDto", "relation", codes!(Relation)),
        ("PersonDto", "employment", codes!(Employment)),
        ("PersonDto", "status", codes!(PersonStatus)),
        ("PersonDto", "sex", vec!["male", "female"]),
        ("OutMigrantDto", "employment", codes!(Employment)),
        ("OutMigrantDto", "sex", vec!["male", "female"]),
        ("NeedBody", "kind", codes!(NeedKind)),
        ("NeedDto", "kind", codes!(NeedKind)),
        ("NeedDto", "status", codes!(NeedStatus)),
        ("ServiceBody", "kind", codes!(ServiceKind)),
        ("ServiceDto", "kind", codes!(ServiceKind)),
        ("SurveyDto", "status", codes!(SurveyStatus)),
        ("SurveyQuestionDto", "kind", codes!(QuestionKind)),
        ("RegionDto", "kind", codes!(RegionKind)),
        ("SiteDto", "site_type", codes!(SiteType)),
        ("MessageDto", "kind", codes!(shiliu_domain::messages::Kind)),
        ("CohandlerDto", "status", vec!["asked", "answered"]),
        (
            "PlanDto",
            "status",
            codes!(shiliu_domain::tasks::PlanStatus),
        ),
        ("TaskDto", "level", codes!(shiliu_domain::tasks::TaskLevel)),
        (
            "TaskDto",
            "recurrence",
            codes!(shiliu_domain::tasks::Recurrence),
        ),
        (
            "ReportDto",
            "status",
            codes!(shiliu_domain::tasks::ReportStatus),
        ),
        (
            "ReportEventDto",
            "action",
            codes!(shiliu_domain::tasks::ReportStatus),
        ),
        (
            "StandingDto",
            "progress",
            codes!(shiliu_domain::tasks::Progress),
        ),
        ("ReviewBody", "decision", vec!["confirm", "return"]),
        (
            "FindingDto",
            "status",
            codes!(shiliu_domain::tasks::inspections::FindingStatus),
        ),
        ("VerifyBody", "decision", vec!["close", "return"]),
        (
            "InstructionDto",
            "source",
            codes!(shiliu_domain::tasks::instructions::InstructionSource),
        ),
        (
            "InstructionBody",
            "source",
            codes!(shiliu_domain::tasks::instructions::InstructionSource),
        ),
        ("StatusBody", "status", vec!["active", "closed"]),
        (
            "InspectionDto",
            "kind",
            codes!(shiliu_domain::tasks::inspections::InspectionKind),
        ),
        (
            "InspectionBody",
            "inspection_kind",
            codes!(shiliu_domain::tasks::inspections::InspectionKind),
        ),
        (
            "RecordForm",
            "form",
            blank_or(codes!(shiliu_domain::activities::Form)),
        ),
        (
            "RecordForm",
            "venue",
            blank_or(codes!(shiliu_domain::activities::Venue)),
        ),
        (
            "ActivityDto",
            "form",
            codes!(shiliu_domain::activities::Form),
        ),
        (
            "ActivityDto",
            "venue",
            codes!(shiliu_domain::activities::Venue),
        ),
        (
            "TermDto",
            "list",
            codes!(shiliu_domain::activities::TermList),
        ),
        (
            "CouncilDto",
            "rhythm",
            codes!(shiliu_domain::councils::Rhythm),
        ),
        (
            "CouncilMemberDto",
            "role",
            codes!(shiliu_domain::councils::MemberRole),
        ),
        (
            "CouncilItemDto",
            "channel",
            codes!(shiliu_domain::councils::Channel),
        ),
        (
            "CouncilItemDto",
            "status",
            codes!(shiliu_domain::councils::ItemStatus),
        ),
        (
            "CouncilItemForm",
            "channel",
            vec!["in_person", "grid_worker"],
        ),
    ];
    let parameters = vec![
        ("/api/v1/requests", "status", codes!(Status)),
        ("/api/v1/requests", "channel", codes!(Channel)),
        (
            "/api/v1/requests",
            "queue",
            codes!(shiliu_db::requests::queues::Queue),
        ),
        (
            "/api/v1/requests",
            "sort",
            shiliu_db::requests::listing::SortBy::ALL
                .iter()
                .map(|s| s.as_str())
                .collect(),
        ),
        ("/api/v1/requests", "dir", vec!["asc", "desc"]),
        (
            "/api/v1/requests/stats",
            "by",
            codes!(shiliu_db::requests::stats::Dimension),
        ),
        ("/api/v1/disputes", "status", codes!(DisputeStatus)),
        ("/api/v1/legal-aid", "status", codes!(CaseStatus)),
        ("/api/v1/persons", "status", codes!(PersonStatus)),
        ("/api/v1/persons", "employment", codes!(Employment)),
        ("/api/v1/needs", "status", codes!(NeedStatus)),
        ("/api/v1/needs", "kind", codes!(NeedKind)),
        ("/api/v1/assists", "side", vec!["in", "out"]),
        ("/api/v1/assists", "status", codes!(AssistStatus)),
        ("/api/v1/dashboard", "measure", codes!(Measure)),
        (
            "/api/v1/activities",
            "form",
            codes!(shiliu_domain::activities::Form),
        ),
        (
            "/api/v1/activities",
            "venue",
            codes!(shiliu_domain::activities::Venue),
        ),
        (
            "/api/v1/activity-terms",
            "list",
            codes!(shiliu_domain::activities::TermList),
        ),
    ];
    (properties, parameters)
}

/// A body field that may be left empty ("not given"): its codes and `""`.
fn blank_or(mut codes: Vec<&'static str>) -> Vec<&'static str> {
    codes.push("");
    codes
}

/// Set each listed property's and parameter's `enum` (with `null` where it may be absent).
fn declare_enums(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{SchemaType, Type};
    use utoipa::openapi::{RefOr, Schema};
    let with_null = |o: &utoipa::openapi::schema::Object, codes: &[&str]| {
        let mut v: Vec<serde_json::Value> = codes.iter().map(|c| (*c).into()).collect();
        if matches!(&o.schema_type, SchemaType::Array(t) if t.contains(&Type::Null)) {
            v.push(serde_json::Value::Null);
        }
        v
    };
    let (properties, parameters) = enumerations();
    if let Some(components) = doc.components.as_mut() {
        for (schema, property, codes) in &properties {
            let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(*schema) else {
                continue;
            };
            if let Some(RefOr::T(Schema::Object(p))) = o.properties.get_mut(*property) {
                p.enum_values = Some(with_null(p, codes));
            }
        }
    }
    for (path, name, codes) in &parameters {
        let Some(item) = doc.paths.paths.get_mut(*path) else {
            continue;
        };
        let Some(get) = item.get.as_mut() else {
            continue;
        };
        for param in get.parameters.iter_mut().flatten() {
            if param.name == *name
                && let Some(RefOr::T(Schema::Object(o))) = param.schema.as_mut()
            {
                o.enum_values = Some(with_null(o, codes));
            }
        }
    }
}

/// A filter's value from a fixed list: absent or empty is no filter; a value the list does
/// not hold is refused (422 naming the field), never read as "no filter".
pub fn choice<T>(
    field: &str,
    value: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, crate::web::error::AppError> {
    match value.trim() {
        "" => Ok(None),
        v => parse(v).map(Some).ok_or_else(|| {
            shiliu_domain::FieldErrors::from(shiliu_domain::FieldError::new(field, "err.choice"))
                .into()
        }),
    }
}

/// A moment as the API writes it: RFC 3339 in China time with its offset
/// (`2026-12-05T20:06:41+08:00`), as the document's `date-time` promises; the database keeps
/// UTC without a zone. Every timestamp field of a response type names this.
pub fn moment<S: serde::Serializer>(t: &chrono::NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

/// [`moment`] for a timestamp that may be absent (`null`).
#[allow(clippy::ref_option)] // serde's `serialize_with` hands over `&Option<T>`.
pub fn moment_opt<S: serde::Serializer>(
    t: &Option<chrono::NaiveDateTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => moment(t, s),
        None => s.serialize_none(),
    }
}

/// A UTC moment as RFC 3339 in China time, with its offset.
pub fn rfc3339(t: chrono::NaiveDateTime) -> String {
    use chrono::TimeZone;
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    china
        .from_utc_datetime(&t)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

pub async fn openapi() -> Json<serde_json::Value> {
    Json(served(&document()))
}

/// The document as served. utoipa 5 writes a link's fields in snake case (`operation_id`);
/// the specification spells them `operationId`, `operationRef`, `requestBody`, and clients
/// that follow links read only those.
pub fn served(doc: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut v = serde_json::to_value(doc).unwrap_or_default();
    if let Some(paths) = v.get_mut("paths").and_then(|p| p.as_object_mut()) {
        let responses = paths
            .values_mut()
            .filter_map(|item| item.as_object_mut())
            .flat_map(|item| item.values_mut())
            .filter_map(|op| op.get_mut("responses").and_then(|r| r.as_object_mut()))
            .flat_map(|r| r.values_mut());
        for response in responses {
            let links = response
                .get_mut("links")
                .and_then(|l| l.as_object_mut())
                .into_iter()
                .flat_map(|l| l.values_mut())
                .filter_map(|link| link.as_object_mut());
            for link in links {
                for (snake, camel) in [
                    ("operation_id", "operationId"),
                    ("operation_ref", "operationRef"),
                    ("request_body", "requestBody"),
                ] {
                    if let Some(x) = link.remove(snake) {
                        link.insert(camel.to_string(), x);
                    }
                }
            }
        }
    }
    v
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

/// Split one extra row off a `PAGE + 1` query into the next-page cursor.
pub(crate) fn paginate<T>(mut items: Vec<T>, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
    let limit = crate::web::page::PAGE as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(&id)
    } else {
        None
    };
    (items, next)
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::get;
    crate::Routes::new(file!()).route("/api/v1/openapi.json", get(openapi))
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::{RefOr, Schema};

    /// No two modules give different schemas one name (the merged document would keep only
    /// the first); a type they share (the error body) is the same schema in each.
    #[test]
    fn no_two_modules_give_different_schemas_one_name() {
        let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        let mut twice = std::collections::BTreeSet::new();
        for part in super::parts() {
            for (name, schema) in part.components.iter().flat_map(|c| c.schemas.iter()) {
                let json = serde_json::to_string(schema).unwrap_or_default();
                if seen
                    .insert(name.clone(), json.clone())
                    .is_some_and(|first| first != json)
                {
                    twice.insert(name.clone());
                }
            }
        }
        assert!(twice.is_empty(), "different schemas of one name: {twice:?}");
    }

    /// Every property named like a code (`status`, `kind`, `channel`…) in every schema of the
    /// document declares its list, and every entry of the table names something that exists.
    #[test]
    fn every_code_property_declares_its_values() {
        let doc = super::document();
        let schemas = &doc.components.as_ref().unwrap().schemas;
        let code_like = [
            "status",
            "from_status",
            "to_status",
            "kind",
            "channel",
            "action",
            "outcome",
            "rating",
            "stage",
            "level",
            "side",
            "relation",
            "employment",
            "purpose",
            "role",
            "sex",
            "site_type",
        ];
        let mut missing = Vec::new();
        for (name, schema) in schemas {
            let RefOr::T(Schema::Object(o)) = schema else {
                continue;
            };
            for (prop, p) in &o.properties {
                if let RefOr::T(Schema::Object(p)) = p
                    && code_like.contains(&prop.as_str())
                    && p.enum_values.is_none()
                {
                    missing.push(format!("{name}.{prop}"));
                }
            }
        }
        assert!(missing.is_empty(), "no enum: {missing:?}");
        let (properties, parameters) = super::enumerations();
        for (schema, prop, _) in properties {
            let Some(RefOr::T(Schema::Object(o))) = schemas.get(schema) else {
                panic!("no schema {schema}");
            };
            assert!(o.properties.contains_key(prop), "no {schema}.{prop}");
        }
        for (path, name, _) in parameters {
            let get = doc.paths.paths[path].get.as_ref().unwrap();
            let p = get.parameters.iter().flatten().find(|p| p.name == name);
            assert!(p.is_some(), "no parameter {name} of {path}");
        }
    }

    /// A step on a request names a record, takes a versioned body: every error it can answer
    /// is declared; a list without a body or a record declares none of those it cannot.
    #[test]
    fn each_operation_declares_the_errors_it_can_answer() {
        let doc = super::document();
        let codes = |path: &str, post: bool| -> Vec<String> {
            let item = &doc.paths.paths[path];
            let op = if post {
                item.post.as_ref()
            } else {
                item.get.as_ref()
            };
            op.unwrap().responses.responses.keys().cloned().collect()
        };
        let step = codes("/api/v1/requests/{id}/steps", true);
        for code in [
            "400", "401", "403", "404", "409", "413", "415", "422", "503",
        ] {
            assert!(step.contains(&code.to_string()), "{code} in {step:?}");
        }
        let list = codes("/api/v1/requests", false);
        for code in ["400", "401", "403", "422", "503"] {
            assert!(list.contains(&code.to_string()), "{code} in {list:?}");
        }
        for code in ["404", "409", "415"] {
            assert!(!list.contains(&code.to_string()), "{code} in {list:?}");
        }
    }
    /// Every link's source answers with its status and every target exists, with the
    /// parameters the link fills in; operation ids are unique.
    #[test]
    fn links_lead_to_operations_that_exist_and_ids_are_unique() {
        let doc = super::document();
        for (path, method, status, links) in super::LINKS {
            let item = &doc.paths.paths[*path];
            let op = if *method == "get" {
                item.get.as_ref()
            } else {
                item.post.as_ref()
            };
            let op = op.unwrap_or_else(|| panic!("no {method} {path}"));
            let utoipa::openapi::RefOr::T(r) = &op.responses.responses[*status] else {
                panic!("{path} {status}");
            };
            assert_eq!(r.links.len(), links.len(), "{path}");
            for (name, target, method, params, body) in *links {
                if let Some(b) = body {
                    serde_json::from_str::<serde_json::Value>(b)
                        .unwrap_or_else(|e| panic!("{name}'s body: {e}"));
                }
                let item = &doc.paths.paths[*target];
                let op = match *method {
                    "get" => item.get.as_ref(),
                    "post" => item.post.as_ref(),
                    "put" => item.put.as_ref(),
                    _ => None,
                };
                let op = op.unwrap_or_else(|| panic!("{name}: no {method} {target}"));
                let declared: Vec<&str> = op
                    .parameters
                    .iter()
                    .flatten()
                    .map(|p| p.name.as_str())
                    .collect();
                for (p, _) in *params {
                    assert!(
                        declared.contains(p),
                        "{name}: {p} not a parameter of {target}"
                    );
                }
            }
        }
        let mut ids: Vec<String> = doc
            .paths
            .paths
            .values()
            .flat_map(super::operations_of)
            .filter_map(|op| op.operation_id.clone())
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "operation ids repeat");
    }

    /// Links are served in the specification's spelling.
    #[test]
    fn links_are_served_with_operation_id_in_camel_case() {
        let v = super::served(&super::document());
        let link =
            &v["paths"]["/api/v1/requests"]["post"]["responses"]["201"]["links"]["GetRequest"];
        assert_eq!(link["operationId"], "request_get", "{link}");
        assert!(link.get("operation_id").is_none(), "{link}");
    }
}
