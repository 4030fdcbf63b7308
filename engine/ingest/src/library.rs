//! An ingest library: a folder holding every clip ingested so far, each
//! signed (C2PA) with the model's original as its ingredient and the
//! sidecar in Slate's assertion, plus `report.json` and `sheet.png` for
//! the film the clips make in shot order.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use slate_provenance::{Identity, Source, Story};

use crate::check::{Report, check};
use crate::error::{IngestError, output, write_whole};
use crate::sheet::write_sheet;
use crate::sidecar::Clip;

pub struct Library {
    folder: PathBuf,
    plugin: PathBuf,
    identity: Identity,
    /// Originals, in shot order.
    clips: Vec<Clip>,
}

/// Shot ids in natural order: `s2` before `s10`.
fn natural(a: &str, b: &str) -> Ordering {
    let key = |s: &str| {
        let digits = s.trim_start_matches(|c: char| !c.is_ascii_digit());
        let prefix = &s[..s.len() - digits.len()];
        let number: String = digits.chars().take_while(char::is_ascii_digit).collect();
        (prefix.to_owned(), number.parse::<u64>().unwrap_or(0), s.to_owned())
    };
    key(a).cmp(&key(b))
}

impl Library {
    /// A library in `folder` (made if missing), checking with the
    /// `continuity` plugin at `plugin` and signing as `identity`. A
    /// library that was there already goes on with the clips its report
    /// lists (those whose originals are still there).
    pub fn open(folder: &Path, plugin: &Path, identity: Identity) -> Result<Library, IngestError> {
        std::fs::create_dir_all(folder.join("clips")).map_err(|e| output(folder, e))?;
        let mut library = Library {
            folder: folder.to_owned(),
            plugin: plugin.to_owned(),
            identity,
            clips: Vec::new(),
        };
        if let Ok(text) = std::fs::read(library.report_path()) {
            #[derive(serde::Deserialize)]
            struct Listed {
                clips: Vec<Clip>,
            }
            let listed: Listed = serde_json::from_slice(&text).map_err(|e| IngestError::Input {
                path: library.report_path(),
                why: format!("not a report this library wrote ({e}); move it away to start afresh"),
            })?;
            library.clips = listed.clips.into_iter().filter(|c| c.path.is_file()).collect();
        }
        Ok(library)
    }

    pub fn report_path(&self) -> PathBuf {
        self.folder.join("report.json")
    }

    pub fn sheet_path(&self) -> PathBuf {
        self.folder.join("sheet.png")
    }

    /// Whether a clip from `path` is in already.
    pub fn has(&self, path: &Path) -> bool {
        self.clips.iter().any(|c| c.path == path)
    }

    /// Signs `clip` into the library, then checks the film again and
    /// rewrites the report and the sheet (each appears whole or not at
    /// all). A clip the checker cannot read is not added.
    pub fn add(&mut self, clip: Clip) -> Result<Report, IngestError> {
        let mut clips = self.clips.clone();
        clips.push(clip.clone());
        clips.sort_by(|a, b| natural(&a.sidecar.shot, &b.sidecar.shot));
        let (report, pairs) = check(&self.plugin, &clips)?;
        let name = clip
            .path
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| "clip.mp4".into());
        let story = Story {
            title: Some(clip.sidecar.prompt.clone()),
            source: Some(Source::Generated),
            ingredients: vec![clip.path.clone()],
            shots: vec![serde_json::json!({
                "shot": clip.sidecar.shot,
                "prompt": clip.sidecar.prompt,
                "model": clip.sidecar.model,
            })],
            ..Story::default()
        };
        slate_provenance::sign_file(
            &self.identity,
            &story,
            &clip.path,
            &self.folder.join("clips").join(name),
        )?;
        self.clips = clips;
        let json = serde_json::to_vec_pretty(&report).expect("a report is JSON");
        write_whole(&self.report_path(), &json)?;
        write_sheet(&self.sheet_path(), &pairs)?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shots_sort_naturally() {
        let mut shots = vec!["s10", "s2", "s1", "b1", "s2a"];
        shots.sort_by(|a, b| super::natural(a, b));
        assert_eq!(shots, ["b1", "s1", "s2", "s2a", "s10"]);
    }
}
