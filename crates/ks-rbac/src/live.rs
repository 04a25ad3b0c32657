//! A policy kept current under a stream of changes: [`LivePolicy`].
//!
//! A server authorizes every request against a [`PolicySnapshot`] and keeps
//! it current from its store's watch: every create, update or delete of a
//! role, a binding or a Namespace arrives as a [`Change`].
//! [`PolicySnapshot::build`] compiles a whole policy (a few hundred
//! milliseconds at 100k bindings); a `LivePolicy` applies a change in time
//! set by what the change touches and publishes a new snapshot that shares
//! everything else with the previous one.
//!
//! ```
//! use std::collections::BTreeMap;
//! use k8s_openapi::api::core::v1::Namespace;
//! use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
//! use ks_rbac::{Attributes, Change, LivePolicy, Object, ObjectKind, Policy};
//! use ks_request_info::ResourceScope;
//!
//! let (policy, _) = Policy::from_yaml("inline", r#"
//! apiVersion: iam.kubesphere.io/v1alpha2
//! kind: WorkspaceRole
//! metadata: {name: ws1-viewer, labels: {kubesphere.io/workspace: ws1}}
//! rules: [{apiGroups: ["*"], resources: ["*"], verbs: [get, list, watch]}]
//! ---
//! apiVersion: iam.kubesphere.io/v1alpha2
//! kind: WorkspaceRoleBinding
//! metadata: {name: alice-ws1-viewer, labels: {kubesphere.io/workspace: ws1}}
//! roleRef: {apiGroup: iam.kubesphere.io, kind: WorkspaceRole, name: ws1-viewer}
//! subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
//! "#);
//! let mut live = LivePolicy::new(policy);
//! // Request tasks hold a handle; the watcher task owns the LivePolicy.
//! let current = live.current();
//! let attrs = Attributes {
//!     user: "alice",
//!     verb: "list",
//!     resource: "pods",
//!     namespace: "demo",
//!     resource_scope: Some(ResourceScope::Namespace),
//!     is_resource_request: true,
//!     ..Attributes::default()
//! };
//! assert!(!current.get().is_allowed(&attrs)); // "demo" is in no workspace yet
//!
//! let demo = Namespace {
//!     metadata: ObjectMeta {
//!         name: Some("demo".into()),
//!         labels: Some(BTreeMap::from([("kubesphere.io/workspace".into(), "ws1".into())])),
//!         ..ObjectMeta::default()
//!     },
//!     ..Namespace::default()
//! };
//! live.apply([Change::Upsert(Object::Namespace(demo))]);
//! assert!(current.get().is_allowed(&attrs));
//!
//! live.apply([Change::Delete {
//!     kind: ObjectKind::WorkspaceRoleBinding,
//!     namespace: String::new(),
//!     name: "alice-ws1-viewer".into(),
//! }]);
//! assert!(!live.snapshot().is_allowed(&attrs));
//! ```
//!
//! # Order and consistency
//!
//! The policy a `LivePolicy` holds ([`LivePolicy::policy`]) has at most
//! one object per key (kind, name, and namespace for Roles and
//! RoleBindings). An upsert of an object that exists replaces it where it
//! is; a new object goes last among those of its kind; a delete removes it
//! and keeps the others in order; a delete of an unknown object and an
//! upsert of an object equal to the one held change nothing.
//! [`LivePolicy::new`] keeps, of objects sharing a key, the last one, at its
//! own position, which is how [`PolicySnapshot::build`] and the
//! [`ReferenceAuthorizer`](crate::ReferenceAuthorizer) read such a policy.
//!
//! The guarantee: after [`LivePolicy::apply`] returns, the published
//! snapshot answers every request exactly as
//! `PolicySnapshot::build(live.policy())` and
//! `ReferenceAuthorizer::new(live.policy())` do: the decision, the binding
//! and rule an Allow names, every reason, `who_can`, `rules_for` and the
//! warnings. A batch is published as a whole: no request sees half of it.
//! A snapshot, once handed out, never changes; a request that started
//! before a publication finishes on the snapshot it started with.
//!
//! Publication is a pointer swap under a lock held for just that swap:
//! [`CurrentSnapshot::get`] never waits for an `apply`. The snapshots
//! replaced are dropped by the `apply` that follows the last request
//! holding them, so freeing them is the watcher's work, not a request's.
//!
//! # Cost model
//!
//! Work per change, with `B` the bindings of the scope (a namespace, a
//! workspace, cluster, global) that a binding enters or leaves:
//!
//! - a binding upsert or delete: compile it (a few string lookups), then
//!   re-index each scope it leaves or enters: `O(B log B)`, sharing its
//!   compiled bindings;
//! - a role upsert or delete: compile its rules, then recompute the
//!   effective rules of the roles that aggregate it, transitively (a
//!   ClusterRole's label change also re-tests the selectors of the
//!   ClusterRoles that have any). Bindings name roles through role slots,
//!   so no binding is recompiled, whatever the number that refer to it;
//! - a Namespace upsert or delete: one entry of the namespace -> workspace
//!   map;
//! - per published batch: a copy of the map of the shards of its kind
//!   (namespaces or workspaces) when one changed (`O(namespaces)` pointer
//!   copies), of the role table when a role changed (`O(roles)`), and of
//!   the small table of strings interned since the last fold;
//! - keeping [`policy`](LivePolicy::policy) in order: a delete shifts the
//!   later objects of its kind (a `memmove`);
//! - a [`Change::Replace`] (a relist) that adds, changes or removes at
//!   least 1,024 objects, and more than a quarter of those held, makes its
//!   batch end with a full [`rebuild`](LivePolicy::rebuild) instead:
//!   a watcher that starts empty and receives each kind's first list pays
//!   what one build costs.
//!
//! Strings are interned append-only, so ids stay valid: new strings go to a
//! small delta table (copied by each publication that adds to it), folded
//! into a copy of the base table when it reaches 1/128 of the base (at
//! least 1,024 entries; about 12 ms at 100k strings). Strings and role slots no
//! longer referenced are kept until a full [`rebuild`](LivePolicy::rebuild),
//! which `apply` runs itself once the interned strings have doubled since
//! the last one (at least 65,536 of them), and which costs what
//! [`PolicySnapshot::build`] costs. Decisions on a snapshot published by
//! `apply` cost what they cost on a fresh build: zero allocations, and one
//! more hash probe per scope.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rustc_hash::FxHashMap;

