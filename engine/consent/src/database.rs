//! The one place Slate opens its SQLite file (the consent registry and the
//! feed share it): WAL, commits that survive a process crash, a busy
//! timeout so the two stores wait for each other instead of failing, and
//! foreign keys. Calls block on a small runtime of the database's own, so
//! elements and the CLI stay synchronous.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub struct Database {
    pool: SqlitePool,
    /// Always Some until drop, which shuts it down without blocking (a
    /// server may drop this on an async thread).
    runtime: Option<tokio::runtime::Runtime>,
}

impl Database {
    /// Opens (making it if need be) the file at `path` with a pool of
    /// `connections`; the error says why, for the caller to name its file.
    pub fn open(path: &Path, connections: u32) -> Result<Database, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|e| e.to_string())?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, a commit survives a crash of the process; a power
            // cut may lose the last ones, never the file.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = runtime
            .block_on(
                SqlitePoolOptions::new()
                    .max_connections(connections)
                    .connect_with(options),
            )
            .map_err(|e| e.to_string())?;
        Ok(Database {
            pool,
            runtime: Some(runtime),
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Runs `work` to its end on the database's runtime.
    pub fn block_on<F: Future>(&self, work: F) -> F::Output {
        self.runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .block_on(work)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
