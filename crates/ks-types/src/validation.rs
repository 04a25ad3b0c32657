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
//! finalizers, ConfigMap and Secret keys, policy rules, role references
//! and subjects: `apimachinery/pkg/util/validation`,
//! `apimachinery/pkg/api/validation`, `pkg/apis/core/validation` and
//! `pkg/apis/rbac/validation`) and from KubeSphere (its CRD schemas and
//! admission webhooks: email format, password complexity, languages, which
//! role kind a binding may refer to, the workspace label). This module is
//! their one home: an API server validates the JSON it holds with the same
//! functions ([`validate_object_meta_json`], [`validate_config_map_data`],
//! [`validate_policy_rules`], [`validate_role_binding`], ...) and turns each
//! [`FieldError`] into a Status cause with [`FieldErrorType::reason`],
//! [`FieldError::body`] and [`FieldError::field`], worded as Kubernetes
//! words them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Deref;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
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

/// Subject kinds a binding may name, in Kubernetes' order.
pub const SUBJECT_KINDS: &[&str] = &["ServiceAccount", "User", "Group"];

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

    /// The `reason` of a Kubernetes Status cause for this type
    /// (`metav1.CauseType`), e.g. `FieldValueInvalid`.
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorType::Required => "FieldValueRequired",
            FieldErrorType::Invalid => "FieldValueInvalid",
            FieldErrorType::NotSupported => "FieldValueNotSupported",
            FieldErrorType::Forbidden => "FieldValueForbidden",
            FieldErrorType::TooLong => "FieldValueTooLong",
            FieldErrorType::Duplicate => "FieldValueDuplicate",
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

impl FieldError {
    /// A required field is missing; `detail` may be empty.
    pub fn required(field: &FieldPath, detail: impl Into<String>) -> Self {
        FieldError {
            error_type: FieldErrorType::Required,
            field: field.to_string(),
            bad_value: None,
            detail: detail.into(),
        }
    }

    /// `value` is malformed.
    pub fn invalid(field: &FieldPath, value: &str, detail: impl Into<String>) -> Self {
        FieldError {
            error_type: FieldErrorType::Invalid,
            field: field.to_string(),
            bad_value: Some(value.to_owned()),
            detail: detail.into(),
        }
    }

    /// `value` is not one of `allowed`, listed as Kubernetes lists them.
    pub fn not_supported(field: &FieldPath, value: &str, allowed: &[&str]) -> Self {
        let quoted: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
        FieldError {
            error_type: FieldErrorType::NotSupported,
            field: field.to_string(),
            bad_value: Some(value.to_owned()),
            detail: format!("supported values: {}", quoted.join(", ")),
        }
    }

    /// The field may not be set (or changed) here.
    pub fn forbidden(field: &FieldPath, detail: impl Into<String>) -> Self {
        FieldError {
            error_type: FieldErrorType::Forbidden,
            field: field.to_string(),
            bad_value: None,
            detail: detail.into(),
        }
    }

    /// The value is longer than `max_bytes`, in Kubernetes' words for a size
    /// limit: `must have at most N bytes`.
    pub fn too_long(field: &FieldPath, max_bytes: usize) -> Self {
        FieldError {
            error_type: FieldErrorType::TooLong,
            field: field.to_string(),
            bad_value: None,
            detail: format!("must have at most {max_bytes} bytes"),
        }
    }

    /// `value` repeats an earlier one.
    pub fn duplicate(field: &FieldPath, value: &str) -> Self {
        FieldError {
            error_type: FieldErrorType::Duplicate,
            field: field.to_string(),
            bad_value: Some(value.to_owned()),
            detail: String::new(),
        }
    }

    /// The message of a Kubernetes Status cause, `field.Error.ErrorBody()`:
    /// the type's phrase, the quoted value (except for `Required`,
    /// `Forbidden` and `TooLong`, which Kubernetes never shows), then the
    /// detail, e.g. `Invalid value: "A": must be lower case` or
    /// `Required value`. The cause's `reason` is
    /// [`FieldErrorType::reason`] and its `field` is [`FieldError::field`].
    pub fn body(&self) -> String {
        let mut body = self.error_type.as_str().to_owned();
        let shows_value = !matches!(
            self.error_type,
            FieldErrorType::Required | FieldErrorType::Forbidden | FieldErrorType::TooLong
        );
        if let Some(v) = self.bad_value.as_ref().filter(|_| shows_value) {
            body.push_str(&format!(": {v:?}"));
        }
        if !self.detail.is_empty() {
            body.push_str(": ");
            body.push_str(&self.detail);
        }
        body
    }
}

/// `field: body`, as Kubernetes' `field.Error.Error()`.
impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
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
        self.push(FieldError::required(field, detail));
    }

    fn invalid(&mut self, field: &FieldPath, value: &str, detail: impl Into<String>) {
        self.push(FieldError::invalid(field, value, detail));
    }

    fn not_supported(&mut self, field: &FieldPath, value: &str, allowed: &[&str]) {
        self.push(FieldError::not_supported(field, value, allowed));
    }

    fn forbidden(&mut self, field: &FieldPath, detail: impl Into<String>) {
        self.push(FieldError::forbidden(field, detail));
    }

    fn duplicate(&mut self, field: &FieldPath, value: &str) {
        self.push(FieldError::duplicate(field, value));
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
// Other name formats (Kubernetes apimachinery/pkg/api/validation/path and
// IsConfigMapKey).

const CONFIG_KEY_MESSAGE: &str = "a valid config key must consist of alphanumeric characters, \
     '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for \
     validation is '[-._a-zA-Z0-9]+')";

/// Problems of `value` as a path segment name, Kubernetes'
/// `IsValidPathSegmentName` (the name rule of the RBAC kinds, whose names
/// end up in URLs): not `.` or `..`, no `/` and no `%`.
pub fn path_segment_name(value: &str) -> Vec<String> {
    if value == "." || value == ".." {
        return vec![format!("may not be '{value}'")];
    }
    ["/", "%"]
        .iter()
        .filter(|bad| value.contains(**bad))
        .map(|bad| format!("may not contain '{bad}'"))
        .collect()
}

/// Problems of `value` as a ConfigMap or Secret data key, Kubernetes'
/// `IsConfigMapKey`: at most 253 alphanumerics, `-`, `_` or `.`, and not
/// `.`, `..` or anything starting with `..` (keys become file names when
/// the object is mounted as a volume).
pub fn config_map_key(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        problems.push(format!(
            "must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
        ));
    }
    let charset = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    if value.is_empty() || !value.bytes().all(charset) {
        problems.push(CONFIG_KEY_MESSAGE.to_owned());
    }
    if value == "." || value == ".." {
        problems.push(format!("must not be '{value}'"));
    } else if value.starts_with("..") {
        problems.push("must not start with '..'".to_owned());
    }
    problems
}

