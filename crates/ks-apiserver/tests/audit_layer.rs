//! The audit layer through an axum chain shaped like the server's:
//! a request-info stand-in, the audit layer, an authn/authz stand-in
//! (401, 403, impersonation), then handlers. Each case reads the JSON
//! lines the auditor wrote.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use futures_util::FutureExt as _;
use http_body_util::BodyExt as _;
use ks_apiserver::ApiError;
use ks_apiserver::audit::{AuditConfig, AuditLayer, AuditLevel, AuditSink, AuditTask, Auditor};
use ks_apiserver::context::{Decision, RequestRecord};
use ks_kube_api::UserInfo;
use ks_request_info::Resolver;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// A marker no record may ever contain.
const SECRET: &str = "s3cr3t-marker-7f1c";

struct Harness {
    router: Router,
    auditor: Auditor,
    task: Option<AuditTask>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new(level: AuditLevel) -> Harness {
        Self::with(AuditConfig {
            level,
            ..AuditConfig::default()
        })
    }

    fn with(mut config: AuditConfig) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.log");
        config.sink = Some(AuditSink::Path(log.clone()));
        let (auditor, task) = Auditor::spawn(config).unwrap();
        let router = handlers()
            .layer(from_fn(authenticate_and_authorize))
            .layer(AuditLayer::new(auditor.clone()))
            .layer(from_fn(request_info));
        Harness {
            router,
            auditor,
            task: Some(task),
            log,
            _dir: dir,
        }
    }

    /// Sends a request and reads its whole response.
    async fn send(&self, request: http::Request<Body>) -> (u16, String) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// The raw log, once everything recorded so far is written.
    async fn raw(&self) -> String {
        self.auditor.flush().await;
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn events(&self) -> Vec<Value> {
        self.raw()
            .await
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The only event recorded so far.
    async fn event(&self) -> Value {
        let mut events = self.events().await;
        assert_eq!(events.len(), 1, "{events:#?}");
        events.pop().unwrap()
    }

    async fn shutdown(mut self) {
        self.task.take().unwrap().shutdown().await;
    }
}

fn request(method: &str, uri: &str) -> http::request::Builder {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", "Bearer alice")
        .header("user-agent", "kubectl/v1.33 test")
}

fn empty(method: &str, uri: &str) -> http::Request<Body> {
    request(method, uri).body(Body::empty()).unwrap()
}

fn json_request(method: &str, uri: &str, body: &Value) -> http::Request<Body> {
    request(method, uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// The request-info filter's part: the record.
async fn request_info(mut request: Request, next: Next) -> Response {
    let info = Resolver::default()
        .parse_uri(request.method(), request.uri())
        .unwrap()
        .into_owned();
    let ua = request
        .headers()
        .get("user-agent")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let record = RequestRecord::new(
        "0b4e1c1a-audit".into(),
        request.method().clone(),
        request.uri().to_string(),
        vec![
            "10.1.2.3".parse::<IpAddr>().unwrap(),
            "127.0.0.1".parse().unwrap(),
        ],
        ua,
        info,
    );
    request.extensions_mut().insert(Arc::new(record));
    next.run(request).await
}

/// Authentication, impersonation and authorization, reduced: `Bearer
/// NAME[.SIGNATURE]` is user NAME (else 401, except on /oauth), `Impersonate-User`
/// is honoured for `admin`, and the user `mallory` is refused.
async fn authenticate_and_authorize(request: Request, next: Next) -> Response {
    let record = request
        .extensions()
        .get::<Arc<RequestRecord>>()
        .unwrap()
        .clone();
    if request.uri().path().starts_with("/oauth") {
        record.set_user(UserInfo::new(
            "system:anonymous",
            ["system:unauthenticated"],
        ));
        record.set_decision(Decision {
            allowed: true,
            reason: "public path".into(),
        });
        return next.run(request).await;
    }
    let name = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        // `NAME.SIGNATURE`: the name is the user.
        .map(|token| token.split('.').next().unwrap_or_default().to_owned());
    let Some(name) = name else {
        return ApiError::unauthorized("Unauthorized").into_response();
    };
    let mut user = UserInfo::new(name.clone(), ["system:authenticated"]);
    user.uid = format!("uid-{name}");
    record.set_user(user.clone());
    if let Some(target) = request.headers().get("impersonate-user") {
        if name != "admin" {
            record.set_decision(Decision {
                allowed: false,
                reason: "no impersonate permission".into(),
            });
            return ApiError::forbidden("cannot impersonate").into_response();
        }
        let target = target.to_str().unwrap();
        user = UserInfo::new(target, ["system:authenticated"]);
        record.set_impersonated(user.clone());
    }
    if user.name == "mallory" {
        record.set_decision(Decision {
            allowed: false,
            reason: "no RBAC rule allows it".into(),
        });
        return ks_apiserver::filters::forbidden(&record.info, &user).into_response();
    }
    record.set_decision(Decision {
        allowed: true,
        reason: "RBAC: allowed by ClusterRoleBinding \"x\"".into(),
    });
    next.run(request).await
}

/// A JSON answer (axum's `json` feature is off).
struct Json(Value);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        (
            [(http::header::CONTENT_TYPE, "application/json")],
            self.0.to_string(),
        )
            .into_response()
    }
}

/// Handlers that echo what they read (so a test sees the body arrived
/// whole) and answer with objects.
fn handlers() -> Router {
    async fn echo(request: Request) -> Response {
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let mut object: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
        object["metadata"]["resourceVersion"] = json!("7");
        object["readBytes"] = json!(body.len());
        (http::StatusCode::CREATED, Json(object)).into_response()
    }
    async fn token(request: Request) -> Response {
        let _ = request.into_body().collect().await.unwrap();
        Json(json!({"access_token": SECRET, "refresh_token": SECRET, "token_type": "Bearer"}))
            .into_response()
    }
    async fn watch(
        axum::extract::Path((ns, _)): axum::extract::Path<(String, String)>,
    ) -> Response {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
        STREAMS.lock().unwrap().insert(ns, tx);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Body::from_stream(stream).into_response()
    }
    Router::new()
        .route(
            "/api/v1/namespaces/{ns}/pods",
            post(echo).get(|| async { Json(json!({"kind": "PodList", "items": []})) }),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}",
            get(|| async { Json(json!({"kind": "Pod", "metadata": {"name": "p1"}})) }).put(echo),
        )
        .route("/api/v1/namespaces/{ns}/secrets", post(echo))
        .route(
            "/api/v1/namespaces/{ns}/secrets/{name}",
            get(|| async { Json(json!({"kind": "Secret", "data": {"password": SECRET}})) }),
        )
        .route("/api/v1/namespaces/{ns}/configmaps", post(echo))
        .route("/apis/iam.kubesphere.io/v1alpha2/users", post(echo))
        .route(
            "/kapis/iam.kubesphere.io/v1alpha2/users/{name}/password",
            any(echo),
        )
        .route(
            "/kapis/iam.kubesphere.io/v1alpha2/workspaces/{ws}/members",
            get(|| async { "[]" }),
        )
        .route("/oauth/token", post(token))
        .route("/oauth/authorize", get(|| async { "ok" }))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/version",
            get(|| async { Json(json!({"gitVersion": "v1.33.0"})) }),
        )
        .route("/api/v1/namespaces/{ns}/pods/{name}/log", get(watch))
        .route(
            "/api/v1/namespaces/{ns}/configmaps/{name}",
            get(|| async {
                if std::env::var_os("NEVER_SET_aa71").is_none() {
                    panic!("handler exploded");
                }
                "unreachable"
            }),
        )
}

