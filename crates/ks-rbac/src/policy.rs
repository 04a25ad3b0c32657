//! The objects a policy is made of, and a pure loader from YAML text.
//!
//! A [`Policy`] holds the eight role and binding kinds and the Namespaces
//! (whose `kubesphere.io/workspace` label puts them in a workspace). The
//! loader reads multi-document YAML (or JSON, which is YAML), expands
//! `List` kinds (`kind: List` or any `*List` with `items`), and reports every
//! problem as a [`Diagnostic`] naming the source and the document index
//! (0-based, counting documents separated by `---`), and the item index
//! inside a list; the other documents still load. In [`Strictness::Strict`]
//! mode the first error fails the load. The crate reads no files: callers
//! pass the text and a source name (usually the path).
//!
//! When two objects of a kind share a key (name, and namespace for Roles,
//! RoleBindings), the later one is the one that counts, as if the
//! manifests had been applied in order.

use std::fmt;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use ks_types::iam::{GlobalRole, GlobalRoleBinding, WorkspaceRole, WorkspaceRoleBinding};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;

/// Every object that authorization looks at.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    /// Namespaced roles.
    pub roles: Vec<Role>,
    /// Cluster roles.
    pub cluster_roles: Vec<ClusterRole>,
    /// Namespaced role bindings.
    pub role_bindings: Vec<RoleBinding>,
    /// Cluster role bindings.
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    /// KubeSphere global roles.
    pub global_roles: Vec<GlobalRole>,
    /// KubeSphere global role bindings.
    pub global_role_bindings: Vec<GlobalRoleBinding>,
    /// KubeSphere workspace roles.
    pub workspace_roles: Vec<WorkspaceRole>,
    /// KubeSphere workspace role bindings.
    pub workspace_role_bindings: Vec<WorkspaceRoleBinding>,
    /// Namespaces (for their workspace label).
    pub namespaces: Vec<Namespace>,
}

/// What the loader does on a bad document.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strictness {
    /// Report it and load the rest.
    #[default]
    Tolerant,
    /// Fail on the first error (warnings never fail).
    Strict,
}

/// How bad a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The document was skipped but is not an RBAC object (an unknown kind).
    Warning,
    /// The document is broken: bad YAML, no kind, or not a valid object.
    Error,
}

/// One problem found while loading, pointing at its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Name of the source (a file path, usually).
    pub source: String,
    /// Index of the document in the source, from 0.
    pub document: usize,
    /// Index of the item inside a `List` document, from 0.
    pub item: Option<usize>,
    /// Line in the source (1-based), when the parser knows it.
    pub line: Option<usize>,
    /// How bad it is.
    pub severity: Severity,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{severity}: {}: document {}", self.source, self.document)?;
        if let Some(item) = self.item {
            write!(f, ", item {item}")?;
        }
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A decoded object of one of the policy kinds.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Object {
    /// A Role.
    Role(Role),
    /// A ClusterRole.
    ClusterRole(ClusterRole),
    /// A RoleBinding.
    RoleBinding(RoleBinding),
    /// A ClusterRoleBinding.
    ClusterRoleBinding(ClusterRoleBinding),
    /// A GlobalRole.
    GlobalRole(GlobalRole),
    /// A GlobalRoleBinding.
    GlobalRoleBinding(GlobalRoleBinding),
    /// A WorkspaceRole.
    WorkspaceRole(WorkspaceRole),
    /// A WorkspaceRoleBinding.
    WorkspaceRoleBinding(WorkspaceRoleBinding),
    /// A Namespace.
    Namespace(Namespace),
}

const RBAC_V1: &str = "rbac.authorization.k8s.io/v1";
const IAM_V1ALPHA2: &str = "iam.kubesphere.io/v1alpha2";

/// Why one value is not a policy object.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Rejection {
    NotAnObject,
    UnknownKind(String, String),
    Invalid(String),
}

fn decode<T: DeserializeOwned>(value: Value) -> Result<T, Rejection> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        Rejection::Invalid(if path.is_empty() || path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        })
    })
}

