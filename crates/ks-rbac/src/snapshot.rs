//! The compiled, immutable, indexed policy: [`PolicySnapshot`].
//!
//! Built once from a [`Policy`] (rebuild it on every change and swap it
//! atomically), it answers exactly as the [`reference`](mod@crate::reference)
//! walk does, in time set by the requester's own bindings:
//!
//! - every string of the policy is interned to a `u32`, and each rule is
//!   compiled to sorted id lists, so matching compares integers; a request
//!   string the policy never mentions has no id and can only be matched by a
//!   wildcard;
//! - bindings are indexed by scope (global, a workspace, a namespace,
//!   cluster) and subject (a user name, a group name; service accounts are
//!   the user `system:serviceaccount:NS:NAME`), so a decision probes
//!   `1 + groups` lists per scope and never looks at other users' bindings;
//! - aggregation (ClusterRole `aggregationRule` and KubeSphere's
//!   `iam.kubesphere.io/aggregation-roles`) and roleRef resolution happen at
//!   build time.
//!
//! [`PolicySnapshot::decide`] allocates nothing, on the allow path and the
//! deny path: it returns a small `Copy` [`Decision`] that points at the
//! binding and rule that allowed, and [`PolicySnapshot::explain`] renders
//! the reason only when asked. The binding it reports is the one the
//! reference walk reports (the first in walk order), so reasons agree too.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use ks_request_info::ResourceScope;

use crate::aggregation::{any_built_selector_matches, label_selector};
use crate::authorizer::{self, RuleSource, Verdict, Visit, allow_reason, deny_reason};
use crate::grant::{
    BindingKind, BindingRef, GROUP_KIND, Grant, ResolutionError, RoleKind, SERVICE_ACCOUNT_KIND,
    SERVICE_ACCOUNT_PREFIX, USER_KIND, Unresolved, first_applying_subject,
    service_account_namespace,
};
use crate::matching::{ALL, url_entry_matches};
use crate::{Attributes, Policy};
use rustc_hash::FxHashMap;

/// Interned strings: one id space for every name in the policy.
#[derive(Debug, Default)]
struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    strings: Vec<Box<str>>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        self.ids.insert(s.into(), id);
        self.strings.push(s.into());
        id
    }

    #[inline]
    fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }
}

/// One field of a compiled rule: a wildcard, or a sorted set of ids.
#[derive(Debug, Default)]
struct IdSet {
    all: bool,
    ids: Box<[u32]>,
}

impl IdSet {
    #[inline]
    fn matches(&self, id: Option<u32>) -> bool {
        self.all || id.is_some_and(|id| self.contains(id))
    }

    #[inline]
    fn contains(&self, id: u32) -> bool {
        // Rules are short: a linear scan beats a binary search.
        self.ids.contains(&id)
    }
}

#[derive(Debug)]
enum UrlPattern {
    All,
    Exact(Box<str>),
    /// An entry ending in `*`, kept whole (matching trims it).
    Prefix(Box<str>),
}

/// A rule compiled to ids.
#[derive(Debug)]
struct CompiledRule {
    source: PolicyRule,
    verbs: IdSet,
    groups: IdSet,
    /// Whole resource entries (`pods`, `pods/log`, `*/log`); `all` for `*`.
    resources: IdSet,
    /// `X` of every `*/X` entry.
    any_subresource: Box<[u32]>,
    /// `None`: every name.
    names: Option<Box<[u32]>>,
    urls: Box<[UrlPattern]>,
}

/// A request resolved to ids.
struct Request<'a> {
    verb: Option<u32>,
    group: Option<u32>,
    /// The id of `resource` (no subresource) or of `resource/subresource`.
    resource: Option<u32>,
    subresource: Option<u32>,
    has_subresource: bool,
    name: Option<u32>,
    is_resource_request: bool,
    path: &'a str,
}

impl CompiledRule {
    #[inline]
    fn allows(&self, r: &Request<'_>) -> bool {
        if !self.verbs.matches(r.verb) {
            return false;
        }
        if !r.is_resource_request {
            return self.urls.iter().any(|u| match u {
                UrlPattern::All => true,
                UrlPattern::Exact(e) => **e == *r.path,
                UrlPattern::Prefix(p) => url_entry_matches(p, r.path),
            });
        }
        self.groups.matches(r.group)
            && (self.resources.matches(r.resource)
                || (r.has_subresource
                    && r.subresource
                        .is_some_and(|s| self.any_subresource.contains(&s))))
            && self
                .names
                .as_ref()
                .is_none_or(|names| r.name.is_some_and(|n| names.contains(&n)))
    }
}