type Chunk = Result<bytes::Bytes, std::io::Error>;

/// The open log streams, by namespace (one per test).
static STREAMS: std::sync::Mutex<
    std::collections::BTreeMap<String, tokio::sync::mpsc::Sender<Chunk>>,
> = std::sync::Mutex::new(std::collections::BTreeMap::new());

fn stream(ns: &str) -> Option<tokio::sync::mpsc::Sender<Chunk>> {
    STREAMS.lock().unwrap().remove(ns)
}

#[tokio::test]
async fn metadata_event_has_kubernetes_fields() {
    let h = Harness::new(AuditLevel::Metadata);
    let (status, _) = h
        .send(empty(
            "GET",
            "/api/v1/namespaces/ns1/pods/p1?resourceVersion=0",
        ))
        .await;
    assert_eq!(status, 200);
    let e = h.event().await;
    assert_eq!(e["kind"], "Event");
    assert_eq!(e["apiVersion"], "audit.k8s.io/v1");
    assert_eq!(e["level"], "Metadata");
    assert_eq!(e["auditID"], "0b4e1c1a-audit");
    assert_eq!(e["stage"], "ResponseComplete");
    assert_eq!(
        e["requestURI"],
        "/api/v1/namespaces/ns1/pods/p1?resourceVersion=0"
    );
    assert_eq!(e["verb"], "get");
    assert_eq!(
        e["user"],
        json!({"username": "alice", "uid": "uid-alice", "groups": ["system:authenticated"]})
    );
    assert!(e.get("impersonatedUser").is_none());
    assert_eq!(e["sourceIPs"], json!(["10.1.2.3", "127.0.0.1"]));
    assert_eq!(e["userAgent"], "kubectl/v1.33 test");
    assert_eq!(
        e["objectRef"],
        json!({"resource": "pods", "namespace": "ns1", "name": "p1", "apiVersion": "v1"})
    );
    assert_eq!(e["responseStatus"], json!({"metadata": {}, "code": 200}));
    assert_eq!(e["annotations"]["authorization.k8s.io/decision"], "allow");
    assert_eq!(
        e["annotations"]["authorization.k8s.io/reason"],
        "RBAC: allowed by ClusterRoleBinding \"x\""
    );
    assert!(e.get("requestObject").is_none() && e.get("responseObject").is_none());
    let received = e["requestReceivedTimestamp"].as_str().unwrap();
    let staged = e["stageTimestamp"].as_str().unwrap();
    for ts in [received, staged] {
        // RFC 3339, UTC, microseconds: 2006-01-02T15:04:05.000000Z
        assert_eq!(ts.len(), 27, "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
    }
    assert!(staged >= received);
    assert_eq!(e["Workspace"], "");
    assert_eq!(e["Cluster"], "");
    h.shutdown().await;
}

#[tokio::test]
async fn workspace_and_cluster_are_recorded() {
    let h = Harness::new(AuditLevel::Metadata);
    h.send(empty(
        "GET",
        "/kapis/iam.kubesphere.io/v1alpha2/workspaces/ws1/members",
    ))
    .await;
    let e = h.event().await;
    assert_eq!(e["Workspace"], "ws1");
    assert_eq!(e["objectRef"]["resource"], "members");
    h.shutdown().await;
}

#[tokio::test]
async fn refusals_by_inner_filters_are_recorded() {
    let h = Harness::new(AuditLevel::RequestResponse);
    // 401: no user known.
    let unauthenticated = http::Request::get("/api/v1/namespaces/ns1/pods")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(unauthenticated).await.0, 401);
    // 403 from the authorizer, with Kubernetes' Status.
    let refused = http::Request::get("/api/v1/namespaces/ns1/pods")
        .header("authorization", "Bearer mallory")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(refused).await.0, 403);
    let events = h.events().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["user"], json!({}));
    assert_eq!(events[0]["responseStatus"]["code"], 401);
    assert_eq!(events[0]["responseStatus"]["reason"], "Unauthorized");
    assert!(events[0].get("annotations").is_none());
    let e = &events[1];
    assert_eq!(e["user"]["username"], "mallory");
    assert_eq!(e["annotations"]["authorization.k8s.io/decision"], "forbid");
    assert_eq!(
        e["annotations"]["authorization.k8s.io/reason"],
        "no RBAC rule allows it"
    );
    assert_eq!(e["responseStatus"]["code"], 403);
    assert_eq!(e["responseStatus"]["status"], "Failure");
    assert_eq!(e["responseStatus"]["reason"], "Forbidden");
    assert_eq!(
        e["responseStatus"]["message"],
        r#"pods is forbidden: User "mallory" cannot list resource "pods" in API group "" in the namespace "ns1""#
    );
    h.shutdown().await;
}

