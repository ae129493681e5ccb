//! Self-declaration of residence (自主申报, 居住登记) and its verification (核验).
//!
//! Public, without an account: `/d` picks the place down to the grid, takes the household (the
//! declarant and up to [`MAX_MEMBERS`] members) with consent, and returns a code; `/d/{code}`
//! shows where it stands and, if it was turned back, why. Staff: `/registry/declarations` is
//! the queue of the reader's grids or area; a declaration's page confirms it — corrected where
//! needed — into the register, or turns it back with a reason.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::DbError;
use shiliu_db::org::{self as org_db, Region};
use shiliu_db::registry::OnRegister;
use shiliu_db::registry::declarations as db;
use shiliu_db::scope::Scope;
use shiliu_db::scope::grants;
use shiliu_domain::org::RegionKind;
use shiliu_domain::registry::{
    ConsentPurpose, DeclarationStatus, Employment, MAX_MEMBERS, PersonForm, PersonInput, Relation,
};
use shiliu_domain::{FieldError, FieldErrors};

use crate::requests::public::{PublicLimit, form_token, over_limit, resident, with_token};
use crate::web::error::AppResult;
use crate::web::i18n::T;
use crate::web::page::{Layout, Saved, options, render, render_form, show_minute};
use crate::web::pickers::{Picker, opens_a_level};
use crate::web::{AppState, Ctx, Principal};

/// Member rows the public form offers (blank rows are ignored).
const MEMBER_ROWS: usize = 4;

/// The people of a submitted form, by the `p{i}.` prefix of their fields: `p0` is the
/// declarant. Repeated fields (`tags`) and the `consents` are why this reads pairs.
fn people_from(pairs: &[(String, String)]) -> (Vec<(PersonForm, String)>, Vec<String>) {
    let mut people: Vec<(PersonForm, String)> = vec![Default::default(); MAX_MEMBERS + 1];
    let mut consents = Vec::new();
    for (k, v) in pairs {
        if k == "consents" {
            consents.push(v.clone());
            continue;
        }
        let Some((i, field)) = k
            .strip_prefix('p')
            .and_then(|r| r.split_once('.'))
            .and_then(|(i, f)| Some((i.parse::<usize>().ok()?, f)))
            .filter(|(i, _)| *i <= MAX_MEMBERS)
        else {
            continue;
        };
        let (p, relation) = &mut people[i];
        if field == "relation" {
            relation.clone_from(v);
        } else {
            p.set(field, v.clone());
        }
    }
    (people, consents)
}

fn is_blank(p: &PersonForm) -> bool {
    p.name.trim().is_empty() && p.id_number.trim().is_empty()
}

/// A field error's label: the person it concerns, then the field (the place is the form's
/// `region_code`, though the database reports the `region_id` it resolved to).
fn labelled(errs: &FieldErrors, t: T) -> Vec<(String, String)> {
    errs.0
        .iter()
        .map(|e| {
            let label = match e
                .field
                .strip_prefix('p')
                .and_then(|r| r.split_once('.'))
                .and_then(|(i, f)| Some((i.parse::<usize>().ok()?, f)))
            {
                Some((0, f)) => format!("{} · {}", t.s("declare.declarant"), t.field(f)),
                Some((i, f)) => format!(
                    "{} · {}",
                    t.f("declare.member_n", &[("n", &i.to_string())]),
                    t.field(f)
                ),
                None if e.field == "region_id" => t.field("region_code"),
                None => t.field(&e.field),
            };
            (label, t.field_error(e))
        })
        .collect()
}

#[derive(Template)]
#[template(path = "registry/declare_pick.html")]
struct PickPage {
    l: Layout,
    crumbs: Vec<String>,
    here: Option<(i64, String)>,
    children: Vec<(i64, String)>,
}

#[derive(Deserialize, Default)]
pub struct PickQuery {
    region: Option<i64>,
    here: Option<String>,
    /// From a site's poster: the form opens at that site's place.
    site: Option<i64>,
}

/// Where one declares: a community, or a township without communities below it. Residents
/// are not asked for their grid (nothing they know); staff place the household in its grid
/// when they confirm the declaration.
fn is_final(r: &Region, children: &[Region]) -> bool {
    match r.kind() {
        RegionKind::Grid | RegionKind::Community => true,
        RegionKind::Township => children.is_empty(),
        _ => false,
    }
}

