//! Behaviour of the embedded store through the public API, in memory and
//! durable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use ks_store::{
    EventKind, ListOptions, Precondition, Revision, Storage, Store, StoreConfig, StoreError,
    WatchItem, WriteOp,
};

/// Runs `f` against an in-memory store and a durable one.
async fn each_store<F, Fut>(config: StoreConfig, f: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f(Store::in_memory(config.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), config);
    f(store.clone()).await;
    store.shutdown().await;
}

/// What a precondition check should answer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Ok,
    AlreadyExists,
    NotFound,
    Conflict,
}

#[tokio::test]
async fn preconditions_table() {
    // (key exists at revision 1?, precondition, delete?, outcome)
    let table = [
        (false, Precondition::None, false, Outcome::Ok),
        (true, Precondition::None, false, Outcome::Ok),
        (false, Precondition::None, true, Outcome::NotFound),
        (true, Precondition::None, true, Outcome::Ok),
        (false, Precondition::MustNotExist, false, Outcome::Ok),
        (
            true,
            Precondition::MustNotExist,
            false,
            Outcome::AlreadyExists,
        ),
        (
            true,
            Precondition::MustNotExist,
            true,
            Outcome::AlreadyExists,
        ),
        (false, Precondition::MustNotExist, true, Outcome::NotFound),
        (false, Precondition::MustExist, false, Outcome::NotFound),
        (true, Precondition::MustExist, false, Outcome::Ok),
        (false, Precondition::MustExist, true, Outcome::NotFound),
        (true, Precondition::MustExist, true, Outcome::Ok),
        (false, Precondition::Revision(1), false, Outcome::NotFound),
        (true, Precondition::Revision(1), false, Outcome::Ok),
        (true, Precondition::Revision(2), false, Outcome::Conflict),
        (true, Precondition::Revision(1), true, Outcome::Ok),
        (true, Precondition::Revision(7), true, Outcome::Conflict),
        (false, Precondition::Revision(1), true, Outcome::NotFound),
    ];
    for (i, &(exists, precondition, is_delete, expected)) in table.iter().enumerate() {
        each_store(config(), |store| async move {
            let key = if exists { "k" } else { "other" };
            create(&store, "k", "v1").await.unwrap();
            let op = if is_delete {
                WriteOp::Delete
            } else {
                put("v2")
            };
            let got = store.write(key, precondition, op).await;
            let outcome = match &got {
                Ok(r) => {
                    assert_eq!(r.revision, 2, "case {i}");
                    Outcome::Ok
                }
                Err(StoreError::AlreadyExists { key: k }) => {
                    assert_eq!(k, key);
                    Outcome::AlreadyExists
                }
                Err(StoreError::NotFound { key: k }) => {
                    assert_eq!(k, key);
                    Outcome::NotFound
                }
                Err(StoreError::Conflict {
                    expected, actual, ..
                }) => {
                    assert_eq!(
                        (*expected, *actual),
                        (
                            match precondition {
                                Precondition::Revision(r) => r,
                                _ => unreachable!(),
                            },
                            1
                        )
                    );
                    Outcome::Conflict
                }
                Err(e) => panic!("case {i}: unexpected {e}"),
            };
            assert_eq!(
                outcome, expected,
                "case {i}: {precondition:?} delete={is_delete} exists={exists}"
            );
            // A failed write consumes no revision.
            let expected_rev = if outcome == Outcome::Ok { 2 } else { 1 };
            assert_eq!(store.current_revision(), expected_rev, "case {i}");
        })
        .await;
    }
}