impl Object {
    /// Decodes one object (not a list) from a JSON value.
    fn from_value(value: Value) -> Result<Object, Rejection> {
        let Value::Object(map) = &value else {
            return Err(Rejection::NotAnObject);
        };
        let text = |key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (api_version, kind) = (text("apiVersion"), text("kind"));
        if kind.is_empty() {
            return Err(Rejection::Invalid(
                "the object has no kind (apiVersion and kind are required)".into(),
            ));
        }
        Ok(match (api_version.as_str(), kind.as_str()) {
            (RBAC_V1, "Role") => Object::Role(decode(value)?),
            (RBAC_V1, "ClusterRole") => Object::ClusterRole(decode(value)?),
            (RBAC_V1, "RoleBinding") => Object::RoleBinding(decode(value)?),
            (RBAC_V1, "ClusterRoleBinding") => Object::ClusterRoleBinding(decode(value)?),
            (IAM_V1ALPHA2, "GlobalRole") => Object::GlobalRole(decode(value)?),
            (IAM_V1ALPHA2, "GlobalRoleBinding") => Object::GlobalRoleBinding(decode(value)?),
            (IAM_V1ALPHA2, "WorkspaceRole") => Object::WorkspaceRole(decode(value)?),
            (IAM_V1ALPHA2, "WorkspaceRoleBinding") => Object::WorkspaceRoleBinding(decode(value)?),
            ("v1", "Namespace") => Object::Namespace(decode(value)?),
            _ => return Err(Rejection::UnknownKind(api_version, kind)),
        })
    }
}

impl Policy {
    /// An empty policy.
    pub fn new() -> Self {
        Policy::default()
    }

    /// Loads every document of `text` tolerantly: a policy and the
    /// diagnostics of what was skipped.
    pub fn from_yaml(source: &str, text: &str) -> (Policy, Vec<Diagnostic>) {
        let mut policy = Policy::new();
        let diagnostics = policy.load_yaml_tolerant(source, text);
        (policy, diagnostics)
    }

    /// Adds every document of `text` (named `source` in diagnostics).
    /// Tolerant mode returns every diagnostic; strict mode fails with
    /// [`Error::Load`] on the first error, leaving what loaded before it.
    pub fn load_yaml(
        &mut self,
        source: &str,
        text: &str,
        strictness: Strictness,
    ) -> Result<Vec<Diagnostic>, Error> {
        let mut diagnostics = Vec::new();
        for (index, (line, chunk)) in split_documents(text).into_iter().enumerate() {
            let mut report = |item: Option<usize>, line: Option<usize>, severity, message| {
                diagnostics.push(Diagnostic {
                    source: source.to_owned(),
                    document: index,
                    item,
                    line,
                    severity,
                    message,
                });
                if strictness == Strictness::Strict && severity == Severity::Error {
                    return Err(());
                }
                Ok(())
            };
            let value = match serde_norway::from_str::<Value>(chunk) {
                Ok(v) => v,
                Err(e) => {
                    let at = e.location().map(|l| line + l.line() - 1);
                    let mut message = e.to_string();
                    if let Some(l) = e.location() {
                        let suffix = format!(" at line {} column {}", l.line(), l.column());
                        if let Some(s) = message.strip_suffix(&suffix) {
                            message = s.to_owned();
                        }
                    }
                    if report(
                        None,
                        at,
                        Severity::Error,
                        format!("invalid YAML: {message}"),
                    )
                    .is_err()
                    {
                        return Err(strict_error(diagnostics));
                    }
                    continue;
                }
            };
            if value.is_null() {
                continue; // An empty document.
            }
            let line = Some(line);
            let items = match list_items(value) {
                Ok(items) => items.into_iter().map(|(i, v)| (Some(i), v)).collect(),
                Err(value) => vec![(None, value)],
            };
            for (item, value) in items {
                let result = match Object::from_value(value) {
                    Ok(object) => {
                        self.insert(object);
                        Ok(())
                    }
                    Err(Rejection::NotAnObject) => report(
                        item,
                        line,
                        Severity::Error,
                        "expected an object (a mapping with apiVersion and kind)".into(),
                    ),
                    Err(Rejection::UnknownKind(api_version, kind)) => report(
                        item,
                        line,
                        Severity::Warning,
                        format!(
                            "skipped {kind} ({api_version:?}): not a role, binding or Namespace \
                             (rbac.authorization.k8s.io/v1, iam.kubesphere.io/v1alpha2, v1)"
                        ),
                    ),
                    Err(Rejection::Invalid(message)) => {
                        report(item, line, Severity::Error, message)
                    }
                };
                if result.is_err() {
                    return Err(strict_error(diagnostics));
                }
            }
        }
        Ok(diagnostics)
    }

