//! Authorization: ks-rbac's multi-scope decision on every request, with a
//! policy kept current from the store.
//!
//! [`Rbac::follow`] watches the nine kinds authorization reads (the four
//! Kubernetes RBAC kinds, KubeSphere's global and workspace roles and
//! bindings, and namespaces for their workspace label) and feeds every
//! change to a [`LivePolicy`], which republishes its [`PolicySnapshot`]
//! in time set by what changed (microseconds for a binding at 100k
//! bindings). Requests read the current snapshot (an `Arc` clone under a
//! lock held for the clone only); changes are applied off the request
//! path, so a request never waits for them.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use ks_rbac::{
    Attributes, Change as PolicyChange, CurrentSnapshot, LivePolicy, Object, ObjectKind, Policy,
    PolicySnapshot,
};
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

/// Decodes a stored object of one kind.
type Decode = fn(&[u8]) -> Option<Object>;

/// The store prefixes of the objects authorization reads, with their kind
/// and how to decode each.
const SOURCES: [(&str, ObjectKind, Decode); 9] = [
    ("/rbac.authorization.k8s.io/roles/", ObjectKind::Role, |b| {
        decode::<Role>(b).map(Object::Role)
    }),
    (
        "/rbac.authorization.k8s.io/clusterroles/",
        ObjectKind::ClusterRole,
        |b| decode::<ClusterRole>(b).map(Object::ClusterRole),
    ),
    (
        "/rbac.authorization.k8s.io/rolebindings/",
        ObjectKind::RoleBinding,
        |b| decode::<RoleBinding>(b).map(Object::RoleBinding),
    ),
    (
        "/rbac.authorization.k8s.io/clusterrolebindings/",
        ObjectKind::ClusterRoleBinding,
        |b| decode::<ClusterRoleBinding>(b).map(Object::ClusterRoleBinding),
    ),
    (
        "/iam.kubesphere.io/globalroles/",
        ObjectKind::GlobalRole,
        |b| decode::<GlobalRole>(b).map(Object::GlobalRole),
    ),
    (
        "/iam.kubesphere.io/globalrolebindings/",
        ObjectKind::GlobalRoleBinding,
        |b| decode::<GlobalRoleBinding>(b).map(Object::GlobalRoleBinding),
    ),
    (
        "/iam.kubesphere.io/workspaceroles/",
        ObjectKind::WorkspaceRole,
        |b| decode::<WorkspaceRole>(b).map(Object::WorkspaceRole),
    ),
    (
        "/iam.kubesphere.io/workspacerolebindings/",
        ObjectKind::WorkspaceRoleBinding,
        |b| decode::<WorkspaceRoleBinding>(b).map(Object::WorkspaceRoleBinding),
    ),
    ("/core/namespaces/", ObjectKind::Namespace, |b| {
        decode::<Namespace>(b).map(Object::Namespace)
    }),
];

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

/// How long changes are gathered before they are applied: a burst of
/// writes (a workspace with its roles and bindings) is published once.
const GATHER: Duration = Duration::from_millis(1);

/// The RBAC authorizer over the store's roles and bindings.
pub struct Rbac {
    /// Changes delivered by the informers and not yet applied, and the
    /// count of changes ever delivered.
    queue: Mutex<(Vec<PolicyChange>, u64)>,
    /// Applied by one task at a time (the compile loop, or `reload`).
    live: Mutex<LivePolicy>,
    current: CurrentSnapshot,
    changed: Notify,
    /// The count of changes the published snapshot includes.
    published: Mutex<u64>,
    published_changed: Notify,
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

/// The key (namespace, name) of the object stored at `key` under
/// `prefix`: `{prefix}{namespace}/{name}` for Roles and RoleBindings,
/// `{prefix}{name}` for the others.
fn object_key<'a>(prefix: &str, kind: ObjectKind, key: &'a str) -> (&'a str, &'a str) {
    let rest = key.strip_prefix(prefix).unwrap_or(key);
    if kind.is_namespaced() {
        rest.split_once('/').unwrap_or(("", rest))
    } else {
        ("", rest)
    }
}

fn delete_at(prefix: &str, kind: ObjectKind, key: &str) -> PolicyChange {
    let (namespace, name) = object_key(prefix, kind, key);
    PolicyChange::Delete {
        kind,
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    }
}

