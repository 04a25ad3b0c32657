//! Findings about a policy that are not decisions: what `ks auth lint`
//! reports.
//!
//! Errors (a CI pipeline should fail on them):
//! - `missing-role`: a binding refers to a role that does not exist (a Role
//!   is looked up in the RoleBinding's namespace; other bindings cannot
//!   refer to a Role);
//! - `unsupported-role-kind`: a `roleRef.kind` that is none of Role,
//!   ClusterRole, GlobalRole, WorkspaceRole;
//! - `no-workspace`: a WorkspaceRoleBinding without a
//!   `kubesphere.io/workspace` label (it applies nowhere);
//! - `no-namespace`: a RoleBinding without a namespace.
//!
//! Warnings:
//! - `no-subjects`: a binding without subjects that name anybody;
//! - `unused-role`: a role no binding refers to, that is neither a role
//!   template (`iam.kubesphere.io/role-template: "true"`) nor aggregated
//!   by another role;
//! - `wildcard`: a rule granting `*` verbs on `*` resources (or `*`
//!   non-resource URLs);
//! - `escalate`, `bind`: a rule granting those verbs on roles of any kind,
//!   which lets the holder grant what it does not hold;
//! - `impersonate`: a rule granting `impersonate` on users, groups or
//!   service accounts;
//! - `secrets-read`: a ClusterRole or GlobalRole that reads secrets
//!   (`get`, `list` or `watch`), everywhere it is bound cluster-wide;
//! - `duplicate`: two objects with the same key (the later one counts);
//! - `aggregation`: an aggregation annotation that does not parse or names
//!   a missing role, or an invalid aggregation selector.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::aggregation::{aggregation_role_names, any_selector_matches};
use crate::grant::{GROUP_KIND, RoleKind, SERVICE_ACCOUNT_KIND, USER_KIND};
use crate::matching::ALL;
use crate::policy::Severity;
use crate::{Policy, PolicySnapshot};

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// A stable short name, e.g. `missing-role` (see the module docs).
    pub code: &'static str,
    /// The object it is about, e.g. `RoleBinding "x/ns"`.
    pub object: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(
            f,
            "{severity}[{}]: {}: {}",
            self.code, self.object, self.message
        )
    }
}

fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

fn namespace(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("")
}

/// A role of any kind.
struct RoleEntry<'p> {
    kind: RoleKind,
    meta: &'p ObjectMeta,
    rules: &'p [PolicyRule],
}

impl RoleEntry<'_> {
    fn key(&self) -> (RoleKind, String, String) {
        let ns = if self.kind == RoleKind::Role {
            namespace(self.meta)
        } else {
            ""
        };
        (self.kind, ns.to_owned(), name(self.meta).to_owned())
    }

    fn describe(&self) -> String {
        match self.kind {
            RoleKind::Role => format!(
                "Role {:?}",
                format!("{}/{}", name(self.meta), namespace(self.meta))
            ),
            kind => format!("{kind} {:?}", name(self.meta)),
        }
    }
}

/// A binding of any kind.
struct BindingEntry<'p> {
    kind: &'static str,
    meta: &'p ObjectMeta,
    subjects: &'p [Subject],
    role_ref: &'p RoleRef,
}

impl BindingEntry<'_> {
    fn namespaced(&self) -> bool {
        self.kind == "RoleBinding"
    }

    fn describe(&self) -> String {
        if self.namespaced() {
            format!(
                "{} {:?}",
                self.kind,
                format!("{}/{}", name(self.meta), namespace(self.meta))
            )
        } else {
            format!("{} {:?}", self.kind, name(self.meta))
        }
    }
}

fn entry<'p>(
    kind: RoleKind,
    meta: &'p ObjectMeta,
    rules: Option<&'p Vec<PolicyRule>>,
) -> RoleEntry<'p> {
    RoleEntry {
        kind,
        meta,
        rules: rules.map(Vec::as_slice).unwrap_or_default(),
    }
}

fn roles(p: &Policy) -> Vec<RoleEntry<'_>> {
    let mut out: Vec<RoleEntry<'_>> = Vec::new();
    out.extend(
        p.roles
            .iter()
            .map(|r| entry(RoleKind::Role, &r.metadata, r.rules.as_ref())),
    );
    out.extend(
        (p.cluster_roles.iter())
            .map(|r| entry(RoleKind::ClusterRole, &r.metadata, r.rules.as_ref())),
    );
    out.extend(
        p.global_roles
            .iter()
            .map(|r| entry(RoleKind::GlobalRole, &r.metadata, Some(&r.rules))),
    );
    out.extend(
        (p.workspace_roles.iter())
            .map(|r| entry(RoleKind::WorkspaceRole, &r.metadata, Some(&r.rules))),
    );
    out
}

