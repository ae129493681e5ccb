//! Activities (宣传教育活动), trainings (培训班) and the yearly targets a unit's are counted
//! against: what a record must hold, the "十进" venues, and how progress against a target reads.
//!
//! The kinds of activity, the materials handed out and a training's audiences are lists the
//! commission edits ([`TermList`]); a record names its choices from them by id, which the
//! database layer checks against the list.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, NaiveTime};
use serde::Serialize;

use crate::error::{optional_text, required_text};
use crate::{FieldError, FieldErrors};

crate::code_enum! {
    /// What a task bound to a unit's activity records counts of them over a report's period
    /// (its figure then fills in by itself).
    pub enum Tally {
        /// 活动场次
        Activities = "activities",
        /// 培训班期数
        Trainings = "trainings",
        /// 活动参与人次
        Participants = "participants",
        /// "十进" venues reached (at most ten)
        Venues = "venues",
    }
}

crate::code_enum! {
    /// The "十进" campaign's ten kinds of place an activity goes into.
    pub enum Venue {
        Offices = "offices",
        Enterprises = "enterprises",
        Communities = "communities",
        Townships = "townships",
        Schools = "schools",
        ReligiousSites = "religious_sites",
        Barracks = "barracks",
        ServiceWindows = "service_windows",
        ScenicSpots = "scenic_spots",
        Families = "families",
    }
}

crate::code_enum! {
    /// What a record is: an activity held, or a training class run.
    pub enum Form {
        Activity = "activity",
        Training = "training",
    }
}

crate::code_enum! {
    /// The lists the commission edits.
    pub enum TermList {
        /// 宣讲, 文艺演出, 民族节庆…
        Kind = "kind",
        /// 宣传单 (份), 横幅 (条), 展板 (块)…: counted per activity.
        Material = "material",
        /// A training's trainees: 干部, 教师, 网格员…
        Audience = "audience",
    }
}

/// An entry of one of the lists, as its form holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermInput {
    pub name: String,
    /// What a material is counted in (份, 条, 块); none for the other lists.
    pub unit_word: Option<String>,
}

impl TermInput {
    pub fn parse(list: TermList, name: &str, unit_word: &str) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(required_text("name", name, 20));
        let unit_word = if list == TermList::Material {
            errs.check(required_text("unit_word", unit_word, 4))
                .map(Some)
        } else {
            Some(None)
        };
        errs.into_result()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            unit_word: unit_word.flatten(),
        })
    }
}

/// The most people one record may count: more than any hall or square holds, so a typo of
/// extra zeros is caught.
pub const MAX_PARTICIPANTS: i32 = 100_000;
/// The most of one material one activity may count.
pub const MAX_QUANTITY: i32 = 1_000_000;

/// A record as its form holds it, checked. The ids picked from lists (kind, audience,
/// materials, organiser, place) are checked against the lists by the database layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityInput {
    pub form: Form,
    pub title: String,
    /// An activity's kind; a training has none.
    pub kind_id: Option<i64>,
    pub venue: Option<Venue>,
    pub organiser_unit_id: i64,
    pub co_organisers: Option<String>,
    /// Where it was held: the code of a region picked from the caller's.
    pub region_code: String,
    pub site_id: Option<i64>,
    pub held_on: NaiveDate,
    pub starts_at: Option<NaiveTime>,
    /// A training's last day, when it runs over several.
    pub ends_on: Option<NaiveDate>,
    pub participants: i32,
    /// Material id → how many.
    pub materials: Vec<(i64, i32)>,
    pub summary: Option<String>,
    /// A training's audience.
    pub audience_id: Option<i64>,
    /// A training's class hours, in tenths (3.5 学时 → 35).
    pub hours_tenths: Option<i32>,
}

/// The fields of a record's form, as text.
#[derive(Debug, Clone, Default)]
pub struct ActivityFields<'a> {
    pub form: &'a str,
    pub title: &'a str,
    pub kind: &'a str,
    pub venue: &'a str,
    pub organiser_unit: &'a str,
    pub co_organisers: &'a str,
    pub region: &'a str,
    pub site: &'a str,
    pub held_on: &'a str,
    pub starts_at: &'a str,
    pub ends_on: &'a str,
    pub participants: &'a str,
    /// (material id, quantity) as posted; blank quantities are skipped.
    pub materials: Vec<(&'a str, &'a str)>,
    pub summary: &'a str,
    pub audience: &'a str,
    pub hours: &'a str,
}

