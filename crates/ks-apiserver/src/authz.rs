//! Authorization: ks-rbac's multi-scope decision on every request, with a
//! policy kept current from the store.
//!
//! [`Rbac::follow`] watches the nine kinds authorization reads (the four
//! Kubernetes RBAC kinds, KubeSphere's global and workspace roles and
//! bindings, and namespaces for their workspace label) and keeps a
//! compiled [`PolicySnapshot`] of them. Requests read the current snapshot
//! (an `Arc` clone under a read lock held for the clone only); changes
//! are compiled off the request path and swapped in, so a request never
//! waits for a rebuild.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use ks_rbac::{Attributes, Object, Policy, PolicySnapshot};
use ks_store::{KeyValue, Storage, StoreError};
use ks_types::iam::{GlobalRole, GlobalRoleBinding, WorkspaceRole, WorkspaceRoleBinding};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::informer::{Change, Informer};

/// How authorization decides (`--authorization-mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// KubeSphere's multi-scope RBAC (the default).
    #[default]
    Rbac,
    /// Everything authenticated is allowed: for benchmarks, loopback only.
    AlwaysAllow,
}

/// The store prefixes of the objects authorization reads, with how to
/// decode each.
/// Decodes a stored object of one kind.
type Decode = fn(&[u8]) -> Option<Object>;

const SOURCES: [(&str, Decode); 9] = [
    ("/rbac.authorization.k8s.io/roles/", |b| {
        decode::<Role>(b).map(Object::Role)
    }),
    ("/rbac.authorization.k8s.io/clusterroles/", |b| {
        decode::<ClusterRole>(b).map(Object::ClusterRole)
    }),
    ("/rbac.authorization.k8s.io/rolebindings/", |b| {
        decode::<RoleBinding>(b).map(Object::RoleBinding)
    }),
    ("/rbac.authorization.k8s.io/clusterrolebindings/", |b| {
        decode::<ClusterRoleBinding>(b).map(Object::ClusterRoleBinding)
    }),
    ("/iam.kubesphere.io/globalroles/", |b| {
        decode::<GlobalRole>(b).map(Object::GlobalRole)
    }),
    ("/iam.kubesphere.io/globalrolebindings/", |b| {
        decode::<GlobalRoleBinding>(b).map(Object::GlobalRoleBinding)
    }),
    ("/iam.kubesphere.io/workspaceroles/", |b| {
        decode::<WorkspaceRole>(b).map(Object::WorkspaceRole)
    }),
    ("/iam.kubesphere.io/workspacerolebindings/", |b| {
        decode::<WorkspaceRoleBinding>(b).map(Object::WorkspaceRoleBinding)
    }),
    ("/core/namespaces/", |b| {
        decode::<Namespace>(b).map(Object::Namespace)
    }),
];

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

/// How long changes are gathered before a rebuild: a burst of writes (a
/// workspace with its roles and bindings) costs one compile.
const GATHER: Duration = Duration::from_millis(5);

/// The RBAC authorizer over the store's roles and bindings.
pub struct Rbac {
    /// Every policy object by store key (so the snapshot's walk order is
    /// the key order, stable across restarts).
    objects: Mutex<BTreeMap<Arc<str>, Object>>,
    current: RwLock<Arc<PolicySnapshot>>,
    changed: Notify,
    /// Bumped by every change; the compiler publishes the generation it
    /// compiled, so callers can wait for a change to be visible.
    generation: Mutex<(u64, u64)>,
    published: Notify,
}

impl std::fmt::Debug for Rbac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rbac").finish_non_exhaustive()
    }
}

/// A running [`Rbac`]: dropping it stops following the store.
#[derive(Debug)]
pub struct RbacTask {
    _informers: Vec<Informer>,
    compiler: tokio::task::JoinHandle<()>,
}

impl Drop for RbacTask {
    fn drop(&mut self) {
        self.compiler.abort();
    }
}

