//! In-memory views of part of the store, kept current from its watch: the
//! users the authenticators look up and the roles, bindings and namespaces
//! the authorizer decides with.
//!
//! [`Informer::start`] lists a key prefix and hands the items to a
//! handler, then follows the store's watch from that list's revision, so
//! no change is missed and none is seen twice. When the watch falls too
//! far behind (the store compacted past it) the informer lists again and
//! the handler gets a fresh [`Change::Reset`].

use std::sync::Arc;
use std::time::Duration;

use ks_store::{EventKind, KeyValue, ListOptions, Revision, Storage, StoreError, WatchItem};
use tokio::task::JoinHandle;

/// A change under the watched prefix.
#[derive(Debug)]
pub enum Change {
    /// Everything under the prefix, replacing what the handler had.
    Reset(Vec<KeyValue>),
    /// A key was created or overwritten.
    Put(KeyValue),
    /// A key was deleted; its last value.
    Delete(KeyValue),
}

/// Follows one prefix of the store.
#[derive(Debug)]
pub struct Informer {
    task: JoinHandle<()>,
}

/// How long to wait before listing again after the store failed.
const RETRY: Duration = Duration::from_millis(200);

impl Informer {
    /// Lists `prefix`, gives the items to `handler` (before returning, so
    /// the caller starts with a complete view), then keeps calling it with
    /// every change until the store shuts down or the informer is dropped.
    pub async fn start(
        store: Arc<dyn Storage>,
        prefix: impl Into<String>,
        mut handler: impl FnMut(Change) + Send + 'static,
    ) -> Result<Informer, StoreError> {
        let prefix = prefix.into();
        let revision = list(&*store, &prefix, &mut handler).await?;
        let task = tokio::spawn(follow(store, prefix, revision, handler));
        Ok(Informer { task })
    }
}

impl Drop for Informer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn list(
    store: &dyn Storage,
    prefix: &str,
    handler: &mut impl FnMut(Change),
) -> Result<Revision, StoreError> {
    let page = store.list(ListOptions::prefix(prefix)).await?;
    handler(Change::Reset(page.items));
    Ok(page.revision)
}

async fn follow(
    store: Arc<dyn Storage>,
    prefix: String,
    mut revision: Revision,
    mut handler: impl FnMut(Change),
) {
    loop {
        // Follow from `revision` until the watch ends; a watch that fell
        // behind the compaction makes the informer list again.
        let relist = match store.watch(&prefix, Some(revision)) {
            Ok(mut stream) => loop {
                match stream.next().await {
                    None => return,
                    Some(Ok(WatchItem::Progress(r))) => revision = r,
                    Some(Ok(WatchItem::Event(event))) => {
                        revision = event.revision;
                        handler(match event.kind {
                            EventKind::Created | EventKind::Modified => {
                                Change::Put(event.kv.clone())
                            }
                            EventKind::Deleted => Change::Delete(event.kv.clone()),
                        });
                    }
                    Some(Err(StoreError::Closed)) => return,
                    Some(Err(e)) => break matches!(e, StoreError::Compacted { .. }),
                }
            },
            Err(StoreError::Closed) => return,
            Err(e) => matches!(e, StoreError::Compacted { .. }),
        };
        if !relist {
            tokio::time::sleep(RETRY).await;
            continue;
        }
        tracing::debug!(%prefix, "informer fell behind the compaction; listing again");
        loop {
            match list(&*store, &prefix, &mut handler).await {
                Ok(r) => {
                    revision = r;
                    break;
                }
                Err(StoreError::Closed) => return,
                Err(e) => {
                    tracing::warn!(%prefix, error = %e, "listing for an informer failed");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bytes::Bytes;
    use ks_store::{Precondition, Store, StoreConfig, WriteOp};

    use super::*;

    async fn put(store: &Store, key: &str, value: &'static str) {
        store
            .write(
                key,
                Precondition::None,
                WriteOp::Put(Box::new(move |_| Ok(Bytes::from_static(value.as_bytes())))),
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn lists_then_follows_only_its_prefix() {
        let store = Store::in_memory(StoreConfig::default());
        put(&store, "/a/1", "one").await;
        put(&store, "/b/1", "other").await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let informer = Informer::start(Arc::new(store.clone()), "/a/", move |change| {
            let line = match change {
                Change::Reset(items) => format!(
                    "reset {}",
                    items
                        .iter()
                        .map(|kv| &*kv.key)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                Change::Put(kv) => format!("put {}", kv.key),
                Change::Delete(kv) => format!("delete {}", kv.key),
            };
            sink.lock().unwrap().push(line);
        })
        .await
        .unwrap();
        assert_eq!(*seen.lock().unwrap(), ["reset /a/1"]);
        put(&store, "/a/2", "two").await;
        put(&store, "/b/2", "other").await;
        store
            .write("/a/1", Precondition::None, WriteOp::Delete)
            .await
            .unwrap();
        for _ in 0..100 {
            if seen.lock().unwrap().len() == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            *seen.lock().unwrap(),
            ["reset /a/1", "put /a/2", "delete /a/1"]
        );
        drop(informer);
    }
}
