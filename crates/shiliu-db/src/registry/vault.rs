//! Keeping ID numbers unreadable at rest.
//!
//! A person's ID number is stored twice and readable neither time: sealed (AES-256-GCM with a
//! fresh random nonce, so two rows of one number look unrelated) for the few who may see it,
//! and as a keyed hash (HMAC-SHA-256, first 16 bytes) that finds a person by number and turns
//! a second registration into an update. Both keys are derived from the one registry key in
//! the configuration: a copy of the database without it shows no number, and a guessed number
//! cannot be checked against the hashes (an unkeyed hash of the ~10^10 plausible numbers
//! would be reversed in minutes).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use shiliu_domain::id_number::IdNumber;

use crate::DbError;

/// The layout's version, first byte of every sealed value (a later key rotation reads it).
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
/// Bytes of the keyed hash kept: 2^64 numbers before a collision is likely.
const LOOKUP_LEN: usize = 16;

/// The registry key, ready to seal, open and hash ID numbers.
#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
    lookup: Hmac<Sha256>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

fn derive(key: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(label);
    m.finalize().into_bytes().into()
}

impl Vault {
    pub fn new(key: &[u8; 32]) -> Self {
        let seal = derive(key, b"shiliu registry: seal id numbers, v1");
        let lookup = derive(key, b"shiliu registry: look up id numbers, v1");
        Self {
            cipher: Aes256Gcm::new(&seal.into()),
            lookup: <Hmac<Sha256> as Mac>::new_from_slice(&lookup)
                .expect("HMAC takes any key length"),
        }
    }

    /// A key as configured: 64 hexadecimal digits.
    pub fn from_hex(hex_key: &str) -> Result<Self, DbError> {
        let bytes = hex::decode(hex_key.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| DbError::Key("the registry key must be 64 hexadecimal digits".into()))?;
        Ok(Self::new(&bytes))
    }

    /// A vault with a new random key: for tests, and the web layer's default configuration
    /// (a server always has the configured key).
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Self::new(&k)
    }

    /// A new random key, as 64 hexadecimal digits.
    pub fn generate_key() -> String {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        hex::encode(k)
    }

    /// The keyed hash that finds a person by number.
    pub fn lookup_key(&self, id: &IdNumber) -> Vec<u8> {
        let mut m = self.lookup.clone();
        m.update(id.as_str().as_bytes());
        m.finalize().into_bytes()[..LOOKUP_LEN].to_vec()
    }

    /// The number encrypted. The look-up key is bound in as associated data, so a sealed
    /// value moved to another person's row no longer opens.
    pub fn seal(&self, id: &IdNumber, lookup_key: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: id.as_str().as_bytes(),
                    aad: lookup_key,
                },
            )
            .expect("AES-GCM seals any message this short");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, sealed: &[u8], lookup_key: &[u8]) -> Result<IdNumber, DbError> {
        let refuse = || DbError::Key("a sealed ID number does not open with this key".into());
        if sealed.len() <= 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(refuse());
        }
        let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: lookup_key,
                },
            )
            .map_err(|_| refuse())?;
        let text = String::from_utf8(plain).map_err(|_| refuse())?;
        IdNumber::parse(&text).map_err(|_| refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number() -> IdNumber {
        let first = "45010219880808123";
        let check = shiliu_domain::id_number::check_char(first.as_bytes());
        IdNumber::parse(&format!("{first}{check}")).unwrap()
    }

    #[test]
    fn seals_and_opens_without_showing_the_number() {
        let v = Vault::from_hex(&Vault::generate_key()).unwrap();
        let id = number();
        let k = v.lookup_key(&id);
        let a = v.seal(&id, &k);
        let b = v.seal(&id, &k);
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.windows(8).any(|w| w == b"19880808"));
        assert_eq!(v.open(&a, &k).unwrap(), id);
        assert_eq!(k, v.lookup_key(&id), "the look-up key is stable");
    }

    #[test]
    fn another_key_or_another_row_does_not_open_it() {
        let v = Vault::random();
        let w = Vault::random();
        let id = number();
        let k = v.lookup_key(&id);
        let sealed = v.seal(&id, &k);
        assert!(matches!(w.open(&sealed, &k), Err(DbError::Key(_))));
        assert_ne!(w.lookup_key(&id), k);
        assert!(
            v.open(&sealed, &[0u8; 16]).is_err(),
            "bound to its row's key"
        );
        let mut bent = sealed.clone();
        *bent.last_mut().unwrap() ^= 1;
        assert!(v.open(&bent, &k).is_err());
        assert!(Vault::from_hex("abc").is_err());
    }
}
