//! Watches: replay (SQLite, then in-memory history), then live events.

use std::collections::VecDeque;
use std::sync::Arc;

use imbl::Vector;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;

use super::state::Shared;
use crate::{Event, Result, Revision, StoreError, WatchItem};

/// Revisions read from SQLite per step of a replay.
const GAP_CHUNK: usize = 1024;

type GapRead = Result<(Vec<Arc<Event>>, Revision)>;

/// The state of one watch. See [`crate::WatchStream`].
///
/// A watch goes through three sources, each strictly after the previous:
/// revisions `(after, gap_until]` read from SQLite in chunks (only when the
/// in-memory history does not reach back to `after`), the history events
/// `(gap_until, replay_until]` copied when the watch started, and the live
/// events published after `replay_until`. The live subscription is taken
/// under the lock the writer publishes under, at the same time as the
/// history copy, so no event is missed or repeated.
pub(crate) struct WatchInner {
    shared: Arc<Shared>,
    prefix: Box<str>,
    /// Every matching event up to here has been returned.
    progress: Revision,
    gap_until: Revision,
    /// A SQLite read in flight, kept across cancellations of `next`.
    reading: Option<JoinHandle<GapRead>>,
    /// Matching events read from SQLite, not yet returned...
    buffered: VecDeque<Arc<Event>>,
    /// ...which cover the revisions up to here.
    buffered_until: Revision,
    /// History events still to replay (unfiltered), up to `replay_until`.
    history: Vector<Arc<Event>>,
    replay_until: Revision,
    live: broadcast::Receiver<Arc<Event>>,
    finished: bool,
}

impl WatchInner {
    /// Starts a watch of `prefix` after `after` (the current revision when
    /// `None`).
    pub(super) fn start(
        shared: &Arc<Shared>,
        prefix: &str,
        after: Option<Revision>,
    ) -> Result<WatchInner> {
        let st = shared.read();
        let Some(events) = &st.events else {
            return Err(StoreError::Closed);
        };
        let after = after.unwrap_or(st.current);
        if after > st.current {
            return Err(StoreError::FutureRevision {
                requested: after,
                current: st.current,
            });
        }
        if after < st.compacted || (after < st.history_start && !shared.durable()) {
            return Err(StoreError::Compacted {
                requested: after,
                compacted: st.compacted.max(st.history_start),
            });
        }
        let start = after.max(st.history_start);
        let skip = usize::try_from(start - st.history_start).unwrap_or(usize::MAX);
        let history = if skip >= st.history.len() {
            Vector::new()
        } else {
            st.history.skip(skip)
        };
        let live = events.subscribe();
        let replay_until = st.current;
        drop(st);
        Ok(WatchInner {
            shared: Arc::clone(shared),
            prefix: prefix.into(),
            progress: after,
            gap_until: start,
            reading: None,
            buffered: VecDeque::new(),
            buffered_until: after,
            history,
            replay_until,
            live,
            finished: false,
        })
    }

    /// The next matching event; `None` once the store has shut down.
    ///
    /// Cancel-safe: dropping the future loses nothing (a SQLite read in
    /// flight is picked up by the next call).
    pub(crate) async fn next(&mut self) -> Option<Result<WatchItem>> {
        if self.finished {
            return None;
        }
        loop {
            if let Some(event) = self.buffered.pop_front() {
                self.progress = event.revision;
                return Some(Ok(WatchItem::Event(event)));
            }
            self.progress = self.progress.max(self.buffered_until);
            if self.progress < self.gap_until {
                match self.read_gap().await {
                    Ok((events, reached)) if reached > self.progress => {
                        self.buffered.extend(events);
                        self.buffered_until = reached;
                        continue;
                    }
                    Ok(_) => {
                        return self.fail(StoreError::Backend(format!(
                            "the log has no revision after {} (expected up to {})",
                            self.progress, self.gap_until
                        )));
                    }
                    Err(StoreError::Closed) => {
                        self.finished = true;
                        return None;
                    }
                    Err(e) => return self.fail(e),
                }
            }
            while let Some(event) = self.history.pop_front() {
                self.progress = event.revision;
                if event.kv.key.starts_with(&*self.prefix) {
                    return Some(Ok(WatchItem::Event(event)));
                }
            }
            self.progress = self.progress.max(self.replay_until);
            match self.live.recv().await {
                Ok(event) => {
                    if event.revision <= self.progress {
                        continue;
                    }
                    self.progress = event.revision;
                    if event.kv.key.starts_with(&*self.prefix) {
                        return Some(Ok(WatchItem::Event(event)));
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let compacted = self.shared.compacted();
                    return self.fail(StoreError::Compacted {
                        requested: self.progress,
                        compacted,
                    });
                }
                Err(RecvError::Closed) => {
                    self.finished = true;
                    return None;
                }
            }
        }
    }

    fn fail(&mut self, error: StoreError) -> Option<Result<WatchItem>> {
        self.finished = true;
        Some(Err(error))
    }

    /// Reads the next chunk of `(progress, gap_until]` from SQLite.
    async fn read_gap(&mut self) -> GapRead {
        let (after, until) = (self.progress, self.gap_until);
        if self.reading.is_none() {
            let Some(readers) = &self.shared.readers else {
                return Err(StoreError::Compacted {
                    requested: after,
                    compacted: self.shared.compacted(),
                });
            };
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    let shared = Arc::clone(&self.shared);
                    let prefix = self.prefix.clone();
                    self.reading = Some(runtime.spawn_blocking(move || match &shared.readers {
                        Some(readers) => readers.events(&prefix, after, until, GAP_CHUNK),
                        None => Err(StoreError::Closed),
                    }));
                }
                Err(_) => return readers.events(&self.prefix, after, until, GAP_CHUNK),
            }
        }
        let Some(reading) = self.reading.as_mut() else {
            return Err(StoreError::Closed);
        };
        let result = reading.await;
        self.reading = None;
        result.map_err(|e| {
            StoreError::Backend(format!("reading the log after revision {after}: {e}"))
        })?
    }

    /// The highest revision up to which every matching event has been
    /// returned. When the watch has nothing left to replay and nothing
    /// queued, that is the store's current revision.
    pub(crate) fn progress(&self) -> Revision {
        let mut progress = self.progress;
        if self.finished || !self.buffered.is_empty() {
            return progress;
        }
        progress = progress.max(self.buffered_until);
        if progress < self.gap_until || !self.history.is_empty() {
            return progress;
        }
        progress = progress.max(self.replay_until);
        // Load the revision before looking at the queue: the writer sends a
        // commit's events before it stores the revision, so an empty queue
        // then means every event up to `current` has been seen.
        let current = self.shared.current();
        if self.live.is_empty() {
            progress = progress.max(current);
        }
        progress
    }
}
