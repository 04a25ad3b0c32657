//! Benchmarks of the embedded store.
//!
//! Workloads (durable stores live in a temporary directory on the bench
//! machine's disk, `synchronous = FULL`):
//! - `create/durable/1`: one writer creating fresh keys (256-byte values)
//!   one after another: every create waits for its own fsync.
//! - `create/durable/16`: 16 concurrent writers creating fresh keys: group
//!   commit shares each fsync among the writes queued behind it.
//! - `create/memory/1`: the same as the first, in memory (the writer thread
//!   round trip without SQLite).
//! - `get`: a get of a random key among 10,000.
//! - `list/10000`: a list of a prefix holding 10,000 keys (one snapshot).
//! - `list/10000-old-revision-paged`: the same at a revision 1,000 writes
//!   old, in pages of 500 (history undo once, then the snapshot cache).
//!
//! Then, outside criterion (printed to stderr):
//! - open of a durable store holding 100,000 keys (512-byte values), in a
//!   fresh child process: wall time and the process RSS (VmRSS / VmHWM from
//!   /proc/self/status);
//! - fan-out: time until 1,000 watchers have each received one event.
//!
//! Run with `cargo bench -p ks-store --bench store` (everything), or with a
//! criterion filter (`-- create/durable`), or `-- figures` for the last two.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput};
use ks_store::{ListOptions, Precondition, Storage, Store, StoreConfig, WatchItem, WriteOp};

const OPEN_CHILD_ENV: &str = "KS_STORE_BENCH_OPEN";

fn config() -> StoreConfig {
    StoreConfig {
        compaction_interval: Duration::ZERO,
        ..StoreConfig::default()
    }
}

fn value(len: usize) -> Bytes {
    Bytes::from(vec![b'x'; len])
}

fn put(v: Bytes) -> WriteOp {
    WriteOp::Put(Box::new(move |_| Ok(v)))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Polls a future that is ready at once (get, list at the latest revision).
fn now<F: std::future::Future>(f: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(f).poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("not ready"),
    }
}

fn bench_creates(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("create");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    let dir = tempfile::tempdir().unwrap();
    let durable = Store::open(&dir.path().join("bench.db"), config()).unwrap();
    let memory = Store::in_memory(config());
    let counter = Arc::new(AtomicU64::new(0));
    for (name, store, writers) in [
        ("durable", &durable, 1usize),
        ("durable", &durable, 16),
        ("memory", &memory, 1),
        ("memory", &memory, 16),
    ] {
        group.bench_with_input(BenchmarkId::new(name, writers), &writers, |b, &writers| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                rt.block_on(async {
                    let mut tasks = Vec::new();
                    for w in 0..writers as u64 {
                        let store = store.clone();
                        let counter = counter.clone();
                        let n = iters / writers as u64 + u64::from(w < iters % writers as u64);
                        tasks.push(tokio::spawn(async move {
                            for _ in 0..n {
                                let key =
                                    format!("bench/{}", counter.fetch_add(1, Ordering::Relaxed));
                                store
                                    .write(&key, Precondition::MustNotExist, put(value(256)))
                                    .await
                                    .unwrap();
                            }
                        }));
                    }
                    for t in tasks {
                        t.await.unwrap();
                    }
                });
                start.elapsed()
            });
        });
    }
    group.finish();
    drop(durable);
}

