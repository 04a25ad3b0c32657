//! The filter chain's own cost, in process (no HTTP), on ks-rbac's
//! synthetic 100k-binding policy loaded into a server's store:
//! - `authn/bearer`: authenticating an `Authorization: Bearer` access
//!   token (HMAC check, claims, revocation and user lookup);
//! - `authz/{probe}`: the authorization decision of one request as the
//!   filter makes it (the reason is rendered later, for audit);
//! - `authz-with-reason/{probe}`: the same with the reason rendered;
//! - `authn+authz/namespace-allow`: both, as a request pays them;
//! - `policy-change/rolebinding`: from writing a RoleBinding to the store
//!   until the authorizer decides with it (the median, p99 and maximum of
//!   every change timed, warm-up included, are printed at the end).
//!
//! Run: `cargo bench -p ks-apiserver --bench security`; set
//! `KS_SECURITY_BENCH_SCALE` to a divisor of the policy (default 1, i.e.
//! 100k RoleBindings; 100 for a quick run).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ks_apiserver::authn::login::LoginSource;
use ks_kube_api::UserInfo;
use ks_rbac::synthetic::{Shape, generate, probes};
use ks_request_info::{OwnedRequestInfo, ResourceScope};

mod support;

use support::{key, load, put};

fn info_of(record: &ks_rbac::AttributesRecord) -> OwnedRequestInfo {
    OwnedRequestInfo {
        is_resource_request: record.is_resource_request,
        verb: record.verb.clone().into(),
        api_group: record.api_group.clone().into(),
        resource: record.resource.clone().into(),
        namespace: record.namespace.clone().into(),
        workspace: record.workspace.clone().into(),
        resource_scope: record
            .resource_scope
            .as_deref()
            .and_then(|s| s.parse::<ResourceScope>().ok()),
        ..OwnedRequestInfo::default()
    }
}

fn bench(c: &mut Criterion) {
    let factor: usize = std::env::var("KS_SECURITY_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = runtime.block_on(async {
        let mut config = ks_apiserver::Config::new(dir.path());
        config.in_memory = true;
        config.plain_http = true;
        config.listen = "127.0.0.1:0".parse().unwrap();
        // The API alone: the controllers have their own benchmark.
        config.controllers = None;
        ks_apiserver::start(config).await.unwrap()
    });
    let shape = Shape::ISSUE.scaled_down(factor);
    let label = format!("{}k", shape.role_bindings / 1000);
    let policy = generate(&shape);
    let started = Instant::now();
    runtime.block_on(async {
        load(&server.app.store, &policy).await;
        server.rbac.settled().await;
    });
    eprintln!(
        "{label}: loaded {} bindings into the store and compiled them in {:?}",
        policy.binding_count(),
        started.elapsed()
    );

    let security = Arc::clone(&server.security);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        format!("Bearer {}", server.admin_token).parse().unwrap(),
    );
    let source = LoginSource::default();
    let local = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group(format!("security/{label}"));
    // What driving a future costs here, to subtract from `authn/bearer`.
    group.bench_function("block_on-overhead", |b| {
        b.iter(|| local.block_on(async { black_box(1) }))
    });
    group.bench_function("authn/bearer", |b| {
        b.iter(|| {
            local
                .block_on(
                    security
                        .authenticator
                        .authenticate(black_box(&headers), None, &source),
                )
                .unwrap()
        })
    });
    for probe in probes(&shape) {
        let info = info_of(&probe.attributes);
        let mut groups = probe.attributes.groups.clone();
        groups.push("system:authenticated".into());
        let user = UserInfo::new(probe.attributes.user.clone(), groups);
        assert_eq!(
            security.authorize(&info, &user).allowed,
            probe.allowed,
            "{}",
            probe.label
        );
        group.bench_function(format!("authz/{}", probe.label), |b| {
            b.iter(|| security.check(black_box(&info), black_box(&user)))
        });
        group.bench_function(format!("authz-with-reason/{}", probe.label), |b| {
            b.iter(|| security.authorize(black_box(&info), black_box(&user)))
        });
        if probe.label == "namespace/allow" {
            group.bench_function("authn+authz/namespace-allow", |b| {
                b.iter(|| {
                    let (authenticated, _) = local
                        .block_on(security.authenticator.authenticate(&headers, None, &source))
                        .unwrap();
                    black_box(authenticated);
                    security.check(black_box(&info), black_box(&user))
                })
            });
        }
    }
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(20));
    let store = Arc::clone(&server.app.store);
    let rbac = Arc::clone(&server.rbac);
    let mut n = 0u64;
    let mut each: Vec<Duration> = Vec::new();
    group.bench_function("policy-change/rolebinding", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    n += 1;
                    let binding = serde_json::json!({
                        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                        "metadata": {"name": format!("bench-{n}"), "namespace": "ns-0"},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": format!("bench-user-{n}")}],
                    });
                    let user = format!("bench-user-{n}");
                    let info = OwnedRequestInfo {
                        is_resource_request: true,
                        verb: "get".into(),
                        resource: "configmaps".into(),
                        namespace: "ns-0".into(),
                        resource_scope: Some(ResourceScope::Namespace),
                        ..OwnedRequestInfo::default()
                    };
                    let attrs = ks_rbac::Attributes::from_request_info(&info, &user, &[] as &[&str]);
                    let started = Instant::now();
                    put(&store, key("rbac.authorization.k8s.io", "rolebindings", Some("ns-0"), &format!("bench-{n}")), &binding).await;
                    // Visible once the authorizer allows the new user.
                    while !rbac.decide(&attrs).0 {
                        tokio::time::sleep(Duration::from_micros(100)).await;
                    }
                    let elapsed = started.elapsed();
                    each.push(elapsed);
                    total += elapsed;
                }
                total
            })
        })
    });
    group.finish();
    if !each.is_empty() {
        each.sort_unstable();
        let at = |q: f64| each[((each.len() - 1) as f64 * q) as usize];
        eprintln!(
            "policy-change/rolebinding over {} changes: median {:?}, p99 {:?}, max {:?}",
            each.len(),
            at(0.5),
            at(0.99),
            each[each.len() - 1]
        );
    }
    runtime.block_on(server.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
