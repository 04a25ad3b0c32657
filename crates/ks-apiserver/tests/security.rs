//! The security chain over HTTP: authentication (tokens, basic, none),
//! the OAuth endpoints, lockout, password hashing, authorization and
//! impersonation, against an in-process plain-HTTP server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::TestServer;
use serde_json::{Value, json};

const PASSWORD: &str = "Adm1nPassw0rd";

/// One HTTP exchange: status, headers, body.
struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: Value,
    text: String,
}

async fn send(url: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let (status, headers, bytes) = common::http(url, method, path, headers, body).await;
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap()
}

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

async fn token_request(url: &str, fields: &[(&str, &str)]) -> Reply {
    send(url, "POST", "/oauth/token", &[FORM], &form(fields)).await
}

async fn login(url: &str, user: &str, password: &str) -> Reply {
    token_request(
        url,
        &[
            ("grant_type", "password"),
            ("client_id", "kubesphere"),
            ("client_secret", "kubesphere"),
            ("username", user),
            ("password", password),
            ("encrypt", "scrambled-copy"),
        ],
    )
    .await
}

async fn access_token(url: &str, user: &str, password: &str) -> String {
    let reply = login(url, user, password).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn get(url: &str, path: &str, authorization: &str) -> Reply {
    send(url, "GET", path, &[("authorization", authorization)], "").await
}

async fn server() -> TestServer {
    TestServer::start_with(|config| {
        config.admin_password = Some(PASSWORD.to_owned());
        config.lockout = ks_apiserver::authn::login::Lockout {
            max_tries: 3,
            window: Duration::from_secs(4),
        };
    })
    .await
}

/// Creates user `name` with `password` (through the admin's client).
async fn create_user(ts: &TestServer, name: &str, password: &str) {
    let users: kube::Api<kube::api::DynamicObject> = kube::Api::all_with(
        ts.client.clone(),
        &kube::api::ApiResource {
            group: "iam.kubesphere.io".into(),
            version: "v1alpha2".into(),
            api_version: "iam.kubesphere.io/v1alpha2".into(),
            kind: "User".into(),
            plural: "users".into(),
        },
    );
    let user: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
        "metadata": {"name": name},
        "spec": {"email": format!("{name}@example.com"), "password": password},
    }))
    .unwrap();
    users
        .create(&kube::api::PostParams::default(), &user)
        .await
        .unwrap();
    // The authenticators see users through an informer.
    for _ in 0..200 {
        let reply = login(&ts.url, name, password).await;
        if reply.status == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("user {name} never became able to log in");
}

#[tokio::test]
async fn anonymous_callers_reach_only_public_paths() {
    let ts = server().await;
    for path in ["/healthz", "/readyz", "/livez", "/version"] {
        let reply = send(&ts.url, "GET", path, &[], "").await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    }
    for path in [
        "/api",
        "/api/v1/namespaces",
        "/apis/iam.kubesphere.io/v1alpha2/users",
        "/openapi/v2",
    ] {
        let reply = send(&ts.url, "GET", path, &[], "").await;
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(reply.body["kind"], "Status");
        assert_eq!(reply.body["reason"], "Unauthorized");
    }
    // Every response carries its audit ID.
    let reply = send(&ts.url, "GET", "/healthz", &[], "").await;
    assert_eq!(reply.headers["audit-id"].len(), 36);
    ts.stop().await;
}