/// An id picked from a list: required, and a number (whether it is one of the choices is the
/// database's to say).
fn picked(field: &str, value: &str) -> Result<i64, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "err.required"));
    }
    v.parse().map_err(|_| FieldError::new(field, "err.choice"))
}

fn picked_optional(field: &str, value: &str) -> Result<Option<i64>, FieldError> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        picked(field, value).map(Some)
    }
}

pub(crate) fn day(field: &str, value: &str) -> Result<NaiveDate, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "err.required"));
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| FieldError::new(field, "err.date"))
}

/// A whole number in `0..=max`, required.
pub(crate) fn count(field: &str, value: &str, max: i32) -> Result<i32, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "err.required"));
    }
    match v.parse::<i32>() {
        Ok(n) if (0..=max).contains(&n) => Ok(n),
        _ => Err(FieldError::new(field, "err.activities.count").arg("max", max)),
    }
}

/// Class hours with at most one decimal (3, 3.5), more than 0 and at most 200, in tenths.
fn hours(value: &str) -> Result<i32, FieldError> {
    let bad = || FieldError::new("hours", "err.activities.hours");
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new("hours", "err.required"));
    }
    let (whole, tenth) = v.split_once('.').unwrap_or((v, "0"));
    if whole.is_empty() || tenth.len() != 1 {
        return Err(bad());
    }
    let whole: i32 = whole.parse().map_err(|_| bad())?;
    let tenth: i32 = tenth.parse().map_err(|_| bad())?;
    let t = whole.checked_mul(10).and_then(|w| w.checked_add(tenth));
    t.filter(|t| (1..=2000).contains(t)).ok_or_else(bad)
}

/// 3.5 学时 as it reads (35 → "3.5", 30 → "3").
pub fn hours_text(tenths: i32) -> String {
    if tenths % 10 == 0 {
        (tenths / 10).to_string()
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

impl ActivityInput {
    /// `today` bounds the date: a record is of something held, or planned within a year.
    pub fn parse(f: &ActivityFields<'_>, today: NaiveDate) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let form = Form::parse(f.form.trim()).unwrap_or(Form::Activity);
        let title = errs.check(required_text("title", f.title, 100));
        let kind_id = match form {
            Form::Activity => errs.check(picked("activity_kind", f.kind)).map(Some),
            Form::Training => Some(None),
        };
        let venue = match f.venue.trim() {
            "" => None,
            v => {
                let parsed = Venue::parse(v);
                if parsed.is_none() {
                    errs.push(FieldError::new("venue", "err.choice"));
                }
                parsed
            }
        };
        let organiser_unit_id = errs.check(picked("organiser_unit", f.organiser_unit));
        let co_organisers = errs.check(optional_text("co_organisers", f.co_organisers, 200));
        let region_code = errs.check(required_text("region", f.region, 20));
        let site_id = errs.check(picked_optional("site", f.site));
        let held_on = errs.check(day("held_on", f.held_on));
        if let Some(d) = held_on
            && (d.year() < 2000 || d > today + chrono::Days::new(366))
        {
            errs.push(FieldError::new("held_on", "err.activities.held_on"));
        }
        let starts_at = match f.starts_at.trim() {
            "" => Some(None),
            t => errs
                .check(
                    NaiveTime::parse_from_str(t, "%H:%M")
                        .map_err(|_| FieldError::new("starts_at", "err.activities.time")),
                )
                .map(Some),
        };
        let ends_on = match (form, f.ends_on.trim()) {
            (Form::Activity, _) | (Form::Training, "") => Some(None),
            (Form::Training, v) => errs.check(day("ends_on", v)).map(Some),
        };
        if let (Some(s), Some(Some(e))) = (held_on, ends_on)
            && e < s
        {
            errs.push(FieldError::new("ends_on", "err.date.before_start"));
        }
        let participants = errs.check(count("participants", f.participants, MAX_PARTICIPANTS));
        let mut materials: Vec<(i64, i32)> = Vec::new();
        for (id, quantity) in &f.materials {
            if quantity.trim().is_empty() || quantity.trim() == "0" {
                continue;
            }
            let field = format!("material_{}", id.trim());
            match (
                errs.check(picked(&field, id)),
                errs.check(count(&field, quantity, MAX_QUANTITY)),
            ) {
                (Some(id), Some(q)) if !materials.iter().any(|(m, _)| *m == id) => {
                    materials.push((id, q));
                }
                (Some(_), Some(_)) => errs.push(FieldError::new(&field, "err.duplicate")),
                _ => {}
            }
        }
        let summary = errs.check(optional_text("summary", f.summary, 4_000));
        let (audience_id, hours_tenths) = match form {
            Form::Activity => (Some(None), Some(None)),
            Form::Training => (
                errs.check(picked("audience", f.audience)).map(Some),
                errs.check(hours(f.hours)).map(Some),
            ),
        };
        errs.into_result()?;
        let missing = || FieldErrors::from(FieldError::new("form", "err.required"));
        Ok(Self {
            form,
            title: title.ok_or_else(missing)?,
            kind_id: kind_id.ok_or_else(missing)?,
            venue,
            organiser_unit_id: organiser_unit_id.ok_or_else(missing)?,
            co_organisers: co_organisers.ok_or_else(missing)?,
            region_code: region_code.ok_or_else(missing)?,
            site_id: site_id.ok_or_else(missing)?,
            held_on: held_on.ok_or_else(missing)?,
            starts_at: starts_at.ok_or_else(missing)?,
            ends_on: ends_on.ok_or_else(missing)?,
            participants: participants.ok_or_else(missing)?,
            materials,
            summary: summary.ok_or_else(missing)?,
            audience_id: audience_id.ok_or_else(missing)?,
            hours_tenths: hours_tenths.ok_or_else(missing)?,
        })
    }
}

/// One trainee of a training's list (培训班学员名单): who, where from, and a phone to reach them
/// (shown masked). A training with a list counts its trainees from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraineeInput {
    pub name: String,
    /// Their unit or workplace (学校, 乡镇, 社区…), as they write it: trainees come from
    /// anywhere, not only from the units Shiliu knows.
    pub organisation: Option<String>,
    /// 职务.
    pub post: Option<String>,
    pub phone: Option<crate::mobile::Mobile>,
}

/// The most trainees one training's list holds (a large class, several sittings).
pub const MOST_TRAINEES: usize = 2_000;

impl TraineeInput {
    pub fn parse(
        name: &str,
        organisation: &str,
        post: &str,
        phone: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(required_text("trainee_name", name, 40));
        let organisation = errs.check(optional_text("trainee_organisation", organisation, 60));
        let post = errs.check(optional_text("trainee_post", post, 30));
        let phone = match phone.trim() {
            "" => Some(None),
            p => errs
                .check(crate::mobile::Mobile::parse(p).map_err(|e| e.on("trainee_phone")))
                .map(Some),
        };
        errs.into_result()?;
        match (name, organisation, post, phone) {
            (Some(name), Some(organisation), Some(post), Some(phone)) => Ok(Self {
                name,
                organisation,
                post,
                phone,
            }),
            _ => Err(FieldError::new("trainee_name", "err.required").into()),
        }
    }
}

/// A unit's target for a year (年度目标): how many activities and trainings, and whether every
/// "十进" venue must be reached at least once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Target {
    pub activities: i32,
    pub trainings: i32,
    pub every_venue: bool,
}

