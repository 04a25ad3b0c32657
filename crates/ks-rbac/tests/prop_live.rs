//! Differential tests of [`LivePolicy`]: after every batch of random
//! changes (upserts and deletes of all nine kinds, Namespace labels coming
//! and going, roles changing rules, labels and aggregation annotations), the
//! published snapshot answers every request exactly as a fresh
//! `PolicySnapshot::build` and the reference walk do on `live.policy()`,
//! reasons included; and a snapshot handed out earlier never changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{
    BINDING_NAMES, NAMESPACES, Req, WORKSPACES, add_binding, add_role, binding, policy, request,
    role,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{
    AggregationRule, ClusterRole, ClusterRoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use ks_rbac::{
    Attributes, Change, Groups, LivePolicy, Object, ObjectKind, Policy, PolicySnapshot,
    ReferenceAuthorizer,
};
use ks_request_info::ResourceScope;
use ks_types::iam::{GlobalRole, GlobalRoleBinding};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

/// The one object of a policy holding one.
fn only(p: Policy) -> Object {
    let mut objects = all_objects(p);
    assert_eq!(objects.len(), 1);
    objects.pop().unwrap()
}

/// Every object of a policy.
fn all_objects(p: Policy) -> Vec<Object> {
    let mut objects: Vec<Object> = Vec::new();
    objects.extend(p.roles.into_iter().map(Object::Role));
    objects.extend(p.cluster_roles.into_iter().map(Object::ClusterRole));
    objects.extend(p.global_roles.into_iter().map(Object::GlobalRole));
    objects.extend(p.workspace_roles.into_iter().map(Object::WorkspaceRole));
    objects.extend(p.role_bindings.into_iter().map(Object::RoleBinding));
    objects.extend((p.cluster_role_bindings.into_iter()).map(Object::ClusterRoleBinding));
    objects.extend(
        p.global_role_bindings
            .into_iter()
            .map(Object::GlobalRoleBinding),
    );
    objects.extend((p.workspace_role_bindings.into_iter()).map(Object::WorkspaceRoleBinding));
    objects.extend(p.namespaces.into_iter().map(Object::Namespace));
    objects
}

fn metadata_mut(object: &mut Object) -> &mut ObjectMeta {
    match object {
        Object::Role(o) => &mut o.metadata,
        Object::ClusterRole(o) => &mut o.metadata,
        Object::RoleBinding(o) => &mut o.metadata,
        Object::ClusterRoleBinding(o) => &mut o.metadata,
        Object::GlobalRole(o) => &mut o.metadata,
        Object::GlobalRoleBinding(o) => &mut o.metadata,
        Object::WorkspaceRole(o) => &mut o.metadata,
        Object::WorkspaceRoleBinding(o) => &mut o.metadata,
        Object::Namespace(o) => &mut o.metadata,
    }
}

fn namespace_object(name: &str, workspace: Option<&str>) -> Object {
    Object::Namespace(Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: workspace.map(|w| {
                BTreeMap::from([(ks_types::meta::WORKSPACE_LABEL.to_owned(), w.to_owned())])
            }),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    })
}

