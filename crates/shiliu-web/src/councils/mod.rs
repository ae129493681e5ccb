//! Consultation councils (逢四说事 · 老友议事会): the list, a council's page (its next days,
//! the items waiting, the follow-up, its meetings and members), a meeting's minutes and the
//! items it settled, the printable 会议纪要, the public page residents raise items on and read
//! the decisions at (`/c/{code}`, with the poster's QR code), the statistics, the JSON API.

pub mod api;
pub mod follow_up;
pub mod meetings;
pub mod pages;
pub mod public;
pub mod stats;

use shiliu_domain::councils::{Rhythm, Schedule};

use crate::web::i18n::T;

/// The module's routes, each registered in the file that handles it.
pub(crate) fn routes() -> crate::Routes {
    [
        api::routes(),
        follow_up::routes(),
        meetings::routes(),
        pages::routes(),
        public::routes(),
        stats::routes(),
    ]
    .into_iter()
    .fold(crate::Routes::new(file!()), crate::Routes::merge)
}

/// A council's rhythm in words: 逢四（每月 4、14、24 日）, 每周三, 每月 15 日, 随时召开.
pub(crate) fn rhythm_text(t: T, s: Schedule) -> String {
    let day = s.day.unwrap_or(1).to_string();
    match s.rhythm {
        Rhythm::Weekly => t.f(
            "councils.rhythm_weekly",
            &[("day", t.label("weekday", &day).as_str())],
        ),
        Rhythm::Monthly => t.f("councils.rhythm_monthly", &[("day", day.as_str())]),
        Rhythm::Fourths | Rhythm::AdHoc => t.label("rhythm", s.rhythm.as_str()),
    }
}

/// A council's form as posted (the page's and the API's), every field as text.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct CouncilForm {
    #[serde(default)]
    pub name: String,
    /// The community or village it serves: a region's code.
    #[serde(default, rename = "region_code")]
    pub region: String,
    /// `fourths` (逢四), `weekly`, `monthly` or `ad_hoc`.
    #[serde(default)]
    pub rhythm: String,
    /// A weekly council's weekday (1 Monday … 7 Sunday), a monthly one's day (1–31).
    #[serde(default)]
    pub day: String,
    #[serde(default)]
    pub place: String,
    /// HH:MM, or empty.
    #[serde(default)]
    pub starts_at: String,
}

impl CouncilForm {
    pub fn parse(
        &self,
    ) -> Result<shiliu_domain::councils::CouncilInput, shiliu_domain::FieldErrors> {
        shiliu_domain::councils::CouncilInput::parse(
            &self.name,
            &self.region,
            (&self.rhythm, &self.day),
            &self.place,
            &self.starts_at,
        )
    }

    pub fn of(c: &shiliu_db::councils::Council, region_code: String) -> Self {
        Self {
            name: c.name.clone(),
            region: region_code,
            rhythm: c.rhythm.clone(),
            day: c.day.map(|d| d.to_string()).unwrap_or_default(),
            place: c.place.clone(),
            starts_at: c.starts_at.clone().unwrap_or_default(),
        }
    }
}

/// An item as a form raises it.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct CouncilItemForm {
    /// `in_person` or `grid_worker` (staff); the public page's is `public`.
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub raised_by: String,
    #[serde(default)]
    pub phone: String,
    /// `1`: the one who raised it agreed that their name is shown on the public notice.
    #[serde(default)]
    pub publish_name: Option<String>,
}

/// A select's choices: (value, label).
pub(crate) type Options = Vec<(String, String)>;

/// A council's rhythm choices, and the weekdays, for the form's selects.
pub(crate) fn rhythm_options(t: T) -> (Options, Options) {
    (
        crate::web::page::options(Rhythm::ALL, Rhythm::as_str, "rhythm", t),
        (1..=7)
            .map(|d| {
                let name = t.label("weekday", &d.to_string());
                (
                    d.to_string(),
                    t.f("councils.weekday_n", &[("day", name.as_str())]),
                )
            })
            .collect(),
    )
}

/// The councils' forms name some fields as the rules do not (a rule's `due_on` is a
/// decision's deadline here, not a request's reply deadline).
const ALIASES: [(&str, &str); 11] = [
    ("confirm", "confirm_tick"),
    ("region", "council_region"),
    ("due_on", "council_due_on"),
    ("decision", "council_decision"),
    ("text", "item_text"),
    ("outcome", "item_outcome"),
    ("reason", "decline_reason"),
    ("phone", "contact_phone"),
    ("role", "member_role"),
    ("day", "meeting_day"),
    ("notes", "meeting_notes"),
];

/// (field label, reason) for each error of a councils' form.
pub(crate) fn field_errors(t: T, errs: &shiliu_domain::FieldErrors) -> Vec<(String, String)> {
    t.field_errors_as(errs, &ALIASES)
}

/// The ways in staff take an item by (the public page's is its own).
pub(crate) fn staff_channel(code: &str) -> Option<shiliu_domain::councils::Channel> {
    use shiliu_domain::councils::Channel;
    Channel::parse(code.trim()).filter(|c| matches!(c, Channel::InPerson | Channel::GridWorker))
}

/// A phone number as staff pages show it: the middle four hidden.
pub(crate) fn masked(phone: Option<&str>) -> String {
    phone
        .and_then(|p| shiliu_domain::mobile::Mobile::parse(p).ok())
        .map(|m| m.masked())
        .unwrap_or_default()
}