impl Rbac {
    /// Loads the policy from `store`, compiles it, and keeps it current.
    pub async fn follow(store: Arc<dyn Storage>) -> Result<(Arc<Rbac>, RbacTask), StoreError> {
        let live = LivePolicy::new(Policy::new());
        let rbac = Arc::new(Rbac {
            queue: Mutex::default(),
            current: live.current(),
            live: Mutex::new(live),
            changed: Notify::new(),
            published: Mutex::new(0),
            published_changed: Notify::new(),
        });
        let mut informers = Vec::with_capacity(SOURCES.len());
        for (prefix, kind, decode) in SOURCES {
            let view = Arc::clone(&rbac);
            informers.push(
                Informer::start(Arc::clone(&store), prefix, move |change| {
                    view.enqueue(prefix, kind, decode, change)
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

    fn enqueue(&self, prefix: &str, kind: ObjectKind, decode: Decode, change: Change) {
        // A stored object that does not decode grants nothing: it is
        // treated as absent, never as its last readable version.
        let decoded = |kv: &KeyValue| {
            let object = decode(&kv.value);
            if object.is_none() {
                tracing::warn!(key = %kv.key, "a stored policy object does not decode; it grants nothing");
            }
            object
        };
        let change = match change {
            Change::Reset(items) => PolicyChange::Replace {
                kind,
                objects: items.iter().filter_map(decoded).collect(),
            },
            Change::Put(kv) => match decoded(&kv) {
                Some(object) => PolicyChange::Upsert(object),
                None => delete_at(prefix, kind, &kv.key),
            },
            Change::Delete(kv) => delete_at(prefix, kind, &kv.key),
        };
        {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.0.push(change);
            queue.1 += 1;
        }
        self.changed.notify_one();
    }

    /// Reads the policy from `store` again and publishes it before
    /// returning: for the server's own writes (bootstrap) that must be in
    /// force before it serves. Changes the informers deliver afterwards
    /// are applied on top (replays of what was read are idempotent).
    pub async fn reload(&self, store: &dyn Storage) -> Result<(), StoreError> {
        for (prefix, kind, decode) in SOURCES {
            let page = store.list(ks_store::ListOptions::prefix(prefix)).await?;
            self.enqueue(prefix, kind, decode, Change::Reset(page.items));
        }
        self.compile();
        Ok(())
    }

    /// Applies the queued changes and publishes the snapshot.
    fn compile(&self) {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        // Taken under the `live` lock, so batches are applied in order.
        let (changes, seen) = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            (std::mem::take(&mut queue.0), queue.1)
        };
        live.apply(changes);
        drop(live);
        *self
            .published
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = seen;
        self.published_changed.notify_waiters();
    }

    /// Runs `f` on the policy objects as last applied (the roles,
    /// bindings and namespaces the published snapshot was built from),
    /// holding the policy's lock meanwhile: keep `f` short.
    pub fn with_policy<R>(&self, f: impl FnOnce(&Policy) -> R) -> R {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        f(live.policy())
    }

    /// The snapshot requests are decided with now.
    pub fn snapshot(&self) -> Arc<PolicySnapshot> {
        self.current.get()
    }

    /// Whether every change seen so far is in the published snapshot.
    pub fn is_current(&self) -> bool {
        let seen = self.queue.lock().unwrap_or_else(PoisonError::into_inner).1;
        let published = *self
            .published
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        seen == published
    }

    /// Waits until every change seen so far is published (tests, and
    /// benchmarks of the time a change takes to be visible).
    pub async fn settled(&self) {
        loop {
            let wait = self.published_changed.notified();
            if self.is_current() {
                return;
            }
            wait.await;
        }
    }

    /// Waits until `holds` is true of the published policy, at most
    /// `limit`; whether it became true. For handlers whose write must be in
    /// force when they answer (a member added or removed is then listed,
    /// and allowed or refused, by the very next request).
    pub async fn wait_until(&self, limit: Duration, holds: impl Fn(&Policy) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let published = self.published_changed.notified();
            if self.with_policy(&holds) {
                return true;
            }
            if tokio::time::timeout_at(deadline, published).await.is_err() {
                return self.with_policy(&holds);
            }
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

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use ks_store::{Precondition, Store, StoreConfig, WriteOp};

    use super::*;

    async fn put(store: &dyn Storage, key: &str, value: &'static str) {
        store
            .write(
                key,
                Precondition::None,
                WriteOp::Put(Box::new(move |_| Ok(Bytes::from_static(value.as_bytes())))),
            )
            .await
            .expect("writing");
    }

    const BINDING_KEY: &str = "/rbac.authorization.k8s.io/rolebindings/ns1/alice-reads";

    const ROLE: &str = r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role",
        "metadata":{"name":"pod-reader","namespace":"ns1"},
        "rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}"#;

    const BINDING: &str = r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding",
        "metadata":{"name":"alice-reads","namespace":"ns1"},
        "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"pod-reader"},
        "subjects":[{"kind":"User","name":"alice"}]}"#;

    fn alice_reads(rbac: &Rbac) -> bool {
        let attrs = Attributes {
            user: "alice",
            verb: "get",
            resource: "pods",
            namespace: "ns1",
            resource_scope: Some(ks_request_info::ResourceScope::Namespace),
            is_resource_request: true,
            ..Attributes::default()
        };
        rbac.check(&attrs).decision.is_allowed()
    }

    #[tokio::test]
    async fn follows_writes_and_deletes_and_an_undecodable_object_grants_nothing() {
        let store: Arc<dyn Storage> = Arc::new(Store::in_memory(StoreConfig::default()));
        put(
            &*store,
            "/rbac.authorization.k8s.io/roles/ns1/pod-reader",
            ROLE,
        )
        .await;
        let (rbac, _task) = Rbac::follow(Arc::clone(&store)).await.expect("following");
        assert!(!alice_reads(&rbac));

        put(&*store, BINDING_KEY, BINDING).await;
        rbac.settled().await;
        // `settled` covers what the informers delivered; wait for delivery.
        for _ in 0..200 {
            if alice_reads(&rbac) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            rbac.settled().await;
        }
        assert!(alice_reads(&rbac));

        // A value that does not decode replaces the binding with nothing.
        put(&*store, BINDING_KEY, "{not json").await;
        for _ in 0..200 {
            if !alice_reads(&rbac) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            rbac.settled().await;
        }
        assert!(!alice_reads(&rbac));

        put(&*store, BINDING_KEY, BINDING).await;
        rbac.reload(&*store).await.expect("reloading");
        assert!(alice_reads(&rbac), "reload publishes before returning");

        store
            .write(BINDING_KEY, Precondition::None, WriteOp::Delete)
            .await
            .expect("deleting");
        rbac.reload(&*store).await.expect("reloading");
        assert!(
            !alice_reads(&rbac),
            "a relist deletes what it no longer lists"
        );
    }

    #[tokio::test]
    async fn wait_until_returns_once_the_published_policy_holds_a_write() {
        let store: Arc<dyn Storage> = Arc::new(Store::in_memory(StoreConfig::default()));
        let (rbac, _task) = Rbac::follow(Arc::clone(&store)).await.expect("following");
        let bound = |p: &Policy| {
            p.role_bindings
                .iter()
                .any(|b| b.metadata.name.as_deref() == Some("alice-reads"))
        };
        // Nothing to wait for: false after the limit, not before.
        let started = tokio::time::Instant::now();
        assert!(!rbac.wait_until(Duration::from_millis(50), bound).await);
        assert!(started.elapsed() >= Duration::from_millis(50));

        // A write: true as soon as the policy holds it, and then the
        // decisions use it too (they are published together).
        put(&*store, BINDING_KEY, BINDING).await;
        assert!(rbac.wait_until(Duration::from_secs(10), bound).await);
        put(
            &*store,
            "/rbac.authorization.k8s.io/roles/ns1/pod-reader",
            ROLE,
        )
        .await;
        let role = |p: &Policy| {
            p.roles
                .iter()
                .any(|r| r.metadata.name.as_deref() == Some("pod-reader"))
        };
        assert!(rbac.wait_until(Duration::from_secs(10), role).await);
        assert!(alice_reads(&rbac));
    }

    #[test]
    fn object_keys_follow_the_store_layout() {
        let rb = "/rbac.authorization.k8s.io/rolebindings/";
        assert_eq!(
            object_key(rb, ObjectKind::RoleBinding, &format!("{rb}ns1/b")),
            ("ns1", "b")
        );
        let ns = "/core/namespaces/";
        assert_eq!(
            object_key(ns, ObjectKind::Namespace, "/core/namespaces/demo"),
            ("", "demo")
        );
    }
}
