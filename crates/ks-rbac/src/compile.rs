//! The compiler behind [`PolicySnapshot::build`] and
//! [`LivePolicy`](crate::LivePolicy).
//!
//! It keeps what snapshots are made of, in a form that takes changes to
//! single objects:
//!
//! - the interned strings, append-only (ids never change, so everything
//!   compiled stays valid): a large shared base table and a small delta of
//!   newer strings, folded into a copy of the base when it grows;
//! - one role slot per role key (kind, namespace for Roles, name), whether
//!   or not the role exists, and the aggregation graph between slots
//!   (annotation names point at slots; selectors at existing
//!   ClusterRoles), so creating, changing or deleting a role recomputes
//!   the effective rules of the roles that reach it and never touches a
//!   binding;
//! - the bindings of each scope, ordered by their position in the policy;
//!   a change rebuilds the index of the shards it leaves and enters.
//!
//! [`Compiler::publish`] turns the pieces touched since the last call
//! into new `Arc`s and shares the others with the previous snapshot.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use ks_request_info::selector;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::aggregation::label_selector;
use crate::grant::{
    BindingKind, GROUP_KIND, RoleKind, SERVICE_ACCOUNT_KIND, SERVICE_ACCOUNT_PREFIX, USER_KIND,
    Unresolved, service_account_namespace,
};
use crate::live::ObjectKind;
use crate::matching::ALL;
use crate::snapshot::{
    BindingShard, CompiledBinding, CompiledRole, CompiledRule, CompiledSubject, IdSet, RoleTable,
    ScopeKey, ShardMap, StringTable, Strings, SubjectKey, UrlPattern,
};
use crate::{Policy, PolicySnapshot};

/// The namespace id in the slot key of a role that is not a Role.
const NO_NAMESPACE: u32 = u32::MAX;

/// The delta string table is folded into (a copy of) the base once it
/// holds this many entries, or 1/128 of the base if that is more. Each
/// publication that adds strings copies the delta, and a fold copies the
/// base (about 12 ms at 100k strings): this bounds the first and spreads
/// the second.
const FOLD_MIN: usize = 1024;

/// A role key, and the role when it exists.
struct Slot {
    kind: RoleKind,
    name: Box<str>,
    role: Option<RoleDef>,
    /// Slots whose role aggregates this one, by annotation or selector.
    aggregated_by: FxHashSet<u32>,
}

/// A role as the compiler keeps it.
struct RoleDef {
    /// Position in the policy (order among the roles of its kind).
    seq: u64,
    own: Arc<CompiledRole>,
    /// The slots named by `iam.kubesphere.io/aggregation-roles`, in order.
    names: Vec<u32>,
    /// Whether the annotation is present (its role may be warned about).
    annotated: bool,
    annotation_error: Option<String>,
    /// Valid `aggregationRule.clusterRoleSelectors`.
    selectors: Vec<selector::LabelSelector>,
    invalid_selectors: usize,
    /// Labels of a ClusterRole, which selectors match.
    labels: BTreeMap<String, String>,
    /// The other ClusterRoles its selectors select.
    selected: Vec<u32>,
    /// `names` and `selected`, sorted and deduplicated.
    aggregates: Vec<u32>,
}

impl RoleDef {
    fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.selectors.iter().any(|s| s.matches(labels))
    }

    fn may_warn(&self) -> bool {
        self.annotated || self.invalid_selectors > 0
    }

    fn set_aggregates(&mut self) {
        let mut all = self.names.clone();
        all.extend_from_slice(&self.selected);
        all.sort_unstable();
        all.dedup();
        self.aggregates = all;
    }
}

