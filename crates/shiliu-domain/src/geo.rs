//! Guangxi's outlines: its 14 cities, drawn whole, and its 111 counties, drawn city by city
//! and used to tell which county a point lies in (`county_at`). Simplified public outlines for
//! a schematic map (示意图), shipped as `data/boundaries.csv` (source, licence and the script
//! that made it: `data/README.md`). A map published to the public in China must be drawn on
//! the standard base map and carry its review number (审图号); these outlines are not that.

use std::sync::LazyLock;

/// A point: longitude, latitude (degrees, east and north).
pub type Point = (f64, f64);

/// One division's outline: polygons, each an outer ring and its holes.
#[derive(Debug, Clone, PartialEq)]
pub struct Outline {
    /// The division's code as the region tree has it: a city's 4 digits, a county's 6.
    pub code: String,
    pub parts: Vec<Vec<Vec<Point>>>,
    /// Smallest and largest longitude and latitude: ((west, south), (east, north)).
    pub bounds: (Point, Point),
}

/// Which outlines: the cities, simplified for the whole province's map, or the counties,
/// finer, for one city's map and for locating points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Province,
    City,
}

struct Atlas {
    cities: Vec<Outline>,
    counties: Vec<Outline>,
}

static ATLAS: LazyLock<Atlas> = LazyLock::new(|| {
    let outlines = parse(include_str!("../data/boundaries.csv"))
        .unwrap_or_else(|e| panic!("data/boundaries.csv: {e}"));
    let (cities, counties) = outlines
        .into_iter()
        .partition(|(s, _)| *s == Scale::Province);
    let strip = |v: Vec<(Scale, Outline)>| v.into_iter().map(|(_, o)| o).collect();
    Atlas {
        cities: strip(cities),
        counties: strip(counties),
    }
});

/// The cities' outlines, in code order.
pub fn cities() -> &'static [Outline] {
    &ATLAS.cities
}

/// The outlines of a city's counties (by the city's 4-digit code), in code order.
pub fn counties_of(city: &str) -> Vec<&'static Outline> {
    ATLAS
        .counties
        .iter()
        .filter(|o| o.code.len() == 6 && o.code.starts_with(city))
        .collect()
}

/// The county (its 6-digit code) a point lies in, if any of Guangxi's.
pub fn county_at(p: Point) -> Option<&'static str> {
    ATLAS
        .counties
        .iter()
        .find(|o| o.contains(p))
        .map(|o| o.code.as_str())
}

/// Parse the shipped format: a header, then `scale,code,part,ring,points` with points as
/// `lon lat;lon lat;…`, rows grouped by scale and code, parts and rings in order.
fn parse(text: &str) -> Result<Vec<(Scale, Outline)>, String> {
    let mut out: Vec<(Scale, Outline)> = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let at = |e: &str| format!("line {}: {e}", n + 1);
        let mut f = line.splitn(5, ',');
        let mut next = || f.next().ok_or_else(|| at("five columns expected"));
        let scale = match next()? {
            "province" => Scale::Province,
            "city" => Scale::City,
            s => return Err(at(&format!("unknown scale {s}"))),
        };
        let code = next()?;
        let part: usize = next()?.parse().map_err(|_| at("part"))?;
        let ring: usize = next()?.parse().map_err(|_| at("ring"))?;
        let points = next()?
            .split(';')
            .map(|xy| {
                let (x, y) = xy.split_once(' ')?;
                Some((x.parse().ok()?, y.parse().ok()?))
            })
            .collect::<Option<Vec<Point>>>()
            .ok_or_else(|| at("points"))?;
        if points.len() < 3 {
            return Err(at("a ring needs three points"));
        }
        let same = out
            .last()
            .is_some_and(|(s, o)| *s == scale && o.code == code);
        if !same {
            out.push((
                scale,
                Outline {
                    code: code.to_string(),
                    parts: Vec::new(),
                    bounds: ((f64::MAX, f64::MAX), (f64::MIN, f64::MIN)),
                },
            ));
        }
        let o = &mut out.last_mut().expect("pushed above").1;
        match (part == o.parts.len(), ring) {
            (true, 0) => o.parts.push(vec![points]),
            (false, r) if part + 1 == o.parts.len() && r == o.parts[part].len() => {
                o.parts[part].push(points);
            }
            _ => return Err(at("parts and rings out of order")),
        }
    }
    for (_, o) in &mut out {
        o.bounds = bounds_of(o.parts.iter().flat_map(|p| p[0].iter()));
    }
    Ok(out)
}

fn bounds_of<'a>(points: impl Iterator<Item = &'a Point>) -> (Point, Point) {
    points.fold(
        ((f64::MAX, f64::MAX), (f64::MIN, f64::MIN)),
        |((w, s), (e, n)), (x, y)| ((w.min(*x), s.min(*y)), (e.max(*x), n.max(*y))),
    )
}

