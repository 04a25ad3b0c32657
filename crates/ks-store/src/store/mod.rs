//! The embedded store: in-memory state over an optional SQLite log.
//!
//! # Reads
//!
//! The current state is an [`imbl::OrdMap`] from key to [`KeyValue`],
//! published behind a read-write lock that is only ever held for O(1) work:
//! a reader clones the map's root (a persistent map: the clone shares every
//! node) and walks it without any lock. Reads therefore never wait for a
//! write, let alone an fsync, and a list is one consistent snapshot however
//! long it takes to page through.
//!
//! Older revisions are served from the most recent events, kept in memory
//! (at most [`StoreConfig::history`]) with the value each one replaced: the
//! state at `r` is the current map with the events after `r` undone, newest
//! first. When the history does not reach back far enough, a durable store
//! reads the latest row of each key at or before `r` from SQLite; an
//! in-memory store treats the dropped history as compacted. The last few
//! reconstructed snapshots are cached so later pages of a paged list are as
//! cheap as the first.
//!
//! # Writes: group commit
//!
//! One writer thread owns the state and, for a durable store, the only
//! read-write SQLite connection. [`Storage::write`] queues a request and
//! waits for its answer. The writer takes every queued request (up to
//! [`StoreConfig::max_batch`]) and applies them in order to a working copy of
//! the map: each precondition is checked against the state left by the
//! earlier requests of the batch, and each request that passes gets the next
//! revision and has its [`crate::Encode`] closure called with it. A failed
//! precondition, encoder error or encoder panic fails that request alone.
//! The successful writes are appended to the log in one transaction and
//! committed. Only then is the batch published (new map, history, watchers,
//! revision) and are the callers answered, so no reader ever sees a write
//! that is not committed, and concurrent writers share one fsync instead of
//! queueing behind each other's. If the commit fails, every request of the
//! batch fails with [`StoreError::Backend`], nothing is published and the
//! revision counter does not move.
//!
//! # Durability
//!
//! The log is SQLite in WAL mode with `synchronous = FULL`: a commit returns
//! after the WAL is fsynced, so an acknowledged write survives a process
//! crash or a power loss. A write whose caller stopped waiting may or may
//! not have been committed (the writer cannot take it back). On open, the
//! latest row of every key is loaded and the revision resumes at the largest
//! of the log's last revision and the compacted revision, so revisions never
//! go backwards, even when compaction removed the last rows.
//!
//! Two processes must never write one log: [`Store::open`] takes an
//! exclusive `flock` on `<db>.lock` beside the database file (released by the
//! kernel if the process dies; the file itself stays) and fails with
//! [`StoreError::Backend`] if another store, in this process or another,
//! holds it. The database file itself is not locked exclusively, so
//! `sqlite3` can inspect a running store read-only. A file that is not a ks-store database (another
//! SQLite database, or not SQLite at all) is refused the same way.
//!
//! # Watches
//!
//! A watch takes, under the lock the writer publishes under, both a
//! subscription to live events (a [`tokio::sync::broadcast`] channel of
//! `Arc<Event>`, filtered by prefix in each watcher) and a copy (O(1)) of the
//! history after its start revision; when the history does not reach back
//! that far, a durable store replays the missing revisions from the log
//! first. Every change is delivered once, in revision order. A watcher more
//! than [`StoreConfig::watch_buffer`] events behind the writer ends with
//! [`StoreError::Compacted`] at the revision it had reached.
//! [`crate::WatchStream::next`] is cancel-safe (it can sit in a
//! `tokio::select!` beside a timer), and a stream ends with `None` when the
//! store shuts down.
//!
//! The stream does not emit [`crate::WatchItem::Progress`] on its own:
//! [`crate::WatchStream::progress`] is exact instead (it counts the events
//! the watcher filtered out, and reports the store's current revision when
//! the watcher has nothing left to receive), so the API server builds its
//! bookmarks from it on its own schedule.
//!
//! # Compaction
//!
//! Compacting to `k` makes revisions before `k` unavailable to lists and
//! watches ([`StoreError::Compacted`]) and deletes from the log every row
//! superseded by a newer row of its key at or before `k`, and every
//! tombstone at or before `k`. The compacted revision is recorded first, in
//! the same transaction as the first deletions, and readers of the log check
//! it in their own snapshot; the deletions then proceed in steps of a few
//! thousand revisions between write batches, so a large compaction never
//! stalls writers. A compaction cut short by a crash is finished on the next
//! open. The writer thread also compacts on a schedule
//! ([`StoreConfig::compaction_interval`], keeping
//! [`StoreConfig::compaction_retain`] revisions), so no tokio task or
//! runtime is needed for it; [`Store::compact`] compacts on demand.
//!
//! # Runtime
//!
//! The store spawns one OS thread and no tokio task. Its futures run on any
//! executor; when a tokio runtime is present, reads of old revisions from
//! SQLite run on its blocking pool.

