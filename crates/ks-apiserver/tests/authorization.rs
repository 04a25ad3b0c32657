//! Authorization through the whole HTTP chain: random policies and
//! requests decided by the server (as the admin impersonating each user)
//! agree with ks-rbac's reference evaluator at every scope; and a
//! path-confusion suite in which no spelling of a path reaches data the
//! parsed attributes were not authorized for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::TestServer;
use ks_rbac::{Attributes, ReferenceAuthorizer};
use ks_request_info::Resolver;
use proptest::prelude::*;
use serde_json::{Value, json};

async fn send(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let (status, _, bytes) = common::http(url, method, path, headers, body).await;
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Creates `obj` at `path` as the admin.
async fn create(ts: &TestServer, path: &str, obj: &Value) {
    let admin = format!("Bearer {}", ts.server.as_ref().unwrap().admin_token);
    let (status, text) = send(
        &ts.url,
        "POST",
        path,
        &[
            ("authorization", &admin),
            ("content-type", "application/json"),
        ],
        &obj.to_string(),
    )
    .await;
    assert!(status == 201 || status == 409, "{path}: {status} {text}");
}

const USERS: [&str; 3] = ["u0", "u1", "u2"];
const GROUPS: [&str; 2] = ["g0", "g1"];
const NAMESPACES: [&str; 3] = ["ns0", "ns1", "ns2"];
/// ns0 is in ws0, ns1 in ws1, ns2 in no workspace.
const WORKSPACE_OF: [Option<&str>; 3] = [Some("ws0"), Some("ws1"), None];
const WORKSPACES: [&str; 2] = ["ws0", "ws1"];

#[derive(Clone, Debug)]
struct Rule {
    groups: &'static str,
    resource: &'static str,
    verb: &'static str,
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        prop::sample::select(vec!["", "*", "apps"]),
        prop::sample::select(vec![
            "configmaps",
            "secrets",
            "*",
            "pods/log",
            "deployments",
        ]),
        prop::sample::select(vec!["get", "list", "create", "*"]),
    )
        .prop_map(|(groups, resource, verb)| Rule {
            groups,
            resource,
            verb,
        })
}

/// One binding: scope (0 namespace Role, 1 namespace RoleBinding to a
/// ClusterRole, 2 ClusterRoleBinding, 3 WorkspaceRoleBinding, 4
/// GlobalRoleBinding), where, the rules, and the subject (user or group).
#[derive(Clone, Debug)]
struct Grant {
    scope: u8,
    place: usize,
    rules: Vec<Rule>,
    subject: (bool, usize),
}

fn grant() -> impl Strategy<Value = Grant> {
    (
        0u8..5,
        0usize..3,
        prop::collection::vec(rule(), 1..3),
        (any::<bool>(), 0usize..3),
    )
        .prop_map(|(scope, place, rules, subject)| Grant {
            scope,
            place,
            rules,
            subject,
        })
}

#[derive(Clone, Debug)]
struct Probe {
    user: usize,
    groups: Vec<usize>,
    method: &'static str,
    path: String,
}

fn probe() -> impl Strategy<Value = Probe> {
    let paths = prop_oneof![
        (
            0usize..3,
            prop::sample::select(vec!["configmaps", "secrets", "pods/p/log"])
        )
            .prop_map(|(ns, r)| format!("/api/v1/namespaces/{}/{r}", NAMESPACES[ns])),
        (0usize..3)
            .prop_map(|ns| format!("/apis/apps/v1/namespaces/{}/deployments", NAMESPACES[ns])),
        Just("/api/v1/configmaps".to_owned()),
        Just("/api/v1/nodes".to_owned()),
        (0usize..2).prop_map(|ws| format!(
            "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/{}/namespaces",
            WORKSPACES[ws]
        )),
        Just("/apis/iam.kubesphere.io/v1alpha2/users".to_owned()),
        Just("/healthz/ping".to_owned()),
        Just("/openapi/v2".to_owned()),
    ];
    (
        0usize..3,
        prop::collection::vec(0usize..2, 0..2),
        prop::sample::select(vec!["GET", "POST"]),
        paths,
    )
        .prop_map(|(user, groups, method, path)| Probe {
            user,
            groups,
            method,
            path,
        })
}

fn rules_json(rules: &[Rule]) -> Value {
    Value::Array(
        rules
            .iter()
            .map(|r| json!({"apiGroups": [r.groups], "resources": [r.resource], "verbs": [r.verb]}))
            .collect(),
    )
}

fn subject(grant: &Grant) -> Value {
    let (is_user, i) = grant.subject;
    if is_user {
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USERS[i]}])
    } else {
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": GROUPS[i % 2]}])
    }
}

