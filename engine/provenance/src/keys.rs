//! Who signs: a local signing CA and an ES256 end-entity certificate it
//! issued (C2PA refuses self-signed end entities, so there is a chain),
//! made on first use and kept with 0600 permissions; or a key and chain the
//! user supplies.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};

use crate::error::{ProvenanceError, file_error};

/// A signer's key and certificate chain (end entity first, then its CA).
#[derive(Clone)]
pub struct Identity {
    pub chain_pem: String,
    pub key_pem: String,
    /// The CA that issued the signer, to trust when validating our own
    /// files (None for a user-supplied chain).
    pub ca_pem: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("local_ca", &self.ca_pem.is_some())
            .finish()
    }
}

/// Where [`Identity::local`] keeps the local CA's certificate.
pub(crate) fn local_ca(dir: &Path) -> PathBuf {
    dir.join("signing").join("ca.pem")
}

/// When certificates made here are valid.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    pub from: OffsetDateTime,
    pub until: OffsetDateTime,
}

impl Validity {
    /// From a day ago (clocks differ) for `days` days.
    pub fn days(days: i64) -> Validity {
        let now = OffsetDateTime::now_utc();
        Validity {
            from: now - Duration::days(1),
            until: now + Duration::days(days),
        }
    }
}

impl Default for Validity {
    /// Twenty years: a local CA is replaced by deleting it, not by expiry.
    fn default() -> Self {
        Validity::days(20 * 365)
    }
}

impl Identity {
    /// The local identity in `dir/signing/`, made there on first use.
    pub fn local(dir: &Path) -> Result<Identity, ProvenanceError> {
        let folder = dir.join("signing");
        let (ca, chain, key) = (local_ca(dir), folder.join("chain.pem"), folder.join("signer.key"));
        if !chain.exists() || !key.exists() || !ca.exists() {
            let made = Identity::make(Validity::default(), "Slate local signing CA", "Slate publisher")?;
            std::fs::create_dir_all(&folder).map_err(|e| file_error(&folder, e))?;
            let ca_pem = made.ca_pem.as_deref().unwrap_or_default();
            write_private(&key, &made.key_pem)?;
            std::fs::write(&chain, &made.chain_pem).map_err(|e| file_error(&chain, e))?;
            std::fs::write(&ca, ca_pem).map_err(|e| file_error(&ca, e))?;
            tracing::info!("made a local signing CA and signer in {}", folder.display());
        }
        let read = |path: &Path| std::fs::read_to_string(path).map_err(|e| file_error(path, e));
        Ok(Identity {
            chain_pem: read(&chain)?,
            key_pem: read(&key)?,
            ca_pem: Some(read(&ca)?),
        })
    }

    /// Trust in this identity's own CA (none for a user-supplied chain).
    pub fn trust(&self) -> crate::Trust {
        match &self.ca_pem {
            Some(pem) => crate::Trust::default().with(pem),
            None => crate::Trust::default(),
        }
    }

    /// A user-supplied chain (end entity first) and PKCS#8 key.
    pub fn from_files(chain: &Path, key: &Path) -> Result<Identity, ProvenanceError> {
        let read = |path: &Path| std::fs::read_to_string(path).map_err(|e| file_error(path, e));
        let identity = Identity {
            chain_pem: read(chain)?,
            key_pem: read(key)?,
            ca_pem: None,
        };
        identity.signer().map_err(|e| ProvenanceError::BadIdentity {
            path: chain.to_owned(),
            why: e.to_string(),
        })?;
        Ok(identity)
    }