// ---------------------------------------------------------------------------
// Metadata (Kubernetes apimachinery/pkg/api/validation ValidateObjectMeta)

/// Which name format a kind requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain (Kubernetes' default for objects).
    Subdomain,
    /// DNS-1123 label (names used in labels and as prefixes: namespaces,
    /// workspaces, clusters).
    Label,
    /// DNS-1123 subdomain that is also a valid label value (user names,
    /// which KubeSphere stores in `iam.kubesphere.io/user-ref` labels).
    SubdomainAndLabelValue,
    /// Path segment name ([`path_segment_name`]): Kubernetes' RBAC kinds.
    PathSegment,
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
        NameRule::PathSegment => path_segment_name(name),
    }
}

/// The name, else the generateName prefix, else a `Required` error.
fn check_name(
    name: Option<&str>,
    generate_name: Option<&str>,
    rule: NameRule,
    path: &FieldPath,
    errs: &mut FieldErrors,
) {
    match (
        name.filter(|n| !n.is_empty()),
        generate_name.filter(|g| !g.is_empty()),
    ) {
        (Some(name), _) => errs.invalid_all(&path.child("name"), name, name_problems(name, rule)),
        (None, Some(prefix)) => {
            // A generated name appends 5 characters to the prefix.
            let sample = format!("{prefix}abcde");
            errs.invalid_all(
                &path.child("generateName"),
                prefix,
                name_problems(&sample, rule),
            );
        }
        (None, None) => errs.required(&path.child("name"), "name or generateName is required"),
    }
}

/// Where a label value's problems go: on the labels map, as Kubernetes
/// reports them, or on the entry (`labels[key]`), as ks-types' typed
/// validation always has.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LabelValueAt {
    Map,
    Entry,
}

/// One label: the key is a qualified name, the value a label value (`Err`
/// carries a value that is not a string, rendered as JSON).
fn check_label(
    key: &str,
    value: Result<&str, String>,
    path: &FieldPath,
    at: LabelValueAt,
    errs: &mut FieldErrors,
) {
    errs.invalid_all(path, key, qualified_name(key));
    match value {
        Ok(v) if at == LabelValueAt::Entry => errs.invalid_all(&path.key(key), v, label_value(v)),
        Ok(v) => errs.invalid_all(path, v, label_value(v)),
        Err(raw) => errs.invalid(path, &raw, "label values must be strings"),
    }
}

/// Annotation keys (qualified names, case-insensitively) and the total size
/// of keys and values; each entry is a key and its value's length.
fn check_annotations<'a>(
    entries: impl IntoIterator<Item = (&'a str, usize)>,
    path: &FieldPath,
    errs: &mut FieldErrors,
) {
    let mut total = 0;
    for (key, value_len) in entries {
        errs.invalid_all(path, key, qualified_name(&key.to_ascii_lowercase()));
        total += key.len() + value_len;
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
}

/// Finalizers are qualified names.
fn check_finalizers<'a>(
    finalizers: impl IntoIterator<Item = &'a str>,
    path: &FieldPath,
    errs: &mut FieldErrors,
) {
    for (i, f) in finalizers.into_iter().enumerate() {
        errs.invalid_all(&path.index(i), f, qualified_name(f));
    }
}

/// Checks the metadata of a cluster-scoped object: name (or generateName),
/// no namespace, label keys and values, annotation keys and total size,
/// finalizer names.
pub fn validate_object_meta(meta: &ObjectMeta, path: &FieldPath, rule: NameRule) -> FieldErrors {
    let mut errs = FieldErrors::new();
    check_name(
        meta.name.as_deref(),
        meta.generate_name.as_deref(),
        rule,
        path,
        &mut errs,
    );
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
        check_annotations(
            annotations.iter().map(|(k, v)| (k.as_str(), v.len())),
            &path.child("annotations"),
            &mut errs,
        );
    }
    if let Some(finalizers) = &meta.finalizers {
        check_finalizers(
            finalizers.iter().map(String::as_str),
            &path.child("finalizers"),
            &mut errs,
        );
    }
    errs
}

/// Checks the `metadata` of an object held as JSON, as an API server holds
/// it, with Kubernetes' `ValidateObjectMeta` rules and field paths: the name
/// (or generateName) per `rule`, label keys and values (reported on
/// `metadata.labels`; a value that is not a string is invalid), annotation
/// keys and total size (at most 256 KiB, `TooLong` on
/// `metadata.annotations`), finalizer names. The namespace is not checked:
/// the server sets it from the request.
///
/// ```
/// use ks_types::validation::{NameRule, validate_object_meta_json};
///
/// let role = serde_json::json!({"metadata": {"name": "a/b", "labels": {"app": "-x"}}});
/// let errs = validate_object_meta_json(&role, NameRule::PathSegment);
/// let bodies: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
/// assert_eq!(bodies[0], r#"metadata.name: Invalid value: "a/b": may not contain '/'"#);
/// assert_eq!(errs[1].field, "metadata.labels");
/// ```
pub fn validate_object_meta_json(obj: &serde_json::Value, rule: NameRule) -> FieldErrors {
    use serde_json::Value;
    let path = metadata_path();
    let mut errs = FieldErrors::new();
    let meta = obj.get("metadata").and_then(Value::as_object);
    let text = |field: &str| meta.and_then(|m| m.get(field)).and_then(Value::as_str);
    check_name(text("name"), text("generateName"), rule, &path, &mut errs);
    let Some(meta) = meta else {
        return errs;
    };
    if let Some(labels) = meta.get("labels").and_then(Value::as_object) {
        let p = path.child("labels");
        for (key, value) in labels {
            let value = value.as_str().ok_or_else(|| value.to_string());
            check_label(key, value, &p, LabelValueAt::Map, &mut errs);
        }
    }
    if let Some(annotations) = meta.get("annotations").and_then(Value::as_object) {
        check_annotations(
            annotations
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str().map_or(0, str::len))),
            &path.child("annotations"),
            &mut errs,
        );
    }
    if let Some(finalizers) = meta.get("finalizers").and_then(Value::as_array) {
        check_finalizers(
            finalizers.iter().map(|f| f.as_str().unwrap_or("")),
            &path.child("finalizers"),
            &mut errs,
        );
    }
    errs
}

