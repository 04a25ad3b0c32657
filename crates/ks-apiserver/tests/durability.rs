//! Durability and process lifecycle of the real `ks-apiserver` binary over
//! its durable store: every write acknowledged before a SIGKILL is there
//! after the restart with exactly its resourceVersion, and later writes get
//! greater ones; SIGTERM shuts the process down promptly (exit 0) while a
//! watch is open; and a second process on the same data directory refuses
//! to start while the first runs.

#![cfg(unix)]
// Helpers outside `#[test]` functions panic on failure, as the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};

const BIN: &str = env!("CARGO_BIN_EXE_ks-apiserver");
/// Writes acknowledged per round before the SIGKILL.
const WRITES: usize = 200;
/// Concurrent writers.
const WRITERS: usize = 8;
/// Kill/restart cycles on one data directory.
const ROUNDS: usize = 3;
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A `ks-apiserver` child process serving plain HTTP on an ephemeral
/// loopback port. Dropping it kills the process.
struct Server {
    child: Child,
    url: String,
    client: kube::Client,
    log: PathBuf,
}

/// Starts the binary on `data_dir` (stderr appended to `log`).
fn spawn(data_dir: &Path, log: &Path) -> Child {
    let stderr = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--listen", "127.0.0.1:0", "--plain-http"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .spawn()
        .unwrap()
}

fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Polls `child` until it exits or `timeout` passes.
async fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Server {
    /// Starts the binary and waits until `/readyz` answers `ok`.
    async fn start(data_dir: &Path, log: &Path) -> Server {
        let mut child = spawn(data_dir, log);
        // The binary prints "ks-apiserver is serving at URL" once it listens.
        // The reader drains stdout to the end so the server never writes to a
        // closed pipe.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("ks-apiserver is serving at ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = match tokio::time::timeout(START_TIMEOUT, rx).await {
            Ok(Ok(url)) => url,
            Ok(Err(_)) => {
                let status = wait_exit(&mut child, Duration::from_secs(5)).await;
                panic!(
                    "ks-apiserver exited ({status:?}) without serving; log:\n{}",
                    read_log(log)
                );
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "ks-apiserver did not start within {START_TIMEOUT:?}; log:\n{}",
                    read_log(log)
                );
            }
        };
        assert!(url.starts_with("http://127.0.0.1:"), "unexpected URL {url}");
        let client = common::client_for(&url, &common::kubeconfig_token(data_dir));
        let server = Server {
            child,
            url,
            client,
            log: log.to_owned(),
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let request = http::Request::get("/readyz").body(Vec::new()).unwrap();
            match self.client.request_text(request).await {
                Ok(body) if body.trim() == "ok" => return,
                other => {
                    assert!(
                        Instant::now() < deadline,
                        "{}/readyz not ok within {START_TIMEOUT:?}: {other:?}; log:\n{}",
                        self.url,
                        read_log(&self.log)
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn configmaps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// SIGKILL (what `Child::kill` sends on unix), then reap.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed: {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn configmap(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("name".to_owned(), name.to_owned())])),
        ..Default::default()
    }
}

fn revision(cm: &ConfigMap) -> u64 {
    let rv = cm.metadata.resource_version.as_deref().unwrap_or_default();
    rv.parse().unwrap_or_else(|_| {
        panic!(
            "resourceVersion {rv:?} of {:?} is not a number",
            cm.metadata.name
        )
    })
}

/// Creates ConfigMaps `r{round}-NNNN` from [`WRITERS`] concurrent tasks and
/// SIGKILLs the server as soon as [`WRITES`] creations were acknowledged
/// (other writes may still be in flight). Returns every acknowledged
/// creation: name and resourceVersion.
async fn write_then_kill(server: &mut Server, round: usize) -> Vec<(String, u64)> {
    let api = server.configmaps();
    let next = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let enough = Arc::new(tokio::sync::Notify::new());
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let (api, next, killed, acked, errors, enough) = (
            api.clone(),
            Arc::clone(&next),
            Arc::clone(&killed),
            Arc::clone(&acked),
            Arc::clone(&errors),
            Arc::clone(&enough),
        );
        writers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= 2 * WRITES || killed.load(Ordering::SeqCst) {
                    return;
                }
                let name = format!("r{round}-{i:04}");
                match api.create(&PostParams::default(), &configmap(&name)).await {
                    Ok(created) => {
                        assert_eq!(created.metadata.name.as_deref(), Some(name.as_str()));
                        let mut acked = acked.lock().unwrap();
                        acked.push((name, revision(&created)));
                        if acked.len() == WRITES {
                            enough.notify_one();
                        }
                    }
                    Err(e) => {
                        // After the kill, failures are expected.
                        if !killed.load(Ordering::SeqCst) {
                            errors.lock().unwrap().push(format!("create {name}: {e}"));
                            enough.notify_one();
                        }
                        return;
                    }
                }
            }
        }));
    }
    let notified = tokio::time::timeout(Duration::from_secs(60), enough.notified()).await;
    killed.store(true, Ordering::SeqCst);
    server.kill();
    for writer in writers {
        tokio::time::timeout(Duration::from_secs(30), writer)
            .await
            .expect("a writer hung after the kill")
            .unwrap();
    }
    let errors = errors.lock().unwrap().clone();
    assert!(
        errors.is_empty(),
        "round {round}: writes failed before the kill: {errors:#?}\nlog:\n{}",
        read_log(&server.log)
    );
    assert!(
        notified.is_ok(),
        "round {round}: {WRITES} writes were not acknowledged within 60 s"
    );
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= WRITES);
    acked
}

