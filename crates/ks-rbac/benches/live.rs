//! Live policy updates on the synthetic policy of issue 4
//! (`ks_rbac::synthetic`, `Shape::ISSUE`: 100k RoleBindings, 5k
//! WorkspaceRoleBindings, 1k ClusterRoleBindings, 100 GlobalRoleBindings,
//! 10k namespaces in 1k workspaces, 1k Roles, 100 ClusterRoles).
//!
//! - `apply/{scale}/{change}`: one `LivePolicy::apply` of one change, to
//!   publication (the new snapshot readable by requests):
//!   - `rolebinding-create`: a new RoleBinding in an existing namespace
//!     (then deleted, untimed);
//!   - `rolebinding-delete`: an existing RoleBinding from the middle of
//!     the policy (then added back, untimed; it goes last);
//!   - `rolebinding-update`: an existing RoleBinding's subjects change;
//!   - `workspacerolebinding-create`: a new WorkspaceRoleBinding (then
//!     deleted, untimed);
//!   - `role-rules`: a Role's rules change (10 RoleBindings refer to it);
//!   - `clusterrole-rules`: a ClusterRole's rules change (about 900
//!     RoleBindings and 10 ClusterRoleBindings refer to it);
//!   - `namespace-label`: a Namespace moves to another workspace;
//! - `decide/{scale}/{after-1000-applies|fresh}/{probe}`: one `decide` of
//!   the `synthetic::probes` requests on the snapshot published after 1,000
//!   mixed applies (new users and bindings, updates, relabelled namespaces,
//!   changed roles), and on `PolicySnapshot::build` of the same policy.
//!
//! Setting up also times those 1,000 applies one by one and prints their
//! median, p99 and maximum.
//!
//! Run: `cargo bench -p ks-rbac --bench live`. `KS_RBAC_BENCH_SCALES` sets
//! the divisors of the shape (default `1`: 100k bindings only).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use ks_rbac::synthetic::{Shape, generate, probes};
use ks_rbac::{Change, LivePolicy, Object, ObjectKind, PolicySnapshot};
use ks_types::iam::WorkspaceRoleBinding;
use ks_types::meta::WORKSPACE_LABEL;

fn scales() -> Vec<usize> {
    std::env::var("KS_RBAC_BENCH_SCALES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1])
}

fn meta(name: String, namespace: Option<String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace,
        ..ObjectMeta::default()
    }
}

fn user(name: String) -> Subject {
    Subject {
        api_group: Some("rbac.authorization.k8s.io".into()),
        kind: "User".into(),
        name,
        namespace: None,
    }
}

fn role_binding(name: String, ns: usize, user_name: String, role: &str) -> Object {
    Object::RoleBinding(RoleBinding {
        metadata: meta(name, Some(format!("ns-{ns}"))),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: role.into(),
        },
        subjects: Some(vec![user(user_name)]),
    })
}

fn workspace_role_binding(name: String, ws: usize, user_name: String) -> Object {
    Object::WorkspaceRoleBinding(WorkspaceRoleBinding {
        metadata: ObjectMeta {
            labels: Some(BTreeMap::from([(
                WORKSPACE_LABEL.to_owned(),
                format!("ws-{ws}"),
            )])),
            ..meta(name, None)
        },
        subjects: vec![user(user_name)],
        role_ref: RoleRef {
            api_group: "iam.kubesphere.io".into(),
            kind: "WorkspaceRole".into(),
            name: format!("ws-{ws}-viewer"),
        },
    })
}

fn namespace(ns: usize, ws: usize) -> Object {
    Object::Namespace(Namespace {
        metadata: ObjectMeta {
            labels: Some(BTreeMap::from([(
                WORKSPACE_LABEL.to_owned(),
                format!("ws-{ws}"),
            )])),
            ..meta(format!("ns-{ns}"), None)
        },
        ..Namespace::default()
    })
}

fn rules(verbs: &[&str], resource: &str) -> Vec<PolicyRule> {
    vec![PolicyRule {
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        api_groups: Some(vec![String::new()]),
        resources: Some(vec![resource.to_owned()]),
        ..PolicyRule::default()
    }]
}

fn role(r: usize, verbs: &[&str]) -> Object {
    Object::Role(Role {
        metadata: meta(format!("role-{r}"), Some(format!("ns-{r}"))),
        rules: Some(rules(verbs, "configmaps")),
    })
}

