//! Durability under SIGKILL: a child process (this test binary, re-run with
//! `KS_STORE_CRASH_CHILD` set) writes as fast as it can from several tasks
//! and prints every acknowledged write; the parent kills it mid-stream,
//! reopens the database and finds every acknowledged write.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use ks_store::{ListOptions, Revision, Storage, Store};

const CHILD_ENV: &str = "KS_STORE_CRASH_CHILD";
const TEST_NAME: &str = "sigkill_loses_no_acknowledged_write";

#[test]
fn sigkill_loses_no_acknowledged_write() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&path));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    for round in 0..2 {
        let acked = run_child_and_kill(&db, round);
        let store = Store::open(&db, config()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let max_acked = acked.values().map(|(rev, _)| *rev).max().unwrap();
            assert!(store.current_revision() >= max_acked);
            let page = store.list(ListOptions::prefix("")).await.unwrap();
            let stored: BTreeMap<String, (Revision, String)> = page
                .items
                .iter()
                .map(|kv| (kv.key.to_string(), (kv.mod_revision, value(kv))))
                .collect();
            for (key, (rev, v)) in &acked {
                let (stored_rev, stored_value) = stored
                    .get(key)
                    .unwrap_or_else(|| panic!("lost {key}@{rev}"));
                if key.starts_with("create/") {
                    assert_eq!((stored_rev, stored_value), (rev, v), "{key}");
                } else {
                    // Updated keys: a later, unacknowledged update may have landed.
                    assert!(
                        stored_rev >= rev,
                        "{key}: stored {stored_rev} < acked {rev}"
                    );
                }
            }
            // Revisions go on from where the log ends.
            let next = set(&store, "after-crash", "x").await.unwrap().revision;
            assert_eq!(next, store.current_revision());
            assert!(next > max_acked);
            eprintln!(
                "round {round}: {} acknowledged writes survived SIGKILL",
                acked.len()
            );
        });
        // Dropping the last handle closes the database (and waits for it).
        drop(store);
    }
}

/// Runs the child until it has acknowledged a few hundred writes, kills it
/// with SIGKILL, and returns every write it acknowledged: key -> (revision, value).
fn run_child_and_kill(db: &Path, round: u32) -> BTreeMap<String, (Revision, String)> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, db)
        .env("KS_STORE_CRASH_ROUND", round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = BTreeMap::new();
    let mut killed = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let mut parts = line.split_whitespace();
        if parts.next() != Some("ack") {
            continue;
        }
        let (Some(key), Some(rev), Some(v)) = (parts.next(), parts.next(), parts.next()) else {
            // A line cut by the kill was never fully acknowledged to us.
            continue;
        };
        let Ok(rev) = rev.parse::<Revision>() else {
            continue;
        };
        let entry = acked.entry(key.to_string()).or_insert((0, String::new()));
        if rev > entry.0 {
            *entry = (rev, v.to_string());
        }
        if !killed && (acked.len() >= 400 || Instant::now() > deadline) {
            child.kill().unwrap(); // SIGKILL
            killed = true;
        }
    }
    let status = child.wait().unwrap();
    assert!(killed, "the child exited by itself: {status:?}");
    assert!(
        acked.len() >= 100,
        "too few writes acknowledged: {}",
        acked.len()
    );
    acked
}

/// The child: 8 tasks creating fresh keys and updating shared ones, each
/// acknowledged write printed (and flushed) as `ack KEY REVISION VALUE`.
fn child(db: &Path) {
    let round = std::env::var("KS_STORE_CRASH_ROUND").unwrap_or_default();
    let store = Store::open(db, config()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut tasks = Vec::new();
        for task in 0..8 {
            let store = store.clone();
            let round = round.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..1_000_000u64 {
                    let (key, result) = if i % 4 == 3 {
                        let key = format!("update/{task}");
                        let r = set(&store, &key, &format!("{round}-{i}")).await;
                        (key, r)
                    } else {
                        let key = format!("create/{round}/{task}/{i}");
                        let r = create(&store, &key, &format!("{round}-{i}")).await;
                        (key, r)
                    };
                    let r = result.unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {key} {} {round}-{i}", r.revision).unwrap();
                    out.flush().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}
