//! The durable log: a SQLite database in WAL mode, kine-style.
//!
//! ```sql
//! log(rev INTEGER PRIMARY KEY, key TEXT NOT NULL, create_rev INTEGER NOT NULL,
//!     prev_rev INTEGER NOT NULL, deleted INTEGER NOT NULL, value BLOB NOT NULL)
//! log_key_rev ON log(key, rev)
//! meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL)
//! ```
//!
//! Every committed write is one row. `prev_rev` is the mod revision of the
//! key's previous live value (0 for a create), so a change's previous value
//! can be fetched by primary key. A delete writes a row with `deleted = 1`
//! carrying the last value. `meta` holds `schema_version`, `compacted` (the
//! revision lists and watches may start from) and `compact_done` (how far the
//! physical deletion of compacted rows has got; see [`LogDb::compact_step`]).
//! The file is marked with [`APPLICATION_ID`] so another SQLite file is
//! refused instead of being silently adopted.
//!
//! The writer thread owns the one read-write connection ([`LogDb`]); readers
//! of old revisions use read-only connections from a [`ReaderPool`], each
//! read in one transaction (one WAL snapshot) that first checks `compacted`,
//! so a concurrent compaction can never hand them a partial state.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::state::Map;
use crate::{Event, EventKind, KeyValue, Result, Revision, StoreError};

/// `PRAGMA application_id` of a ks-store database ("ksst").
pub(super) const APPLICATION_ID: i32 = 0x6b73_7374;
/// The schema this code reads and writes.
pub(super) const SCHEMA_VERSION: i64 = 1;
/// How long a connection waits for a lock held by another connection (a
/// reader checkpointing, say) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle read-only connections kept for reads of old revisions.
const MAX_IDLE_READERS: usize = 4;

const INSERT_ROW: &str = "INSERT INTO log (rev, key, create_rev, prev_rev, deleted, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// One row of the log, as the writer appends it.
pub(super) struct Row {
    pub(super) rev: Revision,
    pub(super) key: Arc<str>,
    pub(super) create_rev: Revision,
    pub(super) prev_rev: Revision,
    pub(super) deleted: bool,
    pub(super) value: Bytes,
}

/// What [`LogDb::open`] found in the file.
pub(super) struct Loaded {
    /// The latest live value of every key.
    pub(super) map: Map,
    /// max(max rev in the log, compacted).
    pub(super) current: Revision,
    pub(super) compacted: Revision,
    pub(super) compact_done: Revision,
}

/// The read-write connection, owned by the writer thread, and the lock file
/// that keeps every other ks-store process out of the database.
pub(super) struct LogDb {
    // Field order matters: the connection closes (checkpointing the WAL)
    // before the lock file is unlocked.
    conn: Connection,
    path: PathBuf,
    _lock: File,
}

/// Turns a SQLite error into [`StoreError::Backend`], naming the file.
pub(super) fn backend(path: &Path, err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("{}: {err}", path.display()))
}

/// `<db>.lock`, beside the database.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the exclusive advisory lock (`flock`) on `<db>.lock`. The kernel
/// releases it when the process dies, so a crash never leaves a stale lock.
fn lock(path: &Path) -> Result<File> {
    let lock_path = lock_path(path);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| {
            backend(
                path,
                format!("cannot open lock file {}: {e}", lock_path.display()),
            )
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(backend(
            path,
            format!(
                "the database is in use by another store (lock file {} is held)",
                lock_path.display()
            ),
        )),
        Err(TryLockError::Error(e)) => Err(backend(
            path,
            format!("cannot lock {}: {e}", lock_path.display()),
        )),
    }
}