#[tokio::test]
async fn impersonation_records_both_users() {
    let h = Harness::new(AuditLevel::Metadata);
    let req = http::Request::get("/api/v1/namespaces/ns1/pods")
        .header("authorization", "Bearer admin")
        .header("impersonate-user", "bob")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(req).await.0, 200);
    let e = h.event().await;
    assert_eq!(e["user"]["username"], "admin");
    assert_eq!(e["impersonatedUser"]["username"], "bob");
    h.shutdown().await;
}

#[tokio::test]
async fn request_level_records_the_request_object_and_names_created_objects() {
    let h = Harness::new(AuditLevel::Request);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": []}});
    assert_eq!(
        h.send(json_request("POST", "/api/v1/namespaces/ns1/pods", &pod))
            .await
            .0,
        201
    );
    let e = h.event().await;
    assert_eq!(e["level"], "Request");
    assert_eq!(e["verb"], "create");
    assert_eq!(e["objectRef"]["name"], "web", "named from the body");
    assert_eq!(e["requestObject"], pod);
    assert!(e.get("responseObject").is_none());
    h.shutdown().await;
}

#[tokio::test]
async fn metadata_level_names_created_objects_without_recording_them() {
    let h = Harness::new(AuditLevel::Metadata);
    let pod = json!({"kind": "Pod", "metadata": {"name": "web"}});
    h.send(json_request("POST", "/api/v1/namespaces/ns1/pods", &pod))
        .await;
    let e = h.event().await;
    assert_eq!(e["objectRef"]["name"], "web");
    assert!(e.get("requestObject").is_none());
    h.shutdown().await;
}

