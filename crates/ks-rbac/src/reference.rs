//! The reference evaluator: the specification of a decision, written for
//! clarity, and the oracle the [`PolicySnapshot`](crate::PolicySnapshot) is
//! tested against. It walks the [`Policy`] linearly on every request, like
//! KubeSphere's Go authorizer, so its cost grows with the policy; use the
//! snapshot to serve requests.
//!
//! # The scope walk
//!
//! KubeSphere's `RBACAuthorizer.visitRulesFor`
//! (`pkg/apiserver/authorization/rbac`) visits bindings in this order and
//! allows at the first rule that matches (rule matching is
//! [`matching`](crate::matching)'s):
//!
//! 1. **GlobalRoleBindings**, at every scope. At `Global` scope the walk
//!    stops here.
//! 2. **WorkspaceRoleBindings** labelled `kubesphere.io/workspace: W`, where
//!    W is the request's workspace at `Workspace` scope, and at `Namespace`
//!    scope the workspace of the request's namespace (the
//!    `kubesphere.io/workspace` label of that Namespace object; none when
//!    the namespace is unknown or unlabelled). Other scopes skip this step.
//! 3. **RoleBindings** in the request's namespace, at `Namespace` scope only.
//! 4. **ClusterRoleBindings**, at every scope but `Global`.
//!
//! A request without a resource scope (a non-resource request) walks as
//! `Cluster` does: steps 1 and 4, as KubeSphere does for its empty scope.
//!
//! A binding applies when one of its subjects names the requester
//! ([`grant`](crate::grant)); service accounts without a namespace default to
//! a RoleBinding's namespace. Its `roleRef` is resolved by kind alone,
//! whatever the binding's kind (KubeSphere's `GetRoleReferenceRules`): a
//! `Role` in the RoleBinding's namespace (other binding kinds have none, so
//! it is never found), a `ClusterRole`, `GlobalRole` or `WorkspaceRole` by
//! name (a WorkspaceRole of any workspace, as KubeSphere looks it up by name
//! only). The role's rules include its [aggregated](crate::aggregation)
//! rules.
//!
//! # Where we differ from KubeSphere, on purpose
//!
//! - A missing role or an unsupported `roleRef.kind` is reported in the
//!   reason and the walk goes on, as in Kubernetes. KubeSphere silently
//!   treats a missing role as empty, and stops the whole walk on an
//!   unsupported kind for every step but the first, so its answer depends
//!   on the order objects are listed in.
//! - Rego overrides (`iam.kubesphere.io/rego-override`) are not evaluated.
//! - The reason of a WorkspaceRoleBinding says `WorkspaceRoleBinding`
//!   (KubeSphere's describer prints `GlobalRoleBinding` for both).
//! - When two objects share a key (kind, name and, for Roles and
//!   RoleBindings, namespace), only the last one counts, as if the
//!   manifests had been applied in order.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use ks_request_info::ResourceScope;

use crate::aggregation::{aggregation_role_names, any_selector_matches};
use crate::authorizer::{self, RuleSource, Verdict, Visit};
use crate::grant::{
    BindingKind, BindingRef, Grant, ResolutionError, RoleKind, Unresolved, first_applying_subject,
};
use crate::{Attributes, Policy};

/// The naive, linear evaluator over a [`Policy`].
#[derive(Clone, Copy, Debug)]
pub struct ReferenceAuthorizer<'p> {
    policy: &'p Policy,
}

/// A role of any kind, seen uniformly.
#[derive(Clone, Copy)]
struct RoleView<'p> {
    kind: RoleKind,
    /// Position among the roles of its kind.
    index: usize,
    meta: &'p ObjectMeta,
    rules: &'p [PolicyRule],
    /// A ClusterRole's `aggregationRule.clusterRoleSelectors`.
    selectors: &'p [LabelSelector],
}

/// A binding of any kind, seen uniformly.
#[derive(Clone, Copy)]
struct BindingView<'p> {
    kind: BindingKind,
    meta: &'p ObjectMeta,
    subjects: &'p [Subject],
    role_ref: &'p RoleRef,
}

fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

fn namespace(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("")
}

impl<'p> ReferenceAuthorizer<'p> {
    /// An evaluator over `policy`.
    pub fn new(policy: &'p Policy) -> Self {
        ReferenceAuthorizer { policy }
    }

    /// Decides a request, with its reason.
    pub fn authorize(&self, attrs: &Attributes<'_>) -> Verdict {
        authorizer::authorize(self, attrs)
    }

