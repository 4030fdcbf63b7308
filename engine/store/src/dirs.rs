//! Slate's folders, resolved one way for every crate: a `SLATE_*` variable
//! names the folder itself; else the XDG base directory with `slate/`;
//! else the usual place under the home folder.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The database file in the data folder.
const DATABASE_FILE: &str = "slate.sqlite";
/// What the database file was called before the feed joined the registry
/// in it; still opened where it is the only one.
const LEGACY_DATABASE_FILE: &str = "consent.sqlite";

/// Where Slate keeps what it makes and must not lose (the database, the
/// signing CA, the API token): `$SLATE_DATA_DIR`, else
/// `$XDG_DATA_HOME/slate`, else `~/.local/share/slate`.
pub fn data_dir() -> PathBuf {
    resolve(var("SLATE_DATA_DIR"), var("XDG_DATA_HOME"), home(), ".local/share")
}

/// Where Slate keeps what it can make again (ONNX Runtime, models, compiled
/// plugins): `$SLATE_CACHE_DIR`, else `$XDG_CACHE_HOME/slate`, else
/// `~/.cache/slate`.
pub fn cache_dir() -> PathBuf {
    resolve(var("SLATE_CACHE_DIR"), var("XDG_CACHE_HOME"), home(), ".cache")
}

/// The database file in `data_dir`: `slate.sqlite`, or `consent.sqlite`
/// where only a file made by an older Slate is there.
pub fn database_path(data_dir: &Path) -> PathBuf {
    let current = data_dir.join(DATABASE_FILE);
    let legacy = data_dir.join(LEGACY_DATABASE_FILE);
    if !current.exists() && legacy.exists() {
        return legacy;
    }
    current
}

fn var(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

fn home() -> Option<OsString> {
    var("HOME")
}

fn resolve(slate: Option<OsString>, xdg: Option<OsString>, home: Option<OsString>, under_home: &str) -> PathBuf {
    if let Some(dir) = slate {
        return PathBuf::from(dir);
    }
    if let Some(dir) = xdg {
        return PathBuf::from(dir).join("slate");
    }
    // Without a home folder, the temporary folder rather than the current one.
    home.map_or_else(std::env::temp_dir, PathBuf::from)
        .join(under_home)
        .join("slate")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(s.into())
    }

    #[test]
    fn slate_variable_then_xdg_then_home() {
        assert_eq!(resolve(os("/s"), os("/x"), os("/h"), ".cache"), PathBuf::from("/s"));
        assert_eq!(resolve(None, os("/x"), os("/h"), ".cache"), PathBuf::from("/x/slate"));
        assert_eq!(
            resolve(None, None, os("/h"), ".cache"),
            PathBuf::from("/h/.cache/slate")
        );
        assert_eq!(
            resolve(None, None, None, ".local/share"),
            std::env::temp_dir().join(".local/share/slate")
        );
    }

    #[test]
    fn an_older_file_name_is_used_only_alone() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(database_path(dir.path()), dir.path().join("slate.sqlite"));
        std::fs::write(dir.path().join("consent.sqlite"), b"").unwrap();
        assert_eq!(database_path(dir.path()), dir.path().join("consent.sqlite"));
        std::fs::write(dir.path().join("slate.sqlite"), b"").unwrap();
        assert_eq!(database_path(dir.path()), dir.path().join("slate.sqlite"));
    }
}
