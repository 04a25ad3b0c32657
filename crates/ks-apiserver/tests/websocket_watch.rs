//! Watches over a WebSocket upgrade, as KubeSphere's console opens them
//! (`ws://HOST/api/v1/watch/namespaces?labelSelector=...`, proxied by its
//! server with the user's token in `Authorization: Bearer`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{TestServer, eventually, http, login};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `path` as a WebSocket with `token` (if any); the refusal's
/// status when the server answers without upgrading.
async fn open(ts: &TestServer, path: &str, token: Option<&str>) -> Result<Socket, u16> {
    let url = format!("{}{path}", ts.url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, response)) => {
            assert_eq!(response.status(), 101);
            Ok(socket)
        }
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("{path}: {e}"),
    }
}

/// The next watch event on `socket`: a text frame of `{type, object}`.
async fn next_event(socket: &mut Socket) -> (String, Value) {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("an event within 5s")
            .expect("the socket is open")
            .unwrap();
        match message {
            Message::Text(text) => {
                let event: Value = serde_json::from_str(&text).unwrap();
                return (
                    event["type"].as_str().unwrap().to_owned(),
                    event["object"].clone(),
                );
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

async fn admin_send(ts: &TestServer, method: &str, path: &str, body: &Value) -> u16 {
    let token = ts.server.as_ref().unwrap().admin_token.clone();
    let auth = format!("Bearer {token}");
    let (status, _, bytes) = http(
        &ts.url,
        method,
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/merge-patch+json"),
        ],
        &body.to_string(),
    )
    .await;
    assert!(
        status < 300,
        "{method} {path}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    status
}

async fn create_namespace(ts: &TestServer, name: &str, labels: Value) {
    let token = ts.server.as_ref().unwrap().admin_token.clone();
    let auth = format!("Bearer {token}");
    let body = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": labels}});
    let (status, _, bytes) = http(
        &ts.url,
        "POST",
        "/api/v1/namespaces",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        &body.to_string(),
    )
    .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&bytes));
}

#[tokio::test]
async fn namespaces_watch_over_websocket_sees_changes_through_the_selector() {
    let ts = TestServer::start().await;
    let admin = ts.server.as_ref().unwrap().admin_token.clone();
    create_namespace(&ts, "ws-before", json!({"team": "a"})).await;
    // The console's deprecated path form, with a selector.
    let mut socket = open(
        &ts,
        "/api/v1/watch/namespaces?labelSelector=team%3Da",
        Some(&admin),
    )
    .await
    .unwrap();
    let (kind, object) = next_event(&mut socket).await;
    assert_eq!(
        (kind.as_str(), &object["metadata"]["name"]),
        ("ADDED", &json!("ws-before"))
    );

    create_namespace(&ts, "ws-other", json!({"team": "b"})).await;
    create_namespace(&ts, "ws-new", json!({"team": "a"})).await;
    let (kind, object) = next_event(&mut socket).await;
    assert_eq!(
        (kind.as_str(), &object["metadata"]["name"]),
        ("ADDED", &json!("ws-new"))
    );

    admin_send(
        &ts,
        "PATCH",
        "/api/v1/namespaces/ws-new",
        &json!({"metadata": {"annotations": {"x": "y"}}}),
    )
    .await;
    let (kind, object) = next_event(&mut socket).await;
    assert_eq!(kind, "MODIFIED");
    assert_eq!(object["metadata"]["annotations"]["x"], "y");

    // Stops matching: DELETED, as the HTTP watch says it.
    admin_send(
        &ts,
        "PATCH",
        "/api/v1/namespaces/ws-new",
        &json!({"metadata": {"labels": {"team": "c"}}}),
    )
    .await;
    let (kind, object) = next_event(&mut socket).await;
    assert_eq!(
        (kind.as_str(), &object["metadata"]["name"]),
        ("DELETED", &json!("ws-new"))
    );

    // Pings are answered while the watch runs.
    socket
        .send(Message::Ping(b"hi".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"hi".to_vec().into()));

    socket.close(None).await.unwrap();
    ts.stop().await;
}

#[tokio::test]
async fn watch_true_form_and_custom_resources_over_websocket() {
    let ts = TestServer::start().await;
    let admin = ts.server.as_ref().unwrap().admin_token.clone();
    // `?watch=true` on the list path, with a timeout: the socket closes
    // normally when the watch ends.
    let mut socket = open(
        &ts,
        "/api/v1/namespaces?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Ddefault",
        Some(&admin),
    )
    .await
    .unwrap();
    let (kind, object) = next_event(&mut socket).await;
    assert_eq!(
        (kind.as_str(), &object["metadata"]["name"]),
        ("ADDED", &json!("default"))
    );
    let closed = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap();
    match closed {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("expected a close frame, got {other:?}"),
    }

    // KubeSphere's workspacetemplates (a CRD), in the path form.
    let mut socket = open(
        &ts,
        "/apis/tenant.kubesphere.io/v1alpha2/watch/workspacetemplates",
        Some(&admin),
    )
    .await
    .unwrap();
    let body = json!({"apiVersion": "tenant.kubesphere.io/v1alpha2", "kind": "WorkspaceTemplate",
        "metadata": {"name": "ws-demo"}, "spec": {"template": {"spec": {"manager": "admin"}}, "placement": {}}});
    let auth = format!("Bearer {admin}");
    let (status, _, bytes) = http(
        &ts.url,
        "POST",
        "/apis/tenant.kubesphere.io/v1alpha2/workspacetemplates",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        &body.to_string(),
    )
    .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&bytes));
    loop {
        let (kind, object) = next_event(&mut socket).await;
        if object["metadata"]["name"] == "ws-demo" {
            assert_eq!(kind, "ADDED");
            assert_eq!(object["kind"], "WorkspaceTemplate");
            break;
        }
    }
    ts.stop().await;
}