impl LogDb {
    /// Opens (creating if needed) the database at `path` and loads the
    /// latest value of every key.
    pub(super) fn open(path: &Path) -> Result<(LogDb, Loaded)> {
        let started = Instant::now();
        let lock = lock(path)?;
        let err = |e: rusqlite::Error| backend(path, e);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // The first read of the header: fails with "file is not a database"
        // for a file that is not SQLite at all.
        let app_id: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(err)?;
        let objects: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(err)?;
        let fresh = app_id == 0 && objects == 0;
        if !fresh && app_id != APPLICATION_ID {
            return Err(backend(
                path,
                "not a ks-store database (unexpected application_id)",
            ));
        }
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(backend(
                path,
                format!("cannot enable WAL mode (journal_mode is {mode})"),
            ));
        }
        // FULL: the WAL is fsynced at every commit, so an acknowledged write
        // survives power loss, not only a process crash.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "OFF")
            .map_err(err)?;
        // 8 MiB of page cache (negative: KiB): reads are served from memory;
        // SQLite's cache only serves appends, compaction and old revisions.
        conn.pragma_update(None, "cache_size", -8192).map_err(err)?;
        conn.set_prepared_statement_cache_capacity(32);
        if fresh {
            conn.execute_batch(&format!(
                "BEGIN IMMEDIATE;
                 CREATE TABLE log (
                     rev INTEGER PRIMARY KEY,
                     key TEXT NOT NULL,
                     create_rev INTEGER NOT NULL,
                     prev_rev INTEGER NOT NULL,
                     deleted INTEGER NOT NULL,
                     value BLOB NOT NULL
                 );
                 CREATE INDEX log_key_rev ON log (key, rev);
                 CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                 INSERT INTO meta (name, value) VALUES
                     ('schema_version', {SCHEMA_VERSION}), ('compacted', 0), ('compact_done', 0);
                 PRAGMA application_id = {APPLICATION_ID};
                 COMMIT;"
            ))
            .map_err(err)?;
        }
        let meta = |name: &str| -> Result<Option<i64>> {
            conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(err)
        };
        match meta("schema_version")? {
            Some(SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(backend(
                    path,
                    format!(
                        "unsupported schema version {v} (this build reads version {SCHEMA_VERSION})"
                    ),
                ));
            }
            None => return Err(backend(path, "not a ks-store database (no schema version)")),
        }
        let compacted = meta("compacted")?.unwrap_or(0);
        let compact_done = meta("compact_done")?.unwrap_or(0).min(compacted);
        let max_rev: Option<i64> = conn
            .query_row("SELECT max(rev) FROM log", [], |r| r.get(0))
            .map_err(err)?;
        let current = max_rev.unwrap_or(0).max(compacted);
        let map = load_all(&conn).map_err(err)?;
        tracing::info!(
            path = %path.display(),
            keys = map.len(),
            revision = current,
            compacted,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "opened store"
        );
        let db = LogDb {
            conn,
            path: path.to_owned(),
            _lock: lock,
        };
        Ok((
            db,
            Loaded {
                map,
                current,
                compacted,
                compact_done,
            },
        ))
    }

    /// The database file.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `rows` in one transaction and commits it (fsync of the WAL).
    pub(super) fn append(&mut self, rows: &[Row]) -> rusqlite::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(INSERT_ROW)?;
            for row in rows {
                insert.execute(params![
                    row.rev,
                    &*row.key,
                    row.create_rev,
                    row.prev_rev,
                    row.deleted,
                    &row.value[..]
                ])?;
            }
        }
        tx.commit()
    }

    /// The highest revision in the log (0 when empty).
    pub(super) fn max_rev(&self) -> rusqlite::Result<Revision> {
        self.conn
            .query_row("SELECT max(rev) FROM log", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map(|r| r.unwrap_or(0))
    }

    /// One step of compacting to `target`: records `compacted = target`
    /// and physically deletes what compaction to `target` removes among the
    /// rows with revisions in `(done, done + chunk]` (capped at `target`),
    /// all in one transaction. Returns the new `compact_done`.
    ///
    /// A row is removed when a newer row of the same key with revision <=
    /// `target` supersedes it, or when it is a tombstone at or before
    /// `target`. Every superseded row is the `prev_rev` of its successor, or
    /// a tombstone, so walking the revisions once, in chunks, finds each of
    /// them without scanning the whole log. `compacted` is raised in the
    /// first step, before anything is deleted, and readers check it inside
    /// their snapshot; after a crash, `compact_done < compacted` tells the
    /// next open to finish the job.
    pub(super) fn compact_step(
        &mut self,
        target: Revision,
        done: Revision,
        chunk: Revision,
    ) -> rusqlite::Result<Revision> {
        let hi = target.min(done.saturating_add(chunk.max(1)));
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("UPDATE meta SET value = max(value, ?1) WHERE name = 'compacted'")?
            .execute([target])?;
        if hi > done {
            tx.prepare_cached(
                "DELETE FROM log WHERE rev IN \
                 (SELECT prev_rev FROM log WHERE rev > ?1 AND rev <= ?2 AND prev_rev > 0)",
            )?
            .execute([done, hi])?;
            tx.prepare_cached("DELETE FROM log WHERE rev > ?1 AND rev <= ?2 AND deleted = 1")?
                .execute([done, hi])?;
            tx.prepare_cached("UPDATE meta SET value = ?1 WHERE name = 'compact_done'")?
                .execute([hi])?;
        }
        tx.commit()?;
        Ok(hi.max(done))
    }
}

