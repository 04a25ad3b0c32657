//! `iam.kubesphere.io/v1alpha2` roles and members under /kapis, end to
//! end over HTTP: who may call each route, the response shapes, the list
//! filters, role aggregation from templates, and members added, changed
//! and removed (checked through the binding objects under /apis).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestServer, eventually, login};
use serde_json::{Value, json};

const IAM: &str = "/kapis/iam.kubesphere.io/v1alpha2";
const TENANT: &str = "/kapis/tenant.kubesphere.io/v1alpha2";
const IAM_APIS: &str = "/apis/iam.kubesphere.io/v1alpha2";
const RBAC_APIS: &str = "/apis/rbac.authorization.k8s.io/v1";
const AGGREGATION: &str = "iam.kubesphere.io/aggregation-roles";

struct Reply {
    status: u16,
    body: Value,
    text: String,
}

async fn call_as(
    ts: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &str,
) -> Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", content_type)];
    if let Some(bearer) = &bearer {
        headers.push(("authorization", bearer));
    }
    let (status, _, bytes) = common::http(&ts.url, method, path, &headers, body).await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // No response of these routes ever carries a password hash.
    assert!(!text.contains("$2a$"), "{method} {path}: {text}");
    assert!(!text.contains("\"password\""), "{method} {path}: {text}");
    Reply {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    }
}

async fn call(ts: &TestServer, method: &str, path: &str, token: &str, body: &str) -> Reply {
    call_as(ts, method, path, Some(token), "application/json", body).await
}

fn admin(ts: &TestServer) -> String {
    ts.server.as_ref().unwrap().admin_token.clone()
}

/// Creates `object` at `path` (under /apis or /kapis) as `token`.
async fn create(ts: &TestServer, token: &str, path: &str, object: Value) -> Value {
    let reply = call(ts, "POST", path, token, &object.to_string()).await;
    assert!(
        reply.status == 200 || reply.status == 201,
        "POST {path}: {}",
        reply.text
    );
    reply.body
}

fn names(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {}", reply.text))
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

fn array_names(reply: &Reply) -> Vec<String> {
    reply
        .body
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {}", reply.text))
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// A user with a password, created through /kapis.
async fn user(ts: &TestServer, admin: &str, name: &str) {
    create(
        ts,
        admin,
        &format!("{IAM}/users"),
        json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
            "metadata": {"name": name},
            "spec": {"email": format!("{name}@example.com"), "password": format!("{name}-Pass-1234")},
        }),
    )
    .await;
}

fn rule(group: &str, resource: &str, verbs: &[&str]) -> Value {
    json!({"apiGroups": [group], "resources": [resource], "verbs": verbs})
}

/// A role template of `kind` (`GlobalRole`, `ClusterRole`,
/// `WorkspaceRole` or `Role`) with `rules`, created through /apis.
async fn template(
    ts: &TestServer,
    admin: &str,
    kind: &str,
    name: &str,
    extra_meta: Value,
    rules: Value,
) {
    let (api_version, path) = match kind {
        "GlobalRole" => (
            "iam.kubesphere.io/v1alpha2",
            format!("{IAM_APIS}/globalroles"),
        ),
        "WorkspaceRole" => (
            "iam.kubesphere.io/v1alpha2",
            format!("{IAM_APIS}/workspaceroles"),
        ),
        "ClusterRole" => (
            "rbac.authorization.k8s.io/v1",
            format!("{RBAC_APIS}/clusterroles"),
        ),
        _ => {
            let ns = extra_meta["namespace"].as_str().unwrap();
            (
                "rbac.authorization.k8s.io/v1",
                format!("{RBAC_APIS}/namespaces/{ns}/roles"),
            )
        }
    };
    let mut metadata = json!({"name": name, "labels": {"iam.kubesphere.io/role-template": "true"}});
    for (k, v) in extra_meta.as_object().unwrap() {
        if k == "labels" {
            for (lk, lv) in v.as_object().unwrap() {
                metadata["labels"][lk] = lv.clone();
            }
        } else {
            metadata[k] = v.clone();
        }
    }
    create(
        ts,
        admin,
        &path,
        json!({"apiVersion": api_version, "kind": kind, "metadata": metadata, "rules": rules}),
    )
    .await;
}

fn aggregating(names: &[&str]) -> Value {
    json!({AGGREGATION: serde_json::to_string(names).unwrap()})
}

/// A workspace and a namespace in it, through the tenant routes.
async fn workspace_with_namespace(ts: &TestServer, admin: &str, ws: &str, ns: &str) {
    create(
        ts,
        admin,
        &format!("{TENANT}/workspaces"),
        json!({"apiVersion": "tenant.kubesphere.io/v1alpha2", "kind": "WorkspaceTemplate",
               "metadata": {"name": ws}}),
    )
    .await;
    create(
        ts,
        admin,
        &format!("{TENANT}/workspaces/{ws}/namespaces"),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
    )
    .await;
}

fn rules(value: &Value) -> Vec<String> {
    sorted(
        value["rules"]
            .as_array()
            .unwrap_or_else(|| panic!("no rules in {value}"))
            .iter()
            .map(Value::to_string)
            .collect(),
    )
}