#[tokio::test]
async fn request_response_level_records_both_objects() {
    let h = Harness::new(AuditLevel::RequestResponse);
    let pod = json!({"kind": "Pod", "metadata": {"name": "p1"}});
    let (_, body) = h
        .send(json_request("PUT", "/api/v1/namespaces/ns1/pods/p1", &pod))
        .await;
    let e = h.event().await;
    assert_eq!(e["requestObject"], pod);
    assert_eq!(
        e["responseObject"],
        serde_json::from_str::<Value>(&body).unwrap()
    );
    assert_eq!(e["responseObject"]["metadata"]["resourceVersion"], "7");
    h.shutdown().await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_omitted_but_still_served_whole() {
    let h = Harness::with(AuditConfig {
        level: AuditLevel::RequestResponse,
        max_body_bytes: 1024,
        ..AuditConfig::default()
    });
    let big = "x".repeat(100 * 1024);
    let pod = json!({"kind": "Pod", "metadata": {"name": "big"}, "data": big});
    let sent = pod.to_string().len();
    let (status, body) = h
        .send(json_request("POST", "/api/v1/namespaces/ns1/pods", &pod))
        .await;
    assert_eq!(status, 201);
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["readBytes"], sent, "the handler read the whole body");
    let e = h.event().await;
    assert!(e.get("requestObject").is_none());
    assert!(e.get("responseObject").is_none());
    assert_eq!(
        e["annotations"]["audit.ks-rs.io/request-object"],
        "omitted: larger than 1024 bytes"
    );
    assert_eq!(
        e["annotations"]["audit.ks-rs.io/response-object"],
        "omitted: larger than 1024 bytes"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn secrets_are_recorded_at_metadata_only() {
    let h = Harness::new(AuditLevel::RequestResponse);
    let secret =
        json!({"kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": SECRET}});
    h.send(json_request(
        "POST",
        "/api/v1/namespaces/ns1/secrets",
        &secret,
    ))
    .await;
    let (_, body) = h
        .send(empty("GET", "/api/v1/namespaces/ns1/secrets/db"))
        .await;
    assert!(body.contains(SECRET), "the client still gets its secret");
    let configmap = json!({"kind": "ConfigMap", "metadata": {"name": "kubesphere-config"}, "data": {"kubesphere.yaml": SECRET}});
    h.send(json_request(
        "POST",
        "/api/v1/namespaces/ns1/configmaps",
        &configmap,
    ))
    .await;
    let raw = h.raw().await;
    assert!(!raw.contains(SECRET), "{raw}");
    let events = h.events().await;
    assert_eq!(events.len(), 3);
    for e in &events {
        assert_eq!(e["level"], "Metadata");
        assert!(e.get("requestObject").is_none() && e.get("responseObject").is_none());
    }
    assert_eq!(events[0]["objectRef"]["name"], "db");
    h.shutdown().await;
}

#[tokio::test]
async fn kubesphere_user_passwords_are_never_recorded() {
    let h = Harness::new(AuditLevel::RequestResponse);
    let user = json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User", "metadata": {"name": "bob"}, "spec": {"email": "bob@example.com", "password": SECRET}});
    h.send(json_request(
        "POST",
        "/apis/iam.kubesphere.io/v1alpha2/users",
        &user,
    ))
    .await;
    let change = json!({"currentPassword": SECRET, "password": SECRET});
    h.send(json_request(
        "PUT",
        "/kapis/iam.kubesphere.io/v1alpha2/users/bob/password",
        &change,
    ))
    .await;
    let raw = h.raw().await;
    assert!(!raw.contains(SECRET), "{raw}");
    let events = h.events().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["objectRef"]["name"], "bob");
    assert_eq!(events[1]["objectRef"]["subresource"], "password");
    h.shutdown().await;
}

