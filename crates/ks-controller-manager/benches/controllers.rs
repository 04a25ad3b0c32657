//! The controllers at scale, in ks-apiserver (durable store, audit on, the
//! controllers in-process as `system:ks-controller-manager`), driven over
//! HTTP by an admin client:
//!
//! 1. **users**: 100 Users created one after another with a plaintext
//!    password; each is timed from its create request to the moment a
//!    watch sees it `Active` (median, p99, max printed);
//! 2. **converge**: 1,000 WorkspaceTemplates (their managers exist) and
//!    10,000 namespaces spread over them, created 32 at a time; timed from
//!    the last create to the last write of the controllers (the store's
//!    revision stops moving), then the invariants are checked: every
//!    workspace has its Workspace, four roles and manager binding, every
//!    namespace its owner, default roles and creator binding;
//! 3. **resync** (criterion): a full resync of every controller over the
//!    converged state, timed from the trigger until the reconciles stop;
//!    each must write nothing (the store's revision does not move).
//!
//! Run: `cargo bench -p ks-controller-manager --bench controllers`; set
//! `KS_CONTROLLERS_BENCH_SCALE` to a divisor of the scale (default 1; 10
//! for a quick run).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use ks_controller_manager::{IMPLEMENTED_CONTROLLERS, Metrics};
use ks_types::iam::{User, WorkspaceRole, WorkspaceRoleBinding};
use ks_types::tenant::Workspace;
use kube::ResourceExt as _;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use serde_json::json;

/// A bcrypt hash (cost 10) of `P@88w0rd`, so that creating the managers
/// costs no hashing.
const HASH: &str = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
const IN_FLIGHT: usize = 32;

struct Bench {
    server: ks_apiserver::RunningServer,
    client: kube::Client,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn metrics(&self) -> &Metrics {
        self.server.controllers.as_ref().unwrap().metrics()
    }

    fn revision(&self) -> ks_store::Revision {
        self.server.app.store.current_revision()
    }

    fn reconciles(&self) -> u64 {
        IMPLEMENTED_CONTROLLERS
            .iter()
            .map(|c| self.metrics().reconciles(c))
            .sum()
    }

    /// Waits until `probe` has given the same `Some` value for `still`
    /// (`None` means not settled); returns when it last changed.
    async fn settle(&self, still: Duration, probe: impl Fn(&Bench) -> Option<u64>) -> Instant {
        let mut last = probe(self);
        let mut changed = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = probe(self);
            if now.is_none() || now != last {
                last = now;
                changed = Instant::now();
            } else if changed.elapsed() >= still {
                return changed;
            }
        }
    }

    /// The store's revision, or `None` while a controller has a retry
    /// pending.
    fn quiet_revision(&self) -> Option<u64> {
        let pending: i64 = IMPLEMENTED_CONTROLLERS
            .iter()
            .map(|c| self.metrics().retries_pending(c))
            .sum();
        (pending == 0).then(|| u64::try_from(self.revision()).unwrap_or(0))
    }

    async fn create_all(&self, objects: Vec<serde_json::Value>) {
        futures_util::stream::iter(objects)
            .map(|obj| {
                let client = self.client.clone();
                async move {
                    let kind = obj["kind"].as_str().unwrap().to_owned();
                    let reply = match kind.as_str() {
                        "User" => Api::<User>::all(client)
                            .create(
                                &PostParams::default(),
                                &serde_json::from_value(obj).unwrap(),
                            )
                            .await
                            .map(drop),
                        "Namespace" => Api::<Namespace>::all(client)
                            .create(
                                &PostParams::default(),
                                &serde_json::from_value(obj).unwrap(),
                            )
                            .await
                            .map(drop),
                        _ => Api::<ks_types::tenant::WorkspaceTemplate>::all(client)
                            .create(
                                &PostParams::default(),
                                &serde_json::from_value(obj).unwrap(),
                            )
                            .await
                            .map(drop),
                    };
                    reply.unwrap();
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect::<Vec<()>>()
            .await;
    }
}

fn user(name: &str, password: &str) -> serde_json::Value {
    json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
           "metadata": {"name": name},
           "spec": {"email": format!("{name}@example.com"), "password": password}})
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Scenario 1: plaintext password to `Active`.
async fn users_become_active(b: &Bench, n: usize) {
    let api: Api<User> = Api::all(b.client.clone());
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("active-{i}");
        let watch = watcher(
            api.clone(),
            watcher::Config::default().fields(&format!("metadata.name={name}")),
        )
        .applied_objects();
        let mut watch = std::pin::pin!(watch);
        // The watch is open (its initial list done) before the create.
        let started = Instant::now();
        api.create(
            &PostParams::default(),
            &serde_json::from_value(user(&name, "Plain-pass-123")).unwrap(),
        )
        .await
        .unwrap();
        loop {
            let u = watch.try_next().await.unwrap().unwrap();
            if u.status.state.as_ref().map(|s| s.as_str()) == Some("Active") {
                break;
            }
        }
        samples.push(started.elapsed());
    }
    samples.sort();
    println!(
        "users/active: {n} users, plaintext password to Active: median {:?}, p99 {:?}, max {:?}",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[n - 1]
    );
}

