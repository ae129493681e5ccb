//! Request pages: the scoped list with filters, intake by staff (hotline, grid worker, walk-in
//! desk), and one request with its history and the steps the user may take now.

use askama::Template;
use axum::extract::{Path, Query, State};
use shiliu_db::scope::grants;
use shiliu_domain::files::REQUEST_FILES;

use crate::web::files::FormData;
use crate::web::pending::{Kept, keep_for_next_send};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shiliu_db::org as org_db;
use shiliu_db::requests::listing::{self, Cursor, Sort, SortBy};
use shiliu_db::requests::queues::Queue;
use shiliu_db::requests::{self as db, Request, RequestFilter, StepInput};
use shiliu_domain::FieldErrors;
use shiliu_domain::requests::{Action, ActionInput, Channel, Outcome, Rating, Status};
use shiliu_domain::roles::{Permission, Role};

use crate::web::error::AppResult;
use crate::web::i18n::T;
use crate::web::page::PAGE;
use crate::web::page::{Layout, Saved, render, render_form};
use crate::web::pickers::{Picker, opens_a_level};
use crate::web::{AppState, Principal};

fn minute(t: chrono::NaiveDateTime) -> String {
    crate::web::page::show_minute(t)
}

/// Category names in the user's language, by id.
pub(crate) fn category_names(cats: &[db::Category], t: T) -> Vec<(String, String)> {
    cats.iter()
        .map(|c| (c.id.to_string(), t.pick(&c.name, &c.name_en).to_string()))
        .collect()
}

/// The routing reason kept on a request, in the reader's language.
/// A routing rule's conditions in words (empty parts do not apply).
pub(crate) fn rule_conditions(t: T, category: &str, region: &str, keywords: &str) -> String {
    let mut cond = Vec::new();
    if !category.is_empty() {
        cond.push(t.f("routing.cond_category", &[("name", category)]));
    }
    if !region.is_empty() {
        cond.push(t.f("routing.cond_region", &[("name", region)]));
    }
    if !keywords.is_empty() {
        cond.push(t.f("routing.cond_keywords", &[("words", keywords)]));
    }
    if cond.is_empty() {
        cond.push(t.s("routing.cond_any").to_string());
    }
    cond.join("、")
}

pub(crate) fn routing_words(json: &str, t: T) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let field = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let how = field("how");
    if how == "rule" {
        let cond = rule_conditions(t, &field("category"), &field("region"), &field("keywords"));
        let rule = v["rule"].as_i64().unwrap_or_default().to_string();
        return t.f(
            "routing.rule",
            &[("rule", &rule), ("cond", &cond), ("site", &field("site"))],
        );
    }
    let key = format!("routing.{}", if how.is_empty() { "none" } else { &how });
    t.f(&key, &[("site", &field("site")), ("by", &field("by"))])
}

pub struct RequestRow {
    pub id: i64,
    pub code: String,
    pub received: String,
    pub category: String,
    /// The description's start, in runs marked where a word searched for is.
    pub summary: Vec<(String, bool)>,
    pub status: String,
    pub due: String,
    pub overdue: bool,
}

impl RequestRow {
    /// A request as a list shows it at `now`, its category named and the words `searched`
    /// for marked in its description's start.
    pub(crate) fn of(
        r: &Request,
        t: T,
        now: chrono::NaiveDateTime,
        category: String,
        searched: &[String],
    ) -> Self {
        Self {
            id: r.id,
            code: r.code.clone(),
            received: minute(r.received_at),
            category,
            summary: crate::web::page::marked(
                &r.description.chars().take(SUMMARY).collect::<String>(),
                searched,
            ),
            status: if r.escalated_at.is_some() {
                format!(
                    "{} · {}",
                    t.label("status", &r.status),
                    t.s("requests.escalated")
                )
            } else {
                t.label("status", &r.status)
            },
            due: r.due_at.map(minute).unwrap_or_default(),
            overdue: r.status().clock_runs() && r.due_at.is_some_and(|d| d < now),
        }
    }
}

#[derive(Template)]
#[template(path = "requests/requests.html")]
struct ListPage {
    l: Layout,
    can_create: bool,
    /// The reader belongs to a site or unit (which may be asked to co-handle).
    has_place: bool,
    d: ListQuery,
    statuses: Vec<(String, String)>,
    queues: Vec<(String, String)>,
    categories: Vec<(String, String)>,
    channels: Vec<(String, String)>,
    rows: Vec<RequestRow>,
    /// How many requests the filters list, on every page.
    total: Option<i64>,
    /// The most one export holds (the page says so when the filters list more).
    export_max: i64,
    sort_links: Vec<SortLink>,
    next: Option<String>,
    query: String,
    errors: Vec<(String, String)>,
    /// The region filter: the regions in scope around the one picked.
    regions: Picker,
    /// The site filter: the sites in scope, by name.
    sites: Picker,
}

/// A column header, and the link that sorts the list by its column (empty: it does not sort).
pub struct SortLink {
    label: String,
    href: String,
    aria: &'static str,
    mark: &'static str,
}

