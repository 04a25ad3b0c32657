//! The writer thread: group commit and compaction.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Instant;

use tokio::sync::oneshot;

use super::sqlite::{LogDb, Row};
use super::state::{Map, Shared};
use crate::{
    Event, EventKind, KeyValue, Precondition, Result, Revision, StoreError, WriteOp, WriteResult,
};

/// Revisions whose rows one compaction step examines (one transaction);
/// writes are served between steps.
const COMPACTION_CHUNK: Revision = 10_000;

/// Values above this are refused (SQLite's default blob limit is 10^9 bytes;
/// a larger one would fail the whole batch at insert time).
const MAX_VALUE_BYTES: usize = 512 << 20;

/// A message to the writer thread.
pub(super) enum Command {
    Write(WriteRequest),
    Compact {
        keep_after: Revision,
        reply: oneshot::Sender<Result<Revision>>,
    },
    Shutdown {
        reply: Option<oneshot::Sender<()>>,
    },
}

/// One write waiting for its batch.
pub(super) struct WriteRequest {
    pub(super) key: Arc<str>,
    pub(super) precondition: Precondition,
    pub(super) op: WriteOp,
    pub(super) reply: oneshot::Sender<Result<WriteResult>>,
}

/// A compaction being carried out step by step.
struct CompactionJob {
    target: Revision,
    waiters: Vec<oneshot::Sender<Result<Revision>>>,
}

/// The single writer. Owns the read-write SQLite connection (if durable) and
/// a copy of the published map; runs on its own thread until shutdown.
pub(super) struct Writer {
    shared: Arc<Shared>,
    db: Option<LogDb>,
    commands: Receiver<Command>,
    map: Map,
    current: Revision,
    compact_done: Revision,
    job: Option<CompactionJob>,
    next_compaction: Option<Instant>,
    /// Set when the log can no longer be trusted to match the published
    /// state; every later write fails with this reason.
    failed: Option<String>,
    shutdown_acks: Vec<oneshot::Sender<()>>,
}

impl Writer {
    pub(super) fn new(
        shared: Arc<Shared>,
        db: Option<LogDb>,
        commands: Receiver<Command>,
        map: Map,
        current: Revision,
        compact_done: Revision,
    ) -> Writer {
        let interval = shared.config.compaction_interval;
        // Zero disables the schedule; so does an interval too long to add.
        let next_compaction = if interval.is_zero() {
            None
        } else {
            Instant::now().checked_add(interval)
        };
        let compacted = shared.compacted();
        // A compaction interrupted by a crash is finished first.
        let job = (db.is_some() && compact_done < compacted).then(|| CompactionJob {
            target: compacted,
            waiters: Vec::new(),
        });
        Writer {
            shared,
            db,
            commands,
            map,
            current,
            compact_done,
            job,
            next_compaction,
            failed: None,
            shutdown_acks: Vec::new(),
        }
    }

