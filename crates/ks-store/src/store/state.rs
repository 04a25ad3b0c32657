//! The published state readers see, and reads of it (latest or older).

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use imbl::{OrdMap, Vector};
use tokio::sync::broadcast;

use super::StoreConfig;
use super::sqlite::ReaderPool;
use crate::{Event, EventKind, KeyValue, ListOptions, ListPage, Result, Revision, StoreError};

/// The key space: a persistent ordered map, so a snapshot is an O(1) clone.
pub(super) type Map = OrdMap<Arc<str>, KeyValue>;

/// Reconstructed old snapshots kept for paged lists.
const SNAPSHOT_CACHE: usize = 8;

/// What the writer publishes after each commit, under [`Shared::state`].
pub(super) struct Published {
    /// Every live key at `current`.
    pub(super) map: Map,
    /// The latest committed revision.
    pub(super) current: Revision,
    /// Lists and watches may start at or after this revision.
    pub(super) compacted: Revision,
    /// Every event with a revision in `(history_start, current]`, in order.
    pub(super) history: Vector<Arc<Event>>,
    pub(super) history_start: Revision,
    /// Live events for watchers; `None` once the store has shut down.
    pub(super) events: Option<broadcast::Sender<Arc<Event>>>,
}

/// State shared by the store handles, the writer thread and the watchers.
pub(super) struct Shared {
    pub(super) config: StoreConfig,
    state: RwLock<Published>,
    /// Mirror of `Published::current`, stored after the events of a commit
    /// are sent (so a watcher with an empty queue has seen everything up to it).
    current: AtomicI64,
    compacted: AtomicI64,
    /// Set when the store stops accepting writes.
    closed: AtomicBool,
    /// Read-only SQLite connections (durable store only).
    pub(super) readers: Option<ReaderPool>,
    snapshots: Mutex<VecDeque<CachedSnapshot>>,
    /// Makes every commit fail (unit tests of the failure path).
    #[cfg(test)]
    pub(super) fail_commits: AtomicBool,
}

/// A reconstructed state at `revision`, of the keys under `scope` (the
/// empty scope: every key).
struct CachedSnapshot {
    revision: Revision,
    scope: Box<str>,
    map: Map,
}

/// How a read at an old revision is served.
enum OldRead {
    Ready(Map),
    Undo {
        map: Map,
        history: Vector<Arc<Event>>,
        current: Revision,
    },
    Sqlite,
}

impl Shared {
    pub(super) fn new(
        config: StoreConfig,
        map: Map,
        current: Revision,
        compacted: Revision,
        readers: Option<ReaderPool>,
    ) -> Shared {
        let (events, _) = broadcast::channel(config.watch_buffer.clamp(1, 1 << 24));
        Shared {
            config,
            state: RwLock::new(Published {
                map,
                current,
                compacted,
                history: Vector::new(),
                history_start: current,
                events: Some(events),
            }),
            current: AtomicI64::new(current),
            compacted: AtomicI64::new(compacted),
            closed: AtomicBool::new(false),
            readers,
            snapshots: Mutex::new(VecDeque::new()),
            #[cfg(test)]
            fail_commits: AtomicBool::new(false),
        }
    }

