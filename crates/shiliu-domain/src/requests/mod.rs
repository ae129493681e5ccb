//! Requests (诉求): the handling state machine, as one transition table.
//!
//! received (受理) → dispatched (派单) → accepted (接单) or returned (退回) → in progress (办理),
//! with transfers (转办) the receiver accepts or declines and pauses while waiting for the
//! resident → resolved (办结) → rated (回访) → closed (归档); a 不满意 rating may reopen it.
//! A grid worker may take a simple request in their grid before it is dispatched (我来办) and
//! resolve it on the spot (就地办结), with a photo as evidence: the handler is then a person,
//! not a site, and the request goes on to the resident's rating like any other.

pub mod questions;

use crate::error::{optional_text, required_text};
use crate::mobile::{Mobile, Phone};
use crate::{FieldError, FieldErrors, code_enum};

code_enum! {
    /// How a request came in.
    pub enum Channel {
        /// 服务咨询专线: staff enter a caller's request.
        Hotline = "hotline",
        /// A grid worker on a phone.
        Grid = "grid",
        /// At a service site's desk (解忧超市, 民族之家, 服务站).
        WalkIn = "walk_in",
        /// The resident, on the public page, without an account.
        SelfService = "self_service",
        /// Clients of the Open311 `GeoReport` v2 API.
        Open311 = "open311",
    }
}

/// The default category tree, drawn from the documents: (code, name, English name, service
/// level in working days). Administrators edit it; these are only the first values.
pub const DEFAULT_CATEGORIES: [(&str, &str, &str, i64); 12] = [
    (
        "jobs_training",
        "就业与技能培训",
        "Jobs and job training",
        5,
    ),
    (
        "school_places",
        "子女入学入园",
        "School and kindergarten places",
        10,
    ),
    ("renting", "租房租住", "Renting", 5),
    ("legal_aid", "法律援助", "Legal aid", 10),
    ("disputes", "矛盾纠纷调解", "Dispute mediation", 10),
    ("hardship_relief", "困难救助", "Hardship relief", 5),
    ("policy", "政策咨询", "Policy questions", 1),
    ("business_licence", "工商执照办理", "Business licences", 5),
    ("health", "医疗卫生", "Health care", 5),
    ("social_security", "社会保障", "Social security", 10),
    (
        "household_registration",
        "户籍办理",
        "Household registration",
        10,
    ),
    ("other", "其他", "Other", 5),
];

/// A category's editable fields, validated. The service level arrives as a number and a unit
/// (working hours or working days) and is kept in working minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryInput {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub service_minutes: Option<i32>,
    /// 网格员可就地办结: grid workers may take and resolve its requests in their own grids.
    pub on_the_spot: bool,
}

/// A service level as a form gives it: an amount of working days or hours (`unit`), as
/// working minutes; blank: no time limit. Errors name `service_level` (or `unit`).
pub fn service_level(
    amount: &str,
    unit: &str,
    minutes_per_day: i64,
) -> Result<Option<i32>, FieldError> {
    let amount = amount.trim();
    if amount.is_empty() {
        return Ok(None);
    }
    let per = match unit {
        "hours" => 60,
        "days" => minutes_per_day,
        _ => return Err(FieldError::new("unit", "err.choice")),
    };
    match amount.parse::<i64>() {
        Ok(n) if (1..=365).contains(&n) => Ok(Some((n * per) as i32)),
        Ok(_) => Err(FieldError::new("service_level", "err.range")
            .arg("min", 1)
            .arg("max", 365)),
        Err(_) => Err(FieldError::new("service_level", "err.number")),
    }
}