fn cluster_role(c: usize, verbs: &[&str], policy: &ks_rbac::Policy) -> Object {
    let mut role = policy.cluster_roles[c].clone();
    role.rules = Some(rules(verbs, "pods"));
    Object::ClusterRole(role)
}

fn delete(kind: ObjectKind, namespace: &str, name: &str) -> Change {
    Change::Delete {
        kind,
        namespace: namespace.into(),
        name: name.into(),
    }
}

/// Times `timed` only, `iters` times, running `untimed` after each.
fn alternate(
    live: &mut LivePolicy,
    iters: u64,
    mut timed: impl FnMut(u64) -> Vec<Change>,
    mut untimed: impl FnMut(u64) -> Vec<Change>,
) -> Duration {
    let mut total = Duration::ZERO;
    for i in 0..iters {
        let changes = timed(i);
        let start = Instant::now();
        live.apply(changes);
        total += start.elapsed();
        live.apply(untimed(i));
    }
    total
}

/// 1,000 mixed changes that leave every probe's answer as it was: new
/// users bound in existing namespaces (new strings), updates of existing
/// RoleBindings, namespaces moving between workspaces, changed Roles.
fn mixed_changes(shape: &Shape) -> Vec<Change> {
    let ns = shape.namespaces;
    (0..1000usize)
        .map(|i| {
            let object = match i % 10 {
                0..=5 => role_binding(
                    format!("live-rb-{i}"),
                    100 + (i * 7) % (ns - 100).max(1),
                    format!("live-user-{i}"),
                    "cr-1",
                ),
                6 | 7 => {
                    let k = 1 + (i * 13) % (shape.role_bindings / 2 - 1).max(1);
                    role_binding(format!("rb-{k}"), k % ns, format!("user-{}", i + 1), "cr-2")
                }
                8 => {
                    let n = 100 + (i * 31) % (ns - 100).max(1);
                    namespace(n, (n + 1) % shape.workspaces)
                }
                _ => role(100 + i % (shape.roles - 100).max(1), &["get", "list"]),
            };
            Change::Upsert(object)
        })
        .collect()
}

/// The objects of `kind` in `policy`.
fn objects_of(policy: &ks_rbac::Policy, kind: ObjectKind) -> Vec<Object> {
    let p = policy.clone();
    match kind {
        ObjectKind::Role => p.roles.into_iter().map(Object::Role).collect(),
        ObjectKind::ClusterRole => p
            .cluster_roles
            .into_iter()
            .map(Object::ClusterRole)
            .collect(),
        ObjectKind::RoleBinding => p
            .role_bindings
            .into_iter()
            .map(Object::RoleBinding)
            .collect(),
        ObjectKind::ClusterRoleBinding => (p.cluster_role_bindings.into_iter())
            .map(Object::ClusterRoleBinding)
            .collect(),
        ObjectKind::GlobalRole => p.global_roles.into_iter().map(Object::GlobalRole).collect(),
        ObjectKind::GlobalRoleBinding => (p.global_role_bindings.into_iter())
            .map(Object::GlobalRoleBinding)
            .collect(),
        ObjectKind::WorkspaceRole => (p.workspace_roles.into_iter())
            .map(Object::WorkspaceRole)
            .collect(),
        ObjectKind::WorkspaceRoleBinding => (p.workspace_role_bindings.into_iter())
            .map(Object::WorkspaceRoleBinding)
            .collect(),
        ObjectKind::Namespace => p.namespaces.into_iter().map(Object::Namespace).collect(),
    }
}

