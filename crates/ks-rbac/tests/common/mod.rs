//! Generators of small random policies and requests, drawn from tiny
//! universes of names so that random objects actually meet: bindings name
//! existing roles (or not), subjects name the requesting user, selectors
//! select, names collide.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{
    AggregationRule, ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef,
    Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};
use ks_rbac::Policy;
use ks_request_info::ResourceScope;
use ks_types::iam::{GlobalRole, GlobalRoleBinding, WorkspaceRole, WorkspaceRoleBinding};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

pub const USERS: &[&str] = &["alice", "bob", "system:serviceaccount:n0:sa", ""];
pub const GROUPS: &[&str] = &["g0", "g1", "system:authenticated"];
pub const NAMESPACES: &[&str] = &["n0", "n1", "n2"];
pub const WORKSPACES: &[&str] = &["w0", "w1"];
pub const VERBS: &[&str] = &["get", "list", "*", "GET", "create"];
pub const API_GROUPS: &[&str] = &["", "apps", "*"];
pub const RULE_RESOURCES: &[&str] = &[
    "pods",
    "pods/log",
    "*/log",
    "*",
    "deployments",
    "pods/*",
    "a/b/c",
    "a",
    "*/",
];
pub const RESOURCES: &[&str] = &["pods", "deployments", "a", "a/b", "*/", "secrets"];
pub const SUBRESOURCES: &[&str] = &["", "log", "b/c", "c", "status"];
pub const NAMES: &[&str] = &["", "x", "y"];
pub const RULE_URLS: &[&str] = &["/healthz", "/api/*", "*", "/api", "/a**"];
pub const PATHS: &[&str] = &["/healthz", "/api/v1", "/api", "/apis", "/a", "/"];
pub const ROLE_NAMES: &[&str] = &["r0", "r1"];
pub const BINDING_NAMES: &[&str] = &["b0", "b1", "b2", "b3"];
pub const ROLE_KINDS: &[&str] = &[
    "Role",
    "ClusterRole",
    "GlobalRole",
    "WorkspaceRole",
    "Bogus",
];
pub const SUBJECT_KINDS: &[&str] = &["User", "Group", "ServiceAccount", "Other"];

fn strings(v: Vec<&str>) -> Vec<String> {
    v.into_iter().map(str::to_owned).collect()
}

fn some_strings(v: Vec<&str>) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| strings(v))
}

pub fn rule() -> impl Strategy<Value = PolicyRule> {
    (
        prop_oneof![2 => Just(vec!["get"]), 1 => Just(vec!["*"]), 2 => subsequence(&["get", "list", "*", "GET"][..], 1..=2)],
        prop_oneof![2 => Just(vec![""]), 1 => Just(vec!["*"]), 2 => subsequence(API_GROUPS, 1..=2)],
        prop_oneof![2 => Just(vec!["pods"]), 1 => Just(vec!["*"]), 3 => subsequence(RULE_RESOURCES, 1..=3)],
        prop_oneof![3 => Just(vec![]), 1 => subsequence(NAMES, 1..=2)],
        subsequence(RULE_URLS, 0..=2),
    )
        .prop_map(|(verbs, groups, resources, names, urls)| PolicyRule {
            verbs: strings(verbs),
            api_groups: some_strings(groups),
            resources: some_strings(resources),
            resource_names: some_strings(names),
            non_resource_urls: some_strings(urls),
        })
}

fn labels() -> impl Strategy<Value = Option<BTreeMap<String, String>>> {
    prop_oneof![
        Just(None),
        select(&["a", "b"][..])
            .prop_map(|v| Some(BTreeMap::from([("agg".to_owned(), v.to_owned())]))),
    ]
}

fn annotation() -> impl Strategy<Value = Option<BTreeMap<String, String>>> {
    prop_oneof![
        3 => Just(None),
        2 => subsequence(ROLE_NAMES, 0..=2).prop_map(|names| {
            let v = serde_json::to_string(&names).unwrap();
            Some(BTreeMap::from([(ks_types::meta::AGGREGATION_ROLES_ANNOTATION.to_owned(), v)]))
        }),
        1 => Just(Some(BTreeMap::from([(
            ks_types::meta::AGGREGATION_ROLES_ANNOTATION.to_owned(),
            "not json".to_owned()
        )]))),
    ]
}

fn selector() -> impl Strategy<Value = LabelSelector> {
    let expr = |op: &str, values: &[&str]| LabelSelector {
        match_labels: None,
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "agg".into(),
            operator: op.into(),
            values: (!values.is_empty()).then(|| strings(values.to_vec())),
        }]),
    };
    prop_oneof![
        Just(LabelSelector {
            match_labels: Some(BTreeMap::from([("agg".to_owned(), "a".to_owned())])),
            match_expressions: None,
        }),
        Just(expr("In", &["b"])),
        Just(expr("NotIn", &["a"])),
        Just(expr("Exists", &[])),
        Just(expr("In", &[])),
        Just(LabelSelector::default()),
    ]
}

