//! End-to-end benchmark of ks-apiserver over loopback HTTP/1.1 keep-alive,
//! against the real binary on a durable store (a fresh temp data dir).
//!
//! ```sh
//! cargo bench -p ks-apiserver --bench api                 # everything, plain HTTP and HTTPS
//! KS_BENCH=creates,get cargo bench -p ks-apiserver --bench api
//! KS_BENCH_OBJECTS=100000 cargo bench -p ks-apiserver --bench api -- memory
//! KS_BENCH_BIN=/path/to/other/ks-apiserver cargo bench -p ks-apiserver --bench api
//! ```
//!
//! `KS_BENCH_BIN` runs the same client against another build of the server
//! (say, the previous commit's), for before/after figures in one sitting.
//!
//! Reports, per transport: creates/s of small ConfigMaps with 16 clients;
//! get-by-name latency (median, p99); list of 10,000 objects (median);
//! watch fan-out (1,000 watchers, latency from sending a write to each
//! watcher receiving its event: median, p99); and, once, server RSS with
//! `KS_BENCH_OBJECTS` (default 100,000) stored ConfigMaps and the startup
//! time on that data dir; and (`secured`) get-by-name throughput on a
//! data dir holding ks-rbac's synthetic 100k-binding policy, under RBAC
//! against `--authorization-mode AlwaysAllow`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

const CLIENTS: usize = 16;

#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// The `Authorization` header every request carries (none for a
    /// server build from before authentication).
    auth: Option<Arc<str>>,
}

/// A keep-alive connection and the credentials its requests carry.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    auth: Option<Arc<str>>,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

async fn connect(target: &Target) -> Conn {
    let tcp = TcpStream::connect(target.addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let io: Box<dyn Io> = match &target.tls {
        None => Box::new(tcp),
        Some(config) => {
            let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
            let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
            Box::new(connector.connect(name, tcp).await.unwrap())
        }
    };
    let (sender, conn) = http1::handshake(TokioIo::new(io)).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Conn {
        sender,
        auth: target.auth.clone(),
    }
}

async fn call(conn: &mut Conn, method: &str, path: &str, body: Option<String>) -> (u16, Bytes) {
    conn.sender.ready().await.unwrap();
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1");
    if let Some(auth) = &conn.auth {
        req = req.header("authorization", &**auth);
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let resp = conn.sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, bytes)
}

fn configmap(ns: &str, name: &str) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"{ns}","labels":{{"app":"bench"}}}},"data":{{"key":"value-{name}"}}}}"#
    )
}

struct Server {
    child: Child,
    addr: SocketAddr,
    data_dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_server(data_dir: &Path, plain: bool) -> (Server, Duration) {
    start_server_with(data_dir, plain, &[]).await
}

async fn start_server_with(data_dir: &Path, plain: bool, extra: &[&str]) -> (Server, Duration) {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let bin = std::env::var_os("KS_BENCH_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_ks-apiserver")),
        PathBuf::from,
    );
    let mut cmd = Command::new(bin);
    cmd.arg("--data-dir")
        .arg(data_dir)
        .arg("--listen")
        .arg(addr.to_string());
    if plain {
        cmd.arg("--plain-http");
    }
    // The API alone, as measured before the controllers ran in-process
    // (they have their own benchmark in ks-controller-manager).
    cmd.arg("--no-controllers");
    cmd.args(extra);
    cmd.env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let child = cmd.spawn().unwrap();
    let server = Server {
        child,
        addr,
        data_dir: data_dir.to_owned(),
    };
    // Ready when the kubeconfig (written after the certificates) exists
    // and /readyz answers.
    loop {
        if started.elapsed() > Duration::from_secs(120) {
            panic!("server did not start");
        }
        if data_dir.join("kubeconfig").exists() && TcpStream::connect(addr).await.is_ok() {
            let target = target_for(&server, plain);
            let mut s = connect(&target).await;
            if call(&mut s, "GET", "/readyz", None).await.0 == 200 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (server, started.elapsed())
}

fn target_for(server: &Server, plain: bool) -> Target {
    let tls = (!plain).then(|| {
        let pem = std::fs::read(server.data_dir.join("pki/ca.crt")).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        Arc::new(config)
    });
    Target {
        addr: server.addr,
        tls,
        auth: None,
    }
}

/// Logs in as the bootstrap admin (password from `DATA/admin-password`)
/// and returns the bearer header; `None` for a server that predates
/// authentication (no such file).
async fn login(target: &Target, data_dir: &Path) -> Option<Arc<str>> {
    let password = std::fs::read_to_string(data_dir.join("admin-password")).ok()?;
    let form = format!(
        "grant_type=password&client_id=kubesphere&client_secret=kubesphere&username=admin&password={}",
        password.trim()
    );
    let mut conn = connect(target).await;
    conn.sender.ready().await.unwrap();
    let req = Request::builder()
        .method("POST")
        .uri("/oauth/token")
        .header("host", "127.0.0.1")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form)))
        .unwrap();
    let resp = conn.sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200, "logging in as admin");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let token: serde_json::Value = serde_json::from_slice(&body).unwrap();
    Some(format!("Bearer {}", token["access_token"].as_str().unwrap()).into())
}

