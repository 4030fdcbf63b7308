//! Backups of a data folder: the database as one consistent snapshot
//! (SQLite's `VACUUM INTO`, safe while others write), and every other file
//! of the folder — the signing CA and key, token files — copied with its
//! mode. A `manifest.json` lists each file with its SHA-256, so a backup is
//! checked before anything is restored from it.
//!
//! ```text
//! BACKUP/manifest.json   {made_at, database, files: [{path, bytes, sha256, mode}]}
//! BACKUP/slate.sqlite    the snapshot
//! BACKUP/files/...       the rest of the data folder, as it was
//! ```

use std::fs;
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::database::Database;
use crate::error::StoreError;

const MANIFEST: &str = "manifest.json";
const FILES: &str = "files";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Seconds since the epoch.
    pub made_at: i64,
    /// The database snapshot's file name in the backup.
    pub database: String,
    pub files: Vec<Entry>,
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Relative to the data folder (the database's: its file name).
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    /// Unix permission bits, e.g. 0o600 for a key.
    pub mode: u32,
}

fn failed(path: &Path, why: impl std::fmt::Display) -> StoreError {
    StoreError::Backup {
        path: path.to_owned(),
        why: why.to_string(),
    }
}

/// Backs up `data_dir` with its database `db` into the new folder `out`.
pub fn write(data_dir: &Path, db: &Database, out: &Path) -> Result<Manifest, StoreError> {
    if out.exists() {
        return Err(failed(out, "already exists; back up into a new folder"));
    }
    fs::create_dir_all(out.join(FILES)).map_err(|e| failed(out, e))?;
    let name = db
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "slate.sqlite".into());
    let snapshot = out.join(&name);
    db.snapshot_into(&snapshot)?;
    let mut files = vec![entry(&snapshot, name.clone())?];
    let skip = |path: &Path| {
        let text = path.to_string_lossy();
        path == db.path()
            || ["-wal", "-shm", "-journal"]
                .iter()
                .any(|end| text == format!("{}{end}", db.path().to_string_lossy()))
            || path.starts_with(out)
    };
    for source in walk(data_dir)? {
        if skip(&source) {
            continue;
        }
        let relative = source.strip_prefix(data_dir).expect("walked from data_dir");
        let target = out.join(FILES).join(relative);
        copy_with_mode(&source, &target)?;
        files.push(entry(&target, relative.to_string_lossy().into_owned())?);
    }
    let manifest = Manifest {
        made_at: crate::now(),
        database: name,
        files,
    };
    let text = serde_json::to_vec_pretty(&manifest).expect("a manifest is JSON");
    fs::write(out.join(MANIFEST), text).map_err(|e| failed(out, e))?;
    Ok(manifest)
}

/// Checks every file of the backup at `backup` against its manifest, and
/// the database snapshot's integrity; the manifest.
pub fn verify(backup: &Path) -> Result<Manifest, StoreError> {
    let text = fs::read(backup.join(MANIFEST)).map_err(|e| failed(&backup.join(MANIFEST), e))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| failed(&backup.join(MANIFEST), e))?;
    for (i, file) in manifest.files.iter().enumerate() {
        let path = stored(backup, &manifest, i);
        let found = entry(&path, file.path.clone())?;
        if found.sha256 != file.sha256 || found.bytes != file.bytes {
            return Err(failed(
                &path,
                "does not match the manifest: the backup was changed or is incomplete",
            ));
        }
    }
    let problems = integrity(&backup.join(&manifest.database))?;
    if !problems.is_empty() {
        return Err(failed(&backup.join(&manifest.database), problems.join("; ")));
    }
    Ok(manifest)
}

/// Restores the backup at `backup` into `data_dir`, after checking it. A
/// data folder that already holds a database is refused unless `replace`;
/// then what it held is kept beside it in `data_dir.before-restore`.
pub fn restore(backup: &Path, data_dir: &Path, replace: bool) -> Result<Manifest, StoreError> {
    let manifest = verify(backup)?;
    if data_dir.join(&manifest.database).exists() {
        if !replace {
            return Err(failed(
                data_dir,
                "already holds a database; restore into an empty folder, or pass --replace",
            ));
        }
        let aside = PathBuf::from(format!("{}.before-restore", data_dir.display()));
        if aside.exists() {
            return Err(failed(&aside, "is in the way; move it first"));
        }
        fs::rename(data_dir, &aside).map_err(|e| failed(data_dir, e))?;
    }
    fs::create_dir_all(data_dir).map_err(|e| failed(data_dir, e))?;
    for (i, file) in manifest.files.iter().enumerate() {
        copy_with_mode(&stored(backup, &manifest, i), &data_dir.join(&file.path))?;
    }
    Ok(manifest)
}