impl Rbac {
    /// Loads the policy from `store`, compiles it, and keeps it current.
    pub async fn follow(store: Arc<dyn Storage>) -> Result<(Arc<Rbac>, RbacTask), StoreError> {
        let rbac = Arc::new(Rbac {
            objects: Mutex::default(),
            current: RwLock::new(Arc::new(PolicySnapshot::default())),
            changed: Notify::new(),
            generation: Mutex::new((0, 0)),
            published: Notify::new(),
        });
        let mut informers = Vec::with_capacity(SOURCES.len());
        for (prefix, decode) in SOURCES {
            let view = Arc::clone(&rbac);
            informers.push(
                Informer::start(Arc::clone(&store), prefix, move |change| {
                    view.apply(prefix, decode, change)
                })
                .await?,
            );
        }
        rbac.compile();
        let compiler = tokio::spawn(compile_loop(Arc::clone(&rbac)));
        Ok((
            rbac,
            RbacTask {
                _informers: informers,
                compiler,
            },
        ))
    }

    fn apply(&self, prefix: &str, decode: Decode, change: Change) {
        {
            let mut objects = self.objects.lock().unwrap_or_else(PoisonError::into_inner);
            let put = |objects: &mut BTreeMap<Arc<str>, Object>, kv: &KeyValue| match decode(
                &kv.value,
            ) {
                Some(obj) => {
                    objects.insert(Arc::clone(&kv.key), obj);
                }
                None => {
                    tracing::warn!(key = %kv.key, "a stored policy object does not decode; ignored");
                }
            };
            match change {
                Change::Reset(items) => {
                    objects.retain(|key, _| !key.starts_with(prefix));
                    for kv in &items {
                        put(&mut objects, kv);
                    }
                }
                Change::Put(kv) => put(&mut objects, &kv),
                Change::Delete(kv) => {
                    objects.remove(&kv.key);
                }
            }
        }
        self.generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0 += 1;
        self.changed.notify_one();
    }

    /// Reads the policy from `store` again and publishes it before
    /// returning: for the server's own writes (bootstrap) that must be in
    /// force before it serves. Changes the informers deliver afterwards
    /// are applied on top (replays of what was read are idempotent).
    pub async fn reload(&self, store: &dyn Storage) -> Result<(), StoreError> {
        for (prefix, decode) in SOURCES {
            let page = store.list(ks_store::ListOptions::prefix(prefix)).await?;
            self.apply(prefix, decode, Change::Reset(page.items));
        }
        self.compile();
        Ok(())
    }

    /// Compiles the objects as they are now and publishes the snapshot.
    fn compile(&self) {
        let (generation, policy) = {
            let objects = self.objects.lock().unwrap_or_else(PoisonError::into_inner);
            let generation = self
                .generation
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            let mut policy = Policy::new();
            for obj in objects.values() {
                policy.insert(obj.clone());
            }
            (generation, policy)
        };
        let snapshot = Arc::new(PolicySnapshot::build(&policy));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = snapshot;
        self.generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1 = generation;
        self.published.notify_waiters();
    }

    /// The snapshot requests are decided with now.
    pub fn snapshot(&self) -> Arc<PolicySnapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether every change seen so far is in the published snapshot.
    pub fn is_current(&self) -> bool {
        let (seen, published) = *self
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        seen == published
    }

    /// Waits until every change seen so far is published (tests, and
    /// benchmarks of the time a change takes to be visible).
    pub async fn settled(&self) {
        loop {
            let wait = self.published.notified();
            if self.is_current() {
                return;
            }
            wait.await;
        }
    }

    /// Decides `attrs`, leaving the reason unrendered.
    pub fn check(&self, attrs: &Attributes<'_>) -> crate::context::RbacVerdict {
        let snapshot = self.snapshot();
        let decision = snapshot.decide(attrs);
        crate::context::RbacVerdict { snapshot, decision }
    }

    /// Decides `attrs`: allowed, and why.
    pub fn decide(&self, attrs: &Attributes<'_>) -> (bool, String) {
        let snapshot = self.snapshot();
        let decision = snapshot.decide(attrs);
        (decision.is_allowed(), snapshot.explain(attrs, decision))
    }
}

async fn compile_loop(rbac: Arc<Rbac>) {
    loop {
        rbac.changed.notified().await;
        tokio::time::sleep(GATHER).await;
        let worker = Arc::clone(&rbac);
        if tokio::task::spawn_blocking(move || worker.compile())
            .await
            .is_err()
        {
            tracing::error!("compiling the authorization policy panicked");
        }
    }
}
