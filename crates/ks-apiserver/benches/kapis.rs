//! KubeSphere's /kapis lists at the scale of issue 12: 1,000 workspaces,
//! 10,000 namespaces, 100,000 users and the synthetic policy of issue 4
//! (100k RoleBindings, 5k WorkspaceRoleBindings, ...), over HTTP to a
//! running server, one keep-alive connection:
//!
//! - `workspaces/member-of-10`: `GET /kapis/tenant.kubesphere.io/v1alpha2/
//!   workspaces` as a user bound in 10 workspaces (target: under 5 ms
//!   median);
//! - `namespaces/page-50`: `GET /kapis/resources.kubesphere.io/v1alpha3/
//!   namespaces?sortBy=name&limit=10&page=50` as the admin (target: under
//!   20 ms), and the same page of the tenant list;
//! - `users/page-1-by-creation`: `GET /kapis/iam.kubesphere.io/v1alpha2/
//!   users?sortBy=createTime&limit=10` as the admin (target: under 20 ms);
//! - `workspace-member-roles`: `GET /kapis/iam.kubesphere.io/v1alpha2/
//!   workspaces/ws-0/workspacemembers/bench-member/workspaceroles` as the
//!   member, and `workspace-statistics`: `GET /kapis/monitoring.kubesphere.io/
//!   v1alpha3/workspaces/ws-0?type=statistics` as the admin, the two reads
//!   every console workspace page makes (issue 14: a page's backend share
//!   under 50 ms); `cluster-member-roles` and `namespace-member-roles`:
//!   the same question for the cluster and for namespace ns-0, as the
//!   admin.
//!
//! Run: `cargo bench -p ks-apiserver --bench kapis`; set
//! `KS_KAPIS_BENCH_SCALE` to a divisor of every count (default 1; 100 for
//! a quick run).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt as _;
use ks_rbac::synthetic::{Shape, generate};
use serde_json::json;

mod support;

use support::{key, load, put_all};

/// One keep-alive HTTP/1.1 connection to the server.
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>,
    authority: String,
}

impl Connection {
    async fn open(url: &str) -> Connection {
        let authority = url.trim_start_matches("http://").to_owned();
        let tcp = tokio::net::TcpStream::connect(&authority).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(conn);
        Connection { sender, authority }
    }

    /// Logs `user` in (password grant), retrying while the server has not
    /// seen the user yet; the access token.
    async fn token(&mut self, user: &str, password: &str) -> String {
        let form = format!(
            "grant_type=password&client_id=kubesphere&client_secret=kubesphere&username={user}&password={password}"
        );
        for _ in 0..500 {
            let request = http::Request::post("/oauth/token")
                .header("host", &self.authority)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(http_body_util::Full::new(bytes::Bytes::from(form.clone())))
                .unwrap();
            self.sender.ready().await.unwrap();
            let response = self.sender.send_request(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            if status == 200 {
                let reply: serde_json::Value = serde_json::from_slice(&body).unwrap();
                return reply["access_token"].as_str().unwrap().to_owned();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{user} could not log in");
    }

    /// `GET path` with a bearer token; the body, after checking for 200.
    async fn get(&mut self, path: &str, token: &str) -> bytes::Bytes {
        let request = http::Request::get(path)
            .header("host", &self.authority)
            .header("authorization", format!("Bearer {token}"))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        self.sender.ready().await.unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        body
    }
}

/// The objects of the scenario besides the synthetic policy: workspace
/// templates, users, and `bench-member`, bound in 10 workspaces and
/// allowed to call the workspace list.
fn scenario(shape: &Shape, users: usize) -> Vec<(String, serde_json::Value)> {
    let iam = "iam.kubesphere.io";
    let mut writes = Vec::new();
    for w in 0..shape.workspaces {
        let name = format!("ws-{w}");
        writes.push((
            key("tenant.kubesphere.io", "workspacetemplates", None, &name),
            json!({"apiVersion": "tenant.kubesphere.io/v1alpha2", "kind": "WorkspaceTemplate",
                   "metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z"}}),
        ));
    }
    for u in 0..users {
        let name = format!("user-{u}");
        // Distinct creation times, one second apart.
        let created = jiff::Timestamp::from_second(1_767_225_600 + u as i64).unwrap();
        writes.push((
            key(iam, "users", None, &name),
            json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
                   "metadata": {"name": name, "creationTimestamp": created.to_string()},
                   "spec": {"email": format!("{name}@example.com")},
                   "status": {"state": "Active"}}),
        ));
    }
    let member = "bench-member";
    for w in 0..10.min(shape.workspaces) {
        let ws = format!("ws-{}", w * (shape.workspaces / 10).max(1));
        writes.push((
            key(iam, "workspacerolebindings", None, &format!("{member}-{ws}")),
            json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "WorkspaceRoleBinding",
                   "metadata": {"name": format!("{member}-{ws}"), "labels": {"kubesphere.io/workspace": ws}},
                   "roleRef": {"apiGroup": iam, "kind": "WorkspaceRole", "name": format!("{ws}-viewer")},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": member}]}),
        ));
    }
    // Also a member of the cluster and of namespace ns-0, through roles
    // that allow nothing (the lists above must not change).
    let rbac = "rbac.authorization.k8s.io";
    let subjects = json!([{"apiGroup": rbac, "kind": "User", "name": member}]);
    writes.push((
        key(rbac, "clusterroles", None, "bench-nothing"),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": "bench-nothing"}, "rules": []}),
    ));
    writes.push((
        key(rbac, "clusterrolebindings", None, "bench-member-nothing"),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "bench-member-nothing", "labels": {"iam.kubesphere.io/user-ref": member}},
               "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "bench-nothing"},
               "subjects": subjects}),
    ));
    writes.push((
        key(rbac, "roles", Some("ns-0"), "bench-nothing"),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": "bench-nothing", "namespace": "ns-0"}, "rules": []}),
    ));
    writes.push((
        key(rbac, "rolebindings", Some("ns-0"), "bench-member-nothing"),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "bench-member-nothing", "namespace": "ns-0",
                            "labels": {"iam.kubesphere.io/user-ref": member}},
               "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "bench-nothing"},
               "subjects": subjects}),
    ));
    writes.push((
        key(iam, "globalroles", None, "bench-tenant-lister"),
        json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GlobalRole",
               "metadata": {"name": "bench-tenant-lister"},
               "rules": [{"apiGroups": ["tenant.kubesphere.io"], "resources": ["workspaces"], "verbs": ["list"]}]}),
    ));
    writes.push((
        key(iam, "globalrolebindings", None, "bench-member-tenant-lister"),
        json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GlobalRoleBinding",
               "metadata": {"name": "bench-member-tenant-lister"},
               "roleRef": {"apiGroup": iam, "kind": "GlobalRole", "name": "bench-tenant-lister"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": member}]}),
    ));
    writes
}

