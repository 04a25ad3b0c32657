//! The audit webhook against a local receiver: KubeSphere's batch format,
//! batching, draining at shutdown, HTTPS with a given CA, and failures
//! that are counted without holding up the log.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use ks_apiserver::audit::{
    AuditConfig, AuditEvent, AuditLevel, AuditSink, Auditor, Stage, WebhookConfig,
};
use serde_json::Value;
use tokio::net::TcpListener;

/// What the receiver saw: (content type, parsed body) per POST.
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// A webhook receiver answering every POST with `status`; over TLS when
/// `tls` is given. Returns its address and what it saw.
async fn receiver(
    status: u16,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (std::net::SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let record = Arc::clone(&record);
            let tls = tls.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let record = Arc::clone(&record);
                        async move {
                            let content_type = req
                                .headers()
                                .get("content-type")
                                .map(|v| v.to_str().unwrap().to_owned())
                                .unwrap_or_default();
                            assert_eq!(req.method(), http::Method::POST);
                            assert_eq!(req.uri().path(), "/audit/webhook/event");
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let body: Value = serde_json::from_slice(&body).unwrap();
                            record.lock().unwrap().push((content_type, body));
                            Ok::<_, Infallible>(
                                http::Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap(),
                            )
                        }
                    });
                let builder = hyper::server::conn::http1::Builder::new();
                match tls {
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                    }
                    Some(config) => {
                        let Ok(stream) = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await
                        else {
                            return;
                        };
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
    (addr, seen)
}

fn event(id: &str) -> AuditEvent {
    let mut e = AuditEvent::new(id, AuditLevel::Metadata, Stage::ResponseComplete);
    e.request_uri = "/kapis/tenant.kubesphere.io/v1alpha2/workspaces?limit=10".into();
    e.verb = "list".into();
    e.workspace = "ws1".into();
    e
}

fn webhook(url: String) -> WebhookConfig {
    WebhookConfig {
        batch_size: 2,
        batch_interval: Duration::from_millis(100),
        ..WebhookConfig::new(url)
    }
}

async fn wait_for(what: impl Fn() -> bool) {
    for _ in 0..200 {
        if what() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out");
}

#[tokio::test]
async fn batches_are_posted_as_kubesphere_does() {
    let (addr, seen) = receiver(200, None).await;
    let (auditor, task) = Auditor::spawn(AuditConfig {
        webhook: Some(webhook(format!("http://{addr}/audit/webhook/event"))),
        ..AuditConfig::default()
    })
    .unwrap();
    for id in ["a", "b", "c"] {
        auditor.record(event(id));
    }
    wait_for(|| seen.lock().unwrap().len() == 2).await;
    let posts = seen.lock().unwrap().clone();
    assert_eq!(posts[0].0, "application/json");
    let items = &posts[0].1["Items"];
    assert_eq!(
        items.as_array().unwrap().len(),
        2,
        "a full batch goes at once"
    );
    assert_eq!(
        posts[1].1["Items"].as_array().unwrap().len(),
        1,
        "the rest after the interval"
    );
    let first = &items[0];
    assert_eq!(first["AuditID"], "a");
    assert_eq!(first["Workspace"], "ws1");
    assert_eq!(first["Level"], "Metadata");
    assert_eq!(first["Stage"], "ResponseComplete");
    assert_eq!(
        first["RequestURI"],
        "/kapis/tenant.kubesphere.io/v1alpha2/workspaces"
    );
    assert_eq!(first["ObjectRef"]["Resource"], "");
    assert!(first.get("auditID").is_none());
    // What is queued at shutdown still goes out.
    auditor.record(event("last"));
    task.shutdown().await;
    let posts = seen.lock().unwrap().clone();
    assert_eq!(posts.last().unwrap().1["Items"][0]["AuditID"], "last");
    let stats = auditor.stats();
    assert_eq!((stats.webhook_failures(), stats.webhook_dropped()), (0, 0));
}

#[tokio::test]
async fn https_webhooks_are_verified_against_the_given_ca() {
    let dir = tempfile::tempdir().unwrap();
    let material =
        ks_apiserver::tls::load_or_create(dir.path(), &["127.0.0.1".to_owned()]).unwrap();
    let (addr, seen) = receiver(200, Some(Arc::clone(&material.server_config))).await;
    let mut config = webhook(format!("https://{addr}/audit/webhook/event"));
    config.ca_pem = Some(material.ca_pem.clone());
    let (auditor, task) = Auditor::spawn(AuditConfig {
        webhook: Some(config),
        ..AuditConfig::default()
    })
    .unwrap();
    auditor.record(event("tls"));
    task.shutdown().await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(auditor.stats().webhook_failures(), 0);

    // Another CA's certificate is refused.
    let other = tempfile::tempdir().unwrap();
    let stranger =
        ks_apiserver::tls::load_or_create(other.path(), &["127.0.0.1".to_owned()]).unwrap();
    let mut config = webhook(format!("https://{addr}/audit/webhook/event"));
    config.ca_pem = Some(stranger.ca_pem.clone());
    let (auditor, task) = Auditor::spawn(AuditConfig {
        webhook: Some(config),
        ..AuditConfig::default()
    })
    .unwrap();
    auditor.record(event("refused"));
    task.shutdown().await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(auditor.stats().webhook_failures(), 1);
    assert_eq!(auditor.stats().webhook_dropped(), 1);
}

#[tokio::test]
async fn failures_are_counted_and_never_hold_up_the_log() {
    let (addr, seen) = receiver(500, None).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let (auditor, task) = Auditor::spawn(AuditConfig {
        sink: Some(AuditSink::Path(log.clone())),
        webhook: Some(webhook(format!("http://{addr}/audit/webhook/event"))),
        ..AuditConfig::default()
    })
    .unwrap();
    for id in ["a", "b", "c"] {
        auditor.record(event(id));
    }
    auditor.flush().await;
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 3);
    task.shutdown().await;
    assert_eq!(seen.lock().unwrap().len(), 2, "each batch tried once");
    let stats = auditor.stats();
    assert_eq!(stats.webhook_failures(), 2);
    assert_eq!(stats.webhook_dropped(), 3);
    assert_eq!(stats.dropped(), 0);
}

#[tokio::test]
async fn an_unreachable_webhook_fails_fast() {
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let (auditor, task) = Auditor::spawn(AuditConfig {
        webhook: Some(webhook(format!("http://{addr}/audit/webhook/event"))),
        ..AuditConfig::default()
    })
    .unwrap();
    auditor.record(event("x"));
    tokio::time::timeout(Duration::from_secs(5), task.shutdown())
        .await
        .unwrap();
    assert_eq!(auditor.stats().webhook_failures(), 1);
}