#[tokio::test]
async fn the_password_grant_follows_kubesphere() {
    let ts = server().await;
    let reply = login(&ts.url, "admin", PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 7200);
    assert_eq!(reply.headers["cache-control"], "no-store");
    let token = reply.body["access_token"].as_str().unwrap();
    // The console decodes the payload and needs `username`.
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["username"], "admin");
    assert_eq!(claims["token_type"], "access_token");
    // The email is accepted as the user name.
    assert_eq!(
        login(&ts.url, "admin@kubesphere.io", PASSWORD).await.status,
        200
    );

    // A wrong password and an unknown user get the same answer.
    let wrong = login(&ts.url, "admin", "Wrong-passw0rd").await;
    let unknown = login(&ts.url, "nobody", "Wrong-passw0rd").await;
    assert_eq!((wrong.status, unknown.status), (400, 400));
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body["error"], "invalid_grant");

    let client = token_request(
        &ts.url,
        &[
            ("grant_type", "password"),
            ("client_id", "kubesphere"),
            ("client_secret", "nope"),
            ("username", "admin"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(client.status, 401);
    assert_eq!(client.body["error"], "invalid_client");
    let grant = token_request(
        &ts.url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "kubesphere"),
            ("client_secret", "kubesphere"),
        ],
    )
    .await;
    assert_eq!(grant.status, 400);
    assert_eq!(grant.body["error"], "unsupported_grant_type");
    let not_a_form = send(&ts.url, "POST", "/oauth/token", &[], "{}").await;
    assert_eq!(not_a_form.status, 400);
    assert_eq!(not_a_form.body["error"], "invalid_request");
    ts.stop().await;
}

#[tokio::test]
async fn tokens_authenticate_refresh_and_are_revoked_by_logout() {
    let ts = server().await;
    let reply = login(&ts.url, "admin", PASSWORD).await;
    let access = reply.body["access_token"].as_str().unwrap().to_owned();
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();

    assert_eq!(
        get(&ts.url, "/api/v1/namespaces", &bearer(&access))
            .await
            .status,
        200
    );
    // A refresh token is not a bearer token.
    let refused = get(&ts.url, "/api/v1/namespaces", &bearer(&refresh)).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    // Tampering is refused.
    let tampered = format!("{access}x");
    assert_eq!(
        get(&ts.url, "/api/v1/namespaces", &bearer(&tampered))
            .await
            .status,
        401
    );
    // A malformed header too, and two of them.
    assert_eq!(
        get(&ts.url, "/api/v1/namespaces", "Bearer").await.status,
        401
    );
    let two = send(
        &ts.url,
        "GET",
        "/api/v1/namespaces",
        &[
            ("authorization", &bearer(&access)),
            ("authorization", &bearer(&access)),
        ],
        "",
    )
    .await;
    assert_eq!(two.status, 401);

    // The console refreshes with the refresh token also in Authorization.
    let refreshed = send(
        &ts.url,
        "POST",
        "/oauth/token",
        &[FORM, ("authorization", &bearer(&refresh))],
        &form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "kubesphere"),
            ("client_secret", "kubesphere"),
            ("refresh_token", &refresh),
        ]),
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let new_access = refreshed.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&ts.url, "/api/v1/namespaces", &bearer(&new_access))
            .await
            .status,
        200
    );

    // Logout revokes every token of the caller; it answers 200 even
    // without a valid token.
    assert_eq!(
        get(&ts.url, "/oauth/logout", &bearer(&access)).await.status,
        200
    );
    assert_eq!(
        get(&ts.url, "/api/v1/namespaces", &bearer(&access))
            .await
            .status,
        401
    );
    assert_eq!(
        get(&ts.url, "/api/v1/namespaces", &bearer(&new_access))
            .await
            .status,
        401
    );
    assert_eq!(
        get(&ts.url, "/oauth/logout", &bearer(&access)).await.status,
        200
    );
    assert_eq!(
        send(&ts.url, "GET", "/oauth/logout", &[], "").await.status,
        200
    );
    // A login after the logout works at once.
    let again = access_token(&ts.url, "admin", PASSWORD).await;
    assert_eq!(
        get(&ts.url, "/api/v1/namespaces", &bearer(&again))
            .await
            .status,
        200
    );
    ts.stop().await;
}

