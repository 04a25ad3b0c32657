//! Table tests of KubeSphere's scope walk and Kubernetes' rule semantics,
//! through the public API, run against both evaluators (the reference walk
//! and the compiled snapshot), which must also give the same reasons.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ks_rbac::{Attributes, Groups, Policy, PolicySnapshot, ReferenceAuthorizer, Severity};
use ks_request_info::ResourceScope::{self, Cluster, Global, Namespace, Workspace};

fn load() -> Policy {
    let text = include_str!("data/kubesphere.yaml");
    let (policy, diagnostics) = Policy::from_yaml("kubesphere.yaml", text);
    assert!(
        diagnostics.iter().all(|d| d.severity < Severity::Error),
        "{diagnostics:#?}"
    );
    policy
}

/// One case: who asks what, where, and the expected answer. `reason` is a
/// substring the reason must contain (empty: not checked).
struct Case {
    user: &'static str,
    groups: &'static [&'static str],
    verb: &'static str,
    /// `resource[.group][/subresource]`, or a `/path` for non-resource.
    target: &'static str,
    name: &'static str,
    namespace: &'static str,
    workspace: &'static str,
    scope: Option<ResourceScope>,
    allowed: bool,
    reason: &'static str,
}

const fn case(
    user: &'static str,
    verb: &'static str,
    target: &'static str,
    scope: Option<ResourceScope>,
    allowed: bool,
) -> Case {
    Case {
        user,
        groups: &[],
        verb,
        target,
        name: "",
        namespace: "",
        workspace: "",
        scope,
        allowed,
        reason: "",
    }
}

impl Case {
    const fn ns(mut self, ns: &'static str) -> Self {
        self.namespace = ns;
        self
    }
    const fn ws(mut self, ws: &'static str) -> Self {
        self.workspace = ws;
        self
    }
    const fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }
    const fn groups(mut self, groups: &'static [&'static str]) -> Self {
        self.groups = groups;
        self
    }
    const fn because(mut self, reason: &'static str) -> Self {
        self.reason = reason;
        self
    }

    fn attrs(&self) -> Attributes<'_> {
        let mut a = Attributes {
            user: self.user,
            groups: Groups::Strs(self.groups),
            verb: self.verb,
            name: self.name,
            namespace: self.namespace,
            workspace: self.workspace,
            resource_scope: self.scope,
            ..Attributes::default()
        };
        if self.target.starts_with('/') {
            a.path = self.target;
        } else {
            a.is_resource_request = true;
            let (resource, sub) = self.target.split_once('/').unwrap_or((self.target, ""));
            let (resource, group) = resource.split_once('.').unwrap_or((resource, ""));
            (a.resource, a.api_group, a.subresource) = (resource, group, sub);
        }
        a
    }
}

