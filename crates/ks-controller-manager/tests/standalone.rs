//! The `ks-controller-manager` binary against an in-process ks-apiserver
//! that runs no controllers of its own (`--no-controllers`): leader
//! election between two processes, and what it refuses at startup.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use ks_types::iam::{User, UserState};
use kube::api::{Api, PostParams};
use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_ks-controller-manager");
const LEASE_NAMESPACE: &str = "kubesphere-system";
const LEASE_NAME: &str = "ks-controller-manager-leader-election";
/// Deadlines: generous, they only bound a failing test.
const PATIENCE: Duration = Duration::from_secs(30);

/// An in-process ks-apiserver without controllers, and an admin client.
struct Server {
    server: Option<ks_apiserver::RunningServer>,
    client: kube::Client,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ks_apiserver::Config::new(dir.path());
        config.in_memory = true;
        config.plain_http = true;
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.shutdown_grace = Duration::from_secs(2);
        config.controllers = None;
        let server = ks_apiserver::start(config).await.unwrap();
        let kubeconfig = server.kubeconfig.clone().expect("a kubeconfig is written");
        let mut kc = kube::Config::new(server.url.parse().unwrap());
        kc.auth_info.token = Some(server.admin_token.clone().into());
        let client = kube::Client::try_from(kc).unwrap();
        Server {
            server: Some(server),
            client,
            kubeconfig,
            _dir: dir,
        }
    }

    /// The Lease's holder and transition count, if it exists.
    async fn lease(&self) -> Option<(String, i32)> {
        let api: Api<Lease> = Api::namespaced(self.client.clone(), LEASE_NAMESPACE);
        let lease = api.get_opt(LEASE_NAME).await.unwrap()?;
        let spec = lease.spec.unwrap_or_default();
        Some((
            spec.holder_identity.unwrap_or_default(),
            spec.lease_transitions.unwrap_or(0),
        ))
    }

    async fn renew_time(&self) -> Option<jiff::Timestamp> {
        let api: Api<Lease> = Api::namespaced(self.client.clone(), LEASE_NAMESPACE);
        let lease = api.get_opt(LEASE_NAME).await.unwrap()?;
        lease.spec?.renew_time.map(|t| t.0)
    }

    /// Waits until the Lease names `holder`; returns its transition count.
    async fn wait_holder(&self, holder: &str, deadline: Duration) -> i32 {
        eventually(
            &format!("the lease is held by {holder}"),
            deadline,
            || async {
                match self.lease().await {
                    Some((h, transitions)) if h == holder => Ok(transitions),
                    other => Err(format!("lease: {other:?}")),
                }
            },
        )
        .await
    }

    async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// A running `ks-controller-manager`, its stderr collected.
struct Process {
    name: &'static str,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Process {
    fn start(name: &'static str, kubeconfig: &Path, extra: &[&str]) -> Process {
        let mut child = Command::new(BINARY)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--metrics-bind-address", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Process { name, child, log }
    }