    fn load_yaml_tolerant(&mut self, source: &str, text: &str) -> Vec<Diagnostic> {
        // Tolerant loading never fails.
        self.load_yaml(source, text, Strictness::Tolerant)
            .unwrap_or_default()
    }

    /// Adds one object.
    pub fn insert(&mut self, object: Object) {
        match object {
            Object::Role(o) => self.roles.push(o),
            Object::ClusterRole(o) => self.cluster_roles.push(o),
            Object::RoleBinding(o) => self.role_bindings.push(o),
            Object::ClusterRoleBinding(o) => self.cluster_role_bindings.push(o),
            Object::GlobalRole(o) => self.global_roles.push(o),
            Object::GlobalRoleBinding(o) => self.global_role_bindings.push(o),
            Object::WorkspaceRole(o) => self.workspace_roles.push(o),
            Object::WorkspaceRoleBinding(o) => self.workspace_role_bindings.push(o),
            Object::Namespace(o) => self.namespaces.push(o),
        }
    }

    /// Appends every object of `other`.
    pub fn extend(&mut self, other: Policy) {
        self.roles.extend(other.roles);
        self.cluster_roles.extend(other.cluster_roles);
        self.role_bindings.extend(other.role_bindings);
        self.cluster_role_bindings
            .extend(other.cluster_role_bindings);
        self.global_roles.extend(other.global_roles);
        self.global_role_bindings.extend(other.global_role_bindings);
        self.workspace_roles.extend(other.workspace_roles);
        self.workspace_role_bindings
            .extend(other.workspace_role_bindings);
        self.namespaces.extend(other.namespaces);
    }

    /// Writes every object as multi-document YAML (namespaces, roles, then
    /// bindings), in a form [`Policy::load_yaml`] reads back.
    pub fn to_yaml(&self) -> Result<String, Error> {
        fn push<T: serde::Serialize>(out: &mut String, items: &[T]) -> Result<(), Error> {
            for item in items {
                out.push_str("---\n");
                let yaml =
                    serde_norway::to_string(item).map_err(|e| Error::Encode(e.to_string()))?;
                out.push_str(&yaml);
            }
            Ok(())
        }
        let mut out = String::new();
        push(&mut out, &self.namespaces)?;
        push(&mut out, &self.global_roles)?;
        push(&mut out, &self.workspace_roles)?;
        push(&mut out, &self.cluster_roles)?;
        push(&mut out, &self.roles)?;
        push(&mut out, &self.global_role_bindings)?;
        push(&mut out, &self.workspace_role_bindings)?;
        push(&mut out, &self.cluster_role_bindings)?;
        push(&mut out, &self.role_bindings)?;
        Ok(out)
    }

    /// Number of bindings of all four kinds.
    pub fn binding_count(&self) -> usize {
        self.role_bindings.len()
            + self.cluster_role_bindings.len()
            + self.global_role_bindings.len()
            + self.workspace_role_bindings.len()
    }
}

