//! The store against a reference model: a plain list of every write.
//!
//! Random sequences of creates, updates (blind and conditional), deletes,
//! compactions and (durable) reopens on a small key space. After each
//! sequence: every revision from the compacted one to the latest lists
//! exactly the model's state at that revision (paged, and with a filter),
//! older ones fail with `Compacted`, and for every start revision `r0`,
//! a list at `r0` plus a watch after `r0` rebuilds exactly the latest state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ks_store::{
    Event, EventKind, ListOptions, Precondition, Revision, Storage, Store, StoreConfig, StoreError,
    WatchItem,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Create(u8, u8),
    Put(u8, u8),
    /// Update with `Precondition::Revision`: the right one, or a stale one.
    UpdateAt(u8, u8, bool),
    Delete(u8),
    /// Compact to this many revisions behind the current one.
    Compact(u8),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..6u8, any::<u8>()).prop_map(|(k, v)| Op::Create(k, v)),
        4 => (0..6u8, any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
        3 => (0..6u8, any::<u8>(), any::<bool>()).prop_map(|(k, v, s)| Op::UpdateAt(k, v, s)),
        3 => (0..6u8).prop_map(Op::Delete),
        1 => (0..8u8).prop_map(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

fn key(k: u8) -> String {
    // Two prefixes, and a key ("a") that is a prefix of the others' prefix.
    match k {
        0 => "a".to_string(),
        k if k % 2 == 0 => format!("a/{k}"),
        k => format!("b/{k}"),
    }
}

/// (value, create revision, mod revision) by key.
type State = BTreeMap<String, (String, Revision, Revision)>;

#[derive(Default)]
struct Model {
    /// Write i has revision i + 1.
    writes: Vec<(String, Option<String>)>,
    compacted: Revision,
}

impl Model {
    fn current(&self) -> Revision {
        self.writes.len() as Revision
    }

    fn state_at(&self, at: Revision) -> State {
        let mut state = State::new();
        for (i, (key, value)) in self.writes.iter().enumerate().take(at as usize) {
            let rev = i as Revision + 1;
            match value {
                Some(v) => {
                    let create = state.get(key).map_or(rev, |e| e.1);
                    state.insert(key.clone(), (v.clone(), create, rev));
                }
                None => {
                    state.remove(key);
                }
            }
        }
        state
    }
}

enum Backend {
    Memory(usize),
    Durable(usize),
}

fn run(ops: Vec<Op>, backend: Backend) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let (history, durable) = match backend {
            Backend::Memory(h) => (h, false),
            Backend::Durable(h) => (h, true),
        };
        let config = StoreConfig {
            history,
            ..config()
        };
        let reopen = || open(dir.path(), config.clone());
        let mut store = if durable {
            reopen()
        } else {
            Store::in_memory(config.clone())
        };
        let mut model = Model::default();
        for op in ops {
            let latest = model.state_at(model.current());
            let next = model.current() + 1;
            let (k, result, expected, write) = match op {
                Op::Create(k, v) => {
                    let exists = latest.contains_key(&key(k));
                    let r = create(&store, &key(k), &v.to_string()).await;
                    (
                        k,
                        r,
                        if exists { Err("AlreadyExists") } else { Ok(()) },
                        Some(v.to_string()),
                    )
                }
                Op::Put(k, v) => {
                    let r = set(&store, &key(k), &v.to_string()).await;
                    (k, r, Ok(()), Some(v.to_string()))
                }
                Op::UpdateAt(k, v, stale) => {
                    let at = latest.get(&key(k)).map_or(1, |e| e.2) + if stale { 1000 } else { 0 };
                    let r = store
                        .write(&key(k), Precondition::Revision(at), put(&v.to_string()))
                        .await;
                    let expected = match latest.get(&key(k)) {
                        None => Err("NotFound"),
                        Some(_) if stale => Err("Conflict"),
                        Some(_) => Ok(()),
                    };
                    (k, r, expected, Some(v.to_string()))
                }
                Op::Delete(k) => {
                    let exists = latest.contains_key(&key(k));
                    let r = delete(&store, &key(k)).await;
                    (k, r, if exists { Ok(()) } else { Err("NotFound") }, None)
                }
                Op::Compact(back) => {
                    let target = model.current() - Revision::from(back);
                    let got = store.compact(target).await.unwrap();
                    model.compacted = model.compacted.max(target.min(model.current()));
                    if durable {
                        prop_assert_eq!(got, model.compacted);
                    }
                    continue;
                }
                Op::Reopen => {
                    if durable {
                        store.shutdown().await;
                        drop(store);
                        store = reopen();
                        prop_assert_eq!(store.current_revision(), model.current());
                    }
                    continue;
                }
            };
            match (result, expected) {
                (Ok(r), Ok(())) => {
                    prop_assert_eq!(r.revision, next);
                    model.writes.push((key(k), write));
                }
                (Err(e), Err(name)) => {
                    let ok = matches!(
                        (&e, name),
                        (StoreError::AlreadyExists { .. }, "AlreadyExists")
                            | (StoreError::NotFound { .. }, "NotFound")
                            | (StoreError::Conflict { .. }, "Conflict")
                    );
                    prop_assert!(ok, "got {e}, expected {name}");
                }
                (got, want) => prop_assert!(false, "got {got:?}, expected {want:?}"),
            }
        }
        check(&store, &model, durable, history).await
    })
}

