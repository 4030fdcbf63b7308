//! Signing finished files: a manifest built from a [`Story`], embedded by
//! the c2pa crate (BMFF hashing for MP4, one manifest over the init
//! segment and every fragment for fragmented MP4 / HLS).

use std::io::Seek;
use std::path::Path;

use c2pa::{Builder, Context};

use crate::error::{ProvenanceError, file_error};
use crate::keys::Identity;
use crate::manifest::{SLATE_ASSERTION, Source, Story, software_agent};
use crate::structure;

/// Settings for signing and reading: nothing is fetched from the network.
pub(crate) fn offline() -> serde_json::Value {
    serde_json::json!({
        "verify": { "ocsp_fetch": false, "remote_manifest_fetch": false },
    })
}

/// `ftyp`: the SHA-256 of the file's `ftyp` box, which C2PA does not hash
/// (see `structure`).
fn builder(story: &Story, title: &str, ftyp: Option<String>) -> Result<Builder, ProvenanceError> {
    let fail = |e: c2pa::Error| ProvenanceError::Manifest(e.to_string());
    let context = Context::new().with_settings(offline()).map_err(fail)?;
    let definition = serde_json::json!({
        "claim_generator_info": [software_agent()],
        "title": story.title.clone().unwrap_or_else(|| title.to_owned()),
    });
    let mut builder = Builder::from_context(context)
        .with_definition(definition)
        .map_err(fail)?;
    let source = story.source.unwrap_or(Source::Capture);
    builder
        .add_action(serde_json::json!({
            "action": "c2pa.created",
            "digitalSourceType": source.iptc(),
            "softwareAgent": software_agent(),
        }))
        .map_err(fail)?;
    // Ingredients are labelled by file name, which is how edits name them.
    let labels: Vec<String> = story.ingredients.iter().map(|p| file_name(p)).collect();
    for edit in &story.edits {
        let mut action = serde_json::json!({
            "action": edit.action,
            "description": edit.description,
            "softwareAgent": software_agent(),
        });
        let used = if edit.ingredients.is_empty() && edit.needs_ingredients() {
            &labels
        } else {
            &edit.ingredients
        };
        if let Some(unknown) = used.iter().find(|name| !labels.contains(name)) {
            return Err(ProvenanceError::Manifest(format!(
                "edit `{}` names ingredient `{unknown}`, which is not among the ingredients ({})",
                edit.action,
                labels.join(", ")
            )));
        }
        if !used.is_empty() {
            action["parameters"] = serde_json::json!({ "ingredientIds": used });
        }
        builder.add_action(action).map_err(fail)?;
    }
    for (path, label) in story.ingredients.iter().zip(&labels) {
        let format = crate::media_type(path)
            .ok_or_else(|| ProvenanceError::Manifest(format!("{}: not a media type C2PA knows", path.display())))?;
        let mut file = std::fs::File::open(path).map_err(|e| ProvenanceError::Read {
            path: path.clone(),
            why: e.to_string(),
        })?;
        let ingredient = serde_json::json!({ "title": label, "label": label, "relationship": "componentOf" });
        builder
            .add_ingredient_from_stream(ingredient.to_string(), &format, &mut file)
            .map_err(|e| ProvenanceError::Manifest(format!("ingredient {}: {e}", path.display())))?;
    }
    let mut assertion = story.slate_assertion();
    if let Some(ftyp) = ftyp {
        assertion["ftyp"] = ftyp.into();
    }
    builder.add_assertion(SLATE_ASSERTION, &assertion).map_err(fail)?;
    Ok(builder)
}

/// Signs with the tightly sized signer, and once more with room to spare
/// if a chain needed more space than expected.
fn with_signer(identity: &Identity, mut sign: impl FnMut(&dyn c2pa::Signer) -> c2pa::Result<()>) -> c2pa::Result<()> {
    match sign(identity.signer()?.as_ref()) {
        Err(c2pa::Error::CoseSigboxTooSmall) => {
            tracing::debug!("the signature needed more room than reserved; signing again with more");
            sign(identity.signer_with_room(crate::keys::ROOMY)?.as_ref())
        }
        done => done,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Signs `source` into `dest` (which must not exist yet).
pub fn sign_file(identity: &Identity, story: &Story, source: &Path, dest: &Path) -> Result<(), ProvenanceError> {
    let fail = |e: c2pa::Error| ProvenanceError::Sign {
        path: source.to_owned(),
        why: e.to_string(),
    };
    let format = crate::media_type(source).ok_or_else(|| ProvenanceError::Sign {
        path: source.to_owned(),
        why: "not a media type C2PA can sign".into(),
    })?;
    let mut builder = builder(story, &file_name(dest), structure::ftyp_hash(source))?;
    // The crate reads boxes in many small steps: buffer them.
    let open = |path: &Path| std::fs::File::open(path).map_err(|e| file_error(path, e));
    let mut input = std::io::BufReader::with_capacity(BUFFER, open(source)?);
    with_signer(identity, |signer| {
        let mut output = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dest)?;
        input.rewind()?;
        builder.sign(signer, &format, &mut input, &mut output).map(drop)
    })
    .map_err(fail)
}

/// Read buffer for the crate's many small reads.
pub(crate) const BUFFER: usize = 1 << 20;

/// Signs fragmented MP4: the init segment(s) matching `init` and the
/// fragments matching `fragments` (a pattern relative to their folder, e.g.
/// `segment*.m4s`) are written, with one manifest, into `output` (a folder).
pub fn sign_fragmented(
    identity: &Identity,
    story: &Story,
    init: &Path,
    fragments: &str,
    output: &Path,
) -> Result<(), ProvenanceError> {
    let fail = |e: c2pa::Error| ProvenanceError::Sign {
        path: init.to_owned(),
        why: e.to_string(),
    };
    let title = file_name(init);
    let mut builder = builder(story, &title, structure::ftyp_hash(init))?;
    with_signer(identity, |signer| {
        builder.sign_fragmented_files(signer, init, Path::new(fragments), output)
    })
    .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Validity;

    #[test]
    fn a_signature_that_needs_more_room_is_made_again_with_more() {
        let identity = Identity::make(Validity::default(), "Test CA", "Test signer").unwrap();
        let mut reserves = Vec::new();
        let result = with_signer(&identity, |signer| {
            reserves.push(signer.reserve_size());
            if reserves.len() == 1 {
                Err(c2pa::Error::CoseSigboxTooSmall)
            } else {
                Ok(())
            }
        });
        assert!(result.is_ok());
        assert_eq!(reserves.len(), 2);
        assert!(reserves[1] > reserves[0], "{reserves:?}");
    }
}