/// The list's filters as the form and links carry them.
#[derive(Deserialize, serde::Serialize, Default, Clone)]
pub struct ListQuery {
    /// Words to find (full-text).
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    /// `open` (still being handled) or `done`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    state: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    channel: String,
    /// A region code (a subtree within the caller's scope).
    #[serde(default)]
    region: String,
    /// A site's name, as people know it.
    #[serde(default)]
    site: String,
    /// Received from / to, local dates (YYYY-MM-DD, both included).
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    overdue: Option<String>,
    /// Due within the next day, not yet overdue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    due_soon: Option<String>,
    /// Asked of the reader's own site or unit to co-handle (协办), not yet answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cohandling: Option<String>,
    /// A work queue (`shiliu_db::requests::queues::Queue`), as the home's counters link to it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    queue: String,
    /// Only those handled by the reader's own site or unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mine: Option<String>,
    /// The order: `received`, `due`, `status` or `category` (empty: received).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    sort: String,
    /// `asc` or `desc` (empty: newest first for received, the order's own way for the others).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    dir: String,
    /// Where the page starts (the previous page's `next`).
    #[serde(default, skip_serializing)]
    cursor: String,
}

/// A checkbox or API flag: `1`, `true` or `on`.
fn on(v: Option<&str>) -> bool {
    matches!(v, Some("1" | "true" | "on"))
}

/// A flag's value is one a checkbox or an API client sends (absent, empty, `1`/`true`/`on`,
/// `0`/`false`/`off`); anything else is refused, not read as "off".
fn flag_known(v: Option<&str>) -> bool {
    matches!(
        v,
        None | Some("" | "1" | "true" | "on" | "0" | "false" | "off")
    )
}

impl ListQuery {
    /// The filters of the list and its export, resolved in the caller's scope (a region or site
    /// outside it is unknown); every bad field is reported.
    pub(crate) fn filter(
        &self,
        c: &mut shiliu_db::DbConnection,
        scope: &shiliu_db::scope::Scope,
        own: (Option<i64>, Option<i64>),
        now: chrono::NaiveDateTime,
    ) -> Result<RequestFilter, shiliu_db::DbError> {
        let mut errs = FieldErrors::new();
        let region_path = match self.region.trim() {
            "" => None,
            code => {
                let found = org_db::get_region_by_code(c, scope, code).ok();
                if found.is_none() {
                    errs.push(shiliu_domain::FieldError::new(
                        "region",
                        "err.region.unknown",
                    ));
                }
                found.map(|r| r.path)
            }
        };
        let site_id = match self.site.trim() {
            "" => None,
            name => match org_db::site_id_by_name(c, scope, name, "site") {
                Ok(id) => Some(id),
                Err(shiliu_db::DbError::Invalid(e)) => {
                    errs.0.extend(e.0);
                    None
                }
                Err(e) => return Err(e),
            },
        };
        let mut day = |field: &str, v: &str| match v.trim() {
            "" => None,
            v => errs.check(
                chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| shiliu_domain::FieldError::new(field, "err.date")),
            ),
        };
        let from = day("from", &self.from);
        let to = day("to", &self.to);
        let channel = match self.channel.as_str() {
            "" => None,
            v => {
                let ch = Channel::parse(v);
                if ch.is_none() {
                    errs.push(shiliu_domain::FieldError::new("channel", "err.choice"));
                }
                ch
            }
        };
        let open = match self.state.as_str() {
            "" => None,
            "open" => Some(true),
            "done" => Some(false),
            _ => {
                errs.push(shiliu_domain::FieldError::new("state", "err.choice"));
                None
            }
        };
        if let Err(e) = self.order() {
            errs.0.extend(e.0);
        }
        let status = match self.status.trim() {
            "" => None,
            v => {
                let st = Status::parse(v);
                if st.is_none() {
                    errs.push(shiliu_domain::FieldError::new("status", "err.choice"));
                }
                st
            }
        };
        let category = match self.category.trim() {
            "" => None,
            v => {
                let cats = shiliu_db::requests::categories(c, true)?;
                let known = v
                    .parse::<i64>()
                    .ok()
                    .filter(|id| cats.iter().any(|k| k.id == *id));
                if known.is_none() {
                    errs.push(shiliu_domain::FieldError::new("category", "err.choice"));
                }
                known
            }
        };
        for (field, v) in [
            ("overdue", &self.overdue),
            ("due_soon", &self.due_soon),
            ("cohandling", &self.cohandling),
            ("mine", &self.mine),
        ] {
            if !flag_known(v.as_deref()) {
                errs.push(shiliu_domain::FieldError::new(field, "err.choice"));
            }
        }
        let queue = match self.queue.as_str() {
            "" => None,
            v => {
                let q = Queue::parse(v);
                if q.is_none() {
                    errs.push(shiliu_domain::FieldError::new("queue", "err.choice"));
                }
                q
            }
        };
        errs.into_result().map_err(shiliu_db::DbError::Invalid)?;
        let mut f = RequestFilter {
            status,
            open,
            category_ids: category.into_iter().collect(),
            channel,
            region_path,
            site_id,
            received_from: from.map(crate::web::page::local_day_start),
            received_to: to.map(|d| crate::web::page::local_day_start(d.succ_opt().unwrap_or(d))),
            handled_by: on(self.mine.as_deref()).then_some(own),
            text: Some(self.q.trim().to_string()).filter(|q| !q.is_empty()),
            ..RequestFilter::default()
        };
        // The flags are queues too: one definition of overdue, due soon and co-handling.
        let flagged = [
            (self.overdue.as_deref(), Queue::Overdue),
            (self.due_soon.as_deref(), Queue::DueSoon),
            (self.cohandling.as_deref(), Queue::Cohandling),
        ];
        for q in flagged
            .into_iter()
            .filter_map(|(flag, q)| on(flag).then_some(q))
            .chain(queue)
        {
            q.apply(&mut f, own, now);
        }
        Ok(f)
    }

    /// The order asked for and where the page starts; an order not offered, or a cursor that
    /// is damaged or made for another order, is refused naming its field.
    pub(crate) fn order(&self) -> Result<(Sort, Option<Cursor>), FieldErrors> {
        use shiliu_domain::FieldError;
        let mut errs = FieldErrors::new();
        let by = match self.sort.as_str() {
            "" => Some(SortBy::default()),
            v => SortBy::parse(v),
        };
        if by.is_none() {
            errs.push(FieldError::new("sort", "err.choice"));
        }
        let by = by.unwrap_or_default();
        let descending = match self.dir.as_str() {
            // Newest first; the earliest deadline, the loop's and the categories' order first.
            "" => by == SortBy::Received,
            "desc" => true,
            "asc" => false,
            _ => {
                errs.push(FieldError::new("dir", "err.choice"));
                false
            }
        };
        let sort = Sort { by, descending };
        let cursor = match self.cursor.trim() {
            "" => None,
            c => {
                let found = Cursor::decode(c, sort);
                if found.is_none() {
                    errs.push(FieldError::new("cursor", "err.cursor"));
                }
                found
            }
        };
        errs.into_result()?;
        Ok((sort, cursor))
    }

    /// The list's column headers; those that sort link to the list in their column's order
    /// (the current column's turns it round).
    fn sort_links(&self, t: T) -> Vec<SortLink> {
        let current = self.order().map(|(s, _)| s).unwrap_or_default();
        let base = ListQuery {
            sort: String::new(),
            dir: String::new(),
            ..self.clone()
        }
        .query_string();
        [
            (None, "requests.code"),
            (Some(SortBy::Received), "requests.received"),
            (Some(SortBy::Category), "field.category_id"),
            (None, "field.description"),
            (Some(SortBy::Status), "field.status"),
            (Some(SortBy::Due), "requests.due"),
        ]
        .into_iter()
        .map(|(by, label)| {
            let Some(by) = by else {
                return SortLink {
                    label: t.s(label).to_string(),
                    href: String::new(),
                    aria: "none",
                    mark: "",
                };
            };
            let on = current.by == by;
            // The current column turns round; another starts newest first (received) or
            // from the start of its order.
            let descending = if on {
                !current.descending
            } else {
                by == SortBy::Received
            };
            let dir = if descending { "desc" } else { "asc" };
            let sep = if base.is_empty() { "" } else { "&" };
            SortLink {
                label: t.s(label).to_string(),
                href: format!("/requests?{base}{sep}sort={}&dir={dir}", by.as_str()),
                aria: match (on, current.descending) {
                    (false, _) => "none",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                },
                mark: match (on, current.descending) {
                    (false, _) => "",
                    (true, true) => "▼",
                    (true, false) => "▲",
                },
            }
        })
        .collect()
    }

    /// The filters as a query string, without the page cursor.
    fn query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

