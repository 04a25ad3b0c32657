//! Validation: pure functions that return every problem of an object, each
//! with the path of the offending field, like Kubernetes' `field.ErrorList`.
//!
//! ```
//! use ks_types::iam::{User, UserSpec};
//! use ks_types::validation::{FieldErrorType, Validate};
//!
//! let mut user = User::default();
//! user.metadata.name = Some("Admin".into());
//! user.spec = UserSpec { email: "not an email".into(), lang: "fr".into(), ..Default::default() };
//! let errors = user.validate();
//! let paths: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
//! assert_eq!(paths, ["metadata.name", "spec.email", "spec.lang"]);
//! assert_eq!(errors[2].error_type, FieldErrorType::NotSupported);
//! ```
//!
//! The rules come from Kubernetes (object names, labels, annotations,
//! policy rules, subjects: `apimachinery/pkg/util/validation` and
//! `pkg/apis/rbac/validation`) and from KubeSphere (its CRD schemas and
//! admission webhooks: email format, password complexity, languages, which
//! role kind a binding may refer to, the workspace label).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Deref;

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube_core::Resource;

use crate::Error;
use crate::cluster::{Cluster, ConnectionType};
use crate::iam::{
    GlobalRole, GlobalRoleBinding, Group, GroupBinding, LoginRecord, User, WorkspaceRole,
    WorkspaceRoleBinding,
};
use crate::meta::{self, AGGREGATION_ROLES_ANNOTATION, WORKSPACE_LABEL};
use crate::resource::KindInfo;
use crate::tenant::{Workspace, WorkspaceSpec, WorkspaceTemplate};

/// Languages the KubeSphere console offers, the allowed values of a user's
/// `spec.lang` (empty means the console default).
pub const SUPPORTED_LANGUAGES: &[&str] = &["en", "zh", "tc", "es"];

/// API groups accepted in a KubeSphere role binding's `roleRef.apiGroup`.
/// KubeSphere itself writes both forms.
pub const IAM_ROLE_REF_API_GROUPS: &[&str] = &["iam.kubesphere.io", "iam.kubesphere.io/v1alpha2"];

/// API groups accepted for `User` and `Group` subjects: the Kubernetes RBAC
/// group, and the two forms KubeSphere writes.
pub const SUBJECT_API_GROUPS: &[&str] = &[
    "rbac.authorization.k8s.io",
    "iam.kubesphere.io",
    "iam.kubesphere.io/v1alpha2",
];

/// Subject kinds a binding may name.
pub const SUBJECT_KINDS: &[&str] = &["User", "Group", "ServiceAccount"];

/// Kubernetes' limit on the total size of an object's annotations.
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// The kind of a [`FieldError`], as in Kubernetes' `field.ErrorType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldErrorType {
    /// A required field is missing or empty.
    Required,
    /// The value is malformed.
    Invalid,
    /// The value is well-formed but not one of the allowed values.
    NotSupported,
    /// The field may not be set here.
    Forbidden,
    /// The value is too long.
    TooLong,
    /// The value repeats an earlier one.
    Duplicate,
}

impl FieldErrorType {
    /// The phrase Kubernetes uses for this type, e.g. `Invalid value`.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldErrorType::Required => "Required value",
            FieldErrorType::Invalid => "Invalid value",
            FieldErrorType::NotSupported => "Unsupported value",
            FieldErrorType::Forbidden => "Forbidden",
            FieldErrorType::TooLong => "Too long",
            FieldErrorType::Duplicate => "Duplicate value",
        }
    }
}