#[derive(Clone, Debug)]
pub struct RoleSpec {
    kind: usize,
    name: &'static str,
    namespace: &'static str,
    rules: Vec<PolicyRule>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    selectors: Option<Vec<LabelSelector>>,
}

pub fn role() -> impl Strategy<Value = RoleSpec> {
    (
        0..4usize,
        select(ROLE_NAMES),
        select(NAMESPACES),
        prop::collection::vec(rule(), 0..4),
        labels(),
        annotation(),
        prop::option::weighted(0.3, prop::collection::vec(selector(), 0..2)),
    )
        .prop_map(
            |(kind, name, namespace, rules, labels, annotations, selectors)| RoleSpec {
                kind,
                name,
                namespace,
                rules,
                labels,
                annotations,
                selectors,
            },
        )
}

#[derive(Clone, Debug)]
pub struct BindingSpec {
    pub kind: usize,
    name: &'static str,
    namespace: Option<&'static str>,
    workspace: Option<&'static str>,
    role_kind: &'static str,
    role_name: &'static str,
    subjects: Vec<Subject>,
}

fn subject() -> impl Strategy<Value = Subject> {
    let any = (
        select(SUBJECT_KINDS),
        select(&["alice", "bob", "sa", "g0", "g1", "system:authenticated", ""][..]),
        prop::option::of(select(&["n0", "n1", ""][..])),
    );
    let make = |kind: &str, name: &str, namespace: Option<&str>| Subject {
        kind: kind.into(),
        name: name.into(),
        namespace: namespace.map(Into::into),
        api_group: None,
    };
    prop_oneof![
        3 => Just(make("User", "alice", None)),
        1 => Just(make("Group", "g0", None)),
        1 => prop::option::of(Just("n0")).prop_map(move |ns| make("ServiceAccount", "sa", ns)),
        3 => any.prop_map(move |(kind, name, namespace)| make(kind, name, namespace)),
    ]
}

pub fn binding() -> impl Strategy<Value = BindingSpec> {
    (
        0..4usize,
        select(BINDING_NAMES),
        prop::option::weighted(0.9, select(NAMESPACES)),
        prop::option::weighted(0.8, select(WORKSPACES)),
        prop_oneof![8 => select(&ROLE_KINDS[..4]), 1 => Just("Bogus")],
        select(ROLE_NAMES),
        prop::collection::vec(subject(), 1..4),
        any::<bool>(),
    )
        .prop_map(
            |(kind, name, namespace, workspace, role_kind, role_name, subjects, natural)| {
                BindingSpec {
                    role_kind: if natural {
                        ["GlobalRole", "WorkspaceRole", "Role", "ClusterRole"][kind]
                    } else {
                        role_kind
                    },
                    kind,
                    name,
                    namespace,
                    workspace,
                    role_name,
                    subjects,
                }
            },
        )
}

fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: namespace.map(Into::into),
        ..Default::default()
    }
}

pub fn add_role(policy: &mut Policy, r: &RoleSpec) {
    // Cluster-scoped kinds get a stray namespace too: it must be ignored.
    let mut m = meta(r.name, Some(r.namespace));
    m.labels = r.labels.clone();
    m.annotations = r.annotations.clone();
    match r.kind {
        0 => policy.roles.push(Role {
            metadata: ObjectMeta {
                namespace: Some(r.namespace.into()),
                ..m
            },
            rules: Some(r.rules.clone()),
        }),
        1 => policy.cluster_roles.push(ClusterRole {
            metadata: m,
            rules: Some(r.rules.clone()),
            aggregation_rule: r.selectors.clone().map(|s| AggregationRule {
                cluster_role_selectors: Some(s),
            }),
        }),
        2 => policy.global_roles.push(GlobalRole {
            metadata: m,
            rules: r.rules.clone(),
        }),
        _ => policy.workspace_roles.push(WorkspaceRole {
            metadata: m,
            rules: r.rules.clone(),
        }),
    }
}

pub fn add_binding(policy: &mut Policy, b: &BindingSpec) {
    let role_ref = RoleRef {
        api_group: "rbac.authorization.k8s.io".into(),
        kind: b.role_kind.into(),
        name: b.role_name.into(),
    };
    match b.kind {
        0 => policy.global_role_bindings.push(GlobalRoleBinding {
            metadata: meta(b.name, b.namespace),
            subjects: b.subjects.clone(),
            role_ref,
        }),
        1 => {
            let mut m = meta(b.name, b.namespace);
            m.labels = b.workspace.map(|w| {
                BTreeMap::from([(ks_types::meta::WORKSPACE_LABEL.to_owned(), w.to_owned())])
            });
            policy.workspace_role_bindings.push(WorkspaceRoleBinding {
                metadata: m,
                subjects: b.subjects.clone(),
                role_ref,
            });
        }
        2 => policy.role_bindings.push(RoleBinding {
            metadata: meta(b.name, b.namespace),
            subjects: Some(b.subjects.clone()),
            role_ref,
        }),
        _ => policy.cluster_role_bindings.push(ClusterRoleBinding {
            metadata: meta(b.name, b.namespace),
            subjects: Some(b.subjects.clone()),
            role_ref,
        }),
    }
}