use crate::compile::Compiler;
use crate::{Object, Policy, PolicySnapshot};

/// One change to the policy, as a store watch delivers it.
// A change is built once and moved into `apply`; boxing the object would
// cost an allocation per watch event for no saving.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A created or updated object (replaces the one with the same kind,
    /// namespace and name).
    Upsert(Object),
    /// A deleted object.
    Delete {
        /// Its kind.
        kind: ObjectKind,
        /// Its namespace (ignored for the kinds that have none).
        namespace: String,
        /// Its name.
        name: String,
    },
    /// Every object of a kind, as a watch's relist returns them: those
    /// held and not listed are deleted, the others upserted (in the
    /// list's order). Objects of another kind in the list are ignored.
    Replace {
        /// The kind listed.
        kind: ObjectKind,
        /// Every object of that kind.
        objects: Vec<Object>,
    },
}

impl Change {
    /// The deletion of `object`.
    pub fn delete_of(object: &Object) -> Change {
        let meta = object.metadata();
        Change::Delete {
            kind: object.kind(),
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
        }
    }
}

/// The kinds of the objects a policy is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// `rbac.authorization.k8s.io/v1` Role (namespaced).
    Role,
    /// `rbac.authorization.k8s.io/v1` ClusterRole.
    ClusterRole,
    /// `rbac.authorization.k8s.io/v1` RoleBinding (namespaced).
    RoleBinding,
    /// `rbac.authorization.k8s.io/v1` ClusterRoleBinding.
    ClusterRoleBinding,
    /// `iam.kubesphere.io/v1alpha2` GlobalRole.
    GlobalRole,
    /// `iam.kubesphere.io/v1alpha2` GlobalRoleBinding.
    GlobalRoleBinding,
    /// `iam.kubesphere.io/v1alpha2` WorkspaceRole.
    WorkspaceRole,
    /// `iam.kubesphere.io/v1alpha2` WorkspaceRoleBinding.
    WorkspaceRoleBinding,
    /// `v1` Namespace.
    Namespace,
}

