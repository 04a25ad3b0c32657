//! `PolicySnapshot::decide` allocates nothing, on the allow path and on the
//! deny path, at every scope, with or without the user's extra attributes,
//! on a fresh build and on a snapshot a `LivePolicy` published.
//! Counted with a counting global allocator; this file is its own test
//! binary and holds one test, so nothing else allocates while it counts (the
//! minimum over several runs guards against stray harness allocations).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::System;
use std::collections::BTreeMap;
use std::hint::black_box;

use ks_rbac::{Attributes, Change, Extra, Groups, LivePolicy, Object, Policy, PolicySnapshot};
use ks_request_info::ResourceScope;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn allocations(snapshot: &PolicySnapshot, attrs: &Attributes<'_>) -> (usize, bool) {
    let mut allowed = false;
    let n = (0..5)
        .map(|_| {
            let region = Region::new(GLOBAL);
            let decision = black_box(snapshot.decide(black_box(attrs)));
            let n = region.change().allocations;
            allowed = decision.is_allowed();
            n
        })
        .min()
        .unwrap_or(usize::MAX);
    (n, allowed)
}

/// Objects a [`LivePolicy`] adds to the test policy.
const ADDED: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: new-pods-reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: v1
kind: Namespace
metadata: {name: new-ns, labels: {kubesphere.io/workspace: new-ws}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: newcomer-reads, namespace: new-ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: new-pods-reader}
subjects: [{kind: User, name: newcomer}]
"#;

#[test]
fn decide_allocates_nothing() {
    let (policy, _) = Policy::from_yaml("kubesphere.yaml", include_str!("data/kubesphere.yaml"));
    let snapshot = PolicySnapshot::build(&policy);
    let groups = ["devs", "system:authenticated", "unknown-group"];
    let base = Attributes {
        groups: Groups::Strs(&groups),
        verb: "get",
        api_group: "",
        resource: "pods",
        is_resource_request: true,
        ..Attributes::default()
    };
    // Extra values that name a group and a user the policy binds: ignored.
    let extra_pairs = [("scopes", &["devs", "admin"][..]), ("empty", &[][..])];
    let extra_map: BTreeMap<String, Vec<String>> = extra_pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect();
    let cases = [
        // (attrs, expected allowed)
        (
            Attributes {
                user: "admin",
                resource_scope: Some(ResourceScope::Global),
                ..base
            },
            true,
        ),
        (
            Attributes {
                user: "carol",
                namespace: "ns2",
                resource_scope: Some(ResourceScope::Namespace),
                ..base
            },
            true,
        ),
        (
            Attributes {
                user: "carol",
                namespace: "ns2",
                subresource: "log",
                resource_scope: Some(ResourceScope::Namespace),
                ..base
            },
            true,
        ),
        (
            Attributes {
                user: "zed",
                namespace: "ns1",
                resource_scope: Some(ResourceScope::Namespace),
                ..base
            },
            true,
        ),
        (
            Attributes {
                user: "alice",
                workspace: "ws1",
                resource_scope: Some(ResourceScope::Workspace),
                ..base
            },
            true,
        ),
        (
            Attributes {
                user: "erin",
                subresource: "status",
                resource_scope: Some(ResourceScope::Cluster),
                ..base
            },
            true,
        ),
        (
            Attributes {
                user: "x",
                is_resource_request: false,
                path: "/api/v1",
                ..base
            },
            true,
        ),
        (
            Attributes {
                user: "carol",
                namespace: "ns2",
                name: "cm1",
                resource: "configmaps",
                resource_scope: Some(ResourceScope::Namespace),
                ..base
            },
            true,
        ),
        (
            Attributes {
                user: "nobody",
                groups: Groups::Strs(&["unknown-group"]),
                namespace: "ns1",
                resource_scope: Some(ResourceScope::Namespace),
                ..base
            },
            false,
        ),
        (
            Attributes {
                user: "dave",
                namespace: "ns2",
                resource_scope: Some(ResourceScope::Namespace),
                ..base
            },
            false,
        ),
        (
            Attributes {
                user: "carol",
                namespace: "ns2",
                verb: "delete",
                subresource: "never-seen",
                resource_scope: Some(ResourceScope::Namespace),
                ..base
            },
            false,
        ),
        (
            Attributes {
                user: "bob",
                verb: "delete",
                resource_scope: Some(ResourceScope::Global),
                ..base
            },
            false,
        ),
        (
            Attributes {
                user: "x",
                is_resource_request: false,
                path: "/nope",
                ..base
            },
            false,
        ),
        (
            Attributes {
                user: "carol",
                extra: Extra::Strs(&extra_pairs),
                namespace: "ns2",
                resource_scope: Some(ResourceScope::Namespace),
                ..base
            },
            true,
        ),
        (
            Attributes {
                user: "carol",
                extra: Extra::Map(&extra_map),
                namespace: "ns2",
                resource_scope: Some(ResourceScope::Namespace),
                ..base
            },
            true,
        ),
        (
            Attributes {
                user: "nobody",
                extra: Extra::Map(&extra_map),
                resource_scope: Some(ResourceScope::Global),
                ..base
            },
            false,
        ),
    ];
    for (attrs, want) in &cases {
        let (n, allowed) = allocations(&snapshot, attrs);
        assert_eq!(allowed, *want, "{attrs:?}");
        assert_eq!(n, 0, "{attrs:?} allocated");
    }

    // The same on a snapshot a LivePolicy published after changes: new
    // strings (in the delta table), a new namespace shard, a relabelled
    // namespace, a binding updated in place, deleted and added back.
    let mut live = LivePolicy::new(policy.clone());
    let (added, _) = Policy::from_yaml("added", ADDED);
    let added: Vec<Change> = (added.cluster_roles.into_iter().map(Object::ClusterRole))
        .chain(added.namespaces.into_iter().map(Object::Namespace))
        .chain(added.role_bindings.into_iter().map(Object::RoleBinding))
        .map(Change::Upsert)
        .collect();
    live.apply(added.clone());
    let mut updated = policy.role_bindings[0].clone();
    updated.metadata.labels = Some([("updated".to_owned(), "yes".to_owned())].into());
    live.apply([Change::Upsert(Object::RoleBinding(updated))]);
    live.apply(added.iter().map(|c| match c {
        Change::Upsert(o) => Change::delete_of(o),
        other => other.clone(),
    }));
    live.apply(added);
    let published = live.snapshot();
    let newcomer = Attributes {
        user: "newcomer",
        namespace: "new-ns",
        resource_scope: Some(ResourceScope::Namespace),
        ..base
    };
    let live_cases = [
        (newcomer, true),
        (
            Attributes {
                verb: "delete",
                ..newcomer
            },
            false,
        ),
        (
            Attributes {
                user: "carol",
                ..newcomer
            },
            false,
        ),
    ];
    for (attrs, want) in cases.iter().chain(&live_cases) {
        let (n, allowed) = allocations(&published, attrs);
        assert_eq!(allowed, *want, "live: {attrs:?}");
        assert_eq!(n, 0, "live: {attrs:?} allocated");
    }
    // Explaining allocates: proof that the counter counts.
    let region = Region::new(GLOBAL);
    let reason = snapshot.explain(&cases[0].0, snapshot.decide(&cases[0].0));
    assert!(region.change().allocations > 0 && !reason.is_empty());
}
