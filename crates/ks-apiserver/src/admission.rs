//! Decoding, defaulting and validation of incoming objects, per kind.
//!
//! Built-in kinds and KubeSphere's kinds are decoded into their Rust types
//! and encoded back, so what is stored has exactly the fields the kind
//! defines (unknown fields are dropped, rejected under
//! `fieldValidation=Strict`, or reported as warnings under `Warn`), then
//! validated with Kubernetes' rules and messages. Other custom resources
//! are pruned, defaulted and validated against their CRD's structural
//! schema (see `schema`).

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use ks_types::validation::{dns1123_label, dns1123_subdomain, label_value, qualified_name};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::api::params::FieldValidation;
use crate::error::{ApiError, ApiResult, Cause, GroupResource};
use crate::object::meta_str;
use crate::resources::{BuiltinKind, ResourceDef};

/// Whether an object is being created or updated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Create,
    Update,
}

/// Largest ConfigMap or Secret payload (Kubernetes: 1 MiB).
const MAX_DATA_BYTES: usize = 1024 * 1024;
/// Largest total annotation size (Kubernetes: 256 KiB).
const MAX_ANNOTATION_BYTES: usize = 256 * 1024;

struct Problems {
    causes: Vec<Cause>,
}

impl Problems {
    fn new() -> Self {
        Problems { causes: Vec::new() }
    }
    fn push(&mut self, reason: &str, field: &str, message: String) {
        self.causes.push(Cause {
            reason: reason.to_owned(),
            message,
            field: field.to_owned(),
        });
    }
    fn invalid(&mut self, field: &str, value: &str, detail: &str) {
        self.push(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {value:?}: {detail}"),
        );
    }
    fn required(&mut self, field: &str, detail: &str) {
        let message = if detail.is_empty() {
            "Required value".to_owned()
        } else {
            format!("Required value: {detail}")
        };
        self.push("FieldValueRequired", field, message);
    }
    fn unsupported(&mut self, field: &str, value: &str, supported: &[&str]) {
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
    fn forbidden(&mut self, field: &str, detail: &str) {
        self.push("FieldValueForbidden", field, format!("Forbidden: {detail}"));
    }
}

/// Decodes, defaults and validates `obj` in place; returns warnings for the
/// `Warning` response header.
pub(crate) fn admit(
    def: &ResourceDef,
    obj: &mut Value,
    old: Option<&Value>,
    op: Operation,
    validation: FieldValidation,
) -> ApiResult<Vec<String>> {
    let mut warnings = Vec::new();
    let mut problems = Problems::new();
    let name = meta_str(obj, "name").to_owned();
    let name_rule = match def.builtin() {
        Some(BuiltinKind::Namespace) => NameRule::Label,
        Some(
            BuiltinKind::Role
            | BuiltinKind::RoleBinding
            | BuiltinKind::ClusterRole
            | BuiltinKind::ClusterRoleBinding,
        ) => NameRule::PathSegment,
        _ => ks_name_rule(def),
    };
    validate_meta(obj, name_rule, &mut problems);

    match def.builtin() {
        Some(BuiltinKind::Namespace) => {
            let mut ns: Namespace = roundtrip_typed(obj, validation, &mut warnings)?;
            let spec = ns.spec.get_or_insert_with(Default::default);
            if spec.finalizers.is_none() && op == Operation::Create {
                spec.finalizers = Some(vec!["kubernetes".to_owned()]);
            }
            let labels = ns.metadata.labels.get_or_insert_with(Default::default);
            labels.insert("kubernetes.io/metadata.name".to_owned(), name.clone());
            *obj = to_value(&ns)?;
        }
        Some(BuiltinKind::ConfigMap) => {
            let cm: ConfigMap = roundtrip_typed(obj, validation, &mut warnings)?;
            let mut size = 0;
            for (key, value) in cm.data.iter().flatten() {
                check_data_key("data", key, &mut problems);
                size += key.len() + value.len();
            }
            for (key, value) in cm.binary_data.iter().flatten() {
                check_data_key("binaryData", key, &mut problems);
                if cm.data.as_ref().is_some_and(|d| d.contains_key(key)) {
                    problems.invalid(
                        &format!("data[{key}]"),
                        key,
                        "duplicate of key present in binaryData",
                    );
                }
                size += key.len() + value.0.len();
            }
            if size > MAX_DATA_BYTES {
                problems.push(
                    "FieldValueTooLong",
                    "",
                    format!("Too long: must have at most {MAX_DATA_BYTES} bytes"),
                );
            }
            if let (Some(old), Operation::Update) = (old, op)
                && old.get("immutable") == Some(&Value::Bool(true))
                && (old.get("data") != obj.get("data")
                    || old.get("binaryData") != obj.get("binaryData"))
            {
                problems.forbidden("data", "field is immutable when `immutable` is set");
            }
            *obj = to_value(&cm)?;
        }
        Some(BuiltinKind::Secret) => {
            let mut secret: Secret = roundtrip_typed(obj, validation, &mut warnings)?;
            if let Some(string_data) = secret.string_data.take() {
                let data = secret.data.get_or_insert_with(Default::default);
                for (k, v) in string_data {
                    data.insert(k, k8s_openapi::ByteString(v.into_bytes()));
                }
            }
            if secret.type_.as_deref().unwrap_or("").is_empty() {
                secret.type_ = Some("Opaque".to_owned());
            }
            let mut size = 0;
            for (key, value) in secret.data.iter().flatten() {
                check_data_key("data", key, &mut problems);
                size += key.len() + value.0.len();
            }
            if size > MAX_DATA_BYTES {
                problems.push(
                    "FieldValueTooLong",
                    "data",
                    format!("Too long: must have at most {MAX_DATA_BYTES} bytes"),
                );
            }
            if let (Some(old), Operation::Update) = (old, op) {
                let old_type = old.get("type").and_then(Value::as_str).unwrap_or("Opaque");
                if secret.type_.as_deref() != Some(old_type) {
                    problems.invalid(
                        "type",
                        secret.type_.as_deref().unwrap_or(""),
                        "field is immutable",
                    );
                }
                if old.get("immutable") == Some(&Value::Bool(true))
                    && old.get("data") != to_value(&secret)?.get("data")
                {
                    problems.forbidden("data", "field is immutable when `immutable` is set");
                }
            }
            *obj = to_value(&secret)?;
        }
        Some(BuiltinKind::ServiceAccount) => {
            let sa: ServiceAccount = roundtrip_typed(obj, validation, &mut warnings)?;
            *obj = to_value(&sa)?;
        }
        Some(BuiltinKind::Role) => {
            let role: Role = roundtrip_typed(obj, validation, &mut warnings)?;
            validate_rules(
                role.rules.as_deref().unwrap_or_default(),
                true,
                &mut problems,
            );
            *obj = to_value(&role)?;
        }
        Some(BuiltinKind::ClusterRole) => {
            let role: ClusterRole = roundtrip_typed(obj, validation, &mut warnings)?;
            validate_rules(
                role.rules.as_deref().unwrap_or_default(),
                false,
                &mut problems,
            );
            *obj = to_value(&role)?;
        }
        Some(BuiltinKind::RoleBinding) => {
            let binding: RoleBinding = roundtrip_typed(obj, validation, &mut warnings)?;
            validate_binding(
                &binding.role_ref,
                binding.subjects.as_deref().unwrap_or_default(),
                true,
                old,
                &mut problems,
            );
            *obj = to_value(&binding)?;
        }
        Some(BuiltinKind::ClusterRoleBinding) => {
            let binding: ClusterRoleBinding = roundtrip_typed(obj, validation, &mut warnings)?;
            validate_binding(
                &binding.role_ref,
                binding.subjects.as_deref().unwrap_or_default(),
                false,
                old,
                &mut problems,
            );
            *obj = to_value(&binding)?;
        }
        Some(BuiltinKind::CustomResourceDefinition) => {
            let crd: CustomResourceDefinition = roundtrip_typed(obj, validation, &mut warnings)?;
            for problem in ks_types::crd::crd_errors(&crd) {
                let (field, message) = problem
                    .split_once(' ')
                    .unwrap_or(("spec", problem.as_str()));
                if field.contains('.') || field.contains('[') {
                    problems.push(
                        "FieldValueInvalid",
                        field,
                        format!("Invalid value: {message}"),
                    );
                } else {
                    problems.push(
                        "FieldValueInvalid",
                        "spec",
                        format!("Invalid value: {problem}"),
                    );
                }
            }
            if let (Some(old), Operation::Update) = (old, op) {
                if old.pointer("/spec/group") != obj.pointer("/spec/group") {
                    problems.invalid("spec.group", &crd.spec.group, "field is immutable");
                }
                if old.pointer("/spec/scope") != obj.pointer("/spec/scope") {
                    problems.invalid("spec.scope", &crd.spec.scope, "field is immutable");
                }
            }
            *obj = to_value(&crd)?;
        }
        None => ks_kind(def, obj, validation, &mut warnings, &mut problems)?,
    }

    if problems.causes.is_empty() {
        Ok(warnings)
    } else {
        Err(ApiError::invalid(
            GroupResource {
                group: &def.group,
                resource: &def.plural,
            },
            &def.kind,
            &name,
            problems.causes,
        ))
    }
}

#[derive(Clone, Copy)]
enum NameRule {
    Label,
    Subdomain,
    PathSegment,
}

fn ks_name_rule(def: &ResourceDef) -> NameRule {
    match (def.group.as_str(), def.kind.as_str()) {
        ("tenant.kubesphere.io", _) | ("cluster.kubesphere.io", _) => NameRule::Label,
        _ => NameRule::Subdomain,
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

fn validate_meta(obj: &Value, rule: NameRule, problems: &mut Problems) {
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
            problems.push(
                "FieldValueTooLong",
                "metadata.annotations",
                format!("Too long: must have at most {MAX_ANNOTATION_BYTES} bytes"),
            );
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

fn check_data_key(field: &str, key: &str, problems: &mut Problems) {
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

fn validate_rules(rules: &[PolicyRule], namespaced: bool, problems: &mut Problems) {
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

fn validate_binding(
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

/// Custom resources: the CRD's structural schema, then, for KubeSphere's
/// kinds, decoding into the ks-types structs and their validation rules.
fn ks_kind(
    def: &ResourceDef,
    obj: &mut Value,
    validation: FieldValidation,
    warnings: &mut Vec<String>,
    problems: &mut Problems,
) -> ApiResult<()> {
    use ks_types::validation::Validate;
    macro_rules! typed {
        ($ty:ty) => {{
            let typed: $ty = roundtrip_typed(obj, validation, warnings)?;
            for e in typed.validate().iter() {
                let mut message = e.error_type.as_str().to_owned();
                if let Some(v) = &e.bad_value {
                    message.push_str(&format!(": {v:?}"));
                }
                if !e.detail.is_empty() {
                    message.push_str(": ");
                    message.push_str(&e.detail);
                }
                problems.push(field_reason(e.error_type), &e.field, message);
            }
            *obj = to_value(&typed)?;
        }};
    }
    use ks_types::resource::KindInfo;
    use ks_types::*;
    let gk = (def.group.as_str(), def.kind.as_str());
    // Only the version ks-types models is typed; other versions pass through.
    macro_rules! is {
        ($ty:ty) => {
            gk == (<$ty as KindInfo>::GROUP, <$ty as KindInfo>::KIND)
                && def.version == <$ty as KindInfo>::VERSION
        };
    }
    // As for any custom resource, the CRD's structural schema comes first
    // (pruning, defaults, then validation: a missing required field is a
    // 422 naming it, as kube-apiserver reports it). Only an object the
    // schema accepts is decoded into its ks-types struct.
    if let Some(schema) = &def.schema {
        let outcome = crate::schema::apply(schema, obj);
        report_unknown(outcome.unknown, validation, warnings)?;
        if !outcome.causes.is_empty() {
            problems.causes.extend(outcome.causes);
            return Ok(());
        }
    }
    if is!(User) {
        typed!(User)
    } else if is!(GlobalRole) {
        typed!(GlobalRole)
    } else if is!(GlobalRoleBinding) {
        typed!(GlobalRoleBinding)
    } else if is!(WorkspaceRole) {
        typed!(WorkspaceRole)
    } else if is!(WorkspaceRoleBinding) {
        typed!(WorkspaceRoleBinding)
    } else if is!(Group) {
        typed!(Group)
    } else if is!(GroupBinding) {
        typed!(GroupBinding)
    } else if is!(LoginRecord) {
        typed!(LoginRecord)
    } else if is!(Workspace) {
        typed!(Workspace)
    } else if is!(WorkspaceTemplate) {
        typed!(WorkspaceTemplate)
    } else if is!(Cluster) {
        typed!(Cluster)
    }
    Ok(())
}

fn field_reason(t: ks_types::validation::FieldErrorType) -> &'static str {
    use ks_types::validation::FieldErrorType as T;
    match t {
        T::Required => "FieldValueRequired",
        T::Invalid => "FieldValueInvalid",
        T::NotSupported => "FieldValueNotSupported",
        T::Forbidden => "FieldValueForbidden",
        T::TooLong => "FieldValueTooLong",
        T::Duplicate => "FieldValueDuplicate",
        _ => "FieldValueInvalid",
    }
}

/// Applies `fieldValidation` to the unknown fields found while decoding.
fn report_unknown(
    unknown: Vec<String>,
    validation: FieldValidation,
    warnings: &mut Vec<String>,
) -> ApiResult<()> {
    if unknown.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = unknown
        .iter()
        .map(|p| format!("unknown field {p:?}"))
        .collect();
    match validation {
        FieldValidation::Strict => Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            list.join(", ")
        ))),
        FieldValidation::Warn => {
            warnings.extend(list);
            Ok(())
        }
        FieldValidation::Ignore => Ok(()),
    }
}

/// Decodes `obj` as `K`, collecting unknown fields per `validation`.
fn roundtrip_typed<K: DeserializeOwned>(
    obj: &Value,
    validation: FieldValidation,
    warnings: &mut Vec<String>,
) -> ApiResult<K> {
    let mut unknown = Vec::new();
    let typed: K = serde_ignored::deserialize(obj, |path| unknown.push(path.to_string()))
        .map_err(|e| ApiError::bad_request(format!("the object does not decode: {e}")))?;
    report_unknown(unknown, validation, warnings)?;
    Ok(typed)
}

fn to_value<T: Serialize>(typed: &T) -> ApiResult<Value> {
    serde_json::to_value(typed).map_err(|e| ApiError::internal(format!("encoding the object: {e}")))
}

/// Server-managed status of a CRD: names accepted and established.
pub(crate) fn crd_status(obj: &mut Value) {
    let names = obj
        .pointer("/spec/names")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let versions: Vec<Value> = obj
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("storage") == Some(&Value::Bool(true)))
        .filter_map(|v| v.get("name").cloned())
        .collect();
    let mut stored: Vec<Value> = obj
        .pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for v in versions {
        if !stored.contains(&v) {
            stored.push(v);
        }
    }
    let now = crate::object::now_rfc3339();
    let condition = |type_: &str, reason: &str, message: &str| json!({"type": type_, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    let status = json!({
        "acceptedNames": names,
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    });
    if let Some(map) = obj.as_object_mut() {
        map.insert("status".into(), status);
    }
}

/// Copies the server-owned parts of `old` (status and everything
/// metadata the client may not change) into `new`.
pub(crate) fn keep_system_fields(new: &mut Value, old: &Value) {
    let Some(old_meta) = old.get("metadata").and_then(Value::as_object) else {
        return;
    };
    let Some(new_map) = new.as_object_mut() else {
        return;
    };
    let new_meta = new_map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(new_meta) = new_meta.as_object_mut() {
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "namespace",
            "selfLink",
        ] {
            match old_meta.get(field) {
                Some(v) => {
                    new_meta.insert(field.to_owned(), v.clone());
                }
                None => {
                    new_meta.remove(field);
                }
            }
        }
        new_meta
            .remove("generateName")
            .map(|g| new_meta.insert("generateName".to_owned(), g));
    }
}
