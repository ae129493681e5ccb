//! The dashboard's map: the places of the board coloured by a measure (a choropleth), drawn
//! as SVG on the server from the shipped outlines (`shiliu_domain::geo`) — the province's
//! cities, or a city's counties. Each place links to its own board. Names are HTML laid over
//! the drawing, so they keep the page's text size at any width; the figures are in the table
//! beside it.

use shiliu_domain::dashboard::{Better, class_bounds, class_of};
use shiliu_domain::divisions::short_code;
use shiliu_domain::geo::{self, Frame, Outline};

/// How wide the drawing is in its own units; the page scales it to the space it has.
const WIDTH: f64 = 900.0;
const MARGIN: f64 = 8.0;
/// How many colour classes a measure is split into.
const CLASSES: usize = 5;

/// One place to draw: its region code, name, the link to its board, its value shown as
/// text (for the tooltip) and as a number (for the colour).
pub struct Mapped {
    pub code: String,
    pub name: String,
    pub href: String,
    pub value: Option<i64>,
    pub shown: String,
}

pub struct Shape {
    pub d: String,
    pub href: String,
    pub fill: &'static str,
    pub title: String,
    pub code: String,
}

pub struct Label {
    /// Where its middle lies, in whole per cent of the drawing's width and height (the
    /// stylesheet's classes `x0`–`x100`, `y0`–`y100`).
    pub left: i64,
    pub top: i64,
    pub name: String,
}

pub struct MapView {
    pub width: i64,
    pub height: i64,
    /// How tall the drawing is for its width, in tenths rounded up (`r10`: square, `r14`: 1.4
    /// times as tall as wide), as a class: the wall screen narrows a tall map so that it fits
    /// the screen's height and its labels stay on their places.
    pub tall: String,
    pub shapes: Vec<Shape>,
    pub labels: Vec<Label>,
    /// Each class's colour and the range it stands for, lowest first; last, the colour of a
    /// place without a figure, if any place has none.
    pub legend: Vec<(&'static str, String)>,
}

/// Light to dark. Greens where more is better, reds where more is worse, the pomegranate's
/// own reds where more is neither.
const GREENS: [&str; CLASSES] = ["#e6f4ea", "#b7dfc1", "#81c995", "#34a853", "#1e7b34"];
const REDS: [&str; CLASSES] = ["#fce8e6", "#f6aea9", "#ee675c", "#d93025", "#a50e0e"];
const POMEGRANATE: [&str; CLASSES] = ["#fbe9e7", "#f4c7c3", "#e8998f", "#c5574d", "#8c1d18"];
const NO_FIGURE: &str = "#eeeeee";

/// The outlines of the places of a board whose place is `code` (a region code): the
/// province's cities, or a city's counties. None below a city, or outside the outlines'
/// reach: the board then shows its table alone.
fn outlines_below(code: &str) -> Option<Vec<&'static Outline>> {
    let short = short_code(code);
    match short.len() {
        2 if short == "45" => Some(geo::cities().iter().collect()),
        4 if short.starts_with("45") => Some(geo::counties_of(short)),
        _ => None,
    }
    .filter(|v: &Vec<&Outline>| !v.is_empty())
}

/// The map of a board's places, or None where there are no outlines for them.
pub fn draw(
    code: &str,
    places: &[Mapped],
    better: Better,
    show: impl Fn(i64) -> String,
    none: &str,
) -> Option<MapView> {
    let outlines = outlines_below(code)?;
    let frame = Frame::fit(&outlines, WIDTH, MARGIN);
    let values: Vec<i64> = places.iter().filter_map(|p| p.value).collect();
    let bounds = class_bounds(&values, CLASSES);
    let palette = match better {
        Better::Higher => &GREENS,
        Better::Lower => &REDS,
        Better::Neither => &POMEGRANATE,
    };
    // With fewer classes than colours, the classes take the darker ones, so the largest
    // value is always drawn darkest.
    let offset = CLASSES - bounds.len();
    let colour = |v: Option<i64>| v.map_or(NO_FIGURE, |v| palette[offset + class_of(&bounds, v)]);
    let mut shapes = Vec::new();
    let mut labels = Vec::new();
    for o in &outlines {
        let Some(p) = places.iter().find(|p| short_code(&p.code) == o.code) else {
            continue;
        };
        shapes.push(Shape {
            d: frame.path(o),
            href: p.href.clone(),
            fill: colour(p.value),
            title: format!("{}：{}", p.name, p.shown),
            code: p.code.clone(),
        });
        let (x, y) = frame.place(o.label_point());
        labels.push(Label {
            left: percent_of(x, frame.width),
            top: percent_of(y, frame.height),
            name: p.name.clone(),
        });
    }
    let mut legend: Vec<(&'static str, String)> = bounds
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let text = match i.checked_sub(1).map(|j| bounds[j] + 1) {
                None => format!("≤ {}", show(*b)),
                Some(lo) if lo == *b => show(*b),
                Some(lo) => format!("{} – {}", show(lo), show(*b)),
            };
            (palette[offset + i], text)
        })
        .collect();
    if places.iter().any(|p| p.value.is_none()) {
        legend.push((NO_FIGURE, none.to_string()));
    }
    Some(MapView {
        width: WIDTH as i64,
        height: frame.height.ceil() as i64,
        tall: format!("r{}", (frame.height * 10.0 / WIDTH).ceil() as i64),
        shapes,
        labels,
        legend,
    })
}

/// Where `x` lies along `whole`, in whole per cent (0–100).
fn percent_of(x: f64, whole: f64) -> i64 {
    ((x * 100.0 / whole).round() as i64).clamp(0, 100)
}