/// The incremental compiler. See the [module docs](self).
#[derive(Default)]
pub(crate) struct Compiler {
    strings: Strings,
    slot_of: FxHashMap<(RoleKind, u32, u32), u32>,
    slots: Vec<Slot>,
    roles: Arc<RoleTable>,
    /// Slots of existing ClusterRoles.
    cluster_roles: FxHashSet<u32>,
    /// Slots of existing ClusterRoles with valid selectors.
    selecting: FxHashSet<u32>,
    /// Roles that may produce warnings, in warning order.
    may_warn: BTreeMap<(RoleKind, u64), u32>,
    roles_changed: bool,
    warnings: Arc<Vec<String>>,
    /// A full build: effective rules are computed once, by `publish`.
    deferred: bool,
    /// Every binding, by kind and position, with the scope it is in.
    placed: FxHashMap<(BindingKind, u64), Option<ScopeKey>>,
    members: FxHashMap<ScopeKey, BTreeMap<u64, Arc<CompiledBinding>>>,
    dirty: FxHashSet<ScopeKey>,
    global: Arc<BindingShard>,
    cluster: Arc<BindingShard>,
    workspaces: ShardMap,
    namespaces: ShardMap,
    namespace_workspace: Arc<FxHashMap<u32, u32>>,
}

fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

fn namespace(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("")
}

/// The table new entries go to: the base while no snapshot shares it (a
/// full build), else the delta.
fn writable(strings: &mut Strings) -> &mut StringTable {
    if Arc::get_mut(&mut strings.base).is_none() {
        return Arc::make_mut(&mut strings.delta);
    }
    Arc::make_mut(&mut strings.base)
}

fn intern(strings: &mut Strings, s: &str) -> u32 {
    if let Some(id) = strings.get(s) {
        return id;
    }
    let id = u32::try_from(strings.count()).unwrap_or(u32::MAX);
    writable(strings).insert(s.into(), id);
    id
}

/// Interns `s` and returns the table's copy, to share.
fn shared(strings: &mut Strings, s: &str) -> Arc<str> {
    let found = (strings.base.ids().get_key_value(s))
        .or_else(|| strings.delta.ids().get_key_value(s))
        .map(|(k, _)| Arc::clone(k));
    if let Some(k) = found {
        return k;
    }
    let id = u32::try_from(strings.count()).unwrap_or(u32::MAX);
    let k: Arc<str> = s.into();
    writable(strings).insert(Arc::clone(&k), id);
    k
}

pub(crate) fn compile_rule(strings: &mut Strings, rule: &PolicyRule) -> CompiledRule {
    let list = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
    let mut set = |items: &[String]| -> IdSet {
        let mut ids: Vec<u32> = items.iter().map(|i| intern(strings, i)).collect();
        ids.sort_unstable();
        ids.dedup();
        IdSet {
            all: items.iter().any(|i| i == ALL),
            ids: ids.into(),
        }
    };
    let verbs = set(&rule.verbs);
    let groups = set(&list(&rule.api_groups));
    let resource_list = list(&rule.resources);
    let resources = set(&resource_list);
    let names = rule
        .resource_names
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(|n| set(n).ids);
    let mut any_subresource = Vec::new();
    for r in &resource_list {
        if let Some(sub) = r.strip_prefix("*/")
            && !sub.is_empty()
        {
            any_subresource.push(intern(strings, sub));
        }
        // Every way `r` can be `resource/subresource`.
        let whole = intern(strings, r);
        for (i, _) in r.match_indices('/') {
            let head = intern(strings, &r[..i]);
            let tail = intern(strings, &r[i + 1..]);
            // The value is always the id of the whole string, so a stale
            // entry (its rule since removed) never changes a decision.
            if strings.combined((head, tail)).is_none() {
                writable(strings).combined.insert((head, tail), whole);
            }
        }
    }
    let urls = list(&rule.non_resource_urls)
        .into_iter()
        .map(|u| {
            if u == ALL {
                UrlPattern::All
            } else if u.ends_with('*') {
                UrlPattern::Prefix(u.into())
            } else {
                UrlPattern::Exact(u.into())
            }
        })
        .collect();
    CompiledRule {
        source: rule.clone(),
        verbs,
        groups,
        resources,
        any_subresource: any_subresource.into(),
        names,
        urls,
    }
}

