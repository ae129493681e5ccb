//! The migrant registry as pages: the scoped list (a number typed in the search box is an
//! audited look-up), registering a person or a household member, a person's page (an audited
//! view; the whole ID number only on request, for roles that may see it, audited again),
//! corrections, moves and moving out.

use crate::web::xlsx::Cell;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::registry::{self as db, Correction, Household, OnDuplicate, Registration};
use shiliu_db::scope::grants;
use shiliu_db::{DbError, org as org_db};
use shiliu_domain::FieldErrors;
use shiliu_domain::id_number::IdNumber;
use shiliu_domain::registry::{
    ConsentChannel, ConsentPurpose, Employment, PersonForm, PersonInput, PersonStatus, PersonTag,
    Relation,
};
use shiliu_domain::roles::Permission;

use crate::web::error::AppResult;
use crate::web::i18n::T;
use crate::web::page::PAGE;
use crate::web::page::{Layout, Saved, options, render, render_form, show_minute};
use crate::web::pickers::{Picker, opens_a_level};
use crate::web::{AppState, Principal};
use shiliu_db::scope::Can;
use shiliu_db::scope::grants::EditRegistry;

pub(crate) fn people_name(code: &str) -> String {
    shiliu_domain::peoples::by_code(code).map_or_else(|| code.to_string(), |p| p.name.to_string())
}

pub(crate) fn place_name(code: &str) -> String {
    shiliu_domain::divisions::full_name(code).unwrap_or_else(|| code.to_string())
}

/// A filter's value when `ok` takes it (empty: no filter); else the field is refused in `errs`.
fn known(errs: &mut FieldErrors, field: &str, v: &str, ok: fn(&str) -> bool) -> Option<String> {
    match v.trim() {
        "" => None,
        v if ok(v) => Some(v.to_string()),
        _ => {
            errs.push(shiliu_domain::FieldError::new(field, "err.choice"));
            None
        }
    }
}

/// The filters the register and the home side's out-migrants share: a people's GB 3304 code,
/// a 户籍地 division-code prefix, an employment code; each refused in `errs` when it is not one.
pub(crate) fn person_filters(
    errs: &mut FieldErrors,
    people: &str,
    hukou: &str,
    employment: &str,
) -> (Option<String>, Option<String>, Option<String>) {
    (
        known(errs, "people", people, |v| {
            shiliu_domain::peoples::by_code(v).is_some()
        }),
        known(errs, "hukou", hukou, |v| {
            v.len() <= 12 && v.bytes().all(|b| b.is_ascii_digit())
        }),
        known(errs, "employment", employment, |v| {
            Employment::parse(v).is_some()
        }),
    )
}

/// The register's filters, as the list page and the API take them.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    people: String,
    #[serde(default)]
    hukou: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    employment: String,
    #[serde(default)]
    tag: String,
    pub(crate) before: Option<i64>,
    /// Back from a look-up by number that found nobody.
    not_found: Option<String>,
}

impl ListQuery {
    /// The filters; a value no choice holds (an unknown people's code, a 户籍地 prefix that
    /// is not digits, an unknown status) is refused naming its field.
    pub(crate) fn filter(&self) -> Result<db::PersonFilter, FieldErrors> {
        let mut errs = FieldErrors::new();
        let (people, hukou, employment) =
            person_filters(&mut errs, &self.people, &self.hukou, &self.employment);
        let status = known(&mut errs, "status", &self.status, |v| {
            PersonStatus::parse(v).is_some()
        });
        let tag = known(&mut errs, "tag", &self.tag, |v| {
            PersonTag::parse(v).is_some()
        });
        errs.into_result()?;
        Ok(db::PersonFilter {
            region_path: None,
            q: Some(self.q.trim().to_string()).filter(|s| !s.is_empty()),
            people,
            hukou,
            status: status.as_deref().and_then(PersonStatus::parse),
            employment,
            tag: tag.as_deref().and_then(PersonTag::parse),
        })
    }