mod sqlite;
mod state;
mod watch;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::oneshot;

use self::sqlite::{LogDb, ReaderPool};
use self::state::{Map, Shared};
pub(crate) use self::watch::WatchInner;
use self::writer::{Command, WriteRequest, Writer};
use crate::{
    KeyValue, ListOptions, ListPage, Precondition, Result, Revision, Storage, StoreError,
    WatchStream, WriteOp, WriteResult,
};

/// Tuning of a [`Store`]. `StoreConfig::default()` suits a server.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Events kept in memory for watch replay and for reads of older
    /// revisions. Beyond it, a durable store reads the log, and an in-memory
    /// store treats the dropped events as compacted. Default 100,000.
    pub history: usize,
    /// How often the writer compacts; `Duration::ZERO` disables scheduled
    /// compaction ([`Store::compact`] still works). Default 5 minutes.
    pub compaction_interval: Duration,
    /// Revisions kept behind the current one by each scheduled compaction.
    /// Default 10,000.
    pub compaction_retain: u64,
    /// The most writes committed in one transaction. Default 256.
    pub max_batch: usize,
    /// How many events a watcher may fall behind before it is cut off with
    /// [`StoreError::Compacted`] (rounded up to a power of two). Default
    /// 10,000.
    pub watch_buffer: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            history: 100_000,
            compaction_interval: Duration::from_secs(300),
            compaction_retain: 10_000,
            max_batch: 256,
            watch_buffer: 10_000,
        }
    }
}

/// The embedded [`Storage`]: in memory, or durable over a SQLite file.
///
/// Cloning is cheap and every clone is the same store. The store shuts down
/// when [`Store::shutdown`] is called or the last clone is dropped (which
/// waits for queued writes and closes the database).
///
/// ```
/// use ks_store::{ListOptions, Precondition, Storage, Store, StoreConfig, WatchItem, WriteOp};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ks_store::Result<()> {
/// let dir = tempfile::tempdir().map_err(|e| ks_store::StoreError::Backend(e.to_string()))?;
/// let store = Store::open(&dir.path().join("store.db"), StoreConfig::default())?;
/// let mut watch = store.watch("/users/", None)?;
///
/// // The encoder sees the revision the write gets.
/// let put = WriteOp::Put(Box::new(|rev| Ok(format!(r#"{{"resourceVersion":"{rev}"}}"#).into())));
/// let created = store.write("/users/alice", Precondition::MustNotExist, put).await?;
/// assert_eq!(created.revision, 1);
///
/// let page = store.list(ListOptions::prefix("/users/")).await?;
/// assert_eq!(page.items[0].value, r#"{"resourceVersion":"1"}"#);
/// let Some(Ok(WatchItem::Event(event))) = watch.next().await else { unreachable!() };
/// assert_eq!(&*event.kv.key, "/users/alice");
///
/// store.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    commands: Sender<Command>,
    writer: Mutex<Option<JoinHandle<()>>>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("revision", &self.inner.shared.current())
            .field("compacted", &self.inner.shared.compacted())
            .finish()
    }
}

impl Store {
    /// A store that keeps everything in memory (lost when dropped).
    pub fn in_memory(config: StoreConfig) -> Store {
        match Store::start(config, None, None) {
            Ok(store) => store,
            Err((e, store)) => {
                // Only a failed thread spawn gets here; the store is closed.
                tracing::error!(error = %e, "cannot start the in-memory store's writer");
                store
            }
        }
    }

