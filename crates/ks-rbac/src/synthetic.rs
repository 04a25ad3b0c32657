//! Deterministic synthetic policies, for benchmarks and load tests.
//!
//! [`Shape::ISSUE`] is the policy of the benchmark in issue 4: 100k users,
//! 2k groups, 1k workspaces, 10k namespaces, 100 ClusterRoles, 1k Roles,
//! 100k RoleBindings, 5k WorkspaceRoleBindings, 1k ClusterRoleBindings and
//! 100 GlobalRoleBindings; [`Shape::scaled_down`] divides every count to get
//! the same shape at 10k or 1k RoleBindings. [`generate`] builds it with no
//! randomness (names are `user-17`, `ns-42`, ...), so every run and every
//! tool sees the same objects; [`Policy::to_yaml`] writes it as manifests
//! (see the `generate_policy` example).
//!
//! [`probes`] gives requests with a known answer at every scope, named
//! after the objects of the shape.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use ks_request_info::ResourceScope;
use ks_types::iam::{GlobalRole, GlobalRoleBinding, WorkspaceRole, WorkspaceRoleBinding};
use ks_types::meta::WORKSPACE_LABEL;

use crate::{AttributesRecord, Policy};

/// How many objects of each kind to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Users named by bindings.
    pub users: usize,
    /// Groups named by bindings.
    pub groups: usize,
    /// Workspaces.
    pub workspaces: usize,
    /// Namespaces (each in a workspace).
    pub namespaces: usize,
    /// ClusterRoles.
    pub cluster_roles: usize,
    /// Roles (one per namespace, in the first namespaces).
    pub roles: usize,
    /// RoleBindings.
    pub role_bindings: usize,
    /// WorkspaceRoleBindings.
    pub workspace_role_bindings: usize,
    /// ClusterRoleBindings.
    pub cluster_role_bindings: usize,
    /// GlobalRoleBindings.
    pub global_role_bindings: usize,
}

impl Shape {
    /// The benchmark policy of issue 4 (100k RoleBindings).
    pub const ISSUE: Shape = Shape {
        users: 100_000,
        groups: 2_000,
        workspaces: 1_000,
        namespaces: 10_000,
        cluster_roles: 100,
        roles: 1_000,
        role_bindings: 100_000,
        workspace_role_bindings: 5_000,
        cluster_role_bindings: 1_000,
        global_role_bindings: 100,
    };

    /// Every count divided by `factor` (at least 1 of each).
    pub fn scaled_down(self, factor: usize) -> Shape {
        let f = factor.max(1);
        let d = |n: usize| (n / f).max(1);
        Shape {
            users: d(self.users),
            groups: d(self.groups),
            workspaces: d(self.workspaces),
            namespaces: d(self.namespaces),
            cluster_roles: d(self.cluster_roles),
            roles: d(self.roles),
            role_bindings: d(self.role_bindings),
            workspace_role_bindings: d(self.workspace_role_bindings),
            cluster_role_bindings: d(self.cluster_role_bindings),
            global_role_bindings: d(self.global_role_bindings),
        }
    }

    /// Total number of bindings.
    pub fn bindings(&self) -> usize {
        self.role_bindings
            + self.workspace_role_bindings
            + self.cluster_role_bindings
            + self.global_role_bindings
    }
}

const RESOURCES: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "services"),
    ("", "configmaps"),
    ("", "secrets"),
    ("", "persistentvolumeclaims"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("networking.k8s.io", "ingresses"),
    ("autoscaling", "horizontalpodautoscalers"),
];

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

fn rule(verbs: &[&str], group: &str, resources: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: s(verbs),
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(s(resources)),
        ..Default::default()
    }
}

/// Four rules over a rotating window of resources: reads of three, writes
/// of one, and the `log` subresource of pods.
fn rules_for(i: usize) -> Vec<PolicyRule> {
    let (g0, r0) = RESOURCES[i % RESOURCES.len()];
    let (g1, r1) = RESOURCES[(i + 1) % RESOURCES.len()];
    let (g2, r2) = RESOURCES[(i + 5) % RESOURCES.len()];
    vec![
        rule(&["get", "list", "watch"], g0, &[r0]),
        rule(&["get", "list", "watch"], g1, &[r1]),
        rule(&["create", "update", "patch", "delete"], g2, &[r2]),
        rule(&["get"], "", &["pods/log", "pods/status"]),
    ]
}

fn meta(name: String, namespace: Option<String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace,
        ..Default::default()
    }
}

fn labelled(name: String, workspace: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        labels: Some(BTreeMap::from([(WORKSPACE_LABEL.to_owned(), workspace)])),
        ..Default::default()
    }
}