/// What SQLite finds wrong with the database at `path` (empty: nothing):
/// `PRAGMA integrity_check` and `foreign_key_check`.
pub fn integrity(path: &Path) -> Result<Vec<String>, StoreError> {
    crate::database::problems_of(path)
}

/// Where the `i`th file of `manifest` is in the backup.
fn stored(backup: &Path, manifest: &Manifest, i: usize) -> PathBuf {
    match i {
        0 => backup.join(&manifest.database),
        _ => backup.join(FILES).join(&manifest.files[i].path),
    }
}

fn entry(path: &Path, name: String) -> Result<Entry, StoreError> {
    let mut file = fs::File::open(path).map_err(|e| failed(path, e))?;
    let mode = file.metadata().map_err(|e| failed(path, e))?.permissions().mode() & 0o7777;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(|e| failed(path, e))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buffer[..n]);
    }
    let sha256 = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Entry {
        path: name,
        bytes,
        sha256,
        mode,
    })
}

/// Copies `from` to `to` (made with `from`'s mode from the start, so a key
/// is never readable by others on its way), synced to disk.
fn copy_with_mode(from: &Path, to: &Path) -> Result<(), StoreError> {
    let mode = fs::metadata(from).map_err(|e| failed(from, e))?.permissions().mode() & 0o7777;
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(|e| failed(parent, e))?;
    }
    let mut source = fs::File::open(from).map_err(|e| failed(from, e))?;
    let mut target = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(to)
        .map_err(|e| failed(to, e))?;
    std::io::copy(&mut source, &mut target).map_err(|e| failed(to, e))?;
    // The umask may have narrowed the mode: set it as it was.
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).map_err(|e| failed(to, e))?;
    target.sync_all().map_err(|e| failed(to, e))
}

/// Every regular file under `dir` (symbolic links are not followed).
fn walk(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for item in fs::read_dir(&folder).map_err(|e| failed(&folder, e))? {
            let item = item.map_err(|e| failed(&folder, e))?;
            let kind = item.file_type().map_err(|e| failed(&item.path(), e))?;
            if kind.is_dir() {
                folders.push(item.path());
            } else if kind.is_file() {
                found.push(item.path());
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_restores_every_file_with_its_mode_and_refuses_a_changed_one() {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("data");
        fs::create_dir_all(data.join("signing")).unwrap();
        let db = Database::open(&data.join("slate.sqlite")).unwrap();
        db.block_on(sqlx::query("CREATE TABLE t (x INTEGER)").execute(db.pool()))
            .unwrap();
        db.block_on(sqlx::query("INSERT INTO t VALUES (42)").execute(db.pool()))
            .unwrap();
        let key = data.join("signing/signer.key");
        fs::write(&key, "secret").unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(data.join("api-token"), "token").unwrap();

        let out = home.path().join("backup");
        let manifest = write(&data, &db, &out).unwrap();
        let paths: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["slate.sqlite", "api-token", "signing/signer.key"]);
        assert!(write(&data, &db, &out).is_err(), "never into a folder that exists");

        let restored = home.path().join("restored");
        restore(&out, &restored, false).unwrap();
        let mode = fs::metadata(restored.join("signing/signer.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read_to_string(restored.join("api-token")).unwrap(), "token");
        let copy = Database::open(&restored.join("slate.sqlite")).unwrap();
        let x: i64 = copy
            .block_on(sqlx::query_scalar("SELECT x FROM t").fetch_one(copy.pool()))
            .unwrap();
        assert_eq!(x, 42);
        assert!(integrity(&restored.join("slate.sqlite")).unwrap().is_empty());

        // Restoring over a database needs --replace, which keeps the old aside.
        assert!(
            restore(&out, &restored, false)
                .unwrap_err()
                .to_string()
                .contains("--replace")
        );
        restore(&out, &restored, true).unwrap();
        assert!(home.path().join("restored.before-restore/slate.sqlite").exists());

        // A changed file is found before anything is restored.
        fs::write(out.join("files/api-token"), "forged").unwrap();
        let e = restore(&out, &home.path().join("again"), false).unwrap_err();
        assert!(e.to_string().contains("does not match the manifest"), "{e}");
        assert!(!home.path().join("again").exists());
    }
}