    pub(super) fn read(&self) -> RwLockReadGuard<'_, Published> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Published> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn current(&self) -> Revision {
        self.current.load(Ordering::Acquire)
    }

    pub(super) fn compacted(&self) -> Revision {
        self.compacted.load(Ordering::Acquire)
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(super) fn durable(&self) -> bool {
        self.readers.is_some()
    }

    /// Makes a committed batch visible: the new map, its events (history
    /// and watchers), then the revision.
    pub(super) fn publish(&self, map: Map, current: Revision, events: Vec<Arc<Event>>) {
        let mut st = self.write();
        st.map = map;
        for event in events {
            if let Some(tx) = &st.events {
                // An error only means nobody is watching.
                let _ = tx.send(event.clone());
            }
            st.history.push_back(event);
        }
        st.current = current;
        let cap = self.config.history;
        while st.history.len() > cap {
            match st.history.pop_front() {
                Some(event) => st.history_start = event.revision,
                None => break,
            }
        }
        if st.history.is_empty() {
            st.history_start = current;
        }
        if !self.durable() && st.history_start > st.compacted {
            // In memory, dropped history is gone for good.
            st.compacted = st.history_start;
            self.compacted.store(st.compacted, Ordering::Release);
        }
        self.current.store(current, Ordering::Release);
    }

    /// Raises the compacted revision and drops history at or before it.
    pub(super) fn set_compacted(&self, compacted: Revision) {
        let mut st = self.write();
        if compacted <= st.compacted {
            return;
        }
        st.compacted = compacted;
        if compacted > st.history_start {
            let drop = usize::try_from(compacted - st.history_start).unwrap_or(usize::MAX);
            st.history = st.history.skip(drop.min(st.history.len()));
            st.history_start = compacted.min(st.current);
        }
        self.compacted.store(compacted, Ordering::Release);
        drop(st);
        self.snapshots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|s| s.revision >= compacted);
    }

    /// Stops accepting writes.
    pub(super) fn stop_writes(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Stops accepting writes and ends every watch (after the events it has
    /// queued).
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.write().events = None;
        if let Some(readers) = &self.readers {
            readers.close();
        }
    }

    /// The latest value of `key`.
    pub(super) fn get(&self, key: &str) -> Option<KeyValue> {
        self.read().map.get(key).cloned()
    }

    /// The keys under `prefix` at `revision` (latest when `None`), and the
    /// revision read at. The map may hold keys outside `prefix`.
    pub(super) async fn snapshot(
        self: &Arc<Self>,
        prefix: &str,
        revision: Option<Revision>,
    ) -> Result<(Map, Revision)> {
        let (plan, at) = {
            let st = self.read();
            let Some(at) = revision.filter(|&r| r != st.current) else {
                return Ok((st.map.clone(), st.current));
            };
            if at > st.current {
                return Err(StoreError::FutureRevision {
                    requested: at,
                    current: st.current,
                });
            }
            if at < st.compacted {
                return Err(StoreError::Compacted {
                    requested: at,
                    compacted: st.compacted,
                });
            }
            let plan = if let Some(map) = self.cached(at, prefix) {
                OldRead::Ready(map)
            } else if at >= st.history_start {
                OldRead::Undo {
                    map: st.map.clone(),
                    history: st.history.clone(),
                    current: st.current,
                }
            } else if self.durable() {
                OldRead::Sqlite
            } else {
                return Err(StoreError::Compacted {
                    requested: at,
                    compacted: st.compacted.max(st.history_start),
                });
            };
            (plan, at)
        };
        match plan {
            OldRead::Ready(map) => Ok((map, at)),
            OldRead::Undo {
                mut map,
                history,
                current,
            } => {
                // Undo, newest first, every event after `at`.
                let newer = usize::try_from(current - at).unwrap_or(usize::MAX);
                for event in history.iter().rev().take(newer) {
                    debug_assert!(event.revision > at);
                    match (&event.kind, &event.prev) {
                        (EventKind::Created, _) | (_, None) => {
                            map.remove(&*event.kv.key);
                        }
                        (_, Some(prev)) => {
                            map.insert(prev.key.clone(), prev.clone());
                        }
                    }
                }
                self.cache(at, "", map.clone());
                Ok((map, at))
            }
            OldRead::Sqlite => {
                let map = self.read_sqlite_state(prefix, at).await?;
                self.cache(at, prefix, map.clone());
                Ok((map, at))
            }
        }
    }

    async fn read_sqlite_state(self: &Arc<Self>, prefix: &str, at: Revision) -> Result<Map> {
        let Some(readers) = &self.readers else {
            return Err(StoreError::Compacted {
                requested: at,
                compacted: self.compacted(),
            });
        };
        // Loading a large prefix is slow work: keep it off the async
        // workers when there is a tokio runtime to hand it to.
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let shared = Arc::clone(self);
                let prefix = prefix.to_owned();
                handle
                    .spawn_blocking(move || match &shared.readers {
                        Some(readers) => readers.state_at(&prefix, at),
                        None => Err(StoreError::Closed),
                    })
                    .await
                    .map_err(|e| StoreError::Backend(format!("reading revision {at}: {e}")))?
            }
            Err(_) => readers.state_at(prefix, at),
        }
    }

    fn cached(&self, revision: Revision, prefix: &str) -> Option<Map> {
        let mut cache = self
            .snapshots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let pos = cache
            .iter()
            .position(|s| s.revision == revision && prefix.starts_with(&*s.scope))?;
        let hit = cache.remove(pos)?;
        let map = hit.map.clone();
        cache.push_front(hit);
        Some(map)
    }

    fn cache(&self, revision: Revision, scope: &str, map: Map) {
        let mut cache = self
            .snapshots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache.push_front(CachedSnapshot {
            revision,
            scope: scope.into(),
            map,
        });
        cache.truncate(SNAPSHOT_CACHE);
    }
}

/// One page of `map` (a snapshot at `revision`) for `opts`.
pub(super) fn page(map: &Map, revision: Revision, opts: &ListOptions<'_>) -> ListPage {
    let prefix = opts.prefix;
    let lower = match opts.start_after {
        Some(after) if after >= prefix => Bound::Excluded(after),
        _ => Bound::Included(prefix),
    };
    let limit = opts.limit.filter(|&l| l > 0);
    let mut items = Vec::new();
    let mut more = false;
    let mut range = map
        .range::<_, str>((lower, Bound::Unbounded))
        .take_while(|(key, _)| key.starts_with(prefix));
    for (_, kv) in range.by_ref() {
        if let Some(filter) = opts.filter
            && !filter(kv)
        {
            continue;
        }
        if limit.is_some_and(|l| items.len() >= l) {
            more = true;
            break;
        }
        items.push(kv.clone());
    }
    // Without a filter the rest of the range is exactly what remains (the
    // item that ended the page included).
    let remaining = (more && opts.filter.is_none()).then(|| 1 + range.count() as u64);
    ListPage {
        items,
        revision,
        more,
        remaining,
    }
}
