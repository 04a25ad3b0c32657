//! Who a binding applies to, and how a grant or a resolution error is
//! described in reasons.
//!
//! Subject matching is Kubernetes' `appliesToUser`
//! (`plugin/pkg/auth/authorizer/rbac/rbac.go`), which KubeSphere copies: a
//! `User` subject matches the user name, a `Group` subject any of the
//! user's groups, a `ServiceAccount` subject the user
//! `system:serviceaccount:NS:NAME`, where NS is the subject's namespace or,
//! when it has none, the namespace of the RoleBinding (for the other
//! binding kinds a service account without a namespace matches nobody).
//! Other kinds match nobody. All comparisons are exact.

use std::fmt;

use k8s_openapi::api::rbac::v1::Subject;

use crate::Attributes;

/// Subject kind `User`.
pub const USER_KIND: &str = "User";
/// Subject kind `Group`.
pub const GROUP_KIND: &str = "Group";
/// Subject kind `ServiceAccount`.
pub const SERVICE_ACCOUNT_KIND: &str = "ServiceAccount";
/// Prefix of service account user names.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// Whether `user` is the service account `namespace/name`
/// (`system:serviceaccount:NAMESPACE:NAME`), without building the string.
pub fn is_service_account_user(user: &str, namespace: &str, name: &str) -> bool {
    user.strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.strip_prefix(namespace))
        .and_then(|rest| rest.strip_prefix(':'))
        == Some(name)
}

/// The namespace a service account subject refers to: its own, or
/// `binding_namespace` when it has none. Empty when neither is set.
pub fn service_account_namespace<'a>(subject: &'a Subject, binding_namespace: &'a str) -> &'a str {
    match subject.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => ns,
        _ => binding_namespace,
    }
}

/// Kubernetes' `appliesToUser`: whether `subject` of a binding in
/// `binding_namespace` (empty for cluster-wide bindings) names the requester.
pub fn subject_applies(subject: &Subject, attrs: &Attributes<'_>, binding_namespace: &str) -> bool {
    match subject.kind.as_str() {
        USER_KIND => subject.name == attrs.user,
        GROUP_KIND => attrs.groups.contains(&subject.name),
        SERVICE_ACCOUNT_KIND => {
            let ns = service_account_namespace(subject, binding_namespace);
            !ns.is_empty() && is_service_account_user(attrs.user, ns, &subject.name)
        }
        _ => false,
    }
}

/// Index of the first subject that names the requester (Kubernetes'
/// `appliesTo`).
pub fn first_applying_subject(
    subjects: &[Subject],
    attrs: &Attributes<'_>,
    binding_namespace: &str,
) -> Option<usize> {
    subjects
        .iter()
        .position(|s| subject_applies(s, attrs, binding_namespace))
}

/// The four binding kinds, in the order KubeSphere's scope walk visits them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BindingKind {
    /// `iam.kubesphere.io/v1alpha2` GlobalRoleBinding.
    GlobalRoleBinding,
    /// `iam.kubesphere.io/v1alpha2` WorkspaceRoleBinding.
    WorkspaceRoleBinding,
    /// `rbac.authorization.k8s.io/v1` RoleBinding.
    RoleBinding,
    /// `rbac.authorization.k8s.io/v1` ClusterRoleBinding.
    ClusterRoleBinding,
}

impl BindingKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            BindingKind::GlobalRoleBinding => "GlobalRoleBinding",
            BindingKind::WorkspaceRoleBinding => "WorkspaceRoleBinding",
            BindingKind::RoleBinding => "RoleBinding",
            BindingKind::ClusterRoleBinding => "ClusterRoleBinding",
        }
    }
}

impl fmt::Display for BindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The four role kinds a `roleRef` can name. KubeSphere resolves a roleRef
/// by its kind alone, whatever the binding's kind (`am.GetRoleReferenceRules`):
/// a `Role` in the binding's namespace, the others by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleKind {
    /// `rbac.authorization.k8s.io/v1` Role (namespaced).
    Role,
    /// `rbac.authorization.k8s.io/v1` ClusterRole.
    ClusterRole,
    /// `iam.kubesphere.io/v1alpha2` GlobalRole.
    GlobalRole,
    /// `iam.kubesphere.io/v1alpha2` WorkspaceRole.
    WorkspaceRole,
}

impl RoleKind {
    /// Parses a `roleRef.kind` (case-sensitive).
    pub fn parse(kind: &str) -> Option<Self> {
        match kind {
            "Role" => Some(RoleKind::Role),
            "ClusterRole" => Some(RoleKind::ClusterRole),
            "GlobalRole" => Some(RoleKind::GlobalRole),
            "WorkspaceRole" => Some(RoleKind::WorkspaceRole),
            _ => None,
        }
    }

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Role => "Role",
            RoleKind::ClusterRole => "ClusterRole",
            RoleKind::GlobalRole => "GlobalRole",
            RoleKind::WorkspaceRole => "WorkspaceRole",
        }
    }
}

impl fmt::Display for RoleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A binding, as reasons name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BindingRef<'a> {
    /// Kind of the binding.
    pub kind: BindingKind,
    /// Name of the binding.
    pub name: &'a str,
    /// Namespace of a RoleBinding (empty for the other kinds).
    pub namespace: &'a str,
    /// `roleRef.kind`, as written.
    pub role_kind: &'a str,
    /// `roleRef.name`.
    pub role_name: &'a str,
}