/// Whether a point lies inside a ring (even-odd: a ring is crossed an odd number of times on
/// the way out from inside, here eastwards).
fn in_ring(ring: &[Point], (x, y): Point) -> bool {
    crossings(&[ring], y).iter().filter(|cx| x < **cx).count() % 2 == 1
}

impl Outline {
    /// Whether the point lies inside (in a part's outer ring and none of its holes).
    pub fn contains(&self, p: Point) -> bool {
        let ((w, s), (e, n)) = self.bounds;
        if p.0 < w || p.0 > e || p.1 < s || p.1 > n {
            return false;
        }
        self.parts
            .iter()
            .any(|rings| in_ring(&rings[0], p) && !rings[1..].iter().any(|h| in_ring(h, p)))
    }

    /// A point inside the outline for its label: on the horizontal line through the middle of
    /// its largest part, the middle of the widest stretch that lies inside (a centroid can
    /// fall outside a crescent-shaped county).
    pub fn label_point(&self) -> Point {
        let Some(rings) = self
            .parts
            .iter()
            .max_by(|a, b| area(&a[0]).total_cmp(&area(&b[0])))
        else {
            return self.bounds.0;
        };
        let ((w, s), (e, n)) = bounds_of(rings[0].iter());
        let mut best: Option<(f64, Point)> = None;
        // A few lines near the middle, in case the middle one only grazes the shape.
        for k in [0.5, 0.4, 0.6, 0.3, 0.7] {
            let y = s + (n - s) * k;
            let mut xs: Vec<f64> = crossings(rings, y);
            xs.sort_by(f64::total_cmp);
            for pair in xs.chunks_exact(2) {
                let width = pair[1] - pair[0];
                if best.is_none_or(|(b, _)| width > b) {
                    best = Some((width, (f64::midpoint(pair[0], pair[1]), y)));
                }
            }
        }
        best.map_or((f64::midpoint(w, e), f64::midpoint(s, n)), |(_, p)| p)
    }
}

/// Where the edges of the rings cross the horizontal line at `y`.
fn crossings<R: AsRef<[Point]>>(rings: &[R], y: f64) -> Vec<f64> {
    let mut xs = Vec::new();
    for ring in rings {
        let ring = ring.as_ref();
        let mut j = ring.len() - 1;
        for (i, &(xi, yi)) in ring.iter().enumerate() {
            let (xj, yj) = ring[j];
            if (yi > y) != (yj > y) {
                xs.push((xj - xi) * (y - yi) / (yj - yi) + xi);
            }
            j = i;
        }
    }
    xs
}

/// A ring's area in square degrees (unsigned).
fn area(ring: &[Point]) -> f64 {
    let mut sum = 0.0;
    let mut j = ring.len() - 1;
    for (i, &(xi, yi)) in ring.iter().enumerate() {
        let (xj, yj) = ring[j];
        sum += (xj - xi) * (yj + yi);
        j = i;
    }
    (sum / 2.0).abs()
}

/// A flat projection of a few degrees of the earth onto a drawing: longitude shrunk by the
/// cosine of the middle latitude (so that at Guangxi's ~24° N a degree east is drawn about 0.91
/// of a degree north), north up, fitted into `width` × `height` with a margin.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    west: f64,
    north: f64,
    x_scale: f64,
    y_scale: f64,
    left: f64,
    top: f64,
    pub width: f64,
    pub height: f64,
}

impl Frame {
    /// The frame that fits these outlines in `width` wide, as tall as their shape needs.
    pub fn fit(outlines: &[&Outline], width: f64, margin: f64) -> Self {
        let ((w, s), (e, n)) = outlines.iter().fold(
            ((f64::MAX, f64::MAX), (f64::MIN, f64::MIN)),
            |((w, s), (e, n)), o| {
                let ((ow, os), (oe, on)) = o.bounds;
                ((w.min(ow), s.min(os)), (e.max(oe), n.max(on)))
            },
        );
        let shrink = f64::midpoint(s, n).to_radians().cos();
        let span_x = ((e - w) * shrink).max(1e-6);
        let k = (width - 2.0 * margin) / span_x;
        Self {
            west: w,
            north: n,
            x_scale: k * shrink,
            y_scale: k,
            left: margin,
            top: margin,
            width,
            height: (n - s) * k + 2.0 * margin,
        }
    }

    /// A point's place on the drawing.
    pub fn place(&self, (lon, lat): Point) -> (f64, f64) {
        (
            self.left + (lon - self.west) * self.x_scale,
            self.top + (self.north - lat) * self.y_scale,
        )
    }