#[tokio::test]
async fn revisions_and_write_results() {
    each_store(config(), |store| async move {
        assert_eq!(store.current_revision(), 0);
        let a = create(&store, "a", "1").await.unwrap();
        assert_eq!(a.revision, 1);
        assert!(a.prev.is_none());
        let cur = a.current.unwrap();
        assert_eq!((cur.create_revision, cur.mod_revision), (1, 1));

        let b = set(&store, "a", "2").await.unwrap();
        assert_eq!(b.revision, 2);
        assert_eq!(b.prev.as_ref().map(value).as_deref(), Some("1"));
        let cur = b.current.unwrap();
        assert_eq!((cur.create_revision, cur.mod_revision), (1, 2));

        assert!(matches!(
            create(&store, "a", "x").await,
            Err(StoreError::AlreadyExists { .. })
        ));
        let d = delete(&store, "a").await.unwrap();
        assert_eq!(d.revision, 3);
        assert!(d.current.is_none());
        assert_eq!(d.prev.unwrap().mod_revision, 2);
        assert_eq!(store.get("a").await.unwrap(), None);

        // Re-created: a new create revision.
        let e = create(&store, "a", "3").await.unwrap();
        let cur = e.current.unwrap();
        assert_eq!((cur.create_revision, cur.mod_revision), (4, 4));
        assert_eq!(store.get("a").await.unwrap().unwrap(), cur);
        assert_eq!(store.current_revision(), 4);
    })
    .await;
}