/// Checks label keys (qualified names) and values; a value's problems are
/// reported on its entry, `path[key]`.
pub fn validate_labels(labels: &BTreeMap<String, String>, path: &FieldPath) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (k, v) in labels {
        check_label(k, Ok(v), path, LabelValueAt::Entry, &mut errs);
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
// ConfigMap and Secret data (Kubernetes pkg/apis/core/validation
// ValidateConfigMap, ValidateSecret)

/// Kubernetes' limit on the data of one ConfigMap or Secret
/// (`corev1.MaxSecretSize`).
pub const MAX_CONFIG_DATA_BYTES: usize = 1024 * 1024;

/// Checks one key of a ConfigMap's or Secret's data map at `path`
/// ([`config_map_key`]); errors are reported on `path[key]`.
pub fn validate_config_key(path: &FieldPath, key: &str) -> FieldErrors {
    let mut errs = FieldErrors::new();
    errs.invalid_all(&path.key(key), key, config_map_key(key));
    errs
}

/// Checks a ConfigMap's `data` and `binaryData`: keys, a key in both maps
/// (reported on `data[key]`), and a total size of keys and values of at
/// most [`MAX_CONFIG_DATA_BYTES`] (`TooLong` on the whole object, field
/// `""`).
pub fn validate_config_map_data(cm: &ConfigMap) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let data = FieldPath::new("data");
    let binary = FieldPath::new("binaryData");
    let mut size = 0;
    for (key, value) in cm.data.iter().flatten() {
        errs.extend(validate_config_key(&data, key));
        size += key.len() + value.len();
    }
    for (key, value) in cm.binary_data.iter().flatten() {
        errs.extend(validate_config_key(&binary, key));
        if cm.data.as_ref().is_some_and(|d| d.contains_key(key)) {
            errs.invalid(
                &data.key(key),
                key,
                "duplicate of key present in binaryData",
            );
        }
        size += key.len() + value.0.len();
    }
    if size > MAX_CONFIG_DATA_BYTES {
        errs.push(FieldError::too_long(
            &FieldPath::new(""),
            MAX_CONFIG_DATA_BYTES,
        ));
    }
    errs
}

/// Checks a Secret's `data` (with `stringData` already merged into it, as
/// the API server does when it decodes a Secret): keys, and a total size of
/// keys and values of at most [`MAX_CONFIG_DATA_BYTES`] (`TooLong` on
/// `data`).
pub fn validate_secret_data(secret: &Secret) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let data = FieldPath::new("data");
    let mut size = 0;
    for (key, value) in secret.data.iter().flatten() {
        errs.extend(validate_config_key(&data, key));
        size += key.len() + value.0.len();
    }
    if size > MAX_CONFIG_DATA_BYTES {
        errs.push(FieldError::too_long(&data, MAX_CONFIG_DATA_BYTES));
    }
    errs
}

// ---------------------------------------------------------------------------
// RBAC (Kubernetes pkg/apis/rbac/validation; KubeSphere's IAM webhooks)

/// The Kubernetes RBAC API group.
pub const RBAC_API_GROUP: &str = "rbac.authorization.k8s.io";

/// The four role kinds. Their policy rules are checked alike, with the
/// few differences [`validate_policy_rules`] lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoleKind {
    /// `rbac.authorization.k8s.io` Role (namespaced).
    Role,
    /// `rbac.authorization.k8s.io` ClusterRole.
    ClusterRole,
    /// `iam.kubesphere.io` GlobalRole.
    GlobalRole,
    /// `iam.kubesphere.io` WorkspaceRole.
    WorkspaceRole,
}

impl RoleKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Role => "Role",
            RoleKind::ClusterRole => "ClusterRole",
            RoleKind::GlobalRole => "GlobalRole",
            RoleKind::WorkspaceRole => "WorkspaceRole",
        }
    }

    fn is_kubesphere(self) -> bool {
        matches!(self, RoleKind::GlobalRole | RoleKind::WorkspaceRole)
    }
}

/// The four binding kinds: which role kinds, API groups and subjects each
/// accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BindingKind {
    /// `rbac.authorization.k8s.io` RoleBinding (namespaced).
    RoleBinding,
    /// `rbac.authorization.k8s.io` ClusterRoleBinding.
    ClusterRoleBinding,
    /// `iam.kubesphere.io` GlobalRoleBinding.
    GlobalRoleBinding,
    /// `iam.kubesphere.io` WorkspaceRoleBinding.
    WorkspaceRoleBinding,
}

impl BindingKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            BindingKind::RoleBinding => "RoleBinding",
            BindingKind::ClusterRoleBinding => "ClusterRoleBinding",
            BindingKind::GlobalRoleBinding => "GlobalRoleBinding",
            BindingKind::WorkspaceRoleBinding => "WorkspaceRoleBinding",
        }
    }

    /// The role kinds `roleRef.kind` may name: a RoleBinding may refer to a
    /// Role or a ClusterRole, every other binding to its own role kind.
    pub fn role_ref_kinds(self) -> &'static [&'static str] {
        match self {
            BindingKind::RoleBinding => &["Role", "ClusterRole"],
            BindingKind::ClusterRoleBinding => &["ClusterRole"],
            BindingKind::GlobalRoleBinding => &["GlobalRole"],
            BindingKind::WorkspaceRoleBinding => &["WorkspaceRole"],
        }
    }

    /// The API groups `roleRef.apiGroup` may name.
    pub fn role_ref_api_groups(self) -> &'static [&'static str] {
        if self.is_kubesphere() {
            IAM_ROLE_REF_API_GROUPS
        } else {
            &[RBAC_API_GROUP]
        }
    }

    /// The API groups a `User` or `Group` subject may name.
    pub fn subject_api_groups(self) -> &'static [&'static str] {
        if self.is_kubesphere() {
            SUBJECT_API_GROUPS
        } else {
            &[RBAC_API_GROUP]
        }
    }

    /// Whether bindings of this kind live in a namespace (then a service
    /// account subject defaults to it and needs no namespace of its own).
    pub fn is_namespaced(self) -> bool {
        self == BindingKind::RoleBinding
    }

    fn is_kubesphere(self) -> bool {
        matches!(
            self,
            BindingKind::GlobalRoleBinding | BindingKind::WorkspaceRoleBinding
        )
    }
}

