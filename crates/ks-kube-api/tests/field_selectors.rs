//! Field selectors on kinds' own fields, through the router: events
//! through both Event APIs (list, watch, deletecollection), the exact
//! query `kubectl describe` sends, namespaces and secrets, and
//! Kubernetes' refusals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use ks_kube_api::App;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Server {
    app: Arc<App>,
    store: Arc<ks_store::Store>,
}

impl Server {
    async fn new() -> Server {
        let store = Arc::new(ks_store::Store::in_memory(Default::default()));
        let server = Server {
            app: App::new(store.clone()),
            store,
        };
        server
            .ok(
                "POST",
                "/api/v1/namespaces",
                Some(json!({"metadata": {"name": "default"}})),
            )
            .await;
        server
    }

    async fn send(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let response = ks_kube_api::router(Arc::clone(&self.app))
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, bytes.to_vec())
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, bytes) = self.send(method, uri, body).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A call that must succeed.
    async fn ok(&self, method: &str, uri: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(method, uri, body).await;
        assert!(status.is_success(), "{method} {uri}: {status} {value}");
        value
    }

    /// The names of a list's items.
    async fn names(&self, uri: &str) -> Vec<String> {
        let list = self.ok("GET", uri, None).await;
        names(&list["items"])
    }

    /// A watch's events as `TYPE name`, the stream cut by its timeout.
    async fn watch(&self, uri: &str) -> Vec<Value> {
        let (status, bytes) = self.send("GET", uri, None).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    /// The store's revision, as a list reports it.
    async fn revision(&self) -> String {
        let list = self.ok("GET", CORE, None).await;
        list["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn names(items: &Value) -> Vec<String> {
    let mut names: Vec<String> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// `TYPE name` of watch events.
fn summary(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["type"].as_str().unwrap(),
                e["object"]["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

const CORE: &str = "/api/v1/namespaces/default/events";
const V1: &str = "/apis/events.k8s.io/v1/namespaces/default/events";
const W1_UID: &str = "6f1c0d3e-4a2b-4c8d-9e10-2b7f5a6c1d84";

/// A core/v1 event (the old style kubectl's recorders write).
fn core_event(name: &str, involved: Value, reason: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": "default"},
        "involvedObject": involved,
        "reason": reason, "type": "Normal", "message": format!("{name} happened"),
        "source": {"component": "ks-controller-manager"},
        "firstTimestamp": "2026-01-02T03:04:05Z", "lastTimestamp": "2026-01-02T03:04:05Z", "count": 1,
    })
}

/// The cluster-scoped object `kubectl describe workspacetemplate w1` is about.
fn workspace_template(name: &str, uid: &str) -> Value {
    json!({"apiVersion": "tenant.kubesphere.io/v1alpha2", "kind": "WorkspaceTemplate", "name": name, "uid": uid})
}

/// Events about w1 through both APIs, about another w2, about a
/// ConfigMap w1 and about w1 of another uid (an older w1).
async fn seed(server: &Server) {
    for event in [
        core_event("w1.1", workspace_template("w1", W1_UID), "Synced"),
        core_event("w2.1", workspace_template("w2", "uid-w2"), "Synced"),
        core_event("w1.old", workspace_template("w1", "uid-old"), "Synced"),
        core_event(
            "cm.1",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "w1", "namespace": "default", "uid": "uid-cm"}),
            "Failed",
        ),
    ] {
        server.ok("POST", CORE, Some(event)).await;
    }
    // What kube-runtime's Recorder publishes.
    server
        .ok(
            "POST",
            V1,
            Some(json!({
                "apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": {"name": "w1.2", "namespace": "default"},
                "eventTime": "2026-01-02T03:04:06.000000Z",
                "regarding": workspace_template("w1", W1_UID),
                "note": "reconciled", "reason": "Reconciled", "action": "Reconcile", "type": "Normal",
                "reportingController": "ks-controller-manager",
                "reportingInstance": "ks-controller-manager-0",
            })),
        )
        .await;
}

#[tokio::test]
async fn kubectl_describe_finds_the_events_of_a_cluster_scoped_object() {
    let server = Server::new().await;
    seed(&server).await;
    // Exactly what kubectl describe sends (url.Values encoding), and the
    // same query with the selector unencoded.
    let encoded = format!(
        "/api/v1/events?fieldSelector=involvedObject.name%3Dw1%2CinvolvedObject.namespace%3D%2CinvolvedObject.kind%3DWorkspaceTemplate%2CinvolvedObject.uid%3D{W1_UID}&limit=500"
    );
    let plain = format!(
        "/api/v1/events?fieldSelector=involvedObject.name=w1,involvedObject.namespace=,involvedObject.kind=WorkspaceTemplate,involvedObject.uid={W1_UID}&limit=500"
    );
    for uri in [encoded, plain] {
        let list = server.ok("GET", &uri, None).await;
        assert_eq!(list["kind"], "EventList");
        assert_eq!(names(&list["items"]), ["w1.1", "w1.2"], "{uri}");
        // Served as core events, whichever API wrote them.
        let recorded = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["metadata"]["name"] == "w1.2")
            .unwrap();
        assert_eq!(recorded["involvedObject"]["uid"], W1_UID);
        assert_eq!(recorded["reportingComponent"], "ks-controller-manager");
    }
    server.store.shutdown().await;
}

