//! The tenant lists show exactly what KubeSphere's rules give, never more:
//! random workspaces, namespaces, users, groups, roles and bindings are
//! written to a server, and for each identity (the admin impersonating
//! it) the workspace list, the namespace list and each workspace's
//! namespace list equal a model computed straight from the objects, with
//! ks-rbac's reference evaluator deciding the "may list everything"
//! checks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::TestServer;
use k8s_openapi::api::rbac::v1::Subject;
use ks_rbac::{Attributes, Groups, Policy, ReferenceAuthorizer};
use ks_request_info::ResourceScope;
use proptest::prelude::*;
use serde_json::{Value, json};

const WORKSPACES: [&str; 3] = ["ws0", "ws1", "ws2"];
const NAMESPACES: [&str; 5] = ["n0", "n1", "n2", "n3", "n4"];
/// (user, groups) asked about.
const IDENTITIES: [(&str, &[&str]); 3] = [("u0", &["g0"]), ("u1", &[]), ("u2", &["g0", "g1"])];

/// What a role of a binding grants.
const GRANTS: [(&str, &str, &str); 5] = [
    ("*", "workspaces", "list"),
    ("tenant.kubesphere.io", "workspaces", "list"),
    ("", "namespaces", "list"),
    ("*", "*", "*"),
    ("", "pods", "get"),
];

#[derive(Clone, Debug)]
struct Binding {
    /// 0 RoleBinding (to a ClusterRole), 1 WorkspaceRoleBinding,
    /// 2 GlobalRoleBinding, 3 ClusterRoleBinding.
    kind: u8,
    /// The namespace or workspace, by index.
    place: usize,
    /// 0..3 a user of IDENTITIES, 3..5 group g0 / g1.
    subject: usize,
    grant: usize,
}

fn binding() -> impl Strategy<Value = Binding> {
    (0u8..4, 0usize..5, 0usize..5, 0usize..GRANTS.len()).prop_map(
        |(kind, place, subject, grant)| Binding {
            kind,
            place,
            subject,
            grant,
        },
    )
}

#[derive(Clone, Debug)]
struct World {
    /// Which workspaces have a template.
    templates: Vec<bool>,
    /// Each namespace's workspace (index), if any.
    namespace_ws: Vec<Option<usize>>,
    bindings: Vec<Binding>,
}

fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(prop::bool::weighted(0.8), WORKSPACES.len()),
        prop::collection::vec(
            prop::option::weighted(0.8, 0usize..WORKSPACES.len()),
            NAMESPACES.len(),
        ),
        prop::collection::vec(binding(), 2..12),
    )
        .prop_map(|(templates, namespace_ws, bindings)| World {
            templates,
            namespace_ws,
            bindings,
        })
}

fn subject_json(subject: usize) -> Value {
    if subject < 3 {
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": IDENTITIES[subject].0}])
    } else {
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("g{}", subject - 3)}])
    }
}