fn subject_key(strings: &mut Strings, subject: &Subject, binding_ns: &str) -> Option<SubjectKey> {
    match subject.kind.as_str() {
        USER_KIND => Some(SubjectKey::User(intern(strings, &subject.name))),
        GROUP_KIND => Some(SubjectKey::Group(intern(strings, &subject.name))),
        SERVICE_ACCOUNT_KIND => {
            let ns = service_account_namespace(subject, binding_ns);
            (!ns.is_empty()).then(|| {
                let user = format!("{SERVICE_ACCOUNT_PREFIX}{ns}:{}", subject.name);
                SubjectKey::User(intern(strings, &user))
            })
        }
        _ => None,
    }
}

/// Positions of the items that count: the last of each key, in their
/// original order.
fn live<T>(items: &[T], key: impl Fn(&T) -> (&str, &str)) -> Vec<usize> {
    let mut last: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    for (i, item) in items.iter().enumerate() {
        last.insert(key(item), i);
    }
    (items.iter().enumerate())
        .filter(|(i, item)| last.get(&key(item)) == Some(i))
        .map(|(i, _)| i)
        .collect()
}

fn key(meta: &ObjectMeta, namespaced: bool) -> (&str, &str) {
    let ns = if namespaced { namespace(meta) } else { "" };
    (ns, name(meta))
}

impl Compiler {
    /// A compiler holding `policy` (where two objects share a key, the
    /// last counts, at its own position). Positions are the objects'
    /// indices in their vectors.
    pub(crate) fn build(policy: &Policy) -> Compiler {
        let mut c = Compiler {
            deferred: true,
            ..Compiler::default()
        };
        let p = policy;
        let positions = [
            (ObjectKind::Role, live(&p.roles, |o| key(&o.metadata, true))),
            (
                ObjectKind::ClusterRole,
                live(&p.cluster_roles, |o| key(&o.metadata, false)),
            ),
            (
                ObjectKind::GlobalRole,
                live(&p.global_roles, |o| key(&o.metadata, false)),
            ),
            (
                ObjectKind::WorkspaceRole,
                live(&p.workspace_roles, |o| key(&o.metadata, false)),
            ),
            (
                ObjectKind::Namespace,
                live(&p.namespaces, |o| key(&o.metadata, false)),
            ),
            (
                ObjectKind::GlobalRoleBinding,
                live(&p.global_role_bindings, |o| key(&o.metadata, false)),
            ),
            (
                ObjectKind::WorkspaceRoleBinding,
                live(&p.workspace_role_bindings, |o| key(&o.metadata, false)),
            ),
            (
                ObjectKind::RoleBinding,
                live(&p.role_bindings, |o| key(&o.metadata, true)),
            ),
            (
                ObjectKind::ClusterRoleBinding,
                live(&p.cluster_role_bindings, |o| key(&o.metadata, false)),
            ),
        ];
        for (kind, positions) in positions {
            for pos in positions {
                c.upsert_at(policy, kind, pos as u64, pos);
            }
        }
        c
    }

    /// Number of interned strings.
    pub(crate) fn string_count(&self) -> usize {
        self.strings.count()
    }

