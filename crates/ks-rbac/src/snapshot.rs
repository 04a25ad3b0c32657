//! The compiled, immutable, indexed policy: [`PolicySnapshot`].
//!
//! Built from a [`Policy`] by [`PolicySnapshot::build`], or kept current
//! under changes by a [`LivePolicy`](crate::LivePolicy), it answers exactly
//! as the [`reference`](mod@crate::reference) walk does, in time set by the
//! requester's own bindings:
//!
//! - every string of the policy is interned to a `u32`, and each rule is
//!   compiled to sorted id lists, so matching compares integers; a request
//!   string the policy never mentions has no id and can only be matched by a
//!   wildcard;
//! - bindings are kept in one shard per scope (global, each workspace, each
//!   namespace, cluster), each indexed by subject (a user name, a group
//!   name; service accounts are the user `system:serviceaccount:NS:NAME`),
//!   so a decision probes `1 + groups` lists per scope and never looks at
//!   other users' bindings;
//! - a binding names its role through a role slot (kind, namespace, name),
//!   which holds the role's effective rules, aggregation included
//!   (ClusterRole `aggregationRule` and KubeSphere's
//!   `iam.kubesphere.io/aggregation-roles`), or nothing when the role does
//!   not exist.
//!
//! The pieces (string tables, role table, shards) sit behind `Arc`s, so a
//! [`LivePolicy`](crate::LivePolicy) publishes a new snapshot by rebuilding
//! only what a change touched and sharing the rest with the previous one.
//!
//! [`PolicySnapshot::decide`] allocates nothing, on the allow path and the
//! deny path: it returns a small `Copy` [`Decision`] that points at the
//! binding and rule that allowed, and [`PolicySnapshot::explain`] renders
//! the reason only when asked. The binding it reports is the one the
//! reference walk reports (the first in walk order), so reasons agree too.

use std::ops::ControlFlow;
use std::sync::Arc;

use k8s_openapi::api::rbac::v1::{PolicyRule, Subject};
use ks_request_info::ResourceScope;

use crate::authorizer::{self, RuleSource, Verdict, Visit, allow_reason, deny_reason};
use crate::grant::{
    BindingKind, BindingRef, GROUP_KIND, Grant, ResolutionError, SERVICE_ACCOUNT_KIND, USER_KIND,
    Unresolved, first_applying_subject, service_account_namespace,
};
use crate::matching::url_entry_matches;
use crate::{Attributes, Policy};
use rustc_hash::FxHashMap;

/// One table of interned strings, and of the `resource/subresource`
/// entries rules name.
#[derive(Clone, Debug, Default)]
pub(crate) struct StringTable {
    ids: FxHashMap<Arc<str>, u32>,
    /// `(id of head, id of tail)` -> id of `head/tail`, for every resource
    /// entry containing `/` split at each `/`.
    pub(crate) combined: FxHashMap<(u32, u32), u32>,
}

impl StringTable {
    pub(crate) fn len(&self) -> usize {
        self.ids.len() + self.combined.len()
    }

    pub(crate) fn ids(&self) -> &FxHashMap<Arc<str>, u32> {
        &self.ids
    }

    pub(crate) fn insert(&mut self, s: Arc<str>, id: u32) {
        self.ids.insert(s, id);
    }

    /// Adds every entry of `other`.
    pub(crate) fn extend(&mut self, other: &StringTable) {
        self.ids
            .extend(other.ids.iter().map(|(k, &v)| (Arc::clone(k), v)));
        self.combined.extend(other.combined.iter());
    }
}

/// Interned strings: one id space for every name in the policy, in two
/// tables: a large `base` shared by many snapshots and a small `delta` of
/// the strings added since `base` was last copied. Ids never change, so
/// what was compiled against older tables stays valid.
#[derive(Clone, Debug, Default)]
pub(crate) struct Strings {
    pub(crate) base: Arc<StringTable>,
    pub(crate) delta: Arc<StringTable>,
}

impl Strings {
    // Inlined into each of the lookups of a decision.
    #[inline(always)]
    pub(crate) fn get(&self, s: &str) -> Option<u32> {
        match self.base.ids.get(s) {
            Some(&id) => Some(id),
            // An empty table answers without hashing.
            None => self.delta.ids.get(s).copied(),
        }
    }

    #[inline]
    pub(crate) fn combined(&self, pair: (u32, u32)) -> Option<u32> {
        match self.base.combined.get(&pair) {
            Some(&id) => Some(id),
            None => self.delta.combined.get(&pair).copied(),
        }
    }