impl ObjectKind {
    /// Every kind.
    pub const ALL: [ObjectKind; 9] = [
        ObjectKind::Role,
        ObjectKind::ClusterRole,
        ObjectKind::RoleBinding,
        ObjectKind::ClusterRoleBinding,
        ObjectKind::GlobalRole,
        ObjectKind::GlobalRoleBinding,
        ObjectKind::WorkspaceRole,
        ObjectKind::WorkspaceRoleBinding,
        ObjectKind::Namespace,
    ];

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Role => "Role",
            ObjectKind::ClusterRole => "ClusterRole",
            ObjectKind::RoleBinding => "RoleBinding",
            ObjectKind::ClusterRoleBinding => "ClusterRoleBinding",
            ObjectKind::GlobalRole => "GlobalRole",
            ObjectKind::GlobalRoleBinding => "GlobalRoleBinding",
            ObjectKind::WorkspaceRole => "WorkspaceRole",
            ObjectKind::WorkspaceRoleBinding => "WorkspaceRoleBinding",
            ObjectKind::Namespace => "Namespace",
        }
    }

    /// Parses a kind's name (case-sensitive).
    pub fn parse(kind: &str) -> Option<ObjectKind> {
        ObjectKind::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    /// Whether objects of the kind live in a namespace (Role and
    /// RoleBinding): their key includes it.
    pub fn is_namespaced(self) -> bool {
        matches!(self, ObjectKind::Role | ObjectKind::RoleBinding)
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> ObjectKind {
        match self {
            Object::Role(_) => ObjectKind::Role,
            Object::ClusterRole(_) => ObjectKind::ClusterRole,
            Object::RoleBinding(_) => ObjectKind::RoleBinding,
            Object::ClusterRoleBinding(_) => ObjectKind::ClusterRoleBinding,
            Object::GlobalRole(_) => ObjectKind::GlobalRole,
            Object::GlobalRoleBinding(_) => ObjectKind::GlobalRoleBinding,
            Object::WorkspaceRole(_) => ObjectKind::WorkspaceRole,
            Object::WorkspaceRoleBinding(_) => ObjectKind::WorkspaceRoleBinding,
            Object::Namespace(_) => ObjectKind::Namespace,
        }
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::Role(o) => &o.metadata,
            Object::ClusterRole(o) => &o.metadata,
            Object::RoleBinding(o) => &o.metadata,
            Object::ClusterRoleBinding(o) => &o.metadata,
            Object::GlobalRole(o) => &o.metadata,
            Object::GlobalRoleBinding(o) => &o.metadata,
            Object::WorkspaceRole(o) => &o.metadata,
            Object::WorkspaceRoleBinding(o) => &o.metadata,
            Object::Namespace(o) => &o.metadata,
        }
    }
}

/// The key of an object among those of its kind.
type Key = (Box<str>, Box<str>);

fn key(kind: ObjectKind, namespace: &str, name: &str) -> Key {
    let namespace = if kind.is_namespaced() { namespace } else { "" };
    (namespace.into(), name.into())
}

fn key_of(kind: ObjectKind, meta: &ObjectMeta) -> Key {
    key(
        kind,
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or(""),
    )
}

/// Where the objects of one kind are: each key's position number (`seq`,
/// increasing along the kind's vector in the policy).
#[derive(Debug, Default)]
struct KindOrder {
    seq_of: FxHashMap<Key, u64>,
    /// The `seq` of each object of the vector, in order.
    seqs: Vec<u64>,
}

impl KindOrder {
    /// The `seq` and the index of the object of `key`.
    fn find(&self, key: &Key) -> Option<(u64, usize)> {
        let seq = *self.seq_of.get(key)?;
        let index = self.seqs.binary_search(&seq).ok()?;
        Some((seq, index))
    }
}

/// Replaces the item at `index` (or pushes a new one); `None` when the item
/// there is equal, and nothing changed.
fn put<T: PartialEq>(items: &mut Vec<T>, index: Option<usize>, item: T) -> Option<usize> {
    match index.and_then(|i| items.get_mut(i).map(|slot| (i, slot))) {
        Some((_, slot)) if *slot == item => None,
        Some((i, slot)) => {
            *slot = item;
            Some(i)
        }
        None => {
            items.push(item);
            Some(items.len() - 1)
        }
    }
}

fn remove_at<T>(items: &mut Vec<T>, index: usize) {
    if index < items.len() {
        items.remove(index);
    }
}

/// Keeps, of the items sharing a key, the last, at its own position.
fn keep_last<T>(items: &mut Vec<T>, key: impl Fn(&T) -> Key) {
    let mut last: FxHashMap<Key, usize> = FxHashMap::default();
    for (i, item) in items.iter().enumerate() {
        last.insert(key(item), i);
    }
    if last.len() == items.len() {
        return;
    }
    let mut i = 0;
    items.retain(|item| {
        let keep = last.get(&key(item)) == Some(&i);
        i += 1;
        keep
    });
}