#[tokio::test]
async fn kubectl_describe_finds_the_events_of_a_namespaced_object() {
    let server = Server::new().await;
    seed(&server).await;
    let uri = format!(
        "{CORE}?fieldSelector=involvedObject.name%3Dw1%2CinvolvedObject.namespace%3Ddefault%2CinvolvedObject.kind%3DConfigMap%2CinvolvedObject.uid%3Duid-cm&limit=500"
    );
    assert_eq!(server.names(&uri).await, ["cm.1"]);
    server.store.shutdown().await;
}

#[tokio::test]
async fn core_event_lists_select_on_every_event_field() {
    let server = Server::new().await;
    seed(&server).await;
    let cases: &[(&str, &[&str])] = &[
        (
            "involvedObject.name=w1",
            &["cm.1", "w1.1", "w1.2", "w1.old"],
        ),
        (
            "involvedObject.name=w1,involvedObject.kind!=ConfigMap",
            &["w1.1", "w1.2", "w1.old"],
        ),
        ("involvedObject.namespace=default", &["cm.1"]),
        ("involvedObject.apiVersion=v1", &["cm.1"]),
        ("involvedObject.uid=uid-old", &["w1.old"]),
        (
            "involvedObject.resourceVersion=,involvedObject.fieldPath=,reason=Failed",
            &["cm.1"],
        ),
        ("reason=Reconciled", &["w1.2"]),
        ("type=Normal,reason!=Synced", &["cm.1", "w1.2"]),
        ("reportingComponent=ks-controller-manager", &["w1.2"]),
        // The core events' source component, and the recorder's
        // reporting controller for the one without a source.
        (
            "source=ks-controller-manager",
            &["cm.1", "w1.1", "w1.2", "w1.old", "w2.1"],
        ),
        ("metadata.name=w2.1,reason=Synced", &["w2.1"]),
        ("metadata.namespace=other,reason=Synced", &[]),
    ];
    for (selector, want) in cases {
        let uri = format!(
            "{CORE}?fieldSelector={}",
            selector.replace(',', "%2C").replace('=', "%3D")
        );
        assert_eq!(server.names(&uri).await, *want, "{selector}");
    }
    // Paged, the selector holds on every page.
    let first = server
        .ok(
            "GET",
            &format!("{CORE}?fieldSelector=reason%3DSynced&limit=2"),
            None,
        )
        .await;
    assert_eq!(names(&first["items"]), ["w1.1", "w1.old"]);
    assert!(first["metadata"].get("remainingItemCount").is_none());
    let token = first["metadata"]["continue"].as_str().unwrap();
    let rest = server
        .ok(
            "GET",
            &format!("{CORE}?fieldSelector=reason%3DSynced&limit=2&continue={token}"),
            None,
        )
        .await;
    assert_eq!(names(&rest["items"]), ["w2.1"]);
    server.store.shutdown().await;
}