fn bindings(p: &Policy) -> Vec<BindingEntry<'_>> {
    let mut out = Vec::new();
    for b in &p.global_role_bindings {
        out.push(BindingEntry {
            kind: "GlobalRoleBinding",
            meta: &b.metadata,
            subjects: &b.subjects,
            role_ref: &b.role_ref,
        });
    }
    for b in &p.workspace_role_bindings {
        out.push(BindingEntry {
            kind: "WorkspaceRoleBinding",
            meta: &b.metadata,
            subjects: &b.subjects,
            role_ref: &b.role_ref,
        });
    }
    for b in &p.role_bindings {
        let subjects = b.subjects.as_deref().unwrap_or_default();
        out.push(BindingEntry {
            kind: "RoleBinding",
            meta: &b.metadata,
            subjects,
            role_ref: &b.role_ref,
        });
    }
    for b in &p.cluster_role_bindings {
        let subjects = b.subjects.as_deref().unwrap_or_default();
        out.push(BindingEntry {
            kind: "ClusterRoleBinding",
            meta: &b.metadata,
            subjects,
            role_ref: &b.role_ref,
        });
    }
    out
}

fn grants(rule: &PolicyRule, verbs: &[&str], groups: &[&str], resources: &[&str]) -> bool {
    let list = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
    let any = |have: &[String], want: &[&str]| {
        have.iter().any(|h| h == ALL || want.contains(&h.as_str()))
    };
    any(&rule.verbs, verbs)
        && any(&list(&rule.api_groups), groups)
        && list(&rule.resources)
            .iter()
            .any(|r| r == ALL || resources.contains(&r.as_str()))
}

const ROLE_GROUPS: &[&str] = &["rbac.authorization.k8s.io", "iam.kubesphere.io"];
const ROLE_RESOURCES: &[&str] = &["roles", "clusterroles", "globalroles", "workspaceroles"];

/// The risky grants of one rule of a role of `kind`.
fn risks(kind: RoleKind, rule: &PolicyRule) -> Vec<(&'static str, &'static str)> {
    let verbs = &rule.verbs;
    let has_all = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|v| v.iter().any(|x| x == ALL));
    if verbs.iter().any(|v| v == ALL)
        && (has_all(&rule.resources) || has_all(&rule.non_resource_urls))
    {
        return vec![("wildcard", "grants every verb on every resource")];
    }
    let mut out = Vec::new();
    if grants(rule, &["escalate"], ROLE_GROUPS, ROLE_RESOURCES) {
        out.push((
            "escalate",
            "grants escalate on roles: the holder can write roles with rules it does not hold",
        ));
    }
    if grants(rule, &["bind"], ROLE_GROUPS, ROLE_RESOURCES) {
        out.push((
            "bind",
            "grants bind on roles: the holder can bind roles with rules it does not hold",
        ));
    }
    if grants(
        rule,
        &["impersonate"],
        &["", "authentication.k8s.io", "iam.kubesphere.io"],
        &["users", "groups", "serviceaccounts", "userextras"],
    ) {
        out.push((
            "impersonate",
            "grants impersonate: the holder can act as other users",
        ));
    }
    if matches!(kind, RoleKind::ClusterRole | RoleKind::GlobalRole)
        && grants(rule, &["get", "list", "watch"], &[""], &["secrets"])
    {
        out.push((
            "secrets-read",
            "reads secrets in every namespace where it is bound cluster-wide",
        ));
    }
    out
}