/// One problem with one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// What kind of problem.
    pub error_type: FieldErrorType,
    /// Path of the field, e.g. `spec.email` or `rules[0].verbs`.
    pub field: String,
    /// The offending value, when there is one to show.
    pub bad_value: Option<String>,
    /// Why it is wrong.
    pub detail: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.error_type.as_str())?;
        if let Some(v) = &self.bad_value {
            write!(f, ": {v:?}")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// Every problem found in an object, in field order. Empty means valid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// No errors.
    pub fn new() -> Self {
        FieldErrors(Vec::new())
    }

    /// Adds an error.
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Adds every error of `other`.
    pub fn extend(&mut self, other: FieldErrors) {
        self.0.extend(other.0);
    }

    /// The paths of all errors, in order.
    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.field.as_str()).collect()
    }

    /// `Ok(())` when empty, else [`Error::Invalid`] naming the object.
    pub fn into_result(self, kind: &'static str, name: &str) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid {
                kind,
                name: name.to_owned(),
                errors: self,
            })
        }
    }

    fn required(&mut self, field: &FieldPath, detail: impl Into<String>) {
        self.push(FieldError {
            error_type: FieldErrorType::Required,
            field: field.to_string(),
            bad_value: None,
            detail: detail.into(),
        });
    }

    fn invalid(&mut self, field: &FieldPath, value: &str, detail: impl Into<String>) {
        self.push(FieldError {
            error_type: FieldErrorType::Invalid,
            field: field.to_string(),
            bad_value: Some(value.to_owned()),
            detail: detail.into(),
        });
    }

    fn not_supported(&mut self, field: &FieldPath, value: &str, allowed: &[&str]) {
        let quoted: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
        self.push(FieldError {
            error_type: FieldErrorType::NotSupported,
            field: field.to_string(),
            bad_value: Some(value.to_owned()),
            detail: format!("supported values: {}", quoted.join(", ")),
        });
    }

    fn forbidden(&mut self, field: &FieldPath, detail: impl Into<String>) {
        self.push(FieldError {
            error_type: FieldErrorType::Forbidden,
            field: field.to_string(),
            bad_value: None,
            detail: detail.into(),
        });
    }

    fn duplicate(&mut self, field: &FieldPath, value: &str) {
        self.push(FieldError {
            error_type: FieldErrorType::Duplicate,
            field: field.to_string(),
            bad_value: Some(value.to_owned()),
            detail: String::new(),
        });
    }

    /// Adds one `Invalid` error per problem message.
    fn invalid_all(&mut self, field: &FieldPath, value: &str, problems: Vec<String>) {
        for p in problems {
            self.invalid(field, value, p);
        }
    }
}

impl Deref for FieldErrors {
    type Target = [FieldError];
    fn deref(&self) -> &[FieldError] {
        &self.0
    }
}

impl IntoIterator for FieldErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a FieldErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{e}")?;
        }
        f.write_str("]")
    }
}

/// A field path in Kubernetes notation: `spec.rules[0].verbs`,
/// `metadata.labels[kubesphere.io/workspace]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    /// A path starting at a top-level field.
    pub fn new(field: &str) -> Self {
        FieldPath(field.to_owned())
    }

    /// A sub-field.
    pub fn child(&self, field: &str) -> Self {
        if self.0.is_empty() {
            FieldPath(field.to_owned())
        } else {
            FieldPath(format!("{}.{field}", self.0))
        }
    }

    /// A list element.
    pub fn index(&self, i: usize) -> Self {
        FieldPath(format!("{}[{i}]", self.0))
    }

    /// A map entry.
    pub fn key(&self, key: &str) -> Self {
        FieldPath(format!("{}[{key}]", self.0))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Objects that can check themselves.
pub trait Validate {
    /// Every problem found; empty means valid.
    fn validate(&self) -> FieldErrors;

    /// `Ok(())` when valid, else [`Error::Invalid`] with every problem.
    fn ensure_valid(&self) -> Result<(), Error>
    where
        Self: Resource + KindInfo,
    {
        let name = self.meta().name.clone().unwrap_or_default();
        self.validate().into_result(Self::KIND, &name)
    }
}

// ---------------------------------------------------------------------------
// Format checks (Kubernetes apimachinery/pkg/util/validation). Each returns
// every problem as a message; empty means valid.

const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_MAX: usize = 253;
const QUALIFIED_NAME_MAX: usize = 63;
const LABEL_VALUE_MAX: usize = 63;

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn dns1123_label_shape(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| is_lower_alnum(c) || c == '-')
        && s.starts_with(is_lower_alnum)
        && s.ends_with(is_lower_alnum)
}

/// Problems of `value` as an RFC 1123 DNS label (a namespace or workspace
/// name): at most 63 lowercase alphanumerics or `-`, alphanumeric at both
/// ends.
pub fn dns1123_label(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if value.len() > DNS1123_LABEL_MAX {
        problems.push(format!(
            "must be no more than {DNS1123_LABEL_MAX} characters"
        ));
    }
    if !dns1123_label_shape(value) {
        problems.push(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', \
             and must start and end with an alphanumeric character"
                .to_owned(),
        );
    }
    problems
}

