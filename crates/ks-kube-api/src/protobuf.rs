//! Decoding of Kubernetes protobuf request bodies
//! (`Content-Type: application/vnd.kubernetes.protobuf`).
//!
//! Recent kubectl (verified: v1.32, v1.33; v1.27 still sends JSON) sends the typed objects built
//! by `kubectl create namespace|configmap|secret|serviceaccount|role|rolebinding|clusterrole|
//! clusterrolebinding` as protobuf, with no JSON fallback. The body is the 4-byte magic `k8s\0`
//! followed by a `runtime.Unknown` message whose `raw` field holds the typed object. This module
//! turns such a body into the JSON object that Go's `encoding/json` would produce for the same Go
//! value, so the rest of the server only ever sees JSON.
//!
//! `prost` reads the wire format into the messages of the `k8s-pb` crate, which are generated from
//! `k8s.io/api` and `k8s.io/apimachinery` `generated.proto`. prost bounds-checks every length,
//! skips unknown fields of any wire type, rejects nesting deeper than its recursion limit (100)
//! and never panics on hostile input; its errors become 400 messages here. Repeated occurrences
//! of a singular field follow protobuf rules (scalars: last wins; embedded messages, `metav1.Time`
//! included: merged). Strings must be valid UTF-8 (Go would silently replace invalid bytes; a 400
//! is more useful here).
//!
//! The messages become JSON by hand rather than through k8s-openapi's types, because the result
//! is Go's JSON, which k8s-openapi's serializer does not reproduce: `omitempty` strings, slices,
//! maps and pointers are left out when empty/nil; fields without `omitempty` are always written (a
//! nil slice as `null`, e.g. `Role.rules`); a zero non-pointer `metav1.Time` (such as
//! `metadata.creationTimestamp`) is written as `null`; `[]byte` values are standard base64;
//! `FieldsV1` is embedded as parsed JSON.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use k8s_pb::api::core::v1 as corev1;
use k8s_pb::api::rbac::v1 as rbacv1;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as metav1;
use k8s_pb::apimachinery::pkg::runtime::Unknown;
use prost::Message;
use serde_json::{Map, Value};

use crate::kinds::Strategy;

/// Finds the strategy of an apiVersion and kind.
pub(crate) type KindLookup<'a> = dyn Fn(&str, &str) -> Option<std::sync::Arc<dyn Strategy>> + 'a;

/// The media type of Kubernetes protobuf bodies.
const PROTOBUF_MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Prefix of every Kubernetes protobuf-encoded object.
const MAGIC: &[u8; 4] = b"k8s\0";

/// Unix seconds of Go's zero `time.Time` (0001-01-01T00:00:00Z), which `metav1.Time` writes as
/// JSON `null`.
const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;
/// 0000-01-01T00:00:00Z: the earliest instant with a four-digit RFC 3339 year.
const MIN_RFC3339_UNIX: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z: the latest instant with a four-digit RFC 3339 year.
const MAX_RFC3339_UNIX: i64 = 253_402_300_799;

/// Whether a Content-Type names Kubernetes protobuf (`application/vnd.kubernetes.protobuf`,
/// parameters ignored).
pub(crate) fn is_protobuf(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case(PROTOBUF_MEDIA_TYPE))
}

/// Decodes a Kubernetes protobuf request body (the 4-byte magic `k8s\0` followed by a
/// `runtime.Unknown`) into the JSON object the same object would be in JSON (apiVersion and kind
/// set from its typeMeta). Errors are messages suitable for a 400 BadRequest. Unsupported kinds
/// give an error naming the apiVersion/kind. `kinds` finds the strategy of an apiVersion and kind.
pub(crate) fn decode_object(body: &[u8], kinds: &KindLookup<'_>) -> Result<Value, String> {
    let envelope = body.strip_prefix(MAGIC.as_slice()).ok_or_else(|| {
        "protobuf body does not start with the Kubernetes magic prefix \"k8s\\x00\"".to_owned()
    })?;
    let unknown: Unknown = decode(envelope).map_err(|e| format!("invalid protobuf body: {e}"))?;
    let type_meta = unknown.type_meta.unwrap_or_default();
    let api_version = type_meta.api_version.unwrap_or_default();
    let kind = type_meta.kind.unwrap_or_default();
    let content_encoding = unknown.content_encoding.unwrap_or_default();
    let content_type = unknown.content_type.unwrap_or_default();

    if kind.is_empty() {
        return Err("Object 'Kind' is missing in protobuf body".to_owned());
    }
    if !content_encoding.is_empty() {
        return Err(format!(
            "unsupported contentEncoding {content_encoding:?} in protobuf body"
        ));
    }
    if !content_type.is_empty() && !is_protobuf(&content_type) {
        return Err(format!(
            "unsupported contentType {content_type:?} in protobuf body"
        ));
    }

    let raw = unknown.raw.unwrap_or_default();
    let decoded = kinds(&api_version, &kind).and_then(|strategy| strategy.decode_protobuf(&raw));
    let Some(decoded) = decoded else {
        return Err(format!(
            "protobuf request bodies are not supported for apiVersion {api_version:?}, \
             kind {kind:?}; send the object as application/json"
        ));
    };
    let fields = decoded.map_err(|e| format!("invalid protobuf {api_version}/{kind}: {e}"))?;

    let mut object = Map::new();
    object.insert("kind".to_owned(), Value::String(kind));
    object.insert("apiVersion".to_owned(), Value::String(api_version));
    object.extend(fields);
    Ok(Value::Object(object))
}

