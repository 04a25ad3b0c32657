//! Table tests of [`LivePolicy`] on the edge cases of live updates: a
//! Namespace's workspace label coming, changing and going; roles changing
//! rules, deleted while bound, and recreated; ClusterRole `aggregationRule`
//! and KubeSphere's `iam.kubesphere.io/aggregation-roles`; bindings moving
//! between workspaces; the order of bindings (which one a reason names);
//! duplicate upserts and deletes of unknown objects.
//!
//! Each case is an initial policy and steps; a step applies upserts (YAML)
//! and deletes, then checks requests (`ks auth can-i --batch` lines) for
//! the answer and a part of the reason. After every step, every request is
//! also checked against a fresh build and the reference walk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use ks_rbac::{
    AttributesRecord, Change, LivePolicy, Object, ObjectKind, Policy, PolicySnapshot,
    ReferenceAuthorizer,
};

struct Step {
    /// YAML manifests to upsert, in order.
    upsert: &'static str,
    /// `(kind, namespace, name)` to delete, after the upserts.
    delete: &'static [(ObjectKind, &'static str, &'static str)],
    /// `(request, allowed, a part of the reason)`.
    expect: &'static [(&'static str, bool, &'static str)],
}

struct Case {
    name: &'static str,
    initial: &'static str,
    steps: &'static [Step],
}

fn objects(p: Policy) -> Vec<Object> {
    let mut out: Vec<Object> = Vec::new();
    out.extend(p.namespaces.into_iter().map(Object::Namespace));
    out.extend(p.roles.into_iter().map(Object::Role));
    out.extend(p.cluster_roles.into_iter().map(Object::ClusterRole));
    out.extend(p.global_roles.into_iter().map(Object::GlobalRole));
    out.extend(p.workspace_roles.into_iter().map(Object::WorkspaceRole));
    out.extend(p.role_bindings.into_iter().map(Object::RoleBinding));
    out.extend(
        p.cluster_role_bindings
            .into_iter()
            .map(Object::ClusterRoleBinding),
    );
    out.extend(
        p.global_role_bindings
            .into_iter()
            .map(Object::GlobalRoleBinding),
    );
    out.extend(
        p.workspace_role_bindings
            .into_iter()
            .map(Object::WorkspaceRoleBinding),
    );
    out
}

fn load(yaml: &str) -> Policy {
    let (policy, diagnostics) = Policy::from_yaml("case", yaml);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    policy
}

fn run(case: &Case) {
    let mut live = LivePolicy::new(load(case.initial));
    for (i, step) in case.steps.iter().enumerate() {
        let mut changes: Vec<Change> = objects(load(step.upsert))
            .into_iter()
            .map(Change::Upsert)
            .collect();
        changes.extend(
            step.delete
                .iter()
                .map(|&(kind, namespace, name)| Change::Delete {
                    kind,
                    namespace: namespace.into(),
                    name: name.into(),
                }),
        );
        live.apply(changes);
        let snapshot = live.snapshot();
        let built = PolicySnapshot::build(live.policy());
        let reference = ReferenceAuthorizer::new(live.policy());
        assert_eq!(
            snapshot.warnings(),
            built.warnings(),
            "{} step {i}",
            case.name
        );
        for &(line, allowed, reason) in step.expect {
            let record: AttributesRecord = serde_json::from_str(line).unwrap();
            let attrs = record.as_attributes().unwrap();
            let verdict = snapshot.authorize(&attrs);
            let at = format!("{} step {i}: {line}", case.name);
            assert_eq!(verdict.allowed, allowed, "{at}: {}", verdict.reason);
            assert!(
                verdict.reason.contains(reason),
                "{at}: {:?} does not contain {reason:?}",
                verdict.reason
            );
            assert_eq!(verdict, built.authorize(&attrs), "{at}");
            assert_eq!(verdict, reference.authorize(&attrs), "{at}");
            assert_eq!(snapshot.who_can(&attrs), built.who_can(&attrs), "{at}");
        }
    }
}