fn strict_error(mut diagnostics: Vec<Diagnostic>) -> Error {
    match diagnostics.pop() {
        Some(d) => Error::Load(Box::new(d)),
        None => Error::Load(Box::new(Diagnostic {
            source: String::new(),
            document: 0,
            item: None,
            line: None,
            severity: Severity::Error,
            message: "load failed".into(),
        })),
    }
}

/// The items of a list document (`kind: List` or `*List` with `items`), or
/// the value back when it is not one.
fn list_items(value: Value) -> Result<Vec<(usize, Value)>, Value> {
    let is_list = value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && value.get("items").is_some_and(Value::is_array);
    if !is_list {
        return Err(value);
    }
    match value {
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => Ok(items.into_iter().enumerate().collect()),
            _ => Ok(Vec::new()),
        },
        other => Err(other),
    }
}

/// Splits a YAML stream into documents at `---` lines (a document marker at
/// column 0 always starts a new document, even inside a block scalar). Each
/// document comes with its first line (1-based) and keeps its marker line,
/// so it parses on its own. Leading text with no content is no document.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let is_marker = line
            .strip_prefix("---")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']));
        if is_marker && offset > start {
            docs.push((start_line, &text[start..offset]));
            start = offset;
            start_line = n + 1;
        } else if is_marker {
            start_line = n + 1;
        }
        offset += line.len();
    }
    docs.push((start_line, &text[start..]));
    // Text before the first marker is a document only if it has content.
    if let Some((_, first)) = docs.first()
        && docs.len() > 1
        && !has_content(first)
    {
        docs.remove(0);
    }
    docs
}

fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && !t.starts_with('%')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents() {
        let docs = split_documents("a: 1\n---\nb: 2\n--- \nc: 3\n");
        assert_eq!(
            docs,
            vec![(1, "a: 1\n"), (2, "---\nb: 2\n"), (4, "--- \nc: 3\n")]
        );
        let docs = split_documents("# header\n---\nb: 2\n");
        assert_eq!(docs, vec![(2, "---\nb: 2\n")]);
        let docs = split_documents("---\nb: 2\n----\n");
        assert_eq!(docs, vec![(1, "---\nb: 2\n----\n")]);
        assert_eq!(split_documents(""), vec![(1, "")]);
    }

    #[test]
    fn loads_kinds_lists_and_reports_bad_documents() {
        let text = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: view}
rules: [{verbs: [get], apiGroups: [""], resources: [pods]}]
---
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata: {name: rb, namespace: ns1}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
  subjects: [{kind: User, name: alice}]
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata: {name: broken}
  roleRef: 42
---
: : bad yaml [
---
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRole
metadata: {name: g}
rules: []
---
- just a list
---
metadata: {name: nokind}
---
---
apiVersion: v1
kind: Namespace
metadata: {name: ns1, labels: {kubesphere.io/workspace: ws1}}
"#;
        let (policy, diags) = Policy::from_yaml("policy.yaml", text);
        assert_eq!(policy.cluster_roles.len(), 1);
        assert_eq!(policy.role_bindings.len(), 1);
        assert_eq!(policy.global_roles.len(), 1);
        assert_eq!(policy.namespaces.len(), 1);
        let summary: Vec<_> = diags
            .iter()
            .map(|d| (d.document, d.item, d.severity))
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, Some(1), Severity::Warning),
                (1, Some(2), Severity::Error),
                (2, None, Severity::Error),
                (4, None, Severity::Error),
                (5, None, Severity::Error),
            ],
            "{diags:#?}"
        );
        assert!(diags[1].message.contains("roleRef"), "{}", diags[1]);
        assert_eq!(diags[2].line, Some(23), "{}", diags[2]);
        assert!(
            diags[2]
                .to_string()
                .starts_with("error: policy.yaml: document 2 (line 23): invalid YAML")
        );

        let mut strict = Policy::new();
        let err = strict
            .load_yaml("policy.yaml", text, Strictness::Strict)
            .unwrap_err();
        match err {
            Error::Load(d) => assert_eq!((d.document, d.item), (1, Some(2))),
            other => panic!("{other:?}"),
        }
    }
}