impl CategoryInput {
    pub fn parse(
        code: &str,
        name: &str,
        name_en: &str,
        amount: &str,
        unit: &str,
        minutes_per_day: i64,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let code = errs
            .check(required_text("code", code, 40))
            .map(|c| c.to_lowercase());
        let code_ok = |c: &String| {
            c.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        };
        if code.as_ref().is_some_and(|c| !code_ok(c)) {
            errs.push(FieldError::new("code", "err.code.snake"));
        }
        let name = errs.check(required_text("name", name, 40));
        let name_en = errs.check(optional_text("name_en", name_en, 60)).flatten();
        let service_minutes = errs
            .check(service_level(amount, unit, minutes_per_day))
            .flatten();
        errs.into_result()?;
        let name = name.unwrap_or_default();
        Ok(Self {
            code: code.unwrap_or_default(),
            name_en: name_en.unwrap_or_else(|| name.clone()),
            name,
            service_minutes,
            on_the_spot: false,
        })
    }

    /// The same category with grid workers allowed (or not) to resolve its requests on the
    /// spot.
    #[must_use]
    pub fn with_on_the_spot(mut self, on: bool) -> Self {
        self.on_the_spot = on;
        self
    }
}

/// A reply template's fields, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTemplateInput {
    pub title: String,
    pub body: String,
}

impl ReplyTemplateInput {
    pub fn parse(title: &str, body: &str) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let title = errs.check(required_text("title", title, 40));
        let body = errs.check(required_text("body", body, 2000));
        errs.into_result()?;
        Ok(Self {
            title: title.unwrap_or_default(),
            body: body.unwrap_or_default(),
        })
    }
}

/// Longest media link kept; a link past this is not one a person would follow.
pub const MAX_MEDIA_URL: usize = 1000;

