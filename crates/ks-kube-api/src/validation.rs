//! Kubernetes' metadata, data key and RBAC rules, reported as Status
//! causes with Kubernetes' messages.

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use ks_types::validation::{dns1123_label, dns1123_subdomain, label_value, qualified_name};
use serde_json::{Value, json};

use crate::error::Cause;
use crate::object::meta_str;

/// Largest ConfigMap or Secret payload (Kubernetes: 1 MiB).
pub(crate) const MAX_DATA_BYTES: usize = 1024 * 1024;
/// Largest total annotation size (Kubernetes: 256 KiB).
const MAX_ANNOTATION_BYTES: usize = 256 * 1024;

/// Which format `metadata.name` must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameRule {
    /// A DNS-1123 label (namespaces).
    Label,
    /// A DNS-1123 subdomain (most kinds).
    Subdomain,
    /// Anything usable as a path segment (RBAC kinds).
    PathSegment,
}

/// Field problems, as Status causes.
pub(crate) struct Problems {
    pub(crate) causes: Vec<Cause>,
}

impl Problems {
    pub(crate) fn new() -> Self {
        Problems { causes: Vec::new() }
    }
    pub(crate) fn push(&mut self, reason: &str, field: &str, message: String) {
        self.causes.push(Cause {
            reason: reason.to_owned(),
            message,
            field: field.to_owned(),
        });
    }
    pub(crate) fn invalid(&mut self, field: &str, value: &str, detail: &str) {
        self.push(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {value:?}: {detail}"),
        );
    }
    pub(crate) fn required(&mut self, field: &str, detail: &str) {
        let message = if detail.is_empty() {
            "Required value".to_owned()
        } else {
            format!("Required value: {detail}")
        };
        self.push("FieldValueRequired", field, message);
    }
    pub(crate) fn unsupported(&mut self, field: &str, value: &str, supported: &[&str]) {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        self.push(
            "FieldValueNotSupported",
            field,
            format!(
                "Unsupported value: {value:?}: supported values: {}",
                list.join(", ")
            ),
        );
    }
    pub(crate) fn forbidden(&mut self, field: &str, detail: &str) {
        self.push("FieldValueForbidden", field, format!("Forbidden: {detail}"));
    }
    pub(crate) fn too_long(&mut self, field: &str, max: usize) {
        self.push(
            "FieldValueTooLong",
            field,
            format!("Too long: must have at most {max} bytes"),
        );
    }
}

fn path_segment_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name == "." || name == ".." {
        problems.push(format!("may not be '{name}'"));
    }
    for bad in ["/", "%"] {
        if name.contains(bad) {
            problems.push(format!("may not contain '{bad}'"));
        }
    }
    problems
}

/// Checks `metadata`: the name by `rule`, labels, annotations and
/// finalizers.
pub(crate) fn validate_meta(obj: &Value, rule: NameRule, problems: &mut Problems) {
    let name = meta_str(obj, "name");
    if name.is_empty() {
        problems.required("metadata.name", "name or generateName is required");
    } else {
        let found = match rule {
            NameRule::Label => dns1123_label(name),
            NameRule::Subdomain => dns1123_subdomain(name),
            NameRule::PathSegment => path_segment_problems(name),
        };
        for p in found {
            problems.invalid("metadata.name", name, &p);
        }
    }
    let Some(meta) = obj.get("metadata").and_then(Value::as_object) else {
        return;
    };
    if let Some(labels) = meta.get("labels").and_then(Value::as_object) {
        for (key, value) in labels {
            for p in qualified_name(key) {
                problems.invalid("metadata.labels", key, &p);
            }
            match value.as_str() {
                Some(v) => {
                    for p in label_value(v) {
                        problems.invalid("metadata.labels", v, &p);
                    }
                }
                None => problems.invalid(
                    "metadata.labels",
                    &value.to_string(),
                    "label values must be strings",
                ),
            }
        }
    }
    if let Some(annotations) = meta.get("annotations").and_then(Value::as_object) {
        let mut total = 0;
        for (key, value) in annotations {
            for p in qualified_name(&key.to_ascii_lowercase()) {
                problems.invalid("metadata.annotations", key, &p);
            }
            total += key.len() + value.as_str().map_or(0, str::len);
        }
        if total > MAX_ANNOTATION_BYTES {
            problems.too_long("metadata.annotations", MAX_ANNOTATION_BYTES);
        }
    }
    if let Some(finalizers) = meta.get("finalizers").and_then(Value::as_array) {
        for (i, f) in finalizers.iter().enumerate() {
            let f = f.as_str().unwrap_or("");
            let problems_found = qualified_name(f);
            for p in problems_found {
                problems.invalid(&format!("metadata.finalizers[{i}]"), f, &p);
            }
        }
    }
}