#[tokio::test]
async fn encoder_gets_the_revision_and_may_fail_alone() {
    each_store(config(), |store| async move {
        create(&store, "a", "x").await.unwrap();
        let op = WriteOp::Put(Box::new(|rev| Ok(Bytes::from(format!("rv={rev}")))));
        let r = store.write("b", Precondition::None, op).await.unwrap();
        assert_eq!(r.revision, 2);
        assert_eq!(value(&store.get("b").await.unwrap().unwrap()), "rv=2");

        let op = WriteOp::Put(Box::new(|_| Err("bad object".into())));
        match store.write("c", Precondition::None, op).await {
            Err(StoreError::Encode(msg)) => assert_eq!(msg.to_string(), "bad object"),
            other => panic!("{other:?}"),
        }
        let op = WriteOp::Put(Box::new(|_| panic!("encoder bug")));
        assert!(matches!(
            store.write("c", Precondition::None, op).await,
            Err(StoreError::Encode(_))
        ));
        // The writer survived and no revision was used.
        assert_eq!(create(&store, "c", "ok").await.unwrap().revision, 3);
        // The encoder of a failed precondition is never called.
        let op = WriteOp::Put(Box::new(|_| panic!("must not be called")));
        assert!(matches!(
            store.write("c", Precondition::MustNotExist, op).await,
            Err(StoreError::AlreadyExists { .. })
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn preconditions_within_one_batch_see_earlier_writes() {
    // Many writers on the same keys at once: they land in shared batches,
    // and exactly one create of each key wins.
    each_store(config(), |store| async move {
        let mut tasks = Vec::new();
        for i in 0..64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                create(&store, &format!("k{}", i % 8), &i.to_string()).await
            }));
        }
        let mut ok = 0;
        let mut revs = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(r) => {
                    ok += 1;
                    revs.push(r.revision);
                }
                Err(StoreError::AlreadyExists { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(ok, 8);
        revs.sort();
        assert_eq!(revs, (1..=8).collect::<Vec<_>>());
    })
    .await;
}

#[tokio::test]
async fn list_pages_with_filter_and_limit() {
    each_store(config(), |store| async move {
        for i in 0..10 {
            create(&store, &format!("pods/{i:02}"), &i.to_string())
                .await
                .unwrap();
        }
        create(&store, "pods", "not under pods/").await.unwrap();
        create(&store, "podsX", "x").await.unwrap();
        create(&store, "a", "before").await.unwrap();
        let even = |kv: &ks_store::KeyValue| value(kv).parse::<u32>().is_ok_and(|n| n % 2 == 0);
        let mut seen = Vec::new();
        let mut start_after: Option<String> = None;
        let mut revision = None;
        let mut pages = 0;
        loop {
            let page = store
                .list(ListOptions {
                    prefix: "pods/",
                    revision,
                    start_after: start_after.as_deref(),
                    limit: Some(2),
                    filter: Some(&even),
                })
                .await
                .unwrap();
            pages += 1;
            // Writes between pages do not show: every page reads one revision.
            create(&store, &format!("pods/{pages:02}x"), "2")
                .await
                .unwrap();
            revision = Some(page.revision);
            seen.extend(page.items.iter().map(value));
            assert!(page.items.len() <= 2);
            if !page.more {
                break;
            }
            start_after = page.items.last().map(|kv| kv.key.to_string());
        }
        assert_eq!(seen, ["0", "2", "4", "6", "8"]);
        // 3 pages: the third holds "8" and `more` is false although
        // non-matching keys follow it.
        assert_eq!(pages, 3);

        // No limit (None or 0) lists everything; prefix boundaries hold.
        let all = store
            .list(ListOptions {
                limit: Some(0),
                ..ListOptions::prefix("pods/")
            })
            .await
            .unwrap();
        assert_eq!(all.items.len(), 13);
        assert!(!all.more);
        let all = store.list(ListOptions::prefix("")).await.unwrap();
        assert_eq!(all.items.len(), 16);
        assert_eq!(all.revision, store.current_revision());
        // start_after before the prefix starts at the prefix; after it, nothing.
        let p = store
            .list(ListOptions {
                start_after: Some("a"),
                limit: Some(1),
                ..ListOptions::prefix("pods/")
            })
            .await
            .unwrap();
        assert_eq!(&*p.items[0].key, "pods/00");
        assert!(p.more);
        let p = store
            .list(ListOptions {
                start_after: Some("q"),
                ..ListOptions::prefix("pods/")
            })
            .await
            .unwrap();
        assert!(p.items.is_empty() && !p.more);
        // `more` is exact at the end.
        let p = store
            .list(ListOptions {
                start_after: Some("pods/08"),
                limit: Some(1),
                ..ListOptions::prefix("pods/")
            })
            .await
            .unwrap();
        assert_eq!(p.items.len(), 1);
        assert!(!p.more);
    })
    .await;
}

/// Writes a known history and checks every old revision against it.
async fn check_old_revisions(store: &Store) {
    let mut expected = Vec::new(); // state after revision i+1
    let mut state = std::collections::BTreeMap::new();
    let ops: &[(&str, Option<&str>)] = &[
        ("a", Some("1")),
        ("b", Some("1")),
        ("a", Some("2")),
        ("c", Some("1")),
        ("b", None),
        ("a", Some("3")),
        ("b", Some("2")),
        ("c", None),
        ("d", Some("1")),
        ("a", None),
    ];
    let base = store.current_revision();
    for (key, v) in ops {
        match v {
            Some(v) => {
                set(store, key, v).await.unwrap();
                state.insert(key.to_string(), v.to_string());
            }
            None => {
                delete(store, key).await.unwrap();
                state.remove(*key);
            }
        }
        expected.push(state.clone().into_iter().collect::<Vec<_>>());
    }
    for (i, want) in expected.iter().enumerate() {
        let rev = base + i as Revision + 1;
        for page in [1, 2, 100] {
            let (got, at) = list_all(store, "", Some(rev), page).await.unwrap();
            assert_eq!(at, rev);
            assert_eq!(&got, want, "at revision {rev}, pages of {page}");
        }
        let (got, _) = list_all(store, "b", Some(rev), 1).await.unwrap();
        let want_b: Vec<_> = want
            .iter()
            .filter(|(k, _)| k.starts_with('b'))
            .cloned()
            .collect();
        assert_eq!(got, want_b, "prefix b at {rev}");
    }
    let current = store.current_revision();
    match store
        .list(ListOptions {
            revision: Some(current + 1),
            ..ListOptions::prefix("")
        })
        .await
    {
        Err(StoreError::FutureRevision {
            requested,
            current: c,
        }) => assert_eq!((requested, c), (current + 1, current)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn list_at_old_revisions_from_history() {
    check_old_revisions(&Store::in_memory(config())).await;
    let dir = tempfile::tempdir().unwrap();
    check_old_revisions(&open(dir.path(), config())).await;
}

#[tokio::test]
async fn list_at_old_revisions_from_sqlite() {
    // History of 2 events: almost every old read falls back to the log.
    let dir = tempfile::tempdir().unwrap();
    let store = open(
        dir.path(),
        StoreConfig {
            history: 2,
            ..config()
        },
    );
    check_old_revisions(&store).await;
    // After a reopen the history is empty.
    store.shutdown().await;
    drop(store);
    let store = open(dir.path(), config());
    let (got, _) = list_all(&store, "", Some(6), 1).await.unwrap();
    assert_eq!(got, [("a".into(), "3".into()), ("c".into(), "1".into())]);
}

#[tokio::test]
async fn in_memory_history_overflow_compacts() {
    let store = Store::in_memory(StoreConfig {
        history: 3,
        ..config()
    });
    for i in 0..10 {
        set(&store, "k", &i.to_string()).await.unwrap();
    }
    assert_eq!(store.compacted_revision(), 7);
    assert!(matches!(
        store
            .list(ListOptions {
                revision: Some(6),
                ..ListOptions::prefix("")
            })
            .await,
        Err(StoreError::Compacted {
            requested: 6,
            compacted: 7
        })
    ));
    let (got, _) = list_all(&store, "", Some(7), 10).await.unwrap();
    assert_eq!(got, [("k".into(), "6".into())]);
    assert!(matches!(
        store.watch("", Some(6)),
        Err(StoreError::Compacted { .. })
    ));
    let mut w = store.watch("", Some(7)).unwrap();
    assert_eq!(
        drain(&mut w, store.current_revision())
            .await
            .iter()
            .map(|e| e.0)
            .collect::<Vec<_>>(),
        [8, 9, 10]
    );
}

#[tokio::test]
async fn compaction_makes_old_revisions_unavailable() {
    each_store(config(), |store| async move {
        for i in 0..10 {
            set(&store, &format!("k{}", i % 3), &i.to_string()).await.unwrap();
        }
        delete(&store, "k0").await.unwrap(); // 11
        assert_eq!(store.compact(5).await.unwrap(), 5);
        assert_eq!(store.compacted_revision(), 5);
        for at in [0, 1, 4] {
            match store.list(ListOptions { revision: Some(at), ..ListOptions::prefix("") }).await {
                Err(StoreError::Compacted { requested, compacted }) => assert_eq!((requested, compacted), (at, 5)),
                other => panic!("{other:?}"),
            }
            assert!(matches!(store.watch("", Some(at)), Err(StoreError::Compacted { requested, .. }) if requested == at));
        }
        let (got, _) = list_all(&store, "", Some(5), 1).await.unwrap();
        assert_eq!(got, [("k0".into(), "3".into()), ("k1".into(), "4".into()), ("k2".into(), "2".into())]);
        let mut w = store.watch("", Some(5)).unwrap();
        assert_eq!(drain(&mut w, store.current_revision()).await.iter().map(|e| e.0).collect::<Vec<_>>(), (6..=11).collect::<Vec<_>>());
        // Compacting backwards or to the future is capped; past the current
        // revision it compacts to the current one.
        assert_eq!(store.compact(3).await.unwrap(), 5);
        assert_eq!(store.compact(100).await.unwrap(), 11);
        let page = store.list(ListOptions::prefix("")).await.unwrap();
        assert_eq!(page.items.len(), 2);
        let page = store.list(ListOptions { revision: Some(11), ..ListOptions::prefix("") }).await.unwrap();
        assert_eq!(page.items.len(), 2);
        let mut w = store.watch("", Some(11)).unwrap();
        set(&store, "k9", "new").await.unwrap();
        assert_eq!(drain(&mut w, store.current_revision()).await.iter().map(|e| e.0).collect::<Vec<_>>(), [12]);
    })
    .await;
}

#[tokio::test]
async fn watch_replays_then_follows_in_order() {
    each_store(config(), |store| async move {
        create(&store, "ns/a", "1").await.unwrap(); // 1
        create(&store, "other", "1").await.unwrap(); // 2
        set(&store, "ns/a", "2").await.unwrap(); // 3
        create(&store, "ns/b", "1").await.unwrap(); // 4
        delete(&store, "ns/a").await.unwrap(); // 5

        let mut from0 = store.watch("ns/", Some(0)).unwrap();
        let mut from3 = store.watch("ns/", Some(3)).unwrap();
        let mut live = store.watch("ns/", None).unwrap();
        assert_eq!(live.progress(), 5);
        set(&store, "other", "2").await.unwrap(); // 6
        set(&store, "ns/b", "2").await.unwrap(); // 7

        use EventKind::*;
        let all = drain(&mut from0, store.current_revision()).await;
        assert_eq!(
            all,
            [
                (1, Created, "ns/a".into(), "1".into()),
                (3, Modified, "ns/a".into(), "2".into()),
                (4, Created, "ns/b".into(), "1".into()),
                (5, Deleted, "ns/a".into(), "2".into()),
                (7, Modified, "ns/b".into(), "2".into()),
            ]
        );
        assert_eq!(from0.progress(), 7);
        assert_eq!(
            drain(&mut from3, 7)
                .await
                .iter()
                .map(|e| e.0)
                .collect::<Vec<_>>(),
            [4, 5, 7]
        );
        assert_eq!(
            drain(&mut live, 7)
                .await
                .iter()
                .map(|e| e.0)
                .collect::<Vec<_>>(),
            [7]
        );

        // Event details: prev values and revisions.
        let mut w = store.watch("ns/", Some(2)).unwrap();
        let Some(Ok(WatchItem::Event(e))) = next_item(&mut w).await else {
            panic!()
        };
        assert_eq!((e.revision, e.kind), (3, Modified));
        assert_eq!((e.kv.create_revision, e.kv.mod_revision), (1, 3));
        let prev = e.prev.as_ref().unwrap();
        assert_eq!((value(prev).as_str(), prev.mod_revision), ("1", 1));
        next_item(&mut w).await; // 4
        let Some(Ok(WatchItem::Event(e))) = next_item(&mut w).await else {
            panic!()
        };
        assert_eq!((e.revision, e.kind), (5, Deleted));
        assert_eq!((e.kv.create_revision, e.kv.mod_revision), (1, 3));
        assert_eq!(e.prev.as_ref(), Some(&e.kv));

        // Progress counts filtered events and idle time.
        let mut w = store.watch("ns/", Some(7)).unwrap();
        set(&store, "other", "3").await.unwrap(); // 8
        assert_eq!(w.progress(), 7, "an unread event holds progress back");
        assert!(drain(&mut w, store.current_revision()).await.is_empty());
        assert_eq!(w.progress(), 8);

        // Errors.
        match store.watch("", Some(9)) {
            Err(StoreError::FutureRevision {
                requested: 9,
                current: 8,
            }) => {}
            other => panic!("{other:?}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_replays_from_sqlite_when_history_is_short() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(
        dir.path(),
        StoreConfig {
            history: 2,
            ..config()
        },
    );
    // 3,000 writes from 14 writers (so they commit in batches); each value
    // is its own revision. expected[i] = (revision i + 1, key).
    let mut tasks = Vec::new();
    for t in 0..14 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("k/{}", t % 7);
            let mut revs = Vec::new();
            for _ in 0..(3000 / 14 + usize::from(t < 3000 % 14)) {
                let op = WriteOp::Put(Box::new(|rev| Ok(Bytes::from(rev.to_string()))));
                revs.push((
                    store
                        .write(&key, Precondition::None, op)
                        .await
                        .unwrap()
                        .revision,
                    key.clone(),
                ));
            }
            revs
        }));
    }
    let mut expected = Vec::new();
    for t in tasks {
        expected.extend(t.await.unwrap());
    }
    expected.sort();
    assert_eq!(expected.len(), 3000);
    assert!(
        expected
            .iter()
            .enumerate()
            .all(|(i, e)| e.0 == i as Revision + 1)
    );

    // Replay crosses several SQLite chunks, then the history, then live.
    let mut w = store.watch("k/", Some(10)).unwrap();
    set(&store, "k/live", "x").await.unwrap();
    let got = drain(&mut w, store.current_revision()).await;
    assert_eq!(got.len(), 2991);
    for (g, e) in got.iter().zip(&expected[10..]) {
        assert_eq!((g.0, &g.2, &g.3), (e.0, &e.1, &e.0.to_string()));
    }
    assert_eq!(got.last().unwrap().0, 3001);

    // Prev values come from the log too.
    let (rev, key) = expected[100].clone();
    let prev = expected[..100]
        .iter()
        .rev()
        .find(|e| e.1 == key)
        .map(|e| e.0);
    let mut w = store.watch(&key, Some(rev - 1)).unwrap();
    let Some(Ok(WatchItem::Event(e))) = next_item(&mut w).await else {
        panic!()
    };
    assert_eq!(e.revision, rev);
    assert_eq!(e.prev.as_ref().map(|p| p.mod_revision), prev);
    assert_eq!(e.prev.as_ref().map(value), prev.map(|p| p.to_string()));

    // Compaction is checked against the log's own record.
    store.compact(50).await.unwrap();
    assert!(matches!(
        store.watch("k/", Some(49)),
        Err(StoreError::Compacted { .. })
    ));
    let mut w = store.watch("k/", Some(50)).unwrap();
    assert_eq!(drain(&mut w, store.current_revision()).await.len(), 2951);

    // After a reopen every replay comes from the log.
    drop(w);
    store.shutdown().await;
    drop(store);
    let store = open(dir.path(), config());
    let want: Vec<Revision> = expected[2990..]
        .iter()
        .filter(|e| e.1 == "k/1")
        .map(|e| e.0)
        .collect();
    let mut w = store.watch("k/1", Some(2990)).unwrap();
    let got: Vec<Revision> = drain(&mut w, store.current_revision())
        .await
        .iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn lagging_watcher_is_cut_off() {
    each_store(
        StoreConfig {
            watch_buffer: 4,
            ..config()
        },
        |store| async move {
            let mut w = store.watch("", None).unwrap();
            set(&store, "k", "0").await.unwrap();
            let Some(Ok(WatchItem::Event(e))) = next_item(&mut w).await else {
                panic!()
            };
            assert_eq!(e.revision, 1);
            for i in 0..10 {
                set(&store, "k", &i.to_string()).await.unwrap();
            }
            match next_item(&mut w).await {
                Some(Err(StoreError::Compacted { requested, .. })) => assert_eq!(requested, 1),
                other => panic!("{other:?}"),
            }
            assert!(next_item(&mut w).await.is_none());
            // Restarting from the reported revision works.
            let mut w = store.watch("", Some(1)).unwrap();
            assert_eq!(drain(&mut w, store.current_revision()).await.len(), 10);
        },
    )
    .await;
}

#[tokio::test]
async fn shutdown_ends_watches_and_refuses_writes() {
    each_store(config(), |store| async move {
        let mut w = store.watch("", None).unwrap();
        let writer = {
            let store = store.clone();
            tokio::spawn(async move { set(&store, "k", "v").await })
        };
        writer.await.unwrap().unwrap();
        store.shutdown().await;
        let Some(Ok(WatchItem::Event(e))) = next_item(&mut w).await else {
            panic!()
        };
        assert_eq!(e.revision, 1);
        assert!(next_item(&mut w).await.is_none());
        assert!(matches!(
            set(&store, "k", "w").await,
            Err(StoreError::Closed)
        ));
        assert!(matches!(store.watch("", None), Err(StoreError::Closed)));
        assert!(matches!(store.compact(1).await, Err(StoreError::Closed)));
        // Reads of the in-memory state still work; shutting down twice is fine.
        assert_eq!(value(&store.get("k").await.unwrap().unwrap()), "v");
        store.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_commits_queued_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), config());
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            set(&store, &format!("k{i}"), "v").await
        }));
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    store.shutdown().await;
    let mut acked = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => acked.push(r.revision),
            Err(StoreError::Closed) => {}
            Err(e) => panic!("{e}"),
        }
    }
    drop(store);
    let store = open(dir.path(), config());
    assert_eq!(store.current_revision(), acked.len() as Revision);
}

#[tokio::test]
async fn durable_store_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked = std::collections::BTreeMap::new();
    {
        let store = open(dir.path(), config());
        for i in 0..50 {
            let key = format!("k{:02}", i % 20);
            let r = set(&store, &key, &i.to_string()).await.unwrap();
            acked.insert(key, (i.to_string(), r.revision));
        }
        for i in 0..5 {
            let key = format!("k{i:02}");
            delete(&store, &key).await.unwrap();
            acked.remove(&key);
        }
        assert_eq!(store.current_revision(), 55);
        // Dropped without shutdown: the last handle closes the database.
    }
    let store = open(dir.path(), config());
    assert_eq!(store.current_revision(), 55);
    let page = store.list(ListOptions::prefix("")).await.unwrap();
    let got: Vec<_> = page
        .items
        .iter()
        .map(|kv| (kv.key.to_string(), (value(kv), kv.mod_revision)))
        .collect();
    assert_eq!(got, acked.into_iter().collect::<Vec<_>>());
    let k5 = store.get("k05").await.unwrap().unwrap();
    assert_eq!((k5.create_revision, k5.mod_revision), (6, 46));
    assert_eq!(set(&store, "new", "x").await.unwrap().revision, 56);
}