/// Writes a grant's role and binding (named `g{index}`).
async fn write_grant(ts: &TestServer, index: usize, grant: &Grant) {
    let name = format!("g{index}");
    let rbac = "rbac.authorization.k8s.io/v1";
    let iam = "iam.kubesphere.io/v1alpha2";
    let ns = NAMESPACES[grant.place];
    let ws = WORKSPACES[grant.place % 2];
    let rules = rules_json(&grant.rules);
    let role_ref = |kind: &str| {
        let group = if kind.starts_with("Global") || kind.starts_with("Workspace") {
            "iam.kubesphere.io"
        } else {
            "rbac.authorization.k8s.io"
        };
        json!({"apiGroup": group, "kind": kind, "name": name})
    };
    match grant.scope {
        0 => {
            create(ts, &format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles"),
                &json!({"apiVersion": rbac, "kind": "Role", "metadata": {"name": name, "namespace": ns}, "rules": rules})).await;
            create(ts, &format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings"),
                &json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": name, "namespace": ns},
                        "roleRef": role_ref("Role"), "subjects": subject(grant)})).await;
        }
        1 | 2 => {
            create(ts, "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                &json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules})).await;
            if grant.scope == 1 {
                create(ts, &format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings"),
                    &json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": name, "namespace": ns},
                            "roleRef": role_ref("ClusterRole"), "subjects": subject(grant)})).await;
            } else {
                create(ts, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                    &json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": name},
                            "roleRef": role_ref("ClusterRole"), "subjects": subject(grant)})).await;
            }
        }
        3 => {
            let labels = json!({"kubesphere.io/workspace": ws});
            create(ts, "/apis/iam.kubesphere.io/v1alpha2/workspaceroles",
                &json!({"apiVersion": iam, "kind": "WorkspaceRole", "metadata": {"name": name, "labels": labels}, "rules": rules})).await;
            create(ts, "/apis/iam.kubesphere.io/v1alpha2/workspacerolebindings",
                &json!({"apiVersion": iam, "kind": "WorkspaceRoleBinding", "metadata": {"name": name, "labels": labels},
                        "roleRef": role_ref("WorkspaceRole"), "subjects": subject(grant)})).await;
        }
        _ => {
            create(ts, "/apis/iam.kubesphere.io/v1alpha2/globalroles",
                &json!({"apiVersion": iam, "kind": "GlobalRole", "metadata": {"name": name}, "rules": rules})).await;
            create(
                ts,
                "/apis/iam.kubesphere.io/v1alpha2/globalrolebindings",
                &json!({"apiVersion": iam, "kind": "GlobalRoleBinding", "metadata": {"name": name},
                        "roleRef": role_ref("GlobalRole"), "subjects": subject(grant)}),
            )
            .await;
        }
    }
}

/// The server's whole policy, read back through its API, as ks-rbac
/// loads it.
async fn agree(grants: Vec<Grant>, probes: Vec<Probe>) {
    let ts = TestServer::start().await;
    for (i, ns) in NAMESPACES.iter().enumerate() {
        let mut meta = json!({"name": ns});
        if let Some(ws) = WORKSPACE_OF[i] {
            meta["labels"] = json!({"kubesphere.io/workspace": ws});
        }
        create(
            &ts,
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta}),
        )
        .await;
    }
    for (i, grant) in grants.iter().enumerate() {
        write_grant(&ts, i, grant).await;
    }
    ts.server.as_ref().unwrap().rbac.settled().await;
    let policy = common::read_policy(&ts).await;
    let reference = ReferenceAuthorizer::new(&policy);
    let resolver = Resolver::default();
    let admin = format!("Bearer {}", ts.server.as_ref().unwrap().admin_token);
    for probe in &probes {
        let user = USERS[probe.user];
        let mut groups: Vec<String> = probe.groups.iter().map(|g| GROUPS[*g].to_owned()).collect();
        groups.dedup();
        let mut headers = vec![
            ("authorization", admin.as_str()),
            ("impersonate-user", user),
        ];
        for g in &groups {
            headers.push(("impersonate-group", g));
        }
        let (status, text) = send(&ts.url, probe.method, &probe.path, &headers, "{}").await;
        // The reference decides on what the server parsed, for the user
        // with the groups impersonation gives it.
        let info = resolver.parse(probe.method, &probe.path).unwrap();
        let mut all_groups = groups.clone();
        all_groups.push("system:authenticated".to_owned());
        let attrs = Attributes::from_request_info(&info, user, &all_groups);
        let verdict = reference.authorize(&attrs);
        // The chain allows what the roles allow, and KubeSphere's built-in
        // self-service grants to every authenticated user.
        let builtin = ks_rbac::builtin::authenticated(&attrs);
        assert_eq!(
            status != 403,
            verdict.allowed || builtin.is_some(),
            "{} {} as {user} {groups:?}: server {status} {text}; reference {verdict}; built-in {builtin:?}",
            probe.method,
            probe.path
        );
    }
    ts.stop().await;
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 16,
        max_shrink_iters: 20,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_http_chain_agrees_with_the_reference_evaluator(
        grants in prop::collection::vec(grant(), 2..12),
        probes in prop::collection::vec(probe(), 1..25),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(agree(grants, probes));
    }
}