pub async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PickQuery>,
) -> AppResult<Response> {
    let t = ctx.t;
    if let Some(site) = q.site
        && let Some((region, _)) = crate::requests::public::site_place(&state, site).await?
    {
        let from = [("site".to_string(), site.to_string())];
        return form(
            &state,
            &ctx,
            region,
            &from,
            &FieldErrors::new(),
            StatusCode::OK,
        )
        .await;
    }
    let (current, mut children, crumbs) =
        crate::requests::public::picking(&state, q.region).await?;
    children.retain(|r| r.kind() != RegionKind::Grid);
    if let Some(r) = current
        .as_ref()
        .filter(|r| q.here.is_some() && r.kind() == RegionKind::Township || is_final(r, &children))
    {
        return form(&state, &ctx, r.id, &[], &FieldErrors::new(), StatusCode::OK).await;
    }
    let here = current
        .filter(|r| {
            r.kind() == RegionKind::Township
                && children.iter().all(|c| c.kind() == RegionKind::Community)
        })
        .map(|r| (r.id, t.f("public.here", &[("name", &r.name)])));
    render(&PickPage {
        l: Layout::anonymous(&ctx, t.s("declare.title")),
        crumbs,
        here,
        children: children.into_iter().map(|r| (r.id, r.name)).collect(),
    })
}

#[derive(Template)]
#[template(path = "registry/declare_new.html")]
struct NewPage {
    l: Layout,
    csrf: String,
    region: i64,
    /// The site whose poster the resident scanned, carried through an error.
    site: Option<i64>,
    place: String,
    d: Vec<(PersonForm, String)>,
    consents: Vec<String>,
    peoples: Vec<(String, String)>,
    employments: Vec<(String, String)>,
    relations: Vec<(String, String)>,
    purposes: Vec<(String, String)>,
    members: Vec<usize>,
    errors: Vec<(String, String)>,
    /// The declarant's 户籍地, by name.
    hukou: Picker,
}

async fn form(
    state: &AppState,
    ctx: &Ctx,
    region: i64,
    pairs: &[(String, String)],
    errs: &FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let t = ctx.t;
    let site = pairs
        .iter()
        .find(|(k, _)| k == "site")
        .and_then(|(_, v)| v.parse::<i64>().ok());
    let from_poster = match site {
        Some(site) => crate::requests::public::site_place(state, site)
            .await?
            .filter(|(r, _)| *r == region),
        None => None,
    };
    let place = match from_poster {
        Some((_, place)) => place,
        None => crate::requests::public::place_name(state, region).await?,
    };
    let (d, mut consents) = people_from(pairs);
    if pairs.iter().all(|(k, _)| k == "site") {
        consents.push(ConsentPurpose::Registration.as_str().to_string());
    }
    let (token, set) = form_token(ctx);
    let hukou = Picker::new("hukou", "p0.hukou", t.s("field.hukou"))
        .selected(
            d.first()
                .map(|(me, _)| me.hukou.clone())
                .unwrap_or_default(),
        )
        .blank(t.s("registry.hukou_from_id"))
        .divisions(t);
    let page = NewPage {
        l: Layout::anonymous(ctx, t.s("declare.title")),
        csrf: token.clone(),
        region,
        site,
        place,
        hukou,
        d,
        consents,
        peoples: crate::web::page::people_options(),
        employments: options(Employment::ALL, Employment::as_str, "employment", t),
        relations: options(&Relation::ALL[1..], Relation::as_str, "relation", t),
        purposes: options(
            ConsentPurpose::ALL,
            ConsentPurpose::as_str,
            "consent_purpose",
            t,
        ),
        members: (1..=MEMBER_ROWS).collect(),
        errors: labelled(errs, t),
    };
    let mut resp = render(&page)?;
    *resp.status_mut() = status;
    Ok(with_token(resp, state, &token, set))
}