    /// Compiles the object of `kind` at index `pos` of its vector in
    /// `policy`, at position `seq` among the objects of its kind; it
    /// replaces the one with the same key.
    pub(crate) fn upsert_at(&mut self, policy: &Policy, kind: ObjectKind, seq: u64, pos: usize) {
        let p = policy;
        match kind {
            ObjectKind::Role => {
                if let Some(r) = p.roles.get(pos) {
                    let rules = r.rules.as_deref().unwrap_or_default();
                    self.upsert_role(RoleKind::Role, seq, &r.metadata, rules, &[]);
                }
            }
            ObjectKind::ClusterRole => {
                if let Some(r) = p.cluster_roles.get(pos) {
                    let rules = r.rules.as_deref().unwrap_or_default();
                    let selectors = (r.aggregation_rule.as_ref())
                        .and_then(|a| a.cluster_role_selectors.as_deref())
                        .unwrap_or_default();
                    self.upsert_role(RoleKind::ClusterRole, seq, &r.metadata, rules, selectors);
                }
            }
            ObjectKind::GlobalRole => {
                if let Some(r) = p.global_roles.get(pos) {
                    self.upsert_role(RoleKind::GlobalRole, seq, &r.metadata, &r.rules, &[]);
                }
            }
            ObjectKind::WorkspaceRole => {
                if let Some(r) = p.workspace_roles.get(pos) {
                    self.upsert_role(RoleKind::WorkspaceRole, seq, &r.metadata, &r.rules, &[]);
                }
            }
            ObjectKind::Namespace => {
                if let Some(n) = p.namespaces.get(pos) {
                    let workspace = ks_types::meta::workspace_of(&n.metadata);
                    self.set_namespace(name(&n.metadata), workspace);
                }
            }
            ObjectKind::GlobalRoleBinding => {
                if let Some(b) = p.global_role_bindings.get(pos) {
                    let kind = BindingKind::GlobalRoleBinding;
                    self.upsert_binding(kind, seq, &b.metadata, &b.subjects, &b.role_ref);
                }
            }
            ObjectKind::WorkspaceRoleBinding => {
                if let Some(b) = p.workspace_role_bindings.get(pos) {
                    let kind = BindingKind::WorkspaceRoleBinding;
                    self.upsert_binding(kind, seq, &b.metadata, &b.subjects, &b.role_ref);
                }
            }
            ObjectKind::RoleBinding => {
                if let Some(b) = p.role_bindings.get(pos) {
                    let subjects = b.subjects.as_deref().unwrap_or_default();
                    let kind = BindingKind::RoleBinding;
                    self.upsert_binding(kind, seq, &b.metadata, subjects, &b.role_ref);
                }
            }
            ObjectKind::ClusterRoleBinding => {
                if let Some(b) = p.cluster_role_bindings.get(pos) {
                    let subjects = b.subjects.as_deref().unwrap_or_default();
                    let kind = BindingKind::ClusterRoleBinding;
                    self.upsert_binding(kind, seq, &b.metadata, subjects, &b.role_ref);
                }
            }
        }
    }

    /// Forgets the object of `kind` at position `seq`, keyed `namespace`
    /// (Roles and RoleBindings) and `name`.
    pub(crate) fn remove(&mut self, kind: ObjectKind, seq: u64, namespace: &str, name: &str) {
        match kind {
            ObjectKind::Role => self.delete_role(RoleKind::Role, namespace, name),
            ObjectKind::ClusterRole => self.delete_role(RoleKind::ClusterRole, "", name),
            ObjectKind::GlobalRole => self.delete_role(RoleKind::GlobalRole, "", name),
            ObjectKind::WorkspaceRole => self.delete_role(RoleKind::WorkspaceRole, "", name),
            ObjectKind::Namespace => self.set_namespace(name, None),
            ObjectKind::GlobalRoleBinding => {
                self.remove_binding(BindingKind::GlobalRoleBinding, seq)
            }
            ObjectKind::WorkspaceRoleBinding => {
                self.remove_binding(BindingKind::WorkspaceRoleBinding, seq)
            }
            ObjectKind::RoleBinding => self.remove_binding(BindingKind::RoleBinding, seq),
            ObjectKind::ClusterRoleBinding => {
                self.remove_binding(BindingKind::ClusterRoleBinding, seq)
            }
        }
    }

    // ---- Namespaces ----

    fn set_namespace(&mut self, ns: &str, workspace: Option<&str>) {
        let Some(workspace) = workspace else {
            if let Some(ns) = self.strings.get(ns)
                && self.namespace_workspace.contains_key(&ns)
            {
                Arc::make_mut(&mut self.namespace_workspace).remove(&ns);
            }
            return;
        };
        let ns = intern(&mut self.strings, ns);
        let ws = intern(&mut self.strings, workspace);
        if self.namespace_workspace.get(&ns) != Some(&ws) {
            Arc::make_mut(&mut self.namespace_workspace).insert(ns, ws);
        }
    }

