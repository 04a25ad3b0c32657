//! Questions about a policy beyond one decision: which rules a user holds
//! at a scope (what `SelfSubjectRulesReview` answers), and whether a user
//! may grant rules (Kubernetes' escalation check). "Who can" lives on the
//! snapshot: [`PolicySnapshot::who_can`](crate::PolicySnapshot::who_can).
//!
//! # Escalation
//!
//! Kubernetes lets a user create a role, or bind one, only with rules the
//! user holds itself (`ConfirmNoEscalation`, which uses `Covers` of
//! `k8s.io/component-helpers/auth/rbac/validation`), unless the user may
//! `escalate` roles (for writing a role) or `bind` the referenced role (for
//! a binding). [`covers`] is `Covers`: every requested rule is broken down
//! into atomic rules (one API group, resource, verb and resource name; or
//! one URL and verb) and each must be covered by a single owner rule:
//!
//! - verbs and API groups: the owner has `*` or the exact value;
//! - resources: the owner has `*`, the exact entry, or, for an entry
//!   `resource/sub` (split at the first `/`), `*/sub`;
//! - resource names: an atomic rule without a name needs an owner rule
//!   without names; with a name, the owner has no names or that name;
//! - URLs: the owner has the exact URL, or an entry ending in `*` whose
//!   prefix (stars trimmed) starts the URL.
//!
//! Covering implies that every request the requested rules allow, the
//! owner rules allow too, except for resource entries that Kubernetes
//! itself splits differently from how it matches them (an entry with two
//! `/` such as `a/b/c`, or a trailing `/` such as `pods/`); these never
//! occur in practice because resources and subresources are path segments.

use k8s_openapi::api::rbac::v1::PolicyRule;
use ks_request_info::ResourceScope;

use crate::Attributes;
use crate::authorizer::{self, RuleSource};
use crate::grant::RoleKind;
use crate::matching::ALL;

/// The rules a user holds at a scope, and the errors met collecting them
/// (a review with errors is incomplete: some bindings could not be
/// resolved).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RulesReview {
    /// Every rule, in scope-walk order (duplicates kept).
    pub rules: Vec<PolicyRule>,
    /// Resolution errors (missing roles, unsupported role kinds).
    pub errors: Vec<String>,
}