/// The latest live value of every key.
///
/// Two sequential passes instead of one lookup per key: the `(key, rev)`
/// index alone gives every key's latest revision in key order, then one scan
/// of the table in revision order picks up those rows' values. The map is
/// then built in key order, which is what a B-tree builds fastest (and no
/// string is compared outside SQLite).
fn load_all(conn: &Connection) -> rusqlite::Result<Map> {
    let mut keys: Vec<(Arc<str>, Revision)> = Vec::new();
    {
        let mut stmt = conn.prepare("SELECT key, max(rev) FROM log GROUP BY key ORDER BY key")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            keys.push((Arc::from(row.get_ref(0)?.as_str()?), row.get(1)?));
        }
    }
    let mut by_rev: Vec<usize> = (0..keys.len()).collect();
    by_rev.sort_unstable_by_key(|&i| keys[i].1);
    let mut values: Vec<Option<KeyValue>> = vec![None; keys.len()];
    {
        let first = by_rev.first().map_or(i64::MAX, |&i| keys[i].1);
        let mut stmt = conn.prepare(
            "SELECT rev, create_rev, deleted, value FROM log WHERE rev >= ?1 ORDER BY rev",
        )?;
        let mut rows = stmt.query([first])?;
        let mut wanted = by_rev.iter().peekable();
        while let Some(row) = rows.next()? {
            let rev: Revision = row.get(0)?;
            // (A wanted revision below this row's would be missing from the
            // table, which nothing writes while it opens: skip, never stall.)
            while wanted.next_if(|&&i| keys[i].1 < rev).is_some() {}
            let Some(&&i) = wanted.peek() else { break };
            if keys[i].1 != rev {
                continue; // superseded
            }
            wanted.next();
            let deleted: bool = row.get(2)?;
            if !deleted {
                values[i] = Some(KeyValue {
                    key: keys[i].0.clone(),
                    value: Bytes::copy_from_slice(row.get_ref(3)?.as_blob()?),
                    create_revision: row.get(1)?,
                    mod_revision: rev,
                });
            }
        }
    }
    Ok(keys
        .into_iter()
        .zip(values)
        .filter_map(|((key, _), kv)| Some((key, kv?)))
        .collect())
}

/// The latest row of every key under `prefix` with revision <= `at`,
/// skipping deleted keys.
fn load_latest(conn: &Connection, prefix: &str, at: Revision) -> rusqlite::Result<Map> {
    // SQLite returns the bare columns of the row holding max(rev); the
    // (key, rev) index drives both the range and the grouping, in key order.
    let mut stmt = conn.prepare_cached(
        "SELECT key, max(rev), create_rev, deleted, value FROM log \
         WHERE key >= ?1 AND rev <= ?2 GROUP BY key ORDER BY key",
    )?;
    let mut rows = stmt.query(params![prefix, at])?;
    let mut map = Map::new();
    while let Some(row) = rows.next()? {
        let key = row.get_ref(0)?.as_str()?;
        if !key.starts_with(prefix) {
            break;
        }
        let deleted: bool = row.get(3)?;
        if deleted {
            continue;
        }
        let key: Arc<str> = Arc::from(key);
        let kv = KeyValue {
            key: key.clone(),
            value: Bytes::copy_from_slice(row.get_ref(4)?.as_blob()?),
            create_revision: row.get(2)?,
            mod_revision: row.get(1)?,
        };
        map.insert(key, kv);
    }
    Ok(map)
}

/// Read-only connections for reads of revisions the in-memory history no
/// longer covers.
pub(super) struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    closed: AtomicBool,
}

impl ReaderPool {
    pub(super) fn new(path: PathBuf) -> ReaderPool {
        ReaderPool {
            path,
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// Closes the idle connections; later reads fail with `Closed`.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| backend(&self.path, e))?;
                conn.busy_timeout(BUSY_TIMEOUT)
                    .map_err(|e| backend(&self.path, e))?;
                conn
            }
        };
        let out = f(&mut conn);
        if !self.closed.load(Ordering::SeqCst) {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
        out
    }

    /// Fails with `Compacted` unless the log still holds everything after `rev`.
    fn check_compacted(tx: &rusqlite::Transaction<'_>, rev: Revision) -> Result<(), CheckError> {
        let compacted: i64 = tx
            .prepare_cached("SELECT value FROM meta WHERE name = 'compacted'")?
            .query_row([], |r| r.get(0))?;
        if rev < compacted {
            return Err(CheckError::Store(StoreError::Compacted {
                requested: rev,
                compacted,
            }));
        }
        Ok(())
    }