    // ---- Bindings ----

    fn upsert_binding(
        &mut self,
        kind: BindingKind,
        seq: u64,
        meta: &ObjectMeta,
        subjects: &[Subject],
        role_ref: &RoleRef,
    ) {
        // Only a RoleBinding has a namespace: it scopes the binding and
        // defaults its service accounts' namespace.
        let binding_ns = if kind == BindingKind::RoleBinding {
            namespace(meta)
        } else {
            ""
        };
        let scope = match kind {
            BindingKind::GlobalRoleBinding => Some(ScopeKey::Global),
            BindingKind::WorkspaceRoleBinding => ks_types::meta::workspace_of(meta)
                .map(|w| ScopeKey::Workspace(intern(&mut self.strings, w))),
            BindingKind::RoleBinding => (!binding_ns.is_empty())
                .then(|| ScopeKey::Namespace(intern(&mut self.strings, binding_ns))),
            BindingKind::ClusterRoleBinding => Some(ScopeKey::Cluster),
        };
        let strings = &mut self.strings;
        let subjects = (subjects.iter())
            .map(|s| CompiledSubject {
                kind: shared(strings, &s.kind),
                name: shared(strings, &s.name),
                namespace: s.namespace.as_deref().map(|n| shared(strings, n)),
                api_group: s.api_group.as_deref().map(|g| shared(strings, g)),
                // A binding that applies nowhere is indexed nowhere.
                key: scope.and_then(|_| subject_key(strings, s, binding_ns)),
            })
            .collect();
        let binding = Arc::new(CompiledBinding {
            kind,
            name: name(meta).into(),
            namespace: shared(strings, binding_ns),
            role_kind: shared(strings, &role_ref.kind),
            role_name: shared(strings, &role_ref.name),
            subjects,
            role: self.resolve(role_ref, binding_ns),
        });
        self.remove_binding(kind, seq);
        self.placed.insert((kind, seq), scope);
        if let Some(scope) = scope {
            self.members.entry(scope).or_default().insert(seq, binding);
            self.dirty.insert(scope);
        }
    }

    fn remove_binding(&mut self, kind: BindingKind, seq: u64) {
        if let Some(Some(scope)) = self.placed.remove(&(kind, seq)) {
            if let Some(members) = self.members.get_mut(&scope) {
                members.remove(&seq);
            }
            self.dirty.insert(scope);
        }
    }

    /// The slot a roleRef names (KubeSphere's `GetRoleReferenceRules`:
    /// by kind alone; a Role in the binding's namespace).
    fn resolve(&mut self, role_ref: &RoleRef, binding_ns: &str) -> Result<u32, Unresolved> {
        let kind = RoleKind::parse(&role_ref.kind).ok_or(Unresolved::UnsupportedKind)?;
        if kind == RoleKind::Role && binding_ns.is_empty() {
            return Err(Unresolved::MissingRole);
        }
        Ok(self.slot(kind, binding_ns, &role_ref.name))
    }

    // ---- Roles ----

    /// The slot of a role key, made if new.
    fn slot(&mut self, kind: RoleKind, ns: &str, role_name: &str) -> u32 {
        let ns = if kind == RoleKind::Role {
            intern(&mut self.strings, ns)
        } else {
            NO_NAMESPACE
        };
        let name_id = intern(&mut self.strings, role_name);
        let slots = &mut self.slots;
        *self.slot_of.entry((kind, ns, name_id)).or_insert_with(|| {
            slots.push(Slot {
                kind,
                name: role_name.into(),
                role: None,
                aggregated_by: FxHashSet::default(),
            });
            (slots.len() - 1) as u32
        })
    }

