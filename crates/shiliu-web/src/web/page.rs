//! What every page shares: the layout around it, rendering, the error page, and the small
//! helpers forms use.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use shiliu_domain::roles::Permission;

use crate::web::error::{AppError, AppResult, ErrorInfo};
use crate::web::i18n::T;
use crate::web::{Ctx, Principal, Via, urlencode};

pub struct NavItem {
    pub key: &'static str,
    pub href: &'static str,
}

pub struct NavUser {
    pub display_name: String,
    pub role_label: String,
}

/// What the base template needs.
pub struct Layout {
    pub t: T,
    pub title: String,
    pub user: Option<NavUser>,
    pub nav: Vec<NavItem>,
    pub active: &'static str,
    pub csrf: String,
    pub other_lang: &'static str,
    pub back: String,
    pub flash: Option<String>,
    pub version: &'static str,
    /// Whether the user has an inbox (the header's bell), and their unread messages.
    pub inbox: bool,
    pub unread: i64,
}

/// The navigation: each module appears for the roles that may use it (any of its
/// permissions; none listed: everyone).
const NAV: [(&str, &str, &[Permission]); 18] = [
    ("nav.home", "/", &[]),
    (
        "nav.dashboard",
        "/dashboard",
        &[Permission::ViewRequests, Permission::ViewRegistry],
    ),
    ("nav.requests", "/requests", &[Permission::ViewRequests]),
    ("nav.registry", "/registry", &[Permission::ViewRegistry]),
    ("nav.disputes", "/disputes", &[Permission::ViewRequests]),
    ("nav.legal_aid", "/legal-aid", &[Permission::ViewRequests]),
    (
        "nav.evaluations",
        "/evaluations",
        &[
            Permission::ManageEvaluations,
            Permission::ReviewEvaluations,
            Permission::ReportEvaluations,
            Permission::ViewEvaluations,
        ],
    ),
    (
        "nav.plans",
        "/plans",
        &[Permission::ViewTasks, Permission::ReportTasks],
    ),
    (
        "nav.activities",
        "/activities",
        &[Permission::ViewActivities],
    ),
    ("nav.councils", "/councils", &[Permission::ViewCouncils]),
    ("nav.regions", "/regions", &[Permission::ViewOrg]),
    ("nav.sites", "/sites", &[Permission::ViewOrg]),
    ("nav.units", "/units", &[Permission::ViewOrg]),
    ("nav.users", "/users", &[Permission::ManageUsers]),
    ("nav.audit", "/audit", &[Permission::ViewAudit]),
    ("nav.tokens", "/tokens", &[Permission::ManageApiTokens]),
    (
        "nav.settings",
        "/settings/categories",
        &[Permission::ManageRequestSettings],
    ),
    ("nav.reference", "/reference", &[Permission::ViewOrg]),
];

impl Layout {
    pub fn anonymous(ctx: &Ctx, title: &str) -> Self {
        Self {
            t: ctx.t,
            title: title.to_string(),
            user: None,
            nav: Vec::new(),
            active: "",
            csrf: String::new(),
            other_lang: ctx.t.lang.other().code(),
            back: urlencode(&ctx.path),
            flash: None,
            version: env!("CARGO_PKG_VERSION"),
            inbox: false,
            unread: 0,
        }
    }

    pub fn new(p: &Principal, active: &'static str, title: &str) -> Self {
        let t = p.t();
        let mut l = Self::anonymous(&p.ctx, title);
        l.user = Some(NavUser {
            display_name: p.user().display_name.clone(),
            role_label: t.label("role", p.role().as_str()),
        });
        l.nav = NAV
            .iter()
            .filter(|(_, _, perms)| perms.is_empty() || perms.iter().any(|x| p.can(*x)))
            .map(|(key, href, _)| NavItem { key, href })
            .collect();
        l.active = active;
        l.csrf = p.csrf().to_string();
        l.inbox = p.can(Permission::ViewRequests);
        if let Via::Session { unread, .. } = &p.via {
            l.unread = *unread;
        }
        l
    }

    /// A stored timestamp as people read it, in local (China) time, to the minute.
    pub fn minute<D: std::borrow::Borrow<chrono::NaiveDateTime>>(&self, t: D) -> String {
        show_minute(*t.borrow())
    }

    /// The same, to the second (the audit log).
    pub fn second<D: std::borrow::Borrow<chrono::NaiveDateTime>>(&self, t: D) -> String {
        shiliu_domain::calendar::local(*t.borrow())
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }

    /// The local date of a stored timestamp.
    pub fn day<D: std::borrow::Borrow<chrono::NaiveDateTime>>(&self, t: D) -> String {
        shiliu_domain::calendar::local(*t.borrow())
            .format("%Y-%m-%d")
            .to_string()
    }

    /// Say what was just done, in words of its own (in place of the plain "saved").
    #[must_use]
    pub fn said(mut self, what: Option<String>) -> Self {
        if what.is_some() {
            self.flash = what;
        }
        self
    }