/// Problems of `value` as an RFC 1123 DNS subdomain (the name of most
/// objects): at most 253 characters, dot-separated DNS labels.
pub fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        problems.push(format!(
            "must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
        ));
    }
    if !value.split('.').all(dns1123_label_shape) {
        problems.push(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
             '-' or '.', and must start and end with an alphanumeric character"
                .to_owned(),
        );
    }
    problems
}

fn qualified_name_part_ok(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric();
    !s.is_empty()
        && s.chars().all(|c| ok(c) || c == '-' || c == '_' || c == '.')
        && s.starts_with(ok)
        && s.ends_with(ok)
}

/// Problems of `value` as a qualified name (a label or annotation key):
/// an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// alphanumerics, `-`, `_` or `.`, alphanumeric at both ends.
pub fn qualified_name(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let (prefix, name) = match value.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, value),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            problems.push("prefix part must be non-empty".to_owned());
        } else {
            problems.extend(
                dns1123_subdomain(prefix)
                    .into_iter()
                    .map(|p| format!("prefix part {p}")),
            );
        }
    }
    if name.is_empty() {
        problems.push("name part must be non-empty".to_owned());
    } else {
        if name.len() > QUALIFIED_NAME_MAX {
            problems.push(format!(
                "name part must be no more than {QUALIFIED_NAME_MAX} characters"
            ));
        }
        if !qualified_name_part_ok(name) {
            problems.push(
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must \
                 start and end with an alphanumeric character"
                    .to_owned(),
            );
        }
    }
    problems
}

/// Problems of `value` as a label value: empty, or at most 63
/// alphanumerics, `-`, `_` or `.`, alphanumeric at both ends.
pub fn label_value(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if value.len() > LABEL_VALUE_MAX {
        problems.push(format!("must be no more than {LABEL_VALUE_MAX} characters"));
    }
    if !value.is_empty() && !qualified_name_part_ok(value) {
        problems.push(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', \
             '_' or '.', and must start and end with an alphanumeric character"
                .to_owned(),
        );
    }
    problems
}

fn is_atext(c: char) -> bool {
    // RFC 5322 atext; like Go's net/mail, any non-ASCII character is allowed.
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control())
}

fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// Problems of `value` as an email address: an RFC 5322 addr-spec of
/// dot-atoms, `local@domain`, as Go's `net/mail` (which KubeSphere's user
/// webhook uses) accepts it, without display names or quoted local parts.
pub fn email(value: &str) -> Vec<String> {
    match value.rsplit_once('@') {
        Some((local, domain)) if is_dot_atom(local) && is_dot_atom(domain) => Vec::new(),
        _ => vec!["must be an email address of the form local@domain".to_owned()],
    }
}

/// Problems of a user's password, per KubeSphere's User CRD: either a
/// bcrypt hash (`$2a$`, `$2b$` or `$2y$` and 56 more characters), or 8 to 64
/// characters containing a lowercase letter, an uppercase letter and a
/// digit.
pub fn password(value: &str) -> Vec<String> {
    let chars = value.chars().count();
    let bcrypt = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| value.starts_with(p))
        && chars == 60;
    if bcrypt {
        return Vec::new();
    }
    let mut problems = Vec::new();
    if !(8..=64).contains(&chars) {
        problems.push("must be 8 to 64 characters long".to_owned());
    }
    let has = |f: fn(&char) -> bool| value.chars().any(|c| f(&c));
    if !(has(char::is_ascii_lowercase)
        && has(char::is_ascii_uppercase)
        && has(char::is_ascii_digit))
    {
        problems
            .push("must contain a lowercase letter, an uppercase letter and a digit".to_owned());
    }
    problems
}

// ---------------------------------------------------------------------------
// Metadata

/// Which name format a kind requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain (Kubernetes' default for objects).
    Subdomain,
    /// DNS-1123 label (names used in labels and as prefixes: workspaces,
    /// clusters).
    Label,
    /// DNS-1123 subdomain that is also a valid label value (user names,
    /// which KubeSphere stores in `iam.kubesphere.io/user-ref` labels).
    SubdomainAndLabelValue,
}

fn name_problems(name: &str, rule: NameRule) -> Vec<String> {
    match rule {
        NameRule::Subdomain => dns1123_subdomain(name),
        NameRule::Label => dns1123_label(name),
        NameRule::SubdomainAndLabelValue => {
            let mut p = dns1123_subdomain(name);
            if name.len() > LABEL_VALUE_MAX {
                p.push(format!("must be no more than {LABEL_VALUE_MAX} characters"));
            }
            p
        }
    }
}

