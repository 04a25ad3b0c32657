//! `monitoring.kubesphere.io/v1alpha3`: the counts the console's dashboard
//! and workspace overview read, asked exactly as ks-console v3.4.1 asks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestServer, eventually, login};
use serde_json::Value;

const MONITORING: &str = "/kapis/monitoring.kubesphere.io/v1alpha3";
const TENANT: &str = "/kapis/tenant.kubesphere.io/v1alpha2";
const IAM: &str = "/kapis/iam.kubesphere.io/v1alpha2";

struct Reply {
    status: u16,
    body: Value,
    text: String,
}

async fn call(ts: &TestServer, method: &str, path: &str, token: &str, body: &str) -> Reply {
    let bearer = format!("Bearer {token}");
    let headers = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
    ];
    let (status, _, bytes) = common::http(&ts.url, method, path, &headers, body).await;
    Reply {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn created(ts: &TestServer, token: &str, path: &str, body: &str) {
    let reply = call(ts, "POST", path, token, body).await;
    assert!(
        reply.status == 200 || reply.status == 201,
        "POST {path}: {} {}",
        reply.status,
        reply.text
    );
}

async fn user(ts: &TestServer, admin: &str, name: &str) -> String {
    let password = format!("{}-Pass-123", name.to_uppercase());
    created(
        ts,
        admin,
        &format!("{IAM}/users"),
        &format!(
            r#"{{"apiVersion":"iam.kubesphere.io/v1alpha2","kind":"User","metadata":{{"name":"{name}"}},"spec":{{"email":"{name}@example.com","password":"{password}"}}}}"#
        ),
    )
    .await;
    login(ts, name, &password).await
}

/// The dashboard's request: `src/pages/console/containers/Dashboard/Admin/
/// index.jsx` asks `src/stores/monitoring/platform.js` (`getApi`:
/// `kapis/monitoring.kubesphere.io/v1alpha3/kubesphere`) for its four
/// metrics; `src/stores/monitoring/base.js` `getParams` adds `start`,
/// `end`, `step=600s`, `times=20` and `metrics_filter` (the names joined
/// by `|`, then `$`), which `qs.stringify` encodes.
fn dashboard_path() -> String {
    let end = jiff::Timestamp::now().as_second();
    let start = end - 600 * 20;
    format!(
        "{MONITORING}/kubesphere?start={start}&end={end}&step=600s&times=20&metrics_filter=kubesphere_cluser_count%7Ckubesphere_workspace_count%7Ckubesphere_user_count%7Ckubesphere_app_template_count%24"
    )
}

/// The workspace overview's request: `src/stores/monitoring/workspace.js`
/// `fetchStatistics` (`{type: 'statistics'}`), read by
/// `src/pages/workspaces/containers/Overview/ResourceUsage/Statistics/
/// index.jsx` and `src/pages/workspaces/containers/BaseInfo/index.jsx`.
fn statistics_path(ws: &str) -> String {
    format!("{MONITORING}/workspaces/{ws}?type=statistics")
}

/// What the console reads: `getResult` in `src/stores/monitoring/base.js`
/// keys `results` by `metric_name`, and the pages read
/// `data.result[0].value[1]` (a string: the pages compare it with `'1'`).
fn counts(body: &Value) -> std::collections::BTreeMap<String, String> {
    (body["results"].as_array().unwrap().iter())
        .map(|m| {
            let value = &m["data"]["result"][0]["value"];
            assert!(value[0].is_i64(), "a unix timestamp: {m}");
            assert_eq!(m["data"]["resultType"], "vector", "{m}");
            (
                m["metric_name"].as_str().unwrap().to_owned(),
                value[1].as_str().expect("the count is a string").to_owned(),
            )
        })
        .collect()
}

fn count(body: &Value, metric: &str) -> u64 {
    counts(body)[metric].parse().unwrap()
}

#[tokio::test]
async fn the_dashboard_counts_clusters_workspaces_users_and_app_templates() {
    let ts = TestServer::start().await;
    let admin = ts.server.as_ref().unwrap().admin_token.clone();

    let before = call(&ts, "GET", &dashboard_path(), &admin, "").await;
    assert_eq!(before.status, 200, "{}", before.text);
    let names: Vec<&str> = (before.body["results"].as_array().unwrap().iter())
        .map(|m| m["metric_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "kubesphere_cluser_count",
            "kubesphere_workspace_count",
            "kubesphere_user_count",
            "kubesphere_app_template_count"
        ]
    );
    assert_eq!(count(&before.body, "kubesphere_cluser_count"), 1);
    assert_eq!(count(&before.body, "kubesphere_app_template_count"), 0);
    let users = count(&before.body, "kubesphere_user_count");
    let workspaces = count(&before.body, "kubesphere_workspace_count");
    assert!(users >= 1, "the admin is a user: {}", before.text);

    // A user and a workspace more.
    let carol = user(&ts, &admin, "carol").await;
    created(
        &ts,
        &admin,
        &format!("{TENANT}/workspaces"),
        r#"{"apiVersion":"tenant.kubesphere.io/v1alpha2","kind":"WorkspaceTemplate","metadata":{"name":"dash-ws"}}"#,
    )
    .await;
    eventually("the counts follow", || async {
        let now = call(&ts, "GET", &dashboard_path(), &admin, "").await;
        count(&now.body, "kubesphere_user_count") == users + 1
            && count(&now.body, "kubesphere_workspace_count") == workspaces + 1
    })
    .await;

    // And one less.
    let deleted = call(
        &ts,
        "DELETE",
        &format!("{TENANT}/workspaces/dash-ws"),
        &admin,
        "",
    )
    .await;
    assert!(deleted.status < 300, "{}", deleted.text);
    eventually("the workspace count follows the delete", || async {
        let now = call(&ts, "GET", &dashboard_path(), &admin, "").await;
        count(&now.body, "kubesphere_workspace_count") == workspaces
    })
    .await;

    // The platform counts are `list kubesphere` in the monitoring group at
    // the cluster scope: not for a user without a platform role.
    let denied = call(&ts, "GET", &dashboard_path(), &carol, "").await;
    assert_eq!(denied.status, 403, "{}", denied.text);
    assert_eq!(denied.body["kind"], "Status");
    ts.stop().await;
}

#[tokio::test]
async fn a_workspace_overview_counts_namespaces_members_and_roles() {
    let ts = TestServer::start().await;
    let admin = ts.server.as_ref().unwrap().admin_token.clone();
    created(
        &ts,
        &admin,
        &format!("{TENANT}/workspaces"),
        r#"{"apiVersion":"tenant.kubesphere.io/v1alpha2","kind":"WorkspaceTemplate","metadata":{"name":"ws1"}}"#,
    )
    .await;
    let bob = user(&ts, &admin, "bob").await;
    let carol = user(&ts, &admin, "carol").await;

    let stats = |token: String| {
        let ts = &ts;
        async move { call(ts, "GET", &statistics_path("ws1"), &token, "").await }
    };
    let first = stats(admin.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let names: Vec<&str> = (first.body["results"].as_array().unwrap().iter())
        .map(|m| m["metric_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "workspace_namespace_count",
            "workspace_devops_project_count",
            "workspace_member_count",
            "workspace_role_count"
        ]
    );
    assert_eq!(count(&first.body, "workspace_devops_project_count"), 0);
    let roles = count(&first.body, "workspace_role_count");

    // A namespace, a role and a member with it.
    created(
        &ts,
        &admin,
        &format!("{TENANT}/workspaces/ws1/namespaces"),
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ws1-ns"}}"#,
    )
    .await;
    created(
        &ts,
        &admin,
        "/apis/iam.kubesphere.io/v1alpha2/workspaceroles",
        r#"{"apiVersion":"iam.kubesphere.io/v1alpha2","kind":"WorkspaceRole",
            "metadata":{"name":"ws1-reader","labels":{"kubesphere.io/workspace":"ws1"}},
            "rules":[{"apiGroups":["*"],"resources":["workspaces","workspacemembers"],"verbs":["get","list","watch"]}]}"#,
    )
    .await;
    eventually("the namespace and the role are counted", || async {
        let now = stats(admin.clone()).await;
        count(&now.body, "workspace_namespace_count") == 1
            && count(&now.body, "workspace_role_count") == roles + 1
    })
    .await;
    let members = count(&stats(admin.clone()).await.body, "workspace_member_count");
    created(
        &ts,
        &admin,
        &format!("{IAM}/workspaces/ws1/workspacemembers"),
        r#"[{"username":"bob","roleRef":"ws1-reader"}]"#,
    )
    .await;
    eventually("bob is counted, and may read the counts", || async {
        let now = stats(bob.clone()).await;
        now.status == 200 && count(&now.body, "workspace_member_count") == members + 1
    })
    .await;

    // carol is no member: 403.
    let denied = stats(carol.clone()).await;
    assert_eq!(denied.status, 403, "{}", denied.text);
    // Nor is bob a member of another workspace.
    let other = call(&ts, "GET", &statistics_path("ws2"), &bob, "").await;
    assert_eq!(other.status, 403, "{}", other.text);

    // Removing the member and the role takes them out of the counts.
    let removed = call(
        &ts,
        "DELETE",
        &format!("{IAM}/workspaces/ws1/workspacemembers/bob"),
        &admin,
        "",
    )
    .await;
    assert!(removed.status < 300, "{}", removed.text);
    let removed = call(
        &ts,
        "DELETE",
        "/apis/iam.kubesphere.io/v1alpha2/workspaceroles/ws1-reader",
        &admin,
        "",
    )
    .await;
    assert!(removed.status < 300, "{}", removed.text);
    eventually(
        "the member and the role are gone from the counts",
        || async {
            let now = stats(admin.clone()).await;
            count(&now.body, "workspace_member_count") == members
                && count(&now.body, "workspace_role_count") == roles
        },
    )
    .await;

    // A workspace that does not exist has none of anything (KubeSphere
    // counts by label and does not look the workspace up).
    let none = call(&ts, "GET", &statistics_path("no-such-ws"), &admin, "").await;
    assert_eq!(none.status, 200, "{}", none.text);
    assert!(
        counts(&none.body).values().all(|c| c == "0"),
        "{}",
        none.text
    );
    ts.stop().await;
}

/// The names of the metrics in a monitoring answer, each checked to be
/// KubeSphere's "unavailable" entry: empty data and an error.
fn unavailable_names(body: &Value) -> Vec<&str> {
    let results = body["results"].as_array().unwrap();
    for metric in results {
        assert!(
            metric["error"].as_str().unwrap().contains("monitoring"),
            "{metric}"
        );
        assert_eq!(metric["data"], serde_json::json!({}), "{metric}");
    }
    (results.iter())
        .map(|m| m["metric_name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn metrics_that_need_prometheus_get_kubespheres_unavailable_answer() {
    let ts = TestServer::start().await;
    let admin = ts.server.as_ref().unwrap().admin_token.clone();
    // The usage metrics, as `src/stores/monitoring/base.js` `getParams`
    // writes a `metrics_filter`, plus a name KubeSphere does not know.
    let reply = call(
        &ts,
        "GET",
        &format!(
            "{MONITORING}/workspaces/ws1?metrics_filter=workspace_cpu_usage%7Cworkspace_memory_usage_wo_cache%7Cno_such_metric%24"
        ),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        unavailable_names(&reply.body),
        ["workspace_cpu_usage", "workspace_memory_usage_wo_cache"],
        "unknown names are left out"
    );
    // Only unknown names: no results.
    let reply = call(
        &ts,
        "GET",
        &format!("{MONITORING}/workspaces/ws1?metrics_filter=no_such_metric%24"),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["results"], serde_json::json!([]));

    // The project list's usage column (src/stores/project.js, recorded in
    // tests/data/console-v3.4.1-requests.json): the namespaces' metrics.
    let reply = call(
        &ts,
        "GET",
        &format!(
            "{MONITORING}/workspaces/ws1/namespaces?resources_filter=proj-a%24&metrics_filter=namespace_cpu_usage%7Cnamespace_memory_usage_wo_cache%7Cnamespace_pod_count%24"
        ),
        &admin,
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        unavailable_names(&reply.body),
        [
            "namespace_cpu_usage",
            "namespace_memory_usage_wo_cache",
            "namespace_pod_count"
        ]
    );
    let reply = call(
        &ts,
        "GET",
        &format!("{MONITORING}/workspaces/ws1/namespaces?metrics_filter=workspace_cpu_usage"),
        &admin,
        "",
    )
    .await;
    assert_eq!(
        reply.body["results"],
        serde_json::json!([]),
        "{}",
        reply.text
    );
    ts.stop().await;
}
