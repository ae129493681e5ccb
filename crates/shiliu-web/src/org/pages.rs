//! Organisation pages: the region tree with communities and grids, service sites, units.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::org::{self as db, ListFilter, Region};
use shiliu_db::scope::Actor;
use shiliu_db::scope::grants;
use shiliu_domain::FieldErrors;
use shiliu_domain::org::{RegionInput, RegionKind, SiteInput, SiteType, UnitCategory, UnitInput};
use shiliu_domain::roles::Permission;

use crate::web::error::{AppError, AppResult};
use crate::web::i18n::T;
use crate::web::page::PAGE;
use crate::web::page::{Layout, Saved, render, render_form};
use crate::web::pickers::{Picker, Ticks};
use crate::web::{AppState, Principal};

#[derive(Template)]
#[template(path = "org/regions.html")]
struct RegionsPage {
    l: Layout,
    crumbs: Vec<(i64, String, bool)>,
    region: Option<Region>,
    editable: bool,
    children: Vec<Region>,
    new_child_label: Option<&'static str>,
    parent_id: i64,
    can_import: bool,
    errors: Vec<(String, String)>,
}

pub async fn regions_root(
    State(state): State<AppState>,
    p: Principal,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewOrg>()?;
    let roots = state
        .db
        .read(move |c| db::scope_roots(c, actor.scope()))
        .await?;
    if let [only] = roots.as_slice() {
        return Ok(Redirect::to(&format!("/regions/{}", only.id)).into_response());
    }
    let page = RegionsPage {
        l: Layout::new(&p, "nav.regions", p.t().s("regions.title")).flash(s.yes()),
        crumbs: vec![],
        region: None,
        editable: false,
        children: roots,
        new_child_label: None,
        parent_id: 0,
        can_import: p.can(Permission::ManageRegions),
        errors: vec![],
    };
    render(&page)
}

async fn region_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    errors: Vec<(String, String)>,
    saved: bool,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewOrg>()?;
    let (region, crumbs, children) = state
        .db
        .read(move |c| {
            let r = db::get_region(c, actor.scope(), id)?;
            let crumbs = db::ancestors(c, actor.scope(), &r)?;
            let children = db::children(c, actor.scope(), r.id, true)?;
            Ok((r, crumbs, children))
        })
        .await?;
    let can_manage = p.can(Permission::ManageRegions);
    let new_child_label = if can_manage && region.active {
        match region.kind().creatable_child() {
            Some(RegionKind::Community) => Some("regions.new_community"),
            Some(RegionKind::Grid) => Some("regions.new_grid"),
            _ => None,
        }
    } else {
        None
    };
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = RegionsPage {
        l: Layout::new(p, "nav.regions", &region.name).flash(saved),
        crumbs,
        editable: can_manage && !region.kind().is_official(),
        parent_id: region.id,
        region: Some(region),
        children,
        new_child_label,
        can_import: can_manage,
        errors,
    };
    let mut r = render(&page)?;
    *r.status_mut() = status;
    Ok(r)
}

pub async fn region_show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(s): Query<Saved>,
) -> AppResult<Response> {
    region_page(&state, &p, id, vec![], s.yes()).await
}

#[derive(Deserialize)]
pub struct RegionForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    version: i32,
}

/// Show field errors on the page they came from; anything else becomes an error page.
fn field_errors(t: T, e: AppError) -> Result<Vec<(String, String)>, AppError> {
    match e {
        AppError::Invalid(f) => Ok(t.field_errors(&f)),
        other => Err(other),
    }
}

pub async fn region_create_child(
    State(state): State<AppState>,
    p: Principal,
    Path(parent): Path<i64>,
    Form(f): Form<RegionForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRegions>()?;
    let result = async {
        let input = RegionInput::parse(&f.name, &f.code)?;
        Ok(state
            .db
            .write(move |c| db::create_child_region(c, &actor, parent, &input))
            .await?)
    }
    .await;
    match result {
        Ok(r) => Ok(
            Redirect::to(&format!("/regions/{}?saved=1", r.parent_id.unwrap_or(r.id)))
                .into_response(),
        ),
        Err(e) => region_page(&state, &p, parent, field_errors(p.t(), e)?, false).await,
    }
}