/// Checks the policy rules of a role of `kind` (Kubernetes'
/// `ValidatePolicyRule`): every rule has verbs; a rule is about resources
/// (with `apiGroups` and `resources`) or about non-resource URLs, never
/// both; a namespaced Role's rules may not name non-resource URLs. For
/// KubeSphere's role kinds, as its role templates need, `resources` may be
/// empty, and each verb must be non-empty.
pub fn validate_policy_rules(
    rules: &[PolicyRule],
    kind: RoleKind,
    path: &FieldPath,
) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let kubesphere = kind.is_kubesphere();
    for (i, rule) in rules.iter().enumerate() {
        let p = path.index(i);
        if rule.verbs.is_empty() {
            errs.required(&p.child("verbs"), "verbs must contain at least one value");
        }
        if kubesphere {
            for (j, v) in rule.verbs.iter().enumerate() {
                if v.is_empty() {
                    errs.required(&p.child("verbs").index(j), "verbs must be non-empty");
                }
            }
        }
        let urls = rule.non_resource_urls.as_deref().unwrap_or_default();
        let groups = rule.api_groups.as_deref().unwrap_or_default();
        let resources = rule.resources.as_deref().unwrap_or_default();
        if !urls.is_empty() {
            let shown = format!("{urls:?}");
            if kind == RoleKind::Role {
                errs.invalid(
                    &p.child("nonResourceURLs"),
                    &shown,
                    "namespaced rules cannot apply to non-resource URLs",
                );
            }
            if !groups.is_empty() || !resources.is_empty() {
                errs.invalid(
                    &p.child("nonResourceURLs"),
                    &shown,
                    "rules cannot apply to both regular resources and non-resource URLs",
                );
            }
            continue;
        }
        if groups.is_empty() {
            errs.required(
                &p.child("apiGroups"),
                "resource rules must supply at least one api group",
            );
        }
        if resources.is_empty() && !kubesphere {
            errs.required(
                &p.child("resources"),
                "resource rules must supply at least one resource",
            );
        }
    }
    errs
}

/// Checks KubeSphere role rules: [`validate_policy_rules`] for a
/// [`RoleKind::GlobalRole`] (a WorkspaceRole's rules follow the same rules).
pub fn validate_rules(rules: &[PolicyRule], path: &FieldPath) -> FieldErrors {
    validate_policy_rules(rules, RoleKind::GlobalRole, path)
}

/// Checks the subjects of a binding of `kind` (Kubernetes'
/// `ValidateRoleBindingSubject`): a name; a known kind; a service account
/// has no API group and, outside a RoleBinding, a namespace; users and
/// groups name one of [`BindingKind::subject_api_groups`]. KubeSphere's
/// bindings also check the service account's name and namespace formats
/// and explain what is missing.
pub fn validate_binding_subjects(
    subjects: &[Subject],
    kind: BindingKind,
    path: &FieldPath,
) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let kubesphere = kind.is_kubesphere();
    let detail = |why: &'static str| if kubesphere { why } else { "" };
    for (i, s) in subjects.iter().enumerate() {
        let p = path.index(i);
        if s.name.is_empty() {
            errs.required(&p.child("name"), detail("subject name is required"));
        }
        let api_group = s.api_group.as_deref().unwrap_or_default();
        match s.kind.as_str() {
            "ServiceAccount" => {
                if !api_group.is_empty() {
                    errs.not_supported(&p.child("apiGroup"), api_group, &[""]);
                }
                match s.namespace.as_deref().filter(|ns| !ns.is_empty()) {
                    None if !kind.is_namespaced() => errs.required(
                        &p.child("namespace"),
                        detail("service account subjects need a namespace"),
                    ),
                    Some(ns) if kubesphere => {
                        errs.invalid_all(&p.child("namespace"), ns, dns1123_label(ns))
                    }
                    _ => {}
                }
                if kubesphere && !s.name.is_empty() {
                    errs.invalid_all(&p.child("name"), &s.name, dns1123_subdomain(&s.name));
                }
            }
            "User" | "Group" => {
                let allowed = kind.subject_api_groups();
                if !allowed.contains(&api_group) {
                    errs.not_supported(&p.child("apiGroup"), api_group, allowed);
                }
            }
            other => errs.not_supported(&p.child("kind"), other, SUBJECT_KINDS),
        }
    }
    errs
}

/// Checks KubeSphere binding subjects: [`validate_binding_subjects`] for a
/// [`BindingKind::GlobalRoleBinding`] (a WorkspaceRoleBinding's subjects
/// follow the same rules).
pub fn validate_subjects(subjects: &[Subject], path: &FieldPath) -> FieldErrors {
    validate_binding_subjects(subjects, BindingKind::GlobalRoleBinding, path)
}

/// The one roleRef check: API group, kind, then the name (a path segment
/// for Kubernetes' kinds, a DNS-1123 subdomain for KubeSphere's).
fn check_role_ref(
    role_ref: &RoleRef,
    api_groups: &[&str],
    kinds: &[&str],
    kubesphere: bool,
    path: &FieldPath,
) -> FieldErrors {
    let mut errs = FieldErrors::new();
    if !api_groups.contains(&role_ref.api_group.as_str()) {
        errs.not_supported(&path.child("apiGroup"), &role_ref.api_group, api_groups);
    }
    if !kinds.contains(&role_ref.kind.as_str()) {
        errs.not_supported(&path.child("kind"), &role_ref.kind, kinds);
    }
    let name = &role_ref.name;
    if name.is_empty() {
        let detail = if kubesphere {
            "the role's name is required"
        } else {
            ""
        };
        errs.required(&path.child("name"), detail);
    } else if kubesphere {
        errs.invalid_all(&path.child("name"), name, dns1123_subdomain(name));
    } else {
        errs.invalid_all(&path.child("name"), name, path_segment_name(name));
    }
    errs
}