    fn upsert_role(
        &mut self,
        kind: RoleKind,
        seq: u64,
        meta: &ObjectMeta,
        rules: &[PolicyRule],
        selectors: &[LabelSelector],
    ) {
        let ns = if kind == RoleKind::Role {
            namespace(meta)
        } else {
            ""
        };
        let x = self.slot(kind, ns, name(meta));
        let own = CompiledRole {
            rules: (rules.iter())
                .map(|r| Arc::new(compile_rule(&mut self.strings, r)))
                .collect(),
        };
        // Annotation names are of the same kind (and, for a Role, in its
        // namespace).
        let (names, annotated, annotation_error) = match ks_types::meta::aggregation_roles(meta) {
            Ok(Some(list)) => {
                let names = list.iter().map(|n| self.slot(kind, ns, n)).collect();
                (names, true, None)
            }
            Ok(None) => (Vec::new(), false, None),
            Err(e) => (Vec::new(), true, Some(e.to_string())),
        };
        let mut built = Vec::new();
        let mut invalid_selectors = 0;
        for s in selectors {
            match label_selector(s) {
                Some(s) => built.push(s),
                None => invalid_selectors += 1,
            }
        }
        let labels = match kind {
            RoleKind::ClusterRole => meta.labels.clone().unwrap_or_default(),
            _ => BTreeMap::new(),
        };
        let role = RoleDef {
            seq,
            own: Arc::new(own),
            names,
            annotated,
            annotation_error,
            selectors: built,
            invalid_selectors,
            labels,
            selected: Vec::new(),
            aggregates: Vec::new(),
        };
        self.set_role(x, Some(role));
    }

    fn delete_role(&mut self, kind: RoleKind, ns: &str, role_name: &str) {
        let ns = match kind {
            RoleKind::Role => self.strings.get(ns),
            _ => Some(NO_NAMESPACE),
        };
        let slot = ns
            .zip(self.strings.get(role_name))
            .and_then(|(ns, n)| self.slot_of.get(&(kind, ns, n)).copied());
        if let Some(x) = slot
            && self.slots.get(x as usize).is_some_and(|s| s.role.is_some())
        {
            self.set_role(x, None);
        }
    }

    /// Sets (or clears) the role of slot `x`, updates the aggregation
    /// graph, and recomputes the effective rules of every role that could
    /// see a difference.
    fn set_role(&mut self, x: u32, new: Option<RoleDef>) {
        self.roles_changed = true;
        let kind = self.slots[x as usize].kind;
        // ClusterRoles whose selectors start or stop selecting x.
        let mut reselect: Vec<(u32, bool)> = Vec::new();
        if kind == RoleKind::ClusterRole {
            for &s in &self.selecting {
                let Some(by) = self.slots[s as usize].role.as_ref() else {
                    continue;
                };
                if s == x {
                    continue;
                }
                let was = by.selected.contains(&x);
                let now = new.as_ref().is_some_and(|n| by.selects(&n.labels));
                if was != now {
                    reselect.push((s, now));
                }
            }
        }
        // A role's effective rules can change only if, through the graph
        // as it is now, it reaches x (whose own rules change) or a role
        // whose edges change.
        let affected = if self.deferred {
            Vec::new()
        } else {
            let mut seeds = vec![x];
            seeds.extend(reselect.iter().map(|&(s, _)| s));
            self.reaching(seeds)
        };

        if let Some(old) = self.slots[x as usize].role.take() {
            for &t in &old.aggregates {
                self.slots[t as usize].aggregated_by.remove(&x);
            }
            self.may_warn.remove(&(kind, old.seq));
        }
        self.selecting.remove(&x);
        self.cluster_roles.remove(&x);
        if let Some(mut role) = new {
            if kind == RoleKind::ClusterRole {
                if !role.selectors.is_empty() {
                    let slots = &self.slots;
                    let mut selected: Vec<u32> = (self.cluster_roles.iter().copied())
                        .filter(|&y| {
                            (slots[y as usize].role.as_ref())
                                .is_some_and(|r| role.selects(&r.labels))
                        })
                        .collect();
                    selected.sort_unstable();
                    role.selected = selected;
                    self.selecting.insert(x);
                }
                self.cluster_roles.insert(x);
            }
            role.set_aggregates();
            for &t in &role.aggregates {
                self.slots[t as usize].aggregated_by.insert(x);
            }
            if role.may_warn() {
                self.may_warn.insert((kind, role.seq), x);
            }
            self.slots[x as usize].role = Some(role);
        }
        for (s, now) in reselect {
            let Some(by) = self.slots[s as usize].role.as_mut() else {
                continue;
            };
            if now {
                by.selected.push(x);
            } else {
                by.selected.retain(|&y| y != x);
            }
            by.set_aggregates();
            let edge = by.aggregates.binary_search(&x).is_ok();
            let target = &mut self.slots[x as usize].aggregated_by;
            if edge {
                target.insert(s);
            } else {
                target.remove(&s);
            }
        }

        if !affected.is_empty() {
            let updates: Vec<(u32, Option<Arc<CompiledRole>>)> = affected
                .into_iter()
                .map(|z| (z, self.effective(z)))
                .collect();
            let table = Arc::make_mut(&mut self.roles);
            for (z, role) in updates {
                let z = z as usize;
                if table.len() <= z {
                    if role.is_none() {
                        continue;
                    }
                    table.resize(z + 1, None);
                }
                table[z] = role;
            }
        }
    }