/// Checks the metadata of a cluster-scoped object: name (or generateName),
/// no namespace, label keys and values, annotation keys and total size,
/// finalizer names.
pub fn validate_object_meta(meta: &ObjectMeta, path: &FieldPath, rule: NameRule) -> FieldErrors {
    let mut errs = FieldErrors::new();
    match meta.name.as_deref() {
        Some(name) if !name.is_empty() => {
            errs.invalid_all(&path.child("name"), name, name_problems(name, rule));
        }
        _ => match meta.generate_name.as_deref() {
            Some(prefix) if !prefix.is_empty() => {
                // A generated name appends 5 characters to the prefix.
                let sample = format!("{}abcde", prefix);
                errs.invalid_all(
                    &path.child("generateName"),
                    prefix,
                    name_problems(&sample, rule),
                );
            }
            _ => errs.required(&path.child("name"), "name or generateName is required"),
        },
    }
    if meta.namespace.as_deref().is_some_and(|ns| !ns.is_empty()) {
        errs.forbidden(
            &path.child("namespace"),
            "not allowed on this type (cluster-scoped)",
        );
    }
    if let Some(labels) = &meta.labels {
        errs.extend(validate_labels(labels, &path.child("labels")));
    }
    if let Some(annotations) = &meta.annotations {
        let p = path.child("annotations");
        let mut total = 0;
        for (k, v) in annotations {
            errs.invalid_all(&p, k, qualified_name(&k.to_ascii_lowercase()));
            total += k.len() + v.len();
        }
        if total > TOTAL_ANNOTATION_SIZE_LIMIT {
            errs.push(FieldError {
                error_type: FieldErrorType::TooLong,
                field: p.to_string(),
                bad_value: None,
                detail: format!("must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes"),
            });
        }
    }
    if let Some(finalizers) = &meta.finalizers {
        let p = path.child("finalizers");
        for (i, f) in finalizers.iter().enumerate() {
            errs.invalid_all(&p.index(i), f, qualified_name(f));
        }
    }
    errs
}

/// Checks label keys (qualified names) and values.
pub fn validate_labels(labels: &BTreeMap<String, String>, path: &FieldPath) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (k, v) in labels {
        errs.invalid_all(path, k, qualified_name(k));
        errs.invalid_all(&path.key(k), v, label_value(v));
    }
    errs
}

/// Requires the `kubesphere.io/workspace` label with a DNS-1123 label value.
fn require_workspace_label(meta: &ObjectMeta, errs: &mut FieldErrors) {
    let p = FieldPath::new("metadata")
        .child("labels")
        .key(WORKSPACE_LABEL);
    match meta::label(meta, WORKSPACE_LABEL) {
        None | Some("") => errs.required(&p, "must name the workspace the object belongs to"),
        Some(ws) => errs.invalid_all(&p, ws, dns1123_label(ws)),
    }
}

/// Checks that the aggregation annotation, when present, is a JSON list of
/// role names.
fn check_aggregation_annotation(meta: &ObjectMeta, errs: &mut FieldErrors) {
    let p = FieldPath::new("metadata")
        .child("annotations")
        .key(AGGREGATION_ROLES_ANNOTATION);
    match meta::aggregation_roles(meta) {
        Ok(None) => {}
        Ok(Some(names)) => {
            for n in &names {
                if !dns1123_subdomain(n).is_empty() {
                    errs.invalid(&p, n, "must list role names (DNS-1123 subdomains)");
                }
            }
        }
        Err(_) => {
            let raw = meta::annotation(meta, AGGREGATION_ROLES_ANNOTATION).unwrap_or_default();
            errs.invalid(&p, raw, "must be a JSON array of role names");
        }
    }
}

// ---------------------------------------------------------------------------
// RBAC pieces