#[tokio::test]
async fn oauth_bodies_queries_and_tokens_are_never_recorded() {
    let h = Harness::new(AuditLevel::RequestResponse);
    let form =
        format!("grant_type=password&username=admin&password={SECRET}&client_secret={SECRET}");
    let token = http::Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let (status, body) = h.send(token).await;
    assert_eq!(status, 200);
    assert!(body.contains(SECRET), "the client still gets its token");
    let authorize = http::Request::get(format!(
        "/oauth/authorize?client_id=kubesphere&response_type=token&password={SECRET}"
    ))
    .body(Body::empty())
    .unwrap();
    h.send(authorize).await;
    let raw = h.raw().await;
    assert!(!raw.contains(SECRET), "{raw}");
    let events = h.events().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["requestURI"], "/oauth/token");
    assert_eq!(events[0]["verb"], "post");
    assert_eq!(events[0]["level"], "Metadata");
    assert_eq!(events[1]["requestURI"], "/oauth/authorize");
    h.shutdown().await;
}

#[tokio::test]
async fn credential_headers_are_never_recorded() {
    let h = Harness::new(AuditLevel::RequestResponse);
    let mut req = json_request(
        "PUT",
        "/api/v1/namespaces/ns1/pods/p1",
        &json!({"kind": "Pod"}),
    );
    let headers = req.headers_mut();
    headers.insert(
        "authorization",
        format!("Bearer alice.{SECRET}").parse().unwrap(),
    );
    headers.insert("cookie", format!("token={SECRET}").parse().unwrap());
    headers.insert("impersonate-group", SECRET.parse().unwrap());
    headers.insert("impersonate-extra-scopes", SECRET.parse().unwrap());
    headers.insert("x-other", SECRET.parse().unwrap());
    h.send(req).await;
    let raw = h.raw().await;
    assert_eq!(raw.lines().count(), 1);
    assert!(!raw.contains(SECRET), "{raw}");
    h.shutdown().await;
}

