//! The store's error type.

use crate::Revision;

/// Result alias for store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why a store operation failed. Callers map these to Kubernetes statuses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// [`crate::Precondition::MustNotExist`] failed.
    #[error("key {key:?} already exists")]
    AlreadyExists {
        /// The key.
        key: String,
    },
    /// The key does not exist (for a precondition that needs it to).
    #[error("key {key:?} not found")]
    NotFound {
        /// The key.
        key: String,
    },
    /// [`crate::Precondition::Revision`] failed: the key was modified since.
    #[error("key {key:?} was modified: expected revision {expected}, found {actual}")]
    Conflict {
        /// The key.
        key: String,
        /// The revision the caller expected.
        expected: Revision,
        /// The key's current mod revision.
        actual: Revision,
    },
    /// The requested revision has been compacted away.
    #[error("revision {requested} has been compacted (oldest available is {compacted})")]
    Compacted {
        /// The revision asked for.
        requested: Revision,
        /// The compacted revision.
        compacted: Revision,
    },
    /// The requested revision is newer than the latest committed one.
    #[error("revision {requested} is newer than the current revision {current}")]
    FutureRevision {
        /// The revision asked for.
        requested: Revision,
        /// The latest committed revision.
        current: Revision,
    },
    /// The write's [`crate::Encode`] closure failed; nothing was written.
    #[error("encoding the value failed: {0}")]
    Encode(#[source] crate::EncodeError),
    /// The backend failed (I/O, SQLite); the write was not acknowledged.
    #[error("storage backend: {0}")]
    Backend(String),
    /// The store has been shut down.
    #[error("the store is closed")]
    Closed,
}