impl RulesReview {
    /// Whether some bindings could not be resolved.
    pub fn incomplete(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The rules about resources.
    pub fn resource_rules(&self) -> impl Iterator<Item = &PolicyRule> {
        self.rules
            .iter()
            .filter(|r| r.resources.as_ref().is_some_and(|v| !v.is_empty()))
    }

    /// The rules about non-resource URLs.
    pub fn non_resource_rules(&self) -> impl Iterator<Item = &PolicyRule> {
        (self.rules.iter()).filter(|r| r.non_resource_urls.as_ref().is_some_and(|v| !v.is_empty()))
    }
}

/// The rules `source` grants to the requester of `attrs` at its scope (its
/// user, groups, resource scope, namespace and workspace; the rest is
/// ignored).
pub fn rules_for<S: RuleSource + ?Sized>(source: &S, attrs: &Attributes<'_>) -> RulesReview {
    let (rules, errors) = authorizer::rules_for(source, attrs);
    RulesReview { rules, errors }
}

fn list(v: &Option<Vec<String>>) -> &[String] {
    v.as_deref().unwrap_or_default()
}

fn has(set: &[String], item: &str) -> bool {
    set.iter().any(|s| s == item)
}

fn has_all(set: &[String], items: &[String]) -> bool {
    items.iter().all(|i| has(set, i))
}

fn one(s: &str) -> Option<Vec<String>> {
    Some(vec![s.to_owned()])
}

/// Kubernetes' `BreakdownRule`: the atomic rules of `rule`, each with at
/// most one API group, resource, verb and resource name, or one URL and
/// verb.
pub fn breakdown_rule(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    let names = list(&rule.resource_names);
    for group in list(&rule.api_groups) {
        for resource in list(&rule.resources) {
            for verb in &rule.verbs {
                let atom = |name: Option<&String>| PolicyRule {
                    api_groups: one(group),
                    resources: one(resource),
                    verbs: vec![verb.clone()],
                    resource_names: name.map(|n| vec![n.clone()]),
                    non_resource_urls: None,
                };
                if names.is_empty() {
                    out.push(atom(None));
                } else {
                    out.extend(names.iter().map(|n| atom(Some(n))));
                }
            }
        }
    }
    for url in list(&rule.non_resource_urls) {
        for verb in &rule.verbs {
            out.push(PolicyRule {
                non_resource_urls: one(url),
                verbs: vec![verb.clone()],
                ..Default::default()
            });
        }
    }
    out
}

fn resource_covers_all(owner: &[String], wanted: &[String]) -> bool {
    if has(owner, ALL) || has_all(owner, wanted) {
        return true;
    }
    wanted.iter().all(|path| {
        has(owner, path)
            || path
                .split_once('/')
                .is_some_and(|(_, sub)| has(owner, &format!("*/{sub}")))
    })
}

fn url_covers(owner: &str, path: &str) -> bool {
    owner == path || (owner.ends_with('*') && path.starts_with(owner.trim_end_matches('*')))
}

fn urls_cover_all(owner: &[String], wanted: &[String]) -> bool {
    wanted
        .iter()
        .all(|p| owner.iter().any(|o| url_covers(o, p)))
}

/// Kubernetes' `ruleCovers`: whether `owner` covers the atomic rule `atom`.
fn rule_covers(owner: &PolicyRule, atom: &PolicyRule) -> bool {
    let owner_names = list(&owner.resource_names);
    let atom_names = list(&atom.resource_names);
    let names = if atom_names.is_empty() {
        owner_names.is_empty()
    } else {
        owner_names.is_empty() || has_all(owner_names, atom_names)
    };
    (has(&owner.verbs, ALL) || has_all(&owner.verbs, &atom.verbs))
        && (has(list(&owner.api_groups), ALL)
            || has_all(list(&owner.api_groups), list(&atom.api_groups)))
        && resource_covers_all(list(&owner.resources), list(&atom.resources))
        && urls_cover_all(
            list(&owner.non_resource_urls),
            list(&atom.non_resource_urls),
        )
        && names
}

/// Kubernetes' `Covers`: whether `owner` rules cover every `requested`
/// rule, and the atomic rules they do not cover.
pub fn covers(owner: &[PolicyRule], requested: &[PolicyRule]) -> (bool, Vec<PolicyRule>) {
    let uncovered: Vec<PolicyRule> = (requested.iter().flat_map(breakdown_rule))
        .filter(|atom| !owner.iter().any(|o| rule_covers(o, atom)))
        .collect();
    (uncovered.is_empty(), uncovered)
}

/// Why a user may (or may not) grant a role's rules.
#[derive(Clone, Debug, PartialEq)]
pub enum GrantCheck {
    /// The user holds every rule itself.
    Covered,
    /// The user may `escalate` roles of that kind.
    Escalate,
    /// The user may `bind` that role.
    Bind,
    /// Not allowed; these atomic rules are missing.
    Escalation(Vec<PolicyRule>),
}

impl GrantCheck {
    /// Whether the grant is allowed.
    pub fn allowed(&self) -> bool {
        !matches!(self, GrantCheck::Escalation(_))
    }
}

/// API group and resource of a role kind.
fn role_resource(kind: RoleKind) -> (&'static str, &'static str) {
    match kind {
        RoleKind::Role => ("rbac.authorization.k8s.io", "roles"),
        RoleKind::ClusterRole => ("rbac.authorization.k8s.io", "clusterroles"),
        RoleKind::GlobalRole => ("iam.kubesphere.io", "globalroles"),
        RoleKind::WorkspaceRole => ("iam.kubesphere.io", "workspaceroles"),
    }
}

fn holds<S: RuleSource + ?Sized>(
    source: &S,
    requester: &Attributes<'_>,
    verb: &str,
    kind: RoleKind,
    name: &str,
) -> bool {
    let (api_group, resource) = role_resource(kind);
    let attrs = Attributes {
        verb,
        api_group,
        resource,
        subresource: "",
        name,
        is_resource_request: true,
        ..*requester
    };
    authorizer::authorize(source, &attrs).allowed
}

/// Whether the requester may create or update a role of `kind` named
/// `name` with `rules` (Kubernetes' role storage: `escalate` on the role
/// kind, or `ConfirmNoEscalation`). The requester's user, groups, scope,
/// namespace and workspace say where the role lives: a Role's namespace at
/// `Namespace` scope, a WorkspaceRole's workspace at `Workspace` scope, a
/// ClusterRole at `Cluster` scope, a GlobalRole at `Global` scope.
pub fn check_role_write<S: RuleSource + ?Sized>(
    source: &S,
    requester: &Attributes<'_>,
    kind: RoleKind,
    name: &str,
    rules: &[PolicyRule],
) -> GrantCheck {
    if holds(source, requester, "escalate", kind, name) {
        return GrantCheck::Escalate;
    }
    confirm_no_escalation(source, requester, rules)
}

/// Whether the requester may bind the role of `kind` named `name`, whose
/// rules are `rules` (Kubernetes' binding storage: `bind` on that role, or
/// `ConfirmNoEscalation`). Scope as for [`check_role_write`].
pub fn check_binding<S: RuleSource + ?Sized>(
    source: &S,
    requester: &Attributes<'_>,
    kind: RoleKind,
    name: &str,
    rules: &[PolicyRule],
) -> GrantCheck {
    if holds(source, requester, "bind", kind, name) {
        return GrantCheck::Bind;
    }
    confirm_no_escalation(source, requester, rules)
}

/// `ConfirmNoEscalation`: whether the rules the requester holds at its
/// scope cover `rules`.
pub fn confirm_no_escalation<S: RuleSource + ?Sized>(
    source: &S,
    requester: &Attributes<'_>,
    rules: &[PolicyRule],
) -> GrantCheck {
    let owner = rules_for(source, requester).rules;
    match covers(&owner, rules) {
        (true, _) => GrantCheck::Covered,
        (false, missing) => GrantCheck::Escalation(missing),
    }
}

/// The resource scope at which a role of `kind` is granted.
pub fn scope_of(kind: RoleKind) -> ResourceScope {
    match kind {
        RoleKind::Role => ResourceScope::Namespace,
        RoleKind::ClusterRole => ResourceScope::Cluster,
        RoleKind::GlobalRole => ResourceScope::Global,
        RoleKind::WorkspaceRole => ResourceScope::Workspace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Option<Vec<String>> {
        (!v.is_empty()).then(|| v.iter().map(|s| (*s).to_owned()).collect())
    }

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        PolicyRule {
            verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
            api_groups: strs(groups),
            resources: strs(resources),
            resource_names: strs(names),
            non_resource_urls: None,
        }
    }

    fn urls(verbs: &[&str], urls: &[&str]) -> PolicyRule {
        PolicyRule {
            verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
            non_resource_urls: strs(urls),
            ..Default::default()
        }
    }

    #[test]
    fn breakdown() {
        let r = rule(&["get", "list"], &["", "apps"], &["pods"], &["a", "b"]);
        assert_eq!(breakdown_rule(&r).len(), 8);
        let r = PolicyRule {
            non_resource_urls: strs(&["/a", "/b"]),
            ..rule(&["get", "post"], &[""], &["pods"], &[])
        };
        // 1 group x 1 resource x 2 verbs, plus 2 urls x 2 verbs.
        assert_eq!(breakdown_rule(&r).len(), 6);
        assert!(breakdown_rule(&rule(&["get"], &[], &["pods"], &[])).is_empty());
    }

    #[test]
    fn covers_table() {
        // (owner, requested, covered)
        let table = [
            (
                vec![rule(&["*"], &["*"], &["*"], &[])],
                vec![rule(&["get"], &["apps"], &["deployments"], &["x"])],
                true,
            ),
            (
                vec![rule(&["get"], &[""], &["pods"], &[])],
                vec![rule(&["get"], &[""], &["pods"], &[])],
                true,
            ),
            (
                vec![rule(&["get"], &[""], &["pods"], &[])],
                vec![rule(&["get", "list"], &[""], &["pods"], &[])],
                false,
            ),
            (
                vec![
                    rule(&["get"], &[""], &["pods"], &[]),
                    rule(&["list"], &[""], &["pods"], &[]),
                ],
                vec![rule(&["get", "list"], &[""], &["pods"], &[])],
                true,
            ),
            (
                vec![rule(&["get"], &[""], &["pods"], &[])],
                vec![rule(&["get"], &["apps"], &["pods"], &[])],
                false,
            ),
            (
                vec![rule(&["get"], &[""], &["*/log"], &[])],
                vec![rule(&["get"], &[""], &["pods/log"], &[])],
                true,
            ),
            (
                vec![rule(&["get"], &[""], &["*/log"], &[])],
                vec![rule(&["get"], &[""], &["pods"], &[])],
                false,
            ),
            (
                vec![rule(&["get"], &[""], &["pods/log"], &[])],
                vec![rule(&["get"], &[""], &["*/log"], &[])],
                false,
            ),
            (
                vec![rule(&["get"], &[""], &["pods"], &["a"])],
                vec![rule(&["get"], &[""], &["pods"], &["a"])],
                true,
            ),
            (
                vec![rule(&["get"], &[""], &["pods"], &["a"])],
                vec![rule(&["get"], &[""], &["pods"], &[])],
                false,
            ),
            (
                vec![rule(&["get"], &[""], &["pods"], &[])],
                vec![rule(&["get"], &[""], &["pods"], &["a", "b"])],
                true,
            ),
            (
                vec![rule(&["GET"], &[""], &["pods"], &[])],
                vec![rule(&["get"], &[""], &["pods"], &[])],
                false,
            ),
            (
                vec![urls(&["get"], &["/api/*"])],
                vec![urls(&["get"], &["/api/v1", "/api/*"])],
                true,
            ),
            (
                vec![urls(&["get"], &["/api/*"])],
                vec![urls(&["get"], &["/apis"])],
                false,
            ),
            (
                vec![urls(&["*"], &["*"])],
                vec![urls(&["get"], &["/anything"])],
                true,
            ),
            (
                vec![urls(&["get"], &["/healthz"])],
                vec![urls(&["get"], &["*"])],
                false,
            ),
            (
                vec![urls(&["get"], &["*"])],
                vec![rule(&["get"], &[""], &["pods"], &[])],
                false,
            ),
            (vec![], vec![], true),
            (vec![], vec![rule(&["get"], &[""], &["pods"], &[])], false),
        ];
        for (i, (owner, requested, want)) in table.into_iter().enumerate() {
            let (got, missing) = covers(&owner, &requested);
            assert_eq!(got, want, "case {i}: missing {missing:?}");
            assert_eq!(missing.is_empty(), want);
        }
    }
}
