//! A clip's sidecar: `NAME.json` beside `NAME.mp4` (or any media file),
//! written after the clip, which is how a watcher knows the clip is done:
//!
//! ```json
//! {"shot": "s2", "prompt": "the cup on the table, from the left", "model": "acme-video-2"}
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::IngestError;

/// What the model that made a clip says about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sidecar {
    /// The shot this clip is, as the storyboard or edit names it; clips
    /// play in the order of their shot ids.
    pub shot: String,
    pub prompt: String,
    /// The model (and version) that made the clip.
    pub model: String,
}

impl Sidecar {
    /// The field that is wrong and why, for a sidecar that parses.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if self.shot.trim().is_empty() {
            Some(("shot", "is empty; name the shot this clip is"))
        } else if self.model.trim().is_empty() {
            Some(("model", "is empty; name the model (and version) that made the clip"))
        } else {
            None
        }
    }
}

/// A clip and its sidecar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    pub path: PathBuf,
    pub sidecar: Sidecar,
}

/// Media files a clip may be: its extension.
pub const MEDIA: [&str; 5] = ["mp4", "mov", "mkv", "webm", "m4v"];

impl Clip {
    /// The clip `sidecar` describes, if its media file is there: the file
    /// with the sidecar's stem and a media extension.
    pub fn of_sidecar(sidecar: &Path) -> Result<Option<Clip>, IngestError> {
        let bad = |why: String| IngestError::Input {
            path: sidecar.to_owned(),
            why,
        };
        let Some(path) = MEDIA
            .iter()
            .map(|ext| sidecar.with_extension(ext))
            .find(|p| p.is_file())
        else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(sidecar).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let mut json = serde_json::Deserializer::from_str(&text);
        let sidecar: Sidecar = serde_path_to_error::deserialize(&mut json).map_err(|e| {
            let field = e.path().to_string();
            let at = if field == "." {
                String::new()
            } else {
                format!("field `{field}`: ")
            };
            bad(format!(
                "{at}{} (a sidecar is {{\"shot\", \"prompt\", \"model\"}})",
                e.inner()
            ))
        })?;
        if let Some((field, why)) = sidecar.problem() {
            return Err(bad(format!("field `{field}`: {why}")));
        }
        Ok(Some(Clip { path, sidecar }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_sidecar_finds_its_clip_and_refuses_bad_fields_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let good = r#"{"shot": "s1", "prompt": "a cup", "model": "m-1"}"#;
        let sidecar = write(dir.path(), "a.json", good);
        assert_eq!(Clip::of_sidecar(&sidecar).unwrap(), None, "no clip yet");
        write(dir.path(), "a.mp4", "");
        let clip = Clip::of_sidecar(&sidecar).unwrap().unwrap();
        assert_eq!(clip.path, dir.path().join("a.mp4"));
        assert_eq!(clip.sidecar.model, "m-1");
        write(dir.path(), "b.mp4", "");
        for (text, says) in [
            (r#"{"shot": "s1", "prompt": "a cup"}"#, "missing field `model`"),
            (r#"{"shot": 3, "prompt": "a cup", "model": "m"}"#, "field `shot`"),
            (
                r#"{"shot": "s1", "prompt": "a", "model": "m", "seed": 4}"#,
                "unknown field `seed`",
            ),
            (
                r#"{"shot": " ", "prompt": "a", "model": "m"}"#,
                "field `shot`: is empty",
            ),
            ("not json", "b.json"),
        ] {
            let sidecar = write(dir.path(), "b.json", text);
            let e = Clip::of_sidecar(&sidecar).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains("b.json"), "{text}: {e}");
        }
    }
}