impl Target {
    pub fn parse(
        activities: &str,
        trainings: &str,
        every_venue: bool,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let a = errs.check(count("activities", activities, 10_000));
        let t = errs.check(count("trainings", trainings, 1_000));
        errs.into_result()?;
        Ok(Self {
            activities: a.unwrap_or_default(),
            trainings: t.unwrap_or_default(),
            every_venue,
        })
    }
}

/// What a unit held in a year, counted from its records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub activities: i64,
    pub trainings: i64,
    pub participants: i64,
    pub trainees: i64,
    pub venues: BTreeSet<Venue>,
}

impl Progress {
    /// The venues not yet reached, in the campaign's order.
    pub fn venues_missing(&self) -> Vec<Venue> {
        Venue::ALL
            .iter()
            .copied()
            .filter(|v| !self.venues.contains(v))
            .collect()
    }

    /// Whether every part of the target is met.
    pub fn meets(&self, t: &Target) -> bool {
        self.activities >= i64::from(t.activities)
            && self.trainings >= i64::from(t.trainings)
            && (!t.every_venue || self.venues.len() == Venue::ALL.len())
    }

    /// Of the target's parts, how many are met (activities, trainings, venues when asked).
    pub fn parts_met(&self, t: &Target) -> (usize, usize) {
        let mut parts = vec![
            self.activities >= i64::from(t.activities),
            self.trainings >= i64::from(t.trainings),
        ];
        if t.every_venue {
            parts.push(self.venues.len() == Venue::ALL.len());
        }
        (parts.iter().filter(|m| **m).count(), parts.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    fn names(e: &FieldErrors, field: &str) -> bool {
        e.0.iter().any(|x| x.field == field)
    }

    fn fields() -> ActivityFields<'static> {
        ActivityFields {
            form: "activity",
            title: "民族团结进社区宣讲",
            kind: "1",
            venue: "communities",
            organiser_unit: "42",
            region: "450102001001",
            held_on: "2026-12-04",
            starts_at: "09:30",
            participants: "60",
            materials: vec![("11", "200"), ("12", ""), ("13", "0")],
            ..ActivityFields::default()
        }
    }

    #[test]
    fn an_activity_reads_its_choices_and_skips_blank_materials() {
        let a = ActivityInput::parse(&fields(), today()).unwrap();
        assert_eq!(a.kind_id, Some(1));
        assert_eq!(a.venue, Some(Venue::Communities));
        assert_eq!(a.materials, vec![(11, 200)]);
        assert_eq!(a.starts_at, NaiveTime::from_hms_opt(9, 30, 0));
        assert_eq!(a.audience_id, None, "an activity has no audience");
    }

    #[test]
    fn each_bad_field_is_named() {
        let f = ActivityFields {
            title: " ",
            kind: "",
            venue: "moon",
            held_on: "2028-01-01",
            starts_at: "25:00",
            participants: "1000000",
            materials: vec![("11", "-3"), ("x", "2")],
            ..fields()
        };
        let e = ActivityInput::parse(&f, today()).unwrap_err();
        for field in [
            "title",
            "activity_kind",
            "venue",
            "held_on",
            "starts_at",
            "participants",
            "material_11",
            "material_x",
        ] {
            assert!(names(&e, field), "{field}: {e:?}");
        }
    }

    #[test]
    fn a_training_needs_an_audience_and_hours() {
        let f = ActivityFields {
            form: "training",
            kind: "",
            ends_on: "2026-12-01",
            ..fields()
        };
        let e = ActivityInput::parse(&f, today()).unwrap_err();
        assert!(names(&e, "audience") && names(&e, "hours"));
        assert!(names(&e, "ends_on"), "ends before it starts");
        assert!(!names(&e, "activity_kind"), "a training has no kind");
        let f = ActivityFields {
            audience: "21",
            hours: "3.5",
            ends_on: "2026-12-05",
            ..f
        };
        let t = ActivityInput::parse(&f, today()).unwrap();
        assert_eq!((t.hours_tenths, t.kind_id), (Some(35), None));
        assert_eq!(hours_text(35), "3.5");
        assert_eq!(hours_text(30), "3");
        for bad in ["0", "3.55", ".5", "abc", "201"] {
            let f = ActivityFields {
                hours: bad,
                ..f.clone()
            };
            assert!(ActivityInput::parse(&f, today()).is_err(), "{bad}");
        }
    }

    #[test]
    fn progress_against_a_target() {
        let t = Target::parse("12", "2", true).unwrap();
        let mut p = Progress {
            activities: 12,
            trainings: 2,
            ..Progress::default()
        };
        assert!(!p.meets(&t), "no venue yet");
        assert_eq!(p.parts_met(&t), (2, 3));
        p.venues.extend(Venue::ALL.iter().copied());
        assert!(p.meets(&t));
        assert!(p.venues_missing().is_empty());
        assert!(Target::parse("-1", "x", false).is_err());
        let loose = Target::parse("1", "0", false).unwrap();
        assert_eq!(Progress::default().parts_met(&loose), (1, 2));
    }

    #[test]
    fn a_material_is_counted_in_a_unit_word() {
        assert!(TermInput::parse(TermList::Material, "宣传单", "").is_err());
        let m = TermInput::parse(TermList::Material, "宣传单", "份").unwrap();
        assert_eq!(m.unit_word.as_deref(), Some("份"));
        let k = TermInput::parse(TermList::Kind, "宣讲", "份").unwrap();
        assert_eq!(k.unit_word, None);
    }
}

#[cfg(test)]
mod trainee_tests {
    use super::TraineeInput;

    #[test]
    fn a_trainee_needs_a_name_and_a_phone_that_is_a_mobile() {
        let t = TraineeInput::parse(" 韦老师 ", "三江县古宜镇中心小学", "教师", "138 0000 1234")
            .unwrap();
        assert_eq!(t.name, "韦老师");
        assert_eq!(t.phone.unwrap().masked(), "138****1234");
        let e = TraineeInput::parse("", "", "", "12345").unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["trainee_name", "trainee_phone"]);
        assert!(
            TraineeInput::parse("韦老师", "", "", "")
                .unwrap()
                .phone
                .is_none()
        );
    }
}
