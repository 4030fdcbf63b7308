//! Hot reload for stage elements: watches a file and prepares its new
//! version off the streaming thread, so the element swaps it in between two
//! buffers. What "prepare" means (load a plugin, a script) is the caller's.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};

/// Writes come in bursts (create, write, close, rename): prepare once they stop.
const QUIET: Duration = Duration::from_millis(100);

/// A new version ready to run, or why the changed file cannot become one.
pub type Ready<T> = Result<T, String>;

pub struct Reloader<T> {
    _watcher: notify::RecommendedWatcher,
    ready: Arc<Mutex<Option<Ready<T>>>>,
}

impl<T: Send + 'static> Reloader<T> {
    /// Watches `path` and runs `prepare` on each new content of it.
    pub fn start(path: &Path, prepare: impl Fn(&Path) -> Ready<T> + Send + 'static) -> notify::Result<Reloader<T>> {
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
        let running = std::fs::read(&path).unwrap_or_default();
        std::thread::Builder::new()
            .name("slate-reload".into())
            .spawn(move || watch(rx, path, running, prepare, slot))
            .map_err(|e| notify::Error::generic(&e.to_string()))?;
        Ok(Reloader {
            _watcher: watcher,
            ready,
        })
    }

    /// The version made ready since the last call, if any.
    pub fn take(&self) -> Option<Ready<T>> {
        self.ready.lock().unwrap().take()
    }
}

/// Runs until the watcher (and with it the channel) is dropped.
fn watch<T>(
    rx: Receiver<notify::Result<notify::Event>>,
    path: PathBuf,
    mut seen: Vec<u8>,
    prepare: impl Fn(&Path) -> Ready<T>,
    ready: Arc<Mutex<Option<Ready<T>>>>,
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
        if bytes == seen {
            continue;
        }
        seen = bytes;
        *ready.lock().unwrap() = Some(prepare(&path));
    }
}