    /// The thread's body: returns after a shutdown command (or when every
    /// store handle is gone); dropping `self` then closes everything.
    pub(super) fn run(mut self) {
        let max_batch = self.shared.config.max_batch.max(1);
        let mut pending: Option<Command> = None;
        loop {
            let command = match pending.take() {
                Some(command) => Some(command),
                None => self.next_command(),
            };
            match command {
                Some(Command::Write(first)) => {
                    let mut batch = vec![first];
                    while batch.len() < max_batch {
                        match self.commands.try_recv() {
                            Ok(Command::Write(request)) => batch.push(request),
                            Ok(other) => {
                                pending = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit_batch(batch);
                }
                Some(Command::Compact { keep_after, reply }) => {
                    self.request_compaction(keep_after, Some(reply))
                }
                Some(Command::Shutdown { reply }) => {
                    self.shutdown_acks.extend(reply);
                    return;
                }
                None => {}
            }
            self.schedule_compaction();
            if self.job.is_some() {
                self.compaction_step();
            }
        }
    }

    /// Waits for a command, unless compaction work or its schedule is due.
    fn next_command(&self) -> Option<Command> {
        let gone = || Some(Command::Shutdown { reply: None });
        if self.job.is_some() {
            return match self.commands.try_recv() {
                Ok(command) => Some(command),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => gone(),
            };
        }
        match self.next_compaction {
            Some(at) => {
                let wait = at.saturating_duration_since(Instant::now());
                if wait.is_zero() {
                    return None;
                }
                match self.commands.recv_timeout(wait) {
                    Ok(command) => Some(command),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => gone(),
                }
            }
            None => self.commands.recv().ok().or_else(gone),
        }
    }

    /// Applies a batch to a working copy of the map, commits the successful
    /// writes in one transaction, then publishes and answers.
    fn commit_batch(&mut self, batch: Vec<WriteRequest>) {
        if let Some(reason) = &self.failed {
            for request in batch {
                let _ = request.reply.send(Err(StoreError::Backend(reason.clone())));
            }
            return;
        }
        let mut working = self.map.clone();
        let mut revision = self.current;
        let mut replies = Vec::with_capacity(batch.len());
        let mut rows = Vec::new();
        let mut events = Vec::new();
        for WriteRequest {
            key,
            precondition,
            op,
            reply,
        } in batch
        {
            let Some(next) = revision.checked_add(1) else {
                let _ = reply.send(Err(StoreError::Backend(
                    "the revision counter is exhausted".into(),
                )));
                continue;
            };
            match apply(&mut working, next, key, precondition, op) {
                Ok(applied) => {
                    revision = next;
                    rows.push(applied.row);
                    events.push(Arc::new(applied.event));
                    replies.push((reply, Ok(applied.result)));
                }
                Err(e) => replies.push((reply, Err(e))),
            }
        }
        if !rows.is_empty() {
            if let Err(reason) = self.append(&rows) {
                tracing::error!(%reason, writes = rows.len(), "commit failed");
                for (reply, _) in replies {
                    let _ = reply.send(Err(StoreError::Backend(reason.clone())));
                }
                self.check_log_after_failure();
                return;
            }
            self.map = working.clone();
            self.current = revision;
            self.shared.publish(working, revision, events);
        }
        for (reply, result) in replies {
            // The caller may have given up waiting; the write stands.
            let _ = reply.send(result);
        }
    }

    fn append(&mut self, rows: &[Row]) -> Result<(), String> {
        #[cfg(test)]
        if self
            .shared
            .fail_commits
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err("injected commit failure".into());
        }
        match &mut self.db {
            Some(db) => db
                .append(rows)
                .map_err(|e| format!("{}: commit failed: {e}", db.path().display())),
            None => Ok(()),
        }
    }

    /// After a failed commit, makes sure nothing of it reached the log (a
    /// failure in the middle of an fsync may leave that uncertain); if it
    /// did, later revisions would collide, so the store stops writing.
    fn check_log_after_failure(&mut self) {
        let Some(db) = &self.db else { return };
        match db.max_rev() {
            Ok(max) if max <= self.current => {}
            Ok(max) => {
                self.failed = Some(format!(
                    "{}: the log holds revision {max} past the last acknowledged one ({}); \
                     reopen the store",
                    db.path().display(),
                    self.current
                ));
            }
            Err(e) => {
                self.failed = Some(format!(
                    "{}: cannot read the log after a failed commit: {e}; reopen the store",
                    db.path().display()
                ));
            }
        }
    }

    fn request_compaction(
        &mut self,
        keep_after: Revision,
        reply: Option<oneshot::Sender<Result<Revision>>>,
    ) {
        let target = keep_after.min(self.current);
        let compacted = self.shared.compacted();
        if target <= compacted || self.job.as_ref().is_some_and(|job| job.target >= target) {
            match (&mut self.job, reply) {
                // Answered when the log is compacted.
                (Some(job), Some(reply)) => job.waiters.push(reply),
                (_, Some(reply)) => {
                    let _ = reply.send(Ok(compacted));
                }
                (_, None) => {}
            }
            return;
        }
        if self.db.is_none() {
            self.shared.set_compacted(target);
            tracing::debug!(compacted = target, "compacted the in-memory history");
            if let Some(reply) = reply {
                let _ = reply.send(Ok(target));
            }
            return;
        }
        if self.failed.is_some() {
            if let Some(reply) = reply {
                let _ = reply.send(Err(StoreError::Backend(
                    "the store has failed; reopen it".into(),
                )));
            }
            return;
        }
        let job = self.job.get_or_insert_with(|| CompactionJob {
            target,
            waiters: Vec::new(),
        });
        job.target = job.target.max(target);
        job.waiters.extend(reply);
    }

    fn schedule_compaction(&mut self) {
        let Some(at) = self.next_compaction else {
            return;
        };
        let now = Instant::now();
        if now < at {
            return;
        }
        self.next_compaction = now.checked_add(self.shared.config.compaction_interval);
        let retain = i64::try_from(self.shared.config.compaction_retain).unwrap_or(i64::MAX);
        let target = self.current.saturating_sub(retain);
        if target > self.shared.compacted() {
            self.request_compaction(target, None);
        }
    }

    fn compaction_step(&mut self) {
        let (Some(db), Some(job)) = (&mut self.db, &mut self.job) else {
            self.job = None;
            return;
        };
        match db.compact_step(job.target, self.compact_done, COMPACTION_CHUNK) {
            Ok(done) => {
                self.shared.set_compacted(job.target);
                self.compact_done = done;
                if done >= job.target {
                    let target = job.target;
                    for waiter in std::mem::take(&mut job.waiters) {
                        let _ = waiter.send(Ok(target));
                    }
                    self.job = None;
                    tracing::info!(compacted = target, "compacted the log");
                }
            }
            Err(e) => {
                let reason = format!("{}: compaction failed: {e}", db.path().display());
                tracing::error!(%reason);
                for waiter in std::mem::take(&mut job.waiters) {
                    let _ = waiter.send(Err(StoreError::Backend(reason.clone())));
                }
                self.job = None;
            }
        }
    }
}

impl Drop for Writer {
    /// Runs after a shutdown command, when every handle is gone, and if the
    /// thread panics: refuses what is still queued, ends the watches, closes
    /// the database (checkpointing the WAL) and releases the lock file.
    fn drop(&mut self) {
        self.shared.close();
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Write(request) => {
                    let _ = request.reply.send(Err(StoreError::Closed));
                }
                Command::Compact { reply, .. } => {
                    let _ = reply.send(Err(StoreError::Closed));
                }
                Command::Shutdown { reply } => self.shutdown_acks.extend(reply),
            }
        }
        if let Some(job) = self.job.take() {
            for waiter in job.waiters {
                let _ = waiter.send(Err(StoreError::Closed));
            }
        }
        drop(self.db.take());
        for ack in self.shutdown_acks.drain(..) {
            let _ = ack.send(());
        }
    }
}

