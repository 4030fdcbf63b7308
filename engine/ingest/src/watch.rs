//! Ingest from a watched folder: a clip is taken when its sidecar is
//! there and reads (writers put the sidecar down last). A sidecar that
//! does not read yet is tried again when it changes; one that stays bad
//! is reported, and the folder keeps being watched.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

use crate::check::Report;
use crate::error::IngestError;
use crate::library::Library;
use crate::sidecar::Clip;

/// When to stop watching.
#[derive(Debug, Clone, Copy, Default)]
pub struct Watch {
    /// After this many clips are in.
    pub clips: Option<usize>,
    /// After this long.
    pub time: Option<Duration>,
}

/// Watches `folder`, adding each finished clip to `library`; `event` hears
/// every new report and every clip refused (the watch goes on).
pub fn watch(
    folder: &Path,
    library: &mut Library,
    until: Watch,
    mut event: impl FnMut(Result<&Report, &IngestError>),
) -> Result<(), IngestError> {
    let fail = |e: notify::Error| IngestError::Watch {
        path: folder.to_owned(),
        why: e.to_string(),
    };
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).map_err(fail)?;
    watcher.watch(folder, RecursiveMode::NonRecursive).map_err(fail)?;
    let started = Instant::now();
    let mut added = 0;
    // Refused sidecars and when they were last read, so one is retried
    // only once it changes.
    let mut refused: Vec<(PathBuf, Option<std::time::SystemTime>)> = Vec::new();
    loop {
        for sidecar in sidecars(folder) {
            let modified = std::fs::metadata(&sidecar).and_then(|m| m.modified()).ok();
            if refused.iter().any(|(p, at)| *p == sidecar && *at == modified) {
                continue;
            }
            refused.retain(|(p, _)| *p != sidecar);
            match Clip::of_sidecar(&sidecar) {
                Ok(Some(clip)) if !library.has(&clip.path) => match library.add(clip) {
                    Ok(report) => {
                        added += 1;
                        event(Ok(&report));
                    }
                    Err(e) => {
                        refused.push((sidecar, modified));
                        event(Err(&e));
                    }
                },
                Ok(_) => {}
                Err(e) => {
                    refused.push((sidecar, modified));
                    event(Err(&e));
                }
            }
            if until.clips.is_some_and(|n| added >= n) {
                return Ok(());
            }
        }
        let left = until.time.map(|t| t.saturating_sub(started.elapsed()));
        if left == Some(Duration::ZERO) {
            return Ok(());
        }
        // Wake on any change in the folder (or to check the clock).
        match rx.recv_timeout(
            left.unwrap_or(Duration::from_secs(3600))
                .min(Duration::from_millis(500)),
        ) {
            Ok(Err(e)) => return Err(fail(e)),
            Ok(Ok(_)) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
        while rx.try_recv().is_ok() {}
    }
}

/// The sidecars in `folder`, in name order.
fn sidecars(folder: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    found.sort();
    found
}