/// Check a household as declared: the declarant must give a mobile number (to be reached);
/// members take the declarant's address, arrival and 户籍地 where they leave them blank.
fn check_household(
    people: &[(PersonForm, String)],
    today: chrono::NaiveDate,
) -> Result<Vec<(PersonInput, Relation)>, FieldErrors> {
    let mut errs = FieldErrors::new();
    let mut out: Vec<(PersonInput, Relation)> = Vec::new();
    let head = people.first().map(|p| p.0.clone()).unwrap_or_default();
    if head.mobile.trim().is_empty() {
        errs.push(FieldError::new("p0.mobile", "err.required"));
    }
    for (i, (form, relation)) in people.iter().enumerate() {
        if i > 0 && is_blank(form) {
            continue;
        }
        let mut f = form.clone();
        let relation = if i == 0 {
            Some(Relation::Head)
        } else {
            for (mine, theirs) in [
                (&mut f.address, &head.address),
                (&mut f.arrived_on, &head.arrived_on),
            ] {
                if mine.trim().is_empty() {
                    mine.clone_from(theirs);
                }
            }
            if f.hukou.trim().is_empty() && f.id_number.trim().is_empty() {
                // The declarant's, as typed or as their ID number gave it.
                f.hukou = out
                    .first()
                    .map_or_else(|| head.hukou.clone(), |(h, _)| h.hukou.to_string());
            }
            let r = Relation::parse(relation.trim()).filter(|r| *r != Relation::Head);
            if r.is_none() {
                errs.push(FieldError::new(format!("p{i}.relation"), "err.choice"));
            }
            r
        };
        match PersonInput::parse(&f, today) {
            Ok(p) => out.extend(relation.map(|r| (p, r))),
            Err(e) => errs.0.extend(e.0.into_iter().map(|x| FieldError {
                field: format!("p{i}.{}", x.field),
                ..x
            })),
        }
    }
    errs.into_result()?;
    Ok(out)
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let region = pairs
        .iter()
        .find(|(k, _)| k == "region")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if opens_a_level(&pairs) {
        return form(
            &state,
            &ctx,
            region,
            &pairs,
            &FieldErrors::new(),
            StatusCode::OK,
        )
        .await;
    }
    let (people, consent_codes) = people_from(&pairs);
    let consents: Vec<ConsentPurpose> = consent_codes
        .iter()
        .filter_map(|c| ConsentPurpose::parse(c))
        .collect();
    let checked = check_household(&people, shiliu_db::today()).and_then(|p| {
        if consents.contains(&ConsentPurpose::Registration) {
            Ok(p)
        } else {
            Err(FieldError::new("consent", "err.person.consent").into())
        }
    });
    let household = match checked {
        Ok(h) => h,
        Err(e) => {
            return form(
                &state,
                &ctx,
                region,
                &pairs,
                &e,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    if let Some(refused) = over_limit(&state, &ctx, PublicLimit::Submit("public-declaration")) {
        return refused;
    }
    let actor = resident(&ctx);
    let vault = state.config.vault.clone();
    let result = state
        .db
        .write(move |c| db::declare(c, &actor, &vault, region, &household, &consents))
        .await;
    match result {
        Ok(d) => Ok(Redirect::to(&format!("/d/{}?new=1", d.code)).into_response()),
        Err(DbError::Invalid(e)) => {
            form(
                &state,
                &ctx,
                region,
                &pairs,
                &e,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "registry/declare_status.html")]
struct StatusPage {
    l: Layout,
    code: String,
    created: bool,
    status: String,
    reason: Option<String>,
    confirmed: bool,
    facts: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct StatusQuery {
    new: Option<String>,
    code: Option<String>,
}

/// `/d/track?code=…` and `/d/{code}`: where a declaration stands. Lookups are limited per
/// address, so codes cannot be found by trying.
pub async fn track(ctx: Ctx, Query(q): Query<StatusQuery>) -> AppResult<Response> {
    match q.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => Ok(Redirect::to(&format!(
            "/d/{}",
            crate::web::urlencode(&code.to_uppercase())
        ))
        .into_response()),
        None => render(&StatusPage {
            l: Layout::anonymous(&ctx, ctx.t.s("declare.track_title")),
            code: String::new(),
            created: false,
            status: String::new(),
            reason: None,
            confirmed: false,
            facts: Vec::new(),
        }),
    }
}

pub async fn status(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<StatusQuery>,
) -> AppResult<Response> {
    let t = ctx.t;
    if let Some(refused) = over_limit(&state, &ctx, PublicLimit::Lookup) {
        return refused;
    }
    let found = state.db.read(move |c| db::by_code(c, &code)).await?;
    let Some(d) = found else {
        let mut r = render(&StatusPage {
            l: Layout::anonymous(&ctx, t.s("declare.track_title")),
            code: String::new(),
            created: false,
            status: t.s("declare.not_found").to_string(),
            reason: None,
            confirmed: false,
            facts: Vec::new(),
        })?;
        *r.status_mut() = StatusCode::NOT_FOUND;
        return Ok(r);
    };
    // What the declarant gave, masked: the page is reachable by anyone holding the code.
    let people = d.people()?;
    let facts = people
        .iter()
        .map(|p| {
            (
                t.label("relation", &p.relation),
                PersonInput::masked_name(&p.form.name),
            )
        })
        .chain([(
            t.s("declare.submitted").to_string(),
            show_minute(d.created_at),
        )])
        .collect();
    render(&StatusPage {
        l: Layout::anonymous(&ctx, t.s("declare.track_title")),
        created: q.new.is_some(),
        status: t.label("declaration_status", &d.status),
        confirmed: d.status == DeclarationStatus::Confirmed.as_str(),
        reason: d.reason.clone(),
        code: d.code,
        facts,
    })
}

// ---- Staff: the queue and verification ----

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    #[serde(default)]
    status: String,
    after: Option<i64>,
}

#[derive(Template)]
#[template(path = "registry/declarations.html")]
struct QueuePage {
    l: Layout,
    status: String,
    statuses: Vec<(String, String)>,
    rows: Vec<(i64, String, String, usize, String)>,
    next: Option<i64>,
}

/// Declarations as the queue shows them: id, the first person's name, where, how many
/// people, when.
pub(crate) fn queue_rows(
    rows: &[db::Declaration],
    names: &std::collections::HashMap<i64, String>,
) -> Vec<(i64, String, String, usize, String)> {
    rows.iter()
        .map(|d| {
            let people = d.people().unwrap_or_default();
            (
                d.id,
                people
                    .first()
                    .map(|p| p.form.name.clone())
                    .unwrap_or_default(),
                names.get(&d.region_id).cloned().unwrap_or_default(),
                people.len(),
                show_minute(d.created_at),
            )
        })
        .collect()
}

pub async fn queue(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<QueueQuery>,
    Query(saved): Query<Saved>,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let t = p.t();
    let status = DeclarationStatus::parse(q.status.trim()).unwrap_or(DeclarationStatus::Pending);
    let limit = crate::web::page::PAGE;
    let (rows, names) = state
        .db
        .write(move |c| {
            let rows = db::queue(c, &actor, status, q.after, limit + 1)?;
            let ids: Vec<i64> = rows.iter().map(|d| d.region_id).collect();
            Ok((rows, org_db::region_names(c, &ids)?))
        })
        .await?;
    let next = (rows.len() as i64 > limit).then(|| rows[limit as usize - 1].id);
    let rows = queue_rows(&rows[..rows.len().min(limit as usize)], &names);
    render(&QueuePage {
        l: Layout::new(&p, "nav.registry", t.s("declare.queue")).said(
            saved
                .done(&["declaration_rejected"])
                .map(|d| t.s(&format!("done.{d}")).to_string()),
        ),
        status: status.as_str().to_string(),
        statuses: options(
            DeclarationStatus::ALL,
            DeclarationStatus::as_str,
            "declaration_status",
            t,
        ),
        rows,
        next,
    })
}

/// A flag on a declared person: their number is on the register here (confirming updates that
/// person, linked) or elsewhere (confirming is refused).
struct OnRegisterNote {
    warn: bool,
    text: String,
    href: String,
}

#[derive(Template)]
#[template(path = "registry/declaration.html")]
struct ReviewPage {
    l: Layout,
    d: db::Declaration,
    pending: bool,
    status: String,
    place: String,
    /// A grid worker's grids: (code, name, picked).
    grids: Vec<(String, String, bool)>,
    /// Where the household lives, for staff not scoped to grids: the regions in scope.
    regions: Picker,
    /// (index, form, relation, masked ID number, where the number stands on the register,
    /// the 户籍地 picker).
    people: Vec<(
        usize,
        PersonForm,
        String,
        String,
        Option<OnRegisterNote>,
        Picker,
    )>,
    consents: Vec<String>,
    peoples: Vec<(String, String)>,
    employments: Vec<(String, String)>,
    errors: Vec<(String, String)>,
}

async fn review_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    corrected: Option<(Vec<PersonForm>, String)>,
    errs: &FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let t = p.t();
    let grid_worker = p.role().scoped_to_grids();
    let picked = corrected.as_ref().map(|(_, code)| code.clone());
    let (d, region, grids, around, registered) = state
        .db
        .write(move |c| {
            let d = db::view(c, &actor, id)?;
            let registered = db::registered(c, &actor, &d)?;
            let region = org_db::atlas::region(c, d.region_id)?;
            if grid_worker {
                let grids = org_db::scope_roots(c, actor.scope())?;
                return Ok((d, region, grids, Vec::new(), registered));
            }
            let code = picked.unwrap_or_else(|| region.code.clone());
            let around = org_db::choices_around_code(c, actor.scope(), &code)?;
            Ok((d, region, Vec::new(), around, registered))
        })
        .await?;
    let declared = d.people()?;
    let (forms, region_code) = corrected.unwrap_or_else(|| {
        (
            declared.iter().map(|x| x.form.clone()).collect(),
            region.code.clone(),
        )
    });
    let people = declared
        .iter()
        .zip(forms)
        .enumerate()
        .map(|(i, (x, f))| {
            let note = match registered.get(i) {
                Some(OnRegister::Here(person)) => Some(OnRegisterNote {
                    warn: false,
                    text: t.s("declare.registered_here").to_string(),
                    href: format!("/registry/{person}"),
                }),
                Some(OnRegister::Elsewhere) => Some(OnRegisterNote {
                    warn: true,
                    text: t.s("declare.registered_elsewhere").to_string(),
                    href: String::new(),
                }),
                _ => None,
            };
            let hukou = Picker::new(
                format!("hukou-{i}"),
                format!("p{i}.hukou"),
                t.s("field.hukou"),
            )
            .selected(f.hukou.clone())
            .blank(t.s("registry.hukou_from_id"))
            .divisions(t);
            (
                i,
                f,
                t.label("relation", &x.relation),
                x.id_masked.clone().unwrap_or_default(),
                note,
                hukou,
            )
        })
        .collect();
    let page = ReviewPage {
        l: Layout::new(p, "nav.registry", t.s("declare.review")).flash(saved),
        pending: d.status == DeclarationStatus::Pending.as_str(),
        status: t.label("declaration_status", &d.status),
        place: region.name,
        grids: grids
            .into_iter()
            .map(|g| {
                let picked = g.code == region_code;
                (g.code, g.name, picked)
            })
            .collect(),
        regions: Picker::new("region", "region_code", t.s("field.region"))
            .selected(region_code)
            .required()
            .regions(around, t),
        people,
        consents: d
            .consents()?
            .iter()
            .map(|c| t.label("consent_purpose", c.as_str()))
            .collect(),
        peoples: crate::web::page::people_options(),
        employments: options(Employment::ALL, Employment::as_str, "employment", t),
        errors: labelled(errs, t),
        d,
    };
    render_form(&page, !errs.is_empty())
}

pub async fn review(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    review_page(&state, &p, id, None, &FieldErrors::new(), s.yes()).await
}

/// 核验通过: into the register, as corrected on the page.
pub async fn confirm(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let version: i32 = field("version").parse().unwrap_or(0);
    let code = field("region_code");
    let (people, _) = people_from(&pairs);
    let count = pairs
        .iter()
        .filter(|(k, _)| k.split_once('.').is_some_and(|(_, f)| f == "name"))
        .count();
    let forms: Vec<PersonForm> = people.into_iter().take(count).map(|(f, _)| f).collect();
    if opens_a_level(&pairs) {
        let e = FieldErrors::new();
        return review_page(&state, &p, id, Some((forms, code)), &e, false).await;
    }
    let vault = state.config.vault.clone();
    let submitted = forms.clone();
    let result = state
        .db
        .write(move |c| {
            let region_id = org_db::region_id_by_code(c, actor.scope(), &code, "region_id")?;
            db::confirm(c, &actor, &vault, id, version, region_id, &submitted)
        })
        .await;
    match result {
        Ok((_, regs)) => {
            let head = regs.first().map_or(0, |r| r.person().id);
            Ok(
                Redirect::to(&format!("/registry/{head}?done=declaration_confirmed"))
                    .into_response(),
            )
        }
        Err(DbError::Invalid(e)) => {
            review_page(
                &state,
                &p,
                id,
                Some((forms, field("region_code"))),
                &e,
                false,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct RejectForm {
    #[serde(default)]
    version: i32,
    #[serde(default)]
    reason: String,
}

/// 退回, with the reason the declarant will read.
pub async fn reject(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<RejectForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::EditRegistry>()?;
    let result = state
        .db
        .write(move |c| db::reject(c, &actor, id, f.version, &f.reason))
        .await;
    match result {
        Ok(_) => {
            Ok(Redirect::to("/registry/declarations?done=declaration_rejected").into_response())
        }
        Err(DbError::Invalid(e)) => review_page(&state, &p, id, None, &e, false).await,
        Err(e) => Err(e.into()),
    }
}

/// How many declarations wait in the reader's area (for the register's page).
pub(crate) async fn pending_count(state: &AppState, scope: Scope) -> AppResult<i64> {
    Ok(state.db.read(move |c| db::pending_count(c, &scope)).await?)
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/d", get(start).post(submit))
        .route("/d/track", get(track))
        .route("/d/{code}", get(status))
        .route("/registry/declarations", get(queue))
        .route("/registry/declarations/{id}", get(review))
        .route("/registry/declarations/{id}/confirm", post(confirm))
        .route("/registry/declarations/{id}/reject", post(reject))
}