/// Checks the `roleRef` of a binding of `kind`: an API group of
/// [`BindingKind::role_ref_api_groups`], a kind of
/// [`BindingKind::role_ref_kinds`], and a role name.
pub fn validate_binding_role_ref(
    role_ref: &RoleRef,
    kind: BindingKind,
    path: &FieldPath,
) -> FieldErrors {
    check_role_ref(
        role_ref,
        kind.role_ref_api_groups(),
        kind.role_ref_kinds(),
        kind.is_kubesphere(),
        path,
    )
}

/// Checks a KubeSphere binding's `roleRef`: the expected role kind, an IAM
/// API group and a role name.
pub fn validate_role_ref(role_ref: &RoleRef, expected_kind: &str, path: &FieldPath) -> FieldErrors {
    check_role_ref(
        role_ref,
        IAM_ROLE_REF_API_GROUPS,
        &[expected_kind],
        true,
        path,
    )
}

/// Checks a binding of `kind` as Kubernetes' `ValidateRoleBinding` and
/// `ValidateClusterRoleBinding` do, metadata aside: `roleRef`, then each of
/// `subjects`.
///
/// ```
/// use k8s_openapi::api::rbac::v1::{RoleRef, Subject};
/// use ks_types::validation::{BindingKind, validate_role_binding};
///
/// let role_ref = RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: "Role".into(), name: "view".into() };
/// let sa = Subject { kind: "ServiceAccount".into(), name: "robot".into(), ..Default::default() };
/// assert!(validate_role_binding(&role_ref, &[sa.clone()], BindingKind::RoleBinding).is_empty());
/// let errs = validate_role_binding(&role_ref, &[sa], BindingKind::ClusterRoleBinding);
/// assert_eq!(errs.fields(), ["roleRef.kind", "subjects[0].namespace"]);
/// ```
pub fn validate_role_binding(
    role_ref: &RoleRef,
    subjects: &[Subject],
    kind: BindingKind,
) -> FieldErrors {
    let mut errs = validate_binding_role_ref(role_ref, kind, &FieldPath::new("roleRef"));
    errs.extend(validate_binding_subjects(
        subjects,
        kind,
        &FieldPath::new("subjects"),
    ));
    errs
}

