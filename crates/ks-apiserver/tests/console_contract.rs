//! What KubeSphere's console (ks-console v3.4.1) sends and reads, asserted
//! against our server: the console's contract, route by route.
//!
//! Each request is built as the console builds it (path, query, form or
//! JSON body, headers) and each assertion is on a field the console reads.
//! The comment above each block names the console file the expectation
//! comes from (paths in kubesphere/console at v3.4.1). The console's Node
//! server sends most of these (`server/services/session.js`, through
//! `server/libs/request.js`, which adds `Authorization: Bearer`,
//! `content-type` and `x-client-ip`); the browser sends the rest through
//! the console's proxy, which adds the same bearer token.
//!
//! Watches over WebSocket (`src/utils/websocket.js`) have their own tests
//! in `websocket_watch.rs`; the monitoring counts in
//! `kapis_monitoring.rs`; the browser test (`scripts/console-e2e.sh`)
//! drives the real console.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{TestServer, eventually};
use serde_json::{Value, json};

const PASSWORD: &str = "Admin-P4ssword";
const MEMBER_PASSWORD: &str = "Member-P4ssword";
const IAM: &str = "/kapis/iam.kubesphere.io/v1alpha2";
const FORM: &str = "application/x-www-form-urlencoded";

struct Reply {
    status: u16,
    body: Value,
    text: String,
}

/// One request as `server/libs/request.js` (`send_gateway_request`) sends
/// it: with a token, `Authorization: Bearer`, the given content type (JSON
/// unless a form) and `x-client-ip`.
async fn gateway(
    ts: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &str,
) -> Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", content_type), ("x-client-ip", "10.1.2.3")];
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

async fn get(ts: &TestServer, path: &str, token: &str) -> Reply {
    gateway(ts, "GET", path, Some(token), "application/json", "").await
}

/// `qs.stringify` of the console's login form: `server/controllers/session.js`
/// `handleLogin` passes the browser's `username` and `encrypt` (the
/// password scrambled with the key `kubesphere`) and the unscrambled
/// `password`; `server/services/session.js` `login` adds the client and the
/// grant.
fn login_form(username: &str, password: &str, encrypt: &str) -> String {
    serde_urlencoded::to_string([
        ("username", username),
        ("encrypt", encrypt),
        ("password", password),
        ("client_id", "kubesphere"),
        ("client_secret", "kubesphere"),
        ("grant_type", "password"),
    ])
    .unwrap()
}