pub async fn region_update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<RegionForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRegions>()?;
    let result = async {
        let input = RegionInput::parse(&f.name, &f.code)?;
        Ok(state
            .db
            .write(move |c| db::update_region(c, &actor, id, f.version, &input))
            .await?)
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/regions/{id}?saved=1")).into_response()),
        Err(e) => region_page(&state, &p, id, field_errors(p.t(), e)?, false).await,
    }
}

#[derive(Deserialize)]
pub struct ActiveForm {
    version: i32,
    active: bool,
}

pub async fn region_set_active(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<ActiveForm>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ManageRegions>()?;
    let result = state
        .db
        .write(move |c| db::set_region_active(c, &actor, id, f.version, f.active))
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/regions/{id}?saved=1")).into_response()),
        Err(e) => region_page(&state, &p, id, field_errors(p.t(), e.into())?, false).await,
    }
}

// ---- Sites and units share list, form and export pages.

/// A row of the shared list page.
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub region: String,
    pub phone: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "org/org_list.html")]
pub struct OrgList {
    pub l: Layout,
    pub base: &'static str,
    pub can_edit: bool,
    pub can_import: bool,
    pub q: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub kinds: Vec<(String, String)>,
    pub inactive: bool,
    pub rows: Vec<OrgRow>,
    pub next: Option<i64>,
    pub query: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub inactive: Option<String>,
    #[serde(default)]
    pub region: Option<i64>,
    #[serde(default)]
    pub before: Option<i64>,
    #[serde(default)]
    pub saved: Option<String>,
}

impl ListQuery {
    /// The list's filter; a `kind` the list does not know (`known`: a site type, a unit
    /// category, a role) is refused naming the field.
    pub fn filter(
        &self,
        known: fn(&str) -> bool,
    ) -> Result<ListFilter, shiliu_domain::FieldErrors> {
        let kind = match self.kind.trim() {
            "" => None,
            k if known(k) => Some(k.to_string()),
            _ => return Err(shiliu_domain::FieldError::new("kind", "err.choice").into()),
        };
        Ok(ListFilter {
            text: Some(self.q.clone()).filter(|s| !s.trim().is_empty()),
            within: self.region,
            kind,
            include_inactive: self.inactive.is_some(),
            before_id: self.before,
        })
    }

