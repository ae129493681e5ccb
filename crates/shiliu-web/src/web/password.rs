//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes).

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

/// A valid hash of a random password, verified against when the user name does not exist, so
/// both paths cost the same.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2hpbGl1ZHVtbXlzYWx0$3n0l0Wh6Xb8Yb1g0Yk9k2S0xQ0l1Xz9w4y8m2F7hJ1c";

pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let h = super::hash("Shiliu-2026").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("Shiliu-2026", &h));
        assert!(!super::verify("shiliu-2026", &h));
        assert!(!super::verify("x", "not a hash"));
        // The dummy parses, so the unknown-user path does the full work.
        assert!(argon2::password_hash::PasswordHash::new(super::DUMMY_HASH).is_ok());
    }
}
