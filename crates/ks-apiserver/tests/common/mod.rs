//! Starting an in-process server for tests.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ks_apiserver::{Config, RunningServer};

/// An in-memory, plain-HTTP server on an ephemeral loopback port, without
/// controllers (the API's tests see only their own writes; the controllers
/// have their own tests in ks-controller-manager).
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub client: kube::Client,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path());
        config.in_memory = true;
        config.plain_http = true;
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.shutdown_grace = Duration::from_secs(2);
        config.controllers = None;
        tweak(&mut config);
        let server = ks_apiserver::start(config).await.unwrap();
        let url = server.url.clone();
        let client = client_for(&url, &server.admin_token);
        TestServer {
            server: Some(server),
            client,
            url,
            _dir: dir,
        }
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// A client of a plain-HTTP server at `url` with a bearer token.
pub fn client_for(url: &str, token: &str) -> kube::Client {
    let mut config = kube::Config::new(url.parse().unwrap());
    config.auth_info.token = Some(token.to_owned().into());
    kube::Client::try_from(config).unwrap()
}

/// A client of a plain-HTTP server at `url` with no credentials at all.
pub fn anonymous_client_for(url: &str) -> kube::Client {
    kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap()
}

/// The bearer token a plain-HTTP server wrote into `DATA/kubeconfig`.
pub fn kubeconfig_token(data_dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(data_dir.join("kubeconfig")).unwrap();
    let config: serde_json::Value = serde_norway::from_str(&text).unwrap();
    config["users"][0]["user"]["token"]
        .as_str()
        .expect("a token in the kubeconfig")
        .to_owned()
}

/// One plain-HTTP exchange on a fresh connection to `url` (no client
/// library in between, so tests control every header): status, headers,
/// body.
pub async fn http(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, http::HeaderMap, bytes::Bytes) {
    use http_body_util::BodyExt as _;
    let authority = url.trim_start_matches("http://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", authority);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_owned(),
        )))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes)
}

/// Every role, binding and namespace the server holds, read back as the
/// admin, as a ks-rbac policy (for reference decisions).
pub async fn read_policy(ts: &TestServer) -> ks_rbac::Policy {
    let admin = format!("Bearer {}", ts.server.as_ref().unwrap().admin_token);
    let mut text = String::new();
    for (path, api_version, kind) in [
        (
            "/apis/rbac.authorization.k8s.io/v1/roles",
            "rbac.authorization.k8s.io/v1",
            "Role",
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/rolebindings",
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
        ),
        (
            "/apis/iam.kubesphere.io/v1alpha2/globalroles",
            "iam.kubesphere.io/v1alpha2",
            "GlobalRole",
        ),
        (
            "/apis/iam.kubesphere.io/v1alpha2/globalrolebindings",
            "iam.kubesphere.io/v1alpha2",
            "GlobalRoleBinding",
        ),
        (
            "/apis/iam.kubesphere.io/v1alpha2/workspaceroles",
            "iam.kubesphere.io/v1alpha2",
            "WorkspaceRole",
        ),
        (
            "/apis/iam.kubesphere.io/v1alpha2/workspacerolebindings",
            "iam.kubesphere.io/v1alpha2",
            "WorkspaceRoleBinding",
        ),
        ("/api/v1/namespaces", "v1", "Namespace"),
    ] {
        let (status, _, body) = http(&ts.url, "GET", path, &[("authorization", &admin)], "").await;
        assert_eq!(status, 200, "{path}");
        let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
        for mut item in list["items"].as_array().unwrap().iter().cloned() {
            item["apiVersion"] = serde_json::json!(api_version);
            item["kind"] = serde_json::json!(kind);
            text.push_str("---\n");
            text.push_str(&item.to_string());
            text.push('\n');
        }
    }
    let (policy, diagnostics) = ks_rbac::Policy::from_yaml("server", &text);
    assert!(
        diagnostics
            .iter()
            .all(|d| d.severity != ks_rbac::Severity::Error),
        "{diagnostics:?}"
    );
    policy
}

/// Logs `user` in with the password grant and returns the access token,
/// retrying while the server has not seen a new user yet (the
/// authenticators follow the store through an informer).
pub async fn login(ts: &TestServer, user: &str, password: &str) -> String {
    let body = serde_urlencoded::to_string([
        ("grant_type", "password"),
        ("client_id", "kubesphere"),
        ("client_secret", "kubesphere"),
        ("username", user),
        ("password", password),
    ])
    .unwrap();
    for _ in 0..300 {
        let (status, _, bytes) = http(
            &ts.url,
            "POST",
            "/oauth/token",
            &[("content-type", "application/x-www-form-urlencoded")],
            &body,
        )
        .await;
        if status == 200 {
            let reply: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            return reply["access_token"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{user} could not log in");
}

/// Retries `check` until it holds, for about three seconds (the
/// authorizer and the /kapis lists follow the store's watch).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never: {what}");
}