    /// Every role of `kind`, in policy order.
    fn roles(&self, kind: RoleKind) -> Vec<RoleView<'p>> {
        let p = self.policy;
        let view = |index, meta, rules: Option<&'p Vec<PolicyRule>>| RoleView {
            kind,
            index,
            meta,
            rules: rules.map(Vec::as_slice).unwrap_or_default(),
            selectors: &[],
        };
        match kind {
            RoleKind::Role => (p.roles.iter().enumerate())
                .map(|(i, r)| view(i, &r.metadata, r.rules.as_ref()))
                .collect(),
            RoleKind::ClusterRole => (p.cluster_roles.iter().enumerate())
                .map(|(i, r)| RoleView {
                    selectors: (r.aggregation_rule.as_ref())
                        .and_then(|a| a.cluster_role_selectors.as_deref())
                        .unwrap_or_default(),
                    ..view(i, &r.metadata, r.rules.as_ref())
                })
                .collect(),
            RoleKind::GlobalRole => (p.global_roles.iter().enumerate())
                .map(|(i, r)| view(i, &r.metadata, Some(&r.rules)))
                .collect(),
            RoleKind::WorkspaceRole => (p.workspace_roles.iter().enumerate())
                .map(|(i, r)| view(i, &r.metadata, Some(&r.rules)))
                .collect(),
        }
    }

    /// The role of `kind` named `role_name` (in `ns` for a Role): the last
    /// one with that key.
    fn find_role(&self, kind: RoleKind, role_name: &str, ns: &str) -> Option<RoleView<'p>> {
        if kind == RoleKind::Role && ns.is_empty() {
            return None;
        }
        self.roles(kind).into_iter().rev().find(|r| {
            name(r.meta) == role_name && (kind != RoleKind::Role || namespace(r.meta) == ns)
        })
    }

    /// Whether no later role of the same kind has the same key.
    fn is_live(&self, role: &RoleView<'p>) -> bool {
        self.find_role(role.kind, name(role.meta), namespace(role.meta))
            .is_some_and(|r| r.index == role.index)
    }

    /// The roles `role` aggregates directly.
    fn aggregated(&self, role: &RoleView<'p>) -> Vec<RoleView<'p>> {
        let mut out: Vec<RoleView<'p>> = aggregation_role_names(role.meta)
            .iter()
            .filter_map(|n| self.find_role(role.kind, n, namespace(role.meta)))
            .collect();
        if !role.selectors.is_empty() {
            out.extend(
                self.roles(RoleKind::ClusterRole)
                    .into_iter()
                    .filter(|other| {
                        other.index != role.index
                            && self.is_live(other)
                            && any_selector_matches(role.selectors, other.meta)
                    }),
            );
        }
        out
    }

    /// The role's own rules, then those of every role reachable through
    /// aggregation, in policy order.
    fn effective_rules(&self, role: &RoleView<'p>) -> Vec<&'p PolicyRule> {
        let mut reached = BTreeSet::new();
        let mut pending = vec![*role];
        while let Some(r) = pending.pop() {
            for next in self.aggregated(&r) {
                if next.index != role.index && reached.insert(next.index) {
                    pending.push(next);
                }
            }
        }
        let all = self.roles(role.kind);
        let mut rules: Vec<&PolicyRule> = role.rules.iter().collect();
        for index in reached {
            rules.extend(all[index].rules.iter());
        }
        rules
    }

    fn bindings(&self, kind: BindingKind) -> Vec<BindingView<'p>> {
        let p = self.policy;
        let view = |meta, subjects: Option<&'p Vec<Subject>>, role_ref| BindingView {
            kind,
            meta,
            subjects: subjects.map(Vec::as_slice).unwrap_or_default(),
            role_ref,
        };
        let all: Vec<BindingView<'p>> = match kind {
            BindingKind::GlobalRoleBinding => (p.global_role_bindings.iter())
                .map(|b| view(&b.metadata, Some(&b.subjects), &b.role_ref))
                .collect(),
            BindingKind::WorkspaceRoleBinding => (p.workspace_role_bindings.iter())
                .map(|b| view(&b.metadata, Some(&b.subjects), &b.role_ref))
                .collect(),
            BindingKind::RoleBinding => (p.role_bindings.iter())
                .map(|b| view(&b.metadata, b.subjects.as_ref(), &b.role_ref))
                .collect(),
            BindingKind::ClusterRoleBinding => (p.cluster_role_bindings.iter())
                .map(|b| view(&b.metadata, b.subjects.as_ref(), &b.role_ref))
                .collect(),
        };
        // Only the last binding with a key counts.
        // Only RoleBindings are namespaced; the others' namespace is noise.
        let key = |b: &BindingView<'p>| {
            let ns = if kind == BindingKind::RoleBinding {
                namespace(b.meta)
            } else {
                ""
            };
            (name(b.meta), ns)
        };
        let mut out = Vec::new();
        for (i, b) in all.iter().enumerate() {
            if !all[i + 1..].iter().any(|later| key(later) == key(b)) {
                out.push(*b);
            }
        }
        out
    }

    /// The workspace of a namespace: the `kubesphere.io/workspace` label of
    /// the last Namespace object with that name.
    fn workspace_of_namespace(&self, ns: &str) -> &'p str {
        (self.policy.namespaces.iter().rev())
            .find(|n| name(&n.metadata) == ns)
            .and_then(|n| ks_types::meta::workspace_of(&n.metadata))
            .unwrap_or("")
    }

    fn visit_binding(
        &self,
        binding: &BindingView<'p>,
        attrs: &Attributes<'_>,
        visitor: &mut dyn FnMut(Visit<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        // Only a RoleBinding has a namespace that defaults its service accounts.
        let binding_ns = match binding.kind {
            BindingKind::RoleBinding => namespace(binding.meta),
            _ => "",
        };
        let Some(i) = first_applying_subject(binding.subjects, attrs, binding_ns) else {
            return ControlFlow::Continue(());
        };
        let bref = BindingRef {
            kind: binding.kind,
            name: name(binding.meta),
            namespace: binding_ns,
            role_kind: &binding.role_ref.kind,
            role_name: &binding.role_ref.name,
        };
        let error = |problem| {
            Visit::Error(ResolutionError {
                binding: bref,
                problem,
            })
        };
        let Some(kind) = RoleKind::parse(&binding.role_ref.kind) else {
            return visitor(error(Unresolved::UnsupportedKind));
        };
        let Some(role) = self.find_role(kind, &binding.role_ref.name, binding_ns) else {
            return visitor(error(Unresolved::MissingRole));
        };
        let grant = Grant {
            binding: bref,
            subject: &binding.subjects[i],
        };
        for rule in self.effective_rules(&role) {
            visitor(Visit::Rule { grant, rule })?;
        }
        ControlFlow::Continue(())
    }

    fn walk(
        &self,
        attrs: &Attributes<'_>,
        visitor: &mut dyn FnMut(Visit<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let scope = attrs.effective_scope();
        // 1. Global role bindings, always.
        for b in self.bindings(BindingKind::GlobalRoleBinding) {
            self.visit_binding(&b, attrs, visitor)?;
        }
        if scope == ResourceScope::Global {
            return ControlFlow::Continue(());
        }
        // 2. Workspace role bindings of the target workspace.
        let workspace = match scope {
            ResourceScope::Namespace => self.workspace_of_namespace(attrs.namespace),
            ResourceScope::Workspace => attrs.workspace,
            _ => "",
        };
        if !workspace.is_empty() {
            for b in self.bindings(BindingKind::WorkspaceRoleBinding) {
                if ks_types::meta::label(b.meta, ks_types::meta::WORKSPACE_LABEL) == Some(workspace)
                {
                    self.visit_binding(&b, attrs, visitor)?;
                }
            }
        }
        // 3. Role bindings of the namespace.
        if scope == ResourceScope::Namespace && !attrs.namespace.is_empty() {
            for b in self.bindings(BindingKind::RoleBinding) {
                if namespace(b.meta) == attrs.namespace {
                    self.visit_binding(&b, attrs, visitor)?;
                }
            }
        }
        // 4. Cluster role bindings, at every non-global scope.
        for b in self.bindings(BindingKind::ClusterRoleBinding) {
            self.visit_binding(&b, attrs, visitor)?;
        }
        ControlFlow::Continue(())
    }
}

impl RuleSource for ReferenceAuthorizer<'_> {
    fn visit_rules(
        &self,
        attrs: &Attributes<'_>,
        visitor: &mut dyn FnMut(Visit<'_>) -> ControlFlow<()>,
    ) {
        let _ = self.walk(attrs, visitor);
    }
}