/// Checks policy rules as Kubernetes does for cluster roles: every rule
/// has verbs; a rule is either about resources (with `apiGroups`) or about
/// non-resource URLs, never both.
pub fn validate_rules(rules: &[PolicyRule], path: &FieldPath) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (i, rule) in rules.iter().enumerate() {
        let p = path.index(i);
        if rule.verbs.is_empty() {
            errs.required(&p.child("verbs"), "verbs must contain at least one value");
        }
        for (j, v) in rule.verbs.iter().enumerate() {
            if v.is_empty() {
                errs.required(&p.child("verbs").index(j), "verbs must be non-empty");
            }
        }
        let urls = rule.non_resource_urls.as_deref().unwrap_or_default();
        let groups = rule.api_groups.as_deref().unwrap_or_default();
        let resources = rule.resources.as_deref().unwrap_or_default();
        if urls.is_empty() {
            if groups.is_empty() {
                errs.required(
                    &p.child("apiGroups"),
                    "resource rules must supply at least one api group",
                );
            }
        } else if !groups.is_empty() || !resources.is_empty() {
            errs.invalid(
                &p.child("nonResourceURLs"),
                &urls.join(","),
                "rules cannot apply to both regular resources and non-resource URLs",
            );
        }
    }
    errs
}

/// Checks a binding's subjects: a known kind and a name; service accounts
/// need a namespace and the core API group, users and groups an RBAC or
/// KubeSphere IAM API group.
pub fn validate_subjects(subjects: &[Subject], path: &FieldPath) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (i, s) in subjects.iter().enumerate() {
        let p = path.index(i);
        if s.name.is_empty() {
            errs.required(&p.child("name"), "subject name is required");
        }
        let api_group = s.api_group.as_deref().unwrap_or_default();
        match s.kind.as_str() {
            "ServiceAccount" => {
                if !api_group.is_empty() {
                    errs.not_supported(&p.child("apiGroup"), api_group, &[""]);
                }
                match s.namespace.as_deref() {
                    None | Some("") => errs.required(
                        &p.child("namespace"),
                        "service account subjects need a namespace",
                    ),
                    Some(ns) => errs.invalid_all(&p.child("namespace"), ns, dns1123_label(ns)),
                }
                if !s.name.is_empty() {
                    errs.invalid_all(&p.child("name"), &s.name, dns1123_subdomain(&s.name));
                }
            }
            "User" | "Group" => {
                if !SUBJECT_API_GROUPS.contains(&api_group) {
                    errs.not_supported(&p.child("apiGroup"), api_group, SUBJECT_API_GROUPS);
                }
            }
            other => errs.not_supported(&p.child("kind"), other, SUBJECT_KINDS),
        }
    }
    errs
}

/// Checks a KubeSphere binding's `roleRef`: the expected role kind, an IAM
/// API group and a role name.
pub fn validate_role_ref(role_ref: &RoleRef, expected_kind: &str, path: &FieldPath) -> FieldErrors {
    let mut errs = FieldErrors::new();
    if role_ref.kind != expected_kind {
        errs.not_supported(&path.child("kind"), &role_ref.kind, &[expected_kind]);
    }
    if !IAM_ROLE_REF_API_GROUPS.contains(&role_ref.api_group.as_str()) {
        errs.not_supported(
            &path.child("apiGroup"),
            &role_ref.api_group,
            IAM_ROLE_REF_API_GROUPS,
        );
    }
    if role_ref.name.is_empty() {
        errs.required(&path.child("name"), "the role's name is required");
    } else {
        errs.invalid_all(
            &path.child("name"),
            &role_ref.name,
            dns1123_subdomain(&role_ref.name),
        );
    }
    errs
}

fn metadata_path() -> FieldPath {
    FieldPath::new("metadata")
}

// ---------------------------------------------------------------------------
// Kinds

/// Validates a [`User`]: name, email, language, password, state.
pub fn validate_user(user: &User) -> FieldErrors {
    let mut errs = validate_object_meta(
        &user.metadata,
        &metadata_path(),
        NameRule::SubdomainAndLabelValue,
    );
    let spec = FieldPath::new("spec");
    let s = &user.spec;
    if !s.email.is_empty() {
        errs.invalid_all(&spec.child("email"), &s.email, email(&s.email));
    }
    if !s.lang.is_empty() && !SUPPORTED_LANGUAGES.contains(&s.lang.as_str()) {
        errs.not_supported(&spec.child("lang"), &s.lang, SUPPORTED_LANGUAGES);
    }
    for (i, g) in s.groups.iter().enumerate() {
        if g.is_empty() {
            errs.required(
                &spec.child("groups").index(i),
                "group names must be non-empty",
            );
        }
    }
    if !s.encrypted_password.is_empty() {
        // Never echo a password back.
        for problem in password(&s.encrypted_password) {
            errs.push(FieldError {
                error_type: FieldErrorType::Invalid,
                field: spec.child("password").to_string(),
                bad_value: None,
                detail: problem,
            });
        }
    }
    if let Some(state) = user.status.state.as_ref().filter(|s| !s.is_known()) {
        errs.not_supported(
            &FieldPath::new("status").child("state"),
            state.as_str(),
            crate::iam::UserState::KNOWN,
        );
    }
    errs
}

