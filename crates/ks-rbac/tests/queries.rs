//! Table tests of who-can, rules review and the escalation checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::rbac::v1::PolicyRule;
use ks_rbac::grant::{BindingKind, RoleKind};
use ks_rbac::queries::{GrantCheck, check_binding, check_role_write};
use ks_rbac::{Attributes, Policy, PolicySnapshot};
use ks_request_info::ResourceScope;

fn snapshot() -> PolicySnapshot {
    let (policy, _) = Policy::from_yaml("kubesphere.yaml", include_str!("data/kubesphere.yaml"));
    PolicySnapshot::build(&policy)
}

fn pods(verb: &'static str, namespace: &'static str) -> Attributes<'static> {
    Attributes {
        verb,
        resource: "pods",
        namespace,
        resource_scope: Some(ResourceScope::Namespace),
        is_resource_request: true,
        ..Attributes::default()
    }
}

#[test]
fn who_can_list_pods() {
    let s = snapshot();
    let names = |attrs: &Attributes<'_>| -> Vec<String> {
        s.who_can(attrs)
            .iter()
            .map(|w| {
                let subjects: Vec<String> = w.subjects.iter().map(|x| x.name.clone()).collect();
                format!(
                    "{}:{}={}",
                    w.binding_kind,
                    w.binding_name,
                    subjects.join("+")
                )
            })
            .collect()
    };
    assert_eq!(
        names(&pods("list", "ns1")),
        [
            "GlobalRoleBinding:admin-binding=admin",
            "WorkspaceRoleBinding:alice-ws1-admin=alice",
            "WorkspaceRoleBinding:devs-ws1-viewer=devs",
        ]
    );
    assert_eq!(
        names(&pods("list", "ns2")),
        [
            "GlobalRoleBinding:admin-binding=admin",
            "RoleBinding:carol-pods=carol",
            "RoleBinding:builder-pods=builder",
        ]
    );
    let builder = s
        .who_can(&pods("list", "ns2"))
        .into_iter()
        .find(|w| w.binding_name == "builder-pods")
        .unwrap();
    assert_eq!(builder.binding_kind, BindingKind::RoleBinding);
    assert_eq!(builder.subjects[0].namespace.as_deref(), Some("ns2"));
    assert_eq!(
        names(&pods("delete", "ns3")),
        ["GlobalRoleBinding:admin-binding=admin"]
    );
}

#[test]
fn rules_review() {
    let s = snapshot();
    let carol = Attributes {
        user: "carol",
        ..pods("", "ns2")
    };
    let review = s.rules_for(&carol);
    assert!(!review.incomplete());
    assert_eq!(review.resource_rules().count(), 2);
    assert_eq!(review.non_resource_rules().count(), 0);
    let dave = Attributes {
        user: "dave",
        ..pods("", "ns2")
    };
    let review = s.rules_for(&dave);
    assert!(review.rules.is_empty());
    assert_eq!(review.errors.len(), 2);
    assert!(review.incomplete());
}

fn rule(verbs: &[&str], resources: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
        api_groups: Some(vec![String::new()]),
        resources: Some(resources.iter().map(|s| (*s).to_owned()).collect()),
        ..Default::default()
    }
}

#[test]
fn escalation_checks() {
    let text = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: binder}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [edit]}
- {apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate]}
- {apiGroups: [""], resources: [pods], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: binder, namespace: ns1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: binder}
subjects: [{kind: User, name: u}]
"#;
    let (policy, _) = Policy::from_yaml("t", text);
    let s = PolicySnapshot::build(&policy);
    let u = |ns: &'static str| Attributes {
        user: "u",
        namespace: ns,
        resource_scope: Some(ResourceScope::Namespace),
        ..Attributes::default()
    };
    let read = [rule(&["get"], &["pods"])];
    let write = [rule(&["get", "delete"], &["pods"])];
    // Rules it holds: covered.
    assert_eq!(
        check_binding(&s, &u("ns1"), RoleKind::ClusterRole, "view", &read),
        GrantCheck::Covered
    );
    // Rules it lacks: an escalation naming the missing atomic rule.
    match check_binding(&s, &u("ns1"), RoleKind::ClusterRole, "view", &write) {
        GrantCheck::Escalation(missing) => assert_eq!(missing, [rule(&["delete"], &["pods"])]),
        other => panic!("{other:?}"),
    }
    // `bind` on that very role name.
    assert_eq!(
        check_binding(&s, &u("ns1"), RoleKind::ClusterRole, "edit", &write),
        GrantCheck::Bind
    );
    // `escalate` on roles in the namespace.
    assert_eq!(
        check_role_write(&s, &u("ns1"), RoleKind::Role, "any", &write),
        GrantCheck::Escalate
    );
    assert!(!check_role_write(&s, &u("ns1"), RoleKind::ClusterRole, "any", &write).allowed());
    // Elsewhere it holds nothing.
    assert!(!check_binding(&s, &u("ns2"), RoleKind::ClusterRole, "edit", &read).allowed());
}

#[test]
fn lint_the_fixture() {
    let (policy, _) = Policy::from_yaml("kubesphere.yaml", include_str!("data/kubesphere.yaml"));
    let findings = ks_rbac::lint::lint(&policy);
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == ks_rbac::Severity::Error)
        .map(|f| format!("{} {}", f.code, f.object))
        .collect();
    assert_eq!(
        errors,
        [
            r#"missing-role RoleBinding "missing/ns2""#,
            r#"unsupported-role-kind RoleBinding "wrong-kind/ns2""#,
        ]
    );
    // platform-admin's `*` is the one wildcard; the aggregated ClusterRoles
    // and the role template count as used.
    let warnings: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == ks_rbac::Severity::Warning)
        .map(|f| format!("{} {}", f.code, f.object))
        .collect();
    assert_eq!(
        warnings,
        [
            r#"wildcard GlobalRole "platform-admin""#,
            r#"wildcard GlobalRole "platform-admin""#,
            r#"wildcard WorkspaceRole "ws1-admin""#,
        ]
    );
}