#[derive(Debug)]
struct CompiledRole {
    /// Effective rules (own, then aggregated), as ids into `rules`.
    rules: Box<[u32]>,
}

#[derive(Debug)]
struct CompiledBinding {
    kind: BindingKind,
    name: Box<str>,
    /// Namespace of a RoleBinding; empty otherwise.
    namespace: Box<str>,
    role_ref: RoleRef,
    subjects: Box<[Subject]>,
    role: Result<u32, Unresolved>,
    /// The index bucket it lives in (`None`: it never applies, e.g. a
    /// WorkspaceRoleBinding without a workspace label).
    scope: Option<ScopeKey>,
}

impl CompiledBinding {
    fn binding_ref(&self) -> BindingRef<'_> {
        BindingRef {
            kind: self.kind,
            name: &self.name,
            namespace: &self.namespace,
            role_kind: &self.role_ref.kind,
            role_name: &self.role_ref.name,
        }
    }
}

/// Which bindings a bucket of the index holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ScopeKey {
    Global,
    Workspace(u32),
    Namespace(u32),
    Cluster,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum SubjectKey {
    User(u32),
    Group(u32),
}

/// How many of a requester's groups [`PolicySnapshot::decide`] resolves
/// once, on the stack; further groups are resolved per scope.
const CACHED_GROUPS: usize = 32;

/// The requester resolved to ids.
struct Requester {
    user: Option<u32>,
    group_ids: [u32; CACHED_GROUPS],
    known_groups: usize,
    /// More groups than `CACHED_GROUPS`.
    more_groups: bool,
}

impl Requester {
    #[inline]
    fn groups(&self) -> &[u32] {
        self.group_ids.get(..self.known_groups).unwrap_or_default()
    }
}

/// A decision of [`PolicySnapshot::decide`]: small, `Copy`, and built
/// without allocating. Render it with [`PolicySnapshot::explain`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// A rule allows the request.
    Allow(Allowed),
    /// No rule allows it.
    NoOpinion,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

/// Where an Allow came from: a binding and one rule of its role (indices
/// into the snapshot that decided).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Allowed {
    binding: u32,
    rule: u32,
}

/// A compiled, immutable policy. See the [module docs](self).
///
/// ```
/// use ks_rbac::{Attributes, Policy, PolicySnapshot};
/// use ks_request_info::ResourceScope;
///
/// let (policy, _) = Policy::from_yaml("inline", r#"
/// apiVersion: iam.kubesphere.io/v1alpha2
/// kind: GlobalRole
/// metadata: {name: users-viewer}
/// rules: [{apiGroups: ["iam.kubesphere.io"], resources: [users], verbs: [get, list]}]
/// ---
/// apiVersion: iam.kubesphere.io/v1alpha2
/// kind: GlobalRoleBinding
/// metadata: {name: bob-users-viewer}
/// roleRef: {apiGroup: iam.kubesphere.io, kind: GlobalRole, name: users-viewer}
/// subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
/// "#);
/// let snapshot = PolicySnapshot::build(&policy);
/// let attrs = Attributes {
///     user: "bob",
///     verb: "list",
///     api_group: "iam.kubesphere.io",
///     resource: "users",
///     resource_scope: Some(ResourceScope::Global),
///     is_resource_request: true,
///     ..Attributes::default()
/// };
/// let decision = snapshot.decide(&attrs); // no allocation
/// assert!(decision.is_allowed());
/// assert_eq!(
///     snapshot.explain(&attrs, decision),
///     r#"RBAC: allowed by GlobalRoleBinding "bob-users-viewer" of GlobalRole "users-viewer" to User "bob""#
/// );
/// ```
#[derive(Debug, Default)]
pub struct PolicySnapshot {
    strings: Interner,
    /// `(id of head, id of tail)` -> id of `head/tail`, for every resource
    /// entry containing `/` split at each `/`.
    combined: FxHashMap<(u32, u32), u32>,
    rules: Vec<CompiledRule>,
    roles: Vec<CompiledRole>,
    bindings: Vec<CompiledBinding>,
    index: FxHashMap<(ScopeKey, SubjectKey), (u32, u32)>,
    lists: Vec<u32>,
    namespace_workspace: FxHashMap<u32, u32>,
    warnings: Vec<String>,
}

/// A role of any kind, as the builder sees it.
struct RoleSource<'p> {
    kind: RoleKind,
    meta: &'p ObjectMeta,
    rules: &'p [PolicyRule],
    selectors: &'p [LabelSelector],
}