    /// The filters as a query string, for the next page's link.
    fn query_string(&self) -> String {
        [
            ("q", &self.q),
            ("people", &self.people),
            ("hukou", &self.hukou),
            ("status", &self.status),
            ("employment", &self.employment),
            ("tag", &self.tag),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::web::urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

pub struct Row {
    pub id: i64,
    pub name: String,
    pub id_masked: String,
    pub sex: String,
    pub age: i32,
    pub people: String,
    pub hukou: String,
    pub address: String,
    pub status: String,
}

/// Age in whole years on `today`.
pub(crate) fn age(birth: chrono::NaiveDate, today: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    let mut age = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

fn row(p: &db::Person, t: T, today: chrono::NaiveDate) -> Row {
    Row {
        id: p.id,
        name: p.name.clone(),
        id_masked: p.id_masked.clone().unwrap_or_default(),
        sex: t.label("sex", &p.sex),
        age: age(p.birth_date, today),
        people: people_name(&p.people),
        hukou: place_name(&p.hukou),
        address: p.address.clone(),
        status: t.label("person_status", &p.status),
    }
}

/// The list's heading counts matches up to this many (see `registry::count_up_to`).
const COUNT_CAP: i64 = 1_000;

#[derive(Template)]
#[template(path = "registry/registry.html")]
struct ListPage {
    l: Layout,
    q: ListQuery,
    count_line: String,
    rows: Vec<Row>,
    next: Option<String>,
    peoples: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
    employments: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    can_edit: bool,
    /// A number was looked up and nobody in scope has it.
    not_found: bool,
    csrf: String,
    /// Declarations waiting in the reader's area, for those who verify them.
    pending: Option<i64>,
    /// The filters as a query string (for the export links).
    query: String,
    can_reveal: bool,
    can_see_out: bool,
    can_import: bool,
    /// Requests for assistance waiting for the reader's area to reply.
    assists_waiting: Option<i64>,
    /// The 户籍地 filter, by name.
    hukou: Picker,
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let t = p.t();
    let not_found = q.not_found.is_some();
    let f = q.filter()?;
    let before = q.before;
    let (total, rows) = state
        .db
        .write(move |c| {
            Ok((
                db::count_up_to(c, actor.scope(), &f, COUNT_CAP)?,
                db::list(c, &actor, &f, before, PAGE + 1)?,
            ))
        })
        .await?;
    let pending = if let Ok(editor) = p.require::<grants::EditRegistry>() {
        Some(crate::registry::declare::pending_count(&state, editor.scope().clone()).await?)
    } else {
        None
    };
    let assists_waiting = if let Ok(exchanger) = p.require::<grants::ExchangeAssists>() {
        let scope = exchanger.scope().clone();
        let today = shiliu_db::today();
        Some(
            state
                .db
                .read(move |c| shiliu_db::registry::linkage::waiting(c, &scope, today))
                .await?
                .0,
        )
    } else {
        None
    };
    let next = (rows.len() as i64 > PAGE).then(|| {
        let qs = q.query_string();
        let sep = if qs.is_empty() { "" } else { "&" };
        format!("/registry?{qs}{sep}before={}", rows[PAGE as usize - 1].id)
    });
    let today = shiliu_db::today();
    let page = ListPage {
        l: Layout::new(&p, "nav.registry", t.s("registry.title")),
        count_line: if total > COUNT_CAP {
            t.f("registry.count_more", &[("n", &COUNT_CAP.to_string())])
        } else {
            t.f("registry.count", &[("n", &total.to_string())])
        },
        rows: rows
            .iter()
            .take(PAGE as usize)
            .map(|r| row(r, t, today))
            .collect(),
        next,
        peoples: crate::web::page::people_options(),
        statuses: options(PersonStatus::ALL, PersonStatus::as_str, "person_status", t),
        employments: options(Employment::ALL, Employment::as_str, "employment", t),
        tags: options(PersonTag::ALL, PersonTag::as_str, "person_tag", t),
        can_edit: p.can(Permission::EditRegistry),
        not_found,
        csrf: p.csrf().to_string(),
        pending,
        query: q.query_string(),
        can_reveal: p.can(Permission::RevealIdNumbers),
        can_see_out: p.can(Permission::ViewOutMigrants),
        can_import: p.can(Permission::ImportRegistry),
        assists_waiting,
        hukou: Picker::new("hukou-filter", "hukou", t.s("field.hukou"))
            .selected(q.hukou.clone())
            .divisions(t),
        q,
    };
    render(&page)
}

/// Rows an export holds at most (a filtered list narrows a larger register).
const EXPORT_MAX: i64 = 50_000;

#[derive(Deserialize, Default)]
pub struct ExportQuery {
    #[serde(flatten)]
    list: ListQuery,
    /// Whole ID numbers and mobile numbers, for roles that may see them.
    whole: Option<String>,
}

/// The filtered register as Excel: ID and mobile numbers masked unless the reader's role may
/// see them whole and asks for it; the export is audited either way.
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let whole = if q.whole.is_some() {
        Some(p.require::<grants::RevealIdNumbers>()?)
    } else {
        None
    };
    let t = p.t();
    let f = q.list.filter()?;
    let vault = state.config.vault.clone();
    let rows = state
        .db
        .write({
            let whole = whole.clone();
            move |c| db::export(c, &actor, &vault, &f, whole.as_ref(), EXPORT_MAX)
        })
        .await?;
    let ids: Vec<i64> = rows.iter().map(|(p, _)| p.region_id).collect();
    let regions = state
        .db
        .read(move |c| org_db::region_names(c, &ids))
        .await?;
    let headers: Vec<String> = [
        "field.person_name",
        "field.id_number",
        "field.sex",
        "field.birth_date",
        "field.people",
        "field.mobile",
        "field.hukou",
        "field.region",
        "field.address",
        "field.arrived_on",
        "field.employment",
        "field.occupation",
        "field.employer",
        "field.status",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    let lines: Vec<Vec<Cell>> = rows
        .iter()
        .map(|(x, number)| {
            let mobile = x.mobile.as_deref().map_or_else(String::new, |m| {
                if whole.is_some() {
                    m.to_string()
                } else {
                    shiliu_domain::mobile::Mobile::parse(m)
                        .map_or_else(|_| String::new(), |m| m.masked())
                }
            });
            vec![
                Cell::from(&x.name),
                Cell::from(number.as_ref().map_or_else(
                    || x.id_masked.clone().unwrap_or_default(),
                    |n| n.as_str().to_string(),
                )),
                Cell::from(t.label("sex", &x.sex)),
                Cell::Date(x.birth_date),
                Cell::from(people_name(&x.people)),
                Cell::from(mobile),
                Cell::from(place_name(&x.hukou)),
                Cell::from(regions.get(&x.region_id).cloned()),
                Cell::from(&x.address),
                Cell::from(x.arrived_on),
                Cell::from(x.employment.as_deref().map(|e| t.label("employment", e))),
                Cell::from(x.occupation.clone()),
                Cell::from(x.employer.clone()),
                Cell::from(t.label("person_status", &x.status)),
            ]
        })
        .collect();
    Ok(crate::web::xlsx::download(
        &format!("{}.xlsx", t.s("registry.title")),
        crate::web::xlsx::sheet(t.s("registry.title"), &headers, &lines)?,
    ))
}

/// The registration form as submitted: a person's fields, where they live, their household
/// and what they agreed to.
#[derive(Default)]
pub struct RegisterForm {
    pub person: PersonForm,
    pub region_code: String,
    /// Joining an existing household (from a member's page), with the relation to its head.
    pub household_id: String,
    pub relation: String,
    pub consents: Vec<String>,
    pub version: i32,
    pub moved_on: String,
}

impl RegisterForm {
    /// Read the form's fields; repeated ones (tags, consents) are why this is not serde's.
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            if f.person.set(&k, v.clone()) {
                continue;
            }
            match k.as_str() {
                "region_code" => f.region_code = v,
                "household_id" => f.household_id = v,
                "relation" => f.relation = v,
                "consents" => f.consents.push(v),
                "version" => f.version = v.parse().unwrap_or(0),
                "moved_on" => f.moved_on = v,
                _ => {}
            }
        }
        f
    }

    fn from_person(p: &db::Person, tags: &[PersonTag], region_code: String) -> Self {
        Self {
            person: PersonForm {
                name: p.name.clone(),
                // The number is kept unless a new one is typed (it is never put in a page).
                id_number: String::new(),
                sex: p.sex.clone(),
                birth_date: p.birth_date.format("%Y-%m-%d").to_string(),
                people: p.people.clone(),
                mobile: p.mobile.clone().unwrap_or_default(),
                hukou: p.hukou.clone(),
                address: p.address.clone(),
                arrived_on: p
                    .arrived_on
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                occupation: p.occupation.clone().unwrap_or_default(),
                employer: p.employer.clone().unwrap_or_default(),
                employment: p.employment.clone().unwrap_or_default(),
                tags: tags.iter().map(|t| t.as_str().to_string()).collect(),
            },
            region_code,
            version: p.version,
            ..Self::default()
        }
    }

    fn consents(&self) -> Vec<(ConsentPurpose, ConsentChannel)> {
        ConsentPurpose::ALL
            .iter()
            .filter(|c| self.consents.iter().any(|x| x == c.as_str()))
            .map(|c| (*c, ConsentChannel::Staff))
            .collect()
    }
}

#[derive(Template)]
#[template(path = "registry/person_form.html")]
struct FormPage {
    l: Layout,
    action: String,
    d: RegisterForm,
    editing: bool,
    /// The masked number on file, when editing.
    id_masked: String,
    grids: Vec<(String, String)>,
    peoples: Vec<(String, String)>,
    employments: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    relations: Vec<(String, String)>,
    consents: Vec<(String, String)>,
    today: String,
    errors: Vec<(String, String)>,
    /// 户籍地, by name.
    hukou: Picker,
    /// Where the person lives, for staff not scoped to grids: the regions in scope.
    regions: Picker,
}

async fn form_page(
    state: &AppState,
    p: &Principal,
    d: RegisterForm,
    editing: Option<(i64, String)>,
    errs: &FieldErrors,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let t = p.t();
    let grid_worker = p.role().scoped_to_grids();
    let code = d.region_code.clone();
    let (grids, around) = state
        .db
        .read(move |c| {
            if grid_worker {
                return Ok((org_db::scope_roots(c, actor.scope())?, Vec::new()));
            }
            Ok((
                Vec::new(),
                org_db::choices_around_code(c, actor.scope(), &code)?,
            ))
        })
        .await?;
    let (action, title, id_masked) = match &editing {
        Some((id, masked)) => (
            format!("/registry/{id}"),
            t.s("registry.edit"),
            masked.clone(),
        ),
        None => ("/registry".to_string(), t.s("registry.new"), String::new()),
    };
    let page = FormPage {
        l: Layout::new(p, "nav.registry", title),
        action,
        editing: editing.is_some(),
        id_masked,
        grids: grids.into_iter().map(|g| (g.code, g.name)).collect(),
        peoples: crate::web::page::people_options(),
        employments: options(Employment::ALL, Employment::as_str, "employment", t),
        tags: options(PersonTag::ALL, PersonTag::as_str, "person_tag", t),
        relations: options(&Relation::ALL[1..], Relation::as_str, "relation", t),
        consents: options(
            ConsentPurpose::ALL,
            ConsentPurpose::as_str,
            "consent_purpose",
            t,
        ),
        today: shiliu_db::today().format("%Y-%m-%d").to_string(),
        errors: t.field_errors_as(errs, &[("region_id", "region"), ("name", "person_name")]),
        hukou: Picker::new("hukou", "hukou", t.s("field.hukou"))
            .selected(d.person.hukou.clone())
            .blank(t.s("registry.hukou_from_id"))
            .divisions(t),
        regions: Picker::new("region", "region_code", t.s("field.region"))
            .selected(d.region_code.clone())
            .required()
            .regions(around, t),
        d,
    };
    render_form(&page, !errs.is_empty())
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    /// Add a member to this household.
    household: Option<i64>,
}

pub async fn new(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    let mut d = RegisterForm {
        consents: vec![ConsentPurpose::Registration.as_str().to_string()],
        ..RegisterForm::default()
    };
    if let Some(h) = q.household {
        d.household_id = h.to_string();
        d.relation = Relation::Child.as_str().to_string();
    }
    form_page(&state, &p, d, None, &FieldErrors::new()).await
}

/// Check a registration and write it: the one path of the page, the API and (with
/// `OnDuplicate::Update`) confirmed declarations. Field errors come back as `DbError::Invalid`.
pub(crate) async fn register(
    state: &AppState,
    actor: Can<EditRegistry>,
    d: &RegisterForm,
    on_duplicate: OnDuplicate,
) -> Result<db::Registered, DbError> {
    let mut errs = FieldErrors::new();
    let input = match PersonInput::parse(&d.person, shiliu_db::today()) {
        Ok(i) => Some(i),
        Err(e) => {
            errs.0.extend(e.0);
            None
        }
    };
    if d.region_code.trim().is_empty() {
        errs.push(shiliu_domain::FieldError::new(
            "region_code",
            "err.required",
        ));
    }
    let household = if d.household_id.trim().is_empty() {
        Some(Household::New)
    } else {
        match (
            d.household_id.trim().parse(),
            Relation::parse(d.relation.trim()),
        ) {
            (Ok(household_id), Some(relation)) if relation != Relation::Head => {
                Some(Household::Join {
                    household_id,
                    relation,
                })
            }
            _ => {
                errs.push(shiliu_domain::FieldError::new("relation", "err.choice"));
                None
            }
        }
    };
    let consents = d.consents();
    if !consents
        .iter()
        .any(|(c, _)| *c == ConsentPurpose::Registration)
    {
        errs.push(shiliu_domain::FieldError::new(
            "consent",
            "err.person.consent",
        ));
    }
    let (Some(input), Some(household), true) = (input, household, errs.is_empty()) else {
        return Err(DbError::Invalid(errs));
    };
    let code = d.region_code.trim().to_string();
    let vault = state.config.vault.clone();
    state
        .db
        .write(move |c| {
            let region_id = org_db::region_id_by_code(c, actor.scope(), &code, "region_id")?;
            let r = Registration {
                person: &input,
                region_id,
                household,
                consents: &consents,
                on_duplicate,
            };
            db::register(c, &actor, &vault, &r)
        })
        .await
}

/// 登记: a new person (or a new member of a household).
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let opening = opens_a_level(&pairs);
    let d = RegisterForm::from_pairs(pairs);
    if opening {
        return form_page(&state, &p, d, None, &FieldErrors::new()).await;
    }
    match register(&state, actor, &d, OnDuplicate::Refuse).await {
        Ok(r) => Ok(Redirect::to(&format!("/registry/{}?saved=1", r.person().id)).into_response()),
        Err(DbError::Invalid(e)) => form_page(&state, &p, d, None, &e).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct LookupForm {
    #[serde(default)]
    id_number: String,
}

/// 按身份证号码查找: posted, so the number never sits in an address or a log line; audited
/// when it finds someone.
pub async fn lookup(
    State(state): State<AppState>,
    p: Principal,
    Form(f): Form<LookupForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let number = IdNumber::parse(&f.id_number).map_err(FieldErrors::from)?;
    let vault = state.config.vault.clone();
    let found = state
        .db
        .write(move |c| db::find_by_id_number(c, &actor, &vault, &number))
        .await?;
    Ok(match found {
        Some(person) => Redirect::to(&format!("/registry/{}", person.id)).into_response(),
        None => Redirect::to("/registry?not_found=1").into_response(),
    })
}

#[derive(Template)]
#[template(path = "registry/person.html")]
struct PersonPage {
    l: Layout,
    p: db::Person,
    facts: Vec<(String, String)>,
    /// The whole number, shown once on request.
    revealed: Option<String>,
    can_reveal: bool,
    can_edit: bool,
    /// May ask the person's home county for assistance (协查 / 协助).
    can_ask: bool,
    moved_out: bool,
    members: Vec<(i64, String, String, bool)>,
    residences: Vec<(String, String, String)>,
    consents: Vec<(String, String, String, String)>,
    today: String,
    errors: Vec<(String, String)>,
    needs: Vec<crate::registry::needs::pages::NeedLine>,
    services: Vec<crate::registry::needs::pages::ServiceLine>,
    service_kinds: Vec<(String, String)>,
}

pub(crate) async fn person_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    reveal: bool,
    errs: &FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    said_person_page(state, p, id, reveal, errs, saved, None).await
}

/// The person's page; `done`: the step that just led here (a declaration verified), said
/// with the person's name.
async fn said_person_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    reveal: bool,
    errs: &FieldErrors,
    saved: bool,
    done: Option<&str>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRegistry>()?;
    let reveal = if reveal {
        Some(p.require::<grants::RevealIdNumbers>()?)
    } else {
        None
    };
    let t = p.t();
    let vault = state.config.vault.clone();
    let (person, revealed, tags, members, homes, consents, regions, (needs, services)) = state
        .db
        .write(move |c| {
            let person = db::view(c, &actor, id)?;
            let revealed = match &reveal {
                Some(can) => db::reveal_id_number(c, can, &vault, id)?,
                None => None,
            };
            let members = match person.household_id {
                Some(h) => db::household_members(c, actor.scope(), h)?,
                None => Vec::new(),
            };
            let homes = db::residences_of(c, actor.scope(), id)?;
            let ids: Vec<i64> = homes.iter().map(|h| h.region_id).collect();
            let regions = org_db::region_names(c, &ids)?;
            let tags = db::tags_of(c, &person)?;
            let consents = db::consents_of(c, &person)?;
            Ok((
                person,
                revealed,
                tags,
                members,
                homes,
                consents,
                regions,
                (
                    db::needs::needs_of(c, actor.scope(), id)?,
                    db::needs::services_of(c, actor.scope(), id)?,
                ),
            ))
        })
        .await?;
    let (need_rows, service_rows) =
        crate::registry::needs::pages::person_rows(t, &needs, &services);
    let region = |rid: i64| regions.get(&rid).cloned().unwrap_or_default();
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    let facts = vec![
        (t.s("field.id_number").to_string(), opt(&person.id_masked)),
        (t.s("field.sex").to_string(), t.label("sex", &person.sex)),
        (t.s("field.birth_date").to_string(), day(person.birth_date)),
        (t.s("field.people").to_string(), people_name(&person.people)),
        (t.s("field.mobile").to_string(), opt(&person.mobile)),
        (t.s("field.hukou").to_string(), place_name(&person.hukou)),
        (t.s("field.region").to_string(), region(person.region_id)),
        (t.s("field.address").to_string(), person.address.clone()),
        (
            t.s("field.arrived_on").to_string(),
            person.arrived_on.map(day).unwrap_or_default(),
        ),
        (
            t.s("field.employment").to_string(),
            person
                .employment
                .as_deref()
                .map(|e| t.label("employment", e))
                .unwrap_or_default(),
        ),
        (t.s("field.occupation").to_string(), opt(&person.occupation)),
        (t.s("field.employer").to_string(), opt(&person.employer)),
        (
            t.s("field.tags").to_string(),
            tags.iter()
                .map(|x| t.label("person_tag", x.as_str()))
                .collect::<Vec<_>>()
                .join("、"),
        ),
        (
            t.s("field.status").to_string(),
            t.label("person_status", &person.status),
        ),
    ];
    let page = PersonPage {
        l: Layout::new(p, "nav.registry", &person.name)
            .flash(saved)
            .said(done.map(|d| t.f(&format!("done.{d}"), &[("name", &person.name)]))),
        facts,
        revealed: revealed.map(|n| n.as_str().to_string()),
        can_reveal: p.can(Permission::RevealIdNumbers) && person.id_masked.is_some(),
        can_edit: p.can(Permission::EditRegistry),
        can_ask: p.can(Permission::ExchangeAssists),
        moved_out: person.status == PersonStatus::MovedOut.as_str(),
        members: members
            .iter()
            .map(|m| {
                (
                    m.id,
                    m.name.clone(),
                    m.relation
                        .as_deref()
                        .map(|r| t.label("relation", r))
                        .unwrap_or_default(),
                    m.id == person.id,
                )
            })
            .collect(),
        residences: homes
            .iter()
            .map(|h| {
                (
                    format!("{} {}", region(h.region_id), h.address),
                    day(h.from_date),
                    h.to_date.map(day).unwrap_or_default(),
                )
            })
            .collect(),
        consents: consents
            .iter()
            .map(|c| {
                (
                    t.label("consent_purpose", &c.purpose),
                    t.label("consent_channel", &c.channel),
                    show_minute(c.given_at),
                    c.withdrawn_at.map(show_minute).unwrap_or_default(),
                )
            })
            .collect(),
        today: shiliu_db::today().format("%Y-%m-%d").to_string(),
        // The service form's `kind` is the service's.
        errors: t.field_errors_as(errs, &[("kind", "service_kind")]),
        needs: need_rows,
        services: service_rows,
        service_kinds: options(
            shiliu_domain::registry::needs::ServiceKind::ALL,
            shiliu_domain::registry::needs::ServiceKind::as_str,
            "service_kind",
            t,
        ),
        p: person,
    };
    Ok(no_store(render_form(&page, !errs.is_empty())?))
}

/// A page of personal data: never kept by a browser's or a proxy's cache.
pub(crate) fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    r
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    let done = s.done(&["declaration_confirmed"]);
    said_person_page(&state, &p, id, false, &FieldErrors::new(), s.yes(), done).await
}

