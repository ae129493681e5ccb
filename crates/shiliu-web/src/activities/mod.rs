//! Activities (宣传教育 · "十进") and trainings (培训班): the list, quick entry on a phone with
//! photos, one record, the calendar, the units' progress against their yearly targets, the
//! statistics, the lists the commission edits, a training's trainee list, and the JSON API.

pub mod api;
pub mod import;
pub mod lists;
pub mod pages;
pub mod progress;
pub mod stats;
pub mod trainees;

use shiliu_db::activities::{Filter, Term};
use shiliu_domain::FieldErrors;
use shiliu_domain::activities::{ActivityFields, ActivityInput, Form, Venue};

use crate::web::i18n::T;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [
        api::routes(),
        import::routes(),
        lists::routes(),
        pages::routes(),
        progress::routes(),
        stats::routes(),
        trainees::routes(),
    ]
    .into_iter()
    .fold(crate::Routes::new(file!()), crate::Routes::merge)
}

/// A record's form as posted (the page's and the API's), every field as text; materials as
/// `material_<id>` = quantity.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct RecordForm {
    /// `activity` (default) or `training`.
    #[serde(default)]
    pub form: String,
    #[serde(default)]
    pub title: String,
    /// An activity's kind: an id from `/api/v1/activity-terms?list=kind`.
    #[serde(default, rename = "kind_id")]
    pub kind: String,
    /// A "十进" venue code, or empty.
    #[serde(default)]
    pub venue: String,
    /// The organiser: a unit's id.
    #[serde(default, rename = "organiser_unit_id")]
    pub organiser_unit: String,
    #[serde(default)]
    pub co_organisers: String,
    /// Where it was held: a region's code.
    #[serde(default, rename = "region_code")]
    pub region: String,
    /// A site's id, or empty.
    #[serde(default, rename = "site_id")]
    pub site: String,
    /// YYYY-MM-DD
    #[serde(default)]
    pub held_on: String,
    /// HH:MM, or empty.
    #[serde(default)]
    pub starts_at: String,
    /// A training's last day, or empty.
    #[serde(default)]
    pub ends_on: String,
    #[serde(default)]
    pub participants: String,
    /// Material id → quantity.
    #[serde(default)]
    pub materials: Vec<(String, String)>,
    #[serde(default)]
    pub summary: String,
    /// A training's audience: an id from `/api/v1/activity-terms?list=audience`.
    #[serde(default, rename = "audience_id")]
    pub audience: String,
    /// A training's class hours (3 or 3.5).
    #[serde(default)]
    pub hours: String,
    #[serde(default)]
    #[schema(ignore)]
    pub version: i32,
}

impl RecordForm {
    /// The form from a page's posted fields.
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        Self {
            form: get("form"),
            title: get("title"),
            kind: get("activity_kind"),
            venue: get("venue"),
            organiser_unit: get("organiser_unit"),
            co_organisers: get("co_organisers"),
            region: get("region"),
            site: get("site"),
            held_on: get("held_on"),
            starts_at: get("starts_at"),
            ends_on: get("ends_on"),
            participants: get("participants"),
            materials: pairs
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix("material_")
                        .map(|id| (id.to_string(), v.clone()))
                })
                .collect(),
            summary: get("summary"),
            audience: get("audience"),
            hours: get("hours"),
            version: get("version").parse().unwrap_or_default(),
        }
    }

    pub(crate) fn form(&self) -> Form {
        Form::parse(&self.form).unwrap_or(Form::Activity)
    }

    pub(crate) fn parse(&self) -> Result<ActivityInput, FieldErrors> {
        ActivityInput::parse(
            &ActivityFields {
                form: &self.form,
                title: &self.title,
                kind: &self.kind,
                venue: &self.venue,
                organiser_unit: &self.organiser_unit,
                co_organisers: &self.co_organisers,
                region: &self.region,
                site: &self.site,
                held_on: &self.held_on,
                starts_at: &self.starts_at,
                ends_on: &self.ends_on,
                participants: &self.participants,
                materials: self
                    .materials
                    .iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .collect(),
                summary: &self.summary,
                audience: &self.audience,
                hours: &self.hours,
            },
            shiliu_db::today(),
        )
    }

    /// The quantity the form holds for a material.
    pub fn quantity(&self, id: &i64) -> String {
        let id = id.to_string();
        self.materials
            .iter()
            .find(|(m, _)| *m == id)
            .map(|(_, q)| q.clone())
            .unwrap_or_default()
    }

    /// A stored record as its form holds it.
    pub(crate) fn of(
        a: &shiliu_db::activities::Activity,
        region_code: String,
        materials: &[shiliu_db::activities::Material],
    ) -> Self {
        let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
        Self {
            form: a.form.clone(),
            title: a.title.clone(),
            kind: opt(a.kind_id),
            venue: a.venue.clone().unwrap_or_default(),
            organiser_unit: a.organiser_unit_id.to_string(),
            co_organisers: a.co_organisers.clone().unwrap_or_default(),
            region: region_code,
            site: opt(a.site_id),
            held_on: a.held_on.to_string(),
            starts_at: a.starts_at.clone().unwrap_or_default(),
            ends_on: a.ends_on.map(|d| d.to_string()).unwrap_or_default(),
            participants: a.participants.to_string(),
            materials: materials
                .iter()
                .map(|m| (m.term_id.to_string(), m.quantity.to_string()))
                .collect(),
            summary: a.summary.clone().unwrap_or_default(),
            audience: opt(a.audience_id),
            hours: a
                .hours_tenths
                .map(shiliu_domain::activities::hours_text)
                .unwrap_or_default(),
            version: a.version,
        }
    }
}