#[tokio::test]
async fn revisions_never_go_back_after_compaction_removed_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), config());
        create(&store, "a", "1").await.unwrap();
        set(&store, "a", "2").await.unwrap();
        delete(&store, "a").await.unwrap(); // 3: the last row is a tombstone
        assert_eq!(store.compact(3).await.unwrap(), 3);
        store.shutdown().await;
    }
    let store = open(dir.path(), config());
    // The log is empty, yet the revision resumes from the compacted one.
    assert_eq!(store.current_revision(), 3);
    assert_eq!(store.compacted_revision(), 3);
    assert!(
        store
            .list(ListOptions::prefix(""))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(create(&store, "a", "3").await.unwrap().revision, 4);
    let conn = rusqlite_count(&dir.path().join("store.db"));
    assert_eq!(conn, 1, "only the new row is left in the log");
}

/// Rows in the log, read with a plain SQLite connection while the store is
/// open (the store locks its lock file, not the database).
fn rusqlite_count(path: &std::path::Path) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row("SELECT count(*) FROM log", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn open_refuses_foreign_and_locked_files() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
    match Store::open(&garbage, config()) {
        Err(StoreError::Backend(msg)) => assert!(msg.contains("garbage.db"), "{msg}"),
        other => panic!("{other:?}"),
    }

    let path = dir.path().join("store.db");
    let store = Store::open(&path, config()).unwrap();
    create(&store, "a", "1").await.unwrap();
    match Store::open(&path, config()) {
        Err(StoreError::Backend(msg)) => {
            assert!(msg.contains("store.db") && msg.contains("in use"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
    store.shutdown().await;
    // Released by shutdown (the handle is still alive).
    let again = Store::open(&path, config()).unwrap();
    assert_eq!(again.current_revision(), 1);
    drop(again);
    drop(store);

    // A missing directory is an error, not a panic.
    assert!(matches!(
        Store::open(&dir.path().join("no/such/dir/x.db"), config()),
        Err(StoreError::Backend(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_read_modify_write() {
    each_store(config(), |store| async move {
        create(&store, "counter", "0").await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut conflicts, mut attempts) = (0u32, 0u32, 0u32);
                for _ in 0..25 {
                    attempts += 1;
                    let kv = store.get("counter").await.unwrap().unwrap();
                    let n: u32 = value(&kv).parse().unwrap();
                    match store
                        .write(
                            "counter",
                            Precondition::Revision(kv.mod_revision),
                            put(&(n + 1).to_string()),
                        )
                        .await
                    {
                        Ok(_) => ok += 1,
                        Err(StoreError::Conflict { .. }) => conflicts += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
                (ok, conflicts, attempts)
            }));
        }
        let (mut ok, mut conflicts, mut attempts) = (0, 0, 0);
        for t in tasks {
            let (o, c, a) = t.await.unwrap();
            ok += o;
            conflicts += c;
            attempts += a;
        }
        assert_eq!(ok + conflicts, attempts);
        let kv = store.get("counter").await.unwrap().unwrap();
        assert_eq!(value(&kv), ok.to_string());
        assert_eq!(kv.mod_revision, 1 + ok as Revision);
        assert!(ok >= 25, "at least one writer per round wins");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_watchers_get_one_event_quickly() {
    let store = Store::in_memory(config());
    let barrier = Arc::new(tokio::sync::Barrier::new(1001));
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let mut w = store
            .watch(if i % 2 == 0 { "" } else { "k" }, None)
            .unwrap();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            match w.next().await {
                Some(Ok(WatchItem::Event(e))) => (Instant::now(), e.revision),
                other => panic!("{other:?}"),
            }
        }));
    }
    barrier.wait().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let start = Instant::now();
    set(&store, "k", "v").await.unwrap();
    let mut latest = start;
    for t in tasks {
        let (at, rev) = t.await.unwrap();
        assert_eq!(rev, 1);
        latest = latest.max(at);
    }
    let elapsed = latest - start;
    eprintln!("1000 watchers received the event within {elapsed:?}");
    // Generous for a debug build on a loaded machine; see the bench for the figure.
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
}

#[tokio::test]
async fn scheduled_compaction_keeps_the_retained_revisions() {
    let config = StoreConfig {
        compaction_interval: Duration::from_millis(20),
        compaction_retain: 3,
        ..StoreConfig::default()
    };
    each_store(config, |store| async move {
        for i in 0..10 {
            set(&store, "k", &i.to_string()).await.unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while store.compacted_revision() < 7 {
            assert!(Instant::now() < deadline, "no scheduled compaction");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(store.compacted_revision(), 7);
        let (got, _) = list_all(&store, "", Some(7), 10).await.unwrap();
        assert_eq!(got, [("k".into(), "6".into())]);
    })
    .await;
}

#[test]
fn works_without_a_tokio_runtime() {
    // The futures need no tokio runtime (a minimal executor drives them).
    let dir = tempfile::tempdir().unwrap();
    let store = open(
        dir.path(),
        StoreConfig {
            history: 1,
            ..config()
        },
    );
    block_on(async {
        for i in 0..5 {
            set(&store, "k", &i.to_string()).await.unwrap();
        }
        let (got, _) = list_all(&store, "", Some(2), 10).await.unwrap();
        assert_eq!(got, [("k".into(), "1".into())]);
        let mut w = store.watch("", Some(1)).unwrap();
        let Some(Ok(WatchItem::Event(e))) = w.next().await else {
            panic!()
        };
        assert_eq!(e.revision, 2);
        store.shutdown().await;
    });
}

/// A minimal executor: polls on a thread-parking waker.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

#[tokio::test]
async fn extreme_configs_do_not_panic() {
    let config = StoreConfig {
        history: 0,
        compaction_interval: Duration::MAX,
        compaction_retain: u64::MAX,
        max_batch: 0,
        watch_buffer: 0,
    };
    each_store(config, |store| async move {
        let mut w = store.watch("", None).unwrap();
        for i in 0..5 {
            set(&store, "k", &i.to_string()).await.unwrap();
        }
        let old = store
            .list(ListOptions {
                revision: Some(2),
                ..ListOptions::prefix("")
            })
            .await;
        if store.path().is_some() {
            // Read from the log.
            assert_eq!(value(&old.unwrap().items[0]), "1");
        } else {
            // Nothing is kept in memory: everything before now is compacted.
            assert!(matches!(
                old,
                Err(StoreError::Compacted {
                    requested: 2,
                    compacted: 5
                })
            ));
        }
        // A one-event buffer: the watcher fell behind.
        assert!(matches!(
            next_item(&mut w).await,
            Some(Err(StoreError::Compacted { .. }))
        ));
        assert!(matches!(
            store.watch("", Some(-1)),
            Err(StoreError::Compacted { .. })
        ));
        assert_eq!(
            store.compact(i64::MIN).await.unwrap(),
            store.compacted_revision()
        );
    })
    .await;
}