    /// Every live key under `prefix` as of revision `at`.
    pub(super) fn state_at(&self, prefix: &str, at: Revision) -> Result<Map> {
        self.with(|conn| {
            let mut run = || -> Result<Map, CheckError> {
                let tx = conn.transaction()?;
                Self::check_compacted(&tx, at)?;
                let map = load_latest(&tx, prefix, at)?;
                tx.commit()?;
                Ok(map)
            };
            run().map_err(|e| e.into_store(&self.path))
        })
    }

    /// The changes under `prefix` with revisions in `(after, until]`,
    /// scanning at most `limit` revisions. Returns the changes and the
    /// highest revision scanned.
    pub(super) fn events(
        &self,
        prefix: &str,
        after: Revision,
        until: Revision,
        limit: usize,
    ) -> Result<(Vec<Arc<Event>>, Revision)> {
        self.with(|conn| {
            let mut run = || -> Result<(Vec<Arc<Event>>, Revision), CheckError> {
                let tx = conn.transaction()?;
                Self::check_compacted(&tx, after)?;
                let mut events = Vec::new();
                let mut scanned = 0usize;
                let mut last = after;
                {
                    let mut rows_stmt = tx.prepare_cached(
                        "SELECT rev, key, create_rev, prev_rev, deleted, value FROM log \
                         WHERE rev > ?1 AND rev <= ?2 ORDER BY rev LIMIT ?3",
                    )?;
                    let mut prev_stmt =
                        tx.prepare_cached("SELECT create_rev, value FROM log WHERE rev = ?1")?;
                    let limit_sql = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
                    let mut rows = rows_stmt.query(params![after, until, limit_sql])?;
                    while let Some(row) = rows.next()? {
                        scanned += 1;
                        let rev: Revision = row.get(0)?;
                        last = rev;
                        let key = row.get_ref(1)?.as_str()?;
                        if !key.starts_with(prefix) {
                            continue;
                        }
                        let key: Arc<str> = Arc::from(key);
                        let create_rev: Revision = row.get(2)?;
                        let prev_rev: Revision = row.get(3)?;
                        let deleted: bool = row.get(4)?;
                        let value = Bytes::copy_from_slice(row.get_ref(5)?.as_blob()?);
                        let event = if deleted {
                            let kv = KeyValue {
                                key,
                                value,
                                create_revision: create_rev,
                                mod_revision: prev_rev,
                            };
                            Event {
                                kind: EventKind::Deleted,
                                revision: rev,
                                prev: Some(kv.clone()),
                                kv,
                            }
                        } else {
                            let kv = KeyValue {
                                key: key.clone(),
                                value,
                                create_revision: create_rev,
                                mod_revision: rev,
                            };
                            if prev_rev == 0 {
                                Event {
                                    kind: EventKind::Created,
                                    revision: rev,
                                    kv,
                                    prev: None,
                                }
                            } else {
                                let prev = prev_stmt
                                    .query_row([prev_rev], |r| {
                                        Ok(KeyValue {
                                            key,
                                            value: Bytes::copy_from_slice(r.get_ref(1)?.as_blob()?),
                                            create_revision: r.get(0)?,
                                            mod_revision: prev_rev,
                                        })
                                    })
                                    .optional()?;
                                Event {
                                    kind: EventKind::Modified,
                                    revision: rev,
                                    kv,
                                    prev,
                                }
                            }
                        };
                        events.push(Arc::new(event));
                    }
                }
                tx.commit()?;
                // Every revision in (after, until] has a row (compaction only
                // removes rows at or before `compacted`, checked above), so a
                // short read reached `until`.
                let reached = if scanned < limit.max(1) { until } else { last };
                Ok((events, reached))
            };
            run().map_err(|e| e.into_store(&self.path))
        })
    }
}

/// A read failure: the store's own error, or SQLite's.
enum CheckError {
    Store(StoreError),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for CheckError {
    fn from(e: rusqlite::Error) -> Self {
        CheckError::Sqlite(e)
    }
}

impl From<rusqlite::types::FromSqlError> for CheckError {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        CheckError::Sqlite(e.into())
    }
}

impl CheckError {
    fn into_store(self, path: &Path) -> StoreError {
        match self {
            CheckError::Store(e) => e,
            CheckError::Sqlite(e) => backend(path, e),
        }
    }
}
