//! Unit tests of paths the public API cannot provoke: failed commits and
//! compactions cut short by a crash.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::sqlite::{LogDb, Row};
use super::*;

fn config() -> StoreConfig {
    StoreConfig {
        compaction_interval: Duration::ZERO,
        ..StoreConfig::default()
    }
}

fn put(value: &'static str) -> WriteOp {
    WriteOp::Put(Box::new(move |_| Ok(Bytes::from_static(value.as_bytes()))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_commit_fails_the_batch_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for store in [
        Store::in_memory(config()),
        Store::open(&dir.path().join("s.db"), config()).unwrap(),
    ] {
        store
            .write("a", Precondition::None, put("1"))
            .await
            .unwrap();
        let mut watch = store.watch("", None).unwrap();
        store
            .inner
            .shared
            .fail_commits
            .store(true, Ordering::SeqCst);
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                // A precondition failure in the batch fails with Backend too.
                let pre = if i == 0 {
                    Precondition::MustNotExist
                } else {
                    Precondition::None
                };
                store.write(&format!("k{i}"), pre, put("x")).await
            }));
        }
        for task in tasks {
            assert!(matches!(task.await.unwrap(), Err(StoreError::Backend(_))));
        }
        assert_eq!(store.current_revision(), 1);
        assert_eq!(store.get("k1").await.unwrap(), None);
        assert_eq!(
            store
                .list(ListOptions::prefix(""))
                .await
                .unwrap()
                .items
                .len(),
            1
        );
        store
            .inner
            .shared
            .fail_commits
            .store(false, Ordering::SeqCst);
        let r = store
            .write("k1", Precondition::None, put("y"))
            .await
            .unwrap();
        assert_eq!(r.revision, 2);
        match tokio::time::timeout(Duration::from_secs(5), watch.next())
            .await
            .unwrap()
        {
            Some(Ok(crate::WatchItem::Event(e))) => assert_eq!((e.revision, &*e.kv.key), (2, "k1")),
            other => panic!("{other:?}"),
        }
        store.shutdown().await;
    }
}

fn row(rev: Revision, key: &str, create_rev: Revision, prev_rev: Revision, deleted: bool) -> Row {
    Row {
        rev,
        key: Arc::from(key),
        create_rev,
        prev_rev,
        deleted,
        value: Bytes::from(rev.to_string()),
    }
}

#[tokio::test]
async fn interrupted_compaction_is_finished_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let (mut db, _) = LogDb::open(&path).unwrap();
        // k: revisions 1..=30 (each superseding the previous), then a
        // tombstone at 31 and a new create at 32.
        let mut rows = vec![row(1, "k", 1, 0, false)];
        rows.extend((2..=30).map(|r| row(r, "k", 1, r - 1, false)));
        rows.push(row(31, "k", 1, 30, true));
        rows.push(row(32, "k", 32, 0, false));
        db.append(&rows).unwrap();
        // One step of 10 revisions out of 31, then "crash".
        assert_eq!(db.compact_step(31, 0, 10).unwrap(), 10);
    }
    let count = |path: &std::path::Path| -> i64 {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row("SELECT count(*) FROM log", [], |r| r.get(0))
            .unwrap()
    };
    let store = Store::open(&path, config()).unwrap();
    assert_eq!(store.compacted_revision(), 31);
    assert_eq!(store.current_revision(), 32);
    // Waits for the resumed job.
    assert_eq!(store.compact(5).await.unwrap(), 31);
    assert_eq!(count(&path), 1);
    let kv = store.get("k").await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision), (32, 32));
    assert!(matches!(
        store
            .list(ListOptions {
                revision: Some(30),
                ..ListOptions::prefix("")
            })
            .await,
        Err(StoreError::Compacted {
            requested: 30,
            compacted: 31
        })
    ));
}