fn user(i: usize) -> Subject {
    Subject {
        api_group: Some("rbac.authorization.k8s.io".into()),
        kind: "User".into(),
        name: format!("user-{i}"),
        namespace: None,
    }
}

fn group(i: usize) -> Subject {
    Subject {
        api_group: Some("rbac.authorization.k8s.io".into()),
        kind: "Group".into(),
        name: format!("group-{i}"),
        namespace: None,
    }
}

fn role_ref(kind: &str, name: String) -> RoleRef {
    RoleRef {
        api_group: if kind == "Role" || kind == "ClusterRole" {
            "rbac.authorization.k8s.io".into()
        } else {
            "iam.kubesphere.io".into()
        },
        kind: kind.into(),
        name,
    }
}

/// The workspace of namespace `ns`.
fn workspace_of(shape: &Shape, ns: usize) -> usize {
    ns % shape.workspaces
}

/// Generates the policy of `shape`.
///
/// RoleBinding `i` lives in namespace `i % namespaces` and binds
/// `user-{i % users}` (every 10th also `group-{i % groups}`) to the Role of
/// its namespace when there is one, else to ClusterRole
/// `cr-{i % cluster_roles}`. WorkspaceRoleBinding `i` binds
/// `user-{(7 i) % users}` in `ws-{i % workspaces}`; ClusterRoleBinding `i`
/// binds `user-{(13 i) % users}`; GlobalRoleBinding `i` binds
/// `user-{(17 i) % users}` to `platform-regular`, except the first, which
/// binds user `admin` to `platform-admin`.
pub fn generate(shape: &Shape) -> Policy {
    let mut p = Policy::new();
    for n in 0..shape.namespaces {
        let ws = format!("ws-{}", workspace_of(shape, n));
        p.namespaces.push(Namespace {
            metadata: labelled(format!("ns-{n}"), ws),
            ..Default::default()
        });
    }
    for c in 0..shape.cluster_roles {
        p.cluster_roles.push(ClusterRole {
            metadata: meta(format!("cr-{c}"), None),
            rules: Some(rules_for(c)),
            aggregation_rule: None,
        });
    }
    for r in 0..shape.roles.min(shape.namespaces) {
        p.roles.push(Role {
            metadata: meta(format!("role-{r}"), Some(format!("ns-{r}"))),
            rules: Some(rules_for(r + 3)),
        });
    }
    for w in 0..shape.workspaces {
        for (base, verbs) in [
            ("admin", &["*"][..]),
            ("viewer", &["get", "list", "watch"][..]),
        ] {
            p.workspace_roles.push(WorkspaceRole {
                metadata: labelled(format!("ws-{w}-{base}"), format!("ws-{w}")),
                rules: vec![rule(verbs, "*", &["*"])],
            });
        }
    }
    p.global_roles.push(GlobalRole {
        metadata: meta("platform-admin".into(), None),
        rules: vec![
            rule(&["*"], "*", &["*"]),
            PolicyRule {
                verbs: s(&["*"]),
                non_resource_urls: Some(s(&["*"])),
                ..Default::default()
            },
        ],
    });
    p.global_roles.push(GlobalRole {
        metadata: meta("platform-regular".into(), None),
        rules: vec![rule(&["get", "list"], "app.k8s.io", &["applications"])],
    });

    for i in 0..shape.role_bindings {
        let ns = i % shape.namespaces;
        let mut subjects = vec![user(i % shape.users)];
        if i % 10 == 0 {
            subjects.push(group(i % shape.groups));
        }
        let role_ref = if ns < shape.roles {
            role_ref("Role", format!("role-{ns}"))
        } else {
            role_ref("ClusterRole", format!("cr-{}", i % shape.cluster_roles))
        };
        p.role_bindings.push(RoleBinding {
            metadata: meta(format!("rb-{i}"), Some(format!("ns-{ns}"))),
            role_ref,
            subjects: Some(subjects),
        });
    }
    for i in 0..shape.workspace_role_bindings {
        let w = i % shape.workspaces;
        let base = if i % 3 == 0 { "admin" } else { "viewer" };
        p.workspace_role_bindings.push(WorkspaceRoleBinding {
            metadata: labelled(format!("wrb-{i}"), format!("ws-{w}")),
            subjects: vec![user((7 * i) % shape.users)],
            role_ref: role_ref("WorkspaceRole", format!("ws-{w}-{base}")),
        });
    }
    for i in 0..shape.cluster_role_bindings {
        p.cluster_role_bindings.push(ClusterRoleBinding {
            metadata: meta(format!("crb-{i}"), None),
            role_ref: role_ref("ClusterRole", format!("cr-{}", i % shape.cluster_roles)),
            subjects: Some(vec![user((13 * i) % shape.users)]),
        });
    }
    for i in 0..shape.global_role_bindings {
        let (role, subject) = if i == 0 {
            let admin = Subject {
                name: "admin".into(),
                ..user(0)
            };
            ("platform-admin", admin)
        } else {
            ("platform-regular", user((17 * i) % shape.users))
        };
        p.global_role_bindings.push(GlobalRoleBinding {
            metadata: meta(format!("grb-{i}"), None),
            subjects: vec![subject],
            role_ref: role_ref("GlobalRole", role.into()),
        });
    }
    p
}