    /// An outline as the `d` of an SVG path, to a tenth of a unit, each ring closed; points
    /// that land within half a unit of the last one drawn are left out.
    pub fn path(&self, o: &Outline) -> String {
        use std::fmt::Write;
        let mut d = String::new();
        for ring in o.parts.iter().flatten() {
            let mut last: Option<(f64, f64)> = None;
            for p in ring {
                let (x, y) = self.place(*p);
                if last.is_some_and(|(lx, ly)| (x - lx).abs() < 0.5 && (y - ly).abs() < 0.5) {
                    continue;
                }
                let _ = write!(
                    d,
                    "{}{:.1} {:.1}",
                    if last.is_none() { "M" } else { "L" },
                    x,
                    y
                );
                last = Some((x, y));
            }
            d.push('Z');
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "scale,code,part,ring,points\n\
        province,4501,0,0,0 0;10 0;10 10;0 10\n\
        city,450101,0,0,0 0;5 0;5 10;0 10\n\
        city,450101,0,1,1 1;2 1;2 2;1 2\n\
        city,450102,0,0,5 0;10 0;10 10;5 10\n\
        city,450102,1,0,20 0;21 0;21 1\n";

    #[test]
    fn the_format_is_read_with_holes_and_parts() {
        let o = parse(SAMPLE).unwrap();
        assert_eq!(o.len(), 3);
        let a = &o[1].1;
        assert_eq!(
            (a.code.as_str(), a.parts.len(), a.parts[0].len()),
            ("450101", 1, 2)
        );
        assert!(a.contains((3.0, 3.0)));
        assert!(!a.contains((1.5, 1.5)), "in the hole");
        assert!(!a.contains((6.0, 3.0)));
        let b = &o[2].1;
        assert!(b.contains((20.9, 0.5)) && b.contains((7.0, 7.0)));
        assert_eq!(b.bounds, ((5.0, 0.0), (21.0, 10.0)));
        assert!(
            parse("h\ncity,1,1,0,0 0;1 0;1 1\n").is_err(),
            "part 1 before 0"
        );
        assert!(parse("h\ncity,1,0,0,0 0;1 0\n").is_err(), "two points");
        assert!(parse("h\ntown,1,0,0,0 0;1 0;1 1\n").is_err());
    }

    #[test]
    fn a_label_lies_inside_even_a_crescent() {
        // A "C" open to the east: its centre is outside.
        let ring = vec![
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 2.0),
            (2.0, 2.0),
            (2.0, 8.0),
            (10.0, 8.0),
            (10.0, 10.0),
            (0.0, 10.0),
        ];
        let o = Outline {
            code: "450101".into(),
            bounds: bounds_of(ring.iter()),
            parts: vec![vec![ring]],
        };
        assert!(!o.contains((5.0, 5.0)));
        assert!(o.contains(o.label_point()), "{:?}", o.label_point());
    }

    #[test]
    fn a_frame_keeps_north_up_and_fits_the_width() {
        let o = &parse(SAMPLE).unwrap()[0].1;
        let f = Frame::fit(&[o], 200.0, 10.0);
        assert_eq!(f.place((0.0, 10.0)), (10.0, 10.0));
        let (x, y) = f.place((10.0, 0.0));
        assert!((x - 190.0).abs() < 1e-9 && y > 190.0, "{x} {y}");
        assert!(f.path(o).starts_with("M10.0 "));
        assert!(f.path(o).ends_with('Z'));
    }

    #[test]
    fn points_well_inside_a_county_are_found_in_it() {
        // Each several kilometres from its county's border (measured when the data was made).
        for (lon, lat, code) in [
            (109.59, 24.40, "450203"), // 柳州 鱼峰区
            (109.54, 25.76, "450226"), // 三江侗族自治县
            (109.18, 21.52, "450502"), // 北海 海城区
            (108.70, 22.80, "450103"), // 南宁 青秀区
            (105.31, 24.72, "451031"), // 百色 隆林各族自治县
        ] {
            assert_eq!(county_at((lon, lat)), Some(code), "{lon} {lat}");
        }
        // Hanoi, and the sea south of 北海.
        assert_eq!(county_at((105.85, 21.03)), None);
        assert_eq!(county_at((109.1, 20.5)), None);
    }

    #[test]
    fn every_label_lies_inside_its_outline() {
        let counties = cities().iter().flat_map(|c| counties_of(&c.code));
        for o in cities().iter().chain(counties) {
            assert!(o.contains(o.label_point()), "{}", o.code);
        }
    }

    #[test]
    fn the_shipped_outlines_cover_every_city_and_county() {
        use crate::divisions::DivisionLevel as L;
        let gx: Vec<_> = crate::divisions::guangxi().collect();
        let codes = |l| {
            let mut v: Vec<&str> = gx.iter().filter(|d| d.level == l).map(|d| d.code).collect();
            v.sort_unstable();
            v
        };
        let cities: Vec<&str> = cities().iter().map(|o| o.code.as_str()).collect();
        assert_eq!(cities, codes(L::City));
        let counties: Vec<&str> = codes(L::City)
            .iter()
            .flat_map(|c| counties_of(c))
            .map(|o| o.code.as_str())
            .collect();
        assert_eq!(counties, codes(L::County));
    }
}