use rustls::pki_types::pem::PemObject;

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

async fn create_namespace(target: &Target, ns: &str) {
    let mut s = connect(target).await;
    let body = format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{ns}"}}}}"#);
    let (status, _) = call(&mut s, "POST", "/api/v1/namespaces", Some(body)).await;
    assert!(status == 201 || status == 409, "namespace create: {status}");
}

/// Creates `total` ConfigMaps in `ns` with `clients` connections; returns creates/s.
async fn create_many(target: &Target, ns: &str, prefix: &str, total: usize, clients: usize) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let target = target.clone();
        let ns = ns.to_owned();
        let prefix = prefix.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut s = connect(&target).await;
            let path = format!("/api/v1/namespaces/{ns}/configmaps");
            let mut i = c;
            while i < total {
                let (status, body) = call(
                    &mut s,
                    "POST",
                    &path,
                    Some(configmap(&ns, &format!("{prefix}{i}"))),
                )
                .await;
                assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
                i += clients;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

async fn bench_creates(target: &Target, label: &str) {
    create_namespace(target, "bench-create").await;
    // Warm up, then measure.
    create_many(target, "bench-create", "warm-", 500, CLIENTS).await;
    let rate = create_many(target, "bench-create", "cm-", 10_000, CLIENTS).await;
    println!(
        "[{label}] creates: {rate:.0}/s (10,000 small ConfigMaps, {CLIENTS} clients, durable store)"
    );
    let single = create_many(target, "bench-create", "one-", 500, 1).await;
    println!("[{label}] creates: {single:.0}/s with 1 client (each waits for its own commit)");
}

async fn bench_get(target: &Target, label: &str) {
    create_namespace(target, "bench-get").await;
    create_many(target, "bench-get", "g-", 100, 4).await;
    let mut s = connect(target).await;
    let mut samples = Vec::with_capacity(5000);
    for i in 0..5000 {
        let path = format!("/api/v1/namespaces/bench-get/configmaps/g-{}", i % 100);
        let t = Instant::now();
        let (status, _) = call(&mut s, "GET", &path, None).await;
        samples.push(t.elapsed());
        assert_eq!(status, 200);
    }
    samples.sort();
    println!(
        "[{label}] get by name: median {:?}, p99 {:?} (5,000 sequential gets, one keep-alive connection)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99)
    );
}

async fn bench_list(target: &Target, label: &str) {
    create_namespace(target, "bench-list").await;
    create_many(target, "bench-list", "l-", 10_000, CLIENTS).await;
    let mut s = connect(target).await;
    let mut samples = Vec::new();
    let mut size = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let (status, body) = call(
            &mut s,
            "GET",
            "/api/v1/namespaces/bench-list/configmaps",
            None,
        )
        .await;
        samples.push(t.elapsed());
        assert_eq!(status, 200);
        size = body.len();
    }
    samples.sort();
    println!(
        "[{label}] list of 10,000 ConfigMaps: median {:?}, p99 {:?} ({} KiB JSON)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        size / 1024
    );
}