fn bench_reads(c: &mut Criterion) {
    let rt = runtime();
    let store = Store::in_memory(config());
    rt.block_on(async {
        let mut tasks = Vec::new();
        for t in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in (t..10_000).step_by(16) {
                    store
                        .write(&format!("pods/{i:05}"), Precondition::None, put(value(512)))
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        for i in 0..1000 {
            store
                .write(
                    &format!("pods/{:05}", i * 7),
                    Precondition::None,
                    put(value(512)),
                )
                .await
                .unwrap();
        }
    });
    let mut group = c.benchmark_group("read");
    let mut i = 0u64;
    group.bench_function("get", |b| {
        b.iter(|| {
            i = (i + 7919) % 10_000;
            black_box(now(store.get(&format!("pods/{i:05}"))).unwrap())
        })
    });
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("list/10000", |b| {
        b.iter(|| {
            let page = now(store.list(ListOptions::prefix("pods/"))).unwrap();
            assert_eq!(page.items.len(), 10_000);
            black_box(page)
        })
    });
    let old = store.current_revision() - 1000;
    group.bench_function("list/10000-old-revision-paged", |b| {
        b.iter(|| {
            let mut start_after: Option<Arc<str>> = None;
            let mut n = 0;
            loop {
                let page = rt
                    .block_on(store.list(ListOptions {
                        prefix: "pods/",
                        revision: Some(old),
                        start_after: start_after.as_deref(),
                        limit: Some(500),
                        filter: None,
                    }))
                    .unwrap();
                n += page.items.len();
                if !page.more {
                    break;
                }
                start_after = page.items.last().map(|kv| kv.key.clone());
            }
            assert_eq!(n, 10_000);
        })
    });
    group.finish();
}

/// Builds a 100,000-key database, then opens it in a fresh process.
fn open_figures() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.db");
    let rt = runtime();
    let started = Instant::now();
    {
        let store = Store::open(&path, config()).unwrap();
        rt.block_on(async {
            let mut tasks = Vec::new();
            for t in 0..256 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    for i in (t..100_000).step_by(256) {
                        let key = format!("registry/things/ns{}/thing-{i:06}", i % 100);
                        store
                            .write(&key, Precondition::MustNotExist, put(value(512)))
                            .await
                            .unwrap();
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
    }
    let built = started.elapsed();
    eprintln!(
        "built a 100,000-key database in {built:.2?} ({:.0} creates/s with 256 writers)",
        100_000.0 / built.as_secs_f64()
    );
    let out = Command::new(std::env::current_exe().unwrap())
        .env(OPEN_CHILD_ENV, &path)
        .output()
        .unwrap();
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
}

/// In the child: open, report time and memory.
fn open_child(path: &Path) {
    let before = status_kib("VmRSS");
    let started = Instant::now();
    let store = Store::open(path, config()).unwrap();
    let elapsed = started.elapsed();
    let page = now(store.list(ListOptions {
        limit: Some(1),
        ..ListOptions::prefix("")
    }))
    .unwrap();
    assert!(page.more);
    eprintln!(
        "open of 100,000 keys: {elapsed:.2?}; RSS {} MiB after open ({} MiB before), peak {} MiB; revision {}",
        status_kib("VmRSS") / 1024,
        before / 1024,
        status_kib("VmHWM") / 1024,
        store.current_revision()
    );
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .strip_prefix(':')?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// 1,000 watchers, one event: time until the last one has it.
fn fanout_figures() {
    let rt = runtime();
    let store = Store::in_memory(config());
    let mut runs = Vec::new();
    for round in 0..5 {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut watchers = Vec::new();
        for i in 0..1000 {
            let mut w = store
                .watch(if i % 2 == 0 { "" } else { "fan/" }, None)
                .unwrap();
            let tx = tx.clone();
            watchers.push(rt.spawn(async move {
                if let Some(Ok(WatchItem::Event(_))) = w.next().await {
                    let _ = tx.send(Instant::now());
                }
            }));
        }
        drop(tx);
        rt.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
        let start = Instant::now();
        rt.block_on(store.write(&format!("fan/{round}"), Precondition::None, put(value(64))))
            .unwrap();
        let last = rt.block_on(async {
            let mut last = start;
            while let Some(at) = rx.recv().await {
                last = last.max(at);
            }
            last
        });
        runs.push(last - start);
    }
    runs.sort();
    eprintln!(
        "fan-out to 1,000 watchers (write to last delivery): median {:.2?}, max {:.2?}",
        runs[2], runs[4]
    );
}

fn main() {
    if let Some(path) = std::env::var_os(OPEN_CHILD_ENV) {
        open_child(Path::new(&path));
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench_creates(&mut c);
    bench_reads(&mut c);
    c.final_summary();
    // Run with no filter, or with the filter `figures`; skipped when
    // criterion is only listing or testing the benches.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let listing = args.iter().any(|a| a == "--list" || a == "--test");
    if !listing && (filters.is_empty() || filters.iter().any(|f| *f == "figures")) {
        open_figures();
        fanout_figures();
    }
}
