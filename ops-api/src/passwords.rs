//! Passwords: argon2id hashes in PHC format, and the rules a new password must meet.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use secrecy::{ExposeSecret, SecretString};

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 10;
/// The longest password accepted (bounds the hashing work an attacker can ask for).
pub const MAX_LENGTH: usize = 256;

/// A password that meets the rules, ready to hash.
pub struct NewPassword(SecretString);

/// Why a password was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WeakPassword {
    /// Shorter than [`MIN_LENGTH`].
    #[error("password must be at least {MIN_LENGTH} characters")]
    TooShort,
    /// Longer than [`MAX_LENGTH`].
    #[error("password must be at most {MAX_LENGTH} characters")]
    TooLong,
    /// Only one kind of character (all letters, all digits...).
    #[error("password must mix letters with digits or symbols")]
    OneKindOfCharacter,
}

impl NewPassword {
    /// Checks `raw` against the rules.
    ///
    /// # Errors
    /// [`WeakPassword`] names the rule broken.
    pub fn parse(raw: SecretString) -> Result<Self, WeakPassword> {
        let text = raw.expose_secret();
        let length = text.chars().count();
        if length < MIN_LENGTH {
            return Err(WeakPassword::TooShort);
        }
        if length > MAX_LENGTH {
            return Err(WeakPassword::TooLong);
        }
        let letters = text.chars().any(char::is_alphabetic);
        let others = text.chars().any(|c| !c.is_alphabetic());
        if !(letters && others) {
            return Err(WeakPassword::OneKindOfCharacter);
        }
        Ok(Self(raw))
    }

    /// The argon2id hash of the password, with a fresh salt.
    ///
    /// # Panics
    /// Never for a password within [`MAX_LENGTH`]: hashing only fails on parameters out of
    /// argon2's range, and the defaults are within it.
    pub fn hash(&self) -> String {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.expose_secret().as_bytes(), &salt)
            .expect("default argon2id parameters hash any bounded password")
            .to_string()
    }
}

/// Whether `candidate` matches the stored `hash`. A malformed stored hash never matches.
pub fn verify(candidate: &SecretString, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(candidate.expose_secret().as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash to verify against when the user does not exist, so that an unknown e-mail takes as
/// long to refuse as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        NewPassword::parse(SecretString::from("decoy password 1".to_owned()))
            .expect("the decoy meets the rules")
            .hash()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn a_hashed_password_verifies_and_another_does_not() {
        let hash = NewPassword::parse(secret("correct horse 7"))
            .unwrap()
            .hash();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify(&secret("correct horse 7"), &hash));
        assert!(!verify(&secret("correct horse 8"), &hash));
        assert!(!verify(&secret("correct horse 7"), "not a hash"));
    }

    #[test]
    fn weak_passwords_are_refused_with_the_rule() {
        assert_eq!(
            NewPassword::parse(secret("short1")).err(),
            Some(WeakPassword::TooShort)
        );
        assert_eq!(
            NewPassword::parse(secret("onlylettershere")).err(),
            Some(WeakPassword::OneKindOfCharacter)
        );
        assert_eq!(
            NewPassword::parse(secret(&"a1".repeat(200))).err(),
            Some(WeakPassword::TooLong)
        );
    }
}