const ALICE_PODS_IN_DEMO: &str = r#"{"isResourceRequest":true,"user":"alice","verb":"get","resource":"pods","namespace":"demo"}"#;
const ALICE_PODS: &str =
    r#"{"isResourceRequest":true,"user":"alice","verb":"get","resource":"pods"}"#;
const ALICE_LIST_PODS: &str =
    r#"{"isResourceRequest":true,"user":"alice","verb":"list","resource":"pods"}"#;
const ALICE_PODS_IN_NS1: &str =
    r#"{"isResourceRequest":true,"user":"alice","verb":"get","resource":"pods","namespace":"ns1"}"#;
const ALICE_LIST_PODS_IN_NS1: &str = r#"{"isResourceRequest":true,"user":"alice","verb":"list","resource":"pods","namespace":"ns1"}"#;
const ALICE_IN_WS1: &str =
    r#"{"isResourceRequest":true,"user":"alice","verb":"get","resource":"pods","workspace":"ws1"}"#;
const ALICE_IN_WS2: &str =
    r#"{"isResourceRequest":true,"user":"alice","verb":"get","resource":"pods","workspace":"ws2"}"#;

const WS1_VIEWER: &str = r#"
apiVersion: iam.kubesphere.io/v1alpha2
kind: WorkspaceRole
metadata: {name: ws-viewer}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: [get]}]
---
apiVersion: iam.kubesphere.io/v1alpha2
kind: WorkspaceRoleBinding
metadata: {name: alice-viewer, labels: {kubesphere.io/workspace: ws1}}
roleRef: {apiGroup: iam.kubesphere.io, kind: WorkspaceRole, name: ws-viewer}
subjects: [{kind: User, name: alice}]
---
apiVersion: v1
kind: Namespace
metadata: {name: demo}
"#;

const POD_READER: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: ns1}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-reads, namespace: ns1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects: [{kind: User, name: alice}]
"#;