/// How much of a description a list row shows (it wraps; the request page has it all).
const SUMMARY: usize = 80;

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let actor = p.require::<grants::ViewRequests>()?;
    let own = (p.user().site_id, p.user().unit_id);
    let t = p.t();
    let now = shiliu_db::now();
    let query = q.clone();
    let keys = state.db.request_keys();
    let (found, cats, around, site_rows) = state
        .db
        .read(move |c| {
            let found = match query.filter(c, actor.scope(), own, now) {
                Ok(f) => {
                    let (sort, after) = query.order()?;
                    Ok(listing::page_and_count(
                        &keys,
                        c,
                        actor.scope(),
                        &f,
                        sort,
                        after,
                        PAGE,
                    )?)
                }
                Err(shiliu_db::DbError::Invalid(e)) => Err(e),
                Err(e) => return Err(e),
            };
            Ok((
                found,
                db::categories(c, true)?,
                org_db::choices_around_code(c, actor.scope(), &query.region)?,
                org_db::site_choices(c, actor.scope())?,
            ))
        })
        .await?;
    let regions = Picker::new("region-filter", "region", t.s("field.region"))
        .selected(q.region.clone())
        .regions(around, t);
    // The filter names a site as people know it, by name (as the API takes it too).
    let sites = Picker::new("site-filter", "site", t.s("field.site_filter"))
        .selected(q.site.clone())
        .grouped(
            site_rows
                .into_iter()
                .map(|(r, _, name)| (r, name.clone(), name)),
        );
    let (rows, next, total, errs) = match found {
        Ok((rows, next, total)) => (rows, next, Some(total), FieldErrors::new()),
        Err(e) => (Vec::new(), None, None, e),
    };
    let searched = shiliu_db::requests::search::query_terms(&q.q);
    let names = category_names(&cats, t);
    let name_of = |id: i64| {
        names
            .iter()
            .find(|(i, _)| *i == id.to_string())
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let page = ListPage {
        l: Layout::new(&p, "nav.requests", t.s("requests.title")),
        can_create: p.can(Permission::CreateRequests),
        has_place: p.user().site_id.is_some() || p.user().unit_id.is_some(),
        statuses: Status::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), t.label("status", s.as_str())))
            .collect(),
        queues: crate::web::page::options(Queue::ALL, Queue::as_str, "queue", t),
        channels: Channel::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), t.label("channel", c.as_str())))
            .collect(),
        rows: rows
            .into_iter()
            .map(|r| RequestRow::of(&r, t, now, name_of(r.category_id), &searched))
            .collect(),
        categories: names,
        total,
        export_max: EXPORT_MAX,
        sort_links: q.sort_links(t),
        next: next.map(|c| c.encode()),
        query: q.query_string(),
        errors: t.field_errors_as(&errs, &[("site", "site_filter")]),
        d: q,
        regions,
        sites,
    };
    render_form(&page, !errs.is_empty())
}

