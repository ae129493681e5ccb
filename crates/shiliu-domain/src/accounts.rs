//! Account rules: user names and the password policy.

use crate::FieldError;

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A login name: 3–32 characters of lower-case ASCII letters, digits, `.`, `_`, `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let v = input.trim().to_lowercase();
        if v.is_empty() {
            return Err(FieldError::new("username", "err.required"));
        }
        let len_ok = (3..=32).contains(&v.len());
        let chars_ok = v
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if !len_ok || !chars_ok {
            return Err(FieldError::new("username", "err.username.invalid"));
        }
        Ok(Self(v))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The password policy (等保 2.0 identity authentication): at least 10 characters, at least
/// three of the four classes (lower, upper, digit, other), not containing the user name.
pub fn check_password(password: &str, username: &str) -> Result<(), FieldError> {
    const F: &str = "password";
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(FieldError::new(F, "err.password.short").arg("min", MIN_PASSWORD_CHARS));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(FieldError::new(F, "err.too_long").arg("max", MAX_PASSWORD_CHARS));
    }
    let classes = [
        password.chars().any(char::is_lowercase),
        password.chars().any(char::is_uppercase),
        password.chars().any(|c| c.is_ascii_digit()),
        // Chinese characters count as "other": they widen the alphabet like symbols do.
        password
            .chars()
            .any(|c| !(c.is_lowercase() || c.is_uppercase() || c.is_ascii_digit())),
    ];
    if classes.iter().filter(|b| **b).count() < 3 {
        return Err(FieldError::new(F, "err.password.classes"));
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(FieldError::new(F, "err.password.contains_username"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(Username::parse(" Admin ").unwrap().as_str(), "admin");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("张三").is_err());
        assert!(Username::parse("a b c").is_err());
    }

    #[test]
    fn password_policy() {
        assert_eq!(
            check_password("Short1!", "x").unwrap_err().reason,
            "err.password.short"
        );
        assert_eq!(
            check_password("alllowercaseletters", "x")
                .unwrap_err()
                .reason,
            "err.password.classes"
        );
        assert_eq!(
            check_password("Wang.Xiao2024", "wang.xiao")
                .unwrap_err()
                .reason,
            "err.password.contains_username"
        );
        assert!(check_password("Shiliu-2026", "admin").is_ok());
        assert!(check_password("石榴花开2026ab", "admin").is_ok());
    }
}
