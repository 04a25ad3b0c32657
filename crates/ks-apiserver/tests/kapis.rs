//! KubeSphere's APIs under /kapis, end to end over HTTP: public routes,
//! Status errors, and (per route group) allowed and denied callers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestServer, eventually, login};
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

    // Asked on every page the console's server renders.
    let gpu = call(
        &ts,
        "GET",
        "/kapis/config.kubesphere.io/v1alpha2/configs/gpu/kinds",
        None,
        "",
    )
    .await;
    assert_eq!(gpu.status, 200, "{}", gpu.text);
    assert_eq!(gpu.body, serde_json::json!([]));
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

fn names(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {}", reply.text))
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

const TENANT: &str = "/kapis/tenant.kubesphere.io/v1alpha2";
const IAM: &str = "/kapis/iam.kubesphere.io/v1alpha2";

#[tokio::test]
async fn a_member_sees_only_its_workspaces_and_their_namespaces() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);

    // Users through /kapis: the global role annotation binds a role.
    let created = call(
        &ts,
        "POST",
        &format!("{IAM}/users"),
        Some(&admin),
        r#"{"apiVersion":"iam.kubesphere.io/v1alpha2","kind":"User",
            "metadata":{"name":"alice","annotations":{"iam.kubesphere.io/globalrole":"platform-regular"}},
            "spec":{"email":"alice@example.com","password":"Alice-pass-123"}}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(
        created.body["spec"].get("password").is_none(),
        "{}",
        created.text
    );
    assert_eq!(
        created.body["metadata"]["annotations"]["iam.kubesphere.io/globalrole"],
        "platform-regular"
    );
    let binding = call(
        &ts,
        "GET",
        "/apis/iam.kubesphere.io/v1alpha2/globalrolebindings/alice-platform-regular",
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(binding.status, 200, "{}", binding.text);
    assert_eq!(
        binding.body["metadata"]["labels"]["iam.kubesphere.io/user-ref"],
        "alice"
    );

    // Two workspaces, a namespace in each.
    for ws in ["ws1", "ws2"] {
        let reply = call(
            &ts,
            "POST",
            &format!("{TENANT}/workspaces"),
            Some(&admin),
            &format!(
                r#"{{"apiVersion":"tenant.kubesphere.io/v1alpha2","kind":"WorkspaceTemplate","metadata":{{"name":"{ws}"}}}}"#
            ),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        assert_eq!(
            reply.body["metadata"]["annotations"]["kubesphere.io/creator"],
            "admin"
        );
        let ns = format!("{ws}-ns");
        let reply = call(
            &ts,
            "POST",
            &format!("{TENANT}/workspaces/{ws}/namespaces"),
            Some(&admin),
            &format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{ns}"}}}}"#),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        assert_eq!(
            reply.body["metadata"]["labels"]["kubesphere.io/workspace"],
            ws
        );
    }
    // A namespace of ws2 is not reachable through ws1.
    let reply = call(
        &ts,
        "GET",
        &format!("{TENANT}/workspaces/ws1/namespaces/ws2-ns"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(reply.status, 404, "{}", reply.text);

    // alice: viewer of ws1, and allowed to list workspaces in the API
    // group (not every workspace, which needs API group `*`).
    for obj in [
        r#"{"apiVersion":"iam.kubesphere.io/v1alpha2","kind":"WorkspaceRole",
            "metadata":{"name":"ws1-viewer","labels":{"kubesphere.io/workspace":"ws1"}},
            "rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["get","list","watch"]}]}"#,
        r#"{"apiVersion":"iam.kubesphere.io/v1alpha2","kind":"WorkspaceRoleBinding",
            "metadata":{"name":"alice-ws1-viewer","labels":{"kubesphere.io/workspace":"ws1"}},
            "roleRef":{"apiGroup":"iam.kubesphere.io","kind":"WorkspaceRole","name":"ws1-viewer"},
            "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"alice"}]}"#,
        r#"{"apiVersion":"iam.kubesphere.io/v1alpha2","kind":"GlobalRole",
            "metadata":{"name":"tenant-lister"},
            "rules":[{"apiGroups":["tenant.kubesphere.io"],"resources":["workspaces"],"verbs":["list"]}]}"#,
        r#"{"apiVersion":"iam.kubesphere.io/v1alpha2","kind":"GlobalRoleBinding",
            "metadata":{"name":"alice-tenant-lister"},
            "roleRef":{"apiGroup":"iam.kubesphere.io","kind":"GlobalRole","name":"tenant-lister"},
            "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"alice"}]}"#,
    ] {
        let value: Value = serde_json::from_str(obj).unwrap();
        let plural = match value["kind"].as_str().unwrap() {
            "WorkspaceRole" => "workspaceroles",
            "WorkspaceRoleBinding" => "workspacerolebindings",
            "GlobalRole" => "globalroles",
            _ => "globalrolebindings",
        };
        let reply = call(
            &ts,
            "POST",
            &format!("/apis/iam.kubesphere.io/v1alpha2/{plural}"),
            Some(&admin),
            obj,
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let alice = login(&ts, "alice", "Alice-pass-123").await;
    eventually("alice sees ws1", || async {
        let reply = call(
            &ts,
            "GET",
            &format!("{TENANT}/workspaces"),
            Some(&alice),
            "",
        )
        .await;
        reply.status == 200 && names(&reply) == ["ws1"]
    })
    .await;
    let reply = call(
        &ts,
        "GET",
        &format!("{TENANT}/workspaces"),
        Some(&alice),
        "",
    )
    .await;
    assert_eq!(reply.body["totalItems"], 1, "{}", reply.text);
    // The admin sees both, paged and sorted.
    let reply = call(
        &ts,
        "GET",
        &format!("{TENANT}/workspaces?sortBy=name&ascending=true&limit=1&page=2"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(names(&reply), ["ws2"], "{}", reply.text);
    assert_eq!(reply.body["totalItems"], 2);

    // Namespaces: all of ws1 through the workspace (ws1's role lists
    // namespaces there), none of ws2, and no RoleBinding anywhere.
    let reply = call(
        &ts,
        "GET",
        &format!("{TENANT}/workspaces/ws1/namespaces"),
        Some(&alice),
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(names(&reply), ["ws1-ns"]);
    // The tenant lists are open to every user (KubeSphere's built-in
    // `authenticated` role), and filtered: nothing of ws2 for alice.
    let reply = call(
        &ts,
        "GET",
        &format!("{TENANT}/workspaces/ws2/namespaces"),
        Some(&alice),
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(names(&reply), Vec::<String>::new());
    let path = format!("{TENANT}/workspaces/ws2/namespaces/ws2-ns");
    let reply = call(&ts, "GET", &path, Some(&alice), "").await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{TENANT}/namespaces"),
        Some(&admin),
        "",
    )
    .await;
    let all = names(&reply);
    assert!(
        all.contains(&"ws1-ns".to_owned()) && all.contains(&"ws2-ns".to_owned()),
        "{all:?}"
    );

    // Users: no hash anywhere, the global role computed, filters.
    let reply = call(&ts, "GET", &format!("{IAM}/users"), Some(&admin), "").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(!reply.text.contains("$2a$"), "{}", reply.text);
    assert!(!reply.text.contains("\"password\""), "{}", reply.text);
    let admin_user = (reply.body["items"].as_array().unwrap().iter())
        .find(|u| u["metadata"]["name"] == "admin")
        .unwrap();
    assert_eq!(
        admin_user["metadata"]["annotations"]["iam.kubesphere.io/globalrole"],
        "platform-admin"
    );
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/users?globalrole=platform-regular"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(names(&reply), ["alice"], "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/users?workspace=ws1"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(names(&reply), ["alice"], "{}", reply.text);
    assert_eq!(
        reply.body["items"][0]["metadata"]["annotations"]["iam.kubesphere.io/workspacerole"],
        "ws1-viewer"
    );
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/users?email=alice@example.com"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(names(&reply), ["alice"], "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/users?favourite=blue"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("favourite"), "{}", reply.text);

    // The role templates of alice's global role.
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/users/alice/globalroles"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.body.as_array().is_some_and(|a| !a.is_empty()),
        "{}",
        reply.text
    );
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/users/nobody/globalroles"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(reply.body, serde_json::json!([]));
    // Her login is recorded.
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/users/alice/loginrecords"),
        Some(&admin),
        "",
    )
    .await;
    assert!(
        reply.body["totalItems"].as_u64().unwrap() >= 1,
        "{}",
        reply.text
    );

    // An update cannot change the password nor set another state.
    let mut user = call(&ts, "GET", &format!("{IAM}/users/alice"), Some(&admin), "")
        .await
        .body;
    user["spec"]["password"] = "Changed-pass-123".into();
    user["spec"]["description"] = "edited".into();
    let reply = call(
        &ts,
        "PUT",
        &format!("{IAM}/users/alice"),
        Some(&admin),
        &user.to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["spec"]["description"], "edited");
    let _still = login(&ts, "alice", "Alice-pass-123").await;
    user["status"] = serde_json::json!({"state": "AuthLimitExceeded"});
    let reply = call(
        &ts,
        "PUT",
        &format!("{IAM}/users/alice"),
        Some(&admin),
        &user.to_string(),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text);

    // A password reset by the admin needs no current password and revokes
    // alice's tokens.
    let reply = call(
        &ts,
        "PUT",
        &format!("{IAM}/users/alice/password"),
        Some(&admin),
        r#"{"password":"Alice-new-pass-456"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{TENANT}/workspaces"),
        Some(&alice),
        "",
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    let _new = login(&ts, "alice", "Alice-new-pass-456").await;
    // A wrong current password is refused even for the admin.
    let reply = call(
        &ts,
        "PUT",
        &format!("{IAM}/users/alice/password"),
        Some(&admin),
        r#"{"currentPassword":"wrong","password":"Alice-newer-789"}"#,
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    ts.stop().await;
}

#[tokio::test]
async fn the_authenticated_role_reaches_only_the_users_own_objects() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);
    let created = call(
        &ts,
        "POST",
        &format!("{IAM}/users"),
        Some(&admin),
        r#"{"apiVersion":"iam.kubesphere.io/v1alpha2","kind":"User",
            "metadata":{"name":"bob"},
            "spec":{"email":"bob@example.com","password":"Bob-pass-1234"}}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(
        created.body["metadata"]["annotations"]
            .get("iam.kubesphere.io/globalrole")
            .is_none(),
        "{}",
        created.text
    );
    let bob = login(&ts, "bob", "Bob-pass-1234").await;

    let own = call(&ts, "GET", &format!("{IAM}/users/bob"), Some(&bob), "").await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert!(own.body["spec"].get("password").is_none(), "{}", own.text);
    for (method, path) in [
        ("GET", format!("{IAM}/users/admin")),
        ("GET", format!("{IAM}/users")),
        ("GET", format!("{IAM}/users/admin/loginrecords")),
        (
            "GET",
            "/apis/iam.kubesphere.io/v1alpha2/users/bob".to_owned(),
        ),
        ("DELETE", format!("{IAM}/users/bob")),
    ] {
        let reply = call(&ts, method, &path, Some(&bob), "").await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.text);
    }
    // Every signed-in user may read the /kapis OpenAPI document.
    let reply = call(&ts, "GET", "/kapis/openapi/v3", Some(&bob), "").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.body["paths"].is_object(), "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/users/bob/loginrecords"),
        Some(&bob),
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = call(&ts, "GET", &format!("{TENANT}/workspaces"), Some(&bob), "").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body,
        serde_json::json!({"items": [], "totalItems": 0})
    );

    // A self-update changes the profile and nothing else. (The login's
    // status update may land between a read and a write: retry on 409.)
    let mut reply = None;
    for _ in 0..20 {
        let path = format!("{IAM}/users/bob");
        let mut user = call(&ts, "GET", &path, Some(&bob), "").await.body;
        user["spec"]["lang"] = "zh".into();
        user["spec"]["groups"] = serde_json::json!(["platform-admins"]);
        user["metadata"]["labels"] = serde_json::json!({"sneaky": "yes"});
        let put = call(&ts, "PUT", &path, Some(&bob), &user.to_string()).await;
        if put.status != 409 {
            reply = Some(put);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let reply = reply.expect("an update without a conflict");
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["spec"]["lang"], "zh");
    assert!(reply.body["spec"].get("groups").is_none(), "{}", reply.text);
    assert!(
        reply.body["metadata"]["labels"].get("sneaky").is_none(),
        "{}",
        reply.text
    );
    // ... and cannot bind a global role.
    let mut user = reply.body.clone();
    user["metadata"]["annotations"] =
        serde_json::json!({"iam.kubesphere.io/globalrole": "platform-admin"});
    let reply = call(
        &ts,
        "PUT",
        &format!("{IAM}/users/bob"),
        Some(&bob),
        &user.to_string(),
    )
    .await;
    assert_eq!(reply.status, 403, "{}", reply.text);

    // The own password needs the current one.
    let path = format!("{IAM}/users/bob/password");
    let reply = call(
        &ts,
        "PUT",
        &path,
        Some(&bob),
        r#"{"password":"Bob-new-pass-567"}"#,
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(
        reply.text.contains("incorrect old password"),
        "{}",
        reply.text
    );
    let reply = call(
        &ts,
        "PUT",
        &path,
        Some(&bob),
        r#"{"currentPassword":"Bob-pass-1234","password":"Bob-new-pass-567"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["message"], "success");
    let reply = call(&ts, "GET", &format!("{IAM}/users/bob"), Some(&bob), "").await;
    assert_eq!(
        reply.status, 401,
        "the old token is revoked: {}",
        reply.text
    );
    let _again = login(&ts, "bob", "Bob-new-pass-567").await;
    ts.stop().await;
}

const RESOURCES: &str = "/kapis/resources.kubesphere.io/v1alpha3";

/// Creates user `name` with a password and returns its token.
async fn user_with_token(ts: &TestServer, admin: &str, name: &str) -> String {
    let password = format!("{}-Pass-123", name.to_uppercase());
    let body = format!(
        r#"{{"apiVersion":"iam.kubesphere.io/v1alpha2","kind":"User","metadata":{{"name":"{name}"}},"spec":{{"email":"{name}@example.com","password":"{password}"}}}}"#
    );
    let reply = call(ts, "POST", &format!("{IAM}/users"), Some(admin), &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    login(ts, name, &password).await
}

#[tokio::test]
async fn resources_lists_show_no_more_than_the_kubernetes_api() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);
    for name in ["cm-a", "cm-b", "cm-c"] {
        let body =
            format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}}}}"#);
        let reply = call(
            &ts,
            "POST",
            "/api/v1/namespaces/default/configmaps",
            Some(&admin),
            &body,
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let reply = call(
        &ts,
        "GET",
        &format!(
            "{RESOURCES}/namespaces/default/configmaps?name=cm-&sortBy=name&ascending=true&limit=2"
        ),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(names(&reply), ["cm-a", "cm-b"]);
    assert_eq!(reply.body["totalItems"], 3);
    let reply = call(
        &ts,
        "GET",
        &format!("{RESOURCES}/namespaces/default/configmaps/cm-c"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(reply.body["metadata"]["name"], "cm-c", "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{RESOURCES}/namespaces?sortBy=name&ascending=true"),
        Some(&admin),
        "",
    )
    .await;
    let all = names(&reply);
    assert!(
        all.contains(&"default".to_owned()) && all.contains(&"kube-system".to_owned()),
        "{all:?}"
    );
    let reply = call(
        &ts,
        "GET",
        &format!("{RESOURCES}/namespaces/default"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(reply.body["metadata"]["name"], "default", "{}", reply.text);
    let reply = call(&ts, "GET", &format!("{RESOURCES}/users"), Some(&admin), "").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        !reply.text.contains("$2a$") && !reply.text.contains("\"password\""),
        "{}",
        reply.text
    );
    let reply = call(
        &ts,
        "GET",
        &format!("{RESOURCES}/nothings"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{RESOURCES}/namespaces/default/configmaps?colour=red"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text);

    // carol's role names every API group: both checks pass. dave's names
    // only resources.kubesphere.io: the route lets him in, the Kubernetes
    // API would not show him ConfigMaps, so neither does this route.
    let carol = user_with_token(&ts, &admin, "carol").await;
    let dave = user_with_token(&ts, &admin, "dave").await;
    for (user, group) in [("carol", "*"), ("dave", "resources.kubesphere.io")] {
        let role = format!(
            r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{{"name":"{user}-reads","namespace":"default"}},
                "rules":[{{"apiGroups":["{group}"],"resources":["configmaps"],"verbs":["get","list"]}}]}}"#
        );
        let binding = format!(
            r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{{"name":"{user}-reads","namespace":"default"}},
                "roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"{user}-reads"}},
                "subjects":[{{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"{user}"}}]}}"#
        );
        for (path, body) in [
            (
                "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
                role,
            ),
            (
                "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
                binding,
            ),
        ] {
            let reply = call(&ts, "POST", path, Some(&admin), &body).await;
            assert_eq!(reply.status, 201, "{}", reply.text);
        }
    }
    let path = format!("{RESOURCES}/namespaces/default/configmaps");
    eventually("carol lists ConfigMaps", || async {
        call(&ts, "GET", &path, Some(&carol), "").await.status == 200
    })
    .await;
    eventually("dave is let in by the route", || async {
        let reply = call(&ts, "GET", &path, Some(&dave), "").await;
        reply.status == 403 && reply.text.contains("API group \\\"\\\"")
    })
    .await;
    let reply = call(
        &ts,
        "GET",
        &format!("{RESOURCES}/namespaces/kube-system/configmaps"),
        Some(&carol),
        "",
    )
    .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    ts.stop().await;
}

#[tokio::test]
async fn encoded_path_segments_never_reach_a_forwarded_request() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);
    for path in [
        format!("{TENANT}/workspaces/ws1%3FdryRun=All"),
        format!("{TENANT}/workspaces/ws1%2Fstatus"),
        format!("{IAM}/users/admin%23x"),
        format!("{TENANT}/workspaces/a%20b/namespaces"),
    ] {
        let reply = call(&ts, "DELETE", &path, Some(&admin), "").await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.text);
        assert_eq!(reply.body["kind"], "Status", "{path}");
    }
    ts.stop().await;
}

