//! Values exchanged with the store.

use std::sync::Arc;

use bytes::Bytes;

use crate::Result;

/// A global, strictly increasing write counter. Revision 0 means "nothing
/// written yet"; the first write gets revision 1.
pub type Revision = i64;

/// A key's current value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: Arc<str>,
    /// The value as last written.
    pub value: Bytes,
    /// The revision of the write that created the key (since it last did not exist).
    pub create_revision: Revision,
    /// The revision of the key's last write.
    pub mod_revision: Revision,
}

/// Turns the revision a write will get into the bytes to store. Called at
/// most once, on the store's writer, just before the commit. An error
/// aborts this write only.
pub type Encode = Box<dyn FnOnce(Revision) -> std::result::Result<Bytes, EncodeError> + Send>;

/// Why an [`Encode`] closure could not produce the value.
pub type EncodeError = Box<dyn std::error::Error + Send + Sync>;

/// What must hold for a write to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Always apply (for a delete: the key must exist, else `NotFound`).
    None,
    /// The key must not exist (create), else `AlreadyExists`.
    MustNotExist,
    /// The key must exist, else `NotFound`.
    MustExist,
    /// The key must exist with exactly this mod revision, else `NotFound` or
    /// `Conflict`.
    Revision(Revision),
}

/// A write.
pub enum WriteOp {
    /// Store the encoded value.
    Put(Encode),
    /// Delete the key; the delete event carries the last value.
    Delete,
}

impl std::fmt::Debug for WriteOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteOp::Put(_) => f.write_str("Put(..)"),
            WriteOp::Delete => f.write_str("Delete"),
        }
    }
}

/// The outcome of a committed write.
#[derive(Debug, Clone)]
pub struct WriteResult {
    /// The revision the write got.
    pub revision: Revision,
    /// The key's value before the write, if it existed.
    pub prev: Option<KeyValue>,
    /// The key's value after the write (`None` after a delete).
    pub current: Option<KeyValue>,
}

/// Paging and filtering of a list.
pub struct ListOptions<'a> {
    /// Only keys starting with this prefix.
    pub prefix: &'a str,
    /// Read as of this revision (`None`: the latest). Paged lists pass the
    /// revision of their first page so every page comes from one snapshot.
    pub revision: Option<Revision>,
    /// Only keys strictly greater than this one (the continue position).
    pub start_after: Option<&'a str>,
    /// At most this many items (after filtering); `None` or 0: no limit.
    pub limit: Option<usize>,
    /// Only items for which this returns true. Items that fail the filter do
    /// not count against `limit`.
    pub filter: Option<&'a (dyn Fn(&KeyValue) -> bool + Sync)>,
}

impl<'a> ListOptions<'a> {
    /// Everything under `prefix`, at the latest revision.
    pub fn prefix(prefix: &'a str) -> Self {
        ListOptions {
            prefix,
            revision: None,
            start_after: None,
            limit: None,
            filter: None,
        }
    }
}

impl std::fmt::Debug for ListOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListOptions")
            .field("prefix", &self.prefix)
            .field("revision", &self.revision)
            .field("start_after", &self.start_after)
            .field("limit", &self.limit)
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// The items, in key order.
    pub items: Vec<KeyValue>,
    /// The revision the page was read at.
    pub revision: Revision,
    /// Whether more matching items follow the last one (the caller continues
    /// with `start_after` = the last item's key and `revision` = this page's).
    pub more: bool,
    /// How many items follow this page, when `more` and the list has no
    /// filter (Kubernetes' `metadata.remainingItemCount`); `None` otherwise.
    pub remaining: Option<u64>,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The key did not exist before.
    Created,
    /// The key existed and was overwritten.
    Modified,
    /// The key was deleted.
    Deleted,
}

/// One committed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The revision of the change.
    pub revision: Revision,
    /// The key's value after the change; for `Deleted`, its last value
    /// (with `mod_revision` = the revision it had before the delete).
    pub kv: KeyValue,
    /// The value before the change, for `Modified` and `Deleted`.
    pub prev: Option<KeyValue>,
}

/// An item of a [`WatchStream`].
#[derive(Debug, Clone)]
pub enum WatchItem {
    /// A change under the watched prefix.
    Event(Arc<Event>),
    /// Every change under the prefix up to this revision has been delivered;
    /// a safe bookmark. Sent when the stream is idle and the store has moved on.
    Progress(Revision),
}

/// A watch: replayed history, then live changes.
///
/// If the consumer falls so far behind that the store would have to buffer
/// without bound, the stream ends with [`crate::StoreError::Compacted`] at
/// the revision it reached; the consumer restarts from its last revision.
pub struct WatchStream {
    pub(crate) inner: crate::store::WatchInner,
}

impl WatchStream {
    /// The next item; `None` when the store has shut down.
    pub async fn next(&mut self) -> Option<Result<WatchItem>> {
        self.inner.next().await
    }

    /// The highest revision up to which every matching change has been
    /// returned by [`WatchStream::next`].
    pub fn progress(&self) -> Revision {
        self.inner.progress()
    }
}

impl std::fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchStream")
            .field("progress", &self.progress())
            .finish()
    }
}