/// Every finding about `policy`, errors first.
pub fn lint(policy: &Policy) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut push = |severity, code, object: String, message: String| {
        findings.push(Finding {
            severity,
            code,
            object,
            message,
        });
    };
    let roles = roles(policy);
    let mut by_key: BTreeMap<(RoleKind, String, String), usize> = BTreeMap::new();
    for (i, r) in roles.iter().enumerate() {
        if by_key.insert(r.key(), i).is_some() {
            push(
                Severity::Warning,
                "duplicate",
                r.describe(),
                "defined more than once; the last definition counts".into(),
            );
        }
    }

    // Bindings: resolution, scope, subjects.
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let mut seen_bindings = BTreeSet::new();
    for b in bindings(policy) {
        let object = b.describe();
        let ns = if b.namespaced() {
            namespace(b.meta)
        } else {
            ""
        };
        if !seen_bindings.insert((b.kind, ns.to_owned(), name(b.meta).to_owned())) {
            push(
                Severity::Warning,
                "duplicate",
                object.clone(),
                "defined more than once; the last definition counts".into(),
            );
        }
        if b.namespaced() && ns.is_empty() {
            push(
                Severity::Error,
                "no-namespace",
                object.clone(),
                "a RoleBinding needs a namespace".into(),
            );
        }
        if b.kind == "WorkspaceRoleBinding" && ks_types::meta::workspace_of(b.meta).is_none() {
            push(
                Severity::Error,
                "no-workspace",
                object.clone(),
                format!(
                    "has no {} label, so it applies nowhere",
                    ks_types::meta::WORKSPACE_LABEL
                ),
            );
        }
        let names_somebody = b.subjects.iter().any(|s| match s.kind.as_str() {
            USER_KIND | GROUP_KIND => true,
            SERVICE_ACCOUNT_KIND => {
                s.namespace.as_deref().is_some_and(|n| !n.is_empty()) || !ns.is_empty()
            }
            _ => false,
        });
        if !names_somebody {
            push(
                Severity::Warning,
                "no-subjects",
                object.clone(),
                "names no user, group or service account".into(),
            );
        }
        match RoleKind::parse(&b.role_ref.kind) {
            None => push(
                Severity::Error,
                "unsupported-role-kind",
                object,
                format!("refers to unsupported role kind {:?}", b.role_ref.kind),
            ),
            Some(kind) => {
                let key_ns = if kind == RoleKind::Role { ns } else { "" };
                match by_key.get(&(kind, key_ns.to_owned(), b.role_ref.name.clone())) {
                    Some(&i) if kind != RoleKind::Role || !ns.is_empty() => {
                        used.insert(i);
                    }
                    _ => push(
                        Severity::Error,
                        "missing-role",
                        object,
                        format!(
                            "refers to {kind} {:?}, which does not exist",
                            b.role_ref.name
                        ),
                    ),
                }
            }
        }
    }

    // Roles aggregated by others count as used.
    for r in &roles {
        let ns = if r.kind == RoleKind::Role {
            namespace(r.meta)
        } else {
            ""
        };
        for n in aggregation_role_names(r.meta) {
            if let Some(&i) = by_key.get(&(r.kind, ns.to_owned(), n)) {
                used.insert(i);
            }
        }
    }
    for c in &policy.cluster_roles {
        let selectors = (c.aggregation_rule.as_ref())
            .and_then(|a| a.cluster_role_selectors.as_deref())
            .unwrap_or_default();
        if selectors.is_empty() {
            continue;
        }
        for (i, r) in roles.iter().enumerate() {
            if r.kind == RoleKind::ClusterRole
                && name(r.meta) != name(&c.metadata)
                && any_selector_matches(selectors, r.meta)
            {
                used.insert(i);
            }
        }
    }
    for (i, r) in roles.iter().enumerate() {
        if !used.contains(&i) && !ks_types::meta::is_role_template(r.meta) {
            push(
                Severity::Warning,
                "unused-role",
                r.describe(),
                "no binding refers to it and no role aggregates it".into(),
            );
        }
        for (j, rule) in r.rules.iter().enumerate() {
            for (code, message) in risks(r.kind, rule) {
                push(
                    Severity::Warning,
                    code,
                    r.describe(),
                    format!("rule {j} {message}"),
                );
            }
        }
    }
    for w in PolicySnapshot::build(policy).warnings() {
        push(Severity::Warning, "aggregation", String::new(), w.clone());
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lints_the_usual_suspects() {
        let text = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: god}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: risky}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [escalate, bind]}
- {apiGroups: [""], resources: [users], verbs: [impersonate]}
- {apiGroups: [""], resources: [secrets], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: lonely, namespace: ns1}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: god}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: god}
subjects: [{kind: User, name: root}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: risky}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: risky}
subjects: [{kind: ServiceAccount, name: sa}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: broken, namespace: ns1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: nope}
subjects: [{kind: User, name: u}]
---
apiVersion: iam.kubesphere.io/v1alpha2
kind: WorkspaceRoleBinding
metadata: {name: nowhere}
roleRef: {apiGroup: iam.kubesphere.io, kind: Workspace, name: x}
subjects: [{kind: User, name: u}]
"#;
        let (policy, _) = Policy::from_yaml("t", text);
        let findings = lint(&policy);
        let codes: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| (f.code, f.object.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("no-workspace", r#"WorkspaceRoleBinding "nowhere""#),
                ("unsupported-role-kind", r#"WorkspaceRoleBinding "nowhere""#),
                ("missing-role", r#"RoleBinding "broken/ns1""#),
                ("no-subjects", r#"ClusterRoleBinding "risky""#),
                ("unused-role", r#"Role "lonely/ns1""#),
                ("wildcard", r#"ClusterRole "god""#),
                ("escalate", r#"ClusterRole "risky""#),
                ("bind", r#"ClusterRole "risky""#),
                ("impersonate", r#"ClusterRole "risky""#),
                ("secrets-read", r#"ClusterRole "risky""#),
            ],
            "{findings:#?}"
        );
        assert!(findings[2].to_string().starts_with(
            r#"error[missing-role]: RoleBinding "broken/ns1": refers to Role "nope""#
        ));
    }
}
