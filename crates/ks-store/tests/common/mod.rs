//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use ks_store::{
    KeyValue, ListOptions, Precondition, Result, Revision, Storage, Store, StoreConfig, WatchItem,
    WatchStream, WriteOp, WriteResult,
};

/// A config without scheduled compaction, so tests decide when it happens.
pub fn config() -> StoreConfig {
    StoreConfig {
        compaction_interval: Duration::ZERO,
        ..StoreConfig::default()
    }
}

/// A put of a fixed value.
pub fn put(value: &str) -> WriteOp {
    let value = Bytes::copy_from_slice(value.as_bytes());
    WriteOp::Put(Box::new(move |_| Ok(value)))
}

pub async fn create(store: &Store, key: &str, value: &str) -> Result<WriteResult> {
    store
        .write(key, Precondition::MustNotExist, put(value))
        .await
}

pub async fn set(store: &Store, key: &str, value: &str) -> Result<WriteResult> {
    store.write(key, Precondition::None, put(value)).await
}

pub async fn delete(store: &Store, key: &str) -> Result<WriteResult> {
    store.write(key, Precondition::None, WriteOp::Delete).await
}

/// The durable store in `dir`.
pub fn open(dir: &Path, config: StoreConfig) -> Store {
    Store::open(&dir.join("store.db"), config).unwrap()
}

/// (key, value) pairs of a whole prefix at a revision, through pages of `page`.
pub async fn list_all(
    store: &Store,
    prefix: &str,
    at: Option<Revision>,
    page: usize,
) -> Result<(Vec<(String, String)>, Revision)> {
    let mut out = Vec::new();
    let mut start_after: Option<String> = None;
    let mut revision = at;
    loop {
        let page = store
            .list(ListOptions {
                prefix,
                revision,
                start_after: start_after.as_deref(),
                limit: Some(page),
                filter: None,
            })
            .await?;
        revision = Some(page.revision);
        out.extend(page.items.iter().map(kv_pair));
        if !page.more {
            return Ok((out, page.revision));
        }
        start_after = page.items.last().map(|kv| kv.key.to_string());
    }
}

pub fn kv_pair(kv: &KeyValue) -> (String, String) {
    (
        kv.key.to_string(),
        String::from_utf8_lossy(&kv.value).into_owned(),
    )
}

/// The next watch item, failing the test after 5 s.
pub async fn next_item(stream: &mut WatchStream) -> Option<Result<WatchItem>> {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("watch timed out")
}

/// Every event up to revision `until` (the store's current revision, say),
/// as (revision, kind, key, value): reads until the stream is idle and its
/// progress has reached `until`.
pub async fn drain(
    stream: &mut WatchStream,
    until: Revision,
) -> Vec<(Revision, ks_store::EventKind, String, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_millis(2), stream.next()).await {
            Ok(Some(Ok(WatchItem::Event(e)))) => {
                out.push((e.revision, e.kind, e.kv.key.to_string(), value(&e.kv)))
            }
            Ok(Some(Ok(WatchItem::Progress(_)))) => {}
            Ok(Some(Err(e))) => panic!("watch failed: {e}"),
            Ok(None) => return out,
            // Idle (next() is cancel-safe): done once everything is seen.
            Err(_) if stream.progress() >= until => return out,
            Err(_) => assert!(
                std::time::Instant::now() < deadline,
                "watch stuck at {}",
                stream.progress()
            ),
        }
    }
}

pub fn value(kv: &KeyValue) -> String {
    String::from_utf8_lossy(&kv.value).into_owned()
}