/// Validates a [`GlobalRole`]: name, rules, aggregation annotation.
pub fn validate_global_role(role: &GlobalRole) -> FieldErrors {
    let mut errs = validate_object_meta(&role.metadata, &metadata_path(), NameRule::Subdomain);
    check_aggregation_annotation(&role.metadata, &mut errs);
    errs.extend(validate_rules(&role.rules, &FieldPath::new("rules")));
    errs
}

/// Validates a [`WorkspaceRole`]: as a global role, plus the workspace label
/// (role templates are exempt).
pub fn validate_workspace_role(role: &WorkspaceRole) -> FieldErrors {
    let mut errs = validate_object_meta(&role.metadata, &metadata_path(), NameRule::Subdomain);
    if !meta::is_role_template(&role.metadata) {
        require_workspace_label(&role.metadata, &mut errs);
    }
    check_aggregation_annotation(&role.metadata, &mut errs);
    errs.extend(validate_rules(&role.rules, &FieldPath::new("rules")));
    errs
}

/// Validates a [`GlobalRoleBinding`]: it must refer to a `GlobalRole`.
pub fn validate_global_role_binding(binding: &GlobalRoleBinding) -> FieldErrors {
    let mut errs = validate_object_meta(&binding.metadata, &metadata_path(), NameRule::Subdomain);
    errs.extend(validate_subjects(
        &binding.subjects,
        &FieldPath::new("subjects"),
    ));
    errs.extend(validate_role_ref(
        &binding.role_ref,
        GlobalRole::KIND,
        &FieldPath::new("roleRef"),
    ));
    errs
}

/// Validates a [`WorkspaceRoleBinding`]: it must carry the workspace label
/// and refer to a `WorkspaceRole`.
pub fn validate_workspace_role_binding(binding: &WorkspaceRoleBinding) -> FieldErrors {
    let mut errs = validate_object_meta(&binding.metadata, &metadata_path(), NameRule::Subdomain);
    require_workspace_label(&binding.metadata, &mut errs);
    errs.extend(validate_subjects(
        &binding.subjects,
        &FieldPath::new("subjects"),
    ));
    errs.extend(validate_role_ref(
        &binding.role_ref,
        WorkspaceRole::KIND,
        &FieldPath::new("roleRef"),
    ));
    errs
}

/// Validates a [`LoginRecord`]: name and login type.
pub fn validate_login_record(record: &LoginRecord) -> FieldErrors {
    let mut errs = validate_object_meta(&record.metadata, &metadata_path(), NameRule::Subdomain);
    let t = &record.spec.type_;
    if !t.is_known() {
        errs.not_supported(
            &FieldPath::new("spec").child("type"),
            t.as_str(),
            crate::iam::LoginType::KNOWN,
        );
    }
    errs
}

/// Validates a [`Group`]: name, and the workspace label's value when set.
pub fn validate_group(group: &Group) -> FieldErrors {
    let mut errs = validate_object_meta(&group.metadata, &metadata_path(), NameRule::Subdomain);
    if let Some(ws) = meta::label(&group.metadata, WORKSPACE_LABEL).filter(|w| !w.is_empty()) {
        let p = metadata_path().child("labels").key(WORKSPACE_LABEL);
        errs.invalid_all(&p, ws, dns1123_label(ws));
    }
    errs
}

/// Validates a [`GroupBinding`]: a group reference and distinct user names.
pub fn validate_group_binding(binding: &GroupBinding) -> FieldErrors {
    let mut errs = validate_object_meta(&binding.metadata, &metadata_path(), NameRule::Subdomain);
    let p = FieldPath::new("groupRef");
    let r = &binding.group_ref;
    if !r.api_group.is_empty() && !IAM_ROLE_REF_API_GROUPS.contains(&r.api_group.as_str()) {
        errs.not_supported(&p.child("apiGroup"), &r.api_group, IAM_ROLE_REF_API_GROUPS);
    }
    if !r.kind.is_empty() && r.kind != Group::KIND {
        errs.not_supported(&p.child("kind"), &r.kind, &[Group::KIND]);
    }
    if r.name.is_empty() {
        errs.required(&p.child("name"), "the group's name is required");
    } else {
        errs.invalid_all(&p.child("name"), &r.name, dns1123_subdomain(&r.name));
    }
    let users = FieldPath::new("users");
    let mut seen = BTreeSet::new();
    for (i, u) in binding.users.iter().enumerate() {
        if u.is_empty() {
            errs.required(&users.index(i), "user names must be non-empty");
        } else if !seen.insert(u.as_str()) {
            errs.duplicate(&users.index(i), u);
        } else {
            errs.invalid_all(&users.index(i), u, dns1123_subdomain(u));
        }
    }
    errs
}

