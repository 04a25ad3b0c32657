//! ks-store: the revisioned key-value store behind ks-apiserver.
//!
//! The model is etcd's, as kine implements it for k3s: every write gets the
//! next global [`Revision`]; a key's `mod_revision` is the revision of its last
//! write (ks-apiserver exposes it as `metadata.resourceVersion`); readers see
//! only committed writes; a watch replays every change after a revision, in
//! revision order, and then follows live changes.
//!
//! [`Storage`] is the small trait the API server programs against, so that a
//! different backend (etcd, Postgres) can replace the embedded one. [`Store`]
//! is the embedded implementation: the current state lives in memory as a
//! persistent ordered map (cheap snapshots for consistent paged lists), and,
//! unless opened in memory, every write is appended to a SQLite log in WAL mode
//! and synchronously committed before it is acknowledged. Concurrent writers
//! share one commit (group commit), so durability does not serialize clients
//! on fsync.
//!
//! Values are opaque bytes to the store. A write supplies an [`Encode`]
//! closure that is called with the revision the write will get, so the stored
//! bytes can carry that revision (the API server writes
//! `metadata.resourceVersion` into the JSON it stores and serves).

mod error;
mod store;
mod types;

pub use error::{Result, StoreError};
pub use store::{Store, StoreConfig};
pub use types::{
    Encode, EncodeError, Event, EventKind, KeyValue, ListOptions, ListPage, Precondition, Revision,
    WatchItem, WatchStream, WriteOp, WriteResult,
};

use async_trait::async_trait;

/// The storage interface ks-apiserver programs against.
///
/// Keys are UTF-8 strings ordered bytewise; lists and watches select keys by
/// prefix. Implementations are shared across tasks behind an `Arc`.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// The latest committed value of `key`, or `None`.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// Keys under `opts.prefix`, in key order, as of `opts.revision` (latest
    /// when `None`). See [`ListOptions`] for paging and filtering.
    ///
    /// Fails with [`StoreError::Compacted`] when the requested revision is no
    /// longer available, and [`StoreError::FutureRevision`] when it is newer
    /// than the latest.
    async fn list(&self, opts: ListOptions<'_>) -> Result<ListPage>;

    /// Writes `key` if `precondition` holds, atomically.
    ///
    /// Returns once the write is committed (durably, for a durable store).
    async fn write(
        &self,
        key: &str,
        precondition: Precondition,
        op: WriteOp,
    ) -> Result<WriteResult>;

    /// Every change under `prefix` with a revision greater than `after`, in
    /// revision order, then live changes. `after = None` starts at the latest
    /// revision (only live changes).
    ///
    /// Fails with [`StoreError::Compacted`] when changes after `after` are no
    /// longer all available.
    fn watch(&self, prefix: &str, after: Option<Revision>) -> Result<WatchStream>;

    /// The latest committed revision.
    fn current_revision(&self) -> Revision;

    /// The oldest revision a list or watch may still start from: changes at
    /// or before it may have been discarded.
    fn compacted_revision(&self) -> Revision;
}