    /// Opens the durable store in the SQLite file at `path`, creating the
    /// file (not its directory) if needed, and loads its latest state.
    ///
    /// Fails with [`StoreError::Backend`] naming the path if the file cannot
    /// be opened, is not a ks-store database, or is in use by another store
    /// (see the module docs on the lock file).
    pub fn open(path: &Path, config: StoreConfig) -> Result<Store> {
        let (db, loaded) = LogDb::open(path)?;
        Store::start(config, Some(db), Some(loaded)).map_err(|(e, _)| e)
    }

    fn start(
        config: StoreConfig,
        db: Option<LogDb>,
        loaded: Option<sqlite::Loaded>,
    ) -> std::result::Result<Store, (StoreError, Store)> {
        let (map, current, compacted, compact_done) = match loaded {
            Some(l) => (l.map, l.current, l.compacted, l.compact_done),
            None => (Map::new(), 0, 0, 0),
        };
        let path = db.as_ref().map(|db| db.path().to_owned());
        let readers = path.clone().map(ReaderPool::new);
        let shared = Arc::new(Shared::new(
            config,
            map.clone(),
            current,
            compacted,
            readers,
        ));
        let (commands, receiver) = mpsc::channel();
        let writer = Writer::new(
            Arc::clone(&shared),
            db,
            receiver,
            map,
            current,
            compact_done,
        );
        let spawned = std::thread::Builder::new()
            .name("ks-store-writer".into())
            .spawn(move || writer.run());
        let (handle, error) = match spawned {
            Ok(handle) => (Some(handle), None),
            Err(e) => (
                None,
                Some(StoreError::Backend(format!(
                    "cannot start the writer thread: {e}"
                ))),
            ),
        };
        let store = Store {
            inner: Arc::new(Inner {
                shared,
                commands,
                writer: Mutex::new(handle),
                path,
            }),
        };
        match error {
            None => Ok(store),
            Some(e) => Err((e, store)),
        }
    }

    /// The database file, for a durable store.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.shared.config
    }

    /// Compacts now: revisions before `keep_after` become unavailable and
    /// the log rows only they needed are deleted. `keep_after` is capped at
    /// the current revision; a value at or below the compacted revision
    /// does nothing. Returns the compacted revision once the log is
    /// compacted.
    pub async fn compact(&self, keep_after: Revision) -> Result<Revision> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Compact { keep_after, reply })
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Stops accepting writes (they fail with [`StoreError::Closed`]),
    /// commits the ones already queued, ends every watch (after the events
    /// it has queued) and closes the database. Returns once the database is
    /// closed and its lock released. Reads of the in-memory state keep
    /// working.
    pub async fn shutdown(&self) {
        self.inner.shared.stop_writes();
        let (reply, done) = oneshot::channel();
        if self
            .inner
            .commands
            .send(Command::Shutdown { reply: Some(reply) })
            .is_ok()
        {
            // An error means the writer is gone, and so is the database.
            let _ = done.await;
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown { reply: None });
        let handle = self
            .writer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            // The last handle may be dropped on the writer thread itself
            // (captured by an encoder); it then exits by itself.
            if handle.thread().id() != std::thread::current().id() && handle.join().is_err() {
                tracing::error!("the store's writer thread panicked");
            }
        }
    }
}

#[async_trait]
impl Storage for Store {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        Ok(self.inner.shared.get(key))
    }

    async fn list(&self, opts: ListOptions<'_>) -> Result<ListPage> {
        let (map, revision) = self
            .inner
            .shared
            .snapshot(opts.prefix, opts.revision)
            .await?;
        Ok(state::page(&map, revision, &opts))
    }

    async fn write(
        &self,
        key: &str,
        precondition: Precondition,
        op: WriteOp,
    ) -> Result<WriteResult> {
        if self.inner.shared.is_closed() {
            return Err(StoreError::Closed);
        }
        let (reply, answer) = oneshot::channel();
        let request = WriteRequest {
            key: Arc::from(key),
            precondition,
            op,
            reply,
        };
        self.inner
            .commands
            .send(Command::Write(request))
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    fn watch(&self, prefix: &str, after: Option<Revision>) -> Result<WatchStream> {
        Ok(WatchStream {
            inner: WatchInner::start(&self.inner.shared, prefix, after)?,
        })
    }

    fn current_revision(&self) -> Revision {
        self.inner.shared.current()
    }

    fn compacted_revision(&self) -> Revision {
        self.inner.shared.compacted()
    }
}

#[cfg(test)]
mod tests;