fn validate_workspace_spec(spec: &WorkspaceSpec, path: &FieldPath, errs: &mut FieldErrors) {
    if !spec.manager.is_empty() {
        errs.invalid_all(
            &path.child("manager"),
            &spec.manager,
            name_problems(&spec.manager, NameRule::SubdomainAndLabelValue),
        );
    }
}

/// Validates a [`Workspace`]: a DNS-1123 label name and a valid manager.
pub fn validate_workspace(ws: &Workspace) -> FieldErrors {
    let mut errs = validate_object_meta(&ws.metadata, &metadata_path(), NameRule::Label);
    validate_workspace_spec(&ws.spec, &FieldPath::new("spec"), &mut errs);
    errs
}

/// Validates a [`WorkspaceTemplate`]: name, the template's spec, placement
/// cluster names and overrides.
pub fn validate_workspace_template(wt: &WorkspaceTemplate) -> FieldErrors {
    let mut errs = validate_object_meta(&wt.metadata, &metadata_path(), NameRule::Label);
    let spec = FieldPath::new("spec");
    let template = spec.child("template");
    if let Some(labels) = &wt.spec.template.metadata.labels {
        errs.extend(validate_labels(
            labels,
            &template.child("metadata").child("labels"),
        ));
    }
    validate_workspace_spec(&wt.spec.template.spec, &template.child("spec"), &mut errs);
    let clusters = spec.child("placement").child("clusters");
    let mut seen = BTreeSet::new();
    for (i, c) in wt.spec.placement.clusters.iter().enumerate() {
        let p = clusters.index(i).child("name");
        if c.name.is_empty() {
            errs.required(&p, "cluster name is required");
        } else if !seen.insert(c.name.as_str()) {
            errs.duplicate(&p, &c.name);
        } else {
            errs.invalid_all(&p, &c.name, dns1123_label(&c.name));
        }
    }
    let overrides = spec.child("overrides");
    for (i, o) in wt.spec.overrides.iter().enumerate() {
        let p = overrides.index(i);
        if o.cluster_name.is_empty() {
            errs.required(&p.child("clusterName"), "cluster name is required");
        }
        for (j, co) in o.cluster_overrides.iter().enumerate() {
            let q = p.child("clusterOverrides").index(j);
            if !["", "add", "remove", "replace"].contains(&co.op.as_str()) {
                errs.not_supported(&q.child("op"), &co.op, &["add", "remove", "replace"]);
            }
            if co.path.is_empty() {
                errs.required(&q.child("path"), "a JSON pointer is required");
            } else if !co.path.starts_with('/') {
                errs.invalid(
                    &q.child("path"),
                    &co.path,
                    "must be a JSON pointer starting with '/'",
                );
            }
        }
    }
    errs
}

fn validate_endpoint(value: &str, path: &FieldPath, errs: &mut FieldErrors) {
    if value.is_empty() {
        return;
    }
    let host = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match host {
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !rest.contains(char::is_whitespace) => {}
        _ => errs.invalid(
            path,
            value,
            "must be an http:// or https:// URL with a host",
        ),
    }
}