#[tokio::test]
async fn events_k8s_io_lists_select_on_their_own_names() {
    let server = Server::new().await;
    seed(&server).await;
    let list = server
        .ok(
            "GET",
            &format!("{V1}?fieldSelector=regarding.kind%3DWorkspaceTemplate%2Cregarding.name%3Dw1%2Cregarding.uid%3D{W1_UID}"),
            None,
        )
        .await;
    assert_eq!(list["kind"], "EventList");
    assert_eq!(list["apiVersion"], "events.k8s.io/v1");
    assert_eq!(names(&list["items"]), ["w1.1", "w1.2"]);
    // Served in the events.k8s.io form.
    assert_eq!(list["items"][0]["regarding"]["name"], "w1");
    assert!(list["items"][0].get("involvedObject").is_none());
    let cases: &[(&str, &[&str])] = &[
        ("regarding.namespace=default", &["cm.1"]),
        (
            "regarding.apiVersion=v1,regarding.resourceVersion=,regarding.fieldPath=",
            &["cm.1"],
        ),
        ("reportingController=ks-controller-manager", &["w1.2"]),
        (
            "source=ks-controller-manager,reason=Reconciled,type=Normal",
            &["w1.2"],
        ),
        ("metadata.name=cm.1", &["cm.1"]),
    ];
    for (selector, want) in cases {
        let uri = format!(
            "{V1}?fieldSelector={}",
            selector.replace(',', "%2C").replace('=', "%3D")
        );
        assert_eq!(server.names(&uri).await, *want, "{selector}");
    }
    server.store.shutdown().await;
}

