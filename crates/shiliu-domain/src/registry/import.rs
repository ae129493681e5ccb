//! An existing register imported from Excel or CSV: one row per person; rows with the same
//! household number (户编号) form one household, its head's row giving the place. Every row is
//! checked by the one parser ([`PersonInput::parse`]); problems are reported per row and
//! column, all of them at once.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{PersonForm, PersonInput, Relation};
use crate::error::choice;
use crate::{FieldError, FieldErrors};

/// The columns in template order: (field name, required).
pub const COLUMNS: [(&str, bool); 17] = [
    ("household_no", true),
    ("relation", true),
    ("name", true),
    ("id_number", false),
    ("sex", false),
    ("birth_date", false),
    ("people", true),
    ("mobile", false),
    ("hukou", false),
    ("region_code", true),
    ("address", false),
    ("arrived_on", false),
    ("occupation", false),
    ("employer", false),
    ("employment", false),
    ("tags", false),
    ("linkage", false),
];

/// The most members one household of a file may have.
pub const MAX_HOUSEHOLD: usize = 30;

/// One row of the file: its number in the sheet and its values in [`COLUMNS`] order (codes:
/// the reader has turned labels such as 户主 or 灵活就业 into them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub row: usize,
    pub values: Vec<String>,
}

impl ImportRow {
    fn get(&self, field: &str) -> &str {
        COLUMNS
            .iter()
            .position(|(f, _)| *f == field)
            .map_or("", |i| self.at(i))
    }

    /// The value of the `i`th of [`COLUMNS`].
    fn at(&self, i: usize) -> &str {
        self.values.get(i).map_or("", |v| v.trim())
    }
}

/// A problem with one row: the column's field name and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub error: FieldError,
}

/// A member as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowPerson {
    pub row: usize,
    pub relation: Relation,
    pub person: PersonInput,
}

/// A household as the file gives it, its head first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowHousehold {
    pub key: String,
    /// The code of the township, community or grid its head's row names.
    pub region_code: String,
    pub address: String,
    /// The head agreed that their home county may see the household (流出地联动).
    pub linkage: bool,
    pub members: Vec<RowPerson>,
}