fn bench(c: &mut Criterion) {
    let factor: usize = std::env::var("KS_KAPIS_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = runtime.block_on(async {
        let mut config = ks_apiserver::Config::new(dir.path());
        config.in_memory = true;
        config.plain_http = true;
        config.listen = "127.0.0.1:0".parse().unwrap();
        // The API alone: the controllers have their own benchmark.
        config.controllers = None;
        ks_apiserver::start(config).await.unwrap()
    });
    let shape = Shape::ISSUE.scaled_down(factor);
    let users = 100_000 / factor;
    let label = format!("{}k-users", users / 1000);
    let policy = generate(&shape);
    let started = Instant::now();
    runtime.block_on(async {
        load(&server.app.store, &policy).await;
        put_all(&server.app.store, scenario(&shape, users)).await;
        server.rbac.settled().await;
    });
    eprintln!(
        "{label}: loaded {} workspaces, {} namespaces, {users} users, {} bindings in {:?}",
        shape.workspaces,
        shape.namespaces,
        policy.binding_count(),
        started.elapsed()
    );
    let mut connection = runtime.block_on(Connection::open(&server.url));
    let member = runtime.block_on(async {
        // A real login: the member's token costs what a member's does.
        let internal = ks_apiserver::internal::Internal::new(std::sync::Arc::clone(&server.app));
        internal
            .create(
                "/apis/iam.kubesphere.io/v1alpha2/users",
                &json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
                        "metadata": {"name": "bench-member"},
                        "spec": {"email": "bench-member@example.com", "password": "Bench-pass-123"}}),
            )
            .await
            .unwrap();
        connection.token("bench-member", "Bench-pass-123").await
    });
    let admin = server.admin_token.clone();
    let mut group = c.benchmark_group(format!("kapis/{label}"));
    group.sample_size(20);
    let cases = [
        (
            "namespaces/page-50",
            "/kapis/resources.kubesphere.io/v1alpha3/namespaces?sortBy=name&limit=10&page=50",
        ),
        (
            "tenant-namespaces/page-50",
            "/kapis/tenant.kubesphere.io/v1alpha2/namespaces?sortBy=name&limit=10&page=50",
        ),
        (
            "users/page-1-by-creation",
            "/kapis/iam.kubesphere.io/v1alpha2/users?sortBy=createTime&limit=10",
        ),
        (
            "workspaces/admin",
            "/kapis/tenant.kubesphere.io/v1alpha2/workspaces?limit=10",
        ),
    ];
    for (name, path) in cases {
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(connection.get(black_box(path), &admin)))
        });
    }
    let path = "/kapis/tenant.kubesphere.io/v1alpha2/workspaces";
    let listed = runtime.block_on(connection.get(path, &member));
    let listed: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    assert_eq!(listed["totalItems"], 10.min(shape.workspaces), "{listed}");
    group.bench_function("workspaces/member-of-10", |b| {
        b.iter(|| runtime.block_on(connection.get(black_box(path), &member)))
    });
    // What every console workspace page asks first, as the member: its
    // roles' templates in the workspace, and the overview's counts.
    let roles = "/kapis/iam.kubesphere.io/v1alpha2/workspaces/ws-0/workspacemembers/bench-member/workspaceroles";
    let answer = runtime.block_on(connection.get(roles, &member));
    assert!(
        answer.starts_with(b"["),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    group.bench_function("workspace-member-roles", |b| {
        b.iter(|| runtime.block_on(connection.get(black_box(roles), &member)))
    });
    let statistics = "/kapis/monitoring.kubesphere.io/v1alpha3/workspaces/ws-0?type=statistics";
    group.bench_function("workspace-statistics", |b| {
        b.iter(|| runtime.block_on(connection.get(black_box(statistics), &admin)))
    });
    // The same question in the cluster and in a namespace (the cluster
    // pages and every project page ask it), as the admin.
    let scoped = [
        (
            "cluster-member-roles",
            "/kapis/iam.kubesphere.io/v1alpha2/clustermembers/bench-member/clusterroles",
        ),
        (
            "namespace-member-roles",
            "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns-0/members/bench-member/roles",
        ),
    ];
    for (name, path) in scoped {
        let answer = runtime.block_on(connection.get(path, &admin));
        assert_eq!(&answer[..], b"[]", "{}", String::from_utf8_lossy(&answer));
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(connection.get(black_box(path), &admin)))
        });
    }
    group.finish();
    runtime.block_on(server.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