/// Validates a [`Cluster`]: name, connection type and endpoints (a direct
/// connection needs a kubeconfig), and condition types and statuses.
pub fn validate_cluster(cluster: &Cluster) -> FieldErrors {
    let mut errs = validate_object_meta(&cluster.metadata, &metadata_path(), NameRule::Label);
    let conn_path = FieldPath::new("spec").child("connection");
    let conn = &cluster.spec.connection;
    match &conn.type_ {
        None => {}
        Some(t) if !t.is_known() => {
            errs.not_supported(&conn_path.child("type"), t.as_str(), ConnectionType::KNOWN)
        }
        Some(ConnectionType::Direct) if conn.kubeconfig.0.is_empty() => errs.required(
            &conn_path.child("kubeconfig"),
            "a direct connection needs a kubeconfig",
        ),
        Some(_) => {}
    }
    validate_endpoint(
        &conn.kubesphere_api_endpoint,
        &conn_path.child("kubesphereAPIEndpoint"),
        &mut errs,
    );
    validate_endpoint(
        &conn.kubernetes_api_endpoint,
        &conn_path.child("kubernetesAPIEndpoint"),
        &mut errs,
    );
    validate_endpoint(
        &conn.external_kubernetes_api_endpoint,
        &conn_path.child("externalKubernetesAPIEndpoint"),
        &mut errs,
    );
    let conditions = FieldPath::new("status").child("conditions");
    let mut seen = BTreeSet::new();
    for (i, c) in cluster.status.conditions.iter().enumerate() {
        let p = conditions.index(i);
        if c.type_.as_str().is_empty() {
            errs.required(&p.child("type"), "condition type is required");
        } else if !seen.insert(c.type_.as_str()) {
            errs.duplicate(&p.child("type"), c.type_.as_str());
        }
        if !c.status.is_known() {
            errs.not_supported(
                &p.child("status"),
                c.status.as_str(),
                crate::cluster::ConditionStatus::KNOWN,
            );
        }
    }
    errs
}

macro_rules! impl_validate {
    ($($ty:ty => $f:ident,)*) => {
        $(impl Validate for $ty {
            fn validate(&self) -> FieldErrors {
                $f(self)
            }
        })*
    };
}

impl_validate! {
    User => validate_user,
    GlobalRole => validate_global_role,
    WorkspaceRole => validate_workspace_role,
    GlobalRoleBinding => validate_global_role_binding,
    WorkspaceRoleBinding => validate_workspace_role_binding,
    LoginRecord => validate_login_record,
    Group => validate_group,
    GroupBinding => validate_group_binding,
    Workspace => validate_workspace,
    WorkspaceTemplate => validate_workspace_template,
    Cluster => validate_cluster,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_label_rules() {
        assert!(dns1123_label("ws-1").is_empty());
        assert!(!dns1123_label("-ws").is_empty());
        assert!(!dns1123_label("Ws").is_empty());
        assert!(!dns1123_label("a.b").is_empty());
        assert!(!dns1123_label(&"a".repeat(64)).is_empty());
        assert!(dns1123_subdomain("a.b-c.d").is_empty());
        assert!(!dns1123_subdomain("a..b").is_empty());
        assert!(!dns1123_subdomain("").is_empty());
    }

    #[test]
    fn qualified_names_and_label_values() {
        assert!(qualified_name("kubesphere.io/workspace").is_empty());
        assert!(qualified_name("app").is_empty());
        assert!(!qualified_name("/app").is_empty());
        assert!(!qualified_name("kubesphere.io/").is_empty());
        assert!(!qualified_name("Kube_Sphere.io/x").is_empty());
        assert!(label_value("").is_empty());
        assert!(label_value("A_b.c-1").is_empty());
        assert!(!label_value("-a").is_empty());
        assert!(!label_value("a b").is_empty());
    }

    #[test]
    fn emails_follow_addr_spec() {
        for ok in ["admin@kubesphere.io", "a.b+c@d", "用户@例子.广告"] {
            assert!(email(ok).is_empty(), "{ok}");
        }
        for bad in [
            "",
            "admin",
            "@kubesphere.io",
            "admin@",
            "a..b@c",
            "a b@c",
            "<a@b>",
            "a@b@",
        ] {
            assert!(!email(bad).is_empty(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_complex_or_bcrypt() {
        assert!(password("P@88w0rd").is_empty());
        assert!(
            password("$2a$10$w312tzLTvXObnfEYiIrk9u5Nu/reJpwQeI66vrM1XJETWtpjd1/q2").is_empty()
        );
        assert_eq!(password("short1A").len(), 1);
        assert_eq!(password("alllowercase1").len(), 1);
        assert_eq!(password("x").len(), 2);
    }

    #[test]
    fn field_error_display_matches_kubernetes() {
        let mut errs = FieldErrors::new();
        errs.not_supported(&FieldPath::new("spec").child("lang"), "fr", &["en", "zh"]);
        errs.required(
            &FieldPath::new("roleRef").child("name"),
            "the role's name is required",
        );
        assert_eq!(
            errs.to_string(),
            r#"[spec.lang: Unsupported value: "fr": supported values: "en", "zh", roleRef.name: Required value: the role's name is required]"#
        );
    }
}