    /// A fresh CA and an end entity it issued, valid as given.
    pub fn make(validity: Validity, ca_name: &str, signer_name: &str) -> Result<Identity, ProvenanceError> {
        let fail = |e: rcgen::Error| ProvenanceError::Certificates(e.to_string());
        let dates = |p: &mut CertificateParams| {
            p.not_before = validity.from;
            p.not_after = validity.until;
        };
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(fail)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        ca.distinguished_name = name(ca_name);
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        dates(&mut ca);
        let ca_cert = ca.self_signed(&ca_key).map_err(fail)?;

        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(fail)?;
        let mut signer = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        signer.distinguished_name = name(signer_name);
        signer.is_ca = IsCa::ExplicitNoCa;
        signer.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        // C2PA accepts signers with one of a few EKUs; email protection is one.
        signer.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
        signer.use_authority_key_identifier_extension = true;
        dates(&mut signer);
        let issuer = Issuer::new(ca, &ca_key);
        let signer_cert = signer.signed_by(&key, &issuer).map_err(fail)?;
        Ok(Identity {
            chain_pem: format!("{}{}", signer_cert.pem(), ca_cert.pem()),
            key_pem: key.serialize_pem(),
            ca_pem: Some(ca_cert.pem()),
        })
    }

    /// A C2PA signer for this identity (ES256, no timestamp authority: no
    /// network at sign time), with the signature space sized tightly.
    pub fn signer(&self) -> Result<c2pa::BoxedSigner, c2pa::Error> {
        self.signer_with_room(SIGNATURE_ROOM)
    }

    /// A signer with `room` bytes of signature space beyond the
    /// certificates, for when the tight size was not enough.
    pub(crate) fn signer_with_room(&self, room: usize) -> Result<c2pa::BoxedSigner, c2pa::Error> {
        let inner = c2pa::create_signer::from_keys(
            self.chain_pem.as_bytes(),
            self.key_pem.as_bytes(),
            c2pa::SigningAlg::Es256,
            None,
        )?;
        let chain: usize = inner.certs()?.iter().map(Vec::len).sum();
        Ok(Box::new(TightSigner {
            reserve: chain + room,
            inner,
        }))
    }
}

/// Room in the signature box beyond the certificates: the rest of the
/// COSE structure takes 92 bytes with an ES256 signer and no time stamp,
/// and the crate pads the rest with zeros — at least 256 bytes, as its
/// padding search does not settle on less (measured with c2pa 0.90).
const SIGNATURE_ROOM: usize = 360;
/// Room enough for any chain's extras (the crate's own reserve is 10 kB).
pub(crate) const ROOMY: usize = 4096;

/// The crate's signer with the signature space sized to what ES256 needs.
/// The crate reserves about 10 kB and fills the rest with zero padding
/// that the signature does not cover; less padding leaves fewer bytes a
/// C2PA validator cannot vouch for (Slate's own check covers them all, see
/// `structure`).
struct TightSigner {
    inner: c2pa::BoxedSigner,
    reserve: usize,
}

impl c2pa::Signer for TightSigner {
    fn sign(&self, data: &[u8]) -> c2pa::Result<Vec<u8>> {
        self.inner.sign(data)
    }

    fn alg(&self) -> c2pa::SigningAlg {
        self.inner.alg()
    }

    fn certs(&self) -> c2pa::Result<Vec<Vec<u8>>> {
        self.inner.certs()
    }

    fn reserve_size(&self) -> usize {
        self.reserve
    }
}

fn name(common: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common);
    name.push(DnType::OrganizationName, "Slate");
    name
}

/// Writes a secret readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), ProvenanceError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| file_error(path, e))?;
    file.write_all(text.as_bytes()).map_err(|e| file_error(path, e))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_local_identity_is_made_once_and_its_key_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = Identity::local(dir.path()).unwrap();
        let again = Identity::local(dir.path()).unwrap();
        assert_eq!(first.key_pem, again.key_pem, "made once, then read");
        assert_eq!(
            first.chain_pem.matches("BEGIN CERTIFICATE").count(),
            2,
            "end entity, then CA"
        );
        let mode = std::fs::metadata(dir.path().join("signing/signer.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        first.signer().unwrap();
    }

    #[test]
    fn a_bad_user_key_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, key) = (dir.path().join("chain.pem"), dir.path().join("key.pem"));
        std::fs::write(&chain, "not a certificate").unwrap();
        std::fs::write(&key, "not a key").unwrap();
        let error = Identity::from_files(&chain, &key).unwrap_err().to_string();
        assert!(
            error.contains("chain.pem: not a signing key and certificate chain C2PA accepts"),
            "{error}"
        );
    }
}