async fn bench_watch(target: &Target, label: &str, watchers: usize) {
    create_namespace(target, "bench-watch").await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let mut ready = Vec::new();
    for _ in 0..watchers {
        let target = target.clone();
        let tx = tx.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
        ready.push(ready_rx);
        tokio::spawn(async move {
            let mut s = connect(&target).await;
            s.sender.ready().await.unwrap();
            // Without a resourceVersion a watch first replays the current
            // objects as ADDED; the namespace is empty, so only new events come.
            let mut req = Request::builder()
                .uri("/api/v1/namespaces/bench-watch/configmaps?watch=1")
                .header("host", "127.0.0.1");
            if let Some(auth) = &s.auth {
                req = req.header("authorization", &**auth);
            }
            let req = req.body(Full::new(Bytes::new())).unwrap();
            let resp = s.sender.send_request(req).await.unwrap();
            let _ = ready_tx.send(());
            let mut body = resp.into_body();
            let mut buf = Vec::new();
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else { break };
                if let Some(data) = frame.data_ref() {
                    buf.extend_from_slice(data);
                    while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=pos).collect();
                        let now = Instant::now();
                        let text = String::from_utf8_lossy(&line);
                        if let Some(i) = text.find("\"name\":\"w-") {
                            let rest = &text[i + 8..];
                            let name = rest.split('"').next().unwrap_or("").to_owned();
                            let _ = tx.send((name, now));
                        }
                    }
                }
            }
        });
    }
    drop(tx);
    for r in ready {
        let _ = r.await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let writes = 20;
    let mut s = connect(target).await;
    let mut sent = std::collections::HashMap::new();
    for i in 0..writes {
        let name = format!("w-{i}");
        let t0 = Instant::now();
        let (status, _) = call(
            &mut s,
            "POST",
            "/api/v1/namespaces/bench-watch/configmaps",
            Some(configmap("bench-watch", &name)),
        )
        .await;
        assert_eq!(status, 201);
        sent.insert(name, t0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while latencies.len() < writes * watchers && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
            Ok(Some((name, at))) => {
                if let Some(t0) = sent.get(&name) {
                    latencies.push(at.saturating_duration_since(*t0));
                }
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
    latencies.sort();
    println!(
        "[{label}] watch fan-out: {watchers} watchers x {writes} writes, {} of {} events received; latency from sending the write: median {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        writes * watchers,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
}

async fn bench_memory(objects: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start_server(dir.path(), true).await;
    let mut target = target_for(&server, true);
    target.auth = login(&target, dir.path()).await;
    create_namespace(&target, "bench-mem").await;
    let t = Instant::now();
    let rate = create_many(&target, "bench-mem", "m-", objects, CLIENTS).await;
    println!(
        "[memory] stored {objects} ConfigMaps in {:?} ({rate:.0}/s)",
        t.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "[memory] server RSS with {objects} ConfigMaps: {:.1} MiB",
        rss_mib(server.child.id())
    );
    drop(server);
    let (server, startup) = start_server(dir.path(), true).await;
    println!("[memory] startup on that data dir (spawn to /readyz 200): {startup:?}");
    println!(
        "[memory] server RSS after restart: {:.1} MiB",
        rss_mib(server.child.id())
    );
    let mut target = target_for(&server, true);
    target.auth = login(&target, dir.path()).await;
    let mut s = connect(&target).await;
    let t = Instant::now();
    let (status, body) = call(
        &mut s,
        "GET",
        "/api/v1/namespaces/bench-mem/configmaps?limit=500",
        None,
    )
    .await;
    assert_eq!(status, 200);
    println!(
        "[memory] first page of 500 after restart: {:?} ({} bytes)",
        t.elapsed(),
        body.len()
    );
}

/// Creates every object of ks-rbac's synthetic policy through the API
/// with `CLIENTS` connections; returns how many were refused.
async fn load_policy(target: &Target, policy: &ks_rbac::Policy) -> usize {
    fn items<T: serde::Serialize>(
        out: &mut Vec<(String, String)>,
        objects: &[T],
        path: impl Fn(&serde_json::Value) -> String,
    ) {
        for o in objects {
            let v = serde_json::to_value(o).unwrap();
            out.push((path(&v), v.to_string()));
        }
    }
    let ns = |v: &serde_json::Value| v["metadata"]["namespace"].as_str().unwrap_or("").to_owned();
    let rbac = "/apis/rbac.authorization.k8s.io/v1";
    let iam = "/apis/iam.kubesphere.io/v1alpha2";
    let mut waves: Vec<Vec<(String, String)>> = vec![Vec::new(), Vec::new(), Vec::new()];
    items(&mut waves[0], &policy.namespaces, |_| {
        "/api/v1/namespaces".into()
    });
    items(&mut waves[1], &policy.roles, |v| {
        format!("{rbac}/namespaces/{}/roles", ns(v))
    });
    items(&mut waves[1], &policy.cluster_roles, |_| {
        format!("{rbac}/clusterroles")
    });
    items(&mut waves[1], &policy.global_roles, |_| {
        format!("{iam}/globalroles")
    });
    items(&mut waves[1], &policy.workspace_roles, |_| {
        format!("{iam}/workspaceroles")
    });
    items(&mut waves[2], &policy.role_bindings, |v| {
        format!("{rbac}/namespaces/{}/rolebindings", ns(v))
    });
    items(&mut waves[2], &policy.cluster_role_bindings, |_| {
        format!("{rbac}/clusterrolebindings")
    });
    items(&mut waves[2], &policy.global_role_bindings, |_| {
        format!("{iam}/globalrolebindings")
    });
    items(&mut waves[2], &policy.workspace_role_bindings, |_| {
        format!("{iam}/workspacerolebindings")
    });
    let mut refused = 0;
    for wave in waves {
        let wave = Arc::new(wave);
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            let target = target.clone();
            let wave = Arc::clone(&wave);
            tasks.push(tokio::spawn(async move {
                let mut s = connect(&target).await;
                let mut refused = 0;
                for (path, body) in wave.iter().skip(c).step_by(CLIENTS) {
                    let (status, _) = call(&mut s, "POST", path, Some(body.clone())).await;
                    if status != 201 && status != 409 {
                        refused += 1;
                    }
                }
                refused
            }));
        }
        for t in tasks {
            refused += t.await.unwrap();
        }
    }
    refused
}

/// Gets by name with 4 connections in parallel: gets/s.
async fn get_throughput(target: &Target, total: usize) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..4 {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = connect(&target).await;
            for i in (c..total).step_by(4) {
                let path = format!("/api/v1/namespaces/bench-get/configmaps/g-{}", i % 100);
                let (status, _) = call(&mut s, "GET", &path, None).await;
                assert_eq!(status, 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// The price of the security chain: get-by-name throughput as the admin
/// (bearer token) on one data dir holding ks-rbac's synthetic
/// 100k-binding policy, served with `--authorization-mode RBAC`, then
/// with `AlwaysAllow` (authentication still on), interleaved.
async fn bench_secured() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start_server(dir.path(), true).await;
    let mut target = target_for(&server, true);
    target.auth = login(&target, dir.path()).await;
    let policy = ks_rbac::synthetic::generate(&ks_rbac::synthetic::Shape::ISSUE);
    let t = Instant::now();
    let refused = load_policy(&target, &policy).await;
    println!(
        "[secured] loaded {} bindings (and their roles and namespaces) through the API in {:?}; {refused} refused",
        policy.binding_count(),
        t.elapsed()
    );
    create_namespace(&target, "bench-get").await;
    create_many(&target, "bench-get", "g-", 100, 4).await;
    drop(server);
    let mut results: Vec<(&str, f64)> = Vec::new();
    for round in 0..2 {
        for (mode, args) in [
            ("RBAC", &["--authorization-mode", "RBAC"]),
            ("AlwaysAllow", &["--authorization-mode", "AlwaysAllow"]),
        ] {
            let (server, _) = start_server_with(dir.path(), true, args).await;
            let mut target = target_for(&server, true);
            target.auth = login(&target, dir.path()).await;
            get_throughput(&target, 2_000).await; // warm up
            let rate = get_throughput(&target, 20_000).await;
            println!(
                "[secured] round {round}: {mode}: {rate:.0} gets/s (4 connections, admin bearer token)"
            );
            results.push((mode, rate));
            drop(server);
        }
    }
    let mean = |m: &str| {
        let v: Vec<f64> = results
            .iter()
            .filter(|(k, _)| *k == m)
            .map(|(_, r)| *r)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    println!(
        "[secured] RBAC at 100k bindings / AlwaysAllow: {:.1}%",
        100.0 * mean("RBAC") / mean("AlwaysAllow")
    );
}

fn wanted(name: &str) -> bool {
    let filter = std::env::var("KS_BENCH").unwrap_or_default();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    (filter.is_empty() || filter.split(',').any(|f| f == name))
        && (args.is_empty() || args.iter().any(|a| a == name))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for plain in [true, false] {
            let label = if plain { "http" } else { "https" };
            if !(wanted("creates") || wanted("get") || wanted("list") || wanted("watch")) {
                break;
            }
            let dir = tempfile::tempdir().unwrap();
            let (server, startup) = start_server(dir.path(), plain).await;
            println!("[{label}] fresh start (bootstrap included): {startup:?}");
            let mut target = target_for(&server, plain);
            target.auth = login(&target, dir.path()).await;
            if wanted("creates") {
                bench_creates(&target, label).await;
            }
            if wanted("get") {
                bench_get(&target, label).await;
            }
            if wanted("list") {
                bench_list(&target, label).await;
            }
            if wanted("watch") {
                bench_watch(&target, label, 1000).await;
            }
            println!(
                "[{label}] server RSS at the end: {:.1} MiB",
                rss_mib(server.child.id())
            );
        }
        if wanted("secured") {
            bench_secured().await;
        }
        if wanted("memory") {
            let objects = std::env::var("KS_BENCH_OBJECTS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(100_000);
            bench_memory(objects).await;
        }
    });
}