fn change() -> impl Strategy<Value = Change> {
    // A third role name (and annotations naming it) makes aggregation
    // chains two deep: a change two roles away must show.
    let upsert_role = (
        role(),
        prop::bool::weighted(0.3),
        prop::option::weighted(0.3, subsequence(&["r0", "r1", "r2"][..], 0..=3)),
    )
        .prop_map(|(r, third, names)| {
            let mut p = Policy::new();
            add_role(&mut p, &r);
            let mut object = only(p);
            let meta = metadata_mut(&mut object);
            if third {
                meta.name = Some("r2".into());
            }
            if let Some(names) = names {
                ks_types::meta::set_aggregation_roles(meta, &names);
            }
            Change::Upsert(object)
        });
    let upsert_binding = (binding(), prop::bool::weighted(0.25)).prop_map(|(b, third)| {
        let mut p = Policy::new();
        add_binding(&mut p, &b);
        if third {
            for r in p
                .role_bindings
                .iter_mut()
                .map(|b| &mut b.role_ref)
                .chain(p.cluster_role_bindings.iter_mut().map(|b| &mut b.role_ref))
                .chain(p.global_role_bindings.iter_mut().map(|b| &mut b.role_ref))
                .chain(
                    p.workspace_role_bindings
                        .iter_mut()
                        .map(|b| &mut b.role_ref),
                )
            {
                r.name = "r2".into();
            }
        }
        Change::Upsert(only(p))
    });
    // Labels come, change, go (an empty value is no workspace).
    let upsert_namespace = (
        select(NAMESPACES),
        prop::option::weighted(0.7, select(&["w0", "w1", ""][..])),
    )
        .prop_map(|(n, w)| Change::Upsert(namespace_object(n, w)));
    let delete = (
        select(&ObjectKind::ALL[..]),
        select(&["n0", "n1", "n2", ""][..]),
        0..4usize,
    )
        .prop_map(|(kind, namespace, i)| {
            let names: &[&str] = match kind {
                ObjectKind::Namespace => NAMESPACES,
                ObjectKind::RoleBinding
                | ObjectKind::ClusterRoleBinding
                | ObjectKind::GlobalRoleBinding
                | ObjectKind::WorkspaceRoleBinding => BINDING_NAMES,
                _ => &["r0", "r1", "r2"],
            };
            Change::Delete {
                kind,
                namespace: namespace.into(),
                name: names[i % names.len()].into(),
            }
        });
    // A relist: every object of one kind, from a fresh random policy.
    let replace = (select(&ObjectKind::ALL[..]), policy()).prop_map(|(kind, p)| Change::Replace {
        kind,
        objects: all_objects(p)
            .into_iter()
            .filter(|o| o.kind() == kind)
            .collect(),
    });
    prop_oneof![
        3 => upsert_role,
        4 => upsert_binding,
        2 => upsert_namespace,
        3 => delete,
        1 => replace,
    ]
}

/// The keys (namespace, name) of the objects of `kind` in `objects`.
fn keys_of(objects: &[Object], kind: ObjectKind) -> std::collections::BTreeSet<(String, String)> {
    (objects.iter())
        .filter(|o| o.kind() == kind)
        .map(|o| {
            let meta = o.metadata();
            let namespace = if kind.is_namespaced() {
                meta.namespace.clone().unwrap_or_default()
            } else {
                String::new()
            };
            (namespace, meta.name.clone().unwrap_or_default())
        })
        .collect()
}

/// A batch of changes, and whether to force a full rebuild after it.
fn batches() -> impl Strategy<Value = Vec<(Vec<Change>, bool)>> {
    prop::collection::vec(
        (
            prop::collection::vec(change(), 1..5),
            prop::bool::weighted(0.1),
        ),
        1..6,
    )
}

const SCOPES: [Option<ResourceScope>; 5] = [
    None,
    Some(ResourceScope::Global),
    Some(ResourceScope::Cluster),
    Some(ResourceScope::Workspace),
    Some(ResourceScope::Namespace),
];