#[tokio::test]
async fn clusters_are_all_to_cluster_listers_and_the_granted_ones_to_others() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);
    for name in ["host", "member"] {
        let body = format!(
            r#"{{"apiVersion":"cluster.kubesphere.io/v1alpha1","kind":"Cluster","metadata":{{"name":"{name}"}},"spec":{{}}}}"#
        );
        let reply = call(
            &ts,
            "POST",
            "/apis/cluster.kubesphere.io/v1alpha1/clusters",
            Some(&admin),
            &body,
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let erin = user_with_token(&ts, &admin, "erin").await;
    let path = format!("{TENANT}/clusters");
    let reply = call(&ts, "GET", &path, Some(&erin), "").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(names(&reply), Vec::<String>::new());
    let patch =
        r#"{"metadata":{"annotations":{"iam.kubesphere.io/granted-clusters":"member,gone"}}}"#;
    let (status, _, body) = common::http(
        &ts.url,
        "PATCH",
        "/apis/iam.kubesphere.io/v1alpha2/users/erin",
        &[
            ("authorization", &format!("Bearer {admin}")),
            ("content-type", "application/merge-patch+json"),
        ],
        patch,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    eventually("erin sees the granted cluster", || async {
        names(&call(&ts, "GET", &path, Some(&erin), "").await) == ["member"]
    })
    .await;
    let reply = call(
        &ts,
        "GET",
        &format!("{path}?sortBy=name&ascending=true"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(names(&reply), ["host", "member"], "{}", reply.text);
    ts.stop().await;
}

/// The tenant routes that act on one object: a user without a role is
/// refused every one (the lists are open to everyone, and filtered); the
/// admin reaches each.
#[tokio::test]
async fn tenant_object_routes_need_a_role() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);
    let template = r#"{"apiVersion":"tenant.kubesphere.io/v1alpha2","kind":"WorkspaceTemplate","metadata":{"name":"ws9"}}"#;
    let reply = call(
        &ts,
        "POST",
        &format!("{TENANT}/workspaces"),
        Some(&admin),
        template,
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let namespace = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ws9-ns"}}"#;
    let reply = call(
        &ts,
        "POST",
        &format!("{TENANT}/workspaces/ws9/namespaces"),
        Some(&admin),
        namespace,
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let frank = user_with_token(&ts, &admin, "frank").await;
    let v3 = "/kapis/tenant.kubesphere.io/v1alpha3";
    let routes = [
        ("POST", format!("{TENANT}/workspaces"), template),
        ("GET", format!("{TENANT}/workspaces/ws9"), ""),
        ("PATCH", format!("{TENANT}/workspaces/ws9"), "{}"),
        ("DELETE", format!("{TENANT}/workspaces/ws9"), ""),
        (
            "POST",
            format!("{TENANT}/workspaces/ws9/namespaces"),
            namespace,
        ),
        (
            "GET",
            format!("{TENANT}/workspaces/ws9/namespaces/ws9-ns"),
            "",
        ),
        (
            "PATCH",
            format!("{TENANT}/workspaces/ws9/namespaces/ws9-ns"),
            "{}",
        ),
        (
            "DELETE",
            format!("{TENANT}/workspaces/ws9/namespaces/ws9-ns"),
            "",
        ),
        ("POST", format!("{v3}/workspacetemplates"), template),
        ("GET", format!("{v3}/workspacetemplates/ws9"), ""),
        ("GET", format!("{v3}/workspaces/ws9"), ""),
    ];
    for (method, path, body) in &routes {
        let reply = call(&ts, method, path, Some(&frank), body).await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.text);
        assert_eq!(reply.body["reason"], "Forbidden", "{method} {path}");
    }
    for (method, path) in [
        ("GET", format!("{TENANT}/workspaces/ws9")),
        ("GET", format!("{TENANT}/workspaces/ws9/namespaces/ws9-ns")),
        ("GET", format!("{v3}/workspacetemplates/ws9")),
        ("PATCH", format!("{TENANT}/workspaces/ws9")),
        (
            "PATCH",
            format!("{TENANT}/workspaces/ws9/namespaces/ws9-ns"),
        ),
    ] {
        let reply = call(&ts, method, &path, Some(&admin), "{}").await;
        assert_eq!(reply.status, 200, "{method} {path}: {}", reply.text);
    }
    let reply = call(
        &ts,
        "DELETE",
        &format!("{TENANT}/workspaces/ws9?propagationPolicy=Orphan"),
        Some(&admin),
        "",
    )
    .await;
    assert!(reply.status == 200 || reply.status == 202, "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        "/apis/tenant.kubesphere.io/v1alpha2/workspacetemplates/ws9",
        Some(&admin),
        "",
    )
    .await;
    // Deleted, or waiting on its finalizers with the orphan one among them.
    assert!(
        reply.status == 404
            || reply.body["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == "orphan.finalizers.kubesphere.io")),
        "{}",
        reply.text
    );
    ts.stop().await;
}

/// The console's server reads the cluster's role from KubeSphere's
/// configuration ConfigMap (console v3.4.1 `server/services/session.js`,
/// `getClusterRole`: `data['kubesphere.yaml']` matched against
/// `/clusterRole:(\s*[\w]+\s*)/`, `host` unless it says `member`).
#[tokio::test]
async fn the_console_reads_the_cluster_role_from_kubesphere_config() {
    let ts = TestServer::start().await;
    let reply = call(
        &ts,
        "GET",
        "/api/v1/namespaces/kubesphere-system/configmaps/kubesphere-config",
        Some(&admin(&ts)),
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let yaml = reply.body["data"]["kubesphere.yaml"].as_str().unwrap();
    let role = yaml
        .split_once("clusterRole:")
        .map(|(_, rest)| rest.split_whitespace().next().unwrap_or(""))
        .unwrap();
    assert_eq!(role, "host", "{yaml}");
    assert!(!yaml.to_lowercase().contains("secret"), "{yaml}");
    ts.stop().await;
}