fn view<'p>(
    kind: RoleKind,
    meta: &'p ObjectMeta,
    rules: Option<&'p Vec<PolicyRule>>,
) -> RoleSource<'p> {
    RoleSource {
        kind,
        meta,
        rules: rules.map(Vec::as_slice).unwrap_or_default(),
        selectors: &[],
    }
}

fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

fn namespace(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("")
}

/// Keeps the last of the items sharing a key, in their original order.
fn live<T>(items: &[T], key: impl Fn(&T) -> (&str, &str)) -> Vec<&T> {
    let mut last: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    for (i, item) in items.iter().enumerate() {
        last.insert(key(item), i);
    }
    (items.iter().enumerate())
        .filter(|(i, item)| last.get(&key(item)) == Some(i))
        .map(|(_, item)| item)
        .collect()
}

fn role_key(kind: RoleKind, meta: &ObjectMeta) -> (RoleKind, &str, &str) {
    let ns = if kind == RoleKind::Role {
        namespace(meta)
    } else {
        ""
    };
    (kind, ns, name(meta))
}

impl PolicySnapshot {
    /// Compiles `policy`. Never fails: what cannot be resolved (a missing
    /// role, an unknown roleRef kind) is kept and reported by decisions'
    /// reasons, and oddities of aggregation are listed by
    /// [`warnings`](Self::warnings).
    pub fn build(policy: &Policy) -> Self {
        let mut s = PolicySnapshot::default();

        // Roles: only the last of each key counts; each is compiled once.
        let mut sources: Vec<RoleSource<'_>> = Vec::new();
        for r in live(&policy.roles, |r| {
            (namespace(&r.metadata), name(&r.metadata))
        }) {
            sources.push(view(RoleKind::Role, &r.metadata, r.rules.as_ref()));
        }
        for r in live(&policy.cluster_roles, |r| ("", name(&r.metadata))) {
            sources.push(RoleSource {
                selectors: (r.aggregation_rule.as_ref())
                    .and_then(|a| a.cluster_role_selectors.as_deref())
                    .unwrap_or_default(),
                ..view(RoleKind::ClusterRole, &r.metadata, r.rules.as_ref())
            });
        }
        for r in live(&policy.global_roles, |r| ("", name(&r.metadata))) {
            sources.push(view(RoleKind::GlobalRole, &r.metadata, Some(&r.rules)));
        }
        for r in live(&policy.workspace_roles, |r| ("", name(&r.metadata))) {
            sources.push(view(RoleKind::WorkspaceRole, &r.metadata, Some(&r.rules)));
        }
        let by_key: FxHashMap<(RoleKind, &str, &str), usize> = (sources.iter().enumerate())
            .map(|(i, r)| (role_key(r.kind, r.meta), i))
            .collect();

        // Own rules of each role, compiled.
        let mut own: Vec<std::ops::Range<u32>> = Vec::with_capacity(sources.len());
        for r in &sources {
            let start = s.rules.len() as u32;
            for rule in r.rules {
                let compiled = s.compile_rule(rule);
                s.rules.push(compiled);
            }
            own.push(start..s.rules.len() as u32);
        }

        // Aggregation edges.
        let cluster_roles: Vec<usize> = (0..sources.len())
            .filter(|&i| sources[i].kind == RoleKind::ClusterRole)
            .collect();
        let mut edges: Vec<Vec<usize>> = vec![Vec::new(); sources.len()];
        for (i, r) in sources.iter().enumerate() {
            match ks_types::meta::aggregation_roles(r.meta) {
                Ok(Some(names)) => {
                    for n in names {
                        let k = (r.kind, role_key(r.kind, r.meta).1, n.as_str());
                        match by_key.get(&k) {
                            Some(&j) => edges[i].push(j),
                            None => s.warnings.push(format!(
                                "{} {:?} aggregates {} {:?}, which does not exist",
                                r.kind,
                                name(r.meta),
                                r.kind,
                                n
                            )),
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => s.warnings.push(format!(
                    "{} {:?}: {e}; it aggregates nothing",
                    r.kind,
                    name(r.meta)
                )),
            }
            // Each selector is built once, then matched against every
            // ClusterRole.
            let mut selectors = Vec::with_capacity(r.selectors.len());
            for sel in r.selectors {
                match label_selector(sel) {
                    Some(built) => selectors.push(built),
                    None => s.warnings.push(format!(
                        "ClusterRole {:?} has an invalid aggregation selector; it selects nothing",
                        name(r.meta)
                    )),
                }
            }
            if !selectors.is_empty() {
                for &j in &cluster_roles {
                    if j != i && any_built_selector_matches(&selectors, sources[j].meta) {
                        edges[i].push(j);
                    }
                }
            }
        }

        // Effective rules: own, then those of every reachable role in
        // policy order (sources are in policy order within a kind, and
        // aggregation never crosses kinds).
        for (i, range) in own.iter().enumerate() {
            let mut reached = BTreeSet::new();
            let mut pending = vec![i];
            while let Some(r) = pending.pop() {
                for &next in &edges[r] {
                    if next != i && reached.insert(next) {
                        pending.push(next);
                    }
                }
            }
            let mut rules: Vec<u32> = range.clone().collect();
            for j in reached {
                rules.extend(own[j].clone());
            }
            s.roles.push(CompiledRole {
                rules: rules.into(),
            });
        }

        // Bindings, in walk order; only the last of each key counts.
        let mut pending: Vec<(ScopeKey, SubjectKey, u32)> = Vec::new();
        let resolve = |role_ref: &RoleRef, ns: &str| -> Result<u32, Unresolved> {
            let kind = RoleKind::parse(&role_ref.kind).ok_or(Unresolved::UnsupportedKind)?;
            if kind == RoleKind::Role && ns.is_empty() {
                return Err(Unresolved::MissingRole);
            }
            let ns = if kind == RoleKind::Role { ns } else { "" };
            (by_key.get(&(kind, ns, role_ref.name.as_str())))
                .map(|&i| i as u32)
                .ok_or(Unresolved::MissingRole)
        };
        let mut add = |s: &mut PolicySnapshot,
                       kind: BindingKind,
                       meta: &ObjectMeta,
                       subjects: &[Subject],
                       role_ref: &RoleRef,
                       scope: Option<ScopeKey>| {
            let id = s.bindings.len() as u32;
            let binding_ns = if kind == BindingKind::RoleBinding {
                namespace(meta)
            } else {
                ""
            };
            if let Some(scope) = scope {
                for subject in subjects {
                    if let Some(key) = s.subject_key(subject, binding_ns) {
                        pending.push((scope, key, id));
                    }
                }
            }
            s.bindings.push(CompiledBinding {
                kind,
                name: name(meta).into(),
                namespace: binding_ns.into(),
                role_ref: role_ref.clone(),
                subjects: subjects.into(),
                role: resolve(role_ref, binding_ns),
                scope,
            });
        };
        for b in live(&policy.global_role_bindings, |b| ("", name(&b.metadata))) {
            let scope = Some(ScopeKey::Global);
            add(
                &mut s,
                BindingKind::GlobalRoleBinding,
                &b.metadata,
                &b.subjects,
                &b.role_ref,
                scope,
            );
        }
        for b in live(&policy.workspace_role_bindings, |b| ("", name(&b.metadata))) {
            let scope = ks_types::meta::label(&b.metadata, ks_types::meta::WORKSPACE_LABEL)
                .filter(|w| !w.is_empty())
                .map(|w| ScopeKey::Workspace(s.strings.intern(w)));
            add(
                &mut s,
                BindingKind::WorkspaceRoleBinding,
                &b.metadata,
                &b.subjects,
                &b.role_ref,
                scope,
            );
        }
        for b in live(&policy.role_bindings, |b| {
            (namespace(&b.metadata), name(&b.metadata))
        }) {
            let ns = namespace(&b.metadata);
            let scope = (!ns.is_empty()).then(|| ScopeKey::Namespace(s.strings.intern(ns)));
            let subjects = b.subjects.as_deref().unwrap_or_default();
            add(
                &mut s,
                BindingKind::RoleBinding,
                &b.metadata,
                subjects,
                &b.role_ref,
                scope,
            );
        }
        for b in live(&policy.cluster_role_bindings, |b| ("", name(&b.metadata))) {
            let subjects = b.subjects.as_deref().unwrap_or_default();
            let scope = Some(ScopeKey::Cluster);
            add(
                &mut s,
                BindingKind::ClusterRoleBinding,
                &b.metadata,
                subjects,
                &b.role_ref,
                scope,
            );
        }

        // The index: per (scope, subject), the binding ids in walk order.
        // A stable sort keeps the ids ascending within a bucket.
        pending
            .sort_by_key(|&(scope, subject, id)| (bucket_order(scope), subject_order(subject), id));
        pending.dedup();
        let mut i = 0;
        while i < pending.len() {
            let (scope, subject, _) = pending[i];
            let start = s.lists.len() as u32;
            while i < pending.len() && (pending[i].0, pending[i].1) == (scope, subject) {
                s.lists.push(pending[i].2);
                i += 1;
            }
            s.index
                .insert((scope, subject), (start, s.lists.len() as u32));
        }

        // Namespaces: the last object of a name counts.
        for n in live(&policy.namespaces, |n| ("", name(&n.metadata))) {
            if let Some(ws) = ks_types::meta::workspace_of(&n.metadata) {
                let ns = s.strings.intern(name(&n.metadata));
                let ws = s.strings.intern(ws);
                s.namespace_workspace.insert(ns, ws);
            }
        }
        s
    }

    fn subject_key(&mut self, subject: &Subject, binding_ns: &str) -> Option<SubjectKey> {
        match subject.kind.as_str() {
            USER_KIND => Some(SubjectKey::User(self.strings.intern(&subject.name))),
            GROUP_KIND => Some(SubjectKey::Group(self.strings.intern(&subject.name))),
            SERVICE_ACCOUNT_KIND => {
                let ns = service_account_namespace(subject, binding_ns);
                (!ns.is_empty()).then(|| {
                    let user = format!("{SERVICE_ACCOUNT_PREFIX}{ns}:{}", subject.name);
                    SubjectKey::User(self.strings.intern(&user))
                })
            }
            _ => None,
        }
    }

    fn compile_rule(&mut self, rule: &PolicyRule) -> CompiledRule {
        let list = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
        let mut set = |items: &[String]| -> IdSet {
            let mut ids: Vec<u32> = items.iter().map(|i| self.strings.intern(i)).collect();
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
                any_subresource.push(self.strings.intern(sub));
            }
            // Every way `r` can be `resource/subresource`.
            let whole = self.strings.intern(r);
            for (i, _) in r.match_indices('/') {
                let head = self.strings.intern(&r[..i]);
                let tail = self.strings.intern(&r[i + 1..]);
                self.combined.insert((head, tail), whole);
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

    /// Resolves the request's strings to ids. Allocation-free.
    #[inline]
    fn request<'a>(&self, attrs: &Attributes<'a>) -> Request<'a> {
        let get = |s: &str| self.strings.get(s);
        let has_subresource = !attrs.subresource.is_empty();
        let (resource, subresource) = if !attrs.is_resource_request {
            (None, None)
        } else if has_subresource {
            let sub = get(attrs.subresource);
            let combined = get(attrs.resource)
                .zip(sub)
                .and_then(|pair| self.combined.get(&pair).copied());
            (combined, sub)
        } else {
            (get(attrs.resource), None)
        };
        Request {
            verb: get(attrs.verb),
            group: if attrs.is_resource_request {
                get(attrs.api_group)
            } else {
                None
            },
            resource,
            subresource,
            has_subresource,
            name: if attrs.is_resource_request {
                get(attrs.name)
            } else {
                None
            },
            is_resource_request: attrs.is_resource_request,
            path: attrs.path,
        }
    }

    /// The scopes to visit, in walk order (at most four).
    #[inline]
    fn scopes(&self, attrs: &Attributes<'_>) -> [Option<ScopeKey>; 4] {
        let scope = attrs.effective_scope();
        if scope == ResourceScope::Global {
            return [Some(ScopeKey::Global), None, None, None];
        }
        let namespace = (scope == ResourceScope::Namespace && !attrs.namespace.is_empty())
            .then(|| self.strings.get(attrs.namespace))
            .flatten();
        let workspace = match scope {
            ResourceScope::Namespace => {
                namespace.and_then(|ns| self.namespace_workspace.get(&ns).copied())
            }
            ResourceScope::Workspace if !attrs.workspace.is_empty() => {
                self.strings.get(attrs.workspace)
            }
            _ => None,
        };
        [
            Some(ScopeKey::Global),
            workspace.map(ScopeKey::Workspace),
            namespace.map(ScopeKey::Namespace),
            Some(ScopeKey::Cluster),
        ]
    }

    #[inline]
    fn list(&self, scope: ScopeKey, subject: SubjectKey) -> &[u32] {
        match self.index.get(&(scope, subject)) {
            Some(&(start, end)) => self
                .lists
                .get(start as usize..end as usize)
                .unwrap_or_default(),
            None => &[],
        }
    }

    /// The first rule of binding `b`'s role that allows the request.
    #[inline]
    fn binding_allows(&self, b: u32, request: &Request<'_>) -> Option<u32> {
        let role = self.bindings.get(b as usize)?.role.ok()?;
        let role = self.roles.get(role as usize)?;
        role.rules.iter().copied().find(|&r| {
            self.rules
                .get(r as usize)
                .is_some_and(|rule| rule.allows(request))
        })
    }

    /// The first binding (in walk order) of `scope` naming the requester
    /// whose role allows the request.
    #[inline]
    fn scope_allows(
        &self,
        scope: ScopeKey,
        requester: &Requester,
        attrs: &Attributes<'_>,
        request: &Request<'_>,
    ) -> Option<Allowed> {
        let mut best: Option<Allowed> = None;
        let mut probe = |list: &[u32]| {
            for &b in list {
                if best.is_some_and(|a| b >= a.binding) {
                    break;
                }
                if let Some(rule) = self.binding_allows(b, request) {
                    best = Some(Allowed { binding: b, rule });
                    break;
                }
            }
        };
        if let Some(user) = requester.user {
            probe(self.list(scope, SubjectKey::User(user)));
        }
        for &g in requester.groups() {
            probe(self.list(scope, SubjectKey::Group(g)));
        }
        if requester.more_groups {
            for group in attrs.groups.iter().skip(CACHED_GROUPS) {
                if let Some(g) = self.strings.get(group) {
                    probe(self.list(scope, SubjectKey::Group(g)));
                }
            }
        }
        best
    }

    /// The requester's user and group ids (the first groups cached on the
    /// stack, so they are looked up once per decision).
    #[inline]
    fn requester(&self, attrs: &Attributes<'_>) -> Requester {
        let mut r = Requester {
            user: self.strings.get(attrs.user),
            group_ids: [0; CACHED_GROUPS],
            known_groups: 0,
            more_groups: attrs.groups.len() > CACHED_GROUPS,
        };
        for group in attrs.groups.iter().take(CACHED_GROUPS) {
            if let Some(g) = self.strings.get(group) {
                r.group_ids[r.known_groups] = g;
                r.known_groups += 1;
            }
        }
        r
    }

    /// Decides a request without allocating. The binding and rule it
    /// reports are the first the reference walk would find.
    pub fn decide(&self, attrs: &Attributes<'_>) -> Decision {
        let requester = self.requester(attrs);
        if requester.user.is_none() && requester.known_groups == 0 && !requester.more_groups {
            // The policy never names this user or any of its groups.
            return Decision::NoOpinion;
        }
        let request = self.request(attrs);
        for scope in self.scopes(attrs).into_iter().flatten() {
            if let Some(allowed) = self.scope_allows(scope, &requester, attrs, &request) {
                return Decision::Allow(allowed);
            }
        }
        Decision::NoOpinion
    }

    /// Whether the request is allowed (no allocation).
    pub fn is_allowed(&self, attrs: &Attributes<'_>) -> bool {
        self.decide(attrs).is_allowed()
    }

    /// The reason of a decision `decide(attrs)` returned:
    /// `RBAC: allowed by RoleBinding "x/ns" of ClusterRole "y" to User "z"`,
    /// or which request no rule authorizes, with every binding naming the
    /// requester whose role could not be resolved.
    pub fn explain(&self, attrs: &Attributes<'_>, decision: Decision) -> String {
        if let Decision::Allow(a) = decision
            && let Some(b) = self.bindings.get(a.binding as usize)
        {
            let subject = first_applying_subject(&b.subjects, attrs, &b.namespace)
                .and_then(|i| b.subjects.get(i));
            if let Some(subject) = subject {
                return allow_reason(&Grant {
                    binding: b.binding_ref(),
                    subject,
                });
            }
        }
        let mut errors = Vec::new();
        let _ = self.walk_bindings(attrs, &mut |b| {
            if let Err(problem) = b.role {
                let e = ResolutionError {
                    binding: b.binding_ref(),
                    problem,
                };
                errors.push(e.to_string());
            }
            ControlFlow::Continue(())
        });
        deny_reason(attrs, &errors)
    }

    /// Decides and explains.
    pub fn authorize(&self, attrs: &Attributes<'_>) -> Verdict {
        let decision = self.decide(attrs);
        Verdict {
            allowed: decision.is_allowed(),
            reason: self.explain(attrs, decision),
        }
    }

    /// The rule that allowed, for an Allow decision of this snapshot.
    pub fn allowing_rule(&self, decision: Decision) -> Option<&PolicyRule> {
        match decision {
            Decision::Allow(a) => self.rules.get(a.rule as usize).map(|r| &r.source),
            Decision::NoOpinion => None,
        }
    }

    /// Every binding naming the requester, in walk order (allocates).
    fn walk_bindings(
        &self,
        attrs: &Attributes<'_>,
        visit: &mut dyn FnMut(&CompiledBinding) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let user = self.strings.get(attrs.user);
        for scope in self.scopes(attrs).into_iter().flatten() {
            let mut ids: Vec<u32> = Vec::new();
            if let Some(u) = user {
                ids.extend_from_slice(self.list(scope, SubjectKey::User(u)));
            }
            for g in attrs.groups.iter() {
                if let Some(g) = self.strings.get(g) {
                    ids.extend_from_slice(self.list(scope, SubjectKey::Group(g)));
                }
            }
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                if let Some(b) = self.bindings.get(id as usize) {
                    visit(b)?;
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// Oddities met while building: aggregation annotations that do not
    /// parse or name missing roles, invalid aggregation selectors.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Number of (live) bindings compiled.
    pub fn binding_count(&self) -> usize {
        self.bindings.len()
    }

    /// An estimate of the heap memory the snapshot holds, in bytes
    /// (containers' capacities and owned strings; hash tables counted at
    /// their entries' size).
    pub fn approximate_memory(&self) -> usize {
        use std::mem::size_of;
        let strings: usize = self
            .strings
            .strings
            .iter()
            .map(|s| 2 * s.len())
            .sum::<usize>()
            + self.strings.strings.capacity() * size_of::<Box<str>>()
            + self.strings.ids.capacity() * (size_of::<Box<str>>() + size_of::<u32>() + 1);
        let rules: usize = (self.rules.iter())
            .map(|r| {
                size_of::<CompiledRule>()
                    + 4 * (r.verbs.ids.len() + r.groups.ids.len() + r.resources.ids.len())
                    + 4 * r.names.as_ref().map_or(0, |n| n.len())
                    + estimate_rule(&r.source)
            })
            .sum();
        let roles: usize = (self.roles.iter())
            .map(|r| size_of::<CompiledRole>() + 4 * r.rules.len())
            .sum();
        let bindings: usize = (self.bindings.iter())
            .map(|b| {
                size_of::<CompiledBinding>()
                    + b.name.len()
                    + b.namespace.len()
                    + b.role_ref.kind.len()
                    + b.role_ref.name.len()
                    + b.role_ref.api_group.len()
                    + (b.subjects.iter())
                        .map(|s| {
                            size_of::<Subject>()
                                + s.name.len()
                                + s.kind.len()
                                + s.namespace.as_ref().map_or(0, String::len)
                                + s.api_group.as_ref().map_or(0, String::len)
                        })
                        .sum::<usize>()
            })
            .sum();
        let index = self.index.capacity() * (size_of::<(ScopeKey, SubjectKey)>() + 9)
            + self.lists.capacity() * 4
            + self.combined.capacity() * 13
            + self.namespace_workspace.capacity() * 9;
        strings + rules + roles + bindings + index
    }

    /// Number of distinct interned strings.
    pub fn string_count(&self) -> usize {
        self.strings.strings.len()
    }
}

fn estimate_rule(rule: &PolicyRule) -> usize {
    let list = |v: &Option<Vec<String>>| {
        v.as_ref()
            .map_or(0, |v| v.iter().map(|s| s.len() + 24).sum::<usize>())
    };
    rule.verbs.iter().map(|s| s.len() + 24).sum::<usize>()
        + list(&rule.api_groups)
        + list(&rule.resources)
        + list(&rule.resource_names)
        + list(&rule.non_resource_urls)
}

fn bucket_order(scope: ScopeKey) -> (u8, u32) {
    match scope {
        ScopeKey::Global => (0, 0),
        ScopeKey::Workspace(w) => (1, w),
        ScopeKey::Namespace(n) => (2, n),
        ScopeKey::Cluster => (3, 0),
    }
}

fn subject_order(subject: SubjectKey) -> (u8, u32) {
    match subject {
        SubjectKey::User(u) => (0, u),
        SubjectKey::Group(g) => (1, g),
    }
}

impl RuleSource for PolicySnapshot {
    fn visit_rules(
        &self,
        attrs: &Attributes<'_>,
        visitor: &mut dyn FnMut(Visit<'_>) -> ControlFlow<()>,
    ) {
        let _ = self.walk_bindings(attrs, &mut |b| {
            let role = match b.role {
                Ok(role) => role,
                Err(problem) => {
                    return visitor(Visit::Error(ResolutionError {
                        binding: b.binding_ref(),
                        problem,
                    }));
                }
            };
            let Some(subject) = first_applying_subject(&b.subjects, attrs, &b.namespace)
                .and_then(|i| b.subjects.get(i))
            else {
                return ControlFlow::Continue(());
            };
            let grant = Grant {
                binding: b.binding_ref(),
                subject,
            };
            for &r in self
                .roles
                .get(role as usize)
                .map(|r| &*r.rules)
                .unwrap_or_default()
            {
                if let Some(rule) = self.rules.get(r as usize) {
                    visitor(Visit::Rule {
                        grant,
                        rule: &rule.source,
                    })?;
                }
            }
            ControlFlow::Continue(())
        });
    }
}

/// A binding that grants a request, as [`PolicySnapshot::who_can`] lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct WhoCan {
    /// Kind of the binding.
    pub binding_kind: BindingKind,
    /// Name of the binding.
    pub binding_name: String,
    /// Namespace of a RoleBinding (empty otherwise).
    pub binding_namespace: String,
    /// `roleRef.kind`.
    pub role_kind: String,
    /// `roleRef.name`.
    pub role_name: String,
    /// The subjects it grants to: users, groups, and service accounts with
    /// their namespace filled in; subjects that name nobody are left out.
    pub subjects: Vec<Subject>,
}

impl PolicySnapshot {
    /// Every binding that grants the request of `attrs` (its user and
    /// groups are ignored) at its scope, in walk order, with the subjects
    /// it grants to. This looks at every binding: it is a query, not a
    /// decision.
    pub fn who_can(&self, attrs: &Attributes<'_>) -> Vec<WhoCan> {
        let request = self.request(attrs);
        let scopes = self.scopes(attrs);
        let mut out = Vec::new();
        for (i, b) in self.bindings.iter().enumerate() {
            let in_scope = b.scope.is_some_and(|s| scopes.contains(&Some(s)));
            if !in_scope || self.binding_allows(i as u32, &request).is_none() {
                continue;
            }
            let subjects: Vec<Subject> = (b.subjects.iter())
                .filter_map(|s| match s.kind.as_str() {
                    USER_KIND | GROUP_KIND => Some(s.clone()),
                    SERVICE_ACCOUNT_KIND => {
                        let ns = service_account_namespace(s, &b.namespace);
                        (!ns.is_empty()).then(|| Subject {
                            namespace: Some(ns.to_owned()),
                            ..s.clone()
                        })
                    }
                    _ => None,
                })
                .collect();
            if subjects.is_empty() {
                continue;
            }
            out.push(WhoCan {
                binding_kind: b.kind,
                binding_name: b.name.to_string(),
                binding_namespace: b.namespace.to_string(),
                role_kind: b.role_ref.kind.clone(),
                role_name: b.role_ref.name.clone(),
                subjects,
            });
        }
        out
    }

    /// The rules the requester of `attrs` holds at its scope
    /// (`SelfSubjectRulesReview`; see [`queries`](crate::queries)).
    pub fn rules_for(&self, attrs: &Attributes<'_>) -> crate::queries::RulesReview {
        crate::queries::rules_for(self, attrs)
    }

    /// Decides through the generic [`RuleSource`] walk (allocates; the
    /// same answer as [`authorize`](Self::authorize)).
    pub fn authorize_by_walk(&self, attrs: &Attributes<'_>) -> Verdict {
        authorizer::authorize(self, attrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_can_be_shared_across_threads() {
        // The server swaps snapshots atomically behind an Arc.
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PolicySnapshot>();
        assert_send_sync::<Decision>();
    }

    #[test]
    fn combined_resources_split_at_every_slash() {
        let mut s = PolicySnapshot::default();
        let rule = PolicyRule {
            verbs: vec!["get".into()],
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["a/b/c".into(), "*/log".into()]),
            ..Default::default()
        };
        let compiled = s.compile_rule(&rule);
        s.rules.push(compiled);
        let check = |resource, subresource| {
            let attrs = Attributes {
                verb: "get",
                resource,
                subresource,
                is_resource_request: true,
                ..Attributes::default()
            };
            s.rules[0].allows(&s.request(&attrs))
        };
        assert!(check("a", "b/c"));
        assert!(check("a/b", "c"));
        assert!(check("a/b/c", ""));
        assert!(!check("a", "b"));
        assert!(check("pods", "log"));
        assert!(check("never-seen", "log"));
        assert!(!check("pods", "logs"));
    }
}
