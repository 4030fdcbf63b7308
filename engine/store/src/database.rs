//! The database handle: one pool per file and one runtime per process.
//!
//! SQLite with WAL (a commit survives a crash of the process; a power cut
//! may lose the last ones, never the file), a busy timeout so writers wait
//! for each other instead of failing, and foreign keys. Calls block on the
//! process's database runtime, so elements and the CLI stay synchronous;
//! async code calls from `spawn_blocking`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::error::StoreError;

/// The schema, in order, for every table Slate keeps.
static MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Connections per file: SQLite writes one at a time, and readers share.
const CONNECTIONS: u32 = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A shared handle on one database file; clones share its pool.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    pool: SqlitePool,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("path", &self.inner.path).finish()
    }
}

/// The pools open in this process, by file.
fn open_pools() -> &'static Mutex<HashMap<PathBuf, Weak<Inner>>> {
    static POOLS: OnceLock<Mutex<HashMap<PathBuf, Weak<Inner>>>> = OnceLock::new();
    POOLS.get_or_init(Default::default)
}

/// The process's database runtime: one worker keeps the pools' background
/// work going between calls.
fn runtime() -> Result<&'static tokio::runtime::Runtime, StoreError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("slate-store")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| StoreError::Runtime(e.clone()))
}

impl Database {
    /// Opens the file at `path` (making it if need be) and brings its schema
    /// up to date, or hands back the pool this process already has on it.
    pub fn open(path: &Path) -> Result<Database, StoreError> {
        let key = identity(path);
        let mut pools = open_pools().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(inner) = pools.get(&key).and_then(Weak::upgrade) {
            return Ok(Database { inner });
        }
        pools.retain(|_, pool| pool.strong_count() > 0);
        let inner = Arc::new(Inner {
            pool: connect(path)?,
            path: path.to_owned(),
        });
        let database = Database { inner };
        database.migrate()?;
        pools.insert(key, Arc::downgrade(&database.inner));
        Ok(database)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.inner.pool
    }

    /// A transaction that holds the write lock from its start (`BEGIN
    /// IMMEDIATE`). Every transaction that writes starts here: one begun
    /// plainly reads a snapshot first and cannot then write if another
    /// connection wrote in between (SQLITE_BUSY_SNAPSHOT, which no busy
    /// timeout waits out); these wait for each other instead.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool().begin_with("BEGIN IMMEDIATE").await
    }

    /// Writes a consistent copy of the whole database to the new file `to`
    /// (`VACUUM INTO`: safe while other connections write).
    pub fn snapshot_into(&self, to: &Path) -> Result<(), StoreError> {
        self.block_on(
            sqlx::query("VACUUM INTO ?")
                .bind(to.to_string_lossy().into_owned())
                .execute(self.pool()),
        )
        .map_err(|e| StoreError::Backup {
            path: to.to_owned(),
            why: e.to_string(),
        })?;
        Ok(())
    }

    /// What SQLite finds wrong with this database (empty: nothing).
    pub fn problems(&self) -> Result<Vec<String>, StoreError> {
        self.block_on(problems(self.pool())).map_err(|why| StoreError::Open {
            path: self.path().to_owned(),
            why,
        })
    }

    /// The file this database lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `work` to its end on the database runtime. Not from async code:
    /// call it from `spawn_blocking` there.
    pub fn block_on<F: Future>(&self, work: F) -> F::Output {
        runtime()
            .expect("the runtime started when the database opened")
            .block_on(work)
    }

    /// Whether `other` shares this handle's pool.
    pub fn same_pool(&self, other: &Database) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let applied = self
            .block_on(MIGRATIONS.run(self.pool()))
            .map_err(|e| StoreError::Migrate {
                path: self.path().to_owned(),
                why: e.to_string(),
            });
        if applied.is_ok() {
            tracing::debug!("{}: schema up to date", self.path().display());
        }
        applied
    }
}

/// `PRAGMA integrity_check` and `foreign_key_check` over `pool`.
async fn problems(pool: &SqlitePool) -> Result<Vec<String>, String> {
    let checked: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(pool)
        .await
        .map_err(|e| e.to_string())?;
    let mut problems: Vec<String> = checked.into_iter().filter(|line| line != "ok").collect();
    let orphans = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(pool)
        .await
        .map_err(|e| e.to_string())?;
    for row in orphans {
        use sqlx::Row;
        let (table, parent): (String, String) = (row.get(0), row.get(2));
        problems.push(format!("a row of `{table}` points at a missing `{parent}`"));
    }
    Ok(problems)
}

/// What SQLite finds wrong with the database file at `path`, opened read
/// only and left as it is (not migrated, not shared).
pub(crate) fn problems_of(path: &Path) -> Result<Vec<String>, StoreError> {
    let fail = |why: String| StoreError::Open {
        path: path.to_owned(),
        why,
    };
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(|e| fail(e.to_string()))?
        .filename(path)
        .read_only(true);
    runtime()?.block_on(async {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let found = problems(&pool).await.map_err(fail);
        pool.close().await;
        found
    })
}

/// One key per file however it is named: the folder resolved, the file
/// name as given (the file may not exist yet).
fn identity(path: &Path) -> PathBuf {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let folder = folder.canonicalize().unwrap_or_else(|_| folder.to_owned());
    match path.file_name() {
        Some(name) => folder.join(name),
        None => folder,
    }
}

fn connect(path: &Path) -> Result<SqlitePool, StoreError> {
    let fail = |why: String| StoreError::Open {
        path: path.to_owned(),
        why,
    };
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(|e| fail(e.to_string()))?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    runtime()?
        .block_on(
            SqlitePoolOptions::new()
                .max_connections(CONNECTIONS)
                .connect_with(options),
        )
        .map_err(|e| fail(e.to_string()))
}
