//! Secrets shown once: API tokens (`slt_…`) and invite codes (`inv_…`),
//! random base62, kept only as their SHA-256.

use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Characters after the prefix: 40 base62 characters are 238 bits.
const LENGTH: usize = 40;

/// How much of a secret is kept in the clear, to recognise it in a list.
pub const SHOWN: usize = 10;

pub const TOKEN_PREFIX: &str = "slt_";
pub const INVITE_PREFIX: &str = "inv_";

/// A new secret: `prefix` and random base62.
pub fn new(prefix: &str) -> String {
    let mut text = String::with_capacity(prefix.len() + LENGTH);
    text.push_str(prefix);
    while text.len() < prefix.len() + LENGTH {
        let mut bytes = [0u8; 64];
        getrandom::getrandom(&mut bytes).expect("the operating system's random source works");
        // 248 = 4 * 62: dropping larger bytes keeps every character equally likely.
        for b in bytes.into_iter().filter(|b| *b < 248) {
            if text.len() == prefix.len() + LENGTH {
                break;
            }
            text.push(ALPHABET[(b % 62) as usize] as char);
        }
    }
    text
}

/// What is stored of a secret.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.trim().as_bytes()).into()
}

/// A short random id with `prefix` (`acc_`, `tok_`), for records.
pub fn id(prefix: &str) -> String {
    let mut text = new(prefix);
    text.truncate(prefix.len() + 16);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_base62_and_distinct() {
        let a = new(TOKEN_PREFIX);
        let b = new(TOKEN_PREFIX);
        assert_ne!(a, b);
        assert_eq!(a.len(), 44);
        assert!(a.starts_with("slt_") && a[4..].bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(hash(&a), hash(&format!(" {a}\n")));
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(id("acc_").len(), 20);
    }
}
