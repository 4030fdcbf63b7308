//! Where Slate keeps things, and the one handle on its database.
//!
//! [`data_dir`] and [`cache_dir`] resolve Slate's folders the same way for
//! every crate (`SLATE_*`, then `XDG_*`, then the home folder).
//! [`Database::open`] is the only way Slate opens its database: one pool and
//! one runtime per process, shared by the consent registry, the feed and
//! whatever comes next, with one ordered migration set (`migrations/`).
//! This crate holds no business rules: the registry and the feed own their
//! queries.
//!
//! ```
//! let folder = tempfile::tempdir().unwrap();
//! let path = folder.path().join("slate.sqlite");
//! let db = slate_store::Database::open(&path).unwrap();
//! let tables: i64 = db
//!     .block_on(sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'grants'").fetch_one(db.pool()))
//!     .unwrap();
//! assert_eq!(tables, 1);
//! // Opening the same file again in this process gives the same pool.
//! assert!(db.same_pool(&slate_store::Database::open(&path).unwrap()));
//! ```

#[cfg(feature = "database")]
pub mod backup;
#[cfg(feature = "database")]
mod database;
mod dirs;
mod error;

#[cfg(feature = "database")]
pub use database::Database;
pub use dirs::{cache_dir, data_dir, database_path};
pub use error::StoreError;

/// Seconds since the Unix epoch: the clock every record in the store is
/// stamped with.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