const CASES: &[Case] = &[
    Case {
        name: "a namespace's workspace label",
        initial: WS1_VIEWER,
        steps: &[
            Step {
                upsert: "",
                delete: &[],
                expect: &[(ALICE_PODS_IN_DEMO, false, "no rules authorize")],
            },
            Step {
                upsert: "{apiVersion: v1, kind: Namespace, metadata: {name: demo, labels: {kubesphere.io/workspace: ws1}}}",
                delete: &[],
                expect: &[(
                    ALICE_PODS_IN_DEMO,
                    true,
                    r#"WorkspaceRoleBinding "alice-viewer""#,
                )],
            },
            Step {
                upsert: "{apiVersion: v1, kind: Namespace, metadata: {name: demo, labels: {kubesphere.io/workspace: ws2}}}",
                delete: &[],
                expect: &[(ALICE_PODS_IN_DEMO, false, "no rules authorize")],
            },
            Step {
                upsert: "{apiVersion: v1, kind: Namespace, metadata: {name: demo, labels: {kubesphere.io/workspace: ''}}}",
                delete: &[],
                expect: &[(ALICE_PODS_IN_DEMO, false, "no rules authorize")],
            },
            Step {
                upsert: "{apiVersion: v1, kind: Namespace, metadata: {name: demo, labels: {kubesphere.io/workspace: ws1}}}",
                delete: &[],
                expect: &[(ALICE_PODS_IN_DEMO, true, "alice-viewer")],
            },
            Step {
                upsert: "{apiVersion: v1, kind: Namespace, metadata: {name: demo, labels: {team: x}}}",
                delete: &[],
                expect: &[(ALICE_PODS_IN_DEMO, false, "no rules authorize")],
            },
            Step {
                upsert: "{apiVersion: v1, kind: Namespace, metadata: {name: demo, labels: {kubesphere.io/workspace: ws1}}}",
                delete: &[(ObjectKind::Namespace, "", "demo")],
                expect: &[
                    (ALICE_PODS_IN_DEMO, false, "no rules authorize"),
                    (
                        r#"{"isResourceRequest":true,"user":"alice","verb":"get","resource":"pods","workspace":"ws1"}"#,
                        true,
                        "alice-viewer",
                    ),
                ],
            },
        ],
    },
    Case {
        name: "a workspace role binding moving between workspaces",
        initial: WS1_VIEWER,
        steps: &[
            Step {
                upsert: "",
                delete: &[],
                expect: &[
                    (ALICE_IN_WS1, true, "alice-viewer"),
                    (ALICE_IN_WS2, false, ""),
                ],
            },
            Step {
                upsert: r#"
apiVersion: iam.kubesphere.io/v1alpha2
kind: WorkspaceRoleBinding
metadata: {name: alice-viewer, labels: {kubesphere.io/workspace: ws2}}
roleRef: {apiGroup: iam.kubesphere.io, kind: WorkspaceRole, name: ws-viewer}
subjects: [{kind: User, name: alice}]
"#,
                delete: &[],
                expect: &[
                    (ALICE_IN_WS1, false, ""),
                    (ALICE_IN_WS2, true, "alice-viewer"),
                ],
            },
            Step {
                // Without the label it applies nowhere.
                upsert: r#"
apiVersion: iam.kubesphere.io/v1alpha2
kind: WorkspaceRoleBinding
metadata: {name: alice-viewer}
roleRef: {apiGroup: iam.kubesphere.io, kind: WorkspaceRole, name: ws-viewer}
subjects: [{kind: User, name: alice}]
"#,
                delete: &[],
                expect: &[(ALICE_IN_WS1, false, ""), (ALICE_IN_WS2, false, "")],
            },
        ],
    },
    Case {
        name: "a role changing rules, deleted while bound, recreated",
        initial: POD_READER,
        steps: &[
            Step {
                upsert: "",
                delete: &[],
                expect: &[
                    (
                        ALICE_PODS_IN_NS1,
                        true,
                        r#"RoleBinding "alice-reads/ns1" of Role "pod-reader""#,
                    ),
                    (ALICE_LIST_PODS_IN_NS1, false, ""),
                ],
            },
            Step {
                upsert: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: ns1}
rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
"#,
                delete: &[],
                expect: &[
                    (ALICE_PODS_IN_NS1, false, ""),
                    (ALICE_LIST_PODS_IN_NS1, true, "alice-reads"),
                ],
            },
            Step {
                upsert: "",
                delete: &[(ObjectKind::Role, "ns1", "pod-reader")],
                expect: &[(
                    ALICE_LIST_PODS_IN_NS1,
                    false,
                    r#"RoleBinding "alice-reads/ns1" refers to Role "pod-reader", which does not exist"#,
                )],
            },
            Step {
                // A Role of the same name elsewhere is not the one bound.
                upsert: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: ns2}
rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
"#,
                delete: &[],
                expect: &[(ALICE_LIST_PODS_IN_NS1, false, "which does not exist")],
            },
            Step {
                upsert: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: ns1}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
"#,
                delete: &[],
                expect: &[
                    (ALICE_PODS_IN_NS1, true, "alice-reads"),
                    (ALICE_LIST_PODS_IN_NS1, true, "alice-reads"),
                ],
            },
        ],
    },
    Case {
        name: "ClusterRole aggregationRule",
        initial: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: view}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {rbac.example.com/aggregate-to-view: "true"}}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: alice-view}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: User, name: alice}]
"#,
        steps: &[
            Step {
                upsert: "",
                delete: &[],
                expect: &[(ALICE_PODS, false, "")],
            },
            Step {
                upsert: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pods-view, labels: {rbac.example.com/aggregate-to-view: "true"}}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
"#,
                delete: &[],
                expect: &[(
                    ALICE_PODS,
                    true,
                    r#"ClusterRoleBinding "alice-view" of ClusterRole "view""#,
                )],
            },
            Step {
                // The aggregated role's rules change.
                upsert: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pods-view, labels: {rbac.example.com/aggregate-to-view: "true"}}
rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
"#,
                delete: &[],
                expect: &[
                    (ALICE_PODS, false, ""),
                    (ALICE_LIST_PODS, true, "alice-view"),
                ],
            },
            Step {
                // Its label goes: it is no longer selected.
                upsert: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pods-view}
rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
"#,
                delete: &[],
                expect: &[(ALICE_LIST_PODS, false, "")],
            },
            Step {
                // The aggregating role's selector changes to match it.
                upsert: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: view}
aggregationRule: {clusterRoleSelectors: [{matchExpressions: [{key: rbac.example.com/aggregate-to-view, operator: DoesNotExist}]}]}
"#,
                delete: &[],
                expect: &[(ALICE_LIST_PODS, true, "alice-view")],
            },
            Step {
                upsert: "",
                delete: &[(ObjectKind::ClusterRole, "", "pods-view")],
                expect: &[(ALICE_LIST_PODS, false, "")],
            },
        ],
    },
    Case {
        name: "KubeSphere's aggregation-roles annotation",
        initial: r#"
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRole
metadata:
  name: platform-viewer
  annotations: {iam.kubesphere.io/aggregation-roles: '["role-template-view-pods", "role-template-view-apps"]'}
---
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRole
metadata: {name: role-template-view-pods}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRoleBinding
metadata: {name: alice-viewer}
roleRef: {apiGroup: iam.kubesphere.io, kind: GlobalRole, name: platform-viewer}
subjects: [{kind: User, name: alice}]
"#,
        steps: &[
            Step {
                upsert: "",
                delete: &[],
                expect: &[(
                    ALICE_PODS,
                    true,
                    r#"GlobalRoleBinding "alice-viewer" of GlobalRole "platform-viewer""#,
                )],
            },
            Step {
                // A template change changes the role aggregating it.
                upsert: r#"
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRole
metadata: {name: role-template-view-pods}
rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
"#,
                delete: &[],
                expect: &[
                    (ALICE_PODS, false, ""),
                    (ALICE_LIST_PODS, true, "alice-viewer"),
                ],
            },
            Step {
                // A template named before it existed, then one of a template.
                upsert: r#"
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRole
metadata:
  name: role-template-view-apps
  annotations: {iam.kubesphere.io/aggregation-roles: '["role-template-get-pods"]'}
---
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRole
metadata: {name: role-template-get-pods}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
"#,
                delete: &[],
                expect: &[
                    (ALICE_PODS, true, "alice-viewer"),
                    (ALICE_LIST_PODS, true, "alice-viewer"),
                ],
            },
            Step {
                upsert: "",
                delete: &[(ObjectKind::GlobalRole, "", "role-template-get-pods")],
                expect: &[
                    (ALICE_PODS, false, ""),
                    (ALICE_LIST_PODS, true, "alice-viewer"),
                ],
            },
            Step {
                // The annotation no longer parses: it aggregates nothing.
                upsert: r#"
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRole
metadata:
  name: platform-viewer
  annotations: {iam.kubesphere.io/aggregation-roles: 'role-template-view-pods'}
"#,
                delete: &[],
                expect: &[(ALICE_LIST_PODS, false, "")],
            },
        ],
    },
    Case {
        name: "binding order: an update keeps its place, a new one goes last",
        initial: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pods-get}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: first, namespace: ns1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pods-get}