/// A user who may read configmaps in `ns1` only tries to read `ns2`'s
/// through every odd spelling of the path: whatever the answer, it never
/// contains `ns2`'s data.
#[tokio::test]
async fn no_spelling_of_a_path_reaches_unauthorized_data() {
    let ts = TestServer::start().await;
    for ns in ["ns1", "ns2"] {
        create(
            &ts,
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )
        .await;
        create(
            &ts,
            &format!("/api/v1/namespaces/{ns}/configmaps"),
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("secret-of-{ns}")}, "data": {"k": format!("value-of-{ns}")}}),
        )
        .await;
    }
    let rbac = "rbac.authorization.k8s.io/v1";
    create(&ts, "/apis/rbac.authorization.k8s.io/v1/namespaces/ns1/roles",
        &json!({"apiVersion": rbac, "kind": "Role", "metadata": {"name": "reader", "namespace": "ns1"},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]})).await;
    create(&ts, "/apis/rbac.authorization.k8s.io/v1/namespaces/ns1/rolebindings",
        &json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": "reader", "namespace": "ns1"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "mallory"}]})).await;
    ts.server.as_ref().unwrap().rbac.settled().await;
    let admin = format!("Bearer {}", ts.server.as_ref().unwrap().admin_token);
    let as_mallory = [
        ("authorization", admin.as_str()),
        ("impersonate-user", "mallory"),
    ];

    // The honest request works.
    let (status, body) = send(
        &ts.url,
        "GET",
        "/api/v1/namespaces/ns1/configmaps",
        &as_mallory,
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("value-of-ns1"));

    let long = format!("/api/v1/namespaces/ns2/configmaps/{}", "a".repeat(10_000));
    let paths = [
        "/api/v1/namespaces/ns2/configmaps",
        "/api/v1/namespaces/ns1/../ns2/configmaps",
        "/api/v1/namespaces/ns1/%2E%2E/ns2/configmaps",
        "/api/v1/namespaces/ns1%2F..%2Fns2/configmaps",
        "/api/v1/namespaces/ns1%2fconfigmaps/../../ns2/configmaps",
        "/api/v1/namespaces/ns2%2Fconfigmaps",
        "//api/v1/namespaces/ns2/configmaps",
        "/api//v1/namespaces/ns2/configmaps",
        "/api/v1/namespaces//ns2/configmaps",
        "/api/v1/namespaces/./ns2/configmaps",
        "/api/v1/namespaces/ns2/configmaps/.",
        "/API/v1/namespaces/ns2/configmaps",
        "/api/V1/namespaces/ns2/configmaps",
        "/api/v1/namespaces/NS2/configmaps",
        "/api/v1/Namespaces/ns2/configmaps",
        "/clusters/host/api/v1/namespaces/ns2/configmaps",
        "/api/clusters/host/v1/namespaces/ns2/configmaps",
        "/clusters/host/clusters/host/api/v1/namespaces/ns2/configmaps",
        "/api/v1/configmaps",
        "/api/v1/configmaps?fieldSelector=metadata.namespace%3Dns2",
        "/api/v1/namespaces/ns1/configmaps?fieldSelector=metadata.namespace%3Dns2",
        "/api/v1/watch/namespaces/ns2/configmaps",
        "/api/v1/namespaces/ns1/configmaps/../../../namespaces/ns2/configmaps",
        "/api/v1/namespaces/ns1/configmaps/secret-of-ns2",
        "/api/v1/namespaces/ns1/configmaps/%2E%2E%2F%2E%2E%2Fns2%2Fconfigmaps%2Fsecret-of-ns2",
        "/api/v1/namespaces/ns2/configmaps/secret-of-ns2;ns1",
        "/api/v1/namespaces/ns2\\configmaps",
        "/api/v1/namespaces/ns1/configmaps/../secret-of-ns2",
        long.as_str(),
    ];
    for path in paths {
        for method in ["GET"] {
            let (status, body) = send(&ts.url, method, path, &as_mallory, "").await;
            assert!(
                !body.contains("value-of-ns2"),
                "{method} {path}: {status} leaked ns2's data: {body}"
            );
            assert!(
                status >= 400 || !body.contains("secret-of-ns2"),
                "{method} {path}: {status} {body}"
            );
        }
    }
    // A watch across namespaces is refused too, not filtered into a leak.
    let (status, _) = send(
        &ts.url,
        "GET",
        "/api/v1/configmaps?watch=1&timeoutSeconds=1",
        &as_mallory,
        "",
    )
    .await;
    assert_eq!(status, 403);
    tokio::time::sleep(Duration::from_millis(10)).await;
    ts.stop().await;
}
