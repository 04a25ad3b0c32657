//! Structural-schema handling of custom resources, as apiextensions-apiserver
//! does it: pruning of fields the schema does not declare (unless
//! `x-kubernetes-preserve-unknown-fields`), dropping of `null`s for fields
//! that are not `nullable`, defaulting, and validation of types, `required`,
//! `enum`, bounds and lengths, with Kubernetes' field paths and messages.
//!
//! Not covered: `pattern` (no regular-expression engine here), `format`,
//! CEL rules (`x-kubernetes-validations`), `x-kubernetes-list-type` checks.

use serde_json::{Map, Value};

use crate::error::Cause;

/// What one pass over an object found.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Paths of pruned fields (for strict field validation and warnings).
    pub(crate) unknown: Vec<String>,
    /// Validation failures.
    pub(crate) causes: Vec<Cause>,
}

/// Deepest schema nesting followed; deeper values are left unchecked.
const MAX_DEPTH: usize = 64;

/// Prunes, defaults and validates a custom resource against the CRD
/// version's `openAPIV3Schema`. `apiVersion`, `kind` and `metadata` at the
/// root are the server's business and are left alone.
pub(crate) fn apply(schema: &Value, obj: &mut Value) -> Outcome {
    let mut out = Outcome::default();
    let Some(map) = obj.as_object_mut() else {
        return out;
    };
    let props = schema.get("properties").and_then(Value::as_object);
    let preserve = preserves(schema);
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        match props.and_then(|p| p.get(&key)) {
            Some(sub) => {
                if let Some(value) = map.get_mut(&key) {
                    if value.is_null() && !nullable(sub) {
                        map.remove(&key);
                        continue;
                    }
                    walk(sub, value, &key, 1, &mut out);
                }
            }
            None if preserve => {}
            None => {
                map.remove(&key);
                out.unknown.push(key);
            }
        }
    }
    defaults_and_required(schema, map, "", &mut out);
    out
}

fn preserves(schema: &Value) -> bool {
    schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
}

fn nullable(schema: &Value) -> bool {
    schema.get("nullable") == Some(&Value::Bool(true))
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn push(out: &mut Outcome, reason: &str, field: &str, message: String) {
    out.causes.push(Cause {
        reason: reason.to_owned(),
        message,
        field: field.to_owned(),
    });
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if text.len() > 64 {
        format!(
            "{}...",
            &text[..(0..=64)
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0)]
        )
    } else {
        text
    }
}

fn walk(schema: &Value, value: &mut Value, path: &str, depth: usize, out: &mut Outcome) {
    if depth > MAX_DEPTH {
        return;
    }
    let int_or_string = schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let actual = type_name(value);
        let ok = actual == expected
            || (expected == "number" && actual == "integer")
            || (int_or_string && (actual == "integer" || actual == "string"))
            || (actual == "null" && nullable(schema));
        if !ok {
            push(
                out,
                "FieldValueTypeInvalid",
                path,
                format!(
                    "Invalid value: \"{actual}\": {path} in body must be of type {expected}: {}",
                    short(value)
                ),
            );
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !value.is_null()
        && !options.contains(value)
    {
        let list: Vec<String> = options.iter().map(short).collect();
        push(
            out,
            "FieldValueNotSupported",
            path,
            format!(
                "Unsupported value: {}: supported values: {}",
                short(value),
                list.join(", ")
            ),
        );
    }
    match value {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
                let exclusive = schema.get("exclusiveMinimum") == Some(&Value::Bool(true));
                if x < min || (exclusive && x == min) {
                    let op = if exclusive {
                        "greater than"
                    } else {
                        "greater than or equal to"
                    };
                    push(
                        out,
                        "FieldValueInvalid",
                        path,
                        format!("Invalid value: {n}: {path} in body should be {op} {min}"),
                    );
                }
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
                let exclusive = schema.get("exclusiveMaximum") == Some(&Value::Bool(true));
                if x > max || (exclusive && x == max) {
                    let op = if exclusive {
                        "less than"
                    } else {
                        "less than or equal to"
                    };
                    push(
                        out,
                        "FieldValueInvalid",
                        path,
                        format!("Invalid value: {n}: {path} in body should be {op} {max}"),
                    );
                }
            }
        }
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                push(
                    out,
                    "FieldValueInvalid",
                    path,
                    format!(
                        "Invalid value: {}: {path} in body should be at least {min} chars long",
                        short(value)
                    ),
                );
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                push(
                    out,
                    "FieldValueTooLong",
                    path,
                    format!("Too long: may not be more than {max} bytes"),
                );
            }
        }
        Value::Array(items) => {
            let len = items.len() as u64;
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && len < min
            {
                push(
                    out,
                    "FieldValueInvalid",
                    path,
                    format!(
                        "Invalid value: {len}: {path} in body should have at least {min} items"
                    ),
                );
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && len > max
            {
                push(
                    out,
                    "FieldValueTooMany",
                    path,
                    format!("Too many: {len}: must have at most {max} items"),
                );
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item_schema, item, &format!("{path}[{i}]"), depth + 1, out);
                }
            }
        }
        Value::Object(map) => walk_object(schema, map, path, depth, out),
        _ => {}
    }
}