/// A handle on the snapshot a [`LivePolicy`] last published, for the tasks
/// that authorize requests. Cloning it is cheap; [`get`](Self::get) holds
/// a lock only to clone an `Arc`, and an `apply` holds it only to swap one.
#[derive(Clone, Debug)]
pub struct CurrentSnapshot {
    cell: Arc<RwLock<Arc<PolicySnapshot>>>,
}

impl CurrentSnapshot {
    fn new(snapshot: Arc<PolicySnapshot>) -> Self {
        CurrentSnapshot {
            cell: Arc::new(RwLock::new(snapshot)),
        }
    }

    /// The snapshot published last.
    pub fn get(&self) -> Arc<PolicySnapshot> {
        // The lock guards a pointer swap that cannot panic half-way, so a
        // poisoned lock still holds a whole snapshot.
        let guard = self.cell.read().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&guard)
    }

    fn replace(&self, next: Arc<PolicySnapshot>) -> Arc<PolicySnapshot> {
        let mut guard = self.cell.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *guard, next)
    }
}

/// Once the interned strings reach twice the count of the last full build,
/// and at least this many, `apply` rebuilds everything.
const REBUILD_MIN_STRINGS: usize = 65_536;

/// A [`Change::Replace`] that adds, changes or removes at least this many
/// objects, and more than a quarter of those held, is applied by a full
/// rebuild at the end of its batch.
const BULK_MIN: usize = 1024;

/// A [`Policy`] kept current under [`Change`]s, with the [`PolicySnapshot`]
/// of its objects republished after each batch. See the
/// [module docs](self) for the order it keeps, the guarantee and the costs.
pub struct LivePolicy {
    policy: Policy,
    orders: [KindOrder; 9],
    next_seq: u64,
    compiler: Compiler,
    current: CurrentSnapshot,
    /// Snapshots replaced while requests still held them.
    retired: Vec<Arc<PolicySnapshot>>,
    /// Interned strings right after the last full build.
    strings_at_build: usize,
    /// A large [`Change::Replace`] in the batch being applied: objects
    /// change without being compiled, and the batch ends with a rebuild.
    bulk: bool,
}

impl fmt::Debug for LivePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LivePolicy")
            .field("bindings", &self.policy.binding_count())
            .field("strings", &self.compiler.string_count())
            .finish_non_exhaustive()
    }
}

impl LivePolicy {
    /// Compiles `policy` (as [`PolicySnapshot::build`] does) and publishes
    /// its snapshot. Of objects sharing a key, the last is kept, at its
    /// own position.
    pub fn new(policy: Policy) -> Self {
        let mut live = LivePolicy {
            policy,
            orders: Default::default(),
            next_seq: 0,
            compiler: Compiler::default(),
            current: CurrentSnapshot::new(Arc::default()),
            retired: Vec::new(),
            strings_at_build: 0,
            bulk: false,
        };
        let p = &mut live.policy;
        keep_last(&mut p.roles, |o| key_of(ObjectKind::Role, &o.metadata));
        keep_last(&mut p.cluster_roles, |o| {
            key_of(ObjectKind::ClusterRole, &o.metadata)
        });
        keep_last(&mut p.role_bindings, |o| {
            key_of(ObjectKind::RoleBinding, &o.metadata)
        });
        keep_last(&mut p.cluster_role_bindings, |o| {
            key_of(ObjectKind::ClusterRoleBinding, &o.metadata)
        });
        keep_last(&mut p.global_roles, |o| {
            key_of(ObjectKind::GlobalRole, &o.metadata)
        });
        keep_last(&mut p.global_role_bindings, |o| {
            key_of(ObjectKind::GlobalRoleBinding, &o.metadata)
        });
        keep_last(&mut p.workspace_roles, |o| {
            key_of(ObjectKind::WorkspaceRole, &o.metadata)
        });
        keep_last(&mut p.workspace_role_bindings, |o| {
            key_of(ObjectKind::WorkspaceRoleBinding, &o.metadata)
        });
        keep_last(&mut p.namespaces, |o| {
            key_of(ObjectKind::Namespace, &o.metadata)
        });
        live.rebuild();
        live
    }