    /// Number of interned strings.
    pub(crate) fn count(&self) -> usize {
        self.base.ids.len() + self.delta.ids.len()
    }
}

/// One field of a compiled rule: a wildcard, or a sorted set of ids.
#[derive(Debug, Default)]
pub(crate) struct IdSet {
    pub(crate) all: bool,
    pub(crate) ids: Box<[u32]>,
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
pub(crate) enum UrlPattern {
    All,
    Exact(Box<str>),
    /// An entry ending in `*`, kept whole (matching trims it).
    Prefix(Box<str>),
}

/// A rule compiled to ids.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) source: PolicyRule,
    pub(crate) verbs: IdSet,
    pub(crate) groups: IdSet,
    /// Whole resource entries (`pods`, `pods/log`, `*/log`); `all` for `*`.
    pub(crate) resources: IdSet,
    /// `X` of every `*/X` entry.
    pub(crate) any_subresource: Box<[u32]>,
    /// `None`: every name.
    pub(crate) names: Option<Box<[u32]>>,
    pub(crate) urls: Box<[UrlPattern]>,
}

/// A request resolved to ids.
pub(crate) struct Request<'a> {
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
    pub(crate) fn allows(&self, r: &Request<'_>) -> bool {
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

/// The effective rules of a role: its own, then those it aggregates, in
/// policy order.
#[derive(Debug, Default)]
pub(crate) struct CompiledRole {
    pub(crate) rules: Box<[Arc<CompiledRule>]>,
}

/// The role slots of a snapshot: slot id -> the role's effective rules, or
/// `None` (also past the end) when no such role exists.
pub(crate) type RoleTable = Vec<Option<Arc<CompiledRole>>>;

/// A subject of a binding. Its strings are the interner's, shared.
#[derive(Debug)]
pub(crate) struct CompiledSubject {
    pub(crate) kind: Arc<str>,
    pub(crate) name: Arc<str>,
    pub(crate) namespace: Option<Arc<str>>,
    pub(crate) api_group: Option<Arc<str>>,
    /// Its index key, when it can name a requester.
    pub(crate) key: Option<SubjectKey>,
}

impl CompiledSubject {
    fn to_subject(&self) -> Subject {
        Subject {
            kind: self.kind.to_string(),
            name: self.name.to_string(),
            namespace: self.namespace.as_deref().map(str::to_owned),
            api_group: self.api_group.as_deref().map(str::to_owned),
        }
    }
}

/// A binding, compact: besides its name, its strings are shared with the
/// interner (few allocations to build and to free).
#[derive(Debug)]
pub(crate) struct CompiledBinding {
    pub(crate) kind: BindingKind,
    pub(crate) name: Box<str>,
    /// Namespace of a RoleBinding; empty otherwise.
    pub(crate) namespace: Arc<str>,
    pub(crate) role_kind: Arc<str>,
    pub(crate) role_name: Arc<str>,
    pub(crate) subjects: Box<[CompiledSubject]>,
    /// The role slot the roleRef names, or why no role can ever match it.
    pub(crate) role: Result<u32, Unresolved>,
}

impl CompiledBinding {
    fn binding_ref(&self) -> BindingRef<'_> {
        BindingRef {
            kind: self.kind,
            name: &self.name,
            namespace: &self.namespace,
            role_kind: &self.role_kind,
            role_name: &self.role_name,
        }
    }

    /// The subjects, as objects (allocates: for reasons and queries).
    fn subjects(&self) -> Vec<Subject> {
        self.subjects
            .iter()
            .map(CompiledSubject::to_subject)
            .collect()
    }

    /// Calls `f` with the grant of the first subject naming the requester.
    fn with_grant<T>(&self, attrs: &Attributes<'_>, f: impl FnOnce(Grant<'_>) -> T) -> Option<T> {
        let subjects = self.subjects();
        let i = first_applying_subject(&subjects, attrs, &self.namespace)?;
        let subject = subjects.get(i)?;
        Some(f(Grant {
            binding: self.binding_ref(),
            subject,
        }))
    }
}

/// Which bindings a shard holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ScopeKey {
    Global,
    Workspace(u32),
    Namespace(u32),
    Cluster,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum SubjectKey {
    User(u32),
    Group(u32),
}

/// A role slot that never holds a role.
const NO_ROLE: u32 = u32::MAX;

/// One binding in a subject's list: its index in the shard and its role
/// slot, so probing a binding that does not allow never touches it.
#[derive(Clone, Copy, Debug)]
struct Entry {
    binding: u32,
    role: u32,
}