#[tokio::test]
async fn refused_before_the_upgrade_like_the_http_watch() {
    let ts = TestServer::start().await;
    // No token: 401, as the HTTP watch.
    let path = "/api/v1/watch/namespaces";
    assert_eq!(open(&ts, path, None).await.err(), Some(401));
    assert_eq!(open(&ts, path, Some("not-a-token")).await.err(), Some(401));
    let (status, _, _) = http(&ts.url, "GET", path, &[], "").await;
    assert_eq!(status, 401);

    // A user without permissions: 403, as the HTTP watch.
    let admin = ts.server.as_ref().unwrap().admin_token.clone();
    let user = json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
        "metadata": {"name": "wendy"},
        "spec": {"email": "wendy@example.com", "password": "W3ndyPassw0rd"}});
    let auth = format!("Bearer {admin}");
    let (status, _, _) = http(
        &ts.url,
        "POST",
        "/apis/iam.kubesphere.io/v1alpha2/users",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        &user.to_string(),
    )
    .await;
    assert_eq!(status, 201);
    let wendy = login(&ts, "wendy", "W3ndyPassw0rd").await;
    assert_eq!(open(&ts, path, Some(&wendy)).await.err(), Some(403));
    let auth = format!("Bearer {wendy}");
    let (status, _, _) = http(&ts.url, "GET", path, &[("authorization", &auth)], "").await;
    assert_eq!(status, 403);
    ts.stop().await;
}

#[tokio::test]
async fn server_shutdown_closes_the_socket() {
    let ts = TestServer::start().await;
    let admin = ts.server.as_ref().unwrap().admin_token.clone();
    let mut socket = open(
        &ts,
        "/api/v1/watch/namespaces?labelSelector=none%3Dnone",
        Some(&admin),
    )
    .await
    .unwrap();
    let open_before = ts.server.as_ref().unwrap().app.open_websockets();
    assert_eq!(open_before, 1);
    let stopping = tokio::spawn(ts.stop());
    let closed = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap();
    match closed {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a close frame, got {other:?}"),
    }
    // Reading on answers the close, as a browser does; then the stream ends.
    assert!(socket.next().await.is_none());
    // The server waited for the socket, and did not need its grace period.
    tokio::time::timeout(Duration::from_secs(2), stopping)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn oversized_client_messages_end_the_watch_and_the_session_is_released() {
    let ts = TestServer::start().await;
    let admin = ts.server.as_ref().unwrap().admin_token.clone();
    let mut socket = open(
        &ts,
        "/api/v1/watch/namespaces?labelSelector=none%3Dnone",
        Some(&admin),
    )
    .await
    .unwrap();
    let app = ts.server.as_ref().unwrap().app.clone();
    assert_eq!(app.open_websockets(), 1);
    let _ = socket
        .send(Message::Text("x".repeat(64 * 1024).into()))
        .await;
    eventually("the session ends", || {
        let app = app.clone();
        async move { app.open_websockets() == 0 }
    })
    .await;
    ts.stop().await;
}

#[tokio::test]
async fn an_open_socket_counts_as_a_long_running_request_until_it_closes() {
    let ts = TestServer::start().await;
    let admin = ts.server.as_ref().unwrap().admin_token.clone();
    let gauge = |n: u32| {
        format!(
            r#"apiserver_longrunning_requests{{verb="WATCH",group="",version="v1",resource="namespaces",subresource="",scope="cluster",component="apiserver"}} {n}"#
        )
    };
    let scrape = || async {
        let auth = format!("Bearer {admin}");
        let (status, _, bytes) =
            http(&ts.url, "GET", "/metrics", &[("authorization", &auth)], "").await;
        assert_eq!(status, 200);
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    let mut socket = open(
        &ts,
        "/api/v1/watch/namespaces?labelSelector=none%3Dnone",
        Some(&admin),
    )
    .await
    .unwrap();
    // Well after the 101 was sent, the watch is still counted.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let text = scrape().await;
    assert!(text.lines().any(|l| l == gauge(1)), "{text}");
    socket.close(None).await.unwrap();
    while socket.next().await.is_some() {}
    eventually("the gauge drops", || async {
        scrape().await.lines().any(|l| l == gauge(0))
    })
    .await;
    ts.stop().await;
}