#[tokio::test]
async fn global_and_cluster_roles_take_the_union_of_their_templates() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);
    let r1 = rule("", "pods", &["get"]);
    let r2 = rule("", "configmaps", &["list"]);
    let r3 = rule("apps", "deployments", &["watch"]);
    template(
        &ts,
        &admin,
        "GlobalRole",
        "tpl-a",
        json!({}),
        json!([r1, r2]),
    )
    .await;
    template(
        &ts,
        &admin,
        "GlobalRole",
        "tpl-b",
        json!({}),
        json!([r2, r3]),
    )
    .await;
    let read = |path: String| {
        let ts = &ts;
        let admin = &admin;
        async move {
            let reply = call(ts, "GET", &path, admin, "").await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.text);
            reply.body
        }
    };
    let union = {
        let a = read(format!("{IAM_APIS}/globalroles/tpl-a")).await;
        let b = read(format!("{IAM_APIS}/globalroles/tpl-b")).await;
        sorted(
            rules(&a)
                .into_iter()
                .chain(rules(&b))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        )
    };
    assert_eq!(union.len(), 3);

    // Create: the body's rules give way to the templates'.
    let reply = call(
        &ts,
        "POST",
        &format!("{IAM}/globalroles"),
        &admin,
        &json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GlobalRole",
                "metadata": {"name": "composed", "annotations": aggregating(&["tpl-a", "tpl-b"])},
                "rules": [rule("*", "*", &["*"])]})
        .to_string(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(rules(&reply.body), union);
    let stored = read(format!("{IAM_APIS}/globalroles/composed")).await;
    assert_eq!(rules(&stored), union);
    assert_eq!(stored["rules"].as_array().unwrap().len(), 3, "{stored}");
    let got = read(format!("{IAM}/globalroles/composed")).await;
    assert_eq!(rules(&got), union);

    // A patch of the annotation recomputes the rules; a patch of the rules
    // alone changes nothing.
    let reply = call(
        &ts,
        "PATCH",
        &format!("{IAM}/globalroles/composed"),
        &admin,
        &json!({"metadata": {"annotations": aggregating(&["tpl-b"])}}).to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let only_b = rules(&read(format!("{IAM_APIS}/globalroles/tpl-b")).await);
    assert_eq!(rules(&reply.body), only_b);
    let reply = call(
        &ts,
        "PATCH",
        &format!("{IAM}/globalroles/composed"),
        &admin,
        &json!({"rules": [rule("*", "*", &["*"])], "metadata": {"labels": {"edited": "yes"}}})
            .to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(rules(&reply.body), only_b);
    assert_eq!(reply.body["metadata"]["labels"]["edited"], "yes");
    // A JSON patch is not a role patch.
    let reply = call_as(
        &ts,
        "PATCH",
        &format!("{IAM}/globalroles/composed"),
        Some(&admin),
        "application/json-patch+json",
        r#"[{"op":"add","path":"/rules/-","value":{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}}]"#,
    )
    .await;
    assert_eq!(reply.status, 415, "{}", reply.text);
    assert_eq!(reply.body["kind"], "Status");

    // Update: the annotation again decides; without it, no rules.
    let mut role = read(format!("{IAM}/globalroles/composed")).await;
    role["metadata"]["annotations"] = aggregating(&["tpl-a"]);
    let reply = call(
        &ts,
        "PUT",
        &format!("{IAM}/globalroles/composed"),
        &admin,
        &role.to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let only_a = rules(&read(format!("{IAM_APIS}/globalroles/tpl-a")).await);
    assert_eq!(rules(&reply.body), only_a);
    let reply = call(
        &ts,
        "PUT",
        &format!("{IAM}/globalroles/other-name"),
        &admin,
        &reply.body.to_string(),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("does not match"), "{}", reply.text);

    // A missing template or a malformed annotation is a 400 that says so.
    for (annotation, needle) in [
        (
            aggregating(&["tpl-a", "no-such-template"]),
            "no-such-template",
        ),
        (json!({AGGREGATION: "tpl-a,tpl-b"}), AGGREGATION),
    ] {
        let reply = call(
            &ts,
            "POST",
            &format!("{IAM}/globalroles"),
            &admin,
            &json!({"metadata": {"name": "broken", "annotations": annotation}}).to_string(),
        )
        .await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        assert_eq!(reply.body["kind"], "Status");
        assert!(reply.text.contains(needle), "{}", reply.text);
    }
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM_APIS}/globalroles/broken"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 404, "nothing was written: {}", reply.text);

    // Lists: the common query, aggregateTo, and 400 on an unknown key.
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/globalroles?aggregateTo=composed"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(names(&reply), ["tpl-a"]);
    assert_eq!(reply.body["totalItems"], 1);
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/globalroles?aggregateTo=no-such-role"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.body, json!({"items": [], "totalItems": 0}));
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/globalroles?name=tpl-&sortBy=name&ascending=true&limit=1&page=2"),
        &admin,
        "",
    )
    .await;
    assert_eq!(names(&reply), ["tpl-b"], "{}", reply.text);
    assert_eq!(reply.body["totalItems"], 2);
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/globalroles?labelSelector=!iam.kubesphere.io/role-template"),
        &admin,
        "",
    )
    .await;
    let listed = names(&reply);
    assert!(listed.contains(&"composed".to_owned()), "{listed:?}");
    assert!(listed.contains(&"platform-admin".to_owned()), "{listed:?}");
    assert!(!listed.contains(&"tpl-a".to_owned()), "{listed:?}");
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/globalroles?colour=red"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("colour"), "{}", reply.text);

    // Cluster roles: the same rules, over rbac.authorization.k8s.io.
    template(&ts, &admin, "ClusterRole", "ctpl-a", json!({}), json!([r1])).await;
    template(&ts, &admin, "ClusterRole", "ctpl-b", json!({}), json!([r3])).await;
    let reply = call(
        &ts,
        "POST",
        &format!("{IAM}/clusterroles"),
        &admin,
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "cluster-composed", "annotations": aggregating(&["ctpl-a", "ctpl-b"])}})
        .to_string(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let stored = read(format!("{RBAC_APIS}/clusterroles/cluster-composed")).await;
    let a = read(format!("{RBAC_APIS}/clusterroles/ctpl-a")).await;
    let b = read(format!("{RBAC_APIS}/clusterroles/ctpl-b")).await;
    assert_eq!(
        rules(&stored),
        sorted(rules(&a).into_iter().chain(rules(&b)).collect())
    );
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/clusterroles?aggregateTo=cluster-composed&sortBy=name&ascending=true"),
        &admin,
        "",
    )
    .await;
    assert_eq!(names(&reply), ["ctpl-a", "ctpl-b"]);

    // Get and delete: Status errors for what does not exist.
    let reply = call(&ts, "GET", &format!("{IAM}/clusterroles/nope"), &admin, "").await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    assert_eq!(reply.body["reason"], "NotFound");
    assert!(
        reply
            .text
            .contains("clusterroles.rbac.authorization.k8s.io"),
        "{}",
        reply.text
    );
    for path in [
        format!("{IAM}/globalroles/composed"),
        format!("{IAM}/clusterroles/cluster-composed"),
    ] {
        let reply = call(&ts, "DELETE", &path, &admin, "").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body, json!({"message": "success"}));
        let reply = call(&ts, "GET", &path, &admin, "").await;
        assert_eq!(reply.status, 404, "{}", reply.text);
        let reply = call(&ts, "DELETE", &path, &admin, "").await;
        assert_eq!(reply.status, 404, "{}", reply.text);
        assert_eq!(reply.body["kind"], "Status");
    }
    ts.stop().await;
}

