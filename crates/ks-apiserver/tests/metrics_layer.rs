//! The metrics layer and `/metrics` through an axum chain: a request-info
//! stand-in, the metrics layer, handlers.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use http_body_util::BodyExt as _;
use ks_apiserver::audit::{AuditConfig, AuditEvent, AuditLevel, Auditor, Stage};
use ks_apiserver::context::RequestRecord;
use ks_apiserver::metrics::{AuthnResult, LoginResult, Metrics};
use ks_request_info::Resolver;
use tower::ServiceExt as _;

async fn request_info(mut request: Request, next: Next) -> Response {
    let info = Resolver::default()
        .parse_uri(request.method(), request.uri())
        .unwrap()
        .into_owned();
    let record = RequestRecord::new(
        "id".into(),
        request.method().clone(),
        request.uri().to_string(),
        Vec::new(),
        String::new(),
        info,
    );
    request.extensions_mut().insert(Arc::new(record));
    next.run(request).await
}

type Chunk = Result<bytes::Bytes, std::io::Error>;

fn chain(
    metrics: &Metrics,
    stream: Arc<std::sync::Mutex<Option<tokio::sync::mpsc::Sender<Chunk>>>>,
) -> Router {
    Router::new()
        .route("/api/v1/namespaces/{ns}/pods", get(|| async { "{}" }))
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}",
            get(|| async { (http::StatusCode::NOT_FOUND, "{}").into_response() }),
        )
        .route(
            "/api/v1/pods",
            get(move || {
                let stream = Arc::clone(&stream);
                async move {
                    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(1);
                    stream.lock().unwrap().replace(tx);
                    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                        rx.recv().await.map(|c| (c, rx))
                    }))
                    .into_response()
                }
            }),
        )
        .route("/metrics", metrics.handler())
        .layer(metrics.layer())
        .layer(from_fn(request_info))
}

async fn get_text(router: &Router, uri: &str) -> (http::response::Parts, String) {
    let response = router
        .clone()
        .oneshot(http::Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts, String::from_utf8(body.to_vec()).unwrap())
}

fn has(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[tokio::test]
async fn requests_are_counted_and_served_at_metrics() {
    let metrics = Metrics::new();
    let stream = Arc::default();
    let router = chain(&metrics, Arc::clone(&stream));
    get_text(&router, "/api/v1/namespaces/a/pods").await;
    get_text(&router, "/api/v1/namespaces/b/pods").await;
    get_text(&router, "/api/v1/namespaces/a/pods/missing").await;
    metrics.authentication_attempt(AuthnResult::Failure, "basic");
    metrics.authorization_decision(true);
    metrics.login(LoginResult::Success);
    let (parts, text) = get_text(&router, "/metrics").await;
    assert_eq!(
        parts.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    for line in [
        r#"apiserver_request_total{verb="LIST",dry_run="",group="",version="v1",resource="pods",subresource="",scope="namespace",component="apiserver",code="200"} 2"#,
        r#"apiserver_request_total{verb="GET",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver",code="404"} 1"#,
        r#"apiserver_request_duration_seconds_count{verb="LIST",dry_run="",group="",version="v1",resource="pods",subresource="",scope="namespace",component="apiserver"} 2"#,
        r#"authentication_attempts_total{result="failure",authenticator="basic"} 1"#,
        r#"ks_authorization_decisions_total{decision="allow"} 1"#,
        r#"ks_login_total{result="success"} 1"#,
    ] {
        assert!(has(&text, line), "missing {line}\n{text}");
    }
    // The scrape itself is counted after it is answered.
    let (_, again) = get_text(&router, "/metrics").await;
    assert!(has(
        &again,
        r#"apiserver_request_total{verb="GET",dry_run="",group="",version="",resource="",subresource="",scope="",component="apiserver",code="200"} 1"#
    ));
}

#[tokio::test]
async fn watches_are_counted_at_header_time_and_tracked_while_open() {
    let metrics = Metrics::new();
    let stream: Arc<std::sync::Mutex<Option<tokio::sync::mpsc::Sender<Chunk>>>> = Arc::default();
    let router = chain(&metrics, Arc::clone(&stream));
    let response = router
        .clone()
        .oneshot(
            http::Request::get("/api/v1/pods?watch=true")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let labels = r#"verb="WATCH",group="",version="v1",resource="pods",subresource="",scope="cluster",component="apiserver""#;
    let text = metrics.render();
    assert!(
        has(
            &text,
            &format!("apiserver_longrunning_requests{{{labels}}} 1")
        ),
        "{text}"
    );
    assert!(
        has(
            &text,
            r#"apiserver_request_total{verb="WATCH",dry_run="",group="",version="v1",resource="pods",subresource="",scope="cluster",component="apiserver",code="200"} 1"#
        ),
        "{text}"
    );
    let tx = stream.lock().unwrap().take().unwrap();
    tx.send(Ok(bytes::Bytes::from_static(b"{}\n")))
        .await
        .unwrap();
    drop(tx);
    let _ = response.into_body().collect().await.unwrap();
    let text = metrics.render();
    assert!(
        has(
            &text,
            &format!("apiserver_longrunning_requests{{{labels}}} 0")
        ),
        "{text}"
    );
}

#[tokio::test]
async fn audit_counters_are_reported() {
    let metrics = Metrics::new();
    let (auditor, task) = Auditor::spawn(AuditConfig {
        queue_capacity: 1,
        ..AuditConfig::default()
    })
    .unwrap();
    metrics.observe_audit(auditor.stats());
    task.shutdown().await;
    auditor.record(AuditEvent::new(
        "late",
        AuditLevel::Metadata,
        Stage::ResponseComplete,
    ));
    let text = metrics.render();
    assert!(has(&text, "ks_audit_events_dropped_total 1"), "{text}");
    assert!(has(&text, "ks_audit_webhook_failures_total 0"), "{text}");
}
