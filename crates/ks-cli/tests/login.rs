//! `ks login`, `ks credential` and `ks logout` end to end: an in-process
//! ks-apiserver (plain HTTP and HTTPS with its own CA), the `ks` binary
//! with a private HOME, and kubectl reading the kubeconfig it writes.
//!
//! kubectl is `kubectl` from PATH plus the 1.27 and 1.33 binaries of the
//! Google Cloud SDK when present; `KS_TEST_KUBECTLS` (space-separated
//! paths) replaces that list. Without any kubectl the kubectl checks are
//! skipped with a note; everything else still runs. kubectl checks run
//! against HTTPS servers only: client-go's kubeconfig loader reads a
//! user's credentials only for TLS transports, so kubectl never sends a
//! token (nor runs an exec plugin) for an `http://` server; over plain
//! HTTP the token `ks credential` prints is checked directly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ks_apiserver::{Config, RunningServer};
use ks_cli::client::{HttpClient, ServerUrl, Trust};
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "Adm1nPassw0rd";
const ALICE_PASSWORD: &str = "Al1ce-Passw0rd";

// ------------------------------------------------------------- harness --

/// An in-process ks-apiserver and a kube client of its admin.
struct Server {
    running: Option<RunningServer>,
    admin: kube::Client,
    url: String,
    data: tempfile::TempDir,
}

impl Server {
    async fn start(tls: bool, tweak: impl FnOnce(&mut Config)) -> Server {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config::new(data.path());
        config.in_memory = true;
        config.plain_http = !tls;
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.admin_password = Some(ADMIN_PASSWORD.to_owned());
        config.shutdown_grace = Duration::from_secs(2);
        tweak(&mut config);
        let running = ks_apiserver::start(config).await.unwrap();
        let kubeconfig =
            kube::config::Kubeconfig::read_from(running.kubeconfig.as_ref().unwrap()).unwrap();
        let client_config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        Server {
            admin: kube::Client::try_from(client_config).unwrap(),
            url: running.url.clone(),
            running: Some(running),
            data,
        }
    }

    fn running(&self) -> &RunningServer {
        self.running.as_ref().unwrap()
    }

    /// The admin kubeconfig the server wrote (`DATA/kubeconfig`).
    fn admin_kubeconfig(&self) -> PathBuf {
        self.data.path().join("kubeconfig")
    }

    /// The CA certificate, written to a file.
    fn ca_file(&self) -> PathBuf {
        let path = self.data.path().join("test-ca.crt");
        std::fs::write(&path, self.running().ca_pem.as_ref().unwrap()).unwrap();
        path
    }

    /// Creates a user with no roles, through the admin's kube client, and
    /// waits until the authenticators know its (hashed) password.
    async fn create_user(&self, name: &str, password: &str) {
        let users: kube::Api<kube::api::DynamicObject> = kube::Api::all_with(
            self.admin.clone(),
            &kube::api::ApiResource {
                group: "iam.kubesphere.io".into(),
                version: "v1alpha2".into(),
                api_version: "iam.kubesphere.io/v1alpha2".into(),
                kind: "User".into(),
                plural: "users".into(),
            },
        );
        let user: kube::api::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
            "metadata": {"name": name},
            "spec": {"email": format!("{name}@example.com"), "password": password},
        }))
        .unwrap();
        users
            .create(&kube::api::PostParams::default(), &user)
            .await
            .unwrap();
        let logins = &self.running().security.authenticator.logins;
        for _ in 0..500 {
            if logins
                .users()
                .get(name)
                .is_some_and(|u| u.password_hash.is_some())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("user {name} never became able to log in");
    }

    /// A client of the server, trusting its CA.
    fn http(&self) -> HttpClient {
        let server = ServerUrl::parse(&self.url).unwrap();
        let trust = match &self.running().ca_pem {
            Some(pem) if self.url.starts_with("https") => Trust::from_pem(pem).unwrap(),
            _ => Trust::Nothing,
        };
        HttpClient::new(&server, &trust).unwrap()
    }

    /// The status and body of `GET path` with a bearer token.
    async fn get_with_token(&self, path: &str, token: &str) -> (u16, String) {
        let reply = self.http().get(path, Some(token)).await.unwrap();
        (
            reply.status.as_u16(),
            String::from_utf8_lossy(&reply.body).into_owned(),
        )
    }

    /// The status of `GET path` with a bearer token.
    async fn status_with_token(&self, path: &str, token: &str) -> u16 {
        self.get_with_token(path, token).await.0
    }

    async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