subjects: [{kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: second, namespace: ns1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pods-get}
subjects: [{kind: Group, name: devs}, {kind: User, name: alice}]
"#,
        steps: &[
            Step {
                upsert: "",
                delete: &[],
                expect: &[(ALICE_PODS_IN_NS1, true, r#"RoleBinding "first/ns1""#)],
            },
            Step {
                upsert: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: first, namespace: ns1, labels: {updated: "yes"}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pods-get}
subjects: [{kind: User, name: alice}]
"#,
                delete: &[],
                expect: &[(ALICE_PODS_IN_NS1, true, r#"RoleBinding "first/ns1""#)],
            },
            Step {
                upsert: "",
                delete: &[(ObjectKind::RoleBinding, "ns1", "first")],
                expect: &[(ALICE_PODS_IN_NS1, true, r#"RoleBinding "second/ns1""#)],
            },
            Step {
                upsert: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: first, namespace: ns1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pods-get}
subjects: [{kind: User, name: alice}]
"#,
                delete: &[],
                expect: &[(ALICE_PODS_IN_NS1, true, r#"RoleBinding "second/ns1""#)],
            },
        ],
    },
    Case {
        name: "deletes of unknown objects, and the namespace of cluster-scoped kinds",
        initial: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pods-get}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: alice-pods}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pods-get}
subjects: [{kind: User, name: alice}]
"#,
        steps: &[
            Step {
                upsert: "",
                delete: &[
                    (ObjectKind::ClusterRoleBinding, "", "nobody"),
                    (ObjectKind::RoleBinding, "ns1", "alice-pods"),
                    (ObjectKind::Role, "", "pods-get"),
                    (ObjectKind::Namespace, "", "ns1"),
                ],
                expect: &[(ALICE_PODS, true, r#"ClusterRoleBinding "alice-pods""#)],
            },
            Step {
                upsert: "",
                delete: &[(ObjectKind::ClusterRoleBinding, "ignored", "alice-pods")],
                expect: &[(ALICE_PODS, false, "")],
            },
        ],
    },
];

#[test]
fn live_policy_edge_cases() {
    for case in CASES {
        run(case);
    }
}

#[test]
fn duplicate_upserts_and_unknown_deletes_publish_nothing() {
    let policy = load(POD_READER);
    let mut live = LivePolicy::new(policy.clone());
    let before = live.snapshot();
    let mut changes: Vec<Change> = objects(policy).into_iter().map(Change::Upsert).collect();
    changes.push(Change::Delete {
        kind: ObjectKind::RoleBinding,
        namespace: "ns2".into(),
        name: "alice-reads".into(),
    });
    live.apply(changes);
    assert!(Arc::ptr_eq(&before, &live.snapshot()));
    live.apply([]);
    assert!(Arc::ptr_eq(&before, &live.snapshot()));
}

#[test]
fn a_snapshot_handed_out_never_changes() {
    let mut live = LivePolicy::new(load(POD_READER));
    let current = live.current();
    let held = current.get();
    let attrs = serde_json::from_str::<AttributesRecord>(ALICE_PODS_IN_NS1).unwrap();
    let attrs = attrs.as_attributes().unwrap();
    live.apply([Change::Delete {
        kind: ObjectKind::RoleBinding,
        namespace: "ns1".into(),
        name: "alice-reads".into(),
    }]);
    assert!(held.is_allowed(&attrs));
    assert!(!current.get().is_allowed(&attrs));
    // A decision is explained by the snapshot that made it.
    let decision = held.decide(&attrs);
    assert!(held.explain(&attrs, decision).contains("alice-reads"));
    live.rebuild();
    assert!(!current.get().is_allowed(&attrs));
    assert!(held.is_allowed(&attrs));
}

#[test]
fn duplicate_keys_in_the_initial_policy_keep_the_last_in_its_place() {
    let mut policy = load(POD_READER);
    let mut again = policy.role_bindings[0].clone();
    again.metadata.labels = Some([("v".to_owned(), "2".to_owned())].into());
    policy.role_bindings.insert(0, again.clone());
    policy.role_bindings.push(again.clone());
    let live = LivePolicy::new(policy);
    assert_eq!(live.policy().role_bindings, vec![again]);
}

#[test]
fn warnings_follow_the_roles() {
    let mut live = LivePolicy::new(load(
        r#"
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRole
metadata:
  name: platform-viewer
  annotations: {iam.kubesphere.io/aggregation-roles: '["role-template-view-pods"]'}
"#,
    ));
    let missing = r#"GlobalRole "platform-viewer" aggregates GlobalRole "role-template-view-pods", which does not exist"#;
    assert_eq!(live.snapshot().warnings(), [missing]);
    let template = load(
        r#"
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRole
metadata: {name: role-template-view-pods}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
"#,
    );
    live.apply(objects(template).into_iter().map(Change::Upsert));
    assert!(live.snapshot().warnings().is_empty());
    live.apply([Change::Delete {
        kind: ObjectKind::GlobalRole,
        namespace: String::new(),
        name: "role-template-view-pods".into(),
    }]);
    assert_eq!(live.snapshot().warnings(), [missing]);
}

/// `n` RoleBindings `rb-{i}` in namespace `ns1` granting `pod-reader` to
/// `user-{i}`.
fn many_bindings(n: usize, user_prefix: &str) -> Vec<Object> {
    let yaml: String = (0..n)
        .map(|i| {
            format!(
                "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n\
                 metadata: {{name: rb-{i}, namespace: ns1}}\n\
                 roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}}\n\
                 subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user_prefix}-{i}}}]\n"
            )
        })
        .collect();
    objects(load(&yaml))
}

fn can_read_pods(live: &LivePolicy, user: &str) -> bool {
    let record = format!(
        r#"{{"user":"{user}","verb":"get","resource":"pods","namespace":"ns1","isResourceRequest":true}}"#
    );
    let attrs = serde_json::from_str::<AttributesRecord>(&record).unwrap();
    let attrs = attrs.as_attributes().unwrap();
    let allowed = live.snapshot().is_allowed(&attrs);
    assert_eq!(
        allowed,
        PolicySnapshot::build(live.policy()).is_allowed(&attrs)
    );
    assert_eq!(
        allowed,
        ReferenceAuthorizer::new(live.policy())
            .authorize(&attrs)
            .allowed
    );
    allowed
}

#[test]
fn a_replace_deletes_what_it_does_not_list_and_ignores_other_kinds() {
    let mut live = LivePolicy::new(load(POD_READER));
    let mut relist = many_bindings(3, "bob");
    // An object of another kind in the list is not taken.
    relist.extend(
        objects(load(POD_READER))
            .into_iter()
            .filter(|o| o.kind() == ObjectKind::Role),
    );
    live.apply([Change::Replace {
        kind: ObjectKind::RoleBinding,
        objects: relist,
    }]);
    let names: Vec<_> = (live.policy().role_bindings.iter())
        .map(|b| b.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["rb-0", "rb-1", "rb-2"]);
    assert!(!can_read_pods(&live, "alice"));
    assert!(can_read_pods(&live, "bob-2"));
    // The Role was not replaced: the bindings still resolve.
    assert_eq!(live.policy().roles.len(), 1);
    // The same list again changes nothing and publishes nothing.
    let before = live.snapshot();
    live.apply([Change::Replace {
        kind: ObjectKind::RoleBinding,
        objects: many_bindings(3, "bob"),
    }]);
    assert!(Arc::ptr_eq(&before, &live.snapshot()));
}

#[test]
fn a_large_replace_is_applied_by_a_rebuild_with_the_same_answers() {
    let mut live = LivePolicy::new(load(POD_READER));
    // Large enough for the rebuild path, with a change after it in the
    // same batch and a delete of one of its objects.
    live.apply([
        Change::Replace {
            kind: ObjectKind::RoleBinding,
            objects: many_bindings(3000, "carol"),
        },
        Change::Delete {
            kind: ObjectKind::RoleBinding,
            namespace: "ns1".into(),
            name: "rb-7".into(),
        },
    ]);
    assert_eq!(live.policy().role_bindings.len(), 2999);
    assert!(can_read_pods(&live, "carol-2999"));
    assert!(!can_read_pods(&live, "carol-7"));
    assert!(!can_read_pods(&live, "alice"));
    // Later changes are incremental again.
    live.apply([Change::Replace {
        kind: ObjectKind::RoleBinding,
        objects: many_bindings(2, "dave"),
    }]);
    assert_eq!(live.policy().role_bindings.len(), 2);
    assert!(can_read_pods(&live, "dave-1"));
    assert!(!can_read_pods(&live, "carol-1"));
}