/// A request with its expected answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// What it checks, e.g. `namespace/allow`.
    pub label: &'static str,
    /// The request.
    pub attributes: AttributesRecord,
    /// Whether it must be allowed.
    pub allowed: bool,
}

fn record(
    user: String,
    verb: &str,
    group: &str,
    resource: &str,
    namespace: String,
    workspace: String,
    scope: ResourceScope,
) -> AttributesRecord {
    AttributesRecord {
        user,
        verb: verb.into(),
        api_group: group.into(),
        resource: resource.into(),
        namespace,
        workspace,
        resource_scope: Some(scope.as_str().into()),
        is_resource_request: true,
        ..Default::default()
    }
}

/// Requests with known answers at each scope: an allow and a deny at
/// Namespace, Workspace, Cluster and Global scope.
pub fn probes(shape: &Shape) -> Vec<Probe> {
    use ResourceScope::{Cluster, Global, Namespace, Workspace};
    // RoleBinding 0 (ns-0, user-0) references Role role-0 (rules_for(3)).
    let ns_rb = shape.role_bindings / 2;
    let ns = ns_rb % shape.namespaces;
    let ns_user = ns_rb % shape.users;
    let ns_rules = if ns < shape.roles {
        ns + 3
    } else {
        ns_rb % shape.cluster_roles
    };
    let (g, r) = RESOURCES[ns_rules % RESOURCES.len()];
    let wrb = 1; // a viewer binding
    let ws_user = (7 * wrb) % shape.users;
    let ws = wrb % shape.workspaces;
    let crb = shape.cluster_role_bindings / 2;
    let c_user = (13 * crb) % shape.users;
    let (cg, cr) = RESOURCES[(crb % shape.cluster_roles) % RESOURCES.len()];
    let g_user = 17 % shape.users; // GlobalRoleBinding 1: platform-regular
    let none = String::new;
    let mut out = vec![
        Probe {
            label: "namespace/allow",
            attributes: record(
                format!("user-{ns_user}"),
                "list",
                g,
                r,
                format!("ns-{ns}"),
                none(),
                Namespace,
            ),
            allowed: true,
        },
        Probe {
            label: "namespace/deny",
            attributes: record(
                format!("user-{ns_user}"),
                "escalate",
                g,
                r,
                format!("ns-{ns}"),
                none(),
                Namespace,
            ),
            allowed: false,
        },
        Probe {
            label: "workspace/allow",
            attributes: record(
                format!("user-{ws_user}"),
                "list",
                "iam.kubesphere.io",
                "workspacemembers",
                none(),
                format!("ws-{ws}"),
                Workspace,
            ),
            allowed: true,
        },
        Probe {
            label: "workspace/deny",
            attributes: record(
                format!("user-{ws_user}"),
                "delete",
                "iam.kubesphere.io",
                "workspacemembers",
                none(),
                format!("ws-{ws}"),
                Workspace,
            ),
            allowed: false,
        },
        Probe {
            label: "cluster/allow",
            attributes: record(
                format!("user-{c_user}"),
                "get",
                cg,
                cr,
                none(),
                none(),
                Cluster,
            ),
            allowed: true,
        },
        Probe {
            label: "cluster/deny",
            attributes: record(
                format!("user-{c_user}"),
                "get",
                "",
                "nodes",
                none(),
                none(),
                Cluster,
            ),
            allowed: false,
        },
        Probe {
            label: "global/allow",
            attributes: record(
                format!("user-{g_user}"),
                "list",
                "app.k8s.io",
                "applications",
                none(),
                none(),
                Global,
            ),
            allowed: true,
        },
        Probe {
            label: "global/deny",
            attributes: record(
                format!("user-{g_user}"),
                "delete",
                "iam.kubesphere.io",
                "users",
                none(),
                none(),
                Global,
            ),
            allowed: false,
        },
    ];
    if shape.global_role_bindings < 2 {
        out.retain(|p| !p.label.starts_with("global"));
    }
    out
}