#[tokio::test]
async fn workspace_and_namespace_roles_stay_in_their_scope() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);
    workspace_with_namespace(&ts, &admin, "ws1", "ns1").await;
    workspace_with_namespace(&ts, &admin, "ws2", "ns2").await;
    let view = rule("", "pods", &["get", "list"]);
    let edit = rule("apps", "deployments", &["update"]);
    template(
        &ts,
        &admin,
        "WorkspaceRole",
        "wtpl-view",
        json!({}),
        json!([view]),
    )
    .await;
    template(
        &ts,
        &admin,
        "WorkspaceRole",
        "wtpl-edit",
        json!({}),
        json!([edit]),
    )
    .await;
    // A role of ws2, which ws1 must not see or borrow from.
    template(
        &ts,
        &admin,
        "WorkspaceRole",
        "ws2-secret",
        json!({"labels": {"kubesphere.io/workspace": "ws2"}}),
        json!([rule("*", "*", &["*"])]),
    )
    .await;

    // Created in ws1 whatever label the body gives.
    let reply = call(
        &ts,
        "POST",
        &format!("{IAM}/workspaces/ws1/workspaceroles"),
        &admin,
        &json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "WorkspaceRole",
                "metadata": {"name": "ws1-custom", "labels": {"kubesphere.io/workspace": "ws2"},
                             "annotations": aggregating(&["wtpl-view", "wtpl-edit"])}})
        .to_string(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(
        reply.body["metadata"]["labels"]["kubesphere.io/workspace"],
        "ws1"
    );
    assert_eq!(
        reply.body["rules"].as_array().unwrap().len(),
        2,
        "{}",
        reply.text
    );
    // Another workspace's role is no template here.
    let reply = call(
        &ts,
        "POST",
        &format!("{IAM}/workspaces/ws1/workspaceroles"),
        &admin,
        &json!({"metadata": {"name": "ws1-greedy", "annotations": aggregating(&["ws2-secret"])}})
            .to_string(),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("ws2-secret"), "{}", reply.text);

    // ws2's role does not exist through ws1.
    for (method, body) in [
        ("GET", String::new()),
        ("DELETE", String::new()),
        (
            "PATCH",
            json!({"metadata": {"labels": {"x": "y"}}}).to_string(),
        ),
        (
            "PUT",
            json!({"metadata": {"name": "ws2-secret"}, "rules": []}).to_string(),
        ),
    ] {
        let path = format!("{IAM}/workspaces/ws1/workspaceroles/ws2-secret");
        let reply = call(&ts, method, &path, &admin, &body).await;
        assert_eq!(reply.status, 404, "{method}: {}", reply.text);
        assert!(
            reply.text.contains("workspaceroles.iam.kubesphere.io"),
            "{}",
            reply.text
        );
    }
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM_APIS}/workspaceroles/ws2-secret"),
        &admin,
        "",
    )
    .await;
    assert_eq!(
        reply.body["metadata"]["labels"]["kubesphere.io/workspace"],
        "ws2"
    );
    assert_eq!(reply.body["rules"].as_array().unwrap().len(), 1);

    // A patch cannot move the role out of its workspace.
    let reply = call(
        &ts,
        "PATCH",
        &format!("{IAM}/workspaces/ws1/workspaceroles/ws1-custom"),
        &admin,
        &json!({"metadata": {"labels": {"kubesphere.io/workspace": "ws2", "team": "a"}}})
            .to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["metadata"]["labels"]["kubesphere.io/workspace"],
        "ws1"
    );
    assert_eq!(reply.body["metadata"]["labels"]["team"], "a");
    assert_eq!(reply.body["rules"].as_array().unwrap().len(), 2);

    // Lists: the workspace's roles; with a template query, the shared
    // templates too, never another workspace's roles.
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/workspaces/ws1/workspaceroles"),
        &admin,
        "",
    )
    .await;
    assert_eq!(names(&reply), ["ws1-custom"], "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/workspaces/ws1/workspaceroles?label=iam.kubesphere.io/role-template=true"),
        &admin,
        "",
    )
    .await;
    let listed = names(&reply);
    assert!(listed.contains(&"wtpl-view".to_owned()), "{listed:?}");
    assert!(!listed.contains(&"ws2-secret".to_owned()), "{listed:?}");
    assert!(!listed.contains(&"ws1-custom".to_owned()), "{listed:?}");
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/workspaces/ws2/workspaceroles?aggregateTo=ws1-custom"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.body["totalItems"], 0, "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!(
            "{IAM}/workspaces/ws1/workspaceroles?aggregateTo=ws1-custom&sortBy=name&ascending=true"
        ),
        &admin,
        "",
    )
    .await;
    assert_eq!(names(&reply), ["wtpl-edit", "wtpl-view"]);

    // Namespace roles: templates are the namespace's Roles.
    template(
        &ts,
        &admin,
        "Role",
        "ntpl-view",
        json!({"namespace": "ns1"}),
        json!([view]),
    )
    .await;
    template(
        &ts,
        &admin,
        "Role",
        "ntpl-other",
        json!({"namespace": "ns2"}),
        json!([edit]),
    )
    .await;
    let reply = call(
        &ts,
        "POST",
        &format!("{IAM}/namespaces/ns1/roles"),
        &admin,
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "viewer", "annotations": aggregating(&["ntpl-view"])}})
        .to_string(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["metadata"]["namespace"], "ns1");
    let stored = call(
        &ts,
        "GET",
        &format!("{RBAC_APIS}/namespaces/ns1/roles/viewer"),
        &admin,
        "",
    )
    .await;
    let tpl = call(
        &ts,
        "GET",
        &format!("{RBAC_APIS}/namespaces/ns1/roles/ntpl-view"),
        &admin,
        "",
    )
    .await;
    assert_eq!(rules(&stored.body), rules(&tpl.body));
    let reply = call(
        &ts,
        "POST",
        &format!("{IAM}/namespaces/ns1/roles"),
        &admin,
        &json!({"metadata": {"name": "borrower", "annotations": aggregating(&["ntpl-other"])}})
            .to_string(),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("ntpl-other"), "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/namespaces/ns1/roles?aggregateTo=viewer"),
        &admin,
        "",
    )
    .await;
    assert_eq!(names(&reply), ["ntpl-view"]);
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/namespaces/ns2/roles"),
        &admin,
        "",
    )
    .await;
    assert_eq!(names(&reply), ["ntpl-other"]);
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/namespaces/ns2/roles/viewer"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    let reply = call(
        &ts,
        "DELETE",
        &format!("{IAM}/namespaces/ns1/roles/viewer"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.body, json!({"message": "success"}), "{}", reply.text);
    ts.stop().await;
}

