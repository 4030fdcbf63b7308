//! Checking what a file says about itself: a report with the validation
//! state, the signer, the actions, the ingredients and every status code.

use std::path::{Path, PathBuf};

use c2pa::{Context, Reader};
use serde::Serialize;

use crate::error::{ProvenanceError, file_error};
use crate::keys::local_ca;
use crate::manifest::SLATE_ASSERTION;
use crate::sign::offline;
use crate::structure;

/// Trust anchors (CA certificates, PEM) a signer may chain to.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    pub anchors_pem: String,
}

impl Trust {
    pub fn with(mut self, pem: &str) -> Trust {
        self.anchors_pem.push_str(pem);
        if !self.anchors_pem.ends_with('\n') {
            self.anchors_pem.push('\n');
        }
        self
    }

    /// Adds the CA certificates in a PEM file.
    pub fn with_file(self, path: &Path) -> Result<Trust, ProvenanceError> {
        let pem = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
        Ok(self.with(&pem))
    }

    /// Adds the local signing CA made in `dir` (see [`crate::Identity::local`]),
    /// if one was made there.
    pub fn with_local_ca(self, dir: &Path) -> Trust {
        match std::fs::read_to_string(local_ca(dir)) {
            Ok(pem) => self.with(&pem),
            Err(_) => self,
        }
    }
}

/// What a file's provenance comes to, from best to worst. Each kind of
/// bad input has its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Intact, well signed, and the signer chains to a trust anchor.
    Trusted,
    /// Intact and well signed, by a signer outside the trust list.
    Untrusted,
    /// Intact, but the signing certificate was not valid when checked.
    Expired,
    /// The media changed after it was signed (its hash no longer matches).
    MediaAltered,
    /// The manifest changed after it was signed (signature or assertion
    /// references no longer match).
    ManifestAltered,
    /// The manifest claims a hash for the media that is neither the media's
    /// nor the one that was signed.
    HashForged,
    /// Any other failed check; the failure codes say which.
    Invalid,
    /// No manifest at all.
    Unsigned,
    /// The file ends inside a box: cut short.
    Truncated,
    /// Not a file C2PA can read.
    Unreadable,
}

impl State {
    /// Whether the file is what its manifest says, signed by anyone.
    pub fn intact(self) -> bool {
        matches!(self, State::Trusted | State::Untrusted)
    }
}

/// One validation status code, as C2PA names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub file: String,
    /// The fragments checked with `file` (an init segment), if any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fragments: Vec<String>,
    pub state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<serde_json::Value>,
    pub actions: Vec<serde_json::Value>,
    pub ingredients: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slate: Option<serde_json::Value>,
    /// Every failed check.
    pub failures: Vec<Status>,
    pub informational: Vec<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Report {
    fn without_manifest(file: &Path, state: State, error: Option<String>) -> Report {
        Report {
            file: file.display().to_string(),
            fragments: Vec::new(),
            state,
            signer: None,
            actions: Vec::new(),
            ingredients: Vec::new(),
            slate: None,
            failures: Vec::new(),
            informational: Vec::new(),
            error,
        }
    }

    /// The failure codes, for matching.
    pub fn failure_codes(&self) -> Vec<&str> {
        self.failures.iter().map(|s| s.code.as_str()).collect()
    }
}

fn context(trust: &Trust) -> Result<Context, c2pa::Error> {
    let mut settings = offline();
    if !trust.anchors_pem.is_empty() {
        settings["trust"] = serde_json::json!({ "user_anchors": trust.anchors_pem });
    }
    Context::new().with_settings(settings)
}

/// Verifies one file, or a fragmented MP4: an init segment and its
/// fragments.
pub fn verify(path: &Path, fragments: Option<&[PathBuf]>, trust: &Trust) -> Report {
    let mut holder = Holder::default();
    let files = std::iter::once(path).chain(fragments.into_iter().flatten().map(PathBuf::as_path));
    for (index, file) in files.enumerate() {
        match check_boxes(file, index == 0) {
            Ok(Boxes::Whole(Some(found))) => holder = found,
            Ok(Boxes::Whole(None)) => {}
            Ok(Boxes::CutShort) => {
                let why = format!("{} ends inside a box: the file was cut short", file.display());
                return Report::without_manifest(path, State::Truncated, Some(why));
            }
            Err(e) => {
                return Report::without_manifest(path, State::Unreadable, Some(format!("{}: {e}", file.display())));
            }
        }
    }
    let reader = context(trust).and_then(|context| {
        let reader = Reader::from_context(context);
        match fragments {
            Some(fragments) => reader.with_fragmented_files(path, &fragments.to_vec()),
            None => match (crate::media_type(path), std::fs::File::open(path)) {
                // The crate reads boxes in many small steps: buffer them.
                (Some(format), Ok(file)) => {
                    reader.with_stream(&format, std::io::BufReader::with_capacity(crate::sign::BUFFER, file))
                }
                _ => reader.with_file(path),
            },
        }
    });
    let mut report = match reader {
        Ok(reader) => report(path, &reader, !trust.anchors_pem.is_empty(), holder),
        Err(c2pa::Error::JumbfNotFound | c2pa::Error::ProvenanceMissing) => {
            Report::without_manifest(path, State::Unsigned, None)
        }
        Err(error) => Report::without_manifest(path, State::Unreadable, Some(error.to_string())),
    };
    report.fragments = fragments
        .into_iter()
        .flatten()
        .map(|f| f.display().to_string())
        .collect();
    report
}