    #[must_use]
    pub fn flash(mut self, saved: bool) -> Self {
        if saved {
            self.flash = Some(self.t.s("saved").to_string());
        }
        self
    }
}

/// Codes with their labels in the reader's language, for a select.
pub(crate) fn options<E: Copy>(
    all: &[E],
    code: fn(E) -> &'static str,
    prefix: &str,
    t: T,
) -> Vec<(String, String)> {
    all.iter()
        .map(|e| (code(*e).to_string(), t.label(prefix, code(*e))))
        .collect()
}

/// The 56 peoples (GB 3304 code, name), for a select.
pub(crate) fn people_options() -> Vec<(String, String)> {
    shiliu_domain::peoples::all()
        .iter()
        .map(|x| (x.code.to_string(), x.name.to_string()))
        .collect()
}

/// A stored timestamp in local (China) time, to the minute: the one way pages show times.
/// Region ids of a materialised path (`/1/2/3/`), top down.
pub(crate) fn path_ids(path: &str) -> Vec<i64> {
    path.split('/').filter_map(|s| s.parse().ok()).collect()
}

pub fn show_minute(t: chrono::NaiveDateTime) -> String {
    shiliu_domain::calendar::local(t)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The UTC moment a local date begins (for date filters people type in local dates).
pub fn local_day_start(d: chrono::NaiveDate) -> chrono::NaiveDateTime {
    shiliu_domain::calendar::utc(d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

pub fn render<Tpl: Template>(tpl: &Tpl) -> AppResult<Response> {
    let html = tpl
        .render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))?;
    Ok(Html(html).into_response())
}

/// A form page shown again with its errors: 422 when there are any, so clients and tests can
/// tell a refused submission from a page view.
pub fn render_form<Tpl: Template>(tpl: &Tpl, has_errors: bool) -> AppResult<Response> {
    let mut r = render(tpl)?;
    if has_errors {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// Rows one page of a list shows, on a page or through the API.
pub const PAGE: i64 = 50;

/// Where a long list computed whole (a board, a tally) is, for `_pager.html`: "lines 101–200
/// of 5,000" and the addresses of the pages before and after, if any. Lists read from an index
/// page by cursor instead.
pub struct Pager {
    pub shown: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl Pager {
    /// The page of `size` lines starting at `from` (kept within the list) of `total`; `base` is
    /// the list's address with its filters, to which `from=` is added. Nothing is said of a
    /// list that fits on one page.
    pub fn new(t: T, (from, size, total): (usize, usize, usize), base: &str) -> Self {
        let sep = if base.contains('?') { "&" } else { "?" };
        let at = |n: usize| format!("{base}{sep}from={n}");
        let end = (from + size).min(total);
        Self {
            shown: if total > size {
                t.f(
                    "list.shown",
                    &[
                        ("from", &(from + 1).to_string()),
                        ("to", &end.to_string()),
                        ("total", &total.to_string()),
                    ],
                )
            } else {
                String::new()
            },
            before: (from > 0).then(|| at(from.saturating_sub(size))),
            after: (end < total).then(|| at(end)),
        }
    }

    /// The first line of the page `from` asks for (a number, or nothing for the first), moved
    /// back onto the list's last page when past it; anything else is refused, naming `from`.
    pub fn start(from: &str, size: usize, total: usize) -> Result<usize, AppError> {
        Ok(Self::within(Self::asked(from)?, size, total))
    }

    /// The line `from` asks for, as given.
    pub fn asked(from: &str) -> Result<usize, AppError> {
        match from.trim() {
            "" => Ok(0),
            n => n.parse::<usize>().map_err(|_| {
                AppError::Invalid(shiliu_domain::FieldError::new("from", "err.choice").into())
            }),
        }
    }

    /// Line `n`, moved back onto the last page of `total` lines when past it.
    pub fn within(n: usize, size: usize, total: usize) -> usize {
        n.min(total.saturating_sub(1) / size * size)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    l: Layout,
    message: String,
    details: Vec<(String, String)>,
    request_id_line: String,
}

/// The body of an error response: the API envelope or a friendly page. Internal causes are
/// logged here, with the request id, and never sent.
pub fn render_error(ctx: &Ctx, info: &ErrorInfo, api: bool) -> Response {
    if let Some(cause) = &info.internal {
        tracing::error!(request_id = %ctx.request_id, code = info.code, cause = %cause, "internal error");
    }
    let t = ctx.t;
    let details: Vec<(String, String)> = info
        .details
        .as_ref()
        .map(|d| {
            d.0.iter()
                .map(|e| (e.field.clone(), t.field_error(e)))
                .collect()
        })
        .unwrap_or_default();
    let mut resp = if ctx.path.starts_with("/open311/") {
        crate::requests::open311::outer_error(
            &ctx.path,
            t,
            info.status,
            t.s(info.message_key),
            info.details.as_ref(),
        )
    } else if api {
        let details_json: serde_json::Map<String, serde_json::Value> = details
            .iter()
            .map(|(f, m)| (f.clone(), serde_json::Value::String(m.clone())))
            .collect();
        let body = serde_json::json!({"error": {
            "code": info.code,
            "message": t.s(info.message_key),
            "details": details_json,
            "request_id": ctx.request_id,
        }});
        (info.status, axum::Json(body)).into_response()
    } else {
        let page = ErrorPage {
            l: Layout::anonymous(ctx, t.s("err.title")),
            message: t.s(info.message_key).to_string(),
            details: details.into_iter().map(|(f, m)| (t.field(&f), m)).collect(),
            request_id_line: t.f("err.request_id", &[("id", &ctx.request_id)]),
        };
        let html = page
            .render()
            .unwrap_or_else(|_| t.s(info.message_key).to_string());
        (info.status, Html(html)).into_response()
    };
    if info.status == StatusCode::UNAUTHORIZED && api {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

/// `saved=1` after a successful form post shows the confirmation; `done=<step>` names the
/// step, for a page that says what it did in words of its own.
#[derive(Deserialize, Default)]
pub struct Saved {
    #[serde(default)]
    pub saved: Option<String>,
    #[serde(default)]
    pub done: String,
}

impl Saved {
    /// The step just taken, if it is one of `steps` (anything else in the address is ignored).
    pub fn done<'a>(&self, steps: &[&'a str]) -> Option<&'a str> {
        steps.iter().copied().find(|s| *s == self.done)
    }

    pub fn yes(&self) -> bool {
        self.saved.is_some()
    }
}

/// A text cut into runs, each marked when it is one of the words searched for, for a list to
/// show them highlighted (`<mark>`): the runs are escaped by the template like any text.
/// Case is ignored for Latin letters; where words overlap, the longer one is marked.
pub fn marked(text: &str, words: &[String]) -> Vec<(String, bool)> {
    let chars: Vec<char> = text.chars().collect();
    let folded: Vec<char> = chars.iter().map(char::to_ascii_lowercase).collect();
    let mut words: Vec<Vec<char>> = words
        .iter()
        .map(|w| {
            w.chars()
                .map(|c| c.to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter(|w| !w.is_empty())
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let mut runs: Vec<(String, bool)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let hit = words
            .iter()
            .find(|w| folded[i..].starts_with(w))
            .map(Vec::len);
        let (len, mark) = hit.map_or((1, false), |n| (n, true));
        let piece: String = chars[i..i + len].iter().collect();
        match runs.last_mut() {
            Some((run, m)) if *m == mark && !mark => run.push_str(&piece),
            _ => runs.push((piece, mark)),
        }
        i += len;
    }
    runs
}

/// For the token list: a session that is not an API token.
pub fn is_session(p: &Principal) -> bool {
    matches!(p.via, Via::Session { .. })
}

/// Where to go after login or a language switch: only a path on this site, or `/`.
///
/// The value arrives decoded, so it is taken only when it is already a plain path: a `/`
/// not followed by `/` or `\` (which a browser reads as another host), and nothing but
/// visible ASCII (a tab or newline is dropped by browsers, turning `/\t/evil.example` into
/// `//evil.example`, and cannot go into a header at all), parsing as a URI path.
pub(crate) fn safe_next(next: &str) -> String {
    let plain = next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    let local = next.starts_with('/') && !next.starts_with("//");
    if plain && local && next.parse::<axum::http::uri::PathAndQuery>().is_ok() {
        next.to_string()
    } else {
        "/".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::{Pager, marked};
    use crate::web::i18n::{Lang, T};

    #[test]
    fn a_pager_says_where_the_page_is_and_links_its_neighbours() {
        let t = T::new(Lang::ZhCn);
        let p = Pager::new(t, (100, 100, 250), "/b?unit=1");
        assert_eq!(p.shown, "第 101–200 条，共 250 条");
        assert_eq!(p.before.as_deref(), Some("/b?unit=1&from=0"));
        assert_eq!(p.after.as_deref(), Some("/b?unit=1&from=200"));
        let last = Pager::new(t, (200, 100, 250), "/b");
        assert_eq!(last.after, None);
        assert_eq!(last.before.as_deref(), Some("/b?from=100"));
        assert!(
            Pager::new(t, (0, 100, 100), "/b").shown.is_empty(),
            "one page"
        );
        assert_eq!(Pager::start("", 100, 250).ok(), Some(0));
        assert_eq!(
            Pager::start("9999", 100, 250).ok(),
            Some(200),
            "past the end"
        );
        assert_eq!(Pager::start("0", 100, 0).ok(), Some(0));
        assert!(Pager::start("-1", 100, 250).is_err());
    }

    #[test]
    fn the_words_searched_for_are_marked_in_a_text_and_nothing_else() {
        let words = vec!["工资".to_string(), "abc".to_string()];
        assert_eq!(
            marked("拖欠工资ABC<b>", &words),
            vec![
                ("拖欠".to_string(), false),
                ("工资".to_string(), true),
                ("ABC".to_string(), true),
                ("<b>".to_string(), false),
            ]
        );
    }
}