fn walk_object(
    schema: &Value,
    map: &mut Map<String, Value>,
    path: &str,
    depth: usize,
    out: &mut Outcome,
) {
    let props = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    let embedded = schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
    let preserve = preserves(schema) || additional == Some(&Value::Bool(true));
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        let sub = props
            .and_then(|p| p.get(&key))
            .or(additional.filter(|a| a.is_object()));
        match sub {
            Some(sub) => {
                if let Some(value) = map.get_mut(&key) {
                    if value.is_null() && !nullable(sub) {
                        map.remove(&key);
                        continue;
                    }
                    walk(sub, value, &child(path, &key), depth + 1, out);
                }
            }
            None if preserve || (props.is_none() && schema.get("type").is_none()) => {}
            None => {
                map.remove(&key);
                out.unknown.push(child(path, &key));
            }
        }
    }
    defaults_and_required(schema, map, path, out);
}

fn defaults_and_required(
    schema: &Value,
    map: &mut Map<String, Value>,
    path: &str,
    out: &mut Outcome,
) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (key, sub) in props {
            if !map.contains_key(key)
                && let Some(default) = sub.get("default")
            {
                map.insert(key.clone(), default.clone());
            }
        }
    }
    for key in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !map.contains_key(key) {
            push(
                out,
                "FieldValueRequired",
                &child(path, key),
                "Required value".to_owned(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["cronSpec"], "properties": {
                "cronSpec": {"type": "string", "minLength": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "port": {"x-kubernetes-int-or-string": true},
                "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "note": {"type": "string", "nullable": true},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true, "properties": {}}
            }},
            "status": {"type": "object", "properties": {"ok": {"type": "boolean"}}}
        }})
    }

    #[test]
    fn prunes_unknown_fields_and_keeps_preserved_ones() {
        let mut obj = json!({"apiVersion": "x/v1", "kind": "T", "metadata": {"name": "a"}, "extra": 1,
            "spec": {"cronSpec": "* *", "bogus": true, "free": {"anything": [1]},
                     "labels": {"a": "b"}, "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}, "junk": 1}}});
        let out = apply(&schema(), &mut obj);
        assert!(out.causes.is_empty(), "{:?}", out.causes);
        assert_eq!(out.unknown, ["extra", "spec.bogus", "spec.template.junk"]);
        assert_eq!(obj["spec"]["free"], json!({"anything": [1]}));
        assert_eq!(obj["spec"]["template"]["kind"], "ConfigMap");
        assert_eq!(obj["spec"]["replicas"], 1, "defaulted");
        assert_eq!(obj["metadata"]["name"], "a");
    }

    #[test]
    fn validates_types_required_enum_and_bounds() {
        let mut obj = json!({"spec": {"replicas": "three", "mode": "c", "port": "http", "tags": ["a", "b", "c"],
                                       "labels": {"x": 1}}, "status": {"ok": "yes"}});
        let out = apply(&schema(), &mut obj);
        let fields: Vec<&str> = out.causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.labels.x",
                "spec.mode",
                "spec.replicas",
                "spec.tags",
                "spec.cronSpec",
                "status.ok"
            ]
        );
        let replicas = &out.causes[2];
        assert_eq!(
            replicas.message,
            "Invalid value: \"string\": spec.replicas in body must be of type integer: \"three\""
        );
        assert_eq!(out.causes[4].message, "Required value");
        let mut obj = json!({"spec": {"cronSpec": "x", "replicas": 11}});
        let out = apply(&schema(), &mut obj);
        assert_eq!(
            out.causes[0].message,
            "Invalid value: 11: spec.replicas in body should be less than or equal to 10"
        );
    }

    #[test]
    fn drops_nulls_of_non_nullable_fields() {
        let mut obj = json!({"spec": {"cronSpec": "x", "mode": null, "note": null}});
        let out = apply(&schema(), &mut obj);
        assert!(out.causes.is_empty());
        assert!(obj["spec"].get("mode").is_none());
        assert_eq!(obj["spec"]["note"], Value::Null);
    }
}