    /// `seeds` and every slot that aggregates one of them, transitively.
    fn reaching(&self, seeds: Vec<u32>) -> Vec<u32> {
        let mut seen: FxHashSet<u32> = seeds.iter().copied().collect();
        let mut pending = seeds;
        while let Some(r) = pending.pop() {
            for &p in &self.slots[r as usize].aggregated_by {
                if seen.insert(p) {
                    pending.push(p);
                }
            }
        }
        seen.into_iter().collect()
    }

    /// The effective rules of slot `z`: its role's own rules, then the own
    /// rules of every other role it reaches, in policy order.
    fn effective(&self, z: u32) -> Option<Arc<CompiledRole>> {
        let role = self.slots.get(z as usize)?.role.as_ref()?;
        if role.aggregates.is_empty() {
            return Some(role.own.clone());
        }
        let mut seen = FxHashSet::default();
        seen.insert(z);
        let mut pending = vec![z];
        let mut reached: Vec<(u64, u32)> = Vec::new();
        while let Some(r) = pending.pop() {
            let Some(role) = self.slots[r as usize].role.as_ref() else {
                continue;
            };
            for &t in &role.aggregates {
                if seen.insert(t) {
                    pending.push(t);
                    if let Some(target) = &self.slots[t as usize].role {
                        reached.push((target.seq, t));
                    }
                }
            }
        }
        if reached.iter().all(|&(_, t)| {
            (self.slots[t as usize].role.as_ref()).is_none_or(|r| r.own.rules.is_empty())
        }) {
            return Some(role.own.clone());
        }
        reached.sort_unstable();
        let mut rules = role.own.rules.to_vec();
        for (_, t) in reached {
            if let Some(target) = &self.slots[t as usize].role {
                rules.extend(target.own.rules.iter().cloned());
            }
        }
        Some(Arc::new(CompiledRole {
            rules: rules.into(),
        }))
    }