#[derive(Deserialize, Default, Clone)]
pub struct IntakeForm {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    category_id: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    /// Filled by "use my location" (degrees), kept with the place.
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    longitude: String,
    #[serde(default)]
    consent: Option<String>,
    /// The resident agreed to SMS about the request (asked on the phone or at the desk).
    #[serde(default)]
    sms: Option<String>,
    /// A grid worker resolves it there and then (就地办结), with `outcome`, `reply` and a photo.
    #[serde(default)]
    on_the_spot: Option<String>,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reply: String,
}

#[derive(Template)]
#[template(path = "requests/request_new.html")]
struct IntakePage {
    l: Layout,
    d: IntakeForm,
    channels: Vec<(String, String)>,
    categories: Vec<(String, String)>,
    /// A grid worker picks one of their grids: (code, name).
    grids: Vec<(String, String)>,
    question_sets: Vec<crate::requests::questions::QuestionSet>,
    errors: Vec<(String, String)>,
    /// Photos sent with an earlier try of this form, held for the next send.
    kept: Kept,
    /// Where the request is about, for staff not scoped to grids: the regions in scope.
    regions: Picker,
    /// A grid worker may resolve it on the spot: the names of the categories that allow it
    /// (empty: not offered).
    spot_categories: Vec<String>,
    outcomes: Vec<(String, String)>,
}

/// The channels staff may record, the role's own first.
fn channels(role: Role) -> Vec<Channel> {
    match role {
        Role::GridWorker => vec![Channel::Grid],
        Role::SiteStaff => vec![Channel::WalkIn, Channel::Hotline],
        _ => vec![Channel::Hotline, Channel::WalkIn, Channel::Grid],
    }
}

async fn intake_page(
    state: &AppState,
    p: &Principal,
    d: IntakeForm,
    submitted: &[(String, String)],
    errs: &FieldErrors,
    kept: Kept,
) -> AppResult<Response> {
    let actor = p.require::<grants::CreateRequests>()?;
    let t = p.t();
    let grid_worker = p.role().scoped_to_grids();
    let on_the_spot = grid_worker && p.can(Permission::ResolveOnTheSpot);
    let code = d.region_code.clone();
    let (cats, grids, around, qs) = state
        .db
        .read(move |c| {
            let (grids, around) = if grid_worker {
                (org_db::scope_roots(c, actor.scope())?, Vec::new())
            } else {
                (
                    Vec::new(),
                    org_db::choices_around_code(c, actor.scope(), &code)?,
                )
            };
            Ok((
                db::categories(c, false)?,
                grids,
                around,
                db::questions::questions(c, None, false)?,
            ))
        })
        .await?;
    let regions = Picker::new("region", "region_code", t.s("field.region"))
        .selected(d.region_code.clone())
        .required()
        .regions(around, t);
    let spot_categories = if on_the_spot {
        cats.iter()
            .filter(|c| c.on_the_spot)
            .map(|c| t.pick(&c.name, &c.name_en).to_string())
            .collect()
    } else {
        Vec::new()
    };
    let categories = category_names(&cats, t);
    let chosen = d.category_id.parse().unwrap_or(-1);
    let page = IntakePage {
        spot_categories,
        outcomes: outcomes(t),
        l: Layout::new(p, "nav.requests", t.s("requests.new")),
        d,
        channels: channels(p.role())
            .into_iter()
            .map(|c| (c.as_str().to_string(), t.label("channel", c.as_str())))
            .collect(),
        question_sets: crate::requests::questions::question_sets(&qs, &categories, submitted, t),
        categories,
        grids: grids.into_iter().map(|g| (g.code, g.name)).collect(),
        errors: crate::requests::questions::answer_errors(errs, &qs, chosen, t),
        kept,
        regions,
    };
    render_form(&page, !errs.is_empty())
}

