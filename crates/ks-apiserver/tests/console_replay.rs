//! Replays what KubeSphere's console (v3.4.1) sent in a browser session
//! against a server seeded the same way, and checks every answer has the
//! recorded status.
//!
//! The record (`tests/data/console-v3.4.1-requests.json`) is written by
//! `scripts/console-e2e.sh --record`: the distinct requests that reached
//! ks-apiserver from the console's Node server and from the browser, read
//! from the audit log, while the admin logged in, created a workspace, a
//! project and invited `member`, and `member` (a regular member of ten
//! workspaces and of the new one) logged in and opened the workspace. The
//! seeding below mirrors that session's (fewer workspaces: the answers do
//! not depend on how many). Refresh the record after a console upgrade or
//! a change to what the console's pages need, and review its diff.
//!
//! Not replayed: token requests (their bodies hold passwords and are never
//! recorded; `console_contract.rs` sends them as the console does) and
//! watches (WebSocket upgrades; `websocket_watch.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::TestServer;
use serde_json::{Value, json};

const PASSWORD: &str = "Admin-P4ssword";
const MEMBER_PASSWORD: &str = "Member-P4ssword";
const RECORD: &str = include_str!("data/console-v3.4.1-requests.json");

async fn send(
    ts: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(bearer) = &bearer {
        headers.push(("authorization", bearer));
    }
    let (status, _, bytes) = common::http(&ts.url, method, path, &headers, body).await;
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Sends until the answer has `expected` status (the controllers and the
/// authorizer follow the store), for about five seconds; returns the last.
async fn send_expecting(
    ts: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
    expected: u16,
) -> (u16, String) {
    let mut last = (0, String::new());
    for _ in 0..100 {
        last = send(ts, method, path, token, body).await;
        if last.0 == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    last
}

#[tokio::test]
async fn the_recorded_console_session_gets_the_recorded_answers() {
    let record: Value = serde_json::from_str(RECORD).unwrap();
    let requests = record["requests"].as_array().unwrap();
    assert!(requests.len() > 20, "the record holds the session");

    let ts = TestServer::start_with(|config| {
        config.admin_password = Some(PASSWORD.to_owned());
        config.controllers = Some(ks_controller_manager::Controllers::default());
    })
    .await;
    let admin = common::login(&ts, "admin", PASSWORD).await;

    // The session's seeding: `member`, a platform-regular user, regular
    // member of the first ten of twelve workspaces.
    let user = json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
        "metadata": {"name": "member", "annotations": {"iam.kubesphere.io/globalrole": "platform-regular"}},
        "spec": {"email": "member@example.com", "password": MEMBER_PASSWORD},
    });
    let (status, text) = send(
        &ts,
        "POST",
        "/kapis/iam.kubesphere.io/v1alpha2/users",
        Some(&admin),
        &user.to_string(),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    for i in 0..12 {
        let ws = format!("ws-{i:04}");
        let template = json!({
            "apiVersion": "tenant.kubesphere.io/v1alpha2", "kind": "WorkspaceTemplate",
            "metadata": {"name": ws},
            "spec": {"template": {"spec": {"manager": "admin"}}},
        });
        let (status, text) = send(
            &ts,
            "POST",
            "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates",
            Some(&admin),
            &template.to_string(),
        )
        .await;
        assert_eq!(status, 201, "{text}");
        if i < 10 {
            let role = format!("/apis/iam.kubesphere.io/v1alpha2/workspaceroles/{ws}-regular");
            let (status, text) = send_expecting(&ts, "GET", &role, Some(&admin), "", 200).await;
            assert_eq!(status, 200, "{ws}-regular: {text}");
            let join = json!([{"username": "member", "roleRef": format!("{ws}-regular")}]);
            let (status, text) = send(
                &ts,
                "POST",
                &format!("/kapis/iam.kubesphere.io/v1alpha2/workspaces/{ws}/workspacemembers"),
                Some(&admin),
                &join.to_string(),
            )
            .await;
            assert_eq!(status, 200, "{text}");
        }
    }
    let member = common::login(&ts, "member", MEMBER_PASSWORD).await;

    let mut replayed = 0;
    for request in requests {
        let method = request["method"].as_str().unwrap();
        let path = request["path"].as_str().unwrap();
        let query = request["query"].as_str().unwrap();
        let user = request["user"].as_str().unwrap();
        let recorded = request["status"].as_u64().unwrap() as u16;
        let what = format!(
            "{method} {path}?{query} as {user} (from the console's {})",
            request["from"].as_str().unwrap()
        );
        if path == "/oauth/token" || path.contains("/watch/") || recorded == 101 {
            continue;
        }
        let token = match user {
            "admin" => Some(admin.as_str()),
            "member" => Some(member.as_str()),
            "system:anonymous" => None,
            other => panic!("{what}: a user the session did not have: {other}"),
        };
        let body = request
            .get("body")
            .map(Value::to_string)
            .unwrap_or_default();
        let uri = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        let (status, text) = send_expecting(&ts, method, &uri, token, &body, recorded).await;
        assert_eq!(status, recorded, "{what}: {text}");
        assert!(
            status != 401 && status < 500,
            "{what}: the console logs out on 401 and fails on 5xx"
        );
        replayed += 1;
    }
    assert!(replayed > 30, "replayed {replayed} requests");
    ts.stop().await;
}