pub fn namespaces() -> impl Strategy<Value = Vec<Namespace>> {
    prop::collection::vec(
        (select(NAMESPACES), prop::option::of(select(WORKSPACES))),
        0..4,
    )
    .prop_map(|items| {
        items
            .into_iter()
            .map(|(n, w)| {
                let mut m = meta(n, None);
                m.labels = w.map(|w| {
                    BTreeMap::from([(ks_types::meta::WORKSPACE_LABEL.to_owned(), w.to_owned())])
                });
                Namespace {
                    metadata: m,
                    ..Default::default()
                }
            })
            .collect()
    })
}

pub fn policy() -> impl Strategy<Value = Policy> {
    (
        prop::collection::vec(role(), 0..12),
        prop::collection::vec(binding(), 0..12),
        namespaces(),
    )
        .prop_map(|(roles, bindings, namespaces)| {
            let mut p = Policy::new();
            for r in &roles {
                add_role(&mut p, r);
            }
            for b in &bindings {
                add_binding(&mut p, b);
            }
            p.namespaces = namespaces;
            p
        })
}

/// An owned request.
#[derive(Clone, Debug)]
pub struct Req {
    pub user: &'static str,
    pub groups: Vec<&'static str>,
    pub verb: &'static str,
    pub api_group: &'static str,
    pub resource: &'static str,
    pub subresource: &'static str,
    pub name: &'static str,
    pub namespace: &'static str,
    pub workspace: &'static str,
    pub scope: Option<ResourceScope>,
    pub is_resource_request: bool,
    pub path: &'static str,
}

impl Req {
    pub fn attrs(&self) -> ks_rbac::Attributes<'_> {
        ks_rbac::Attributes {
            user: self.user,
            groups: ks_rbac::Groups::Strs(&self.groups),
            verb: self.verb,
            api_group: self.api_group,
            resource: self.resource,
            subresource: self.subresource,
            name: self.name,
            namespace: self.namespace,
            workspace: self.workspace,
            resource_scope: self.scope,
            is_resource_request: self.is_resource_request,
            path: self.path,
            ..ks_rbac::Attributes::default()
        }
    }
}

/// A user's extra attributes (Kubernetes' `user.Info` Extra). Keys and
/// values reuse the names policies bind and requests carry (users, groups,
/// namespaces, verbs, resources), so an evaluator that read them would be
/// caught.
pub fn extra() -> impl Strategy<Value = BTreeMap<String, Vec<String>>> {
    let names: Vec<&'static str> = [USERS, GROUPS, NAMESPACES, WORKSPACES, VERBS, RESOURCES]
        .concat()
        .into_iter()
        .chain([
            "groups",
            "user",
            "scopes",
            "authentication.kubernetes.io/pod-name",
        ])
        .collect();
    let name = select(names).prop_map(str::to_owned);
    prop::collection::btree_map(name.clone(), prop::collection::vec(name, 0..3), 0..4)
}

pub fn request() -> impl Strategy<Value = Req> {
    let scope = prop::option::weighted(
        0.9,
        select(
            &[
                ResourceScope::Global,
                ResourceScope::Cluster,
                ResourceScope::Workspace,
                ResourceScope::Namespace,
            ][..],
        ),
    );
    (
        (
            prop_oneof![3 => Just("alice"), 1 => Just("system:serviceaccount:n0:sa"), 1 => select(USERS)],
            prop_oneof![1 => Just(vec!["g0"]), 2 => subsequence(GROUPS, 0..=2)],
            prop_oneof![3 => Just("get"), 1 => select(VERBS)],
            select(&["", "", "apps", "*"][..]),
        ),
        (
            prop_oneof![3 => Just("pods"), 2 => select(RESOURCES)],
            prop_oneof![3 => Just(""), 2 => select(SUBRESOURCES)],
            select(NAMES),
        ),
        (select(&["n0", "n1", "n2", "n9", ""][..]), select(&["w0", "w1", ""][..]), scope),
        (prop::bool::weighted(0.8), select(PATHS)),
    )
        .prop_map(
            |((user, groups, verb, api_group), (resource, subresource, name), (namespace, workspace, scope), (is_resource_request, path))| Req {
                user,
                groups,
                verb,
                api_group,
                resource,
                subresource,
                name,
                namespace,
                workspace,
                scope,
                is_resource_request,
                path,
            },
        )
}