/// Every acknowledged write is there with exactly its resourceVersion, and
/// a new write gets a greater resourceVersion than all of them.
async fn verify(server: &Server, acked: &BTreeMap<String, u64>, probe: &str) -> (String, u64) {
    let api = server.configmaps();
    let list = api.list(&ListParams::default()).await.unwrap();
    let stored: BTreeMap<String, u64> = list
        .items
        .iter()
        .map(|cm| (cm.metadata.name.clone().unwrap_or_default(), revision(cm)))
        .collect();
    let mut missing = Vec::new();
    let mut changed = Vec::new();
    for (name, rv) in acked {
        match stored.get(name) {
            None => missing.push(name.clone()),
            Some(got) if got != rv => changed.push(format!("{name}: acknowledged {rv}, now {got}")),
            Some(_) => {}
        }
    }
    assert!(
        missing.is_empty() && changed.is_empty(),
        "after restart: {} of {} acknowledged objects missing (first: {:?}), {} with another resourceVersion (first: {:?})",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(10)],
        changed.len(),
        &changed[..changed.len().min(10)],
    );
    let max = stored.values().copied().max().unwrap_or(0);
    let list_rv: u64 = list
        .metadata
        .resource_version
        .as_deref()
        .unwrap_or_default()
        .parse()
        .unwrap();
    assert!(
        list_rv >= max,
        "list resourceVersion {list_rv} < an item's {max}"
    );
    let created = api
        .create(&PostParams::default(), &configmap(probe))
        .await
        .unwrap();
    let rv = revision(&created);
    assert!(
        rv > max && rv > list_rv,
        "a write after the restart got resourceVersion {rv}, not greater than the previous {max} (list {list_rv})"
    );
    (probe.to_owned(), rv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    let mut server = Server::start(&data, &log).await;
    for round in 0..ROUNDS {
        let written = write_then_kill(&mut server, round).await;
        let mut revisions: Vec<u64> = written.iter().map(|(_, rv)| *rv).collect();
        revisions.sort_unstable();
        revisions.dedup();
        assert_eq!(
            revisions.len(),
            written.len(),
            "round {round}: two acknowledged writes share a resourceVersion"
        );
        if let (Some(previous), Some(first)) = (acked.values().max(), revisions.first()) {
            assert!(
                first > previous,
                "round {round}: resourceVersion {first} is not after the previous round's {previous}"
            );
        }
        eprintln!(
            "round {round}: {} writes acknowledged (resourceVersions {:?} to {:?}), then SIGKILL",
            written.len(),
            revisions.first(),
            revisions.last()
        );
        acked.extend(written);
        drop(server);
        server = Server::start(&data, &log).await;
        let (probe, rv) = verify(&server, &acked, &format!("probe-{round}")).await;
        eprintln!(
            "round {round}: all {} acknowledged writes survived; the next write got {rv}",
            acked.len()
        );
        acked.insert(probe, rv);
    }
    // The probe of the last round survives a graceful stop as well.
    server.terminate();
    let status = wait_exit(&mut server.child, Duration::from_secs(10)).await;
    assert!(
        matches!(status, Some(s) if s.success()),
        "SIGTERM: {status:?}"
    );
    let server = Server::start(&data, &log).await;
    verify(&server, &acked, "probe-final").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_zero_promptly_with_an_open_watch() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("data"), &dir.path().join("server.log")).await;
    let api = server.configmaps();
    let mut events = api
        .watch(&WatchParams::default().timeout(290), "0")
        .await
        .unwrap()
        .boxed();
    api.create(&PostParams::default(), &configmap("watched"))
        .await
        .unwrap();
    // The watch is live: it delivers the creation.
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.try_next().await.unwrap() {
            if let WatchEvent::Added(cm) = event
                && cm.metadata.name.as_deref() == Some("watched")
            {
                return;
            }
        }
        panic!("the watch ended before delivering the creation");
    })
    .await
    .expect("the watch did not deliver the creation within 10 s");

    let started = Instant::now();
    server.terminate();
    let status = wait_exit(&mut server.child, Duration::from_secs(5)).await;
    let elapsed = started.elapsed();
    let Some(status) = status else {
        panic!(
            "ks-apiserver still running 5 s after SIGTERM with a watch open; log:\n{}",
            read_log(&server.log)
        );
    };
    assert!(
        status.success(),
        "SIGTERM: exit status {status}, expected 0; log:\n{}",
        read_log(&server.log)
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "shutdown took {elapsed:?}"
    );
    // The watch ends (closed stream or a connection error), it does not hang.
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = events.next().await {}
    })
    .await
    .expect("the watch stream did not end after the server exited");
    let log = read_log(&server.log);
    assert!(log.contains("stopped"), "no 'stopped' in the log:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_server_on_the_same_data_dir_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut first = Server::start(&data, &dir.path().join("first.log")).await;

    let second_log = dir.path().join("second.log");
    let mut second = spawn(&data, &second_log);
    let status = wait_exit(&mut second, Duration::from_secs(15)).await;
    if status.is_none() {
        let _ = second.kill();
        let _ = second.wait();
    }
    let log = read_log(&second_log);
    let status = status.unwrap_or_else(|| {
        panic!("a second ks-apiserver on the same data dir kept running; log:\n{log}")
    });
    assert!(
        !status.success(),
        "the second server exited with {status}; log:\n{log}"
    );
    assert!(
        log.contains("in use by another") && log.contains("store.db.lock"),
        "the second server's message does not say the data dir is in use:\n{log}"
    );
    // The first one is unaffected.
    first.wait_ready().await;
    first
        .configmaps()
        .create(&PostParams::default(), &configmap("still-serving"))
        .await
        .unwrap();

    // The lock dies with its process: after a SIGKILL, a new server starts.
    first.kill();
    let third = Server::start(&data, &dir.path().join("third.log")).await;
    third
        .configmaps()
        .get("still-serving")
        .await
        .expect("the object written by the first server");
}