const NS: Option<ResourceScope> = Some(Namespace);
const WS: Option<ResourceScope> = Some(Workspace);
const CLUSTER: Option<ResourceScope> = Some(Cluster);
const GLOBAL: Option<ResourceScope> = Some(Global);

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Global role bindings apply at every scope.
    case("admin", "delete", "pods", NS, true).ns("ns1")
        .because(r#"RBAC: allowed by GlobalRoleBinding "admin-binding" of GlobalRole "platform-admin" to User "admin""#),
    case("admin", "create", "users.iam.kubesphere.io", GLOBAL, true),
    case("admin", "get", "/metrics", None, true),
    case("bob", "list", "users.iam.kubesphere.io", GLOBAL, true),
    case("bob", "get", "users.iam.kubesphere.io", CLUSTER, true),
    case("bob", "get", "users.iam.kubesphere.io", NS, true).ns("ns1"),
    case("bob", "delete", "users.iam.kubesphere.io", GLOBAL, false)
        .because(r#"RBAC: no rules authorize user "bob" with groups [] to "delete" resource "users.iam.kubesphere.io" global-wide"#),
    case("bob", "list", "users", GLOBAL, false),
    // KubeSphere aggregation annotation over role templates.
    case("frank", "list", "applications.app.k8s.io", GLOBAL, true)
        .because(r#"GlobalRoleBinding "frank-regular" of GlobalRole "regular" to User "frank""#),
    case("frank", "delete", "applications.app.k8s.io", GLOBAL, false),
    // Workspace role bindings: at Workspace scope for their workspace, and
    // at Namespace scope through the namespace's workspace label.
    case("alice", "create", "deployments.apps", NS, true).ns("ns1")
        .because(r#"RBAC: allowed by WorkspaceRoleBinding "alice-ws1-admin" of WorkspaceRole "ws1-admin" to User "alice""#),
    case("alice", "create", "deployments.apps", NS, false).ns("ns2"),
    case("alice", "create", "deployments.apps", NS, false).ns("ns3"),
    case("alice", "create", "deployments.apps", NS, false).ns("unknown"),
    case("alice", "delete", "workspacemembers.iam.kubesphere.io", WS, true).ws("ws1"),
    case("alice", "delete", "workspacemembers.iam.kubesphere.io", WS, false).ws("ws2"),
    case("alice", "get", "workspaces.tenant.kubesphere.io", GLOBAL, false).ws("ws1"),
    case("alice", "get", "nodes", CLUSTER, false).ws("ws1").ns("ns1"),
    case("alice", "get", "pods", WS, false).ws(""),
    case("zed", "list", "pods", NS, true).ns("ns1").groups(&["devs"])
        .because(r#"WorkspaceRoleBinding "devs-ws1-viewer" of WorkspaceRole "ws1-viewer" to Group "devs""#),
    case("zed", "delete", "pods", NS, false).ns("ns1").groups(&["devs"]),
    case("zed", "list", "pods", NS, false).ns("ns1").groups(&["Devs"]),
    case("devs", "list", "pods", NS, false).ns("ns1"),
    // Role bindings: only at Namespace scope, only in their namespace.
    case("carol", "get", "pods", NS, true).ns("ns2")
        .because(r#"RBAC: allowed by RoleBinding "carol-pods/ns2" of Role "pod-reader" to User "carol""#),
    case("carol", "get", "pods/log", NS, true).ns("ns2"),
    case("carol", "get", "pods/exec", NS, false).ns("ns2"),
    case("carol", "Get", "pods", NS, false).ns("ns2"),
    case("carol", "get", "pods", CLUSTER, false).ns("ns2"),
    case("carol", "get", "pods", WS, false).ns("ns2").ws("ws2"),
    case("carol", "get", "pods", NS, false).ns("ns1"),
    case("carol", "get", "pods.apps", NS, false).ns("ns2"),
    // Resource names: an empty list means all, else exact names only.
    case("carol", "get", "configmaps", NS, true).ns("ns2").named("cm1"),
    case("carol", "get", "configmaps", NS, false).ns("ns2").named("cm2"),
    case("carol", "get", "configmaps", NS, false).ns("ns2"),
    // Service accounts: namespace defaulted from the RoleBinding.
    case("system:serviceaccount:ns2:builder", "list", "pods", NS, true).ns("ns2")
        .because(r#"RoleBinding "builder-pods/ns2" of Role "pod-reader" to ServiceAccount "builder/ns2""#),
    case("system:serviceaccount:ns1:builder", "list", "pods", NS, false).ns("ns2"),
    case("builder", "list", "pods", NS, false).ns("ns2"),
    // A RoleBinding to an aggregated ClusterRole.
    case("carol", "list", "pods", NS, true).ns("ns3")
        .because(r#"RoleBinding "carol-edit/ns3" of ClusterRole "edit" to User "carol""#),
    case("carol", "create", "deployments.apps", NS, true).ns("ns3"),
    case("carol", "delete", "pods", NS, false).ns("ns3"),
    // Missing roles and unsupported kinds are reported, never allow.
    case("dave", "get", "pods", NS, false).ns("ns2")
        .because(r#"RoleBinding "missing/ns2" refers to Role "nope", which does not exist; RoleBinding "wrong-kind/ns2" refers to unsupported role kind "Deployment""#),
    // Cluster role bindings: every scope but Global; */subresource.
    case("erin", "get", "pods/status", CLUSTER, true)
        .because(r#"ClusterRoleBinding "erin-status" of ClusterRole "status-reader" to User "erin""#),
    case("erin", "get", "deployments.apps/status", NS, true).ns("ns1"),
    case("erin", "get", "pods/status", WS, true).ws("ws1"),
    case("erin", "get", "pods/status", GLOBAL, false),
    case("erin", "get", "pods", CLUSTER, false),
    case("erin", "get", "pods/statuses", CLUSTER, false),
    // Non-resource URLs: exact, trailing-* prefix, case-sensitive verbs.
    case("anyone", "get", "/healthz", None, true).groups(&["system:authenticated"])
        .because(r#"ClusterRoleBinding "health" of ClusterRole "health" to Group "system:authenticated""#),
    case("anyone", "get", "/api/v1", None, true).groups(&["system:authenticated"]),
    case("anyone", "get", "/api", None, false).groups(&["system:authenticated"]),
    case("anyone", "get", "/healthz/etcd", None, false).groups(&["system:authenticated"]),
    case("anyone", "GET", "/healthz", None, false).groups(&["system:authenticated"]),
    case("anyone", "get", "/healthz", None, false),
    case("anyone", "get", "/healthz", GLOBAL, false).groups(&["system:authenticated"]),
];

#[test]
fn scope_walk_table() {
    let policy = load();
    let reference = ReferenceAuthorizer::new(&policy);
    let snapshot = PolicySnapshot::build(&policy);
    assert!(snapshot.warnings().is_empty(), "{:?}", snapshot.warnings());
    let mut failures = Vec::new();
    for (i, c) in CASES.iter().enumerate() {
        let attrs = c.attrs();
        let want = reference.authorize(&attrs);
        let got = snapshot.authorize(&attrs);
        if want.allowed != c.allowed || !want.reason.contains(c.reason) {
            failures.push(format!(
                "case {i} ({} {} {}): reference said {want}",
                c.user, c.verb, c.target
            ));
        }
        if got != want {
            failures.push(format!("case {i}: snapshot said {got}, reference {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn later_objects_replace_earlier_ones() {
    let text = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
subjects: [{kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules: [{apiGroups: [""], resources: [nodes], verbs: [get]}]
"#;
    let (policy, _) = Policy::from_yaml("t", text);
    let snapshot = PolicySnapshot::build(&policy);
    for (resource, allowed) in [("pods", false), ("nodes", true)] {
        let a = Attributes {
            user: "alice",
            verb: "get",
            resource,
            resource_scope: CLUSTER,
            is_resource_request: true,
            ..Attributes::default()
        };
        assert_eq!(snapshot.decide(&a).is_allowed(), allowed, "{resource}");
        assert_eq!(
            ReferenceAuthorizer::new(&policy).authorize(&a).allowed,
            allowed
        );
    }
}

#[test]
fn builtin_roles_aggregate_their_templates() {
    // KubeSphere's own roles: platform-regular has no rules of its own and
    // gets everything from its templates.
    let mut policy = Policy::new();
    policy
        .global_roles
        .extend(ks_types::builtin::global_roles());
    policy
        .global_roles
        .extend(ks_types::builtin::global_role_templates());
    policy
        .global_role_bindings
        .push(ks_types::GlobalRoleBinding {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("u-regular".into()),
                ..Default::default()
            },
            subjects: vec![k8s_openapi::api::rbac::v1::Subject {
                kind: "User".into(),
                name: "u".into(),
                ..Default::default()
            }],
            role_ref: k8s_openapi::api::rbac::v1::RoleRef {
                api_group: "iam.kubesphere.io".into(),
                kind: "GlobalRole".into(),
                name: ks_types::builtin::PLATFORM_REGULAR.into(),
            },
        });
    let snapshot = PolicySnapshot::build(&policy);
    assert!(snapshot.warnings().is_empty(), "{:?}", snapshot.warnings());
    let reference = ReferenceAuthorizer::new(&policy);
    let (rules, errors) = ks_rbac::authorizer::rules_for(
        &snapshot,
        &Attributes {
            user: "u",
            resource_scope: GLOBAL,
            ..Attributes::default()
        },
    );
    assert!(errors.is_empty());
    assert!(
        !rules.is_empty(),
        "platform-regular aggregates its templates"
    );
    let (reference_rules, _) = ks_rbac::authorizer::rules_for(
        &reference,
        &Attributes {
            user: "u",
            resource_scope: GLOBAL,
            ..Attributes::default()
        },
    );
    assert_eq!(rules, reference_rules);
}

#[test]
fn many_groups() {
    // More groups than the snapshot caches on the stack: the granting one
    // comes last.
    let policy = load();
    let snapshot = PolicySnapshot::build(&policy);
    let mut groups: Vec<String> = (0..40).map(|i| format!("team-{i}")).collect();
    groups.push("devs".into());
    let attrs = Attributes {
        user: "zed",
        groups: Groups::Strings(&groups),
        verb: "list",
        resource: "pods",
        namespace: "ns1",
        resource_scope: NS,
        is_resource_request: true,
        ..Attributes::default()
    };
    let verdict = snapshot.authorize(&attrs);
    assert!(verdict.allowed, "{verdict}");
    assert_eq!(verdict, ReferenceAuthorizer::new(&policy).authorize(&attrs));
    let fewer = &groups[..groups.len() - 1];
    let attrs = Attributes {
        groups: Groups::Strings(fewer),
        ..attrs
    };
    assert!(!snapshot.is_allowed(&attrs));
}