fn person(r: &ImportRow, address: &str, today: NaiveDate) -> Result<PersonInput, FieldErrors> {
    let mut f = PersonForm::default();
    for (i, (field, _)) in COLUMNS.iter().enumerate().filter(|(_, (f, _))| {
        !matches!(
            *f,
            "household_no" | "relation" | "region_code" | "linkage" | "tags"
        )
    }) {
        f.set(field, r.at(i).to_string());
    }
    if f.address.is_empty() {
        f.address = address.to_string();
    }
    f.tags = r
        .get("tags")
        .split([',', '，', '、', ';', '；'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    PersonInput::parse(&f, today)
}

/// Group and check the rows. Households come back in the order the file first names them;
/// a household with any row in error is left out, and every problem is reported.
pub fn households(rows: &[ImportRow], today: NaiveDate) -> (Vec<RowHousehold>, Vec<RowError>) {
    let mut errors = Vec::new();
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<&ImportRow>> = HashMap::new();
    for r in rows {
        let key = r.get("household_no");
        if key.is_empty() {
            errors.push(RowError {
                row: r.row,
                error: FieldError::new("household_no", "err.required"),
            });
            continue;
        }
        if !groups.contains_key(key) {
            order.push(key.to_string());
        }
        groups.entry(key.to_string()).or_default().push(r);
    }
    let mut seen_ids: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for key in order {
        let group = &groups[&key];
        let before = errors.len();
        let relations: Vec<Option<Relation>> = group
            .iter()
            .map(
                |r| match choice("relation", r.get("relation"), Relation::parse) {
                    Ok(rel) => Some(rel),
                    Err(e) => {
                        errors.push(RowError {
                            row: r.row,
                            error: e,
                        });
                        None
                    }
                },
            )
            .collect();
        let heads: Vec<usize> = (0..group.len())
            .filter(|&i| relations[i] == Some(Relation::Head))
            .collect();
        let Some(&h) = heads.first() else {
            if errors.len() == before {
                errors.push(RowError {
                    row: group[0].row,
                    error: FieldError::new("relation", "err.import.no_head").arg("household", &key),
                });
            }
            continue;
        };
        for &extra in &heads[1..] {
            errors.push(RowError {
                row: group[extra].row,
                error: FieldError::new("relation", "err.import.two_heads").arg("household", &key),
            });
        }
        if group.len() > MAX_HOUSEHOLD {
            errors.push(RowError {
                row: group[MAX_HOUSEHOLD].row,
                error: FieldError::new("household_no", "err.too_many_items")
                    .arg("max", MAX_HOUSEHOLD),
            });
        }
        let head = group[h];
        let region_code = head.get("region_code").to_string();
        let address = head.get("address").to_string();
        let linkage = match crate::error::yes_no("linkage", head.get("linkage")) {
            Ok(v) => v,
            Err(e) => {
                errors.push(RowError {
                    row: head.row,
                    error: e,
                });
                false
            }
        };
        let mut members = Vec::with_capacity(group.len());
        // The head first, the others in file order.
        let ordered = std::iter::once(h).chain((0..group.len()).filter(|&i| i != h));
        for i in ordered {
            let r = group[i];
            if region_code.is_empty() && i == h {
                errors.push(RowError {
                    row: r.row,
                    error: FieldError::new("region_code", "err.required"),
                });
            }
            let own = r.get("region_code");
            if i != h && !own.is_empty() && own != region_code {
                errors.push(RowError {
                    row: r.row,
                    error: FieldError::new("region_code", "err.import.household_split")
                        .arg("household", &key),
                });
            }
            match person(r, &address, today) {
                Ok(p) => {
                    if let Some(id) = &p.id_number {
                        if let Some(first) = seen_ids.get(id.as_str()) {
                            errors.push(RowError {
                                row: r.row,
                                error: FieldError::new("id_number", "err.import.duplicate_in_file")
                                    .arg("row", first),
                            });
                        } else {
                            seen_ids.insert(id.as_str().to_string(), r.row);
                        }
                    }
                    if let Some(rel) = relations[i] {
                        members.push(RowPerson {
                            row: r.row,
                            relation: rel,
                            person: p,
                        });
                    }
                }
                Err(es) => errors.extend(es.0.into_iter().map(|e| RowError {
                    row: r.row,
                    error: e,
                })),
            }
        }
        if errors.len() == before {
            out.push(RowHousehold {
                key,
                region_code,
                address,
                linkage,
                members,
            });
        }
    }
    errors.sort_by_key(|e| e.row);
    (out, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_number::check_char;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn id(first17: &str) -> String {
        format!("{first17}{}", check_char(first17.as_bytes()))
    }

    fn row(n: usize, cells: &[(&str, &str)]) -> ImportRow {
        ImportRow {
            row: n,
            values: COLUMNS
                .iter()
                .map(|(f, _)| {
                    cells
                        .iter()
                        .find(|(k, _)| k == f)
                        .map(|(_, v)| (*v).to_string())
                        .unwrap_or_default()
                })
                .collect(),
        }
    }

    #[test]
    fn rows_become_households_head_first() {
        let a = id("52263319950304202");
        let b = id("52263320180601101");
        let rows = [
            row(
                2,
                &[
                    ("household_no", "1"),
                    ("relation", "child"),
                    ("name", "韦小宝"),
                    ("id_number", &b),
                    ("people", "侗族"),
                ],
            ),
            row(
                3,
                &[
                    ("household_no", "1"),
                    ("relation", "head"),
                    ("name", "韦小红"),
                    ("id_number", &a),
                    ("people", "12"),
                    ("region_code", "450107002001-G001"),
                    ("address", "北湖路 1 号"),
                    ("tags", "hardship、relocated"),
                    ("linkage", "是"),
                ],
            ),
        ];
        let (hs, errs) = households(&rows, today());
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(hs.len(), 1);
        let h = &hs[0];
        assert_eq!(
            (h.region_code.as_str(), h.linkage),
            ("450107002001-G001", true)
        );
        let names: Vec<_> = h
            .members
            .iter()
            .map(|m| (m.person.name.as_str(), m.relation))
            .collect();
        assert_eq!(
            names,
            [("韦小红", Relation::Head), ("韦小宝", Relation::Child)]
        );
        assert_eq!(
            h.members[1].person.address, "北湖路 1 号",
            "a member lives at the head's address"
        );
        assert_eq!(h.members[0].person.tags.len(), 2);
    }

    #[test]
    fn every_problem_is_reported_by_row_and_column() {
        let a = id("52263319950304202");
        let rows = [
            row(
                2,
                &[
                    ("household_no", "1"),
                    ("relation", "head"),
                    ("name", "甲"),
                    ("id_number", &a),
                    ("people", "侗族"),
                    ("region_code", "X"),
                    ("address", "a"),
                ],
            ),
            row(
                3,
                &[
                    ("household_no", "1"),
                    ("relation", "head"),
                    ("name", "乙"),
                    ("id_number", &a),
                    ("people", "侗族"),
                    ("region_code", "Y"),
                ],
            ),
            row(
                7,
                &[
                    ("household_no", "4"),
                    ("relation", "head"),
                    ("name", "己"),
                    ("people", "火星族"),
                    ("region_code", "Z"),
                    ("address", "a"),
                ],
            ),
            row(
                4,
                &[
                    ("household_no", "2"),
                    ("relation", "child"),
                    ("name", "丙"),
                    ("people", "壮族"),
                    ("sex", "male"),
                    ("birth_date", "2015-01-01"),
                    ("hukou", "450102"),
                ],
            ),
            row(5, &[("relation", "head"), ("name", "丁")]),
            row(
                6,
                &[
                    ("household_no", "3"),
                    ("relation", "head"),
                    ("name", "戊"),
                    ("people", "壮族"),
                    ("sex", "female"),
                    ("birth_date", "1990-01-01"),
                    ("hukou", "450102"),
                    ("region_code", "Z"),
                    ("address", "x"),
                    ("linkage", "也许"),
                ],
            ),
        ];
        let (hs, errs) = households(&rows, today());
        assert!(hs.is_empty());
        let got: Vec<(usize, &str, &str)> = errs
            .iter()
            .map(|e| (e.row, e.error.field.as_str(), e.error.reason))
            .collect();
        assert_eq!(
            got,
            [
                (3, "relation", "err.import.two_heads"),
                (3, "region_code", "err.import.household_split"),
                (3, "id_number", "err.import.duplicate_in_file"),
                (4, "relation", "err.import.no_head"),
                (5, "household_no", "err.required"),
                (6, "linkage", "err.yes_no"),
                (7, "sex", "err.required"),
                (7, "birth_date", "err.required"),
                (7, "people", "err.people.unknown"),
                (7, "hukou", "err.required"),
            ]
        );
    }
}