/// Requests the policy's rules would allow, for the users and groups the
/// generators bind, at every scope, in every namespace and workspace.
fn matching_requests(policy: &Policy, each: &mut dyn FnMut(&Attributes<'_>)) {
    let rules = (policy.roles.iter().flat_map(|r| r.rules.iter().flatten()))
        .chain(
            policy
                .cluster_roles
                .iter()
                .flat_map(|r| r.rules.iter().flatten()),
        )
        .chain(policy.global_roles.iter().flat_map(|r| r.rules.iter()))
        .chain(policy.workspace_roles.iter().flat_map(|r| r.rules.iter()));
    let first = |v: &Option<Vec<String>>| -> String {
        v.as_deref()
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    };
    let groups = ["g0", "system:authenticated"];
    for rule in rules.take(8) {
        let resource = first(&rule.resources);
        let (resource, subresource) = resource.split_once('/').unwrap_or((&resource, ""));
        let api_group = first(&rule.api_groups);
        let name = first(&rule.resource_names);
        let path = first(&rule.non_resource_urls);
        let verb = rule.verbs.first().cloned().unwrap_or_default();
        for user in ["alice", "system:serviceaccount:n0:sa"] {
            for scope in SCOPES {
                let places: Vec<(&str, &str)> = match scope {
                    Some(ResourceScope::Namespace) => NAMESPACES.iter().map(|n| (*n, "")).collect(),
                    Some(ResourceScope::Workspace) => WORKSPACES.iter().map(|w| ("", *w)).collect(),
                    _ => vec![("", "")],
                };
                for (namespace, workspace) in places {
                    each(&Attributes {
                        user,
                        groups: Groups::Strs(&groups),
                        verb: &verb,
                        api_group: &api_group,
                        resource,
                        subresource,
                        name: &name,
                        namespace,
                        workspace,
                        resource_scope: scope,
                        is_resource_request: rule.non_resource_urls.is_none(),
                        path: &path,
                        ..Attributes::default()
                    });
                }
            }
        }
    }
}

/// Every way `live`'s snapshot must agree with a fresh build and the
/// reference, for `attrs`.
fn check(
    published: &PolicySnapshot,
    built: &PolicySnapshot,
    reference: &ReferenceAuthorizer<'_>,
    attrs: &Attributes<'_>,
) -> Result<(), TestCaseError> {
    let want = reference.authorize(attrs);
    let got = published.authorize(attrs);
    prop_assert_eq!(&got, &want, "{:?}", attrs);
    prop_assert_eq!(&built.authorize(attrs), &want, "{:?}", attrs);
    let (d1, d2) = (published.decide(attrs), built.decide(attrs));
    prop_assert_eq!(
        published.allowing_rule(d1),
        built.allowing_rule(d2),
        "{:?}",
        attrs
    );
    prop_assert_eq!(&published.authorize_by_walk(attrs), &want, "{:?}", attrs);
    prop_assert_eq!(
        published.who_can(attrs),
        built.who_can(attrs),
        "{:?}",
        attrs
    );
    prop_assert_eq!(
        published.rules_for(attrs),
        built.rules_for(attrs),
        "{:?}",
        attrs
    );
    Ok(())
}

fn check_all(
    published: &PolicySnapshot,
    policy: &Policy,
    requests: &[Req],
) -> Result<(), TestCaseError> {
    let built = PolicySnapshot::build(policy);
    let reference = ReferenceAuthorizer::new(policy);
    prop_assert_eq!(published.warnings(), built.warnings());
    prop_assert_eq!(published.binding_count(), built.binding_count());
    for req in requests {
        for scope in SCOPES {
            let attrs = Attributes {
                resource_scope: scope,
                ..req.attrs()
            };
            check(published, &built, &reference, &attrs)?;
        }
    }
    let mut result = Ok(());
    matching_requests(policy, &mut |attrs| {
        if result.is_ok() {
            result = check(published, &built, &reference, attrs);
        }
    });
    result
}

const CHAIN_NAMES: &[&str] = &["r0", "r1", "r2", "r3"];

/// A role of `kind` (ClusterRole or GlobalRole) for the aggregation tests:
/// four names, annotations naming any of them, labels and selectors.
fn chain_role(kind: ObjectKind) -> impl Strategy<Value = Object> {
    (
        select(CHAIN_NAMES),
        prop::collection::vec(common::rule(), 0..3),
        prop::option::weighted(0.6, subsequence(CHAIN_NAMES, 0..=2)),
        prop::option::of(select(&["a", "b"][..])),
        prop::option::weighted(0.4, select(&["a", "b", "-bad"][..])),
    )
        .prop_map(move |(name, rules, names, label, selects)| {
            let mut meta = ObjectMeta {
                name: Some(name.into()),
                labels: label.map(|l| BTreeMap::from([("agg".to_owned(), l.to_owned())])),
                ..ObjectMeta::default()
            };
            if let Some(names) = names {
                ks_types::meta::set_aggregation_roles(&mut meta, &names);
            }
            match kind {
                ObjectKind::ClusterRole => Object::ClusterRole(ClusterRole {
                    metadata: meta,
                    rules: Some(rules),
                    aggregation_rule: selects.map(|v| AggregationRule {
                        cluster_role_selectors: Some(vec![LabelSelector {
                            match_labels: Some(BTreeMap::from([("agg".to_owned(), v.to_owned())])),
                            match_expressions: None,
                        }]),
                    }),
                }),
                _ => Object::GlobalRole(GlobalRole {
                    metadata: meta,
                    rules,
                }),
            }
        })
}

/// Every role name bound to alice at cluster and global scope.
fn chain_bindings() -> Vec<Object> {
    let subject = Subject {
        kind: "User".into(),
        name: "alice".into(),
        ..Subject::default()
    };
    let mut out = Vec::new();
    for (i, name) in CHAIN_NAMES.iter().enumerate() {
        let meta = ObjectMeta {
            name: Some(format!("b{i}")),
            ..ObjectMeta::default()
        };
        out.push(Object::ClusterRoleBinding(ClusterRoleBinding {
            metadata: meta.clone(),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: (*name).into(),
            },
            subjects: Some(vec![subject.clone()]),
        }));
        out.push(Object::GlobalRoleBinding(GlobalRoleBinding {
            metadata: meta,
            role_ref: RoleRef {
                api_group: "iam.kubesphere.io".into(),
                kind: "GlobalRole".into(),
                name: (*name).into(),
            },
            subjects: vec![subject.clone()],
        }));
    }
    out
}