/// The bindings of one scope, in walk order, indexed by subject.
#[derive(Debug, Default)]
pub(crate) struct BindingShard {
    bindings: Box<[Arc<CompiledBinding>]>,
    index: FxHashMap<SubjectKey, (u32, u32)>,
    lists: Box<[Entry]>,
}

impl BindingShard {
    /// A shard of `bindings`, given in walk order.
    pub(crate) fn new(bindings: Vec<Arc<CompiledBinding>>) -> Self {
        let mut pending: Vec<(SubjectKey, u32, u32)> = Vec::with_capacity(bindings.len());
        for (i, b) in bindings.iter().enumerate() {
            let role = b.role.unwrap_or(NO_ROLE);
            for key in b.subjects.iter().filter_map(|s| s.key) {
                pending.push((key, i as u32, role));
            }
        }
        // Sorted by subject, then by position: each list in walk order.
        pending.sort_unstable_by_key(|&(key, i, _)| (key, i));
        pending.dedup_by_key(|&mut (key, i, _)| (key, i));
        let mut index = FxHashMap::default();
        index.reserve(pending.len());
        let mut lists = Vec::with_capacity(pending.len());
        let mut i = 0;
        while i < pending.len() {
            let key = pending[i].0;
            let start = lists.len() as u32;
            while i < pending.len() && pending[i].0 == key {
                let (_, binding, role) = pending[i];
                lists.push(Entry { binding, role });
                i += 1;
            }
            index.insert(key, (start, lists.len() as u32));
        }
        BindingShard {
            bindings: bindings.into(),
            index,
            lists: lists.into(),
        }
    }

    #[inline]
    fn list(&self, subject: SubjectKey) -> &[Entry] {
        match self.index.get(&subject) {
            Some(&(start, end)) => self
                .lists
                .get(start as usize..end as usize)
                .unwrap_or_default(),
            None => &[],
        }
    }

    fn approximate_memory(&self) -> usize {
        use std::mem::size_of;
        // Strings shared with the interner are counted there.
        let bindings: usize = (self.bindings.iter())
            .map(|b| {
                size_of::<Arc<CompiledBinding>>()
                    + 16
                    + size_of::<CompiledBinding>()
                    + b.name.len()
                    + b.subjects.len() * size_of::<CompiledSubject>()
            })
            .sum();
        size_of::<Self>()
            + bindings
            + self.index.capacity() * (size_of::<SubjectKey>() + 9)
            + self.lists.len() * size_of::<Entry>()
    }
}

/// Number of buckets of a [`ShardMap`].
const SHARD_BUCKETS: usize = 256;

/// The shards of the workspaces or of the namespaces, by id, in buckets
/// (`id % SHARD_BUCKETS`): publishing a change to one shard copies one
/// small bucket and the bucket pointers, not the whole map.
#[derive(Clone, Debug, Default)]
pub(crate) struct ShardMap {
    buckets: Arc<Vec<Arc<Bucket>>>,
}

/// One bucket of a [`ShardMap`]: the shards whose id falls in it.
type Bucket = FxHashMap<u32, Arc<BindingShard>>;

impl ShardMap {
    #[inline]
    fn get(&self, id: u32) -> Option<&BindingShard> {
        let bucket = self.buckets.get(id as usize % SHARD_BUCKETS)?;
        bucket.get(&id).map(|s| &**s)
    }

    /// Sets (or, with `None`, removes) the shard of `id`.
    pub(crate) fn set(&mut self, id: u32, shard: Option<Arc<BindingShard>>) {
        let i = id as usize % SHARD_BUCKETS;
        if shard.is_none() && self.get(id).is_none() {
            return;
        }
        let buckets = Arc::make_mut(&mut self.buckets);
        if buckets.is_empty() {
            buckets.resize_with(SHARD_BUCKETS, Arc::default);
        }
        if let Some(bucket) = buckets.get_mut(i) {
            let bucket = Arc::make_mut(bucket);
            match shard {
                Some(shard) => bucket.insert(id, shard),
                None => bucket.remove(&id),
            };
        }
    }

    fn values(&self) -> impl Iterator<Item = &BindingShard> {
        (self.buckets.iter()).flat_map(|b| b.values().map(|s| &**s))
    }