/// A user's machine: a private HOME (so `~/.kube/config` and
/// `~/.config/ks` are fresh), where `ks` and kubectl run.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join(".kube").join("config")
    }

    fn credentials(&self) -> PathBuf {
        self.dir
            .path()
            .join(".config")
            .join("ks")
            .join("credentials.json")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("HOME", self.dir.path())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("KUBECONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `ks ARGS` with `stdin`, off the runtime's threads (the
    /// server keeps serving; kubectl may run `ks credential` meanwhile).
    async fn ks(&self, args: &[&str], stdin: &str) -> Run {
        let mut command = self.command(env!("CARGO_BIN_EXE_ks"));
        command.args(args);
        run(command, stdin).await
    }

    async fn kubectl(&self, kubectl: &str, args: &[&str]) -> Run {
        let mut command = self.command(kubectl);
        command
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--request-timeout=20s")
            .args(args);
        run(command, "").await
    }

    async fn login(&self, server: &str, user: &str, password: &str, extra: &[&str]) -> Run {
        let mut args = vec!["login", server, "--username", user];
        args.extend_from_slice(extra);
        self.ks(&args, &format!("{password}\n")).await
    }

    fn kubeconfig_yaml(&self) -> Value {
        let text = std::fs::read_to_string(self.kubeconfig()).unwrap();
        serde_norway::from_str(&text).unwrap()
    }

    /// The cached session of `user`.
    fn session(&self, user: &str) -> Option<Value> {
        let text = std::fs::read_to_string(self.credentials()).ok()?;
        let cache: Value = serde_json::from_str(&text).unwrap();
        cache["sessions"]
            .as_array()?
            .iter()
            .find(|s| s["username"] == user)
            .cloned()
    }

    fn access_token(&self, user: &str) -> String {
        self.session(user).unwrap()["accessToken"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// What a command did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    fn assert_stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    fn assert_never_shows(&self, secret: &str) -> &Self {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "a secret was printed"
        );
        self
    }
}

async fn run(mut command: Command, stdin: &str) -> Run {
    let stdin = stdin.to_owned();
    let output: Output = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        // A closed pipe is fine: not every command reads stdin.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The kubectls to check with (see the module docs).
fn kubectls() -> Vec<String> {
    if let Ok(list) = std::env::var("KS_TEST_KUBECTLS") {
        return list.split_whitespace().map(str::to_owned).collect();
    }
    let mut found = Vec::new();
    let runs = |program: &str| {
        Command::new(program)
            .args(["version", "--client"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if runs("kubectl") {
        found.push("kubectl".to_owned());
    }
    for version in ["1.27", "1.33"] {
        let path = format!("/usr/lib/google-cloud-sdk/bin/kubectl.{version}");
        if Path::new(&path).exists() && runs(&path) {
            found.push(path);
        }
    }
    if found.is_empty() {
        eprintln!("note: no kubectl found: skipping the kubectl checks");
    }
    found
}

/// The `host:port` of a URL.
fn host_port(url: &str) -> &str {
    url.split("://").nth(1).unwrap()
}

/// The named entry of a kubeconfig list.
fn entry<'a>(config: &'a Value, list: &str, name: &str) -> &'a Value {
    config[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}"))
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {list} entry {name}"))
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// kubectl, logged in as a user with no roles: discovery works (`/api` is
/// open to every authenticated user), listing namespaces is forbidden for
/// that user by name, which proves who kubectl is.
async fn assert_kubectl_is(home: &Home, user: &str) {
    for kubectl in kubectls() {
        let api = home.kubectl(&kubectl, &["get", "--raw", "/api"]).await;
        api.assert_code(0);
        assert!(
            api.stdout.contains("APIVersions"),
            "{kubectl}: {}",
            api.stdout
        );
        let namespaces = home.kubectl(&kubectl, &["get", "namespaces"]).await;
        assert_ne!(namespaces.code, Some(0), "{kubectl}: {}", namespaces.stdout);
        namespaces
            .assert_stderr_has("forbidden")
            .assert_stderr_has(&format!("\"{user}\""));
    }
}

// --------------------------------------------------------------- tests --

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_over_plain_http_writes_a_kubeconfig_and_a_private_session() {
    let mut server = Server::start(false, |_| {}).await;
    server.create_user("alice", ALICE_PASSWORD).await;
    let home = Home::new();

    let login = home.login(&server.url, "alice", ALICE_PASSWORD, &[]).await;
    login
        .assert_code(0)
        .assert_never_shows(ALICE_PASSWORD)
        .assert_never_shows(&home.access_token("alice"));
    assert!(login.stdout.contains("Logged in to"), "{}", login.stdout);

    // The kubeconfig: a cluster, a user whose token comes from `ks
    // credential`, a context, made current.
    let hp = host_port(&server.url);
    let config = home.kubeconfig_yaml();
    let name = format!("alice@{hp}");
    assert_eq!(config["current-context"], name.as_str());
    let context = entry(&config, "contexts", &name);
    assert_eq!(context["context"]["cluster"], hp);
    assert_eq!(context["context"]["user"], name.as_str());
    assert_eq!(
        entry(&config, "clusters", hp)["cluster"]["server"],
        server.url.as_str()
    );
    let exec = &entry(&config, "users", &name)["user"]["exec"];
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(exec["command"], env!("CARGO_BIN_EXE_ks"));
    assert_eq!(exec["interactiveMode"], "Never");
    assert_eq!(
        exec["args"],
        json!(["credential", "--server", server.url, "--username", "alice"])
    );
    // Secrets never in the kubeconfig; the cache is private.
    let text = std::fs::read_to_string(home.kubeconfig()).unwrap();
    assert!(!text.contains(&home.access_token("alice")));
    assert!(!text.contains(ALICE_PASSWORD));
    assert!(
        !std::fs::read_to_string(home.credentials())
            .unwrap()
            .contains(ALICE_PASSWORD)
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&home.kubeconfig()), 0o600);
        assert_eq!(mode(&home.credentials()), 0o600);
    }

    // A fresh token is handed out as cached.
    let credential = home
        .ks(
            &["credential", "--server", &server.url, "--username", "alice"],
            "",
        )
        .await;
    credential.assert_code(0);
    let exec_credential: Value = serde_json::from_str(&credential.stdout).unwrap();
    assert_eq!(exec_credential["kind"], "ExecCredential");
    assert_eq!(
        exec_credential["apiVersion"],
        "client.authentication.k8s.io/v1"
    );
    assert_eq!(
        exec_credential["status"]["token"],
        home.access_token("alice").as_str()
    );
    let expires: jiff::Timestamp = exec_credential["status"]["expirationTimestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(expires > jiff::Timestamp::now());
    // It is alice's: discovery is open to her, namespaces are not.
    let token = home.access_token("alice");
    assert_eq!(server.status_with_token("/api", &token).await, 200);
    let (status, body) = server.get_with_token("/api/v1/namespaces", &token).await;
    assert_eq!(status, 403, "{body}");
    let status: Value = serde_json::from_str(&body).unwrap();
    let message = status["message"].as_str().unwrap();
    assert!(message.contains("User \"alice\""), "{message}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_over_https_trusts_the_ca_given_and_merges_into_an_existing_kubeconfig() {
    let mut server = Server::start(true, |_| {}).await;
    assert!(server.url.starts_with("https://"), "{}", server.url);
    server.create_user("alice", ALICE_PASSWORD).await;
    let hp = host_port(&server.url).to_owned();

    // No CA: refused as an unknown authority, with what to do.
    let stranger = Home::new();
    stranger
        .login(&server.url, "alice", ALICE_PASSWORD, &[])
        .await
        .assert_code(3)
        .assert_stderr_has("unknown authority")
        .assert_stderr_has("--certificate-authority")
        .assert_never_shows(ALICE_PASSWORD);
    assert!(!stranger.kubeconfig().exists());
    // The CA of the server's admin kubeconfig.
    let admin_kubeconfig = server.admin_kubeconfig();
    stranger
        .login(
            &server.url,
            "alice",
            ALICE_PASSWORD,
            &["--ca-from-kubeconfig", admin_kubeconfig.to_str().unwrap()],
        )
        .await
        .assert_code(0);
    assert_kubectl_is(&stranger, "alice").await;
    // Plain HTTP to an HTTPS server says so.
    stranger
        .login(
            &server.url.replace("https://", "http://"),
            "alice",
            ALICE_PASSWORD,
            &[],
        )
        .await
        .assert_code(3)
        .assert_stderr_has("https://");

    // A kubeconfig that already has the admin's context (a client
    // certificate) keeps it, untouched, next to the new one.
    let home = Home::new();
    std::fs::create_dir_all(home.kubeconfig().parent().unwrap()).unwrap();
    std::fs::copy(&admin_kubeconfig, home.kubeconfig()).unwrap();
    let before = home.kubeconfig_yaml();
    let admin_context = before["current-context"].as_str().unwrap().to_owned();
    let ca = server.ca_file();
    home.login(
        &server.url,
        "alice",
        ALICE_PASSWORD,
        &["--certificate-authority", ca.to_str().unwrap()],
    )
    .await
    .assert_code(0);
    let after = home.kubeconfig_yaml();
    assert_eq!(after["current-context"], format!("alice@{hp}").as_str());
    for list in ["clusters", "users", "contexts"] {
        for old in before[list].as_array().unwrap() {
            let name = old["name"].as_str().unwrap();
            assert_eq!(entry(&after, list, name), old, "{list}/{name} changed");
        }
        assert_eq!(
            after[list].as_array().unwrap().len(),
            before[list].as_array().unwrap().len() + 1,
            "{list}"
        );
    }
    let cluster = &entry(&after, "clusters", &hp)["cluster"];
    assert!(cluster["certificate-authority-data"].is_string());
    assert_kubectl_is(&home, "alice").await;
    for kubectl in kubectls() {
        // The admin context still works, as the admin.
        home.kubectl(
            &kubectl,
            &["--context", &admin_context, "get", "namespaces"],
        )
        .await
        .assert_code(0);
    }

    // Logging in again needs no CA flag: the kubeconfig trusts the server.
    home.login(&server.url, "alice", ALICE_PASSWORD, &[])
        .await
        .assert_code(0);
    assert_eq!(home.kubeconfig_yaml(), after);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_exits_1_and_a_locked_user_is_told_when_to_retry() {
    let mut server = Server::start(false, |config| {
        config.lockout.max_tries = 2;
        config.lockout.window = Duration::from_secs(60);
    })
    .await;
    server.create_user("alice", ALICE_PASSWORD).await;
    let home = Home::new();
    for _ in 0..2 {
        home.login(&server.url, "alice", "Wr0ng-passw0rd", &[])
            .await
            .assert_code(1)
            .assert_stderr_has("incorrect username or password")
            .assert_never_shows("Wr0ng-passw0rd");
    }
    assert!(!home.kubeconfig().exists());
    assert!(home.session("alice").is_none());
    let locked = home.login(&server.url, "alice", ALICE_PASSWORD, &[]).await;
    locked
        .assert_code(1)
        .assert_stderr_has("too many failed login attempts; try again in ");
    assert!(locked.stderr.contains(" s"), "{}", locked.stderr);
    // An unknown user reads the same as a wrong password.
    home.login(&server.url, "nobody", "Wr0ng-passw0rd", &[])
        .await
        .assert_code(1)
        .assert_stderr_has("incorrect username or password");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ks_credential_refreshes_an_expired_token_until_the_session_is_revoked() {
    let mut server = Server::start(true, |config| {
        config.tokens.access_max_age = Duration::from_secs(2);
        config.tokens.inactivity_timeout = Duration::from_secs(60);
    })
    .await;
    server.create_user("alice", ALICE_PASSWORD).await;
    let home = Home::new();
    let ca = server.ca_file();
    home.login(
        &server.url,
        "alice",
        ALICE_PASSWORD,
        &["--certificate-authority", ca.to_str().unwrap()],
    )
    .await
    .assert_code(0);
    let first = home.access_token("alice");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(server.status_with_token("/api", &first).await, 401);

    let credential_args = ["credential", "--server", &server.url, "--username", "alice"];
    let refreshed = home.ks(&credential_args, "").await;
    refreshed.assert_code(0);
    let token = serde_json::from_str::<Value>(&refreshed.stdout).unwrap()["status"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(token, first);
    assert_eq!(token, home.access_token("alice"));
    assert_eq!(server.status_with_token("/api", &token).await, 200);

    // kubectl runs the plugin itself, whenever its token is due.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_kubectl_is(&home, "alice").await;
    if !kubectls().is_empty() {
        assert_ne!(
            home.access_token("alice"),
            token,
            "kubectl's plugin run refreshed"
        );
    }

    // A logout elsewhere revokes all of alice's tokens (`ks logout`
    // refreshes a token about to expire first, so the revocation counts);
    // the next refresh here is refused: log in again.
    let elsewhere = Home::new();
    elsewhere
        .login(
            &server.url,
            "alice",
            ALICE_PASSWORD,
            &["--certificate-authority", ca.to_str().unwrap()],
        )
        .await
        .assert_code(0);
    let revoked = elsewhere.access_token("alice");
    elsewhere.ks(&["logout"], "").await.assert_code(0);
    assert_eq!(server.status_with_token("/api", &revoked).await, 401);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    home.ks(&credential_args, "")
        .await
        .assert_code(1)
        .assert_stderr_has("expired or was revoked")
        .assert_stderr_has(&format!(
            "run `ks login {} --username alice` again",
            server.url
        ));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_token_and_keeps_the_cluster_and_context() {
    let mut server = Server::start(false, |_| {}).await;
    server.create_user("alice", ALICE_PASSWORD).await;
    let home = Home::new();
    home.login(&server.url, "alice", ALICE_PASSWORD, &[])
        .await
        .assert_code(0);
    let token = home.access_token("alice");
    assert_eq!(server.status_with_token("/api", &token).await, 200);

    let logout = home.ks(&["logout"], "").await;
    logout.assert_code(0).assert_never_shows(&token);
    assert!(logout.stdout.contains("Logged out"), "{}", logout.stdout);
    assert_eq!(server.status_with_token("/api", &token).await, 401);
    assert!(home.session("alice").is_none());
    let hp = host_port(&server.url);
    let name = format!("alice@{hp}");
    let config = home.kubeconfig_yaml();
    assert_eq!(config["current-context"], name.as_str());
    assert_eq!(
        entry(&config, "contexts", &name)["context"]["user"],
        name.as_str()
    );
    assert_eq!(
        entry(&config, "clusters", hp)["cluster"]["server"],
        server.url.as_str()
    );
    let user = &entry(&config, "users", &name)["user"];
    assert!(
        user.get("exec").is_none() && user.get("token").is_none(),
        "{user:?}"
    );
    home.ks(
        &["credential", "--server", &server.url, "--username", "alice"],
        "",
    )
    .await
    .assert_code(1)
    .assert_stderr_has("not logged in");
    home.ks(&["logout"], "").await.assert_code(0);

    // An unreachable server: the local credentials go all the same.
    home.login(&server.url, "alice", ALICE_PASSWORD, &[])
        .await
        .assert_code(0);
    server.stop().await;
    home.ks(&["logout", "--context", &name], "")
        .await
        .assert_code(0)
        .assert_stderr_has("warning: could not revoke");
    assert!(home.session("alice").is_none());
    let config = home.kubeconfig_yaml();
    let user = &entry(&config, "users", &name)["user"];
    assert!(user.get("exec").is_none(), "{user:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_usage_and_configuration_errors_have_their_exit_statuses() {
    let home = Home::new();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("http://127.0.0.1:{port}");
    home.login(&closed, "alice", ALICE_PASSWORD, &[])
        .await
        .assert_code(3)
        .assert_stderr_has("connection refused");
    home.login("ftp://example", "alice", ALICE_PASSWORD, &[])
        .await
        .assert_code(2)
        .assert_stderr_has("scheme");
    home.login(
        "https://127.0.0.1:1",
        "alice",
        ALICE_PASSWORD,
        &["--certificate-authority", "/nonexistent/ca.crt"],
    )
    .await
    .assert_code(2)
    .assert_stderr_has("/nonexistent/ca.crt");
    home.login(&closed, "alice", "", &[])
        .await
        .assert_code(2)
        .assert_stderr_has("no password");
    // A malformed kubeconfig is reported, never replaced.
    std::fs::create_dir_all(home.kubeconfig().parent().unwrap()).unwrap();
    std::fs::write(home.kubeconfig(), "{{{").unwrap();
    home.login(&closed, "alice", ALICE_PASSWORD, &[])
        .await
        .assert_code(2)
        .assert_stderr_has(home.kubeconfig().to_str().unwrap());
    assert_eq!(std::fs::read_to_string(home.kubeconfig()).unwrap(), "{{{");
    // TLS to a plain-HTTP server says so.
    let mut server = Server::start(false, |_| {}).await;
    Home::new()
        .login(
            &server.url.replace("http://", "https://"),
            "alice",
            ALICE_PASSWORD,
            &["--insecure-skip-tls-verify"],
        )
        .await
        .assert_code(3)
        .assert_stderr_has("did not answer in TLS")
        .assert_stderr_has("http://");
    server.stop().await;
    // Logging out of nothing.
    let empty = Home::new();
    empty.ks(&["logout"], "").await.assert_code(2);
    // `ks --help` documents the exit statuses.
    let help = empty.ks(&["--help"], "").await;
    help.assert_code(0);
    assert!(help.stdout.contains("Exit status"), "{}", help.stdout);
    assert!(help.stdout.contains("login"), "{}", help.stdout);
}
