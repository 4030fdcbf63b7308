//! The records: identities, the terms of a grant, what is signed, and what
//! a check answers.

use serde::{Deserialize, Serialize};

use crate::error::{ConsentError, invalid};

/// A registered person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    pub id: String,
    pub name: String,
    /// Ed25519 public key.
    pub public_key: [u8; 32],
    /// Reference face embeddings, one per photo.
    pub embeddings: Vec<Vec<f32>>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Identity {
    /// The identity as it is listed: the key as hex, how many photos.
    pub fn summary(&self) -> IdentitySummary {
        IdentitySummary {
            id: self.id.clone(),
            name: self.name.clone(),
            public_key: hex(&self.public_key),
            photos: self.embeddings.len(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Cosine similarity of two vectors (1 same direction, 0 unrelated).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let n = norm(a) * norm(b);
    if n > 0.0 { dot / n } else { 0.0 }
}

/// The registered person whose reference faces `embedding` is most like,
/// and how alike (the best cosine similarity over their photos).
pub fn best_match<'a>(identities: &'a [Identity], embedding: &[f32]) -> Option<(&'a Identity, f32)> {
    identities
        .iter()
        .flat_map(|person| person.embeddings.iter().map(move |e| (person, cosine(e, embedding))))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// A registered person as listed, without the face embeddings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentitySummary {
    pub id: String,
    pub name: String,
    pub public_key: String,
    pub photos: usize,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A grant as listed: with when it was revoked, if it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantRecord {
    pub grant: Grant,
    pub revoked_at: Option<i64>,
}

/// What a grant allows: who, where, how, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Terms {
    /// The creator, account or project allowed.
    pub grantee: String,
    /// Channels, platforms or regions; `*` for any.
    pub channels: Vec<String>,
    /// Allowed uses: `cameo`, `remix`, `training`...
    pub uses: Vec<String>,
    /// Contexts (tags) the likeness may never appear in.
    #[serde(default)]
    pub forbidden: Vec<String>,
    /// Valid from (inclusive) until (exclusive), seconds since the epoch.
    pub valid_from: i64,
    pub valid_until: i64,
}

impl Terms {
    pub(crate) fn check(&self) -> Result<(), ConsentError> {
        if self.grantee.trim().is_empty() {
            return Err(invalid(
                "grantee",
                "empty; name the creator, account or project allowed",
            ));
        }
        if self.channels.is_empty() || self.channels.iter().any(|c| c.trim().is_empty()) {
            return Err(invalid("channels", "list at least one channel (or \"*\"), none empty"));
        }
        if self.uses.is_empty() || self.uses.iter().any(|u| u.trim().is_empty()) {
            return Err(invalid("uses", "list at least one use, e.g. \"cameo\", none empty"));
        }
        if self.valid_until <= self.valid_from {
            return Err(invalid(
                "valid_until",
                format!("{} is not after valid_from {}", self.valid_until, self.valid_from),
            ));
        }
        Ok(())
    }
}

/// A grant: an identity's terms under an id, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grant {
    /// Always `slate.consent.grant/1`: a signature for one kind of record
    /// never passes for another.
    pub kind: String,
    pub id: String,
    pub identity: String,
    pub terms: Terms,
}

pub(crate) const GRANT_KIND: &str = "slate.consent.grant/1";
pub(crate) const REVOCATION_KIND: &str = "slate.consent.revocation/1";

/// Taking a grant back, from `revoked_at` on, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revocation {
    /// Always `slate.consent.revocation/1`.
    pub kind: String,
    pub grant: String,
    pub identity: String,
    pub revoked_at: i64,
}

/// A record with its signature: `body` is the exact JSON that was signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    pub body: String,
    /// Ed25519 signature of `body`, hex.
    pub signature: String,
}

impl Signed {
    pub(crate) fn signature_bytes(&self) -> Result<[u8; 64], ConsentError> {
        let bytes = hex_decode(&self.signature).ok_or_else(|| invalid("signature", "not hex"))?;
        bytes
            .try_into()
            .map_err(|b: Vec<u8>| invalid("signature", format!("{} bytes; an Ed25519 signature has 64", b.len())))
    }
}

/// What a pipeline asks: may this person be shown here, now, like this?
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub identity: String,
    pub grantee: String,
    pub channel: String,
    pub use_: String,
    /// Tags of the context the likeness would appear in.
    pub context: Vec<String>,
    pub at: i64,
}

/// The answer, with the grant that allows it or why nothing does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verdict {
    pub allowed: bool,
    pub grant: Option<String>,
    pub reason: String,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub checker: String,
    pub media: String,
    pub frames: String,
    pub identity: Option<String>,
    pub grant: Option<String>,
    pub allowed: bool,
    pub reason: String,
}

/// Bytes as lower-case hex digits.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex digits; None unless it is an even number of them and
/// nothing else (`u8::from_str_radix` alone would take "+b" as 0x0b).
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |d: u8| (d as char).to_digit(16).map(|v| v as u8);
    digits
        .chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_anything_but_digits() {
        let bytes = [0x00, 0x0b, 0xa9, 0xff];
        assert_eq!(hex_decode(&hex(&bytes)).unwrap(), bytes);
        assert_eq!(hex_decode("A9FF").unwrap(), [0xa9, 0xff]);
        for bad in ["+b", "-1", " 1", "0x", "abc", "zz", "é0"] {
            assert_eq!(hex_decode(bad), None, "{bad:?}");
        }
    }

    fn person(id: &str, embeddings: Vec<Vec<f32>>) -> Identity {
        Identity {
            id: id.into(),
            name: id.into(),
            public_key: [0; 32],
            embeddings,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_best_match_is_the_closest_photo_of_anyone() {
        let people = [
            person("a", vec![vec![1.0, 0.0], vec![0.0, 1.0]]),
            person("b", vec![vec![0.7, 0.7]]),
        ];
        let (who, score) = best_match(&people, &[0.1, 2.0]).unwrap();
        assert_eq!(who.id, "a");
        assert!((score - 2.0 / 4.01f32.sqrt()).abs() < 1e-6, "{score}");
        assert_eq!(best_match(&people, &[1.0, 1.0]).unwrap().0.id, "b");
        assert!(best_match(&[], &[1.0]).is_none());
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