async fn post(ts: &TestServer, path: &str, obj: &Value) {
    let admin = format!("Bearer {}", ts.server.as_ref().unwrap().admin_token);
    let headers = [
        ("authorization", admin.as_str()),
        ("content-type", "application/json"),
    ];
    let (status, _, body) = common::http(&ts.url, "POST", path, &headers, &obj.to_string()).await;
    assert!(
        status == 201 || status == 409,
        "{path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
}

async fn write(ts: &TestServer, world: &World) {
    let iam = "iam.kubesphere.io/v1alpha2";
    let rbac = "rbac.authorization.k8s.io/v1";
    for (w, present) in world.templates.iter().enumerate() {
        if *present {
            post(
                ts,
                "/apis/tenant.kubesphere.io/v1alpha2/workspacetemplates",
                &json!({"apiVersion": "tenant.kubesphere.io/v1alpha2", "kind": "WorkspaceTemplate",
                        "metadata": {"name": WORKSPACES[w]}}),
            )
            .await;
        }
    }
    for (n, ws) in world.namespace_ws.iter().enumerate() {
        let mut meta = json!({"name": NAMESPACES[n]});
        if let Some(w) = ws {
            meta["labels"] = json!({"kubesphere.io/workspace": WORKSPACES[*w]});
        }
        post(
            ts,
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta}),
        )
        .await;
    }
    for (g, (group, resource, verb)) in GRANTS.iter().enumerate() {
        let rules = json!([{"apiGroups": [group], "resources": [resource], "verbs": [verb]}]);
        post(ts, "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            &json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": format!("grant-{g}")}, "rules": rules})).await;
        post(ts, "/apis/iam.kubesphere.io/v1alpha2/globalroles",
            &json!({"apiVersion": iam, "kind": "GlobalRole", "metadata": {"name": format!("grant-{g}")}, "rules": rules})).await;
        for ws in WORKSPACES {
            post(ts, "/apis/iam.kubesphere.io/v1alpha2/workspaceroles",
                &json!({"apiVersion": iam, "kind": "WorkspaceRole",
                        "metadata": {"name": format!("{ws}-grant-{g}"), "labels": {"kubesphere.io/workspace": ws}},
                        "rules": rules})).await;
        }
    }
    for (i, b) in world.bindings.iter().enumerate() {
        let name = format!("b{i}");
        let subjects = subject_json(b.subject);
        let grant = format!("grant-{}", b.grant);
        match b.kind {
            0 => {
                let ns = NAMESPACES[b.place];
                post(ts, &format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings"),
                    &json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": name, "namespace": ns},
                            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": grant},
                            "subjects": subjects})).await;
            }
            1 => {
                let ws = WORKSPACES[b.place % WORKSPACES.len()];
                post(ts, "/apis/iam.kubesphere.io/v1alpha2/workspacerolebindings",
                    &json!({"apiVersion": iam, "kind": "WorkspaceRoleBinding",
                            "metadata": {"name": name, "labels": {"kubesphere.io/workspace": ws}},
                            "roleRef": {"apiGroup": "iam.kubesphere.io", "kind": "WorkspaceRole", "name": format!("{ws}-{grant}")},
                            "subjects": subjects})).await;
            }
            2 => {
                post(ts, "/apis/iam.kubesphere.io/v1alpha2/globalrolebindings",
                    &json!({"apiVersion": iam, "kind": "GlobalRoleBinding", "metadata": {"name": name},
                            "roleRef": {"apiGroup": "iam.kubesphere.io", "kind": "GlobalRole", "name": grant},
                            "subjects": subjects})).await;
            }
            _ => {
                post(ts, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                    &json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": name},
                            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": grant},
                            "subjects": subjects})).await;
            }
        }
    }
}

fn names_subject(subjects: &[Subject], user: &str, groups: &[&str]) -> bool {
    subjects.iter().any(|s| match s.kind.as_str() {
        "User" => s.name == user,
        "Group" => groups.contains(&s.name.as_str()),
        _ => false,
    })
}

/// What each list must hold for one identity.
struct Expected {
    workspaces: BTreeSet<String>,
    namespaces: BTreeSet<String>,
    by_workspace: Vec<BTreeSet<String>>,
}

fn expected(
    policy: &Policy,
    templates: &BTreeSet<String>,
    user: &str,
    groups: &[&str],
) -> Expected {
    let reference = ReferenceAuthorizer::new(policy);
    let mut all_groups: Vec<&str> = groups.to_vec();
    all_groups.push("system:authenticated");
    let may = |group: &str, resource: &str, scope: ResourceScope, workspace: &str| {
        reference
            .authorize(&Attributes {
                user,
                groups: Groups::Strs(&all_groups),
                verb: "list",
                api_group: group,
                resource,
                workspace,
                resource_scope: Some(scope),
                is_resource_request: true,
                ..Attributes::default()
            })
            .allowed
    };
    let namespaces: BTreeSet<String> = (policy.namespaces.iter())
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    let workspace_of = |ns: &str| {
        (policy.namespaces.iter())
            .find(|n| n.metadata.name.as_deref() == Some(ns))
            .and_then(|n| ks_types::meta::workspace_of(&n.metadata).map(str::to_owned))
    };
    let bound_ws: BTreeSet<String> = (policy.workspace_role_bindings.iter())
        .filter(|b| names_subject(&b.subjects, user, groups))
        .filter_map(|b| ks_types::meta::workspace_of(&b.metadata).map(str::to_owned))
        .collect();
    let bound_ns: BTreeSet<String> = (policy.role_bindings.iter())
        .filter(|b| names_subject(b.subjects.as_deref().unwrap_or_default(), user, groups))
        .filter_map(|b| b.metadata.namespace.clone())
        .filter(|ns| namespaces.contains(ns))
        .collect();
    let workspaces = if may("*", "workspaces", ResourceScope::Global, "") {
        templates.clone()
    } else {
        bound_ws.intersection(templates).cloned().collect()
    };
    let all_namespaces = if may("", "namespaces", ResourceScope::Cluster, "") {
        namespaces.clone()
    } else {
        bound_ns.clone()
    };
    let by_workspace = WORKSPACES
        .iter()
        .map(|ws| {
            let pool = if may("", "namespaces", ResourceScope::Workspace, ws) {
                &namespaces
            } else {
                &bound_ns
            };
            (pool.iter())
                .filter(|ns| workspace_of(ns).as_deref() == Some(*ws))
                .cloned()
                .collect()
        })
        .collect();
    Expected {
        workspaces,
        namespaces: all_namespaces,
        by_workspace,
    }
}