    /// The value of `field=` in the first log line containing `message`.
    async fn logged(&self, message: &str, field: &str) -> String {
        eventually(
            &format!("{}: a log line {message:?} with {field}=", self.name),
            PATIENCE,
            || async {
                let found = self
                    .log
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|line| line.contains(message))
                    .find_map(|line| {
                        let (_, rest) = line.split_once(&format!(" {field}="))?;
                        Some(rest.split_whitespace().next()?.to_owned())
                    });
                found.ok_or_else(|| self.log_text())
            },
        )
        .await
    }

    fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    async fn identity(&self) -> String {
        self.logged("leader election: waiting to lead", "identity")
            .await
    }

    async fn metrics_address(&self) -> SocketAddr {
        self.logged("serving /metrics", "address")
            .await
            .parse()
            .unwrap()
    }

    /// `leader_election_master_status` as this process's /metrics shows it.
    async fn leader_status(&self) -> Result<u8, String> {
        let body = http_get(self.metrics_address().await, "/metrics")?;
        let line = body
            .lines()
            .find(|l| l.starts_with("leader_election_master_status{"))
            .ok_or_else(|| format!("no leader_election_master_status in:\n{body}"))?;
        assert_eq!(
            line.split_whitespace().next(),
            Some("leader_election_master_status{name=\"ks-controller-manager\"}")
        );
        line.rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| line.to_owned())
    }

    async fn wait_leader_status(&self, want: u8) {
        eventually(
            &format!("{}: leader_election_master_status {want}", self.name),
            PATIENCE,
            || async {
                match self.leader_status().await? {
                    got if got == want => Ok(()),
                    got => Err(format!("status {got}")),
                }
            },
        )
        .await;
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal}");
    }

    async fn exit_status(&mut self) -> ExitStatus {
        let child = &mut self.child;
        eventually("the process exits", PATIENCE, || {
            let status = child.try_wait().unwrap();
            async move { status.ok_or_else(|| "still running".to_owned()) }
        })
        .await
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {} stderr ---\n{}", self.name, self.log_text());
        }
    }
}

/// A plain HTTP/1.0 GET; the body of a 200.
fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end: {response}"))?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(format!("GET {path}: {head}"));
    }
    Ok(body.to_owned())
}

/// Polls `check` until it succeeds, at most `deadline`.
async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let until = Instant::now() + deadline;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) => assert!(Instant::now() < until, "{what}: {last}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts two candidates; returns them once the first leads and the
/// second is seen waiting (its /metrics says 0 while the first keeps
/// renewing).
async fn two_candidates(server: &Server, timings: &[&str]) -> (Process, String, Process, String) {
    let mut args = vec!["--leader-elect"];
    args.extend_from_slice(timings);
    let first = Process::start("first", &server.kubeconfig, &args);
    let first_id = first.identity().await;
    assert!(first_id.contains('_'), "host_uuid: {first_id}");
    server.wait_holder(&first_id, PATIENCE).await;
    first.wait_leader_status(1).await;
    assert_eq!(
        http_get(first.metrics_address().await, "/healthz"),
        Ok("ok".to_owned())
    );

    let second = Process::start("second", &server.kubeconfig, &args);
    let second_id = second.identity().await;
    assert_ne!(first_id, second_id);
    second.wait_leader_status(0).await;
    assert_eq!(
        second.logged("held by another candidate", "holder").await,
        first_id,
        "the second sees the first as the holder"
    );
    // The first keeps renewing; the lease stays its own.
    let renewed = server.renew_time().await.unwrap();
    eventually("the leader renews", PATIENCE, || async {
        match server.renew_time().await {
            Some(t) if t > renewed => Ok(()),
            other => Err(format!("renewTime {other:?}, was {renewed}")),
        }
    })
    .await;
    assert_eq!(server.lease().await.unwrap().0, first_id);
    assert_eq!(second.leader_status().await, Ok(0));
    (first, first_id, second, second_id)
}

async fn create_user(server: &Server, name: &str) {
    let user: User = serde_json::from_value(json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
        "metadata": {"name": name},
        "spec": {"email": format!("{name}@example.com"), "password": "P@88w0rd"},
    }))
    .unwrap();
    Api::<User>::all(server.client.clone())
        .create(&PostParams::default(), &user)
        .await
        .unwrap();
}