    fn approximate_memory(&self) -> usize {
        (self.buckets.iter())
            .map(|b| 16 + b.capacity() * 13)
            .sum::<usize>()
    }
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
    scope: ScopeKey,
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
    pub(crate) strings: Strings,
    pub(crate) roles: Arc<RoleTable>,
    pub(crate) global: Arc<BindingShard>,
    pub(crate) cluster: Arc<BindingShard>,
    pub(crate) workspaces: ShardMap,
    pub(crate) namespaces: ShardMap,
    /// Namespace id -> workspace id, for labelled namespaces.
    pub(crate) namespace_workspace: Arc<FxHashMap<u32, u32>>,
    pub(crate) warnings: Arc<Vec<String>>,
    pub(crate) binding_count: usize,
}

impl PolicySnapshot {
    /// Compiles `policy`. Never fails: what cannot be resolved (a missing
    /// role, an unknown roleRef kind) is kept and reported by decisions'
    /// reasons, and oddities of aggregation are listed by
    /// [`warnings`](Self::warnings).
    pub fn build(policy: &Policy) -> Self {
        crate::compile::Compiler::build(policy).publish()
    }

    /// Resolves the request's strings to ids. Allocation-free.
    #[inline]
    pub(crate) fn request<'a>(&self, attrs: &Attributes<'a>) -> Request<'a> {
        let get = |s: &str| self.strings.get(s);
        let has_subresource = !attrs.subresource.is_empty();
        let (resource, subresource) = if !attrs.is_resource_request {
            (None, None)
        } else if has_subresource {
            let sub = get(attrs.subresource);
            let combined = get(attrs.resource)
                .zip(sub)
                .and_then(|pair| self.strings.combined(pair));
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

    /// The bindings of a scope (none: an empty shard).
    #[inline]
    fn shard(&self, scope: ScopeKey) -> Option<&BindingShard> {
        match scope {
            ScopeKey::Global => Some(&self.global),
            ScopeKey::Cluster => Some(&self.cluster),
            ScopeKey::Workspace(w) => self.workspaces.get(w),
            ScopeKey::Namespace(n) => self.namespaces.get(n),
        }
    }

    /// The effective rules of a role slot (`None`: no such role).
    #[inline]
    fn role(&self, slot: u32) -> Option<&CompiledRole> {
        self.roles.get(slot as usize)?.as_deref()
    }

    /// Why binding `b` contributes no rules, if it does not.
    fn unresolved(&self, b: &CompiledBinding) -> Option<Unresolved> {
        match b.role {
            Err(problem) => Some(problem),
            Ok(slot) if self.role(slot).is_none() => Some(Unresolved::MissingRole),
            Ok(_) => None,
        }
    }

    /// The first rule of role slot `role` that allows the request.
    #[inline]
    fn role_allows(&self, role: u32, request: &Request<'_>) -> Option<u32> {
        let role = self.role(role)?;
        (role.rules.iter())
            .position(|rule| rule.allows(request))
            .map(|i| i as u32)
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
        let shard = self.shard(scope)?;
        let mut best: Option<(u32, u32)> = None;
        let mut probe = |list: &[Entry]| {
            for e in list {
                if best.is_some_and(|(b, _)| e.binding >= b) {
                    break;
                }
                if let Some(rule) = self.role_allows(e.role, request) {
                    best = Some((e.binding, rule));
                    break;
                }
            }
        };
        if let Some(user) = requester.user {
            probe(shard.list(SubjectKey::User(user)));
        }
        for &g in requester.groups() {
            probe(shard.list(SubjectKey::Group(g)));
        }
        if requester.more_groups {
            for group in attrs.groups.iter().skip(CACHED_GROUPS) {
                if let Some(g) = self.strings.get(group) {
                    probe(shard.list(SubjectKey::Group(g)));
                }
            }
        }
        best.map(|(binding, rule)| Allowed {
            scope,
            binding,
            rule,
        })
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

    /// The binding an Allow of this snapshot names.
    fn allowed_binding(&self, a: Allowed) -> Option<&CompiledBinding> {
        self.shard(a.scope)?
            .bindings
            .get(a.binding as usize)
            .map(|b| &**b)
    }

    /// The reason of a decision `decide(attrs)` returned:
    /// `RBAC: allowed by RoleBinding "x/ns" of ClusterRole "y" to User "z"`,
    /// or which request no rule authorizes, with every binding naming the
    /// requester whose role could not be resolved.
    pub fn explain(&self, attrs: &Attributes<'_>, decision: Decision) -> String {
        if let Decision::Allow(a) = decision
            && let Some(reason) = self
                .allowed_binding(a)
                .and_then(|b| b.with_grant(attrs, |grant| allow_reason(&grant)))
        {
            return reason;
        }
        let mut errors = Vec::new();
        let _ = self.walk_bindings(attrs, &mut |b| {
            if let Some(problem) = self.unresolved(b) {
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
            Decision::Allow(a) => {
                let role = self.role(self.allowed_binding(a)?.role.ok()?)?;
                role.rules.get(a.rule as usize).map(|r| &r.source)
            }
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
            let Some(shard) = self.shard(scope) else {
                continue;
            };
            let mut ids: Vec<u32> = Vec::new();
            if let Some(u) = user {
                ids.extend(shard.list(SubjectKey::User(u)).iter().map(|e| e.binding));
            }
            for g in attrs.groups.iter() {
                if let Some(g) = self.strings.get(g) {
                    ids.extend(shard.list(SubjectKey::Group(g)).iter().map(|e| e.binding));
                }
            }
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                if let Some(b) = shard.bindings.get(id as usize) {
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
        self.binding_count
    }

    /// Every shard, global first.
    fn shards(&self) -> impl Iterator<Item = &BindingShard> {
        [&*self.global, &*self.cluster]
            .into_iter()
            .chain(self.workspaces.values())
            .chain(self.namespaces.values())
    }

    /// An estimate of the heap memory the snapshot holds, in bytes
    /// (containers' capacities and owned strings; hash tables counted at
    /// their entries' size). Pieces shared with other snapshots of a
    /// [`LivePolicy`](crate::LivePolicy) are counted in full.
    pub fn approximate_memory(&self) -> usize {
        use std::mem::size_of;
        let table = |t: &StringTable| {
            t.ids.keys().map(|s| 16 + s.len()).sum::<usize>()
                + t.ids.capacity() * (size_of::<Arc<str>>() + size_of::<u32>() + 1)
                + t.combined.capacity() * 13
        };
        let strings = table(&self.strings.base) + table(&self.strings.delta);
        // Rules shared by aggregating roles are counted once per role.
        let roles: usize = (self.roles.iter().flatten())
            .map(|r| {
                size_of::<CompiledRole>()
                    + (r.rules.iter())
                        .map(|r| {
                            8 + size_of::<CompiledRule>()
                                + 4 * (r.verbs.ids.len()
                                    + r.groups.ids.len()
                                    + r.resources.ids.len())
                                + 4 * r.names.as_ref().map_or(0, |n| n.len())
                                + estimate_rule(&r.source)
                        })
                        .sum::<usize>()
            })
            .sum::<usize>()
            + self.roles.capacity() * 8;
        let shards: usize = self.shards().map(BindingShard::approximate_memory).sum();
        let maps = self.workspaces.approximate_memory()
            + self.namespaces.approximate_memory()
            + self.namespace_workspace.capacity() * 9;
        strings + roles + shards + maps
    }

    /// Number of distinct interned strings.
    pub fn string_count(&self) -> usize {
        self.strings.count()
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

impl RuleSource for PolicySnapshot {
    fn visit_rules(
        &self,
        attrs: &Attributes<'_>,
        visitor: &mut dyn FnMut(Visit<'_>) -> ControlFlow<()>,
    ) {
        let _ = self.walk_bindings(attrs, &mut |b| {
            let role = match b.role.map(|slot| self.role(slot)) {
                Ok(Some(role)) => role,
                Ok(None) | Err(_) => {
                    let problem = self.unresolved(b).unwrap_or(Unresolved::MissingRole);
                    return visitor(Visit::Error(ResolutionError {
                        binding: b.binding_ref(),
                        problem,
                    }));
                }
            };
            let visited = b.with_grant(attrs, |grant| {
                for rule in &role.rules {
                    visitor(Visit::Rule {
                        grant,
                        rule: &rule.source,
                    })?;
                }
                ControlFlow::Continue(())
            });
            visited.unwrap_or(ControlFlow::Continue(()))
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
        let mut out = Vec::new();
        let shards = (self.scopes(attrs).into_iter().flatten()).filter_map(|s| self.shard(s));
        for b in shards.flat_map(|shard| shard.bindings.iter()) {
            let role = b.role.unwrap_or(NO_ROLE);
            if self.role_allows(role, &request).is_none() {
                continue;
            }
            let subjects: Vec<Subject> = (b.subjects().into_iter())
                .filter_map(|s| match s.kind.as_str() {
                    USER_KIND | GROUP_KIND => Some(s),
                    SERVICE_ACCOUNT_KIND => {
                        let ns = service_account_namespace(&s, &b.namespace).to_owned();
                        (!ns.is_empty()).then_some(Subject {
                            namespace: Some(ns),
                            ..s
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
                role_kind: b.role_kind.to_string(),
                role_name: b.role_name.to_string(),
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
}