fn chain_change(kind: ObjectKind) -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => chain_role(kind).prop_map(Change::Upsert),
        1 => select(CHAIN_NAMES).prop_map(move |name| Change::Delete {
            kind,
            namespace: String::new(),
            name: name.into(),
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn prop_live_policy_follows_aggregation_chains(
        (initial, batches) in select(&[ObjectKind::ClusterRole, ObjectKind::GlobalRole][..])
            .prop_flat_map(|kind| (
                prop::collection::vec(chain_role(kind), 0..6),
                prop::collection::vec(prop::collection::vec(chain_change(kind), 1..3), 1..8),
            )),
        requests in prop::collection::vec(request(), 1..4),
    ) {
        let mut live = LivePolicy::new(Policy::new());
        live.apply(initial.into_iter().chain(chain_bindings()).map(Change::Upsert));
        check_all(&live.snapshot(), live.policy(), &requests)?;
        for batch in batches {
            live.apply(batch);
            check_all(&live.snapshot(), live.policy(), &requests)?;
        }
    }

    #[test]
    fn prop_live_policy_agrees_with_build_and_reference(
        initial in policy(),
        batches in batches(),
        requests in prop::collection::vec(request(), 1..8),
    ) {
        let mut live = LivePolicy::new(initial.clone());
        // Keeping the last of duplicate keys changes no answer.
        check_all(&live.snapshot(), &initial, &requests)?;
        check_all(&live.snapshot(), live.policy(), &requests)?;
        for (batch, rebuild) in batches {
            let batch_len = batch.len();
            let before = live.snapshot();
            let policy_before = live.policy().clone();
            // What a relist leaves: exactly the listed keys of its kind.
            let replaced: Vec<(ObjectKind, std::collections::BTreeSet<(String, String)>)> = (batch.iter())
                .filter_map(|c| match c {
                    Change::Replace { kind, objects } => Some((*kind, keys_of(objects, *kind))),
                    _ => None,
                })
                .collect();
            let last_replace = batch.iter().rposition(|c| matches!(c, Change::Replace { .. }));
            live.apply(batch);
            if let (Some(i), Some((kind, keys))) = (last_replace, replaced.last())
                && i + 1 == batch_len
            {
                prop_assert_eq!(&keys_of(&all_objects(live.policy().clone()), *kind), keys);
            }
            if rebuild {
                live.rebuild();
            }
            check_all(&live.snapshot(), live.policy(), &requests)?;
            prop_assert_eq!(&*live.current().get() as *const _, &*live.snapshot() as *const _);
            // A snapshot handed out before still answers for the policy it
            // was published for.
            check_all(&before, &policy_before, &requests)?;
        }
    }

    #[test]
    fn prop_upserting_what_is_there_changes_nothing(initial in policy()) {
        let mut live = LivePolicy::new(initial);
        let before = live.snapshot();
        let p = live.policy().clone();
        let objects = (p.roles.into_iter().map(Object::Role))
            .chain(p.cluster_roles.into_iter().map(Object::ClusterRole))
            .chain(p.role_bindings.into_iter().map(Object::RoleBinding))
            .chain(p.namespaces.into_iter().map(Object::Namespace));
        let policy = live.policy().clone();
        live.apply(objects.map(Change::Upsert));
        // Nothing changed, so nothing was published.
        prop_assert!(std::sync::Arc::ptr_eq(&before, &live.snapshot()));
        prop_assert_eq!(live.policy(), &policy);
    }
}