/// On update, a binding's `roleRef` may not change (Kubernetes'
/// `ValidateRoleBindingUpdate`); the error shows the new roleRef as JSON.
pub fn validate_role_ref_update(old: &RoleRef, new: &RoleRef) -> FieldErrors {
    let mut errs = FieldErrors::new();
    if old != new {
        let shown = serde_json::json!({
            "apiGroup": new.api_group,
            "kind": new.kind,
            "name": new.name,
        });
        errs.invalid(
            &FieldPath::new("roleRef"),
            &shown.to_string(),
            "cannot change roleRef",
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

    /// `(reason, field, message)` of each error, as a Status cause carries
    /// them.
    fn causes(errs: &FieldErrors) -> Vec<(&'static str, String, String)> {
        errs.iter()
            .map(|e| (e.error_type.reason(), e.field.clone(), e.body()))
            .collect()
    }

    /// An expected cause: `(reason, field, message)`.
    type StrRow = (&'static str, &'static str, &'static str);
    /// An expected cause whose message is built.
    type Row = (&'static str, &'static str, String);

    fn want(table: &[StrRow]) -> Vec<(&'static str, String, String)> {
        table
            .iter()
            .map(|(r, f, m)| (*r, (*f).to_owned(), (*m).to_owned()))
            .collect()
    }

    const QUALIFIED_NAME_PART: &str = "name part must consist of alphanumeric characters, '-', \
         '_' or '.', and must start and end with an alphanumeric character";
    const LABEL_VALUE: &str = "a valid label must be an empty string or consist of alphanumeric \
         characters, '-', '_' or '.', and must start and end with an alphanumeric character";

    #[test]
    fn reasons_and_bodies_match_kubernetes() {
        let p = FieldPath::new("spec").child("x");
        let table = [
            (
                FieldError::required(&p, ""),
                "FieldValueRequired",
                "Required value",
            ),
            (
                FieldError::required(&p, "why"),
                "FieldValueRequired",
                "Required value: why",
            ),
            (
                FieldError::invalid(&p, "A", "must be lower case"),
                "FieldValueInvalid",
                r#"Invalid value: "A": must be lower case"#,
            ),
            (
                FieldError::not_supported(&p, "c", &["a", "b"]),
                "FieldValueNotSupported",
                r#"Unsupported value: "c": supported values: "a", "b""#,
            ),
            (
                FieldError::forbidden(&p, "field is immutable"),
                "FieldValueForbidden",
                "Forbidden: field is immutable",
            ),
            (
                FieldError::too_long(&p, 10),
                "FieldValueTooLong",
                "Too long: must have at most 10 bytes",
            ),
            (
                FieldError::duplicate(&p, "a"),
                "FieldValueDuplicate",
                r#"Duplicate value: "a""#,
            ),
            (
                // Kubernetes never shows the value of these types.
                FieldError {
                    bad_value: Some("secret".into()),
                    ..FieldError::forbidden(&p, "no")
                },
                "FieldValueForbidden",
                "Forbidden: no",
            ),
        ];
        for (e, reason, body) in table {
            assert_eq!(e.error_type.reason(), reason, "{e:?}");
            assert_eq!(e.body(), body, "{e:?}");
            assert_eq!(e.to_string(), format!("spec.x: {body}"));
        }
    }

    #[test]
    fn path_segment_names() {
        let table: &[(&str, &[&str])] = &[
            ("view", &[]),
            ("system:aggregate-to-view", &[]),
            ("..a", &[]),
            (".", &["may not be '.'"]),
            ("..", &["may not be '..'"]),
            ("a/b", &["may not contain '/'"]),
            ("a%2f", &["may not contain '%'"]),
            ("/%", &["may not contain '/'", "may not contain '%'"]),
        ];
        for (name, problems) in table {
            assert_eq!(path_segment_name(name), *problems, "{name:?}");
        }
    }

    #[test]
    fn config_map_keys() {
        let charset = CONFIG_KEY_MESSAGE;
        let long = "a".repeat(254);
        let table: &[(&str, &[&str])] = &[
            ("key.name", &[]),
            ("KEY_NAME", &[]),
            ("key-name", &[]),
            (".dotfile", &[]),
            ("", &[charset]),
            ("a b", &[charset]),
            ("a/b", &[charset]),
            (".", &["must not be '.'"]),
            ("..", &["must not be '..'"]),
            ("..a", &["must not start with '..'"]),
            (&long, &["must be no more than 253 characters"]),
        ];
        for (key, problems) in table {
            assert_eq!(config_map_key(key), *problems, "{key:?}");
        }
        assert!(config_map_key(&"a".repeat(253)).is_empty());
        assert_eq!(
            causes(&validate_config_key(&FieldPath::new("binaryData"), "a b")),
            want(&[(
                "FieldValueInvalid",
                "binaryData[a b]",
                "Invalid value: \"a b\": a valid config key must consist of alphanumeric \
                 characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or \
                 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
            )]),
        );
    }

    #[test]
    fn config_map_and_secret_data() {
        use k8s_openapi::ByteString;
        let cm = ConfigMap {
            data: Some(BTreeMap::from([
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "2".to_owned()),
            ])),
            binary_data: Some(BTreeMap::from([
                ("b".to_owned(), ByteString(vec![2])),
                ("c d".to_owned(), ByteString(vec![3])),
            ])),
            ..Default::default()
        };
        let fields: Vec<_> = causes(&validate_config_map_data(&cm))
            .into_iter()
            .map(|(r, f, _)| (r, f))
            .collect();
        assert_eq!(
            fields,
            [
                ("FieldValueInvalid", "data[b]".to_owned()),
                ("FieldValueInvalid", "binaryData[c d]".to_owned()),
            ]
        );
        assert_eq!(
            validate_config_map_data(&cm)[0].body(),
            r#"Invalid value: "b": duplicate of key present in binaryData"#
        );

        // Keys count towards the limit, as values do.
        let at_limit = "v".repeat(MAX_CONFIG_DATA_BYTES - 1);
        let cm = |value: &str| ConfigMap {
            data: Some(BTreeMap::from([("k".to_owned(), value.to_owned())])),
            ..Default::default()
        };
        assert!(validate_config_map_data(&cm(&at_limit)).is_empty());
        assert_eq!(
            causes(&validate_config_map_data(&cm(&format!("{at_limit}v")))),
            want(&[(
                "FieldValueTooLong",
                "",
                "Too long: must have at most 1048576 bytes"
            )]),
        );
        let secret = |len: usize| Secret {
            data: Some(BTreeMap::from([
                ("k".to_owned(), ByteString(vec![0; len])),
                ("..k".to_owned(), ByteString(Vec::new())),
            ])),
            ..Default::default()
        };
        assert_eq!(
            causes(&validate_secret_data(&secret(MAX_CONFIG_DATA_BYTES - 4))),
            want(&[(
                "FieldValueInvalid",
                "data[..k]",
                r#"Invalid value: "..k": must not start with '..'"#
            )]),
        );
        assert_eq!(
            causes(&validate_secret_data(&secret(MAX_CONFIG_DATA_BYTES - 3)))[1],
            (
                "FieldValueTooLong",
                "data".to_owned(),
                "Too long: must have at most 1048576 bytes".to_owned()
            ),
        );
    }

    #[test]
    fn object_meta_json_causes() {
        use serde_json::json;
        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT);
        let table: Vec<(serde_json::Value, NameRule, Vec<Row>)> = vec![
            (
                json!({"metadata": {"name": "ok"}}),
                NameRule::Subdomain,
                vec![],
            ),
            (
                json!({}),
                NameRule::Subdomain,
                vec![(
                    "FieldValueRequired",
                    "metadata.name",
                    "Required value: name or generateName is required".into(),
                )],
            ),
            (
                json!({"metadata": {"name": ""}}),
                NameRule::PathSegment,
                vec![(
                    "FieldValueRequired",
                    "metadata.name",
                    "Required value: name or generateName is required".into(),
                )],
            ),
            (
                json!({"metadata": {"name": "a.b"}}),
                NameRule::Label,
                vec![(
                    "FieldValueInvalid",
                    "metadata.name",
                    "Invalid value: \"a.b\": a lowercase RFC 1123 label must consist of lower \
                     case alphanumeric characters or '-', and must start and end with an \
                     alphanumeric character"
                        .into(),
                )],
            ),
            (
                json!({"metadata": {"name": "system:Admin"}}),
                NameRule::PathSegment,
                vec![],
            ),
            (
                json!({"metadata": {"name": ".."}}),
                NameRule::PathSegment,
                vec![(
                    "FieldValueInvalid",
                    "metadata.name",
                    r#"Invalid value: "..": may not be '..'"#.into(),
                )],
            ),
            (
                json!({"metadata": {"name": "a", "labels": {"-k": "v", "k": "-v", "n": 5}}}),
                NameRule::Subdomain,
                vec![
                    (
                        "FieldValueInvalid",
                        "metadata.labels",
                        format!("Invalid value: \"-k\": {QUALIFIED_NAME_PART}"),
                    ),
                    (
                        "FieldValueInvalid",
                        "metadata.labels",
                        format!("Invalid value: \"-v\": {LABEL_VALUE}"),
                    ),
                    (
                        "FieldValueInvalid",
                        "metadata.labels",
                        r#"Invalid value: "5": label values must be strings"#.into(),
                    ),
                ],
            ),
            (
                // Annotation keys are checked in lower case.
                json!({"metadata": {"name": "a", "annotations": {"Example.COM/Key": "v", "/x": "v"}}}),
                NameRule::Subdomain,
                vec![(
                    "FieldValueInvalid",
                    "metadata.annotations",
                    r#"Invalid value: "/x": prefix part must be non-empty"#.into(),
                )],
            ),
            (
                json!({"metadata": {"name": "a", "annotations": {"k": big}}}),
                NameRule::Subdomain,
                vec![(
                    "FieldValueTooLong",
                    "metadata.annotations",
                    "Too long: must have at most 262144 bytes".into(),
                )],
            ),
            (
                json!({"metadata": {"name": "a", "finalizers": ["kubernetes", "a b", 7]}}),
                NameRule::Subdomain,
                vec![
                    (
                        "FieldValueInvalid",
                        "metadata.finalizers[1]",
                        format!("Invalid value: \"a b\": {QUALIFIED_NAME_PART}"),
                    ),
                    (
                        "FieldValueInvalid",
                        "metadata.finalizers[2]",
                        r#"Invalid value: "": name part must be non-empty"#.into(),
                    ),
                ],
            ),
        ];
        for (obj, rule, expected) in table {
            let expected: Vec<_> = expected
                .into_iter()
                .map(|(r, f, m)| (r, f.to_owned(), m))
                .collect();
            assert_eq!(
                causes(&validate_object_meta_json(&obj, rule)),
                expected,
                "{obj}"
            );
        }
    }

    #[test]
    fn typed_and_json_metadata_agree() {
        // The same rules, except where each reports a label value's problem.
        let meta: ObjectMeta = serde_json::from_value(serde_json::json!({
            "name": "Bad",
            "labels": {"a b": "ok", "k": "-v"},
            "annotations": {"/x": "y"},
            "finalizers": ["f g"],
        }))
        .unwrap_or_default();
        let typed = validate_object_meta(&meta, &metadata_path(), NameRule::Subdomain);
        let json = validate_object_meta_json(
            &serde_json::json!({ "metadata": meta }),
            NameRule::Subdomain,
        );
        let label_at_map = |e: &FieldError| FieldError {
            field: e.field.replace("labels[k]", "labels"),
            ..e.clone()
        };
        let typed: Vec<FieldError> = typed.iter().map(label_at_map).collect();
        assert_eq!(typed, json.to_vec());
        assert_eq!(
            json.fields(),
            [
                "metadata.name",
                "metadata.labels",
                "metadata.labels",
                "metadata.annotations",
                "metadata.finalizers[0]"
            ]
        );
    }

    fn rule(groups: &[&str], resources: &[&str], urls: &[&str], verbs: &[&str]) -> PolicyRule {
        let list =
            |v: &[&str]| (!v.is_empty()).then(|| v.iter().map(|s| (*s).to_owned()).collect());
        PolicyRule {
            api_groups: list(groups),
            resources: list(resources),
            non_resource_urls: list(urls),
            verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn policy_rules_per_role_kind() {
        use RoleKind::*;
        let no_verbs = (
            "FieldValueRequired",
            "rules[0].verbs",
            "Required value: verbs must contain at least one value",
        );
        let no_groups = (
            "FieldValueRequired",
            "rules[0].apiGroups",
            "Required value: resource rules must supply at least one api group",
        );
        let no_resources = (
            "FieldValueRequired",
            "rules[0].resources",
            "Required value: resource rules must supply at least one resource",
        );
        let namespaced_urls = (
            "FieldValueInvalid",
            "rules[0].nonResourceURLs",
            r#"Invalid value: "[\"/healthz\"]": namespaced rules cannot apply to non-resource URLs"#,
        );
        let mixed = (
            "FieldValueInvalid",
            "rules[0].nonResourceURLs",
            r#"Invalid value: "[\"/healthz\"]": rules cannot apply to both regular resources and non-resource URLs"#,
        );
        let empty_verb = (
            "FieldValueRequired",
            "rules[0].verbs[1]",
            "Required value: verbs must be non-empty",
        );
        let table = [
            (rule(&[""], &["pods"], &[], &["get"]), Role, vec![]),
            (
                rule(&[""], &["pods"], &[], &[]),
                ClusterRole,
                vec![no_verbs],
            ),
            (
                rule(&[], &[], &[], &["get"]),
                Role,
                vec![no_groups, no_resources],
            ),
            (rule(&[], &[], &[], &["get"]), GlobalRole, vec![no_groups]),
            (
                rule(&["apps"], &[], &[], &["get"]),
                ClusterRole,
                vec![no_resources],
            ),
            (rule(&["apps"], &[], &[], &["get"]), WorkspaceRole, vec![]),
            (rule(&[], &[], &["/healthz"], &["get"]), ClusterRole, vec![]),
            (
                rule(&[], &[], &["/healthz"], &["get"]),
                Role,
                vec![namespaced_urls],
            ),
            (
                rule(&[""], &[], &["/healthz"], &["get"]),
                Role,
                vec![namespaced_urls, mixed],
            ),
            (
                rule(&[], &["pods"], &["/healthz"], &["get"]),
                GlobalRole,
                vec![mixed],
            ),
            (
                rule(&[""], &["pods"], &[], &["get", ""]),
                GlobalRole,
                vec![empty_verb],
            ),
            (
                rule(&[""], &["pods"], &[], &["get", ""]),
                ClusterRole,
                vec![],
            ),
        ];
        for (r, kind, expected) in table {
            let errs =
                validate_policy_rules(std::slice::from_ref(&r), kind, &FieldPath::new("rules"));
            assert_eq!(causes(&errs), want(&expected), "{kind:?} {r:?}");
        }
    }

    fn subject(kind: &str, api_group: &str, name: &str, namespace: &str) -> Subject {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Subject {
            kind: kind.into(),
            api_group: opt(api_group),
            name: name.into(),
            namespace: opt(namespace),
        }
    }

    #[test]
    fn binding_subjects_per_binding_kind() {
        use BindingKind::*;
        let table: Vec<(Subject, BindingKind, Vec<StrRow>)> = vec![
            (
                subject("User", RBAC_API_GROUP, "alice", ""),
                RoleBinding,
                vec![],
            ),
            (subject("ServiceAccount", "", "sa", ""), RoleBinding, vec![]),
            (
                subject("ServiceAccount", "", "sa", ""),
                ClusterRoleBinding,
                vec![(
                    "FieldValueRequired",
                    "subjects[0].namespace",
                    "Required value",
                )],
            ),
            (
                subject("ServiceAccount", "", "sa", ""),
                GlobalRoleBinding,
                vec![(
                    "FieldValueRequired",
                    "subjects[0].namespace",
                    "Required value: service account subjects need a namespace",
                )],
            ),
            (
                subject("ServiceAccount", "v1", "Sa", "Ns"),
                ClusterRoleBinding,
                vec![(
                    "FieldValueNotSupported",
                    "subjects[0].apiGroup",
                    r#"Unsupported value: "v1": supported values: """#,
                )],
            ),
            (
                subject("ServiceAccount", "", "Sa", "ns"),
                WorkspaceRoleBinding,
                vec![(
                    "FieldValueInvalid",
                    "subjects[0].name",
                    "Invalid value: \"Sa\": a lowercase RFC 1123 subdomain must consist of \
                     lower case alphanumeric characters, '-' or '.', and must start and end \
                     with an alphanumeric character",
                )],
            ),
            (
                subject("Group", "", "", ""),
                RoleBinding,
                vec![
                    ("FieldValueRequired", "subjects[0].name", "Required value"),
                    (
                        "FieldValueNotSupported",
                        "subjects[0].apiGroup",
                        r#"Unsupported value: "": supported values: "rbac.authorization.k8s.io""#,
                    ),
                ],
            ),
            (
                subject("Group", "iam.kubesphere.io", "", ""),
                GlobalRoleBinding,
                vec![(
                    "FieldValueRequired",
                    "subjects[0].name",
                    "Required value: subject name is required",
                )],
            ),
            (
                subject("User", "iam.kubesphere.io", "bob", ""),
                ClusterRoleBinding,
                vec![(
                    "FieldValueNotSupported",
                    "subjects[0].apiGroup",
                    r#"Unsupported value: "iam.kubesphere.io": supported values: "rbac.authorization.k8s.io""#,
                )],
            ),
            (
                subject("Robot", "", "r2", ""),
                RoleBinding,
                vec![(
                    "FieldValueNotSupported",
                    "subjects[0].kind",
                    r#"Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group""#,
                )],
            ),
        ];
        for (s, kind, expected) in table {
            let errs = validate_binding_subjects(
                std::slice::from_ref(&s),
                kind,
                &FieldPath::new("subjects"),
            );
            assert_eq!(causes(&errs), want(&expected), "{kind:?} {s:?}");
        }
    }

    fn role_ref(api_group: &str, kind: &str, name: &str) -> RoleRef {
        RoleRef {
            api_group: api_group.into(),
            kind: kind.into(),
            name: name.into(),
        }
    }

    #[test]
    fn role_refs_per_binding_kind() {
        use BindingKind::*;
        let table: Vec<(RoleRef, BindingKind, Vec<StrRow>)> = vec![
            (
                role_ref(RBAC_API_GROUP, "Role", "view"),
                RoleBinding,
                vec![],
            ),
            (
                role_ref(RBAC_API_GROUP, "ClusterRole", "system:view"),
                RoleBinding,
                vec![],
            ),
            (
                role_ref(RBAC_API_GROUP, "Role", "view"),
                ClusterRoleBinding,
                vec![(
                    "FieldValueNotSupported",
                    "roleRef.kind",
                    r#"Unsupported value: "Role": supported values: "ClusterRole""#,
                )],
            ),
            (
                role_ref("", "GlobalRole", ""),
                RoleBinding,
                vec![
                    (
                        "FieldValueNotSupported",
                        "roleRef.apiGroup",
                        r#"Unsupported value: "": supported values: "rbac.authorization.k8s.io""#,
                    ),
                    (
                        "FieldValueNotSupported",
                        "roleRef.kind",
                        r#"Unsupported value: "GlobalRole": supported values: "Role", "ClusterRole""#,
                    ),
                    ("FieldValueRequired", "roleRef.name", "Required value"),
                ],
            ),
            (
                role_ref(RBAC_API_GROUP, "ClusterRole", "a/b"),
                ClusterRoleBinding,
                vec![(
                    "FieldValueInvalid",
                    "roleRef.name",
                    r#"Invalid value: "a/b": may not contain '/'"#,
                )],
            ),
            (
                role_ref("iam.kubesphere.io/v1alpha2", "GlobalRole", "platform-admin"),
                GlobalRoleBinding,
                vec![],
            ),
            (
                role_ref(RBAC_API_GROUP, "GlobalRole", ""),
                WorkspaceRoleBinding,
                vec![
                    (
                        "FieldValueNotSupported",
                        "roleRef.apiGroup",
                        r#"Unsupported value: "rbac.authorization.k8s.io": supported values: "iam.kubesphere.io", "iam.kubesphere.io/v1alpha2""#,
                    ),
                    (
                        "FieldValueNotSupported",
                        "roleRef.kind",
                        r#"Unsupported value: "GlobalRole": supported values: "WorkspaceRole""#,
                    ),
                    (
                        "FieldValueRequired",
                        "roleRef.name",
                        "Required value: the role's name is required",
                    ),
                ],
            ),
        ];
        for (r, kind, expected) in table {
            let errs = validate_binding_role_ref(&r, kind, &FieldPath::new("roleRef"));
            assert_eq!(causes(&errs), want(&expected), "{kind:?} {r:?}");
            if kind == GlobalRoleBinding || kind == WorkspaceRoleBinding {
                let expected_kind = kind.role_ref_kinds()[0];
                let same = validate_role_ref(&r, expected_kind, &FieldPath::new("roleRef"));
                assert_eq!(same, errs);
            }
        }
    }

    #[test]
    fn role_bindings_and_updates() {
        let r = role_ref(RBAC_API_GROUP, "Role", "");
        let subjects = [subject("ServiceAccount", "", "", "")];
        assert_eq!(
            validate_role_binding(&r, &subjects, BindingKind::ClusterRoleBinding).fields(),
            [
                "roleRef.kind",
                "roleRef.name",
                "subjects[0].name",
                "subjects[0].namespace"
            ]
        );
        let old = role_ref(RBAC_API_GROUP, "ClusterRole", "view");
        assert!(validate_role_ref_update(&old, &old.clone()).is_empty());
        let new = role_ref(RBAC_API_GROUP, "ClusterRole", "edit");
        assert_eq!(
            causes(&validate_role_ref_update(&old, &new)),
            want(&[(
                "FieldValueInvalid",
                "roleRef",
                r#"Invalid value: "{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"edit\"}": cannot change roleRef"#,
            )]),
        );
    }
}