pub async fn new(State(state): State<AppState>, p: Principal) -> AppResult<Response> {
    intake_page(
        &state,
        &p,
        IntakeForm::default(),
        &[],
        &FieldErrors::new(),
        Kept::default(),
    )
    .await
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    form: FormData,
) -> AppResult<Response> {
    let actor = p.require::<grants::CreateRequests>()?;
    let (d, pairs): (IntakeForm, _) = crate::requests::questions::form_with_pairs(&form)?;
    let channel = Channel::parse(&d.channel).filter(|c| channels(p.role()).contains(c));
    let parsed = match channel {
        Some(ch) => crate::requests::request_input(
            ch,
            &d.description,
            &d.place,
            (&d.latitude, &d.longitude),
            &d.contact_name,
            &d.contact_phone,
            d.consent.is_some(),
        ),
        None => Err(shiliu_domain::FieldError::new("channel", "err.choice").into()),
    };
    let (code, category) = (
        d.region_code.clone(),
        d.category_id.parse::<i64>().unwrap_or(-1),
    );
    let photos = state.pending.photos(&form, "photos", REQUEST_FILES);
    if opens_a_level(&form.pairs) {
        let kept = keep_for_next_send(&state.pending, &form, photos.files);
        return intake_page(&state, &p, d, &pairs, &photos.errors, kept).await;
    }
    let (input, files) = match parsed {
        Ok(i) if photos.errors.0.is_empty() => (
            i.with_sms_consent(d.sms.is_some()).with_answers(
                crate::requests::questions::submitted_answers(&pairs, category),
            ),
            photos.files,
        ),
        parsed => {
            let mut e = parsed.err().unwrap_or_default();
            e.0.extend(photos.errors.0);
            let kept = keep_for_next_send(&state.pending, &form, photos.files);
            return intake_page(&state, &p, d, &pairs, &e, kept).await;
        }
    };
    let held = files.clone();
    // On the spot, the photos are the resolution's evidence, attached with its step.
    let spot = if d.on_the_spot.is_some() {
        Some((
            p.require::<grants::ResolveOnTheSpot>()?,
            resolution(&d.outcome, &d.reply, (&d.latitude, &d.longitude)),
        ))
    } else {
        None
    };
    let result = state
        .db
        .write(move |c| {
            let region = org_db::region_id_by_code(c, actor.scope(), &code, "region_id")?;
            if let Some((spot, done)) = spot {
                let done = StepInput {
                    photos: files,
                    ..done.map_err(shiliu_db::DbError::Invalid)?
                };
                return db::on_the_spot::take_in_resolved(
                    c, &spot, &input, category, region, &done,
                );
            }
            let r = db::create(c, &actor, &input, category, region, None)?;
            if !files.is_empty() {
                db::files::attach_to(c, &actor, &r, &files, "photos")?;
            }
            Ok(r)
        })
        .await;
    match result {
        Ok(r) => Ok(Redirect::to(&format!("/requests/{}?saved=1", r.id)).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => {
            let kept = keep_for_next_send(&state.pending, &form, held);
            intake_page(&state, &p, d, &pairs, &e, kept).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A step the user may take now, as a small form.
pub struct ActionForm {
    pub code: &'static str,
    pub label: String,
    pub needs_site: bool,
    pub needs_outcome: bool,
    pub needs_rating: bool,
    /// Resolved on the spot: photos (multipart) and "use my location" come with it.
    pub needs_evidence: bool,
    /// A step that cannot be taken back (`Action::is_final`): what ticking the box confirms.
    pub confirm: Option<String>,
    /// Whether the step takes a note (说明); taking a request on (我来办) says all there is.
    pub takes_reason: bool,
}

#[derive(Template)]
#[template(path = "requests/request.html")]
struct DetailPage {
    l: Layout,
    id: i64,
    version: i32,
    facts: Vec<(String, String)>,
    paused: bool,
    actions: Vec<ActionForm>,
    outcomes: Vec<(String, String)>,
    ratings: Vec<(String, String)>,
    /// Reply templates for the request's category: (id, title, text).
    templates: Vec<(String, String, String)>,
    events: Vec<(String, String, String, String, String)>,
    errors: Vec<(String, String)>,
    casework: crate::casework::pages::RequestCasework,
    /// The council meeting that handed this request on, if one did.
    council: Option<crate::councils::pages::RequestOrigin>,
    extras: crate::requests::files::pages::RequestExtras,
    description: String,
    /// A link the request came with (Open311's `media_url`), listed with the files.
    media_url: Option<String>,
    /// The site routing chose when the request came in, while it waits for its first dispatch:
    /// (its name, as the one-tap button names it).
    suggested: Option<String>,
    /// The sites in the caller's scope, for dispatch and transfer.
    sites: crate::web::pickers::Picker,
    /// Photos sent with an earlier try of the resolution on the spot, held for the next send.
    kept: Kept,
}

/// A request as people read it: labelled facts in the reader's language, and its history.
struct Readable {
    r: Request,
    facts: Vec<(String, String)>,
    events: Vec<(String, String, String, String, String)>,
    /// The link the request came with (kept apart from the facts: a page shows it as a link).
    media_url: Option<String>,
    /// The responsible site's name, and the one a transfer is offered to (for what a step
    /// did, in words).
    site: String,
    transfer: String,
}

async fn readable(state: &AppState, p: &Principal, id: i64) -> AppResult<Readable> {
    let actor = p.require::<grants::ViewRequests>()?;
    let t = p.t();
    let (r, events, cats, site, transfer, answers, mut links, point) = state
        .db
        .read(move |c| {
            let r: Request = db::get(c, actor.scope(), id)?;
            let site = org_db::atlas::site_name_of(c, r.site_id)?;
            let transfer = org_db::atlas::site_name_of(c, r.transfer_site_id)?;
            let events = db::events(c, &r)?;
            let handler = db::on_the_spot::handler_of(c, r.id)?;
            let ids: Vec<i64> = events
                .iter()
                .filter_map(|e| e.actor_id)
                .chain(handler)
                .collect();
            let names = shiliu_db::accounts::display_names(c, &ids)?;
            Ok((
                r.clone(),
                (events, names, handler),
                db::categories(c, true)?,
                site,
                transfer,
                db::questions::answers(c, &r)?,
                db::media_links(c, std::slice::from_ref(&r))?,
                db::points(c, std::slice::from_ref(&r))?.remove(&r.id),
            ))
        })
        .await?;
    let category = category_names(&cats, t)
        .into_iter()
        .find(|(i, _)| *i == r.category_id.to_string())
        .map(|(_, n)| n)
        .unwrap_or_default();
    let mut facts = vec![
        (t.s("requests.code").to_string(), r.code.clone()),
        (
            t.s("field.status").to_string(),
            t.label("status", &r.status),
        ),
        (
            t.s("field.channel").to_string(),
            t.label("channel", &r.channel),
        ),
        (t.s("field.category_id").to_string(), category),
        (t.s("field.description").to_string(), r.description.clone()),
    ];
    for (q, value) in answers {
        facts.push((
            t.pick(&q.label, &q.label_en).to_string(),
            shiliu_domain::requests::questions::answer_text(&q.rule(), &value),
        ));
    }
    facts.push((
        t.s("field.place").to_string(),
        r.place.clone().unwrap_or_default(),
    ));
    if let Some(p) = point {
        facts.push((
            t.s("field.point").to_string(),
            t.f(
                "requests.point",
                &[("lat", &p.lat.to_string()), ("long", &p.long.to_string())],
            ),
        ));
    }
    facts.extend([
        (
            t.s("field.contact_name").to_string(),
            r.contact_name.clone().unwrap_or_default(),
        ),
        (
            t.s("field.contact_phone").to_string(),
            r.contact_phone.clone().unwrap_or_default(),
        ),
        (t.s("requests.received").to_string(), minute(r.received_at)),
        (
            t.s("requests.due").to_string(),
            r.due_at.map(minute).unwrap_or_default(),
        ),
        (
            t.s("requests.responsible").to_string(),
            match events.2.and_then(|id| events.1.get(&id)) {
                Some(person) => t.f("requests.handled_in_person", &[("name", person)]),
                None => site.clone(),
            },
        ),
        (
            t.s("requests.routed_by").to_string(),
            routing_words(&r.routed_by, t),
        ),
    ]);
    if !transfer.is_empty() {
        facts.push((t.s("requests.transfer_to").to_string(), transfer.clone()));
    }
    if let Some(at) = r.reminded_at {
        facts.push((t.s("req_action.remind").to_string(), minute(at)));
    }
    if let Some(at) = r.escalated_at {
        facts.push((t.s("req_action.escalate").to_string(), minute(at)));
    }
    if let Some(o) = &r.outcome {
        facts.push((t.s("field.outcome").to_string(), t.label("outcome", o)));
    }
    if let Some(reply) = &r.reply {
        facts.push((t.s("field.reply").to_string(), reply.clone()));
    }
    if let Some(x) = &r.rating {
        facts.push((t.s("field.rating").to_string(), t.label("rating", x)));
    }
    facts.retain(|(_, v)| !v.is_empty());
    let (events, names, _) = events;
    let events = events
        .into_iter()
        .map(|e| {
            (
                minute(e.at),
                actor_name(&e, &names, t),
                t.label("req_action", &e.action),
                t.label("status", &e.to_status),
                with_position(e.note.clone().unwrap_or_default(), &e, t),
            )
        })
        .collect();
    Ok(Readable {
        media_url: links.remove(&r.id),
        site,
        transfer,
        r,
        facts,
        events,
    })
}

/// A step's note with the place it was taken at, where "use my location" gave one.
fn with_position(note: String, e: &shiliu_db::requests::RequestEvent, t: T) -> String {
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
    match detail["position"].as_str() {
        Some(at) => {
            let at = t.f("requests.at_position", &[("at", at)]);
            if note.is_empty() {
                at
            } else {
                format!("{note} · {at}")
            }
        }
        None => note,
    }
}

/// Who took a step, as people know them: a user's display name, "the resident", "the
/// system" (deadlines, reminders), never a login name.
fn actor_name(
    e: &shiliu_db::requests::RequestEvent,
    names: &std::collections::HashMap<i64, String>,
    t: T,
) -> String {
    if let Some(name) = e.actor_id.and_then(|id| names.get(&id)) {
        return name.clone();
    }
    if e.actor == "resident" {
        t.s("actor.resident").to_string()
    } else if e.actor.starts_with("system") {
        t.s("actor.system").to_string()
    } else {
        e.actor.clone()
    }
}

pub(crate) async fn detail_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    errs: &FieldErrors,
    saved: bool,
) -> AppResult<Response> {
    said_page(state, p, id, errs, saved, None, Kept::default()).await
}

/// What a step did, in words that name it and whom it went to ("已派单至北湖街道解忧超市"),
/// from the request as it now stands.
fn what_was_done(t: T, done: Action, site: &str, transfer: &str) -> String {
    t.f(
        &format!("done.{}", done.as_str()),
        &[("site", site), ("to", transfer)],
    )
}

/// The request's page; `done`: the step just taken, said at the top.
async fn said_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    errs: &FieldErrors,
    saved: bool,
    done: Option<Action>,
    kept: Kept,
) -> AppResult<Response> {
    let t = p.t();
    let Readable {
        r,
        facts,
        events,
        media_url,
        site,
        transfer,
    } = readable(state, p, id).await?;
    // The steps on the spot are offered only where the database would take them.
    let spot = if p.can(Permission::ResolveOnTheSpot)
        && r.status().actions().any(Action::is_on_the_spot)
    {
        let (actor, held) = (p.require::<grants::ResolveOnTheSpot>()?, r.clone());
        state
            .db
            .read(move |c| db::on_the_spot::offered(c, &actor, &held))
            .await?
    } else {
        Vec::new()
    };
    let may = |a: &Action| {
        if a.is_on_the_spot() {
            spot.contains(a)
        } else {
            p.can(a.permission())
        }
    };
    let templates = if r
        .status()
        .actions()
        .filter(|a| may(a))
        .any(Action::resolves)
    {
        let category = r.category_id;
        state
            .db
            .read(move |c| db::questions::reply_templates(c, Some(category), false))
            .await?
            .into_iter()
            .map(|x| (x.id.to_string(), x.title, x.body))
            .collect()
    } else {
        Vec::new()
    };
    let actions: Vec<ActionForm> = r
        .status()
        .actions()
        .filter(|a| may(a))
        .map(|a| ActionForm {
            code: a.as_str(),
            label: t.label("req_action", a.as_str()),
            needs_site: matches!(a, Action::Dispatch | Action::Transfer),
            needs_outcome: a.resolves(),
            needs_rating: a == Action::Rate,
            needs_evidence: a == Action::ResolveOnTheSpot,
            takes_reason: a != Action::Take,
            confirm: a.is_final().then(|| {
                t.s(&format!(
                    "req_confirm.{}",
                    if a == Action::Close {
                        "close"
                    } else {
                        "resolve"
                    }
                ))
                .to_string()
            }),
        })
        .collect();
    let mut sites = Picker::new("site-picker", "site_id", t.s("field.target_site"));
    let mut suggested = None;
    if actions.iter().any(|a| a.needs_site) {
        let (site_id, actor) = (r.site_id, p.require::<grants::ViewRequests>()?);
        let (choices, routed) = state
            .db
            .read(move |c| {
                Ok((
                    org_db::site_choices(c, actor.scope())?,
                    org_db::atlas::site_name_of(c, site_id)?,
                ))
            })
            .await?;
        sites = sites.grouped(choices).required();
        let first = r.status() == Status::Received && actions.iter().any(|a| a.code == "dispatch");
        suggested = Some(routed).filter(|n| first && !n.is_empty());
    }
    let page = DetailPage {
        l: Layout::new(
            p,
            "nav.requests",
            &format!("{} · {}", t.s("requests.title"), r.code),
        )
        .flash(saved)
        .said(done.map(|a| what_was_done(t, a, &site, &transfer))),
        id: r.id,
        version: r.version,
        paused: r.paused_at.is_some(),
        facts,
        actions,
        outcomes: outcomes(t),
        ratings: Rating::ALL
            .iter()
            .map(|o| (o.as_str().to_string(), t.label("rating", o.as_str())))
            .collect(),
        templates,
        events,
        errors: t.field_errors(errs),
        casework: crate::casework::pages::for_request(state, p, r.id, r.region_path.clone())
            .await?,
        council: crate::councils::pages::for_request(state, p, &r).await?,
        extras: crate::requests::files::pages::for_request(state, p, &r).await?,
        description: r.description.clone(),
        media_url,
        suggested,
        sites,
        kept,
    };
    render_form(&page, !errs.is_empty())
}

/// The outcomes of a resolution, in the reader's language.
fn outcomes(t: T) -> Vec<(String, String)> {
    Outcome::ALL
        .iter()
        .map(|o| (o.as_str().to_string(), t.label("outcome", o.as_str())))
        .collect()
}

/// A resolution on the spot as a form gives it: the outcome, the reply and where it was done
/// (the photos are added by the caller). Every bad field is reported.
fn resolution(outcome: &str, reply: &str, at: (&str, &str)) -> Result<StepInput, FieldErrors> {
    let position = crate::requests::position("position", at).map_err(FieldErrors::from)?;
    Ok(StepInput {
        action_input: ActionInput {
            outcome: Outcome::parse(outcome),
            reply: Some(reply.to_string()),
            ..ActionInput::default()
        },
        position,
        ..StepInput::default()
    })
}

/// `?done=<action>` after a step: which step was just taken.
#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(s): Query<Saved>,
    Query(d): Query<Done>,
) -> AppResult<Response> {
    let done = Action::parse(&d.done);
    said_page(
        &state,
        &p,
        id,
        &FieldErrors::new(),
        s.yes(),
        done,
        Kept::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct StepForm {
    action: String,
    version: i32,
    /// The site picked (its id); none on a dispatch keeps the site routing chose.
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reply: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    reason: String,
    /// Without JavaScript, a template chosen with an empty reply becomes the reply.
    #[serde(default)]
    reply_template: String,
    /// Where a resolution on the spot was done ("use my location"), in degrees.
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    longitude: String,
    /// Ticked to confirm a step that cannot be taken back (`Action::is_final`).
    #[serde(default)]
    confirm: String,
}

/// One step on a request. The form is multipart when it carries photos (a resolution on the
/// spot); those that passed their checks are held for the next send if the step is refused.
pub async fn step(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let f: StepForm = form.parse()?;
    let Some(action) = Action::parse(&f.action) else {
        return detail_page(
            &state,
            &p,
            id,
            &shiliu_domain::FieldError::new("action", "err.choice").into(),
            false,
        )
        .await;
    };
    let actor = p.require_permission(action.permission())?;
    let reason = Some(f.reason.trim().to_string()).filter(|s| !s.is_empty());
    let mut errs = FieldErrors::new();
    if action.is_final() && f.confirm.is_empty() {
        errs.push(shiliu_domain::FieldError::new(
            "confirm_step",
            "err.confirm_required",
        ));
    }
    let position = errs
        .check(crate::requests::position(
            "position",
            (&f.latitude, &f.longitude),
        ))
        .flatten();
    let photos = if action == Action::ResolveOnTheSpot {
        let got = state.pending.photos(&form, "photos", REQUEST_FILES);
        errs.0.extend(got.errors.0);
        got.files
    } else {
        Vec::new()
    };
    if !errs.is_empty() {
        let kept = keep_for_next_send(&state.pending, &form, photos);
        return said_page(&state, &p, id, &errs, false, None, kept).await;
    }
    let input = StepInput {
        action_input: ActionInput {
            reason: reason.clone(),
            outcome: Outcome::parse(&f.outcome),
            reply: Some(f.reply.clone()),
            rating: Rating::parse(&f.rating),
            ..ActionInput::default()
        },
        note: reason,
        photos: photos.clone(),
        position,
        ..StepInput::default()
    };
    let site = f.site_id.clone();
    let template = f
        .reply_template
        .parse::<i64>()
        .ok()
        .filter(|_| f.reply.trim().is_empty());
    let result = state
        .db
        .write(move |c| {
            let mut input = input;
            if let Some(tid) = template {
                input.action_input.reply = db::questions::reply_templates(c, None, false)?
                    .into_iter()
                    .find(|x| x.id == tid)
                    .map(|x| x.body);
            }
            if !site.trim().is_empty() {
                input.site_id = Some(org_db::picked_site(c, actor.scope(), &site, "target_site")?);
            }
            db::step(c, &actor, id, f.version, action, &input)
        })
        .await;
    match result {
        Err(shiliu_db::DbError::Invalid(e)) => {
            let kept = keep_for_next_send(&state.pending, &form, photos);
            said_page(&state, &p, id, &e, false, None, kept).await
        }
        other => {
            after_form(&state, &p, id, other, |_| {
                format!("/requests/{id}?done={}", action.as_str())
            })
            .await
        }
    }
}

/// After a form on a request's page: on to `to` (from what the write returned), or the
/// request's page again with the errors.
pub(crate) async fn after_form<T>(
    state: &AppState,
    p: &Principal,
    id: i64,
    result: Result<T, shiliu_db::DbError>,
    to: impl FnOnce(T) -> String,
) -> AppResult<Response> {
    match result {
        Ok(v) => Ok(Redirect::to(&to(v)).into_response()),
        Err(shiliu_db::DbError::Invalid(e)) => detail_page(state, p, id, &e, false).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "requests/request_print.html")]
struct PrintPage {
    t: T,
    version: &'static str,
    title: String,
    facts: Vec<(String, String)>,
    events: Vec<(String, String, String, String, String)>,
    printed: String,
}

/// One request on paper: its facts and history, without navigation or forms.
pub async fn print(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let t = p.t();
    let Readable {
        r,
        mut facts,
        events,
        media_url,
        ..
    } = readable(&state, &p, id).await?;
    if let Some(link) = media_url {
        facts.push((t.s("requests.media_url").to_string(), link));
    }
    render(&PrintPage {
        t,
        version: env!("CARGO_PKG_VERSION"),
        title: format!("{} · {}", t.s("requests.title"), r.code),
        facts,
        events,
        printed: t.f(
            "requests.printed",
            &[
                ("by", &p.user().display_name),
                ("at", &minute(shiliu_db::now())),
            ],
        ),
    })
}

/// The most requests one export holds: beyond it the sheet says where it stopped (a region's
/// year is far below it; the whole province's history is an extract for the database).
pub(crate) const EXPORT_MAX: i64 = 100_000;

/// Export the requests matching the filters in the caller's scope, in the list's order, with
/// the columns a clerk files: up to [`EXPORT_MAX`], and a line under the last row saying how
/// many there were when there were more.
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    use crate::web::xlsx::Cell;
    let actor = p.require::<grants::ViewRequests>()?;
    let own = (p.user().site_id, p.user().unit_id);
    let t = p.t();
    let now = shiliu_db::now();
    let q = ListQuery {
        cursor: String::new(),
        ..q
    };
    let keys = state.db.request_keys();
    let (rows, total, cats, regions, sites) = state
        .db
        .read(move |c| {
            let f = q.filter(c, actor.scope(), own, now)?;
            let (sort, _) = q.order()?;
            let (rows, _, total) =
                listing::page_and_count(&keys, c, actor.scope(), &f, sort, None, EXPORT_MAX)?;
            let ids = |of: &dyn Fn(&Request) -> Option<i64>| {
                let mut v: Vec<i64> = rows.iter().filter_map(of).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let regions = org_db::region_names(c, &ids(&|r| Some(r.region_id)))?;
            let sites = org_db::site_names(c, &ids(&|r| r.site_id))?;
            Ok((rows, total, db::categories(c, true)?, regions, sites))
        })
        .await?;
    let names = category_names(&cats, t);
    let name_of = |id: i64| {
        names
            .iter()
            .find(|(i, _)| *i == id.to_string())
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let headers: Vec<String> = [
        "requests.code",
        "requests.received",
        "field.channel",
        "field.category_id",
        "field.description",
        "field.place",
        "field.region",
        "field.site",
        "field.status",
        "requests.due",
        "requests.resolved_at",
        "field.outcome",
        "field.reply",
        "field.rating",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    let label = |prefix: &str, v: Option<&str>| Cell::from(v.map(|v| t.label(prefix, v)));
    let data: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|r| {
            vec![
                Cell::from(&r.code),
                Cell::Minute(r.received_at),
                label("channel", Some(&r.channel)),
                Cell::from(name_of(r.category_id)),
                Cell::from(&r.description),
                Cell::from(r.place.clone()),
                Cell::from(regions.get(&r.region_id).cloned()),
                Cell::from(r.site_id.and_then(|id| sites.get(&id).cloned())),
                label("status", Some(&r.status)),
                r.due_at.map_or(Cell::Empty, Cell::Minute),
                r.resolved_at.map_or(Cell::Empty, Cell::Minute),
                label("outcome", r.outcome.as_deref()),
                Cell::from(r.reply.clone()),
                label("rating", r.rating.as_deref()),
            ]
        })
        .collect();
    let note = (total > EXPORT_MAX).then(|| {
        t.f(
            "requests.export_stopped",
            &[
                ("max", &EXPORT_MAX.to_string()),
                ("total", &total.to_string()),
            ],
        )
    });
    let name = t.s("requests.title");
    Ok(crate::web::xlsx::download(
        &format!("{name}.xlsx"),
        crate::web::xlsx::sheet_with_note(name, &headers, &data, note.as_deref())?,
    ))
}

/// This file's routes: every handler is registered in the file that holds it.
pub(crate) fn routes() -> crate::Routes {
    use axum::routing::{get, post};
    crate::Routes::new(file!())
        .route("/requests", get(list).post(create))
        .route("/requests/new", get(new))
        .route("/requests/export.xlsx", get(export))
        .route("/requests/{id}/print", get(print))
        .route("/requests/{id}", get(show))
        .route("/requests/{id}/step", post(step))
}