    /// Applies a batch of changes and publishes the result; returns when
    /// the new snapshot is published (at once, when nothing changed).
    pub fn apply(&mut self, changes: impl IntoIterator<Item = Change>) {
        let mut changed = false;
        for change in changes {
            changed |= match change {
                Change::Upsert(object) => self.upsert(object),
                Change::Delete {
                    kind,
                    namespace,
                    name,
                } => self.delete(kind, &namespace, &name),
                Change::Replace { kind, objects } => self.replace(kind, objects),
            };
        }
        if self.bulk {
            self.bulk = false;
            self.rebuild();
            return;
        }
        if !changed {
            return;
        }
        let strings = self.compiler.string_count();
        if strings >= REBUILD_MIN_STRINGS && strings > 2 * self.strings_at_build {
            self.rebuild();
        } else {
            self.publish();
        }
    }

    /// The current snapshot: an `Arc` clone.
    pub fn snapshot(&self) -> Arc<PolicySnapshot> {
        self.current.get()
    }

    /// A handle on the current snapshot, for the tasks that authorize
    /// requests while another owns this `LivePolicy` and applies changes.
    pub fn current(&self) -> CurrentSnapshot {
        self.current.clone()
    }

    /// The objects as they are now, in the order described in the
    /// [module docs](self) (for tools: explain, who-can).
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Recompiles everything from [`policy`](Self::policy) and publishes
    /// it, dropping the strings and role slots nothing refers to any more.
    /// `apply` calls it when the interned strings have doubled; it costs
    /// what [`PolicySnapshot::build`] costs.
    pub fn rebuild(&mut self) {
        // Positions restart from the objects' indices, as in a build.
        let mut next_seq = 0;
        for kind in ObjectKind::ALL {
            let metas = metadata_of(&self.policy, kind);
            let order = &mut self.orders[kind as usize];
            order.seqs = (0..metas.len() as u64).collect();
            order.seq_of = (metas.iter().enumerate())
                .map(|(i, meta)| (key_of(kind, meta), i as u64))
                .collect();
            next_seq = next_seq.max(metas.len() as u64);
        }
        self.next_seq = next_seq;
        self.compiler = Compiler::build(&self.policy);
        self.publish();
        self.strings_at_build = self.compiler.string_count();
    }

    fn publish(&mut self) {
        let snapshot = Arc::new(self.compiler.publish());
        let old = self.current.replace(snapshot);
        self.retired.push(old);
        // Those no request holds any more are freed here.
        self.retired.retain(|s| Arc::strong_count(s) > 1);
    }

    /// Whether it changed anything.
    fn upsert(&mut self, object: Object) -> bool {
        let kind = object.kind();
        let key = key_of(kind, object.metadata());
        let found = self.orders[kind as usize].find(&key);
        let index = found.map(|(_, i)| i);
        let p = &mut self.policy;
        let stored = match object {
            Object::Role(o) => put(&mut p.roles, index, o),
            Object::ClusterRole(o) => put(&mut p.cluster_roles, index, o),
            Object::RoleBinding(o) => put(&mut p.role_bindings, index, o),
            Object::ClusterRoleBinding(o) => put(&mut p.cluster_role_bindings, index, o),
            Object::GlobalRole(o) => put(&mut p.global_roles, index, o),
            Object::GlobalRoleBinding(o) => put(&mut p.global_role_bindings, index, o),
            Object::WorkspaceRole(o) => put(&mut p.workspace_roles, index, o),
            Object::WorkspaceRoleBinding(o) => put(&mut p.workspace_role_bindings, index, o),
            Object::Namespace(o) => put(&mut p.namespaces, index, o),
        };
        let Some(index) = stored else {
            return false;
        };
        let seq = match found {
            Some((seq, _)) => seq,
            None => {
                let seq = self.next_seq;
                self.next_seq += 1;
                let order = &mut self.orders[kind as usize];
                order.seq_of.insert(key, seq);
                order.seqs.push(seq);
                seq
            }
        };
        if !self.bulk {
            self.compiler.upsert_at(&self.policy, kind, seq, index);
        }
        true
    }

    /// Whether an object equal to `object` is held.
    fn holds(&self, object: &Object) -> bool {
        let kind = object.kind();
        let Some((_, i)) = self.orders[kind as usize].find(&key_of(kind, object.metadata())) else {
            return false;
        };
        let p = &self.policy;
        match object {
            Object::Role(o) => p.roles.get(i) == Some(o),
            Object::ClusterRole(o) => p.cluster_roles.get(i) == Some(o),
            Object::RoleBinding(o) => p.role_bindings.get(i) == Some(o),
            Object::ClusterRoleBinding(o) => p.cluster_role_bindings.get(i) == Some(o),
            Object::GlobalRole(o) => p.global_roles.get(i) == Some(o),
            Object::GlobalRoleBinding(o) => p.global_role_bindings.get(i) == Some(o),
            Object::WorkspaceRole(o) => p.workspace_roles.get(i) == Some(o),
            Object::WorkspaceRoleBinding(o) => p.workspace_role_bindings.get(i) == Some(o),
            Object::Namespace(o) => p.namespaces.get(i) == Some(o),
        }
    }