/// 查看完整证件号码: the person's page with the whole number, audited.
pub async fn reveal(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    person_page(&state, &p, id, true, &FieldErrors::new(), false).await
}

pub async fn edit(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let (person, tags, code) = state
        .db
        .read(move |c| {
            let person = db::get(c, actor.scope(), id)?;
            let region = org_db::get_region(c, actor.scope(), person.region_id)?;
            let tags = db::tags_of(c, &person)?;
            Ok((person, tags, region.code))
        })
        .await?;
    let masked = person.id_masked.clone().unwrap_or_default();
    let d = RegisterForm::from_person(&person, &tags, code);
    form_page(&state, &p, d, Some((id, masked)), &FieldErrors::new()).await
}

/// Check a correction and write it (the page's and the API's one path).
pub(crate) async fn correct(
    state: &AppState,
    actor: Can<EditRegistry>,
    id: i64,
    d: &RegisterForm,
) -> Result<db::Person, DbError> {
    let today = shiliu_db::today();
    let mut errs = FieldErrors::new();
    // A blank number keeps the number on file (see `registry::update`).
    let input = match PersonInput::parse(&d.person, today) {
        Ok(i) => Some(i),
        Err(e) => {
            errs.0.extend(e.0);
            None
        }
    };
    let moved_on = if d.moved_on.trim().is_empty() {
        Some(today)
    } else {
        errs.check(shiliu_domain::error::past_day(
            "moved_on",
            &d.moved_on,
            today,
        ))
    };
    if d.region_code.trim().is_empty() {
        errs.push(shiliu_domain::FieldError::new(
            "region_code",
            "err.required",
        ));
    }
    let (Some(input), Some(moved_on), true) = (input, moved_on, errs.is_empty()) else {
        return Err(DbError::Invalid(errs));
    };
    let code = d.region_code.trim().to_string();
    let version = d.version;
    let vault = state.config.vault.clone();
    state
        .db
        .write(move |c| {
            let region_id = org_db::region_id_by_code(c, actor.scope(), &code, "region_id")?;
            db::update(
                c,
                &actor,
                &vault,
                &Correction {
                    id,
                    version,
                    person: &input,
                    region_id,
                    moved_on,
                },
            )
        })
        .await
}