/// The bindings of `path` (an /apis collection) whose subjects name
/// `user`: `(name, role)`.
async fn bindings_of(
    ts: &TestServer,
    admin: &str,
    path: &str,
    user: &str,
) -> Vec<(String, String)> {
    let reply = call(ts, "GET", path, admin, "").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    sorted(
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| {
                b["subjects"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|s| s["kind"] == "User" && s["name"] == user))
            })
            .map(|b| {
                (
                    b["metadata"]["name"].as_str().unwrap().to_owned(),
                    b["roleRef"]["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect(),
    )
}

#[tokio::test]
async fn workspace_members_are_added_changed_and_removed() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);
    workspace_with_namespace(&ts, &admin, "ws1", "ns1").await;
    workspace_with_namespace(&ts, &admin, "ws2", "ns2").await;
    for name in ["alice", "bob"] {
        user(&ts, &admin, name).await;
    }
    template(
        &ts,
        &admin,
        "WorkspaceRole",
        "wtpl-view",
        json!({"annotations": {"iam.kubesphere.io/role-template-rules": "{\"members\":\"view\"}"}}),
        json!([rule(
            "iam.kubesphere.io",
            "workspacemembers",
            &["get", "list"]
        )]),
    )
    .await;
    template(
        &ts,
        &admin,
        "WorkspaceRole",
        "wtpl-manage",
        json!({}),
        json!([rule("iam.kubesphere.io", "workspacemembers", &["*"])]),
    )
    .await;
    for (name, templates) in [
        ("ws1-admin", vec!["wtpl-view", "wtpl-manage"]),
        ("ws1-viewer", vec!["wtpl-view"]),
    ] {
        create(
            &ts,
            &admin,
            &format!("{IAM}/workspaces/ws1/workspaceroles"),
            json!({"metadata": {"name": name, "annotations": aggregating(&templates)}}),
        )
        .await;
    }
    create(
        &ts,
        &admin,
        &format!("{IAM}/workspaces/ws2/workspaceroles"),
        json!({"metadata": {"name": "ws2-viewer", "annotations": aggregating(&["wtpl-view"])}}),
    )
    .await;
    let members = format!("{IAM}/workspaces/ws1/workspacemembers");
    let wrbs = format!("{IAM_APIS}/workspacerolebindings");

    // Add: a binding `<user>-<role>`, labelled.
    let reply = call(
        &ts,
        "POST",
        &members,
        &admin,
        r#"[{"username":"alice","roleRef":"ws1-admin"}]"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!([{"username": "alice", "roleRef": "ws1-admin"}])
    );
    // The add answers once the authorizer's policy holds the binding, so
    // the very next list (the console asks it at once) shows the member.
    let listed = call(&ts, "GET", &members, &admin, "").await;
    assert_eq!(names(&listed), ["alice"], "{}", listed.text);
    let binding = call(&ts, "GET", &format!("{wrbs}/alice-ws1-admin"), &admin, "").await;
    assert_eq!(binding.status, 200, "{}", binding.text);
    assert_eq!(
        binding.body["metadata"]["labels"],
        json!({"iam.kubesphere.io/user-ref": "alice", "kubesphere.io/workspace": "ws1"})
    );
    assert_eq!(
        binding.body["roleRef"],
        json!({"apiGroup": "iam.kubesphere.io", "kind": "WorkspaceRole", "name": "ws1-admin"})
    );
    assert_eq!(binding.body["subjects"][0]["name"], "alice");

    // List and get: users with their role there, no hashes.
    let reply = call(&ts, "GET", &members, &admin, "").await;
    assert_eq!(reply.body["totalItems"], 1);
    assert_eq!(
        reply.body["items"][0]["metadata"]["annotations"]["iam.kubesphere.io/workspacerole"],
        "ws1-admin"
    );
    assert_eq!(reply.body["items"][0]["spec"]["email"], "alice@example.com");
    for (query, expected) in [
        ("workspacerole=ws1-admin", vec!["alice"]),
        ("workspacerole=ws1-viewer", vec![]),
        ("email=alice@example.com", vec!["alice"]),
        ("email=bob@example.com", vec![]),
        ("name=ali", vec!["alice"]),
    ] {
        let reply = call(&ts, "GET", &format!("{members}?{query}"), &admin, "").await;
        assert_eq!(names(&reply), expected, "{query}: {}", reply.text);
    }
    let reply = call(&ts, "GET", &format!("{members}?role=ws1-admin"), &admin, "").await;
    assert_eq!(
        reply.status, 400,
        "the workspace filter is workspacerole: {}",
        reply.text
    );
    let reply = call(&ts, "GET", &format!("{members}/alice"), &admin, "").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["metadata"]["annotations"]["iam.kubesphere.io/workspacerole"],
        "ws1-admin"
    );
    let reply = call(&ts, "GET", &format!("{members}/bob"), &admin, "").await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    assert_eq!(reply.body["reason"], "NotFound");
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/workspaces/ws2/workspacemembers/alice"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 404, "{}", reply.text);

    // The role templates she holds there.
    let reply = call(
        &ts,
        "GET",
        &format!("{members}/alice/workspaceroles"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(array_names(&reply), ["wtpl-manage", "wtpl-view"]);
    let view = (reply.body.as_array().unwrap().iter())
        .find(|t| t["metadata"]["name"] == "wtpl-view")
        .unwrap();
    assert_eq!(
        view["metadata"]["annotations"]["iam.kubesphere.io/role-template-rules"],
        "{\"members\":\"view\"}"
    );
    let reply = call(
        &ts,
        "GET",
        &format!("{members}/bob/workspaceroles"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.body, json!([]), "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{members}/nobody/workspaceroles"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 404, "{}", reply.text);

    // Change the role: the old binding goes, the new one comes.
    let reply = call(
        &ts,
        "PUT",
        &format!("{members}/alice"),
        &admin,
        r#"{"username":"alice","roleRef":"ws1-viewer"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"username": "alice", "roleRef": "ws1-viewer"})
    );
    assert_eq!(
        bindings_of(&ts, &admin, &wrbs, "alice").await,
        [("alice-ws1-viewer".to_owned(), "ws1-viewer".to_owned())]
    );
    // The member's templates follow the authorizer's policy, as the member
    // list does (KubeSphere reads both from its informers' caches).
    eventually("alice's templates follow her new role", || async {
        let reply = call(
            &ts,
            "GET",
            &format!("{members}/alice/workspaceroles"),
            &admin,
            "",
        )
        .await;
        array_names(&reply) == ["wtpl-view"]
    })
    .await;
    // The same role again changes nothing.
    let reply = call(
        &ts,
        "POST",
        &members,
        &admin,
        r#"[{"username":"alice","roleRef":"ws1-viewer"}]"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        bindings_of(&ts, &admin, &wrbs, "alice").await,
        [("alice-ws1-viewer".to_owned(), "ws1-viewer".to_owned())]
    );

    // Refusals: Status errors that name what is wrong, nothing written.
    for (method, path, body, code, needle) in [
        (
            "PUT",
            format!("{members}/alice"),
            r#"{"username":"bob","roleRef":"ws1-viewer"}"#,
            400,
            "does not match",
        ),
        (
            "POST",
            members.clone(),
            r#"[{"username":"bob","roleRef":"ws1-admin"},{"username":"ghost","roleRef":"ws1-admin"}]"#,
            404,
            "ghost",
        ),
        (
            "POST",
            members.clone(),
            r#"[{"username":"bob","roleRef":"no-such-role"}]"#,
            404,
            "no-such-role",
        ),
        (
            "POST",
            members.clone(),
            r#"[{"username":"bob","roleRef":"ws2-viewer"}]"#,
            404,
            "ws2-viewer",
        ),
        (
            "POST",
            members.clone(),
            r#"{"username":"bob"}"#,
            400,
            "JSON array",
        ),
        (
            "POST",
            members.clone(),
            r#"[{"username":"bob"}]"#,
            400,
            "roleRef",
        ),
    ] {
        let reply = call(&ts, method, &path, &admin, body).await;
        assert_eq!(reply.status, code, "{method} {path} {body}: {}", reply.text);
        assert_eq!(reply.body["kind"], "Status", "{}", reply.text);
        assert!(reply.text.contains(needle), "{}", reply.text);
    }
    assert_eq!(bindings_of(&ts, &admin, &wrbs, "bob").await, []);

    // Remove: her binding goes; in a binding shared with bob, only she
    // goes.
    create(
        &ts,
        &admin,
        &wrbs,
        json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "WorkspaceRoleBinding",
               "metadata": {"name": "pair", "labels": {"kubesphere.io/workspace": "ws1"}},
               "roleRef": {"apiGroup": "iam.kubesphere.io", "kind": "WorkspaceRole", "name": "ws1-viewer"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"},
                            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}]}),
    )
    .await;
    let reply = call(&ts, "DELETE", &format!("{members}/alice"), &admin, "").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, json!({"message": "success"}));
    let listed = call(&ts, "GET", &members, &admin, "").await;
    assert_eq!(names(&listed), ["bob"], "{}", listed.text);
    assert_eq!(bindings_of(&ts, &admin, &wrbs, "alice").await, []);
    let pair = call(&ts, "GET", &format!("{wrbs}/pair"), &admin, "").await;
    assert_eq!(pair.status, 200, "{}", pair.text);
    assert_eq!(
        pair.body["subjects"],
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}])
    );
    ts.stop().await;
}

