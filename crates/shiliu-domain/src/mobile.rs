//! Mainland China mobile numbers (11 digits starting 13–19, optionally written with +86), and
//! telephone numbers in general (a mobile, or a landline such as `0771-5551234`).

use std::fmt;

use crate::FieldError;

#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Mobile(String);

impl Mobile {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const F: &str = "mobile";
        let compact: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        if compact.is_empty() {
            return Err(FieldError::new(F, "err.required"));
        }
        let digits = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .unwrap_or(&compact);
        let b = digits.as_bytes();
        if b.len() != 11
            || !b.iter().all(u8::is_ascii_digit)
            || b[0] != b'1'
            || !(b'3'..=b'9').contains(&b[1])
        {
            return Err(FieldError::new(F, "err.mobile.invalid"));
        }
        Ok(Self(digits.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mobile({})", self.masked())
    }
}

impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A telephone number: a mobile (kept as its 11 digits, it can take SMS) or a landline or
/// service number as written (`0771-5551234`, `12345`): 5 to 16 digits with `-`, `+`, spaces
/// and brackets between them.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Phone {
    Mobile(Mobile),
    Other(String),
}

impl Phone {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const F: &str = "phone";
        let v = input.trim();
        if v.is_empty() {
            return Err(FieldError::new(F, "err.required"));
        }
        if let Ok(m) = Mobile::parse(v) {
            return Ok(Self::Mobile(m));
        }
        let digits = v.chars().filter(char::is_ascii_digit).count();
        let ok_chars = v
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')'));
        if ok_chars && (5..=16).contains(&digits) {
            Ok(Self::Other(
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            ))
        } else {
            Err(FieldError::new(F, "err.phone.invalid"))
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Mobile(m) => m.as_str(),
            Self::Other(s) => s,
        }
    }

    /// The mobile number, if it is one (only a mobile can be sent SMS).
    pub fn mobile(&self) -> Option<&Mobile> {
        match self {
            Self::Mobile(m) => Some(m),
            Self::Other(_) => None,
        }
    }
}

impl From<Mobile> for Phone {
    fn from(m: Mobile) -> Self {
        Self::Mobile(m)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mobile(m) => write!(f, "Phone({m:?})"),
            Self::Other(_) => f.write_str("Phone(other)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_writings() {
        for s in [
            "13812345678",
            "+86 138-1234-5678",
            "0086 19912345678",
            " 177 1234 5678 ",
        ] {
            assert!(Mobile::parse(s).is_ok(), "{s}");
        }
        assert_eq!(
            Mobile::parse("+8613812345678").unwrap().as_str(),
            "13812345678"
        );
        assert_eq!(
            Mobile::parse("13812345678").unwrap().masked(),
            "138****5678"
        );
    }

    #[test]
    fn rejects_non_mobiles() {
        for s in [
            "12812345678",
            "1381234567",
            "138123456789",
            "0771-1234567",
            "1381234567a",
        ] {
            assert_eq!(
                Mobile::parse(s).unwrap_err().reason,
                "err.mobile.invalid",
                "{s}"
            );
        }
        assert_eq!(Mobile::parse("").unwrap_err().reason, "err.required");
    }

    #[test]
    fn a_phone_is_a_mobile_or_a_landline_as_written() {
        let m = Phone::parse("+86 138-1234-5678").unwrap();
        assert_eq!(m.as_str(), "13812345678");
        assert!(m.mobile().is_some());
        for s in [
            "0771-5551234",
            "12345",
            "(0771) 555 1234",
            "+86 771 5551234",
        ] {
            let p = Phone::parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"));
            assert!(p.mobile().is_none(), "{s}");
        }
        assert_eq!(
            Phone::parse("0771  555 1234").unwrap().as_str(),
            "0771 555 1234"
        );
        for s in ["1234", "0771-555123a", "12345678901234567", "电话"] {
            assert_eq!(
                Phone::parse(s).unwrap_err().reason,
                "err.phone.invalid",
                "{s}"
            );
        }
        assert_eq!(Phone::parse(" ").unwrap_err().reason, "err.required");
    }
}