async fn check(
    store: &Store,
    model: &Model,
    durable: bool,
    history: usize,
) -> Result<(), TestCaseError> {
    let current = model.current();
    prop_assert_eq!(store.current_revision(), current);
    let compacted = store.compacted_revision();
    if durable {
        prop_assert_eq!(compacted, model.compacted);
    } else {
        // In memory, history beyond its bound is compacted too.
        let overflow = if current > history as Revision {
            current - history as Revision
        } else {
            0
        };
        prop_assert_eq!(compacted, model.compacted.max(overflow));
    }
    for at in compacted..=current {
        let want = model.state_at(at);
        let (got, read_at) = list_all(store, "", Some(at), 2).await.unwrap();
        prop_assert_eq!(read_at, at);
        let want_pairs: Vec<_> = want.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect();
        prop_assert_eq!(got, want_pairs, "list at {}", at);
        // Full key values, and a filter with a limit.
        let even = |kv: &ks_store::KeyValue| value(kv).parse::<u32>().is_ok_and(|n| n % 2 == 0);
        let mut got = Vec::new();
        let mut start_after: Option<String> = None;
        loop {
            let page = store
                .list(ListOptions {
                    prefix: "a",
                    revision: Some(at),
                    start_after: start_after.as_deref(),
                    limit: Some(1),
                    filter: Some(&even),
                })
                .await
                .unwrap();
            got.extend(page.items.iter().map(|kv| {
                (
                    kv.key.to_string(),
                    (value(kv), kv.create_revision, kv.mod_revision),
                )
            }));
            if !page.more {
                break;
            }
            start_after = page.items.last().map(|kv| kv.key.to_string());
        }
        let want_even: Vec<_> = want
            .iter()
            .filter(|(k, v)| k.starts_with('a') && v.0.parse::<u32>().is_ok_and(|n| n % 2 == 0))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        prop_assert_eq!(got, want_even, "filtered list at {}", at);
        // Unfiltered pages count what follows them.
        let total = want.keys().filter(|k| k.starts_with('a')).count() as u64;
        let mut seen = 0u64;
        let mut start_after: Option<String> = None;
        loop {
            let page = store
                .list(ListOptions {
                    prefix: "a",
                    revision: Some(at),
                    start_after: start_after.as_deref(),
                    limit: Some(2),
                    filter: None,
                })
                .await
                .unwrap();
            seen += page.items.len() as u64;
            let expected = (seen < total).then_some(total - seen);
            prop_assert_eq!(
                page.remaining,
                expected,
                "remaining at {} after {}",
                at,
                seen
            );
            if !page.more {
                break;
            }
            start_after = page.items.last().map(|kv| kv.key.to_string());
        }
    }
    for at in 0..compacted {
        let r = store
            .list(ListOptions {
                revision: Some(at),
                ..ListOptions::prefix("")
            })
            .await;
        let is_compacted = matches!(r, Err(StoreError::Compacted { .. }));
        prop_assert!(is_compacted, "list at {} < {}: {:?}", at, compacted, r);
        let compacted_watch =
            matches!(store.watch("", Some(at)), Err(StoreError::Compacted { .. }));
        prop_assert!(compacted_watch, "watch at {}", at);
    }
    let r = store
        .list(ListOptions {
            revision: Some(current + 1),
            ..ListOptions::prefix("")
        })
        .await;
    let future = matches!(r, Err(StoreError::FutureRevision { .. }));
    prop_assert!(future, "list at {}", current + 1);

    // List at r0 + watch after r0 = the latest state.
    let latest = model.state_at(current);
    for prefix in ["a", "b/", ""] {
        let want: State = latest
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for r0 in compacted..=current {
            let (items, _) = list_all(store, prefix, Some(r0), 3).await.unwrap();
            let mut state: BTreeMap<String, String> = items.into_iter().collect();
            let mut watch = store.watch(prefix, Some(r0)).unwrap();
            let mut last = r0;
            for event in catch_up(&mut watch, current).await {
                prop_assert!(event.revision > last, "events out of order");
                last = event.revision;
                let key = event.kv.key.to_string();
                prop_assert!(key.starts_with(prefix));
                let before = state.get(&key).cloned();
                match event.kind {
                    EventKind::Created => {
                        prop_assert!(before.is_none());
                        prop_assert!(event.prev.is_none());
                        state.insert(key, value(&event.kv));
                    }
                    EventKind::Modified => {
                        prop_assert_eq!(event.prev.as_ref().map(value), before);
                        prop_assert_eq!(event.kv.mod_revision, event.revision);
                        state.insert(key, value(&event.kv));
                    }
                    EventKind::Deleted => {
                        prop_assert_eq!(Some(value(&event.kv)), before);
                        state.remove(&key);
                    }
                }
            }
            prop_assert_eq!(watch.progress(), current);
            let want_values: BTreeMap<_, _> =
                want.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect();
            prop_assert_eq!(state, want_values, "list({:?} at {}) + watch", prefix, r0);
        }
    }
    Ok(())
}

/// Every event the watch has up to `current`.
async fn catch_up(watch: &mut ks_store::WatchStream, current: Revision) -> Vec<Arc<Event>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_millis(1), watch.next()).await {
            Ok(Some(Ok(WatchItem::Event(e)))) => out.push(e),
            Ok(other) => panic!("watch ended: {other:?}"),
            Err(_) => {
                // Idle: nothing left to replay (next() is cancel-safe).
                if watch.progress() >= current {
                    return out;
                }
                assert!(
                    Instant::now() < deadline,
                    "watch stuck at {}",
                    watch.progress()
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn prop_memory_store_matches_model(ops in prop::collection::vec(op(), 1..40)) {
        run(ops, Backend::Memory(100_000))?;
    }

    #[test]
    fn prop_memory_store_with_short_history_matches_model(ops in prop::collection::vec(op(), 1..40)) {
        run(ops, Backend::Memory(5))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn prop_durable_store_matches_model(ops in prop::collection::vec(op(), 1..40)) {
        // A history of 3: most old reads and replays go to SQLite.
        run(ops, Backend::Durable(3))?;
    }
}