enum Boxes {
    /// Whole; for the file holding the manifest, what Slate found in it.
    Whole(Option<Holder>),
    CutShort,
}

/// What Slate checks itself in the file that holds the manifest.
#[derive(Default)]
struct Holder {
    /// What is wrong with its manifest box, if anything.
    fault: Option<String>,
    /// The SHA-256 of its `ftyp` box.
    ftyp: Option<String>,
}

/// Walks an ISO BMFF file's top-level boxes (other formats pass) and, for
/// the file holding the manifest, checks what C2PA does not.
fn check_boxes(path: &Path, holds_manifest: bool) -> std::io::Result<Boxes> {
    let bmff = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "mp4" | "m4s" | "m4a" | "m4v" | "mov" | "cmfv" | "cmfa"
        )
    });
    if !bmff {
        return Ok(Boxes::Whole(None));
    }
    let mut file = std::fs::File::open(path)?;
    let Some(tops) = structure::top_level(&mut file)? else {
        return Ok(Boxes::CutShort);
    };
    if !holds_manifest {
        return Ok(Boxes::Whole(None));
    }
    Ok(Boxes::Whole(Some(Holder {
        fault: structure::manifest_box_fault(&mut file, &tops)?,
        ftyp: structure::ftyp_hash_in(&mut file, &tops)?,
    })))
}

/// Slate's own failure codes, for what C2PA leaves unchecked
/// (see `structure`).
const MALFORMED: &str = "slate.manifestBox.malformed";
const FTYP_MISMATCH: &str = "slate.ftyp.mismatch";

const HARD_BINDINGS: [&str; 3] = ["c2pa.hash.bmff", "c2pa.hash.data", "c2pa.hash.boxes"];

/// The state the failure codes add up to.
fn classify(failures: &[Status], validation: c2pa::ValidationState, anchored: bool) -> State {
    let has = |code: &str| failures.iter().any(|s| s.code == code);
    let binding_changed = failures.iter().any(|s| {
        s.code == "assertion.hashedURI.mismatch"
            && s.url
                .as_deref()
                .is_some_and(|url| HARD_BINDINGS.iter().any(|b| url.contains(b)))
    });
    let media_changed = [
        "assertion.bmffHash.mismatch",
        "assertion.dataHash.mismatch",
        "assertion.boxesHash.mismatch",
        FTYP_MISMATCH,
    ]
    .iter()
    .any(|code| has(code));
    let manifest_changed = failures.iter().any(|s| {
        s.code == "claimSignature.mismatch"
            || s.code.ends_with("hashedURI.mismatch")
            || s.code.starts_with("claim.")
            || s.code == MALFORMED
    });
    let untrusted_only = failures.iter().all(|s| s.code == "signingCredential.untrusted");
    if binding_changed && media_changed {
        State::HashForged
    } else if manifest_changed {
        State::ManifestAltered
    } else if media_changed {
        State::MediaAltered
    } else if has("signingCredential.expired") {
        State::Expired
    } else if failures.is_empty() && validation == c2pa::ValidationState::Trusted && anchored {
        State::Trusted
    } else if untrusted_only && !(failures.is_empty() && validation == c2pa::ValidationState::Invalid) {
        State::Untrusted
    } else {
        State::Invalid
    }
}

fn report(path: &Path, reader: &Reader, anchored: bool, holder: Holder) -> Report {
    let json: serde_json::Value = serde_json::from_str(&reader.json()).unwrap_or_default();
    let active = reader.active_label().unwrap_or_default();
    let manifest = &json["manifests"][active];
    let assertion = |label: &str| {
        manifest["assertions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| {
                a["label"]
                    .as_str()
                    .is_some_and(|l| l == label || l.starts_with(&format!("{label}.")))
            })
            .map(|a| a["data"].clone())
    };
    let actions = assertion("c2pa.actions")
        .and_then(|data| data["actions"].as_array().cloned())
        .unwrap_or_default();
    let statuses = |kind: &str| -> Vec<Status> {
        json["validation_results"]["activeManifest"][kind]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| Status {
                code: s["code"].as_str().unwrap_or_default().to_owned(),
                url: s["url"].as_str().map(str::to_owned),
                explanation: s["explanation"].as_str().map(str::to_owned),
            })
            .collect()
    };
    let mut failures = statuses("failure");
    if let Some(why) = holder.fault {
        failures.push(Status {
            code: MALFORMED.into(),
            url: None,
            explanation: Some(why),
        });
    }
    let slate = assertion(SLATE_ASSERTION);
    let signed_ftyp = slate.as_ref().and_then(|s| s["ftyp"].as_str().map(str::to_owned));
    if let Some(signed_ftyp) = signed_ftyp
        && holder.ftyp.as_deref() != Some(signed_ftyp.as_str())
    {
        failures.push(Status {
            code: FTYP_MISMATCH.into(),
            url: None,
            explanation: Some("the ftyp box is not the one that was signed".into()),
        });
    }
    Report {
        file: path.display().to_string(),
        fragments: Vec::new(),
        state: classify(&failures, reader.validation_state(), anchored),
        signer: Some(manifest["signature_info"].clone()).filter(|s| !s.is_null()),
        actions,
        ingredients: manifest["ingredients"].as_array().cloned().unwrap_or_default(),
        slate,
        failures,
        informational: statuses("informational"),
        error: None,
    }
}