/// 更正 / 迁居: a correction; a new grid or address is a move on `moved_on`.
pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let opening = opens_a_level(&pairs);
    let d = RegisterForm::from_pairs(pairs);
    let scope = actor.scope().clone();
    if opening {
        return edit_again(&state, &p, (id, scope), d, &FieldErrors::new()).await;
    }
    match correct(&state, actor, id, &d).await {
        Ok(_) => Ok(Redirect::to(&format!("/registry/{id}?saved=1")).into_response()),
        Err(DbError::Invalid(e)) => edit_again(&state, &p, (id, scope), d, &e).await,
        Err(e) => Err(e.into()),
    }
}

/// The correction form again, as it was sent: with the level below a pick open, or with its
/// errors.
async fn edit_again(
    state: &AppState,
    p: &Principal,
    (id, scope): (i64, shiliu_db::scope::Scope),
    d: RegisterForm,
    errs: &FieldErrors,
) -> AppResult<Response> {
    let masked = state
        .db
        .read(move |c| Ok(db::get(c, &scope, id)?.id_masked.unwrap_or_default()))
        .await?;
    form_page(state, p, d, Some((id, masked)), errs).await
}

#[derive(Deserialize, Default)]
pub struct MoveOutForm {
    #[serde(default)]
    version: i32,
    #[serde(default)]
    moved_on: String,
}

/// 迁出: the person left the area on the given day.
pub async fn move_out(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<MoveOutForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let on = match shiliu_domain::error::past_day("moved_on", &f.moved_on, shiliu_db::today()) {
        Ok(d) => d,
        Err(e) => return person_page(&state, &p, id, false, &e.into(), false).await,
    };
    let result = state
        .db
        .write(move |c| db::move_out(c, &actor, id, f.version, on))
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/registry/{id}?saved=1")).into_response()),
        Err(DbError::Invalid(e)) => person_page(&state, &p, id, false, &e, false).await,
        Err(e) => Err(e.into()),
    }
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/registry", get(list).post(create))
        .route("/registry/new", get(new))
        .route("/registry/lookup", post(lookup))
        .route("/registry/export.xlsx", get(export))
        .route("/registry/{id}", get(show).post(update))
        .route("/registry/{id}/edit", get(edit))
        .route("/registry/{id}/reveal", post(reveal))
        .route("/registry/{id}/move-out", post(move_out))
}