/// A write that passed its precondition.
struct Applied {
    result: WriteResult,
    event: Event,
    row: Row,
}

/// Checks `precondition` against `map` (the state as modified by the earlier
/// writes of the batch) and applies the write at `revision`.
fn apply(
    map: &mut Map,
    revision: Revision,
    key: Arc<str>,
    precondition: Precondition,
    op: WriteOp,
) -> Result<Applied> {
    let existing = map.get(&*key).cloned();
    match (precondition, &existing) {
        (Precondition::MustNotExist, Some(_)) => {
            return Err(StoreError::AlreadyExists {
                key: key.to_string(),
            });
        }
        (Precondition::MustExist | Precondition::Revision(_), None) => {
            return Err(StoreError::NotFound {
                key: key.to_string(),
            });
        }
        (Precondition::Revision(expected), Some(kv)) if kv.mod_revision != expected => {
            return Err(StoreError::Conflict {
                key: key.to_string(),
                expected,
                actual: kv.mod_revision,
            });
        }
        _ => {}
    }
    match op {
        WriteOp::Put(encode) => {
            // A panicking encoder fails its own write, not the writer thread.
            let value = match catch_unwind(AssertUnwindSafe(move || encode(revision))) {
                Ok(Ok(value)) => value,
                Ok(Err(reason)) => return Err(StoreError::Encode(reason)),
                Err(_) => return Err(StoreError::Encode("the encoder panicked".into())),
            };
            if value.len() > MAX_VALUE_BYTES {
                return Err(StoreError::Backend(format!(
                    "value of {} bytes for key {key:?} exceeds the {MAX_VALUE_BYTES}-byte limit",
                    value.len()
                )));
            }
            let kv = KeyValue {
                key: key.clone(),
                value,
                create_revision: existing.as_ref().map_or(revision, |e| e.create_revision),
                mod_revision: revision,
            };
            map.insert(key.clone(), kv.clone());
            let row = Row {
                rev: revision,
                key,
                create_rev: kv.create_revision,
                prev_rev: existing.as_ref().map_or(0, |e| e.mod_revision),
                deleted: false,
                value: kv.value.clone(),
            };
            let kind = if existing.is_some() {
                EventKind::Modified
            } else {
                EventKind::Created
            };
            let event = Event {
                kind,
                revision,
                kv: kv.clone(),
                prev: existing.clone(),
            };
            let result = WriteResult {
                revision,
                prev: existing,
                current: Some(kv),
            };
            Ok(Applied { result, event, row })
        }
        WriteOp::Delete => {
            let Some(prev) = existing else {
                return Err(StoreError::NotFound {
                    key: key.to_string(),
                });
            };
            map.remove(&*key);
            let row = Row {
                rev: revision,
                key,
                create_rev: prev.create_revision,
                prev_rev: prev.mod_revision,
                deleted: true,
                value: prev.value.clone(),
            };
            let event = Event {
                kind: EventKind::Deleted,
                revision,
                kv: prev.clone(),
                prev: Some(prev.clone()),
            };
            let result = WriteResult {
                revision,
                prev: Some(prev),
                current: None,
            };
            Ok(Applied { result, event, row })
        }
    }
}
