//! Mainland China mobile numbers: 11 digits starting 13–19, optionally written with +86.

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
}
