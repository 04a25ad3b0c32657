//! Extending the API from outside the crate: a new built-in kind through
//! its strategy alone, and admission plugins in the chain. Requests go to
//! the router as a tower Service, with no socket.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use ks_kube_api::admission::{AdmissionPlugin, AdmissionRequest};
use ks_kube_api::error::ApiResult;
use ks_kube_api::kinds::{Names, Strategy, Validation};
use ks_kube_api::table::{Cell, TableColumn};
use ks_kube_api::{ApiError, App, UserInfo};
use serde_json::{Value, json};
use tower::ServiceExt;

/// `example.ks-rs.io/v1` Widget: namespaced, `spec.size` must be
/// positive, printed with a computed column.
#[derive(Debug)]
struct Widgets;

impl Strategy for Widgets {
    fn names(&self) -> Names {
        Names::new("example.ks-rs.io", "v1", "Widget", "widgets").short_names(&["wg"])
    }

    fn validate(
        &self,
        obj: &mut Value,
        _old: Option<&Value>,
        cx: &mut Validation,
    ) -> ApiResult<()> {
        match obj.pointer("/spec/size").and_then(Value::as_i64) {
            Some(n) if n > 0 => {}
            _ => cx.causes.push(ks_kube_api::error::Cause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: must be a positive integer".into(),
                field: "spec.size".into(),
            }),
        }
        Ok(())
    }

    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        Some(vec![
            TableColumn::name(),
            TableColumn {
                definition: TableColumn::definition("Double", "integer", "", "Twice the size", 0),
                cell: Cell::Computed(|obj| {
                    json!(
                        obj.pointer("/spec/size")
                            .and_then(Value::as_i64)
                            .unwrap_or(0)
                            * 2
                    )
                }),
            },
        ])
    }
}

struct Client {
    router: axum::Router,
}

impl Client {
    fn new(app: Arc<App>) -> Client {
        Client {
            router: ks_kube_api::router(app),
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body.to_vec())
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(method, uri, body, None).await
    }

