//! Pickers: a form offers a choice by name from the list the caller may pick from (sites in
//! their scope, regions, 户籍地), grouped under headings, never a code typed by hand. One
//! template draws them all (`templates/_picker.html`): a select, which works without
//! JavaScript, and a box that filters it by typing (`static/app.js`). The value posted is
//! checked again on the server by the database layer's `picked_*` function for that list (and
//! a 户籍地 by `shiliu_domain::registry::parse_division`).

use shiliu_db::org::Levels;
use shiliu_domain::divisions;

use crate::web::i18n::T;

/// Choices under one heading (a region's sites, a county's townships).
pub struct Group {
    pub label: String,
    /// (value posted, name shown).
    pub options: Vec<(String, String)>,
}

/// One picker on a page (built by chaining: each step returns it).
#[must_use]
pub struct Picker {
    /// The select's element id, unique on the page (the filter box names it).
    pub id: String,
    /// The field posted.
    pub name: String,
    pub label: String,
    pub groups: Vec<Group>,
    /// The value picked so far (empty: none).
    pub selected: String,
    pub required: bool,
    /// What the empty choice says (none: "choose…").
    pub blank: Option<String>,
    /// Where the page's script fetches the groups around a new pick (the value appended), so
    /// picking a city opens its counties without a round trip; without it (or without
    /// JavaScript) the next level opens when the form is sent.
    pub source: Option<&'static str>,
}

/// Boxes to tick from a list (a user's grids), each under the heading of what it lies in.
pub struct Ticks {
    /// The field posted, once per box ticked.
    pub name: &'static str,
    pub label: String,
    /// (value posted, name shown, ticked).
    pub options: Vec<(String, String, bool)>,
    /// Said above the boxes (why some are not listed).
    pub hint: Option<String>,
}

/// The groups as the page's script receives them.
#[derive(serde::Serialize)]
pub struct GroupJson {
    pub label: String,
    pub options: Vec<(String, String)>,
}

impl From<Group> for GroupJson {
    fn from(g: Group) -> Self {
        Self {
            label: g.label,
            options: g.options,
        }
    }
}

impl Picker {
    pub fn new(id: impl Into<String>, name: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            label: label.into(),
            groups: Vec::new(),
            selected: String::new(),
            required: false,
            blank: None,
            source: None,
        }
    }

    /// Rows (heading, value, name), already ordered by heading: consecutive rows under the
    /// same heading become one group.
    pub fn grouped<V: ToString>(
        mut self,
        rows: impl IntoIterator<Item = (String, V, String)>,
    ) -> Self {
        for (heading, value, name) in rows {
            match self.groups.last_mut() {
                Some(g) if g.label == heading => g.options.push((value.to_string(), name)),
                _ => self.groups.push(Group {
                    label: heading,
                    options: vec![(value.to_string(), name)],
                }),
            }
        }
        self
    }

    pub fn selected(mut self, value: impl Into<String>) -> Self {
        self.selected = value.into();
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// What choosing nothing means here (for a 户籍地: the one the ID number gives).
    pub fn blank(mut self, text: impl Into<String>) -> Self {
        self.blank = Some(text.into());
        self
    }

    /// A 户籍地 picker: the divisions around the value picked.
    pub fn divisions(mut self, t: T) -> Self {
        self.groups = division_groups(&self.selected, t);
        self.source = Some(DIVISIONS);
        self
    }

    /// A picker of regions in the caller's scope: the levels around the value picked (a code).
    pub fn regions(mut self, around: Levels, t: T) -> Self {
        self.groups = region_groups(around, t);
        self.source = Some(REGIONS);
        self
    }
}

/// The field a picker's "show the level below" button sends (`_picker.html`), there for a form
/// sent without JavaScript: the form comes back as it was sent with the level below the pick
/// open, and nothing is saved.
pub const OPEN: &str = "_open";

/// Whether a posted form asks for a picker's level below rather than to be saved.
pub fn opens_a_level(pairs: &[(String, String)]) -> bool {
    pairs.iter().any(|(k, _)| k == OPEN)
}

/// Where the script fetches the divisions around a pick (`org/pickers.rs`).
pub const DIVISIONS: &str = "/reference/divisions?around=";
/// Where the script fetches the regions in scope around a pick (`org/pickers.rs`).
pub const REGIONS: &str = "/regions/choices?around=";

/// The divisions a 户籍地 picker offers around `current`, each group headed by the full name
/// of the division it lies under.
pub fn division_groups(current: &str, t: T) -> Vec<Group> {
    divisions::choices_around(current)
        .into_iter()
        .map(|(under, list)| Group {
            label: under.map_or_else(
                || t.s("picker.provinces").to_string(),
                |d| divisions::full_name(d.code).unwrap_or_else(|| d.name.to_string()),
            ),
            options: list
                .into_iter()
                .map(|d| (d.code.to_string(), d.name.to_string()))
                .collect(),
        })
        .collect()
}

/// The regions a region picker offers, each group headed by the region it lies under.
pub fn region_groups(around: Levels, t: T) -> Vec<Group> {
    around
        .into_iter()
        .map(|(under, list)| Group {
            label: under.map_or_else(|| t.s("picker.top").to_string(), |r| r.name),
            options: list.into_iter().map(|r| (r.code, r.name)).collect(),
        })
        .collect()
}