#[tokio::test]
async fn unsupported_field_labels_are_refused_as_kubernetes_does() {
    let server = Server::new().await;
    let cases = [
        (
            format!("{CORE}?fieldSelector=regarding.kind%3DPod"),
            "field label not supported: regarding.kind",
        ),
        (
            format!("{CORE}?fieldSelector=message%3Dx"),
            "field label not supported: message",
        ),
        (
            format!("{V1}?fieldSelector=involvedObject.kind%3DPod"),
            "field label not supported: involvedObject.kind",
        ),
        (
            format!("{V1}?fieldSelector=deprecatedSource%3Dx"),
            "field label not supported: deprecatedSource",
        ),
        (
            format!("{V1}?watch=1&fieldSelector=reportingComponent%3Dx"),
            "field label not supported: reportingComponent",
        ),
        (
            "/api/v1/namespaces?fieldSelector=metadata.namespace%3Dx".to_owned(),
            "field label not supported: metadata.namespace",
        ),
        (
            "/api/v1/namespaces/default/configmaps?fieldSelector=data.x%3Dy".to_owned(),
            r#""data.x" is not a known field selector: only "metadata.name", "metadata.namespace""#,
        ),
    ];
    for (uri, message) in cases {
        let (status, err) = server.call("GET", &uri, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {err}");
        assert_eq!(err["kind"], "Status");
        assert_eq!(err["reason"], "BadRequest");
        assert_eq!(err["message"], message, "{uri}");
    }
    let (status, _) = server
        .call(
            "DELETE",
            &format!("{CORE}?fieldSelector=involvedObject.name%3Dx%2Cnote%3Dy"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.store.shutdown().await;
}

#[tokio::test]
async fn watches_select_on_event_fields_and_follow_objects_in_and_out() {
    let server = Server::new().await;
    seed(&server).await;
    let rv = server.revision().await;

    // After rv: a new matching event, one that stops matching, one that
    // starts, one changed while outside, one deleted while inside.
    server
        .ok(
            "POST",
            CORE,
            Some(core_event(
                "w1.3",
                workspace_template("w1", W1_UID),
                "Synced",
            )),
        )
        .await;
    let mut w11 = server.ok("GET", &format!("{CORE}/w1.1"), None).await;
    w11["reason"] = json!("Failed");
    let w11 = server.ok("PUT", &format!("{CORE}/w1.1"), Some(w11)).await;
    let mut cm = server.ok("GET", &format!("{CORE}/cm.1"), None).await;
    cm["reason"] = json!("Synced");
    server.ok("PUT", &format!("{CORE}/cm.1"), Some(cm)).await;
    let mut w21 = server.ok("GET", &format!("{CORE}/w2.1"), None).await;
    w21["reason"] = json!("Failed");
    let mut w21 = server.ok("PUT", &format!("{CORE}/w2.1"), Some(w21)).await;
    w21["message"] = json!("still failing");
    server.ok("PUT", &format!("{CORE}/w2.1"), Some(w21)).await;
    server.ok("DELETE", &format!("{CORE}/w1.old"), None).await;

    let events = server
        .watch(&format!(
            "{CORE}?watch=1&resourceVersion={rv}&timeoutSeconds=1&fieldSelector=reason%3DSynced"
        ))
        .await;
    assert_eq!(
        summary(&events),
        [
            "ADDED w1.3",
            "DELETED w1.1",
            "ADDED cm.1",
            "DELETED w2.1",
            "DELETED w1.old"
        ]
    );
    // An object leaving the selection is DELETED with its last matching
    // content, at the revision of the change that made it leave.
    let left = &events[1]["object"];
    assert_eq!(left["reason"], "Synced");
    assert_eq!(
        left["metadata"]["resourceVersion"],
        w11["metadata"]["resourceVersion"]
    );

    // Without a resourceVersion: the matching objects first, as ADDED.
    let events = server
        .watch(&format!(
            "/api/v1/events?watch=1&timeoutSeconds=1&fieldSelector=involvedObject.name%3Dw1%2CinvolvedObject.namespace%3D%2CinvolvedObject.kind%3DWorkspaceTemplate%2CinvolvedObject.uid%3D{W1_UID}"
        ))
        .await;
    let mut seen = summary(&events);
    seen.sort();
    assert_eq!(seen, ["ADDED w1.1", "ADDED w1.2", "ADDED w1.3"]);

    // events.k8s.io watches take their own names and serve their form.
    let events = server
        .watch(&format!(
            "{V1}?watch=1&resourceVersion={rv}&timeoutSeconds=1&fieldSelector=regarding.name%3Dw1%2Creason%3DSynced"
        ))
        .await;
    assert_eq!(
        summary(&events),
        ["ADDED w1.3", "DELETED w1.1", "ADDED cm.1", "DELETED w1.old"]
    );
    assert_eq!(events[0]["object"]["apiVersion"], "events.k8s.io/v1");
    assert_eq!(events[0]["object"]["regarding"]["name"], "w1");
    server.store.shutdown().await;
}

#[tokio::test]
async fn deletecollection_deletes_only_the_selected_events() {
    let server = Server::new().await;
    seed(&server).await;
    let deleted = server
        .ok("DELETE", &format!("{CORE}?fieldSelector=involvedObject.name%3Dw1%2CinvolvedObject.kind%3DWorkspaceTemplate"), None)
        .await;
    assert_eq!(names(&deleted["items"]), ["w1.1", "w1.2", "w1.old"]);
    assert_eq!(server.names(CORE).await, ["cm.1", "w2.1"]);
    server.store.shutdown().await;
}

#[tokio::test]
async fn namespaces_select_on_phase_and_secrets_on_type() {
    let server = Server::new().await;
    server
        .ok(
            "POST",
            "/api/v1/namespaces",
            Some(json!({"metadata": {"name": "apps"}})),
        )
        .await;
    server.ok("DELETE", "/api/v1/namespaces/apps", None).await;
    assert_eq!(
        server
            .names("/api/v1/namespaces?fieldSelector=status.phase%3DActive")
            .await,
        ["default"]
    );
    assert_eq!(
        server
            .names(
                "/api/v1/namespaces?fieldSelector=status.phase%3DTerminating%2Cmetadata.name%3Dapps"
            )
            .await,
        ["apps"]
    );
    let secrets = "/api/v1/namespaces/default/secrets";
    server
        .ok(
            "POST",
            secrets,
            Some(json!({"metadata": {"name": "plain"}, "stringData": {"a": "b"}})),
        )
        .await;
    server
        .ok(
            "POST",
            secrets,
            Some(json!({"metadata": {"name": "token"}, "type": "kubernetes.io/basic-auth", "stringData": {"username": "u"}})),
        )
        .await;
    assert_eq!(
        server
            .names(&format!("{secrets}?fieldSelector=type%3DOpaque"))
            .await,
        ["plain"]
    );
    assert_eq!(
        server
            .names("/api/v1/secrets?fieldSelector=type%21%3DOpaque%2Cmetadata.namespace%3Ddefault")
            .await,
        ["token"]
    );
    server.store.shutdown().await;
}
