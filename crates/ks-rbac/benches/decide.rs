//! Decision latency and snapshot build time on the synthetic policy of
//! issue 4 (`ks_rbac::synthetic`).
//!
//! Workload: `Shape::ISSUE` (100k users, 2k groups, 1k workspaces, 10k
//! namespaces, 100 ClusterRoles, 1k Roles, 100k RoleBindings, 5k
//! WorkspaceRoleBindings, 1k ClusterRoleBindings, 100 GlobalRoleBindings)
//! and the same shape scaled down to 10k and 1k RoleBindings. For each:
//! - `build/{scale}`: `PolicySnapshot::build` from the in-memory policy;
//! - `decide/{scale}/{scope}/{allow|deny}`: one `PolicySnapshot::decide`
//!   of a probe request with a known answer (`synthetic::probes`).
//!
//! Run: `cargo bench -p ks-rbac --bench decide`. Set `KS_RBAC_BENCH_SCALES`
//! to a comma-separated list of divisors (default `100,10,1`) to pick
//! scales, e.g. `100` for a quick run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ks_rbac::PolicySnapshot;
use ks_rbac::synthetic::{Shape, generate, probes};

fn scales() -> Vec<usize> {
    std::env::var("KS_RBAC_BENCH_SCALES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 10, 1])
}

fn bench(c: &mut Criterion) {
    for factor in scales() {
        let shape = Shape::ISSUE.scaled_down(factor);
        let label = format!("{}k", shape.role_bindings / 1000);
        let policy = generate(&shape);
        let snapshot = PolicySnapshot::build(&policy);
        eprintln!(
            "{label}: {} bindings, {} strings, about {} MiB",
            snapshot.binding_count(),
            snapshot.string_count(),
            snapshot.approximate_memory() / (1024 * 1024)
        );

        let mut group = c.benchmark_group(format!("build/{label}"));
        group.sample_size(10);
        group.bench_function("snapshot", |b| {
            b.iter(|| PolicySnapshot::build(black_box(&policy)))
        });
        group.finish();

        let mut group = c.benchmark_group(format!("decide/{label}"));
        for probe in probes(&shape) {
            let attrs = probe
                .attributes
                .as_attributes()
                .expect("probe scopes are valid");
            assert_eq!(
                snapshot.decide(&attrs).is_allowed(),
                probe.allowed,
                "{}",
                probe.label
            );
            group.bench_function(probe.label, |b| {
                b.iter(|| snapshot.decide(black_box(&attrs)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