#[tokio::test]
async fn cluster_and_namespace_members_follow_their_bindings() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);
    workspace_with_namespace(&ts, &admin, "ws1", "ns1").await;
    for name in ["carol", "dave"] {
        user(&ts, &admin, name).await;
    }

    // Cluster members.
    template(
        &ts,
        &admin,
        "ClusterRole",
        "ctpl-nodes",
        json!({}),
        json!([rule("", "nodes", &["get"])]),
    )
    .await;
    for name in ["cluster-viewer", "cluster-operator"] {
        create(
            &ts,
            &admin,
            &format!("{IAM}/clusterroles"),
            json!({"metadata": {"name": name, "annotations": aggregating(&["ctpl-nodes"])}}),
        )
        .await;
    }
    let crbs = format!("{RBAC_APIS}/clusterrolebindings");
    let reply = call(
        &ts,
        "POST",
        &format!("{IAM}/clustermembers"),
        &admin,
        r#"[{"username":"carol","roleRef":"cluster-viewer"}]"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let binding = call(
        &ts,
        "GET",
        &format!("{crbs}/carol-cluster-viewer"),
        &admin,
        "",
    )
    .await;
    assert_eq!(binding.status, 200, "{}", binding.text);
    assert_eq!(
        binding.body["metadata"]["labels"],
        json!({"iam.kubesphere.io/user-ref": "carol"})
    );
    assert_eq!(binding.body["roleRef"]["kind"], "ClusterRole");
    eventually("carol is a cluster member", || async {
        let reply = call(
            &ts,
            "GET",
            &format!("{IAM}/clustermembers?clusterrole=cluster-viewer"),
            &admin,
            "",
        )
        .await;
        names(&reply) == ["carol"]
    })
    .await;
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/clustermembers/carol"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["metadata"]["annotations"]["iam.kubesphere.io/clusterrole"],
        "cluster-viewer"
    );
    let reply = call(&ts, "GET", &format!("{IAM}/clustermembers"), &admin, "").await;
    assert!(
        names(&reply).contains(&"carol".to_owned()),
        "{}",
        reply.text
    );
    assert!(
        !names(&reply).contains(&"dave".to_owned()),
        "{}",
        reply.text
    );
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/clustermembers/carol/clusterroles"),
        &admin,
        "",
    )
    .await;
    assert_eq!(array_names(&reply), ["ctpl-nodes"], "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/clustermembers/dave/clusterroles"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.body, json!([]));
    let reply = call(
        &ts,
        "PUT",
        &format!("{IAM}/clustermembers/carol"),
        &admin,
        r#"{"username":"carol","roleRef":"cluster-operator"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        bindings_of(&ts, &admin, &crbs, "carol").await,
        [(
            "carol-cluster-operator".to_owned(),
            "cluster-operator".to_owned()
        )]
    );
    let reply = call(
        &ts,
        "DELETE",
        &format!("{IAM}/clustermembers/carol"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.body, json!({"message": "success"}));
    assert_eq!(bindings_of(&ts, &admin, &crbs, "carol").await, []);

    // Namespace members.
    template(
        &ts,
        &admin,
        "Role",
        "ntpl-pods",
        json!({"namespace": "ns1"}),
        json!([rule("", "pods", &["get"])]),
    )
    .await;
    for name in ["admin", "viewer"] {
        create(
            &ts,
            &admin,
            &format!("{IAM}/namespaces/ns1/roles"),
            json!({"metadata": {"name": name, "annotations": aggregating(&["ntpl-pods"])}}),
        )
        .await;
    }
    let members = format!("{IAM}/namespaces/ns1/members");
    let rbs = format!("{RBAC_APIS}/namespaces/ns1/rolebindings");
    let reply = call(
        &ts,
        "POST",
        &members,
        &admin,
        r#"[{"username":"dave","roleRef":"viewer"},{"username":"carol","roleRef":"admin"}]"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let binding = call(&ts, "GET", &format!("{rbs}/dave-viewer"), &admin, "").await;
    assert_eq!(binding.status, 200, "{}", binding.text);
    assert_eq!(binding.body["metadata"]["namespace"], "ns1");
    assert_eq!(
        binding.body["metadata"]["labels"],
        json!({"iam.kubesphere.io/user-ref": "dave"})
    );
    assert_eq!(
        binding.body["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "viewer"})
    );
    eventually("two namespace members", || async {
        let reply = call(
            &ts,
            "GET",
            &format!("{members}?sortBy=name&ascending=true"),
            &admin,
            "",
        )
        .await;
        names(&reply) == ["carol", "dave"]
    })
    .await;
    let reply = call(&ts, "GET", &format!("{members}?role=viewer"), &admin, "").await;
    assert_eq!(names(&reply), ["dave"]);
    assert_eq!(reply.body["totalItems"], 1);
    assert_eq!(
        reply.body["items"][0]["metadata"]["annotations"]["iam.kubesphere.io/role"],
        "viewer"
    );
    let reply = call(&ts, "GET", &format!("{members}/dave/roles"), &admin, "").await;
    assert_eq!(array_names(&reply), ["ntpl-pods"]);
    let reply = call(
        &ts,
        "POST",
        &members,
        &admin,
        r#"[{"username":"dave","roleRef":"operator"}]"#,
    )
    .await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    assert!(reply.text.contains("operator"), "{}", reply.text);
    let reply = call(
        &ts,
        "PUT",
        &format!("{members}/dave"),
        &admin,
        r#"{"username":"dave","roleRef":"admin"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        bindings_of(&ts, &admin, &rbs, "dave").await,
        [("dave-admin".to_owned(), "admin".to_owned())]
    );
    let reply = call(&ts, "DELETE", &format!("{members}/dave"), &admin, "").await;
    assert_eq!(reply.body, json!({"message": "success"}));
    assert_eq!(bindings_of(&ts, &admin, &rbs, "dave").await, []);
    assert_eq!(
        bindings_of(&ts, &admin, &rbs, "carol").await,
        [("carol-admin".to_owned(), "admin".to_owned())]
    );
    ts.stop().await;
}

/// Every route of this file's group, with a body where it takes one.
fn route_table(ws: &str, ns: &str) -> Vec<(&'static str, String, String)> {
    // A member who is no user: no route changes the callers' own roles.
    let member = r#"[{"username":"someone","roleRef":"r"}]"#.to_owned();
    let one = r#"{"username":"someone","roleRef":"r"}"#.to_owned();
    let role = json!({"metadata": {"name": "r"}}).to_string();
    let patch = json!({"metadata": {"labels": {"a": "b"}}}).to_string();
    let mut table = Vec::new();
    for base in [
        format!("{IAM}/globalroles"),
        format!("{IAM}/clusterroles"),
        format!("{IAM}/workspaces/{ws}/workspaceroles"),
        format!("{IAM}/namespaces/{ns}/roles"),
    ] {
        table.push(("GET", base.clone(), String::new()));
        table.push(("POST", base.clone(), role.clone()));
        table.push(("GET", format!("{base}/r"), String::new()));
        table.push(("PUT", format!("{base}/r"), role.clone()));
        table.push(("PATCH", format!("{base}/r"), patch.clone()));
        table.push(("DELETE", format!("{base}/r"), String::new()));
    }
    for (base, templates) in [
        (format!("{IAM}/clustermembers"), "clusterroles"),
        (
            format!("{IAM}/workspaces/{ws}/workspacemembers"),
            "workspaceroles",
        ),
        (format!("{IAM}/namespaces/{ns}/members"), "roles"),
    ] {
        table.push(("GET", base.clone(), String::new()));
        table.push(("POST", base.clone(), member.clone()));
        table.push(("GET", format!("{base}/someone"), String::new()));
        table.push(("PUT", format!("{base}/someone"), one.clone()));
        table.push(("DELETE", format!("{base}/someone"), String::new()));
        table.push(("GET", format!("{base}/someone/{templates}"), String::new()));
    }
    let ws_base = format!("{IAM}/workspaces/{ws}");
    let group = json!({"metadata": {"generateName": "g"}}).to_string();
    table.extend([
        ("GET", format!("{ws_base}/groups"), String::new()),
        ("POST", format!("{ws_base}/groups"), group.clone()),
        ("GET", format!("{ws_base}/groups/g"), String::new()),
        ("PUT", format!("{ws_base}/groups/g"), role.clone()),
        ("PATCH", format!("{ws_base}/groups/g"), patch.clone()),
        ("DELETE", format!("{ws_base}/groups/g"), String::new()),
        ("GET", format!("{ws_base}/groupbindings"), String::new()),
        (
            "POST",
            format!("{ws_base}/groupbindings"),
            r#"[{"userName":"someone","groupName":"g"}]"#.to_owned(),
        ),
        (
            "DELETE",
            format!("{ws_base}/groupbindings/gb"),
            String::new(),
        ),
        (
            "GET",
            format!("{ws_base}/workspacerolebindings"),
            String::new(),
        ),
        (
            "POST",
            format!("{ws_base}/workspacerolebindings"),
            "[]".to_owned(),
        ),
        (
            "DELETE",
            format!("{ws_base}/workspacerolebindings/b"),
            String::new(),
        ),
        ("GET", format!("{ws_base}/rolebindings"), String::new()),
        (
            "GET",
            format!("{IAM}/namespaces/{ns}/rolebindings"),
            String::new(),
        ),
        (
            "POST",
            format!("{IAM}/namespaces/{ns}/rolebindings"),
            "[]".to_owned(),
        ),
        (
            "DELETE",
            format!("{IAM}/namespaces/{ns}/rolebindings/b"),
            String::new(),
        ),
    ]);
    table
}

#[tokio::test]
async fn only_callers_with_a_role_on_the_scope_reach_the_routes() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);
    workspace_with_namespace(&ts, &admin, "ws1", "ns1").await;
    workspace_with_namespace(&ts, &admin, "ws2", "ns2").await;
    for name in ["erin", "frank"] {
        user(&ts, &admin, name).await;
    }
    // frank administers ws1 (everything in it, its namespaces included).
    create(
        &ts,
        &admin,
        &format!("{IAM_APIS}/workspaceroles"),
        json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "WorkspaceRole",
               "metadata": {"name": "ws1-admin", "labels": {"kubesphere.io/workspace": "ws1"}},
               "rules": [rule("*", "*", &["*"])]}),
    )
    .await;
    let reply = call(
        &ts,
        "POST",
        &format!("{IAM}/workspaces/ws1/workspacemembers"),
        &admin,
        r#"[{"username":"frank","roleRef":"ws1-admin"}]"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let erin = login(&ts, "erin", "erin-Pass-1234").await;
    let frank = login(&ts, "frank", "frank-Pass-1234").await;
    eventually("frank administers ws1", || async {
        let reply = call(
            &ts,
            "GET",
            &format!("{IAM}/workspaces/ws1/workspacemembers"),
            &frank,
            "",
        )
        .await;
        reply.status == 200
    })
    .await;

    // erin holds no role: the filter refuses every route.
    for (method, path, body) in route_table("ws1", "ns1") {
        let reply = call(&ts, method, &path, &erin, &body).await;
        assert_eq!(reply.status, 403, "erin: {method} {path}: {}", reply.text);
        assert_eq!(reply.body["kind"], "Status");
    }
    // frank reaches ws1 and ns1, nothing of ws2, ns2 or the cluster.
    for (method, path, body) in route_table("ws1", "ns1") {
        let reply = call(&ts, method, &path, &frank, &body).await;
        let cluster_wide = path.contains("/globalroles") || path.contains("/cluster");
        if cluster_wide {
            assert_eq!(reply.status, 403, "frank: {method} {path}: {}", reply.text);
        } else {
            assert_ne!(reply.status, 403, "frank: {method} {path}: {}", reply.text);
            assert_ne!(reply.status, 401, "frank: {method} {path}: {}", reply.text);
        }
    }
    for (method, path, body) in route_table("ws2", "ns2") {
        if path.contains("/globalroles") || path.contains("/cluster") {
            continue;
        }
        let reply = call(&ts, method, &path, &frank, &body).await;
        assert_eq!(reply.status, 403, "frank: {method} {path}: {}", reply.text);
    }
    // The admin reaches everything.
    for (method, path, body) in route_table("ws2", "ns2") {
        let reply = call(&ts, method, &path, &admin, &body).await;
        assert_ne!(reply.status, 403, "admin: {method} {path}: {}", reply.text);
    }
    // Anyone reads their own member entry (KubeSphere's `authenticated`
    // role), and no one else's.
    let own = format!("{IAM}/workspaces/ws1/workspacemembers/frank");
    let reply = call(&ts, "GET", &own, &frank, "").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/workspaces/ws2/workspacemembers/erin"),
        &erin,
        "",
    )
    .await;
    assert_eq!(
        reply.status, 404,
        "not a member, but allowed to ask: {}",
        reply.text
    );
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/workspaces/ws2/workspacemembers/erin/workspaceroles"),
        &erin,
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, json!([]));
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/workspaces/ws1/workspacemembers/frank"),
        &erin,
        "",
    )
    .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    ts.stop().await;
}