/// Scenario 2: workspaces and namespaces converge.
async fn converge(b: &Bench, workspaces: usize, namespaces: usize) {
    let managers: Vec<_> = (0..workspaces)
        .map(|i| user(&format!("manager-{i}"), HASH))
        .collect();
    b.create_all(managers).await;
    b.settle(Duration::from_millis(500), |b| Some(b.reconciles()))
        .await;

    let templates: Vec<_> = (0..workspaces)
        .map(|i| {
            json!({"apiVersion": "tenant.kubesphere.io/v1alpha2", "kind": "WorkspaceTemplate",
                   "metadata": {"name": format!("ws-{i}")},
                   "spec": {"template": {"spec": {"manager": format!("manager-{i}")}},
                            "placement": {}}})
        })
        .collect();
    let spaces: Vec<_> = (0..namespaces)
        .map(|i| {
            let ws = i % workspaces;
            json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": format!("ns-{i}"),
                                "labels": {"kubesphere.io/workspace": format!("ws-{ws}")},
                                "annotations": {"kubesphere.io/creator": format!("manager-{ws}")}}})
        })
        .collect();
    let before = b.revision();
    let started = Instant::now();
    b.create_all(templates).await;
    b.create_all(spaces).await;
    let last_create = Instant::now();
    // Quiet: no write for 2 s and no retry pending.
    let quiet = b
        .settle(Duration::from_secs(2), Bench::quiet_revision)
        .await;
    let written = b.revision() - before;
    println!(
        "converge: {workspaces} workspace templates + {namespaces} namespaces: creates took {:?}; \
         last create to quiet (last write, no retry pending) {:?}; {written} revisions written in all (creates included)",
        last_create - started,
        quiet.saturating_duration_since(last_create),
    );
    check_converged(b, workspaces, namespaces).await;
}

async fn check_converged(b: &Bench, workspaces: usize, namespaces: usize) {
    let c = &b.client;
    let lp = ListParams::default();
    let ws: Vec<Workspace> = Api::all(c.clone()).list(&lp).await.unwrap().items;
    assert_eq!(ws.len(), workspaces);
    let roles = Api::<WorkspaceRole>::all(c.clone())
        .list(&ListParams::default().labels("kubesphere.io/workspace"))
        .await
        .unwrap()
        .items;
    assert_eq!(roles.len(), 4 * workspaces);
    assert!(roles.iter().all(|r| !r.owner_references().is_empty()));
    let bindings = Api::<WorkspaceRoleBinding>::all(c.clone())
        .list(&ListParams::default().labels("kubesphere.io/workspace"))
        .await
        .unwrap()
        .items;
    assert_eq!(bindings.len(), workspaces);
    let nss: Vec<Namespace> = Api::all(c.clone())
        .list(&ListParams::default().labels("kubesphere.io/workspace"))
        .await
        .unwrap()
        .items;
    assert_eq!(nss.len(), namespaces);
    assert!(nss.iter().all(|ns| {
        ns.owner_references().len() == 1
            && ns
                .finalizers()
                .iter()
                .any(|f| f == "finalizers.kubesphere.io/namespaces")
    }));
    let default_roles = Api::<Role>::all(c.clone()).list(&lp).await.unwrap().items;
    assert_eq!(default_roles.len(), 3 * namespaces);
    let creators = Api::<RoleBinding>::all(c.clone())
        .list(&ListParams::default().labels("iam.kubesphere.io/user-ref"))
        .await
        .unwrap()
        .items;
    assert_eq!(creators.len(), namespaces);
    println!("converge: invariants hold");
}

/// Scenario 3: one full resync; returns how long its reconciles took.
async fn resync(b: &Bench) -> Duration {
    let revision = b.revision();
    let reconciles = b.reconciles();
    let started = Instant::now();
    b.server.controllers.as_ref().unwrap().resync().trigger();
    while b.reconciles() == reconciles {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let done = b
        .settle(Duration::from_millis(300), |b| Some(b.reconciles()))
        .await;
    assert_eq!(
        b.revision(),
        revision,
        "a resync of the converged state wrote"
    );
    done - started
}

fn bench(c: &mut Criterion) {
    let scale: usize = std::env::var("KS_CONTROLLERS_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    );
    let b = runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ks_apiserver::Config::new(dir.path());
        config.plain_http = true;
        config.listen = "127.0.0.1:0".parse().unwrap();
        let server = ks_apiserver::start(config).await.unwrap();
        let mut kc = kube::Config::new(server.url.parse().unwrap());
        kc.auth_info.token = Some(server.admin_token.clone().into());
        let client = kube::Client::try_from(kc).unwrap();
        Bench {
            server,
            client,
            _dir: dir,
        }
    });
    runtime.block_on(users_become_active(&b, 100));
    runtime.block_on(converge(&b, 1000 / scale, 10_000 / scale));
    let mut group = c.benchmark_group("controllers");
    group.sample_size(10);
    group.bench_function(format!("resync/{}-namespaces", 10_000 / scale), |bencher| {
        bencher.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += runtime.block_on(resync(&b));
            }
            total
        });
    });
    group.finish();
    runtime.block_on(b.server.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