    /// Whether it changed anything.
    fn replace(&mut self, kind: ObjectKind, objects: Vec<Object>) -> bool {
        let listed: rustc_hash::FxHashSet<Key> = (objects.iter())
            .filter(|o| o.kind() == kind)
            .map(|o| key_of(kind, o.metadata()))
            .collect();
        let gone: Vec<Key> = (self.orders[kind as usize].seq_of.keys())
            .filter(|k| !listed.contains(*k))
            .cloned()
            .collect();
        // Compiling one object at a time costs several times what a build
        // costs per object (each new string goes through the delta
        // table): a relist that changes much is applied by a rebuild.
        let changing = gone.len()
            + (objects.iter())
                .filter(|o| o.kind() == kind && !self.holds(o))
                .count();
        let held: usize = self.orders.iter().map(|o| o.seqs.len()).sum();
        if changing >= BULK_MIN && changing * 4 > held {
            self.bulk = true;
        }
        let mut changed = false;
        for (namespace, name) in gone {
            changed |= self.delete(kind, &namespace, &name);
        }
        for object in objects {
            if object.kind() == kind {
                changed |= self.upsert(object);
            }
        }
        changed
    }

    /// Whether it changed anything.
    fn delete(&mut self, kind: ObjectKind, namespace: &str, name: &str) -> bool {
        let key = key(kind, namespace, name);
        let order = &mut self.orders[kind as usize];
        let Some((seq, index)) = order.find(&key) else {
            return false;
        };
        order.seq_of.remove(&key);
        order.seqs.remove(index);
        let p = &mut self.policy;
        match kind {
            ObjectKind::Role => remove_at(&mut p.roles, index),
            ObjectKind::ClusterRole => remove_at(&mut p.cluster_roles, index),
            ObjectKind::RoleBinding => remove_at(&mut p.role_bindings, index),
            ObjectKind::ClusterRoleBinding => remove_at(&mut p.cluster_role_bindings, index),
            ObjectKind::GlobalRole => remove_at(&mut p.global_roles, index),
            ObjectKind::GlobalRoleBinding => remove_at(&mut p.global_role_bindings, index),
            ObjectKind::WorkspaceRole => remove_at(&mut p.workspace_roles, index),
            ObjectKind::WorkspaceRoleBinding => remove_at(&mut p.workspace_role_bindings, index),
            ObjectKind::Namespace => remove_at(&mut p.namespaces, index),
        }
        if !self.bulk {
            self.compiler.remove(kind, seq, &key.0, &key.1);
        }
        true
    }
}

/// The metadata of every object of `kind`, in order.
fn metadata_of(policy: &Policy, kind: ObjectKind) -> Vec<&ObjectMeta> {
    let p = policy;
    match kind {
        ObjectKind::Role => p.roles.iter().map(|o| &o.metadata).collect(),
        ObjectKind::ClusterRole => p.cluster_roles.iter().map(|o| &o.metadata).collect(),
        ObjectKind::RoleBinding => p.role_bindings.iter().map(|o| &o.metadata).collect(),
        ObjectKind::ClusterRoleBinding => (p.cluster_role_bindings.iter())
            .map(|o| &o.metadata)
            .collect(),
        ObjectKind::GlobalRole => p.global_roles.iter().map(|o| &o.metadata).collect(),
        ObjectKind::GlobalRoleBinding => (p.global_role_bindings.iter())
            .map(|o| &o.metadata)
            .collect(),
        ObjectKind::WorkspaceRole => p.workspace_roles.iter().map(|o| &o.metadata).collect(),
        ObjectKind::WorkspaceRoleBinding => (p.workspace_role_bindings.iter())
            .map(|o| &o.metadata)
            .collect(),
        ObjectKind::Namespace => p.namespaces.iter().map(|o| &o.metadata).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_policy_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<LivePolicy>();
        assert_send_sync::<CurrentSnapshot>();
        assert_send_sync::<Change>();
    }

    #[test]
    fn kinds_parse_back() {
        for kind in ObjectKind::ALL {
            assert_eq!(ObjectKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ObjectKind::parse("role"), None);
    }
}