#[tokio::test]
async fn basic_authentication_and_login_records() {
    let ts = server().await;
    let basic = |user: &str, password: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    };
    for _ in 0..3 {
        let reply = get(&ts.url, "/api/v1/namespaces", &basic("admin", PASSWORD)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let wrong = get(
        &ts.url,
        "/api/v1/namespaces",
        &basic("admin", "Wrong-passw0rd"),
    )
    .await;
    assert_eq!(wrong.status, 401);
    // One record per verified credential (the cached ones write none),
    // one per failure; written in the background.
    let records: kube::Api<kube::api::DynamicObject> = kube::Api::all_with(
        ts.client.clone(),
        &kube::api::ApiResource {
            group: "iam.kubesphere.io".into(),
            version: "v1alpha2".into(),
            api_version: "iam.kubesphere.io/v1alpha2".into(),
            kind: "LoginRecord".into(),
            plural: "loginrecords".into(),
        },
    );
    let lp = kube::api::ListParams::default().labels("iam.kubesphere.io/user-ref=admin");
    let mut items = Vec::new();
    for _ in 0..200 {
        items = records.list(&lp).await.unwrap().items;
        if items.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut outcomes: Vec<(bool, String)> = items
        .iter()
        .map(|r| {
            assert!(r.metadata.name.as_deref().unwrap().starts_with("admin-"));
            assert_eq!(r.data["spec"]["type"], "Basic");
            assert_eq!(r.data["spec"]["sourceIP"], "127.0.0.1");
            (
                r.data["spec"]["success"].as_bool().unwrap(),
                r.data["spec"]["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            (false, "incorrect password".to_owned()),
            (true, String::new())
        ]
    );
    ts.stop().await;
}

#[tokio::test]
async fn repeated_failures_lock_the_user_until_the_window_passes() {
    let ts = server().await;
    create_user(&ts, "carol", "Car0lPassw0rd").await;
    for _ in 0..3 {
        assert_eq!(login(&ts.url, "carol", "Wrong-passw0rd").await.status, 400);
    }
    let locked = login(&ts.url, "carol", "Car0lPassw0rd").await;
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert!(locked.headers.contains_key("retry-after"));
    // The lock is the user's state, for everyone to see.
    let user = get(
        &ts.url,
        "/apis/iam.kubesphere.io/v1alpha2/users/carol",
        &bearer(&access_token(&ts.url, "admin", PASSWORD).await),
    )
    .await;
    assert_eq!(user.body["status"]["state"], "AuthLimitExceeded");
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let unlocked = login(&ts.url, "carol", "Car0lPassw0rd").await;
    assert_eq!(unlocked.status, 200, "{}", unlocked.text);
    // Every password grant is counted by its outcome.
    let admin = bearer(&access_token(&ts.url, "admin", PASSWORD).await);
    let metrics = get(&ts.url, "/metrics", &admin).await.text;
    let count = |result: &str| -> u64 {
        let series = format!("ks_login_total{{result=\"{result}\"}} ");
        (metrics.lines())
            .find_map(|l| l.strip_prefix(&series))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(count("locked"), 1, "{metrics}");
    // Three wrong passwords (and any tries before the user was seen).
    assert!(count("failure") >= 3, "{metrics}");
    // carol's first login, then carol, admin and admin again.
    assert!(count("success") >= 4, "{metrics}");
    ts.stop().await;
}

#[tokio::test]
async fn passwords_are_hashed_before_they_are_stored() {
    let ts = server().await;
    let admin = bearer(&access_token(&ts.url, "admin", PASSWORD).await);
    let create = |body: Value| {
        let url = ts.url.clone();
        let admin = admin.clone();
        async move {
            send(
                &url,
                "POST",
                "/apis/iam.kubesphere.io/v1alpha2/users",
                &[
                    ("authorization", &admin),
                    ("content-type", "application/json"),
                ],
                &body.to_string(),
            )
            .await
        }
    };
    let weak = create(json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
        "metadata": {"name": "weak"}, "spec": {"email": "w@x.io", "password": "password"},
    }))
    .await;
    assert_eq!(weak.status, 422, "{}", weak.text);
    assert!(!weak.text.contains("\"password\""), "{}", weak.text);

    let created = create(json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
        "metadata": {"name": "dave", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"spec\":{\"password\":\"Dav3Passw0rd\"}}"
        }},
        "spec": {"email": "d@x.io", "password": "Dav3Passw0rd"},
    }))
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(!created.text.contains("Dav3Passw0rd"), "{}", created.text);
    let hash = created.body["spec"]["password"].as_str().unwrap();
    // Go's bcrypt form, as KubeSphere stores it.
    assert!(hash.starts_with("$2a$10$"), "{hash}");
    assert!(bcrypt::verify("Dav3Passw0rd", hash).unwrap());
    let annotations = &created.body["metadata"]["annotations"];
    assert!(
        annotations
            .get("kubectl.kubernetes.io/last-applied-configuration")
            .is_none()
    );
    assert!(annotations["iam.kubesphere.io/last-password-change-time"].is_string());

    // A password change revokes the user's tokens.
    for _ in 0..200 {
        if login(&ts.url, "dave", "Dav3Passw0rd").await.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dave = access_token(&ts.url, "dave", "Dav3Passw0rd").await;
    let whoami = get(
        &ts.url,
        "/api/v1/namespaces/default/configmaps",
        &bearer(&dave),
    )
    .await;
    assert_eq!(whoami.status, 403, "{}", whoami.text);
    let patched = send(
        &ts.url,
        "PATCH",
        "/apis/iam.kubesphere.io/v1alpha2/users/dave",
        &[
            ("authorization", &admin),
            ("content-type", "application/merge-patch+json"),
        ],
        &json!({"spec": {"password": "N3wPassw0rd"}}).to_string(),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let revoked = get(
        &ts.url,
        "/api/v1/namespaces/default/configmaps",
        &bearer(&dave),
    )
    .await;
    assert_eq!(revoked.status, 401, "{}", revoked.text);
    ts.stop().await;
}

#[tokio::test]
async fn authorization_follows_bindings_with_kubernetes_wording() {
    let ts = server().await;
    create_user(&ts, "bob", "B0bPassw0rd").await;
    let bob = bearer(&access_token(&ts.url, "bob", "B0bPassw0rd").await);
    let denied = get(&ts.url, "/api/v1/namespaces/default/configmaps", &bob).await;
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.body["message"],
        r#"configmaps is forbidden: User "bob" cannot list resource "configmaps" in API group "" in the namespace "default""#
    );
    assert_eq!(denied.body["reason"], "Forbidden");
    // Discovery is open to every authenticated user.
    assert_eq!(get(&ts.url, "/api", &bob).await.status, 200);
    assert_eq!(get(&ts.url, "/apis", &bob).await.status, 200);

    let admin = bearer(&access_token(&ts.url, "admin", PASSWORD).await);
    let post = |path: &'static str, body: Value| {
        let url = ts.url.clone();
        let admin = admin.clone();
        async move {
            let reply = send(
                &url,
                "POST",
                path,
                &[
                    ("authorization", &admin),
                    ("content-type", "application/json"),
                ],
                &body.to_string(),
            )
            .await;
            assert_eq!(reply.status, 201, "{}", reply.text);
        }
    };
    post(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": "cm-reader", "namespace": "default"},
               "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}),
    )
    .await;
    post(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "bob-cm-reader", "namespace": "default"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}]}),
    )
    .await;
    ts.server.as_ref().unwrap().rbac.settled().await;
    assert_eq!(
        get(&ts.url, "/api/v1/namespaces/default/configmaps", &bob)
            .await
            .status,
        200
    );
    assert_eq!(
        get(&ts.url, "/api/v1/namespaces/kube-system/configmaps", &bob)
            .await
            .status,
        403
    );
    let write = send(
        &ts.url,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        &[
            ("authorization", &bob),
            ("content-type", "application/json"),
        ],
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}).to_string(),
    )
    .await;
    assert_eq!(write.status, 403);
    ts.stop().await;
}