#[tokio::test]
async fn groups_and_their_bindings_stay_in_their_workspace() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);
    workspace_with_namespace(&ts, &admin, "ws1", "ns1").await;
    workspace_with_namespace(&ts, &admin, "ws2", "ns2").await;
    for name in ["gina", "hank"] {
        user(&ts, &admin, name).await;
    }
    let ws1 = format!("{IAM}/workspaces/ws1");
    let ws2 = format!("{IAM}/workspaces/ws2");

    // Groups: generateName required and unique in the workspace.
    let reply = call(
        &ts,
        "POST",
        &format!("{ws1}/groups"),
        &admin,
        r#"{"metadata":{"name":"x"}}"#,
    )
    .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(
        reply.text.contains("metadata.generateName"),
        "{}",
        reply.text
    );
    let reply = call(
        &ts,
        "POST",
        &format!("{ws1}/groups"),
        &admin,
        &json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "Group",
                "metadata": {"generateName": "dev", "labels": {"kubesphere.io/workspace": "ws2"}}})
        .to_string(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(
        reply.body["metadata"]["labels"]["kubesphere.io/workspace"],
        "ws1"
    );
    let dev = reply.body["metadata"]["name"].as_str().unwrap().to_owned();
    assert!(dev.starts_with("dev"), "{dev}");
    let reply = call(
        &ts,
        "POST",
        &format!("{ws1}/groups"),
        &admin,
        r#"{"metadata":{"generateName":"dev"}}"#,
    )
    .await;
    assert_eq!(reply.status, 409, "{}", reply.text);
    let reply = call(
        &ts,
        "POST",
        &format!("{ws2}/groups"),
        &admin,
        r#"{"metadata":{"generateName":"dev"}}"#,
    )
    .await;
    assert_eq!(
        reply.status, 201,
        "another workspace may reuse it: {}",
        reply.text
    );
    let ops = reply.body["metadata"]["name"].as_str().unwrap().to_owned();
    let reply = call(&ts, "GET", &format!("{ws1}/groups"), &admin, "").await;
    assert_eq!(names(&reply), [dev.as_str()]);
    assert_eq!(reply.body["totalItems"], 1);
    for (method, body) in [
        ("GET", String::new()),
        ("DELETE", String::new()),
        ("PATCH", "{}".to_owned()),
    ] {
        let reply = call(&ts, method, &format!("{ws1}/groups/{ops}"), &admin, &body).await;
        assert_eq!(reply.status, 404, "{method}: {}", reply.text);
        assert!(
            reply.text.contains("groups.iam.kubesphere.io"),
            "{}",
            reply.text
        );
    }
    let reply = call(
        &ts,
        "PATCH",
        &format!("{ws1}/groups/{dev}"),
        &admin,
        r#"{"metadata":{"labels":{"kubesphere.io/workspace":"ws2","team":"a"}}}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["metadata"]["labels"]["kubesphere.io/workspace"],
        "ws1"
    );
    assert_eq!(reply.body["metadata"]["labels"]["team"], "a");
    let mut group = reply.body.clone();
    group["metadata"]["labels"] = json!({"b": "c"});
    let reply = call(
        &ts,
        "PUT",
        &format!("{ws1}/groups/{dev}"),
        &admin,
        &group.to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["metadata"]["labels"],
        json!({"b": "c", "kubesphere.io/workspace": "ws1"})
    );
    let reply = call(
        &ts,
        "PUT",
        &format!("{ws1}/groups/other"),
        &admin,
        &group.to_string(),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text);

    // Group bindings.
    let reply = call(
        &ts,
        "POST",
        &format!("{ws1}/groupbindings"),
        &admin,
        &json!([{"userName": "gina", "groupName": dev}]).to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let gb = &reply.body[0];
    let gb_name = gb["metadata"]["name"].as_str().unwrap().to_owned();
    assert!(gb_name.starts_with(&format!("{dev}-gina-")), "{gb_name}");
    assert_eq!(
        gb["metadata"]["labels"],
        json!({"iam.kubesphere.io/user-ref": "gina", "iam.kubesphere.io/group-ref": dev,
               "kubesphere.io/workspace": "ws1"})
    );
    assert_eq!(gb["users"], json!(["gina"]));
    assert_eq!(gb["groupRef"]["name"], dev);
    let stored = call(
        &ts,
        "GET",
        &format!("{IAM_APIS}/groupbindings/{gb_name}"),
        &admin,
        "",
    )
    .await;
    assert_eq!(stored.status, 200, "{}", stored.text);
    for (body, needle) in [
        (
            json!([{"userName": "gina", "groupName": ops}]),
            ops.as_str(),
        ),
        (json!([{"userName": "ghost", "groupName": dev}]), "ghost"),
    ] {
        let reply = call(
            &ts,
            "POST",
            &format!("{ws1}/groupbindings"),
            &admin,
            &body.to_string(),
        )
        .await;
        assert_eq!(reply.status, 404, "{}", reply.text);
        assert!(reply.text.contains(needle), "{}", reply.text);
    }
    let reply = call(
        &ts,
        "GET",
        &format!("{ws1}/groupbindings?user=gina"),
        &admin,
        "",
    )
    .await;
    assert_eq!(names(&reply), [gb_name.as_str()]);
    let reply = call(
        &ts,
        "GET",
        &format!("{ws1}/groupbindings?user=hank"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.body["totalItems"], 0);
    let reply = call(&ts, "GET", &format!("{ws2}/groupbindings"), &admin, "").await;
    assert_eq!(reply.body["totalItems"], 0);
    let reply = call(
        &ts,
        "DELETE",
        &format!("{ws2}/groupbindings/{gb_name}"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    let reply = call(
        &ts,
        "DELETE",
        &format!("{ws1}/groupbindings/{gb_name}"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.body, json!({"message": "success"}), "{}", reply.text);

    // Workspace role bindings for the group.
    for (ws, role) in [("ws1", "ws1-viewer"), ("ws2", "ws2-viewer")] {
        create(
            &ts,
            &admin,
            &format!("{IAM_APIS}/workspaceroles"),
            json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "WorkspaceRole",
                   "metadata": {"name": role, "labels": {"kubesphere.io/workspace": ws}},
                   "rules": [rule("", "pods", &["get"])]}),
        )
        .await;
    }
    let binding = |role: &str, kind: &str| {
        json!([{"roleRef": {"apiGroup": "iam.kubesphere.io", "kind": kind, "name": role},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": dev}]}])
        .to_string()
    };
    let reply = call(
        &ts,
        "POST",
        &format!("{ws1}/workspacerolebindings"),
        &admin,
        &binding("ws1-viewer", "WorkspaceRole"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let wrb = reply.body[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(wrb.starts_with(&format!("{dev}-ws1-viewer-")), "{wrb}");
    assert_eq!(
        reply.body[0]["metadata"]["labels"],
        json!({"iam.kubesphere.io/group-ref": dev, "kubesphere.io/workspace": "ws1"})
    );
    for (body, code) in [
        (binding("ws2-viewer", "WorkspaceRole"), 404),
        (binding("ws1-viewer", "ClusterRole"), 400),
        (
            json!([{"roleRef": {"kind": "WorkspaceRole", "name": "ws1-viewer"}, "subjects": []}])
                .to_string(),
            400,
        ),
    ] {
        let reply = call(
            &ts,
            "POST",
            &format!("{ws1}/workspacerolebindings"),
            &admin,
            &body,
        )
        .await;
        assert_eq!(reply.status, code, "{body}: {}", reply.text);
        assert_eq!(reply.body["kind"], "Status");
    }
    let reply = call(
        &ts,
        "GET",
        &format!("{ws1}/workspacerolebindings?rolename=ws1-viewer"),
        &admin,
        "",
    )
    .await;
    assert_eq!(names(&reply), [wrb.as_str()]);
    let reply = call(
        &ts,
        "GET",
        &format!("{ws1}/workspacerolebindings?rolename=ws1-admin"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.body["totalItems"], 0);
    let reply = call(
        &ts,
        "DELETE",
        &format!("{ws2}/workspacerolebindings/{wrb}"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    let reply = call(
        &ts,
        "DELETE",
        &format!("{ws1}/workspacerolebindings/{wrb}"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.body, json!({"message": "success"}), "{}", reply.text);

    // Namespace role bindings for the group.
    template(
        &ts,
        &admin,
        "Role",
        "viewer",
        json!({"namespace": "ns1"}),
        json!([rule("", "pods", &["get"])]),
    )
    .await;
    let reply = call(
        &ts,
        "POST",
        &format!("{IAM}/namespaces/ns1/rolebindings"),
        &admin,
        &json!([{"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "viewer"},
                 "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": dev}]}])
        .to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let rb = reply.body[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(rb.starts_with(&format!("{dev}-viewer-")), "{rb}");
    assert_eq!(reply.body[0]["metadata"]["namespace"], "ns1");
    assert_eq!(
        reply.body[0]["metadata"]["labels"]["iam.kubesphere.io/group-ref"],
        dev
    );
    let reply = call(
        &ts,
        "POST",
        &format!("{IAM}/namespaces/ns2/rolebindings"),
        &admin,
        &json!([{"roleRef": {"kind": "Role", "name": "viewer"},
                 "subjects": [{"kind": "Group", "name": dev}]}])
        .to_string(),
    )
    .await;
    assert_eq!(reply.status, 404, "no Role viewer in ns2: {}", reply.text);
    let reply = call(
        &ts,
        "GET",
        &format!("{IAM}/namespaces/ns1/rolebindings"),
        &admin,
        "",
    )
    .await;
    assert_eq!(names(&reply), [rb.as_str()]);
    let reply = call(&ts, "GET", &format!("{ws1}/rolebindings"), &admin, "").await;
    assert_eq!(array_names(&reply), [rb.as_str()]);
    let reply = call(&ts, "GET", &format!("{ws2}/rolebindings"), &admin, "").await;
    assert_eq!(reply.body, json!([]));
    let reply = call(
        &ts,
        "DELETE",
        &format!("{IAM}/namespaces/ns1/rolebindings/{rb}"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.body, json!({"message": "success"}), "{}", reply.text);
    let reply = call(
        &ts,
        "DELETE",
        &format!("{IAM}/namespaces/ns1/rolebindings/{rb}"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 404, "{}", reply.text);

    // Deleting a group: it goes once the `group` controller has cleaned up
    // after it and removed its finalizer.
    let reply = call(&ts, "DELETE", &format!("{ws1}/groups/{dev}"), &admin, "").await;
    assert_eq!(reply.body, json!({"message": "success"}), "{}", reply.text);
    eventually("the group is gone", || async {
        let reply = call(&ts, "GET", &format!("{ws1}/groups"), &admin, "").await;
        reply.body == json!({"items": [], "totalItems": 0})
    })
    .await;
    ts.stop().await;
}

/// Every route that returns users, walked with users in every scope: no
/// response carries a password hash (`call_as` checks each one).
#[tokio::test]
async fn no_route_that_returns_users_shows_a_password_hash() {
    let ts = TestServer::start().await;
    let admin = admin(&ts);
    user(&ts, &admin, "walker").await;
    workspace_with_namespace(&ts, &admin, "walk-ws", "walk-ns").await;
    for (path, object) in [
        (
            format!("{IAM_APIS}/workspaceroles"),
            json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "WorkspaceRole",
                   "metadata": {"name": "walk-ws-viewer", "labels": {"kubesphere.io/workspace": "walk-ws"}}}),
        ),
        (
            format!("{RBAC_APIS}/namespaces/walk-ns/roles"),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                   "metadata": {"name": "walk-viewer", "namespace": "walk-ns"}}),
        ),
        (
            format!("{RBAC_APIS}/clusterroles"),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": "walk-cluster-viewer"}}),
        ),
    ] {
        create(&ts, &admin, &path, object).await;
    }
    for (path, role) in [
        (
            format!("{IAM}/workspaces/walk-ws/workspacemembers"),
            "walk-ws-viewer",
        ),
        (format!("{IAM}/namespaces/walk-ns/members"), "walk-viewer"),
        (format!("{IAM}/clustermembers"), "walk-cluster-viewer"),
    ] {
        let body = json!([{"username": "walker", "roleRef": role}]);
        create(&ts, &admin, &path, body).await;
    }
    let routes = [
        format!("{IAM}/users"),
        format!("{IAM}/users/walker"),
        format!("{IAM}/users?workspace=walk-ws"),
        format!("{IAM}/users?namespace=walk-ns"),
        format!("{IAM}/users?cluster=true"),
        format!("{IAM}/workspaces/walk-ws/workspacemembers"),
        format!("{IAM}/workspaces/walk-ws/workspacemembers/walker"),
        format!("{IAM}/namespaces/walk-ns/members"),
        format!("{IAM}/namespaces/walk-ns/members/walker"),
        format!("{IAM}/clustermembers"),
        format!("{IAM}/clustermembers/walker"),
        "/kapis/resources.kubesphere.io/v1alpha3/users".to_owned(),
        "/kapis/resources.kubesphere.io/v1alpha3/users/walker".to_owned(),
    ];
    for path in &routes {
        let mut found = false;
        for _ in 0..200 {
            let reply = call(&ts, "GET", path, &admin, "").await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.text);
            if reply.text.contains("\"walker\"") {
                found = true;
                break;
            }
            // Member lists follow the bindings within milliseconds.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(found, "{path} never listed walker");
    }
    ts.stop().await;
}