impl fmt::Display for BindingRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == BindingKind::RoleBinding {
            write!(
                f,
                "{} {:?}",
                self.kind,
                format!("{}/{}", self.name, self.namespace)
            )
        } else {
            write!(f, "{} {:?}", self.kind, self.name)
        }
    }
}

/// A rule reached through a binding: the source of an Allow.
#[derive(Clone, Copy, Debug)]
pub struct Grant<'a> {
    /// The binding.
    pub binding: BindingRef<'a>,
    /// The binding's subject that names the requester.
    pub subject: &'a Subject,
}

/// Formats a subject as Kubernetes' `describeSubject`: `User "alice"`,
/// `ServiceAccount "name/namespace"`.
pub fn describe_subject(subject: &Subject, binding_namespace: &str) -> String {
    if subject.kind == SERVICE_ACCOUNT_KIND {
        let ns = service_account_namespace(subject, binding_namespace);
        format!("{} {:?}", subject.kind, format!("{}/{}", subject.name, ns))
    } else {
        format!("{} {:?}", subject.kind, subject.name)
    }
}

impl fmt::Display for Grant<'_> {
    /// `RoleBinding "x/ns" of ClusterRole "y" to User "z"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} {:?} to {}",
            self.binding,
            self.binding.role_kind,
            self.binding.role_name,
            describe_subject(self.subject, self.binding.namespace)
        )
    }
}

/// Why a binding that names the requester contributes no rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unresolved {
    /// The referenced role does not exist.
    MissingRole,
    /// `roleRef.kind` is none of Role, ClusterRole, GlobalRole, WorkspaceRole.
    UnsupportedKind,
}

/// A binding naming the requester whose role could not be resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolutionError<'a> {
    /// The binding.
    pub binding: BindingRef<'a>,
    /// What is wrong.
    pub problem: Unresolved,
}

impl fmt::Display for ResolutionError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.binding;
        match self.problem {
            Unresolved::MissingRole => {
                write!(
                    f,
                    "{b} refers to {} {:?}, which does not exist",
                    b.role_kind, b.role_name
                )?;
                if b.role_kind == "Role" && b.namespace.is_empty() {
                    f.write_str(" (a Role can only be bound by a RoleBinding in its namespace)")?;
                }
                Ok(())
            }
            Unresolved::UnsupportedKind => {
                write!(f, "{b} refers to unsupported role kind {:?}", b.role_kind)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(kind: &str, name: &str, ns: Option<&str>) -> Subject {
        Subject {
            kind: kind.into(),
            name: name.into(),
            namespace: ns.map(Into::into),
            api_group: None,
        }
    }

    #[test]
    fn subjects() {
        let groups = ["dev", "ops"];
        let a = Attributes {
            user: "alice",
            groups: (&groups).into(),
            ..Default::default()
        };
        let sa = Attributes {
            user: "system:serviceaccount:ns1:bot",
            ..Default::default()
        };
        // (subject, attrs, binding namespace, applies)
        let table = [
            (subject("User", "alice", None), &a, "", true),
            (subject("User", "Alice", None), &a, "", false),
            (subject("user", "alice", None), &a, "", false),
            (subject("Group", "ops", None), &a, "", true),
            (subject("Group", "alice", None), &a, "", false),
            (subject("User", "dev", None), &a, "", false),
            (subject("ServiceAccount", "bot", Some("ns1")), &sa, "", true),
            (subject("ServiceAccount", "bot", None), &sa, "ns1", true),
            (subject("ServiceAccount", "bot", Some("")), &sa, "ns1", true),
            (subject("ServiceAccount", "bot", None), &sa, "", false),
            (subject("ServiceAccount", "bot", None), &sa, "ns2", false),
            (
                subject("ServiceAccount", "bot", Some("ns2")),
                &sa,
                "ns1",
                false,
            ),
            (subject("ServiceAccount", "bo", Some("ns1")), &sa, "", false),
            (
                subject("User", "system:serviceaccount:ns1:bot", None),
                &sa,
                "",
                true,
            ),
            (subject("Other", "alice", None), &a, "", false),
        ];
        for (s, attrs, ns, want) in table {
            assert_eq!(subject_applies(&s, attrs, ns), want, "{s:?} in {ns:?}");
        }
        assert!(!is_service_account_user(
            "system:serviceaccount:ns:a:b",
            "ns",
            "a"
        ));
        assert!(is_service_account_user(
            "system:serviceaccount:ns:a:b",
            "ns:a",
            "b"
        ));
    }

    #[test]
    fn grant_display() {
        let s = subject("ServiceAccount", "bot", None);
        let g = Grant {
            binding: BindingRef {
                kind: BindingKind::RoleBinding,
                name: "x",
                namespace: "ns",
                role_kind: "ClusterRole",
                role_name: "y",
            },
            subject: &s,
        };
        assert_eq!(
            g.to_string(),
            r#"RoleBinding "x/ns" of ClusterRole "y" to ServiceAccount "bot/ns""#
        );
    }
}