/// `jwtDecode(access_token)` in `server/services/session.js`.
fn jwt_payload(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Logs in as the console does, retrying while a new user is not yet
/// visible to the authenticators; returns the token response.
async fn console_login(ts: &TestServer, user: &str, password: &str) -> Value {
    let form = login_form(user, password, "c2NyYW1ibGVk");
    for _ in 0..300 {
        let reply = gateway(ts, "POST", "/oauth/token", None, FORM, &form).await;
        if reply.status == 200 {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{user} could not log in");
}

/// A server with the controllers on (the console relies on what they
/// create: workspace roles, namespace roles, bindings), its audit log at
/// `RequestResponse` in `audit`.
async fn server(
    audit: &std::path::Path,
    tweak: impl FnOnce(&mut ks_apiserver::Config),
) -> TestServer {
    let audit = audit.to_owned();
    TestServer::start_with(move |config| {
        config.admin_password = Some(PASSWORD.to_owned());
        config.controllers = Some(ks_controller_manager::Controllers::default());
        config.audit.level = ks_apiserver::audit::AuditLevel::RequestResponse;
        config.audit.sink = Some(ks_apiserver::audit::AuditSink::Path(audit));
        tweak(config);
    })
    .await
}

/// The access token of a console login.
async fn access_token(ts: &TestServer, user: &str, password: &str) -> String {
    let login = console_login(ts, user, password).await;
    login["access_token"].as_str().unwrap().to_owned()
}

/// A server as [`server`] starts it (its audit log in the returned
/// directory), and the admin's token.
async fn server_with_admin() -> (tempfile::TempDir, TestServer, String) {
    let dir = tempfile::tempdir().unwrap();
    let ts = server(&dir.path().join("audit.log"), |_| {}).await;
    let admin = access_token(&ts, "admin", PASSWORD).await;
    (dir, ts, admin)
}

/// The admin creates workspace `ws` as the console's create dialog does
/// (src/stores/workspace.js create on a host cluster: a WorkspaceTemplate
/// POSTed to v1alpha3 `workspacetemplates`, with the creator and the
/// manager and no `spec.placement`; the body recorded in
/// tests/data/console-v3.4.1-requests.json).
async fn create_workspace(ts: &TestServer, admin: &str, ws: &str) {
    let creator = json!({"kubesphere.io/creator": "admin"});
    let template = json!({
        "apiVersion": "tenant.kubesphere.io/v1alpha2",
        "kind": "WorkspaceTemplate",
        "metadata": {"name": ws, "annotations": creator},
        "spec": {"template": {"metadata": {"annotations": creator}, "spec": {"manager": "admin"}}},
    });
    let reply = gateway(
        ts,
        "POST",
        "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates",
        Some(admin),
        "application/json",
        &template.to_string(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

/// The admin creates workspace `ws` and user `member` (a platform-regular
/// user) who joins `ws` as `<ws>-regular`, all through the routes the
/// console's dialogs use. Returns the member's access token.
async fn workspace_with_member(ts: &TestServer, admin: &str, ws: &str) -> String {
    create_workspace(ts, admin, ws).await;
    // src/stores/user.js create: a User with its global role annotation.
    let reply = gateway(
        ts,
        "POST",
        &format!("{IAM}/users"),
        Some(admin),
        "application/json",
        &json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2",
            "kind": "User",
            "metadata": {
                "name": "member",
                "annotations": {"iam.kubesphere.io/globalrole": "platform-regular"},
            },
            "spec": {"email": "member@example.com", "password": MEMBER_PASSWORD},
        })
        .to_string(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    // The workspace controller creates `<ws>-regular`.
    let role = format!("{IAM}/workspaces/{ws}/workspaceroles/{ws}-regular");
    eventually("the workspace's built-in roles exist", || async {
        get(ts, &role, admin).await.status == 200
    })
    .await;
    // src/stores/workspace.member.js (member.list.js) add: POST an array.
    let reply = gateway(
        ts,
        "POST",
        &format!("{IAM}/workspaces/{ws}/workspacemembers"),
        Some(admin),
        "application/json",
        &json!([{"username": "member", "roleRef": format!("{ws}-regular")}]).to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    access_token(ts, "member", MEMBER_PASSWORD).await
}

/// The `rules` map the console builds from roles' `role-template-rules`
/// (`server/services/session.js` `getUserGlobalRules`; the browser does the
/// same for workspace roles in `src/stores/role.js`).
fn template_rules(roles: &Value) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut rules = std::collections::BTreeMap::<String, Vec<String>>::new();
    for role in roles.as_array().expect("a plain JSON array of roles") {
        let annotation = role["metadata"]["annotations"]["iam.kubesphere.io/role-template-rules"]
            .as_str()
            .unwrap_or_else(|| panic!("no role-template-rules on {role}"));
        let map: serde_json::Map<String, Value> =
            serde_json::from_str(annotation).unwrap_or_else(|e| {
                panic!("role-template-rules is not a JSON map ({e}): {annotation}")
            });
        for (key, value) in map {
            let values = rules.entry(key).or_default();
            let new: Vec<String> = match value {
                Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect(),
                Value::String(s) => vec![s],
                other => panic!("a rule value is a string or a list, not {other}"),
            };
            for v in new {
                if !values.contains(&v) {
                    values.push(v);
                }
            }
        }
    }
    rules
}

#[tokio::test]
async fn the_login_form_and_the_token_the_console_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let ts = server(&audit, |_| {}).await;

    // server/services/session.js login + handleLoginResp.
    let encrypt = "ZW5jcnlwdGVkLWNvcHktb2YtdGhlLXBhc3N3b3Jk";
    let form = login_form("admin", PASSWORD, encrypt);
    let reply = gateway(&ts, "POST", "/oauth/token", None, FORM, &form).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let access = reply.body["access_token"].as_str().unwrap();
    assert!(
        reply.body["refresh_token"].as_str().is_some(),
        "{}",
        reply.text
    );
    // `Number(expires_in) * 1000`: a number of seconds.
    assert_eq!(reply.body["expires_in"], 7200, "{}", reply.text);
    let claims = jwt_payload(access);
    assert_eq!(claims["username"], "admin", "{claims}");
    // `get(extra, 'uninitialized[0]') !== 'true'`: absent means initialized.
    assert_ne!(claims["extra"]["uninitialized"][0], "true", "{claims}");

    // server/controllers/session.js handleLogin: 401 (or 400) is "wrong
    // username or password", 429 "too many failures"; anything else is
    // shown as a server error.
    let wrong = login_form("admin", "not-the-password", encrypt);
    let reply = gateway(&ts, "POST", "/oauth/token", None, FORM, &wrong).await;
    assert!(
        matches!(reply.status, 400 | 401),
        "{} {}",
        reply.status,
        reply.text
    );
    let unknown = login_form("nobody", "not-the-password", encrypt);
    let reply = gateway(&ts, "POST", "/oauth/token", None, FORM, &unknown).await;
    assert!(
        matches!(reply.status, 400 | 401),
        "{} {}",
        reply.status,
        reply.text
    );

    // The scrambled copy and the password are secrets: never audited.
    let me = get(&ts, &format!("{IAM}/users/admin"), access).await;
    assert_eq!(me.status, 200, "{}", me.text);
    ts.stop().await;
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(
        log.contains("/oauth/token"),
        "the token requests were audited"
    );
    assert!(log.contains("/kapis/iam.kubesphere.io/v1alpha2/users/admin"));
    for secret in [encrypt, PASSWORD, "not-the-password", access] {
        assert!(!log.contains(secret), "the audit log holds a secret");
    }
}

#[tokio::test]
async fn what_the_console_server_reads_for_every_page() {
    let (_dir, ts, admin) = server_with_admin().await;
    let member = workspace_with_member(&ts, &admin, "ws-a").await;
    // A second workspace the member is not in.
    create_workspace(&ts, &admin, "ws-b").await;

    // getKSConfig: configz spread into the page's globals, and the
    // versions; without a token too (server/controllers/view.js renders
    // the login page with them).
    for token in [None, Some(admin.as_str())] {
        let configz = gateway(
            &ts,
            "GET",
            "/kapis/config.kubesphere.io/v1alpha2/configs/configz",
            token,
            "application/json",
            "",
        )
        .await;
        assert_eq!(configz.status, 200, "{}", configz.text);
        assert!(configz.body.is_object(), "{}", configz.text);
        let version = gateway(&ts, "GET", "/kapis/version", token, "application/json", "").await;
        assert_eq!(version.status, 200, "{}", version.text);
        assert!(
            version.body["kubernetes"]["gitVersion"].is_string(),
            "{}",
            version.text
        );
        // getWorkspaces: `gitVersion.replace(/[^\d.]/g, '')`, first two
        // numbers; above 3.2 it lists v1alpha3 workspacetemplates.
        let git = version.body["gitVersion"].as_str().unwrap();
        let digits: String = git
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let major_minor: f64 = (digits.split('.').take(2).collect::<Vec<_>>().join("."))
            .parse()
            .unwrap();
        assert!(major_minor > 3.2, "{git}");
        // getSupportGpuList: an array of {resourceName, default}.
        let gpu = gateway(
            &ts,
            "GET",
            "/kapis/config.kubesphere.io/v1alpha2/configs/gpu/kinds",
            token,
            "application/json",
            "",
        )
        .await;
        assert_eq!(gpu.status, 200, "{}", gpu.text);
        assert!(gpu.body.is_array(), "{}", gpu.text);
    }

    for (user, token, globalrole) in [
        ("admin", &admin, "platform-admin"),
        ("member", &member, "platform-regular"),
    ] {
        // getClusterRole: `/clusterRole:(\s*[\w]+\s*)/` in kubesphere.yaml
        // for the platform admin; any error (a regular user may not read
        // kubesphere-system, as in KubeSphere) falls back to `host`, but a
        // 401 would log the user out.
        let config = get(
            &ts,
            "/api/v1/namespaces/kubesphere-system/configmaps/kubesphere-config",
            token,
        )
        .await;
        if user == "admin" {
            assert_eq!(config.status, 200, "{user}: {}", config.text);
            let yaml = config.body["data"]["kubesphere.yaml"].as_str().unwrap();
            let role = yaml
                .split_once("clusterRole:")
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap();
            assert_eq!(role, "host");
        } else {
            assert_eq!(config.status, 403, "{user}: {}", config.text);
        }

        // getUserDetail: a 401/403 here sends the user back to login.
        let path = format!("{IAM}/users/{user}");
        eventually("the last login time is recorded", || async {
            get(&ts, &path, token).await.body["status"]["lastLoginTime"].is_string()
        })
        .await;
        let detail = get(&ts, &path, token).await;
        assert_eq!(detail.status, 200, "{user}: {}", detail.text);
        assert_eq!(detail.body["metadata"]["name"], user);
        assert_eq!(
            detail.body["metadata"]["annotations"]["iam.kubesphere.io/globalrole"], globalrole,
            "{}",
            detail.text
        );
        assert!(detail.body["spec"]["email"].is_string(), "{}", detail.text);
        // `lang` may be absent (the console then uses the browser's).
        assert!(
            detail.body["spec"].get("lang").is_none_or(Value::is_string),
            "{}",
            detail.text
        );
        // `grantedClusters` defaults to [] when absent; present, a list.
        let granted = &detail.body["metadata"]["annotations"]["iam.kubesphere.io/granted-clusters"];
        assert!(granted.is_null() || granted.is_string(), "{}", detail.text);
        assert!(
            detail.body["spec"].get("password").is_none(),
            "{}",
            detail.text
        );

        // getWorkspaces (host cluster): names of the first ten.
        let list = get(
            &ts,
            "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates?limit=10",
            token,
        )
        .await;
        assert_eq!(list.status, 200, "{user}: {}", list.text);
        let names: Vec<&str> = list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["metadata"]["name"].as_str().unwrap())
            .collect();
        let expected: &[&str] = if user == "admin" {
            &["ws-a", "ws-b"]
        } else {
            &["ws-a"]
        };
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, expected, "{user}");
        assert_eq!(list.body["totalItems"], expected.len());
    }

    // getUserGlobalRules: the platform admin's templates give it the
    // platform's management pages.
    let roles = get(&ts, &format!("{IAM}/users/admin/globalroles"), &admin).await;
    assert_eq!(roles.status, 200, "{}", roles.text);
    let rules = template_rules(&roles.body);
    for (key, level) in [
        ("workspaces", "manage"),
        ("users", "manage"),
        ("clusters", "manage"),
    ] {
        assert!(
            rules.get(key).is_some_and(|v| v.iter().any(|l| l == level)),
            "admin's rules {rules:?} lack {key}: {level}"
        );
    }
    // The member: whatever platform-regular grants, never management.
    let roles = get(&ts, &format!("{IAM}/users/member/globalroles"), &member).await;
    assert_eq!(roles.status, 200, "{}", roles.text);
    let rules = template_rules(&roles.body);
    for key in ["workspaces", "users", "clusters", "roles"] {
        assert!(
            !rules
                .get(key)
                .is_some_and(|v| v.iter().any(|l| l == "manage")),
            "member's rules {rules:?} manage {key}"
        );
    }

    // src/stores/role.js (the workspace's pages): the member's roles in
    // the workspace, templates with their own rules; none elsewhere.
    let path = format!("{IAM}/workspaces/ws-a/workspacemembers/member/workspaceroles");
    // It follows the authorizer's policy, a moment behind the store.
    eventually("the member's workspace roles", || async {
        get(&ts, &path, &member)
            .await
            .body
            .as_array()
            .is_some_and(|a| !a.is_empty())
    })
    .await;
    let roles = get(&ts, &path, &member).await;
    assert_eq!(roles.status, 200, "{}", roles.text);
    assert!(
        !roles.body.as_array().unwrap().is_empty(),
        "ws-a-regular aggregates templates: {}",
        roles.text
    );
    template_rules(&roles.body);
    let path = format!("{IAM}/workspaces/ws-b/workspacemembers/member/workspaceroles");
    let roles = get(&ts, &path, &admin).await;
    assert_eq!(roles.status, 200, "{}", roles.text);
    assert_eq!(roles.body, json!([]));
    ts.stop().await;
}

#[tokio::test]
async fn a_user_without_a_global_role_gets_an_empty_list_and_role_changes_follow_the_annotation() {
    let (_dir, ts, admin) = server_with_admin().await;
    // src/stores/user.js create without a role.
    let reply = gateway(
        &ts,
        "POST",
        &format!("{IAM}/users"),
        Some(&admin),
        "application/json",
        r#"{"apiVersion":"iam.kubesphere.io/v1alpha2","kind":"User","metadata":{"name":"plain"},"spec":{"email":"plain@example.com","password":"Plain-P4ssword"}}"#,
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let path = format!("{IAM}/users/plain/globalroles");
    let roles = get(&ts, &path, &admin).await;
    assert_eq!(roles.status, 200, "{}", roles.text);
    assert_eq!(roles.body, json!([]));

    // src/stores/user.js update: the console edits the role by PUT of
    // the user with a new `iam.kubesphere.io/globalrole` annotation. The
    // user controller is still writing the new user (password hash,
    // state): a PUT from an older read is 409, and read again, as a
    // console user would.
    let mut conflicts = 0;
    loop {
        let mut user = get(&ts, &format!("{IAM}/users/plain"), &admin).await.body;
        user["metadata"]["annotations"]["iam.kubesphere.io/globalrole"] = json!("platform-admin");
        let reply = gateway(
            &ts,
            "PUT",
            &format!("{IAM}/users/plain"),
            Some(&admin),
            "application/json",
            &user.to_string(),
        )
        .await;
        if reply.status == 409 && conflicts < 10 {
            conflicts += 1;
            continue;
        }
        assert_eq!(reply.status, 200, "{}", reply.text);
        break;
    }
    eventually("plain's global roles follow the annotation", || async {
        let roles = get(&ts, &path, &admin).await;
        roles.status == 200
            && template_rules(&roles.body)
                .get("workspaces")
                .is_some_and(|v| v.iter().any(|l| l == "manage"))
    })
    .await;
    let detail = get(&ts, &format!("{IAM}/users/plain"), &admin).await;
    assert_eq!(
        detail.body["metadata"]["annotations"]["iam.kubesphere.io/globalrole"],
        "platform-admin"
    );
    ts.stop().await;
}

#[tokio::test]
async fn the_session_survives_a_token_refresh_across_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let ts = server(&dir.path().join("audit.log"), |config| {
        config.tokens.access_max_age = Duration::from_secs(2);
        config.tokens.inactivity_timeout = Duration::from_secs(60);
    })
    .await;
    let login = console_login(&ts, "admin", PASSWORD).await;
    assert_eq!(login["expires_in"], 2);
    let access = login["access_token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let me = format!("{IAM}/users/admin");
    assert_eq!(get(&ts, &me, &access).await.status, 200);

    // server/middlewares/checkToken.js refreshes when the `expire` cookie
    // is within ten minutes, so with a short lifetime the old token has
    // expired by the time it does.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(get(&ts, &me, &access).await.status, 401);

    // server/services/session.js getNewToken: the form, and the refresh
    // token as the bearer token too.
    let form = serde_urlencoded::to_string([
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", "kubesphere"),
        ("client_secret", "kubesphere"),
    ])
    .unwrap();
    let reply = gateway(&ts, "POST", "/oauth/token", Some(&refresh), FORM, &form).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let new_access = reply.body["access_token"].as_str().unwrap().to_owned();
    assert!(reply.body["refresh_token"].is_string(), "{}", reply.text);
    assert_eq!(reply.body["expires_in"], 2);
    assert_eq!(jwt_payload(&new_access)["username"], "admin");
    let detail = get(&ts, &me, &new_access).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    assert_eq!(detail.body["metadata"]["name"], "admin");

    // The refresh token still never authenticates anything else.
    assert_eq!(get(&ts, &me, &refresh).await.status, 401);
    ts.stop().await;
}

#[tokio::test]
async fn a_valid_token_is_never_answered_401_and_logout_succeeds() {
    let (_dir, ts, admin) = server_with_admin().await;
    let member = workspace_with_member(&ts, &admin, "ws-a").await;

    // src/utils/request.js logs the user out on any 401. With a valid
    // token: a route we do not serve is 404 (getK8sRuntime's
    // `/api/v1/nodes`, which the console tolerates failing), a route the
    // caller may not use is 403.
    for (token, path, expected) in [
        (&admin, "/api/v1/nodes", 404),
        (&admin, "/kapis/devops.kubesphere.io/v1alpha3/devops", 404),
        (&member, "/api/v1/nodes", 403),
        (&member, "/kapis/iam.kubesphere.io/v1alpha2/users", 403),
        (
            &member,
            "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws-a/namespaces",
            200,
        ),
    ] {
        let reply = get(&ts, path, token).await;
        assert_eq!(reply.status, expected, "{path}: {}", reply.text);
    }

    // server/controllers/session.js handleLogout: GET /oauth/logout with
    // the token; anything but 2xx (or a redirect) is a 500 for the user.
    let reply = gateway(
        &ts,
        "GET",
        "/oauth/logout",
        Some(&member),
        "application/json",
        "",
    )
    .await;
    assert!((200..300).contains(&reply.status), "{}", reply.text);
    assert_eq!(
        get(&ts, &format!("{IAM}/users/member"), &member)
            .await
            .status,
        401
    );
    ts.stop().await;
}

#[tokio::test]
async fn the_lists_and_counts_the_pages_ask_for() {
    let (_dir, ts, admin) = server_with_admin().await;
    let member = workspace_with_member(&ts, &admin, "ws-a").await;
    // src/stores/project.js create: through the workspace.
    let reply = gateway(
        &ts,
        "POST",
        "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws-a/namespaces",
        Some(&admin),
        "application/json",
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"proj-a","labels":{"kubesphere.io/workspace":"ws-a"},"annotations":{"kubesphere.io/creator":"admin"}}}"#,
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);

    // Each list is `{items, totalItems}` (src/stores/base.list.js).
    let selector = "labelSelector=kubefed.io%2Fmanaged%21%3Dtrue%2C%20kubesphere.io%2Fkubefed-host-namespace%21%3Dtrue";
    for (who, token, path, at_least) in [
        // src/pages/workspaces/containers/... (the workspace list).
        (
            "admin",
            &admin,
            "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates?sortBy=createTime&limit=10"
                .to_owned(),
            1,
        ),
        (
            "member",
            &member,
            "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates?sortBy=createTime&limit=10"
                .to_owned(),
            1,
        ),
        // src/stores/member.list.js (the workspace's members).
        (
            "member",
            &member,
            format!("{IAM}/workspaces/ws-a/workspacemembers?sortBy=createTime&limit=10"),
            1,
        ),
        // src/stores/role.js (the roles in the member dialog).
        (
            "admin",
            &admin,
            format!(
                "{IAM}/workspaces/ws-a/workspaceroles?limit=-1&annotation=kubesphere.io%2Fcreator"
            ),
            0,
        ),
        (
            "admin",
            &admin,
            format!("{IAM}/workspaces/ws-a/workspaceroles?limit=-1"),
            4,
        ),
        // src/stores/project.js (the workspace's projects).
        (
            "admin",
            &admin,
            format!(
                "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws-a/namespaces?{selector}&sortBy=createTime&limit=10"
            ),
            1,
        ),
        (
            "admin",
            &admin,
            format!(
                "/kapis/resources.kubesphere.io/v1alpha3/namespaces?{selector}&sortBy=createTime&limit=10"
            ),
            1,
        ),
    ] {
        let reply = get(&ts, &path, token).await;
        assert_eq!(reply.status, 200, "{who} {path}: {}", reply.text);
        let items = reply.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: {}", reply.text));
        assert!(items.len() >= at_least, "{who} {path}: {}", reply.text);
        assert!(
            reply.body["totalItems"].as_u64().unwrap() >= items.len() as u64,
            "{path}: {}",
            reply.text
        );
        // Every item is an object with metadata.name.
        for item in items {
            assert!(item["metadata"]["name"].is_string(), "{path}: {item}");
        }
    }

    // src/stores/workspace.js fetchDetail, which every workspace page
    // makes first (src/pages/workspaces/App.jsx) and answers a 403 with the
    // "not found" page: a member may, whatever its role there; someone
    // else's workspace stays closed.
    create_workspace(&ts, &admin, "ws-b").await;
    let other = get(
        &ts,
        "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates/ws-b",
        &member,
    )
    .await;
    assert_eq!(other.status, 403, "{}", other.text);
    let detail = get(
        &ts,
        "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates/ws-a",
        &member,
    )
    .await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    assert_eq!(detail.body["metadata"]["name"], "ws-a");
    assert!(
        detail.body["spec"]["template"].is_object(),
        "{}",
        detail.text
    );

    // The project list with the selector: the project and the workspace
    // label the page groups by. A regular member of the workspace sees
    // only the projects it is a member of: none yet.
    let path = format!(
        "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws-a/namespaces?{selector}&sortBy=createTime&limit=10"
    );
    let reply = get(&ts, &path, &admin).await;
    assert_eq!(
        reply.body["items"][0]["metadata"]["name"], "proj-a",
        "{}",
        reply.text
    );
    assert_eq!(
        reply.body["items"][0]["metadata"]["labels"]["kubesphere.io/workspace"],
        "ws-a"
    );
    let reply = get(&ts, &path, &member).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["totalItems"], 0, "{}", reply.text);

    // The workspace's members: the member's role in an annotation
    // (src/stores/member.list.js reads `iam.kubesphere.io/workspacerole`).
    let reply = get(
        &ts,
        &format!("{IAM}/workspaces/ws-a/workspacemembers?sortBy=createTime&limit=10"),
        &admin,
    )
    .await;
    let members = reply.body["items"].as_array().unwrap();
    let member_item = members
        .iter()
        .find(|m| m["metadata"]["name"] == "member")
        .unwrap_or_else(|| panic!("{}", reply.text));
    assert_eq!(
        member_item["metadata"]["annotations"]["iam.kubesphere.io/workspacerole"],
        "ws-a-regular"
    );
    ts.stop().await;
}