async fn listed(ts: &TestServer, path: &str, user: &str, groups: &[&str]) -> BTreeSet<String> {
    let admin = format!("Bearer {}", ts.server.as_ref().unwrap().admin_token);
    let mut headers = vec![
        ("authorization", admin.as_str()),
        ("impersonate-user", user),
    ];
    for g in groups {
        headers.push(("impersonate-group", g));
    }
    let (status, _, body) = common::http(&ts.url, "GET", path, &headers, "").await;
    assert_eq!(
        status,
        200,
        "{path} as {user}: {}",
        String::from_utf8_lossy(&body)
    );
    let reply: Value = serde_json::from_slice(&body).unwrap();
    let names: BTreeSet<String> = (reply["items"].as_array().unwrap().iter())
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reply["totalItems"], names.len(), "{path}");
    names
}

/// `check` until it holds or two seconds pass (the lists follow the
/// store's watch); then the last answer.
async fn settle<F, Fut>(mut check: F) -> (BTreeSet<String>, BTreeSet<String>)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (BTreeSet<String>, BTreeSet<String>)>,
{
    let mut last = check().await;
    for _ in 0..200 {
        if last.0 == last.1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        last = check().await;
    }
    last
}

async fn agree(world: World) {
    let ts = TestServer::start().await;
    write(&ts, &world).await;
    ts.server.as_ref().unwrap().rbac.settled().await;
    let policy = common::read_policy(&ts).await;
    let templates: BTreeSet<String> = (world.templates.iter().enumerate())
        .filter(|(_, present)| **present)
        .map(|(w, _)| WORKSPACES[w].to_owned())
        .collect();
    let tenant = "/kapis/tenant.kubesphere.io/v1alpha2";
    for (user, groups) in IDENTITIES {
        let want = expected(&policy, &templates, user, groups);
        let (got, want_ws) = settle(|| {
            let want = want.workspaces.clone();
            let ts = &ts;
            async move {
                (
                    listed(ts, &format!("{tenant}/workspaces"), user, groups).await,
                    want,
                )
            }
        })
        .await;
        assert_eq!(got, want_ws, "workspaces of {user} {groups:?} in {world:?}");
        let (got, want_ns) = settle(|| {
            let want = want.namespaces.clone();
            let ts = &ts;
            async move {
                (
                    listed(ts, &format!("{tenant}/namespaces"), user, groups).await,
                    want,
                )
            }
        })
        .await;
        assert_eq!(got, want_ns, "namespaces of {user} {groups:?} in {world:?}");
        for (w, ws) in WORKSPACES.iter().enumerate() {
            let path = format!("{tenant}/workspaces/{ws}/namespaces");
            let (got, want_here) = settle(|| {
                let want = want.by_workspace[w].clone();
                let (ts, path) = (&ts, path.clone());
                async move { (listed(ts, &path, user, groups).await, want) }
            })
            .await;
            assert_eq!(got, want_here, "{path} for {user} {groups:?} in {world:?}");
        }
    }
    ts.stop().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn tenant_lists_follow_the_bindings_and_nothing_else(world in world()) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(agree(world));
    }
}