    /// The filter part of the query string, for export and paging links.
    pub fn encoded(&self) -> String {
        let mut pairs = vec![("q", self.q.clone()), ("kind", self.kind.clone())];
        if self.inactive.is_some() {
            pairs.push(("inactive", "1".into()));
        }
        if let Some(r) = self.region {
            pairs.push(("region", r.to_string()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

impl OrgKind {
    /// Whether a list filter's `kind` is one of this kind's codes.
    pub fn knows(self) -> fn(&str) -> bool {
        match self {
            OrgKind::Site => |k| shiliu_domain::org::SiteType::parse(k).is_some(),
            OrgKind::Unit => |k| shiliu_domain::org::UnitCategory::parse(k).is_some(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OrgKind {
    Site,
    Unit,
}

impl OrgKind {
    fn base(self) -> &'static str {
        match self {
            OrgKind::Site => "/sites",
            OrgKind::Unit => "/units",
        }
    }
    fn nav(self) -> &'static str {
        match self {
            OrgKind::Site => "nav.sites",
            OrgKind::Unit => "nav.units",
        }
    }
    fn manage(self) -> Permission {
        match self {
            OrgKind::Site => Permission::ManageSites,
            OrgKind::Unit => Permission::ManageUnits,
        }
    }
    fn kind_field(self) -> &'static str {
        match self {
            OrgKind::Site => "site_type",
            OrgKind::Unit => "category",
        }
    }
    fn kind_options(self, t: T) -> Vec<(String, String)> {
        match self {
            OrgKind::Site => SiteType::ALL
                .iter()
                .map(|k| (k.as_str().to_string(), t.label("site_type", k.as_str())))
                .collect(),
            OrgKind::Unit => UnitCategory::ALL
                .iter()
                .map(|k| (k.as_str().to_string(), t.label("category", k.as_str())))
                .collect(),
        }
    }
}

/// One page of rows (or, for export, up to `limit`) in the caller's scope.
async fn load_rows(
    state: &AppState,
    actor: Actor,
    kind: OrgKind,
    f: ListFilter,
    limit: i64,
    t: T,
) -> AppResult<Vec<(OrgRow, Vec<String>)>> {
    let rows = state
        .db
        .read(move |c| {
            Ok(match kind {
                OrgKind::Site => db::list_sites(c, actor.scope(), &f, limit)?
                    .into_iter()
                    .map(|n| {
                        let s = n.item;
                        let extra = vec![
                            s.address.clone().unwrap_or_default(),
                            s.contact_name.clone().unwrap_or_default(),
                            s.opening_hours.clone().unwrap_or_default(),
                        ];
                        (
                            s.id,
                            s.name,
                            s.site_type,
                            n.region_name,
                            s.contact_phone.unwrap_or_default(),
                            s.active,
                            extra,
                        )
                    })
                    .collect::<Vec<_>>(),
                OrgKind::Unit => db::list_units(c, actor.scope(), &f, limit)?
                    .into_iter()
                    .map(|n| {
                        let u = n.item;
                        let extra = vec![u.contact_name.clone().unwrap_or_default()];
                        (
                            u.id,
                            u.name,
                            u.category,
                            n.region_name,
                            u.contact_phone.unwrap_or_default(),
                            u.active,
                            extra,
                        )
                    })
                    .collect(),
            })
        })
        .await?;
    let prefix = match kind {
        OrgKind::Site => "site_type",
        OrgKind::Unit => "category",
    };
    Ok(rows
        .into_iter()
        .map(|(id, name, k, region, phone, active, extra)| {
            (
                OrgRow {
                    id,
                    name,
                    kind: t.label(prefix, &k),
                    region,
                    phone,
                    active,
                },
                extra,
            )
        })
        .collect())
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    kind: OrgKind,
    q: ListQuery,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewOrg>()?;
    let t = p.t();
    let rows = load_rows(
        &state,
        actor.into_actor(),
        kind,
        q.filter(kind.knows())?,
        PAGE + 1,
        t,
    )
    .await?;
    let mut rows: Vec<OrgRow> = rows.into_iter().map(|(r, _)| r).collect();
    let next = if rows.len() as i64 > PAGE {
        rows.truncate(PAGE as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let title = match kind {
        OrgKind::Site => t.s("sites.title"),
        OrgKind::Unit => t.s("units.title"),
    };
    let page = OrgList {
        l: Layout::new(&p, kind.nav(), title).flash(q.saved.is_some()),
        base: kind.base(),
        can_edit: p.can(kind.manage()),
        can_import: p.can(kind.manage()),
        q: q.q.clone(),
        kind: q.kind.clone(),
        kind_label: if kind == OrgKind::Site {
            "field.site_type"
        } else {
            "field.category"
        },
        kinds: kind.kind_options(t),
        inactive: q.inactive.is_some(),
        rows,
        next,
        query: q.encoded(),
    };
    render(&page)
}

pub async fn sites(
    state: State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    list(state, p, OrgKind::Site, q).await
}

pub async fn units(
    state: State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    list(state, p, OrgKind::Unit, q).await
}

/// Export every row matching the filter (up to 100,000) in the caller's scope.
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    kind: OrgKind,
    q: ListQuery,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewOrg>()?;
    let t = p.t();
    let mut f = q.filter(kind.knows())?;
    f.before_id = None;
    let rows = load_rows(&state, actor.into_actor(), kind, f, 100_000, t).await?;
    let mut headers: Vec<String> = [
        "field.name",
        if kind == OrgKind::Site {
            "field.site_type"
        } else {
            "field.category"
        },
        "field.region",
        "field.contact_phone",
        "field.status",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    match kind {
        OrgKind::Site => headers.extend(
            ["field.address", "field.contact_name", "field.opening_hours"]
                .iter()
                .map(|k| t.s(k).to_string()),
        ),
        OrgKind::Unit => headers.push(t.s("field.contact_name").to_string()),
    }
    let data: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(r, extra)| {
            let status = if r.active {
                t.s("status.active")
            } else {
                t.s("status.inactive")
            };
            let mut v = vec![r.name, r.kind, r.region, r.phone, status.to_string()];
            v.extend(extra);
            v
        })
        .collect();
    let name = match kind {
        OrgKind::Site => t.s("sites.title"),
        OrgKind::Unit => t.s("units.title"),
    };
    let bytes = crate::web::xlsx::sheet(name, &headers, &crate::web::xlsx::texts(data))?;
    Ok(crate::web::xlsx::download(&format!("{name}.xlsx"), bytes))
}

pub async fn sites_export(
    state: State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    export(state, p, OrgKind::Site, q).await
}

pub async fn units_export(
    state: State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    export(state, p, OrgKind::Unit, q).await
}

/// A field of the shared form page.
pub struct FormField {
    pub name: &'static str,
    pub label: String,
    pub value: String,
    pub required: bool,
    pub options: Vec<(String, String)>,
    pub hint: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "org/org_form.html")]
pub struct OrgForm {
    pub l: Layout,
    pub action: String,
    pub back: String,
    pub version: i32,
    pub fields: Vec<FormField>,
    pub errors: Vec<(String, String)>,
    /// (action, label, new value) of the activate/deactivate button.
    pub toggle: Option<(String, String, &'static str)>,
    /// Shown to a role that may view but not change the record.
    pub readonly: bool,
    /// A site's printable poster with the public forms' QR codes.
    pub poster: Option<String>,
    /// Where the record lies: the regions in scope, after the fields.
    pub region: Option<Picker>,
    /// A user's grids to tick.
    pub grids: Option<Ticks>,
}

/// The posted form of a site or unit (fields of the other kind are ignored).
#[derive(Deserialize, Default, Clone)]
pub struct OrgFormData {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub site_type: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub region_code: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub opening_hours: String,
    #[serde(default)]
    pub version: i32,
    /// Sent by the region picker's "show the level below" (`pickers::OPEN`).
    #[serde(default, rename = "_open")]
    pub open: Option<String>,
}

fn form_fields(kind: OrgKind, t: T, d: &OrgFormData, errs: &FieldErrors) -> Vec<FormField> {
    let err = |name: &str| {
        errs.0
            .iter()
            .find(|e| e.field == name)
            .map(|e| t.field_error(e))
            .unwrap_or_default()
    };
    let field = |name: &'static str, value: &str, required: bool| FormField {
        name,
        label: t.field(name),
        value: value.to_string(),
        required,
        options: vec![],
        hint: String::new(),
        error: err(name),
    };
    let mut v = vec![field("name", &d.name, true)];
    let mut k = field(
        kind.kind_field(),
        if kind == OrgKind::Site {
            &d.site_type
        } else {
            &d.category
        },
        true,
    );
    k.options = kind.kind_options(t);
    v.push(k);
    if kind == OrgKind::Site {
        v.push(field("address", &d.address, false));
    }
    v.push(field("contact_name", &d.contact_name, false));
    v.push(field("contact_phone", &d.contact_phone, false));
    if kind == OrgKind::Site {
        v.push(field("opening_hours", &d.opening_hours, false));
    }
    v
}

async fn form_page(
    state: &AppState,
    p: &Principal,
    (kind, id): (OrgKind, Option<i64>),
    d: &OrgFormData,
    errs: &FieldErrors,
    active: Option<bool>,
) -> AppResult<Response> {
    let t = p.t();
    let actor = p.require::<grants::ViewOrg>()?;
    let code = d.region_code.clone();
    let around = state
        .db
        .read(move |c| db::choices_around_code(c, actor.scope(), &code))
        .await?;
    let title = match (kind, id) {
        (OrgKind::Site, None) => t.s("sites.new"),
        (OrgKind::Site, Some(_)) => t.s("sites.edit"),
        (OrgKind::Unit, None) => t.s("units.new"),
        (OrgKind::Unit, Some(_)) => t.s("units.edit"),
    };
    let action = id.map_or_else(
        || kind.base().to_string(),
        |i| format!("{}/{i}", kind.base()),
    );
    let toggle = id.zip(active).map(|(i, a)| {
        let label = if a {
            t.s("action.deactivate")
        } else {
            t.s("action.activate")
        };
        (
            format!("{}/{i}/active", kind.base()),
            label.to_string(),
            if a { "false" } else { "true" },
        )
    });
    let page = OrgForm {
        l: Layout::new(p, kind.nav(), title),
        action,
        back: kind.base().to_string(),
        version: d.version,
        fields: form_fields(kind, t, d, errs),
        errors: t.field_errors_as(errs, &[("region_id", "region"), ("grid_ids", "grids")]),
        toggle,
        readonly: id.is_some() && !p.can(kind.manage()),
        poster: id
            .filter(|_| kind == OrgKind::Site)
            .map(|i| format!("/sites/{i}/poster")),
        region: Some(
            Picker::new("region", "region_code", t.s("field.region"))
                .selected(d.region_code.clone())
                .required()
                .regions(around, t),
        ),
        grids: None,
    };
    render_form(&page, !errs.is_empty())
}

#[derive(Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    region: Option<i64>,
}

pub async fn new_form(
    State(state): State<AppState>,
    p: Principal,
    kind: OrgKind,
    q: NewQuery,
) -> AppResult<Response> {
    let actor = p.require_permission(kind.manage())?;
    let code = match q.region {
        Some(r) => {
            state
                .db
                .read(move |c| Ok(db::get_region(c, actor.scope(), r)?.code))
                .await?
        }
        None => String::new(),
    };
    let d = OrgFormData {
        region_code: code,
        site_type: "minzu_home".into(),
        category: "department".into(),
        ..Default::default()
    };
    form_page(&state, &p, (kind, None), &d, &FieldErrors::new(), None).await
}

pub async fn sites_new(
    state: State<AppState>,
    p: Principal,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    new_form(state, p, OrgKind::Site, q).await
}

pub async fn units_new(
    state: State<AppState>,
    p: Principal,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    new_form(state, p, OrgKind::Unit, q).await
}

enum Parsed {
    Site(SiteInput),
    Unit(UnitInput),
}

fn parse(kind: OrgKind, d: &OrgFormData) -> Result<Parsed, FieldErrors> {
    match kind {
        OrgKind::Site => SiteInput::parse(
            &d.name,
            &d.site_type,
            &d.address,
            &d.contact_name,
            &d.contact_phone,
            &d.opening_hours,
        )
        .map(Parsed::Site),
        OrgKind::Unit => UnitInput::parse(&d.name, &d.category, &d.contact_name, &d.contact_phone)
            .map(Parsed::Unit),
    }
}

/// Create (`id` None) or update a site or unit, all in one transaction.
pub async fn save(
    State(state): State<AppState>,
    p: Principal,
    kind: OrgKind,
    id: Option<i64>,
    d: OrgFormData,
) -> AppResult<Response> {
    let actor = p.require_permission(kind.manage())?;
    if d.open.is_some() {
        return form_page(&state, &p, (kind, id), &d, &FieldErrors::new(), None).await;
    }
    let parsed = parse(kind, &d);
    let mut errs = parsed.as_ref().err().cloned().unwrap_or_default();
    if d.region_code.trim().is_empty() {
        errs.push(shiliu_domain::FieldError::new("region_id", "err.required"));
    }
    if !errs.is_empty() {
        return form_page(&state, &p, (kind, id), &d, &errs, None).await;
    }
    let Ok(input) = parsed else {
        return form_page(&state, &p, (kind, id), &d, &errs, None).await;
    };
    let code = d.region_code.trim().to_string();
    let version = d.version;
    let result = state
        .db
        .write(move |c| {
            let region = db::region_id_by_code(c, actor.scope(), &code, "region_id")?;
            Ok(match (&input, id) {
                (Parsed::Site(s), None) => db::create_site(c, &actor, region, s)?.id,
                (Parsed::Site(s), Some(i)) => db::update_site(c, &actor, i, version, region, s)?.id,
                (Parsed::Unit(u), None) => db::create_unit(c, &actor, region, u)?.id,
                (Parsed::Unit(u), Some(i)) => db::update_unit(c, &actor, i, version, region, u)?.id,
            })
        })
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("{}?saved=1", kind.base())).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => {
            form_page(&state, &p, (kind, id), &d, &e, None).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn sites_create(
    state: State<AppState>,
    p: Principal,
    Form(d): Form<OrgFormData>,
) -> AppResult<Response> {
    save(state, p, OrgKind::Site, None, d).await
}

pub async fn units_create(
    state: State<AppState>,
    p: Principal,
    Form(d): Form<OrgFormData>,
) -> AppResult<Response> {
    save(state, p, OrgKind::Unit, None, d).await
}

pub async fn sites_update(
    state: State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(d): Form<OrgFormData>,
) -> AppResult<Response> {
    save(state, p, OrgKind::Site, Some(id), d).await
}

pub async fn units_update(
    state: State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(d): Form<OrgFormData>,
) -> AppResult<Response> {
    save(state, p, OrgKind::Unit, Some(id), d).await
}

/// The edit page (or, for roles that may only view, the same fields read-only in effect:
/// the form posts would be refused).
pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    kind: OrgKind,
    id: i64,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewOrg>()?;
    let (d, active) = state
        .db
        .read(move |c| {
            Ok(match kind {
                OrgKind::Site => {
                    let s = db::get_site(c, actor.scope(), id)?;
                    let code = db::get_region(c, actor.scope(), s.region_id)?.code;
                    (
                        OrgFormData {
                            name: s.name,
                            site_type: s.site_type,
                            region_code: code,
                            address: s.address.unwrap_or_default(),
                            contact_name: s.contact_name.unwrap_or_default(),
                            contact_phone: s.contact_phone.unwrap_or_default(),
                            opening_hours: s.opening_hours.unwrap_or_default(),
                            version: s.version,
                            ..Default::default()
                        },
                        s.active,
                    )
                }
                OrgKind::Unit => {
                    let u = db::get_unit(c, actor.scope(), id)?;
                    let code = db::get_region(c, actor.scope(), u.region_id)?.code;
                    (
                        OrgFormData {
                            name: u.name,
                            category: u.category,
                            region_code: code,
                            contact_name: u.contact_name.unwrap_or_default(),
                            contact_phone: u.contact_phone.unwrap_or_default(),
                            version: u.version,
                            ..Default::default()
                        },
                        u.active,
                    )
                }
            })
        })
        .await?;
    form_page(
        &state,
        &p,
        (kind, Some(id)),
        &d,
        &FieldErrors::new(),
        p.can(kind.manage()).then_some(active),
    )
    .await
}

pub async fn sites_show(
    state: State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    show(state, p, OrgKind::Site, id).await
}

pub async fn units_show(
    state: State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    show(state, p, OrgKind::Unit, id).await
}

pub async fn set_active(
    State(state): State<AppState>,
    p: Principal,
    kind: OrgKind,
    id: i64,
    f: ActiveForm,
) -> AppResult<Response> {
    let actor = p.require_permission(kind.manage())?;
    state
        .db
        .write(move |c| match kind {
            OrgKind::Site => db::set_site_active(c, &actor, id, f.version, f.active).map(|_| ()),
            OrgKind::Unit => db::set_unit_active(c, &actor, id, f.version, f.active).map(|_| ()),
        })
        .await?;
    Ok(Redirect::to(&format!("{}?saved=1&inactive=1", kind.base())).into_response())
}

pub async fn sites_active(
    state: State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<ActiveForm>,
) -> AppResult<Response> {
    set_active(state, p, OrgKind::Site, id, f).await
}

pub async fn units_active(
    state: State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Form(f): Form<ActiveForm>,
) -> AppResult<Response> {
    set_active(state, p, OrgKind::Unit, id, f).await
}

/// Export a region and everything below it in the caller's scope.
pub async fn region_export(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewOrg>()?;
    let t = p.t();
    let rows = state
        .db
        .read(move |c| db::subtree(c, actor.scope(), id))
        .await?;
    let codes: std::collections::HashMap<i64, String> =
        rows.iter().map(|r| (r.id, r.code.clone())).collect();
    let headers: Vec<String> = [
        "field.code",
        "field.name",
        "field.kind",
        "field.parent_code",
        "field.status",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    let name = rows
        .first()
        .map_or_else(|| t.s("regions.title").to_string(), |r| r.name.clone());
    let data: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            vec![
                r.code.clone(),
                r.name.clone(),
                t.label("kind", &r.kind),
                r.parent_id
                    .and_then(|p| codes.get(&p).cloned())
                    .unwrap_or_default(),
                if r.active {
                    t.s("status.active")
                } else {
                    t.s("status.inactive")
                }
                .to_string(),
            ]
        })
        .collect();
    let bytes = crate::web::xlsx::sheet(
        t.s("regions.title"),
        &headers,
        &crate::web::xlsx::texts(data),
    )?;
    Ok(crate::web::xlsx::download(&format!("{name}.xlsx"), bytes))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/regions", get(regions_root))
        .route("/regions/{id}", get(region_show).post(region_update))
        .route("/regions/{id}/children", post(region_create_child))
        .route("/regions/{id}/export.xlsx", get(region_export))
        .route("/regions/{id}/active", post(region_set_active))
        .route("/sites", get(sites).post(sites_create))
        .route("/sites/new", get(sites_new))
        .route("/sites/export.xlsx", get(sites_export))
        .route("/sites/{id}", get(sites_show).post(sites_update))
        .route("/sites/{id}/active", post(sites_active))
        .route("/units", get(units).post(units_create))
        .route("/units/new", get(units_new))
        .route("/units/export.xlsx", get(units_export))
        .route("/units/{id}", get(units_show).post(units_update))
        .route("/units/{id}/active", post(units_active))
}
