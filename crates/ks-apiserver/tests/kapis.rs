//! KubeSphere's APIs under /kapis, end to end over HTTP: public routes,
//! Status errors, and (per route group) allowed and denied callers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use serde_json::Value;

struct Reply {
    status: u16,
    body: Value,
    text: String,
}

async fn call(ts: &TestServer, method: &str, path: &str, token: Option<&str>, body: &str) -> Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(bearer) = &bearer {
        headers.push(("authorization", bearer));
    }
    let (status, _, bytes) = common::http(&ts.url, method, path, &headers, body).await;
    Reply {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn admin(ts: &TestServer) -> String {
    ts.server.as_ref().unwrap().admin_token.clone()
}

#[tokio::test]
async fn public_routes_answer_anonymous_callers_without_secrets() {
    let ts = TestServer::start().await;
    let version = call(&ts, "GET", "/kapis/version", None, "").await;
    assert_eq!(version.status, 200, "{}", version.text);
    assert_eq!(version.body["gitVersion"], "v3.4.1");
    assert!(
        (version.body["kubernetes"]["gitVersion"].as_str().unwrap()).starts_with("v1."),
        "{}",
        version.text
    );

    let oauth = call(
        &ts,
        "GET",
        "/kapis/config.kubesphere.io/v1alpha2/configs/oauth",
        None,
        "",
    )
    .await;
    assert_eq!(oauth.status, 200, "{}", oauth.text);
    assert_eq!(oauth.body["issuer"], "kubesphere");
    assert_eq!(oauth.body["accessTokenMaxAge"], 7_200_000_000_000_u64);
    assert_eq!(oauth.body["identityProviders"], serde_json::json!([]));
    assert!(
        !oauth.text.to_lowercase().contains("secret"),
        "{}",
        oauth.text
    );

    let configz = call(
        &ts,
        "GET",
        "/kapis/config.kubesphere.io/v1alpha2/configs/configz",
        None,
        "",
    )
    .await;
    assert_eq!(configz.status, 200, "{}", configz.text);
    assert_eq!(configz.body["authentication"], true);
    assert_eq!(configz.body["openpitrix"], false);
    ts.stop().await;
}

#[tokio::test]
async fn unserved_routes_are_404_with_a_token_and_401_without() {
    let ts = TestServer::start().await;
    let token = admin(&ts);
    for path in [
        "/kapis/nothing.kubesphere.io/v1/things",
        "/kapis/config.kubesphere.io/v1alpha2/configs/other",
    ] {
        let reply = call(&ts, "GET", path, Some(&token), "").await;
        assert_eq!(reply.status, 404, "{path}: {}", reply.text);
        assert_eq!(reply.body["kind"], "Status");
        assert_eq!(reply.body["reason"], "NotFound");
    }
    let reply = call(
        &ts,
        "GET",
        "/kapis/nothing.kubesphere.io/v1/things",
        None,
        "",
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    ts.stop().await;
}
