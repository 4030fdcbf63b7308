//! A person's signing key (Ed25519): kept by them, used to sign their
//! grants and revocations. The registry only ever holds the public half.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use ed25519_dalek::{Signer, SigningKey};

use crate::error::ConsentError;
use crate::model::{GRANT_KIND, Grant, REVOCATION_KIND, Revocation, Signed, Terms, hex, hex_decode};

pub struct IdentityKey(SigningKey);

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdentityKey({})", self.public_hex())
    }
}

impl IdentityKey {
    pub fn generate() -> Result<IdentityKey, ConsentError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| ConsentError::Store(format!("no randomness for a key: {e}")))?;
        Ok(IdentityKey(SigningKey::from_bytes(&seed)))
    }

    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// The public key as hex, as people share it.
    pub fn public_hex(&self) -> String {
        hex(&self.public())
    }

    /// Writes the key (hex) readable by its owner only.
    pub fn save(&self, path: &Path) -> Result<(), ConsentError> {
        let fail = |e: std::io::Error| ConsentError::Key {
            path: path.to_owned(),
            why: e.to_string(),
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(fail)?;
        writeln!(file, "{}", hex(&self.0.to_bytes())).map_err(fail)
    }

    pub fn load(path: &Path) -> Result<IdentityKey, ConsentError> {
        let fail = |why: String| ConsentError::Key {
            path: path.to_owned(),
            why,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let bytes: [u8; 32] = hex_decode(text.trim())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| fail("not an Ed25519 key (64 hex digits)".into()))?;
        Ok(IdentityKey(SigningKey::from_bytes(&bytes)))
    }

    fn sign<T: serde::Serialize>(&self, record: &T) -> Signed {
        let body = serde_json::to_string(record).expect("records serialise");
        let signature = self.0.sign(body.as_bytes());
        Signed {
            body,
            signature: hex(&signature.to_bytes()),
        }
    }

    /// Signs a grant of `terms` to `identity` under `id`.
    pub fn grant(&self, id: &str, identity: &str, terms: Terms) -> Signed {
        self.sign(&Grant {
            kind: GRANT_KIND.into(),
            id: id.into(),
            identity: identity.into(),
            terms,
        })
    }

    /// Signs the revocation of grant `grant` from `revoked_at` on.
    pub fn revoke(&self, grant: &str, identity: &str, revoked_at: i64) -> Signed {
        self.sign(&Revocation {
            kind: REVOCATION_KIND.into(),
            grant: grant.into(),
            identity: identity.into(),
            revoked_at,
        })
    }
}