    /// The warnings of [`PolicySnapshot::warnings`], in the order roles
    /// are listed (kind, then position).
    fn collect_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (&(kind, _), &x) in &self.may_warn {
            let slot = &self.slots[x as usize];
            let Some(role) = &slot.role else {
                continue;
            };
            if let Some(e) = &role.annotation_error {
                out.push(format!(
                    "{kind} {:?}: {e}; it aggregates nothing",
                    slot.name
                ));
            }
            for &n in &role.names {
                let target = &self.slots[n as usize];
                if target.role.is_none() {
                    out.push(format!(
                        "{kind} {:?} aggregates {kind} {:?}, which does not exist",
                        slot.name, target.name
                    ));
                }
            }
            for _ in 0..role.invalid_selectors {
                out.push(format!(
                    "ClusterRole {:?} has an invalid aggregation selector; it selects nothing",
                    slot.name
                ));
            }
        }
        out
    }

    // ---- Publication ----

    /// Moves the delta string table into (a copy of) the base once it is
    /// large enough that lookups missing both tables start to cost.
    fn fold_strings(&mut self) {
        let delta = self.strings.delta.len();
        if delta == 0 || delta < FOLD_MIN.max(self.strings.base.len() / 128) {
            return;
        }
        let delta = std::mem::take(&mut self.strings.delta);
        Arc::make_mut(&mut self.strings.base).extend(&delta);
    }

    /// A snapshot of the objects as they are now: the pieces changed since
    /// the last call are rebuilt, the others shared.
    pub(crate) fn publish(&mut self) -> PolicySnapshot {
        if self.deferred {
            self.deferred = false;
            let table: RoleTable = (0..self.slots.len() as u32)
                .map(|z| self.effective(z))
                .collect();
            self.roles = Arc::new(table);
            self.roles_changed = true;
        }
        if self.roles_changed {
            self.roles_changed = false;
            self.warnings = Arc::new(self.collect_warnings());
        }
        let dirty: Vec<ScopeKey> = self.dirty.drain().collect();
        for scope in dirty {
            let shard = match self.members.get(&scope) {
                Some(m) if !m.is_empty() => {
                    Some(Arc::new(BindingShard::new(m.values().cloned().collect())))
                }
                _ => {
                    self.members.remove(&scope);
                    None
                }
            };
            match scope {
                ScopeKey::Global => self.global = shard.unwrap_or_default(),
                ScopeKey::Cluster => self.cluster = shard.unwrap_or_default(),
                ScopeKey::Workspace(w) => self.workspaces.set(w, shard),
                ScopeKey::Namespace(n) => self.namespaces.set(n, shard),
            }
        }
        self.fold_strings();
        PolicySnapshot {
            strings: self.strings.clone(),
            roles: self.roles.clone(),
            global: self.global.clone(),
            cluster: self.cluster.clone(),
            workspaces: self.workspaces.clone(),
            namespaces: self.namespaces.clone(),
            namespace_workspace: self.namespace_workspace.clone(),
            warnings: self.warnings.clone(),
            binding_count: self.placed.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Attributes;

    #[test]
    fn combined_resources_split_at_every_slash() {
        let mut strings = Strings::default();
        let rule = PolicyRule {
            verbs: vec!["get".into()],
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["a/b/c".into(), "*/log".into()]),
            ..Default::default()
        };
        let compiled = compile_rule(&mut strings, &rule);
        let s = PolicySnapshot {
            strings,
            ..PolicySnapshot::default()
        };
        let check = |resource, subresource| {
            let attrs = Attributes {
                verb: "get",
                resource,
                subresource,
                is_resource_request: true,
                ..Attributes::default()
            };
            compiled.allows(&s.request(&attrs))
        };
        assert!(check("a", "b/c"));
        assert!(check("a/b", "c"));
        assert!(check("a/b/c", ""));
        assert!(!check("a", "b"));
        assert!(check("pods", "log"));
        assert!(check("never-seen", "log"));
        assert!(!check("pods", "logs"));
    }

    #[test]
    fn strings_go_to_the_delta_once_the_base_is_shared() {
        let mut strings = Strings::default();
        let a = intern(&mut strings, "a");
        let shared = strings.clone();
        let b = intern(&mut strings, "b");
        assert_eq!((a, b), (0, 1));
        assert_eq!(strings.base.ids().len(), 1);
        assert_eq!(strings.delta.ids().len(), 1);
        assert_eq!(intern(&mut strings, "a"), 0);
        assert_eq!(strings.get("b"), Some(1));
        assert_eq!(shared.get("b"), None);
    }
}