/// Decodes one message; the error is prost's, which names the message and field at fault.
fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, String> {
    M::decode(bytes).map_err(|e| {
        let text = e.to_string();
        // The opening is the same for every error and says nothing a caller can act on.
        match text.strip_prefix("failed to decode Protobuf message: ") {
            Some(rest) => rest.to_owned(),
            None => text,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// JSON helpers (Go encoding/json semantics)
// ---------------------------------------------------------------------------------------------

/// A field without `omitempty`: always written.
fn put(object: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    object.insert(key.to_owned(), value.into());
}

/// A `string` field with `omitempty`.
fn put_string(object: &mut Map<String, Value>, key: &str, value: Option<String>) {
    if let Some(value) = value.filter(|value| !value.is_empty()) {
        object.insert(key.to_owned(), Value::String(value));
    }
}

/// A slice or map field with `omitempty`.
fn put_nonempty(object: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    let value = value.into();
    let empty = match &value {
        Value::Array(items) => items.is_empty(),
        Value::Object(entries) => entries.is_empty(),
        _ => false,
    };
    if !empty {
        object.insert(key.to_owned(), value);
    }
}

/// A slice field without `omitempty`: a nil (empty) slice is `null`.
fn put_slice<T: Into<Value>>(object: &mut Map<String, Value>, key: &str, items: Vec<T>) {
    let value = if items.is_empty() {
        Value::Null
    } else {
        items.into()
    };
    object.insert(key.to_owned(), value);
}

/// A pointer field with `omitempty`.
fn put_some<T: Into<Value>>(object: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(value) = value {
        object.insert(key.to_owned(), value.into());
    }
}

/// A `map[string]string`.
fn string_map(map: BTreeMap<String, String>) -> Value {
    Value::from_iter(map)
}

/// A `map[string][]byte`: values in standard base64.
fn bytes_map(map: BTreeMap<String, Vec<u8>>) -> Value {
    Value::from_iter(
        map.into_iter()
            .map(|(key, value)| (key, BASE64.encode(value))),
    )
}

// ---------------------------------------------------------------------------------------------
// meta/v1
// ---------------------------------------------------------------------------------------------

/// `metav1.Time` as JSON. An absent or empty message is Go's zero time (`null`); otherwise the
/// value is `seconds` (Go's JSON form has no fraction, so `nanos` is dropped).
fn time(value: Option<metav1::Time>, field: &str) -> Result<Value, String> {
    let seconds = match value {
        Some(metav1::Time {
            seconds: None,
            nanos: None,
        })
        | None => return Ok(Value::Null),
        Some(time) => time.seconds.unwrap_or(0),
    };
    if seconds == GO_ZERO_TIME_UNIX {
        return Ok(Value::Null);
    }
    rfc3339(seconds)
        .map(Value::String)
        .ok_or_else(|| format!("{field}: timestamp {seconds} is outside years 0000-9999"))
}

/// Formats Unix seconds as `2006-01-02T15:04:05Z` (UTC), for years 0000-9999.
fn rfc3339(seconds: i64) -> Option<String> {
    if !(MIN_RFC3339_UNIX..=MAX_RFC3339_UNIX).contains(&seconds) {
        return None;
    }
    // A civil date-time, since jiff's `Timestamp` stops a day short of year 9999's end.
    let epoch = jiff::civil::date(1970, 1, 1).at(0, 0, 0, 0);
    let utc = epoch
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .ok()?;
    Some(utc.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn object_meta(meta: Option<metav1::ObjectMeta>) -> Result<Value, String> {
    let meta = meta.unwrap_or_default();
    let mut json = Map::new();
    put_string(&mut json, "name", meta.name);
    put_string(&mut json, "generateName", meta.generate_name);
    put_string(&mut json, "namespace", meta.namespace);
    put_string(&mut json, "selfLink", meta.self_link);
    put_string(&mut json, "uid", meta.uid);
    put_string(&mut json, "resourceVersion", meta.resource_version);
    put_some(
        &mut json,
        "generation",
        meta.generation.filter(|&generation| generation != 0),
    );
    // A non-pointer metav1.Time: `omitempty` has no effect, a zero time is written as null.
    put(
        &mut json,
        "creationTimestamp",
        time(meta.creation_timestamp, "ObjectMeta.creationTimestamp")?,
    );
    if meta.deletion_timestamp.is_some() {
        put(
            &mut json,
            "deletionTimestamp",
            time(meta.deletion_timestamp, "ObjectMeta.deletionTimestamp")?,
        );
    }
    put_some(
        &mut json,
        "deletionGracePeriodSeconds",
        meta.deletion_grace_period_seconds,
    );
    put_nonempty(&mut json, "labels", string_map(meta.labels));
    put_nonempty(&mut json, "annotations", string_map(meta.annotations));
    let owners: Vec<Value> = meta
        .owner_references
        .into_iter()
        .map(owner_reference)
        .collect();
    put_nonempty(&mut json, "ownerReferences", owners);
    put_nonempty(&mut json, "finalizers", meta.finalizers);
    let managed = meta
        .managed_fields
        .into_iter()
        .map(managed_fields_entry)
        .collect::<Result<Vec<_>, _>>()?;
    put_nonempty(&mut json, "managedFields", managed);
    Ok(Value::Object(json))
}

fn owner_reference(owner: metav1::OwnerReference) -> Value {
    let mut json = Map::new();
    put(
        &mut json,
        "apiVersion",
        owner.api_version.unwrap_or_default(),
    );
    put(&mut json, "kind", owner.kind.unwrap_or_default());
    put(&mut json, "name", owner.name.unwrap_or_default());
    put(&mut json, "uid", owner.uid.unwrap_or_default());
    put_some(&mut json, "controller", owner.controller);
    put_some(&mut json, "blockOwnerDeletion", owner.block_owner_deletion);
    Value::Object(json)
}

fn managed_fields_entry(entry: metav1::ManagedFieldsEntry) -> Result<Value, String> {
    let mut json = Map::new();
    put_string(&mut json, "manager", entry.manager);
    put_string(&mut json, "operation", entry.operation);
    put_string(&mut json, "apiVersion", entry.api_version);
    if entry.time.is_some() {
        put(
            &mut json,
            "time",
            time(entry.time, "ManagedFieldsEntry.time")?,
        );
    }
    put_string(&mut json, "fieldsType", entry.fields_type);
    if let Some(fields) = entry.fields_v1 {
        // `FieldsV1.Raw` is JSON and is embedded as such; no raw is `null`.
        let value = match fields.raw {
            None => Value::Null,
            Some(raw) => serde_json::from_slice(&raw)
                .map_err(|e| format!("field ManagedFieldsEntry.fieldsV1 is not valid JSON: {e}"))?,
        };
        put(&mut json, "fieldsV1", value);
    }
    put_string(&mut json, "subresource", entry.subresource);
    Ok(Value::Object(json))
}

fn label_selector(selector: metav1::LabelSelector) -> Value {
    let mut json = Map::new();
    put_nonempty(&mut json, "matchLabels", string_map(selector.match_labels));
    let expressions: Vec<Value> = selector
        .match_expressions
        .into_iter()
        .map(|requirement| {
            let mut json = Map::new();
            put(&mut json, "key", requirement.key.unwrap_or_default());
            put(
                &mut json,
                "operator",
                requirement.operator.unwrap_or_default(),
            );
            put_nonempty(&mut json, "values", requirement.values);
            Value::Object(json)
        })
        .collect();
    put_nonempty(&mut json, "matchExpressions", expressions);
    Value::Object(json)
}

// ---------------------------------------------------------------------------------------------
// core/v1
// ---------------------------------------------------------------------------------------------

pub(crate) fn namespace(raw: &[u8]) -> Result<Map<String, Value>, String> {
    let namespace: corev1::Namespace = decode(raw)?;
    let mut spec = Map::new();
    put_nonempty(
        &mut spec,
        "finalizers",
        namespace.spec.unwrap_or_default().finalizers,
    );
    let status = namespace.status.unwrap_or_default();
    let mut status_json = Map::new();
    put_string(&mut status_json, "phase", status.phase);
    let conditions = status
        .conditions
        .into_iter()
        .map(namespace_condition)
        .collect::<Result<Vec<_>, _>>()?;
    put_nonempty(&mut status_json, "conditions", conditions);

    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(namespace.metadata)?);
    // Non-pointer structs: `omitempty` has no effect, so empty ones are still written as {}.
    put(&mut object, "spec", spec);
    put(&mut object, "status", status_json);
    Ok(object)
}

fn namespace_condition(condition: corev1::NamespaceCondition) -> Result<Value, String> {
    let mut json = Map::new();
    put(&mut json, "type", condition.r#type.unwrap_or_default());
    put(&mut json, "status", condition.status.unwrap_or_default());
    put(
        &mut json,
        "lastTransitionTime",
        time(
            condition.last_transition_time,
            "NamespaceCondition.lastTransitionTime",
        )?,
    );
    put_string(&mut json, "reason", condition.reason);
    put_string(&mut json, "message", condition.message);
    Ok(Value::Object(json))
}

pub(crate) fn config_map(raw: &[u8]) -> Result<Map<String, Value>, String> {
    let config_map: corev1::ConfigMap = decode(raw)?;
    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(config_map.metadata)?);
    put_some(&mut object, "immutable", config_map.immutable);
    put_nonempty(&mut object, "data", string_map(config_map.data));
    put_nonempty(&mut object, "binaryData", bytes_map(config_map.binary_data));
    Ok(object)
}

pub(crate) fn secret(raw: &[u8]) -> Result<Map<String, Value>, String> {
    let secret: corev1::Secret = decode(raw)?;
    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(secret.metadata)?);
    put_some(&mut object, "immutable", secret.immutable);
    put_nonempty(&mut object, "data", bytes_map(secret.data));
    put_nonempty(&mut object, "stringData", string_map(secret.string_data));
    put_string(&mut object, "type", secret.r#type);
    Ok(object)
}

pub(crate) fn service_account(raw: &[u8]) -> Result<Map<String, Value>, String> {
    let account: corev1::ServiceAccount = decode(raw)?;
    let secrets: Vec<Value> = account
        .secrets
        .into_iter()
        .map(|reference| {
            // Every ObjectReference field is an `omitempty` string.
            let mut json = Map::new();
            put_string(&mut json, "kind", reference.kind);
            put_string(&mut json, "namespace", reference.namespace);
            put_string(&mut json, "name", reference.name);
            put_string(&mut json, "uid", reference.uid);
            put_string(&mut json, "apiVersion", reference.api_version);
            put_string(&mut json, "resourceVersion", reference.resource_version);
            put_string(&mut json, "fieldPath", reference.field_path);
            Value::Object(json)
        })
        .collect();
    let image_pull_secrets: Vec<Value> = account
        .image_pull_secrets
        .into_iter()
        .map(|reference| {
            let mut json = Map::new();
            put_string(&mut json, "name", reference.name);
            Value::Object(json)
        })
        .collect();

    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(account.metadata)?);
    put_nonempty(&mut object, "secrets", secrets);
    put_nonempty(&mut object, "imagePullSecrets", image_pull_secrets);
    put_some(
        &mut object,
        "automountServiceAccountToken",
        account.automount_service_account_token,
    );
    Ok(object)
}

// ---------------------------------------------------------------------------------------------
// rbac.authorization.k8s.io/v1
// ---------------------------------------------------------------------------------------------

pub(crate) fn role(raw: &[u8]) -> Result<Map<String, Value>, String> {
    let role: rbacv1::Role = decode(raw)?;
    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(role.metadata)?);
    put_slice(&mut object, "rules", policy_rules(role.rules));
    Ok(object)
}

pub(crate) fn cluster_role(raw: &[u8]) -> Result<Map<String, Value>, String> {
    let role: rbacv1::ClusterRole = decode(raw)?;
    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(role.metadata)?);
    put_slice(&mut object, "rules", policy_rules(role.rules));
    if let Some(aggregation) = role.aggregation_rule {
        let selectors: Vec<Value> = aggregation
            .cluster_role_selectors
            .into_iter()
            .map(label_selector)
            .collect();
        let mut json = Map::new();
        put_nonempty(&mut json, "clusterRoleSelectors", selectors);
        put(&mut object, "aggregationRule", json);
    }
    Ok(object)
}

fn policy_rules(rules: Vec<rbacv1::PolicyRule>) -> Vec<Value> {
    rules
        .into_iter()
        .map(|rule| {
            let mut json = Map::new();
            put_slice(&mut json, "verbs", rule.verbs);
            put_nonempty(&mut json, "apiGroups", rule.api_groups);
            put_nonempty(&mut json, "resources", rule.resources);
            put_nonempty(&mut json, "resourceNames", rule.resource_names);
            put_nonempty(&mut json, "nonResourceURLs", rule.non_resource_ur_ls);
            Value::Object(json)
        })
        .collect()
}

/// `RoleBinding` and `ClusterRoleBinding`, which share one message layout.
pub(crate) fn role_binding(raw: &[u8]) -> Result<Map<String, Value>, String> {
    let binding: rbacv1::RoleBinding = decode(raw)?;
    let subjects: Vec<Value> = binding
        .subjects
        .into_iter()
        .map(|subject| {
            let mut json = Map::new();
            put(&mut json, "kind", subject.kind.unwrap_or_default());
            put_string(&mut json, "apiGroup", subject.api_group);
            put(&mut json, "name", subject.name.unwrap_or_default());
            put_string(&mut json, "namespace", subject.namespace);
            Value::Object(json)
        })
        .collect();
    // roleRef has no `omitempty` anywhere.
    let role_ref = binding.role_ref.unwrap_or_default();
    let mut role_ref_json = Map::new();
    put(
        &mut role_ref_json,
        "apiGroup",
        role_ref.api_group.unwrap_or_default(),
    );
    put(
        &mut role_ref_json,
        "kind",
        role_ref.kind.unwrap_or_default(),
    );
    put(
        &mut role_ref_json,
        "name",
        role_ref.name.unwrap_or_default(),
    );

    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(binding.metadata)?);
    put_nonempty(&mut object, "subjects", subjects);
    put(&mut object, "roleRef", role_ref_json);
    Ok(object)
}

#[cfg(test)]
mod tests {
    /// Decodes with the built-in kinds.
    fn decode_object(body: &[u8]) -> Result<Value, String> {
        let kinds = crate::kinds::builtins();
        super::decode_object(body, &|api_version: &str, kind: &str| {
            kinds
                .iter()
                .find(|s| {
                    let n = s.names();
                    let av = if n.group.is_empty() {
                        n.version.clone()
                    } else {
                        format!("{}/{}", n.group, n.version)
                    };
                    av == api_version && n.kind == kind
                })
                .cloned()
        })
    }

    use super::*;
    use serde_json::json;

    /// A tiny protobuf encoder for building test inputs.
    #[derive(Clone, Default)]
    struct Pb(Vec<u8>);

    impl Pb {
        fn new() -> Self {
            Pb::default()
        }

        fn raw_varint(mut self, mut value: u64) -> Self {
            loop {
                let byte = (value & 0x7f) as u8;
                value >>= 7;
                if value == 0 {
                    self.0.push(byte);
                    return self;
                }
                self.0.push(byte | 0x80);
            }
        }

        fn key(self, field: u32, wire_type: u8) -> Self {
            self.raw_varint(u64::from(field) << 3 | u64::from(wire_type))
        }

        fn varint(self, field: u32, value: u64) -> Self {
            self.key(field, 0).raw_varint(value)
        }

        fn bytes(self, field: u32, data: &[u8]) -> Self {
            let mut pb = self.key(field, 2).raw_varint(data.len() as u64);
            pb.0.extend_from_slice(data);
            pb
        }

        fn str(self, field: u32, value: &str) -> Self {
            self.bytes(field, value.as_bytes())
        }

        fn msg(self, field: u32, message: Pb) -> Self {
            self.bytes(field, &message.0)
        }

        fn entry(self, field: u32, key: &str, value: &[u8]) -> Self {
            self.msg(field, Pb::new().str(1, key).bytes(2, value))
        }

        fn fixed32(self, field: u32) -> Self {
            let mut pb = self.key(field, 5);
            pb.0.extend_from_slice(&[1, 2, 3, 4]);
            pb
        }

        fn fixed64(self, field: u32) -> Self {
            let mut pb = self.key(field, 1);
            pb.0.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
            pb
        }

        fn group(self, field: u32, inner: Pb) -> Self {
            let mut pb = self.key(field, 3);
            pb.0.extend_from_slice(&inner.0);
            pb.key(field, 4)
        }

        /// Unknown fields of every wire type (numbers unused by any supported message).
        fn junk(self) -> Self {
            self.varint(1001, u64::MAX)
                .fixed64(1002)
                .str(1003, "ignored")
                .fixed32(1004)
                .group(1005, Pb::new().varint(1, 7).str(2, "x").group(3, Pb::new()))
        }
    }

    fn time(seconds: i64) -> Pb {
        Pb::new().varint(1, seconds as u64).varint(2, 999)
    }

    fn envelope(api_version: &str, kind: &str, raw: &Pb) -> Vec<u8> {
        let unknown = Pb::new()
            .msg(1, Pb::new().str(1, api_version).str(2, kind))
            .bytes(2, &raw.0)
            .str(3, "")
            .str(4, "");
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&unknown.0);
        body
    }

    fn decode(api_version: &str, kind: &str, raw: &Pb) -> Value {
        decode_object(&envelope(api_version, kind, raw)).unwrap()
    }

    fn decode_err(api_version: &str, kind: &str, raw: &Pb) -> String {
        decode_object(&envelope(api_version, kind, raw)).unwrap_err()
    }

    fn meta(name: &str) -> Pb {
        Pb::new().str(1, name).bytes(8, &[])
    }

    #[test]
    fn content_type_detection() {
        assert!(is_protobuf("application/vnd.kubernetes.protobuf"));
        assert!(is_protobuf(
            "Application/VND.Kubernetes.Protobuf ; charset=utf-8"
        ));
        assert!(is_protobuf(
            " application/vnd.kubernetes.protobuf;stream=watch"
        ));
        assert!(!is_protobuf("application/json"));
        assert!(!is_protobuf("application/vnd.kubernetes.protobuf+json"));
        assert!(!is_protobuf(""));
    }

    #[test]
    fn config_map_with_full_object_meta() {
        let fields_v1 = br#"{"f:data":{"f:a":{}},"f:metadata":{"f:labels":{".":{}}}}"#;
        let metadata = Pb::new()
            .str(1, "cm")
            .str(2, "cm-")
            .str(3, "default")
            .str(4, "/api/v1/namespaces/default/configmaps/cm")
            .str(5, "3f1b4d2c-0000-4000-8000-000000000001")
            .str(6, "42")
            .varint(7, 3)
            .msg(8, time(1_700_000_000))
            .msg(9, time(1_700_000_030))
            .varint(10, 30)
            .entry(11, "app", b"web")
            .entry(11, "tier", b"front")
            .entry(12, "note", b"hello \xe2\x9c\x93")
            .msg(
                13,
                Pb::new()
                    .str(5, "apps/v1")
                    .str(1, "Deployment")
                    .str(3, "web")
                    .str(4, "uid-1")
                    .varint(6, 1)
                    .varint(7, 0),
            )
            .msg(
                13,
                Pb::new()
                    .str(5, "v1")
                    .str(1, "Pod")
                    .str(3, "p")
                    .str(4, "uid-2"),
            )
            .str(14, "example.com/a")
            .str(14, "example.com/b")
            .msg(
                17,
                Pb::new()
                    .str(1, "kubectl-create")
                    .str(2, "Update")
                    .str(3, "v1")
                    .msg(4, time(1_700_000_000))
                    .str(6, "FieldsV1")
                    .msg(7, Pb::new().bytes(1, fields_v1))
                    .str(8, "status"),
            )
            .msg(
                17,
                Pb::new()
                    .str(1, "other")
                    .msg(4, Pb::new())
                    .msg(7, Pb::new()),
            )
            .str(15, "legacy clusterName is skipped")
            .junk();
        let raw = Pb::new()
            .msg(1, metadata)
            .entry(2, "a", b"b")
            .entry(2, "empty", b"")
            .msg(2, Pb::new().str(1, "novalue"))
            .entry(3, "blob", b"\x00\xff\xfe")
            .varint(4, 1)
            .junk();
        assert_eq!(
            decode("v1", "ConfigMap", &raw),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "cm",
                    "generateName": "cm-",
                    "namespace": "default",
                    "selfLink": "/api/v1/namespaces/default/configmaps/cm",
                    "uid": "3f1b4d2c-0000-4000-8000-000000000001",
                    "resourceVersion": "42",
                    "generation": 3,
                    "creationTimestamp": "2023-11-14T22:13:20Z",
                    "deletionTimestamp": "2023-11-14T22:13:50Z",
                    "deletionGracePeriodSeconds": 30,
                    "labels": {"app": "web", "tier": "front"},
                    "annotations": {"note": "hello ✓"},
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": "web",
                            "uid": "uid-1",
                            "controller": true,
                            "blockOwnerDeletion": false
                        },
                        {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "uid-2"}
                    ],
                    "finalizers": ["example.com/a", "example.com/b"],
                    "managedFields": [
                        {
                            "manager": "kubectl-create",
                            "operation": "Update",
                            "apiVersion": "v1",
                            "time": "2023-11-14T22:13:20Z",
                            "fieldsType": "FieldsV1",
                            "fieldsV1": {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {".": {}}}},
                            "subresource": "status"
                        },
                        {"manager": "other", "time": null, "fieldsV1": null}
                    ]
                },
                "data": {"a": "b", "empty": "", "novalue": ""},
                "binaryData": {"blob": "AP/+"},
                "immutable": true
            })
        );
    }

    #[test]
    fn minimal_objects_match_go_json() {
        // Go writes a zero (non-pointer) creationTimestamp as null, and empty Namespace spec and
        // status structs as {}; an absent metadata message still yields a metadata object.
        assert_eq!(
            decode("v1", "Namespace", &Pb::new()),
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"creationTimestamp": null},
                "spec": {},
                "status": {}
            })
        );
        assert_eq!(
            decode("v1", "ConfigMap", &Pb::new().msg(1, meta("x"))),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "creationTimestamp": null}})
        );
        // Empty strings and zero numbers encoded explicitly (as Go does) are still omitted.
        let explicit_zeroes = Pb::new()
            .str(1, "x")
            .str(2, "")
            .str(3, "")
            .str(4, "")
            .str(5, "")
            .str(6, "")
            .varint(7, 0)
            .bytes(8, &[]);
        assert_eq!(
            decode("v1", "ServiceAccount", &Pb::new().msg(1, explicit_zeroes)),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x", "creationTimestamp": null}})
        );
    }

    #[test]
    fn namespace_spec_and_status() {
        let raw = Pb::new()
            .msg(1, meta("team-a"))
            .msg(2, Pb::new().str(1, "kubernetes").junk())
            .msg(
                3,
                Pb::new()
                    .str(1, "Terminating")
                    .msg(
                        2,
                        Pb::new()
                            .str(1, "NamespaceDeletionContentFailure")
                            .str(2, "False")
                            .msg(4, time(0))
                            .str(5, "ContentDeleted")
                            .str(6, "All content successfully deleted"),
                    )
                    .msg(
                        2,
                        Pb::new().str(1, "NamespaceContentRemaining").str(2, "True"),
                    ),
            );
        assert_eq!(
            decode("v1", "Namespace", &raw),
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "team-a", "creationTimestamp": null},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {
                    "phase": "Terminating",
                    "conditions": [
                        {
                            "type": "NamespaceDeletionContentFailure",
                            "status": "False",
                            "lastTransitionTime": "1970-01-01T00:00:00Z",
                            "reason": "ContentDeleted",
                            "message": "All content successfully deleted"
                        },
                        {"type": "NamespaceContentRemaining", "status": "True", "lastTransitionTime": null}
                    ]
                }
            })
        );
    }

    #[test]
    fn secret_fields() {
        let raw = Pb::new()
            .msg(1, meta("s").str(3, "ns"))
            .entry(2, "key", b"\x00\xff binary")
            .entry(2, "user", b"admin")
            .str(3, "kubernetes.io/basic-auth")
            .entry(4, "password", b"hunter2")
            .varint(5, 0);
        assert_eq!(
            decode("v1", "Secret", &raw),
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s", "namespace": "ns", "creationTimestamp": null},
                "data": {"key": "AP8gYmluYXJ5", "user": "YWRtaW4="},
                "stringData": {"password": "hunter2"},
                "type": "kubernetes.io/basic-auth",
                "immutable": false
            })
        );
    }

    #[test]
    fn service_account_fields() {
        let raw = Pb::new()
            .msg(1, meta("builder").str(3, "ci"))
            .msg(
                2,
                Pb::new()
                    .str(1, "Secret")
                    .str(2, "ci")
                    .str(3, "builder-token")
                    .str(4, "uid-9")
                    .str(5, "v1")
                    .str(6, "7")
                    .str(7, "data")
                    .junk(),
            )
            .msg(2, Pb::new().str(3, "plain"))
            .msg(3, Pb::new().str(1, "registry"))
            .msg(3, Pb::new())
            .varint(4, 0);
        assert_eq!(
            decode("v1", "ServiceAccount", &raw),
            json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "builder", "namespace": "ci", "creationTimestamp": null},
                "secrets": [
                    {
                        "kind": "Secret",
                        "namespace": "ci",
                        "name": "builder-token",
                        "uid": "uid-9",
                        "apiVersion": "v1",
                        "resourceVersion": "7",
                        "fieldPath": "data"
                    },
                    {"name": "plain"}
                ],
                "imagePullSecrets": [{"name": "registry"}, {}],
                "automountServiceAccountToken": false
            })
        );
    }

    #[test]
    fn role_rules() {
        let raw = Pb::new()
            .msg(1, meta("reader").str(3, "default"))
            .msg(
                2,
                Pb::new()
                    .str(1, "get")
                    .str(1, "list")
                    .str(2, "")
                    .str(3, "pods")
                    .str(4, "foo")
                    .junk(),
            )
            .msg(2, Pb::new().str(2, "apps").str(3, "deployments"))
            // A Role has no field 3: an aggregationRule-looking field is skipped.
            .msg(3, Pb::new().msg(1, Pb::new()));
        assert_eq!(
            decode("rbac.authorization.k8s.io/v1", "Role", &raw),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "reader", "namespace": "default", "creationTimestamp": null},
                "rules": [
                    {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["foo"]},
                    {"verbs": null, "apiGroups": ["apps"], "resources": ["deployments"]}
                ]
            })
        );
        // `rules` has no omitempty: no rules is null, as in Go.
        assert_eq!(
            decode(
                "rbac.authorization.k8s.io/v1",
                "Role",
                &Pb::new().msg(1, meta("r"))
            )["rules"],
            Value::Null
        );
    }

    #[test]
    fn cluster_role_with_aggregation_rule() {
        let selector = Pb::new()
            .entry(1, "rbac.example.com/aggregate-to-view", b"true")
            .msg(
                2,
                Pb::new()
                    .str(1, "tier")
                    .str(2, "In")
                    .str(3, "gold")
                    .str(3, "silver"),
            )
            .msg(2, Pb::new().str(1, "legacy").str(2, "DoesNotExist"));
        let raw = Pb::new()
            .msg(1, meta("view"))
            .msg(
                2,
                Pb::new().str(1, "get").str(5, "/healthz").str(5, "/logs/*"),
            )
            .msg(3, Pb::new().msg(1, selector).msg(1, Pb::new()).junk());
        assert_eq!(
            decode("rbac.authorization.k8s.io/v1", "ClusterRole", &raw),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "view", "creationTimestamp": null},
                "rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/logs/*"]}],
                "aggregationRule": {
                    "clusterRoleSelectors": [
                        {
                            "matchLabels": {"rbac.example.com/aggregate-to-view": "true"},
                            "matchExpressions": [
                                {"key": "tier", "operator": "In", "values": ["gold", "silver"]},
                                {"key": "legacy", "operator": "DoesNotExist"}
                            ]
                        },
                        {}
                    ]
                }
            })
        );
        // An empty aggregationRule is still present (pointer); no selectors are omitted.
        let empty = Pb::new().msg(1, meta("agg")).msg(3, Pb::new());
        assert_eq!(
            decode("rbac.authorization.k8s.io/v1", "ClusterRole", &empty)["aggregationRule"],
            json!({})
        );
    }

    #[test]
    fn role_bindings() {
        let raw = Pb::new()
            .msg(1, meta("rb").str(3, "default"))
            .msg(
                2,
                Pb::new()
                    .str(1, "User")
                    .str(2, "rbac.authorization.k8s.io")
                    .str(3, "alice"),
            )
            .msg(
                2,
                Pb::new()
                    .str(1, "ServiceAccount")
                    .str(3, "builder")
                    .str(4, "ci")
                    .junk(),
            )
            .msg(
                3,
                Pb::new()
                    .str(1, "rbac.authorization.k8s.io")
                    .str(2, "ClusterRole")
                    .str(3, "view"),
            );
        let expected_subjects = json!([
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
            {"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}
        ]);
        let role_binding = decode("rbac.authorization.k8s.io/v1", "RoleBinding", &raw);
        assert_eq!(
            role_binding,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "rb", "namespace": "default", "creationTimestamp": null},
                "subjects": expected_subjects,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
            })
        );
        let cluster = decode("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &raw);
        assert_eq!(cluster["kind"], "ClusterRoleBinding");
        assert_eq!(cluster["subjects"], expected_subjects);

        // roleRef has no omitempty anywhere; no subjects are omitted.
        let bare = decode(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            &Pb::new().msg(1, meta("b")),
        );
        assert_eq!(
            bare,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "b", "creationTimestamp": null},
                "roleRef": {"apiGroup": "", "kind": "", "name": ""}
            })
        );
    }

    #[test]
    fn repeated_singular_fields_merge_or_replace() {
        // Two metadata occurrences merge; scalars and times take the last value.
        let raw = Pb::new()
            .msg(1, meta("first").entry(11, "a", b"1").msg(8, time(86_400)))
            .msg(
                1,
                Pb::new()
                    .str(1, "second")
                    .entry(11, "b", b"2")
                    .entry(11, "a", b"3"),
            )
            .msg(2, Pb::new().str(1, "x"))
            .msg(2, Pb::new().str(1, "y"))
            .msg(3, Pb::new().str(1, "Active"))
            .msg(3, Pb::new().str(1, "Terminating"));
        assert_eq!(
            decode("v1", "Namespace", &raw),
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "second", "labels": {"a": "3", "b": "2"}, "creationTimestamp": "1970-01-02T00:00:00Z"},
                "spec": {"finalizers": ["x", "y"]},
                "status": {"phase": "Terminating"}
            })
        );
        // A later empty Time message merges into the earlier one, as protobuf merges embedded
        // messages (Go's hand-written Time.Unmarshal replaces instead; no client sends a field
        // twice).
        let merged = Pb::new().msg(1, Pb::new().msg(8, time(5)).bytes(8, &[]));
        assert_eq!(
            decode("v1", "ConfigMap", &merged)["metadata"]["creationTimestamp"],
            "1970-01-01T00:00:05Z"
        );
    }

    #[test]
    fn timestamps() {
        let created = |t: Pb| {
            let raw = Pb::new().msg(1, Pb::new().msg(8, t));
            decode_object(&envelope("v1", "ConfigMap", &raw))
                .map(|object| object["metadata"]["creationTimestamp"].clone())
        };
        assert_eq!(created(time(0)).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            created(Pb::new().varint(1, 0)).unwrap(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            created(Pb::new().varint(2, 5)).unwrap(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(created(time(951_782_400)).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(
            created(time(1_709_251_199)).unwrap(),
            "2024-02-29T23:59:59Z"
        );
        assert_eq!(created(time(-1)).unwrap(), "1969-12-31T23:59:59Z");
        assert_eq!(
            created(time(MAX_RFC3339_UNIX)).unwrap(),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(
            created(time(MIN_RFC3339_UNIX)).unwrap(),
            "0000-01-01T00:00:00Z"
        );
        assert_eq!(
            created(time(GO_ZERO_TIME_UNIX + 1)).unwrap(),
            "0001-01-01T00:00:01Z"
        );
        // Go's zero time, whether absent or encoded, is null.
        assert_eq!(created(time(GO_ZERO_TIME_UNIX)).unwrap(), Value::Null);
        assert_eq!(created(Pb::new()).unwrap(), Value::Null);
        assert!(
            created(time(MAX_RFC3339_UNIX + 1))
                .unwrap_err()
                .contains("outside")
        );
        assert!(created(time(i64::MIN)).unwrap_err().contains("outside"));
        assert!(
            created(Pb::new().str(1, "x"))
                .unwrap_err()
                .contains("wire type")
        );
    }

    #[test]
    fn fields_v1_must_be_json() {
        let raw = Pb::new().msg(
            1,
            Pb::new().msg(17, Pb::new().msg(7, Pb::new().bytes(1, b"{not json"))),
        );
        assert!(decode_err("v1", "ConfigMap", &raw).contains("not valid JSON"));
        let empty_raw = Pb::new().msg(
            1,
            Pb::new().msg(17, Pb::new().msg(7, Pb::new().bytes(1, b""))),
        );
        assert!(decode_err("v1", "ConfigMap", &empty_raw).contains("not valid JSON"));
    }

    #[test]
    fn envelope_errors() {
        let ok = envelope("v1", "ConfigMap", &Pb::new().msg(1, meta("x")));
        assert!(decode_object(&ok).is_ok());

        // Wrong or missing magic.
        for body in [
            &b""[..],
            b"k8s",
            b"k8s\x01\x0a\x00",
            b"{\"kind\":\"ConfigMap\"}",
        ] {
            assert!(
                decode_object(body).unwrap_err().contains("magic"),
                "{body:?}"
            );
        }
        // Missing kind.
        let mut no_kind = MAGIC.to_vec();
        no_kind.extend_from_slice(&Pb::new().msg(1, Pb::new().str(1, "v1")).0);
        assert!(decode_object(&no_kind).unwrap_err().contains("Kind"));
        assert!(decode_object(MAGIC).unwrap_err().contains("Kind"));
        // Unsupported kinds name apiVersion and kind.
        let err = decode_err("apps/v1", "Deployment", &Pb::new());
        assert!(
            err.contains("\"apps/v1\"") && err.contains("\"Deployment\""),
            "{err}"
        );
        let err = decode_err("rbac.authorization.k8s.io/v1beta1", "Role", &Pb::new());
        assert!(err.contains("v1beta1") && err.contains("\"Role\""), "{err}");
        // Encoded raw payloads are refused; a JSON payload inside the envelope is refused too.
        let mut gzip = MAGIC.to_vec();
        gzip.extend_from_slice(
            &Pb::new()
                .msg(1, Pb::new().str(1, "v1").str(2, "ConfigMap"))
                .str(3, "gzip")
                .0,
        );
        assert!(
            decode_object(&gzip)
                .unwrap_err()
                .contains("contentEncoding")
        );
        let mut json_payload = MAGIC.to_vec();
        json_payload.extend_from_slice(
            &Pb::new()
                .msg(1, Pb::new().str(1, "v1").str(2, "ConfigMap"))
                .str(4, "application/json")
                .0,
        );
        assert!(
            decode_object(&json_payload)
                .unwrap_err()
                .contains("contentType")
        );
        let mut protobuf_payload = MAGIC.to_vec();
        protobuf_payload.extend_from_slice(
            &Pb::new()
                .msg(1, Pb::new().str(1, "v1").str(2, "ConfigMap"))
                .str(4, "application/vnd.kubernetes.protobuf")
                .0,
        );
        assert!(decode_object(&protobuf_payload).is_ok());
    }

    #[test]
    fn truncated_input() {
        let body = envelope(
            "v1",
            "Secret",
            &Pb::new()
                .msg(1, meta("s").entry(11, "k", b"v"))
                .entry(2, "k", b"v"),
        );
        // Every prefix decodes or fails cleanly; dropping the last byte always fails.
        for len in 0..body.len() {
            let _ = decode_object(&body[..len]);
        }
        assert!(decode_object(&body[..body.len() - 1]).is_err());
        // Cut inside the raw object: the envelope length no longer matches.
        assert!(
            decode_object(&body[..body.len() - 6])
                .unwrap_err()
                .contains("buffer underflow")
        );
        // A truncated varint.
        let mut cut = MAGIC.to_vec();
        cut.extend_from_slice(&[0x12, 0x80]);
        assert!(decode_object(&cut).unwrap_err().contains("invalid varint"));
    }

    #[test]
    fn lengths_past_the_end() {
        // A nested length larger than its enclosing message.
        let mut raw = Pb::new().key(1, 2).raw_varint(1000);
        raw.0.extend_from_slice(b"short");
        assert!(decode_err("v1", "ConfigMap", &raw).contains("buffer underflow"));
        // Lengths that do not fit in usize or overflow pos + len.
        for len in [u64::MAX, u64::MAX / 2, 1 << 40] {
            let mut body = MAGIC.to_vec();
            body.extend_from_slice(&Pb::new().key(2, 2).raw_varint(len).0);
            body.extend_from_slice(b"abc");
            assert!(
                decode_object(&body)
                    .unwrap_err()
                    .contains("buffer underflow")
            );
        }
        // Fixed-width fields cut short.
        let mut fixed = MAGIC.to_vec();
        fixed.extend_from_slice(&[0x0d, 1, 2]);
        assert!(decode_object(&fixed).is_err());
        let mut fixed64 = MAGIC.to_vec();
        fixed64.extend_from_slice(&[0x09, 1, 2, 3, 4, 5, 6, 7]);
        assert!(decode_object(&fixed64).is_err());
    }

    #[test]
    fn malformed_wire_data() {
        // Varint longer than 10 bytes / overflowing 64 bits, as the value of an unknown field
        // (9), as a length (raw, 2), and where a message is expected (typeMeta, 1: rejected for
        // its wire type before the varint is read).
        for key in [0x48, 0x12, 0x08] {
            let mut long = MAGIC.to_vec();
            long.push(key);
            long.extend_from_slice(&[0xff; 10]);
            long.push(0x01);
            let mut overflow = MAGIC.to_vec();
            overflow.push(key);
            overflow
                .extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
            for body in [long, overflow] {
                let err = decode_object(&body).unwrap_err();
                let expected = if key == 0x08 {
                    "wire type"
                } else {
                    "invalid varint"
                };
                assert!(err.contains(expected), "{err}");
            }
        }
        // Field number 0, wire types 6 and 7, stray end-group.
        for bytes in [&[0x00, 0x00][..], &[0x0e], &[0x0f], &[0x0c]] {
            let mut body = MAGIC.to_vec();
            body.extend_from_slice(bytes);
            assert!(decode_object(&body).is_err(), "{bytes:?}");
        }
        // A known field with the wrong wire type.
        let err = decode_err("v1", "ConfigMap", &Pb::new().varint(1, 5));
        assert!(
            err.contains("ConfigMap.metadata") && err.contains("wire type"),
            "{err}"
        );
        let err = decode_err("v1", "ConfigMap", &Pb::new().str(4, "yes"));
        assert!(err.contains("ConfigMap.immutable"), "{err}");
        // Mismatched or unterminated groups (prost reads the missing end key as a cut varint).
        let mut unterminated = Pb::new().key(50, 3);
        unterminated = unterminated.varint(1, 1);
        assert!(decode_err("v1", "ConfigMap", &unterminated).contains("invalid varint"));
        let mismatched = Pb::new().key(50, 3).key(51, 4);
        assert!(decode_err("v1", "ConfigMap", &mismatched).contains("end group"));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        // Deeply nested groups in an unknown field stop at prost's recursion limit (100 levels).
        let mut deep = Pb::new();
        for _ in 0..10_000 {
            deep = deep.key(9, 3);
        }
        let err = decode_err("v1", "ConfigMap", &deep);
        assert!(err.contains("recursion limit"), "{err}");
        // Moderately nested groups are skipped.
        let mut nested = Pb::new();
        for _ in 0..10 {
            nested = Pb::new().group(9, nested);
        }
        assert!(decode_object(&envelope("v1", "ConfigMap", &nested.msg(1, meta("x")))).is_ok());
        // Deeply nested length-delimited unknown fields are opaque bytes: skipped, not parsed.
        let mut opaque = Pb::new().str(1, "leaf");
        for _ in 0..2_000 {
            opaque = Pb::new().msg(99, opaque);
        }
        let object = decode("v1", "ConfigMap", &opaque.msg(1, meta("x")));
        assert_eq!(object["metadata"]["name"], "x");
    }

    #[test]
    fn unknown_fields_are_skipped_everywhere() {
        let raw = Pb::new()
            .junk()
            .msg(
                1,
                meta("x")
                    .junk()
                    .entry(11, "k", b"v")
                    .msg(11, Pb::new().str(1, "k2").str(2, "v2").junk()),
            )
            .junk()
            .entry(2, "a", b"b");
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(
            &Pb::new()
                .junk()
                .msg(1, Pb::new().junk().str(1, "v1").str(2, "ConfigMap"))
                .msg(2, raw)
                .junk()
                .0,
        );
        assert_eq!(
            decode_object(&body).unwrap(),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "x", "labels": {"k": "v", "k2": "v2"}, "creationTimestamp": null},
                "data": {"a": "b"}
            })
        );
    }

    #[test]
    fn strings_must_be_utf8() {
        let bad = b"\xff\xfe";
        let cases = [
            Pb::new().msg(1, Pb::new().bytes(1, bad)),
            Pb::new().msg(1, Pb::new().entry(12, "k", bad)),
            Pb::new().msg(1, Pb::new().msg(12, Pb::new().bytes(1, bad))),
            Pb::new().entry(2, "k", bad),
        ];
        for raw in &cases {
            assert!(decode_err("v1", "ConfigMap", raw).contains("UTF-8"));
        }
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&Pb::new().msg(1, Pb::new().str(1, "v1").bytes(2, bad)).0);
        assert!(decode_object(&body).unwrap_err().contains("UTF-8"));
        // binaryData / Secret data are bytes: anything goes.
        let ok = decode("v1", "ConfigMap", &Pb::new().entry(3, "k", bad));
        assert_eq!(ok["binaryData"]["k"], "//4=");
    }

    /// xorshift64*: deterministic pseudo-random bytes without extra dependencies.
    fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn large_random_input_fails_cleanly() {
        let random = random_bytes(0x5eed, 3 * 1024 * 1024);
        assert!(decode_object(&random).is_err());
        let mut with_magic = MAGIC.to_vec();
        with_magic.extend_from_slice(&random);
        assert!(decode_object(&with_magic).is_err());
        // A valid envelope around a 3 MiB random raw object.
        let mut raw = Pb::new();
        raw.0 = random;
        for kind in ["Namespace", "ConfigMap", "Secret", "ServiceAccount"] {
            let _ = decode_object(&envelope("v1", kind, &raw));
        }
        for kind in ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"] {
            let _ = decode_object(&envelope("rbac.authorization.k8s.io/v1", kind, &raw));
        }
    }

    #[test]
    fn mutated_fixtures_never_panic() {
        let mut noise = random_bytes(42, 1 << 16).into_iter().cycle();
        let mut next = move || usize::from(noise.next().unwrap_or(0));
        for (name, fixture, _) in FIXTURES {
            for _ in 0..2_000 {
                let mut body = fixture.to_vec();
                for _ in 0..1 + next() % 4 {
                    let at = (next() << 8 | next()) % body.len();
                    body[at] = next() as u8;
                }
                if next() % 4 == 0 {
                    body.truncate((next() << 8 | next()) % body.len());
                }
                let _ = decode_object(&body);
            }
            assert!(decode_object(fixture).is_ok(), "{name}");
        }
    }

    /// Bodies captured from `kubectl` v1.32.4 (identical bytes from v1.33.1) against a fake API
    /// server, and the JSON bodies kubectl v1.27.16 (which still sends JSON) posted for the same
    /// commands. See `tests/data/protobuf/README.md`.
    const FIXTURES: [(&str, &[u8], &str); 9] = [
        (
            "namespace",
            include_bytes!("../tests/data/protobuf/namespace.pb"),
            include_str!("../tests/data/protobuf/namespace.json"),
        ),
        (
            "configmap",
            include_bytes!("../tests/data/protobuf/configmap.pb"),
            include_str!("../tests/data/protobuf/configmap.json"),
        ),
        (
            "secret",
            include_bytes!("../tests/data/protobuf/secret.pb"),
            include_str!("../tests/data/protobuf/secret.json"),
        ),
        (
            "serviceaccount",
            include_bytes!("../tests/data/protobuf/serviceaccount.pb"),
            include_str!("../tests/data/protobuf/serviceaccount.json"),
        ),
        (
            "role",
            include_bytes!("../tests/data/protobuf/role.pb"),
            include_str!("../tests/data/protobuf/role.json"),
        ),
        (
            "rolebinding",
            include_bytes!("../tests/data/protobuf/rolebinding.pb"),
            include_str!("../tests/data/protobuf/rolebinding.json"),
        ),
        (
            "clusterrole",
            include_bytes!("../tests/data/protobuf/clusterrole.pb"),
            include_str!("../tests/data/protobuf/clusterrole.json"),
        ),
        (
            "clusterrole-aggregated",
            include_bytes!("../tests/data/protobuf/clusterrole-aggregated.pb"),
            include_str!("../tests/data/protobuf/clusterrole-aggregated.json"),
        ),
        (
            "clusterrolebinding",
            include_bytes!("../tests/data/protobuf/clusterrolebinding.pb"),
            include_str!("../tests/data/protobuf/clusterrolebinding.json"),
        ),
    ];

    #[test]
    fn real_kubectl_bodies_decode_to_kubectl_json() {
        for (name, body, golden) in FIXTURES {
            let decoded = decode_object(body).unwrap_or_else(|e| panic!("{name}: {e}"));
            let expected: Value = serde_json::from_str(golden).unwrap();
            assert_eq!(decoded, expected, "{name}");
        }
    }

    #[test]
    fn real_kubectl_bodies_key_fields() {
        let [
            namespace,
            configmap,
            secret,
            serviceaccount,
            role,
            rolebinding,
            clusterrole,
            aggregated,
            clusterrolebinding,
        ] = FIXTURES
            .map(|(name, body, _)| decode_object(body).unwrap_or_else(|e| panic!("{name}: {e}")));

        assert_eq!(namespace["kind"], "Namespace");
        assert_eq!(namespace["metadata"]["name"], "ns1");
        assert_eq!(namespace["metadata"]["creationTimestamp"], Value::Null);
        assert_eq!(namespace["spec"], json!({}));

        assert_eq!(configmap["apiVersion"], "v1");
        assert_eq!(configmap["metadata"]["namespace"], "default");
        assert_eq!(configmap["data"], json!({"a": "b", "greeting": "hello"}));
        // bin.dat = 00 ff fe 80 "binary\n"
        assert_eq!(configmap["binaryData"]["blob"], "AP/+gGJpbmFyeQo=");

        assert_eq!(secret["type"], "Opaque");
        assert_eq!(secret["data"]["user"], "YWRtaW4=");
        assert_eq!(secret["data"]["key"], "AP/+gGJpbmFyeQo=");

        assert_eq!(serviceaccount["metadata"]["name"], "sa1");

        assert_eq!(role["apiVersion"], "rbac.authorization.k8s.io/v1");
        assert_eq!(role["rules"][0]["apiGroups"], json!([""]));
        assert_eq!(role["rules"][1]["resources"], json!(["deployments"]));
        assert_eq!(role["rules"][1]["resourceNames"], json!(["foo"]));

        assert_eq!(
            rolebinding["roleRef"],
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r1"})
        );
        assert_eq!(
            rolebinding["subjects"][2],
            json!({"kind": "ServiceAccount", "name": "sa1", "namespace": "default"})
        );

        assert_eq!(
            clusterrole["rules"][0]["nonResourceURLs"],
            json!(["/logs/*", "/healthz"])
        );
        assert_eq!(aggregated["rules"], Value::Null);
        assert_eq!(
            aggregated["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"]["tier"],
            "gold"
        );

        assert_eq!(clusterrolebinding["kind"], "ClusterRoleBinding");
        assert_eq!(clusterrolebinding["roleRef"]["name"], "cr1");
        assert_eq!(
            clusterrolebinding["subjects"][1]["namespace"],
            "kube-system"
        );
    }
}