/// Kubernetes' `IsConfigMapKey`.
pub(crate) fn check_data_key(field: &str, key: &str, problems: &mut Problems) {
    let valid = !key.is_empty()
        && key.len() <= 253
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && key != "."
        && key != ".."
        && !key.starts_with("..");
    if !valid {
        problems.invalid(
            &format!("{field}[{key}]"),
            key,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        );
    }
}

/// RBAC policy rules; `namespaced` for a Role.
pub(crate) fn validate_rules(rules: &[PolicyRule], namespaced: bool, problems: &mut Problems) {
    for (i, rule) in rules.iter().enumerate() {
        let field = format!("rules[{i}]");
        if rule.verbs.is_empty() {
            problems.required(
                &format!("{field}.verbs"),
                "verbs must contain at least one value",
            );
        }
        let non_resource = rule.non_resource_urls.as_deref().unwrap_or_default();
        if !non_resource.is_empty() {
            if namespaced {
                problems.invalid(
                    &format!("{field}.nonResourceURLs"),
                    &format!("{non_resource:?}"),
                    "namespaced rules cannot apply to non-resource URLs",
                );
            }
            if rule.api_groups.as_ref().is_some_and(|g| !g.is_empty())
                || rule.resources.as_ref().is_some_and(|r| !r.is_empty())
            {
                problems.invalid(
                    &format!("{field}.nonResourceURLs"),
                    &format!("{non_resource:?}"),
                    "rules cannot apply to both regular resources and non-resource URLs",
                );
            }
            continue;
        }
        if rule.api_groups.as_ref().is_none_or(Vec::is_empty) {
            problems.required(
                &format!("{field}.apiGroups"),
                "resource rules must supply at least one api group",
            );
        }
        if rule.resources.as_ref().is_none_or(Vec::is_empty) {
            problems.required(
                &format!("{field}.resources"),
                "resource rules must supply at least one resource",
            );
        }
    }
}

/// A binding's roleRef (unchanged since `old`) and subjects;
/// `namespaced` for a RoleBinding.
pub(crate) fn validate_binding(
    role_ref: &RoleRef,
    subjects: &[Subject],
    namespaced: bool,
    old: Option<&Value>,
    problems: &mut Problems,
) {
    if role_ref.api_group != "rbac.authorization.k8s.io" {
        problems.unsupported(
            "roleRef.apiGroup",
            &role_ref.api_group,
            &["rbac.authorization.k8s.io"],
        );
    }
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&role_ref.kind.as_str()) {
        problems.unsupported("roleRef.kind", &role_ref.kind, kinds);
    }
    if role_ref.name.is_empty() {
        problems.required("roleRef.name", "");
    } else {
        for p in path_segment_problems(&role_ref.name) {
            problems.invalid("roleRef.name", &role_ref.name, &p);
        }
    }
    if let Some(old) = old
        && let Some(old_ref) = old.get("roleRef")
    {
        let new_ref =
            json!({"apiGroup": role_ref.api_group, "kind": role_ref.kind, "name": role_ref.name});
        if *old_ref != new_ref {
            problems.invalid("roleRef", &new_ref.to_string(), "cannot change roleRef");
        }
    }
    for (i, s) in subjects.iter().enumerate() {
        let field = format!("subjects[{i}]");
        if s.name.is_empty() {
            problems.required(&format!("{field}.name"), "");
        }
        match s.kind.as_str() {
            "ServiceAccount" => {
                if s.api_group.as_deref().is_some_and(|g| !g.is_empty()) {
                    problems.unsupported(
                        &format!("{field}.apiGroup"),
                        s.api_group.as_deref().unwrap_or(""),
                        &[""],
                    );
                }
                if !namespaced && s.namespace.as_deref().unwrap_or("").is_empty() {
                    problems.required(&format!("{field}.namespace"), "");
                }
            }
            "User" | "Group" => {
                if s.api_group.as_deref() != Some("rbac.authorization.k8s.io") {
                    problems.unsupported(
                        &format!("{field}.apiGroup"),
                        s.api_group.as_deref().unwrap_or(""),
                        &["rbac.authorization.k8s.io"],
                    );
                }
            }
            other => problems.unsupported(
                &format!("{field}.kind"),
                other,
                &["ServiceAccount", "User", "Group"],
            ),
        }
    }
}