    async fn call_as(
        &self,
        method: &str,
        uri: &str,
        body: Option<Value>,
        user: Option<UserInfo>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        if let Some(user) = user {
            request.extensions_mut().insert(user);
        }
        let (status, bytes) = self.send(request).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn store() -> Arc<ks_store::Store> {
    Arc::new(ks_store::Store::in_memory(Default::default()))
}

async fn with_default_namespace(client: &Client) {
    let (status, _) = client
        .call(
            "POST",
            "/api/v1/namespaces",
            Some(json!({"metadata": {"name": "default"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

fn widget(name: &str, size: i64) -> Value {
    json!({"apiVersion": "example.ks-rs.io/v1", "kind": "Widget",
        "metadata": {"name": name}, "spec": {"size": size}})
}

#[tokio::test]
async fn a_kind_registered_through_its_strategy_alone_is_served() {
    let store = store();
    let app = App::builder(store.clone()).kind(Arc::new(Widgets)).build();
    let client = Client::new(app);
    with_default_namespace(&client).await;

    // Discovery lists it, with its short name.
    let (status, list) = client.call("GET", "/apis/example.ks-rs.io/v1", None).await;
    assert_eq!(status, StatusCode::OK);
    let resource = &list["resources"][0];
    assert_eq!(resource["name"], "widgets");
    assert_eq!(resource["namespaced"], true);
    assert_eq!(resource["shortNames"], json!(["wg"]));

    let base = "/apis/example.ks-rs.io/v1/namespaces/default/widgets";
    let (status, created) = client.call("POST", base, Some(widget("w1", 3))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["metadata"]["uid"].is_string());

    // The strategy's validation runs.
    let (status, invalid) = client.call("POST", base, Some(widget("w2", 0))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid["details"]["causes"][0]["field"], "spec.size");

    let (status, got) = client.call("GET", &format!("{base}/w1"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["spec"]["size"], 3);

    let (status, list) = client.call("GET", base, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["kind"], "WidgetList");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["w1"]);

    // The strategy's table columns, computed cell included.
    let request = Request::builder()
        .uri(base)
        .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
        .body(Body::empty())
        .unwrap();
    let (status, bytes) = client.send(request).await;
    assert_eq!(status, StatusCode::OK);
    let table: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["columnDefinitions"][1]["name"], "Double");
    assert_eq!(table["rows"][0]["cells"], json!(["w1", 6]));

    // Watch from the list's revision sees a later write.
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = client.call("POST", base, Some(widget("w3", 5))).await;
    assert_eq!(status, StatusCode::CREATED);
    let request = Request::builder()
        .uri(format!(
            "{base}?watch=1&resourceVersion={rv}&timeoutSeconds=1"
        ))
        .body(Body::empty())
        .unwrap();
    let (status, bytes) = client.send(request).await;
    assert_eq!(status, StatusCode::OK);
    let events: Vec<Value> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "w3");
    store.shutdown().await;
}

/// Records what it sees; mutates by adding a label; rejects objects named
/// `bad-*` in the validating phase.
#[derive(Debug)]
struct Recorder {
    name: &'static str,
    log: Arc<Mutex<Vec<String>>>,
    mutate: bool,
    reject_bad: bool,
}

#[async_trait]
impl AdmissionPlugin for Recorder {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn admit(&self, _app: &App, request: &mut AdmissionRequest<'_>) -> ApiResult<()> {
        self.log.lock().unwrap().push(format!(
            "{}.admit {:?} by {}",
            self.name, request.operation, request.user.name
        ));
        if self.mutate
            && let Some(obj) = request.object.as_mut()
        {
            obj["metadata"]["labels"]["mutated-by"] = json!(self.name);
        }
        Ok(())
    }

    async fn validate(&self, _app: &App, request: &AdmissionRequest<'_>) -> ApiResult<()> {
        let label = request
            .object
            .as_ref()
            .and_then(|o| o.pointer("/metadata/labels/mutated-by"))
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_owned();
        self.log.lock().unwrap().push(format!(
            "{}.validate {:?} sees {label}",
            self.name, request.operation
        ));
        if self.reject_bad && request.name.starts_with("bad") {
            return Err(ApiError::forbidden(format!(
                "{} refuses {}",
                self.name, request.name
            )));
        }
        Ok(())
    }
}

#[tokio::test]
async fn admission_runs_mutating_then_validating_plugins_in_order() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let plugin = |name, mutate, reject_bad| {
        Arc::new(Recorder {
            name,
            log: Arc::clone(&log),
            mutate,
            reject_bad,
        })
    };
    let store = store();
    let app = App::builder(store.clone())
        .admission_plugin(plugin("first", true, false))
        .admission_plugin(plugin("second", false, true))
        .build();
    assert_eq!(
        app.admission.names(),
        ["NamespaceLifecycle", "first", "second"]
    );
    let client = Client::new(app);
    with_default_namespace(&client).await;
    log.lock().unwrap().clear();

    let base = "/api/v1/namespaces/default/configmaps";
    let alice = UserInfo::new("alice", ["team"]);
    let cm = |name: &str| json!({"metadata": {"name": name}, "data": {"k": "v"}});
    let (status, created) = client
        .call_as("POST", base, Some(cm("good")), Some(alice.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // The stored object carries the mutation.
    assert_eq!(created["metadata"]["labels"]["mutated-by"], "first");
    assert_eq!(
        *log.lock().unwrap(),
        [
            "first.admit Create by alice",
            "second.admit Create by alice",
            "first.validate Create sees first",
            "second.validate Create sees first",
        ]
    );

    // A rejecting validating plugin leaves nothing stored.
    let (status, err) = client
        .call_as("POST", base, Some(cm("bad-one")), Some(alice.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(err["message"], "second refuses bad-one");
    let (status, _) = client.call("GET", &format!("{base}/bad-one"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Updates and deletes pass the chain too.
    log.lock().unwrap().clear();
    let request = Request::builder()
        .method("PATCH")
        .uri(format!("{base}/good"))
        .header("content-type", "application/merge-patch+json")
        .body(Body::from(r#"{"data":{"k":"w"}}"#))
        .unwrap();
    let (status, _) = client.send(request).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = client
        .call_as("DELETE", &format!("{base}/good"), None, Some(alice))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        *log.lock().unwrap(),
        [
            "first.admit Update by ",
            "second.admit Update by ",
            "first.validate Update sees first",
            "second.validate Update sees first",
            "first.validate Delete sees -",
            "second.validate Delete sees -",
        ]
    );
    store.shutdown().await;
}

#[tokio::test]
async fn namespace_lifecycle_refuses_missing_namespaces_and_system_deletes() {
    let store = store();
    let client = Client::new(App::new(store.clone()));
    with_default_namespace(&client).await;
    let (status, err) = client
        .call(
            "POST",
            "/api/v1/namespaces/nowhere/configmaps",
            Some(json!({"metadata": {"name": "x"}})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    assert_eq!(err["details"]["kind"], "namespaces");
    let (status, err) = client
        .call("DELETE", "/api/v1/namespaces/default", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    let (status, _) = client.call("GET", "/api/v1/namespaces/default", None).await;
    assert_eq!(status, StatusCode::OK);
    store.shutdown().await;
}