/// An optional `http(s)` link with a host: anything else (`javascript:`, `data:`, a bare
/// path) could run or embed content in a handler's page, so it is refused rather than kept.
pub fn media_url(field: &str, value: &str) -> Result<Option<String>, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.len() > MAX_MEDIA_URL {
        return Err(FieldError::new(field, "err.too_long").arg("max", MAX_MEDIA_URL));
    }
    let lower = v.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    let bad_char =
        |c: char| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\' | '`');
    match host {
        Some(h) if !h.is_empty() && !h.starts_with(['@', ':']) && !v.chars().any(bad_char) => {
            Ok(Some(v.to_string()))
        }
        _ => Err(FieldError::new(field, "err.media_url")),
    }
}

/// A routing rule's keywords: split on spaces and commas, lower-cased, without repeats.
pub fn parse_keywords(input: &str) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for k in input
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == '、')
        .filter(|k| !k.is_empty())
    {
        let k = k.to_lowercase();
        if k.chars().count() > 20 {
            return Err(FieldError::new("keywords", "err.too_long").arg("max", 20));
        }
        if !out.contains(&k) {
            out.push(k);
        }
    }
    if out.len() > 20 {
        return Err(FieldError::new("keywords", "err.too_many_items").arg("max", 20));
    }
    Ok(out)
}

/// Whether any keyword occurs in the text (no keywords: the condition does not apply).
pub fn keywords_match(keywords: &[String], text: &str) -> bool {
    let text = text.to_lowercase();
    keywords.is_empty() || keywords.iter().any(|k| text.contains(k.as_str()))
}

/// Where a request is, as a client gave it in WGS-84 degrees (Open311's `lat` and `long`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub long: f64,
}

impl Point {
    /// Both given and on the globe, or neither (`None`); one without the other is refused on
    /// `lat_field`.
    pub fn parse(lat_field: &str, lat: &str, long: &str) -> Result<Option<Self>, FieldError> {
        let bad = || FieldError::new(lat_field, "err.open311.coordinates");
        match (lat.trim(), long.trim()) {
            ("", "") => Ok(None),
            (a, b) => match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(lat), Ok(long))
                    if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&long) =>
                {
                    Ok(Some(Self { lat, long }))
                }
                _ => Err(bad()),
            },
        }
    }
}

/// A new request as taken in on any channel, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestInput {
    pub channel: Channel,
    pub description: String,
    pub place: Option<String>,
    pub contact_name: Option<String>,
    /// A mobile on every channel but Open311, whose partners may send a landline (the
    /// specification accepts any telephone number).
    pub contact_phone: Option<Phone>,
    /// The resident agreed to the use of their data for handling the request.
    pub consent: bool,
    /// The resident agreed to receive SMS about the request (received, resolved with the
    /// reply, the invitation to rate): asked apart from `consent`, off unless ticked.
    pub sms_consent: bool,
    /// Answers to the category's extra questions, by question code, as submitted; checked
    /// against the questions where the category is known (see [`questions::check_answers`]).
    pub answers: questions::RawAnswers,
    /// A link to a photo or other media about the request, as an Open311 client sends it
    /// (`media_url`): kept and shown as a link, never fetched by the server.
    pub media_url: Option<String>,
    /// Where the request is, when the client gave coordinates.
    pub point: Option<Point>,
}

/// The longest description a request may have, in characters, on every channel: Open311
/// `GeoReport` v2's (a partner's longer text is refused, never cut).
pub const MAX_DESCRIPTION: usize = 4000;

impl RequestInput {
    /// A resident on the public page must give a mobile number (it is how they sign in to follow
    /// the request) and consent; staff may take an anonymous request (a caller who will not give
    /// a number); an Open311 partner may send any telephone number or none.
    pub fn parse(
        channel: Channel,
        description: &str,
        place: &str,
        contact_name: &str,
        contact_phone: &str,
        consent: bool,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let description = errs.check(required_text("description", description, MAX_DESCRIPTION));
        let place = errs.check(optional_text("place", place, 200)).flatten();
        let contact_name = errs
            .check(optional_text("contact_name", contact_name, 40))
            .flatten();
        let contact_phone = match channel {
            _ if contact_phone.trim().is_empty() && channel != Channel::SelfService => None,
            Channel::Open311 => {
                errs.check(Phone::parse(contact_phone).map_err(|e| e.on("contact_phone")))
            }
            _ => errs
                .check(Mobile::parse(contact_phone).map_err(|e| e.on("contact_phone")))
                .map(Phone::from),
        };
        if channel == Channel::SelfService && !consent {
            errs.push(FieldError::new("consent", "err.request.consent"));
        }
        errs.into_result()?;
        Ok(Self {
            channel,
            description: description.unwrap_or_default(),
            place,
            contact_name,
            contact_phone,
            consent,
            sms_consent: false,
            answers: questions::RawAnswers::new(),
            media_url: None,
            point: None,
        })
    }

    /// A parsed request with a link to its media (blank: none), the link's problem reported
    /// together with the other fields'.
    pub fn with_media_url(
        parsed: Result<Self, FieldErrors>,
        field: &str,
        url: &str,
    ) -> Result<Self, FieldErrors> {
        match (parsed, media_url(field, url)) {
            (Ok(mut input), Ok(link)) => {
                input.media_url = link;
                Ok(input)
            }
            (Ok(_), Err(e)) => Err(e.into()),
            (Err(mut errs), Err(e)) => {
                errs.push(e);
                Err(errs)
            }
            (Err(errs), Ok(_)) => Err(errs),
        }
    }

    /// The same request with the resident's answer to "send me SMS about it" (needs a phone
    /// number: without one there is nobody to send to, and the answer is kept as no).
    #[must_use]
    pub fn with_sms_consent(mut self, sms: bool) -> Self {
        self.sms_consent = sms
            && self
                .contact_phone
                .as_ref()
                .is_some_and(|p| p.mobile().is_some());
        self
    }

    /// The same request at a point.
    #[must_use]
    pub fn with_point(mut self, point: Option<Point>) -> Self {
        self.point = point;
        self
    }

    /// The same request with answers to its category's extra questions.
    #[must_use]
    pub fn with_answers(mut self, answers: questions::RawAnswers) -> Self {
        self.answers = answers;
        self
    }
}

/// What a request's history records besides the steps of [`Action`]: its intake, the deadline
/// sweep's reminders and escalations, and notes that do not move it (files attached,
/// co-handling asked and answered, casework opened and closed).
pub const OTHER_EVENTS: &[&str] = &[
    "receive",
    "remind",
    "escalate",
    "attach",
    "cohandle_ask",
    "cohandle_answer",
    "dispute_open",
    "dispute_close",
    "legal_aid_open",
    "legal_aid_close",
];

code_enum! {
    pub enum Status {
        /// 受理: taken in, not yet sent to a handler.
        Received = "received",
        /// 派单: sent to a site or unit, waiting for it to accept.
        Dispatched = "dispatched",
        /// 退回: the site or unit sent it back with a reason; to be dispatched again.
        Returned = "returned",
        /// 接单: accepted by the handler.
        Accepted = "accepted",
        /// 办理: being handled.
        InProgress = "in_progress",
        /// 转办: offered to another site or unit, which has not yet accepted or declined.
        TransferPending = "transfer_pending",
        /// Waiting for the resident (the deadline clock is paused).
        WaitingResident = "waiting_resident",
        /// 办结: resolved, with an outcome and the reply to the resident.
        Resolved = "resolved",
        /// 回访: the resident rated the handling.
        Rated = "rated",
        /// 归档: closed.
        Closed = "closed",
    }
}

code_enum! {
    pub enum Action {
        Dispatch = "dispatch",
        /// 撤回: the dispatcher takes a dispatch back before the handler has accepted it.
        Withdraw = "withdraw",
        Accept = "accept",
        Return = "return",
        Start = "start",
        Transfer = "transfer",
        AcceptTransfer = "accept_transfer",
        DeclineTransfer = "decline_transfer",
        WaitForResident = "wait_for_resident",
        Resume = "resume",
        Resolve = "resolve",
        Rate = "rate",
        Reopen = "reopen",
        Close = "close",
        /// 办理情况: a handler's note on the work so far; the status stays.
        Note = "note",
        /// 我来办: a grid worker takes a request not yet dispatched, in their grid, to handle
        /// it themselves (accepted, with them as the handler).
        Take = "take",
        /// 就地办结: a grid worker resolves a request in their grid there and then, with the
        /// reply and at least one photo as evidence.
        ResolveOnTheSpot = "resolve_on_the_spot",
    }
}

impl Action {
    /// The permission a step of this kind needs: the dispatcher's steps (sending a request out,
    /// taking it back, the call-back rating, reopening and closing) or the handler's.
    pub fn permission(self) -> crate::roles::Permission {
        use crate::roles::Permission;
        match self {
            Self::Dispatch | Self::Withdraw | Self::Rate | Self::Reopen | Self::Close => {
                Permission::DispatchRequests
            }
            Self::Take | Self::ResolveOnTheSpot => Permission::ResolveOnTheSpot,
            _ => Permission::HandleRequests,
        }
    }

    /// A grid worker's step on the spot (我来办, 就地办结): allowed only in the worker's own
    /// grids and in categories that allow it, which the database checks.
    pub fn is_on_the_spot(self) -> bool {
        matches!(self, Self::Take | Self::ResolveOnTheSpot)
    }

    /// Whether the step resolves the request (办结), with an outcome and a reply.
    pub fn resolves(self) -> bool {
        matches!(self, Self::Resolve | Self::ResolveOnTheSpot)
    }

    /// Whether the step cannot be taken back by whoever takes it, so people are asked first: a
    /// resolution is told to the resident and waits for their rating (only a 不满意 rating
    /// reopens it), and a closed request is done with.
    pub fn is_final(self) -> bool {
        self.resolves() || self == Self::Close
    }
}

code_enum! {
    /// 办结结果
    pub enum Outcome {
        Solved = "solved",
        PartlySolved = "partly_solved",
        Unsolved = "unsolved",
    }
}

code_enum! {
    /// 回访评价
    pub enum Rating {
        Satisfied = "satisfied",
        FairlySatisfied = "fairly_satisfied",
        Dissatisfied = "dissatisfied",
    }
}

/// The transition table: from, action, to. Nothing else moves a request.
pub const TRANSITIONS: &[(Status, Action, Status)] = {
    use Action as A;
    use Status as S;
    &[
        (S::Received, A::Dispatch, S::Dispatched),
        (S::Returned, A::Dispatch, S::Dispatched),
        (S::Dispatched, A::Withdraw, S::Received),
        (S::Dispatched, A::Accept, S::Accepted),
        (S::Dispatched, A::Return, S::Returned),
        (S::Accepted, A::Start, S::InProgress),
        (S::Accepted, A::Resolve, S::Resolved),
        (S::InProgress, A::Transfer, S::TransferPending),
        (S::TransferPending, A::AcceptTransfer, S::Accepted),
        (S::TransferPending, A::DeclineTransfer, S::InProgress),
        (S::InProgress, A::WaitForResident, S::WaitingResident),
        (S::WaitingResident, A::Resume, S::InProgress),
        (S::InProgress, A::Resolve, S::Resolved),
        (S::Resolved, A::Rate, S::Rated),
        (S::Rated, A::Reopen, S::InProgress),
        (S::Resolved, A::Close, S::Closed),
        (S::Rated, A::Close, S::Closed),
        (S::Accepted, A::Note, S::Accepted),
        (S::InProgress, A::Note, S::InProgress),
        (S::WaitingResident, A::Note, S::WaitingResident),
        // On the spot: before any dispatch, or once the grid worker has taken it.
        (S::Received, A::Take, S::Accepted),
        (S::Returned, A::Take, S::Accepted),
        (S::Received, A::ResolveOnTheSpot, S::Resolved),
        (S::Returned, A::ResolveOnTheSpot, S::Resolved),
        (S::Accepted, A::ResolveOnTheSpot, S::Resolved),
        // Reopened after a 不满意 rating, it is the grid worker's again.
        (S::InProgress, A::ResolveOnTheSpot, S::Resolved),
    ]
};

impl Status {
    /// Whether the deadline clock runs in this status.
    pub fn clock_runs(self) -> bool {
        matches!(
            self,
            Status::Received
                | Status::Dispatched
                | Status::Returned
                | Status::Accepted
                | Status::InProgress
                | Status::TransferPending
        )
    }

    /// Still to be handled (counts as open in lists and statistics).
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Rated | Status::Closed)
    }

    /// The actions the table allows from here.
    pub fn actions(self) -> impl Iterator<Item = Action> {
        TRANSITIONS
            .iter()
            .filter(move |(f, _, _)| *f == self)
            .map(|(_, a, _)| *a)
    }
}

impl Status {
    /// Whether the handler may ask other units to help (协办): once accepted, until resolved.
    pub fn may_ask_cohandlers(self) -> bool {
        matches!(
            self,
            Status::Accepted | Status::InProgress | Status::WaitingResident
        )
    }
}

/// A request to a co-handling unit (协办): whom (a site's or unit's name) and what is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohandlingInput {
    pub target: String,
    pub asked: String,
}

impl CohandlingInput {
    pub fn parse(target: &str, asked: &str) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let target = errs.check(required_text("cohandler", target, 100));
        let asked = errs.check(required_text("asked", asked, 1000));
        errs.into_result()?;
        Ok(Self {
            target: target.unwrap_or_default(),
            asked: asked.unwrap_or_default(),
        })
    }
}

/// A co-handling unit's answer: what it did.
pub fn parse_cohandling_answer(answer: &str) -> Result<String, FieldError> {
    required_text("answer", answer, 2000)
}

/// What an action carries, checked before the transition is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActionInput {
    /// Why a request is returned or a transfer declined; a note for others.
    pub reason: Option<String>,
    pub outcome: Option<Outcome>,
    /// The reply to the resident, required to resolve.
    pub reply: Option<String>,
    pub rating: Option<Rating>,
    /// The rating the request holds now (for `Reopen`).
    pub current_rating: Option<Rating>,
    /// How many photos come with the step as evidence (`ResolveOnTheSpot` needs one).
    pub photos: usize,
}

/// The status after `action`, or why it is refused (naming the field to fix).
pub fn next(from: Status, action: Action, input: &ActionInput) -> Result<Status, FieldError> {
    let to = TRANSITIONS
        .iter()
        .find(|(f, a, _)| *f == from && *a == action)
        .map(|(_, _, t)| *t)
        .ok_or_else(|| {
            FieldError::new("action", "err.request.transition")
                .arg("from", from)
                .arg("action", action)
        })?;
    let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    match action {
        Action::Return | Action::DeclineTransfer | Action::Note if !present(&input.reason) => {
            Err(FieldError::new("reason", "err.required"))
        }
        a if a.resolves() && input.outcome.is_none() => {
            Err(FieldError::new("outcome", "err.required"))
        }
        a if a.resolves() && !present(&input.reply) => {
            Err(FieldError::new("reply", "err.required"))
        }
        Action::ResolveOnTheSpot if input.photos == 0 => {
            Err(FieldError::new("photos", "err.on_the_spot.photo"))
        }
        Action::Rate if input.rating.is_none() => Err(FieldError::new("rating", "err.required")),
        Action::Reopen if input.current_rating != Some(Rating::Dissatisfied) => {
            Err(FieldError::new("rating", "err.request.rating_reopen"))
        }
        _ => Ok(to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> ActionInput {
        ActionInput {
            reason: Some("不属于本单位职责".into()),
            outcome: Some(Outcome::Solved),
            reply: Some("已协调学位".into()),
            rating: Some(Rating::Satisfied),
            current_rating: Some(Rating::Dissatisfied),
            photos: 1,
        }
    }

    #[test]
    fn a_media_link_is_an_http_link_with_a_host() {
        for ok in [
            "https://img.example.cn/a.jpg",
            "HTTP://192.168.1.2:8080/p?id=1#x",
            "  https://例子.cn/照片.png ",
        ] {
            assert_eq!(
                media_url("media_url", ok).unwrap().as_deref(),
                Some(ok.trim())
            );
        }
        assert_eq!(media_url("media_url", "  ").unwrap(), None);
        for bad in [
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "/files/1",
            "https://",
            "https:///path",
            "https://@evil",
            "https://a.cn/x y",
            "https://a.cn/\"<script>",
            "ftp://a.cn/x",
        ] {
            let e = media_url("media_url", bad).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.reason),
                ("media_url", "err.media_url"),
                "{bad}"
            );
        }
        let long = format!("https://a.cn/{}", "x".repeat(MAX_MEDIA_URL));
        assert_eq!(
            media_url("media_url", &long).unwrap_err().reason,
            "err.too_long"
        );
    }

    #[test]
    fn the_table_is_the_only_way() {
        for from in Status::ALL {
            for action in Action::ALL {
                let allowed = TRANSITIONS.iter().any(|(f, a, _)| f == from && a == action);
                let r = next(*from, *action, &full());
                assert_eq!(r.is_ok(), allowed, "{from} --{action}-->");
                if let Err(e) = r {
                    assert_eq!(e.reason, "err.request.transition");
                }
            }
        }
        assert_eq!(Status::Closed.actions().count(), 0, "closed is final");
        // Each (from, action) appears once: the machine is deterministic.
        for (i, (f, a, _)) in TRANSITIONS.iter().enumerate() {
            assert!(
                !TRANSITIONS[i + 1..]
                    .iter()
                    .any(|(f2, a2, _)| f2 == f && a2 == a)
            );
        }
    }

    #[test]
    fn a_dispatch_is_withdrawn_only_until_it_is_accepted() {
        let none = ActionInput::default();
        assert_eq!(
            next(Status::Dispatched, Action::Withdraw, &none),
            Ok(Status::Received)
        );
        assert!(next(Status::Accepted, Action::Withdraw, &none).is_err());
    }

    #[test]
    fn every_status_is_reachable_and_can_end() {
        let mut reached = vec![Status::Received];
        let mut i = 0;
        while i < reached.len() {
            for (f, _, t) in TRANSITIONS {
                if *f == reached[i] && !reached.contains(t) {
                    reached.push(*t);
                }
            }
            i += 1;
        }
        assert_eq!(reached.len(), Status::ALL.len());
        for s in Status::ALL {
            let mut seen = vec![*s];
            let mut j = 0;
            while j < seen.len() && !seen.contains(&Status::Closed) {
                for (f, _, t) in TRANSITIONS {
                    if *f == seen[j] && !seen.contains(t) {
                        seen.push(*t);
                    }
                }
                j += 1;
            }
            assert!(seen.contains(&Status::Closed), "{s} can reach closed");
        }
    }

    #[test]
    fn actions_need_their_data() {
        let none = ActionInput::default();
        assert_eq!(
            next(Status::Dispatched, Action::Return, &none)
                .unwrap_err()
                .field,
            "reason"
        );
        assert_eq!(
            next(Status::InProgress, Action::Resolve, &none)
                .unwrap_err()
                .field,
            "outcome"
        );
        let no_reply = ActionInput {
            outcome: Some(Outcome::PartlySolved),
            reply: Some("  ".into()),
            ..none.clone()
        };
        assert_eq!(
            next(Status::InProgress, Action::Resolve, &no_reply)
                .unwrap_err()
                .field,
            "reply"
        );
        assert_eq!(
            next(Status::Resolved, Action::Rate, &none)
                .unwrap_err()
                .field,
            "rating"
        );
        let satisfied = ActionInput {
            current_rating: Some(Rating::Satisfied),
            ..none.clone()
        };
        assert_eq!(
            next(Status::Rated, Action::Reopen, &satisfied)
                .unwrap_err()
                .reason,
            "err.request.rating_reopen"
        );
        assert_eq!(
            next(Status::Rated, Action::Reopen, &full()).unwrap(),
            Status::InProgress
        );
        assert_eq!(
            next(Status::Received, Action::Dispatch, &none).unwrap(),
            Status::Dispatched
        );
    }

    #[test]
    fn a_grid_worker_takes_or_resolves_only_what_is_not_yet_dispatched() {
        let none = ActionInput::default();
        for from in [Status::Received, Status::Returned] {
            assert_eq!(next(from, Action::Take, &none), Ok(Status::Accepted));
            assert_eq!(
                next(from, Action::ResolveOnTheSpot, &full()),
                Ok(Status::Resolved)
            );
        }
        // Taken (or reopened), the grid worker resolves it when done.
        for from in [Status::Accepted, Status::InProgress] {
            assert_eq!(
                next(from, Action::ResolveOnTheSpot, &full()),
                Ok(Status::Resolved)
            );
        }
        // With a site, or done: not theirs to take.
        for from in [
            Status::Dispatched,
            Status::InProgress,
            Status::TransferPending,
            Status::Resolved,
            Status::Closed,
        ] {
            assert!(next(from, Action::Take, &none).is_err(), "{from}");
            if from != Status::InProgress {
                assert!(
                    next(from, Action::ResolveOnTheSpot, &full()).is_err(),
                    "{from}"
                );
            }
        }
        assert!(next(Status::Accepted, Action::Take, &none).is_err());
        // The resident rates it like any other resolved request.
        assert_eq!(
            next(Status::Resolved, Action::Rate, &full()),
            Ok(Status::Rated)
        );
    }

    #[test]
    fn on_the_spot_needs_a_reply_an_outcome_and_a_photo() {
        let without = |f: fn(&mut ActionInput)| {
            let mut i = full();
            f(&mut i);
            next(Status::Received, Action::ResolveOnTheSpot, &i)
                .unwrap_err()
                .field
        };
        assert_eq!(without(|i| i.photos = 0), "photos");
        assert_eq!(without(|i| i.reply = Some(" ".into())), "reply");
        assert_eq!(without(|i| i.outcome = None), "outcome");
        // An ordinary resolution by a site needs no photo.
        let no_photo = ActionInput {
            photos: 0,
            ..full()
        };
        assert!(next(Status::InProgress, Action::Resolve, &no_photo).is_ok());
    }

    #[test]
    fn on_the_spot_steps_need_their_own_permission() {
        use crate::roles::{Permission, Role};
        for a in [Action::Take, Action::ResolveOnTheSpot] {
            assert!(a.is_on_the_spot());
            assert_eq!(a.permission(), Permission::ResolveOnTheSpot);
            assert!(Role::GridWorker.allows(a.permission()));
        }
        assert!(!Action::Resolve.is_on_the_spot());
        assert!(!Role::GridWorker.allows(Action::Resolve.permission()));
    }

    #[test]
    fn keywords() {
        assert_eq!(
            parse_keywords(" 押金，房东 押金 Rent ").unwrap(),
            ["押金", "房东", "rent"]
        );
        assert!(keywords_match(
            &parse_keywords("押金").unwrap(),
            "房东不退押金"
        ));
        assert!(!keywords_match(
            &parse_keywords("工资").unwrap(),
            "房东不退押金"
        ));
        assert!(keywords_match(&[], "任何内容"));
        assert!(keywords_match(
            &parse_keywords("rent").unwrap(),
            "RENT overdue"
        ));
    }

    #[test]
    fn category_service_levels() {
        let c = CategoryInput::parse("Renting", "租房", "", "3", "days", 390).unwrap();
        assert_eq!(
            (c.code.as_str(), c.service_minutes, c.name_en.as_str()),
            ("renting", Some(1170), "租房")
        );
        assert_eq!(
            CategoryInput::parse("x", "y", "", "8", "hours", 390)
                .unwrap()
                .service_minutes,
            Some(480)
        );
        assert_eq!(
            CategoryInput::parse("x", "y", "", "", "days", 390)
                .unwrap()
                .service_minutes,
            None
        );
        let e = CategoryInput::parse("a b", "", "", "0", "weeks", 390).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["code", "name", "unit"]);
        assert_eq!(
            CategoryInput::parse("x", "y", "", "400", "days", 390)
                .unwrap_err()
                .0[0]
                .reason,
            "err.range"
        );
    }

    #[test]
    fn intake_rules_by_channel() {
        let e = RequestInput::parse(Channel::SelfService, "", "", "", "", false).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["description", "contact_phone", "consent"]);
        let ok = RequestInput::parse(
            Channel::Hotline,
            " 孩子入学需要哪些材料？ ",
            "",
            "",
            "",
            false,
        )
        .unwrap();
        assert_eq!(ok.description, "孩子入学需要哪些材料？");
        assert_eq!(ok.contact_phone, None, "a caller may stay anonymous");
        let bad_phone =
            RequestInput::parse(Channel::Grid, "租房押金纠纷", "", "", "12345", false).unwrap_err();
        assert_eq!(bad_phone.0[0].field, "contact_phone");
        assert_eq!(DEFAULT_CATEGORIES.len(), 12);
    }

    #[test]
    fn the_clock_pauses_only_while_waiting_or_done() {
        assert!(!Status::WaitingResident.clock_runs());
        assert!(Status::TransferPending.clock_runs());
        assert!(!Status::Resolved.clock_runs());
        assert!(Status::Returned.is_open() && !Status::Rated.is_open());
    }
}