/// A list's filter as it comes in the address (the page's, the export's and the API's).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct FilterQuery {
    /// `activity` or `training`.
    #[serde(default)]
    pub form: String,
    /// A kind's id.
    #[serde(default)]
    pub kind: String,
    /// A "十进" venue code.
    #[serde(default)]
    pub venue: String,
    /// The organiser unit's id.
    #[serde(default)]
    pub unit: String,
    /// Only within this region (its code).
    #[serde(default)]
    pub region: String,
    /// From this day (YYYY-MM-DD).
    #[serde(default)]
    pub from: String,
    /// Up to this day (YYYY-MM-DD).
    #[serde(default)]
    pub to: String,
    /// The title contains.
    #[serde(default)]
    pub q: String,
}

impl FilterQuery {
    /// The filter without its region (which the database layer resolves in scope); a value
    /// that is not one of the choices is an error naming its field.
    pub(crate) fn filter(&self) -> Result<Filter, FieldErrors> {
        let mut errs = FieldErrors::new();
        let day = |field: &str, v: &str, errs: &mut FieldErrors| match v.trim() {
            "" => None,
            d => errs.check(
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| shiliu_domain::FieldError::new(field, "err.date")),
            ),
        };
        let id = |field: &str, v: &str, errs: &mut FieldErrors| match v.trim() {
            "" => None,
            x => errs.check(
                x.parse::<i64>()
                    .map_err(|_| shiliu_domain::FieldError::new(field, "err.choice")),
            ),
        };
        let f = Filter {
            form: match self.form.trim() {
                "" => None,
                v => errs.check(
                    Form::parse(v)
                        .ok_or_else(|| shiliu_domain::FieldError::new("form", "err.choice")),
                ),
            },
            kind_id: id("activity_kind", &self.kind, &mut errs),
            venue: match self.venue.trim() {
                "" => None,
                v => errs.check(
                    Venue::parse(v)
                        .ok_or_else(|| shiliu_domain::FieldError::new("venue", "err.choice")),
                ),
            },
            unit_id: id("unit", &self.unit, &mut errs),
            within: None,
            from: day("from", &self.from, &mut errs),
            to: day("to", &self.to, &mut errs),
            text: Some(self.q.trim().to_string()).filter(|q| !q.is_empty()),
        };
        errs.into_result()?;
        Ok(f)
    }

    /// The address's query string for these filters (empty ones left out).
    pub(crate) fn query_string(&self) -> String {
        let pairs = [
            ("form", &self.form),
            ("kind", &self.kind),
            ("venue", &self.venue),
            ("unit", &self.unit),
            ("region", &self.region),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", crate::web::urlencode(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// The "十进" venues as a select offers them: (code, label).
pub(crate) fn venue_options(t: T) -> Vec<(String, String)> {
    crate::web::page::options(Venue::ALL, Venue::as_str, "venue", t)
}

/// A list's entries as a select offers them: (id, name).
pub(crate) fn term_options(terms: &[Term]) -> Vec<(String, String)> {
    terms
        .iter()
        .map(|x| (x.id.to_string(), x.name.clone()))
        .collect()
}

/// The name of a list's entry by id (a retired one too: records keep naming it).
pub(crate) fn term_name(terms: &std::collections::HashMap<i64, Term>, id: Option<i64>) -> String {
    id.and_then(|i| terms.get(&i))
        .map(|x| x.name.clone())
        .unwrap_or_default()
}

/// Field errors as a page lists them, a material's by its name.
pub(crate) fn field_errors(t: T, errs: &FieldErrors, materials: &[Term]) -> Vec<(String, String)> {
    let aliases: Vec<(String, String)> = materials
        .iter()
        .map(|m| (format!("material_{}", m.id), m.name.clone()))
        .collect();
    let aliases: Vec<(&str, &str)> = aliases
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    t.field_errors_as(errs, &aliases)
}