#[tokio::test]
async fn impersonation_needs_the_impersonate_verb() {
    let ts = server().await;
    create_user(&ts, "erin", "Er1nPassw0rd").await;
    let admin = bearer(&access_token(&ts.url, "admin", PASSWORD).await);
    let erin = bearer(&access_token(&ts.url, "erin", "Er1nPassw0rd").await);
    // The admin (platform-admin: every verb) acts as erin, who may not
    // list configmaps.
    let as_erin = send(
        &ts.url,
        "GET",
        "/api/v1/namespaces/default/configmaps",
        &[("authorization", &admin), ("impersonate-user", "erin")],
        "",
    )
    .await;
    assert_eq!(as_erin.status, 403, "{}", as_erin.text);
    assert!(
        as_erin.text.contains(r#"User \"erin\""#),
        "{}",
        as_erin.text
    );
    // Erin may not impersonate the admin.
    let as_admin = send(
        &ts.url,
        "GET",
        "/api/v1/namespaces",
        &[("authorization", &erin), ("impersonate-user", "admin")],
        "",
    )
    .await;
    assert_eq!(as_admin.status, 403);
    assert_eq!(
        as_admin.body["message"],
        r#"users "admin" is forbidden: User "erin" cannot impersonate resource "users" in API group "" at the cluster scope"#
    );
    // Groups without a user are refused.
    let groups_only = send(
        &ts.url,
        "GET",
        "/api/v1/namespaces",
        &[
            ("authorization", &admin),
            ("impersonate-group", "system:masters"),
        ],
        "",
    )
    .await;
    assert_eq!(groups_only.status, 400);
    ts.stop().await;
}

#[tokio::test]
async fn revocation_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let path = dir.path().to_owned();
        TestServer::start_with(move |config| {
            config.data_dir = path;
            config.in_memory = false;
            config.admin_password = Some(PASSWORD.to_owned());
        })
    };
    let ts = start().await;
    let revoked = access_token(&ts.url, "admin", PASSWORD).await;
    assert_eq!(
        get(&ts.url, "/oauth/logout", &bearer(&revoked))
            .await
            .status,
        200
    );
    // Issued in the same second as the logout, and still valid.
    let kept = access_token(&ts.url, "admin", PASSWORD).await;
    ts.stop().await;

    let ts = start().await;
    assert_eq!(
        get(&ts.url, "/api/v1/namespaces", &bearer(&revoked))
            .await
            .status,
        401
    );
    assert_eq!(
        get(&ts.url, "/api/v1/namespaces", &bearer(&kept))
            .await
            .status,
        200
    );
    // Nothing secret is in the data directory: no plaintext password, no
    // token.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().unwrap() != "kubeconfig" {
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(PASSWORD), "{}", path.display());
            assert!(!text.contains(&kept), "{}", path.display());
        }
    }
    ts.stop().await;
}

#[tokio::test]
async fn basic_authentication_costs_one_bcrypt_per_credential() {
    let ts = server().await;
    let logins = &ts.server.as_ref().unwrap().security.authenticator.logins;
    let before = logins.password_checks();
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{PASSWORD}"))
    );
    for _ in 0..1000 {
        let reply = get(&ts.url, "/api/v1/namespaces/default", &header).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_eq!(logins.password_checks() - before, 1);
    // A different password for the same user is checked, not cached.
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin:Wr0ngPassword")
    );
    assert_eq!(
        get(&ts.url, "/api/v1/namespaces/default", &wrong)
            .await
            .status,
        401
    );
    assert_eq!(logins.password_checks() - before, 2);
    ts.stop().await;
}