fn bench(c: &mut Criterion) {
    for factor in scales() {
        let shape = Shape::ISSUE.scaled_down(factor);
        let label = format!("{}k", shape.role_bindings / 1000);
        let policy = generate(&shape);
        let start = Instant::now();
        let mut live = LivePolicy::new(policy.clone());
        eprintln!(
            "{label}: LivePolicy::new in {:?}, {} bindings",
            start.elapsed(),
            live.snapshot().binding_count()
        );
        // A watcher that starts empty and receives each kind's first list.
        let lists = ObjectKind::ALL.map(|kind| Change::Replace {
            kind,
            objects: objects_of(&policy, kind),
        });
        let start = Instant::now();
        let mut relisted = LivePolicy::new(ks_rbac::Policy::new());
        relisted.apply(lists);
        eprintln!(
            "{label}: LivePolicy::new(empty) + apply(Replace of each kind) in {:?}, {} bindings",
            start.elapsed(),
            relisted.snapshot().binding_count()
        );
        drop(relisted);
        let mid = shape.role_bindings / 2 + 1;

        let mut group = c.benchmark_group(format!("apply/{label}"));
        group.sample_size(30);
        group.bench_function("rolebinding-create", |b| {
            b.iter_custom(|iters| {
                alternate(
                    &mut live,
                    iters,
                    |i| {
                        let name = format!("bench-rb-{i}");
                        vec![Change::Upsert(role_binding(
                            name,
                            42,
                            "bench-user".into(),
                            "cr-3",
                        ))]
                    },
                    |i| {
                        vec![delete(
                            ObjectKind::RoleBinding,
                            "ns-42",
                            &format!("bench-rb-{i}"),
                        )]
                    },
                )
            })
        });
        let mut round = 0usize;
        group.bench_function("rolebinding-delete", |b| {
            b.iter_custom(|iters| {
                round += 1;
                let victims: Vec<usize> = (0..iters as usize)
                    .map(|i| (mid + 7919 * (i + 1000 * round)) % shape.role_bindings)
                    .collect();
                // Generated RoleBinding k is `rb-k`, at index k.
                let found: Vec<Object> = (victims.iter())
                    .map(|&k| Object::RoleBinding(policy.role_bindings[k].clone()))
                    .collect();
                alternate(
                    &mut live,
                    iters,
                    |i| vec![Change::delete_of(&found[i as usize])],
                    |i| vec![Change::Upsert(found[i as usize].clone())],
                )
            })
        });
        group.bench_function("rolebinding-update", |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                let ns = mid % shape.namespaces;
                let object =
                    role_binding(format!("rb-{mid}"), ns, format!("user-{}", i % 2), "cr-4");
                live.apply([Change::Upsert(object)]);
            })
        });
        group.bench_function("workspacerolebinding-create", |b| {
            b.iter_custom(|iters| {
                alternate(
                    &mut live,
                    iters,
                    |i| {
                        let name = format!("bench-wrb-{i}");
                        vec![Change::Upsert(workspace_role_binding(
                            name,
                            7,
                            "bench-user".into(),
                        ))]
                    },
                    |i| {
                        let name = format!("bench-wrb-{i}");
                        vec![delete(ObjectKind::WorkspaceRoleBinding, "", &name)]
                    },
                )
            })
        });
        group.bench_function("role-rules", |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                let verbs: &[&str] = if i % 2 == 0 {
                    &["get"]
                } else {
                    &["get", "list"]
                };
                live.apply([Change::Upsert(role(42, verbs))]);
            })
        });
        group.bench_function("clusterrole-rules", |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                let verbs: &[&str] = if i % 2 == 0 {
                    &["get"]
                } else {
                    &["get", "list"]
                };
                live.apply([Change::Upsert(cluster_role(7, verbs, &policy))]);
            })
        });
        group.bench_function("namespace-label", |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                live.apply([Change::Upsert(namespace(4242 % shape.namespaces, i % 2))]);
            })
        });
        group.finish();

        // 1,000 applies, one by one, on a fresh LivePolicy.
        let mut live = LivePolicy::new(policy.clone());
        let mut times: Vec<Duration> = mixed_changes(&shape)
            .into_iter()
            .map(|change| {
                let start = Instant::now();
                live.apply([change]);
                start.elapsed()
            })
            .collect();
        times.sort_unstable();
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        eprintln!(
            "{label}: 1,000 mixed applies: median {:?}, p99 {:?}, max {:?}",
            at(0.5),
            at(0.99),
            at(1.0)
        );
        let published = live.snapshot();
        let fresh = PolicySnapshot::build(live.policy());
        let mut group = c.benchmark_group(format!("decide/{label}"));
        for probe in probes(&shape) {
            let attrs = probe
                .attributes
                .as_attributes()
                .expect("probe scopes are valid");
            for (name, snapshot) in [("after-1000-applies", &*published), ("fresh", &fresh)] {
                let decision = snapshot.decide(&attrs);
                assert_eq!(decision.is_allowed(), probe.allowed, "{}", probe.label);
                assert_eq!(
                    snapshot.explain(&attrs, decision),
                    fresh.explain(&attrs, fresh.decide(&attrs))
                );
                group.bench_function(format!("{name}/{}", probe.label), |b| {
                    b.iter(|| snapshot.decide(black_box(&attrs)))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