#[tokio::test]
async fn health_probes_are_not_audited() {
    let h = Harness::new(AuditLevel::RequestResponse);
    assert_eq!(h.send(empty("GET", "/healthz")).await.0, 200);
    assert_eq!(h.send(empty("GET", "/version")).await.0, 200);
    let events = h.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["requestURI"], "/version");
    assert!(events[0].get("objectRef").is_none(), "non-resource request");
    assert!(
        events[0].get("responseObject").is_none(),
        "objects are for resource requests"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn requests_without_a_record_pass_unaudited() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let (auditor, task) = Auditor::spawn(AuditConfig {
        sink: Some(AuditSink::Path(log.clone())),
        ..AuditConfig::default()
    })
    .unwrap();
    let router = Router::new()
        .route("/x", get(|| async { "ok" }))
        .layer(AuditLayer::new(auditor.clone()));
    let response = router.oneshot(empty("GET", "/x")).await.unwrap();
    assert_eq!(response.status(), 200);
    auditor.flush().await;
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "");
    task.shutdown().await;
}

#[tokio::test]
async fn long_running_requests_stream_and_are_recorded_at_both_stages() {
    let h = Harness::new(AuditLevel::RequestResponse);
    let response = h
        .router
        .clone()
        .oneshot(empty(
            "GET",
            "/api/v1/namespaces/streaming/pods/p1/log?follow=true",
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let tx = stream("streaming").unwrap();
    let events = h.events().await;
    assert_eq!(events.len(), 1, "ResponseStarted at header time");
    assert_eq!(events[0]["stage"], "ResponseStarted");
    assert_eq!(events[0]["responseStatus"]["code"], 200);
    // Chunks reach the client one by one while the stream is open.
    let mut body = response.into_body();
    tx.send(Ok(bytes::Bytes::from_static(b"line 1\n")))
        .await
        .unwrap();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "line 1\n");
    tx.send(Ok(bytes::Bytes::from_static(b"line 2\n")))
        .await
        .unwrap();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "line 2\n");
    assert_eq!(h.events().await.len(), 1, "still streaming");
    drop(tx);
    assert!(body.frame().await.is_none());
    let events = h.events().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["stage"], "ResponseComplete");
    assert_eq!(events[1]["auditID"], events[0]["auditID"]);
    assert!(events[1].get("responseObject").is_none());
    h.shutdown().await;
}

#[tokio::test]
async fn a_client_that_goes_away_still_leaves_a_record() {
    let h = Harness::new(AuditLevel::Metadata);
    let response = h
        .router
        .clone()
        .oneshot(empty("GET", "/api/v1/namespaces/gone/pods/p1/log"))
        .await
        .unwrap();
    let _tx = stream("gone");
    drop(response);
    let events = h.events().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["stage"], "ResponseComplete");
    h.shutdown().await;
}

#[tokio::test]
async fn a_panicking_handler_is_recorded_at_the_panic_stage() {
    let h = Harness::new(AuditLevel::Metadata);
    let call = h
        .router
        .clone()
        .oneshot(empty("GET", "/api/v1/namespaces/ns1/configmaps/c"));
    let outcome = std::panic::AssertUnwindSafe(call).catch_unwind().await;
    assert!(outcome.is_err(), "the panic goes on");
    let e = h.event().await;
    assert_eq!(e["stage"], "Panic");
    assert_eq!(e["responseStatus"]["code"], 500);
    assert_eq!(e["responseStatus"]["reason"], "InternalError");
    assert_eq!(
        e["responseStatus"]["message"],
        "APIServer panic'd: handler exploded"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn level_none_records_nothing() {
    let h = Harness::new(AuditLevel::None);
    assert_eq!(
        h.send(empty("GET", "/api/v1/namespaces/ns1/pods")).await.0,
        200
    );
    assert_eq!(h.raw().await, "");
    h.shutdown().await;
}