async fn wait_active(server: &Server, name: &str) {
    let api: Api<User> = Api::all(server.client.clone());
    eventually(&format!("user {name} is Active"), PATIENCE, || async {
        let user = api.get(name).await.map_err(|e| e.to_string())?;
        match user.status.state {
            Some(UserState::Active) => Ok(()),
            other => Err(format!("state {other:?}")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_once_its_lease_expires() {
    let server = Server::start().await;
    let timings = [
        "--leader-elect-lease-duration=3s",
        "--leader-elect-renew-deadline=2s",
        "--leader-elect-retry-period=500ms",
    ];
    let (mut first, first_id, second, second_id) = two_candidates(&server, &timings).await;
    let (_, transitions) = server.lease().await.unwrap();

    // SIGKILL: no chance to release; the second must wait for expiry.
    let killed = Instant::now();
    first.signal("-KILL");
    assert!(!first.exit_status().await.success());
    let after = server.wait_holder(&second_id, PATIENCE).await;
    let took = killed.elapsed();
    eprintln!("takeover {took:?} after SIGKILL (lease 3s, retry 500ms)");
    assert_eq!(after, transitions + 1, "one change of hands");
    assert_ne!(first_id, second_id);
    second.wait_leader_status(1).await;

    // The new leader's controllers work (the server runs none).
    create_user(&server, "after-failover").await;
    wait_active(&server, "after-failover").await;
    drop(second);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_leader_releases_the_lease_at_once() {
    let server = Server::start().await;
    // A lease far longer than the deadline below: only a release explains
    // a takeover within it.
    let timings = [
        "--leader-elect-lease-duration=120s",
        "--leader-elect-renew-deadline=60s",
        "--leader-elect-retry-period=500ms",
    ];
    let (mut first, _first_id, mut second, second_id) = two_candidates(&server, &timings).await;
    // The leader's controllers work.
    create_user(&server, "before").await;
    wait_active(&server, "before").await;

    let terminated = Instant::now();
    first.signal("-TERM");
    let status = first.exit_status().await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    first.logged("released the lease", "lease").await;
    server.wait_holder(&second_id, PATIENCE).await;
    eprintln!(
        "takeover {:?} after SIGTERM (lease 120s, retry 500ms)",
        terminated.elapsed()
    );
    second.wait_leader_status(1).await;
    create_user(&server, "after").await;
    wait_active(&server, "after").await;

    // The second releases too, and exits 0.
    second.signal("-TERM");
    assert_eq!(second.exit_status().await.code(), Some(0));
    assert_eq!(server.lease().await.unwrap().0, "");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_leader_election_the_controllers_run_at_once() {
    let server = Server::start().await;
    let mut process = Process::start("alone", &server.kubeconfig, &["--controllers", "user"]);
    process.logged("client configuration", "config").await;
    create_user(&server, "alone").await;
    wait_active(&server, "alone").await;
    let metrics = http_get(process.metrics_address().await, "/metrics").unwrap();
    assert!(
        metrics
            .contains("controller_runtime_reconcile_total{controller=\"user\",result=\"success\"}"),
        "{metrics}"
    );
    assert!(!metrics.contains("leader_election"), "{metrics}");
    process.signal("-TERM");
    assert_eq!(process.exit_status().await.code(), Some(0));
    assert_eq!(
        server.lease().await,
        None,
        "no Lease without --leader-elect"
    );
    server.stop().await;
}

/// Runs the binary to completion; its exit code and stderr.
fn run(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(BINARY)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn startup_errors_exit_with_status_2() {
    let (code, stderr) = run(&[
        "--kubeconfig",
        "/nonexistent",
        "--controllers",
        "*,users,-nope",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with(
            "ks-controller-manager: unknown controllers in --controllers: users, nope;"
        ),
        "{stderr}"
    );

    let (code, stderr) = run(&[
        "--kubeconfig",
        "/nonexistent",
        "--leader-elect-retry-period",
        "5",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("missing unit"), "{stderr}");

    let (code, stderr) = run(&[
        "--kubeconfig",
        "/nonexistent",
        "--leader-elect",
        "--leader-elect-renew-deadline",
        "40s",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with("ks-controller-manager: leader election: the lease duration (30s) must be greater than the renew deadline (40s)"),
        "{stderr}"
    );

    let (code, stderr) = run(&["--kubeconfig", "/nonexistent/kubeconfig"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with("ks-controller-manager: --kubeconfig /nonexistent/kubeconfig:"),
        "{stderr}"
    );
}
