//! Hot reload: watches the plugin file and gets its new version ready off
//! the streaming thread, so the stage swaps it in between two buffers.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};
use slate_wasm::{Host, Limits, Plugin, Stage};

/// Writes come in bursts (create, write, close, rename): load once they stop.
const QUIET: Duration = Duration::from_millis(100);

/// A new version, ready to run; or why the file could not become one.
pub type Ready = Result<(Arc<Plugin>, Stage), String>;

pub struct Reloader {
    _watcher: notify::RecommendedWatcher,
    ready: Arc<Mutex<Option<Ready>>>,
}

impl Reloader {
    /// Watches `path`; `hash` is the version running now.
    pub fn start(path: &Path, config: String, limits: Limits, hash: String) -> notify::Result<Reloader> {
        let (tx, rx) = channel();
        let mut watcher = notify::recommended_watcher(tx)?;
        // The folder, not the file: editors and build tools replace files.
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        watcher.watch(folder, RecursiveMode::NonRecursive)?;
        let ready = Arc::new(Mutex::new(None));
        let slot = ready.clone();
        let path = path.to_owned();
        std::thread::Builder::new()
            .name("slate-wasm-reload".into())
            .spawn(move || watch(rx, path, config, limits, hash, slot))
            .map_err(|e| notify::Error::generic(&e.to_string()))?;
        Ok(Reloader {
            _watcher: watcher,
            ready,
        })
    }

    /// The version made ready since the last call, if any.
    pub fn take(&self) -> Option<Ready> {
        self.ready.lock().unwrap().take()
    }
}

/// Runs until the watcher (and with it the channel) is dropped.
fn watch(
    rx: Receiver<notify::Result<notify::Event>>,
    path: PathBuf,
    config: String,
    limits: Limits,
    mut seen: String,
    ready: Arc<Mutex<Option<Ready>>>,
) {
    let name = path.file_name().map(|n| n.to_owned());
    let concerns = |event: &notify::Result<notify::Event>| match event {
        Ok(event) => {
            !matches!(event.kind, EventKind::Access(_)) && event.paths.iter().any(|p| p.file_name() == name.as_deref())
        }
        Err(_) => false,
    };
    while let Ok(event) = rx.recv() {
        if !concerns(&event) {
            continue;
        }
        loop {
            match rx.recv_timeout(QUIET) {
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        let Ok(bytes) = std::fs::read(&path) else { continue }; // gone for now; a later write brings it back
        let hash = slate_wasm::hash_of(&bytes);
        if hash == seen {
            continue;
        }
        seen = hash;
        let next = Host::global()
            .and_then(|host| host.load(&path))
            .map_err(|e| e.to_string())
            .and_then(|plugin| {
                let stage = Stage::new(plugin.clone(), &config, limits.clone()).map_err(|f| format!("it {f}"))?;
                Ok((plugin, stage))
            });
        *ready.lock().unwrap() = Some(next);
    }
}
