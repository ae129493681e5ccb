//! The 18-character resident identity number (公民身份号码), GB 11643-1999.
//!
//! Layout: 6-digit address code, 8-digit birth date, 3-digit sequence (odd for men), and an
//! ISO 7064 MOD 11-2 check character (`0`–`9` or `X`).

use std::fmt;

use chrono::NaiveDate;

use crate::{FieldError, divisions};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
}

/// The check character for the first 17 digits.
pub fn check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl IdNumber {
    /// Parse against today's date (a birth date may not lie in the future).
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        Self::parse_on(input, chrono::Local::now().date_naive())
    }

    pub fn parse_on(input: &str, today: NaiveDate) -> Result<Self, FieldError> {
        const F: &str = "id_number";
        let s: String = input
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        if s.is_empty() {
            return Err(FieldError::new(F, "err.required"));
        }
        let b = s.as_bytes();
        if b.len() != 18 {
            return Err(FieldError::new(F, "err.id_number.length").arg("len", s.chars().count()));
        }
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(FieldError::new(F, "err.id_number.chars"));
        }
        if divisions::province_name(&s[..2]).is_none() {
            return Err(FieldError::new(F, "err.id_number.region").arg("code", &s[..6]));
        }
        let birth = NaiveDate::parse_from_str(&s[6..14], "%Y%m%d")
            .map_err(|_| FieldError::new(F, "err.id_number.birth_date"))?;
        if birth > today || birth < NaiveDate::from_ymd_opt(1890, 1, 1).unwrap_or(birth) {
            return Err(FieldError::new(F, "err.id_number.birth_date"));
        }
        if check_char(&b[..17]) != char::from(b[17]) {
            return Err(FieldError::new(F, "err.id_number.checksum"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn region_code(&self) -> &str {
        &self.0[..6]
    }

    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").expect("validated on parse")
    }

    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// `4501**********123X`: the first four and last four characters.
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.0[..4], "*".repeat(10), &self.0[14..])
    }
}

// Never print the whole number by accident, e.g. in a log line of a struct's Debug.
impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    /// Build a valid number from 17 digits, computing the check character.
    fn valid(first17: &str) -> String {
        format!("{first17}{}", check_char(first17.as_bytes()))
    }

    #[test]
    fn accepts_valid_numbers_and_derives_fields() {
        // The standard's worked example: 11010519491231002X.
        let id = IdNumber::parse_on("11010519491231002x", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.masked(), "1101**********002X");
        let gx = valid("45010719900101123");
        let id = IdNumber::parse_on(&gx, today()).unwrap();
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.region_code(), "450107");
        assert!(!format!("{id:?}").contains("19900101"));
    }

    #[test]
    fn rejects_each_kind_of_error() {
        let reason = |s: &str| IdNumber::parse_on(s, today()).unwrap_err().reason;
        assert_eq!(reason(""), "err.required");
        assert_eq!(reason("4501071990010112"), "err.id_number.length");
        assert_eq!(reason("45010719900101A23X"), "err.id_number.chars");
        assert_eq!(reason(&valid("99010719900101123")), "err.id_number.region");
        assert_eq!(
            reason(&valid("45010719900231123")),
            "err.id_number.birth_date"
        );
        assert_eq!(
            reason(&valid("45010720300101123")),
            "err.id_number.birth_date"
        );
        let mut bad = valid("45010719900101123");
        let last = if bad.ends_with('0') { '1' } else { '0' };
        bad.pop();
        bad.push(last);
        assert_eq!(reason(&bad), "err.id_number.checksum");
    }

    #[test]
    fn every_single_digit_change_is_caught() {
        let good = valid("45020319850615231");
        for pos in 0..17 {
            for d in b'0'..=b'9' {
                let mut b = good.clone().into_bytes();
                if b[pos] == d {
                    continue;
                }
                b[pos] = d;
                let s = String::from_utf8(b).unwrap();
                assert!(IdNumber::parse_on(&s, today()).is_err(), "{s} accepted");
            }
        }
    }
}
